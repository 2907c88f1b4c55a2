//! The engine's kernels: vectorised tanh/exp against libm over dense grids, every available
//! instruction set against the portable path, f32 gradients against finite differences and f64,
//! the grad benchmark's check values, and batched evaluation against one-at-a-time results.

use credence::bench::grad::{GradCase, GradTask};
use credence::density::LogDensity;
use credence::nn::kernels::{activate, exp_in_place};
use credence::nn::{Activation, Isa, Mlp, Real, Workspace};
use credence::rng;

/// x on [−25, 25] in steps of 1e-4, plus a log grid of tiny magnitudes (1e-300 … 1e-2).
fn tanh_grid() -> Vec<f64> {
    let mut g: Vec<f64> = (-250_000..=250_000).map(|i| i as f64 * 1e-4).collect();
    for e in -300..=-2 {
        for m in [1.0, 2.5, 5.0, 7.5] {
            g.push(m * 10f64.powi(e));
            g.push(-m * 10f64.powi(e));
        }
    }
    g
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
    }
}

#[test]
fn tanh_f64_matches_libm_on_every_isa() {
    let grid = tanh_grid();
    for isa in Isa::available() {
        let mut z = grid.clone();
        let mut d = vec![0.0; z.len()];
        activate(isa, Activation::Tanh, &mut z, &mut d);
        let (mut worst, mut worst_d) = (0.0f64, 0.0f64);
        for ((&x, &t), &dv) in grid.iter().zip(&z).zip(&d) {
            worst = worst.max(rel(t, x.tanh()));
            // 1/cosh² x, accurate to a few ulp for |x| ≤ 25.
            let c = x.cosh();
            worst_d = worst_d.max(rel(dv, 1.0 / (c * c)));
        }
        // Stated bound: max relative error ≤ 1e-14 for tanh; the derivative
        // 1 − tanh² is computed without cancellation, to ≤ 1e-13.
        assert!(worst <= 1e-14, "{isa:?}: tanh max relative error {worst:e}");
        assert!(
            worst_d <= 1e-13,
            "{isa:?}: tanh' max relative error {worst_d:e}"
        );
    }
}

#[test]
fn tanh_special_values() {
    for isa in Isa::available() {
        let mut z = vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0, 1e308];
        let mut d = vec![0.0; z.len()];
        activate(isa, Activation::Tanh, &mut z, &mut d);
        assert!(z[0].is_nan(), "{isa:?}: tanh(NaN) must stay NaN");
        assert_eq!(&z[1..], &[1.0, -1.0, -0.0, 0.0, 1.0]);
        assert!(z[3].is_sign_negative());
        assert_eq!(d[4], 1.0);
    }
}

#[test]
fn exp_f64_matches_libm_on_every_isa() {
    let grid: Vec<f64> = (-700_000..=700_000).map(|i| i as f64 * 1e-3).collect();
    for isa in Isa::available() {
        let mut z = grid.clone();
        exp_in_place(isa, &mut z);
        let worst = grid
            .iter()
            .zip(&z)
            .map(|(&x, &e)| rel(e, x.exp()))
            .fold(0.0, f64::max);
        // Stated bound ≤ 1e-14 on [−700, 700].
        assert!(worst <= 1e-14, "{isa:?}: exp max relative error {worst:e}");
    }
}

#[test]
fn tanh_and_exp_f32_are_within_a_few_ulp() {
    let grid = tanh_grid();
    for isa in Isa::available() {
        let mut z: Vec<f32> = grid.iter().map(|&x| x as f32).collect();
        let x32 = z.clone();
        let mut d = vec![0.0f32; z.len()];
        activate(isa, Activation::Tanh, &mut z, &mut d);
        let worst = x32
            .iter()
            .zip(&z)
            .map(|(&x, &t)| rel(f64::from(t), f64::from(x).tanh()))
            .fold(0.0, f64::max);
        // f32 bound: 4e-7 relative (≈ 3 ulp; f32 rounding alone is 6e-8).
        assert!(
            worst <= 4e-7,
            "{isa:?}: f32 tanh max relative error {worst:e}"
        );
        let mut e: Vec<f32> = (-80_000..=80_000).map(|i| i as f32 * 1e-3).collect();
        let xe = e.clone();
        exp_in_place(isa, &mut e);
        let worst = xe
            .iter()
            .zip(&e)
            .map(|(&x, &v)| rel(f64::from(v), f64::from(x).exp()))
            .fold(0.0, f64::max);
        assert!(
            worst <= 4e-7,
            "{isa:?}: f32 exp max relative error {worst:e}"
        );
    }
}

