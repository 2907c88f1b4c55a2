//! Settings sent by the Python layer as one JSON object, and the fit config built from them by
//! the same strict parser as a config file.

use credence::config::Config;
use credence::data::{MissingPolicy, ReadOptions, SchemaOptions};
use pyo3::PyResult;
use serde::Deserialize;

/// Table, config and method settings of a fit (and of `prior_check`/`sensitivity`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableOptions {
    /// Where the table came from, for messages (`DataFrame`, `array`).
    #[serde(default = "default_source")]
    pub source: String,
    /// Target column names.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Feature columns (default: every other column).
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// Columns never used as features.
    #[serde(default)]
    pub drop: Vec<String>,
    /// Numeric columns to one-hot encode.
    #[serde(default)]
    pub categorical: Vec<String>,
    /// `error`, `drop` or `impute`.
    #[serde(default = "default_missing")]
    pub missing: String,
    /// Cell texts read as missing (default: the readers' list).
    #[serde(default)]
    pub na_values: Option<Vec<String>>,
    /// A TOML config file.
    #[serde(default)]
    pub config_path: Option<String>,
    /// Config entries (as in the TOML file) laid over the file's, key by key.
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    /// Inference method (else the config's, else `map`).
    #[serde(default)]
    pub method: Option<String>,
    /// Seed (else the config's, else 0).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Show a progress bar (on a terminal).
    #[serde(default)]
    pub verbose: bool,
    /// Post-hoc calibration on held-out rows: `conformal`, `temperature` or both
    /// (comma-separated), as `credence fit --calibrate`.
    #[serde(default)]
    pub calibrate: Option<String>,
    /// Share of the training rows held out for calibration (`--calibration-fraction`).
    #[serde(default = "default_fraction")]
    pub calibration_fraction: f64,
    /// Conformal score of a regression: `normalized` (default), `absolute` or `cqr`.
    #[serde(default)]
    pub conformal_score: Option<String>,
}

fn default_fraction() -> f64 {
    0.2
}

fn default_source() -> String {
    "DataFrame".into()
}

fn default_missing() -> String {
    "error".into()
}

impl TableOptions {
    /// Parses the JSON the Python layer sends.
    pub fn parse(json: &str) -> PyResult<Self> {
        serde_json::from_str(json).map_err(|e| crate::value_error(format!("bad options: {e}")))
    }

    /// Read options: the given missing-value texts or the readers' defaults.
    pub fn read(&self) -> ReadOptions {
        match &self.na_values {
            Some(v) => ReadOptions {
                na_values: v.iter().map(|s| s.trim().to_string()).collect(),
            },
            None => ReadOptions::default(),
        }
    }

    /// Schema options, as the CLI's column flags give them.
    pub fn schema(&self) -> credence::Result<SchemaOptions> {
        Ok(SchemaOptions {
            targets: self.targets.clone(),
            features: self.features.clone(),
            drop: self.drop.clone(),
            categorical: self.categorical.clone(),
            missing: MissingPolicy::parse(&self.missing)?,
            classify: None,
        })
    }

    /// The fit config: the TOML file (if any) with the `config` entries laid over it, parsed
    /// strictly (unknown fields, priors without provenance and bad values are errors).
    pub fn config(&self) -> credence::Result<Config> {
        build_config(self.config_path.as_deref(), self.config.as_ref())
    }
}

/// The config from an optional TOML file and optional JSON entries laid over it.
pub(crate) fn build_config(
    path: Option<&str>,
    overlay: Option<&serde_json::Value>,
) -> credence::Result<Config> {
    let (mut table, source) = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| credence::Error::io(p, e))?;
            let t: toml::Table = toml::from_str(&text).map_err(|e| credence::Error::Config {
                file: p.into(),
                message: e.to_string().trim_end().to_string(),
            })?;
            (t, p.to_string())
        }
        None => (toml::Table::new(), "<config from Python>".to_string()),
    };
    if let Some(o) = overlay {
        let v = toml::Value::try_from(o).map_err(|e| credence::Error::Config {
            file: source.clone(),
            message: format!("the config entries cannot be written as TOML: {e}"),
        })?;
        let toml::Value::Table(o) = v else {
            return Err(credence::Error::Config {
                file: source,
                message: "the config must be a dict (a TOML table)".into(),
            });
        };
        merge(&mut table, o);
    }
    let text = toml::to_string(&table).map_err(|e| credence::Error::Config {
        file: source.clone(),
        message: e.to_string(),
    })?;
    Config::parse(&source, &text)
}

/// Lays `over` on `base`: tables are merged key by key, anything else is replaced.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}
