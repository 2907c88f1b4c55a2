//! The report's sections, each computed from the fitted model, the evaluation data and
//! (optionally) a decision file.

use super::html::{esc, p, page, section, table};
use crate::config::Config;
use crate::data::Dataset;
use crate::decide::{Decision, DecisionSpec, DecisionSummary};
use crate::error::Result;
use crate::eval::{metrics, Metrics};
use crate::fit::{config_of, fit, FitOptions, FittedModel};
use crate::infer::{predict_draws, Method, Silent};
use crate::plot::{histogram, line_plot, Histogram, LinePlot, Series};
use crate::predict::class_prior::adjust;
use crate::predict::{ClassPrior, Predictive};
use crate::rng;

/// Section ids, in order (the tests check each is present).
pub const SECTION_IDS: [&str; 10] = [
    "summary",
    "priors",
    "prior-vs-posterior",
    "predictive-band",
    "calibration",
    "information",
    "training",
    "diagnostics",
    "comparison",
    "decisions",
];

/// What a report is made from.
pub struct ReportInput<'a> {
    /// The fitted model.
    pub model: &'a FittedModel,
    /// Rows with targets to evaluate on (raw units).
    pub data: &'a Dataset,
    /// A decision file and the decisions made under it, if any.
    pub decisions: Option<(&'a DecisionSpec, &'a [Decision])>,
    /// Input column for the predictive band (index into the features).
    pub band_input: usize,
    /// Refit MLE and MAP on the training data for comparison.
    pub compare: bool,
    /// Already computed comparison rows (method name, metrics on the same data).
    pub extra_rows: Vec<(String, Metrics)>,
    /// Seed.
    pub seed: u64,
    /// Deployment class prevalence that re-weights a classifier's probabilities, if any.
    pub class_prior: Option<&'a ClassPrior>,
    /// A few-rows-against-all-rows comparison to show with the comparison, if any.
    pub data_size: Option<&'a crate::eval::data_size::DataSizeStudy>,
}

/// A model's predictive at `data`, re-weighted to the report's class prior when there is one.
fn predict_at(inp: &ReportInput<'_>, model: &FittedModel, data: &Dataset) -> Result<Predictive> {
    let pred = model.predict(data, inp.seed)?;
    match inp.class_prior {
        Some(cp) => adjust(&pred, model.record.training_prevalence()?, cp),
        None => Ok(pred),
    }
}

fn fmt(v: f64) -> String {
    if v.abs() >= 1e4 || (v != 0.0 && v.abs() < 1e-3) {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

fn metric_rows(m: &Metrics) -> Vec<(String, f64)> {
    match m {
        Metrics::Regression(r) => vec![
            ("RMSE".into(), r.rmse),
            ("MAE".into(), r.mae),
            ("log-likelihood per point".into(), r.log_lik),
        ],
        Metrics::Classification(c) => vec![
            ("accuracy".into(), c.accuracy),
            ("NLL".into(), c.nll),
            ("Brier".into(), c.brier),
        ],
        Metrics::MultiRegression(v) => v
            .iter()
            .flat_map(|t| {
                [
                    (format!("{}: RMSE", t.target), t.metrics.rmse),
                    (format!("{}: MAE", t.target), t.metrics.mae),
                    (
                        format!("{}: log-likelihood per point", t.target),
                        t.metrics.log_lik,
                    ),
                ]
            })
            .collect(),
    }
}

fn summary(inp: &ReportInput<'_>, m: &Metrics) -> String {
    let r = &inp.model.record;
    let mut rows = vec![
        vec!["method".into(), r.method.clone()],
        vec!["priors".into(), r.prior_summary.clone()],
        vec![
            "network".into(),
            format!("{} → {}", r.model.net.describe(), r.model.likelihood.name()),
        ],
        vec![
            "trained on".into(),
            format!(
                "{} ({} rows, fingerprint {})",
                r.data.source, r.data.rows, r.data.fingerprint
            ),
        ],
        vec![
            "evaluated on".into(),
            format!("{} ({} rows)", inp.data.source, inp.data.rows),
        ],
    ];
    if let Some(note) = r.class_prior_note(inp.class_prior) {
        rows.push(vec!["class prior".into(), note]);
    }
    for (k, v) in metric_rows(m) {
        rows.push(vec![k, fmt(v)]);
    }
    section("summary", "Summary", &table(&["", ""], &rows))
}

fn priors(inp: &ReportInput<'_>) -> String {
    let r = &inp.model.record;
    let body = match &r.priors {
        None => p(&format!(
            "{}: the likelihood alone shaped this model.",
            crate::prior::NO_PRIOR
        )),
        Some(set) => {
            let mut h = String::from("<table><thead><tr><th>parameters</th><th>distribution</th><th>covers</th><th>provenance</th><th>source</th><th>note</th></tr></thead><tbody>");
            for (i, pr) in set.priors.iter().enumerate() {
                let groups: Vec<&str> = r
                    .prior_assignment
                    .iter()
                    .filter(|(_, j)| *j == i)
                    .map(|(g, _)| g.as_str())
                    .collect();
                let kind = pr.provenance.kind.as_str();
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{kind}\">{kind}</td><td>{}</td><td>{}</td></tr>",
                    esc(&pr.params),
                    esc(&match &pr.per_parameter {
                        Some(pp) => format!(
                            "{} independent Normals, one per parameter (mean loc, rms scale: {})",
                            pp.loc.len(),
                            pr.distribution.describe()
                        ),
                        None => pr.distribution.describe(),
                    }),
                    esc(&groups.join(", ")),
                    esc(&pr.provenance.source),
                    esc(&pr.provenance.note)
                ));
            }
            h.push_str("</tbody></table>");
            h
        }
    };
    let extra = if r.prior_summary.contains("hidden prior") {
        p(&r.prior_summary)
    } else {
        String::new()
    };
    section("priors", "Priors and their provenance", &(body + &extra))
}

