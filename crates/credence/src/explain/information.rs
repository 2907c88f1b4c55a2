//! Information from the data, per layer and per parameter group: KL(posterior ‖ prior), the
//! posterior-to-prior variance ratio, and the share of predictive variance that remains epistemic
//! on the training inputs ("how much the data moved us"). Runs after inference, on the posterior
//! and the resolved priors; `fit` stores the result in the `FitRecord`.
//!
//! The posterior of each parameter is summarised by a Gaussian with its posterior mean and
//! marginal variance: exact for VI (mean-field), the marginals of a Laplace Gaussian, and a
//! moment-matched Gaussian for draws (MCMC, SG-MCMC, ensemble members). Per-group KL is the sum of
//! the per-parameter KLs of those marginals, which equals the joint KL for factorised posteriors
//! and is a lower bound on it when the posterior has correlations (Laplace KFAC/full).

use crate::dist::Dist;
use crate::error::Result;
use crate::infer::Posterior;
use crate::model::ModelSpec;
use crate::nn::GroupKind;
use crate::predict::Predictive;
use crate::prior::ResolvedPriors;
use crate::rng;
use serde::{Deserialize, Serialize};

/// Largest number of training rows the epistemic share is measured on (evenly spaced).
pub const MAX_ROWS: usize = 500;
/// Prior draws for the prior's epistemic variance.
pub const PRIOR_DRAWS: usize = 200;

/// What the data did to one parameter group (or one layer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupInformation {
    /// Group name (`layer1.weight`) or layer name (`layer1`).
    pub name: String,
    /// Parameters in the group.
    pub params: usize,
    /// Parameters with posterior spread (a last-layer Laplace holds the others at the MAP).
    pub covered: usize,
    /// KL(posterior ‖ prior) summed over the covered parameters, in nats; `None` when no
    /// parameter is covered or the KL is not finite.
    pub kl: Option<f64>,
    /// Mean over covered parameters of posterior variance / prior variance; `None` where the
    /// prior variance is undefined or infinite (Cauchy, Student-t with df ≤ 2).
    pub variance_ratio: Option<f64>,
    /// How the KL was computed for this group's prior.
    pub kl_method: String,
}

/// The share of predictive variance that is epistemic, on the training inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpistemicShare {
    /// Training rows it was measured on.
    pub rows: usize,
    /// "variance" (regression: epistemic / total variance) or "entropy" (classification:
    /// mutual information / predictive entropy), averaged over rows before the ratio.
    pub measure: String,
    /// Epistemic share under the posterior.
    pub posterior: f64,
    /// Epistemic share under the prior (prior predictive of `PRIOR_DRAWS` draws).
    pub prior: Option<f64>,
    /// Posterior epistemic variance (or mutual information) over the prior's.
    pub ratio_to_prior: Option<f64>,
}

/// Information from the data, as stored in the fit record and printed by `credence fit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Information {
    /// Whether the posterior has spread to measure.
    pub available: bool,
    /// Why not, when `available` is false (e.g. "no posterior spread: MAP is a point estimate").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// How the posterior was summarised per parameter.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub posterior: String,
    /// Per parameter group (network groups; the noise is not included).
    #[serde(default)]
    pub groups: Vec<GroupInformation>,
    /// Per layer (weights and bias together).
    #[serde(default)]
    pub layers: Vec<GroupInformation>,
    /// KL summed over every covered network parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_kl: Option<f64>,
    /// Epistemic share of predictive variance on the training inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epistemic: Option<EpistemicShare>,
}

