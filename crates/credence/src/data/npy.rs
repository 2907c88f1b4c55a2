//! NumPy `.npy` arrays (format versions 1.0, 2.0 and 3.0): numeric and boolean dtypes in
//! either byte order, C or Fortran order, read into `f64` values in C order. A malformed file
//! is an [`Error::Npy`] naming the file and an [`NpyProblem`] saying what was expected.
//!
//! Images: a features array `N×H×W` or `N×C×H×W` becomes a table of `H·W·C` pixel columns in
//! channel-last order (row `n`, pixel `(h, w)`, channel `c` at column `(h·W + w)·C + c`, the
//! layout of the engine's NHWC layers) with the input shape `[C, H, W]`; `N×D` becomes `D`
//! columns with the shape `[1, D]` (one channel of width `D`).

use super::table::{Column, Table};
use crate::error::{Error, Result};
use std::path::Path;

/// The magic bytes every `.npy` file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The largest header a reader accepts (NumPy itself refuses headers beyond 10 000 bytes when
/// reading untrusted files; a bigger one is damage, not data).
const MAX_HEADER: usize = 1 << 16;

/// What is wrong with a `.npy` file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NpyProblem {
    /// The file does not start with `\x93NUMPY`.
    #[error("expected a NumPy .npy file starting with the magic bytes \\x93NUMPY, found {found}")]
    BadMagic {
        /// The first bytes found, escaped.
        found: String,
    },
    /// The file ends before its header does.
    #[error("the file ends inside its header: expected at least {expected} bytes, found {found}")]
    TruncatedHeader {
        /// Bytes needed for the header.
        expected: usize,
        /// Bytes in the file.
        found: usize,
    },
    /// A format version other than 1.0, 2.0 or 3.0.
    #[error("unsupported .npy format version {major}.{minor}; expected 1.0, 2.0 or 3.0")]
    Version {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// The header is not the dictionary `{'descr': …, 'fortran_order': …, 'shape': (…)}`.
    #[error("bad header: {0}")]
    Header(String),
    /// A dtype this reader does not read.
    #[error("unsupported dtype '{0}'; expected one of f4, f8, i1, i2, i4, i8, u1, u2, u4, u8 or b1 (bool), little- or big-endian")]
    Dtype(String),
    /// An object array (pickled Python objects), which cannot be read safely.
    #[error("object arrays (dtype '{0}') hold pickled Python objects and are not read; save a numeric array (e.g. arr.astype('float64'))")]
    Object(String),
    /// The data after the header does not have the size the shape and dtype say.
    #[error(
        "shape {shape:?} of {dtype} needs {expected} data bytes after the header, found {found}"
    )]
    SizeMismatch {
        /// The array shape from the header.
        shape: Vec<usize>,
        /// The dtype from the header.
        dtype: String,
        /// Bytes the shape needs (`None` when the count overflows).
        expected: String,
        /// Bytes present.
        found: usize,
    },
    /// The array has a shape this use cannot take (e.g. 1 or 5 dimensions for features).
    #[error("{0}")]
    Shape(String),
    /// A value that is NaN or infinite.
    #[error("value {index} (row {row}) is {value}; expected finite numbers")]
    NotFinite {
        /// Flat index in C order.
        index: usize,
        /// 1-based row (first axis).
        row: usize,
        /// The value.
        value: f64,
    },
}

/// Element type of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyDtype {
    /// 32-bit float.
    F4,
    /// 64-bit float.
    F8,
    /// Signed integer of the given byte width (1, 2, 4 or 8).
    Int(usize),
    /// Unsigned integer of the given byte width (1, 2, 4 or 8).
    Uint(usize),
    /// Boolean (one byte).
    Bool,
}

impl NpyDtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            NpyDtype::F4 => 4,
            NpyDtype::F8 => 8,
            NpyDtype::Int(n) | NpyDtype::Uint(n) => n,
            NpyDtype::Bool => 1,
        }
    }

    /// Whether every value is an integer (labels may come from such arrays and from floats).
    pub fn is_integer(self) -> bool {
        !matches!(self, NpyDtype::F4 | NpyDtype::F8)
    }
}

