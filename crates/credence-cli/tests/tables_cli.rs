//! The command line on real tables: text columns, gaps, class names, Parquet in and out, and
//! the bundled Palmer penguins (a slice, as the README's example runs on the whole).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn credence(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_credence"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn ok(args: &[&str]) -> (String, String) {
    let o = credence(args);
    assert!(
        o.status.success(),
        "credence {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn fails(args: &[&str], expect: &[&str]) {
    let o = credence(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "credence {args:?} should fail");
    assert!(!err.contains("panicked"), "{err}");
    for e in expect {
        assert!(
            err.contains(e),
            "credence {args:?}: stderr lacks '{e}':\n{err}"
        );
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `credence evaluate --json` on a model folder and a data file, parsed.
fn evaluate_json(model: &str, data: &str) -> serde_json::Value {
    let out = ok(&["evaluate", "--model", model, "--data", data, "--json"]).0;
    serde_json::from_str(out.trim()).unwrap()
}

const FAST: &str = "[model]\nhidden = [10]\n[training]\nepochs = 40\n";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn the_issue_table_fits_with_drop_and_impute_and_predicts_with_its_schema() {
    let d = tempfile::tempdir().unwrap();
    let mut t = String::from("age,sex,region,income,spend\n");
    for i in 0..30 {
        let income = if i == 3 {
            String::new()
        } else {
            format!("{}", 20 + (i * 13) % 70)
        };
        t.push_str(&format!(
            "{},{},{},{income},{}\n",
            20 + i,
            ["F", "M"][i % 2],
            ["north", "south", "east"][i % 3],
            10 + i % 7
        ));
    }
    let data = write(d.path(), "t.csv", &t);
    let cfg = write(d.path(), "c.toml", FAST);
    let out = d.path().join("m").display().to_string();
    let base = [
        "fit", "--data", &data, "--target", "spend", "--config", &cfg, "--out", &out,
    ];
    // The gap is refused with both ways out named.
    fails(
        &base,
        &[
            "t.csv, line 5, column 'income'",
            "--missing drop",
            "--missing impute",
        ],
    );
    let mut with = base.to_vec();
    with.extend(["--features", "age,sex"]);
    ok(&with); // income is not used, so its gap does not matter; sex is text
    let mut drop = base.to_vec();
    drop.extend(["--missing", "drop", "--drop", "region"]);
    let (_, err) = ok(&drop);
    assert!(
        err.contains("1 row (line 5) with a missing feature dropped"),
        "{err}"
    );
    let mut imp = base.to_vec();
    imp.extend(["--missing", "impute"]);
    let (stdout, _) = ok(&imp);
    assert!(stdout.contains("income (numeric; missing →"), "{stdout}");
    let p = write(
        d.path(),
        "p.csv",
        "age,sex,region,income\n30,F,north,\n31,M,west,50\n",
    );
    fails(
        &["predict", "--model", &out, "--data", &p],
        &[
            "p.csv, line 3, column 'region'",
            "level 'west'",
            "--unknown-level zero",
        ],
    );
    let (csv, err) = ok(&[
        "predict",
        "--model",
        &out,
        "--data",
        &p,
        "--unknown-level",
        "zero",
    ]);
    assert!(
        csv.starts_with("mean,std,epistemic_std,aleatoric_std,unseen_level\n"),
        "{csv}"
    );
    assert!(csv.lines().nth(2).unwrap().ends_with(",1"), "{csv}");
    assert!(
        err.contains("1 row with a categorical level the model has not seen"),
        "{err}"
    );
    let q = write(d.path(), "q.csv", "age,sex,income\n30,F,1\n");
    fails(
        &["predict", "--model", &out, "--data", &q],
        &["column 'region'", "lacks"],
    );
    let q = write(
        d.path(),
        "q.csv",
        "age,sex,region,income\n30,F,north,lots\n",
    );
    fails(
        &["predict", "--model", &out, "--data", &q],
        &["line 2, column 'income'", "found 'lots'"],
    );
    // Parquet out, and Parquet in gives the same predictions as CSV.
    let pq = d.path().join("pred.parquet").display().to_string();
    ok(&[
        "predict",
        "--model",
        &out,
        "--data",
        &p,
        "--unknown-level",
        "zero",
        "--out",
        &pq,
    ]);
    assert_eq!(&std::fs::read(&pq).unwrap()[..4], b"PAR1");
    let train_pq = d.path().join("t.parquet").display().to_string();
    let tr = d.path().join("tr.csv").display().to_string();
    ok(&[
        "split",
        "--data",
        &data,
        "--test-fraction",
        "0.1",
        "--train",
        &tr,
        "--test",
        &train_pq,
    ]);
    let a = ok(&["predict", "--model", &out, "--data", &train_pq]).0;
    let te = d.path().join("te.csv").display().to_string();
    ok(&[
        "split",
        "--data",
        &data,
        "--test-fraction",
        "0.1",
        "--train",
        &tr,
        "--test",
        &te,
    ]);
    let b = ok(&["predict", "--model", &out, "--data", &te]).0;
    assert_eq!(a, b);
}

#[test]
fn a_file_that_cannot_be_opened_says_the_reason_once() {
    let o = credence(&[
        "fit",
        "--data",
        "/nonexistent/t.csv",
        "--target",
        "y",
        "--out",
        "/tmp/x",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}

#[test]
fn penguins_slice_classifies_species_by_name_and_regresses_body_mass() {
    let d = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("data/penguins/penguins.csv")).unwrap();
    // Every third row: 115 rows with all three species, both gaps and NA sexes.
    let slice: String = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i == 0 || i % 3 == 1)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let data = write(d.path(), "p.csv", &slice);
    let (tr, te) = (
        d.path().join("tr.csv").display().to_string(),
        d.path().join("te.csv").display().to_string(),
    );
    ok(&[
        "split",
        "--data",
        &data,
        "--stratify",
        "species",
        "--seed",
        "1",
        "--train",
        &tr,
        "--test",
        &te,
    ]);
    let cfg = write(
        d.path(),
        "c.toml",
        "[model]\nhidden = [10]\n[training]\nepochs = 200\n",
    );
    let m = d.path().join("m").display().to_string();
    for method in ["mle", "map", "laplace", "ensemble"] {
        ok(&[
            "fit",
            "--data",
            &tr,
            "--target",
            "species",
            "--missing",
            "impute",
            "--method",
            method,
            "--config",
            &cfg,
            "--out",
            &m,
            "--quiet",
        ]);
        let v = evaluate_json(&m, &te);
        let acc = v["metrics"]["accuracy"].as_f64().unwrap();
        assert!(acc > 0.9, "{method}: accuracy {acc}");
    }
    let (csv, _) = ok(&["predict", "--model", &m, "--data", &te]);
    assert!(
        csv.starts_with("p_Adelie,p_Chinstrap,p_Gentoo,predicted,entropy,mutual_information\n"),
        "{csv}"
    );
    assert!(csv
        .lines()
        .skip(1)
        .all(|l| ["Adelie", "Chinstrap", "Gentoo"]
            .iter()
            .any(|s| l.contains(&format!(",{s},")))));
    // A decision file naming classes in its own order.
    let dec = write(
        d.path(),
        "d.toml",
        "actions = [\"tag\", \"skip\"]\nclasses = [\"Gentoo\", \"Adelie\", \"Chinstrap\"]\ncosts = [[0, 1, 1], [5, 0, 0]]\nprovenance = { kind = \"value\", source = \"survey plan\" }\n",
    );
    ok(&["decide", "--model", &m, "--decision", &dec, "--data", &te]);
    let bad = write(
        d.path(),
        "b.toml",
        "actions = [\"tag\", \"skip\"]\nclasses = [\"Gentoo\", \"Emperor\", \"Chinstrap\"]\ncosts = [[0, 1, 1], [5, 0, 0]]\nprovenance = { kind = \"value\", source = \"survey plan\" }\n",
    );
    fails(
        &["decide", "--model", &m, "--decision", &bad, "--data", &te],
        &["class 'Adelie' is not among the file's classes"],
    );
    // Regression of body mass on island, sex and the measurements.
    ok(&[
        "fit",
        "--data",
        &tr,
        "--target",
        "body_mass_g",
        "--features",
        "island,sex,bill_length_mm,bill_depth_mm,flipper_length_mm",
        "--missing",
        "impute",
        "--method",
        "map",
        "--config",
        &cfg,
        "--out",
        &m,
        "--quiet",
    ]);
    let v = evaluate_json(&m, &te);
    let rmse = v["metrics"]["rmse"].as_f64().unwrap();
    assert!(rmse < 450.0, "body mass RMSE {rmse} g");
}
