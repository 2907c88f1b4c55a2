//! `bayes`, `prior-check`, `sensitivity` and `curve`: the commands that show what a prior does.

use crate::cli::{BayesArgs, CurveArgs, ModelDataArgs, PriorCheckArgs, SensitivityArgs};
use crate::io;
use crate::progress::Bar;
use anyhow::{bail, Context, Result};
use credence::data::Dataset;
use credence::explain::{
    learning_curve, Alternatives, CurveOptions, PriorCheckOptions, SensitivityOptions,
};
use credence::Method;
use std::path::Path;

fn write_svg(path: &Path, svg: &str) -> Result<()> {
    credence::artifact::write_atomic(path, svg.as_bytes())
        .with_context(|| format!("writing the plot {}", path.display()))
}

/// `credence curve`.
pub fn curve(a: &CurveArgs) -> Result<()> {
    let methods = a
        .methods
        .iter()
        .map(|m| Method::parse(m.trim()))
        .collect::<credence::Result<Vec<_>>>()?;
    let config = io::config(a.config.as_deref())?;
    let bar = Bar::new(!a.output.json && !a.output.quiet);
    let opts = CurveOptions {
        methods,
        sizes: a.sizes.clone(),
        repeats: a.repeats,
        seed: a.seed,
    };
    let c = learning_curve(&a.dir, &config, &opts, &bar)
        .with_context(|| format!("running learning curves on {}", a.dir.display()))?;
    if let Some(p) = &a.plot {
        write_svg(p, &credence::plot::panels(&c.plots(), 480, 360)?)?;
    }
    if a.output.json {
        // Every run too (method, size, repeat, split, metrics), for paired comparisons
        // between curves run with different configs on the same subsets.
        println!("{}", serde_json::to_value(&c)?);
        return Ok(());
    }
    println!(
        "learning curve on {} — {} repeats per cell (mean ± standard error)",
        c.dataset, a.repeats
    );
    println!(
        "{:<8} {:>6} {:>18} {:>18} {:>18}",
        "method", "rows", "test RMSE", "test LL", "90% coverage"
    );
    for p in &c.points {
        println!(
            "{:<8} {:>6} {:>9.3} ± {:<6.3} {:>9.3} ± {:<6.3} {:>9.3} ± {:<6.3}",
            p.method,
            p.size,
            p.rmse_mean,
            p.rmse_se,
            p.ll_mean,
            p.ll_se,
            p.coverage90_mean,
            p.coverage90_se
        );
    }
    if !c.paired.is_empty() {
        println!(
            "\npaired against {} (same subsets, same test rows; mean ± standard error of the difference)",
            c.paired[0].baseline
        );
        println!(
            "{:<8} {:>6} {:>20} {:>20}  LL ahead by > 2 se?",
            "method", "rows", "Δ test LL", "Δ test RMSE"
        );
        for d in &c.paired {
            println!(
                "{:<8} {:>6} {:>+10.3} ± {:<7.3} {:>+10.3} ± {:<7.3}  {}",
                d.method,
                d.size,
                d.ll_diff_mean,
                d.ll_diff_se,
                d.rmse_diff_mean,
                d.rmse_diff_se,
                if d.ll_diff_mean > 2.0 * d.ll_diff_se {
                    "yes"
                } else {
                    "no"
                }
            );
        }
    }
    if let Some(p) = &a.plot {
        println!("plot written to {}", p.display());
    }
    Ok(())
}

/// `credence bayes`.
pub fn bayes(a: &BayesArgs) -> Result<()> {
    let m = credence::conjugate::ModelFile::from_file(&a.file).context("reading the model file")?;
    let r = m.report()?;
    if let Some(p) = &a.plot {
        write_svg(p, &credence::plot::panels(&r.plots, 520, 380)?)?;
    }
    if a.output.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    print!("{}", credence::conjugate::format_report(&r));
    if let Some(p) = &a.plot {
        if !a.output.quiet {
            println!("\nplot written to {}", p.display());
        }
    }
    Ok(())
}

fn dataset(m: &ModelDataArgs) -> Result<(credence::config::Config, Dataset)> {
    let config = io::config(m.config.as_deref())?;
    let (so, read) = io::schema_options(&m.columns)?;
    let table = io::training_table(&m.data, &m.columns, &read).context("reading the data")?;
    let (_, enc) = credence::data::Schema::fit(&table, &so).context("choosing columns")?;
    io::print_notes(&enc.notes, false);
    let data = enc.data;
    Ok((config, data))
}

