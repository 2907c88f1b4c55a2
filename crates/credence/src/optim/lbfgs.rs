//! Limited-memory BFGS with a backtracking (Armijo) line search, minimising a smooth function.

use crate::error::Result;

/// Outcome of an L-BFGS run.
#[derive(Debug, Clone)]
pub struct LbfgsResult {
    /// Minimiser found.
    pub x: Vec<f64>,
    /// Objective there.
    pub value: f64,
    /// Iterations used.
    pub iterations: usize,
    /// Whether the tolerance was met (rather than the iteration limit).
    pub converged: bool,
}

/// An objective that writes its gradient into the second argument and returns its value.
pub type Objective<'a> = dyn FnMut(&[f64], &mut [f64]) -> Result<f64> + 'a;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Minimises `f` (which writes its gradient into the second argument) from `x0`.
pub fn lbfgs(
    f: &mut Objective<'_>,
    x0: &[f64],
    max_iter: usize,
    tol: f64,
    history: usize,
) -> Result<LbfgsResult> {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g)?;
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut dir = vec![0.0; n];
    let mut xn = vec![0.0; n];
    let mut gn = vec![0.0; n];
    let mut alpha = vec![0.0; history];
    for it in 0..max_iter {
        let gnorm = dot(&g, &g).sqrt();
        if gnorm < 1e-12 {
            return Ok(LbfgsResult {
                x,
                value: fx,
                iterations: it,
                converged: true,
            });
        }
        // Two-loop recursion: dir = −H g.
        dir.copy_from_slice(&g);
        let k = s_hist.len();
        for i in (0..k).rev() {
            let rho = 1.0 / dot(&y_hist[i], &s_hist[i]);
            alpha[i] = rho * dot(&s_hist[i], &dir);
            for (d, y) in dir.iter_mut().zip(&y_hist[i]) {
                *d -= alpha[i] * y;
            }
        }
        let gamma = if k > 0 {
            dot(&s_hist[k - 1], &y_hist[k - 1]) / dot(&y_hist[k - 1], &y_hist[k - 1])
        } else {
            1.0 / gnorm.max(1.0)
        };
        dir.iter_mut().for_each(|d| *d *= gamma);
        for i in 0..k {
            let rho = 1.0 / dot(&y_hist[i], &s_hist[i]);
            let b = rho * dot(&y_hist[i], &dir);
            for (d, s) in dir.iter_mut().zip(&s_hist[i]) {
                *d += (alpha[i] - b) * s;
            }
        }
        dir.iter_mut().for_each(|d| *d = -*d);
        let mut slope = dot(&g, &dir);
        if slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            for (d, gi) in dir.iter_mut().zip(&g) {
                *d = -gi / gnorm.max(1.0);
            }
            slope = dot(&g, &dir);
        }
        // Backtracking line search with the Armijo condition.
        let mut step = 1.0;
        let mut fnew = f64::INFINITY;
        let mut accepted = false;
        for _ in 0..40 {
            for i in 0..n {
                xn[i] = x[i] + step * dir[i];
            }
            match f(&xn, &mut gn) {
                Ok(v) if v <= fx + 1e-4 * step * slope => {
                    fnew = v;
                    accepted = true;
                    break;
                }
                _ => step *= 0.5,
            }
        }
        if !accepted {
            return Ok(LbfgsResult {
                x,
                value: fx,
                iterations: it,
                converged: false,
            });
        }
        let s: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        if dot(&s, &y) > 1e-12 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() {
            if s_hist.len() == history {
                s_hist.remove(0);
                y_hist.remove(0);
            }
            s_hist.push(s);
            y_hist.push(y);
        }
        let done = (fx - fnew).abs() <= tol * fx.abs().max(1.0);
        x.copy_from_slice(&xn);
        g.copy_from_slice(&gn);
        fx = fnew;
        if done {
            return Ok(LbfgsResult {
                x,
                value: fx,
                iterations: it + 1,
                converged: true,
            });
        }
    }
    Ok(LbfgsResult {
        x,
        value: fx,
        iterations: max_iter,
        converged: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_rosenbrock() {
        let mut f = |x: &[f64], g: &mut [f64]| -> Result<f64> {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            Ok((1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2))
        };
        let r = lbfgs(&mut f, &[-1.2, 1.0], 1000, 1e-14, 10).unwrap();
        assert!(
            (r.x[0] - 1.0).abs() < 1e-5 && (r.x[1] - 1.0).abs() < 1e-5,
            "{:?}",
            r.x
        );
    }
}
