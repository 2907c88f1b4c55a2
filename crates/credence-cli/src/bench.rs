//! `credence bench uci`, `grad`, `classify` and `nuts` (`shift` is in bench_shift.rs).

use crate::bench_calibrate as calibrate_bench;
use crate::cli::{BenchCommand, ClassifyArgs, GradArgs, NutsBenchArgs, UciArgs};
use crate::io;
use crate::progress::Bar;
use anyhow::{Context, Result};
use credence::Method;

/// Runs a benchmark subcommand.
pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Uci(a) => uci(&a),
        BenchCommand::Grad(a) => grad(&a),
        BenchCommand::Shift(a) => crate::bench_shift::shift(&a),
        BenchCommand::Classify(a) => classify(&a),
        BenchCommand::Nuts(a) => nuts(&a),
    }
}

fn grad(a: &GradArgs) -> Result<()> {
    use credence::bench::grad::{cpu_name, run_case, GradCase};
    let isa = credence::nn::Isa::detect();
    let mut out = serde_json::Map::new();
    let default_cases = if a.cnn { "" } else { "small,big,boston" };
    let cases = a.cases.as_deref().unwrap_or(default_cases);
    let mlp = cases.split(',').any(|s| !s.trim().is_empty());
    let Some(activation) = credence::nn::Activation::parse(&a.activation) else {
        anyhow::bail!(
            "--activation: unknown activation '{}' (expected tanh, relu, sigmoid, softplus or gelu)",
            a.activation
        );
    };
    if !a.output.json && mlp {
        println!(
            "gradient of U(θ) = Σ(y − f)²/(2σ²) + Σθ²/(2τ²), σ = 0.5, τ = 1, {} MLP — CPU {}, kernels {}, {} threads",
            activation.name(),
            cpu_name(),
            isa.name(),
            rayon_threads()
        );
        println!(
            "{:<8} {:>10} {:>12} {:>10} {:>14} {:>14} {:>14} {:>14}",
            "case", "f64 µs", "f64 1-thr µs", "f32 µs", "U(θ₀)", "expected", "‖∇U‖²", "expected"
        );
    }
    for name in cases.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let case = match name {
            "small" => GradCase::small(),
            "big" => GradCase::big(),
            "boston" => {
                let dir = a.boston.clone().or_else(|| {
                    [
                        std::path::PathBuf::from("data/bostonHousing"),
                        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                            .join("../../data/bostonHousing"),
                    ]
                    .into_iter()
                    .find(|p| p.join("data.txt").exists())
                });
                let Some(dir) = dir else {
                    anyhow::bail!("no bostonHousing folder found: pass --boston DIR");
                };
                GradCase::boston(&dir)
                    .with_context(|| format!("reading bostonHousing from {}", dir.display()))?
            }
            other => anyhow::bail!("unknown case '{other}' (expected small, big or boston)"),
        }
        .with_activation(activation);
        let r = run_case(&case, a.scale, a.repeats.max(1))
            .with_context(|| format!("running case {name}"))?;
        if !a.output.json {
            let f = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.6e}"));
            println!(
                "{:<8} {:>10.1} {:>12.1} {:>10.1} {:>14.6e} {:>14} {:>14.6e} {:>14}",
                name,
                r.f64_us,
                r.f64_1t_us,
                r.f32_us,
                r.loss,
                f(r.expected_loss),
                r.grad_norm2,
                f(r.expected_grad_norm2)
            );
        }
        out.insert(name.to_string(), serde_json::to_value(&r)?);
    }
    if a.cnn {
        out.insert("cnn".into(), cnn(a)?);
    }
    out.insert("cpu".into(), cpu_name().into());
    out.insert("isa".into(), isa.name().into());
    out.insert("threads".into(), rayon_threads().into());
    if a.output.json {
        println!("{}", serde_json::Value::Object(out));
    }
    Ok(())
}

