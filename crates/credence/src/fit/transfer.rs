//! A saved posterior made into the prior of a new fit: yesterday's posterior is today's prior.

use super::{fit_inner, FitOptions, FittedModel};
use crate::config::Config;
use crate::data::{Dataset, Standardizer};
use crate::error::{Error, Result};
use crate::model::ModelSpec;
use crate::nn::{Mlp, Network};
use crate::prior::PriorSet;

/// A saved posterior made into the prior of a new fit (see [`transfer_from`]).
#[derive(Debug, Clone)]
pub struct Transfer {
    /// Per-parameter Normal priors on the network groups (and a noise prior when matched).
    pub priors: PriorSet,
    /// The source's standardisation, reused so that parameters mean the same thing.
    pub standardizer: Standardizer,
    /// The source's network and likelihood; the new fit must build the same.
    pub model: ModelSpec,
    /// The source's feature columns.
    pub features: Vec<String>,
    /// How the noise prior was chosen, in words.
    pub noise: String,
    /// Cautions about the source (e.g. an ensemble's members in different modes).
    pub warnings: Vec<String>,
}

/// Turns a saved posterior into a prior: per-parameter Normals with the posterior means and
/// marginal variances (Laplace: the marginals of its Gaussian; VI: its Gaussian; draws and
/// ensembles: moment-matched), variances multiplied by `scale` (tempering; 1 = exact updating).
/// The noise prior is the new fit's own (`Keep`) or a Gamma on the precision moment-matched to
/// the source's draws of σ (`Match`, sample posteriors only).
pub fn transfer_from(
    source: &FittedModel,
    scale: f64,
    noise: crate::prior::TransferNoise,
) -> Result<Transfer> {
    let r = &source.record;
    if r.model.targets() > 1 {
        return Err(crate::predict::one_target_only("a transferred prior"));
    }
    let kind = source.posterior.kind();
    let Some(var) = source.posterior.marginal_variances() else {
        return Err(Error::Invalid(format!(
            "the {} model has no posterior spread ({} posterior); a transferred prior needs a posterior with variances: laplace, vi, nuts, hmc, sgld, sghmc or ensemble",
            r.method, kind
        )));
    };
    let layout = r.model.layout();
    let fallback = r
        .priors
        .as_ref()
        .and_then(|p| p.resolve(&layout, "source model").ok())
        .map(|p| p.variances(r.model.dim()))
        .unwrap_or_default();
    let summary = match kind {
        "laplace" => "marginal variances of its Laplace Gaussian".to_string(),
        "gaussian-mf" => "its mean-field Gaussian".to_string(),
        "swag" => "the diagonal of its SWAG covariance".to_string(),
        _ => format!(
            "a Gaussian moment-matched to its {} draws",
            source.posterior.tensors().first().map_or(0, |t| t.shape[0])
        ),
    };
    let mut note = format!(
        "per-parameter Normal priors: posterior means and {summary} of the {} fit on {} rows of {}",
        r.method, r.data.rows, r.data.source
    );
    let mut warnings = Vec::new();
    if matches!(
        r.method.as_str(),
        "ensemble" | "anchored-ensemble" | "multiswag"
    ) {
        warnings.push(format!(
            "the {} members sit in different modes of the posterior (hidden units permute freely), so the moment-matched Gaussian centres on the average of their weights, usually a poor network; prefer a laplace or vi source",
            r.method
        ));
    }
    if scale != 1.0 {
        note.push_str(&format!("; variances multiplied by {scale}"));
    }
    let provenance = crate::prior::Provenance::factual(
        format!(
            "posterior of {} model fitted on {}",
            r.method, r.data.fingerprint
        ),
        note,
    );
    let mut priors = crate::prior::transfer_prior(
        &layout,
        &source.posterior.center(),
        &var,
        &fallback,
        scale,
        provenance.clone(),
    )?;
    let noise_words = match (noise, layout.group("noise")) {
        (crate::prior::TransferNoise::Keep, _) | (_, None) => {
            "the new fit's own noise prior (kept)".to_string()
        }
        (crate::prior::TransferNoise::Match, Some(g)) => {
            let ls: Vec<f64> = if kind == "draws" {
                source
                    .posterior
                    .tensors()
                    .first()
                    .map(|t| t.data.chunks(t.shape[1]).map(|d| d[g.start]).collect())
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            let mut pv = provenance.clone();
            let (p, words) = if ls.len() >= 2 {
                pv.note = format!(
                    "Gamma on the noise precision moment-matched to the {} draws of σ",
                    ls.len()
                );
                (
                    crate::prior::noise_prior_from_draws(&ls, scale, pv),
                    "a Gamma on the precision moment-matched to the source's draws of σ",
                )
            } else {
                let center = source.posterior.center();
                let src_noise = r
                    .priors
                    .as_ref()
                    .and_then(|p| p.priors.iter().find(|q| q.params == "noise"));
                pv.note = format!(
                    "Gamma on the noise precision: its posterior given the fitted network, from σ = {:.4} (standardised) on {} rows and the source's noise prior",
                    center.get(g.start).map_or(f64::NAN, |l| l.exp()),
                    r.data.rows
                );
                (
                    center.get(g.start).and_then(|&l| {
                        crate::prior::noise_prior_from_point(l, r.data.rows, src_noise, scale, pv)
                    }),
                    "a Gamma on the precision: the source's noise posterior given its fitted network (σ̂ and rows)",
                )
            };
            let p = p.ok_or_else(|| {
                Error::Invalid(format!(
                    "the {} model's noise cannot be made into a prior (no finite σ); use the new fit's own noise prior (keep)",
                    r.method
                ))
            })?;
            priors.priors.push(p);
            words.to_string()
        }
    };
    Ok(Transfer {
        priors,
        standardizer: r.standardizer.clone(),
        model: r.model.clone(),
        features: r.data.features.clone(),
        noise: noise_words,
        warnings,
    })
}

/// Fits with a transferred prior (see [`transfer_from`]): the network and the standardisation
/// are the source's; the config supplies method, training and inference settings (and the noise
/// prior unless matched).
pub fn fit_with_transfer(
    data: &Dataset,
    config: &Config,
    opts: FitOptions<'_>,
    transfer: &Transfer,
) -> Result<FittedModel> {
    fit_inner(data, config, opts, Some(transfer))
}

/// Checks that `spec` is the network the transferred prior was made for; names the first
/// layer that differs.
pub(crate) fn check_same_network(spec: &ModelSpec, source: &ModelSpec) -> Result<()> {
    let (Network::Mlp(mine), Network::Mlp(theirs)) = (&spec.net, &source.net) else {
        if spec.net != source.net {
            return Err(Error::Invalid(format!(
                "the transferred prior is for the network {} but this fit builds {}; use the same layers, input shape and likelihood",
                source.net.describe(),
                spec.net.describe()
            )));
        }
        return check_same_likelihood(spec, source);
    };
    let shape = |s: &Mlp| {
        s.sizes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("→")
    };
    let (a, b) = (&mine.sizes, &theirs.sizes);
    if a != b {
        let l = a
            .windows(2)
            .zip(b.windows(2))
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()).saturating_sub(1));
        let at = |s: &[usize]| {
            s.get(l)
                .zip(s.get(l + 1))
                .map_or("absent".to_string(), |(i, o)| format!("{i}×{o}"))
        };
        return Err(Error::Invalid(format!(
            "the transferred prior is for a network {} but this fit builds {}: layer{}.weight is {} in the prior and {} here; use the same hidden sizes, features and likelihood",
            shape(theirs),
            shape(mine),
            l + 1,
            at(b),
            at(a)
        )));
    }
    if mine.activation != theirs.activation {
        return Err(Error::Invalid(format!(
            "the transferred prior is for a {:?} network, this fit builds a {:?} one",
            theirs.activation, mine.activation
        )));
    }
    check_same_likelihood(spec, source)
}

/// Checks that `spec` has the likelihood the transferred prior was made for.
fn check_same_likelihood(spec: &ModelSpec, source: &ModelSpec) -> Result<()> {
    if spec.likelihood.name() != source.likelihood.name()
        || spec.likelihood.learns_noise() != source.likelihood.learns_noise()
    {
        return Err(Error::Invalid(format!(
            "the transferred prior is for a {} likelihood{}, this fit uses {}{}",
            source.likelihood.name(),
            if source.likelihood.learns_noise() {
                " with learned noise"
            } else {
                ""
            },
            spec.likelihood.name(),
            if spec.likelihood.learns_noise() {
                " with learned noise"
            } else {
                ""
            },
        )));
    }
    Ok(())
}
