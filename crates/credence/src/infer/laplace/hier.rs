//! Laplace with hierarchical priors: MacKay's evidence framework. The learned scales are
//! hyperparameters: the MAP is trained at fixed scales, then the scales (and σ when the noise is
//! learned) maximise the Laplace log evidence plus the log hyperprior density of the log scales
//! (type-II MAP, with the Jacobian of s = exp(u)); the two steps alternate `hierarchy_rounds`
//! times. Only the hierarchical groups are tuned; the other groups keep their configured priors.

use super::{
    gaussian_prior, linalg, precision_cholesky, Curv, Evidence, HessianStructure, HyperGroup,
    LaplaceFit, LaplaceOptions, LaplaceOutcome, LikKind, Subset, Tune,
};
use crate::config::TrainConfig;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::infer::hierarchical::{HierarchySummary, ScaleEstimate};
use crate::infer::{train_point, Progress};
use crate::model::ModelSpec;
use crate::nn::GroupKind;
use crate::prior::{HierarchyKind, Provenance, ResolvedHierarchy, ResolvedPriors};

/// Prior-precision groups: the non-hierarchical network groups (fixed) and one group per scale
/// unit (a layer, an ARD row, a horseshoe parameter); `rep[g]` is a parameter of a hierarchical
/// group whose sd gives the group's precision.
fn groups(
    spec: &ModelSpec,
    priors: &ResolvedPriors,
) -> Result<(Vec<HyperGroup>, Vec<Option<usize>>)> {
    let h = &priors.hierarchy;
    let (loc, prec) = gaussian_prior(spec, priors)?;
    let mut out = Vec::new();
    let mut rep = Vec::new();
    let hg =
        |name: String, r: std::ops::Range<usize>, layer: usize, lambda: f64, loc: f64| HyperGroup {
            name,
            ranges: vec![r],
            layers: vec![layer],
            lambda,
            loc,
            count: 0,
            sq: 0.0,
        };
    for g in spec.layout().groups.iter() {
        if g.kind == GroupKind::Noise || h.covers(g.start) {
            continue;
        }
        out.push(hg(
            g.name.clone(),
            g.range(),
            g.layer - 1,
            prec[g.start],
            loc[g.start],
        ));
        rep.push(None);
    }
    let layer_of = |name: &str| -> usize {
        spec.layout()
            .group(name)
            .map_or(0, |g| g.layer.saturating_sub(1))
    };
    for b in &h.blocks {
        let l = layer_of(&b.group);
        match b.kind {
            HierarchyKind::Layer => {
                out.push(hg(b.labels[0].clone(), b.range.clone(), l, 1.0, b.loc));
                rep.push(Some(b.range.start));
            }
            HierarchyKind::Ard => {
                for (r, j0) in b.range.clone().step_by(b.cols).enumerate() {
                    out.push(hg(
                        b.labels[r].clone(),
                        j0..(j0 + b.cols).min(b.range.end),
                        l,
                        1.0,
                        b.loc,
                    ));
                    rep.push(Some(j0));
                }
            }
            HierarchyKind::Horseshoe => {
                for (i, j) in b.range.clone().enumerate() {
                    out.push(hg(
                        format!("{}[{}]", b.group, i + 1),
                        j..j + 1,
                        l,
                        1.0,
                        b.loc,
                    ));
                    rep.push(Some(j));
                }
            }
        }
    }
    Ok((out, rep))
}

/// Replaces the evidence's groups (sums of squares at the MAP `theta`).
fn regroup(ev: &mut Evidence, mut groups: Vec<HyperGroup>, theta: &[f64]) {
    let p = ev.group_of.len();
    let mut group_of = vec![usize::MAX; p];
    for (gi, g) in groups.iter_mut().enumerate() {
        g.count = 0;
        g.sq = 0.0;
        for r in &g.ranges {
            for i in r.clone() {
                group_of[i] = gi;
                g.count += 1;
                g.sq += (theta[i] - g.loc).powi(2);
            }
        }
    }
    ev.groups = groups;
    ev.group_of = group_of;
}

/// Per-parameter (sd, dependencies) of the hierarchical parameters at log scales `u`.
type SdInfo = Vec<Option<(f64, [(usize, f64); 2], usize)>>;

fn sd_info(h: &ResolvedHierarchy, u: &[f64], p: usize) -> SdInfo {
    let mut v: SdInfo = vec![None; p];
    h.visit_params(u, |j, _, sd, deps| {
        let mut d = [(0, 0.0); 2];
        for (slot, dep) in d.iter_mut().zip(deps) {
            *slot = *dep;
        }
        v[j] = Some((sd, d, deps.len()));
    });
    v
}