/// `bench grad --cnn`: the LeNet gradient of `../shared/peers/cnn_bench`, its check values
/// (the command fails when they disagree with the peer's in the fifth digit) and timings.
fn cnn(a: &GradArgs) -> Result<serde_json::Value> {
    use credence::bench::cnn::{LeNet, EXPECTED_GRAD_NORM2, EXPECTED_LOSS, ROWS};
    let case = LeNet::new(ROWS);
    let r = case
        .run(a.cnn_iters.max(1), a.repeats.max(1))
        .context("running the CNN benchmark")?;
    if !a.output.json {
        println!(
            "CNN (LeNet, 256 × 28×28, summed softmax cross-entropy) — CPU {}, kernels {}, {} threads",
            credence::bench::grad::cpu_name(),
            credence::nn::Isa::detect().name(),
            rayon_threads()
        );
        println!(
            "  loss {:.6e} (f32 {:.6e}, expected {:.6e}); ‖∇‖² {:.6e} (f32 {:.6e}, expected {:.6e})",
            r.loss, r.loss_f32, EXPECTED_LOSS, r.grad_norm2, r.grad_norm2_f32, EXPECTED_GRAD_NORM2
        );
        println!(
            "  µs per gradient: f32 {:.0} (1 thread) / {:.0} ({} threads); f64 {:.0} (1 thread) / {:.0} ({} threads)",
            r.f32_1t_us,
            r.f32_us,
            rayon_threads(),
            r.f64_1t_us,
            r.f64_us,
            rayon_threads()
        );
    }
    Ok(serde_json::to_value(&r)?)
}

fn classify(a: &ClassifyArgs) -> Result<()> {
    let config = io::config(a.config.as_deref())?;
    let table = io::table(&a.data, &credence::data::ReadOptions::default())?;
    let data =
        credence::data::Dataset::from_table(&table, &a.target, None).context("choosing columns")?;
    if let Some(c) = &a.calibrate {
        return calibrate_bench::classify(a, c, &data, &config);
    }
    let mut results = Vec::new();
    for name in &a.methods {
        let method = Method::parse(name)?;
        let bar = Bar::new(!a.output.json && !a.output.quiet);
        let r = credence::uncertainty::run_classification(
            &data,
            method,
            &config,
            a.test_fraction,
            a.ood_from,
            a.seed,
            &bar,
        )
        .with_context(|| format!("{} on {}", method.name(), a.data.display()))?;
        results.push(r);
    }
    if a.output.json {
        println!("{}", serde_json::to_string(&results)?);
        return Ok(());
    }
    let first = &results[0];
    println!(
        "{} — stratified split seed {}: {} train / {} test rows{}",
        a.data.display(),
        a.seed,
        first.train_rows,
        first.test_rows,
        a.ood_from
            .map(|k| format!(
                ", OOD = labels ≥ {k} ({} rows)",
                first.ood.as_ref().map_or(0, |o| o.ood_rows)
            ))
            .unwrap_or_default()
    );
    println!(
        "{:<18} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10} {:>8}",
        "method", "acc", "NLL", "Brier", "ECE", "MCE", "AUROC(H)", "AUROC(MI)", "seconds"
    );
    for r in &results {
        let m = &r.metrics;
        let au = |s: &str| {
            r.ood
                .as_ref()
                .and_then(|o| o.scores.iter().find(|x| x.score == s))
                .map_or("—".to_string(), |x| format!("{:.3}", x.auroc))
        };
        println!(
            "{:<18} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>10} {:>10} {:>8.1}",
            r.method,
            m.accuracy,
            m.nll,
            m.brier,
            m.ece,
            m.mce,
            au("entropy"),
            au("mutual_information"),
            r.seconds
        );
    }
    Ok(())
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn uci(a: &UciArgs) -> Result<()> {
    let method = Method::parse(&a.method)?;
    let mut config = io::config(a.config.as_deref())?;
    a.sampler.apply(&mut config.inference);
    a.laplace.apply(&mut config.inference);
    if a.max_memory.is_some() {
        config.max_memory = a.max_memory;
    }
    let bar = Bar::new(!a.output.json && !a.output.quiet);
    let selection = match &a.split_ids {
        Some(ids) => credence::uci::SplitSelection::Ids(ids.clone()),
        None => credence::uci::SplitSelection::First(a.splits),
    };
    if let Some(c) = &a.calibrate {
        return calibrate_bench::uci(a, c, method, &config, selection, &bar);
    }
    let r = credence::uci::run_selected(&a.dir, method, &config, &selection, a.seed, &bar)
        .with_context(|| format!("running the UCI protocol on {}", a.dir.display()))?;
    if a.output.json {
        let mut v = serde_json::to_value(&r)?;
        if let Some(o) = v.as_object_mut().filter(|_| !a.per_split) {
            o.remove("per_split");
        }
        println!("{v}");
        return Ok(());
    }
    println!(
        "UCI {} — {} splits, {:.1} s",
        r.dataset, r.splits, r.seconds
    );
    println!("{:<40} {:>15} {:>16}", "method", "test RMSE", "test LL");
    println!(
        "{:<40} {:>8.3} ± {:<5.3} {:>8.3} ± {:<5.3}",
        format!("credence {} (this run)", r.method),
        r.rmse_mean,
        r.rmse_se,
        r.ll_mean,
        r.ll_se
    );
    let published = a.published.clone().or_else(|| {
        let p = a.dir.parent()?.join("published_results.csv");
        p.exists().then_some(p)
    });
    if let Some(p) = published {
        for row in credence::uci::published(&p, &r.dataset)? {
            let f = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.2}"));
            println!(
                "{:<40} {:>8} ± {:<5} {:>8} ± {:<5}",
                row.method,
                f(row.rmse_mean),
                f(row.rmse_se),
                f(row.ll_mean),
                f(row.ll_se)
            );
        }
    }
    Ok(())
}

