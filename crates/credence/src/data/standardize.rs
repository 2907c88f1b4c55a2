//! Standardisation with training statistics, kept with the model so predictions use the same.

use super::Dataset;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// What to do with a zero-variance column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstantColumn {
    /// Leave it unscaled (the UCI protocol).
    Keep,
    /// Refuse it with an error naming the column.
    Error,
}

/// Means and standard deviations of the features and (for regression) the target.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Standardizer {
    /// Feature means.
    pub x_mean: Vec<f64>,
    /// Feature standard deviations (1 for constant columns).
    pub x_std: Vec<f64>,
    /// Target mean (0 when the target is not scaled).
    pub y_mean: f64,
    /// Target standard deviation (1 when the target is not scaled).
    pub y_std: f64,
    /// Per-target means when there are several targets (the first is `y_mean`); empty for one
    /// target, and in models saved before multi-target regression.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub y_means: Vec<f64>,
    /// Per-target standard deviations when there are several targets (see `y_means`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub y_stds: Vec<f64>,
}

/// The largest target spread whose square (a predictive variance in the target's units) is
/// still a finite f64 with room to spare: about √(f64::MAX) / 1e4.
pub const MAX_TARGET_SPREAD: f64 = 1e150;
/// The smallest target spread whose square is still a normal f64 (see [`MAX_TARGET_SPREAD`]).
pub const MIN_TARGET_SPREAD: f64 = 1e-150;
/// Relative spread under which a column counts as constant (its values agree to 12 digits).
const CONSTANT_REL: f64 = 1e-12;

/// Location and spread of a column, computed without overflow or underflow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spread {
    /// Mean (NaN when a value is not finite).
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// Largest magnitude (infinite or NaN when a value is).
    pub max_abs: f64,
}

impl Spread {
    /// Mean and spread of `values`, scaled by their largest magnitude first so that columns
    /// near 1e308 or 1e-308 neither overflow nor underflow when squared.
    pub fn of(values: impl Iterator<Item = f64> + Clone) -> Spread {
        let n = values.clone().count() as f64;
        let max_abs = values.clone().fold(0.0f64, |m, v| {
            if v.is_nan() || m.is_nan() {
                f64::NAN
            } else {
                m.max(v.abs())
            }
        });
        if max_abs == 0.0 || !max_abs.is_finite() {
            let mean = if max_abs == 0.0 { 0.0 } else { f64::NAN };
            return Spread {
                mean,
                std: 0.0,
                max_abs,
            };
        }
        let mean = values.clone().map(|v| v / max_abs).sum::<f64>() / n;
        let var = values.map(|v| (v / max_abs - mean).powi(2)).sum::<f64>() / n;
        Spread {
            mean: mean * max_abs,
            std: var.sqrt() * max_abs,
            max_abs,
        }
    }

    /// Whether the values agree to about 12 significant digits (or are all zero).
    pub fn is_constant(&self) -> bool {
        self.std <= CONSTANT_REL * self.max_abs
    }
}

/// The mean of `values` computed without overflow (0 for an empty slice).
pub fn stable_mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    Spread::of(values.iter().copied()).mean
}

/// `(v − mean) / std` without overflowing when `v` and `mean` are far apart near ±f64::MAX.
fn standardise(v: f64, mean: f64, std: f64) -> f64 {
    let d = v - mean;
    if d.is_finite() {
        d / std
    } else {
        v / std - mean / std
    }
}

