//! The Laplace posterior (a Gaussian over a subset of the weights, centred at the MAP) and its
//! predictive: linearised GLM in closed form, or weight sampling.

use super::*;

/// A Gaussian posterior over a subset of the network parameters, centred at the MAP.
#[derive(Debug, Clone)]
pub struct LaplacePosterior {
    /// MAP parameters (with the tuned log σ when the noise is learned).
    pub theta: Vec<f64>,
    pub(super) subset: Range<usize>,
    pub(super) predictive: LaplacePredictive,
    pub(super) samples: usize,
    pub(super) cov: Cov,
}

#[derive(Debug, Clone)]
pub(super) enum Cov {
    /// Marginal variances.
    Diag(Vec<f64>),
    /// Lower Cholesky factor of the precision, row-major.
    Full(Vec<f64>),
    Kfac(Vec<KfacBlock>),
}

impl LaplacePosterior {
    /// Number of parameters the Gaussian covers.
    pub fn dim(&self) -> usize {
        self.subset.len()
    }

    /// Marginal posterior variance of each covered parameter.
    pub fn marginal_variances(&self) -> Vec<f64> {
        let p = self.dim();
        match &self.cov {
            Cov::Diag(v) => v.clone(),
            Cov::Full(l) => {
                // Σ = (L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹, so Σᵢᵢ = ‖L⁻¹ eᵢ‖² (column i of L⁻¹ by forward
                // substitution).
                (0..p)
                    .map(|i| {
                        let mut e = vec![0.0; p];
                        e[i] = 1.0;
                        linalg::solve_lower(l, p, &e).iter().map(|w| w * w).sum()
                    })
                    .collect()
            }
            Cov::Kfac(blocks) => {
                let mut out = vec![0.0; p];
                for b in blocks {
                    let (ka, m) = (b.ka(), b.m());
                    for i in 0..ka {
                        for j in 0..m {
                            let mut v = 0.0;
                            for a in 0..ka {
                                for g in 0..m {
                                    let q = b.qa[i * ka + a] * b.qg[j * m + g];
                                    v += q * q / b.den(a, g);
                                }
                            }
                            out[b.start + i * m + j] = v;
                        }
                    }
                }
                out
            }
        }
    }

    /// Posterior covariance (dense, `dim × dim`), for tests and small models.
    pub fn covariance(&self) -> Vec<f64> {
        let p = self.dim();
        let mut cov = vec![0.0; p * p];
        for j in 0..p {
            let mut e = vec![0.0; p];
            e[j] = 1.0;
            let col = self.cov_times(&e);
            for i in 0..p {
                cov[i * p + j] = col[i];
            }
        }
        cov
    }

    /// Σ v for a vector over the covered parameters.
    pub(super) fn cov_times(&self, v: &[f64]) -> Vec<f64> {
        let p = self.dim();
        match &self.cov {
            Cov::Diag(var) => v.iter().zip(var).map(|(a, b)| a * b).collect(),
            Cov::Full(l) => {
                let w = linalg::solve_lower(l, p, v);
                linalg::solve_upper_t(l, p, &w)
            }
            Cov::Kfac(blocks) => {
                let mut out = vec![0.0; p];
                for b in blocks {
                    let (ka, m) = (b.ka(), b.m());
                    let r = b.rotate(&v[b.start..b.start + b.len()]);
                    let scaled: Vec<f64> =
                        (0..ka * m).map(|i| r[i] / b.den(i / m, i % m)).collect();
                    // Back: Q_A · scaled · Q_Gᵀ.
                    let mut t = vec![0.0; ka * m];
                    for i in 0..ka {
                        for a in 0..ka {
                            let q = b.qa[i * ka + a];
                            for g in 0..m {
                                t[i * m + g] += q * scaled[a * m + g];
                            }
                        }
                    }
                    for i in 0..ka {
                        for j in 0..m {
                            out[b.start + i * m + j] =
                                (0..m).map(|g| t[i * m + g] * b.qg[j * m + g]).sum();
                        }
                    }
                }
                out
            }
        }
    }

