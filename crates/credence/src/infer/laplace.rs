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
use crate::nn::curvature::{
    jacobians, kron_factors, last_layer_range, outer_diag, per_sample_grads,
};
use crate::nn::{GroupKind, Mlp};
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

/// Which weights the Gaussian covers (the others stay at the MAP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subset {
    /// Every weight and bias of the network.
    All,
    /// The last dense layer only (its weights and bias).
    LastLayer,
}

/// Structure of the curvature (and so of the posterior precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HessianStructure {
    /// Diagonal.
    Diag,
    /// Kronecker-factored per layer (KFAC): `A ⊗ G` per dense layer.
    Kfac,
    /// Dense; only up to `max_full_params` parameters.
    Full,
}

/// Which positive semi-definite approximation of the log-likelihood Hessian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CurvatureKind {
    /// Generalised Gauss-Newton `Σ Jᵀ H_f J`.
    Ggn,
    /// Empirical Fisher `Σ g gᵀ` of per-sample gradients.
    Ef,
}

/// How predictions are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LaplacePredictive {
    /// Linearised network: closed form for regression (`f_map`, `JΣJᵀ`), probit approximation
    /// for classification (its epistemic split from draws of the linearised logits).
    Glm,
    /// Sample weights from the Gaussian and run the network.
    Mc,
}

/// Whether and how the prior precision and the noise are tuned by the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tune {
    /// Keep the configured prior and the MAP's noise.
    None,
    /// Maximise the evidence after training (the MAP stays fixed).
    PostHoc,
    /// Interleave evidence maximisation with training (Immer et al. 2021): the MAP objective
    /// uses the current hyperparameters, which take a few evidence-gradient steps every few
    /// epochs; the epoch with the best evidence is kept.
    Online,
}

/// How often and how hard `tune = "online"` optimises the evidence during training.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnlineOptions {
    /// Adam epochs on the MAP objective (no early stopping, no validation rows).
    pub epochs: usize,
    /// Epochs before the first evidence step.
    pub burn_in: usize,
    /// Evidence steps every `frequency` epochs after the burn-in.
    pub frequency: usize,
    /// Adam steps on the log hyperparameters per evidence evaluation.
    pub hyper_steps: usize,
    /// Step size of those Adam steps (on log λ and log σ).
    pub hyper_lr: f64,
    /// Curvature structure of the evidence during training (the final posterior uses `hessian`).
    pub hessian: HessianStructure,
    /// After training, maximise the evidence under the final `hessian` with the kept network
    /// fixed (post-hoc refinement of the hyperparameters chosen online).
    pub refine: bool,
    /// Cosine decay of the network's Adam step size to zero over the epochs (else constant).
    pub cosine: bool,
}

impl Default for OnlineOptions {
    fn default() -> Self {
        OnlineOptions {
            epochs: 1000,
            burn_in: 50,
            frequency: 5,
            hyper_steps: 50,
            hyper_lr: 0.1,
            hessian: HessianStructure::Kfac,
            refine: true,
            cosine: true,
        }
    }
}

/// How many prior precisions the evidence tunes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriorGroups {
    /// One precision for every weight in the subset.
    Global,
    /// One precision per dense layer (weights and bias together).
    Layer,
}

/// Settings of `--method laplace`, from the config's `[inference]` table and CLI flags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaplaceOptions {
    /// Which weights.
    pub subset: Subset,
    /// Hessian structure.
    pub hessian: HessianStructure,
    /// GGN or empirical Fisher.
    pub curvature: CurvatureKind,
    /// Predictive.
    pub predictive: LaplacePredictive,
    /// Evidence tuning.
    pub tune: Tune,
    /// Number of tuned prior precisions.
    pub prior_groups: PriorGroups,
    /// Weight samples for `predictive = "mc"`.
    pub samples: usize,
    /// Largest parameter count for `hessian = "full"`.
    pub max_full_params: usize,
    /// Settings of `tune = "online"`.
    pub online: OnlineOptions,
    /// Hierarchical priors: MAP ↔ evidence alternations that learn the scales.
    pub hierarchy_rounds: usize,
}

/// The default limit of `hessian = "full"`: a 4000 × 4000 precision is 128 MB and its
/// Cholesky factorisation takes about a second.
pub const MAX_FULL_PARAMS: usize = 4000;

impl Default for LaplaceOptions {
    fn default() -> Self {
        LaplaceOptions {
            subset: Subset::All,
            hessian: HessianStructure::Kfac,
            curvature: CurvatureKind::Ggn,
            predictive: LaplacePredictive::Glm,
            tune: Tune::PostHoc,
            prior_groups: PriorGroups::Layer,
            samples: 100,
            max_full_params: MAX_FULL_PARAMS,
            online: OnlineOptions::default(),
            hierarchy_rounds: 2,
        }
    }
}

fn pick<T: Copy>(key: &str, value: &str, choices: &[(&str, T)]) -> std::result::Result<T, String> {
    choices
        .iter()
        .find(|(n, _)| *n == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            format!(
                "inference.{key} = \"{value}\" is not known; expected one of: {}",
                names.join(", ")
            )
        })
}

/// The `hessian` / `online_hessian` setting values.
const HESSIAN_CHOICES: &[(&str, HessianStructure)] = &[
    ("diag", HessianStructure::Diag),
    ("kfac", HessianStructure::Kfac),
    ("full", HessianStructure::Full),
];

impl LaplaceOptions {
    /// Parses the `[inference]` table; unknown keys, unknown values and invalid combinations are
    /// errors that name the file.
    pub fn from_table(t: &toml::Table, file: &str) -> Result<Self> {
        let err = |message: String| Error::Config {
            file: file.into(),
            message,
        };
        let mut o = LaplaceOptions::default();
        let st = super::settings::Settings::new(t, file);
        let s = |k: &str| st.opt_string(k);
        let int = |k: &str| st.opt_usize(k);
        const KNOWN: [&str; 17] = [
            "subset",
            "hessian",
            "curvature",
            "predictive",
            "tune",
            "prior_groups",
            "samples",
            "max_full_params",
            "hierarchy_rounds",
            "online_epochs",
            "online_burn_in",
            "online_frequency",
            "online_hyper_steps",
            "online_hyper_lr",
            "online_hessian",
            "online_refine",
            "online_schedule",
        ];
        for k in t.keys() {
            if !KNOWN.contains(&k.as_str()) {
                return Err(err(format!(
                    "inference.{k} is not a Laplace setting; known: {}",
                    KNOWN.join(", ")
                )));
            }
        }
        if let Some(v) = s("subset")? {
            o.subset = pick(
                "subset",
                &v,
                &[("all", Subset::All), ("last-layer", Subset::LastLayer)],
            )
            .map_err(err)?;
        }
        if let Some(v) = s("hessian")? {
            o.hessian = pick("hessian", &v, HESSIAN_CHOICES).map_err(err)?;
        }
        if let Some(v) = s("curvature")? {
            o.curvature = pick(
                "curvature",
                &v,
                &[("ggn", CurvatureKind::Ggn), ("ef", CurvatureKind::Ef)],
            )
            .map_err(err)?;
        }
        if let Some(v) = s("predictive")? {
            o.predictive = pick(
                "predictive",
                &v,
                &[
                    ("glm", LaplacePredictive::Glm),
                    ("mc", LaplacePredictive::Mc),
                ],
            )
            .map_err(err)?;
        }
        if let Some(v) = s("tune")? {
            o.tune = pick(
                "tune",
                &v,
                &[
                    ("none", Tune::None),
                    ("post-hoc", Tune::PostHoc),
                    ("online", Tune::Online),
                ],
            )
            .map_err(err)?;
        }
        let groups = s("prior_groups")?;
        if let Some(v) = &groups {
            o.prior_groups = pick(
                "prior_groups",
                v,
                &[
                    ("global", PriorGroups::Global),
                    ("layer", PriorGroups::Layer),
                ],
            )
            .map_err(err)?;
        }
        if let Some(n) = int("samples")? {
            if o.predictive != LaplacePredictive::Mc {
                return Err(err(
                    "inference.samples applies only to predictive = \"mc\" (the GLM predictive is closed-form)".into(),
                ));
            }
            if n == 0 {
                return Err(err("inference.samples must be at least 1".into()));
            }
            o.samples = n;
        }
        if let Some(n) = int("max_full_params")? {
            let online_full = o.tune == Tune::Online
                && t.get("online_hessian").and_then(|v| v.as_str()) == Some("full");
            if o.hessian != HessianStructure::Full && !online_full {
                return Err(err(
                    "inference.max_full_params applies only to hessian = \"full\"".into(),
                ));
            }
            o.max_full_params = n;
        }
        if let Some(n) = int("hierarchy_rounds")? {
            if n == 0 {
                return Err(err("inference.hierarchy_rounds must be at least 1".into()));
            }
            o.hierarchy_rounds = n;
        }
        if groups.is_some() && o.tune == Tune::None {
            return Err(err(
                "inference.prior_groups chooses what the evidence tunes; it needs tune = \"post-hoc\" or \"online\"".into(),
            ));
        }
        let online_keys: Vec<&str> = KNOWN
            .iter()
            .copied()
            .filter(|k| k.starts_with("online_") && t.contains_key(*k))
            .collect();
        if !online_keys.is_empty() && o.tune != Tune::Online {
            return Err(err(format!(
                "inference.{} applies only to tune = \"online\"",
                online_keys[0]
            )));
        }
        let on = &mut o.online;
        on.epochs = st.usize("online_epochs", on.epochs)?;
        on.burn_in = st.usize("online_burn_in", on.burn_in)?;
        on.frequency = st.usize("online_frequency", on.frequency)?;
        on.hyper_steps = st.usize("online_hyper_steps", on.hyper_steps)?;
        on.hyper_lr = st.positive("online_hyper_lr", on.hyper_lr)?;
        on.refine = st.bool("online_refine", on.refine)?;
        if let Some(v) = s("online_hessian")? {
            on.hessian = pick("online_hessian", &v, HESSIAN_CHOICES).map_err(err)?;
        }
        if let Some(v) = s("online_schedule")? {
            on.cosine = pick(
                "online_schedule",
                &v,
                &[("cosine", true), ("constant", false)],
            )
            .map_err(err)?;
        }
        if on.epochs == 0 || on.frequency == 0 || on.hyper_steps == 0 {
            return Err(err(
                "inference.online_epochs, online_frequency and online_hyper_steps must be at least 1".into(),
            ));
        }
        if on.burn_in >= on.epochs {
            return Err(err(format!(
                "inference.online_burn_in ({}) must be below online_epochs ({}): the evidence is never evaluated otherwise",
                on.burn_in, on.epochs
            )));
        }
        Ok(o)
    }

