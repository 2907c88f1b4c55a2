//! Forward, reverse (VJP) and forward-mode (JVP) passes of a [`Cnn`] over a reusable
//! workspace, and the chunked gradient of a summed per-row objective.
#![allow(clippy::too_many_arguments)]

use super::net::{Cnn, Layer, Op};
use super::ops::{
    avg_pool, avg_pool_back, col2im, gather, global_pool, global_pool_back, im2col, max_pool,
    max_pool_back,
};
use super::spec::PoolKind;
use crate::nn::kernels::{
    activate, affine_backward_params_with, col_sums, dot_rows, gemm_nn_par, gemm_tn, transpose, Epi,
};
use crate::nn::simd::{Isa, Real};
use crate::nn::RowObjectivePar;

/// Most parts of [`Cnn::grad_chunked`] (fixed, so its sums do not depend on the thread count).
const CHUNK_PARTS: usize = 8;

/// Values per chunk of [`Cnn::grad_chunked`] summed over a chunk's buffers: ≈ 1 MB in f32.
const CHUNK_VALUES: usize = 1 << 18;

/// Buffers of a [`Cnn`] for one batch size, reused across passes (`f64` by default; the
/// engine also runs in `f32`).
#[derive(Debug, Clone, Default)]
pub struct CnnWorkspace<T: Real = f64> {
    rows: usize,
    isa: Option<Isa>,
    max_threads: Option<usize>,
    /// Output of each planned layer (after its activation).
    outs: Vec<Vec<T>>,
    /// Activation derivative of each layer with an activation (empty otherwise).
    derivs: Vec<Vec<T>>,
    /// im2col patches of each convolution (empty otherwise): the KFAC input factor's rows.
    patches: Vec<Vec<T>>,
    /// Winners of each max pooling (empty otherwise).
    argmax: Vec<Vec<u32>>,
    /// Gradient of the objective with respect to the network output (set by the caller).
    pub out_grad: Vec<T>,
    ga: Vec<T>,
    gb: Vec<T>,
    cols: Vec<T>,
    /// Transposed weights of every layer with parameters (concatenated in layer order).
    wts: Vec<T>,
    chunks: Vec<ChunkState<T>>,
}

/// One part's state in [`Cnn::grad_chunked`].
#[derive(Debug, Clone, Default)]
struct ChunkState<T: Real> {
    ws: CnnWorkspace<T>,
    grad: Vec<T>,
}

impl<T: Real> CnnWorkspace<T> {
    /// Rows the buffers currently hold.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Network output of the last forward pass (`rows × outputs`, row-major).
    pub fn output(&self) -> &[T] {
        self.outs.last().map_or(&[], |v| &v[..])
    }

    /// Network output (read) and the output-gradient buffer (write), borrowed together.
    pub fn output_and_grad(&mut self) -> (&[T], &mut [T]) {
        let out = self.outs.last().map_or(&[][..], |v| &v[..]);
        (out, &mut self.out_grad[..])
    }

    /// Output of planned layer `l` (0-based, see [`Cnn::plan`]) of the last forward pass.
    pub fn layer_output(&self, l: usize) -> &[T] {
        &self.outs[l]
    }

    /// im2col patches of convolution `l` of the last forward pass (`rows·positions × fan_in`;
    /// empty for other layers).
    pub fn patches(&self, l: usize) -> &[T] {
        &self.patches[l]
    }

    /// Activation derivative of planned layer `l` at the last forward pass (same shape as its
    /// output; empty for layers without an activation).
    pub fn layer_derivative(&self, l: usize) -> &[T] {
        &self.derivs[l]
    }

    /// Winners of max pooling `l` of the last forward pass (per output, the index of the
    /// chosen input within its example; empty for other layers).
    pub fn pool_winners(&self, l: usize) -> &[u32] {
        &self.argmax[l]
    }

    /// Instruction set the kernels run on (the best one detected unless set).
    pub fn isa(&self) -> Isa {
        self.isa.unwrap_or_else(Isa::detect)
    }

