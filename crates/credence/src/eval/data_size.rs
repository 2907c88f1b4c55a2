//! When do priors matter? The same methods, at their defaults, fitted on a few rows (several
//! seeded draws from the training rows) and on all of them, scored on the same test rows, with a
//! plain reading of each table — including where a Bayesian method loses to maximum likelihood.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::eval::regression_metrics;
use crate::fit::{fit, FitOptions, FittedModel};
use crate::infer::{Method, Progress};
use crate::predict::Predictive;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// What to compare.
#[derive(Debug, Clone)]
pub struct DataSizeOptions {
    /// Methods, in the order of the tables (maximum likelihood first, as the baseline).
    pub methods: Vec<Method>,
    /// Rows in each small training set.
    pub small_rows: usize,
    /// Seeded small training sets.
    pub repeats: usize,
    /// Seed of the draws and of the fits.
    pub seed: u64,
}

/// Test scores of one fit.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Scores {
    /// Root mean squared error (target units).
    pub rmse: f64,
    /// Mean log predictive density per test row.
    pub ll: f64,
}

/// One method's scores on the small sets and on all rows.
#[derive(Debug, Clone, Serialize)]
pub struct MethodScores {
    /// Method name.
    pub method: String,
    /// One entry per small training set.
    pub small: Vec<Scores>,
    /// Mean over the small sets.
    pub small_mean: Scores,
    /// Standard error of the small-set mean test LL.
    pub small_ll_se: f64,
    /// All training rows.
    pub full: Scores,
    /// Seconds for all of this method's fits.
    pub seconds: f64,
}

/// The study: per-method scores and a one-line reading of each table.
#[derive(Debug, Clone, Serialize)]
pub struct DataSizeStudy {
    /// Rows in each small training set.
    pub small_rows: usize,
    /// Small training sets.
    pub repeats: usize,
    /// All training rows.
    pub full_rows: usize,
    /// Test rows.
    pub test_rows: usize,
    /// Scores per method.
    pub methods: Vec<MethodScores>,
    /// What the small-data table says.
    pub small_reading: String,
    /// What the full-data table says.
    pub full_reading: String,
}

fn score(model: &FittedModel, test: &crate::data::Dataset, seed: u64) -> Result<Scores> {
    let Predictive::Regression(p) = model.predict(test, seed)? else {
        return Err(Error::Invalid(
            "the data-size study needs one regression target".into(),
        ));
    };
    let m = regression_metrics(&p, &test.y);
    Ok(Scores {
        rmse: m.rmse,
        ll: m.log_lik,
    })
}

