//! `credence decide`: Bayes actions under a value file, and whether decisions rest on facts or values.

use crate::class_prior;
use crate::cli::DecideArgs;
use crate::io;
use crate::progress::Bar;
use anyhow::{Context, Result};
use credence::artifact;
use credence::decide::{decide, flip_share, Decision, DecisionSpec, DecisionSummary};
use credence::fit::refit_with_priors;
use credence::prior::{Prior, PriorSet};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AltPriors {
    alternative: Vec<AltPrior>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AltPrior {
    name: String,
    prior: Vec<Prior>,
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim_end()))
}

fn value_alternatives(path: &Path) -> Result<Vec<(String, DecisionSpec)>> {
    let v: toml::Table = read_toml(path)?;
    let list = v
        .get("alternative")
        .and_then(|a| a.as_array())
        .with_context(|| {
            format!(
                "{}: expected [[alternative]] entries, each a decision spec with a `name`",
                path.display()
            )
        })?;
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            let mut t = entry.as_table().cloned().with_context(|| {
                format!("{}: alternative {} is not a table", path.display(), i + 1)
            })?;
            let name = t
                .remove("name")
                .and_then(|n| n.as_str().map(str::to_string))
                .with_context(|| {
                    format!("{}: alternative {} needs a `name`", path.display(), i + 1)
                })?;
            let text = toml::to_string(&t)?;
            let spec =
                DecisionSpec::parse(&format!("{} (alternative '{name}')", path.display()), &text)?;
            Ok((name, spec))
        })
        .collect()
}

fn csv_of(d: &[Decision]) -> String {
    let mut out =
        String::from("row,action,value,expected_loss,runner_up,runner_up_loss,prob_best,evpi\n");
    for x in d {
        let f = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        let (ru, rl) = x
            .runner_up
            .clone()
            .map_or((String::new(), None), |(a, l)| (a, Some(l)));
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            x.row,
            x.action,
            f(x.value),
            x.expected_loss,
            ru,
            f(rl),
            f(x.prob_best),
            x.evpi
        ));
    }
    out
}

/// Runs `credence decide`.
pub fn run(a: &DecideArgs) -> Result<()> {
    let model = artifact::load(&a.model)
        .with_context(|| format!("loading the model from {}", a.model.display()))?;
    let mut spec = DecisionSpec::from_file(&a.decision).context("reading the decision file")?;
    spec.align_classes(&model.record.class_names())
        .context("matching the decision file's classes to the model's")?;
    let data = io::model_data(&model.record, &a.data, &a.apply, false, a.output.json)?.data;
    let choice = class_prior::choice(a.class_prior.as_deref(), &model, &a.data)?;
    let (pred, used) = class_prior::predict(&model, &data, a.seed, choice.as_ref())
        .with_context(|| format!("predicting {}", a.data.display()))?;
    let class_prior_note = model.record.class_prior_note(used.as_ref());
    let base = decide(&pred, &spec, a.seed)?;
    let summary = DecisionSummary::of(&base);
    let mut value_flips = Vec::new();
    if let Some(p) = &a.alternatives_value {
        for (name, mut alt) in value_alternatives(p)? {
            alt.align_classes(&model.record.class_names())
                .with_context(|| format!("alternative '{name}'"))?;
            let d = decide(&pred, &alt, a.seed)?;
            value_flips.push((name, flip_share(&base, &d)));
        }
    }
    let mut prior_flips = Vec::new();
    if let Some(p) = &a.alternatives_prior {
        let alts: AltPriors = read_toml(p)?;
        let bar = Bar::new(!a.output.json && !a.output.quiet);
        for alt in alts.alternative {
            let set = PriorSet { priors: alt.prior };
            let refit = refit_with_priors(&model.record, set, &bar)
                .with_context(|| format!("refitting under the alternative prior '{}'", alt.name))?;
            let refit_pred = class_prior::predict_under(&refit, &data, a.seed, used.as_ref())?;
            let d = decide(&refit_pred, &spec, a.seed)?;
            prior_flips.push((alt.name, flip_share(&base, &d)));
        }
    }
    if let Some(out) = &a.out {
        artifact::write_atomic(out, csv_of(&base).as_bytes())
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if a.output.json {
        let v = serde_json::json!({
            "values": spec.provenance,
            "model_priors": model.record.prior_summary,
            "class_prior": used,
            "class_prior_note": class_prior_note,
            "summary": summary,
            "decisions": base,
            "flips_under_alternative_values": value_flips,
            "flips_under_alternative_priors": prior_flips,
        });
        println!("{v}");
        return Ok(());
    }
    println!("values: {}", spec.provenance.describe());
    println!(
        "facts:  {} fitted with {} ({})",
        model.record.data.source, model.record.method, model.record.prior_summary
    );
    if let Some(note) = &class_prior_note {
        println!("class prior: {note}");
    }
    println!(
        "\n{} rows decided; mean expected loss {:.4}; mean value of perfect information {:.4}",
        summary.rows, summary.mean_expected_loss, summary.mean_evpi
    );
    for (act, c) in &summary.counts {
        println!("  {act}: {c} rows");
    }
    if a.out.is_none() {
        println!("\nfirst rows (row, action, expected loss, runner-up, P(best), EVPI):");
        for x in base.iter().take(10) {
            let act = x
                .value
                .map_or(x.action.clone(), |v| format!("{} {v:.4}", x.action));
            let ru = x
                .runner_up
                .as_ref()
                .map_or("—".into(), |(n, l)| format!("{n} ({l:.4})"));
            let pb = x.prob_best.map_or("—".into(), |p| format!("{p:.3}"));
            println!(
                "  {:>4}  {act:<16} {:>9.4}  {ru:<20} {pb:>6}  {:.4}",
                x.row, x.expected_loss, x.evpi
            );
        }
    }
    if !value_flips.is_empty() || !prior_flips.is_empty() {
        println!("\nfacts or values? share of rows whose decision changes:");
        for (n, f) in &prior_flips {
            println!("  alternative prior (facts)  {n:<28} {:>6.1}%", 100.0 * f);
        }
        for (n, f) in &value_flips {
            println!("  alternative values         {n:<28} {:>6.1}%", 100.0 * f);
        }
        let pf = prior_flips.iter().map(|x| x.1).fold(0.0, f64::max);
        let vf = value_flips.iter().map(|x| x.1).fold(0.0, f64::max);
        let verdict = if pf > vf {
            "these decisions depend more on the evidence (factual priors) than on the values considered"
        } else if vf > pf {
            "these decisions depend more on your values than on the factual priors considered"
        } else {
            "the factual and value alternatives move these decisions equally"
        };
        println!("  → {verdict}");
    }
    Ok(())
}
