//! The fit configuration file (TOML): method, network, likelihood, training settings and priors
//! with provenance. Parsed strictly; every error names the file and the field.

use crate::error::{Error, Result};
use crate::likelihood::Likelihood;
use crate::nn::Activation;
use crate::prior::{NoiseParam, Prior, PriorSet, Provenance};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Network and likelihood settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Hidden layer widths.
    #[serde(default = "default_hidden")]
    pub hidden: Vec<usize>,
    /// Hidden activation.
    #[serde(default = "default_activation")]
    pub activation: Activation,
    /// Likelihood; Gaussian with learned noise when absent. For categorical, `classes = 0`
    /// (or absent) means "count the classes in the data".
    #[serde(default)]
    pub likelihood: Option<LikelihoodConfig>,
    /// Layers of a convolutional network, instead of `hidden`:
    /// `[{conv2d = {out = 6, kernel = 5}}, {pool = "avg2"}, {dense = 84}]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<crate::nn::LayerSpec>>,
    /// Input shape `[channels, height, width]` (or `[channels, width]`) of a convolutional
    /// network; the data's (`.npy` files, `--input-shape`) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_shape: Option<Vec<usize>>,
}

/// Likelihood as written in the config (classes may be left to the data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LikelihoodConfig {
    /// Gaussian; `noise` fixes σ (standardised units).
    Gaussian {
        /// Fixed noise scale.
        #[serde(default)]
        noise: Option<f64>,
    },
    /// Network predicts mean and log-scale.
    Heteroscedastic,
    /// Student-t with `df`.
    StudentT {
        /// Degrees of freedom.
        df: f64,
        /// Fixed noise scale.
        #[serde(default)]
        noise: Option<f64>,
    },
    /// Binary labels.
    Bernoulli,
    /// Class labels 0..K−1.
    Categorical {
        /// Number of classes (0: from the data).
        #[serde(default)]
        classes: usize,
    },
    /// Counts.
    Poisson,
}

impl LikelihoodConfig {
    /// Parses a family name given on the command line.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "gaussian" => Self::Gaussian { noise: None },
            "heteroscedastic" => Self::Heteroscedastic,
            "student-t" => Self::StudentT {
                df: 4.0,
                noise: None,
            },
            "bernoulli" => Self::Bernoulli,
            "categorical" => Self::Categorical { classes: 0 },
            "poisson" => Self::Poisson,
            _ => return None,
        })
    }

    /// The config entry that gives back `likelihood`.
    pub fn of(likelihood: &Likelihood) -> Self {
        match *likelihood {
            Likelihood::Gaussian { noise } => Self::Gaussian { noise },
            Likelihood::Heteroscedastic => Self::Heteroscedastic,
            Likelihood::StudentT { df, noise } => Self::StudentT { df, noise },
            Likelihood::Bernoulli => Self::Bernoulli,
            Likelihood::Categorical { classes } => Self::Categorical { classes },
            Likelihood::Poisson => Self::Poisson,
        }
    }

    /// The likelihood, with the class count filled in from the data where needed.
    pub fn resolve(&self, classes_in_data: impl FnOnce() -> Result<usize>) -> Result<Likelihood> {
        Ok(match *self {
            Self::Gaussian { noise } => Likelihood::Gaussian { noise },
            Self::Heteroscedastic => Likelihood::Heteroscedastic,
            Self::StudentT { df, noise } => Likelihood::StudentT { df, noise },
            Self::Bernoulli => Likelihood::Bernoulli,
            Self::Categorical { classes } => Likelihood::Categorical {
                classes: if classes == 0 {
                    classes_in_data()?
                } else {
                    classes
                },
            },
            Self::Poisson => Likelihood::Poisson,
        })
    }
}

fn default_hidden() -> Vec<usize> {
    vec![50]
}
fn default_activation() -> Activation {
    Activation::Tanh
}

