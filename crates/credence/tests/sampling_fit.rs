//! Sampling a network inside `fit`: draws stored in the artifact, predictions averaged over
//! draws, diagnostics recorded, and the same draws whatever the number of threads.

use credence::config::Config;
use credence::data::uci::UciFolder;
use credence::infer::{McmcOutcome, Method, Silent};
use credence::{fit, FitOptions, Predictive};
use std::path::Path;

fn yacht() -> (credence::data::Dataset, credence::data::Dataset) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/yacht");
    let f = UciFolder::open(&dir).unwrap();
    f.split(0).unwrap()
}

fn config(extra: &str) -> Config {
    let text = format!(
        "[model]\nhidden = [10]\n[training]\nepochs = 200\n[inference]\nchains = 2\n{extra}\n"
    );
    Config::parse("test.toml", &text).unwrap()
}

fn run(method: Method, cfg: &Config, seed: u64) -> credence::FittedModel {
    let (train, _) = yacht();
    fit(
        &train,
        cfg,
        FitOptions {
            method,
            seed,
            progress: &Silent,
            strict_columns: false,
        },
    )
    .unwrap()
}

#[test]
fn nuts_fit_stores_draws_and_diagnostics() {
    let cfg = config("warmup = 150\ndraws = 40");
    let m = run(Method::Nuts, &cfg, 3);
    let o: McmcOutcome = serde_json::from_value(m.record.outcome.clone()).unwrap();
    assert_eq!(o.chains.len(), 2);
    assert_eq!(o.init_map.len(), 2, "MAP initialisation is recorded");
    assert!(o.quantities.iter().any(|q| q.name == "log density"));
    assert!(o
        .quantities
        .iter()
        .any(|q| q.name.starts_with("noise precision")));
    assert_eq!(
        o.quantities
            .iter()
            .filter(|q| q.name.starts_with("predictive mean"))
            .count(),
        5
    );
    assert!(!o.report_lines().is_empty());
    let t = m.posterior.tensors();
    assert_eq!(t[0].shape[0], 80, "2 chains × 40 draws");

    // Artifact round trip: same predictions from the loaded model.
    let (_, test) = yacht();
    let dir = tempfile::tempdir().unwrap();
    credence::artifact::save(dir.path(), &m).unwrap();
    let back = credence::artifact::load(dir.path()).unwrap();
    let (Predictive::Regression(a), Predictive::Regression(b)) = (
        m.predict(&test, 0).unwrap(),
        back.predict(&test, 0).unwrap(),
    ) else {
        panic!("regression expected")
    };
    // Equal up to rounding in the JSON round trip of the standardiser (relative 1e-12).
    for (x, y) in a.mean().iter().zip(b.mean()) {
        assert!((x - y).abs() <= 1e-12 * (1.0 + x.abs()), "{x} vs {y}");
    }
    // Several distinct draws: the epistemic variance (spread of the means) is positive.
    assert!(a.epistemic_var().iter().all(|v| *v > 0.0));
    assert!(a.aleatoric_var().iter().all(|v| *v > 0.0));
}

#[test]
fn same_seed_same_draws_whatever_the_thread_count() {
    let c = config("warmup = 60\ndraws = 10\nmax_depth = 6\ninit = \"random\"");
    let draws = |threads: usize, method: Method| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| run(method, &c, 9).posterior.tensors()[0].data.clone())
    };
    for method in [Method::Nuts, Method::Hmc] {
        assert_eq!(draws(1, method), draws(2, method), "{method:?}");
    }
}

#[test]
fn sgld_and_sghmc_fit() {
    for (method, sched) in [(Method::Sgld, "constant"), (Method::Sghmc, "cyclical")] {
        let cfg = config(&format!(
            "epochs = 40\nburnin = 20\nthin = 2\ncycles = 2\nschedule = \"{sched}\""
        ));
        let m = run(method, &cfg, 5);
        let o: McmcOutcome = serde_json::from_value(m.record.outcome.clone()).unwrap();
        assert_eq!(o.sampler, method.name());
        assert!(m.posterior.tensors()[0].shape[0] >= 2);
        // Yacht is nearly noise-free: the default step size 0.05 blows up at the MAP start,
        // is divided by 5 until the chain is stable, and every reduction is reported.
        if method == Method::Sgld {
            assert!(
                o.warnings.iter().any(|w| w.contains("retried with 0.01")),
                "{:?}",
                o.warnings
            );
            assert!(o.settings.sg.learning_rate < 0.05);
        }
    }
    // A step size the user set is kept, and its failure is an error that says what to try.
    let cfg = config("epochs = 10\nburnin = 5\nlearning_rate = 0.05");
    let (train, _) = yacht();
    let opts = FitOptions {
        method: Method::Sgld,
        seed: 5,
        progress: &Silent,
        strict_columns: false,
    };
    let e = fit(&train, &cfg, opts).unwrap_err().to_string();
    assert!(e.contains("try a smaller learning_rate"), "{e}");
}

#[test]
fn unknown_inference_keys_are_named() {
    let cfg = config("chainz = 3");
    let (train, _) = yacht();
    let e = fit(
        &train,
        &cfg,
        FitOptions {
            method: Method::Nuts,
            seed: 0,
            progress: &Silent,
            strict_columns: false,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("chainz") && e.contains("chains"), "{e}");
}
