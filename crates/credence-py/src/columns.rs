//! Columns from Python (NumPy arrays and lists of cell texts) into the library's typed `Table`,
//! so that a pandas DataFrame goes through the same schema code as a CSV file.

use credence::data::{typed_column, Column, ReadOptions, Table};
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;

/// One column as the Python layer sends it: `(name, kind, values)` with kind `numeric` or
/// `boolean` (a float64 array, NaN for missing), `cells` (a list of texts typed by the
/// readers' rules) or `text` (a list of texts kept as text).
pub type PyColumn<'py> = (String, String, Bound<'py, PyAny>);

/// A text column of the given cells, kept as text (class labels such as "1.5" stay labels).
fn text_column(cells: &[String]) -> Column {
    let mut index = std::collections::HashMap::new();
    let mut levels = Vec::new();
    let codes = cells
        .iter()
        .map(|c| {
            *index.entry(c.as_str()).or_insert_with(|| {
                levels.push(c.clone());
                levels.len() as u32 - 1
            })
        })
        .collect();
    Column::Text { levels, codes }
}

/// Builds the typed table; rows are numbered from 1 in error messages.
pub fn table(source: &str, columns: Vec<PyColumn<'_>>, read: &ReadOptions) -> PyResult<Table> {
    let mut names = Vec::with_capacity(columns.len());
    let mut cols = Vec::with_capacity(columns.len());
    for (name, kind, values) in columns {
        let col = match kind.as_str() {
            "numeric" | "boolean" => {
                let arr: PyReadonlyArray1<'_, f64> = values.extract()?;
                let v = arr.as_array().to_vec();
                if let Some(row) = v.iter().position(|x| x.is_infinite()) {
                    return Err(crate::to_py(credence::Error::data(
                        source,
                        Some(row + 1),
                        Some(name),
                        format!("expected a finite number, found {}", v[row]),
                    )));
                }
                if kind == "numeric" {
                    Column::Numeric(v)
                } else {
                    Column::Boolean(v)
                }
            }
            "cells" => {
                let cells: Vec<String> = values.extract()?;
                typed_column(source, &name, &cells, read).map_err(crate::to_py)?
            }
            "text" => {
                let cells: Vec<String> = values.extract()?;
                text_column(&cells)
            }
            other => {
                return Err(crate::value_error(format!(
                    "column '{name}': unknown column kind '{other}'"
                )))
            }
        };
        names.push(name);
        cols.push(col);
    }
    let rows = cols.first().map_or(0, Column::len);
    if let Some(k) = cols.iter().position(|c| c.len() != rows) {
        return Err(crate::value_error(format!(
            "column '{}' has {} rows, the first column {rows}",
            names[k],
            cols[k].len()
        )));
    }
    if rows == 0 {
        return Err(crate::to_py(credence::Error::data(
            source,
            None,
            None,
            "the table has no data rows",
        )));
    }
    Ok(Table {
        source: source.to_string(),
        names,
        columns: cols,
        lines: (1..=rows).collect(),
        input_shape: None,
    })
}