    /// Short description, e.g. `all/kfac/ggn/glm`.
    pub fn describe(&self) -> String {
        format!(
            "{}, {}, {}, {} predictive",
            setting_name(&self.subset),
            setting_name(&self.hessian),
            setting_name(&self.curvature),
            setting_name(&self.predictive)
        )
    }
}

/// A setting's name as written in configs.
fn setting_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The likelihoods Laplace supports, with what the curvature needs of them.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LikKind {
    Gaussian,
    /// Several Gaussian targets, one σ_k each, held at the MAP: the GGN Jᵀ diag(1/σ_k²) J has
    /// σ folded into the curvature factors (unit scale), so the evidence tunes only the prior.
    GaussianTargets(usize),
    /// Mean and log σ from the network per target (two outputs each); curvature from the
    /// Fisher in (μ, log σ).
    Heteroscedastic(usize),
    Bernoulli,
    Categorical(usize),
}

fn lik_kind(spec: &ModelSpec) -> Result<LikKind> {
    let targets = spec.targets();
    match &spec.likelihood {
        Likelihood::Gaussian { .. } if targets > 1 => Ok(LikKind::GaussianTargets(targets)),
        Likelihood::Gaussian { .. } => Ok(LikKind::Gaussian),
        Likelihood::Heteroscedastic => Ok(LikKind::Heteroscedastic(targets)),
        Likelihood::Bernoulli => Ok(LikKind::Bernoulli),
        Likelihood::Categorical { classes } => Ok(LikKind::Categorical(*classes)),
        other => Err(Error::Invalid(format!(
            "--method laplace supports the gaussian, heteroscedastic, bernoulli and categorical likelihoods, not {}",
            other.name()
        ))),
    }
}

/// Curvature at unit scale (σ = 1 for Gaussian), on the subset's parameters.
#[derive(Debug, Clone)]
enum Curv {
    Diag(Vec<f64>),
    /// Clipped to PSD; `eig` are its eigenvalues (for the one-precision fast path).
    Full {
        mat: Vec<f64>,
        eig: Vec<f64>,
    },
    Kfac(Vec<KfacBlock>),
}

/// One layer's Kronecker factors, eigendecomposed: precision block `s·(A ⊗ G) + λ I`.
#[derive(Debug, Clone)]
struct KfacBlock {
    layer: usize,
    /// Start in subset coordinates.
    start: usize,
    qa: Vec<f64>,
    da: Vec<f64>,
    qg: Vec<f64>,
    dg: Vec<f64>,
    /// Curvature scale s(σ) and prior precision (set when the posterior is built).
    scale: f64,
    lambda: f64,
}

impl KfacBlock {
    fn ka(&self) -> usize {
        self.da.len()
    }
    fn m(&self) -> usize {
        self.dg.len()
    }
    fn len(&self) -> usize {
        self.ka() * self.m()
    }
    fn den(&self, a: usize, g: usize) -> f64 {
        self.scale * self.da[a] * self.dg[g] + self.lambda
    }
    /// `Q_Aᵀ J Q_G` for `J` (`ka × m`, row-major).
    fn rotate(&self, j: &[f64]) -> Vec<f64> {
        let (ka, m) = (self.ka(), self.m());
        let mut t = vec![0.0; ka * m];
        for a in 0..ka {
            for i in 0..ka {
                let q = self.qa[i * ka + a];
                if q == 0.0 {
                    continue;
                }
                for (tv, jv) in t[a * m..(a + 1) * m].iter_mut().zip(&j[i * m..(i + 1) * m]) {
                    *tv += q * jv;
                }
            }
        }
        let mut out = vec![0.0; ka * m];
        for a in 0..ka {
            for g in 0..m {
                out[a * m + g] = (0..m).map(|h| t[a * m + h] * self.qg[h * m + g]).sum();
            }
        }
        out
    }
}

/// A prior-precision group: which subset coordinates it covers.
#[derive(Debug, Clone)]
struct HyperGroup {
    name: String,
    ranges: Vec<Range<usize>>,
    /// Layers (0-based) it covers.
    layers: Vec<usize>,
    lambda: f64,
    loc: f64,
    count: usize,
    /// Σ (θ* − loc)² over the group.
    sq: f64,
}

/// What a Laplace fit reports in the fit record.
#[derive(Debug, Clone, Serialize)]
pub struct LaplaceOutcome {
    /// The MAP training run.
    pub map: PointFit,
    /// The settings.
    pub options: LaplaceOptions,
    /// Parameters covered by the Gaussian.
    pub params: usize,
    /// Log evidence at the configured prior and the MAP's σ (online: at the hyperparameters
    /// chosen during training, under the final structure).
    pub log_evidence_initial: f64,
    /// Log evidence at the chosen hyperparameters.
    pub log_evidence: f64,
    /// Prior precision per group, as chosen (name, precision, prior scale 1/√precision).
    pub prior_precision: Vec<(String, f64, f64)>,
    /// Observation noise σ in standardised units (Gaussian likelihood).
    pub sigma: Option<f64>,
    /// σ of the MAP fit, before tuning.
    pub sigma_map: Option<f64>,
    /// Several targets with learned noise: σ per target in standardised units, held at the MAP
    /// (the evidence tunes only the prior precisions then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigmas: Option<Vec<f64>>,
    /// Evidence-optimiser iterations (post hoc, or the refinement after online tuning).
    pub tuning_iterations: usize,
    /// Online tuning: the evidence trace and the epoch kept (`tune = "online"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online: Option<OnlineOutcome>,
    /// Curvature eigenvalues below zero that were clipped to zero (full and KFAC).
    pub clipped_eigenvalues: usize,
    /// The most negative eigenvalue before clipping (0 when none).
    pub most_negative_eigenvalue: f64,
    /// Jitter added to the diagonal of the posterior precision for its Cholesky factor (0 when none).
    pub jitter: f64,
    /// Hierarchical priors: the learned scales and the ARD ranking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hierarchy: Option<super::hierarchical::HierarchySummary>,
}

impl LaplaceOutcome {
    /// The outcome of a fit whose final evidence is `ev` (hyperparameters as chosen), around
    /// `map`; `sigma_map` is σ before tuning (Gaussian likelihood only).
    #[allow(clippy::too_many_arguments)]
    fn from_evidence(
        map: PointFit,
        options: &LaplaceOptions,
        params: usize,
        ev: &Evidence,
        log_evidence_initial: f64,
        log_evidence: f64,
        sigma_map: Option<f64>,
        tuning_iterations: usize,
        jitter: f64,
    ) -> Self {
        LaplaceOutcome {
            map,
            options: options.clone(),
            params,
            log_evidence_initial,
            log_evidence,
            prior_precision: ev
                .groups
                .iter()
                .map(|g| (g.name.clone(), g.lambda, 1.0 / g.lambda.sqrt()))
                .collect(),
            sigma: sigma_map.map(|_| ev.sigma),
            sigma_map,
            sigmas: None,
            tuning_iterations,
            online: None,
            clipped_eigenvalues: ev.clipped,
            most_negative_eigenvalue: ev.most_negative,
            jitter,
            hierarchy: None,
        }
    }
}

/// The result of `fit_laplace`.
#[derive(Debug)]
pub struct LaplaceFit {
    /// The posterior.
    pub posterior: LaplacePosterior,
    /// What happened.
    pub outcome: LaplaceOutcome,
    /// The prior after empirical Bayes (None without tuning), to record in the artifact.
    pub tuned_priors: Option<PriorSet>,
}

/// The evidence of a model at its MAP, as a function of prior precisions and σ.
#[derive(Debug, Clone)]
pub struct Evidence {
    kind: LikKind,
    curvature: CurvatureKind,
    curv: Curv,
    groups: Vec<HyperGroup>,
    /// Per subset coordinate: its group.
    group_of: Vec<usize>,
    /// Log likelihood at the MAP (non-Gaussian), or the residual sum of squares (Gaussian).
    loglik: f64,
    sse: f64,
    rows: usize,
    /// Whether σ is a free hyperparameter (learned-noise Gaussian).
    learns_noise: bool,
    sigma: f64,
    clipped: usize,
    most_negative: f64,
    /// Per-coordinate prior (precision, (θ* − loc)²) in subset coordinates, when the prior
    /// differs within a group (a transferred posterior); tuning is then off.
    coord: Option<(Vec<f64>, Vec<f64>)>,
}

impl Evidence {
    fn scale(&self, sigma: f64) -> f64 {
        match (self.kind, self.curvature) {
            (LikKind::Gaussian, CurvatureKind::Ggn) => sigma.powi(-2),
            (LikKind::Gaussian, CurvatureKind::Ef) => sigma.powi(-4),
            _ => 1.0,
        }
    }

    fn log_lik(&self, sigma: f64) -> f64 {
        match self.kind {
            LikKind::Gaussian => {
                let n = self.rows as f64;
                -0.5 * self.sse / (sigma * sigma)
                    - n * sigma.ln()
                    - 0.5 * n * (2.0 * std::f64::consts::PI).ln()
            }
            _ => self.loglik,
        }
    }

    fn per_coord(&self, lam: &[f64]) -> Vec<f64> {
        match &self.coord {
            Some((prec, _)) => prec.clone(),
            None => self.group_of.iter().map(|&g| lam[g]).collect(),
        }
    }

