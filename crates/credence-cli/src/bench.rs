//! `credence bench uci`.

use crate::cli::{BenchCommand, UciArgs};
use crate::io;
use crate::progress::Bar;
use anyhow::{Context, Result};
use credence::Method;

/// Runs a benchmark subcommand.
pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Uci(a) => uci(&a),
    }
}

fn uci(a: &UciArgs) -> Result<()> {
    let method = Method::parse(&a.method)?;
    let mut config = io::config(a.config.as_deref())?;
    a.laplace.apply(&mut config.inference);
    let bar = Bar::new(!a.output.json && !a.output.quiet);
    let r = credence::uci::run(&a.dir, method, &config, a.splits, a.seed, &bar)
        .with_context(|| format!("running the UCI protocol on {}", a.dir.display()))?;
    if a.output.json {
        let mut v = serde_json::to_value(&r)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("per_split");
        }
        println!("{v}");
        return Ok(());
    }
    println!(
        "UCI {} — {} splits, {:.1} s",
        r.dataset, r.splits, r.seconds
    );
    println!("{:<40} {:>15} {:>16}", "method", "test RMSE", "test LL");
    println!(
        "{:<40} {:>8.3} ± {:<5.3} {:>8.3} ± {:<5.3}",
        format!("credence {} (this run)", r.method),
        r.rmse_mean,
        r.rmse_se,
        r.ll_mean,
        r.ll_se
    );
    let published = a.published.clone().or_else(|| {
        let p = a.dir.parent()?.join("published_results.csv");
        p.exists().then_some(p)
    });
    if let Some(p) = published {
        for row in credence::uci::published(&p, &r.dataset)? {
            let f = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.2}"));
            println!(
                "{:<40} {:>8} ± {:<5} {:>8} ± {:<5}",
                row.method,
                f(row.rmse_mean),
                f(row.rmse_se),
                f(row.ll_mean),
                f(row.ll_se)
            );
        }
    }
    Ok(())
}
