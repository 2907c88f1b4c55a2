//! The gradient benchmark of `../shared/peers/grad_bench` (`credence bench grad`): the full-batch
//! gradient of U(θ) = Σᵢ (yᵢ − f(xᵢ; θ))²/(2σ²) + Σⱼ θⱼ²/(2τ²) (σ = 0.5, τ = 1) of a tanh MLP with
//! linear output, on the peer's exact data (its xorshift generator is ported here), in f64 through
//! the model samplers use (`Model::logp_grad`) and in f32 through the engine's f32 path.

use crate::data::{uci::UciFolder, ConstantColumn, Dataset, Standardizer};
use crate::density::LogDensity;
use crate::error::{Error, Result};
use crate::likelihood::Likelihood;
use crate::model::{Model, ModelSpec};
use crate::nn::{Activation, Mlp, Real, Workspace};
use crate::prior::{Prior, PriorSet, Provenance};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// Noise scale σ of the benchmark's Gaussian likelihood.
pub const SIGMA: f64 = 0.5;
/// Prior scale τ of the benchmark's N(0, τ²) prior on every parameter.
pub const TAU: f64 = 1.0;
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// The peer's generator (`common.py`: `Rng`): xorshift64 seeded through an LCG step.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// Seeds as `Rng(seed)` does.
    pub fn new(seed: u64) -> Self {
        XorShift(
            seed.wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407),
        )
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform on [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal by Box–Muller (one value per two uniforms, as the peer does).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// `n` normals times `scale`.
    pub fn normals(&mut self, n: usize, scale: f64) -> Vec<f64> {
        (0..n).map(|_| self.normal() * scale).collect()
    }

    /// Parameters in Credence's layout (per layer: W row-major inputs × outputs, then bias):
    /// weights N(0, 1/fan_in), biases N(0, 0.1²), drawn in the peer's order.
    pub fn params(&mut self, sizes: &[usize]) -> Vec<f64> {
        let mut theta = Vec::new();
        for w in sizes.windows(2) {
            theta.extend(self.normals(w[0] * w[1], 1.0 / (w[0] as f64).sqrt()));
            theta.extend(self.normals(w[1], 0.1));
        }
        theta
    }
}

/// One benchmark case: network, data and the parameters the gradient is taken at.
#[derive(Debug, Clone)]
pub struct GradCase {
    /// Case name (`small`, `big`, `boston`).
    pub name: String,
    /// Layer widths.
    pub sizes: Vec<usize>,
    /// Rows of data.
    pub rows: usize,
    /// Inputs, row-major `rows × sizes[0]`.
    pub x: Vec<f64>,
    /// Targets.
    pub y: Vec<f64>,
    /// θ₀.
    pub theta: Vec<f64>,
    /// Timed gradients per repeat.
    pub iters: usize,
    /// The peer README's check values (U(θ₀), ‖∇U(θ₀)‖²), where it gives them (tanh).
    pub expected: Option<(f64, f64)>,
    /// Hidden activation (the peers' tanh unless changed with [`GradCase::with_activation`]).
    pub activation: Activation,
}

impl GradCase {
    /// The peer's `make_data(sizes, rows)`: x, y, then parameters, all from `Rng(42)`.
    pub fn synthetic(name: &str, sizes: &[usize], rows: usize, iters: usize) -> Self {
        let mut r = XorShift::new(42);
        let x = r.normals(rows * sizes[0], 1.0);
        let y = r.normals(rows, 1.0);
        let theta = r.params(sizes);
        GradCase {
            name: name.into(),
            sizes: sizes.to_vec(),
            rows,
            x,
            y,
            theta,
            iters,
            expected: None,
            activation: Activation::Tanh,
        }
    }

    /// The same case with another hidden activation (the check values then no longer apply).
    pub fn with_activation(mut self, activation: Activation) -> Self {
        if activation != self.activation {
            self.expected = None;
        }
        self.activation = activation;
        self
    }

    /// 13→50→1 on 506 rows (NUTS on a UCI dataset).
    pub fn small() -> Self {
        let mut c = Self::synthetic("small", &[13, 50, 1], 506, 3000);
        c.expected = Some((1.662212e3, 3.915332e6));
        c
    }

    /// 8→100→100→1 on 8192 rows.
    pub fn big() -> Self {
        let mut c = Self::synthetic("big", &[8, 100, 100, 1], 8192, 200);
        c.expected = Some((1.879595e4, 7.810497e8));
        c
    }

