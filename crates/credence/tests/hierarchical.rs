//! Hierarchical priors (learned scales): gradients of the non-centred and centred densities and
//! of the VI objective against finite differences (with the Jacobian of s = exp(u)); NUTS on the
//! eight-schools model built from the library's non-centred hierarchy against the posteriordb
//! reference; ARD ranking an appended pure-noise input last (Laplace, VI and NUTS).

use credence::config::Config;
use credence::data::{read_table, Dataset};
use credence::density::finite_difference_grad;
use credence::dist::Dist;
use credence::eval::diagnostics::QuantitySummary;
use credence::infer::hierarchical::{HierarchySummary, NonCentred};
use credence::infer::{sample, Method, SampleOptions, Silent};
use credence::likelihood::Likelihood;
use credence::model::{Model, ModelSpec};
use credence::nn::{Activation, Mlp};
use credence::prior::{ResolvedHierarchy, ScaleBlock};
use credence::{fit, FitOptions, LogDensity, Result};
use serde_json::Value;
use std::path::Path;

const PRIORS: &str = r#"
[[prior]]
params = "layer1.weight"
distribution = { family = "normal", loc = 0.0, scale = 1.0 }
hierarchy = { kind = "ard", scale = { family = "inverse-gamma", shape = 2.0, scale = 1.0 } }
provenance = { kind = "default", source = "test" }

[[prior]]
params = "layer2.weight"
distribution = { family = "normal", loc = 0.0, scale = 1.0 }
hierarchy = { kind = "horseshoe", scale = { family = "half-cauchy", scale = 0.5 }, slab_scale = 2.0 }
provenance = { kind = "default", source = "test" }

[[prior]]
params = "*.bias"
distribution = { family = "normal", loc = 0.1, scale = 1.0 }
hierarchy = { kind = "layer", scale = { family = "gamma", shape = 2.0, rate = 2.0 } }
provenance = { kind = "default", source = "test" }

[[prior]]
params = "noise"
on = "precision"
distribution = { family = "gamma", shape = 6.0, rate = 6.0 }
provenance = { kind = "default", source = "test" }
"#;

fn small_model() -> (Model, ResolvedHierarchy) {
    let cfg = Config::parse("t.toml", PRIORS).unwrap();
    let spec = ModelSpec {
        net: Mlp::new(vec![3, 4, 1], Activation::Tanh).into(),
        likelihood: Likelihood::Gaussian { noise: None },
    };
    let set = cfg.priors.unwrap();
    let resolved = set.resolve(&spec.layout(), "t.toml").unwrap();
    let rows = 7;
    let x: Vec<f64> = (0..rows * 3).map(|i| (i as f64 * 0.37).sin()).collect();
    let y: Vec<f64> = (0..rows).map(|i| (i as f64 * 0.5).cos()).collect();
    let data = Dataset::from_arrays(x, y, 3).unwrap();
    let h = resolved.hierarchy.clone();
    let mut m = Model::new(spec, Some(resolved.without_hierarchical()), &data).unwrap();
    m.jacobian = true;
    (m, h)
}

fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        // Central differences with step 1e-6·(1 + |θ|): error O(h²) plus rounding ~1e-9.
        assert!(
            (x - y).abs() < tol * (1.0 + y.abs()),
            "component {i}: analytic {x} vs finite difference {y}"
        );
    }
}

#[test]
fn noncentred_gradient_matches_finite_differences() {
    let (m, h) = small_model();
    // 3 ARD scales + horseshoe (1 global + 4 local) + 2 bias layer scales.
    assert_eq!(h.n_scales(), 3 + 5 + 2);
    let mut d = NonCentred::new(m, h);
    let phi: Vec<f64> = (0..d.dim())
        .map(|i| 0.4 * ((i as f64) * 1.3).sin() - 0.1)
        .collect();
    let mut g = vec![0.0; phi.len()];
    d.logp_grad(&phi, &mut g).unwrap();
    let fd = finite_difference_grad(&mut d, &phi, 1e-6).unwrap();
    assert_close(&g, &fd, 1e-6);
}

/// The centred hierarchical log density over [θ, u] (the form VI and Laplace's evidence use).
struct Centred(ResolvedHierarchy, usize);
impl LogDensity for Centred {
    fn dim(&self) -> usize {
        self.1 + self.0.n_scales()
    }
    fn logp_grad(&mut self, t: &[f64], g: &mut [f64]) -> Result<f64> {
        g.iter_mut().for_each(|v| *v = 0.0);
        let (w, u) = t.split_at(self.1);
        let (gw, gu) = g.split_at_mut(self.1);
        let lp = self.0.log_prior_grad_centred(w, u, gw, Some(gu));
        Ok(lp + self.0.log_hyper_grad(u, gu))
    }
}

