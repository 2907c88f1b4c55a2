//! The families a prior can be elicited in, their CDFs and quantile functions (from `statrs`),
//! and their parameters on an unconstrained scale for the numerical fits.

use crate::dist::Dist;
use crate::error::{Error, Result};
use statrs::distribution::{Beta, ContinuousCDF, Gamma, LogNormal, Normal, StudentsT};

/// A family that can be elicited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Normal(loc, scale).
    Normal,
    /// Log-normal(mu, sigma).
    LogNormal,
    /// Gamma(shape, rate).
    Gamma,
    /// Beta(alpha, beta).
    Beta,
    /// Student-t(df, loc, scale).
    StudentT,
    /// Half-normal(scale).
    HalfNormal,
}

impl Family {
    /// Every family, in the order listed in messages.
    pub const ALL: [Family; 6] = [
        Family::Normal,
        Family::LogNormal,
        Family::Gamma,
        Family::Beta,
        Family::StudentT,
        Family::HalfNormal,
    ];

    /// Parses a family name as written on the command line and in prior files.
    pub fn parse(name: &str) -> Result<Family> {
        Family::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "--family: unknown family '{name}'; expected one of {}",
                    Family::ALL.map(|f| f.name()).join(", ")
                ))
            })
    }

    /// The family name as written in prior files.
    pub fn name(self) -> &'static str {
        match self {
            Family::Normal => "normal",
            Family::LogNormal => "lognormal",
            Family::Gamma => "gamma",
            Family::Beta => "beta",
            Family::StudentT => "student-t",
            Family::HalfNormal => "half-normal",
        }
    }

    /// Number of free parameters (student-t counts its df only when it is not given).
    pub fn free_params(self, df_given: bool) -> usize {
        match self {
            Family::HalfNormal => 1,
            Family::StudentT if !df_given => 3,
            _ => 2,
        }
    }

    /// The support in words, for messages.
    pub fn support(self) -> &'static str {
        match self {
            Family::Normal | Family::StudentT => "any real number",
            Family::LogNormal | Family::Gamma => "a positive number",
            Family::HalfNormal => "a non-negative number",
            Family::Beta => "a number strictly between 0 and 1",
        }
    }

    /// Whether `x` lies in the support (the open support for quantiles: a half-normal quantile
    /// must be positive).
    pub fn in_support(self, x: f64) -> bool {
        x.is_finite()
            && match self {
                Family::Normal | Family::StudentT => true,
                Family::LogNormal | Family::Gamma => x > 0.0,
                Family::HalfNormal => x >= 0.0,
                Family::Beta => x > 0.0 && x < 1.0,
            }
    }

    /// The distribution at unconstrained parameters `theta` (logs of positive parameters);
    /// `df` fixes a student-t's degrees of freedom.
    pub fn at(self, theta: &[f64], df: Option<f64>) -> Dist {
        match self {
            Family::Normal => Dist::Normal {
                loc: theta[0],
                scale: theta[1].exp(),
            },
            Family::LogNormal => Dist::LogNormal {
                mu: theta[0],
                sigma: theta[1].exp(),
            },
            Family::Gamma => Dist::Gamma {
                shape: theta[0].exp(),
                rate: theta[1].exp(),
            },
            Family::Beta => Dist::Beta {
                alpha: theta[0].exp(),
                beta: theta[1].exp(),
            },
            Family::StudentT => Dist::StudentT {
                df: df.unwrap_or_else(|| theta[2].exp()),
                loc: theta[0],
                scale: theta[1].exp(),
            },
            Family::HalfNormal => Dist::HalfNormal {
                scale: theta[0].exp(),
            },
        }
    }

    /// The unconstrained parameters of `d` (the inverse of [`Family::at`]).
    pub fn theta(self, d: &Dist, df_given: bool) -> Vec<f64> {
        match *d {
            Dist::Normal { loc, scale } => vec![loc, scale.ln()],
            Dist::LogNormal { mu, sigma } => vec![mu, sigma.ln()],
            Dist::Gamma { shape, rate } => vec![shape.ln(), rate.ln()],
            Dist::Beta { alpha, beta } => vec![alpha.ln(), beta.ln()],
            Dist::StudentT { loc, scale, .. } if df_given => vec![loc, scale.ln()],
            Dist::StudentT { df, loc, scale } => vec![loc, scale.ln(), df.ln()],
            Dist::HalfNormal { scale } => vec![scale.ln()],
            _ => Vec::new(),
        }
    }
}

/// The cumulative distribution function of an elicitable distribution (NaN for others).
pub fn cdf(d: &Dist, x: f64) -> f64 {
    match *d {
        Dist::Normal { loc, scale } => Normal::new(loc, scale).map_or(f64::NAN, |n| n.cdf(x)),
        Dist::LogNormal { mu, sigma } => LogNormal::new(mu, sigma).map_or(f64::NAN, |n| n.cdf(x)),
        Dist::Gamma { shape, rate } if x > 0.0 && rate * x < 1.0 => gamma_series(shape, rate * x),
        Dist::Gamma { shape, rate } => Gamma::new(shape, rate).map_or(f64::NAN, |g| g.cdf(x)),
        Dist::Beta { alpha, beta } => Beta::new(alpha, beta).map_or(f64::NAN, |b| b.cdf(x)),
        Dist::StudentT { df, loc, scale } => {
            StudentsT::new(loc, scale, df).map_or(f64::NAN, |t| t.cdf(x))
        }
        Dist::HalfNormal { scale } => {
            if x <= 0.0 {
                0.0
            } else {
                2.0 * Normal::new(0.0, scale).map_or(f64::NAN, |n| n.cdf(x)) - 1.0
            }
        }
        _ => f64::NAN,
    }
}

