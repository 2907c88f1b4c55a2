//! The local reparameterisation trick (Kingma, Salimans & Welling 2015) for a [`Cnn`] under a
//! mean-field Gaussian q(θ) = N(μ, σ²), as mean-field VI trains with it.
//!
//! Given its input, a conv layer's pre-activation at each output position is Gaussian under q:
//! with patch a (its im2col row), mean a·Wμ + bμ and variance a²·Wσ² + bσ², so one
//! convolution of the input with μ and one of its square with σ² give both; a dense layer is
//! the same with a its input row. One draw per row and position (per-position noise) replaces a
//! draw of the weights. Pooling and flatten are as in [`Cnn::forward`]. The gradients are with
//! respect to μ and σ², as for the MLP's passes in `infer::vi` (which converts them to log σ).
#![allow(clippy::too_many_arguments)]

use super::net::{Cnn, Op};
use super::ops::{
    avg_pool, avg_pool_back, col2im, global_pool, global_pool_back, im2col, max_pool, max_pool_back,
};
use super::spec::PoolKind;
use crate::nn::kernels::{
    activate, affine_backward_params_with, affine_with, gemm_nn_par, transpose, Epi,
};
use crate::nn::simd::Isa;
use crate::rng::{self, Rng};

/// Buffers of [`Cnn::lrt_forward`] and [`Cnn::lrt_backward`] for up to a number of rows.
#[derive(Debug, Clone, Default)]
pub struct CnnLrtWorkspace {
    rows: usize,
    outputs: usize,
    isa: Option<Isa>,
    /// Output of each planned layer (after its activation).
    outs: Vec<Vec<f64>>,
    /// Activation derivative of each layer with an activation (empty otherwise).
    derivs: Vec<Vec<f64>>,
    /// im2col patches of each convolution (empty otherwise).
    patches: Vec<Vec<f64>>,
    /// Squared patches (conv) or squared inputs (dense) of each layer with parameters.
    squares: Vec<Vec<f64>>,
    /// Pre-activation standard deviation of each layer with parameters (`rows·positions × units`).
    sd: Vec<Vec<f64>>,
    /// The standard normal noise drawn for each pre-activation.
    eps: Vec<Vec<f64>>,
    /// Winners of each max pooling (empty otherwise).
    argmax: Vec<Vec<u32>>,
    ga: Vec<f64>,
    gb: Vec<f64>,
    gv: Vec<f64>,
    cols: Vec<f64>,
    tmp: Vec<f64>,
    mu_t: Vec<f64>,
    var_t: Vec<f64>,
}

impl CnnLrtWorkspace {
    /// Rows the buffers hold at most.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Network output of the last [`Cnn::lrt_forward`] on `rows` rows (`rows × outputs`).
    pub fn output(&self, rows: usize) -> &[f64] {
        self.outs.last().map_or(&[], |v| &v[..rows * self.outputs])
    }

    /// Output of planned layer `l` (0-based, see [`Cnn::plan`]) of the last forward pass, for
    /// every row the workspace holds (only the first rows passed are current).
    pub fn layer_output(&self, l: usize) -> &[f64] {
        &self.outs[l]
    }

    /// Instruction set the kernels run on (the best one detected unless set).
    pub fn isa(&self) -> Isa {
        self.isa.unwrap_or_else(Isa::detect)
    }

    /// Runs the kernels on `isa` (an instruction set the CPU lacks falls back to portable code).
    pub fn set_isa(&mut self, isa: Isa) {
        self.isa = Some(isa.usable());
    }
}

impl Cnn {
    /// A local-reparameterisation workspace for up to `rows` rows.
    pub fn lrt_workspace(&self, rows: usize) -> CnnLrtWorkspace {
        let mut ws = CnnLrtWorkspace::default();
        self.lrt_resize(&mut ws, rows);
        ws
    }