/// Forward + backward on `isa`; returns (outputs, gradient).
fn run<T: Real>(mlp: &Mlp, theta: &[T], x: &[T], rows: usize, isa: Isa) -> (Vec<T>, Vec<T>) {
    let mut ws: Workspace<T> = mlp.workspace_of(rows);
    ws.set_isa(isa);
    mlp.forward(theta, x, rows, &mut ws);
    let (out, og) = ws.output_and_grad();
    let out = out.to_vec();
    for (i, g) in og.iter_mut().enumerate() {
        *g = T::from_f64(((i as f64) * 0.61).sin());
    }
    let mut grad = vec![T::ZERO; mlp.dim()];
    mlp.backward(theta, x, rows, &mut ws, &mut grad);
    (out, grad)
}

fn close(a: &[f64], b: &[f64], tol: f64) -> f64 {
    let scale = b.iter().map(|v| v.abs()).fold(0.0, f64::max).max(1.0);
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= tol * scale,
        "max difference {worst:e} > {tol:e}·{scale}"
    );
    worst
}

#[test]
fn every_isa_agrees_with_the_portable_path() {
    // Shapes with full tiles, partial tiles, one output, several outputs and odd row counts.
    let shapes: [(&[usize], usize, Activation); 5] = [
        (&[13, 50, 1], 37, Activation::Tanh),
        (&[8, 100, 100, 1], 300, Activation::Tanh),
        (&[3, 7, 5, 3], 11, Activation::Relu),
        (&[5, 33, 2], 9, Activation::Gelu),
        (&[4, 1, 6, 17], 5, Activation::Softplus),
    ];
    for (sizes, rows, act) in shapes {
        let mlp = Mlp::new(sizes.to_vec(), act);
        let mut r = rng::stream(3, 7);
        let theta: Vec<f64> = (0..mlp.dim()).map(|_| 0.5 * rng::normal(&mut r)).collect();
        let x: Vec<f64> = (0..rows * sizes[0]).map(|_| rng::normal(&mut r)).collect();
        let (o0, g0) = run(&mlp, &theta, &x, rows, Isa::Scalar);
        let t32: Vec<f32> = theta.iter().map(|&v| v as f32).collect();
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let (o0f, g0f) = run(&mlp, &t32, &x32, rows, Isa::Scalar);
        let up = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<_>>();
        let (o0f, g0f) = (up(o0f), up(g0f));
        for isa in Isa::available() {
            // Same arithmetic up to summation order and FMA rounding: 1e-12 relative to the
            // largest entry in f64, 1e-4 in f32.
            let (o, g) = run(&mlp, &theta, &x, rows, isa);
            close(&o, &o0, 1e-12);
            close(&g, &g0, 1e-12);
            let (of, gf) = run(&mlp, &t32, &x32, rows, isa);
            close(&up(of), &o0f, 1e-4);
            close(&up(gf), &g0f, 1e-4);
            // And f32 agrees with f64 to f32 accuracy.
            close(&up(run(&mlp, &t32, &x32, rows, isa).1), &g0, 1e-3);
        }
    }
}