impl ModelConfig {
    /// The network this section describes for `features` inputs and `outputs` outputs: an MLP
    /// from `hidden`, or a CNN from `layers` over `input_shape` (this section's, else the
    /// data's, `data_shape`). Errors name the field and what was expected.
    pub fn network(
        &self,
        source: &str,
        features: usize,
        data_shape: Option<&[usize]>,
        outputs: usize,
    ) -> Result<crate::nn::Network> {
        let Some(layers) = &self.layers else {
            if self.input_shape.is_some() {
                return Err(Error::Invalid(
                    "[model] input_shape is set but layers is not: input_shape describes the input of a convolutional network (`layers = [...]`)".into(),
                ));
            }
            let mut sizes = vec![features];
            sizes.extend(&self.hidden);
            sizes.push(outputs);
            return Ok(crate::nn::Mlp::new(sizes, self.activation).into());
        };
        let shape = match (&self.input_shape, data_shape) {
            (Some(s), _) => s.clone(),
            (None, Some(s)) => s.to_vec(),
            (None, None) => {
                return Err(Error::Invalid(format!(
                    "[model] layers needs an input shape: set [model] input_shape = [channels, height, width] (or [channels, width]) whose product is the {features} feature columns, or give the data as a .npy file of shape (rows, channels, height, width)"
                )))
            }
        };
        crate::data::npy::check_input_shape(source, &shape, features)?;
        let cnn = crate::nn::Cnn::new(&shape, layers, self.activation, outputs)
            .map_err(|e| Error::Invalid(format!("[model] layers: {e}")))?;
        Ok(cnn.into())
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            hidden: default_hidden(),
            activation: default_activation(),
            likelihood: None,
            layers: None,
            input_shape: None,
        }
    }
}

/// Optimiser choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// Minibatch Adam.
    Adam,
    /// Full-batch L-BFGS.
    Lbfgs,
}

/// Training settings for point estimates (MLE, MAP) and the members of ensembles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Adam or L-BFGS.
    pub optimizer: Optimizer,
    /// Maximum passes over the data (Adam).
    pub epochs: usize,
    /// Adam step size.
    pub learning_rate: f64,
    /// Minibatch size (0: full batch).
    pub batch_size: usize,
    /// Share of the training rows held out to choose the stopping epoch (0: no early stopping).
    pub validation_fraction: f64,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// After early stopping, retrain on all rows for the chosen number of epochs.
    pub refit: bool,
    /// L-BFGS iteration limit.
    pub max_iterations: usize,
    /// L-BFGS convergence tolerance on the relative change of the objective.
    pub tolerance: f64,
    /// L2 penalty λ·Σθ² on the network parameters (weight decay): the same optimum as a
    /// Normal(0, 1/√(2λ)) prior, and reported as such.
    pub weight_decay: f64,
    /// L1 penalty λ·Σ|θ| on the network parameters: the same optimum as a Laplace(0, 1/λ) prior.
    pub l1: f64,
    /// Heteroscedastic likelihood only: epochs at the start of training during which the
    /// log-scale output is held at log σ = 0 (its last-layer weights and bias at zero), so the
    /// mean is fitted first and residuals cannot be explained away by variance (0: off).
    pub mean_warmup: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            optimizer: Optimizer::Adam,
            epochs: 2000,
            learning_rate: 0.01,
            batch_size: 32,
            validation_fraction: 0.1,
            patience: 100,
            refit: true,
            max_iterations: 5000,
            tolerance: 1e-10,
            weight_decay: 0.0,
            l1: 0.0,
            mean_warmup: 0,
        }
    }
}

/// A prior entry as read, before the provenance check.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrior {
    params: Option<String>,
    distribution: Option<crate::dist::Dist>,
    provenance: Option<Provenance>,
    #[serde(default)]
    on: NoiseParam,
    #[serde(default)]
    hierarchy: Option<crate::prior::Hierarchy>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    method: Option<String>,
    seed: Option<u64>,
    max_memory: Option<toml::Value>,
    #[serde(default)]
    model: ModelConfig,
    #[serde(default)]
    training: TrainConfig,
    #[serde(default)]
    prior: Vec<RawPrior>,
    #[serde(default)]
    inference: toml::Table,
    #[serde(default)]
    output_prior: Option<crate::prior::OutputPrior>,
}