/// An array read from a `.npy` file, its values in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// Element type in the file.
    pub dtype: NpyDtype,
    /// Whether the file stored the data in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The values, converted to `f64`, in C order.
    pub data: Vec<f64>,
}

fn problem(file: &str, p: NpyProblem) -> Error {
    Error::Npy {
        file: file.to_string(),
        problem: p,
    }
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<NpyArray> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_npy(&path.display().to_string(), &bytes)
}

/// Whether a path names a `.npy` file (by extension).
pub fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Parses the bytes of a `.npy` file; `file` names the source in errors.
pub fn parse_npy(file: &str, bytes: &[u8]) -> Result<NpyArray> {
    if bytes.len() < 8 || &bytes[..6] != MAGIC {
        let found: String = bytes
            .iter()
            .take(6)
            .flat_map(|b| std::ascii::escape_default(*b))
            .map(char::from)
            .collect();
        if bytes.len() < 8 && bytes.starts_with(&MAGIC[..bytes.len().min(6)]) {
            return Err(problem(
                file,
                NpyProblem::TruncatedHeader {
                    expected: 10,
                    found: bytes.len(),
                },
            ));
        }
        return Err(problem(
            file,
            NpyProblem::BadMagic {
                found: format!("'{found}'"),
            },
        ));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let len_bytes = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => return Err(problem(file, NpyProblem::Version { major, minor })),
    };
    let start = 8 + len_bytes;
    if bytes.len() < start {
        return Err(problem(
            file,
            NpyProblem::TruncatedHeader {
                expected: start,
                found: bytes.len(),
            },
        ));
    }
    let header_len = if len_bytes == 2 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as usize
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    };
    if header_len > MAX_HEADER {
        return Err(problem(
            file,
            NpyProblem::Header(format!(
                "a header of {header_len} bytes; expected at most {MAX_HEADER}"
            )),
        ));
    }
    let end = start + header_len;
    if bytes.len() < end {
        return Err(problem(
            file,
            NpyProblem::TruncatedHeader {
                expected: end,
                found: bytes.len(),
            },
        ));
    }
    let header = if major == 3 {
        std::str::from_utf8(&bytes[start..end]).map_err(|_| {
            problem(
                file,
                NpyProblem::Header("expected UTF-8 text in a version 3.0 header".into()),
            )
        })?
    } else {
        if let Some(b) = bytes[start..end].iter().find(|b| !b.is_ascii()) {
            return Err(problem(
                file,
                NpyProblem::Header(format!(
                    "expected ASCII text in a version {major}.0 header, found byte 0x{b:02x}"
                )),
            ));
        }
        std::str::from_utf8(&bytes[start..end]).unwrap_or_default()
    };
    let h = parse_header(header).map_err(|p| problem(file, p))?;
    let dtype = parse_dtype(&h.descr).map_err(|p| problem(file, p))?;
    let (dtype, big) = dtype;
    let data = &bytes[end..];
    let count = h.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let needed = count.and_then(|c| c.checked_mul(dtype.size()));
    if needed != Some(data.len()) {
        return Err(problem(
            file,
            NpyProblem::SizeMismatch {
                shape: h.shape.clone(),
                dtype: h.descr.clone(),
                expected: needed.map_or("more than 2^64".into(), |n| n.to_string()),
                found: data.len(),
            },
        ));
    }
    let values = decode(data, dtype, big);
    let values = if h.fortran_order && h.shape.len() > 1 {
        fortran_to_c(&values, &h.shape)
    } else {
        values
    };
    Ok(NpyArray {
        shape: h.shape,
        dtype,
        fortran_order: h.fortran_order,
        data: values,
    })
}

