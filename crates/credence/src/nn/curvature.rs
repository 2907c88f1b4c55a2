//! Curvature of the network output from the same engine: Jacobian-vector and vector-Jacobian
//! products, per-sample gradients and Jacobians, generalised Gauss-Newton (GGN) products and
//! diagonals, and Kronecker factors per layer (KFAC). Laplace approximations are built on these.
//!
//! Every function here runs after [`Mlp::forward`] on the same θ and inputs, reading the
//! workspace's stored layer outputs and activation derivatives.
//!
//! Notation: `f_n` is the network output at row n (`K` values), `J_n = ∂f_n/∂θ` (`K × P`).
//! A "factor" `u` is a `rows × K` matrix; the curvature it defines is `Σ_n (J_nᵀ u_n)(J_nᵀ u_n)ᵀ`.
//! The GGN `Σ_n J_nᵀ H_n J_n` is the sum of such terms over the columns of a square root
//! `H_n = Σ_c u_{c,n} u_{c,n}ᵀ`; the empirical Fisher is one factor, the per-row gradient of the
//! log likelihood with respect to the output.

use super::kernels::{affine, affine_backward_input};
use super::{Mlp, Workspace};
use std::ops::Range;

/// The parameter range of the last dense layer (weights then bias).
pub fn last_layer_range(mlp: &Mlp) -> Range<usize> {
    let l = mlp.layers() - 1;
    mlp.offsets(l).0..mlp.dim()
}

/// Input of layer `l` as stored by the last forward pass (`x` for the first layer).
fn layer_input<'a>(x: &'a [f64], ws: &'a Workspace, l: usize) -> &'a [f64] {
    if l == 0 {
        x
    } else {
        ws.hidden(l - 1)
    }
}

/// Back-propagates `u` (`rows × outputs`) to every layer's pre-activation: entry `l` is
/// `δ_l = ∂(Σ_n u_n·f_n)/∂z_l` per row (`rows × sizes[l+1]`), without summing over rows.
pub fn backprop_deltas(
    mlp: &Mlp,
    theta: &[f64],
    rows: usize,
    ws: &Workspace,
    u: &[f64],
) -> Vec<Vec<f64>> {
    let layers = mlp.layers();
    let mut deltas = vec![Vec::new(); layers];
    deltas[layers - 1] = u[..rows * mlp.outputs()].to_vec();
    for l in (1..layers).rev() {
        let (k, m) = (mlp.sizes[l], mlp.sizes[l + 1]);
        let (wo, _) = mlp.offsets(l);
        let mut prev = vec![0.0; rows * k];
        affine_backward_input(&deltas[l], &theta[wo..wo + k * m], rows, k, m, &mut prev);
        for (d, der) in prev.iter_mut().zip(ws.hidden_derivative(l - 1)) {
            *d *= der;
        }
        deltas[l - 1] = prev;
    }
    deltas
}

/// Jacobian-vector product: the directional derivative of the output along `v` (`dim()`
/// entries), `rows × outputs`.
pub fn jvp(
    mlp: &Mlp,
    theta: &[f64],
    x: &[f64],
    rows: usize,
    ws: &Workspace,
    v: &[f64],
) -> Vec<f64> {
    let layers = mlp.layers();
    let mut tangent: Vec<f64> = Vec::new();
    for l in 0..layers {
        let (k, m) = (mlp.sizes[l], mlp.sizes[l + 1]);
        let (wo, bo) = mlp.offsets(l);
        let input = layer_input(x, ws, l);
        // dz = input · dW + db (+ d input · W below).
        let mut dz = vec![0.0; rows * m];
        affine(input, rows, k, &v[wo..wo + k * m], &v[bo..bo + m], &mut dz);
        if l > 0 {
            let zeros = vec![0.0; m];
            let mut extra = vec![0.0; rows * m];
            affine(
                &tangent,
                rows,
                k,
                &theta[wo..wo + k * m],
                &zeros,
                &mut extra,
            );
            for (a, b) in dz.iter_mut().zip(&extra) {
                *a += b;
            }
        }
        if l + 1 < layers {
            for (a, d) in dz.iter_mut().zip(ws.hidden_derivative(l)) {
                *a *= d;
            }
        }
        tangent = dz;
    }
    tangent
}

/// Vector-Jacobian product: `Σ_n J_nᵀ u_n` (`dim()` entries) for `u` of shape `rows × outputs`.
pub fn vjp(
    mlp: &Mlp,
    theta: &[f64],
    x: &[f64],
    rows: usize,
    ws: &mut Workspace,
    u: &[f64],
) -> Vec<f64> {
    ws.out_grad[..u.len()].copy_from_slice(u);
    let mut g = vec![0.0; mlp.dim()];
    mlp.backward(theta, x, rows, ws, &mut g);
    g
}

