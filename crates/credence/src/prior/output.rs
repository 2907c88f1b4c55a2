//! Priors stated on what a network may output (`[output_prior]`): "a tract's median value is
//! between $5k and $50k", "before data the model should not be more than 90% sure of any class".
//! Credence turns the statement into weight priors, layer by layer, and records them as factual
//! (or value) priors calibrated to the statement.
//!
//! The construction. Hidden layers get Normal(0, 1/√fan-in) weights and Normal(0, 1) biases, so
//! that on standardised inputs every hidden unit's pre-activation has variance about 2 and works
//! in its responsive range (not saturated, as Normal(0, 1) weights on 13 inputs saturate tanh).
//! The output layer gets Normal(0, κ/√H) weights and a Normal(c, κ) bias. Its output is then
//! f = c + κ·u, where u is the output with κ = 1, c = 0: a scale family in κ. So the prior
//! predictive of f matches a stated central interval exactly, up to Monte Carlo error in one
//! quantile: c is the interval's centre (standardised units), κ = half-width / q, with q the
//! `mass` quantile of |u| over prior draws and the training inputs. A classifier's logits are
//! κ·u (c = 0) and κ is found by bisection so that the `mass` quantile of the largest class
//! probability equals the stated `confidence`. A fresh Monte Carlo run reports the interval the
//! calibrated prior achieves beside the stated one.
//!
//! What is matched is the network's mean function f(x) at the training inputs, not a new
//! observation (f plus noise): the noise has its own prior.

use super::{NoiseParam, Prior, PriorSet, Provenance};
use crate::dist::Dist;
use crate::error::{Error, Result};
use crate::model::ModelSpec;
use crate::nn::GroupKind;
use crate::rng;
use serde::{Deserialize, Serialize};

/// Prior draws of the network used to calibrate (each at up to [`ROWS`] training inputs).
pub const DRAWS: usize = 2000;
/// Training rows used per draw (evenly spaced through the data).
pub const ROWS: usize = 64;

/// A belief about the network's outputs, in the target's original units (`[output_prior]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputPrior {
    /// Regression: the outputs lie in `[lo, hi]` with probability `mass`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[f64; 2]>,
    /// Probability of `range` (or the central mass used with `mean` and `sd`).
    #[serde(default = "default_mass")]
    pub mass: f64,
    /// Regression: the outputs' centre (with `sd`, a Normal-shaped statement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Regression: the outputs' spread (with `mean`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd: Option<f64>,
    /// Classification: with probability `mass`, the prior's largest class probability is at
    /// most this (it should not be sure of any class before data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Where the statement comes from (required).
    pub provenance: Provenance,
}

fn default_mass() -> f64 {
    0.95
}

impl OutputPrior {
    /// Checks the statement; `file` names the config in errors.
    pub fn validate(&self, file: &str) -> Result<()> {
        let err = |m: String| {
            Err(Error::Config {
                file: file.into(),
                message: format!("[output_prior]: {m}"),
            })
        };
        if !(self.mass > 0.0 && self.mass < 1.0) {
            return err(format!("mass must be in (0, 1), found {}", self.mass));
        }
        if self.provenance.source.trim().is_empty() {
            return err("provenance.source is empty; say where the statement comes from".into());
        }
        let regression = self.range.is_some() || self.mean.is_some() || self.sd.is_some();
        match (regression, self.confidence) {
            (false, None) => {
                return err("state range = [lo, hi] (or mean and sd) for a regression, or confidence for a classifier".into())
            }
            (true, Some(_)) => {
                return err(
                    "confidence is for classifiers; range, mean and sd for regression — not both"
                        .into(),
                )
            }
            _ => {}
        }
        if let Some([lo, hi]) = self.range {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return err(format!(
                    "range must be [lo, hi] with lo < hi, found [{lo}, {hi}]"
                ));
            }
        }
        if self.range.is_none() && regression && (self.mean.is_none() || self.sd.is_none()) {
            return err("give range = [lo, hi], or both mean and sd".into());
        }
        if let Some(sd) = self.sd {
            if !(sd > 0.0 && sd.is_finite()) {
                return err(format!("sd must be positive, found {sd}"));
            }
        }
        if let Some(c) = self.confidence {
            if !(c > 0.0 && c < 1.0) {
                return err(format!("confidence must be in (0, 1), found {c}"));
            }
        }
        Ok(())
    }

    /// The statement in words, as the provenance records it.
    pub fn describe(&self) -> String {
        let pct = 100.0 * self.mass;
        if let Some(c) = self.confidence {
            return format!(
                "with probability {pct:.0}%, no class more than {:.0}% probable before data",
                100.0 * c
            );
        }
        match (self.range, self.mean, self.sd) {
            (Some([lo, hi]), m, _) => format!(
                "outputs in [{lo}, {hi}] with probability {pct:.0}%{}",
                m.map_or(String::new(), |m| format!(", mean {m}"))
            ),
            (None, Some(m), Some(s)) => format!("outputs with mean {m} and sd {s}"),
            _ => "an output belief".into(),
        }
    }
}

