//! Hierarchical priors inside inference: the non-centred density that samplers see (weights
//! `w = loc + sd(u)·z`, log scales u as extra coordinates), and the summary of the learned
//! scales that every supporting method (Laplace, VI, NUTS, HMC) writes into its fit record,
//! with the ARD relevance ranking of the inputs.

use super::sample::Samples;
use crate::density::{check_finite, LogDensity};
use crate::error::Result;
use crate::eval::diagnostics::QuantitySummary;
use crate::prior::{HierarchyKind, Provenance, ResolvedHierarchy};
use serde::{Deserialize, Serialize};

/// `inner` (a log density over w that leaves the hierarchical groups out) with the hierarchical
/// prior in non-centred form, over φ = [θ with z in place of the hierarchical w, u = log scales].
/// The density of u includes the Jacobian of s = exp(u).
#[derive(Debug, Clone)]
pub struct NonCentred<D> {
    /// The density over w without the hierarchical groups' prior.
    pub inner: D,
    /// The hierarchical priors.
    pub hierarchy: ResolvedHierarchy,
    w: Vec<f64>,
    gw: Vec<f64>,
}

impl<D: LogDensity> NonCentred<D> {
    /// Wraps `inner` (whose own prior must leave the hierarchical groups out).
    pub fn new(inner: D, hierarchy: ResolvedHierarchy) -> Self {
        let d = inner.dim();
        NonCentred {
            inner,
            hierarchy,
            w: vec![0.0; d],
            gw: vec![0.0; d],
        }
    }

    /// Dimension of w (the inner density).
    pub fn inner_dim(&self) -> usize {
        self.inner.dim()
    }

    /// Splits φ into (w, u): the parameters in the inner density's space and the log scales.
    pub fn to_weights(&self, phi: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let d = self.inner.dim();
        let (z, u) = phi.split_at(d);
        let mut w = z.to_vec();
        self.hierarchy.to_weights(z, u, &mut w);
        (w, u.to_vec())
    }

    /// φ from w and log scales u (the inverse of `to_weights`).
    pub fn from_weights(&self, w: &[f64], u: &[f64]) -> Vec<f64> {
        let mut phi = w.to_vec();
        self.hierarchy.to_standard(w, u, &mut phi);
        phi.extend_from_slice(u);
        phi
    }
}

impl<D: LogDensity> LogDensity for NonCentred<D> {
    fn dim(&self) -> usize {
        self.inner.dim() + self.hierarchy.n_scales()
    }

    fn logp_grad(&mut self, phi: &[f64], grad: &mut [f64]) -> Result<f64> {
        let d = self.inner.dim();
        let (z, u) = phi.split_at(d);
        self.w.copy_from_slice(z);
        self.hierarchy.to_weights(z, u, &mut self.w);
        let mut lp = self.inner.logp_grad(&self.w, &mut self.gw)?;
        let (gz, gu) = grad.split_at_mut(d);
        gz.copy_from_slice(&self.gw);
        gu.iter_mut().for_each(|g| *g = 0.0);
        lp += self.hierarchy.noncentred_grad(z, u, gz, gu);
        lp += self.hierarchy.log_hyper_grad(u, gu);
        check_finite(lp, grad)
    }
}

/// One learned scale as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleEstimate {
    /// `layer1.weight`, `layer1.weight[input=age]`, `layer2.weight[global]`.
    pub name: String,
    /// The scale multiplier s (the prior sd of its parameters is the distribution's scale × s):
    /// posterior mean (sampling), variational median (VI) or type-II MAP (Laplace).
    pub scale: f64,
    /// Lower end of a central 90% interval (sampling and VI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    /// Upper end of a central 90% interval (sampling and VI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
    /// Sampling: split R-hat of log s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rhat: Option<f64>,
    /// Sampling: bulk ESS of log s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ess_bulk: Option<f64>,
    /// VI: KL(q(s) ‖ hyperprior), Monte Carlo estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kl: Option<f64>,
}

