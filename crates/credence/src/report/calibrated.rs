//! The report section of a stored post-hoc calibration: Bayesian against conformal regions at
//! a few levels, and a temperature's effect.

use super::html::{p, table};
use crate::calibrate::{compare, Conformal, ModelCalibration, RegressionScore};
use crate::error::Result;
use crate::eval::{metrics, Metrics};
use crate::predict::Predictive;

/// Levels shown (all among the CQR levels, so every score can be shown).
const LEVELS: [f64; 4] = [0.5, 0.8, 0.9, 0.95];

/// The section: `raw` is the predictive before any temperature, `pred` after.
pub fn section(
    c: &ModelCalibration,
    raw: &Predictive,
    pred: &Predictive,
    y: &[f64],
) -> Result<String> {
    let mut body = String::new();
    for line in c.describe() {
        body.push_str(&p(&line));
    }
    let (what, size) = match pred {
        Predictive::Classification(_) => ("set", "mean set size"),
        _ => ("interval", "mean width"),
    };
    if c.conformal.is_some() {
        let rows = LEVELS
            .iter()
            .map(|&l| {
                let k = compare(pred, y, Some(c), l)?;
                let f = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.3}"));
                Ok(vec![
                    format!("{:.0}%", 100.0 * l),
                    format!("{:.3}", k.bayes.coverage),
                    format!("{:.3}", k.bayes.mean_size),
                    f(k.conformal.map(|x| x.coverage)),
                    f(k.conformal.map(|x| x.mean_size)),
                ])
            })
            .collect::<Result<Vec<_>>>()?;
        body.push_str(&p(&format!(
            "Coverage on these rows of the Bayesian {what} and the conformal one (finite-sample guarantee: coverage ≥ level on exchangeable rows).{}",
            match &c.conformal {
                Some(Conformal::Regression { score: RegressionScore::Cqr, .. }) =>
                    " Conformal intervals: CQR on the predictive's central quantiles.",
                _ => "",
            }
        )));
        body.push_str(&table(
            &[
                "level",
                "Bayesian coverage",
                &format!("Bayesian {size}"),
                "conformal coverage",
                &format!("conformal {size}"),
            ],
            &rows,
        ));
    }
    if let Some(t) = &c.temperature {
        let nll_ece = |m: Metrics| match m {
            Metrics::Classification(k) => (k.nll, k.ece),
            _ => (f64::NAN, f64::NAN),
        };
        let (b, a) = (nll_ece(metrics(raw, y)?), nll_ece(metrics(pred, y)?));
        body.push_str(&table(
            &[
                "temperature scaling",
                "NLL before",
                "NLL after",
                "ECE before",
                "ECE after",
            ],
            &[
                vec![
                    format!("held-out rows (T = {:.3})", t.t),
                    format!("{:.4}", t.nll_before),
                    format!("{:.4}", t.nll_after),
                    format!("{:.4}", t.ece_before),
                    format!("{:.4}", t.ece_after),
                ],
                vec![
                    "these rows".into(),
                    format!("{:.4}", b.0),
                    format!("{:.4}", a.0),
                    format!("{:.4}", b.1),
                    format!("{:.4}", a.1),
                ],
            ],
        ));
    }
    Ok(super::html::section(
        "post-hoc-calibration",
        "Post-hoc calibration (held-out rows)",
        &body,
    ))
}
