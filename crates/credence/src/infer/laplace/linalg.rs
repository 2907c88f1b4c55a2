//! Dense linear algebra on row-major `Vec<f64>` through `faer`.

use faer::{Mat, Side};

fn to_mat(a: &[f64], n: usize) -> Mat<f64> {
    Mat::from_fn(n, n, |i, j| a[i * n + j])
}

/// Lower Cholesky factor (row-major), or None when `a` is not positive definite.
pub fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let m = to_mat(a, n);
    let c = m.cholesky(Side::Lower).ok()?;
    let l = c.compute_l();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            out[i * n + j] = l.read(i, j);
        }
    }
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// Eigenvalues (ascending) and eigenvectors (column `k` of the row-major matrix) of a
/// symmetric matrix.
pub fn sym_eig(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let m = to_mat(a, n);
    let e = m.selfadjoint_eigendecomposition(Side::Lower);
    let s = e.s().column_vector();
    let u = e.u();
    let vals = (0..n).map(|i| s.read(i)).collect();
    let mut vecs = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            vecs[i * n + j] = u.read(i, j);
        }
    }
    (vals, vecs)
}

/// `U diag(e) Uᵀ`.
pub fn reconstruct(u: &[f64], e: &[f64], n: usize) -> Vec<f64> {
    let um = to_mat(u, n);
    let d = Mat::from_fn(n, n, |i, j| um.read(i, j) * e[j]);
    let r = &d * um.transpose();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = 0.5 * (r.read(i, j) + r.read(j, i));
        }
    }
    out
}

/// `out += Bᵀ B` for `B` (`rows × p`, row-major).
pub fn gram_add(b: &[f64], rows: usize, p: usize, out: &mut [f64]) {
    let bm = Mat::from_fn(rows, p, |i, j| b[i * p + j]);
    let g = bm.transpose() * &bm;
    for i in 0..p {
        for j in 0..p {
            out[i * p + j] += g.read(i, j);
        }
    }
}

/// Solves `L w = v` for lower-triangular `L` (row-major).
pub fn solve_lower(l: &[f64], n: usize, v: &[f64]) -> Vec<f64> {
    let mut w = vec![0.0; n];
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        let s: f64 = row.iter().zip(&w[..i]).map(|(a, b)| a * b).sum();
        w[i] = (v[i] - s) / l[i * n + i];
    }
    w
}

/// Solves `Lᵀ x = w` for lower-triangular `L` (row-major).
pub fn solve_upper_t(l: &[f64], n: usize, w: &[f64]) -> Vec<f64> {
    let mut x = w.to_vec();
    for i in (0..n).rev() {
        x[i] /= l[i * n + i];
        let xi = x[i];
        for j in 0..i {
            x[j] -= l[i * n + j] * xi;
        }
    }
    x
}
