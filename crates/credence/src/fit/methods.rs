//! The inference step of a fit: each method takes the prepared model (network, priors,
//! standardised data) to a posterior and the record of what happened — or, for a [`Plan`] other
//! than `All`, one unit of the fit or the number of units.

use super::{to_json, units, Plan, Product, UnitOutput};
use crate::config::Config;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::infer::{self, Method, Posterior};
use crate::model::ModelSpec;
use crate::nn::ParamLayout;
use crate::prior::{PriorSet, ResolvedPriors};

/// What the inference step produced.
pub(super) enum Step {
    /// A posterior and its outcome record: the fit goes on to its record.
    Posterior(Box<dyn Posterior>, serde_json::Value),
    /// A unit or a count: the plan is done.
    Done(Product),
}

/// The model a method runs on, as the fit prepared it.
pub(super) struct Prepared<'a> {
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
    let Prepared {
        data,
        std_data,
        spec,
        layout,
        config,
    } = *p;
    check_memory(p, opts.method, &plan)?;
    let (posterior, outcome): (Box<dyn Posterior>, serde_json::Value) = match opts.method {
        Method::Mle | Method::Map => {
            let pf = infer::train_point(
                spec,
                resolved.as_ref(),
                std_data,
                &config.training,
                opts.seed,
                opts.progress,
            )?;
            let outcome = serde_json::to_value(&pf).map_err(|e| Error::Invalid(e.to_string()))?;
            (Box::new(infer::DrawsPosterior::point(pf.theta)), outcome)
        }
        Method::Vi | Method::McDropout | Method::Ensemble | Method::AnchoredEnsemble => {
            let pri = resolved
                .as_ref()
                .ok_or_else(|| Error::Invalid(format!("{} needs priors", opts.method.name())))?;
            let settings = infer::settings::Settings::new(&config.inference, &config.source);
            match opts.method {
                Method::Vi => {
                    let o = infer::vi::ViOptions::from_settings(settings, &config.training)?;
                    let f = infer::vi::fit_vi(spec, pri, std_data, &o, opts.seed, opts.progress)?;
                    let outcome = to_json(&f)?;
                    let post = infer::vi::GaussianMfPosterior {
                        mean: f.mean,
                        std: f.std,
                        samples: o.samples,
                    };
                    (Box::new(post) as Box<dyn Posterior>, outcome)
                }
                Method::McDropout => {
                    let o = infer::mc_dropout::DropoutOptions::from_settings(settings)?;
                    let f = infer::mc_dropout::fit_mc_dropout(
                        spec,
                        pri,
                        std_data,
                        &config.training,
                        &o,
                        opts.seed,
                        opts.progress,
                    )?;
                    let outcome = to_json(&f)?;
                    let post = infer::mc_dropout::McDropoutPosterior {
                        theta: f.theta,
                        rate: f.rate,
                        passes: o.passes,
                    };
                    (Box::new(post) as Box<dyn Posterior>, outcome)
                }
                _ => {
                    let o = infer::ensemble::EnsembleOptions::from_settings(settings, spec)?;
                    let anchored = opts.method == Method::AnchoredEnsemble;
                    let f = match plan {
                        Plan::Count => return Ok(Step::Done(Product::Count(o.members))),
                        Plan::One(m) => {
                            if m >= o.members {
                                return Err(Error::Invalid(format!(
                                    "member {m} asked of an ensemble of {} members",
                                    o.members
                                )));
                            }
                            let fit = infer::ensemble::fit_member(
                                spec,
                                pri,
                                std_data,
                                &config.training,
                                &o,
                                anchored,
                                opts.seed,
                                m,
                            )?;
                            return Ok(Step::Done(Product::Unit(Box::new(UnitOutput::member(
                                key, m, fit,
                            )))));
                        }
                        Plan::Given(given) => infer::ensemble::assemble(
                            units::members_given(given, &key, o.members)?,
                            anchored,
                            &o,
                        ),
                        Plan::All => infer::ensemble::fit_ensemble(
                            spec,
                            pri,
                            std_data,
                            &config.training,
                            &o,
                            anchored,
                            opts.seed,
                            opts.progress,
                        )?,
                    };
                    let outcome = to_json(&f)?;
                    (
                        Box::new(infer::DrawsPosterior { draws: f.members }) as Box<dyn Posterior>,
                        outcome,
                    )
                }
            }
        }
        Method::Nuts | Method::Hmc | Method::Sgld | Method::Sghmc => {
            let chains: Vec<infer::ChainUnit>;
            let given = match plan {
                Plan::All => None,
                Plan::Count => {
                    let s = infer::McmcSettings::from_table(
                        opts.method,
                        &config.inference,
                        &config.source,
                    )?;
                    return Ok(Step::Done(Product::Count(s.sample.chains)));
                }
                Plan::One(c) => {
                    let unit = infer::run_chain_unit(
                        opts.method,
                        spec,
                        resolved.as_ref(),
                        std_data,
                        &config.training,
                        &config.inference,
                        &config.source,
                        opts.seed,
                        c,
                        opts.progress,
                    )?;
                    return Ok(Step::Done(Product::Unit(Box::new(UnitOutput::chain(
                        key, c, unit,
                    )))));
                }
                Plan::Given(given) => {
                    chains = units::chains_given(given, &key)?;
                    Some(chains.as_slice())
                }
            };
            let (post, outcome) = infer::fit_mcmc(
                opts.method,
                spec,
                resolved.as_ref(),
                std_data,
                &config.training,
                &config.inference,
                &config.source,
                opts.seed,
                opts.progress,
                given,
            )?;
            let outcome =
                serde_json::to_value(&outcome).map_err(|e| Error::Invalid(e.to_string()))?;
            (Box::new(post), outcome)
        }
        Method::Laplace => {
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
                        infer::Subset::All => spec.mlp.dim(),
                        infer::Subset::LastLayer => {
                            crate::nn::curvature::last_layer_range(&spec.mlp).len()
                        }
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
                lopts.hessian = if spec.mlp.dim() <= lopts.max_full_params {
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
            (Box::new(lf.posterior), outcome)
        }
    };
    Ok(Step::Posterior(posterior, outcome))
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
        _ => return Ok(()),
    };
    crate::resources::check(&need, config.max_memory)
}
