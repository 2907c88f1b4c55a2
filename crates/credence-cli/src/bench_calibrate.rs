//! `credence bench uci --calibrate conformal` and `credence bench classify --calibrate temperature`.

use crate::cli::{ClassifyArgs, UciArgs};
use crate::progress::Bar;
use anyhow::{bail, Context, Result};
use credence::calibrate::bench::{self, UciCalibrationOptions};
use credence::calibrate::RegressionScore;
use credence::config::Config;
use credence::uci::SplitSelection;
use credence::Method;

/// The UCI protocol with split conformal beside the Bayesian interval.
pub fn uci(
    a: &UciArgs,
    what: &str,
    method: Method,
    config: &Config,
    selection: SplitSelection,
    bar: &Bar,
) -> Result<()> {
    if what.trim() != "conformal" {
        bail!("bench uci --calibrate takes `conformal`, found '{what}'");
    }
    let o = UciCalibrationOptions {
        selection,
        seed: a.seed,
        fraction: a.calibration_fraction,
        level: a.interval,
        score: RegressionScore::parse(&a.conformal_score)?,
    };
    let r = bench::uci(&a.dir, method, config, &o, bar)
        .with_context(|| format!("running the conformal UCI protocol on {}", a.dir.display()))?;
    if a.output.json {
        let mut v = serde_json::to_value(&r)?;
        if let Some(o) = v.as_object_mut().filter(|_| !a.per_split) {
            o.remove("per_split");
        }
        println!("{v}");
        return Ok(());
    }
    let pct = 100.0 * r.level;
    println!(
        "UCI {} {} — {} splits, {:.0}% of each training set held out for calibration, {} score",
        r.dataset,
        r.method,
        r.per_split.len(),
        100.0 * r.fraction,
        r.score
    );
    println!(
        "{:>6} {:>10} {:>10} {:>12} {:>12}",
        "split",
        format!("bayes {pct:.0}%"),
        "width",
        format!("conformal {pct:.0}%"),
        "width"
    );
    for s in &r.per_split {
        println!(
            "{:>6} {:>10.3} {:>10.3} {:>12.3} {:>12.3}",
            s.split,
            s.bayes.coverage,
            s.bayes.mean_size,
            s.conformal.coverage,
            s.conformal.mean_size
        );
    }
    println!(
        "{:>6} {:>10} {:>10} {:>12} {:>12}",
        "mean",
        format!("{:.3}±{:.3}", r.bayes_coverage.0, r.bayes_coverage.1),
        format!("{:.3}", r.bayes_width.0),
        format!(
            "{:.3}±{:.3}",
            r.conformal_coverage.0, r.conformal_coverage.1
        ),
        format!("{:.3}", r.conformal_width.0)
    );
    Ok(())
}

/// Temperature scaling and APS per method on one stratified split.
pub fn classify(
    a: &ClassifyArgs,
    what: &str,
    data: &credence::data::Dataset,
    config: &Config,
) -> Result<()> {
    if what.trim() != "temperature" {
        bail!("bench classify --calibrate takes `temperature`, found '{what}'");
    }
    let mut results = Vec::new();
    for name in &a.methods {
        let method = Method::parse(name)?;
        let r = bench::classify(
            data,
            method,
            config,
            a.test_fraction,
            a.calibration_fraction,
            a.interval,
            a.seed,
        )
        .with_context(|| format!("{} on {}", method.name(), a.data.display()))?;
        results.push(r);
    }
    if a.output.json {
        println!("{}", serde_json::to_string(&results)?);
        return Ok(());
    }
    let Some(first) = results.first() else {
        bail!("bench classify --calibrate: no method given (--methods)");
    };
    println!(
        "{} — seed {}: {} fit / {} calibration / {} test rows; test figures before → after temperature scaling",
        a.data.display(),
        a.seed,
        first.fit_rows,
        first.calibration_rows,
        first.test_rows
    );
    let pct = 100.0 * a.interval;
    println!(
        "{:<18} {:>7} {:>6} {:>16} {:>16} {:>16} {:>16}",
        "method",
        "T",
        "acc",
        "ECE",
        "NLL",
        format!("bayes {pct:.0}% set"),
        format!("APS {pct:.0}% set")
    );
    for r in &results {
        let t = r.calibration.temperature.as_ref().map_or(f64::NAN, |t| t.t);
        let conf = r.sets.conformal.unwrap_or(r.sets.bayes);
        println!(
            "{:<18} {:>7.3} {:>6.3} {:>16} {:>16} {:>16} {:>16}",
            r.method,
            t,
            r.test_accuracy,
            format!("{:.4} → {:.4}", r.test_ece.0, r.test_ece.1),
            format!("{:.4} → {:.4}", r.test_nll.0, r.test_nll.1),
            format!(
                "{:.3} / {:.2}",
                r.sets.bayes.coverage, r.sets.bayes.mean_size
            ),
            format!("{:.3} / {:.2}", conf.coverage, conf.mean_size)
        );
    }
    println!("(sets: coverage / mean size, after scaling)");
    Ok(())
}
