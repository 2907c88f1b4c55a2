//! The general sampling entry point: several chains of NUTS (nuts-rs) or our own HMC over any
//! `LogDensity`, in parallel, each chain seeded from `rng::stream(seed, chain)` so the draws do
//! not depend on the number of threads. Returns the draws and per-draw sampler statistics.

use super::{hmc, nuts, Progress, Silent};
use crate::density::LogDensity;
use crate::error::{Error, Result};
use crate::eval::diagnostics::{self, QuantitySummary};
use crate::rng;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

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

    fn finish(mut self) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>, ChainStats) {
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

/// Counts finished iterations over all chains for a progress reporter.
pub(crate) struct Ticker<'a> {
    done: AtomicU64,
    progress: &'a dyn Progress,
}

impl Ticker<'_> {
    /// One more iteration is done.
    pub(crate) fn tick(&self) {
        let d = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if d.is_multiple_of(16) {
            self.progress.tick(d, "");
        }
    }
}

impl Progress for Ticker<'_> {
    fn tick(&self, _pos: u64, _msg: &str) {
        Ticker::tick(self);
    }
}

/// Posterior draws of several chains with the sampler's statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    /// Settings used.
    pub options: SampleOptions,
    /// Draws: chain → kept draw → parameter vector.
    pub draws: Vec<Vec<Vec<f64>>>,
    /// Log density of each kept draw: chain → draw.
    pub logp: Vec<Vec<f64>>,
    /// Hamiltonian energy of every post-warm-up iteration: chain → iteration.
    pub energy: Vec<Vec<f64>>,
    /// Per-chain statistics.
    pub chains: Vec<ChainStats>,
}

impl Samples {
    /// Number of parameters.
    pub fn dim(&self) -> usize {
        self.draws
            .first()
            .and_then(|c| c.first())
            .map_or(0, Vec::len)
    }

    /// A scalar function of the parameters at every draw: chain → draw.
    pub fn quantity(&self, mut f: impl FnMut(&[f64]) -> f64) -> Vec<Vec<f64>> {
        self.draws
            .iter()
            .map(|c| c.iter().map(|t| f(t)).collect())
            .collect()
    }

    /// Parameter `i` at every draw: chain → draw.
    pub fn param(&self, i: usize) -> Vec<Vec<f64>> {
        self.quantity(|t| t[i])
    }

    /// Summary (mean, sd, MCSE, R-hat, bulk and tail ESS) of parameter `i`.
    pub fn summary(&self, i: usize) -> QuantitySummary {
        QuantitySummary::new(format!("parameter {i}"), &self.param(i))
    }

    /// All draws of all chains, chain after chain.
    pub fn flatten(&self) -> Vec<Vec<f64>> {
        self.draws.iter().flatten().cloned().collect()
    }

    /// Divergent transitions after warm-up, over all chains.
    pub fn divergences(&self) -> usize {
        self.chains.iter().map(|c| c.divergences).sum()
    }

    /// Post-warm-up iterations at the maximum tree depth, over all chains.
    pub fn max_depth_hits(&self) -> usize {
        self.chains.iter().map(|c| c.max_depth_hits).sum()
    }

    /// The chains of several runs, one after the other (runs over disjoint chain numbers, in
    /// order: see [`sample_chains`]); `options.chains` counts them all.
    pub fn concat(parts: Vec<Samples>) -> Result<Samples> {
        let Some(first) = parts.first() else {
            return Err(Error::Invalid("no chains to combine".into()));
        };
        let mut out = Samples {
            options: first.options.clone(),
            draws: Vec::new(),
            logp: Vec::new(),
            energy: Vec::new(),
            chains: Vec::new(),
        };
        for p in parts {
            let mut o = p.options.clone();
            o.chains = out.options.chains;
            if o != out.options {
                return Err(Error::Invalid(
                    "the chains to combine were run with different settings".into(),
                ));
            }
            out.draws.extend(p.draws);
            out.logp.extend(p.logp);
            out.energy.extend(p.energy);
            out.chains.extend(p.chains);
        }
        out.options.chains = out.chains.len();
        Ok(out)
    }
}