impl Information {
    /// An entry saying that nothing can be measured, and why.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Information {
            available: false,
            reason: reason.into(),
            posterior: String::new(),
            groups: Vec::new(),
            layers: Vec::new(),
            total_kl: None,
            epistemic: None,
        }
    }

    /// Lines for a terminal summary.
    pub fn report_lines(&self) -> Vec<String> {
        if !self.available {
            return vec![self.reason.clone()];
        }
        let mut out = Vec::new();
        if !self.posterior.is_empty() {
            out.push(format!("posterior summarised as: {}", self.posterior));
        }
        if !self.groups.is_empty() {
            out.push(format!(
                "{:<16} {:>7} {:>12} {:>11} {:>10}  KL by",
                "group", "params", "KL (nats)", "KL/param", "var ratio"
            ));
            for g in self.layers.iter().chain(&self.groups) {
                let f = |v: Option<f64>, p: usize| {
                    v.map_or("—".to_string(), |v| format!("{:.4}", v / p.max(1) as f64))
                };
                out.push(format!(
                    "{:<16} {:>7} {:>12} {:>11} {:>10}  {}",
                    g.name,
                    if g.covered == g.params {
                        g.params.to_string()
                    } else {
                        format!("{}/{}", g.covered, g.params)
                    },
                    f(g.kl, 1),
                    f(g.kl, g.covered),
                    f(g.variance_ratio, 1),
                    g.kl_method
                ));
            }
            if let Some(t) = self.total_kl {
                out.push(format!("total KL(posterior ‖ prior) = {t:.3} nats"));
            }
        }
        if let Some(e) = &self.epistemic {
            let what = if e.measure == "entropy" {
                "of predictive entropy is mutual information (epistemic)"
            } else {
                "of predictive variance is epistemic"
            };
            let mut line = format!(
                "on {} training inputs, {:.1}% {what} under the posterior",
                e.rows,
                100.0 * e.posterior
            );
            if let Some(p) = e.prior {
                line.push_str(&format!(", {:.1}% under the prior", 100.0 * p));
            }
            out.push(line);
            if let Some(r) = e.ratio_to_prior {
                out.push(format!(
                    "the data shrank the epistemic {} to {:.2}% of the prior's",
                    if e.measure == "entropy" {
                        "mutual information"
                    } else {
                        "variance"
                    },
                    100.0 * r
                ));
            }
        }
        out
    }
}

/// Standard normal CDF.
fn phi_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// Nodes and weights of the trapezoid rule for E[f(Z)], Z ~ N(0, 1), on [−10, 10]: spectrally
/// accurate for the smooth log densities of the priors (|error| < 1e-12 for a Gaussian).
fn normal_rule() -> Vec<(f64, f64)> {
    let n = 400;
    let h = 20.0 / n as f64;
    (0..=n)
        .map(|k| {
            let z = -10.0 + h * k as f64;
            let w = h * (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
            (z, if k == 0 || k == n { 0.5 * w } else { w })
        })
        .collect()
}

/// KL(N(m, v) ‖ prior) for one parameter, and the method's name.
pub fn kl_gaussian_to(prior: &Dist, m: f64, v: f64, rule: &[(f64, f64)]) -> (f64, &'static str) {
    let sd = v.sqrt();
    // Entropy of N(m, v): ½ ln(2πe v).
    let h = 0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E * v).ln();
    match *prior {
        Dist::Normal { loc, scale } => {
            let r = v / (scale * scale);
            let d = (m - loc) / scale;
            (
                0.5 * (r + d * d - 1.0 - r.ln()),
                "closed form (normal prior)",
            )
        }
        Dist::Laplace { loc, scale } => {
            // E|w − loc| for w ~ N(m, v): the mean of a folded normal.
            let d = m - loc;
            let e_abs = sd * (2.0 / std::f64::consts::PI).sqrt() * (-0.5 * d * d / v).exp()
                + d * (1.0 - 2.0 * phi_cdf(-d / sd));
            (
                -h + (2.0 * scale).ln() + e_abs / scale,
                "closed form (laplace prior)",
            )
        }
        _ => {
            let e: f64 = rule
                .iter()
                .map(|(z, w)| w * prior.log_prob(m + sd * z))
                .sum();
            (-h - e, "quadrature of E_q[log prior]")
        }
    }
}

