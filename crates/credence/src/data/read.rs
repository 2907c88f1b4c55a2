//! Readers for CSV (with a header) and whitespace-separated (UCI) tables, with errors that
//! name the file, line and column.

use super::table::{Column, Table, MISSING_CODE};
use crate::error::{Error, Result};
use std::path::Path;

/// How cells are read: which texts mark a missing cell.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    /// Cell texts (after trimming) that mean "missing".
    pub na_values: Vec<String>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            na_values: ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

impl ReadOptions {
    /// Whether a (trimmed) cell text marks a missing cell.
    pub fn is_missing(&self, cell: &str) -> bool {
        self.na_values.iter().any(|m| m == cell)
    }
}

fn parse_bool(cell: &str) -> Option<f64> {
    match cell.to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(1.0),
        "false" | "no" => Some(0.0),
        _ => None,
    }
}

/// Turns one column's cells into a typed column: numeric when every present cell is a number
/// (a non-finite number is an error naming its line), boolean when every present cell is
/// true/false or yes/no, text otherwise.
fn type_column<'a>(
    file: &str,
    name: &str,
    lines: &[usize],
    cells: impl Iterator<Item = &'a str> + Clone,
    opts: &ReadOptions,
) -> Result<Column> {
    let present = cells.clone().filter(|c| !opts.is_missing(c));
    if present.clone().all(|c| c.parse::<f64>().is_ok()) {
        let mut v = Vec::with_capacity(lines.len());
        for (c, &line) in cells.zip(lines) {
            if opts.is_missing(c) {
                v.push(f64::NAN);
                continue;
            }
            let x: f64 = c.parse().unwrap_or(f64::NAN);
            if !x.is_finite() {
                return Err(Error::data(
                    file,
                    Some(line),
                    Some(name.to_string()),
                    format!("expected a finite number, found '{c}' (mark missing cells with one of the missing-value texts instead)"),
                ));
            }
            v.push(x);
        }
        return Ok(Column::Numeric(v));
    }
    if present.clone().all(|c| parse_bool(c).is_some()) {
        return Ok(Column::Boolean(
            cells
                .map(|c| {
                    if opts.is_missing(c) {
                        f64::NAN
                    } else {
                        parse_bool(c).unwrap_or(f64::NAN)
                    }
                })
                .collect(),
        ));
    }
    let mut index: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    let mut levels = Vec::new();
    let mut codes = Vec::with_capacity(lines.len());
    for c in cells {
        if opts.is_missing(c) {
            codes.push(MISSING_CODE);
            continue;
        }
        let next = levels.len() as u32;
        let k = *index.entry(c).or_insert_with(|| {
            levels.push(c.to_string());
            next
        });
        codes.push(k);
    }
    Ok(Column::Text { levels, codes })
}

/// Types one column of text cells (one per row, rows numbered from 1) by the readers' rules:
/// numeric, boolean (true/false, yes/no) or text, with `opts.na_values` marking missing cells.
/// For in-memory tables (a pandas column of objects) that must be read as a CSV column would be.
pub fn typed_column(
    file: &str,
    name: &str,
    cells: &[String],
    opts: &ReadOptions,
) -> Result<Column> {
    let lines: Vec<usize> = (1..=cells.len()).collect();
    type_column(file, name, &lines, cells.iter().map(|c| c.trim()), opts)
}

fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

fn empty_error(file: &str) -> Error {
    Error::data(file, None, None, "the table has no data rows")
}

/// Builds a typed table from rows of trimmed cells (all of the same width).
fn typed_table(
    file: &str,
    names: Vec<String>,
    cells: &[Vec<&str>],
    lines: Vec<usize>,
    opts: &ReadOptions,
) -> Result<Table> {
    if lines.is_empty() {
        return Err(empty_error(file));
    }
    let columns = names
        .iter()
        .enumerate()
        .map(|(c, name)| type_column(file, name, &lines, cells.iter().map(|r| r[c]), opts))
        .collect::<Result<_>>()?;
    Ok(Table {
        source: file.to_string(),
        names,
        columns,
        lines,
        input_shape: None,
    })
}

/// The 1-based line where a record starting at `byte` begins (blank lines before it skipped),
/// given the offsets of the newlines.
fn line_of(text: &[u8], newlines: &[usize], mut byte: usize) -> usize {
    while text.get(byte).is_some_and(|b| *b == b'\n' || *b == b'\r') {
        byte += 1;
    }
    newlines.partition_point(|&n| n < byte) + 1
}

