//! Uncertainty under distribution shift (Ovadia et al. 2019): fit on a seeded stratified
//! split of an image dataset with some classes held out, then score the test split rotated by
//! growing angles (accuracy, NLL, Brier, ECE) and the held-out classes as out-of-distribution
//! inputs (AUROC of predictive entropy and of mutual information).
//!
//! One fit per method and network serves both parts: the rotations are scored on the
//! in-distribution test rows, the OOD detection on every row of the held-out classes.

use crate::config::{Config, LikelihoodConfig};
use crate::data::image::rotate_dataset;
use crate::data::{stratified_split, Dataset};
use crate::error::{Error, Result};
use crate::eval::{classification_metrics, ood_metrics};
use crate::fit::{fit, FitOptions};
use crate::infer::{Method, Progress};
use crate::predict::Predictive;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The rotation angles of the protocol, in degrees.
pub const DEFAULT_ANGLES: [f64; 6] = [0.0, 15.0, 30.0, 45.0, 60.0, 90.0];

/// The methods of the benchmark, by name, in table order.
pub const DEFAULT_METHODS: [&str; 7] = [
    "mle",
    "map",
    "ensemble",
    "laplace-ll",
    "laplace-kfac",
    "mc-dropout",
    "vi",
];

/// The networks the benchmark can fit.
pub const NETWORKS: [&str; 2] = ["mlp", "cnn"];

/// A method of the benchmark: an inference method and the `[inference]` settings that make
/// the variant (Laplace last-layer or KFAC over all weights).
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftMethod {
    /// Name in tables (`laplace-ll`, `laplace-kfac`, or the method's own name).
    pub name: String,
    /// The inference method.
    pub method: Method,
    /// Settings written into the config's `[inference]` table.
    pub inference: Vec<(String, String)>,
}

impl ShiftMethod {
    /// Parses a benchmark method: `laplace-ll` (last layer, full Hessian), `laplace-kfac`
    /// (all weights, KFAC), or any inference method's name at its defaults.
    pub fn parse(name: &str) -> Result<Self> {
        let set = |k: &str, v: &str| (k.to_string(), v.to_string());
        let (method, inference) = match name {
            "laplace-ll" => (
                Method::Laplace,
                vec![set("subset", "last-layer"), set("hessian", "full")],
            ),
            "laplace-kfac" => (
                Method::Laplace,
                vec![set("subset", "all"), set("hessian", "kfac")],
            ),
            other => (
                Method::parse(other)
                    .map_err(|e| Error::Invalid(format!("{e}, or laplace-ll, laplace-kfac")))?,
                Vec::new(),
            ),
        };
        Ok(ShiftMethod {
            name: name.to_string(),
            method,
            inference,
        })
    }

    /// Whether the method has a distribution over weights (so mutual information means
    /// something); MLE and MAP are single networks.
    pub fn is_bayesian(&self) -> bool {
        !matches!(self.method, Method::Mle | Method::Map)
    }
}

/// Settings of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftOptions {
    /// Rotation angles in degrees.
    pub angles: Vec<f64>,
    /// Share of the in-distribution rows held out for testing (stratified by class).
    pub test_fraction: f64,
    /// Classes with a label ≥ this are out of distribution (not trained on); `None` trains on
    /// every class and skips the OOD part.
    pub ood_from: Option<usize>,
    /// Seed of the split, the fits and the predictions.
    pub seed: u64,
}

impl Default for ShiftOptions {
    fn default() -> Self {
        ShiftOptions {
            angles: DEFAULT_ANGLES.to_vec(),
            test_fraction: 0.3,
            ood_from: Some(8),
            seed: 0,
        }
    }
}

/// Test metrics at one rotation angle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RotationScore {
    /// Angle in degrees.
    pub degrees: f64,
    /// Accuracy.
    pub accuracy: f64,
    /// Mean negative log-likelihood of the label.
    pub nll: f64,
    /// Brier score.
    pub brier: f64,
    /// Expected calibration error (15 bins).
    pub ece: f64,
}