#[test]
fn benchmark_check_values_match_the_peer() {
    // The peer README prints U and ‖∇U‖² to 7 significant digits (rounding ≤ 5e-7 relative).
    for case in [GradCase::small(), GradCase::big()] {
        let (u, g2) = case.expected.unwrap();
        let mut model = case.model().unwrap();
        let mut g = vec![0.0; case.theta.len()];
        let logp = model.logp_grad(&case.theta, &mut g).unwrap();
        let loss = case.u_from_logp(logp);
        let norm2: f64 = g.iter().map(|v| v * v).sum();
        assert!(rel(loss, u) < 1e-6, "{}: U = {loss} vs {u}", case.name);
        assert!(
            rel(norm2, g2) < 1e-6,
            "{}: ‖∇U‖² = {norm2} vs {g2}",
            case.name
        );
        // The f64 engine task computes the same U and gradient as the model (≤ 1e-12).
        let mut task = GradTask::<f64>::new(&case);
        let mut gt = vec![0.0; g.len()];
        let ut = task.value_grad(&case.theta, &mut gt);
        assert!(rel(ut, loss) < 1e-12);
        close(&gt.iter().map(|v| -v).collect::<Vec<_>>(), &g, 1e-12);
        // f32: U and ‖∇U‖² within 1e-4 relative of f64 (sums of ≤ 8192 rounded terms).
        let mut t32 = GradTask::<f32>::new(&case);
        let th: Vec<f32> = case.theta.iter().map(|&v| v as f32).collect();
        let mut g32 = vec![0.0f32; th.len()];
        let u32_ = f64::from(t32.value_grad(&th, &mut g32));
        let n32: f64 = g32.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        assert!(
            rel(u32_, loss) < 1e-4,
            "{}: f32 U {u32_} vs {loss}",
            case.name
        );
        assert!(
            rel(n32, norm2) < 1e-4,
            "{}: f32 ‖∇U‖² {n32} vs {norm2}",
            case.name
        );
    }
}

#[test]
fn f32_gradient_matches_finite_differences() {
    // Directional derivatives along random directions, central differences in f32 with
    // h = 1e-2: truncation ~h²·|U'''| ≈ 1e-4 and rounding ~ε₃₂·|U|/h ≈ 1e-4 for U ≈ 10, so a
    // tolerance of 2e-2·(1 + |∇U·v|) is loose but still catches any wrong term.
    let case = GradCase::synthetic("fd", &[3, 6, 5, 1], 7, 1);
    let mut task = GradTask::<f32>::new(&case);
    let th: Vec<f32> = case.theta.iter().map(|&v| v as f32).collect();
    let mut g = vec![0.0f32; th.len()];
    task.value_grad(&th, &mut g);
    let mut r = rng::stream(11, 1);
    let mut scratch = vec![0.0f32; th.len()];
    for _ in 0..10 {
        let v: Vec<f32> = (0..th.len()).map(|_| rng::normal(&mut r) as f32).collect();
        let h = 1e-2f32;
        let tp: Vec<f32> = th.iter().zip(&v).map(|(t, d)| t + h * d).collect();
        let tm: Vec<f32> = th.iter().zip(&v).map(|(t, d)| t - h * d).collect();
        let fd =
            (task.value_grad(&tp, &mut scratch) - task.value_grad(&tm, &mut scratch)) / (2.0 * h);
        let an: f32 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert!(
            (fd - an).abs() <= 2e-2 * (1.0 + an.abs()),
            "directional derivative: analytic {an} vs finite difference {fd}"
        );
    }
}

#[test]
fn batched_equals_one_at_a_time() {
    let mlp = Mlp::new(vec![4, 9, 2], Activation::Tanh);
    let rows = 13;
    let mut r = rng::stream(5, 5);
    let x: Vec<f64> = (0..rows * 4).map(|_| rng::normal(&mut r)).collect();
    let thetas: Vec<Vec<f64>> = (0..37).map(|_| mlp.init(&mut r)).collect();
    let many = mlp.predict_many(&thetas, &x, rows);
    for (s, th) in thetas.iter().enumerate() {
        let one = mlp.predict(th, &x, rows);
        assert_eq!(
            &many[s * rows * 2..(s + 1) * rows * 2],
            &one[..],
            "sample {s}"
        );
    }
    // Gradients for many parameter vectors through the model.
    let case = GradCase::synthetic("many", &[3, 8, 1], 21, 1);
    let mut model = case.model().unwrap();
    let d = model.dim();
    let thetas: Vec<Vec<f64>> = (0..9)
        .map(|s| case.theta.iter().map(|t| t + 0.01 * s as f64).collect())
        .collect();
    let mut grads = vec![0.0; 9 * d];
    let mut lps = vec![0.0; 9];
    model.logp_grad_many(&thetas, &mut grads, &mut lps).unwrap();
    for (s, th) in thetas.iter().enumerate() {
        let mut g = vec![0.0; d];
        let lp = model.logp_grad(th, &mut g).unwrap();
        assert_eq!(lp, lps[s]);
        assert_eq!(&grads[s * d..(s + 1) * d], &g[..]);
    }
}

