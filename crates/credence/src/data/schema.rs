//! The schema: the one place that turns a typed table into the numeric matrix the engine sees
//! (chosen columns, one-hot categorical levels, imputation, targets and class names). It is
//! learned on the training rows, saved in `model.json`, and re-applied at predict time.

use super::table::{first_non_number, Column, Table, MISSING_CODE};
use super::Dataset;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// What to do with a missing cell in a used column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MissingPolicy {
    /// Refuse it, naming file, line and column.
    #[default]
    Error,
    /// Drop the rows that have one (the count is reported).
    Drop,
    /// Numeric: the training mean plus a 0/1 "was missing" column; categorical: a missing level.
    Impute,
}

impl MissingPolicy {
    /// Parses `error`, `drop` or `impute`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "error" => Ok(Self::Error),
            "drop" => Ok(Self::Drop),
            "impute" => Ok(Self::Impute),
            _ => Err(Error::Invalid(format!(
                "unknown missing-value policy '{s}'; expected error, drop or impute"
            ))),
        }
    }
}

/// What to do at predict time with a categorical level the model has not seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownLevel {
    /// Refuse it, naming file, line, column and level.
    #[default]
    Error,
    /// Encode it as all zeros (reported).
    Zero,
}

impl UnknownLevel {
    /// Parses `error` or `zero`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "error" => Ok(Self::Error),
            "zero" => Ok(Self::Zero),
            _ => Err(Error::Invalid(format!(
                "unknown --unknown-level '{s}'; expected error or zero"
            ))),
        }
    }
}

/// What to do about a missing feature cell under the default policy.
const MISSING_ADVICE: &str = "missing value; use --missing drop (drop such rows) or --missing impute (training mean plus a was-missing column; a missing level for text)";

/// The level given to missing cells of a categorical column under `--missing impute`.
pub const MISSING_LEVEL: &str = "(missing)";

/// How one input column is encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum InputKind {
    /// A number, standardised; `impute` is the training mean used for missing cells.
    Numeric {
        /// Value put in for a missing cell (`None`: missing cells are refused).
        impute: Option<f64>,
        /// Whether a 0/1 "was missing" column follows it.
        indicator: bool,
    },
    /// true/false (yes/no) read as 1/0.
    Boolean {
        /// Value put in for a missing cell.
        impute: Option<f64>,
        /// Whether a 0/1 "was missing" column follows it.
        indicator: bool,
    },
    /// One-hot over the levels (in this order).
    Categorical {
        /// The levels seen in training, sorted (the missing level last when present).
        levels: Vec<String>,
    },
}

/// One input column of the schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputColumn {
    /// Column name in the data.
    pub name: String,
    /// Its type and encoding.
    #[serde(flatten)]
    pub kind: InputKind,
}

impl InputColumn {
    /// Names of the engine's columns this input becomes.
    pub fn encoded_names(&self) -> Vec<String> {
        match &self.kind {
            InputKind::Numeric { indicator, .. } | InputKind::Boolean { indicator, .. } => {
                let mut v = vec![self.name.clone()];
                if *indicator {
                    v.push(format!("{}:missing", self.name));
                }
                v
            }
            InputKind::Categorical { levels } => levels
                .iter()
                .map(|l| format!("{}={l}", self.name))
                .collect(),
        }
    }
}

/// A target column: a number, or a class with names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetColumn {
    /// Column name in the data.
    pub name: String,
    /// Class names in class-index order; `None` for a real-valued target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
}

/// A column left out of the features, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroppedColumn {
    /// Column name.
    pub name: String,
    /// Why (constant in training, identifier-like, asked by --drop).
    pub reason: String,
}

/// Everything learned about the table: inputs, targets, dropped columns, missing-value rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Input columns in encoding order.
    pub inputs: Vec<InputColumn>,
    /// Target columns.
    pub targets: Vec<TargetColumn>,
    /// Columns left out of the features.
    #[serde(default)]
    pub dropped: Vec<DroppedColumn>,
    /// The missing-value policy the model was fitted with.
    pub missing: MissingPolicy,
    /// The cell texts read as missing.
    pub na_values: Vec<String>,
}