/// What one method on one network scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftResult {
    /// Method name (`laplace-ll`, …).
    pub method: String,
    /// Network name (`mlp`, …).
    pub network: String,
    /// Training rows.
    pub train_rows: usize,
    /// In-distribution test rows.
    pub test_rows: usize,
    /// One entry per angle.
    pub rotations: Vec<RotationScore>,
    /// Held-out rows scored as out-of-distribution.
    pub ood_rows: usize,
    /// AUROC of predictive entropy (test rows against held-out classes).
    pub auroc_entropy: Option<f64>,
    /// AUROC of mutual information (methods with a weight distribution only).
    pub auroc_mi: Option<f64>,
    /// Seconds for the fit and every prediction.
    pub seconds: f64,
}

/// Sets up `config` for a network: `mlp` keeps the config's `[model]` (hidden layers,
/// activation). A new network is one more arm here.
pub fn configure_network(network: &str, config: &mut Config, input_shape: &[usize]) -> Result<()> {
    match network {
        "mlp" => {
            config.model.layers = None;
            config.model.input_shape = None;
            Ok(())
        }
        // Two 3×3 convolutions (same padding) with 2×2 max pooling, then a dense layer: LeNet's
        // pattern at the size of the bundled 8×8 digits.
        "cnn" => {
            let layers: Vec<crate::nn::LayerSpec> = serde_json::from_str(CNN_LAYERS)
                .map_err(|e| Error::Invalid(format!("the benchmark's CNN layers: {e}")))?;
            config.model.layers = Some(layers);
            config.model.input_shape = Some(input_shape.to_vec());
            Ok(())
        }
        other => Err(Error::Invalid(format!(
            "unknown network '{other}'; expected one of: {}",
            NETWORKS.join(", ")
        ))),
    }
}

/// The benchmark's CNN, as a config's `[model] layers` would write it (in JSON).
pub const CNN_LAYERS: &str = r#"[{"conv2d": {"out": 16, "kernel": 3, "padding": 1}}, {"pool": "max2"},
 {"conv2d": {"out": 32, "kernel": 3, "padding": 1}}, {"pool": "max2"}, {"dense": 64}]"#;

/// The training rows, in-distribution test rows and out-of-distribution rows of a run.
pub fn shift_split(data: &Dataset, opts: &ShiftOptions) -> Result<(Dataset, Dataset, Dataset)> {
    if !(0.0 < opts.test_fraction && opts.test_fraction < 1.0) {
        return Err(Error::Invalid(format!(
            "the test fraction must be in (0, 1), found {}",
            opts.test_fraction
        )));
    }
    data.class_count()?;
    let cut = opts.ood_from.unwrap_or(usize::MAX);
    let (inside, outside): (Vec<usize>, Vec<usize>) =
        (0..data.rows).partition(|&i| (data.y[i] as usize) < cut);
    if opts.ood_from.is_some() && outside.is_empty() {
        return Err(Error::Invalid(format!(
            "no rows have a label ≥ {cut}, so there is nothing out of distribution"
        )));
    }
    let din = data.subset(&inside);
    let (tr, te) = stratified_split(&din.y, opts.test_fraction, opts.seed);
    Ok((din.subset(&tr), din.subset(&te), data.subset(&outside)))
}

