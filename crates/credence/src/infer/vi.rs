//! Mean-field Gaussian variational inference (Bayes by Backprop, Blundell et al. 2015) with the
//! local reparameterisation trick (Kingma, Salimans & Welling 2015).
//!
//! q(w) = Π N(μᵢ, σᵢ²) over the network parameters, σᵢ = exp(sᵢ). Each layer's pre-activation is
//! Gaussian under q given its input a, with mean a·Wμ + bμ and variance a²·Wσ² + bσ² (two affine
//! passes); one draw of it per row replaces a draw of the weights, which lowers the gradient
//! variance. The KL to the prior is closed form for Normal priors and a one-draw Monte Carlo
//! estimate (pathwise gradient) otherwise. A learned noise scale is a point estimate of log σ that
//! maximises the ELBO plus its log prior (type-II MAP), not a variational parameter.

use super::settings::Settings;
use super::{NamedTensor, Posterior, PredictiveBuilder, Progress};
use crate::config::TrainConfig;
use crate::data::Dataset;
use crate::dist::Dist;
use crate::error::{Error, Result};
use crate::model::ModelSpec;
use crate::optim::Adam;
use crate::predict::Predictive;
use crate::prior::{ResolvedHierarchy, ResolvedPriors};
use crate::rng::{self, Rng};
use serde::Serialize;
use std::collections::BTreeMap;

mod lrt;
use lrt::Lrt;

/// How the KL divergence to the prior is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KlMode {
    /// Closed form for Normal priors, Monte Carlo for the others.
    Auto,
    /// Monte Carlo for every group (one draw per step, pathwise gradient).
    MonteCarlo,
}

/// Settings of a VI fit (`[inference]` keys in brackets).
#[derive(Debug, Clone, Serialize)]
pub struct ViOptions {
    /// Passes over the data [`epochs`, default `training.epochs`].
    pub epochs: usize,
    /// Adam step size at the start [`learning_rate`, default `training.learning_rate`].
    pub learning_rate: f64,
    /// Step size at the end as a fraction of the start; it decays geometrically [`lr_decay_to`, 0.1].
    pub lr_decay_to: f64,
    /// Minibatch size, 0 for full batch [`batch_size`, default `training.batch_size`].
    pub batch_size: usize,
    /// Initial posterior standard deviation of every weight [`init_std`, 0.01].
    pub init_std: f64,
    /// KL weight rises linearly from 1/n to 1 over this many epochs; 0 turns annealing off [`kl_anneal_epochs`, 0].
    pub kl_anneal_epochs: usize,
    /// KL computation [`kl = "auto" | "monte-carlo"`].
    pub kl: KlMode,
    /// Weight draws per prediction [`samples`, 100].
    pub samples: usize,
    /// Share of final epochs whose end-of-epoch iterates are averaged (Polyak–Ruppert) into the
    /// returned q, which removes most of the stochastic-gradient jitter [`average_last`, 0.25].
    pub average_last: f64,
}

impl ViOptions {
    /// Reads the options from the `[inference]` table, defaulting to the training settings.
    pub fn from_settings(s: Settings<'_>, training: &TrainConfig) -> Result<Self> {
        let kl = match s.string("kl", "auto")?.as_str() {
            "auto" | "closed-form" => KlMode::Auto,
            "monte-carlo" | "mc" => KlMode::MonteCarlo,
            other => {
                return Err(s.error(format!(
                    "inference.kl must be \"auto\" or \"monte-carlo\", found \"{other}\""
                )))
            }
        };
        let o = ViOptions {
            epochs: s.usize("epochs", training.epochs)?,
            learning_rate: s.positive("learning_rate", training.learning_rate)?,
            lr_decay_to: s.positive("lr_decay_to", 0.1)?,
            batch_size: s.usize("batch_size", training.batch_size)?,
            init_std: s.positive("init_std", 0.01)?,
            kl_anneal_epochs: s.usize("kl_anneal_epochs", 0)?,
            kl,
            samples: s.usize("samples", 100)?.max(1),
            average_last: s.f64("average_last", 0.25)?,
        };
        if !(0.0..=1.0).contains(&o.average_last) {
            return Err(s.error(format!(
                "inference.average_last must be in [0, 1], found {}",
                o.average_last
            )));
        }
        if o.epochs == 0 {
            return Err(s.error("inference.epochs must be at least 1".into()));
        }
        Ok(o)
    }
}

