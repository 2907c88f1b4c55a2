//! Split conformal prediction: scores on calibration rows, the finite-sample quantile, and the
//! intervals (regression) or sets (classification) it gives at new rows.
//!
//! Regression keeps, per calibration row, the target, the predictive mean and sd and the
//! predictive's central quantiles at [`CQR_LEVELS`], so every score can be recomputed at use:
//! - `normalized` (default): |y − μ(x)| / σ(x), interval μ ± q̂·σ. The width follows the model's
//!   own predictive sd, so heteroscedastic and epistemic uncertainty shape the interval, while
//!   the guarantee holds whatever σ is; it needs no level fixed at fit time.
//! - `absolute`: |y − μ(x)|, interval μ ± q̂ (the same width everywhere).
//! - `cqr` (Romano, Patterson & Candès 2019): max(q_lo(x) − y, y − q_hi(x)) with the
//!   predictive's central (1 − α) quantiles, interval [q_lo − q̂, q_hi + q̂]; available at the
//!   levels of [`CQR_LEVELS`] only, because the base quantiles depend on the level.
//!
//! Classification uses adaptive prediction sets (APS; Romano, Sesia & Candès 2020),
//! **not randomised**: the randomised APS score is the mass ranked above the true class plus
//! U·(its own mass), U ~ U(0, 1); we take U = 0, so a row's score is the predictive mass of the
//! classes ranked strictly above its true class, and the set at a new row holds every class whose
//! mass-ranked-above is ≤ q̂ (the most probable class always). It is a valid conformal score, so
//! coverage ≥ 1 − α, and sets are deterministic (the same rows give the same sets). Including the
//! true class's own mass (the U = 1 end) was tried and over-covers badly (≈ 100% with sets of
//! nearly every class on a noisy 3-class problem) because q̂ then lands near 1.

use crate::error::{Error, Result};
use crate::predict::{ClassPredictive, RegressionPredictive};
use serde::{Deserialize, Serialize};

/// Levels at which the predictive's central quantiles are stored for CQR.
pub const CQR_LEVELS: [f64; 5] = [0.5, 0.8, 0.9, 0.95, 0.99];

/// The conformity score of a regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegressionScore {
    /// |y − μ| / σ with the predictive sd σ (the default).
    Normalized,
    /// |y − μ|.
    Absolute,
    /// Conformalised quantile regression on the predictive's central quantiles.
    Cqr,
}

impl RegressionScore {
    /// Parses `normalized`, `absolute` or `cqr`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "normalized" | "normalised" => Ok(Self::Normalized),
            "absolute" => Ok(Self::Absolute),
            "cqr" => Ok(Self::Cqr),
            other => Err(Error::Invalid(format!(
                "unknown conformal score '{other}'; expected normalized, absolute or cqr"
            ))),
        }
    }

    /// The name `parse` reads.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Normalized => "normalized",
            Self::Absolute => "absolute",
            Self::Cqr => "cqr",
        }
    }
}

/// What a regression calibration row keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionRow {
    /// Target.
    pub y: f64,
    /// Predictive mean.
    pub mean: f64,
    /// Predictive standard deviation.
    pub sd: f64,
    /// Central interval (lower, upper) at each of [`CQR_LEVELS`].
    pub quantiles: Vec<(f64, f64)>,
}

/// A stored conformal calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "lowercase")]
pub enum Conformal {
    /// Regression rows and the score used at prediction time.
    Regression {
        /// The score used by `predict` and `evaluate`.
        score: RegressionScore,
        /// One entry per calibration row.
        rows: Vec<RegressionRow>,
    },
    /// Classification: the APS score (U = 0, not randomised) of each calibration row.
    Classification {
        /// APS scores, one per calibration row.
        scores: Vec<f64>,
    },
}

/// Index (1-based) of the finite-sample conformal quantile, ⌈(n+1)(1−α)⌉; `None` when it
/// exceeds `n` (too few calibration rows for the level: the interval is unbounded).
pub fn quantile_index(n: usize, alpha: f64) -> Option<usize> {
    // A hair below the product so that e.g. 100·0.9 = 90.00000000000001 rounds to 90.
    let k = ((n as f64 + 1.0) * (1.0 - alpha) - 1e-9).ceil().max(1.0) as usize;
    (k <= n).then_some(k)
}

/// The ⌈(n+1)(1−α)⌉-th smallest of `scores` (+∞ when that index exceeds n).
pub fn conformal_quantile(scores: &[f64], alpha: f64) -> f64 {
    let mut s: Vec<f64> = scores.to_vec();
    s.sort_by(f64::total_cmp);
    match quantile_index(s.len(), alpha) {
        Some(k) => s[k - 1],
        None => f64::INFINITY,
    }
}

