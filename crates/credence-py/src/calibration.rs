//! Post-hoc calibration from Python (the CLI's `fit --calibrate`, `predict --interval`,
//! `evaluate --interval`): the held-out calibration rows of a fit, and the regions a calibrated
//! model predicts. Every step is the library's; a fit run as units (an executor) holds out the
//! same rows as a local fit, so both give the same model and calibration.

use crate::options::TableOptions;
use credence::calibrate::{self, CalibrateSpec, ModelCalibration, RegressionScore};
use credence::data::{Table, UnknownLevel};
use credence::FittedModel;

/// The calibration rows of a fit, with what to calibrate and where the rows came from.
pub(crate) struct Held {
    /// Conformal, temperature or both, and the regression score.
    pub spec: CalibrateSpec,
    /// The held-out rows (the training table's columns).
    pub rows: Table,
    /// Where they came from, in words (as the CLI records it).
    pub words: String,
}

/// What the options ask to calibrate, if anything.
pub(crate) fn spec_of(o: &TableOptions) -> credence::Result<Option<CalibrateSpec>> {
    let Some(list) = &o.calibrate else {
        return Ok(None);
    };
    let score = RegressionScore::parse(o.conformal_score.as_deref().unwrap_or("normalized"))?;
    CalibrateSpec::parse(list, score).map(Some)
}

/// Splits a training table into the rows the model is fitted on and the held-out calibration
/// rows, exactly as `credence fit --calibrate … --calibration-fraction F` does (seeded by the
/// fit's seed); the whole table and `None` without calibration.
pub(crate) fn hold_out(
    o: &TableOptions,
    t: Table,
    seed: u64,
) -> credence::Result<(Table, Option<Held>)> {
    let Some(spec) = spec_of(o)? else {
        return Ok((t, None));
    };
    let f = o.calibration_fraction;
    let (fit_rows, cal_rows) = calibrate::holdout_rows(t.rows(), f, seed)?;
    let held = Held {
        spec,
        rows: t.take_rows(&cal_rows),
        words: format!(
            "{:.0}% of the training rows held out, seed {seed}",
            100.0 * f
        ),
    };
    Ok((t.take_rows(&fit_rows), Some(held)))
}

/// Calibrates a model fitted on the rest of the table on its held-out rows (predicting with
/// the fit's seed, as the CLI does).
pub(crate) fn calibrate_held(
    model: &FittedModel,
    held: &Held,
    seed: u64,
) -> credence::Result<ModelCalibration> {
    let cal = model
        .record
        .encode(&held.rows, true, UnknownLevel::Zero)?
        .data;
    calibrate::calibrate_model(model, &cal, &held.spec, held.words.clone(), seed)
}