    /// Log-determinant of the posterior precision `s·C + Λ`.
    fn log_det(&self, lam: &[f64], s: f64) -> Result<f64> {
        Ok(match &self.curv {
            Curv::Diag(c) => c
                .iter()
                .zip(&self.per_coord(lam))
                .map(|(ci, l)| (s * ci + l).ln())
                .sum(),
            Curv::Full { mat, eig } => {
                if self.groups.len() == 1 && self.coord.is_none() {
                    eig.iter().map(|e| (s * e + lam[0]).ln()).sum()
                } else {
                    let (l, _) = precision_cholesky(mat, s, &self.per_coord(lam))?;
                    let n = eig.len();
                    2.0 * (0..n).map(|i| l[i * n + i].ln()).sum::<f64>()
                }
            }
            Curv::Kfac(blocks) => blocks
                .iter()
                .map(|b| {
                    let lam_b = lam[self.group_of[b.start]];
                    let mut t = 0.0;
                    for a in &b.da {
                        for g in &b.dg {
                            t += (s * a * g + lam_b).ln();
                        }
                    }
                    t
                })
                .sum(),
        })
    }

    /// Log marginal likelihood (Laplace) at per-group prior precisions `lam` and noise σ:
    /// `log p(D|θ*) + log p(θ*) + (P/2) log 2π − ½ log det(s·C + Λ)`, over the subset.
    pub fn log_evidence(&self, lam: &[f64], sigma: f64) -> Result<f64> {
        let s = self.scale(sigma);
        let mut prior = 0.0;
        if let Some((prec, sq)) = &self.coord {
            for (l, q) in prec.iter().zip(sq) {
                prior += -0.5 * l * q + 0.5 * l.ln();
            }
        } else {
            for (g, l) in self.groups.iter().zip(lam) {
                prior += -0.5 * l * g.sq + 0.5 * g.count as f64 * l.ln();
            }
        }
        Ok(self.log_lik(sigma) + prior - 0.5 * self.log_det(lam, s)?)
    }
}

/// Lower Cholesky factor (row-major) of `s·C + diag(λ)`, adding jitter to the diagonal when the
/// factorisation fails; returns the factor and the jitter used.
fn precision_cholesky(c: &[f64], s: f64, lam: &[f64]) -> Result<(Vec<f64>, f64)> {
    let n = lam.len();
    let mut a: Vec<f64> = c.iter().map(|v| s * v).collect();
    for i in 0..n {
        a[i * n + i] += lam[i];
    }
    if let Some(bad) = a.iter().position(|v| !v.is_finite()) {
        return Err(Error::Numeric(format!(
            "the posterior precision has a non-finite entry at ({}, {}); the curvature or the prior precision overflowed",
            bad / n,
            bad % n
        )));
    }
    let mean_diag = (0..n).map(|i| a[i * n + i]).sum::<f64>() / n.max(1) as f64;
    let mut jitter = 0.0;
    for attempt in 0..8 {
        if let Some(l) = linalg::cholesky(&a, n) {
            return Ok((l, jitter));
        }
        let add = mean_diag * 1e-10 * 100f64.powi(attempt);
        for i in 0..n {
            a[i * n + i] += add;
        }
        jitter += add;
    }
    Err(Error::Numeric(format!(
        "the Laplace posterior precision ({n} × {n}) is not positive definite even after adding {jitter:.3e} to its diagonal; the curvature is badly conditioned — try hessian = \"diag\" or \"kfac\", a larger prior precision, or tune = \"post-hoc\""
    )))
}

/// A Gaussian posterior over a subset of the network parameters, centred at the MAP.
#[derive(Debug, Clone)]
pub struct LaplacePosterior {
    /// MAP parameters (with the tuned log σ when the noise is learned).
    pub theta: Vec<f64>,
    subset: Range<usize>,
    predictive: LaplacePredictive,
    samples: usize,
    cov: Cov,
}

#[derive(Debug, Clone)]
enum Cov {
    /// Marginal variances.
    Diag(Vec<f64>),
    /// Lower Cholesky factor of the precision, row-major.
    Full(Vec<f64>),
    Kfac(Vec<KfacBlock>),
}

impl LaplacePosterior {
    /// Number of parameters the Gaussian covers.
    pub fn dim(&self) -> usize {
        self.subset.len()
    }

    /// Marginal posterior variance of each covered parameter.
    pub fn marginal_variances(&self) -> Vec<f64> {
        let p = self.dim();
        match &self.cov {
            Cov::Diag(v) => v.clone(),
            Cov::Full(l) => {
                // Σ = (L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹, so Σᵢᵢ = ‖L⁻¹ eᵢ‖² (column i of L⁻¹ by forward
                // substitution).
                (0..p)
                    .map(|i| {
                        let mut e = vec![0.0; p];
                        e[i] = 1.0;
                        linalg::solve_lower(l, p, &e).iter().map(|w| w * w).sum()
                    })
                    .collect()
            }
            Cov::Kfac(blocks) => {
                let mut out = vec![0.0; p];
                for b in blocks {
                    let (ka, m) = (b.ka(), b.m());
                    for i in 0..ka {
                        for j in 0..m {
                            let mut v = 0.0;
                            for a in 0..ka {
                                for g in 0..m {
                                    let q = b.qa[i * ka + a] * b.qg[j * m + g];
                                    v += q * q / b.den(a, g);
                                }
                            }
                            out[b.start + i * m + j] = v;
                        }
                    }
                }
                out
            }
        }
    }

    /// Posterior covariance (dense, `dim × dim`), for tests and small models.
    pub fn covariance(&self) -> Vec<f64> {
        let p = self.dim();
        let mut cov = vec![0.0; p * p];
        for j in 0..p {
            let mut e = vec![0.0; p];
            e[j] = 1.0;
            let col = self.cov_times(&e);
            for i in 0..p {
                cov[i * p + j] = col[i];
            }
        }
        cov
    }

    /// Σ v for a vector over the covered parameters.
    fn cov_times(&self, v: &[f64]) -> Vec<f64> {
        let p = self.dim();
        match &self.cov {
            Cov::Diag(var) => v.iter().zip(var).map(|(a, b)| a * b).collect(),
            Cov::Full(l) => {
                let w = linalg::solve_lower(l, p, v);
                linalg::solve_upper_t(l, p, &w)
            }
            Cov::Kfac(blocks) => {
                let mut out = vec![0.0; p];
                for b in blocks {
                    let (ka, m) = (b.ka(), b.m());
                    let r = b.rotate(&v[b.start..b.start + b.len()]);
                    let scaled: Vec<f64> =
                        (0..ka * m).map(|i| r[i] / b.den(i / m, i % m)).collect();
                    // Back: Q_A · scaled · Q_Gᵀ.
                    let mut t = vec![0.0; ka * m];
                    for i in 0..ka {
                        for a in 0..ka {
                            let q = b.qa[i * ka + a];
                            for g in 0..m {
                                t[i * m + g] += q * scaled[a * m + g];
                            }
                        }
                    }
                    for i in 0..ka {
                        for j in 0..m {
                            out[b.start + i * m + j] =
                                (0..m).map(|g| t[i * m + g] * b.qg[j * m + g]).sum();
                        }
                    }
                }
                out
            }
        }
    }

    /// One draw of the parameter offset from the MAP over the covered parameters.
    fn sample_offset(&self, r: &mut Rng) -> Vec<f64> {
        let p = self.dim();
        let z: Vec<f64> = (0..p).map(|_| rng::normal(r)).collect();
        match &self.cov {
            Cov::Diag(var) => z.iter().zip(var).map(|(a, v)| a * v.sqrt()).collect(),
            Cov::Full(l) => linalg::solve_upper_t(l, p, &z),
            Cov::Kfac(blocks) => {
                let mut out = vec![0.0; p];
                for b in blocks {
                    let (ka, m) = (b.ka(), b.m());
                    let y: Vec<f64> = (0..ka * m)
                        .map(|i| z[b.start + i] / b.den(i / m, i % m).sqrt())
                        .collect();
                    let mut t = vec![0.0; ka * m];
                    for i in 0..ka {
                        for a in 0..ka {
                            let q = b.qa[i * ka + a];
                            for g in 0..m {
                                t[i * m + g] += q * y[a * m + g];
                            }
                        }
                    }
                    for i in 0..ka {
                        for j in 0..m {
                            out[b.start + i * m + j] =
                                (0..m).map(|g| t[i * m + g] * b.qg[j * m + g]).sum();
                        }
                    }
                }
                out
            }
        }
    }

    /// Output covariances `J Σ Jᵀ` (`rows × K × K`) of the linearised network at `x`, and the
    /// MAP outputs (`rows × K`).
    pub fn function_covariance(
        &self,
        mlp: &Mlp,
        x: &[f64],
        rows: usize,
    ) -> Result<(Vec<f64>, Vec<f64>)> {
        let kk = mlp.outputs();
        let p = self.dim();
        let f_in = mlp.inputs();
        let mut f = Vec::with_capacity(rows * kk);
        let mut var = Vec::with_capacity(rows * kk * kk);
        let chunk = 256;
        let mut start = 0;
        while start < rows {
            let n = chunk.min(rows - start);
            let xc = &x[start * f_in..(start + n) * f_in];
            let mut ws = mlp.workspace(n);
            mlp.forward(&self.theta, xc, n, &mut ws);
            f.extend_from_slice(ws.output());
            let jac = jacobians(mlp, &self.theta, xc, n, &ws, self.subset.clone());
            for r in 0..n {
                let rowj = &jac[r * kk * p..(r + 1) * kk * p];
                // Σ J_bᵀ per output b, then V_ab = J_a · Σ J_b.
                let sj: Vec<Vec<f64>> = (0..kk)
                    .map(|b| self.cov_times(&rowj[b * p..(b + 1) * p]))
                    .collect();
                for a in 0..kk {
                    for sjb in &sj {
                        let v: f64 = rowj[a * p..(a + 1) * p]
                            .iter()
                            .zip(sjb)
                            .map(|(x, y)| x * y)
                            .sum();
                        var.push(v);
                    }
                }
            }
            start += n;
        }
        if let Some(i) = var.iter().position(|v| !v.is_finite()) {
            return Err(Error::Numeric(format!(
                "the linearised predictive variance at row {} is not finite; the posterior covariance is degenerate",
                i / (kk * kk) + 1
            )));
        }
        Ok((f, var))
    }

