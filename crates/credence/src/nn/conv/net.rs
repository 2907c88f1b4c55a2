//! A convolutional network's architecture: the checked plan built from a [`LayerSpec`] list,
//! its parameter layout (groups named per layer) and initialisation.

use super::ops::{Shape, Window};
use super::spec::{LayerSpec, PoolKind, PoolSpec};
use crate::error::{Error, Result};
use crate::nn::{Activation, GroupKind, ParamGroup, ParamLayout};
use serde::{Deserialize, Serialize};

/// What a planned layer computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Convolution (1-D ones have a window of height 1) over im2col patches.
    Conv(Window),
    /// Average or max pooling over non-overlapping windows.
    Pool(PoolKind, Window),
    /// Global average pooling.
    Global,
    /// Fully connected.
    Dense,
}

/// One planned layer with its shapes and, for conv and dense layers, its parameters' offsets.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// What it computes.
    pub op: Op,
    /// Shape of one example's input.
    pub input: Shape,
    /// Shape of one example's output.
    pub output: Shape,
    /// Activation applied to the output (none for pooling and the output layer).
    pub act: Option<Activation>,
    /// Offset of the weights (`fan_in × out`, row-major) in θ (conv and dense).
    pub w_off: usize,
    /// Offset of the biases in θ (conv and dense).
    pub b_off: usize,
    /// Inputs per output unit: kh·kw·c for a convolution, the input width for a dense layer.
    pub fan_in: usize,
    /// 1-based number among the layers with parameters (0 for pooling).
    pub number: usize,
}

impl Layer {
    /// Whether the layer has weights and biases.
    pub fn has_params(&self) -> bool {
        matches!(self.op, Op::Conv(_) | Op::Dense)
    }

    /// Output units per position (channels or dense width).
    pub fn units(&self) -> usize {
        self.output.c
    }

    /// Output positions per example (1 for dense layers).
    pub fn positions(&self) -> usize {
        self.output.h * self.output.w
    }

    /// Number of weights.
    pub fn weights(&self) -> usize {
        if self.has_params() {
            self.fan_in * self.units()
        } else {
            0
        }
    }

    /// Name prefix of its parameter groups (`conv1`, `dense3`).
    pub fn name(&self) -> String {
        match self.op {
            Op::Conv(_) => format!("conv{}", self.number),
            Op::Dense => format!("dense{}", self.number),
            Op::Pool(..) | Op::Global => String::new(),
        }
    }
}

/// Serialised form of a [`Cnn`]: what a config or a model artifact says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CnnSpec {
    /// Input shape `[channels, height, width]` (images) or `[channels, width]` (signals).
    pub input: Vec<usize>,
    /// Hidden layers, in order; a linear dense output layer of `outputs` units follows them.
    pub layers: Vec<LayerSpec>,
    /// Activation of every conv and dense hidden layer that does not name its own.
    pub activation: Activation,
    /// Network outputs (units of the final linear layer).
    pub outputs: usize,
}

/// A convolutional network over a flat parameter vector: NHWC (NWC for 1-D) inputs, hidden
/// conv/pool/dense layers, then a linear dense output layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CnnSpec", into = "CnnSpec")]
pub struct Cnn {
    spec: CnnSpec,
    plan: Vec<Layer>,
    dim: usize,
}

impl From<Cnn> for CnnSpec {
    fn from(c: Cnn) -> Self {
        c.spec
    }
}

impl TryFrom<CnnSpec> for Cnn {
    type Error = Error;
    fn try_from(s: CnnSpec) -> Result<Self> {
        Cnn::from_spec(s)
    }
}

fn too_large(what: &str) -> Error {
    Error::Invalid(format!("{what}: the network is too large to index"))
}

fn mul(a: usize, b: usize, what: &str) -> Result<usize> {
    a.checked_mul(b).ok_or_else(|| too_large(what))
}

impl Cnn {
    /// Builds and checks a network: `input` is `[channels, height, width]` or `[channels,
    /// width]`, `layers` the hidden layers, `outputs` the width of the linear output layer.
    pub fn new(
        input: &[usize],
        layers: &[LayerSpec],
        activation: Activation,
        outputs: usize,
    ) -> Result<Self> {
        Self::from_spec(CnnSpec {
            input: input.to_vec(),
            layers: layers.to_vec(),
            activation,
            outputs,
        })
    }

