//! Seeded train/test splits (plain and stratified by class).

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
}
