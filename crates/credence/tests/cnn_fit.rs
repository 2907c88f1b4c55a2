//! Convolutional networks as models: a `[model] layers` config fits the bundled 8×8 digits with
//! every inference method, the CNN beats chance by far, saved CNN models round-trip, old MLP
//! model files still load, and a bad description is a clear error.

use credence::artifact::{load, save};
use credence::config::Config;
use credence::data::{read_table, stratified_split, Dataset};
use credence::fit::{fit, FitOptions};
use credence::infer::Silent;
use credence::model::ModelSpec;
use credence::{Method, Predictive};
use std::path::Path;

fn digits(rows: usize) -> Dataset {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/classification/digits.csv");
    let d =
        Dataset::from_table(&read_table(&p, &Default::default()).unwrap(), "label", None).unwrap();
    let d = d.subset(&(0..rows.min(d.rows)).collect::<Vec<_>>());
    d.with_input_shape(&[1, 8, 8]).unwrap()
}

const SMALL_CNN: &str = r#"
[model]
layers = [ {conv2d = {out = 4, kernel = 3, padding = 1}}, {pool = "max2"}, {dense = 16} ]
[model.likelihood]
family = "categorical"
[training]
epochs = 25
"#;

fn fit_with(data: &Dataset, toml: &str, method: Method) -> credence::FittedModel {
    let cfg = Config::parse("cnn.toml", toml).unwrap();
    fit(
        data,
        &cfg,
        FitOptions {
            method,
            seed: 3,
            progress: &Silent,
            strict_columns: true,
        },
    )
    .unwrap_or_else(|e| panic!("{method:?}: {e}"))
}

fn accuracy(p: &Predictive, y: &[f64]) -> f64 {
    let Predictive::Classification(c) = p else {
        panic!("expected class probabilities")
    };
    let probs = c.probs();
    let k = c.classes;
    let hits = y
        .iter()
        .enumerate()
        .filter(|(i, &t)| {
            let row = &probs[i * k..(i + 1) * k];
            let best = (0..k).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            best == t as usize
        })
        .count();
    hits as f64 / y.len() as f64
}

#[test]
fn every_method_fits_a_cnn_and_predicts() {
    let data = digits(300);
    let extra = [
        (Method::Mle, ""),
        (Method::Map, ""),
        (Method::Ensemble, "[inference]\nmembers = 2\n"),
        (
            Method::Laplace,
            "[inference]\nsubset = \"all\"\nhessian = \"kfac\"\n",
        ),
        (
            Method::Laplace,
            "[inference]\nsubset = \"all\"\nhessian = \"diag\"\n",
        ),
        (
            Method::Laplace,
            "[inference]\nsubset = \"last-layer\"\nhessian = \"full\"\n",
        ),
        (Method::McDropout, "[inference]\nrate = 0.1\n"),
        (Method::Vi, "[inference]\nepochs = 40\n"),
        (Method::AnchoredEnsemble, "[inference]\nmembers = 2\n"),
        (Method::Sgld, ""),
        (Method::Sghmc, ""),
        (Method::Swag, ""),
        (Method::MultiSwag, "[inference]\nmembers = 2\n"),
    ];
    for (method, inf) in extra {
        let m = fit_with(&data, &format!("{SMALL_CNN}{inf}"), method);
        assert_eq!(m.record.model.net.kind(), "cnn");
        let p = m.predict(&data, 0).unwrap();
        let acc = accuracy(&p, &data.y);
        // Ten classes: chance is 0.1; every method must have learnt something on its
        // training rows (a broken gradient or curvature gives chance or NaN).
        assert!(acc > 0.5, "{method:?} {inf}: training accuracy {acc}");
    }
}

#[test]
fn cnn_map_generalises_on_digits() {
    let data = digits(2000);
    let (tr, te) = stratified_split(&data.y, 0.25, 0);
    let (train, test) = (data.subset(&tr), data.subset(&te));
    let toml = SMALL_CNN.replace("epochs = 25", "epochs = 60");
    let m = fit_with(&train, &toml, Method::Map);
    let acc = accuracy(&m.predict(&test, 0).unwrap(), &test.y);
    assert!(acc > 0.9, "test accuracy {acc}");
}

