//! Likelihoods: how the network output explains a target. Gaussian (fixed or learned
//! homoscedastic noise), heteroscedastic Gaussian, Student-t, Bernoulli, Categorical, Poisson.

use crate::nn::activation_fns::{sigmoid, softplus};
use serde::{Deserialize, Serialize};

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

/// The observation model, named by `family` in configs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Likelihood {
    /// y ~ Normal(f, σ²); σ learned unless `noise` fixes it (in standardised target units).
    Gaussian {
        /// Fixed noise scale; `None` learns it.
        #[serde(default)]
        noise: Option<f64>,
    },
    /// y ~ Normal(f₀, exp(f₁)²): the network predicts mean and log-scale.
    Heteroscedastic,
    /// y ~ StudentT(df, f, σ); σ learned unless `noise` fixes it.
    StudentT {
        /// Degrees of freedom.
        df: f64,
        /// Fixed noise scale; `None` learns it.
        #[serde(default)]
        noise: Option<f64>,
    },
    /// y ∈ {0, 1} ~ Bernoulli(sigmoid(f)).
    Bernoulli,
    /// y ∈ {0, …, K−1} ~ Categorical(softmax(f)).
    Categorical {
        /// Number of classes K.
        classes: usize,
    },
    /// y ∈ {0, 1, …} ~ Poisson(exp(f)).
    Poisson,
}

