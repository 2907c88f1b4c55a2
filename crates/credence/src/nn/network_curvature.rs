//! Curvature of a [`Network`]'s output, dispatched to [`crate::nn::curvature`] (MLP) or
//! [`crate::nn::conv::curvature`] (CNN): the Laplace approximations use these, so that one
//! code path serves both kinds of network. Layers "with parameters" are indexed 0-based in
//! order (an MLP's every layer; a CNN's convolutions and dense layers, not its pooling).

use super::conv::curvature as cc;
use super::curvature::{self as mc, KronFactors};
use super::{NetWorkspace, Network};
use std::ops::Range;

impl Network {
    /// Number of layers with parameters.
    pub fn param_layers(&self) -> usize {
        match self {
            Network::Mlp(m) => m.layers(),
            Network::Cnn(c) => cc::param_layers(c).len(),
        }
    }

    /// Parameter range (weights, then biases) of layer with parameters `l`.
    pub fn param_layer_range(&self, l: usize) -> Range<usize> {
        match self {
            Network::Mlp(m) => {
                let (wo, bo) = m.offsets(l);
                wo..bo + m.sizes[l + 1]
            }
            Network::Cnn(c) => cc::layer_range(cc::param_layers(c)[l]),
        }
    }

    /// Name of layer with parameters `l` as its parameter groups use it (`layer2`, `conv1`).
    pub fn param_layer_name(&self, l: usize) -> String {
        match self {
            Network::Mlp(_) => format!("layer{}", l + 1),
            Network::Cnn(c) => cc::param_layers(c)[l].name(),
        }
    }

    /// Per-row gradients of `u_n · f_n` over `range` (`rows × range.len()`), after
    /// [`Network::forward`] with `ws`.
    #[allow(clippy::too_many_arguments)]
    pub fn per_sample_grads(
        &self,
        theta: &[f64],
        x: &[f64],
        rows: usize,
        ws: &NetWorkspace,
        u: &[f64],
        range: Range<usize>,
    ) -> Vec<f64> {
        match (self, ws) {
            (Network::Mlp(m), NetWorkspace::Mlp(w)) => {
                mc::per_sample_grads(m, theta, x, rows, w, u, range)
            }
            (Network::Cnn(c), NetWorkspace::Cnn(w)) => {
                cc::per_sample_grads(c, theta, x, rows, w, u, range)
            }
            _ => mismatch(rows * range.len()),
        }
    }

    /// Jacobians of every output at every row over `range` (`rows × outputs × range.len()`),
    /// after [`Network::forward`] with `ws`.
    pub fn jacobians(
        &self,
        theta: &[f64],
        x: &[f64],
        rows: usize,
        ws: &NetWorkspace,
        range: Range<usize>,
    ) -> Vec<f64> {
        match (self, ws) {
            (Network::Mlp(m), NetWorkspace::Mlp(w)) => mc::jacobians(m, theta, x, rows, w, range),
            (Network::Cnn(c), NetWorkspace::Cnn(w)) => cc::jacobians(c, theta, x, rows, w, range),
            _ => mismatch(rows * self.outputs() * range.len()),
        }
    }

    /// Diagonal of `Σ_u Σ_n (J_nᵀ u_n)(J_nᵀ u_n)ᵀ` over all parameters (zero outside `range`).
    #[allow(clippy::too_many_arguments)]
    pub fn outer_diag(
        &self,
        theta: &[f64],
        x: &[f64],
        rows: usize,
        ws: &NetWorkspace,
        factors: &[Vec<f64>],
        range: Range<usize>,
    ) -> Vec<f64> {
        match (self, ws) {
            (Network::Mlp(m), NetWorkspace::Mlp(w)) => {
                mc::outer_diag(m, theta, x, rows, w, factors, range)
            }
            (Network::Cnn(c), NetWorkspace::Cnn(w)) => {
                cc::outer_diag(c, theta, x, rows, w, factors, range)
            }
            _ => mismatch(self.dim()),
        }
    }

    /// Kronecker factors (KFAC; KFC for convolutions) of layers with parameters `layers`.
    #[allow(clippy::too_many_arguments)]
    pub fn kron_factors(
        &self,
        theta: &[f64],
        x: &[f64],
        rows: usize,
        ws: &NetWorkspace,
        factors: &[Vec<f64>],
        layers: Range<usize>,
    ) -> Vec<KronFactors> {
        match (self, ws) {
            (Network::Mlp(m), NetWorkspace::Mlp(w)) => {
                mc::kron_factors(m, theta, x, rows, w, factors, layers)
            }
            (Network::Cnn(c), NetWorkspace::Cnn(w)) => {
                cc::kron_factors(c, theta, x, rows, w, factors, layers)
            }
            _ => Vec::new(),
        }
    }
}

/// Zeros of the expected size when a workspace of the other kind is passed (a programming
/// error: [`Network::forward`] makes the workspace the network's kind first).
fn mismatch(len: usize) -> Vec<f64> {
    debug_assert!(false, "curvature with another network's workspace");
    vec![0.0; len]
}
