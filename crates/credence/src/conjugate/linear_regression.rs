//! Bayesian linear regression with the normal-inverse-gamma prior
//! w | σ² ~ N(m₀, σ²V₀), σ² ~ InvGamma(a₀, b₀), y ~ N(Xw, σ²I). The posterior is
//! NIG(mₙ, Vₙ, aₙ, bₙ) with Vₙ = (V₀⁻¹ + XᵀX)⁻¹, mₙ = Vₙ(V₀⁻¹m₀ + Xᵀy), aₙ = a₀ + n/2,
//! bₙ = b₀ + ½(‖y − Xmₙ‖² + (mₙ − m₀)ᵀV₀⁻¹(mₙ − m₀)); coefficients and predictions are Student-t.

use super::normal_inverse_gamma::t_summary;
use super::{check_finite, check_positive, cover, density_plot, grid};
use super::{BayesReport, ParamRow, PredictiveRow};
use crate::dist::ln_gamma;
use crate::error::{Error, Result};
use crate::prior::Provenance;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Continuous, ContinuousCDF, StudentsT};

/// The prior with its provenance. `mean` and `cov_factor` include the intercept first when the
/// data asks for one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearRegression {
    /// Prior mean m₀ of the coefficients.
    pub mean: Vec<f64>,
    /// Diagonal of V₀: the prior covariance of the coefficients is σ²·diag(cov_factor).
    pub cov_factor: Vec<f64>,
    /// a₀: inverse-gamma shape of σ².
    pub shape: f64,
    /// b₀: inverse-gamma scale of σ².
    pub scale: f64,
    /// Where the prior comes from.
    pub provenance: Provenance,
}

/// Inputs (one row per observation), targets and the inputs to predict at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// Input rows (without the intercept column).
    pub x: Vec<Vec<f64>>,
    /// Targets.
    pub y: Vec<f64>,
    /// Prepend a column of ones (default true).
    #[serde(default = "yes")]
    pub intercept: bool,
    /// Input rows at which to report the predictive.
    #[serde(default)]
    pub predict_at: Vec<Vec<f64>>,
    /// Coefficient names (default w0, w1, …; "intercept" first when there is one).
    #[serde(default)]
    pub names: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Cholesky factor L (row-major, lower) of a symmetric positive-definite p×p matrix.
pub(crate) fn cholesky(a: &[f64], p: usize) -> Result<Vec<f64>> {
    let mut l = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..=i {
            let s: f64 = a[i * p + j] - (0..j).map(|k| l[i * p + k] * l[j * p + k]).sum::<f64>();
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return Err(Error::Numeric(format!(
                        "matrix is not positive definite (pivot {i} is {s})"
                    )));
                }
                l[i * p + i] = s.sqrt();
            } else {
                l[i * p + j] = s / l[j * p + j];
            }
        }
    }
    Ok(l)
}

/// Inverse and log-determinant of a symmetric positive-definite matrix via Cholesky.
pub(crate) fn inverse_logdet(a: &[f64], p: usize) -> Result<(Vec<f64>, f64)> {
    let l = cholesky(a, p)?;
    let logdet = 2.0 * (0..p).map(|i| l[i * p + i].ln()).sum::<f64>();
    let mut inv = vec![0.0; p * p];
    for c in 0..p {
        // Solve L z = e_c, then Lᵀ x = z.
        let mut z = vec![0.0; p];
        for i in 0..p {
            let e = f64::from(u8::from(i == c));
            z[i] = (e - (0..i).map(|k| l[i * p + k] * z[k]).sum::<f64>()) / l[i * p + i];
        }
        for i in (0..p).rev() {
            let v = (z[i]
                - (i + 1..p)
                    .map(|k| l[k * p + i] * inv[k * p + c])
                    .sum::<f64>())
                / l[i * p + i];
            inv[i * p + c] = v;
        }
    }
    Ok((inv, logdet))
}

/// The posterior of a linear regression.
#[derive(Debug, Clone)]
pub struct LinRegPosterior {
    /// Posterior mean mₙ.
    pub mean: Vec<f64>,
    /// Vₙ, row-major.
    pub cov_factor: Vec<f64>,
    /// aₙ.
    pub shape: f64,
    /// bₙ.
    pub scale: f64,
    /// ln p(y | X).
    pub log_evidence: f64,
}

impl LinearRegression {
    fn design(&self, d: &Data) -> (Vec<f64>, usize) {
        let p = self.mean.len();
        let mut x = Vec::with_capacity(d.y.len() * p);
        for row in &d.x {
            if d.intercept {
                x.push(1.0);
            }
            x.extend_from_slice(row);
        }
        (x, p)
    }

