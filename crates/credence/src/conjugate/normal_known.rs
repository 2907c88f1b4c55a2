//! Normal prior on the mean μ of normal observations with known standard deviation σ:
//! μ | x ~ N(mₙ, sₙ²) with 1/sₙ² = 1/s₀² + n/σ² and mₙ = sₙ²(m₀/s₀² + Σx/σ²).

use super::{check_finite, check_positive, cover, density_plot, grid};
use super::{BayesReport, ParamRow, PredictiveRow, Summary};
use crate::error::{Error, Result};
use crate::prior::Provenance;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Continuous, ContinuousCDF, Normal};

/// N(mean, sd²) prior on μ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalKnown {
    /// Prior mean m₀.
    pub mean: f64,
    /// Prior standard deviation s₀.
    pub sd: f64,
    /// Where the prior comes from.
    pub provenance: Provenance,
}

/// Observations and their known standard deviation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// Observations.
    pub values: Vec<f64>,
    /// Known standard deviation σ of one observation around μ.
    pub noise_sd: f64,
}

fn normal(m: f64, s: f64) -> Result<Normal> {
    Normal::new(m, s).map_err(|e| Error::Invalid(format!("Normal({m}, {s}): {e}")))
}

impl NormalKnown {
    /// Posterior mean and standard deviation of μ.
    pub fn posterior(&self, d: &Data) -> (f64, f64) {
        let n = d.values.len() as f64;
        let s2 = d.noise_sd * d.noise_sd;
        let prec = 1.0 / (self.sd * self.sd) + n / s2;
        let sum: f64 = d.values.iter().sum();
        let var = 1.0 / prec;
        (
            var * (self.mean / (self.sd * self.sd) + sum / s2),
            var.sqrt(),
        )
    }

    /// ln p(x): x ~ N(m₀·1, σ²I + s₀²·11ᵀ), by the matrix determinant lemma.
    pub fn log_evidence(&self, d: &Data) -> f64 {
        let n = d.values.len() as f64;
        if n == 0.0 {
            return 0.0;
        }
        let s2 = d.noise_sd * d.noise_sd;
        let t2 = self.sd * self.sd;
        let xbar = d.values.iter().sum::<f64>() / n;
        let ss: f64 = d.values.iter().map(|x| (x - xbar).powi(2)).sum();
        -0.5 * n * (2.0 * std::f64::consts::PI * s2).ln()
            - 0.5 * (1.0 + n * t2 / s2).ln()
            - 0.5 * (ss / s2 + n * (xbar - self.mean).powi(2) / (s2 + n * t2))
    }

    /// Posterior predictive of a new observation: N(mₙ, sₙ² + σ²), as (mean, sd).
    pub fn predictive(&self, d: &Data) -> (f64, f64) {
        let (m, s) = self.posterior(d);
        (m, (s * s + d.noise_sd * d.noise_sd).sqrt())
    }

    /// Closed-form report.
    pub fn report(&self, d: &Data) -> Result<BayesReport> {
        check_finite("prior.mean", &[self.mean])?;
        check_positive("prior.sd", self.sd)?;
        check_positive("data.noise_sd", d.noise_sd)?;
        check_finite("data.values", &d.values)?;
        let (m, s) = self.posterior(d);
        let (pm, ps) = self.predictive(d);
        let prior_pred_sd = (self.sd * self.sd + d.noise_sd * d.noise_sd).sqrt();
        let (pr, po) = (normal(self.mean, self.sd)?, normal(m, s)?);
        let (prp, pop) = (normal(self.mean, prior_pred_sd)?, normal(pm, ps)?);
        let n = d.values.len();
        let lik = if n > 0 {
            let xbar = d.values.iter().sum::<f64>() / n as f64;
            Some(normal(xbar, d.noise_sd / (n as f64).sqrt())?)
        } else {
            None
        };
        let lq = |p| lik.as_ref().map_or(m, |l| l.inverse_cdf(p));
        let (lo, hi) = cover(&[&|p| pr.inverse_cdf(p), &|p| po.inverse_cdf(p), &lq]);
        let xs = grid(lo, hi, 301);
        let lik_pdf = |x: f64| lik.as_ref().map_or(0.0, |l| l.pdf(x));
        Ok(BayesReport {
            model: "normal-known-variance".into(),
            provenance: self.provenance.clone(),
            prior: format!("μ ~ Normal({}, {}²)", self.mean, self.sd),
            posterior: format!("μ | data ~ Normal({m:.6}, {s:.6}²)"),
            data: format!(
                "{n} observation(s) with known sd σ = {}{}",
                d.noise_sd,
                if n > 0 {
                    format!(", mean {:.4}", d.values.iter().sum::<f64>() / n as f64)
                } else {
                    String::new()
                }
            ),
            params: vec![ParamRow {
                name: "μ".into(),
                prior: Summary::of(&pr, self.mean, self.sd),
                posterior: Summary::of(&po, m, s),
            }],
            probabilities: vec![],
            log_evidence: self.log_evidence(d),
            predictive: vec![PredictiveRow {
                what: "next observation".into(),
                prior: Summary::of(&prp, self.mean, prior_pred_sd),
                posterior: Summary::of(&pop, pm, ps),
            }],
            plots: vec![density_plot(
                "Normal (known σ): prior, likelihood, posterior of μ",
                "μ",
                &xs,
                |x| pr.pdf(x),
                lik.as_ref().map(|_| &lik_pdf as &dyn Fn(f64) -> f64),
                |x| po.pdf(x),
            )],
        })
    }
}
