//! Stochastic-gradient MCMC over minibatches: SGLD (Welling & Teh 2011) and SGHMC (Chen, Fox &
//! Guestrin 2014), with a constant or cyclical step size (cSG-MCMC, Zhang et al. 2020),
//! burn-in and thinning. Several chains run in parallel, each seeded from
//! `rng::stream(seed, chain)`.

use super::sample::{ChainStats, SampleOptions, Samples};
use super::{Progress, Silent};
use crate::density::LogDensity;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::rng::{self, Rng};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// A log density that is a sum over data rows and can be estimated from a minibatch.
pub trait BatchDensity: LogDensity {
    /// Number of data rows.
    fn rows(&self) -> usize;
    /// Unbiased estimate of log p(θ | data) (prior + N/B · Σ_batch log lik); gradient into `grad`.
    fn logp_grad_batch(&mut self, theta: &[f64], batch: &[usize], grad: &mut [f64]) -> Result<f64>;
}

impl BatchDensity for Model {
    fn rows(&self) -> usize {
        Model::rows(self)
    }
    fn logp_grad_batch(&mut self, theta: &[f64], batch: &[usize], grad: &mut [f64]) -> Result<f64> {
        Model::logp_grad_batch(self, theta, batch, grad)
    }
}

/// SGLD or SGHMC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SgKind {
    /// Stochastic-gradient Langevin dynamics.
    Sgld,
    /// Stochastic-gradient HMC with friction.
    Sghmc,
}

/// Step-size schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Constant step size; draws kept after burn-in.
    Constant,
    /// Cosine cycles (Zhang et al. 2020): each cycle explores without noise for the first
    /// `explore` share of its epochs, then samples.
    Cyclical,
}

/// Settings of an SG-MCMC run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SgOptions {
    /// SGLD or SGHMC.
    pub kind: SgKind,
    /// Constant or cyclical step size.
    pub schedule: Schedule,
    /// Chains, run in parallel.
    pub chains: usize,
    /// Passes over the data per chain.
    pub epochs: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Learning rate: the step size is `learning_rate / N` (N data rows), so it reads like a
    /// learning rate on the mean loss.
    pub learning_rate: f64,
    /// Burn-in epochs discarded (constant schedule).
    pub burnin: usize,
    /// Keep a draw every `thin` epochs (after burn-in / in a sampling stage).
    pub thin: usize,
    /// SGHMC friction (momentum decay per step), in (0, 1].
    pub friction: f64,
    /// Number of cycles (cyclical schedule).
    pub cycles: usize,
    /// Share of each cycle spent exploring without noise (cyclical schedule), in [0, 1).
    pub explore: f64,
}

impl Default for SgOptions {
    fn default() -> Self {
        SgOptions {
            kind: SgKind::Sgld,
            schedule: Schedule::Constant,
            chains: 4,
            epochs: 1000,
            batch_size: 32,
            learning_rate: 0.05,
            burnin: 500,
            thin: 5,
            friction: 0.1,
            cycles: 4,
            explore: 0.5,
        }
    }
}

impl SgOptions {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(m));
        if self.chains == 0 || self.epochs == 0 || self.batch_size == 0 || self.thin == 0 {
            return bad("chains, epochs, batch_size and thin must be at least 1".into());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad(format!(
                "learning_rate must be positive, found {}",
                self.learning_rate
            ));
        }
        if !(self.friction > 0.0 && self.friction <= 1.0) {
            return bad(format!(
                "friction must be in (0, 1], found {}",
                self.friction
            ));
        }
        if !(0.0..1.0).contains(&self.explore) {
            return bad(format!("explore must be in [0, 1), found {}", self.explore));
        }
        if self.schedule == Schedule::Cyclical && (self.cycles == 0 || self.cycles > self.epochs) {
            return bad(format!(
                "cycles must be in 1..=epochs ({}), found {}",
                self.epochs, self.cycles
            ));
        }
        if self.schedule == Schedule::Constant && self.burnin >= self.epochs {
            return bad(format!(
                "burnin ({}) must be smaller than epochs ({})",
                self.burnin, self.epochs
            ));
        }
        Ok(())
    }

    /// Step-size multiplier in (0, 1] and whether draws are kept, at `epoch` (0-based) and
    /// position `frac` ∈ [0, 1) within the epoch.
    fn schedule_at(&self, epoch: usize, frac: f64) -> (f64, bool) {
        match self.schedule {
            Schedule::Constant => (1.0, epoch >= self.burnin),
            Schedule::Cyclical => {
                let len = self.epochs.div_ceil(self.cycles);
                let r = ((epoch % len) as f64 + frac) / len as f64;
                let mult = 0.5 * ((std::f64::consts::PI * r).cos() + 1.0);
                (mult, r >= self.explore)
            }
        }
    }
}

