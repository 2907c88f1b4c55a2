//! Sampling a network's posterior inside a fit: settings from the config's `[inference]` table,
//! initialisation (random or from a MAP fit per chain), the sampler run, and diagnostics on
//! identifiable quantities (log density, noise precision, predictive means at fixed inputs)
//! besides the raw weights.

use super::sample::{sample_chains, sample_from, MassMatrix, SampleOptions, Sampler, Samples};
use super::sgmcmc::{sample_sg, Schedule, SgKind, SgOptions};
use super::{train_point, DrawsPosterior, Method, Progress};
use crate::config::TrainConfig;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::diagnostics::{self, QuantitySummary};
use crate::model::{Model, ModelSpec};
use crate::prior::ResolvedPriors;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// How chains start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// Each chain starts at its own MAP estimate (`train_point` with the chain's seed).
    Map,
    /// Uniform in ±`init_radius` in every coordinate (Stan's default).
    Random,
}

/// All sampling settings a fit reads from `[inference]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McmcSettings {
    /// Full-batch sampler settings (NUTS, HMC).
    pub sample: SampleOptions,
    /// Stochastic-gradient settings (SGLD, SGHMC).
    pub sg: SgOptions,
    /// Initialisation.
    pub init: Init,
    /// Training rows at which the predictive mean is diagnosed.
    pub diagnostic_rows: usize,
}

const KEYS: &[&str] = &[
    "chains",
    "warmup",
    "draws",
    "thin",
    "target_accept",
    "max_depth",
    "hmc_steps",
    "mass_matrix",
    "init",
    "init_radius",
    "epochs",
    "batch_size",
    "learning_rate",
    "burnin",
    "friction",
    "schedule",
    "cycles",
    "explore",
    "diagnostic_rows",
];

fn get_usize(t: &toml::Table, k: &str, file: &str) -> Result<Option<usize>> {
    match t.get(k) {
        None => Ok(None),
        Some(toml::Value::Integer(i)) if *i >= 0 => Ok(Some(*i as usize)),
        Some(v) => Err(Error::Config {
            file: file.into(),
            message: format!("inference.{k} must be a non-negative integer, found {v}"),
        }),
    }
}

fn get_f64(t: &toml::Table, k: &str, file: &str) -> Result<Option<f64>> {
    match t.get(k) {
        None => Ok(None),
        Some(toml::Value::Float(f)) => Ok(Some(*f)),
        Some(toml::Value::Integer(i)) => Ok(Some(*i as f64)),
        Some(v) => Err(Error::Config {
            file: file.into(),
            message: format!("inference.{k} must be a number, found {v}"),
        }),
    }
}

fn get_str<'a>(t: &'a toml::Table, k: &str, file: &str) -> Result<Option<&'a str>> {
    match t.get(k) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(Error::Config {
            file: file.into(),
            message: format!("inference.{k} must be a string, found {v}"),
        }),
    }
}

