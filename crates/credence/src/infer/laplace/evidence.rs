//! The log marginal likelihood (evidence) at the MAP under each Hessian structure, and its
//! maximisation over the prior precisions and σ (empirical Bayes).

use super::*;

/// The evidence of a model at its MAP, as a function of prior precisions and σ.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub(super) kind: LikKind,
    pub(super) curvature: CurvatureKind,
    pub(super) curv: Curv,
    pub(super) groups: Vec<HyperGroup>,
    /// Per subset coordinate: its group.
    pub(super) group_of: Vec<usize>,
    /// Log likelihood at the MAP (non-Gaussian), or the residual sum of squares (Gaussian).
    pub(super) loglik: f64,
    pub(super) sse: f64,
    pub(super) rows: usize,
    /// Whether σ is a free hyperparameter (learned-noise Gaussian).
    pub(super) learns_noise: bool,
    pub(super) sigma: f64,
    pub(super) clipped: usize,
    pub(super) most_negative: f64,
    /// Per-coordinate prior (precision, (θ* − loc)²) in subset coordinates, when the prior
    /// differs within a group (a transferred posterior); tuning is then off.
    pub(super) coord: Option<(Vec<f64>, Vec<f64>)>,
}

impl Evidence {
    pub(super) fn scale(&self, sigma: f64) -> f64 {
        match (self.kind, self.curvature) {
            (LikKind::Gaussian, CurvatureKind::Ggn) => sigma.powi(-2),
            (LikKind::Gaussian, CurvatureKind::Ef) => sigma.powi(-4),
            _ => 1.0,
        }
    }

    pub(super) fn log_lik(&self, sigma: f64) -> f64 {
        match self.kind {
            LikKind::Gaussian => {
                let n = self.rows as f64;
                -0.5 * self.sse / (sigma * sigma)
                    - n * sigma.ln()
                    - 0.5 * n * (2.0 * std::f64::consts::PI).ln()
            }
            _ => self.loglik,
        }
    }

    pub(super) fn per_coord(&self, lam: &[f64]) -> Vec<f64> {
        match &self.coord {
            Some((prec, _)) => prec.clone(),
            None => self.group_of.iter().map(|&g| lam[g]).collect(),
        }
    }

    /// Log-determinant of the posterior precision `s·C + Λ`.
    pub(super) fn log_det(&self, lam: &[f64], s: f64) -> Result<f64> {
        Ok(match &self.curv {
            Curv::Diag(c) => c
                .iter()
                .zip(&self.per_coord(lam))
                .map(|(ci, l)| (s * ci + l).ln())
                .sum(),
            Curv::Full { mat, eig } => {
                if self.groups.len() == 1 && self.coord.is_none() {
                    eig.iter().map(|e| (s * e + lam[0]).ln()).sum()
                } else {
                    let (l, _) = precision_cholesky(mat, s, &self.per_coord(lam))?;
                    let n = eig.len();
                    2.0 * (0..n).map(|i| l[i * n + i].ln()).sum::<f64>()
                }
            }
            Curv::Kfac(blocks) => blocks
                .iter()
                .map(|b| {
                    let lam_b = lam[self.group_of[b.start]];
                    let mut t = 0.0;
                    for a in &b.da {
                        for g in &b.dg {
                            t += (s * a * g + lam_b).ln();
                        }
                    }
                    t
                })
                .sum(),
        })
    }

    /// Log marginal likelihood (Laplace) at per-group prior precisions `lam` and noise σ:
    /// `log p(D|θ*) + log p(θ*) + (P/2) log 2π − ½ log det(s·C + Λ)`, over the subset.
    pub fn log_evidence(&self, lam: &[f64], sigma: f64) -> Result<f64> {
        let s = self.scale(sigma);
        let mut prior = 0.0;
        if let Some((prec, sq)) = &self.coord {
            for (l, q) in prec.iter().zip(sq) {
                prior += -0.5 * l * q + 0.5 * l.ln();
            }
        } else {
            for (g, l) in self.groups.iter().zip(lam) {
                prior += -0.5 * l * g.sq + 0.5 * g.count as f64 * l.ln();
            }
        }
        Ok(self.log_lik(sigma) + prior - 0.5 * self.log_det(lam, s)?)
    }
}

