//! The fit: the MAP, the curvature and the evidence tuning, to the posterior and its record.

use super::*;

/// What a Laplace fit reports in the fit record.
#[derive(Debug, Clone, Serialize)]
pub struct LaplaceOutcome {
    /// The MAP training run.
    pub map: PointFit,
    /// The settings.
    pub options: LaplaceOptions,
    /// Parameters covered by the Gaussian.
    pub params: usize,
    /// Log evidence at the configured prior and the MAP's σ (online: at the hyperparameters
    /// chosen during training, under the final structure).
    pub log_evidence_initial: f64,
    /// Log evidence at the chosen hyperparameters.
    pub log_evidence: f64,
    /// Prior precision per group, as chosen (name, precision, prior scale 1/√precision).
    pub prior_precision: Vec<(String, f64, f64)>,
    /// Observation noise σ in standardised units (Gaussian likelihood).
    pub sigma: Option<f64>,
    /// σ of the MAP fit, before tuning.
    pub sigma_map: Option<f64>,
    /// Several targets with learned noise: σ per target in standardised units, held at the MAP
    /// (the evidence tunes only the prior precisions then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigmas: Option<Vec<f64>>,
    /// Evidence-optimiser iterations (post hoc, or the refinement after online tuning).
    pub tuning_iterations: usize,
    /// Online tuning: the evidence trace and the epoch kept (`tune = "online"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online: Option<OnlineOutcome>,
    /// Curvature eigenvalues below zero that were clipped to zero (full and KFAC).
    pub clipped_eigenvalues: usize,
    /// The most negative eigenvalue before clipping (0 when none).
    pub most_negative_eigenvalue: f64,
    /// Jitter added to the diagonal of the posterior precision for its Cholesky factor (0 when none).
    pub jitter: f64,
    /// Hierarchical priors: the learned scales and the ARD ranking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hierarchy: Option<crate::infer::hierarchical::HierarchySummary>,
}

impl LaplaceOutcome {
    /// The outcome of a fit whose final evidence is `ev` (hyperparameters as chosen), around
    /// `map`; `sigma_map` is σ before tuning (Gaussian likelihood only).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn from_evidence(
        map: PointFit,
        options: &LaplaceOptions,
        params: usize,
        ev: &Evidence,
        log_evidence_initial: f64,
        log_evidence: f64,
        sigma_map: Option<f64>,
        tuning_iterations: usize,
        jitter: f64,
    ) -> Self {
        LaplaceOutcome {
            map,
            options: options.clone(),
            params,
            log_evidence_initial,
            log_evidence,
            prior_precision: ev
                .groups
                .iter()
                .map(|g| (g.name.clone(), g.lambda, 1.0 / g.lambda.sqrt()))
                .collect(),
            sigma: sigma_map.map(|_| ev.sigma),
            sigma_map,
            sigmas: None,
            tuning_iterations,
            online: None,
            clipped_eigenvalues: ev.clipped,
            most_negative_eigenvalue: ev.most_negative,
            jitter,
            hierarchy: None,
        }
    }
}

/// The result of `fit_laplace`.
#[derive(Debug)]
pub struct LaplaceFit {
    /// The posterior.
    pub posterior: LaplacePosterior,
    /// What happened.
    pub outcome: LaplaceOutcome,
    /// The prior after empirical Bayes (None without tuning), to record in the artifact.
    pub tuned_priors: Option<PriorSet>,
}

/// Fits a Laplace approximation: MAP under the configured (Gaussian) prior on standardised
/// `data` (or, with `tune = "online"`, under hyperparameters tuned during training), curvature,
/// evidence tuning, posterior. `fingerprint` names the data in the tuned prior's provenance.
#[allow(clippy::too_many_arguments)]
pub fn fit_laplace(
    spec: &ModelSpec,
    prior_set: &PriorSet,
    priors: &ResolvedPriors,
    data: &Dataset,
    train: &TrainConfig,
    o: &LaplaceOptions,
    seed: u64,
    progress: &dyn Progress,
    fingerprint: &str,
) -> Result<LaplaceFit> {
    lik_kind(spec)?;
    gaussian_prior(spec, priors)?;
    if spec.targets() > 1 && (o.tune == Tune::Online || !priors.hierarchy.is_empty()) {
        return Err(Error::Invalid(format!(
            "--method laplace with {} targets supports tune = \"none\" or \"post-hoc\" without hierarchical priors (σ per target is held at the MAP); {} is not available for several targets",
            spec.targets(),
            if o.tune == Tune::Online {
                "tune = \"online\""
            } else {
                "a hierarchical prior"
            }
        )));
    }
    if !priors.hierarchy.is_empty() {
        if o.tune == Tune::Online {
            return Err(Error::Invalid(
                "tune = \"online\" does not learn hierarchical scales; use tune = \"post-hoc\" (the scales are then learned by MAP ↔ evidence rounds, hierarchy_rounds)".into(),
            ));
        }
        return hier::fit_hierarchical(spec, priors, data, train, o, seed, progress, fingerprint);
    }
    if o.tune == Tune::Online {
        let (map, start, online) = train_online(spec, priors, data, train, o, seed, progress)?;
        let start = start.resolve(&spec.layout(), "online tuning")?;
        return laplace_core(
            spec,
            prior_set,
            priors,
            &start,
            data,
            map,
            o,
            fingerprint,
            Some(online),
        );
    }
    let map = train_point(spec, Some(priors), data, train, seed, progress)?;
    laplace_at(spec, prior_set, priors, data, map, o, fingerprint)
}

