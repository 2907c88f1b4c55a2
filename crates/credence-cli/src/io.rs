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

/// Reads a data table (recorded under its absolute path, so a model can find its data again).
pub fn table(path: &Path) -> Result<Table> {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    read_table(&abs).context("reading the data")
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
                let mut on = if p.params == "noise" {
                    format!(" (on the noise {:?})", p.on).to_lowercase()
                } else {
                    String::new()
                };
                let dist = match &p.per_parameter {
                    Some(pp) => format!(
                        "{} independent Normals, one per parameter (mean loc, rms scale: {})",
                        pp.loc.len(),
                        p.distribution.describe()
                    ),
                    None => p.distribution.describe(),
                };
                if let Some(h) = &p.hierarchy {
                    on.push_str(&format!(", scale × learned s ({})", h.describe()));
                }
                println!(
                    "  {}: {} ~ {}{}\n      covers: {}\n      provenance: {}",
                    record.method,
                    p.params,
                    dist,
                    on,
                    groups.join(", "),
                    p.provenance.describe()
                );
            }
        }
    }
}

/// `credence split`: writes seeded train and test CSV files with the input's header.
pub fn split(a: &crate::cli::SplitArgs) -> Result<()> {
    if !(a.test_fraction > 0.0 && a.test_fraction < 1.0) {
        anyhow::bail!(
            "--test-fraction must lie strictly between 0 and 1, found {}",
            a.test_fraction
        );
    }
    let t = table(&a.data)?;
    let (train, mut test) = match &a.stratify {
        Some(col) => {
            let c = t.column_index(col)?;
            credence::data::stratified_split(&t.column(c), a.test_fraction, a.seed)
        }
        None => credence::data::train_test_split(t.rows(), a.test_fraction, a.seed),
    };
    if let (Some(spec), Some(col)) = (&a.test_share, &a.stratify) {
        let (class, share) = spec
            .split_once('=')
            .and_then(|(c, s)| {
                Some((
                    c.trim().parse::<usize>().ok()?,
                    s.trim().parse::<f64>().ok()?,
                ))
            })
            .with_context(|| format!("--test-share '{spec}': expected CLASS=SHARE, e.g. 0=0.05"))?;
        let labels = t.column(t.column_index(col)?);
        test = credence::data::subsample_to_share(&labels, &test, class, share, a.seed)
            .with_context(|| format!("--test-share {spec}"))?;
    }
    for (rows, path) in [(&train, &a.train), (&test, &a.test)] {
        let mut out = t.names.join(",");
        out.push('\n');
        for &r in rows.iter() {
            let cells: Vec<String> = (0..t.cols()).map(|c| t.get(r, c).to_string()).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        credence::artifact::write_atomic(path, out.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "{} training rows → {}, {} test rows → {}",
        train.len(),
        a.train.display(),
        test.len(),
        a.test.display()
    );
    Ok(())
}
