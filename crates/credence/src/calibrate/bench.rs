//! Calibration benchmarks: conformal against Bayesian intervals over the UCI splits, and
//! temperature scaling (with APS sets) on a classification table.

use super::{compare, CalibrateSpec, Coverage, Kind, ModelCalibration, RegressionScore};
use crate::config::{Config, LikelihoodConfig};
use crate::data::uci::UciFolder;
use crate::data::{stratified_split, Dataset};
use crate::error::{Error, Result};
use crate::eval::{classification_metrics, mean_se};
use crate::fit::{fit, FitOptions};
use crate::infer::{Method, Progress, Silent};
use crate::predict::Predictive;
use crate::uci::SplitSelection;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One UCI split: test coverage and width of the Bayesian and conformal intervals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UciCalibrationSplit {
    /// Split index.
    pub split: usize,
    /// Rows the model was fitted on (the split's training rows less the calibration rows).
    pub fit_rows: usize,
    /// Calibration rows.
    pub calibration_rows: usize,
    /// Bayesian central interval on the test rows.
    pub bayes: Coverage,
    /// Conformal interval on the test rows.
    pub conformal: Coverage,
}

/// Summary over splits.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UciCalibrationResult {
    /// Dataset name.
    pub dataset: String,
    /// Method name.
    pub method: String,
    /// Nominal level.
    pub level: f64,
    /// Share of each split's training rows used for calibration.
    pub fraction: f64,
    /// Conformity score.
    pub score: String,
    /// Mean Bayesian coverage and its standard error over splits.
    pub bayes_coverage: (f64, f64),
    /// Mean Bayesian width and its standard error.
    pub bayes_width: (f64, f64),
    /// Mean conformal coverage and its standard error.
    pub conformal_coverage: (f64, f64),
    /// Mean conformal width and its standard error.
    pub conformal_width: (f64, f64),
    /// Per split.
    pub per_split: Vec<UciCalibrationSplit>,
}

/// Options of the UCI conformal benchmark.
#[derive(Debug, Clone)]
pub struct UciCalibrationOptions {
    /// Splits to run.
    pub selection: SplitSelection,
    /// Seed (split k uses seed + k).
    pub seed: u64,
    /// Share of the training rows held out for calibration.
    pub fraction: f64,
    /// Nominal level.
    pub level: f64,
    /// Conformity score.
    pub score: RegressionScore,
}

/// Runs the UCI protocol with split conformal: on each split, fit on the training rows less a
/// held-out share, calibrate on that share, and score both intervals on the test rows.
pub fn uci(
    dir: &Path,
    method: Method,
    config: &Config,
    o: &UciCalibrationOptions,
    progress: &dyn Progress,
) -> Result<UciCalibrationResult> {
    super::conformal::check_level(o.level)?;
    let folder = UciFolder::open(dir)?;
    let ids: Vec<usize> = match &o.selection {
        SplitSelection::First(n) => {
            (0..n.unwrap_or(folder.n_splits).min(folder.n_splits)).collect()
        }
        SplitSelection::Ids(ids) => ids.clone(),
    };
    if ids.is_empty() || ids.iter().any(|&k| k >= folder.n_splits) {
        return Err(Error::Invalid(format!(
            "choose at least one split among 0..{} of {}",
            folder.n_splits,
            dir.display()
        )));
    }
    let mut cfg = config.clone();
    if cfg.model.hidden == crate::config::ModelConfig::default().hidden {
        cfg.model.hidden = vec![folder.n_hidden];
    }
    let spec = CalibrateSpec {
        kinds: vec![Kind::Conformal],
        score: o.score,
    };
    progress.start(
        ids.len() as u64,
        &format!("{} {} conformal", folder.name, method.name()),
    );
    let done = std::sync::atomic::AtomicU64::new(0);
    let per_split: Vec<UciCalibrationSplit> = ids
        .par_iter()
        .map(|&k| -> Result<UciCalibrationSplit> {
            let (train, test) = folder.split(k)?;
            let seed = o.seed.wrapping_add(k as u64);
            let (fr, cr) = super::holdout_rows(train.rows, o.fraction, seed)?;
            let (fit_part, cal_part) = (train.subset(&fr), train.subset(&cr));
            let opts = FitOptions {
                method,
                seed,
                progress: &Silent,
                strict_columns: false,
            };
            let model = fit(&fit_part, &cfg, opts)?;
            let cal =
                super::holdout::calibrate_model(&model, &cal_part, &spec, "held out".into(), seed)?;
            let pred = model.predict(&test, seed)?;
            if !matches!(pred, Predictive::Regression(_)) {
                return Err(Error::Invalid(
                    "the UCI benchmark needs a regression likelihood".into(),
                ));
            }
            let c = compare(&pred, &test.y, Some(&cal), o.level)?;
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress.tick(d, &format!("split {k}"));
            Ok(UciCalibrationSplit {
                split: k,
                fit_rows: fit_part.rows,
                calibration_rows: cal_part.rows,
                bayes: c.bayes,
                conformal: c
                    .conformal
                    .ok_or_else(|| Error::Invalid("internal: no conformal coverage".into()))?,
            })
        })
        .collect::<Result<_>>()?;
    progress.finish();
    let ms = |f: &dyn Fn(&UciCalibrationSplit) -> f64| {
        mean_se(&per_split.iter().map(f).collect::<Vec<_>>())
    };
    Ok(UciCalibrationResult {
        dataset: folder.name,
        method: method.name().to_string(),
        level: o.level,
        fraction: o.fraction,
        score: o.score.name().to_string(),
        bayes_coverage: ms(&|s| s.bayes.coverage),
        bayes_width: ms(&|s| s.bayes.mean_size),
        conformal_coverage: ms(&|s| s.conformal.coverage),
        conformal_width: ms(&|s| s.conformal.mean_size),
        per_split,
    })
}

