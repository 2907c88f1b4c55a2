//! `credence elicit`: a prior from a statement (quantiles, mean and sd, mode and range) or from
//! past data, printed with a feedback table and written as a `[[prior]]` block.

use crate::cli::ElicitArgs;
use anyhow::{bail, Context, Result};
use credence::elicit::{
    describe_short, from_past_data, percent, prior_block, read_column, round_sig, Elicited, Family,
    Quantile, Statement, Target,
};
use credence::prior::NoiseParam;
use credence::{Provenance, ProvenanceKind};

fn parse_quantile(s: &str) -> Result<Quantile> {
    let bad = || {
        anyhow::anyhow!("--quantile '{s}': expected P=VALUE with P a probability, e.g. 0.05=400")
    };
    let (p, x) = s.split_once('=').ok_or_else(bad)?;
    let p: f64 = p.trim().parse().map_err(|_| bad())?;
    let x: f64 = x.trim().parse().map_err(|_| bad())?;
    if !x.is_finite() {
        return Err(bad());
    }
    Ok(Quantile { p, x })
}

fn statement(a: &ElicitArgs) -> Result<Statement> {
    let given = [
        !a.quantile.is_empty(),
        a.mean.is_some() || a.sd.is_some(),
        a.mode.is_some() || a.range.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        bail!("give exactly one statement: --quantile P=VALUE (repeated), --mean with --sd, --mode with --range, or --from-data FILE --column COL");
    }
    if !a.quantile.is_empty() {
        let qs = a
            .quantile
            .iter()
            .map(|s| parse_quantile(s))
            .collect::<Result<Vec<_>>>()?;
        return Ok(Statement::Quantiles(qs));
    }
    if let (Some(mean), Some(sd)) = (a.mean, a.sd) {
        return Ok(Statement::MeanSd { mean, sd });
    }
    if a.mean.is_some() || a.sd.is_some() {
        bail!("--mean and --sd go together: give both");
    }
    let (Some(mode), Some(range)) = (a.mode, a.range.as_deref()) else {
        bail!("--mode and --range go together: give both, e.g. --mode 600 --range 400,900");
    };
    let bad = || anyhow::anyhow!("--range '{range}': expected LOW,HIGH, e.g. 400,900");
    let (lo, hi) = range.split_once(',').ok_or_else(bad)?;
    let lo: f64 = lo.trim().parse().map_err(|_| bad())?;
    let hi: f64 = hi.trim().parse().map_err(|_| bad())?;
    Ok(Statement::ModeRange {
        mode,
        lo,
        hi,
        mass: a.mass,
    })
}

fn provenance(a: &ElicitArgs, e: &Elicited, data_source: Option<String>) -> Result<Provenance> {
    let kind = match a.provenance.as_str() {
        "factual" => ProvenanceKind::Factual,
        "value" => ProvenanceKind::Value,
        "default" => ProvenanceKind::Default,
        other => bail!("--provenance '{other}': expected factual, value or default"),
    };
    let source = match (&a.source, data_source) {
        (Some(s), Some(d)) => format!("{s}; {d}"),
        (Some(s), None) => s.clone(),
        (None, Some(d)) => d,
        (None, None) => "stated to credence elicit (no --source given)".into(),
    };
    if source.trim().is_empty() {
        bail!("--source is empty; say where the statement comes from");
    }
    Ok(Provenance {
        kind,
        source,
        note: e.note(),
        holder: a.holder.clone(),
    })
}

