//! Elicitation: exact solves reproduce the statement, least squares against a brute-force grid,
//! maximum likelihood against closed forms and score equations, the power prior against the
//! normal–normal conjugate update, and the written block parsed back.

use super::*;
use crate::prior::ProvenanceKind;

fn q(p: f64, x: f64) -> Quantile {
    Quantile { p, x }
}

fn elicit(family: &str, qs: &[(f64, f64)], df: Option<f64>) -> Elicited {
    let st = Statement::Quantiles(qs.iter().map(|&(p, x)| q(p, x)).collect());
    fit(Family::parse(family).unwrap(), &st, df).unwrap()
}

fn err(family: &str, st: Statement, df: Option<f64>) -> String {
    fit(Family::parse(family).unwrap(), &st, df)
        .unwrap_err()
        .to_string()
}

#[test]
fn exactly_determined_quantiles_are_reproduced() {
    // Closed forms and root finders to 1e-8 relative (the brief's tolerance; closed forms
    // reach ~1e-14, the root finders ~1e-12).
    type Case = (&'static str, Vec<(f64, f64)>, Option<f64>);
    let cases: Vec<Case> = vec![
        ("normal", vec![(0.05, 400.0), (0.95, 900.0)], None),
        ("lognormal", vec![(0.05, 400.0), (0.95, 900.0)], None),
        ("gamma", vec![(0.05, 400.0), (0.95, 900.0)], None),
        ("gamma", vec![(0.1, 0.01), (0.5, 2.0)], None),
        ("beta", vec![(0.05, 0.1), (0.95, 0.4)], None),
        ("beta", vec![(0.25, 0.002), (0.9, 0.05)], None),
        ("beta", vec![(0.01, 0.0001), (0.99, 0.9999)], None),
        ("student-t", vec![(0.05, 400.0), (0.95, 900.0)], Some(4.0)),
        (
            "student-t",
            vec![(0.5, 650.0), (0.75, 700.0), (0.95, 820.0)],
            None,
        ),
        ("half-normal", vec![(0.95, 2.0)], None),
    ];
    for (family, qs, df) in cases {
        let e = elicit(family, &qs, df);
        assert_eq!(e.method, FitMethod::Exact, "{family} {qs:?}");
        for (c, (_, x)) in e.checks.iter().zip(&qs) {
            assert!(
                (c.fitted - x).abs() < 1e-8 * x.abs(),
                "{family}: stated {x}, fitted {} ({})",
                c.fitted,
                describe_short(&e.dist)
            );
        }
    }
}

#[test]
fn normal_and_lognormal_closed_forms() {
    // 5% = 400, 95% = 900: loc = 650, scale = 250 / z(0.95) (z = 1.6448536269514722).
    let z95 = 1.644_853_626_951_472_2;
    let e = elicit("normal", &[(0.05, 400.0), (0.95, 900.0)], None);
    let Dist::Normal { loc, scale } = e.dist else {
        panic!()
    };
    assert!((loc - 650.0).abs() < 1e-10 && (scale - 250.0 / z95).abs() < 1e-10);
    let e = elicit("lognormal", &[(0.05, 400.0), (0.95, 900.0)], None);
    let Dist::LogNormal { mu, sigma } = e.dist else {
        panic!()
    };
    assert!((mu - (400.0f64 * 900.0).ln() / 2.0).abs() < 1e-12);
    assert!((sigma - (900.0f64 / 400.0).ln() / (2.0 * z95)).abs() < 1e-12);
}

#[test]
fn three_consistent_quantiles_recover_the_parameters() {
    for truth in [
        Dist::Gamma {
            shape: 3.0,
            rate: 0.01,
        },
        Dist::LogNormal {
            mu: 6.0,
            sigma: 0.4,
        },
        Dist::Beta {
            alpha: 2.0,
            beta: 5.0,
        },
        Dist::Normal {
            loc: 1.0,
            scale: 2.0,
        },
    ] {
        let qs: Vec<(f64, f64)> = [0.1, 0.5, 0.9]
            .iter()
            .map(|&p| (p, quantile(&truth, p)))
            .collect();
        let e = elicit(truth.family(), &qs, None);
        assert_eq!(e.method, FitMethod::LeastSquares);
        let (a, b) = (
            Family::parse(truth.family()).unwrap().theta(&truth, false),
            Family::parse(truth.family()).unwrap().theta(&e.dist, false),
        );
        // Nelder–Mead to a zero residual: parameters to 1e-5 (log scale).
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "{truth:?} vs {:?}", e.dist);
        }
    }
}

