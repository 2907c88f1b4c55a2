//! Priors with provenance: each parameter group gets a distribution and a record of where the
//! belief comes from (evidence, values, or a labelled default).

pub mod hierarchy;
pub mod output;
mod provenance;
mod set;
mod transfer;

pub use hierarchy::{Hierarchy, HierarchyKind, ResolvedHierarchy, ScaleBlock};
pub use output::{Calibration, OutputPrior};
pub use provenance::{Provenance, ProvenanceKind};
pub use set::{NoiseParam, ParamNormals, Prior, PriorSet, ResolvedPriors};
pub use transfer::{noise_prior_from_draws, noise_prior_from_point, transfer_prior, TransferNoise};

/// The wording used everywhere for a fit without a prior.
pub const NO_PRIOR: &str = "no prior (maximum likelihood)";
