//! Fitting a family to a statement: exact solves when the quantiles determine it, least squares
//! on the quantiles otherwise, moment matching for a mean and an sd.

use super::family::{cdf, mode, quantile, Family};
use super::solve::{nelder_mead, newton2, root_on_log_grid};
use super::{Check, Elicited, FitMethod, Quantile, Statement};
use crate::dist::Dist;
use crate::error::{Error, Result};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

fn invalid(msg: impl Into<String>) -> Error {
    Error::Invalid(msg.into())
}

fn z(p: f64) -> f64 {
    Normal::new(0.0, 1.0).map_or(f64::NAN, |n| n.inverse_cdf(p))
}

fn t(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |s| s.inverse_cdf(p))
}

/// Checks a list of quantiles against a family: probabilities in (0, 1) and distinct, values in
/// the support and increasing with the probability. Returns them sorted by probability.
pub fn check_quantiles(family: Family, qs: &[Quantile]) -> Result<Vec<Quantile>> {
    for q in qs {
        if !(q.p > 0.0 && q.p < 1.0) {
            return Err(invalid(format!(
                "--quantile {}={}: the probability must lie strictly between 0 and 1",
                q.p, q.x
            )));
        }
        if !family.in_support(q.x) || (family == Family::HalfNormal && q.x <= 0.0) {
            return Err(invalid(format!(
                "--quantile {}={}: a {} quantile must be {}",
                q.p,
                q.x,
                family.name(),
                if family == Family::HalfNormal {
                    "a positive number"
                } else {
                    family.support()
                }
            )));
        }
    }
    let mut s = qs.to_vec();
    s.sort_by(|a, b| a.p.total_cmp(&b.p));
    for w in s.windows(2) {
        if w[0].p == w[1].p {
            return Err(invalid(format!(
                "--quantile: the probability {} is given twice",
                w[0].p
            )));
        }
        if w[1].x <= w[0].x {
            return Err(invalid(format!(
                "--quantile: quantiles must increase with the probability, but the {} quantile is {} and the {} quantile is {}",
                w[0].p, w[0].x, w[1].p, w[1].x
            )));
        }
    }
    Ok(s)
}

/// Fits `family` to sorted, checked quantiles: exactly when their number equals the free
/// parameters, by least squares when there are more.
pub fn fit_quantiles(
    family: Family,
    qs: &[Quantile],
    df: Option<f64>,
) -> Result<(Dist, FitMethod)> {
    let k = family.free_params(df.is_some());
    if qs.len() < k {
        let hint = if family == Family::StudentT {
            " (or give --df)"
        } else {
            ""
        };
        return Err(invalid(format!(
            "--quantile: a {} has {k} free parameters and needs at least {k} quantiles{hint}, found {}",
            family.name(),
            qs.len()
        )));
    }
    if qs.len() == k {
        if let Some(d) = exact(family, qs, df)? {
            return Ok((d, FitMethod::Exact));
        }
    }
    let start = start(family, qs, df);
    let d = least_squares(family, df, &start, |d| quantile_residuals(d, qs))?;
    Ok((d, FitMethod::LeastSquares))
}

/// Residuals of a fit: (fitted quantile − stated quantile) / (range of the stated values).
pub fn quantile_residuals(d: &Dist, qs: &[Quantile]) -> Vec<f64> {
    let span = spread(qs.iter().map(|q| q.x));
    qs.iter().map(|q| (quantile(d, q.p) - q.x) / span).collect()
}

fn spread(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let hi = xs.clone().fold(f64::NEG_INFINITY, f64::max);
    let lo = xs.fold(f64::INFINITY, f64::min);
    if hi > lo {
        hi - lo
    } else {
        hi.abs().max(1.0)
    }
}

/// The least-squares fit: minimises the sum of squared `residuals` over the family's
/// unconstrained parameters by Nelder–Mead from `start`.
pub fn least_squares(
    family: Family,
    df: Option<f64>,
    start: &Dist,
    residuals: impl Fn(&Dist) -> Vec<f64>,
) -> Result<Dist> {
    let objective = |th: &[f64]| -> f64 {
        let d = family.at(th, df);
        if d.validate().is_err() {
            return f64::INFINITY;
        }
        residuals(&d).iter().map(|r| r * r).sum()
    };
    let (th, v) = nelder_mead(objective, &family.theta(start, df.is_some()), 0.5);
    if !v.is_finite() {
        return Err(Error::Numeric(format!(
            "no {} fits the statement (the least-squares search found no finite fit)",
            family.name()
        )));
    }
    Ok(family.at(&th, df))
}