#[test]
fn inconsistent_quantiles_give_the_least_squares_fit() {
    // Normal through 10% = 1, 50% = 2, 90% = 5: the quantiles are linear in (loc, scale),
    // so least squares is a linear regression of x on z: closed form.
    let qs = [(0.1, 1.0), (0.5, 2.0), (0.9, 5.0)];
    let e = elicit("normal", &qs, None);
    let zs: Vec<f64> = qs
        .iter()
        .map(|&(p, _)| {
            quantile(
                &Dist::Normal {
                    loc: 0.0,
                    scale: 1.0,
                },
                p,
            )
        })
        .collect();
    let xs: Vec<f64> = qs.iter().map(|&(_, x)| x).collect();
    let (mz, mx) = (zs.iter().sum::<f64>() / 3.0, xs.iter().sum::<f64>() / 3.0);
    let slope = zs
        .iter()
        .zip(&xs)
        .map(|(z, x)| (z - mz) * (x - mx))
        .sum::<f64>()
        / zs.iter().map(|z| (z - mz).powi(2)).sum::<f64>();
    let Dist::Normal { loc, scale } = e.dist else {
        panic!()
    };
    assert!((loc - (mx - slope * mz)).abs() < 1e-6, "{loc}");
    assert!((scale - slope).abs() < 1e-6, "{scale}");
    // Gamma through inconsistent quantiles: no point of a fine grid around the fit does better.
    let qs = vec![q(0.1, 200.0), q(0.5, 600.0), q(0.9, 800.0)];
    let e = elicit("gamma", &[(0.1, 200.0), (0.5, 600.0), (0.9, 800.0)], None);
    let ss = |d: &Dist| {
        quantile_residuals(d, &qs)
            .iter()
            .map(|r| r * r)
            .sum::<f64>()
    };
    let best = ss(&e.dist);
    let th = Family::Gamma.theta(&e.dist, false);
    let mut grid_best = f64::INFINITY;
    for i in -40..=40 {
        for j in -40..=40 {
            let t = [th[0] + 0.5 * i as f64 / 40.0, th[1] + 0.5 * j as f64 / 40.0];
            grid_best = grid_best.min(ss(&Family::Gamma.at(&t, None)));
        }
    }
    assert!(best > 1e-3, "the statement is inconsistent");
    assert!(best <= grid_best + 1e-12, "fit {best} vs grid {grid_best}");
}

#[test]
fn mean_sd_and_mode_range() {
    let st = Statement::MeanSd {
        mean: 650.0,
        sd: 150.0,
    };
    for f in ["normal", "lognormal", "gamma"] {
        let e = fit(Family::parse(f).unwrap(), &st, None).unwrap();
        assert!((e.dist.mean() - 650.0).abs() < 1e-9, "{f}");
        assert!((e.dist.variance().sqrt() - 150.0).abs() < 1e-9, "{f}");
    }
    let e = fit(
        Family::Beta,
        &Statement::MeanSd { mean: 0.3, sd: 0.1 },
        None,
    )
    .unwrap();
    assert!((e.dist.mean() - 0.3).abs() < 1e-12 && (e.dist.variance().sqrt() - 0.1).abs() < 1e-12);
    // Normal with mode 650 and 95% in [400, 900]: consistent, so the fit is exact.
    let e = fit(
        Family::Normal,
        &Statement::ModeRange {
            mode: 650.0,
            lo: 400.0,
            hi: 900.0,
            mass: 0.95,
        },
        None,
    )
    .unwrap();
    for c in &e.checks {
        assert!((c.fitted - c.stated).abs() < 1e-5, "{c:?}");
    }
    // Lognormal: mode 600, 95% in [400, 900]: the three statements are matched closely.
    let e = fit(
        Family::LogNormal,
        &Statement::ModeRange {
            mode: 600.0,
            lo: 400.0,
            hi: 900.0,
            mass: 0.95,
        },
        None,
    )
    .unwrap();
    for c in &e.checks {
        assert!((c.fitted - c.stated).abs() < 30.0, "{c:?}");
    }
}

