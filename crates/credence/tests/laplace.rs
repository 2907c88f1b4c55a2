//! Laplace approximation: exactness on Bayesian linear regression (posterior and evidence in
//! closed form), evidence ranking of prior scales, classification, options and artifacts.

#![allow(clippy::needless_range_loop)] // dense reference linear algebra reads clearest with indices

mod common;
use common::normal_prior;
use credence::config::{Config, Optimizer, TrainConfig};
use credence::data::Dataset;
use credence::dist::Dist;
use credence::fit::{fit, FitOptions};
use credence::infer::{
    fit_laplace, HessianStructure, LaplaceOptions, LaplacePredictive, OnlineOptions, PriorGroups,
    Silent, Subset, Tune,
};
use credence::likelihood::Likelihood;
use credence::model::ModelSpec;
use credence::nn::{Activation, Mlp};
use credence::prior::{Prior, PriorSet};
use credence::{rng, Posterior, Predictive, ProvenanceKind};

/// L-BFGS run to its gradient-norm floor (1e-12): on a quadratic the MAP is then exact to
/// ~1e-12 / (smallest posterior precision), far inside the 1e-8 tolerance below.
fn exact_training() -> TrainConfig {
    TrainConfig {
        optimizer: Optimizer::Lbfgs,
        max_iterations: 2000,
        tolerance: 0.0,
        ..TrainConfig::default()
    }
}

/// Linear-Gaussian data: y = x·w + b + ε with w, b ~ N(0, s²) and ε ~ N(0, σ²).
fn blr_data(rows: usize, d: usize, s: f64, sigma: f64, seed: u64) -> Dataset {
    let mut r = rng::stream(seed, 3);
    let w: Vec<f64> = (0..=d).map(|_| s * rng::normal(&mut r)).collect();
    let x: Vec<f64> = (0..rows * d).map(|_| rng::normal(&mut r)).collect();
    let y = (0..rows)
        .map(|n| {
            let f: f64 = (0..d).map(|i| x[n * d + i] * w[i]).sum::<f64>() + w[d];
            f + sigma * rng::normal(&mut r)
        })
        .collect();
    Dataset::from_arrays(x, y, d).unwrap()
}

fn linear_spec(d: usize, sigma: f64) -> ModelSpec {
    ModelSpec {
        net: Mlp::new(vec![d, 1], Activation::Tanh).into(),
        likelihood: Likelihood::Gaussian { noise: Some(sigma) },
    }
}

/// Lower Cholesky factor of a small SPD matrix (row-major).
fn chol(a: &[f64], n: usize) -> Vec<f64> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                l[i * n + i] = (a[i * n + i] - s).sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    l
}

