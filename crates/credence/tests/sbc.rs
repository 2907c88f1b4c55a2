//! Simulation-based calibration (Talts et al. 2018) of NUTS, HMC and SGLD on a conjugate model:
//! μ ~ N(0, 1), y_i | μ ~ N(μ, 1), i = 1..20. For each replication a true μ* is drawn from the
//! prior and data from the likelihood; the sampler's rank of μ* among L = 19 thinned posterior
//! draws is uniform on 0..=19 exactly when the sampler is right. The 20 rank counts over R = 400
//! replications are tested with a chi-square test at α = 0.001 (df = 19, critical value 43.82);
//! the seed is fixed, so the test is deterministic.

use credence::infer::{sample, sample_sg, BatchDensity, SampleOptions, Sampler, SgOptions, Silent};
use credence::{rng, LogDensity, Result};

const N: usize = 20;
const L: usize = 19;
const R: usize = 400;
/// 0.999 quantile of the chi-square distribution with 19 degrees of freedom.
const CHI2_19_999: f64 = 43.82;

#[derive(Clone)]
struct NormalMean {
    y: Vec<f64>,
}

impl LogDensity for NormalMean {
    fn dim(&self) -> usize {
        1
    }
    fn logp_grad(&mut self, t: &[f64], g: &mut [f64]) -> Result<f64> {
        let mu = t[0];
        let ss: f64 = self.y.iter().map(|y| (y - mu).powi(2)).sum();
        g[0] = -mu + self.y.iter().map(|y| y - mu).sum::<f64>();
        Ok(-0.5 * mu * mu - 0.5 * ss)
    }
}

impl BatchDensity for NormalMean {
    fn rows(&self) -> usize {
        self.y.len()
    }
    fn logp_grad_batch(&mut self, t: &[f64], batch: &[usize], g: &mut [f64]) -> Result<f64> {
        let mu = t[0];
        let scale = self.y.len() as f64 / batch.len() as f64;
        let mut lp = -0.5 * mu * mu;
        g[0] = -mu;
        for &i in batch {
            lp -= 0.5 * scale * (self.y[i] - mu).powi(2);
            g[0] += scale * (self.y[i] - mu);
        }
        Ok(lp)
    }
}

/// Runs R replications; `draws(model, rep)` returns L posterior draws of μ.
fn sbc(seed: u64, mut draws: impl FnMut(&NormalMean, u64) -> Vec<f64>) -> (Vec<usize>, f64) {
    let mut counts = vec![0usize; L + 1];
    for rep in 0..R {
        let mut r = rng::stream(seed, rep as u64);
        let mu = rng::normal(&mut r);
        let y = (0..N).map(|_| mu + rng::normal(&mut r)).collect();
        let m = NormalMean { y };
        let d = draws(&m, rep as u64);
        assert_eq!(d.len(), L);
        counts[d.iter().filter(|&&x| x < mu).count()] += 1;
    }
    let e = R as f64 / (L + 1) as f64;
    let chi2 = counts
        .iter()
        .map(|&c| (c as f64 - e).powi(2) / e)
        .sum::<f64>();
    (counts, chi2)
}

fn full_batch(sampler: Sampler, seed: u64) {
    let o = SampleOptions {
        sampler,
        chains: 1,
        warmup: 200,
        draws: L,
        // Thinning by 5 makes the kept draws close to independent (ranks assume it).
        thin: 5,
        hmc_steps: 5,
        ..SampleOptions::default()
    };
    let (counts, chi2) = sbc(seed, |m, rep| {
        let s = sample(m, &o, seed ^ (rep << 8)).unwrap();
        s.draws[0].iter().map(|t| t[0]).collect()
    });
    assert!(
        chi2 < CHI2_19_999,
        "{sampler:?}: ranks {counts:?}, chi2 {chi2}"
    );
}

#[test]
fn sbc_nuts() {
    full_batch(Sampler::Nuts, 101);
}

#[test]
fn sbc_hmc() {
    full_batch(Sampler::Hmc, 202);
}

#[test]
fn sbc_sgld() {
    // Posterior precision P = 21; step ε = lr / N = 0.0025 gives εP ≈ 0.05, so the
    // discretisation inflates the variance by about 1.3% (too small to detect with R = 400).
    // Autocorrelation per step ≈ 1 − εP/2; 50 epochs × 4 steps between kept draws make it ≈ 0.01.
    let o = SgOptions {
        chains: 1,
        epochs: 100 + 50 * L,
        burnin: 100,
        thin: 50,
        batch_size: 5,
        learning_rate: 0.05,
        ..SgOptions::default()
    };
    let (counts, chi2) = sbc(303, |m, rep| {
        let s = sample_sg(m, &o, 303 ^ (rep << 8), &[], &Silent).unwrap();
        s.draws[0].iter().map(|t| t[0]).collect()
    });
    assert!(chi2 < CHI2_19_999, "SGLD: ranks {counts:?}, chi2 {chi2}");
}

#[test]
fn sbc_detects_a_biased_sampler() {
    // The test can fail: draws from a posterior with the variance doubled give non-uniform ranks.
    let (counts, chi2) = sbc(404, |m, rep| {
        let n = m.y.len() as f64;
        let mean = m.y.iter().sum::<f64>() / (n + 1.0);
        let sd = (2.0 / (n + 1.0)).sqrt();
        let mut r = rng::stream(404, 1000 + rep);
        (0..L).map(|_| mean + sd * rng::normal(&mut r)).collect()
    });
    assert!(chi2 > CHI2_19_999, "ranks {counts:?}, chi2 {chi2}");
}