    fn from_parts(
        theta: Vec<f64>,
        subset: Range<usize>,
        predictive: LaplacePredictive,
        samples: usize,
        cov: Cov,
    ) -> Self {
        LaplacePosterior {
            theta,
            subset,
            predictive,
            samples,
            cov,
        }
    }

    /// Rebuilds from an artifact's tensors.
    pub fn from_tensors(t: &BTreeMap<String, NamedTensor>) -> Result<Self> {
        let get = |name: &str| -> Result<&NamedTensor> {
            t.get(name)
                .ok_or_else(|| Error::Invalid(format!("Laplace artifact has no '{name}' tensor")))
        };
        let theta = get("laplace.theta")?.data.clone();
        let meta = &get("laplace.meta")?.data;
        if meta.len() != 5 {
            return Err(Error::Invalid("'laplace.meta' has a bad shape".into()));
        }
        let count = |i: usize, what: &str, max: usize| super::saved_count(what, meta[i], max);
        let (hess, pred, samples, s0, s1) = (
            count(0, "laplace.meta[0] (structure)", 2)?,
            count(1, "laplace.meta[1] (predictive)", 1)?,
            count(2, "laplace.meta[2] (samples)", super::MAX_SAVED_COUNT)?,
            count(3, "laplace.meta[3] (subset start)", theta.len())?,
            count(4, "laplace.meta[4] (subset end)", theta.len())?,
        );
        if s0 > s1 {
            return Err(Error::Invalid("'laplace.meta' has a bad subset".into()));
        }
        let p = s1 - s0;
        let bad =
            |what: &str| Error::Invalid(format!("'{what}' has a bad shape for {p} parameters"));
        let cov = match hess {
            0 => {
                let v = get("laplace.var")?.data.clone();
                if v.len() != p {
                    return Err(bad("laplace.var"));
                }
                Cov::Diag(v)
            }
            2 => {
                let l = get("laplace.precision_chol")?.data.clone();
                if Some(l.len()) != p.checked_mul(p) {
                    return Err(Error::Invalid(
                        "'laplace.precision_chol' has a bad shape".into(),
                    ));
                }
                Cov::Full(l)
            }
            1 => {
                let hdr = &get("laplace.kfac")?.data;
                if hdr.len() % 4 != 0 {
                    return Err(bad("laplace.kfac"));
                }
                let mut blocks = Vec::new();
                for (i, c) in hdr.chunks_exact(4).enumerate() {
                    let v = |k: &str| -> Result<Vec<f64>> {
                        Ok(get(&format!("laplace.kfac.{i}.{k}"))?.data.clone())
                    };
                    let b = KfacBlock {
                        layer: super::saved_count("laplace.kfac (layer)", c[0], usize::MAX >> 12)?,
                        start: super::saved_count("laplace.kfac (start)", c[1], p)?,
                        scale: c[2],
                        lambda: c[3],
                        qa: v("qa")?,
                        da: v("da")?,
                        qg: v("qg")?,
                        dg: v("dg")?,
                    };
                    // Each block covers ka × m parameters of the subset, with ka × ka and
                    // m × m eigenvector matrices.
                    let square = |n: usize| n.checked_mul(n);
                    let fits = b
                        .ka()
                        .checked_mul(b.m())
                        .and_then(|n| n.checked_add(b.start));
                    if square(b.ka()) != Some(b.qa.len())
                        || square(b.m()) != Some(b.qg.len())
                        || !fits.is_some_and(|end| end <= p)
                    {
                        return Err(bad(&format!("laplace.kfac.{i}")));
                    }
                    blocks.push(b);
                }
                Cov::Kfac(blocks)
            }
            _ => {
                return Err(Error::Invalid(
                    "'laplace.meta' names an unknown structure".into(),
                ))
            }
        };
        let predictive = if pred == 1 {
            LaplacePredictive::Mc
        } else {
            LaplacePredictive::Glm
        };
        Ok(Self::from_parts(
            theta,
            s0..s1,
            predictive,
            samples.max(1),
            cov,
        ))
    }
}

/// Draws of the linearised logits N(f*, JΣJᵀ) per row behind the GLM classification
/// predictive's epistemic split (mutual information, expected entropy); its mean
/// probabilities stay the probit approximation.
const GLM_CLASS_DRAWS: usize = 256;

/// Quantile nodes of the log-scale output in [`het_glm_predictive`].
const HET_NODES: usize = 32;

/// Linearised predictive of a heteroscedastic network, y ~ N(f₀, e^{2f₁}) with (f₀, f₁) ~
/// N(f*, V) per row: f₁ is integrated over `HET_NODES` equal-mass normal quantiles (rescaled to
/// unit variance), f₀ given f₁ in closed form, so every node is one Gaussian component with mean
/// f₀* + (V₀₁/V₁₁)·(f₁ − f₁*), function variance V₀₀ − V₀₁²/V₁₁ and noise variance e^{2f₁}
/// (scaled per row so that its average is the log-normal mean exp(2f₁* + 2V₁₁) exactly). The
/// mixture's mean and variance are then exactly f₀* and V₀₀ + exp(2f₁* + 2V₁₁).
fn het_glm_predictive(f: &[f64], v: &[f64], rows: usize) -> Result<RegressionPredictive> {
    let mut z: Vec<f64> = (0..HET_NODES)
        .map(|i| crate::eval::diagnostics::normal_quantile((i as f64 + 0.5) / HET_NODES as f64))
        .collect();
    let rms = (z.iter().map(|v| v * v).sum::<f64>() / HET_NODES as f64).sqrt();
    z.iter_mut().for_each(|v| *v /= rms);
    let mut means = vec![vec![0.0; rows]; HET_NODES];
    let mut noise_var = vec![vec![0.0; rows]; HET_NODES];
    let mut func_var = vec![vec![0.0; rows]; HET_NODES];
    for n in 0..rows {
        let (m0, m1) = (f[2 * n], f[2 * n + 1]);
        let (v00, v01, v11) = (v[4 * n], v[4 * n + 1], v[4 * n + 3]);
        let sd1 = v11.max(0.0).sqrt();
        // Regression of f₀ on f₁ (none when f₁ has no spread).
        let (slope, cond) = if v11 > 0.0 {
            (v01 / sd1, (v00 - v01 * v01 / v11).max(0.0))
        } else {
            (0.0, v00.max(0.0))
        };
        let avg = z.iter().map(|zs| (2.0 * sd1 * zs).exp()).sum::<f64>() / HET_NODES as f64;
        let correction = (2.0 * sd1 * sd1).exp() / avg;
        for (s, zs) in z.iter().enumerate() {
            means[s][n] = m0 + slope * zs;
            func_var[s][n] = cond;
            noise_var[s][n] = correction * (2.0 * (m1 + sd1 * zs)).exp();
        }
        if !(means.iter().all(|m| m[n].is_finite())
            && noise_var.iter().all(|v| v[n].is_finite() && v[n] > 0.0))
        {
            return Err(Error::Numeric(format!(
                "the heteroscedastic predictive at row {} is not finite (log-scale output {m1:.3e}, its variance {v11:.3e}): the input is far outside what the network was trained on",
                n + 1
            )));
        }
    }
    Ok(RegressionPredictive {
        rows,
        family: NoiseFamily::Gaussian,
        means,
        noise_var,
        func_var,
    })
}

impl Posterior for LaplacePosterior {
    fn kind(&self) -> &'static str {
        "laplace"
    }

    fn marginal_variances(&self) -> Option<Vec<f64>> {
        // NaN outside the covered subset: those parameters are held at the MAP.
        let mut v = vec![f64::NAN; self.theta.len()];
        v[self.subset.clone()].copy_from_slice(&LaplacePosterior::marginal_variances(self));
        Some(v)
    }

    fn predict(&self, spec: &ModelSpec, x: &[f64], rows: usize, r: &mut Rng) -> Result<Predictive> {
        if self.predictive == LaplacePredictive::Mc {
            let draws: Vec<Vec<f64>> = (0..self.samples)
                .map(|_| {
                    let d = self.sample_offset(r);
                    let mut t = self.theta.clone();
                    for (ti, di) in t[self.subset.clone()].iter_mut().zip(&d) {
                        *ti += di;
                    }
                    t
                })
                .collect();
            return super::predict_draws(spec, &draws, x, rows);
        }
        let kind = lik_kind(spec)?;
        let kk = spec.mlp.outputs();
        let (f, v) = self.function_covariance(&spec.mlp, x, rows)?;
        if spec.targets() > 1 {
            return targets_glm_predictive(spec, &self.theta, &f, &v, rows);
        }
        Ok(match kind {
            LikKind::Gaussian => {
                let (_, nv) = spec
                    .likelihood
                    .mean_var(&[0.0], spec.log_sigma(&self.theta));
                Predictive::Regression(RegressionPredictive {
                    rows,
                    family: NoiseFamily::Gaussian,
                    means: vec![f],
                    noise_var: vec![vec![nv; rows]],
                    func_var: vec![v],
                })
            }
            LikKind::Heteroscedastic(_) => {
                Predictive::Regression(het_glm_predictive(&f, &v, rows)?)
            }
            LikKind::GaussianTargets(_) => targets_glm_predictive(spec, &self.theta, &f, &v, rows)?,
            LikKind::Bernoulli | LikKind::Categorical(_) => {
                // Probit-approximated mean probabilities; epistemic quantities from draws of the
                // linearised logits.
                let probit = |n: usize, c: usize, var: f64| {
                    f[n * kk + c] / (1.0 + std::f64::consts::PI * var / 8.0).sqrt()
                };
                let (classes, probs) = match kind {
                    LikKind::Categorical(k) => {
                        let mut probs = vec![0.0; rows * k];
                        for n in 0..rows {
                            let z: Vec<f64> = (0..k)
                                .map(|c| probit(n, c, v[n * kk * kk + c * kk + c]))
                                .collect();
                            spec.likelihood.probs(&z, &mut probs[n * k..(n + 1) * k]);
                        }
                        (k, probs)
                    }
                    _ => {
                        let probs = (0..rows)
                            .flat_map(|n| {
                                let p = crate::nn::activation_fns::sigmoid(probit(n, 0, v[n]));
                                [1.0 - p, p]
                            })
                            .collect();
                        (2, probs)
                    }
                };
                Predictive::Classification(ClassPredictive {
                    rows,
                    classes,
                    members: logit_gaussian_members(
                        &spec.likelihood,
                        &f,
                        &v,
                        rows,
                        GLM_CLASS_DRAWS,
                        r,
                    )?,
                    mean: Some(probs),
                })
            }
        })
    }

    fn tensors(&self) -> Vec<NamedTensor> {
        let p = self.dim();
        let hess = match self.cov {
            Cov::Diag(_) => 0.0,
            Cov::Kfac(_) => 1.0,
            Cov::Full(_) => 2.0,
        };
        let mut out = vec![
            NamedTensor {
                name: "laplace.theta".into(),
                shape: vec![self.theta.len()],
                data: self.theta.clone(),
            },
            NamedTensor {
                name: "laplace.meta".into(),
                shape: vec![5],
                data: vec![
                    hess,
                    f64::from(u8::from(self.predictive == LaplacePredictive::Mc)),
                    self.samples as f64,
                    self.subset.start as f64,
                    self.subset.end as f64,
                ],
            },
        ];
        match &self.cov {
            Cov::Diag(v) => out.push(NamedTensor {
                name: "laplace.var".into(),
                shape: vec![p],
                data: v.clone(),
            }),
            Cov::Full(l) => out.push(NamedTensor {
                name: "laplace.precision_chol".into(),
                shape: vec![p, p],
                data: l.clone(),
            }),
            Cov::Kfac(blocks) => {
                out.push(NamedTensor {
                    name: "laplace.kfac".into(),
                    shape: vec![blocks.len(), 4],
                    data: blocks
                        .iter()
                        .flat_map(|b| [b.layer as f64, b.start as f64, b.scale, b.lambda])
                        .collect(),
                });
                for (i, b) in blocks.iter().enumerate() {
                    for (k, d, shape) in [
                        ("qa", &b.qa, vec![b.ka(), b.ka()]),
                        ("da", &b.da, vec![b.ka()]),
                        ("qg", &b.qg, vec![b.m(), b.m()]),
                        ("dg", &b.dg, vec![b.m()]),
                    ] {
                        out.push(NamedTensor {
                            name: format!("laplace.kfac.{i}.{k}"),
                            shape,
                            data: d.clone(),
                        });
                    }
                }
            }
        }
        out
    }

    fn center(&self) -> Vec<f64> {
        self.theta.clone()
    }
}

