//! MCMC convergence diagnostics (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021):
//! rank-normalised split R-hat, bulk and tail effective sample size, Monte Carlo standard
//! errors, and the energy diagnostic E-BFMI (Betancourt 2016). Inputs are `chains × draws`
//! tables of one scalar quantity; every chain must have the same number of draws.

use serde::{Deserialize, Serialize};

/// Inverse of the standard normal CDF (Acklam's rational approximation, refined by one Halley
/// step; absolute error below 1e-12 on (0, 1)).
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let plow = 0.02425;
    let x = if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley refinement step using erfc.
    let e = 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// Reads a number that JSON may hold as `null` (serde_json writes NaN as `null`) as NaN.
pub fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn var(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)
}

/// Splits each chain into its first and second half (dropping the middle draw when odd).
pub fn split_chains(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut out = Vec::with_capacity(2 * chains.len());
    for c in chains {
        let h = c.len() / 2;
        out.push(c[..h].to_vec());
        out.push(c[c.len() - h..].to_vec());
    }
    out
}

/// Replaces every draw by the normal score of its rank among all draws of all chains
/// (average ranks for ties; Blom offset 3/8).
pub fn rank_normalize(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let all: Vec<(f64, usize, usize)> = chains
        .iter()
        .enumerate()
        .flat_map(|(c, v)| v.iter().enumerate().map(move |(i, &x)| (x, c, i)))
        .collect();
    let s = all.len();
    let mut order: Vec<usize> = (0..s).collect();
    order.sort_by(|&a, &b| all[a].0.total_cmp(&all[b].0));
    let mut ranks = vec![0.0; s];
    let mut i = 0;
    while i < s {
        let mut j = i;
        while j + 1 < s && all[order[j + 1]].0 == all[order[i]].0 {
            j += 1;
        }
        // Ranks are 1-based; ties share the average rank.
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    let mut out: Vec<Vec<f64>> = chains.iter().map(|c| vec![0.0; c.len()]).collect();
    for (k, &(_, c, i)) in all.iter().enumerate() {
        out[c][i] = normal_quantile((ranks[k] - 0.375) / (s as f64 + 0.25));
    }
    out
}

/// Classic R-hat of already-split chains (Gelman et al. BDA3, eq. 11.4).
fn rhat_basic(chains: &[Vec<f64>]) -> f64 {
    let n = chains[0].len() as f64;
    if n < 2.0 || chains.len() < 2 {
        return f64::NAN;
    }
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let b = n * var(&means);
    let w = mean(&chains.iter().map(|c| var(c)).collect::<Vec<_>>());
    if w == 0.0 {
        return if b == 0.0 { 1.0 } else { f64::INFINITY };
    }
    let var_plus = (n - 1.0) / n * w + b / n;
    (var_plus / w).sqrt()
}

/// Rank-normalised split R-hat: the larger of the bulk R-hat and the R-hat of the folded
/// draws |x − median| (Vehtari et al. 2021, eq. 4–5).
pub fn rhat(chains: &[Vec<f64>]) -> f64 {
    if !valid(chains) {
        return f64::NAN;
    }
    let split = split_chains(chains);
    let bulk = rhat_basic(&rank_normalize(&split));
    let med = median(&split.concat());
    let folded: Vec<Vec<f64>> = split
        .iter()
        .map(|c| c.iter().map(|x| (x - med).abs()).collect())
        .collect();
    let tail = rhat_basic(&rank_normalize(&folded));
    bulk.max(tail)
}

fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

/// Sample quantile with linear interpolation (type 7).
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let h = (s.len() as f64 - 1.0) * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    s[lo] + (h - lo as f64) * (s[hi] - s[lo])
}

fn valid(chains: &[Vec<f64>]) -> bool {
    !chains.is_empty()
        && chains[0].len() >= 4
        && chains.iter().all(|c| c.len() == chains[0].len())
        && chains.iter().flatten().all(|x| x.is_finite())
}

/// Autocovariance of one chain at lag `t` (biased estimator, divided by n).
fn autocov(c: &[f64], m: f64, t: usize) -> f64 {
    let n = c.len();
    let mut s = 0.0;
    for i in 0..n - t {
        s += (c[i] - m) * (c[i + t] - m);
    }
    s / n as f64
}

