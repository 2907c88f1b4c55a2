//! `credence bench shift`: the library's shift benchmark over methods and networks, as tables,
//! JSON and a plot.

use crate::cli::ShiftArgs;
use crate::io;
use crate::progress::Bar;
use anyhow::{bail, Context, Result};
use credence::bench::shift::{below_mle_ece, run_shift, shift_plots, ShiftMethod, ShiftOptions};
use credence::data::npy::read_npy_table;
use credence::data::{Dataset, ReadOptions};
use std::path::{Path, PathBuf};

/// The bundled 8×8 digits, from the working directory or the source tree.
fn default_digits() -> Option<PathBuf> {
    let rel = Path::new("data/classification/digits.csv");
    [
        rel.to_path_buf(),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(rel),
    ]
    .into_iter()
    .find(|p| p.exists())
}

/// The images: a NumPy pair, or a CSV (or Parquet) with pixel columns and a label column.
fn images(a: &ShiftArgs) -> Result<(Dataset, PathBuf)> {
    let path = match &a.data {
        Some(p) => p.clone(),
        None => default_digits().context(
            "the bundled digits (data/classification/digits.csv) are not here: pass --data",
        )?,
    };
    let data = match &a.labels {
        Some(l) => {
            let t = read_npy_table(&path, Some(l), &a.target)?;
            Dataset::from_table(&t, &a.target, None)?
        }
        None => {
            let t = io::table(&path, &ReadOptions::default())?;
            let d = Dataset::from_table(&t, &a.target, None).context("choosing columns")?;
            if d.input_shape.is_some() && a.input_shape.is_none() {
                d
            } else {
                let shape = match &a.input_shape {
                    Some(s) => s.clone(),
                    None => {
                        let side = (d.features as f64).sqrt().round() as usize;
                        if side * side != d.features {
                            bail!(
                                "{} has {} feature columns, not a square image: pass --input-shape C,H,W",
                                path.display(),
                                d.features
                            );
                        }
                        vec![1, side, side]
                    }
                };
                d.with_input_shape(&shape)?
            }
        }
    };
    Ok((data, path))
}

/// `credence bench shift`.
pub fn shift(a: &ShiftArgs) -> Result<()> {
    let config = io::config(a.config.as_deref())?;
    let (data, path) = images(a)?;
    let methods = a
        .methods
        .iter()
        .map(|m| ShiftMethod::parse(m.trim()))
        .collect::<credence::Result<Vec<_>>>()?;
    if methods.is_empty() || a.network.is_empty() || a.angles.is_empty() {
        bail!("give at least one method, one network and one angle");
    }
    let ood_from =
        match a.ood_from.as_str() {
            "none" => None,
            k => Some(k.parse::<usize>().with_context(|| {
                format!("--ood-from: expected a class label or none, found '{k}'")
            })?),
        };
    let opts = ShiftOptions {
        angles: a.angles.clone(),
        test_fraction: a.test_fraction,
        ood_from,
        seed: a.seed,
    };
    let mut results = Vec::new();
    for network in &a.network {
        for m in &methods {
            if !a.output.json && !a.output.quiet {
                eprintln!("{} on the {network} …", m.name);
            }
            let bar = Bar::new(!a.output.json && !a.output.quiet);
            let r = run_shift(&data, m, network, &config, &opts, &bar)
                .with_context(|| format!("{} ({network}) on {}", m.name, path.display()))?;
            results.push(r);
        }
    }
    if let Some(p) = &a.plot {
        let svg = credence::plot::panels(&shift_plots(&results), 520, 380)?;
        credence::artifact::write_atomic(p, svg.as_bytes())
            .with_context(|| format!("writing the plot {}", p.display()))?;
    }
    if let Some(p) = &a.report {
        let html = credence::report::shift_page(&results, &header(&results, &path, &data, &opts))?;
        credence::artifact::write_atomic(p, html.as_bytes())
            .with_context(|| format!("writing the report {}", p.display()))?;
    }
    if a.output.json {
        println!("{}", serde_json::to_string(&results)?);
        return Ok(());
    }
    print_tables(&results, &path, &data, &opts);
    Ok(())
}

/// The line that describes the data and the split.
fn header(
    results: &[credence::bench::shift::ShiftResult],
    path: &Path,
    data: &Dataset,
    opts: &ShiftOptions,
) -> String {
    let Some(first) = results.first() else {
        return String::new();
    };
    format!(
        "{} — {} images of {:?}, stratified split seed {}: {} train / {} test rows{}",
        path.display(),
        data.rows,
        data.input_shape.clone().unwrap_or_default(),
        opts.seed,
        first.train_rows,
        first.test_rows,
        opts.ood_from
            .map(|k| format!(
                ", OOD = labels ≥ {k} ({} rows, not trained on)",
                first.ood_rows
            ))
            .unwrap_or_default()
    )
}

fn print_tables(
    results: &[credence::bench::shift::ShiftResult],
    path: &Path,
    data: &Dataset,
    opts: &ShiftOptions,
) {
    if results.is_empty() {
        return;
    }
    println!("{}", header(results, path, data, opts));
    let head = |what: &str| {
        let mut s = format!("\n{what}\n{:<22}", "method");
        for d in &opts.angles {
            s.push_str(&format!(" {:>7}", format!("{d}°")));
        }
        s
    };
    type Pick = fn(&credence::bench::shift::RotationScore) -> f64;
    let tables: [(&str, Pick); 4] = [
        ("accuracy", |s| s.accuracy),
        ("NLL", |s| s.nll),
        ("Brier", |s| s.brier),
        ("ECE", |s| s.ece),
    ];
    for (what, pick) in tables {
        println!("{}", head(what));
        for r in results {
            let mut line = format!("{:<22}", format!("{} ({})", r.method, r.network));
            for s in &r.rotations {
                line.push_str(&format!(" {:>7.4}", pick(s)));
            }
            println!("{line}");
        }
    }
    if opts.ood_from.is_some() {
        println!(
            "\nOOD detection (held-out classes)\n{:<22} {:>10} {:>10} {:>8}",
            "method", "AUROC(H)", "AUROC(MI)", "seconds"
        );
        let f = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.3}"));
        for r in results {
            println!(
                "{:<22} {:>10} {:>10} {:>8.1}",
                format!("{} ({})", r.method, r.network),
                f(r.auroc_entropy),
                f(r.auroc_mi),
                r.seconds
            );
        }
    }
    let mut networks: Vec<&str> = results.iter().map(|r| r.network.as_str()).collect();
    networks.dedup();
    for n in networks {
        let below = below_mle_ece(results, n, 30.0);
        if results.iter().any(|r| r.network == n && r.method == "mle") {
            if below.is_empty() {
                println!(
                    "\n{n}: no Bayesian method has a lower ECE than MLE at every rotation ≥ 30°."
                );
            } else {
                println!(
                    "\n{n}: lower ECE than MLE at every rotation ≥ 30°: {}.",
                    below.join(", ")
                );
            }
        }
    }
}