/// How to choose and encode columns when learning a schema.
#[derive(Debug, Clone, Default)]
pub struct SchemaOptions {
    /// Target column names (one, or several for multi-output regression).
    pub targets: Vec<String>,
    /// Feature columns (default: every column that is not a target, dropped or identifier-like).
    pub features: Option<Vec<String>>,
    /// Columns never used as features.
    pub drop: Vec<String>,
    /// Numeric columns to treat as categorical.
    pub categorical: Vec<String>,
    /// Missing cells in features.
    pub missing: MissingPolicy,
    /// Whether the target is a class label: `Some(true)` (classification likelihood),
    /// `Some(false)` (regression likelihood) or `None` (text and boolean targets are classes).
    pub classify: Option<bool>,
}

/// A table turned into a dataset, with notes for the user (dropped rows and columns).
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The numeric dataset.
    pub data: Dataset,
    /// One-line notes: what was dropped, imputed, ignored.
    pub notes: Vec<String>,
    /// Per row of `data`, whether a categorical level it has was unseen and encoded as zeros.
    pub unseen: Vec<bool>,
}

fn col_err(t: &Table, col: usize, msg: impl Into<String>) -> Error {
    Error::data(&t.source, None, t.names.get(col).cloned(), msg)
}

fn sorted_levels(c: &Column, rows: &[usize]) -> Vec<String> {
    let mut seen: Vec<String> = rows.iter().filter_map(|&r| c.cell_text(r)).collect();
    let numeric = matches!(c, Column::Numeric(_) | Column::Boolean(_));
    seen.sort_by(|a, b| {
        if numeric {
            let (x, y) = (a.parse::<f64>(), b.parse::<f64>());
            if let (Ok(x), Ok(y)) = (x, y) {
                return x.total_cmp(&y);
            }
        }
        a.cmp(b)
    });
    seen.dedup();
    seen
}

/// A one-line list of rows, e.g. "3 rows (lines 4, 9, 12)".
fn rows_note(t: &Table, rows: &[usize]) -> String {
    let shown: Vec<String> = rows
        .iter()
        .take(5)
        .map(|&r| t.lines[r].to_string())
        .collect();
    format!(
        "{} row{} (line{} {}{})",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        if rows.len() == 1 { "" } else { "s" },
        shown.join(", "),
        if rows.len() > 5 { ", …" } else { "" }
    )
}

