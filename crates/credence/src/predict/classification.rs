//! Classification predictive: class probabilities averaged over draws, with entropy and
//! mutual information (epistemic uncertainty).

use crate::error::{Error, Result};
use crate::likelihood::Likelihood;
use crate::rng::{self, Rng};

/// Class probabilities per component and row.
#[derive(Debug, Clone)]
pub struct ClassPredictive {
    /// Number of rows.
    pub rows: usize,
    /// Number of classes.
    pub classes: usize,
    /// Per-component probabilities, each `rows × classes`: one per parameter draw, or per draw
    /// of the linearised logits (Laplace GLM predictive).
    pub members: Vec<Vec<f64>>,
    /// Closed-form mean probabilities (`rows × classes`) that replace the members' average
    /// where a method has a better estimate than its draws (the probit approximation of the
    /// Laplace GLM predictive); `None`: the members' average.
    pub mean: Option<Vec<f64>>,
}

fn entropy(p: &[f64]) -> f64 {
    -p.iter()
        .filter(|&&v| v > 0.0)
        .map(|v| v * v.ln())
        .sum::<f64>()
}

impl ClassPredictive {
    /// The members' average probabilities, `rows × classes`.
    fn member_average(&self) -> Vec<f64> {
        let s = self.members.len() as f64;
        let mut out = vec![0.0; self.rows * self.classes];
        for m in &self.members {
            for (o, v) in out.iter_mut().zip(m) {
                *o += v / s;
            }
        }
        out
    }

    /// Mean class probabilities, `rows × classes` (the closed form where there is one).
    pub fn probs(&self) -> Vec<f64> {
        match &self.mean {
            Some(m) => m.clone(),
            None => self.member_average(),
        }
    }

    /// Most probable class per row.
    pub fn predicted(&self) -> Vec<usize> {
        let p = self.probs();
        (0..self.rows)
            .map(|n| {
                let row = &p[n * self.classes..(n + 1) * self.classes];
                (0..self.classes).fold(0, |b, k| if row[k] > row[b] { k } else { b })
            })
            .collect()
    }

    /// Predictive entropy per row (total uncertainty), of [`ClassPredictive::probs`].
    pub fn entropy(&self) -> Vec<f64> {
        let p = self.probs();
        (0..self.rows)
            .map(|n| entropy(&p[n * self.classes..(n + 1) * self.classes]))
            .collect()
    }

    /// Expected entropy per row over the members (aleatoric part).
    pub fn expected_entropy(&self) -> Vec<f64> {
        let s = self.members.len() as f64;
        (0..self.rows)
            .map(|n| {
                self.members
                    .iter()
                    .map(|m| entropy(&m[n * self.classes..(n + 1) * self.classes]))
                    .sum::<f64>()
                    / s
            })
            .collect()
    }

    /// Mutual information between label and parameters per row (epistemic part): entropy of
    /// the members' average minus their mean entropy, both from the same members (so with a
    /// closed-form mean it need not equal `entropy − expected_entropy` exactly).
    pub fn mutual_information(&self) -> Vec<f64> {
        let p = self.member_average();
        (0..self.rows)
            .map(|n| entropy(&p[n * self.classes..(n + 1) * self.classes]))
            .zip(self.expected_entropy())
            .map(|(h, e)| (h - e).max(0.0))
            .collect()
    }
}

/// Lower factor `L` with `L Lᵀ = v` of a positive semi-definite `n × n` matrix (row-major);
/// pivots at or below round-off give a zero column (a direction without spread).
fn psd_factor(v: &[f64], n: usize) -> Vec<f64> {
    let scale = (0..n).map(|i| v[i * n + i].abs()).fold(0.0, f64::max);
    let tiny = 1e-12 * scale.max(f64::MIN_POSITIVE);
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let d = v[j * n + j] - (0..j).map(|k| l[j * n + k] * l[j * n + k]).sum::<f64>();
        if d <= tiny {
            continue;
        }
        let dj = d.sqrt();
        l[j * n + j] = dj;
        for i in j + 1..n {
            let s = v[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            l[i * n + j] = s / dj;
        }
    }
    l
}

/// Members drawn from a Gaussian over the logits per row: `draws` samples of N(f_n, V_n),
/// `f` being `rows × outputs` and `v` `rows × outputs × outputs`, each pushed through the
/// likelihood's link. The rows are sampled in order from `r`, so the result is a function of
/// the stream.
pub fn logit_gaussian_members(
    lik: &Likelihood,
    f: &[f64],
    v: &[f64],
    rows: usize,
    draws: usize,
    r: &mut Rng,
) -> Result<Vec<Vec<f64>>> {
    let k = lik.classes();
    if k == 0 {
        return Err(Error::Invalid(
            "logit draws need a classification likelihood".into(),
        ));
    }
    let kk = lik.outputs();
    if f.len() != rows * kk || v.len() != rows * kk * kk {
        return Err(Error::Invalid(format!(
            "logit draws: {} means and {} covariance entries for {rows} rows of {kk} outputs",
            f.len(),
            v.len()
        )));
    }
    let mut members = vec![vec![0.0; rows * k]; draws];
    let (mut z, mut logits) = (vec![0.0; kk], vec![0.0; kk]);
    for n in 0..rows {
        let l = psd_factor(&v[n * kk * kk..(n + 1) * kk * kk], kk);
        let fn_ = &f[n * kk..(n + 1) * kk];
        for m in members.iter_mut() {
            z.iter_mut().for_each(|zi| *zi = rng::normal(r));
            for a in 0..kk {
                logits[a] = fn_[a] + (0..=a).map(|b| l[a * kk + b] * z[b]).sum::<f64>();
            }
            lik.probs(&logits, &mut m[n * k..(n + 1) * k]);
        }
    }
    Ok(members)
}
