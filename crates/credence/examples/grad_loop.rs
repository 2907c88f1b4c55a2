//! Runs N gradients of a grad-bench case, for profilers (`perf record -e cpu-clock`):
//! `cargo run --release -p credence --example grad_loop -- small f64 3000`
//! (cases `small`, `big`, `boston`, `rowsN` (13→50→1 on N rows), `bigN` (8→100→100→1 on N rows); precisions `f64` (engine), `f32` (engine), `model`
//! (f64 through `Model::logp_grad`, what samplers call; boston reads `data/bostonHousing`;
//! `model1` forces one thread, `pool` and `pool1` run the loop inside the rayon pool)).

use credence::bench::grad::{GradCase, GradTask};
use credence::density::LogDensity;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let case = match args.get(1).map(String::as_str) {
        Some("big") => GradCase::big(),
        Some("boston") => GradCase::boston(std::path::Path::new("data/bostonHousing"))?,
        // `rowsN`: the small case's 13→50→1 network on N synthetic rows (threshold tuning).
        Some(r) if r.starts_with("rows") => {
            GradCase::synthetic("rows", &[13, 50, 1], r[4..].parse()?, 1000)
        }
        // `bigN`: the big case's 8→100→100→1 network on N synthetic rows.
        Some(r) if r.starts_with("big") && r.len() > 3 => {
            GradCase::synthetic("bigN", &[8, 100, 100, 1], r[3..].parse()?, 100)
        }
        _ => GradCase::small(),
    };
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let mut s = 0.0;
    let t0 = std::time::Instant::now();
    match args.get(2).map(String::as_str) {
        Some("f32") => {
            let mut t = GradTask::<f32>::new(&case);
            let th: Vec<f32> = case.theta.iter().map(|&v| v as f32).collect();
            let mut g = vec![0.0f32; th.len()];
            for _ in 0..n {
                s += f64::from(t.value_grad(&th, &mut g));
            }
        }
        Some(mode @ ("model" | "model1" | "pool" | "pool1")) => {
            let mut m = case.model()?;
            if mode.ends_with('1') {
                m.set_threads(1);
            }
            let mut g = vec![0.0; case.theta.len()];
            if mode.starts_with("pool") {
                // Inside the rayon pool, as NUTS chains run (nested joins are cheap there).
                let (theta, m, g, s) = (&case.theta, &mut m, &mut g, &mut s);
                rayon::scope(move |_| {
                    for _ in 0..n {
                        *s += m.logp_grad(theta, g).unwrap_or(f64::NAN);
                    }
                });
            } else {
                for _ in 0..n {
                    s += m.logp_grad(&case.theta, &mut g)?;
                }
            }
        }
        _ => {
            let mut t = GradTask::<f64>::new(&case);
            let mut g = vec![0.0; case.theta.len()];
            for _ in 0..n {
                s += t.value_grad(&case.theta, &mut g);
            }
        }
    }
    let us = t0.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("{} ({us:.1} µs per gradient)", s / n as f64);
    Ok(())
}
