//! MC dropout (Gal & Ghahramani 2016): train with dropout on every hidden layer's output and keep
//! it at prediction, averaging T stochastic passes.
//!
//! Weight decay ↔ prior: the dropout objective is the MAP objective under the stated priors with
//! the prior's log density on a weight matrix fed by dropped units multiplied by (1 − p) — Gal &
//! Ghahramani's KL term (1 − p)·l²/2·‖W‖² for a N(0, 1/l²) prior; biases and the first layer
//! (whose inputs are not dropped) keep the full prior. The rate is set (`inference.rate`) or
//! chosen from `inference.rate_grid` by the Monte Carlo log-likelihood on held-out training rows.

use super::settings::Settings;
use super::{NamedTensor, Posterior, PredictiveBuilder, Progress};
use crate::config::TrainConfig;
use crate::data::{train_test_split, Dataset};
use crate::error::{Error, Result};
use crate::model::{Model, ModelSpec};
use crate::optim::Adam;
use crate::predict::Predictive;
use crate::prior::ResolvedPriors;
use crate::rng::{self, Rng};
use serde::Serialize;
use std::collections::BTreeMap;

/// Settings of an MC dropout fit (`[inference]` keys in brackets).
#[derive(Debug, Clone, Serialize)]
pub struct DropoutOptions {
    /// Fixed dropout rate [`rate`]; when absent the rate is chosen from the grid.
    pub rate: Option<f64>,
    /// Candidate rates [`rate_grid`, 0.005, 0.01, 0.05, 0.1 as in Gal & Ghahramani's UCI runs].
    pub grid: Vec<f64>,
    /// Stochastic passes per prediction [`passes`, 100].
    pub passes: usize,
}

impl DropoutOptions {
    /// Reads the options from the `[inference]` table.
    pub fn from_settings(s: Settings<'_>) -> Result<Self> {
        let rate = s.opt_f64("rate")?;
        let grid = s.f64_list("rate_grid", &[0.005, 0.01, 0.05, 0.1])?;
        for &p in rate.iter().chain(&grid) {
            if !(0.0..1.0).contains(&p) {
                return Err(s.error(format!("dropout rates must be in [0, 1), found {p}")));
            }
        }
        if rate.is_none() && grid.is_empty() {
            return Err(s.error("inference.rate_grid is empty and no inference.rate is set".into()));
        }
        Ok(DropoutOptions {
            rate,
            grid,
            passes: s.usize("passes", 100)?.max(1),
        })
    }
}

/// One candidate rate's validation result.
#[derive(Debug, Clone, Serialize)]
pub struct RateTrial {
    /// Dropout rate.
    pub rate: f64,
    /// Epoch chosen by early stopping.
    pub epoch: usize,
    /// Mean MC-dropout log-likelihood per held-out row (standardised units).
    pub validation_log_lik: f64,
}

/// The outcome of an MC dropout fit, stored in the fit record.
#[derive(Debug, Clone, Serialize)]
pub struct DropoutFit {
    /// The trained weights (network, then log σ when learned).
    #[serde(skip)]
    pub theta: Vec<f64>,
    /// The rate used.
    pub rate: f64,
    /// How the rate was set: "config" or "validation".
    pub rate_source: &'static str,
    /// The candidates tried on held-out rows (empty when the rate was set and there was no validation).
    pub trials: Vec<RateTrial>,
    /// Epochs of the final fit.
    pub epochs: usize,
    /// Negative log joint (minibatch average, dropout objective) per epoch of the final fit.
    pub trace: Vec<f64>,
    /// Settings used.
    pub options: DropoutOptions,
}

/// Log prior with Gal & Ghahramani's (1 − p) factor on weights fed by dropped units; adds its
/// gradient to `grad`.
fn dropout_log_prior(
    spec: &ModelSpec,
    priors: &ResolvedPriors,
    rate: f64,
    theta: &[f64],
    grad: &mut [f64],
) -> f64 {
    let mut lp = 0.0;
    let fed = spec.net.dropout_fed_weights();
    for (range, d) in priors.network_groups() {
        let fed_by_dropout = fed.iter().any(|f| f.start == range.start);
        let f = if fed_by_dropout { 1.0 - rate } else { 1.0 };
        for i in range {
            lp += f * d.log_prob(theta[i]);
            grad[i] += f * d.grad_log_prob(theta[i]);
        }
    }
    let nd = spec.net.dim();
    for j in nd..nd + spec.noise_params() {
        if let Some((l, g)) = priors.noise_log_prior_grad(theta[j], false) {
            lp += l;
            grad[j] += g;
        }
    }
    lp
}

