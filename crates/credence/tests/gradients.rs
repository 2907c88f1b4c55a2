//! Finite-difference checks of the log joint's gradient for every activation and likelihood.

use credence::data::Dataset;
use credence::density::{finite_difference_grad, LogDensity};
use credence::likelihood::Likelihood;
use credence::model::{Model, ModelSpec};
use credence::nn::{Activation, Mlp};
use credence::prior::PriorSet;
use credence::rng;

fn data(rows: usize, features: usize, lik: &Likelihood, seed: u64) -> Dataset {
    let mut r = rng::stream(seed, 1);
    let x: Vec<f64> = (0..rows * features).map(|_| rng::normal(&mut r)).collect();
    let y: Vec<f64> = (0..rows)
        .map(|i| match lik {
            Likelihood::Bernoulli => (i % 2) as f64,
            Likelihood::Categorical { classes } => (i % classes) as f64,
            Likelihood::Poisson => (i % 4) as f64,
            _ => rng::normal(&mut r),
        })
        .collect();
    Dataset::from_arrays(x, y, features).unwrap()
}

fn check(act: Activation, lik: Likelihood, hidden: &[usize], with_prior: bool, jacobian: bool) {
    let d = data(7, 3, &lik, 5);
    let mut sizes = vec![3];
    sizes.extend(hidden);
    sizes.push(lik.outputs());
    let spec = ModelSpec {
        net: Mlp::new(sizes, act).into(),
        likelihood: lik.clone(),
    };
    let priors = with_prior.then(|| {
        let mut p = PriorSet::default_priors();
        if !spec.likelihood.learns_noise() {
            p.priors.retain(|q| q.params != "noise");
        }
        p.resolve(&spec.layout(), "test").unwrap()
    });
    let mut model = Model::new(spec.clone(), priors, &d).unwrap();
    model.jacobian = jacobian;
    let mut r = rng::stream(9, 2);
    let mut theta = spec.init(&mut r);
    for (i, t) in theta.iter_mut().enumerate() {
        *t += 0.1 * ((i as f64) * 0.37).sin(); // move biases off zero, avoid ReLU kinks at 0
    }
    let mut g = vec![0.0; theta.len()];
    model.logp_grad(&theta, &mut g).unwrap();
    let fd = finite_difference_grad(&mut model, &theta, 1e-6).unwrap();
    for (i, (a, b)) in g.iter().zip(&fd).enumerate() {
        // Central differences with h ≈ 1e-6: truncation and rounding error ≲ 1e-6 relative.
        assert!(
            (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
            "{act:?} {lik:?} hidden {hidden:?}: component {i}: analytic {a} vs finite difference {b}"
        );
    }
}

#[test]
fn every_activation_matches_finite_differences() {
    for act in Activation::ALL {
        check(
            act,
            Likelihood::Gaussian { noise: None },
            &[5, 4],
            true,
            false,
        );
    }
}

#[test]
fn every_likelihood_matches_finite_differences() {
    let liks = [
        Likelihood::Gaussian { noise: None },
        Likelihood::Gaussian { noise: Some(0.7) },
        Likelihood::Heteroscedastic,
        Likelihood::StudentT {
            df: 4.0,
            noise: None,
        },
        Likelihood::Bernoulli,
        Likelihood::Categorical { classes: 3 },
        Likelihood::Poisson,
    ];
    for lik in liks {
        check(Activation::Tanh, lik.clone(), &[6], true, true);
        check(Activation::Gelu, lik, &[4], false, false);
    }
}

#[test]
fn network_without_hidden_layer_is_linear_model() {
    check(
        Activation::Tanh,
        Likelihood::Gaussian { noise: None },
        &[],
        true,
        true,
    );
}

#[test]
fn dropout_gradient_is_gradient_of_thinned_network() {
    // With a fixed mask, backward after forward_dropout must match finite differences of the
    // same thinned network (same seed → same mask).
    let spec = ModelSpec {
        net: Mlp::new(vec![3, 6, 5, 1], Activation::Tanh).into(),
        likelihood: Likelihood::Gaussian { noise: Some(1.0) },
    };
    let d = data(5, 3, &spec.likelihood, 3);
    let mut r = rng::stream(1, 1);
    let theta = spec.net.init(&mut r);
    let mlp = spec.net.as_mlp().unwrap();
    let f = |t: &[f64]| -> f64 {
        let mut ws = mlp.workspace(5);
        mlp.forward_dropout(t, &d.x, 5, &mut ws, 0.3, &mut rng::stream(4, 4));
        ws.output().iter().zip(&d.y).map(|(o, y)| o * y).sum()
    };
    let mut ws = mlp.workspace(5);
    mlp.forward_dropout(&theta, &d.x, 5, &mut ws, 0.3, &mut rng::stream(4, 4));
    ws.out_grad.copy_from_slice(&d.y);
    let mut g = vec![0.0; theta.len()];
    mlp.backward(&theta, &d.x, 5, &mut ws, &mut g);
    for i in 0..theta.len() {
        let (mut tp, mut tm) = (theta.clone(), theta.clone());
        tp[i] += 1e-6;
        tm[i] -= 1e-6;
        let fd = (f(&tp) - f(&tm)) / 2e-6;
        assert!(
            (g[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
            "component {i}: {} vs {fd}",
            g[i]
        );
    }
}
