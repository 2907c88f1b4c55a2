//! `credence._credence`: the Python extension module over the Credence library.
//!
//! A thin layer, like the CLI: tables come in as typed columns, settings as JSON, and every
//! capability is one library call (no second implementation). The Python package `credence`
//! around it carries the idiomatic surface (scikit-learn estimators, pandas, ArviZ, type hints).

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;

mod calibration;
mod columns;
mod explain;
mod model;
mod options;
mod run;
mod units;

create_exception!(
    _credence,
    NumericalError,
    PyException,
    "Numerical trouble in the Credence core (NaN, infinity, a matrix that is not positive definite)."
);

/// Turns a library error into the Python exception for its kind, keeping the library's message:
/// bad input (data, config, arguments, artifacts) is a `ValueError`, a file system failure an
/// `OSError` (`FileNotFoundError` when a path does not exist).
pub(crate) fn to_py(e: credence::Error) -> PyErr {
    let msg = e.to_string();
    match e {
        credence::Error::Io { reason, .. } if reason.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(msg)
        }
        credence::Error::Io { .. } => PyOSError::new_err(msg),
        credence::Error::Numeric(_) => NumericalError::new_err(msg),
        _ => PyValueError::new_err(msg),
    }
}

/// A `ValueError` with a message (for JSON options the Python layer built wrongly).
pub(crate) fn value_error(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}

/// The extension module.
#[pymodule]
fn _credence(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("NumericalError", m.py().get_type::<NumericalError>())?;
    m.add_class::<model::Model>()?;
    m.add_function(wrap_pyfunction!(model::fit, m)?)?;
    m.add_function(wrap_pyfunction!(model::load, m)?)?;
    m.add_function(wrap_pyfunction!(explain::bayes, m)?)?;
    m.add_function(wrap_pyfunction!(explain::prior_check, m)?)?;
    m.add_function(wrap_pyfunction!(explain::sensitivity, m)?)?;
    m.add_function(wrap_pyfunction!(explain::methods, m)?)?;
    m.add_function(wrap_pyfunction!(explain::toml_of_json, m)?)?;
    m.add_function(wrap_pyfunction!(units::unit_count, m)?)?;
    m.add_function(wrap_pyfunction!(units::fit_unit, m)?)?;
    m.add_function(wrap_pyfunction!(units::fit_from_units, m)?)?;
    m.add_function(wrap_pyfunction!(units::bench_uci, m)?)?;
    m.add_function(wrap_pyfunction!(units::bench_uci_unit, m)?)?;
    m.add_function(wrap_pyfunction!(units::uci_splits, m)?)?;
    m.add_function(wrap_pyfunction!(units::bench_uci_merge, m)?)?;
    m.add_function(wrap_pyfunction!(units::curve_runs, m)?)?;
    m.add_function(wrap_pyfunction!(units::curve_run, m)?)?;
    m.add_function(wrap_pyfunction!(units::curve, m)?)?;
    m.add_function(wrap_pyfunction!(units::sensitivity_units, m)?)?;
    m.add_function(wrap_pyfunction!(units::sensitivity_unit, m)?)?;
    m.add_function(wrap_pyfunction!(units::sensitivity_from_units, m)?)?;
    Ok(())
}