/// Lower Cholesky factor (row-major) of `s·C + diag(λ)`, adding jitter to the diagonal when the
/// factorisation fails; returns the factor and the jitter used.
pub(super) fn precision_cholesky(c: &[f64], s: f64, lam: &[f64]) -> Result<(Vec<f64>, f64)> {
    let n = lam.len();
    let mut a: Vec<f64> = c.iter().map(|v| s * v).collect();
    for i in 0..n {
        a[i * n + i] += lam[i];
    }
    if let Some(bad) = a.iter().position(|v| !v.is_finite()) {
        return Err(Error::Numeric(format!(
            "the posterior precision has a non-finite entry at ({}, {}); the curvature or the prior precision overflowed",
            bad / n,
            bad % n
        )));
    }
    let mean_diag = (0..n).map(|i| a[i * n + i]).sum::<f64>() / n.max(1) as f64;
    let mut jitter = 0.0;
    for attempt in 0..8 {
        if let Some(l) = linalg::cholesky(&a, n) {
            return Ok((l, jitter));
        }
        let add = mean_diag * 1e-10 * 100f64.powi(attempt);
        for i in 0..n {
            a[i * n + i] += add;
        }
        jitter += add;
    }
    Err(Error::Numeric(format!(
        "the Laplace posterior precision ({n} × {n}) is not positive definite even after adding {jitter:.3e} to its diagonal; the curvature is badly conditioned — try hessian = \"diag\" or \"kfac\", a larger prior precision, or tune = \"post-hoc\""
    )))
}

