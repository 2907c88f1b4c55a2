//! The curvature at the MAP: which likelihood, the curvature factors per row, KFAC blocks,
//! the prior-precision groups and the Gaussian prior they start from.

use super::*;

/// The likelihoods Laplace supports, with what the curvature needs of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum LikKind {
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

pub(super) fn lik_kind(spec: &ModelSpec) -> Result<LikKind> {
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
pub(super) enum Curv {
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
pub(super) struct KfacBlock {
    pub(super) layer: usize,
    /// Start in subset coordinates.
    pub(super) start: usize,
    pub(super) qa: Vec<f64>,
    pub(super) da: Vec<f64>,
    pub(super) qg: Vec<f64>,
    pub(super) dg: Vec<f64>,
    /// Curvature scale s(σ) and prior precision (set when the posterior is built).
    pub(super) scale: f64,
    pub(super) lambda: f64,
}

impl KfacBlock {
    pub(super) fn ka(&self) -> usize {
        self.da.len()
    }
    pub(super) fn m(&self) -> usize {
        self.dg.len()
    }
    pub(super) fn len(&self) -> usize {
        self.ka() * self.m()
    }
    pub(super) fn den(&self, a: usize, g: usize) -> f64 {
        self.scale * self.da[a] * self.dg[g] + self.lambda
    }
    /// `Q_Aᵀ J Q_G` for `J` (`ka × m`, row-major).
    pub(super) fn rotate(&self, j: &[f64]) -> Vec<f64> {
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
pub(super) struct HyperGroup {
    pub(super) name: String,
    pub(super) ranges: Vec<Range<usize>>,
    /// Layers (0-based) it covers.
    pub(super) layers: Vec<usize>,
    pub(super) lambda: f64,
    pub(super) loc: f64,
    pub(super) count: usize,
    /// Σ (θ* − loc)² over the group.
    pub(super) sq: f64,
}

/// Per-parameter Normal prior (loc, precision) of the network parameters; an error names the
/// first group whose prior is not Normal. Per-parameter priors (a transferred posterior) give
/// each parameter its own loc and precision.
pub(super) fn gaussian_prior(
    spec: &ModelSpec,
    priors: &ResolvedPriors,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let layout = spec.layout();
    let nd = spec.net.dim();
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
pub(super) fn curvature_factors(
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
