//! Prior predictive checks, prior sensitivity and learning curves on small in-repo data with tiny
//! networks (each test runs in well under a second in the dev profile).

use credence::config::Config;
use credence::data::{read_table, Dataset};
use credence::explain::{
    learning_curve, prior_check, sensitivity, Alternatives, CurveOptions, PriorCheckOptions,
    SensitivityOptions,
};
use credence::infer::Silent;
use credence::Method;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sine() -> Dataset {
    let t = read_table(
        &repo().join("examples/explain/sine.csv"),
        &Default::default(),
    )
    .unwrap();
    Dataset::from_table(&t, "y", None).unwrap()
}

fn config(name: &str) -> Config {
    Config::from_file(&repo().join("examples/explain").join(name)).unwrap()
}

#[test]
fn wide_prior_triggers_the_absurd_output_warning_and_unit_prior_does_not() {
    let data = sine();
    let opts = PriorCheckOptions::default();
    let unit = prior_check(&data, &config("unit_prior.toml"), &opts).unwrap();
    let wide = prior_check(&data, &config("wide_prior.toml"), &opts).unwrap();
    assert!(
        unit.range_ratio < 20.0 && unit.warnings.is_empty(),
        "unit prior: ratio {} warnings {:?}",
        unit.range_ratio,
        unit.warnings
    );
    // With 20 tanh units and N(0, 100²) weights the output scale is ~100·√20·E|tanh| ≈ 400
    // standardised units, i.e. a 98% range of ~2000 sd against an observed range of ~3 sd.
    assert!(wide.range_ratio > 100.0, "wide ratio {}", wide.range_ratio);
    assert!(
        wide.warnings.iter().any(|w| w.contains("absurd")),
        "{:?}",
        wide.warnings
    );
    // One input: a band over its observed range, with quantiles in order, and a plot.
    let b = unit.band.as_ref().unwrap();
    assert_eq!(b.x.len(), opts.grid);
    assert!(b
        .predictive
        .iter()
        .all(|q| q.q01 <= q.q50 && q.q50 <= q.q99));
    let svg = credence::plot::line_plot(&unit.plot().unwrap(), 600, 400).unwrap();
    assert!(svg.contains("<polygon"));
    // Same seed, same draws.
    let again = prior_check(&data, &config("unit_prior.toml"), &opts).unwrap();
    assert_eq!(again.predictive, unit.predictive);
}

#[test]
fn prior_check_refuses_too_few_draws_and_bad_inputs() {
    let data = sine();
    let c = config("unit_prior.toml");
    let few = PriorCheckOptions {
        draws: 3,
        ..PriorCheckOptions::default()
    };
    assert!(prior_check(&data, &c, &few).is_err());
    let bad = PriorCheckOptions {
        input: Some(5),
        ..PriorCheckOptions::default()
    };
    assert!(prior_check(&data, &c, &bad).is_err());
}

fn tiny(text: &str) -> Config {
    let base = "[model]\nhidden = [8]\n[training]\noptimizer = \"lbfgs\"\nmax_iterations = 200\n";
    Config::parse("tiny.toml", &format!("{base}{text}")).unwrap()
}

