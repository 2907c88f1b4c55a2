//! Parameter layout: which range of the flat vector holds which layer's weights or biases.

use serde::{Deserialize, Serialize};
use std::ops::Range;

/// What a parameter group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupKind {
    /// A dense layer's weight matrix (row-major `inputs × outputs`).
    Weight,
    /// A dense layer's bias vector.
    Bias,
    /// The likelihood's noise scale, stored as log σ.
    Noise,
}

/// A named, contiguous range of the flat parameter vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamGroup {
    /// Name used in prior files: `layer1.weight`, `layer1.bias`, …, `noise`.
    pub name: String,
    /// What the group is.
    pub kind: GroupKind,
    /// 1-based layer number (0 for the noise).
    pub layer: usize,
    /// Fan-in of the layer (inputs per unit), 0 for the noise.
    pub fan_in: usize,
    /// Start of the range.
    pub start: usize,
    /// End of the range (exclusive).
    pub end: usize,
}

impl ParamGroup {
    /// The noise group: one log σ at `start`, after the network's parameters.
    pub fn noise(start: usize) -> Self {
        ParamGroup {
            name: "noise".into(),
            kind: GroupKind::Noise,
            layer: 0,
            fan_in: 0,
            start,
            end: start + 1,
        }
    }

    /// The index range in the flat vector.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the group is empty.
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// The layout of a model's flat parameter vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamLayout {
    /// Groups in order; together they cover 0..dim.
    pub groups: Vec<ParamGroup>,
}

impl ParamLayout {
    /// Layout for an MLP with layer widths `sizes`, plus `extra` noise parameters at the end.
    pub fn for_mlp(sizes: &[usize], noise: bool) -> Self {
        let mut groups = Vec::new();
        let mut at = 0;
        for (l, w) in sizes.windows(2).enumerate() {
            let (i, o) = (w[0], w[1]);
            groups.push(ParamGroup {
                name: format!("layer{}.weight", l + 1),
                kind: GroupKind::Weight,
                layer: l + 1,
                fan_in: i,
                start: at,
                end: at + i * o,
            });
            at += i * o;
            groups.push(ParamGroup {
                name: format!("layer{}.bias", l + 1),
                kind: GroupKind::Bias,
                layer: l + 1,
                fan_in: i,
                start: at,
                end: at + o,
            });
            at += o;
        }
        if noise {
            groups.push(ParamGroup::noise(at));
        }
        ParamLayout { groups }
    }

    /// Total number of parameters.
    pub fn dim(&self) -> usize {
        self.groups.last().map_or(0, |g| g.end)
    }

    /// The group with this name.
    pub fn group(&self, name: &str) -> Option<&ParamGroup> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// Number of network parameters (everything before the noise).
    pub fn network_dim(&self) -> usize {
        self.groups
            .iter()
            .filter(|g| g.kind != GroupKind::Noise)
            .map(|g| g.end)
            .max()
            .unwrap_or(0)
    }
}
