//! Convolutional networks in the engine: Conv1d/Conv2d (stride, zero padding; NWC/NHWC),
//! average, max and global-average pooling, flatten and dense layers, over a flat parameter
//! vector. Convolutions are im2col + the library's SIMD GEMM with the bias and activation fused
//! into its epilogue; forward, reverse (VJP) and forward mode (JVP), in f32 and f64; channel
//! dropout (MC dropout) and the local reparameterisation of mean-field weights (VI).

pub mod curvature;
mod dropout;
mod lrt;
mod net;
mod ops;
mod pass;
mod spec;

pub use lrt::CnnLrtWorkspace;
pub use net::{Cnn, CnnSpec, Layer, Op};
pub use ops::{Shape, Window};
pub use pass::CnnWorkspace;
pub use spec::{ConvSpec, DenseSpec, LayerSpec, PoolKind, PoolSpec};
