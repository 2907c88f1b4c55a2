//! Notes on a training table that a fit can use but its user should know about: a categorical
//! level or a class seen in one row only, and numeric features that are exact linear functions
//! of each other. They join the schema's notes (dropped rows and columns), which `credence fit`
//! prints before fitting.

use super::schema::{InputKind, Schema};
use super::standardize::Spread;
use super::Dataset;
use std::collections::HashMap;

/// Correlation above which two columns count as perfectly collinear.
const COLLINEAR: f64 = 1.0 - 1e-9;

/// The notes for `data`, encoded by `schema` from its training rows.
pub(crate) fn notes(schema: &Schema, data: &Dataset) -> Vec<String> {
    let mut notes = single_levels(schema, data);
    notes.extend(single_classes(schema, data));
    notes.extend(collinear(schema, data));
    notes
}

/// The encoded column where each input starts.
fn offsets(schema: &Schema) -> Vec<usize> {
    let mut at = 0;
    schema
        .inputs
        .iter()
        .map(|i| {
            let start = at;
            at += i.encoded_names().len();
            start
        })
        .collect()
}

fn column(data: &Dataset, c: usize) -> impl Iterator<Item = f64> + Clone + '_ {
    (0..data.rows).map(move |r| data.x[r * data.features + c])
}

/// A categorical level present in one training row only: its one-hot weight is learned from
/// that row alone.
fn single_levels(schema: &Schema, data: &Dataset) -> Vec<String> {
    let mut notes = Vec::new();
    for (input, start) in schema.inputs.iter().zip(offsets(schema)) {
        let InputKind::Categorical { levels } = &input.kind else {
            continue;
        };
        let once: Vec<String> = levels
            .iter()
            .enumerate()
            .filter(|&(k, _)| start + k < data.features)
            .filter(|&(k, _)| column(data, start + k).filter(|&v| v != 0.0).count() == 1)
            .map(|(_, l)| format!("'{l}'"))
            .collect();
        if !once.is_empty() {
            notes.push(format!(
                "column '{}': level{} {} {} in one training row only; what the model learns about {} rests on that row alone (merge rare levels, or collect more rows)",
                input.name,
                if once.len() == 1 { "" } else { "s" },
                once.join(", "),
                if once.len() == 1 { "appears" } else { "each appear" },
                if once.len() == 1 { "it" } else { "each" },
            ));
        }
    }
    notes
}

/// A class with one training row: its probability rests on that row, and a held-out split
/// may leave it out entirely.
fn single_classes(schema: &Schema, data: &Dataset) -> Vec<String> {
    let Some(names) = schema.class_names() else {
        return Vec::new();
    };
    let mut counts = vec![0usize; names.len()];
    for &y in &data.y {
        if y >= 0.0 && (y as usize) < counts.len() && y.fract() == 0.0 {
            counts[y as usize] += 1;
        }
    }
    let once: Vec<String> = names
        .iter()
        .zip(&counts)
        .filter(|&(_, &n)| n == 1)
        .map(|(l, _)| format!("'{l}'"))
        .collect();
    if once.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "target '{}': class{} {} {} one training row only; its predicted probability rests on that row (and a validation or test split may not see it at all)",
        schema.targets.first().map_or("", |t| t.name.as_str()),
        if once.len() == 1 { "" } else { "es" },
        once.join(", "),
        if once.len() == 1 { "has" } else { "each have" },
    )]
}

/// Pairs of numeric features where one is an exact linear function of the other on every
/// training row: the network cannot tell their weights apart (the fit still works; the
/// per-feature weights and relevances are not identified).
fn collinear(schema: &Schema, data: &Dataset) -> Vec<String> {
    // Standardised numeric columns, sign-normalised so that z and −z meet: equal up to
    // rounding exactly when the columns are perfectly collinear. Buckets by a rounded key,
    // then the correlation decides (linear in rows × columns, not quadratic in columns).
    let mut cols: Vec<(String, Spread, Vec<f64>, f64)> = Vec::new();
    for (input, start) in schema.inputs.iter().zip(offsets(schema)) {
        if !matches!(
            input.kind,
            InputKind::Numeric { .. } | InputKind::Boolean { .. }
        ) || start >= data.features
        {
            continue;
        }
        let sp = Spread::of(column(data, start));
        if !sp.mean.is_finite() || sp.is_constant() || sp.std < f64::MIN_POSITIVE {
            continue;
        }
        // Scaled by the largest magnitude first, as `Spread` is, so nothing overflows.
        let (m, s) = (sp.mean / sp.max_abs, sp.std / sp.max_abs);
        let z: Vec<f64> = column(data, start)
            .map(|v| (v / sp.max_abs - m) / s)
            .collect();
        let first = z.iter().find(|v| v.abs() > 1e-6).copied().unwrap_or(1.0);
        cols.push((input.name.clone(), sp, z, first.signum()));
    }
    let mut buckets: HashMap<Vec<i64>, Vec<usize>> = HashMap::new();
    for (i, (_, _, z, sign)) in cols.iter().enumerate() {
        let key = z.iter().map(|v| (sign * v * 1e4).round() as i64).collect();
        buckets.entry(key).or_default().push(i);
    }
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for members in buckets.values() {
        for (a, &i) in members.iter().enumerate() {
            for &j in &members[a + 1..] {
                pairs.push((i.min(j), i.max(j)));
            }
        }
    }
    pairs.sort_unstable();
    let n = data.rows as f64;
    pairs
        .into_iter()
        .filter_map(|(i, j)| {
            let (ci, cj) = (&cols[i], &cols[j]);
            let r = ci.2.iter().zip(&cj.2).map(|(a, b)| a * b).sum::<f64>() / n;
            (r.abs() >= COLLINEAR).then(|| {
                let slope = r * (cj.1.std / ci.1.std);
                let intercept = cj.1.mean - slope * ci.1.mean;
                format!(
                    "columns '{}' and '{}' are perfectly collinear ('{}' = {} × '{}' {} {} on every training row); the network cannot tell their weights apart (drop one, or keep both knowing that per-feature weights and relevances are not identified)",
                    ci.0,
                    cj.0,
                    cj.0,
                    short(slope),
                    ci.0,
                    if intercept < 0.0 { "−" } else { "+" },
                    short(intercept.abs()),
                )
            })
        })
        .collect()
}

/// A number with 4 significant digits, without trailing noise.
fn short(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e6 || x.abs() < 1e-4) {
        format!("{x:.3e}")
    } else {
        let s = format!("{x:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}
