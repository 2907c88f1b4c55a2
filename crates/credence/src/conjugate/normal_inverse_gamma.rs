//! Normal observations with unknown mean and variance under the normal-inverse-gamma prior
//! μ | σ² ~ N(m₀, σ²/κ₀), σ² ~ InvGamma(a₀, b₀). The posterior is NIG(mₙ, κₙ, aₙ, bₙ), the
//! marginal of μ and the predictive are Student-t.

use super::{check_finite, check_positive, cover, density_plot, grid};
use super::{BayesReport, ParamRow, PredictiveRow, Summary};
use crate::dist::ln_gamma;
use crate::error::{Error, Result};
use crate::prior::Provenance;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Continuous, ContinuousCDF, InverseGamma, StudentsT};

/// NIG(m₀, κ₀, a₀, b₀) prior on (μ, σ²).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nig {
    /// m: location of μ.
    pub mean: f64,
    /// κ: prior pseudo-observations behind m.
    pub kappa: f64,
    /// a: inverse-gamma shape of σ².
    pub shape: f64,
    /// b: inverse-gamma scale of σ².
    pub scale: f64,
}

/// The prior with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalInverseGamma {
    /// Prior parameters.
    #[serde(flatten)]
    pub nig: Nig,
    /// Where the prior comes from.
    pub provenance: Provenance,
}

/// Observations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// Observations.
    pub values: Vec<f64>,
}

fn t(df: f64, loc: f64, scale: f64) -> Result<StudentsT> {
    StudentsT::new(loc, scale, df)
        .map_err(|e| Error::Invalid(format!("Student-t({df}, {loc}, {scale}): {e}")))
}

fn t_sd(df: f64, scale: f64) -> f64 {
    if df > 2.0 {
        scale * (df / (df - 2.0)).sqrt()
    } else {
        f64::INFINITY
    }
}

impl Nig {
    /// The posterior after `x`.
    pub fn update(&self, x: &[f64]) -> Nig {
        let n = x.len() as f64;
        if x.is_empty() {
            return *self;
        }
        let xbar = x.iter().sum::<f64>() / n;
        let ss: f64 = x.iter().map(|v| (v - xbar).powi(2)).sum();
        let kappa = self.kappa + n;
        Nig {
            mean: (self.kappa * self.mean + n * xbar) / kappa,
            kappa,
            shape: self.shape + 0.5 * n,
            scale: self.scale
                + 0.5 * ss
                + self.kappa * n * (xbar - self.mean).powi(2) / (2.0 * kappa),
        }
    }

    /// ln p(x) = ln Γ(aₙ) − ln Γ(a₀) + a₀ ln b₀ − aₙ ln bₙ + ½ ln(κ₀/κₙ) − (n/2) ln 2π.
    pub fn log_evidence(&self, x: &[f64]) -> f64 {
        let p = self.update(x);
        ln_gamma(p.shape) - ln_gamma(self.shape) + self.shape * self.scale.ln()
            - p.shape * p.scale.ln()
            + 0.5 * (self.kappa / p.kappa).ln()
            - 0.5 * x.len() as f64 * (2.0 * std::f64::consts::PI).ln()
    }

    /// Marginal of μ: Student-t(2a, m, √(b/(aκ))) as (df, loc, scale).
    pub fn mu_marginal(&self) -> (f64, f64, f64) {
        (
            2.0 * self.shape,
            self.mean,
            (self.scale / (self.shape * self.kappa)).sqrt(),
        )
    }

    /// Predictive of a new observation: Student-t(2a, m, √(b(κ+1)/(aκ))) as (df, loc, scale).
    pub fn predictive(&self) -> (f64, f64, f64) {
        (
            2.0 * self.shape,
            self.mean,
            (self.scale * (self.kappa + 1.0) / (self.shape * self.kappa)).sqrt(),
        )
    }

