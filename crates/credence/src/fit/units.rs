//! A fit's independent units — ensemble members, MultiSWAG members, NUTS/HMC chains — run one at a time (on
//! another process or machine, e.g. as Ray tasks from the Python package) and combined into the
//! fit that runs them all here. Each unit depends only on the data, the config, the seed and its
//! own number, so the combined posterior is the local one draw for draw (see `docs/SCALING.md`
//! for the rule on threads).
//!
//! Units travel as bytes (CBOR: every `f64` bit pattern, NaN included, survives) stamped with a
//! key of the fit they belong to (method, seed, data fingerprint, network, priors, settings), so
//! a unit of another fit is refused rather than silently mixed in.

use super::{fit_table_with, FitOptions, FittedModel, Plan, Product};
use crate::config::Config;
use crate::data::{Dataset, ReadOptions, SchemaOptions, Table};
use crate::error::{Error, Result};
use crate::infer::swag::{SwagGaussian, SwagMemberFit};
use crate::infer::{ChainUnit, Method, PointFit};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What one unit computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UnitPart {
    /// An ensemble member: its parameters and its training record.
    Member {
        /// The member's parameters.
        theta: Vec<f64>,
        /// Its training outcome (trace, early stopping).
        fit: PointFit,
    },
    /// A chain of NUTS or HMC.
    Chain(ChainUnit),
    /// A MultiSWAG member: its training record and its Gaussian.
    SwagMember {
        /// The member's record (MAP run, collection trace; its Gaussian is `gaussian`).
        fit: Box<SwagMemberFit>,
        /// The Gaussian of its collected iterates.
        gaussian: SwagGaussian,
    },
}

impl UnitPart {
    /// What the unit is, in words, for messages.
    fn what(&self) -> &'static str {
        match self {
            UnitPart::Member { .. } => "an ensemble member",
            UnitPart::Chain(_) => "a chain",
            UnitPart::SwagMember { .. } => "a MultiSWAG member",
        }
    }
}

/// One unit's result, with the key of the fit it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitOutput {
    /// Key of the fit (see [`fit_key`]).
    pub key: String,
    /// Unit number (member or chain, 0-based).
    pub index: usize,
    /// What it computed.
    pub part: UnitPart,
}

impl UnitOutput {
    /// Member `index` of the fit with key `key`.
    pub(crate) fn member(key: String, index: usize, fit: PointFit) -> Self {
        UnitOutput {
            key,
            index,
            part: UnitPart::Member {
                theta: fit.theta.clone(),
                fit,
            },
        }
    }

    /// MultiSWAG member `index` of the fit with key `key`.
    pub(crate) fn swag_member(key: String, index: usize, fit: SwagMemberFit) -> Self {
        let gaussian = fit.gaussian.clone();
        UnitOutput {
            key,
            index,
            part: UnitPart::SwagMember {
                fit: Box::new(fit),
                gaussian,
            },
        }
    }

    /// Chain `index` of the fit with key `key`.
    pub(crate) fn chain(key: String, index: usize, unit: ChainUnit) -> Self {
        UnitOutput {
            key,
            index,
            part: UnitPart::Chain(unit),
        }
    }

    /// The unit as bytes, to send between processes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        ciborium::into_writer(self, &mut out)
            .map_err(|e| Error::Invalid(format!("could not encode a fit unit: {e}")))?;
        Ok(out)
    }

    /// A unit from [`UnitOutput::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        ciborium::from_reader(bytes)
            .map_err(|e| Error::Invalid(format!("not a Credence fit unit: {e}")))
    }
}

/// Which methods split into units: members (ensembles, MultiSWAG) or chains (NUTS, HMC).
pub fn has_units(method: Method) -> bool {
    super::methods::lookup(method).is_ok_and(|m| m.has_units())
}

/// The key of a fit: a digest of everything its units depend on.
pub(crate) fn fit_key(
    method: Method,
    seed: u64,
    data: &Dataset,
    settings: &serde_json::Value,
    spec: &crate::model::ModelSpec,
    priors: Option<&crate::prior::PriorSet>,
) -> Result<String> {
    let text = serde_json::to_string(&serde_json::json!({
        "method": method.name(),
        "seed": seed,
        "data": data.fingerprint(),
        "settings": settings,
        "model": spec,
        "priors": priors,
    }))
    .map_err(|e| Error::Invalid(e.to_string()))?;
    let d = Sha256::digest(text.as_bytes());
    Ok(d.iter().take(12).map(|b| format!("{b:02x}")).collect())
}

/// Checks that `units` are units 0..n of the fit with key `key`, in order.
pub(crate) fn check_units(units: &[UnitOutput], key: &str, n: usize) -> Result<()> {
    if let Some(u) = units.iter().find(|u| u.key != key) {
        return Err(Error::Invalid(format!(
            "unit {} belongs to another fit (key {}, this fit's is {key}): the data, config, method and seed must be the ones the units were run with",
            u.index, u.key
        )));
    }
    if units.len() != n || units.iter().enumerate().any(|(i, u)| u.index != i) {
        let got: Vec<String> = units.iter().map(|u| u.index.to_string()).collect();
        return Err(Error::Invalid(format!(
            "the fit has {n} units (0..{n}); the units given are [{}]",
            got.join(", ")
        )));
    }
    Ok(())
}

