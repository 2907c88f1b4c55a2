//! Inputs that crashed, hung or over-allocated a reader (found by the fuzz targets in `fuzz/`
//! or while writing them), each now refused with an error naming what is wrong. Committed
//! inputs live in `tests/data/fuzz/<reader>/`; damaged model folders are made here from a
//! small real fit. See docs/RELIABILITY.md, "Fuzzed readers".

use credence::artifact::{load, save, RECORD_FILE, TENSORS_FILE};
use credence::config::Config;
use credence::data::{
    parse_csv, parse_whitespace, ConstantColumn, MissingPolicy, ReadOptions, Schema, SchemaOptions,
    Standardizer, Table, UnknownLevel,
};
use credence::fit::{fit_table, FitOptions};
use credence::infer::Silent;
use credence::{FittedModel, Method};
use safetensors::tensor::{Dtype, TensorView};
use std::path::{Path, PathBuf};

const TABLE: &str = "x,colour,y,label
0.1,red,1.2,benign
0.4,blue,0.7,benign
-0.3,red,2.1,malignant
1.2,green,0.1,benign
0.8,blue,0.4,malignant
-1.1,green,2.9,malignant
0.0,red,1.5,benign
0.6,blue,0.2,benign
";

fn table() -> Table {
    parse_csv("t.csv", TABLE, &ReadOptions::default()).unwrap()
}

fn fitted(method: Method, hessian: Option<&str>) -> FittedModel {
    let inference = hessian.map_or(String::new(), |h| {
        format!("[inference]\nhessian = \"{h}\"\n")
    });
    let config = Config::parse(
        "c.toml",
        &format!("[model]\nhidden = [3]\n[training]\nepochs = 20\n{inference}"),
    )
    .unwrap();
    let schema = SchemaOptions {
        targets: vec!["y".into()],
        drop: vec!["label".into()],
        ..SchemaOptions::default()
    };
    let opts = FitOptions {
        method,
        seed: 1,
        progress: &Silent,
        strict_columns: true,
    };
    fit_table(&table(), &schema, &ReadOptions::default(), &config, opts)
        .unwrap()
        .0
}

/// A saved model's record (as JSON) and tensors (name, shape, values).
struct Saved {
    record: serde_json::Value,
    tensors: Vec<(String, Vec<usize>, Vec<f64>)>,
}

fn saved(model: &FittedModel) -> Saved {
    let dir = tempfile::tempdir().unwrap();
    save(dir.path(), model).unwrap();
    let record =
        serde_json::from_slice(&std::fs::read(dir.path().join(RECORD_FILE)).unwrap()).unwrap();
    let bytes = std::fs::read(dir.path().join(TENSORS_FILE)).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let tensors = st
        .tensors()
        .into_iter()
        .map(|(name, v)| {
            let data = v
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect();
            (name, v.shape().to_vec(), data)
        })
        .collect();
    Saved { record, tensors }
}

impl Saved {
    fn tensor(&mut self, name: &str) -> &mut (String, Vec<usize>, Vec<f64>) {
        let names: Vec<String> = self.tensors.iter().map(|t| t.0.clone()).collect();
        self.tensors
            .iter_mut()
            .find(|t| t.0 == name)
            .unwrap_or_else(|| panic!("no tensor {name} in {names:?}"))
    }

    /// Writes the folder (tensors with whatever shape they claim) and loads it.
    fn load(&self) -> credence::Result<FittedModel> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(RECORD_FILE),
            serde_json::to_vec(&self.record).unwrap(),
        )
        .unwrap();
        let bytes: Vec<Vec<u8>> = self
            .tensors
            .iter()
            .map(|t| t.2.iter().flat_map(|v| v.to_le_bytes()).collect())
            .collect();
        let views: Vec<(String, TensorView<'_>)> = self
            .tensors
            .iter()
            .zip(&bytes)
            .map(|(t, b)| {
                (
                    t.0.clone(),
                    TensorView::new(Dtype::F64, t.1.clone(), b).unwrap(),
                )
            })
            .collect();
        std::fs::write(
            dir.path().join(TENSORS_FILE),
            safetensors::serialize(views, &None).unwrap(),
        )
        .unwrap();
        let model = load(dir.path())?;
        // A folder that loads must also predict without panicking.
        let enc = model
            .record
            .encode(&table(), false, UnknownLevel::Zero)
            .unwrap();
        model.predict(&enc.data, 0)?;
        Ok(model)
    }
}

