//! Several regression targets in one network: each target's noise recovered and covered by
//! its own predictive (MAP, Laplace, ensemble, NUTS), the multi-output GGN against a dense
//! reference, the log joint's gradient, artifact round trips and the likelihoods that cannot.

#![allow(clippy::needless_range_loop)] // dense reference linear algebra reads clearest with indices

use credence::config::{Config, LikelihoodConfig};
use credence::data::{Dataset, Standardizer};
use credence::density::{finite_difference_grad, LogDensity};
use credence::eval::{metrics_named, Metrics};
use credence::fit::{fit, FitOptions, FittedModel};
use credence::infer::{Method, Silent};
use credence::likelihood::Likelihood;
use credence::model::{Model, ModelSpec};
use credence::nn::{Activation, Mlp};
use credence::prior::PriorSet;
use credence::{rng, Error, Predictive};

/// Noise sd of target a and b in original units (b is also on another scale: 10 + 5·cos).
const SIGMA: [f64; 2] = [0.1, 1.5];

/// y_a = sin(x0) + σ_a ε, y_b = 10 + 5 cos(x1) + σ_b ε, x ~ U(−2, 2)²: each target depends on
/// its own input and has its own noise.
fn two_targets(rows: usize, seed: u64) -> Dataset {
    let mut r = rng::stream(seed, 0x2a);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..rows {
        let (x0, x1) = (
            4.0 * rng::uniform(&mut r) - 2.0,
            4.0 * rng::uniform(&mut r) - 2.0,
        );
        x.extend([x0, x1]);
        y.push(x0.sin() + SIGMA[0] * rng::normal(&mut r));
        y.push(10.0 + 5.0 * x1.cos() + SIGMA[1] * rng::normal(&mut r));
    }
    Dataset {
        x,
        y,
        rows,
        features: 2,
        feature_names: vec!["x0".into(), "x1".into()],
        target_names: vec!["a".into(), "b".into()],
        source: "<two targets>".into(),
        input_shape: None,
    }
}

/// Normal(0, 1) weights and a weak half-Cauchy(1) on each σ_k: the default Gamma(6, 6) on the
/// precision holds σ near 1 standardised unit, far from target a's 0.14, on 300 rows.
const PRIORS: &str = r#"
[[prior]]
params = "*"
distribution = { family = "normal", loc = 0.0, scale = 1.0 }
provenance = { kind = "default", source = "test" }

[[prior]]
params = "noise"
distribution = { family = "half-cauchy", scale = 1.0 }
provenance = { kind = "default", source = "test" }
"#;

fn config(likelihood: &str, training: &str, inference: &str) -> Config {
    let text = format!(
        "[model]\nhidden = [16]\nlikelihood = {{ family = \"{likelihood}\" }}\n[training]\n{training}\n[inference]\n{inference}\n{PRIORS}"
    );
    Config::parse("multi.toml", &text).unwrap()
}

/// Full-batch L-BFGS to convergence: a MAP good enough that σ_k is the residual sd.
const LBFGS: &str = "optimizer = \"lbfgs\"\nmax_iterations = 400\nvalidation_fraction = 0.0";

fn fit_with(data: &Dataset, cfg: &Config, method: Method) -> credence::Result<FittedModel> {
    fit(
        data,
        cfg,
        FitOptions {
            method,
            seed: 3,
            progress: &Silent,
            strict_columns: true,
        },
    )
}

