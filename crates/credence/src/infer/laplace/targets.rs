//! Laplace with several regression targets: the linearised predictive per target, from each
//! target's block of the network outputs' covariance (curvature and evidence are in the parent
//! module, through `LikKind::GaussianTargets` and `LikKind::Heteroscedastic`).

use super::het_glm_predictive;
use crate::error::Result;
use crate::model::ModelSpec;
use crate::predict::{NoiseFamily, Predictive, RegressionPredictive};

/// Linearised predictive of a multi-target network from its outputs `f` (`rows × kk`) and
/// their covariance `v` (`rows × kk × kk`): one regression predictive per target, each from
/// its own outputs' block (`per` outputs per target: 1 Gaussian, 2 heteroscedastic).
pub(super) fn targets_glm_predictive(
    spec: &ModelSpec,
    theta: &[f64],
    f: &[f64],
    v: &[f64],
    rows: usize,
) -> Result<Predictive> {
    let kk = spec.net.outputs();
    let per = spec.likelihood.outputs();
    let log_sigmas = spec.log_sigmas(theta);
    let mut out = Vec::with_capacity(spec.targets());
    for (t, &ls) in log_sigmas.iter().enumerate() {
        let o = t * per;
        let ft: Vec<f64> = (0..rows)
            .flat_map(|n| f[n * kk + o..n * kk + o + per].iter().copied())
            .collect();
        let vt: Vec<f64> = (0..rows)
            .flat_map(|n| {
                (0..per)
                    .flat_map(move |a| (0..per).map(move |b| v[n * kk * kk + (o + a) * kk + o + b]))
            })
            .collect();
        out.push(if per == 2 {
            het_glm_predictive(&ft, &vt, rows)?
        } else {
            let (_, nv) = spec.likelihood.mean_var(&[0.0], ls);
            RegressionPredictive {
                rows,
                family: NoiseFamily::Gaussian,
                means: vec![ft],
                noise_var: vec![vec![nv; rows]],
                func_var: vec![vt],
            }
        });
    }
    Ok(Predictive::MultiRegression(out))
}
