//! A set of priors over parameter groups, matched by name pattern, and its log density.

use super::hierarchy::{Hierarchy, HierarchyKind, ResolvedHierarchy, ScaleBlock};
use super::Provenance;
use crate::dist::Dist;
use crate::error::{Error, Result};
use crate::nn::{GroupKind, ParamLayout};
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// Which quantity a noise prior is placed on (the parameter itself is log σ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoiseParam {
    /// On σ.
    #[default]
    Scale,
    /// On τ = 1/σ².
    Precision,
    /// On σ².
    Variance,
}

impl NoiseParam {
    /// Value of the quantity at log σ, and d log|quantity|/d log σ (the log-Jacobian slope).
    fn at_log_sigma(self, ls: f64) -> (f64, f64) {
        match self {
            Self::Scale => (ls.exp(), 1.0),
            Self::Precision => ((-2.0 * ls).exp(), -2.0),
            Self::Variance => ((2.0 * ls).exp(), 2.0),
        }
    }

    /// log σ for a value of the quantity.
    fn to_log_sigma(self, v: f64) -> f64 {
        match self {
            Self::Scale => v.ln(),
            Self::Precision => -0.5 * v.ln(),
            Self::Variance => 0.5 * v.ln(),
        }
    }
}

/// One prior: a distribution over the parameters whose group names match `params`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prior {
    /// Group name pattern: `layer1.weight`, `*.bias`, `*` (every network parameter), `noise`.
    pub params: String,
    /// The distribution, applied independently to each parameter of the matched groups.
    pub distribution: Dist,
    /// Where the belief comes from.
    pub provenance: Provenance,
    /// For the noise group: whether the distribution is on the scale, precision or variance.
    #[serde(default, skip_serializing_if = "is_scale")]
    pub on: NoiseParam,
    /// Per-parameter Normal priors for the one group this entry names (a transferred
    /// posterior); `distribution` is then their summary (mean loc, root-mean-square scale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_parameter: Option<ParamNormals>,
    /// A learned scale of the (Normal) distribution with its hyperprior (hierarchical prior).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hierarchy: Option<Hierarchy>,
}

/// Independent Normal priors, one per parameter of a group, in layout order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamNormals {
    /// Means.
    pub loc: Vec<f64>,
    /// Standard deviations.
    pub scale: Vec<f64>,
}

impl ParamNormals {
    /// The summary Normal: mean of the locations, root-mean-square of the scales.
    pub fn summary(&self) -> Dist {
        let n = self.loc.len().max(1) as f64;
        Dist::Normal {
            loc: self.loc.iter().sum::<f64>() / n,
            scale: (self.scale.iter().map(|s| s * s).sum::<f64>() / n).sqrt(),
        }
    }

    /// Checks lengths, finiteness and positivity.
    fn validate(&self) -> std::result::Result<(), String> {
        if self.loc.len() != self.scale.len() || self.loc.is_empty() {
            return Err(format!(
                "per_parameter has {} locations and {} scales; they must be equal and non-zero",
                self.loc.len(),
                self.scale.len()
            ));
        }
        if let Some(i) = self.loc.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "per_parameter loc[{i}] = {} is not finite",
                self.loc[i]
            ));
        }
        if let Some(i) = self.scale.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(format!(
                "per_parameter scale[{i}] = {} is not a positive finite number",
                self.scale[i]
            ));
        }
        Ok(())
    }
}

fn is_scale(p: &NoiseParam) -> bool {
    *p == NoiseParam::Scale
}

/// Simple glob: `*` matches any run of characters.
fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    true
}

/// The priors of a model, in file order: the first prior whose pattern matches a group wins.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PriorSet {
    /// The priors.
    pub priors: Vec<Prior>,
}