#[test]
fn bad_statements_are_named() {
    let qs = |v: &[(f64, f64)]| Statement::Quantiles(v.iter().map(|&(p, x)| q(p, x)).collect());
    let e = err("normal", qs(&[(0.05, 900.0), (0.95, 400.0)]), None);
    assert!(e.contains("--quantile") && e.contains("increase"), "{e}");
    let e = err("gamma", qs(&[(0.05, -1.0), (0.95, 400.0)]), None);
    assert!(
        e.contains("--quantile 0.05=-1") && e.contains("positive"),
        "{e}"
    );
    let e = err("beta", qs(&[(0.05, 0.1), (0.95, 1.5)]), None);
    assert!(e.contains("between 0 and 1"), "{e}");
    let e = err("normal", qs(&[(0.0, 1.0), (0.95, 4.0)]), None);
    assert!(
        e.contains("probability must lie strictly between 0 and 1"),
        "{e}"
    );
    let e = err("normal", qs(&[(0.5, 1.0)]), None);
    assert!(e.contains("needs at least 2 quantiles"), "{e}");
    let e = err("student-t", qs(&[(0.05, 1.0), (0.95, 2.0)]), None);
    assert!(e.contains("--df"), "{e}");
    let e = err(
        "student-t",
        qs(&[(0.05, 1.0), (0.5, 2.0), (0.95, 3.0)]),
        None,
    );
    assert!(e.contains("symmetric"), "{e}");
    let e = err("normal", qs(&[(0.5, 1.0), (0.5, 2.0)]), None);
    assert!(e.contains("given twice"), "{e}");
    let e = err(
        "gamma",
        Statement::MeanSd {
            mean: -1.0,
            sd: 1.0,
        },
        None,
    );
    assert!(e.contains("--mean") && e.contains("positive"), "{e}");
    let e = err("beta", Statement::MeanSd { mean: 0.5, sd: 0.6 }, None);
    assert!(e.contains("sd²"), "{e}");
    let e = err(
        "normal",
        Statement::ModeRange {
            mode: 1000.0,
            lo: 400.0,
            hi: 900.0,
            mass: 0.95,
        },
        None,
    );
    assert!(e.contains("low < mode < high"), "{e}");
    let e = err(
        "normal",
        Statement::ModeRange {
            mode: 600.0,
            lo: 400.0,
            hi: 900.0,
            mass: 1.5,
        },
        None,
    );
    assert!(e.contains("--mass"), "{e}");
    let e = err(
        "student-t",
        Statement::ModeRange {
            mode: 0.0,
            lo: -1.0,
            hi: 1.0,
            mass: 0.9,
        },
        None,
    );
    assert!(e.contains("needs --df"), "{e}");
    let e = err("normal", qs(&[(0.05, 1.0), (0.95, 2.0)]), Some(3.0));
    assert!(e.contains("--df"), "{e}");
    assert!(Family::parse("weibull")
        .unwrap_err()
        .to_string()
        .contains("expected one of normal, lognormal"));
}

fn rainfall() -> Vec<f64> {
    vec![
        812.0, 745.0, 903.0, 688.0, 770.0, 851.0, 799.0, 730.0, 960.0, 705.0, 822.0, 781.0,
    ]
}

#[test]
fn mle_matches_closed_forms_and_scores() {
    let xs = rainfall();
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let s = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt();
    assert_eq!(
        mle(Family::Normal, &xs, None).unwrap(),
        Dist::Normal { loc: m, scale: s }
    );
    let logs: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
    let lm = logs.iter().sum::<f64>() / n;
    let ls = (logs.iter().map(|x| (x - lm).powi(2)).sum::<f64>() / n).sqrt();
    let Dist::LogNormal { mu, sigma } = mle(Family::LogNormal, &xs, None).unwrap() else {
        panic!()
    };
    assert!((mu - lm).abs() < 1e-12 && (sigma - ls).abs() < 1e-12);
    let Dist::HalfNormal { scale } = mle(Family::HalfNormal, &xs, None).unwrap() else {
        panic!()
    };
    assert!((scale - (xs.iter().map(|x| x * x).sum::<f64>() / n).sqrt()).abs() < 1e-9);
    // Gamma: both score equations vanish (to 1e-9 relative to the terms).
    let Dist::Gamma { shape, rate } = mle(Family::Gamma, &xs, None).unwrap() else {
        panic!()
    };
    let digamma = statrs::function::gamma::digamma;
    let d_shape = n * rate.ln() - n * digamma(shape) + logs.iter().sum::<f64>();
    let d_rate = n * shape / rate - xs.iter().sum::<f64>();
    assert!(d_shape.abs() < 1e-9 * n * rate.ln().abs(), "{d_shape}");
    assert!(d_rate.abs() < 1e-9 * xs.iter().sum::<f64>(), "{d_rate}");
    // Beta: the score equations vanish.
    let ps = [0.12, 0.31, 0.25, 0.4, 0.18, 0.22, 0.35, 0.28];
    let Dist::Beta { alpha, beta } = mle(Family::Beta, &ps, None).unwrap() else {
        panic!()
    };
    let l1 = ps.iter().map(|x: &f64| x.ln()).sum::<f64>() / 8.0;
    assert!((digamma(alpha) - digamma(alpha + beta) - l1).abs() < 1e-9);
    // Student-t with df fixed: the likelihood is no higher at nearby points.
    let d = mle(Family::StudentT, &xs, Some(5.0)).unwrap();
    let ll = |d: &Dist| xs.iter().map(|&x| d.log_prob(x)).sum::<f64>();
    let th = Family::StudentT.theta(&d, true);
    for (i, j) in [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)] {
        let t = [th[0] + 1e-3 * i, th[1] + 1e-3 * j];
        assert!(ll(&Family::StudentT.at(&t, Some(5.0))) <= ll(&d) + 1e-9);
    }
}

