//! SWAG (Maddox et al. 2019) and MultiSWAG (Wilson & Izmailov 2020).
//!
//! SWAG trains to the MAP as `map` does, then keeps optimising at a constant (or cyclical)
//! learning rate and, after each epoch past a burn-in, records the iterate θ_i in running
//! moments: the mean θ̄ = (1/n)Σθ_i, the diagonal second moment (1/n)Σθ_i² and the last K
//! deviations D_i = θ_i − θ̄_(i) (from the running mean at the time, as the authors' code does).
//! The posterior is N(θ̄, ½(Σ_diag + DDᵀ/(K − 1))) with Σ_diag = (1/n)Σθ_i² − θ̄²; prediction
//! averages the network over S draws from it. MultiSWAG runs M such members from independent
//! initialisations (the ensemble's member seeds), in parallel, and mixes their draws.

use super::ensemble::member_seed;
use super::point::bound;
use super::settings::Settings;
use super::{predict_draws, train_point, NamedTensor, PointFit, Posterior, Progress, Silent};
use crate::config::TrainConfig;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::ModelSpec;
use crate::predict::Predictive;
use crate::prior::ResolvedPriors;
use crate::rng::{self, Rng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

/// The `[inference]` keys SWAG reads.
const KEYS: &[&str] = &[
    "epochs",
    "lr",
    "schedule",
    "optimizer",
    "rank",
    "samples",
    "members",
    "burn_in",
];

/// The learning-rate schedule of the collection phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SwagSchedule {
    /// The same rate throughout; an iterate is collected after every epoch.
    Constant,
    /// Each epoch is one cycle whose rate falls from `lr` to `lr`/100 (cosine); the iterate at
    /// the end of the cycle (the lowest rate) is collected.
    Cyclical,
}

/// The optimiser of the collection phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SwagOptimizer {
    /// Adam on the minibatch log joint (as the MAP trains), restarted at the MAP.
    Adam,
    /// Plain SGD on the minibatch log joint per row: θ ← θ + lr·∇ log p / N.
    Sgd,
}

/// Settings of a SWAG or MultiSWAG fit (`[inference]` keys in brackets).
#[derive(Debug, Clone, Serialize)]
pub struct SwagOptions {
    /// Epochs of the collection phase after the MAP [`epochs`, 40].
    pub epochs: usize,
    /// Epochs of the collection phase before the first collected iterate [`burn_in`, 10].
    pub burn_in: usize,
    /// Learning rate of the collection phase [`lr`, the training learning rate].
    pub lr: f64,
    /// Constant or cyclical [`schedule`, "constant"].
    pub schedule: SwagSchedule,
    /// Adam or SGD [`optimizer`, "adam"].
    pub optimizer: SwagOptimizer,
    /// Deviations kept for the low-rank part, K [`rank`, 20].
    pub rank: usize,
    /// Posterior draws per member at prediction, S [`samples`, 30].
    pub samples: usize,
    /// Members M: 1 for SWAG [`members`, MultiSWAG 5].
    pub members: usize,
}

