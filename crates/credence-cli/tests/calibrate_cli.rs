//! `fit --calibrate`, `predict --interval` and `evaluate`'s coverage lines end to end.

use std::path::Path;

mod common;
use common::{credence, ok, repo};

/// The bundled yacht data as CSV; returns (all rows, the first `split` rows, the rest).
fn yacht(dir: &Path, split: usize) -> (String, String, String) {
    let text = std::fs::read_to_string(repo().join("data/yacht/data.txt")).unwrap();
    let header = "lcb,prismatic,ld,bd,lb,froude,resistance\n";
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(",") + "\n")
        .collect();
    let write = |name: &str, rows: &[String]| {
        let p = dir.join(name);
        std::fs::write(&p, format!("{header}{}", rows.concat())).unwrap();
        p.display().to_string()
    };
    (
        write("all.csv", &lines),
        write("a.csv", &lines[..split]),
        write("b.csv", &lines[split..]),
    )
}

const FAST: &str = "[model]\nhidden = [10]\n[training]\nepochs = 40\n";

#[test]
fn regression_fit_calibrate_predict_interval_and_evaluate_coverage() {
    let d = tempfile::tempdir().unwrap();
    let (all, a, b) = yacht(d.path(), 200);
    let cfg = d.path().join("fast.toml");
    std::fs::write(&cfg, FAST).unwrap();
    let cfg = cfg.display().to_string();
    let m = d.path().join("m").display().to_string();
    let out = ok(&[
        "fit",
        "--data",
        &all,
        "--target",
        "resistance",
        "--config",
        &cfg,
        "--out",
        &m,
        "--calibrate",
        "conformal",
        "--calibration-fraction",
        "0.25",
    ]);
    assert!(
        out.contains("calibration rows (25% of the training rows held out"),
        "{out}"
    );
    assert!(Path::new(&m).join("calibration.json").exists());
    let pred = ok(&["predict", "--model", &m, "--data", &b, "--interval", "0.9"]);
    let header = pred.lines().next().unwrap();
    for col in [
        "bayes_lower",
        "bayes_upper",
        "conformal_lower",
        "conformal_upper",
    ] {
        assert!(header.contains(col), "{header}");
    }
    // Each row's interval brackets the mean.
    let cols: Vec<&str> = header.split(',').collect();
    let at = |n: &str| cols.iter().position(|c| *c == n).unwrap();
    for line in pred.lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        assert!(
            v[at("conformal_lower")] < v[at("mean")] && v[at("mean")] < v[at("conformal_upper")]
        );
    }
    let ev = ok(&["evaluate", "--model", &m, "--data", &b, "--interval", "0.8"]);
    assert!(ev.contains("Bayesian 80% interval:  coverage"), "{ev}");
    assert!(ev.contains("conformal 80% interval: coverage"), "{ev}");
    // A separate calibration table works alike; a refit without --calibrate drops the file.
    ok(&[
        "fit",
        "--data",
        &a,
        "--target",
        "resistance",
        "--config",
        &cfg,
        "--out",
        &m,
        "--calibrate",
        "conformal",
        "--calibration",
        &b,
        "--conformal-score",
        "cqr",
        "-q",
    ]);
    let ev = ok(&["evaluate", "--model", &m, "--data", &b, "--json"]);
    assert!(ev.contains("\"conformal\":{\"coverage\""), "{ev}");
    ok(&[
        "fit",
        "--data",
        &a,
        "--target",
        "resistance",
        "--config",
        &cfg,
        "--out",
        &m,
        "-q",
    ]);
    assert!(!Path::new(&m).join("calibration.json").exists());
    let ev = ok(&["evaluate", "--model", &m, "--data", &b]);
    assert!(ev.contains("conformal 90% interval: none"), "{ev}");
    // Temperature scaling of a regression is refused with a clear message.
    let o = credence(&[
        "fit",
        "--data",
        &a,
        "--target",
        "resistance",
        "--config",
        &cfg,
        "--out",
        &m,
        "--calibrate",
        "temperature",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("applies to classifiers"));
}

#[test]
fn classifier_temperature_and_aps_sets() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("fast.toml");
    std::fs::write(&cfg, FAST).unwrap();
    let iris = repo()
        .join("data/classification/iris.csv")
        .display()
        .to_string();
    let m = d.path().join("c").display().to_string();
    let out = ok(&[
        "fit",
        "--data",
        &iris,
        "--target",
        "label",
        "--likelihood",
        "categorical",
        "--config",
        &cfg.display().to_string(),
        "--out",
        &m,
        "--calibrate",
        "temperature,conformal",
    ]);
    assert!(out.contains("temperature T = "), "{out}");
    let pred = ok(&[
        "predict",
        "--model",
        &m,
        "--data",
        &iris,
        "--interval",
        "0.9",
    ]);
    let header = pred.lines().next().unwrap();
    assert!(header.ends_with("bayes_set,conformal_set"), "{header}");
    let ev = ok(&["evaluate", "--model", &m, "--data", &iris]);
    assert!(
        ev.contains("temperature T = ") && ev.contains("on these rows ECE"),
        "{ev}"
    );
    assert!(ev.contains("conformal 90% set: coverage"), "{ev}");
}
