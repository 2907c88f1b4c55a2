//! MC dropout: MAP training with dropout, kept at prediction.

use super::{needs_priors, InferenceMethod, Prepared, Run, Step};
use crate::config::Config;
use crate::error::Result;
use crate::fit::to_json;
use crate::infer::mc_dropout::{fit_mc_dropout, DropoutOptions, McDropoutPosterior};
use crate::infer::settings::Settings;
use crate::infer::Method;
use crate::model::ModelSpec;

/// `Method::McDropout`.
pub(super) struct McDropout;

impl InferenceMethod for McDropout {
    fn id(&self) -> Method {
        Method::McDropout
    }

    fn artifact_kind(&self) -> &'static str {
        "mc-dropout"
    }

    fn options(&self, config: &Config, _spec: &ModelSpec) -> Result<serde_json::Value> {
        let s = Settings::new(&config.inference, &config.source);
        to_json(&DropoutOptions::from_settings(s)?)
    }

    fn fit(&self, p: &Prepared<'_>, run: Run<'_, '_>) -> Result<Step> {
        let pri = needs_priors(&run)?;
        let settings = Settings::new(&p.config.inference, &p.config.source);
        let o = DropoutOptions::from_settings(settings)?;
        let f = fit_mc_dropout(
            p.spec,
            pri,
            p.std_data,
            &p.config.training,
            &o,
            run.opts.seed,
            run.opts.progress,
        )?;
        let outcome = to_json(&f)?;
        let post = McDropoutPosterior {
            theta: f.theta,
            rate: f.rate,
            passes: o.passes,
        };
        Ok(Step::Posterior(Box::new(post), outcome))
    }
}