impl SwagOptions {
    /// Reads the options from the `[inference]` table; `multi` selects MultiSWAG (only it
    /// takes `members`). Unknown keys are errors.
    pub fn from_settings(s: Settings<'_>, cfg: &TrainConfig, multi: bool) -> Result<Self> {
        if let Some(k) = s.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(s.error(format!(
                "inference.{k} is not a setting of SWAG; expected one of: {}",
                KEYS.join(", ")
            )));
        }
        if !multi && s.has("members") {
            return Err(s.error(
                "inference.members is a setting of multiswag (swag has one member)".into(),
            ));
        }
        let epochs = s.usize("epochs", 40)?;
        let burn_in = s.usize("burn_in", 10)?;
        if epochs <= burn_in {
            return Err(s.error(format!(
                "inference.epochs ({epochs}) must exceed inference.burn_in ({burn_in}): no iterate would be collected"
            )));
        }
        let schedule = match s.string("schedule", "constant")?.as_str() {
            "constant" => SwagSchedule::Constant,
            "cyclical" => SwagSchedule::Cyclical,
            other => {
                return Err(s.error(format!(
                    "inference.schedule must be \"constant\" or \"cyclical\", found \"{other}\""
                )))
            }
        };
        let optimizer = match s.string("optimizer", "adam")?.as_str() {
            "adam" => SwagOptimizer::Adam,
            "sgd" => SwagOptimizer::Sgd,
            other => {
                return Err(s.error(format!(
                    "inference.optimizer must be \"adam\" or \"sgd\", found \"{other}\""
                )))
            }
        };
        let rank = s.usize("rank", 20)?;
        let samples = s.usize("samples", 30)?;
        if samples == 0 {
            return Err(s.error("inference.samples must be at least 1".into()));
        }
        let members = if multi { s.usize("members", 5)? } else { 1 };
        if members == 0 {
            return Err(s.error("inference.members must be at least 1".into()));
        }
        Ok(SwagOptions {
            epochs,
            burn_in,
            lr: s.positive("lr", cfg.learning_rate)?,
            schedule,
            optimizer,
            rank,
            samples,
            members,
        })
    }
}

/// The running moments of the collected iterates: mean, diagonal second moment and the last K
/// deviations from the running mean.
#[derive(Debug, Clone)]
pub struct SwagMoments {
    n: usize,
    mean: Vec<f64>,
    sq_mean: Vec<f64>,
    deviations: VecDeque<Vec<f64>>,
    rank: usize,
}

impl SwagMoments {
    /// No iterate yet, for `dim` parameters, keeping `rank` deviations.
    pub fn new(dim: usize, rank: usize) -> Self {
        SwagMoments {
            n: 0,
            mean: vec![0.0; dim],
            sq_mean: vec![0.0; dim],
            deviations: VecDeque::with_capacity(rank + 1),
            rank,
        }
    }

    /// Records one iterate: θ̄ ← θ̄ + (θ − θ̄)/n, the same for θ², then the deviation θ − θ̄.
    pub fn collect(&mut self, theta: &[f64]) {
        self.n += 1;
        let w = 1.0 / self.n as f64;
        for ((m, s), &t) in self.mean.iter_mut().zip(&mut self.sq_mean).zip(theta) {
            *m += (t - *m) * w;
            *s += (t * t - *s) * w;
        }
        if self.rank > 0 {
            self.deviations
                .push_back(theta.iter().zip(&self.mean).map(|(t, m)| t - m).collect());
            if self.deviations.len() > self.rank {
                self.deviations.pop_front();
            }
        }
    }

    /// Iterates collected.
    pub fn count(&self) -> usize {
        self.n
    }

    /// The Gaussian of these moments.
    pub fn gaussian(&self) -> SwagGaussian {
        SwagGaussian {
            mean: self.mean.clone(),
            sq_mean: self.sq_mean.clone(),
            deviations: self.deviations.iter().cloned().collect(),
        }
    }
}

/// One SWAG Gaussian: N(θ̄, ½(Σ_diag + DDᵀ/(K − 1))).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SwagGaussian {
    /// θ̄.
    pub mean: Vec<f64>,
    /// Diagonal second moment (1/n)Σθ_i².
    pub sq_mean: Vec<f64>,
    /// The last K deviations D_i = θ_i − θ̄_(i) (columns of D), each of the parameters' length.
    pub deviations: Vec<Vec<f64>>,
}

impl SwagGaussian {
    /// Σ_diag = max((1/n)Σθ² − θ̄², 0).
    pub fn diag_variance(&self) -> Vec<f64> {
        self.mean
            .iter()
            .zip(&self.sq_mean)
            .map(|(m, s)| (s - m * m).max(0.0))
            .collect()
    }

