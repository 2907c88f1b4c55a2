//! Curvature of a [`Cnn`]'s output, the counterpart of [`crate::nn::curvature`] for the MLP:
//! Jacobian-vector and vector-Jacobian products, per-sample gradients and Jacobians, GGN
//! products and diagonals, and Kronecker factors per layer (KFAC; for convolutions the KFC
//! factors of Grosse & Martens 2016). Laplace approximations on CNNs are built on these.
//!
//! Every function here runs after [`Cnn::forward`] on the same θ and inputs (f64), reading
//! the workspace's stored layer outputs, im2col patches, activation derivatives and max-pool
//! winners. Notation and the factor convention are those of [`crate::nn::curvature`]: a factor
//! `u` is a `rows × outputs` matrix and defines the curvature `Σ_n (J_nᵀ u_n)(J_nᵀ u_n)ᵀ`.
//!
//! Layers with parameters (convolutions and dense layers) are indexed 0-based in plan order
//! (`Layer::number − 1`); their parameters are `fan_in × units` weights, row-major, then the
//! biases: the weights and bias of one layer form a `(fan_in + 1) × units` matrix `W̄`, and the
//! layer's pre-activation at row `n` and output position `t` is `z_{n,t} = W̄ᵀ ā_{n,t}` with
//! `ā_{n,t}` the im2col patch (the layer input for a dense layer, one position) with a 1
//! appended. So the per-row gradient block of a layer is `Σ_t ā_{n,t} δ_{n,t}ᵀ`, where
//! `δ_{n,t} = ∂(u_n·f_n)/∂z_{n,t}` are the back-propagated deltas of [`backprop_deltas`].

use super::net::{Cnn, Layer, Op};
use super::ops::{avg_pool_back, col2im, global_pool_back, max_pool_back};
use super::pass::CnnWorkspace;
use super::spec::PoolKind;
use crate::nn::curvature::KronFactors;
use crate::nn::kernels::affine_backward_input;
use std::ops::Range;

/// The planned layers with parameters (convolutions and dense layers), in order; position `i`
/// in this list is the layer index the functions here use.
pub fn param_layers(net: &Cnn) -> Vec<&Layer> {
    net.plan().iter().filter(|l| l.has_params()).collect()
}

/// Parameter range of a layer with parameters (weights then biases).
pub fn layer_range(l: &Layer) -> Range<usize> {
    l.w_off..l.b_off + l.units()
}

/// The parameter range of the output (last dense) layer: weights then bias.
pub fn last_layer_range(net: &Cnn) -> Range<usize> {
    net.plan()
        .last()
        .map_or(0..net.dim(), |l| l.w_off..net.dim())
}

/// Rows of the input matrix of planned layer `i` (with parameters): the im2col patches of a
/// convolution (`rows·positions × fan_in`), the layer input of a dense one (`rows × fan_in`).
fn layer_rows<'a>(
    net: &Cnn,
    x: &'a [f64],
    ws: &'a CnnWorkspace,
    i: usize,
    rows: usize,
) -> &'a [f64] {
    let l = &net.plan()[i];
    let n = rows * l.positions() * l.fan_in;
    match l.op {
        Op::Conv(_) => &ws.patches(i)[..n],
        _ if i == 0 => &x[..n],
        _ => &ws.layer_output(i - 1)[..n],
    }
}