    fn sigma2_summary(&self) -> Result<Summary> {
        let (a, b) = (self.shape, self.scale);
        let d = InverseGamma::new(a, b)
            .map_err(|e| Error::Invalid(format!("InvGamma({a}, {b}): {e}")))?;
        let mean = if a > 1.0 {
            b / (a - 1.0)
        } else {
            f64::INFINITY
        };
        let sd = if a > 2.0 {
            b / ((a - 1.0) * (a - 2.0).sqrt())
        } else {
            f64::INFINITY
        };
        Ok(Summary::of(&d, mean, sd))
    }

    fn describe(&self) -> String {
        format!(
            "NIG(m = {:.6}, κ = {}, a = {}, b = {:.6})",
            self.mean, self.kappa, self.shape, self.scale
        )
    }
}

/// Summary of a Student-t given (df, loc, scale).
pub(crate) fn t_summary(p: (f64, f64, f64)) -> Result<Summary> {
    let d = t(p.0, p.1, p.2)?;
    let mean = if p.0 > 1.0 { p.1 } else { f64::NAN };
    Ok(Summary::of(&d, mean, t_sd(p.0, p.2)))
}

impl NormalInverseGamma {
    /// Closed-form report.
    pub fn report(&self, d: &Data) -> Result<BayesReport> {
        let p0 = self.nig;
        check_finite("prior.mean", &[p0.mean])?;
        check_positive("prior.kappa", p0.kappa)?;
        check_positive("prior.shape", p0.shape)?;
        check_positive("prior.scale", p0.scale)?;
        check_finite("data.values", &d.values)?;
        let p1 = p0.update(&d.values);
        let (m0, m1) = (p0.mu_marginal(), p1.mu_marginal());
        let (pr, po) = (t(m0.0, m0.1, m0.2)?, t(m1.0, m1.1, m1.2)?);
        let n = d.values.len();
        // The likelihood of μ with σ² integrated out under the reference prior p(σ²) ∝ 1/σ²,
        // normalised: Student-t(n − 1, x̄, s/√n).
        let lik = if n >= 2 {
            let nf = n as f64;
            let xbar = d.values.iter().sum::<f64>() / nf;
            let s2 = d.values.iter().map(|v| (v - xbar).powi(2)).sum::<f64>() / (nf - 1.0);
            if s2 > 0.0 {
                Some(t(nf - 1.0, xbar, (s2 / nf).sqrt())?)
            } else {
                None
            }
        } else {
            None
        };
        let lq = |q| lik.as_ref().map_or(p1.mean, |l| l.inverse_cdf(q));
        let (lo, hi) = cover(&[&|q| pr.inverse_cdf(q), &|q| po.inverse_cdf(q), &lq]);
        let xs = grid(lo, hi, 301);
        let lik_pdf = |x: f64| lik.as_ref().map_or(0.0, |l| l.pdf(x));
        Ok(BayesReport {
            model: "normal-inverse-gamma".into(),
            provenance: self.provenance.clone(),
            prior: format!("(μ, σ²) ~ {}", p0.describe()),
            posterior: format!("(μ, σ²) | data ~ {}", p1.describe()),
            data: format!("{n} observation(s)"),
            params: vec![
                ParamRow {
                    name: "μ".into(),
                    prior: t_summary(m0)?,
                    posterior: t_summary(m1)?,
                },
                ParamRow {
                    name: "σ²".into(),
                    prior: p0.sigma2_summary()?,
                    posterior: p1.sigma2_summary()?,
                },
            ],
            probabilities: vec![],
            log_evidence: p0.log_evidence(&d.values),
            predictive: vec![PredictiveRow {
                what: "next observation".into(),
                prior: t_summary(p0.predictive())?,
                posterior: t_summary(p1.predictive())?,
            }],
            plots: vec![density_plot(
                "Normal-inverse-gamma: marginal prior, likelihood, posterior of μ",
                "μ",
                &xs,
                |x| pr.pdf(x),
                lik.as_ref().map(|_| &lik_pdf as &dyn Fn(f64) -> f64),
                |x| po.pdf(x),
            )],
        })
    }
}
