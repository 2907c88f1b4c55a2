//! Temperature scaling (Guo et al. 2017) for classifiers of any method: one T > 0 that
//! minimises the negative log-likelihood of held-out rows.
//!
//! The predictive is an equal-weight mixture over draws (or members). T is applied to each
//! draw's logits: a draw's log-probabilities are its logits up to a per-row constant, so
//! softmax(log p_s / T) = softmax(logits_s / T); the tempered predictive is the mean of the
//! tempered draws. A method with a closed-form mean (the Laplace probit approximation) has its
//! mean tempered the same way, softmax(log p̄ / T).

use crate::error::{Error, Result};
use crate::eval::classification_metrics;
use crate::predict::ClassPredictive;
use serde::{Deserialize, Serialize};

/// A fitted temperature with the held-out figures before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Temperature {
    /// The temperature T (> 1 softens overconfident probabilities).
    pub t: f64,
    /// Held-out mean NLL before scaling.
    pub nll_before: f64,
    /// Held-out mean NLL after scaling.
    pub nll_after: f64,
    /// Held-out ECE (15 bins) before scaling.
    pub ece_before: f64,
    /// Held-out ECE (15 bins) after scaling.
    pub ece_after: f64,
    /// Why T was left at 1, when the held-out NLL has no interior minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// softmax(log p / T) of one row of probabilities, in place.
fn temper_row(row: &mut [f64], t: f64) {
    let logs: Vec<f64> = row.iter().map(|p| p.max(1e-300).ln() / t).collect();
    let m = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = logs.iter().map(|l| (l - m).exp()).sum();
    for (r, l) in row.iter_mut().zip(&logs) {
        *r = (l - m).exp() / z;
    }
}

fn temper_rows(probs: &mut [f64], classes: usize, t: f64) {
    for row in probs.chunks_mut(classes.max(1)) {
        temper_row(row, t);
    }
}

/// The predictive with every draw's (and a closed-form mean's) logits divided by `t`.
pub fn apply(p: &ClassPredictive, t: f64) -> ClassPredictive {
    let mut out = p.clone();
    for m in &mut out.members {
        temper_rows(m, p.classes, t);
    }
    if let Some(mean) = &mut out.mean {
        temper_rows(mean, p.classes, t);
    }
    out
}

/// Mean NLL of labels `y` under the predictive tempered by `t`.
fn nll_at(p: &ClassPredictive, y: &[usize], t: f64) -> f64 {
    let probs = apply(p, t).probs();
    let k = p.classes;
    y.iter()
        .enumerate()
        .map(|(n, &c)| -probs[n * k + c].max(1e-300).ln())
        .sum::<f64>()
        / y.len() as f64
}

/// Bounds of the search over log T.
const LOG_T_RANGE: (f64, f64) = (-3.0, 3.0);

/// Fits T on held-out rows: a grid over log T in [−3, 3] then golden-section refinement. When
/// the minimum lies at a bound — the held-out NLL keeps falling as T → 0, which happens when
/// every held-out row is classified correctly (no finite T minimises it) — T stays 1 and the
/// result says why: sharpening on rows without errors would blow up the NLL of the first
/// misclassified row.
pub fn fit(p: &ClassPredictive, y: &[f64]) -> Result<Temperature> {
    if y.len() != p.rows || y.is_empty() {
        return Err(Error::Invalid(format!(
            "temperature scaling: {} labels for {} predicted rows (at least one row needed)",
            y.len(),
            p.rows
        )));
    }
    let labels: Vec<usize> = y
        .iter()
        .enumerate()
        .map(|(n, &v)| {
            if v >= 0.0 && v.fract() == 0.0 && (v as usize) < p.classes {
                Ok(v as usize)
            } else {
                Err(Error::Invalid(format!(
                    "calibration row {}: label {v} is not a class in 0..{}",
                    n + 1,
                    p.classes
                )))
            }
        })
        .collect::<Result<_>>()?;
    let f = |lt: f64| nll_at(p, &labels, lt.exp());
    let (lo, hi) = LOG_T_RANGE;
    let grid: Vec<f64> = (0..=24).map(|i| lo + 0.25 * f64::from(i)).collect();
    let best = grid
        .iter()
        .copied()
        .min_by(|a, b| f(*a).total_cmp(&f(*b)))
        .unwrap_or(0.0);
    let (mut a, mut b) = ((best - 0.25).max(lo), (best + 0.25).min(hi));
    let g = 0.5 * (5f64.sqrt() - 1.0);
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..40 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    let log_t = 0.5 * (a + b);
    let at_bound = log_t - lo < 0.05 || hi - log_t < 0.05;
    let note = at_bound.then(|| {
        format!(
            "the held-out NLL has no minimum for T in [{:.3}, {:.1}] (it keeps falling towards T = {:.3}: the held-out rows are all classified correctly); T left at 1",
            lo.exp(),
            hi.exp(),
            log_t.exp()
        )
    });
    let t = if at_bound { 1.0 } else { log_t.exp() };
    let before = classification_metrics(p, y)?;
    let after = classification_metrics(&apply(p, t), y)?;
    Ok(Temperature {
        t,
        nll_before: before.nll,
        nll_after: after.nll,
        ece_before: before.ece,
        ece_after: after.ece,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_held_out_rows_leave_t_at_one() {
        // Every held-out row correct: the NLL falls as T → 0; no finite minimum.
        let p = ClassPredictive {
            rows: 3,
            classes: 2,
            members: vec![vec![0.9, 0.1, 0.2, 0.8, 0.7, 0.3]],
            mean: None,
        };
        let t = fit(&p, &[0.0, 1.0, 0.0]).unwrap();
        assert_eq!(t.t, 1.0);
        assert!(t.note.is_some());
        // One error among four rows: an interior minimum near log T = −0.6 (by hand: the NLL
        // is 0.377, 0.357, 0.400 at log T = −1, −0.5, 0).
        let p = ClassPredictive {
            rows: 4,
            classes: 2,
            members: vec![vec![0.9, 0.1, 0.2, 0.8, 0.7, 0.3, 0.6, 0.4]],
            mean: None,
        };
        let t = fit(&p, &[0.0, 1.0, 0.0, 1.0]).unwrap();
        assert!(t.note.is_none(), "{:?}", t.note);
        assert!(t.t.ln() > -1.0 && t.t.ln() < -0.3, "T = {}", t.t);
        assert!(t.nll_after < t.nll_before);
    }

    #[test]
    fn temper_row_matches_logit_division() {
        let logits = [1.0f64, -0.5, 2.0];
        let z: f64 = logits.iter().map(|l| l.exp()).sum();
        let mut row: Vec<f64> = logits.iter().map(|l| l.exp() / z).collect();
        temper_row(&mut row, 2.0);
        let z2: f64 = logits.iter().map(|l| (l / 2.0).exp()).sum();
        for (r, l) in row.iter().zip(&logits) {
            assert!((r - (l / 2.0).exp() / z2).abs() < 1e-12);
        }
    }
}
