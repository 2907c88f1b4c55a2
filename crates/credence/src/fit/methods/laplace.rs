//! The Laplace approximation around the MAP, with evidence-tuned priors (empirical Bayes): the
//! tuned priors replace the configured ones in the record.

use super::{InferenceMethod, Prepared, Run, Step};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::fit::to_json;
use crate::infer::{self, Method};
use crate::model::ModelSpec;

/// `Method::Laplace`.
pub(super) struct Laplace;

impl InferenceMethod for Laplace {
    fn id(&self) -> Method {
        Method::Laplace
    }

    fn artifact_kind(&self) -> &'static str {
        "laplace"
    }

    fn hierarchical_priors(&self) -> bool {
        true
    }

    fn options(&self, config: &Config, _spec: &ModelSpec) -> Result<serde_json::Value> {
        to_json(&infer::LaplaceOptions::from_table(
            &config.inference,
            &config.source,
        )?)
    }

    fn fit(&self, p: &Prepared<'_>, run: Run<'_, '_>) -> Result<Step> {
        let Prepared {
            data,
            std_data,
            spec,
            layout,
            config,
        } = *p;
        let Run {
            opts,
            priors,
            resolved,
            ..
        } = run;
        let mut lopts = infer::LaplaceOptions::from_table(&config.inference, &config.source)?;
        if resolved.as_ref().is_some_and(|r| r.has_per_parameter()) {
            // A per-parameter (transferred) prior is kept as is: the evidence does not retune
            // it, and KFAC's one precision per layer cannot hold it.
            if config.inference.contains_key("tune") && lopts.tune != infer::Tune::None {
                let tune = if lopts.tune == infer::Tune::Online {
                    "online"
                } else {
                    "post-hoc"
                };
                return Err(Error::Invalid(format!(
                    "tune = \"{tune}\" would replace the transferred per-parameter prior by a tuned one per group; remove it (the transferred prior is kept, tune = \"none\")"
                )));
            }
            lopts.tune = infer::Tune::None;
            if !config.inference.contains_key("hessian") {
                // KFAC cannot hold per-parameter precisions: the full Hessian where it fits,
                // else the diagonal.
                let covered = match lopts.subset {
                    infer::Subset::All => spec.net.dim(),
                    infer::Subset::LastLayer => spec.net.last_layer_range().len(),
                };
                lopts.hessian = if covered <= lopts.max_full_params {
                    infer::HessianStructure::Full
                } else {
                    infer::HessianStructure::Diag
                };
            }
        }
        if config.output_prior.is_some() && !config.inference.contains_key("hessian") {
            // An output prior's weights and biases have different scales in a layer, which
            // KFAC's one precision per layer cannot hold: the full Hessian where it fits.
            lopts.hessian = if spec.net.dim() <= lopts.max_full_params {
                infer::HessianStructure::Full
            } else {
                infer::HessianStructure::Diag
            };
        }
        crate::resources::check(
            &crate::resources::Need::laplace(spec, std_data.rows, &lopts),
            config.max_memory,
        )?;
        let (Some(ps), Some(rp)) = (priors.as_ref(), resolved.as_ref()) else {
            return Err(Error::Invalid(
                "the Laplace approximation needs a prior".into(),
            ));
        };
        let lf = infer::fit_laplace(
            spec,
            ps,
            rp,
            std_data,
            &config.training,
            &lopts,
            opts.seed,
            opts.progress,
            &data.fingerprint(),
        )?;
        let outcome =
            serde_json::to_value(&lf.outcome).map_err(|e| Error::Invalid(e.to_string()))?;
        if let Some(tuned) = lf.tuned_priors {
            *resolved = Some(tuned.resolve(layout, &config.source)?);
            *priors = Some(tuned);
        }
        Ok(Step::Posterior(Box::new(lf.posterior), outcome))
    }
}
