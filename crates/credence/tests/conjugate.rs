//! Conjugate models against hand-derived closed forms (tolerance 1e-10: exact arithmetic up to
//! rounding), against the chain rule p(x₁…xₙ) = Π p(xᵢ | x₍<ᵢ₎) built from the posterior
//! predictives (an independent route to the evidence, also exact), and against numerical
//! integration of likelihood × prior where one parameter makes that cheap (Simpson's rule on a
//! fine grid: tolerance 1e-7 relative, well above its error for these smooth integrands).

use credence::conjugate::{
    beta_binomial, diagnostic, dirichlet_multinomial, gamma_poisson, linear_regression,
    normal_inverse_gamma, normal_known, ModelFile,
};
use credence::prior::Provenance;
use statrs::distribution::{Continuous, StudentsT};

const EXACT: f64 = 1e-10;

fn prov() -> Provenance {
    Provenance::default_with("test", "")
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol * b.abs().max(1.0),
        "{what}: {a} vs {b} (tolerance {tol})"
    );
}

/// Simpson's rule on [a, b] with n (even) intervals.
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let h = (b - a) / n as f64;
    let mut s = f(a) + f(b);
    for i in 1..n {
        s += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

fn example(name: &str) -> ModelFile {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/bayes")
        .join(name);
    ModelFile::from_file(&p).unwrap()
}

#[test]
fn disease_example_matches_hand_derivation() {
    // π = 0.05, sens = 0.9, spec = 0.95:
    // P(D | +) = 0.045 / (0.045 + 0.0475) = 18/37; P(D | −) = 0.005 / (0.005 + 0.9025) = 2/363.
    let ModelFile::Diagnostic(p, d) = example("disease.toml") else {
        panic!("disease.toml is not a diagnostic-test model")
    };
    let r = p.report(&d).unwrap();
    let get = |name: &str| {
        r.probabilities
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .1
    };
    close(get("P(condition | positive)"), 18.0 / 37.0, EXACT, "P(D|+)");
    close(get("P(condition | negative)"), 2.0 / 363.0, EXACT, "P(D|-)");
    close(r.log_evidence, 0.0925f64.ln(), EXACT, "P(+)");
    assert_eq!(r.provenance.kind, credence::ProvenanceKind::Factual);
    // Two positives: 0.05·0.81 / (0.05·0.81 + 0.95·0.0025) = 0.0405 / 0.042875 = 648/686.
    let two = diagnostic::Data {
        results: vec!["positive".into(), "positive".into()],
    };
    close(
        p.posterior(&two.results).unwrap().0,
        648.0 / 686.0,
        EXACT,
        "P(D|++)",
    );
    assert!(p
        .report(&diagnostic::Data {
            results: vec!["maybe".into()]
        })
        .is_err());
}

#[test]
fn rainfall_example_matches_hand_derivation() {
    // Prior N(800, 60²), σ = 120, five years with mean 874 (sum 4370):
    // precision 1/3600 + 5/14400 = 9/14400 → posterior sd 40;
    // mean 1600·(800/3600 + 4370/14400) = 7570/9; predictive sd √(1600 + 14400) = √16000.
    let ModelFile::NormalKnown(p, d) = example("rainfall.toml") else {
        panic!("rainfall.toml is not a normal-known-variance model")
    };
    let (m, s) = p.posterior(&d);
    close(m, 7570.0 / 9.0, EXACT, "posterior mean");
    close(s, 40.0, EXACT, "posterior sd");
    let (pm, ps) = p.predictive(&d);
    close(pm, 7570.0 / 9.0, EXACT, "predictive mean");
    close(ps, 16000f64.sqrt(), EXACT, "predictive sd");
    let r = p.report(&d).unwrap();
    let z = 1.959_963_984_540_054;
    close(
        r.predictive[0].posterior.lo,
        7570.0 / 9.0 - z * 16000f64.sqrt(),
        1e-8,
        "95% lo",
    );
    close(
        r.predictive[0].posterior.hi,
        7570.0 / 9.0 + z * 16000f64.sqrt(),
        1e-8,
        "95% hi",
    );
    // Evidence by the chain rule of predictives: p(x) = Π N(xᵢ; mᵢ₋₁, sᵢ₋₁² + σ²).
    let mut chain = 0.0;
    for i in 0..d.values.len() {
        let prev = normal_known::Data {
            values: d.values[..i].to_vec(),
            noise_sd: d.noise_sd,
        };
        let (mu, sd) = p.predictive(&prev);
        let x = d.values[i];
        chain += -0.5 * ((x - mu) / sd).powi(2) - (sd * (2.0 * std::f64::consts::PI).sqrt()).ln();
    }
    close(p.log_evidence(&d), chain, EXACT, "evidence (chain rule)");
    // And by integrating likelihood × prior over μ.
    let integrand = |mu: f64| {
        let lp = -0.5 * ((mu - 800.0) / 60.0f64).powi(2)
            - (60.0 * (2.0 * std::f64::consts::PI).sqrt()).ln();
        let ll: f64 = d
            .values
            .iter()
            .map(|x| {
                -0.5 * ((x - mu) / 120.0f64).powi(2)
                    - (120.0 * (2.0 * std::f64::consts::PI).sqrt()).ln()
            })
            .sum();
        (lp + ll - p.log_evidence(&d)).exp()
    };
    close(
        simpson(integrand, 400.0, 1300.0, 4000),
        1.0,
        1e-7,
        "∫ p(x|μ)p(μ) dμ / p(x)",
    );
}

#[test]
fn beta_binomial_closed_forms() {
    // Beta(2, 2), 3 of 10: posterior Beta(5, 9); p(k) = C(10,3)·B(5,9)/B(2,2) = 120·6·(4!8!/13!) = 16/143.
    let p = beta_binomial::BetaBinomial {
        alpha: 2.0,
        beta: 2.0,
        provenance: prov(),
    };
    let d = beta_binomial::Data {
        successes: 3,
        trials: 10,
        predict_trials: 1,
    };
    assert_eq!(p.posterior(&d), (5.0, 9.0));
    close(
        p.log_evidence(&d),
        (16.0f64 / 143.0).ln(),
        EXACT,
        "evidence",
    );
    close(p.prob_next_success(&d), 5.0 / 14.0, EXACT, "predictive");
    let r = p.report(&d).unwrap();
    close(
        r.params[0].posterior.mean,
        5.0 / 14.0,
        EXACT,
        "posterior mean",
    );
    close(
        r.params[0].posterior.sd,
        (5.0 * 9.0 / (14.0 * 14.0 * 15.0f64)).sqrt(),
        EXACT,
        "posterior sd",
    );
    // Numerical integration: ∫ C(10,3) θ³(1−θ)⁷ Beta(θ; 2, 2) dθ.
    let f = |t: f64| 120.0 * t.powi(3) * (1.0 - t).powi(7) * 6.0 * t * (1.0 - t);
    close(
        simpson(f, 0.0, 1.0, 2000),
        16.0 / 143.0,
        1e-10,
        "quadrature",
    );
    assert!(p
        .report(&beta_binomial::Data {
            successes: 4,
            trials: 3,
            predict_trials: 1
        })
        .is_err());
}

#[test]
fn gamma_poisson_closed_forms_and_chain_rule() {
    let p = gamma_poisson::GammaPoisson {
        shape: 3.0,
        rate: 2.0,
        provenance: prov(),
    };
    let counts = vec![2u64, 0, 3, 1];
    let d = gamma_poisson::Data {
        counts: counts.clone(),
        exposure: None,
        predict_exposure: 1.0,
    };
    // Posterior Gamma(3 + 6, 2 + 4) = Gamma(9, 6).
    assert_eq!(p.posterior(&d), (9.0, 6.0));
    // Hand: p(x) = Π(1/xᵢ!) · β^α/Γ(α) · Γ(α+S)/(β+n)^(α+S)
    //            = (1/(2!·0!·3!·1!)) · 2³/Γ(3) · Γ(9)/6⁹ = (1/12)·4·40320/10077696.
    let hand = (1.0 / 12.0) * 4.0 * 40320.0 / 10_077_696.0;
    close(p.log_evidence(&d), f64::ln(hand), EXACT, "evidence");
    // Chain rule with negative-binomial predictives.
    let mut chain = 0.0;
    for i in 0..counts.len() {
        let prev = gamma_poisson::Data {
            counts: counts[..i].to_vec(),
            exposure: None,
            predict_exposure: 1.0,
        };
        let (a, b) = p.posterior(&prev);
        let k = counts[i] as f64;
        let q = b / (b + 1.0);
        chain += credence::dist::ln_gamma(a + k)
            - credence::dist::ln_gamma(a)
            - credence::dist::ln_gamma(k + 1.0)
            + a * q.ln()
            + k * (1.0 - q).ln();
    }
    close(p.log_evidence(&d), chain, EXACT, "evidence (chain rule)");
    // Quadrature over λ.
    let f = |l: f64| {
        if l <= 0.0 {
            return 0.0;
        }
        let prior =
            (3.0 * 2f64.ln() - credence::dist::ln_gamma(3.0) + 2.0 * l.ln() - 2.0 * l).exp();
        let lik: f64 = counts
            .iter()
            .map(|&x| (x as f64 * l.ln() - l - credence::dist::ln_gamma(x as f64 + 1.0)).exp())
            .product();
        prior * lik
    };
    close(simpson(f, 0.0, 12.0, 6000), hand, 1e-7, "quadrature");
    let r = p.report(&d).unwrap();
    close(r.params[0].posterior.mean, 1.5, EXACT, "posterior mean 9/6");
    close(
        r.predictive[0].posterior.mean,
        1.5,
        EXACT,
        "predictive mean",
    );
}

#[test]
fn dirichlet_multinomial_closed_forms_and_chain_rule() {
    let p = dirichlet_multinomial::DirichletMultinomial {
        alpha: vec![1.0, 2.0, 3.0],
        categories: vec![],
        provenance: prov(),
    };
    let d = dirichlet_multinomial::Data {
        counts: vec![2, 0, 1],
    };
    assert_eq!(p.posterior(&d), vec![3.0, 2.0, 4.0]);
    // Sequence a, a, c: (1/6)(2/7)(3/8) = 1/56; times the multinomial coefficient 3!/(2!0!1!) = 3.
    close(p.log_evidence(&d), (3.0f64 / 56.0).ln(), EXACT, "evidence");
    let pred = p.predictive(&d);
    for (a, b) in pred.iter().zip([3.0 / 9.0, 2.0 / 9.0, 4.0 / 9.0]) {
        close(*a, b, EXACT, "predictive");
    }
    assert!(p
        .report(&dirichlet_multinomial::Data { counts: vec![1, 2] })
        .is_err());
}

#[test]
fn normal_inverse_gamma_closed_forms_and_chain_rule() {
    let nig = normal_inverse_gamma::Nig {
        mean: 10.0,
        kappa: 1.0,
        shape: 2.0,
        scale: 2.0,
    };
    let x = [9.2, 10.1, 10.8, 9.7, 10.4, 11.0];
    // Hand: x̄ = 10.2, Σ(x−x̄)² = 2.30, κₙ = 7, mₙ = (10 + 61.2)/7, aₙ = 5,
    // bₙ = 2 + 1.15 + 1·6·0.04/14.
    let post = nig.update(&x);
    close(post.mean, 71.2 / 7.0, EXACT, "m");
    close(post.kappa, 7.0, EXACT, "κ");
    close(post.shape, 5.0, EXACT, "a");
    close(post.scale, 2.0 + 1.15 + 0.24 / 14.0, EXACT, "b");
    // Chain rule: each observation's predictive is Student-t.
    let mut chain = 0.0;
    for i in 0..x.len() {
        let (df, loc, scale) = nig.update(&x[..i]).predictive();
        chain += StudentsT::new(loc, scale, df).unwrap().ln_pdf(x[i]);
    }
    close(nig.log_evidence(&x), chain, EXACT, "evidence (chain rule)");
    // Double quadrature over (μ, s = ln σ²), with p(σ²) dσ² = p(σ²)σ² ds.
    let le = nig.log_evidence(&x);
    let inner = |s: f64| {
        let v = s.exp();
        let log_ig =
            2.0 * 2f64.ln() - credence::dist::ln_gamma(2.0) - 3.0 * v.ln() - 2.0 / v + v.ln();
        simpson(
            |mu| {
                let lp =
                    -0.5 * (mu - 10.0).powi(2) / v - 0.5 * (2.0 * std::f64::consts::PI * v).ln();
                let ll: f64 = x
                    .iter()
                    .map(|xi| {
                        -0.5 * (xi - mu).powi(2) / v - 0.5 * (2.0 * std::f64::consts::PI * v).ln()
                    })
                    .sum();
                (lp + ll + log_ig - le).exp()
            },
            6.0,
            14.0,
            800,
        )
    };
    close(
        simpson(inner, -6.0, 4.0, 800),
        1.0,
        1e-6,
        "∫∫ likelihood × prior / evidence",
    );
}

#[test]
fn linear_regression_reduces_to_nig_and_obeys_the_chain_rule() {
    let x = [9.2, 10.1, 10.8, 9.7, 10.4, 11.0];
    // Intercept-only regression with V₀ = 1/κ₀ is the normal-inverse-gamma model.
    let lr = linear_regression::LinearRegression {
        mean: vec![10.0],
        cov_factor: vec![1.0],
        shape: 2.0,
        scale: 2.0,
        provenance: prov(),
    };
    let d = linear_regression::Data {
        x: vec![vec![]; x.len()],
        y: x.to_vec(),
        intercept: true,
        predict_at: vec![vec![]],
        names: vec![],
    };
    let nig = normal_inverse_gamma::Nig {
        mean: 10.0,
        kappa: 1.0,
        shape: 2.0,
        scale: 2.0,
    };
    let post = lr.posterior(&d).unwrap();
    let np = nig.update(&x);
    close(post.mean[0], np.mean, EXACT, "mean");
    close(post.scale, np.scale, EXACT, "b");
    close(post.log_evidence, nig.log_evidence(&x), EXACT, "evidence");
    let (df, loc, scale) = lr.predictive_at(&post, &d, &[]);
    let (df2, loc2, scale2) = np.predictive();
    close(df, df2, EXACT, "df");
    close(loc, loc2, EXACT, "loc");
    close(scale, scale2, EXACT, "scale");

    // One input plus intercept: hand-derived 2×2 posterior, and the chain rule for the evidence.
    let lr = linear_regression::LinearRegression {
        mean: vec![0.0, 0.0],
        cov_factor: vec![100.0, 1.0],
        shape: 2.0,
        scale: 1.0,
        provenance: prov(),
    };
    let xs = [0.0, 1.0, 2.0, 3.0];
    let ys = [1.0, 3.0, 5.5, 6.5];
    let data = |n: usize| linear_regression::Data {
        x: xs[..n].iter().map(|&v| vec![v]).collect(),
        y: ys[..n].to_vec(),
        intercept: true,
        predict_at: vec![],
        names: vec![],
    };
    // Λ = diag(0.01, 1) + XᵀX = [[4.01, 6], [6, 15]]; Xᵀy = [16, 33.5]; det = 24.15.
    let post = lr.posterior(&data(4)).unwrap();
    let det = 4.01 * 15.0 - 36.0;
    let m0 = (15.0 * 16.0 - 6.0 * 33.5) / det;
    let m1 = (-6.0 * 16.0 + 4.01 * 33.5) / det;
    close(post.mean[0], m0, EXACT, "intercept");
    close(post.mean[1], m1, EXACT, "slope");
    close(post.cov_factor[0], 15.0 / det, EXACT, "V₀₀");
    close(post.cov_factor[1], -6.0 / det, EXACT, "V₀₁");
    let mut chain = 0.0;
    for i in 0..xs.len() {
        let prev = data(i);
        let q = lr.posterior(&prev).unwrap();
        let (df, loc, scale) = lr.predictive_at(&q, &prev, &[xs[i]]);
        chain += StudentsT::new(loc, scale, df).unwrap().ln_pdf(ys[i]);
    }
    close(post.log_evidence, chain, EXACT, "evidence (chain rule)");
}

#[test]
fn every_example_file_runs_and_plots() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bayes");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let r = ModelFile::from_file(&p).unwrap().report().unwrap();
            assert!(r.log_evidence.is_finite(), "{}", p.display());
            let svg = credence::plot::panels(&r.plots, 400, 300).unwrap();
            assert!(svg.contains("posterior"), "{}", p.display());
            n += 1;
        }
    }
    assert!(n >= 7, "expected the seven example models, found {n}");
}

#[test]
fn bad_files_name_the_problem() {
    let e = ModelFile::parse("m.toml", "model = \"poisson-gamma\"\n[prior]\n[data]\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown model") && e.contains("gamma-poisson"),
        "{e}"
    );
    let no_prov = "model = \"beta-binomial\"\n[prior]\nalpha = 1.0\nbeta = 1.0\n[data]\nsuccesses = 1\ntrials = 2\n";
    let e = ModelFile::parse("m.toml", no_prov).unwrap_err().to_string();
    assert!(e.contains("provenance"), "{e}");
    let bad = "model = \"beta-binomial\"\n[prior]\nalpha = -1.0\nbeta = 1.0\nprovenance = { kind = \"default\", source = \"x\" }\n[data]\nsuccesses = 1\ntrials = 2\n";
    let e = ModelFile::parse("m.toml", bad).unwrap_err().to_string();
    assert!(e.contains("m.toml") && e.contains("prior.alpha"), "{e}");
}