/// Per-parameter Normal prior (loc, precision) of the network parameters; an error names the
/// first group whose prior is not Normal. Per-parameter priors (a transferred posterior) give
/// each parameter its own loc and precision.
fn gaussian_prior(spec: &ModelSpec, priors: &ResolvedPriors) -> Result<(Vec<f64>, Vec<f64>)> {
    let layout = spec.layout();
    let nd = spec.mlp.dim();
    let mut loc = vec![0.0; nd];
    let mut prec = vec![0.0; nd];
    let dists = priors.parameter_dists(nd);
    for g in layout.groups.iter().filter(|g| g.kind != GroupKind::Noise) {
        let idx = priors
            .assignment
            .iter()
            .find(|(n, _)| *n == g.name)
            .map(|(_, i)| *i)
            .ok_or_else(|| Error::Invalid(format!("group '{}' has no prior", g.name)))?;
        let p = &priors.priors[idx];
        for i in g.range() {
            let Some(&Dist::Normal { loc: m, scale }) = dists[i] else {
                return Err(Error::Invalid(format!(
                    "the Laplace approximation needs a Gaussian prior on every network weight; '{}' has a {} prior (params = \"{}\"). Use distribution = {{ family = \"normal\", loc = 0.0, scale = … }}",
                    g.name,
                    p.distribution.family(),
                    p.params
                )));
            };
            loc[i] = m;
            prec[i] = 1.0 / (scale * scale);
        }
    }
    Ok((loc, prec))
}

/// Per-row curvature factors at the MAP outputs `f` (see `nn::curvature`), at unit σ for one
/// Gaussian target; several Gaussian targets fold in `log_sigmas` (one per target). With
/// several targets, `y` is `rows × targets` and "row" below means one (row, target) pair.
fn curvature_factors(
    kind: LikKind,
    curv: CurvatureKind,
    f: &[f64],
    y: &[f64],
    log_sigmas: &[f64],
) -> Vec<Vec<f64>> {
    let rows = y.len();
    // Keeps target k's entries of a per-(row, target) sequence, zero for the other targets.
    let only = |kt: usize, k: usize, n: usize, v: f64| if n % kt == k { v } else { 0.0 };
    match (kind, curv) {
        (LikKind::Gaussian, CurvatureKind::Ggn) => vec![vec![1.0; rows]],
        (LikKind::Gaussian, CurvatureKind::Ef) => {
            vec![y.iter().zip(f).map(|(a, b)| a - b).collect()]
        }
        // GGN Jᵀ diag(1/σ_k²) J: one square-root column 1/σ_k per target.
        (LikKind::GaussianTargets(kt), CurvatureKind::Ggn) => (0..kt)
            .map(|k| {
                let inv = (-log_sigmas[k]).exp();
                (0..rows).map(|n| only(kt, k, n, inv)).collect()
            })
            .collect(),
        (LikKind::GaussianTargets(kt), CurvatureKind::Ef) => vec![y
            .iter()
            .zip(f)
            .enumerate()
            .map(|(n, (a, b))| (a - b) * (-2.0 * log_sigmas[n % kt]).exp())
            .collect()],
        // −log p = f₁ + (y − f₀)²·e^{−2f₁}/2 + const. Its Hessian in (f₀, f₁) is indefinite away
        // from the optimum; the GGN uses its expectation under the model (the Fisher),
        // diag(e^{−2f₁}, 2), whose square-root columns are (e^{−f₁}, 0) and (0, √2) — per
        // target, each target's pair of outputs side by side.
        (LikKind::Heteroscedastic(kt), CurvatureKind::Ggn) => (0..kt)
            .flat_map(|k| {
                [
                    (0..rows)
                        .flat_map(|n| [only(kt, k, n, (-f[2 * n + 1]).exp()), 0.0])
                        .collect(),
                    (0..rows)
                        .flat_map(|n| [0.0, only(kt, k, n, std::f64::consts::SQRT_2)])
                        .collect(),
                ]
            })
            .collect(),
        (LikKind::Heteroscedastic(_), CurvatureKind::Ef) => vec![(0..rows)
            .flat_map(|n| {
                let w = (-2.0 * f[2 * n + 1]).exp();
                let r = y[n] - f[2 * n];
                [r * w, r * r * w - 1.0]
            })
            .collect()],
        (LikKind::Bernoulli, c) => {
            let p: Vec<f64> = f
                .iter()
                .map(|v| crate::nn::activation_fns::sigmoid(*v))
                .collect();
            vec![match c {
                CurvatureKind::Ggn => p.iter().map(|p| (p * (1.0 - p)).sqrt()).collect(),
                CurvatureKind::Ef => y.iter().zip(&p).map(|(a, b)| a - b).collect(),
            }]
        }
        (LikKind::Categorical(k), c) => {
            let lik = Likelihood::Categorical { classes: k };
            let mut p = vec![0.0; rows * k];
            for n in 0..rows {
                lik.probs(&f[n * k..(n + 1) * k], &mut p[n * k..(n + 1) * k]);
            }
            match c {
                CurvatureKind::Ggn => (0..k)
                    .map(|cl| {
                        let mut u = vec![0.0; rows * k];
                        for n in 0..rows {
                            let s = p[n * k + cl].sqrt();
                            for j in 0..k {
                                let e = f64::from(u8::from(j == cl));
                                u[n * k + j] = s * (e - p[n * k + j]);
                            }
                        }
                        u
                    })
                    .collect(),
                CurvatureKind::Ef => vec![(0..rows * k)
                    .map(|i| f64::from(u8::from(y[i / k] as usize == i % k)) - p[i])
                    .collect()],
            }
        }
    }
}