/// Checks that each target's mean aleatoric sd is near its true σ and that its 90% central
/// intervals cover about 90% of fresh rows.
fn check_recovery(model: &FittedModel, what: &str) {
    let test = two_targets(400, 99);
    let p = model.predict(&test, 0).unwrap();
    let Predictive::MultiRegression(per) = &p else {
        panic!("{what}: expected a multi-target predictive");
    };
    assert_eq!(per.len(), 2);
    for (k, rp) in per.iter().enumerate() {
        assert_eq!(rp.rows, 400);
        let a = rp.aleatoric_var();
        let noise = (a.iter().sum::<f64>() / a.len() as f64).sqrt();
        // σ̂ from 300 rows and a 16-unit network: within 25% of the truth (the two σ differ
        // by 15×, so a swapped or shared σ fails by far).
        assert!(
            (noise / SIGMA[k] - 1.0).abs() < 0.25,
            "{what}: target {k}: learned noise sd {noise} vs {}",
            SIGMA[k]
        );
        let iv = rp.interval(0.9);
        let inside = (0..400)
            .filter(|&n| {
                let y = test.y[n * 2 + k];
                iv[n].0 <= y && y <= iv[n].1
            })
            .count() as f64
            / 400.0;
        // Binomial sd of the share at 0.9 on 400 rows is 0.015: allow 4 sd.
        assert!(
            (inside - 0.9).abs() < 0.06,
            "{what}: target {k}: 90% intervals cover {inside}"
        );
    }
    let Metrics::MultiRegression(m) = metrics_named(&p, &test.y, &test.target_names).unwrap()
    else {
        panic!("{what}: expected per-target metrics");
    };
    assert_eq!(m[0].target, "a");
    assert_eq!(m[1].target, "b");
    // RMSE of a good mean is about σ_k.
    for (k, t) in m.iter().enumerate() {
        assert!(
            t.metrics.rmse < 1.3 * SIGMA[k],
            "{what}: {} RMSE {}",
            t.target,
            t.metrics.rmse
        );
    }
}

#[test]
fn map_laplace_ensemble_and_nuts_recover_each_targets_noise() {
    let data = two_targets(300, 1);
    let map = config("gaussian", LBFGS, "");
    let m = fit_with(&data, &map, Method::Map).unwrap();
    assert_eq!(m.record.model.targets(), 2);
    assert_eq!(m.record.model.layout().group("noise").unwrap().len(), 2);
    check_recovery(&m, "map");
    let lap = config("gaussian", LBFGS, "hessian = \"full\"\ntune = \"post-hoc\"");
    let lm = fit_with(&data, &lap, Method::Laplace).unwrap();
    let sigmas = lm.record.outcome["sigmas"].as_array().unwrap();
    assert_eq!(sigmas.len(), 2, "σ per target is reported");
    check_recovery(&lm, "laplace");
    let ens = config(
        "gaussian",
        "optimizer = \"lbfgs\"\nmax_iterations = 200\nvalidation_fraction = 0.0",
        "members = 3",
    );
    check_recovery(
        &fit_with(&data, &ens, Method::Ensemble).unwrap(),
        "ensemble",
    );
    let nuts = config(
        "gaussian",
        LBFGS,
        "chains = 1\nwarmup = 150\ndraws = 60\nmax_depth = 6",
    );
    check_recovery(&fit_with(&data, &nuts, Method::Nuts).unwrap(), "nuts");
}

#[test]
fn heteroscedastic_map_and_laplace_give_one_predictive_per_target() {
    let data = two_targets(300, 1);
    for (method, inference) in [
        (Method::Map, ""),
        (Method::Laplace, "hessian = \"kfac\""),
        (
            Method::Laplace,
            "hessian = \"diag\"\nsubset = \"last-layer\"",
        ),
    ] {
        let cfg = config("heteroscedastic", LBFGS, inference);
        let m = fit_with(&data, &cfg, method).unwrap();
        assert_eq!(m.record.model.net.outputs(), 4);
        check_recovery(&m, &format!("heteroscedastic {}", method.name()));
    }
}