fn exact(family: Family, qs: &[Quantile], df: Option<f64>) -> Result<Option<Dist>> {
    let loc_scale = |x1: f64, x2: f64, s1: f64, s2: f64| {
        let scale = (x2 - x1) / (s2 - s1);
        (x1 - scale * s1, scale)
    };
    Ok(Some(match family {
        Family::Normal => {
            let (loc, scale) = loc_scale(qs[0].x, qs[1].x, z(qs[0].p), z(qs[1].p));
            Dist::Normal { loc, scale }
        }
        Family::LogNormal => {
            let (mu, sigma) = loc_scale(qs[0].x.ln(), qs[1].x.ln(), z(qs[0].p), z(qs[1].p));
            Dist::LogNormal { mu, sigma }
        }
        Family::HalfNormal => Dist::HalfNormal {
            scale: qs[0].x / z(0.5 * (1.0 + qs[0].p)),
        },
        Family::StudentT => match df {
            Some(df) => {
                let (loc, scale) = loc_scale(qs[0].x, qs[1].x, t(qs[0].p, df), t(qs[1].p, df));
                Dist::StudentT { df, loc, scale }
            }
            None => return student_t_df(qs),
        },
        Family::Gamma => {
            let target = (qs[1].x / qs[0].x).ln();
            let gap = |shape: f64| {
                let g = Dist::Gamma { shape, rate: 1.0 };
                (quantile(&g, qs[1].p) / quantile(&g, qs[0].p)).ln() - target
            };
            let shape = root_on_log_grid(gap, 1e-2, 1e7, 90).ok_or_else(|| {
                invalid(format!(
                    "--quantile: no gamma with shape between 0.01 and 1e7 has these quantiles (ratio {} between the {} and {} quantiles)",
                    qs[1].x / qs[0].x, qs[1].p, qs[0].p
                ))
            })?;
            let rate = quantile(&Dist::Gamma { shape, rate: 1.0 }, qs[0].p) / qs[0].x;
            Dist::Gamma { shape, rate }
        }
        Family::Beta => return beta_exact(qs).map(Some),
    }))
}

/// Student-t with free df from three quantiles: df solves the ratio of the two gaps between
/// them; `None` (least squares instead) when no df in [0.1, 1e6] does.
fn student_t_df(qs: &[Quantile]) -> Result<Option<Dist>> {
    let ratio = |df: f64| {
        let (a, b, c) = (t(qs[0].p, df), t(qs[1].p, df), t(qs[2].p, df));
        (c - a) / (b - a)
    };
    let target = (qs[2].x - qs[0].x) / (qs[1].x - qs[0].x);
    if (ratio(1.0) - ratio(100.0)).abs() < 1e-9 * ratio(1.0).abs() {
        return Err(invalid(format!(
            "--quantile: the probabilities {}, {}, {} are symmetric, so every student-t df fits them; give --df or an asymmetric set such as 0.5, 0.75, 0.95",
            qs[0].p, qs[1].p, qs[2].p
        )));
    }
    let Some(df) = root_on_log_grid(|df| ratio(df) - target, 0.1, 1e6, 120) else {
        return Ok(None);
    };
    let (a, c) = (t(qs[0].p, df), t(qs[2].p, df));
    let scale = (qs[2].x - qs[0].x) / (c - a);
    Ok(Some(Dist::StudentT {
        df,
        loc: qs[0].x - scale * a,
        scale,
    }))
}

/// Beta from two quantiles: Newton on (ln α, ln β) with the CDF residuals on the probit scale
/// (z(F(xᵢ)) − z(pᵢ), which keeps the tails from flattening the problem), a numerical Jacobian
/// and step halving, started from the best point of a grid and a least-squares refinement.
fn beta_exact(qs: &[Quantile]) -> Result<Dist> {
    let f = |th: &[f64]| -> [f64; 2] {
        let d = Family::Beta.at(th, None);
        let r = |q: &Quantile| z(cdf(&d, q.x).clamp(1e-300, 1.0 - 1e-16)) - z(q.p);
        [r(&qs[0]), r(&qs[1])]
    };
    let ss = |th: &[f64]| {
        let r = f(th);
        r[0] * r[0] + r[1] * r[1]
    };
    let mut best = Family::Beta.theta(&start(Family::Beta, qs, None), false);
    for i in -4..=10 {
        for j in -4..=10 {
            let th = [i as f64, j as f64];
            if ss(&th) < ss(&best) {
                best = th.to_vec();
            }
        }
    }
    let (th, _) = nelder_mead(ss, &best, 0.5);
    let (th, res) = newton2(f, &th);
    if res > 1e-9 {
        return Err(Error::Numeric(format!(
            "--quantile: no beta found with these quantiles (closest probit residual {:.2e}); a beta this extreme may not exist or not be representable",
            res
        )));
    }
    Ok(Family::Beta.at(&th, None))
}