fn refused(s: &Saved, expect: &[&str]) {
    let e = match s.load() {
        Ok(_) => panic!("a damaged model must be refused"),
        Err(e) => e.to_string(),
    };
    for x in expect {
        assert!(e.contains(x), "expected '{x}' in: {e}");
    }
}

#[test]
fn a_draws_tensor_with_an_empty_dimension_is_refused() {
    // Before: shape [1, 0] with no values passed the check and `chunks(0)` panicked.
    let mut s = saved(&fitted(Method::Map, None));
    let (_, shape, data) = s.tensor("draws");
    *shape = vec![1, 0];
    data.clear();
    refused(&s, &["'draws' tensor has a bad shape [1, 0]"]);
}

#[test]
fn a_huge_sample_count_in_a_saved_model_is_refused() {
    // Before: samples = 1e300 became usize::MAX predictive samples (a hang, then an abort).
    let mut s = saved(&fitted(Method::Vi, None));
    s.tensor("samples").2[0] = 1e300;
    refused(&s, &["'samples' in the artifact is 1e300", "whole number"]);
    let mut s = saved(&fitted(Method::Laplace, None));
    s.tensor("laplace.meta").2[2] = 1e300;
    refused(&s, &["laplace.meta[2] (samples)"]);
}

#[test]
fn damaged_laplace_curvature_is_refused() {
    // Before: a K-FAC header that is not a multiple of 4 indexed past its last chunk, and a
    // diagonal variance shorter than the subset indexed past its end when predicting.
    let mut s = saved(&fitted(Method::Laplace, Some("kfac")));
    s.tensor("laplace.kfac").2.push(0.0);
    s.tensor("laplace.kfac").1 = vec![s.tensor("laplace.kfac").2.len()];
    refused(&s, &["'laplace.kfac' has a bad shape"]);
    let mut s = saved(&fitted(Method::Laplace, Some("kfac")));
    s.tensor("laplace.kfac.0.qa").2.pop();
    let n = s.tensor("laplace.kfac.0.qa").2.len();
    s.tensor("laplace.kfac.0.qa").1 = vec![n];
    refused(&s, &["'laplace.kfac.0' has a bad shape"]);
    let mut s = saved(&fitted(Method::Laplace, Some("diag")));
    s.tensor("laplace.var").2.truncate(3);
    s.tensor("laplace.var").1 = vec![3];
    refused(&s, &["'laplace.var' has a bad shape"]);
}

#[test]
fn a_record_that_is_not_a_network_is_refused() {
    // Before: `sizes = []` passed (a posterior of length 0 matched dim 0) and predicting
    // indexed sizes[0]; a width of 2^62 overflowed the parameter count.
    let base = saved(&fitted(Method::Vi, None));
    for sizes in [
        serde_json::json!([]),
        serde_json::json!([2, 0, 1]),
        serde_json::json!([4611686018427387904u64, 4, 1]),
    ] {
        let mut s = Saved {
            record: base.record.clone(),
            tensors: base.tensors.clone(),
        };
        s.record["model"]["mlp"]["sizes"] = sizes.clone();
        refused(&s, &["layer widths", "model.json damaged"]);
    }
    let mut s = Saved {
        record: base.record.clone(),
        tensors: base.tensors.clone(),
    };
    s.record["standardizer"]["x_mean"] = serde_json::json!([0.0]);
    refused(&s, &["standardisation covers 1 and"]);
    let mut s = Saved {
        record: base.record.clone(),
        tensors: base.tensors.clone(),
    };
    // A regression record claiming a quintillion classes (class names would be allocated).
    s.record["task"] =
        serde_json::json!({"kind": "classification", "classes": 1_000_000_000_000_000_000u64});
    refused(
        &s,
        &["task has 1000000000000000000 classes, its likelihood 0"],
    );
}

