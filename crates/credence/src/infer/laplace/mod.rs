//! Laplace approximation: a Gaussian posterior around the MAP, with curvature from the MLP
//! engine (`nn::curvature`), the log marginal likelihood (evidence) under each Hessian
//! structure, and empirical Bayes on the prior precision and the observation noise.
//!
//! Flow: MAP (`train_point`) → curvature at the MAP (GGN or empirical Fisher; diagonal, KFAC or
//! full; all weights or the last layer) → evidence maximised over the prior precision (one
//! global or one per layer) and σ → posterior precision `s(σ)·C + Λ` → predictive (linearised
//! GLM in closed form, or weight sampling).

use super::{train_point, NamedTensor, PointFit, Posterior, Progress};
use crate::config::TrainConfig;
use crate::data::Dataset;
use crate::dist::Dist;
use crate::error::{Error, Result};
use crate::likelihood::Likelihood;
use crate::model::ModelSpec;
use crate::nn::{GroupKind, Network};
use crate::optim::Adam;
use crate::predict::{
    logit_gaussian_members, ClassPredictive, NoiseFamily, Predictive, RegressionPredictive,
};
use crate::prior::{Prior, PriorSet, Provenance, ResolvedPriors};
use crate::rng::{self, Rng};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Range;

mod hier;
mod targets;
use targets::targets_glm_predictive;
mod curvature;
mod evidence;
mod fit;
mod linalg;
mod online;
mod options;
mod posterior;

use curvature::*;
use evidence::*;
use online::*;
use options::*;
use posterior::*;

pub use evidence::Evidence;
pub use fit::{fit_laplace, laplace_at, LaplaceFit, LaplaceOutcome};
pub use online::{OnlineOutcome, OnlineStep};
pub use options::{
    CurvatureKind, HessianStructure, LaplaceOptions, LaplacePredictive, OnlineOptions, PriorGroups,
    Subset, Tune, MAX_FULL_PARAMS,
};
pub use posterior::LaplacePosterior;
