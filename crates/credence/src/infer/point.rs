//! Point estimates (MLE and MAP): minibatch Adam with optional early stopping on held-out
//! rows, or full-batch L-BFGS.

use super::Progress;
use crate::config::{Optimizer, TrainConfig};
use crate::data::{train_test_split, Dataset};
use crate::density::LogDensity;
use crate::error::{Error, Result};
use crate::model::{Model, ModelSpec, Penalty};
use crate::optim::{lbfgs, Adam};
use crate::prior::ResolvedPriors;
use crate::rng;
use serde::{Deserialize, Serialize};

/// The outcome of training a point estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointFit {
    /// The parameters found.
    #[serde(skip)]
    pub theta: Vec<f64>,
    /// Negative log joint per epoch (Adam: minibatch average; L-BFGS: per iteration, final only).
    pub trace: Vec<f64>,
    /// Epochs (Adam) or iterations (L-BFGS) run in the final fit.
    pub steps: usize,
    /// Epoch chosen by early stopping, if used.
    pub early_stopping_epoch: Option<usize>,
    /// Best mean validation log-likelihood per row (standardised units), if early stopping ran.
    pub validation_log_lik: Option<f64>,
    /// Whether the optimiser met its tolerance (L-BFGS).
    pub converged: bool,
}

/// A model on `data` with the priors and the config's penalties.
pub(crate) fn bound(
    spec: &ModelSpec,
    priors: Option<&ResolvedPriors>,
    data: &Dataset,
    cfg: &TrainConfig,
) -> Result<Model> {
    let mut m = Model::new(spec.clone(), priors.cloned(), data)?;
    m.penalty = Penalty {
        l2: cfg.weight_decay,
        l1: cfg.l1,
    };
    Ok(m)
}

/// `training.mean_warmup`: for the first epochs a heteroscedastic network's log-scale output is
/// held at log σ = 0 (the parameters feeding only it stay at zero), so training fits the mean
/// before the variance can absorb the residuals. The objective afterwards is unchanged.
#[derive(Debug, Clone)]
pub(crate) struct MeanWarmup {
    idx: Vec<usize>,
    epochs: usize,
}

impl MeanWarmup {
    /// The warm-up of `cfg` for `spec`; an error if it is asked for with another likelihood.
    pub(crate) fn new(spec: &ModelSpec, cfg: &TrainConfig) -> Result<Self> {
        // The log-scale output's weight column only: its bias keeps learning, so during the
        // warm-up the network is homoscedastic with a learned σ (all rows weighted alike).
        let mut idx = spec.log_scale_params();
        idx.pop();
        if cfg.mean_warmup > 0 && idx.is_empty() {
            return Err(Error::Invalid(format!(
                "training.mean_warmup = {} holds a heteroscedastic network's log-scale output; this model's likelihood is {} (set mean_warmup = 0 or likelihood = {{ family = \"heteroscedastic\" }})",
                cfg.mean_warmup,
                spec.likelihood.name()
            )));
        }
        Ok(MeanWarmup {
            idx,
            epochs: cfg.mean_warmup,
        })
    }

    /// Sets the held parameters to zero at the start of training.
    pub(crate) fn start(&self, theta: &mut [f64]) {
        if self.epochs > 0 {
            self.idx.iter().for_each(|&i| theta[i] = 0.0);
        }
    }

    /// Zeroes the held parameters' gradient during the warm-up epochs (Adam then leaves them
    /// where they are: its moments stay zero).
    pub(crate) fn mask(&self, epoch: usize, grad: &mut [f64]) {
        if epoch < self.epochs {
            self.idx.iter().for_each(|&i| grad[i] = 0.0);
        }
    }
}

fn adam_epochs(
    model: &mut Model,
    theta: &mut [f64],
    cfg: &TrainConfig,
    epochs: usize,
    seed: u64,
    mut on_epoch: impl FnMut(usize, &[f64], f64) -> Result<bool>,
) -> Result<Vec<f64>> {
    let warmup = MeanWarmup::new(&model.spec, cfg)?;
    warmup.start(theta);
    let n = model.rows();
    let bs = if cfg.batch_size == 0 {
        n
    } else {
        cfg.batch_size.min(n)
    };
    let mut adam = Adam::new(theta.len(), cfg.learning_rate);
    let mut grad = vec![0.0; theta.len()];
    let mut r = rng::stream(seed, 0xada);
    let mut trace = Vec::with_capacity(epochs);
    for epoch in 0..epochs {
        let perm = rng::permutation(&mut r, n);
        let mut total = 0.0;
        let mut batches = 0;
        for chunk in perm.chunks(bs) {
            let lp = model.logp_grad_batch(theta, chunk, &mut grad).map_err(|e| {
                Error::Numeric(format!(
                    "training diverged at epoch {} ({e}); try a smaller training.learning_rate (now {})",
                    epoch + 1,
                    cfg.learning_rate
                ))
            })?;
            warmup.mask(epoch, &mut grad);
            adam.step(theta, &grad);
            total -= lp;
            batches += 1;
        }
        trace.push(total / batches as f64);
        if !on_epoch(epoch, theta, total / batches as f64)? {
            break;
        }
    }
    Ok(trace)
}