/// Predictions of networks drawn from the prior at the data rows (original units), with noise.
fn prior_predictive_samples(inp: &ReportInput<'_>, draws: usize) -> Result<Option<Vec<f64>>> {
    let r = &inp.model.record;
    let Some(set) = &r.priors else {
        return Ok(None);
    };
    let spec = &r.model;
    let resolved = set.resolve(&spec.layout(), "the fit record")?;
    let mut g = rng::stream(inp.seed, 0x9a1);
    let x = r.standardizer.transform_x(inp.data)?;
    let thetas: Vec<Vec<f64>> = (0..draws)
        .map(|_| {
            let mut t = vec![0.0; spec.dim()];
            resolved.sample(&mut g, &mut t);
            t
        })
        .collect();
    let pred = predict_draws(spec, &thetas, &x, inp.data.rows)?;
    Ok(Some(sample_outcomes(
        &pred,
        r.standardizer.y_mean,
        r.standardizer.y_std,
        &mut g,
    )))
}

/// One sampled outcome per (component, row), in original units (regression), or the
/// probability of the last class (classification).
fn sample_outcomes(pred: &Predictive, y_mean: f64, y_std: f64, g: &mut rng::Rng) -> Vec<f64> {
    match pred {
        Predictive::Regression(rp) => {
            let mut out = Vec::new();
            for c in 0..rp.components() {
                for n in 0..rp.rows {
                    let sd = (rp.noise_var[c][n] + rp.func_var[c][n]).sqrt();
                    out.push(y_mean + y_std * (rp.means[c][n] + sd * rng::normal(g)));
                }
            }
            out
        }
        // `build` refuses multi-target models before any section runs.
        Predictive::MultiRegression(_) => Vec::new(),
        Predictive::Classification(cp) => {
            let k = cp.classes;
            cp.members
                .iter()
                .flat_map(|m| (0..cp.rows).map(move |n| m[n * k + k - 1]))
                .collect()
        }
    }
}