    /// Runs the kernels on `isa` (an instruction set the CPU lacks falls back to portable code).
    pub fn set_isa(&mut self, isa: Isa) {
        self.isa = Some(isa.usable());
    }

    /// Caps the threads of [`Cnn::grad_chunked`]; `1` forces one thread, `0` restores the default.
    pub fn set_max_threads(&mut self, threads: usize) {
        self.max_threads = (threads > 0).then_some(threads);
    }
}

impl Cnn {
    /// A workspace sized for `rows` rows.
    pub fn workspace(&self, rows: usize) -> CnnWorkspace {
        self.workspace_of(rows)
    }

    /// A workspace sized for `rows` rows, in element type `T` (`f64` or `f32`).
    pub fn workspace_of<T: Real>(&self, rows: usize) -> CnnWorkspace<T> {
        let mut ws = CnnWorkspace::default();
        self.resize(&mut ws, rows);
        ws
    }

    /// Makes sure the workspace holds `rows` rows of this network (allocates only on change).
    pub fn resize<T: Real>(&self, ws: &mut CnnWorkspace<T>, rows: usize) {
        let plan = self.plan();
        let same = ws.outs.len() == plan.len()
            && ws
                .outs
                .iter()
                .zip(plan)
                .all(|(o, l)| o.len() == rows * l.output.size());
        if ws.rows == rows && same {
            return;
        }
        let z = T::ZERO;
        ws.rows = rows;
        ws.outs = plan
            .iter()
            .map(|l| vec![z; rows * l.output.size()])
            .collect();
        ws.derivs = plan
            .iter()
            .map(|l| match l.act {
                Some(_) => vec![z; rows * l.output.size()],
                None => Vec::new(),
            })
            .collect();
        ws.patches = plan
            .iter()
            .map(|l| match l.op {
                Op::Conv(_) => vec![z; rows * l.positions() * l.fan_in],
                _ => Vec::new(),
            })
            .collect();
        ws.argmax = plan
            .iter()
            .map(|l| match l.op {
                Op::Pool(PoolKind::Max, _) => vec![0; rows * l.output.size()],
                _ => Vec::new(),
            })
            .collect();
        ws.out_grad = vec![z; rows * self.outputs()];
        let widest = plan
            .iter()
            .map(|l| l.input.size().max(l.output.size()))
            .max()
            .unwrap_or(0);
        ws.ga = vec![z; rows * widest];
        ws.gb = vec![z; rows * widest];
        let cols = plan
            .iter()
            .filter(|l| matches!(l.op, Op::Conv(_)))
            .map(|l| l.positions() * l.fan_in)
            .max()
            .unwrap_or(0);
        ws.cols = vec![z; rows * cols];
    }

    /// Values one row occupies across a workspace's buffers (sizes the chunks).
    fn row_values(&self) -> usize {
        self.plan()
            .iter()
            .map(|l| {
                let conv = matches!(l.op, Op::Conv(_));
                let p = if conv {
                    2 * l.positions() * l.fan_in
                } else {
                    0
                };
                2 * l.output.size() + p + 2 * l.input.size()
            })
            .sum::<usize>()
            .max(1)
    }

    /// Rows per chunk of [`Cnn::grad_chunked`] (about a megabyte of buffers in f32).
    pub fn chunk(&self) -> usize {
        (CHUNK_VALUES / self.row_values()).clamp(1, 256)
    }

    /// Forward pass on `rows` rows of `x` (row-major, each row an NHWC example); the output is
    /// `ws.output()`.
    pub fn forward<T: Real>(&self, theta: &[T], x: &[T], rows: usize, ws: &mut CnnWorkspace<T>) {
        self.resize(ws, rows);
        self.forward_in(theta, x, rows, ws);
    }

