//! The units of work a distributed run sends to workers (the Python `credence.distributed`
//! module runs them as Ray tasks): ensemble members and chains of a fit, UCI splits,
//! learning-curve runs and sensitivity fits — each one library call — and the library calls that
//! combine them into the result a local run gives.

use crate::calibration::{calibrate_held, hold_out};
use crate::columns::{table, PyColumn};
use crate::explain::{dataset, sensitivity_setup};
use crate::model::Model;
use crate::options::{build_config, TableOptions};
use crate::run::interruptible;
use credence::config::Config;
use credence::explain::{Alternatives, CurveOptions, CurveRun, SensitivityUnit};
use credence::fit::{
    fit_table_from_units, fit_table_unit, table_unit_count, FitOptions, UnitOutput,
};
use credence::uci::{SplitSelection, UciResult};
use credence::Method;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde::Deserialize;
use std::path::PathBuf;

/// The method and seed of a table fit, as `fit` chooses them.
pub(crate) fn method_seed(o: &TableOptions, config: &Config) -> PyResult<(Method, u64)> {
    let name = o
        .method
        .clone()
        .or(config.method.clone())
        .unwrap_or_else(|| "map".into());
    let method = Method::parse(&name).map_err(crate::to_py)?;
    Ok((method, o.seed.or(config.seed).unwrap_or(0)))
}

/// How many units a fit splits into (ensemble and MultiSWAG members, NUTS/HMC chains); `None`
/// for a method that is fitted whole. With `calibrate`, the fit is that of the table less its
/// held-out calibration rows (as in `fit`).
#[pyfunction]
pub fn unit_count(columns: Vec<PyColumn<'_>>, options: &str) -> PyResult<Option<usize>> {
    let o = TableOptions::parse(options)?;
    let read = o.read();
    let t = table(&o.source, columns, &read)?;
    let config = o.config().map_err(crate::to_py)?;
    let (method, seed) = method_seed(&o, &config)?;
    if !credence::fit::has_units(method) {
        return Ok(None);
    }
    let so = o.schema().map_err(crate::to_py)?;
    let (t, _) = hold_out(&o, t, seed).map_err(crate::to_py)?;
    let opts = FitOptions {
        method,
        seed,
        progress: &credence::infer::Silent,
        strict_columns: true,
    };
    table_unit_count(&t, &so, &read, &config, opts)
        .map(Some)
        .map_err(crate::to_py)
}

/// Runs unit `index` of a fit alone; returns it as bytes (CBOR).
#[pyfunction]
pub fn fit_unit<'py>(
    py: Python<'py>,
    columns: Vec<PyColumn<'_>>,
    options: &str,
    index: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let o = TableOptions::parse(options)?;
    let read = o.read();
    let t = table(&o.source, columns, &read)?;
    let config = o.config().map_err(crate::to_py)?;
    let (method, seed) = method_seed(&o, &config)?;
    let so = o.schema().map_err(crate::to_py)?;
    let (t, _) = hold_out(&o, t, seed).map_err(crate::to_py)?;
    let bytes = interruptible(py, false, |progress| {
        let opts = FitOptions {
            method,
            seed,
            progress,
            strict_columns: true,
        };
        fit_table_unit(&t, &so, &read, &config, opts, index)?.to_bytes()
    })?;
    Ok(PyBytes::new(py, &bytes))
}

/// The fit from its units (every one, in order, as `fit_unit` returned them); the same model as
/// `fit` on the same table and options (calibrated alike on the same held-out rows). Returns
/// the model and the schema's notes.
#[pyfunction]
pub fn fit_from_units(
    py: Python<'_>,
    columns: Vec<PyColumn<'_>>,
    options: &str,
    units: Vec<Vec<u8>>,
) -> PyResult<(Model, Vec<String>)> {
    let o = TableOptions::parse(options)?;
    let read = o.read();
    let t = table(&o.source, columns, &read)?;
    let config = o.config().map_err(crate::to_py)?;
    let (method, seed) = method_seed(&o, &config)?;
    let so = o.schema().map_err(crate::to_py)?;
    let units: Vec<UnitOutput> = units
        .iter()
        .map(|b| UnitOutput::from_bytes(b))
        .collect::<credence::Result<_>>()
        .map_err(crate::to_py)?;
    let (t, held) = hold_out(&o, t, seed).map_err(crate::to_py)?;
    let (inner, notes, calibration) = interruptible(py, false, |progress| {
        let opts = FitOptions {
            method,
            seed,
            progress,
            strict_columns: true,
        };
        let (m, notes) = fit_table_from_units(&t, &so, &read, &config, opts, &units)?;
        let c = held
            .as_ref()
            .map(|h| calibrate_held(&m, h, seed))
            .transpose()?;
        Ok((m, notes, c))
    })?;
    Ok((Model::from_parts(inner, calibration), notes))
}