    /// One draw of the parameter offset from the MAP over the covered parameters.
    pub(super) fn sample_offset(&self, r: &mut Rng) -> Vec<f64> {
        let p = self.dim();
        let z: Vec<f64> = (0..p).map(|_| rng::normal(r)).collect();
        match &self.cov {
            Cov::Diag(var) => z.iter().zip(var).map(|(a, v)| a * v.sqrt()).collect(),
            Cov::Full(l) => linalg::solve_upper_t(l, p, &z),
            Cov::Kfac(blocks) => {
                let mut out = vec![0.0; p];
                for b in blocks {
                    let (ka, m) = (b.ka(), b.m());
                    let y: Vec<f64> = (0..ka * m)
                        .map(|i| z[b.start + i] / b.den(i / m, i % m).sqrt())
                        .collect();
                    let mut t = vec![0.0; ka * m];
                    for i in 0..ka {
                        for a in 0..ka {
                            let q = b.qa[i * ka + a];
                            for g in 0..m {
                                t[i * m + g] += q * y[a * m + g];
                            }
                        }
                    }
                    for i in 0..ka {
                        for j in 0..m {
                            out[b.start + i * m + j] =
                                (0..m).map(|g| t[i * m + g] * b.qg[j * m + g]).sum();
                        }
                    }
                }
                out
            }
        }
    }

    /// Output covariances `J Σ Jᵀ` (`rows × K × K`) of the linearised network at `x`, and the
    /// MAP outputs (`rows × K`).
    pub fn function_covariance(
        &self,
        net: &Network,
        x: &[f64],
        rows: usize,
    ) -> Result<(Vec<f64>, Vec<f64>)> {
        let kk = net.outputs();
        let p = self.dim();
        let f_in = net.inputs();
        let mut f = Vec::with_capacity(rows * kk);
        let mut var = Vec::with_capacity(rows * kk * kk);
        let chunk = 256;
        let mut start = 0;
        while start < rows {
            let n = chunk.min(rows - start);
            let xc = &x[start * f_in..(start + n) * f_in];
            let mut ws = net.workspace(n);
            net.forward(&self.theta, xc, n, &mut ws);
            f.extend_from_slice(ws.output());
            let jac = net.jacobians(&self.theta, xc, n, &ws, self.subset.clone());
            for r in 0..n {
                let rowj = &jac[r * kk * p..(r + 1) * kk * p];
                // Σ J_bᵀ per output b, then V_ab = J_a · Σ J_b.
                let sj: Vec<Vec<f64>> = (0..kk)
                    .map(|b| self.cov_times(&rowj[b * p..(b + 1) * p]))
                    .collect();
                for a in 0..kk {
                    for sjb in &sj {
                        let v: f64 = rowj[a * p..(a + 1) * p]
                            .iter()
                            .zip(sjb)
                            .map(|(x, y)| x * y)
                            .sum();
                        var.push(v);
                    }
                }
            }
            start += n;
        }
        if let Some(i) = var.iter().position(|v| !v.is_finite()) {
            return Err(Error::Numeric(format!(
                "the linearised predictive variance at row {} is not finite; the posterior covariance is degenerate",
                i / (kk * kk) + 1
            )));
        }
        Ok((f, var))
    }

    pub(super) fn from_parts(
        theta: Vec<f64>,
        subset: Range<usize>,
        predictive: LaplacePredictive,
        samples: usize,
        cov: Cov,
    ) -> Self {
        LaplacePosterior {
            theta,
            subset,
            predictive,
            samples,
            cov,
        }
    }

