//! The stochastic passes of the convolutional engine: channel dropout (MC dropout) and the local
//! reparameterisation of mean-field weights (VI). Gradients against finite differences with the
//! masks / noise fixed (same seed), the deterministic limits (rate 0, σ² = 0) against
//! `Cnn::forward`/`backward`, channel masks constant over positions, and the sampled
//! pre-activations' mean and variance against a direct convolution with μ and of x² with σ².

use credence::nn::conv::{Cnn, LayerSpec, PoolKind, PoolSpec};
use credence::nn::Activation;
use credence::rng;

mod cnn_layers;
use cnn_layers::{conv1, conv2, dense, pool};

/// Networks with conv, pooling and dense hidden layers: (name, input shape, layers).
fn configs() -> Vec<(&'static str, Vec<usize>, Vec<LayerSpec>)> {
    use PoolKind::{Avg, Max};
    vec![
        (
            "conv2d p1, avg2, conv2d s2, dense",
            vec![2, 6, 6],
            vec![conv2(3, 3, 1, 1), pool(Avg, 2), conv2(2, 2, 2, 0), dense(4)],
        ),
        (
            "conv2d s2 p1, max2, flatten",
            vec![2, 7, 7],
            vec![conv2(3, 3, 2, 1), pool(Max, 2), LayerSpec::Flatten],
        ),
        (
            "conv1d p1, conv1d s2, global",
            vec![3, 9],
            vec![
                conv1(4, 3, 1, 1),
                conv1(3, 2, 2, 0),
                LayerSpec::Pool(PoolSpec::Global),
            ],
        ),
        (
            "dense, dense on an image",
            vec![1, 3, 3],
            vec![dense(5), dense(4)],
        ),
    ]
}