/// Samples `density` with the default initialisation (uniform in ±`init_radius`).
pub fn sample<D: LogDensity + Clone + Send + Sync>(
    density: &D,
    options: &SampleOptions,
    seed: u64,
) -> Result<Samples> {
    sample_from(density, options, seed, &[], &Silent)
}

/// Samples `density` starting chain `c` at `inits[c % inits.len()]` (or at a random point when
/// `inits` is empty), reporting iterations to `progress`.
pub fn sample_from<D: LogDensity + Clone + Send + Sync>(
    density: &D,
    options: &SampleOptions,
    seed: u64,
    inits: &[Vec<f64>],
    progress: &dyn Progress,
) -> Result<Samples> {
    let chains: Vec<usize> = (0..options.chains).collect();
    let starts: Vec<Vec<f64>> = if inits.is_empty() {
        Vec::new()
    } else {
        chains
            .iter()
            .map(|c| inits[c % inits.len()].clone())
            .collect()
    };
    sample_chains(density, options, seed, &chains, &starts, progress)
}

/// Runs the chains numbered `chains` (each seeded by its number, so chain `c` is the same
/// whichever other chains run beside it, here or on another machine), chain `chains[i]`
/// starting at `inits[i]` (random points when `inits` is empty). [`Samples::concat`] of runs
/// over disjoint chain numbers, in order, is the run over all of them.
pub fn sample_chains<D: LogDensity + Clone + Send + Sync>(
    density: &D,
    options: &SampleOptions,
    seed: u64,
    chains: &[usize],
    inits: &[Vec<f64>],
    progress: &dyn Progress,
) -> Result<Samples> {
    options.validate()?;
    let dim = density.dim();
    if let Some(bad) = inits.iter().find(|v| v.len() != dim) {
        return Err(Error::Invalid(format!(
            "an initial point has {} values but the density has {dim} parameters",
            bad.len()
        )));
    }
    if !inits.is_empty() && inits.len() != chains.len() {
        return Err(Error::Invalid(format!(
            "{} initial points for {} chains",
            inits.len(),
            chains.len()
        )));
    }
    let per_chain = options.warmup + options.draws * options.thin;
    progress.start(
        (per_chain * chains.len()) as u64,
        match options.sampler {
            Sampler::Nuts => "NUTS",
            Sampler::Hmc => "HMC",
        },
    );
    let ticker = Ticker {
        done: AtomicU64::new(0),
        progress,
    };
    let runs: Vec<ChainRun> = super::on_pool(chains.len(), |i| -> Result<ChainRun> {
        let c = chains[i];
        let init = if inits.is_empty() {
            let mut r = rng::stream(seed, 0x1_0000 + c as u64);
            (0..dim)
                .map(|_| options.init_radius * (2.0 * rng::uniform(&mut r) - 1.0))
                .collect()
        } else {
            inits[i].clone()
        };
        let chain_seed = {
            use rand::RngCore;
            rng::stream(seed, c as u64).next_u64()
        };
        match options.sampler {
            Sampler::Nuts => {
                nuts::run_chain(density.clone(), &init, options, c, chain_seed, &ticker)
            }
            Sampler::Hmc => hmc::run_chain(density.clone(), &init, options, c, chain_seed, &ticker),
        }
    })
    .into_iter()
    .collect::<Result<_>>()?;
    progress.finish();
    let mut out = Samples {
        options: options.clone(),
        draws: Vec::new(),
        logp: Vec::new(),
        energy: Vec::new(),
        chains: Vec::new(),
    };
    out.options.chains = chains.len();
    for r in runs {
        let (d, l, e, s) = r.finish();
        out.draws.push(d);
        out.logp.push(l);
        out.energy.push(e);
        out.chains.push(s);
    }
    Ok(out)
}
