//! The UCI regression benchmark protocol: fit on each fixed split's training rows (standardised
//! with training statistics), evaluate on its test rows in original units, and summarise as
//! mean ± standard error over splits, beside published results.

use crate::config::Config;
use crate::data::uci::UciFolder;
use crate::error::{Error, Result};
use crate::eval::{mean_se, regression_metrics};
use crate::fit::{fit, FitOptions};
use crate::infer::{Method, Progress};
use crate::predict::Predictive;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// Result of one split.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SplitResult {
    /// Split index.
    pub split: usize,
    /// Test RMSE (original units).
    pub rmse: f64,
    /// Mean test log predictive density per point (original units).
    pub ll: f64,
    /// Seconds the fit and evaluation took.
    pub seconds: f64,
}

/// Summary over splits, in the shape `bench uci --json` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UciResult {
    /// Dataset name.
    pub dataset: String,
    /// Method name.
    pub method: String,
    /// Number of splits run.
    pub splits: usize,
    /// Mean test RMSE.
    pub rmse_mean: f64,
    /// Standard error of the test RMSE over splits.
    pub rmse_se: f64,
    /// Mean test log-likelihood.
    pub ll_mean: f64,
    /// Standard error of the test log-likelihood over splits.
    pub ll_se: f64,
    /// Wall-clock seconds for all splits.
    pub seconds: f64,
    /// Per-split results.
    pub per_split: Vec<SplitResult>,
}

/// Which splits of a folder to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitSelection {
    /// The first `n` splits (all when `None`).
    First(Option<usize>),
    /// These split indices (0-based), e.g. to share one benchmark across machines.
    Ids(Vec<usize>),
}

/// Runs the protocol on the first `splits` splits of a dataset folder.
pub fn run(
    dir: &Path,
    method: Method,
    config: &Config,
    splits: Option<usize>,
    seed: u64,
    progress: &dyn Progress,
) -> Result<UciResult> {
    run_selected(
        dir,
        method,
        config,
        &SplitSelection::First(splits),
        seed,
        progress,
    )
}

/// Runs the protocol on the selected splits of a dataset folder; split `k` is seeded with
/// `seed + k` whichever other splits run, so per-split results can be merged across runs.
pub fn run_selected(
    dir: &Path,
    method: Method,
    config: &Config,
    selection: &SplitSelection,
    seed: u64,
    progress: &dyn Progress,
) -> Result<UciResult> {
    let folder = UciFolder::open(dir)?;
    let ids: Vec<usize> = match selection {
        SplitSelection::First(splits) => {
            (0..splits.unwrap_or(folder.n_splits).min(folder.n_splits)).collect()
        }
        SplitSelection::Ids(ids) => {
            if let Some(bad) = ids.iter().find(|&&k| k >= folder.n_splits) {
                return Err(Error::Invalid(format!(
                    "--split-ids: split {bad} does not exist in {} (it has splits 0..{})",
                    dir.display(),
                    folder.n_splits
                )));
            }
            ids.clone()
        }
    };
    let n = ids.len();
    if n == 0 {
        return Err(Error::Invalid("--splits must be at least 1".into()));
    }
    let mut cfg = config.clone();
    if cfg.model.hidden == crate::config::ModelConfig::default().hidden {
        cfg.model.hidden = vec![folder.n_hidden];
    }
    let start = Instant::now();
    progress.start(n as u64, &format!("{} {}", folder.name, method.name()));
    let done = std::sync::atomic::AtomicU64::new(0);
    let silent = crate::infer::Silent;
    let per_split: Vec<SplitResult> = ids
        .par_iter()
        .map(|&k| -> Result<SplitResult> {
            let t0 = Instant::now();
            let (train, test) = folder.split(k)?;
            let opts = FitOptions {
                method,
                seed: seed.wrapping_add(k as u64),
                progress: &silent,
                strict_columns: false,
            };
            let model = fit(&train, &cfg, opts)?;
            let Predictive::Regression(p) = model.predict(&test, seed)? else {
                return Err(Error::Invalid(
                    "the UCI benchmark needs a regression likelihood".into(),
                ));
            };
            let m = regression_metrics(&p, &test.y);
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress.tick(d, &format!("split {k}: rmse {:.3}", m.rmse));
            Ok(SplitResult {
                split: k,
                rmse: m.rmse,
                ll: m.log_lik,
                seconds: t0.elapsed().as_secs_f64(),
            })
        })
        .collect::<Result<_>>()?;
    progress.finish();
    let rmse: Vec<f64> = per_split.iter().map(|s| s.rmse).collect();
    let ll: Vec<f64> = per_split.iter().map(|s| s.ll).collect();
    let (rmse_mean, rmse_se) = mean_se(&rmse);
    let (ll_mean, ll_se) = mean_se(&ll);
    Ok(UciResult {
        dataset: folder.name,
        method: method.name().to_string(),
        splits: n,
        rmse_mean,
        rmse_se,
        ll_mean,
        ll_se,
        seconds: start.elapsed().as_secs_f64(),
        per_split,
    })
}