    fn row(&self, d: &Data, r: &[f64]) -> Vec<f64> {
        let mut v = Vec::with_capacity(self.mean.len());
        if d.intercept {
            v.push(1.0);
        }
        v.extend_from_slice(r);
        v
    }

    fn check(&self, d: &Data) -> Result<()> {
        let p = self.mean.len();
        if p == 0 || self.cov_factor.len() != p {
            return Err(Error::Invalid(format!(
                "prior.mean ({p} values) and prior.cov_factor ({} values) must have one value per coefficient",
                self.cov_factor.len()
            )));
        }
        check_finite("prior.mean", &self.mean)?;
        for (j, &v) in self.cov_factor.iter().enumerate() {
            check_positive(&format!("prior.cov_factor[{j}]"), v)?;
        }
        check_positive("prior.shape", self.shape)?;
        check_positive("prior.scale", self.scale)?;
        if d.x.len() != d.y.len() {
            return Err(Error::Invalid(format!(
                "data.x has {} rows, data.y has {} values",
                d.x.len(),
                d.y.len()
            )));
        }
        check_finite("data.y", &d.y)?;
        let want = p - usize::from(d.intercept);
        for (i, r) in d.x.iter().chain(&d.predict_at).enumerate() {
            if r.len() != want {
                return Err(Error::Invalid(format!(
                    "input row {i} has {} values; with intercept = {} the prior's {p} coefficients need {want}",
                    r.len(),
                    d.intercept
                )));
            }
            check_finite("data.x", r)?;
        }
        Ok(())
    }

    /// The posterior and the log evidence.
    pub fn posterior(&self, d: &Data) -> Result<LinRegPosterior> {
        self.check(d)?;
        let (x, p) = self.design(d);
        let n = d.y.len();
        let mut lam = vec![0.0; p * p];
        let mut rhs = vec![0.0; p];
        for j in 0..p {
            lam[j * p + j] = 1.0 / self.cov_factor[j];
            rhs[j] = self.mean[j] / self.cov_factor[j];
        }
        for i in 0..n {
            let r = &x[i * p..(i + 1) * p];
            for a in 0..p {
                rhs[a] += r[a] * d.y[i];
                for b in 0..p {
                    lam[a * p + b] += r[a] * r[b];
                }
            }
        }
        let (vn, logdet_vn_inv) = inverse_logdet(&lam, p)?;
        let mn: Vec<f64> = (0..p)
            .map(|a| (0..p).map(|b| vn[a * p + b] * rhs[b]).sum())
            .collect();
        let resid: f64 = (0..n)
            .map(|i| {
                let f: f64 = x[i * p..(i + 1) * p]
                    .iter()
                    .zip(&mn)
                    .map(|(a, b)| a * b)
                    .sum();
                (d.y[i] - f).powi(2)
            })
            .sum();
        let shrink: f64 = (0..p)
            .map(|j| (mn[j] - self.mean[j]).powi(2) / self.cov_factor[j])
            .sum();
        let an = self.shape + 0.5 * n as f64;
        let bn = self.scale + 0.5 * (resid + shrink);
        let logdet_v0: f64 = self.cov_factor.iter().map(|v| v.ln()).sum();
        let log_evidence = -0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln()
            + 0.5 * (-logdet_vn_inv - logdet_v0)
            + self.shape * self.scale.ln()
            - an * bn.ln()
            + ln_gamma(an)
            - ln_gamma(self.shape);
        Ok(LinRegPosterior {
            mean: mn,
            cov_factor: vn,
            shape: an,
            scale: bn,
            log_evidence,
        })
    }

    /// Predictive Student-t (df, loc, scale) at an input row (with intercept added as needed).
    pub fn predictive_at(&self, post: &LinRegPosterior, d: &Data, r: &[f64]) -> (f64, f64, f64) {
        let v = self.row(d, r);
        let p = v.len();
        let loc: f64 = v.iter().zip(&post.mean).map(|(a, b)| a * b).sum();
        let q: f64 = (0..p)
            .map(|a| {
                (0..p)
                    .map(|b| v[a] * post.cov_factor[a * p + b] * v[b])
                    .sum::<f64>()
            })
            .sum();
        (
            2.0 * post.shape,
            loc,
            (post.scale / post.shape * (1.0 + q)).sqrt(),
        )
    }