/// The unit a one-unit plan computed; refuses methods that do not split.
fn unit_of(opts: FitOptions<'_>, run: impl FnOnce() -> Result<Product>) -> Result<UnitOutput> {
    if !has_units(opts.method) {
        return Err(Error::Invalid(format!(
            "{} does not split into units; fit it whole",
            opts.method.name()
        )));
    }
    match run()? {
        Product::Unit(u) => Ok(*u),
        _ => Err(Error::Invalid(
            "internal: a unit fit returned no unit".into(),
        )),
    }
}

/// The members given as units 0..n of the fit with key `key`, as training outcomes.
pub(crate) fn members_given(given: &[UnitOutput], key: &str, n: usize) -> Result<Vec<PointFit>> {
    check_units(given, key, n)?;
    given
        .iter()
        .map(|u| match &u.part {
            UnitPart::Member { theta, fit } => {
                let mut f = fit.clone();
                f.theta = theta.clone();
                Ok(f)
            }
            other => Err(Error::Invalid(format!(
                "unit {} is {}, not an ensemble member",
                u.index,
                other.what()
            ))),
        })
        .collect()
}

/// The MultiSWAG members given as units 0..n of the fit with key `key`.
pub(crate) fn swag_members_given(
    given: &[UnitOutput],
    key: &str,
    n: usize,
) -> Result<Vec<SwagMemberFit>> {
    check_units(given, key, n)?;
    given
        .iter()
        .map(|u| match &u.part {
            UnitPart::SwagMember { fit, gaussian } => {
                let mut f = (**fit).clone();
                f.gaussian = gaussian.clone();
                Ok(f)
            }
            other => Err(Error::Invalid(format!(
                "unit {} is {}, not a MultiSWAG member",
                u.index,
                other.what()
            ))),
        })
        .collect()
}

/// The chains given as units of the fit with key `key` (their count is checked against the
/// settings by the sampler).
pub(crate) fn chains_given(given: &[UnitOutput], key: &str) -> Result<Vec<ChainUnit>> {
    check_units(given, key, given.len())?;
    given
        .iter()
        .map(|u| match &u.part {
            UnitPart::Chain(c) => Ok(c.clone()),
            other => Err(Error::Invalid(format!(
                "unit {} is {}, not a chain",
                u.index,
                other.what()
            ))),
        })
        .collect()
}

fn model_of(p: Product) -> Result<FittedModel> {
    match p {
        Product::Model(m) => Ok(*m),
        _ => Err(Error::Invalid("internal: a fit returned no model".into())),
    }
}

/// How many units the fit of `data` under `config` with `opts.method` has: ensemble or
/// MultiSWAG members or chains, after the defaults; 1 for a method that does not split (it is fitted whole).
pub fn unit_count(data: &Dataset, config: &Config, opts: FitOptions<'_>) -> Result<usize> {
    if !has_units(opts.method) {
        return Ok(1);
    }
    match super::fit_inner_plan(data, config, opts, None, Plan::Count)? {
        Product::Count(n) => Ok(n),
        _ => Err(Error::Invalid("internal: no unit count".into())),
    }
}

/// Runs unit `index` alone (an ensemble or MultiSWAG member, or a chain).
pub fn fit_unit(
    data: &Dataset,
    config: &Config,
    opts: FitOptions<'_>,
    index: usize,
) -> Result<UnitOutput> {
    unit_of(opts, || {
        super::fit_inner_plan(data, config, opts, None, Plan::One(index))
    })
}

/// The fit whose units (all of them, in order) were run by [`fit_unit`]: the same model as
/// [`super::fit`] on the same arguments.
pub fn fit_from_units(
    data: &Dataset,
    config: &Config,
    opts: FitOptions<'_>,
    units: &[UnitOutput],
) -> Result<FittedModel> {
    model_of(super::fit_inner_plan(
        data,
        config,
        opts,
        None,
        Plan::Given(units),
    )?)
}

/// [`unit_count`] for a typed table (as [`super::fit_table`] fits it).
pub fn table_unit_count(
    table: &Table,
    schema_opts: &SchemaOptions,
    read: &ReadOptions,
    config: &Config,
    opts: FitOptions<'_>,
) -> Result<usize> {
    if !has_units(opts.method) {
        return Ok(1);
    }
    match fit_table_with(table, schema_opts, read, config, opts, Plan::Count)?.0 {
        Product::Count(n) => Ok(n),
        _ => Err(Error::Invalid("internal: no unit count".into())),
    }
}

/// [`fit_unit`] for a typed table.
pub fn fit_table_unit(
    table: &Table,
    schema_opts: &SchemaOptions,
    read: &ReadOptions,
    config: &Config,
    opts: FitOptions<'_>,
    index: usize,
) -> Result<UnitOutput> {
    unit_of(opts, || {
        Ok(fit_table_with(table, schema_opts, read, config, opts, Plan::One(index))?.0)
    })
}

/// [`fit_from_units`] for a typed table; returns the model and the schema's notes.
pub fn fit_table_from_units(
    table: &Table,
    schema_opts: &SchemaOptions,
    read: &ReadOptions,
    config: &Config,
    opts: FitOptions<'_>,
    units: &[UnitOutput],
) -> Result<(FittedModel, Vec<String>)> {
    let (p, notes) = fit_table_with(table, schema_opts, read, config, opts, Plan::Given(units))?;
    Ok((model_of(p)?, notes))
}