fn normals(n: usize, seed: u64) -> Vec<f64> {
    let mut r = rng::stream(seed, 1);
    (0..n).map(|_| rng::normal(&mut r)).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

const ROWS: usize = 3;
const RATE: f64 = 0.3;

fn setup(input: &[usize], layers: &[LayerSpec], act: Activation) -> (Cnn, Vec<f64>, Vec<f64>) {
    let net = Cnn::new(input, layers, act, 2).unwrap();
    let mut theta = net.init(&mut rng::stream(3, 1));
    for (t, b) in theta.iter_mut().zip(normals(net.dim(), 4)) {
        *t += 0.1 * b;
    }
    let x = normals(ROWS * net.inputs(), 5);
    (net, theta, x)
}

/// Σ u ⊙ (dropout output), with the masks drawn from a fixed seed.
fn dropout_objective(net: &Cnn, theta: &[f64], x: &[f64], u: &[f64]) -> f64 {
    let mut ws = net.workspace(ROWS);
    net.forward_dropout(theta, x, ROWS, &mut ws, RATE, &mut rng::stream(11, 0));
    dot(ws.output(), u)
}

/// Central differences of `f` along every coordinate of `at`, against `g`: the worst relative
/// error.
fn worst_fd(at: &[f64], g: &[f64], h: f64, f: impl Fn(&[f64]) -> f64) -> f64 {
    let mut worst: f64 = 0.0;
    for j in 0..at.len() {
        let (mut p, mut m) = (at.to_vec(), at.to_vec());
        p[j] += h;
        m[j] -= h;
        let fd = (f(&p) - f(&m)) / (2.0 * h);
        worst = worst.max((fd - g[j]).abs() / (1e-4 + fd.abs()));
    }
    worst
}

/// With the masks fixed, the dropout network is smooth in θ and x: `backward` after
/// `forward_dropout` (the mask folded into the activation derivative) is its gradient.
/// Tolerance 1e-5 relative: central differences with h = 1e-5 in f64.
#[test]
fn dropout_gradients_match_finite_differences() {
    for (name, input, layers) in configs() {
        for act in [Activation::Tanh, Activation::Relu, Activation::Gelu] {
            let (net, theta, x) = setup(&input, &layers, act);
            let u = normals(ROWS * net.outputs(), 6);
            let mut ws = net.workspace(ROWS);
            net.forward_dropout(&theta, &x, ROWS, &mut ws, RATE, &mut rng::stream(11, 0));
            ws.out_grad.copy_from_slice(&u);
            let mut g = vec![0.0; net.dim()];
            let mut gx = vec![0.0; x.len()];
            net.backward_with_input(&theta, &x, ROWS, &mut ws, &mut g, &mut gx);
            let wt = worst_fd(&theta, &g, 1e-5, |t| dropout_objective(&net, t, &x, &u));
            let wx = worst_fd(&x, &gx, 1e-5, |x| dropout_objective(&net, &theta, x, &u));
            assert!(
                wt < 1e-5 && wx < 1e-5,
                "{name}, {}: worst relative error θ {wt:e}, x {wx:e}",
                act.name()
            );
            // The masks dropped something: the objective differs from the plain network's.
            let plain = dot(&net.predict(&theta, &x, ROWS), &u);
            assert!(
                (plain - dropout_objective(&net, &theta, &x, &u)).abs() > 1e-8,
                "{name}: no unit was dropped"
            );
        }
    }
}

/// Rate 0 is the deterministic network, bit for bit, and draws nothing.
#[test]
fn dropout_at_rate_zero_is_the_plain_network() {
    for (name, input, layers) in configs() {
        let (net, theta, x) = setup(&input, &layers, Activation::Tanh);
        let u = normals(ROWS * net.outputs(), 6);
        let run = |dropout: bool| {
            let mut ws = net.workspace(ROWS);
            let mut r = rng::stream(11, 0);
            if dropout {
                net.forward_dropout(&theta, &x, ROWS, &mut ws, 0.0, &mut r);
            } else {
                net.forward(&theta, &x, ROWS, &mut ws);
            }
            ws.out_grad.copy_from_slice(&u);
            let mut g = vec![0.0; net.dim()];
            net.backward(&theta, &x, ROWS, &mut ws, &mut g);
            (ws.output().to_vec(), g, rng::uniform(&mut r))
        };
        assert_eq!(run(true), run(false), "{name}");
    }
}

/// A conv layer's mask drops whole channels: on the first layer (whose input is not dropped)
/// the dropout output is the plain output times 0 or 1/(1 − p), one factor per example and
/// channel at every position; on a later conv layer (tanh: no exact zeros otherwise) the zeros
/// cover whole channels. The share dropped is p within 4·MCSE (binomial).
#[test]
fn channel_masks_are_constant_over_positions() {
    let rows = 200;
    let rate = 0.5;
    let net = Cnn::new(
        &[2, 6, 6],
        &[conv2(3, 3, 1, 1), pool(PoolKind::Max, 2), conv2(4, 2, 1, 0)],
        Activation::Tanh,
        2,
    )
    .unwrap();
    let theta = net.init(&mut rng::stream(3, 1));
    let x = normals(rows * net.inputs(), 5);
    let mut plain = net.workspace(rows);
    net.forward(&theta, &x, rows, &mut plain);
    let mut ws = net.workspace(rows);
    net.forward_dropout(&theta, &x, rows, &mut ws, rate, &mut rng::stream(11, 0));
    assert!(net.drops(0) && !net.drops(1) && net.drops(2) && !net.drops(3));
    let (mut dropped, mut total) = (0usize, 0usize);
    for (l, first) in [(0usize, true), (2, false)] {
        let layer = &net.plan()[l];
        let (p, c) = (layer.positions(), layer.units());
        let (a, b) = (plain.layer_output(l), ws.layer_output(l));
        for n in 0..rows {
            for ch in 0..c {
                let at = |q: usize| (n * p + q) * c + ch;
                let zeros = (0..p).filter(|&q| b[at(q)] == 0.0).count();
                assert!(
                    zeros == 0 || zeros == p,
                    "layer {l}, row {n}, channel {ch}: {zeros} of {p} positions zero"
                );
                if first {
                    let s = if zeros == p { 0.0 } else { 1.0 / (1.0 - rate) };
                    for q in 0..p {
                        assert_eq!(b[at(q)], s * a[at(q)], "layer {l}, row {n}, channel {ch}");
                    }
                }
                dropped += usize::from(zeros == p);
                total += 1;
            }
        }
    }
    let share = dropped as f64 / total as f64;
    let mcse = (rate * (1.0 - rate) / total as f64).sqrt();
    assert!(
        (share - rate).abs() < 4.0 * mcse,
        "dropped {share} of {total} channels, expected {rate} ± {}",
        4.0 * mcse
    );
}

/// The weights behind dropped units are those of every conv/dense layer after the first.
#[test]
fn dropout_fed_weights_are_the_later_layers() {
    let net = Cnn::new(
        &[1, 6, 6],
        &[conv2(2, 3, 1, 0), pool(PoolKind::Avg, 2), dense(3)],
        Activation::Relu,
        2,
    )
    .unwrap();
    let layout = net.layout(false);
    let w = |name: &str| {
        let g = layout.groups.iter().find(|g| g.name == name).unwrap();
        g.start..g.end
    };
    assert_eq!(
        net.dropout_fed_weights(),
        vec![w("dense2.weight"), w("dense3.weight")]
    );
}

/// Σ u ⊙ (local-reparameterisation output), with the noise drawn from a fixed seed.
fn lrt_objective(net: &Cnn, mu: &[f64], var: &[f64], x: &[f64], u: &[f64]) -> f64 {
    let mut ws = net.lrt_workspace(ROWS);
    net.lrt_forward(mu, var, x, ROWS, &mut ws, &mut rng::stream(12, 0));
    dot(ws.output(ROWS), u)
}

fn variances(dim: usize, seed: u64) -> Vec<f64> {
    let mut r = rng::stream(seed, 2);
    (0..dim)
        .map(|_| 0.05 + 0.1 * rng::uniform(&mut r))
        .collect()
}

/// With the noise fixed, the sampled output is smooth in (μ, σ²): `lrt_backward` is its
/// gradient. Tolerance 1e-5 relative: central differences with h = 1e-6 (σ² ≥ 0.05).
#[test]
fn lrt_gradients_match_finite_differences() {
    for (name, input, layers) in configs() {
        for act in [Activation::Tanh, Activation::Relu, Activation::Softplus] {
            let (net, mu, x) = setup(&input, &layers, act);
            let var = variances(net.dim(), 7);
            let u = normals(ROWS * net.outputs(), 6);
            let mut ws = net.lrt_workspace(ROWS);
            net.lrt_forward(&mu, &var, &x, ROWS, &mut ws, &mut rng::stream(12, 0));
            let (mut gm, mut gv) = (vec![0.0; net.dim()], vec![0.0; net.dim()]);
            net.lrt_backward(&mu, &var, &x, ROWS, &u, &mut ws, &mut gm, &mut gv);
            let wm = worst_fd(&mu, &gm, 1e-6, |m| lrt_objective(&net, m, &var, &x, &u));
            let wv = worst_fd(&var, &gv, 1e-6, |v| lrt_objective(&net, &mu, v, &x, &u));
            assert!(
                wm < 1e-5 && wv < 1e-5,
                "{name}, {}: worst relative error μ {wm:e}, σ² {wv:e}",
                act.name()
            );
        }
    }
}

/// σ² = 0 is the deterministic network at θ = μ: the same output and parameter gradient (to
/// rounding: 1e-12 relative; the plain pass fuses the activation into the GEMM).
#[test]
fn lrt_at_zero_variance_is_the_plain_network() {
    for (name, input, layers) in configs() {
        let (net, mu, x) = setup(&input, &layers, Activation::Tanh);
        let u = normals(ROWS * net.outputs(), 6);
        let var = vec![0.0; net.dim()];
        let mut lws = net.lrt_workspace(ROWS);
        net.lrt_forward(&mu, &var, &x, ROWS, &mut lws, &mut rng::stream(12, 0));
        let (mut gm, mut gv) = (vec![0.0; net.dim()], vec![0.0; net.dim()]);
        net.lrt_backward(&mu, &var, &x, ROWS, &u, &mut lws, &mut gm, &mut gv);
        let mut ws = net.workspace(ROWS);
        net.forward(&mu, &x, ROWS, &mut ws);
        ws.out_grad.copy_from_slice(&u);
        let mut g = vec![0.0; net.dim()];
        net.backward(&mu, &x, ROWS, &mut ws, &mut g);
        let close = |a: &[f64], b: &[f64]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(p, q)| (p - q).abs() <= 1e-12 * (1.0 + q.abs()))
        };
        assert!(close(lws.output(ROWS), ws.output()), "{name}: outputs");
        assert!(close(&gm, &g), "{name}: gradients");
    }
}