#[test]
fn power_prior_is_the_conjugate_posterior() {
    // With σ fixed at s, the power prior L(μ)^w under a flat prior is Normal(x̄, s²/(w n));
    // updating it with new data y by the normal–normal conjugate rule equals the flat-prior
    // posterior on the past data at weight w and the new data at weight 1:
    // precision (w n + m)/s², mean (w n x̄ + m ȳ)/(w n + m). Closed forms: 1e-10.
    use crate::conjugate::normal_known::{Data, NormalKnown};
    let xs = rainfall();
    let w = 0.5;
    let n = xs.len() as f64;
    let Dist::Normal { loc, scale: s } = mle(Family::Normal, &xs, None).unwrap() else {
        panic!()
    };
    let Dist::Normal { loc: pm, scale: ps } =
        power_prior(Family::Normal, &xs, w, Target::Mean).unwrap()
    else {
        panic!()
    };
    assert!((pm - loc).abs() < 1e-12 && (ps - s / (w * n).sqrt()).abs() < 1e-12);
    // The power-prior density is proportional to L(μ)^w: the log-density differences agree.
    let prior = Dist::Normal { loc: pm, scale: ps };
    let loglik = |mu: f64| {
        xs.iter()
            .map(|x| Dist::Normal { loc: mu, scale: s }.log_prob(*x))
            .sum::<f64>()
    };
    for mu in [700.0, 760.0, 830.0] {
        let lhs = prior.log_prob(mu) - prior.log_prob(loc);
        let rhs = w * (loglik(mu) - loglik(loc));
        assert!(
            (lhs - rhs).abs() < 1e-9 * (1.0 + rhs.abs()),
            "{lhs} vs {rhs}"
        );
    }
    let new = vec![874.0, 860.0, 901.0, 850.0, 885.0];
    let m = new.len() as f64;
    let conj = NormalKnown {
        mean: pm,
        sd: ps,
        provenance: Provenance::factual("past", ""),
    };
    let (post_mean, post_sd) = conj.posterior(&Data {
        values: new.clone(),
        noise_sd: s,
    });
    let ybar = new.iter().sum::<f64>() / m;
    let expect_mean = (w * n * loc + m * ybar) / (w * n + m);
    let expect_sd = s / (w * n + m).sqrt();
    assert!((post_mean - expect_mean).abs() < 1e-10 * expect_mean);
    assert!((post_sd - expect_sd).abs() < 1e-10 * expect_sd);
    // The predictive of a value adds the spread of one observation.
    let Dist::Normal { scale: pv, .. } =
        power_prior(Family::Normal, &xs, w, Target::Value).unwrap()
    else {
        panic!()
    };
    assert!((pv - s * (1.0 + 1.0 / (w * n)).sqrt()).abs() < 1e-12);
    assert!(power_prior(Family::Gamma, &xs, w, Target::Mean).is_err());
    assert!(power_prior(Family::Normal, &xs, 0.0, Target::Mean)
        .unwrap_err()
        .to_string()
        .contains("--weight"));
}

#[test]
fn written_block_parses_back_with_its_statement() {
    let e = elicit("lognormal", &[(0.05, 400.0), (0.95, 900.0)], None);
    let prov = Provenance {
        kind: ProvenanceKind::Factual,
        source: "hydrologist \"A\" interview, 2026".into(),
        note: e.note(),
        holder: None,
    };
    let block = prior_block("noise", crate::prior::NoiseParam::Scale, &e.dist, &prov).unwrap();
    let cfg = crate::config::Config::parse("elicited.toml", &block).unwrap();
    let priors = cfg.priors.unwrap().priors;
    assert_eq!(priors.len(), 1);
    let p = &priors[0];
    assert_eq!(p.distribution, e.dist);
    assert_eq!(p.params, "noise");
    assert!(p
        .provenance
        .note
        .contains("5% quantile 400, 95% quantile 900"));
    assert!(p.provenance.note.contains("lognormal(mu="));
    assert_eq!(p.provenance.source, prov.source);
    let block = prior_block("noise", crate::prior::NoiseParam::Precision, &e.dist, &prov).unwrap();
    let cfg = crate::config::Config::parse("elicited.toml", &block).unwrap();
    assert_eq!(
        cfg.priors.unwrap().priors[0].on,
        crate::prior::NoiseParam::Precision
    );
}

