//! `credence report`: one self-contained HTML file.

use crate::class_prior;
use crate::cli::ReportArgs;
use crate::io;
use anyhow::{Context, Result};
use credence::artifact;
use credence::decide::{decide, DecisionSpec};
use credence::report::{build_calibrated, ReportInput};

/// Runs `credence report`.
pub fn run(a: &ReportArgs) -> Result<()> {
    let model = artifact::load(&a.model)
        .with_context(|| format!("loading the model from {}", a.model.display()))?;
    let data = io::model_data(&model.record, &a.data, &a.apply, true, false)?.data;
    let mut spec = a
        .decision
        .as_deref()
        .map(DecisionSpec::from_file)
        .transpose()
        .context("reading the decision file")?;
    if let Some(s) = spec.as_mut() {
        s.align_classes(&model.record.class_names())
            .context("matching the decision file's classes to the model's")?;
    }
    let choice = class_prior::choice(a.class_prior.as_deref(), &model, &a.data)?;
    let (pred, used) = class_prior::predict(&model, &data, a.seed, choice.as_ref())
        .with_context(|| format!("predicting {}", a.data.display()))?;
    let decisions = match &spec {
        Some(s) => Some(decide(&pred, s, a.seed)?),
        None => None,
    };
    let band_input = match &a.input {
        Some(name) => data
            .feature_names
            .iter()
            .position(|f| f == name)
            .with_context(|| {
                format!(
                    "--input '{name}' is not one of the model's features: {}",
                    data.feature_names.join(", ")
                )
            })?,
        None => 0,
    };
    let post_hoc = credence::calibrate::load(&a.model)
        .with_context(|| format!("loading the calibration from {}", a.model.display()))?;
    let html = build_calibrated(
        &ReportInput {
            model: &model,
            data: &data,
            decisions: spec.as_ref().zip(decisions.as_deref()),
            band_input,
            compare: !a.no_compare,
            extra_rows: Vec::new(),
            seed: a.seed,
            class_prior: used.as_ref(),
            data_size: None,
        },
        post_hoc.as_ref(),
    )?;
    artifact::write_atomic(&a.out, html.as_bytes())
        .with_context(|| format!("writing {}", a.out.display()))?;
    println!("report written to {}", a.out.display());
    Ok(())
}