/// The ARD relevance ranking of one weight group's inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelevanceRanking {
    /// The weight group (`layer1.weight`).
    pub group: String,
    /// (input name, scale), largest scale (most relevant) first.
    pub inputs: Vec<(String, f64)>,
}

/// What a fit learned about its hierarchical scales (stored as `outcome.hierarchy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HierarchySummary {
    /// How the scales were treated by the method, in words.
    pub treatment: String,
    /// For empirical Bayes (Laplace): where the tuned scales come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// Every scale.
    pub scales: Vec<ScaleEstimate>,
    /// ARD rankings.
    pub relevance: Vec<RelevanceRanking>,
}

impl HierarchySummary {
    /// Builds the summary from per-scale estimates (in the hierarchy's order), ranking ARD inputs.
    pub fn new(
        treatment: impl Into<String>,
        hierarchy: &ResolvedHierarchy,
        scales: Vec<ScaleEstimate>,
    ) -> Self {
        let mut relevance = Vec::new();
        for b in &hierarchy.blocks {
            if b.kind != HierarchyKind::Ard {
                continue;
            }
            let prefix = format!("{}[input=", b.group);
            let mut inputs: Vec<(String, f64)> = scales[b.first..b.first + b.n_scales()]
                .iter()
                .map(|s| {
                    let n = s
                        .name
                        .strip_prefix(&prefix)
                        .and_then(|r| r.strip_suffix(']'))
                        .unwrap_or(&s.name);
                    (n.to_string(), s.scale)
                })
                .collect();
            inputs.sort_by(|a, b| b.1.total_cmp(&a.1));
            relevance.push(RelevanceRanking {
                group: b.group.clone(),
                inputs,
            });
        }
        HierarchySummary {
            treatment: treatment.into(),
            provenance: None,
            scales,
            relevance,
        }
    }

    /// Lines for a person: the scales (horseshoe local scales condensed) and the ARD ranking.
    pub fn report_lines(&self) -> Vec<String> {
        let mut l = vec![self.treatment.clone()];
        if let Some(p) = &self.provenance {
            l.push(format!("provenance: {}", p.describe()));
        }
        let locals: Vec<&ScaleEstimate> = self
            .scales
            .iter()
            .filter(|s| s.name.contains("[local "))
            .collect();
        let has_interval = self.scales.iter().any(|s| s.lower.is_some());
        let has_diag = self.scales.iter().any(|s| s.rhat.is_some());
        let mut head = format!("{:<40} {:>10}", "scale", "estimate");
        if has_interval {
            head.push_str(&format!(" {:>21}", "90% interval"));
        }
        if has_diag {
            head.push_str(&format!(" {:>7} {:>8}", "R-hat", "ESS bulk"));
        }
        let plain: Vec<&ScaleEstimate> = self
            .scales
            .iter()
            .filter(|s| !s.name.contains("[local ") && !s.name.contains("[input="))
            .collect();
        if !plain.is_empty() {
            l.push(head);
        }
        for s in plain {
            l.push(Self::line(s, has_interval, has_diag));
        }
        if !locals.is_empty() {
            let mut v: Vec<f64> = locals.iter().map(|s| s.scale).collect();
            v.sort_by(f64::total_cmp);
            l.push(format!(
                "horseshoe local scales: {} · median {:.4} · 10% {:.4} · 90% {:.4} · largest {:.4}",
                v.len(),
                v[v.len() / 2],
                v[v.len() / 10],
                v[(9 * v.len()) / 10],
                v[v.len() - 1]
            ));
            let worst_rhat = locals
                .iter()
                .filter_map(|s| s.rhat)
                .fold(f64::NAN, f64::max);
            if worst_rhat.is_finite() {
                l.push(format!("  largest R-hat of a local scale {worst_rhat:.3}"));
            }
        }
        for r in &self.relevance {
            l.push(format!(
                "relevance of the inputs ({}, ARD scale, most relevant first):",
                r.group
            ));
            for (i, (name, s)) in r.inputs.iter().enumerate() {
                let full = format!("{}[input={name}]", r.group);
                let est = self.scales.iter().find(|e| e.name == full);
                let mut line = format!("  {:>3}. {:<34} {:>10.4}", i + 1, name, s);
                if let Some(e) = est {
                    if let (Some(a), Some(b)) = (e.lower, e.upper) {
                        line.push_str(&format!("   [{a:.4}, {b:.4}]"));
                    }
                    if let Some(r) = e.rhat {
                        line.push_str(&format!("   R-hat {r:.3}"));
                    }
                }
                l.push(line);
            }
        }
        l
    }