#[test]
fn other_methods_run_with_several_targets() {
    let data = two_targets(120, 2);
    let adam = "epochs = 60\nbatch_size = 32\nvalidation_fraction = 0.0";
    for (method, inference) in [
        (Method::Vi, "epochs = 60\nsamples = 10"),
        (
            Method::McDropout,
            "epochs = 60\npasses = 10\nrate_grid = [0.1]",
        ),
        (Method::AnchoredEnsemble, "members = 2"),
        (Method::Sgld, "epochs = 40\nburnin = 20\nbatch_size = 32"),
        (
            Method::Hmc,
            "chains = 1\nwarmup = 30\ndraws = 10\nhmc_steps = 5",
        ),
    ] {
        let cfg = config("gaussian", adam, inference);
        let m = fit_with(&data, &cfg, method).unwrap_or_else(|e| panic!("{}: {e}", method.name()));
        let p = m.predict(&data, 0).unwrap();
        let per = p.per_target();
        assert_eq!(per.len(), 2, "{}", method.name());
        for rp in per {
            assert!(rp.std().iter().all(|s| s.is_finite() && *s > 0.0));
        }
    }
}

/// Dense Jacobian of the network outputs by central differences (`rows·K × P`), step 1e-6:
/// truncation O(h²) ≈ 1e-12 and rounding ≈ 1e-16/1e-6 = 1e-10, so entries are good to ~1e-9.
fn fd_jacobian(mlp: &Mlp, theta: &[f64], x: &[f64], rows: usize) -> Vec<Vec<f64>> {
    let h = 1e-6;
    let p = mlp.dim();
    let kk = mlp.outputs();
    let mut jac = vec![vec![0.0; p]; rows * kk];
    let mut t = theta.to_vec();
    for i in 0..p {
        t[i] = theta[i] + h;
        let up = mlp.predict(&t, x, rows);
        t[i] = theta[i] - h;
        let dn = mlp.predict(&t, x, rows);
        t[i] = theta[i];
        for r in 0..rows * kk {
            jac[r][i] = (up[r] - dn[r]) / (2.0 * h);
        }
    }
    jac
}

/// Inverse of a small SPD matrix by Gauss-Jordan with partial pivoting.
fn inverse(a: &[f64], n: usize) -> Vec<f64> {
    let mut m = a.to_vec();
    let mut inv: Vec<f64> = (0..n * n)
        .map(|i| f64::from(u8::from(i / n == i % n)))
        .collect();
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| m[i * n + c].abs().total_cmp(&m[j * n + c].abs()))
            .unwrap();
        for j in 0..n {
            m.swap(c * n + j, p * n + j);
            inv.swap(c * n + j, p * n + j);
        }
        let d = m[c * n + c];
        for j in 0..n {
            m[c * n + j] /= d;
            inv[c * n + j] /= d;
        }
        for i in 0..n {
            if i != c {
                let f = m[i * n + c];
                for j in 0..n {
                    m[i * n + j] -= f * m[c * n + j];
                    inv[i * n + j] -= f * inv[c * n + j];
                }
            }
        }
    }
    inv
}