    /// Makes sure `ws` holds `rows` rows of this network (allocates only on change).
    fn lrt_resize(&self, ws: &mut CnnLrtWorkspace, rows: usize) {
        let plan = self.plan();
        let same = ws.outs.len() == plan.len()
            && ws
                .outs
                .iter()
                .zip(plan)
                .all(|(o, l)| o.len() == ws.rows * l.output.size());
        if same && ws.rows >= rows {
            return;
        }
        let per = |f: &dyn Fn(&super::net::Layer) -> usize| -> Vec<Vec<f64>> {
            plan.iter().map(|l| vec![0.0; rows * f(l)]).collect()
        };
        ws.rows = rows;
        ws.outputs = self.outputs();
        ws.outs = per(&|l| l.output.size());
        ws.derivs = per(&|l| if l.act.is_some() { l.output.size() } else { 0 });
        ws.patches = per(&|l| match l.op {
            Op::Conv(_) => l.positions() * l.fan_in,
            _ => 0,
        });
        ws.squares = per(&|l| {
            if l.has_params() {
                l.positions() * l.fan_in
            } else {
                0
            }
        });
        ws.sd = per(&|l| if l.has_params() { l.output.size() } else { 0 });
        ws.eps = per(&|l| if l.has_params() { l.output.size() } else { 0 });
        ws.argmax = plan
            .iter()
            .map(|l| match l.op {
                Op::Pool(PoolKind::Max, _) => vec![0; rows * l.output.size()],
                _ => Vec::new(),
            })
            .collect();
        let widest = plan
            .iter()
            .map(|l| l.input.size().max(l.output.size()))
            .max()
            .unwrap_or(0);
        ws.ga = vec![0.0; rows * widest];
        ws.gb = vec![0.0; rows * widest];
        ws.gv = vec![0.0; rows * widest];
        let cols = plan
            .iter()
            .filter(|l| l.has_params())
            .map(|l| l.positions() * l.fan_in)
            .max()
            .unwrap_or(0);
        ws.cols = vec![0.0; rows * cols];
        ws.tmp = vec![0.0; rows * cols];
    }

    /// Forward pass with one draw of every pre-activation per row and position: each conv or
    /// dense layer's pre-activation is N(a·Wμ + bμ, a²·Wσ² + bσ²) given its input, sampled as
    /// mean + sd·ε with ε drawn from `rng` layer by layer in output order. `mu` and `var` hold
    /// the means and variances of the network parameters (length [`Cnn::dim`]); the output is
    /// `ws.output(rows)`. With `var` all zero this is [`Cnn::forward`].
    pub fn lrt_forward(
        &self,
        mu: &[f64],
        var: &[f64],
        x: &[f64],
        rows: usize,
        ws: &mut CnnLrtWorkspace,
        rng: &mut Rng,
    ) {
        self.lrt_resize(ws, rows);
        let isa = ws.isa();
        for (i, l) in self.plan().iter().enumerate() {
            let (before, after) = ws.outs.split_at_mut(i);
            let input: &[f64] = if i == 0 { x } else { &before[i - 1] };
            let input = &input[..rows * l.input.size()];
            let out = &mut after[0][..rows * l.output.size()];
            match l.op {
                Op::Conv(_) | Op::Dense => {
                    let (k, m) = (l.fan_in, l.units());
                    let n = rows * l.positions();
                    let a: &[f64] = match l.op {
                        Op::Conv(win) => {
                            let p = &mut ws.patches[i][..n * k];
                            im2col(input, rows, l.input, win, l.output, p);
                            p
                        }
                        _ => input,
                    };
                    let sq = &mut ws.squares[i][..n * k];
                    for (q, v) in sq.iter_mut().zip(a) {
                        *q = v * v;
                    }
                    let (w, b) = (l.w_off..l.b_off, l.b_off..l.b_off + m);
                    affine_with(isa, a, n, k, &mu[w.clone()], &mu[b.clone()], out);
                    let sd = &mut ws.sd[i][..n * m];
                    affine_with(isa, sq, n, k, &var[w], &var[b], sd);
                    for ((o, s), e) in out.iter_mut().zip(sd.iter_mut()).zip(&mut ws.eps[i]) {
                        *s = s.max(0.0).sqrt();
                        *e = rng::normal(rng);
                        *o += *s * *e;
                    }
                    if let Some(act) = l.act {
                        activate(isa, act, out, &mut ws.derivs[i][..n * m]);
                    }
                }
                Op::Pool(PoolKind::Avg, win) => avg_pool(input, rows, l.input, win, l.output, out),
                Op::Pool(PoolKind::Max, win) => {
                    let arg = &mut ws.argmax[i];
                    max_pool(input, rows, l.input, win, l.output, out, arg);
                }
                Op::Global => global_pool(input, rows, l.input, out),
            }
        }
    }

