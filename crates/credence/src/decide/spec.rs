//! The decision file (TOML): a value-provenance, and either classification costs (one matrix,
//! or several weighted criteria) or a regression loss.

use crate::error::{Error, Result};
use crate::prior::{Provenance, ProvenanceKind};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A loss on a real-valued outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RegressionLoss {
    /// (a − y)²: the Bayes action is the predictive mean.
    Squared,
    /// |a − y|: the Bayes action is the predictive median.
    Absolute,
    /// Pinball loss at `quantile` q: the Bayes action is the q-quantile.
    Pinball {
        /// The quantile q in (0, 1).
        quantile: f64,
    },
    /// `under`·(y − a) when a < y, `over`·(a − y) when a > y: the Bayes action is the
    /// under/(under + over) quantile.
    Asymmetric {
        /// Cost per unit of under-prediction.
        under: f64,
        /// Cost per unit of over-prediction.
        over: f64,
    },
    /// "Act if the outcome exceeds `threshold`": two actions, `act` (costs `false_alarm` when
    /// y ≤ threshold) and `wait` (costs `miss` when y > threshold).
    Threshold {
        /// The threshold t.
        threshold: f64,
        /// Cost of acting when the outcome stays at or below t.
        false_alarm: f64,
        /// Cost of not acting when the outcome exceeds t.
        miss: f64,
    },
}

/// A cost matrix: `costs[action][class]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostMatrix {
    /// Cost of each action (rows) under each true class (columns).
    pub costs: Vec<Vec<f64>>,
}

/// One weighted criterion of a multi-criteria decision (e.g. health, environment, growth).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// Name of the criterion.
    pub name: String,
    /// Its weight in the total loss.
    pub weight: f64,
    /// Cost of each action under each class, on this criterion.
    pub costs: Vec<Vec<f64>>,
}

/// A complete decision problem with its value provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionSpec {
    /// Who holds these values and why (kind must be "value").
    pub provenance: Provenance,
    /// Names of the actions (classification; for threshold losses `act`/`wait` are implied).
    #[serde(default)]
    pub actions: Vec<String>,
    /// Names of the classes, for messages (classification).
    #[serde(default)]
    pub classes: Vec<String>,
    /// A single cost matrix (classification).
    #[serde(default)]
    pub costs: Option<Vec<Vec<f64>>>,
    /// Weighted criteria (classification), instead of `costs`.
    #[serde(default)]
    pub criterion: Vec<Criterion>,
    /// A loss on the outcome (regression).
    #[serde(default)]
    pub loss: Option<RegressionLoss>,
    /// Where the file came from.
    #[serde(skip)]
    pub source: String,
}

impl DecisionSpec {
    /// Reads and validates a decision file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parses and validates decision-file text.
    pub fn parse(file: &str, text: &str) -> Result<Self> {
        let err = |m: String| Error::Config {
            file: file.into(),
            message: m,
        };
        let mut s: DecisionSpec =
            toml::from_str(text).map_err(|e| err(e.to_string().trim_end().to_string()))?;
        s.source = file.into();
        if s.provenance.kind != ProvenanceKind::Value {
            return Err(err(format!(
                "provenance.kind is \"{}\", but costs and losses are values: write kind = \"value\" with the holder and the rationale (factual beliefs belong in the model's priors)",
                s.provenance.kind.as_str()
            )));
        }
        let n_forms = usize::from(s.costs.is_some())
            + usize::from(!s.criterion.is_empty())
            + usize::from(s.loss.is_some());
        if n_forms != 1 {
            return Err(err("give exactly one of: `costs` (a cost matrix), `[[criterion]]` entries (weighted cost matrices) or `loss` (regression)".into()));
        }
        let check_matrix = |m: &Vec<Vec<f64>>, what: &str| -> Result<()> {
            if m.is_empty() || m[0].is_empty() {
                return Err(err(format!("{what}: the cost matrix is empty")));
            }
            if m.iter().any(|r| r.len() != m[0].len()) {
                return Err(err(format!(
                    "{what}: every row (action) needs one cost per class ({})",
                    m[0].len()
                )));
            }
            if m.iter().flatten().any(|v| !v.is_finite()) {
                return Err(err(format!("{what}: costs must be finite numbers")));
            }
            Ok(())
        };
        if let Some(m) = &s.costs {
            check_matrix(m, "costs")?;
        }
        for c in &s.criterion {
            check_matrix(&c.costs, &format!("criterion '{}'", c.name))?;
            if !(c.weight >= 0.0 && c.weight.is_finite()) {
                return Err(err(format!(
                    "criterion '{}': weight must be a non-negative number",
                    c.name
                )));
            }
            if c.costs.len() != s.criterion[0].costs.len()
                || c.costs[0].len() != s.criterion[0].costs[0].len()
            {
                return Err(err(format!(
                    "criterion '{}': every criterion needs the same actions × classes shape",
                    c.name
                )));
            }
        }
        if let Some(m) = s.matrix() {
            if !s.actions.is_empty() && s.actions.len() != m.len() {
                return Err(err(format!(
                    "{} action names for {} rows of costs",
                    s.actions.len(),
                    m.len()
                )));
            }
            if !s.classes.is_empty() && s.classes.len() != m[0].len() {
                return Err(err(format!(
                    "{} class names for {} columns of costs",
                    s.classes.len(),
                    m[0].len()
                )));
            }
        }
        match &s.loss {
            Some(RegressionLoss::Pinball { quantile }) if !(*quantile > 0.0 && *quantile < 1.0) => {
                return Err(err(format!(
                    "loss.quantile must lie in (0, 1), found {quantile}"
                )))
            }
            Some(RegressionLoss::Asymmetric { under, over }) if !(*under > 0.0 && *over > 0.0) => {
                return Err(err("loss.under and loss.over must be positive".into()))
            }
            Some(RegressionLoss::Threshold {
                false_alarm, miss, ..
            }) if !(*false_alarm >= 0.0 && *miss >= 0.0) => {
                return Err(err(
                    "loss.false_alarm and loss.miss must be non-negative".into()
                ))
            }
            _ => {}
        }
        Ok(s)
    }

