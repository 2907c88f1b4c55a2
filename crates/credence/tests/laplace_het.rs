//! Laplace on a heteroscedastic network (mean and log σ outputs): the curvature is the Fisher
//! in (μ, log σ) (or the empirical Fisher), the evidence is the Laplace formula with it, the
//! linearised predictive integrates log σ, and `training.mean_warmup` holds the log-scale
//! output homoscedastic at the start of training.

#![allow(clippy::needless_range_loop)] // dense reference linear algebra reads clearest with indices

mod common;
use common::normal_prior;
use credence::config::{Optimizer, TrainConfig};
use credence::data::Dataset;
use credence::infer::{
    fit_laplace, laplace_at, train_point, CurvatureKind, HessianStructure, LaplaceOptions,
    OnlineOptions, PointFit, PriorGroups, Silent, Tune,
};
use credence::likelihood::Likelihood;
use credence::model::ModelSpec;
use credence::nn::{Activation, Mlp};
use credence::prior::PriorSet;
use credence::{rng, Posterior, Predictive};

fn het_spec(sizes: Vec<usize>) -> ModelSpec {
    ModelSpec {
        net: Mlp::new(sizes, Activation::Tanh).into(),
        likelihood: Likelihood::Heteroscedastic,
    }
}

/// y = 0.7·x₀ − 0.3·x₁ + 0.2 + ε, sd(ε) = 0.2·exp(0.5·x₀).
fn linear_het_data(rows: usize, seed: u64) -> Dataset {
    let mut r = rng::stream(seed, 5);
    let x: Vec<f64> = (0..rows * 2).map(|_| rng::normal(&mut r)).collect();
    let y = (0..rows)
        .map(|n| {
            let (a, b) = (x[2 * n], x[2 * n + 1]);
            0.7 * a - 0.3 * b + 0.2 + 0.2 * (0.5 * a).exp() * rng::normal(&mut r)
        })
        .collect();
    Dataset::from_arrays(x, y, 2).unwrap()
}

/// Log-determinant and inverse of a small SPD matrix by Gauss–Jordan with partial pivoting.
fn logdet_inv(a: &[f64], n: usize) -> (f64, Vec<f64>) {
    let mut m = a.to_vec();
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        inv[i * n + i] = 1.0;
    }
    let mut logdet = 0.0;
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| m[i * n + c].abs().total_cmp(&m[j * n + c].abs()))
            .unwrap();
        for k in 0..n {
            m.swap(c * n + k, p * n + k);
            inv.swap(c * n + k, p * n + k);
        }
        let d = m[c * n + c];
        logdet += d.abs().ln();
        for k in 0..n {
            m[c * n + k] /= d;
            inv[c * n + k] /= d;
        }
        for i in 0..n {
            if i != c {
                let f = m[i * n + c];
                for k in 0..n {
                    m[i * n + k] -= f * m[c * n + k];
                    inv[i * n + k] -= f * inv[c * n + k];
                }
            }
        }
    }
    (logdet, inv)
}

fn point(theta: Vec<f64>) -> PointFit {
    PointFit {
        theta,
        trace: vec![],
        steps: 0,
        early_stopping_epoch: None,
        validation_log_lik: None,
        converged: true,
    }
}