#[test]
fn past_data_column_is_read_with_missing_cells_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("rain.csv");
    std::fs::write(&f, "year,rainfall\n2001,812\n2002,NA\n2003,745\n2004,903\n").unwrap();
    let d = read_column(&f, "rainfall").unwrap();
    assert_eq!(d.values, vec![812.0, 745.0, 903.0]);
    assert_eq!(d.lines, vec![2, 4, 5]);
    assert_eq!(d.dropped, 1);
    assert_eq!(d.fingerprint().len(), 16);
    std::fs::write(&f, "year,rainfall\n2001,812\n2002,lots\n").unwrap();
    let e = read_column(&f, "rainfall").unwrap_err().to_string();
    assert!(
        e.contains("line 3") && e.contains("rainfall") && e.contains("lots"),
        "{e}"
    );
    std::fs::write(&f, "year,rainfall\n2001,812\n2002,-3\n").unwrap();
    let d = read_column(&f, "rainfall").unwrap();
    let e = d.check_support(Family::Gamma).unwrap_err().to_string();
    assert!(e.contains("line 3") && e.contains("positive"), "{e}");
    // A half-normal fits equal values (one parameter); the others need a spread.
    for f in Family::ALL.into_iter().filter(|f| *f != Family::HalfNormal) {
        let e = mle(f, &[0.5, 0.5, 0.5], None).unwrap_err().to_string();
        assert!(e.contains("all equal"), "{}: {e}", f.name());
    }
    let e = mle(Family::HalfNormal, &[0.0, 0.0], None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("every value is 0"), "{e}");
}

/// Four past values make the student-t's maximum likelihood run to very heavy tails (df < 1),
/// where statrs' inverse CDF never returned (found by fuzzing `elicit`): the quantiles now come
/// from bisection and the fit finishes (it may still be refused, never hang).
#[test]
fn a_heavy_tailed_student_t_from_four_values_finishes() {
    let past = data::PastData {
        file: "past.csv".into(),
        column: "x".into(),
        values: vec![1.5, 2.5, 3.0, 0.7],
        lines: vec![2, 3, 5, 6],
        dropped: 1,
    };
    for target in [data::Target::Value, data::Target::Mean] {
        if let Ok(e) = data::from_past_data(Family::StudentT, &past, None, None, target) {
            for &p in &[0.05, 0.5, 0.95] {
                let x = quantile(&e.dist, p);
                assert!(x.is_finite(), "quantile {p}: {x}");
                assert!((family::cdf(&e.dist, x) - p).abs() < 1e-6, "quantile {p}");
            }
        }
    }
    let t = Dist::StudentT {
        df: 0.05,
        loc: 2.0,
        scale: 0.01,
    };
    let x = quantile(&t, 0.9);
    assert!(
        x.is_finite() && (family::cdf(&t, x) - 0.9).abs() < 1e-6,
        "{x}"
    );
}

/// Three equal values (`0.7`, `.7`, `0.7`: their computed sd is a rounding error above 0) are
/// refused as constant for every family but the half-normal; nearly equal ones give a beta with
/// α and β about 1e15, whose quantiles statrs' inverse CDF never returned (found by fuzzing
/// `elicit`): they now come from bisection.
#[test]
fn equal_and_nearly_equal_values_are_refused_or_fitted_never_hang() {
    let past = |values: Vec<f64>| data::PastData {
        file: "past.csv".into(),
        column: "x".into(),
        lines: (2..2 + values.len()).collect(),
        values,
        dropped: 0,
    };
    let equal = past(vec![0.7, 0.7, 0.7]);
    for family in [
        Family::Beta,
        Family::Gamma,
        Family::Normal,
        Family::LogNormal,
    ] {
        let e = data::from_past_data(family, &equal, None, None, data::Target::Value)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("all equal"), "{family:?}: {e}");
    }
    let near = past(vec![0.7, 0.700_000_01, 0.7]);
    let e = data::from_past_data(Family::Beta, &near, None, None, data::Target::Value).unwrap();
    for &p in &[0.05, 0.5, 0.95] {
        let x = quantile(&e.dist, p);
        assert!(x > 0.699 && x < 0.701, "quantile {p}: {x}");
    }
}