impl Evidence {
    /// Builds the evidence of `spec` at the MAP `theta` on standardised `data`: computes the
    /// curvature and sets up the prior-precision groups (initial values from the Normal prior).
    pub fn new(
        spec: &ModelSpec,
        theta: &[f64],
        data: &Dataset,
        priors: &ResolvedPriors,
        o: &LaplaceOptions,
    ) -> Result<Self> {
        let kind = lik_kind(spec)?;
        let net = &spec.net;
        let (loc, prec) = gaussian_prior(spec, priors)?;
        let subset = match o.subset {
            Subset::All => 0..net.dim(),
            Subset::LastLayer => net.last_layer_range(),
        };
        let p = subset.len();
        let first_layer = match o.subset {
            Subset::All => 0,
            Subset::LastLayer => net.param_layers() - 1,
        };
        if o.hessian == HessianStructure::Full && p > o.max_full_params {
            return Err(Error::Invalid(format!(
                "hessian = \"full\" covers {p} parameters here, above the limit of {} (a dense {p} × {p} precision); use hessian = \"kfac\" or \"diag\", subset = \"last-layer\", or raise inference.max_full_params",
                o.max_full_params
            )));
        }
        let rows = data.rows;
        let mut ws = net.workspace(rows);
        net.forward(theta, &data.x, rows, &mut ws);
        let f = ws.output().to_vec();
        if f.iter().any(|v| !v.is_finite()) {
            return Err(Error::Numeric(
                "the MAP network output is not finite on the training data".into(),
            ));
        }
        let factors = curvature_factors(kind, o.curvature, &f, &data.y, &spec.log_sigmas(theta));
        let mut clipped = 0;
        let mut most_negative: f64 = 0.0;
        let mut clip = |e: &mut [f64]| -> usize {
            let mut c = 0;
            for v in e.iter_mut() {
                if *v < 0.0 {
                    most_negative = most_negative.min(*v);
                    c += 1;
                    *v = 0.0;
                }
            }
            clipped += c;
            c
        };
        let curv = match o.hessian {
            HessianStructure::Diag => {
                Curv::Diag(net.outer_diag(theta, &data.x, rows, &ws, &factors, subset.clone()))
            }
            HessianStructure::Full => {
                let mut mat = vec![0.0; p * p];
                for u in &factors {
                    let g = net.per_sample_grads(theta, &data.x, rows, &ws, u, subset.clone());
                    linalg::gram_add(&g, rows, p, &mut mat);
                }
                let (mut eig, vecs) = linalg::sym_eig(&mat, p);
                if clip(&mut eig) > 0 {
                    mat = linalg::reconstruct(&vecs, &eig, p);
                }
                Curv::Full { mat, eig }
            }
            HessianStructure::Kfac => {
                let kf = net.kron_factors(
                    theta,
                    &data.x,
                    rows,
                    &ws,
                    &factors,
                    first_layer..net.param_layers(),
                );
                // A is a mean over rows: scale it back to a sum so that A ⊗ G ≈ Σ_n.
                let blocks = kf
                    .into_iter()
                    .map(|k| {
                        let (ka, m) = (k.a_dim(), k.g_dim());
                        let (mut da, qa) = linalg::sym_eig(&k.a, ka);
                        let (mut dg, qg) = linalg::sym_eig(&k.g, m);
                        clip(&mut da);
                        clip(&mut dg);
                        KfacBlock {
                            layer: k.layer,
                            start: net.param_layer_range(k.layer).start - subset.start,
                            qa,
                            da,
                            qg,
                            dg,
                            scale: 1.0,
                            lambda: 1.0,
                        }
                    })
                    .collect();
                Curv::Kfac(blocks)
            }
        };
        // Prior-precision groups.
        let layer_range = |l: usize| -> Range<usize> {
            let r = net.param_layer_range(l);
            (r.start - subset.start)..(r.end - subset.start)
        };
        let mut groups: Vec<HyperGroup> = match o.tune {
            Tune::None => {
                let layout = spec.layout();
                layout
                    .groups
                    .iter()
                    .filter(|g| g.kind != GroupKind::Noise && g.start >= subset.start)
                    .map(|g| HyperGroup {
                        name: g.name.clone(),
                        ranges: std::iter::once((g.start - subset.start)..(g.end - subset.start))
                            .collect(),
                        layers: vec![g.layer - 1],
                        lambda: prec[g.start],
                        loc: loc[g.start],
                        count: 0,
                        sq: 0.0,
                    })
                    .collect()
            }
            Tune::PostHoc | Tune::Online => match o.prior_groups {
                PriorGroups::Global => vec![HyperGroup {
                    name: match o.subset {
                        Subset::All => "*".into(),
                        Subset::LastLayer => {
                            format!("{}.*", net.param_layer_name(net.param_layers() - 1))
                        }
                    },
                    ranges: (first_layer..net.param_layers()).map(layer_range).collect(),
                    layers: (first_layer..net.param_layers()).collect(),
                    lambda: 0.0,
                    loc: 0.0,
                    count: 0,
                    sq: 0.0,
                }],
                PriorGroups::Layer => (first_layer..net.param_layers())
                    .map(|l| HyperGroup {
                        name: format!("{}.*", net.param_layer_name(l)),
                        ranges: std::iter::once(layer_range(l)).collect(),
                        layers: vec![l],
                        lambda: 0.0,
                        loc: 0.0,
                        count: 0,
                        sq: 0.0,
                    })
                    .collect(),
            },
        };
        let mut group_of = vec![usize::MAX; p];
        for (gi, g) in groups.iter_mut().enumerate() {
            let mut sum_prec = 0.0;
            let mut locs = Vec::new();
            for r in &g.ranges {
                for i in r.clone() {
                    group_of[i] = gi;
                    let a = i + subset.start;
                    sum_prec += prec[a];
                    g.sq += (theta[a] - loc[a]).powi(2);
                    g.count += 1;
                    locs.push(loc[a]);
                }
            }
            if o.tune == Tune::PostHoc && locs.iter().any(|l| *l != locs[0]) {
                return Err(Error::Invalid(format!(
                    "the prior means within '{}' differ; empirical Bayes tunes one Normal per group and needs one mean (use prior_groups = \"layer\" or priors with one loc)",
                    g.name
                )));
            }
            g.loc = locs.first().copied().unwrap_or(0.0);
            if o.tune != Tune::None {
                // Start from the mean configured precision of the group.
                g.lambda = sum_prec / g.count.max(1) as f64;
            }
        }
        // A prior that differs within a group (per-parameter, e.g. transferred) is kept as is.
        let varies = groups.iter().any(|g| {
            g.ranges.iter().flat_map(|r| r.clone()).any(|i| {
                let a = i + subset.start;
                prec[a] != g.lambda || loc[a] != g.loc
            })
        });
        let coord = if varies && o.tune == Tune::None {
            if matches!(curv, Curv::Kfac(_)) {
                return Err(Error::Invalid(
                    "hessian = \"kfac\" needs one prior precision per layer, but this prior has one per parameter (a transferred posterior); use hessian = \"diag\" or \"full\"".into(),
                ));
            }
            Some((
                subset.clone().map(|a| prec[a]).collect::<Vec<_>>(),
                subset
                    .clone()
                    .map(|a| (theta[a] - loc[a]).powi(2))
                    .collect(),
            ))
        } else {
            None
        };
        if let Curv::Kfac(blocks) = &curv {
            for b in blocks {
                let gs: Vec<usize> = group_of[b.start..b.start + b.len()].to_vec();
                let lam0 = groups[gs[0]].lambda;
                if gs.iter().any(|&g| groups[g].lambda != lam0) {
                    return Err(Error::Invalid(format!(
                        "hessian = \"kfac\" needs one prior precision per layer, but layer {} has different priors on its weights and bias; give them one prior, or use tune = \"post-hoc\"",
                        b.layer + 1
                    )));
                }
            }
        }
        let mut sigma = 1.0;
        let mut sse = 0.0;
        let mut loglik = 0.0;
        match kind {
            LikKind::Gaussian => {
                sigma = spec.log_sigma(theta).exp();
                sse = f.iter().zip(&data.y).map(|(a, b)| (a - b).powi(2)).sum();
            }
            _ => {
                let mut g = vec![0.0; spec.targets()];
                loglik = spec.likelihood.log_lik_targets(
                    &f,
                    &data.y,
                    &spec.log_sigmas(theta),
                    1.0,
                    None,
                    &mut g,
                );
            }
        }
        Ok(Evidence {
            kind,
            curvature: o.curvature,
            curv,
            groups,
            group_of,
            loglik,
            sse,
            rows,
            // Several targets hold their σ_k at the MAP (see `LikKind::GaussianTargets`).
            learns_noise: kind == LikKind::Gaussian && spec.likelihood.learns_noise(),
            sigma,
            clipped,
            most_negative,
            coord,
        })
    }

