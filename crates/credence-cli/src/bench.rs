//! `credence bench uci` and `credence bench grad`.

use crate::cli::{BenchCommand, GradArgs, UciArgs};
use crate::io;
use crate::progress::Bar;
use anyhow::{Context, Result};
use credence::Method;

/// Runs a benchmark subcommand.
pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Uci(a) => uci(&a),
        BenchCommand::Grad(a) => grad(&a),
    }
}

fn grad(a: &GradArgs) -> Result<()> {
    use credence::bench::grad::{cpu_name, run_case, GradCase};
    let isa = credence::nn::Isa::detect();
    let mut out = serde_json::Map::new();
    if !a.output.json {
        println!(
            "gradient of U(θ) = Σ(y − f)²/(2σ²) + Σθ²/(2τ²), σ = 0.5, τ = 1 — CPU {}, kernels {}, {} threads",
            cpu_name(),
            isa.name(),
            rayon_threads()
        );
        println!(
            "{:<8} {:>10} {:>10} {:>14} {:>14} {:>14} {:>14}",
            "case", "f64 µs", "f32 µs", "U(θ₀)", "expected", "‖∇U‖²", "expected"
        );
    }
    for name in a.cases.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let case = match name {
            "small" => GradCase::small(),
            "big" => GradCase::big(),
            "boston" => {
                let dir = a.boston.clone().or_else(|| {
                    [
                        std::path::PathBuf::from("data/bostonHousing"),
                        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                            .join("../../data/bostonHousing"),
                    ]
                    .into_iter()
                    .find(|p| p.join("data.txt").exists())
                });
                let Some(dir) = dir else {
                    anyhow::bail!("no bostonHousing folder found: pass --boston DIR");
                };
                GradCase::boston(&dir)
                    .with_context(|| format!("reading bostonHousing from {}", dir.display()))?
            }
            other => anyhow::bail!("unknown case '{other}' (expected small, big or boston)"),
        };
        let r = run_case(&case, a.scale, a.repeats.max(1))
            .with_context(|| format!("running case {name}"))?;
        if !a.output.json {
            let f = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.6e}"));
            println!(
                "{:<8} {:>10.1} {:>10.1} {:>14.6e} {:>14} {:>14.6e} {:>14}",
                name,
                r.f64_us,
                r.f32_us,
                r.loss,
                f(r.expected_loss),
                r.grad_norm2,
                f(r.expected_grad_norm2)
            );
        }
        out.insert(name.to_string(), serde_json::to_value(&r)?);
    }
    out.insert("cpu".into(), cpu_name().into());
    out.insert("isa".into(), isa.name().into());
    out.insert("threads".into(), rayon_threads().into());
    if a.output.json {
        println!("{}", serde_json::Value::Object(out));
    }
    Ok(())
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn uci(a: &UciArgs) -> Result<()> {
    let method = Method::parse(&a.method)?;
    let config = io::config(a.config.as_deref())?;
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
