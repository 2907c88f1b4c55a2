//! Epistemic uncertainty of the Laplace GLM classification predictive: mutual information from
//! draws of the linearised logits N(f*, JΣJᵀ) is positive, matches a brute-force Monte Carlo of
//! the same Gaussian within Monte Carlo error, and is larger out of distribution (digits).

mod common;

use credence::config::{Config, Optimizer, TrainConfig};
use credence::data::{read_table, Dataset};
use credence::infer::{fit_laplace, HessianStructure, LaplaceOptions, Method, Silent};
use credence::likelihood::Likelihood;
use credence::model::ModelSpec;
use credence::nn::{Activation, Mlp};
use credence::{rng, Posterior, Predictive};
use std::path::Path;

fn entropy(p: &[f64]) -> f64 {
    -p.iter()
        .filter(|&&v| v > 0.0)
        .map(|v| v * v.ln())
        .sum::<f64>()
}

fn softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// Mutual information of softmax(N(f, V)) from `draws` draws (Cholesky with a small jitter).
fn brute_force_mi(f: &[f64], v: &[f64], draws: usize, r: &mut rng::Rng) -> f64 {
    let k = f.len();
    let mut l = vec![0.0f64; k * k];
    for j in 0..k {
        let d = v[j * k + j] + 1e-12 - (0..j).map(|q| l[j * k + q].powi(2)).sum::<f64>();
        l[j * k + j] = d.max(0.0).sqrt();
        for i in j + 1..k {
            let s = v[i * k + j] - (0..j).map(|q| l[i * k + q] * l[j * k + q]).sum::<f64>();
            l[i * k + j] = if l[j * k + j] > 0.0 {
                s / l[j * k + j]
            } else {
                0.0
            };
        }
    }
    let (mut mean, mut eh) = (vec![0.0; k], 0.0);
    for _ in 0..draws {
        let z: Vec<f64> = (0..k).map(|_| rng::normal(r)).collect();
        let logits: Vec<f64> = (0..k)
            .map(|a| f[a] + (0..=a).map(|b| l[a * k + b] * z[b]).sum::<f64>())
            .collect();
        let p = softmax(&logits);
        eh += entropy(&p) / draws as f64;
        mean.iter_mut()
            .zip(&p)
            .for_each(|(m, q)| *m += q / draws as f64);
    }
    entropy(&mean) - eh
}

#[test]
fn glm_mutual_information_is_positive_and_matches_brute_force_monte_carlo() {
    // Three Gaussian clusters on a circle; the rows to predict run from the centre out to
    // beyond the data.
    let mut r = rng::stream(4, 4);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for n in 0..90 {
        let c = n % 3;
        let a = c as f64 * 2.0 * std::f64::consts::PI / 3.0;
        x.push(2.0 * a.cos() + rng::normal(&mut r));
        x.push(2.0 * a.sin() + rng::normal(&mut r));
        y.push(c as f64);
    }
    let data = Dataset::from_arrays(x, y, 2).unwrap();
    let spec = ModelSpec {
        net: Mlp::new(vec![2, 6, 3], Activation::Tanh).into(),
        likelihood: Likelihood::Categorical { classes: 3 },
    };
    let ps = common::normal_prior(1.0);
    let rp = ps.resolve(&spec.layout(), "t").unwrap();
    let train = TrainConfig {
        optimizer: Optimizer::Lbfgs,
        max_iterations: 300,
        ..TrainConfig::default()
    };
    let o = LaplaceOptions {
        hessian: HessianStructure::Full,
        ..LaplaceOptions::default()
    };
    let lf = fit_laplace(&spec, &ps, &rp, &data, &train, &o, 0, &Silent, "t").unwrap();
    let rows = 6;
    let xq: Vec<f64> = (0..rows)
        .flat_map(|i| {
            let t = 1.5 * i as f64;
            [t * 0.6, t * 0.8]
        })
        .collect();
    let Predictive::Classification(cp) = lf
        .posterior
        .predict(&spec, &xq, rows, &mut rng::stream(1, 1))
        .unwrap()
    else {
        panic!("expected classification")
    };
    let mi = cp.mutual_information();
    assert!(mi.iter().all(|&v| v > 0.0), "{mi:?}");
    // The probit mean is kept: it differs from the draws' average (by a little).
    assert!(cp.mean.is_some());

    let (f, v) = lf
        .posterior
        .function_covariance(&spec.net, &xq, rows)
        .unwrap();
    let mut g = rng::stream(77, 0);
    for n in 0..rows {
        let (fn_, vn) = (&f[n * 3..(n + 1) * 3], &v[n * 9..(n + 1) * 9]);
        // Reference: 100 000 draws. Monte Carlo error of the predictor's 256-draw estimate:
        // the spread of 40 independent 256-draw estimates (its bias, O(1/256), is included
        // by comparing with their mean).
        let truth = brute_force_mi(fn_, vn, 100_000, &mut g);
        let reps: Vec<f64> = (0..40)
            .map(|_| brute_force_mi(fn_, vn, 256, &mut g))
            .collect();
        let m = reps.iter().sum::<f64>() / 40.0;
        let sd = (reps.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 39.0).sqrt();
        assert!(
            (mi[n] - truth).abs() < 4.0 * sd + (m - truth).abs() + 1e-4,
            "row {n}: MI {} vs brute force {truth} (256-draw sd {sd}, bias {})",
            mi[n],
            m - truth
        );
    }
}

#[test]
fn laplace_mutual_information_is_larger_on_held_out_digits() {
    // Train on digits 0–4 (the split of `credence bench classify --ood-from 5`), score 5–9.
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/classification/digits.csv");
    let data =
        Dataset::from_table(&read_table(&p, &Default::default()).unwrap(), "label", None).unwrap();
    let cfg = Config::parse(
        "fast.toml",
        "[model]\nhidden = [16]\n[training]\nepochs = 40\n",
    )
    .unwrap();
    let r = credence::uncertainty::run_classification(
        &data,
        Method::Laplace,
        &cfg,
        0.2,
        Some(5),
        0,
        &Silent,
    )
    .unwrap();
    let ood = r.ood.unwrap();
    let mi = ood
        .scores
        .iter()
        .find(|s| s.score == "mutual_information")
        .unwrap();
    // MI ≡ 0 (the old probit-only predictive) gives 0.5; 180 vs 896 rows: AUROC SE ≈ 0.01.
    assert!(mi.auroc > 0.8, "AUROC by MI {}", mi.auroc);
}