    /// [`Cnn::forward`] on the first `rows` rows of a workspace sized for at least that many.
    fn forward_in<T: Real>(&self, theta: &[T], x: &[T], rows: usize, ws: &mut CnnWorkspace<T>) {
        self.forward_with(theta, x, rows, ws, |_, _, _| {});
    }

    /// [`Cnn::forward_in`] that calls `after_layer(layer, output, derivative)` once each planned layer
    /// is computed and before the next one reads it (the derivative is empty for layers without
    /// an activation): how dropout masks a hidden layer's output and folds the mask into the
    /// derivative that [`Cnn::backward`] multiplies by.
    pub(super) fn forward_with<T: Real>(
        &self,
        theta: &[T],
        x: &[T],
        rows: usize,
        ws: &mut CnnWorkspace<T>,
        mut after_layer: impl FnMut(usize, &mut [T], &mut [T]),
    ) {
        let isa = ws.isa();
        for (i, l) in self.plan().iter().enumerate() {
            let (before, after) = ws.outs.split_at_mut(i);
            let input: &[T] = if i == 0 { x } else { &before[i - 1] };
            let input = &input[..rows * l.input.size()];
            let out = &mut after[0][..rows * l.output.size()];
            let deriv = &mut ws.derivs[i];
            match l.op {
                Op::Conv(win) => {
                    let p = &mut ws.patches[i][..rows * l.positions() * l.fan_in];
                    im2col(input, rows, l.input, win, l.output, p);
                    let n = rows * l.positions();
                    linear(isa, l, theta, p, n, out, deriv);
                }
                Op::Dense => linear(isa, l, theta, input, rows, out, deriv),
                Op::Pool(PoolKind::Avg, win) => avg_pool(input, rows, l.input, win, l.output, out),
                Op::Pool(PoolKind::Max, win) => {
                    let arg = &mut ws.argmax[i];
                    max_pool(input, rows, l.input, win, l.output, out, arg);
                }
                Op::Global => global_pool(input, rows, l.input, out),
            }
            let d = if l.act.is_some() {
                &mut ws.derivs[i][..rows * l.output.size()]
            } else {
                &mut []
            };
            after_layer(i, out, d);
        }
    }

    /// Writes the transposed weights of every layer with parameters into `out`.
    fn transposes<T: Real>(&self, theta: &[T], out: &mut Vec<T>) {
        if out.len() != self.dim() {
            *out = vec![T::ZERO; self.dim()];
        }
        for l in self.plan().iter().filter(|l| l.has_params()) {
            let (k, m) = (l.fan_in, l.units());
            transpose(&theta[l.w_off..l.b_off], k, m, &mut out[l.w_off..l.b_off]);
        }
    }

    /// Reverse pass after `forward`: adds to `grad` the gradient of Σ out_grad·output with
    /// respect to the network parameters (the first `dim()` entries of `grad`).
    pub fn backward<T: Real>(
        &self,
        theta: &[T],
        x: &[T],
        rows: usize,
        ws: &mut CnnWorkspace<T>,
        grad: &mut [T],
    ) {
        let mut wts = std::mem::take(&mut ws.wts);
        self.transposes(theta, &mut wts);
        self.backward_in(x, rows, ws, grad, &wts, None);
        ws.wts = wts;
    }

