//! Short constructors of CNN layer descriptions, shared by the CNN test files.
#![allow(dead_code)]

use credence::nn::conv::{ConvSpec, DenseSpec, LayerSpec, PoolKind, PoolSpec};

/// A 2-D convolution: `out` channels, `k`×`k` kernel, stride `s`, padding `p`.
pub fn conv2(out: usize, k: usize, s: usize, p: usize) -> LayerSpec {
    LayerSpec::Conv2d(ConvSpec::new(out, k).with(s, p))
}

/// A 1-D convolution: `out` channels, kernel `k`, stride `s`, padding `p`.
pub fn conv1(out: usize, k: usize, s: usize, p: usize) -> LayerSpec {
    LayerSpec::Conv1d(ConvSpec::new(out, k).with(s, p))
}

/// Window pooling of size and stride `n`.
pub fn pool(kind: PoolKind, n: usize) -> LayerSpec {
    LayerSpec::Pool(PoolSpec::Window(kind, n))
}

/// A dense layer of `n` units.
pub fn dense(n: usize) -> LayerSpec {
    LayerSpec::Dense(DenseSpec::new(n))
}
