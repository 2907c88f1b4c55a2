//! A fitted model as a Python object: fit from a table (calibrated on held-out rows when asked),
//! load and save model folders, predict (with Bayesian and conformal regions), decide, report,
//! and the posterior's draws.

use crate::calibration::{calibrate_held, hold_out};
use crate::columns::{table, PyColumn};
use crate::options::TableOptions;
use crate::run::interruptible;
use credence::calibrate::{self, ModelCalibration, Region};
use credence::data::{Dataset, ReadOptions, UnknownLevel};
use credence::decide::{decide, DecisionSpec, DecisionSummary};
use credence::fit::{fit_table, FitOptions, FittedModel};
use credence::infer::McmcOutcome;
use credence::report::{build, ReportInput};
use credence::{artifact, Method, Predictive};
use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// A fitted Credence model: the fit record (JSON), the posterior and the post-hoc calibration
/// stored with it (`calibration.json` of a model folder), if any.
#[pyclass(module = "credence._credence", frozen)]
pub struct Model {
    inner: FittedModel,
    calibration: Option<ModelCalibration>,
}

/// Fits a model to a table (see `TableOptions` for `options`); returns the model and the
/// schema's notes (dropped rows and columns). With `calibrate`, the model is fitted on the
/// table less the held-out calibration rows and calibrated on them, as `credence fit
/// --calibrate` does.
#[pyfunction]
pub fn fit(
    py: Python<'_>,
    columns: Vec<PyColumn<'_>>,
    options: &str,
) -> PyResult<(Model, Vec<String>)> {
    let o = TableOptions::parse(options)?;
    let read = o.read();
    let t = table(&o.source, columns, &read)?;
    let config = o.config().map_err(crate::to_py)?;
    let schema = o.schema().map_err(crate::to_py)?;
    let (method, seed) = crate::units::method_seed(&o, &config)?;
    let (t, held) = hold_out(&o, t, seed).map_err(crate::to_py)?;
    let (inner, notes, calibration) = interruptible(py, o.verbose, |progress| {
        let opts = FitOptions {
            method,
            seed,
            progress,
            strict_columns: true,
        };
        let (m, notes) = fit_table(&t, &schema, &read, &config, opts)?;
        let c = held
            .as_ref()
            .map(|h| calibrate_held(&m, h, seed))
            .transpose()?;
        Ok((m, notes, c))
    })?;
    Ok((Model { inner, calibration }, notes))
}

impl Model {
    /// Wraps a fitted model and its calibration.
    pub(crate) fn from_parts(inner: FittedModel, calibration: Option<ModelCalibration>) -> Self {
        Model { inner, calibration }
    }
}

/// Loads a model folder written by `credence fit` or by `Model.save` (with its calibration).
#[pyfunction]
pub fn load(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
    let (inner, calibration) = py
        .detach(|| Ok::<_, credence::Error>((artifact::load(&path)?, calibrate::load(&path)?)))
        .map_err(crate::to_py)?;
    Ok(Model { inner, calibration })
}

/// A float64 array of `rows × cols` values given row-major.
fn matrix<'py>(
    py: Python<'py>,
    v: Vec<f64>,
    rows: usize,
    cols: usize,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, v).reshape([rows, cols])?.into_any())
}

