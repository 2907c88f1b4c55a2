//! SWAG and MultiSWAG: the MAP, then Gaussian moments of the iterates of further training.

use super::{InferenceMethod, Prepared, Run, Step};
use crate::config::Config;
use crate::error::Result;
use crate::fit::to_json;
use crate::infer::settings::Settings;
use crate::infer::swag::{fit_swag, SwagOptions};
use crate::infer::Method;
use crate::model::ModelSpec;

/// `Method::Swag` (one member) or `Method::MultiSwag`.
pub(super) struct Swag(pub Method);

impl Swag {
    fn read(&self, config: &Config) -> Result<SwagOptions> {
        let s = Settings::new(&config.inference, &config.source);
        SwagOptions::from_settings(s, &config.training, self.0 == Method::MultiSwag)
    }
}

impl InferenceMethod for Swag {
    fn id(&self) -> Method {
        self.0
    }

    fn artifact_kind(&self) -> &'static str {
        "swag"
    }

    fn options(&self, config: &Config, _spec: &ModelSpec) -> Result<serde_json::Value> {
        to_json(&self.read(config)?)
    }

    fn fit(&self, p: &Prepared<'_>, run: Run<'_, '_>) -> Result<Step> {
        let o = self.read(p.config)?;
        let f = fit_swag(
            p.spec,
            run.resolved.as_ref(),
            p.std_data,
            &p.config.training,
            &o,
            run.opts.seed,
            run.opts.progress,
        )?;
        let outcome = to_json(&f)?;
        Ok(Step::Posterior(Box::new(f.posterior()), outcome))
    }
}
