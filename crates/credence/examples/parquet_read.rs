//! Times reading a Parquet table and reports the peak memory of the process.
//!
//! `cargo run --release -p credence --example parquet_read -- write FILE ROWS COLS` writes a
//! seeded numeric table (one text column every tenth column); `... -- read FILE` reads it in a
//! fresh process and prints the seconds, the in-memory data size and the peak resident memory
//! (VmHWM). Without arguments it does both on 20 000 rows × 20 columns in a temporary folder.

use credence::data::parquet::{read_parquet, write_parquet, OutColumn};
use credence::data::ReadOptions;
use std::path::Path;
use std::time::Instant;

fn write(path: &Path, rows: usize, cols: usize) -> credence::Result<()> {
    let mut r = credence::rng::stream(7, 0);
    use rand::Rng;
    let columns: Vec<(String, OutColumn)> = (0..cols)
        .map(|c| {
            let col = if c % 10 == 9 {
                OutColumn::Text(
                    (0..rows)
                        .map(|_| format!("level{}", r.gen_range(0..5)))
                        .collect(),
                )
            } else {
                OutColumn::Numbers((0..rows).map(|_| r.gen::<f64>()).collect())
            };
            (format!("c{c}"), col)
        })
        .collect();
    write_parquet(path, &columns)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn read(path: &Path) -> credence::Result<()> {
    let t0 = Instant::now();
    let t = read_parquet(path, &ReadOptions::default())?;
    let secs = t0.elapsed().as_secs_f64();
    let data_mb = (t.rows() * t.cols() * 8) as f64 / (1024.0 * 1024.0);
    let file_mb = std::fs::metadata(path).map_or(0, |m| m.len()) as f64 / (1024.0 * 1024.0);
    println!(
        "read {} rows × {} columns in {secs:.2} s; file {file_mb:.0} MiB, data {data_mb:.0} MiB (8 bytes a cell), peak resident memory {:.0} MiB ({:.2}× the data)",
        t.rows(),
        t.cols(),
        peak_rss_mb(),
        peak_rss_mb() / data_mb
    );
    Ok(())
}

fn main() -> credence::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode, file, rows, cols] if mode == "write" => {
            let n = |s: &str| {
                s.parse::<usize>()
                    .map_err(|_| credence::Error::Invalid(format!("not a count: {s}")))
            };
            write(Path::new(file), n(rows)?, n(cols)?)
        }
        [mode, file] if mode == "read" => read(Path::new(file)),
        [] => {
            let dir = tempfile::tempdir().map_err(|e| credence::Error::io("temp", e))?;
            let p = dir.path().join("t.parquet");
            write(&p, 20_000, 20)?;
            read(&p)
        }
        _ => Err(credence::Error::Invalid(
            "usage: parquet_read [write FILE ROWS COLS | read FILE]".into(),
        )),
    }
}
