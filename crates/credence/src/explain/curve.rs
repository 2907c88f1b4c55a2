//! Small-data learning curves: fit each method on random subsets of a UCI split's training rows
//! of several sizes, score on the split's test rows, and summarise test RMSE, log-likelihood and
//! 90% interval coverage as mean ± standard error over repeats. The measured answer to "does the
//! prior help when data is scarce?".

use crate::config::Config;
use crate::data::uci::UciFolder;
use crate::error::{Error, Result};
use crate::eval::{mean_se, regression_metrics};
use crate::fit::{fit, FitOptions};
use crate::infer::{Method, Progress, Silent};
use crate::plot::{LinePlot, Series};
use crate::predict::Predictive;
use crate::rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What to run.
#[derive(Debug, Clone)]
pub struct CurveOptions {
    /// Methods to compare.
    pub methods: Vec<Method>,
    /// Training-set sizes.
    pub sizes: Vec<usize>,
    /// Repeats per (method, size); repeat r uses split r mod (number of splits) and its own
    /// random subset of that split's training rows.
    pub repeats: usize,
    /// Seed of the subsets and the fits.
    pub seed: u64,
}

/// One run: a method fitted on a subset, scored on the test rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurveRun {
    /// Method name.
    pub method: String,
    /// Training rows.
    pub size: usize,
    /// Repeat index.
    pub repeat: usize,
    /// Split used.
    pub split: usize,
    /// Test RMSE (original units).
    pub rmse: f64,
    /// Mean test log predictive density (original units).
    pub ll: f64,
    /// Share of test targets inside the central 90% predictive interval.
    pub coverage90: f64,
}

/// Summary of one (method, size) cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Method name.
    pub method: String,
    /// Training rows.
    pub size: usize,
    /// Repeats.
    pub repeats: usize,
    /// Mean test RMSE.
    pub rmse_mean: f64,
    /// Its standard error.
    pub rmse_se: f64,
    /// Mean test log-likelihood.
    pub ll_mean: f64,
    /// Its standard error.
    pub ll_se: f64,
    /// Mean 90% interval coverage.
    pub coverage90_mean: f64,
    /// Its standard error.
    pub coverage90_se: f64,
}

/// A method against the baseline (the first method listed) on the same subsets and test rows:
/// the mean of the per-repeat differences and its standard error (paired, so the variation
/// shared by both methods, such as a hard split, cancels).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairedDiff {
    /// Method name.
    pub method: String,
    /// Baseline method name.
    pub baseline: String,
    /// Training rows.
    pub size: usize,
    /// Mean of (method − baseline) test log-likelihood; positive favours the method.
    pub ll_diff_mean: f64,
    /// Its standard error.
    pub ll_diff_se: f64,
    /// Mean of (method − baseline) test RMSE; negative favours the method.
    pub rmse_diff_mean: f64,
    /// Its standard error.
    pub rmse_diff_se: f64,
}

/// A learning curve: per-cell summaries and every run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Curve {
    /// Dataset name.
    pub dataset: String,
    /// Summaries, by method then size.
    pub points: Vec<CurvePoint>,
    /// Paired differences against the first method, by method then size.
    pub paired: Vec<PairedDiff>,
    /// Every run.
    pub runs: Vec<CurveRun>,
}

/// A learning curve's folder, splits and runs (method, size, repeat), ready to run any of them.
struct Plan {
    name: String,
    cfg: Config,
    splits: Vec<(crate::data::Dataset, crate::data::Dataset)>,
    jobs: Vec<(Method, usize, usize)>,
}