/// A starting point for the numerical fits: a normal matched to the outermost quantiles,
/// carried over to the family by its mean and sd.
fn start(family: Family, qs: &[Quantile], df: Option<f64>) -> Dist {
    let (a, b) = (qs[0], qs[qs.len() - 1]);
    let sd = if qs.len() > 1 {
        (b.x - a.x) / (z(b.p) - z(a.p))
    } else {
        a.x.abs().max(1.0)
    };
    let mean = if qs.len() > 1 { a.x - sd * z(a.p) } else { a.x };
    let fallback = || match family {
        Family::Beta => Dist::Beta {
            alpha: 1.0,
            beta: 1.0,
        },
        _ => Dist::Gamma {
            shape: 2.0,
            rate: 2.0 / a.x.abs().max(1e-3),
        },
    };
    match family {
        Family::Normal => Dist::Normal {
            loc: mean,
            scale: sd,
        },
        Family::StudentT => Dist::StudentT {
            df: df.unwrap_or(5.0),
            loc: mean,
            scale: sd,
        },
        Family::HalfNormal => Dist::HalfNormal {
            scale: (qs.iter().map(|q| q.x / z(0.5 * (1.0 + q.p))).sum::<f64>() / qs.len() as f64),
        },
        Family::LogNormal => {
            if qs.len() > 1 {
                let s = (b.x.ln() - a.x.ln()) / (z(b.p) - z(a.p));
                Dist::LogNormal {
                    mu: a.x.ln() - s * z(a.p),
                    sigma: s,
                }
            } else {
                Dist::LogNormal {
                    mu: a.x.ln(),
                    sigma: 1.0,
                }
            }
        }
        Family::Gamma | Family::Beta => {
            moments(family, mean.max(1e-6), sd, None).unwrap_or_else(|_| fallback())
        }
    }
}

/// The family with the given mean and sd (moment matching); student-t needs `df` > 2, a
/// half-normal takes the scale that fits both by least squares.
pub fn moments(family: Family, mean: f64, sd: f64, df: Option<f64>) -> Result<Dist> {
    if !(mean.is_finite() && sd.is_finite() && sd > 0.0) {
        return Err(invalid(format!(
            "--mean {mean} --sd {sd}: the mean must be finite and the sd a positive number"
        )));
    }
    let need_positive = || {
        if mean > 0.0 {
            Ok(())
        } else {
            Err(invalid(format!(
                "--mean {mean}: a {} has a positive mean",
                family.name()
            )))
        }
    };
    Ok(match family {
        Family::Normal => Dist::Normal {
            loc: mean,
            scale: sd,
        },
        Family::StudentT => match df {
            Some(df) if df > 2.0 => Dist::StudentT {
                df,
                loc: mean,
                scale: sd * ((df - 2.0) / df).sqrt(),
            },
            _ => {
                return Err(invalid(
                    "--family student-t with --mean/--sd needs --df greater than 2 (the variance exists only then)",
                ))
            }
        },
        Family::LogNormal => {
            need_positive()?;
            let s2 = (sd * sd / (mean * mean)).ln_1p();
            Dist::LogNormal {
                mu: mean.ln() - 0.5 * s2,
                sigma: s2.sqrt(),
            }
        }
        Family::Gamma => {
            need_positive()?;
            Dist::Gamma {
                shape: mean * mean / (sd * sd),
                rate: mean / (sd * sd),
            }
        }
        Family::Beta => {
            if !(mean > 0.0 && mean < 1.0 && sd * sd < mean * (1.0 - mean)) {
                return Err(invalid(format!(
                    "--mean {mean} --sd {sd}: a beta needs 0 < mean < 1 and sd² < mean·(1 − mean) = {}",
                    mean * (1.0 - mean)
                )));
            }
            let nu = mean * (1.0 - mean) / (sd * sd) - 1.0;
            Dist::Beta {
                alpha: mean * nu,
                beta: (1.0 - mean) * nu,
            }
        }
        Family::HalfNormal => {
            need_positive()?;
            let c1 = (2.0 / std::f64::consts::PI).sqrt();
            let c2 = (1.0 - 2.0 / std::f64::consts::PI).sqrt();
            Dist::HalfNormal {
                scale: (c1 * mean + c2 * sd) / (c1 * c1 + c2 * c2),
            }
        }
    })
}

