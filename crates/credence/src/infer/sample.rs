//! The general sampling entry point: several chains of NUTS (nuts-rs) or our own HMC over any
//! `LogDensity`, in parallel, each chain seeded from `rng::stream(seed, chain)` so the draws do
//! not depend on the number of threads. Returns the draws and per-draw sampler statistics.

use super::chain::ChainRun;
pub use super::chain::{ChainStats, DrawInfo, DrawStats, MassMatrix, SampleOptions, Sampler};
use super::{hmc, nuts, Progress, Silent};
use crate::density::LogDensity;
use crate::error::{Error, Result};
use crate::eval::diagnostics::QuantitySummary;
use crate::rng;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

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
