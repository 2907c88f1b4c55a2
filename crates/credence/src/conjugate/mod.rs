//! Bayes' rule in closed form: conjugate models whose posterior, evidence (marginal likelihood)
//! and posterior predictive are exact. They sit beside the network models as the place where a
//! user sees the prior, the likelihood and the posterior side by side, with the prior's
//! provenance attached, and as exact references for approximate inference.
//!
//! A model file (TOML) names the model, its prior (with `provenance`) and the data:
//!
//! ```toml
//! model = "beta-binomial"
//! [prior]
//! alpha = 1.0
//! beta = 1.0
//! provenance = { kind = "default", source = "uniform prior" }
//! [data]
//! successes = 3
//! trials = 10
//! ```

pub mod beta_binomial;
pub mod diagnostic;
pub mod dirichlet_multinomial;
pub mod gamma_poisson;
pub mod linear_regression;
pub mod normal_inverse_gamma;
pub mod normal_known;

use crate::error::{Error, Result};
use crate::plot::LinePlot;
use crate::prior::Provenance;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Level of every credible and predictive interval reported.
pub const LEVEL: f64 = 0.95;

/// Mean, standard deviation and central `LEVEL` interval of a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (infinite where it does not exist).
    pub sd: f64,
    /// Lower end of the central interval.
    pub lo: f64,
    /// Upper end of the central interval.
    pub hi: f64,
}

impl Summary {
    /// Summary of a continuous `statrs` distribution.
    pub fn of<D>(d: &D, mean: f64, sd: f64) -> Self
    where
        D: statrs::distribution::ContinuousCDF<f64, f64>,
    {
        let a = 0.5 * (1.0 - LEVEL);
        Summary {
            mean,
            sd,
            lo: d.inverse_cdf(a),
            hi: d.inverse_cdf(1.0 - a),
        }
    }

    /// Summary of a distribution over 0, 1, 2, … given its probability mass function.
    pub fn of_counts(pmf: impl Fn(u64) -> f64, mean: f64, sd: f64) -> Self {
        let a = 0.5 * (1.0 - LEVEL);
        let (mut cum, mut k, mut lo) = (0.0, 0u64, None);
        let limit = (mean + 60.0 * sd.max(1.0)).ceil() as u64 + 10;
        while k <= limit {
            cum += pmf(k);
            if lo.is_none() && cum > a {
                lo = Some(k);
            }
            if cum >= 1.0 - a {
                break;
            }
            k += 1;
        }
        Summary {
            mean,
            sd,
            lo: lo.unwrap_or(0) as f64,
            hi: k as f64,
        }
    }
}

/// A parameter's prior and posterior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamRow {
    /// Parameter name.
    pub name: String,
    /// Under the prior.
    pub prior: Summary,
    /// Under the posterior.
    pub posterior: Summary,
}

/// A predictive quantity: prior predictive and posterior predictive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictiveRow {
    /// What is predicted.
    pub what: String,
    /// Before seeing the data.
    pub prior: Summary,
    /// After seeing the data.
    pub posterior: Summary,
}

/// The result of Bayes' rule on one model and data set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BayesReport {
    /// Model name.
    pub model: String,
    /// Where the prior comes from.
    pub provenance: Provenance,
    /// The prior, in words.
    pub prior: String,
    /// The posterior, in words.
    pub posterior: String,
    /// The data, in words.
    pub data: String,
    /// Per-parameter prior and posterior summaries.
    pub params: Vec<ParamRow>,
    /// Named probabilities (for example P(disease | positive)).
    pub probabilities: Vec<(String, f64)>,
    /// Natural log of the evidence p(data) under the prior.
    pub log_evidence: f64,
    /// Prior and posterior predictive of new observations.
    pub predictive: Vec<PredictiveRow>,
    /// Prior / likelihood / posterior density plots (not serialised).
    #[serde(skip)]
    pub plots: Vec<LinePlot>,
}