impl Evidence {
    /// Builds the evidence of `spec` at the MAP `theta` on standardised `data`: computes the
    /// curvature and sets up the prior-precision groups (initial values from the Normal prior).
    pub fn new(
        spec: &ModelSpec,
        theta: &[f64],
        data: &Dataset,
        priors: &ResolvedPriors,
        o: &LaplaceOptions,
    ) -> Result<Self> {
        let kind = lik_kind(spec)?;
        let mlp = &spec.mlp;
        let (loc, prec) = gaussian_prior(spec, priors)?;
        let subset = match o.subset {
            Subset::All => 0..mlp.dim(),
            Subset::LastLayer => last_layer_range(mlp),
        };
        let p = subset.len();
        let first_layer = match o.subset {
            Subset::All => 0,
            Subset::LastLayer => mlp.layers() - 1,
        };
        if o.hessian == HessianStructure::Full && p > o.max_full_params {
            return Err(Error::Invalid(format!(
                "hessian = \"full\" covers {p} parameters here, above the limit of {} (a dense {p} × {p} precision); use hessian = \"kfac\" or \"diag\", subset = \"last-layer\", or raise inference.max_full_params",
                o.max_full_params
            )));
        }
        let rows = data.rows;
        let mut ws = mlp.workspace(rows);
        mlp.forward(theta, &data.x, rows, &mut ws);
        let f = ws.output().to_vec();
        if f.iter().any(|v| !v.is_finite()) {
            return Err(Error::Numeric(
                "the MAP network output is not finite on the training data".into(),
            ));
        }
        let factors = curvature_factors(kind, o.curvature, &f, &data.y, &spec.log_sigmas(theta));
        let mut clipped = 0;
        let mut most_negative: f64 = 0.0;
        let mut clip = |e: &mut [f64]| -> usize {
            let mut c = 0;
            for v in e.iter_mut() {
                if *v < 0.0 {
                    most_negative = most_negative.min(*v);
                    c += 1;
                    *v = 0.0;
                }
            }
            clipped += c;
            c
        };
        let curv = match o.hessian {
            HessianStructure::Diag => Curv::Diag(outer_diag(
                mlp,
                theta,
                &data.x,
                rows,
                &ws,
                &factors,
                subset.clone(),
            )),
            HessianStructure::Full => {
                let mut mat = vec![0.0; p * p];
                for u in &factors {
                    let g = per_sample_grads(mlp, theta, &data.x, rows, &ws, u, subset.clone());
                    linalg::gram_add(&g, rows, p, &mut mat);
                }
                let (mut eig, vecs) = linalg::sym_eig(&mat, p);
                if clip(&mut eig) > 0 {
                    mat = linalg::reconstruct(&vecs, &eig, p);
                }
                Curv::Full { mat, eig }
            }
            HessianStructure::Kfac => {
                let kf = kron_factors(
                    mlp,
                    theta,
                    &data.x,
                    rows,
                    &ws,
                    &factors,
                    first_layer..mlp.layers(),
                );
                // A is a mean over rows: scale it back to a sum so that A ⊗ G ≈ Σ_n.
                let blocks = kf
                    .into_iter()
                    .map(|k| {
                        let (ka, m) = (k.a_dim(), k.g_dim());
                        let (mut da, qa) = linalg::sym_eig(&k.a, ka);
                        let (mut dg, qg) = linalg::sym_eig(&k.g, m);
                        clip(&mut da);
                        clip(&mut dg);
                        KfacBlock {
                            layer: k.layer,
                            start: mlp.offsets(k.layer).0 - subset.start,
                            qa,
                            da,
                            qg,
                            dg,
                            scale: 1.0,
                            lambda: 1.0,
                        }
                    })
                    .collect();
                Curv::Kfac(blocks)
            }
        };
        // Prior-precision groups.
        let layer_range = |l: usize| -> Range<usize> {
            let (wo, bo) = mlp.offsets(l);
            (wo - subset.start)..(bo + mlp.sizes[l + 1] - subset.start)
        };
        let mut groups: Vec<HyperGroup> = match o.tune {
            Tune::None => {
                let layout = spec.layout();
                layout
                    .groups
                    .iter()
                    .filter(|g| g.kind != GroupKind::Noise && g.start >= subset.start)
                    .map(|g| HyperGroup {
                        name: g.name.clone(),
                        ranges: std::iter::once((g.start - subset.start)..(g.end - subset.start))
                            .collect(),
                        layers: vec![g.layer - 1],
                        lambda: prec[g.start],
                        loc: loc[g.start],
                        count: 0,
                        sq: 0.0,
                    })
                    .collect()
            }
            Tune::PostHoc | Tune::Online => match o.prior_groups {
                PriorGroups::Global => vec![HyperGroup {
                    name: match o.subset {
                        Subset::All => "*".into(),
                        Subset::LastLayer => format!("layer{}.*", mlp.layers()),
                    },
                    ranges: (first_layer..mlp.layers()).map(layer_range).collect(),
                    layers: (first_layer..mlp.layers()).collect(),
                    lambda: 0.0,
                    loc: 0.0,
                    count: 0,
                    sq: 0.0,
                }],
                PriorGroups::Layer => (first_layer..mlp.layers())
                    .map(|l| HyperGroup {
                        name: format!("layer{}.*", l + 1),
                        ranges: std::iter::once(layer_range(l)).collect(),
                        layers: vec![l],
                        lambda: 0.0,
                        loc: 0.0,
                        count: 0,
                        sq: 0.0,
                    })
                    .collect(),
            },
        };
        let mut group_of = vec![usize::MAX; p];
        for (gi, g) in groups.iter_mut().enumerate() {
            let mut sum_prec = 0.0;
            let mut locs = Vec::new();
            for r in &g.ranges {
                for i in r.clone() {
                    group_of[i] = gi;
                    let a = i + subset.start;
                    sum_prec += prec[a];
                    g.sq += (theta[a] - loc[a]).powi(2);
                    g.count += 1;
                    locs.push(loc[a]);
                }
            }
            if o.tune == Tune::PostHoc && locs.iter().any(|l| *l != locs[0]) {
                return Err(Error::Invalid(format!(
                    "the prior means within '{}' differ; empirical Bayes tunes one Normal per group and needs one mean (use prior_groups = \"layer\" or priors with one loc)",
                    g.name
                )));
            }
            g.loc = locs.first().copied().unwrap_or(0.0);
            if o.tune != Tune::None {
                // Start from the mean configured precision of the group.
                g.lambda = sum_prec / g.count.max(1) as f64;
            }
        }
        // A prior that differs within a group (per-parameter, e.g. transferred) is kept as is.
        let varies = groups.iter().any(|g| {
            g.ranges.iter().flat_map(|r| r.clone()).any(|i| {
                let a = i + subset.start;
                prec[a] != g.lambda || loc[a] != g.loc
            })
        });
        let coord = if varies && o.tune == Tune::None {
            if matches!(curv, Curv::Kfac(_)) {
                return Err(Error::Invalid(
                    "hessian = \"kfac\" needs one prior precision per layer, but this prior has one per parameter (a transferred posterior); use hessian = \"diag\" or \"full\"".into(),
                ));
            }
            Some((
                subset.clone().map(|a| prec[a]).collect::<Vec<_>>(),
                subset
                    .clone()
                    .map(|a| (theta[a] - loc[a]).powi(2))
                    .collect(),
            ))
        } else {
            None
        };
        if let Curv::Kfac(blocks) = &curv {
            for b in blocks {
                let gs: Vec<usize> = group_of[b.start..b.start + b.len()].to_vec();
                let lam0 = groups[gs[0]].lambda;
                if gs.iter().any(|&g| groups[g].lambda != lam0) {
                    return Err(Error::Invalid(format!(
                        "hessian = \"kfac\" needs one prior precision per layer, but layer {} has different priors on its weights and bias; give them one prior, or use tune = \"post-hoc\"",
                        b.layer + 1
                    )));
                }
            }
        }
        let mut sigma = 1.0;
        let mut sse = 0.0;
        let mut loglik = 0.0;
        match kind {
            LikKind::Gaussian => {
                sigma = spec.log_sigma(theta).exp();
                sse = f.iter().zip(&data.y).map(|(a, b)| (a - b).powi(2)).sum();
            }
            _ => {
                let mut g = vec![0.0; spec.targets()];
                loglik = spec.likelihood.log_lik_targets(
                    &f,
                    &data.y,
                    &spec.log_sigmas(theta),
                    1.0,
                    None,
                    &mut g,
                );
            }
        }
        Ok(Evidence {
            kind,
            curvature: o.curvature,
            curv,
            groups,
            group_of,
            loglik,
            sse,
            rows,
            // Several targets hold their σ_k at the MAP (see `LikKind::GaussianTargets`).
            learns_noise: kind == LikKind::Gaussian && spec.likelihood.learns_noise(),
            sigma,
            clipped,
            most_negative,
            coord,
        })
    }

    /// Current prior precisions per group.
    pub fn precisions(&self) -> Vec<f64> {
        self.groups.iter().map(|g| g.lambda).collect()
    }

    /// Current σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The hyperparameters as logs: log λ per group, then log σ when the noise is learned.
    fn log_hypers(&self) -> Vec<f64> {
        let mut z: Vec<f64> = self.groups.iter().map(|g| g.lambda.ln()).collect();
        if self.learns_noise {
            z.push(self.sigma.ln());
        }
        z
    }

    /// Sets the hyperparameters from their logs (see [`Evidence::log_hypers`]).
    fn set_log_hypers(&mut self, z: &[f64]) {
        let ng = self.groups.len();
        for (g, v) in self.groups.iter_mut().zip(z) {
            g.lambda = v.exp();
        }
        if self.learns_noise {
            self.sigma = z[ng].exp();
        }
    }

    /// Negative log evidence at log hyperparameters `z`; +∞ outside |z| ≤ 25 (precisions and σ
    /// within e^±25) or where it is not finite, so that optimisers back off.
    fn neg_log_evidence_at(&self, z: &[f64]) -> Result<f64> {
        if z.iter().any(|v| !v.is_finite() || v.abs() > 25.0) {
            return Ok(f64::INFINITY);
        }
        let ng = self.groups.len();
        let lam: Vec<f64> = z[..ng].iter().map(|v| v.exp()).collect();
        let sigma = if self.learns_noise {
            z[ng].exp()
        } else {
            self.sigma
        };
        let v = -self.log_evidence(&lam, sigma)?;
        Ok(if v.is_finite() { v } else { f64::INFINITY })
    }

    /// Negative log evidence at `z` and its gradient (central finite differences, h = 1e-5 on
    /// the logs: truncation error O(h²) ≈ 1e-10 relative, round-off ≈ 1e-16·|value|/h).
    fn neg_log_evidence_grad(&self, z: &[f64], g: &mut [f64]) -> Result<f64> {
        let v = self.neg_log_evidence_at(z)?;
        if !v.is_finite() {
            return Ok(v);
        }
        let h = 1e-5;
        let mut zz = z.to_vec();
        for i in 0..z.len() {
            zz[i] = z[i] + h;
            let up = self.neg_log_evidence_at(&zz)?;
            zz[i] = z[i] - h;
            let dn = self.neg_log_evidence_at(&zz)?;
            zz[i] = z[i];
            g[i] = (up - dn) / (2.0 * h);
            if !g[i].is_finite() {
                g[i] = 0.0;
            }
        }
        Ok(v)
    }

    /// Maximises the evidence over the log prior precisions (and log σ when the noise is
    /// learned) with L-BFGS on central finite-difference gradients; returns the iterations.
    pub fn optimise(&mut self) -> Result<usize> {
        let z0 = self.log_hypers();
        let this = &*self;
        let mut f = |z: &[f64], g: &mut [f64]| this.neg_log_evidence_grad(z, g);
        let r = crate::optim::lbfgs(&mut f, &z0, 200, 1e-12, 10)?;
        self.set_log_hypers(&r.x);
        Ok(r.iterations)
    }

