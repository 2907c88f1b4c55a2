//! Shared pieces of the fuzz targets: what a table goes through after it is read (schema,
//! encoding, standardisation), and small fitted models made once per process.
//!
//! Every function here returns normally for any input: an `Err` from the library is the
//! expected answer to a bad input; a panic, abort, hang or runaway allocation is a bug.

use credence::config::Config;
use credence::data::{
    parse_csv, ConstantColumn, Dataset, MissingPolicy, ReadOptions, SchemaOptions, Standardizer,
    Table, UnknownLevel,
};
use credence::fit::{fit_table, FitOptions};
use credence::infer::Silent;
use credence::{FittedModel, Method, Predictive};
use std::sync::OnceLock;

/// The most cells a fuzzed table may have before the downstream steps are skipped (reading it
/// was the point; encoding a huge one only slows the fuzzer down).
const MAX_CELLS: usize = 20_000;

/// Runs a read table through what `credence fit` and `credence predict` do with it before any
/// network sees it: the schema (with the first and the last column as target, each missing-value
/// policy), the encoded dataset, the standardisation, and re-applying the schema.
pub fn exercise_table(table: &Table) {
    let _ = table.rows();
    if table.rows().saturating_mul(table.cols()) > MAX_CELLS || table.names.is_empty() {
        return;
    }
    let mut targets = vec![table.names[table.names.len() - 1].clone()];
    if table.names.len() > 1 {
        targets.push(table.names[0].clone());
    }
    for target in targets {
        let _ = Dataset::from_table(table, &target, None).map(|d| {
            let _ = d.check_not_constant();
            let _ = d.class_count();
            let _ = d.fingerprint();
        });
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
                let Ok((schema, enc)) = credence::data::Schema::fit(table, &opts) else {
                    continue;
                };
                let _ = schema.describe();
                let _ = enc.data.check_not_constant();
                for constant in [ConstantColumn::Keep, ConstantColumn::Error] {
                    if let Ok(s) = Standardizer::fit(&enc.data, classify != Some(true), constant) {
                        let _ = s.transform(&enc.data);
                    }
                }
                for unknown in [UnknownLevel::Error, UnknownLevel::Zero] {
                    let _ = schema.apply(table, true, false, unknown);
                    let _ = schema.apply(table, false, false, unknown);
                }
            }
        }
    }
}

/// The bundled table the fixture models are fitted on: a number, a category and a
/// regression target; `label` is the class target of the classifier.
pub const FIXTURE_CSV: &str = "x,colour,y,label
0.1,red,1.2,benign
0.4,blue,0.7,benign
-0.3,red,2.1,malignant
1.2,green,0.1,benign
0.8,blue,0.4,malignant
-1.1,green,2.9,malignant
0.0,red,1.5,benign
0.6,blue,0.2,benign
-0.7,green,2.4,malignant
1.5,red,-0.3,benign
0.3,blue,1.0,malignant
-0.2,green,1.8,benign
";

/// The fixture table.
pub fn fixture_table() -> Table {
    parse_csv("fixture.csv", FIXTURE_CSV, &ReadOptions::default())
        .unwrap_or_else(|e| panic!("the fixture table does not parse: {e}"))
}

/// A fixture model: how it was made and the model.
pub struct Fixture {
    /// Method name (for messages).
    pub method: Method,
    /// Whether it is the classifier (target `label`) or the regression (target `y`).
    pub classifier: bool,
    /// The fitted model.
    pub model: FittedModel,
    /// Its files: model.json and posterior.safetensors, as saved.
    pub files: [Vec<u8>; 2],
}

fn fit_fixture(method: Method, classifier: bool) -> Fixture {
    let table = fixture_table();
    let (target, drop) = if classifier {
        ("label", "y")
    } else {
        ("y", "label")
    };
    // Few epochs and members: the fixtures exist to be saved, not to be good.
    let inference = match method {
        Method::Ensemble => "[inference]\nmembers = 2\n",
        _ => "",
    };
    let text = format!(
        "[model]\nhidden = [3]\n[training]\nepochs = 30\nvalidation_fraction = 0.0\n{inference}"
    );
    let config = Config::parse("fixture.toml", &text)
        .unwrap_or_else(|e| panic!("the fixture config does not parse: {e}"));
    let schema = SchemaOptions {
        targets: vec![target.into()],
        drop: vec![drop.into()],
        ..SchemaOptions::default()
    };
    let opts = FitOptions {
        method,
        seed: 1,
        progress: &Silent,
        strict_columns: true,
    };
    let (model, _) = fit_table(&table, &schema, &ReadOptions::default(), &config, opts)
        .unwrap_or_else(|e| panic!("the fixture fit ({}) fails: {e}", method.name()));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary folder: {e}"));
    credence::artifact::save(dir.path(), &model)
        .unwrap_or_else(|e| panic!("saving the fixture fails: {e}"));
    let read = |f: &str| {
        std::fs::read(dir.path().join(f)).unwrap_or_else(|e| panic!("reading {f} back: {e}"))
    };
    let files = [
        read(credence::artifact::RECORD_FILE),
        read(credence::artifact::TENSORS_FILE),
    ];
    Fixture {
        method,
        classifier,
        model,
        files,
    }
}