/// A conjugate model file, parsed.
#[derive(Debug, Clone)]
pub enum ModelFile {
    /// Beta prior on a probability, binomial counts.
    BetaBinomial(beta_binomial::BetaBinomial, beta_binomial::Data),
    /// Normal prior on a mean, normal observations with known standard deviation.
    NormalKnown(normal_known::NormalKnown, normal_known::Data),
    /// Normal-inverse-gamma prior on mean and variance of normal observations.
    NormalInverseGamma(
        normal_inverse_gamma::NormalInverseGamma,
        normal_inverse_gamma::Data,
    ),
    /// Gamma prior on a Poisson rate.
    GammaPoisson(gamma_poisson::GammaPoisson, gamma_poisson::Data),
    /// Dirichlet prior on category probabilities, multinomial counts.
    DirichletMultinomial(
        dirichlet_multinomial::DirichletMultinomial,
        dirichlet_multinomial::Data,
    ),
    /// Normal-inverse-gamma prior on regression coefficients and noise variance.
    LinearRegression(linear_regression::LinearRegression, linear_regression::Data),
    /// A binary condition with a base-rate prior and a test of stated sensitivity and specificity.
    Diagnostic(diagnostic::Diagnostic, diagnostic::Data),
}

/// The model names accepted in files.
pub const MODELS: [&str; 7] = [
    "beta-binomial",
    "normal-known-variance",
    "normal-inverse-gamma",
    "gamma-poisson",
    "dirichlet-multinomial",
    "linear-regression",
    "diagnostic-test",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    model: String,
    prior: toml::Value,
    data: toml::Value,
}

fn section<T: serde::de::DeserializeOwned>(file: &str, name: &str, v: toml::Value) -> Result<T> {
    v.try_into().map_err(|e: toml::de::Error| Error::Config {
        file: file.into(),
        message: format!("[{name}]: {}", e.to_string().trim_end()),
    })
}

impl ModelFile {
    /// Reads and checks a model file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parses model-file text; `file` names the source in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self> {
        let raw: RawFile = toml::from_str(text).map_err(|e| Error::Config {
            file: file.into(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let m = match raw.model.as_str() {
            "beta-binomial" => Self::BetaBinomial(
                section(file, "prior", raw.prior)?,
                section(file, "data", raw.data)?,
            ),
            "normal-known-variance" => Self::NormalKnown(
                section(file, "prior", raw.prior)?,
                section(file, "data", raw.data)?,
            ),
            "normal-inverse-gamma" => Self::NormalInverseGamma(
                section(file, "prior", raw.prior)?,
                section(file, "data", raw.data)?,
            ),
            "gamma-poisson" => Self::GammaPoisson(
                section(file, "prior", raw.prior)?,
                section(file, "data", raw.data)?,
            ),
            "dirichlet-multinomial" => Self::DirichletMultinomial(
                section(file, "prior", raw.prior)?,
                section(file, "data", raw.data)?,
            ),
            "linear-regression" => Self::LinearRegression(
                section(file, "prior", raw.prior)?,
                section(file, "data", raw.data)?,
            ),
            "diagnostic-test" => Self::Diagnostic(
                section(file, "prior", raw.prior)?,
                section(file, "data", raw.data)?,
            ),
            other => {
                return Err(Error::Config {
                    file: file.into(),
                    message: format!(
                        "unknown model '{other}'; expected one of: {}",
                        MODELS.join(", ")
                    ),
                })
            }
        };
        let prov = m.provenance();
        if prov.source.trim().is_empty() {
            return Err(Error::Config {
                file: file.into(),
                message: "[prior] provenance.source is empty; say where the prior comes from"
                    .into(),
            });
        }
        m.report().map_err(|e| match e {
            Error::Invalid(msg) => Error::Config {
                file: file.into(),
                message: msg,
            },
            e => e,
        })?;
        Ok(m)
    }

    /// The prior's provenance.
    pub fn provenance(&self) -> &Provenance {
        match self {
            Self::BetaBinomial(p, _) => &p.provenance,
            Self::NormalKnown(p, _) => &p.provenance,
            Self::NormalInverseGamma(p, _) => &p.provenance,
            Self::GammaPoisson(p, _) => &p.provenance,
            Self::DirichletMultinomial(p, _) => &p.provenance,
            Self::LinearRegression(p, _) => &p.provenance,
            Self::Diagnostic(p, _) => &p.provenance,
        }
    }

    /// Applies Bayes' rule and summarises prior, posterior, evidence and predictive.
    pub fn report(&self) -> Result<BayesReport> {
        match self {
            Self::BetaBinomial(p, d) => p.report(d),
            Self::NormalKnown(p, d) => p.report(d),
            Self::NormalInverseGamma(p, d) => p.report(d),
            Self::GammaPoisson(p, d) => p.report(d),
            Self::DirichletMultinomial(p, d) => p.report(d),
            Self::LinearRegression(p, d) => p.report(d),
            Self::Diagnostic(p, d) => p.report(d),
        }
    }
}

/// Checks that a named value is positive and finite.
pub(crate) fn check_positive(name: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{name} must be a positive finite number, found {v}"
        )))
    }
}