    /// Puts the cost columns in the model's class order when the file names its classes
    /// (`classes = ["Gentoo", "Adelie", …]`); every name must be one of the model's classes.
    /// For a model with numeric labels 0..K−1 the file's names are labels in that order.
    pub fn align_classes(&mut self, model_classes: &[String]) -> Result<()> {
        if self.classes.is_empty() || model_classes.is_empty() {
            return Ok(());
        }
        let numeric_labels = model_classes
            .iter()
            .enumerate()
            .all(|(k, c)| *c == k.to_string());
        let all_named = self.classes.iter().all(|c| model_classes.contains(c));
        if numeric_labels && !all_named {
            return Ok(());
        }
        let err = |m: String| Error::Config {
            file: self.source.clone(),
            message: m,
        };
        if self.classes.len() != model_classes.len() {
            return Err(err(format!(
                "the file names {} classes ({}), the model has {} ({})",
                self.classes.len(),
                self.classes.join(", "),
                model_classes.len(),
                model_classes.join(", ")
            )));
        }
        let mut order = Vec::with_capacity(model_classes.len());
        for m in model_classes {
            match self.classes.iter().position(|c| c == m) {
                Some(j) => order.push(j),
                None => {
                    return Err(err(format!(
                        "the model's class '{m}' is not among the file's classes ({}); name each of: {}",
                        self.classes.join(", "),
                        model_classes.join(", ")
                    )))
                }
            }
        }
        let permute = |m: &mut Vec<Vec<f64>>| {
            for row in m.iter_mut() {
                *row = order.iter().map(|&j| row[j]).collect();
            }
        };
        if let Some(m) = self.costs.as_mut() {
            permute(m);
        }
        for c in &mut self.criterion {
            permute(&mut c.costs);
        }
        self.classes = model_classes.to_vec();
        Ok(())
    }

    /// The effective cost matrix (the weighted sum of criteria, or the single matrix).
    pub fn matrix(&self) -> Option<Vec<Vec<f64>>> {
        if let Some(m) = &self.costs {
            return Some(m.clone());
        }
        let first = self.criterion.first()?;
        let mut m = vec![vec![0.0; first.costs[0].len()]; first.costs.len()];
        for c in &self.criterion {
            for (row, crow) in m.iter_mut().zip(&c.costs) {
                for (v, cv) in row.iter_mut().zip(crow) {
                    *v += c.weight * cv;
                }
            }
        }
        Some(m)
    }

    /// Name of action `a`.
    pub fn action_name(&self, a: usize) -> String {
        if let Some(RegressionLoss::Threshold { .. }) = self.loss {
            // Optional names for (act, wait), in that order.
            if let Some(name) = self.actions.get(a).filter(|_| self.actions.len() == 2) {
                return name.clone();
            }
            return if a == 0 { "act".into() } else { "wait".into() };
        }
        self.actions
            .get(a)
            .cloned()
            .unwrap_or_else(|| format!("action {a}"))
    }
}