/// Small models, fitted once per process: one per kind of saved posterior (draws, Laplace,
/// mean-field Gaussian, MC dropout), regression and classification. With
/// `CREDENCE_FUZZ_WRITE_SEEDS=DIR` in the environment they are also written to DIR as
/// `model_folder` inputs.
pub fn fixtures() -> &'static [Fixture] {
    static F: OnceLock<Vec<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        let f = vec![
            fit_fixture(Method::Map, false),
            fit_fixture(Method::Map, true),
            fit_fixture(Method::Laplace, false),
            fit_fixture(Method::Laplace, true),
            fit_fixture(Method::Vi, false),
            fit_fixture(Method::McDropout, true),
            fit_fixture(Method::Ensemble, false),
        ];
        if let Ok(dir) = std::env::var("CREDENCE_FUZZ_WRITE_SEEDS") {
            write_folder_seeds(std::path::Path::new(&dir), &f);
        }
        f
    })
}

/// Writes each fixture as a `model_folder` input (model.json's length in two bytes, model.json,
/// posterior.safetensors): how `fuzz/seeds/model_folder` was made.
fn write_folder_seeds(dir: &std::path::Path, fixtures: &[Fixture]) {
    for (i, f) in fixtures.iter().enumerate() {
        let Ok(n) = u16::try_from(f.files[0].len()) else {
            continue;
        };
        let mut bytes = n.to_le_bytes().to_vec();
        bytes.extend(&f.files[0]);
        bytes.extend(&f.files[1]);
        let kind = if f.classifier { "class" } else { "reg" };
        let name = format!("{i}-{}-{kind}", f.method.name());
        let _ = std::fs::write(dir.join(name), bytes);
    }
}

/// The classifier's predictive on the fixture table (for decisions and class priors).
pub fn fixture_class_predictive() -> &'static (Predictive, Vec<String>, Vec<f64>) {
    static P: OnceLock<(Predictive, Vec<String>, Vec<f64>)> = OnceLock::new();
    P.get_or_init(|| {
        let f = &fixtures()[1];
        let enc = f
            .model
            .record
            .encode(&fixture_table(), false, UnknownLevel::Error)
            .unwrap_or_else(|e| panic!("encoding the fixture: {e}"));
        let pred = f
            .model
            .predict(&enc.data, 0)
            .unwrap_or_else(|e| panic!("predicting the fixture: {e}"));
        let prevalence = f
            .model
            .record
            .training_prevalence()
            .map(|p| p.to_vec())
            .unwrap_or_else(|e| panic!("the fixture's prevalence: {e}"));
        (pred, f.model.record.class_names(), prevalence)
    })
}

/// The regression model's predictive on the fixture table (for decisions on a regression).
pub fn fixture_regression_predictive() -> &'static Predictive {
    static P: OnceLock<Predictive> = OnceLock::new();
    P.get_or_init(|| {
        let f = &fixtures()[0];
        let enc = f
            .model
            .record
            .encode(&fixture_table(), false, UnknownLevel::Error)
            .unwrap_or_else(|e| panic!("encoding the fixture: {e}"));
        f.model
            .predict(&enc.data, 0)
            .unwrap_or_else(|e| panic!("predicting the fixture: {e}"))
    })
}

/// Loads the model folder holding `record` and `tensors` and, when it loads, predicts with it
/// on the fixture table as `credence predict` would.
pub fn load_and_predict(record: &[u8], tensors: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    if std::fs::write(dir.path().join(credence::artifact::RECORD_FILE), record).is_err()
        || std::fs::write(dir.path().join(credence::artifact::TENSORS_FILE), tensors).is_err()
    {
        return;
    }
    let Ok(model) = credence::artifact::load(dir.path()) else {
        return;
    };
    let _ = model.record.class_names();
    let _ = model.record.class_prior_note(None);
    if let Some(s) = &model.record.schema {
        let _ = s.describe();
    }
    for unknown in [UnknownLevel::Error, UnknownLevel::Zero] {
        if let Ok(enc) = model.record.encode(&fixture_table(), false, unknown) {
            if let Ok(pred) = model.predict(&enc.data, 0) {
                if let Predictive::Regression(r) = &pred {
                    let _ = r.interval(0.9);
                }
            }
        }
    }
}
