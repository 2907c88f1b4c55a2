//! Dense-layer kernels over row-major matrices: the arithmetic every forward and reverse pass
//! spends its time in.

/// out[n, :] = b + x[n, :] · W, with `x` `rows × k` and `W` row-major `k × m` (`m = b.len()`).
#[inline]
pub fn affine(x: &[f64], rows: usize, k: usize, w: &[f64], b: &[f64], out: &mut [f64]) {
    let m = b.len();
    for n in 0..rows {
        let o = &mut out[n * m..(n + 1) * m];
        o.copy_from_slice(b);
        let xr = &x[n * k..(n + 1) * k];
        for (kk, &xv) in xr.iter().enumerate() {
            let wr = &w[kk * m..(kk + 1) * m];
            for (oj, wj) in o.iter_mut().zip(wr) {
                *oj += xv * wj;
            }
        }
    }
}

/// Adds the parameter gradients of an affine layer: gw += xᵀ·delta, gb += Σ_n delta[n, :].
#[inline]
pub fn affine_backward_params(
    x: &[f64],
    delta: &[f64],
    rows: usize,
    k: usize,
    m: usize,
    gw: &mut [f64],
    gb: &mut [f64],
) {
    for n in 0..rows {
        let dr = &delta[n * m..(n + 1) * m];
        for (gj, dj) in gb.iter_mut().zip(dr) {
            *gj += dj;
        }
        let xr = &x[n * k..(n + 1) * k];
        for (kk, &xv) in xr.iter().enumerate() {
            if xv == 0.0 {
                continue;
            }
            for (gj, dj) in gw[kk * m..(kk + 1) * m].iter_mut().zip(dr) {
                *gj += xv * dj;
            }
        }
    }
}

/// Writes the input gradient of an affine layer: dx = delta · Wᵀ (`rows × k`).
#[inline]
pub fn affine_backward_input(
    delta: &[f64],
    w: &[f64],
    rows: usize,
    k: usize,
    m: usize,
    dx: &mut [f64],
) {
    for n in 0..rows {
        let dr = &delta[n * m..(n + 1) * m];
        for kk in 0..k {
            let wr = &w[kk * m..(kk + 1) * m];
            dx[n * k + kk] = dr.iter().zip(wr).map(|(a, b)| a * b).sum();
        }
    }
}
