//! Fitting end to end: raw data → standardisation → model spec → priors → inference →
//! `FittedModel` (posterior + record of how it was obtained).

use crate::config::{Config, LikelihoodConfig};
use crate::data::schema::Encoded;
use crate::data::{
    ConstantColumn, Dataset, ReadOptions, Schema, SchemaOptions, Standardizer, Table, Task,
    UnknownLevel,
};
use crate::error::{Error, Result};
use crate::infer::{Method, Posterior, Progress};
use crate::model::ModelSpec;
use crate::nn::Network;
pub use crate::predict::class_prior::ClassPriorChoice;
use crate::predict::{class_prior, ClassPrior, Predictive};
use crate::prior::{PriorSet, NO_PRIOR};
use serde::{Deserialize, Serialize};

mod methods;
mod transfer;
mod units;
pub(crate) use transfer::check_same_network;
pub use transfer::{fit_with_transfer, transfer_from, Transfer};
pub use units::{
    fit_from_units, fit_table_from_units, fit_table_unit, fit_unit, has_units, table_unit_count,
    unit_count, UnitOutput, UnitPart,
};

/// What a call of the fitting pipeline computes: everything, one unit, the fit from units run
/// elsewhere, or only the number of units.
#[derive(Clone, Copy)]
pub(crate) enum Plan<'a> {
    All,
    One(usize),
    Given(&'a [UnitOutput]),
    Count,
}

/// What the fitting pipeline returns for its [`Plan`].
pub(crate) enum Product {
    Model(Box<FittedModel>),
    Unit(Box<UnitOutput>),
    Count(usize),
}

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

impl DataRecord {
    /// The names of the `targets` target columns: `target` split at commas when it names that
    /// many, else `target1`, `target2`, ….
    pub fn target_names(&self, targets: usize) -> Vec<String> {
        let names: Vec<String> = self.target.split(',').map(str::to_string).collect();
        if names.len() == targets {
            names
        } else {
            (1..=targets).map(|k| format!("target{k}")).collect()
        }
    }
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
    /// Information from the data: KL(posterior ‖ prior) and variance ratios per layer and group,
    /// epistemic share of predictive variance (absent in records written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub information: Option<crate::explain::Information>,
    /// How the data table was turned into numbers (columns, types, levels, imputation, class
    /// names); absent for fits made from numeric arrays and in records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Schema>,
    /// Share of each class among the training rows (classifiers; absent in records written
    /// before it existed): the base rates the model's probabilities assume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_prevalence: Option<Vec<f64>>,
    /// The output belief the weight priors were calibrated to (`[output_prior]`), with the
    /// interval the calibrated prior achieves; absent when none was stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_prior: Option<crate::prior::Calibration>,
}

impl FitRecord {
    /// Class names in class-index order (the schema's, else "0", "1", …); empty for regression.
    pub fn class_names(&self) -> Vec<String> {
        if let Some(names) = self.schema.as_ref().and_then(|s| s.class_names()) {
            return names.to_vec();
        }
        match self.task {
            Task::Classification { classes } => (0..classes).map(|k| k.to_string()).collect(),
            Task::Regression => Vec::new(),
        }
    }

    /// Encodes a table for this model: with its schema (checked column by column), or by the
    /// recorded feature names for models fitted on numeric data.
    pub fn encode(
        &self,
        table: &Table,
        with_target: bool,
        unknown: UnknownLevel,
    ) -> Result<Encoded> {
        match &self.schema {
            Some(s) => s.apply(table, with_target, false, unknown),
            None => {
                let features = self
                    .data
                    .features
                    .iter()
                    .map(|f| table.column_index(f))
                    .collect::<Result<Vec<_>>>()?;
                let target = match (with_target, features.first()) {
                    (true, _) => table.column_index(&self.data.target)?,
                    (false, Some(&f)) => f,
                    (false, None) => {
                        return Err(Error::Invalid(
                            "the model records no feature columns; is model.json damaged?".into(),
                        ))
                    }
                };
                let mut data = Dataset::from_indices(table, &features, target, None)?;
                data.target_names = vec![self.data.target.clone()];
                Ok(Encoded {
                    unseen: vec![false; data.rows],
                    data,
                    notes: Vec::new(),
                })
            }
        }
    }