    /// `steps` Adam steps up the evidence on the log hyperparameters (online tuning; `adam`
    /// keeps its moments across calls); stops early if a step would leave the finite region.
    fn ascend(&mut self, adam: &mut Adam, steps: usize) -> Result<()> {
        let mut z = self.log_hypers();
        let mut g = vec![0.0; z.len()];
        for _ in 0..steps {
            let v = self.neg_log_evidence_grad(&z, &mut g)?;
            if !v.is_finite() {
                return Err(Error::Numeric(
                    "the Laplace evidence is not finite at the current hyperparameters during online tuning".into(),
                ));
            }
            let before = z.clone();
            g.iter_mut().for_each(|v| *v = -*v);
            adam.step(&mut z, &g);
            if !self.neg_log_evidence_at(&z)?.is_finite() {
                z = before;
                break;
            }
        }
        self.set_log_hypers(&z);
        Ok(())
    }

    /// Evidence at the current hyperparameters.
    pub fn current(&self) -> Result<f64> {
        self.log_evidence(&self.precisions(), self.sigma)
    }

    /// The Gaussian posterior at the current hyperparameters, and the jitter its Cholesky needed.
    fn posterior(
        &self,
        theta: &[f64],
        subset: Range<usize>,
        o: &LaplaceOptions,
        spec: &ModelSpec,
    ) -> Result<(LaplacePosterior, f64)> {
        let lam = self.precisions();
        let s = self.scale(self.sigma);
        let mut jitter = 0.0;
        let cov = match &self.curv {
            Curv::Diag(c) => Cov::Diag(
                c.iter()
                    .zip(&self.per_coord(&lam))
                    .map(|(ci, l)| 1.0 / (s * ci + l))
                    .collect(),
            ),
            Curv::Full { mat, .. } => {
                let (l, j) = precision_cholesky(mat, s, &self.per_coord(&lam))?;
                jitter = j;
                Cov::Full(l)
            }
            Curv::Kfac(blocks) => Cov::Kfac(
                blocks
                    .iter()
                    .map(|b| KfacBlock {
                        scale: s,
                        lambda: lam[self.group_of[b.start]],
                        ..b.clone()
                    })
                    .collect(),
            ),
        };
        let mut t = theta.to_vec();
        if self.learns_noise {
            t[spec.mlp.dim()] = self.sigma.ln();
        }
        Ok((
            LaplacePosterior::from_parts(t, subset, o.predictive, o.samples, cov),
            jitter,
        ))
    }
}

/// One evidence evaluation during online tuning.
#[derive(Debug, Clone, Serialize)]
pub struct OnlineStep {
    /// Epochs trained so far.
    pub epoch: usize,
    /// Log evidence (under the online structure) after this evaluation's hyperparameter steps.
    pub log_evidence: f64,
    /// Prior precision per group after the steps.
    pub prior_precision: Vec<f64>,
    /// σ after the steps (learned-noise Gaussian), standardised units.
    pub sigma: Option<f64>,
}

/// What `tune = "online"` did: the evidence trace and the epoch kept.
#[derive(Debug, Clone, Serialize)]
pub struct OnlineOutcome {
    /// The settings.
    pub options: OnlineOptions,
    /// Names of the prior-precision groups, in the order of `trace[i].prior_precision`.
    pub groups: Vec<String>,
    /// Epoch whose network and hyperparameters were kept (best evidence).
    pub best_epoch: usize,
    /// The best log evidence under the online structure.
    pub best_log_evidence: f64,
    /// Every evaluation, in order.
    pub trace: Vec<OnlineStep>,
}

/// A prior set with one Normal per network parameter group of `spec` (loc and precision taken
/// from the first parameter of the group), plus the configured noise prior.
fn per_group_priors(
    spec: &ModelSpec,
    loc: &[f64],
    lam: &[f64],
    configured: &ResolvedPriors,
    note: &str,
) -> PriorSet {
    let layout = spec.layout();
    let mut entries: Vec<Prior> = layout
        .groups
        .iter()
        .filter(|g| g.kind != GroupKind::Noise)
        .map(|g| Prior {
            params: g.name.clone(),
            distribution: Dist::Normal {
                loc: loc[g.start],
                scale: 1.0 / lam[g.start].sqrt(),
            },
            provenance: Provenance::default_with("online empirical Bayes", note),
            on: Default::default(),
            per_parameter: None,
            hierarchy: None,
        })
        .collect();
    if let Some((_, i)) = configured.assignment.iter().find(|(n, _)| n == "noise") {
        entries.push(configured.priors[*i].clone());
    }
    PriorSet { priors: entries }
}

/// Trains the network with Adam for a fixed number of epochs under the current
/// hyperparameters, taking evidence-gradient steps on them every few epochs (Immer et al.
/// 2021, "Scalable marginal likelihood estimation for model selection in deep learning"). No
/// validation rows: the epoch with the best evidence is kept. Returns the kept network (with
/// log σ set to the tuned noise), the priors at that epoch, and the trace.
fn train_online(
    spec: &ModelSpec,
    priors: &ResolvedPriors,
    data: &Dataset,
    train: &TrainConfig,
    o: &LaplaceOptions,
    seed: u64,
    progress: &dyn Progress,
) -> Result<(PointFit, PriorSet, OnlineOutcome)> {
    let on = &o.online;
    if train.optimizer != crate::config::Optimizer::Adam {
        return Err(Error::Invalid(
            "tune = \"online\" trains the network with Adam (minibatches between evidence steps); set training.optimizer = \"adam\" or use tune = \"post-hoc\"".into(),
        ));
    }
    if train.weight_decay != 0.0 || train.l1 != 0.0 {
        return Err(Error::Invalid(
            "tune = \"online\" learns the prior precision from the evidence; a training.weight_decay or training.l1 penalty would add a second, hidden prior — remove it".into(),
        ));
    }
    let (loc, mut lam) = gaussian_prior(spec, priors)?;
    let nd = spec.mlp.dim();
    let learns_noise = spec.likelihood.learns_noise();
    let layout = spec.layout();
    let ev_opts = LaplaceOptions {
        hessian: on.hessian,
        ..o.clone()
    };
    let mut theta = spec.init(&mut rng::stream(seed, 0x1417));
    let warmup = super::point::MeanWarmup::new(spec, train)?;
    warmup.start(&mut theta);
    if learns_noise {
        // σ = 1 on the standardised target: the scale of the data before anything is learned.
        theta[nd] = 0.0;
    }
    let mut model = crate::model::Model::new(spec.clone(), None, data)?;
    let n = model.rows();
    let bs = if train.batch_size == 0 {
        n
    } else {
        train.batch_size.min(n)
    };
    let mut adam = Adam::new(theta.len(), train.learning_rate);
    let mut hyper_adam: Option<Adam> = None;
    let mut grad = vec![0.0; theta.len()];
    let mut r = rng::stream(seed, 0xada);
    let mut losses = Vec::with_capacity(on.epochs);
    let mut steps: Vec<OnlineStep> = Vec::new();
    let mut group_names = Vec::new();
    let mut best: Option<(f64, usize, Vec<f64>, Vec<f64>)> = None;
    let note = "prior precision set by online evidence maximisation during training";
    progress.start(on.epochs as u64, "Adam (online evidence)");
    for epoch in 0..on.epochs {
        if on.cosine {
            adam.lr = train.learning_rate
                * 0.5
                * (1.0 + (std::f64::consts::PI * epoch as f64 / on.epochs as f64).cos());
        }
        let perm = rng::permutation(&mut r, n);
        let mut total = 0.0;
        let mut batches = 0;
        for chunk in perm.chunks(bs) {
            let mut lp = model.logp_grad_batch(&theta, chunk, &mut grad).map_err(|e| {
                Error::Numeric(format!(
                    "online training diverged at epoch {} ({e}); try a smaller training.learning_rate (now {})",
                    epoch + 1,
                    train.learning_rate
                ))
            })?;
            for i in 0..nd {
                let d = theta[i] - loc[i];
                lp -= 0.5 * lam[i] * d * d;
                grad[i] -= lam[i] * d;
            }
            if learns_noise {
                // σ is a hyperparameter here: only the evidence moves it.
                grad[nd] = 0.0;
            }
            warmup.mask(epoch, &mut grad);
            adam.step(&mut theta, &grad);
            total -= lp;
            batches += 1;
        }
        losses.push(total / batches as f64);
        let done = epoch + 1;
        let due = done > on.burn_in
            && ((done - on.burn_in).is_multiple_of(on.frequency) || done == on.epochs);
        if due {
            let ps = per_group_priors(spec, &loc, &lam, priors, note);
            let rp = ps.resolve(&layout, "online tuning")?;
            let mut ev = Evidence::new(spec, &theta, data, &rp, &ev_opts)?;
            let adam_h =
                hyper_adam.get_or_insert_with(|| Adam::new(ev.log_hypers().len(), on.hyper_lr));
            ev.ascend(adam_h, on.hyper_steps)?;
            let le = ev.current()?;
            if !le.is_finite() {
                return Err(Error::Numeric(format!(
                    "the Laplace evidence is not finite at epoch {done} of online tuning"
                )));
            }
            let subset_start = match o.subset {
                Subset::All => 0,
                Subset::LastLayer => last_layer_range(&spec.mlp).start,
            };
            for g in &ev.groups {
                for rg in &g.ranges {
                    for i in rg.clone() {
                        lam[i + subset_start] = g.lambda;
                    }
                }
            }
            if learns_noise {
                theta[nd] = ev.sigma.ln();
            }
            if group_names.is_empty() {
                group_names = ev.groups.iter().map(|g| g.name.clone()).collect();
            }
            steps.push(OnlineStep {
                epoch: done,
                log_evidence: le,
                prior_precision: ev.precisions(),
                sigma: learns_noise.then_some(ev.sigma),
            });
            if best.as_ref().is_none_or(|b| le > b.0) {
                best = Some((le, done, theta.clone(), lam.clone()));
            }
            progress.tick(done as u64, &format!("log evidence {le:.2}"));
        } else {
            progress.tick(done as u64, &format!("loss {:.3}", total / batches as f64));
        }
    }
    progress.finish();
    let Some((best_ev, best_epoch, best_theta, best_lam)) = best else {
        return Err(Error::Invalid(
            "online tuning never evaluated the evidence (online_burn_in ≥ online_epochs)".into(),
        ));
    };
    let ps = per_group_priors(spec, &loc, &best_lam, priors, note);
    Ok((
        PointFit {
            theta: best_theta,
            steps: losses.len(),
            trace: losses,
            early_stopping_epoch: None,
            validation_log_lik: None,
            converged: true,
        },
        ps,
        OnlineOutcome {
            options: on.clone(),
            groups: group_names,
            best_epoch,
            best_log_evidence: best_ev,
            trace: steps,
        },
    ))
}