fn plan(dir: &Path, config: &Config, opts: &CurveOptions) -> Result<Plan> {
    let folder = UciFolder::open(dir)?;
    if opts.methods.is_empty() || opts.sizes.is_empty() || opts.repeats == 0 {
        return Err(Error::Invalid(
            "a learning curve needs at least one method, one size and one repeat".into(),
        ));
    }
    let mut cfg = config.clone();
    if cfg.model.hidden == crate::config::ModelConfig::default().hidden {
        cfg.model.hidden = vec![folder.n_hidden];
    }
    let splits: Vec<_> = (0..opts.repeats.min(folder.n_splits))
        .map(|k| folder.split(k))
        .collect::<Result<_>>()?;
    let min_train = splits.iter().map(|s| s.0.rows).min().unwrap_or(0);
    if let Some(&s) = opts.sizes.iter().find(|&&s| s < 3 || s > min_train) {
        return Err(Error::Invalid(format!(
            "size {s} is outside 3..={min_train} (the training rows of a split)"
        )));
    }
    let jobs: Vec<(Method, usize, usize)> = opts
        .methods
        .iter()
        .flat_map(|&m| {
            opts.sizes
                .iter()
                .flat_map(move |&s| (0..opts.repeats).map(move |r| (m, s, r)))
        })
        .collect();
    Ok(Plan {
        name: folder.name,
        cfg,
        splits,
        jobs,
    })
}

impl Plan {
    /// Run `i`: its method fitted on its subset, scored on its split's test rows.
    fn run(&self, i: usize, seed: u64) -> Result<CurveRun> {
        let &(method, size, r) = self.jobs.get(i).ok_or_else(|| {
            Error::Invalid(format!(
                "learning-curve run {i} asked of a curve with {} runs",
                self.jobs.len()
            ))
        })?;
        let k = r % self.splits.len();
        let (train, test) = &self.splits[k];
        // The subset depends on (seed, size, repeat) only, so every method sees the same rows.
        let mut g = rng::stream(seed, 0xC0_0000 + (size as u64) * 1_000_003 + r as u64);
        let mut idx = rng::permutation(&mut g, train.rows)[..size].to_vec();
        idx.sort_unstable();
        let sub = train.subset(&idx);
        let model = fit(
            &sub,
            &self.cfg,
            FitOptions {
                method,
                seed: seed.wrapping_add(r as u64),
                progress: &Silent,
                strict_columns: false,
            },
        )?;
        let Predictive::Regression(p) = model.predict(test, seed)? else {
            return Err(Error::Invalid(
                "learning curves need a regression likelihood".into(),
            ));
        };
        let m = regression_metrics(&p, &test.y);
        let inside = p
            .interval(0.9)
            .iter()
            .zip(&test.y)
            .filter(|((lo, hi), y)| (*lo..=*hi).contains(*y))
            .count();
        Ok(CurveRun {
            method: method.name().into(),
            size,
            repeat: r,
            split: k,
            rmse: m.rmse,
            ll: m.log_lik,
            coverage90: inside as f64 / test.rows as f64,
        })
    }
}

/// The number of runs of a learning curve (methods × sizes × repeats), each one unit of work.
pub fn curve_runs(dir: &Path, config: &Config, opts: &CurveOptions) -> Result<usize> {
    Ok(plan(dir, config, opts)?.jobs.len())
}

/// Runs run `i` of a learning curve alone (the unit a distributed curve sends to a worker).
pub fn curve_run(dir: &Path, config: &Config, opts: &CurveOptions, i: usize) -> Result<CurveRun> {
    plan(dir, config, opts)?.run(i, opts.seed)
}

/// The learning curve from its runs (all of them, in order), run by [`curve_run`].
pub fn curve_from_runs(
    dir: &Path,
    config: &Config,
    opts: &CurveOptions,
    runs: Vec<CurveRun>,
) -> Result<Curve> {
    let p = plan(dir, config, opts)?;
    let matches = runs.len() == p.jobs.len()
        && runs
            .iter()
            .zip(&p.jobs)
            .all(|(r, (m, s, k))| r.method == m.name() && r.size == *s && r.repeat == *k);
    if !matches {
        return Err(Error::Invalid(format!(
            "the curve has {} runs (by method, size, repeat); the runs given do not match them",
            p.jobs.len()
        )));
    }
    summarise(p.name, opts, runs)
}

/// Runs the learning curve on a UCI-format folder.
pub fn learning_curve(
    dir: &Path,
    config: &Config,
    opts: &CurveOptions,
    progress: &dyn Progress,
) -> Result<Curve> {
    let p = plan(dir, config, opts)?;
    progress.start(p.jobs.len() as u64, &format!("curve {}", p.name));
    let done = std::sync::atomic::AtomicU64::new(0);
    let runs: Vec<CurveRun> = (0..p.jobs.len())
        .into_par_iter()
        .map(|i| -> Result<CurveRun> {
            let run = p.run(i, opts.seed)?;
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress.tick(d, &format!("{} n={}", run.method, run.size));
            Ok(run)
        })
        .collect::<Result<_>>()?;
    progress.finish();
    summarise(p.name, opts, runs)
}

