//! A binary condition (disease or not) with a base-rate prior and conditionally independent test
//! results of stated sensitivity and specificity: Bayes' rule over two states.
//! P(D | +) = sens·π / (sens·π + (1 − spec)(1 − π)), P(D | −) = (1 − sens)π / ((1 − sens)π + spec(1 − π)).

use super::{BayesReport, ParamRow, Summary};
use crate::error::{Error, Result};
use crate::plot::{LinePlot, Series};
use crate::prior::Provenance;
use serde::{Deserialize, Serialize};

/// Prior probability of the condition (the base rate) and the test's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diagnostic {
    /// Prior probability π of the condition (prevalence in the population the person is from).
    pub prevalence: f64,
    /// P(positive | condition).
    pub sensitivity: f64,
    /// P(negative | no condition).
    pub specificity: f64,
    /// Where the prior (the base rate) comes from.
    pub provenance: Provenance,
}

/// The observed results, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// "positive" or "negative", one per (conditionally independent) test.
    pub results: Vec<String>,
}

fn prob(name: &str, v: f64) -> Result<()> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{name} must be a probability in [0, 1], found {v}"
        )))
    }
}

fn bernoulli(p: f64) -> Summary {
    Summary {
        mean: p,
        sd: (p * (1.0 - p)).sqrt(),
        lo: f64::from(u8::from(p > 0.975)),
        hi: f64::from(u8::from(p >= 0.025)),
    }
}

impl Diagnostic {
    /// (P(result | condition), P(result | no condition)) of one result.
    fn likelihoods(&self, result: &str) -> Result<(f64, f64)> {
        match result {
            "positive" | "+" => Ok((self.sensitivity, 1.0 - self.specificity)),
            "negative" | "-" => Ok((1.0 - self.sensitivity, self.specificity)),
            other => Err(Error::Invalid(format!(
                "data.results: '{other}' is not a test result; use \"positive\" or \"negative\""
            ))),
        }
    }

    /// P(condition | results) and ln P(results).
    pub fn posterior(&self, results: &[String]) -> Result<(f64, f64)> {
        let (mut ld, mut lh) = (self.prevalence.ln(), (1.0 - self.prevalence).ln());
        for r in results {
            let (a, b) = self.likelihoods(r)?;
            ld += a.ln();
            lh += b.ln();
        }
        let m = ld.max(lh);
        let log_ev = m + ((ld - m).exp() + (lh - m).exp()).ln();
        Ok(((ld - log_ev).exp(), log_ev))
    }

    /// Closed-form report.
    pub fn report(&self, d: &Data) -> Result<BayesReport> {
        prob("prior.prevalence", self.prevalence)?;
        prob("prior.sensitivity", self.sensitivity)?;
        prob("prior.specificity", self.specificity)?;
        let (post, log_ev) = self.posterior(&d.results)?;
        if !post.is_finite() {
            return Err(Error::Invalid(
                "the observed results are impossible under this prior and test (probability 0)"
                    .into(),
            ));
        }
        let pos = self.posterior(&["positive".to_string()])?.0;
        let neg = self.posterior(&["negative".to_string()])?.0;
        let p_pos =
            self.sensitivity * self.prevalence + (1.0 - self.specificity) * (1.0 - self.prevalence);
        // Plot: probability of each state (0 = no condition, 1 = condition) before and after,
        // with the likelihood of the results normalised over the two states.
        let mut lik = (1.0f64, 1.0f64);
        for r in &d.results {
            let (a, b) = self.likelihoods(r)?;
            lik = (lik.0 * a, lik.1 * b);
        }
        let ls = lik.0 + lik.1;
        let bars = |p1: f64| vec![(0.0, 1.0 - p1), (1.0, p1)];
        let plot = LinePlot {
            title: "Diagnostic test: P(state) before and after the results".into(),
            x_label: "state (0 = no condition, 1 = condition)".into(),
            y_label: "probability".into(),
            series: vec![
                Series::line("prior (base rate)", bars(self.prevalence)).dashed(),
                Series::line("likelihood (normalised)", bars(lik.0 / ls)),
                Series::line("posterior", bars(post)),
            ],
        };
        let mut probabilities = vec![
            ("P(condition | positive)".to_string(), pos),
            ("P(condition | negative)".to_string(), neg),
            ("P(positive) before testing".to_string(), p_pos),
        ];
        if d.results.len() != 1 {
            probabilities.push((format!("P(condition | {})", d.results.join(", ")), post));
        }
        Ok(BayesReport {
            model: "diagnostic-test".into(),
            provenance: self.provenance.clone(),
            prior: format!(
                "P(condition) = {} (base rate); test sensitivity {}, specificity {}",
                self.prevalence, self.sensitivity, self.specificity
            ),
            posterior: format!("P(condition | {}) = {post:.6}", d.results.join(", ")),
            data: format!("results: {}", d.results.join(", ")),
            params: vec![ParamRow {
                name: "condition".into(),
                prior: bernoulli(self.prevalence),
                posterior: bernoulli(post),
            }],
            probabilities,
            log_evidence: log_ev,
            predictive: vec![],
            plots: vec![plot],
        })
    }
}