#[test]
fn sensitivity_identity_does_not_move_and_a_tight_prior_does() {
    let data = sine();
    let alts = Alternatives::parse(
        "alts.toml",
        "[[alternative]]\nname = \"same\"\nscale = 1.0\n[[alternative]]\nname = \"tight\"\nscale = 0.01\n[[alternative]]\nname = \"laplace\"\nfamily = \"laplace\"\n",
    )
    .unwrap();
    let opts = SensitivityOptions {
        method: Method::Map,
        test_fraction: 0.25,
        seed: 3,
    };
    let s = sensitivity(&data, &tiny(""), &alts, opts).unwrap();
    assert_eq!(s.alternatives.len(), 3);
    assert_eq!(s.train_rows + s.test_rows, data.rows);
    let get = |n: &str| s.alternatives.iter().find(|r| r.name == n).unwrap();
    // Scale × 1 is the base prior: the same deterministic fit, so no shift at all.
    assert!(get("same").max_shift < 1e-9, "{}", get("same").max_shift);
    assert!((get("same").rmse - s.base.rmse).abs() < 1e-12);
    // N(0, 0.01²) on every weight flattens the function: predictions move by many sd.
    assert!(get("tight").max_shift > 1.0, "{}", get("tight").max_shift);
    assert!(get("tight").rmse > s.base.rmse);
    assert!(get("laplace").priors.contains("Laplace"));
    assert!(s.verdict.contains("tight"), "{}", s.verdict);
    // Maximum likelihood has no prior to be sensitive to.
    let mle = SensitivityOptions {
        method: Method::Mle,
        ..opts
    };
    assert!(sensitivity(&data, &tiny(""), &alts, mle).is_err());
}

#[test]
fn alternatives_files_are_checked() {
    for bad in [
        "[[alternative]]\nname = \"nothing\"\n",
        "[[alternative]]\nname = \"neg\"\nscale = -1.0\n",
        "[[alternative]]\nname = \"fam\"\nfamily = \"weibull\"\n",
        "[[alternative]]\nname = \"t\"\nfamily = \"student-t\"\ndf = 1.5\n",
        "[[alternative]]\nname = \"x\"\nscal = 2.0\n",
    ] {
        assert!(Alternatives::parse("a.toml", bad).is_err(), "{bad}");
    }
    let a = Alternatives::from_file(&repo().join("examples/explain/alternatives.toml")).unwrap();
    assert_eq!(a.alternative.len(), 5);
    // Family changes keep the standard deviation: Laplace(0, b) has sd b·√2.
    let set = a.alternative[2]
        .apply(&credence::PriorSet::default_priors())
        .unwrap();
    assert!((set.priors[0].distribution.variance() - 1.0).abs() < 1e-12);
    assert_eq!(
        set.priors[1],
        credence::PriorSet::default_priors().priors[1]
    );
}

#[test]
fn learning_curve_has_every_cell_and_sane_metrics() {
    let opts = CurveOptions {
        methods: vec![Method::Mle, Method::Map],
        sizes: vec![20, 40],
        repeats: 2,
        seed: 1,
    };
    let c = learning_curve(
        &repo().join("data/bostonHousing"),
        &tiny(""),
        &opts,
        &Silent,
    )
    .unwrap();
    assert_eq!(c.points.len(), 4);
    assert_eq!(c.runs.len(), 8);
    for p in &c.points {
        assert_eq!(p.repeats, 2);
        assert!(p.rmse_mean.is_finite() && p.rmse_mean > 0.0);
        assert!((0.0..=1.0).contains(&p.coverage90_mean));
        assert!(p.ll_se.is_finite());
    }
    // Repeat r uses split r: both methods are scored on the same test rows.
    assert!(c.runs.iter().all(|r| r.split == r.repeat));
    assert_eq!(c.plots().len(), 3);
    // Paired differences: MAP against MLE, one per size, equal to the difference of cell means.
    assert_eq!(c.paired.len(), 2);
    for d in &c.paired {
        let mean = |m: &str| {
            c.points
                .iter()
                .find(|p| p.method == m && p.size == d.size)
                .unwrap()
                .ll_mean
        };
        // Mean of paired differences = difference of means, up to rounding (LL values can be large).
        let expect = mean("map") - mean("mle");
        let scale = mean("map").abs() + mean("mle").abs() + 1.0;
        assert!(
            (d.ll_diff_mean - expect).abs() < 1e-10 * scale,
            "{} vs {expect}",
            d.ll_diff_mean
        );
    }
    let too_big = CurveOptions {
        sizes: vec![100_000],
        ..opts
    };
    assert!(learning_curve(
        &repo().join("data/bostonHousing"),
        &tiny(""),
        &too_big,
        &Silent
    )
    .is_err());
}
