//! A posterior represented by equally weighted parameter vectors: one (MLE, MAP), the members of
//! an ensemble, or MCMC draws.

use super::{NamedTensor, Posterior};
use crate::error::{Error, Result};
use crate::model::ModelSpec;
use crate::predict::{ClassPredictive, NoiseFamily, Predictive, RegressionPredictive};
use crate::rng::Rng;
use std::collections::BTreeMap;

/// Equally weighted parameter vectors.
#[derive(Debug, Clone)]
pub struct DrawsPosterior {
    /// The parameter vectors.
    pub draws: Vec<Vec<f64>>,
}

impl DrawsPosterior {
    /// A posterior concentrated on one point (MLE or MAP).
    pub fn point(theta: Vec<f64>) -> Self {
        DrawsPosterior { draws: vec![theta] }
    }

    /// Rebuilds from an artifact's `draws` tensor.
    pub fn from_tensors(t: &BTreeMap<String, NamedTensor>) -> Result<Self> {
        let d = NamedTensor::find(t, "draws")?;
        let ok = d.shape.len() == 2
            && d.shape.iter().all(|&n| n > 0)
            && d.shape[0] <= super::MAX_SAVED_COUNT
            && d.shape[0].checked_mul(d.shape[1]) == Some(d.data.len());
        if !ok {
            return Err(Error::Invalid(format!(
                "'draws' tensor has a bad shape {:?} for {} values; expected [draws ≥ 1, parameters ≥ 1]",
                d.shape,
                d.data.len()
            )));
        }
        Ok(DrawsPosterior {
            draws: d.data.chunks(d.shape[1]).map(<[f64]>::to_vec).collect(),
        })
    }
}

/// Collects network outputs, one set per mixture component (a draw, a member, a dropout pass),
/// into a `Predictive` (standardised units).
#[derive(Debug)]
pub struct PredictiveBuilder<'a> {
    spec: &'a ModelSpec,
    rows: usize,
    /// Per target: component means, `components × rows`.
    means: Vec<Vec<Vec<f64>>>,
    /// Per target: component noise variances.
    noise: Vec<Vec<Vec<f64>>>,
    members: Vec<Vec<f64>>,
}

impl<'a> PredictiveBuilder<'a> {
    /// An empty predictive for `rows` rows of the model `spec`.
    pub fn new(spec: &'a ModelSpec, rows: usize) -> Self {
        let kt = spec.targets();
        PredictiveBuilder {
            spec,
            rows,
            means: vec![Vec::new(); kt],
            noise: vec![Vec::new(); kt],
            members: Vec::new(),
        }
    }

    /// Adds one component: the network output (`rows × outputs`) and log σ (one target).
    pub fn push(&mut self, out: &[f64], log_sigma: f64) -> Result<()> {
        self.push_targets(out, &[log_sigma])
    }

    /// Adds one component: the network output (`rows × outputs`) and log σ per target (see
    /// [`ModelSpec::log_sigmas`]).
    pub fn push_targets(&mut self, out: &[f64], log_sigmas: &[f64]) -> Result<()> {
        let (spec, rows) = (self.spec, self.rows);
        let lik = &spec.likelihood;
        let k = spec.net.outputs();
        let classes = lik.classes();
        if let Some(i) = out.iter().position(|v| !v.is_finite()) {
            return Err(Error::Numeric(format!(
                "network output at row {} is {} (not finite); the parameters may have diverged",
                i / k + 1,
                out[i]
            )));
        }
        if classes > 0 {
            let mut p = vec![0.0; rows * classes];
            for n in 0..rows {
                lik.probs(
                    &out[n * k..(n + 1) * k],
                    &mut p[n * classes..(n + 1) * classes],
                );
            }
            self.members.push(p);
            return Ok(());
        }
        let per = lik.outputs();
        for (t, &log_sigma) in log_sigmas.iter().enumerate().take(self.means.len()) {
            let (m, v): (Vec<f64>, Vec<f64>) = (0..rows)
                .map(|n| lik.mean_var(&out[n * k + t * per..n * k + (t + 1) * per], log_sigma))
                .unzip();
            self.means[t].push(m);
            // For Student-t the component keeps σ² (its family adds the df factor).
            let v = match lik {
                crate::likelihood::Likelihood::StudentT { noise: fixed, .. } => {
                    let s2 = fixed.map_or((2.0 * log_sigma).exp(), |s| s * s);
                    vec![s2; rows]
                }
                _ => v,
            };
            self.noise[t].push(v);
        }
        Ok(())
    }