/// What the calibration found and how well the prior matches the statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The statement in words.
    pub statement: String,
    /// Output-layer scale κ.
    pub scale: f64,
    /// Output-layer bias location c (standardised units).
    pub centre: f64,
    /// Regression: the stated central interval (original units); classification: (0, confidence).
    pub stated: [f64; 2],
    /// The same interval (or the `mass` quantile of the largest class probability) under the
    /// calibrated prior, from a fresh Monte Carlo run.
    pub achieved: [f64; 2],
    /// Probability of the interval.
    pub mass: f64,
    /// What could not be met, in words.
    pub warnings: Vec<String>,
}

/// The layer-wise priors for output-layer scale `kappa` and bias centre `centre`.
fn layer_priors(spec: &ModelSpec, kappa: f64, centre: f64, prov: &Provenance) -> Vec<Prior> {
    let layout = spec.net.layout(false);
    let layers = layout.groups.iter().map(|g| g.layer).max().unwrap_or(0);
    let mut out = Vec::new();
    let normal = |params: String, loc: f64, scale: f64| Prior {
        params,
        distribution: Dist::Normal { loc, scale },
        provenance: prov.clone(),
        on: NoiseParam::Scale,
        per_parameter: None,
        hierarchy: None,
    };
    for g in &layout.groups {
        let fan_in = g.fan_in.max(1) as f64;
        let last = g.layer == layers;
        let (w, b, loc) = if last {
            (kappa / fan_in.sqrt(), kappa, centre)
        } else {
            (1.0 / fan_in.sqrt(), 1.0, 0.0)
        };
        match g.kind {
            GroupKind::Weight => out.push(normal(g.name.clone(), 0.0, w)),
            GroupKind::Bias => out.push(normal(g.name.clone(), loc, b)),
            GroupKind::Noise => {}
        }
    }
    out
}

/// Rows evenly spaced through `rows` (at most [`ROWS`]).
fn row_subset(x: &[f64], rows: usize, features: usize) -> (Vec<f64>, usize) {
    let n = rows.clamp(1, ROWS);
    let mut out = Vec::with_capacity(n * features);
    for i in 0..n {
        let r = i * rows / n;
        out.extend_from_slice(&x[r * features..(r + 1) * features]);
    }
    (out, n)
}

