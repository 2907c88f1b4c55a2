//! Online tuning: the prior precisions and σ tuned on the evidence while the MAP trains.

use super::*;

/// One evidence evaluation during online tuning.
#[derive(Debug, Clone, Serialize)]
pub struct OnlineStep {
    /// Epochs trained so far.
    pub epoch: usize,
    /// Log evidence (under the online structure) after this evaluation's hyperparameter steps.
    pub log_evidence: f64,
    /// Prior precision per group after the steps.
    pub prior_precision: Vec<f64>,
    /// σ after the steps (learned-noise Gaussian), standardised units.
    pub sigma: Option<f64>,
}

/// What `tune = "online"` did: the evidence trace and the epoch kept.
#[derive(Debug, Clone, Serialize)]
pub struct OnlineOutcome {
    /// The settings.
    pub options: OnlineOptions,
    /// Names of the prior-precision groups, in the order of `trace[i].prior_precision`.
    pub groups: Vec<String>,
    /// Epoch whose network and hyperparameters were kept (best evidence).
    pub best_epoch: usize,
    /// The best log evidence under the online structure.
    pub best_log_evidence: f64,
    /// Every evaluation, in order.
    pub trace: Vec<OnlineStep>,
}

/// A prior set with one Normal per network parameter group of `spec` (loc and precision taken
/// from the first parameter of the group), plus the configured noise prior.
pub(super) fn per_group_priors(
    spec: &ModelSpec,
    loc: &[f64],
    lam: &[f64],
    configured: &ResolvedPriors,
    note: &str,
) -> PriorSet {
    let layout = spec.layout();
    let mut entries: Vec<Prior> = layout
        .groups
        .iter()
        .filter(|g| g.kind != GroupKind::Noise)
        .map(|g| Prior {
            params: g.name.clone(),
            distribution: Dist::Normal {
                loc: loc[g.start],
                scale: 1.0 / lam[g.start].sqrt(),
            },
            provenance: Provenance::default_with("online empirical Bayes", note),
            on: Default::default(),
            per_parameter: None,
            hierarchy: None,
        })
        .collect();
    if let Some((_, i)) = configured.assignment.iter().find(|(n, _)| n == "noise") {
        entries.push(configured.priors[*i].clone());
    }
    PriorSet { priors: entries }
}