/// Per-sample vector-Jacobian products `J_nᵀ u_n`, restricted to the parameter `range`:
/// `rows × range.len()`, row-major.
pub fn per_sample_grads(
    mlp: &Mlp,
    theta: &[f64],
    x: &[f64],
    rows: usize,
    ws: &Workspace,
    u: &[f64],
    range: Range<usize>,
) -> Vec<f64> {
    let p = range.len();
    let mut out = vec![0.0; rows * p];
    let deltas = backprop_deltas(mlp, theta, rows, ws, u);
    for (l, delta) in deltas.iter().enumerate() {
        let (k, m) = (mlp.sizes[l], mlp.sizes[l + 1]);
        let (wo, bo) = mlp.offsets(l);
        if bo + m <= range.start || wo >= range.end {
            continue;
        }
        let input = layer_input(x, ws, l);
        for n in 0..rows {
            let row = &mut out[n * p..(n + 1) * p];
            let d = &delta[n * m..(n + 1) * m];
            for i in 0..k {
                let a = input[n * k + i];
                for (j, dj) in d.iter().enumerate() {
                    let idx = wo + i * m + j;
                    if range.contains(&idx) {
                        row[idx - range.start] = a * dj;
                    }
                }
            }
            for (j, dj) in d.iter().enumerate() {
                let idx = bo + j;
                if range.contains(&idx) {
                    row[idx - range.start] = *dj;
                }
            }
        }
    }
    out
}

/// Per-sample Jacobians of the output with respect to the parameters in `range`:
/// `rows × outputs × range.len()`, row-major (`[n][k][p]`). Use [`last_layer_range`] for the
/// last layer only, or `0..dim()` for all weights.
pub fn jacobians(
    mlp: &Mlp,
    theta: &[f64],
    x: &[f64],
    rows: usize,
    ws: &Workspace,
    range: Range<usize>,
) -> Vec<f64> {
    let (kk, p) = (mlp.outputs(), range.len());
    let mut out = vec![0.0; rows * kk * p];
    let mut u = vec![0.0; rows * kk];
    for k in 0..kk {
        u.iter_mut().for_each(|v| *v = 0.0);
        for n in 0..rows {
            u[n * kk + k] = 1.0;
        }
        let g = per_sample_grads(mlp, theta, x, rows, ws, &u, range.clone());
        for n in 0..rows {
            out[(n * kk + k) * p..(n * kk + k + 1) * p].copy_from_slice(&g[n * p..(n + 1) * p]);
        }
    }
    out
}

/// GGN-vector product `Σ_n J_nᵀ H_n J_n v`, with `hess` the per-row output Hessians
/// (`rows × outputs × outputs`, row-major).
#[allow(clippy::too_many_arguments)]
pub fn ggn_vector_product(
    mlp: &Mlp,
    theta: &[f64],
    x: &[f64],
    rows: usize,
    ws: &mut Workspace,
    hess: &[f64],
    v: &[f64],
) -> Vec<f64> {
    let kk = mlp.outputs();
    let jv = jvp(mlp, theta, x, rows, ws, v);
    let mut hjv = vec![0.0; rows * kk];
    for n in 0..rows {
        let h = &hess[n * kk * kk..(n + 1) * kk * kk];
        for a in 0..kk {
            hjv[n * kk + a] = (0..kk).map(|b| h[a * kk + b] * jv[n * kk + b]).sum();
        }
    }
    vjp(mlp, theta, x, rows, ws, &hjv)
}

/// Diagonal of `Σ_c Σ_n (J_nᵀ u_{c,n})²` over the parameter `range`, for factors `u_c`
/// (each `rows × outputs`): the GGN diagonal when the factors are square-root columns of the
/// output Hessian, the empirical-Fisher diagonal for the single factor ∂log p/∂f.
pub fn outer_diag(
    mlp: &Mlp,
    theta: &[f64],
    x: &[f64],
    rows: usize,
    ws: &Workspace,
    factors: &[Vec<f64>],
    range: Range<usize>,
) -> Vec<f64> {
    let mut diag = vec![0.0; mlp.dim()];
    for u in factors {
        let deltas = backprop_deltas(mlp, theta, rows, ws, u);
        for (l, delta) in deltas.iter().enumerate() {
            let (k, m) = (mlp.sizes[l], mlp.sizes[l + 1]);
            let (wo, bo) = mlp.offsets(l);
            if bo + m <= range.start || wo >= range.end {
                continue;
            }
            let input = layer_input(x, ws, l);
            for n in 0..rows {
                let d = &delta[n * m..(n + 1) * m];
                for i in 0..k {
                    let a2 = input[n * k + i] * input[n * k + i];
                    for (dg, dj) in diag[wo + i * m..wo + (i + 1) * m].iter_mut().zip(d) {
                        *dg += a2 * dj * dj;
                    }
                }
                for (dg, dj) in diag[bo..bo + m].iter_mut().zip(d) {
                    *dg += dj * dj;
                }
            }
        }
    }
    diag[range].to_vec()
}