/// Direct convolution of one NHWC example (`c × h × w` input) with `fan_in × out` weights in
/// (ky, kx, channel) order, for stride 1 and zero padding `pad`: `oh·ow × out`.
fn direct_conv(
    x: &[f64],
    (c, h, w): (usize, usize, usize),
    k: usize,
    pad: usize,
    weights: &[f64],
    bias: &[f64],
) -> Vec<f64> {
    let out = bias.len();
    let (oh, ow) = (h + 2 * pad + 1 - k, w + 2 * pad + 1 - k);
    let mut z = vec![0.0; oh * ow * out];
    for oy in 0..oh {
        for ox in 0..ow {
            for o in 0..out {
                let mut s = bias[o];
                for ky in 0..k {
                    for kx in 0..k {
                        let (iy, ix) = (
                            (oy + ky) as isize - pad as isize,
                            (ox + kx) as isize - pad as isize,
                        );
                        if iy < 0 || ix < 0 || iy as usize >= h || ix as usize >= w {
                            continue;
                        }
                        for ci in 0..c {
                            let xi = x[(iy as usize * w + ix as usize) * c + ci];
                            s += xi * weights[((ky * k + kx) * c + ci) * out + o];
                        }
                    }
                }
                z[(oy * ow + ox) * out + o] = s;
            }
        }
    }
    z
}