/// Trains a point estimate of the model on standardised `data` (MAP when `priors` is given,
/// MLE otherwise).
pub fn train_point(
    spec: &ModelSpec,
    priors: Option<&ResolvedPriors>,
    data: &Dataset,
    cfg: &TrainConfig,
    seed: u64,
    progress: &dyn Progress,
) -> Result<PointFit> {
    let mut init_rng = rng::stream(seed, 0x1417);
    let mut init = spec.init(&mut init_rng);
    if let Some(p) = priors {
        p.start_at_transferred(&mut init);
    }
    match cfg.optimizer {
        Optimizer::Lbfgs => {
            if cfg.mean_warmup > 0 {
                return Err(Error::Invalid(
                    "training.mean_warmup counts Adam epochs; with optimizer = \"lbfgs\" there are none (remove it or use optimizer = \"adam\")".into(),
                ));
            }
            let mut model = bound(spec, priors, data, cfg)?;
            progress.start(cfg.max_iterations as u64, "L-BFGS");
            let mut calls = 0u64;
            let mut f = |t: &[f64], g: &mut [f64]| -> Result<f64> {
                let lp = model.logp_grad(t, g)?;
                g.iter_mut().for_each(|v| *v = -*v);
                calls += 1;
                progress.tick(calls.min(cfg.max_iterations as u64), "");
                Ok(-lp)
            };
            let r = lbfgs(&mut f, &init, cfg.max_iterations, cfg.tolerance, 10)?;
            progress.finish();
            Ok(PointFit {
                theta: r.x,
                trace: vec![r.value],
                steps: r.iterations,
                early_stopping_epoch: None,
                validation_log_lik: None,
                converged: r.converged,
            })
        }
        Optimizer::Adam => {
            let use_val = cfg.validation_fraction > 0.0 && data.rows >= 20;
            if !use_val {
                let mut model = bound(spec, priors, data, cfg)?;
                let mut theta = init;
                progress.start(cfg.epochs as u64, "Adam");
                let trace = adam_epochs(
                    &mut model,
                    &mut theta,
                    cfg,
                    cfg.epochs,
                    seed,
                    |e, _, loss| {
                        progress.tick(e as u64 + 1, &format!("loss {loss:.3}"));
                        Ok(true)
                    },
                )?;
                progress.finish();
                return Ok(PointFit {
                    theta,
                    steps: trace.len(),
                    trace,
                    early_stopping_epoch: None,
                    validation_log_lik: None,
                    converged: true,
                });
            }
            let (tr, va) = train_test_split(data.rows, cfg.validation_fraction, seed ^ 0x7a1);
            let (dtr, dva) = (data.subset(&tr), data.subset(&va));
            let mut model = bound(spec, priors, &dtr, cfg)?;
            let mut val = Model::new(spec.clone(), None, &dva)?;
            let mut theta = init.clone();
            let mut best = (f64::NEG_INFINITY, 0usize, theta.clone());
            progress.start(cfg.epochs as u64, "Adam (early stopping)");
            let nva = dva.rows as f64;
            let trace = adam_epochs(&mut model, &mut theta, cfg, cfg.epochs, seed, |e, t, _| {
                let ll = val.log_likelihood(t) / nva;
                if ll > best.0 {
                    best = (ll, e + 1, t.to_vec());
                }
                progress.tick(e as u64 + 1, &format!("val ll {ll:.3}"));
                Ok(e + 1 - best.1 < cfg.patience)
            })?;
            progress.finish();
            let (val_ll, best_epoch, best_theta) = best;
            if !cfg.refit {
                return Ok(PointFit {
                    theta: best_theta,
                    steps: trace.len(),
                    trace,
                    early_stopping_epoch: Some(best_epoch),
                    validation_log_lik: Some(val_ll),
                    converged: true,
                });
            }
            let mut full = bound(spec, priors, data, cfg)?;
            let mut theta = init;
            progress.start(best_epoch as u64, "Adam (refit on all rows)");
            let trace = adam_epochs(&mut full, &mut theta, cfg, best_epoch, seed, |e, _, _| {
                progress.tick(e as u64 + 1, "");
                Ok(true)
            })?;
            progress.finish();
            Ok(PointFit {
                theta,
                steps: trace.len(),
                trace,
                early_stopping_epoch: Some(best_epoch),
                validation_log_lik: Some(val_ll),
                converged: true,
            })
        }
    }
}