/// Back-propagates `u` (`rows × outputs`) to the pre-activation of every layer with parameters:
/// entry `i` (see [`param_layers`]) is `δ_{n,t} = ∂(Σ_n u_n·f_n)/∂z_{n,t}` for every row and
/// output position, `rows·positions × units` in (row, y, x) order — the order of the im2col
/// patches — without summing over rows or positions.
pub fn backprop_deltas(
    net: &Cnn,
    theta: &[f64],
    rows: usize,
    ws: &CnnWorkspace,
    u: &[f64],
) -> Vec<Vec<f64>> {
    let plan = net.plan();
    let mut deltas = vec![Vec::new(); plan.iter().filter(|l| l.has_params()).count()];
    let mut slot = deltas.len();
    let mut cur = u[..rows * net.outputs()].to_vec();
    for (i, l) in plan.iter().enumerate().rev() {
        if l.act.is_some() {
            let der = &ws.layer_derivative(i)[..cur.len()];
            for (d, g) in cur.iter_mut().zip(der) {
                *d *= g;
            }
        }
        if l.has_params() {
            slot -= 1;
            deltas[slot] = cur.clone();
        }
        if i == 0 {
            break;
        }
        let mut next = vec![0.0; rows * l.input.size()];
        match l.op {
            Op::Conv(win) => {
                let (k, m) = (l.fan_in, l.units());
                let n = rows * l.positions();
                let mut cols = vec![0.0; n * k];
                affine_backward_input(&cur, &theta[l.w_off..l.b_off], n, k, m, &mut cols);
                col2im(&cols, rows, l.input, win, l.output, &mut next);
            }
            Op::Dense => {
                let (k, m) = (l.fan_in, l.units());
                affine_backward_input(&cur, &theta[l.w_off..l.b_off], rows, k, m, &mut next);
            }
            Op::Pool(PoolKind::Avg, win) => {
                avg_pool_back(&cur, rows, l.input, win, l.output, &mut next)
            }
            Op::Pool(PoolKind::Max, _) => {
                let arg = ws.pool_winners(i);
                max_pool_back(&cur, rows, l.input, l.output, arg, &mut next)
            }
            Op::Global => global_pool_back(&cur, rows, l.input, &mut next),
        }
        cur = next;
    }
    deltas
}

/// Row `n`'s gradient block `Σ_t ā_{n,t} δ_{n,t}ᵀ` of a layer (`(fan_in + 1) × units`, the
/// layer's parameter order), written into `out` from its input rows `a` and deltas `d`.
fn row_block(l: &Layer, a: &[f64], d: &[f64], n: usize, out: &mut [f64]) {
    let (k, m, t) = (l.fan_in, l.units(), l.positions());
    out.fill(0.0);
    for p in n * t..(n + 1) * t {
        let dp = &d[p * m..(p + 1) * m];
        let ap = &a[p * k..(p + 1) * k];
        for (i, &ai) in ap.iter().enumerate() {
            if ai == 0.0 {
                continue;
            }
            for (o, dj) in out[i * m..(i + 1) * m].iter_mut().zip(dp) {
                *o += ai * dj;
            }
        }
        for (o, dj) in out[k * m..(k + 1) * m].iter_mut().zip(dp) {
            *o += dj;
        }
    }
}

/// Jacobian-vector product: the directional derivative of the output along `v` (`dim()`
/// entries), `rows × outputs` (reruns the forward pass into `ws`).
pub fn jvp(
    net: &Cnn,
    theta: &[f64],
    x: &[f64],
    rows: usize,
    ws: &mut CnnWorkspace,
    v: &[f64],
) -> Vec<f64> {
    let mut out = vec![0.0; rows * net.outputs()];
    net.jvp(theta, x, rows, v, None, ws, &mut out);
    out
}

/// Vector-Jacobian product: `Σ_n J_nᵀ u_n` (`dim()` entries) for `u` of shape `rows × outputs`.
pub fn vjp(
    net: &Cnn,
    theta: &[f64],
    x: &[f64],
    rows: usize,
    ws: &mut CnnWorkspace,
    u: &[f64],
) -> Vec<f64> {
    let n = rows * net.outputs();
    ws.out_grad[..n].copy_from_slice(&u[..n]);
    let mut g = vec![0.0; net.dim()];
    net.backward(theta, x, rows, ws, &mut g);
    g
}

