//! The convolutional engine: finite-difference gradients for every layer kind and
//! configuration, forward mode against reverse mode, f32 against f64, the chunked gradient,
//! config parsing and typed errors for bad descriptions.

use credence::nn::conv::{Cnn, LayerSpec, PoolKind, PoolSpec};
use credence::nn::{Activation, Real};
use credence::rng;

mod cnn_layers;
use cnn_layers::{conv1, conv2, dense, pool};

/// Every layer kind and configuration: (name, input shape, layers).
fn configs() -> Vec<(&'static str, Vec<usize>, Vec<LayerSpec>)> {
    use PoolKind::{Avg, Max};
    vec![
        (
            "conv2d s1 p0, avg2, dense",
            vec![2, 6, 6],
            vec![conv2(3, 3, 1, 0), pool(Avg, 2), dense(4)],
        ),
        (
            "conv2d s2 p1, max2, flatten",
            vec![2, 7, 7],
            vec![conv2(3, 3, 2, 1), pool(Max, 2), LayerSpec::Flatten],
        ),
        (
            "conv2d s1 p1, conv2d s2 p0, global",
            vec![1, 6, 5],
            vec![
                conv2(2, 2, 1, 1),
                conv2(3, 3, 2, 0),
                LayerSpec::Pool(PoolSpec::Global),
            ],
        ),
        (
            "conv2d s2 p0, max3 on odd sizes",
            vec![2, 9, 8],
            vec![conv2(2, 2, 2, 0), pool(Max, 3), dense(3)],
        ),
        (
            "conv1d s1 p1, avg2, conv1d s2 p0, max2, dense",
            vec![2, 12],
            vec![
                conv1(3, 3, 1, 1),
                pool(Avg, 2),
                conv1(2, 2, 2, 0),
                pool(Max, 2),
                dense(3),
            ],
        ),
        (
            "conv1d s2 p1, global",
            vec![3, 9],
            vec![conv1(4, 3, 2, 1), LayerSpec::Pool(PoolSpec::Global)],
        ),
        ("dense only on an image", vec![1, 3, 3], vec![dense(5)]),
    ]
}

