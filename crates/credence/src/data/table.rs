//! An in-memory numeric table with column names and the source line of every row.

use crate::error::{Error, Result};

/// A numeric table read from a file: row-major values, column names, source line per row.
#[derive(Debug, Clone)]
pub struct Table {
    /// Where the table came from (file path), used in error messages.
    pub source: String,
    /// Column names (for headerless files: "0", "1", ...).
    pub names: Vec<String>,
    /// Row-major values, `rows × names.len()`.
    pub values: Vec<f64>,
    /// 1-based line number in the source file of each row.
    pub lines: Vec<usize>,
}

impl Table {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.lines.len()
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.names.len()
    }

    /// Value at (row, column).
    pub fn get(&self, row: usize, col: usize) -> f64 {
        self.values[row * self.cols() + col]
    }

    /// Finds a column by name, or by 0-based index when no column has that name.
    pub fn column_index(&self, column: &str) -> Result<usize> {
        if let Some(i) = self.names.iter().position(|n| n == column) {
            return Ok(i);
        }
        if let Ok(i) = column.parse::<usize>() {
            if i < self.cols() {
                return Ok(i);
            }
        }
        Err(Error::data(
            &self.source,
            None,
            Some(column.to_string()),
            format!(
                "no such column; expected one of: {} (or a 0-based index below {})",
                self.names.join(", "),
                self.cols()
            ),
        ))
    }

    /// The values of one column.
    pub fn column(&self, col: usize) -> Vec<f64> {
        (0..self.rows()).map(|r| self.get(r, col)).collect()
    }

    /// Row-major matrix of the chosen columns, for the chosen rows.
    pub fn select(&self, rows: &[usize], cols: &[usize]) -> Vec<f64> {
        let mut out = Vec::with_capacity(rows.len() * cols.len());
        for &r in rows {
            for &c in cols {
                out.push(self.get(r, c));
            }
        }
        out
    }
}