/// The three entries of a header.
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses the header dictionary: `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`
/// (keys in any order, quotes single or double, trailing commas and padding allowed).
fn parse_header(text: &str) -> std::result::Result<Header, NpyProblem> {
    let bad = |m: &str| NpyProblem::Header(m.to_string());
    let t = text.trim_end_matches(['\n', ' ', '\0']).trim();
    let inner = t
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .ok_or_else(|| bad("expected a Python dictionary in braces"))?;
    let mut p = Cursor { s: inner, i: 0 };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.skip_ws();
        if p.done() {
            break;
        }
        let key = p.string()?;
        p.skip_ws();
        p.expect(':')?;
        p.skip_ws();
        match key.as_str() {
            "descr" => {
                if p.peek() == Some('[') {
                    return Err(NpyProblem::Dtype(
                        "a structured dtype (a list of fields)".into(),
                    ));
                }
                descr = Some(p.string()?)
            }
            "fortran_order" => fortran = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => {
                return Err(NpyProblem::Header(format!(
                    "unexpected key '{other}'; expected descr, fortran_order and shape"
                )))
            }
        }
        p.skip_ws();
        if p.peek() == Some(',') {
            p.i += 1;
        } else {
            p.skip_ws();
            if !p.done() {
                return Err(bad("expected ',' between entries"));
            }
        }
    }
    Ok(Header {
        descr: descr.ok_or_else(|| bad("the key 'descr' is missing"))?,
        fortran_order: fortran.ok_or_else(|| bad("the key 'fortran_order' is missing"))?,
        shape: shape.ok_or_else(|| bad("the key 'shape' is missing"))?,
    })
}

/// A position in the header text.
struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.i..).unwrap_or("")
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    fn done(&self) -> bool {
        self.rest().is_empty()
    }
    fn skip_ws(&mut self) {
        let r = self.rest();
        self.i += r.len() - r.trim_start().len();
    }
    fn expect(&mut self, c: char) -> std::result::Result<(), NpyProblem> {
        if self.peek() == Some(c) {
            self.i += c.len_utf8();
            Ok(())
        } else {
            Err(NpyProblem::Header(format!(
                "expected '{c}' at '{}'",
                self.rest().chars().take(20).collect::<String>()
            )))
        }
    }
    fn string(&mut self) -> std::result::Result<String, NpyProblem> {
        let q = self
            .peek()
            .filter(|c| *c == '\'' || *c == '"')
            .ok_or_else(|| {
                NpyProblem::Header(format!(
                    "expected a quoted string at '{}'",
                    self.rest().chars().take(20).collect::<String>()
                ))
            })?;
        self.i += 1;
        let r = self.rest();
        let n = r
            .find(q)
            .ok_or_else(|| NpyProblem::Header("a string is not closed".into()))?;
        let v = r[..n].to_string();
        self.i += n + 1;
        Ok(v)
    }
    fn boolean(&mut self) -> std::result::Result<bool, NpyProblem> {
        for (word, v) in [("True", true), ("False", false)] {
            if self.rest().starts_with(word) {
                self.i += word.len();
                return Ok(v);
            }
        }
        Err(NpyProblem::Header(
            "expected True or False for 'fortran_order'".into(),
        ))
    }
    fn tuple(&mut self) -> std::result::Result<Vec<usize>, NpyProblem> {
        self.expect('(')?;
        let r = self.rest();
        let n = r
            .find(')')
            .ok_or_else(|| NpyProblem::Header("the shape tuple is not closed".into()))?;
        let body = &r[..n];
        self.i += n + 1;
        body.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.trim_end_matches('L').parse::<usize>().map_err(|_| {
                    NpyProblem::Header(format!(
                        "expected non-negative integers in the shape, found '{s}'"
                    ))
                })
            })
            .collect()
    }
}