/// Config and seed of a benchmark or learning curve (JSON from the Python layer).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunOptions {
    #[serde(default)]
    config_path: Option<String>,
    #[serde(default)]
    config: Option<serde_json::Value>,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    verbose: bool,
    /// Learning curves: methods, sizes, repeats.
    #[serde(default)]
    methods: Vec<String>,
    #[serde(default)]
    sizes: Vec<usize>,
    #[serde(default)]
    repeats: usize,
}

impl RunOptions {
    fn parse(json: &str) -> PyResult<(Self, Config)> {
        let o: RunOptions = serde_json::from_str(json)
            .map_err(|e| crate::value_error(format!("bad options: {e}")))?;
        let config =
            build_config(o.config_path.as_deref(), o.config.as_ref()).map_err(crate::to_py)?;
        Ok((o, config))
    }

    fn curve(&self) -> PyResult<CurveOptions> {
        Ok(CurveOptions {
            methods: self
                .methods
                .iter()
                .map(|m| Method::parse(m))
                .collect::<credence::Result<_>>()
                .map_err(crate::to_py)?,
            sizes: self.sizes.clone(),
            repeats: self.repeats,
            seed: self.seed,
        })
    }
}

fn json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| crate::value_error(e.to_string()))
}

/// The UCI protocol on a folder (`credence bench uci`): the splits `split_ids` (all when
/// `None`), as JSON text.
#[pyfunction]
#[pyo3(signature = (dir, method, options, split_ids = None))]
pub fn bench_uci(
    py: Python<'_>,
    dir: PathBuf,
    method: &str,
    options: &str,
    split_ids: Option<Vec<usize>>,
) -> PyResult<String> {
    let (o, config) = RunOptions::parse(options)?;
    let method = Method::parse(method).map_err(crate::to_py)?;
    let selection = match split_ids {
        Some(ids) => SplitSelection::Ids(ids),
        None => SplitSelection::First(None),
    };
    let r = interruptible(py, o.verbose, |progress| {
        credence::uci::run_selected(&dir, method, &config, &selection, o.seed, progress)
    })?;
    json(&r)
}

fn cbor<'py, T: serde::Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).map_err(|e| crate::value_error(e.to_string()))?;
    Ok(PyBytes::new(py, &out))
}

fn from_cbor<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> PyResult<T> {
    ciborium::from_reader(bytes).map_err(|e| crate::value_error(format!("not {what}: {e}")))
}

/// Split `split` of the UCI protocol alone, as bytes (CBOR: every number exact).
#[pyfunction]
pub fn bench_uci_unit<'py>(
    py: Python<'py>,
    dir: PathBuf,
    method: &str,
    options: &str,
    split: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let (o, config) = RunOptions::parse(options)?;
    let method = Method::parse(method).map_err(crate::to_py)?;
    let selection = SplitSelection::Ids(vec![split]);
    let r = interruptible(py, false, |progress| {
        credence::uci::run_selected(&dir, method, &config, &selection, o.seed, progress)
    })?;
    cbor(py, &r)
}

/// The number of splits of a UCI folder.
#[pyfunction]
pub fn uci_splits(dir: PathBuf) -> PyResult<usize> {
    let f = credence::data::uci::UciFolder::open(&dir).map_err(crate::to_py)?;
    Ok(f.n_splits)
}

/// One UCI result (JSON text) from results of disjoint splits (`bench_uci_unit` bytes);
/// `seconds` is the whole's wall time.
#[pyfunction]
pub fn bench_uci_merge(parts: Vec<Vec<u8>>, seconds: f64) -> PyResult<String> {
    let parts: Vec<UciResult> = parts
        .iter()
        .map(|p| from_cbor(p, "a UCI result"))
        .collect::<PyResult<_>>()?;
    json(&credence::uci::merge(parts, seconds).map_err(crate::to_py)?)
}

