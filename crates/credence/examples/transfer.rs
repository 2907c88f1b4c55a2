//! Transfer priors on a UCI-format folder: fit task A, make its posterior the prior of a small
//! task B, and compare B's test log-likelihood with the transferred prior against the default
//! prior (and against A's model alone).
//!
//! ```text
//! cargo run --release -p credence --example transfer -- [DIR] [A_ROWS] [B_ROWS] [REPEATS] \
//!     [METHOD_A] [METHOD_B] [SCALE] [HIDDEN] [NOISE]
//! ```
//! Defaults: the bundled `data/bostonHousing`, A = 250 rows, B = 40, 4 repeats, laplace → laplace,
//! variance ×1, 16 hidden units, noise prior matched (CI runs it with these; a few seconds).

use credence::config::Config;
use credence::explain::{transfer_experiment, TransferOptions};
use credence::infer::Silent;
use credence::prior::TransferNoise;
use credence::Method;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_string());
    let default_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/bostonHousing");
    let dir = arg(0, default_dir);
    let a_rows: usize = arg(1, "250").parse()?;
    let b_rows: usize = arg(2, "40").parse()?;
    let repeats: usize = arg(3, "4").parse()?;
    let method_a = Method::parse(&arg(4, "laplace"))?;
    let method_b = Method::parse(&arg(5, "laplace"))?;
    let scale: f64 = arg(6, "1").parse()?;
    let hidden: usize = arg(7, "16").parse()?;
    let noise = TransferNoise::parse(&arg(8, "match"))?;
    let mut cfg = Config::default();
    cfg.model.hidden = vec![hidden];
    let r = transfer_experiment(
        std::path::Path::new(&dir),
        &cfg,
        &TransferOptions {
            a_rows: (a_rows > 0).then_some(a_rows),
            b_rows,
            repeats,
            method_a,
            method_b,
            scale,
            noise,
            seed: 0,
        },
        &Silent,
    )?;
    print!("{}", r.table());
    Ok(())
}
