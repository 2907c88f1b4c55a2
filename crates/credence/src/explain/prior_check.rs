//! Prior predictive checks: draw networks from the prior (the model built exactly as `fit`
//! builds it: standardised data, the same `ModelSpec` and priors) and show what they predict
//! before any data is seen, in the target's original units, against the target's observed range.
//! Warns in plain words when the prior implies absurd outputs.

use super::{quantile, ModelSetup};
use crate::config::Config;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::plot::{LinePlot, Series};
use crate::rng;
use serde::{Deserialize, Serialize};

/// The prior predictive is called absurd when its central 98% range exceeds this many times the
/// observed range of the target.
pub const ABSURD_RATIO: f64 = 100.0;

/// Options of a prior predictive check.
#[derive(Debug, Clone)]
pub struct PriorCheckOptions {
    /// Networks drawn from the prior.
    pub draws: usize,
    /// Feature index for the band plot (the other inputs held at their means); `None` uses the
    /// only feature when there is one, and draws no band otherwise.
    pub input: Option<usize>,
    /// Points of the band's input grid.
    pub grid: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for PriorCheckOptions {
    fn default() -> Self {
        PriorCheckOptions {
            draws: 200,
            input: None,
            grid: 60,
            seed: 0,
        }
    }
}

/// 1%, 50% and 99% quantiles.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    /// 1% quantile.
    pub q01: f64,
    /// Median.
    pub q50: f64,
    /// 99% quantile.
    pub q99: f64,
}

impl Quantiles {
    fn of(v: &mut [f64]) -> Self {
        v.sort_by(f64::total_cmp);
        Quantiles {
            q01: quantile(v, 0.01),
            q50: quantile(v, 0.5),
            q99: quantile(v, 0.99),
        }
    }

    /// q99 − q01.
    pub fn width(&self) -> f64 {
        self.q99 - self.q01
    }
}

/// The prior predictive against a band of one input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Band {
    /// Input column name.
    pub input: String,
    /// Grid of input values (original units).
    pub x: Vec<f64>,
    /// Quantiles of the network's mean function at each grid point (original target units).
    pub function: Vec<Quantiles>,
    /// Quantiles of a new observation (function plus noise) at each grid point.
    pub predictive: Vec<Quantiles>,
}

/// What the prior predicts before seeing data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PriorCheck {
    /// Target column.
    pub target: String,
    /// Networks drawn.
    pub draws: usize,
    /// The priors, in one line.
    pub priors: String,
    /// Observed minimum of the target.
    pub observed_min: f64,
    /// Observed maximum of the target.
    pub observed_max: f64,
    /// Quantiles of prior predictive outputs (new observations at the data's inputs), original units.
    pub predictive: Quantiles,
    /// Quantiles of the network's mean function at the data's inputs, original units.
    pub function: Quantiles,
    /// Mean over rows of the standard deviation across draws of the mean function (original
    /// units): the spread of prior functions.
    pub function_sd: f64,
    /// Share of the prior predictive variance that comes from the function (the rest is noise).
    pub function_share: f64,
    /// (q99 − q01) of the prior predictive over the observed range of the target.
    pub range_ratio: f64,
    /// Plain-language warnings.
    pub warnings: Vec<String>,
    /// Band against one input, when one is chosen or there is only one.
    pub band: Option<Band>,
    /// With an `[output_prior]`: the statement, the interval the calibrated prior achieves,
    /// and the mean function's quantiles under the priors without it (before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_prior: Option<crate::prior::Calibration>,
    /// The mean function's quantiles before calibration (the config's priors or the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Quantiles>,
}