impl Schema {
    /// Learns the schema on `table` and encodes it: chooses columns, drops rows with a missing
    /// target (and, under `Drop`, with a missing feature), learns levels and imputation values.
    pub fn fit(table: &Table, opts: &SchemaOptions) -> Result<(Schema, Encoded)> {
        if opts.targets.is_empty() {
            return Err(Error::Invalid("no target column given".into()));
        }
        let mut notes = Vec::new();
        let targets: Vec<usize> = opts
            .targets
            .iter()
            .map(|t| table.column_index(t))
            .collect::<Result<_>>()?;
        for (i, t) in targets.iter().enumerate() {
            if targets[..i].contains(t) {
                return Err(col_err(table, *t, "named twice as a target"));
            }
        }
        let dropped_asked: Vec<usize> = opts
            .drop
            .iter()
            .map(|c| table.column_index(c))
            .collect::<Result<_>>()?;
        for c in &opts.categorical {
            table.column_index(c)?;
        }
        let mut dropped: Vec<DroppedColumn> = dropped_asked
            .iter()
            .map(|&c| DroppedColumn {
                name: table.names[c].clone(),
                reason: "asked (--drop)".into(),
            })
            .collect();
        let mut features: Vec<usize> = match &opts.features {
            Some(list) => {
                let f: Vec<usize> = list
                    .iter()
                    .map(|c| table.column_index(c))
                    .collect::<Result<_>>()?;
                if let Some(&c) = f.iter().find(|c| targets.contains(c)) {
                    return Err(col_err(
                        table,
                        c,
                        "is the target; it cannot also be a feature",
                    ));
                }
                f.into_iter()
                    .filter(|c| !dropped_asked.contains(c))
                    .collect()
            }
            None => {
                let mut f = Vec::new();
                for c in 0..table.cols() {
                    if targets.contains(&c) || dropped_asked.contains(&c) {
                        continue;
                    }
                    if let Column::Text { levels, codes } = &table.columns[c] {
                        let present = codes.iter().filter(|&&k| k != MISSING_CODE).count();
                        if present >= 10 && levels.len() == present {
                            notes.push(format!(
                                "column '{}' left out of the features: every value is distinct text (an identifier?); name it in --features to use it",
                                table.names[c]
                            ));
                            dropped.push(DroppedColumn {
                                name: table.names[c].clone(),
                                reason: "identifier-like: every value distinct".into(),
                            });
                            continue;
                        }
                    }
                    f.push(c);
                }
                f
            }
        };
        // Target kinds.
        let mut target_cols = Vec::new();
        for &t in &targets {
            let col = &table.columns[t];
            let classify = opts.classify.unwrap_or(!matches!(col, Column::Numeric(_)));
            if classify && targets.len() > 1 {
                return Err(col_err(
                    table,
                    t,
                    "several targets must all be real-valued (multi-output regression); class targets go one at a time",
                ));
            }
            if !classify {
                if let Column::Text { .. } = col {
                    let r = first_non_number(col).unwrap_or(0);
                    return Err(table.error_at(
                        r,
                        t,
                        format!(
                            "expected a number for the regression target, found '{}' (a text target is a class label: use a classification likelihood)",
                            col.cell_text(r).unwrap_or_default()
                        ),
                    ));
                }
            }
            target_cols.push((t, classify));
        }
        // Rows: drop a missing target; under Drop, a missing feature.
        let mut rows: Vec<usize> = (0..table.rows()).collect();
        let no_target: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&r| targets.iter().any(|&t| table.columns[t].is_missing(r)))
            .collect();
        if !no_target.is_empty() {
            notes.push(format!(
                "{} with a missing target dropped from training (targets are never imputed)",
                rows_note(table, &no_target)
            ));
            rows.retain(|r| no_target.binary_search(r).is_err()); // both sorted
        }
        if opts.missing == MissingPolicy::Drop {
            let gaps: Vec<usize> = rows
                .iter()
                .copied()
                .filter(|&r| features.iter().any(|&c| table.columns[c].is_missing(r)))
                .collect();
            if !gaps.is_empty() {
                notes.push(format!(
                    "{} with a missing feature dropped (--missing drop)",
                    rows_note(table, &gaps)
                ));
                rows.retain(|r| gaps.binary_search(r).is_err());
            }
        }
        if rows.is_empty() {
            return Err(Error::data(
                &table.source,
                None,
                None,
                "no rows left to train on after dropping rows with missing cells",
            ));
        }
        if opts.missing == MissingPolicy::Error {
            for &r in &rows {
                if let Some(&c) = features.iter().find(|&&c| table.columns[c].is_missing(r)) {
                    return Err(table.error_at(r, c, MISSING_ADVICE));
                }
            }
        }
        // Inputs.
        let mut inputs = Vec::new();
        features.retain(|&c| {
            let col = &table.columns[c];
            let present: Vec<usize> = rows
                .iter()
                .copied()
                .filter(|&r| !col.is_missing(r))
                .collect();
            let distinct = sorted_levels(col, &present).len();
            // Pixels of an image stay even when constant (a blank border): the shape needs them.
            let pixel = table.input_shape.is_some() && distinct == 1;
            if distinct <= 1 && !pixel {
                let what = present
                    .first()
                    .and_then(|&r| col.cell_text(r))
                    .map_or("missing".to_string(), |v| format!("'{v}'"));
                notes.push(format!(
                    "column '{}' dropped from the features: constant ({what}) in the training rows",
                    table.names[c]
                ));
                dropped.push(DroppedColumn {
                    name: table.names[c].clone(),
                    reason: format!("constant ({what}) in the training rows"),
                });
                return false;
            }
            true
        });
        for &c in &features {
            let name = table.names[c].clone();
            let col = &table.columns[c];
            let missing_rows: Vec<usize> = rows
                .iter()
                .copied()
                .filter(|&r| col.is_missing(r))
                .collect();
            let categorical =
                opts.categorical.contains(&name) || matches!(col, Column::Text { .. });
            if let (Column::Text { levels, .. }, false) = (col, opts.categorical.contains(&name)) {
                // A text column that is mostly numbers is a typo, not a category.
                let numbers = levels.iter().filter(|l| l.parse::<f64>().is_ok()).count();
                if numbers * 2 >= levels.len() && numbers > 0 {
                    if let Some(r) = first_non_number(col) {
                        return Err(table.error_at(
                            r,
                            c,
                            format!(
                                "expected a number, found '{}' (the column is otherwise numeric; fix the cell, add it to --na-values, or name the column in --categorical)",
                                col.cell_text(r).unwrap_or_default()
                            ),
                        ));
                    }
                }
            }
            let kind = if categorical {
                let mut levels = sorted_levels(col, &rows);
                if !missing_rows.is_empty() {
                    levels.push(MISSING_LEVEL.to_string());
                }
                InputKind::Categorical { levels }
            } else {
                let present: Vec<f64> = rows
                    .iter()
                    .filter(|&&r| !col.is_missing(r))
                    .map(|&r| table.get(r, c))
                    .collect();
                let mean = crate::data::standardize::stable_mean(&present);
                let impute = (opts.missing == MissingPolicy::Impute).then_some(mean);
                let indicator = !missing_rows.is_empty();
                match col {
                    Column::Boolean(_) => InputKind::Boolean { impute, indicator },
                    _ => InputKind::Numeric { impute, indicator },
                }
            };
            inputs.push(InputColumn { name, kind });
        }
        if inputs.is_empty() {
            return Err(Error::data(
                &table.source,
                None,
                None,
                "no feature columns left besides the target (after dropping constant and identifier-like columns)",
            ));
        }
        let targets_schema = target_cols
            .iter()
            .map(|&(t, classify)| {
                Ok(TargetColumn {
                    name: table.names[t].clone(),
                    classes: classify.then(|| class_names(table, t, &rows)).transpose()?,
                })
            })
            .collect::<Result<_>>()?;
        let schema = Schema {
            inputs,
            targets: targets_schema,
            dropped,
            missing: opts.missing,
            na_values: Vec::new(),
        };
        let (data, unseen) = schema.encode(table, &rows, true, UnknownLevel::Error)?;
        notes.extend(super::caveats::notes(&schema, &data));
        Ok((
            schema,
            Encoded {
                data,
                notes,
                unseen,
            },
        ))
    }

    /// One line per part of the schema (inputs, targets, dropped columns), for the fit summary.
    pub fn describe(&self) -> Vec<String> {
        let inputs: Vec<String> = self
            .inputs
            .iter()
            .map(|i| match &i.kind {
                InputKind::Numeric { impute, indicator }
                | InputKind::Boolean { impute, indicator } => {
                    let t = if matches!(i.kind, InputKind::Boolean { .. }) {
                        "boolean"
                    } else {
                        "numeric"
                    };
                    match (impute, indicator) {
                        (Some(m), true) => format!(
                            "{} ({t}; missing → {m:.4} plus a was-missing column)",
                            i.name
                        ),
                        (Some(m), false) => format!("{} ({t}; missing → {m:.4})", i.name),
                        _ => format!("{} ({t})", i.name),
                    }
                }
                InputKind::Categorical { levels } => {
                    format!("{} (categorical: {})", i.name, levels.join(", "))
                }
            })
            .collect();
        // Many plain numeric columns (an image's pixels, say) in one line, not one each.
        let plain = |i: &InputColumn| {
            matches!(
                i.kind,
                InputKind::Numeric {
                    impute: None,
                    indicator: false
                }
            )
        };
        let many = self.inputs.len() > 16 && self.inputs.iter().all(plain);
        let mut v = vec![match (many, self.inputs.first(), self.inputs.last()) {
            (true, Some(a), Some(b)) => format!(
                "inputs: {} numeric columns ({} … {})",
                self.inputs.len(),
                a.name,
                b.name
            ),
            _ => format!("inputs: {}", inputs.join("; ")),
        }];
        for t in &self.targets {
            v.push(match &t.classes {
                Some(c) => format!("target: {} (classes: {})", t.name, c.join(", ")),
                None => format!("target: {} (numeric)", t.name),
            });
        }
        for d in &self.dropped {
            v.push(format!("not a feature: {} ({})", d.name, d.reason));
        }
        v
    }

    /// Names of the engine's feature columns.
    pub fn encoded_names(&self) -> Vec<String> {
        self.inputs.iter().flat_map(|i| i.encoded_names()).collect()
    }

    /// Class names of the (single) target, when it is a class label.
    pub fn class_names(&self) -> Option<&[String]> {
        self.targets.first().and_then(|t| t.classes.as_deref())
    }

    /// Encodes a table with this schema for prediction (`with_target` false) or scoring.
    /// Rows with a missing target are dropped (with a note) when scoring; under `Drop`, rows
    /// with a missing feature are dropped only if `drop_rows` (re-reading training data).
    pub fn apply(
        &self,
        table: &Table,
        with_target: bool,
        drop_rows: bool,
        unknown: UnknownLevel,
    ) -> Result<Encoded> {
        let mut notes = Vec::new();
        let wanted: Vec<&str> = self
            .inputs
            .iter()
            .map(|i| i.name.as_str())
            .chain(
                self.targets
                    .iter()
                    .filter(|_| with_target)
                    .map(|t| t.name.as_str()),
            )
            .collect();
        for t in self.targets.iter().filter(|_| with_target) {
            if table.column_index(&t.name).is_err() {
                return Err(Error::data(
                    &table.source,
                    None,
                    Some(t.name.clone()),
                    format!(
                        "scoring needs the target column '{}', which the data lacks",
                        t.name
                    ),
                ));
            }
        }
        for i in &self.inputs {
            if !table.names.contains(&i.name) {
                return Err(Error::data(
                    &table.source,
                    None,
                    Some(i.name.clone()),
                    format!(
                        "the model was trained on a column '{}', which the data lacks (the model's inputs: {})",
                        i.name,
                        self.inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        let extra: Vec<&str> = table
            .names
            .iter()
            .map(String::as_str)
            .filter(|n| !wanted.contains(n) && !self.targets.iter().any(|t| t.name == *n))
            .collect();
        if !extra.is_empty() {
            notes.push(format!(
                "column{} not used by the model, ignored: {}",
                if extra.len() == 1 { "" } else { "s" },
                extra.join(", ")
            ));
        }
        let mut rows: Vec<usize> = (0..table.rows()).collect();
        if with_target {
            let no_target: Vec<usize> = rows
                .iter()
                .copied()
                .filter(|&r| {
                    self.targets.iter().any(|t| {
                        table
                            .column_index(&t.name)
                            .is_ok_and(|c| table.columns[c].is_missing(r))
                    })
                })
                .collect();
            if !no_target.is_empty() {
                notes.push(format!(
                    "{} with a missing target left out of scoring",
                    rows_note(table, &no_target)
                ));
                rows.retain(|r| no_target.binary_search(r).is_err()); // both sorted
            }
        }
        if drop_rows && self.missing == MissingPolicy::Drop {
            let cols: Vec<usize> = self
                .inputs
                .iter()
                .filter_map(|i| table.column_index(&i.name).ok())
                .collect();
            rows.retain(|&r| !cols.iter().any(|&c| table.columns[c].is_missing(r)));
        }
        if rows.is_empty() {
            return Err(Error::data(&table.source, None, None, "no rows to use"));
        }
        let (data, unseen) = self.encode(table, &rows, with_target, unknown)?;
        let zeroed = unseen.iter().filter(|&&z| z).count();
        if zeroed > 0 {
            notes.push(format!(
                "{zeroed} row{} with a categorical level the model has not seen, encoded as all zeros (--unknown-level zero)",
                if zeroed == 1 { "" } else { "s" }
            ));
        }
        Ok(Encoded {
            data,
            notes,
            unseen,
        })
    }

    /// Encodes the given rows; returns the dataset and which rows had an unseen level.
    fn encode(
        &self,
        table: &Table,
        rows: &[usize],
        with_target: bool,
        unknown: UnknownLevel,
    ) -> Result<(Dataset, Vec<bool>)> {
        let names = self.encoded_names();
        let width = names.len();
        let mut x = vec![0.0; rows.len() * width];
        let mut zeroed = vec![false; rows.len()];
        let mut offset = 0;
        for input in &self.inputs {
            let c = table.column_index(&input.name)?;
            let col = &table.columns[c];
            match &input.kind {
                InputKind::Numeric { impute, indicator }
                | InputKind::Boolean { impute, indicator } => {
                    let boolean = matches!(input.kind, InputKind::Boolean { .. });
                    if let Column::Text { .. } = col {
                        if let Some(r) = first_non_number(col) {
                            return Err(table.error_at(
                                r,
                                c,
                                format!(
                                    "expected {} (the model's column '{}' is {}), found '{}'",
                                    if boolean { "true/false" } else { "a number" },
                                    input.name,
                                    if boolean { "boolean" } else { "numeric" },
                                    col.cell_text(r).unwrap_or_default()
                                ),
                            ));
                        }
                    }
                    for (i, &r) in rows.iter().enumerate() {
                        let v = match col {
                            Column::Text { .. } => col
                                .cell_text(r)
                                .and_then(|s| s.parse::<f64>().ok())
                                .unwrap_or(f64::NAN),
                            _ => table.get(r, c),
                        };
                        let row = &mut x[i * width + offset..];
                        if v.is_nan() {
                            let Some(m) = impute else {
                                return Err(table.error_at(
                                    r,
                                    c,
                                    "missing value, and the model was fitted without imputation (fill the cell, or refit with --missing impute)",
                                ));
                            };
                            row[0] = *m;
                            if *indicator {
                                row[1] = 1.0;
                            }
                        } else {
                            if boolean && v != 0.0 && v != 1.0 {
                                return Err(table.error_at(
                                    r,
                                    c,
                                    format!("expected true/false (or 1/0), found {v}"),
                                ));
                            }
                            row[0] = v;
                        }
                    }
                }
                InputKind::Categorical { levels } => {
                    let missing_level = levels.iter().position(|l| l == MISSING_LEVEL);
                    for (i, &r) in rows.iter().enumerate() {
                        let k = match col.cell_text(r) {
                            None => match missing_level {
                                Some(k) => Some(k),
                                None if unknown == UnknownLevel::Zero => None,
                                None => {
                                    return Err(table.error_at(
                                        r,
                                        c,
                                        "missing value, and the model has no missing level for this column (fill the cell, refit with --missing impute, or use --unknown-level zero)",
                                    ))
                                }
                            },
                            Some(v) => match levels.iter().position(|l| *l == v) {
                                Some(k) => Some(k),
                                None if unknown == UnknownLevel::Zero => None,
                                None => {
                                    return Err(table.error_at(
                                        r,
                                        c,
                                        format!(
                                            "level '{v}' was not seen in training (known: {}); use --unknown-level zero to encode it as all zeros",
                                            levels.join(", ")
                                        ),
                                    ))
                                }
                            },
                        };
                        match k {
                            Some(k) => x[i * width + offset + k] = 1.0,
                            None => zeroed[i] = true,
                        }
                    }
                }
            }
            offset += input.encoded_names().len();
        }
        let k = self.targets.len();
        let mut y = vec![0.0; rows.len() * k];
        if with_target {
            for (j, t) in self.targets.iter().enumerate() {
                let c = table.column_index(&t.name)?;
                let col = &table.columns[c];
                for (i, &r) in rows.iter().enumerate() {
                    y[i * k + j] = match &t.classes {
                        None => {
                            let v = table.get(r, c);
                            if v.is_nan() {
                                return Err(table.error_at(
                                    r,
                                    c,
                                    format!(
                                        "expected a number for the target, found '{}'",
                                        col.cell_text(r).unwrap_or_default()
                                    ),
                                ));
                            }
                            v
                        }
                        Some(classes) => {
                            let v = col.cell_text(r).unwrap_or_default();
                            match classes.iter().position(|n| *n == v) {
                                Some(i) => i as f64,
                                None => {
                                    return Err(table.error_at(
                                        r,
                                        c,
                                        format!(
                                            "class '{v}' is not one of the model's classes: {}",
                                            classes.join(", ")
                                        ),
                                    ))
                                }
                            }
                        }
                    };
                }
            }
        }
        let data = Dataset {
            x,
            y,
            rows: rows.len(),
            features: width,
            feature_names: names,
            target_names: self.targets.iter().map(|t| t.name.clone()).collect(),
            source: table.source.clone(),
            input_shape: None,
        };
        // Pixel columns keep their shape only when they are exactly the features.
        let data = match &table.input_shape {
            Some(shape) => data.with_input_shape(shape)?,
            None => data,
        };
        Ok((data, zeroed))
    }
}

/// Class names of a target column in class-index order: numeric labels 0..K−1 keep their
/// numbers (index = label), text and boolean labels are sorted.
/// The most classes a class target may have: numeric labels are 0..K−1, so a label of 1e18
/// would otherwise ask for a quintillion class names.
pub const MAX_CLASSES: usize = 100_000;

fn class_names(table: &Table, t: usize, rows: &[usize]) -> Result<Vec<String>> {
    let col = &table.columns[t];
    let present = sorted_levels(col, rows);
    if present.len() < 2 {
        return Err(col_err(
            table,
            t,
            format!(
                "the class target has {} in the training rows; a classifier needs at least two classes",
                match present.first() {
                    Some(c) => format!("one class only ('{c}')"),
                    None => "no class".into(),
                }
            ),
        ));
    }
    match col {
        Column::Numeric(v) => {
            let max = rows.iter().map(|&r| v[r]).fold(0.0f64, f64::max);
            if max >= MAX_CLASSES as f64 {
                let r = rows.iter().copied().find(|&r| v[r] == max).unwrap_or(0);
                return Err(table.error_at(
                    r,
                    t,
                    format!(
                        "class label {max}: numeric class labels are 0, 1, …, K−1 with K at most {MAX_CLASSES}"
                    ),
                ));
            }
            let k = if max.is_finite() && max >= 0.0 {
                max as usize + 1
            } else {
                0
            };
            Ok((0..k).map(|i| i.to_string()).collect())
        }
        _ => Ok(present),
    }
}