/// A complete fit configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Inference method name (`mle`, `map`, …); `None` leaves it to the command line.
    pub method: Option<String>,
    /// Seed.
    pub seed: Option<u64>,
    /// The memory a run may use, in bytes (`max_memory = "4G"`; the CLI's `--max-memory`);
    /// `None`: what the machine has available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_memory: Option<u64>,
    /// Network and likelihood.
    pub model: ModelConfig,
    /// Training settings.
    pub training: TrainConfig,
    /// Priors; `None` when the file lists none (the labelled default applies for Bayesian methods).
    pub priors: Option<PriorSet>,
    /// Method-specific settings (`[inference]` table), read by each inference method.
    pub inference: toml::Table,
    /// A belief about the network's outputs (`[output_prior]`) that sets the weight and bias
    /// priors (see [`crate::prior::output`]).
    pub output_prior: Option<crate::prior::OutputPrior>,
    /// The file it came from.
    pub source: String,
    /// The `[training]` keys the file set; the others are open to the defaults of
    /// [`crate::defaults`] (which depend on the method, the likelihood and the data size).
    #[serde(skip)]
    pub training_set: Vec<String>,
    /// The `[model]` keys the file set; the others (the activation) are open to the defaults.
    #[serde(skip)]
    pub model_set: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            method: None,
            seed: None,
            max_memory: None,
            model: ModelConfig::default(),
            training: TrainConfig::default(),
            priors: None,
            inference: toml::Table::new(),
            output_prior: None,
            source: "<defaults>".into(),
            training_set: Vec::new(),
            model_set: Vec::new(),
        }
    }
}

impl Config {
    /// Whether the training setting `key` was set explicitly (not left to the defaults).
    pub fn training_is_set(&self, key: &str) -> bool {
        self.training_set.iter().any(|k| k == key)
    }

    /// Whether the file states a prior on the noise (`params = "noise"`).
    pub fn states_noise_prior(&self) -> bool {
        self.priors
            .as_ref()
            .is_some_and(|p| p.priors.iter().any(|q| q.params == "noise"))
    }

    /// Whether the model setting `key` (e.g. `activation`) was set explicitly.
    pub fn model_is_set(&self, key: &str) -> bool {
        self.model_set.iter().any(|k| k == key)
    }