/// The outcome of a VI fit, stored in the fit record.
#[derive(Debug, Clone, Serialize)]
pub struct ViFit {
    /// Variational means (network parameters, then log σ when the noise is learned).
    #[serde(skip)]
    pub mean: Vec<f64>,
    /// Variational standard deviations (0 for the point-estimated log σ).
    #[serde(skip)]
    pub std: Vec<f64>,
    /// ELBO estimate per epoch (standardised units; averaged over the epoch's minibatches; KL
    /// weight 1 whatever the annealing), plus the noise log prior when the noise is learned.
    pub elbo: Vec<f64>,
    /// KL to the prior per epoch (closed form where available, else the Monte Carlo average).
    pub kl: Vec<f64>,
    /// KL weight used in each epoch (all 1 without annealing).
    pub kl_weight: Vec<f64>,
    /// Whether every group's KL was closed form.
    pub kl_closed_form: bool,
    /// How the noise is treated.
    pub noise: &'static str,
    /// The settings used.
    pub options: ViOptions,
    /// Hierarchical priors: the log-normal factor of each learned scale and the ARD ranking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hierarchy: Option<super::hierarchical::HierarchySummary>,
}

/// KL(q ‖ prior) over the network parameters and its gradient with respect to (μ, s = log σ),
/// added to `g_mu`, `g_s`. Returns (KL, every group closed form).
fn kl_grad(
    groups: &[(std::ops::Range<usize>, &Dist)],
    mu: &[f64],
    s: &[f64],
    mode: KlMode,
    rng: &mut Rng,
    g_mu: &mut [f64],
    g_s: &mut [f64],
) -> (f64, bool) {
    let mut kl = 0.0;
    let mut closed = true;
    for (range, d) in groups {
        match (d, mode) {
            (&&Dist::Normal { loc, scale }, KlMode::Auto) => {
                let iv = 1.0 / (scale * scale);
                for i in range.clone() {
                    let v = (2.0 * s[i]).exp();
                    let r = mu[i] - loc;
                    kl += scale.ln() - s[i] + 0.5 * (v + r * r) * iv - 0.5;
                    g_mu[i] += r * iv;
                    g_s[i] += v * iv - 1.0;
                }
            }
            _ => {
                closed = false;
                for i in range.clone() {
                    let sd = s[i].exp();
                    let e = rng::normal(rng);
                    let w = mu[i] + sd * e;
                    // log q(w) = −s − ε²/2 − ½ln2π along the path w = μ + σε.
                    kl += -s[i] - 0.5 * e * e - 0.918_938_533_204_672_7 - d.log_prob(w);
                    let gp = d.grad_log_prob(w);
                    g_mu[i] -= gp;
                    g_s[i] += -1.0 - gp * sd * e;
                }
            }
        }
    }
    (kl, closed)
}

const HALF_LN_2PI_E: f64 = 1.418_938_533_204_672_7;

/// The hierarchical part of KL(q ‖ p) over (w, log s) for q(w_j) = N(μ_j, e^{2s_j}) and
/// q(u_k) = N(m_k, e^{2ρ_k}) (log-normal factor on each scale s_k = e^{u_k}): closed form over w
/// given u, one reparameterised draw of u. Adds the gradient with respect to (μ, s) to
/// `g_mu`, `g_s` and with respect to (m, ρ) to `g_m`, `g_rho`; returns the estimate.
#[allow(clippy::too_many_arguments)]
pub fn hierarchical_kl_grad(
    h: &ResolvedHierarchy,
    mu: &[f64],
    s: &[f64],
    m: &[f64],
    rho: &[f64],
    eps: &[f64],
    g_mu: &mut [f64],
    g_s: &mut [f64],
    g_m: &mut [f64],
    g_rho: &mut [f64],
) -> f64 {
    let ns = m.len();
    let u: Vec<f64> = (0..ns).map(|k| m[k] + rho[k].exp() * eps[k]).collect();
    let mut gt_u = vec![0.0; ns];
    // T = E_q(w)[log p(w | u)] + log p(u) (with the Jacobian), entropies added below.
    let mut t = h.log_hyper_grad(&u, &mut gt_u);
    let mut h_w = 0.0;
    h.visit_params(&u, |j, loc, sd, deps| {
        let v = (2.0 * s[j]).exp();
        let r = mu[j] - loc;
        let iv = 1.0 / (sd * sd);
        t += -0.918_938_533_204_672_7 - sd.ln() - 0.5 * (v + r * r) * iv;
        h_w += s[j] + HALF_LN_2PI_E;
        g_mu[j] += r * iv;
        g_s[j] += v * iv - 1.0;
        for &(k, d) in deps {
            gt_u[k] += ((v + r * r) * iv - 1.0) * d;
        }
    });
    let h_u: f64 = rho.iter().map(|r| r + HALF_LN_2PI_E).sum();
    for k in 0..ns {
        g_m[k] -= gt_u[k];
        g_rho[k] -= gt_u[k] * rho[k].exp() * eps[k] + 1.0;
    }
    -t - h_w - h_u
}

