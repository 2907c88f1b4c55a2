//! What a fit needs in memory, estimated per method before it allocates, so that an oversized
//! run is a clear error naming the size and the alternative rather than an allocation failure
//! that aborts the process.
//!
//! Every estimate is a lower bound in f64 arithmetic (sizes that overflow `usize` still give a
//! number): the network's parameters and activations, then what the method keeps — the draws of
//! a sampler, the members of an ensemble, VI's means and scales, a Laplace curvature — and, at
//! prediction, the outputs of every draw on every row. The limit is the config's `max_memory`
//! (the CLI's `--max-memory`) where set, else `MemAvailable` in `/proc/meminfo`.

use crate::error::{Error, Result};
use crate::infer::{HessianStructure, LaplaceOptions, Method, Subset};
use crate::model::ModelSpec;
use crate::nn::Network;

/// Bytes per stored number.
const F64: f64 = 8.0;

/// Needs below this many bytes are not checked against the machine's available memory.
const SMALL: f64 = 64.0 * 1024.0 * 1024.0;

/// Bytes the machine has available for a new allocation (`MemAvailable` in `/proc/meminfo` on
/// Linux), or `None` where that cannot be read.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// Parses a memory size: a number of bytes, or a number followed by K, M, G or T (powers of
/// 1024; a trailing `B` or `iB` is accepted): `4G`, `512M`, `1.5G`, `2048`.
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let bad = || {
        format!("'{text}' is not a memory size; expected e.g. 4G, 512M, 1.5G or a number of bytes")
    };
    let upper = t.to_ascii_uppercase();
    let body = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (num, scale) = match body.chars().last() {
        Some('K') => (&body[..body.len() - 1], 1024f64),
        Some('M') => (&body[..body.len() - 1], 1024f64.powi(2)),
        Some('G') => (&body[..body.len() - 1], 1024f64.powi(3)),
        Some('T') => (&body[..body.len() - 1], 1024f64.powi(4)),
        _ => (body, 1.0),
    };
    let v: f64 = num.trim().parse().map_err(|_| bad())?;
    let bytes = v * scale;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// A byte count for people, in decimal units: `54.1 GB`, `312 MB`.
pub fn human(bytes: f64) -> String {
    let units = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    for (name, size) in units {
        if bytes >= size {
            let v = bytes / size;
            return if v >= 100.0 {
                format!("{v:.0} {name}")
            } else {
                format!("{v:.1} {name}")
            };
        }
    }
    format!("{bytes:.0} bytes")
}

/// A count for people: `2.6 M`, `1.5e9`, `300`.
fn count(n: f64) -> String {
    if n >= 1e9 {
        format!("{n:.2e}")
    } else if n >= 1e6 {
        format!("{:.1} M", n / 1e6)
    } else {
        format!("{n:.0}")
    }
}

/// What a run is estimated to need: the bytes, what takes them, and how to need less.
#[derive(Debug, Clone)]
pub struct Need {
    /// Bytes needed (a lower bound).
    pub bytes: f64,
    /// What needs them, e.g. "a full Hessian for 2.6 M parameters".
    pub what: String,
    /// The alternative, e.g. "use hessian = \"kfac\" or \"diag\"".
    pub advice: String,
}

/// Parameters of the network (weights and biases) plus the noise parameters, in f64.
pub fn params(spec: &ModelSpec) -> f64 {
    let net = match &spec.net {
        Network::Mlp(m) => m
            .sizes
            .windows(2)
            .map(|w| (w[0] as f64 + 1.0) * w[1] as f64)
            .sum::<f64>(),
        Network::Cnn(c) => c.dim() as f64,
    };
    net + spec.noise_params() as f64
}

/// A lower bound on the bytes a fit of `spec` on `rows` rows allocates whatever the method:
/// about eight parameter-sized vectors (parameters, gradient, optimiser moments, the best point,
/// the posterior) and four activation-sized buffers per row of a full batch.
pub fn fit_bytes(spec: &ModelSpec, rows: usize) -> f64 {
    let units: f64 = match &spec.net {
        Network::Mlp(m) => m.sizes[1..].iter().map(|&w| w as f64).sum(),
        Network::Cnn(c) => c.plan().iter().map(|l| l.output.size() as f64).sum(),
    };
    F64 * (8.0 * params(spec) + 4.0 * rows as f64 * units)
}