#[test]
fn laplace_multi_output_ggn_matches_a_dense_reference() {
    let data = two_targets(40, 5);
    let std = Standardizer::fit(&data, true, credence::data::ConstantColumn::Error).unwrap();
    let x = std.transform_x(&data).unwrap();
    for likelihood in ["gaussian", "heteroscedastic"] {
        let mut cfg = config(
            likelihood,
            "optimizer = \"lbfgs\"\nmax_iterations = 100\nvalidation_fraction = 0.0",
            "hessian = \"full\"\ntune = \"none\"\npredictive = \"glm\"",
        );
        cfg.model.hidden = vec![3];
        let m = fit_with(&data, &cfg, Method::Laplace).unwrap();
        let spec = &m.record.model;
        let lap = credence::infer::LaplacePosterior::from_tensors(
            &m.posterior
                .tensors()
                .into_iter()
                .map(|t| (t.name.clone(), t))
                .collect(),
        )
        .unwrap();
        let theta = &lap.theta;
        let (p, kk, rows) = (spec.net.dim(), spec.net.outputs(), data.rows);
        let f = spec.net.predict(theta, &x, rows);
        let sigmas: Vec<f64> = spec.log_sigmas(theta).iter().map(|l| l.exp()).collect();
        // Output Hessian (diagonal) per row: 1/σ_k² per Gaussian target; the Fisher
        // diag(e^{−2 f_logscale}, 2) per heteroscedastic target.
        let weight = |n: usize, o: usize| match likelihood {
            "gaussian" => 1.0 / (sigmas[o] * sigmas[o]),
            _ if o.is_multiple_of(2) => (-2.0 * f[n * kk + o + 1]).exp(),
            _ => 2.0,
        };
        // Σ_n J_nᵀ H_n J_n + prior precision, on the standardised training inputs.
        let jac = fd_jacobian(spec.net.as_mlp().unwrap(), theta, &x, rows);
        let priors = m.record.priors.as_ref().unwrap();
        let resolved = priors.resolve(&spec.layout(), "test").unwrap();
        let prior_var = resolved.variances(spec.dim());
        let mut a = vec![0.0; p * p];
        for n in 0..rows {
            for o in 0..kk {
                let w = weight(n, o);
                let j = &jac[n * kk + o];
                for i in 0..p {
                    for l in 0..p {
                        a[i * p + l] += w * j[i] * j[l];
                    }
                }
            }
        }
        for i in 0..p {
            a[i * p + i] += 1.0 / prior_var[i];
        }
        let want = inverse(&a, p);
        let got = lap.covariance();
        let scale = want.iter().fold(0.0f64, |s, v| s.max(v.abs()));
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            // Finite-difference Jacobian entries are good to ~1e-9 relative; the covariance
            // inherits that through the conditioning of a 17- (or 25-) parameter precision.
            assert!(
                (g - w).abs() <= 1e-8 * scale.max(1.0),
                "{likelihood}: covariance entry ({}, {}): {g} vs dense reference {w}",
                i / p,
                i % p
            );
        }
    }
}

#[test]
fn multi_output_log_joint_gradient_matches_finite_differences() {
    let data = two_targets(9, 7);
    let std = Standardizer::fit(&data, true, credence::data::ConstantColumn::Error).unwrap();
    let d = std.transform(&data).unwrap();
    for lik in [
        Likelihood::Gaussian { noise: None },
        Likelihood::Gaussian { noise: Some(0.7) },
        Likelihood::Heteroscedastic,
    ] {
        for jacobian in [false, true] {
            let spec = ModelSpec {
                net: Mlp::new(vec![2, 5, 2 * lik.outputs()], Activation::Tanh).into(),
                likelihood: lik.clone(),
            };
            let mut p = PriorSet::default_priors();
            if !spec.likelihood.learns_noise() {
                p.priors.retain(|q| q.params != "noise");
            }
            let priors = p.resolve(&spec.layout(), "test").unwrap();
            let mut model = Model::new(spec.clone(), Some(priors), &d).unwrap();
            model.jacobian = jacobian;
            let mut theta = spec.init(&mut rng::stream(9, 2));
            for (i, t) in theta.iter_mut().enumerate() {
                *t += 0.1 * ((i as f64) * 0.37).sin();
            }
            let mut g = vec![0.0; theta.len()];
            model.logp_grad(&theta, &mut g).unwrap();
            let fd = finite_difference_grad(&mut model, &theta, 1e-6).unwrap();
            for (i, (a, b)) in g.iter().zip(&fd).enumerate() {
                // Central differences with h = 1e-6: truncation and rounding ≲ 1e-6 relative.
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                    "{lik:?} jacobian {jacobian}: component {i}: analytic {a} vs finite difference {b}"
                );
            }
            // The minibatch estimate on all rows equals the full-batch value.
            let all: Vec<usize> = (0..d.rows).collect();
            let mut gb = vec![0.0; theta.len()];
            let lb = model.logp_grad_batch(&theta, &all, &mut gb).unwrap();
            let lf = model.logp_grad(&theta, &mut g).unwrap();
            assert!((lb - lf).abs() < 1e-10 * (1.0 + lf.abs()));
        }
    }
}