/// Per-scale KL(q(u_k) ‖ hyperprior of u_k), Monte Carlo with `n` draws of a fixed stream.
fn scale_kls(h: &ResolvedHierarchy, m: &[f64], rho: &[f64], n: usize) -> Vec<f64> {
    let mut r = rng::stream(0x6b6c, 0);
    let mut out = Vec::with_capacity(m.len());
    for b in &h.blocks {
        for i in 0..b.n_scales() {
            let k = b.first + i;
            let d = b.prior_of(i);
            let sd = rho[k].exp();
            let mut acc = 0.0;
            for _ in 0..n {
                let e = rng::normal(&mut r);
                let u = m[k] + sd * e;
                // log q(u) − log p_u(u), p_u(u) = p(e^u)·e^u.
                acc += -rho[k] - 0.5 * e * e - 0.918_938_533_204_672_7 - d.log_prob(u.exp()) - u;
            }
            out.push(acc / n as f64);
        }
    }
    out
}

/// Fits q by maximising the ELBO on standardised `data`.
pub fn fit_vi(
    spec: &ModelSpec,
    priors: &ResolvedPriors,
    data: &Dataset,
    opts: &ViOptions,
    seed: u64,
    progress: &dyn Progress,
) -> Result<ViFit> {
    let nd = spec.net.dim();
    let learns_noise = spec.likelihood.learns_noise();
    // One point-estimated log σ per target when the noise is learned.
    let nn = spec.noise_params();
    let kt = spec.targets();
    let np = nd + nn;
    let n = data.rows;
    if n == 0 {
        return Err(Error::Invalid("VI needs at least one training row".into()));
    }
    let bs = if opts.batch_size == 0 {
        n
    } else {
        opts.batch_size.min(n)
    };
    let groups = priors.network_groups();
    let hier = &priors.hierarchy;
    let ns = hier.n_scales();
    let hoff = 2 * nd + nn;
    let mut eps_u = vec![0.0; ns];
    let (mut kg_m, mut kg_rho) = (vec![0.0; ns], vec![0.0; ns]);
    // φ = [μ (nd), s (nd), log σ (learned noise only), m (scales), ρ (scales)].
    let mut init_rng = rng::stream(seed, 0x1417);
    let mut init = spec.init(&mut init_rng);
    priors.start_at_transferred(&mut init);
    let mut phi = vec![0.0; hoff + 2 * ns];
    phi[..nd].copy_from_slice(&init[..nd]);
    phi[nd..2 * nd].fill(opts.init_std.ln());
    phi[2 * nd..2 * nd + nn].copy_from_slice(&init[nd..nd + nn]);
    phi[hoff..hoff + ns].copy_from_slice(&hier.fixed);
    phi[hoff + ns..].fill(0.1f64.ln());
    let mut grad = vec![0.0; phi.len()];
    let mut var = vec![0.0; nd];
    let mut adam = Adam::new(phi.len(), opts.learning_rate);
    let mut lrt = Lrt::new(&spec.net, bs);
    let k = spec.net.outputs();
    let mut og = vec![0.0; bs * k];
    let (mut bx, mut by) = (
        Vec::with_capacity(bs * data.features),
        Vec::with_capacity(bs * kt),
    );
    let mut r = rng::stream(seed, 0x71);
    let (mut elbo_trace, mut kl_trace, mut beta_trace) = (Vec::new(), Vec::new(), Vec::new());
    let mut all_closed = true;
    let (mut kg_mu, mut kg_s) = (vec![0.0; nd], vec![0.0; nd]);
    let avg_from =
        opts.epochs - ((opts.epochs as f64 * opts.average_last).round() as usize).min(opts.epochs);
    let mut avg = vec![0.0; phi.len()];
    let mut averaged = 0usize;
    progress.start(opts.epochs as u64, "VI (Bayes by Backprop)");
    for epoch in 0..opts.epochs {
        let frac = if opts.epochs > 1 {
            epoch as f64 / (opts.epochs - 1) as f64
        } else {
            0.0
        };
        adam.lr = opts.learning_rate * opts.lr_decay_to.powf(frac);
        let beta = if opts.kl_anneal_epochs == 0 {
            1.0
        } else {
            ((epoch + 1) as f64 / opts.kl_anneal_epochs as f64).min(1.0)
        };
        let perm = rng::permutation(&mut r, n);
        let (mut elbo_sum, mut kl_sum, mut batches) = (0.0, 0.0, 0usize);
        for chunk in perm.chunks(bs) {
            let rows = chunk.len();
            bx.clear();
            by.clear();
            for &i in chunk {
                bx.extend_from_slice(data.row(i));
                by.extend_from_slice(data.target_row(i));
            }
            let (mu, rest) = phi.split_at(nd);
            let s = &rest[..nd];
            let ls: Vec<f64> = if learns_noise {
                rest[nd..nd + nn].to_vec()
            } else {
                vec![spec.log_sigma(&[]); kt]
            };
            for (v, si) in var.iter_mut().zip(s) {
                *v = (2.0 * si).exp();
            }
            grad.fill(0.0);
            let out = lrt.forward(mu, &var, &bx, rows, &mut r);
            let scale = n as f64 / rows as f64;
            let mut gls = vec![0.0; kt];
            let ll = spec.likelihood.log_lik_targets(
                out,
                &by,
                &ls,
                scale,
                Some(&mut og[..rows * k]),
                &mut gls,
            );
            let (g_mu, g_rest) = grad.split_at_mut(nd);
            let (g_s, g_noise) = g_rest.split_at_mut(nd);
            // g_s temporarily holds ∂/∂σ², converted to ∂/∂s below.
            lrt.backward(mu, &var, &bx, rows, &og[..rows * k], g_mu, g_s);
            for (g, v) in g_s.iter_mut().zip(&var) {
                *g *= 2.0 * v;
            }
            // The KL is subtracted with weight β: accumulate its gradient separately.
            kg_mu.fill(0.0);
            kg_s.fill(0.0);
            let (mut kl, closed) = kl_grad(&groups, mu, s, opts.kl, &mut r, &mut kg_mu, &mut kg_s);
            all_closed &= closed;
            if ns > 0 {
                kg_m.fill(0.0);
                kg_rho.fill(0.0);
                for e in &mut eps_u {
                    *e = rng::normal(&mut r);
                }
                let (m_u, rho_u) = phi[hoff..].split_at(ns);
                kl += hierarchical_kl_grad(
                    hier,
                    mu,
                    s,
                    m_u,
                    rho_u,
                    &eps_u,
                    &mut kg_mu,
                    &mut kg_s,
                    &mut kg_m,
                    &mut kg_rho,
                );
                all_closed = false;
            }
            for (g, kg) in g_mu.iter_mut().zip(&kg_mu) {
                *g -= beta * kg;
            }
            for (g, kg) in g_s.iter_mut().zip(&kg_s) {
                *g -= beta * kg;
            }
            let mut elbo = ll - kl;
            if ns > 0 {
                let (gm, grho) = g_noise[nn..].split_at_mut(ns);
                for (g, k) in gm.iter_mut().zip(&kg_m) {
                    *g = -beta * k;
                }
                for (g, k) in grho.iter_mut().zip(&kg_rho) {
                    *g = -beta * k;
                }
            }
            for (j, (g, &l)) in g_noise[..nn].iter_mut().zip(&ls).enumerate() {
                *g = gls[j];
                if let Some((lp, glp)) = priors.noise_log_prior_grad(l, false) {
                    elbo += lp;
                    *g += glp;
                }
            }
            if !elbo.is_finite() || grad.iter().any(|g| !g.is_finite()) {
                return Err(Error::Numeric(format!(
                    "VI diverged at epoch {} (ELBO {elbo}); try a smaller inference.learning_rate (now {})",
                    epoch + 1,
                    opts.learning_rate
                )));
            }
            adam.step(&mut phi, &grad);
            elbo_sum += elbo;
            kl_sum += kl;
            batches += 1;
        }
        let b = batches as f64;
        elbo_trace.push(elbo_sum / b);
        kl_trace.push(kl_sum / b);
        beta_trace.push(beta);
        if epoch >= avg_from {
            averaged += 1;
            let w = 1.0 / averaged as f64;
            for (a, p) in avg.iter_mut().zip(&phi) {
                *a += w * (p - *a);
            }
        }
        progress.tick(epoch as u64 + 1, &format!("ELBO {:.3}", elbo_sum / b));
    }
    progress.finish();
    if averaged > 0 {
        phi = avg;
    }
    let mut mean = phi[..nd].to_vec();
    let mut std: Vec<f64> = phi[nd..2 * nd].iter().map(|s| s.exp()).collect();
    mean.extend_from_slice(&phi[2 * nd..2 * nd + nn]);
    std.extend(std::iter::repeat_n(0.0, nn));
    debug_assert_eq!(mean.len(), np);
    let hierarchy = (ns > 0).then(|| {
        let (m_u, rho_u) = phi[hoff..].split_at(ns);
        let kls = scale_kls(hier, m_u, rho_u, 4000);
        let scales = hier
            .labels()
            .into_iter()
            .enumerate()
            .map(|(k, name)| {
                let sd = rho_u[k].exp();
                super::hierarchical::ScaleEstimate {
                    name,
                    scale: m_u[k].exp(),
                    lower: Some((m_u[k] - 1.644_853_626_951_472_2 * sd).exp()),
                    upper: Some((m_u[k] + 1.644_853_626_951_472_2 * sd).exp()),
                    rhat: None,
                    ess_bulk: None,
                    kl: Some(kls[k]),
                }
            })
            .collect();
        super::hierarchical::HierarchySummary::new(
            "learned scales: a log-normal variational factor per scale, q(log s) = N(m, v), fitted jointly with q(w) (ELBO over w and s: closed form over w, one draw of s per step); estimate = median e^m",
            hier,
            scales,
        )
    });
    Ok(ViFit {
        mean,
        std,
        elbo: elbo_trace,
        kl: kl_trace,
        kl_weight: beta_trace,
        kl_closed_form: all_closed,
        noise: if learns_noise {
            "log σ is a point estimate (maximises ELBO + log prior)"
        } else if spec.likelihood.is_regression() {
            "fixed"
        } else {
            "none"
        },
        options: opts.clone(),
        hierarchy,
    })
}

