//! Hierarchical priors: the scale of a Normal prior is itself unknown, with a hyperprior, and is
//! learned from the data — one scale per matched group (`layer`), one per input row of a weight
//! matrix (`ard`, automatic relevance determination), or the global and local scales of the
//! (regularised) horseshoe.
//!
//! A parameter j of a hierarchical group has prior `w_j ~ Normal(loc, b·m_j(u))`, where `b` is
//! the `distribution`'s scale and `u` the vector of log scales:
//! - `layer`, `ard`: `m_j = exp(u_k)` for the scale k that covers j, `exp(u_k) ~ scale` (the
//!   hyperprior);
//! - `horseshoe`: `a_j = τ·λ_j = exp(u_τ + u_λj)`, `τ ~ scale`, `λ_j ~ local` (half-Cauchy(1) by
//!   default), `m_j = a_j` or, with a slab scale c, `m_j = c·a_j / √(c² + a_j²)` (the regularised
//!   horseshoe of Piironen & Vehtari 2017).
//!
//! Samplers see the non-centred form `w_j = loc + b·m_j(u)·z_j`, `z_j ~ Normal(0, 1)`; the density
//! of u includes the Jacobian `Σ u_k` of s = exp(u).

use crate::dist::Dist;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use std::ops::Range;

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

/// Which scales a hierarchical prior learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HierarchyKind {
    /// One scale per matched parameter group (per layer).
    Layer,
    /// One scale per input row of a weight matrix (automatic relevance determination).
    Ard,
    /// A global scale τ and one local scale λ_j per parameter (horseshoe).
    Horseshoe,
}

impl HierarchyKind {
    /// The word used in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Layer => "layer",
            Self::Ard => "ard",
            Self::Horseshoe => "horseshoe",
        }
    }
}

/// The hierarchical part of a `[[prior]]` entry: `hierarchy = { kind = "ard", scale = { … } }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hierarchy {
    /// Which scales are learned.
    pub kind: HierarchyKind,
    /// Hyperprior of each learned scale multiplier (for the horseshoe: of the global scale τ).
    pub scale: Dist,
    /// Horseshoe only: prior of each local scale λ_j (default half-Cauchy(1)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<Dist>,
    /// Horseshoe only: slab scale c of the regularised horseshoe; absent = the plain horseshoe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slab_scale: Option<f64>,
}

impl Hierarchy {
    /// Checks the hyperpriors; the message names what to change.
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.scale
            .validate()
            .map_err(|m| format!("hierarchy.scale: {m}"))?;
        if !self.scale.is_positive() {
            return Err(format!(
                "hierarchy.scale is the hyperprior of a positive scale; a {} distribution is not positive (use half-cauchy, half-normal, gamma or inverse-gamma)",
                self.scale.family()
            ));
        }
        if let Some(l) = &self.local {
            if self.kind != HierarchyKind::Horseshoe {
                return Err("hierarchy.local is the horseshoe's local-scale prior; it needs kind = \"horseshoe\"".into());
            }
            l.validate().map_err(|m| format!("hierarchy.local: {m}"))?;
            if !l.is_positive() {
                return Err(format!(
                    "hierarchy.local must be a positive distribution, found {}",
                    l.family()
                ));
            }
        }
        if let Some(c) = self.slab_scale {
            if self.kind != HierarchyKind::Horseshoe {
                return Err(
                    "hierarchy.slab_scale belongs to the regularised horseshoe; it needs kind = \"horseshoe\"".into(),
                );
            }
            if !(c.is_finite() && c > 0.0) {
                return Err(format!(
                    "hierarchy.slab_scale must be positive and finite, found {c}"
                ));
            }
        }
        Ok(())
    }

    /// One-line description for summaries.
    pub fn describe(&self) -> String {
        match self.kind {
            HierarchyKind::Horseshoe => format!(
                "horseshoe: τ ~ {}, λ ~ {}{}",
                self.scale.describe(),
                self.local_prior().describe(),
                self.slab_scale
                    .map_or(String::new(), |c| format!(", slab scale {c}"))
            ),
            k => format!("{} scales ~ {}", k.as_str(), self.scale.describe()),
        }
    }

    /// Prior of the horseshoe's local scales.
    pub fn local_prior(&self) -> Dist {
        self.local
            .clone()
            .unwrap_or(Dist::HalfCauchy { scale: 1.0 })
    }
}

