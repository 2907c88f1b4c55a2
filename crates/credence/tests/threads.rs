//! Bitwise reproducibility across thread counts: the same seed and data give the same model on
//! 1 and 2 threads, with batches large enough that the gradient splits its rows (the fused
//! one-hidden-layer path and the chunked deep path), for MAP (full batch), Laplace, a deep
//! ensemble and NUTS.

use credence::config::Config;
use credence::data::uci::UciFolder;
use credence::infer::{Method, Silent};
use credence::{fit, FitOptions};
use std::path::Path;

fn boston() -> credence::data::Dataset {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/bostonHousing");
    UciFolder::open(&dir).unwrap().split(0).unwrap().0
}

/// The posterior's tensors (as bit patterns) of a fit run on a pool of `threads` threads.
fn bits(threads: usize, method: Method, cfg: &Config) -> Vec<Vec<u64>> {
    let data = boston();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let m = fit(
            &data,
            cfg,
            FitOptions {
                method,
                seed: 11,
                progress: &Silent,
                strict_columns: false,
            },
        )
        .unwrap();
        m.posterior
            .tensors()
            .iter()
            .map(|t| t.data.iter().map(|v| v.to_bits()).collect())
            .collect()
    })
}

#[test]
fn one_and_two_threads_give_the_same_model() {
    // 455 rows × 14 × 50 hidden units = 318 500 ≥ FUSED_PAR_MIN: the rows are split.
    let one_layer = "[model]\nhidden = [50]\n";
    let cases = [
        (Method::Map, format!("{one_layer}[training]\noptimizer = \"lbfgs\"\nepochs = 60\n")),
        (Method::Nuts, format!("{one_layer}[training]\nepochs = 30\n[inference]\nchains = 2\nwarmup = 30\ndraws = 8\nmax_depth = 5\n")),
        (Method::Nuts, "[model]\nhidden = [40, 40]\n[training]\nepochs = 30\n[inference]\nchains = 1\nwarmup = 20\ndraws = 6\nmax_depth = 5\n".to_string()),
        (Method::Laplace, format!("{one_layer}[training]\nepochs = 40\n[inference]\nonline_epochs = 60\nonline_burn_in = 10\n")),
        (Method::Ensemble, format!("{one_layer}[training]\nepochs = 30\nbatch_size = 0\n[inference]\nmembers = 2\n")),
    ];
    for (method, text) in cases {
        let cfg = Config::parse("t.toml", &text).unwrap();
        assert_eq!(
            bits(1, method, &cfg),
            bits(2, method, &cfg),
            "{method:?} with\n{text}"
        );
    }
}
