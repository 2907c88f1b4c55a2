//! Dirichlet prior on category probabilities p, multinomial counts: p | c ~ Dirichlet(α + c).
//! Each pₖ is marginally Beta(αₖ, A − αₖ) with A = Σα.

use super::{check_positive, density_plot, grid, ln_factorial};
use super::{BayesReport, ParamRow, Summary};
use crate::dist::ln_gamma;
use crate::error::{Error, Result};
use crate::prior::Provenance;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Beta, Continuous};

/// Dirichlet(α) prior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirichletMultinomial {
    /// Concentrations αₖ (prior pseudo-counts), one per category.
    pub alpha: Vec<f64>,
    /// Category names (default: 0, 1, 2, …).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Where the prior comes from.
    pub provenance: Provenance,
}

/// Counts per category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// Observed count of each category.
    pub counts: Vec<u64>,
}

fn beta(a: f64, b: f64) -> Result<Beta> {
    Beta::new(a, b).map_err(|e| Error::Invalid(format!("Beta({a}, {b}): {e}")))
}

fn marginal(a: f64, total: f64) -> Result<Summary> {
    let b = total - a;
    let sd = (a * b / (total * total * (total + 1.0))).sqrt();
    Ok(Summary::of(&beta(a, b)?, a / total, sd))
}

impl DirichletMultinomial {
    /// Posterior concentrations α + c.
    pub fn posterior(&self, d: &Data) -> Vec<f64> {
        self.alpha
            .iter()
            .zip(&d.counts)
            .map(|(a, &c)| a + c as f64)
            .collect()
    }

    /// ln p(c) = ln(N!/Πcₖ!) + ln Γ(A) − ln Γ(A + N) + Σ[ln Γ(αₖ + cₖ) − ln Γ(αₖ)].
    pub fn log_evidence(&self, d: &Data) -> f64 {
        let n: u64 = d.counts.iter().sum();
        let a: f64 = self.alpha.iter().sum();
        let mut v = ln_factorial(n) + ln_gamma(a) - ln_gamma(a + n as f64);
        for (al, &c) in self.alpha.iter().zip(&d.counts) {
            v += ln_gamma(al + c as f64) - ln_gamma(*al) - ln_factorial(c);
        }
        v
    }

    /// Posterior predictive probability of each category for the next draw.
    pub fn predictive(&self, d: &Data) -> Vec<f64> {
        let post = self.posterior(d);
        let s: f64 = post.iter().sum();
        post.iter().map(|a| a / s).collect()
    }

    fn name(&self, k: usize) -> String {
        self.categories
            .get(k)
            .cloned()
            .unwrap_or_else(|| k.to_string())
    }

    /// Closed-form report.
    pub fn report(&self, d: &Data) -> Result<BayesReport> {
        if self.alpha.len() < 2 {
            return Err(Error::Invalid(
                "prior.alpha needs at least two categories".into(),
            ));
        }
        for (k, &a) in self.alpha.iter().enumerate() {
            check_positive(&format!("prior.alpha[{k}]"), a)?;
        }
        if d.counts.len() != self.alpha.len() {
            return Err(Error::Invalid(format!(
                "data.counts has {} categories, prior.alpha has {}",
                d.counts.len(),
                self.alpha.len()
            )));
        }
        if !self.categories.is_empty() && self.categories.len() != self.alpha.len() {
            return Err(Error::Invalid(format!(
                "prior.categories names {} categories, prior.alpha has {}",
                self.categories.len(),
                self.alpha.len()
            )));
        }
        let post = self.posterior(d);
        let (a0, a1): (f64, f64) = (self.alpha.iter().sum(), post.iter().sum());
        let n: u64 = d.counts.iter().sum();
        let mut params = Vec::new();
        let mut plots = Vec::new();
        let xs = grid(0.0005, 0.9995, 401);
        for (k, (&ak, &pk)) in self.alpha.iter().zip(&post).enumerate() {
            params.push(ParamRow {
                name: format!("p[{}]", self.name(k)),
                prior: marginal(ak, a0)?,
                posterior: marginal(pk, a1)?,
            });
            let (pr, po) = (beta(ak, a0 - ak)?, beta(pk, a1 - pk)?);
            let c = d.counts[k] as f64;
            let lik = beta(c + 1.0, n as f64 - c + 1.0)?;
            plots.push(density_plot(
                &format!("p[{}]: marginal prior, likelihood, posterior", self.name(k)),
                &format!("p[{}]", self.name(k)),
                &xs,
                |x| pr.pdf(x),
                Some(&|x| lik.pdf(x)),
                |x| po.pdf(x),
            ));
        }
        let fmt = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Ok(BayesReport {
            model: "dirichlet-multinomial".into(),
            provenance: self.provenance.clone(),
            prior: format!("p ~ Dirichlet({})", fmt(&self.alpha)),
            posterior: format!("p | data ~ Dirichlet({})", fmt(&post)),
            data: format!("counts {:?} (total {n})", d.counts),
            params,
            probabilities: self
                .predictive(d)
                .into_iter()
                .enumerate()
                .map(|(k, p)| (format!("P(next is {} | data)", self.name(k)), p))
                .collect(),
            log_evidence: self.log_evidence(d),
            predictive: vec![],
            plots,
        })
    }
}
