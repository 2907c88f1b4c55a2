//! Dense multilayer perceptron over a flat parameter vector: forward pass and reverse-mode
//! gradient written by hand, with a workspace reused across calls (no allocation per gradient).

use super::kernels::{
    activate, affine_backward_params_with, affine_with, dot_rows, gemm_nn, gemm_tn, transpose, Epi,
    PAR_MIN,
};
use super::simd::{Isa, Real};
use super::{Activation, ParamLayout};
use serde::{Deserialize, Serialize};

/// Architecture of a multilayer perceptron: layer widths and the hidden activation.
/// The output layer is linear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    /// Widths from input to output, e.g. `[13, 50, 1]`.
    pub sizes: Vec<usize>,
    /// Activation of every hidden layer.
    pub activation: Activation,
}

/// Buffers for one batch size, reused across forward and backward passes (`f64` by default; the
/// engine also runs in `f32`).
#[derive(Debug, Clone, Default)]
pub struct Workspace<T: Real = f64> {
    rows: usize,
    isa: Option<Isa>,
    /// Output of each layer (post-activation for hidden layers, linear for the last).
    outs: Vec<Vec<T>>,
    /// Activation derivative of each hidden layer.
    derivs: Vec<Vec<T>>,
    /// Gradient of the objective with respect to the network output (set by the caller).
    pub out_grad: Vec<T>,
    delta: Vec<T>,
    delta_prev: Vec<T>,
    /// Transposed weights of the layer being back-propagated.
    wt: Vec<T>,
    /// Per-thread partial weight gradients of large layers.
    scratch: Vec<T>,
    /// Buffers of the fused one-hidden-layer gradient ([`Mlp::grad_fused`]).
    fused: Vec<T>,
}

impl<T: Real> Workspace<T> {
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

    /// Output of hidden layer `l` (0-based) of the last forward pass.
    pub fn hidden(&self, l: usize) -> &[T] {
        &self.outs[l]
    }

    /// Activation derivative of hidden layer `l` (0-based) of the last forward pass.
    pub fn hidden_derivative(&self, l: usize) -> &[T] {
        &self.derivs[l]
    }

    /// Instruction set the kernels run on (the best one detected unless set).
    pub fn isa(&self) -> Isa {
        self.isa.unwrap_or_else(Isa::detect)
    }

    /// Runs the kernels on `isa` (for tests and benchmarks); one the CPU lacks falls back to
    /// the portable code.
    pub fn set_isa(&mut self, isa: Isa) {
        self.isa = Some(isa.usable());
    }
}

/// A per-row objective for [`Mlp::grad_fused`]: given a range of rows and their network
/// outputs, returns those rows' term of the objective and writes ∂/∂output into the slice.
pub type RowObjective<'a, T> = dyn FnMut(std::ops::Range<usize>, &[T], &mut [T]) -> f64 + 'a;

/// Rows per block of the fused gradient for `h` hidden units: about 1024 elements of hidden
/// activations (and as many derivatives) per block, so that both stay in L1 beside W1 and the
/// accumulated gradient (16 rows for 50 units). Measured on boston: 8 to 160 rows per block are
/// within the noise of one another.
fn fuse_block(h: usize) -> usize {
    (1024 / h.max(1)).clamp(8, 256) / 8 * 8
}

impl Mlp {
    /// A new architecture; `sizes` needs at least input and output widths.
    pub fn new(sizes: Vec<usize>, activation: Activation) -> Self {
        Mlp { sizes, activation }
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.sizes[0]
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        *self.sizes.last().unwrap_or(&0)
    }

    /// Number of dense layers.
    pub fn layers(&self) -> usize {
        self.sizes.len().saturating_sub(1)
    }

    /// Number of network parameters.
    pub fn dim(&self) -> usize {
        self.sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
    }

    /// Parameter layout, optionally with a trailing noise parameter.
    pub fn layout(&self, noise: bool) -> ParamLayout {
        ParamLayout::for_mlp(&self.sizes, noise)
    }

    /// Offsets of (weights, biases) of layer `l` (0-based) in the flat vector.
    pub fn offsets(&self, l: usize) -> (usize, usize) {
        let mut at = 0;
        for w in self.sizes.windows(2).take(l) {
            at += w[0] * w[1] + w[1];
        }
        (at, at + self.sizes[l] * self.sizes[l + 1])
    }

    /// A workspace sized for `rows` rows.
    pub fn workspace(&self, rows: usize) -> Workspace {
        self.workspace_of(rows)
    }

    /// A workspace sized for `rows` rows, in element type `T` (`f64` or `f32`).
    pub fn workspace_of<T: Real>(&self, rows: usize) -> Workspace<T> {
        let mut ws = Workspace::default();
        self.resize(&mut ws, rows);
        ws
    }

