//! `bayes`, `prior-check`, `sensitivity` and `curve`: the commands that show what a prior does.

use crate::cli::{BayesArgs, CurveArgs, PriorCheckArgs, SensitivityArgs};
use crate::io;
use crate::progress::Bar;
use anyhow::{bail, Context, Result};
use credence::explain::{learning_curve, CurveOptions};
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
        let mut v = serde_json::to_value(&c)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("runs");
        }
        println!("{v}");
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

/// `credence prior-check`.
pub fn prior_check(_a: &PriorCheckArgs) -> Result<()> {
    bail!("not yet")
}

/// `credence sensitivity`.
pub fn sensitivity(_a: &SensitivityArgs) -> Result<()> {
    bail!("not yet")
}