/// Checks that `level` is a probability strictly between 0 and 1.
pub fn check_level(level: f64) -> Result<()> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "an interval level must lie strictly between 0 and 1 (e.g. 0.9), found {level}"
        )))
    }
}

fn cqr_slot(level: f64) -> Result<usize> {
    CQR_LEVELS
        .iter()
        .position(|l| (l - level).abs() < 1e-9)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "CQR was calibrated at the levels {CQR_LEVELS:?}; {level} is not one of them (use one, or the normalized score)"
            ))
        })
}

/// Calibration rows of a regression predictive against targets `y`.
pub fn regression_rows(p: &RegressionPredictive, y: &[f64]) -> Result<Vec<RegressionRow>> {
    if y.len() != p.rows {
        return Err(Error::Invalid(format!(
            "conformal calibration: {} targets for {} predicted rows",
            y.len(),
            p.rows
        )));
    }
    let (mean, sd) = (p.mean(), p.std());
    let bands: Vec<Vec<(f64, f64)>> = CQR_LEVELS.iter().map(|&l| p.interval(l)).collect();
    Ok((0..p.rows)
        .map(|n| RegressionRow {
            y: y[n],
            mean: mean[n],
            sd: sd[n],
            quantiles: bands.iter().map(|b| b[n]).collect(),
        })
        .collect())
}

/// The scores of calibration rows under `score` at `level` (only CQR depends on the level).
pub fn regression_scores(
    rows: &[RegressionRow],
    score: RegressionScore,
    level: f64,
) -> Result<Vec<f64>> {
    check_level(level)?;
    let slot = match score {
        RegressionScore::Cqr => Some(cqr_slot(level)?),
        _ => None,
    };
    rows.iter()
        .map(|r| match (score, slot) {
            (RegressionScore::Normalized, _) => {
                if r.sd > 0.0 && r.sd.is_finite() {
                    Ok((r.y - r.mean).abs() / r.sd)
                } else {
                    Err(Error::Invalid(format!(
                        "the normalized conformal score needs a positive predictive sd; a calibration row has sd {}",
                        r.sd
                    )))
                }
            }
            (RegressionScore::Absolute, _) => Ok((r.y - r.mean).abs()),
            (RegressionScore::Cqr, Some(k)) => {
                let (lo, hi) = r.quantiles.get(k).copied().ok_or_else(|| {
                    Error::Invalid("a CQR calibration row lacks its quantiles".into())
                })?;
                Ok((lo - r.y).max(r.y - hi))
            }
            (RegressionScore::Cqr, None) => Err(Error::Invalid("internal: no CQR level".into())),
        })
        .collect()
}

/// Conformal intervals at `level` for the rows of a regression predictive.
pub fn regression_intervals(
    rows: &[RegressionRow],
    score: RegressionScore,
    p: &RegressionPredictive,
    level: f64,
) -> Result<Vec<(f64, f64)>> {
    let q = conformal_quantile(&regression_scores(rows, score, level)?, 1.0 - level);
    Ok(match score {
        RegressionScore::Normalized => {
            let (m, s) = (p.mean(), p.std());
            m.iter()
                .zip(&s)
                .map(|(m, s)| (m - q * s, m + q * s))
                .collect()
        }
        RegressionScore::Absolute => p.mean().iter().map(|m| (m - q, m + q)).collect(),
        RegressionScore::Cqr => p
            .interval(level)
            .into_iter()
            .map(|(lo, hi)| (lo - q, hi + q))
            .collect(),
    })
}

/// The classes of one row in decreasing probability (ties by class index).
fn ranked(row: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..row.len()).collect();
    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    idx
}

/// APS score (U = 0) per row: the mass of the classes ranked strictly above the true one.
pub fn aps_scores(p: &ClassPredictive, y: &[f64]) -> Result<Vec<f64>> {
    if y.len() != p.rows {
        return Err(Error::Invalid(format!(
            "conformal calibration: {} labels for {} predicted rows",
            y.len(),
            p.rows
        )));
    }
    let probs = p.probs();
    let k = p.classes;
    y.iter()
        .enumerate()
        .map(|(n, &label)| {
            let c = label as usize;
            if label < 0.0 || label.fract() != 0.0 || c >= k {
                return Err(Error::Invalid(format!(
                    "calibration row {}: label {label} is not a class in 0..{k}",
                    n + 1
                )));
            }
            let row = &probs[n * k..(n + 1) * k];
            let mut mass = 0.0;
            for j in ranked(row) {
                if j == c {
                    break;
                }
                mass += row[j];
            }
            Ok(mass)
        })
        .collect()
}

