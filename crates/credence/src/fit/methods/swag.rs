//! SWAG and MultiSWAG: the MAP, then Gaussian moments of the iterates of further training.
//! MultiSWAG's members are units that can run elsewhere (as ensemble members are).

use super::{InferenceMethod, Prepared, Run, Step};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::fit::{to_json, units, Plan, Product, UnitOutput};
use crate::infer::settings::Settings;
use crate::infer::swag::{assemble, fit_swag, fit_swag_member, SwagOptions};
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

    fn has_units(&self) -> bool {
        self.0 == Method::MultiSwag
    }

    fn options(&self, config: &Config, _spec: &ModelSpec) -> Result<serde_json::Value> {
        to_json(&self.read(config)?)
    }

    fn fit(&self, p: &Prepared<'_>, run: Run<'_, '_>) -> Result<Step> {
        let o = self.read(p.config)?;
        let (spec, priors, std_data, training, seed) = (
            p.spec,
            run.resolved.as_ref(),
            p.std_data,
            &p.config.training,
            run.opts.seed,
        );
        let f = match run.plan {
            Plan::Count => return Ok(Step::Done(Product::Count(o.members))),
            Plan::One(m) => {
                if m >= o.members {
                    return Err(Error::Invalid(format!(
                        "member {m} asked of a MultiSWAG fit of {} members",
                        o.members
                    )));
                }
                let fit = fit_swag_member(
                    spec,
                    priors,
                    std_data,
                    training,
                    &o,
                    seed,
                    m,
                    run.opts.progress,
                )?;
                return Ok(Step::Done(Product::Unit(Box::new(
                    UnitOutput::swag_member(run.key, m, fit),
                ))));
            }
            Plan::Given(given) => {
                assemble(units::swag_members_given(given, &run.key, o.members)?, &o)
            }
            Plan::All => fit_swag(
                spec,
                priors,
                std_data,
                training,
                &o,
                seed,
                run.opts.progress,
            )?,
        };
        let outcome = to_json(&f)?;
        Ok(Step::Posterior(Box::new(f.posterior()), outcome))
    }
}
