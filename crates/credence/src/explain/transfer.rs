//! The transfer-prior experiment: on a UCI-format folder, fit task A (many training rows), turn
//! its posterior into the prior of a small task B (a few other training rows), and compare B's
//! test log-likelihood with the transferred prior against B with the default prior; both are
//! scored on the split's test rows. Repeats use different splits and row draws.

use crate::config::Config;
use crate::data::uci::UciFolder;
use crate::error::{Error, Result};
use crate::eval::{mean_se, regression_metrics};
use crate::fit::{fit, fit_with_transfer, transfer_from, FitOptions, FittedModel};
use crate::infer::{Method, Progress, Silent};
use crate::predict::Predictive;
use crate::prior::TransferNoise;
use crate::rng;
use rayon::prelude::*;
use serde::Serialize;
use std::path::Path;

/// Settings of the experiment.
#[derive(Debug, Clone)]
pub struct TransferOptions {
    /// Rows of task A (drawn from the split's training rows); `None`: every training row not in B.
    pub a_rows: Option<usize>,
    /// Rows of task B (drawn from the training rows not in A).
    pub b_rows: usize,
    /// Repeats; repeat r uses split r mod (number of splits).
    pub repeats: usize,
    /// Method fitted on A (its posterior becomes the prior).
    pub method_a: Method,
    /// Method fitted on B, with the default and with the transferred prior.
    pub method_b: Method,
    /// Variance multiplier of the transferred prior.
    pub scale: f64,
    /// Noise prior of the transferred fit.
    pub noise: TransferNoise,
    /// Seed of the row draws and the fits.
    pub seed: u64,
}

/// One repeat.
#[derive(Debug, Clone, Serialize)]
pub struct TransferRun {
    /// Repeat number.
    pub repeat: usize,
    /// Split used.
    pub split: usize,
    /// Test log-likelihood (mean per row, original units): B with the default prior.
    pub ll_default: f64,
    /// Same, B with the prior transferred from A.
    pub ll_transfer: f64,
    /// Same, A's model alone (never sees B).
    pub ll_source: f64,
    /// Test RMSE: B with the default prior.
    pub rmse_default: f64,
    /// Test RMSE: B with the transferred prior.
    pub rmse_transfer: f64,
    /// Test RMSE: A's model alone.
    pub rmse_source: f64,
}

/// Mean ± standard error over repeats.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MeanSe {
    /// Mean.
    pub mean: f64,
    /// Standard error.
    pub se: f64,
}

impl MeanSe {
    fn of(v: &[f64]) -> Self {
        let (mean, se) = mean_se(v);
        MeanSe { mean, se }
    }
}

/// The experiment's result.
#[derive(Debug, Clone, Serialize)]
pub struct TransferExperiment {
    /// Dataset name.
    pub dataset: String,
    /// Rows of A (of the first repeat).
    pub a_rows: usize,
    /// Rows of B.
    pub b_rows: usize,
    /// Method on A.
    pub method_a: String,
    /// Method on B.
    pub method_b: String,
    /// Variance multiplier.
    pub scale: f64,
    /// Test LL of B with the default prior.
    pub ll_default: MeanSe,
    /// Test LL of B with the transferred prior.
    pub ll_transfer: MeanSe,
    /// Test LL of A's model alone.
    pub ll_source: MeanSe,
    /// Paired difference of test LL, transferred − default.
    pub ll_gain: MeanSe,
    /// Test RMSE of B with the default prior.
    pub rmse_default: MeanSe,
    /// Test RMSE of B with the transferred prior.
    pub rmse_transfer: MeanSe,
    /// Test RMSE of A's model alone.
    pub rmse_source: MeanSe,
    /// Every repeat.
    pub runs: Vec<TransferRun>,
}

fn score(model: &FittedModel, test: &crate::data::Dataset, seed: u64) -> Result<(f64, f64)> {
    let Predictive::Regression(p) = model.predict(test, seed)? else {
        return Err(Error::Invalid(
            "the transfer experiment needs a regression likelihood".into(),
        ));
    };
    let m = regression_metrics(&p, &test.y);
    Ok((m.log_lik, m.rmse))
}