/// The regularised lower incomplete gamma P(a, x) by its power series, for 0 < x < 1 (statrs
/// returns 0 below x ≈ 1e-15, where small shapes still hold much of their mass).
fn gamma_series(a: f64, x: f64) -> f64 {
    let (mut term, mut sum) = (1.0, 1.0);
    for k in 1..200 {
        term *= x / (a + k as f64);
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    (a * x.ln() - x - crate::dist::ln_gamma(a + 1.0)).exp() * sum
}

/// The `p` quantile of an elicitable distribution (NaN for others); statrs' inverse CDF,
/// polished by safeguarded Newton steps on the CDF for the families without a closed form.
pub fn quantile(d: &Dist, p: f64) -> f64 {
    let std_normal = |p: f64| Normal::new(0.0, 1.0).map_or(f64::NAN, |n| n.inverse_cdf(p));
    let x0 = match *d {
        Dist::Normal { loc, scale } => return loc + scale * std_normal(p),
        Dist::LogNormal { mu, sigma } => return (mu + sigma * std_normal(p)).exp(),
        Dist::HalfNormal { scale } => return scale * std_normal(0.5 * (1.0 + p)),
        Dist::Gamma { shape, rate } => {
            Gamma::new(shape, rate).map_or(f64::NAN, |g| g.inverse_cdf(p))
        }
        // statrs' inverse CDF of the student-t and of the beta can loop without end (its
        // inverse regularised beta; found by fuzzing `elicit`: the student-t fit to four values,
        // a beta fitted to nearly equal values, α and β about 1e15): a bracketed bisection on
        // the CDF instead, then polished.
        Dist::StudentT { .. } | Dist::Beta { .. } => f64::NAN,
        _ => return f64::NAN,
    };
    if x0.is_finite() && d.log_prob(x0) > f64::NEG_INFINITY {
        let x = polish(d, p, x0);
        if (cdf(d, x) - p).abs() <= 1e-12 {
            return x;
        }
    }
    polish(d, p, by_bisection(d, p))
}

/// The quantile by bisection on the CDF (on ln x for the positive families), for where
/// statrs' inverse CDF gives no finite answer (e.g. a gamma shape below about 0.5).
fn by_bisection(d: &Dist, p: f64) -> f64 {
    let gap = |x: f64| cdf(d, x) - p;
    match d {
        Dist::Gamma { .. } => {
            super::solve::bisect(|lx| gap(lx.exp()), -700.0, 700.0).map_or(f64::NAN, f64::exp)
        }
        Dist::Beta { .. } => super::solve::bisect(gap, 0.0, 1.0).unwrap_or(f64::NAN),
        Dist::StudentT { loc, scale, .. } => {
            // Widen loc ± w from one scale until it brackets p, then bisect.
            let mut w = if *scale > 0.0 { *scale } else { 1.0 };
            while w.is_finite() && !(gap(loc - w) <= 0.0 && gap(loc + w) >= 0.0) {
                w *= 2.0;
            }
            super::solve::bisect(gap, loc - w, loc + w).unwrap_or(f64::NAN)
        }
        _ => super::solve::bisect(gap, -1e300, 1e300).unwrap_or(f64::NAN),
    }
}

fn polish(d: &Dist, p: f64, mut x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let mut err = cdf(d, x) - p;
    for _ in 0..20 {
        if err == 0.0 {
            break;
        }
        let dens = d.log_prob(x).exp();
        if !(dens.is_finite() && dens > 0.0) {
            break;
        }
        let mut step = err / dens;
        let mut improved = false;
        for _ in 0..30 {
            let y = x - step;
            if d.log_prob(y) > f64::NEG_INFINITY {
                let e = cdf(d, y) - p;
                if e.abs() < err.abs() {
                    x = y;
                    err = e;
                    improved = true;
                    break;
                }
            }
            step *= 0.5;
        }
        if !improved {
            break;
        }
    }
    x
}

/// The mode of an elicitable distribution (NaN where it is not a single interior point or a
/// boundary, as for a U-shaped Beta).
pub fn mode(d: &Dist) -> f64 {
    match *d {
        Dist::Normal { loc, .. } | Dist::StudentT { loc, .. } => loc,
        Dist::LogNormal { mu, sigma } => (mu - sigma * sigma).exp(),
        Dist::Gamma { shape, rate } => ((shape - 1.0) / rate).max(0.0),
        Dist::Beta { alpha, beta } => match (alpha > 1.0, beta > 1.0) {
            (true, true) => (alpha - 1.0) / (alpha + beta - 2.0),
            (false, true) => 0.0,
            (true, false) => 1.0,
            (false, false) => f64::NAN,
        },
        Dist::HalfNormal { .. } => 0.0,
        _ => f64::NAN,
    }
}