    /// Makes sure the workspace holds `rows` rows (allocates only when it grows or the shape changes).
    pub fn resize<T: Real>(&self, ws: &mut Workspace<T>, rows: usize) {
        let layers = self.layers();
        let same_shape = ws.outs.len() == layers
            && ws
                .outs
                .iter()
                .zip(&self.sizes[1..])
                .all(|(o, &w)| o.len() == rows * w);
        if ws.rows == rows && same_shape {
            return;
        }
        let widest = self.sizes.iter().copied().max().unwrap_or(0);
        let z = T::ZERO;
        ws.rows = rows;
        ws.outs = self.sizes[1..].iter().map(|&w| vec![z; rows * w]).collect();
        ws.derivs = self.sizes[1..layers]
            .iter()
            .map(|&w| vec![z; rows * w])
            .collect();
        ws.out_grad = vec![z; rows * self.outputs()];
        ws.delta = vec![z; rows * widest];
        ws.delta_prev = vec![z; rows * widest];
        let big = self
            .sizes
            .windows(2)
            .map(|w| w[0] * w[1])
            .max()
            .unwrap_or(0);
        ws.wt = vec![z; big];
        ws.scratch = vec![z; big * rayon::current_num_threads().saturating_sub(1)];
    }

    /// One dense layer forward: `out = act(input·W + b)` (linear for the last layer), with the
    /// activation derivative written into the workspace.
    #[allow(clippy::too_many_arguments)]
    fn layer_forward<T: Real>(
        &self,
        l: usize,
        theta: &[T],
        input: &[T],
        rows: usize,
        isa: Isa,
        out: &mut [T],
        deriv: Option<&mut [T]>,
    ) {
        let (k, m) = (self.sizes[l], self.sizes[l + 1]);
        let (wo, bo) = self.offsets(l);
        let w = &theta[wo..wo + k * m];
        let b = &theta[bo..bo + m];
        let out = &mut out[..rows * m];
        match deriv {
            None => affine_with(isa, input, rows, k, w, b, out),
            Some(d) => {
                let d = &mut d[..rows * m];
                if m == 1 {
                    dot_rows(isa, input, rows, k, w, b[0], out);
                    activate(isa, self.activation, out, d);
                } else {
                    let epi = Epi::Act(self.activation, d);
                    gemm_nn(isa, input, rows, k, w, m, Some(b), out, epi);
                }
            }
        }
    }

    /// Forward pass on `rows` rows of `x` (row-major); the output is `ws.output()`.
    pub fn forward<T: Real>(&self, theta: &[T], x: &[T], rows: usize, ws: &mut Workspace<T>) {
        self.resize(ws, rows);
        let isa = ws.isa();
        let layers = self.layers();
        for l in 0..layers {
            let (before, after) = ws.outs.split_at_mut(l);
            let input: &[T] = if l == 0 { x } else { &before[l - 1] };
            let deriv = (l + 1 < layers).then(|| &mut ws.derivs[l][..]);
            self.layer_forward(l, theta, input, rows, isa, &mut after[0], deriv);
        }
    }

    /// Forward pass with dropout on every hidden layer's output: each unit of each row is kept
    /// with probability 1 − `rate` and scaled by 1/(1 − `rate`) (inverted dropout). The mask is
    /// folded into the stored derivative, so `backward` gives the gradient of the thinned network.
    pub fn forward_dropout(
        &self,
        theta: &[f64],
        x: &[f64],
        rows: usize,
        ws: &mut Workspace,
        rate: f64,
        rng: &mut crate::rng::Rng,
    ) {
        self.forward(theta, x, rows, ws);
        if rate <= 0.0 {
            return;
        }
        let keep = 1.0 / (1.0 - rate);
        let layers = self.layers();
        // Recompute from the first hidden layer on, masking each hidden output before it feeds the next.
        for l in 0..layers.saturating_sub(1) {
            let m = self.sizes[l + 1];
            for (o, d) in ws.outs[l][..rows * m]
                .iter_mut()
                .zip(&mut ws.derivs[l][..rows * m])
            {
                let s = if crate::rng::uniform(rng) < rate {
                    0.0
                } else {
                    keep
                };
                *o *= s;
                *d *= s;
            }
            let isa = ws.isa();
            let (before, after) = ws.outs.split_at_mut(l + 1);
            let deriv = (l + 2 < layers).then(|| &mut ws.derivs[l + 1][..]);
            self.layer_forward(l + 1, theta, &before[l], rows, isa, &mut after[0], deriv);
        }
    }