    /// bostonHousing, UCI split 0, training rows (455), features and target standardised with
    /// the training statistics; 13→50→1; θ₀ from the peer's generator (`Rng(42)`, parameters only).
    pub fn boston(dir: &Path) -> Result<Self> {
        let (train, _) = UciFolder::open(dir)?.split(0)?;
        let st = Standardizer::fit(&train, true, ConstantColumn::Keep)?;
        let d: Dataset = st.transform(&train)?;
        let sizes = vec![d.features, 50, 1];
        let theta = XorShift::new(42).params(&sizes);
        Ok(GradCase {
            name: "boston".into(),
            sizes,
            rows: d.rows,
            x: d.x,
            y: d.y,
            theta,
            iters: 3000,
            expected: None,
            activation: Activation::Tanh,
        })
    }

    /// The f64 model samplers use: an MLP (tanh unless changed), Gaussian likelihood with σ = 0.5, N(0, 1) on every
    /// network parameter (log p = −U − constants).
    pub fn model(&self) -> Result<Model> {
        let spec = ModelSpec {
            net: Mlp::new(self.sizes.clone(), self.activation).into(),
            likelihood: Likelihood::Gaussian { noise: Some(SIGMA) },
        };
        let priors = PriorSet {
            priors: vec![Prior {
                params: "*".into(),
                distribution: crate::dist::Dist::Normal {
                    loc: 0.0,
                    scale: TAU,
                },
                provenance: Provenance::default_with("grad benchmark", "N(0, τ²), τ = 1"),
                on: Default::default(),
                per_parameter: None,
                hierarchy: None,
            }],
        }
        .resolve(&spec.layout(), "grad benchmark")?;
        let data = Dataset::from_arrays(self.x.clone(), self.y.clone(), self.sizes[0])?;
        Model::new(spec, Some(priors), &data)
    }

    /// U(θ) from the model's log p(θ): U = −log p − n(ln σ + ½ ln 2π) − d(ln τ + ½ ln 2π).
    pub fn u_from_logp(&self, logp: f64) -> f64 {
        let d = Mlp::new(self.sizes.clone(), self.activation).dim() as f64;
        -logp - self.rows as f64 * (SIGMA.ln() + HALF_LN_2PI) - d * (TAU.ln() + HALF_LN_2PI)
    }
}

/// U(θ) and ∇U(θ) in element type `T` on the engine directly (the f32 path; f64 too).
#[derive(Debug, Clone)]
pub struct GradTask<T: Real> {
    mlp: Mlp,
    rows: usize,
    x: Vec<T>,
    y: Vec<T>,
    ws: Workspace<T>,
}

impl<T: Real> GradTask<T> {
    /// Converts a case's data to `T`.
    pub fn new(case: &GradCase) -> Self {
        let mlp = Mlp::new(case.sizes.clone(), case.activation);
        let ws = mlp.workspace_of(case.rows);
        GradTask {
            rows: case.rows,
            x: case.x.iter().map(|&v| T::from_f64(v)).collect(),
            y: case.y.iter().map(|&v| T::from_f64(v)).collect(),
            mlp,
            ws,
        }
    }

    /// The workspace (to pick an instruction set).
    pub fn workspace_mut(&mut self) -> &mut Workspace<T> {
        &mut self.ws
    }

    /// Writes ∇U(θ) into `grad` and returns U(θ).
    pub fn value_grad(&mut self, theta: &[T], grad: &mut [T]) -> T {
        let inv_var = T::from_f64(1.0 / (SIGMA * SIGMA));
        let inv_tau2 = T::from_f64(1.0 / (TAU * TAU));
        let half = T::from_f64(0.5);
        let mut pr = T::ZERO;
        for (g, t) in grad.iter_mut().zip(theta) {
            pr += *t * *t;
            *g = *t * inv_tau2;
        }
        let prior = (half * pr * inv_tau2).to_f64();
        // Σ (y − f)²/(2σ²) over a range of rows, writing ∂/∂f (fused and chunked paths).
        let y = &self.y;
        let objective = |r: std::ops::Range<usize>, out: &[T], og: &mut [T], _: &mut f64| {
            let mut ss = T::ZERO;
            for ((o, g), y) in out.iter().zip(og.iter_mut()).zip(&y[r]) {
                let d = *o - *y;
                ss += d * d;
                *g = d * inv_var;
            }
            (half * ss * inv_var).to_f64()
        };
        if self.mlp.fuses(self.rows) {
            let fit =
                self.mlp
                    .grad_fused_par(theta, &self.x, self.rows, &mut self.ws, grad, &objective);
            if let Some((fit, _)) = fit {
                return T::from_f64(fit + prior);
            }
        }
        if self.mlp.chunks(self.rows) {
            let (fit, _) =
                self.mlp
                    .grad_chunked(theta, &self.x, self.rows, &mut self.ws, grad, &objective);
            return T::from_f64(fit + prior);
        }
        self.mlp.forward(theta, &self.x, self.rows, &mut self.ws);
        let (out, og) = self.ws.output_and_grad();
        let mut ss = T::ZERO;
        for ((o, g), y) in out.iter().zip(og.iter_mut()).zip(&self.y) {
            let r = *o - *y;
            ss += r * r;
            *g = r * inv_var;
        }
        self.mlp
            .backward(theta, &self.x, self.rows, &mut self.ws, grad);
        half * ss * inv_var + T::from_f64(prior)
    }
}