    /// Diagonal of ½(Σ_diag + DDᵀ/(K − 1)) (the low-rank part only when K ≥ 2).
    pub fn marginal_variances(&self) -> Vec<f64> {
        let mut v = self.diag_variance();
        let k = self.deviations.len();
        if k >= 2 {
            for d in &self.deviations {
                for (vi, di) in v.iter_mut().zip(d) {
                    *vi += di * di / (k - 1) as f64;
                }
            }
        }
        v.iter_mut().for_each(|x| *x *= 0.5);
        v
    }

    /// One draw θ̄ + √(Σ_diag/2)·z₁ + D z₂/√(2(K − 1)), z₁, z₂ standard normal.
    pub fn sample(&self, r: &mut Rng) -> Vec<f64> {
        let diag = self.diag_variance();
        let mut theta: Vec<f64> = self
            .mean
            .iter()
            .zip(&diag)
            .map(|(m, v)| m + (0.5 * v).sqrt() * rng::normal(r))
            .collect();
        let k = self.deviations.len();
        if k >= 2 {
            let c = 1.0 / (2.0 * (k - 1) as f64).sqrt();
            for d in &self.deviations {
                let z = c * rng::normal(r);
                theta.iter_mut().zip(d).for_each(|(t, di)| *t += z * di);
            }
        }
        theta
    }
}

/// A SWAG (one member) or MultiSWAG posterior: the artifact kind `swag` (`mean` and `sq_mean`
/// M × P, `deviations` M × K × P, `samples`).
#[derive(Debug, Clone, PartialEq)]
pub struct SwagPosterior {
    /// The members' Gaussians.
    pub members: Vec<SwagGaussian>,
    /// Draws per member at prediction.
    pub samples: usize,
}

impl SwagPosterior {
    /// Rebuilds from an artifact's tensors.
    pub fn from_tensors(t: &BTreeMap<String, NamedTensor>) -> Result<Self> {
        let mean = NamedTensor::find(t, "mean")?;
        let sq = NamedTensor::find(t, "sq_mean")?;
        let dev = NamedTensor::find(t, "deviations")?;
        let samples = NamedTensor::find(t, "samples")?;
        let bad = |name: &str, shape: &[usize]| {
            Error::Invalid(format!("'{name}' tensor has a bad shape {shape:?}"))
        };
        if mean.shape.len() != 2 || mean.shape[0] * mean.shape[1] != mean.data.len() {
            return Err(bad("mean", &mean.shape));
        }
        let (m, p) = (mean.shape[0], mean.shape[1]);
        if sq.shape != mean.shape || sq.data.len() != m * p {
            return Err(bad("sq_mean", &sq.shape));
        }
        if dev.shape.len() != 3
            || dev.shape[0] != m
            || dev.shape[2] != p
            || dev.data.len() != m * dev.shape[1] * p
        {
            return Err(bad("deviations", &dev.shape));
        }
        let k = dev.shape[1];
        let s = samples.data.first().copied().unwrap_or(0.0);
        if !(s >= 1.0 && s.fract() == 0.0) {
            return Err(Error::Invalid(format!(
                "'samples' must be a positive integer, found {s}"
            )));
        }
        let members = (0..m)
            .map(|i| SwagGaussian {
                mean: mean.data[i * p..(i + 1) * p].to_vec(),
                sq_mean: sq.data[i * p..(i + 1) * p].to_vec(),
                deviations: (0..k)
                    .map(|j| dev.data[(i * k + j) * p..(i * k + j + 1) * p].to_vec())
                    .collect(),
            })
            .collect();
        Ok(SwagPosterior {
            members,
            samples: s as usize,
        })
    }

    /// The S draws of every member, in member order.
    pub fn draws(&self, r: &mut Rng) -> Vec<Vec<f64>> {
        self.members
            .iter()
            .flat_map(|g| (0..self.samples).map(|_| g.sample(r)).collect::<Vec<_>>())
            .collect()
    }
}

