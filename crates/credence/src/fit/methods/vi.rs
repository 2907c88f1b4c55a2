//! Mean-field Gaussian variational inference.

use super::{needs_priors, InferenceMethod, Prepared, Run, Step};
use crate::config::Config;
use crate::error::Result;
use crate::fit::to_json;
use crate::infer::settings::Settings;
use crate::infer::vi::{fit_vi, GaussianMfPosterior, ViOptions};
use crate::infer::Method;
use crate::model::ModelSpec;

/// `Method::Vi`.
pub(super) struct Vi;

impl InferenceMethod for Vi {
    fn id(&self) -> Method {
        Method::Vi
    }

    fn artifact_kind(&self) -> &'static str {
        "gaussian-mf"
    }

    fn hierarchical_priors(&self) -> bool {
        true
    }

    fn options(&self, config: &Config, _spec: &ModelSpec) -> Result<serde_json::Value> {
        let s = Settings::new(&config.inference, &config.source);
        to_json(&ViOptions::from_settings(s, &config.training)?)
    }

    fn fit(&self, p: &Prepared<'_>, run: Run<'_, '_>) -> Result<Step> {
        let pri = needs_priors(&run)?;
        let settings = Settings::new(&p.config.inference, &p.config.source);
        let o = ViOptions::from_settings(settings, &p.config.training)?;
        let f = fit_vi(
            p.spec,
            pri,
            p.std_data,
            &o,
            run.opts.seed,
            run.opts.progress,
        )?;
        let outcome = to_json(&f)?;
        let post = GaussianMfPosterior {
            mean: f.mean,
            std: f.std,
            samples: o.samples,
        };
        Ok(Step::Posterior(Box::new(post), outcome))
    }
}