/// The number of runs of a learning curve (methods × sizes × repeats).
#[pyfunction]
pub fn curve_runs(dir: PathBuf, options: &str) -> PyResult<usize> {
    let (o, config) = RunOptions::parse(options)?;
    credence::explain::curve_runs(&dir, &config, &o.curve()?).map_err(crate::to_py)
}

/// Run `index` of a learning curve alone, as bytes (CBOR).
#[pyfunction]
pub fn curve_run<'py>(
    py: Python<'py>,
    dir: PathBuf,
    options: &str,
    index: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let (o, config) = RunOptions::parse(options)?;
    let c = o.curve()?;
    let r = interruptible(py, false, |_| {
        credence::explain::curve_run(&dir, &config, &c, index)
    })?;
    cbor(py, &r)
}

/// A learning curve (`credence curve`), as JSON text; with `runs` (every run's `curve_run`
/// bytes, in order), from those runs instead of running them here.
#[pyfunction]
#[pyo3(signature = (dir, options, runs = None))]
pub fn curve(
    py: Python<'_>,
    dir: PathBuf,
    options: &str,
    runs: Option<Vec<Vec<u8>>>,
) -> PyResult<String> {
    let (o, config) = RunOptions::parse(options)?;
    let c = o.curve()?;
    let curve = match runs {
        Some(runs) => {
            let runs: Vec<CurveRun> = runs
                .iter()
                .map(|r| from_cbor(r, "a learning-curve run"))
                .collect::<PyResult<_>>()?;
            credence::explain::curve_from_runs(&dir, &config, &c, runs).map_err(crate::to_py)?
        }
        None => interruptible(py, o.verbose, |progress| {
            credence::explain::learning_curve(&dir, &config, &c, progress)
        })?,
    };
    json(&curve)
}

/// The number of fits of a sensitivity analysis (the base prior and one per alternative).
#[pyfunction]
#[pyo3(signature = (alternatives_toml, alternatives_source = "alternatives"))]
pub fn sensitivity_units(alternatives_toml: &str, alternatives_source: &str) -> PyResult<usize> {
    let alts = Alternatives::parse(alternatives_source, alternatives_toml).map_err(crate::to_py)?;
    Ok(credence::explain::sensitivity_units(&alts))
}

/// Fit `index` of a sensitivity analysis (0 = base prior) alone, as bytes (CBOR).
#[pyfunction]
#[pyo3(signature = (columns, options, alternatives_toml, index, alternatives_source = "alternatives", test_fraction = 0.2))]
pub fn sensitivity_unit<'py>(
    py: Python<'py>,
    columns: Vec<PyColumn<'_>>,
    options: &str,
    alternatives_toml: &str,
    index: usize,
    alternatives_source: &str,
    test_fraction: f64,
) -> PyResult<Bound<'py, PyBytes>> {
    let (o, alts, so) = sensitivity_setup(
        options,
        alternatives_toml,
        alternatives_source,
        test_fraction,
    )?;
    let (config, data) = dataset(columns, &o)?;
    let u = interruptible(py, false, |_| {
        credence::explain::sensitivity_unit(&data, &config, &alts, so, index)
    })?;
    cbor(py, &u)
}

/// The sensitivity analysis (JSON text, as `sensitivity`) from its fits, run by
/// `sensitivity_unit`.
#[pyfunction]
#[pyo3(signature = (columns, options, alternatives_toml, units, alternatives_source = "alternatives", test_fraction = 0.2))]
pub fn sensitivity_from_units(
    py: Python<'_>,
    columns: Vec<PyColumn<'_>>,
    options: &str,
    alternatives_toml: &str,
    units: Vec<Vec<u8>>,
    alternatives_source: &str,
    test_fraction: f64,
) -> PyResult<String> {
    let (o, alts, so) = sensitivity_setup(
        options,
        alternatives_toml,
        alternatives_source,
        test_fraction,
    )?;
    let (config, data) = dataset(columns, &o)?;
    let units: Vec<SensitivityUnit> = units
        .iter()
        .map(|b| from_cbor(b, "a sensitivity unit"))
        .collect::<PyResult<_>>()?;
    let s = interruptible(py, false, |_| {
        credence::explain::sensitivity_from_units(&data, &config, &alts, so, units)
    })?;
    json(&s)
}