    /// Whether [`Mlp::grad_fused`] takes the fused path for `rows` rows: one hidden layer, one
    /// output, and a product small enough to stay on one thread.
    pub fn fuses(&self, rows: usize) -> bool {
        self.layers() == 2
            && self.outputs() == 1
            && rows * (self.sizes[0] + 1) * self.sizes[1] < PAR_MIN
    }

    /// Forward pass, per-row objective and reverse pass in one sweep over blocks of rows, for
    /// networks with one hidden layer and one output (see [`Mlp::fuses`]); `None` (nothing
    /// done) for other shapes, which use `forward` then `backward`.
    ///
    /// For each block of rows (16 for 50 hidden units: its hidden activations and derivatives
    /// stay in L1), the block's outputs are computed and `objective(rows, outputs, out_grad)`
    /// is called: it returns the block's term of the objective and writes ∂/∂output for those
    /// rows. The gradient of the summed objective with respect to the network parameters is
    /// added to `grad`, and the summed objective returned. With δ = out_grad and D the
    /// activation derivative, ∂/∂W1[k, j] = w2[j]·Σₙ (xₙₖ·δₙ)·Dₙⱼ and ∂/∂b1[j] = w2[j]·Σₙ δₙ·Dₙⱼ:
    /// one product `[x·δ, δ]ᵀ·D` per block, scaled by w2 once at the end.
    ///
    /// Afterwards `ws.output()` holds the outputs of every row; the hidden-layer buffers
    /// (`hidden`, `hidden_derivative`) are not filled.
    pub fn grad_fused<T: Real>(
        &self,
        theta: &[T],
        x: &[T],
        rows: usize,
        ws: &mut Workspace<T>,
        grad: &mut [T],
        objective: &mut RowObjective<'_, T>,
    ) -> Option<f64> {
        if self.layers() != 2 || self.outputs() != 1 {
            return None;
        }
        self.resize(ws, rows);
        let isa = ws.isa();
        let (k, h) = (self.sizes[0], self.sizes[1]);
        let k1 = k + 1;
        let block = fuse_block(h);
        let (w1o, b1o) = self.offsets(0);
        let (w2o, b2o) = self.offsets(1);
        let w1 = &theta[w1o..w1o + k * h];
        let b1 = &theta[b1o..b1o + h];
        let w2 = &theta[w2o..w2o + h];
        let b2 = theta[b2o];
        // Layout of the fused buffer: hidden block, derivative block, [x·δ, δ] block, the
        // accumulated [x·δ, δ]ᵀ·D ((k + 1) × h) and the accumulated ∂/∂w2 (h).
        let need = 2 * block * h + block * k1 + k1 * h + h;
        if ws.fused.len() != need {
            ws.fused = vec![T::ZERO; need];
        }
        let (hb, rest) = ws.fused.split_at_mut(block * h);
        let (db, rest) = rest.split_at_mut(block * h);
        let (xs, rest) = rest.split_at_mut(block * k1);
        let (g1, gw2) = rest.split_at_mut(k1 * h);
        g1.fill(T::ZERO);
        gw2.fill(T::ZERO);
        let out = &mut ws.outs[1][..rows];
        let og = &mut ws.out_grad[..rows];
        let mut total = 0.0;
        let mut gb2 = T::ZERO;
        let mut r0 = 0;
        while r0 < rows {
            let nb = block.min(rows - r0);
            let xb = &x[r0 * k..(r0 + nb) * k];
            let (hbn, dbn) = (&mut hb[..nb * h], &mut db[..nb * h]);
            gemm_nn(
                isa,
                xb,
                nb,
                k,
                w1,
                h,
                Some(b1),
                hbn,
                Epi::Act(self.activation, dbn),
            );
            let ob = &mut out[r0..r0 + nb];
            dot_rows(isa, hbn, nb, h, w2, b2, ob);
            let gb = &mut og[r0..r0 + nb];
            total += objective(r0..r0 + nb, ob, gb);
            for (n, &g) in gb.iter().enumerate() {
                let row = &mut xs[n * k1..(n + 1) * k1];
                for (v, &xv) in row[..k].iter_mut().zip(&xb[n * k..(n + 1) * k]) {
                    *v = xv * g;
                }
                row[k] = g;
                gb2 += g;
            }
            gemm_tn(isa, &xs[..nb * k1], dbn, nb, k1, h, g1, &mut []);
            gemm_nn(isa, gb, 1, nb, hbn, h, None, gw2, Epi::Accumulate);
            r0 += nb;
        }
        let (gw1, rest) = grad[w1o..].split_at_mut(k * h);
        for (kk, row) in gw1.chunks_exact_mut(h).enumerate() {
            for ((g, &a), &w) in row.iter_mut().zip(&g1[kk * h..(kk + 1) * h]).zip(w2) {
                *g += a * w;
            }
        }
        for ((g, &a), &w) in rest[..h].iter_mut().zip(&g1[k * h..]).zip(w2) {
            *g += a * w;
        }
        for (g, &a) in grad[w2o..w2o + h].iter_mut().zip(gw2.iter()) {
            *g += a;
        }
        grad[b2o] += gb2;
        Some(total)
    }