/// Inverse of a small SPD matrix.
fn inv(a: &[f64], n: usize) -> Vec<f64> {
    let l = chol(a, n);
    let mut out = vec![0.0; n * n];
    for c in 0..n {
        let mut w = vec![0.0; n];
        for i in 0..n {
            let s: f64 = (0..i).map(|k| l[i * n + k] * w[k]).sum();
            w[i] = (f64::from(u8::from(i == c)) - s) / l[i * n + i];
        }
        for i in (0..n).rev() {
            let s: f64 = (i + 1..n).map(|k| l[k * n + i] * w[k]).sum();
            w[i] = (w[i] - s) / l[i * n + i];
        }
        for i in 0..n {
            out[i * n + c] = w[i];
        }
    }
    out
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn linear_regression_laplace_is_the_exact_conjugate_posterior() {
    let (d, rows, s, sigma) = (3, 40, 0.8, 0.5);
    let data = blr_data(rows, d, s, sigma, 11);
    let spec = linear_spec(d, sigma);
    let ps = normal_prior(s);
    let rp = ps.resolve(&spec.layout(), "test").unwrap();
    // Exact: precision A = X̃ᵀX̃/σ² + I/s², mean A⁻¹X̃ᵀy/σ², evidence N(y; 0, σ²I + s²X̃X̃ᵀ).
    let p = d + 1;
    let xt = |n: usize, i: usize| if i < d { data.x[n * d + i] } else { 1.0 };
    let mut a = vec![0.0; p * p];
    let mut b = vec![0.0; p];
    for n in 0..rows {
        for i in 0..p {
            b[i] += xt(n, i) * data.y[n] / (sigma * sigma);
            for j in 0..p {
                a[i * p + j] += xt(n, i) * xt(n, j) / (sigma * sigma);
            }
        }
    }
    for i in 0..p {
        a[i * p + i] += 1.0 / (s * s);
    }
    let cov = inv(&a, p);
    let mean: Vec<f64> = (0..p)
        .map(|i| (0..p).map(|j| cov[i * p + j] * b[j]).sum())
        .collect();
    let mut k = vec![0.0; rows * rows];
    for n in 0..rows {
        for m in 0..rows {
            k[n * rows + m] = s * s * (0..p).map(|i| xt(n, i) * xt(m, i)).sum::<f64>();
        }
        k[n * rows + n] += sigma * sigma;
    }
    let lk = chol(&k, rows);
    let logdet: f64 = 2.0 * (0..rows).map(|i| lk[i * rows + i].ln()).sum::<f64>();
    let kinv = inv(&k, rows);
    let quad: f64 = (0..rows)
        .map(|n| {
            (0..rows)
                .map(|m| data.y[n] * kinv[n * rows + m] * data.y[m])
                .sum::<f64>()
        })
        .sum();
    let evidence =
        -0.5 * quad - 0.5 * logdet - 0.5 * rows as f64 * (2.0 * std::f64::consts::PI).ln();
    // Full and KFAC are both exact here (one output, so A ⊗ G = Σ ā āᵀ / σ²).
    for hessian in [HessianStructure::Full, HessianStructure::Kfac] {
        let o = LaplaceOptions {
            hessian,
            tune: Tune::None,
            ..LaplaceOptions::default()
        };
        let lf = fit_laplace(
            &spec,
            &ps,
            &rp,
            &data,
            &exact_training(),
            &o,
            0,
            &Silent,
            "test",
        )
        .unwrap();
        let post = &lf.posterior;
        for i in 0..p {
            assert!(
                rel(post.theta[i], mean[i]) < 1e-8,
                "{hessian:?} mean {i}: {} vs {}",
                post.theta[i],
                mean[i]
            );
        }
        let c = post.covariance();
        for i in 0..p * p {
            assert!(
                (c[i] - cov[i]).abs() < 1e-8 * cov[i].abs().max(cov[(i / p) * p + i / p]),
                "{hessian:?} covariance {i}: {} vs {}",
                c[i],
                cov[i]
            );
        }
        assert!(
            rel(lf.outcome.log_evidence, evidence) < 1e-8,
            "{hessian:?} evidence {} vs {evidence}",
            lf.outcome.log_evidence
        );
        // The GLM predictive variance at the training rows is x̃ᵀ Σ x̃ + σ².
        let Predictive::Regression(pr) = post
            .predict(&spec, &data.x[..5 * d], 5, &mut rng::stream(0, 0))
            .unwrap()
        else {
            panic!("expected a regression predictive")
        };
        for n in 0..5 {
            let v: f64 = (0..p)
                .flat_map(|i| (0..p).map(move |j| (i, j)))
                .map(|(i, j)| xt(n, i) * cov[i * p + j] * xt(n, j))
                .sum();
            assert!(rel(pr.func_var[0][n], v) < 1e-8);
            assert!(rel(pr.noise_var[0][n], sigma * sigma) < 1e-12);
        }
    }
}

#[test]
fn evidence_prefers_the_true_prior_scale() {
    // 30 features, 60 rows: the evidence separates a factor of 10 in prior scale by tens of nats.
    let (d, rows, s, sigma) = (30, 60, 0.5, 0.3);
    let data = blr_data(rows, d, s, sigma, 5);
    let spec = linear_spec(d, sigma);
    let o = LaplaceOptions {
        hessian: HessianStructure::Full,
        tune: Tune::None,
        ..LaplaceOptions::default()
    };
    let ev = |scale: f64| {
        let ps = normal_prior(scale);
        let rp = ps.resolve(&spec.layout(), "t").unwrap();
        fit_laplace(
            &spec,
            &ps,
            &rp,
            &data,
            &exact_training(),
            &o,
            0,
            &Silent,
            "t",
        )
        .unwrap()
        .outcome
        .log_evidence
    };
    let (e_true, e_small, e_big) = (ev(s), ev(0.1 * s), ev(10.0 * s));
    assert!(
        e_true > e_small + 5.0 && e_true > e_big + 5.0,
        "{e_true} vs ×0.1 {e_small}, ×10 {e_big}"
    );
    // Post-hoc tuning from a wrong start lands near the truth: the estimate of a precision from
    // 31 coefficients has a log-sd of about √(2/31) ≈ 0.25, so a factor of 2.5 is ~3.6 sd.
    let ps = normal_prior(10.0 * s);
    let rp = ps.resolve(&spec.layout(), "t").unwrap();
    let o = LaplaceOptions {
        hessian: HessianStructure::Full,
        tune: Tune::PostHoc,
        prior_groups: PriorGroups::Global,
        ..LaplaceOptions::default()
    };
    let lf = fit_laplace(
        &spec,
        &ps,
        &rp,
        &data,
        &exact_training(),
        &o,
        0,
        &Silent,
        "t",
    )
    .unwrap();
    let tuned_scale = lf.outcome.prior_precision[0].2;
    assert!(
        tuned_scale > s / 2.5 && tuned_scale < s * 2.5,
        "tuned scale {tuned_scale}, true {s}"
    );
    assert!(lf.outcome.log_evidence >= lf.outcome.log_evidence_initial);
}

#[test]
fn evidence_ranks_prior_scales_on_a_small_network() {
    // Data from a 2 → 8 tanh → 1 network whose weights are drawn from N(0, 1).
    let (rows, sigma) = (120, 0.1);
    let mlp = Mlp::new(vec![2, 8, 1], Activation::Tanh);
    let mut r = rng::stream(9, 2);
    let w: Vec<f64> = (0..mlp.dim()).map(|_| rng::normal(&mut r)).collect();
    let x: Vec<f64> = (0..rows * 2).map(|_| rng::normal(&mut r)).collect();
    let f = mlp.predict(&w, &x, rows);
    let y: Vec<f64> = f.iter().map(|v| v + sigma * rng::normal(&mut r)).collect();
    let data = Dataset::from_arrays(x, y, 2).unwrap();
    let spec = ModelSpec {
        net: mlp.into(),
        likelihood: Likelihood::Gaussian { noise: Some(sigma) },
    };
    let o = LaplaceOptions {
        hessian: HessianStructure::Full,
        tune: Tune::None,
        ..LaplaceOptions::default()
    };
    let train = TrainConfig {
        optimizer: Optimizer::Lbfgs,
        max_iterations: 3000,
        tolerance: 1e-12,
        ..TrainConfig::default()
    };
    let ev = |scale: f64| {
        let ps = normal_prior(scale);
        let rp = ps.resolve(&spec.layout(), "t").unwrap();
        fit_laplace(&spec, &ps, &rp, &data, &train, &o, 1, &Silent, "t")
            .unwrap()
            .outcome
            .log_evidence
    };
    let (e_true, e_small, e_big) = (ev(1.0), ev(0.1), ev(10.0));
    assert!(
        e_true > e_small && e_true > e_big,
        "{e_true} vs ×0.1 {e_small}, ×10 {e_big}"
    );
}

fn classification_data(classes: usize, rows: usize) -> Dataset {
    let mut r = rng::stream(4, 4);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for n in 0..rows {
        let c = n % classes;
        let angle = c as f64 * 2.0 * std::f64::consts::PI / classes as f64;
        x.push(2.0 * angle.cos() + rng::normal(&mut r));
        x.push(2.0 * angle.sin() + rng::normal(&mut r));
        y.push(c as f64);
    }
    Dataset::from_arrays(x, y, 2).unwrap()
}

#[test]
fn classification_laplace_predicts_calibrated_probabilities() {
    for (lik, classes) in [
        (Likelihood::Bernoulli, 2),
        (Likelihood::Categorical { classes: 3 }, 3),
    ] {
        let data = classification_data(classes, 90);
        let spec = ModelSpec {
            net: Mlp::new(vec![2, 6, lik.outputs()], Activation::Tanh).into(),
            likelihood: lik.clone(),
        };
        let ps = normal_prior(1.0);
        let rp = ps.resolve(&spec.layout(), "t").unwrap();
        let train = TrainConfig {
            optimizer: Optimizer::Lbfgs,
            max_iterations: 500,
            tolerance: 1e-10,
            ..TrainConfig::default()
        };
        for hessian in [
            HessianStructure::Diag,
            HessianStructure::Kfac,
            HessianStructure::Full,
        ] {
            for predictive in [LaplacePredictive::Glm, LaplacePredictive::Mc] {
                let o = LaplaceOptions {
                    hessian,
                    predictive,
                    samples: 200,
                    ..LaplaceOptions::default()
                };
                let lf = fit_laplace(&spec, &ps, &rp, &data, &train, &o, 0, &Silent, "t").unwrap();
                let Predictive::Classification(cp) = lf
                    .posterior
                    .predict(&spec, &data.x, data.rows, &mut rng::stream(1, 1))
                    .unwrap()
                else {
                    panic!("expected classification")
                };
                let probs = cp.probs();
                assert!(probs
                    .iter()
                    .all(|p| p.is_finite() && *p >= 0.0 && *p <= 1.0));
                // Well-separated clusters: most training rows are predicted right, and the
                // Laplace probabilities are less confident than the MAP's (the probit factor
                // shrinks logits towards 0) on average.
                let acc = cp
                    .predicted()
                    .iter()
                    .zip(&data.y)
                    .filter(|(a, b)| **a as f64 == **b)
                    .count() as f64
                    / data.rows as f64;
                assert!(acc > 0.8, "{hessian:?} {predictive:?}: accuracy {acc}");
                let map_f = spec.net.predict(&lf.posterior.theta, &data.x, data.rows);
                let mut pm = vec![0.0; classes];
                let (mut conf_map, mut conf_la) = (0.0, 0.0);
                for n in 0..data.rows {
                    let k = spec.net.outputs();
                    spec.likelihood.probs(&map_f[n * k..(n + 1) * k], &mut pm);
                    conf_map += pm.iter().copied().fold(0.0, f64::max);
                    conf_la += probs[n * classes..(n + 1) * classes]
                        .iter()
                        .copied()
                        .fold(0.0, f64::max);
                }
                assert!(conf_la < conf_map, "{hessian:?} {predictive:?}");
            }
        }
    }
}

#[test]
fn options_parse_and_bad_combinations_are_errors() {
    let t: toml::Table = toml::from_str(
        "subset = \"last-layer\"\nhessian = \"full\"\ncurvature = \"ef\"\npredictive = \"mc\"\nsamples = 50\ntune = \"post-hoc\"\nprior_groups = \"global\"\n",
    )
    .unwrap();
    let o = LaplaceOptions::from_table(&t, "c.toml").unwrap();
    assert_eq!(o.subset, Subset::LastLayer);
    assert_eq!(o.hessian, HessianStructure::Full);
    assert_eq!(o.samples, 50);
    for (text, want) in [
        ("hessian = \"dense\"", "diag, kfac, full"),
        ("samples = 10", "only to predictive = \"mc\""),
        (
            "tune = \"none\"\nprior_groups = \"layer\"",
            "needs tune = \"post-hoc\"",
        ),
        ("chains = 4", "not a Laplace setting"),
        ("max_full_params = 10", "only to hessian = \"full\""),
    ] {
        let t: toml::Table = toml::from_str(text).unwrap();
        let e = LaplaceOptions::from_table(&t, "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml") && e.contains(want), "{text}: {e}");
    }
}