/// The element type and whether it is big-endian.
fn parse_dtype(descr: &str) -> std::result::Result<(NpyDtype, bool), NpyProblem> {
    let unsupported = || NpyProblem::Dtype(descr.to_string());
    let (order, rest) = match descr.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &descr[1..]),
        _ => ('=', descr),
    };
    if rest.starts_with('O') {
        return Err(NpyProblem::Object(descr.to_string()));
    }
    let dtype = match rest {
        "f4" => NpyDtype::F4,
        "f8" => NpyDtype::F8,
        "i1" | "i2" | "i4" | "i8" => NpyDtype::Int(rest[1..].parse().map_err(|_| unsupported())?),
        "u1" | "u2" | "u4" | "u8" => NpyDtype::Uint(rest[1..].parse().map_err(|_| unsupported())?),
        "b1" | "?" => NpyDtype::Bool,
        _ => return Err(unsupported()),
    };
    Ok((dtype, order == '>'))
}

/// Decodes the data bytes (already checked to be a whole number of elements).
fn decode(data: &[u8], dtype: NpyDtype, big: bool) -> Vec<f64> {
    let n = dtype.size();
    data.chunks_exact(n)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..n].copy_from_slice(c);
            if big {
                b[..n].reverse();
            }
            match dtype {
                NpyDtype::F4 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
                NpyDtype::F8 => f64::from_le_bytes(b),
                NpyDtype::Bool => f64::from(u8::from(b[0] != 0)),
                NpyDtype::Uint(_) => u64::from_le_bytes(b) as f64,
                NpyDtype::Int(k) => {
                    // Sign-extend the k-byte little-endian integer.
                    let shift = 64 - 8 * k as u32;
                    ((i64::from_le_bytes(b) << shift) >> shift) as f64
                }
            }
        })
        .collect()
}

/// Reorders column-major values of `shape` into row-major order.
fn fortran_to_c(values: &[f64], shape: &[usize]) -> Vec<f64> {
    let k = shape.len();
    let mut fstride = vec![1usize; k];
    for j in 1..k {
        fstride[j] = fstride[j - 1] * shape[j - 1];
    }
    let mut idx = vec![0usize; k];
    let mut out = Vec::with_capacity(values.len());
    for _ in 0..values.len() {
        let off: usize = idx.iter().zip(&fstride).map(|(i, s)| i * s).sum();
        out.push(values[off]);
        for j in (0..k).rev() {
            idx[j] += 1;
            if idx[j] < shape[j] {
                break;
            }
            idx[j] = 0;
        }
    }
    out
}

/// Checks that every value is finite.
fn check_finite(file: &str, a: &NpyArray) -> Result<()> {
    if let Some(i) = a.data.iter().position(|v| !v.is_finite()) {
        let per_row = a.data.len() / a.shape.first().copied().unwrap_or(1).max(1);
        return Err(problem(
            file,
            NpyProblem::NotFinite {
                index: i,
                row: i / per_row.max(1) + 1,
                value: a.data[i],
            },
        ));
    }
    Ok(())
}

/// Features of an array `N×D`, `N×H×W` or `N×C×H×W` as (rows, channel-last values per row,
/// input shape).
fn image_rows(file: &str, a: &NpyArray) -> Result<(usize, Vec<f64>, Vec<usize>)> {
    let s = &a.shape;
    let (n, c, h, w) = match s.len() {
        2 => (s[0], 1, None, s[1]),
        3 => (s[0], 1, Some(s[1]), s[2]),
        4 => (s[0], s[1], Some(s[2]), s[3]),
        d => {
            return Err(problem(
                file,
                NpyProblem::Shape(format!(
                    "features of shape {s:?} ({d} dimensions); expected N×D, N×H×W or N×C×H×W"
                )),
            ))
        }
    };
    if n == 0 || c == 0 || w == 0 || h == Some(0) {
        return Err(problem(
            file,
            NpyProblem::Shape(format!(
                "features of shape {s:?} hold no values; expected at least one row and one feature"
            )),
        ));
    }
    check_finite(file, a)?;
    let hh = h.unwrap_or(1);
    let per = c * hh * w;
    let x = if c == 1 {
        a.data.clone()
    } else {
        // N×C×H×W (channel-first, as PyTorch stores images) → channel-last rows.
        let mut x = Vec::with_capacity(a.data.len());
        for r in 0..n {
            let img = &a.data[r * per..(r + 1) * per];
            for p in 0..hh * w {
                for ch in 0..c {
                    x.push(img[ch * hh * w + p]);
                }
            }
        }
        x
    };
    let shape = match h {
        Some(h) => vec![c, h, w],
        None => vec![c, w],
    };
    Ok((n, x, shape))
}

