//! Out-of-distribution detection: how well an uncertainty score separates in-distribution rows
//! from out-of-distribution rows (AUROC, and AUPR with out-of-distribution as the positive class).

use crate::error::{Error, Result};
use crate::predict::Predictive;
use serde::{Deserialize, Serialize};

/// Area under the ROC curve of `score` for positives vs negatives (ties count one half).
pub fn auroc(pos: &[f64], neg: &[f64]) -> f64 {
    let mut all: Vec<(f64, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Mann–Whitney U with average ranks over ties.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg = 0.5 * ((i + 1) + j) as f64;
        rank_sum += avg * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (p, n) = (pos.len() as f64, neg.len() as f64);
    (rank_sum - p * (p + 1.0) / 2.0) / (p * n)
}

/// Average precision (area under the precision–recall curve, step-wise over distinct score
/// thresholds) with `pos` as the positive class.
pub fn average_precision(pos: &[f64], neg: &[f64]) -> f64 {
    let mut all: Vec<(f64, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let p = pos.len() as f64;
    let (mut tp, mut seen, mut ap, mut last_recall) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            tp += f64::from(u8::from(all[j].1));
            seen += 1.0;
            j += 1;
        }
        let recall = tp / p;
        ap += (recall - last_recall) * tp / seen;
        last_recall = recall;
        i = j;
    }
    ap
}

/// Separation of in- and out-of-distribution rows by one uncertainty score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OodScore {
    /// The score: `entropy`, `mutual_information` (classification), `epistemic_std`, `total_std`.
    pub score: String,
    /// AUROC (0.5: no separation; 1: perfect).
    pub auroc: f64,
    /// Average precision with the out-of-distribution rows as positives.
    pub aupr: f64,
}

/// Out-of-distribution metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OodMetrics {
    /// In-distribution rows.
    pub in_rows: usize,
    /// Out-of-distribution rows.
    pub ood_rows: usize,
    /// One entry per score.
    pub scores: Vec<OodScore>,
}

/// Scores how well the predictive's uncertainty separates `inside` rows from `outside` rows.
pub fn ood_metrics(inside: &Predictive, outside: &Predictive) -> Result<OodMetrics> {
    let pairs: Vec<(&str, Vec<f64>, Vec<f64>)> = match (inside, outside) {
        (Predictive::Classification(a), Predictive::Classification(b)) => vec![
            ("entropy", a.entropy(), b.entropy()),
            (
                "mutual_information",
                a.mutual_information(),
                b.mutual_information(),
            ),
        ],
        (Predictive::Regression(a), Predictive::Regression(b)) => {
            let sq = |v: Vec<f64>| v.into_iter().map(f64::sqrt).collect::<Vec<_>>();
            vec![
                (
                    "epistemic_std",
                    sq(a.epistemic_var()),
                    sq(b.epistemic_var()),
                ),
                ("total_std", a.std(), b.std()),
            ]
        }
        (Predictive::MultiRegression(_), _) | (_, Predictive::MultiRegression(_)) => {
            return Err(crate::predict::one_target_only(
                "out-of-distribution scoring",
            ))
        }
        _ => {
            return Err(Error::Invalid(
                "in- and out-of-distribution predictives are of different kinds".into(),
            ))
        }
    };
    let (ni, no) = (pairs[0].1.len(), pairs[0].2.len());
    if ni == 0 || no == 0 {
        return Err(Error::Invalid(
            "OOD metrics need at least one in- and one out-of-distribution row".into(),
        ));
    }
    Ok(OodMetrics {
        in_rows: ni,
        ood_rows: no,
        scores: pairs
            .into_iter()
            .map(|(name, a, b)| OodScore {
                score: name.into(),
                auroc: auroc(&b, &a),
                aupr: average_precision(&b, &a),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_and_ap_on_known_cases() {
        assert_eq!(auroc(&[3.0, 4.0], &[1.0, 2.0]), 1.0);
        assert_eq!(auroc(&[1.0, 2.0], &[3.0, 4.0]), 0.0);
        assert_eq!(auroc(&[1.0, 1.0], &[1.0, 1.0]), 0.5);
        // One inversion of four pairs.
        assert_eq!(auroc(&[2.0, 4.0], &[1.0, 3.0]), 0.75);
        assert_eq!(average_precision(&[3.0, 4.0], &[1.0, 2.0]), 1.0);
        // All tied: precision is the base rate.
        assert!((average_precision(&[1.0], &[1.0, 1.0, 1.0]) - 0.25).abs() < 1e-12);
        // Ranking pos, neg, pos: AP = (1/1 + 2/3)/2.
        let ap = average_precision(&[3.0, 1.0], &[2.0]);
        assert!((ap - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
    }
}