#[test]
fn full_hessian_above_the_limit_and_non_gaussian_priors_are_clear_errors() {
    let data = blr_data(30, 3, 1.0, 0.5, 1);
    let spec = ModelSpec {
        net: Mlp::new(vec![3, 10, 1], Activation::Tanh).into(),
        likelihood: Likelihood::Gaussian { noise: None },
    };
    let mut ps = PriorSet::default_priors();
    let o = LaplaceOptions {
        hessian: HessianStructure::Full,
        max_full_params: 20,
        ..LaplaceOptions::default()
    };
    let train = TrainConfig {
        epochs: 5,
        ..TrainConfig::default()
    };
    let rp = ps.resolve(&spec.layout(), "t").unwrap();
    let e = fit_laplace(&spec, &ps, &rp, &data, &train, &o, 0, &Silent, "t")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("51 parameters") && e.contains("limit of 20"),
        "{e}"
    );
    ps.priors[0].distribution = Dist::Laplace {
        loc: 0.0,
        scale: 1.0,
    };
    let rp = ps.resolve(&spec.layout(), "t").unwrap();
    let e = fit_laplace(
        &spec,
        &ps,
        &rp,
        &data,
        &train,
        &LaplaceOptions::default(),
        0,
        &Silent,
        "t",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("needs a Gaussian prior"), "{e}");
}

