//! `fit`, `predict` and `evaluate`.

use crate::class_prior;
use crate::cli::{CalibrationArgs, EvaluateArgs, FitArgs, PredictArgs};
use crate::io;
use crate::progress::Bar;
use anyhow::{bail, Context, Result};
use credence::artifact;
use credence::calibrate;
use credence::config::LikelihoodConfig;
use credence::data::parquet::OutColumn;
use credence::data::UnknownLevel;
use credence::eval::{metrics_named, ood_metrics, Metrics, RegressionMetrics};
use credence::fit::{fit_table, FitOptions};
use credence::infer::hierarchical::HierarchySummary;
use credence::infer::McmcOutcome;
use credence::{Method, Predictive};

/// `credence fit`.
pub fn fit(a: &FitArgs) -> Result<()> {
    let mut config = io::config(a.config.as_deref())?;
    a.sampler.apply(&mut config.inference);
    a.laplace.apply(&mut config.inference);
    if a.max_memory.is_some() {
        config.max_memory = a.max_memory;
    }
    // One fit at a time writes --out: a second is told, not mixed in.
    let _lock = artifact::OutLock::acquire(&a.out)
        .with_context(|| format!("claiming {}", a.out.display()))?;
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
    let (schema_opts, read) = io::schema_options(&a.columns)?;
    let table = io::training_table(&a.data, &a.columns, &read).context("reading the data")?;
    let bar = Bar::new(!a.output.json && !a.output.quiet);
    let opts = FitOptions {
        method,
        seed,
        progress: &bar,
        strict_columns: true,
    };
    let mut transfer_noise = None;
    let notes: Vec<String>;
    let cal_spec = calibration_spec(&a.calibration)?;
    let cal_table = match (&cal_spec, &a.calibration.calibration) {
        (Some(_), Some(path)) => Some(
            io::table(path, &read)
                .with_context(|| format!("reading the calibration rows {}", path.display()))?,
        ),
        _ => None,
    };
    let mut calibration = None;
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
            let enc = source
                .record
                .encode(&table, true, UnknownLevel::Error)
                .with_context(|| {
                    format!(
                        "reading {} with the schema of the model in {}",
                        a.data.display(),
                        dir.display()
                    )
                })?;
            notes = enc.notes;
            // Calibration rows: held out of the encoded rows, or a separate table encoded alike.
            let (fit_data, cal_data) = match (&cal_spec, &cal_table) {
                (None, _) => (enc.data, None),
                (Some(_), Some(t)) => {
                    let c = source.record.encode(t, true, UnknownLevel::Zero)?.data;
                    (enc.data, Some((c, "a separate table".to_string())))
                }
                (Some(_), None) => {
                    let f = a.calibration.calibration_fraction;
                    let (fr, cr) = calibrate::holdout_rows(enc.data.rows, f, seed)?;
                    let words = format!(
                        "{:.0}% of the training rows held out, seed {seed}",
                        100.0 * f
                    );
                    (enc.data.subset(&fr), Some((enc.data.subset(&cr), words)))
                }
            };
            let mut m = credence::fit::fit_with_transfer(&fit_data, &config, opts, &t)
                .with_context(|| format!("fitting with the prior from {}", dir.display()))?;
            m.record.schema = source.record.schema.clone();
            if let (Some(spec), Some((c, words))) = (&cal_spec, cal_data) {
                calibration = Some(
                    calibrate::calibrate_model(&m, &c, spec, words, seed)
                        .context("calibrating on the held-out rows")?,
                );
            }
            m
        }
        None => match &cal_spec {
            Some(spec) => {
                let src = match &cal_table {
                    Some(t) => calibrate::CalibrationSource::Table(t),
                    None => {
                        calibrate::CalibrationSource::HoldOut(a.calibration.calibration_fraction)
                    }
                };
                let (m, n, c) = calibrate::fit_table_calibrated(
                    &table,
                    &schema_opts,
                    &read,
                    &config,
                    opts,
                    src,
                    spec,
                )
                .context("fitting and calibrating")?;
                notes = n;
                calibration = Some(c);
                m
            }
            None => {
                let (m, n) = fit_table(&table, &schema_opts, &read, &config, opts)?;
                notes = n;
                m
            }
        },
    };
    io::print_notes(&notes, a.output.quiet || a.output.json);
    artifact::save(&a.out, &model)
        .with_context(|| format!("saving the model to {}", a.out.display()))?;
    match &calibration {
        Some(c) => calibrate::save(&a.out, c),
        None => calibrate::remove(&a.out),
    }
    .with_context(|| format!("saving the calibration to {}", a.out.display()))?;
    if a.output.json {
        println!("{}", serde_json::to_string(&model.record)?);
    } else if !a.output.quiet {
        let r = &model.record;
        println!(
            "fitted {} ({} rows, {} features) with {}",
            r.data.target,
            r.data.rows,
            r.data.features.len(),
            method.name()
        );
        if let Some(schema) = &r.schema {
            for line in schema.describe() {
                println!("  {line}");
            }
        }
        println!(
            "  network: {} ({} parameters)",
            r.model.net.describe(),
            r.model.dim()
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
        if let Some(c) = &calibration {
            println!("calibration:");
            for line in c.describe() {
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

/// The calibration asked for by the fit flags, if any.
fn calibration_spec(a: &CalibrationArgs) -> Result<Option<calibrate::CalibrateSpec>> {
    let Some(list) = &a.calibrate else {
        return Ok(None);
    };
    let score = calibrate::RegressionScore::parse(&a.conformal_score)?;
    Ok(Some(calibrate::CalibrateSpec::parse(list, score)?))
}

/// The calibration stored with a model, if any.
fn load_calibration(dir: &std::path::Path) -> Result<Option<calibrate::ModelCalibration>> {
    calibrate::load(dir).with_context(|| format!("loading the calibration from {}", dir.display()))
}

/// Classes of a set joined by `|`, with the model's class names.
fn set_text(set: &[usize], names: &[String]) -> String {
    set.iter()
        .map(|&k| names.get(k).cloned().unwrap_or_else(|| k.to_string()))
        .collect::<Vec<_>>()
        .join("|")
}

/// Columns of a prediction region: `<prefix>_lower`, `<prefix>_upper` or `<prefix>_set`.
fn region_columns(
    prefix: &str,
    r: &calibrate::Region,
    names: &[String],
) -> Vec<(String, OutColumn)> {
    match r {
        calibrate::Region::Intervals(v) => vec![
            (
                format!("{prefix}_lower"),
                OutColumn::Numbers(v.iter().map(|p| p.0).collect()),
            ),
            (
                format!("{prefix}_upper"),
                OutColumn::Numbers(v.iter().map(|p| p.1).collect()),
            ),
        ],
        calibrate::Region::Sets(v) => vec![(
            format!("{prefix}_set"),
            OutColumn::Text(v.iter().map(|s| set_text(s, names)).collect()),
        )],
    }
}

/// `credence predict`.
pub fn predict(a: &PredictArgs) -> Result<()> {
    let model = load(&a.model)?;
    let enc = io::model_data(&model.record, &a.data, &a.apply, false, false)?;
    let choice = class_prior::choice(a.class_prior.as_deref(), &model, &a.data)?;
    let (pred, used) = class_prior::predict(&model, &enc.data, a.seed, choice.as_ref())
        .with_context(|| format!("predicting {}", a.data.display()))?;
    if let Some(note) = model.record.class_prior_note(used.as_ref()) {
        eprintln!("class prior: {note}");
    }
    let calibration = load_calibration(&a.model)?;
    let pred = match &calibration {
        Some(c) => c.apply(pred),
        None => pred,
    };
    let mut columns = prediction_columns(&pred, &model.record);
    if let Some(level) = a.interval {
        let names = model.record.class_names();
        let bayes = calibrate::Region::bayes(&pred, level)?;
        columns.extend(region_columns("bayes", &bayes, &names));
        match calibration
            .as_ref()
            .map(|c| c.conformal_at(&pred, level))
            .transpose()?
            .flatten()
        {
            Some(r) => columns.extend(region_columns("conformal", &r, &names)),
            None => eprintln!(
                "note: the model has no conformal calibration (fit with --calibrate conformal); only the Bayesian region is written"
            ),
        }
    }
    if enc.unseen.iter().any(|&u| u) {
        let flag = enc.unseen.iter().map(|&u| f64::from(u8::from(u))).collect();
        columns.push(("unseen_level".into(), OutColumn::Numbers(flag)));
    }
    if let Some(path) = a.out.as_ref().filter(|p| credence::data::is_parquet(p)) {
        credence::data::parquet::write_parquet(path, &columns)
            .with_context(|| format!("writing {}", path.display()))?;
        return Ok(());
    }
    let out = csv_of(&columns);
    match &a.out {
        Some(path) => artifact::write_atomic(path, out.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?,
        None => print!("{out}"),
    }
    Ok(())
}

/// The prediction table: regression `mean,std,epistemic_std,aleatoric_std`; classification
/// `p_<class>…,predicted,entropy,mutual_information` with the model's class names.
fn prediction_columns(pred: &Predictive, record: &credence::FitRecord) -> Vec<(String, OutColumn)> {
    let class_names = record.class_names();
    let num = |n: &str, v: Vec<f64>| (n.to_string(), OutColumn::Numbers(v));
    let sqrt = |v: Vec<f64>| v.into_iter().map(f64::sqrt).collect();
    match pred {
        // Four columns per target, prefixed with its name: a_mean,a_std,…,b_mean,….
        Predictive::MultiRegression(per) => {
            let names = record.data.target_names(per.len());
            per.iter()
                .zip(&names)
                .flat_map(|(r, t)| {
                    [
                        num(&format!("{t}_mean"), r.mean()),
                        num(&format!("{t}_std"), r.std()),
                        num(&format!("{t}_epistemic_std"), sqrt(r.epistemic_var())),
                        num(&format!("{t}_aleatoric_std"), sqrt(r.aleatoric_var())),
                    ]
                })
                .collect()
        }
        Predictive::Regression(r) => vec![
            num("mean", r.mean()),
            num("std", r.std()),
            num(
                "epistemic_std",
                r.epistemic_var().iter().map(|v| v.sqrt()).collect(),
            ),
            num(
                "aleatoric_std",
                r.aleatoric_var().iter().map(|v| v.sqrt()).collect(),
            ),
        ],
        Predictive::Classification(c) => {
            let p = c.probs();
            let name = |k: usize| class_names.get(k).cloned().unwrap_or_else(|| k.to_string());
            let mut cols: Vec<(String, OutColumn)> = (0..c.classes)
                .map(|k| {
                    num(
                        &format!("p_{}", name(k)),
                        (0..c.rows).map(|n| p[n * c.classes + k]).collect(),
                    )
                })
                .collect();
            cols.push((
                "predicted".into(),
                OutColumn::Text(c.predicted().into_iter().map(name).collect()),
            ));
            cols.push(num("entropy", c.entropy()));
            cols.push(num("mutual_information", c.mutual_information()));
            cols
        }
    }
}

/// Columns as CSV text (numbers in full precision).
fn csv_of(columns: &[(String, OutColumn)]) -> String {
    let rows = columns.first().map_or(0, |(_, c)| match c {
        OutColumn::Numbers(v) => v.len(),
        OutColumn::Text(v) => v.len(),
    });
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record(columns.iter().map(|(n, _)| n.as_str()));
    for r in 0..rows {
        let _ = w.write_record(columns.iter().map(|(_, c)| match c {
            OutColumn::Numbers(v) => v[r].to_string(),
            OutColumn::Text(v) => v[r].clone(),
        }));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// `credence evaluate`.
pub fn evaluate(a: &EvaluateArgs) -> Result<()> {
    let model = load(&a.model)?;
    let data = io::model_data_labelled(
        &model.record,
        &a.data,
        a.labels.as_deref(),
        &a.apply,
        true,
        a.output.json,
    )?
    .data;
    if data.rows == 0 {
        bail!("no rows to evaluate");
    }
    let choice = class_prior::choice(a.class_prior.as_deref(), &model, &a.data)?;
    let (pred, used) = class_prior::predict(&model, &data, a.seed, choice.as_ref())
        .with_context(|| format!("predicting {}", a.data.display()))?;
    let class_prior_note = model.record.class_prior_note(used.as_ref());
    let calibration = load_calibration(&a.model)?;
    // Metrics before a stored temperature, to show what it changed on these rows.
    let untempered = match (&calibration, &pred) {
        (Some(c), Predictive::Classification(_)) if c.temperature.is_some() => Some(
            metrics_named(&pred, &data.y, &data.target_names)
                .with_context(|| format!("scoring {}", a.data.display()))?,
        ),
        _ => None,
    };
    let pred = match &calibration {
        Some(c) => c.apply(pred),
        None => pred,
    };
    let coverage = match &pred {
        Predictive::MultiRegression(_) => None,
        _ => Some(
            calibrate::compare(&pred, &data.y, calibration.as_ref(), a.interval)
                .with_context(|| format!("prediction regions on {}", a.data.display()))?,
        ),
    };
    let m = metrics_named(&pred, &data.y, &data.target_names)
        .with_context(|| format!("scoring {}", a.data.display()))?;
    let ood = match &a.ood {
        Some(path) => {
            let d = io::model_data(&model.record, path, &a.apply, false, a.output.json)?.data;
            let po = class_prior::predict_under(&model, &d, a.seed ^ 0x00d, used.as_ref())
                .with_context(|| format!("predicting {}", path.display()))?;
            Some(ood_metrics(&pred, &po).with_context(|| format!("scoring {}", path.display()))?)
        }
        None => None,
    };
    if a.output.json {
        let v = serde_json::json!({ "method": model.record.method, "rows": data.rows, "metrics": m, "ood": ood, "priors": model.record.prior_summary, "class_prior": used, "class_prior_note": class_prior_note, "calibration": calibration.as_ref().map(|c| serde_json::json!({ "source": c.source, "rows": c.rows, "temperature": c.temperature })), "untempered_metrics": untempered, "coverage": coverage });
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
    match &m {
        Metrics::Regression(r) => print_regression(r, "  "),
        Metrics::MultiRegression(per) => {
            for t in per {
                println!("  target {}:", t.target);
                print_regression(&t.metrics, "    ");
            }
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
    if let Some(c) = &calibration {
        println!("  calibration: {} rows ({})", c.rows, c.source);
    }
    if let (Some(Metrics::Classification(b)), Some(t)) = (
        &untempered,
        calibration.as_ref().and_then(|c| c.temperature.as_ref()),
    ) {
        if let Metrics::Classification(after) = &m {
            println!(
                "  temperature T = {:.3} (held-out ECE {:.4} → {:.4}); on these rows ECE {:.4} → {:.4}, NLL {:.4} → {:.4}",
                t.t, t.ece_before, t.ece_after, b.ece, after.ece, b.nll, after.nll
            );
        }
    }
    if let Some(c) = &coverage {
        print_coverage(c, &pred);
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

/// Prints regression metrics, each line indented by `indent`.
fn print_regression(r: &RegressionMetrics, indent: &str) {
    println!("{indent}RMSE           {:.4}", r.rmse);
    println!("{indent}MAE            {:.4}", r.mae);
    println!(
        "{indent}log-likelihood {:.4} (mean per point, original units; NLL {:.4})",
        r.log_lik, r.nll
    );
    println!("{indent}CRPS           {:.4}", r.crps);
    for c in &r.coverage {
        println!(
            "{indent}coverage of the central {:>2.0}% interval: {:.1}%",
            100.0 * c.level,
            100.0 * c.observed
        );
    }
    println!(
        "{indent}calibration error {:.4} (mean |p − share of PIT ≤ p|, p = 0.05…0.95)",
        r.calibration_error
    );
}

/// Prints the coverage and mean width (set size) of the Bayesian and conformal regions.
fn print_coverage(c: &calibrate::CoverageComparison, pred: &Predictive) {
    let (what, size) = match pred {
        Predictive::Classification(_) => ("set", "mean set size"),
        _ => ("interval", "mean width"),
    };
    let pct = 100.0 * c.level;
    println!(
        "  Bayesian {pct:.0}% {what}:  coverage {:.1}%, {size} {:.4}",
        100.0 * c.bayes.coverage,
        c.bayes.mean_size
    );
    match &c.conformal {
        Some(k) => println!(
            "  conformal {pct:.0}% {what}: coverage {:.1}%, {size} {:.4}",
            100.0 * k.coverage,
            k.mean_size
        ),
        None => println!("  conformal {pct:.0}% {what}: none (fit with --calibrate conformal)"),
    }
}