fn prior_vs_posterior(inp: &ReportInput<'_>, post: &Predictive) -> Result<String> {
    let mut g = rng::stream(inp.seed, 0x9a2);
    let classification = matches!(post, Predictive::Classification(_));
    let x_label = if classification {
        "predicted probability of the last class"
    } else {
        "predicted outcome (original units)"
    };
    let post_samples = sample_outcomes(post, 0.0, 1.0, &mut g);
    let mut body = String::new();
    let prior = prior_predictive_samples(inp, 100)?;
    let observed = &inp.data.y;
    let (lo, hi) = observed
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    match prior {
        None => body.push_str(&p(
            "Maximum likelihood has no prior, so there is no prior predictive to show.",
        )),
        Some(s) => {
            let mut sorted = s.clone();
            sorted.sort_by(f64::total_cmp);
            let q = |f: f64| sorted[((sorted.len() - 1) as f64 * f) as usize];
            if !classification {
                body.push_str(&p(&format!(
                    "Before seeing data, the prior's 1–99% predictive range is [{}, {}]; the observed targets span [{}, {}].",
                    fmt(q(0.01)),
                    fmt(q(0.99)),
                    fmt(lo),
                    fmt(hi)
                )));
            }
            let clipped: Vec<f64> = s
                .into_iter()
                .filter(|v| *v >= q(0.005) && *v <= q(0.995))
                .collect();
            body.push_str(&histogram(
                &Histogram {
                    title: "prior predictive (networks drawn from the prior)".into(),
                    x_label: x_label.into(),
                    values: clipped,
                    bins: 40,
                },
                520,
                320,
            )?);
        }
    }
    body.push_str(&histogram(
        &Histogram {
            title: "posterior predictive".into(),
            x_label: x_label.into(),
            values: post_samples,
            bins: 40,
        },
        520,
        320,
    )?);
    Ok(section(
        "prior-vs-posterior",
        "What the prior believed, and what the data changed",
        &body,
    ))
}

fn predictive_band(inp: &ReportInput<'_>) -> Result<String> {
    let d = inp.data;
    let f = inp.band_input.min(d.features - 1);
    let col: Vec<f64> = (0..d.rows).map(|n| d.x[n * d.features + f]).collect();
    let (lo, hi) = col
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let means: Vec<f64> = (0..d.features)
        .map(|c| (0..d.rows).map(|n| d.x[n * d.features + c]).sum::<f64>() / d.rows as f64)
        .collect();
    let grid = 80;
    let mut x = Vec::with_capacity(grid * d.features);
    let xs: Vec<f64> = (0..grid)
        .map(|i| lo + (hi - lo) * i as f64 / (grid - 1) as f64)
        .collect();
    for &v in &xs {
        for (c, m) in means.iter().enumerate() {
            x.push(if c == f { v } else { *m });
        }
    }
    let gd = Dataset {
        x,
        y: vec![0.0; grid],
        rows: grid,
        ..d.clone()
    };
    let pred = predict_at(inp, inp.model, &gd)?;
    let name = &d.feature_names[f];
    let note = format!(
        "Input '{name}' varies over its observed range; the other inputs are held at their means."
    );
    let plot = match &pred {
        Predictive::Regression(r) => {
            let (m, e, a) = (r.mean(), r.epistemic_var(), r.aleatoric_var());
            let pts: Vec<(f64, f64)> = xs.iter().zip(&m).map(|(x, y)| (*x, *y)).collect();
            let total: Vec<(f64, f64, f64)> = (0..grid)
                .map(|i| {
                    let s = 2.0 * (e[i] + a[i]).sqrt();
                    (xs[i], m[i] - s, m[i] + s)
                })
                .collect();
            let epi: Vec<(f64, f64, f64)> = (0..grid)
                .map(|i| {
                    let s = 2.0 * e[i].sqrt();
                    (xs[i], m[i] - s, m[i] + s)
                })
                .collect();
            line_plot(
                &LinePlot {
                    title: "predictive mean ± 2 sd: total (outer) and epistemic (inner)".into(),
                    x_label: name.clone(),
                    y_label: d.target_label(),
                    series: vec![
                        Series::with_band("total (epistemic + aleatoric)", vec![], total),
                        Series::with_band("mean, epistemic band", pts, epi),
                    ],
                },
                720,
                380,
            )?
        }
        Predictive::MultiRegression(_) => {
            return Err(crate::predict::one_target_only("the report"))
        }
        Predictive::Classification(c) => {
            let probs = c.probs();
            let mi = c.mutual_information();
            let mut series: Vec<Series> = (0..c.classes)
                .map(|k| {
                    Series::line(
                        format!("P(class {k})"),
                        (0..grid)
                            .map(|i| (xs[i], probs[i * c.classes + k]))
                            .collect(),
                    )
                })
                .collect();
            series.push(
                Series::line(
                    "mutual information (epistemic)",
                    (0..grid).map(|i| (xs[i], mi[i])).collect(),
                )
                .dashed(),
            );
            line_plot(
                &LinePlot {
                    title: "class probabilities and epistemic uncertainty".into(),
                    x_label: name.clone(),
                    y_label: "probability / nats".into(),
                    series,
                },
                720,
                380,
            )?
        }
    };
    Ok(section(
        "predictive-band",
        "Predictive distribution along one input",
        &(p(&note) + &plot),
    ))
}

