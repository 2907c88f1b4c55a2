//! The predictive distribution at new inputs, the same for every inference method: an
//! equal-weight mixture of per-draw predictions, split into epistemic and aleatoric parts.

pub mod class_prior;
mod classification;
mod regression;

pub use class_prior::ClassPrior;
pub use classification::{logit_gaussian_members, ClassPredictive};
pub use regression::{NoiseFamily, RegressionPredictive};

/// Predictive distribution at a set of rows.
#[derive(Debug, Clone)]
pub enum Predictive {
    /// Real-valued (or count) targets.
    Regression(RegressionPredictive),
    /// Class labels.
    Classification(ClassPredictive),
    /// Several real-valued targets: one regression predictive per target, in target order.
    MultiRegression(Vec<RegressionPredictive>),
}

impl Predictive {
    /// The regression predictive of each target (one for `Regression`, none for
    /// classification).
    pub fn per_target(&self) -> Vec<&RegressionPredictive> {
        match self {
            Self::Regression(r) => vec![r],
            Self::MultiRegression(v) => v.iter().collect(),
            Self::Classification(_) => Vec::new(),
        }
    }

    /// Maps a regression predictive on standardised targets back to original units, target k
    /// with mean `y_mean[k]` and standard deviation `y_std[k]` (classification unchanged).
    pub fn to_original_units(self, y_mean: &[f64], y_std: &[f64]) -> Self {
        match self {
            Self::Regression(r) => Self::Regression(r.to_original_units(y_mean[0], y_std[0])),
            Self::MultiRegression(v) => Self::MultiRegression(
                v.into_iter()
                    .enumerate()
                    .map(|(k, r)| r.to_original_units(y_mean[k], y_std[k]))
                    .collect(),
            ),
            c => c,
        }
    }
}

/// The error of a feature that takes one target, met with a multi-target model; `what` names
/// the feature (e.g. "the report").
pub fn one_target_only(what: &str) -> crate::error::Error {
    crate::error::Error::Invalid(format!(
        "{what} supports one target; this model predicts several (multi-target regression). Fit one model per target for it"
    ))
}

/// log(mean(exp(v))) computed stably.
pub fn log_mean_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + (v.iter().map(|x| (x - m).exp()).sum::<f64>() / v.len() as f64).ln()
}