/// Fits one method on one network and scores it under every rotation and on the held-out
/// classes. `data` needs an input shape `[channels, height, width]`.
pub fn run_shift(
    data: &Dataset,
    method: &ShiftMethod,
    network: &str,
    config: &Config,
    opts: &ShiftOptions,
    progress: &dyn Progress,
) -> Result<ShiftResult> {
    let shape = data.input_shape.clone().unwrap_or_default();
    if shape.len() != 3 {
        return Err(Error::data(
            &data.source,
            None,
            None,
            format!(
                "the shift benchmark rotates images: expected an input shape [channels, height, width], found {:?}",
                data.input_shape
            ),
        ));
    }
    let (train, test, ood) = shift_split(data, opts)?;
    let mut cfg = config.clone();
    configure_network(network, &mut cfg, &shape)?;
    cfg.model.likelihood = Some(LikelihoodConfig::Categorical { classes: 0 });
    for (k, v) in &method.inference {
        cfg.inference
            .insert(k.clone(), toml::Value::String(v.clone()));
    }
    let t0 = Instant::now();
    let model = fit(
        &train,
        &cfg,
        FitOptions {
            method: method.method,
            seed: opts.seed,
            progress,
            strict_columns: false,
        },
    )?;
    let mut rotations = Vec::with_capacity(opts.angles.len());
    let mut at_zero = None;
    for (i, &deg) in opts.angles.iter().enumerate() {
        let rotated = rotate_dataset(&test, deg)?;
        let p = model.predict(&rotated, opts.seed.wrapping_add(i as u64))?;
        let Predictive::Classification(cp) = &p else {
            return Err(Error::Invalid(
                "expected a classification predictive".into(),
            ));
        };
        let m = classification_metrics(cp, &rotated.y)?;
        rotations.push(RotationScore {
            degrees: deg,
            accuracy: m.accuracy,
            nll: m.nll,
            brier: m.brier,
            ece: m.ece,
        });
        if deg == 0.0 {
            at_zero = Some(p);
        }
    }
    let (mut auroc_entropy, mut auroc_mi) = (None, None);
    if opts.ood_from.is_some() {
        let inside = match at_zero {
            Some(p) => p,
            None => model.predict(&test, opts.seed)?,
        };
        let outside = model.predict(&ood, opts.seed ^ 0x00d)?;
        let o = ood_metrics(&inside, &outside)?;
        let find = |s: &str| o.scores.iter().find(|x| x.score == s).map(|x| x.auroc);
        auroc_entropy = find("entropy");
        if method.is_bayesian() {
            auroc_mi = find("mutual_information");
        }
    }
    Ok(ShiftResult {
        method: method.name.clone(),
        network: network.to_string(),
        train_rows: train.rows,
        test_rows: test.rows,
        rotations,
        ood_rows: ood.rows,
        auroc_entropy,
        auroc_mi,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// The Bayesian methods (all but MLE and MAP) whose ECE is below MLE's at every angle at or
/// above `from_degrees`, on the same network (empty when MLE was not run).
pub fn below_mle_ece(results: &[ShiftResult], network: &str, from_degrees: f64) -> Vec<String> {
    let of = |r: &ShiftResult| r.network == network;
    let Some(mle) = results.iter().find(|r| of(r) && r.method == "mle") else {
        return Vec::new();
    };
    results
        .iter()
        .filter(|r| of(r) && !matches!(r.method.as_str(), "mle" | "map"))
        .filter(|b| {
            mle.rotations
                .iter()
                .filter(|m| m.degrees >= from_degrees)
                .all(|m| {
                    b.rotations
                        .iter()
                        .find(|r| r.degrees == m.degrees)
                        .is_some_and(|r| r.ece < m.ece)
                })
        })
        .map(|r| r.method.clone())
        .collect()
}

/// Two panels, accuracy and ECE against the rotation angle, one line per method (and network
/// when there are several).
pub fn shift_plots(results: &[ShiftResult]) -> Vec<crate::plot::LinePlot> {
    use crate::plot::{LinePlot, Series};
    let several = results
        .iter()
        .any(|r| results.first().is_some_and(|f| f.network != r.network));
    let panel = |title: &str, y: &str, f: fn(&RotationScore) -> f64| LinePlot {
        title: title.to_string(),
        x_label: "rotation (degrees)".into(),
        y_label: y.to_string(),
        series: results
            .iter()
            .map(|r| {
                let name = if several {
                    format!("{} ({})", r.method, r.network)
                } else {
                    r.method.clone()
                };
                Series::line(
                    name,
                    r.rotations.iter().map(|s| (s.degrees, f(s))).collect(),
                )
            })
            .collect(),
    };
    vec![
        panel("Accuracy under rotation", "accuracy", |s| s.accuracy),
        panel("Calibration under rotation", "ECE", |s| s.ece),
    ]
}