/// Checks that every value is finite.
pub(crate) fn check_finite(name: &str, v: &[f64]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(Error::Invalid(format!(
            "{name}[{i}] must be a finite number, found {}",
            v[i]
        ))),
        None => Ok(()),
    }
}

/// `n` equally spaced points from `lo` to `hi`.
pub(crate) fn grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect()
}

/// A density plot of prior, (normalised) likelihood and posterior over one parameter.
pub(crate) fn density_plot(
    title: &str,
    x_label: &str,
    xs: &[f64],
    prior: impl Fn(f64) -> f64,
    likelihood: Option<&dyn Fn(f64) -> f64>,
    posterior: impl Fn(f64) -> f64,
) -> LinePlot {
    use crate::plot::Series;
    let curve = |f: &dyn Fn(f64) -> f64| xs.iter().map(|&x| (x, f(x))).collect::<Vec<_>>();
    let mut series = vec![Series::line("prior", curve(&prior)).dashed()];
    if let Some(l) = likelihood {
        series.push(Series::line("likelihood (normalised)", curve(l)));
    }
    series.push(Series::line("posterior", curve(&posterior)));
    LinePlot {
        title: title.into(),
        x_label: x_label.into(),
        y_label: "density".into(),
        series,
    }
}

/// Range covering the central 99.8% of each given distribution (by quantile functions).
pub(crate) fn cover(qs: &[&dyn Fn(f64) -> f64]) -> (f64, f64) {
    let lo = qs.iter().map(|q| q(0.001)).fold(f64::INFINITY, f64::min);
    let hi = qs
        .iter()
        .map(|q| q(0.999))
        .fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

/// ln B(a, b).
pub(crate) fn ln_beta(a: f64, b: f64) -> f64 {
    use crate::dist::ln_gamma;
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// ln n! for a count.
pub(crate) fn ln_factorial(n: u64) -> f64 {
    crate::dist::ln_gamma(n as f64 + 1.0)
}

/// Plain-text table of a report (what `credence bayes` prints).
pub fn format_report(r: &BayesReport) -> String {
    let mut s = String::new();
    let f = |x: f64| {
        if x.is_finite() && (x.abs() >= 1e5 || (x != 0.0 && x.abs() < 1e-3)) {
            format!("{x:.4e}")
        } else {
            format!("{x:.4}")
        }
    };
    s.push_str(&format!("model:      {}\n", r.model));
    s.push_str(&format!("prior:      {}\n", r.prior));
    s.push_str(&format!("provenance: {}\n", r.provenance.describe()));
    s.push_str(&format!("data:       {}\n", r.data));
    s.push_str(&format!("posterior:  {}\n", r.posterior));
    if !r.params.is_empty() {
        s.push_str(&format!(
            "\n{:<14} {:>34}   {:>34}\n",
            "parameter", "prior mean ± sd [95% interval]", "posterior mean ± sd [95% interval]"
        ));
        for p in &r.params {
            let cell =
                |q: &Summary| format!("{} ± {} [{}, {}]", f(q.mean), f(q.sd), f(q.lo), f(q.hi));
            s.push_str(&format!(
                "{:<14} {:>34}   {:>34}\n",
                p.name,
                cell(&p.prior),
                cell(&p.posterior)
            ));
        }
    }
    if !r.probabilities.is_empty() {
        s.push('\n');
        for (name, v) in &r.probabilities {
            s.push_str(&format!("{name:<40} {}\n", f(*v)));
        }
    }
    s.push_str(&format!(
        "\nlog evidence ln p(data) = {} (p(data) = {})\n",
        f(r.log_evidence),
        f(r.log_evidence.exp())
    ));
    if !r.predictive.is_empty() {
        s.push_str(&format!(
            "\n{:<28} {:>34}   {:>34}\n",
            "predictive", "prior predictive", "posterior predictive"
        ));
        for p in &r.predictive {
            let cell =
                |q: &Summary| format!("{} ± {} [{}, {}]", f(q.mean), f(q.sd), f(q.lo), f(q.hi));
            s.push_str(&format!(
                "{:<28} {:>34}   {:>34}\n",
                p.what,
                cell(&p.prior),
                cell(&p.posterior)
            ));
        }
    }
    s
}