fn normals(n: usize, seed: u64) -> Vec<f64> {
    let mut r = rng::stream(seed, 1);
    (0..n).map(|_| rng::normal(&mut r)).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Σ u ⊙ f(θ, x).
fn objective(net: &Cnn, theta: &[f64], x: &[f64], rows: usize, u: &[f64]) -> f64 {
    dot(&net.predict(theta, x, rows), u)
}

const ROWS: usize = 3;

fn setup(
    input: &[usize],
    layers: &[LayerSpec],
    act: Activation,
) -> (Cnn, Vec<f64>, Vec<f64>, Vec<f64>) {
    let net = Cnn::new(input, layers, act, 2).unwrap();
    let mut theta = net.init(&mut rng::stream(3, 1));
    // Non-zero biases so that every bias path is exercised.
    for (t, b) in theta.iter_mut().zip(normals(net.dim(), 4)) {
        *t += 0.1 * b;
    }
    let x = normals(ROWS * net.inputs(), 5);
    let u = normals(ROWS * net.outputs(), 6);
    (net, theta, x, u)
}

#[test]
fn gradients_match_finite_differences_for_every_layer_and_activation() {
    for (name, input, layers) in configs() {
        for act in Activation::ALL {
            let (net, theta, x, u) = setup(&input, &layers, act);
            let mut ws = net.workspace(ROWS);
            net.forward(&theta, &x, ROWS, &mut ws);
            ws.out_grad.copy_from_slice(&u);
            let mut g = vec![0.0; net.dim()];
            let mut gx = vec![0.0; x.len()];
            net.backward_with_input(&theta, &x, ROWS, &mut ws, &mut g, &mut gx);
            let h = 1e-5;
            let mut worst: f64 = 0.0;
            for j in 0..net.dim() {
                let (mut tp, mut tm) = (theta.clone(), theta.clone());
                tp[j] += h;
                tm[j] -= h;
                let fd = (objective(&net, &tp, &x, ROWS, &u) - objective(&net, &tm, &x, ROWS, &u))
                    / (2.0 * h);
                worst = worst.max((fd - g[j]).abs() / (1e-4 + fd.abs()));
            }
            for j in 0..x.len() {
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[j] += h;
                xm[j] -= h;
                let fd = (objective(&net, &theta, &xp, ROWS, &u)
                    - objective(&net, &theta, &xm, ROWS, &u))
                    / (2.0 * h);
                worst = worst.max((fd - gx[j]).abs() / (1e-4 + fd.abs()));
            }
            assert!(
                worst < 1e-5,
                "{name}, {}: worst relative error {worst:e}",
                act.name()
            );
        }
    }
}

#[test]
fn forward_mode_matches_reverse_mode() {
    for (name, input, layers) in configs() {
        for act in [Activation::Tanh, Activation::Relu, Activation::Gelu] {
            let (net, theta, x, u) = setup(&input, &layers, act);
            let v = normals(net.dim(), 7);
            let vx = normals(x.len(), 8);
            let mut ws = net.workspace(ROWS);
            let mut jv = vec![0.0; ROWS * net.outputs()];
            net.jvp(&theta, &x, ROWS, &v, Some(&vx), &mut ws, &mut jv);
            net.forward(&theta, &x, ROWS, &mut ws);
            ws.out_grad.copy_from_slice(&u);
            let mut g = vec![0.0; net.dim()];
            let mut gx = vec![0.0; x.len()];
            net.backward_with_input(&theta, &x, ROWS, &mut ws, &mut g, &mut gx);
            let lhs = dot(&u, &jv);
            let rhs = dot(&g, &v) + dot(&gx, &vx);
            assert!(
                (lhs - rhs).abs() < 1e-10 * (1.0 + lhs.abs()),
                "{name}: {lhs} vs {rhs}"
            );
            // Parameters only (x held fixed).
            net.jvp(&theta, &x, ROWS, &v, None, &mut ws, &mut jv);
            let (lhs, rhs) = (dot(&u, &jv), dot(&g, &v));
            assert!(
                (lhs - rhs).abs() < 1e-10 * (1.0 + lhs.abs()),
                "{name} (θ only): {lhs} vs {rhs}"
            );
        }
    }
}

fn grad_of<T: Real>(net: &Cnn, theta: &[f64], x: &[f64], u: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let th: Vec<T> = theta.iter().map(|&v| T::from_f64(v)).collect();
    let xs: Vec<T> = x.iter().map(|&v| T::from_f64(v)).collect();
    let mut ws = net.workspace_of::<T>(ROWS);
    net.forward(&th, &xs, ROWS, &mut ws);
    let out = ws.output().iter().map(|v| v.to_f64()).collect();
    for (g, &v) in ws.out_grad.iter_mut().zip(u) {
        *g = T::from_f64(v);
    }
    let mut g = vec![T::ZERO; net.dim()];
    net.backward(&th, &xs, ROWS, &mut ws, &mut g);
    (out, g.iter().map(|v| v.to_f64()).collect())
}

#[test]
fn f32_agrees_with_f64() {
    for (name, input, layers) in configs() {
        for act in Activation::ALL {
            let (net, theta, x, u) = setup(&input, &layers, act);
            let (o64, g64) = grad_of::<f64>(&net, &theta, &x, &u);
            let (o32, g32) = grad_of::<f32>(&net, &theta, &x, &u);
            let scale = |v: &[f64]| v.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-3);
            let (so, sg) = (scale(&o64), scale(&g64));
            for (a, b) in o64.iter().zip(&o32).chain(g64.iter().zip(&g32)) {
                let s = so.max(sg);
                assert!(
                    (a - b).abs() < 1e-4 * s,
                    "{name}, {}: {a} vs {b}",
                    act.name()
                );
            }
        }
    }
}

#[test]
fn chunked_gradient_matches_forward_backward_on_any_thread_count() {
    let input = [1, 8, 8];
    let layers = [
        conv2(3, 3, 1, 1),
        pool(PoolKind::Max, 2),
        conv2(4, 3, 1, 0),
        dense(5),
    ];
    let net = Cnn::new(&input, &layers, Activation::Tanh, 3).unwrap();
    let theta = net.init(&mut rng::stream(9, 1));
    let rows = 4 * net.chunk() + 3;
    let x = normals(rows * net.inputs(), 10);
    let u = normals(rows * net.outputs(), 11);
    let mut ws = net.workspace(rows);
    net.forward(&theta, &x, rows, &mut ws);
    ws.out_grad.copy_from_slice(&u);
    let mut want = vec![0.0; net.dim()];
    net.backward(&theta, &x, rows, &mut ws, &mut want);
    let want_f = dot(ws.output(), &u);
    let objective = |r: std::ops::Range<usize>, o: &[f64], g: &mut [f64], _e: &mut f64| {
        let uu = &u[r.start * 3..r.end * 3];
        g.copy_from_slice(uu);
        dot(o, uu)
    };
    let mut runs = Vec::new();
    for threads in [1, 2] {
        let mut ws = net.workspace(rows);
        ws.set_max_threads(threads);
        let mut g = vec![0.0; net.dim()];
        let (f, _) = net.grad_chunked(&theta, &x, rows, &mut ws, &mut g, &objective);
        assert!((f - want_f).abs() < 1e-9 * (1.0 + want_f.abs()));
        for (a, b) in g.iter().zip(&want) {
            assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()), "{a} vs {b}");
        }
        runs.push(g);
    }
    assert_eq!(runs[0], runs[1], "bitwise the same on 1 and 2 threads");
}

