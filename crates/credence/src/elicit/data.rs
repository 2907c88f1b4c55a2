//! Priors from past data: a column read with the library's readers, the family fitted by
//! maximum likelihood, and optionally discounted as a power prior.

use super::family::Family;
use super::solve::{nelder_mead, newton2, root_on_log_grid};
use crate::data::{read_table, Column, ReadOptions, Table};
use crate::dist::Dist;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use statrs::function::gamma::digamma;
use std::path::Path;

/// The values of one column of a data file, with where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct PastData {
    /// The file, as given.
    pub file: String,
    /// The column name.
    pub column: String,
    /// The present values, in file order.
    pub values: Vec<f64>,
    /// The source line of each value.
    pub lines: Vec<usize>,
    /// How many missing cells were dropped.
    pub dropped: usize,
}

/// Reads one numeric column (CSV, whitespace or Parquet, as `credence fit --data` does);
/// missing cells are dropped and counted, a non-numeric cell is an error naming its line.
pub fn read_column(path: &Path, column: &str) -> Result<PastData> {
    column_of(&read_table(path, &ReadOptions::default())?, column)
}

/// One numeric column of a table already read (see [`read_column`]).
pub fn column_of(table: &Table, column: &str) -> Result<PastData> {
    let col = table.column_index(column)?;
    let v = match &table.columns[col] {
        Column::Numeric(v) | Column::Boolean(v) => v,
        // A text column: `numeric` names the first cell that is not a number.
        Column::Text { .. } => {
            return Err(table.numeric(col).err().unwrap_or_else(|| {
                Error::data(
                    &table.source,
                    None,
                    Some(table.names[col].clone()),
                    "expected a numeric column",
                )
            }))
        }
    };
    let (mut values, mut lines) = (Vec::new(), Vec::new());
    for (row, x) in v.iter().enumerate() {
        if !x.is_nan() {
            values.push(*x);
            lines.push(table.lines[row]);
        }
    }
    if values.is_empty() {
        return Err(Error::data(
            &table.source,
            None,
            Some(table.names[col].clone()),
            "no values: every cell is missing",
        ));
    }
    Ok(PastData {
        file: table.source.clone(),
        column: table.names[col].clone(),
        dropped: v.len() - values.len(),
        values,
        lines,
    })
}

impl PastData {
    /// Checks every value lies in the family's support; the error names the line and column.
    pub fn check_support(&self, family: Family) -> Result<()> {
        let min = match family {
            Family::HalfNormal => 1,
            Family::StudentT => 3,
            _ => 2,
        };
        if self.values.len() < min {
            return Err(Error::data(
                &self.file,
                None,
                Some(self.column.clone()),
                format!(
                    "a {} fit needs at least {min} values, found {}",
                    family.name(),
                    self.values.len()
                ),
            ));
        }
        for (x, &line) in self.values.iter().zip(&self.lines) {
            if !family.in_support(*x) {
                return Err(Error::data(
                    &self.file,
                    Some(line),
                    Some(self.column.clone()),
                    format!("a {} needs {}, found {x}", family.name(), family.support()),
                ));
            }
        }
        Ok(())
    }

    /// The fingerprint of the values (see [`fingerprint`]).
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.values)
    }
}