/// A float64 vector.
fn vector(py: Python<'_>, v: Vec<f64>) -> Bound<'_, PyAny> {
    PyArray1::from_vec(py, v).into_any()
}

impl Model {
    /// Encodes a table with the model's schema (features only, or with the target).
    fn encode(
        &self,
        source: &str,
        columns: Vec<PyColumn<'_>>,
        with_target: bool,
        unknown: &str,
    ) -> PyResult<(Dataset, Vec<bool>, Vec<String>)> {
        let r = &self.inner.record;
        let read = match r.schema.as_ref() {
            Some(s) => ReadOptions {
                na_values: s.na_values.clone(),
            },
            None => ReadOptions::default(),
        };
        let t = table(source, columns, &read)?;
        let unknown = UnknownLevel::parse(unknown).map_err(crate::to_py)?;
        let enc = r.encode(&t, with_target, unknown).map_err(crate::to_py)?;
        Ok((enc.data, enc.unseen, enc.notes))
    }

    /// The predictive at a dataset, on a worker thread, with a stored temperature applied.
    fn predictive(&self, py: Python<'_>, data: &Dataset, seed: u64) -> PyResult<Predictive> {
        let p = interruptible(py, false, |_| self.inner.predict(data, seed))?;
        Ok(match &self.calibration {
            Some(c) => c.apply(p),
            None => p,
        })
    }
}

#[pymethods]
impl Model {
    /// The fit record (method, seed, network, priors with provenance, schema, settings,
    /// outcome, information from the data) as JSON text: the `model.json` of a model folder.
    fn record_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner.record)
            .map_err(|e| crate::value_error(format!("cannot write the fit record: {e}")))
    }

    /// Writes a model folder (`model.json`, `posterior.safetensors`, and `calibration.json`
    /// when calibrated; a stale one is removed), each file atomically.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| {
            artifact::save(&path, &self.inner)?;
            match &self.calibration {
                Some(c) => calibrate::save(&path, c),
                None => calibrate::remove(&path),
            }
        })
        .map_err(crate::to_py)
    }

    /// The stored calibration (`calibration.json`) as JSON text, or `None`.
    fn calibration_json(&self) -> PyResult<Option<String>> {
        self.calibration
            .as_ref()
            .map(|c| {
                serde_json::to_string(c)
                    .map_err(|e| crate::value_error(format!("cannot write the calibration: {e}")))
            })
            .transpose()
    }

    /// The calibration described in lines, as `credence fit` prints it (empty without one).
    fn calibration_lines(&self) -> Vec<String> {
        self.calibration
            .as_ref()
            .map(ModelCalibration::describe)
            .unwrap_or_default()
    }

    /// Prediction regions at `level` at the rows of a table (the CLI's `predict --interval`):
    /// regression `bayes_lower`/`bayes_upper` (the central interval of the predictive) and,
    /// with a conformal calibration, `conformal_lower`/`conformal_upper`; classification
    /// `bayes_sets` and `conformal_sets` (class indices in the model's order). A stored
    /// temperature is applied first.
    #[pyo3(signature = (source, columns, level = 0.9, unknown_level = "error", seed = 0))]
    fn interval<'py>(
        &self,
        py: Python<'py>,
        source: &str,
        columns: Vec<PyColumn<'py>>,
        level: f64,
        unknown_level: &str,
        seed: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        credence::calibrate::conformal::check_level(level).map_err(crate::to_py)?;
        let (data, _, _) = self.encode(source, columns, false, unknown_level)?;
        let pred = self.predictive(py, &data, seed)?;
        let d = PyDict::new(py);
        let put = |prefix: &str, r: Region| -> PyResult<()> {
            match r {
                Region::Intervals(v) => {
                    let (lo, hi): (Vec<f64>, Vec<f64>) = v.into_iter().unzip();
                    d.set_item(format!("{prefix}_lower"), vector(py, lo))?;
                    d.set_item(format!("{prefix}_upper"), vector(py, hi))?;
                }
                Region::Sets(v) => d.set_item(format!("{prefix}_sets"), v)?,
            }
            Ok(())
        };
        put("bayes", Region::bayes(&pred, level).map_err(crate::to_py)?)?;
        if let Some(c) = &self.calibration {
            if let Some(r) = c.conformal_at(&pred, level).map_err(crate::to_py)? {
                put("conformal", r)?;
            }
        }
        Ok(d)
    }

    /// The predictive at the rows of a table, checked against the model's schema. Returns a
    /// dict of arrays: regression `mean`, `std`, `epistemic_std`, `aleatoric_std` (one column
    /// per target when there are several), classification `probs` (rows × classes),
    /// `entropy`, `mutual_information`; with `members`, each posterior component's means
    /// (regression, components × rows) or probabilities (components × rows × classes); and
    /// `unseen` (a category level not seen in training, encoded as zeros) and `notes`.
    #[pyo3(signature = (source, columns, unknown_level = "error", seed = 0, members = false))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        source: &str,
        columns: Vec<PyColumn<'py>>,
        unknown_level: &str,
        seed: u64,
        members: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (data, unseen, notes) = self.encode(source, columns, false, unknown_level)?;
        let pred = self.predictive(py, &data, seed)?;
        let d = PyDict::new(py);
        let sqrt = |v: Vec<f64>| v.into_iter().map(f64::sqrt).collect::<Vec<_>>();
        match &pred {
            Predictive::Regression(r) => {
                d.set_item("mean", vector(py, r.mean()))?;
                d.set_item("std", vector(py, r.std()))?;
                d.set_item("epistemic_std", vector(py, sqrt(r.epistemic_var())))?;
                d.set_item("aleatoric_std", vector(py, sqrt(r.aleatoric_var())))?;
                if members {
                    let k = r.means.len();
                    let flat: Vec<f64> = r.means.concat();
                    d.set_item("members", matrix(py, flat, k, r.rows)?)?;
                }
            }
            Predictive::MultiRegression(per) => {
                let rows = data.rows;
                let t = per.len();
                let cols = |f: &dyn Fn(&credence::predict::RegressionPredictive) -> Vec<f64>| {
                    let c: Vec<Vec<f64>> = per.iter().map(f).collect();
                    (0..rows * t).map(|i| c[i % t][i / t]).collect::<Vec<f64>>()
                };
                d.set_item("mean", matrix(py, cols(&|r| r.mean()), rows, t)?)?;
                d.set_item("std", matrix(py, cols(&|r| r.std()), rows, t)?)?;
                d.set_item(
                    "epistemic_std",
                    matrix(py, cols(&|r| sqrt(r.epistemic_var())), rows, t)?,
                )?;
                d.set_item(
                    "aleatoric_std",
                    matrix(py, cols(&|r| sqrt(r.aleatoric_var())), rows, t)?,
                )?;
            }
            Predictive::Classification(c) => {
                d.set_item("probs", matrix(py, c.probs(), c.rows, c.classes)?)?;
                d.set_item("entropy", vector(py, c.entropy()))?;
                d.set_item("mutual_information", vector(py, c.mutual_information()))?;
                if members {
                    let k = c.members.len();
                    let flat: Vec<f64> = c.members.concat();
                    let arr = PyArray1::from_vec(py, flat).reshape([k, c.rows, c.classes])?;
                    d.set_item("members", arr)?;
                }
            }
        }
        d.set_item("unseen", unseen)?;
        d.set_item("notes", notes)?;
        Ok(d)
    }

    /// Test metrics on a table with the target (the CLI's `evaluate`), as JSON text; a stored
    /// temperature is applied first. With `interval`, the object also has `coverage`: the
    /// empirical coverage and mean width (set size) of the Bayesian and, when calibrated, the
    /// conformal regions at that level (`evaluate --interval`).
    #[pyo3(signature = (source, columns, seed = 0, interval = None))]
    fn evaluate(
        &self,
        py: Python<'_>,
        source: &str,
        columns: Vec<PyColumn<'_>>,
        seed: u64,
        interval: Option<f64>,
    ) -> PyResult<String> {
        let (data, _, _) = self.encode(source, columns, true, "error")?;
        let pred = self.predictive(py, &data, seed)?;
        let m = credence::eval::metrics_named(&pred, &data.y, &data.target_names)
            .map_err(crate::to_py)?;
        let mut v = serde_json::to_value(&m).map_err(|e| crate::value_error(e.to_string()))?;
        if let Some(level) = interval {
            credence::calibrate::conformal::check_level(level).map_err(crate::to_py)?;
            let c = calibrate::compare(&pred, &data.y, self.calibration.as_ref(), level)
                .map_err(crate::to_py)?;
            let c = serde_json::to_value(c).map_err(|e| crate::value_error(e.to_string()))?;
            match v.as_object_mut() {
                Some(o) => {
                    o.insert("coverage".into(), c);
                }
                None => return Err(crate::value_error("the metrics are not a JSON object")),
            }
        }
        serde_json::to_string(&v).map_err(|e| crate::value_error(e.to_string()))
    }

    /// Per row, the action with the lowest posterior expected loss under a decision file's
    /// values (TOML text): JSON `{"summary": …, "decisions": […]}` as the CLI's `decide --json`.
    #[pyo3(signature = (source, columns, decision_toml, decision_source, seed = 0))]
    fn decide(
        &self,
        py: Python<'_>,
        source: &str,
        columns: Vec<PyColumn<'_>>,
        decision_toml: &str,
        decision_source: &str,
        seed: u64,
    ) -> PyResult<String> {
        let mut spec = DecisionSpec::parse(decision_source, decision_toml).map_err(crate::to_py)?;
        spec.align_classes(&self.inner.record.class_names())
            .map_err(crate::to_py)?;
        let (data, _, _) = self.encode(source, columns, false, "error")?;
        let pred = self.predictive(py, &data, seed)?;
        let d = decide(&pred, &spec, seed).map_err(crate::to_py)?;
        let v = serde_json::json!({
            "values": spec.provenance,
            "model_priors": self.inner.record.prior_summary,
            "summary": DecisionSummary::of(&d),
            "decisions": d,
        });
        Ok(v.to_string())
    }

    /// Writes the HTML report (the CLI's `report`) for a table with the target.
    #[pyo3(signature = (path, source, columns, decision_toml = None, decision_source = "decision", input = None, seed = 0))]
    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        py: Python<'_>,
        path: PathBuf,
        source: &str,
        columns: Vec<PyColumn<'_>>,
        decision_toml: Option<&str>,
        decision_source: &str,
        input: Option<&str>,
        seed: u64,
    ) -> PyResult<()> {
        let (data, _, _) = self.encode(source, columns, true, "error")?;
        let mut spec = decision_toml
            .map(|t| DecisionSpec::parse(decision_source, t))
            .transpose()
            .map_err(crate::to_py)?;
        if let Some(s) = spec.as_mut() {
            s.align_classes(&self.inner.record.class_names())
                .map_err(crate::to_py)?;
        }
        let band_input = match input {
            Some(name) => data
                .feature_names
                .iter()
                .position(|f| f == name)
                .ok_or_else(|| {
                    crate::value_error(format!(
                        "input '{name}' is not one of the model's features: {}",
                        data.feature_names.join(", ")
                    ))
                })?,
            None => 0,
        };
        let model = &self.inner;
        interruptible(py, false, |_| {
            let pred = model.predict(&data, seed)?;
            let decisions = spec.as_ref().map(|s| decide(&pred, s, seed)).transpose()?;
            let html = build(&ReportInput {
                model,
                data: &data,
                decisions: spec.as_ref().zip(decisions.as_deref()),
                band_input,
                compare: true,
                extra_rows: Vec::new(),
                seed,
                class_prior: None,
                data_size: None,
            })?;
            artifact::write_atomic(&path, html.as_bytes())
        })
    }

    /// The posterior's parameter vectors as `chains × draws × parameters` (sampling methods:
    /// nuts, hmc, sgld, sghmc), in the network's standardised parameterisation, and the
    /// parameter group names with their (start, end) ranges.
    #[allow(clippy::type_complexity)]
    fn samples<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Vec<(String, usize, usize)>)> {
        let r = &self.inner.record;
        let sampled = matches!(
            Method::parse(&r.method),
            Ok(Method::Nuts | Method::Hmc | Method::Sgld | Method::Sghmc)
        );
        if !sampled {
            return Err(crate::value_error(format!(
                "samples() needs a sampling method (nuts, hmc, sgld, sghmc); this model was fitted with {}",
                r.method
            )));
        }
        let outcome: McmcOutcome = serde_json::from_value(r.outcome.clone()).map_err(|e| {
            crate::value_error(format!("the fit record has no sampler outcome: {e}"))
        })?;
        let tensors = self.inner.posterior.tensors();
        let draws = tensors
            .into_iter()
            .find(|t| t.name == "draws" && t.shape.len() == 2)
            .ok_or_else(|| crate::value_error("the posterior holds no draws"))?;
        let (n, dim) = (draws.shape[0], draws.shape[1]);
        let chains = outcome.chains.len().max(1);
        if n % chains != 0 {
            return Err(crate::value_error(format!(
                "{n} draws do not split into {chains} chains of equal length"
            )));
        }
        let arr = PyArray1::from_vec(py, draws.data).reshape([chains, n / chains, dim])?;
        let groups = r
            .model
            .layout()
            .groups
            .iter()
            .map(|g| (g.name.clone(), g.start, g.end))
            .collect();
        Ok((arr.into_any(), groups))
    }
}