/// Priors matched to the groups of one layout, ready to evaluate.
#[derive(Debug, Clone)]
pub struct ResolvedPriors {
    /// (start, end, prior index, is noise) per group.
    slots: Vec<(usize, usize, usize, bool)>,
    /// The priors.
    pub priors: Vec<Prior>,
    /// Group name → prior index, for reports.
    pub assignment: Vec<(String, usize)>,
    /// Per-parameter shift of the network priors (anchored ensembles): when set, the prior of
    /// parameter i is centred on `anchor[i]` instead of its own centre.
    shift: Option<Vec<f64>>,
    /// The hierarchical priors (learned scales), empty when there are none.
    pub hierarchy: ResolvedHierarchy,
}

impl PriorSet {
    /// Credence's labelled default: N(0, 1) on every network parameter (standardised data) and a
    /// half-normal(1) on the noise scale of the standardised target; chosen on the UCI benchmark
    /// (docs/DEFAULTS.md) over Gamma(6, 6) on the precision, the prior of PBP.
    pub fn default_priors() -> Self {
        PriorSet {
            priors: vec![
                Prior {
                    params: "*".into(),
                    distribution: Dist::Normal { loc: 0.0, scale: 1.0 },
                    provenance: Provenance::default_with(
                        crate::defaults::PRIOR_SOURCE,
                        "standard normal on every weight and bias of a network fitted to standardised data",
                    ),
                    on: NoiseParam::Scale,
                    per_parameter: None,
                    hierarchy: None,
                },
                Prior {
                    params: "noise".into(),
                    distribution: Dist::HalfNormal { scale: 1.0 },
                    provenance: Provenance::default_with(
                        crate::defaults::PRIOR_SOURCE,
                        "weakly informative half-normal(1) on the noise sd of the standardised target (sd 1): the noise sd is below about 2; Gamma(6, 6) on the precision (PBP's prior) lost about one nat per test point on nearly noise-free sets",
                    ),
                    on: NoiseParam::Scale,
                    per_parameter: None,
                    hierarchy: None,
                },
            ],
        }
    }

    /// Validates every prior (parameters, support) and names the offending entry.
    pub fn validate(&self, file: &str) -> Result<()> {
        for (i, p) in self.priors.iter().enumerate() {
            p.distribution.validate().map_err(|m| Error::Config {
                file: file.into(),
                message: format!("prior {} (params = \"{}\"): {m}", i + 1, p.params),
            })?;
            if matches!(
                p.distribution,
                Dist::Bernoulli { .. } | Dist::Categorical { .. } | Dist::Poisson { .. }
            ) {
                return Err(Error::Config {
                    file: file.into(),
                    message: format!(
                        "prior {} (params = \"{}\"): a {} distribution is discrete; parameters need a continuous prior",
                        i + 1,
                        p.params,
                        p.distribution.family()
                    ),
                });
            }
            if let Some(pp) = &p.per_parameter {
                let bad = |m: String| Error::Config {
                    file: file.into(),
                    message: format!("prior {} (params = \"{}\"): {m}", i + 1, p.params),
                };
                pp.validate().map_err(bad)?;
                if !matches!(p.distribution, Dist::Normal { .. })
                    || p.params.contains('*')
                    || p.params == "noise"
                {
                    return Err(bad("a per-parameter prior must name one network group (no wildcard) and have a normal summary distribution".into()));
                }
            }
            if let Some(h) = &p.hierarchy {
                let bad = |m: String| Error::Config {
                    file: file.into(),
                    message: format!("prior {} (params = \"{}\"): {m}", i + 1, p.params),
                };
                h.validate().map_err(bad)?;
                if !matches!(p.distribution, Dist::Normal { .. }) {
                    return Err(bad(format!(
                        "a hierarchical prior learns the scale of a Normal; distribution is {} (use {{ family = \"normal\", loc = 0.0, scale = 1.0 }}: the learned scale multiplies its scale)",
                        p.distribution.family()
                    )));
                }
                if p.params == "noise" {
                    return Err(bad("the noise cannot have a hierarchical prior".into()));
                }
            }
            if p.params == "noise" && !p.distribution.is_positive() && p.on != NoiseParam::Scale {
                return Err(Error::Config {
                    file: file.into(),
                    message: format!("prior {}: a prior on the noise {:?} needs a positive distribution (half-normal, gamma, ...)", i + 1, p.on),
                });
            }
        }
        Ok(())
    }

