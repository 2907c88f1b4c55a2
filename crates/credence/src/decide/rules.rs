//! The Bayes action per row: lowest posterior expected loss, with the runner-up, the probability
//! that the chosen action is the best one, and the expected value of perfect information.

use super::spec::{DecisionSpec, RegressionLoss};
use crate::error::{Error, Result};
use crate::predict::{Predictive, RegressionPredictive};
use crate::rng;
use serde::{Deserialize, Serialize};

/// The decision for one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Row index (0-based).
    pub row: usize,
    /// The chosen action.
    pub action: String,
    /// For losses whose action is a number (squared, absolute, pinball, asymmetric): that number.
    pub value: Option<f64>,
    /// Posterior expected loss of the chosen action.
    pub expected_loss: f64,
    /// The next-best action and its expected loss (discrete actions only).
    pub runner_up: Option<(String, f64)>,
    /// Probability, under the predictive, that the chosen action is the best one in hindsight
    /// (discrete actions only).
    pub prob_best: Option<f64>,
    /// Expected value of perfect information: how much knowing the outcome would save.
    pub evpi: f64,
}

/// Totals over rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionSummary {
    /// Rows decided.
    pub rows: usize,
    /// Count of each chosen action (discrete actions).
    pub counts: Vec<(String, usize)>,
    /// Mean posterior expected loss.
    pub mean_expected_loss: f64,
    /// Mean expected value of perfect information.
    pub mean_evpi: f64,
}

impl DecisionSummary {
    /// Summarises a list of decisions.
    pub fn of(d: &[Decision]) -> Self {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for x in d.iter().filter(|x| x.value.is_none()) {
            match counts.iter_mut().find(|(a, _)| *a == x.action) {
                Some((_, c)) => *c += 1,
                None => counts.push((x.action.clone(), 1)),
            }
        }
        let n = d.len().max(1) as f64;
        DecisionSummary {
            rows: d.len(),
            counts,
            mean_expected_loss: d.iter().map(|x| x.expected_loss).sum::<f64>() / n,
            mean_evpi: d.iter().map(|x| x.evpi).sum::<f64>() / n,
        }
    }
}

/// Ranks expected losses: (best, runner-up) indices.
fn best_two(losses: &[f64]) -> (usize, Option<usize>) {
    let mut order: Vec<usize> = (0..losses.len()).collect();
    order.sort_by(|&a, &b| losses[a].total_cmp(&losses[b]));
    (order[0], order.get(1).copied())
}

fn classify(
    spec: &DecisionSpec,
    probs: &[f64],
    classes: usize,
    rows: usize,
) -> Result<Vec<Decision>> {
    let m = spec.matrix().ok_or_else(|| Error::Config {
        file: spec.source.clone(),
        message: "the model is a classifier: the decision file needs `costs` or `[[criterion]]` entries, not a regression `loss`".into(),
    })?;
    if m[0].len() != classes {
        return Err(Error::Config {
            file: spec.source.clone(),
            message: format!(
                "the cost matrix has {} columns but the model has {classes} classes",
                m[0].len()
            ),
        });
    }
    // Best action in hindsight for each true class.
    let best_for: Vec<f64> = (0..classes)
        .map(|k| m.iter().map(|r| r[k]).fold(f64::INFINITY, f64::min))
        .collect();
    Ok((0..rows)
        .map(|n| {
            let p = &probs[n * classes..(n + 1) * classes];
            let losses: Vec<f64> = m
                .iter()
                .map(|r| r.iter().zip(p).map(|(c, q)| c * q).sum())
                .collect();
            let (a, b) = best_two(&losses);
            let prob_best = (0..classes)
                .filter(|&k| m[a][k] <= best_for[k])
                .map(|k| p[k])
                .sum();
            let perfect: f64 = (0..classes).map(|k| p[k] * best_for[k]).sum();
            Decision {
                row: n,
                action: spec.action_name(a),
                value: None,
                expected_loss: losses[a],
                runner_up: b.map(|b| (spec.action_name(b), losses[b])),
                prob_best: Some(prob_best),
                evpi: (losses[a] - perfect).max(0.0),
            }
        })
        .collect())
}