    /// Reads and checks a config file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parses config text; `file` names the source in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| Error::Config {
            file: file.into(),
            message: e.to_string().trim_end().to_string(),
        })?;
        // Which training settings the file names (the defaults fill the rest per method).
        let table = toml::from_str::<toml::Table>(text).ok();
        let keys_of = |section: &str| -> Vec<String> {
            table
                .as_ref()
                .and_then(|t| t.get(section).and_then(|v| v.as_table()))
                .map(|t| t.keys().cloned().collect())
                .unwrap_or_default()
        };
        let training_set = keys_of("training");
        let model_set = keys_of("model");
        let mut priors = Vec::new();
        for (i, p) in raw.prior.into_iter().enumerate() {
            let n = i + 1;
            let params = p.params.ok_or_else(|| Error::Config {
                file: file.into(),
                message: format!("prior {n}: missing `params` (which parameters it covers, e.g. params = \"*.weight\", \"layer1.bias\" or \"noise\")"),
            })?;
            let distribution = p.distribution.ok_or_else(|| Error::Config {
                file: file.into(),
                message: format!("prior {n} (params = \"{params}\"): missing `distribution`, e.g. distribution = {{ family = \"normal\", loc = 0.0, scale = 1.0 }}"),
            })?;
            let provenance = p.provenance.ok_or_else(|| Error::Config {
                file: file.into(),
                message: format!(
                    "prior {n} (params = \"{params}\") has no provenance; add provenance = {{ kind = \"factual\" | \"value\" | \"default\", source = \"where it comes from\", note = \"why\" }}"
                ),
            })?;
            if provenance.source.trim().is_empty() {
                return Err(Error::Config {
                    file: file.into(),
                    message: format!("prior {n} (params = \"{params}\"): provenance.source is empty; say where the prior comes from"),
                });
            }
            priors.push(Prior {
                params,
                distribution,
                provenance,
                on: p.on,
                per_parameter: None,
                hierarchy: p.hierarchy,
            });
        }
        let priors = if priors.is_empty() {
            None
        } else {
            Some(PriorSet { priors })
        };
        if let Some(p) = &priors {
            p.validate(file)?;
        }
        if let Some(o) = &raw.output_prior {
            o.validate(file)?;
            if let Some(p) = priors
                .as_ref()
                .and_then(|s| s.priors.iter().find(|p| p.params != "noise"))
            {
                return Err(Error::Config {
                    file: file.into(),
                    message: format!(
                        "[output_prior] sets the priors of the network's weights and biases, and a [[prior]] with params = \"{}\" also does; keep only [[prior]] entries for \"noise\" beside an [output_prior]",
                        p.params
                    ),
                });
            }
        }
        let t = &raw.training;
        if !(0.0..0.9).contains(&t.validation_fraction) {
            return Err(Error::Config {
                file: file.into(),
                message: format!(
                    "training.validation_fraction must be in [0, 0.9), found {}",
                    t.validation_fraction
                ),
            });
        }
        if !(t.learning_rate > 0.0 && t.learning_rate.is_finite()) {
            return Err(Error::Config {
                file: file.into(),
                message: format!(
                    "training.learning_rate must be positive, found {}",
                    t.learning_rate
                ),
            });
        }
        for (name, v) in [("weight_decay", t.weight_decay), ("l1", t.l1)] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(Error::Config {
                    file: file.into(),
                    message: format!("training.{name} must be a non-negative number, found {v}"),
                });
            }
        }
        if raw.model.hidden.contains(&0) {
            return Err(Error::Config {
                file: file.into(),
                message: "model.hidden widths must be positive".into(),
            });
        }
        let max_memory = match &raw.max_memory {
            None => None,
            Some(toml::Value::String(t)) => Some(crate::resources::parse_size(t).map_err(|m| {
                Error::Config {
                    file: file.into(),
                    message: format!("max_memory: {m}"),
                }
            })?),
            Some(toml::Value::Integer(b)) if *b > 0 => Some(*b as u64),
            Some(v) => {
                return Err(Error::Config {
                    file: file.into(),
                    message: format!(
                        "max_memory must be a size such as \"4G\" or \"512M\" (or a number of bytes), found {v}"
                    ),
                })
            }
        };
        Ok(Config {
            method: raw.method,
            seed: raw.seed,
            max_memory,
            model: raw.model,
            training: raw.training,
            priors,
            inference: raw.inference,
            output_prior: raw.output_prior,
            source: file.into(),
            training_set,
            model_set,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
method = "map"
seed = 3
[model]
hidden = [20]
activation = "relu"
likelihood = { family = "gaussian" }
[training]
epochs = 10
[[prior]]
params = "*.weight"
distribution = { family = "normal", loc = 0.0, scale = 0.5 }
provenance = { kind = "factual", source = "fit on 2019 data", note = "posterior sd" }
[[prior]]
params = "*.bias"
distribution = { family = "laplace", loc = 0.0, scale = 1.0 }
provenance = { kind = "default", source = "Credence default" }
[[prior]]
params = "noise"
on = "precision"
distribution = { family = "gamma", shape = 6.0, rate = 6.0 }
provenance = { kind = "value", source = "policy", holder = "risk team" }
"#;

    #[test]
    fn full_config_parses() {
        let c = Config::parse("c.toml", FULL).unwrap();
        assert_eq!(c.method.as_deref(), Some("map"));
        assert_eq!(c.model.hidden, vec![20]);
        let p = c.priors.unwrap();
        assert_eq!(p.priors.len(), 3);
        assert_eq!(p.priors[2].on, NoiseParam::Precision);
    }

    #[test]
    fn missing_provenance_says_what_to_add() {
        let text = "[[prior]]\nparams = \"*\"\ndistribution = { family = \"normal\", loc = 0.0, scale = 1.0 }\n";
        let e = Config::parse("p.toml", text).unwrap_err().to_string();
        assert!(
            e.contains("p.toml")
                && e.contains("has no provenance")
                && e.contains("kind = \"factual\""),
            "{e}"
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let e = Config::parse("p.toml", "[model]\nhiden = [3]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("hiden"), "{e}");
        let text = "[[prior]]\nparams = \"*\"\ndistribution = { family = \"normal\", loc = 0.0, scale = -1.0 }\nprovenance = { kind = \"default\", source = \"x\" }\n";
        let e = Config::parse("p.toml", text).unwrap_err().to_string();
        assert!(e.contains("scale must be a positive"), "{e}");
        let text = "[[prior]]\nparams = \"*\"\ndistribution = { family = \"normal\", loc = 0.0, scale = 1.0 }\nprovenance = { kind = \"guess\", source = \"x\" }\n";
        let e = Config::parse("p.toml", text).unwrap_err().to_string();
        assert!(e.contains("guess"), "{e}");
    }
}
