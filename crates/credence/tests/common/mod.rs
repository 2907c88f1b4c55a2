//! Helpers shared by the Laplace test files.

use credence::dist::Dist;
use credence::prior::{Prior, PriorSet, Provenance};

/// One Normal(0, scale) prior on every parameter group.
pub fn normal_prior(scale: f64) -> PriorSet {
    PriorSet {
        priors: vec![Prior {
            params: "*".into(),
            distribution: Dist::Normal { loc: 0.0, scale },
            provenance: Provenance::default_with("test", "known prior"),
            on: Default::default(),
            per_parameter: None,
            hierarchy: None,
        }],
    }
}