    /// The training data, re-read from `data.source` and checked against the fingerprint.
    pub fn training_data(&self) -> Result<Dataset> {
        let path = std::path::Path::new(&self.data.source);
        let na = self.schema.as_ref().map(|s| s.na_values.clone());
        let read = ReadOptions {
            na_values: na.unwrap_or_else(|| ReadOptions::default().na_values),
        };
        let table = crate::data::read_table(path, &read)?;
        let data = match &self.schema {
            Some(s) => s.apply(&table, true, true, UnknownLevel::Error)?.data,
            None => Dataset::from_table(&table, &self.data.target, Some(&self.data.features))?,
        };
        if data.fingerprint() != self.data.fingerprint {
            return Err(Error::Artifact {
                path: path.to_path_buf(),
                message: "the training data changed since the model was fitted (fingerprint differs); refit from scratch".into(),
            });
        }
        Ok(data)
    }

    /// One line on the class prior behind a classifier's probabilities (`None` for a
    /// regression): the deployment prior `used`, else the training prevalence.
    pub fn class_prior_note(&self, used: Option<&ClassPrior>) -> Option<String> {
        matches!(self.task, Task::Classification { .. }).then(|| {
            class_prior::describe_used(used, &self.class_names(), self.class_prevalence.as_deref())
        })
    }

    /// The training class prevalence, or an error naming why it is missing.
    pub fn training_prevalence(&self) -> Result<&[f64]> {
        if !matches!(self.task, Task::Classification { .. }) {
            return Err(Error::Invalid(
                "a class prior applies to classifiers; this model is a regression".into(),
            ));
        }
        self.class_prevalence.as_deref().ok_or_else(|| {
            Error::Invalid(
                "the model was saved before Credence recorded the training class prevalence; refit it to use a class prior".into(),
            )
        })
    }
}

/// Fits a model to a typed table: learns the schema (columns, categorical levels, imputation,
/// class names) on it, encodes it, fits, and keeps the schema in the record. Returns the model
/// and the schema's notes (dropped rows and columns) for the user.
pub fn fit_table(
    table: &Table,
    schema_opts: &SchemaOptions,
    read: &ReadOptions,
    config: &Config,
    opts: FitOptions<'_>,
) -> Result<(FittedModel, Vec<String>)> {
    match fit_table_with(table, schema_opts, read, config, opts, Plan::All)? {
        (Product::Model(m), notes) => Ok((*m, notes)),
        _ => Err(Error::Invalid("internal: a fit returned no model".into())),
    }
}

