//! The classification uncertainty benchmark: a seeded stratified train/test split, a fit with a
//! categorical likelihood, calibration metrics on the test rows and, optionally, out-of-distribution
//! detection with held-out classes (e.g. train on digits 0–4, score 5–9).

use crate::config::{Config, LikelihoodConfig};
use crate::data::{stratified_split, Dataset};
use crate::error::{Error, Result};
use crate::eval::{classification_metrics, ood_metrics, ClassificationMetrics, OodMetrics};
use crate::fit::{fit, FitOptions};
use crate::infer::{Method, Progress};
use crate::predict::Predictive;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// What one method scored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassBenchResult {
    /// Data source.
    pub dataset: String,
    /// Method name.
    pub method: String,
    /// Seed of the split and the fit.
    pub seed: u64,
    /// Training rows (in-distribution classes only).
    pub train_rows: usize,
    /// In-distribution test rows.
    pub test_rows: usize,
    /// Test metrics (accuracy, NLL, Brier, ECE, MCE, reliability, accuracy–rejection).
    pub metrics: ClassificationMetrics,
    /// Out-of-distribution detection, when classes were held out.
    pub ood: Option<OodMetrics>,
    /// Seconds for the fit and the predictions.
    pub seconds: f64,
}

/// Fits `method` on a stratified `1 − test_fraction` share of the rows whose label is below
/// `ood_from` (all rows when `None`) and scores the rest; rows with label ≥ `ood_from` are the
/// out-of-distribution set.
pub fn run_classification(
    data: &Dataset,
    method: Method,
    config: &Config,
    test_fraction: f64,
    ood_from: Option<usize>,
    seed: u64,
    progress: &dyn Progress,
) -> Result<ClassBenchResult> {
    if !(0.0 < test_fraction && test_fraction < 1.0) {
        return Err(Error::Invalid(format!(
            "the test fraction must be in (0, 1), found {test_fraction}"
        )));
    }
    let cut = ood_from.unwrap_or(usize::MAX);
    let inside: Vec<usize> = (0..data.rows)
        .filter(|&i| (data.y[i] as usize) < cut)
        .collect();
    let outside: Vec<usize> = (0..data.rows)
        .filter(|&i| (data.y[i] as usize) >= cut)
        .collect();
    if ood_from.is_some() && outside.is_empty() {
        return Err(Error::Invalid(format!(
            "no rows have a label ≥ {cut}, so there is nothing out of distribution"
        )));
    }
    let din = data.subset(&inside);
    let (tr, te) = stratified_split(&din.y, test_fraction, seed);
    let (train, test) = (din.subset(&tr), din.subset(&te));
    let mut cfg = config.clone();
    if !matches!(
        cfg.model.likelihood,
        Some(LikelihoodConfig::Categorical { .. } | LikelihoodConfig::Bernoulli)
    ) {
        cfg.model.likelihood = Some(LikelihoodConfig::Categorical { classes: 0 });
    }
    let t0 = Instant::now();
    let model = fit(
        &train,
        &cfg,
        FitOptions {
            method,
            seed,
            progress,
            strict_columns: false,
        },
    )?;
    let p = model.predict(&test, seed)?;
    let Predictive::Classification(cp) = &p else {
        return Err(Error::Invalid(
            "expected a classification predictive".into(),
        ));
    };
    let metrics = classification_metrics(cp, &test.y)?;
    let ood = if ood_from.is_some() {
        let po = model.predict(&data.subset(&outside), seed ^ 0x00d)?;
        Some(ood_metrics(&p, &po)?)
    } else {
        None
    };
    Ok(ClassBenchResult {
        dataset: data.source.clone(),
        method: method.name().into(),
        seed,
        train_rows: train.rows,
        test_rows: test.rows,
        metrics,
        ood,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
