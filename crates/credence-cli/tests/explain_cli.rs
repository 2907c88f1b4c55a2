//! End-to-end tests of `credence bayes`, `prior-check`, `sensitivity` and `curve`.

mod common;
use common::{credence, ok, path, repo};

#[test]
fn bayes_prints_table_json_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("d.svg");
    let out = ok(&[
        "bayes",
        &path("examples/bayes/disease.toml"),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(
        out.contains("P(condition | positive)") && out.contains("0.4865"),
        "{out}"
    );
    assert!(out.contains("factual"), "{out}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    let out = ok(&["bayes", &path("examples/bayes/rainfall.toml"), "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let m = v["params"][0]["posterior"]["mean"].as_f64().unwrap();
    assert!((m - 7570.0 / 9.0).abs() < 1e-9, "{m}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "model = \"beta-binomial\"\n[prior]\nalpha = 1.0\nbeta = 1.0\n[data]\nsuccesses = 1\ntrials = 2\n").unwrap();
    let o = credence(&["bayes", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("provenance"));
}

#[test]
fn prior_check_warns_for_the_wide_prior() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("pc.svg");
    let args = |cfg: &str| {
        vec![
            "prior-check".to_string(),
            "--config".into(),
            path(cfg),
            "--data".into(),
            path("examples/explain/sine.csv"),
            "--target".into(),
            "y".into(),
            "--draws".into(),
            "100".into(),
        ]
    };
    let mut a = args("examples/explain/wide_prior.toml");
    a.extend(["--plot".into(), svg.display().to_string()]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let out = ok(&a);
    assert!(out.contains("WARNING") && out.contains("absurd"), "{out}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<polygon"));
    let a = args("examples/explain/unit_prior.toml");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let out = ok(&a);
    assert!(!out.contains("WARNING"), "{out}");
}

#[test]
fn sensitivity_and_curve_run() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[model]\nhidden = [8]\n[training]\noptimizer = \"lbfgs\"\nmax_iterations = 100\n",
    )
    .unwrap();
    let out = ok(&[
        "sensitivity",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        &path("examples/explain/sine.csv"),
        "--target",
        "y",
        "--alternatives",
        &path("examples/explain/alternatives.toml"),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["alternatives"].as_array().unwrap().len(), 5);
    let out = ok(&[
        "curve",
        &path("data/bostonHousing"),
        "--config",
        cfg.to_str().unwrap(),
        "--methods",
        "mle,map",
        "--sizes",
        "20,30",
        "--repeats",
        "2",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["points"].as_array().unwrap().len(), 4);
    assert_eq!(v["paired"].as_array().unwrap().len(), 2);
    let o = credence(&[
        "curve",
        &path("data/bostonHousing"),
        "--methods",
        "mle,nope",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown method"));
}

#[test]
fn fit_prints_information_and_transfers_a_posterior_as_prior() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("examples/explain/sine.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let write = |name: &str, r: &[&str]| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("{header}\n{}\n", r.join("\n"))).unwrap();
        p.display().to_string()
    };
    let a = write("a.csv", &rows[..80]);
    let b = write("b.csv", &rows[80..]);
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[model]\nhidden = [8]\nlikelihood = { family = \"gaussian\" }\n[training]\nepochs = 300\n",
    )
    .unwrap();
    let cfg = cfg.display().to_string();
    let ma = dir.path().join("a").display().to_string();
    let mb = dir.path().join("b").display().to_string();
    let common = ["--target", "y", "--config", &cfg, "--quiet"];
    let out = ok(&[
        &["fit", "--data", &a, "--method", "laplace", "--out", &ma],
        &common[..4],
    ]
    .concat());
    assert!(out.contains("information from the data"), "{out}");
    assert!(out.contains("layer1.weight") && out.contains("KL"), "{out}");
    assert!(out.contains("of predictive variance is epistemic"), "{out}");
    let out = ok(&[
        &["fit", "--data", &a, "--method", "map", "--out", &mb],
        &common[..4],
    ]
    .concat());
    assert!(out.contains("no posterior spread"), "{out}");
    // B with A's posterior as its prior: summary, provenance and JSON.
    let out = ok(&[
        &[
            "fit",
            "--data",
            &b,
            "--method",
            "laplace",
            "--out",
            &mb,
            "--prior-from",
            &ma,
        ],
        &common[..4],
    ]
    .concat());
    assert!(
        out.contains("posterior of laplace model fitted on"),
        "{out}"
    );
    assert!(out.contains("one per parameter"), "{out}");
    assert!(
        out.contains("noise prior: a Gamma on the precision"),
        "{out}"
    );
    let out = ok(&[
        &[
            "fit",
            "--data",
            &b,
            "--method",
            "laplace",
            "--out",
            &mb,
            "--prior-from",
            &ma,
            "--prior-from-scale",
            "2",
            "--json",
        ],
        &common[..4],
    ]
    .concat());
    let v: serde_json::Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert!(v["information"]["groups"][0]["kl"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["priors"]["priors"][0]["provenance"]["kind"], "factual");
    let saved = std::fs::read_to_string(dir.path().join("b/model.json")).unwrap();
    assert!(saved.contains("per_parameter") && saved.contains("\"information\""));
    // Another architecture: a clear error naming the layer.
    let cfg6 = dir.path().join("c6.toml");
    std::fs::write(&cfg6, "[model]\nhidden = [6]\n").unwrap();
    let o = credence(&[
        "fit",
        "--data",
        &b,
        "--target",
        "y",
        "--config",
        cfg6.to_str().unwrap(),
        "--method",
        "map",
        "--out",
        &mb,
        "--prior-from",
        &ma,
        "--quiet",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("layer1.weight is 1×8 in the prior and 1×6 here"),
        "{err}"
    );
}
