//! The UCI regression benchmark folder format (Hernández-Lobato & Adams 2015 splits).

use super::{read_whitespace, Dataset, Table};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// A UCI benchmark dataset folder: data, feature/target indices and fixed splits.
#[derive(Debug, Clone)]
pub struct UciFolder {
    /// The folder.
    pub dir: PathBuf,
    /// Dataset name (the folder's name).
    pub name: String,
    /// The whole table.
    pub table: Table,
    /// Feature column indices.
    pub features: Vec<usize>,
    /// Target column index.
    pub target: usize,
    /// Number of splits available.
    pub n_splits: usize,
    /// Hidden width used by the protocol (from n_hidden.txt, default 50).
    pub n_hidden: usize,
}

fn read_indices(path: &Path, bound: usize) -> Result<Vec<usize>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let file = path.display().to_string();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        // Some files store indices as floats ("13.0").
        let v: f64 = t.parse().map_err(|_| {
            Error::data(
                &file,
                Some(i + 1),
                None,
                format!("expected a row or column index, found '{t}'"),
            )
        })?;
        if v < 0.0 || v.fract() != 0.0 || v as usize >= bound {
            return Err(Error::data(
                &file,
                Some(i + 1),
                None,
                format!("index {t} is out of range (expected 0..{bound})"),
            ));
        }
        out.push(v as usize);
    }
    if out.is_empty() {
        return Err(Error::data(&file, None, None, "no indices in the file"));
    }
    Ok(out)
}

impl UciFolder {
    /// Opens a dataset folder in the shared UCI format.
    pub fn open(dir: &Path) -> Result<Self> {
        let table = read_whitespace(&dir.join("data.txt"), &super::ReadOptions::default())?;
        let features = read_indices(&dir.join("index_features.txt"), table.cols())?;
        let target = read_indices(&dir.join("index_target.txt"), table.cols())?[0];
        let mut n_splits = 0;
        while dir.join(format!("index_train_{n_splits}.txt")).exists() {
            n_splits += 1;
        }
        if n_splits == 0 {
            return Err(Error::data(
                dir.display().to_string(),
                None,
                None,
                "no split files (expected index_train_0.txt, index_test_0.txt, ...)",
            ));
        }
        let n_hidden = std::fs::read_to_string(dir.join("n_hidden.txt"))
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .map(|v| v as usize)
            .unwrap_or(50);
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Ok(UciFolder {
            dir: dir.to_path_buf(),
            name,
            table,
            features,
            target,
            n_splits,
            n_hidden,
        })
    }

    /// Train and test datasets of split `k`.
    pub fn split(&self, k: usize) -> Result<(Dataset, Dataset)> {
        let n = self.table.rows();
        let train = read_indices(&self.dir.join(format!("index_train_{k}.txt")), n)?;
        let test = read_indices(&self.dir.join(format!("index_test_{k}.txt")), n)?;
        Ok((
            Dataset::from_indices(&self.table, &self.features, self.target, Some(&train))?,
            Dataset::from_indices(&self.table, &self.features, self.target, Some(&test))?,
        ))
    }
}
