//! Times the vectorised tanh (value and derivative, `kernels::activate`) on n values, for
//! tuning: `cargo run --release -p credence --example tanh_loop -- 800 100000` (n values, calls;
//! 800 values stay in L1, as in the fused gradient's blocks). Prints the best of 20 batches,
//! scaled to the boston gradient's 22 750 hidden units.
use credence::nn::{kernels::activate, Activation, Isa};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(800);
    let reps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50_000);
    let src: Vec<f64> = (0..n)
        .map(|i| ((i * 7919) % 1000) as f64 / 250.0 - 2.0)
        .collect();
    let mut z = src.clone();
    let mut d = vec![0.0; n];
    let isa = Isa::detect();
    let mut best = f64::INFINITY;
    let mut s = 0.0;
    for _ in 0..20 {
        let t = std::time::Instant::now();
        for _ in 0..reps / 20 {
            z.copy_from_slice(&src);
            activate(isa, Activation::Tanh, &mut z, &mut d);
            s += z[n / 2] + d[n / 3];
        }
        best = best.min(t.elapsed().as_secs_f64() / (reps / 20).max(1) as f64);
    }
    println!(
        "{s:.3}: tanh on {n} values ({}): {:.2} ns per value, {:.2} µs per 22 750 values",
        isa.name(),
        best * 1e9 / n as f64,
        best * 1e6 * 22_750.0 / n as f64
    );
}