/// Trains with dropout for up to `epochs` epochs; with `val`, stops early on the deterministic
/// (weight-averaged) validation log-likelihood and returns the best epoch's weights.
#[allow(clippy::too_many_arguments)]
fn train(
    spec: &ModelSpec,
    priors: &ResolvedPriors,
    data: &Dataset,
    val: Option<&Dataset>,
    rate: f64,
    epochs: usize,
    cfg: &TrainConfig,
    seed: u64,
) -> Result<(Vec<f64>, usize, Vec<f64>)> {
    let n = data.rows;
    let bs = if cfg.batch_size == 0 {
        n
    } else {
        cfg.batch_size.min(n)
    };
    let mut theta = spec.init(&mut rng::stream(seed, 0x1417));
    let nd = spec.net.dim();
    let k = spec.net.outputs();
    let kt = spec.targets();
    let mut adam = Adam::new(theta.len(), cfg.learning_rate);
    let mut grad = vec![0.0; theta.len()];
    let net = &spec.net;
    let mut ws = net.workspace(bs);
    let (mut bx, mut by) = (Vec::new(), Vec::new());
    let mut r = rng::stream(seed, 0xd40);
    let mut val_model = val.map(|v| Model::new(spec.clone(), None, v)).transpose()?;
    let mut best = (f64::NEG_INFINITY, 0usize, theta.clone());
    let mut trace = Vec::with_capacity(epochs);
    for epoch in 0..epochs {
        let perm = rng::permutation(&mut r, n);
        let (mut total, mut batches) = (0.0, 0usize);
        for chunk in perm.chunks(bs) {
            let rows = chunk.len();
            bx.clear();
            by.clear();
            for &i in chunk {
                bx.extend_from_slice(data.row(i));
                by.extend_from_slice(data.target_row(i));
            }
            grad.fill(0.0);
            net.forward_dropout(&theta, &bx, rows, &mut ws, rate, &mut r);
            let ls = spec.log_sigmas(&theta);
            let mut gls = vec![0.0; kt];
            let (out, og) = ws.output_and_grad();
            let ll = spec.likelihood.log_lik_targets(
                out,
                &by,
                &ls,
                n as f64 / rows as f64,
                Some(&mut og[..rows * k]),
                &mut gls,
            );
            net.backward(&theta, &bx, rows, &mut ws, &mut grad);
            for (g, v) in grad[nd..nd + spec.noise_params()].iter_mut().zip(&gls) {
                *g += v;
            }
            let lp = ll + dropout_log_prior(spec, priors, rate, &theta, &mut grad);
            if !lp.is_finite() || grad.iter().any(|g| !g.is_finite()) {
                return Err(Error::Numeric(format!(
                    "MC dropout training diverged at epoch {} (rate {rate}); try a smaller training.learning_rate (now {})",
                    epoch + 1,
                    cfg.learning_rate
                )));
            }
            adam.step(&mut theta, &grad);
            total -= lp;
            batches += 1;
        }
        trace.push(total / batches as f64);
        if let Some(vm) = val_model.as_mut() {
            let ll = vm.log_likelihood(&theta) / vm.rows() as f64;
            if ll > best.0 {
                best = (ll, epoch + 1, theta.clone());
            }
            if epoch + 1 - best.1 >= cfg.patience {
                break;
            }
        }
    }
    if val_model.is_some() {
        Ok((best.2, best.1, trace))
    } else {
        let e = trace.len();
        Ok((theta, e, trace))
    }
}

/// Mean MC-dropout log predictive density per row of `data` (standardised units).
fn mc_log_lik(
    spec: &ModelSpec,
    theta: &[f64],
    rate: f64,
    passes: usize,
    data: &Dataset,
    seed: u64,
) -> Result<f64> {
    let mut r = rng::stream(seed, 0x7a1d);
    let p = McDropoutPosterior {
        theta: theta.to_vec(),
        rate,
        passes,
    }
    .predict(spec, &data.x, data.rows, &mut r)?;
    let lp = match p {
        Predictive::Regression(rp) => rp.log_density(&data.y),
        // Sum over targets of each target's log density (per row).
        Predictive::MultiRegression(per) => {
            let kt = per.len();
            let mut lp = vec![0.0; data.rows];
            for (k, rp) in per.iter().enumerate() {
                let yk: Vec<f64> = (0..data.rows).map(|n| data.y[n * kt + k]).collect();
                for (a, b) in lp.iter_mut().zip(rp.log_density(&yk)) {
                    *a += b;
                }
            }
            lp
        }
        Predictive::Classification(cp) => {
            let k = cp.classes;
            let probs = cp.probs();
            data.y
                .iter()
                .enumerate()
                .map(|(i, &c)| probs[i * k + c as usize].max(1e-300).ln())
                .collect()
        }
    };
    Ok(lp.iter().sum::<f64>() / data.rows as f64)
}

