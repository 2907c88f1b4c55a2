//! An oversized network is a clear error before anything is allocated, not an abort.

use credence::config::Config;
use credence::data::Dataset;
use credence::infer::{Method, Silent};
use credence::{fit, FitOptions};

#[test]
fn an_oversized_network_is_refused_with_its_size_and_the_alternative() {
    let data = Dataset::from_arrays(
        (0..40).map(|i| i as f64).collect(),
        (0..20).map(|i| i as f64).collect(),
        2,
    )
    .unwrap();
    let cfg = Config::parse("big.toml", "[model]\nhidden = [100000000]\n").unwrap();
    for method in [Method::Map, Method::Nuts, Method::Laplace] {
        let e = fit(
            &data,
            &cfg,
            FitOptions {
                method,
                seed: 0,
                progress: &Silent,
                strict_columns: true,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("needs at least") && e.contains("GB") && e.contains("model.hidden"),
            "{e}"
        );
    }
}