impl McmcSettings {
    /// Reads the settings of `method` from an `[inference]` table; unknown keys are errors.
    pub fn from_table(method: Method, t: &toml::Table, file: &str) -> Result<Self> {
        if let Some(k) = t.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(Error::Config {
                file: file.into(),
                message: format!(
                    "inference.{k} is not a setting of the samplers; expected one of: {}",
                    KEYS.join(", ")
                ),
            });
        }
        let mut s = SampleOptions {
            sampler: if method == Method::Hmc {
                Sampler::Hmc
            } else {
                Sampler::Nuts
            },
            ..SampleOptions::default()
        };
        let mut g = SgOptions {
            kind: if method == Method::Sghmc {
                SgKind::Sghmc
            } else {
                SgKind::Sgld
            },
            ..SgOptions::default()
        };
        if let Some(v) = get_usize(t, "chains", file)? {
            s.chains = v;
            g.chains = v;
        }
        if let Some(v) = get_usize(t, "warmup", file)? {
            s.warmup = v;
        }
        if let Some(v) = get_usize(t, "draws", file)? {
            s.draws = v;
        }
        if let Some(v) = get_usize(t, "thin", file)? {
            s.thin = v;
            g.thin = v;
        }
        if let Some(v) = get_f64(t, "target_accept", file)? {
            s.target_accept = v;
        }
        if let Some(v) = get_usize(t, "max_depth", file)? {
            s.max_depth = v as u64;
        }
        if let Some(v) = get_usize(t, "hmc_steps", file)? {
            s.hmc_steps = v;
        }
        if let Some(v) = get_f64(t, "init_radius", file)? {
            s.init_radius = v;
        }
        s.mass_matrix = match get_str(t, "mass_matrix", file)? {
            None => s.mass_matrix,
            Some("draws") => MassMatrix::Draws,
            Some("draws-and-gradients") => MassMatrix::DrawsAndGradients,
            Some(o) => {
                return Err(Error::Config {
                    file: file.into(),
                    message: format!(
                        "inference.mass_matrix must be \"draws\" or \"draws-and-gradients\", found \"{o}\""
                    ),
                })
            }
        };
        let init = match get_str(t, "init", file)? {
            None | Some("map") => Init::Map,
            Some("random") => Init::Random,
            Some(o) => {
                return Err(Error::Config {
                    file: file.into(),
                    message: format!("inference.init must be \"map\" or \"random\", found \"{o}\""),
                })
            }
        };
        if let Some(v) = get_usize(t, "epochs", file)? {
            g.epochs = v;
        }
        if let Some(v) = get_usize(t, "batch_size", file)? {
            g.batch_size = v;
        }
        if let Some(v) = get_f64(t, "learning_rate", file)? {
            g.learning_rate = v;
        }
        if let Some(v) = get_usize(t, "burnin", file)? {
            g.burnin = v;
        } else if g.burnin >= g.epochs {
            g.burnin = g.epochs / 2;
        }
        if let Some(v) = get_f64(t, "friction", file)? {
            g.friction = v;
        }
        if let Some(v) = get_usize(t, "cycles", file)? {
            g.cycles = v;
        }
        if let Some(v) = get_f64(t, "explore", file)? {
            g.explore = v;
        }
        g.schedule = match get_str(t, "schedule", file)? {
            None | Some("constant") => Schedule::Constant,
            Some("cyclical") => Schedule::Cyclical,
            Some(o) => {
                return Err(Error::Config {
                    file: file.into(),
                    message: format!(
                        "inference.schedule must be \"constant\" or \"cyclical\", found \"{o}\""
                    ),
                })
            }
        };
        let diagnostic_rows = get_usize(t, "diagnostic_rows", file)?.unwrap_or(5);
        let cfg_err = |e: Error| Error::Config {
            file: file.into(),
            message: format!("[inference]: {e}"),
        };
        match method {
            Method::Sgld | Method::Sghmc => g.validate().map_err(cfg_err)?,
            _ => s.validate().map_err(cfg_err)?,
        }
        Ok(McmcSettings {
            sample: s,
            sg: g,
            init,
            diagnostic_rows,
        })
    }
}

/// What a sampling fit records in `FitRecord::outcome`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McmcOutcome {
    /// Sampler name.
    pub sampler: String,
    /// Settings used.
    pub settings: McmcSettings,
    /// Per-chain MAP initialisation (steps and early-stopping epoch), when `init = "map"`.
    pub init_map: Vec<serde_json::Value>,
    /// Per-chain sampler statistics.
    pub chains: Vec<super::sample::ChainStats>,
    /// Divergent transitions after warm-up (all chains).
    pub divergences: usize,
    /// Iterations at the maximum tree depth after warm-up (all chains).
    pub max_depth_hits: usize,
    /// Diagnostics of identifiable quantities: log density, noise precision, predictive means.
    pub quantities: Vec<QuantitySummary>,
    /// Raw parameters (not identifiable; informational): largest R-hat.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub params_max_rhat: f64,
    /// Raw parameters: smallest bulk ESS.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub params_min_ess_bulk: f64,
    /// Raw parameters: median bulk ESS.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub params_median_ess_bulk: f64,
    /// Plain-word warnings.
    pub warnings: Vec<String>,
    /// Gradient evaluations, all chains, warm-up and sampling.
    pub gradients: u64,
    /// Seconds: MAP initialisation.
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub seconds_init: f64,
    /// Seconds: sampler run (wall clock, chains in parallel).
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub seconds_sampling_run: f64,
    /// Mean milliseconds per gradient evaluation (chain time / gradients).
    #[serde(deserialize_with = "crate::eval::diagnostics::nan_if_null")]
    pub ms_per_gradient: f64,
    /// Hierarchical priors: the learned scales (sampled in non-centred form) and ARD ranking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hierarchy: Option<super::hierarchical::HierarchySummary>,
}