/// Sets of classes per row, in decreasing probability, that hold mass `threshold` (the class
/// whose mass crosses it is included; at least one class per row).
pub fn sets_at(p: &ClassPredictive, threshold: f64) -> Vec<Vec<usize>> {
    let probs = p.probs();
    let k = p.classes;
    (0..p.rows)
        .map(|n| {
            let row = &probs[n * k..(n + 1) * k];
            let mut set = Vec::new();
            let mut mass = 0.0;
            for j in ranked(row) {
                if mass >= threshold && !set.is_empty() {
                    break;
                }
                set.push(j);
                mass += row[j];
            }
            set
        })
        .collect()
}

/// APS sets at `level` from the stored calibration scores: per row, the classes whose mass
/// ranked strictly above them is at most q̂.
pub fn aps_sets(scores: &[f64], p: &ClassPredictive, level: f64) -> Result<Vec<Vec<usize>>> {
    check_level(level)?;
    let q = conformal_quantile(scores, 1.0 - level);
    let probs = p.probs();
    let k = p.classes;
    Ok((0..p.rows)
        .map(|n| {
            let row = &probs[n * k..(n + 1) * k];
            let mut set = Vec::new();
            let mut above = 0.0;
            for j in ranked(row) {
                if above > q {
                    break;
                }
                set.push(j);
                above += row[j];
            }
            set
        })
        .collect())
}

/// Bayesian central intervals at `level` (the predictive mixture's quantiles).
pub fn bayes_intervals(p: &RegressionPredictive, level: f64) -> Result<Vec<(f64, f64)>> {
    check_level(level)?;
    Ok(p.interval(level))
}

/// Bayesian sets at `level`: the most probable classes until their predictive mass reaches it.
pub fn bayes_sets(p: &ClassPredictive, level: f64) -> Result<Vec<Vec<usize>>> {
    check_level(level)?;
    Ok(sets_at(p, level))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_index_by_hand() {
        // n = 9, α = 0.1: ⌈10·0.9⌉ = 9.
        assert_eq!(quantile_index(9, 0.1), Some(9));
        // n = 99, α = 0.1: ⌈100·0.9⌉ = 90 (not 91 through round-off).
        assert_eq!(quantile_index(99, 0.1), Some(90));
        // n = 100, α = 0.1: ⌈101·0.9⌉ = ⌈90.9⌉ = 91.
        assert_eq!(quantile_index(100, 0.1), Some(91));
        // n = 5, α = 0.1: ⌈6·0.9⌉ = 6 > 5: unbounded.
        assert_eq!(quantile_index(5, 0.1), None);
        // n = 19, α = 0.05: ⌈20·0.95⌉ = 19.
        assert_eq!(quantile_index(19, 0.05), Some(19));
        let scores: Vec<f64> = (1..=10).rev().map(f64::from).collect();
        // n = 10, α = 0.2: ⌈11·0.8⌉ = 9 → the 9th smallest of 1..10.
        assert_eq!(conformal_quantile(&scores, 0.2), 9.0);
        assert_eq!(conformal_quantile(&scores[..3], 0.2), f64::INFINITY);
    }

    #[test]
    fn aps_scores_and_sets_by_hand() {
        let p = ClassPredictive {
            rows: 2,
            classes: 3,
            members: vec![vec![0.6, 0.3, 0.1, 0.2, 0.2, 0.6]],
            mean: None,
        };
        let s = aps_scores(&p, &[1.0, 2.0]).unwrap();
        assert!((s[0] - 0.6).abs() < 1e-12 && s[1] == 0.0);
        // Scores 0.6 and 0 with α = 0.5: ⌈3·0.5⌉ = 2 → q̂ = 0.6; row 0 takes classes 0 and 1
        // (mass above 0 and 0.6), not 2 (0.9 above).
        let aps = aps_sets(&s, &p, 0.5).unwrap();
        assert_eq!(aps[0], vec![0, 1]);
        assert_eq!(aps[1], vec![2, 0]);
        let sets = sets_at(&p, 0.85);
        assert_eq!(sets[0], vec![0, 1]);
        assert_eq!(sets[1], vec![2, 0, 1]);
        assert_eq!(sets_at(&p, 0.5)[1], vec![2]);
        assert!(aps_scores(&p, &[3.0, 0.0]).is_err());
    }
}