/// Over many rows holding copies of two examples, the first layer's sampled pre-activation
/// (atanh of its tanh output) has per position and unit the mean conv(x, μ) + bμ and the
/// variance conv(x², σ²) + bσ² of the local reparameterisation, each within 4·MCSE (MCSE of a
/// mean: s/√N; of a variance: √((m₄ − s⁴)/N)).
#[test]
fn lrt_pre_activation_moments_match_the_convolutions() {
    let copies = 3000;
    for (name, layers, conv) in [
        ("conv2d p1", vec![conv2(3, 3, 1, 1), dense(2)], true),
        ("dense", vec![dense(4)], false),
    ] {
        let (c, h, w) = (2, 5, 5);
        let net = Cnn::new(&[c, h, w], &layers, Activation::Tanh, 2).unwrap();
        let mu: Vec<f64> = normals(net.dim(), 21).iter().map(|v| 0.2 * v).collect();
        let var: Vec<f64> = variances(net.dim(), 22).iter().map(|v| 0.2 * v).collect();
        let examples = normals(2 * net.inputs(), 23);
        let rows = 2 * copies;
        let x: Vec<f64> = (0..rows)
            .flat_map(|n| examples[(n % 2) * net.inputs()..(n % 2 + 1) * net.inputs()].to_vec())
            .collect();
        let mut ws = net.lrt_workspace(rows);
        net.lrt_forward(&mu, &var, &x, rows, &mut ws, &mut rng::stream(24, 0));
        let l = &net.plan()[0];
        let per = l.output.size();
        let z: Vec<f64> = ws.layer_output(0)[..rows * per]
            .iter()
            .map(|v| v.atanh())
            .collect();
        let (wr, br) = (l.w_off..l.b_off, l.b_off..l.b_off + l.units());
        let sq: Vec<f64> = examples.iter().map(|v| v * v).collect();
        let mut checked = 0;
        for e in 0..2 {
            let xe = &examples[e * net.inputs()..(e + 1) * net.inputs()];
            let se = &sq[e * net.inputs()..(e + 1) * net.inputs()];
            let (mean_ref, var_ref) = if conv {
                (
                    direct_conv(xe, (c, h, w), 3, 1, &mu[wr.clone()], &mu[br.clone()]),
                    direct_conv(se, (c, h, w), 3, 1, &var[wr.clone()], &var[br.clone()]),
                )
            } else {
                let m = l.units();
                let lin = |a: &[f64], p: &[f64]| -> Vec<f64> {
                    (0..m)
                        .map(|o| {
                            p[l.b_off + o]
                                + (0..a.len())
                                    .map(|i| a[i] * p[l.w_off + i * m + o])
                                    .sum::<f64>()
                        })
                        .collect()
                };
                (lin(xe, &mu), lin(se, &var))
            };
            assert_eq!(mean_ref.len(), per, "{name}");
            for j in 0..per {
                let s: Vec<f64> = (0..copies).map(|i| z[(2 * i + e) * per + j]).collect();
                let nf = copies as f64;
                let m = s.iter().sum::<f64>() / nf;
                let v = s.iter().map(|a| (a - m).powi(2)).sum::<f64>() / nf;
                let m4 = s.iter().map(|a| (a - m).powi(4)).sum::<f64>() / nf;
                let (se_m, se_v) = ((v / nf).sqrt(), ((m4 - v * v) / nf).sqrt());
                assert!(
                    (m - mean_ref[j]).abs() < 4.0 * se_m,
                    "{name}, example {e}, value {j}: mean {m} vs {} (MCSE {se_m:e})",
                    mean_ref[j]
                );
                assert!(
                    (v - var_ref[j]).abs() < 4.0 * se_v,
                    "{name}, example {e}, value {j}: variance {v} vs {} (MCSE {se_v:e})",
                    var_ref[j]
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 2 * per, "{name}");
    }
}
