//! Dense multilayer perceptron over a flat parameter vector: forward pass and reverse-mode
//! gradient written by hand, with a workspace reused across calls (no allocation per gradient).

use super::kernels::{affine, affine_backward_input, affine_backward_params};
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

/// Buffers for one batch size, reused across forward and backward passes.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    rows: usize,
    /// Output of each layer (post-activation for hidden layers, linear for the last).
    outs: Vec<Vec<f64>>,
    /// Activation derivative of each hidden layer.
    derivs: Vec<Vec<f64>>,
    /// Gradient of the objective with respect to the network output (set by the caller).
    pub out_grad: Vec<f64>,
    delta: Vec<f64>,
    delta_prev: Vec<f64>,
}

impl Workspace {
    /// Rows the buffers currently hold.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Network output of the last forward pass (`rows × outputs`, row-major).
    pub fn output(&self) -> &[f64] {
        self.outs.last().map_or(&[], |v| &v[..])
    }

    /// Network output (read) and the output-gradient buffer (write), borrowed together.
    pub fn output_and_grad(&mut self) -> (&[f64], &mut [f64]) {
        let out = self.outs.last().map_or(&[][..], |v| &v[..]);
        (out, &mut self.out_grad[..])
    }

    /// Output of hidden layer `l` (0-based) of the last forward pass.
    pub fn hidden(&self, l: usize) -> &[f64] {
        &self.outs[l]
    }

    /// Activation derivative of hidden layer `l` (0-based) of the last forward pass.
    pub fn hidden_derivative(&self, l: usize) -> &[f64] {
        &self.derivs[l]
    }
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
        let mut ws = Workspace::default();
        self.resize(&mut ws, rows);
        ws
    }

    /// Makes sure the workspace holds `rows` rows (allocates only when it grows or the shape changes).
    pub fn resize(&self, ws: &mut Workspace, rows: usize) {
        let layers = self.layers();
        if ws.rows == rows && ws.outs.len() == layers {
            return;
        }
        let widest = self.sizes.iter().copied().max().unwrap_or(0);
        ws.rows = rows;
        ws.outs = self.sizes[1..]
            .iter()
            .map(|&w| vec![0.0; rows * w])
            .collect();
        ws.derivs = self.sizes[1..layers]
            .iter()
            .map(|&w| vec![0.0; rows * w])
            .collect();
        ws.out_grad = vec![0.0; rows * self.outputs()];
        ws.delta = vec![0.0; rows * widest];
        ws.delta_prev = vec![0.0; rows * widest];
    }

    /// Forward pass on `rows` rows of `x` (row-major); the output is `ws.output()`.
    pub fn forward(&self, theta: &[f64], x: &[f64], rows: usize, ws: &mut Workspace) {
        self.resize(ws, rows);
        let layers = self.layers();
        for l in 0..layers {
            let (k, m) = (self.sizes[l], self.sizes[l + 1]);
            let (wo, bo) = self.offsets(l);
            let w = &theta[wo..wo + k * m];
            let b = &theta[bo..bo + m];
            let (before, after) = ws.outs.split_at_mut(l);
            let input: &[f64] = if l == 0 { x } else { &before[l - 1] };
            let out = &mut after[0][..rows * m];
            affine(input, rows, k, w, b, out);
            if l + 1 < layers {
                self.activation.apply(out, &mut ws.derivs[l][..rows * m]);
            }
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
            let (k2, m2) = (self.sizes[l + 1], self.sizes[l + 2]);
            let (wo, bo) = self.offsets(l + 1);
            let (before, after) = ws.outs.split_at_mut(l + 1);
            let out = &mut after[0][..rows * m2];
            affine(
                &before[l][..rows * k2],
                rows,
                k2,
                &theta[wo..wo + k2 * m2],
                &theta[bo..bo + m2],
                out,
            );
            if l + 2 < layers {
                self.activation
                    .apply(out, &mut ws.derivs[l + 1][..rows * m2]);
            }
        }
    }

    /// Reverse pass after `forward`: adds to `grad` the gradient of Σ out_grad·output with
    /// respect to the network parameters (the first `dim()` entries of `grad`).
    pub fn backward(
        &self,
        theta: &[f64],
        x: &[f64],
        rows: usize,
        ws: &mut Workspace,
        grad: &mut [f64],
    ) {
        let layers = self.layers();
        let out_w = self.outputs();
        ws.delta[..rows * out_w].copy_from_slice(&ws.out_grad[..rows * out_w]);
        for l in (0..layers).rev() {
            let (k, m) = (self.sizes[l], self.sizes[l + 1]);
            let (wo, bo) = self.offsets(l);
            let input: &[f64] = if l == 0 { x } else { &ws.outs[l - 1] };
            let delta = &ws.delta[..rows * m];
            {
                let (gw, gb) = grad[wo..bo + m].split_at_mut(k * m);
                affine_backward_params(input, delta, rows, k, m, gw, gb);
            }
            if l == 0 {
                break;
            }
            let w = &theta[wo..wo + k * m];
            let dprev = &mut ws.delta_prev[..rows * k];
            affine_backward_input(delta, w, rows, k, m, dprev);
            // Error at the previous layer's pre-activation: multiply by activation' (and the
            // dropout mask, folded into the derivative by `forward_dropout`).
            for (d, der) in dprev.iter_mut().zip(&ws.derivs[l - 1][..rows * k]) {
                *d *= der;
            }
            std::mem::swap(&mut ws.delta, &mut ws.delta_prev);
        }
    }

    /// Network outputs for `rows` rows (allocates a workspace; for prediction, not hot loops).
    pub fn predict(&self, theta: &[f64], x: &[f64], rows: usize) -> Vec<f64> {
        let mut ws = self.workspace(rows);
        self.forward(theta, x, rows, &mut ws);
        ws.output().to_vec()
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