/// Fits MC dropout on standardised `data`.
pub fn fit_mc_dropout(
    spec: &ModelSpec,
    priors: &ResolvedPriors,
    data: &Dataset,
    cfg: &TrainConfig,
    opts: &DropoutOptions,
    seed: u64,
    progress: &dyn Progress,
) -> Result<DropoutFit> {
    if !spec.net.has_hidden() {
        return Err(Error::Invalid(
            "MC dropout needs at least one hidden layer (model.hidden, or a layer before the output in model.layers)".into(),
        ));
    }
    let use_val = cfg.validation_fraction > 0.0 && data.rows >= 20;
    if !use_val {
        let rate = opts.rate.unwrap_or(0.05);
        progress.start(1, "MC dropout");
        let (theta, epochs, trace) = train(spec, priors, data, None, rate, cfg.epochs, cfg, seed)?;
        progress.finish();
        return Ok(DropoutFit {
            theta,
            rate,
            rate_source: if opts.rate.is_some() {
                "config"
            } else {
                "default 0.05 (too few rows or no validation_fraction to choose one)"
            },
            trials: Vec::new(),
            epochs,
            trace,
            options: opts.clone(),
        });
    }
    let (tr, va) = train_test_split(data.rows, cfg.validation_fraction, seed ^ 0x7a1);
    let (dtr, dva) = (data.subset(&tr), data.subset(&va));
    let candidates: Vec<f64> = match opts.rate {
        Some(p) => vec![p],
        None => opts.grid.clone(),
    };
    progress.start(
        candidates.len() as u64 + 1,
        "MC dropout (rate on held-out rows)",
    );
    let mut trials = Vec::new();
    for (i, &rate) in candidates.iter().enumerate() {
        let (theta, epoch, _) = train(spec, priors, &dtr, Some(&dva), rate, cfg.epochs, cfg, seed)?;
        let vll = mc_log_lik(spec, &theta, rate, opts.passes, &dva, seed)?;
        trials.push(RateTrial {
            rate,
            epoch,
            validation_log_lik: vll,
        });
        progress.tick(i as u64 + 1, &format!("rate {rate}: val ll {vll:.3}"));
    }
    let best = trials
        .iter()
        .filter(|t| t.validation_log_lik.is_finite())
        .max_by(|a, b| a.validation_log_lik.total_cmp(&b.validation_log_lik))
        .cloned()
        .ok_or_else(|| {
            Error::Numeric("every dropout rate gave a non-finite validation log-likelihood".into())
        })?;
    let epochs = if cfg.refit {
        best.epoch.max(1)
    } else {
        cfg.epochs
    };
    let (theta, epochs, trace) = if cfg.refit {
        train(spec, priors, data, None, best.rate, epochs, cfg, seed)?
    } else {
        train(spec, priors, &dtr, Some(&dva), best.rate, epochs, cfg, seed)?
    };
    progress.finish();
    Ok(DropoutFit {
        theta,
        rate: best.rate,
        rate_source: if opts.rate.is_some() {
            "config"
        } else {
            "validation"
        },
        trials,
        epochs,
        trace,
        options: opts.clone(),
    })
}

/// MAP weights and a dropout rate: the `mc-dropout` artifact kind.
#[derive(Debug, Clone)]
pub struct McDropoutPosterior {
    /// Trained weights (network, then log σ when learned).
    pub theta: Vec<f64>,
    /// Dropout rate kept at prediction.
    pub rate: f64,
    /// Stochastic passes per prediction.
    pub passes: usize,
}

impl McDropoutPosterior {
    /// Rebuilds from an artifact's `theta`, `rate` and `passes` tensors.
    pub fn from_tensors(t: &BTreeMap<String, NamedTensor>) -> Result<Self> {
        let get = |name: &str| NamedTensor::find(t, name);
        let rate = get("rate")?.data.first().copied().unwrap_or(f64::NAN);
        let passes = get("passes")?.data.first().copied().unwrap_or(0.0);
        if !((0.0..1.0).contains(&rate)
            && passes >= 1.0
            && passes.fract() == 0.0
            && passes <= super::MAX_SAVED_COUNT as f64)
        {
            return Err(Error::Invalid(format!(
                "bad MC dropout settings in the artifact: rate {rate}, passes {passes}"
            )));
        }
        Ok(McDropoutPosterior {
            theta: get("theta")?.data.clone(),
            rate,
            passes: passes as usize,
        })
    }
}

impl Posterior for McDropoutPosterior {
    fn kind(&self) -> &'static str {
        "mc-dropout"
    }

    fn predict(
        &self,
        spec: &ModelSpec,
        x: &[f64],
        rows: usize,
        rng: &mut Rng,
    ) -> Result<Predictive> {
        let net = &spec.net;
        let mut ws = net.workspace(rows);
        let mut b = PredictiveBuilder::new(spec, rows);
        let ls = spec.log_sigmas(&self.theta);
        for _ in 0..self.passes {
            net.forward_dropout(&self.theta, x, rows, &mut ws, self.rate, rng);
            b.push_targets(ws.output(), &ls)?;
        }
        Ok(b.finish())
    }

    fn tensors(&self) -> Vec<NamedTensor> {
        vec![
            NamedTensor::vector("theta", self.theta.clone()),
            NamedTensor::scalar("rate", self.rate),
            NamedTensor::scalar("passes", self.passes as f64),
        ]
    }

    fn center(&self) -> Vec<f64> {
        self.theta.clone()
    }
}
