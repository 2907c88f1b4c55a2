//! Beta prior on a probability θ, binomial data: θ | k of n ~ Beta(α + k, β + n − k).

use super::{check_positive, cover, density_plot, grid, ln_beta, ln_factorial};
use super::{BayesReport, ParamRow, PredictiveRow, Summary};
use crate::error::{Error, Result};
use crate::prior::Provenance;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Beta, Continuous, ContinuousCDF};

/// Beta(α, β) prior on a success probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BetaBinomial {
    /// Prior pseudo-successes α.
    pub alpha: f64,
    /// Prior pseudo-failures β.
    pub beta: f64,
    /// Where the prior comes from.
    pub provenance: Provenance,
}

/// Binomial data, and how many future trials to predict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// Successes observed.
    pub successes: u64,
    /// Trials observed.
    pub trials: u64,
    /// Future trials whose success count is predicted (default 1).
    #[serde(default = "one")]
    pub predict_trials: u64,
}

fn one() -> u64 {
    1
}

fn beta(a: f64, b: f64) -> Result<Beta> {
    Beta::new(a, b).map_err(|e| Error::Invalid(format!("Beta({a}, {b}): {e}")))
}

fn beta_summary(a: f64, b: f64) -> Result<Summary> {
    let s = a + b;
    let sd = (a * b / (s * s * (s + 1.0))).sqrt();
    Ok(Summary::of(&beta(a, b)?, a / s, sd))
}

/// Beta-binomial predictive of the successes in `m` trials under Beta(a, b).
fn predictive(a: f64, b: f64, m: u64) -> Summary {
    let s = a + b;
    let mf = m as f64;
    let mean = mf * a / s;
    let var = mf * a * b * (s + mf) / (s * s * (s + 1.0));
    let pmf = |k: u64| {
        if k > m {
            return 0.0;
        }
        (ln_factorial(m) - ln_factorial(k) - ln_factorial(m - k)
            + ln_beta(a + k as f64, b + (m - k) as f64)
            - ln_beta(a, b))
        .exp()
    };
    Summary::of_counts(pmf, mean, var.sqrt())
}

impl BetaBinomial {
    /// Posterior parameters (α + k, β + n − k).
    pub fn posterior(&self, d: &Data) -> (f64, f64) {
        (
            self.alpha + d.successes as f64,
            self.beta + (d.trials - d.successes) as f64,
        )
    }

    /// ln p(k | n) = ln C(n, k) + ln B(α + k, β + n − k) − ln B(α, β).
    pub fn log_evidence(&self, d: &Data) -> f64 {
        let (a, b) = self.posterior(d);
        ln_factorial(d.trials) - ln_factorial(d.successes) - ln_factorial(d.trials - d.successes)
            + ln_beta(a, b)
            - ln_beta(self.alpha, self.beta)
    }

    /// Posterior predictive probability that the next trial succeeds.
    pub fn prob_next_success(&self, d: &Data) -> f64 {
        let (a, b) = self.posterior(d);
        a / (a + b)
    }

    /// Closed-form report.
    pub fn report(&self, d: &Data) -> Result<BayesReport> {
        check_positive("prior.alpha", self.alpha)?;
        check_positive("prior.beta", self.beta)?;
        if d.successes > d.trials {
            return Err(Error::Invalid(format!(
                "data.successes ({}) exceeds data.trials ({})",
                d.successes, d.trials
            )));
        }
        let (a, b) = self.posterior(d);
        let (pr, po) = (beta(self.alpha, self.beta)?, beta(a, b)?);
        let (k, n) = (d.successes as f64, d.trials as f64);
        let lik = beta(k + 1.0, n - k + 1.0)?;
        let (lo, hi) = cover(&[&|p| pr.inverse_cdf(p), &|p| po.inverse_cdf(p)]);
        let xs = grid(lo.max(0.0), hi.min(1.0), 301);
        let m = d.predict_trials;
        Ok(BayesReport {
            model: "beta-binomial".into(),
            provenance: self.provenance.clone(),
            prior: format!("θ ~ Beta({}, {})", self.alpha, self.beta),
            posterior: format!("θ | data ~ Beta({a}, {b})"),
            data: format!("{} successes in {} trials", d.successes, d.trials),
            params: vec![ParamRow {
                name: "θ".into(),
                prior: beta_summary(self.alpha, self.beta)?,
                posterior: beta_summary(a, b)?,
            }],
            probabilities: vec![(
                "P(next trial succeeds | data)".into(),
                self.prob_next_success(d),
            )],
            log_evidence: self.log_evidence(d),
            predictive: vec![PredictiveRow {
                what: format!("successes in {m} new trial(s)"),
                prior: predictive(self.alpha, self.beta, m),
                posterior: predictive(a, b, m),
            }],
            plots: vec![density_plot(
                "Beta-binomial: prior, likelihood, posterior",
                "θ (success probability)",
                &xs,
                |x| pr.pdf(x),
                Some(&|x| lik.pdf(x)),
                |x| po.pdf(x),
            )],
        })
    }
}