    /// Rebuilds from an artifact's tensors.
    pub fn from_tensors(t: &BTreeMap<String, NamedTensor>) -> Result<Self> {
        let get = |name: &str| -> Result<&NamedTensor> {
            t.get(name)
                .ok_or_else(|| Error::Invalid(format!("Laplace artifact has no '{name}' tensor")))
        };
        let theta = get("laplace.theta")?.data.clone();
        let meta = &get("laplace.meta")?.data;
        if meta.len() != 5 {
            return Err(Error::Invalid("'laplace.meta' has a bad shape".into()));
        }
        let count =
            |i: usize, what: &str, max: usize| crate::infer::saved_count(what, meta[i], max);
        let (hess, pred, samples, s0, s1) = (
            count(0, "laplace.meta[0] (structure)", 2)?,
            count(1, "laplace.meta[1] (predictive)", 1)?,
            count(
                2,
                "laplace.meta[2] (samples)",
                crate::infer::MAX_SAVED_COUNT,
            )?,
            count(3, "laplace.meta[3] (subset start)", theta.len())?,
            count(4, "laplace.meta[4] (subset end)", theta.len())?,
        );
        if s0 > s1 {
            return Err(Error::Invalid("'laplace.meta' has a bad subset".into()));
        }
        let p = s1 - s0;
        let bad =
            |what: &str| Error::Invalid(format!("'{what}' has a bad shape for {p} parameters"));
        let cov = match hess {
            0 => {
                let v = get("laplace.var")?.data.clone();
                if v.len() != p {
                    return Err(bad("laplace.var"));
                }
                Cov::Diag(v)
            }
            2 => {
                let l = get("laplace.precision_chol")?.data.clone();
                if Some(l.len()) != p.checked_mul(p) {
                    return Err(Error::Invalid(
                        "'laplace.precision_chol' has a bad shape".into(),
                    ));
                }
                Cov::Full(l)
            }
            1 => {
                let hdr = &get("laplace.kfac")?.data;
                if hdr.len() % 4 != 0 {
                    return Err(bad("laplace.kfac"));
                }
                let mut blocks = Vec::new();
                for (i, c) in hdr.chunks_exact(4).enumerate() {
                    let v = |k: &str| -> Result<Vec<f64>> {
                        Ok(get(&format!("laplace.kfac.{i}.{k}"))?.data.clone())
                    };
                    let b = KfacBlock {
                        layer: crate::infer::saved_count(
                            "laplace.kfac (layer)",
                            c[0],
                            usize::MAX >> 12,
                        )?,
                        start: crate::infer::saved_count("laplace.kfac (start)", c[1], p)?,
                        scale: c[2],
                        lambda: c[3],
                        qa: v("qa")?,
                        da: v("da")?,
                        qg: v("qg")?,
                        dg: v("dg")?,
                    };
                    // Each block covers ka × m parameters of the subset, with ka × ka and
                    // m × m eigenvector matrices.
                    let square = |n: usize| n.checked_mul(n);
                    let fits = b
                        .ka()
                        .checked_mul(b.m())
                        .and_then(|n| n.checked_add(b.start));
                    if square(b.ka()) != Some(b.qa.len())
                        || square(b.m()) != Some(b.qg.len())
                        || fits.is_none_or(|end| end > p)
                    {
                        return Err(bad(&format!("laplace.kfac.{i}")));
                    }
                    blocks.push(b);
                }
                Cov::Kfac(blocks)
            }
            _ => {
                return Err(Error::Invalid(
                    "'laplace.meta' names an unknown structure".into(),
                ))
            }
        };
        let predictive = if pred == 1 {
            LaplacePredictive::Mc
        } else {
            LaplacePredictive::Glm
        };
        Ok(Self::from_parts(
            theta,
            s0..s1,
            predictive,
            samples.max(1),
            cov,
        ))
    }
}

/// Draws of the linearised logits N(f*, JΣJᵀ) per row behind the GLM classification
/// predictive's epistemic split (mutual information, expected entropy); its mean
/// probabilities stay the probit approximation.
pub(super) const GLM_CLASS_DRAWS: usize = 256;

/// Quantile nodes of the log-scale output in [`het_glm_predictive`].
pub(super) const HET_NODES: usize = 32;

