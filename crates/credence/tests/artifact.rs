//! Saving and loading fitted models: round trip, and clear errors for damaged artifacts.

use credence::artifact::{load, save, RECORD_FILE};
use credence::config::Config;
use credence::data::Dataset;
use credence::fit::{fit, FitOptions};
use credence::infer::Silent;
use credence::{Method, Predictive};

fn small_fit(method: Method) -> (credence::FittedModel, Dataset) {
    let mut r = credence::rng::stream(1, 0);
    let x: Vec<f64> = (0..60 * 3).map(|_| credence::rng::normal(&mut r)).collect();
    let y: Vec<f64> = (0..60)
        .map(|i| x[3 * i] - 2.0 * x[3 * i + 2] + 0.1 * credence::rng::normal(&mut r))
        .collect();
    let data = Dataset::from_arrays(x, y, 3).unwrap();
    let mut cfg = Config::default();
    cfg.model.hidden = vec![8];
    cfg.training.epochs = 50;
    let m = fit(
        &data,
        &cfg,
        FitOptions {
            method,
            seed: 4,
            progress: &Silent,
            strict_columns: true,
        },
    )
    .unwrap();
    (m, data)
}

fn means(p: Predictive) -> Vec<f64> {
    match p {
        Predictive::Regression(r) => r.mean(),
        Predictive::Classification(c) => c.probs(),
        Predictive::MultiRegression(v) => v.iter().flat_map(|r| r.mean()).collect(),
    }
}

#[test]
fn round_trip_gives_identical_predictions_and_record() {
    let dir = tempfile::tempdir().unwrap();
    for method in [Method::Mle, Method::Map] {
        let (m, data) = small_fit(method);
        save(dir.path(), &m).unwrap();
        let back = load(dir.path()).unwrap();
        assert_eq!(back.record, m.record);
        assert_eq!(
            means(back.predict(&data, 0).unwrap()),
            means(m.predict(&data, 0).unwrap())
        );
    }
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn mle_is_recorded_as_no_prior() {
    let (m, _) = small_fit(Method::Mle);
    assert_eq!(m.record.prior_summary, "no prior (maximum likelihood)");
    assert!(m.record.priors.is_none());
    let (m, _) = small_fit(Method::Map);
    assert!(
        m.record.prior_summary.contains("[default]"),
        "{}",
        m.record.prior_summary
    );
}

#[test]
fn damaged_artifacts_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (m, _) = small_fit(Method::Map);
    save(dir.path(), &m).unwrap();
    let rec = dir.path().join(RECORD_FILE);
    let text = std::fs::read_to_string(&rec).unwrap();

    std::fs::write(&rec, text.replace(env!("CARGO_PKG_VERSION"), "0.0.1")).unwrap();
    let e = load(dir.path()).unwrap_err().to_string();
    assert!(e.contains("written by Credence 0.0.1"), "{e}");

    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    // A hidden width that does not match the stored parameters (the outputs kept).
    let outputs = v["model"]["mlp"]["sizes"][2].clone();
    v["model"]["mlp"]["sizes"] = serde_json::json!([3, 9, outputs]);
    std::fs::write(&rec, v.to_string()).unwrap();
    let e = load(dir.path()).unwrap_err().to_string();
    assert!(e.contains("parameters have length"), "{e}");

    std::fs::write(&rec, "{ not json").unwrap();
    let e = load(dir.path()).unwrap_err().to_string();
    assert!(e.contains("cannot read the fit record"), "{e}");

    let e = load(&dir.path().join("nowhere")).unwrap_err().to_string();
    assert!(e.contains("no model.json"), "{e}");
}

#[test]
fn the_same_fit_saves_the_same_bytes() {
    // Two fits with the same seed, each saved: byte-identical files (model.json and the
    // safetensors file, metadata included), not merely equal tensors.
    let dir = tempfile::tempdir().unwrap();
    for (k, method) in [Method::Map, Method::Ensemble].into_iter().enumerate() {
        let a = dir.path().join(format!("a{k}"));
        let b = dir.path().join(format!("b{k}"));
        save(&a, &small_fit(method).0).unwrap();
        save(&b, &small_fit(method).0).unwrap();
        for f in [RECORD_FILE, credence::artifact::TENSORS_FILE] {
            let (x, y) = (
                std::fs::read(a.join(f)).unwrap(),
                std::fs::read(b.join(f)).unwrap(),
            );
            if f == RECORD_FILE {
                // The record holds wall-clock timings; everything else must match.
                let strip = |v: &[u8]| {
                    let mut j: serde_json::Value = serde_json::from_slice(v).unwrap();
                    j["outcome"] = serde_json::Value::Null;
                    j
                };
                assert_eq!(strip(&x), strip(&y), "{method:?} {f}");
            } else {
                assert!(
                    x == y,
                    "{method:?}: {f} differs between two saves of the same fit"
                );
            }
        }
    }
}

#[test]
fn swag_and_multiswag_round_trip() {
    use credence::infer::swag::SwagPosterior;
    let dir = tempfile::tempdir().unwrap();
    let mut r = credence::rng::stream(2, 0);
    let x: Vec<f64> = (0..50 * 2).map(|_| credence::rng::normal(&mut r)).collect();
    let y: Vec<f64> = (0..50)
        .map(|i| x[2 * i] - x[2 * i + 1] + 0.1 * credence::rng::normal(&mut r))
        .collect();
    let data = Dataset::from_arrays(x, y, 2).unwrap();
    for (method, extra) in [(Method::Swag, ""), (Method::MultiSwag, "members = 2\n")] {
        let text = format!(
            "[model]\nhidden = [4]\n[training]\nepochs = 20\n[inference]\nepochs = 8\nburn_in = 2\nrank = 3\nsamples = 4\n{extra}"
        );
        let cfg = Config::parse("swag.toml", &text).unwrap();
        let m = fit(
            &data,
            &cfg,
            FitOptions {
                method,
                seed: 3,
                progress: &Silent,
                strict_columns: true,
            },
        )
        .unwrap();
        assert_eq!(m.posterior.kind(), "swag");
        save(dir.path(), &m).unwrap();
        let back = load(dir.path()).unwrap();
        assert_eq!(back.record, m.record);
        let t = |p: &dyn credence::infer::Posterior| {
            p.tensors()
                .into_iter()
                .map(|t| (t.name.clone(), t))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let (a, b) = (t(m.posterior.as_ref()), t(back.posterior.as_ref()));
        assert_eq!(a, b);
        let post = SwagPosterior::from_tensors(&a).unwrap();
        let members = if method == Method::Swag { 1 } else { 2 };
        assert_eq!(post.members.len(), members);
        assert_eq!(post.members[0].deviations.len(), 3);
        assert_eq!(
            means(back.predict(&data, 0).unwrap()),
            means(m.predict(&data, 0).unwrap())
        );
        assert!(m.record.information.is_some());
    }
}
