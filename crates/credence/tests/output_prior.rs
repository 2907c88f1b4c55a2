//! Priors stated on a network's outputs (`[output_prior]`): the calibrated weight priors'
//! prior predictive matches the statement within Monte Carlo error, on several network shapes
//! and activations, for regression ranges and classifier confidence; fits and prior checks
//! record the statement; bad statements are config errors.

use credence::config::Config;
use credence::data::uci::UciFolder;
use credence::data::Standardizer;
use credence::infer::{Method, Silent};
use credence::likelihood::Likelihood;
use credence::model::ModelSpec;
use credence::nn::{Activation, Mlp};
use credence::prior::output::{calibrate, OutputPrior};
use credence::prior::{PriorSet, Provenance};
use credence::{fit, FitOptions};
use std::path::Path;

fn boston() -> credence::data::Dataset {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/bostonHousing");
    UciFolder::open(&dir).unwrap().split(0).unwrap().0
}

fn belief(text: &str) -> OutputPrior {
    let mut t: toml::Table = toml::from_str(text).unwrap();
    t.insert(
        "provenance".into(),
        toml::Value::try_from(Provenance::factual("test statement", "")).unwrap(),
    );
    toml::Value::Table(t).try_into().unwrap()
}

/// Share of prior draws of the mean function (all rows of each draw) inside `[lo, hi]`, with its
/// Monte Carlo standard error over draws.
fn share_inside(
    spec: &ModelSpec,
    priors: &PriorSet,
    x: &[f64],
    rows: usize,
    (ym, ys): (f64, f64),
    inside: impl Fn(&[f64]) -> bool,
    draws: usize,
) -> (f64, f64) {
    let mut set = priors.clone();
    if spec.layout().group("noise").is_some() {
        set.priors.extend(
            PriorSet::default_priors()
                .priors
                .into_iter()
                .filter(|p| p.params == "noise"),
        );
    }
    let resolved = set.resolve(&spec.layout(), "t").unwrap();
    let mut r = credence::rng::stream(77, 1);
    let mut ws = spec.net.workspace(rows);
    let mut t = vec![0.0; spec.dim()];
    let k = spec.net.outputs();
    let mut per = Vec::with_capacity(draws);
    for _ in 0..draws {
        resolved.sample(&mut r, &mut t);
        spec.net.forward(&t, x, rows, &mut ws);
        let out = ws.output();
        let n_in = (0..rows)
            .filter(|&n| {
                let row = &out[n * k..(n + 1) * k];
                if spec.likelihood.is_classification() {
                    inside(row)
                } else {
                    let m = ym + ys * spec.likelihood.mean_var(row, 0.0).0;
                    inside(&[m])
                }
            })
            .count();
        per.push(n_in as f64 / rows as f64);
    }
    let m = per.iter().sum::<f64>() / draws as f64;
    let v = per.iter().map(|p| (p - m).powi(2)).sum::<f64>() / (draws - 1) as f64;
    (m, (v / draws as f64).sqrt())
}

/// Boston standardised, and 64 of its rows (evenly spaced) for the Monte Carlo checks.
#[allow(clippy::type_complexity)]
fn standardised_boston() -> (
    credence::data::Dataset,
    Standardizer,
    credence::data::Dataset,
    Vec<f64>,
    usize,
) {
    let data = boston();
    let st = Standardizer::fit(&data, true, credence::data::ConstantColumn::Keep).unwrap();
    let x = st.transform(&data).unwrap();
    let rows = 64.min(x.rows);
    let xs: Vec<f64> = (0..rows)
        .flat_map(|i| {
            let r = i * x.rows / rows;
            x.x[r * x.features..(r + 1) * x.features].to_vec()
        })
        .collect();
    (data, st, x, xs, rows)
}

#[test]
fn the_prior_predictive_matches_a_stated_range_on_several_networks() {
    let (data, st, x, xs, rows) = standardised_boston();
    let b = belief("range = [5.0, 50.0]\nmass = 0.9\n");
    for (hidden, act, lik) in [
        (
            vec![50],
            Activation::Tanh,
            Likelihood::Gaussian { noise: None },
        ),
        (
            vec![20, 10],
            Activation::Relu,
            Likelihood::Gaussian { noise: None },
        ),
        (
            vec![],
            Activation::Tanh,
            Likelihood::Gaussian { noise: None },
        ),
        (
            vec![16],
            Activation::Sigmoid,
            Likelihood::StudentT {
                df: 4.0,
                noise: None,
            },
        ),
    ] {
        let mut sizes = vec![data.features];
        sizes.extend(&hidden);
        sizes.push(lik.outputs());
        let spec = ModelSpec {
            net: Mlp::new(sizes, act).into(),
            likelihood: lik,
        };
        let (layers, cal) = calibrate(&b, &spec, &x.x, x.rows, (st.y_mean, st.y_std), 3).unwrap();
        assert!(cal.warnings.is_empty(), "{:?}", cal.warnings);
        let set = PriorSet { priors: layers };
        let (share, se_check) = share_inside(
            &spec,
            &set,
            &xs,
            rows,
            (st.y_mean, st.y_std),
            |m| (5.0..=50.0).contains(&m[0]),
            4000,
        );
        // The calibration's own Monte Carlo (2000 draws) adds about √2 times the check's error.
        let tol = 4.0 * se_check * (1.0_f64 + 2.0).sqrt();
        assert!(
            (share - 0.9).abs() < tol,
            "{hidden:?} {act:?}: {share:.4} of prior functions inside [5, 50], stated 0.9 (tolerance {tol:.4})"
        );
        assert!(
            (cal.achieved[0] - 5.0).abs() < 2.0 && (cal.achieved[1] - 50.0).abs() < 2.0,
            "{cal:?}"
        );
    }
}

