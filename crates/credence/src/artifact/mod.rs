//! Saving and loading fitted models: `posterior.safetensors` (parameters, f64) and
//! `model.json` (the fit record), written into a hidden sibling folder that is then swapped into
//! place whole (see [`folder`]).

pub mod folder;
pub use folder::{abandon, replace_dir, OutLock};

use crate::error::{Error, Result};
use crate::fit::{FitRecord, FittedModel};
use crate::infer::{posterior_from_tensors, NamedTensor};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// File name of the record.
pub const RECORD_FILE: &str = "model.json";
/// File name of the tensors.
pub const TENSORS_FILE: &str = "posterior.safetensors";

fn art_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Artifact {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Saves a fitted model as the folder `dir`, replacing a model already there whole: readers see
/// the old model or the new one, never a mix. `dir` must be absent, empty or a model folder.
pub fn save(dir: &Path, model: &FittedModel) -> Result<()> {
    replace_dir(dir, |staging| write_model(staging, model))
}

/// Writes the model's two files into the existing folder `dir`.
fn write_model(dir: &Path, model: &FittedModel) -> Result<()> {
    let tensors = model.posterior.tensors();
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| t.data.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, b)| {
            TensorView::new(Dtype::F64, t.shape.clone(), b)
                .map(|v| (t.name.clone(), v))
                .map_err(|e| art_err(dir, format!("tensor {}: {e}", t.name)))
        })
        .collect::<Result<_>>()?;
    // One metadata entry: safetensors writes its metadata map in the map's (random) iteration
    // order, so a second key would make two saves of the same model differ as files. The
    // version is in model.json (`crate_version`).
    let mut meta = std::collections::HashMap::new();
    meta.insert(
        "posterior_kind".to_string(),
        model.posterior.kind().to_string(),
    );
    let st = safetensors::serialize(views, &Some(meta)).map_err(|e| art_err(dir, e.to_string()))?;
    write_atomic(&dir.join(TENSORS_FILE), &st)?;
    let json = serde_json::to_vec_pretty(&model.record).map_err(|e| art_err(dir, e.to_string()))?;
    write_atomic(&dir.join(RECORD_FILE), &json)
}

/// The most units a saved network's layer may have: a wider one is a damaged record (its
/// parameters alone would need terabytes).
const MAX_WIDTH: usize = 1 << 32;

/// Checks that a fit record read from a file describes a network that can predict: at least
/// an input and an output layer, no empty layer, a parameter count that fits in memory
/// addresses, outputs matching the likelihood, and standardisation and schema of the
/// network's widths.
fn check_record(r: &FitRecord) -> std::result::Result<(), String> {
    let damaged = |m: String| format!("{m}; is model.json damaged?");
    if let crate::nn::Network::Mlp(mlp) = &r.model.net {
        let sizes = &mlp.sizes;
        if sizes.len() < 2 || sizes.iter().any(|&w| w == 0 || w > MAX_WIDTH) {
            return Err(damaged(format!(
                "the network's layer widths {sizes:?} are not a network (at least an input and an output layer, each 1 to {MAX_WIDTH} wide)"
            )));
        }
        let dim = sizes.windows(2).try_fold(0usize, |acc, w| {
            w[0].checked_add(1)
                .and_then(|a| a.checked_mul(w[1]))
                .and_then(|n| acc.checked_add(n))
        });
        if dim.is_none() {
            return Err(damaged(format!(
                "the network's layer widths {sizes:?} give more parameters than this machine can address"
            )));
        }
    }
    let per_target = r.model.likelihood.outputs().max(1);
    let outputs = r.model.net.outputs();
    if !outputs.is_multiple_of(per_target) {
        return Err(damaged(format!(
            "the network has {outputs} outputs, not a multiple of the {per_target} its likelihood needs per target"
        )));
    }
    let targets = outputs / per_target;
    let classes = r.model.likelihood.classes();
    let task_classes = match r.task {
        crate::data::Task::Classification { classes } => classes,
        crate::data::Task::Regression => 0,
    };
    if task_classes != classes {
        return Err(damaged(format!(
            "the record's task has {task_classes} classes, its likelihood {classes}"
        )));
    }
    let s = &r.standardizer;
    let inputs = r.model.net.inputs();
    if s.x_mean.len() != inputs || s.x_std.len() != inputs {
        return Err(damaged(format!(
            "the standardisation covers {} and {} features, the network has {inputs} inputs",
            s.x_mean.len(),
            s.x_std.len()
        )));
    }
    let y_ok = if targets == 1 {
        s.y_means.len() <= 1 && s.y_stds.len() <= 1
    } else {
        s.y_means.len() == targets && s.y_stds.len() == targets
    };
    if !y_ok || s.y_means.len() != s.y_stds.len() {
        return Err(damaged(format!(
            "the standardisation covers {} target(s), the network has {targets}",
            s.y_means.len().max(1)
        )));
    }
    if let Some(schema) = &r.schema {
        let encoded = schema.encoded_names().len();
        if encoded != inputs {
            return Err(damaged(format!(
                "the schema encodes {encoded} columns, the network has {inputs} inputs"
            )));
        }
        if let Some(names) = schema.class_names() {
            if names.len() != classes {
                return Err(damaged(format!(
                    "the schema names {} classes, the likelihood has {classes}",
                    names.len()
                )));
            }
        }
    }
    Ok(())
}

/// Loads a fitted model from `dir`, checking version and shapes.
pub fn load(dir: &Path) -> Result<FittedModel> {
    let rec_path = dir.join(RECORD_FILE);
    if !rec_path.exists() {
        return Err(art_err(
            dir,
            format!("no {RECORD_FILE}: is this a folder written by `credence fit`?"),
        ));
    }
    let text = std::fs::read(&rec_path).map_err(|e| Error::io(&rec_path, e))?;
    let record: FitRecord = serde_json::from_slice(&text)
        .map_err(|e| art_err(&rec_path, format!("cannot read the fit record: {e}")))?;
    let ours = env!("CARGO_PKG_VERSION");
    let major_minor = |v: &str| v.split('.').take(2).collect::<Vec<_>>().join(".");
    if major_minor(&record.crate_version) != major_minor(ours) {
        return Err(art_err(
            dir,
            format!(
                "written by Credence {}, this is {ours}; refit the model with this version",
                record.crate_version
            ),
        ));
    }
    check_record(&record).map_err(|m| art_err(&rec_path, m))?;
    let t_path = dir.join(TENSORS_FILE);
    let bytes = std::fs::read(&t_path).map_err(|e| Error::io(&t_path, e))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| art_err(&t_path, e.to_string()))?;
    let mut tensors = BTreeMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F64 {
            return Err(art_err(
                &t_path,
                format!("tensor {name} is {:?}, expected F64", view.dtype()),
            ));
        }
        let data: Vec<f64> = view
            .data()
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect();
        tensors.insert(
            name.clone(),
            NamedTensor {
                name,
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    let posterior = posterior_from_tensors(&record.posterior_kind, &tensors)
        .map_err(|e| art_err(&t_path, e.to_string()))?;
    let dim = record.model.dim();
    let c = posterior.center();
    if c.len() != dim {
        return Err(art_err(
            &t_path,
            format!(
                "parameters have length {}, but the recorded network needs {dim}",
                c.len()
            ),
        ));
    }
    Ok(FittedModel { record, posterior })
}