#[test]
fn boston_case_loads_and_agrees_in_f32() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/bostonHousing");
    let case = GradCase::boston(&dir).unwrap();
    assert_eq!((case.rows, case.sizes.clone()), (455, vec![13, 50, 1]));
    let r = credence::bench::grad::run_case(&case, 0.001, 1).unwrap();
    assert!(r.loss.is_finite() && r.grad_norm2 > 0.0);
    assert!(rel(r.loss_f32, r.loss) < 1e-4 && rel(r.grad_norm2_f32, r.grad_norm2) < 1e-4);
}

#[test]
fn fused_gradient_equals_forward_then_backward() {
    // One hidden layer, one output: `grad_fused` against `forward` + `backward` with the same
    // output gradient, on every instruction set, f64 and f32, over shapes with odd widths,
    // row counts that leave partial blocks (the block is 16 rows for 50 hidden units, 8 for
    // 130, 64 for 3) and several activations. Same arithmetic up to summation order: 1e-12
    // relative to the largest entry in f64, 1e-4 in f32.
    let shapes: [(&[usize], usize, Activation); 6] = [
        (&[13, 50, 1], 455, Activation::Tanh),
        (&[13, 50, 1], 37, Activation::Tanh),
        (&[3, 7, 1], 1, Activation::Tanh),
        (&[5, 130, 1], 70, Activation::Relu),
        (&[1, 3, 1], 131, Activation::Gelu),
        (&[4, 9, 1], 17, Activation::Softplus),
    ];
    fn check<T: Real>(mlp: &Mlp, theta: &[T], x: &[T], rows: usize, isa: Isa, tol: f64) {
        let (o0, g0) = run(mlp, theta, x, rows, isa);
        let mut ws: Workspace<T> = mlp.workspace_of(rows);
        ws.set_isa(isa);
        let mut grad = vec![T::ZERO; mlp.dim()];
        let mut seen = vec![false; rows];
        let mut objective = |r: std::ops::Range<usize>, out: &[T], og: &mut [T]| {
            let mut v = 0.0;
            for (n, (o, g)) in r.zip(out.iter().zip(og.iter_mut())) {
                assert!(!seen[n], "row {n} visited twice");
                seen[n] = true;
                let c = ((n as f64) * 0.61).sin();
                *g = T::from_f64(c);
                v += c * o.to_f64();
            }
            v
        };
        let total = mlp
            .grad_fused(theta, x, rows, &mut ws, &mut grad, &mut objective)
            .expect("fused path for one hidden layer and one output");
        assert!(seen.iter().all(|&s| s), "every row visited");
        let up = |v: &[T]| v.iter().map(|t| t.to_f64()).collect::<Vec<_>>();
        let o0 = up(&o0);
        close(&up(ws.output()), &o0, tol);
        close(&up(&grad), &up(&g0), tol);
        let expect: f64 = o0
            .iter()
            .enumerate()
            .map(|(n, o)| ((n as f64) * 0.61).sin() * o)
            .sum();
        assert!((total - expect).abs() <= tol * (1.0 + expect.abs()));
    }
    for (sizes, rows, act) in shapes {
        let mlp = Mlp::new(sizes.to_vec(), act);
        assert!(mlp.fuses(rows));
        let mut r = rng::stream(9, 4);
        let theta: Vec<f64> = (0..mlp.dim()).map(|_| 0.5 * rng::normal(&mut r)).collect();
        let x: Vec<f64> = (0..rows * sizes[0]).map(|_| rng::normal(&mut r)).collect();
        let t32: Vec<f32> = theta.iter().map(|&v| v as f32).collect();
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        for isa in Isa::available() {
            check(&mlp, &theta, &x, rows, isa, 1e-12);
            check(&mlp, &t32, &x32, rows, isa, 1e-4);
        }
    }
    // Other shapes are declined.
    let deep = Mlp::new(vec![3, 4, 4, 1], Activation::Tanh);
    let mut ws = deep.workspace(2);
    let mut g = vec![0.0; deep.dim()];
    let th = vec![0.1; deep.dim()];
    assert!(deep
        .grad_fused(&th, &[0.0; 6], 2, &mut ws, &mut g, &mut |_, _, _| 0.0)
        .is_none());
}