impl McmcOutcome {
    /// Lines for a person: sampler statistics, diagnostics and warnings.
    pub fn report_lines(&self) -> Vec<String> {
        let mut l = Vec::new();
        let c = self.chains.len();
        let steps: Vec<String> = self
            .chains
            .iter()
            .map(|s| format!("{:.4}", s.step_size))
            .collect();
        let acc: Vec<String> = self
            .chains
            .iter()
            .map(|s| format!("{:.2}", s.mean_accept))
            .collect();
        l.push(format!(
            "{} · {c} chains · {} draws kept per chain · {} gradients · {:.1} s",
            self.sampler,
            self.chains.first().map_or(0, |_| self.kept_per_chain()),
            self.gradients,
            self.seconds_init + self.seconds_sampling_run
        ));
        if self.sampler == "nuts" || self.sampler == "hmc" {
            let bfmi: Vec<String> = self
                .chains
                .iter()
                .map(|s| format!("{:.2}", s.e_bfmi))
                .collect();
            l.push(format!(
                "step size {} · acceptance {} · E-BFMI {}",
                steps.join(" "),
                acc.join(" "),
                bfmi.join(" ")
            ));
            l.push(format!(
                "divergences {} · max tree depth reached {} times · mean leapfrog steps {:.0}",
                self.divergences,
                self.max_depth_hits,
                self.chains.iter().map(|s| s.mean_steps).sum::<f64>() / c.max(1) as f64
            ));
        }
        l.push(format!(
            "{:<34} {:>10} {:>9} {:>9} {:>7} {:>8} {:>8}",
            "quantity", "mean", "sd", "mcse", "R-hat", "ESS bulk", "ESS tail"
        ));
        for q in &self.quantities {
            l.push(format!(
                "{:<34} {:>10.4} {:>9.4} {:>9.4} {:>7.3} {:>8.0} {:>8.0}",
                q.name, q.mean, q.sd, q.mcse_mean, q.rhat, q.ess_bulk, q.ess_tail
            ));
        }
        l.push(format!(
            "raw weights (not identifiable): max R-hat {:.3}, bulk ESS min {:.0} / median {:.0}",
            self.params_max_rhat, self.params_min_ess_bulk, self.params_median_ess_bulk
        ));
        if self.warnings.is_empty() {
            l.push("no diagnostic warnings".into());
        }
        for w in &self.warnings {
            l.push(format!("warning: {w}"));
        }
        l
    }

    fn kept_per_chain(&self) -> usize {
        self.settings.sample.draws
    }
}

/// Diagnoses samples of a network posterior on identifiable quantities.
pub fn diagnose(
    spec: &ModelSpec,
    samples: &Samples,
    x: &[f64],
    rows: usize,
) -> (Vec<QuantitySummary>, f64, f64, f64) {
    let mut q = vec![QuantitySummary::new("log density", &samples.logp)];
    let nd = spec.net.dim();
    let nn = spec.noise_params();
    for j in 0..nn {
        let tau = samples.quantity(|t| (-2.0 * t[nd + j]).exp());
        let name = if nn == 1 {
            "noise precision (std. units)".to_string()
        } else {
            format!("noise precision of target {} (std. units)", j + 1)
        };
        q.push(QuantitySummary::new(&name, &tau));
    }
    let f = spec.net.inputs();
    let k = spec.net.outputs();
    let lik = &spec.likelihood;
    let mut ws = spec.net.workspace(rows);
    // values[row][chain][draw]
    let mut values = vec![vec![Vec::new(); samples.draws.len()]; rows];
    for (c, chain) in samples.draws.iter().enumerate() {
        for theta in chain {
            spec.net.forward(theta, &x[..rows * f], rows, &mut ws);
            let out = ws.output();
            for (n, v) in values.iter_mut().enumerate() {
                let o = &out[n * k..(n + 1) * k];
                // Regression and counts (Poisson: the rate): the predictive mean; classes:
                // P(class 1). (Poisson has no classes: indexing its probabilities panicked.)
                let val = if !lik.is_classification() {
                    lik.mean_var(o, spec.log_sigma(theta)).0
                } else {
                    let mut p = vec![0.0; lik.classes()];
                    lik.probs(o, &mut p);
                    p.get(1).copied().unwrap_or(p[0])
                };
                v[c].push(val);
            }
        }
    }
    let label = if !lik.is_classification() {
        "predictive mean"
    } else {
        "P(class 1)"
    };
    for (n, v) in values.iter().enumerate() {
        q.push(QuantitySummary::new(
            format!("{label}, training row {}", n + 1),
            v,
        ));
    }
    let dim = samples.dim();
    let (mut max_rhat, mut ess): (f64, Vec<f64>) = (f64::NAN, Vec::with_capacity(dim));
    for i in 0..dim {
        let p = samples.param(i);
        let r = diagnostics::rhat(&p);
        if max_rhat.is_nan() || r > max_rhat {
            max_rhat = r;
        }
        ess.push(diagnostics::ess_bulk(&p));
    }
    ess.sort_by(f64::total_cmp);
    let min = ess.first().copied().unwrap_or(f64::NAN);
    let med = ess.get(ess.len() / 2).copied().unwrap_or(f64::NAN);
    (q, max_rhat, min, med)
}