    /// Matches priors to the layout's groups; every group must be covered.
    pub fn resolve(&self, layout: &ParamLayout, file: &str) -> Result<ResolvedPriors> {
        self.validate(file)?;
        let mut slots = Vec::new();
        let mut assignment = Vec::new();
        // Per-parameter priors expand to one Normal each, indexed after the set's own priors.
        let mut expanded: Vec<Prior> = Vec::new();
        let base = self.priors.len();
        for g in &layout.groups {
            let is_noise = g.kind == GroupKind::Noise;
            let found = self.priors.iter().position(|p| {
                if is_noise {
                    p.params == "noise"
                } else {
                    glob(&p.params, &g.name)
                }
            });
            let Some(i) = found else {
                return Err(Error::Config {
                    file: file.into(),
                    message: format!(
                        "parameter group '{}' has no prior; add a [[prior]] with params = \"{}\" (or a pattern such as \"*\"), a distribution and a provenance",
                        g.name, g.name
                    ),
                });
            };
            if is_noise && !self.priors[i].distribution.is_positive() {
                return Err(Error::Config {
                    file: file.into(),
                    message: "the noise prior must be on a positive quantity: use half-normal, half-cauchy, gamma or inverse-gamma".into(),
                });
            }
            if let Some(pp) = &self.priors[i].per_parameter {
                if pp.loc.len() != g.len() {
                    return Err(Error::Config {
                        file: file.into(),
                        message: format!(
                            "prior {} gives {} per-parameter values for '{}', which has {} parameters here; the network's architecture differs from the one the prior was made for",
                            i + 1,
                            pp.loc.len(),
                            g.name,
                            g.len()
                        ),
                    });
                }
                // One slot per parameter, each with its own Normal (stored after the priors).
                for (j, (&loc, &scale)) in pp.loc.iter().zip(&pp.scale).enumerate() {
                    slots.push((g.start + j, g.start + j + 1, base + expanded.len(), false));
                    expanded.push(Prior {
                        params: g.name.clone(),
                        distribution: Dist::Normal { loc, scale },
                        provenance: Provenance::default_with("", ""),
                        on: NoiseParam::Scale,
                        per_parameter: None,
                        hierarchy: None,
                    });
                }
            } else {
                slots.push((g.start, g.end, i, is_noise));
            }
            assignment.push((g.name.clone(), i));
        }
        for (i, p) in self.priors.iter().enumerate() {
            if !assignment.iter().any(|(_, j)| *j == i) {
                let groups: Vec<&str> = layout.groups.iter().map(|g| g.name.as_str()).collect();
                return Err(Error::Config {
                    file: file.into(),
                    message: format!(
                        "prior {} (params = \"{}\") matches no parameter group (or an earlier prior took them); groups are: {}",
                        i + 1,
                        p.params,
                        groups.join(", ")
                    ),
                });
            }
        }
        let mut priors = self.priors.clone();
        priors.extend(expanded);
        let mut blocks = Vec::new();
        for g in &layout.groups {
            let Some(&(_, i)) = assignment.iter().find(|(n, _)| *n == g.name) else {
                continue;
            };
            let p = &self.priors[i];
            let (Some(h), Dist::Normal { loc, scale }) = (&p.hierarchy, &p.distribution) else {
                continue;
            };
            blocks.push(match h.kind {
                HierarchyKind::Layer => {
                    ScaleBlock::layer(&g.name, g.range(), *loc, *scale, h.scale.clone())
                }
                HierarchyKind::Ard => {
                    if g.kind != GroupKind::Weight {
                        return Err(Error::Config {
                            file: file.into(),
                            message: format!(
                                "prior {} (params = \"{}\"): ARD learns one scale per input row of a weight matrix, but it matches '{}'; restrict params to weights (e.g. \"layer1.weight\")",
                                i + 1,
                                p.params,
                                g.name
                            ),
                        });
                    }
                    let cols = g.len() / g.fan_in.max(1);
                    ScaleBlock::ard(&g.name, g.range(), cols, *loc, *scale, h.scale.clone())
                }
                HierarchyKind::Horseshoe => ScaleBlock::horseshoe(
                    &g.name,
                    g.range(),
                    *loc,
                    *scale,
                    h.scale.clone(),
                    h.local_prior(),
                    h.slab_scale,
                ),
            });
        }
        Ok(ResolvedPriors {
            slots,
            priors,
            assignment,
            shift: None,
            hierarchy: ResolvedHierarchy::new(blocks),
        })
    }

