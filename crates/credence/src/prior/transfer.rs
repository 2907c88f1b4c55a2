//! Transfer priors: a saved posterior, summarised per parameter by a Gaussian (posterior mean and
//! marginal variance), becomes the prior of a new fit (sequential Bayesian updating; MOPED in
//! bayesian-torch does the same from a pretrained network).

use super::{NoiseParam, ParamNormals, Prior, PriorSet, Provenance};
use crate::dist::Dist;
use crate::error::{Error, Result};
use crate::nn::{GroupKind, ParamLayout};

/// What to do with the noise prior of the new fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransferNoise {
    /// Keep the new fit's configured (or default) noise prior.
    Keep,
    /// A Gamma prior on the noise precision from the source: moment-matched to its draws of σ
    /// (sample posteriors), or its noise posterior given the fitted network (point σ).
    #[default]
    Match,
}

impl TransferNoise {
    /// Parses `keep` or `match`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "keep" => Ok(Self::Keep),
            "match" => Ok(Self::Match),
            other => Err(Error::Invalid(format!(
                "the noise of a transferred prior is \"keep\" or \"match\", found \"{other}\""
            ))),
        }
    }
}

/// One Prior per network group with per-parameter Normals N(center[i], scale·var[i]).
///
/// `var[i]` that is NaN or not positive (a parameter the source held at a point, e.g. outside a
/// last-layer Laplace) falls back to `fallback_var[i]` (the source's own prior variance); the
/// note says how many. `scale` multiplies every variance (tempering; 1 = exact updating).
pub fn transfer_prior(
    layout: &ParamLayout,
    center: &[f64],
    var: &[f64],
    fallback_var: &[f64],
    scale: f64,
    mut provenance: Provenance,
) -> Result<PriorSet> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(Error::Invalid(format!(
            "the variance scale of a transferred prior must be a positive number, found {scale}"
        )));
    }
    let nd = layout.network_dim();
    if center.len() < nd || var.len() < nd {
        return Err(Error::Invalid(format!(
            "the source posterior has {} parameters, the network needs {nd}",
            center.len().min(var.len())
        )));
    }
    let mut fallback = 0;
    let mut priors = Vec::new();
    for g in layout.groups.iter().filter(|g| g.kind != GroupKind::Noise) {
        let mut loc = Vec::with_capacity(g.len());
        let mut sd = Vec::with_capacity(g.len());
        for i in g.range() {
            let v = if var[i].is_finite() && var[i] > 0.0 {
                var[i]
            } else {
                fallback += 1;
                fallback_var.get(i).copied().unwrap_or(f64::NAN)
            };
            if !(v.is_finite() && v > 0.0 && center[i].is_finite()) {
                return Err(Error::Invalid(format!(
                    "parameter {} of '{}' has posterior mean {} and variance {}: it cannot become a Gaussian prior",
                    i - g.start,
                    g.name,
                    center[i],
                    var[i]
                )));
            }
            loc.push(center[i]);
            sd.push((scale * v).sqrt());
        }
        let pp = ParamNormals { loc, scale: sd };
        priors.push(Prior {
            params: g.name.clone(),
            distribution: pp.summary(),
            provenance: Provenance::default_with("", ""),
            on: NoiseParam::Scale,
            per_parameter: Some(pp),
            hierarchy: None,
        });
    }
    if fallback > 0 {
        let extra = format!(
            "{fallback} parameters had no posterior spread and keep the source's prior variance"
        );
        provenance.note = if provenance.note.is_empty() {
            extra
        } else {
            format!("{}; {extra}", provenance.note)
        };
    }
    for p in &mut priors {
        p.provenance = provenance.clone();
    }
    Ok(PriorSet { priors })
}

/// A Gamma prior on the noise precision τ = 1/σ² with the mean of the draws' τ and `scale` times
/// their variance (method of moments); `None` with fewer than two draws or no spread.
pub fn noise_prior_from_draws(
    log_sigmas: &[f64],
    scale: f64,
    provenance: Provenance,
) -> Option<Prior> {
    if log_sigmas.len() < 2 {
        return None;
    }
    let tau: Vec<f64> = log_sigmas.iter().map(|l| (-2.0 * l).exp()).collect();
    let n = tau.len() as f64;
    let m = tau.iter().sum::<f64>() / n;
    let v = scale * tau.iter().map(|t| (t - m).powi(2)).sum::<f64>() / (n - 1.0);
    if !(m.is_finite() && v.is_finite() && v > 0.0) {
        return None;
    }
    Some(Prior {
        params: "noise".into(),
        distribution: Dist::Gamma {
            shape: m * m / v,
            rate: m / v,
        },
        provenance,
        on: NoiseParam::Precision,
        per_parameter: None,
        hierarchy: None,
    })
}

/// A Gamma prior on the noise precision τ = 1/σ² for a source whose σ is a point estimate σ̂
/// fitted on `rows` rows: the conjugate posterior of τ with the network's residuals held fixed,
/// Gamma(α₀ + n/2, β₀ + n σ̂²/2), from the source's Gamma(α₀, β₀) prior on τ (α₀ = β₀ = 0 when its
/// noise prior was of another form); shape and rate divided by `scale` (tempering: same mean,
/// about `scale` times the variance).
pub fn noise_prior_from_point(
    log_sigma: f64,
    rows: usize,
    source_prior: Option<&Prior>,
    scale: f64,
    provenance: Provenance,
) -> Option<Prior> {
    let (a0, b0) = match source_prior {
        Some(Prior {
            distribution: Dist::Gamma { shape, rate },
            on: NoiseParam::Precision,
            ..
        }) => (*shape, *rate),
        _ => (0.0, 0.0),
    };
    let n = rows as f64;
    let s2 = (2.0 * log_sigma).exp();
    let (shape, rate) = ((a0 + 0.5 * n) / scale, (b0 + 0.5 * n * s2) / scale);
    if !(shape.is_finite() && rate.is_finite() && shape > 0.0 && rate > 0.0) {
        return None;
    }
    Some(Prior {
        params: "noise".into(),
        distribution: Dist::Gamma { shape, rate },
        provenance,
        on: NoiseParam::Precision,
        per_parameter: None,
        hierarchy: None,
    })
}