/// A factorised Gaussian over the parameters (the `gaussian-mf` artifact kind).
#[derive(Debug, Clone)]
pub struct GaussianMfPosterior {
    /// Means.
    pub mean: Vec<f64>,
    /// Standard deviations (0 for point-estimated parameters).
    pub std: Vec<f64>,
    /// Parameter draws per prediction.
    pub samples: usize,
}

impl GaussianMfPosterior {
    /// Rebuilds from an artifact's `mean`, `std` and `samples` tensors.
    pub fn from_tensors(t: &BTreeMap<String, NamedTensor>) -> Result<Self> {
        let get = |name: &str| NamedTensor::find(t, name);
        let (m, s) = (get("mean")?, get("std")?);
        if m.data.len() != s.data.len() {
            return Err(Error::Invalid(format!(
                "'mean' has {} values but 'std' has {}",
                m.data.len(),
                s.data.len()
            )));
        }
        let samples = get("samples")?.data.first().copied().unwrap_or(100.0);
        let samples = super::saved_count("samples", samples, super::MAX_SAVED_COUNT)?;
        if samples == 0 {
            return Err(Error::Invalid(
                "'samples' must be a positive integer, found 0".into(),
            ));
        }
        Ok(GaussianMfPosterior {
            mean: m.data.clone(),
            std: s.data.clone(),
            samples,
        })
    }
}

