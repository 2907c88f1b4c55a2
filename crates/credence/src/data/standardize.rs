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

/// Mean and (population) standard deviation without overflow: the values are scaled by their
/// largest magnitude first, so a column near 1e308 is standardised correctly.
fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count() as f64;
    let scale = values.clone().fold(0.0f64, |m, v| m.max(v.abs()));
    if scale == 0.0 || !scale.is_finite() {
        return (if scale == 0.0 { 0.0 } else { f64::NAN }, 0.0);
    }
    let mean = values.clone().map(|v| v / scale).sum::<f64>() / n;
    let var = values.map(|v| (v / scale - mean).powi(2)).sum::<f64>() / n;
    (mean * scale, var.sqrt() * scale)
}

/// The mean of `values` computed without overflow (0 for an empty slice).
pub fn stable_mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    mean_std(values.iter().copied()).0
}

impl Standardizer {
    /// Fits on training data; the target is scaled only when `scale_target`.
    pub fn fit(data: &Dataset, scale_target: bool, constant: ConstantColumn) -> Result<Self> {
        let f = data.features;
        let mut x_mean = Vec::with_capacity(f);
        let mut x_std = Vec::with_capacity(f);
        for c in 0..f {
            let (m, s) = mean_std((0..data.rows).map(|r| data.x[r * f + c]));
            if !m.is_finite() {
                return Err(Error::data(
                    &data.source,
                    None,
                    Some(data.feature_names[c].clone()),
                    "the column has non-finite values; expected finite numbers",
                ));
            }
            x_mean.push(m);
            if s > 1e-12 * m.abs().max(1.0) {
                x_std.push(s);
            } else if constant == ConstantColumn::Keep {
                x_std.push(1.0);
            } else {
                return Err(Error::data(
                    &data.source,
                    None,
                    Some(data.feature_names[c].clone()),
                    format!("the column is constant ({m}) in the training data; drop it"),
                ));
            }
        }
        let kt = data.targets();
        let mut y_means = Vec::with_capacity(kt);
        let mut y_stds = Vec::with_capacity(kt);
        for k in 0..kt {
            let (m, s) = if scale_target {
                let (m, s) = mean_std((0..data.rows).map(|r| data.y[r * kt + k]));
                if s <= 1e-12 * m.abs().max(1.0) {
                    return Err(Error::data(
                        &data.source,
                        None,
                        Some(data.target_names.get(k).cloned().unwrap_or_default()),
                        format!("the target is constant ({m}) in the training data"),
                    ));
                }
                (m, s)
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
            .map(|(i, v)| (v - self.x_mean[i % f]) / self.x_std[i % f])
            .collect())
    }

    /// Standardised copy of the target (row-major `rows × targets` for several targets).
    pub fn transform_y(&self, y: &[f64]) -> Vec<f64> {
        if self.y_means.len() > 1 {
            let kt = self.y_means.len();
            return y
                .iter()
                .enumerate()
                .map(|(i, v)| (v - self.y_means[i % kt]) / self.y_stds[i % kt])
                .collect();
        }
        y.iter().map(|v| (v - self.y_mean) / self.y_std).collect()
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
