//! `credence demo`: MLE, MAP and a Bayesian method side by side on the bundled Boston housing
//! data, a decision under a bundled value file, and the HTML report.

use crate::cli::DemoArgs;
use crate::io;
use crate::progress::Bar;
use anyhow::{Context, Result};
use credence::config::Config;
use credence::data::{parse_whitespace, Dataset};
use credence::decide::{decide, DecisionSpec, DecisionSummary};
use credence::eval::{metrics, regression_metrics};
use credence::fit::{fit, FitOptions};
use credence::report::{build, ReportInput};
use credence::{Method, Predictive};

const DATA: &str = include_str!("../../../data/bostonHousing/data.txt");
const TRAIN: &str = include_str!("../../../data/bostonHousing/index_train_0.txt");
const TEST: &str = include_str!("../../../data/bostonHousing/index_test_0.txt");
const VALUES: &str = include_str!("../../../data/decisions/boston_audit.toml");

/// The Bayesian methods the demo shows beside MLE and MAP; the last one decides and is reported.
const BAYESIAN: [Method; 2] = [Method::Laplace, Method::Ensemble];

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
    let config = Config::default();
    // Laplace over all weights with the full GGN, prior precision per layer and noise tuned by
    // the evidence (the settings of the README's UCI table).
    let mut laplace_config = Config::default();
    for (k, v) in [
        ("hessian", "full"),
        ("subset", "all"),
        ("prior_groups", "layer"),
        ("tune", "post-hoc"),
    ] {
        laplace_config
            .inference
            .insert(k.into(), toml::Value::String(v.into()));
    }
    let bar = Bar::new(!a.output.json && !a.output.quiet);
    let mut rows = Vec::new();
    for method in [Method::Mle, Method::Map, BAYESIAN[0], BAYESIAN[1]] {
        let opts = FitOptions {
            method,
            seed: a.seed,
            progress: &bar,
            strict_columns: false,
        };
        let cfg = if method == Method::Laplace {
            &laplace_config
        } else {
            &config
        };
        let model = fit(&train, cfg, opts).with_context(|| format!("fitting {}", method.name()))?;
        let Predictive::Regression(p) = model.predict(&test, a.seed)? else {
            unreachable!("regression")
        };
        rows.push((model, regression_metrics(&p, &test.y)));
    }
    let spec = DecisionSpec::parse("bundled data/decisions/boston_audit.toml", VALUES)?;
    let bayes = &rows[3].0;
    let decisions = decide(&bayes.predict(&test, a.seed)?, &spec, a.seed)?;
    let summary = DecisionSummary::of(&decisions);
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let report_path = a.out.join("report.html");
    let extra = rows[..3]
        .iter()
        .map(|(m, _)| {
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
    })?;
    credence::artifact::write_atomic(&report_path, html.as_bytes())
        .with_context(|| format!("writing {}", report_path.display()))?;
    if a.output.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(m, r)| serde_json::json!({"method": m.record.method, "priors": m.record.prior_summary, "test_rmse": r.rmse, "test_ll": r.log_lik}))
            .collect();
        println!(
            "{}",
            serde_json::json!({ "dataset": "bostonHousing", "split": 0, "results": v, "decisions": summary, "report": report_path })
        );
        return Ok(());
    }
    println!("Credence demo: Boston housing (bundled), UCI split 0: {} training rows, {} test rows, 13 features", train.rows, test.rows);
    println!("Network 13 → 50 tanh → 1, Gaussian likelihood with learned noise.\n");
    println!(
        "{:<10} {:>10} {:>10}   prior",
        "method", "test RMSE", "test LL"
    );
    for (m, r) in &rows {
        let prior = if m.record.priors.is_some() {
            "see below"
        } else {
            credence::prior::NO_PRIOR
        };
        println!(
            "{:<10} {:>10.3} {:>10.3}   {}",
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
    println!("\nReport: {}", report_path.display());
    Ok(())
}