/// Trains the network with Adam for a fixed number of epochs under the current
/// hyperparameters, taking evidence-gradient steps on them every few epochs (Immer et al.
/// 2021, "Scalable marginal likelihood estimation for model selection in deep learning"). No
/// validation rows: the epoch with the best evidence is kept. Returns the kept network (with
/// log σ set to the tuned noise), the priors at that epoch, and the trace.
pub(super) fn train_online(
    spec: &ModelSpec,
    priors: &ResolvedPriors,
    data: &Dataset,
    train: &TrainConfig,
    o: &LaplaceOptions,
    seed: u64,
    progress: &dyn Progress,
) -> Result<(PointFit, PriorSet, OnlineOutcome)> {
    let on = &o.online;
    if train.optimizer != crate::config::Optimizer::Adam {
        return Err(Error::Invalid(
            "tune = \"online\" trains the network with Adam (minibatches between evidence steps); set training.optimizer = \"adam\" or use tune = \"post-hoc\"".into(),
        ));
    }
    if train.weight_decay != 0.0 || train.l1 != 0.0 {
        return Err(Error::Invalid(
            "tune = \"online\" learns the prior precision from the evidence; a training.weight_decay or training.l1 penalty would add a second, hidden prior — remove it".into(),
        ));
    }
    let (loc, mut lam) = gaussian_prior(spec, priors)?;
    let nd = spec.net.dim();
    let learns_noise = spec.likelihood.learns_noise();
    let layout = spec.layout();
    let ev_opts = LaplaceOptions {
        hessian: on.hessian,
        ..o.clone()
    };
    let mut theta = spec.init(&mut rng::stream(seed, 0x1417));
    let warmup = crate::infer::point::MeanWarmup::new(spec, train)?;
    warmup.start(&mut theta);
    if learns_noise {
        // σ = 1 on the standardised target: the scale of the data before anything is learned.
        theta[nd] = 0.0;
    }
    let mut model = crate::model::Model::new(spec.clone(), None, data)?;
    let n = model.rows();
    let bs = if train.batch_size == 0 {
        n
    } else {
        train.batch_size.min(n)
    };
    let mut adam = Adam::new(theta.len(), train.learning_rate);
    let mut hyper_adam: Option<Adam> = None;
    let mut grad = vec![0.0; theta.len()];
    let mut r = rng::stream(seed, 0xada);
    let mut losses = Vec::with_capacity(on.epochs);
    let mut steps: Vec<OnlineStep> = Vec::new();
    let mut group_names = Vec::new();
    let mut best: Option<(f64, usize, Vec<f64>, Vec<f64>)> = None;
    let note = "prior precision set by online evidence maximisation during training";
    progress.start(on.epochs as u64, "Adam (online evidence)");
    for epoch in 0..on.epochs {
        if on.cosine {
            adam.lr = train.learning_rate
                * 0.5
                * (1.0 + (std::f64::consts::PI * epoch as f64 / on.epochs as f64).cos());
        }
        let perm = rng::permutation(&mut r, n);
        let mut total = 0.0;
        let mut batches = 0;
        for chunk in perm.chunks(bs) {
            let mut lp = model.logp_grad_batch(&theta, chunk, &mut grad).map_err(|e| {
                Error::Numeric(format!(
                    "online training diverged at epoch {} ({e}); try a smaller training.learning_rate (now {})",
                    epoch + 1,
                    train.learning_rate
                ))
            })?;
            for i in 0..nd {
                let d = theta[i] - loc[i];
                lp -= 0.5 * lam[i] * d * d;
                grad[i] -= lam[i] * d;
            }
            if learns_noise {
                // σ is a hyperparameter here: only the evidence moves it.
                grad[nd] = 0.0;
            }
            warmup.mask(epoch, &mut grad);
            adam.step(&mut theta, &grad);
            total -= lp;
            batches += 1;
        }
        losses.push(total / batches as f64);
        let done = epoch + 1;
        let due = done > on.burn_in
            && ((done - on.burn_in).is_multiple_of(on.frequency) || done == on.epochs);
        if due {
            let ps = per_group_priors(spec, &loc, &lam, priors, note);
            let rp = ps.resolve(&layout, "online tuning")?;
            let mut ev = Evidence::new(spec, &theta, data, &rp, &ev_opts)?;
            let adam_h =
                hyper_adam.get_or_insert_with(|| Adam::new(ev.log_hypers().len(), on.hyper_lr));
            ev.ascend(adam_h, on.hyper_steps)?;
            let le = ev.current()?;
            if !le.is_finite() {
                return Err(Error::Numeric(format!(
                    "the Laplace evidence is not finite at epoch {done} of online tuning"
                )));
            }
            let subset_start = match o.subset {
                Subset::All => 0,
                Subset::LastLayer => spec.net.last_layer_range().start,
            };
            for g in &ev.groups {
                for rg in &g.ranges {
                    for i in rg.clone() {
                        lam[i + subset_start] = g.lambda;
                    }
                }
            }
            if learns_noise {
                theta[nd] = ev.sigma.ln();
            }
            if group_names.is_empty() {
                group_names = ev.groups.iter().map(|g| g.name.clone()).collect();
            }
            steps.push(OnlineStep {
                epoch: done,
                log_evidence: le,
                prior_precision: ev.precisions(),
                sigma: learns_noise.then_some(ev.sigma),
            });
            if best.as_ref().is_none_or(|b| le > b.0) {
                best = Some((le, done, theta.clone(), lam.clone()));
            }
            progress.tick(done as u64, &format!("log evidence {le:.2}"));
        } else {
            progress.tick(done as u64, &format!("loss {:.3}", total / batches as f64));
        }
    }
    progress.finish();
    let Some((best_ev, best_epoch, best_theta, best_lam)) = best else {
        return Err(Error::Invalid(
            "online tuning never evaluated the evidence (online_burn_in ≥ online_epochs)".into(),
        ));
    };
    let ps = per_group_priors(spec, &loc, &best_lam, priors, note);
    Ok((
        PointFit {
            theta: best_theta,
            steps: losses.len(),
            trace: losses,
            early_stopping_epoch: None,
            validation_log_lik: None,
            converged: true,
        },
        ps,
        OnlineOutcome {
            options: on.clone(),
            groups: group_names,
            best_epoch,
            best_log_evidence: best_ev,
            trace: steps,
        },
    ))
}
