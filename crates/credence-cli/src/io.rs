//! Reading inputs and printing results for the commands.

use crate::cli::{ApplyArgs, ColumnArgs};
use anyhow::{bail, Context, Result};
use credence::config::Config;
use credence::data::parquet::{table_columns, write_parquet};
use credence::data::{
    read_table, Column, MissingPolicy, ReadOptions, SchemaOptions, Table, UnknownLevel,
};
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
pub fn table(path: &Path, read: &ReadOptions) -> Result<Table> {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(read_table(&abs, read)?)
}

/// Reads the training table of `fit`, `prior-check` and `sensitivity`: a NumPy features file
/// with `--labels`, or any table; `--input-shape` is recorded with it (checked against the
/// feature columns when they are encoded).
pub fn training_table(path: &Path, c: &ColumnArgs, read: &ReadOptions) -> Result<Table> {
    let mut t = match &c.labels {
        Some(labels) => {
            let [target] = c.target.as_slice() else {
                bail!("--labels fills one target column; give one --target name");
            };
            npy_pair(path, labels, target)?
        }
        None => table(path, read)?,
    };
    if let Some(shape) = &c.input_shape {
        if let Some(own) = t.input_shape.as_ref().filter(|own| *own != shape) {
            bail!(
                "--input-shape {shape:?} differs from the shape {own:?} that {} carries",
                path.display()
            );
        }
        t.input_shape = Some(shape.clone());
    }
    Ok(t)
}

/// A NumPy features file and its labels file (`--data X.npy --labels y.npy`), the labels as the
/// column `target`.
fn npy_pair(path: &Path, labels: &Path, target: &str) -> Result<Table> {
    if !credence::data::npy::is_npy(path) || !credence::data::npy::is_npy(labels) {
        bail!(
            "--labels reads NumPy files: expected --data FILE.npy --labels FILE.npy, found {} and {}",
            path.display(),
            labels.display()
        );
    }
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(credence::data::npy::read_npy_table(
        &abs,
        Some(labels),
        target,
    )?)
}

/// Read options from `--na-values`, or the given defaults.
pub fn read_options(na_values: Option<&Vec<String>>, default: Option<&[String]>) -> ReadOptions {
    match (na_values, default) {
        (Some(v), _) => ReadOptions {
            na_values: v.iter().map(|s| s.trim().to_string()).collect(),
        },
        (None, Some(d)) => ReadOptions {
            na_values: d.to_vec(),
        },
        (None, None) => ReadOptions::default(),
    }
}

/// Schema and read options from the column flags of `fit`, `prior-check` and `sensitivity`.
pub fn schema_options(c: &ColumnArgs) -> Result<(SchemaOptions, ReadOptions)> {
    let so = SchemaOptions {
        targets: c.target.clone(),
        features: c.features.clone(),
        drop: c.drop.clone(),
        categorical: c.categorical.clone(),
        missing: MissingPolicy::parse(&c.missing).context("--missing")?,
        classify: None,
    };
    Ok((so, read_options(c.na_values.as_ref(), None)))
}

/// Prints the schema's notes (dropped rows and columns, ignored columns) on stderr.
pub fn print_notes(notes: &[String], quiet: bool) {
    if !quiet {
        for n in notes {
            eprintln!("note: {n}");
        }
    }
}

/// Reads `path` and encodes it with the model's schema (features, and the target when
/// `with_target`); the notes go to stderr.
pub fn model_data(
    record: &FitRecord,
    path: &Path,
    apply: &ApplyArgs,
    with_target: bool,
    quiet: bool,
) -> Result<credence::data::schema::Encoded> {
    model_data_labelled(record, path, None, apply, with_target, quiet)
}

