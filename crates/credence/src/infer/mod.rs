//! Inference methods. Each turns a model (network + likelihood + priors + data) into a
//! `Posterior`, which predicts; all methods share that interface.

mod draws;
pub mod ensemble;
pub mod hierarchical;
mod laplace;
pub mod mc_dropout;
mod point;
pub mod settings;
pub mod swag;
pub mod vi;

mod chain;
pub mod hmc;
pub mod mcmc;
mod nuts;
pub mod sample;
pub mod sgmcmc;

pub use draws::{predict_draws, DrawsPosterior, PredictiveBuilder};
pub use laplace::{
    fit_laplace, laplace_at, CurvatureKind, Evidence, HessianStructure, LaplaceFit, LaplaceOptions,
    LaplaceOutcome, LaplacePosterior, LaplacePredictive, OnlineOptions, OnlineOutcome, OnlineStep,
    PriorGroups, Subset, Tune, MAX_FULL_PARAMS,
};
pub use mcmc::{fit_mcmc, run_chain_unit, ChainUnit, McmcOutcome, McmcSettings};
pub use point::{train_point, PointFit};
pub use sample::{
    sample, sample_chains, sample_from, DrawStats, MassMatrix, SampleOptions, Sampler, Samples,
};
pub use sgmcmc::{sample_sg, BatchDensity, Schedule, SgKind, SgOptions};

use crate::error::{Error, Result};

/// Runs `f(0), …, f(n − 1)` in parallel on rayon's pool and collects the results in order — on
/// a pool worker even for n = 1 (a one-item parallel iterator would run on the calling thread),
/// so that a single chain's gradients can split their rows over the pool's other thread
/// (`Mlp::fused_threads` only splits on a worker).
pub(crate) fn on_pool<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    use rayon::prelude::*;
    rayon::scope(|_| (0..n).into_par_iter().map(f).collect())
}
use crate::model::ModelSpec;
use crate::predict::Predictive;
use crate::rng::Rng;
use std::collections::BTreeMap;

/// The inference methods Credence knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Maximum likelihood: no prior.
    Mle,
    /// Maximum a posteriori: the mode of the posterior under the stated priors.
    Map,
    /// Mean-field Gaussian variational inference (Bayes by Backprop, local reparameterisation).
    Vi,
    /// MC dropout: dropout kept at prediction (Gal & Ghahramani 2016).
    McDropout,
    /// Deep ensemble: independently initialised MAP networks (Lakshminarayanan et al. 2017).
    Ensemble,
    /// Anchored ensemble: randomised MAP towards prior draws (Pearce et al. 2020).
    AnchoredEnsemble,
    /// The no-U-turn sampler (nuts-rs), full batch.
    Nuts,
    /// Plain Hamiltonian Monte Carlo, full batch.
    Hmc,
    /// Stochastic-gradient Langevin dynamics over minibatches.
    Sgld,
    /// Stochastic-gradient HMC over minibatches.
    Sghmc,
    /// Laplace approximation around the MAP, with evidence-tuned prior (empirical Bayes).
    Laplace,
    /// SWAG: a Gaussian from the moments of SGD iterates after the MAP (Maddox et al. 2019).
    Swag,
    /// MultiSWAG: a mixture of independently initialised SWAG members (Wilson & Izmailov 2020).
    MultiSwag,
}

impl Method {
    /// All methods, in the order they are documented.
    pub const ALL: [Method; 13] = [
        Method::Mle,
        Method::Map,
        Method::Laplace,
        Method::Vi,
        Method::McDropout,
        Method::Ensemble,
        Method::AnchoredEnsemble,
        Method::Nuts,
        Method::Hmc,
        Method::Sgld,
        Method::Sghmc,
        Method::Swag,
        Method::MultiSwag,
    ];

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Method::Mle => "mle",
            Method::Map => "map",
            Method::Vi => "vi",
            Method::McDropout => "mc-dropout",
            Method::Ensemble => "ensemble",
            Method::AnchoredEnsemble => "anchored-ensemble",
            Method::Nuts => "nuts",
            Method::Hmc => "hmc",
            Method::Sgld => "sgld",
            Method::Sghmc => "sghmc",
            Method::Laplace => "laplace",
            Method::Swag => "swag",
            Method::MultiSwag => "multiswag",
        }
    }

    /// Parses a method name.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|m| m.name()).collect();
                Error::Invalid(format!(
                    "unknown method '{s}'; expected one of: {}",
                    names.join(", ")
                ))
            })
    }

    /// Whether the method uses a prior.
    pub fn uses_prior(self) -> bool {
        !matches!(self, Method::Mle)
    }
}