/// Efficiency figures of one sampler run.
#[derive(Debug, Clone, serde::Serialize)]
struct EssRun {
    sampler: String,
    seed: u64,
    seconds_warmup: f64,
    seconds_sampling: f64,
    seconds_total: f64,
    gradients_sampling: u64,
    ms_per_gradient: f64,
    divergences: usize,
    /// Draws kept (all chains).
    draws: usize,
    ess_noise_precision: f64,
    ess_log_density: f64,
    /// Smallest ESS of the predictive mean over the test points.
    ess_pred_mean_min: f64,
    test_rmse: f64,
    test_ll: f64,
}

impl EssRun {
    fn per_s(&self, ess: f64) -> (f64, f64) {
        (ess / self.seconds_sampling, ess / self.seconds_total)
    }
}

fn ess(chains: &[Vec<f64>]) -> f64 {
    credence::eval::diagnostics::ess_bulk(chains)
}

fn credence_nuts(a: &NutsBenchArgs, seed: u64) -> Result<EssRun> {
    use credence::infer::McmcOutcome;
    use credence::LogDensity;
    let folder = credence::data::uci::UciFolder::open(&a.dir)?;
    let (train, test) = folder.split(a.split)?;
    let mut config = io::config(a.config.as_deref())?;
    if a.config.is_none() {
        config.model.hidden = vec![folder.n_hidden];
    }
    if config.priors.is_none() {
        // The peer's model (NumPyro script): Gamma(6, 6) on the noise precision, not Credence's
        // default half-normal on σ, so both samplers see the same posterior.
        let mut p = credence::PriorSet::default_priors();
        for q in &mut p.priors {
            if q.params == "noise" {
                q.distribution = credence::dist::Dist::Gamma {
                    shape: 6.0,
                    rate: 6.0,
                };
                q.on = credence::prior::NoiseParam::Precision;
                q.provenance = credence::Provenance::default_with(
                    "the NumPyro peer's model (PBP's prior)",
                    "Gamma(6, 6) on the noise precision, as in ../shared/peers/uci/nuts_numpyro.py",
                );
            }
        }
        config.priors = Some(p);
    }
    // NumPyro's defaults: one chain, tree depth ≤ 10.
    for (k, v) in [
        ("chains", 1),
        ("warmup", 500),
        ("draws", 500),
        ("max_depth", 10),
    ] {
        config
            .inference
            .entry(k.to_string())
            .or_insert(toml::Value::Integer(v));
    }
    a.sampler.apply(&mut config.inference);
    let t0 = std::time::Instant::now();
    let model = credence::fit(
        &train,
        &config,
        credence::FitOptions {
            method: Method::Nuts,
            seed,
            progress: &credence::infer::Silent,
            strict_columns: false,
        },
    )?;
    let total = t0.elapsed().as_secs_f64();
    let o: McmcOutcome = serde_json::from_value(model.record.outcome.clone())?;
    let chains = o.chains.len();
    let rec = &model.record;
    let spec = &rec.model;
    let draws = model.posterior.tensors().remove(0);
    let dim = draws.shape[1];
    let per_chain = draws.shape[0] / chains;
    let theta: Vec<&[f64]> = draws.data.chunks(dim).collect();
    let by_chain = |f: &mut dyn FnMut(&[f64]) -> f64| -> Vec<Vec<f64>> {
        (0..chains)
            .map(|c| {
                theta[c * per_chain..(c + 1) * per_chain]
                    .iter()
                    .map(|t| f(t))
                    .collect()
            })
            .collect()
    };
    let nd = spec.net.dim();
    let tau = by_chain(&mut |t| (-2.0 * t[nd]).exp());
    let std_train = rec.standardizer.transform(&train)?;
    let priors = rec
        .priors
        .as_ref()
        .context("the fit has no priors")?
        .resolve(&spec.layout(), "bench")?;
    let mut m = credence::model::Model::new(spec.clone(), Some(priors), &std_train)?;
    m.jacobian = true;
    let mut g = vec![0.0; dim];
    let logp = by_chain(&mut |t| m.logp_grad(t, &mut g).unwrap_or(f64::NAN));
    let xt = rec.standardizer.transform_x(&test)?;
    let k = a.test_points.min(test.rows);
    let mut ess_pred = f64::INFINITY;
    for i in 0..k {
        let row = &xt[i * test.features..(i + 1) * test.features];
        let f = by_chain(&mut |t| spec.net.predict(t, row, 1)[0]);
        ess_pred = ess_pred.min(ess(&f));
    }
    let credence::Predictive::Regression(p) = model.predict(&test, seed)? else {
        anyhow::bail!("regression expected");
    };
    let met = credence::eval::regression_metrics(&p, &test.y);
    let sampling = o
        .chains
        .iter()
        .map(|c| c.seconds_sampling)
        .fold(0.0, f64::max);
    let warm = o
        .chains
        .iter()
        .map(|c| c.seconds_warmup)
        .fold(0.0, f64::max);
    Ok(EssRun {
        sampler: format!(
            "credence nuts ({chains} chain{})",
            if chains > 1 { "s" } else { "" }
        ),
        seed,
        seconds_warmup: warm,
        seconds_sampling: sampling,
        seconds_total: total,
        gradients_sampling: o.chains.iter().map(|c| c.gradients_sampling).sum(),
        ms_per_gradient: o.ms_per_gradient,
        divergences: o.divergences,
        draws: chains * per_chain,
        ess_noise_precision: ess(&tau),
        ess_log_density: ess(&logp),
        ess_pred_mean_min: ess_pred,
        test_rmse: met.rmse,
        test_ll: met.log_lik,
    })
}

