//! `fit`, `predict` and `evaluate`.

use crate::class_prior;
use crate::cli::{EvaluateArgs, FitArgs, PredictArgs};
use crate::io;
use crate::progress::Bar;
use anyhow::{bail, Context, Result};
use credence::artifact;
use credence::config::LikelihoodConfig;
use credence::data::Dataset;
use credence::eval::{metrics, ood_metrics, Metrics};
use credence::fit::{fit as fit_model, FitOptions};
use credence::infer::hierarchical::HierarchySummary;
use credence::infer::McmcOutcome;
use credence::{Method, Predictive};

/// `credence fit`.
pub fn fit(a: &FitArgs) -> Result<()> {
    let mut config = io::config(a.config.as_deref())?;
    a.sampler.apply(&mut config.inference);
    a.laplace.apply(&mut config.inference);
    if let Some(l) = &a.likelihood {
        config.model.likelihood = Some(LikelihoodConfig::parse(l).with_context(|| {
            format!("unknown likelihood '{l}'; expected gaussian, heteroscedastic, student-t, bernoulli, categorical or poisson")
        })?);
    }
    let method_name = a
        .method
        .clone()
        .or(config.method.clone())
        .unwrap_or_else(|| "map".into());
    let method = Method::parse(&method_name)?;
    let seed = a.seed.or(config.seed).unwrap_or(0);
    let table = io::table(&a.data)?;
    let data = Dataset::from_table(&table, &a.target, a.features.as_deref())
        .context("choosing columns")?;
    let bar = Bar::new(!a.output.json && !a.output.quiet);
    let opts = FitOptions {
        method,
        seed,
        progress: &bar,
        strict_columns: true,
    };
    let mut transfer_noise = None;
    let model = match &a.prior_from {
        Some(dir) => {
            let source = load(dir)?;
            let noise = credence::prior::TransferNoise::parse(&a.prior_from_noise)?;
            let t = credence::fit::transfer_from(&source, a.prior_from_scale, noise)
                .with_context(|| format!("making a prior from the model in {}", dir.display()))?;
            transfer_noise = Some(t.noise.clone());
            for w in &t.warnings {
                eprintln!("warning: {w}");
            }
            credence::fit::fit_with_transfer(&data, &config, opts, &t)
                .with_context(|| format!("fitting with the prior from {}", dir.display()))?
        }
        None => fit_model(&data, &config, opts)?,
    };
    artifact::save(&a.out, &model)
        .with_context(|| format!("saving the model to {}", a.out.display()))?;
    if a.output.json {
        println!("{}", serde_json::to_string(&model.record)?);
    } else if !a.output.quiet {
        println!(
            "fitted {} ({} rows, {} features) with {}",
            data.target_label(),
            data.rows,
            data.features,
            method.name()
        );
        println!("priors:");
        io::print_priors(&model.record);
        if let Some(n) = &transfer_noise {
            println!("  transferred prior: per-parameter Normals from the saved posterior (standardisation reused); noise prior: {n}");
        }
        if let Some(h) = model
            .record
            .outcome
            .get("hierarchy")
            .and_then(|v| serde_json::from_value::<HierarchySummary>(v.clone()).ok())
        {
            println!("hierarchical scales:");
            for line in h.report_lines() {
                println!("  {line}");
            }
        }
        if let Some(info) = &model.record.information {
            println!(
                "information from the data (KL(posterior ‖ prior), posterior/prior variance):"
            );
            for line in info.report_lines() {
                println!("  {line}");
            }
        }
        if let Ok(o) = serde_json::from_value::<McmcOutcome>(model.record.outcome.clone()) {
            println!("sampling:");
            for line in o.report_lines() {
                println!("  {line}");
            }
        }
        println!("saved to {}", a.out.display());
    }
    Ok(())
}

fn load(dir: &std::path::Path) -> Result<credence::FittedModel> {
    artifact::load(dir).with_context(|| format!("loading the model from {}", dir.display()))
}