/// Effective sample size of chains as given (no splitting or ranking), with Geyer's initial
/// monotone sequence estimator combined over chains as in Stan.
pub fn ess_basic(chains: &[Vec<f64>]) -> f64 {
    if !valid(chains) {
        return f64::NAN;
    }
    let m = chains.len();
    let n = chains[0].len();
    let total = (m * n) as f64;
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let acov_at = |t: usize| -> f64 {
        chains
            .iter()
            .zip(&means)
            .map(|(c, &mu)| autocov(c, mu, t))
            .sum::<f64>()
            / m as f64
    };
    let nf = n as f64;
    let acov0 = acov_at(0);
    let mean_var = acov0 * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if m > 1 {
        var_plus += var(&means);
    }
    if var_plus <= 0.0 || !var_plus.is_finite() {
        // A constant quantity: every draw is the same, so it is known exactly.
        return total;
    }
    let rho = |t: usize| 1.0 - (mean_var - acov_at(t)) / var_plus;
    let mut rho_hat = vec![0.0; n + 1];
    rho_hat[0] = 1.0;
    let mut rho_even = 1.0;
    let mut rho_odd = rho(1);
    rho_hat[1] = rho_odd;
    let mut t = 1;
    while t + 4 < n && rho_even + rho_odd > 0.0 {
        rho_even = rho(t + 1);
        rho_odd = rho(t + 2);
        if rho_even + rho_odd >= 0.0 {
            rho_hat[t + 1] = rho_even;
            rho_hat[t + 2] = rho_odd;
        }
        t += 2;
    }
    let max_t = t;
    if rho_even > 0.0 && max_t < n {
        rho_hat[max_t + 1] = rho_even;
    }
    // Initial monotone sequence: pair sums must not increase.
    let mut t = 1;
    while t + 2 <= max_t {
        let prev = rho_hat[t - 1] + rho_hat[t];
        if rho_hat[t + 1] + rho_hat[t + 2] > prev {
            rho_hat[t + 1] = prev / 2.0;
            rho_hat[t + 2] = prev / 2.0;
        }
        t += 2;
    }
    let mut tau = -1.0 + 2.0 * rho_hat[..max_t].iter().sum::<f64>() + rho_hat[max_t + 1];
    // Antithetic chains can give τ < 1; Stan caps the ESS at S·log10(S).
    tau = tau.max(1.0 / total.log10());
    total / tau
}

/// Bulk effective sample size: ESS of the rank-normalised split chains.
pub fn ess_bulk(chains: &[Vec<f64>]) -> f64 {
    if !valid(chains) {
        return f64::NAN;
    }
    ess_basic(&rank_normalize(&split_chains(chains)))
}

/// Tail effective sample size: the smaller ESS of the 5% and 95% quantile indicators.
pub fn ess_tail(chains: &[Vec<f64>]) -> f64 {
    if !valid(chains) {
        return f64::NAN;
    }
    let split = split_chains(chains);
    let all = split.concat();
    let ind = |q: f64| -> f64 {
        let cut = quantile(&all, q);
        let ch: Vec<Vec<f64>> = split
            .iter()
            .map(|c| c.iter().map(|&x| f64::from(u8::from(x <= cut))).collect())
            .collect();
        ess_basic(&ch)
    };
    ind(0.05).min(ind(0.95))
}

/// ESS for the mean (split chains, not rank-normalised): what the MCSE of the mean uses.
pub fn ess_mean(chains: &[Vec<f64>]) -> f64 {
    if !valid(chains) {
        return f64::NAN;
    }
    ess_basic(&split_chains(chains))
}

/// Energy Bayesian fraction of missing information of one chain's Hamiltonian energies.
pub fn e_bfmi(energy: &[f64]) -> f64 {
    if energy.len() < 3 {
        return f64::NAN;
    }
    let m = mean(energy);
    let num: f64 = energy.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
    let den: f64 = energy.iter().map(|e| (e - m).powi(2)).sum();
    num / den
}

/// Summary and convergence diagnostics of one scalar quantity over chains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantitySummary {
    /// What the quantity is (`log density`, `noise precision`, `predictive mean, row 1`, …).
    pub name: String,
    /// Posterior mean over all draws.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub mean: f64,
    /// Posterior standard deviation over all draws.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub sd: f64,
    /// 5% quantile.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub q05: f64,
    /// 95% quantile.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub q95: f64,
    /// Monte Carlo standard error of the mean (sd / √ESS of the mean).
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub mcse_mean: f64,
    /// Rank-normalised split R-hat.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub rhat: f64,
    /// Bulk effective sample size.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub ess_bulk: f64,
    /// Tail effective sample size.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub ess_tail: f64,
}

impl QuantitySummary {
    /// Summarises the `chains × draws` values of a named quantity.
    pub fn new(name: impl Into<String>, chains: &[Vec<f64>]) -> Self {
        let all = chains.concat();
        let mu = mean(&all);
        let sd = if all.len() > 1 { var(&all).sqrt() } else { 0.0 };
        let em = ess_mean(chains);
        QuantitySummary {
            name: name.into(),
            mean: mu,
            sd,
            q05: quantile(&all, 0.05),
            q95: quantile(&all, 0.95),
            mcse_mean: sd / em.sqrt(),
            rhat: rhat(chains),
            ess_bulk: ess_bulk(chains),
            ess_tail: ess_tail(chains),
        }
    }
}

/// Thresholds of the usual warnings (Vehtari et al. 2021; Betancourt 2016).
pub const RHAT_MAX: f64 = 1.01;
/// Minimum bulk/tail ESS per chain.
pub const ESS_PER_CHAIN_MIN: f64 = 100.0;
/// Minimum E-BFMI.
pub const EBFMI_MIN: f64 = 0.3;

