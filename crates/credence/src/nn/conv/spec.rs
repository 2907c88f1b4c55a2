//! The layer description of a convolutional network as written in configs:
//! `layers = [ {conv2d = {out = 6, kernel = 5}}, {pool = "avg2"}, "flatten", {dense = 84} ]`.

use super::super::Activation;
use serde::{Deserialize, Serialize};

/// One layer of a convolutional network's description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum LayerSpec {
    /// 2-D convolution over an NHWC input (`[channels, height, width]`).
    Conv2d(ConvSpec),
    /// 1-D convolution over an NWC input (`[channels, width]`).
    Conv1d(ConvSpec),
    /// Average, max or global-average pooling.
    Pool(PoolSpec),
    /// Flattens a spatial input into one feature vector (implicit before a dense layer).
    Flatten,
    /// Fully connected layer.
    Dense(DenseSpec),
}

fn one() -> usize {
    1
}

/// A convolution: output channels, square kernel, stride and zero padding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvSpec {
    /// Output channels.
    pub out: usize,
    /// Kernel size (height and width for 2-D).
    pub kernel: usize,
    /// Stride (default 1).
    #[serde(default = "one")]
    pub stride: usize,
    /// Zero padding on each side (default 0).
    #[serde(default)]
    pub padding: usize,
    /// Activation of this layer (default: the network's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
}

impl ConvSpec {
    /// A convolution with stride 1, no padding and the network's activation.
    pub fn new(out: usize, kernel: usize) -> Self {
        ConvSpec {
            out,
            kernel,
            stride: 1,
            padding: 0,
            activation: None,
        }
    }

    /// The same with stride and padding set.
    pub fn with(mut self, stride: usize, padding: usize) -> Self {
        self.stride = stride;
        self.padding = padding;
        self
    }
}

/// Kind of pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// Mean over each window.
    Avg,
    /// Maximum over each window.
    Max,
}

/// Pooling, written as a string: `"avg2"`, `"max3"` (window = stride = the number) or `"global"`
/// (global average over all positions, giving one value per channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PoolSpec {
    /// Non-overlapping window of this size (and stride).
    Window(PoolKind, usize),
    /// Global average pooling.
    Global,
}

impl TryFrom<String> for PoolSpec {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        PoolSpec::parse(&s).ok_or_else(|| {
            format!(
                "pool \"{s}\": expected \"avgN\" or \"maxN\" (N ≥ 1, e.g. \"avg2\") or \"global\""
            )
        })
    }
}

impl From<PoolSpec> for String {
    fn from(p: PoolSpec) -> String {
        match p {
            PoolSpec::Window(PoolKind::Avg, n) => format!("avg{n}"),
            PoolSpec::Window(PoolKind::Max, n) => format!("max{n}"),
            PoolSpec::Global => "global".into(),
        }
    }
}

impl PoolSpec {
    /// Parses `"avg2"`, `"max3"`, `"global"`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        if s == "global" || s == "globalavg" || s == "global_avg" {
            return Some(PoolSpec::Global);
        }
        let (kind, n) = if let Some(n) = s.strip_prefix("avg") {
            (PoolKind::Avg, n)
        } else if let Some(n) = s.strip_prefix("max") {
            (PoolKind::Max, n)
        } else {
            return None;
        };
        let n: usize = n.parse().ok()?;
        (n >= 1).then_some(PoolSpec::Window(kind, n))
    }
}

/// A dense layer: `{dense = 84}` or `{dense = {out = 84, activation = "relu"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "DenseRepr", into = "DenseRepr")]
pub struct DenseSpec {
    /// Output units.
    pub out: usize,
    /// Activation of this layer (default: the network's).
    pub activation: Option<Activation>,
}

impl DenseSpec {
    /// A dense layer with the network's activation.
    pub fn new(out: usize) -> Self {
        DenseSpec {
            out,
            activation: None,
        }
    }
}

/// How a dense layer may be written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum DenseRepr {
    Units(usize),
    Full {
        out: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        activation: Option<Activation>,
    },
}

impl From<DenseRepr> for DenseSpec {
    fn from(r: DenseRepr) -> Self {
        match r {
            DenseRepr::Units(out) => DenseSpec {
                out,
                activation: None,
            },
            DenseRepr::Full { out, activation } => DenseSpec { out, activation },
        }
    }
}

impl From<DenseSpec> for DenseRepr {
    fn from(d: DenseSpec) -> Self {
        match d.activation {
            None => DenseRepr::Units(d.out),
            Some(a) => DenseRepr::Full {
                out: d.out,
                activation: Some(a),
            },
        }
    }
}