#[test]
fn fit_records_the_tuned_prior_as_factual_and_the_artifact_round_trips() {
    let data = blr_data(80, 3, 1.0, 0.3, 2);
    let mut config = Config::parse(
        "c.toml",
        "[model]\nhidden = [8]\n[training]\nepochs = 60\n[inference]\nhessian = \"kfac\"\ntune = \"post-hoc\"\n",
    )
    .unwrap();
    config.training.batch_size = 16;
    let model = fit(
        &data,
        &config,
        FitOptions {
            method: credence::Method::Laplace,
            seed: 1,
            progress: &Silent,
            strict_columns: true,
        },
    )
    .unwrap();
    let rec = &model.record;
    assert_eq!(rec.posterior_kind, "laplace");
    let priors = rec.priors.as_ref().unwrap();
    let tuned: Vec<&Prior> = priors
        .priors
        .iter()
        .filter(|p| p.provenance.kind == ProvenanceKind::Factual)
        .collect();
    assert_eq!(tuned.len(), 2, "{priors:?}");
    assert!(tuned[0].provenance.source.contains(&format!(
        "empirical Bayes (Laplace evidence) on {}",
        data.fingerprint()
    )));
    assert!(rec.prior_summary.contains("[factual]"));
    // The noise prior that the MAP used is kept.
    assert!(priors.priors.iter().any(|p| p.params == "noise"));
    let dir = tempfile::tempdir().unwrap();
    credence::artifact::save(dir.path(), &model).unwrap();
    let back = credence::artifact::load(dir.path()).unwrap();
    assert_eq!(back.record.priors, rec.priors);
    let (Predictive::Regression(a), Predictive::Regression(b)) = (
        model.predict(&data, 0).unwrap(),
        back.predict(&data, 0).unwrap(),
    ) else {
        panic!("expected regression")
    };
    // The standardiser goes through JSON, so allow the last bits (1e-12 relative).
    for (u, v) in a
        .mean()
        .iter()
        .zip(b.mean())
        .chain(a.std().iter().zip(b.std()))
    {
        assert!((u - v).abs() <= 1e-12 * v.abs().max(1.0), "{u} vs {v}");
    }
    assert!(a.epistemic_var().iter().all(|v| *v > 0.0 && v.is_finite()));
}