fn numpyro_nuts(a: &NutsBenchArgs, python: &std::path::Path, seed: u64) -> Result<EssRun> {
    let peers = a
        .peers
        .as_ref()
        .context("--numpyro-python needs --peers (the folder of the peers' uci.py)")?;
    let dataset = a
        .dir
        .file_name()
        .context("dataset folder has no name")?
        .to_string_lossy()
        .to_string();
    let root = a.dir.parent().context("dataset folder has no parent")?;
    let t0 = std::time::Instant::now();
    let out = std::process::Command::new(python)
        .arg(&a.numpyro_script)
        .arg("--peers")
        .arg(peers)
        .arg("--uci-root")
        .arg(root)
        .args(["--dataset", &dataset])
        .args(["--split", &a.split.to_string()])
        .args(["--seed", &seed.to_string()])
        .args(["--test-points", &a.test_points.to_string()])
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    let process_s = t0.elapsed().as_secs_f64();
    if !out.status.success() {
        anyhow::bail!(
            "NumPyro run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().context("NumPyro printed nothing")?;
    let v: serde_json::Value = serde_json::from_str(line)?;
    let arr = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
            .unwrap_or_default()
    };
    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let sampling = f("wall_sampling_s");
    let warm = f("wall_warmup_s");
    let steps = v["leapfrog_steps_sampling"].as_u64().unwrap_or(0);
    let mut ess_pred = f64::INFINITY;
    for row in v["f_test"].as_array().into_iter().flatten() {
        ess_pred = ess_pred.min(ess(&[arr(row)]));
    }
    let _ = process_s;
    Ok(EssRun {
        sampler: format!(
            "numpyro {} nuts (1 chain)",
            v["numpyro"].as_str().unwrap_or("?")
        ),
        seed,
        seconds_warmup: warm,
        seconds_sampling: sampling,
        // Warm-up (including JIT compilation) plus sampling, as the peer's RESULTS.md counts it.
        seconds_total: warm + sampling,
        gradients_sampling: steps,
        ms_per_gradient: 1e3 * sampling / steps.max(1) as f64,
        divergences: v["divergences"].as_u64().unwrap_or(0) as usize,
        draws: arr(&v["tau"]).len(),
        ess_noise_precision: ess(&[arr(&v["tau"])]),
        ess_log_density: ess(&[arr(&v["log_density"])]),
        ess_pred_mean_min: ess_pred,
        test_rmse: f("test_rmse"),
        test_ll: f("test_ll"),
    })
}

fn nuts(a: &NutsBenchArgs) -> Result<()> {
    let mut runs = Vec::new();
    for &seed in &a.seeds {
        if let Some(py) = &a.numpyro_python {
            let r = numpyro_nuts(a, py, seed)?;
            // Each run as soon as it ends, so a cut-off benchmark still leaves its figures.
            eprintln!("{}", serde_json::to_string(&r)?);
            runs.push(r);
        }
        let r = credence_nuts(a, seed)?;
        eprintln!("{}", serde_json::to_string(&r)?);
        runs.push(r);
    }
    if a.json {
        println!("{}", serde_json::to_string(&runs)?);
        return Ok(());
    }
    println!(
        "ESS per second (ESS: rank-normalised bulk ESS, same estimator for every sampler); sampling phase / whole run"
    );
    println!(
        "{:<26} {:>4} {:>7} {:>7} {:>7} {:>8} {:>5} {:>15} {:>15} {:>15} {:>7} {:>7}",
        "sampler",
        "seed",
        "warm s",
        "samp s",
        "total s",
        "ms/grad",
        "div",
        "τ ESS/s",
        "logp ESS/s",
        "f(x) ESS/s",
        "RMSE",
        "LL"
    );
    for r in &runs {
        let (t1, t2) = r.per_s(r.ess_noise_precision);
        let (l1, l2) = r.per_s(r.ess_log_density);
        let (f1, f2) = r.per_s(r.ess_pred_mean_min);
        println!(
            "{:<26} {:>4} {:>7.1} {:>7.1} {:>7.1} {:>8.4} {:>5} {:>7.1}/{:<7.1} {:>7.1}/{:<7.1} {:>7.1}/{:<7.1} {:>7.3} {:>7.3}",
            r.sampler, r.seed, r.seconds_warmup, r.seconds_sampling, r.seconds_total,
            r.ms_per_gradient, r.divergences, t1, t2, l1, l2, f1, f2, r.test_rmse, r.test_ll
        );
    }
    println!("ESS: τ = noise precision; logp = log density; f(x) = smallest over the first test points of the predictive-mean ESS");
    println!();
    println!(
        "ESS per 1000 gradient evaluations in the sampling phase (independent of machine load)"
    );
    println!(
        "{:<26} {:>4} {:>9} {:>9} {:>9} {:>12}",
        "sampler", "seed", "τ", "logp", "f(x)", "grads/draw"
    );
    for r in &runs {
        let k = 1e3 / r.gradients_sampling.max(1) as f64;
        println!(
            "{:<26} {:>4} {:>9.2} {:>9.2} {:>9.2} {:>12.0}",
            r.sampler,
            r.seed,
            r.ess_noise_precision * k,
            r.ess_log_density * k,
            r.ess_pred_mean_min * k,
            r.gradients_sampling as f64 / r.draws as f64
        );
    }
    Ok(())
}
