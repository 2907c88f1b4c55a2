//! A fit run unit by unit (ensemble and MultiSWAG members, chains — as a distributed fit runs them on other
//! processes) and combined is the fit run here, draw for draw; units of another fit are refused.

use credence::config::Config;
use credence::data::uci::UciFolder;
use credence::data::Dataset;
use credence::fit::{fit_from_units, fit_unit, unit_count, UnitOutput};
use credence::infer::{Method, Silent};
use credence::{fit, FitOptions, FittedModel};
use std::path::Path;

fn yacht() -> Dataset {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/yacht");
    UciFolder::open(&dir).unwrap().split(0).unwrap().0
}

fn opts(method: Method, seed: u64) -> FitOptions<'static> {
    FitOptions {
        method,
        seed,
        progress: &Silent,
        strict_columns: false,
    }
}

/// Every unit run alone, sent through bytes, then combined.
fn by_units(data: &Dataset, cfg: &Config, method: Method, seed: u64) -> FittedModel {
    let n = unit_count(data, cfg, opts(method, seed)).unwrap();
    let units: Vec<UnitOutput> = (0..n)
        .map(|k| {
            let u = fit_unit(data, cfg, opts(method, seed), k).unwrap();
            UnitOutput::from_bytes(&u.to_bytes().unwrap()).unwrap()
        })
        .collect();
    fit_from_units(data, cfg, opts(method, seed), &units).unwrap()
}

fn same_posterior(a: &FittedModel, b: &FittedModel) {
    let (ta, tb) = (a.posterior.tensors(), b.posterior.tensors());
    assert_eq!(ta.len(), tb.len());
    for (x, y) in ta.iter().zip(&tb) {
        assert_eq!(x.name, y.name);
        assert_eq!(x.shape, y.shape);
        let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&x.data), bits(&y.data), "tensor {} differs", x.name);
    }
    assert_eq!(a.record.method, b.record.method);
    assert_eq!(a.record.prior_summary, b.record.prior_summary);
}

#[test]
fn ensemble_by_members_is_the_local_ensemble() {
    let data = yacht();
    let cfg = Config::parse(
        "t.toml",
        "[model]\nhidden = [8]\n[training]\nepochs = 60\n[inference]\nmembers = 3\n",
    )
    .unwrap();
    for method in [Method::Ensemble, Method::AnchoredEnsemble] {
        assert_eq!(unit_count(&data, &cfg, opts(method, 5)).unwrap(), 3);
        let local = fit(&data, &cfg, opts(method, 5)).unwrap();
        same_posterior(&local, &by_units(&data, &cfg, method, 5));
    }
}

#[test]
fn multiswag_by_members_is_the_local_multiswag() {
    let data = yacht();
    let cfg = Config::parse(
        "t.toml",
        "[model]\nhidden = [6]\n[training]\nepochs = 30\n[inference]\nmembers = 3\nepochs = 12\nburn_in = 4\nrank = 5\nsamples = 4\n",
    )
    .unwrap();
    let m = Method::MultiSwag;
    assert_eq!(unit_count(&data, &cfg, opts(m, 4)).unwrap(), 3);
    let local = fit(&data, &cfg, opts(m, 4)).unwrap();
    let split = by_units(&data, &cfg, m, 4);
    same_posterior(&local, &split);
    // The record (each member's MAP run and collection trace) is the local one too.
    assert_eq!(local.record.outcome, split.record.outcome);
    assert_eq!(local.record.posterior_kind, "swag");
    // Predictions from the two agree bit for bit (same draws from the same Gaussians).
    let a = local.predict(&data, 1).unwrap();
    let b = split.predict(&data, 1).unwrap();
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    // A member past the end, a unit of another method, and SWAG (one member, fitted whole).
    let e = fit_unit(&data, &cfg, opts(m, 4), 3)
        .unwrap_err()
        .to_string();
    assert!(e.contains("member 3 asked of a MultiSWAG fit of 3"), "{e}");
    let ens_cfg = Config::parse(
        "t.toml",
        "[model]\nhidden = [6]\n[training]\nepochs = 30\n[inference]\nmembers = 3\n",
    )
    .unwrap();
    let ens: Vec<UnitOutput> = (0..3)
        .map(|k| fit_unit(&data, &ens_cfg, opts(Method::Ensemble, 4), k).unwrap())
        .collect();
    assert!(fit_from_units(&data, &cfg, opts(m, 4), &ens).is_err());
    let single = Config::parse("t.toml", "[model]\nhidden = [6]\n").unwrap();
    let e = fit_unit(&data, &single, opts(Method::Swag, 4), 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("fit it whole"), "{e}");
}

#[test]
fn nuts_by_chains_is_the_local_nuts_fit() {
    let data = yacht();
    let cfg = Config::parse(
        "t.toml",
        "[model]\nhidden = [6]\n[training]\nepochs = 60\n[inference]\nchains = 2\nwarmup = 60\ndraws = 20\n",
    )
    .unwrap();
    let local = fit(&data, &cfg, opts(Method::Nuts, 9)).unwrap();
    let split = by_units(&data, &cfg, Method::Nuts, 9);
    same_posterior(&local, &split);
    // The diagnostics are computed over all chains, as in the local fit.
    let q = |m: &FittedModel| m.record.outcome["quantities"].clone();
    assert_eq!(q(&local), q(&split));
    assert_eq!(
        local.record.outcome["divergences"],
        split.record.outcome["divergences"]
    );
}

