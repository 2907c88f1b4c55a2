//! Prior sensitivity: refit under alternative priors (a full prior list, or a transform of the
//! base priors such as "scale × 0.1" or "Laplace instead of Normal"), evaluate on a seeded
//! held-out split, and report how test metrics move and how far the predictive means move in
//! units of the base fit's predictive standard deviation. Shows whether a conclusion rests on the
//! data or on the prior.

use crate::config::Config;
use crate::data::{train_test_split, Dataset};
use crate::dist::Dist;
use crate::error::{Error, Result};
use crate::eval::regression_metrics;
use crate::fit::{fit, prior_summary, FitOptions};
use crate::infer::{Method, Silent};
use crate::predict::{Predictive, RegressionPredictive};
use crate::prior::{Prior, PriorSet};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One alternative prior: either a full list of priors or a transform of the base priors'
/// network-parameter entries (the noise prior is left as it is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    /// Name shown in the report.
    pub name: String,
    /// Multiply the scale of every network-parameter prior by this factor.
    #[serde(default)]
    pub scale: Option<f64>,
    /// Replace the family of every network-parameter prior, keeping location and standard
    /// deviation: `normal`, `laplace`, `student-t` (with `df`, default 3), `cauchy` (keeps the
    /// scale parameter, as a Cauchy has no standard deviation).
    #[serde(default)]
    pub family: Option<String>,
    /// Degrees of freedom for `family = "student-t"`.
    #[serde(default)]
    pub df: Option<f64>,
    /// A complete replacement list of priors (each with its provenance).
    #[serde(default)]
    pub prior: Vec<Prior>,
}

/// The alternatives file: `[[alternative]]` entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alternatives {
    /// The alternatives, in order.
    pub alternative: Vec<Alternative>,
}

impl Alternatives {
    /// Reads an alternatives file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parses alternatives text; `file` names the source in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self> {
        let a: Alternatives = toml::from_str(text).map_err(|e| Error::Config {
            file: file.into(),
            message: e.to_string().trim_end().to_string(),
        })?;
        if a.alternative.is_empty() {
            return Err(Error::Config {
                file: file.into(),
                message: "no [[alternative]] entries".into(),
            });
        }
        let base = PriorSet::default_priors();
        for alt in &a.alternative {
            alt.apply(&base).map_err(|e| Error::Config {
                file: file.into(),
                message: format!("alternative '{}': {e}", alt.name),
            })?;
        }
        Ok(a)
    }
}

fn rescale(d: &Dist, k: f64) -> Dist {
    match *d {
        Dist::Normal { loc, scale } => Dist::Normal {
            loc,
            scale: scale * k,
        },
        Dist::Laplace { loc, scale } => Dist::Laplace {
            loc,
            scale: scale * k,
        },
        Dist::StudentT { df, loc, scale } => Dist::StudentT {
            df,
            loc,
            scale: scale * k,
        },
        Dist::Cauchy { loc, scale } => Dist::Cauchy {
            loc,
            scale: scale * k,
        },
        Dist::HalfNormal { scale } => Dist::HalfNormal { scale: scale * k },
        Dist::LogNormal { mu, sigma } => Dist::LogNormal {
            mu: mu + k.ln(),
            sigma,
        },
        Dist::HalfCauchy { scale } => Dist::HalfCauchy { scale: scale * k },
        ref other => other.clone(),
    }
}

fn loc_sd(d: &Dist) -> Option<(f64, f64)> {
    match *d {
        Dist::Normal { loc, scale } => Some((loc, scale)),
        Dist::Laplace { loc, scale } => Some((loc, scale * std::f64::consts::SQRT_2)),
        Dist::StudentT { df, loc, scale } if df > 2.0 => {
            Some((loc, scale * (df / (df - 2.0)).sqrt()))
        }
        Dist::StudentT { loc, scale, .. } | Dist::Cauchy { loc, scale } => Some((loc, scale)),
        _ => None,
    }
}