    /// The predictive of the components pushed so far.
    pub fn finish(self) -> Predictive {
        let lik = &self.spec.likelihood;
        if lik.classes() > 0 {
            return Predictive::Classification(ClassPredictive {
                rows: self.rows,
                classes: lik.classes(),
                members: self.members,
                mean: None,
            });
        }
        let family = match lik {
            crate::likelihood::Likelihood::StudentT { df, .. } => NoiseFamily::StudentT(*df),
            crate::likelihood::Likelihood::Poisson => NoiseFamily::Poisson,
            _ => NoiseFamily::Gaussian,
        };
        let rows = self.rows;
        let mut per: Vec<RegressionPredictive> = self
            .means
            .into_iter()
            .zip(self.noise)
            .map(|(means, noise_var)| RegressionPredictive {
                rows,
                family,
                func_var: vec![vec![0.0; rows]; means.len()],
                means,
                noise_var,
            })
            .collect();
        if per.len() == 1 {
            if let Some(r) = per.pop() {
                return Predictive::Regression(r);
            }
        }
        Predictive::MultiRegression(per)
    }
}

/// Predictive of an equal-weight set of parameter vectors (standardised units).
pub fn predict_draws(
    spec: &ModelSpec,
    draws: &[Vec<f64>],
    x: &[f64],
    rows: usize,
) -> Result<Predictive> {
    crate::resources::check(
        &crate::resources::Need::predictive(spec, rows, draws.len()),
        None,
    )?;
    // All draws' outputs in one batched pass (parallel across draws, one workspace per worker).
    let outs = spec.net.predict_many(draws, x, rows);
    let per = rows * spec.net.outputs();
    let mut b = PredictiveBuilder::new(spec, rows);
    for (s, theta) in draws.iter().enumerate() {
        b.push_targets(&outs[s * per..(s + 1) * per], &spec.log_sigmas(theta))?;
    }
    Ok(b.finish())
}

impl Posterior for DrawsPosterior {
    fn kind(&self) -> &'static str {
        "draws"
    }

    fn predict(
        &self,
        spec: &ModelSpec,
        x: &[f64],
        rows: usize,
        _rng: &mut Rng,
    ) -> Result<Predictive> {
        predict_draws(spec, &self.draws, x, rows)
    }

    fn tensors(&self) -> Vec<NamedTensor> {
        let d = self.draws.first().map_or(0, Vec::len);
        vec![NamedTensor {
            name: "draws".into(),
            shape: vec![self.draws.len(), d],
            data: self.draws.concat(),
        }]
    }

    fn marginal_variances(&self) -> Option<Vec<f64>> {
        if self.draws.len() < 2 {
            return None;
        }
        let c = self.center();
        let s = (self.draws.len() - 1) as f64;
        let mut v = vec![0.0; c.len()];
        for d in &self.draws {
            for ((vi, di), ci) in v.iter_mut().zip(d).zip(&c) {
                *vi += (di - ci) * (di - ci) / s;
            }
        }
        Some(v)
    }

    fn center(&self) -> Vec<f64> {
        let s = self.draws.len() as f64;
        let mut c = vec![0.0; self.draws.first().map_or(0, Vec::len)];
        for d in &self.draws {
            for (ci, di) in c.iter_mut().zip(d) {
                *ci += di / s;
            }
        }
        c
    }
}
