//! The local reparameterisation trick for mean-field VI: the MLP's passes (one draw of every
//! pre-activation per row, and the reverse pass to the means and variances) and the dispatch to
//! a CNN's ([`crate::nn::Cnn::lrt_forward`]).

use crate::nn::kernels::{affine, affine_backward_input, affine_backward_params};
use crate::nn::Mlp;
use crate::rng::{self, Rng};

/// Buffers of the local-reparameterisation forward and backward passes.
pub(super) struct LrtWorkspace {
    asq: Vec<Vec<f64>>,
    sd: Vec<Vec<f64>>,
    eps: Vec<Vec<f64>>,
    h: Vec<Vec<f64>>,
    der: Vec<Vec<f64>>,
    var_buf: Vec<f64>,
    delta: Vec<f64>,
    delta_prev: Vec<f64>,
    tmp: Vec<f64>,
    gv: Vec<f64>,
}

impl LrtWorkspace {
    pub(super) fn new(sizes: &[usize], rows: usize) -> Self {
        let widest = sizes.iter().copied().max().unwrap_or(0) * rows;
        let per = |off: usize| -> Vec<Vec<f64>> {
            sizes[off..sizes.len() - 1 + off]
                .iter()
                .map(|&w| vec![0.0; w * rows])
                .collect()
        };
        LrtWorkspace {
            asq: per(0),
            sd: per(1),
            eps: per(1),
            h: per(1),
            der: per(1),
            var_buf: vec![0.0; widest],
            delta: vec![0.0; widest],
            delta_prev: vec![0.0; widest],
            tmp: vec![0.0; widest],
            gv: vec![0.0; widest],
        }
    }
}

/// Forward pass with one draw of every pre-activation per row; returns the output slice.
#[allow(clippy::too_many_arguments)]
pub(super) fn lrt_forward<'w>(
    mlp: &Mlp,
    mu: &[f64],
    var: &[f64],
    x: &[f64],
    rows: usize,
    ws: &'w mut LrtWorkspace,
    rng: &mut Rng,
) -> &'w [f64] {
    let layers = mlp.layers();
    for l in 0..layers {
        let (k, m) = (mlp.sizes[l], mlp.sizes[l + 1]);
        let (wo, bo) = mlp.offsets(l);
        let (before, after) = ws.h.split_at_mut(l);
        let input: &[f64] = if l == 0 {
            x
        } else {
            &before[l - 1][..rows * k]
        };
        let asq = &mut ws.asq[l][..rows * k];
        for (q, a) in asq.iter_mut().zip(input) {
            *q = a * a;
        }
        let out = &mut after[0][..rows * m];
        affine(input, rows, k, &mu[wo..wo + k * m], &mu[bo..bo + m], out);
        let vb = &mut ws.var_buf[..rows * m];
        affine(asq, rows, k, &var[wo..wo + k * m], &var[bo..bo + m], vb);
        for (((o, v), sd), e) in out
            .iter_mut()
            .zip(vb.iter())
            .zip(&mut ws.sd[l][..rows * m])
            .zip(&mut ws.eps[l][..rows * m])
        {
            *sd = v.max(0.0).sqrt();
            *e = rng::normal(rng);
            *o += *sd * *e;
        }
        if l + 1 < layers {
            mlp.activation.apply(out, &mut ws.der[l][..rows * m]);
        }
    }
    let m = mlp.outputs();
    &ws.h[layers - 1][..rows * m]
}

/// Reverse pass after `lrt_forward`: adds ∂(Σ out_grad·output)/∂μ into `g_mu` and /∂(σ²) into
/// `g_var` (network parameters only).
#[allow(clippy::too_many_arguments)]
pub(super) fn lrt_backward(
    mlp: &Mlp,
    mu: &[f64],
    var: &[f64],
    x: &[f64],
    rows: usize,
    out_grad: &[f64],
    ws: &mut LrtWorkspace,
    g_mu: &mut [f64],
    g_var: &mut [f64],
) {
    let layers = mlp.layers();
    let ow = mlp.outputs();
    ws.delta[..rows * ow].copy_from_slice(&out_grad[..rows * ow]);
    for l in (0..layers).rev() {
        let (k, m) = (mlp.sizes[l], mlp.sizes[l + 1]);
        let (wo, bo) = mlp.offsets(l);
        let input: &[f64] = if l == 0 { x } else { &ws.h[l - 1][..rows * k] };
        let delta = &ws.delta[..rows * m];
        // ∂/∂v of z = mean + √v·ε is ε / (2√v); the bias variance keeps √v > 0.
        let gv = &mut ws.gv[..rows * m];
        for (((g, d), e), sd) in gv
            .iter_mut()
            .zip(delta)
            .zip(&ws.eps[l][..rows * m])
            .zip(&ws.sd[l][..rows * m])
        {
            *g = if *sd > 0.0 { d * e / (2.0 * sd) } else { 0.0 };
        }
        {
            let (gw, gb) = g_mu[wo..bo + m].split_at_mut(k * m);
            affine_backward_params(input, delta, rows, k, m, gw, gb);
            let (gw, gb) = g_var[wo..bo + m].split_at_mut(k * m);
            affine_backward_params(&ws.asq[l][..rows * k], gv, rows, k, m, gw, gb);
        }
        if l == 0 {
            break;
        }
        let dprev = &mut ws.delta_prev[..rows * k];
        affine_backward_input(delta, &mu[wo..wo + k * m], rows, k, m, dprev);
        let tmp = &mut ws.tmp[..rows * k];
        affine_backward_input(gv, &var[wo..wo + k * m], rows, k, m, tmp);
        for ((d, t), (a, der)) in dprev
            .iter_mut()
            .zip(tmp.iter())
            .zip(input.iter().zip(&ws.der[l - 1][..rows * k]))
        {
            *d = (*d + 2.0 * a * t) * der;
        }
        std::mem::swap(&mut ws.delta, &mut ws.delta_prev);
    }
}

/// The local-reparameterisation passes of either kind of network, with their buffers.
pub(super) enum Lrt<'a> {
    Mlp(&'a Mlp, LrtWorkspace),
    Cnn(&'a crate::nn::Cnn, crate::nn::conv::CnnLrtWorkspace),
}

impl<'a> Lrt<'a> {
    pub(super) fn new(net: &'a crate::nn::Network, rows: usize) -> Self {
        match net {
            crate::nn::Network::Mlp(m) => Lrt::Mlp(m, LrtWorkspace::new(&m.sizes, rows)),
            crate::nn::Network::Cnn(c) => Lrt::Cnn(c, c.lrt_workspace(rows)),
        }
    }

    pub(super) fn forward(
        &mut self,
        mu: &[f64],
        var: &[f64],
        x: &[f64],
        rows: usize,
        rng: &mut Rng,
    ) -> &[f64] {
        match self {
            Lrt::Mlp(m, ws) => lrt_forward(m, mu, var, x, rows, ws, rng),
            Lrt::Cnn(c, ws) => {
                c.lrt_forward(mu, var, x, rows, ws, rng);
                ws.output(rows)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn backward(
        &mut self,
        mu: &[f64],
        var: &[f64],
        x: &[f64],
        rows: usize,
        out_grad: &[f64],
        g_mu: &mut [f64],
        g_var: &mut [f64],
    ) {
        match self {
            Lrt::Mlp(m, ws) => lrt_backward(m, mu, var, x, rows, out_grad, ws, g_mu, g_var),
            Lrt::Cnn(c, ws) => c.lrt_backward(mu, var, x, rows, out_grad, ws, g_mu, g_var),
        }
    }
}
