//! Runs N gradients of a grad-bench case, for profilers (`perf stat`/`perf record`):
//! `cargo run --release -p credence --example grad_loop -- small f64 3000`.

use credence::bench::grad::{GradCase, GradTask};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = match args.get(1).map(String::as_str) {
        Some("big") => GradCase::big(),
        _ => GradCase::small(),
    };
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let mut s = 0.0;
    if args.get(2).map(String::as_str) == Some("f32") {
        let mut t = GradTask::<f32>::new(&case);
        let th: Vec<f32> = case.theta.iter().map(|&v| v as f32).collect();
        let mut g = vec![0.0f32; th.len()];
        for _ in 0..n {
            s += f64::from(t.value_grad(&th, &mut g));
        }
    } else {
        let mut t = GradTask::<f64>::new(&case);
        let mut g = vec![0.0; case.theta.len()];
        for _ in 0..n {
            s += t.value_grad(&case.theta, &mut g);
        }
    }
    println!("{}", s / n as f64);
}
