//! Fitting with calibration rows: a seeded held-out share of the training table, or a separate
//! table with the same columns; the model is fitted on the rest and calibrated on those rows.

use super::{CalibrateSpec, ModelCalibration};
use crate::config::Config;
use crate::data::{train_test_split, Dataset, ReadOptions, SchemaOptions, Table, UnknownLevel};
use crate::error::{Error, Result};
use crate::fit::{fit_table, FitOptions, FittedModel};

/// Where the calibration rows come from.
#[derive(Debug, Clone, Copy)]
pub enum CalibrationSource<'a> {
    /// This share of the training rows, held out (seeded) before fitting.
    HoldOut(f64),
    /// A separate table with the training table's columns.
    Table(&'a Table),
}

/// A seeded split of `n` rows into (fit, calibration) with `fraction` of them for calibration;
/// its own random stream, so it differs from the train/test splits made with the same seed.
pub fn holdout_rows(n: usize, fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::Invalid(format!(
            "the calibration fraction must lie strictly between 0 and 1 (e.g. 0.2), found {fraction}"
        )));
    }
    if n < 4 {
        return Err(Error::Invalid(format!(
            "{n} rows are too few to hold some out for calibration"
        )));
    }
    Ok(train_test_split(n, fraction, seed ^ 0xca11_b7a7e))
}

/// Calibrates a fitted model on rows with targets (raw units), predicting with `seed`.
pub fn calibrate_model(
    model: &FittedModel,
    data: &Dataset,
    spec: &CalibrateSpec,
    source: String,
    seed: u64,
) -> Result<ModelCalibration> {
    if data.rows == 0 {
        return Err(Error::Invalid("no calibration rows".into()));
    }
    let pred = model.predict(data, seed)?;
    ModelCalibration::fit(&pred, &data.y, spec, source)
}

/// [`fit_table`] with calibration: fits on the table less the held-out rows (or on all of it
/// with a separate calibration table) and calibrates on the calibration rows. Returns the
/// model, the schema's notes and the calibration.
pub fn fit_table_calibrated(
    table: &Table,
    schema_opts: &SchemaOptions,
    read: &ReadOptions,
    config: &Config,
    opts: FitOptions<'_>,
    source: CalibrationSource<'_>,
    spec: &CalibrateSpec,
) -> Result<(FittedModel, Vec<String>, ModelCalibration)> {
    let (fit_part, cal_part, words) = match source {
        CalibrationSource::HoldOut(fraction) => {
            let (fit_rows, cal_rows) = holdout_rows(table.rows(), fraction, opts.seed)?;
            (
                table.take_rows(&fit_rows),
                table.take_rows(&cal_rows),
                format!(
                    "{:.0}% of the training rows held out, seed {}",
                    100.0 * fraction,
                    opts.seed
                ),
            )
        }
        CalibrationSource::Table(t) => (table.clone(), t.clone(), format!("rows of {}", t.source)),
    };
    let (model, notes) = fit_table(&fit_part, schema_opts, read, config, opts)?;
    let cal = model
        .record
        .encode(&cal_part, true, UnknownLevel::Zero)?
        .data;
    let calibration = calibrate_model(&model, &cal, spec, words, opts.seed)?;
    Ok((model, notes, calibration))
}
