//! Failures `scripts/soak` found, kept as tests (see docs/RELIABILITY.md, "Soak").

use credence::config::Config;
use credence::data::Dataset;
use credence::infer::{Method, Silent};
use credence::{fit, FitOptions};

/// Samplers with a Poisson likelihood: the convergence diagnostics indexed class
/// probabilities that counts do not have, and panicked (index out of bounds).
#[test]
fn samplers_fit_poisson_counts() {
    let rows = 40;
    let x: Vec<f64> = (0..rows * 2)
        .map(|i| ((i * 37) % 17) as f64 / 8.0 - 1.0)
        .collect();
    let y: Vec<f64> = (0..rows).map(|r| ((r * 7) % 5) as f64).collect();
    let data = Dataset::from_arrays(x, y, 2).unwrap();
    let base =
        "[model]\nhidden = [3]\nlikelihood = { family = \"poisson\" }\n[training]\nepochs = 10\n";
    for (method, inference) in [
        (
            Method::Nuts,
            "chains = 1\nwarmup = 20\ndraws = 10\nmax_depth = 4\n",
        ),
        (
            Method::Hmc,
            "chains = 1\nwarmup = 20\ndraws = 10\nhmc_steps = 4\n",
        ),
        (
            Method::Sgld,
            "chains = 1\nepochs = 20\nburnin = 10\nthin = 2\n",
        ),
    ] {
        let cfg = Config::parse("p.toml", &format!("{base}[inference]\n{inference}")).unwrap();
        let m = fit(
            &data,
            &cfg,
            FitOptions {
                method,
                seed: 3,
                progress: &Silent,
                strict_columns: true,
            },
        );
        let m = m.unwrap_or_else(|e| panic!("{}: {e}", method.name()));
        let p = m.predict(&data, 0);
        assert!(p.is_ok(), "{}: {:?}", method.name(), p.err());
    }
}