impl Posterior for GaussianMfPosterior {
    fn kind(&self) -> &'static str {
        "gaussian-mf"
    }

    fn marginal_variances(&self) -> Option<Vec<f64>> {
        Some(self.std.iter().map(|s| s * s).collect())
    }

    fn predict(
        &self,
        spec: &ModelSpec,
        x: &[f64],
        rows: usize,
        rng: &mut Rng,
    ) -> Result<Predictive> {
        let mut ws = spec.net.workspace(rows);
        let mut b = PredictiveBuilder::new(spec, rows);
        let mut theta = self.mean.clone();
        for _ in 0..self.samples {
            for ((t, m), s) in theta.iter_mut().zip(&self.mean).zip(&self.std) {
                *t = m + s * rng::normal(rng);
            }
            spec.net.forward(&theta, x, rows, &mut ws);
            b.push_targets(ws.output(), &spec.log_sigmas(&theta))?;
        }
        Ok(b.finish())
    }

    fn tensors(&self) -> Vec<NamedTensor> {
        vec![
            NamedTensor::vector("mean", self.mean.clone()),
            NamedTensor::vector("std", self.std.clone()),
            NamedTensor::scalar("samples", self.samples as f64),
        ]
    }

    fn center(&self) -> Vec<f64> {
        self.mean.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::lrt::{lrt_backward, lrt_forward, LrtWorkspace};
    use super::*;
    use crate::likelihood::Likelihood;
    use crate::nn::{Activation, Mlp};

    /// With the pre-activation noise fixed (same seed), the sampled log-likelihood is a smooth
    /// function of (μ, σ²): its hand-written gradient must match central differences.
    #[test]
    fn local_reparameterisation_gradient_matches_finite_differences() {
        for act in [Activation::Tanh, Activation::Relu] {
            let spec = ModelSpec {
                net: Mlp::new(vec![3, 4, 3, 2], act).into(),
                likelihood: Likelihood::Heteroscedastic,
            };
            let rows = 5;
            let mut r = rng::stream(1, 2);
            let x: Vec<f64> = (0..rows * 3).map(|_| rng::normal(&mut r)).collect();
            let y: Vec<f64> = (0..rows).map(|_| rng::normal(&mut r)).collect();
            let nd = spec.net.dim();
            let mu: Vec<f64> = (0..nd).map(|_| 0.5 * rng::normal(&mut r)).collect();
            let var: Vec<f64> = (0..nd).map(|_| 0.05 + 0.1 * rng::uniform(&mut r)).collect();
            let mut ws = LrtWorkspace::new(&spec.net.as_mlp().unwrap().sizes, rows);
            let f = |mu: &[f64], var: &[f64], ws: &mut LrtWorkspace, og: Option<&mut [f64]>| {
                let mut rr = rng::stream(9, 9);
                let out = lrt_forward(spec.net.as_mlp().unwrap(), mu, var, &x, rows, ws, &mut rr)
                    .to_vec();
                let mut g = 0.0;
                spec.likelihood.log_lik(&out, &y, 0.0, 1.0, og, &mut g)
            };
            let mut og = vec![0.0; rows * 2];
            f(&mu, &var, &mut ws, Some(&mut og));
            let (mut gm, mut gv) = (vec![0.0; nd], vec![0.0; nd]);
            lrt_backward(
                spec.net.as_mlp().unwrap(),
                &mu,
                &var,
                &x,
                rows,
                &og,
                &mut ws,
                &mut gm,
                &mut gv,
            );
            let h = 1e-6;
            for i in 0..nd {
                let (mut a, mut b) = (mu.clone(), mu.clone());
                a[i] += h;
                b[i] -= h;
                let fd = (f(&a, &var, &mut ws, None) - f(&b, &var, &mut ws, None)) / (2.0 * h);
                assert!(
                    (fd - gm[i]).abs() < 1e-5 * (1.0 + fd.abs()),
                    "{act:?} μ[{i}]: {} vs {fd}",
                    gm[i]
                );
                let (mut a, mut b) = (var.clone(), var.clone());
                a[i] += h;
                b[i] -= h;
                let fd = (f(&mu, &a, &mut ws, None) - f(&mu, &b, &mut ws, None)) / (2.0 * h);
                assert!(
                    (fd - gv[i]).abs() < 1e-5 * (1.0 + fd.abs()),
                    "{act:?} σ²[{i}]: {} vs {fd}",
                    gv[i]
                );
            }
        }
    }
}