#[test]
fn heteroscedastic_curvature_and_evidence_equal_dense_references() {
    // A network with no hidden layer: output k = Σ_i x_i W[i, k] + b_k, so the Jacobian of
    // output 0 is (x, 1) on W[·, 0], b₀ and of output 1 (x, 1) on W[·, 1], b₁. With f = (μ,
    // log σ), −log p = log σ + (y − μ)²/(2σ²) + ½ log 2π; GGN = Σ Jᵀ diag(σ⁻², 2) J, empirical
    // Fisher = Σ g gᵀ with g = J ᵀ((y − μ)/σ², (y − μ)²/σ² − 1). Both are built densely here and
    // compared with the Laplace posterior covariance and evidence (at an arbitrary θ, so that
    // the test does not depend on training). Tolerance 1e-9 relative: both sides are direct
    // sums and a 6 × 6 inverse, far from ill-conditioned.
    let (rows, s) = (60, 0.8);
    let data = linear_het_data(rows, 4);
    let spec = het_spec(vec![2, 2]);
    let ps = normal_prior(s);
    let rp = ps.resolve(&spec.layout(), "t").unwrap();
    let theta = vec![0.6, -0.1, -0.25, 0.4, 0.15, -1.2];
    let p = theta.len();
    // Parameter index of (input i or bias, output k): W row-major inputs × outputs, then bias.
    let idx = |i: usize, k: usize| if i < 2 { i * 2 + k } else { 4 + k };
    for curvature in [CurvatureKind::Ggn, CurvatureKind::Ef] {
        let o = LaplaceOptions {
            hessian: HessianStructure::Full,
            curvature,
            tune: Tune::None,
            ..LaplaceOptions::default()
        };
        let lf = laplace_at(&spec, &ps, &rp, &data, point(theta.clone()), &o, "t").unwrap();
        let mut prec = vec![0.0; p * p];
        let mut loglik = 0.0;
        for n in 0..rows {
            let xr = [data.x[2 * n], data.x[2 * n + 1], 1.0];
            let mu: f64 = (0..3).map(|i| xr[i] * theta[idx(i, 0)]).sum();
            let ls: f64 = (0..3).map(|i| xr[i] * theta[idx(i, 1)]).sum();
            let r = data.y[n] - mu;
            let w = (-2.0 * ls).exp();
            loglik += -ls - 0.5 * r * r * w - 0.5 * (2.0 * std::f64::consts::PI).ln();
            let mut jrow = [[0.0; 6]; 2];
            for k in 0..2 {
                for i in 0..3 {
                    jrow[k][idx(i, k)] = xr[i];
                }
            }
            match curvature {
                CurvatureKind::Ggn => {
                    let fisher = [w, 2.0];
                    for k in 0..2 {
                        for a in 0..p {
                            for b in 0..p {
                                prec[a * p + b] += fisher[k] * jrow[k][a] * jrow[k][b];
                            }
                        }
                    }
                }
                CurvatureKind::Ef => {
                    let u = [r * w, r * r * w - 1.0];
                    let g: Vec<f64> = (0..p)
                        .map(|a| u[0] * jrow[0][a] + u[1] * jrow[1][a])
                        .collect();
                    for a in 0..p {
                        for b in 0..p {
                            prec[a * p + b] += g[a] * g[b];
                        }
                    }
                }
            }
        }
        let lam = 1.0 / (s * s);
        for a in 0..p {
            prec[a * p + a] += lam;
        }
        let (logdet, cov) = logdet_inv(&prec, p);
        let got = lf.posterior.covariance();
        let scale = cov.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for a in 0..p * p {
            assert!(
                (got[a] - cov[a]).abs() <= 1e-9 * scale,
                "{curvature:?}: covariance entry {a}: {} vs {}",
                got[a],
                cov[a]
            );
        }
        let log_prior: f64 = theta
            .iter()
            .map(|t| -0.5 * lam * t * t + 0.5 * lam.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln())
            .sum();
        let evidence =
            loglik + log_prior + 0.5 * p as f64 * (2.0 * std::f64::consts::PI).ln() - 0.5 * logdet;
        let ev = lf.outcome.log_evidence;
        assert!(
            (ev - evidence).abs() <= 1e-9 * evidence.abs(),
            "{curvature:?}: evidence {ev} vs dense {evidence}"
        );
        assert!(lf.outcome.sigma.is_none(), "no homoscedastic σ to report");
    }
}

