//! End-to-end tests of `credence elicit`: quantiles, mean and sd, mode and range, past data,
//! the written block read back by the config parser, the plot, and every bad-input message.

mod common;
use common::{credence, fails, ok, repo};

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out.lines().last().unwrap()).unwrap()
}

#[test]
fn quantiles_print_feedback_write_a_block_and_a_plot() {
    let dir = tempfile::tempdir().unwrap();
    let (out_file, svg) = (dir.path().join("prior.toml"), dir.path().join("p.svg"));
    let out = ok(&[
        "elicit",
        "--family",
        "lognormal",
        "--quantile",
        "0.05=400",
        "--quantile",
        "0.95=900",
        "--source",
        "hydrologist interview",
        "--out",
        out_file.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(
        out.contains("elicited lognormal(mu=6.39693, sigma=0.246505)"),
        "{out}"
    );
    assert!(
        out.contains("5% quantile") && out.contains("exactly"),
        "{out}"
    );
    let block = std::fs::read_to_string(&out_file).unwrap();
    let cfg = credence::config::Config::parse("prior.toml", &block).unwrap();
    let p = &cfg.priors.unwrap().priors[0];
    assert_eq!(p.params, "noise");
    assert_eq!(p.provenance.source, "hydrologist interview");
    assert!(
        p.provenance
            .note
            .starts_with("elicited: 5% quantile 400, 95% quantile 900; fitted lognormal("),
        "{}",
        p.provenance.note
    );
    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(plot.contains("<svg") && plot.contains("stated 95% quantile = 900"));
    // Every family reproduces two (one for half-normal) stated quantiles; JSON carries them.
    for (family, qs, extra) in [
        ("normal", vec!["0.05=400", "0.95=900"], vec![]),
        ("gamma", vec!["0.05=400", "0.95=900"], vec![]),
        ("beta", vec!["0.05=0.1", "0.95=0.4"], vec![]),
        ("student-t", vec!["0.05=400", "0.95=900"], vec!["--df", "4"]),
        ("half-normal", vec!["0.95=2"], vec![]),
    ] {
        let mut args = vec!["elicit", "--family", family, "--json"];
        for q in &qs {
            args.extend(["--quantile", q]);
        }
        args.extend(extra);
        let v = json(&ok(&args));
        for c in v["checks"].as_array().unwrap() {
            let (s, f) = (c["stated"].as_f64().unwrap(), c["fitted"].as_f64().unwrap());
            assert!((s - f).abs() < 1e-8 * s.abs(), "{family}: {c}");
        }
        assert_eq!(v["method"], "exact");
        credence::config::Config::parse("p", v["prior"].as_str().unwrap()).unwrap();
    }
}

#[test]
fn mean_sd_mode_range_and_options_reach_the_block() {
    let out = ok(&[
        "elicit",
        "--family",
        "gamma",
        "--mean",
        "650",
        "--sd",
        "150",
        "--on",
        "precision",
        "--provenance",
        "value",
        "--holder",
        "risk team",
        "--source",
        "policy 4.2",
        "--params",
        "noise",
    ]);
    assert!(out.contains("on = \"precision\""), "{out}");
    assert!(out.contains("kind = \"value\"") && out.contains("holder = \"risk team\""));
    assert!(out.contains("mean 650, sd 150"), "{out}");
    let v = json(&ok(&[
        "elicit", "--family", "normal", "--mode", "650", "--range", "400,900", "--json",
    ]));
    assert_eq!(v["method"], "least-squares");
    assert!((v["distribution"]["loc"].as_f64().unwrap() - 650.0).abs() < 1e-4);
    let v = json(&ok(&[
        "elicit",
        "--family",
        "lognormal",
        "--mode",
        "600",
        "--range",
        "400,900",
        "--mass",
        "0.9",
        "--json",
    ]));
    assert!(v["statement"]
        .as_str()
        .unwrap()
        .contains("mode 600, 90% of the probability between 400 and 900"));
}

#[test]
fn past_data_fit_and_power_prior() {
    let data = repo().join("examples/elicit/rainfall_history.csv");
    let data = data.to_str().unwrap();
    let o = credence(&[
        "elicit",
        "--family",
        "normal",
        "--from-data",
        data,
        "--column",
        "rainfall",
    ]);
    assert!(o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("1 missing cell of column 'rainfall' dropped")
    );
    let v = json(&ok(&[
        "elicit",
        "--family",
        "normal",
        "--from-data",
        data,
        "--column",
        "rainfall",
        "--json",
    ]));
    let xs = [
        812.0, 745.0, 903.0, 688.0, 770.0, 851.0, 799.0, 730.0, 960.0, 705.0, 822.0, 781.0,
    ];
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let s = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt();
    assert!((v["distribution"]["loc"].as_f64().unwrap() - m).abs() < 1e-9);
    assert!((v["distribution"]["scale"].as_f64().unwrap() - s).abs() < 1e-9);
    let src = v["provenance"]["source"].as_str().unwrap();
    assert!(
        src.contains("rainfall_history.csv") && src.contains("fingerprint"),
        "{src}"
    );
    assert_eq!(v["provenance"]["kind"], "factual");
    let v = json(&ok(&[
        "elicit",
        "--family",
        "normal",
        "--from-data",
        data,
        "--column",
        "rainfall",
        "--weight",
        "0.5",
        "--target",
        "mean",
        "--json",
    ]));
    assert!((v["distribution"]["scale"].as_f64().unwrap() - s / (0.5 * n).sqrt()).abs() < 1e-9);
    let v = json(&ok(&[
        "elicit",
        "--family",
        "normal",
        "--from-data",
        data,
        "--column",
        "rainfall",
        "--weight",
        "0.5",
        "--json",
    ]));
    let pv = s * (1.0 + 1.0 / (0.5 * n)).sqrt();
    assert!((v["distribution"]["scale"].as_f64().unwrap() - pv).abs() < 1e-9);
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "year,rainfall\n2001,812\n2002,lots\n").unwrap();
    let neg = dir.path().join("neg.csv");
    std::fs::write(&neg, "year,rainfall\n2001,812\n2002,-5\n").unwrap();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec![
                "--family",
                "normal",
                "--quantile",
                "0.05=900",
                "--quantile",
                "0.95=400",
            ],
            vec!["--quantile", "increase"],
        ),
        (
            vec![
                "--family",
                "gamma",
                "--quantile",
                "0.05=-1",
                "--quantile",
                "0.95=400",
            ],
            vec!["--quantile 0.05=-1", "positive"],
        ),
        (
            vec![
                "--family",
                "beta",
                "--quantile",
                "0.05=0.2",
                "--quantile",
                "0.95=1.2",
            ],
            vec!["between 0 and 1"],
        ),
        (
            vec![
                "--family",
                "normal",
                "--quantile",
                "1.5=3",
                "--quantile",
                "0.95=400",
            ],
            vec!["probability must lie strictly between 0 and 1"],
        ),
        (
            vec!["--family", "normal", "--quantile", "0.5=3"],
            vec!["needs at least 2 quantiles"],
        ),
        (
            vec![
                "--family",
                "student-t",
                "--quantile",
                "0.05=1",
                "--quantile",
                "0.95=3",
            ],
            vec!["--df"],
        ),
        (
            vec!["--family", "normal", "--quantile", "5%"],
            vec!["expected P=VALUE"],
        ),
        (
            vec!["--family", "weibull", "--quantile", "0.5=3"],
            vec!["--family", "expected one of"],
        ),
        (
            vec!["--family", "normal"],
            vec!["give exactly one statement"],
        ),
        (
            vec!["--family", "normal", "--mean", "3"],
            vec!["--mean and --sd go together"],
        ),
        (
            vec!["--family", "normal", "--mode", "3"],
            vec!["--mode and --range go together"],
        ),
        (
            vec!["--family", "normal", "--mode", "3", "--range", "1-5"],
            vec!["--range", "LOW,HIGH"],
        ),
        (
            vec!["--family", "normal", "--mode", "9", "--range", "1,5"],
            vec!["low < mode < high"],
        ),
        (
            vec!["--family", "gamma", "--mean", "-2", "--sd", "1"],
            vec!["--mean", "positive"],
        ),
        (
            vec![
                "--family", "normal", "--mean", "2", "--sd", "1", "--on", "width",
            ],
            vec!["--on 'width'"],
        ),
        (
            vec![
                "--family",
                "normal",
                "--mean",
                "2",
                "--sd",
                "1",
                "--provenance",
                "gut",
            ],
            vec!["--provenance 'gut'"],
        ),
        (
            vec![
                "--family", "normal", "--mean", "2", "--sd", "1", "--weight", "0.5",
            ],
            vec!["--from-data only"],
        ),
        (
            vec!["--family", "normal", "--from-data", bad.to_str().unwrap()],
            vec!["--column"],
        ),
        (
            vec![
                "--family",
                "normal",
                "--from-data",
                bad.to_str().unwrap(),
                "--column",
                "rainfall",
            ],
            vec!["line 3", "rainfall", "lots"],
        ),
        (
            vec![
                "--family",
                "gamma",
                "--from-data",
                neg.to_str().unwrap(),
                "--column",
                "rainfall",
            ],
            vec!["line 3", "positive"],
        ),
        (
            vec![
                "--family",
                "normal",
                "--from-data",
                neg.to_str().unwrap(),
                "--column",
                "snow",
            ],
            vec!["no such column"],
        ),
        (
            vec![
                "--family",
                "gamma",
                "--from-data",
                neg.to_str().unwrap(),
                "--column",
                "year",
                "--weight",
                "0.5",
            ],
            vec!["power prior", "normal and lognormal"],
        ),
        (
            vec![
                "--family",
                "normal",
                "--from-data",
                neg.to_str().unwrap(),
                "--column",
                "year",
                "--weight",
                "-1",
            ],
            vec!["--weight"],
        ),
    ];
    for (args, needles) in cases {
        let mut all = vec!["elicit"];
        all.extend(args.iter().copied());
        let err = fails(&all);
        for n in needles {
            assert!(
                err.contains(n),
                "credence {all:?}: expected '{n}' in: {err}"
            );
        }
    }
}

