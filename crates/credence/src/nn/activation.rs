//! Activation functions with their derivatives, applied in one fused pass.

use serde::{Deserialize, Serialize};

/// A hidden-layer activation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Hyperbolic tangent.
    Tanh,
    /// Rectified linear unit.
    Relu,
    /// Logistic sigmoid.
    Sigmoid,
    /// log(1 + eˣ).
    Softplus,
    /// Gaussian error linear unit, x·Φ(x) (exact, with erf).
    Gelu,
}

impl Activation {
    /// All activations, for table-driven tests.
    pub const ALL: [Activation; 5] = [
        Activation::Tanh,
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Softplus,
        Activation::Gelu,
    ];

    /// Parses a name as written in configs and on the command line.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "tanh" => Some(Self::Tanh),
            "relu" => Some(Self::Relu),
            "sigmoid" => Some(Self::Sigmoid),
            "softplus" => Some(Self::Softplus),
            "gelu" => Some(Self::Gelu),
            _ => None,
        }
    }

    /// The name as written in configs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tanh => "tanh",
            Self::Relu => "relu",
            Self::Sigmoid => "sigmoid",
            Self::Softplus => "softplus",
            Self::Gelu => "gelu",
        }
    }

    /// Value and derivative at one point.
    #[inline]
    pub fn eval(self, x: f64) -> (f64, f64) {
        match self {
            Self::Tanh => {
                let t = x.tanh();
                (t, 1.0 - t * t)
            }
            Self::Relu => {
                if x > 0.0 {
                    (x, 1.0)
                } else {
                    (0.0, 0.0)
                }
            }
            Self::Sigmoid => {
                let s = sigmoid(x);
                (s, s * (1.0 - s))
            }
            Self::Softplus => (softplus(x), sigmoid(x)),
            Self::Gelu => {
                let cdf = 0.5 * (1.0 + libm::erf(x * std::f64::consts::FRAC_1_SQRT_2));
                let pdf = (-0.5 * x * x).exp() * 0.398_942_280_401_432_7;
                (x * cdf, cdf + x * pdf)
            }
        }
    }

    /// Applies the activation in place to `z` and writes the derivative into `d`.
    pub fn apply(self, z: &mut [f64], d: &mut [f64]) {
        match self {
            Self::Tanh => {
                for (zi, di) in z.iter_mut().zip(d.iter_mut()) {
                    let t = zi.tanh();
                    *zi = t;
                    *di = 1.0 - t * t;
                }
            }
            Self::Relu => {
                for (zi, di) in z.iter_mut().zip(d.iter_mut()) {
                    let pos = *zi > 0.0;
                    *di = f64::from(u8::from(pos));
                    *zi = if pos { *zi } else { 0.0 };
                }
            }
            _ => {
                for (zi, di) in z.iter_mut().zip(d.iter_mut()) {
                    let (v, g) = self.eval(*zi);
                    *zi = v;
                    *di = g;
                }
            }
        }
    }
}

/// Numerically stable logistic sigmoid.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Numerically stable log(1 + eˣ).
#[inline]
pub fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}
