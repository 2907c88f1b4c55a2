//! Classification predictive: class probabilities averaged over draws, with entropy and
//! mutual information (epistemic uncertainty).

/// Class probabilities per component and row.
#[derive(Debug, Clone)]
pub struct ClassPredictive {
    /// Number of rows.
    pub rows: usize,
    /// Number of classes.
    pub classes: usize,
    /// Per-component probabilities, each `rows × classes`.
    pub members: Vec<Vec<f64>>,
}

fn entropy(p: &[f64]) -> f64 {
    -p.iter()
        .filter(|&&v| v > 0.0)
        .map(|v| v * v.ln())
        .sum::<f64>()
}

impl ClassPredictive {
    /// Mean class probabilities, `rows × classes`.
    pub fn probs(&self) -> Vec<f64> {
        let s = self.members.len() as f64;
        let mut out = vec![0.0; self.rows * self.classes];
        for m in &self.members {
            for (o, v) in out.iter_mut().zip(m) {
                *o += v / s;
            }
        }
        out
    }

    /// Most probable class per row.
    pub fn predicted(&self) -> Vec<usize> {
        let p = self.probs();
        (0..self.rows)
            .map(|n| {
                let row = &p[n * self.classes..(n + 1) * self.classes];
                (0..self.classes).fold(0, |b, k| if row[k] > row[b] { k } else { b })
            })
            .collect()
    }

    /// Predictive entropy per row (total uncertainty).
    pub fn entropy(&self) -> Vec<f64> {
        let p = self.probs();
        (0..self.rows)
            .map(|n| entropy(&p[n * self.classes..(n + 1) * self.classes]))
            .collect()
    }

    /// Expected entropy per row (aleatoric part).
    pub fn expected_entropy(&self) -> Vec<f64> {
        let s = self.members.len() as f64;
        (0..self.rows)
            .map(|n| {
                self.members
                    .iter()
                    .map(|m| entropy(&m[n * self.classes..(n + 1) * self.classes]))
                    .sum::<f64>()
                    / s
            })
            .collect()
    }

    /// Mutual information between label and parameters per row (epistemic part).
    pub fn mutual_information(&self) -> Vec<f64> {
        self.entropy()
            .iter()
            .zip(self.expected_entropy())
            .map(|(h, e)| (h - e).max(0.0))
            .collect()
    }
}
