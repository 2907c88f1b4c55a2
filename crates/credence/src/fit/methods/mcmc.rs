//! NUTS, HMC, SGLD and SGHMC: chains (units for NUTS and HMC) of draws.

use super::{InferenceMethod, Prepared, Run, Step};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::fit::{to_json, units, Plan, Product, UnitOutput};
use crate::infer::{self, Method};
use crate::model::ModelSpec;

/// `Method::Nuts`, `Hmc`, `Sgld` or `Sghmc`.
pub(super) struct Mcmc(pub Method);

impl InferenceMethod for Mcmc {
    fn id(&self) -> Method {
        self.0
    }

    fn artifact_kind(&self) -> &'static str {
        "draws"
    }

    fn has_units(&self) -> bool {
        matches!(self.0, Method::Nuts | Method::Hmc)
    }

    fn hierarchical_priors(&self) -> bool {
        matches!(self.0, Method::Nuts | Method::Hmc)
    }

    fn options(&self, config: &Config, _spec: &ModelSpec) -> Result<serde_json::Value> {
        to_json(&infer::McmcSettings::from_table(
            self.0,
            &config.inference,
            &config.source,
        )?)
    }

    fn fit(&self, p: &Prepared<'_>, run: Run<'_, '_>) -> Result<Step> {
        let Prepared {
            spec,
            std_data,
            config,
            ..
        } = *p;
        let method = run.opts.method;
        let chains: Vec<infer::ChainUnit>;
        let given = match run.plan {
            Plan::All => None,
            Plan::Count => {
                let s = infer::McmcSettings::from_table(method, &config.inference, &config.source)?;
                return Ok(Step::Done(Product::Count(s.sample.chains)));
            }
            Plan::One(c) => {
                let unit = infer::run_chain_unit(
                    method,
                    spec,
                    run.resolved.as_ref(),
                    std_data,
                    &config.training,
                    &config.inference,
                    &config.source,
                    run.opts.seed,
                    c,
                    run.opts.progress,
                )?;
                return Ok(Step::Done(Product::Unit(Box::new(UnitOutput::chain(
                    run.key, c, unit,
                )))));
            }
            Plan::Given(given) => {
                chains = units::chains_given(given, &run.key)?;
                Some(chains.as_slice())
            }
        };
        let (post, outcome) = infer::fit_mcmc(
            method,
            spec,
            run.resolved.as_ref(),
            std_data,
            &config.training,
            &config.inference,
            &config.source,
            run.opts.seed,
            run.opts.progress,
            given,
        )?;
        let outcome = serde_json::to_value(&outcome).map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(Step::Posterior(Box::new(post), outcome))
    }
}