/// The hidden widths as the config writes them: `[50, 50]`.
fn hidden(spec: &ModelSpec) -> String {
    let Network::Mlp(m) = &spec.net else {
        return "(a convolutional network: model.layers)".into();
    };
    let s = &m.sizes;
    let widths: Vec<String> = s[1..s.len() - 1].iter().map(|w| w.to_string()).collect();
    format!("[{}]", widths.join(", "))
}

impl Need {
    /// The network itself on `rows` rows (every method needs at least this).
    pub fn network(spec: &ModelSpec, rows: usize) -> Need {
        Need {
            bytes: fit_bytes(spec, rows),
            what: format!(
                "the network (hidden = {}, {} parameters) on {rows} rows",
                hidden(spec),
                count(params(spec))
            ),
            advice: "Use fewer or narrower hidden layers (model.hidden)".into(),
        }
    }

    /// A sampler keeping `chains × draws` parameter vectors.
    pub fn draws(
        spec: &ModelSpec,
        rows: usize,
        method: Method,
        chains: usize,
        draws: usize,
    ) -> Need {
        let p = params(spec);
        let kept = chains as f64 * draws as f64;
        Need {
            bytes: fit_bytes(spec, rows) + F64 * kept * p,
            what: format!(
                "{} keeping {chains} chains × {draws} draws of {} parameters",
                method.name(),
                count(p)
            ),
            advice: "Keep fewer draws (inference.draws or --draws, a larger inference.thin or --thin, or fewer inference.chains or --chains), or use a smaller network (model.hidden)".into(),
        }
    }

    /// An ensemble of `members` networks, `parallel` of them training at once.
    pub fn ensemble(spec: &ModelSpec, rows: usize, members: usize, parallel: usize) -> Need {
        let p = params(spec);
        Need {
            bytes: fit_bytes(spec, rows) * parallel.clamp(1, members.max(1)) as f64
                + F64 * members as f64 * p,
            what: format!(
                "an ensemble of {members} members of {} parameters",
                count(p)
            ),
            advice: "Use fewer members (inference.members) or a smaller network (model.hidden)"
                .into(),
        }
    }

    /// SWAG (or MultiSWAG with `members`): per member the mean, the second moment and `rank`
    /// deviations of every parameter, besides the network's training state.
    pub fn swag(spec: &ModelSpec, rows: usize, members: usize, rank: usize) -> Need {
        let p = params(spec);
        Need {
            bytes: fit_bytes(spec, rows) + F64 * members as f64 * (rank as f64 + 2.0) * p,
            what: format!(
                "SWAG keeping {members} × ({rank} deviations + 2 moments) of {} parameters",
                count(p)
            ),
            advice: "Use a lower rank (inference.rank), fewer members (inference.members) or a smaller network (model.hidden)".into(),
        }
    }

    /// Mean-field VI: a mean and a scale per parameter, each with its optimiser state.
    pub fn vi(spec: &ModelSpec, rows: usize) -> Need {
        Need {
            bytes: 2.0 * fit_bytes(spec, rows),
            what: format!(
                "variational inference (a mean and a scale for each of {} parameters)",
                count(params(spec))
            ),
            advice: "Use a smaller network (model.hidden), or map or laplace".into(),
        }
    }

