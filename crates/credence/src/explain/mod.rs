//! Explanations of what the prior does, downstream of fitting: prior predictive checks (what the
//! prior alone believes), prior sensitivity (how much a conclusion rests on the prior) and
//! small-data learning curves (whether the prior helps when data is scarce), and information from
//! the data per parameter group (how far the posterior moved from the prior).

pub mod curve;
pub mod information;
pub mod prior_check;
pub mod sensitivity;
pub mod transfer;

pub use curve::{
    curve_from_runs, curve_run, curve_runs, learning_curve, Curve, CurveOptions, CurvePoint,
    CurveRun, PairedDiff,
};
pub use information::{
    measure as measure_information, EpistemicShare, GroupInformation, Information,
};
pub use prior_check::{prior_check, PriorCheck, PriorCheckOptions};
pub use sensitivity::{
    sensitivity, sensitivity_from_units, sensitivity_unit, sensitivity_units, Alternative,
    Alternatives, Sensitivity, SensitivityOptions, SensitivityUnit,
};
pub use transfer::{transfer_experiment, TransferExperiment, TransferOptions, TransferRun};

use crate::config::{Config, LikelihoodConfig};
use crate::data::{ConstantColumn, Dataset, Standardizer};
use crate::error::Result;
use crate::model::ModelSpec;
use crate::prior::{PriorSet, ResolvedPriors};

/// The model as `fit` builds it for a Bayesian method: standardisation from the data, the
/// network and likelihood from the config, and the config's priors (or the labelled default)
/// resolved against the layout. Mirrors the first steps of `crate::fit::fit`.
#[derive(Debug, Clone)]
pub struct ModelSetup {
    /// Standardisation learned from the data.
    pub standardizer: Standardizer,
    /// Network and likelihood.
    pub spec: ModelSpec,
    /// The priors (noise prior dropped when the noise is not learned).
    pub priors: Option<PriorSet>,
    /// The priors matched to the layout.
    pub resolved: Option<ResolvedPriors>,
    /// The output belief the weight priors were calibrated to, if the config states one.
    pub output_prior: Option<crate::prior::Calibration>,
}

impl ModelSetup {
    /// Builds the model for `data` and `config`; `strict` refuses constant columns.
    pub fn new(data: &Dataset, config: &Config, strict: bool) -> Result<Self> {
        if data.targets() > 1 {
            return Err(crate::predict::one_target_only("this analysis"));
        }
        let lik_cfg = config
            .model
            .likelihood
            .clone()
            .unwrap_or(LikelihoodConfig::Gaussian { noise: None });
        let likelihood = lik_cfg.resolve(|| data.class_count())?;
        // Images keep their constant (blank-border) pixels, as in `fit`.
        let strict = strict && data.input_shape.is_none() && config.model.layers.is_none();
        if strict {
            data.check_not_constant()?;
        }
        let constant = if strict {
            ConstantColumn::Error
        } else {
            ConstantColumn::Keep
        };
        let standardizer = Standardizer::fit(data, likelihood.is_regression(), constant)?;
        let net = config.model.network(
            &data.source,
            data.features,
            data.input_shape.as_deref(),
            likelihood.outputs(),
        )?;
        let spec = ModelSpec { net, likelihood };
        let layout = spec.layout();
        let mut priors = config
            .priors
            .clone()
            .unwrap_or_else(PriorSet::default_priors);
        let mut output_prior = None;
        if let Some(belief) = &config.output_prior {
            let std = standardizer.transform(data)?;
            output_prior = Some(crate::prior::output::apply(
                &mut priors,
                belief,
                &spec,
                &std.x,
                std.rows,
                (standardizer.y_mean, standardizer.y_std),
                config.seed.unwrap_or(0),
            )?);
        }
        if layout.group("noise").is_none() {
            priors.priors.retain(|q| q.params != "noise");
        }
        let resolved = priors.resolve(&layout, &config.source)?;
        Ok(ModelSetup {
            standardizer,
            spec,
            priors: Some(priors),
            resolved: Some(resolved),
            output_prior,
        })
    }
}

/// Quantile of sorted values by linear interpolation.
pub(crate) fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = p * (sorted.len() - 1) as f64;
    let (i, f) = (h.floor() as usize, h.fract());
    if i + 1 >= sorted.len() {
        return sorted[sorted.len() - 1];
    }
    sorted[i] + f * (sorted[i + 1] - sorted[i])
}