/// A hierarchical prior applied to one parameter group.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleBlock {
    /// Group name (`layer1.weight`).
    pub group: String,
    /// The parameters it covers.
    pub range: Range<usize>,
    /// Prior mean of the parameters.
    pub loc: f64,
    /// Base scale b (the `distribution`'s scale).
    pub base: f64,
    /// Which scales are learned.
    pub kind: HierarchyKind,
    /// Columns per input row (ARD: the layer's outputs).
    pub cols: usize,
    /// Hyperprior of the layer/ARD scales or of τ.
    pub hyper: Dist,
    /// Horseshoe local-scale prior.
    pub local: Dist,
    /// Regularised horseshoe slab scale.
    pub slab: Option<f64>,
    /// Index of the block's first scale in the log-scale vector.
    pub first: usize,
    /// One label per scale (`layer1.weight[input=age]`, `layer2.weight[τ]`).
    pub labels: Vec<String>,
}

impl ScaleBlock {
    /// A block with one scale over `range` (a `layer` hierarchy).
    pub fn layer(group: &str, range: Range<usize>, loc: f64, base: f64, hyper: Dist) -> Self {
        ScaleBlock {
            group: group.into(),
            range,
            loc,
            base,
            kind: HierarchyKind::Layer,
            cols: 0,
            hyper,
            local: Dist::HalfCauchy { scale: 1.0 },
            slab: None,
            first: 0,
            labels: vec![group.into()],
        }
    }

    /// A block with one scale per row of `cols` parameters (an `ard` hierarchy).
    pub fn ard(
        group: &str,
        range: Range<usize>,
        cols: usize,
        loc: f64,
        base: f64,
        hyper: Dist,
    ) -> Self {
        let rows = range.len() / cols.max(1);
        ScaleBlock {
            kind: HierarchyKind::Ard,
            cols: cols.max(1),
            labels: (0..rows)
                .map(|i| format!("{group}[input={}]", i + 1))
                .collect(),
            ..Self::layer(group, range, loc, base, hyper)
        }
    }

    /// A horseshoe block: global τ ~ `hyper`, local λ_j ~ `local`, optional slab scale.
    pub fn horseshoe(
        group: &str,
        range: Range<usize>,
        loc: f64,
        base: f64,
        hyper: Dist,
        local: Dist,
        slab: Option<f64>,
    ) -> Self {
        let n = range.len();
        let mut labels = vec![format!("{group}[global]")];
        labels.extend((0..n).map(|j| format!("{group}[local {}]", j + 1)));
        ScaleBlock {
            kind: HierarchyKind::Horseshoe,
            local,
            slab,
            labels,
            ..Self::layer(group, range, loc, base, hyper)
        }
    }

    /// Number of learned scales.
    pub fn n_scales(&self) -> usize {
        self.labels.len()
    }

    /// Hyperprior of scale `i` of the block.
    pub fn prior_of(&self, i: usize) -> &Dist {
        if self.kind == HierarchyKind::Horseshoe && i > 0 {
            &self.local
        } else {
            &self.hyper
        }
    }

