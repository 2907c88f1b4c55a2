//! Probability distributions: log density, sampling, mean and variance, with parameter checks.
//! Priors, likelihoods and conjugate models are built from these.

use crate::rng::Rng;
use rand_distr::Distribution as _;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// A univariate distribution, named by `family` in prior files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Dist {
    /// Normal(loc, scale).
    Normal {
        /// Mean.
        loc: f64,
        /// Standard deviation.
        scale: f64,
    },
    /// Laplace(loc, scale): density exp(-|x-loc|/scale) / (2 scale).
    Laplace {
        /// Location.
        loc: f64,
        /// Scale.
        scale: f64,
    },
    /// Student-t(df, loc, scale).
    StudentT {
        /// Degrees of freedom.
        df: f64,
        /// Location.
        #[serde(default)]
        loc: f64,
        /// Scale.
        scale: f64,
    },
    /// Cauchy(loc, scale).
    Cauchy {
        /// Location.
        #[serde(default)]
        loc: f64,
        /// Scale.
        scale: f64,
    },
    /// Log-normal(mu, sigma) on x > 0: ln x ~ Normal(mu, sigma).
    #[serde(rename = "lognormal")]
    LogNormal {
        /// Mean of ln x.
        mu: f64,
        /// Standard deviation of ln x.
        sigma: f64,
    },
    /// Half-normal(scale) on x ≥ 0.
    HalfNormal {
        /// Scale of the underlying normal.
        scale: f64,
    },
    /// Half-Cauchy(scale) on x ≥ 0.
    HalfCauchy {
        /// Scale of the underlying Cauchy.
        scale: f64,
    },
    /// Gamma(shape, rate) on x > 0.
    Gamma {
        /// Shape α.
        shape: f64,
        /// Rate β.
        rate: f64,
    },
    /// Inverse-Gamma(shape, scale) on x > 0.
    InverseGamma {
        /// Shape α.
        shape: f64,
        /// Scale β.
        scale: f64,
    },
    /// Beta(alpha, beta) on (0, 1).
    Beta {
        /// First shape.
        alpha: f64,
        /// Second shape.
        beta: f64,
    },
    /// Bernoulli(p) on {0, 1}.
    Bernoulli {
        /// Probability of 1.
        p: f64,
    },
    /// Categorical(probs) on {0, …, K−1}.
    Categorical {
        /// Class probabilities (summing to 1).
        probs: Vec<f64>,
    },
    /// Poisson(rate) on {0, 1, 2, …}.
    Poisson {
        /// Mean count.
        rate: f64,
    },
}

/// Log of the gamma function.
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

fn positive(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!(
            "{name} must be a positive finite number, found {v}"
        ))
    }
}

