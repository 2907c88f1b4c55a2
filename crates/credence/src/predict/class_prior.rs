//! Deployment class prevalence (base rates) as a factual prior on the label. A classifier
//! trained where the classes had one prevalence and used where they have another is
//! re-weighted by Bayes' rule, p'(y|x) ∝ p(y|x)·π_new(y)/π_train(y) (the class-conditional
//! densities p(x|y) are assumed unchanged). The new prevalence is read from a file with
//! provenance, or estimated from the unlabelled rows being predicted by the EM of Saerens,
//! Latinne & Decaestecker (2002). Sits between the predictive and the decisions.

use super::{ClassPredictive, Predictive};
use crate::error::{Error, Result};
use crate::prior::Provenance;
use serde::Serialize;
use std::path::Path;

/// Tolerance on the sum of a class prior's probabilities.
pub const SUM_TOLERANCE: f64 = 1e-6;

/// A class prevalence with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassPrior {
    /// Class names, in class order.
    pub classes: Vec<String>,
    /// Probability of each class.
    pub probs: Vec<f64>,
    /// Standard error of each probability (estimated priors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std_errors: Option<Vec<f64>>,
    /// Where the prevalence comes from.
    pub provenance: Provenance,
}

impl ClassPrior {
    /// Parses a class prior file: `class = probability` keys and a `provenance` table.
    pub fn parse(file: &str, text: &str, classes: &[String]) -> Result<ClassPrior> {
        let err = |message: String| Error::Config {
            file: file.to_string(),
            message,
        };
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| err(e.to_string().trim_end().to_string()))?;
        let mut probs = vec![f64::NAN; classes.len()];
        let mut provenance = None;
        for (key, value) in &table {
            if key == "provenance" {
                let p: Provenance = value.clone().try_into().map_err(|e: toml::de::Error| {
                    err(format!(
                        "provenance: {} (expected {{ kind = \"factual\" | \"value\", source = \"...\", note = \"...\" }})",
                        e.to_string().trim_end()
                    ))
                })?;
                provenance = Some(p);
                continue;
            }
            let Some(k) = classes.iter().position(|c| c == key) else {
                return Err(err(format!(
                    "'{key}' is not a class of the model; its classes are {}",
                    classes.join(", ")
                )));
            };
            let v = match value {
                toml::Value::Float(v) => *v,
                toml::Value::Integer(v) => *v as f64,
                other => {
                    return Err(err(format!(
                        "'{key}': expected a probability, found {}",
                        other.type_str()
                    )))
                }
            };
            if !(v.is_finite() && v > 0.0 && v <= 1.0) {
                return Err(err(format!(
                    "'{key}' = {v}: a class probability must be in (0, 1] (a class the deployment never sees would get probability 0 for every row)"
                )));
            }
            probs[k] = v;
        }
        if let Some(k) = probs.iter().position(|p| p.is_nan()) {
            return Err(err(format!(
                "class '{}' has no probability; name every class ({})",
                classes[k],
                classes.join(", ")
            )));
        }
        let sum: f64 = probs.iter().sum();
        if (sum - 1.0).abs() > SUM_TOLERANCE {
            return Err(err(format!(
                "the class probabilities sum to {sum}, not 1 (within {SUM_TOLERANCE})"
            )));
        }
        let provenance = provenance.ok_or_else(|| {
            err("no provenance: add provenance = { kind = \"factual\", source = \"...\", note = \"...\" }".into())
        })?;
        Ok(ClassPrior {
            classes: classes.to_vec(),
            probs,
            std_errors: None,
            provenance,
        })
    }

    /// Reads a class prior file (see [`ClassPrior::parse`]).
    pub fn from_file(path: &Path, classes: &[String]) -> Result<ClassPrior> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&path.display().to_string(), &text, classes)
    }

    /// One line: `0 = 0.9500, 1 = 0.0500 — factual: <source> (<note>)`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .classes
            .iter()
            .zip(&self.probs)
            .enumerate()
            .map(|(k, (c, p))| match &self.std_errors {
                Some(se) => format!("{c} = {p:.4} ± {:.4}", se[k]),
                None => format!("{c} = {p:.4}"),
            })
            .collect();
        format!("{} — {}", parts.join(", "), self.provenance.describe())
    }
}

/// Which deployment class prevalence a prediction uses.
#[derive(Debug, Clone)]
pub enum ClassPriorChoice {
    /// A given prevalence (read from a file, with provenance).
    Given(ClassPrior),
    /// Estimated from the rows being predicted (EM); the string names those rows.
    Estimate(String),
}