    /// Whether any prior has a learned (hierarchical) scale.
    pub fn is_hierarchical(&self) -> bool {
        self.priors.iter().any(|p| p.hierarchy.is_some())
    }
}

impl ResolvedPriors {
    /// Adds ∇ log p(θ) to `grad` and returns log p(θ). With `jacobian`, the noise prior includes
    /// the change of variables to log σ (needed for sampling; MAP uses the plain density).
    pub fn log_prior_grad(&self, theta: &[f64], grad: &mut [f64], jacobian: bool) -> f64 {
        let mut total = 0.0;
        for &(s, e, i, is_noise) in &self.slots {
            let p = &self.priors[i];
            let d = &p.distribution;
            if is_noise {
                // One log σ per target, each with this prior.
                for j in s..e {
                    let ls = theta[j];
                    let (v, slope) = p.on.at_log_sigma(ls);
                    total += d.log_prob(v);
                    // d/d(log σ) log p(v(log σ)) = p'(v)/p(v) · dv/dlogσ = grad_log_prob(v) · slope · v.
                    grad[j] += d.grad_log_prob(v) * slope * v;
                    if jacobian {
                        total += slope.abs().ln() + slope * ls;
                        grad[j] += slope;
                    }
                }
                continue;
            }
            if p.hierarchy.is_some() {
                continue;
            }
            let shift = |j: usize| self.shift.as_ref().map_or(0.0, |v| v[j]);
            match *d {
                // Fast paths for the common families.
                Dist::Normal { loc, scale } => {
                    let iv = 1.0 / (scale * scale);
                    let mut ss = 0.0;
                    for (j, (t, g)) in theta[s..e].iter().zip(&mut grad[s..e]).enumerate() {
                        let r = t - shift(s + j) - loc;
                        ss += r * r;
                        *g -= r * iv;
                    }
                    total +=
                        -0.5 * ss * iv - (e - s) as f64 * (scale.ln() + 0.918_938_533_204_672_7);
                }
                _ => {
                    for (j, (t, g)) in theta[s..e].iter().zip(&mut grad[s..e]).enumerate() {
                        let t = t - shift(s + j);
                        total += d.log_prob(t);
                        *g += d.grad_log_prob(t);
                    }
                }
            }
        }
        if self.hierarchy.include_fixed && !self.hierarchy.is_empty() {
            let h = &self.hierarchy;
            match &self.shift {
                None => total += h.log_prior_grad_centred(theta, &h.fixed, grad, None),
                Some(sh) => {
                    let t: Vec<f64> = theta.iter().zip(sh).map(|(a, b)| a - b).collect();
                    total += h.log_prior_grad_centred(&t, &h.fixed, grad, None);
                }
            }
        }
        total
    }

    /// A copy whose hierarchical groups are left out of `log_prior_grad` (for densities that
    /// treat the scales as parameters and add the hierarchical terms themselves).
    pub fn without_hierarchical(&self) -> ResolvedPriors {
        let mut r = self.clone();
        r.hierarchy.include_fixed = false;
        r
    }

    /// A copy whose hierarchical groups are evaluated at log scales `u`.
    pub fn with_fixed_scales(&self, u: &[f64]) -> ResolvedPriors {
        let mut r = self.clone();
        r.hierarchy.fixed = u.to_vec();
        r.hierarchy.include_fixed = true;
        r
    }

