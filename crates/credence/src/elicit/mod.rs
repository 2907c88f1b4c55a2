//! Eliciting a prior from what people know: a statement of quantiles, a mean and an sd, a mode
//! and a range, or past data. Sits before the config: its product is a `[[prior]]` block whose
//! provenance records the statement verbatim.

mod data;
mod family;
mod solve;
mod statement;

pub use data::{
    column_of, fingerprint, from_past_data, mle, power_prior, read_column, PastData, Target,
};
pub use family::{cdf, mode, quantile, Family};
pub use solve::{bisect, nelder_mead, newton2, root_on_log_grid};
pub use statement::{
    check_quantiles, fit, fit_quantiles, format_num, least_squares, moments, percent,
    quantile_residuals,
};

use crate::dist::Dist;
use crate::error::Result;
use crate::plot::{LinePlot, Series};
use crate::prior::{NoiseParam, Provenance};
use serde::Serialize;

/// One stated quantile: P(X ≤ x) = p.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quantile {
    /// The probability.
    pub p: f64,
    /// The value.
    pub x: f64,
}

/// What a person states about a quantity.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// Quantiles (at least as many as the family's free parameters).
    Quantiles(Vec<Quantile>),
    /// A mean and a standard deviation.
    MeanSd {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        sd: f64,
    },
    /// A mode and the central interval holding `mass` of the probability.
    ModeRange {
        /// The most likely value.
        mode: f64,
        /// Lower end of the interval.
        lo: f64,
        /// Upper end of the interval.
        hi: f64,
        /// Probability inside the interval.
        mass: f64,
    },
}

impl Statement {
    /// The statement in words, e.g. "5% quantile 400, 95% quantile 900".
    pub fn describe(&self) -> String {
        match self {
            Statement::Quantiles(qs) => qs
                .iter()
                .map(|q| format!("{} quantile {}", percent(q.p), format_num(q.x)))
                .collect::<Vec<_>>()
                .join(", "),
            Statement::MeanSd { mean, sd } => {
                format!("mean {}, sd {}", format_num(*mean), format_num(*sd))
            }
            Statement::ModeRange { mode, lo, hi, mass } => format!(
                "mode {}, {} of the probability between {} and {}",
                format_num(*mode),
                percent(*mass),
                format_num(*lo),
                format_num(*hi)
            ),
        }
    }
}

/// How the parameters were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FitMethod {
    /// The statement determines the family exactly (closed form or a root finder).
    Exact,
    /// More statements than parameters: least squares.
    LeastSquares,
    /// Mean and sd matched exactly.
    Moments,
    /// Maximum likelihood on past data.
    MaximumLikelihood,
    /// A power prior from past data (discounted maximum likelihood).
    PowerPrior,
}

impl FitMethod {
    /// The method in words.
    pub fn describe(self) -> &'static str {
        match self {
            FitMethod::Exact => "exactly (the statement determines the parameters)",
            FitMethod::LeastSquares => "by least squares on the statement",
            FitMethod::Moments => "by moment matching",
            FitMethod::MaximumLikelihood => "by maximum likelihood",
            FitMethod::PowerPrior => "as a power prior (discounted maximum likelihood)",
        }
    }
}

/// One line of the feedback table: a stated value beside the fitted distribution's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// What is compared ("5% quantile", "mean", "mode").
    pub what: String,
    /// The stated value.
    pub stated: f64,
    /// The fitted distribution's value.
    pub fitted: f64,
}

impl Check {
    /// A check line.
    pub fn new(what: &str, stated: f64, fitted: f64) -> Self {
        Check {
            what: what.into(),
            stated,
            fitted,
        }
    }
}

/// An elicited distribution with the feedback that shows how well it matches the statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Elicited {
    /// The statement in words (recorded in the provenance).
    pub statement: String,
    /// The fitted distribution.
    pub dist: Dist,
    /// How it was fitted.
    pub method: FitMethod,
    /// Stated values beside the fitted ones.
    pub checks: Vec<Check>,
}

impl Elicited {
    /// The provenance note: "elicited: <statement>; fitted <family>(…)".
    pub fn note(&self) -> String {
        format!(
            "elicited: {}; fitted {} {}",
            self.statement,
            describe_short(&self.dist),
            self.method.describe()
        )
    }

    /// The fitted distribution's quantiles at `ps`.
    pub fn quantiles(&self, ps: &[f64]) -> Vec<Quantile> {
        ps.iter()
            .map(|&p| Quantile {
                p,
                x: quantile(&self.dist, p),
            })
            .collect()
    }

