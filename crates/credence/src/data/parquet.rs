//! Parquet in and out (arrow arrays): numeric, string, boolean and dictionary columns; nulls
//! (and NaN) are missing cells. Rows are named by their 1-based row number in errors.

use super::read::ReadOptions;
use super::table::{Column, Table, MISSING_CODE};
use crate::error::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// A column being assembled from record batches.
enum Builder {
    Numbers(Vec<f64>),
    Booleans(Vec<f64>),
    Text {
        index: HashMap<String, u32>,
        levels: Vec<String>,
        codes: Vec<u32>,
    },
}

impl Builder {
    fn for_type(t: &DataType) -> Option<Builder> {
        Some(match t {
            DataType::Boolean => Builder::Booleans(Vec::new()),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Builder::text(),
            DataType::Dictionary(_, v)
                if matches!(
                    v.as_ref(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
            {
                Builder::text()
            }
            t if t.is_integer() || t.is_floating() => Builder::Numbers(Vec::new()),
            _ => return None,
        })
    }

    fn reserve(&mut self, rows: usize) {
        match self {
            Builder::Numbers(v) | Builder::Booleans(v) => v.reserve_exact(rows),
            Builder::Text { codes, .. } => codes.reserve_exact(rows),
        }
    }

    fn text() -> Builder {
        Builder::Text {
            index: HashMap::new(),
            levels: Vec::new(),
            codes: Vec::new(),
        }
    }

    fn code(
        index: &mut HashMap<String, u32>,
        levels: &mut Vec<String>,
        s: Option<&str>,
        opts: &ReadOptions,
    ) -> u32 {
        match s.map(str::trim) {
            None => MISSING_CODE,
            Some(s) if opts.is_missing(s) => MISSING_CODE,
            Some(s) => {
                if let Some(&k) = index.get(s) {
                    return k;
                }
                let k = levels.len() as u32;
                levels.push(s.to_string());
                index.insert(s.to_string(), k);
                k
            }
        }
    }

    fn push(&mut self, a: &ArrayRef, opts: &ReadOptions) -> std::result::Result<(), String> {
        macro_rules! numbers {
            ($v:expr, $($t:ty),*) => {{
                $(if let Some(p) = a.as_primitive_opt::<$t>() {
                    $v.extend(p.iter().map(|x| x.map_or(f64::NAN, |x| x as f64)));
                    return Ok(());
                })*
            }};
        }
        match self {
            Builder::Numbers(v) => {
                numbers!(
                    v,
                    Float64Type,
                    Float32Type,
                    Int64Type,
                    Int32Type,
                    Int16Type,
                    Int8Type,
                    UInt64Type,
                    UInt32Type,
                    UInt16Type,
                    UInt8Type
                );
                if let Some(x) = v.iter().find(|x| x.is_infinite()) {
                    return Err(format!("expected a finite number, found {x}"));
                }
            }
            Builder::Booleans(v) => {
                if let Some(b) = a.as_boolean_opt() {
                    v.extend(
                        b.iter()
                            .map(|x| x.map_or(f64::NAN, |x| f64::from(u8::from(x)))),
                    );
                    return Ok(());
                }
            }
            Builder::Text {
                index,
                levels,
                codes,
            } => {
                if let Some(s) = a.as_string_opt::<i32>() {
                    codes.extend(s.iter().map(|x| Self::code(index, levels, x, opts)));
                    return Ok(());
                }
                if let Some(s) = a.as_string_opt::<i64>() {
                    codes.extend(s.iter().map(|x| Self::code(index, levels, x, opts)));
                    return Ok(());
                }
                if let Some(s) = a.as_string_view_opt() {
                    codes.extend(s.iter().map(|x| Self::code(index, levels, x, opts)));
                    return Ok(());
                }
                if let Some(d) = a.as_any_dictionary_opt() {
                    let values = d.values();
                    let dict: Vec<Option<String>> = if let Some(s) = values.as_string_opt::<i32>() {
                        s.iter().map(|x| x.map(str::to_string)).collect()
                    } else if let Some(s) = values.as_string_opt::<i64>() {
                        s.iter().map(|x| x.map(str::to_string)).collect()
                    } else if let Some(s) = values.as_string_view_opt() {
                        s.iter().map(|x| x.map(str::to_string)).collect()
                    } else {
                        return Err(format!(
                            "a dictionary of {} values, expected text",
                            values.data_type()
                        ));
                    };
                    let local: Vec<u32> = dict
                        .iter()
                        .map(|v| Self::code(index, levels, v.as_deref(), opts))
                        .collect();
                    let keys = d.normalized_keys();
                    for (i, k) in keys.iter().enumerate() {
                        codes.push(if d.keys().is_null(i) {
                            MISSING_CODE
                        } else {
                            local.get(*k).copied().unwrap_or(MISSING_CODE)
                        });
                    }
                    return Ok(());
                }
            }
        }
        Err(format!("unexpected arrow type {}", a.data_type()))
    }

    fn finish(self) -> Column {
        match self {
            // NaN in a float column is a missing cell, as in pandas.
            Builder::Numbers(v) => Column::Numeric(v),
            Builder::Booleans(v) => Column::Boolean(v),
            Builder::Text { levels, codes, .. } => Column::Text { levels, codes },
        }
    }
}

/// Reads a Parquet file into a typed table (text cells equal to a missing-value text are missing).
pub fn read_parquet(path: &Path, opts: &ReadOptions) -> Result<Table> {
    let file_name = path.display().to_string();
    let bad = |m: String| Error::data(&file_name, None, None, m);
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let builder = super::guard::contain(|| ParquetRecordBatchReaderBuilder::try_new(file))
        .map_err(|m| bad(format!("not a readable Parquet file (its footer: {m})")))?
        .map_err(|e| bad(format!("not a readable Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    // Reserve for the rows the footer declares, but never more than the file's bytes: a
    // damaged footer must not make us allocate without bound.
    let file_len = std::fs::metadata(path).map_or(0, |m| m.len());
    let total = usize::try_from(builder.metadata().file_metadata().num_rows().max(0))
        .unwrap_or(0)
        .min(usize::try_from(file_len).unwrap_or(0));
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut builders = schema
        .fields()
        .iter()
        .map(|f| {
            Builder::for_type(f.data_type()).ok_or_else(|| {
                Error::data(
                    &file_name,
                    None,
                    Some(f.name().clone()),
                    format!(
                        "the column has type {}, which Credence does not read; expected numbers, text or booleans (cast it before saving)",
                        f.data_type()
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for b in &mut builders {
        b.reserve(total);
    }
    // The parquet crate panics on a column chunk whose byte range is negative: check every
    // chunk's range against the file before reading (found by fuzzing, tests/fuzz_regressions.rs).
    for (g, group) in builder.metadata().row_groups().iter().enumerate() {
        for col in group.columns() {
            let start = col
                .dictionary_page_offset()
                .unwrap_or_else(|| col.data_page_offset());
            let len = col.compressed_size();
            let inside = start >= 0
                && len >= 0
                && (start as u64)
                    .checked_add(len as u64)
                    .is_some_and(|end| end <= file_len);
            if !inside {
                return Err(bad(format!(
                    "row group {} column '{}' claims bytes {start}..{start}+{len}, outside the file's {file_len} bytes: the file is damaged",
                    g + 1,
                    col.column_path()
                )));
            }
        }
    }
    let mut reader = super::guard::contain(|| builder.build())
        .map_err(|m| {
            bad(format!(
                "cannot read the Parquet file ({m}): the file is damaged"
            ))
        })?
        .map_err(|e| bad(format!("cannot read the Parquet file: {e}")))?;
    let mut rows = 0usize;
    loop {
        // The parquet crate's page decoders can panic on a damaged page (an index out of bounds
        // in its BYTE_STREAM_SPLIT decoder, found by fuzzing): decoding is fenced, and such a
        // page is reported like any other damage.
        let next = super::guard::contain(|| reader.next()).map_err(|m| {
            bad(format!(
                "cannot decode a data page (the Parquet reader failed: {m}): the file is damaged"
            ))
        })?;
        let Some(batch) = next else { break };
        let batch = batch.map_err(|e| bad(format!("cannot read a row group: {e}")))?;
        for (c, b) in builders.iter_mut().enumerate() {
            b.push(batch.column(c), opts)
                .map_err(|m| Error::data(&file_name, None, Some(names[c].clone()), m))?;
        }
        rows += batch.num_rows();
    }
    if rows == 0 {
        return Err(bad("the table has no data rows".into()));
    }
    Ok(Table {
        source: file_name,
        names,
        columns: builders.into_iter().map(Builder::finish).collect(),
        lines: (1..=rows).collect(),
        input_shape: None,
    })
}

/// A column to write: numbers or text.
#[derive(Debug, Clone)]
pub enum OutColumn {
    /// Floating-point values.
    Numbers(Vec<f64>),
    /// Text values.
    Text(Vec<String>),
}

/// A table's columns for writing: numbers as numbers, booleans and text as text (a missing
/// cell as an empty string, which reads back as missing).
pub fn table_columns(t: &Table) -> Vec<(String, OutColumn)> {
    t.names
        .iter()
        .zip(&t.columns)
        .map(|(n, c)| {
            let col = match c {
                Column::Numeric(v) => OutColumn::Numbers(v.clone()),
                _ => OutColumn::Text(
                    (0..t.rows())
                        .map(|r| c.cell_text(r).unwrap_or_default())
                        .collect(),
                ),
            };
            (n.clone(), col)
        })
        .collect()
}

/// Writes named columns as a Parquet file (snappy pages), atomically.
pub fn write_parquet(path: &Path, columns: &[(String, OutColumn)]) -> Result<()> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, c)| {
            let t = match c {
                OutColumn::Numbers(_) => DataType::Float64,
                OutColumn::Text(_) => DataType::Utf8,
            };
            Field::new(n, t, false)
        })
        .collect();
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|(_, c)| match c {
            OutColumn::Numbers(v) => Arc::new(Float64Array::from(v.clone())) as ArrayRef,
            OutColumn::Text(v) => Arc::new(StringArray::from(v.clone())) as ArrayRef,
        })
        .collect();
    let bad = |e: String| Error::Invalid(format!("writing {}: {e}", path.display()));
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| bad(e.to_string()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut buf = Vec::new();
    let mut w =
        ArrowWriter::try_new(&mut buf, schema, Some(props)).map_err(|e| bad(e.to_string()))?;
    w.write(&batch).map_err(|e| bad(e.to_string()))?;
    w.close().map_err(|e| bad(e.to_string()))?;
    crate::artifact::write_atomic(path, &buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_numbers_and_text() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        write_parquet(
            &p,
            &[
                ("a".into(), OutColumn::Numbers(vec![1.0, f64::NAN, 3.0])),
                (
                    "s".into(),
                    OutColumn::Text(vec!["x".into(), "NA".into(), "x".into()]),
                ),
            ],
        )
        .unwrap();
        let t = read_parquet(&p, &ReadOptions::default()).unwrap();
        assert_eq!(t.names, vec!["a", "s"]);
        assert!(t.columns[0].is_missing(1) && !t.columns[0].is_missing(0));
        assert_eq!(
            t.columns[1],
            Column::Text {
                levels: vec!["x".into()],
                codes: vec![0, MISSING_CODE, 0]
            }
        );
        assert_eq!(t.lines, vec![1, 2, 3]);
    }

    #[test]
    fn not_parquet_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        std::fs::write(&p, b"a,b\n1,2\n").unwrap();
        let m = read_parquet(&p, &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(m.contains("t.parquet") && m.contains("Parquet"), "{m}");
    }
}