    /// Current prior precisions per group.
    pub fn precisions(&self) -> Vec<f64> {
        self.groups.iter().map(|g| g.lambda).collect()
    }

    /// Current σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The hyperparameters as logs: log λ per group, then log σ when the noise is learned.
    pub(super) fn log_hypers(&self) -> Vec<f64> {
        let mut z: Vec<f64> = self.groups.iter().map(|g| g.lambda.ln()).collect();
        if self.learns_noise {
            z.push(self.sigma.ln());
        }
        z
    }

    /// Sets the hyperparameters from their logs (see [`Evidence::log_hypers`]).
    pub(super) fn set_log_hypers(&mut self, z: &[f64]) {
        let ng = self.groups.len();
        for (g, v) in self.groups.iter_mut().zip(z) {
            g.lambda = v.exp();
        }
        if self.learns_noise {
            self.sigma = z[ng].exp();
        }
    }

    /// Negative log evidence at log hyperparameters `z`; +∞ outside |z| ≤ 25 (precisions and σ
    /// within e^±25) or where it is not finite, so that optimisers back off.
    pub(super) fn neg_log_evidence_at(&self, z: &[f64]) -> Result<f64> {
        if z.iter().any(|v| !v.is_finite() || v.abs() > 25.0) {
            return Ok(f64::INFINITY);
        }
        let ng = self.groups.len();
        let lam: Vec<f64> = z[..ng].iter().map(|v| v.exp()).collect();
        let sigma = if self.learns_noise {
            z[ng].exp()
        } else {
            self.sigma
        };
        let v = -self.log_evidence(&lam, sigma)?;
        Ok(if v.is_finite() { v } else { f64::INFINITY })
    }