impl Likelihood {
    /// Name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Gaussian { .. } => "gaussian",
            Self::Heteroscedastic => "heteroscedastic",
            Self::StudentT { .. } => "student-t",
            Self::Bernoulli => "bernoulli",
            Self::Categorical { .. } => "categorical",
            Self::Poisson => "poisson",
        }
    }

    /// Network outputs this likelihood needs per target.
    pub fn outputs(&self) -> usize {
        match self {
            Self::Heteroscedastic => 2,
            Self::Categorical { classes } => *classes,
            _ => 1,
        }
    }

    /// Whether a noise scale is learned (one extra parameter, log σ).
    pub fn learns_noise(&self) -> bool {
        matches!(
            self,
            Self::Gaussian { noise: None } | Self::StudentT { noise: None, .. }
        )
    }

    /// Whether targets are real-valued and standardised.
    pub fn is_regression(&self) -> bool {
        matches!(
            self,
            Self::Gaussian { .. } | Self::Heteroscedastic | Self::StudentT { .. }
        )
    }

    /// Whether the target is a class label.
    pub fn is_classification(&self) -> bool {
        matches!(self, Self::Bernoulli | Self::Categorical { .. })
    }

    /// The fixed noise scale, if any.
    pub fn fixed_noise(&self) -> Option<f64> {
        match self {
            Self::Gaussian { noise } | Self::StudentT { noise, .. } => *noise,
            _ => None,
        }
    }

    /// Checks parameters and the targets' support; the message names the problem.
    pub fn validate(&self, y: &[f64]) -> Result<(), String> {
        match self {
            Self::Gaussian { noise } | Self::StudentT { noise, .. } => {
                if let Some(s) = noise {
                    if !(s.is_finite() && *s > 0.0) {
                        return Err(format!("noise must be positive, found {s}"));
                    }
                }
                if let Self::StudentT { df, .. } = self {
                    if !(df.is_finite() && *df > 0.0) {
                        return Err(format!("df must be positive, found {df}"));
                    }
                }
            }
            Self::Bernoulli => {
                if let Some(v) = y.iter().find(|v| **v != 0.0 && **v != 1.0) {
                    return Err(format!("bernoulli targets must be 0 or 1, found {v}"));
                }
            }
            Self::Categorical { classes } => {
                if *classes < 2 {
                    return Err(format!(
                        "categorical needs at least 2 classes, found {classes}"
                    ));
                }
                if let Some(v) = y
                    .iter()
                    .find(|v| **v < 0.0 || v.fract() != 0.0 || **v as usize >= *classes)
                {
                    return Err(format!(
                        "categorical targets must be integers in 0..{classes}, found {v}"
                    ));
                }
            }
            Self::Poisson => {
                if let Some(v) = y.iter().find(|v| **v < 0.0 || v.fract() != 0.0) {
                    return Err(format!(
                        "poisson targets must be non-negative integers, found {v}"
                    ));
                }
            }
            Self::Heteroscedastic => {}
        }
        Ok(())
    }

    /// Σ log p(y | f) over rows, scaled by `scale`. When `grad_f` is given, writes
    /// scale·∂/∂f into it; adds scale·∂/∂(log σ) to `grad_log_sigma`.
    pub fn log_lik(
        &self,
        f: &[f64],
        y: &[f64],
        log_sigma: f64,
        scale: f64,
        mut grad_f: Option<&mut [f64]>,
        grad_log_sigma: &mut f64,
    ) -> f64 {
        let k = self.outputs();
        let mut total = 0.0;
        let mut gls = 0.0;
        match self {
            Self::Gaussian { noise } => {
                let ls = noise.map_or(log_sigma, f64::ln);
                let inv_var = (-2.0 * ls).exp();
                let mut ss = 0.0;
                for (n, (&fi, &yi)) in f.iter().zip(y).enumerate() {
                    let r = yi - fi;
                    ss += r * r;
                    if let Some(g) = grad_f.as_deref_mut() {
                        g[n] = scale * r * inv_var;
                    }
                }
                let rows = y.len() as f64;
                total = -0.5 * ss * inv_var - rows * (ls + HALF_LN_2PI);
                gls = ss * inv_var - rows;
            }
            Self::Heteroscedastic => {
                for (n, &yi) in y.iter().enumerate() {
                    let (mu, s) = (f[2 * n], f[2 * n + 1]);
                    let r = yi - mu;
                    let iv = (-2.0 * s).exp();
                    total += -0.5 * r * r * iv - s - HALF_LN_2PI;
                    if let Some(g) = grad_f.as_deref_mut() {
                        g[2 * n] = scale * r * iv;
                        g[2 * n + 1] = scale * (r * r * iv - 1.0);
                    }
                }
            }
            Self::StudentT { df, noise } => {
                let ls = noise.map_or(log_sigma, f64::ln);
                let sigma = ls.exp();
                let c = crate::dist::ln_gamma(0.5 * (df + 1.0))
                    - crate::dist::ln_gamma(0.5 * df)
                    - 0.5 * (df * std::f64::consts::PI).ln();
                for (n, (&fi, &yi)) in f.iter().zip(y).enumerate() {
                    let z = (yi - fi) / sigma;
                    total += c - ls - 0.5 * (df + 1.0) * (z * z / df).ln_1p();
                    let w = (df + 1.0) / (df + z * z);
                    if let Some(g) = grad_f.as_deref_mut() {
                        g[n] = scale * w * z / sigma;
                    }
                    gls += w * z * z - 1.0;
                }
            }
            Self::Bernoulli => {
                for (n, (&fi, &yi)) in f.iter().zip(y).enumerate() {
                    total += yi * fi - softplus(fi);
                    if let Some(g) = grad_f.as_deref_mut() {
                        g[n] = scale * (yi - sigmoid(fi));
                    }
                }
            }
            Self::Categorical { .. } => {
                for (n, &yi) in y.iter().enumerate() {
                    let row = &f[n * k..(n + 1) * k];
                    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let z: f64 = row.iter().map(|v| (v - m).exp()).sum();
                    let lse = m + z.ln();
                    let c = yi as usize;
                    total += row[c] - lse;
                    if let Some(g) = grad_f.as_deref_mut() {
                        for j in 0..k {
                            let p = (row[j] - lse).exp();
                            g[n * k + j] = scale * (f64::from(u8::from(j == c)) - p);
                        }
                    }
                }
            }
            Self::Poisson => {
                for (n, (&fi, &yi)) in f.iter().zip(y).enumerate() {
                    let rate = fi.exp();
                    total += yi * fi - rate - crate::dist::ln_gamma(yi + 1.0);
                    if let Some(g) = grad_f.as_deref_mut() {
                        g[n] = scale * (yi - rate);
                    }
                }
            }
        }
        if self.learns_noise() {
            *grad_log_sigma += scale * gls;
        }
        scale * total
    }

    /// Checks that this likelihood can model `targets` target columns at once: several targets
    /// need the gaussian (one σ per target) or heteroscedastic (mean and log-scale per target)
    /// likelihood.
    pub fn check_targets(&self, targets: usize) -> Result<(), String> {
        if targets > 1 && !matches!(self, Self::Gaussian { .. } | Self::Heteroscedastic) {
            return Err(format!(
                "{targets} targets (multi-target regression) need the gaussian or heteroscedastic likelihood, not {}",
                self.name()
            ));
        }
        Ok(())
    }

    /// [`Likelihood::log_lik`] for `log_sigmas.len()` targets per row: `y` is row-major
    /// `rows × targets`, `f` is `rows × targets·outputs()` (each target's outputs side by side),
    /// target k has noise scale `log_sigmas[k]` and its ∂/∂(log σ_k) is added to
    /// `grad_log_sigmas[k]`. With one target this is exactly `log_lik`.
    pub fn log_lik_targets(
        &self,
        f: &[f64],
        y: &[f64],
        log_sigmas: &[f64],
        scale: f64,
        mut grad_f: Option<&mut [f64]>,
        grad_log_sigmas: &mut [f64],
    ) -> f64 {
        let kt = log_sigmas.len();
        if kt <= 1 {
            let ls = log_sigmas.first().copied().unwrap_or(0.0);
            let mut g = 0.0;
            let v = self.log_lik(f, y, ls, scale, grad_f, &mut g);
            if let Some(gl) = grad_log_sigmas.first_mut() {
                *gl += g;
            }
            return v;
        }
        match self {
            Self::Gaussian { noise } => {
                let rows = y.len() / kt;
                let mut total = 0.0;
                for (k, &ls_k) in log_sigmas.iter().enumerate() {
                    let ls = noise.map_or(ls_k, f64::ln);
                    let inv_var = (-2.0 * ls).exp();
                    let mut ss = 0.0;
                    for n in 0..rows {
                        let i = n * kt + k;
                        let r = y[i] - f[i];
                        ss += r * r;
                        if let Some(g) = grad_f.as_deref_mut() {
                            g[i] = scale * r * inv_var;
                        }
                    }
                    total += -0.5 * ss * inv_var - rows as f64 * (ls + HALF_LN_2PI);
                    if noise.is_none() {
                        grad_log_sigmas[k] += scale * (ss * inv_var - rows as f64);
                    }
                }
                scale * total
            }
            // Each target's (mean, log-scale) pair sits side by side, so rows × targets pairs
            // read as rows·targets one-target rows.
            _ => {
                let mut g = 0.0;
                self.log_lik(f, y, log_sigmas[0], scale, grad_f, &mut g)
            }
        }
    }

    /// Mean and aleatoric variance of y at one row's network output (regression and Poisson).
    pub fn mean_var(&self, f_row: &[f64], log_sigma: f64) -> (f64, f64) {
        match self {
            Self::Gaussian { noise } => {
                (f_row[0], noise.map_or((2.0 * log_sigma).exp(), |s| s * s))
            }
            Self::Heteroscedastic => (f_row[0], (2.0 * f_row[1]).exp()),
            Self::StudentT { df, noise } => {
                let s2 = noise.map_or((2.0 * log_sigma).exp(), |s| s * s);
                (
                    f_row[0],
                    if *df > 2.0 {
                        s2 * df / (df - 2.0)
                    } else {
                        f64::INFINITY
                    },
                )
            }
            Self::Poisson => {
                let r = f_row[0].exp();
                (r, r)
            }
            Self::Bernoulli => {
                let p = sigmoid(f_row[0]);
                (p, p * (1.0 - p))
            }
            Self::Categorical { .. } => (f64::NAN, f64::NAN),
        }
    }

    /// Class probabilities at one row's network output (classification).
    pub fn probs(&self, f_row: &[f64], out: &mut [f64]) {
        match self {
            Self::Bernoulli => {
                let p = sigmoid(f_row[0]);
                out[0] = 1.0 - p;
                out[1] = p;
            }
            _ => {
                let m = f_row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut z = 0.0;
                for (o, v) in out.iter_mut().zip(f_row) {
                    *o = (v - m).exp();
                    z += *o;
                }
                for o in out.iter_mut() {
                    *o /= z;
                }
            }
        }
    }

    /// Number of classes (2 for Bernoulli), 0 for other likelihoods.
    pub fn classes(&self) -> usize {
        match self {
            Self::Bernoulli => 2,
            Self::Categorical { classes } => *classes,
            _ => 0,
        }
    }
}
