//! Information from the data (KL, variance ratios, epistemic share) and transfer priors, checked
//! against the closed-form posterior of Bayesian linear regression: an MLP with no hidden layer,
//! one feature, a Gaussian likelihood with fixed noise and N(0, 1) priors. With Laplace (full
//! Hessian, no tuning) the posterior is exact there, so every figure has a closed form.

use credence::config::Config;
use credence::data::Dataset;
use credence::explain::{transfer_experiment, TransferOptions};
use credence::fit::{fit, fit_with_transfer, transfer_from, FitOptions, FittedModel};
use credence::infer::Silent;
use credence::prior::TransferNoise;
use credence::{rng, Method, Predictive};

const NOISE: f64 = 0.4;

fn config(hidden: &str, inference: &str) -> Config {
    Config::parse(
        "test",
        &format!(
            r#"
[model]
hidden = {hidden}
likelihood = {{ family = "gaussian", noise = {NOISE} }}
[training]
optimizer = "lbfgs"
max_iterations = 5000
tolerance = 1e-14
[[prior]]
params = "*"
distribution = {{ family = "normal", loc = 0.0, scale = 1.0 }}
provenance = {{ kind = "default", source = "test", note = "unit normal" }}
[inference]
{inference}
"#
        ),
    )
    .unwrap()
}

fn linear_data(rows: usize, seed: u64) -> Dataset {
    let mut r = rng::stream(seed, 0);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for _ in 0..rows {
        let a = 2.0 + 1.5 * rng::normal(&mut r);
        x.push(a);
        y.push(1.0 + 0.8 * a + 0.6 * rng::normal(&mut r));
    }
    Dataset::from_arrays(x, y, 1).unwrap()
}

fn opts(method: Method) -> FitOptions<'static> {
    FitOptions {
        method,
        seed: 3,
        progress: &Silent,
        strict_columns: false,
    }
}

/// Exact posterior over θ = (w, b) for inputs `x`, targets `y` (standardised), prior N(m0, diag(v0)).
fn exact(x: &[f64], y: &[f64], m0: [f64; 2], v0: [f64; 2]) -> ([[f64; 2]; 2], [f64; 2]) {
    let s2 = NOISE * NOISE;
    let mut lam = [[1.0 / v0[0], 0.0], [0.0, 1.0 / v0[1]]];
    let mut rhs = [m0[0] / v0[0], m0[1] / v0[1]];
    for (xi, yi) in x.iter().zip(y) {
        let phi = [*xi, 1.0];
        for i in 0..2 {
            rhs[i] += phi[i] * yi / s2;
            for j in 0..2 {
                lam[i][j] += phi[i] * phi[j] / s2;
            }
        }
    }
    let det = lam[0][0] * lam[1][1] - lam[0][1] * lam[1][0];
    let cov = [
        [lam[1][1] / det, -lam[0][1] / det],
        [-lam[1][0] / det, lam[0][0] / det],
    ];
    let mean = [
        cov[0][0] * rhs[0] + cov[0][1] * rhs[1],
        cov[1][0] * rhs[0] + cov[1][1] * rhs[1],
    ];
    (cov, mean)
}

fn kl_normal(m: f64, v: f64, m0: f64, v0: f64) -> f64 {
    0.5 * (v / v0 + (m - m0).powi(2) / v0 - 1.0 - (v / v0).ln())
}

fn standardised(model: &FittedModel, d: &Dataset) -> (Vec<f64>, Vec<f64>) {
    let s = &model.record.standardizer;
    let x = d.x.iter().map(|v| (v - s.x_mean[0]) / s.x_std[0]).collect();
    let y = d.y.iter().map(|v| (v - s.y_mean) / s.y_std).collect();
    (x, y)
}