/// Diagonal of (s·C + Λ)⁻¹ for the evidence's curvature.
fn inverse_diag(ev: &Evidence, lam: &[f64], s: f64) -> Result<Vec<f64>> {
    Ok(match &ev.curv {
        Curv::Diag(c) => c
            .iter()
            .zip(&ev.group_of)
            .map(|(ci, &g)| 1.0 / (s * ci + lam[g]))
            .collect(),
        Curv::Full { mat, .. } => {
            let n = ev.group_of.len();
            let (l, _) = precision_cholesky(mat, s, &ev.per_coord(lam))?;
            let mut e = vec![0.0; n];
            (0..n)
                .map(|i| {
                    e.iter_mut().for_each(|v| *v = 0.0);
                    e[i] = 1.0;
                    let y = linalg::solve_lower(&l, n, &e);
                    y.iter().map(|v| v * v).sum()
                })
                .collect()
        }
        Curv::Kfac(_) => {
            return Err(Error::Invalid(
                "hierarchical priors with Laplace need hessian = \"diag\" or \"full\"".into(),
            ))
        }
    })
}

/// Maximises log evidence + log hyperprior over the log scales (and log σ); returns the log
/// scales, the objective's value and the L-BFGS iterations. Sets the evidence's precisions and σ.
fn tune(
    ev: &mut Evidence,
    h: &ResolvedHierarchy,
    rep: &[Option<usize>],
    u0: &[f64],
) -> Result<(Vec<f64>, usize)> {
    let ns = u0.len();
    let p = ev.group_of.len();
    let fixed: Vec<f64> = ev.groups.iter().map(|g| g.lambda).collect();
    let lam_at = |u: &[f64]| -> (Vec<f64>, SdInfo) {
        let info = sd_info(h, u, p);
        let lam = rep
            .iter()
            .zip(&fixed)
            .map(|(r, f)| match r.and_then(|j| info[j]) {
                Some((sd, _, _)) => 1.0 / (sd * sd),
                None => *f,
            })
            .collect();
        (lam, info)
    };
    let mut x0 = u0.to_vec();
    if ev.learns_noise {
        x0.push(ev.sigma.ln());
    }
    let this = &*ev;
    let mut f = |x: &[f64], g: &mut [f64]| -> Result<f64> {
        if x.iter().any(|v| !v.is_finite() || v.abs() > 25.0) {
            return Ok(f64::INFINITY);
        }
        let u = &x[..ns];
        let sigma = if this.learns_noise {
            x[ns].exp()
        } else {
            this.sigma
        };
        let (lam, info) = lam_at(u);
        g.iter_mut().for_each(|v| *v = 0.0);
        let mut gu = vec![0.0; ns];
        let hyper = h.log_hyper_grad(u, &mut gu);
        let value = match this.log_evidence(&lam, sigma) {
            Ok(v) if v.is_finite() => v + hyper,
            _ => return Ok(f64::INFINITY),
        };
        // ∂ log ev / ∂λ_g = −½ sq_g + ½ n_g/λ_g − ½ Σ_{i∈g} [(sC + Λ)⁻¹]_ii, and
        // ∂λ_g/∂u_k = −2 λ_g ∂ log sd/∂u_k.
        let inv = inverse_diag(this, &lam, this.scale(sigma))?;
        let mut tr = vec![0.0; lam.len()];
        for (i, &gi) in this.group_of.iter().enumerate() {
            tr[gi] += inv[i];
        }
        for (gi, grp) in this.groups.iter().enumerate() {
            let Some((_, deps, nd)) = rep[gi].and_then(|j| info[j]) else {
                continue;
            };
            let dl = -0.5 * grp.sq + 0.5 * grp.count as f64 / lam[gi] - 0.5 * tr[gi];
            for &(k, d) in &deps[..nd] {
                gu[k] += dl * (-2.0 * lam[gi] * d);
            }
        }
        for (gk, v) in g.iter_mut().zip(&gu) {
            *gk = -v;
        }
        if this.learns_noise {
            let hh = 1e-5;
            let up = this.log_evidence(&lam, (x[ns] + hh).exp())?;
            let dn = this.log_evidence(&lam, (x[ns] - hh).exp())?;
            g[ns] = -(up - dn) / (2.0 * hh);
            if !g[ns].is_finite() {
                g[ns] = 0.0;
            }
        }
        Ok(-value)
    };
    let r = crate::optim::lbfgs(&mut f, &x0, 500, 1e-10, 10)?;
    let u = r.x[..ns].to_vec();
    if ev.learns_noise {
        ev.sigma = r.x[ns].exp();
    }
    let (lam, _) = lam_at(&u);
    for (g, l) in ev.groups.iter_mut().zip(lam) {
        g.lambda = l;
    }
    Ok((u, r.iterations))
}

