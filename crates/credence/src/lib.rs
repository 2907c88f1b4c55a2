//! Credence: Bayesian deep learning with auditable priors.
//!
//! The flow is one-way: data → model + prior → inference → posterior → predictive → metrics,
//! decisions, report. Every prior carries a provenance (factual, value or default); maximum
//! likelihood is available but always reported as "no prior".

pub mod artifact;
pub mod bench;
pub mod calibrate;
pub mod config;
pub mod conjugate;
pub mod data;
pub mod decide;
pub mod defaults;
pub mod density;
pub mod dist;
pub mod elicit;
pub mod error;
pub mod eval;
pub mod explain;
pub mod fit;
pub mod infer;
pub mod likelihood;
pub mod model;
pub mod nn;
pub mod optim;
pub mod plot;
pub mod predict;
pub mod prior;
pub mod report;
pub mod resources;
pub mod rng;
pub mod uci;
pub mod uncertainty;

pub use density::LogDensity;
pub use error::{Error, Result};
pub use fit::{fit, FitOptions, FitRecord, FittedModel};
pub use infer::{Method, Posterior};
pub use predict::Predictive;
pub use prior::{Prior, PriorSet, Provenance, ProvenanceKind};