/// One chain of a Hamiltonian sampling fit (NUTS, HMC): its MAP initialisation (when
/// `init = "map"`) and its draws. The unit of work a distributed fit runs on a worker; the
/// chains of a fit combine with [`fit_mcmc`]'s `given` argument into the fit that runs them all
/// here, draw for draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainUnit {
    /// Chain number (0-based).
    pub index: usize,
    /// The MAP initialisation's record (steps, early stopping), when `init = "map"`.
    pub init_map: Option<serde_json::Value>,
    /// Seconds the MAP initialisation took.
    pub seconds_init: f64,
    /// The chain's draws and statistics (sampled parameters: `z` and log scales under a
    /// hierarchical prior).
    pub samples: Samples,
}

/// The model a sampler explores (priors with learned scales are sampled non-centred, handled by
/// the caller) and the hierarchy, if any.
fn sampling_model(
    method: Method,
    spec: &ModelSpec,
    priors: Option<&ResolvedPriors>,
    data: &Dataset,
) -> Result<(Model, Option<crate::prior::ResolvedHierarchy>)> {
    let hier = priors
        .map(|p| p.hierarchy.clone())
        .filter(|h| !h.is_empty());
    if hier.is_some() && matches!(method, Method::Sgld | Method::Sghmc) {
        return Err(Error::Invalid(format!(
            "{} does not support hierarchical priors (learned scales); use nuts or hmc (non-centred), vi or laplace",
            method.name()
        )));
    }
    let mut model = Model::new(
        spec.clone(),
        priors.map(|p| {
            if hier.is_some() {
                p.without_hierarchical()
            } else {
                p.clone()
            }
        }),
        data,
    )?;
    model.jacobian = true;
    Ok((model, hier))
}

/// Chain `c`'s MAP initialisation (its own seed stream).
fn chain_map(
    spec: &ModelSpec,
    priors: Option<&ResolvedPriors>,
    data: &Dataset,
    training: &TrainConfig,
    seed: u64,
    c: usize,
) -> Result<super::PointFit> {
    train_point(
        spec,
        priors,
        data,
        training,
        crate::rng::stream(seed, 0x4d41_5000 + c as u64).next_u64_value(),
        &super::Silent,
    )
}

/// What the fit record keeps of a MAP initialisation.
fn init_info(f: &super::PointFit) -> serde_json::Value {
    serde_json::json!({
        "steps": f.steps,
        "early_stopping_epoch": f.early_stopping_epoch,
        "validation_log_lik": f.validation_log_lik,
    })
}

