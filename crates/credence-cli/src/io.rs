//! Reading inputs and printing results for the commands.

use anyhow::{Context, Result};
use credence::config::Config;
use credence::data::{read_table, Dataset, Table};
use credence::fit::FitRecord;
use std::path::Path;

/// Reads a config file, or the defaults when none is given.
pub fn config(path: Option<&Path>) -> Result<Config> {
    match path {
        Some(p) => Config::from_file(p).context("reading the config"),
        None => Ok(Config::default()),
    }
}

/// Reads a data table.
pub fn table(path: &Path) -> Result<Table> {
    read_table(path).context("reading the data")
}

/// The rows of `table` with the model's feature columns (and target, when `with_target`).
pub fn dataset_for_model(table: &Table, record: &FitRecord, with_target: bool) -> Result<Dataset> {
    let features = record
        .data
        .features
        .iter()
        .map(|f| {
            table.column_index(f).with_context(|| {
                format!("the model was trained on a feature column '{f}', which the data lacks")
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let target = if with_target {
        table.column_index(&record.data.target).with_context(|| {
            format!(
                "evaluation needs the target column '{}'",
                record.data.target
            )
        })?
    } else {
        features[0]
    };
    Ok(Dataset::from_indices(table, &features, target, None)?)
}

/// Prints the priors of a fit with their provenance.
pub fn print_priors(record: &FitRecord) {
    match &record.priors {
        None => println!("  {}: {}", record.method, credence::prior::NO_PRIOR),
        Some(set) => {
            for (i, p) in set.priors.iter().enumerate() {
                let groups: Vec<&str> = record
                    .prior_assignment
                    .iter()
                    .filter(|(_, j)| *j == i)
                    .map(|(g, _)| g.as_str())
                    .collect();
                let on = if p.params == "noise" {
                    format!(" (on the noise {:?})", p.on).to_lowercase()
                } else {
                    String::new()
                };
                println!(
                    "  {}: {} ~ {}{}\n      covers: {}\n      provenance: {}",
                    record.method,
                    p.params,
                    p.distribution.describe(),
                    on,
                    groups.join(", "),
                    p.provenance.describe()
                );
            }
        }
    }
}
