//! The inference step of a fit: each method takes the prepared model (network, priors,
//! standardised data) to a posterior and the record of what happened — or, for a [`Plan`] other
//! than `All`, one unit of the fit or the number of units.
//!
//! Every method implements [`InferenceMethod`] in its own file under `fit/methods/` and is
//! listed once in [`REGISTRY`]; the fit, the unit machinery and the artifact checks ask the
//! registry, never match on the method.

use super::{Plan, Product};
use crate::config::Config;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::infer::{self, Method, Posterior};
use crate::model::ModelSpec;
use crate::nn::ParamLayout;
use crate::prior::{PriorSet, ResolvedPriors};

mod ensemble;
mod laplace;
mod mc_dropout;
mod mcmc;
mod point;
mod swag;
mod vi;

/// What the inference step produced.
pub(crate) enum Step {
    /// A posterior and its outcome record: the fit goes on to its record.
    Posterior(Box<dyn Posterior>, serde_json::Value),
    /// A unit or a count: the plan is done.
    Done(Product),
}

/// The model a method runs on, as the fit prepared it.
pub(crate) struct Prepared<'a> {
    /// Raw training data (for its fingerprint).
    pub data: &'a Dataset,
    /// Standardised training data.
    pub std_data: &'a Dataset,
    /// Network and likelihood.
    pub spec: &'a ModelSpec,
    /// Parameter groups.
    pub layout: &'a ParamLayout,
    /// The completed config.
    pub config: &'a Config,
}

/// One call of a method: its options, what to compute, the fit's key and the priors (which
/// Laplace's evidence may replace).
pub(crate) struct Run<'a, 'r> {
    /// Method, seed, progress.
    pub opts: super::FitOptions<'a>,
    /// Everything, one unit, the fit from units, or the unit count.
    pub plan: Plan<'a>,
    /// The key of the fit's units.
    pub key: String,
    /// The prior set (replaced by a tuned one by empirical Bayes).
    pub priors: &'r mut Option<PriorSet>,
    /// The resolved priors (likewise).
    pub resolved: &'r mut Option<ResolvedPriors>,
}

/// An inference method: its name, its options, its fit and the artifact kind of its posterior.
pub(crate) trait InferenceMethod: Sync {
    /// Which method this is.
    fn id(&self) -> Method;
    /// The name used on the command line and in files.
    fn name(&self) -> &'static str {
        self.id().name()
    }
    /// The artifact kind of the posterior it fits (see [`crate::infer::posterior_from_tensors`]).
    fn artifact_kind(&self) -> &'static str;
    /// Its options, read and checked from the config's `[inference]` table, as recorded.
    fn options(&self, config: &Config, spec: &ModelSpec) -> Result<serde_json::Value>;
    /// Whether the fit splits into units (members or chains) that can run elsewhere.
    fn has_units(&self) -> bool {
        false
    }
    /// Whether it supports priors with learned scales (hierarchical priors).
    fn hierarchical_priors(&self) -> bool {
        false
    }
    /// Runs the method on the prepared model for `run.plan`.
    fn fit(&self, p: &Prepared<'_>, run: Run<'_, '_>) -> Result<Step>;
}

/// Every method, in the order they are documented. A new method is a file under `fit/methods/`
/// and one line here.
pub(crate) static REGISTRY: &[&dyn InferenceMethod] = &[
    &point::Point(Method::Mle),
    &point::Point(Method::Map),
    &laplace::Laplace,
    &vi::Vi,
    &mc_dropout::McDropout,
    &ensemble::Ensemble(Method::Ensemble),
    &ensemble::Ensemble(Method::AnchoredEnsemble),
    &mcmc::Mcmc(Method::Nuts),
    &mcmc::Mcmc(Method::Hmc),
    &mcmc::Mcmc(Method::Sgld),
    &mcmc::Mcmc(Method::Sghmc),
    &swag::Swag(Method::Swag),
    &swag::Swag(Method::MultiSwag),
];

/// The implementation of `method`.
pub(crate) fn lookup(method: Method) -> Result<&'static dyn InferenceMethod> {
    REGISTRY
        .iter()
        .copied()
        .find(|m| m.id() == method)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "method '{}' has no implementation registered",
                method.name()
            ))
        })
}