#[test]
fn information_matches_the_closed_form_for_linear_gaussian_laplace() {
    let d = linear_data(30, 1);
    let cfg = config("[]", "hessian = \"full\"\ntune = \"none\"");
    let m = fit(&d, &cfg, opts(Method::Laplace)).unwrap();
    let (x, y) = standardised(&m, &d);
    let (cov, mean) = exact(&x, &y, [0.0, 0.0], [1.0, 1.0]);
    let info = m.record.information.clone().unwrap();
    assert!(info.available, "{}", info.reason);
    // Groups: layer1.weight (w), layer1.bias (b). Closed-form KL of each marginal from N(0, 1);
    // 1e-7: the MAP is found by L-BFGS to a gradient of ~1e-10, the rest is exact arithmetic.
    let w = &info.groups[0];
    let b = &info.groups[1];
    assert_eq!(
        (w.name.as_str(), b.name.as_str()),
        ("layer1.weight", "layer1.bias")
    );
    let kw = kl_normal(mean[0], cov[0][0], 0.0, 1.0);
    let kb = kl_normal(mean[1], cov[1][1], 0.0, 1.0);
    assert!((w.kl.unwrap() - kw).abs() < 1e-7, "{:?} vs {kw}", w.kl);
    assert!((b.kl.unwrap() - kb).abs() < 1e-7, "{:?} vs {kb}", b.kl);
    assert!((w.variance_ratio.unwrap() - cov[0][0]).abs() < 1e-10);
    assert!((b.variance_ratio.unwrap() - cov[1][1]).abs() < 1e-10);
    assert!(w.kl_method.contains("closed form"));
    // The layer sums its groups; the total is the sum over groups.
    let l = &info.layers[0];
    assert_eq!(l.params, 2);
    assert!((l.kl.unwrap() - kw - kb).abs() < 1e-7);
    assert!((info.total_kl.unwrap() - kw - kb).abs() < 1e-7);
    // Epistemic share on the training inputs: mean φᵀΣφ / (mean φᵀΣφ + σ²), exact (GLM predictive).
    let fv: f64 = x
        .iter()
        .map(|xi| cov[0][0] * xi * xi + 2.0 * cov[0][1] * xi + cov[1][1])
        .sum::<f64>()
        / x.len() as f64;
    let e = info.epistemic.unwrap();
    assert_eq!(e.rows, 30);
    let want = fv / (fv + NOISE * NOISE);
    assert!(
        (e.posterior - want).abs() < 1e-9,
        "{} vs {want}",
        e.posterior
    );
    // Under the N(0, 1) prior the function variance is x² + 1 per row (≈ 2 on standardised
    // inputs) against σ² = 0.16: the prior share is ≈ 0.93; 200 draws give it to a few percent.
    let p = e.prior.unwrap();
    assert!((p - 2.0 / 2.16).abs() < 0.05, "prior share {p}");
    assert!(e.ratio_to_prior.unwrap() < 0.1);
    // And in model.json: the record serialises the information.
    let json = serde_json::to_value(&m.record).unwrap();
    assert!(json["information"]["groups"][0]["kl"].as_f64().is_some());
    // Lines for the terminal name the groups.
    let lines = info_lines(&m);
    assert!(lines.iter().any(|l| l.starts_with("layer1.weight")));
}

fn info_lines(m: &FittedModel) -> Vec<String> {
    m.record.information.as_ref().unwrap().report_lines()
}

#[test]
fn point_estimates_say_there_is_no_posterior_spread() {
    let d = linear_data(30, 2);
    let cfg = config("[]", "");
    for (method, words) in [
        (Method::Map, "no posterior spread"),
        (Method::Mle, "no prior"),
    ] {
        let m = fit(&d, &cfg, opts(method)).unwrap();
        let info = m.record.information.clone().unwrap();
        assert!(!info.available);
        assert!(info.groups.is_empty() && info.total_kl.is_none());
        assert!(info.reason.contains(words), "{}", info.reason);
        assert_eq!(info.report_lines(), vec![info.reason.clone()]);
        let json = serde_json::to_value(&m.record).unwrap();
        assert_eq!(json["information"]["available"], false);
    }
    // And a point posterior cannot become a prior.
    let map = fit(&d, &cfg, opts(Method::Map)).unwrap();
    let e = transfer_from(&map, 1.0, TransferNoise::Keep).unwrap_err();
    assert!(e.to_string().contains("no posterior spread"), "{e}");
}

