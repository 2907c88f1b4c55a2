//! An in-memory typed table: named columns (numeric, boolean or text, with missing cells) and
//! the source line (or row) of every row. Readers build it; the schema turns it into numbers.

use crate::error::{Error, Result};

/// Code of a missing cell in a text column.
pub const MISSING_CODE: u32 = u32::MAX;

/// One column's cells.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Finite numbers; NaN marks a missing cell.
    Numeric(Vec<f64>),
    /// true/false (yes/no) as 1/0; NaN marks a missing cell.
    Boolean(Vec<f64>),
    /// Text, dictionary-encoded: `levels[codes[row]]`, `MISSING_CODE` for a missing cell.
    Text {
        /// Distinct values in order of first appearance.
        levels: Vec<String>,
        /// Per row, the index of its level.
        codes: Vec<u32>,
    },
}

impl Column {
    /// Number of cells.
    pub fn len(&self) -> usize {
        match self {
            Column::Numeric(v) | Column::Boolean(v) => v.len(),
            Column::Text { codes, .. } => codes.len(),
        }
    }

    /// Whether the column has no cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the cell in `row` is missing.
    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            Column::Numeric(v) | Column::Boolean(v) => v[row].is_nan(),
            Column::Text { codes, .. } => codes[row] == MISSING_CODE,
        }
    }

    /// The type in words, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Column::Numeric(_) => "numeric",
            Column::Boolean(_) => "boolean",
            Column::Text { .. } => "text",
        }
    }

    /// The cell as text (numbers printed in full), `None` when missing.
    pub fn cell_text(&self, row: usize) -> Option<String> {
        match self {
            Column::Numeric(v) => Some(v[row]).filter(|x| !x.is_nan()).map(|x| x.to_string()),
            Column::Boolean(v) => Some(v[row])
                .filter(|x| !x.is_nan())
                .map(|x| if x == 1.0 { "true" } else { "false" }.to_string()),
            Column::Text { levels, codes } => levels.get(codes[row] as usize).cloned(),
        }
    }

    /// The rows selected by `rows`, as a new column (text levels kept).
    pub fn take(&self, rows: &[usize]) -> Column {
        match self {
            Column::Numeric(v) => Column::Numeric(rows.iter().map(|&r| v[r]).collect()),
            Column::Boolean(v) => Column::Boolean(rows.iter().map(|&r| v[r]).collect()),
            Column::Text { levels, codes } => Column::Text {
                levels: levels.clone(),
                codes: rows.iter().map(|&r| codes[r]).collect(),
            },
        }
    }
}

/// A table read from a file: typed columns, column names, source line per row.
#[derive(Debug, Clone)]
pub struct Table {
    /// Where the table came from (file path), used in error messages.
    pub source: String,
    /// Column names (for headerless files: "0", "1", ...).
    pub names: Vec<String>,
    /// The columns, each `rows()` long.
    pub columns: Vec<Column>,
    /// 1-based line number in the source file of each row (for Parquet: the 1-based row).
    pub lines: Vec<usize>,
    /// Shape of one example when the columns are pixels or a signal (`[channels, height,
    /// width]` or `[channels, width]`, values channel-last); `None` for plain tables.
    pub input_shape: Option<Vec<usize>>,
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

    /// A data error at a row of this table (its source line) and a column.
    pub fn error_at(&self, row: usize, col: usize, message: impl Into<String>) -> Error {
        Error::data(
            &self.source,
            self.lines.get(row).copied(),
            self.names.get(col).cloned(),
            message,
        )
    }

    /// The numbers of a column that must be numeric (or boolean) with no missing cell; the
    /// error names the first offending line.
    pub fn numeric(&self, col: usize) -> Result<&[f64]> {
        match &self.columns[col] {
            Column::Numeric(v) | Column::Boolean(v) => match v.iter().position(|x| x.is_nan()) {
                Some(r) => Err(self.error_at(r, col, "expected a number, found a missing cell")),
                None => Ok(v),
            },
            c @ Column::Text { .. } => {
                let r = first_non_number(c).unwrap_or(0);
                Err(self.error_at(
                    r,
                    col,
                    format!(
                        "expected a number, found '{}'",
                        c.cell_text(r).unwrap_or_default()
                    ),
                ))
            }
        }
    }

    /// Value at (row, column) of a numeric or boolean column; NaN for a missing or text cell.
    pub fn get(&self, row: usize, col: usize) -> f64 {
        match &self.columns[col] {
            Column::Numeric(v) | Column::Boolean(v) => v[row],
            Column::Text { .. } => f64::NAN,
        }
    }

    /// The values of one column that must be numeric (see [`Table::numeric`]).
    pub fn column(&self, col: usize) -> Result<Vec<f64>> {
        self.numeric(col).map(<[f64]>::to_vec)
    }

    /// Row-major matrix of the chosen numeric columns, for the chosen rows.
    pub fn select(&self, rows: &[usize], cols: &[usize]) -> Result<Vec<f64>> {
        let data: Vec<&[f64]> = cols
            .iter()
            .map(|&c| self.numeric(c))
            .collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(rows.len() * cols.len());
        for &r in rows {
            for d in &data {
                out.push(d[r]);
            }
        }
        Ok(out)
    }

    /// The rows selected by `rows`, as a new table.
    pub fn take_rows(&self, rows: &[usize]) -> Table {
        Table {
            source: self.source.clone(),
            names: self.names.clone(),
            columns: self.columns.iter().map(|c| c.take(rows)).collect(),
            lines: rows.iter().map(|&r| self.lines[r]).collect(),
            input_shape: self.input_shape.clone(),
        }
    }
}

/// The first row of a text column whose cell is not a number.
pub(crate) fn first_non_number(c: &Column) -> Option<usize> {
    match c {
        Column::Text { levels, codes } => codes
            .iter()
            .position(|&k| k != MISSING_CODE && levels[k as usize].trim().parse::<f64>().is_err()),
        _ => None,
    }
}