/// Runs `opts.method` on the prepared model for `plan`; Laplace's evidence may replace the
/// priors (written back through `priors` and `resolved`).
pub(super) fn run(
    p: &Prepared<'_>,
    opts: super::FitOptions<'_>,
    plan: Plan<'_>,
    key: String,
    priors: &mut Option<PriorSet>,
    resolved: &mut Option<ResolvedPriors>,
) -> Result<Step> {
    let imp = lookup(opts.method)?;
    // The options are read (and checked) before any training.
    imp.options(p.config, p.spec)?;
    check_memory(p, opts.method, &plan)?;
    let step = imp.fit(
        p,
        Run {
            opts,
            plan,
            key,
            priors,
            resolved,
        },
    )?;
    if let Step::Posterior(post, _) = &step {
        if post.kind() != imp.artifact_kind() {
            return Err(Error::Invalid(format!(
                "{} produced a '{}' posterior where its artifact kind is '{}'",
                imp.name(),
                post.kind(),
                imp.artifact_kind()
            )));
        }
    }
    Ok(step)
}

/// The priors a method needs, or an error naming it.
fn needs_priors<'r>(run: &'r Run<'_, '_>) -> Result<&'r ResolvedPriors> {
    run.resolved
        .as_ref()
        .ok_or_else(|| Error::Invalid(format!("{} needs priors", run.opts.method.name())))
}

/// Refuses `method` before it allocates when what it keeps (draws, members, VI's scales)
/// exceeds the memory limit; one unit of a split fit keeps one chain or member. (Laplace is
/// checked once its curvature structure is settled.)
fn check_memory(p: &Prepared<'_>, method: Method, plan: &Plan<'_>) -> Result<()> {
    use crate::resources::Need;
    if matches!(plan, Plan::Count) {
        return Ok(());
    }
    let (spec, rows, config) = (p.spec, p.std_data.rows, p.config);
    let one = matches!(plan, Plan::One(_));
    let need = match method {
        Method::Nuts | Method::Hmc | Method::Sgld | Method::Sghmc => {
            let s = infer::McmcSettings::from_table(method, &config.inference, &config.source)?;
            let (chains, draws) = if matches!(method, Method::Nuts | Method::Hmc) {
                let o = &s.sample;
                (o.chains, o.draws.div_ceil(o.thin.max(1)))
            } else {
                let o = &s.sg;
                let sampled = match o.schedule {
                    infer::Schedule::Constant => o.epochs.saturating_sub(o.burnin),
                    infer::Schedule::Cyclical => o.epochs,
                };
                (o.chains, sampled.div_ceil(o.thin.max(1)))
            };
            Need::draws(spec, rows, method, if one { 1 } else { chains }, draws)
        }
        Method::Ensemble | Method::AnchoredEnsemble => {
            let settings = infer::settings::Settings::new(&config.inference, &config.source);
            let o = infer::ensemble::EnsembleOptions::from_settings(settings, spec)?;
            let members = if one { 1 } else { o.members };
            Need::ensemble(spec, rows, members, rayon::current_num_threads())
        }
        Method::Vi => Need::vi(spec, rows),
        Method::Swag | Method::MultiSwag => {
            let settings = infer::settings::Settings::new(&config.inference, &config.source);
            let o = infer::swag::SwagOptions::from_settings(
                settings,
                &config.training,
                method == Method::MultiSwag,
            )?;
            let members = if one { 1 } else { o.members };
            Need::swag(spec, rows, members, o.rank)
        }
        _ => return Ok(()),
    };
    crate::resources::check(&need, config.max_memory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_is_registered_once_with_a_loadable_kind() {
        for m in Method::ALL {
            let found: Vec<_> = REGISTRY.iter().filter(|r| r.id() == m).collect();
            assert_eq!(found.len(), 1, "{}", m.name());
            assert_eq!(found[0].name(), m.name());
            assert!(
                crate::infer::ARTIFACT_KINDS
                    .iter()
                    .any(|(k, _)| *k == found[0].artifact_kind()),
                "{}",
                m.name()
            );
        }
        assert_eq!(REGISTRY.len(), Method::ALL.len());
    }

    #[test]
    fn options_at_the_defaults_read() {
        let config = Config::default();
        let spec = ModelSpec {
            net: crate::nn::Mlp::new(vec![2, 4, 1], crate::nn::Activation::Tanh).into(),
            likelihood: crate::likelihood::Likelihood::Gaussian { noise: None },
        };
        for m in REGISTRY {
            m.options(&config, &spec)
                .unwrap_or_else(|e| panic!("{}: {e}", m.name()));
        }
    }
}