fn calibration(pred: &Predictive, y: &[f64]) -> Result<String> {
    let body = match pred {
        Predictive::Regression(r) => {
            let levels = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
            let mut pts = Vec::new();
            let mut rows = Vec::new();
            for &l in &levels {
                let iv = r.interval(l);
                let cov = iv
                    .iter()
                    .zip(y)
                    .filter(|((a, b), t)| *a <= **t && **t <= *b)
                    .count() as f64
                    / y.len() as f64;
                pts.push((l, cov));
                rows.push(vec![
                    format!("{:.0}%", 100.0 * l),
                    format!("{:.1}%", 100.0 * cov),
                ]);
            }
            let plot = line_plot(
                &LinePlot {
                    title: "interval coverage: observed vs nominal".into(),
                    x_label: "nominal level of the central interval".into(),
                    y_label: "share of targets inside".into(),
                    series: vec![
                        Series::line("ideal", vec![(0.0, 0.0), (1.0, 1.0)]).dashed(),
                        Series::line("observed", pts),
                    ],
                },
                520,
                380,
            )?;
            plot + &table(&["nominal", "observed"], &rows)
        }
        Predictive::MultiRegression(_) => {
            return Err(crate::predict::one_target_only("the report"))
        }
        Predictive::Classification(c) => {
            let probs = c.probs();
            let pred = c.predicted();
            let bins = 10;
            let mut acc = vec![(0.0, 0.0, 0usize); bins];
            for n in 0..c.rows {
                let conf = probs[n * c.classes + pred[n]];
                let b = ((conf * bins as f64) as usize).min(bins - 1);
                acc[b].0 += conf;
                acc[b].1 += f64::from(u8::from(pred[n] == y[n] as usize));
                acc[b].2 += 1;
            }
            let pts: Vec<(f64, f64)> = acc
                .iter()
                .filter(|b| b.2 > 0)
                .map(|b| (b.0 / b.2 as f64, b.1 / b.2 as f64))
                .collect();
            let rows: Vec<Vec<String>> = acc
                .iter()
                .enumerate()
                .filter(|(_, b)| b.2 > 0)
                .map(|(i, b)| {
                    vec![
                        format!(
                            "{:.1}–{:.1}",
                            i as f64 / bins as f64,
                            (i + 1) as f64 / bins as f64
                        ),
                        b.2.to_string(),
                        fmt(b.0 / b.2 as f64),
                        fmt(b.1 / b.2 as f64),
                    ]
                })
                .collect();
            line_plot(
                &LinePlot {
                    title: "reliability diagram".into(),
                    x_label: "confidence".into(),
                    y_label: "accuracy".into(),
                    series: vec![
                        Series::line("ideal", vec![(0.0, 0.0), (1.0, 1.0)]).dashed(),
                        Series::line("observed", pts),
                    ],
                },
                520,
                380,
            )? + &table(
                &["confidence bin", "rows", "mean confidence", "accuracy"],
                &rows,
            )
        }
    };
    Ok(section("calibration", "Calibration", &body))
}

fn information(inp: &ReportInput<'_>) -> String {
    let r = &inp.model.record;
    let Some(var) = inp.model.posterior.marginal_variances() else {
        return section(
            "information",
            "Information from the data, per layer",
            &p("This posterior is a single point (no spread), so how much the data narrowed each layer's prior cannot be measured here; fit a Bayesian method (laplace, vi, nuts, ensemble) to see it."),
        );
    };
    let Some(set) = &r.priors else {
        return section(
            "information",
            "Information from the data, per layer",
            &p("No prior, so there is nothing to compare the posterior with."),
        );
    };
    let Ok(mut resolved) = set.resolve(&r.model.layout(), "record") else {
        return section(
            "information",
            "Information from the data, per layer",
            &p("The recorded priors do not match the network."),
        );
    };
    resolved.hierarchy.name_inputs(&r.data.features);
    crate::infer::hierarchical::apply_learned_scales(&r.outcome, &mut resolved);
    let center = inp.model.posterior.center();
    let (groups, layers) =
        crate::explain::information::group_information(&r.model, &resolved, &center, &var);
    let opt = |v: Option<f64>| v.map_or("—".to_string(), fmt);
    let rows: Vec<Vec<String>> = layers
        .iter()
        .chain(&groups)
        .map(|g| {
            vec![
                g.name.clone(),
                if g.covered == g.params {
                    g.params.to_string()
                } else {
                    format!("{} of {}", g.covered, g.params)
                },
                opt(g.variance_ratio),
                opt(g.kl),
                g.kl_method.clone(),
            ]
        })
        .collect();
    let mut note = p("Posterior-to-prior variance ratio near 1: the data said little about that layer or group; near 0: the data pinned it down. The posterior of each parameter is summarised by a Gaussian with its posterior mean and marginal variance (moment-matched for draws and ensembles); KL(posterior ‖ prior) is the sum over parameters, against each parameter's own prior (its mean included).");
    if let Some(e) = r.information.as_ref().and_then(|i| i.epistemic.as_ref()) {
        note.push_str(&p(&format!(
            "On {} training inputs, {:.1}% of the predictive {} is epistemic under the posterior{}.",
            e.rows,
            100.0 * e.posterior,
            e.measure,
            e.prior
                .map_or(String::new(), |v| format!(" and {:.1}% under the prior", 100.0 * v))
        )));
    }
    section(
        "information",
        "Information from the data, per layer",
        &(note
            + &table(
                &[
                    "layer / group",
                    "parameters",
                    "posterior/prior variance",
                    "KL (nats)",
                    "KL computed by",
                ],
                &rows,
            )),
    )
}