#[test]
fn sequential_updating_with_a_transferred_prior_is_exact_for_linear_gaussian() {
    // One feature, standardised on A: A's inputs are centred, so A's posterior over (w, b) is
    // diagonal and its diagonal Gaussian summary loses nothing; B's fit then equals A ∪ B.
    let all = linear_data(50, 4);
    let a = all.subset(&(0..30).collect::<Vec<_>>());
    let b = all.subset(&(30..50).collect::<Vec<_>>());
    let cfg = config("[]", "hessian = \"full\"\ntune = \"none\"");
    let ma = fit(&a, &cfg, opts(Method::Laplace)).unwrap();
    let t = transfer_from(&ma, 1.0, TransferNoise::Keep).unwrap();
    let mb = fit_with_transfer(&b, &cfg, opts(Method::Laplace), &t).unwrap();
    // The standardisation is A's (so the parameters mean the same thing in both fits).
    assert_eq!(mb.record.standardizer, ma.record.standardizer);
    let (x, y) = standardised(&ma, &all);
    let (cov, mean) = exact(&x, &y, [0.0, 0.0], [1.0, 1.0]);
    let c = mb.posterior.center();
    let v = mb.posterior.marginal_variances().unwrap();
    // 1e-7 on means (two L-BFGS MAP fits), 1e-10 on variances (the curvature is exact).
    for i in 0..2 {
        assert!(
            (c[i] - mean[i]).abs() < 1e-7,
            "mean {i}: {} vs {}",
            c[i],
            mean[i]
        );
        assert!(
            (v[i] - cov[i][i]).abs() < 1e-10,
            "var {i}: {} vs {}",
            v[i],
            cov[i][i]
        );
    }
    // The predictive (original units) matches the exact one, correlations included.
    let pt = linear_data(5, 9);
    let Predictive::Regression(p) = mb.predict(&pt, 0).unwrap() else {
        panic!("regression expected")
    };
    let s = &ma.record.standardizer;
    for n in 0..5 {
        let xs = (pt.x[n] - s.x_mean[0]) / s.x_std[0];
        let m = s.y_mean + s.y_std * (mean[0] * xs + mean[1]);
        let fv = cov[0][0] * xs * xs + 2.0 * cov[0][1] * xs + cov[1][1];
        assert!((p.mean()[n] - m).abs() < 1e-6);
        assert!((p.epistemic_var()[n] - s.y_std.powi(2) * fv).abs() < 1e-8);
    }
    // Provenance: factual, from the source's posterior and data fingerprint.
    let set = mb.record.priors.as_ref().unwrap();
    let wp = set
        .priors
        .iter()
        .find(|p| p.params == "layer1.weight")
        .unwrap();
    assert_eq!(wp.provenance.kind, credence::ProvenanceKind::Factual);
    assert_eq!(
        wp.provenance.source,
        format!(
            "posterior of laplace model fitted on {}",
            ma.record.data.fingerprint
        )
    );
    assert!(wp.per_parameter.is_some());
    assert!(mb.record.prior_summary.contains("per-parameter"));
    // Information is measured against the transferred prior: B moved A's posterior only a little.
    let ib = mb.record.information.clone().unwrap();
    let ia = ma.record.information.clone().unwrap();
    assert!(ib.total_kl.unwrap() < ia.total_kl.unwrap());
    // Tempering: ×4 variances give a wider (but still finite) posterior than ×1.
    let t4 = transfer_from(&ma, 4.0, TransferNoise::Keep).unwrap();
    let m4 = fit_with_transfer(&b, &cfg, opts(Method::Laplace), &t4).unwrap();
    let v4 = m4.posterior.marginal_variances().unwrap();
    assert!(v4[0] > v[0] && v4[1] > v[1]);
}