/// `tune = "online"` settings for the tests: short runs, full curvature during training (exact
/// for the linear model), no refinement so that what is checked is what online tuning chose.
fn online_options(epochs: usize) -> LaplaceOptions {
    LaplaceOptions {
        hessian: HessianStructure::Full,
        tune: Tune::Online,
        prior_groups: PriorGroups::Global,
        online: OnlineOptions {
            epochs,
            burn_in: 20,
            frequency: 5,
            hyper_steps: 20,
            hyper_lr: 0.1,
            hessian: HessianStructure::Full,
            refine: false,
            cosine: true,
        },
        ..LaplaceOptions::default()
    }
}

#[test]
fn online_tuning_recovers_noise_and_prior_scale_of_a_linear_model() {
    // y = x·w + b + ε, 20 features, w, b ~ N(0, 0.5²), ε ~ N(0, 0.3²), 300 rows. The
    // type-II ML estimates have sampling spread: log σ̂ from 300 − 21 residual degrees of
    // freedom has sd ≈ 1/√(2·279) ≈ 0.042, so ±15 % is ≈ 3.4 sd; the precision of 21
    // coefficients has log-sd ≈ √(2/21) ≈ 0.31, so a factor 2.5 in scale (log 0.92 on
    // the scale, 1.8 on the precision) is ≈ 5.9 sd on the precision.
    let (d, rows, s, sigma) = (20, 300, 0.5, 0.3);
    let data = blr_data(rows, d, s, sigma, 21);
    let spec = ModelSpec {
        net: Mlp::new(vec![d, 1], Activation::Tanh).into(),
        likelihood: Likelihood::Gaussian { noise: None },
    };
    let ps = PriorSet::default_priors();
    let rp = ps.resolve(&spec.layout(), "t").unwrap();
    let train = TrainConfig {
        batch_size: 32,
        ..TrainConfig::default()
    };
    let o = online_options(300);
    let lf = fit_laplace(&spec, &ps, &rp, &data, &train, &o, 3, &Silent, "t").unwrap();
    let out = &lf.outcome;
    let online = out.online.as_ref().expect("online outcome");
    let sig = out.sigma.unwrap();
    eprintln!(
        "linear: σ̂ {sig}, precisions {:?}, best epoch {}",
        out.prior_precision, online.best_epoch
    );
    assert!((sig / sigma - 1.0).abs() < 0.15, "σ̂ {sig}, true {sigma}");
    let scale = out.prior_precision[0].2;
    assert!(
        scale > s / 2.5 && scale < s * 2.5,
        "scale {scale}, true {s}"
    );
    // The trace: one evaluation every 5 epochs after the 20-epoch burn-in, the kept one is the
    // best, and tuning moved the evidence up from the first evaluation.
    assert_eq!(online.trace.len(), (300 - 20) / 5);
    assert_eq!(online.trace[0].epoch, 25);
    let best = online
        .trace
        .iter()
        .map(|t| t.log_evidence)
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(best, online.best_log_evidence);
    assert!(online.best_log_evidence > online.trace[0].log_evidence);
    // Exactness check on the linear model: with the full curvature the Laplace evidence is the
    // exact marginal likelihood, and the kept network is the MAP of the kept hyperparameters up
    // to Adam's last steps, so refining the hyperparameters post hoc (network fixed) gains
    // little: < 1 nat on a log evidence of order −100.
    let refined = fit_laplace(
        &spec,
        &ps,
        &rp,
        &data,
        &train,
        &LaplaceOptions {
            online: OnlineOptions {
                refine: true,
                ..o.online.clone()
            },
            ..o.clone()
        },
        3,
        &Silent,
        "t",
    )
    .unwrap();
    let gain = refined.outcome.log_evidence - refined.outcome.log_evidence_initial;
    eprintln!("linear: refinement gain {gain}");
    assert!(
        (-1e-9..1.0).contains(&gain),
        "refinement gained {gain} nats"
    );
}

