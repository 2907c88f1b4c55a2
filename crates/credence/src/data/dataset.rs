//! A validated supervised dataset: a feature matrix and a target vector.

use super::Table;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What kind of target a dataset has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Task {
    /// A real-valued target.
    Regression,
    /// An integer class label in 0..classes.
    Classification {
        /// Number of classes.
        classes: usize,
    },
}

/// Features (row-major `rows × features`) and target of a supervised problem.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Row-major features.
    pub x: Vec<f64>,
    /// Target values, row-major `rows × targets()` (class index as a float for classification).
    pub y: Vec<f64>,
    /// Number of rows.
    pub rows: usize,
    /// Number of features.
    pub features: usize,
    /// Names of the feature columns.
    pub feature_names: Vec<String>,
    /// Names of the target columns (one for most tasks; several for multi-output regression).
    pub target_names: Vec<String>,
    /// Source file, for messages.
    pub source: String,
    /// Shape of one example when the features are pixels or a signal: `[channels, height,
    /// width]` or `[channels, width]`, the values of a row stored channel-last (NHWC); `None`
    /// for plain tables. Networks with convolutions read it; the MLP ignores it.
    pub input_shape: Option<Vec<usize>>,
}

impl Dataset {
    /// Builds a dataset from a table: `target` names the target column; all other columns are
    /// features unless `features` lists them.
    pub fn from_table(table: &Table, target: &str, features: Option<&[String]>) -> Result<Self> {
        let t = table.column_index(target)?;
        let f: Vec<usize> = match features {
            Some(list) => list
                .iter()
                .map(|c| table.column_index(c))
                .collect::<Result<_>>()?,
            None => (0..table.cols()).filter(|&c| c != t).collect(),
        };
        Self::from_indices(table, &f, t, None)
    }

    /// Builds a dataset from column indices, optionally restricted to some rows.
    pub fn from_indices(
        table: &Table,
        features: &[usize],
        target: usize,
        rows: Option<&[usize]>,
    ) -> Result<Self> {
        if features.is_empty() {
            return Err(Error::data(
                &table.source,
                None,
                None,
                "no feature columns left besides the target",
            ));
        }
        let all: Vec<usize>;
        let rows = match rows {
            Some(r) => r,
            None => {
                all = (0..table.rows()).collect();
                &all
            }
        };
        if rows.is_empty() {
            return Err(Error::data(&table.source, None, None, "no rows selected"));
        }
        Ok(Dataset {
            x: table.select(rows, features)?,
            y: {
                let t = table.numeric(target)?;
                rows.iter().map(|&r| t[r]).collect()
            },
            rows: rows.len(),
            features: features.len(),
            feature_names: features.iter().map(|&c| table.names[c].clone()).collect(),
            target_names: vec![table.names[target].clone()],
            source: table.source.clone(),
            // A shape describes all of a table's pixel columns, not a selection of them.
            input_shape: table
                .input_shape
                .clone()
                .filter(|s| s.iter().product::<usize>() == features.len()),
        })
    }

    /// Builds a dataset directly from arrays (for the library API and tests).
    pub fn from_arrays(x: Vec<f64>, y: Vec<f64>, features: usize) -> Result<Self> {
        if features == 0 || x.len() != y.len() * features || y.is_empty() {
            return Err(Error::Invalid(format!(
                "x has {} values, which is not rows ({}) × features ({features})",
                x.len(),
                y.len()
            )));
        }
        if let Some(i) = x.iter().chain(&y).position(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!("value {i} is not finite")));
        }
        Ok(Dataset {
            rows: y.len(),
            features,
            x,
            y,
            feature_names: (0..features).map(|i| format!("x{i}")).collect(),
            target_names: vec!["y".into()],
            source: "<memory>".into(),
            input_shape: None,
        })
    }

    /// The rows with the given indices, as a new dataset.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let mut x = Vec::with_capacity(idx.len() * self.features);
        for &i in idx {
            x.extend_from_slice(self.row(i));
        }
        Dataset {
            x,
            y: idx
                .iter()
                .flat_map(|&i| self.target_row(i).iter().copied())
                .collect(),
            rows: idx.len(),
            ..self.clone_meta()
        }
    }

    fn clone_meta(&self) -> Dataset {
        Dataset {
            x: Vec::new(),
            y: Vec::new(),
            rows: 0,
            features: self.features,
            feature_names: self.feature_names.clone(),
            target_names: self.target_names.clone(),
            source: self.source.clone(),
            input_shape: self.input_shape.clone(),
        }
    }

    /// The same dataset with an input shape (`[channels, height, width]` or `[channels,
    /// width]`), checked against the number of features (values channel-last per row).
    pub fn with_input_shape(mut self, shape: &[usize]) -> Result<Self> {
        super::npy::check_input_shape(&self.source, shape, self.features)?;
        self.input_shape = Some(shape.to_vec());
        Ok(self)
    }

    /// Number of target columns (`y` holds `rows × targets()` values).
    pub fn targets(&self) -> usize {
        self.target_names.len().max(1)
    }

    /// The target names joined by commas, for messages.
    pub fn target_label(&self) -> String {
        self.target_names.join(",")
    }

    /// Targets of one row.
    pub fn target_row(&self, i: usize) -> &[f64] {
        let k = self.targets();
        &self.y[i * k..(i + 1) * k]
    }

    /// Features of one row.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.features..(i + 1) * self.features]
    }

    /// Number of classes, checking that every target is a non-negative integer.
    pub fn class_count(&self) -> Result<usize> {
        let mut max = 0usize;
        for (i, &v) in self.y.iter().enumerate() {
            // Labels beyond the class limit would overflow the count (found by fuzzing `csv`).
            if v < 0.0 || v.fract() != 0.0 || v >= super::schema::MAX_CLASSES as f64 {
                return Err(Error::data(
                    &self.source,
                    None,
                    Some(self.target_label()),
                    format!(
                        "row {}: expected a class label 0, 1, 2, ... below {}, found {v}",
                        i + 1,
                        super::schema::MAX_CLASSES
                    ),
                ));
            }
            max = max.max(v as usize);
        }
        if max == 0 {
            return Err(Error::data(
                &self.source,
                None,
                Some(self.target_label()),
                "classification needs at least two classes; every label is 0",
            ));
        }
        Ok(max + 1)
    }

    /// Checks that no feature and not the target is constant.
    pub fn check_not_constant(&self) -> Result<()> {
        for c in 0..self.features {
            let first = self.x[c];
            if (0..self.rows).all(|r| self.x[r * self.features + c] == first) {
                return Err(Error::data(
                    &self.source,
                    None,
                    Some(self.feature_names[c].clone()),
                    format!("the column is constant ({first}) and carries no information; drop it"),
                ));
            }
        }
        if self.y.iter().all(|&v| v == self.y[0]) {
            return Err(Error::data(
                &self.source,
                None,
                Some(self.target_label()),
                format!(
                    "the target is constant ({}); there is nothing to learn",
                    self.y[0]
                ),
            ));
        }
        Ok(())
    }

    /// A short content hash (SHA-256 of features and target, first 16 hex digits).
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update((self.rows as u64).to_le_bytes());
        h.update((self.features as u64).to_le_bytes());
        for v in self.x.iter().chain(&self.y) {
            h.update(v.to_le_bytes());
        }
        let d = h.finalize();
        d.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}