/// Per-sample vector-Jacobian products `J_nᵀ u_n`, restricted to the parameter `range`:
/// `rows × range.len()`, row-major.
pub fn per_sample_grads(
    net: &Cnn,
    theta: &[f64],
    x: &[f64],
    rows: usize,
    ws: &CnnWorkspace,
    u: &[f64],
    range: Range<usize>,
) -> Vec<f64> {
    let p = range.len();
    let mut out = vec![0.0; rows * p];
    let deltas = backprop_deltas(net, theta, rows, ws, u);
    let layers = net
        .plan()
        .iter()
        .enumerate()
        .filter(|(_, l)| l.has_params());
    for ((i, l), delta) in layers.zip(&deltas) {
        let lr = layer_range(l);
        let (lo, hi) = (lr.start.max(range.start), lr.end.min(range.end));
        if lo >= hi {
            continue;
        }
        let a = layer_rows(net, x, ws, i, rows);
        let mut block = vec![0.0; lr.len()];
        for n in 0..rows {
            row_block(l, a, delta, n, &mut block);
            out[n * p + lo - range.start..n * p + hi - range.start]
                .copy_from_slice(&block[lo - lr.start..hi - lr.start]);
        }
    }
    out
}

/// Per-sample Jacobians of the output with respect to the parameters in `range`:
/// `rows × outputs × range.len()`, row-major (`[n][k][p]`). Use [`last_layer_range`] for the
/// last layer only, or `0..dim()` for all weights.
pub fn jacobians(
    net: &Cnn,
    theta: &[f64],
    x: &[f64],
    rows: usize,
    ws: &CnnWorkspace,
    range: Range<usize>,
) -> Vec<f64> {
    let (kk, p) = (net.outputs(), range.len());
    let mut out = vec![0.0; rows * kk * p];
    let mut u = vec![0.0; rows * kk];
    for k in 0..kk {
        u.fill(0.0);
        for n in 0..rows {
            u[n * kk + k] = 1.0;
        }
        let g = per_sample_grads(net, theta, x, rows, ws, &u, range.clone());
        for n in 0..rows {
            out[(n * kk + k) * p..(n * kk + k + 1) * p].copy_from_slice(&g[n * p..(n + 1) * p]);
        }
    }
    out
}

/// GGN-vector product `Σ_n J_nᵀ H_n J_n v`, with `hess` the per-row output Hessians
/// (`rows × outputs × outputs`, row-major).
#[allow(clippy::too_many_arguments)]
pub fn ggn_vector_product(
    net: &Cnn,
    theta: &[f64],
    x: &[f64],
    rows: usize,
    ws: &mut CnnWorkspace,
    hess: &[f64],
    v: &[f64],
) -> Vec<f64> {
    let kk = net.outputs();
    let jv = jvp(net, theta, x, rows, ws, v);
    let mut hjv = vec![0.0; rows * kk];
    for n in 0..rows {
        let h = &hess[n * kk * kk..(n + 1) * kk * kk];
        for a in 0..kk {
            hjv[n * kk + a] = (0..kk).map(|b| h[a * kk + b] * jv[n * kk + b]).sum();
        }
    }
    vjp(net, theta, x, rows, ws, &hjv)
}

/// Diagonal of `Σ_c Σ_n (J_nᵀ u_{c,n})²` over the parameter `range`, for factors `u_c` (each
/// `rows × outputs`): the GGN diagonal when the factors are square-root columns of the output
/// Hessian, the empirical-Fisher diagonal for the single factor ∂log p/∂f.
pub fn outer_diag(
    net: &Cnn,
    theta: &[f64],
    x: &[f64],
    rows: usize,
    ws: &CnnWorkspace,
    factors: &[Vec<f64>],
    range: Range<usize>,
) -> Vec<f64> {
    let mut diag = vec![0.0; net.dim()];
    for u in factors {
        let deltas = backprop_deltas(net, theta, rows, ws, u);
        let layers = net
            .plan()
            .iter()
            .enumerate()
            .filter(|(_, l)| l.has_params());
        for ((i, l), delta) in layers.zip(&deltas) {
            let lr = layer_range(l);
            if lr.end <= range.start || lr.start >= range.end {
                continue;
            }
            let a = layer_rows(net, x, ws, i, rows);
            let mut block = vec![0.0; lr.len()];
            for n in 0..rows {
                row_block(l, a, delta, n, &mut block);
                for (dg, g) in diag[lr.clone()].iter_mut().zip(&block) {
                    *dg += g * g;
                }
            }
        }
    }
    diag[range].to_vec()
}