#[test]
fn saved_cnn_round_trips() {
    let data = digits(200);
    let dir = tempfile::tempdir().unwrap();
    for method in [Method::Map, Method::Laplace] {
        let m = fit_with(&data, SMALL_CNN, method);
        save(dir.path(), &m).unwrap();
        let back = load(dir.path()).unwrap();
        assert_eq!(back.record, m.record);
        let probs = |p: Predictive| match p {
            Predictive::Classification(c) => c.probs(),
            _ => panic!("expected class probabilities"),
        };
        assert_eq!(
            probs(back.predict(&data, 0).unwrap()),
            probs(m.predict(&data, 0).unwrap())
        );
        let json = std::fs::read_to_string(dir.path().join(credence::artifact::RECORD_FILE))
            .unwrap_or_default();
        if !json.is_empty() {
            assert!(
                json.contains("\"cnn\""),
                "the record names the network kind"
            );
        }
    }
}

#[test]
fn old_mlp_model_records_still_read() {
    // A model spec as files written before CNNs existed spell it.
    let old = r#"{"mlp": {"sizes": [3, 4, 1], "activation": "tanh"},
                  "likelihood": {"family": "gaussian", "noise": null}}"#;
    let spec: ModelSpec = serde_json::from_str(old).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec.net.kind(), "mlp");
    assert_eq!(spec.dim(), 3 * 4 + 4 + 4 + 1 + 1);
    let back = serde_json::to_value(&spec).unwrap();
    assert!(back.get("mlp").is_some(), "{back}");
}

#[test]
fn bad_network_descriptions_are_clear_errors() {
    let data = Dataset::from_arrays(
        vec![0.0; 20 * 6],
        (0..20).map(|i| (i % 2) as f64).collect(),
        6,
    )
    .unwrap();
    let err = |toml: &str| {
        let cfg = match Config::parse("bad.toml", toml) {
            Ok(c) => c,
            Err(e) => return e.to_string(),
        };
        fit(
            &data,
            &cfg,
            FitOptions {
                method: Method::Map,
                seed: 0,
                progress: &Silent,
                strict_columns: false,
            },
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
    };
    let e = err("[model]\nlayers = [ {conv2d = {out = 2, kernel = 3}} ]\n");
    assert!(e.contains("input_shape"), "{e}");
    let e =
        err("[model]\nlayers = [ {conv2d = {out = 2, kernel = 3}} ]\ninput_shape = [1, 4, 4]\n");
    assert!(e.contains("6 feature columns"), "{e}");
    let e = err("[model]\ninput_shape = [1, 2, 3]\n");
    assert!(e.contains("layers"), "{e}");
    let e =
        err("[model]\nlayers = [ {conv2d = {out = 2, kernel = 5}} ]\ninput_shape = [1, 2, 3]\n");
    assert!(e.contains("layers") && e.contains("kernel"), "{e}");
    let e = err("[model]\nlayers = [ {pool = \"avg0\"} ]\ninput_shape = [1, 2, 3]\n");
    assert!(e.contains("avg0"), "{e}");
}

#[test]
fn nuts_and_hmc_sample_a_tiny_conv1d_net() {
    // y = a smoothed bump's position in a noisy 1-D signal of width 8: a conv1d regression
    // small enough (2 channels, 21 weights) for full-batch samplers.
    let mut r = credence::rng::stream(5, 0);
    let rows = 60;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..rows {
        let c = credence::rng::uniform(&mut r) * 7.0;
        for i in 0..8 {
            let d = i as f64 - c;
            x.push((-d * d).exp() + 0.05 * credence::rng::normal(&mut r));
        }
        y.push(c);
    }
    let data = Dataset::from_arrays(x, y, 8)
        .unwrap()
        .with_input_shape(&[1, 8])
        .unwrap();
    let toml = "[model]\nlayers = [ {conv1d = {out = 2, kernel = 3}}, {dense = 3} ]\n\
                [inference]\nchains = 1\nwarmup = 150\ndraws = 100\n";
    for method in [Method::Nuts, Method::Hmc] {
        let m = fit_with(&data, toml, method);
        let Predictive::Regression(p) = m.predict(&data, 0).unwrap() else {
            panic!("expected a regression predictive")
        };
        let mean = p.mean();
        let sse: f64 = mean.iter().zip(&data.y).map(|(a, b)| (a - b).powi(2)).sum();
        let var: f64 = {
            let my = data.y.iter().sum::<f64>() / rows as f64;
            data.y.iter().map(|v| (v - my).powi(2)).sum()
        };
        // The bump's position is learnable: the posterior mean explains most of the variance.
        assert!(sse < 0.5 * var, "{method:?}: R² {}", 1.0 - sse / var);
    }
}