/// Runs chain `c` of a NUTS or HMC fit alone (see [`ChainUnit`]).
#[allow(clippy::too_many_arguments)]
pub fn run_chain_unit(
    method: Method,
    spec: &ModelSpec,
    priors: Option<&ResolvedPriors>,
    data: &Dataset,
    training: &TrainConfig,
    inference: &toml::Table,
    file: &str,
    seed: u64,
    c: usize,
    progress: &dyn Progress,
) -> Result<ChainUnit> {
    if !matches!(method, Method::Nuts | Method::Hmc) {
        return Err(Error::Invalid(format!(
            "{} runs its chains together (its step size is shared); only nuts and hmc run chain by chain",
            method.name()
        )));
    }
    let settings = McmcSettings::from_table(method, inference, file)?;
    if c >= settings.sample.chains {
        return Err(Error::Invalid(format!(
            "chain {c} asked of a fit with {} chains",
            settings.sample.chains
        )));
    }
    let (model, hier) = sampling_model(method, spec, priors, data)?;
    let t0 = Instant::now();
    let init = match settings.init {
        Init::Random => None,
        Init::Map => Some(chain_map(spec, priors, data, training, seed, c)?),
    };
    let seconds_init = t0.elapsed().as_secs_f64();
    let init_map = init.as_ref().map(init_info);
    let inits: Vec<Vec<f64>> = init.into_iter().map(|f| f.theta).collect();
    let samples = match &hier {
        None => sample_chains(&model, &settings.sample, seed, &[c], &inits, progress)?,
        Some(h) => {
            let density = super::hierarchical::NonCentred::new(model.clone(), h.clone());
            let inits: Vec<Vec<f64>> = inits
                .iter()
                .map(|w| density.from_weights(w, &h.fixed))
                .collect();
            sample_chains(&density, &settings.sample, seed, &[c], &inits, progress)?
        }
    };
    Ok(ChainUnit {
        index: c,
        init_map,
        seconds_init,
        samples,
    })
}

/// The chains `given` (numbered 0, 1, … in order, one per chain of the settings).
fn given_samples(units: &[ChainUnit], chains: usize) -> Result<Samples> {
    if units.len() != chains || units.iter().enumerate().any(|(i, u)| u.index != i) {
        let got: Vec<String> = units.iter().map(|u| u.index.to_string()).collect();
        return Err(Error::Invalid(format!(
            "the fit has {chains} chains (0..{chains}); the units given are chains [{}]",
            got.join(", ")
        )));
    }
    Samples::concat(units.iter().map(|u| u.samples.clone()).collect())
}

