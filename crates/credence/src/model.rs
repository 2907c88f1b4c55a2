//! The model: network + likelihood + priors over standardised data, as a `LogDensity`
//! (full batch) with a minibatch estimate for stochastic optimisers and samplers.

use crate::data::Dataset;
use crate::density::{check_finite, LogDensity};
use crate::error::{Error, Result};
use crate::likelihood::Likelihood;
use crate::nn::{NetWorkspace, Network, ParamLayout};
use crate::prior::ResolvedPriors;
use serde::{Deserialize, Serialize};

/// What a model is, independent of data: the network and the likelihood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// The network (serialised as `"mlp": {...}` or `"cnn": {...}` beside the likelihood).
    #[serde(flatten)]
    pub net: Network,
    /// The likelihood.
    pub likelihood: Likelihood,
}

impl ModelSpec {
    /// Number of targets: network outputs over the likelihood's outputs per target (1 unless
    /// a multi-target gaussian or heteroscedastic model).
    pub fn targets(&self) -> usize {
        (self.net.outputs() / self.likelihood.outputs().max(1)).max(1)
    }

    /// Number of noise parameters (one log σ per target when the noise is learned, else 0).
    pub fn noise_params(&self) -> usize {
        if self.likelihood.learns_noise() {
            self.targets()
        } else {
            0
        }
    }

    /// Layout of the full parameter vector (network, then log σ per target when the noise is
    /// learned: the group `noise`).
    pub fn layout(&self) -> ParamLayout {
        let mut layout = self.net.layout(self.likelihood.learns_noise());
        if let Some(g) = layout
            .groups
            .last_mut()
            .filter(|g| g.kind == crate::nn::GroupKind::Noise)
        {
            g.end = g.start + self.targets();
        }
        layout
    }

    /// Total number of parameters.
    pub fn dim(&self) -> usize {
        self.net.dim() + self.noise_params()
    }

    /// log σ stored in θ (0 when the noise is fixed or absent); the first target's when several.
    pub fn log_sigma(&self, theta: &[f64]) -> f64 {
        if self.likelihood.learns_noise() {
            theta[self.net.dim()]
        } else {
            self.likelihood.fixed_noise().map_or(0.0, f64::ln)
        }
    }

    /// log σ of every target (see [`ModelSpec::log_sigma`]).
    pub fn log_sigmas(&self, theta: &[f64]) -> Vec<f64> {
        let nd = self.net.dim();
        (0..self.targets())
            .map(|k| {
                if self.likelihood.learns_noise() {
                    theta[nd + k]
                } else {
                    self.likelihood.fixed_noise().map_or(0.0, f64::ln)
                }
            })
            .collect()
    }

    /// Indices of the parameters that feed a heteroscedastic network's log-scale outputs only
    /// (their last-layer weight columns and biases); empty for other likelihoods.
    pub fn log_scale_params(&self) -> Vec<usize> {
        if self.likelihood != Likelihood::Heteroscedastic {
            return Vec::new();
        }
        let range = self.net.last_layer_range();
        let outputs = self.net.outputs();
        let (wo, bo) = (range.start, range.end - outputs);
        let inputs = (bo - wo) / outputs.max(1);
        let kt = self.targets();
        (0..inputs)
            .flat_map(|i| (0..kt).map(move |k| wo + i * outputs + 2 * k + 1))
            .chain((0..kt).map(|k| bo + 2 * k + 1))
            .collect()
    }

    /// Initial parameters: LeCun-normal weights, zero biases, σ = 1 (standardised units).
    pub fn init(&self, rng: &mut crate::rng::Rng) -> Vec<f64> {
        let mut t = self.net.init(rng);
        t.extend(std::iter::repeat_n(0.0, self.noise_params()));
        t
    }
}

/// Classical penalties on the network parameters (not the noise). They are hidden priors:
/// L2 weight decay λ is a Normal(0, 1/√(2λ)) prior, L1 λ a Laplace(0, 1/λ) prior.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Penalty {
    /// λ of λ·Σθ².
    pub l2: f64,
    /// λ of λ·Σ|θ|.
    pub l1: f64,
}

