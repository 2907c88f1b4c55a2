//! Post-hoc calibration of any fitted model on held-out rows, on top of its [`Predictive`]:
//! split conformal prediction (intervals and sets with a finite-sample coverage guarantee) and
//! temperature scaling for classifiers. Stored beside the model as `calibration.json`; a model
//! folder without it loads and predicts as before.

pub mod bench;
pub mod conformal;
mod holdout;
pub mod temperature;

pub use conformal::{Conformal, RegressionScore};
pub use holdout::{calibrate_model, fit_table_calibrated, holdout_rows, CalibrationSource};
pub use temperature::Temperature;

use crate::artifact::write_atomic;
use crate::error::{Error, Result};
use crate::predict::Predictive;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File name of a stored calibration in a model folder.
pub const CALIBRATION_FILE: &str = "calibration.json";

/// A post-hoc calibration method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Split conformal prediction.
    Conformal,
    /// Temperature scaling (classifiers).
    Temperature,
}

/// What to calibrate: the methods and the conformal score of a regression.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrateSpec {
    /// Methods, each once.
    pub kinds: Vec<Kind>,
    /// Regression conformity score.
    pub score: RegressionScore,
}

impl CalibrateSpec {
    /// Parses a comma-separated list of `conformal` and `temperature`.
    pub fn parse(list: &str, score: RegressionScore) -> Result<Self> {
        let mut kinds = Vec::new();
        for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let k = match part.to_ascii_lowercase().as_str() {
                "conformal" => Kind::Conformal,
                "temperature" => Kind::Temperature,
                other => {
                    return Err(Error::Invalid(format!(
                        "unknown calibration '{other}'; expected conformal, temperature or both (comma-separated)"
                    )))
                }
            };
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        if kinds.is_empty() {
            return Err(Error::Invalid(
                "--calibrate needs conformal, temperature or both".into(),
            ));
        }
        Ok(Self { kinds, score })
    }

    fn has(&self, k: Kind) -> bool {
        self.kinds.contains(&k)
    }
}

/// The calibration stored with a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCalibration {
    /// Where the calibration rows came from, in words.
    pub source: String,
    /// Number of calibration rows.
    pub rows: usize,
    /// Temperature scaling, when fitted (applied before the conformal scores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<Temperature>,
    /// Conformal calibration, when fitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformal: Option<Conformal>,
}

impl ModelCalibration {
    /// Fits the calibrations of `spec` from a model's predictive `pred` at the calibration rows
    /// and their targets `y`: temperature first (classifiers), then conformal scores on the
    /// (tempered) predictive.
    pub fn fit(pred: &Predictive, y: &[f64], spec: &CalibrateSpec, source: String) -> Result<Self> {
        let mut temperature = None;
        let mut conformal = None;
        match pred {
            Predictive::MultiRegression(_) => {
                return Err(crate::predict::one_target_only("calibration"))
            }
            Predictive::Regression(r) => {
                if spec.has(Kind::Temperature) {
                    return Err(Error::Invalid(
                        "temperature scaling applies to classifiers; this model is a regression (use --calibrate conformal)".into(),
                    ));
                }
                if spec.has(Kind::Conformal) {
                    conformal = Some(Conformal::Regression {
                        score: spec.score,
                        rows: conformal::regression_rows(r, y)?,
                    });
                }
            }
            Predictive::Classification(c) => {
                let mut c = c.clone();
                if spec.has(Kind::Temperature) {
                    let t = temperature::fit(&c, y)?;
                    c = temperature::apply(&c, t.t);
                    temperature = Some(t);
                }
                if spec.has(Kind::Conformal) {
                    conformal = Some(Conformal::Classification {
                        scores: conformal::aps_scores(&c, y)?,
                    });
                }
            }
        }
        Ok(Self {
            source,
            rows: y.len(),
            temperature,
            conformal,
        })
    }

    /// The predictive with the stored temperature applied (unchanged without one).
    pub fn apply(&self, pred: Predictive) -> Predictive {
        match (pred, &self.temperature) {
            (Predictive::Classification(c), Some(t)) => {
                Predictive::Classification(temperature::apply(&c, t.t))
            }
            (p, _) => p,
        }
    }

    /// Conformal intervals or sets at `level` for a (tempered) predictive; `None` without a
    /// conformal calibration.
    pub fn conformal_at(&self, pred: &Predictive, level: f64) -> Result<Option<Region>> {
        let Some(c) = &self.conformal else {
            return Ok(None);
        };
        Ok(Some(match (c, pred) {
            (Conformal::Regression { score, rows }, Predictive::Regression(r)) => {
                Region::Intervals(conformal::regression_intervals(rows, *score, r, level)?)
            }
            (Conformal::Classification { scores }, Predictive::Classification(p)) => {
                Region::Sets(conformal::aps_sets(scores, p, level)?)
            }
            _ => {
                return Err(Error::Invalid(
                    "the stored conformal calibration does not match the model's task".into(),
                ))
            }
        }))
    }

