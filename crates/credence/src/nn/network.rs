//! The network of a model: a dense [`Mlp`] or a convolutional [`Cnn`], behind one API that the
//! model, the samplers, the Laplace curvature (`network_curvature`) and prediction use.

use super::conv::{Cnn, CnnWorkspace, Op};
use super::simd::Real;
use super::{Activation, Mlp, ParamLayout, RowObjectivePar, Workspace};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// A model's network. Serialised externally tagged in lowercase, so a model file reads
/// `{"mlp": {...}}` or `{"cnn": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// Dense multilayer perceptron.
    Mlp(Mlp),
    /// Convolutional network.
    Cnn(Cnn),
}

impl From<Mlp> for Network {
    fn from(m: Mlp) -> Self {
        Network::Mlp(m)
    }
}

impl From<Cnn> for Network {
    fn from(c: Cnn) -> Self {
        Network::Cnn(c)
    }
}

/// Buffers of a [`Network`] for one batch size (`f64` by default; the engine also runs in `f32`).
#[derive(Debug, Clone)]
pub enum NetWorkspace<T: Real = f64> {
    /// An MLP's workspace.
    Mlp(Workspace<T>),
    /// A CNN's workspace.
    Cnn(CnnWorkspace<T>),
}

impl<T: Real> Default for NetWorkspace<T> {
    fn default() -> Self {
        NetWorkspace::Mlp(Workspace::default())
    }
}

impl<T: Real> NetWorkspace<T> {
    /// Rows the buffers currently hold.
    pub fn rows(&self) -> usize {
        match self {
            NetWorkspace::Mlp(w) => w.rows(),
            NetWorkspace::Cnn(w) => w.rows(),
        }
    }

    /// Network output of the last forward pass (`rows × outputs`, row-major).
    pub fn output(&self) -> &[T] {
        match self {
            NetWorkspace::Mlp(w) => w.output(),
            NetWorkspace::Cnn(w) => w.output(),
        }
    }

    /// Network output (read) and the output-gradient buffer (write), borrowed together.
    pub fn output_and_grad(&mut self) -> (&[T], &mut [T]) {
        match self {
            NetWorkspace::Mlp(w) => w.output_and_grad(),
            NetWorkspace::Cnn(w) => w.output_and_grad(),
        }
    }

    /// Caps the threads of the gradient's parallel paths; `1` forces one, `0` the default.
    pub fn set_max_threads(&mut self, threads: usize) {
        match self {
            NetWorkspace::Mlp(w) => w.set_max_threads(threads),
            NetWorkspace::Cnn(w) => w.set_max_threads(threads),
        }
    }

    /// The MLP workspace, if this is one.
    pub fn as_mlp_mut(&mut self) -> Option<&mut Workspace<T>> {
        match self {
            NetWorkspace::Mlp(w) => Some(w),
            NetWorkspace::Cnn(_) => None,
        }
    }

    /// The CNN workspace, if this is one.
    pub fn as_cnn_mut(&mut self) -> Option<&mut CnnWorkspace<T>> {
        match self {
            NetWorkspace::Mlp(_) => None,
            NetWorkspace::Cnn(w) => Some(w),
        }
    }
}