impl Penalty {
    /// Whether any penalty is active.
    pub fn is_active(&self) -> bool {
        self.l2 > 0.0 || self.l1 > 0.0
    }

    /// Subtracts the penalty from a log density over `theta` (network part) and its gradient.
    fn apply(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let mut lp = 0.0;
        for (t, g) in theta.iter().zip(grad.iter_mut()) {
            lp -= self.l2 * t * t + self.l1 * t.abs();
            *g -= 2.0 * self.l2 * t + self.l1 * t.signum() * f64::from(*t != 0.0);
        }
        lp
    }

    /// The prior this penalty is equivalent to, in words.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.l2 > 0.0 {
            parts.push(format!(
                "L2 penalty {} (weight decay): the same optimum as a Normal(0, {:.4}) prior on every network parameter",
                self.l2,
                (1.0 / (2.0 * self.l2)).sqrt()
            ));
        }
        if self.l1 > 0.0 {
            parts.push(format!(
                "L1 penalty {}: the same optimum as a Laplace(0, {:.4}) prior on every network parameter",
                self.l1,
                1.0 / self.l1
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// A model bound to (standardised) training data; evaluates log p(θ | data) up to a constant.
#[derive(Debug, Clone)]
pub struct Model {
    /// Network and likelihood.
    pub spec: ModelSpec,
    /// Priors; `None` means maximum likelihood (no prior).
    pub priors: Option<ResolvedPriors>,
    /// Include the log σ change-of-variables term (for sampling).
    pub jacobian: bool,
    /// Classical penalties (hidden priors), applied on top of `priors`.
    pub penalty: Penalty,
    x: Vec<f64>,
    y: Vec<f64>,
    rows: usize,
    ws: NetWorkspace,
    bx: Vec<f64>,
    by: Vec<f64>,
    bws: NetWorkspace,
}

impl Model {
    /// Binds a model to standardised data.
    pub fn new(spec: ModelSpec, priors: Option<ResolvedPriors>, data: &Dataset) -> Result<Self> {
        if data.features != spec.net.inputs() {
            return Err(Error::Invalid(format!(
                "the network takes {} inputs but the data has {} features",
                spec.net.inputs(),
                data.features
            )));
        }
        let targets = data.targets();
        spec.likelihood
            .check_targets(targets)
            .map_err(|m| Error::data(&data.source, None, Some(data.target_label()), m))?;
        if spec.likelihood.outputs() * targets != spec.net.outputs() {
            return Err(Error::Invalid(format!(
                "the {} likelihood needs {} network outputs for {targets} target(s), the network has {}",
                spec.likelihood.name(),
                spec.likelihood.outputs() * targets,
                spec.net.outputs()
            )));
        }
        if data.y.len() != data.rows * targets {
            return Err(Error::Invalid(format!(
                "the data has {} target values, not rows ({}) × targets ({targets})",
                data.y.len(),
                data.rows
            )));
        }
        spec.likelihood
            .validate(&data.y)
            .map_err(|m| Error::data(&data.source, None, Some(data.target_label()), m))?;
        let ws = spec.net.workspace(data.rows);
        Ok(Model {
            spec,
            priors,
            jacobian: false,
            penalty: Penalty::default(),
            x: data.x.clone(),
            y: data.y.clone(),
            rows: data.rows,
            ws,
            bx: Vec::new(),
            by: Vec::new(),
            bws: NetWorkspace::default(),
        })
    }

    /// Caps the threads of the full-batch gradient's fused path (`1`: one thread, `0`: the
    /// default, two threads when the batch is large enough; see [`crate::nn::Mlp::fused_threads`]).
    pub fn set_threads(&mut self, threads: usize) {
        self.ws.set_max_threads(threads);
    }

    /// Number of training rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Standardised training features.
    pub fn x(&self) -> &[f64] {
        &self.x
    }

    /// Standardised training targets.
    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// Scaled log likelihood of rows (x, y); adds its gradient to `grad`.
    #[allow(clippy::too_many_arguments)]
    fn eval_rows(
        spec: &ModelSpec,
        theta: &[f64],
        x: &[f64],
        y: &[f64],
        rows: usize,
        scale: f64,
        ws: &mut NetWorkspace,
        grad: &mut [f64],
    ) -> f64 {
        let nd = spec.net.dim();
        if spec.targets() > 1 {
            return Self::eval_rows_targets(spec, theta, x, y, rows, scale, ws, grad);
        }
        let ls = spec.log_sigma(theta);
        let mut gls = 0.0;
        let lik = &spec.likelihood;
        let objective = |r: std::ops::Range<usize>, out: &[f64], og: &mut [f64], gls: &mut f64| {
            lik.log_lik(out, &y[r], ls, scale, Some(og), gls)
        };
        spec.net.fit_workspace(ws);
        if let (Network::Mlp(mlp), NetWorkspace::Mlp(w)) = (&spec.net, &mut *ws) {
            if mlp.fuses(rows) {
                // One hidden layer, one output: forward, likelihood and reverse pass per block
                // of rows (the likelihood is a sum over rows, so blocks add up to the same
                // value); two threads sweep half the rows each when the batch is large enough.
                if let Some((ll, gls)) = mlp.grad_fused_par(theta, x, rows, w, grad, &objective) {
                    if spec.likelihood.learns_noise() {
                        grad[nd] += gls;
                    }
                    return ll;
                }
            }
        }
        if spec.net.chunks(rows) {
            // Any other network on more than one chunk of rows: forward, likelihood and reverse
            // pass chunk by chunk (activations stay in cache), two threads when large.
            let (ll, gls) = spec.net.grad_chunked(theta, x, rows, ws, grad, &objective);
            if spec.likelihood.learns_noise() {
                grad[nd] += gls;
            }
            return ll;
        }
        spec.net.forward(theta, x, rows, ws);
        let (out, og) = ws.output_and_grad();
        let ll = spec
            .likelihood
            .log_lik(out, y, ls, scale, Some(og), &mut gls);
        spec.net.backward(theta, x, rows, ws, grad);
        if spec.likelihood.learns_noise() {
            grad[nd] += gls;
        }
        ll
    }

    /// [`Model::eval_rows`] for several targets: forward, likelihood with one σ per target,
    /// reverse pass (the fused and chunked sweeps take one target).
    #[allow(clippy::too_many_arguments)]
    fn eval_rows_targets(
        spec: &ModelSpec,
        theta: &[f64],
        x: &[f64],
        y: &[f64],
        rows: usize,
        scale: f64,
        ws: &mut NetWorkspace,
        grad: &mut [f64],
    ) -> f64 {
        let nd = spec.net.dim();
        let ls = spec.log_sigmas(theta);
        let mut gls = vec![0.0; ls.len()];
        spec.net.forward(theta, x, rows, ws);
        let (out, og) = ws.output_and_grad();
        let ll = spec
            .likelihood
            .log_lik_targets(out, y, &ls, scale, Some(og), &mut gls);
        spec.net.backward(theta, x, rows, ws, grad);
        for (g, v) in grad[nd..nd + spec.noise_params()].iter_mut().zip(&gls) {
            *g += v;
        }
        ll
    }

    /// Log likelihood of all training rows at θ (no prior).
    pub fn log_likelihood(&mut self, theta: &[f64]) -> f64 {
        self.spec
            .net
            .forward(theta, &self.x, self.rows, &mut self.ws);
        let mut g = vec![0.0; self.spec.targets()];
        self.spec.likelihood.log_lik_targets(
            self.ws.output(),
            &self.y,
            &self.spec.log_sigmas(theta),
            1.0,
            None,
            &mut g,
        )
    }

    /// Unbiased minibatch estimate of log p(θ | data) and its gradient: prior + (N/B)·Σ_batch log lik.
    pub fn logp_grad_batch(
        &mut self,
        theta: &[f64],
        batch: &[usize],
        grad: &mut [f64],
    ) -> Result<f64> {
        let f = self.spec.net.inputs();
        let kt = self.spec.targets();
        self.bx.clear();
        self.by.clear();
        for &i in batch {
            self.bx.extend_from_slice(&self.x[i * f..(i + 1) * f]);
            self.by.extend_from_slice(&self.y[i * kt..(i + 1) * kt]);
        }
        grad.iter_mut().for_each(|g| *g = 0.0);
        let scale = self.rows as f64 / batch.len() as f64;
        let mut lp = Self::eval_rows(
            &self.spec,
            theta,
            &self.bx,
            &self.by,
            batch.len(),
            scale,
            &mut self.bws,
            grad,
        );
        if let Some(p) = &self.priors {
            lp += p.log_prior_grad(theta, grad, self.jacobian);
        }
        if self.penalty.is_active() {
            let nd = self.spec.net.dim();
            lp += self.penalty.apply(&theta[..nd], &mut grad[..nd]);
        }
        check_finite(lp, grad)
    }
}

impl Model {
    /// log p(θ | data) and its gradient for each of S parameter vectors: `logps[s]` and
    /// `grads[s·dim..(s+1)·dim]`. Samples run in parallel (rayon), each worker reusing one
    /// workspace; results equal S separate `logp_grad` calls.
    pub fn logp_grad_many<P: AsRef<[f64]> + Sync>(
        &self,
        thetas: &[P],
        grads: &mut [f64],
        logps: &mut [f64],
    ) -> Result<()> {
        use rayon::prelude::*;
        let dim = self.spec.dim();
        if grads.len() < dim * thetas.len() || logps.len() < thetas.len() {
            return Err(Error::Invalid(format!(
                "logp_grad_many: {} parameter vectors need {} gradient entries and {} values",
                thetas.len(),
                dim * thetas.len(),
                thetas.len()
            )));
        }
        if let Some(t) = thetas.iter().find(|t| t.as_ref().len() != dim) {
            return Err(Error::Invalid(format!(
                "logp_grad_many: a parameter vector has {} entries, the model has {dim}",
                t.as_ref().len()
            )));
        }
        if dim == 0 {
            return Ok(());
        }
        let one =
            |ws: &mut NetWorkspace, theta: &[f64], g: &mut [f64], lp: &mut f64| -> Result<()> {
                g.iter_mut().for_each(|v| *v = 0.0);
                let mut v =
                    Self::eval_rows(&self.spec, theta, &self.x, &self.y, self.rows, 1.0, ws, g);
                if let Some(p) = &self.priors {
                    v += p.log_prior_grad(theta, g, self.jacobian);
                }
                *lp = check_finite(v, g)?;
                Ok(())
            };
        grads[..dim * thetas.len()]
            .par_chunks_mut(dim)
            .zip(logps[..thetas.len()].par_iter_mut())
            .zip(thetas.par_iter())
            .try_for_each_init(
                || self.spec.net.workspace(self.rows),
                |ws, ((g, lp), th)| one(ws, th.as_ref(), g, lp),
            )
    }
}

impl LogDensity for Model {
    fn dim(&self) -> usize {
        self.spec.dim()
    }

    fn logp_grad(&mut self, theta: &[f64], grad: &mut [f64]) -> Result<f64> {
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut lp = Self::eval_rows(
            &self.spec,
            theta,
            &self.x,
            &self.y,
            self.rows,
            1.0,
            &mut self.ws,
            grad,
        );
        if let Some(p) = &self.priors {
            lp += p.log_prior_grad(theta, grad, self.jacobian);
        }
        if self.penalty.is_active() {
            let nd = self.spec.net.dim();
            lp += self.penalty.apply(&theta[..nd], &mut grad[..nd]);
        }
        check_finite(lp, grad)
    }
}