/// `credence predict`.
pub fn predict(a: &PredictArgs) -> Result<()> {
    let model = load(&a.model)?;
    let table = io::table(&a.data)?;
    let data = io::dataset_for_model(&table, &model.record, false)?;
    let choice = class_prior::choice(a.class_prior.as_deref(), &model, &a.data)?;
    let (pred, used) = class_prior::predict(&model, &data, a.seed, choice.as_ref())
        .with_context(|| format!("predicting {}", a.data.display()))?;
    if let Some(note) = model.record.class_prior_note(used.as_ref()) {
        eprintln!("class prior: {note}");
    }
    let mut out = String::new();
    match &pred {
        Predictive::Regression(r) => {
            out.push_str("mean,std,epistemic_std,aleatoric_std\n");
            let (m, s, e, al) = (r.mean(), r.std(), r.epistemic_var(), r.aleatoric_var());
            for n in 0..r.rows {
                out.push_str(&format!(
                    "{},{},{},{}\n",
                    m[n],
                    s[n],
                    e[n].sqrt(),
                    al[n].sqrt()
                ));
            }
        }
        Predictive::Classification(c) => {
            let header: Vec<String> = (0..c.classes).map(|k| format!("p_{k}")).collect();
            out.push_str(&format!(
                "{},predicted,entropy,mutual_information\n",
                header.join(",")
            ));
            let (p, pred, h, mi) = (
                c.probs(),
                c.predicted(),
                c.entropy(),
                c.mutual_information(),
            );
            for n in 0..c.rows {
                let row: Vec<String> = p[n * c.classes..(n + 1) * c.classes]
                    .iter()
                    .map(f64::to_string)
                    .collect();
                out.push_str(&format!(
                    "{},{},{},{}\n",
                    row.join(","),
                    pred[n],
                    h[n],
                    mi[n]
                ));
            }
        }
    }
    match &a.out {
        Some(path) => artifact::write_atomic(path, out.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?,
        None => print!("{out}"),
    }
    Ok(())
}

/// `credence evaluate`.
pub fn evaluate(a: &EvaluateArgs) -> Result<()> {
    let model = load(&a.model)?;
    let table = io::table(&a.data)?;
    let data = io::dataset_for_model(&table, &model.record, true)?;
    if data.rows == 0 {
        bail!("no rows to evaluate");
    }
    let choice = class_prior::choice(a.class_prior.as_deref(), &model, &a.data)?;
    let (pred, used) = class_prior::predict(&model, &data, a.seed, choice.as_ref())
        .with_context(|| format!("predicting {}", a.data.display()))?;
    let class_prior_note = model.record.class_prior_note(used.as_ref());
    let m = metrics(&pred, &data.y).with_context(|| format!("scoring {}", a.data.display()))?;
    let ood = match &a.ood {
        Some(path) => {
            let t = io::table(path)?;
            let d = io::dataset_for_model(&t, &model.record, false)?;
            let po = class_prior::predict_under(&model, &d, a.seed ^ 0x00d, used.as_ref())
                .with_context(|| format!("predicting {}", path.display()))?;
            Some(ood_metrics(&pred, &po).with_context(|| format!("scoring {}", path.display()))?)
        }
        None => None,
    };
    if a.output.json {
        let v = serde_json::json!({ "method": model.record.method, "rows": data.rows, "metrics": m, "ood": ood, "priors": model.record.prior_summary, "class_prior": used, "class_prior_note": class_prior_note });
        println!("{v}");
        return Ok(());
    }
    println!(
        "model: {} ({}), {} rows of {}",
        model.record.method,
        model.record.prior_summary,
        data.rows,
        a.data.display()
    );
    if let Some(note) = &class_prior_note {
        println!("  class prior: {note}");
    }
    match m {
        Metrics::Regression(r) => {
            println!("  RMSE           {:.4}", r.rmse);
            println!("  MAE            {:.4}", r.mae);
            println!(
                "  log-likelihood {:.4} (mean per point, original units; NLL {:.4})",
                r.log_lik, r.nll
            );
            println!("  CRPS           {:.4}", r.crps);
            for c in &r.coverage {
                println!(
                    "  coverage of the central {:>2.0}% interval: {:.1}%",
                    100.0 * c.level,
                    100.0 * c.observed
                );
            }
            println!(
                "  calibration error {:.4} (mean |p − share of PIT ≤ p|, p = 0.05…0.95)",
                r.calibration_error
            );
        }
        Metrics::Classification(c) => {
            println!("  accuracy {:.4}", c.accuracy);
            println!("  NLL      {:.4}", c.nll);
            println!("  Brier    {:.4}", c.brier);
            println!("  ECE      {:.4} (15 bins)", c.ece);
            println!("  MCE      {:.4}", c.mce);
            println!("  reliability (confidence bin: rows, mean confidence, accuracy):");
            for b in c.reliability.iter().filter(|b| b.count > 0) {
                println!(
                    "    [{:.2}, {:.2}): {:>5} {:>7.3} {:>7.3}",
                    b.lo, b.hi, b.count, b.confidence, b.accuracy
                );
            }
            println!("  accuracy–rejection (reject the most uncertain by predictive entropy):");
            for (r, acc) in &c.accuracy_rejection {
                println!("    reject {:>3.0}%: accuracy {:.4}", 100.0 * r, acc);
            }
        }
    }
    if let Some(o) = ood {
        println!(
            "  OOD: {} in-distribution vs {} rows of {}",
            o.in_rows,
            o.ood_rows,
            a.ood
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string())
        );
        for s in &o.scores {
            println!(
                "    {:<20} AUROC {:.4}  AUPR {:.4}",
                s.score, s.auroc, s.aupr
            );
        }
    }
    Ok(())
}