/// `credence prior-check`.
pub fn prior_check(a: &PriorCheckArgs) -> Result<()> {
    let (config, data) = dataset(&a.model)?;
    let input = match &a.input {
        None => None,
        Some(name) => Some(
            data.feature_names
                .iter()
                .position(|f| f == name)
                .or_else(|| name.parse::<usize>().ok().filter(|&i| i < data.features))
                .with_context(|| {
                    format!(
                        "--input {name}: not a feature column; features are: {}",
                        data.feature_names.join(", ")
                    )
                })?,
        ),
    };
    let opts = PriorCheckOptions {
        draws: a.draws,
        input,
        seed: a.model.seed,
        ..PriorCheckOptions::default()
    };
    let c = credence::explain::prior_check(&data, &config, &opts)?;
    if let Some(p) = &a.plot {
        let Some(plot) = c.plot() else {
            bail!(
                "--plot needs one input for the band: the data has {} features; choose one with --input COL",
                data.features
            );
        };
        write_svg(p, &credence::plot::line_plot(&plot, 720, 440)?)?;
    }
    if a.output.json {
        println!("{}", serde_json::to_string(&c)?);
        return Ok(());
    }
    println!(
        "prior predictive check of {} — {} networks drawn from the prior, before seeing any data",
        c.target, c.draws
    );
    println!("priors: {}", c.priors);
    println!(
        "  observed {:<28} [{:.4}, {:.4}]",
        "range of the target", c.observed_min, c.observed_max
    );
    println!(
        "  prior predictive (new observation) 1% / 50% / 99%: {:.4e} / {:.4e} / {:.4e}",
        c.predictive.q01, c.predictive.q50, c.predictive.q99
    );
    println!(
        "  prior mean function             1% / 50% / 99%: {:.4e} / {:.4e} / {:.4e}",
        c.function.q01, c.function.q50, c.function.q99
    );
    println!(
        "  spread of prior functions (mean sd across draws): {:.4e}; share of predictive variance from the function: {:.1}%",
        c.function_sd,
        100.0 * c.function_share
    );
    println!(
        "  98% prior predictive range / observed range: {:.2}×",
        c.range_ratio
    );
    if let (Some(o), Some(b)) = (&c.output_prior, &c.before) {
        let pct = 100.0 * o.mass;
        println!("output prior: {}", o.statement);
        if o.stated[0] == 0.0 && o.achieved[0] == 0.0 {
            println!(
                "  largest class probability, {pct:.0}% quantile: stated at most {:.4}, achieved {:.4}",
                o.stated[1], o.achieved[1]
            );
        } else {
            println!(
                "  central {pct:.0}% of the prior mean function: stated [{:.4}, {:.4}], achieved [{:.4}, {:.4}] (fresh draws)",
                o.stated[0], o.stated[1], o.achieved[0], o.achieved[1]
            );
        }
        println!(
            "  before (without the output prior), prior mean function 1% / 50% / 99%: {:.4e} / {:.4e} / {:.4e}",
            b.q01, b.q50, b.q99
        );
    }
    if c.warnings.is_empty() {
        println!("no warnings: the prior predicts outputs on the scale of the data");
    }
    for w in &c.warnings {
        println!("WARNING: {w}");
    }
    if let Some(p) = &a.plot {
        println!("plot written to {}", p.display());
    }
    Ok(())
}

/// `credence sensitivity`.
pub fn sensitivity(a: &SensitivityArgs) -> Result<()> {
    let (config, data) = dataset(&a.model)?;
    let alts = Alternatives::from_file(&a.alternatives).context("reading the alternatives")?;
    let method = Method::parse(&a.method)?;
    let s = credence::explain::sensitivity(
        &data,
        &config,
        &alts,
        SensitivityOptions {
            method,
            test_fraction: a.test_fraction,
            seed: a.model.seed,
        },
    )?;
    if a.output.json {
        println!("{}", serde_json::to_string(&s)?);
        return Ok(());
    }
    println!(
        "prior sensitivity of {} with {} — {} training rows, {} test rows (seeded split)",
        s.target, s.method, s.train_rows, s.test_rows
    );
    println!(
        "{:<24} {:>9} {:>9} {:>8} {:>10} {:>10}",
        "prior", "test RMSE", "test LL", "cov90", "max shift", "mean shift"
    );
    for r in std::iter::once(&s.base).chain(&s.alternatives) {
        println!(
            "{:<24} {:>9.4} {:>9.4} {:>8.3} {:>10.3} {:>10.3}",
            r.name, r.rmse, r.ll, r.coverage90, r.max_shift, r.mean_shift
        );
    }
    println!("(shifts: |predictive mean − base mean| in units of the base predictive sd, over test rows)");
    for r in std::iter::once(&s.base).chain(&s.alternatives) {
        println!("  {}: {}", r.name, r.priors);
    }
    println!("{}", s.verdict);
    Ok(())
}