    /// Reverse pass after [`Cnn::lrt_forward`] with the same noise: adds the gradient of
    /// Σ out_grad·output with respect to the parameter means into `g_mu` and with respect to
    /// the parameter variances into `g_var` (length [`Cnn::dim`] each). Through z = mean + sd·ε
    /// the variance gets ε/(2·sd) per unit of ∂/∂z (0 where sd is 0, as in the MLP's pass).
    pub fn lrt_backward(
        &self,
        mu: &[f64],
        var: &[f64],
        x: &[f64],
        rows: usize,
        out_grad: &[f64],
        ws: &mut CnnLrtWorkspace,
        g_mu: &mut [f64],
        g_var: &mut [f64],
    ) {
        let isa = ws.isa();
        let plan = self.plan();
        for (t, src) in [(&mut ws.mu_t, mu), (&mut ws.var_t, var)] {
            if t.len() != self.dim() {
                *t = vec![0.0; self.dim()];
            }
            for l in plan.iter().filter(|l| l.has_params()) {
                let (k, m) = (l.fan_in, l.units());
                transpose(&src[l.w_off..l.b_off], k, m, &mut t[l.w_off..l.b_off]);
            }
        }
        let o = rows * self.outputs();
        ws.ga[..o].copy_from_slice(&out_grad[..o]);
        for (i, l) in plan.iter().enumerate().rev() {
            let (gi, go) = (rows * l.input.size(), rows * l.output.size());
            if l.act.is_some() {
                for (g, &d) in ws.ga[..go].iter_mut().zip(&ws.derivs[i][..go]) {
                    *g *= d;
                }
            }
            let cur = &ws.ga[..go];
            let next = &mut ws.gb[..if i > 0 { gi } else { 0 }];
            match l.op {
                Op::Conv(_) | Op::Dense => {
                    let (k, m) = (l.fan_in, l.units());
                    let n = rows * l.positions();
                    let a: &[f64] = match l.op {
                        Op::Conv(_) => &ws.patches[i][..n * k],
                        _ if i == 0 => &x[..n * k],
                        _ => &ws.outs[i - 1][..n * k],
                    };
                    let gv = &mut ws.gv[..n * m];
                    for (((g, d), e), s) in gv
                        .iter_mut()
                        .zip(cur)
                        .zip(&ws.eps[i][..n * m])
                        .zip(&ws.sd[i][..n * m])
                    {
                        *g = if *s > 0.0 { d * e / (2.0 * s) } else { 0.0 };
                    }
                    let (gw, gb) = g_mu[l.w_off..l.b_off + m].split_at_mut(k * m);
                    affine_backward_params_with(isa, a, cur, n, k, m, gw, gb, &mut []);
                    let (gw, gb) = g_var[l.w_off..l.b_off + m].split_at_mut(k * m);
                    let sq = &ws.squares[i][..n * k];
                    affine_backward_params_with(isa, sq, gv, n, k, m, gw, gb, &mut []);
                    if i == 0 {
                        break;
                    }
                    // ∂/∂a = ∂z·Wμᵀ + 2a ⊙ (g_v·Wσ²ᵀ), per patch (conv) or input row (dense).
                    let da: &mut [f64] = match l.op {
                        Op::Conv(_) => &mut ws.cols[..n * k],
                        _ => &mut *next,
                    };
                    let (wm, wv) = (&ws.mu_t[l.w_off..l.b_off], &ws.var_t[l.w_off..l.b_off]);
                    gemm_nn_par(false, isa, cur, n, m, wm, k, None, da, Epi::Store);
                    let tmp = &mut ws.tmp[..n * k];
                    gemm_nn_par(false, isa, gv, n, m, wv, k, None, tmp, Epi::Store);
                    for ((d, t), a) in da.iter_mut().zip(tmp.iter()).zip(a) {
                        *d += 2.0 * a * t;
                    }
                    if let Op::Conv(win) = l.op {
                        col2im(&ws.cols[..n * k], rows, l.input, win, l.output, next);
                    }
                }
                _ if i == 0 => break,
                Op::Pool(PoolKind::Avg, win) => {
                    avg_pool_back(cur, rows, l.input, win, l.output, next)
                }
                Op::Pool(PoolKind::Max, _) => {
                    max_pool_back(cur, rows, l.input, l.output, &ws.argmax[i], next)
                }
                Op::Global => global_pool_back(cur, rows, l.input, next),
            }
            std::mem::swap(&mut ws.ga, &mut ws.gb);
        }
    }
}
