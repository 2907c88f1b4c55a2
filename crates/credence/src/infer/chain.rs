//! The types every sampler shares: the sampler settings, what one transition reports, and a
//! chain's draws and statistics while it runs. `sample` (the entry point) and the samplers
//! (`hmc`, `nuts`, `sgmcmc`) all import them from here, so that none imports another.

use crate::error::{Error, Result};
use crate::eval::diagnostics;
use serde::{Deserialize, Serialize};

/// Which full-batch Hamiltonian sampler to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampler {
    /// The no-U-turn sampler of nuts-rs (Stan-style dual-averaging step size, diagonal mass matrix).
    Nuts,
    /// Plain HMC with a fixed number of leapfrog steps (our own; same kind of adaptation).
    Hmc,
}

/// How the diagonal mass matrix is estimated during warm-up (NUTS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MassMatrix {
    /// Variance of the warm-up draws (Stan).
    Draws,
    /// Geometric mean of draw variance and inverse gradient variance (nutpie; nuts-rs default).
    DrawsAndGradients,
}

/// Settings of a sampling run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleOptions {
    /// NUTS or HMC.
    pub sampler: Sampler,
    /// Number of chains, run in parallel.
    pub chains: usize,
    /// Warm-up (adaptation) iterations per chain; discarded.
    pub warmup: usize,
    /// Draws kept per chain (after thinning).
    pub draws: usize,
    /// Keep every `thin`-th iteration after warm-up.
    pub thin: usize,
    /// Target mean acceptance probability of the step-size adaptation.
    pub target_accept: f64,
    /// Maximum NUTS tree depth (at most 2^depth − 1 leapfrog steps per draw).
    pub max_depth: u64,
    /// Leapfrog steps per HMC iteration.
    pub hmc_steps: usize,
    /// Mass-matrix estimate (NUTS).
    pub mass_matrix: MassMatrix,
    /// Random initial points are drawn uniformly from (−r, r) in every coordinate (Stan: 2).
    pub init_radius: f64,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            sampler: Sampler::Nuts,
            // The UCI benchmark's settings (docs/DEFAULTS.md): two MAP-initialised chains of
            // 300 + 300 iterations with trees of depth ≤ 8 beat every published method there.
            chains: 2,
            warmup: 300,
            draws: 300,
            thin: 1,
            target_accept: 0.8,
            max_depth: 8,
            hmc_steps: 32,
            mass_matrix: MassMatrix::DrawsAndGradients,
            init_radius: 2.0,
        }
    }
}

impl SampleOptions {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(m));
        if self.chains == 0 {
            return bad("chains must be at least 1".into());
        }
        if self.draws < 4 {
            return bad(format!("draws must be at least 4, found {}", self.draws));
        }
        if self.thin == 0 {
            return bad("thin must be at least 1".into());
        }
        if !(self.target_accept > 0.0 && self.target_accept < 1.0) {
            return bad(format!(
                "target acceptance must be in (0, 1), found {}",
                self.target_accept
            ));
        }
        if self.max_depth == 0 || self.max_depth > 20 {
            return bad(format!(
                "max tree depth must be in 1..=20, found {}",
                self.max_depth
            ));
        }
        if self.hmc_steps == 0 {
            return bad("hmc_steps must be at least 1".into());
        }
        if !(self.init_radius >= 0.0 && self.init_radius.is_finite()) {
            return bad(format!(
                "init radius must be non-negative, found {}",
                self.init_radius
            ));
        }
        Ok(())
    }
}

/// What one transition reports (BlackJAX's `Info`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawInfo {
    /// Log density at the new point.
    pub logp: f64,
    /// Hamiltonian (potential + kinetic energy) at the new point.
    pub energy: f64,
    /// Acceptance statistic (mean over the tree for NUTS).
    pub accept: f64,
    /// Step size used.
    pub step_size: f64,
    /// Gradient evaluations spent.
    pub gradients: u64,
    /// Tree depth (NUTS) or 0 (HMC).
    pub depth: u64,
    /// The tree reached the maximum depth.
    pub max_depth_hit: bool,
    /// The trajectory diverged.
    pub diverging: bool,
}

