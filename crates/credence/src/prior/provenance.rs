//! Where a prior comes from: evidence (factual), a preference or policy (value), or a default.

use serde::{Deserialize, Serialize};

/// The kind of justification behind a prior.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProvenanceKind {
    /// From evidence: historical data, a base rate, empirical Bayes, a pretrained posterior.
    Factual,
    /// From a preference, policy or ethical weighting.
    Value,
    /// A default chosen by the software or the user without specific evidence.
    Default,
}

impl ProvenanceKind {
    /// The word used in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Factual => "factual",
            Self::Value => "value",
            Self::Default => "default",
        }
    }
}

/// The provenance of a prior: what kind of belief it is, its source and a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Factual, value or default.
    pub kind: ProvenanceKind,
    /// Where it comes from (a dataset, a paper, a policy, "Credence default").
    pub source: String,
    /// Free-form explanation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Who holds the value (for value priors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
}

impl Provenance {
    /// A default provenance with a source and a reason.
    pub fn default_with(source: &str, note: &str) -> Self {
        Provenance {
            kind: ProvenanceKind::Default,
            source: source.into(),
            note: note.into(),
            holder: None,
        }
    }

    /// A factual provenance with a source and a note.
    pub fn factual(source: impl Into<String>, note: impl Into<String>) -> Self {
        Provenance {
            kind: ProvenanceKind::Factual,
            source: source.into(),
            note: note.into(),
            holder: None,
        }
    }

    /// One-line description: `factual: <source> (<note>)`.
    pub fn describe(&self) -> String {
        let mut s = format!("{}: {}", self.kind.as_str(), self.source);
        if let Some(h) = &self.holder {
            s.push_str(&format!(" [held by {h}]"));
        }
        if !self.note.is_empty() {
            s.push_str(&format!(" ({})", self.note));
        }
        s
    }
}
