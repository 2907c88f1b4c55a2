//! Fitting end to end: raw data → standardisation → model spec → priors → inference →
//! `FittedModel` (posterior + record of how it was obtained).

use crate::config::{Config, LikelihoodConfig};
use crate::data::{ConstantColumn, Dataset, Standardizer, Task};
use crate::error::{Error, Result};
use crate::infer::{self, Method, Posterior, Progress};
use crate::model::ModelSpec;
use crate::nn::Mlp;
use crate::predict::Predictive;
use crate::prior::{PriorSet, NO_PRIOR};
use serde::{Deserialize, Serialize};

/// Where the training data came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRecord {
    /// Source file.
    pub source: String,
    /// Rows used for training.
    pub rows: usize,
    /// Content hash of the training data.
    pub fingerprint: String,
    /// Feature column names.
    pub features: Vec<String>,
    /// Target column name.
    pub target: String,
}

/// Everything needed to reproduce and audit a fit; saved as JSON in the artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitRecord {
    /// Version of Credence that made the fit.
    pub crate_version: String,
    /// Inference method name.
    pub method: String,
    /// Seed of every random stream.
    pub seed: u64,
    /// Network and likelihood.
    pub model: ModelSpec,
    /// Regression or classification.
    pub task: Task,
    /// The priors, or `None` for maximum likelihood.
    pub priors: Option<PriorSet>,
    /// Which prior covers which parameter group (group name, prior index).
    pub prior_assignment: Vec<(String, usize)>,
    /// "no prior (maximum likelihood)" or a one-line summary of the priors.
    pub prior_summary: String,
    /// Standardisation learned from the training data.
    pub standardizer: Standardizer,
    /// Training data description.
    pub data: DataRecord,
    /// Method settings used (training, inference table).
    pub settings: serde_json::Value,
    /// What happened during the fit (trace, early stopping, diagnostics).
    pub outcome: serde_json::Value,
    /// Artifact kind of the posterior.
    pub posterior_kind: String,
}

/// A fitted model: the record and the posterior.
#[derive(Debug)]
pub struct FittedModel {
    /// How it was obtained.
    pub record: FitRecord,
    /// The posterior over parameters.
    pub posterior: Box<dyn Posterior>,
}

/// Options of a fit beyond the config file.
#[derive(Clone, Copy)]
pub struct FitOptions<'a> {
    /// Inference method.
    pub method: Method,
    /// Seed.
    pub seed: u64,
    /// Progress reporter.
    pub progress: &'a dyn Progress,
    /// Refuse constant columns (true for user data; the UCI protocol keeps them).
    pub strict_columns: bool,
}

/// A method's outcome as JSON for the fit record.
fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::Invalid(e.to_string()))
}