/// One line on the class prior behind a classifier's probabilities: `used`, else the training
/// prevalence `train` (when recorded) of the classes `classes`.
pub fn describe_used(
    used: Option<&ClassPrior>,
    classes: &[String],
    train: Option<&[f64]>,
) -> String {
    match (used, train) {
        (Some(p), _) => p.describe(),
        (None, Some(t)) => format!(
            "the training prevalence, {} (none given: the model's probabilities as trained)",
            classes
                .iter()
                .zip(t)
                .map(|(c, p)| format!("{c} = {p:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (None, None) => "the training prevalence (not recorded in this model; none given)".into(),
    }
}

/// Re-weights a classification predictive from the training prevalence `train` to `prior`:
/// every member and the closed-form mean, row by row, p' ∝ p·π_new/π_train.
pub fn adjust(pred: &Predictive, train: &[f64], prior: &ClassPrior) -> Result<Predictive> {
    let Predictive::Classification(c) = pred else {
        return Err(Error::Invalid(
            "a class prior applies to classifiers; this model is a regression".into(),
        ));
    };
    let k = c.classes;
    if train.len() != k || prior.probs.len() != k {
        return Err(Error::Invalid(format!(
            "the model has {k} classes, the training prevalence {} and the class prior {}",
            train.len(),
            prior.probs.len()
        )));
    }
    if let Some(i) = train.iter().position(|&t| t.is_nan() || t <= 0.0) {
        return Err(Error::Invalid(format!(
            "class '{}' never occurs in the training data (prevalence 0); Bayes' rule cannot re-weight it",
            prior.classes[i]
        )));
    }
    let w: Vec<f64> = prior.probs.iter().zip(train).map(|(p, t)| p / t).collect();
    let reweight = |probs: &[f64]| -> Vec<f64> {
        let mut out = probs.to_vec();
        for row in out.chunks_mut(k) {
            row.iter_mut().zip(&w).for_each(|(p, wk)| *p *= wk);
            let s: f64 = row.iter().sum();
            if s > 0.0 {
                row.iter_mut().for_each(|p| *p /= s);
            }
        }
        out
    };
    Ok(Predictive::Classification(ClassPredictive {
        rows: c.rows,
        classes: k,
        members: c.members.iter().map(|m| reweight(m)).collect(),
        mean: c.mean.as_deref().map(reweight),
    }))
}

/// Most iterations of the EM.
const EM_MAX_ITERATIONS: usize = 10_000;
/// The EM stops when no probability changes by more than this in one iteration.
const EM_TOLERANCE: f64 = 1e-10;

/// Maximum-likelihood deployment prevalence from unlabelled rows: the EM of Saerens, Latinne &
/// Decaestecker (2002) on the mixture Σ_k π_k p(x|k) with p(x|k) ∝ p(k|x)/π_train(k) from the
/// predictive's mean probabilities. Standard errors come from the observed information of that
/// mixture likelihood at the estimate (the model's probabilities taken as exact, so they
/// understate the uncertainty of a poorly calibrated model). `source` names the rows.
pub fn estimate(
    pred: &Predictive,
    train: &[f64],
    classes: &[String],
    source: &str,
) -> Result<ClassPrior> {
    let Predictive::Classification(c) = pred else {
        return Err(Error::Invalid(
            "a class prior applies to classifiers; this model is a regression".into(),
        ));
    };
    let (k, rows) = (c.classes, c.rows);
    if train.len() != k || classes.len() != k {
        return Err(Error::Invalid(format!(
            "the model has {k} classes, the training prevalence {} and the class names {}",
            train.len(),
            classes.len()
        )));
    }
    if rows == 0 {
        return Err(Error::Invalid(
            "estimating the class prior needs at least one row".into(),
        ));
    }
    if let Some(i) = train.iter().position(|&t| t.is_nan() || t <= 0.0) {
        return Err(Error::Invalid(format!(
            "class '{}' never occurs in the training data (prevalence 0)",
            classes[i]
        )));
    }
    // a_nk ∝ p(x_n | k): the posterior divided by the training prior, scaled per row.
    let p = c.probs();
    let mut a = vec![0.0; rows * k];
    for n in 0..rows {
        let row = &mut a[n * k..(n + 1) * k];
        for j in 0..k {
            row[j] = p[n * k + j] / train[j];
        }
        let m = row.iter().copied().fold(0.0, f64::max);
        if !(m > 0.0 && m.is_finite()) {
            return Err(Error::Numeric(format!(
                "row {}: the predicted class probabilities are not a distribution",
                n + 1
            )));
        }
        row.iter_mut().for_each(|v| *v /= m);
    }
    let mut pi = train.to_vec();
    let mut iterations = 0;
    let mut next = vec![0.0; k];
    loop {
        next.iter_mut().for_each(|v| *v = 0.0);
        for n in 0..rows {
            let row = &a[n * k..(n + 1) * k];
            let s: f64 = row.iter().zip(&pi).map(|(x, q)| x * q).sum();
            for j in 0..k {
                next[j] += pi[j] * row[j] / s / rows as f64;
            }
        }
        let change = next
            .iter()
            .zip(&pi)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        pi.copy_from_slice(&next);
        iterations += 1;
        if change < EM_TOLERANCE || iterations >= EM_MAX_ITERATIONS {
            break;
        }
    }
    let std_errors = observed_information_se(&a, &pi, rows, k);
    let se_note = match &std_errors {
        Some(_) => "standard errors from the observed information of the mixture likelihood (the model's probabilities taken as exact)",
        None => "no standard errors: the observed information is singular (a class estimated at or near 0)",
    };
    Ok(ClassPrior {
        classes: classes.to_vec(),
        probs: pi,
        std_errors,
        provenance: Provenance::factual(
            format!("estimated from the {rows} unlabelled rows of {source}"),
            format!(
                "maximum likelihood by EM (Saerens, Latinne & Decaestecker 2002), {iterations} iterations{}; {se_note}",
                if iterations >= EM_MAX_ITERATIONS { ", not converged" } else { "" }
            ),
        ),
    })
}

/// Standard errors of the mixture weights from the observed information in the free
/// parameters π_1..π_{K−1} (π_K = 1 − Σ): I = Σ_n d_n d_nᵀ / s_n², d_nj = a_nj − a_nK.
fn observed_information_se(a: &[f64], pi: &[f64], rows: usize, k: usize) -> Option<Vec<f64>> {
    let m = k - 1;
    let mut info = vec![0.0; m * m];
    for n in 0..rows {
        let row = &a[n * k..(n + 1) * k];
        let s: f64 = row.iter().zip(pi).map(|(x, q)| x * q).sum();
        let d: Vec<f64> = (0..m).map(|j| (row[j] - row[m]) / s).collect();
        for i in 0..m {
            for j in 0..m {
                info[i * m + j] += d[i] * d[j];
            }
        }
    }
    let cov = invert_spd(&info, m)?;
    let mut se: Vec<f64> = (0..m).map(|j| cov[j * m + j].sqrt()).collect();
    se.push(cov.iter().sum::<f64>().sqrt());
    se.iter().all(|v| v.is_finite()).then_some(se)
}

/// Inverse of a small symmetric positive definite matrix by Cholesky, or `None`.
fn invert_spd(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let d = a[j * n + j] - (0..j).map(|q| l[j * n + q] * l[j * n + q]).sum::<f64>();
        if d.is_nan() || d <= 1e-12 * a[j * n + j].abs().max(f64::MIN_POSITIVE) {
            return None;
        }
        l[j * n + j] = d.sqrt();
        for i in j + 1..n {
            let s = a[i * n + j] - (0..j).map(|q| l[i * n + q] * l[j * n + q]).sum::<f64>();
            l[i * n + j] = s / l[j * n + j];
        }
    }
    // Columns of L⁻¹, then A⁻¹ = L⁻ᵀ L⁻¹.
    let mut li = vec![0.0; n * n];
    for c in 0..n {
        for i in c..n {
            let rhs = if i == c { 1.0 } else { 0.0 };
            let s = rhs - (c..i).map(|q| l[i * n + q] * li[q * n + c]).sum::<f64>();
            li[i * n + c] = s / l[i * n + i];
        }
    }
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            inv[i * n + j] = (i.max(j)..n).map(|q| li[q * n + i] * li[q * n + j]).sum();
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|c| c.to_string()).collect()
    }

    #[test]
    fn parse_accepts_a_valid_file_and_names_the_key_of_each_error() {
        let ok = "0 = 0.95\n1 = 0.05\nprovenance = { kind = \"factual\", source = \"registry\", note = \"2024\" }\n";
        let p = ClassPrior::parse("cp.toml", ok, &names(2)).unwrap();
        assert_eq!(p.probs, vec![0.95, 0.05]);
        assert_eq!(p.provenance.kind.as_str(), "factual");
        let cases = [
            (
                "0 = 0.9\n1 = 0.05\nprovenance = { kind = \"factual\", source = \"s\" }",
                "sum to",
            ),
            (
                "0 = 1.0\n1 = 0.0\nprovenance = { kind = \"factual\", source = \"s\" }",
                "'1' = 0",
            ),
            (
                "0 = 0.95\n1 = -0.05\nprovenance = { kind = \"factual\", source = \"s\" }",
                "'1'",
            ),
            (
                "0 = 1.0\nprovenance = { kind = \"factual\", source = \"s\" }",
                "class '1' has no probability",
            ),
            (
                "0 = 0.5\n1 = 0.4\n2 = 0.1\nprovenance = { kind = \"factual\", source = \"s\" }",
                "'2' is not a class",
            ),
            ("0 = 0.95\n1 = 0.05", "no provenance"),
            (
                "0 = 0.95\n1 = 0.05\nprovenance = { kind = \"belief\", source = \"s\" }",
                "provenance",
            ),
            (
                "0 = \"x\"\n1 = 0.05\nprovenance = { kind = \"factual\", source = \"s\" }",
                "'0': expected a probability",
            ),
        ];
        for (text, want) in cases {
            let e = ClassPrior::parse("cp.toml", text, &names(2))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("cp.toml: ") && e.contains(want),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn adjust_is_bayes_rule_and_the_identity_at_the_training_prevalence() {
        let pred = Predictive::Classification(ClassPredictive {
            rows: 2,
            classes: 2,
            members: vec![vec![0.5, 0.5, 0.2, 0.8], vec![0.7, 0.3, 0.4, 0.6]],
            mean: Some(vec![0.6, 0.4, 0.3, 0.7]),
        });
        let train = [0.5, 0.5];
        let prior = |probs: Vec<f64>| ClassPrior {
            classes: names(2),
            probs,
            std_errors: None,
            provenance: Provenance::factual("t", ""),
        };
        let Predictive::Classification(same) =
            adjust(&pred, &train, &prior(vec![0.5, 0.5])).unwrap()
        else {
            panic!()
        };
        assert_eq!(same.probs(), vec![0.6, 0.4, 0.3, 0.7]);
        let Predictive::Classification(c) = adjust(&pred, &train, &prior(vec![0.9, 0.1])).unwrap()
        else {
            panic!()
        };
        // Row 0: 0.6·1.8 : 0.4·0.2 = 1.08 : 0.08.
        let p = c.probs();
        assert!((p[0] - 1.08 / 1.16).abs() < 1e-12 && (p[1] - 0.08 / 1.16).abs() < 1e-12);
        // Members re-weighted alike: member 0, row 1: 0.2·1.8 : 0.8·0.2.
        assert!((c.members[0][2] - 0.36 / 0.52).abs() < 1e-12);
    }

    #[test]
    fn em_recovers_a_known_mixture_weight_and_its_standard_error_is_honest() {
        // Two classes with known likelihoods: x | 0 ~ N(−1, 1), x | 1 ~ N(1, 1); the exact
        // posterior under a balanced training prior is σ(2x). Deployment prevalence 0.2 of
        // class 1. Over 200 seeded replicates of 400 rows, the estimates' spread matches the
        // reported standard error (ratio within 0.8–1.25) and their mean is within 3 standard
        // errors of the mean of 0.2.
        let (reps, rows, truth) = (200, 400, 0.2);
        let mut r = crate::rng::stream(3, 1);
        let (mut est, mut ses) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let mut members = vec![0.0; rows * 2];
            for n in 0..rows {
                let y = crate::rng::uniform(&mut r) < truth;
                let x = crate::rng::normal(&mut r) + if y { 1.0 } else { -1.0 };
                let p1 = 1.0 / (1.0 + (-2.0 * x).exp());
                members[2 * n] = 1.0 - p1;
                members[2 * n + 1] = p1;
            }
            let pred = Predictive::Classification(ClassPredictive {
                rows,
                classes: 2,
                members: vec![members],
                mean: None,
            });
            let e = estimate(&pred, &[0.5, 0.5], &names(2), "sim").unwrap();
            assert!((e.probs.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            let se = e.std_errors.unwrap();
            assert!((se[0] - se[1]).abs() < 1e-9);
            est.push(e.probs[1]);
            ses.push(se[1]);
        }
        let mean = est.iter().sum::<f64>() / reps as f64;
        let sd = (est.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (reps - 1) as f64).sqrt();
        let se = ses.iter().sum::<f64>() / reps as f64;
        assert!((0.8..1.25).contains(&(sd / se)), "spread {sd} vs SE {se}");
        assert!(
            (mean - truth).abs() < 3.0 * sd / (reps as f64).sqrt(),
            "{mean}"
        );
    }
}