#[test]
fn transferred_priors_work_with_map_vi_and_ensembles_and_refuse_mismatches() {
    let all = linear_data(60, 5);
    let a = all.subset(&(0..40).collect::<Vec<_>>());
    let b = all.subset(&(40..60).collect::<Vec<_>>());
    let cfg = config("[4]", "");
    let src = fit(&a, &cfg, opts(Method::Laplace)).unwrap();
    let t = transfer_from(&src, 1.0, TransferNoise::Keep).unwrap();
    for method in [Method::Map, Method::Vi, Method::Ensemble] {
        let mut c = cfg.clone();
        if method == Method::Vi {
            c.inference = toml::from_str("epochs = 300").unwrap();
        }
        if method == Method::Ensemble {
            c.inference = toml::from_str("members = 3").unwrap();
        }
        let m = fit_with_transfer(&b, &c, opts(method), &t)
            .unwrap_or_else(|e| panic!("{}: {e}", method.name()));
        assert!(m.posterior.center().iter().all(|v| v.is_finite()));
        let p = m.record.priors.as_ref().unwrap();
        assert!(p.priors.iter().any(|q| q.per_parameter.is_some()));
    }
    // A moment-matched sample posterior (an ensemble's members) transfers too.
    let mut ce = cfg.clone();
    ce.inference = toml::from_str("members = 4").unwrap();
    let ens = fit(&a, &ce, opts(Method::Ensemble)).unwrap();
    let te = transfer_from(&ens, 1.0, TransferNoise::Keep).unwrap();
    assert!(te.priors.priors[0]
        .provenance
        .note
        .contains("moment-matched to its 4 draws"));
    fit_with_transfer(&b, &cfg, opts(Method::Map), &te).unwrap();
    // NUTS draws: moment-matched network prior and a noise prior moment-matched to the draws
    // of σ (learned noise, default priors); information is measured on the draws.
    let mut cn = cfg.clone();
    cn.model.likelihood = None;
    cn.priors = None;
    cn.inference = toml::from_str("chains = 2\nwarmup = 150\ndraws = 100\ninit = \"map\"").unwrap();
    let nuts = fit(&a, &cn, opts(Method::Nuts)).unwrap();
    let info = nuts.record.information.clone().unwrap();
    assert!(
        info.available && info.posterior.contains("moment-matched to 200 draws"),
        "{}",
        info.posterior
    );
    assert!(info.total_kl.unwrap() > 0.0);
    let tn = transfer_from(&nuts, 1.0, TransferNoise::Match).unwrap();
    let np = tn
        .priors
        .priors
        .iter()
        .find(|p| p.params == "noise")
        .unwrap();
    assert!(np
        .provenance
        .note
        .contains("moment-matched to the 200 draws of σ"));
    let mut cm = cn.clone();
    cm.inference = toml::Table::new();
    fit_with_transfer(&b, &cm, opts(Method::Map), &tn).unwrap();
    // KFAC cannot hold a per-parameter prior precision: a clear error if asked for.
    let mut ck = cfg.clone();
    ck.inference = toml::from_str("hessian = \"kfac\"").unwrap();
    let e = fit_with_transfer(&b, &ck, opts(Method::Laplace), &t).unwrap_err();
    assert!(
        e.to_string().contains("hessian = \"diag\" or \"full\""),
        "{e}"
    );
    // Another architecture: the error names the layer and both shapes.
    let other = config("[6]", "");
    let e = fit_with_transfer(&b, &other, opts(Method::Map), &t).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("layer1.weight is 1×4 in the prior and 1×6 here"),
        "{msg}"
    );
    // MLE ignores priors: refused.
    let e = fit_with_transfer(&b, &cfg, opts(Method::Mle), &t).unwrap_err();
    assert!(e.to_string().contains("uses no prior"), "{e}");
    // Noise: with a point σ̂ (Laplace), the matched prior on the precision is the conjugate
    // Gamma(α₀ + n/2, β₀ + n σ̂²/2) from the source's default Gamma(6, 6); `keep` keeps the
    // config's; ×K tempering divides shape and rate by K.
    let mut cl = cfg.clone();
    cl.model.likelihood = Some(credence::config::LikelihoodConfig::Gaussian { noise: None });
    let mut gamma = credence::PriorSet::default_priors();
    gamma.priors[1].distribution = credence::dist::Dist::Gamma {
        shape: 6.0,
        rate: 6.0,
    };
    gamma.priors[1].on = credence::prior::NoiseParam::Precision;
    cl.priors = Some(gamma);
    let learned = fit(&a, &cl, opts(Method::Laplace)).unwrap();
    let s2 = (2.0 * learned.posterior.center()[learned.record.model.net.dim()]).exp();
    for (k, noise) in [
        (1.0, TransferNoise::Match),
        (2.0, TransferNoise::Match),
        (1.0, TransferNoise::Keep),
    ] {
        let tn = transfer_from(&learned, k, noise).unwrap();
        let np = tn.priors.priors.iter().find(|p| p.params == "noise");
        if noise == TransferNoise::Keep {
            assert!(np.is_none());
            let m = fit_with_transfer(&b, &cl, opts(Method::Map), &tn).unwrap();
            let set = m.record.priors.unwrap();
            let kept = set.priors.iter().find(|p| p.params == "noise").unwrap();
            assert_eq!(kept.provenance.kind, credence::ProvenanceKind::Default);
            continue;
        }
        let Some(credence::dist::Dist::Gamma { shape, rate }) = np.map(|p| p.distribution.clone())
        else {
            panic!("expected a Gamma noise prior")
        };
        assert!((shape - (6.0 + 20.0) / k).abs() < 1e-12, "{shape}");
        assert!((rate - (6.0 + 20.0 * s2) / k).abs() < 1e-12, "{rate}");
        fit_with_transfer(&b, &cl, opts(Method::Map), &tn).unwrap();
    }
}

#[test]
fn transferred_prior_beats_the_default_prior_on_a_small_boston_task() {
    // Bundled Boston housing: task A = 250 training rows, task B = 40 other training rows, test
    // = the split's test rows; 4 repeats (splits 0–3), 16 hidden units to keep the test fast
    // (the full figures, 50 hidden units and 20 repeats, are in docs/EXPLAIN.md).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/bostonHousing");
    let mut cfg = Config::default();
    cfg.model.hidden = vec![16];
    let r = transfer_experiment(
        &dir,
        &cfg,
        &TransferOptions {
            a_rows: Some(250),
            b_rows: 40,
            repeats: 4,
            method_a: Method::Laplace,
            method_b: Method::Laplace,
            scale: 1.0,
            noise: TransferNoise::Match,
            seed: 0,
        },
        &Silent,
    )
    .unwrap();
    eprintln!("{}", r.table());
    // Every repeat: transferred beats default on test LL; on average by more than 2 paired se.
    assert!(
        r.runs.iter().all(|x| x.ll_transfer > x.ll_default),
        "{}",
        r.table()
    );
    assert!(r.ll_gain.mean > 2.0 * r.ll_gain.se, "{}", r.table());
}