/// Reads a CSV file whose first line is a header of column names.
pub fn read_csv(path: &Path, opts: &ReadOptions) -> Result<Table> {
    let text = read_to_string(path)?;
    parse_csv(&path.display().to_string(), &text, opts)
}

/// Parses CSV text with a header line; `file` names the source in errors.
pub fn parse_csv(file: &str, text: &str, opts: &ReadOptions) -> Result<Table> {
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
    let mut seen = std::collections::HashSet::with_capacity(names.len());
    if let Some(i) = names.iter().position(|n| !seen.insert(n.as_str())) {
        return Err(Error::data(
            file,
            Some(1),
            Some(names[i].clone()),
            "the header names this column twice; column names must be distinct",
        ));
    }
    let newlines: Vec<usize> = text
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i)
        .collect();
    let mut records = Vec::new();
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize);
            Error::data(file, line, None, format!("malformed CSV: {e}"))
        })?;
        // The csv crate does not count skipped blank lines: find the line from the byte offset.
        let line = record.position().map_or(0, |p| {
            line_of(text.as_bytes(), &newlines, p.byte() as usize)
        });
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
        records.push(record);
        lines.push(line);
    }
    let cells: Vec<Vec<&str>> = records.iter().map(|r| r.iter().collect()).collect();
    typed_table(file, names, &cells, lines, opts)
}

/// Reads a headerless whitespace-separated table (the UCI benchmark format); blank lines are skipped.
pub fn read_whitespace(path: &Path, opts: &ReadOptions) -> Result<Table> {
    let text = read_to_string(path)?;
    parse_whitespace(&path.display().to_string(), &text, opts)
}

/// Parses headerless whitespace-separated text; columns are named "0", "1", ...
pub fn parse_whitespace(file: &str, text: &str, opts: &ReadOptions) -> Result<Table> {
    let mut cells = Vec::new();
    let mut lines = Vec::new();
    let mut width: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let row: Vec<&str> = raw.split_whitespace().collect();
        if row.is_empty() {
            continue;
        }
        match width {
            None => width = Some(row.len()),
            Some(w) if w != row.len() => {
                return Err(Error::data(
                    file,
                    Some(line),
                    None,
                    format!(
                        "ragged row: expected {w} values (as on the first row), found {}",
                        row.len()
                    ),
                ))
            }
            _ => {}
        }
        cells.push(row);
        lines.push(line);
    }
    let width = width.ok_or_else(|| empty_error(file))?;
    typed_table(
        file,
        (0..width).map(|c| c.to_string()).collect(),
        &cells,
        lines,
        opts,
    )
}

/// Whether a path names a Parquet file (by its extension).
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"))
}