/// [`model_data`] with NumPy labels (`--labels FILE.npy`) filling the model's one target column
/// of a NumPy features file.
pub fn model_data_labelled(
    record: &FitRecord,
    path: &Path,
    labels: Option<&Path>,
    apply: &ApplyArgs,
    with_target: bool,
    quiet: bool,
) -> Result<credence::data::schema::Encoded> {
    let na = record.schema.as_ref().map(|s| s.na_values.as_slice());
    let read = read_options(apply.na_values.as_ref(), na);
    let t = match labels {
        None => table(path, &read).context("reading the data")?,
        Some(labels) => {
            let targets: Vec<&str> = record
                .schema
                .as_ref()
                .map(|s| s.targets.iter().map(|t| t.name.as_str()).collect())
                .unwrap_or_default();
            let [target] = targets.as_slice() else {
                bail!(
                    "--labels fills one target column, but the model has {} ({})",
                    targets.len(),
                    targets.join(", ")
                );
            };
            npy_pair(path, labels, target).context("reading the data")?
        }
    };
    let unknown = UnknownLevel::parse(&apply.unknown_level).context("--unknown-level")?;
    let enc = record
        .encode(&t, with_target, unknown)
        .context("checking the data against the model's schema")?;
    print_notes(&enc.notes, quiet);
    Ok(enc)
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

/// `credence split`: writes seeded train and test files (CSV, or Parquet by extension) with
/// the input's columns.
pub fn split(a: &crate::cli::SplitArgs) -> Result<()> {
    if !(a.test_fraction > 0.0 && a.test_fraction < 1.0) {
        anyhow::bail!(
            "--test-fraction must lie strictly between 0 and 1, found {}",
            a.test_fraction
        );
    }
    let t = table(&a.data, &ReadOptions::default()).context("reading the data")?;
    // Class labels of the stratifying column: numbers, or the codes of a text column.
    let strata = match &a.stratify {
        Some(col) => {
            let c = t.column_index(col)?;
            if let Some(r) = (0..t.rows()).find(|&r| t.columns[c].is_missing(r)) {
                return Err(t
                    .error_at(r, c, "cannot stratify by a missing class")
                    .into());
            }
            Some(match &t.columns[c] {
                Column::Text { codes, levels } => (
                    codes.iter().map(|&k| f64::from(k)).collect::<Vec<f64>>(),
                    Some(levels.clone()),
                ),
                _ => (t.column(c)?, None),
            })
        }
        None => None,
    };
    let (train, mut test) = match &strata {
        Some((labels, _)) => credence::data::stratified_split(labels, a.test_fraction, a.seed),
        None => credence::data::train_test_split(t.rows(), a.test_fraction, a.seed),
    };
    if let (Some(spec), Some((labels, levels))) = (&a.test_share, &strata) {
        let (class, share) = spec
            .split_once('=')
            .and_then(|(c, s)| {
                let c = c.trim();
                let class = match levels {
                    Some(l) => l.iter().position(|n| n == c)?,
                    None => c.parse::<usize>().ok()?,
                };
                Some((class, s.trim().parse::<f64>().ok()?))
            })
            .with_context(|| {
                format!("--test-share '{spec}': expected CLASS=SHARE with a class of the --stratify column, e.g. 0=0.05 or malignant=0.05")
            })?;
        test = credence::data::subsample_to_share(labels, &test, class, share, a.seed)
            .with_context(|| format!("--test-share {spec}"))?;
    }
    for (rows, path) in [(&train, &a.train), (&test, &a.test)] {
        let part = t.take_rows(rows);
        if credence::data::is_parquet(path) {
            let cols = table_columns(&part);
            write_parquet(path, &cols).with_context(|| format!("writing {}", path.display()))?;
            continue;
        }
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        let fail = |e: csv::Error| anyhow::anyhow!("writing {}: {e}", path.display());
        w.write_record(&part.names).map_err(fail)?;
        for r in 0..part.rows() {
            w.write_record(
                part.columns
                    .iter()
                    .map(|c| c.cell_text(r).unwrap_or_default()),
            )
            .map_err(fail)?;
        }
        let out = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        credence::artifact::write_atomic(path, &out)
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