    fn prior_posterior(&self) -> LinRegPosterior {
        let p = self.mean.len();
        let mut v = vec![0.0; p * p];
        for j in 0..p {
            v[j * p + j] = self.cov_factor[j];
        }
        LinRegPosterior {
            mean: self.mean.clone(),
            cov_factor: v,
            shape: self.shape,
            scale: self.scale,
            log_evidence: 0.0,
        }
    }

    fn name(&self, d: &Data, j: usize) -> String {
        d.names.get(j).cloned().unwrap_or_else(|| {
            if d.intercept && j == 0 {
                "intercept".into()
            } else {
                format!("w{}", j - usize::from(d.intercept) + 1)
            }
        })
    }

    /// Closed-form report.
    pub fn report(&self, d: &Data) -> Result<BayesReport> {
        let post = self.posterior(d)?;
        let prior = self.prior_posterior();
        let p = self.mean.len();
        let n = d.y.len();
        let marg = |q: &LinRegPosterior, j: usize| {
            (
                2.0 * q.shape,
                q.mean[j],
                (q.scale / q.shape * q.cov_factor[j * p + j]).sqrt(),
            )
        };
        // Likelihood of each coefficient under the reference prior (least squares), normalised:
        // Student-t(n − p, ŵⱼ, s·√((XᵀX)⁻¹)ⱼⱼ), when n > p and XᵀX is invertible.
        let ols = if n > p {
            let flat = LinearRegression {
                mean: vec![0.0; p],
                cov_factor: vec![1e12; p],
                shape: 1e-12,
                scale: 1e-12,
                provenance: self.provenance.clone(),
            };
            flat.posterior(d).ok().map(|q| {
                let s2 = 2.0 * (q.scale - 1e-12) / (n - p) as f64;
                (q, s2)
            })
        } else {
            None
        };
        let mut params = Vec::new();
        let mut plots = Vec::new();
        for j in 0..p {
            let (m0, m1) = (marg(&prior, j), marg(&post, j));
            params.push(ParamRow {
                name: self.name(d, j),
                prior: t_summary(m0)?,
                posterior: t_summary(m1)?,
            });
            let tt = |m: (f64, f64, f64)| {
                StudentsT::new(m.1, m.2, m.0).map_err(|e| Error::Invalid(e.to_string()))
            };
            let (pr, po) = (tt(m0)?, tt(m1)?);
            let lik = match &ols {
                Some((q, s2)) if *s2 > 0.0 => Some(tt((
                    (n - p) as f64,
                    q.mean[j],
                    (s2 * q.cov_factor[j * p + j]).sqrt(),
                ))?),
                _ => None,
            };
            let lq = |u| lik.as_ref().map_or(m1.1, |l| l.inverse_cdf(u));
            let (lo, hi) = cover(&[&|u| pr.inverse_cdf(u), &|u| po.inverse_cdf(u), &lq]);
            let xs = grid(lo, hi, 301);
            let lik_pdf = |x: f64| lik.as_ref().map_or(0.0, |l| l.pdf(x));
            plots.push(density_plot(
                &format!("{}: marginal prior, likelihood, posterior", self.name(d, j)),
                &self.name(d, j),
                &xs,
                |x| pr.pdf(x),
                lik.as_ref().map(|_| &lik_pdf as &dyn Fn(f64) -> f64),
                |x| po.pdf(x),
            ));
        }
        let predictive = d
            .predict_at
            .iter()
            .map(|r| {
                Ok(PredictiveRow {
                    what: format!("y at x = {r:?}"),
                    prior: t_summary(self.predictive_at(&prior, d, r))?,
                    posterior: t_summary(self.predictive_at(&post, d, r))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let fmt = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.6}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Ok(BayesReport {
            model: "linear-regression".into(),
            provenance: self.provenance.clone(),
            prior: format!(
                "w | σ² ~ N([{}], σ²·diag[{}]), σ² ~ InvGamma({}, {})",
                fmt(&self.mean),
                fmt(&self.cov_factor),
                self.shape,
                self.scale
            ),
            posterior: format!(
                "w | σ², data ~ N([{}], σ²·Vₙ), σ² | data ~ InvGamma({}, {:.6})",
                fmt(&post.mean),
                post.shape,
                post.scale
            ),
            data: format!(
                "{n} rows, {} input(s){}",
                p - usize::from(d.intercept),
                if d.intercept { " plus intercept" } else { "" }
            ),
            params,
            probabilities: vec![],
            log_evidence: post.log_evidence,
            predictive,
            plots,
        })
    }
}