impl Posterior for SwagPosterior {
    fn kind(&self) -> &'static str {
        "swag"
    }

    fn predict(&self, spec: &ModelSpec, x: &[f64], rows: usize, r: &mut Rng) -> Result<Predictive> {
        predict_draws(spec, &self.draws(r), x, rows)
    }

    fn tensors(&self) -> Vec<NamedTensor> {
        let m = self.members.len();
        let p = self.members.first().map_or(0, |g| g.mean.len());
        let k = self.members.first().map_or(0, |g| g.deviations.len());
        let cat = |f: &dyn Fn(&SwagGaussian) -> Vec<f64>| -> Vec<f64> {
            self.members.iter().flat_map(f).collect()
        };
        vec![
            NamedTensor {
                name: "mean".into(),
                shape: vec![m, p],
                data: cat(&|g| g.mean.clone()),
            },
            NamedTensor {
                name: "sq_mean".into(),
                shape: vec![m, p],
                data: cat(&|g| g.sq_mean.clone()),
            },
            NamedTensor {
                name: "deviations".into(),
                shape: vec![m, k, p],
                data: cat(&|g| g.deviations.concat()),
            },
            NamedTensor::scalar("samples", self.samples as f64),
        ]
    }

    /// The mean of the members' means.
    fn center(&self) -> Vec<f64> {
        let m = self.members.len().max(1) as f64;
        let p = self.members.first().map_or(0, |g| g.mean.len());
        let mut c = vec![0.0; p];
        for g in &self.members {
            c.iter_mut().zip(&g.mean).for_each(|(ci, v)| *ci += v / m);
        }
        c
    }

    /// Variance of the mixture of the members' Gaussians, per parameter.
    fn marginal_variances(&self) -> Option<Vec<f64>> {
        let center = self.center();
        let m = self.members.len().max(1) as f64;
        let mut v = vec![0.0; center.len()];
        for g in &self.members {
            for ((vi, mv), (mi, ci)) in v
                .iter_mut()
                .zip(g.marginal_variances())
                .zip(g.mean.iter().zip(&center))
            {
                *vi += (mv + (mi - ci) * (mi - ci)) / m;
            }
        }
        Some(v)
    }
}

/// What one SWAG member's fit produced, stored in the fit record (the Gaussian travels apart:
/// see [`crate::fit::UnitPart::SwagMember`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwagMemberFit {
    /// The MAP training run.
    pub map: PointFit,
    /// Negative minibatch log joint per collection epoch.
    pub trace: Vec<f64>,
    /// Iterates collected.
    pub collected: usize,
    /// The member's Gaussian.
    #[serde(skip)]
    pub gaussian: SwagGaussian,
}

/// What a SWAG or MultiSWAG fit produced, stored in the fit record.
#[derive(Debug, Clone, Serialize)]
pub struct SwagFit {
    /// Per member.
    pub members: Vec<SwagMemberFit>,
    /// Settings used.
    pub options: SwagOptions,
}

impl SwagFit {
    /// The posterior of the fit.
    pub fn posterior(&self) -> SwagPosterior {
        SwagPosterior {
            members: self.members.iter().map(|m| m.gaussian.clone()).collect(),
            samples: self.options.samples,
        }
    }
}

