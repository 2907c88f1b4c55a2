//! Sampling your own log density with Credence's NUTS: a correlated 2-D Gaussian.
//!
//! Run with `cargo run --release -p credence --example custom_density`.

use credence::eval::diagnostics::QuantitySummary;
use credence::infer::{sample, SampleOptions};
use credence::{LogDensity, Result};

/// N(0, Σ) with Σ = [[1, ρ], [ρ, 1]].
#[derive(Clone)]
struct CorrelatedGaussian {
    rho: f64,
}

impl LogDensity for CorrelatedGaussian {
    fn dim(&self) -> usize {
        2
    }

    fn logp_grad(&mut self, t: &[f64], grad: &mut [f64]) -> Result<f64> {
        // Σ⁻¹ = [[1, −ρ], [−ρ, 1]] / (1 − ρ²)
        let c = 1.0 / (1.0 - self.rho * self.rho);
        let (x, y) = (t[0], t[1]);
        grad[0] = -c * (x - self.rho * y);
        grad[1] = -c * (y - self.rho * x);
        Ok(-0.5 * c * (x * x - 2.0 * self.rho * x * y + y * y))
    }
}

fn main() -> Result<()> {
    let density = CorrelatedGaussian { rho: 0.9 };
    let options = SampleOptions {
        chains: 4,
        warmup: 500,
        draws: 500,
        ..SampleOptions::default()
    };
    let samples = sample(&density, &options, 42)?;
    println!(
        "{:<10} {:>8} {:>8} {:>8} {:>7} {:>8} {:>8}",
        "", "mean", "sd", "mcse", "R-hat", "ESS bulk", "ESS tail"
    );
    for i in 0..density.dim() {
        let q = QuantitySummary::new(format!("x[{i}]"), &samples.param(i));
        println!(
            "{:<10} {:>8.3} {:>8.3} {:>8.4} {:>7.3} {:>8.0} {:>8.0}",
            q.name, q.mean, q.sd, q.mcse_mean, q.rhat, q.ess_bulk, q.ess_tail
        );
    }
    let step: Vec<String> = samples
        .chains
        .iter()
        .map(|c| format!("{:.2}", c.step_size))
        .collect();
    println!(
        "divergences: {}, step sizes: {}",
        samples.divergences(),
        step.join(" ")
    );
    Ok(())
}