/// The network's outputs (`outputs` per row) under `priors` at `x`, for `draws` prior draws.
fn simulate(
    spec: &ModelSpec,
    priors: &PriorSet,
    x: &[f64],
    rows: usize,
    draws: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>> {
    let layout = spec.layout();
    // The noise group, if any, needs a prior to resolve; it does not affect f.
    let mut set = priors.clone();
    if layout.group("noise").is_some() {
        set.priors.push(Prior {
            params: "noise".into(),
            distribution: Dist::HalfNormal { scale: 1.0 },
            provenance: Provenance::default_with("calibration only", ""),
            on: NoiseParam::Scale,
            per_parameter: None,
            hierarchy: None,
        });
    }
    let resolved = set.resolve(&layout, "[output_prior]")?;
    let mut r = rng::stream(seed, 0x0a7b_0000);
    let mut ws = spec.net.workspace(rows);
    let mut theta = vec![0.0; spec.dim()];
    let mut out = Vec::with_capacity(draws);
    for _ in 0..draws {
        resolved.sample(&mut r, &mut theta);
        spec.net.forward(&theta, x, rows, &mut ws);
        out.push(ws.output().to_vec());
    }
    Ok(out)
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    crate::explain::quantile(sorted, p)
}

/// Calibrates the weight priors of `spec` to the statement `belief`, on standardised training
/// inputs `x` (`rows × features`) with the target standardised by `y_mean`, `y_std`. Returns the
/// weight and bias priors (to which the caller adds a noise prior) and the calibration record.
pub fn calibrate(
    belief: &OutputPrior,
    spec: &ModelSpec,
    x: &[f64],
    rows: usize,
    (y_mean, y_std): (f64, f64),
    seed: u64,
) -> Result<(Vec<Prior>, Calibration)> {
    belief.validate("[output_prior]")?;
    let features = spec.net.inputs();
    if rows == 0 || x.len() < rows * features {
        return Err(Error::Invalid(
            "an output prior needs the training inputs".into(),
        ));
    }
    let (xs, n) = row_subset(x, rows, features);
    let k = spec.net.outputs();
    let statement = belief.describe();
    let prov = Provenance {
        kind: belief.provenance.kind,
        source: belief.provenance.source.clone(),
        note: format!(
            "calibrated to the stated output belief \"{statement}\"{}",
            if belief.provenance.note.is_empty() {
                String::new()
            } else {
                format!("; {}", belief.provenance.note)
            }
        ),
        holder: belief.provenance.holder.clone(),
    };
    let mut warnings = Vec::new();
    let base = PriorSet {
        priors: layer_priors(spec, 1.0, 0.0, &prov),
    };
    let outs = simulate(spec, &base, &xs, n, DRAWS, seed)?;
    let lik = &spec.likelihood;
    if let Some(conf) = belief.confidence {
        if !lik.is_classification() {
            return Err(Error::Invalid(
                "[output_prior] confidence is for classifiers (bernoulli or categorical likelihood)"
                    .into(),
            ));
        }
        let classes = lik.classes().max(2);
        if conf <= 1.0 / classes as f64 {
            return Err(Error::Invalid(format!(
                "[output_prior] confidence {conf} cannot be met: with {classes} classes the largest probability is at least 1/{classes}"
            )));
        }
        // The mass quantile of the largest class probability with logits κ·u.
        let top = |outs: &[Vec<f64>], kappa: f64| -> f64 {
            let mut v = Vec::with_capacity(outs.len() * n);
            for o in outs {
                for row in o.chunks(k) {
                    v.push(max_prob(row, kappa));
                }
            }
            v.sort_by(f64::total_cmp);
            quantile(&v, belief.mass)
        };
        let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
        while top(&outs, hi) < conf && hi < 1e6 {
            hi *= 2.0;
        }
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if top(&outs, mid) < conf {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let kappa = 0.5 * (lo + hi);
        let priors = layer_priors(spec, kappa, 0.0, &prov);
        let check = simulate(
            spec,
            &PriorSet {
                priors: priors.clone(),
            },
            &xs,
            n,
            DRAWS,
            seed ^ 0x5eed,
        )?;
        let achieved = top(&check, 1.0);
        if (achieved - conf).abs() > 0.05 {
            warnings.push(format!(
                "this network cannot meet the statement: under the calibrated prior the {:.0}% quantile of the largest class probability is {achieved:.3}, not {conf}",
                100.0 * belief.mass
            ));
        }
        return Ok((
            priors,
            Calibration {
                statement,
                scale: kappa,
                centre: 0.0,
                stated: [0.0, conf],
                achieved: [0.0, achieved],
                mass: belief.mass,
                warnings,
            },
        ));
    }
    if !lik.is_regression() || matches!(lik, crate::likelihood::Likelihood::Poisson) {
        return Err(Error::Invalid(format!(
            "[output_prior] range/mean/sd is supported for gaussian, heteroscedastic and student-t likelihoods, not {}",
            lik.name()
        )));
    }
    // The stated central interval in original units.
    let p_hi = 0.5 + 0.5 * belief.mass;
    let [lo, hi] = match (belief.range, belief.mean, belief.sd) {
        (Some(r), _, _) => r,
        (None, Some(m), Some(s)) => {
            let z = crate::eval::diagnostics::normal_quantile(p_hi);
            [m - z * s, m + z * s]
        }
        _ => {
            return Err(Error::Invalid(
                "[output_prior] needs range, or mean and sd".into(),
            ))
        }
    };
    if let (Some([a, b]), Some(m)) = (belief.range, belief.mean) {
        let mid = 0.5 * (a + b);
        if (m - mid).abs() > 1e-9 * (b - a) {
            warnings.push(format!(
                "the network's prior outputs are symmetric about their centre, so the stated mean {m} and the range's midpoint {mid} cannot both be met: the range is matched, centred on {mid}"
            ));
        }
    }
    let one_output = k == 1;
    let (lo_s, hi_s) = ((lo - y_mean) / y_std, (hi - y_mean) / y_std);
    let mut centre = 0.5 * (lo_s + hi_s);
    if !one_output && centre != 0.0 {
        warnings.push(format!(
            "the output layer's bias is shared by the mean and the log-scale outputs ({}), so its prior stays centred on the training mean {y_mean:.4} (the stated centre is {:.4}); the interval's width is matched",
            lik.name(),
            0.5 * (lo + hi)
        ));
        centre = 0.0;
    }
    let half = 0.5 * (hi_s - lo_s);
    let mean_of = |row: &[f64]| lik.mean_var(row, 0.0).0;
    let mut u: Vec<f64> = outs
        .iter()
        .flat_map(|o| o.chunks(k).map(mean_of).collect::<Vec<_>>())
        .map(f64::abs)
        .collect();
    u.sort_by(f64::total_cmp);
    let q = quantile(&u, belief.mass);
    if !(q > 0.0 && q.is_finite()) {
        return Err(Error::Numeric(format!(
            "[output_prior]: the network's prior outputs have no spread to calibrate (quantile {q})"
        )));
    }
    let kappa = half / q;
    let priors = layer_priors(spec, kappa, centre, &prov);
    let check = simulate(
        spec,
        &PriorSet {
            priors: priors.clone(),
        },
        &xs,
        n,
        DRAWS,
        seed ^ 0x5eed,
    )?;
    let mut f: Vec<f64> = check
        .iter()
        .flat_map(|o| o.chunks(k).map(mean_of).collect::<Vec<_>>())
        .map(|m| y_mean + y_std * m)
        .collect();
    f.sort_by(f64::total_cmp);
    let achieved = [quantile(&f, 1.0 - p_hi), quantile(&f, p_hi)];
    let off = (achieved[0] - lo).abs().max((achieved[1] - hi).abs());
    if off > 0.1 * (hi - lo) {
        warnings.push(format!(
            "this network cannot meet the statement: its calibrated prior puts the central {:.0}% of outputs in [{:.4}, {:.4}], not the stated [{lo}, {hi}]",
            100.0 * belief.mass,
            achieved[0],
            achieved[1]
        ));
    }
    Ok((
        priors,
        Calibration {
            statement,
            scale: kappa,
            centre,
            stated: [lo, hi],
            achieved,
            mass: belief.mass,
            warnings,
        },
    ))
}

/// The largest softmax probability of logits `kappa · row` (a single logit: Bernoulli).
fn max_prob(row: &[f64], kappa: f64) -> f64 {
    if row.len() == 1 {
        let p = 1.0 / (1.0 + (-kappa * row[0]).exp());
        return p.max(1.0 - p);
    }
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = row.iter().map(|v| (kappa * (v - m)).exp()).sum();
    1.0 / s
}

/// Replaces the weight and bias priors of `set` by those calibrated to `belief` (the noise prior
/// stays); returns the calibration record. Arguments as [`calibrate`].
pub fn apply(
    set: &mut PriorSet,
    belief: &OutputPrior,
    spec: &ModelSpec,
    x: &[f64],
    rows: usize,
    y_stats: (f64, f64),
    seed: u64,
) -> Result<Calibration> {
    let (layers, cal) = calibrate(belief, spec, x, rows, y_stats, seed)?;
    set.priors.retain(|p| p.params == "noise");
    let noise = std::mem::replace(&mut set.priors, layers);
    set.priors.extend(noise);
    Ok(cal)
}