#[test]
fn units_of_another_fit_or_missing_units_are_refused() {
    let data = yacht();
    let cfg = Config::parse(
        "t.toml",
        "[model]\nhidden = [4]\n[training]\nepochs = 20\n[inference]\nmembers = 2\n",
    )
    .unwrap();
    let m = Method::Ensemble;
    let u0 = fit_unit(&data, &cfg, opts(m, 1), 0).unwrap();
    let u1 = fit_unit(&data, &cfg, opts(m, 1), 1).unwrap();
    let other_seed = fit_unit(&data, &cfg, opts(m, 2), 1).unwrap();
    let e = fit_from_units(&data, &cfg, opts(m, 1), &[u0.clone(), other_seed])
        .unwrap_err()
        .to_string();
    assert!(e.contains("belongs to another fit"), "{e}");
    let e = fit_from_units(&data, &cfg, opts(m, 1), std::slice::from_ref(&u0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 units"), "{e}");
    let e = fit_from_units(&data, &cfg, opts(m, 1), &[u1, u0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("units given are [1, 0]"), "{e}");
    let e = fit_unit(&data, &cfg, opts(m, 1), 2)
        .unwrap_err()
        .to_string();
    assert!(e.contains("member 2"), "{e}");
    let e = fit_unit(&data, &cfg, opts(Method::Laplace, 1), 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("fit it whole"), "{e}");
    assert_eq!(
        unit_count(&data, &cfg, opts(Method::Laplace, 1)).unwrap(),
        1
    );
    assert!(UnitOutput::from_bytes(b"not cbor").is_err());
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|f| f.to_bits()).collect()
}

#[test]
fn uci_splits_run_apart_merge_into_the_run_over_all_splits() {
    use credence::uci::{merge, run_selected, SplitSelection};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/yacht");
    let cfg = Config::parse("t.toml", "[model]\nhidden = [6]\n[training]\nepochs = 40\n").unwrap();
    let run = |ids: Vec<usize>| {
        run_selected(
            &dir,
            Method::Map,
            &cfg,
            &SplitSelection::Ids(ids),
            0,
            &Silent,
        )
        .unwrap()
    };
    let all = run(vec![0, 1, 2]);
    let merged = merge(vec![run(vec![2]), run(vec![0]), run(vec![1])], 1.0).unwrap();
    let ll = |r: &credence::uci::UciResult| r.per_split.iter().map(|s| s.ll).collect::<Vec<_>>();
    assert_eq!(bits(&ll(&all)), bits(&ll(&merged)));
    assert_eq!(all.ll_mean.to_bits(), merged.ll_mean.to_bits());
    assert_eq!(all.rmse_se.to_bits(), merged.rmse_se.to_bits());
    assert!(merge(vec![run(vec![0]), run(vec![0])], 1.0)
        .unwrap_err()
        .to_string()
        .contains("split 0 appears twice"));
}

#[test]
fn curve_and_sensitivity_from_their_units_match_the_local_runs() {
    use credence::explain::{
        curve_from_runs, curve_run, curve_runs, learning_curve, sensitivity,
        sensitivity_from_units, sensitivity_unit, sensitivity_units, Alternatives, CurveOptions,
        SensitivityOptions,
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/yacht");
    let cfg = Config::parse("t.toml", "[model]\nhidden = [5]\n[training]\nepochs = 30\n").unwrap();
    let opts = CurveOptions {
        methods: vec![Method::Mle, Method::Map],
        sizes: vec![20, 40],
        repeats: 2,
        seed: 3,
    };
    let n = curve_runs(&dir, &cfg, &opts).unwrap();
    assert_eq!(n, 8);
    let runs: Vec<_> = (0..n)
        .map(|i| curve_run(&dir, &cfg, &opts, i).unwrap())
        .collect();
    let local = learning_curve(&dir, &cfg, &opts, &Silent).unwrap();
    let apart = curve_from_runs(&dir, &cfg, &opts, runs.clone()).unwrap();
    let lls = |c: &credence::explain::Curve| c.points.iter().map(|p| p.ll_mean).collect::<Vec<_>>();
    assert_eq!(bits(&lls(&local)), bits(&lls(&apart)));
    let mut shuffled = runs;
    shuffled.swap(0, 1);
    assert!(curve_from_runs(&dir, &cfg, &opts, shuffled).is_err());

    let data = yacht();
    let alts = Alternatives::parse(
        "a.toml",
        "[[alternative]]\nname = \"tight\"\nscale = 0.1\n[[alternative]]\nname = \"laplace\"\nfamily = \"laplace\"\n",
    )
    .unwrap();
    let so = SensitivityOptions {
        method: Method::Map,
        test_fraction: 0.2,
        seed: 1,
    };
    let units: Vec<_> = (0..sensitivity_units(&alts))
        .map(|i| sensitivity_unit(&data, &cfg, &alts, so, i).unwrap())
        .collect();
    let local = sensitivity(&data, &cfg, &alts, so).unwrap();
    let apart = sensitivity_from_units(&data, &cfg, &alts, so, units.clone()).unwrap();
    assert_eq!(
        serde_json::to_string(&local).unwrap(),
        serde_json::to_string(&apart).unwrap()
    );
    assert!(sensitivity_from_units(&data, &cfg, &alts, so, units[..2].to_vec()).is_err());
}
