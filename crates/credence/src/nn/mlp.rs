//! Dense multilayer perceptron over a flat parameter vector: forward pass and reverse-mode
//! gradient written by hand, with a workspace reused across calls (no allocation per gradient).

use super::kernels::{
    activate, affine_backward_params_with, dot_rows, gemm_nn, gemm_nn_par, gemm_tn, transpose, Epi,
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
    /// The second half's buffers when the fused gradient runs on two threads.
    fused2: Vec<T>,
    /// Most threads the fused gradient may use (`None`: decided by the size of the product).
    max_threads: Option<usize>,
    /// Per-thread state of the chunked gradient ([`Mlp::grad_chunked`]).
    chunks: Vec<ChunkState<T>>,
    /// Transposed weights of layers 1.. (concatenated) for the chunked gradient.
    wts: Vec<T>,
}

/// One thread's state in [`Mlp::grad_chunked`]: a workspace for one chunk of rows and the
/// thread's gradient accumulator.
#[derive(Debug, Clone, Default)]
struct ChunkState<T: Real> {
    ws: Workspace<T>,
    grad: Vec<T>,
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

    /// Caps the threads of the fused gradient ([`Mlp::grad_fused_par`]); `1` forces one thread
    /// (what a caller that already runs one gradient per core wants), `0` restores the default
    /// (two threads when the product is large enough to pay, see [`Mlp::fused_threads`]).
    pub fn set_max_threads(&mut self, threads: usize) {
        self.max_threads = (threads > 0).then_some(threads);
    }
}

/// A per-row objective for [`Mlp::grad_fused_par`], callable from two threads at once: like
/// [`RowObjective`], and the last argument accumulates the gradient with respect to one extra
/// parameter of the objective (the log noise scale of a likelihood), per thread.
pub type RowObjectivePar<'a, T> =
    dyn Fn(std::ops::Range<usize>, &[T], &mut [T], &mut f64) -> f64 + Sync + 'a;

/// Product size (rows × (inputs + 1) × hidden units) from which the fused gradient splits its
/// rows over two threads. Measured on the 2-vCPU EPYC (Zen 4) with `credence bench grad`: boston
/// (455 × 14 × 50 = 318 500) runs ≈ 1.6× faster on two threads than on one inside the pool.
pub const FUSED_PAR_MIN: usize = 1 << 16;

/// Row blocks of the weight-gradient product `Aᵀ·D` of a deep network's backward pass (when
/// large): fixed, so its sums do not depend on the thread count.
pub(crate) const TN_PARTS: usize = 4;

/// Most parts of the chunked gradient of a deep network (fixed, for the same reason).
pub(crate) const CHUNK_PARTS: usize = 8;

/// Parameters and geometry of one fused sweep.
struct FusedNet<'a, T> {
    isa: Isa,
    act: Activation,
    k: usize,
    h: usize,
    block: usize,
    w1: &'a [T],
    b1: &'a [T],
    w2: &'a [T],
    b2: T,
}

impl<T: Real> FusedNet<'_, T> {
    /// Length of one sweep's buffer: hidden block, derivative block, [x·δ, δ] block, the
    /// accumulated [x·δ, δ]ᵀ·D ((k + 1) × h) and the accumulated ∂/∂w2 (h).
    fn buffer_len(&self) -> usize {
        let k1 = self.k + 1;
        2 * self.block * self.h + self.block * k1 + k1 * self.h + self.h
    }

    /// Forward, objective and reverse pass over `rows` rows (`x`, `out`, `og` hold just those
    /// rows; `first` is the index of the first one, passed to the objective). Leaves the
    /// accumulated [x·δ, δ]ᵀ·D and ∂/∂w2 at the end of `buf` and returns (objective, ∂/∂b2).
    #[allow(clippy::too_many_arguments)]
    fn sweep(
        &self,
        x: &[T],
        first: usize,
        rows: usize,
        buf: &mut [T],
        out: &mut [T],
        og: &mut [T],
        objective: &mut RowObjective<'_, T>,
    ) -> (f64, T) {
        let (k, h, block, isa) = (self.k, self.h, self.block, self.isa);
        let k1 = k + 1;
        let (hb, rest) = buf.split_at_mut(block * h);
        let (db, rest) = rest.split_at_mut(block * h);
        let (xs, rest) = rest.split_at_mut(block * k1);
        let (g1, gw2) = rest.split_at_mut(k1 * h);
        g1.fill(T::ZERO);
        gw2.fill(T::ZERO);
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
                self.w1,
                h,
                Some(self.b1),
                hbn,
                Epi::Act(self.act, dbn),
            );
            let ob = &mut out[r0..r0 + nb];
            dot_rows(isa, hbn, nb, h, self.w2, self.b2, ob);
            let gb = &mut og[r0..r0 + nb];
            total += objective(first + r0..first + r0 + nb, ob, gb);
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
        (total, gb2)
    }
}

