//! Calibration: probability integral transform, interval coverage, CRPS, reliability tables and
//! accuracy–rejection curves.

use crate::predict::{NoiseFamily, RegressionPredictive};
use serde::{Deserialize, Serialize};

/// Nominal levels of the central intervals whose coverage is reported.
pub const COVERAGE_LEVELS: [f64; 4] = [0.5, 0.8, 0.9, 0.95];

/// Predictive CDF at each target (PIT values; uniform on [0, 1] when calibrated).
pub fn pit(p: &RegressionPredictive, y: &[f64]) -> Vec<f64> {
    (0..p.rows).map(|n| p.cdf(n, y[n])).collect()
}

fn std_normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() * 0.398_942_280_401_432_7
}

fn std_normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z * std::f64::consts::FRAC_1_SQRT_2)
}

/// E|X| for X ~ N(m, v).
fn abs_moment(m: f64, v: f64) -> f64 {
    let s = v.max(0.0).sqrt();
    if s == 0.0 {
        return m.abs();
    }
    let z = m / s;
    2.0 * s * std_normal_pdf(z) + m * (2.0 * std_normal_cdf(z) - 1.0)
}

/// CRPS per row of an equal-weight Gaussian mixture, in closed form:
/// CRPS = Σᵢ wᵢ E|Xᵢ − y| − ½ Σᵢⱼ wᵢwⱼ E|Xᵢ − Xⱼ'| (Grimit et al. 2006). Components of other
/// families use a Gaussian of the same variance.
pub fn crps_gaussian_mixture(p: &RegressionPredictive, y: &[f64]) -> Vec<f64> {
    let c = p.components();
    let w = 1.0 / c as f64;
    let var = |k: usize, n: usize| -> f64 {
        let nv = match p.family {
            NoiseFamily::StudentT(df) if df > 2.0 => p.noise_var[k][n] * df / (df - 2.0),
            _ => p.noise_var[k][n],
        };
        nv + p.func_var[k][n]
    };
    (0..p.rows)
        .map(|n| {
            let mut a = 0.0;
            let mut b = 0.0;
            for i in 0..c {
                let (mi, vi) = (p.means[i][n], var(i, n));
                a += w * abs_moment(y[n] - mi, vi);
                b += w * w * abs_moment(0.0, 2.0 * vi);
                for j in (i + 1)..c {
                    b += 2.0 * w * w * abs_moment(mi - p.means[j][n], vi + var(j, n));
                }
            }
            a - 0.5 * b
        })
        .collect()
}

/// One bin of a reliability table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge of the confidence bin.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Rows whose top-class probability falls in the bin.
    pub count: usize,
    /// Mean top-class probability of those rows (0 when empty).
    pub confidence: f64,
    /// Share of those rows whose top class is the label (0 when empty).
    pub accuracy: f64,
}

/// Reliability table of the top-class confidence over `bins` equal-width bins on [0, 1].
pub fn reliability(probs: &[f64], k: usize, labels: &[usize], bins: usize) -> Vec<ReliabilityBin> {
    let mut count = vec![0usize; bins];
    let mut conf = vec![0.0; bins];
    let mut hit = vec![0.0; bins];
    for (n, &label) in labels.iter().enumerate() {
        let row = &probs[n * k..(n + 1) * k];
        let top = (0..k).fold(0, |b, j| if row[j] > row[b] { j } else { b });
        let c = row[top];
        let b = ((c * bins as f64) as usize).min(bins - 1);
        count[b] += 1;
        conf[b] += c;
        hit[b] += f64::from(u8::from(top == label));
    }
    (0..bins)
        .map(|b| {
            let m = count[b].max(1) as f64;
            ReliabilityBin {
                lo: b as f64 / bins as f64,
                hi: (b + 1) as f64 / bins as f64,
                count: count[b],
                confidence: conf[b] / m,
                accuracy: hit[b] / m,
            }
        })
        .collect()
}

/// Accuracy after rejecting the most uncertain rows (by `uncertainty`, highest first), for
/// rejected shares 0, 0.1, …, 0.9.
pub fn accuracy_rejection(
    predicted: &[usize],
    labels: &[usize],
    uncertainty: &[f64],
) -> Vec<(f64, f64)> {
    let n = labels.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| uncertainty[a].total_cmp(&uncertainty[b]));
    (0..10)
        .map(|j| {
            let r = j as f64 / 10.0;
            let keep = (((1.0 - r) * n as f64).round() as usize).max(1).min(n);
            let acc = order[..keep]
                .iter()
                .filter(|&&i| predicted[i] == labels[i])
                .count() as f64
                / keep as f64;
            (r, acc)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(mean: f64, var: f64) -> RegressionPredictive {
        RegressionPredictive {
            rows: 1,
            family: NoiseFamily::Gaussian,
            means: vec![vec![mean]],
            noise_var: vec![vec![var]],
            func_var: vec![vec![0.0]],
        }
    }

    #[test]
    fn crps_of_a_gaussian_matches_the_closed_form() {
        // CRPS(N(μ, σ²), y) = σ[z(2Φ(z) − 1) + 2φ(z) − 1/√π], z = (y − μ)/σ (Gneiting & Raftery 2007).
        let (mu, s, y) = (0.3, 1.7, 2.0);
        let z = (y - mu) / s;
        let exact = s
            * (z * (2.0 * std_normal_cdf(z) - 1.0) + 2.0 * std_normal_pdf(z)
                - 1.0 / std::f64::consts::PI.sqrt());
        let got = crps_gaussian_mixture(&single(mu, s * s), &[y])[0];
        assert!((got - exact).abs() < 1e-12, "{got} vs {exact}");
        // A two-component mixture with identical components equals the single Gaussian.
        let mut p = single(mu, s * s);
        p.means.push(vec![mu]);
        p.noise_var.push(vec![s * s]);
        p.func_var.push(vec![0.0]);
        let got2 = crps_gaussian_mixture(&p, &[y])[0];
        assert!((got2 - exact).abs() < 1e-12, "{got2} vs {exact}");
    }

    #[test]
    fn reliability_of_a_perfectly_confident_classifier() {
        let probs = [1.0, 0.0, 0.0, 1.0, 0.6, 0.4];
        let t = reliability(&probs, 2, &[0, 1, 1], 10);
        assert_eq!(t[9].count, 2);
        assert_eq!(t[9].accuracy, 1.0);
        assert_eq!(t[6].count, 1);
        assert_eq!(t[6].accuracy, 0.0);
        let ar = accuracy_rejection(&[0, 1, 0], &[0, 1, 1], &[0.0, 0.1, 0.9]);
        assert!((ar[0].1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(ar[4].1, 1.0);
    }
}
