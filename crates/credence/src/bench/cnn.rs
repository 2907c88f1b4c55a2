//! The CNN gradient benchmark of `../shared/peers/cnn_bench` (`credence bench grad --cnn`): one
//! full-batch gradient of the summed softmax cross-entropy of a LeNet-style network on 256
//! single-channel 28×28 images, at the peer's deterministic parameters and inputs, in f32 and
//! f64 on one and two threads.

use crate::error::{Error, Result};
use crate::nn::conv::{Cnn, ConvSpec, DenseSpec, LayerSpec, PoolKind, PoolSpec};
use crate::nn::{Activation, CnnWorkspace, Real};
use serde::Serialize;
use std::time::Instant;

/// The peer README's loss at its parameters (summed over the 256 images).
pub const EXPECTED_LOSS: f64 = 5.903535e2;
/// The peer README's sum of squared gradient entries.
pub const EXPECTED_GRAD_NORM2: f64 = 9.60505e2;
/// Images in the peer's batch.
pub const ROWS: usize = 256;

/// The benchmark's network, parameters (in Credence's layout) and data.
#[derive(Debug, Clone)]
pub struct LeNet {
    /// conv 5×5 1→6 tanh, avg2, conv 5×5 6→16 tanh, avg2, dense 120 tanh, dense 84 tanh, 10.
    pub net: Cnn,
    /// Images.
    pub rows: usize,
    /// The peer's parameters, permuted into Credence's layout.
    pub theta: Vec<f64>,
    /// Images, NHWC (= NCHW for one channel): sin(0.013·j).
    pub x: Vec<f64>,
    /// Labels 7n mod 10.
    pub y: Vec<usize>,
}

/// Results of [`LeNet::run`].
#[derive(Debug, Clone, Serialize)]
pub struct CnnResult {
    /// Loss at the peer's parameters (f64).
    pub loss: f64,
    /// Sum of squared gradient entries (f64).
    pub grad_norm2: f64,
    /// The same in f32.
    pub loss_f32: f64,
    /// The same in f32.
    pub grad_norm2_f32: f64,
    /// Median µs per f32 gradient on one thread.
    pub f32_1t_us: f64,
    /// Median µs per f64 gradient on one thread.
    pub f64_1t_us: f64,
    /// Median µs per f32 gradient on rayon's threads.
    pub f32_us: f64,
    /// Median µs per f64 gradient on rayon's threads.
    pub f64_us: f64,
}

impl LeNet {
    /// The peer's case on its first `rows` images (256 for the check values).
    pub fn new(rows: usize) -> Self {
        let conv = |out| LayerSpec::Conv2d(ConvSpec::new(out, 5));
        let pool = LayerSpec::Pool(PoolSpec::Window(PoolKind::Avg, 2));
        let layers = [
            conv(6),
            pool.clone(),
            conv(16),
            pool,
            LayerSpec::Dense(DenseSpec::new(120)),
            LayerSpec::Dense(DenseSpec::new(84)),
        ];
        let net = Cnn::new(&[1, 28, 28], &layers, Activation::Tanh, 10)
            .expect("the LeNet description is valid");
        let mut theta = vec![0.0; net.dim()];
        let fan = [25.0f64, 150.0, 256.0, 120.0, 84.0];
        let params: Vec<_> = net.plan().iter().filter(|l| l.has_params()).collect();
        for (li, l) in params.iter().enumerate() {
            let (k, m) = (l.fan_in, l.units());
            let s = 1.0 / fan[li].sqrt();
            for i in 0..k {
                for o in 0..m {
                    // Peer index: conv OIHW, dense [out, in] with the input flattened as CHW.
                    let j = match l.op {
                        crate::nn::conv::Op::Conv(w) => {
                            let (ky, rest) = (i / (w.kw * l.input.c), i % (w.kw * l.input.c));
                            let (kx, ci) = (rest / l.input.c, rest % l.input.c);
                            ((o * l.input.c + ci) * w.kh + ky) * w.kw + kx
                        }
                        _ if li == 2 => {
                            // Credence flattens 4×4×16 as HWC; the peer as CHW.
                            let (hw, c) = (i / 16, i % 16);
                            o * k + c * 16 + hw
                        }
                        _ => o * k + i,
                    };
                    theta[l.w_off + i * m + o] = (0.37 * j as f64 + li as f64 + 1.0).sin() * s;
                }
            }
            for o in 0..m {
                theta[l.b_off + o] = 0.1 * (o as f64 + li as f64).cos();
            }
        }
        let x = (0..rows * 784).map(|j| (0.013 * j as f64).sin()).collect();
        let y = (0..rows).map(|n| n * 7 % 10).collect();
        LeNet {
            net,
            rows,
            theta,
            x,
            y,
        }
    }