/// A per-row objective for [`Mlp::grad_fused`]: given a range of rows and their network
/// outputs, returns those rows' term of the objective and writes ∂/∂output into the slice.
pub type RowObjective<'a, T> = dyn FnMut(std::ops::Range<usize>, &[T], &mut [T]) -> f64 + 'a;

/// Rows per chunk of [`Mlp::grad_chunked`] for layers at most `widest` units wide: about
/// 12 800 values per layer buffer (128 rows of 100 units: ≈ 6 × 100 KB of activations,
/// derivatives and back-propagated errors, within a Zen 4 core's 1 MB L2). Measured on the big
/// case (8→100→100→1): 32, 64 and 128 rows per chunk are within 6% of one another.
fn chunk_rows(widest: usize) -> usize {
    (12_800 / widest.max(1)).clamp(16, 1024) / 8 * 8
}

/// Rows per block of the fused gradient for `h` hidden units: about 1024 elements of hidden
/// activations (and as many derivatives) per block, so that both stay in L1 beside W1 and the
/// accumulated gradient (16 rows for 50 units). Measured on boston: 8 to 160 rows per block are
/// within the noise of one another.
fn fuse_block(h: usize) -> usize {
    (2048 / h.max(1)).clamp(8, 256) / 8 * 8
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
        // A fixed number of row blocks for `gemm_tn`, whatever the thread count, so that its
        // sums (and every gradient) are the same on 1, 2 or N threads.
        ws.scratch = vec![z; big * (TN_PARTS - 1)];
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
        par: bool,
    ) {
        let (k, m) = (self.sizes[l], self.sizes[l + 1]);
        let (wo, bo) = self.offsets(l);
        let w = &theta[wo..wo + k * m];
        let b = &theta[bo..bo + m];
        let out = &mut out[..rows * m];
        if m == 1 {
            dot_rows(isa, input, rows, k, w, b[0], out);
            if let Some(d) = deriv {
                activate(isa, self.activation, out, &mut d[..rows]);
            }
            return;
        }
        let epi = match deriv {
            None => Epi::Store,
            Some(d) => Epi::Act(self.activation, &mut d[..rows * m]),
        };
        gemm_nn_par(par, isa, input, rows, k, w, m, Some(b), out, epi);
    }

    /// Forward pass on `rows` rows of `x` (row-major); the output is `ws.output()`.
    pub fn forward<T: Real>(&self, theta: &[T], x: &[T], rows: usize, ws: &mut Workspace<T>) {
        self.resize(ws, rows);
        self.forward_in(theta, x, rows, ws, true);
    }

    /// [`Mlp::forward`] on the first `rows` rows of a workspace sized for at least that many.
    fn forward_in<T: Real>(
        &self,
        theta: &[T],
        x: &[T],
        rows: usize,
        ws: &mut Workspace<T>,
        par: bool,
    ) {
        let isa = ws.isa();
        let layers = self.layers();
        for l in 0..layers {
            let (before, after) = ws.outs.split_at_mut(l);
            let input: &[T] = if l == 0 { x } else { &before[l - 1] };
            let deriv = (l + 1 < layers).then(|| &mut ws.derivs[l][..]);
            self.layer_forward(l, theta, input, rows, isa, &mut after[0], deriv, par);
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
            self.layer_forward(
                l + 1,
                theta,
                &before[l],
                rows,
                isa,
                &mut after[0],
                deriv,
                true,
            );
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
        let net = self.fused_setup(theta, rows, ws)?;
        let out = &mut ws.outs[1][..rows];
        let og = &mut ws.out_grad[..rows];
        let (total, gb2) = net.sweep(x, 0, rows, &mut ws.fused, out, og, objective);
        self.fused_finish(&net, &ws.fused, gb2, grad);
        Some(total)
    }

    /// Threads [`Mlp::grad_fused_par`] uses for `rows` rows: 2 when the product
    /// rows × (inputs + 1) × hidden units reaches [`FUSED_PAR_MIN`], the caller runs on a rayon
    /// worker (as the samplers' chains do; from outside the pool a join costs two thread
    /// wake-ups, more than it saves on a gradient of tens of µs), rayon has two threads and
    /// the workspace allows it ([`Workspace::set_max_threads`]); else 1.
    pub fn fused_threads<T: Real>(&self, rows: usize, ws: &Workspace<T>) -> usize {
        let work = rows * (self.sizes[0] + 1) * self.sizes.get(1).copied().unwrap_or(0);
        let cap = ws.max_threads.unwrap_or(usize::MAX);
        if work >= FUSED_PAR_MIN
            && cap >= 2
            && rayon::current_thread_index().is_some()
            && rayon::current_num_threads() >= 2
        {
            2
        } else {
            1
        }
    }

    /// [`Mlp::grad_fused`] with an objective callable from two threads: when the batch is
    /// large enough (rows × (inputs + 1) × hidden ≥ [`FUSED_PAR_MIN`]) the rows are split in two
    /// halves, each with its own accumulators, summed at the end — swept at once (`rayon::join`)
    /// when [`Mlp::fused_threads`] gives two threads, one after the other otherwise, so the
    /// result is bitwise the same on any number of threads. Returns the summed objective and the
    /// summed extra-parameter gradient the objective accumulated.
    pub fn grad_fused_par<T: Real>(
        &self,
        theta: &[T],
        x: &[T],
        rows: usize,
        ws: &mut Workspace<T>,
        grad: &mut [T],
        objective: &RowObjectivePar<'_, T>,
    ) -> Option<(f64, f64)> {
        let net = self.fused_setup(theta, rows, ws)?;
        let need = net.buffer_len();
        let threads = self.fused_threads(rows, ws);
        let out = &mut ws.outs[1][..rows];
        let og = &mut ws.out_grad[..rows];
        // One part of the rows: its objective, its extra gradient, its ∂b2.
        let part = |xs: &[T], first: usize, n: usize, buf: &mut [T], o: &mut [T], g: &mut [T]| {
            let mut extra = 0.0;
            let mut f =
                |r: std::ops::Range<usize>, o: &[T], g: &mut [T]| objective(r, o, g, &mut extra);
            let (t, b) = net.sweep(xs, first, n, buf, o, g, &mut f);
            (t, extra, b)
        };
        let work = rows * (self.sizes[0] + 1) * self.sizes.get(1).copied().unwrap_or(0);
        let (total, extra, gb2) = if work < FUSED_PAR_MIN || rows < 16 {
            part(x, 0, rows, &mut ws.fused, out, og)
        } else {
            if ws.fused2.len() != need {
                ws.fused2 = vec![T::ZERO; need];
            }
            let half = rows / 2 / 8 * 8;
            let k = self.sizes[0];
            let (xa, xb) = x[..rows * k].split_at(half * k);
            let (oa, ob) = out.split_at_mut(half);
            let (ga, gb) = og.split_at_mut(half);
            let (bufa, bufb) = (&mut ws.fused, &mut ws.fused2);
            let ((ta, ea, ba), (tb, eb, bb)) = if threads >= 2 {
                rayon::join(
                    || part(xa, 0, half, bufa, oa, ga),
                    || part(xb, half, rows - half, bufb, ob, gb),
                )
            } else {
                (
                    part(xa, 0, half, bufa, oa, ga),
                    part(xb, half, rows - half, bufb, ob, gb),
                )
            };
            let acc = (net.k + 1) * net.h + net.h;
            let from = need - acc;
            for (a, b) in ws.fused[from..].iter_mut().zip(&ws.fused2[from..]) {
                *a += *b;
            }
            (ta + tb, ea + eb, ba + bb)
        };
        self.fused_finish(&net, &ws.fused, gb2, grad);
        Some((total, extra))
    }

    /// The fused sweep's view of θ with the workspace sized for `rows` rows and its block
    /// buffer allocated; `None` unless one hidden layer and one output.
    fn fused_setup<'a, T: Real>(
        &self,
        theta: &'a [T],
        rows: usize,
        ws: &mut Workspace<T>,
    ) -> Option<FusedNet<'a, T>> {
        let net = self.fused_net(theta, ws.isa())?;
        self.resize(ws, rows);
        let need = net.buffer_len();
        if ws.fused.len() != need {
            ws.fused = vec![T::ZERO; need];
        }
        Some(net)
    }

    /// The fused sweep's view of θ; `None` unless one hidden layer and one output.
    fn fused_net<'a, T: Real>(&self, theta: &'a [T], isa: Isa) -> Option<FusedNet<'a, T>> {
        if self.layers() != 2 || self.outputs() != 1 {
            return None;
        }
        let (k, h) = (self.sizes[0], self.sizes[1]);
        let (w1o, b1o) = self.offsets(0);
        let (w2o, b2o) = self.offsets(1);
        Some(FusedNet {
            isa,
            act: self.activation,
            k,
            h,
            block: fuse_block(h),
            w1: &theta[w1o..w1o + k * h],
            b1: &theta[b1o..b1o + h],
            w2: &theta[w2o..w2o + h],
            b2: theta[b2o],
        })
    }

    /// Adds the fused sweep's accumulators (at the end of `buf`) to `grad`: ∂W1[k, j] =
    /// w2[j]·G[k, j], ∂b1[j] = w2[j]·G[K, j], ∂w2 and ∂b2 as accumulated.
    fn fused_finish<T: Real>(&self, net: &FusedNet<'_, T>, buf: &[T], gb2: T, grad: &mut [T]) {
        let (k, h) = (net.k, net.h);
        let k1 = k + 1;
        let acc = &buf[buf.len() - (k1 * h + h)..];
        let (g1, gw2) = acc.split_at(k1 * h);
        let (w1o, _) = self.offsets(0);
        let (w2o, b2o) = self.offsets(1);
        let w2 = net.w2;
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
        self.backward_in(theta, x, rows, ws, grad, None);
    }

    /// [`Mlp::backward`]; with `wts` (the transposed weights of layers 1.., concatenated, see
    /// [`Mlp::transposes`]) it runs on one thread and transposes nothing.
    fn backward_in<T: Real>(
        &self,
        theta: &[T],
        x: &[T],
        rows: usize,
        ws: &mut Workspace<T>,
        grad: &mut [T],
        wts: Option<&[T]>,
    ) {
        let isa = ws.isa();
        let par = wts.is_none();
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
                let scratch: &mut [T] = if par { &mut ws.scratch } else { &mut [] };
                affine_backward_params_with(isa, input, delta, rows, k, m, gw, gb, scratch);
            }
            if l == 0 {
                break;
            }
            // Error at the previous layer's pre-activation: delta·Wᵀ times activation' (and the
            // dropout mask, folded into the derivative by `forward_dropout`), in one pass.
            let w = &theta[wo..wo + k * m];
            let wt: &[T] = if m == 1 {
                w
            } else if let Some(wts) = wts {
                let at = self.transpose_offset(l);
                &wts[at..at + k * m]
            } else {
                transpose(w, k, m, &mut ws.wt[..k * m]);
                &ws.wt[..k * m]
            };
            let dprev = &mut ws.delta_prev[..rows * k];
            let epi = Epi::Mul(&ws.derivs[l - 1][..rows * k]);
            gemm_nn_par(par, isa, delta, rows, m, wt, k, None, dprev, epi);
            std::mem::swap(&mut ws.delta, &mut ws.delta_prev);
        }
    }

    /// Offset of layer `l`'s transposed weights in [`Mlp::transposes`]'s buffer (layers 1..).
    fn transpose_offset(&self, l: usize) -> usize {
        self.sizes[1..=l.max(1)]
            .windows(2)
            .map(|w| w[0] * w[1])
            .sum::<usize>()
    }

    /// Writes Wᵀ of every layer from 1 on into `out` (concatenated), for [`Mlp::backward_in`].
    fn transposes<T: Real>(&self, theta: &[T], out: &mut Vec<T>) {
        let need = self.transpose_offset(self.layers());
        if out.len() != need {
            *out = vec![T::ZERO; need];
        }
        for l in 1..self.layers() {
            let (k, m) = (self.sizes[l], self.sizes[l + 1]);
            let (wo, _) = self.offsets(l);
            let at = self.transpose_offset(l);
            transpose(&theta[wo..wo + k * m], k, m, &mut out[at..at + k * m]);
        }
    }

    /// Whether [`Mlp::grad_chunked`] pays for `rows` rows: more than one chunk, and a network the
    /// fused path does not take.
    pub fn chunks(&self, rows: usize) -> bool {
        rows > self.chunk() && !self.fuses(rows)
    }

    /// Rows per chunk of [`Mlp::grad_chunked`] for this network.
    pub fn chunk(&self) -> usize {
        chunk_rows(self.sizes.iter().copied().max().unwrap_or(1))
    }

    /// Forward pass, per-row objective and reverse pass chunk by chunk ([`Mlp::chunk`] rows),
    /// for any network: each chunk's activations stay in the core's L2 cache instead of
    /// streaming the whole batch's through memory once per layer and pass. When the product is
    /// large (≥ `PAR_MIN` multiply-adds per part) the rows are split in contiguous parts, one per
    /// rayon thread at most ([`Workspace::set_max_threads`] caps it), swept at once, each with
    /// its own chunk workspace and gradient accumulator (summed at the end). The objective is
    /// called once per chunk, like [`Mlp::grad_fused_par`]'s; returns the summed objective and
    /// the summed extra gradient. Afterwards `ws.output()` holds the outputs of every row; the
    /// hidden-layer buffers are not filled.
    pub fn grad_chunked<T: Real>(
        &self,
        theta: &[T],
        x: &[T],
        rows: usize,
        ws: &mut Workspace<T>,
        grad: &mut [T],
        objective: &RowObjectivePar<'_, T>,
    ) -> (f64, f64) {
        use rayon::prelude::*;
        self.resize(ws, rows);
        let isa = ws.isa();
        let dim = self.dim();
        let chunk = self.chunk();
        let work = rows * self.sizes.windows(2).map(|w| w[0] * w[1]).sum::<usize>();
        let cap = ws.max_threads.unwrap_or(usize::MAX);
        // The parts depend on the work only (not on the threads), and their sums are added in
        // part order, so the gradient is bitwise the same on 1, 2 or N threads.
        let parts = (work / PAR_MIN)
            .min(CHUNK_PARTS)
            .min(rows.div_ceil(chunk))
            .max(1);
        let parallel = cap >= 2 && rayon::current_num_threads() >= 2;
        // Rows per part, whole chunks but the last.
        let per = rows.div_ceil(parts).div_ceil(chunk) * chunk;
        let parts = rows.div_ceil(per);
        if ws.chunks.len() < parts {
            ws.chunks.resize_with(parts, ChunkState::default);
        }
        for st in &mut ws.chunks[..parts] {
            self.resize(&mut st.ws, chunk);
            st.ws.isa = Some(isa);
            if st.grad.len() != dim {
                st.grad = vec![T::ZERO; dim];
            }
        }
        self.transposes(theta, &mut ws.wts);
        let (k, o) = (self.sizes[0], self.outputs());
        let wts = &ws.wts[..];
        let out = &mut ws.outs[self.layers() - 1][..rows * o];
        let states = &mut ws.chunks[..parts];
        let (total, extra) = if parts < 2 {
            self.chunk_sweep(theta, wts, x, 0, rows, &mut states[0], out, objective)
        } else {
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
            let (first, rest) = states.split_at_mut(1);
            for st in rest.iter() {
                for (g, v) in first[0].grad.iter_mut().zip(&st.grad) {
                    *g += *v;
                }
            }
            sums
        };
        for (g, v) in grad[..dim].iter_mut().zip(&ws.chunks[0].grad) {
            *g += *v;
        }
        (total, extra)
    }

    /// One thread's part of [`Mlp::grad_chunked`]: rows `first..first + rows` (`x` and `out`
    /// hold just those), chunk by chunk, into `st.grad` (zeroed first).
    #[allow(clippy::too_many_arguments)]
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
        let (k, o, chunk) = (self.sizes[0], self.outputs(), self.chunk());
        st.grad.fill(T::ZERO);
        let (mut total, mut extra) = (0.0, 0.0);
        let mut c0 = 0;
        while c0 < rows {
            let n = chunk.min(rows - c0);
            let xc = &x[c0 * k..(c0 + n) * k];
            self.forward_in(theta, xc, n, &mut st.ws, false);
            let (oc, og) = st.ws.output_and_grad();
            let range = first + c0..first + c0 + n;
            total += objective(range, &oc[..n * o], &mut og[..n * o], &mut extra);
            out[c0 * o..(c0 + n) * o].copy_from_slice(&oc[..n * o]);
            self.backward_in(theta, xc, n, &mut st.ws, &mut st.grad, Some(wts));
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