fn training(inp: &ReportInput<'_>) -> Result<String> {
    let o = &inp.model.record.outcome;
    let mut body = String::new();
    for (key, title) in [
        ("trace", "objective per epoch (negative log joint)"),
        ("elbo", "ELBO per step"),
    ] {
        if let Some(v) = o.get(key).and_then(|t| t.as_array()) {
            let pts: Vec<(f64, f64)> = v
                .iter()
                .enumerate()
                .filter_map(|(i, x)| x.as_f64().map(|y| (i as f64 + 1.0, y)))
                .collect();
            if pts.len() > 1 {
                body.push_str(&line_plot(
                    &LinePlot {
                        title: title.into(),
                        x_label: "step".into(),
                        y_label: key.into(),
                        series: vec![Series::line(key, pts)],
                    },
                    640,
                    320,
                )?);
            }
        }
    }
    // Laplace: the network's objective per epoch, and the evidence trace of online tuning.
    let online = o.get("online");
    // (title, y label, points); x is the epoch.
    type Trace<'t> = (&'t str, &'t str, Vec<(f64, f64)>);
    let mut laplace_series: Vec<Trace> = Vec::new();
    if let Some(v) = o
        .get("map")
        .and_then(|m| m.get("trace"))
        .and_then(|t| t.as_array())
    {
        let pts = v
            .iter()
            .enumerate()
            .filter_map(|(i, x)| x.as_f64().map(|y| (i as f64 + 1.0, y)))
            .collect();
        laplace_series.push((
            "network objective per epoch (negative log joint)",
            "trace",
            pts,
        ));
    }
    if let Some(v) = online
        .and_then(|m| m.get("trace"))
        .and_then(|t| t.as_array())
    {
        let pts = v
            .iter()
            .filter_map(|x| Some((x.get("epoch")?.as_f64()?, x.get("log_evidence")?.as_f64()?)))
            .collect();
        laplace_series.push(("log evidence during online tuning", "log evidence", pts));
    }
    for (title, y_label, pts) in laplace_series {
        if pts.len() > 1 {
            body.push_str(&line_plot(
                &LinePlot {
                    title: title.into(),
                    x_label: "epoch".into(),
                    y_label: y_label.into(),
                    series: vec![Series::line(y_label, pts)],
                },
                640,
                320,
            )?);
        }
    }
    if let Some(on) = online {
        let epoch = on.get("best_epoch").and_then(|v| v.as_u64());
        let ev = on.get("best_log_evidence").and_then(|v| v.as_f64());
        if let (Some(e), Some(v)) = (epoch, ev) {
            body.push_str(&p(&format!(
                "Online evidence tuning kept the network and hyperparameters of epoch {e} (log evidence {}, no held-out rows used).",
                fmt(v)
            )));
        }
    }
    if let Some(e) = o
        .get("early_stopping_epoch")
        .and_then(|v| v.as_u64())
        .or_else(|| {
            o.get("map")
                .and_then(|m| m.get("early_stopping_epoch"))
                .and_then(|v| v.as_u64())
        })
    {
        body.push_str(&p(&format!(
            "Early stopping chose {e} epochs on held-out training rows."
        )));
    }
    if body.is_empty() {
        body = p("No training trace was recorded for this method.");
    }
    Ok(section("training", "Training", &body))
}