/// Fits every method on `repeats` draws of `small_rows` training rows and on all of `train`,
/// and scores each fit on `test`. Returns the study and the full-data fits (in method order).
pub fn study(
    train: &crate::data::Dataset,
    test: &crate::data::Dataset,
    config: &Config,
    o: &DataSizeOptions,
    progress: &dyn Progress,
) -> Result<(DataSizeStudy, Vec<FittedModel>)> {
    if o.small_rows < 3 || o.small_rows >= train.rows || o.repeats == 0 {
        return Err(Error::Invalid(format!(
            "the small training sets need 3 ≤ rows < {} and at least one repeat (found {} rows, {} repeats)",
            train.rows, o.small_rows, o.repeats
        )));
    }
    let draws: Vec<crate::data::Dataset> = (0..o.repeats)
        .map(|r| {
            let mut rng = crate::rng::stream(o.seed, 1000 + r as u64);
            let mut idx = crate::rng::permutation(&mut rng, train.rows);
            idx.truncate(o.small_rows);
            train.subset(&idx)
        })
        .collect();
    let total = (o.methods.len() * (o.repeats + 1)) as u64;
    progress.start(total, "fits");
    let silent = crate::infer::Silent;
    let done = AtomicU64::new(0);
    let mut methods = Vec::new();
    let mut full_models = Vec::new();
    for &method in &o.methods {
        let t0 = Instant::now();
        let opts = |seed| FitOptions {
            method,
            seed,
            progress: &silent,
            strict_columns: false,
        };
        // The small sets in parallel (each fit may itself use the pool, e.g. NUTS chains).
        let small = draws
            .par_iter()
            .enumerate()
            .map(|(r, d)| -> Result<Scores> {
                let seed = o.seed.wrapping_add(r as u64);
                let m = fit(d, config, opts(seed)).map_err(|e| {
                    Error::Invalid(format!(
                        "{} on small set {} ({} rows): {e}",
                        method.name(),
                        r + 1,
                        d.rows
                    ))
                })?;
                let s = score(&m, test, seed)?;
                let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress.tick(k, &format!("{} · {} rows", method.name(), d.rows));
                Ok(s)
            })
            .collect::<Result<Vec<_>>>()?;
        let full = fit(train, config, opts(o.seed)).map_err(|e| {
            Error::Invalid(format!("{} on all {} rows: {e}", method.name(), train.rows))
        })?;
        let full_scores = score(&full, test, o.seed)?;
        let k = done.fetch_add(1, Ordering::Relaxed) + 1;
        progress.tick(k, &format!("{} · {} rows", method.name(), train.rows));
        let n = small.len() as f64;
        let mean_ll = small.iter().map(|s| s.ll).sum::<f64>() / n;
        let sd = if small.len() > 1 {
            (small.iter().map(|s| (s.ll - mean_ll).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            f64::NAN
        };
        methods.push(MethodScores {
            method: method.name().to_string(),
            small_mean: Scores {
                rmse: small.iter().map(|s| s.rmse).sum::<f64>() / n,
                ll: mean_ll,
            },
            small_ll_se: sd / n.sqrt(),
            small,
            full: full_scores,
            seconds: t0.elapsed().as_secs_f64(),
        });
        full_models.push(full);
    }
    progress.finish();
    let small_reading = reading(&methods, |m| m.small_mean.ll, o.small_rows, true);
    let full_reading = reading(&methods, |m| m.full.ll, train.rows, false);
    Ok((
        DataSizeStudy {
            small_rows: o.small_rows,
            repeats: o.repeats,
            full_rows: train.rows,
            test_rows: test.rows,
            methods,
            small_reading,
            full_reading,
        },
        full_models,
    ))
}

/// One sentence on a table: the best method against maximum likelihood, the spread among the
/// Bayesian methods, and every method that does worse than maximum likelihood, by name.
fn reading(
    methods: &[MethodScores],
    ll: impl Fn(&MethodScores) -> f64,
    rows: usize,
    averaged: bool,
) -> String {
    let of = |name: &str| methods.iter().find(|m| m.method == name).map(&ll);
    let Some(mle) = of("mle") else {
        return format!("with {rows} rows: no maximum-likelihood fit to compare with");
    };
    let bayes: Vec<&MethodScores> = methods
        .iter()
        .filter(|m| m.method != "mle" && m.method != "map")
        .collect();
    let Some(best) = methods
        .iter()
        .filter(|m| m.method != "mle")
        .max_by(|a, b| ll(a).total_cmp(&ll(b)))
    else {
        return format!("with {rows} rows: only maximum likelihood was fitted");
    };
    let what = if averaged {
        "mean test LL over the draws"
    } else {
        "test LL"
    };
    let mut s = format!(
        "with {rows} rows the prior is worth {:+.2} nats per test point over MLE ({} {:.2} vs MLE {:.2}, {what})",
        ll(best) - mle,
        best.method,
        ll(best),
        mle
    );
    if !bayes.is_empty() {
        let (lo, hi) = bayes
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), m| {
                (lo.min(ll(m)), hi.max(ll(m)))
            });
        s.push_str(&format!(
            "; the Bayesian methods agree within {:.2}",
            hi - lo
        ));
    }
    let worse: Vec<String> = methods
        .iter()
        .filter(|m| m.method != "mle" && ll(m) < mle)
        .map(|m| format!("{} ({:+.2})", m.method, ll(m) - mle))
        .collect();
    if worse.is_empty() {
        s.push_str("; no method with a prior does worse than MLE");
    } else {
        s.push_str(&format!("; worse than MLE here: {}", worse.join(", ")));
    }
    // A mean over draws can hide single draws lost to MLE: name them.
    let draws_lost: Vec<String> = match methods.iter().find(|m| m.method == "mle") {
        Some(base) if averaged => methods
            .iter()
            .filter(|m| m.method != "mle")
            .filter_map(|m| {
                let n = m
                    .small
                    .iter()
                    .zip(&base.small)
                    .filter(|(a, b)| a.ll < b.ll)
                    .count();
                (n > 0).then(|| format!("{} on {n} of {}", m.method, m.small.len()))
            })
            .collect(),
        _ => Vec::new(),
    };
    if !draws_lost.is_empty() {
        s.push_str(&format!(
            "; below MLE on single draws: {}",
            draws_lost.join(", ")
        ));
    }
    s.push('.');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(method: &str, small: &[f64], full: f64) -> MethodScores {
        let small: Vec<Scores> = small.iter().map(|&ll| Scores { rmse: 1.0, ll }).collect();
        let mean = small.iter().map(|s| s.ll).sum::<f64>() / small.len() as f64;
        MethodScores {
            method: method.into(),
            small,
            small_mean: Scores {
                rmse: 1.0,
                ll: mean,
            },
            small_ll_se: 0.0,
            full: Scores {
                rmse: 1.0,
                ll: full,
            },
            seconds: 0.0,
        }
    }

    #[test]
    fn the_reading_names_methods_and_draws_that_lose_to_mle() {
        let methods = vec![
            scores("mle", &[-3.0, -20.0, -3.0], -2.5),
            scores("map", &[-4.0, -5.0, -2.9], -2.6),
            scores("laplace", &[-2.9, -2.9, -2.9], -2.3),
        ];
        let small = reading(&methods, |m| m.small_mean.ll, 40, true);
        assert!(
            small.contains("no method with a prior does worse than MLE"),
            "{small}"
        );
        assert!(
            small.contains("below MLE on single draws: map on 1 of 3."),
            "{small}"
        );
        assert!(!small.contains("laplace on"), "{small}");
        let full = reading(&methods, |m| m.full.ll, 455, false);
        assert!(full.contains("worse than MLE here: map (-0.10)."), "{full}");
        assert!(!full.contains("single draws"), "{full}");
    }
}