impl Network {
    /// `"mlp"` or `"cnn"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Network::Mlp(_) => "mlp",
            Network::Cnn(_) => "cnn",
        }
    }

    /// The MLP, if this is one.
    pub fn as_mlp(&self) -> Option<&Mlp> {
        match self {
            Network::Mlp(m) => Some(m),
            Network::Cnn(_) => None,
        }
    }

    /// The CNN, if this is one.
    pub fn as_cnn(&self) -> Option<&Cnn> {
        match self {
            Network::Mlp(_) => None,
            Network::Cnn(c) => Some(c),
        }
    }

    /// Number of network parameters.
    pub fn dim(&self) -> usize {
        match self {
            Network::Mlp(m) => m.dim(),
            Network::Cnn(c) => c.dim(),
        }
    }

    /// Values per input example.
    pub fn inputs(&self) -> usize {
        match self {
            Network::Mlp(m) => m.inputs(),
            Network::Cnn(c) => c.inputs(),
        }
    }

    /// Network outputs per example.
    pub fn outputs(&self) -> usize {
        match self {
            Network::Mlp(m) => m.outputs(),
            Network::Cnn(c) => c.outputs(),
        }
    }

    /// The network's (default) hidden activation.
    pub fn activation(&self) -> Activation {
        match self {
            Network::Mlp(m) => m.activation,
            Network::Cnn(c) => c.spec().activation,
        }
    }

    /// One line describing the architecture (`mlp [13, 50, 1] tanh`, `cnn [1, 8, 8] → conv2d …`).
    pub fn describe(&self) -> String {
        match self {
            Network::Mlp(m) => format!("mlp {:?} {}", m.sizes, m.activation.name()),
            Network::Cnn(c) => {
                let s = c.spec();
                let layers: Vec<String> = c
                    .plan()
                    .iter()
                    .map(|l| match l.op {
                        Op::Conv(w) => format!("{}({}, {}×{})", l.name(), l.units(), w.kh, w.kw),
                        Op::Pool(k, w) => format!("{k:?}pool{}", w.kw).to_lowercase(),
                        Op::Global => "globalpool".into(),
                        Op::Dense => format!("{}({})", l.name(), l.units()),
                    })
                    .collect();
                format!(
                    "cnn {:?} → {} {}",
                    s.input,
                    layers.join(" → "),
                    s.activation.name()
                )
            }
        }
    }

    /// Parameter layout, optionally with a trailing noise parameter.
    pub fn layout(&self, noise: bool) -> ParamLayout {
        match self {
            Network::Mlp(m) => m.layout(noise),
            Network::Cnn(c) => c.layout(noise),
        }
    }

    /// Draws initial parameters: weights N(0, 1/fan_in) (LeCun), biases 0.
    pub fn init(&self, rng: &mut crate::rng::Rng) -> Vec<f64> {
        match self {
            Network::Mlp(m) => m.init(rng),
            Network::Cnn(c) => c.init(rng),
        }
    }

    /// Range of the output layer's parameters (weights and biases) in θ.
    pub fn last_layer_range(&self) -> Range<usize> {
        match self {
            Network::Mlp(m) => super::curvature::last_layer_range(m),
            Network::Cnn(c) => c.plan().last().map_or(0..0, |l| l.w_off..c.dim()),
        }
    }

    /// A workspace sized for `rows` rows.
    pub fn workspace(&self, rows: usize) -> NetWorkspace {
        self.workspace_of(rows)
    }

    /// A workspace sized for `rows` rows, in element type `T` (`f64` or `f32`).
    pub fn workspace_of<T: Real>(&self, rows: usize) -> NetWorkspace<T> {
        match self {
            Network::Mlp(m) => NetWorkspace::Mlp(m.workspace_of(rows)),
            Network::Cnn(c) => NetWorkspace::Cnn(c.workspace_of(rows)),
        }
    }

    /// Makes `ws` a workspace of this kind of network (an empty one when it was the other kind).
    pub fn fit_workspace<T: Real>(&self, ws: &mut NetWorkspace<T>) {
        match (self, &*ws) {
            (Network::Mlp(_), NetWorkspace::Mlp(_)) | (Network::Cnn(_), NetWorkspace::Cnn(_)) => {}
            (Network::Mlp(_), NetWorkspace::Cnn(_)) => {
                *ws = NetWorkspace::Mlp(Workspace::default())
            }
            (Network::Cnn(_), NetWorkspace::Mlp(_)) => {
                *ws = NetWorkspace::Cnn(CnnWorkspace::default())
            }
        }
    }

    /// Forward pass on `rows` rows of `x` (row-major); the output is `ws.output()`.
    pub fn forward<T: Real>(&self, theta: &[T], x: &[T], rows: usize, ws: &mut NetWorkspace<T>) {
        self.fit_workspace(ws);
        match (self, ws) {
            (Network::Mlp(m), NetWorkspace::Mlp(w)) => m.forward(theta, x, rows, w),
            (Network::Cnn(c), NetWorkspace::Cnn(w)) => c.forward(theta, x, rows, w),
            _ => {}
        }
    }

    /// Reverse pass after [`Network::forward`] with the same workspace: adds to `grad` the
    /// gradient of Σ out_grad·output with respect to the network parameters.
    pub fn backward<T: Real>(
        &self,
        theta: &[T],
        x: &[T],
        rows: usize,
        ws: &mut NetWorkspace<T>,
        grad: &mut [T],
    ) {
        match (self, ws) {
            (Network::Mlp(m), NetWorkspace::Mlp(w)) => m.backward(theta, x, rows, w, grad),
            (Network::Cnn(c), NetWorkspace::Cnn(w)) => c.backward(theta, x, rows, w, grad),
            _ => debug_assert!(false, "backward with another network's workspace"),
        }
    }

    /// Whether [`Network::grad_chunked`] pays for `rows` rows (more than one chunk; for an MLP,
    /// also one its fused path does not take).
    pub fn chunks(&self, rows: usize) -> bool {
        match self {
            Network::Mlp(m) => m.chunks(rows),
            Network::Cnn(c) => rows > c.chunk(),
        }
    }

    /// Forward pass, per-row objective and reverse pass chunk by chunk (see
    /// [`Mlp::grad_chunked`] and [`Cnn::grad_chunked`]); returns the summed objective and extra
    /// gradient. Afterwards `ws.output()` holds every row's outputs.
    pub fn grad_chunked<T: Real>(
        &self,
        theta: &[T],
        x: &[T],
        rows: usize,
        ws: &mut NetWorkspace<T>,
        grad: &mut [T],
        objective: &RowObjectivePar<'_, T>,
    ) -> (f64, f64) {
        self.fit_workspace(ws);
        match (self, ws) {
            (Network::Mlp(m), NetWorkspace::Mlp(w)) => {
                m.grad_chunked(theta, x, rows, w, grad, objective)
            }
            (Network::Cnn(c), NetWorkspace::Cnn(w)) => {
                c.grad_chunked(theta, x, rows, w, grad, objective)
            }
            _ => (0.0, 0.0),
        }
    }

    /// Forward pass with dropout on every hidden layer's output (channels of a conv layer, units
    /// of a dense one; inverted scaling; see [`Mlp::forward_dropout`] and
    /// [`Cnn::forward_dropout`]); [`Network::backward`] afterwards gives the thinned network's
    /// gradient.
    #[allow(clippy::too_many_arguments)]
    pub fn forward_dropout(
        &self,
        theta: &[f64],
        x: &[f64],
        rows: usize,
        ws: &mut NetWorkspace,
        rate: f64,
        rng: &mut crate::rng::Rng,
    ) {
        self.fit_workspace(ws);
        match (self, ws) {
            (Network::Mlp(m), NetWorkspace::Mlp(w)) => {
                m.forward_dropout(theta, x, rows, w, rate, rng)
            }
            (Network::Cnn(c), NetWorkspace::Cnn(w)) => {
                c.forward_dropout(theta, x, rows, w, rate, rng)
            }
            _ => {}
        }
    }

    /// Whether dropout has a hidden layer to act on.
    pub fn has_hidden(&self) -> bool {
        match self {
            Network::Mlp(m) => m.layers() >= 2,
            Network::Cnn(c) => (0..c.plan().len()).any(|i| c.drops(i)),
        }
    }

    /// Weight ranges in θ whose inputs pass through dropout (every layer with parameters after
    /// the first): where Gal & Ghahramani's (1 − p) prior factor applies.
    pub fn dropout_fed_weights(&self) -> Vec<Range<usize>> {
        match self {
            Network::Mlp(m) => (1..m.layers())
                .map(|l| {
                    let (wo, bo) = m.offsets(l);
                    wo..bo
                })
                .collect(),
            Network::Cnn(c) => c.dropout_fed_weights(),
        }
    }

    /// Network outputs for `rows` rows (allocates a workspace; for prediction, not hot loops).
    pub fn predict(&self, theta: &[f64], x: &[f64], rows: usize) -> Vec<f64> {
        match self {
            Network::Mlp(m) => m.predict(theta, x, rows),
            Network::Cnn(c) => c.predict(theta, x, rows),
        }
    }

    /// Network outputs under each of S parameter vectors at the same rows, written into `out`
    /// (`S × rows × outputs`, sample-major); samples run in parallel (rayon).
    pub fn forward_many<P: AsRef<[f64]> + Sync>(
        &self,
        thetas: &[P],
        x: &[f64],
        rows: usize,
        out: &mut [f64],
    ) {
        use rayon::prelude::*;
        if let Network::Mlp(m) = self {
            return m.forward_many(thetas, x, rows, out);
        }
        let per = rows * self.outputs();
        if per == 0 {
            return;
        }
        let out = &mut out[..per * thetas.len()];
        out.par_chunks_mut(per)
            .zip(thetas.par_iter())
            .for_each_init(
                || self.workspace(rows),
                |ws, (o, th)| {
                    self.forward(th.as_ref(), x, rows, ws);
                    o.copy_from_slice(ws.output());
                },
            );
    }

    /// [`Network::forward_many`] into a new vector (`S × rows × outputs`).
    pub fn predict_many<P: AsRef<[f64]> + Sync>(
        &self,
        thetas: &[P],
        x: &[f64],
        rows: usize,
    ) -> Vec<f64> {
        let mut out = vec![0.0; thetas.len() * rows * self.outputs()];
        self.forward_many(thetas, x, rows, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::LayerSpec;

    #[test]
    fn serialises_tagged_by_kind() {
        let m: Network = Mlp::new(vec![3, 4, 1], Activation::Tanh).into();
        let j = serde_json::to_value(&m).unwrap();
        assert_eq!(j["mlp"]["sizes"], serde_json::json!([3, 4, 1]));
        assert_eq!(serde_json::from_value::<Network>(j).unwrap(), m);
        let layers: Vec<LayerSpec> =
            serde_json::from_str(r#"[{"conv2d": {"out": 2, "kernel": 3}}, {"pool": "avg2"}]"#)
                .unwrap();
        let c: Network = Cnn::new(&[1, 8, 8], &layers, Activation::Relu, 3)
            .unwrap()
            .into();
        let j = serde_json::to_value(&c).unwrap();
        assert!(j.get("cnn").is_some());
        assert_eq!(serde_json::from_value::<Network>(j).unwrap(), c);
    }

    #[test]
    fn last_layer_is_the_output_layer() {
        let layers = vec![LayerSpec::Conv2d(crate::nn::conv::ConvSpec::new(2, 3))];
        let c: Network = Cnn::new(&[1, 6, 6], &layers, Activation::Tanh, 2)
            .unwrap()
            .into();
        assert_eq!(c.last_layer_range(), (2 * 9 + 2)..c.dim());
    }
}
