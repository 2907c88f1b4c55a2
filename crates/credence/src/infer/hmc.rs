//! Plain Hamiltonian Monte Carlo, BlackJAX style: an explicit `HmcState`, `init` and `step`
//! returning an `HmcInfo`; adaptation (dual-averaging step size, windowed diagonal mass matrix
//! as in Stan) lives in its own types and drives `step` during warm-up.

use super::chain::{ChainRun, DrawInfo, SampleOptions};
use super::Progress;
use crate::density::LogDensity;
use crate::error::{Error, Result};
use crate::rng::{self, Rng};
use std::time::Instant;

/// Energy error above which a trajectory counts as divergent (as in Stan).
const MAX_ENERGY_ERROR: f64 = 1000.0;

/// Where the chain is: position, log density and its gradient.
#[derive(Debug, Clone, PartialEq)]
pub struct HmcState {
    /// Parameters.
    pub position: Vec<f64>,
    /// Log density at `position`.
    pub logp: f64,
    /// Gradient of the log density at `position`.
    pub grad: Vec<f64>,
}

/// What one HMC transition reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HmcInfo {
    /// Metropolis acceptance probability of the proposal.
    pub accept_prob: f64,
    /// Whether the proposal was accepted.
    pub accepted: bool,
    /// The trajectory diverged (energy error above 1000 or a non-finite density).
    pub diverging: bool,
    /// Hamiltonian at the returned state.
    pub energy: f64,
    /// Energy error of the proposal (H(end) − H(start)).
    pub energy_error: f64,
    /// Gradient evaluations spent.
    pub gradients: u64,
}

/// Evaluates the density at `position` to start a chain.
pub fn init<D: LogDensity + ?Sized>(density: &mut D, position: Vec<f64>) -> Result<HmcState> {
    let mut grad = vec![0.0; position.len()];
    let logp = density.logp_grad(&position, &mut grad)?;
    Ok(HmcState {
        position,
        logp,
        grad,
    })
}

/// One HMC transition: fresh momentum p ~ N(0, M) with M = diag(1 / `inv_mass`), `n_steps`
/// leapfrog steps of size `step_size`, then a Metropolis accept/reject.
pub fn step<D: LogDensity + ?Sized>(
    rng: &mut Rng,
    state: &HmcState,
    density: &mut D,
    step_size: f64,
    inv_mass: &[f64],
    n_steps: usize,
) -> Result<(HmcState, HmcInfo)> {
    let n = state.position.len();
    let mut p: Vec<f64> = inv_mass
        .iter()
        .map(|&m| rng::normal(rng) / m.sqrt())
        .collect();
    let kinetic = |p: &[f64]| -> f64 {
        0.5 * p
            .iter()
            .zip(inv_mass)
            .map(|(pi, mi)| pi * pi * mi)
            .sum::<f64>()
    };
    let h0 = -state.logp + kinetic(&p);
    let mut x = state.position.clone();
    let mut g = state.grad.clone();
    let mut logp = state.logp;
    let mut diverging = false;
    let mut gradients = 0;
    for _ in 0..n_steps {
        for i in 0..n {
            p[i] += 0.5 * step_size * g[i];
            x[i] += step_size * inv_mass[i] * p[i];
        }
        gradients += 1;
        match density.logp_grad(&x, &mut g) {
            Ok(v) => logp = v,
            Err(Error::Numeric(_)) => {
                diverging = true;
                break;
            }
            Err(e) => return Err(e),
        }
        for i in 0..n {
            p[i] += 0.5 * step_size * g[i];
        }
        if -logp + kinetic(&p) - h0 > MAX_ENERGY_ERROR {
            diverging = true;
            break;
        }
    }
    let h1 = if diverging {
        f64::INFINITY
    } else {
        -logp + kinetic(&p)
    };
    let energy_error = h1 - h0;
    let accept_prob = if energy_error.is_nan() {
        0.0
    } else {
        (-energy_error).exp().min(1.0)
    };
    let accepted = !diverging && rng::uniform(rng) < accept_prob;
    let info = HmcInfo {
        accept_prob,
        accepted,
        diverging,
        energy: if accepted { h1 } else { h0 },
        energy_error,
        gradients,
    };
    if accepted {
        Ok((
            HmcState {
                position: x,
                logp,
                grad: g,
            },
            info,
        ))
    } else {
        Ok((state.clone(), info))
    }
}