impl Alternative {
    /// The prior set this alternative makes of `base`.
    pub fn apply(&self, base: &PriorSet) -> Result<PriorSet> {
        if !self.prior.is_empty() {
            if self.scale.is_some() || self.family.is_some() {
                return Err(Error::Invalid(
                    "give either a [[alternative.prior]] list or a transform (scale, family), not both".into(),
                ));
            }
            let set = PriorSet {
                priors: self.prior.clone(),
            };
            set.validate(&self.name)?;
            return Ok(set);
        }
        if self.scale.is_none() && self.family.is_none() {
            return Err(Error::Invalid(
                "needs a transform (scale = 0.1, family = \"laplace\") or a [[alternative.prior]] list".into(),
            ));
        }
        if let Some(k) = self.scale {
            if !(k > 0.0 && k.is_finite()) {
                return Err(Error::Invalid(format!(
                    "scale must be a positive factor, found {k}"
                )));
            }
        }
        let mut out = base.clone();
        for p in out.priors.iter_mut().filter(|p| p.params != "noise") {
            let mut what = Vec::new();
            if let Some(k) = self.scale {
                p.distribution = rescale(&p.distribution, k);
                what.push(format!("scale × {k}"));
            }
            if let Some(f) = &self.family {
                let (loc, sd) = loc_sd(&p.distribution).ok_or_else(|| {
                    Error::Invalid(format!(
                        "cannot change the family of a {} prior (params = \"{}\")",
                        p.distribution.family(),
                        p.params
                    ))
                })?;
                p.distribution = match f.as_str() {
                    "normal" => Dist::Normal { loc, scale: sd },
                    "laplace" => Dist::Laplace {
                        loc,
                        scale: sd / std::f64::consts::SQRT_2,
                    },
                    "student-t" => {
                        let df = self.df.unwrap_or(3.0);
                        if !(df > 2.0 && df.is_finite()) {
                            return Err(Error::Invalid(format!(
                                "student-t needs df > 2 to keep the standard deviation, found {df}"
                            )));
                        }
                        Dist::StudentT {
                            df,
                            loc,
                            scale: sd * ((df - 2.0) / df).sqrt(),
                        }
                    }
                    "cauchy" => Dist::Cauchy { loc, scale: sd },
                    other => {
                        return Err(Error::Invalid(format!(
                        "unknown family '{other}'; expected normal, laplace, student-t or cauchy"
                    )))
                    }
                };
                what.push(format!("{f} with the same location and sd"));
            }
            let note = format!(
                "sensitivity alternative '{}': {} applied to the base prior",
                self.name,
                what.join(", ")
            );
            p.provenance.note = if p.provenance.note.is_empty() {
                note
            } else {
                format!("{note}; base: {}", p.provenance.note)
            };
        }
        out.validate(&self.name)?;
        Ok(out)
    }
}

/// Options of a sensitivity analysis.
#[derive(Debug, Clone, Copy)]
pub struct SensitivityOptions {
    /// Inference method (one that uses a prior).
    pub method: Method,
    /// Share of rows held out for testing.
    pub test_fraction: f64,
    /// Seed of the split and the fits.
    pub seed: u64,
}

/// Test metrics of one prior and how it moved predictions relative to the base prior.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SensitivityRow {
    /// "base" or the alternative's name.
    pub name: String,
    /// The priors, in one line.
    pub priors: String,
    /// Test RMSE (original units).
    pub rmse: f64,
    /// Mean test log predictive density.
    pub ll: f64,
    /// Share of test targets inside the central 90% predictive interval.
    pub coverage90: f64,
    /// Largest |mean − base mean| / base predictive sd over test rows.
    pub max_shift: f64,
    /// Mean |mean − base mean| / base predictive sd over test rows.
    pub mean_shift: f64,
}

/// A prior sensitivity analysis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sensitivity {
    /// Method used for every fit.
    pub method: String,
    /// Target column.
    pub target: String,
    /// Training rows.
    pub train_rows: usize,
    /// Test rows.
    pub test_rows: usize,
    /// The base prior's row (shifts are zero).
    pub base: SensitivityRow,
    /// One row per alternative.
    pub alternatives: Vec<SensitivityRow>,
    /// The conclusion in plain words.
    pub verdict: String,
}

