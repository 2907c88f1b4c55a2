//! An oversized run is a clear error before anything is allocated, not an abort: the network
//! itself, and what each method keeps (draws, members, VI's scales, a Laplace curvature),
//! against the machine's available memory or a set `max_memory`.

use credence::config::Config;
use credence::data::Dataset;
use credence::infer::{Method, Silent};
use credence::{fit, FitOptions};

fn run(data: &Dataset, config: &str, method: Method) -> Result<credence::FittedModel, String> {
    let cfg = Config::parse("run.toml", config).map_err(|e| e.to_string())?;
    fit(
        data,
        &cfg,
        FitOptions {
            method,
            seed: 0,
            progress: &Silent,
            strict_columns: true,
        },
    )
    .map_err(|e| e.to_string())
}

/// 200 rows of 5 features and a smooth target (seeded, deterministic).
fn table() -> Dataset {
    let rows = 200;
    let x: Vec<f64> = (0..rows * 5)
        .map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0)
        .collect();
    let y: Vec<f64> = (0..rows)
        .map(|r| x[r * 5] - 0.5 * x[r * 5 + 1] + 0.1 * ((r * 31) % 7) as f64)
        .collect();
    Dataset::from_arrays(x, y, 5).unwrap()
}

#[test]
fn an_oversized_network_is_refused_with_its_size_and_the_alternative() {
    let data = Dataset::from_arrays(
        (0..40).map(|i| i as f64).collect(),
        (0..20).map(|i| i as f64).collect(),
        2,
    )
    .unwrap();
    for method in [Method::Map, Method::Nuts, Method::Laplace] {
        let e = run(&data, "[model]\nhidden = [100000000]\n", method).unwrap_err();
        assert!(
            e.contains("not enough memory")
                && e.contains("hidden = [100000000]")
                && e.contains("needs at least")
                && e.contains("model.hidden"),
            "{e}"
        );
    }
}

#[test]
fn a_full_hessian_too_large_for_the_machine_names_kfac_and_diag() {
    // 2.0 M parameters: the network fits in memory, a dense 2 M × 2 M precision (97 TB) does not.
    let e = run(
        &table(),
        "[model]\nhidden = [2000, 1000]\n[inference]\nhessian = \"full\"\nmax_full_params = 100000000\n",
        Method::Laplace,
    )
    .unwrap_err();
    assert!(
        e.contains("a full Hessian for 2.0 M parameters needs at least")
            && e.contains("TB")
            && e.contains("hessian = \"kfac\" or \"diag\""),
        "{e}"
    );
}

#[test]
fn max_memory_refuses_each_method_by_what_it_keeps() {
    let data = table();
    // The network (5 → 50 → 1, 352 parameters) on 200 rows: about 350 kB; 400K lets it in.
    let limit = "max_memory = \"400K\"\n[model]\nhidden = [50]\n";
    let cases: [(Method, &str, &str); 6] = [
        (Method::Nuts, "", "nuts keeping 2 chains × 300 draws"),
        (
            Method::Hmc,
            "[inference]\ndraws = 100\nchains = 4\n",
            "4 chains × 100 draws",
        ),
        (Method::Sgld, "", "sgld keeping 4 chains × 100 draws"),
        (
            Method::Ensemble,
            "[inference]\nmembers = 100\n",
            "an ensemble of 100 members",
        ),
        (Method::Vi, "", "variational inference"),
        (
            Method::Laplace,
            "[inference]\nhessian = \"full\"\n",
            "a full Hessian for 4",
        ),
    ];
    for (method, extra, what) in cases {
        let e = run(&data, &format!("{limit}{extra}"), method).unwrap_err();
        assert!(
            e.contains(what) && e.contains("the limit set by max_memory (--max-memory) is 410 kB"),
            "{}: {e}",
            method.name()
        );
    }
    // MAP keeps only the network: it fits within the same limit.
    let m = run(
        &data,
        &format!("{limit}[training]\nepochs = 5\n"),
        Method::Map,
    );
    assert!(m.is_ok(), "{:?}", m.err());
    // And the network alone is refused under a smaller limit.
    let e = run(&data, "max_memory = \"100K\"\n", Method::Map).unwrap_err();
    assert!(
        e.contains("the network (hidden = [50]") && e.contains("102 kB"),
        "{e}"
    );
    // A bad size is a config error naming the key.
    let e = run(&data, "max_memory = \"lots\"\n", Method::Map).unwrap_err();
    assert!(e.contains("max_memory") && e.contains("4G"), "{e}");
}