/// One result from the results of disjoint split selections of the same dataset and method
/// (e.g. one split per worker of a distributed run): splits in order, mean ± standard error over
/// all of them, as one run over every split computes them; `seconds` is the wall time of the
/// whole.
pub fn merge(parts: Vec<UciResult>, seconds: f64) -> Result<UciResult> {
    let Some(first) = parts.first() else {
        return Err(Error::Invalid("no UCI results to merge".into()));
    };
    let (dataset, method) = (first.dataset.clone(), first.method.clone());
    if let Some(p) = parts
        .iter()
        .find(|p| p.dataset != dataset || p.method != method)
    {
        return Err(Error::Invalid(format!(
            "cannot merge results of {} {} with results of {dataset} {method}",
            p.dataset, p.method
        )));
    }
    let mut per_split: Vec<SplitResult> = parts.into_iter().flat_map(|p| p.per_split).collect();
    per_split.sort_by_key(|s| s.split);
    if let Some(w) = per_split.windows(2).find(|w| w[0].split == w[1].split) {
        return Err(Error::Invalid(format!(
            "split {} appears twice in the results to merge",
            w[0].split
        )));
    }
    let rmse: Vec<f64> = per_split.iter().map(|s| s.rmse).collect();
    let ll: Vec<f64> = per_split.iter().map(|s| s.ll).collect();
    let (rmse_mean, rmse_se) = mean_se(&rmse);
    let (ll_mean, ll_se) = mean_se(&ll);
    Ok(UciResult {
        dataset,
        method,
        splits: per_split.len(),
        rmse_mean,
        rmse_se,
        ll_mean,
        ll_se,
        seconds,
        per_split,
    })
}

/// A published result row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Published {
    /// Method name as published.
    pub method: String,
    /// Dataset name.
    pub dataset: String,
    /// Test RMSE mean (missing for some papers).
    pub rmse_mean: Option<f64>,
    /// Its standard error.
    pub rmse_se: Option<f64>,
    /// Test log-likelihood mean.
    pub ll_mean: Option<f64>,
    /// Its standard error.
    pub ll_se: Option<f64>,
    /// Where the numbers come from.
    pub source: String,
}

/// Reads `published_results.csv`, keeping the rows for `dataset`.
pub fn published(path: &Path, dataset: &str) -> Result<Vec<Published>> {
    let mut r = csv::Reader::from_path(path)
        .map_err(|e| Error::data(path.display().to_string(), None, None, e.to_string()))?;
    let mut out = Vec::new();
    for (i, row) in r.deserialize::<Published>().enumerate() {
        let row = row.map_err(|e| {
            Error::data(path.display().to_string(), Some(i + 2), None, e.to_string())
        })?;
        if row.dataset == dataset {
            out.push(row);
        }
    }
    Ok(out)
}
