//! `--class-prior FILE|estimate`: parsing the flag and predicting under the chosen prevalence.

use anyhow::{Context, Result};
use credence::data::Dataset;
use credence::fit::{ClassPriorChoice, FittedModel};
use credence::predict::ClassPrior;
use credence::Predictive;
use std::path::Path;

/// The flag's word for estimating the prevalence from the rows being predicted.
const ESTIMATE: &str = "estimate";

/// Reads `--class-prior`: `estimate`, or a TOML file checked against the model's classes.
pub fn choice(
    arg: Option<&str>,
    model: &FittedModel,
    data: &Path,
) -> Result<Option<ClassPriorChoice>> {
    let Some(arg) = arg else { return Ok(None) };
    model
        .record
        .training_prevalence()
        .context("--class-prior")?;
    if arg == ESTIMATE {
        return Ok(Some(ClassPriorChoice::Estimate(data.display().to_string())));
    }
    let p = ClassPrior::from_file(Path::new(arg), &model.record.class_names())
        .with_context(|| format!("reading the class prior {arg}"))?;
    Ok(Some(ClassPriorChoice::Given(p)))
}

/// The model's predictive at `data`, re-weighted to the chosen class prior (and that prior).
pub fn predict(
    model: &FittedModel,
    data: &Dataset,
    seed: u64,
    choice: Option<&ClassPriorChoice>,
) -> Result<(Predictive, Option<ClassPrior>)> {
    Ok(match choice {
        Some(c) => {
            let (p, used) = model.predict_with_class_prior(data, seed, c)?;
            (p, Some(used))
        }
        None => (model.predict(data, seed)?, None),
    })
}

/// The predictive at `data` re-weighted to an already chosen prior (`None`: unchanged).
pub fn predict_under(
    model: &FittedModel,
    data: &Dataset,
    seed: u64,
    used: Option<&ClassPrior>,
) -> Result<Predictive> {
    let pred = model.predict(data, seed)?;
    Ok(match used {
        Some(u) => {
            credence::predict::class_prior::adjust(&pred, model.record.training_prevalence()?, u)?
        }
        None => pred,
    })
}
