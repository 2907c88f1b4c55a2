//! Bilinear image rotation: identity at 0°, transpose-and-flip at 90°, a full turn in four
//! quarter turns, mass kept for small angles, zero fill at the corners, and datasets.

use credence::data::image::{rotate_bilinear, rotate_dataset};
use credence::data::Dataset;

/// A deterministic 7×7×2 image with distinct values.
fn image(h: usize, w: usize, c: usize) -> Vec<f64> {
    (0..h * w * c)
        .map(|i| ((i * 37) % 101) as f64 / 10.0)
        .collect()
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

#[test]
fn zero_degrees_is_the_identity() {
    let img = image(5, 7, 3);
    assert_eq!(rotate_bilinear(&img, 5, 7, 3, 0.0).unwrap(), img);
    assert!(close(
        &rotate_bilinear(&img, 5, 7, 3, 360.0).unwrap(),
        &img,
        1e-9
    ));
}

#[test]
fn ninety_degrees_is_a_transpose_and_flip_on_a_square() {
    for n in [6usize, 7] {
        let c = 2;
        let img = image(n, n, c);
        let r = rotate_bilinear(&img, n, n, c, 90.0).unwrap();
        let mut want = vec![0.0; img.len()];
        for i in 0..n {
            for j in 0..n {
                for ch in 0..c {
                    want[(i * n + j) * c + ch] = img[(j * n + (n - 1 - i)) * c + ch];
                }
            }
        }
        assert!(close(&r, &want, 1e-9), "n = {n}");
        // −90° undoes it, four quarter turns are the identity.
        let back = rotate_bilinear(&r, n, n, c, -90.0).unwrap();
        assert!(close(&back, &img, 1e-9));
        let mut four = img.clone();
        for _ in 0..4 {
            four = rotate_bilinear(&four, n, n, c, 90.0).unwrap();
        }
        assert!(close(&four, &img, 1e-9));
        // 180° is a point reflection.
        let half = rotate_bilinear(&img, n, n, c, 180.0).unwrap();
        let flip: Vec<f64> = (0..n * n)
            .rev()
            .flat_map(|p| img[p * c..(p + 1) * c].to_vec())
            .collect();
        assert!(close(&half, &flip, 1e-9));
    }
}

#[test]
fn small_angles_keep_the_mass_of_a_centred_blob_and_corners_fill_with_zero() {
    let n = 16;
    let blob: Vec<f64> = (0..n * n)
        .map(|p| {
            let (i, j) = ((p / n) as f64 - 7.5, (p % n) as f64 - 7.5);
            (-(i * i + j * j) / 8.0).exp()
        })
        .collect();
    let mass: f64 = blob.iter().sum();
    for deg in [5.0, 15.0, 30.0, 45.0] {
        let r = rotate_bilinear(&blob, n, n, 1, deg).unwrap();
        let m: f64 = r.iter().sum();
        assert!((m / mass - 1.0).abs() < 0.02, "{deg}°: mass {m} vs {mass}");
        assert!(r.iter().all(|v| *v >= 0.0));
    }
    // A constant image loses its corners at 45°, and keeps its centre.
    let ones = vec![1.0; n * n];
    let r = rotate_bilinear(&ones, n, n, 1, 45.0).unwrap();
    assert_eq!(r[0], 0.0);
    assert_eq!(r[n * n - 1], 0.0);
    assert!((r[7 * n + 7] - 1.0).abs() < 1e-12);
}

#[test]
fn bad_sizes_and_angles_are_errors() {
    assert!(rotate_bilinear(&[1.0; 5], 2, 2, 1, 10.0).is_err());
    assert!(rotate_bilinear(&[1.0; 4], 2, 2, 1, f64::NAN).is_err());
    assert!(rotate_bilinear(&[], 0, 0, 1, 10.0).is_err());
}

#[test]
fn datasets_rotate_row_by_row_and_need_an_image_shape() {
    let n = 4;
    let x: Vec<f64> = (0..2 * n * n).map(|v| v as f64).collect();
    let d = Dataset::from_arrays(x, vec![0.0, 1.0], n * n).unwrap();
    let m = rotate_dataset(&d, 15.0).unwrap_err().to_string();
    assert!(m.contains("input shape"), "{m}");
    let d = d.with_input_shape(&[1, n, n]).unwrap();
    let r = rotate_dataset(&d, 90.0).unwrap();
    assert_eq!(
        (r.rows, r.features, r.y.clone()),
        (2, n * n, vec![0.0, 1.0])
    );
    let one = rotate_bilinear(d.row(1), n, n, 1, 90.0).unwrap();
    assert!(close(r.row(1), &one, 0.0));
    assert!(close(&rotate_dataset(&d, 0.0).unwrap().x, &d.x, 0.0));
}
