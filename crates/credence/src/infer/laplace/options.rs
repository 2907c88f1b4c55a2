//! Laplace settings: the option types and their reading from the `[inference]` table.

use super::*;

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

pub(super) fn pick<T: Copy>(
    key: &str,
    value: &str,
    choices: &[(&str, T)],
) -> std::result::Result<T, String> {
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
pub(super) const HESSIAN_CHOICES: &[(&str, HessianStructure)] = &[
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
        let st = crate::infer::settings::Settings::new(t, file);
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
pub(super) fn setting_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