#[test]
fn heteroscedastic_glm_predictive_integrates_the_log_scale() {
    // The predictive at a row is ∫ N(y | f₀, e^{2f₁}) N((f₀, f₁) | f*, V): its mean is f₀*
    // and its variance V₀₀ + E[e^{2f₁}] = V₀₀ + exp(2f₁* + 2V₁₁) (log-normal mean). The quantile
    // nodes are built to reproduce both exactly (round-off only: 1e-12 relative).
    let data = linear_het_data(40, 8);
    let spec = het_spec(vec![2, 2]);
    let ps = normal_prior(1.0);
    let rp = ps.resolve(&spec.layout(), "t").unwrap();
    let theta = vec![0.6, -0.1, -0.25, 0.4, 0.15, -1.2];
    let o = LaplaceOptions {
        hessian: HessianStructure::Full,
        tune: Tune::None,
        ..LaplaceOptions::default()
    };
    let lf = laplace_at(&spec, &ps, &rp, &data, point(theta), &o, "t").unwrap();
    let xs = vec![0.0, 0.0, 1.5, -1.0, -2.0, 2.5];
    let (f, v) = lf.posterior.function_covariance(&spec.net, &xs, 3).unwrap();
    let mut r = rng::stream(1, 1);
    let Predictive::Regression(pred) = lf.posterior.predict(&spec, &xs, 3, &mut r).unwrap() else {
        panic!("expected a regression predictive")
    };
    let (mean, epi, alea) = (pred.mean(), pred.epistemic_var(), pred.aleatoric_var());
    for n in 0..3 {
        let (m1, v00, v11) = (f[2 * n + 1], v[4 * n], v[4 * n + 3]);
        assert!(v11 > 0.0, "row {n}: V₁₁ = {v11}");
        assert!((mean[n] - f[2 * n]).abs() < 1e-12, "row {n}: mean");
        let total = v00 + (2.0 * m1 + 2.0 * v11).exp();
        let got = epi[n] + alea[n];
        assert!(
            (got / total - 1.0).abs() < 1e-12,
            "row {n}: variance {got} vs {total}"
        );
        // The epistemic part is the mean's function variance V₀₀ (spread of component means
        // plus the conditional variance), the aleatoric part the expected noise.
        assert!(
            (epi[n] / v00 - 1.0).abs() < 1e-12,
            "row {n}: epistemic {} vs {v00}",
            epi[n]
        );
    }
    // The density integrates to one (trapezoid on a wide grid, step 1e-3 of a unit-scale
    // variable: error ≪ 1e-6).
    let sd = (epi[2] + alea[2]).sqrt();
    let grid: Vec<f64> = (0..=20_000)
        .map(|i| mean[2] + sd * (-10.0 + i as f64 * 1e-3))
        .collect();
    let total: f64 = grid
        .iter()
        .map(|&y| {
            let mut one = pred.clone();
            one.rows = 1;
            for c in 0..one.components() {
                one.means[c] = vec![pred.means[c][2]];
                one.noise_var[c] = vec![pred.noise_var[c][2]];
                one.func_var[c] = vec![pred.func_var[c][2]];
            }
            one.log_density(&[y])[0].exp()
        })
        .sum::<f64>()
        * sd
        * 1e-3;
    assert!((total - 1.0).abs() < 1e-6, "density integrates to {total}");
}

#[test]
fn mean_warmup_holds_the_log_scale_weights_then_releases_them() {
    let data = linear_het_data(100, 3);
    let spec = het_spec(vec![2, 6, 2]);
    let ps = normal_prior(1.0);
    let rp = ps.resolve(&spec.layout(), "t").unwrap();
    let held = spec.log_scale_params();
    assert_eq!(
        held.len(),
        7,
        "6 weights and the bias of the log-scale output"
    );
    let train = |epochs, mean_warmup| TrainConfig {
        optimizer: Optimizer::Adam,
        epochs,
        validation_fraction: 0.0,
        mean_warmup,
        ..TrainConfig::default()
    };
    // Only warm-up epochs: the weight column stays exactly zero, the bias (one σ for all rows)
    // learns, and the mean output fits.
    let fit = train_point(&spec, Some(&rp), &data, &train(40, 40), 2, &Silent).unwrap();
    let (weights, bias) = held.split_at(held.len() - 1);
    assert!(weights.iter().all(|&i| fit.theta[i] == 0.0));
    assert!(
        fit.theta[bias[0]] != 0.0,
        "the log-scale bias learns during the warm-up"
    );
    // After the warm-up the column is released.
    let fit = train_point(&spec, Some(&rp), &data, &train(60, 40), 2, &Silent).unwrap();
    assert!(weights.iter().any(|&i| fit.theta[i] != 0.0));
    // Asked for with a homoscedastic likelihood it is an error naming the setting.
    let gauss = ModelSpec {
        net: Mlp::new(vec![2, 6, 1], Activation::Tanh).into(),
        likelihood: Likelihood::Gaussian { noise: None },
    };
    let gp = PriorSet::default_priors();
    let grp = gp.resolve(&gauss.layout(), "t").unwrap();
    let err = train_point(&gauss, Some(&grp), &data, &train(10, 5), 2, &Silent).unwrap_err();
    assert!(err.to_string().contains("mean_warmup"), "{err}");
    // With L-BFGS there are no epochs to hold: an error too, not a silent no-op.
    let lbfgs = TrainConfig {
        optimizer: Optimizer::Lbfgs,
        ..train(10, 5)
    };
    let err = train_point(&spec, Some(&rp), &data, &lbfgs, 2, &Silent).unwrap_err();
    assert!(err.to_string().contains("mean_warmup"), "{err}");
}

