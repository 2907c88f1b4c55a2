//! Small derivative-free solvers used by elicitation: bisection on a bracketed 1-D root and
//! Nelder–Mead minimisation.

/// Root of `f` on `[lo, hi]` by bisection, given `f(lo)` and `f(hi)` of opposite signs;
/// `None` when they are not.
pub fn bisect(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> Option<f64> {
    let mut flo = f(lo);
    let fhi = f(hi);
    if !(flo.is_finite() && fhi.is_finite()) || flo * fhi > 0.0 {
        return None;
    }
    if flo == 0.0 {
        return Some(lo);
    }
    if fhi == 0.0 {
        return Some(hi);
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        let fm = f(mid);
        if fm == 0.0 {
            return Some(mid);
        }
        if !fm.is_finite() {
            return None;
        }
        if (fm < 0.0) == (flo < 0.0) {
            lo = mid;
            flo = fm;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

/// Finds a sign change of `f` on a log-spaced grid over `[lo, hi]` (both > 0) and bisects it.
pub fn root_on_log_grid(f: impl Fn(f64) -> f64, lo: f64, hi: f64, steps: usize) -> Option<f64> {
    let (a, b) = (lo.ln(), hi.ln());
    let at = |i: usize| (a + (b - a) * i as f64 / steps as f64).exp();
    let mut prev = (at(0), f(at(0)));
    for i in 1..=steps {
        let x = at(i);
        let fx = f(x);
        if prev.1.is_finite() && fx.is_finite() && prev.1 * fx <= 0.0 {
            return bisect(&f, prev.0, x);
        }
        prev = (x, fx);
    }
    None
}

/// Minimises `f` from `start` by Nelder–Mead with initial step `step` per coordinate; restarts
/// from the best point until a restart no longer improves. Returns the point and its value.
pub fn nelder_mead(f: impl Fn(&[f64]) -> f64, start: &[f64], step: f64) -> (Vec<f64>, f64) {
    let g = |x: &[f64]| {
        let v = f(x);
        if v.is_nan() {
            f64::INFINITY
        } else {
            v
        }
    };
    let mut best = start.to_vec();
    let mut fbest = g(&best);
    for _ in 0..6 {
        let (x, fx) = nelder_mead_once(&g, &best, step);
        let improved = fx < fbest - 1e-15 * (1.0 + fbest.abs());
        if fx <= fbest {
            best = x;
            fbest = fx;
        }
        if !improved {
            break;
        }
    }
    (best, fbest)
}

fn nelder_mead_once(f: &impl Fn(&[f64]) -> f64, start: &[f64], step: f64) -> (Vec<f64>, f64) {
    let n = start.len();
    let mut simplex: Vec<Vec<f64>> = vec![start.to_vec()];
    for i in 0..n {
        let mut x = start.to_vec();
        x[i] += step;
        simplex.push(x);
    }
    let mut values: Vec<f64> = simplex.iter().map(|x| f(x)).collect();
    for _ in 0..5000 * n {
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        simplex = order.iter().map(|&i| simplex[i].clone()).collect();
        values = order.iter().map(|&i| values[i]).collect();
        let spread = values[n] - values[0];
        let size = (1..=n)
            .map(|i| {
                simplex[i]
                    .iter()
                    .zip(&simplex[0])
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max)
            })
            .fold(0.0, f64::max);
        if (spread.abs() <= 1e-22 + 1e-15 * values[0].abs() && size < 1e-10) || size < 1e-13 {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|x| x[j]).sum::<f64>() / n as f64)
            .collect();
        let toward = |t: f64| -> Vec<f64> {
            centroid
                .iter()
                .zip(&simplex[n])
                .map(|(c, w)| c + t * (w - c))
                .collect()
        };
        let xr = toward(-1.0);
        let fr = f(&xr);
        if fr < values[0] {
            let xe = toward(-2.0);
            let fe = f(&xe);
            if fe < fr {
                simplex[n] = xe;
                values[n] = fe;
            } else {
                simplex[n] = xr;
                values[n] = fr;
            }
        } else if fr < values[n - 1] {
            simplex[n] = xr;
            values[n] = fr;
        } else {
            let xc = if fr < values[n] {
                toward(-0.5)
            } else {
                toward(0.5)
            };
            let fc = f(&xc);
            if fc < values[n].min(fr) {
                simplex[n] = xc;
                values[n] = fc;
            } else {
                for i in 1..=n {
                    let x: Vec<f64> = simplex[i]
                        .iter()
                        .zip(&simplex[0])
                        .map(|(a, b)| b + 0.5 * (a - b))
                        .collect();
                    values[i] = f(&x);
                    simplex[i] = x;
                }
            }
        }
    }
    let i = (0..=n)
        .min_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap_or(0);
    (simplex[i].clone(), values[i])
}

/// Solves the two equations `f(x) = 0` by Newton's method with a central-difference Jacobian
/// and step halving, from `start`. Returns the point and the residual norm reached.
pub fn newton2(f: impl Fn(&[f64]) -> [f64; 2], start: &[f64]) -> (Vec<f64>, f64) {
    let norm = |r: [f64; 2]| (r[0] * r[0] + r[1] * r[1]).sqrt();
    let mut th = start.to_vec();
    let mut r = f(&th);
    for _ in 0..100 {
        if norm(r) < 1e-15 || !norm(r).is_finite() {
            break;
        }
        let h = 1e-6;
        let mut jac = [[0.0; 2]; 2];
        for j in 0..2 {
            let (mut up, mut dn) = (th.clone(), th.clone());
            up[j] += h;
            dn[j] -= h;
            let (fu, fd) = (f(&up), f(&dn));
            for i in 0..2 {
                jac[i][j] = (fu[i] - fd[i]) / (2.0 * h);
            }
        }
        let det = jac[0][0] * jac[1][1] - jac[0][1] * jac[1][0];
        if det == 0.0 || !det.is_finite() {
            break;
        }
        let step = [
            (jac[1][1] * r[0] - jac[0][1] * r[1]) / det,
            (-jac[1][0] * r[0] + jac[0][0] * r[1]) / det,
        ];
        let mut lambda = 1.0;
        let mut moved = false;
        for _ in 0..40 {
            let cand = vec![th[0] - lambda * step[0], th[1] - lambda * step[1]];
            let rc = f(&cand);
            if norm(rc) < norm(r) {
                th = cand;
                r = rc;
                moved = true;
                break;
            }
            lambda *= 0.5;
        }
        if !moved {
            break;
        }
    }
    (th, norm(r))
}