/// Fits a statement: quantiles, a mean and an sd, or a mode and a central interval.
pub fn fit(family: Family, statement: &Statement, df: Option<f64>) -> Result<Elicited> {
    if let Some(df) = df {
        if !(df.is_finite() && df > 0.0) || family != Family::StudentT {
            return Err(invalid(format!(
                "--df {df}: only a student-t takes --df, and it must be a positive number"
            )));
        }
    }
    let (dist, method, checks) = match statement {
        Statement::Quantiles(qs) => {
            let qs = check_quantiles(family, qs)?;
            let (d, m) = fit_quantiles(family, &qs, df)?;
            let checks = qs
                .iter()
                .map(|q| {
                    Check::new(
                        &format!("{} quantile", percent(q.p)),
                        q.x,
                        quantile(&d, q.p),
                    )
                })
                .collect();
            (d, m, checks)
        }
        Statement::MeanSd { mean, sd } => {
            let d = moments(family, *mean, *sd, df)?;
            let m = if family == Family::HalfNormal {
                FitMethod::LeastSquares
            } else {
                FitMethod::Moments
            };
            let checks = vec![
                Check::new("mean", *mean, d.mean()),
                Check::new("sd", *sd, d.variance().sqrt()),
            ];
            (d, m, checks)
        }
        Statement::ModeRange {
            mode: md,
            lo,
            hi,
            mass,
        } => {
            let (d, qs) = fit_mode_range(family, *md, *lo, *hi, *mass, df)?;
            let mut checks = vec![Check::new("mode", *md, mode(&d))];
            for q in &qs {
                checks.push(Check::new(
                    &format!("{} quantile", percent(q.p)),
                    q.x,
                    quantile(&d, q.p),
                ));
            }
            (d, FitMethod::LeastSquares, checks)
        }
    };
    dist.validate()
        .map_err(|e| Error::Numeric(format!("the fitted {} is invalid: {e}", family.name())))?;
    Ok(Elicited {
        statement: statement.describe(),
        dist,
        method,
        checks,
    })
}

/// Mode and central interval: least squares on the mode and the two interval ends, each in
/// units of the interval's width.
fn fit_mode_range(
    family: Family,
    md: f64,
    lo: f64,
    hi: f64,
    mass: f64,
    df: Option<f64>,
) -> Result<(Dist, Vec<Quantile>)> {
    if !(mass > 0.0 && mass < 1.0) {
        return Err(invalid(format!(
            "--mass {mass}: the central interval's probability must lie strictly between 0 and 1"
        )));
    }
    if !(lo < md && md < hi) {
        return Err(invalid(format!(
            "--mode {md} --range {lo},{hi}: expected low < mode < high"
        )));
    }
    if family == Family::StudentT && df.is_none() {
        return Err(invalid(
            "--family student-t with --mode/--range needs --df: a mode and a central interval are symmetric statements, which every df fits",
        ));
    }
    if !family.in_support(md) {
        return Err(invalid(format!(
            "--mode {md}: a {} mode must be {}",
            family.name(),
            family.support()
        )));
    }
    let qs = check_quantiles(
        family,
        &[
            Quantile {
                p: 0.5 * (1.0 - mass),
                x: lo,
            },
            Quantile {
                p: 0.5 * (1.0 + mass),
                x: hi,
            },
        ],
    )
    .map_err(|e| invalid(e.to_string().replace("--quantile", "--range")))?;
    let width = hi - lo;
    let start = fit_quantiles(
        family,
        &qs,
        df.or(Some(5.0)).filter(|_| family == Family::StudentT),
    )
    .map(|(d, _)| d)
    .unwrap_or_else(|_| start(family, &qs, df));
    let start = match (family, df, start) {
        (Family::StudentT, None, Dist::StudentT { loc, scale, .. }) => Dist::StudentT {
            df: 5.0,
            loc,
            scale,
        },
        (_, _, d) => d,
    };
    let d = least_squares(family, df, &start, |d| {
        let mut r = quantile_residuals(d, &qs);
        for x in &mut r {
            *x *= spread(qs.iter().map(|q| q.x)) / width;
        }
        r.push((mode(d) - md) / width);
        r
    })?;
    Ok((d, qs))
}

/// A probability as a percentage without trailing zeros: 0.05 → "5%", 0.025 → "2.5%".
pub fn percent(p: f64) -> String {
    format!("{}%", format_num(100.0 * p))
}

/// A number rounded to 10 significant digits, printed without trailing zeros.
pub fn format_num(x: f64) -> String {
    super::round_sig(x, 10)
}
