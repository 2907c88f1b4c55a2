//! Seeded train/test splits (plain and stratified by class).

use crate::error::{Error, Result};
use crate::rng;

/// A seeded random split of `n` rows into (train, test) with `test_fraction` of rows in test.
pub fn train_test_split(n: usize, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut r = rng::stream(seed, 0x5917);
    let p = rng::permutation(&mut r, n);
    let n_test = ((n as f64) * test_fraction)
        .round()
        .clamp(1.0, (n - 1) as f64) as usize;
    let mut test = p[..n_test].to_vec();
    let mut train = p[n_test..].to_vec();
    test.sort_unstable();
    train.sort_unstable();
    (train, test)
}

/// A seeded split that keeps each class's share in train and test (labels are class indices).
pub fn stratified_split(labels: &[f64], test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut r = rng::stream(seed, 0x5918);
    let classes = labels.iter().fold(0usize, |m, &v| m.max(v as usize)) + 1;
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for c in 0..classes {
        let mut idx: Vec<usize> = (0..labels.len())
            .filter(|&i| labels[i] as usize == c)
            .collect();
        let p = rng::permutation(&mut r, idx.len());
        idx = p.iter().map(|&j| idx[j]).collect();
        let n_test = ((idx.len() as f64) * test_fraction).round() as usize;
        test.extend_from_slice(&idx[..n_test]);
        train.extend_from_slice(&idx[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// A seeded subsample of `rows` (indices into `labels`) in which class `class` makes up
/// `share` of the result: every row of the other classes is kept and a seeded subset of the
/// class's rows (without replacement, so the class must have enough rows). Sorted.
pub fn subsample_to_share(
    labels: &[f64],
    rows: &[usize],
    class: usize,
    share: f64,
    seed: u64,
) -> Result<Vec<usize>> {
    if !(share > 0.0 && share < 1.0) {
        return Err(Error::Invalid(format!(
            "a class share must lie strictly between 0 and 1, found {share}"
        )));
    }
    let (mut of_class, mut rest): (Vec<usize>, Vec<usize>) =
        rows.iter().partition(|&&i| labels[i] as usize == class);
    let want = ((rest.len() as f64) * share / (1.0 - share)).round() as usize;
    if want > of_class.len() || want == 0 {
        return Err(Error::Invalid(format!(
            "class {class} at a share of {share} among {} other rows needs {want} of its rows; there are {}",
            rest.len(),
            of_class.len()
        )));
    }
    let mut r = rng::stream(seed, 0x5919);
    let p = rng::permutation(&mut r, of_class.len());
    of_class = p[..want].iter().map(|&j| of_class[j]).collect();
    rest.extend(of_class);
    rest.sort_unstable();
    Ok(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_disjoint_complete_and_seeded() {
        let (a, b) = train_test_split(100, 0.2, 7);
        assert_eq!(b.len(), 20);
        let mut all: Vec<usize> = a.iter().chain(&b).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(train_test_split(100, 0.2, 7), (a, b.clone()));
        assert_ne!(train_test_split(100, 0.2, 8).1, b);
    }

    #[test]
    fn stratified_keeps_class_shares() {
        let labels: Vec<f64> = (0..100).map(|i| if i < 30 { 1.0 } else { 0.0 }).collect();
        let (_, test) = stratified_split(&labels, 0.2, 1);
        assert_eq!(test.len(), 20);
        assert_eq!(test.iter().filter(|&&i| labels[i] == 1.0).count(), 6);
    }

    #[test]
    fn subsample_reaches_the_share_and_keeps_the_other_classes() {
        let labels: Vec<f64> = (0..100).map(|i| if i < 40 { 0.0 } else { 1.0 }).collect();
        let all: Vec<usize> = (0..100).collect();
        let s = subsample_to_share(&labels, &all, 0, 0.05, 3).unwrap();
        // 60 rows of class 1 kept; 0.05/0.95 · 60 = 3.16 → 3 rows of class 0.
        assert_eq!(s.len(), 63);
        assert_eq!(s.iter().filter(|&&i| labels[i] == 0.0).count(), 3);
        assert_eq!(s, subsample_to_share(&labels, &all, 0, 0.05, 3).unwrap());
        assert!(subsample_to_share(&labels, &all, 0, 0.9, 3).is_err());
    }
}
