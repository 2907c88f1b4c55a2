//! MLE and MAP: the point trainer; the posterior is the one parameter vector.

use super::{InferenceMethod, Prepared, Run, Step};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::infer::{self, Method};
use crate::model::ModelSpec;

/// Maximum likelihood (`Method::Mle`) or maximum a posteriori (`Method::Map`).
pub(super) struct Point(pub Method);

impl InferenceMethod for Point {
    fn id(&self) -> Method {
        self.0
    }

    fn artifact_kind(&self) -> &'static str {
        "draws"
    }

    fn options(&self, config: &Config, _spec: &ModelSpec) -> Result<serde_json::Value> {
        crate::fit::to_json(&config.training)
    }

    fn fit(&self, p: &Prepared<'_>, run: Run<'_, '_>) -> Result<Step> {
        let pf = infer::train_point(
            p.spec,
            run.resolved.as_ref(),
            p.std_data,
            &p.config.training,
            run.opts.seed,
            run.opts.progress,
        )?;
        let outcome = serde_json::to_value(&pf).map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(Step::Posterior(
            Box::new(infer::DrawsPosterior::point(pf.theta)),
            outcome,
        ))
    }
}