#[test]
fn centred_gradient_and_jacobian_match_finite_differences() {
    let (m, h) = small_model();
    let n = m.spec.dim();
    let mut d = Centred(h, n);
    let t: Vec<f64> = (0..d.dim())
        .map(|i| 0.3 * ((i as f64) * 0.7).cos())
        .collect();
    let mut g = vec![0.0; t.len()];
    d.logp_grad(&t, &mut g).unwrap();
    let fd = finite_difference_grad(&mut d, &t, 1e-6).unwrap();
    assert_close(&g, &fd, 1e-6);
    // The Jacobian term: in u, a Gamma(2, 2) hyperprior on s = e^u has density
    // p(e^u)·e^u ∝ e^{2u}·e^{−2e^u}, whose derivative at u is 2 − 2e^u.
    let hh = ResolvedHierarchy::new(vec![ScaleBlock::layer(
        "g",
        0..0,
        0.0,
        1.0,
        Dist::Gamma {
            shape: 2.0,
            rate: 2.0,
        },
    )]);
    let mut gu = [0.0];
    hh.log_hyper_grad(&[0.3], &mut gu);
    assert!((gu[0] - (2.0 - 2.0 * 0.3f64.exp())).abs() < 1e-12);
}

#[test]
fn vi_hierarchical_kl_gradient_matches_finite_differences() {
    let (m, h) = small_model();
    let n = m.spec.net.dim();
    let ns = h.n_scales();
    let eps: Vec<f64> = (0..ns).map(|k| (k as f64 * 1.1).sin()).collect();
    // x = [μ (n), s (n), m (ns), ρ (ns)]; with ε fixed the estimate is a smooth function of x.
    let f = |x: &[f64], g: Option<&mut Vec<f64>>| -> f64 {
        let (mu, r) = x.split_at(n);
        let (s, r) = r.split_at(n);
        let (mm, rho) = r.split_at(ns);
        let (mut a, mut b, mut c, mut d) =
            (vec![0.0; n], vec![0.0; n], vec![0.0; ns], vec![0.0; ns]);
        let kl = credence::infer::vi::hierarchical_kl_grad(
            &h, mu, s, mm, rho, &eps, &mut a, &mut b, &mut c, &mut d,
        );
        if let Some(g) = g {
            g.clear();
            for v in [a, b, c, d] {
                g.extend(v);
            }
        }
        kl
    };
    let x: Vec<f64> = (0..2 * n + 2 * ns)
        .map(|i| 0.2 * ((i as f64) * 0.9).sin() - 0.5)
        .collect();
    let mut g = Vec::new();
    f(&x, Some(&mut g));
    let mut xx = x.clone();
    for i in 0..x.len() {
        let hstep = 1e-6;
        xx[i] = x[i] + hstep;
        let up = f(&xx, None);
        xx[i] = x[i] - hstep;
        let dn = f(&xx, None);
        xx[i] = x[i];
        let fd = (up - dn) / (2.0 * hstep);
        // Non-hierarchical coordinates (none here: every group is hierarchical) would be 0.
        assert!(
            (g[i] - fd).abs() < 1e-5 * (1.0 + fd.abs()),
            "coordinate {i}: {} vs {fd}",
            g[i]
        );
    }
}

// ------------------------------------------------------------- eight schools, non-centred

/// log p(y | μ + δ) + log N(μ; 0, 5) over (δ_1..δ_8, μ): the hierarchical prior δ_j ~ N(0, τ),
/// τ ~ half-Cauchy(0, 5) is added by `NonCentred`.
#[derive(Clone)]
struct Schools {
    y: Vec<f64>,
    sigma: Vec<f64>,
}

impl LogDensity for Schools {
    fn dim(&self) -> usize {
        9
    }
    fn logp_grad(&mut self, t: &[f64], g: &mut [f64]) -> Result<f64> {
        let mu = t[8];
        let mut lp = -mu * mu / 50.0;
        g[8] = -mu / 25.0;
        for j in 0..8 {
            let r = (self.y[j] - mu - t[j]) / (self.sigma[j] * self.sigma[j]);
            lp += -0.5 * (self.y[j] - mu - t[j]) * r;
            g[j] = r;
            g[8] += r;
        }
        Ok(lp)
    }
}