fn score(
    name: &str,
    priors: &PriorSet,
    p: &RegressionPredictive,
    y: &[f64],
    base: Option<&RegressionPredictive>,
) -> SensitivityRow {
    let m = regression_metrics(p, y);
    let inside = p
        .interval(0.9)
        .iter()
        .zip(y)
        .filter(|((lo, hi), t)| (*lo..=*hi).contains(*t))
        .count();
    let (max_shift, mean_shift) = match base {
        None => (0.0, 0.0),
        Some(b) => {
            let (bm, bs, am) = (b.mean(), b.std(), p.mean());
            let s: Vec<f64> = am
                .iter()
                .zip(&bm)
                .zip(&bs)
                .map(|((a, m), sd)| (a - m).abs() / sd.max(1e-300))
                .collect();
            (
                s.iter().copied().fold(0.0, f64::max),
                s.iter().sum::<f64>() / s.len() as f64,
            )
        }
    };
    SensitivityRow {
        name: name.into(),
        priors: prior_summary(Some(priors)),
        rmse: m.rmse,
        ll: m.log_lik,
        coverage90: inside as f64 / y.len() as f64,
        max_shift,
        mean_shift,
    }
}

/// One fit of a sensitivity analysis (unit 0 the base prior, unit i the i-th alternative): its
/// prior and its predictive on the held-out rows. The unit of work a distributed analysis runs
/// on a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensitivityUnit {
    /// Unit number (0 = base).
    pub index: usize,
    /// "base" or the alternative's name.
    pub name: String,
    /// The priors fitted under.
    pub priors: PriorSet,
    /// Predictive on the held-out rows.
    pub predictive: RegressionPredictive,
}

/// Training rows, held-out rows, and the named prior sets: ("base", base priors), then each
/// alternative.
type Prepared = (Dataset, Dataset, Vec<(String, PriorSet)>);

/// The analysis's split and prior sets.
fn prepare(
    data: &Dataset,
    config: &Config,
    alternatives: &Alternatives,
    opts: SensitivityOptions,
) -> Result<Prepared> {
    if !opts.method.uses_prior() {
        return Err(Error::Invalid(format!(
            "prior sensitivity needs a method that uses a prior; '{}' does not",
            opts.method.name()
        )));
    }
    if !(opts.test_fraction > 0.0 && opts.test_fraction < 1.0) {
        return Err(Error::Invalid(format!(
            "the test fraction must be in (0, 1), found {}",
            opts.test_fraction
        )));
    }
    let (tr, te) = train_test_split(data.rows, opts.test_fraction, opts.seed);
    let (train, test) = (data.subset(&tr), data.subset(&te));
    let base = config
        .priors
        .clone()
        .unwrap_or_else(PriorSet::default_priors);
    let mut sets = vec![("base".to_string(), base.clone())];
    for a in &alternatives.alternative {
        sets.push((a.name.clone(), a.apply(&base)?));
    }
    Ok((train, test, sets))
}

/// The number of fits of an analysis: the base prior and one per alternative.
pub fn sensitivity_units(alternatives: &Alternatives) -> usize {
    1 + alternatives.alternative.len()
}

fn run_unit(
    train: &Dataset,
    test: &Dataset,
    config: &Config,
    opts: SensitivityOptions,
    index: usize,
    (name, set): &(String, PriorSet),
) -> Result<SensitivityUnit> {
    let mut c = config.clone();
    c.priors = Some(set.clone());
    let model = fit(
        train,
        &c,
        FitOptions {
            method: opts.method,
            seed: opts.seed,
            progress: &Silent,
            strict_columns: false,
        },
    )?;
    let predictive = match model.predict(test, opts.seed)? {
        Predictive::Regression(p) => p,
        Predictive::Classification(_) => {
            return Err(Error::Invalid(
                "prior sensitivity supports regression likelihoods".into(),
            ))
        }
        Predictive::MultiRegression(_) => {
            return Err(crate::predict::one_target_only("prior sensitivity"))
        }
    };
    Ok(SensitivityUnit {
        index,
        name: name.clone(),
        priors: set.clone(),
        predictive,
    })
}

