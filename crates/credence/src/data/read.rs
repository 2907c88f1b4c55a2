//! Readers for CSV (with a header) and whitespace-separated (UCI) tables, with errors that
//! name the file, line and column.

use super::Table;
use crate::error::{Error, Result};
use std::path::Path;

fn parse_cell(file: &str, line: usize, column: &str, cell: &str) -> Result<f64> {
    let t = cell.trim();
    let v: f64 = t.parse().map_err(|_| {
        Error::data(
            file,
            Some(line),
            Some(column.to_string()),
            format!("expected a number, found '{t}'"),
        )
    })?;
    if !v.is_finite() {
        return Err(Error::data(
            file,
            Some(line),
            Some(column.to_string()),
            format!("expected a finite number, found '{t}'"),
        ));
    }
    Ok(v)
}

fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

fn empty_error(file: &str) -> Error {
    Error::data(file, None, None, "the table has no data rows")
}

/// Reads a CSV file whose first line is a header of column names.
pub fn read_csv(path: &Path) -> Result<Table> {
    let text = read_to_string(path)?;
    parse_csv(&path.display().to_string(), &text)
}

/// Parses CSV text with a header line; `file` names the source in errors.
pub fn parse_csv(file: &str, text: &str) -> Result<Table> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Error::data(file, Some(1), None, format!("cannot read the header: {e}")))?
        .clone();
    let names: Vec<String> = headers.iter().map(str::to_string).collect();
    if names.is_empty() || (names.len() == 1 && names[0].is_empty()) {
        return Err(Error::data(
            file,
            Some(1),
            None,
            "expected a header line of column names",
        ));
    }
    let mut values = Vec::new();
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize);
            Error::data(file, line, None, format!("malformed CSV: {e}"))
        })?;
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        if record.len() == 1 && record.get(0).is_some_and(str::is_empty) {
            continue; // blank line
        }
        if record.len() != names.len() {
            return Err(Error::data(
                file,
                Some(line),
                None,
                format!(
                    "ragged row: expected {} cells (as in the header), found {}",
                    names.len(),
                    record.len()
                ),
            ));
        }
        for (cell, name) in record.iter().zip(&names) {
            values.push(parse_cell(file, line, name, cell)?);
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Err(empty_error(file));
    }
    Ok(Table {
        source: file.to_string(),
        names,
        values,
        lines,
    })
}

/// Reads a headerless whitespace-separated table (the UCI benchmark format); blank lines are skipped.
pub fn read_whitespace(path: &Path) -> Result<Table> {
    let text = read_to_string(path)?;
    parse_whitespace(&path.display().to_string(), &text)
}

/// Parses headerless whitespace-separated text; columns are named "0", "1", ...
pub fn parse_whitespace(file: &str, text: &str) -> Result<Table> {
    let mut values = Vec::new();
    let mut lines = Vec::new();
    let mut width: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let cells: Vec<&str> = raw.split_whitespace().collect();
        if cells.is_empty() {
            continue;
        }
        match width {
            None => width = Some(cells.len()),
            Some(w) if w != cells.len() => {
                return Err(Error::data(
                    file,
                    Some(line),
                    None,
                    format!(
                        "ragged row: expected {w} values (as on the first row), found {}",
                        cells.len()
                    ),
                ))
            }
            _ => {}
        }
        for (c, cell) in cells.iter().enumerate() {
            values.push(parse_cell(file, line, &c.to_string(), cell)?);
        }
        lines.push(line);
    }
    let width = width.ok_or_else(|| empty_error(file))?;
    Ok(Table {
        source: file.to_string(),
        names: (0..width).map(|c| c.to_string()).collect(),
        values,
        lines,
    })
}

/// Reads a table, choosing CSV (header, commas) or whitespace format from the content.
pub fn read_table(path: &Path) -> Result<Table> {
    let text = read_to_string(path)?;
    let file = path.display().to_string();
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        || text
            .lines()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.contains(','));
    if is_csv {
        parse_csv(&file, &text)
    } else {
        parse_whitespace(&file, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Result<Table>) -> String {
        r.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn csv_reads_values_and_lines() {
        let t = parse_csv("t.csv", "a,b\n1,2\n\n3,4\n").unwrap();
        assert_eq!(t.names, vec!["a", "b"]);
        assert_eq!(t.values, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(t.rows(), 2);
    }

    #[test]
    fn csv_bad_inputs_name_line_and_column() {
        let m = msg(parse_csv("t.csv", "a,b\n1,2\n3,x\n"));
        assert!(
            m.contains("t.csv, line 3, column 'b'") && m.contains("found 'x'"),
            "{m}"
        );
        let m = msg(parse_csv("t.csv", "a,b\n1,2\n3\n"));
        assert!(m.contains("line 3") && m.contains("ragged"), "{m}");
        let m = msg(parse_csv("t.csv", "a,b\n1,NaN\n"));
        assert!(
            m.contains("line 2, column 'b'") && m.contains("finite"),
            "{m}"
        );
        let m = msg(parse_csv("t.csv", "a,b\n1,inf\n"));
        assert!(m.contains("finite"), "{m}");
        let m = msg(parse_csv("t.csv", "a,b\n"));
        assert!(m.contains("no data rows"), "{m}");
    }

    #[test]
    fn whitespace_reads_and_checks() {
        let t = parse_whitespace("d.txt", "1 2 3\n4 5 6\n\n").unwrap();
        assert_eq!(t.cols(), 3);
        assert_eq!(t.rows(), 2);
        let m = msg(parse_whitespace("d.txt", "1 2 3\n4 5\n"));
        assert!(m.contains("d.txt, line 2") && m.contains("ragged"), "{m}");
        let m = msg(parse_whitespace("d.txt", "1 2 3\n4 5 ?\n"));
        assert!(m.contains("line 2, column '2'"), "{m}");
        assert!(msg(parse_whitespace("d.txt", "\n\n")).contains("no data rows"));
    }

    #[test]
    fn missing_file_is_named() {
        let m = msg(read_table(Path::new("/nonexistent/x.csv")));
        assert!(m.contains("/nonexistent/x.csv"), "{m}");
    }

    #[test]
    fn unknown_column_lists_the_choices() {
        let t = parse_csv("t.csv", "a,b\n1,2\n").unwrap();
        let m = t.column_index("zz").unwrap_err().to_string();
        assert!(m.contains("column 'zz'") && m.contains("a, b"), "{m}");
        assert_eq!(t.column_index("1").unwrap(), 1);
    }
}