/// Fits a Laplace approximation: MAP under the configured (Gaussian) prior on standardised
/// `data` (or, with `tune = "online"`, under hyperparameters tuned during training), curvature,
/// evidence tuning, posterior. `fingerprint` names the data in the tuned prior's provenance.
#[allow(clippy::too_many_arguments)]
pub fn fit_laplace(
    spec: &ModelSpec,
    prior_set: &PriorSet,
    priors: &ResolvedPriors,
    data: &Dataset,
    train: &TrainConfig,
    o: &LaplaceOptions,
    seed: u64,
    progress: &dyn Progress,
    fingerprint: &str,
) -> Result<LaplaceFit> {
    lik_kind(spec)?;
    gaussian_prior(spec, priors)?;
    if spec.targets() > 1 && (o.tune == Tune::Online || !priors.hierarchy.is_empty()) {
        return Err(Error::Invalid(format!(
            "--method laplace with {} targets supports tune = \"none\" or \"post-hoc\" without hierarchical priors (σ per target is held at the MAP); {} is not available for several targets",
            spec.targets(),
            if o.tune == Tune::Online {
                "tune = \"online\""
            } else {
                "a hierarchical prior"
            }
        )));
    }
    if !priors.hierarchy.is_empty() {
        if o.tune == Tune::Online {
            return Err(Error::Invalid(
                "tune = \"online\" does not learn hierarchical scales; use tune = \"post-hoc\" (the scales are then learned by MAP ↔ evidence rounds, hierarchy_rounds)".into(),
            ));
        }
        return hier::fit_hierarchical(spec, priors, data, train, o, seed, progress, fingerprint);
    }
    if o.tune == Tune::Online {
        let (map, start, online) = train_online(spec, priors, data, train, o, seed, progress)?;
        let start = start.resolve(&spec.layout(), "online tuning")?;
        return laplace_core(
            spec,
            prior_set,
            priors,
            &start,
            data,
            map,
            o,
            fingerprint,
            Some(online),
        );
    }
    let map = train_point(spec, Some(priors), data, train, seed, progress)?;
    laplace_at(spec, prior_set, priors, data, map, o, fingerprint)
}

/// The Laplace approximation around a given MAP fit (see [`fit_laplace`]).
pub fn laplace_at(
    spec: &ModelSpec,
    prior_set: &PriorSet,
    priors: &ResolvedPriors,
    data: &Dataset,
    map: PointFit,
    o: &LaplaceOptions,
    fingerprint: &str,
) -> Result<LaplaceFit> {
    if o.tune == Tune::Online {
        return Err(Error::Invalid(
            "tune = \"online\" tunes during training; it cannot start from a trained network (use fit_laplace, or tune = \"post-hoc\")".into(),
        ));
    }
    laplace_core(
        spec,
        prior_set,
        priors,
        priors,
        data,
        map,
        o,
        fingerprint,
        None,
    )
}

/// Laplace around `map`; the evidence starts from the precisions of `start` (the configured
/// priors, or those chosen online) and the write-back keeps configured priors from `priors`.
#[allow(clippy::too_many_arguments)]
fn laplace_core(
    spec: &ModelSpec,
    prior_set: &PriorSet,
    priors: &ResolvedPriors,
    start: &ResolvedPriors,
    data: &Dataset,
    map: PointFit,
    o: &LaplaceOptions,
    fingerprint: &str,
    online: Option<OnlineOutcome>,
) -> Result<LaplaceFit> {
    let theta = map.theta.clone();
    let mut ev = Evidence::new(spec, &theta, data, start, o)?;
    let initial = ev.current()?;
    let sigma_map = (ev.kind == LikKind::Gaussian).then_some(ev.sigma);
    let iterations = if o.tune == Tune::PostHoc || (o.tune == Tune::Online && o.online.refine) {
        ev.optimise()?
    } else {
        0
    };
    let final_ev = ev.current()?;
    let subset = match o.subset {
        Subset::All => 0..spec.mlp.dim(),
        Subset::LastLayer => last_layer_range(&spec.mlp),
    };
    let (posterior, jitter) = ev.posterior(&theta, subset.clone(), o, spec)?;
    let how = match &online {
        Some(t) => format!(
            "log evidence {initial:.3} at the hyperparameters chosen online (under {} curvature), {final_ev:.3} here; the network was trained for {} epochs with the prior precision and noise updated every {} epochs by the evidence (Immer et al. 2021) and kept at epoch {} (best evidence)",
            setting_name(&t.options.hessian),
            t.options.epochs,
            t.options.frequency,
            t.best_epoch
        ),
        None => format!(
            "log evidence {initial:.3} at the configured prior, {final_ev:.3} here; the MAP was trained under the configured prior"
        ),
    };
    let tuned_priors = (o.tune != Tune::None).then(|| {
        let mut entries: Vec<Prior> = ev
            .groups
            .iter()
            .map(|g| Prior {
                params: g.name.clone(),
                distribution: Dist::Normal {
                    loc: g.loc,
                    scale: 1.0 / g.lambda.sqrt(),
                },
                provenance: Provenance::factual(
                    format!("empirical Bayes (Laplace evidence) on {fingerprint}"),
                    format!(
                        "prior precision {:.4} maximises the Laplace log marginal likelihood ({}); {how}",
                        g.lambda,
                        o.describe(),
                    ),
                ),
                on: Default::default(),
                per_parameter: None,
                hierarchy: None,
            })
            .collect();
        // Keep the configured priors that still cover groups outside the tuned ones.
        let layout = spec.layout();
        let tuned_layers: Vec<usize> = ev.groups.iter().flat_map(|g| g.layers.clone()).collect();
        for (i, p) in prior_set.priors.iter().enumerate() {
            let covers_other = priors.assignment.iter().any(|(name, j)| {
                *j == i
                    && layout
                        .group(name)
                        .is_some_and(|g| g.kind == GroupKind::Noise || !tuned_layers.contains(&(g.layer - 1)))
            });
            if covers_other {
                entries.push(p.clone());
            }
        }
        PriorSet { priors: entries }
    });
    let mut outcome = LaplaceOutcome::from_evidence(
        map,
        o,
        subset.len(),
        &ev,
        initial,
        final_ev,
        sigma_map,
        iterations,
        jitter,
    );
    outcome.online = online;
    if spec.targets() > 1 && spec.likelihood.learns_noise() {
        outcome.sigmas = Some(spec.log_sigmas(&theta).iter().map(|l| l.exp()).collect());
    }
    Ok(LaplaceFit {
        posterior,
        outcome,
        tuned_priors,
    })
}

/// Dense linear algebra on row-major `Vec<f64>` through `faer`.
mod linalg {
    use faer::{Mat, Side};

    fn to_mat(a: &[f64], n: usize) -> Mat<f64> {
        Mat::from_fn(n, n, |i, j| a[i * n + j])
    }

    /// Lower Cholesky factor (row-major), or None when `a` is not positive definite.
    pub fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
        let m = to_mat(a, n);
        let c = m.cholesky(Side::Lower).ok()?;
        let l = c.compute_l();
        let mut out = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                out[i * n + j] = l.read(i, j);
            }
        }
        out.iter().all(|v| v.is_finite()).then_some(out)
    }

    /// Eigenvalues (ascending) and eigenvectors (column `k` of the row-major matrix) of a
    /// symmetric matrix.
    pub fn sym_eig(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
        let m = to_mat(a, n);
        let e = m.selfadjoint_eigendecomposition(Side::Lower);
        let s = e.s().column_vector();
        let u = e.u();
        let vals = (0..n).map(|i| s.read(i)).collect();
        let mut vecs = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                vecs[i * n + j] = u.read(i, j);
            }
        }
        (vals, vecs)
    }

    /// `U diag(e) Uᵀ`.
    pub fn reconstruct(u: &[f64], e: &[f64], n: usize) -> Vec<f64> {
        let um = to_mat(u, n);
        let d = Mat::from_fn(n, n, |i, j| um.read(i, j) * e[j]);
        let r = &d * um.transpose();
        let mut out = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                out[i * n + j] = 0.5 * (r.read(i, j) + r.read(j, i));
            }
        }
        out
    }

    /// `out += Bᵀ B` for `B` (`rows × p`, row-major).
    pub fn gram_add(b: &[f64], rows: usize, p: usize, out: &mut [f64]) {
        let bm = Mat::from_fn(rows, p, |i, j| b[i * p + j]);
        let g = bm.transpose() * &bm;
        for i in 0..p {
            for j in 0..p {
                out[i * p + j] += g.read(i, j);
            }
        }
    }

    /// Solves `L w = v` for lower-triangular `L` (row-major).
    pub fn solve_lower(l: &[f64], n: usize, v: &[f64]) -> Vec<f64> {
        let mut w = vec![0.0; n];
        for i in 0..n {
            let row = &l[i * n..i * n + i];
            let s: f64 = row.iter().zip(&w[..i]).map(|(a, b)| a * b).sum();
            w[i] = (v[i] - s) / l[i * n + i];
        }
        w
    }

    /// Solves `Lᵀ x = w` for lower-triangular `L` (row-major).
    pub fn solve_upper_t(l: &[f64], n: usize, w: &[f64]) -> Vec<f64> {
        let mut x = w.to_vec();
        for i in (0..n).rev() {
            x[i] /= l[i * n + i];
            let xi = x[i];
            for j in 0..i {
                x[j] -= l[i * n + j] * xi;
            }
        }
        x
    }
}