    /// Reverse pass after `forward`: adds to `grad` the gradient of Σ out_grad·output with
    /// respect to the network parameters (the first `dim()` entries of `grad`).
    pub fn backward<T: Real>(
        &self,
        theta: &[T],
        x: &[T],
        rows: usize,
        ws: &mut Workspace<T>,
        grad: &mut [T],
    ) {
        let isa = ws.isa();
        let layers = self.layers();
        let out_w = self.outputs();
        ws.delta[..rows * out_w].copy_from_slice(&ws.out_grad[..rows * out_w]);
        for l in (0..layers).rev() {
            let (k, m) = (self.sizes[l], self.sizes[l + 1]);
            let (wo, bo) = self.offsets(l);
            let input: &[T] = if l == 0 { x } else { &ws.outs[l - 1] };
            let delta = &ws.delta[..rows * m];
            {
                let (gw, gb) = grad[wo..bo + m].split_at_mut(k * m);
                affine_backward_params_with(isa, input, delta, rows, k, m, gw, gb, &mut ws.scratch);
            }
            if l == 0 {
                break;
            }
            // Error at the previous layer's pre-activation: delta·Wᵀ times activation' (and the
            // dropout mask, folded into the derivative by `forward_dropout`), in one pass.
            let w = &theta[wo..wo + k * m];
            let wt: &[T] = if m == 1 {
                w
            } else {
                transpose(w, k, m, &mut ws.wt[..k * m]);
                &ws.wt[..k * m]
            };
            let dprev = &mut ws.delta_prev[..rows * k];
            let epi = Epi::Mul(&ws.derivs[l - 1][..rows * k]);
            gemm_nn(isa, delta, rows, m, wt, k, None, dprev, epi);
            std::mem::swap(&mut ws.delta, &mut ws.delta_prev);
        }
    }

    /// Network outputs for `rows` rows (allocates a workspace; for prediction, not hot loops).
    pub fn predict(&self, theta: &[f64], x: &[f64], rows: usize) -> Vec<f64> {
        let mut ws = self.workspace(rows);
        self.forward(theta, x, rows, &mut ws);
        ws.output().to_vec()
    }

    /// Network outputs under each of S parameter vectors at the same `rows` rows of `x`, written
    /// into `out` (`S × rows × outputs`, sample-major). Samples run in parallel (rayon), each
    /// worker reusing one workspace; results equal S separate `forward` calls.
    pub fn forward_many<P: AsRef<[f64]> + Sync>(
        &self,
        thetas: &[P],
        x: &[f64],
        rows: usize,
        out: &mut [f64],
    ) {
        use rayon::prelude::*;
        let per = rows * self.outputs();
        if per == 0 {
            return;
        }
        let out = &mut out[..per * thetas.len()];
        if thetas.len() < 2 {
            let mut ws = self.workspace(rows);
            for (o, th) in out.chunks_mut(per).zip(thetas) {
                self.forward(th.as_ref(), x, rows, &mut ws);
                o.copy_from_slice(ws.output());
            }
            return;
        }
        out.par_chunks_mut(per)
            .zip(thetas.par_iter())
            .for_each_init(
                || self.workspace(rows),
                |ws, (o, th)| {
                    self.forward(th.as_ref(), x, rows, ws);
                    o.copy_from_slice(ws.output());
                },
            );
    }

    /// [`Mlp::forward_many`] into a new vector (`S × rows × outputs`).
    pub fn predict_many<P: AsRef<[f64]> + Sync>(
        &self,
        thetas: &[P],
        x: &[f64],
        rows: usize,
    ) -> Vec<f64> {
        let mut out = vec![0.0; thetas.len() * rows * self.outputs()];
        self.forward_many(thetas, x, rows, &mut out);
        out
    }

    /// Draws initial parameters: weights N(0, 1/fan_in) (LeCun), biases 0.
    pub fn init(&self, rng: &mut crate::rng::Rng) -> Vec<f64> {
        let mut theta = vec![0.0; self.dim()];
        for l in 0..self.layers() {
            let (k, m) = (self.sizes[l], self.sizes[l + 1]);
            let (wo, _) = self.offsets(l);
            let s = 1.0 / (k as f64).sqrt();
            for t in &mut theta[wo..wo + k * m] {
                *t = s * crate::rng::normal(rng);
            }
        }
        theta
    }
}