/// The objective the threaded-path tests use: Σ c_n·o_n with c_n = sin(0.61·n) over every output
/// entry, ∂/∂o = c, and Σ c_n accumulated as the "extra" gradient.
fn par_objective<T: Real>(
    outputs: usize,
) -> impl Fn(std::ops::Range<usize>, &[T], &mut [T], &mut f64) -> f64 + Sync {
    move |r: std::ops::Range<usize>, out: &[T], og: &mut [T], extra: &mut f64| {
        assert_eq!(out.len(), r.len() * outputs);
        let mut v = 0.0;
        for (i, (o, g)) in out.iter().zip(og.iter_mut()).enumerate() {
            let c = (((r.start * outputs + i) as f64) * 0.61).sin();
            *g = T::from_f64(c);
            v += c * o.to_f64();
            *extra += c;
        }
        v
    }
}

#[test]
fn chunked_gradient_equals_forward_then_backward() {
    // Any depth and output width, chunk by chunk (`Mlp::chunk` rows: 128 for 100-unit layers,
    // 1024 for narrow ones) and, when the product is large, on two threads: against `forward` +
    // `backward` with the same output gradient, on every instruction set, f64 and f32, one
    // thread forced and default. Row counts (in chunks + extra rows) leave partial chunks;
    // [5, 100, 100, 1] × 300 rows is large enough for the two-thread split. Same arithmetic up
    // to summation order: 1e-12 relative to the largest entry in f64, 1e-4 in f32.
    let shapes: [(&[usize], (usize, usize), Activation); 4] = [
        (&[3, 7, 5, 1], (2, 37), Activation::Tanh),
        (&[4, 9, 2], (1, 70), Activation::Tanh),
        (&[5, 100, 100, 1], (2, 44), Activation::Tanh),
        (&[2, 6, 6, 3], (1, 1), Activation::Relu),
    ];
    fn check<T: Real>(mlp: &Mlp, theta: &[T], x: &[T], rows: usize, isa: Isa, tol: f64) {
        let (o0, g0) = run(mlp, theta, x, rows, isa);
        let up = |v: &[T]| v.iter().map(|t| t.to_f64()).collect::<Vec<_>>();
        let o0 = up(&o0);
        let outputs = mlp.outputs();
        let expect: f64 = o0
            .iter()
            .enumerate()
            .map(|(n, o)| ((n as f64) * 0.61).sin() * o)
            .sum();
        let expect_extra: f64 = (0..o0.len()).map(|n| ((n as f64) * 0.61).sin()).sum();
        for threads in [1, 0] {
            let mut ws: Workspace<T> = mlp.workspace_of(rows);
            ws.set_isa(isa);
            ws.set_max_threads(threads);
            // Twice: the second call reuses the workspace's per-thread state.
            for _ in 0..2 {
                let mut grad = vec![T::ZERO; mlp.dim()];
                let (total, extra) = mlp.grad_chunked(
                    theta,
                    x,
                    rows,
                    &mut ws,
                    &mut grad,
                    &par_objective::<T>(outputs),
                );
                close(&up(ws.output()), &o0, tol);
                close(&up(&grad), &up(&g0), tol);
                assert!((total - expect).abs() <= tol * (1.0 + expect.abs()));
                assert!((extra - expect_extra).abs() <= 1e-9 * (1.0 + expect_extra.abs()));
            }
        }
    }
    for (sizes, (chunks, extra), act) in shapes {
        let mlp = Mlp::new(sizes.to_vec(), act);
        let rows = chunks * mlp.chunk() + extra;
        assert!(mlp.chunks(rows));
        let mut r = rng::stream(9, 5);
        let theta: Vec<f64> = (0..mlp.dim()).map(|_| 0.3 * rng::normal(&mut r)).collect();
        let x: Vec<f64> = (0..rows * sizes[0]).map(|_| rng::normal(&mut r)).collect();
        let t32: Vec<f32> = theta.iter().map(|&v| v as f32).collect();
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        for isa in Isa::available() {
            check(&mlp, &theta, &x, rows, isa, 1e-12);
            check(&mlp, &t32, &x32, rows, isa, 1e-4);
        }
    }
}