#[test]
fn config_syntax_parses_and_layout_names_layers() {
    #[derive(serde::Deserialize)]
    struct M {
        layers: Vec<LayerSpec>,
    }
    let m: M = toml::from_str(
        r#"layers = [ {conv2d = {out = 6, kernel = 5}}, {pool = "avg2"},
                      {conv2d = {out = 16, kernel = 5, stride = 1, padding = 0, activation = "relu"}},
                      {pool = "max2"}, "flatten", {dense = 120}, {dense = {out = 84, activation = "gelu"}} ]"#,
    )
    .unwrap();
    assert_eq!(m.layers.len(), 7);
    let net = Cnn::new(&[1, 28, 28], &m.layers, Activation::Tanh, 10).unwrap();
    let names: Vec<_> = net
        .layout(false)
        .groups
        .iter()
        .map(|g| g.name.clone())
        .collect();
    assert_eq!(
        names,
        [
            "conv1.weight",
            "conv1.bias",
            "conv2.weight",
            "conv2.bias",
            "dense3.weight",
            "dense3.bias",
            "dense4.weight",
            "dense4.bias",
            "dense5.weight",
            "dense5.bias"
        ]
    );
    assert_eq!(net.dim(), 156 + 2416 + 30840 + 10164 + 850);
    assert_eq!(net.layout(true).dim(), net.dim() + 1);
    assert_eq!(net.layout(false).group("conv2.weight").unwrap().fan_in, 150);
    // Round trip through the serialised form.
    let s = serde_json::to_string(&net).unwrap();
    let back: Cnn = serde_json::from_str(&s).unwrap();
    assert_eq!(back, net);
    // Unknown pooling and fields are errors.
    assert!(toml::from_str::<M>(r#"layers = [{pool = "min2"}]"#).is_err());
    assert!(
        toml::from_str::<M>(r#"layers = [{conv2d = {out = 2, kernel = 3, strides = 2}}]"#).is_err()
    );
}

#[test]
fn bad_descriptions_are_errors_naming_the_layer() {
    let cases: Vec<(Vec<usize>, Vec<LayerSpec>, usize, &str)> = vec![
        (
            vec![1, 4, 4],
            vec![conv2(2, 5, 1, 0)],
            1,
            "layers[0] (conv2d)",
        ),
        (
            vec![1, 4, 4],
            vec![dense(3), conv2(2, 1, 1, 0)],
            1,
            "layers[1] (conv2d)",
        ),
        (vec![1, 4, 4], vec![conv2(0, 3, 1, 0)], 1, "layers[0]"),
        (vec![1, 4, 4], vec![conv2(2, 3, 0, 0)], 1, "stride"),
        (vec![1, 8], vec![conv2(2, 3, 1, 0)], 1, "layers[0] (conv2d)"),
        (
            vec![1, 8, 8],
            vec![conv1(2, 3, 1, 0)],
            1,
            "layers[0] (conv1d)",
        ),
        (
            vec![1, 4, 4],
            vec![pool(PoolKind::Avg, 5)],
            1,
            "layers[0] (pool)",
        ),
        (
            vec![1, 4, 4],
            vec![LayerSpec::Flatten, pool(PoolKind::Max, 2)],
            1,
            "layers[1] (pool)",
        ),
        (vec![1, 4, 4], vec![dense(0)], 1, "layers[0] (dense)"),
        (vec![1, 4, 4], vec![dense(3)], 0, "output layer"),
        (vec![0, 4, 4], vec![], 1, "input shape"),
        (vec![4], vec![], 1, "input shape"),
        (vec![1, 1 << 40, 1 << 40], vec![], 1, "too large"),
    ];
    for (input, layers, outputs, want) in cases {
        let e = Cnn::new(&input, &layers, Activation::Tanh, outputs)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{e:?} should name {want:?}");
    }
}

#[test]
fn lenet_benchmark_check_values() {
    use credence::bench::cnn::LeNet;
    let case = LeNet::new(256);
    let (loss, g2) = case.check::<f64>();
    assert!((loss / 5.903535e2 - 1.0).abs() < 5e-6, "loss {loss}");
    assert!((g2 / 9.60505e2 - 1.0).abs() < 5e-6, "grad_norm2 {g2}");
    let (loss32, g232) = case.check::<f32>();
    assert!(
        (loss32 / 5.903535e2 - 1.0).abs() < 1e-5,
        "f32 loss {loss32}"
    );
    assert!(
        (g232 / 9.60505e2 - 1.0).abs() < 1e-5,
        "f32 grad_norm2 {g232}"
    );
}
