//! Adam (Kingma & Ba 2015), ascending a log density.

/// Adam state for one parameter vector.
#[derive(Debug, Clone)]
pub struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
    /// Step size.
    pub lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
}

impl Adam {
    /// New state for `dim` parameters with step size `lr` and the usual β₁ = 0.9, β₂ = 0.999.
    pub fn new(dim: usize, lr: f64) -> Self {
        Adam {
            m: vec![0.0; dim],
            v: vec![0.0; dim],
            t: 0,
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// One ascent step along `grad` (the gradient of the objective to maximise).
    pub fn step(&mut self, theta: &mut [f64], grad: &[f64]) {
        self.t += 1;
        let c1 = 1.0 - self.beta1.powi(self.t);
        let c2 = 1.0 - self.beta2.powi(self.t);
        let a = self.lr * c2.sqrt() / c1;
        for i in 0..theta.len() {
            let g = grad[i];
            self.m[i] = self.beta1 * self.m[i] + (1.0 - self.beta1) * g;
            self.v[i] = self.beta2 * self.v[i] + (1.0 - self.beta2) * g * g;
            theta[i] += a * self.m[i] / (self.v[i].sqrt() + self.eps);
        }
    }
}