    /// One line per calibration, for the CLI and the report.
    pub fn describe(&self) -> Vec<String> {
        let mut out = vec![format!("{} calibration rows ({})", self.rows, self.source)];
        if let Some(t) = &self.temperature {
            out.push(format!(
                "temperature T = {:.3}: held-out NLL {:.4} → {:.4}, ECE {:.4} → {:.4}",
                t.t, t.nll_before, t.nll_after, t.ece_before, t.ece_after
            ));
            if let Some(n) = &t.note {
                out.push(format!("temperature: {n}"));
            }
        }
        match &self.conformal {
            Some(Conformal::Regression { score, .. }) => out.push(format!(
                "conformal: split conformal regression, {} score",
                score.name()
            )),
            Some(Conformal::Classification { .. }) => out.push(
                "conformal: adaptive prediction sets (APS with U = 0, not randomised)".to_string(),
            ),
            None => {}
        }
        out
    }
}

/// Bayesian or conformal prediction regions at the rows of a predictive.
#[derive(Debug, Clone, PartialEq)]
pub enum Region {
    /// (lower, upper) per row.
    Intervals(Vec<(f64, f64)>),
    /// Class indices per row.
    Sets(Vec<Vec<usize>>),
}

impl Region {
    /// The Bayesian region at `level`: the central interval of a regression, the smallest
    /// most-probable set of classes holding `level` of the mass for a classifier.
    pub fn bayes(pred: &Predictive, level: f64) -> Result<Self> {
        match pred {
            Predictive::Regression(r) => Ok(Self::Intervals(conformal::bayes_intervals(r, level)?)),
            Predictive::Classification(c) => Ok(Self::Sets(conformal::bayes_sets(c, level)?)),
            Predictive::MultiRegression(_) => Err(crate::predict::one_target_only("--interval")),
        }
    }

    /// Empirical coverage of targets `y` and the mean width (interval) or size (set).
    pub fn score(&self, y: &[f64]) -> Coverage {
        let (hit, size): (Vec<bool>, Vec<f64>) = match self {
            Self::Intervals(v) => v
                .iter()
                .zip(y)
                .map(|(&(lo, hi), &t)| (lo <= t && t <= hi, hi - lo))
                .unzip(),
            Self::Sets(v) => v
                .iter()
                .zip(y)
                .map(|(s, &t)| (s.contains(&(t as usize)), s.len() as f64))
                .unzip(),
        };
        let n = hit.len().max(1) as f64;
        Coverage {
            coverage: hit.iter().filter(|&&h| h).count() as f64 / n,
            mean_size: size.iter().sum::<f64>() / n,
        }
    }
}

/// Empirical coverage and mean width (or set size) of prediction regions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Share of rows whose target lies in its region.
    pub coverage: f64,
    /// Mean interval width (regression) or set size (classification).
    pub mean_size: f64,
}

/// Bayesian and conformal coverage at one level on rows with targets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CoverageComparison {
    /// Nominal level.
    pub level: f64,
    /// The Bayesian region's coverage.
    pub bayes: Coverage,
    /// The conformal region's coverage, when a conformal calibration is stored.
    pub conformal: Option<Coverage>,
}

/// Compares the Bayesian and (when stored) conformal regions at `level` against targets `y`;
/// `pred` is the predictive with any temperature already applied.
pub fn compare(
    pred: &Predictive,
    y: &[f64],
    calibration: Option<&ModelCalibration>,
    level: f64,
) -> Result<CoverageComparison> {
    let bayes = Region::bayes(pred, level)?.score(y);
    let conformal = match calibration {
        Some(c) => c.conformal_at(pred, level)?.map(|r| r.score(y)),
        None => None,
    };
    Ok(CoverageComparison {
        level,
        bayes,
        conformal,
    })
}

/// Writes `calibration.json` into a model folder.
pub fn save(dir: &Path, c: &ModelCalibration) -> Result<()> {
    let json = serde_json::to_vec_pretty(c).map_err(|e| Error::Artifact {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    write_atomic(&dir.join(CALIBRATION_FILE), &json)
}

/// Reads `calibration.json` from a model folder; `None` when the model has none.
pub fn load(dir: &Path) -> Result<Option<ModelCalibration>> {
    let path = dir.join(CALIBRATION_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| Error::Artifact {
            path: path.clone(),
            message: format!("cannot read the calibration: {e}"),
        })
}

/// Removes a stale `calibration.json` from a model folder (a refit without calibration).
pub fn remove(dir: &Path) -> Result<()> {
    let path = dir.join(CALIBRATION_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(&path, e)),
    }
}