/// Linearised predictive of a heteroscedastic network, y ~ N(f₀, e^{2f₁}) with (f₀, f₁) ~
/// N(f*, V) per row: f₁ is integrated over `HET_NODES` equal-mass normal quantiles (rescaled to
/// unit variance), f₀ given f₁ in closed form, so every node is one Gaussian component with mean
/// f₀* + (V₀₁/V₁₁)·(f₁ − f₁*), function variance V₀₀ − V₀₁²/V₁₁ and noise variance e^{2f₁}
/// (scaled per row so that its average is the log-normal mean exp(2f₁* + 2V₁₁) exactly). The
/// mixture's mean and variance are then exactly f₀* and V₀₀ + exp(2f₁* + 2V₁₁).
pub(super) fn het_glm_predictive(
    f: &[f64],
    v: &[f64],
    rows: usize,
) -> Result<RegressionPredictive> {
    let mut z: Vec<f64> = (0..HET_NODES)
        .map(|i| crate::eval::diagnostics::normal_quantile((i as f64 + 0.5) / HET_NODES as f64))
        .collect();
    let rms = (z.iter().map(|v| v * v).sum::<f64>() / HET_NODES as f64).sqrt();
    z.iter_mut().for_each(|v| *v /= rms);
    let mut means = vec![vec![0.0; rows]; HET_NODES];
    let mut noise_var = vec![vec![0.0; rows]; HET_NODES];
    let mut func_var = vec![vec![0.0; rows]; HET_NODES];
    for n in 0..rows {
        let (m0, m1) = (f[2 * n], f[2 * n + 1]);
        let (v00, v01, v11) = (v[4 * n], v[4 * n + 1], v[4 * n + 3]);
        let sd1 = v11.max(0.0).sqrt();
        // Regression of f₀ on f₁ (none when f₁ has no spread).
        let (slope, cond) = if v11 > 0.0 {
            (v01 / sd1, (v00 - v01 * v01 / v11).max(0.0))
        } else {
            (0.0, v00.max(0.0))
        };
        let avg = z.iter().map(|zs| (2.0 * sd1 * zs).exp()).sum::<f64>() / HET_NODES as f64;
        let correction = (2.0 * sd1 * sd1).exp() / avg;
        for (s, zs) in z.iter().enumerate() {
            means[s][n] = m0 + slope * zs;
            func_var[s][n] = cond;
            noise_var[s][n] = correction * (2.0 * (m1 + sd1 * zs)).exp();
        }
        if !(means.iter().all(|m| m[n].is_finite())
            && noise_var.iter().all(|v| v[n].is_finite() && v[n] > 0.0))
        {
            return Err(Error::Numeric(format!(
                "the heteroscedastic predictive at row {} is not finite (log-scale output {m1:.3e}, its variance {v11:.3e}): the input is far outside what the network was trained on",
                n + 1
            )));
        }
    }
    Ok(RegressionPredictive {
        rows,
        family: NoiseFamily::Gaussian,
        means,
        noise_var,
        func_var,
    })
}