fn regress(spec: &DecisionSpec, p: &RegressionPredictive, seed: u64) -> Result<Vec<Decision>> {
    let loss = spec.loss.as_ref().ok_or_else(|| Error::Config {
        file: spec.source.clone(),
        message: "the model is a regression: the decision file needs a `loss`, not a cost matrix"
            .into(),
    })?;
    let mean = p.mean();
    let var: Vec<f64> = p.std().iter().map(|s| s * s).collect();
    let draws = 4000;
    let mut r = rng::stream(seed, 0xdec1);
    let mut sample_row = |n: usize| -> Vec<f64> {
        (0..draws)
            .map(|_| {
                let c = ((rng::uniform(&mut r) * p.components() as f64) as usize)
                    .min(p.components() - 1);
                let sd = (p.noise_var[c][n] + p.func_var[c][n]).sqrt();
                p.means[c][n] + sd * rng::normal(&mut r)
            })
            .collect()
    };
    let quantile_loss = |under: f64, over: f64, a: f64, ys: &[f64]| -> f64 {
        ys.iter()
            .map(|y| {
                if *y > a {
                    under * (y - a)
                } else {
                    over * (a - y)
                }
            })
            .sum::<f64>()
            / ys.len() as f64
    };
    let mut out = Vec::with_capacity(p.rows);
    for n in 0..p.rows {
        let d = match *loss {
            RegressionLoss::Squared => Decision {
                row: n,
                action: "estimate".into(),
                value: Some(mean[n]),
                expected_loss: var[n],
                runner_up: None,
                prob_best: None,
                evpi: var[n],
            },
            RegressionLoss::Absolute
            | RegressionLoss::Pinball { .. }
            | RegressionLoss::Asymmetric { .. } => {
                let (q, under, over) = match *loss {
                    RegressionLoss::Absolute => (0.5, 1.0, 1.0),
                    RegressionLoss::Pinball { quantile } => (quantile, quantile, 1.0 - quantile),
                    RegressionLoss::Asymmetric { under, over } => {
                        (under / (under + over), under, over)
                    }
                    _ => unreachable!("matched above"),
                };
                let a = p.quantile(n, q);
                let ys = sample_row(n);
                let el = quantile_loss(under, over, a, &ys);
                Decision {
                    row: n,
                    action: "estimate".into(),
                    value: Some(a),
                    expected_loss: el,
                    runner_up: None,
                    prob_best: None,
                    evpi: el,
                }
            }
            RegressionLoss::Threshold {
                threshold,
                false_alarm,
                miss,
            } => {
                let exceed = 1.0 - p.cdf(n, threshold);
                let losses = [false_alarm * (1.0 - exceed), miss * exceed];
                let (a, b) = best_two(&losses);
                Decision {
                    row: n,
                    action: spec.action_name(a),
                    value: None,
                    expected_loss: losses[a],
                    runner_up: b.map(|b| (spec.action_name(b), losses[b])),
                    prob_best: Some(if a == 0 { exceed } else { 1.0 - exceed }),
                    // With the outcome known, the right action always costs nothing.
                    evpi: losses[a],
                }
            }
        };
        out.push(d);
    }
    Ok(out)
}

/// Decides every row of a predictive under a decision spec (the seed drives Monte Carlo losses).
pub fn decide(pred: &Predictive, spec: &DecisionSpec, seed: u64) -> Result<Vec<Decision>> {
    match pred {
        Predictive::Classification(c) => classify(spec, &c.probs(), c.classes, c.rows),
        Predictive::Regression(r) => regress(spec, r, seed),
        Predictive::MultiRegression(_) => Err(crate::predict::one_target_only("decide")),
    }
}