/// The Laplace fit of a model with hierarchical priors (see the module comment).
#[allow(clippy::too_many_arguments)]
pub(super) fn fit_hierarchical(
    spec: &ModelSpec,
    priors: &ResolvedPriors,
    data: &Dataset,
    train: &TrainConfig,
    o: &LaplaceOptions,
    seed: u64,
    progress: &dyn Progress,
    fingerprint: &str,
) -> Result<LaplaceFit> {
    if o.hessian == HessianStructure::Kfac {
        return Err(Error::Invalid(
            "hierarchical priors with Laplace need hessian = \"diag\" or \"full\" (KFAC shares one prior precision per layer, but ARD and horseshoe scales differ within a layer); set [inference] hessian = \"diag\"".into(),
        ));
    }
    if o.subset != Subset::All {
        return Err(Error::Invalid(
            "hierarchical priors with Laplace need subset = \"all\" (the evidence tunes the scales of every hierarchical group)".into(),
        ));
    }
    let h = &priors.hierarchy;
    let ns = h.n_scales();
    if o.hessian == HessianStructure::Full && ns > 200 {
        return Err(Error::Invalid(format!(
            "{ns} learned scales with hessian = \"full\" would need a dense inverse per evidence step; use hessian = \"diag\""
        )));
    }
    let mut u = h.fixed.clone();
    let o_fixed = LaplaceOptions {
        tune: Tune::None,
        ..o.clone()
    };
    let rounds = if o.tune == Tune::None {
        1
    } else {
        o.hierarchy_rounds.max(1)
    };
    let mut initial = f64::NAN;
    let mut iterations = 0;
    let mut last = None;
    for round in 0..rounds {
        let pri = priors.with_fixed_scales(&u);
        let map = train_point(spec, Some(&pri), data, train, seed, progress)?;
        let mut ev = Evidence::new(spec, &map.theta, data, &pri, &o_fixed)?;
        let (grp, rep) = groups(spec, &pri)?;
        regroup(&mut ev, grp, &map.theta);
        if round == 0 {
            initial = ev.current()?;
        }
        if o.tune != Tune::None {
            let (un, it) = tune(&mut ev, h, &rep, &u)?;
            u = un;
            iterations += it;
        } else {
            // Precisions at the fixed scales.
            let info = sd_info(h, &u, ev.group_of.len());
            for (g, r) in ev.groups.iter_mut().zip(&rep) {
                if let Some((sd, _, _)) = r.and_then(|j| info[j]) {
                    g.lambda = 1.0 / (sd * sd);
                }
            }
        }
        last = Some((map, ev));
    }
    let Some((map, ev)) = last else {
        return Err(Error::Invalid("no Laplace round ran".into()));
    };
    let final_ev = ev.current()?;
    let sigma_map = (ev.kind == LikKind::Gaussian).then_some(spec.log_sigma(&map.theta).exp());
    let subset = 0..spec.net.dim();
    let (posterior, jitter) = ev.posterior(&map.theta, subset.clone(), o, spec)?;
    let labels = h.labels();
    let scales: Vec<ScaleEstimate> = labels
        .into_iter()
        .zip(&u)
        .map(|(name, v)| ScaleEstimate {
            name,
            scale: v.exp(),
            lower: None,
            upper: None,
            rhat: None,
            ess_bulk: None,
            kl: None,
        })
        .collect();
    let treatment = if o.tune == Tune::None {
        "scales held at their hyperpriors' medians (tune = \"none\")".to_string()
    } else {
        format!(
            "learned scales: type-II MAP — Laplace log evidence ({}) + log hyperprior of the log scales, maximised over the scales, alternated with the MAP {rounds} times",
            o.describe()
        )
    };
    let mut summary = HierarchySummary::new(treatment, h, scales);
    if o.tune != Tune::None {
        summary.provenance = Some(Provenance::factual(
            format!("empirical Bayes (Laplace evidence) on {fingerprint}"),
            format!("log evidence {initial:.3} at the hyperprior medians, {final_ev:.3} at the learned scales"),
        ));
    }
    let mut outcome = LaplaceOutcome::from_evidence(
        map,
        o,
        subset.len(),
        &ev,
        initial,
        final_ev,
        sigma_map,
        iterations,
        jitter,
    );
    outcome.hierarchy = Some(summary);
    Ok(LaplaceFit {
        posterior,
        outcome,
        tuned_priors: None,
    })
}