/// A short content hash of values (SHA-256 of the count and the values, first 16 hex digits).
pub fn fingerprint(values: &[f64]) -> String {
    let mut h = Sha256::new();
    h.update((values.len() as u64).to_le_bytes());
    for v in values {
        h.update(v.to_le_bytes());
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Mean and maximum-likelihood sd (divisor n).
fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let m = mean(xs);
    (
        m,
        (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64).sqrt(),
    )
}

fn constant(family: Family) -> Error {
    Error::Invalid(format!(
        "--from-data: the values are all equal, so a {} has no finite maximum-likelihood fit",
        family.name()
    ))
}

/// All values equal (exactly: their computed sd may still be a rounding error above 0).
fn all_equal(xs: &[f64]) -> bool {
    xs.iter().all(|&x| x == xs[0])
}

/// Maximum-likelihood fit of `family` to values in its support: closed form for normal,
/// lognormal and half-normal; a 1-D root of the score for gamma; Newton on the score for beta;
/// Nelder–Mead on the likelihood for student-t (`df` fixes its degrees of freedom).
pub fn mle(family: Family, xs: &[f64], df: Option<f64>) -> Result<Dist> {
    if !xs.is_empty() && all_equal(xs) && family != Family::HalfNormal {
        return Err(constant(family));
    }
    let d = match family {
        Family::Normal => {
            let (loc, scale) = mean_sd(xs);
            if scale == 0.0 {
                return Err(constant(family));
            }
            Dist::Normal { loc, scale }
        }
        Family::LogNormal => {
            let logs: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
            let (mu, sigma) = mean_sd(&logs);
            if sigma == 0.0 {
                return Err(constant(family));
            }
            Dist::LogNormal { mu, sigma }
        }
        Family::HalfNormal => {
            let scale = mean(&xs.iter().map(|x| x * x).collect::<Vec<_>>()).sqrt();
            if scale == 0.0 {
                return Err(Error::Invalid(
                    "--from-data: every value is 0, so a half-normal has no positive scale".into(),
                ));
            }
            Dist::HalfNormal { scale }
        }
        Family::Gamma => {
            // Score: ln α − ψ(α) = ln x̄ − mean(ln x); the rate is α / x̄.
            let m = mean(xs);
            let s = m.ln() - mean(&xs.iter().map(|x| x.ln()).collect::<Vec<_>>());
            if s <= 0.0 {
                return Err(constant(family));
            }
            let shape = root_on_log_grid(|a| a.ln() - digamma(a) - s, 1e-4, 1e9, 130)
                .ok_or_else(|| Error::Numeric("gamma maximum likelihood: no shape found".into()))?;
            Dist::Gamma {
                shape,
                rate: shape / m,
            }
        }
        Family::Beta => {
            // Score: ψ(α) − ψ(α+β) = mean(ln x), ψ(β) − ψ(α+β) = mean(ln(1−x)).
            let (m, sd) = mean_sd(xs);
            if sd == 0.0 {
                return Err(constant(family));
            }
            let (l1, l2) = (
                mean(&xs.iter().map(|x| x.ln()).collect::<Vec<_>>()),
                mean(&xs.iter().map(|x| (-x).ln_1p()).collect::<Vec<_>>()),
            );
            let nu = (m * (1.0 - m) / (sd * sd) - 1.0).max(1e-2);
            let start = [(m * nu).ln(), ((1.0 - m) * nu).ln()];
            let score = |th: &[f64]| {
                let (a, b) = (th[0].exp(), th[1].exp());
                let ab = digamma(a + b);
                [digamma(a) - ab - l1, digamma(b) - ab - l2]
            };
            let nll = |th: &[f64]| {
                let r = score(th);
                r[0] * r[0] + r[1] * r[1]
            };
            let (th, _) = nelder_mead(nll, &start, 0.5);
            let (th, res) = newton2(score, &th);
            if res > 1e-8 {
                return Err(Error::Numeric(format!(
                    "beta maximum likelihood did not converge (score norm {res:.2e})"
                )));
            }
            Family::Beta.at(&th, None)
        }
        Family::StudentT => {
            let mut sorted = xs.to_vec();
            sorted.sort_by(f64::total_cmp);
            let med = sorted[sorted.len() / 2];
            let mut dev: Vec<f64> = xs.iter().map(|x| (x - med).abs()).collect();
            dev.sort_by(f64::total_cmp);
            let mad = dev[dev.len() / 2] * 1.4826;
            if mad == 0.0 && mean_sd(xs).1 == 0.0 {
                return Err(constant(family));
            }
            let scale0 = if mad > 0.0 { mad } else { mean_sd(xs).1 };
            let mut start = vec![med, scale0.ln()];
            if df.is_none() {
                start.push(5f64.ln());
            }
            let nll = |th: &[f64]| {
                let d = Family::StudentT.at(th, df);
                if d.validate().is_err() {
                    return f64::INFINITY;
                }
                -xs.iter().map(|&x| d.log_prob(x)).sum::<f64>()
            };
            let (th, _) = nelder_mead(nll, &start, 0.5);
            Family::StudentT.at(&th, df)
        }
    };
    d.validate()
        .map_err(|e| Error::Numeric(format!("the fitted {} is invalid: {e}", family.name())))?;
    Ok(d)
}

/// What a prior from past data is a prior on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The location parameter (the mean of future data): the posterior of the mean.
    Mean,
    /// A future value: the posterior predictive.
    Value,
}