/// What the table readers' fuzz targets do after reading (see `fuzz/src/lib.rs`).
fn exercise(table: &Table) {
    let Some(target) = table.names.last().cloned() else {
        return;
    };
    for missing in [
        MissingPolicy::Error,
        MissingPolicy::Drop,
        MissingPolicy::Impute,
    ] {
        for classify in [None, Some(true), Some(false)] {
            let opts = SchemaOptions {
                targets: vec![target.clone()],
                missing,
                classify,
                ..SchemaOptions::default()
            };
            if let Ok((schema, enc)) = Schema::fit(table, &opts) {
                if let Ok(s) =
                    Standardizer::fit(&enc.data, classify != Some(true), ConstantColumn::Error)
                {
                    let _ = s.transform(&enc.data);
                }
                let _ = schema.apply(table, true, false, UnknownLevel::Zero);
            }
        }
    }
}

fn inputs(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(kind);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_class_label_of_1e18_is_refused_not_allocated() {
    // Before: a numeric class target with the label 1e18 asked for 1e18 class names.
    let t = parse_csv("t.csv", "x,y\n1,0\n2,1\n3,1e18\n", &ReadOptions::default()).unwrap();
    let opts = SchemaOptions {
        targets: vec!["y".into()],
        classify: Some(true),
        ..SchemaOptions::default()
    };
    let e = Schema::fit(&t, &opts).unwrap_err().to_string();
    assert!(
        e.contains("line 4") && e.contains("class label 1000000000000000000"),
        "{e}"
    );
}

#[test]
fn committed_fuzz_inputs_are_read_without_panicking() {
    let opts = ReadOptions::default();
    for p in inputs("csv") {
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        if let Ok(t) = parse_csv("fuzz.csv", &text, &opts) {
            exercise(&t);
        }
    }
    for p in inputs("whitespace") {
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        if let Ok(t) = parse_whitespace("fuzz.txt", &text, &opts) {
            exercise(&t);
        }
    }
    for p in inputs("parquet") {
        if let Ok(t) = credence::data::parquet::read_parquet(&p, &opts) {
            exercise(&t);
        }
    }
    for p in inputs("config") {
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        let _ = Config::parse("fuzz.toml", &text);
        if let Ok(m) = credence::conjugate::ModelFile::parse("fuzz.toml", &text) {
            let _ = m.report();
        }
    }
    for p in inputs("model") {
        // Each a damaged model folder: it loads with an error, or loads and predicts.
        if let Ok(model) = load(&p) {
            if let Ok(enc) = model.record.encode(&table(), false, UnknownLevel::Zero) {
                let _ = model.predict(&enc.data, 0);
            }
        }
    }
}

/// A Parquet footer claiming a column chunk at a negative offset made the parquet crate panic
/// ("column start and length should not be negative"); found by the `parquet` fuzz target.
#[test]
fn a_parquet_chunk_outside_the_file_is_an_error() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz/parquet/negative-range.parquet");
    let err = match credence::data::parquet::read_parquet(&path, &ReadOptions::default()) {
        Ok(_) => panic!("a damaged file must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("negative-range.parquet"), "{err}");
    assert!(err.contains("damaged") || err.contains("Parquet"), "{err}");
}

/// A damaged BYTE_STREAM_SPLIT page made the parquet crate's decoder index out of bounds (a
/// panic inside that crate, found by a 10-minute `parquet` fuzz run): the decode is fenced and
/// the page is reported as damage, naming the file, with nothing printed by the panic hook.
#[test]
fn a_parquet_page_that_breaks_the_decoder_is_an_error() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz/parquet/byte-stream-split-page.parquet");
    let err = match credence::data::parquet::read_parquet(&path, &ReadOptions::default()) {
        Ok(_) => panic!("a damaged file must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("byte-stream-split-page.parquet"), "{err}");
    assert!(err.contains("damaged"), "{err}");
}