#[test]
fn online_heteroscedastic_laplace_learns_input_dependent_noise() {
    // y = sin(2x) + sd(x)·ε with sd(x) = 0.05 + 0.3·|x|, x ~ U(−2, 2), 400 rows; a 1 → 16 → 2
    // heteroscedastic network with online evidence tuning. The aleatoric sd the Laplace
    // predictive reports should follow sd(x): at x = ±1.8 the truth is 0.59, at x = 0 it is
    // 0.05 (ratio 12). Bands: within a factor 1.6 of the truth at ±1.8 (≈ 100 rows with
    // |x| > 1.4 pin it to ≈ ±15 %, the rest is the network's smoothness), and a ratio of at
    // least 3 between the edges and the centre.
    let rows = 400;
    let mut r = rng::stream(12, 1);
    let x: Vec<f64> = (0..rows)
        .map(|_| -2.0 + 4.0 * rng::uniform(&mut r))
        .collect();
    let y: Vec<f64> = x
        .iter()
        .map(|&v| (2.0 * v).sin() + (0.05 + 0.3 * v.abs()) * rng::normal(&mut r))
        .collect();
    let data = Dataset::from_arrays(x, y, 1).unwrap();
    let spec = het_spec(vec![1, 16, 2]);
    let ps = normal_prior(1.0);
    let rp = ps.resolve(&spec.layout(), "t").unwrap();
    let train = TrainConfig {
        learning_rate: 0.01,
        mean_warmup: 50,
        ..TrainConfig::default()
    };
    let o = LaplaceOptions {
        hessian: HessianStructure::Kfac,
        tune: Tune::Online,
        prior_groups: PriorGroups::Layer,
        online: OnlineOptions {
            epochs: 300,
            burn_in: 50,
            frequency: 10,
            hyper_steps: 20,
            hessian: HessianStructure::Kfac,
            refine: false,
            ..OnlineOptions::default()
        },
        ..LaplaceOptions::default()
    };
    let lf = fit_laplace(&spec, &ps, &rp, &data, &train, &o, 3, &Silent, "t").unwrap();
    let xs = [-1.8, 0.0, 1.8];
    let Predictive::Regression(pred) = lf
        .posterior
        .predict(&spec, &xs, 3, &mut rng::stream(1, 2))
        .unwrap()
    else {
        panic!("expected a regression predictive")
    };
    let sd: Vec<f64> = pred.aleatoric_var().iter().map(|v| v.sqrt()).collect();
    eprintln!(
        "aleatoric sd at {xs:?}: {sd:?}; precisions {:?}",
        lf.outcome.prior_precision
    );
    for e in [0, 2] {
        assert!(
            sd[e] > 0.59 / 1.6 && sd[e] < 0.59 * 1.6,
            "sd at {}: {}",
            xs[e],
            sd[e]
        );
        assert!(sd[e] > 3.0 * sd[1], "edge {} vs centre {}", sd[e], sd[1]);
    }
    let mean = pred.mean();
    assert!((mean[1] - 0.0).abs() < 0.1, "mean at 0: {}", mean[1]);
}

#[test]
fn a_stated_noise_prior_keeps_the_default_network_homoscedastic() {
    use credence::config::Config;
    use credence::fit::{fit, FitOptions};
    use credence::infer::Method;
    let data = linear_het_data(60, 3);
    let priors = "[[prior]]\nparams = \"*\"\ndistribution = { family = \"normal\", loc = 0.0, scale = 1.0 }\nprovenance = { kind = \"default\", source = \"t\" }\n[[prior]]\nparams = \"noise\"\non = \"scale\"\ndistribution = { family = \"half-normal\", scale = 0.5 }\nprovenance = { kind = \"factual\", source = \"last year's residuals\" }\n";
    let opts = FitOptions {
        method: Method::Map,
        seed: 0,
        progress: &Silent,
        strict_columns: true,
    };
    let open = Config::parse("noise.toml", &format!("[training]\nepochs = 20\n{priors}")).unwrap();
    let m = fit(&data, &open, opts).unwrap();
    assert!(matches!(
        m.record.model.likelihood,
        Likelihood::Gaussian { .. }
    ));
    assert!(
        m.record.prior_summary.contains("noise"),
        "{}",
        m.record.prior_summary
    );
}