    /// The same priors, each network parameter's prior moved so that it is centred on
    /// `anchor[i]` (its centre is the prior's location, or 0 where the mean is undefined); the
    /// noise prior is unchanged. This is the regulariser of anchored ensembles (Pearce et al. 2020).
    pub fn anchored_at(&self, anchor: &[f64]) -> ResolvedPriors {
        let mut shift = vec![0.0; anchor.len()];
        for &(s, e, i, is_noise) in &self.slots {
            if is_noise {
                continue;
            }
            let c = self.priors[i].distribution.mean();
            let c = if c.is_finite() { c } else { 0.0 };
            for j in s..e.min(anchor.len()) {
                shift[j] = anchor[j] - c;
            }
        }
        ResolvedPriors {
            shift: Some(shift),
            ..self.clone()
        }
    }

    /// The network parameter groups as (range, prior distribution), in layout order; groups
    /// with a hierarchical prior are left out (see `hierarchy`).
    pub fn network_groups(&self) -> Vec<(std::ops::Range<usize>, &Dist)> {
        self.slots
            .iter()
            .filter(|s| !s.3 && self.priors[s.2].hierarchy.is_none())
            .map(|&(s, e, i, _)| (s..e, &self.priors[i].distribution))
            .collect()
    }

    /// log p of the noise prior at log σ and its derivative with respect to log σ (with the
    /// change-of-variables term when `jacobian`); `None` when the model has no noise parameter.
    pub fn noise_log_prior_grad(&self, log_sigma: f64, jacobian: bool) -> Option<(f64, f64)> {
        let &(s, _, _, _) = self.slots.iter().find(|s| s.3)?;
        let mut theta = vec![0.0; s + 1];
        theta[s] = log_sigma;
        let mut grad = vec![0.0; s + 1];
        let p = ResolvedPriors {
            slots: self
                .slots
                .iter()
                .filter(|x| x.3)
                .map(|&(s, _, i, n)| (s, s + 1, i, n))
                .collect(),
            priors: self.priors.clone(),
            assignment: Vec::new(),
            shift: None,
            hierarchy: ResolvedHierarchy::new(Vec::new()),
        };
        let lp = p.log_prior_grad(&theta, &mut grad, jacobian);
        Some((lp, grad[s]))
    }

    /// Log prior density only.
    pub fn log_prior(&self, theta: &[f64], jacobian: bool) -> f64 {
        let mut g = vec![0.0; theta.len()];
        self.log_prior_grad(theta, &mut g, jacobian)
    }

    /// Writes a draw from the prior into `theta` (noise as log σ).
    pub fn sample(&self, rng: &mut Rng, theta: &mut [f64]) {
        for &(s, e, i, is_noise) in &self.slots {
            let p = &self.priors[i];
            if is_noise {
                for t in &mut theta[s..e] {
                    let v = p.distribution.sample(rng).max(1e-12);
                    *t = p.on.to_log_sigma(v);
                }
            } else if p.hierarchy.is_none() {
                for t in &mut theta[s..e] {
                    *t = p.distribution.sample(rng);
                }
            }
        }
        if !self.hierarchy.is_empty() {
            self.hierarchy.sample(rng, theta);
        }
    }

    /// Prior variance of each parameter (NaN where undefined), for Laplace and reports.
    pub fn variances(&self, dim: usize) -> Vec<f64> {
        let mut v = vec![f64::NAN; dim];
        for &(s, e, i, _) in &self.slots {
            let var = self.priors[i].distribution.variance();
            for x in &mut v[s..e] {
                *x = var;
            }
        }
        // Hierarchical groups: the conditional variance at the fixed (or learned) scales.
        for (j, _, sd) in self.hierarchy.sds(&self.hierarchy.fixed) {
            if j < dim {
                v[j] = sd * sd;
            }
        }
        v
    }

