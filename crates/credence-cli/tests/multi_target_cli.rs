//! The `credence` binary with a multi-target model (fitted through the library until `--target`
//! takes several columns): `predict` writes four columns per target, named after it.

use credence::config::Config;
use credence::data::Dataset;
use credence::fit::{fit, FitOptions};
use credence::infer::{Method, Silent};
use std::process::Command;

#[test]
fn predict_writes_columns_per_target() {
    let t = tempfile::tempdir().unwrap();
    let mut r = credence::rng::stream(1, 0);
    let rows = 40;
    let (mut x, mut y, mut csv) = (Vec::new(), Vec::new(), String::from("x0,x1\n"));
    for _ in 0..rows {
        let (a, b) = (credence::rng::normal(&mut r), credence::rng::normal(&mut r));
        x.extend([a, b]);
        y.extend([a.sin(), 3.0 + b * b]);
        csv.push_str(&format!("{a},{b}\n"));
    }
    let data = Dataset {
        x,
        y,
        rows,
        features: 2,
        feature_names: vec!["x0".into(), "x1".into()],
        target_names: vec!["a".into(), "b".into()],
        source: "two.csv".into(),
        input_shape: None,
    };
    let cfg = Config::parse(
        "fast.toml",
        "[model]\nhidden = [4]\n[training]\nepochs = 20\n",
    )
    .unwrap();
    let model = fit(
        &data,
        &cfg,
        FitOptions {
            method: Method::Map,
            seed: 1,
            progress: &Silent,
            strict_columns: true,
        },
    )
    .unwrap();
    let dir = t.path().join("model");
    credence::artifact::save(&dir, &model).unwrap();
    let csv_path = t.path().join("x.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_credence"))
        .args(["predict", "--model"])
        .arg(&dir)
        .arg("--data")
        .arg(&csv_path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "a_mean,a_std,a_epistemic_std,a_aleatoric_std,b_mean,b_std,b_epistemic_std,b_aleatoric_std"
    );
    assert_eq!(lines.len(), rows + 1);
    assert!(lines[1..].iter().all(|l| l.split(',').count() == 8));
}