    /// Visits each parameter: (index, loc, sd, [(scale index, ∂ log sd/∂u)] with 1 or 2 entries).
    fn visit(&self, u: &[f64], mut f: impl FnMut(usize, f64, f64, &[(usize, f64)])) {
        match self.kind {
            HierarchyKind::Layer => {
                let k = self.first;
                let sd = self.base * u[k].exp();
                for j in self.range.clone() {
                    f(j, self.loc, sd, &[(k, 1.0)]);
                }
            }
            HierarchyKind::Ard => {
                for (r, j0) in self.range.clone().step_by(self.cols).enumerate() {
                    let k = self.first + r;
                    let sd = self.base * u[k].exp();
                    for j in j0..(j0 + self.cols).min(self.range.end) {
                        f(j, self.loc, sd, &[(k, 1.0)]);
                    }
                }
            }
            HierarchyKind::Horseshoe => {
                let kt = self.first;
                for (i, j) in self.range.clone().enumerate() {
                    let kl = self.first + 1 + i;
                    let la = u[kt] + u[kl];
                    let (sd, d) = match self.slab {
                        None => (self.base * la.exp(), 1.0),
                        Some(c) => {
                            // m = c·a/√(c² + a²): log m = log c + log a − ½ log(c² + a²),
                            // d log m / d log a = c² / (c² + a²).
                            let a2 = (2.0 * la).exp();
                            let lm = c.ln() + la - 0.5 * (c * c + a2).ln();
                            (self.base * lm.exp(), c * c / (c * c + a2))
                        }
                    };
                    f(j, self.loc, sd, &[(kt, d), (kl, d)]);
                }
            }
        }
    }
}

/// The hierarchical priors of a model, with the log scales used when they are held fixed
/// (MAP training inside Laplace, initialisation, prior variances in reports).
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedHierarchy {
    /// One block per hierarchical group.
    pub blocks: Vec<ScaleBlock>,
    /// Log scales at which `ResolvedPriors` evaluates the hierarchical groups.
    pub fixed: Vec<f64>,
    /// Whether `ResolvedPriors::log_prior_grad` includes the hierarchical groups at `fixed`
    /// (false inside a density that treats the scales as parameters).
    pub include_fixed: bool,
}

/// Median of a positive distribution, estimated from 4001 draws of a fixed stream (used only to
/// pick starting scales, so its Monte Carlo error does not matter).
fn median(d: &Dist) -> f64 {
    let mut r = crate::rng::stream(0x6d65_6469_616e, 0);
    let mut v: Vec<f64> = (0..4001).map(|_| d.sample(&mut r)).collect();
    v.sort_by(f64::total_cmp);
    let m = v[2000];
    if m.is_finite() && m > 0.0 {
        m
    } else {
        1.0
    }
}

impl ResolvedHierarchy {
    /// Lays out blocks (assigns scale indices) and starts every scale at its hyperprior's median.
    pub fn new(mut blocks: Vec<ScaleBlock>) -> Self {
        let mut at = 0;
        for b in &mut blocks {
            b.first = at;
            at += b.n_scales();
        }
        let mut fixed = Vec::with_capacity(at);
        for b in &blocks {
            let (mh, ml) = (median(&b.hyper).ln(), median(&b.local).ln());
            for i in 0..b.n_scales() {
                fixed.push(if b.kind == HierarchyKind::Horseshoe && i > 0 {
                    ml
                } else {
                    mh
                });
            }
        }
        ResolvedHierarchy {
            blocks,
            fixed,
            include_fixed: true,
        }
    }

    /// Number of learned scales.
    pub fn n_scales(&self) -> usize {
        self.blocks.iter().map(ScaleBlock::n_scales).sum()
    }

    /// Whether there is nothing hierarchical.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// The label of every scale, in order.
    pub fn labels(&self) -> Vec<String> {
        self.blocks
            .iter()
            .flat_map(|b| b.labels.iter().cloned())
            .collect()
    }

    /// Renames the ARD scales of first-layer blocks after the input features.
    pub fn name_inputs(&mut self, features: &[String]) {
        for b in &mut self.blocks {
            if b.kind == HierarchyKind::Ard && b.group == "layer1.weight" {
                for (l, f) in b.labels.iter_mut().zip(features) {
                    *l = format!("{}[input={f}]", b.group);
                }
            }
        }
    }

    /// Whether parameter `i` belongs to a hierarchical group.
    pub fn covers(&self, i: usize) -> bool {
        self.blocks.iter().any(|b| b.range.contains(&i))
    }

    /// Visits every hierarchical parameter at log scales `u`: (index, loc, sd, [(scale index,
    /// ∂ log sd/∂u)]).
    pub fn visit_params(&self, u: &[f64], mut f: impl FnMut(usize, f64, f64, &[(usize, f64)])) {
        for b in &self.blocks {
            b.visit(u, &mut f);
        }
    }