    /// Negative log evidence at `z` and its gradient (central finite differences, h = 1e-5 on
    /// the logs: truncation error O(h²) ≈ 1e-10 relative, round-off ≈ 1e-16·|value|/h).
    pub(super) fn neg_log_evidence_grad(&self, z: &[f64], g: &mut [f64]) -> Result<f64> {
        let v = self.neg_log_evidence_at(z)?;
        if !v.is_finite() {
            return Ok(v);
        }
        let h = 1e-5;
        let mut zz = z.to_vec();
        for i in 0..z.len() {
            zz[i] = z[i] + h;
            let up = self.neg_log_evidence_at(&zz)?;
            zz[i] = z[i] - h;
            let dn = self.neg_log_evidence_at(&zz)?;
            zz[i] = z[i];
            g[i] = (up - dn) / (2.0 * h);
            if !g[i].is_finite() {
                g[i] = 0.0;
            }
        }
        Ok(v)
    }

    /// Maximises the evidence over the log prior precisions (and log σ when the noise is
    /// learned) with L-BFGS on central finite-difference gradients; returns the iterations.
    pub fn optimise(&mut self) -> Result<usize> {
        let z0 = self.log_hypers();
        let this = &*self;
        let mut f = |z: &[f64], g: &mut [f64]| this.neg_log_evidence_grad(z, g);
        let r = crate::optim::lbfgs(&mut f, &z0, 200, 1e-12, 10)?;
        self.set_log_hypers(&r.x);
        Ok(r.iterations)
    }

    /// `steps` Adam steps up the evidence on the log hyperparameters (online tuning; `adam`
    /// keeps its moments across calls); stops early if a step would leave the finite region.
    pub(super) fn ascend(&mut self, adam: &mut Adam, steps: usize) -> Result<()> {
        let mut z = self.log_hypers();
        let mut g = vec![0.0; z.len()];
        for _ in 0..steps {
            let v = self.neg_log_evidence_grad(&z, &mut g)?;
            if !v.is_finite() {
                return Err(Error::Numeric(
                    "the Laplace evidence is not finite at the current hyperparameters during online tuning".into(),
                ));
            }
            let before = z.clone();
            g.iter_mut().for_each(|v| *v = -*v);
            adam.step(&mut z, &g);
            if !self.neg_log_evidence_at(&z)?.is_finite() {
                z = before;
                break;
            }
        }
        self.set_log_hypers(&z);
        Ok(())
    }

    /// Evidence at the current hyperparameters.
    pub fn current(&self) -> Result<f64> {
        self.log_evidence(&self.precisions(), self.sigma)
    }

    /// The Gaussian posterior at the current hyperparameters, and the jitter its Cholesky needed.
    pub(super) fn posterior(
        &self,
        theta: &[f64],
        subset: Range<usize>,
        o: &LaplaceOptions,
        spec: &ModelSpec,
    ) -> Result<(LaplacePosterior, f64)> {
        let lam = self.precisions();
        let s = self.scale(self.sigma);
        let mut jitter = 0.0;
        let cov = match &self.curv {
            Curv::Diag(c) => Cov::Diag(
                c.iter()
                    .zip(&self.per_coord(&lam))
                    .map(|(ci, l)| 1.0 / (s * ci + l))
                    .collect(),
            ),
            Curv::Full { mat, .. } => {
                let (l, j) = precision_cholesky(mat, s, &self.per_coord(&lam))?;
                jitter = j;
                Cov::Full(l)
            }
            Curv::Kfac(blocks) => Cov::Kfac(
                blocks
                    .iter()
                    .map(|b| KfacBlock {
                        scale: s,
                        lambda: lam[self.group_of[b.start]],
                        ..b.clone()
                    })
                    .collect(),
            ),
        };
        let mut t = theta.to_vec();
        if self.learns_noise {
            t[spec.net.dim()] = self.sigma.ln();
        }
        Ok((
            LaplacePosterior::from_parts(t, subset, o.predictive, o.samples, cov),
            jitter,
        ))
    }
}
