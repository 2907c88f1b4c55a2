//! Dense-layer kernels over row-major matrices: the arithmetic every forward and reverse pass
//! spends its time in.
//!
//! Three register-blocked GEMM shapes cover the MLP: `C = A·B (+ bias)` with a fused epilogue
//! (activation and its derivative, or a product with a stored derivative), `G += Aᵀ·D` (weight
//! gradients), and row dot products for single-output layers. Each is written once over
//! fixed-size tiles and compiled for AVX-512, AVX2+FMA and the portable baseline (see
//! [`super::simd`]); large products are split over row blocks with rayon.
#![allow(clippy::needless_range_loop, clippy::too_many_arguments)]

use super::simd::{Isa, Real, Simd};
use super::Activation;

/// Multiply-adds below which a product runs on one thread (≈ 0.1 ms of work).
pub(crate) const PAR_MIN: usize = 1 << 20;
/// Rows per cache block in `G += Aᵀ·D`.
const ROW_BLOCK: usize = 256;

/// What happens to a tile of `A·B (+ bias)` before it is stored into `C`.
pub(crate) enum Epi<'a, T> {
    /// `C = A·B + bias`.
    Store,
    /// `C += A·B`.
    Accumulate,
    /// `C = act(A·B + bias)`, derivative written into the slice (same shape as `C`).
    Act(Activation, &'a mut [T]),
    /// `C = (A·B) ⊙ D` with `D` the slice (same shape as `C`).
    Mul(&'a [T]),
}

impl<'a, T> Epi<'a, T> {
    fn split_at(self, at: usize) -> (Epi<'a, T>, Epi<'a, T>) {
        match self {
            Epi::Store => (Epi::Store, Epi::Store),
            Epi::Accumulate => (Epi::Accumulate, Epi::Accumulate),
            Epi::Act(a, d) => {
                let (l, r) = d.split_at_mut(at);
                (Epi::Act(a, l), Epi::Act(a, r))
            }
            Epi::Mul(d) => {
                let (l, r) = d.split_at(at);
                (Epi::Mul(l), Epi::Mul(r))
            }
        }
    }
}

// ------------------------------------------------------------------ tile helpers

#[inline(always)]
fn load<T: Real, const W: usize, const FULL: bool>(s: &[T], at: usize, valid: usize) -> [T; W] {
    if FULL {
        let mut v = [T::ZERO; W];
        v.copy_from_slice(&s[at..at + W]);
        v
    } else {
        let mut v = [T::ZERO; W];
        v[..valid].copy_from_slice(&s[at..at + valid]);
        v
    }
}

#[inline(always)]
fn store<T: Real, const W: usize, const FULL: bool>(
    s: &mut [T],
    at: usize,
    v: &[T; W],
    valid: usize,
) {
    if FULL {
        s[at..at + W].copy_from_slice(v);
    } else {
        s[at..at + valid].copy_from_slice(&v[..valid]);
    }
}

/// Activation and derivative on a block.
#[inline(always)]
fn act_block<T: Real, const W: usize, const FMA: bool>(
    act: Activation,
    z: &mut [T; W],
    d: &mut [T; W],
) {
    match act {
        Activation::Tanh => T::tanh_block::<W, FMA>(z, d),
        Activation::Relu => {
            for j in 0..W {
                let pos = z[j] > T::ZERO;
                d[j] = if pos { T::ONE } else { T::ZERO };
                z[j] = if pos { z[j] } else { T::ZERO };
            }
        }
        _ => {
            for j in 0..W {
                let (v, g) = act.eval(z[j].to_f64());
                z[j] = T::from_f64(v);
                d[j] = T::from_f64(g);
            }
        }
    }
}

// ------------------------------------------------------------------ C = A·B (+ bias), epilogue

/// Loads vector `v` of a tile row starting at `p` (`valid` elements in the whole row).
#[inline(always)]
unsafe fn vload<S: Simd, const FULL: bool>(p: *const S::T, v: usize, nv: usize, valid: usize) -> S {
    if FULL || v + 1 < nv {
        S::load(p.add(v * S::LANES))
    } else {
        S::load_partial(p.add(v * S::LANES), valid - v * S::LANES)
    }
}

#[inline(always)]
unsafe fn vstore<S: Simd, const FULL: bool>(x: S, p: *mut S::T, v: usize, nv: usize, valid: usize) {
    if FULL || v + 1 < nv {
        x.store(p.add(v * S::LANES))
    } else {
        x.store_partial(p.add(v * S::LANES), valid - v * S::LANES)
    }
}

/// Activation and derivative on a short slice (a tile row just stored, still in L1).
#[inline(always)]
fn act_run<S: Simd, const FMA: bool>(act: Activation, z: &mut [S::T], d: &mut [S::T]) {
    if S::HAS_TANH && matches!(act, Activation::Tanh) {
        let (l, n) = (S::LANES, z.len().min(d.len()));
        let (zp, dp) = (z.as_mut_ptr(), d.as_mut_ptr());
        let mut i = 0;
        // SAFETY: every access is below `n`, the length of both slices.
        unsafe {
            while i + 2 * l <= n {
                let (t0, d0) = S::load(zp.add(i)).tanh();
                let (t1, d1) = S::load(zp.add(i + l)).tanh();
                t0.store(zp.add(i));
                d0.store(dp.add(i));
                t1.store(zp.add(i + l));
                d1.store(dp.add(i + l));
                i += 2 * l;
            }
            while i < n {
                let w = (n - i).min(l);
                let (t, dv) = if w == l {
                    S::load(zp.add(i))
                } else {
                    S::load_partial(zp.add(i), w)
                }
                .tanh();
                if w == l {
                    t.store(zp.add(i));
                    dv.store(dp.add(i));
                } else {
                    t.store_partial(zp.add(i), w);
                    dv.store_partial(dp.add(i), w);
                }
                i += w;
            }
        }
        return;
    }
    act_run_blocks::<S::T, FMA>(act, z, d);
}

/// [`act_run`] through `Real::tanh_block` and the scalar activations, in fixed-size blocks.
#[inline(always)]
fn act_run_blocks<T: Real, const FMA: bool>(act: Activation, z: &mut [T], d: &mut [T]) {
    /// Long blocks keep many independent vectors in flight; the tail goes in short blocks so
    /// that at most `S - 1` lanes are computed for nothing.
    const B: usize = 64;
    const S: usize = 16;
    let n = z.len();
    let i = n - n % B;
    // Full blocks in place (no copies through the stack).
    for (zb, db) in z[..i].chunks_exact_mut(B).zip(d[..i].chunks_exact_mut(B)) {
        if let (Ok(zb), Ok(db)) = (<&mut [T; B]>::try_from(zb), <&mut [T; B]>::try_from(db)) {
            act_block::<T, B, FMA>(act, zb, db);
        }
    }
    let j = n - n % S;
    for (zb, db) in z[i..j].chunks_exact_mut(S).zip(d[i..j].chunks_exact_mut(S)) {
        if let (Ok(zb), Ok(db)) = (<&mut [T; S]>::try_from(zb), <&mut [T; S]>::try_from(db)) {
            act_block::<T, S, FMA>(act, zb, db);
        }
    }
    if j < n {
        let mut zv = load::<T, S, false>(z, j, n - j);
        let mut dv = [T::ZERO; S];
        act_block::<T, S, FMA>(act, &mut zv, &mut dv);
        store::<T, S, false>(z, j, &zv, n - j);
        store::<T, S, false>(d, j, &dv, n - j);
    }
}

/// One `R × (NV·LANES)` tile of `C`; `valid` columns are real (all of them when `FULL`).
#[inline(always)]
unsafe fn nn_tile<S: Simd, const NV: usize, const R: usize, const FULL: bool, const FMA: bool>(
    a: &[S::T],
    k: usize,
    b: &[S::T],
    m: usize,
    bias: Option<&[S::T]>,
    c: &mut [S::T],
    epi: &mut Epi<'_, S::T>,
    i0: usize,
    j0: usize,
    valid: usize,
) {
    debug_assert!((i0 + R) * k <= a.len() && (i0 + R - 1) * m + j0 + valid <= c.len());
    debug_assert!(k == 0 || (k - 1) * m + j0 + valid <= b.len());
    let mut acc = [[S::zero(); NV]; R];
    if let Epi::Accumulate = epi {
        for r in 0..R {
            let p = c.as_ptr().add((i0 + r) * m + j0);
            for v in 0..NV {
                acc[r][v] = vload::<S, FULL>(p, v, NV, valid);
            }
        }
    } else if let Some(bias) = bias {
        let p = bias.as_ptr().add(j0);
        for v in 0..NV {
            let bv = vload::<S, FULL>(p, v, NV, valid);
            for r in 0..R {
                acc[r][v] = bv;
            }
        }
    }
    let ap = a.as_ptr().add(i0 * k);
    let mut bp = b.as_ptr().add(j0);
    for kk in 0..k {
        let mut bv = [S::zero(); NV];
        for v in 0..NV {
            bv[v] = vload::<S, FULL>(bp, v, NV, valid);
        }
        for r in 0..R {
            let av = S::splat(*ap.add(r * k + kk));
            for v in 0..NV {
                acc[r][v] = S::fma(av, bv[v], acc[r][v]);
            }
        }
        bp = bp.add(m);
    }
    for r in 0..R {
        let at = (i0 + r) * m + j0;
        if let Epi::Mul(d) = epi {
            let dp = d.as_ptr().add(at);
            for v in 0..NV {
                acc[r][v] = S::mul(acc[r][v], vload::<S, FULL>(dp, v, NV, valid));
            }
        }
        let cp = c.as_mut_ptr().add(at);
        for v in 0..NV {
            vstore::<S, FULL>(acc[r][v], cp, v, NV, valid);
        }
    }
}

#[inline(always)]
unsafe fn nn_rows<S: Simd, const NV: usize, const R: usize, const FMA: bool>(
    a: &[S::T],
    k: usize,
    b: &[S::T],
    m: usize,
    bias: Option<&[S::T]>,
    c: &mut [S::T],
    epi: &mut Epi<'_, S::T>,
    i0: usize,
) {
    let (l, nr) = (S::LANES, NV * S::LANES);
    let mut j0 = 0;
    while j0 + nr <= m {
        nn_tile::<S, NV, R, true, FMA>(a, k, b, m, bias, c, epi, i0, j0, nr);
        j0 += nr;
    }
    while j0 + l <= m {
        nn_tile::<S, 1, R, true, FMA>(a, k, b, m, bias, c, epi, i0, j0, l);
        j0 += l;
    }
    if j0 < m {
        // A tail that fits half a register runs on the half-width one (a 256-bit FMA costs half
        // a 512-bit one on Zen 4): 50 columns are 6 × 8 + 2 in f64.
        let hl = <S::Half as Simd>::LANES;
        if hl < l && m - j0 <= hl {
            nn_tile::<S::Half, 1, R, false, FMA>(a, k, b, m, bias, c, epi, i0, j0, m - j0);
        } else {
            nn_tile::<S, 1, R, false, FMA>(a, k, b, m, bias, c, epi, i0, j0, m - j0);
        }
    }
    // The R rows just computed are contiguous and still in L1: activate them in one run, with
    // enough independent vectors in flight to hide the latency of exp and the division.
    if let Epi::Act(act, d) = epi {
        let span = i0 * m..(i0 + R) * m;
        act_run::<S, FMA>(*act, &mut c[span.clone()], &mut d[span]);
    }
}

#[inline(always)]
fn gemm_nn_body<S: Simd, const NV: usize, const MR: usize, const FMA: bool>(
    a: &[S::T],
    rows: usize,
    k: usize,
    b: &[S::T],
    m: usize,
    bias: Option<&[S::T]>,
    c: &mut [S::T],
    epi: &mut Epi<'_, S::T>,
) {
    assert!(a.len() >= rows * k && b.len() >= k * m && c.len() >= rows * m);
    assert!(bias.is_none_or(|b| b.len() >= m));
    match epi {
        Epi::Act(_, d) => assert!(d.len() >= rows * m),
        Epi::Mul(d) => assert!(d.len() >= rows * m),
        _ => {}
    }
    // SAFETY: the assertions above bound every tile's reads and writes.
    unsafe {
        let mut i0 = 0;
        while i0 + MR <= rows {
            nn_rows::<S, NV, MR, FMA>(a, k, b, m, bias, c, epi, i0);
            i0 += MR;
        }
        if MR > 4 && i0 + 4 <= rows {
            nn_rows::<S, NV, 4, FMA>(a, k, b, m, bias, c, epi, i0);
            i0 += 4;
        }
        if i0 + 2 <= rows {
            nn_rows::<S, NV, 2, FMA>(a, k, b, m, bias, c, epi, i0);
            i0 += 2;
        }
        if i0 < rows {
            nn_rows::<S, NV, 1, FMA>(a, k, b, m, bias, c, epi, i0);
        }
    }
}

// ------------------------------------------------------------------ G += Aᵀ·D

#[inline(always)]
unsafe fn tn_tile<S: Simd, const NV: usize, const R: usize, const FULL: bool>(
    a: &[S::T],
    d: &[S::T],
    n0: usize,
    n1: usize,
    k: usize,
    m: usize,
    g: &mut [S::T],
    k0: usize,
    j0: usize,
    valid: usize,
) {
    let mut acc = [[S::zero(); NV]; R];
    for r in 0..R {
        let p = g.as_ptr().add((k0 + r) * m + j0);
        for v in 0..NV {
            acc[r][v] = vload::<S, FULL>(p, v, NV, valid);
        }
    }
    let mut dp = d.as_ptr().add(n0 * m + j0);
    let mut ap = a.as_ptr().add(n0 * k + k0);
    for _ in n0..n1 {
        let mut dv = [S::zero(); NV];
        for v in 0..NV {
            dv[v] = vload::<S, FULL>(dp, v, NV, valid);
        }
        for r in 0..R {
            let av = S::splat(*ap.add(r));
            for v in 0..NV {
                acc[r][v] = S::fma(av, dv[v], acc[r][v]);
            }
        }
        dp = dp.add(m);
        ap = ap.add(k);
    }
    for r in 0..R {
        let p = g.as_mut_ptr().add((k0 + r) * m + j0);
        for v in 0..NV {
            vstore::<S, FULL>(acc[r][v], p, v, NV, valid);
        }
    }
}

#[inline(always)]
unsafe fn tn_rows<S: Simd, const NV: usize, const R: usize>(
    a: &[S::T],
    d: &[S::T],
    n0: usize,
    n1: usize,
    k: usize,
    m: usize,
    g: &mut [S::T],
    k0: usize,
) {
    let (l, nr) = (S::LANES, NV * S::LANES);
    let mut j0 = 0;
    while j0 + nr <= m {
        tn_tile::<S, NV, R, true>(a, d, n0, n1, k, m, g, k0, j0, nr);
        j0 += nr;
    }
    while j0 + l <= m {
        tn_tile::<S, 1, R, true>(a, d, n0, n1, k, m, g, k0, j0, l);
        j0 += l;
    }
    if j0 < m {
        let hl = <S::Half as Simd>::LANES;
        if hl < l && m - j0 <= hl {
            tn_tile::<S::Half, 1, R, false>(a, d, n0, n1, k, m, g, k0, j0, m - j0);
        } else {
            tn_tile::<S, 1, R, false>(a, d, n0, n1, k, m, g, k0, j0, m - j0);
        }
    }
}

#[inline(always)]
fn gemm_tn_body<S: Simd, const NV: usize, const MR: usize, const FMA: bool>(
    a: &[S::T],
    d: &[S::T],
    rows: usize,
    k: usize,
    m: usize,
    g: &mut [S::T],
) {
    assert!(a.len() >= rows * k && d.len() >= rows * m && g.len() >= k * m);
    // SAFETY: the assertion above bounds every tile's reads and writes.
    unsafe {
        let mut n0 = 0;
        while n0 < rows {
            let n1 = (n0 + ROW_BLOCK).min(rows);
            let mut k0 = 0;
            while k0 + MR <= k {
                tn_rows::<S, NV, MR>(a, d, n0, n1, k, m, g, k0);
                k0 += MR;
            }
            if MR > 4 && k0 + 4 <= k {
                tn_rows::<S, NV, 4>(a, d, n0, n1, k, m, g, k0);
                k0 += 4;
            }
            if k0 + 2 <= k {
                tn_rows::<S, NV, 2>(a, d, n0, n1, k, m, g, k0);
                k0 += 2;
            }
            if k0 < k {
                tn_rows::<S, NV, 1>(a, d, n0, n1, k, m, g, k0);
            }
            n0 = n1;
        }
    }
}

// ------------------------------------------------------------------ single-output rows

#[inline(always)]
unsafe fn dot_tile<S: Simd, const R: usize>(
    a: &[S::T],
    k: usize,
    b: &[S::T],
    bias: S::T,
    c: &mut [S::T],
    i0: usize,
) {
    let l = S::LANES;
    let mut acc = [S::zero(); R];
    let ap = a.as_ptr().add(i0 * k);
    let mut kk = 0;
    while kk + l <= k {
        let bv = S::load(b.as_ptr().add(kk));
        for r in 0..R {
            acc[r] = S::fma(S::load(ap.add(r * k + kk)), bv, acc[r]);
        }
        kk += l;
    }
    if kk < k {
        let bv = S::load_partial(b.as_ptr().add(kk), k - kk);
        for r in 0..R {
            acc[r] = S::fma(S::load_partial(ap.add(r * k + kk), k - kk), bv, acc[r]);
        }
    }
    for r in 0..R {
        c[i0 + r] = bias + acc[r].hsum();
    }
}

#[inline(always)]
fn dot_rows_body<S: Simd, const FMA: bool>(
    a: &[S::T],
    rows: usize,
    k: usize,
    b: &[S::T],
    bias: S::T,
    c: &mut [S::T],
) {
    assert!(a.len() >= rows * k && b.len() >= k && c.len() >= rows);
    // SAFETY: the assertion above bounds every read and write.
    unsafe {
        let mut i0 = 0;
        while i0 + 4 <= rows {
            dot_tile::<S, 4>(a, k, b, bias, c, i0);
            i0 += 4;
        }
        while i0 < rows {
            dot_tile::<S, 1>(a, k, b, bias, c, i0);
            i0 += 1;
        }
    }
}

// ------------------------------------------------------------------ elementwise

#[inline(always)]
fn act_slice_body<S: Simd, const FMA: bool>(act: Activation, z: &mut [S::T], d: &mut [S::T]) {
    let n = z.len().min(d.len());
    act_run::<S, FMA>(act, &mut z[..n], &mut d[..n]);
}

#[inline(always)]
fn exp_slice_body<S: Simd, const FMA: bool>(z: &mut [S::T]) {
    const B: usize = 16;
    let n = z.len();
    let mut i = 0;
    while i < n {
        let w = (n - i).min(B);
        let mut zv = load::<S::T, B, false>(z, i, w);
        S::T::exp_block::<B, FMA>(&mut zv);
        store::<S::T, B, false>(z, i, &zv, w);
        i += B;
    }
}

#[inline(always)]
fn col_sums_body<S: Simd, const FMA: bool>(d: &[S::T], rows: usize, m: usize, gb: &mut [S::T]) {
    for n in 0..rows {
        for (g, v) in gb[..m].iter_mut().zip(&d[n * m..(n + 1) * m]) {
            *g += *v;
        }
    }
}

// ------------------------------------------------------------------ dispatch

/// Defines `$name(isa, args…)` calling `$body::<register type, consts…, FMA>` compiled for each
/// instruction set, with tile constants given per instruction set.
macro_rules! dispatch {
    (
        fn $name:ident($($arg:ident : $ty:ty),* $(,)?) => $body:ident;
        avx512 [$($a:literal),*]; avx2 [$($b:literal),*]; scalar [$($s:literal),*];
    ) => {
        #[inline]
        fn $name<T: Real>(isa: Isa, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]
                unsafe fn avx512<T: Real>($($arg: $ty),*) {
                    $body::<T::V512, $($a,)* true>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2<T: Real>($($arg: $ty),*) {
                    $body::<T::V256, $($b,)* true>($($arg),*)
                }
                match isa.usable() {
                    // SAFETY: `usable` returns an instruction set only if the CPU supports it.
                    Isa::Avx512 => return unsafe { avx512::<T>($($arg),*) },
                    // SAFETY: as above.
                    Isa::Avx2 => return unsafe { avx2::<T>($($arg),*) },
                    Isa::Scalar => {}
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            let _ = isa;
            $body::<T::V1, $($s,)* false>($($arg),*)
        }
    };
}

dispatch! {
    fn gemm_nn_serial(a: &[T], rows: usize, k: usize, b: &[T], m: usize, bias: Option<&[T]>,
                      c: &mut [T], epi: &mut Epi<'_, T>) => gemm_nn_body;
    avx512 [2, 8]; avx2 [2, 4]; scalar [4, 4];
}

dispatch! {
    fn gemm_tn_serial(a: &[T], d: &[T], rows: usize, k: usize, m: usize, g: &mut [T]) => gemm_tn_body;
    avx512 [2, 8]; avx2 [2, 4]; scalar [4, 4];
}

dispatch! {
    fn dot_rows_serial(a: &[T], rows: usize, k: usize, b: &[T], bias: T, c: &mut [T]) => dot_rows_body;
    avx512 []; avx2 []; scalar [];
}

dispatch! {
    fn act_slice_dispatch(act: Activation, z: &mut [T], d: &mut [T]) => act_slice_body;
    avx512 []; avx2 []; scalar [];
}

dispatch! {
    fn exp_slice_dispatch(z: &mut [T]) => exp_slice_body;
    avx512 []; avx2 []; scalar [];
}

dispatch! {
    fn col_sums_dispatch(d: &[T], rows: usize, m: usize, gb: &mut [T]) => col_sums_body;
    avx512 []; avx2 []; scalar [];
}

// ------------------------------------------------------------------ crate-level entry points

/// `C = A·B (+ bias)` then the epilogue, with `A` `rows × k`, `B` `k × m`, `C` `rows × m`;
/// split over row blocks with rayon when the product is large.
pub(crate) fn gemm_nn<T: Real>(
    isa: Isa,
    a: &[T],
    rows: usize,
    k: usize,
    b: &[T],
    m: usize,
    bias: Option<&[T]>,
    c: &mut [T],
    epi: Epi<'_, T>,
) {
    gemm_nn_par(true, isa, a, rows, k, b, m, bias, c, epi);
}

/// [`gemm_nn`], split over threads only when `par` (the chunked gradient runs each chunk on
/// one thread: its threads work on different chunks).
pub(crate) fn gemm_nn_par<T: Real>(
    par: bool,
    isa: Isa,
    a: &[T],
    rows: usize,
    k: usize,
    b: &[T],
    m: usize,
    bias: Option<&[T]>,
    c: &mut [T],
    mut epi: Epi<'_, T>,
) {
    let threads = rayon::current_num_threads();
    if !par || rows * k * m < PAR_MIN || threads < 2 || rows < 64 {
        gemm_nn_serial(isa, a, rows, k, b, m, bias, &mut c[..rows * m], &mut epi);
        return;
    }
    let block = rows.div_ceil(threads).div_ceil(8) * 8;
    gemm_nn_split(
        isa,
        a,
        rows,
        k,
        b,
        m,
        bias,
        &mut c[..rows * m],
        epi,
        block.max(64),
    );
}

fn gemm_nn_split<T: Real>(
    isa: Isa,
    a: &[T],
    rows: usize,
    k: usize,
    b: &[T],
    m: usize,
    bias: Option<&[T]>,
    c: &mut [T],
    mut epi: Epi<'_, T>,
    block: usize,
) {
    if rows <= block {
        gemm_nn_serial(isa, a, rows, k, b, m, bias, c, &mut epi);
        return;
    }
    let half = (rows / block).div_ceil(2) * block;
    let (al, ar) = a.split_at(half * k);
    let (cl, cr) = c.split_at_mut(half * m);
    let (el, er) = epi.split_at(half * m);
    rayon::join(
        || gemm_nn_split(isa, al, half, k, b, m, bias, cl, el, block),
        || gemm_nn_split(isa, ar, rows - half, k, b, m, bias, cr, er, block),
    );
}

/// `G += Aᵀ·D` with `A` `rows × k`, `D` `rows × m`, `G` `k × m`. When the product is large it is
/// split over row blocks; each extra block accumulates into its own `k × m` slice of `scratch`
/// (as many blocks as `scratch` holds, plus one), summed at the end.
pub(crate) fn gemm_tn<T: Real>(
    isa: Isa,
    a: &[T],
    d: &[T],
    rows: usize,
    k: usize,
    m: usize,
    g: &mut [T],
    scratch: &mut [T],
) {
    let km = k * m;
    // As many row blocks as `scratch` holds (fixed per network, not per thread count), so the
    // sum is the same on any number of threads; `rayon::join` runs them at once where it can.
    let parts = scratch
        .len()
        .checked_div(km)
        .map_or(1, |q| q + 1)
        .min(rows / ROW_BLOCK)
        .max(1);
    if rows * km < PAR_MIN || parts < 2 {
        gemm_tn_serial(isa, a, d, rows, k, m, &mut g[..km]);
        return;
    }
    gemm_tn_split(isa, a, d, rows, k, m, &mut g[..km], scratch, parts);
}

fn gemm_tn_split<T: Real>(
    isa: Isa,
    a: &[T],
    d: &[T],
    rows: usize,
    k: usize,
    m: usize,
    g: &mut [T],
    scratch: &mut [T],
    parts: usize,
) {
    if parts <= 1 {
        gemm_tn_serial(isa, a, d, rows, k, m, g);
        return;
    }
    let km = k * m;
    let lp = parts / 2;
    let rows_l = rows * lp / parts;
    let (gr, rest) = scratch.split_at_mut(km);
    let (sl, sr) = rest.split_at_mut((lp - 1) * km);
    gr.fill(T::ZERO);
    let (al, ar) = a.split_at(rows_l * k);
    let (dl, dr) = d.split_at(rows_l * m);
    rayon::join(
        || gemm_tn_split(isa, al, dl, rows_l, k, m, g, sl, lp),
        || gemm_tn_split(isa, ar, dr, rows - rows_l, k, m, gr, sr, parts - lp),
    );
    for (x, y) in g.iter_mut().zip(gr.iter()) {
        *x += *y;
    }
}

/// `c[n] = bias + a[n, :]·b` for `rows` rows (a layer with one output).
pub(crate) fn dot_rows<T: Real>(
    isa: Isa,
    a: &[T],
    rows: usize,
    k: usize,
    b: &[T],
    bias: T,
    c: &mut [T],
) {
    dot_rows_serial(isa, a, rows, k, b, bias, c);
}

/// `gb[j] += Σ_n d[n, j]`.
pub(crate) fn col_sums<T: Real>(isa: Isa, d: &[T], rows: usize, m: usize, gb: &mut [T]) {
    col_sums_dispatch(isa, d, rows, m, gb);
}

/// Applies `act` in place to `z` and writes its derivative into `d` (vectorised on `isa`; an
/// instruction set the CPU lacks falls back to the portable code).
pub fn activate<T: Real>(isa: Isa, act: Activation, z: &mut [T], d: &mut [T]) {
    act_slice_dispatch(isa, act, z, d);
}

/// In place `z ← exp z` (vectorised on `isa`; inputs below −708 (f64) or −87 (f32) give 0).
pub fn exp_in_place<T: Real>(isa: Isa, z: &mut [T]) {
    exp_slice_dispatch(isa, z);
}

/// Writes `Wᵀ` (`m × k`) of a row-major `k × m` matrix into `out`.
pub(crate) fn transpose<T: Real>(w: &[T], k: usize, m: usize, out: &mut [T]) {
    for kk in 0..k {
        for j in 0..m {
            out[j * k + kk] = w[kk * m + j];
        }
    }
}

// ------------------------------------------------------------------ public f64 API

/// out[n, :] = b + x[n, :] · W, with `x` `rows × k` and `W` row-major `k × m` (`m = b.len()`).
pub fn affine(x: &[f64], rows: usize, k: usize, w: &[f64], b: &[f64], out: &mut [f64]) {
    affine_with(Isa::detect(), x, rows, k, w, b, out);
}

/// [`affine`] on a chosen instruction set (unsupported ones fall back to the portable code).
pub fn affine_with<T: Real>(
    isa: Isa,
    x: &[T],
    rows: usize,
    k: usize,
    w: &[T],
    b: &[T],
    out: &mut [T],
) {
    let m = b.len();
    if m == 1 {
        dot_rows(isa, x, rows, k, w, b[0], out);
    } else {
        gemm_nn(isa, x, rows, k, w, m, Some(b), out, Epi::Store);
    }
}

/// Adds the parameter gradients of an affine layer: gw += xᵀ·delta, gb += Σ_n delta[n, :].
pub fn affine_backward_params(
    x: &[f64],
    delta: &[f64],
    rows: usize,
    k: usize,
    m: usize,
    gw: &mut [f64],
    gb: &mut [f64],
) {
    affine_backward_params_with(Isa::detect(), x, delta, rows, k, m, gw, gb, &mut []);
}

/// [`affine_backward_params`] on a chosen instruction set, with `scratch` for threaded blocks
/// (see [`gemm_tn`]; pass `&mut []` for one thread).
pub(crate) fn affine_backward_params_with<T: Real>(
    isa: Isa,
    x: &[T],
    delta: &[T],
    rows: usize,
    k: usize,
    m: usize,
    gw: &mut [T],
    gb: &mut [T],
    scratch: &mut [T],
) {
    if m == 1 {
        // gwᵀ (1 × k) += deltaᵀ (1 × rows) · x (rows × k).
        gemm_nn(isa, delta, 1, rows, x, k, None, gw, Epi::Accumulate);
    } else {
        gemm_tn(isa, x, delta, rows, k, m, gw, scratch);
    }
    col_sums(isa, delta, rows, m, gb);
}

/// Writes the input gradient of an affine layer: dx = delta · Wᵀ (`rows × k`).
pub fn affine_backward_input(
    delta: &[f64],
    w: &[f64],
    rows: usize,
    k: usize,
    m: usize,
    dx: &mut [f64],
) {
    let isa = Isa::detect();
    if m == 1 {
        gemm_nn(isa, delta, rows, 1, w, k, None, dx, Epi::Store);
    } else {
        // Outside the engine's hot path: the engine keeps Wᵀ in its workspace instead.
        let mut wt = vec![0.0; k * m];
        transpose(w, k, m, &mut wt);
        gemm_nn(isa, delta, rows, m, &wt, k, None, dx, Epi::Store);
    }
}