/// The collection phase from the MAP `theta`: `opts.epochs` epochs at the scheduled rate on
/// standardised `data`, moments from every epoch past the burn-in.
#[allow(clippy::too_many_arguments)]
pub fn collect_iterates(
    spec: &ModelSpec,
    priors: Option<&ResolvedPriors>,
    data: &Dataset,
    cfg: &TrainConfig,
    opts: &SwagOptions,
    mut theta: Vec<f64>,
    seed: u64,
    progress: &dyn Progress,
) -> Result<(SwagMoments, Vec<f64>)> {
    let mut model = bound(spec, priors, data, cfg)?;
    let n = model.rows();
    let bs = if cfg.batch_size == 0 {
        n
    } else {
        cfg.batch_size.min(n)
    };
    let batches = n.div_ceil(bs.max(1)).max(1);
    let mut adam = crate::optim::Adam::new(theta.len(), opts.lr);
    let mut grad = vec![0.0; theta.len()];
    let mut r = rng::stream(seed, 0x5a9);
    let mut moments = SwagMoments::new(theta.len(), opts.rank);
    let mut trace = Vec::with_capacity(opts.epochs);
    progress.start(opts.epochs as u64, "SWAG");
    for epoch in 0..opts.epochs {
        let perm = rng::permutation(&mut r, n);
        let mut total = 0.0;
        for (b, chunk) in perm.chunks(bs).enumerate() {
            let lr = match opts.schedule {
                SwagSchedule::Constant => opts.lr,
                SwagSchedule::Cyclical => {
                    let t = b as f64 / (batches - 1).max(1) as f64;
                    let low = 0.01 * opts.lr;
                    low + 0.5 * (opts.lr - low) * (1.0 + (std::f64::consts::PI * t).cos())
                }
            };
            let lp = model
                .logp_grad_batch(&theta, chunk, &mut grad)
                .map_err(|e| {
                    Error::Numeric(format!(
                        "SWAG diverged at collection epoch {} ({e}); try a smaller inference.lr (now {})",
                        epoch + 1,
                        opts.lr
                    ))
                })?;
            match opts.optimizer {
                SwagOptimizer::Adam => {
                    adam.lr = lr;
                    adam.step(&mut theta, &grad);
                }
                SwagOptimizer::Sgd => {
                    let c = lr / n as f64;
                    theta.iter_mut().zip(&grad).for_each(|(t, g)| *t += c * g);
                }
            }
            total -= lp;
        }
        if let Some(i) = theta.iter().position(|v| !v.is_finite()) {
            return Err(Error::Numeric(format!(
                "SWAG diverged at collection epoch {}: parameter {i} is not finite; try a smaller inference.lr (now {})",
                epoch + 1,
                opts.lr
            )));
        }
        trace.push(total / batches as f64);
        if epoch >= opts.burn_in {
            moments.collect(&theta);
        }
        progress.tick(epoch as u64 + 1, "");
    }
    progress.finish();
    Ok((moments, trace))
}

/// Member `m` of a SWAG fit: the MAP (seeded by `seed` itself for one member, so that it is the
/// `map` fit; by the ensemble's member seeds for MultiSWAG), then the collection phase.
#[allow(clippy::too_many_arguments)]
pub fn fit_swag_member(
    spec: &ModelSpec,
    priors: Option<&ResolvedPriors>,
    data: &Dataset,
    cfg: &TrainConfig,
    opts: &SwagOptions,
    seed: u64,
    m: usize,
    progress: &dyn Progress,
) -> Result<SwagMemberFit> {
    let s = if opts.members == 1 {
        seed
    } else {
        member_seed(seed, m)
    };
    let map = train_point(spec, priors, data, cfg, s, progress)?;
    let (moments, trace) = collect_iterates(
        spec,
        priors,
        data,
        cfg,
        opts,
        map.theta.clone(),
        s,
        progress,
    )
    .map_err(|e| match e {
        Error::Numeric(msg) if opts.members > 1 => {
            Error::Numeric(format!("member {}: {msg}", m + 1))
        }
        other => other,
    })?;
    Ok(SwagMemberFit {
        map,
        trace,
        collected: moments.count(),
        gaussian: moments.gaussian(),
    })
}

/// The fit of members run apart (by [`fit_swag_member`], in member order): the fit
/// [`fit_swag`] gives on the same arguments.
pub fn assemble(members: Vec<SwagMemberFit>, opts: &SwagOptions) -> SwagFit {
    SwagFit {
        members,
        options: opts.clone(),
    }
}

