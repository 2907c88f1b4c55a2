//! NUTS through the `nuts-rs` crate (PyMC's Rust sampler): our `LogDensity` adapted to its
//! `CpuLogpFunc`, one chain run to completion with its per-draw statistics collected.

use super::chain::{ChainRun, DrawInfo, MassMatrix, SampleOptions};
use super::Progress;
use crate::density::LogDensity;
use crate::error::{Error, Result};
use nuts_rs::rand::SeedableRng;
use nuts_rs::{Chain, CpuLogpFunc, CpuMath, CpuMathError, DiagNutsSettings, LogpError, Settings};
use std::collections::HashMap;
use std::time::Instant;

/// A density error as nuts-rs sees it: numerical trouble is recoverable (a divergence),
/// anything else stops the chain.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct DensityError {
    message: String,
    recoverable: bool,
}

impl LogpError for DensityError {
    fn is_recoverable(&self) -> bool {
        self.recoverable
    }
}

struct Func<D> {
    density: D,
    dim: usize,
}

impl<D> nuts_rs::HasDims for Func<D> {
    fn dim_sizes(&self) -> HashMap<String, u64> {
        HashMap::from([
            ("unconstrained_parameter".to_string(), self.dim as u64),
            ("dim".to_string(), self.dim as u64),
        ])
    }
}

impl<D: LogDensity> CpuLogpFunc for Func<D> {
    type LogpError = DensityError;
    type FlowParameters = ();
    type ExpandedVector = Vec<f64>;

    fn dim(&self) -> usize {
        self.dim
    }

    fn logp(&mut self, position: &[f64], gradient: &mut [f64]) -> Result<f64, DensityError> {
        self.density
            .logp_grad(position, gradient)
            .map_err(|e| DensityError {
                recoverable: matches!(e, Error::Numeric(_)),
                message: e.to_string(),
            })
    }

    fn expand_vector<R: nuts_rs::rand::Rng + ?Sized>(
        &mut self,
        _rng: &mut R,
        _array: &[f64],
    ) -> Result<Vec<f64>, CpuMathError> {
        // The draw itself is returned separately; nothing to expand.
        Ok(Vec::new())
    }
}

fn settings(opts: &SampleOptions) -> DiagNutsSettings {
    let mut s = DiagNutsSettings {
        num_tune: opts.warmup as u64,
        num_draws: (opts.draws * opts.thin) as u64,
        maxdepth: opts.max_depth,
        num_chains: opts.chains,
        ..DiagNutsSettings::default()
    };
    s.adapt_options.step_size_settings.target_accept = opts.target_accept;
    s.adapt_options.mass_matrix_options.use_grad_based_estimate =
        matches!(opts.mass_matrix, MassMatrix::DrawsAndGradients);
    s
}

/// Runs one NUTS chain from `init`; `seed` seeds the chain's own generator.
pub(crate) fn run_chain<D: LogDensity>(
    density: D,
    init: &[f64],
    opts: &SampleOptions,
    chain: usize,
    seed: u64,
    progress: &dyn Progress,
) -> Result<ChainRun> {
    let dim = density.dim();
    let math = CpuMath::new(Func { density, dim });
    let mut rng = nuts_rs::rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let mut sampler = settings(opts)
        .new_chain(chain as u64, math, &mut rng)
        .map_err(|e| Error::Invalid(format!("NUTS settings: {e}")))?;
    sampler.set_position(init).map_err(|e| {
        Error::Numeric(format!(
            "chain {}: the log density cannot be evaluated at the initial point: {e}",
            chain + 1
        ))
    })?;
    let total = opts.warmup + opts.draws * opts.thin;
    let mut run = ChainRun::new(dim, opts);
    let mut clock = Instant::now();
    for i in 0..total {
        let (pos, _, stats, prog) = sampler.expanded_draw().map_err(|e| {
            Error::Numeric(format!("chain {}, iteration {}: {e}", chain + 1, i + 1))
        })?;
        let info = DrawInfo {
            logp: stats.point.logp,
            energy: stats.point.energy,
            accept: stats.adapt.step_size.mean_tree_accept,
            step_size: prog.step_size,
            gradients: prog.num_gradients,
            depth: stats.depth,
            max_depth_hit: stats.maxdepth_reached,
            diverging: prog.diverging,
        };
        if i == opts.warmup {
            run.seconds_warmup = clock.elapsed().as_secs_f64();
            clock = Instant::now();
        }
        run.record(i, &pos, &info);
        progress.tick(1, "");
    }
    if opts.warmup >= total {
        run.seconds_warmup = clock.elapsed().as_secs_f64();
    } else {
        run.seconds_sampling = clock.elapsed().as_secs_f64();
    }
    Ok(run)
}