/// The Laplace approximation around a given MAP fit (see [`fit_laplace`]).
pub fn laplace_at(
    spec: &ModelSpec,
    prior_set: &PriorSet,
    priors: &ResolvedPriors,
    data: &Dataset,
    map: PointFit,
    o: &LaplaceOptions,
    fingerprint: &str,
) -> Result<LaplaceFit> {
    if o.tune == Tune::Online {
        return Err(Error::Invalid(
            "tune = \"online\" tunes during training; it cannot start from a trained network (use fit_laplace, or tune = \"post-hoc\")".into(),
        ));
    }
    laplace_core(
        spec,
        prior_set,
        priors,
        priors,
        data,
        map,
        o,
        fingerprint,
        None,
    )
}

/// Laplace around `map`; the evidence starts from the precisions of `start` (the configured
/// priors, or those chosen online) and the write-back keeps configured priors from `priors`.
#[allow(clippy::too_many_arguments)]
pub(super) fn laplace_core(
    spec: &ModelSpec,
    prior_set: &PriorSet,
    priors: &ResolvedPriors,
    start: &ResolvedPriors,
    data: &Dataset,
    map: PointFit,
    o: &LaplaceOptions,
    fingerprint: &str,
    online: Option<OnlineOutcome>,
) -> Result<LaplaceFit> {
    let theta = map.theta.clone();
    let mut ev = Evidence::new(spec, &theta, data, start, o)?;
    let initial = ev.current()?;
    let sigma_map = (ev.kind == LikKind::Gaussian).then_some(ev.sigma);
    let iterations = if o.tune == Tune::PostHoc || (o.tune == Tune::Online && o.online.refine) {
        ev.optimise()?
    } else {
        0
    };
    let final_ev = ev.current()?;
    let subset = match o.subset {
        Subset::All => 0..spec.net.dim(),
        Subset::LastLayer => spec.net.last_layer_range(),
    };
    let (posterior, jitter) = ev.posterior(&theta, subset.clone(), o, spec)?;
    let how = match &online {
        Some(t) => format!(
            "log evidence {initial:.3} at the hyperparameters chosen online (under {} curvature), {final_ev:.3} here; the network was trained for {} epochs with the prior precision and noise updated every {} epochs by the evidence (Immer et al. 2021) and kept at epoch {} (best evidence)",
            setting_name(&t.options.hessian),
            t.options.epochs,
            t.options.frequency,
            t.best_epoch
        ),
        None => format!(
            "log evidence {initial:.3} at the configured prior, {final_ev:.3} here; the MAP was trained under the configured prior"
        ),
    };
    let tuned_priors = (o.tune != Tune::None).then(|| {
        let mut entries: Vec<Prior> = ev
            .groups
            .iter()
            .map(|g| Prior {
                params: g.name.clone(),
                distribution: Dist::Normal {
                    loc: g.loc,
                    scale: 1.0 / g.lambda.sqrt(),
                },
                provenance: Provenance::factual(
                    format!("empirical Bayes (Laplace evidence) on {fingerprint}"),
                    format!(
                        "prior precision {:.4} maximises the Laplace log marginal likelihood ({}); {how}",
                        g.lambda,
                        o.describe(),
                    ),
                ),
                on: Default::default(),
                per_parameter: None,
                hierarchy: None,
            })
            .collect();
        // Keep the configured priors that still cover groups outside the tuned ones.
        let layout = spec.layout();
        let tuned_layers: Vec<usize> = ev.groups.iter().flat_map(|g| g.layers.clone()).collect();
        for (i, p) in prior_set.priors.iter().enumerate() {
            let covers_other = priors.assignment.iter().any(|(name, j)| {
                *j == i
                    && layout
                        .group(name)
                        .is_some_and(|g| g.kind == GroupKind::Noise || !tuned_layers.contains(&(g.layer - 1)))
            });
            if covers_other {
                entries.push(p.clone());
            }
        }
        PriorSet { priors: entries }
    });
    let mut outcome = LaplaceOutcome::from_evidence(
        map,
        o,
        subset.len(),
        &ev,
        initial,
        final_ev,
        sigma_map,
        iterations,
        jitter,
    );
    outcome.online = online;
    if spec.targets() > 1 && spec.likelihood.learns_noise() {
        outcome.sigmas = Some(spec.log_sigmas(&theta).iter().map(|l| l.exp()).collect());
    }
    Ok(LaplaceFit {
        posterior,
        outcome,
        tuned_priors,
    })
}