    fn line(s: &ScaleEstimate, interval: bool, diag: bool) -> String {
        let mut t = format!("{:<40} {:>10.4}", s.name, s.scale);
        if interval {
            match (s.lower, s.upper) {
                (Some(a), Some(b)) => t.push_str(&format!(" {:>21}", format!("[{a:.4}, {b:.4}]"))),
                _ => t.push_str(&format!(" {:>21}", "")),
            }
        }
        if diag {
            t.push_str(&format!(
                " {:>7.3} {:>8.0}",
                s.rhat.unwrap_or(f64::NAN),
                s.ess_bulk.unwrap_or(f64::NAN)
            ));
        }
        t
    }
}

/// Quantile q of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Summaries of the scales from sampler draws of φ = [z…, u]: splits every draw, replaces it by
/// its weights w in `samples` (so that the usual diagnostics and predictions see w), and returns
/// the per-scale estimates (posterior mean of s, 90% interval, R-hat and bulk ESS of log s) and
/// the log-scale draws (chain → draw → u).
pub fn split_draws<D: LogDensity>(
    density: &NonCentred<D>,
    samples: &mut Samples,
) -> (Vec<ScaleEstimate>, Vec<Vec<Vec<f64>>>) {
    let labels = density.hierarchy.labels();
    let mut us: Vec<Vec<Vec<f64>>> = Vec::with_capacity(samples.draws.len());
    for chain in &mut samples.draws {
        let mut cu = Vec::with_capacity(chain.len());
        for phi in chain.iter_mut() {
            let (w, u) = density.to_weights(phi);
            *phi = w;
            cu.push(u);
        }
        us.push(cu);
    }
    let est = labels
        .into_iter()
        .enumerate()
        .map(|(k, name)| {
            let logs: Vec<Vec<f64>> = us
                .iter()
                .map(|c| c.iter().map(|u| u[k]).collect())
                .collect();
            let q = QuantitySummary::new(name.clone(), &logs);
            let mut s: Vec<f64> = logs.iter().flatten().map(|v| v.exp()).collect();
            let mean = s.iter().sum::<f64>() / s.len().max(1) as f64;
            s.sort_by(f64::total_cmp);
            ScaleEstimate {
                name,
                scale: mean,
                lower: Some(quantile(&s, 0.05)),
                upper: Some(quantile(&s, 0.95)),
                rhat: Some(q.rhat),
                ess_bulk: Some(q.ess_bulk),
                kl: None,
            }
        })
        .collect();
    (est, us)
}

/// Sets the fixed log scales of `priors` to the scales a fit learned (read from a fit record's
/// `outcome.hierarchy`), so that prior variances in reports are those at the learned scales.
/// Returns whether anything was applied.
pub fn apply_learned_scales(
    outcome: &serde_json::Value,
    priors: &mut crate::prior::ResolvedPriors,
) -> bool {
    let Some(s) = outcome
        .get("hierarchy")
        .and_then(|v| serde_json::from_value::<HierarchySummary>(v.clone()).ok())
    else {
        return false;
    };
    let labels = priors.hierarchy.labels();
    let mut applied = false;
    for (k, name) in labels.iter().enumerate() {
        if let Some(e) = s.scales.iter().find(|e| &e.name == name) {
            if e.scale > 0.0 && e.scale.is_finite() {
                priors.hierarchy.fixed[k] = e.scale.ln();
                applied = true;
            }
        }
    }
    applied
}
