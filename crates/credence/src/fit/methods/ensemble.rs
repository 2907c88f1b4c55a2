//! Deep ensembles and anchored ensembles: members are units that can run elsewhere.

use super::{needs_priors, InferenceMethod, Prepared, Run, Step};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::fit::{to_json, units, Plan, Product, UnitOutput};
use crate::infer::ensemble::{assemble, fit_ensemble, fit_member, EnsembleOptions};
use crate::infer::settings::Settings;
use crate::infer::{DrawsPosterior, Method};
use crate::model::ModelSpec;

/// `Method::Ensemble` or `Method::AnchoredEnsemble`.
pub(super) struct Ensemble(pub Method);

impl InferenceMethod for Ensemble {
    fn id(&self) -> Method {
        self.0
    }

    fn artifact_kind(&self) -> &'static str {
        "draws"
    }

    fn has_units(&self) -> bool {
        true
    }

    fn options(&self, config: &Config, spec: &ModelSpec) -> Result<serde_json::Value> {
        let s = Settings::new(&config.inference, &config.source);
        to_json(&EnsembleOptions::from_settings(s, spec)?)
    }

    fn fit(&self, p: &Prepared<'_>, run: Run<'_, '_>) -> Result<Step> {
        let pri = needs_priors(&run)?;
        let settings = Settings::new(&p.config.inference, &p.config.source);
        let o = EnsembleOptions::from_settings(settings, p.spec)?;
        let anchored = self.0 == Method::AnchoredEnsemble;
        let (spec, std_data, training, seed) =
            (p.spec, p.std_data, &p.config.training, run.opts.seed);
        let f = match run.plan {
            Plan::Count => return Ok(Step::Done(Product::Count(o.members))),
            Plan::One(m) => {
                if m >= o.members {
                    return Err(Error::Invalid(format!(
                        "member {m} asked of an ensemble of {} members",
                        o.members
                    )));
                }
                let fit = fit_member(spec, pri, std_data, training, &o, anchored, seed, m)?;
                return Ok(Step::Done(Product::Unit(Box::new(UnitOutput::member(
                    run.key, m, fit,
                )))));
            }
            Plan::Given(given) => assemble(
                units::members_given(given, &run.key, o.members)?,
                anchored,
                &o,
            ),
            Plan::All => fit_ensemble(
                spec,
                pri,
                std_data,
                training,
                &o,
                anchored,
                seed,
                run.opts.progress,
            )?,
        };
        let outcome = to_json(&f)?;
        Ok(Step::Posterior(
            Box::new(DrawsPosterior { draws: f.members }),
            outcome,
        ))
    }
}
