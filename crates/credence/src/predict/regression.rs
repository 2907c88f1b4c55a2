//! Regression predictive: a mixture over posterior draws (or members) of per-row densities.

use super::log_mean_exp;
use serde::{Deserialize, Serialize};

/// Shape of each component's noise distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum NoiseFamily {
    /// Gaussian with the component's variance.
    Gaussian,
    /// Student-t with `df`; `noise_var` holds the squared scale σ².
    StudentT(f64),
    /// Poisson counts with the component's mean as rate.
    Poisson,
}

/// A regression predictive: one component per posterior draw (equal weights).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionPredictive {
    /// Number of rows.
    pub rows: usize,
    /// Noise family of every component.
    pub family: NoiseFamily,
    /// Component means, `components × rows`.
    pub means: Vec<Vec<f64>>,
    /// Component noise (aleatoric) variance per row (for Student-t: σ²).
    pub noise_var: Vec<Vec<f64>>,
    /// Component within-component function variance per row (e.g. a linearised Laplace
    /// predictive's JΣJᵀ); zero for point draws.
    pub func_var: Vec<Vec<f64>>,
}

impl RegressionPredictive {
    /// Number of mixture components.
    pub fn components(&self) -> usize {
        self.means.len()
    }

    /// Predictive mean per row.
    pub fn mean(&self) -> Vec<f64> {
        let s = self.components() as f64;
        (0..self.rows)
            .map(|n| self.means.iter().map(|m| m[n]).sum::<f64>() / s)
            .collect()
    }

    fn noise_variance(&self, c: usize, n: usize) -> f64 {
        match self.family {
            NoiseFamily::StudentT(df) if df > 2.0 => self.noise_var[c][n] * df / (df - 2.0),
            NoiseFamily::StudentT(_) => f64::INFINITY,
            _ => self.noise_var[c][n],
        }
    }

    /// Aleatoric variance per row: the mean over components of the noise variance.
    pub fn aleatoric_var(&self) -> Vec<f64> {
        let s = self.components() as f64;
        (0..self.rows)
            .map(|n| {
                (0..self.components())
                    .map(|c| self.noise_variance(c, n))
                    .sum::<f64>()
                    / s
            })
            .collect()
    }

    /// Epistemic variance per row: spread of component means plus within-component function variance.
    pub fn epistemic_var(&self) -> Vec<f64> {
        let s = self.components() as f64;
        let mean = self.mean();
        (0..self.rows)
            .map(|n| {
                let spread = self
                    .means
                    .iter()
                    .map(|m| (m[n] - mean[n]).powi(2))
                    .sum::<f64>()
                    / s;
                let within = self.func_var.iter().map(|v| v[n]).sum::<f64>() / s;
                spread + within
            })
            .collect()
    }

    /// Total predictive standard deviation per row.
    pub fn std(&self) -> Vec<f64> {
        self.epistemic_var()
            .iter()
            .zip(self.aleatoric_var())
            .map(|(e, a)| (e + a).sqrt())
            .collect()
    }

    /// Log predictive density of `y[n]` at each row (log of the mixture density).
    pub fn log_density(&self, y: &[f64]) -> Vec<f64> {
        let mut comp = vec![0.0; self.components()];
        (0..self.rows)
            .map(|n| {
                for (c, lp) in comp.iter_mut().enumerate() {
                    let (m, nv, fv) = (self.means[c][n], self.noise_var[c][n], self.func_var[c][n]);
                    *lp = match self.family {
                        NoiseFamily::Gaussian => {
                            let v = nv + fv;
                            -0.5 * (y[n] - m).powi(2) / v
                                - 0.5 * (2.0 * std::f64::consts::PI * v).ln()
                        }
                        NoiseFamily::StudentT(df) => crate::dist::Dist::StudentT {
                            df,
                            loc: m,
                            scale: (nv + fv).sqrt(),
                        }
                        .log_prob(y[n]),
                        NoiseFamily::Poisson => crate::dist::Dist::Poisson {
                            rate: m.max(1e-300),
                        }
                        .log_prob(y[n]),
                    };
                }
                log_mean_exp(&comp)
            })
            .collect()
    }

    /// Maps a predictive on the standardised target back to original units (y = mean + std·z).
    pub fn to_original_units(mut self, y_mean: f64, y_std: f64) -> Self {
        let v = y_std * y_std;
        for c in 0..self.components() {
            for n in 0..self.rows {
                self.means[c][n] = y_mean + y_std * self.means[c][n];
                self.noise_var[c][n] *= v;
                self.func_var[c][n] *= v;
            }
        }
        self
    }

    /// Central interval per row at `level` (e.g. 0.9), from the mixture by bisection on its CDF.
    pub fn interval(&self, level: f64) -> Vec<(f64, f64)> {
        let a = 0.5 * (1.0 - level);
        (0..self.rows)
            .map(|n| (self.quantile(n, a), self.quantile(n, 1.0 - a)))
            .collect()
    }

    /// Mixture CDF at `x` for row `n` (Gaussian approximation of each component).
    pub fn cdf(&self, n: usize, x: f64) -> f64 {
        let s = self.components() as f64;
        (0..self.components())
            .map(|c| {
                let sd = (self.noise_variance(c, n) + self.func_var[c][n]).sqrt();
                0.5 * libm::erfc(-(x - self.means[c][n]) / (sd * std::f64::consts::SQRT_2))
            })
            .sum::<f64>()
            / s
    }

    /// Mixture quantile for row `n` by bisection.
    pub fn quantile(&self, n: usize, p: f64) -> f64 {
        let mean = self.means.iter().map(|m| m[n]).sum::<f64>() / self.components() as f64;
        let sd = self.std_row(n).max(1e-12);
        let (mut lo, mut hi) = (mean - 50.0 * sd, mean + 50.0 * sd);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if self.cdf(n, mid) < p {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    fn std_row(&self, n: usize) -> f64 {
        let s = self.components() as f64;
        let mean = self.means.iter().map(|m| m[n]).sum::<f64>() / s;
        let var = (0..self.components())
            .map(|c| {
                (self.means[c][n] - mean).powi(2) + self.func_var[c][n] + self.noise_variance(c, n)
            })
            .sum::<f64>()
            / s;
        var.sqrt()
    }
}