/// A power prior from past data: the likelihood raised to `weight` (the n past values count as
/// `weight`·n observations), under a flat reference prior on the location and with the spread σ
/// fixed at its maximum-likelihood value s. For the normal family with `Target::Mean` it is the
/// posterior of the mean, Normal(x̄, s/√(w·n)) — exactly what a previous posterior is when it
/// becomes the next prior; with `Target::Value` it is the predictive of one new value,
/// Normal(x̄, s·√(1 + 1/(w·n))). The lognormal family does the same on ln x. Other families have
/// no such closed form and are refused.
pub fn power_prior(family: Family, xs: &[f64], weight: f64, target: Target) -> Result<Dist> {
    if !(weight > 0.0 && weight.is_finite()) {
        return Err(Error::Invalid(format!(
            "--weight {weight}: the weight of the past data must be a positive number (1 = full weight)"
        )));
    }
    let n_eff = weight * xs.len() as f64;
    let widen = |s: f64| match target {
        Target::Mean => s / n_eff.sqrt(),
        Target::Value => s * (1.0 + 1.0 / n_eff).sqrt(),
    };
    match mle(family, xs, None)? {
        Dist::Normal { loc, scale } => Ok(Dist::Normal {
            loc,
            scale: widen(scale),
        }),
        Dist::LogNormal { mu, sigma } => Ok(Dist::LogNormal {
            mu,
            sigma: widen(sigma),
        }),
        _ => Err(Error::Invalid(format!(
            "--weight/--target mean: the power prior is implemented for the normal and lognormal families, not {}",
            family.name()
        ))),
    }
}

/// Fits `family` to past data: maximum likelihood, or a power prior when `weight` is given or
/// the target is the mean; the feedback compares the data's mean, sd and quantiles with the
/// fit's.
pub fn from_past_data(
    family: Family,
    data: &PastData,
    df: Option<f64>,
    weight: Option<f64>,
    target: Target,
) -> Result<super::Elicited> {
    use super::{format_num, percent, quantile, Check, Elicited, FitMethod};
    data.check_support(family)?;
    let xs = &data.values;
    let power = weight.is_some() || target == Target::Mean;
    let (dist, method) = if power {
        if df.is_some() {
            return Err(Error::Invalid(
                "--df applies to a student-t fit, not to a power prior".into(),
            ));
        }
        let w = weight.unwrap_or(1.0);
        (power_prior(family, xs, w, target)?, FitMethod::PowerPrior)
    } else {
        (mle(family, xs, df)?, FitMethod::MaximumLikelihood)
    };
    let n = xs.len();
    let mut statement = format!(
        "{n} values of column '{}' in {} (fingerprint {}{})",
        data.column,
        data.file,
        data.fingerprint(),
        if data.dropped > 0 {
            format!(
                ", {} missing cell{} dropped",
                data.dropped,
                if data.dropped == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        }
    );
    if power {
        let w = weight.unwrap_or(1.0);
        statement.push_str(&format!(
            "; power prior with weight {} (counted as {} observations) on {}",
            format_num(w),
            format_num(w * n as f64),
            match target {
                Target::Mean => "the mean of future data",
                Target::Value => "a future value (predictive)",
            }
        ));
    }
    let (m, sd) = mean_sd(xs);
    let mut sorted = xs.clone();
    sorted.sort_by(f64::total_cmp);
    // Empirical quantile by linear interpolation between order statistics (type 7).
    let emp = |p: f64| {
        let h = (n - 1) as f64 * p;
        let (lo, frac) = (h.floor() as usize, h - h.floor());
        sorted[lo] + frac * (sorted[(lo + 1).min(n - 1)] - sorted[lo])
    };
    let mut checks = vec![
        Check::new("data mean", m, dist.mean()),
        Check::new("data sd", sd, dist.variance().sqrt()),
    ];
    for p in [0.05, 0.5, 0.95] {
        checks.push(Check::new(
            &format!("data {} quantile", percent(p)),
            emp(p),
            quantile(&dist, p),
        ));
    }
    Ok(Elicited {
        statement,
        dist,
        method,
        checks,
    })
}