    /// [`Cnn::backward`] given the transposed weights; with `gx` it also writes the gradient
    /// with respect to the input rows.
    fn backward_in<T: Real>(
        &self,
        x: &[T],
        rows: usize,
        ws: &mut CnnWorkspace<T>,
        grad: &mut [T],
        wts: &[T],
        gx: Option<&mut [T]>,
    ) {
        let isa = ws.isa();
        let plan = self.plan();
        let o = self.outputs();
        ws.ga[..rows * o].copy_from_slice(&ws.out_grad[..rows * o]);
        let mut gx = gx;
        for (i, l) in plan.iter().enumerate().rev() {
            let (gi, go) = (rows * l.input.size(), rows * l.output.size());
            let cur = &mut ws.ga[..go];
            if l.act.is_some() {
                for (g, &d) in cur.iter_mut().zip(&ws.derivs[i][..go]) {
                    *g *= d;
                }
            }
            let cur = &ws.ga[..go];
            let want_input = i > 0 || gx.is_some();
            let next: &mut [T] = if i == 0 {
                match gx.take() {
                    Some(g) => &mut g[..gi],
                    None => &mut [],
                }
            } else {
                &mut ws.gb[..gi]
            };
            match l.op {
                Op::Conv(win) => {
                    let n = rows * l.positions();
                    let (k, m) = (l.fan_in, l.units());
                    let p = &ws.patches[i][..n * k];
                    let (gw, gb) = grad[l.w_off..l.b_off + m].split_at_mut(k * m);
                    gemm_tn(isa, p, cur, n, k, m, gw, &mut []);
                    col_sums(isa, cur, n, m, gb);
                    if want_input {
                        let cols = &mut ws.cols[..n * k];
                        let wt = &wts[l.w_off..l.b_off];
                        gemm_nn_par(false, isa, cur, n, m, wt, k, None, cols, Epi::Store);
                        col2im(cols, rows, l.input, win, l.output, next);
                    }
                }
                Op::Dense => {
                    let (k, m) = (l.fan_in, l.units());
                    let input: &[T] = if i == 0 { x } else { &ws.outs[i - 1] };
                    let (gw, gb) = grad[l.w_off..l.b_off + m].split_at_mut(k * m);
                    affine_backward_params_with(
                        isa,
                        &input[..rows * k],
                        cur,
                        rows,
                        k,
                        m,
                        gw,
                        gb,
                        &mut [],
                    );
                    if want_input {
                        let wt = &wts[l.w_off..l.b_off];
                        gemm_nn_par(false, isa, cur, rows, m, wt, k, None, next, Epi::Store);
                    }
                }
                Op::Pool(PoolKind::Avg, win) if want_input => {
                    avg_pool_back(cur, rows, l.input, win, l.output, next)
                }
                Op::Pool(PoolKind::Max, _) if want_input => {
                    max_pool_back(cur, rows, l.input, l.output, &ws.argmax[i], next)
                }
                Op::Global if want_input => global_pool_back(cur, rows, l.input, next),
                _ => {}
            }
            if i > 0 {
                std::mem::swap(&mut ws.ga, &mut ws.gb);
            }
        }
    }

    /// Reverse pass after `forward` that also writes the gradient with respect to the inputs
    /// (`rows × inputs()`) into `gx`.
    pub fn backward_with_input<T: Real>(
        &self,
        theta: &[T],
        x: &[T],
        rows: usize,
        ws: &mut CnnWorkspace<T>,
        grad: &mut [T],
        gx: &mut [T],
    ) {
        let mut wts = std::mem::take(&mut ws.wts);
        self.transposes(theta, &mut wts);
        self.backward_in(x, rows, ws, grad, &wts, Some(gx));
        ws.wts = wts;
    }

