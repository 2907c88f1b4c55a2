//! Gamma prior on a Poisson rate λ (per unit of exposure): λ | counts ~ Gamma(α + Σx, β + Σt);
//! the predictive of a new count is negative binomial.

use super::{check_positive, cover, density_plot, grid, ln_factorial};
use super::{BayesReport, ParamRow, PredictiveRow, Summary};
use crate::dist::ln_gamma;
use crate::error::{Error, Result};
use crate::prior::Provenance;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Continuous, ContinuousCDF, Gamma};

/// Gamma(shape α, rate β) prior on λ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GammaPoisson {
    /// Shape α (prior pseudo-events).
    pub shape: f64,
    /// Rate β (prior pseudo-exposure).
    pub rate: f64,
    /// Where the prior comes from.
    pub provenance: Provenance,
}

/// Counts, each over an exposure (default 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// Observed counts.
    pub counts: Vec<u64>,
    /// Exposure of each count (time, area, population); all 1 when absent.
    #[serde(default)]
    pub exposure: Option<Vec<f64>>,
    /// Exposure of the predicted new count (default 1).
    #[serde(default = "one")]
    pub predict_exposure: f64,
}

fn one() -> f64 {
    1.0
}

fn gamma(a: f64, b: f64) -> Result<Gamma> {
    Gamma::new(a, b).map_err(|e| Error::Invalid(format!("Gamma({a}, {b}): {e}")))
}

/// Negative-binomial predictive of a count over exposure `t` under Gamma(a, b).
fn predictive(a: f64, b: f64, t: f64) -> Summary {
    let mean = a * t / b;
    let var = mean * (1.0 + t / b);
    let lp = b / (b + t);
    let pmf = |k: u64| {
        let kf = k as f64;
        (ln_gamma(a + kf) - ln_gamma(a) - ln_factorial(k) + a * lp.ln() + kf * (1.0 - lp).ln())
            .exp()
    };
    Summary::of_counts(pmf, mean, var.sqrt())
}

impl GammaPoisson {
    fn exposures(&self, d: &Data) -> Vec<f64> {
        d.exposure
            .clone()
            .unwrap_or_else(|| vec![1.0; d.counts.len()])
    }

    /// Posterior (shape, rate).
    pub fn posterior(&self, d: &Data) -> (f64, f64) {
        let total: u64 = d.counts.iter().sum();
        let t: f64 = self.exposures(d).iter().sum();
        (self.shape + total as f64, self.rate + t)
    }

    /// ln p(x) = Σ[x ln t − ln x!] + α ln β − α' ln β' + ln Γ(α') − ln Γ(α).
    pub fn log_evidence(&self, d: &Data) -> f64 {
        let (a, b) = self.posterior(d);
        let e = self.exposures(d);
        let per: f64 = d
            .counts
            .iter()
            .zip(&e)
            .map(|(&x, &t)| x as f64 * t.ln() - ln_factorial(x))
            .sum();
        per + self.shape * self.rate.ln() - a * b.ln() + ln_gamma(a) - ln_gamma(self.shape)
    }

    /// Closed-form report.
    pub fn report(&self, d: &Data) -> Result<BayesReport> {
        check_positive("prior.shape", self.shape)?;
        check_positive("prior.rate", self.rate)?;
        check_positive("data.predict_exposure", d.predict_exposure)?;
        let e = self.exposures(d);
        if e.len() != d.counts.len() {
            return Err(Error::Invalid(format!(
                "data.exposure has {} values for {} counts",
                e.len(),
                d.counts.len()
            )));
        }
        for (i, &t) in e.iter().enumerate() {
            check_positive(&format!("data.exposure[{i}]"), t)?;
        }
        let (a, b) = self.posterior(d);
        let (pr, po) = (gamma(self.shape, self.rate)?, gamma(a, b)?);
        let total: u64 = d.counts.iter().sum();
        let texp: f64 = e.iter().sum();
        let lik = if texp > 0.0 {
            Some(gamma(total as f64 + 1.0, texp)?)
        } else {
            None
        };
        let lq = |q| lik.as_ref().map_or(a / b, |l| l.inverse_cdf(q));
        let (lo, hi) = cover(&[&|q| pr.inverse_cdf(q), &|q| po.inverse_cdf(q), &lq]);
        let xs = grid(lo.max(0.0), hi, 301);
        let lik_pdf = |x: f64| lik.as_ref().map_or(0.0, |l| l.pdf(x));
        let tp = d.predict_exposure;
        Ok(BayesReport {
            model: "gamma-poisson".into(),
            provenance: self.provenance.clone(),
            prior: format!("λ ~ Gamma(shape {}, rate {})", self.shape, self.rate),
            posterior: format!("λ | data ~ Gamma(shape {a}, rate {b})"),
            data: format!(
                "{} count(s), total {total}, exposure {texp}",
                d.counts.len()
            ),
            params: vec![ParamRow {
                name: "λ".into(),
                prior: Summary::of(&pr, self.shape / self.rate, self.shape.sqrt() / self.rate),
                posterior: Summary::of(&po, a / b, a.sqrt() / b),
            }],
            probabilities: vec![],
            log_evidence: self.log_evidence(d),
            predictive: vec![PredictiveRow {
                what: format!("count over exposure {tp}"),
                prior: predictive(self.shape, self.rate, tp),
                posterior: predictive(a, b, tp),
            }],
            plots: vec![density_plot(
                "Gamma-Poisson: prior, likelihood, posterior of λ",
                "λ (rate per unit exposure)",
                &xs,
                |x| pr.pdf(x),
                lik.as_ref().map(|_| &lik_pdf as &dyn Fn(f64) -> f64),
                |x| po.pdf(x),
            )],
        })
    }
}