/// Trace of each draw's mean log density of the evaluation rows (regression), in draw order.
fn draw_trace(pred: &Predictive, y: &[f64]) -> Option<Vec<(f64, f64)>> {
    let Predictive::Regression(r) = pred else {
        return None;
    };
    if r.components() < 2 {
        return None;
    }
    Some(
        (0..r.components())
            .map(|c| {
                let ll: f64 = (0..r.rows)
                    .map(|n| {
                        let v = r.noise_var[c][n] + r.func_var[c][n];
                        -0.5 * (y[n] - r.means[c][n]).powi(2) / v
                            - 0.5 * (2.0 * std::f64::consts::PI * v).ln()
                    })
                    .sum();
                (c as f64 + 1.0, ll / r.rows as f64)
            })
            .collect(),
    )
}

fn diagnostics(inp: &ReportInput<'_>, pred: &Predictive) -> Result<String> {
    let o = &inp.model.record.outcome;
    let cell = |v: &serde_json::Value| match v {
        serde_json::Value::Number(n) if n.is_f64() => n.as_f64().map_or(n.to_string(), fmt),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let Some(sampler) = o.get("sampler").and_then(|s| s.as_str()) else {
        return Ok(section(
            "diagnostics",
            "Sampler diagnostics",
            &p("Not a sampling method: no sampler diagnostics."),
        ));
    };
    let mut body = p(&format!(
        "Sampler {sampler}: {} divergences, {} transitions at the maximum tree depth, {} gradient evaluations.",
        o.get("divergences").map_or("?".into(), cell),
        o.get("max_depth_hits").map_or("?".into(), cell),
        o.get("gradients").map_or("?".into(), cell)
    ));
    for w in o
        .get("warnings")
        .and_then(|w| w.as_array())
        .into_iter()
        .flatten()
    {
        body.push_str(&format!("<p class=\"warn\">{}</p>", esc(&cell(w))));
    }
    // One table per list of records (diagnosed quantities, chains).
    for (key, title) in [
        (
            "quantities",
            "R-hat and effective sample size of the log density and of predictions",
        ),
        ("chains", "per chain"),
    ] {
        let Some(list) = o
            .get(key)
            .and_then(|q| q.as_array())
            .filter(|l| !l.is_empty())
        else {
            continue;
        };
        let Some(first) = list[0].as_object() else {
            continue;
        };
        let header: Vec<&str> = first
            .keys()
            .map(String::as_str)
            .filter(|k| !first[*k].is_array())
            .collect();
        let rows: Vec<Vec<String>> = list
            .iter()
            .filter_map(|r| r.as_object())
            .map(|r| {
                header
                    .iter()
                    .map(|h| r.get(*h).map_or(String::new(), cell))
                    .collect()
            })
            .collect();
        body.push_str(&p(title));
        body.push_str(&table(&header, &rows));
    }
    if let Some(pts) = draw_trace(pred, &inp.data.y) {
        body.push_str(&line_plot(
            &LinePlot {
                title: "trace: mean log density of the evaluation rows under each draw (chains in sequence)".into(),
                x_label: "draw".into(),
                y_label: "mean log density".into(),
                series: vec![Series::line("per draw", pts)],
            },
            720,
            320,
        )?);
    }
    Ok(section("diagnostics", "Sampler diagnostics", &body))
}

fn comparison(inp: &ReportInput<'_>, own: &Metrics) -> String {
    let r = &inp.model.record;
    let mut rows = vec![{
        let mut v = vec![format!("{} (this model)", r.method)];
        v.extend(metric_rows(own).iter().map(|(_, x)| fmt(*x)));
        v
    }];
    let header: Vec<String> = std::iter::once("method".to_string())
        .chain(metric_rows(own).into_iter().map(|(k, _)| k))
        .collect();
    let mut notes = String::new();
    for (name, mm) in &inp.extra_rows {
        let mut v = vec![name.clone()];
        v.extend(metric_rows(mm).iter().map(|(_, x)| fmt(*x)));
        rows.push(v);
    }
    if inp.compare {
        for m in [Method::Mle, Method::Map] {
            if m.name() == r.method {
                continue;
            }
            let outcome = (|| -> Result<Metrics> {
                let train = r.training_data()?;
                let cfg: Config = config_of(r, None)?;
                let fitted = fit(
                    &train,
                    &cfg,
                    FitOptions {
                        method: m,
                        seed: r.seed,
                        progress: &Silent,
                        strict_columns: false,
                    },
                )?;
                metrics(&predict_at(inp, &fitted, inp.data)?, &inp.data.y)
            })();
            match outcome {
                Ok(mm) => {
                    let mut v = vec![m.name().to_string()];
                    v.extend(metric_rows(&mm).iter().map(|(_, x)| fmt(*x)));
                    rows.push(v);
                }
                Err(e) => notes.push_str(&p(&format!("{} could not be refitted: {e}", m.name()))),
            }
        }
    } else if inp.extra_rows.is_empty() {
        notes.push_str(&p("Comparison refits were not requested."));
    }
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    if let Some(s) = inp.data_size {
        notes.push_str(&super::study::data_size(s));
    }
    section(
        "comparison",
        "Compared with maximum likelihood and MAP on the same data",
        &(table(&h, &rows) + &notes),
    )
}

fn decisions(inp: &ReportInput<'_>) -> String {
    let Some((spec, d)) = inp.decisions else {
        return section("decisions", "Decisions", &p("No decision file was given."));
    };
    let s = DecisionSummary::of(d);
    let mut body = format!(
        "<p>Values (<span class=\"value\">value</span> provenance): {}</p>",
        esc(&spec.provenance.describe())
    );
    body.push_str(&p(&format!(
        "{} rows; mean expected loss {}; mean value of perfect information {}.",
        s.rows,
        fmt(s.mean_expected_loss),
        fmt(s.mean_evpi)
    )));
    let counts: Vec<Vec<String>> = s
        .counts
        .iter()
        .map(|(a, c)| vec![a.clone(), c.to_string()])
        .collect();
    if !counts.is_empty() {
        body.push_str(&table(&["action", "rows"], &counts));
    }
    let rows: Vec<Vec<String>> = d
        .iter()
        .take(25)
        .map(|x| {
            vec![
                x.row.to_string(),
                x.value
                    .map_or(x.action.clone(), |v| format!("{} {}", x.action, fmt(v))),
                fmt(x.expected_loss),
                x.runner_up
                    .as_ref()
                    .map_or("—".into(), |(a, l)| format!("{a} ({})", fmt(*l))),
                x.prob_best.map_or("—".into(), fmt),
                fmt(x.evpi),
            ]
        })
        .collect();
    body.push_str(&table(
        &[
            "row",
            "action",
            "expected loss",
            "runner-up",
            "P(best)",
            "EVPI",
        ],
        &rows,
    ));
    section(
        "decisions",
        "Decisions (values kept apart from facts)",
        &body,
    )
}

/// Builds the whole report as one HTML string.
pub fn build(inp: &ReportInput<'_>) -> Result<String> {
    build_calibrated(inp, None)
}

/// [`build`] for a model with a stored post-hoc calibration: its temperature is applied to the
/// predictive the metrics use, and a section compares Bayesian and conformal regions.
pub fn build_calibrated(
    inp: &ReportInput<'_>,
    post_hoc: Option<&crate::calibrate::ModelCalibration>,
) -> Result<String> {
    if inp.model.record.model.targets() > 1 {
        return Err(crate::predict::one_target_only("the report"));
    }
    let raw = predict_at(inp, inp.model, inp.data)?;
    let pred = match post_hoc {
        Some(c) => c.apply(raw.clone()),
        None => raw.clone(),
    };
    let m = metrics(&pred, &inp.data.y)?;
    let mut body = String::new();
    body.push_str(&summary(inp, &m));
    body.push_str(&priors(inp));
    body.push_str(&prior_vs_posterior(inp, &pred)?);
    body.push_str(&predictive_band(inp)?);
    body.push_str(&calibration(&pred, &inp.data.y)?);
    if let Some(c) = post_hoc {
        body.push_str(&super::calibrated::section(c, &raw, &pred, &inp.data.y)?);
    }
    body.push_str(&information(inp));
    body.push_str(&training(inp)?);
    body.push_str(&diagnostics(inp, &pred)?);
    body.push_str(&comparison(inp, &m));
    body.push_str(&decisions(inp));
    Ok(page(
        &format!(
            "Credence report: {} on {}",
            inp.model.record.method, inp.model.record.data.target
        ),
        &body,
    ))
}