/// Runs the A → B comparison on a UCI-format folder (repeats in parallel).
pub fn transfer_experiment(
    dir: &Path,
    config: &Config,
    opts: &TransferOptions,
    progress: &dyn Progress,
) -> Result<TransferExperiment> {
    let folder = UciFolder::open(dir)?;
    if opts.repeats == 0 || opts.b_rows < 3 {
        return Err(Error::Invalid(
            "the transfer experiment needs at least one repeat and at least 3 rows in task B"
                .into(),
        ));
    }
    let mut cfg = config.clone();
    if cfg.model.hidden == crate::config::ModelConfig::default().hidden {
        cfg.model.hidden = vec![folder.n_hidden];
    }
    progress.start(opts.repeats as u64, &format!("transfer {}", folder.name));
    let done = std::sync::atomic::AtomicU64::new(0);
    let runs: Vec<(TransferRun, usize)> = (0..opts.repeats)
        .into_par_iter()
        .map(|r| -> Result<(TransferRun, usize)> {
            let k = r % folder.n_splits.max(1);
            let (train, test) = folder.split(k)?;
            let a_rows = opts
                .a_rows
                .unwrap_or(train.rows.saturating_sub(opts.b_rows));
            if a_rows < 3 || a_rows + opts.b_rows > train.rows {
                return Err(Error::Invalid(format!(
                    "task A ({a_rows} rows) and task B ({} rows) do not fit in split {k}'s {} training rows",
                    opts.b_rows, train.rows
                )));
            }
            let mut g = rng::stream(opts.seed, 0x7a_0000 + r as u64);
            let perm = rng::permutation(&mut g, train.rows);
            let mut ia = perm[..a_rows].to_vec();
            let mut ib = perm[a_rows..a_rows + opts.b_rows].to_vec();
            ia.sort_unstable();
            ib.sort_unstable();
            let (a, b) = (train.subset(&ia), train.subset(&ib));
            let seed = opts.seed.wrapping_add(r as u64);
            let fo = |method| FitOptions {
                method,
                seed,
                progress: &Silent,
                strict_columns: false,
            };
            let source = fit(&a, &cfg, fo(opts.method_a))?;
            let plain = fit(&b, &cfg, fo(opts.method_b))?;
            let t = transfer_from(&source, opts.scale, opts.noise)?;
            let moved = fit_with_transfer(&b, &cfg, fo(opts.method_b), &t)?;
            let (ll_source, rmse_source) = score(&source, &test, seed)?;
            let (ll_default, rmse_default) = score(&plain, &test, seed)?;
            let (ll_transfer, rmse_transfer) = score(&moved, &test, seed)?;
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress.tick(d, &format!("repeat {}", r + 1));
            Ok((
                TransferRun {
                    repeat: r,
                    split: k,
                    ll_default,
                    ll_transfer,
                    ll_source,
                    rmse_default,
                    rmse_transfer,
                    rmse_source,
                },
                a_rows,
            ))
        })
        .collect::<Result<_>>()?;
    progress.finish();
    let a_rows = runs.first().map_or(0, |r| r.1);
    let runs: Vec<TransferRun> = runs.into_iter().map(|r| r.0).collect();
    let col = |f: fn(&TransferRun) -> f64| MeanSe::of(&runs.iter().map(f).collect::<Vec<_>>());
    Ok(TransferExperiment {
        dataset: folder.name.clone(),
        a_rows,
        b_rows: opts.b_rows,
        method_a: opts.method_a.name().into(),
        method_b: opts.method_b.name().into(),
        scale: opts.scale,
        ll_default: col(|r| r.ll_default),
        ll_transfer: col(|r| r.ll_transfer),
        ll_source: col(|r| r.ll_source),
        ll_gain: col(|r| r.ll_transfer - r.ll_default),
        rmse_default: col(|r| r.rmse_default),
        rmse_transfer: col(|r| r.rmse_transfer),
        rmse_source: col(|r| r.rmse_source),
        runs,
    })
}

impl TransferExperiment {
    /// A plain-text table of the result.
    pub fn table(&self) -> String {
        let f = |m: MeanSe| format!("{:>9.4} ± {:.4}", m.mean, m.se);
        let mut s = format!(
            "transfer prior on {}: task A {} rows ({}), task B {} rows ({}), {} repeats, variance ×{}\n",
            self.dataset,
            self.a_rows,
            self.method_a,
            self.b_rows,
            self.method_b,
            self.runs.len(),
            self.scale
        );
        s.push_str(&format!(
            "{:<34} {:>18} {:>18}\n",
            "model (scored on the split's test rows)", "test LL", "test RMSE"
        ));
        for (name, ll, rmse) in [
            ("B, default prior", self.ll_default, self.rmse_default),
            (
                "B, prior transferred from A",
                self.ll_transfer,
                self.rmse_transfer,
            ),
            ("A alone (never sees B)", self.ll_source, self.rmse_source),
        ] {
            s.push_str(&format!("{name:<34} {} {}\n", f(ll), f(rmse)));
        }
        s.push_str(&format!(
            "paired gain in test LL, transferred − default: {:+.4} ± {:.4} ({:.1} se)\n",
            self.ll_gain.mean,
            self.ll_gain.se,
            self.ll_gain.mean / self.ll_gain.se.max(f64::MIN_POSITIVE)
        ));
        s
    }
}