/// Reads a table: Parquet or NumPy `.npy` (features only, as `pixel_*` columns) by extension,
/// else CSV (header, commas) or whitespace format chosen from the content.
pub fn read_table(path: &Path, opts: &ReadOptions) -> Result<Table> {
    if is_parquet(path) {
        return super::parquet::read_parquet(path, opts);
    }
    if super::npy::is_npy(path) {
        return super::npy::read_npy_table(path, None, "label");
    }
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
        parse_csv(&file, &text, opts)
    } else {
        parse_whitespace(&file, &text, opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o() -> ReadOptions {
        ReadOptions::default()
    }

    fn msg(r: Result<Table>) -> String {
        r.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn csv_reads_values_and_lines() {
        let t = parse_csv("t.csv", "a,b\n1,2\n\n3,4\n", &o()).unwrap();
        assert_eq!(t.names, vec!["a", "b"]);
        assert_eq!(t.columns[0], Column::Numeric(vec![1.0, 3.0]));
        assert_eq!(t.lines, vec![2, 4]);
        assert_eq!(t.rows(), 2);
    }

    #[test]
    fn typed_column_types_cells_as_the_csv_reader_does() {
        let cells = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let num = typed_column("df", "a", &cells(&["1", " 2.5", "", "NA"]), &o()).unwrap();
        match num {
            Column::Numeric(v) => {
                assert_eq!(&v[..2], &[1.0, 2.5]);
                assert!(v[2].is_nan() && v[3].is_nan());
            }
            other => panic!("expected numbers, got {other:?}"),
        }
        let b = typed_column("df", "b", &cells(&["yes", "no", "true"]), &o()).unwrap();
        assert_eq!(b, Column::Boolean(vec![1.0, 0.0, 1.0]));
        let t = typed_column("df", "c", &cells(&["x", "3", "x", ""]), &o()).unwrap();
        assert_eq!(
            t,
            Column::Text {
                levels: vec!["x".into(), "3".into()],
                codes: vec![0, 1, 0, MISSING_CODE],
            }
        );
        let e = typed_column("df", "d", &cells(&["1", "inf"]), &o()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "df, line 2, column 'd': expected a finite number, found 'inf' (mark missing cells with one of the missing-value texts instead)"
        );
    }

    #[test]
    fn csv_types_columns_and_marks_missing() {
        let t = parse_csv(
            "t.csv",
            "age,sex,ok,income\n30,F,yes,1.5\n41,M,no,\n52,F,Yes,NA\n",
            &o(),
        )
        .unwrap();
        assert_eq!(t.columns[0].kind(), "numeric");
        assert_eq!(
            t.columns[1],
            Column::Text {
                levels: vec!["F".into(), "M".into()],
                codes: vec![0, 1, 0]
            }
        );
        assert_eq!(t.columns[2], Column::Boolean(vec![1.0, 0.0, 1.0]));
        assert!(t.columns[3].is_missing(1) && t.columns[3].is_missing(2));
        assert!(!t.columns[3].is_missing(0));
        let custom = ReadOptions {
            na_values: vec!["-".into()],
        };
        let t = parse_csv("t.csv", "a,b\n1,-\n2,3\n", &custom).unwrap();
        assert!(t.columns[1].is_missing(0));
        // With "?" not a missing marker, the column is text.
        let t = parse_csv("t.csv", "a,b\n1,?\n2,3\n", &custom).unwrap();
        assert_eq!(t.columns[1].kind(), "text");
    }

    #[test]
    fn csv_bad_inputs_name_line_and_column() {
        let t = parse_csv("t.csv", "a,b\n1,2\n3,x\n", &o()).unwrap();
        let m = t.numeric(1).unwrap_err().to_string();
        assert!(
            m.contains("t.csv, line 3, column 'b'") && m.contains("found 'x'"),
            "{m}"
        );
        let m = msg(parse_csv("t.csv", "a,b\n1,2\n3\n", &o()));
        assert!(m.contains("line 3") && m.contains("ragged"), "{m}");
        let m = msg(parse_csv("t.csv", "a,b\n1,inf\n", &o()));
        assert!(
            m.contains("line 2, column 'b'") && m.contains("finite"),
            "{m}"
        );
        let m = msg(parse_csv("t.csv", "a,b\n", &o()));
        assert!(m.contains("no data rows"), "{m}");
        let m = msg(parse_csv("t.csv", "a,a\n1,2\n", &o()));
        assert!(m.contains("twice"), "{m}");
        let t = parse_csv("t.csv", "a,b\n1,NaN\n", &o()).unwrap();
        let m = t.numeric(1).unwrap_err().to_string();
        assert!(
            m.contains("line 2, column 'b'") && m.contains("missing"),
            "{m}"
        );
    }

    #[test]
    fn whitespace_reads_and_checks() {
        let t = parse_whitespace("d.txt", "1 2 3\n4 5 6\n\n", &o()).unwrap();
        assert_eq!(t.cols(), 3);
        assert_eq!(t.rows(), 2);
        let m = msg(parse_whitespace("d.txt", "1 2 3\n4 5\n", &o()));
        assert!(m.contains("d.txt, line 2") && m.contains("ragged"), "{m}");
        let t = parse_whitespace("d.txt", "1 2 3\n4 5 x\n", &o()).unwrap();
        let m = t.numeric(2).unwrap_err().to_string();
        assert!(m.contains("line 2, column '2'"), "{m}");
        assert!(msg(parse_whitespace("d.txt", "\n\n", &o())).contains("no data rows"));
    }

    #[test]
    fn missing_file_is_named_with_the_reason_once() {
        let m = msg(read_table(Path::new("/nonexistent/x.csv"), &o()));
        assert!(m.contains("/nonexistent/x.csv"), "{m}");
        assert_eq!(m.matches("No such file").count(), 1, "{m}");
    }

    #[test]
    fn unknown_column_lists_the_choices() {
        let t = parse_csv("t.csv", "a,b\n1,2\n", &o()).unwrap();
        let m = t.column_index("zz").unwrap_err().to_string();
        assert!(m.contains("column 'zz'") && m.contains("a, b"), "{m}");
        assert_eq!(t.column_index("1").unwrap(), 1);
    }
}
