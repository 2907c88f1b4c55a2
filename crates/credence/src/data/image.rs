//! Image transforms for shift benchmarks: bilinear rotation about the centre with zero fill.
//! Images are channel-last (`height × width × channels`), as datasets with an input shape
//! store them.

use super::Dataset;
use crate::error::{Error, Result};

/// Rotates one channel-last image of `height × width × channels` by `degrees`
/// counter-clockwise as displayed (row 0 at the top) about its centre, by bilinear
/// interpolation; pixels that come from outside the image are 0.
///
/// At 90° on a square image, output pixel `(i, j)` is input pixel `(j, width − 1 − i)`.
pub fn rotate_bilinear(
    image: &[f64],
    height: usize,
    width: usize,
    channels: usize,
    degrees: f64,
) -> Result<Vec<f64>> {
    let n = height
        .checked_mul(width)
        .and_then(|p| p.checked_mul(channels));
    if n != Some(image.len()) || height == 0 || width == 0 || channels == 0 {
        return Err(Error::Invalid(format!(
            "an image of {height}×{width}×{channels} needs that many values, found {}",
            image.len()
        )));
    }
    if !degrees.is_finite() {
        return Err(Error::Invalid(format!(
            "a rotation angle must be finite, found {degrees}"
        )));
    }
    let (s, c) = degrees.to_radians().sin_cos();
    let (cy, cx) = ((height as f64 - 1.0) / 2.0, (width as f64 - 1.0) / 2.0);
    let at = |r: isize, q: isize, ch: usize| -> f64 {
        if r < 0 || q < 0 || r as usize >= height || q as usize >= width {
            0.0
        } else {
            image[(r as usize * width + q as usize) * channels + ch]
        }
    };
    let mut out = vec![0.0; image.len()];
    for i in 0..height {
        for j in 0..width {
            let (dy, dx) = (i as f64 - cy, j as f64 - cx);
            // The source of output pixel (i, j): its offset rotated back.
            let sx = cx + c * dx - s * dy;
            let sy = cy + s * dx + c * dy;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            for ch in 0..channels {
                let v = (1.0 - fy) * ((1.0 - fx) * at(y0, x0, ch) + fx * at(y0, x0 + 1, ch))
                    + fy * ((1.0 - fx) * at(y0 + 1, x0, ch) + fx * at(y0 + 1, x0 + 1, ch));
                out[(i * width + j) * channels + ch] = v;
            }
        }
    }
    Ok(out)
}

/// Every row of an image dataset rotated by `degrees` (see [`rotate_bilinear`]); the dataset
/// needs an input shape `[channels, height, width]`.
pub fn rotate_dataset(data: &Dataset, degrees: f64) -> Result<Dataset> {
    let Some([ch, h, w]) = data
        .input_shape
        .as_deref()
        .and_then(|s| <[usize; 3]>::try_from(s).ok())
    else {
        return Err(Error::data(
            &data.source,
            None,
            None,
            format!(
                "rotating needs images with an input shape [channels, height, width], found {:?}",
                data.input_shape
            ),
        ));
    };
    let mut x = Vec::with_capacity(data.x.len());
    for r in 0..data.rows {
        x.extend(rotate_bilinear(data.row(r), h, w, ch, degrees)?);
    }
    let mut out = data.clone();
    out.x = x;
    Ok(out)
}