#[test]
fn fused_gradient_on_two_threads_equals_one_thread() {
    // `grad_fused_par` splits the rows over two threads only inside the rayon pool (as the
    // samplers call it) and when the product is large enough (boston's 455 × 14 × 50 is): run it
    // there, one thread forced and default, against `grad_fused`. Same arithmetic up to
    // summation order: 1e-12 relative (f64), 1e-4 (f32).
    fn check<T: Real>(mlp: &Mlp, theta: &[T], x: &[T], rows: usize, tol: f64) {
        let mut ws: Workspace<T> = mlp.workspace_of(rows);
        let mut g0 = vec![T::ZERO; mlp.dim()];
        let f = par_objective::<T>(1);
        let mut extra0 = 0.0;
        let mut single = |r: std::ops::Range<usize>, o: &[T], g: &mut [T]| f(r, o, g, &mut extra0);
        let t0 = mlp
            .grad_fused(theta, x, rows, &mut ws, &mut g0, &mut single)
            .expect("fused shape");
        let o0: Vec<f64> = ws.output().iter().map(|v| v.to_f64()).collect();
        let up = |v: &[T]| v.iter().map(|t| t.to_f64()).collect::<Vec<_>>();
        for threads in [1, 0] {
            ws.set_max_threads(threads);
            let (used, grad, total, extra, out) = rayon::scope(|_| {
                let used = mlp.fused_threads(rows, &ws);
                let mut grad = vec![T::ZERO; mlp.dim()];
                let (total, extra) = mlp
                    .grad_fused_par(theta, x, rows, &mut ws, &mut grad, &f)
                    .expect("fused shape");
                (used, grad, total, extra, up(ws.output()))
            });
            let want = if threads == 1 || rayon::current_num_threads() < 2 {
                1
            } else {
                2
            };
            assert_eq!(used, want);
            close(&out, &o0, tol);
            close(&up(&grad), &up(&g0), tol);
            assert!((total - t0).abs() <= tol * (1.0 + t0.abs()));
            assert!((extra - extra0).abs() <= 1e-9 * (1.0 + extra0.abs()));
        }
        // Outside the pool: one thread.
        assert_eq!(mlp.fused_threads(rows, &ws), 1);
    }
    let mlp = Mlp::new(vec![13, 50, 1], Activation::Tanh);
    for rows in [455, 301] {
        let mut r = rng::stream(9, 6);
        let theta: Vec<f64> = (0..mlp.dim()).map(|_| 0.5 * rng::normal(&mut r)).collect();
        let x: Vec<f64> = (0..rows * 13).map(|_| rng::normal(&mut r)).collect();
        let t32: Vec<f32> = theta.iter().map(|&v| v as f32).collect();
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        check(&mlp, &theta, &x, rows, 1e-12);
        check(&mlp, &t32, &x32, rows, 1e-4);
    }
}