#[test]
fn the_prior_is_not_sure_of_any_class_beyond_the_stated_confidence() {
    let (data, _, x, xs, rows) = standardised_boston();
    let b = belief("confidence = 0.8\nmass = 0.9\n");
    for lik in [
        Likelihood::Bernoulli,
        Likelihood::Categorical { classes: 3 },
    ] {
        let spec = ModelSpec {
            net: Mlp::new(vec![data.features, 12, lik.outputs()], Activation::Tanh).into(),
            likelihood: lik,
        };
        let (layers, cal) = calibrate(&b, &spec, &x.x, x.rows, (0.0, 1.0), 5).unwrap();
        let set = PriorSet { priors: layers };
        let top = |row: &[f64]| {
            if row.len() == 1 {
                let p = 1.0 / (1.0 + (-row[0]).exp());
                p.max(1.0 - p)
            } else {
                let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                1.0 / row.iter().map(|v| (v - m).exp()).sum::<f64>()
            }
        };
        let (share, se) = share_inside(&spec, &set, &xs, rows, (0.0, 1.0), |r| top(r) <= 0.8, 4000);
        let tol = 4.0 * se * 3.0_f64.sqrt();
        assert!(
            (share - 0.9).abs() < tol,
            "{share} (tolerance {tol}), {cal:?}"
        );
    }
    let spec = ModelSpec {
        net: Mlp::new(vec![data.features, 4, 3], Activation::Tanh).into(),
        likelihood: Likelihood::Categorical { classes: 3 },
    };
    let e = calibrate(
        &belief("confidence = 0.3\n"),
        &spec,
        &x.x,
        x.rows,
        (0.0, 1.0),
        5,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("at least 1/3"), "{e}");
}

#[test]
fn a_fit_records_the_statement_and_prior_check_shows_before_and_after() {
    let data = boston();
    let cfg = Config::parse(
        "o.toml",
        "[model]\nhidden = [20]\nlikelihood = { family = \"gaussian\" }\n[training]\nepochs = 50\n[output_prior]\nrange = [5.0, 50.0]\nmass = 0.95\nprovenance = { kind = \"factual\", source = \"tract median values are between $5k and $50k\" }\n",
    )
    .unwrap();
    let m = fit(
        &data,
        &cfg,
        FitOptions {
            method: Method::Map,
            seed: 0,
            progress: &Silent,
            strict_columns: false,
        },
    )
    .unwrap();
    let cal = m
        .record
        .output_prior
        .clone()
        .expect("the calibration is recorded");
    assert_eq!(cal.stated, [5.0, 50.0]);
    let priors = m.record.priors.clone().unwrap();
    let w = priors
        .priors
        .iter()
        .find(|p| p.params == "layer2.weight")
        .unwrap();
    assert_eq!(w.provenance.kind, credence::ProvenanceKind::Factual);
    assert!(
        w.provenance
            .note
            .contains("calibrated to the stated output belief"),
        "{}",
        w.provenance.note
    );
    assert!(
        priors.priors.iter().any(|p| p.params == "noise"),
        "the noise prior stays"
    );

    // Laplace keeps the stated prior (no evidence tuning) and holds its per-layer scales.
    let lap = fit(
        &data,
        &cfg,
        FitOptions {
            method: Method::Laplace,
            seed: 0,
            progress: &Silent,
            strict_columns: false,
        },
    )
    .unwrap();
    assert_eq!(
        lap.record.priors, m.record.priors,
        "the calibrated priors are kept"
    );
    assert_eq!(lap.record.settings["inference"]["tune"], "none");

    let opts = credence::explain::PriorCheckOptions::default();
    let c = credence::explain::prior_check(&data, &cfg, &opts).unwrap();
    let before = c.before.unwrap();
    assert!(
        before.width() > 3.0 * c.function.width(),
        "before {before:?}, after {:?}",
        c.function
    );
    assert!(
        c.function.q01 > -10.0 && c.function.q99 < 70.0,
        "{:?}",
        c.function
    );
}

#[test]
fn bad_statements_are_config_errors() {
    let base = "[output_prior]\nprovenance = { kind = \"factual\", source = \"s\" }\n";
    for (extra, want) in [
        ("range = [50.0, 5.0]\n", "lo < hi"),
        (
            "range = [5.0, 50.0]\nmass = 1.0\n",
            "mass must be in (0, 1)",
        ),
        ("mean = 3.0\n", "both mean and sd"),
        ("", "state range"),
        ("range = [1.0, 2.0]\nconfidence = 0.9\n", "not both"),
        ("confidence = 1.5\n", "confidence must be in (0, 1)"),
    ] {
        let e = Config::parse("o.toml", &format!("{base}{extra}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{extra}: {e}");
    }
    let e = Config::parse("o.toml", "[output_prior]\nrange = [1.0, 2.0]\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("provenance"), "{e}");
    let e = Config::parse(
        "o.toml",
        &format!("{base}range = [1.0, 2.0]\n[[prior]]\nparams = \"*.weight\"\ndistribution = {{ family = \"normal\", loc = 0.0, scale = 1.0 }}\nprovenance = {{ kind = \"default\", source = \"x\" }}\n"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("keep only [[prior]] entries for \"noise\""),
        "{e}"
    );
}