    /// Forward mode: runs `forward`, then writes into `out` (`rows × outputs`) the directional
    /// derivative J·v of the outputs along parameter direction `v` (length `dim()`) and, when
    /// given, input direction `vx` (`rows × inputs()`).
    pub fn jvp<T: Real>(
        &self,
        theta: &[T],
        x: &[T],
        rows: usize,
        v: &[T],
        vx: Option<&[T]>,
        ws: &mut CnnWorkspace<T>,
        out: &mut [T],
    ) {
        self.forward(theta, x, rows, ws);
        let isa = ws.isa();
        let mut ta = std::mem::take(&mut ws.ga);
        let mut tb = std::mem::take(&mut ws.gb);
        let mut has_in = vx.is_some();
        if let Some(vx) = vx {
            let n = rows * self.inputs();
            ta[..n].copy_from_slice(&vx[..n]);
        }
        for (i, l) in self.plan().iter().enumerate() {
            let (gi, go) = (rows * l.input.size(), rows * l.output.size());
            let tin = &ta[..gi];
            let t = &mut tb[..go];
            let input: &[T] = if i == 0 { x } else { &ws.outs[i - 1] };
            match l.op {
                Op::Conv(_) | Op::Dense => {
                    let (k, m) = (l.fan_in, l.units());
                    let n = rows * l.positions();
                    let (w, b) = (&theta[l.w_off..l.b_off], &v[l.b_off..l.b_off + m]);
                    let vw = &v[l.w_off..l.b_off];
                    let a: &[T] = match l.op {
                        Op::Conv(_) => &ws.patches[i][..n * k],
                        _ => &input[..n * k],
                    };
                    gemm_nn_par(false, isa, a, n, k, vw, m, Some(b), t, Epi::Store);
                    if has_in {
                        let ti: &[T] = match l.op {
                            Op::Conv(win) => {
                                im2col(tin, rows, l.input, win, l.output, &mut ws.cols[..n * k]);
                                &ws.cols[..n * k]
                            }
                            _ => tin,
                        };
                        gemm_nn_par(false, isa, ti, n, k, w, m, None, t, Epi::Accumulate);
                    }
                    if l.act.is_some() {
                        for (ti, &d) in t.iter_mut().zip(&ws.derivs[i][..go]) {
                            *ti *= d;
                        }
                    }
                }
                _ if !has_in => t.fill(T::ZERO),
                Op::Pool(PoolKind::Avg, win) => avg_pool(tin, rows, l.input, win, l.output, t),
                Op::Pool(PoolKind::Max, _) => {
                    gather(tin, rows, l.input, l.output, &ws.argmax[i], t)
                }
                Op::Global => global_pool(tin, rows, l.input, t),
            }
            has_in = has_in || l.has_params();
            std::mem::swap(&mut ta, &mut tb);
        }
        let o = rows * self.outputs();
        out[..o].copy_from_slice(&ta[..o]);
        ws.ga = ta;
        ws.gb = tb;
    }

    /// Forward pass, per-row objective and reverse pass chunk by chunk ([`Cnn::chunk`] rows),
    /// like [`crate::nn::Mlp::grad_chunked`]: the rows are split in at most 8 contiguous parts
    /// (fixed by the row count, so the result is bitwise the same on any number of threads),
    /// swept at once on rayon's threads ([`CnnWorkspace::set_max_threads`] caps them), each
    /// with its own workspace and gradient accumulator, summed in part order. `objective(rows,
    /// outputs, out_grad, extra)` returns those rows' term and writes ∂/∂output. The gradient
    /// is added to `grad`; returns the summed objective and extra gradient. Afterwards
    /// `ws.output()` holds every row's outputs.
    pub fn grad_chunked<T: Real>(
        &self,
        theta: &[T],
        x: &[T],
        rows: usize,
        ws: &mut CnnWorkspace<T>,
        grad: &mut [T],
        objective: &RowObjectivePar<'_, T>,
    ) -> (f64, f64) {
        use rayon::prelude::*;
        if ws.outs.len() != self.plan().len() || ws.rows < rows {
            self.resize(ws, rows);
        }
        let (isa, dim, chunk) = (ws.isa(), self.dim(), self.chunk());
        let cap = ws.max_threads.unwrap_or(usize::MAX);
        let parts = rows.div_ceil(chunk).clamp(1, CHUNK_PARTS);
        let per = rows.div_ceil(parts).div_ceil(chunk) * chunk;
        let parts = rows.div_ceil(per.max(1)).max(1);
        let parallel = cap >= 2 && rayon::current_num_threads() >= 2 && parts > 1;
        if ws.chunks.len() < parts {
            ws.chunks.resize_with(parts, ChunkState::default);
        }
        for st in &mut ws.chunks[..parts] {
            self.resize(&mut st.ws, chunk.min(rows));
            st.ws.isa = Some(isa);
            if st.grad.len() != dim {
                st.grad = vec![T::ZERO; dim];
            }
        }
        self.transposes(theta, &mut ws.wts);
        let (k, o) = (self.inputs(), self.outputs());
        let wts = &ws.wts[..];
        let nout = ws.outs.len() - 1;
        let out = &mut ws.outs[nout][..rows * o];
        let states = &mut ws.chunks[..parts];
        let sweep = |p: usize, st: &mut ChunkState<T>, oc: &mut [T]| {
            let (r0, n) = (p * per, oc.len() / o.max(1));
            let xp = &x[r0 * k..(r0 + n) * k];
            self.chunk_sweep(theta, wts, xp, r0, n, st, oc, objective)
        };
        let partial: Vec<(f64, f64)> = if parallel {
            states
                .par_iter_mut()
                .zip(out.par_chunks_mut(per * o))
                .enumerate()
                .map(|(p, (st, oc))| sweep(p, st, oc))
                .collect()
        } else {
            states
                .iter_mut()
                .zip(out.chunks_mut(per * o))
                .enumerate()
                .map(|(p, (st, oc))| sweep(p, st, oc))
                .collect()
        };
        let sums = partial
            .iter()
            .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        for st in ws.chunks[..parts].iter() {
            for (g, v) in grad[..dim].iter_mut().zip(&st.grad) {
                *g += *v;
            }
        }
        sums
    }

