//! Metrics of a predictive distribution against observed targets.

pub mod data_size;
pub mod diagnostics;

use crate::error::{Error, Result};
use crate::predict::{ClassPredictive, Predictive, RegressionPredictive};
use serde::{Deserialize, Serialize};

mod calibration;
mod ood;

pub use calibration::{
    accuracy_rejection, crps_gaussian_mixture, pit, reliability, ReliabilityBin, COVERAGE_LEVELS,
};
pub use ood::{auroc, average_precision, ood_metrics, OodMetrics, OodScore};

/// Regression metrics in the target's original units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// Root mean squared error of the predictive mean.
    pub rmse: f64,
    /// Mean absolute error of the predictive mean.
    pub mae: f64,
    /// Mean log predictive density per point.
    pub log_lik: f64,
    /// Mean negative log predictive density per point (−log_lik).
    pub nll: f64,
    /// Mean continuous ranked probability score (closed form for the Gaussian mixture; Student-t
    /// and Poisson components are replaced by Gaussians of the same variance).
    pub crps: f64,
    /// Share of targets inside the central predictive interval, per nominal level.
    pub coverage: Vec<Coverage>,
    /// Regression calibration error: mean |p − share of PIT values ≤ p| over p = 0.05, 0.10, …, 0.95
    /// (Kuleshov et al. 2018 use the squared version; this one reads in probability units).
    pub calibration_error: f64,
    /// Rows evaluated.
    pub rows: usize,
}

/// Observed coverage of a central interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Nominal level (e.g. 0.9).
    pub level: f64,
    /// Share of targets inside the interval.
    pub observed: f64,
}

/// Classification metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Share of rows whose most probable class is the label.
    pub accuracy: f64,
    /// Mean negative log probability of the label.
    pub nll: f64,
    /// Mean Brier score (sum over classes of squared probability error).
    pub brier: f64,
    /// Expected calibration error of the top-class confidence (15 equal-width bins).
    pub ece: f64,
    /// Maximum calibration error over the non-empty bins.
    pub mce: f64,
    /// The reliability table behind ECE and MCE.
    pub reliability: Vec<ReliabilityBin>,
    /// Accuracy on the rows kept when the most uncertain (highest predictive entropy) share is
    /// rejected: (share rejected, accuracy), for 0, 0.1, …, 0.9.
    pub accuracy_rejection: Vec<(f64, f64)>,
    /// Rows evaluated.
    pub rows: usize,
}

/// Metrics of either kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Metrics {
    /// Regression.
    Regression(RegressionMetrics),
    /// Classification.
    Classification(ClassificationMetrics),
    /// Several regression targets: each target's metrics, in target order.
    MultiRegression(Vec<TargetMetrics>),
}

/// One target's regression metrics in a multi-target evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetMetrics {
    /// Target column name.
    pub target: String,
    /// Its metrics, in its original units.
    #[serde(flatten)]
    pub metrics: RegressionMetrics,
}