/// Plain-word warnings for the quantities and sampler statistics that fail common thresholds.
pub fn warnings(
    quantities: &[QuantitySummary],
    chains: usize,
    divergences: usize,
    max_depth_hits: usize,
    e_bfmi: &[f64],
) -> Vec<String> {
    let mut w = Vec::new();
    for q in quantities {
        if q.rhat.is_nan() {
            w.push(format!(
                "R-hat of {} could not be computed (too few draws or non-finite values)",
                q.name
            ));
        } else if q.rhat > RHAT_MAX {
            w.push(format!(
                "R-hat of {} is {:.3} (above {RHAT_MAX}): the chains disagree; run longer or check for multiple modes",
                q.name, q.rhat
            ));
        }
        let min_ess = ESS_PER_CHAIN_MIN * chains as f64;
        let ess = q.ess_bulk.min(q.ess_tail);
        if ess < min_ess {
            w.push(format!(
                "effective sample size of {} is {:.0} (below {:.0} = 100 per chain): estimates of it are noisy; draw more",
                q.name, ess, min_ess
            ));
        }
    }
    if divergences > 0 {
        w.push(format!(
            "{divergences} divergent transitions after warm-up: the sampler may have missed part of the posterior; raise the target acceptance or reparameterise"
        ));
    }
    if max_depth_hits > 0 {
        w.push(format!(
            "{max_depth_hits} draws hit the maximum tree depth: trajectories were cut short; raise the max tree depth for better mixing"
        ));
    }
    for (c, &e) in e_bfmi.iter().enumerate() {
        if e < EBFMI_MIN {
            w.push(format!(
                "chain {} has E-BFMI {e:.2} (below {EBFMI_MIN}): the momentum resampling explores the energy poorly; the posterior may have heavy tails",
                c + 1
            ));
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;

    fn iid(chains: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
        (0..chains)
            .map(|c| {
                let mut r = rng::stream(seed, c as u64);
                (0..n).map(|_| rng::normal(&mut r)).collect()
            })
            .collect()
    }

    fn ar1(chains: usize, n: usize, phi: f64, seed: u64) -> Vec<Vec<f64>> {
        (0..chains)
            .map(|c| {
                let mut r = rng::stream(seed, c as u64);
                let mut x = rng::normal(&mut r);
                (0..n)
                    .map(|_| {
                        x = phi * x + (1.0 - phi * phi).sqrt() * rng::normal(&mut r);
                        x
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn normal_quantile_matches_known_values() {
        // Closed-form values to 1e-9.
        assert!(normal_quantile(0.5).abs() < 1e-12);
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-9);
        assert!((normal_quantile(0.001) + 3.090_232_306_167_814).abs() < 1e-9);
    }

    #[test]
    fn iid_draws_have_rhat_one_and_full_ess() {
        let c = iid(4, 1000, 1);
        let r = rhat(&c);
        // For independent draws R-hat − 1 is O(1/n); 1.01 is the usual threshold.
        assert!(r < 1.01, "rhat {r}");
        let e = ess_bulk(&c);
        // ESS of iid draws ≈ 4000; the estimator's relative sd is about 5% here.
        assert!((e - 4000.0).abs() < 600.0, "ess {e}");
        let t = ess_tail(&c);
        assert!(t > 2500.0, "tail ess {t}");
    }

    #[test]
    fn ar1_ess_matches_theory() {
        // For AR(1) with coefficient φ the ESS is S·(1−φ)/(1+φ); φ = 0.8 gives S/9.
        let c = ar1(4, 5000, 0.8, 2);
        let e = ess_mean(&c);
        let expect = 20000.0 / 9.0;
        assert!((e - expect).abs() / expect < 0.15, "ess {e} vs {expect}");
    }

    #[test]
    fn shifted_chain_is_flagged() {
        let mut c = iid(4, 500, 3);
        c[3].iter_mut().for_each(|x| *x += 1.0);
        assert!(rhat(&c) > 1.05);
        let q = QuantitySummary::new("x", &c);
        let w = warnings(&[q], 4, 0, 0, &[1.0; 4]);
        assert!(w.iter().any(|s| s.contains("R-hat of x")), "{w:?}");
    }

    #[test]
    fn scale_difference_is_caught_by_folded_rhat() {
        // Same location, different spread: the bulk R-hat misses it, the folded one does not.
        let mut c = iid(4, 1000, 4);
        c[0].iter_mut().for_each(|x| *x *= 3.0);
        assert!(rhat(&c) > 1.05, "{}", rhat(&c));
    }

    #[test]
    fn ebfmi_of_iid_energies_is_near_two() {
        // For independent energies E[(ΔE)²] = 2 Var(E): E-BFMI ≈ 2.
        let e = iid(1, 4000, 5).remove(0);
        let b = e_bfmi(&e);
        assert!((b - 2.0).abs() < 0.15, "{b}");
        // A slowly moving energy (random walk) has a small E-BFMI.
        let slow = ar1(1, 4000, 0.99, 6).remove(0);
        assert!(e_bfmi(&slow) < 0.1);
    }
}
