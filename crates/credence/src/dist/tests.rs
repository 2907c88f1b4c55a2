//! One table-driven suite over every distribution: normalisation, sample moments, gradient.

use super::*;

fn table() -> Vec<Dist> {
    vec![
        Dist::Normal {
            loc: 0.5,
            scale: 2.0,
        },
        Dist::Laplace {
            loc: -1.0,
            scale: 0.7,
        },
        Dist::StudentT {
            df: 5.0,
            loc: 1.0,
            scale: 1.5,
        },
        Dist::Cauchy {
            loc: 0.0,
            scale: 1.0,
        },
        Dist::HalfNormal { scale: 1.3 },
        Dist::LogNormal {
            mu: 0.3,
            sigma: 0.5,
        },
        Dist::HalfCauchy { scale: 0.8 },
        Dist::Gamma {
            shape: 3.0,
            rate: 2.0,
        },
        Dist::InverseGamma {
            shape: 5.0,
            scale: 2.0,
        },
        Dist::Beta {
            alpha: 2.0,
            beta: 3.5,
        },
        Dist::Bernoulli { p: 0.3 },
        Dist::Categorical {
            probs: vec![0.2, 0.5, 0.3],
        },
        Dist::Poisson { rate: 3.5 },
    ]
}

fn discrete(d: &Dist) -> bool {
    matches!(
        d,
        Dist::Bernoulli { .. } | Dist::Categorical { .. } | Dist::Poisson { .. }
    )
}

#[test]
fn densities_integrate_to_one() {
    for d in table() {
        let total: f64 = if discrete(&d) {
            (0..200).map(|k| d.log_prob(k as f64).exp()).sum()
        } else {
            // Midpoint rule on a wide grid; heavy tails handled by a wide range and the tail mass.
            let (lo, hi, n) = match d {
                Dist::Beta { .. } => (0.0, 1.0, 1_000_000),
                _ => (-4000.0, 4000.0, 4_000_000),
            };
            let h = (hi - lo) / n as f64;
            (0..n)
                .map(|i| d.log_prob(lo + (i as f64 + 0.5) * h).exp() * h)
                .sum()
        };
        // Cauchy tails beyond ±4000 hold about 2/(π·4000) of the mass.
        let tol = if matches!(d, Dist::Cauchy { .. } | Dist::HalfCauchy { .. }) {
            5e-4
        } else {
            1e-6
        };
        assert!(
            (total - 1.0).abs() < tol,
            "{}: integrates to {total}",
            d.describe()
        );
    }
}

#[test]
fn closed_form_values() {
    // Hand-derived values (tolerance 1e-12: closed forms).
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12 * (1.0 + b.abs());
    assert!(close(
        Dist::Normal {
            loc: 0.0,
            scale: 1.0
        }
        .log_prob(0.0),
        -0.918_938_533_204_672_7
    ));
    assert!(close(
        Dist::Laplace {
            loc: 0.0,
            scale: 1.0
        }
        .log_prob(1.0),
        -1.0 - 2f64.ln()
    ));
    assert!(close(
        Dist::Gamma {
            shape: 1.0,
            rate: 2.0
        }
        .log_prob(1.0),
        2f64.ln() - 2.0
    ));
    assert!(close(
        Dist::Beta {
            alpha: 1.0,
            beta: 1.0
        }
        .log_prob(0.3),
        0.0
    ));
    assert!(close(
        Dist::Poisson { rate: 2.0 }.log_prob(3.0),
        (8.0f64 / 6.0).ln() - 2.0
    ));
    assert!(close(
        Dist::Cauchy {
            loc: 0.0,
            scale: 1.0
        }
        .log_prob(1.0),
        -(2.0 * PI).ln()
    ));
    assert!(close(
        Dist::StudentT {
            df: 1.0,
            loc: 0.0,
            scale: 1.0
        }
        .log_prob(1.0),
        -(2.0 * PI).ln()
    ));
    assert_eq!(
        Dist::HalfNormal { scale: 1.0 }.log_prob(-0.1),
        f64::NEG_INFINITY
    );
}