    /// One part of [`Cnn::grad_chunked`]: rows `first..first + rows`, chunk by chunk.
    fn chunk_sweep<T: Real>(
        &self,
        theta: &[T],
        wts: &[T],
        x: &[T],
        first: usize,
        rows: usize,
        st: &mut ChunkState<T>,
        out: &mut [T],
        objective: &RowObjectivePar<'_, T>,
    ) -> (f64, f64) {
        let (k, o, chunk) = (self.inputs(), self.outputs(), self.chunk());
        st.grad.fill(T::ZERO);
        let (mut total, mut extra) = (0.0, 0.0);
        let mut c0 = 0;
        while c0 < rows {
            let n = chunk.min(rows - c0);
            let xc = &x[c0 * k..(c0 + n) * k];
            self.forward_in(theta, xc, n, &mut st.ws);
            let (oc, og) = st.ws.output_and_grad();
            total += objective(
                first + c0..first + c0 + n,
                &oc[..n * o],
                &mut og[..n * o],
                &mut extra,
            );
            out[c0 * o..(c0 + n) * o].copy_from_slice(&oc[..n * o]);
            self.backward_in(xc, n, &mut st.ws, &mut st.grad, wts, None);
            c0 += n;
        }
        (total, extra)
    }

    /// Network outputs for `rows` rows (allocates a workspace; for prediction, not hot loops).
    pub fn predict(&self, theta: &[f64], x: &[f64], rows: usize) -> Vec<f64> {
        let mut ws = self.workspace(rows);
        self.forward(theta, x, rows, &mut ws);
        ws.output().to_vec()
    }
}

/// `out = act(a·W + b)` for a conv (a = patches) or dense layer over `n` rows of `a`, with the
/// activation derivative written into `deriv`.
fn linear<T: Real>(
    isa: Isa,
    l: &Layer,
    theta: &[T],
    a: &[T],
    n: usize,
    out: &mut [T],
    deriv: &mut [T],
) {
    let (k, m) = (l.fan_in, l.units());
    let w = &theta[l.w_off..l.b_off];
    let b = &theta[l.b_off..l.b_off + m];
    if m == 1 {
        dot_rows(isa, a, n, k, w, b[0], out);
        if let Some(act) = l.act {
            activate(isa, act, out, &mut deriv[..n]);
        }
        return;
    }
    let epi = match l.act {
        Some(act) => Epi::Act(act, &mut deriv[..n * m]),
        None => Epi::Store,
    };
    gemm_nn_par(false, isa, a, n, k, w, m, Some(b), out, epi);
}
