//! The data-size study in the report: the same tables and readings as `credence demo` prints.

use super::html::{esc, p, table};
use crate::eval::data_size::DataSizeStudy;

fn f(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "–".into()
    }
}

/// Both tables (few rows, all rows) side by side, with their readings.
pub fn data_size(s: &DataSizeStudy) -> String {
    let small = format!("{} rows: test RMSE", s.small_rows);
    let small_ll = format!(
        "{} rows: test LL (± se over {} draws)",
        s.small_rows, s.repeats
    );
    let full = format!("{} rows: test RMSE", s.full_rows);
    let full_ll = format!("{} rows: test LL", s.full_rows);
    let header = ["method", &small, &small_ll, &full, &full_ll];
    let rows: Vec<Vec<String>> = s
        .methods
        .iter()
        .map(|m| {
            vec![
                m.method.clone(),
                f(m.small_mean.rmse),
                format!("{} ± {}", f(m.small_mean.ll), f(m.small_ll_se)),
                f(m.full.rmse),
                f(m.full.ll),
            ]
        })
        .collect();
    let mut body = format!(
        "<h3>When the prior matters: {} rows against all {}</h3>",
        s.small_rows, s.full_rows
    );
    body.push_str(&p(&format!(
        "Every method at its defaults, fitted on {} seeded draws of {} training rows and on all {} training rows, scored on the same {} test rows.",
        s.repeats, s.small_rows, s.full_rows, s.test_rows
    )));
    body.push_str(&table(&header, &rows));
    body.push_str(&format!(
        "<p><strong>Reading:</strong> {}</p><p><strong>Reading:</strong> {}</p>",
        esc(&s.small_reading),
        esc(&s.full_reading)
    ));
    body
}