/// Names of the feature columns of an input shape: `pixel_i` for every value in channel-last
/// order (as the bundled digits CSV names its 64 pixels).
pub fn pixel_names(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("pixel_{i}")).collect()
}

/// Labels of an array of shape `N` or `N×1`.
fn label_values(file: &str, a: &NpyArray, rows: usize) -> Result<Vec<f64>> {
    let ok = match a.shape.as_slice() {
        [n] => *n == rows,
        [n, 1] => *n == rows,
        _ => false,
    };
    if !ok {
        return Err(problem(
            file,
            NpyProblem::Shape(format!(
                "labels of shape {:?}; expected ({rows},) or ({rows}, 1) to match the {rows} feature rows",
                a.shape
            )),
        ));
    }
    check_finite(file, a)?;
    Ok(a.data.clone())
}

/// A table from a features array and, optionally, labels (a second `.npy` of shape `N`, read
/// into a column named `target`). Features become `pixel_*` columns in channel-last order and
/// the table records their input shape.
pub fn npy_table(
    features: (&str, &NpyArray),
    labels: Option<(&str, &NpyArray)>,
    target: &str,
) -> Result<Table> {
    let (file, a) = features;
    let (n, x, shape) = image_rows(file, a)?;
    let per = x.len() / n;
    let mut names = pixel_names(per);
    let mut columns: Vec<Column> = (0..per)
        .map(|j| Column::Numeric((0..n).map(|r| x[r * per + j]).collect()))
        .collect();
    if let Some((lfile, l)) = labels {
        let y = label_values(lfile, l, n)?;
        if names.iter().any(|c| c == target) {
            return Err(Error::data(
                lfile,
                None,
                Some(target.to_string()),
                "the label column's name is also a pixel column's; choose another --target",
            ));
        }
        names.push(target.to_string());
        columns.push(Column::Numeric(y));
    }
    Ok(Table {
        source: file.to_string(),
        names,
        columns,
        lines: (1..=n).collect(),
        input_shape: Some(shape),
    })
}

/// Reads a features `.npy` and an optional labels `.npy` into a table (see [`npy_table`]).
pub fn read_npy_table(features: &Path, labels: Option<&Path>, target: &str) -> Result<Table> {
    let a = read_npy(features)?;
    let l = labels.map(read_npy).transpose()?;
    let lname = labels.map(|p| p.display().to_string()).unwrap_or_default();
    npy_table(
        (&features.display().to_string(), &a),
        l.as_ref().map(|l| (lname.as_str(), l)),
        target,
    )
}

/// A classification or regression dataset from a features `.npy` and a labels `.npy`, with its
/// input shape; the labels column is named `label`.
pub fn read_npy_dataset(features: &Path, labels: &Path) -> Result<super::Dataset> {
    let t = read_npy_table(features, Some(labels), "label")?;
    super::Dataset::from_table(&t, "label", None)
}

/// Checks an input shape (`[channels, height, width]` or `[channels, width]`, every entry
/// positive) against a number of feature columns; `source` names where the data came from.
pub fn check_input_shape(source: &str, shape: &[usize], features: usize) -> Result<()> {
    let product = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .unwrap_or(usize::MAX);
    if !(2..=3).contains(&shape.len()) || shape.contains(&0) {
        return Err(Error::data(
            source,
            None,
            None,
            format!(
                "input shape {shape:?}: expected [channels, height, width] or [channels, width], every entry positive"
            ),
        ));
    }
    if product != features {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        return Err(Error::data(
            source,
            None,
            None,
            format!(
                "input shape {} = {product} values per row, but there are {features} feature columns; the product must equal the number of feature columns",
                dims.join("×")
            ),
        ));
    }
    Ok(())
}
