//! `credence demo`: when do priors matter? MLE, MAP, Laplace, an ensemble and NUTS at their
//! defaults on the bundled Boston housing data, fitted on a few rows (seeded draws) and on all of
//! split 0's training rows, with a reading of each table; a decision under a bundled value file;
//! the HTML report.

use crate::cli::DemoArgs;
use crate::io;
use crate::progress::Bar;
use anyhow::{Context, Result};
use credence::config::Config;
use credence::data::{parse_whitespace, Dataset};
use credence::decide::{decide, DecisionSpec, DecisionSummary};
use credence::eval::data_size::{self, DataSizeOptions};
use credence::eval::metrics;
use credence::report::{build, ReportInput};
use credence::Method;

const DATA: &str = include_str!("../../../data/bostonHousing/data.txt");
const TRAIN: &str = include_str!("../../../data/bostonHousing/index_train_0.txt");
const TEST: &str = include_str!("../../../data/bostonHousing/index_test_0.txt");
const VALUES: &str = include_str!("../../../data/decisions/boston_audit.toml");

fn indices(text: &str) -> Vec<usize> {
    text.split_whitespace()
        .filter_map(|t| t.parse::<f64>().ok())
        .map(|v| v as usize)
        .collect()
}

/// Runs the demo.
pub fn run(a: &DemoArgs) -> Result<()> {
    let table = parse_whitespace(
        "bundled data/bostonHousing/data.txt",
        DATA,
        &credence::data::ReadOptions::default(),
    )?;
    let features: Vec<usize> = (0..13).collect();
    let mut train = Dataset::from_indices(&table, &features, 13, Some(&indices(TRAIN)))?;
    let mut test = Dataset::from_indices(&table, &features, 13, Some(&indices(TEST)))?;
    let names = [
        "CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B",
        "LSTAT",
    ];
    for d in [&mut train, &mut test] {
        d.feature_names = names.iter().map(|s| s.to_string()).collect();
        d.target_names = vec!["MEDV".into()];
    }
    let methods = a
        .methods
        .iter()
        .map(|m| Method::parse(m))
        .collect::<credence::Result<Vec<_>>>()?;
    if methods.is_empty() {
        anyhow::bail!("--methods is empty; name at least one method, e.g. mle,map,laplace");
    }
    let bar = Bar::new(!a.output.json && !a.output.quiet);
    let options = DataSizeOptions {
        methods,
        small_rows: a.small_rows,
        repeats: a.repeats,
        seed: a.seed,
    };
    // Every method at its defaults (docs/DEFAULTS.md): no config.
    let t0 = std::time::Instant::now();
    let (study, models) = data_size::study(&train, &test, &Config::default(), &options, &bar)
        .context("comparing the methods on few and on all rows")?;
    let seconds = t0.elapsed().as_secs_f64();
    let rows = models;
    let spec = DecisionSpec::parse("bundled data/decisions/boston_audit.toml", VALUES)?;
    let Some(bayes) = rows.last() else {
        anyhow::bail!("no method was fitted");
    };
    let decisions = decide(&bayes.predict(&test, a.seed)?, &spec, a.seed)?;
    let summary = DecisionSummary::of(&decisions);
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let report_path = a.out.join("report.html");
    let extra = rows[..rows.len() - 1]
        .iter()
        .map(|m| {
            Ok((
                m.record.method.clone(),
                metrics(&m.predict(&test, a.seed)?, &test.y)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let html = build(&ReportInput {
        model: bayes,
        data: &test,
        decisions: Some((&spec, &decisions)),
        band_input: 12,
        compare: false,
        extra_rows: extra,
        seed: a.seed,
        class_prior: None,
        data_size: Some(&study),
    })?;
    credence::artifact::write_atomic(&report_path, html.as_bytes())
        .with_context(|| format!("writing {}", report_path.display()))?;
    // What the default prior predicts before data, and a prior stated on the outputs instead.
    let check_opts = credence::explain::PriorCheckOptions {
        seed: a.seed,
        ..Default::default()
    };
    let stated = Config::parse(
        "the demo's output prior",
        "[output_prior]\nrange = [5.0, 50.0]\nmass = 0.95\nprovenance = { kind = \"factual\", source = \"a tract's median value is between $5k and $50k\" }\n",
    )?;
    let before = credence::explain::prior_check(&train, &Config::default(), &check_opts)?;
    let after = credence::explain::prior_check(&train, &stated, &check_opts)?;
    if a.output.json {
        println!(
            "{}",
            serde_json::json!({
                "dataset": "bostonHousing",
                "split": 0,
                "study": study,
                "priors": rows.iter().map(|m| serde_json::json!({"method": m.record.method, "priors": m.record.prior_summary})).collect::<Vec<_>>(),
                "decisions": summary,
                "prior_check": {
                    "default_prior_function_q01_q99": [before.function.q01, before.function.q99],
                    "output_prior_function_q01_q99": [after.function.q01, after.function.q99],
                    "output_prior": after.output_prior,
                },
                "report": report_path,
                "seconds": seconds,
            })
        );
        return Ok(());
    }
    println!(
        "Credence demo: Boston housing (bundled), UCI split 0: {} training rows, {} test rows, 13 features",
        train.rows, test.rows
    );
    let nets: Vec<String> = rows
        .iter()
        .map(|m| format!("{} {}", m.record.method, m.record.model.net.describe()))
        .collect();
    println!(
        "Every method at its defaults (no config; docs/DEFAULTS.md); networks: {}.\n",
        nets.join(", ")
    );
    let small_ll = format!("{} rows: LL ± se", study.small_rows);
    let full_ll = format!("{} rows: LL", study.full_rows);
    println!(
        "{:<10} {:>10} {:>18}   {:>10} {:>12}   prior",
        "method", "RMSE", small_ll, "RMSE", full_ll
    );
    for (s, m) in study.methods.iter().zip(&rows) {
        let prior = if m.record.priors.is_some() {
            "see below"
        } else {
            credence::prior::NO_PRIOR
        };
        println!(
            "{:<10} {:>10.3} {:>10.3} ± {:<5.3}   {:>10.3} {:>12.3}   {}",
            s.method,
            s.small_mean.rmse,
            s.small_mean.ll,
            s.small_ll_se,
            s.full.rmse,
            s.full.ll,
            prior
        );
    }
    println!(
        "\nFew rows: mean over {} seeded draws of {} training rows; all rows: split 0's {}. Same {} test rows.",
        study.repeats, study.small_rows, study.full_rows, study.test_rows
    );
    println!(
        "RMSE in $1000s; LL = mean log predictive density per test point (higher is better).\n"
    );
    println!("Reading: {}", study.small_reading);
    println!("Reading: {}", study.full_reading);
    println!("\nPriors and their provenance:");
    for m in &rows {
        io::print_priors(&m.record);
    }
    println!(
        "\nBefore any data (credence prior-check, {} prior networks): the default prior's networks predict MEDV from {:.0} to {:.0} (1% to 99%), observed {:.0} to {:.0}.",
        before.draws, before.function.q01, before.function.q99, before.observed_min, before.observed_max
    );
    if let Some(cal) = &after.output_prior {
        println!(
            "  Stated instead on the outputs, \"a tract's median value is between $5k and $50k\" (factual; examples/output-prior/boston.toml): the calibrated weight priors put 95% of predictions in [{:.1}, {:.1}], 1% to 99% in [{:.0}, {:.0}].",
            cal.achieved[0],
            cal.achieved[1],
            after.function.q01,
            after.function.q99
        );
    }
    println!(
        "\nDecision under values, not facts: {}",
        spec.provenance.describe()
    );
    let counts: Vec<String> = summary
        .counts
        .iter()
        .map(|(a, c)| format!("{a}: {c}"))
        .collect();
    println!(
        "  {} test tracts decided with the {} posterior: {}; mean expected loss {:.3}, mean value of perfect information {:.3}",
        summary.rows,
        bayes.record.method,
        counts.join(", "),
        summary.mean_expected_loss,
        summary.mean_evpi
    );
    println!(
        "\nReport: {} ({seconds:.0} s for {} fits)",
        report_path.display(),
        study.methods.len() * (study.repeats + 1)
    );
    Ok(())
}