/// [`fit_table`] for any [`Plan`]; the schema goes into the record of a model.
pub(crate) fn fit_table_with(
    table: &Table,
    schema_opts: &SchemaOptions,
    read: &ReadOptions,
    config: &Config,
    opts: FitOptions<'_>,
    plan: Plan<'_>,
) -> Result<(Product, Vec<String>)> {
    // A CNN's input shape from the config marks the columns as pixels (kept when constant).
    let shaped;
    let table = match (&table.input_shape, &config.model.input_shape) {
        (None, Some(shape)) if config.model.layers.is_some() => {
            let mut t = table.clone();
            t.input_shape = Some(shape.clone());
            shaped = t;
            &shaped
        }
        _ => table,
    };
    let mut so = schema_opts.clone();
    so.classify = config.model.likelihood.as_ref().map(|l| {
        matches!(
            l,
            LikelihoodConfig::Bernoulli | LikelihoodConfig::Categorical { .. }
        )
    });
    let (mut schema, enc) = Schema::fit(table, &so)?;
    schema.na_values = read.na_values.clone();
    let mut config = config.clone();
    if config.model.likelihood.is_none() {
        if let Some(names) = schema.class_names() {
            config.model.likelihood = Some(LikelihoodConfig::Categorical {
                classes: names.len(),
            });
        }
    }
    let mut product = fit_inner_plan(&enc.data, &config, opts, None, plan)?;
    let mut notes = enc.notes;
    if let Product::Model(model) = &mut product {
        if config.states_noise_prior() && model.record.model.noise_params() == 0 {
            notes.push(format!(
                "{}: the prior on `noise` is not used: the {} likelihood has no noise parameter",
                config.source,
                model.record.model.likelihood.name()
            ));
        }
        model.record.schema = Some(schema);
    }
    Ok((product, notes))
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
pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value> {
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
                    "{} ~ {}{}{} [{}]",
                    p.params,
                    if p.per_parameter.is_some() {
                        "per-parameter Normals, summary "
                    } else {
                        ""
                    },
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
    fit_inner(data, config, opts, None)
}

pub(crate) fn fit_inner(
    data: &Dataset,
    config: &Config,
    opts: FitOptions<'_>,
    transfer: Option<&Transfer>,
) -> Result<FittedModel> {
    match fit_inner_plan(data, config, opts, transfer, Plan::All)? {
        Product::Model(m) => Ok(*m),
        _ => Err(Error::Invalid("internal: a fit returned no model".into())),
    }
}

/// The fitting pipeline; computes what `plan` asks (see [`Plan`]).
pub(crate) fn fit_inner_plan(
    data: &Dataset,
    config: &Config,
    opts: FitOptions<'_>,
    transfer: Option<&Transfer>,
    plan: Plan<'_>,
) -> Result<Product> {
    let whole = matches!(plan, Plan::All);
    if !whole && !has_units(opts.method) {
        return Err(Error::Invalid(format!(
            "{} does not split into units; fit it whole",
            opts.method.name()
        )));
    }
    let mut config = config.clone();
    if let (None, Some(t)) = (&config.model.likelihood, transfer) {
        // The network's likelihood follows the model the prior comes from.
        config.model.likelihood = Some(LikelihoodConfig::of(&t.model.likelihood));
    }
    if let (false, Some(t)) = (config.model_is_set("activation"), transfer) {
        // So does its activation (the transferred prior is over the same network).
        config.model.activation = t.model.net.activation();
        config.model_set.push("activation".into());
    }
    let situation = crate::defaults::Situation {
        method: opts.method,
        rows: data.rows,
        features: data.features,
        targets: data.targets(),
        transferred: transfer.is_some(),
    };
    let config = &crate::defaults::complete(&config, &situation);
    let lik_cfg = config
        .model
        .likelihood
        .clone()
        .unwrap_or(LikelihoodConfig::Gaussian { noise: None });
    if data.targets() > 1
        && !matches!(
            lik_cfg,
            LikelihoodConfig::Gaussian { .. } | LikelihoodConfig::Heteroscedastic
        )
    {
        // The family's name, without counting classes in multi-column targets.
        let name = lik_cfg.resolve(|| Ok(2)).map_or("this", |l| l.name());
        return Err(Error::Invalid(format!(
            "{} targets ({}) need the gaussian or heteroscedastic likelihood, not {name}",
            data.targets(),
            data.target_label()
        )));
    }
    let likelihood = lik_cfg.resolve(|| data.class_count())?;
    likelihood
        .check_targets(data.targets())
        .map_err(Error::Invalid)?;
    let task = if likelihood.is_classification() {
        Task::Classification {
            classes: likelihood.classes(),
        }
    } else {
        Task::Regression
    };
    // Images keep their constant pixels (a border that is always blank): dropping a column
    // would break the shape.
    let strict = opts.strict_columns && data.input_shape.is_none() && config.model.layers.is_none();
    if strict {
        data.check_not_constant()?;
    }
    let constant = if strict {
        ConstantColumn::Error
    } else {
        ConstantColumn::Keep
    };
    let standardizer = match transfer {
        Some(t) => {
            if t.features != data.feature_names {
                return Err(Error::Invalid(format!(
                    "the transferred prior was fitted on features [{}], this data has [{}]; the columns must be the same, in the same order",
                    t.features.join(", "),
                    data.feature_names.join(", ")
                )));
            }
            t.standardizer.clone()
        }
        None => Standardizer::fit(data, likelihood.is_regression(), constant)?,
    };
    let std_data = standardizer.transform(data)?;
    let net = config.model.network(
        &data.source,
        data.features,
        data.input_shape.as_deref(),
        likelihood.outputs() * data.targets(),
    )?;
    let spec = ModelSpec { net, likelihood };
    crate::resources::check_fit(&spec, data.rows, config.max_memory)?;
    let layout = spec.layout();
    let mut priors = if opts.method.uses_prior() {
        Some(
            config
                .priors
                .clone()
                .unwrap_or_else(PriorSet::default_priors),
        )
    } else {
        None
    };
    if let Some(t) = transfer {
        check_same_network(&spec, &t.model)?;
        let Some(own) = priors.take() else {
            return Err(Error::Invalid(format!(
                "{} uses no prior, so a transferred prior would be ignored; use map, laplace, vi, nuts or ensemble",
                opts.method.name()
            )));
        };
        let mut set = t.priors.clone();
        if !set.priors.iter().any(|p| p.params == "noise") {
            set.priors
                .extend(own.priors.into_iter().filter(|p| p.params == "noise"));
            if layout.group("noise").is_some() && !set.priors.iter().any(|p| p.params == "noise") {
                set.priors.extend(
                    PriorSet::default_priors()
                        .priors
                        .into_iter()
                        .filter(|p| p.params == "noise"),
                );
            }
        }
        priors = Some(set);
    }
    // An output belief sets the weight and bias priors (the noise prior stays).
    let mut output_calibration = None;
    if let (Some(belief), Some(set)) = (&config.output_prior, priors.as_mut()) {
        if transfer.is_some() {
            return Err(Error::Invalid(
                "an [output_prior] and a transferred prior both set the weight priors; use one"
                    .into(),
            ));
        }
        if data.targets() > 1 {
            return Err(crate::predict::one_target_only("[output_prior]"));
        }
        output_calibration = Some(crate::prior::output::apply(
            set,
            belief,
            &spec,
            &std_data.x,
            std_data.rows,
            (standardizer.y_mean, standardizer.y_std),
            opts.seed,
        )?);
    }
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
        if !r.hierarchy.is_empty() && !methods::lookup(opts.method)?.hierarchical_priors() {
            return Err(Error::Invalid(format!(
                "the prior on {} has a learned scale (hierarchy); {} would treat it as fixed. Hierarchical priors are supported by laplace (evidence), vi and nuts/hmc (non-centred)",
                r.hierarchy.blocks[0].group,
                opts.method.name()
            )));
        }
    }
    let settings_record =
        serde_json::json!({ "training": config.training, "inference": config.inference });
    let key = if whole {
        String::new()
    } else {
        units::fit_key(
            opts.method,
            opts.seed,
            data,
            &settings_record,
            &spec,
            priors.as_ref(),
        )?
    };
    let prepared = methods::Prepared {
        data,
        std_data: &std_data,
        spec: &spec,
        layout: &layout,
        config,
    };
    let (posterior, outcome) =
        match methods::run(&prepared, opts, plan, key, &mut priors, &mut resolved)? {
            methods::Step::Posterior(post, outcome) => (post, outcome),
            methods::Step::Done(product) => return Ok(product),
        };
    // A failure here (e.g. a diverged draw's non-finite output) is recorded, not fatal.
    let information = Some(
        crate::explain::measure_information(
            &spec,
            posterior.as_ref(),
            resolved.as_ref(),
            &std_data.x,
            std_data.rows,
            opts.seed,
        )
        .unwrap_or_else(|e| {
            crate::explain::Information::unavailable(format!("could not be measured: {e}"))
        }),
    );
    let class_prevalence = match task {
        Task::Classification { classes } => {
            let mut counts = vec![0.0; classes];
            for &y in &data.y {
                if let Some(c) = counts.get_mut(y as usize) {
                    *c += 1.0 / data.rows as f64;
                }
            }
            Some(counts)
        }
        Task::Regression => None,
    };
    let record = FitRecord {
        output_prior: output_calibration,
        class_prevalence,
        information,
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
            target: data.target_label(),
        },
        settings: settings_record,
        outcome,
        posterior_kind: posterior.kind().to_string(),
        schema: None,
    };
    Ok(Product::Model(Box::new(FittedModel { record, posterior })))
}