impl Posterior for LaplacePosterior {
    fn kind(&self) -> &'static str {
        "laplace"
    }

    fn marginal_variances(&self) -> Option<Vec<f64>> {
        // NaN outside the covered subset: those parameters are held at the MAP.
        let mut v = vec![f64::NAN; self.theta.len()];
        v[self.subset.clone()].copy_from_slice(&LaplacePosterior::marginal_variances(self));
        Some(v)
    }

    fn predict(&self, spec: &ModelSpec, x: &[f64], rows: usize, r: &mut Rng) -> Result<Predictive> {
        if self.predictive == LaplacePredictive::Mc {
            let draws: Vec<Vec<f64>> = (0..self.samples)
                .map(|_| {
                    let d = self.sample_offset(r);
                    let mut t = self.theta.clone();
                    for (ti, di) in t[self.subset.clone()].iter_mut().zip(&d) {
                        *ti += di;
                    }
                    t
                })
                .collect();
            return crate::infer::predict_draws(spec, &draws, x, rows);
        }
        let kind = lik_kind(spec)?;
        let kk = spec.net.outputs();
        let (f, v) = self.function_covariance(&spec.net, x, rows)?;
        if spec.targets() > 1 {
            return targets_glm_predictive(spec, &self.theta, &f, &v, rows);
        }
        Ok(match kind {
            LikKind::Gaussian => {
                let (_, nv) = spec
                    .likelihood
                    .mean_var(&[0.0], spec.log_sigma(&self.theta));
                Predictive::Regression(RegressionPredictive {
                    rows,
                    family: NoiseFamily::Gaussian,
                    means: vec![f],
                    noise_var: vec![vec![nv; rows]],
                    func_var: vec![v],
                })
            }
            LikKind::Heteroscedastic(_) => {
                Predictive::Regression(het_glm_predictive(&f, &v, rows)?)
            }
            LikKind::GaussianTargets(_) => targets_glm_predictive(spec, &self.theta, &f, &v, rows)?,
            LikKind::Bernoulli | LikKind::Categorical(_) => {
                // Probit-approximated mean probabilities; epistemic quantities from draws of the
                // linearised logits.
                let probit = |n: usize, c: usize, var: f64| {
                    f[n * kk + c] / (1.0 + std::f64::consts::PI * var / 8.0).sqrt()
                };
                let (classes, probs) = match kind {
                    LikKind::Categorical(k) => {
                        let mut probs = vec![0.0; rows * k];
                        for n in 0..rows {
                            let z: Vec<f64> = (0..k)
                                .map(|c| probit(n, c, v[n * kk * kk + c * kk + c]))
                                .collect();
                            spec.likelihood.probs(&z, &mut probs[n * k..(n + 1) * k]);
                        }
                        (k, probs)
                    }
                    _ => {
                        let probs = (0..rows)
                            .flat_map(|n| {
                                let p = crate::nn::activation_fns::sigmoid(probit(n, 0, v[n]));
                                [1.0 - p, p]
                            })
                            .collect();
                        (2, probs)
                    }
                };
                Predictive::Classification(ClassPredictive {
                    rows,
                    classes,
                    members: logit_gaussian_members(
                        &spec.likelihood,
                        &f,
                        &v,
                        rows,
                        GLM_CLASS_DRAWS,
                        r,
                    )?,
                    mean: Some(probs),
                })
            }
        })
    }

    fn tensors(&self) -> Vec<NamedTensor> {
        let p = self.dim();
        let hess = match self.cov {
            Cov::Diag(_) => 0.0,
            Cov::Kfac(_) => 1.0,
            Cov::Full(_) => 2.0,
        };
        let mut out = vec![
            NamedTensor {
                name: "laplace.theta".into(),
                shape: vec![self.theta.len()],
                data: self.theta.clone(),
            },
            NamedTensor {
                name: "laplace.meta".into(),
                shape: vec![5],
                data: vec![
                    hess,
                    f64::from(u8::from(self.predictive == LaplacePredictive::Mc)),
                    self.samples as f64,
                    self.subset.start as f64,
                    self.subset.end as f64,
                ],
            },
        ];
        match &self.cov {
            Cov::Diag(v) => out.push(NamedTensor {
                name: "laplace.var".into(),
                shape: vec![p],
                data: v.clone(),
            }),
            Cov::Full(l) => out.push(NamedTensor {
                name: "laplace.precision_chol".into(),
                shape: vec![p, p],
                data: l.clone(),
            }),
            Cov::Kfac(blocks) => {
                out.push(NamedTensor {
                    name: "laplace.kfac".into(),
                    shape: vec![blocks.len(), 4],
                    data: blocks
                        .iter()
                        .flat_map(|b| [b.layer as f64, b.start as f64, b.scale, b.lambda])
                        .collect(),
                });
                for (i, b) in blocks.iter().enumerate() {
                    for (k, d, shape) in [
                        ("qa", &b.qa, vec![b.ka(), b.ka()]),
                        ("da", &b.da, vec![b.ka()]),
                        ("qg", &b.qg, vec![b.m(), b.m()]),
                        ("dg", &b.dg, vec![b.m()]),
                    ] {
                        out.push(NamedTensor {
                            name: format!("laplace.kfac.{i}.{k}"),
                            shape,
                            data: d.clone(),
                        });
                    }
                }
            }
        }
        out
    }

    fn center(&self) -> Vec<f64> {
        self.theta.clone()
    }
}
