//! Deep ensembles (Lakshminarayanan et al. 2017): M independently initialised MAP networks; and
//! anchored ensembles (randomised MAP, Pearce et al. 2020): each member is regularised towards
//! its own draw from the prior. Members train in parallel (rayon), each on its own seed stream.
//!
//! Anchoring alone gives, for a linear-Gaussian model, members with the exact posterior mean but
//! covariance A⁻¹Σ₀⁻¹A⁻¹ (A the posterior precision): too narrow. Perturbing each member's
//! targets with noise drawn from the likelihood (y + σε) adds A⁻¹XᵀX/σ²A⁻¹ and makes the members
//! exact posterior draws (randomise-then-optimise). That is on by default when the noise is fixed
//! (`inference.perturb_targets`); with learned noise there is no σ to draw from, so it is off.

use super::settings::Settings;
use super::{train_point, PointFit, Progress, Silent};
use crate::config::TrainConfig;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::ModelSpec;
use crate::prior::ResolvedPriors;
use crate::rng;
use rand::RngCore;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// Settings of an ensemble fit (`[inference]` keys in brackets).
#[derive(Debug, Clone, Serialize)]
pub struct EnsembleOptions {
    /// Number of members [`members`, 5].
    pub members: usize,
    /// Anchored ensembles: add likelihood noise to each member's targets [`perturb_targets`,
    /// default true when the Gaussian noise is fixed].
    pub perturb_targets: bool,
}

impl EnsembleOptions {
    /// Reads the options from the `[inference]` table.
    pub fn from_settings(s: Settings<'_>, spec: &ModelSpec) -> Result<Self> {
        let fixed_gaussian = matches!(
            spec.likelihood,
            crate::likelihood::Likelihood::Gaussian { noise: Some(_) }
        );
        let perturb = s.bool("perturb_targets", fixed_gaussian)?;
        if perturb && !fixed_gaussian {
            return Err(s.error(
                "inference.perturb_targets needs a Gaussian likelihood with fixed noise (model.likelihood = { family = \"gaussian\", noise = ... })".into(),
            ));
        }
        let members = s.usize("members", 5)?;
        if members == 0 {
            return Err(s.error("inference.members must be at least 1".into()));
        }
        Ok(EnsembleOptions {
            members,
            perturb_targets: perturb,
        })
    }
}

/// What an ensemble fit produced, stored in the fit record.
#[derive(Debug, Clone, Serialize)]
pub struct EnsembleFit {
    /// Member parameter vectors.
    #[serde(skip)]
    pub members: Vec<Vec<f64>>,
    /// Each member's training outcome (trace, early stopping).
    pub member_fits: Vec<PointFit>,
    /// Whether members were anchored to prior draws.
    pub anchored: bool,
    /// Settings used.
    pub options: EnsembleOptions,
}

/// The seed of member `m`: an independent stream of `seed`.
pub fn member_seed(seed: u64, m: usize) -> u64 {
    rng::stream(seed, 0xe45e_0000 + m as u64).next_u64()
}

/// Trains member `m` of a deep ensemble (`anchored = false`) or an anchored ensemble: the unit
/// of work that [`fit_ensemble`] runs for every member (and a distributed fit runs elsewhere).
#[allow(clippy::too_many_arguments)]
pub fn fit_member(
    spec: &ModelSpec,
    priors: &ResolvedPriors,
    data: &Dataset,
    cfg: &TrainConfig,
    opts: &EnsembleOptions,
    anchored: bool,
    seed: u64,
    m: usize,
) -> Result<PointFit> {
    let s = member_seed(seed, m);
    let noise = spec.likelihood.fixed_noise().unwrap_or(0.0);
    if anchored {
        let mut r = rng::stream(s, 0xa9c4);
        let mut anchor = vec![0.0; spec.dim()];
        priors.sample(&mut r, &mut anchor);
        let member_priors = priors.anchored_at(&anchor);
        let mut d = data.clone();
        if opts.perturb_targets {
            for y in &mut d.y {
                *y += noise * rng::normal(&mut r);
            }
        }
        train_point(spec, Some(&member_priors), &d, cfg, s, &Silent)
    } else {
        train_point(spec, Some(priors), data, cfg, s, &Silent)
    }
    .map_err(|e| match e {
        Error::Numeric(msg) => Error::Numeric(format!("member {}: {msg}", m + 1)),
        other => other,
    })
}

/// An ensemble from its members' fits, in member order.
pub fn assemble(fits: Vec<PointFit>, anchored: bool, opts: &EnsembleOptions) -> EnsembleFit {
    EnsembleFit {
        members: fits.iter().map(|f| f.theta.clone()).collect(),
        member_fits: fits,
        anchored,
        options: opts.clone(),
    }
}

/// Trains the members of a deep ensemble (`anchored = false`) or an anchored ensemble.
#[allow(clippy::too_many_arguments)]
pub fn fit_ensemble(
    spec: &ModelSpec,
    priors: &ResolvedPriors,
    data: &Dataset,
    cfg: &TrainConfig,
    opts: &EnsembleOptions,
    anchored: bool,
    seed: u64,
    progress: &dyn Progress,
) -> Result<EnsembleFit> {
    let done = AtomicU64::new(0);
    progress.start(
        opts.members as u64,
        if anchored {
            "anchored ensemble members"
        } else {
            "ensemble members"
        },
    );
    let fits: Vec<PointFit> = (0..opts.members)
        .into_par_iter()
        .map(|m| -> Result<PointFit> {
            let fit = fit_member(spec, priors, data, cfg, opts, anchored, seed, m)?;
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress.tick(d, &format!("member {} done", m + 1));
            Ok(fit)
        })
        .collect::<Result<_>>()?;
    progress.finish();
    Ok(assemble(fits, anchored, opts))
}