#[test]
fn multi_target_model_round_trips_through_an_artifact() {
    let data = two_targets(80, 3);
    let cfg = config(
        "gaussian",
        "optimizer = \"lbfgs\"\nmax_iterations = 50\nvalidation_fraction = 0.0",
        "hessian = \"kfac\"",
    );
    for method in [Method::Map, Method::Laplace] {
        let m = fit_with(&data, &cfg, method).unwrap();
        assert_eq!(m.record.standardizer.targets(), 2);
        if method == Method::Laplace {
            // Information from the data is measured for several targets too.
            let info = m.record.information.as_ref().unwrap();
            assert!(info.available, "{}", info.reason);
            assert!(info.epistemic.is_some());
        }
        let dir = tempfile::tempdir().unwrap();
        credence::artifact::save(dir.path(), &m).unwrap();
        let back = credence::artifact::load(dir.path()).unwrap();
        assert_eq!(back.record.standardizer, m.record.standardizer);
        let (a, b) = (
            m.predict(&data, 1).unwrap(),
            back.predict(&data, 1).unwrap(),
        );
        for (x, y) in a.per_target().iter().zip(b.per_target()) {
            assert_eq!(x.mean(), y.mean());
            assert_eq!(x.std(), y.std());
        }
        // Original units per target: b's mean sits near 10 + 5·E[cos x1] ≈ 12.3, a's near 0.
        let means: Vec<f64> = a
            .per_target()
            .iter()
            .map(|r| r.mean().iter().sum::<f64>() / r.rows as f64)
            .collect();
        assert!(
            means[0].abs() < 0.5 && (means[1] - 12.3).abs() < 1.5,
            "{means:?}"
        );
    }
    // A standardisation saved before multi-target regression (scalars only) still loads.
    let old: Standardizer =
        serde_json::from_str(r#"{"x_mean":[0.5],"x_std":[2.0],"y_mean":3.0,"y_std":4.0}"#).unwrap();
    assert_eq!(old.targets(), 1);
    assert_eq!(old.target_means(), vec![3.0]);
    // And a single-target one is written exactly as before (no per-target fields).
    let json = serde_json::to_string(&old).unwrap();
    assert!(!json.contains("y_means"), "{json}");
}

#[test]
fn likelihoods_and_settings_that_cannot_do_several_targets_say_so() {
    let data = two_targets(40, 4);
    for lik in [
        LikelihoodConfig::StudentT {
            df: 4.0,
            noise: None,
        },
        LikelihoodConfig::Poisson,
        LikelihoodConfig::Categorical { classes: 0 },
        LikelihoodConfig::Bernoulli,
    ] {
        let mut cfg = config("gaussian", "epochs = 5", "");
        cfg.model.likelihood = Some(lik.clone());
        let e = fit_with(&data, &cfg, Method::Map).unwrap_err();
        assert!(
            matches!(&e, Error::Invalid(m) if m.contains("gaussian or heteroscedastic")),
            "{lik:?}: {e}"
        );
    }
    let cfg = config("gaussian", "epochs = 5", "tune = \"online\"");
    let e = fit_with(&data, &cfg, Method::Laplace).unwrap_err();
    assert!(
        matches!(&e, Error::Invalid(m) if m.contains("targets")),
        "{e}"
    );
    // Features that take one target refuse a multi-target model with a clear message.
    let m = fit_with(&data, &config("gaussian", "epochs = 5", ""), Method::Map).unwrap();
    let e =
        credence::fit::transfer_from(&m, 1.0, credence::prior::TransferNoise::Keep).unwrap_err();
    assert!(e.to_string().contains("one target"), "{e}");
}
