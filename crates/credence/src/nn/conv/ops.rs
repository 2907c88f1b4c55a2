//! Data movement of the convolutional layers over NHWC buffers: im2col and its adjoint col2im,
//! average, max and global-average pooling with their reverse passes. The arithmetic of the
//! convolutions themselves is the library's GEMM (`nn::kernels`).
#![allow(clippy::too_many_arguments)]

use super::super::simd::Real;

/// Height, width and channels of one example's activation (NHWC; a flat vector is `1 × 1 × c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Rows of the image (1 for 1-D signals and flat vectors).
    pub h: usize,
    /// Columns of the image (1 for flat vectors).
    pub w: usize,
    /// Channels (the features of a flat vector).
    pub c: usize,
}

impl Shape {
    /// Values per example.
    pub fn size(&self) -> usize {
        self.h * self.w * self.c
    }
}

/// Geometry of a convolution or pooling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Window height.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// Vertical stride.
    pub sh: usize,
    /// Horizontal stride.
    pub sw: usize,
    /// Zero padding above and below.
    pub ph: usize,
    /// Zero padding left and right.
    pub pw: usize,
}

impl Window {
    /// Output size along one axis: ⌊(n + 2p − k)/s⌋ + 1, `None` if the window does not fit.
    pub fn out_len(n: usize, k: usize, s: usize, p: usize) -> Option<usize> {
        let padded = n.checked_add(2 * p)?;
        (padded >= k && s > 0).then(|| (padded - k) / s + 1)
    }

    /// The columns `kx` of the window at output column `ox` that fall inside the input, and the
    /// input column of the first of them: (first kx, last kx + 1, input column of first kx).
    #[inline]
    fn cols(&self, ox: usize, w: usize) -> (usize, usize, usize) {
        let start = (ox * self.sw) as isize - self.pw as isize;
        let k0 = (-start).max(0) as usize;
        let k1 = ((w as isize - start).max(0) as usize).min(self.kw);
        let k0 = k0.min(k1);
        (k0, k1, (start + k0 as isize) as usize)
    }
}

/// im2col: for each output position (n, oy, ox) of `rows` examples, writes the window's inputs
/// in (ky, kx, c) order into one row of `patches` (`rows·OH·OW × kh·kw·c`), zeros where the
/// window covers padding.
pub fn im2col<T: Real>(x: &[T], rows: usize, s: Shape, win: Window, o: Shape, patches: &mut [T]) {
    let kk = win.kh * win.kw * s.c;
    let row_len = win.kw * s.c;
    for n in 0..rows {
        let img = &x[n * s.size()..(n + 1) * s.size()];
        for oy in 0..o.h {
            for ox in 0..o.w {
                let r = (n * o.h + oy) * o.w + ox;
                let patch = &mut patches[r * kk..(r + 1) * kk];
                let (k0, k1, ix0) = win.cols(ox, s.w);
                for ky in 0..win.kh {
                    let dst = &mut patch[ky * row_len..(ky + 1) * row_len];
                    let iy = (oy * win.sh + ky) as isize - win.ph as isize;
                    if iy < 0 || iy as usize >= s.h || k0 == k1 {
                        dst.fill(T::ZERO);
                        continue;
                    }
                    let at = (iy as usize * s.w + ix0) * s.c;
                    dst[..k0 * s.c].fill(T::ZERO);
                    dst[k0 * s.c..k1 * s.c].copy_from_slice(&img[at..at + (k1 - k0) * s.c]);
                    dst[k1 * s.c..].fill(T::ZERO);
                }
            }
        }
    }
}

/// col2im, the adjoint of [`im2col`]: adds each patch entry back onto the input position it
/// was copied from (`gx` is overwritten: zeroed first).
pub fn col2im<T: Real>(patches: &[T], rows: usize, s: Shape, win: Window, o: Shape, gx: &mut [T]) {
    let kk = win.kh * win.kw * s.c;
    let row_len = win.kw * s.c;
    gx[..rows * s.size()].fill(T::ZERO);
    for n in 0..rows {
        let img = &mut gx[n * s.size()..(n + 1) * s.size()];
        for oy in 0..o.h {
            for ox in 0..o.w {
                let r = (n * o.h + oy) * o.w + ox;
                let patch = &patches[r * kk..(r + 1) * kk];
                let (k0, k1, ix0) = win.cols(ox, s.w);
                for ky in 0..win.kh {
                    let iy = (oy * win.sh + ky) as isize - win.ph as isize;
                    if iy < 0 || iy as usize >= s.h || k0 == k1 {
                        continue;
                    }
                    let src = &patch[ky * row_len + k0 * s.c..ky * row_len + k1 * s.c];
                    let at = (iy as usize * s.w + ix0) * s.c;
                    for (g, &p) in img[at..at + src.len()].iter_mut().zip(src) {
                        *g += p;
                    }
                }
            }
        }
    }
}