    /// Prior standard deviation of every hierarchical parameter at log scales `u`, as
    /// (index, loc, sd).
    pub fn sds(&self, u: &[f64]) -> Vec<(usize, f64, f64)> {
        let mut v = Vec::new();
        for b in &self.blocks {
            b.visit(u, |j, loc, sd, _| v.push((j, loc, sd)));
        }
        v
    }

    /// Σ_k log p_k(exp u_k) + u_k (hyperprior density of the log scales, with the Jacobian);
    /// adds its gradient to `gu`.
    pub fn log_hyper_grad(&self, u: &[f64], gu: &mut [f64]) -> f64 {
        let mut lp = 0.0;
        for b in &self.blocks {
            for i in 0..b.n_scales() {
                let k = b.first + i;
                let s = u[k].exp();
                let d = b.prior_of(i);
                lp += d.log_prob(s) + u[k];
                gu[k] += d.grad_log_prob(s) * s + 1.0;
            }
        }
        lp
    }

    /// Σ_j log Normal(θ_j; loc, sd_j(u)) over the hierarchical parameters (centred form); adds
    /// the gradient with respect to θ to `g_theta` and, when given, with respect to u to `g_u`.
    pub fn log_prior_grad_centred(
        &self,
        theta: &[f64],
        u: &[f64],
        g_theta: &mut [f64],
        mut g_u: Option<&mut [f64]>,
    ) -> f64 {
        let mut lp = 0.0;
        for b in &self.blocks {
            b.visit(u, |j, loc, sd, deps| {
                let r = (theta[j] - loc) / sd;
                lp += -0.5 * r * r - sd.ln() - HALF_LN_2PI;
                g_theta[j] -= r / sd;
                if let Some(gu) = g_u.as_deref_mut() {
                    for &(k, d) in deps {
                        gu[k] += (r * r - 1.0) * d;
                    }
                }
            });
        }
        lp
    }

    /// Non-centred map: writes w_j = loc + sd_j(u)·z_j into `w` for the hierarchical parameters
    /// (the others are left as they are).
    pub fn to_weights(&self, z: &[f64], u: &[f64], w: &mut [f64]) {
        for b in &self.blocks {
            b.visit(u, |j, loc, sd, _| w[j] = loc + sd * z[j]);
        }
    }

    /// Inverse of `to_weights`: z_j = (w_j − loc)/sd_j(u) into `z` for the hierarchical parameters.
    pub fn to_standard(&self, w: &[f64], u: &[f64], z: &mut [f64]) {
        for b in &self.blocks {
            b.visit(u, |j, loc, sd, _| z[j] = (w[j] - loc) / sd);
        }
    }

    /// Non-centred prior and chain rule: given ∂/∂w in `g` (replaced by ∂/∂z for the
    /// hierarchical parameters), adds ∂/∂u to `g_u`, and returns Σ_j log Normal(z_j; 0, 1) with
    /// its gradient included.
    pub fn noncentred_grad(&self, z: &[f64], u: &[f64], g: &mut [f64], g_u: &mut [f64]) -> f64 {
        let mut lp = 0.0;
        for b in &self.blocks {
            b.visit(u, |j, _, sd, deps| {
                let gw = g[j];
                for &(k, d) in deps {
                    // ∂w/∂u_k = sd·z·d.
                    g_u[k] += gw * sd * z[j] * d;
                }
                g[j] = gw * sd - z[j];
                lp += -0.5 * z[j] * z[j] - HALF_LN_2PI;
            });
        }
        lp
    }

    /// Draws the scales from their hyperpriors and the parameters given them (centred), writing
    /// both; returns the log scales.
    pub fn sample(&self, rng: &mut Rng, theta: &mut [f64]) -> Vec<f64> {
        let mut u = vec![0.0; self.n_scales()];
        for b in &self.blocks {
            for (i, v) in u[b.first..b.first + b.n_scales()].iter_mut().enumerate() {
                *v = b.prior_of(i).sample(rng).max(1e-300).ln();
            }
        }
        for (j, loc, sd) in self.sds(&u) {
            theta[j] = loc + sd * crate::rng::normal(rng);
        }
        u
    }
}