/// `credence elicit`.
pub fn run(a: &ElicitArgs) -> Result<()> {
    let family = Family::parse(&a.family)?;
    let on = match a.on.as_str() {
        "scale" => NoiseParam::Scale,
        "precision" => NoiseParam::Precision,
        "variance" => NoiseParam::Variance,
        other => bail!("--on '{other}': expected scale, precision or variance"),
    };
    let target = match a.target.as_str() {
        "value" => Target::Value,
        "mean" => Target::Mean,
        other => bail!("--target '{other}': expected value or mean"),
    };
    let (e, data_source) = if let Some(file) = &a.from_data {
        if !a.quantile.is_empty() || a.mean.is_some() || a.sd.is_some() || a.mode.is_some() {
            bail!(
                "--from-data replaces a statement: drop --quantile, --mean/--sd and --mode/--range"
            );
        }
        let Some(column) = &a.column else {
            bail!(
                "--from-data needs --column COL (the column of {} to fit)",
                file.display()
            );
        };
        let data = read_column(file, column)
            .with_context(|| format!("reading --from-data {}", file.display()))?;
        if data.dropped > 0 && !a.output.quiet && !a.output.json {
            eprintln!(
                "note: {} missing cell{} of column '{}' dropped; {} values used",
                data.dropped,
                if data.dropped == 1 { "" } else { "s" },
                data.column,
                data.values.len()
            );
        }
        let e = from_past_data(family, &data, a.df, a.weight, target)?;
        let src = format!(
            "{} column '{}' ({} values, fingerprint {})",
            data.file,
            data.column,
            data.values.len(),
            data.fingerprint()
        );
        (e, Some(src))
    } else {
        if a.column.is_some() || a.weight.is_some() || a.target != "value" {
            bail!("--column, --weight and --target apply to --from-data only");
        }
        (credence::elicit::fit(family, &statement(a)?, a.df)?, None)
    };
    let prov = provenance(a, &e, data_source)?;
    let block = prior_block(&a.params, on, &e.dist, &prov)?;
    // The block must read back as a config: a self-check of what is written.
    credence::config::Config::parse("the elicited [[prior]] block", &block)
        .context("the elicited [[prior]] block does not parse")?;
    if let Some(p) = &a.plot {
        let svg = credence::plot::line_plot(&e.plot(), 640, 400)?;
        credence::artifact::write_atomic(p, svg.as_bytes())
            .with_context(|| format!("writing the plot {}", p.display()))?;
    }
    if let Some(p) = &a.out {
        credence::artifact::write_atomic(p, block.as_bytes())
            .with_context(|| format!("writing the prior {}", p.display()))?;
    }
    let ps = [0.05, 0.25, 0.5, 0.75, 0.95];
    if a.output.json {
        let v = serde_json::json!({
            "family": family.name(),
            "distribution": e.dist,
            "method": e.method,
            "statement": e.statement,
            "checks": e.checks,
            "quantiles": e.quantiles(&ps),
            "mean": e.dist.mean(),
            "sd": e.dist.variance().sqrt(),
            "provenance": prov,
            "prior": block,
        });
        println!("{v}");
        return Ok(());
    }
    println!("elicited {}", describe_short(&e.dist));
    println!("  from: {}", e.statement);
    println!("  fitted {}", e.method.describe());
    println!();
    println!("{:<20} {:>14} {:>14}", "", "stated", "fitted");
    for c in &e.checks {
        println!(
            "{:<20} {:>14} {:>14}",
            c.what,
            round_sig(c.stated, 7),
            round_sig(c.fitted, 7)
        );
    }
    println!();
    let qs = e
        .quantiles(&ps)
        .iter()
        .map(|q| format!("{} {}", percent(q.p), round_sig(q.x, 4)))
        .collect::<Vec<_>>()
        .join(", ");
    println!("fitted quantiles: {qs}");
    println!(
        "fitted mean {}, sd {}",
        round_sig(e.dist.mean(), 4),
        round_sig(e.dist.variance().sqrt(), 4)
    );
    println!();
    match &a.out {
        Some(p) => println!("wrote the [[prior]] block to {}", p.display()),
        None => print!("{block}"),
    }
    if let Some(p) = &a.plot {
        if !a.output.quiet {
            eprintln!("wrote the plot to {}", p.display());
        }
    }
    Ok(())
}