/// Runs a prior predictive check on raw (unstandardised) data.
pub fn prior_check(
    data: &Dataset,
    config: &Config,
    opts: &PriorCheckOptions,
) -> Result<PriorCheck> {
    if opts.draws < 10 {
        return Err(Error::Invalid(format!(
            "a prior predictive check needs at least 10 draws, asked for {}",
            opts.draws
        )));
    }
    let setup = ModelSetup::new(data, config, true)?;
    if !setup.spec.likelihood.is_regression() || setup.spec.likelihood.is_classification() {
        return Err(Error::Invalid(
            "prior-check supports regression likelihoods (gaussian, heteroscedastic, student-t, poisson)"
                .into(),
        ));
    }
    let resolved = setup.resolved.as_ref().ok_or_else(|| {
        Error::Invalid("a prior predictive check needs priors; none resolved".into())
    })?;
    let x = setup.standardizer.transform_x(data)?;
    let (ym, ys) = (setup.standardizer.y_mean, setup.standardizer.y_std);
    let spec = &setup.spec;
    let k = spec.net.outputs();
    let dim = spec.dim();
    let mut r = rng::stream(opts.seed, 0x9c4e);
    let thetas: Vec<Vec<f64>> = (0..opts.draws)
        .map(|_| {
            let mut t = vec![0.0; dim];
            resolved.sample(&mut r, &mut t);
            t
        })
        .collect();
    // Mean function and a new observation per (draw, row), original units.
    let simulate = |xs: &[f64], rows: usize, r: &mut rng::Rng| {
        let mut ws = spec.net.workspace(rows);
        let mut f = vec![vec![0.0; rows]; thetas.len()];
        let mut y = vec![vec![0.0; rows]; thetas.len()];
        for (d, t) in thetas.iter().enumerate() {
            spec.net.forward(t, xs, rows, &mut ws);
            let ls = spec.log_sigma(t);
            let out = ws.output();
            for n in 0..rows {
                let (m, v) = spec.likelihood.mean_var(&out[n * k..(n + 1) * k], ls);
                f[d][n] = ym + ys * m;
                y[d][n] = ym + ys * (m + v.sqrt() * rng::normal(r));
            }
        }
        (f, y)
    };
    let (f, y) = simulate(&x, data.rows, &mut r);
    let mut fy: Vec<f64> = f.iter().flatten().copied().collect();
    let mut yy: Vec<f64> = y.iter().flatten().copied().collect();
    if let Some(bad) = yy.iter().find(|v| !v.is_finite()) {
        return Err(Error::Numeric(format!(
            "a prior draw predicts {bad}: the prior (or a heavy-tailed noise model) puts mass on outputs too large to represent"
        )));
    }
    let nd = thetas.len() as f64;
    let function_sd = (0..data.rows)
        .map(|n| {
            let mean = f.iter().map(|d| d[n]).sum::<f64>() / nd;
            (f.iter().map(|d| (d[n] - mean).powi(2)).sum::<f64>() / nd).sqrt()
        })
        .sum::<f64>()
        / data.rows as f64;
    let var = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64
    };
    let function_share = (var(&fy) / var(&yy)).min(1.0);
    let function = Quantiles::of(&mut fy);
    let predictive = Quantiles::of(&mut yy);
    let observed_min = data.y.iter().copied().fold(f64::INFINITY, f64::min);
    let observed_max = data.y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let range = (observed_max - observed_min).max(f64::MIN_POSITIVE);
    let range_ratio = predictive.width() / range;
    let mut warnings = Vec::new();
    if range_ratio > ABSURD_RATIO {
        warnings.push(format!(
            "The prior implies absurd outputs: before seeing data, 98% of its predictions for {} lie in [{:.4e}, {:.4e}], a range {:.0}× wider than the observed values span ([{}, {}]). The weight priors are far too wide for this network: on standardised data a scale near 1 (or 1/√fan-in) keeps predictions on the scale of the target.",
            data.target_label(), predictive.q01, predictive.q99, range_ratio, observed_min, observed_max
        ));
    } else if range_ratio < 0.1 {
        warnings.push(format!(
            "The prior is very narrow: 98% of its predictions for {} lie in [{:.4}, {:.4}], only {:.1}% of the observed range ([{}, {}]). Unless that is the intent, the data will have to overcome the prior.",
            data.target_label(), predictive.q01, predictive.q99, 100.0 * range_ratio, observed_min, observed_max
        ));
    }
    if predictive.q50 > observed_max || predictive.q50 < observed_min {
        warnings.push(format!(
            "The prior's median prediction ({:.4}) lies outside the observed range of {}.",
            predictive.q50,
            data.target_label()
        ));
    }
    let input = match opts.input {
        Some(i) if i >= data.features => {
            return Err(Error::Invalid(format!(
                "input column {i} is out of range ({} features)",
                data.features
            )))
        }
        Some(i) => Some(i),
        None if data.features == 1 => Some(0),
        None => None,
    };
    let band = input.map(|c| {
        let col: Vec<f64> = (0..data.rows)
            .map(|n| data.x[n * data.features + c])
            .collect();
        let lo = col.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let g = opts.grid.max(2);
        let xs: Vec<f64> = (0..g)
            .map(|i| lo + (hi - lo) * i as f64 / (g - 1) as f64)
            .collect();
        let mut raw = Dataset {
            x: Vec::with_capacity(g * data.features),
            y: vec![0.0; g],
            rows: g,
            ..data.subset(&[])
        };
        for &v in &xs {
            for j in 0..data.features {
                raw.x.push(if j == c {
                    v
                } else {
                    setup.standardizer.x_mean[j]
                });
            }
        }
        let sx = setup.standardizer.transform_x(&raw)?;
        let (bf, by) = simulate(&sx, g, &mut r);
        let per = |m: &[Vec<f64>], n: usize| {
            let mut v: Vec<f64> = m.iter().map(|d| d[n]).collect();
            Quantiles::of(&mut v)
        };
        Ok::<_, Error>(Band {
            input: data.feature_names[c].clone(),
            function: (0..g).map(|n| per(&bf, n)).collect(),
            predictive: (0..g).map(|n| per(&by, n)).collect(),
            x: xs,
        })
    });
    let before = match &setup.output_prior {
        None => None,
        Some(cal) => {
            for w in &cal.warnings {
                warnings.push(format!("The output prior: {w}."));
            }
            let mut plain = config.clone();
            plain.output_prior = None;
            Some(prior_check(data, &plain, opts)?.function)
        }
    };
    Ok(PriorCheck {
        output_prior: setup.output_prior.clone(),
        before,
        target: data.target_label(),
        draws: opts.draws,
        priors: crate::fit::prior_summary(setup.priors.as_ref()),
        observed_min,
        observed_max,
        predictive,
        function,
        function_sd,
        function_share,
        range_ratio,
        warnings,
        band: band.transpose()?,
    })
}

impl PriorCheck {
    /// Band plot of the prior predictive against the chosen input, with the observed range.
    pub fn plot(&self) -> Option<LinePlot> {
        let b = self.band.as_ref()?;
        let flat = |v: f64| vec![(b.x[0], v), (b.x[b.x.len() - 1], v)];
        Some(LinePlot {
            title: format!("Prior predictive of {} ({} draws)", self.target, self.draws),
            x_label: b.input.clone(),
            y_label: self.target.clone(),
            series: vec![
                Series::with_band(
                    "new observation, 1–99%",
                    vec![],
                    b.x.iter()
                        .zip(&b.predictive)
                        .map(|(x, q)| (*x, q.q01, q.q99))
                        .collect(),
                ),
                Series::with_band(
                    "mean function: median, 1–99%",
                    b.x.iter()
                        .zip(&b.function)
                        .map(|(x, q)| (*x, q.q50))
                        .collect(),
                    b.x.iter()
                        .zip(&b.function)
                        .map(|(x, q)| (*x, q.q01, q.q99))
                        .collect(),
                ),
                Series::line("observed min / max", flat(self.observed_min)).dashed(),
                Series::line("", flat(self.observed_max)).dashed(),
            ],
        })
    }
}
