//! L2 weight decay is a Gaussian prior and L1 a Laplace prior: the penalised maximum-likelihood
//! fit and the MAP fit under the equivalent prior reach the same optimum.

use credence::config::{Optimizer, TrainConfig};
use credence::data::Dataset;
use credence::density::LogDensity;
use credence::dist::Dist;
use credence::infer::{train_point, Silent};
use credence::likelihood::Likelihood;
use credence::model::{Model, ModelSpec, Penalty};
use credence::nn::{Activation, Mlp};
use credence::prior::{NoiseParam, Prior, PriorSet, Provenance};
use credence::rng;

fn setup() -> (ModelSpec, Dataset) {
    let mut r = rng::stream(3, 0);
    let rows = 40;
    let x: Vec<f64> = (0..rows * 2).map(|_| rng::normal(&mut r)).collect();
    let y: Vec<f64> = (0..rows)
        .map(|i| (x[2 * i]).sin() + 0.5 * x[2 * i + 1] + 0.1 * rng::normal(&mut r))
        .collect();
    let spec = ModelSpec {
        net: Mlp::new(vec![2, 4, 1], Activation::Tanh).into(),
        likelihood: Likelihood::Gaussian { noise: Some(0.3) },
    };
    (spec, Dataset::from_arrays(x, y, 2).unwrap())
}

fn prior(d: Dist) -> PriorSet {
    PriorSet {
        priors: vec![Prior {
            params: "*".into(),
            distribution: d,
            provenance: Provenance::default_with("test", "equivalent of a penalty"),
            on: NoiseParam::Scale,
            per_parameter: None,
            hierarchy: None,
        }],
    }
}

fn lbfgs_cfg(l2: f64, l1: f64) -> TrainConfig {
    TrainConfig {
        optimizer: Optimizer::Lbfgs,
        max_iterations: 3000,
        tolerance: 1e-15,
        weight_decay: l2,
        l1,
        ..TrainConfig::default()
    }
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn penalty_and_prior_objectives_differ_by_a_constant() {
    let (spec, data) = setup();
    let lam = 0.05;
    for (pen, d) in [
        (
            Penalty { l2: lam, l1: 0.0 },
            Dist::Normal {
                loc: 0.0,
                scale: (1.0 / (2.0 * lam)).sqrt(),
            },
        ),
        (
            Penalty { l2: 0.0, l1: lam },
            Dist::Laplace {
                loc: 0.0,
                scale: 1.0 / lam,
            },
        ),
    ] {
        let mut penalised = Model::new(spec.clone(), None, &data).unwrap();
        penalised.penalty = pen;
        let resolved = prior(d).resolve(&spec.layout(), "t").unwrap();
        let mut map = Model::new(spec.clone(), Some(resolved), &data).unwrap();
        let mut r = rng::stream(5, 5);
        let mut offsets = Vec::new();
        for _ in 0..5 {
            let theta: Vec<f64> = (0..spec.dim()).map(|_| rng::normal(&mut r)).collect();
            let (mut g1, mut g2) = (vec![0.0; theta.len()], vec![0.0; theta.len()]);
            let a = penalised.logp_grad(&theta, &mut g1).unwrap();
            let b = map.logp_grad(&theta, &mut g2).unwrap();
            offsets.push(a - b);
            assert!(max_diff(&g1, &g2) < 1e-10, "gradients differ");
        }
        let spread = offsets.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v))
            - offsets.iter().fold(f64::INFINITY, |m, v| m.min(*v));
        assert!(
            spread < 1e-9,
            "objectives differ by more than a constant: {offsets:?}"
        );
    }
}

#[test]
fn weight_decay_and_gaussian_prior_reach_the_same_optimum() {
    let (spec, data) = setup();
    let lam = 0.05;
    let mle = train_point(&spec, None, &data, &lbfgs_cfg(lam, 0.0), 1, &Silent).unwrap();
    let right = prior(Dist::Normal {
        loc: 0.0,
        scale: (1.0 / (2.0 * lam)).sqrt(),
    })
    .resolve(&spec.layout(), "t")
    .unwrap();
    let map = train_point(&spec, Some(&right), &data, &lbfgs_cfg(0.0, 0.0), 1, &Silent).unwrap();
    // Both converge on the same smooth objective (up to a constant): optimum equal to optimiser tolerance.
    assert!(
        max_diff(&mle.theta, &map.theta) < 1e-5,
        "optima differ by {}",
        max_diff(&mle.theta, &map.theta)
    );
    // A wrong correspondence (scale off by 2) gives a different optimum: the test can tell.
    let wrong = prior(Dist::Normal {
        loc: 0.0,
        scale: 2.0 * (1.0 / (2.0 * lam)).sqrt(),
    })
    .resolve(&spec.layout(), "t")
    .unwrap();
    let off = train_point(&spec, Some(&wrong), &data, &lbfgs_cfg(0.0, 0.0), 1, &Silent).unwrap();
    assert!(max_diff(&mle.theta, &off.theta) > 1e-3);
}

#[test]
fn l1_and_laplace_prior_reach_the_same_optimum() {
    let (spec, data) = setup();
    let lam = 0.02;
    let mle = train_point(&spec, None, &data, &lbfgs_cfg(0.0, lam), 2, &Silent).unwrap();
    let right = prior(Dist::Laplace {
        loc: 0.0,
        scale: 1.0 / lam,
    })
    .resolve(&spec.layout(), "t")
    .unwrap();
    let map = train_point(&spec, Some(&right), &data, &lbfgs_cfg(0.0, 0.0), 2, &Silent).unwrap();
    // |θ| has a kink at 0, so a smooth optimiser stops within ~1e-4 of the optimum: tolerance 5e-4.
    let same = max_diff(&mle.theta, &map.theta);
    assert!(same < 5e-4, "optima differ by {same}");
    let wrong = prior(Dist::Laplace {
        loc: 0.0,
        scale: 0.25 / lam,
    })
    .resolve(&spec.layout(), "t")
    .unwrap();
    let off = train_point(&spec, Some(&wrong), &data, &lbfgs_cfg(0.0, 0.0), 2, &Silent).unwrap();
    let other = max_diff(&mle.theta, &off.theta);
    assert!(
        other > 20.0 * same.max(1e-5),
        "a wrong prior moved the optimum by only {other}"
    );
}