#[test]
fn online_tuning_recovers_the_noise_of_a_known_network() {
    // Data from a 2 → 8 tanh → 1 network with N(0, 1) weights and σ = 0.1, 400 rows, fitted with
    // the same architecture, KFAC evidence during training and per-layer precisions. σ̂ has a
    // sampling log-sd of ≈ 1/√(2·(400 − 33)) ≈ 0.037; a MAP that has not quite reached the
    // function adds bias upwards, so the band is [0.8σ, 1.3σ] (−6 sd, +7 sd). The prior scales
    // should be of order one (weights were N(0, 1)): a band of [0.2, 5].
    let (rows, sigma) = (400, 0.1);
    let mlp = Mlp::new(vec![2, 8, 1], Activation::Tanh);
    let mut r = rng::stream(9, 2);
    let w: Vec<f64> = (0..mlp.dim()).map(|_| rng::normal(&mut r)).collect();
    let x: Vec<f64> = (0..rows * 2).map(|_| rng::normal(&mut r)).collect();
    let f = mlp.predict(&w, &x, rows);
    let y: Vec<f64> = f.iter().map(|v| v + sigma * rng::normal(&mut r)).collect();
    let data = Dataset::from_arrays(x, y, 2).unwrap();
    let spec = ModelSpec {
        net: mlp.into(),
        likelihood: Likelihood::Gaussian { noise: None },
    };
    let ps = PriorSet::default_priors();
    let rp = ps.resolve(&spec.layout(), "t").unwrap();
    let train = TrainConfig::default();
    let o = LaplaceOptions {
        hessian: HessianStructure::Kfac,
        tune: Tune::Online,
        prior_groups: PriorGroups::Layer,
        online: OnlineOptions {
            epochs: 600,
            hessian: HessianStructure::Kfac,
            refine: false,
            ..OnlineOptions::default()
        },
        ..LaplaceOptions::default()
    };
    let lf = fit_laplace(&spec, &ps, &rp, &data, &train, &o, 5, &Silent, "t").unwrap();
    let out = &lf.outcome;
    let sig = out.sigma.unwrap();
    eprintln!("network: σ̂ {sig}, precisions {:?}", out.prior_precision);
    assert!(
        sig > 0.8 * sigma && sig < 1.3 * sigma,
        "σ̂ {sig}, true {sigma}"
    );
    for (name, _, scale) in &out.prior_precision {
        assert!(*scale > 0.2 && *scale < 5.0, "{name}: scale {scale}");
    }
}

