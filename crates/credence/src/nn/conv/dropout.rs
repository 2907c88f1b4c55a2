//! Dropout for convolutional networks, as MC dropout trains and predicts with it: the output of
//! every hidden conv layer loses whole channels (the same mask at every position of an example:
//! spatial dropout, Tompson et al. 2015) and the output of every hidden dense layer loses units,
//! with inverted scaling. The inputs and the output layer are never dropped, as in
//! [`crate::nn::Mlp::forward_dropout`].

use super::net::Cnn;
use super::pass::CnnWorkspace;
use crate::nn::simd::Real;
use crate::rng::{self, Rng};
use std::ops::Range;

impl Cnn {
    /// Whether planned layer `i` (see [`Cnn::plan`]) has its output dropped: every conv and
    /// dense layer but the output layer.
    pub fn drops(&self, i: usize) -> bool {
        let plan = self.plan();
        i + 1 < plan.len() && plan[i].has_params() && plan[i].act.is_some()
    }

    /// The weight ranges in θ whose inputs pass through dropout (every conv and dense layer
    /// after the first): the weights Gal & Ghahramani's (1 − p) prior factor applies to.
    pub fn dropout_fed_weights(&self) -> Vec<Range<usize>> {
        self.plan()
            .iter()
            .filter(|l| l.has_params() && l.number > 1)
            .map(|l| l.w_off..l.b_off)
            .collect()
    }

    /// Forward pass with dropout: for each row, each channel of each hidden conv layer's output
    /// (all its positions at once) and each unit of each hidden dense layer's output is kept
    /// with probability 1 − `rate` and then scaled by 1/(1 − `rate`), else zeroed (`rate` ≥ 1
    /// zeroes all). Masks are drawn from `rng` layer by layer, row by row, channel by channel
    /// (one uniform each); `rate` ≤ 0 is [`Cnn::forward`] and draws nothing. The mask is folded
    /// into the stored activation derivative, so [`Cnn::backward`] afterwards gives the
    /// gradient of the thinned network.
    pub fn forward_dropout<T: Real>(
        &self,
        theta: &[T],
        x: &[T],
        rows: usize,
        ws: &mut CnnWorkspace<T>,
        rate: f64,
        rng: &mut Rng,
    ) {
        if rate <= 0.0 {
            self.forward(theta, x, rows, ws);
            return;
        }
        let keep = if rate < 1.0 {
            T::from_f64(1.0 / (1.0 - rate))
        } else {
            T::ZERO
        };
        self.resize(ws, rows);
        let plan = self.plan();
        self.forward_with(theta, x, rows, ws, |i, out, deriv| {
            if !self.drops(i) {
                return;
            }
            let (positions, units) = (plan[i].positions(), plan[i].units());
            let per_row = positions * units;
            for (o, d) in out
                .chunks_exact_mut(per_row)
                .zip(deriv.chunks_exact_mut(per_row))
            {
                for c in 0..units {
                    if rng::uniform(rng) >= rate {
                        for p in 0..positions {
                            o[p * units + c] *= keep;
                            d[p * units + c] *= keep;
                        }
                    } else {
                        for p in 0..positions {
                            o[p * units + c] = T::ZERO;
                            d[p * units + c] = T::ZERO;
                        }
                    }
                }
            }
        });
    }
}