/// Share of rows whose action differs between two decision lists (same rows).
pub fn flip_share(a: &[Decision], b: &[Decision]) -> f64 {
    let n = a.len().min(b.len()).max(1) as f64;
    a.iter()
        .zip(b)
        .filter(|(x, y)| x.action != y.action || x.value != y.value)
        .count() as f64
        / n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predict::ClassPredictive;

    const SPEC: &str = r#"
actions = ["treat", "monitor"]
classes = ["malignant", "benign"]
costs = [[1.0, 1.0], [20.0, 0.0]]
provenance = { kind = "value", source = "clinic policy", holder = "oncology board", note = "a missed malignancy costs 20x a false alarm" }
"#;

    #[test]
    fn bayes_action_matches_a_hand_computation() {
        let spec = DecisionSpec::parse("d.toml", SPEC).unwrap();
        // Row 0: P(malignant) = 0.04 → E[treat] = 1, E[monitor] = 20·0.04 = 0.8 → monitor.
        // Row 1: P(malignant) = 0.10 → E[treat] = 1, E[monitor] = 2.0 → treat.
        let pred = Predictive::Classification(ClassPredictive {
            rows: 2,
            classes: 2,
            members: vec![vec![0.04, 0.96, 0.10, 0.90]],
            mean: None,
        });
        let d = decide(&pred, &spec, 0).unwrap();
        assert_eq!(d[0].action, "monitor");
        assert!((d[0].expected_loss - 0.8).abs() < 1e-12);
        assert_eq!(d[0].runner_up, Some(("treat".into(), 1.0)));
        // Monitor is best in hindsight when benign (0.96); EVPI = 0.8 − (0.04·1 + 0.96·0) = 0.76.
        assert!((d[0].prob_best.unwrap() - 0.96).abs() < 1e-12);
        assert!((d[0].evpi - 0.76).abs() < 1e-12);
        assert_eq!(d[1].action, "treat");
        assert!((d[1].expected_loss - 1.0).abs() < 1e-12);
        assert!((d[1].evpi - (1.0 - 0.10)).abs() < 1e-12);
    }

    #[test]
    fn criteria_weights_combine_cost_matrices() {
        let text = r#"
actions = ["build", "protect"]
provenance = { kind = "value", source = "regional plan", holder = "council" }
[[criterion]]
name = "growth"
weight = 1.0
costs = [[0.0, 0.0], [5.0, 5.0]]
[[criterion]]
name = "environment"
weight = 3.0
costs = [[4.0, 0.0], [0.0, 0.0]]
"#;
        let spec = DecisionSpec::parse("d.toml", text).unwrap();
        assert_eq!(
            spec.matrix().unwrap(),
            vec![vec![12.0, 0.0], vec![5.0, 5.0]]
        );
    }

    #[test]
    fn factual_provenance_is_refused_in_a_decision_file() {
        let e = DecisionSpec::parse("d.toml", &SPEC.replace("\"value\"", "\"factual\""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("d.toml") && e.contains("values"), "{e}");
    }

    #[test]
    fn threshold_and_quantile_losses() {
        let spec = DecisionSpec::parse(
            "d.toml",
            "loss = { kind = \"threshold\", threshold = 1.0, false_alarm = 1.0, miss = 4.0 }\nprovenance = { kind = \"value\", source = \"s\" }\n",
        )
        .unwrap();
        // y ~ N(0, 1): P(y > 1) = 0.158655; E[act] = 0.841345, E[wait] = 0.634620 → wait.
        let pred = Predictive::Regression(RegressionPredictive {
            rows: 1,
            family: crate::predict::NoiseFamily::Gaussian,
            means: vec![vec![0.0]],
            noise_var: vec![vec![1.0]],
            func_var: vec![vec![0.0]],
        });
        let d = decide(&pred, &spec, 0).unwrap();
        assert_eq!(d[0].action, "wait");
        assert!((d[0].expected_loss - 4.0 * 0.158_655_253_931_457).abs() < 1e-6);
        let spec = DecisionSpec::parse("d.toml", "loss = { kind = \"pinball\", quantile = 0.9 }\nprovenance = { kind = \"value\", source = \"s\" }\n").unwrap();
        let d = decide(&pred, &spec, 0).unwrap();
        assert!((d[0].value.unwrap() - 1.281_551_565_545).abs() < 1e-6);
        // Expected pinball loss at the optimum for N(0,1): φ(z_q) = 0.175498; MC error ≈ 0.005.
        assert!(
            (d[0].expected_loss - 0.175_498).abs() < 0.02,
            "{}",
            d[0].expected_loss
        );
    }
}