    /// [`Cnn::new`] from its serialised form.
    pub fn from_spec(spec: CnnSpec) -> Result<Self> {
        let (mut shape, mut spatial) = match spec.input[..] {
            [c, h, w] => (Shape { h, w, c }, 2),
            [c, w] => (Shape { h: 1, w, c }, 1),
            _ => {
                return Err(Error::Invalid(format!(
                    "input shape {:?}: expected [channels, height, width] or [channels, width]",
                    spec.input
                )))
            }
        };
        if spec.input.contains(&0) {
            return Err(Error::Invalid(format!(
                "input shape {:?}: every dimension must be at least 1",
                spec.input
            )));
        }
        mul(mul(shape.h, shape.w, "input")?, shape.c, "input")?;
        let mut plan = Vec::new();
        let mut at = 0usize;
        let mut number = 0usize;
        let output = LayerSpec::Dense(super::spec::DenseSpec::new(spec.outputs));
        let total = spec.layers.len() + 1;
        for (i, ls) in spec
            .layers
            .iter()
            .chain(std::iter::once(&output))
            .enumerate()
        {
            let last = i + 1 == total;
            let kind = match ls {
                LayerSpec::Conv2d(_) => "conv2d",
                LayerSpec::Conv1d(_) => "conv1d",
                LayerSpec::Pool(_) => "pool",
                LayerSpec::Flatten => "flatten",
                LayerSpec::Dense(_) => "dense",
            };
            let here = if last {
                format!("output layer ({} units)", spec.outputs)
            } else {
                format!("layers[{i}] ({kind})")
            };
            let bad = |msg: String| Error::Invalid(format!("{here}: {msg}"));
            let input = shape;
            let layer = match ls {
                LayerSpec::Conv2d(c) | LayerSpec::Conv1d(c) => {
                    let want = if matches!(ls, LayerSpec::Conv2d(_)) {
                        2
                    } else {
                        1
                    };
                    if spatial != want {
                        return Err(bad(format!(
                            "needs a {want}-D input ({}), but its input is {}",
                            if want == 2 {
                                "[channels, height, width]"
                            } else {
                                "[channels, width]"
                            },
                            match spatial {
                                0 => "a flat vector".to_string(),
                                d => format!("{d}-D"),
                            }
                        )));
                    }
                    if c.out == 0 || c.kernel == 0 || c.stride == 0 {
                        return Err(bad(format!(
                            "out, kernel and stride must be at least 1 (out = {}, kernel = {}, stride = {})",
                            c.out, c.kernel, c.stride
                        )));
                    }
                    let (kh, ph) = if want == 2 {
                        (c.kernel, c.padding)
                    } else {
                        (1, 0)
                    };
                    let win = Window {
                        kh,
                        kw: c.kernel,
                        sh: c.stride,
                        sw: c.stride,
                        ph,
                        pw: c.padding,
                    };
                    let oh = Window::out_len(input.h, kh, c.stride, ph);
                    let ow = Window::out_len(input.w, c.kernel, c.stride, c.padding);
                    let (Some(oh), Some(ow)) = (oh, ow) else {
                        return Err(bad(format!(
                            "kernel {} is larger than its padded input ({}×{} with padding {})",
                            c.kernel, input.h, input.w, c.padding
                        )));
                    };
                    let fan_in = mul(mul(kh, c.kernel, &here)?, input.c, &here)?;
                    number += 1;
                    let output = Shape {
                        h: oh,
                        w: ow,
                        c: c.out,
                    };
                    mul(mul(oh, ow, &here)?, c.out, &here)?;
                    let w_off = at;
                    let b_off = w_off
                        .checked_add(mul(fan_in, c.out, &here)?)
                        .ok_or_else(|| too_large(&here))?;
                    at = b_off.checked_add(c.out).ok_or_else(|| too_large(&here))?;
                    Some(Layer {
                        op: Op::Conv(win),
                        input,
                        output,
                        act: Some(c.activation.unwrap_or(spec.activation)),
                        w_off,
                        b_off,
                        fan_in,
                        number,
                    })
                }
                LayerSpec::Pool(p) => {
                    if spatial == 0 {
                        return Err(bad(
                            "needs a spatial input, but its input is a flat vector".into()
                        ));
                    }
                    match *p {
                        PoolSpec::Global => {
                            spatial = 0;
                            Some(Layer {
                                op: Op::Global,
                                input,
                                output: Shape {
                                    h: 1,
                                    w: 1,
                                    c: input.c,
                                },
                                act: None,
                                w_off: 0,
                                b_off: 0,
                                fan_in: 0,
                                number: 0,
                            })
                        }
                        PoolSpec::Window(kind, k) => {
                            let kh = if spatial == 2 { k } else { 1 };
                            if k == 0 || kh > input.h || k > input.w {
                                return Err(bad(format!(
                                    "window {k} is larger than its input ({}×{})",
                                    input.h, input.w
                                )));
                            }
                            let win = Window {
                                kh,
                                kw: k,
                                sh: kh,
                                sw: k,
                                ph: 0,
                                pw: 0,
                            };
                            Some(Layer {
                                op: Op::Pool(kind, win),
                                input,
                                output: Shape {
                                    h: input.h / kh,
                                    w: input.w / k,
                                    c: input.c,
                                },
                                act: None,
                                w_off: 0,
                                b_off: 0,
                                fan_in: 0,
                                number: 0,
                            })
                        }
                    }
                }
                LayerSpec::Flatten => {
                    spatial = 0;
                    None
                }
                LayerSpec::Dense(d) => {
                    if d.out == 0 {
                        return Err(bad("needs at least 1 unit".into()));
                    }
                    spatial = 0;
                    let fan_in = input.size();
                    number += 1;
                    let w_off = at;
                    let b_off = w_off
                        .checked_add(mul(fan_in, d.out, &here)?)
                        .ok_or_else(|| too_large(&here))?;
                    at = b_off.checked_add(d.out).ok_or_else(|| too_large(&here))?;
                    Some(Layer {
                        op: Op::Dense,
                        input: Shape {
                            h: 1,
                            w: 1,
                            c: fan_in,
                        },
                        output: Shape {
                            h: 1,
                            w: 1,
                            c: d.out,
                        },
                        act: (!last).then(|| d.activation.unwrap_or(spec.activation)),
                        w_off,
                        b_off,
                        fan_in,
                        number,
                    })
                }
            };
            if let Some(l) = layer {
                shape = l.output;
                plan.push(l);
            } else {
                shape = Shape {
                    h: 1,
                    w: 1,
                    c: shape.size(),
                };
            }
            if u32::try_from(shape.size()).is_err() {
                return Err(bad("its output per example exceeds 2³² values".into()));
            }
        }
        Ok(Cnn {
            spec,
            plan,
            dim: at,
        })
    }