/// Timings and check values of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Microseconds per f64 gradient (`Model::logp_grad`, default threads: the fused path splits
    /// its rows over two threads when the batch is large enough, see `Mlp::fused_threads`).
    pub f64_us: f64,
    /// Microseconds per f64 gradient on one thread (`Model::set_threads(1)`; what each chain
    /// gets when NUTS runs one chain per core). Equal work to `f64_us` where that is one thread.
    pub f64_1t_us: f64,
    /// Microseconds per f32 gradient (engine in f32).
    pub f32_us: f64,
    /// U(θ₀) (f64).
    pub loss: f64,
    /// ‖∇U(θ₀)‖² (f64).
    pub grad_norm2: f64,
    /// U(θ₀) in f32.
    pub loss_f32: f64,
    /// ‖∇U(θ₀)‖² in f32.
    pub grad_norm2_f32: f64,
    /// Expected U(θ₀) from the peer's README, where given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_loss: Option<f64>,
    /// Expected ‖∇U(θ₀)‖² from the peer's README, where given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_grad_norm2: Option<f64>,
}

/// Median of `repeats` timings of `iters` calls, in µs per call (after `iters/10` warm-up calls).
fn time_us(iters: usize, repeats: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..(iters / 10).max(5) {
        f();
    }
    let mut v: Vec<f64> = (0..repeats)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / iters as f64
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs one case: check values at θ₀, then µs per gradient in f64 and f32. `scale` multiplies
/// the number of timed gradients (1.0: the peer's counts).
pub fn run_case(case: &GradCase, scale: f64, repeats: usize) -> Result<CaseResult> {
    let iters = ((case.iters as f64 * scale).round() as usize).max(1);
    let mut model = case.model()?;
    let mut g = vec![0.0; case.theta.len()];
    let logp = model.logp_grad(&case.theta, &mut g)?;
    let loss = case.u_from_logp(logp);
    let grad_norm2: f64 = g.iter().map(|v| v * v).sum();
    // The timed loops run inside the rayon pool, as the samplers' chains do: there the fused
    // path's two halves are a cheap `rayon::join`; a caller outside the pool gets one thread
    // for the fused path (see `Mlp::fused_threads`).
    let mut time_model = |model: &mut Model| -> Result<f64> {
        let mut failed = None;
        let us = rayon::scope(|_| {
            time_us(iters, repeats, || {
                if let Err(e) = model.logp_grad(&case.theta, &mut g) {
                    failed = Some(e);
                }
            })
        });
        failed.map_or(Ok(us), Err)
    };
    let f64_us = time_model(&mut model)?;
    model.set_threads(1);
    let f64_1t_us = time_model(&mut model)?;
    let mut task = GradTask::<f32>::new(case);
    let theta32: Vec<f32> = case.theta.iter().map(|&v| v as f32).collect();
    let mut g32 = vec![0.0f32; theta32.len()];
    let loss_f32 = f64::from(task.value_grad(&theta32, &mut g32));
    let grad_norm2_f32: f64 = g32.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    if !loss_f32.is_finite() {
        return Err(Error::Numeric(format!("f32 U(θ₀) is {loss_f32}")));
    }
    let f32_us = rayon::scope(|_| {
        time_us(iters, repeats, || {
            task.value_grad(&theta32, &mut g32);
        })
    });
    Ok(CaseResult {
        f64_us,
        f64_1t_us,
        f32_us,
        loss,
        grad_norm2,
        loss_f32,
        grad_norm2_f32,
        expected_loss: case.expected.map(|e| e.0),
        expected_grad_norm2: case.expected.map(|e| e.1),
    })
}

/// The CPU's model name (from /proc/cpuinfo on Linux; "unknown" elsewhere).
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