/// Runs fit `index` of the analysis alone (0 = the base prior).
pub fn sensitivity_unit(
    data: &Dataset,
    config: &Config,
    alternatives: &Alternatives,
    opts: SensitivityOptions,
    index: usize,
) -> Result<SensitivityUnit> {
    let (train, test, sets) = prepare(data, config, alternatives, opts)?;
    let set = sets.get(index).ok_or_else(|| {
        Error::Invalid(format!(
            "sensitivity unit {index} asked of an analysis with {} fits",
            sets.len()
        ))
    })?;
    run_unit(&train, &test, config, opts, index, set)
}

/// Refits under each alternative prior and compares with the base prior on a held-out split.
pub fn sensitivity(
    data: &Dataset,
    config: &Config,
    alternatives: &Alternatives,
    opts: SensitivityOptions,
) -> Result<Sensitivity> {
    let (train, test, sets) = prepare(data, config, alternatives, opts)?;
    let units: Vec<SensitivityUnit> = sets
        .par_iter()
        .enumerate()
        .map(|(i, set)| run_unit(&train, &test, config, opts, i, set))
        .collect::<Result<_>>()?;
    combine(data, &train, &test, &sets, opts, units)
}

/// The analysis from its fits (all of them, in order), run by [`sensitivity_unit`].
pub fn sensitivity_from_units(
    data: &Dataset,
    config: &Config,
    alternatives: &Alternatives,
    opts: SensitivityOptions,
    units: Vec<SensitivityUnit>,
) -> Result<Sensitivity> {
    let (train, test, sets) = prepare(data, config, alternatives, opts)?;
    combine(data, &train, &test, &sets, opts, units)
}

fn combine(
    data: &Dataset,
    train: &Dataset,
    test: &Dataset,
    sets: &[(String, PriorSet)],
    opts: SensitivityOptions,
    units: Vec<SensitivityUnit>,
) -> Result<Sensitivity> {
    if units.len() != sets.len()
        || units
            .iter()
            .zip(sets)
            .enumerate()
            .any(|(i, (u, (n, s)))| u.index != i || &u.name != n || &u.priors != s)
    {
        return Err(Error::Invalid(format!(
            "the analysis has {} fits (base, then the alternatives in order); the units given do not match them",
            sets.len()
        )));
    }
    if let Some(u) = units.iter().find(|u| u.predictive.rows != test.rows) {
        return Err(Error::Invalid(format!(
            "unit {} predicts {} rows; the held-out split has {}",
            u.index, u.predictive.rows, test.rows
        )));
    }
    let preds: Vec<RegressionPredictive> = units.into_iter().map(|u| u.predictive).collect();
    let base = &sets[0].1;
    let base_row = score("base", base, &preds[0], &test.y, None);
    let rows: Vec<SensitivityRow> = sets[1..]
        .iter()
        .zip(&preds[1..])
        .map(|((n, s), p)| score(n, s, p, &test.y, Some(&preds[0])))
        .collect();
    let moved: Vec<&SensitivityRow> = rows.iter().filter(|r| r.max_shift > 1.0).collect();
    let verdict = if rows.iter().all(|r| r.max_shift < 0.5) {
        "Predictions rest on the data: no alternative prior moves any test prediction by more than half a predictive standard deviation.".to_string()
    } else if moved.is_empty() {
        "Predictions depend mildly on the prior: some move by more than half, none by more than one, predictive standard deviation.".to_string()
    } else {
        format!(
            "Predictions depend on the prior: {} move(s) some test predictions by more than one predictive standard deviation; report the prior with the result, or gather more data.",
            moved
                .iter()
                .map(|r| format!("'{}' (up to {:.2} sd)", r.name, r.max_shift))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Ok(Sensitivity {
        method: opts.method.name().into(),
        target: data.target_label(),
        train_rows: train.rows,
        test_rows: test.rows,
        base: base_row,
        alternatives: rows,
        verdict,
    })
}