fn vec_f64(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn nuts_on_noncentred_eight_schools_matches_reference() {
    let d: Value = serde_json::from_str(include_str!(
        "data/posteriordb/eight_schools-eight_schools_noncentered/data.json"
    ))
    .unwrap();
    let inner = Schools {
        y: vec_f64(&d["y"]),
        sigma: vec_f64(&d["sigma"]),
    };
    let h = ResolvedHierarchy::new(vec![ScaleBlock::layer(
        "theta",
        0..8,
        0.0,
        1.0,
        Dist::HalfCauchy { scale: 5.0 },
    )]);
    let density = NonCentred::new(inner, h);
    let o = SampleOptions {
        chains: 4,
        warmup: 1000,
        draws: 1000,
        target_accept: 0.95,
        ..SampleOptions::default()
    };
    let s = sample(&density, &o, 5).unwrap();
    let r: Value = serde_json::from_str(include_str!(
        "data/posteriordb/eight_schools-eight_schools_noncentered/reference.json"
    ))
    .unwrap();
    let mut names = vec!["mu".to_string(), "tau".to_string()];
    names.extend((1..=8).map(|j| format!("theta[{j}]")));
    let derive = |t: &[f64], k: usize| -> f64 {
        let (w, u) = density.to_weights(t);
        match k {
            0 => w[8],
            1 => u[0].exp(),
            j => w[8] + w[j - 2],
        }
    };
    for (k, name) in names.iter().enumerate() {
        let q = QuantitySummary::new(name.clone(), &s.quantity(|t| derive(t, k)));
        let rm = r["parameters"][name]["mean"].as_f64().unwrap();
        let rsd = r["parameters"][name]["sd"].as_f64().unwrap();
        // posteriordb criterion: 4·√(MCSE² + (ref sd)²/10000) (the reference has 10000 draws).
        let tol = 4.0 * (q.mcse_mean.powi(2) + rsd * rsd / 10_000.0).sqrt();
        assert!(
            (q.mean - rm).abs() < tol,
            "{name}: mean {} vs reference {rm} (tol {tol})",
            q.mean
        );
        // The sd of a posterior estimated from ≥ 400 effective draws is within 10%.
        assert!(
            (q.sd - rsd).abs() < 0.1 * rsd,
            "{name}: sd {} vs {rsd}",
            q.sd
        );
        assert!(q.rhat < 1.01, "{name}: R-hat {}", q.rhat);
    }
}

// ------------------------------------------------------------- ARD ranks a noise input last

/// 200 rows of bostonHousing (NOX, RM, DIS, PTRATIO, LSTAT, all clearly related to MEDV) with a
/// standard-normal NOISE column appended (see tests/data/README.md).
fn boston_noise() -> Dataset {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ard_boston.csv");
    let t = read_table(&p, &Default::default()).unwrap();
    Dataset::from_table(&t, "MEDV", None).unwrap()
}

const ARD: &str = r#"
[model]
hidden = [8]
[training]
optimizer = "lbfgs"
validation_fraction = 0.0
[[prior]]
params = "layer1.weight"
distribution = { family = "normal", loc = 0.0, scale = 1.0 }
hierarchy = { kind = "ard", scale = { family = "half-cauchy", scale = 1.0 } }
provenance = { kind = "default", source = "test: ARD over the inputs" }
[[prior]]
params = "*"
distribution = { family = "normal", loc = 0.0, scale = 1.0 }
provenance = { kind = "default", source = "test" }
[[prior]]
params = "noise"
on = "precision"
distribution = { family = "gamma", shape = 6.0, rate = 6.0 }
provenance = { kind = "default", source = "test" }
"#;

fn ard_fit(method: Method, inference: &str) -> HierarchySummary {
    let cfg = Config::parse("ard.toml", &format!("{ARD}\n[inference]\n{inference}")).unwrap();
    let m = fit(
        &boston_noise(),
        &cfg,
        FitOptions {
            method,
            seed: 1,
            progress: &Silent,
            strict_columns: true,
        },
    )
    .unwrap();
    let h: HierarchySummary =
        serde_json::from_value(m.record.outcome["hierarchy"].clone()).unwrap();
    eprintln!("{}:\n{}", method.name(), h.report_lines().join("\n"));
    h
}

/// The noise input is ranked last, with a scale below half of the smallest real input's.
/// (The margin is wide: the real inputs' learned scales are O(1), the noise input's is
/// shrunk towards the hyperprior's small values by the evidence / the ELBO / the posterior.)
fn assert_noise_last(h: &HierarchySummary) {
    let r = &h.relevance[0];
    assert_eq!(r.group, "layer1.weight");
    assert_eq!(r.inputs.len(), 6);
    let (last, s_noise) = r.inputs.last().unwrap();
    assert_eq!(last, "NOISE", "ranking: {:?}", r.inputs);
    let s_real = r.inputs[r.inputs.len() - 2].1;
    assert!(
        *s_noise < 0.5 * s_real,
        "noise scale {s_noise} vs smallest real {s_real}"
    );
}

#[test]
fn ard_ranks_noise_input_last_laplace() {
    let h = ard_fit(Method::Laplace, "hessian = \"diag\"");
    assert!(h.provenance.is_some(), "empirical Bayes provenance");
    assert_noise_last(&h);
}

#[test]
fn ard_ranks_noise_input_last_vi() {
    let h = ard_fit(
        Method::Vi,
        "epochs = 1500\nbatch_size = 0\nlearning_rate = 0.02",
    );
    assert!(h.scales.iter().all(|s| s.kl.is_some()));
    assert_noise_last(&h);
}

/// About 12 s (2 chains × 600 iterations of a 6-8-1 network with 6 learned scales).
#[test]
fn ard_ranks_noise_input_last_nuts() {
    let h = ard_fit(Method::Nuts, "chains = 2\nwarmup = 300\ndraws = 300");
    assert_noise_last(&h);
}

#[test]
fn unsupported_uses_are_refused_with_a_reason() {
    // ARD on a bias vector.
    let bad = r#"
[[prior]]
params = "*"
distribution = { family = "normal", loc = 0.0, scale = 1.0 }
hierarchy = { kind = "ard", scale = { family = "half-cauchy", scale = 1.0 } }
provenance = { kind = "default", source = "test" }
"#;
    let cfg = Config::parse("bad.toml", bad).unwrap();
    let spec = ModelSpec {
        net: Mlp::new(vec![3, 4, 1], Activation::Tanh).into(),
        likelihood: Likelihood::Gaussian { noise: Some(1.0) },
    };
    let e = cfg
        .priors
        .unwrap()
        .resolve(&spec.layout(), "bad.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("ARD") && e.contains("layer1.bias"), "{e}");
    // A hierarchy on a Laplace distribution.
    let e = Config::parse(
        "bad.toml",
        &bad.replace("family = \"normal\", loc", "family = \"laplace\", loc"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("learns the scale of a Normal"), "{e}");
    // MAP would silently fix the scales; Laplace with KFAC cannot give ARD scales.
    for (method, inference, needle) in [
        (Method::Map, "", "supported by laplace"),
        (Method::Laplace, "hessian = \"kfac\"", "diag"),
    ] {
        let cfg = Config::parse("ard.toml", &format!("{ARD}\n[inference]\n{inference}")).unwrap();
        let e = fit(
            &boston_noise(),
            &cfg,
            FitOptions {
                method,
                seed: 1,
                progress: &Silent,
                strict_columns: true,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(needle), "{e}");
    }
}

#[test]
fn learned_scales_set_the_prior_variances_of_reports() {
    let cfg = Config::parse(
        "ard.toml",
        &format!("{ARD}\n[inference]\nhessian = \"diag\""),
    )
    .unwrap();
    let data = boston_noise();
    let m = fit(
        &data,
        &cfg,
        FitOptions {
            method: Method::Laplace,
            seed: 1,
            progress: &Silent,
            strict_columns: true,
        },
    )
    .unwrap();
    let set = m.record.priors.clone().unwrap();
    let mut r = set.resolve(&m.record.model.layout(), "t").unwrap();
    r.hierarchy.name_inputs(&data.feature_names);
    let before = r.variances(m.record.model.dim());
    assert!(credence::infer::hierarchical::apply_learned_scales(
        &m.record.outcome,
        &mut r
    ));
    let after = r.variances(m.record.model.dim());
    // Row 6 of layer1.weight (NOISE, 8 weights) has variance = its learned scale².
    let h: HierarchySummary =
        serde_json::from_value(m.record.outcome["hierarchy"].clone()).unwrap();
    let noise = h
        .scales
        .iter()
        .find(|s| s.name == "layer1.weight[input=NOISE]")
        .unwrap()
        .scale;
    assert!((after[5 * 8] - noise * noise).abs() < 1e-12);
    assert!(after[5 * 8] < before[5 * 8]);
}