/// KFAC factors for the layers with parameters in `layers` (0-based, see [`param_layers`]),
/// from the factors `u_c` as in [`outer_diag`]. A dense layer's are those of
/// [`crate::nn::curvature::kron_factors`]. A convolution's are the KFC factors (Grosse &
/// Martens 2016; "KFAC-expand" in Eschenhagen et al. 2023), with the output positions treated
/// as extra rows: `A = (1/N) Σ_n Σ_t ā_{n,t} ā_{n,t}ᵀ` (the patches with a 1 appended, summed
/// over the `T` positions, mean over rows) and `G = (1/T) Σ_c Σ_n Σ_t δ_{c,n,t} δ_{c,n,t}ᵀ`,
/// so `A ⊗ G = (1/(NT)) Σ āāᵀ ⊗ Σ δδᵀ` approximates `Σ_n Σ_t Σ_c (ā āᵀ) ⊗ (δ δᵀ)` (the GGN
/// block without the cross-position terms) and equals the exact block for one row and one
/// position.
#[allow(clippy::too_many_arguments)]
pub fn kron_factors(
    net: &Cnn,
    theta: &[f64],
    x: &[f64],
    rows: usize,
    ws: &CnnWorkspace,
    factors: &[Vec<f64>],
    layers: Range<usize>,
) -> Vec<KronFactors> {
    let plan: Vec<(usize, &Layer)> = net
        .plan()
        .iter()
        .enumerate()
        .filter(|(_, l)| l.has_params())
        .collect();
    let layers = layers.start.min(plan.len())..layers.end.min(plan.len());
    let mut out: Vec<KronFactors> = layers
        .clone()
        .map(|j| {
            let (i, l) = plan[j];
            let (k, m) = (l.fan_in, l.units());
            let ka = k + 1;
            let input = layer_rows(net, x, ws, i, rows);
            let mut a = vec![0.0; ka * ka];
            for p in input.chunks_exact(k.max(1)).take(rows * l.positions()) {
                for (r, &ai) in p.iter().enumerate() {
                    if ai == 0.0 {
                        continue;
                    }
                    for (av, aj) in a[r * ka..r * ka + k].iter_mut().zip(p) {
                        *av += ai * aj;
                    }
                    a[r * ka + k] += ai;
                }
                for (av, aj) in a[k * ka..k * ka + k].iter_mut().zip(p) {
                    *av += aj;
                }
                a[k * ka + k] += 1.0;
            }
            let inv = 1.0 / rows.max(1) as f64;
            a.iter_mut().for_each(|v| *v *= inv);
            KronFactors {
                layer: j,
                a,
                g: vec![0.0; m * m],
            }
        })
        .collect();
    for u in factors {
        let deltas = backprop_deltas(net, theta, rows, ws, u);
        for kf in &mut out {
            let (_, l) = plan[kf.layer];
            let m = l.units();
            for d in deltas[kf.layer].chunks_exact(m) {
                for (i, &di) in d.iter().enumerate() {
                    if di == 0.0 {
                        continue;
                    }
                    for (gv, dj) in kf.g[i * m..(i + 1) * m].iter_mut().zip(d) {
                        *gv += di * dj;
                    }
                }
            }
        }
    }
    for kf in &mut out {
        let inv = 1.0 / plan[kf.layer].1.positions() as f64;
        kf.g.iter_mut().for_each(|v| *v *= inv);
    }
    out
}