impl Dist {
    /// The family name as written in prior files.
    pub fn family(&self) -> &'static str {
        match self {
            Dist::Normal { .. } => "normal",
            Dist::Laplace { .. } => "laplace",
            Dist::StudentT { .. } => "student-t",
            Dist::Cauchy { .. } => "cauchy",
            Dist::LogNormal { .. } => "lognormal",
            Dist::HalfNormal { .. } => "half-normal",
            Dist::HalfCauchy { .. } => "half-cauchy",
            Dist::Gamma { .. } => "gamma",
            Dist::InverseGamma { .. } => "inverse-gamma",
            Dist::Beta { .. } => "beta",
            Dist::Bernoulli { .. } => "bernoulli",
            Dist::Categorical { .. } => "categorical",
            Dist::Poisson { .. } => "poisson",
        }
    }

    /// Checks the parameters; the error says which parameter is wrong and what is expected.
    pub fn validate(&self) -> Result<(), String> {
        let finite = |name: &str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(format!("{name} must be finite, found {v}"))
            }
        };
        match *self {
            Dist::Normal { loc, scale }
            | Dist::Laplace { loc, scale }
            | Dist::Cauchy { loc, scale } => {
                finite("loc", loc)?;
                positive("scale", scale)
            }
            Dist::StudentT { df, loc, scale } => {
                positive("df", df)?;
                finite("loc", loc)?;
                positive("scale", scale)
            }
            Dist::LogNormal { mu, sigma } => {
                finite("mu", mu)?;
                positive("sigma", sigma)
            }
            Dist::HalfNormal { scale } | Dist::HalfCauchy { scale } => positive("scale", scale),
            Dist::Gamma { shape, rate } => {
                positive("shape", shape)?;
                positive("rate", rate)
            }
            Dist::InverseGamma { shape, scale } => {
                positive("shape", shape)?;
                positive("scale", scale)
            }
            Dist::Beta { alpha, beta } => {
                positive("alpha", alpha)?;
                positive("beta", beta)
            }
            Dist::Bernoulli { p } => {
                if (0.0..=1.0).contains(&p) {
                    Ok(())
                } else {
                    Err(format!("p must lie in [0, 1], found {p}"))
                }
            }
            Dist::Categorical { ref probs } => {
                if probs.is_empty() || probs.iter().any(|p| !(0.0..=1.0).contains(p)) {
                    return Err("probs must be a non-empty list of numbers in [0, 1]".into());
                }
                let s: f64 = probs.iter().sum();
                if (s - 1.0).abs() > 1e-9 {
                    return Err(format!("probs must sum to 1, they sum to {s}"));
                }
                Ok(())
            }
            Dist::Poisson { rate } => positive("rate", rate),
        }
    }

    /// Whether the distribution lives on x ≥ 0 (or x > 0) only.
    pub fn is_positive(&self) -> bool {
        matches!(
            self,
            Dist::HalfNormal { .. }
                | Dist::LogNormal { .. }
                | Dist::HalfCauchy { .. }
                | Dist::Gamma { .. }
                | Dist::InverseGamma { .. }
                | Dist::Poisson { .. }
        )
    }

    /// Log density (or log mass) at `x`; −∞ outside the support.
    pub fn log_prob(&self, x: f64) -> f64 {
        let ninf = f64::NEG_INFINITY;
        match *self {
            Dist::Normal { loc, scale } => {
                let z = (x - loc) / scale;
                -0.5 * z * z - scale.ln() - 0.5 * LN_2PI
            }
            Dist::Laplace { loc, scale } => -(x - loc).abs() / scale - (2.0 * scale).ln(),
            Dist::StudentT { df, loc, scale } => {
                let z = (x - loc) / scale;
                ln_gamma(0.5 * (df + 1.0))
                    - ln_gamma(0.5 * df)
                    - 0.5 * (df * PI).ln()
                    - scale.ln()
                    - 0.5 * (df + 1.0) * (z * z / df).ln_1p()
            }
            Dist::Cauchy { loc, scale } => {
                let z = (x - loc) / scale;
                -(PI * scale).ln() - (z * z).ln_1p()
            }
            Dist::LogNormal { mu, sigma } => {
                if x <= 0.0 {
                    return ninf;
                }
                let lx = x.ln();
                let z = (lx - mu) / sigma;
                -0.5 * z * z - sigma.ln() - lx - 0.5 * LN_2PI
            }
            Dist::HalfNormal { scale } => {
                if x < 0.0 {
                    return ninf;
                }
                let z = x / scale;
                0.5 * (2.0 / PI).ln() - scale.ln() - 0.5 * z * z
            }
            Dist::HalfCauchy { scale } => {
                if x < 0.0 {
                    return ninf;
                }
                let z = x / scale;
                (2.0 / (PI * scale)).ln() - (z * z).ln_1p()
            }
            Dist::Gamma { shape, rate } => {
                if x <= 0.0 {
                    return ninf;
                }
                shape * rate.ln() - ln_gamma(shape) + (shape - 1.0) * x.ln() - rate * x
            }
            Dist::InverseGamma { shape, scale } => {
                if x <= 0.0 {
                    return ninf;
                }
                shape * scale.ln() - ln_gamma(shape) - (shape + 1.0) * x.ln() - scale / x
            }
            Dist::Beta { alpha, beta } => {
                if x <= 0.0 || x >= 1.0 {
                    return ninf;
                }
                ln_gamma(alpha + beta) - ln_gamma(alpha) - ln_gamma(beta)
                    + (alpha - 1.0) * x.ln()
                    + (beta - 1.0) * (-x).ln_1p()
            }
            Dist::Bernoulli { p } => {
                if x == 1.0 {
                    p.ln()
                } else if x == 0.0 {
                    (-p).ln_1p()
                } else {
                    ninf
                }
            }
            Dist::Categorical { ref probs } => {
                if x >= 0.0 && x.fract() == 0.0 && (x as usize) < probs.len() {
                    probs[x as usize].ln()
                } else {
                    ninf
                }
            }
            Dist::Poisson { rate } => {
                if x < 0.0 || x.fract() != 0.0 {
                    return ninf;
                }
                x * rate.ln() - rate - ln_gamma(x + 1.0)
            }
        }
    }

    /// Derivative of the log density with respect to `x` (continuous families; 0 elsewhere).
    pub fn grad_log_prob(&self, x: f64) -> f64 {
        match *self {
            Dist::Normal { loc, scale } => -(x - loc) / (scale * scale),
            Dist::Laplace { loc, scale } => -(x - loc).signum() / scale * f64::from(x != loc),
            Dist::StudentT { df, loc, scale } => {
                let d = x - loc;
                -(df + 1.0) * d / (df * scale * scale + d * d)
            }
            Dist::Cauchy { loc, scale } => {
                let d = x - loc;
                -2.0 * d / (scale * scale + d * d)
            }
            Dist::LogNormal { mu, sigma } => -(1.0 + (x.ln() - mu) / (sigma * sigma)) / x,
            Dist::HalfNormal { scale } => -x / (scale * scale),
            Dist::HalfCauchy { scale } => -2.0 * x / (scale * scale + x * x),
            Dist::Gamma { shape, rate } => (shape - 1.0) / x - rate,
            Dist::InverseGamma { shape, scale } => -(shape + 1.0) / x + scale / (x * x),
            Dist::Beta { alpha, beta } => (alpha - 1.0) / x - (beta - 1.0) / (1.0 - x),
            Dist::Bernoulli { .. } | Dist::Categorical { .. } | Dist::Poisson { .. } => 0.0,
        }
    }

    /// One random draw.
    pub fn sample(&self, rng: &mut Rng) -> f64 {
        let n = crate::rng::normal;
        match *self {
            Dist::Normal { loc, scale } => loc + scale * n(rng),
            Dist::Laplace { loc, scale } => {
                let u = crate::rng::uniform(rng) - 0.5;
                loc - scale * u.signum() * (1.0 - 2.0 * u.abs()).max(f64::MIN_POSITIVE).ln()
            }
            Dist::StudentT { df, loc, scale } => {
                let chi = rand_distr::ChiSquared::new(df).map_or(f64::NAN, |d| d.sample(rng));
                loc + scale * n(rng) / (chi / df).sqrt()
            }
            Dist::Cauchy { loc, scale } => {
                loc + scale * (PI * (crate::rng::uniform(rng) - 0.5)).tan()
            }
            Dist::LogNormal { mu, sigma } => (mu + sigma * n(rng)).exp(),
            Dist::HalfNormal { scale } => (scale * n(rng)).abs(),
            Dist::HalfCauchy { scale } => {
                (scale * (PI * (crate::rng::uniform(rng) - 0.5)).tan()).abs()
            }
            Dist::Gamma { shape, rate } => {
                rand_distr::Gamma::new(shape, 1.0 / rate).map_or(f64::NAN, |d| d.sample(rng))
            }
            Dist::InverseGamma { shape, scale } => {
                1.0 / rand_distr::Gamma::new(shape, 1.0 / scale).map_or(f64::NAN, |d| d.sample(rng))
            }
            Dist::Beta { alpha, beta } => {
                rand_distr::Beta::new(alpha, beta).map_or(f64::NAN, |d| d.sample(rng))
            }
            Dist::Bernoulli { p } => f64::from(crate::rng::uniform(rng) < p),
            Dist::Categorical { ref probs } => {
                let u = crate::rng::uniform(rng);
                let mut acc = 0.0;
                for (k, p) in probs.iter().enumerate() {
                    acc += p;
                    if u < acc {
                        return k as f64;
                    }
                }
                (probs.len() - 1) as f64
            }
            Dist::Poisson { rate } => {
                rand_distr::Poisson::new(rate).map_or(f64::NAN, |d| d.sample(rng))
            }
        }
    }

    /// The mean (NaN where it does not exist, as for the Cauchy).
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Normal { loc, .. } | Dist::Laplace { loc, .. } => loc,
            Dist::StudentT { df, loc, .. } => {
                if df > 1.0 {
                    loc
                } else {
                    f64::NAN
                }
            }
            Dist::Cauchy { .. } | Dist::HalfCauchy { .. } => f64::NAN,
            Dist::LogNormal { mu, sigma } => (mu + 0.5 * sigma * sigma).exp(),
            Dist::HalfNormal { scale } => scale * (2.0 / PI).sqrt(),
            Dist::Gamma { shape, rate } => shape / rate,
            Dist::InverseGamma { shape, scale } => {
                if shape > 1.0 {
                    scale / (shape - 1.0)
                } else {
                    f64::INFINITY
                }
            }
            Dist::Beta { alpha, beta } => alpha / (alpha + beta),
            Dist::Bernoulli { p } => p,
            Dist::Categorical { ref probs } => {
                probs.iter().enumerate().map(|(k, p)| k as f64 * p).sum()
            }
            Dist::Poisson { rate } => rate,
        }
    }

    /// The variance (NaN or ∞ where it does not exist).
    pub fn variance(&self) -> f64 {
        match *self {
            Dist::Normal { scale, .. } => scale * scale,
            Dist::Laplace { scale, .. } => 2.0 * scale * scale,
            Dist::StudentT { df, scale, .. } => {
                if df > 2.0 {
                    scale * scale * df / (df - 2.0)
                } else if df > 1.0 {
                    f64::INFINITY
                } else {
                    f64::NAN
                }
            }
            Dist::Cauchy { .. } | Dist::HalfCauchy { .. } => f64::NAN,
            Dist::LogNormal { mu, sigma } => {
                let s2 = sigma * sigma;
                s2.exp_m1() * (2.0 * mu + s2).exp()
            }
            Dist::HalfNormal { scale } => scale * scale * (1.0 - 2.0 / PI),
            Dist::Gamma { shape, rate } => shape / (rate * rate),
            Dist::InverseGamma { shape, scale } => {
                if shape > 2.0 {
                    scale * scale / ((shape - 1.0) * (shape - 1.0) * (shape - 2.0))
                } else {
                    f64::INFINITY
                }
            }
            Dist::Beta { alpha, beta } => {
                let s = alpha + beta;
                alpha * beta / (s * s * (s + 1.0))
            }
            Dist::Bernoulli { p } => p * (1.0 - p),
            Dist::Categorical { ref probs } => {
                let m = self.mean();
                probs
                    .iter()
                    .enumerate()
                    .map(|(k, p)| (k as f64 - m).powi(2) * p)
                    .sum()
            }
            Dist::Poisson { rate } => rate,
        }
    }

    /// A short human-readable form, e.g. `Normal(0, 1)`.
    pub fn describe(&self) -> String {
        match self {
            Dist::Normal { loc, scale } => format!("Normal(loc={loc}, scale={scale})"),
            Dist::Laplace { loc, scale } => format!("Laplace(loc={loc}, scale={scale})"),
            Dist::StudentT { df, loc, scale } => {
                format!("StudentT(df={df}, loc={loc}, scale={scale})")
            }
            Dist::Cauchy { loc, scale } => format!("Cauchy(loc={loc}, scale={scale})"),
            Dist::LogNormal { mu, sigma } => format!("LogNormal(mu={mu}, sigma={sigma})"),
            Dist::HalfNormal { scale } => format!("HalfNormal(scale={scale})"),
            Dist::HalfCauchy { scale } => format!("HalfCauchy(scale={scale})"),
            Dist::Gamma { shape, rate } => format!("Gamma(shape={shape}, rate={rate})"),
            Dist::InverseGamma { shape, scale } => {
                format!("InverseGamma(shape={shape}, scale={scale})")
            }
            Dist::Beta { alpha, beta } => format!("Beta(alpha={alpha}, beta={beta})"),
            Dist::Bernoulli { p } => format!("Bernoulli(p={p})"),
            Dist::Categorical { probs } => format!("Categorical(probs={probs:?})"),
            Dist::Poisson { rate } => format!("Poisson(rate={rate})"),
        }
    }
}

#[cfg(test)]
mod tests;
