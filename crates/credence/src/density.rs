//! The one trait that samplers and optimisers see: an unnormalised log density over a flat
//! parameter vector, with its gradient.

use crate::error::Result;

/// An unnormalised log density over a flat parameter vector, with its gradient.
pub trait LogDensity {
    /// Number of parameters.
    fn dim(&self) -> usize;
    /// Writes ∇ log p(θ) into `grad` and returns log p(θ). Non-finite values are errors.
    fn logp_grad(&mut self, theta: &[f64], grad: &mut [f64]) -> Result<f64>;
}

/// Checks that a log density value and its gradient are finite.
pub fn check_finite(value: f64, grad: &[f64]) -> Result<f64> {
    if !value.is_finite() {
        return Err(crate::Error::Numeric(format!(
            "log density is {value} (not finite)"
        )));
    }
    if let Some(i) = grad.iter().position(|g| !g.is_finite()) {
        return Err(crate::Error::Numeric(format!(
            "gradient component {i} is {} (not finite)",
            grad[i]
        )));
    }
    Ok(value)
}

/// Central finite-difference gradient of `f` at `theta` (for tests and checks).
pub fn finite_difference_grad<D: LogDensity + ?Sized>(
    density: &mut D,
    theta: &[f64],
    step: f64,
) -> Result<Vec<f64>> {
    let n = density.dim();
    let mut scratch = vec![0.0; n];
    let mut x = theta.to_vec();
    let mut out = vec![0.0; n];
    for i in 0..n {
        let h = step * (1.0 + theta[i].abs());
        x[i] = theta[i] + h;
        let fp = density.logp_grad(&x, &mut scratch)?;
        x[i] = theta[i] - h;
        let fm = density.logp_grad(&x, &mut scratch)?;
        x[i] = theta[i];
        out[i] = (fp - fm) / (2.0 * h);
    }
    Ok(out)
}