    /// A gradient task in element type `T`.
    pub fn task<T: Real>(&self) -> LeNetTask<'_, T> {
        LeNetTask {
            case: self,
            theta: self.theta.iter().map(|&v| T::from_f64(v)).collect(),
            x: self.x.iter().map(|&v| T::from_f64(v)).collect(),
            ws: self.net.workspace_of(self.rows),
            grad: vec![T::ZERO; self.net.dim()],
        }
    }

    /// Loss and sum of squared gradient entries in element type `T`.
    pub fn check<T: Real>(&self) -> (f64, f64) {
        let mut t = self.task::<T>();
        let loss = t.grad();
        (loss, t.grad.iter().map(|g| g.to_f64().powi(2)).sum())
    }

    /// Check values, then median µs per gradient (of `repeats` timings of `iters` gradients)
    /// in f32 and f64 on one thread and on rayon's threads. Fails when either precision's check
    /// values differ from the peer's in the fifth digit.
    pub fn run(&self, iters: usize, repeats: usize) -> Result<CnnResult> {
        let (loss, grad_norm2) = self.check::<f64>();
        let (loss_f32, grad_norm2_f32) = self.check::<f32>();
        if self.rows == ROWS {
            for (what, got, want) in [
                ("f64 loss", loss, EXPECTED_LOSS),
                ("f64 grad_norm2", grad_norm2, EXPECTED_GRAD_NORM2),
                ("f32 loss", loss_f32, EXPECTED_LOSS),
                ("f32 grad_norm2", grad_norm2_f32, EXPECTED_GRAD_NORM2),
            ] {
                if (got / want - 1.0).abs().is_nan() || (got / want - 1.0).abs() >= 1e-5 {
                    return Err(Error::Numeric(format!(
                        "CNN benchmark check failed: {what} = {got:.6e}, the peer's value is {want:.6e} (must agree to 5 digits)"
                    )));
                }
            }
        }
        let mut t32 = self.task::<f32>();
        let mut t64 = self.task::<f64>();
        t32.ws.set_max_threads(1);
        t64.ws.set_max_threads(1);
        let f32_1t_us = time_us(iters, repeats, || {
            t32.grad();
        });
        let f64_1t_us = time_us(iters, repeats, || {
            t64.grad();
        });
        t32.ws.set_max_threads(0);
        t64.ws.set_max_threads(0);
        let f32_us = time_us(iters, repeats, || {
            t32.grad();
        });
        let f64_us = time_us(iters, repeats, || {
            t64.grad();
        });
        Ok(CnnResult {
            loss,
            grad_norm2,
            loss_f32,
            grad_norm2_f32,
            f32_1t_us,
            f64_1t_us,
            f32_us,
            f64_us,
        })
    }
}

/// One precision's parameters, inputs, workspace and gradient buffer.
#[derive(Debug)]
pub struct LeNetTask<'a, T: Real> {
    case: &'a LeNet,
    theta: Vec<T>,
    x: Vec<T>,
    ws: CnnWorkspace<T>,
    grad: Vec<T>,
}

impl<T: Real> LeNetTask<'_, T> {
    /// One gradient of the summed cross-entropy (into the task's buffer); returns the loss.
    pub fn grad(&mut self) -> f64 {
        let y = &self.case.y;
        let objective = |r: std::ops::Range<usize>, out: &[T], g: &mut [T], _e: &mut f64| {
            softmax_xent(&y[r], out, g)
        };
        self.grad.fill(T::ZERO);
        let (loss, _) = self.case.net.grad_chunked(
            &self.theta,
            &self.x,
            self.case.rows,
            &mut self.ws,
            &mut self.grad,
            &objective,
        );
        loss
    }

    /// The gradient of the last [`LeNetTask::grad`].
    pub fn gradient(&self) -> &[T] {
        &self.grad
    }
}

/// Summed softmax cross-entropy of 10-class logits; writes softmax − one-hot into `g`.
fn softmax_xent<T: Real>(y: &[usize], out: &[T], g: &mut [T]) -> f64 {
    let mut total = 0.0;
    for ((row, gr), &yn) in out.chunks_exact(10).zip(g.chunks_exact_mut(10)).zip(y) {
        let mx = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(v.to_f64()));
        let mut s = 0.0;
        for (gi, v) in gr.iter_mut().zip(row) {
            let e = (v.to_f64() - mx).exp();
            *gi = T::from_f64(e);
            s += e;
        }
        for gi in gr.iter_mut() {
            *gi = T::from_f64(gi.to_f64() / s);
        }
        gr[yn] = T::from_f64(gr[yn].to_f64() - 1.0);
        total += mx + s.ln() - row[yn].to_f64();
    }
    total
}

/// Median of `repeats` timings of `iters` calls, in µs per call (after a few warm-up calls).
fn time_us(iters: usize, repeats: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let mut v: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters.max(1) {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / iters.max(1) as f64
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