/// Dual-averaging step-size adaptation (Hoffman & Gelman 2014, section 3.2; Stan's constants).
#[derive(Debug, Clone)]
pub struct DualAveraging {
    mu: f64,
    h_bar: f64,
    log_eps: f64,
    log_eps_bar: f64,
    t: f64,
    target: f64,
}

impl DualAveraging {
    /// Starts adaptation around `step_size` towards mean acceptance `target`.
    pub fn new(step_size: f64, target: f64) -> Self {
        DualAveraging {
            mu: (10.0 * step_size).ln(),
            h_bar: 0.0,
            log_eps: step_size.ln(),
            log_eps_bar: 0.0,
            t: 0.0,
            target,
        }
    }

    /// Updates with the acceptance statistic of the last transition; returns the next step size.
    pub fn update(&mut self, accept: f64) -> f64 {
        const GAMMA: f64 = 0.05;
        const T0: f64 = 10.0;
        const KAPPA: f64 = 0.75;
        self.t += 1.0;
        let w = 1.0 / (self.t + T0);
        self.h_bar = (1.0 - w) * self.h_bar + w * (self.target - accept);
        self.log_eps = self.mu - self.t.sqrt() / GAMMA * self.h_bar;
        let k = self.t.powf(-KAPPA);
        self.log_eps_bar = k * self.log_eps + (1.0 - k) * self.log_eps_bar;
        self.log_eps.exp()
    }

    /// The averaged step size to use after warm-up.
    pub fn final_step_size(&self) -> f64 {
        self.log_eps_bar.exp()
    }
}

/// Stan's warm-up schedule: a fast initial buffer, doubling slow windows in which the mass
/// matrix is estimated, and a fast terminal buffer.
#[derive(Debug, Clone)]
pub struct WarmupSchedule {
    /// Ends (exclusive iteration indices) of the slow windows.
    pub window_ends: Vec<usize>,
    /// First iteration of the first slow window.
    pub slow_start: usize,
}

impl WarmupSchedule {
    /// The schedule for `warmup` iterations.
    pub fn new(warmup: usize) -> Self {
        if warmup < 20 {
            return WarmupSchedule {
                window_ends: Vec::new(),
                slow_start: warmup,
            };
        }
        let (init, term, base) = if warmup < 150 {
            let init = warmup * 15 / 100;
            let term = warmup / 10;
            (init, term, warmup - init - term)
        } else {
            (75, 50, 25)
        };
        let slow_end = warmup - term;
        let mut ends = Vec::new();
        let mut start = init;
        let mut size = base;
        while start < slow_end {
            let mut end = start + size;
            // The last window stretches to the terminal buffer when the next would not fit.
            if end + 2 * size > slow_end {
                end = slow_end;
            }
            ends.push(end);
            start = end;
            size *= 2;
        }
        WarmupSchedule {
            window_ends: ends,
            slow_start: init,
        }
    }
}