#[test]
fn lognormal_is_the_exp_of_a_normal() {
    // ln p(x) = ln N(ln x; mu, sigma) − ln x; parsed from a prior file by its family name.
    let d = Dist::LogNormal {
        mu: 0.3,
        sigma: 0.5,
    };
    let n = Dist::Normal {
        loc: 0.3,
        scale: 0.5,
    };
    for x in [0.2, 1.0, 4.0] {
        assert!((d.log_prob(x) - (n.log_prob(x.ln()) - x.ln())).abs() < 1e-12);
    }
    assert_eq!(d.log_prob(0.0), f64::NEG_INFINITY);
    assert!((d.mean() - (0.3f64 + 0.125).exp()).abs() < 1e-12);
    assert!(d.is_positive() && d.family() == "lognormal");
    let parsed: Dist = toml::from_str("family = \"lognormal\"\nmu = 0.3\nsigma = 0.5").unwrap();
    assert_eq!(parsed, d);
    assert!(Dist::LogNormal {
        mu: 0.0,
        sigma: 0.0
    }
    .validate()
    .unwrap_err()
    .contains("sigma"));
}

#[test]
fn sample_moments_match_mean_and_variance() {
    // |sample mean − mean| < 5 standard errors at a fixed seed.
    let mut rng = crate::rng::stream(11, 0);
    let n = 200_000;
    for d in table() {
        let (m, v) = (d.mean(), d.variance());
        let xs: Vec<f64> = (0..n).map(|_| d.sample(&mut rng)).collect();
        if m.is_finite() && v.is_finite() {
            let sm = xs.iter().sum::<f64>() / n as f64;
            let sv = xs.iter().map(|x| (x - sm).powi(2)).sum::<f64>() / (n - 1) as f64;
            assert!(
                (sm - m).abs() < 5.0 * (v / n as f64).sqrt(),
                "{}: mean {sm} vs {m}",
                d.describe()
            );
            assert!(
                (sv - v).abs() / v < 0.05,
                "{}: variance {sv} vs {v}",
                d.describe()
            );
        } else {
            // Median check for families without moments.
            let mut s = xs.clone();
            s.sort_by(f64::total_cmp);
            let med = s[n / 2];
            let expect = match d {
                Dist::HalfCauchy { scale } => scale,
                _ => 0.0,
            };
            assert!(
                (med - expect).abs() < 0.02,
                "{}: median {med}",
                d.describe()
            );
        }
        assert!(
            xs.iter().all(|x| d.log_prob(*x) > f64::NEG_INFINITY),
            "{}: sample outside support",
            d.describe()
        );
    }
}

#[test]
fn gradients_match_finite_differences() {
    for d in table().into_iter().filter(|d| !discrete(d)) {
        for &x in &[0.23, 0.61, 0.87] {
            let h = 1e-6;
            let fd = (d.log_prob(x + h) - d.log_prob(x - h)) / (2.0 * h);
            let g = d.grad_log_prob(x);
            assert!(
                (fd - g).abs() < 1e-6 * (1.0 + g.abs()),
                "{} at {x}: {g} vs {fd}",
                d.describe()
            );
        }
    }
}

#[test]
fn invalid_parameters_are_named() {
    let e = Dist::Normal {
        loc: 0.0,
        scale: -1.0,
    }
    .validate()
    .unwrap_err();
    assert!(e.contains("scale"), "{e}");
    let e = Dist::Categorical {
        probs: vec![0.5, 0.6],
    }
    .validate()
    .unwrap_err();
    assert!(e.contains("sum to 1"), "{e}");
    assert!(Dist::Gamma {
        shape: 2.0,
        rate: 1.0
    }
    .validate()
    .is_ok());
}