    /// The Laplace approximation with the curvature structure of `o`.
    pub fn laplace(spec: &ModelSpec, rows: usize, o: &LaplaceOptions) -> Need {
        let layers: Vec<(f64, f64)> = match &spec.net {
            Network::Mlp(m) => m
                .sizes
                .windows(2)
                .map(|w| (w[0] as f64 + 1.0, w[1] as f64))
                .collect(),
            Network::Cnn(c) => c
                .plan()
                .iter()
                .filter(|l| l.has_params())
                .map(|l| (l.fan_in as f64 + 1.0, l.units() as f64))
                .collect(),
        };
        let used: &[(f64, f64)] = match o.subset {
            Subset::All => &layers,
            Subset::LastLayer => &layers[layers.len().saturating_sub(1)..],
        };
        let covered: f64 = used.iter().map(|(i, o)| i * o).sum();
        let base = fit_bytes(spec, rows);
        // The precision, its factorisation and the covariance (or eigenvectors) at once.
        let (curv, what, advice) = match o.hessian {
            HessianStructure::Full => (
                3.0 * F64 * covered * covered,
                format!("a full Hessian for {} parameters", count(covered)),
                "Use hessian = \"kfac\" or \"diag\" (inference.hessian or --hessian), or subset = \"last-layer\"",
            ),
            HessianStructure::Kfac => {
                let largest = used
                    .iter()
                    .map(|(i, o)| i * i + o * o)
                    .fold(0.0f64, f64::max);
                (
                    3.0 * F64 * used.iter().map(|(i, o)| i * i + o * o).sum::<f64>(),
                    format!(
                        "the KFAC factors of {} layers (the largest {} numbers)",
                        used.len(),
                        count(largest)
                    ),
                    "Use hessian = \"diag\" (inference.hessian or --hessian), subset = \"last-layer\", or narrower hidden layers (model.hidden)",
                )
            }
            HessianStructure::Diag => (
                2.0 * F64 * covered,
                format!("a diagonal Laplace for {} parameters", count(covered)),
                "Use a smaller network (model.hidden) or subset = \"last-layer\"",
            ),
        };
        Need {
            bytes: base + curv,
            what,
            advice: advice.to_string(),
        }
    }

    /// Predicting `rows` rows with `draws` parameter vectors: every draw's outputs are kept.
    pub fn predictive(spec: &ModelSpec, rows: usize, draws: usize) -> Need {
        let outputs = spec.net.outputs().max(1) as f64;
        Need {
            bytes: 2.0 * F64 * rows as f64 * draws as f64 * outputs,
            what: format!("predicting {rows} rows with {draws} draws"),
            advice: "Predict fewer rows at a time".into(),
        }
    }
}

/// The memory a run may use: the set `max_memory`, else what the machine has available.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Bytes.
    pub bytes: u64,
    /// Whether it was set (`max_memory`, `--max-memory`) rather than read from the machine.
    pub set: bool,
}

impl Limit {
    /// `max_memory` when given, else the machine's available memory (`None`: unknown).
    pub fn of(max_memory: Option<u64>) -> Option<Limit> {
        match max_memory {
            Some(bytes) => Some(Limit { bytes, set: true }),
            None => available_memory().map(|bytes| Limit { bytes, set: false }),
        }
    }

    /// Refuses `need` when it exceeds this limit, naming the size and the alternative.
    pub fn check(&self, need: &Need) -> Result<()> {
        if need.bytes <= self.bytes as f64 {
            return Ok(());
        }
        let have = if self.set {
            format!(
                "the limit set by max_memory (--max-memory) is {}",
                human(self.bytes as f64)
            )
        } else {
            format!("this machine has {} available", human(self.bytes as f64))
        };
        Err(Error::Resources(format!(
            "{} needs at least {} of memory; {have}. {}",
            need.what,
            human(need.bytes),
            need.advice
        )))
    }
}

/// Refuses `need` when it exceeds `max_memory` or, when that is `None`, the available memory.
pub fn check(need: &Need, max_memory: Option<u64>) -> Result<()> {
    if max_memory.is_none() && need.bytes < SMALL {
        // Not worth reading /proc/meminfo (predictions run in loops).
        return Ok(());
    }
    match Limit::of(max_memory) {
        Some(l) => l.check(need),
        None => Ok(()),
    }
}

/// Refuses a fit whose network alone exceeds the limit (before any parameter vector exists).
pub fn check_fit(spec: &ModelSpec, rows: usize, max_memory: Option<u64>) -> Result<()> {
    check(&Need::network(spec, rows), max_memory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("512mb"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("2048"), Ok(2048));
        for bad in ["", "G", "-1G", "4X", "1e40T", "nan"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn byte_counts_read_in_decimal_units() {
        assert_eq!(human(54.08e9), "54.1 GB");
        assert_eq!(human(312e6), "312 MB");
        assert_eq!(human(12.0), "12 bytes");
    }
}