/// Runs SG-MCMC on `density` from `inits[c % inits.len()]` (or the origin's neighbourhood,
/// uniform in ±0.1, when empty). Returns draws in the same shape as the full-batch samplers;
/// the Hamiltonian statistics (divergences, tree depth, E-BFMI) do not apply and stay empty.
pub fn sample_sg<D: BatchDensity + Clone + Send + Sync>(
    density: &D,
    options: &SgOptions,
    seed: u64,
    inits: &[Vec<f64>],
    progress: &dyn Progress,
) -> Result<Samples> {
    options.validate()?;
    let dim = density.dim();
    progress.start(
        (options.epochs * options.chains) as u64,
        match options.kind {
            SgKind::Sgld => "SGLD",
            SgKind::Sghmc => "SGHMC",
        },
    );
    let done = std::sync::atomic::AtomicU64::new(0);
    let runs: Vec<(Vec<Vec<f64>>, Vec<f64>, ChainStats)> = super::on_pool(options.chains, |c| {
        let init = if inits.is_empty() {
            let mut r = rng::stream(seed, 0x1_0000 + c as u64);
            (0..dim)
                .map(|_| 0.1 * (2.0 * rng::uniform(&mut r) - 1.0))
                .collect()
        } else {
            inits[c % inits.len()].clone()
        };
        let mut r = rng::stream(seed, c as u64);
        run_chain(density.clone(), init, options, c, &mut r, &|| {
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress.tick(d, "");
        })
    })
    .into_iter()
    .collect::<Result<_>>()?;
    progress.finish();
    let mut s = Samples {
        options: SampleOptions {
            chains: options.chains,
            draws: runs.first().map_or(0, |r| r.0.len()),
            warmup: 0,
            thin: options.thin,
            ..SampleOptions::default()
        },
        draws: Vec::new(),
        logp: Vec::new(),
        energy: Vec::new(),
        chains: Vec::new(),
    };
    for (d, l, st) in runs {
        s.draws.push(d);
        s.logp.push(l);
        s.energy.push(Vec::new());
        s.chains.push(st);
    }
    Ok(s)
}

/// Same as [`sample_sg`] without progress reporting.
pub fn sample_sg_quiet<D: BatchDensity + Clone + Send + Sync>(
    density: &D,
    options: &SgOptions,
    seed: u64,
) -> Result<Samples> {
    sample_sg(density, options, seed, &[], &Silent)
}

fn run_chain<D: BatchDensity>(
    mut density: D,
    mut theta: Vec<f64>,
    o: &SgOptions,
    chain: usize,
    r: &mut Rng,
    tick: &(dyn Fn() + Sync),
) -> Result<(Vec<Vec<f64>>, Vec<f64>, ChainStats)> {
    let n = density.rows();
    let dim = theta.len();
    let bs = o.batch_size.min(n).max(1);
    let base = o.learning_rate / n as f64;
    let mut grad = vec![0.0; dim];
    let mut full = vec![0.0; dim];
    let mut v = vec![0.0; dim];
    let mut draws = Vec::new();
    let mut logp = Vec::new();
    let mut kept_epochs = 0usize;
    let clock = Instant::now();
    let mut steps = 0u64;
    let batches_per_epoch = n.div_ceil(bs);
    for epoch in 0..o.epochs {
        let perm = rng::permutation(r, n);
        let mut keep = false;
        for (b, chunk) in perm.chunks(bs).enumerate() {
            let (mult, sampling) = o.schedule_at(epoch, b as f64 / batches_per_epoch as f64);
            keep = sampling;
            let eps = base * mult;
            density
                .logp_grad_batch(&theta, chunk, &mut grad)
                .map_err(|e| {
                    Error::Numeric(format!(
                        "chain {}, epoch {}: {e}; try a smaller learning_rate (now {})",
                        chain + 1,
                        epoch + 1,
                        o.learning_rate
                    ))
                })?;
            steps += 1;
            // In the exploration stage of a cycle the noise is off (plain SGD / SGD with momentum).
            let noise = sampling || o.schedule == Schedule::Constant;
            match o.kind {
                SgKind::Sgld => {
                    let sd = (eps).sqrt();
                    for i in 0..dim {
                        theta[i] += 0.5 * eps * grad[i];
                        if noise {
                            theta[i] += sd * rng::normal(r);
                        }
                    }
                }
                SgKind::Sghmc => {
                    // v ← (1 − α) v + η ∇ + N(0, 2αη);  θ ← θ + v  (Chen et al. 2014, eq. 15)
                    let a = o.friction;
                    let sd = (2.0 * a * eps).sqrt();
                    for i in 0..dim {
                        v[i] = (1.0 - a) * v[i] + eps * grad[i];
                        if noise {
                            v[i] += sd * rng::normal(r);
                        }
                        theta[i] += v[i];
                    }
                }
            }
        }
        tick();
        if keep {
            kept_epochs += 1;
            if kept_epochs.is_multiple_of(o.thin) {
                let lp = density.logp_grad(&theta, &mut full).map_err(|e| {
                    Error::Numeric(format!(
                        "chain {}, epoch {}: {e}; try a smaller learning_rate (now {})",
                        chain + 1,
                        epoch + 1,
                        o.learning_rate
                    ))
                })?;
                draws.push(theta.clone());
                logp.push(lp);
            }
        }
    }
    let stats = ChainStats {
        divergences: 0,
        warmup_divergences: 0,
        max_depth_hits: 0,
        step_size: base,
        mean_accept: f64::NAN,
        mean_steps: 1.0,
        mean_depth: f64::NAN,
        e_bfmi: f64::NAN,
        gradients_warmup: 0,
        gradients_sampling: steps,
        seconds_warmup: 0.0,
        seconds_sampling: clock.elapsed().as_secs_f64(),
        draws: super::sample::DrawStats::default(),
    };
    if draws.is_empty() {
        return Err(Error::Invalid(
            "SG-MCMC kept no draws: raise epochs or lower burnin/thin".into(),
        ));
    }
    Ok((draws, logp, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyclical_schedule_restarts_and_samples_late() {
        let o = SgOptions {
            schedule: Schedule::Cyclical,
            epochs: 100,
            cycles: 4,
            explore: 0.8,
            ..SgOptions::default()
        };
        assert_eq!(o.schedule_at(0, 0.0), (1.0, false));
        let (m, s) = o.schedule_at(24, 0.99);
        assert!(m < 0.01 && s);
        assert_eq!(o.schedule_at(25, 0.0), (1.0, false));
        assert!(!o.schedule_at(19, 0.0).1 && o.schedule_at(20, 0.0).1);
    }
}
