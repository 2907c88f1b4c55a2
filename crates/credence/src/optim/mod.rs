//! Optimisers over flat parameter vectors: minibatch Adam and full-batch L-BFGS.

mod adam;
mod lbfgs;

pub use adam::Adam;
pub use lbfgs::{lbfgs, LbfgsResult, Objective};