impl Standardizer {
    /// Fits on training data; the target is scaled only when `scale_target`.
    pub fn fit(data: &Dataset, scale_target: bool, constant: ConstantColumn) -> Result<Self> {
        let f = data.features;
        let mut x_mean = Vec::with_capacity(f);
        let mut x_std = Vec::with_capacity(f);
        for c in 0..f {
            let sp = Spread::of((0..data.rows).map(|r| data.x[r * f + c]));
            let col_err =
                |m: String| Error::data(&data.source, None, Some(data.feature_names[c].clone()), m);
            if !sp.mean.is_finite() {
                return Err(col_err(
                    "the column has non-finite values (inf or NaN); expected finite numbers".into(),
                ));
            }
            x_mean.push(sp.mean);
            if !sp.is_constant() {
                if sp.std < f64::MIN_POSITIVE {
                    return Err(col_err(format!(
                        "the column's values spread by only {:e} (largest magnitude {:e}), below the smallest normal f64 ({:e}), so too few digits are left to standardise it; rescale the column (e.g. multiply it by 1e300)",
                        sp.std,
                        sp.max_abs,
                        f64::MIN_POSITIVE
                    )));
                }
                x_std.push(sp.std);
            } else if constant == ConstantColumn::Keep {
                x_std.push(1.0);
            } else {
                return Err(col_err(format!(
                    "the column is constant ({}) in the training data; drop it",
                    sp.mean
                )));
            }
        }
        let kt = data.targets();
        let mut y_means = Vec::with_capacity(kt);
        let mut y_stds = Vec::with_capacity(kt);
        for k in 0..kt {
            let (m, s) = if scale_target {
                let sp = Spread::of((0..data.rows).map(|r| data.y[r * kt + k]));
                let target_err = |m: String| {
                    Error::data(
                        &data.source,
                        None,
                        Some(data.target_names.get(k).cloned().unwrap_or_default()),
                        m,
                    )
                };
                if !sp.mean.is_finite() {
                    return Err(target_err(
                        "the target has non-finite values (inf or NaN); expected finite numbers"
                            .into(),
                    ));
                }
                if sp.is_constant() {
                    return Err(target_err(format!(
                        "the target is constant ({}) in the training data",
                        sp.mean
                    )));
                }
                if !(MIN_TARGET_SPREAD..=MAX_TARGET_SPREAD).contains(&sp.std) {
                    return Err(target_err(format!(
                        "the target's values spread by {:e} (largest magnitude {:e}); predictive variances in these units would {} an f64 (the spread must lie between {MIN_TARGET_SPREAD:e} and {MAX_TARGET_SPREAD:e}): rescale the target (e.g. {} it by {:e})",
                        sp.std,
                        sp.max_abs,
                        if sp.std > 1.0 { "overflow" } else { "underflow" },
                        if sp.std > 1.0 { "divide" } else { "multiply" },
                        10f64.powi(sp.std.abs().log10().abs().round() as i32),
                    )));
                }
                (sp.mean, sp.std)
            } else {
                (0.0, 1.0)
            };
            y_means.push(m);
            y_stds.push(s);
        }
        let (y_mean, y_std) = (y_means[0], y_stds[0]);
        if kt == 1 {
            y_means.clear();
            y_stds.clear();
        }
        Ok(Standardizer {
            x_mean,
            x_std,
            y_mean,
            y_std,
            y_means,
            y_stds,
        })
    }

    /// Number of targets the standardisation covers.
    pub fn targets(&self) -> usize {
        self.y_means.len().max(1)
    }

    /// Mean of each target (one value for a single target).
    pub fn target_means(&self) -> Vec<f64> {
        if self.y_means.is_empty() {
            vec![self.y_mean]
        } else {
            self.y_means.clone()
        }
    }

    /// Standard deviation of each target (one value for a single target).
    pub fn target_stds(&self) -> Vec<f64> {
        if self.y_stds.is_empty() {
            vec![self.y_std]
        } else {
            self.y_stds.clone()
        }
    }

    /// Standardised copy of the features; errors when the feature count differs.
    pub fn transform_x(&self, data: &Dataset) -> Result<Vec<f64>> {
        if data.features != self.x_mean.len() {
            return Err(Error::data(
                &data.source,
                None,
                None,
                format!(
                    "the model expects {} feature columns, the data has {}",
                    self.x_mean.len(),
                    data.features
                ),
            ));
        }
        let f = data.features;
        Ok(data
            .x
            .iter()
            .enumerate()
            .map(|(i, &v)| standardise(v, self.x_mean[i % f], self.x_std[i % f]))
            .collect())
    }

    /// Standardised copy of the target (row-major `rows × targets` for several targets).
    pub fn transform_y(&self, y: &[f64]) -> Vec<f64> {
        if self.y_means.len() > 1 {
            let kt = self.y_means.len();
            return y
                .iter()
                .enumerate()
                .map(|(i, &v)| standardise(v, self.y_means[i % kt], self.y_stds[i % kt]))
                .collect();
        }
        y.iter()
            .map(|&v| standardise(v, self.y_mean, self.y_std))
            .collect()
    }

    /// A standardised copy of the whole dataset.
    pub fn transform(&self, data: &Dataset) -> Result<Dataset> {
        if data.targets() != self.targets() {
            return Err(Error::data(
                &data.source,
                None,
                Some(data.target_label()),
                format!(
                    "the model has {} target(s), the data has {}",
                    self.targets(),
                    data.targets()
                ),
            ));
        }
        let mut d = data.clone();
        d.x = self.transform_x(data)?;
        d.y = self.transform_y(&data.y);
        Ok(d)
    }
}
