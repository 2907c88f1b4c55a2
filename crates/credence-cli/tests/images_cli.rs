//! Images end to end: `fit --data X.npy --labels y.npy`, `predict --data X.npy`, the errors of
//! a bad pairing and a wrong `--input-shape`, and a small `bench shift`.

use std::path::{Path, PathBuf};

mod common;
use common::{fails, ok};

fn digits() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/classification/digits.csv")
}

/// A version 1.0 `.npy` file of `descr` with `shape` and raw little-endian `data`.
fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((h.len() as u16).to_le_bytes());
    out.extend(h.as_bytes());
    out.extend(data);
    out
}

/// The first `rows` digits as `rows×8×8` u1 images and i8 labels.
fn digit_files(dir: &Path, rows: usize) -> (String, String) {
    let text = std::fs::read_to_string(digits()).unwrap();
    let (mut px, mut labels) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1).take(rows) {
        let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
        px.extend(cells[..64].iter().map(|v| *v as u8));
        labels.extend((cells[64] as i64).to_le_bytes());
    }
    let (x, y) = (dir.join("x.npy"), dir.join("y.npy"));
    std::fs::write(&x, npy("|u1", &[rows, 8, 8], &px)).unwrap();
    std::fs::write(&y, npy("<i8", &[rows], &labels)).unwrap();
    (x.display().to_string(), y.display().to_string())
}

#[test]
fn fit_and_predict_from_numpy_files() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = digit_files(dir.path(), 300);
    let cfg = dir.path().join("fast.toml");
    std::fs::write(&cfg, "[model]\nhidden = [16]\n[training]\nepochs = 30\n").unwrap();
    let model = dir.path().join("m");
    let (cfg, model) = (cfg.display().to_string(), model.display().to_string());
    ok(&[
        "fit", "--data", &x, "--labels", &y, "--target", "label", "--method", "map", "--config",
        &cfg, "--out", &model, "--quiet",
    ]);
    let out = ok(&["predict", "--model", &model, "--data", &x]);
    assert_eq!(out.lines().count(), 301, "a header and one line per image");
    // Evaluate reads the same pair (integer labels: a regression on the digit value here).
    let out = ok(&[
        "evaluate", "--model", &model, "--data", &x, "--labels", &y, "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(v["rows"].as_u64(), Some(300), "{v}");
    assert!(
        v["metrics"]["log_lik"].as_f64().is_some_and(f64::is_finite),
        "{v}"
    );
    let m = fails(&["evaluate", "--model", &model, "--data", &x]);
    assert!(
        m.contains("label"),
        "without labels the target column is missing: {m}"
    );
    // Labels need NumPy features; a wrong --input-shape names both counts.
    let m = fails(&[
        "fit",
        "--data",
        &digits().display().to_string(),
        "--labels",
        &y,
        "--target",
        "label",
        "--out",
        &model,
    ]);
    assert!(m.contains("--labels reads NumPy files"), "{m}");
    let m = fails(&[
        "fit",
        "--data",
        &digits().display().to_string(),
        "--target",
        "label",
        "--input-shape",
        "1,8,9",
        "--config",
        &cfg,
        "--out",
        &model,
    ]);
    assert!(
        m.contains("1×8×9 = 72") && m.contains("64 feature columns"),
        "{m}"
    );
    // A damaged file is named with what was expected.
    std::fs::write(&x, b"\x93NUMPY\x01\x00\x05").unwrap();
    let m = fails(&[
        "fit", "--data", &x, "--labels", &y, "--target", "label", "--out", &model,
    ]);
    assert!(
        m.contains("x.npy") && m.contains("ends inside its header"),
        "{m}"
    );
}

#[test]
fn bench_shift_runs_a_small_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("fast.toml");
    std::fs::write(&cfg, "[model]\nhidden = [16]\n[training]\nepochs = 30\n").unwrap();
    let plot = dir.path().join("shift.svg");
    let out = ok(&[
        "bench",
        "shift",
        "--methods",
        "mle,mc-dropout",
        "--network",
        "mlp,cnn",
        "--angles",
        "0,90",
        "--config",
        &cfg.display().to_string(),
        "--plot",
        &plot.display().to_string(),
        "--report",
        &dir.path().join("shift.html").display().to_string(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), 4, "two methods on two networks");
    let nets: Vec<&str> = runs
        .iter()
        .map(|r| r["network"].as_str().unwrap())
        .collect();
    assert_eq!(nets, ["mlp", "mlp", "cnn", "cnn"]);
    for r in runs {
        let rot = r["rotations"].as_array().unwrap();
        let acc = |i: usize| rot[i]["accuracy"].as_f64().unwrap();
        // Eight classes: well above chance upright, far worse turned by 90°.
        assert!(acc(0) > 0.8 && acc(1) < acc(0) - 0.2, "{r}");
        assert!(r["auroc_entropy"].as_f64().unwrap() > 0.5, "{r}");
    }
    for i in [0, 2] {
        assert!(
            runs[i]["auroc_mi"].is_null(),
            "MLE has no mutual information"
        );
        assert!(runs[i + 1]["auroc_mi"].as_f64().is_some());
    }
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("ECE"),
        "the plot has both panels"
    );
    let html = std::fs::read_to_string(dir.path().join("shift.html")).unwrap();
    for part in [
        "<svg",
        "Accuracy",
        "Expected calibration error",
        "AUROC",
        "cnn",
        "mc-dropout",
    ] {
        assert!(html.contains(part), "the report has {part}");
    }
    let m = fails(&["bench", "shift", "--methods", "laplace-diag"]);
    assert!(m.contains("laplace-ll, laplace-kfac"), "{m}");
}

#[test]
fn fit_a_cnn_from_csv_pixels_with_the_configs_input_shape() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cnn.toml");
    std::fs::write(
        &cfg,
        "[model]\nlayers = [ {conv2d = {out = 4, kernel = 3, padding = 1}}, {pool = \"max2\"}, {dense = 16} ]\ninput_shape = [1, 8, 8]\n[model.likelihood]\nfamily = \"categorical\"\n[training]\nepochs = 10\n",
    )
    .unwrap();
    let model = dir.path().join("m").display().to_string();
    let data = digits().display().to_string();
    let cfg = cfg.display().to_string();
    // digits.csv has constant (blank-border) pixels: a CNN keeps them, so the shape holds.
    let out = ok(&[
        "fit", "--data", &data, "--target", "label", "--config", &cfg, "--out", &model,
    ]);
    assert!(out.contains("64 features"), "{out}");
    assert!(
        out.contains("network: cnn [1, 8, 8] → conv1(4, 3×3)"),
        "{out}"
    );
    let out = ok(&["evaluate", "--model", &model, "--data", &data, "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert!(v["metrics"]["accuracy"].as_f64().unwrap() > 0.8, "{v}");
    // The example config is the benchmark's CNN and parses as a fit config.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cnn/digits.toml");
    let cfg = credence::config::Config::from_file(&example).unwrap();
    let bench: Vec<credence::nn::LayerSpec> =
        serde_json::from_str(credence::bench::shift::CNN_LAYERS).unwrap();
    assert_eq!(cfg.model.layers, Some(bench), "{example:?}");
    // A shape that does not match the pixel columns names both counts.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[model]\nlayers = [ {dense = 4} ]\ninput_shape = [1, 8, 9]\n",
    )
    .unwrap();
    let m = fails(&[
        "fit",
        "--data",
        &data,
        "--target",
        "label",
        "--config",
        &bad.display().to_string(),
        "--out",
        &model,
    ]);
    assert!(m.contains("72") && m.contains("64 feature columns"), "{m}");
}