/// Temperature scaling and APS on one classification split.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TemperatureBenchResult {
    /// Data source.
    pub dataset: String,
    /// Method name.
    pub method: String,
    /// Seed of the splits and the fit.
    pub seed: u64,
    /// Rows the model was fitted on.
    pub fit_rows: usize,
    /// Held-out calibration rows.
    pub calibration_rows: usize,
    /// Test rows.
    pub test_rows: usize,
    /// The calibration (temperature with held-out figures; APS scores).
    pub calibration: ModelCalibration,
    /// Test ECE before and after scaling.
    pub test_ece: (f64, f64),
    /// Test NLL before and after scaling.
    pub test_nll: (f64, f64),
    /// Test accuracy (unchanged by a temperature).
    pub test_accuracy: f64,
    /// Bayesian and APS set coverage on the test rows (after scaling).
    pub sets: super::CoverageComparison,
}

/// Fits `method` on a stratified `1 − test_fraction` share less a held-out `cal_fraction` of it,
/// fits a temperature and APS on the held-out rows, and scores the test rows before and after.
pub fn classify(
    data: &Dataset,
    method: Method,
    config: &Config,
    test_fraction: f64,
    cal_fraction: f64,
    level: f64,
    seed: u64,
) -> Result<TemperatureBenchResult> {
    if !(0.0 < test_fraction && test_fraction < 1.0) {
        return Err(Error::Invalid(format!(
            "the test fraction must be in (0, 1), found {test_fraction}"
        )));
    }
    let classes = data.class_count()?;
    let (tr, te) = stratified_split(&data.y, test_fraction, seed);
    let (train, test) = (data.subset(&tr), data.subset(&te));
    let (fr, cr) = super::holdout_rows(train.rows, cal_fraction, seed)?;
    let (fit_part, cal_part) = (train.subset(&fr), train.subset(&cr));
    let mut cfg = config.clone();
    if !matches!(
        cfg.model.likelihood,
        Some(LikelihoodConfig::Categorical { .. } | LikelihoodConfig::Bernoulli)
    ) {
        cfg.model.likelihood = Some(LikelihoodConfig::Categorical { classes });
    }
    let opts = FitOptions {
        method,
        seed,
        progress: &Silent,
        strict_columns: false,
    };
    let model = fit(&fit_part, &cfg, opts)?;
    let spec = CalibrateSpec {
        kinds: vec![Kind::Temperature, Kind::Conformal],
        score: RegressionScore::Normalized,
    };
    let cal = super::holdout::calibrate_model(&model, &cal_part, &spec, "held out".into(), seed)?;
    let raw = model.predict(&test, seed)?;
    let Predictive::Classification(before) = &raw else {
        return Err(Error::Invalid(
            "expected a classification predictive".into(),
        ));
    };
    let tempered = cal.apply(raw.clone());
    let Predictive::Classification(after) = &tempered else {
        return Err(Error::Invalid(
            "expected a classification predictive".into(),
        ));
    };
    let (mb, ma) = (
        classification_metrics(before, &test.y)?,
        classification_metrics(after, &test.y)?,
    );
    let sets = compare(&tempered, &test.y, Some(&cal), level)?;
    Ok(TemperatureBenchResult {
        dataset: data.source.clone(),
        method: method.name().into(),
        seed,
        fit_rows: fit_part.rows,
        calibration_rows: cal_part.rows,
        test_rows: test.rows,
        calibration: cal,
        test_ece: (mb.ece, ma.ece),
        test_nll: (mb.nll, ma.nll),
        test_accuracy: ma.accuracy,
        sets,
    })
}