#[test]
fn online_tuning_runs_end_to_end_through_fit() {
    let data = blr_data(80, 3, 1.0, 0.3, 2);
    let config = Config::parse(
        "c.toml",
        "[model]\nhidden = [8]\n[inference]\nhessian = \"full\"\ntune = \"online\"\nonline_epochs = 40\nonline_burn_in = 10\nonline_frequency = 10\nonline_hyper_steps = 5\n",
    )
    .unwrap();
    let model = fit(
        &data,
        &config,
        FitOptions {
            method: credence::Method::Laplace,
            seed: 1,
            progress: &Silent,
            strict_columns: true,
        },
    )
    .unwrap();
    let rec = &model.record;
    let online = &rec.outcome["online"];
    let epochs: Vec<u64> = online["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs, [20, 30, 40]);
    assert!(online["best_epoch"].as_u64().is_some());
    let tuned: Vec<&Prior> = rec
        .priors
        .as_ref()
        .unwrap()
        .priors
        .iter()
        .filter(|p| p.provenance.kind == ProvenanceKind::Factual)
        .collect();
    assert_eq!(tuned.len(), 2);
    assert!(tuned[0].provenance.note.contains("updated every 10 epochs"));
    let Predictive::Regression(p) = model.predict(&data, 0).unwrap() else {
        panic!("expected regression")
    };
    assert!(p.mean().iter().all(|v| v.is_finite()));
    assert!(p.epistemic_var().iter().all(|v| *v > 0.0 && v.is_finite()));
    // The HTML report plots the evidence trace and names the epoch kept.
    let html = credence::report::build(&credence::report::ReportInput {
        model: &model,
        data: &data,
        decisions: None,
        band_input: 0,
        compare: false,
        extra_rows: Vec::new(),
        seed: 0,
        data_size: None,
        class_prior: None,
    })
    .unwrap();
    assert!(html.contains("log evidence during online tuning"));
    assert!(html.contains(&format!(
        "Online evidence tuning kept the network and hyperparameters of epoch {}",
        online["best_epoch"]
    )));
    // Online settings without tune = "online", and an L-BFGS optimiser, are errors.
    let t: toml::Table = toml::from_str("online_epochs = 10").unwrap();
    let e = LaplaceOptions::from_table(&t, "c.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("only to tune = \"online\""), "{e}");
    let t: toml::Table =
        toml::from_str("tune = \"online\"\nonline_burn_in = 10\nonline_epochs = 10").unwrap();
    let e = LaplaceOptions::from_table(&t, "c.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("must be below online_epochs"), "{e}");
    let mut cfg = config.clone();
    cfg.training.optimizer = Optimizer::Lbfgs;
    let e = fit(
        &data,
        &cfg,
        FitOptions {
            method: credence::Method::Laplace,
            seed: 1,
            progress: &Silent,
            strict_columns: true,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("trains the network with Adam"), "{e}");
}