/// Summaries and paired differences of a curve's runs.
fn summarise(name: String, opts: &CurveOptions, runs: Vec<CurveRun>) -> Result<Curve> {
    let mut points = Vec::new();
    for m in &opts.methods {
        for &s in &opts.sizes {
            let cell: Vec<&CurveRun> = runs
                .iter()
                .filter(|r| r.method == m.name() && r.size == s)
                .collect();
            let col =
                |f: fn(&CurveRun) -> f64| mean_se(&cell.iter().map(|r| f(r)).collect::<Vec<_>>());
            let (rmse_mean, rmse_se) = col(|r| r.rmse);
            let (ll_mean, ll_se) = col(|r| r.ll);
            let (coverage90_mean, coverage90_se) = col(|r| r.coverage90);
            points.push(CurvePoint {
                method: m.name().into(),
                size: s,
                repeats: cell.len(),
                rmse_mean,
                rmse_se,
                ll_mean,
                ll_se,
                coverage90_mean,
                coverage90_se,
            });
        }
    }
    let mut paired = Vec::new();
    let base = opts.methods[0].name();
    for m in opts.methods.iter().skip(1) {
        for &s in &opts.sizes {
            let find = |name: &str, r: usize| {
                runs.iter()
                    .find(|x| x.method == name && x.size == s && x.repeat == r)
            };
            let pairs: Vec<(&CurveRun, &CurveRun)> = (0..opts.repeats)
                .filter_map(|r| Some((find(m.name(), r)?, find(base, r)?)))
                .collect();
            let (ll_diff_mean, ll_diff_se) =
                mean_se(&pairs.iter().map(|(a, b)| a.ll - b.ll).collect::<Vec<_>>());
            let (rmse_diff_mean, rmse_diff_se) = mean_se(
                &pairs
                    .iter()
                    .map(|(a, b)| a.rmse - b.rmse)
                    .collect::<Vec<_>>(),
            );
            paired.push(PairedDiff {
                method: m.name().into(),
                baseline: base.into(),
                size: s,
                ll_diff_mean,
                ll_diff_se,
                rmse_diff_mean,
                rmse_diff_se,
            });
        }
    }
    Ok(Curve {
        dataset: name,
        points,
        paired,
        runs,
    })
}

impl Curve {
    /// Three panels (test LL, RMSE, 90% coverage against training rows), each with ±2 se bands.
    pub fn plots(&self) -> Vec<LinePlot> {
        let mut methods: Vec<&str> = Vec::new();
        for p in &self.points {
            if !methods.contains(&p.method.as_str()) {
                methods.push(&p.method);
            }
        }
        let panel = |title: &str, y: &str, f: fn(&CurvePoint) -> (f64, f64)| LinePlot {
            title: format!("{} — {title}", self.dataset),
            x_label: "training rows".into(),
            y_label: y.into(),
            series: methods
                .iter()
                .map(|m| {
                    let pts: Vec<&CurvePoint> =
                        self.points.iter().filter(|p| p.method == *m).collect();
                    let line = pts.iter().map(|p| (p.size as f64, f(p).0)).collect();
                    let band = pts
                        .iter()
                        .map(|p| {
                            let (v, se) = f(p);
                            let se = if se.is_finite() { se } else { 0.0 };
                            (p.size as f64, v - 2.0 * se, v + 2.0 * se)
                        })
                        .collect();
                    Series::with_band(m.to_string(), line, band)
                })
                .collect(),
        };
        vec![
            panel("test log-likelihood (±2 se)", "mean test LL", |p| {
                (p.ll_mean, p.ll_se)
            }),
            panel("test RMSE (±2 se)", "RMSE", |p| (p.rmse_mean, p.rmse_se)),
            panel("90% interval coverage (±2 se)", "coverage", |p| {
                (p.coverage90_mean, p.coverage90_se)
            }),
        ]
    }
}