/// Kronecker factors of one dense layer: its curvature block is approximated by `A ⊗ G` in the
/// layer's parameter order (weights row-major `inputs × outputs`, then the bias as one more
/// input row).
#[derive(Debug, Clone, PartialEq)]
pub struct KronFactors {
    /// Layer index (0-based).
    pub layer: usize,
    /// `(inputs+1) × (inputs+1)`: mean over rows of `ā āᵀ`, `ā` = the layer input with a 1
    /// appended (for a convolution, its im2col patch, summed over output positions).
    pub a: Vec<f64>,
    /// `outputs × outputs`: `Σ_c Σ_n δ_{c,n} δ_{c,n}ᵀ`, the back-propagated factors at the
    /// layer's pre-activation (for a convolution, the mean over output positions).
    pub g: Vec<f64>,
}

impl KronFactors {
    /// Width of `A` (layer inputs + 1).
    pub fn a_dim(&self) -> usize {
        (self.a.len() as f64).sqrt().round() as usize
    }

    /// Width of `G` (layer outputs).
    pub fn g_dim(&self) -> usize {
        (self.g.len() as f64).sqrt().round() as usize
    }
}

/// KFAC factors for each layer in `layers` (0-based), from the factors `u_c` as in
/// [`outer_diag`]. `A ⊗ G` equals the exact block for one row and approximates
/// `Σ_n Σ_c (ā_n ā_nᵀ) ⊗ (δ_{c,n} δ_{c,n}ᵀ)` for many.
#[allow(clippy::too_many_arguments)]
pub fn kron_factors(
    mlp: &Mlp,
    theta: &[f64],
    x: &[f64],
    rows: usize,
    ws: &Workspace,
    factors: &[Vec<f64>],
    layers: Range<usize>,
) -> Vec<KronFactors> {
    let mut out: Vec<KronFactors> = layers
        .clone()
        .map(|l| {
            let (k, m) = (mlp.sizes[l], mlp.sizes[l + 1]);
            let input = layer_input(x, ws, l);
            let ka = k + 1;
            let mut a = vec![0.0; ka * ka];
            let mut abar = vec![1.0; ka];
            for n in 0..rows {
                abar[..k].copy_from_slice(&input[n * k..(n + 1) * k]);
                for i in 0..ka {
                    let ai = abar[i];
                    for (av, aj) in a[i * ka..(i + 1) * ka].iter_mut().zip(&abar) {
                        *av += ai * aj;
                    }
                }
            }
            let inv = 1.0 / rows.max(1) as f64;
            a.iter_mut().for_each(|v| *v *= inv);
            KronFactors {
                layer: l,
                a,
                g: vec![0.0; m * m],
            }
        })
        .collect();
    for u in factors {
        let deltas = backprop_deltas(mlp, theta, rows, ws, u);
        for kf in &mut out {
            let m = mlp.sizes[kf.layer + 1];
            let delta = &deltas[kf.layer];
            for n in 0..rows {
                let d = &delta[n * m..(n + 1) * m];
                for i in 0..m {
                    let di = d[i];
                    if di == 0.0 {
                        continue;
                    }
                    for (gv, dj) in kf.g[i * m..(i + 1) * m].iter_mut().zip(d) {
                        *gv += di * dj;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Activation;

    /// A small network and inputs with a fixed seed.
    fn setup(sizes: Vec<usize>, act: Activation, rows: usize) -> (Mlp, Vec<f64>, Vec<f64>) {
        let mlp = Mlp::new(sizes, act);
        let mut r = crate::rng::stream(7, 1);
        let mut theta = mlp.init(&mut r);
        for t in theta.iter_mut() {
            *t += 0.1 * crate::rng::normal(&mut r);
        }
        let x: Vec<f64> = (0..rows * mlp.inputs())
            .map(|_| crate::rng::normal(&mut r))
            .collect();
        (mlp, theta, x)
    }

    /// Dense Jacobian by central finite differences (`rows·K × P`), step 1e-5: truncation error
    /// O(h²·f''') ≈ 1e-10 and rounding ≈ 1e-16/1e-5 = 1e-11, so entries are good to ~1e-9.
    fn fd_jacobian(mlp: &Mlp, theta: &[f64], x: &[f64], rows: usize) -> Vec<Vec<f64>> {
        let h = 1e-5;
        let p = theta.len();
        let kk = mlp.outputs();
        let mut jac = vec![vec![0.0; p]; rows * kk];
        let mut t = theta.to_vec();
        for i in 0..p {
            t[i] = theta[i] + h;
            let up = mlp.predict(&t, x, rows);
            t[i] = theta[i] - h;
            let dn = mlp.predict(&t, x, rows);
            t[i] = theta[i];
            for r in 0..rows * kk {
                jac[r][i] = (up[r] - dn[r]) / (2.0 * h);
            }
        }
        jac
    }

    const TOL: f64 = 1e-7;

    fn close(a: f64, b: f64, what: &str) {
        assert!((a - b).abs() <= TOL * (1.0 + b.abs()), "{what}: {a} vs {b}");
    }

    fn cases() -> Vec<(Mlp, Vec<f64>, Vec<f64>, usize)> {
        let mut v = Vec::new();
        for (sizes, act) in [
            (vec![3, 4, 2], Activation::Tanh),
            (vec![2, 3, 3, 1], Activation::Sigmoid),
            (vec![3, 2], Activation::Tanh),
        ] {
            let rows = 5;
            let (m, t, x) = setup(sizes, act, rows);
            v.push((m, t, x, rows));
        }
        v
    }

    #[test]
    fn jacobians_jvp_vjp_match_finite_differences() {
        for (mlp, theta, x, rows) in cases() {
            let kk = mlp.outputs();
            let p = mlp.dim();
            let jd = fd_jacobian(&mlp, &theta, &x, rows);
            let mut ws = mlp.workspace(rows);
            mlp.forward(&theta, &x, rows, &mut ws);
            let j = jacobians(&mlp, &theta, &x, rows, &ws, 0..p);
            for r in 0..rows * kk {
                for i in 0..p {
                    close(j[r * p + i], jd[r][i], "jacobian");
                }
            }
            let ll = last_layer_range(&mlp);
            let jl = jacobians(&mlp, &theta, &x, rows, &ws, ll.clone());
            for r in 0..rows * kk {
                for (i, pi) in ll.clone().enumerate() {
                    close(jl[r * ll.len() + i], jd[r][pi], "last-layer jacobian");
                }
            }
            let v: Vec<f64> = (0..p).map(|i| (i as f64 * 0.37).sin()).collect();
            let jv = jvp(&mlp, &theta, &x, rows, &ws, &v);
            for r in 0..rows * kk {
                let want: f64 = jd[r].iter().zip(&v).map(|(a, b)| a * b).sum();
                close(jv[r], want, "jvp");
            }
            let u: Vec<f64> = (0..rows * kk).map(|i| (i as f64 * 0.7).cos()).collect();
            let ju = vjp(&mlp, &theta, &x, rows, &mut ws, &u);
            for i in 0..p {
                let want: f64 = (0..rows * kk).map(|r| jd[r][i] * u[r]).sum();
                close(ju[i], want, "vjp");
            }
        }
    }

    #[test]
    fn ggn_products_diagonals_and_kron_factors_match_dense_references() {
        for (mlp, theta, x, rows) in cases() {
            let kk = mlp.outputs();
            let p = mlp.dim();
            let jd = fd_jacobian(&mlp, &theta, &x, rows);
            let mut ws = mlp.workspace(rows);
            mlp.forward(&theta, &x, rows, &mut ws);
            // Per-row output Hessians H_n = Σ_c u_c u_cᵀ from two factors.
            let factors: Vec<Vec<f64>> = (0..2)
                .map(|c| {
                    (0..rows * kk)
                        .map(|i| ((i + 3 * c) as f64 * 0.53).sin())
                        .collect()
                })
                .collect();
            let mut hess = vec![0.0; rows * kk * kk];
            for u in &factors {
                for n in 0..rows {
                    for a in 0..kk {
                        for b in 0..kk {
                            hess[n * kk * kk + a * kk + b] += u[n * kk + a] * u[n * kk + b];
                        }
                    }
                }
            }
            // Dense GGN from the finite-difference Jacobian.
            let mut ggn = vec![vec![0.0; p]; p];
            for n in 0..rows {
                for a in 0..kk {
                    for b in 0..kk {
                        let h = hess[n * kk * kk + a * kk + b];
                        for i in 0..p {
                            for j in 0..p {
                                ggn[i][j] += jd[n * kk + a][i] * h * jd[n * kk + b][j];
                            }
                        }
                    }
                }
            }
            let v: Vec<f64> = (0..p).map(|i| (i as f64 * 0.21).cos()).collect();
            let gv = ggn_vector_product(&mlp, &theta, &x, rows, &mut ws, &hess, &v);
            for i in 0..p {
                let want: f64 = ggn[i].iter().zip(&v).map(|(a, b)| a * b).sum();
                close(gv[i], want, "GGN-vector product");
            }
            let d = outer_diag(&mlp, &theta, &x, rows, &ws, &factors, 0..p);
            for i in 0..p {
                close(d[i], ggn[i][i], "GGN diagonal");
            }
            // Empirical Fisher: one factor g_n = ∂ log p/∂f_n; diagonal Σ_n (J_nᵀ g_n)².
            let ef = outer_diag(&mlp, &theta, &x, rows, &ws, &factors[..1], 0..p);
            let psg = per_sample_grads(&mlp, &theta, &x, rows, &ws, &factors[0], 0..p);
            for i in 0..p {
                let want: f64 = (0..rows)
                    .map(|n| {
                        let g: f64 = (0..kk)
                            .map(|a| jd[n * kk + a][i] * factors[0][n * kk + a])
                            .sum();
                        close(psg[n * p + i], g, "per-sample gradient");
                        g * g
                    })
                    .sum();
                close(ef[i], want, "empirical Fisher diagonal");
            }
            // KFAC: exact on one row; on all rows A is the mean of ā āᵀ and G the sum of δδᵀ.
            for n in 0..rows {
                let xr = &x[n * mlp.inputs()..(n + 1) * mlp.inputs()];
                let f1: Vec<Vec<f64>> = factors
                    .iter()
                    .map(|u| u[n * kk..(n + 1) * kk].to_vec())
                    .collect();
                let jd1 = fd_jacobian(&mlp, &theta, xr, 1);
                let mut ws1 = mlp.workspace(1);
                mlp.forward(&theta, xr, 1, &mut ws1);
                let kf = kron_factors(&mlp, &theta, xr, 1, &ws1, &f1, 0..mlp.layers());
                for f in &kf {
                    let (wo, _) = mlp.offsets(f.layer);
                    let (ka, m) = (f.a_dim(), f.g_dim());
                    for i in 0..ka * m {
                        for j in 0..ka * m {
                            let want: f64 = (0..kk)
                                .flat_map(|a| (0..kk).map(move |b| (a, b)))
                                .map(|(a, b)| {
                                    jd1[a][wo + i] * hess[n * kk * kk + a * kk + b] * jd1[b][wo + j]
                                })
                                .sum();
                            let got = f.a[(i / m) * ka + j / m] * f.g[(i % m) * m + j % m];
                            close(got, want, "KFAC block (one row)");
                        }
                    }
                }
            }
            let kf = kron_factors(&mlp, &theta, &x, rows, &ws, &factors, 0..mlp.layers());
            for f in &kf {
                // G summed over rows equals the sum of one-row G's.
                let m = f.g_dim();
                let mut gsum = vec![0.0; m * m];
                let ka = f.a_dim();
                let mut asum = vec![0.0; ka * ka];
                for n in 0..rows {
                    let xr = &x[n * mlp.inputs()..(n + 1) * mlp.inputs()];
                    let f1: Vec<Vec<f64>> = factors
                        .iter()
                        .map(|u| u[n * kk..(n + 1) * kk].to_vec())
                        .collect();
                    let mut ws1 = mlp.workspace(1);
                    mlp.forward(&theta, xr, 1, &mut ws1);
                    let k1 = kron_factors(&mlp, &theta, xr, 1, &ws1, &f1, f.layer..f.layer + 1);
                    for (s, v) in gsum.iter_mut().zip(&k1[0].g) {
                        *s += v;
                    }
                    for (s, v) in asum.iter_mut().zip(&k1[0].a) {
                        *s += v / rows as f64;
                    }
                }
                for (a, b) in f.g.iter().zip(&gsum) {
                    close(*a, *b, "KFAC G over rows");
                }
                for (a, b) in f.a.iter().zip(&asum) {
                    close(*a, *b, "KFAC A over rows");
                }
            }
        }
    }
}