/// Regression metrics of a predictive against targets `y` (same units).
pub fn regression_metrics(p: &RegressionPredictive, y: &[f64]) -> RegressionMetrics {
    let mean = p.mean();
    let n = y.len() as f64;
    let rmse = (mean
        .iter()
        .zip(y)
        .map(|(m, t)| (m - t).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    let mae = mean.iter().zip(y).map(|(m, t)| (m - t).abs()).sum::<f64>() / n;
    let log_lik = p.log_density(y).iter().sum::<f64>() / n;
    let crps = crps_gaussian_mixture(p, y).iter().sum::<f64>() / n;
    let u = pit(p, y);
    let coverage = COVERAGE_LEVELS
        .iter()
        .map(|&level| Coverage {
            level,
            observed: u
                .iter()
                .filter(|&&v| (v - 0.5).abs() <= 0.5 * level)
                .count() as f64
                / n,
        })
        .collect();
    let calibration_error = (1..=19)
        .map(|j| {
            let q = 0.05 * j as f64;
            (q - u.iter().filter(|&&v| v <= q).count() as f64 / n).abs()
        })
        .sum::<f64>()
        / 19.0;
    RegressionMetrics {
        rmse,
        mae,
        log_lik,
        nll: -log_lik,
        crps,
        coverage,
        calibration_error,
        rows: y.len(),
    }
}

/// Classification metrics of a predictive against integer labels `y`.
pub fn classification_metrics(p: &ClassPredictive, y: &[f64]) -> Result<ClassificationMetrics> {
    let probs = p.probs();
    let k = p.classes;
    let pred = p.predicted();
    let n = y.len() as f64;
    let (mut acc, mut nll, mut brier) = (0.0, 0.0, 0.0);
    for (i, &label) in y.iter().enumerate() {
        let c = label as usize;
        if label < 0.0 || label.fract() != 0.0 || c >= k {
            return Err(Error::Invalid(format!(
                "row {}: label {label} is not a class in 0..{k}",
                i + 1
            )));
        }
        let row = &probs[i * k..(i + 1) * k];
        acc += f64::from(u8::from(pred[i] == c));
        nll -= row[c].max(1e-300).ln();
        brier += row
            .iter()
            .enumerate()
            .map(|(j, q)| (q - f64::from(u8::from(j == c))).powi(2))
            .sum::<f64>();
    }
    let labels: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    let reliability = reliability(&probs, k, &labels, 15);
    let ece = reliability
        .iter()
        .map(|b| b.count as f64 / n * (b.accuracy - b.confidence).abs())
        .sum();
    let mce = reliability
        .iter()
        .filter(|b| b.count > 0)
        .map(|b| (b.accuracy - b.confidence).abs())
        .fold(0.0, f64::max);
    Ok(ClassificationMetrics {
        accuracy: acc / n,
        nll: nll / n,
        brier: brier / n,
        ece,
        mce,
        reliability,
        accuracy_rejection: accuracy_rejection(&pred, &labels, &p.entropy()),
        rows: y.len(),
    })
}

/// Metrics for any predictive; targets of a multi-target predictive are named `target1`, ….
pub fn metrics(p: &Predictive, y: &[f64]) -> Result<Metrics> {
    let names: Vec<String> = match p {
        Predictive::MultiRegression(v) => (1..=v.len()).map(|k| format!("target{k}")).collect(),
        _ => Vec::new(),
    };
    metrics_named(p, y, &names)
}

/// Metrics for any predictive; `y` is row-major `rows × targets` and `target_names` names the
/// targets of a multi-target predictive (e.g. `Dataset::target_names`).
pub fn metrics_named(p: &Predictive, y: &[f64], target_names: &[String]) -> Result<Metrics> {
    Ok(match p {
        Predictive::Regression(r) => Metrics::Regression(regression_metrics(r, y)),
        Predictive::Classification(c) => Metrics::Classification(classification_metrics(c, y)?),
        Predictive::MultiRegression(v) => {
            let kt = v.len();
            let rows = v.first().map_or(0, |r| r.rows);
            if y.len() != rows * kt || target_names.len() != kt {
                return Err(Error::Invalid(format!(
                    "{} target values and {} names for a predictive of {rows} rows × {kt} targets",
                    y.len(),
                    target_names.len()
                )));
            }
            Metrics::MultiRegression(
                v.iter()
                    .zip(target_names)
                    .enumerate()
                    .map(|(k, (r, name))| {
                        let yk: Vec<f64> = (0..rows).map(|n| y[n * kt + k]).collect();
                        TargetMetrics {
                            target: name.clone(),
                            metrics: regression_metrics(r, &yk),
                        }
                    })
                    .collect(),
            )
        }
    })
}

/// Mean and standard error (sample sd / √n) of a list of values.
pub fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (m, f64::NAN);
    }
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}