/// Average pooling forward (no padding): each output is the mean of its window.
pub fn avg_pool<T: Real>(x: &[T], rows: usize, s: Shape, win: Window, o: Shape, out: &mut [T]) {
    let inv = T::from_f64(1.0 / (win.kh * win.kw) as f64);
    let c = s.c;
    for n in 0..rows {
        let img = &x[n * s.size()..(n + 1) * s.size()];
        let oimg = &mut out[n * o.size()..(n + 1) * o.size()];
        for oy in 0..o.h {
            for ox in 0..o.w {
                let dst = &mut oimg[(oy * o.w + ox) * c..(oy * o.w + ox + 1) * c];
                dst.fill(T::ZERO);
                for ky in 0..win.kh {
                    let iy = oy * win.sh + ky;
                    for kx in 0..win.kw {
                        let at = (iy * s.w + ox * win.sw + kx) * c;
                        for (d, &v) in dst.iter_mut().zip(&img[at..at + c]) {
                            *d += v;
                        }
                    }
                }
                for d in dst.iter_mut() {
                    *d *= inv;
                }
            }
        }
    }
}

/// Reverse of [`avg_pool`]: `gx` (overwritten) receives each output gradient / window size on
/// every input of its window.
pub fn avg_pool_back<T: Real>(g: &[T], rows: usize, s: Shape, win: Window, o: Shape, gx: &mut [T]) {
    let inv = T::from_f64(1.0 / (win.kh * win.kw) as f64);
    let c = s.c;
    gx[..rows * s.size()].fill(T::ZERO);
    for n in 0..rows {
        let img = &mut gx[n * s.size()..(n + 1) * s.size()];
        let gimg = &g[n * o.size()..(n + 1) * o.size()];
        for oy in 0..o.h {
            for ox in 0..o.w {
                let src = &gimg[(oy * o.w + ox) * c..(oy * o.w + ox + 1) * c];
                for ky in 0..win.kh {
                    let iy = oy * win.sh + ky;
                    for kx in 0..win.kw {
                        let at = (iy * s.w + ox * win.sw + kx) * c;
                        for (d, &v) in img[at..at + c].iter_mut().zip(src) {
                            *d += v * inv;
                        }
                    }
                }
            }
        }
    }
}

/// Max pooling forward (no padding); `arg` receives, per output, the index within its example
/// of the input that won (the first of equal ones).
pub fn max_pool<T: Real>(
    x: &[T],
    rows: usize,
    s: Shape,
    win: Window,
    o: Shape,
    out: &mut [T],
    arg: &mut [u32],
) {
    let c = s.c;
    for n in 0..rows {
        let img = &x[n * s.size()..(n + 1) * s.size()];
        let base = n * o.size();
        for oy in 0..o.h {
            for ox in 0..o.w {
                let ob = base + (oy * o.w + ox) * c;
                for ch in 0..c {
                    let mut best = oy * win.sh * s.w * c + ox * win.sw * c + ch;
                    for ky in 0..win.kh {
                        let iy = oy * win.sh + ky;
                        for kx in 0..win.kw {
                            let at = (iy * s.w + ox * win.sw + kx) * c + ch;
                            if img[at] > img[best] {
                                best = at;
                            }
                        }
                    }
                    out[ob + ch] = img[best];
                    arg[ob + ch] = best as u32;
                }
            }
        }
    }
}

/// Applies the linear map of the last [`max_pool`] (its `arg`) to `t` (a tangent of its input).
pub fn gather<T: Real>(t: &[T], rows: usize, s: Shape, o: Shape, arg: &[u32], out: &mut [T]) {
    for n in 0..rows {
        let img = &t[n * s.size()..(n + 1) * s.size()];
        let base = n * o.size();
        for (d, &a) in out[base..base + o.size()]
            .iter_mut()
            .zip(&arg[base..base + o.size()])
        {
            *d = img[a as usize];
        }
    }
}

/// Reverse of [`max_pool`]: `gx` (overwritten) receives each output gradient at its winner.
pub fn max_pool_back<T: Real>(g: &[T], rows: usize, s: Shape, o: Shape, arg: &[u32], gx: &mut [T]) {
    gx[..rows * s.size()].fill(T::ZERO);
    for n in 0..rows {
        let img = &mut gx[n * s.size()..(n + 1) * s.size()];
        let base = n * o.size();
        for (&v, &a) in g[base..base + o.size()]
            .iter()
            .zip(&arg[base..base + o.size()])
        {
            img[a as usize] += v;
        }
    }
}

/// Global average pooling: one mean per example and channel.
pub fn global_pool<T: Real>(x: &[T], rows: usize, s: Shape, out: &mut [T]) {
    let inv = T::from_f64(1.0 / (s.h * s.w) as f64);
    let c = s.c;
    for n in 0..rows {
        let dst = &mut out[n * c..(n + 1) * c];
        dst.fill(T::ZERO);
        for px in x[n * s.size()..(n + 1) * s.size()].chunks_exact(c) {
            for (d, &v) in dst.iter_mut().zip(px) {
                *d += v;
            }
        }
        for d in dst.iter_mut() {
            *d *= inv;
        }
    }
}

/// Reverse of [`global_pool`]: `gx` (overwritten) gets each channel's gradient / positions.
pub fn global_pool_back<T: Real>(g: &[T], rows: usize, s: Shape, gx: &mut [T]) {
    let inv = T::from_f64(1.0 / (s.h * s.w) as f64);
    let c = s.c;
    for n in 0..rows {
        let src = &g[n * c..(n + 1) * c];
        for px in gx[n * s.size()..(n + 1) * s.size()].chunks_exact_mut(c) {
            for (d, &v) in px.iter_mut().zip(src) {
                *d = v * inv;
            }
        }
    }
}