/// Samples the posterior of a network on standardised `data` with a sampling `method`. With
/// `given` (NUTS, HMC), the chains are the ones given (run elsewhere by [`run_chain_unit`])
/// instead of being run here; the rest (diagnostics, warnings, hierarchy) is the same.
#[allow(clippy::too_many_arguments)]
pub fn fit_mcmc(
    method: Method,
    spec: &ModelSpec,
    priors: Option<&ResolvedPriors>,
    data: &Dataset,
    training: &TrainConfig,
    inference: &toml::Table,
    file: &str,
    seed: u64,
    progress: &dyn Progress,
    given: Option<&[ChainUnit]>,
) -> Result<(DrawsPosterior, McmcOutcome)> {
    let settings = McmcSettings::from_table(method, inference, file)?;
    let (model, hier) = sampling_model(method, spec, priors, data)?;
    if given.is_some() && !matches!(method, Method::Nuts | Method::Hmc) {
        return Err(Error::Invalid(format!(
            "{} runs its chains together; it cannot be assembled from chains run apart",
            method.name()
        )));
    }
    let chains = match method {
        Method::Sgld | Method::Sghmc => settings.sg.chains,
        _ => settings.sample.chains,
    };
    let t0 = Instant::now();
    let (inits, init_map, seconds_init) = match (given, settings.init) {
        (Some(units), _) => (
            Vec::new(),
            units.iter().filter_map(|u| u.init_map.clone()).collect(),
            units.iter().map(|u| u.seconds_init).fold(0.0, f64::max),
        ),
        (None, Init::Random) => (Vec::new(), Vec::new(), 0.0),
        (None, Init::Map) => {
            progress.start(chains as u64, "MAP initialisation");
            let fits: Vec<super::PointFit> =
                super::on_pool(chains, |c| chain_map(spec, priors, data, training, seed, c))
                    .into_iter()
                    .collect::<Result<_>>()?;
            progress.finish();
            let info = fits.iter().map(init_info).collect();
            (
                fits.into_iter().map(|f| f.theta).collect(),
                info,
                t0.elapsed().as_secs_f64(),
            )
        }
    };
    let t1 = Instant::now();
    let mut hier_summary = None;
    let mut scale_quantities = Vec::new();
    let mut settings = settings;
    let mut step_notes = Vec::new();
    let samples = match (method, &hier) {
        (Method::Sgld | Method::Sghmc, _) => {
            // A step size left to the default is divided by 5 when the chain blows up (as it does
            // on nearly noise-free data, where the posterior is narrow), at most 3 times; every
            // reduction is reported. A step size the user set is kept and its failure reported.
            let user_set = inference.contains_key("learning_rate");
            let mut tries = 0;
            loop {
                match sample_sg(&model, &settings.sg, seed, &inits, progress) {
                    Err(Error::Numeric(m)) if !user_set && tries < 3 => {
                        let lr = settings.sg.learning_rate;
                        settings.sg.learning_rate = lr / 5.0;
                        step_notes.push(format!(
                            "learning_rate {lr} diverged ({m}); retried with {}",
                            settings.sg.learning_rate
                        ));
                        tries += 1;
                    }
                    other => break other?,
                }
            }
        }
        (_, None) => match given {
            Some(units) => given_samples(units, chains)?,
            None => sample_from(&model, &settings.sample, seed, &inits, progress)?,
        },
        (_, Some(h)) => {
            // Non-centred: φ = [z, log scales], chains start at their MAP (at the hyperpriors'
            // median scales) mapped to z.
            let density = super::hierarchical::NonCentred::new(model.clone(), h.clone());
            let mut s = match given {
                Some(units) => given_samples(units, chains)?,
                None => {
                    let inits: Vec<Vec<f64>> = inits
                        .iter()
                        .map(|w| density.from_weights(w, &h.fixed))
                        .collect();
                    sample_from(&density, &settings.sample, seed, &inits, progress)?
                }
            };
            let (est, us) = super::hierarchical::split_draws(&density, &mut s);
            for (k, e) in est.iter().enumerate() {
                if e.name.contains("[local ") {
                    continue;
                }
                let v: Vec<Vec<f64>> = us
                    .iter()
                    .map(|c| c.iter().map(|u| u[k].exp()).collect())
                    .collect();
                scale_quantities.push(QuantitySummary::new(format!("scale {}", e.name), &v));
            }
            hier_summary = Some(super::hierarchical::HierarchySummary::new(
                format!(
                    "learned scales: posterior draws ({}, non-centred: w = loc + scale·z, log scales sampled with their Jacobian)",
                    method.name()
                ),
                h,
                est,
            ));
            s
        }
    };
    let seconds_sampling_run = t1.elapsed().as_secs_f64();
    let rows = settings.diagnostic_rows.min(data.rows);
    let (mut quantities, params_max_rhat, params_min_ess_bulk, params_median_ess_bulk) =
        diagnose(spec, &samples, &data.x, rows);
    quantities.extend(scale_quantities);
    let hamiltonian = !matches!(method, Method::Sgld | Method::Sghmc);
    let bfmi: Vec<f64> = if hamiltonian {
        samples.chains.iter().map(|c| c.e_bfmi).collect()
    } else {
        Vec::new()
    };
    let mut warnings = diagnostics::warnings(
        &quantities,
        samples.chains.len(),
        samples.divergences(),
        samples.max_depth_hits(),
        &bfmi,
    );
    warnings.extend(step_notes);
    let gradients: u64 = samples
        .chains
        .iter()
        .map(|c| c.gradients_warmup + c.gradients_sampling)
        .sum();
    let chain_seconds: f64 = samples
        .chains
        .iter()
        .map(|c| c.seconds_warmup + c.seconds_sampling)
        .sum();
    if !hamiltonian {
        settings.sample.draws = samples.draws.first().map_or(0, Vec::len);
    }
    let outcome = McmcOutcome {
        sampler: method.name().to_string(),
        settings,
        init_map,
        divergences: samples.divergences(),
        max_depth_hits: samples.max_depth_hits(),
        chains: samples.chains.clone(),
        quantities,
        params_max_rhat,
        params_min_ess_bulk,
        params_median_ess_bulk,
        warnings,
        gradients,
        seconds_init,
        seconds_sampling_run,
        ms_per_gradient: 1e3 * chain_seconds / gradients.max(1) as f64,
        hierarchy: hier_summary,
    };
    Ok((
        DrawsPosterior {
            draws: samples.flatten(),
        },
        outcome,
    ))
}

/// A `u64` drawn from a generator (seed derivation for sub-streams).
trait NextU64 {
    fn next_u64_value(self) -> u64;
}

impl NextU64 for crate::rng::Rng {
    fn next_u64_value(mut self) -> u64 {
        use rand::RngCore;
        self.next_u64()
    }
}
