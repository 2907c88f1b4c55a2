//! `credence demo`: MLE and MAP side by side on the bundled Boston housing data.

use crate::cli::DemoArgs;
use crate::io;
use crate::progress::Bar;
use anyhow::{Context, Result};
use credence::config::Config;
use credence::data::{parse_whitespace, Dataset};
use credence::eval::regression_metrics;
use credence::fit::{fit, FitOptions};
use credence::{Method, Predictive};

const DATA: &str = include_str!("../../../data/bostonHousing/data.txt");
const TRAIN: &str = include_str!("../../../data/bostonHousing/index_train_0.txt");
const TEST: &str = include_str!("../../../data/bostonHousing/index_test_0.txt");

fn indices(text: &str) -> Vec<usize> {
    text.split_whitespace()
        .filter_map(|t| t.parse::<f64>().ok())
        .map(|v| v as usize)
        .collect()
}

/// Runs the demo.
pub fn run(a: &DemoArgs) -> Result<()> {
    let table = parse_whitespace("bundled data/bostonHousing/data.txt", DATA)?;
    let features: Vec<usize> = (0..13).collect();
    let train = Dataset::from_indices(&table, &features, 13, Some(&indices(TRAIN)))?;
    let test = Dataset::from_indices(&table, &features, 13, Some(&indices(TEST)))?;
    let config = Config::default();
    let bar = Bar::new(!a.output.json && !a.output.quiet);
    let mut rows = Vec::new();
    for method in [Method::Mle, Method::Map] {
        let opts = FitOptions {
            method,
            seed: a.seed,
            progress: &bar,
            strict_columns: false,
        };
        let model =
            fit(&train, &config, opts).with_context(|| format!("fitting {}", method.name()))?;
        let Predictive::Regression(p) = model.predict(&test, a.seed)? else {
            unreachable!("regression")
        };
        rows.push((model, regression_metrics(&p, &test.y)));
    }
    if a.output.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(m, r)| serde_json::json!({"method": m.record.method, "priors": m.record.prior_summary, "test_rmse": r.rmse, "test_ll": r.log_lik}))
            .collect();
        println!(
            "{}",
            serde_json::json!({ "dataset": "bostonHousing", "split": 0, "results": v })
        );
        return Ok(());
    }
    println!("Credence demo: Boston housing (bundled), UCI split 0: {} training rows, {} test rows, 13 features", train.rows, test.rows);
    println!("Network 13 → 50 tanh → 1, Gaussian likelihood with learned noise; Adam with early stopping.\n");
    println!(
        "{:<6} {:>10} {:>10}   prior",
        "method", "test RMSE", "test LL"
    );
    for (m, r) in &rows {
        let prior = if m.record.priors.is_some() {
            "see below"
        } else {
            credence::prior::NO_PRIOR
        };
        println!(
            "{:<6} {:>10.3} {:>10.3}   {}",
            m.record.method, r.rmse, r.log_lik, prior
        );
    }
    println!(
        "\nRMSE in $1000s; LL = mean log predictive density per test point (higher is better)."
    );
    println!("\nPriors and their provenance:");
    for (m, _) in &rows {
        io::print_priors(&m.record);
    }
    Ok(())
}