/// Summarises the priors in one line.
pub fn prior_summary(priors: Option<&PriorSet>) -> String {
    match priors {
        None => NO_PRIOR.to_string(),
        Some(p) => p
            .priors
            .iter()
            .map(|p| {
                format!(
                    "{} ~ {}{} [{}]",
                    p.params,
                    p.distribution.describe(),
                    p.hierarchy.as_ref().map_or(String::new(), |h| format!(
                        " × learned scale ({})",
                        h.describe()
                    )),
                    p.provenance.kind.as_str()
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Fits a model to raw (unstandardised) training data.
pub fn fit(data: &Dataset, config: &Config, opts: FitOptions<'_>) -> Result<FittedModel> {
    let lik_cfg = config
        .model
        .likelihood
        .clone()
        .unwrap_or(LikelihoodConfig::Gaussian { noise: None });
    let likelihood = lik_cfg.resolve(|| data.class_count())?;
    let task = if likelihood.is_classification() {
        Task::Classification {
            classes: likelihood.classes(),
        }
    } else {
        Task::Regression
    };
    if opts.strict_columns {
        data.check_not_constant()?;
    }
    let constant = if opts.strict_columns {
        ConstantColumn::Error
    } else {
        ConstantColumn::Keep
    };
    let standardizer = Standardizer::fit(data, likelihood.is_regression(), constant)?;
    let std_data = standardizer.transform(data)?;
    let mut sizes = vec![data.features];
    sizes.extend(&config.model.hidden);
    sizes.push(likelihood.outputs());
    let spec = ModelSpec {
        mlp: Mlp::new(sizes, config.model.activation),
        likelihood,
    };
    let layout = spec.layout();
    let priors = if opts.method.uses_prior() {
        Some(
            config
                .priors
                .clone()
                .unwrap_or_else(PriorSet::default_priors),
        )
    } else {
        None
    };
    // A fixed-noise or noise-free likelihood has no noise group: drop a noise prior then.
    let mut priors = priors.map(|mut p| {
        if layout.group("noise").is_none() {
            p.priors.retain(|q| q.params != "noise");
        }
        p
    });
    let mut resolved = priors
        .as_ref()
        .map(|p| p.resolve(&layout, &config.source))
        .transpose()?;
    if let Some(r) = resolved.as_mut() {
        r.hierarchy.name_inputs(&data.feature_names);
        if !r.hierarchy.is_empty()
            && !matches!(
                opts.method,
                Method::Laplace | Method::Vi | Method::Nuts | Method::Hmc
            )
        {
            return Err(Error::Invalid(format!(
                "the prior on {} has a learned scale (hierarchy); {} would treat it as fixed. Hierarchical priors are supported by laplace (evidence), vi and nuts/hmc (non-centred)",
                r.hierarchy.blocks[0].group,
                opts.method.name()
            )));
        }
    }
    let (posterior, outcome): (Box<dyn Posterior>, serde_json::Value) = match opts.method {
        Method::Mle | Method::Map => {
            let pf = infer::train_point(
                &spec,
                resolved.as_ref(),
                &std_data,
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
                    let f = infer::vi::fit_vi(&spec, pri, &std_data, &o, opts.seed, opts.progress)?;
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
                        &spec,
                        pri,
                        &std_data,
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
                    let o = infer::ensemble::EnsembleOptions::from_settings(settings, &spec)?;
                    let f = infer::ensemble::fit_ensemble(
                        &spec,
                        pri,
                        &std_data,
                        &config.training,
                        &o,
                        opts.method == Method::AnchoredEnsemble,
                        opts.seed,
                        opts.progress,
                    )?;
                    let outcome = to_json(&f)?;
                    (
                        Box::new(infer::DrawsPosterior { draws: f.members }) as Box<dyn Posterior>,
                        outcome,
                    )
                }
            }
        }
        Method::Nuts | Method::Hmc | Method::Sgld | Method::Sghmc => {
            let (post, outcome) = infer::fit_mcmc(
                opts.method,
                &spec,
                resolved.as_ref(),
                &std_data,
                &config.training,
                &config.inference,
                &config.source,
                opts.seed,
                opts.progress,
            )?;
            let outcome =
                serde_json::to_value(&outcome).map_err(|e| Error::Invalid(e.to_string()))?;
            (Box::new(post), outcome)
        }
        Method::Laplace => {
            let lopts = infer::LaplaceOptions::from_table(&config.inference, &config.source)?;
            let (Some(ps), Some(rp)) = (priors.as_ref(), resolved.as_ref()) else {
                return Err(Error::Invalid(
                    "the Laplace approximation needs a prior".into(),
                ));
            };
            let lf = infer::fit_laplace(
                &spec,
                ps,
                rp,
                &std_data,
                &config.training,
                &lopts,
                opts.seed,
                opts.progress,
                &data.fingerprint(),
            )?;
            let outcome =
                serde_json::to_value(&lf.outcome).map_err(|e| Error::Invalid(e.to_string()))?;
            if let Some(tuned) = lf.tuned_priors {
                resolved = Some(tuned.resolve(&layout, &config.source)?);
                priors = Some(tuned);
            }
            (Box::new(lf.posterior), outcome)
        }
    };
    let record = FitRecord {
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        method: opts.method.name().to_string(),
        seed: opts.seed,
        model: spec,
        task,
        prior_summary: {
            let pen = crate::model::Penalty {
                l2: config.training.weight_decay,
                l1: config.training.l1,
            };
            match pen.describe() {
                Some(d) => format!(
                    "{}; plus a hidden prior: {d}",
                    prior_summary(priors.as_ref())
                ),
                None => prior_summary(priors.as_ref()),
            }
        },
        prior_assignment: resolved.map(|r| r.assignment).unwrap_or_default(),
        priors,
        standardizer,
        data: DataRecord {
            source: data.source.clone(),
            rows: data.rows,
            fingerprint: data.fingerprint(),
            features: data.feature_names.clone(),
            target: data.target_name.clone(),
        },
        settings: serde_json::json!({ "training": config.training, "inference": config.inference }),
        outcome,
        posterior_kind: posterior.kind().to_string(),
    };
    Ok(FittedModel { record, posterior })
}

impl FittedModel {
    /// Predictive at raw (unstandardised) inputs, in the target's original units.
    pub fn predict(&self, data: &Dataset, seed: u64) -> Result<Predictive> {
        let x = self.record.standardizer.transform_x(data)?;
        let mut r = crate::rng::stream(seed, 0x9e3d);
        let p = self
            .posterior
            .predict(&self.record.model, &x, data.rows, &mut r)?;
        Ok(match p {
            Predictive::Regression(rp) => {
                let s = &self.record.standardizer;
                Predictive::Regression(rp.to_original_units(s.y_mean, s.y_std))
            }
            c => c,
        })
    }
}

/// Refits the model described by `record` on its own training data (re-read from
/// `record.data.source`) with other priors, keeping method, network, settings and seed.
pub fn refit_with_priors(
    record: &FitRecord,
    priors: PriorSet,
    progress: &dyn Progress,
) -> Result<FittedModel> {
    let path = std::path::Path::new(&record.data.source);
    let table = crate::data::read_table(path)?;
    let data = Dataset::from_table(&table, &record.data.target, Some(&record.data.features))?;
    if data.fingerprint() != record.data.fingerprint {
        return Err(Error::Artifact {
            path: path.to_path_buf(),
            message: "the training data changed since the model was fitted (fingerprint differs); refit from scratch".into(),
        });
    }
    let config = config_of(record, Some(priors))?;
    let method = Method::parse(&record.method)?;
    fit(
        &data,
        &config,
        FitOptions {
            method,
            seed: record.seed,
            progress,
            strict_columns: false,
        },
    )
}

/// The config a record was fitted with, optionally with other priors.
pub fn config_of(record: &FitRecord, priors: Option<PriorSet>) -> Result<Config> {
    let bad = |e: serde_json::Error| {
        Error::Invalid(format!(
            "the fit record's settings cannot be read back: {e}"
        ))
    };
    let training = serde_json::from_value(record.settings["training"].clone()).map_err(bad)?;
    let inference = serde_json::from_value(record.settings["inference"].clone()).map_err(bad)?;
    let sizes = &record.model.mlp.sizes;
    let lik = &record.model.likelihood;
    let likelihood = match lik {
        crate::likelihood::Likelihood::Gaussian { noise } => {
            LikelihoodConfig::Gaussian { noise: *noise }
        }
        crate::likelihood::Likelihood::Heteroscedastic => LikelihoodConfig::Heteroscedastic,
        crate::likelihood::Likelihood::StudentT { df, noise } => LikelihoodConfig::StudentT {
            df: *df,
            noise: *noise,
        },
        crate::likelihood::Likelihood::Bernoulli => LikelihoodConfig::Bernoulli,
        crate::likelihood::Likelihood::Categorical { classes } => {
            LikelihoodConfig::Categorical { classes: *classes }
        }
        crate::likelihood::Likelihood::Poisson => LikelihoodConfig::Poisson,
    };
    Ok(Config {
        method: Some(record.method.clone()),
        seed: Some(record.seed),
        model: crate::config::ModelConfig {
            hidden: sizes[1..sizes.len() - 1].to_vec(),
            activation: record.model.mlp.activation,
            likelihood: Some(likelihood),
        },
        training,
        priors: priors.or_else(|| record.priors.clone()),
        inference,
        source: format!("settings of the fit on {}", record.data.source),
    })
}
