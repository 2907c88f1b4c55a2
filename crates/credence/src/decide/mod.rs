//! Decisions: value priors (costs, losses, criteria weights) kept apart from the factual model.
//! The posterior predictive says what is likely; a decision file says what we care about; the
//! Bayes action minimises posterior expected loss. Last stop of the flow: predictive → decision.

mod rules;
mod spec;

pub use rules::{decide, flip_share, Decision, DecisionSummary};
pub use spec::{CostMatrix, Criterion, DecisionSpec, RegressionLoss};