    /// The description this network was built from.
    pub fn spec(&self) -> &CnnSpec {
        &self.spec
    }

    /// The planned layers (pooling included, flatten folded away, the output layer last).
    pub fn plan(&self) -> &[Layer] {
        &self.plan
    }

    /// Values per input example (channels × height × width).
    pub fn inputs(&self) -> usize {
        self.plan.first().map_or(0, |l| l.input.size())
    }

    /// Network outputs per example.
    pub fn outputs(&self) -> usize {
        self.spec.outputs
    }

    /// Number of network parameters.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Parameter layout (`conv1.weight`, `conv1.bias`, …, `dense5.bias`), optionally with a
    /// trailing noise parameter. Weights are `fan_in × out`, row-major, with a convolution's
    /// fan-in in (ky, kx, input channel) order.
    pub fn layout(&self, noise: bool) -> ParamLayout {
        let mut groups = Vec::new();
        for l in self.plan.iter().filter(|l| l.has_params()) {
            let name = l.name();
            groups.push(ParamGroup {
                name: format!("{name}.weight"),
                kind: GroupKind::Weight,
                layer: l.number,
                fan_in: l.fan_in,
                start: l.w_off,
                end: l.b_off,
            });
            groups.push(ParamGroup {
                name: format!("{name}.bias"),
                kind: GroupKind::Bias,
                layer: l.number,
                fan_in: l.fan_in,
                start: l.b_off,
                end: l.b_off + l.units(),
            });
        }
        if noise {
            groups.push(ParamGroup::noise(self.dim));
        }
        ParamLayout { groups }
    }

    /// Draws initial parameters: weights N(0, 1/fan_in) (LeCun), biases 0.
    pub fn init(&self, rng: &mut crate::rng::Rng) -> Vec<f64> {
        let mut theta = vec![0.0; self.dim];
        for l in self.plan.iter().filter(|l| l.has_params()) {
            let s = 1.0 / (l.fan_in as f64).sqrt();
            for t in &mut theta[l.w_off..l.b_off] {
                *t = s * crate::rng::normal(rng);
            }
        }
        theta
    }
}