#[test]
fn an_elicited_lognormal_noise_prior_is_used_by_fit() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("data/yacht/data.txt")).unwrap();
    let mut csv = String::from("lcb,prismatic,ld,bd,lb,froude,resistance\n");
    for line in text.lines().filter(|l| !l.trim().is_empty()).take(80) {
        csv.push_str(&line.split_whitespace().collect::<Vec<_>>().join(","));
        csv.push('\n');
    }
    let data = dir.path().join("yacht.csv");
    std::fs::write(&data, csv).unwrap();
    let block = json(&ok(&[
        "elicit",
        "--family",
        "lognormal",
        "--quantile",
        "0.05=0.05",
        "--quantile",
        "0.95=0.5",
        "--source",
        "test",
        "--json",
    ]))["prior"]
        .as_str()
        .unwrap()
        .to_string();
    let weights = "[[prior]]\nparams = \"*\"\ndistribution = { family = \"normal\", loc = 0.0, scale = 1.0 }\nprovenance = { kind = \"default\", source = \"test\" }\n";
    let cfg = dir.path().join("cfg.toml");
    std::fs::write(
        &cfg,
        format!("[model]\nhidden = [10]\n[training]\nepochs = 30\n{block}{weights}"),
    )
    .unwrap();
    let out = ok(&[
        "fit",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "resistance",
        "--config",
        cfg.to_str().unwrap(),
        "--method",
        "map",
        "--out",
        dir.path().join("m").to_str().unwrap(),
    ]);
    assert!(out.contains("noise ~ LogNormal(mu="), "{out}");
    assert!(
        out.contains("elicited: 5% quantile 0.05, 95% quantile 0.5"),
        "{out}"
    );
}

#[test]
fn a_noise_prior_a_heteroscedastic_network_cannot_use_is_named_in_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("het.toml");
    std::fs::write(
        &cfg,
        "[model]\nhidden = [8]\nlikelihood = { family = \"heteroscedastic\" }\n[training]\nepochs = 20\n[[prior]]\nparams = \"*\"\ndistribution = { family = \"normal\", loc = 0.0, scale = 1.0 }\nprovenance = { kind = \"default\", source = \"t\" }\n[[prior]]\nparams = \"noise\"\non = \"scale\"\ndistribution = { family = \"half-normal\", scale = 0.5 }\nprovenance = { kind = \"factual\", source = \"last year's residuals\" }\n",
    )
    .unwrap();
    let o = credence(&[
        "fit",
        "--data",
        &common::path("examples/explain/sine.csv"),
        "--target",
        "y",
        "--method",
        "map",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        dir.path().join("m").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("het.toml: the prior on `noise` is not used"),
        "{err}"
    );
}