    /// The prior distribution of each network parameter (`None` for the noise and beyond the
    /// network), with per-parameter priors expanded: for information measures and Laplace.
    pub fn parameter_dists(&self, dim: usize) -> Vec<Option<&Dist>> {
        let mut v = vec![None; dim];
        for &(s, e, i, is_noise) in &self.slots {
            if is_noise {
                continue;
            }
            for x in v.iter_mut().take(e).skip(s) {
                *x = Some(&self.priors[i].distribution);
            }
        }
        v
    }

    /// Overwrites the parameters covered by per-parameter priors (a transferred posterior) with
    /// their prior means: a starting point for optimisers near the source's posterior mean.
    pub fn start_at_transferred(&self, theta: &mut [f64]) {
        let own: Vec<usize> = self.assignment.iter().map(|(_, i)| *i).collect();
        for &(s, e, i, is_noise) in &self.slots {
            if is_noise || own.contains(&i) || e > theta.len() {
                continue;
            }
            for t in &mut theta[s..e] {
                *t = self.priors[i].distribution.mean();
            }
        }
    }

    /// Whether any group has per-parameter priors (a transferred posterior).
    pub fn has_per_parameter(&self) -> bool {
        self.assignment
            .iter()
            .any(|(_, i)| self.priors[*i].per_parameter.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::density::finite_difference_grad;

    #[test]
    fn glob_matches() {
        assert!(glob("*", "layer1.weight"));
        assert!(glob("*.bias", "layer2.bias"));
        assert!(!glob("*.bias", "layer2.weight"));
        assert!(glob("layer1.*", "layer1.bias"));
        assert!(glob("layer2.weight", "layer2.weight"));
    }

    #[test]
    fn uncovered_group_is_named() {
        let layout = ParamLayout::for_mlp(&[2, 3, 1], true);
        let mut set = PriorSet::default_priors();
        set.priors[0].params = "*.weight".into();
        let e = set.resolve(&layout, "p.toml").unwrap_err().to_string();
        assert!(
            e.contains("p.toml") && e.contains("'layer1.bias' has no prior"),
            "{e}"
        );
    }

    struct PriorOnly(ResolvedPriors, bool);
    impl crate::density::LogDensity for PriorOnly {
        fn dim(&self) -> usize {
            self.0.slots.last().map_or(0, |s| s.1)
        }
        fn logp_grad(&mut self, theta: &[f64], grad: &mut [f64]) -> Result<f64> {
            grad.iter_mut().for_each(|g| *g = 0.0);
            Ok(self.0.log_prior_grad(theta, grad, self.1))
        }
    }

    #[test]
    fn prior_gradient_matches_finite_differences() {
        let layout = ParamLayout::for_mlp(&[2, 3, 1], true);
        for (wd, on) in [
            (
                Dist::Laplace {
                    loc: 0.1,
                    scale: 0.5,
                },
                NoiseParam::Precision,
            ),
            (
                Dist::StudentT {
                    df: 3.0,
                    loc: 0.0,
                    scale: 1.0,
                },
                NoiseParam::Scale,
            ),
            (
                Dist::Normal {
                    loc: 0.0,
                    scale: 2.0,
                },
                NoiseParam::Variance,
            ),
        ] {
            let mut set = PriorSet::default_priors();
            set.priors[0].distribution = wd;
            set.priors[1].on = on;
            let r = set.resolve(&layout, "t").unwrap();
            for jac in [false, true] {
                let mut d = PriorOnly(r.clone(), jac);
                let theta: Vec<f64> = (0..layout.dim())
                    .map(|i| 0.3 * (i as f64).sin() + 0.05)
                    .collect();
                let mut g = vec![0.0; theta.len()];
                crate::density::LogDensity::logp_grad(&mut d, &theta, &mut g).unwrap();
                let fd = finite_difference_grad(&mut d, &theta, 1e-6).unwrap();
                for (a, b) in g.iter().zip(&fd) {
                    assert!((a - b).abs() < 1e-6, "{a} vs {b}");
                }
            }
        }
    }
}