impl FittedModel {
    /// Predictive re-weighted to a deployment class prevalence, and the prevalence used.
    pub fn predict_with_class_prior(
        &self,
        data: &Dataset,
        seed: u64,
        choice: &ClassPriorChoice,
    ) -> Result<(Predictive, ClassPrior)> {
        let train = self.record.training_prevalence()?;
        let pred = self.predict(data, seed)?;
        let prior = match choice {
            ClassPriorChoice::Given(p) => p.clone(),
            ClassPriorChoice::Estimate(source) => {
                class_prior::estimate(&pred, train, &self.record.class_names(), source)?
            }
        };
        Ok((class_prior::adjust(&pred, train, &prior)?, prior))
    }

    /// Predictive at raw (unstandardised) inputs, in the target's original units.
    pub fn predict(&self, data: &Dataset, seed: u64) -> Result<Predictive> {
        let x = self.record.standardizer.transform_x(data)?;
        let mut r = crate::rng::stream(seed, 0x9e3d);
        let p = self
            .posterior
            .predict(&self.record.model, &x, data.rows, &mut r)?;
        let s = &self.record.standardizer;
        Ok(p.to_original_units(&s.target_means(), &s.target_stds()))
    }
}

/// Refits the model described by `record` on its own training data (re-read from
/// `record.data.source`) with other priors, keeping method, network, settings and seed.
pub fn refit_with_priors(
    record: &FitRecord,
    priors: PriorSet,
    progress: &dyn Progress,
) -> Result<FittedModel> {
    let data = record.training_data()?;
    let config = config_of(record, Some(priors.clone()))?;
    let method = Method::parse(&record.method)?;
    let opts = FitOptions {
        method,
        seed: record.seed,
        progress,
        strict_columns: false,
    };
    // Per-parameter (transferred) priors are in the recorded standardisation: keep it.
    if priors.priors.iter().any(|p| p.per_parameter.is_some()) {
        let t = Transfer {
            priors,
            standardizer: record.standardizer.clone(),
            model: record.model.clone(),
            features: record.data.features.clone(),
            noise: "as recorded".into(),
            warnings: Vec::new(),
        };
        let mut m = fit_inner(&data, &config, opts, Some(&t))?;
        m.record.schema = record.schema.clone();
        return Ok(m);
    }
    let mut m = fit(&data, &config, opts)?;
    m.record.schema = record.schema.clone();
    Ok(m)
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
    let likelihood = LikelihoodConfig::of(&record.model.likelihood);
    let (hidden, layers, input_shape) = match &record.model.net {
        Network::Mlp(m) => (m.sizes[1..m.sizes.len() - 1].to_vec(), None, None),
        Network::Cnn(c) => (
            Vec::new(),
            Some(c.spec().layers.clone()),
            Some(c.spec().input.clone()),
        ),
    };
    Ok(Config {
        method: Some(record.method.clone()),
        seed: Some(record.seed),
        model: crate::config::ModelConfig {
            hidden,
            activation: record.model.net.activation(),
            likelihood: Some(likelihood),
            layers,
            input_shape,
        },
        training,
        priors: priors.or_else(|| record.priors.clone()),
        inference,
        // The record's priors are the calibrated ones (explicit); the statement is in their
        // provenance and in `record.output_prior`.
        output_prior: None,
        source: format!("settings of the fit on {}", record.data.source),
        max_memory: None,
        // The recorded settings are the resolved ones: the defaults must not change them.
        training_set: record.settings["training"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default(),
        model_set: [
            "hidden",
            "activation",
            "likelihood",
            "layers",
            "input_shape",
        ]
        .map(String::from)
        .to_vec(),
    })
}
