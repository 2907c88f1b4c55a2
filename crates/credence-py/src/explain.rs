//! Explaining priors from Python: the conjugate calculator, prior predictive checks and prior
//! sensitivity, each one library call returning the CLI's `--json` object as text.

use crate::columns::{table, PyColumn};
use crate::options::TableOptions;
use crate::run::interruptible;
use credence::data::{Dataset, Schema};
use credence::explain::{Alternatives, PriorCheckOptions, SensitivityOptions};
use credence::Method;
use pyo3::prelude::*;

/// Bayes' rule in closed form for a conjugate model file (TOML text, as `credence bayes`):
/// the report as JSON text; with `plot`, the prior/likelihood/posterior SVG is written there.
#[pyfunction]
#[pyo3(signature = (model_toml, source = "model", plot = None))]
pub fn bayes(model_toml: &str, source: &str, plot: Option<std::path::PathBuf>) -> PyResult<String> {
    let m = credence::conjugate::ModelFile::parse(source, model_toml).map_err(crate::to_py)?;
    let r = m.report().map_err(crate::to_py)?;
    if let Some(p) = plot {
        let svg = credence::plot::panels(&r.plots, 520, 380).map_err(crate::to_py)?;
        credence::artifact::write_atomic(&p, svg.as_bytes()).map_err(crate::to_py)?;
    }
    serde_json::to_string(&r).map_err(|e| crate::value_error(e.to_string()))
}

/// The table's dataset under a freshly learned schema (as `prior-check` and `sensitivity` read
/// their data), with the options' config.
pub(crate) fn dataset(
    columns: Vec<PyColumn<'_>>,
    o: &TableOptions,
) -> PyResult<(credence::config::Config, Dataset)> {
    let read = o.read();
    let t = table(&o.source, columns, &read)?;
    let so = o.schema().map_err(crate::to_py)?;
    let (_, enc) = Schema::fit(&t, &so).map_err(crate::to_py)?;
    let config = o.config().map_err(crate::to_py)?;
    Ok((config, enc.data))
}

/// What networks drawn from the prior predict before seeing the data (`credence prior-check`),
/// as JSON text.
#[pyfunction]
#[pyo3(signature = (columns, options, draws = 200))]
pub fn prior_check(
    py: Python<'_>,
    columns: Vec<PyColumn<'_>>,
    options: &str,
    draws: usize,
) -> PyResult<String> {
    let o = TableOptions::parse(options)?;
    let (config, data) = dataset(columns, &o)?;
    let opts = PriorCheckOptions {
        draws,
        seed: o.seed.unwrap_or(0),
        ..PriorCheckOptions::default()
    };
    let c = interruptible(py, false, |_| {
        credence::explain::prior_check(&data, &config, &opts)
    })?;
    serde_json::to_string(&c).map_err(|e| crate::value_error(e.to_string()))
}

/// Refits under alternative priors (TOML text with `[[alternative]]` entries) and reports how
/// test metrics and predictions move (`credence sensitivity`), as JSON text.
#[pyfunction]
#[pyo3(signature = (columns, options, alternatives_toml, alternatives_source = "alternatives", test_fraction = 0.2))]
pub fn sensitivity(
    py: Python<'_>,
    columns: Vec<PyColumn<'_>>,
    options: &str,
    alternatives_toml: &str,
    alternatives_source: &str,
    test_fraction: f64,
) -> PyResult<String> {
    let (o, alts, opts) = sensitivity_setup(
        options,
        alternatives_toml,
        alternatives_source,
        test_fraction,
    )?;
    let (config, data) = dataset(columns, &o)?;
    let s = interruptible(py, o.verbose, |_| {
        credence::explain::sensitivity(&data, &config, &alts, opts)
    })?;
    serde_json::to_string(&s).map_err(|e| crate::value_error(e.to_string()))
}

/// Options, alternatives and analysis settings of a sensitivity analysis (as `sensitivity`
/// reads them).
pub(crate) fn sensitivity_setup(
    options: &str,
    alternatives_toml: &str,
    alternatives_source: &str,
    test_fraction: f64,
) -> PyResult<(TableOptions, Alternatives, SensitivityOptions)> {
    let o = TableOptions::parse(options)?;
    let alts = Alternatives::parse(alternatives_source, alternatives_toml).map_err(crate::to_py)?;
    let method = Method::parse(o.method.as_deref().unwrap_or("map")).map_err(crate::to_py)?;
    let so = SensitivityOptions {
        method,
        test_fraction,
        seed: o.seed.unwrap_or(0),
    };
    Ok((o, alts, so))
}

/// The inference method names, as `credence fit --method` takes them.
#[pyfunction]
pub fn methods() -> Vec<&'static str> {
    Method::ALL.iter().map(|m| m.name()).collect()
}

/// JSON text (an object) written as TOML text, for files given as Python dicts.
#[pyfunction]
pub fn toml_of_json(json: &str) -> PyResult<String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| crate::value_error(format!("bad JSON: {e}")))?;
    let t = toml::Value::try_from(v)
        .map_err(|e| crate::value_error(format!("cannot be written as TOML: {e}")))?;
    toml::to_string(&t).map_err(|e| crate::value_error(format!("cannot be written as TOML: {e}")))
}
