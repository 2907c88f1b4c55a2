//! What a fit needs in memory, estimated before it allocates, so that an oversized network is a
//! clear error naming the size and the alternative rather than an allocation failure that aborts
//! the process.

use crate::error::{Error, Result};
use crate::model::ModelSpec;

/// Bytes the machine has available for a new allocation (`MemAvailable` in `/proc/meminfo` on
/// Linux), or `None` where that cannot be read.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// A lower bound on the bytes a fit of `spec` on `rows` rows allocates: about eight
/// parameter-sized vectors (parameters, gradient, optimiser moments, the best point, the
/// posterior) and four activation-sized buffers per row of a full batch.
pub fn fit_bytes(spec: &ModelSpec, rows: usize) -> f64 {
    let params = spec
        .mlp
        .sizes
        .windows(2)
        .map(|w| (w[0] as f64 + 1.0) * w[1] as f64)
        .sum::<f64>();
    let units: f64 = spec.mlp.sizes[1..].iter().map(|&w| w as f64).sum();
    8.0 * (8.0 * params + 4.0 * rows as f64 * units)
}

/// Refuses a fit whose estimated memory exceeds what the machine has available.
pub fn check_fit(spec: &ModelSpec, rows: usize) -> Result<()> {
    let need = fit_bytes(spec, rows);
    let Some(have) = available_memory() else {
        return Ok(());
    };
    if need > have as f64 {
        let gb = |b: f64| b / 1e9;
        let widths: Vec<String> = spec.mlp.sizes[1..spec.mlp.sizes.len() - 1]
            .iter()
            .map(|w| w.to_string())
            .collect();
        return Err(Error::Invalid(format!(
            "the network (hidden = [{}], {:.3e} parameters) on {rows} rows needs at least {:.1} GB of memory; this machine has {:.1} GB available. Use fewer or narrower hidden layers (model.hidden)",
            widths.join(", "),
            spec.mlp.sizes.windows(2).map(|w| (w[0] as f64 + 1.0) * w[1] as f64).sum::<f64>(),
            gb(need),
            gb(have as f64)
        )));
    }
    Ok(())
}