    /// Density plot with the stated values marked as vertical dashed lines.
    pub fn plot(&self) -> LinePlot {
        let d = &self.dist;
        let (mut lo, mut hi) = (quantile(d, 0.001), quantile(d, 0.999));
        for c in &self.checks {
            if c.stated.is_finite() && !c.what.ends_with("sd") {
                lo = lo.min(c.stated);
                hi = hi.max(c.stated);
            }
        }
        if d.is_positive() || matches!(d, Dist::Beta { .. }) {
            lo = lo.max(0.0);
        }
        if matches!(d, Dist::Beta { .. }) {
            hi = hi.min(1.0);
        }
        let n = 400;
        let pts: Vec<(f64, f64)> = (0..=n)
            .map(|i| lo + (hi - lo) * i as f64 / n as f64)
            .map(|x| (x, d.log_prob(x).exp()))
            .filter(|(_, y)| y.is_finite())
            .collect();
        let top = pts.iter().map(|p| p.1).fold(0.0, f64::max);
        let mut series = vec![Series::line(describe_short(d), pts)];
        for c in &self.checks {
            if c.what.ends_with("sd") || !c.stated.is_finite() {
                continue;
            }
            series.push(
                Series::line(
                    if c.what.starts_with("data") {
                        format!("{} = {}", c.what, round_sig(c.stated, 6))
                    } else {
                        format!("stated {} = {}", c.what, format_num(c.stated))
                    },
                    vec![(c.stated, 0.0), (c.stated, top)],
                )
                .dashed(),
            );
        }
        LinePlot {
            title: format!("elicited {}: {}", d.family(), self.statement),
            x_label: "value".into(),
            y_label: "density".into(),
            series,
        }
    }
}

/// `x` rounded to `digits` significant digits, printed without trailing zeros.
pub fn round_sig(x: f64, digits: i32) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (digits - 1 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A distribution in short form with parameters to 6 significant digits, e.g.
/// `lognormal(mu=6.39693, sigma=0.246505)`.
pub fn describe_short(d: &Dist) -> String {
    let s6 = |x: f64| round_sig(x, 6);
    match *d {
        Dist::Normal { loc, scale } => format!("normal(loc={}, scale={})", s6(loc), s6(scale)),
        Dist::LogNormal { mu, sigma } => format!("lognormal(mu={}, sigma={})", s6(mu), s6(sigma)),
        Dist::Gamma { shape, rate } => format!("gamma(shape={}, rate={})", s6(shape), s6(rate)),
        Dist::Beta { alpha, beta } => format!("beta(alpha={}, beta={})", s6(alpha), s6(beta)),
        Dist::StudentT { df, loc, scale } => format!(
            "student-t(df={}, loc={}, scale={})",
            s6(df),
            s6(loc),
            s6(scale)
        ),
        Dist::HalfNormal { scale } => format!("half-normal(scale={})", s6(scale)),
        ref other => other.describe(),
    }
}

/// A `[[prior]]` block for a config file: `params`, `on` (written unless it is the scale),
/// the distribution with its parameters in full precision, and the provenance.
pub fn prior_block(
    params: &str,
    on: NoiseParam,
    dist: &Dist,
    provenance: &Provenance,
) -> Result<String> {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut out = String::from("[[prior]]\n");
    out.push_str(&format!("params = {}\n", q(params)));
    if on != NoiseParam::Scale {
        let word = match on {
            NoiseParam::Precision => "precision",
            NoiseParam::Variance => "variance",
            NoiseParam::Scale => "scale",
        };
        out.push_str(&format!("on = {}\n", q(word)));
    }
    let named: Vec<(&str, f64)> = match *dist {
        Dist::Normal { loc, scale } => vec![("loc", loc), ("scale", scale)],
        Dist::LogNormal { mu, sigma } => vec![("mu", mu), ("sigma", sigma)],
        Dist::Gamma { shape, rate } => vec![("shape", shape), ("rate", rate)],
        Dist::Beta { alpha, beta } => vec![("alpha", alpha), ("beta", beta)],
        Dist::StudentT { df, loc, scale } => vec![("df", df), ("loc", loc), ("scale", scale)],
        Dist::HalfNormal { scale } => vec![("scale", scale)],
        ref other => {
            return Err(crate::Error::Invalid(format!(
                "{} is not an elicited family",
                other.family()
            )))
        }
    };
    let mut fields = vec![format!("family = {}", q(dist.family()))];
    // `{:?}` prints an f64 so that it reads back to the same number, always with a decimal point.
    fields.extend(named.iter().map(|(k, v)| format!("{k} = {v:?}")));
    out.push_str(&format!("distribution = {{ {} }}\n", fields.join(", ")));
    let mut prov = vec![
        format!("kind = {}", q(provenance.kind.as_str())),
        format!("source = {}", q(&provenance.source)),
    ];
    if let Some(h) = &provenance.holder {
        prov.push(format!("holder = {}", q(h)));
    }
    if !provenance.note.is_empty() {
        prov.push(format!("note = {}", q(&provenance.note)));
    }
    out.push_str(&format!("provenance = {{ {} }}\n", prov.join(", ")));
    Ok(out)
}

#[cfg(test)]
mod tests;
