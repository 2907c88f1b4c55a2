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
}

/// log(mean(exp(v))) computed stably.
pub fn log_mean_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + (v.iter().map(|x| (x - m).exp()).sum::<f64>() / v.len() as f64).ln()
}