/// Fits SWAG (one member) or MultiSWAG (members in parallel on rayon's pool).
pub fn fit_swag(
    spec: &ModelSpec,
    priors: Option<&ResolvedPriors>,
    data: &Dataset,
    cfg: &TrainConfig,
    opts: &SwagOptions,
    seed: u64,
    progress: &dyn Progress,
) -> Result<SwagFit> {
    let members = if opts.members == 1 {
        vec![fit_swag_member(
            spec, priors, data, cfg, opts, seed, 0, progress,
        )?]
    } else {
        let done = AtomicU64::new(0);
        progress.start(opts.members as u64, "MultiSWAG members");
        let fits = (0..opts.members)
            .into_par_iter()
            .map(|m| -> Result<SwagMemberFit> {
                let f = fit_swag_member(spec, priors, data, cfg, opts, seed, m, &Silent)?;
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress.tick(d, &format!("member {} done", m + 1));
                Ok(f)
            })
            .collect::<Result<Vec<_>>>()?;
        progress.finish();
        fits
    };
    Ok(assemble(members, opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The collector against a hand computation on a known sequence of iterates.
    #[test]
    fn moments_match_a_hand_computation() {
        let iterates = [
            vec![1.0, -2.0],
            vec![3.0, 0.0],
            vec![2.0, 4.0],
            vec![6.0, 2.0],
        ];
        let mut m = SwagMoments::new(2, 3);
        for t in &iterates {
            m.collect(t);
        }
        let g = m.gaussian();
        assert_eq!(m.count(), 4);
        // mean (1+3+2+6)/4 = 3, (−2+0+4+2)/4 = 1
        assert!((g.mean[0] - 3.0).abs() < 1e-12 && (g.mean[1] - 1.0).abs() < 1e-12);
        // second moments (1+9+4+36)/4 = 12.5, (4+0+16+4)/4 = 6; variances 3.5, 5
        assert!((g.sq_mean[0] - 12.5).abs() < 1e-12 && (g.sq_mean[1] - 6.0).abs() < 1e-12);
        let d = g.diag_variance();
        assert!((d[0] - 3.5).abs() < 1e-12 && (d[1] - 5.0).abs() < 1e-12);
        // Deviations from the running means: means after 2, 3, 4 iterates are (2, −1),
        // (2, 2/3), (3, 1); the first deviation (iterate 1) falls out of the rank-3 window.
        let want = [[1.0, 1.0], [0.0, 4.0 - 2.0 / 3.0], [3.0, 1.0]];
        assert_eq!(g.deviations.len(), 3);
        for (got, w) in g.deviations.iter().zip(&want) {
            assert!((got[0] - w[0]).abs() < 1e-12 && (got[1] - w[1]).abs() < 1e-12);
        }
        // Marginal variance ½(Σ_diag + Σ_k D_k²/(K − 1)).
        let mv = g.marginal_variances();
        let lr0 = (1.0 + 0.0 + 9.0) / 2.0;
        let lr1 = (1.0 + (10.0f64 / 3.0).powi(2) + 1.0) / 2.0;
        assert!((mv[0] - 0.5 * (3.5 + lr0)).abs() < 1e-12);
        assert!((mv[1] - 0.5 * (5.0 + lr1)).abs() < 1e-12);
    }

    /// Draws have the mean and the marginal variances of the Gaussian (Monte Carlo tolerance).
    #[test]
    fn draws_have_the_gaussians_moments() {
        let mut m = SwagMoments::new(3, 5);
        let mut r = rng::stream(7, 1);
        for _ in 0..40 {
            let t: Vec<f64> = (0..3)
                .map(|i| i as f64 + (i + 1) as f64 * rng::normal(&mut r))
                .collect();
            m.collect(&t);
        }
        let g = m.gaussian();
        let mv = g.marginal_variances();
        let n = 40_000;
        let mut s1 = [0.0; 3];
        let mut s2 = [0.0; 3];
        for _ in 0..n {
            let d = g.sample(&mut r);
            for i in 0..3 {
                s1[i] += d[i] / n as f64;
                s2[i] += (d[i] - g.mean[i]).powi(2) / n as f64;
            }
        }
        for i in 0..3 {
            let se = (mv[i] / n as f64).sqrt();
            assert!((s1[i] - g.mean[i]).abs() < 5.0 * se, "mean {i}");
            assert!((s2[i] / mv[i] - 1.0).abs() < 0.05, "variance {i}");
        }
    }
}
