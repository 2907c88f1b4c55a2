//! The shift benchmark as an HTML page (`credence bench shift --report`): the plot of accuracy
//! and ECE against rotation, the four metric tables, OOD detection and the ECE reading.

use super::html::{p, page, section, table};
use crate::bench::shift::{below_mle_ece, shift_plots, ShiftResult};
use crate::error::Result;

/// The whole page; `header` describes the data and split (one line, shown first).
pub fn shift_page(results: &[ShiftResult], header: &str) -> Result<String> {
    let mut body = p(header);
    let svg = crate::plot::panels(&shift_plots(results), 520, 380)?;
    body.push_str(&section(
        "plot",
        "Accuracy and ECE against rotation",
        &format!("<figure>{svg}</figure>"),
    ));
    let angles: Vec<String> = results
        .first()
        .map(|r| {
            r.rotations
                .iter()
                .map(|s| format!("{}°", s.degrees))
                .collect()
        })
        .unwrap_or_default();
    let mut header_row = vec!["method", "network"];
    header_row.extend(angles.iter().map(String::as_str));
    type Pick = fn(&crate::bench::shift::RotationScore) -> f64;
    let metrics: [(&str, &str, Pick); 4] = [
        ("accuracy", "Accuracy", |s| s.accuracy),
        ("ece", "Expected calibration error (15 bins)", |s| s.ece),
        ("nll", "Negative log-likelihood", |s| s.nll),
        ("brier", "Brier score", |s| s.brier),
    ];
    for (id, title, pick) in metrics {
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|r| {
                let mut row = vec![r.method.clone(), r.network.clone()];
                row.extend(r.rotations.iter().map(|s| format!("{:.4}", pick(s))));
                row
            })
            .collect();
        body.push_str(&section(id, title, &table(&header_row, &rows)));
    }
    let f = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.3}"));
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.method.clone(),
                r.network.clone(),
                f(r.auroc_entropy),
                f(r.auroc_mi),
                format!("{:.1}", r.seconds),
            ]
        })
        .collect();
    body.push_str(&section(
        "ood",
        "Out-of-distribution detection (held-out classes)",
        &table(
            &[
                "method",
                "network",
                "AUROC (entropy)",
                "AUROC (MI)",
                "seconds",
            ],
            &rows,
        ),
    ));
    let mut networks: Vec<&str> = results.iter().map(|r| r.network.as_str()).collect();
    networks.dedup();
    let mut reading = String::new();
    for n in networks {
        if !results.iter().any(|r| r.network == n && r.method == "mle") {
            continue;
        }
        let below = below_mle_ece(results, n, 30.0);
        reading.push_str(&p(&if below.is_empty() {
            format!("{n}: no Bayesian method has a lower ECE than MLE at every rotation ≥ 30°.")
        } else {
            format!(
                "{n}: lower ECE than MLE at every rotation ≥ 30°: {}.",
                below.join(", ")
            )
        }));
    }
    if !reading.is_empty() {
        body.push_str(&section("reading", "Reading", &reading));
    }
    Ok(page("Uncertainty under distribution shift", &body))
}