/// Per-group and per-layer information of a Gaussian summary (means `center`, marginal
/// variances `var`, NaN for parameters without spread) against the priors.
pub fn group_information(
    spec: &ModelSpec,
    priors: &ResolvedPriors,
    center: &[f64],
    var: &[f64],
) -> (Vec<GroupInformation>, Vec<GroupInformation>) {
    let layout = spec.layout();
    let dists = priors.parameter_dists(center.len());
    let rule = normal_rule();
    // Per parameter: (kl, ratio, method) when covered.
    let per: Vec<Option<(f64, f64, &'static str)>> = (0..center.len())
        .map(|i| {
            let d = dists.get(i).copied().flatten()?;
            let v = var.get(i).copied()?;
            if !(v.is_finite() && v > 0.0) {
                return None;
            }
            let (kl, how) = kl_gaussian_to(d, center[i], v, &rule);
            let pv = d.variance();
            let ratio = if pv.is_finite() && pv > 0.0 {
                v / pv
            } else {
                f64::NAN
            };
            Some((kl, ratio, how))
        })
        .collect();
    let summarise = |name: String, ranges: &[std::ops::Range<usize>]| {
        let items: Vec<(f64, f64, &str)> = ranges
            .iter()
            .flat_map(|r| r.clone())
            .filter_map(|i| per.get(i).copied().flatten())
            .collect();
        let params = ranges.iter().map(|r| r.len()).sum();
        let covered = items.len();
        let kl: f64 = items.iter().map(|t| t.0).sum();
        let ratio = items.iter().map(|t| t.1).sum::<f64>() / covered.max(1) as f64;
        let mut methods: Vec<&str> = items.iter().map(|t| t.2).collect();
        methods.sort_unstable();
        methods.dedup();
        GroupInformation {
            name,
            params,
            covered,
            kl: (covered > 0 && kl.is_finite()).then_some(kl),
            variance_ratio: (covered > 0 && ratio.is_finite()).then_some(ratio),
            kl_method: if methods.is_empty() {
                "not covered (held at the MAP)".into()
            } else {
                methods.join("; ")
            },
        }
    };
    let net: Vec<_> = layout
        .groups
        .iter()
        .filter(|g| g.kind != GroupKind::Noise)
        .collect();
    let groups = net
        .iter()
        .map(|g| summarise(g.name.clone(), &[g.range()]))
        .collect();
    let layers = (1..=net.iter().map(|g| g.layer).max().unwrap_or(0))
        .map(|l| {
            let ranges: Vec<_> = net
                .iter()
                .filter(|g| g.layer == l)
                .map(|g| g.range())
                .collect();
            summarise(format!("layer{l}"), &ranges)
        })
        .collect();
    (groups, layers)
}

/// Epistemic and total uncertainty of a predictive, averaged over rows.
fn shares(p: &Predictive) -> (f64, f64, &'static str) {
    match p {
        Predictive::Regression(r) => {
            let e = r.epistemic_var();
            let a = r.aleatoric_var();
            let n = r.rows.max(1) as f64;
            let me = e.iter().sum::<f64>() / n;
            let ma = a.iter().sum::<f64>() / n;
            (me, me + ma, "variance")
        }
        // Standardised units: each target's variances are comparable, so average them.
        Predictive::MultiRegression(v) => {
            let kt = v.len().max(1) as f64;
            let (mut me, mut mt) = (0.0, 0.0);
            for r in v {
                let n = r.rows.max(1) as f64;
                let e = r.epistemic_var().iter().sum::<f64>() / n;
                me += e / kt;
                mt += (e + r.aleatoric_var().iter().sum::<f64>() / n) / kt;
            }
            (me, mt, "variance (mean over targets)")
        }
        Predictive::Classification(c) => {
            let mi = c.mutual_information();
            let h = c.entropy();
            let n = c.rows.max(1) as f64;
            (
                mi.iter().sum::<f64>() / n,
                h.iter().sum::<f64>() / n,
                "entropy",
            )
        }
    }
}

/// How the posterior is summarised per parameter, by artifact kind.
fn describe_posterior(posterior: &dyn Posterior, spread_draws: Option<usize>) -> String {
    match posterior.kind() {
        "laplace" => "Gaussian: the Laplace posterior's marginal variances".into(),
        "gaussian-mf" => "mean-field Gaussian (VI): its means and variances".into(),
        "swag" => "Gaussian: SWAG's mean and the diagonal of its covariance (a mixture over MultiSWAG's members)".into(),
        "draws" => format!(
            "Gaussian moment-matched to {} draws (posterior mean and variance of each parameter)",
            spread_draws.unwrap_or(0)
        ),
        other => format!("{other} posterior"),
    }
}

/// The prior predictive of `PRIOR_DRAWS` draws at `x`, drawn and run in chunks so that at most
/// a few draws' parameter vectors are held at once (networks can be large).
fn prior_predictive(
    spec: &ModelSpec,
    priors: &ResolvedPriors,
    x: &[f64],
    rows: usize,
    seed: u64,
) -> Result<Predictive> {
    const CHUNK: usize = 10;
    let mut pr = rng::stream(seed, 0x1f1);
    let mut out: Option<Predictive> = None;
    for _ in 0..PRIOR_DRAWS.div_ceil(CHUNK) {
        let draws: Vec<Vec<f64>> = (0..CHUNK)
            .map(|_| {
                let mut t = vec![0.0; spec.dim()];
                priors.sample(&mut pr, &mut t);
                t
            })
            .collect();
        let p = crate::infer::predict_draws(spec, &draws, x, rows)?;
        out = Some(match (out, p) {
            (None, p) => p,
            (Some(Predictive::Regression(mut a)), Predictive::Regression(b)) => {
                a.means.extend(b.means);
                a.noise_var.extend(b.noise_var);
                a.func_var.extend(b.func_var);
                Predictive::Regression(a)
            }
            (Some(Predictive::MultiRegression(mut a)), Predictive::MultiRegression(b)) => {
                for (a, b) in a.iter_mut().zip(b) {
                    a.means.extend(b.means);
                    a.noise_var.extend(b.noise_var);
                    a.func_var.extend(b.func_var);
                }
                Predictive::MultiRegression(a)
            }
            (Some(Predictive::Classification(mut a)), Predictive::Classification(b)) => {
                a.members.extend(b.members);
                Predictive::Classification(a)
            }
            (Some(a), _) => a,
        });
    }
    out.ok_or_else(|| crate::error::Error::Invalid("no prior draws".into()))
}

/// Measures information from the data for a fitted posterior: `x` are the standardised training
/// inputs (`rows × features`), of which at most `MAX_ROWS` evenly spaced rows are used.
pub fn measure(
    spec: &ModelSpec,
    posterior: &dyn Posterior,
    priors: Option<&ResolvedPriors>,
    x: &[f64],
    rows: usize,
    seed: u64,
) -> Result<Information> {
    let Some(priors) = priors else {
        return Ok(Information::unavailable(
            "no prior (maximum likelihood) and no posterior spread: nothing to compare",
        ));
    };
    let draws = match posterior.kind() {
        "draws" => Some(posterior.tensors().first().map_or(0, |t| t.shape[0])),
        _ => None,
    };
    if draws == Some(1) {
        return Ok(Information::unavailable(
            "no posterior spread: a point estimate (MAP) has no variance, so KL(posterior ‖ prior) and variance ratios are not defined; fit laplace, vi, nuts or ensemble to measure them",
        ));
    }
    let mut info = Information::unavailable("");
    info.available = true;
    if let Some(var) = posterior.marginal_variances() {
        let center = posterior.center();
        let (groups, layers) = group_information(spec, priors, &center, &var);
        info.total_kl = groups
            .iter()
            .filter_map(|g| g.kl)
            .reduce(|a, b| a + b)
            .filter(|v| v.is_finite());
        info.groups = groups;
        info.layers = layers;
        info.posterior = describe_posterior(posterior, draws);
    } else {
        info.posterior = format!(
            "{} posterior: no per-parameter variances, so only the epistemic share is measured",
            posterior.kind()
        );
    }
    // Epistemic share on (up to MAX_ROWS of) the training inputs.
    let f = spec.net.inputs();
    if rows > 0 && x.len() == rows * f {
        let take = rows.min(MAX_ROWS);
        let xs: Vec<f64> = (0..take)
            .flat_map(|k| {
                let r = k * rows / take;
                x[r * f..(r + 1) * f].iter().copied()
            })
            .collect();
        let mut r = rng::stream(seed, 0x1f0);
        let post = posterior.predict(spec, &xs, take, &mut r)?;
        let (pe, pt, measure) = shares(&post);
        // The prior predictive may fail (e.g. a heavy-tailed prior overflows a network output);
        // the share under the prior is then reported as missing rather than failing the fit.
        let prior = prior_predictive(spec, priors, &xs, take, seed)
            .ok()
            .map(|p| shares(&p));
        let ok = |v: f64| v.is_finite().then_some(v);
        info.epistemic = Some(EpistemicShare {
            rows: take,
            measure: measure.into(),
            posterior: if pt > 0.0 { pe / pt } else { 0.0 },
            prior: prior.and_then(|(e, t, _)| ok(e / t)),
            ratio_to_prior: prior.and_then(|(e, _, _)| ok(pe / e)),
        });
    }
    Ok(info)
}