/// Runs one HMC chain from `init`.
pub(crate) fn run_chain<D: LogDensity>(
    mut density: D,
    init_point: &[f64],
    opts: &SampleOptions,
    chain: usize,
    seed: u64,
    progress: &dyn Progress,
) -> Result<ChainRun> {
    use rand::SeedableRng;
    let mut r = Rng::seed_from_u64(seed);
    let dim = init_point.len();
    let mut state = init(&mut density, init_point.to_vec()).map_err(|e| {
        Error::Numeric(format!(
            "chain {}: the log density cannot be evaluated at the initial point: {e}",
            chain + 1
        ))
    })?;
    let mut inv_mass = vec![1.0; dim];
    let mut eps = initial_step_size(&mut r, &state, &mut density, &inv_mass)?;
    let mut da = DualAveraging::new(eps, opts.target_accept);
    let schedule = WarmupSchedule::new(opts.warmup);
    let mut window = 0;
    let (mut w_n, mut w_mean, mut w_m2) = (0usize, vec![0.0; dim], vec![0.0; dim]);
    let total = opts.warmup + opts.draws * opts.thin;
    let mut run = ChainRun::new(dim, opts);
    let mut clock = Instant::now();
    for i in 0..total {
        if i == opts.warmup {
            eps = if opts.warmup > 0 {
                da.final_step_size()
            } else {
                eps
            };
            run.seconds_warmup = clock.elapsed().as_secs_f64();
            clock = Instant::now();
        }
        // Jitter the step size after warm-up (±10%) so fixed-length trajectories cannot resonate.
        let e = if i >= opts.warmup {
            eps * (0.9 + 0.2 * rng::uniform(&mut r))
        } else {
            eps
        };
        let (next, info) = step(&mut r, &state, &mut density, e, &inv_mass, opts.hmc_steps)?;
        state = next;
        if i < opts.warmup {
            eps = da.update(info.accept_prob);
            if i >= schedule.slow_start && window < schedule.window_ends.len() {
                // Welford update of the draw variance in the current slow window.
                w_n += 1;
                for k in 0..dim {
                    let d = state.position[k] - w_mean[k];
                    w_mean[k] += d / w_n as f64;
                    w_m2[k] += d * (state.position[k] - w_mean[k]);
                }
                if i + 1 == schedule.window_ends[window] {
                    let n = w_n as f64;
                    for k in 0..dim {
                        let v = w_m2[k] / (n - 1.0).max(1.0);
                        // Stan's regularisation towards 1e-3 with weight 5 / (n + 5).
                        inv_mass[k] = (n / (n + 5.0)) * v + 1e-3 * (5.0 / (n + 5.0));
                    }
                    w_n = 0;
                    w_mean.iter_mut().for_each(|v| *v = 0.0);
                    w_m2.iter_mut().for_each(|v| *v = 0.0);
                    window += 1;
                    eps = initial_step_size(&mut r, &state, &mut density, &inv_mass)?;
                    da = DualAveraging::new(eps, opts.target_accept);
                }
            }
        }
        let d = DrawInfo {
            logp: state.logp,
            energy: info.energy,
            accept: info.accept_prob,
            step_size: e,
            gradients: info.gradients,
            depth: 0,
            max_depth_hit: false,
            diverging: info.diverging,
        };
        run.record(i, &state.position, &d);
        progress.tick(1, "");
    }
    if opts.warmup >= total {
        run.seconds_warmup = clock.elapsed().as_secs_f64();
    } else {
        run.seconds_sampling = clock.elapsed().as_secs_f64();
    }
    Ok(run)
}

/// Hoffman & Gelman's heuristic: double or halve the step size until the one-step acceptance
/// probability crosses 1/2.
fn initial_step_size<D: LogDensity>(
    r: &mut Rng,
    state: &HmcState,
    density: &mut D,
    inv_mass: &[f64],
) -> Result<f64> {
    let mut eps = 0.1;
    let accept = |r: &mut Rng, d: &mut D, e: f64| -> Result<f64> {
        Ok(step(r, state, d, e, inv_mass, 1)?.1.accept_prob)
    };
    let a0 = accept(r, density, eps)?;
    let up = a0 > 0.5;
    for _ in 0..50 {
        let next = if up { eps * 2.0 } else { eps / 2.0 };
        let a = accept(r, density, next)?;
        if up && a < 0.5 {
            break;
        }
        eps = next;
        if !up && a > 0.5 {
            break;
        }
    }
    Ok(eps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stan_schedule_for_1000_iterations() {
        // Stan: 75 + 25 + 50 + 100 + 200 + 500 (last window absorbs the rest) + 50.
        let s = WarmupSchedule::new(1000);
        assert_eq!(s.slow_start, 75);
        assert_eq!(s.window_ends, vec![100, 150, 250, 450, 950]);
    }
}
