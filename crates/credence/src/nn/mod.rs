//! The MLP engine: flat f64 parameters, dense layers, hand-written forward and reverse passes
//! with reusable workspaces. Sits between the model (which adds likelihood and prior) and data.

mod activation;
pub mod conv;
/// Scalar activation helpers shared with likelihoods.
pub mod activation_fns {
    pub use super::activation::{sigmoid, softplus};
}
pub mod curvature;
pub mod kernels;
mod layout;
mod mlp;
mod network;
mod network_curvature;
pub mod simd;

pub use activation::Activation;
pub use conv::{Cnn, CnnSpec, CnnWorkspace, LayerSpec};
pub use layout::{GroupKind, ParamGroup, ParamLayout};
pub use mlp::{Mlp, RowObjective, RowObjectivePar, Workspace, FUSED_PAR_MIN};
pub use network::{NetWorkspace, Network};
pub use simd::{Isa, Real};