/// A tensor saved in a model artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Name in the safetensors file.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f64>,
}

impl NamedTensor {
    /// A one-dimensional tensor holding `data`.
    pub fn vector(name: &str, data: Vec<f64>) -> Self {
        NamedTensor {
            name: name.into(),
            shape: vec![data.len()],
            data,
        }
    }

    /// A tensor holding one number.
    pub fn scalar(name: &str, value: f64) -> Self {
        NamedTensor {
            name: name.into(),
            shape: vec![1],
            data: vec![value],
        }
    }

    /// The tensor called `name` among an artifact's tensors, or an error naming it.
    pub fn find<'a>(t: &'a BTreeMap<String, NamedTensor>, name: &str) -> Result<&'a NamedTensor> {
        t.get(name)
            .ok_or_else(|| Error::Invalid(format!("artifact has no '{name}' tensor")))
    }
}

/// The most predictive samples, dropout passes or draws a saved model may ask for: more is a
/// damaged file, not a setting (each costs a forward pass and a column of the predictive).
pub const MAX_SAVED_COUNT: usize = 100_000;

/// A count stored as an f64 in an artifact (samples, passes, an index): a whole number in
/// `0..=max`, else an error naming it.
pub(crate) fn saved_count(what: &str, v: f64, max: usize) -> Result<usize> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= max as f64 {
        Ok(v as usize)
    } else {
        let shown = if v.abs() >= 1e6 {
            format!("{v:e}")
        } else {
            v.to_string()
        };
        Err(Error::Invalid(format!(
            "'{what}' in the artifact is {shown}; expected a whole number from 0 to {max} (is the file damaged?)"
        )))
    }
}

/// Reports progress of long runs (a progress bar in the CLI; nothing in the library's tests).
pub trait Progress: Sync {
    /// A phase begins with `total` steps.
    fn start(&self, _total: u64, _what: &str) {}
    /// `pos` steps are done; `msg` is a short status.
    fn tick(&self, _pos: u64, _msg: &str) {}
    /// The phase ended.
    fn finish(&self) {}
}

/// A progress reporter that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;
impl Progress for Silent {}

/// A posterior over network parameters that can predict.
pub trait Posterior: Send + Sync + std::fmt::Debug {
    /// Storage kind in artifacts (`draws`, …).
    fn kind(&self) -> &'static str;
    /// Predictive distribution at standardised inputs `x` (`rows × features`), in standardised
    /// target units.
    fn predict(
        &self,
        spec: &ModelSpec,
        x: &[f64],
        rows: usize,
        rng: &mut Rng,
    ) -> Result<Predictive>;
    /// Tensors that represent the posterior in an artifact.
    fn tensors(&self) -> Vec<NamedTensor>;
    /// A representative parameter vector (the posterior mean or the point estimate).
    fn center(&self) -> Vec<f64>;
    /// Marginal posterior variance of each parameter, when the posterior has spread.
    fn marginal_variances(&self) -> Option<Vec<f64>> {
        None
    }
}

/// Rebuilds a posterior of one artifact kind from its tensors.
pub type PosteriorLoader = fn(&BTreeMap<String, NamedTensor>) -> Result<Box<dyn Posterior>>;

/// The artifact kinds and how each is loaded: a new kind is one line here.
pub static ARTIFACT_KINDS: &[(&str, PosteriorLoader)] = &[
    ("draws", |t| Ok(Box::new(DrawsPosterior::from_tensors(t)?))),
    ("gaussian-mf", |t| {
        Ok(Box::new(vi::GaussianMfPosterior::from_tensors(t)?))
    }),
    ("mc-dropout", |t| {
        Ok(Box::new(mc_dropout::McDropoutPosterior::from_tensors(t)?))
    }),
    ("laplace", |t| {
        Ok(Box::new(LaplacePosterior::from_tensors(t)?))
    }),
    ("swag", |t| {
        Ok(Box::new(swag::SwagPosterior::from_tensors(t)?))
    }),
];

/// Rebuilds a posterior from the tensors of an artifact.
pub fn posterior_from_tensors(
    kind: &str,
    tensors: &BTreeMap<String, NamedTensor>,
) -> Result<Box<dyn Posterior>> {
    match ARTIFACT_KINDS.iter().find(|(k, _)| *k == kind) {
        Some((_, load)) => load(tensors),
        None => Err(Error::Invalid(format!(
            "unknown posterior kind '{kind}' in the artifact"
        ))),
    }
}