/// Per-chain statistics of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainStats {
    /// Divergent transitions after warm-up.
    pub divergences: usize,
    /// Divergent transitions during warm-up (expected while adapting; informational).
    pub warmup_divergences: usize,
    /// Post-warm-up iterations that reached the maximum tree depth.
    pub max_depth_hits: usize,
    /// Step size after adaptation.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub step_size: f64,
    /// Mean acceptance statistic after warm-up.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub mean_accept: f64,
    /// Mean leapfrog steps (gradients) per iteration after warm-up.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub mean_steps: f64,
    /// Mean tree depth after warm-up (NUTS).
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub mean_depth: f64,
    /// E-BFMI of the post-warm-up energies.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub e_bfmi: f64,
    /// Gradient evaluations during warm-up.
    pub gradients_warmup: u64,
    /// Gradient evaluations after warm-up.
    pub gradients_sampling: u64,
    /// Wall-clock seconds of warm-up.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub seconds_warmup: f64,
    /// Wall-clock seconds after warm-up.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub seconds_sampling: f64,
    /// Per kept draw, what the transition that produced it reported (Hamiltonian samplers;
    /// empty for SG-MCMC and in records written before it was kept).
    #[serde(default, skip_serializing_if = "DrawStats::is_empty")]
    pub draws: DrawStats,
}

/// Per kept draw of one chain: divergence, tree depth, energy, acceptance and leapfrog steps,
/// for tools that want them draw by draw (ArviZ's `sample_stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrawStats {
    /// The trajectory diverged.
    pub diverging: Vec<bool>,
    /// Tree depth (NUTS) or 0 (HMC).
    pub depth: Vec<u64>,
    /// Hamiltonian at the new point (`None` where it was not finite).
    pub energy: Vec<Option<f64>>,
    /// Acceptance statistic (`None` where it was not finite).
    pub accept: Vec<Option<f64>>,
    /// Leapfrog steps (gradient evaluations).
    pub steps: Vec<u64>,
}

impl DrawStats {
    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.diverging.is_empty()
    }

    fn push(&mut self, info: &DrawInfo) {
        let finite = |x: f64| Some(x).filter(|v| v.is_finite());
        self.diverging.push(info.diverging);
        self.depth.push(info.depth);
        self.energy.push(finite(info.energy));
        self.accept.push(finite(info.accept));
        self.steps.push(info.gradients);
    }
}

/// One chain's draws and statistics while it runs.
#[derive(Debug, Clone)]
pub(crate) struct ChainRun {
    pub draws: Vec<Vec<f64>>,
    pub logp: Vec<f64>,
    pub energy: Vec<f64>,
    accept_sum: f64,
    steps_sum: u64,
    depth_sum: u64,
    sampled: usize,
    warmup: usize,
    thin: usize,
    pub stats: ChainStats,
    pub seconds_warmup: f64,
    pub seconds_sampling: f64,
}

impl ChainRun {
    pub(crate) fn new(_dim: usize, opts: &SampleOptions) -> Self {
        ChainRun {
            draws: Vec::with_capacity(opts.draws),
            logp: Vec::with_capacity(opts.draws),
            energy: Vec::with_capacity(opts.draws * opts.thin),
            accept_sum: 0.0,
            steps_sum: 0,
            depth_sum: 0,
            sampled: 0,
            warmup: opts.warmup,
            thin: opts.thin,
            stats: ChainStats {
                divergences: 0,
                warmup_divergences: 0,
                max_depth_hits: 0,
                step_size: f64::NAN,
                mean_accept: f64::NAN,
                mean_steps: f64::NAN,
                mean_depth: f64::NAN,
                e_bfmi: f64::NAN,
                gradients_warmup: 0,
                gradients_sampling: 0,
                seconds_warmup: 0.0,
                seconds_sampling: 0.0,
                draws: DrawStats::default(),
            },
            seconds_warmup: 0.0,
            seconds_sampling: 0.0,
        }
    }

    /// Records iteration `i` (0-based, warm-up included).
    pub(crate) fn record(&mut self, i: usize, position: &[f64], info: &DrawInfo) {
        let s = &mut self.stats;
        if i < self.warmup {
            s.gradients_warmup += info.gradients;
            s.warmup_divergences += usize::from(info.diverging);
            return;
        }
        s.gradients_sampling += info.gradients;
        s.divergences += usize::from(info.diverging);
        s.max_depth_hits += usize::from(info.max_depth_hit);
        s.step_size = info.step_size;
        self.accept_sum += info.accept;
        self.steps_sum += info.gradients;
        self.depth_sum += info.depth;
        self.sampled += 1;
        self.energy.push(info.energy);
        if (i - self.warmup + 1).is_multiple_of(self.thin) {
            self.draws.push(position.to_vec());
            self.logp.push(info.logp);
            self.stats.draws.push(info);
        }
    }

    pub(crate) fn finish(mut self) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>, ChainStats) {
        let n = self.sampled.max(1) as f64;
        self.stats.mean_accept = self.accept_sum / n;
        self.stats.mean_steps = self.steps_sum as f64 / n;
        self.stats.mean_depth = self.depth_sum as f64 / n;
        self.stats.e_bfmi = diagnostics::e_bfmi(&self.energy);
        self.stats.seconds_warmup = self.seconds_warmup;
        self.stats.seconds_sampling = self.seconds_sampling;
        (self.draws, self.logp, self.energy, self.stats)
    }
}
