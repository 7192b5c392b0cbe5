//! The contract between property specs, claim code and the runner.
//!
//! A *claim* (one module per id in [`crate::claims`]) declares the grid parameters it accepts
//! and the control variants it implements, and measures one instance: a [`GridPoint`] plus a
//! seed, under the claim itself or under a control. The runner expands a spec's grid, calls
//! [`Claim::measure`] for every instance (in parallel, results in order), and summarises.

use crate::engine::instance::Instance;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A scalar grid value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s}"),
        }
    }
}

/// The parameters of one instance (grid values and tolerances), validated against the claim's
/// schema before any claim code runs, so the typed getters cannot fail on valid specs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GridPoint(pub BTreeMap<String, Value>);

impl GridPoint {
    pub fn get(&self, name: &str) -> &Value {
        self.0.get(name).unwrap_or_else(|| panic!("grid parameter `{name}` missing (schema not validated?)"))
    }
    pub fn f64(&self, name: &str) -> f64 {
        self.get(name).as_f64().unwrap_or_else(|| panic!("grid parameter `{name}` is not a number"))
    }
    pub fn usize(&self, name: &str) -> usize {
        match self.get(name) {
            Value::Int(i) if *i >= 0 => *i as usize,
            v => panic!("grid parameter `{name}` = {v} is not a non-negative integer"),
        }
    }
    pub fn str(&self, name: &str) -> &str {
        match self.get(name) {
            Value::Str(s) => s,
            v => panic!("grid parameter `{name}` = {v} is not a string"),
        }
    }
    /// A choice parameter as its typed enum (spelled as the enum's `ValueEnum` names).
    pub fn choice<T: clap::ValueEnum>(&self, name: &str) -> T {
        T::from_str(self.str(name), false)
            .unwrap_or_else(|e| panic!("grid parameter `{name}`: {e} (schema not validated?)"))
    }
    pub fn bool(&self, name: &str) -> bool {
        match self.get(name) {
            Value::Bool(b) => *b,
            v => panic!("grid parameter `{name}` = {v} is not a boolean"),
        }
    }
    pub fn with(mut self, name: &str, v: Value) -> Self {
        self.0.insert(name.to_string(), v);
        self
    }
}

/// Type and range of a grid parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamKind {
    /// An integer in [min, max].
    Int {
        min: i64,
        max: i64,
    },
    /// A finite number in [min, max], and > 0 when `positive`.
    Float {
        positive: bool,
        min: f64,
        max: f64,
    },
    /// One of the listed strings.
    Choice(&'static [&'static str]),
    Bool,
}

/// One grid parameter (or tolerance) a claim reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub doc: &'static str,
}

/// The default largest value of an integer parameter (counts, steps, starts): a spec cannot
/// ask for a loop of 10¹⁸ iterations by accident. Sizes have their own, smaller limits
/// ([`Param::at_most`]).
pub const DEFAULT_INT_MAX: i64 = 10_000_000;

/// The largest layer width or dimension (d, dim, width) a spec may ask for: a d × d layer of
/// this size is 32 MB, and the claims' dense Hessians are far smaller.
pub const MAX_DIM: i64 = 2_000;

/// The largest depth L a spec may ask for.
pub const MAX_DEPTH: i64 = 1_000;

/// The largest sample count n a spec may ask for.
pub const MAX_SAMPLES: i64 = 1_000_000;

impl Param {
    pub const fn int(name: &'static str, min: i64, doc: &'static str) -> Self {
        Param { name, kind: ParamKind::Int { min, max: DEFAULT_INT_MAX }, doc }
    }
    pub const fn positive(name: &'static str, doc: &'static str) -> Self {
        Param { name, kind: ParamKind::Float { positive: true, min: f64::MIN, max: f64::MAX }, doc }
    }
    pub const fn float(name: &'static str, doc: &'static str) -> Self {
        Param { name, kind: ParamKind::Float { positive: false, min: f64::MIN, max: f64::MAX }, doc }
    }
    pub const fn choice(name: &'static str, options: &'static [&'static str], doc: &'static str) -> Self {
        Param { name, kind: ParamKind::Choice(options), doc }
    }
    pub const fn boolean(name: &'static str, doc: &'static str) -> Self {
        Param { name, kind: ParamKind::Bool, doc }
    }
    /// The same parameter with an upper bound (integers and numbers; inclusive).
    pub const fn at_most(self, max: f64) -> Self {
        let kind = match self.kind {
            ParamKind::Int { min, .. } => ParamKind::Int { min, max: max as i64 },
            ParamKind::Float { positive, min, .. } => ParamKind::Float { positive, min, max },
            k => k,
        };
        Param { kind, ..self }
    }
    /// The same number parameter with a lower bound (inclusive).
    pub const fn at_least(self, min: f64) -> Self {
        let kind = match self.kind {
            ParamKind::Float { positive, max, .. } => ParamKind::Float { positive, min, max },
            k => k,
        };
        Param { kind, ..self }
    }
    /// A size parameter (d, dim, width, depth, …) is bounded by [`MAX_DIM`] or [`MAX_DEPTH`]
    /// unless it has a bound of its own; other integers by [`DEFAULT_INT_MAX`].
    fn int_max(&self, max: i64) -> i64 {
        if max != DEFAULT_INT_MAX {
            return max;
        }
        match self.name {
            "d" | "dim" | "width" | "rank" => MAX_DIM,
            "depth" => MAX_DEPTH,
            "n" => MAX_SAMPLES,
            _ => max,
        }
    }

    /// Checks one value; the message says what was expected.
    pub fn check(&self, v: &Value) -> Result<(), String> {
        match (self.kind, v) {
            (ParamKind::Int { min, max }, Value::Int(i)) if *i >= min && *i <= self.int_max(max) => Ok(()),
            (ParamKind::Int { min, max }, Value::Int(_)) => {
                Err(format!("expected an integer in [{min}, {}], got {v}", self.int_max(max)))
            }
            (ParamKind::Int { min, .. }, _) => Err(format!("expected an integer ≥ {min}, got {v}")),
            (ParamKind::Float { positive, min, max }, v) => {
                let range = match (min > f64::MIN, max < f64::MAX) {
                    (true, true) => format!(" in [{min}, {max}]"),
                    (true, false) => format!(" ≥ {min}"),
                    (false, true) => format!(" ≤ {max}"),
                    (false, false) => String::new(),
                };
                match v.as_f64() {
                    Some(x) if x.is_finite() && (!positive || x > 0.0) && x >= min && x <= max => Ok(()),
                    _ if positive => Err(format!("expected a positive finite number{range}, got {v}")),
                    _ => Err(format!("expected a finite number{range}, got {v}")),
                }
            }
            (ParamKind::Choice(opts), Value::Str(s)) if opts.contains(&s.as_str()) => Ok(()),
            (ParamKind::Choice(opts), _) => Err(format!("expected one of {}, got {v}", opts.join(", "))),
            (ParamKind::Bool, Value::Bool(_)) => Ok(()),
            (ParamKind::Bool, _) => Err(format!("expected true or false, got {v}")),
        }
    }
}

/// What kind of statement a property checks (from the spec; decides the verdict rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// A bound that must hold on every instance.
    Bound,
    /// Holds with high probability: the proportion of instances that hold must reach the spec's
    /// `min_proportion` (reported with a Clopper–Pearson interval).
    Probabilistic,
    /// A limit (ε → 0, tolerance → 0, …): every converged instance must be within tolerance.
    Limit,
    /// An identity, to a stated tolerance, on every instance.
    Equality,
}

/// The outcome of one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Holds,
    Violated,
    /// The dynamics did not reach the regime the claim is about (e.g. a run that never left the
    /// saddle at 0): counted apart, never as a pass or a violation.
    NotConverged,
}

/// What one instance measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub status: Status,
    /// Tightness, oriented so that the claim holds iff it is ≥ 1 and 1 means tight
    /// (measured/bound for a lower bound, bound/measured for an upper bound). `None` when not
    /// meaningful.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tightness: Option<f64>,
    /// For identities and limits: the error divided by its stated tolerance, so that the claim
    /// holds iff it is ≤ 1 (the raw error is among `values`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<f64>,
    /// Named measured quantities (reported for the worst instance).
    pub values: BTreeMap<String, f64>,
    /// A short free-text remark (e.g. why it did not converge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Measurement {
    fn new(status: Status) -> Self {
        Measurement { status, tightness: None, error: None, values: BTreeMap::new(), note: None }
    }
    /// A measurement whose status follows from the tightness (holds iff t ≥ 1 − slack).
    pub fn from_tightness(t: f64, slack: f64) -> Self {
        let status = if t >= 1.0 - slack { Status::Holds } else { Status::Violated };
        Measurement { tightness: Some(t), ..Self::new(status) }
    }
    /// A measurement of an identity or a limit: holds iff error ≤ tol; records error/tol and
    /// the raw error (as the value `error`).
    pub fn from_error(error: f64, tol: f64) -> Self {
        let status = if error <= tol { Status::Holds } else { Status::Violated };
        Measurement { error: Some(error / tol), ..Self::new(status) }.value("error", error)
    }
    pub fn with_status(status: Status) -> Self {
        Self::new(status)
    }
    pub fn not_converged(note: impl Into<String>) -> Self {
        Measurement { note: Some(note.into()), ..Self::new(Status::NotConverged) }
    }
    pub fn value(mut self, name: &str, v: f64) -> Self {
        self.values.insert(name.to_string(), v);
        self
    }
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// Which statement an instance is measured against, as the runner names it (a control by its
/// spec name). Claim code sees the typed [`Case`] instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant<'a> {
    /// The claim as stated.
    Claim,
    /// A negative control (hypotheses violated, or the bound deliberately tightened), by name.
    Control(&'a str),
}

/// Which statement an instance is measured against, typed: the claim, or one of the claim's
/// own controls `C` (a field-less enum declared with [`controls!`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case<C> {
    /// The claim as stated.
    Claim,
    /// A negative control.
    Control(C),
}

/// A claim's negative controls: a field-less enum whose variants carry the names the specs use.
/// Declare one with [`controls!`].
pub trait Controls: Copy + std::fmt::Debug + PartialEq + Send + Sync + 'static {
    /// The spec names, in declaration order.
    const NAMES: &'static [&'static str];
    /// The variants, in the order of [`Self::NAMES`].
    const ALL: &'static [Self];
    /// The control a spec names, if the claim has it.
    fn from_name(name: &str) -> Option<Self> {
        Self::NAMES.iter().position(|n| *n == name).map(|i| Self::ALL[i])
    }
}

pub use crate::controls;

/// Declares a claim's controls enum and its spec names:
/// `controls! { pub enum Control { LambdaMax = "lambda_max", … } }`.
#[macro_export]
macro_rules! controls {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $spelling:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }
        impl $crate::framework::property::Controls for $name {
            const NAMES: &'static [&'static str] = &[$($spelling),+];
            const ALL: &'static [Self] = &[$($name::$variant),+];
        }
    };
}

/// An error inside claim code that is not a violation (a numerical failure, or an input the
/// claim needs but does not have, e.g. a singular covariance where λ > 0 is required).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ClaimError(pub String);

impl From<crate::engine::spectrum::NotConverged> for ClaimError {
    fn from(e: crate::engine::spectrum::NotConverged) -> Self {
        ClaimError(e.to_string())
    }
}
impl From<crate::engine::spectrum::SpectrumError> for ClaimError {
    fn from(e: crate::engine::spectrum::SpectrumError) -> Self {
        ClaimError(e.to_string())
    }
}
impl From<crate::engine::linalg::EigenError> for ClaimError {
    fn from(e: crate::engine::linalg::EigenError) -> Self {
        ClaimError(e.to_string())
    }
}
impl From<crate::engine::objective::DataError> for ClaimError {
    fn from(e: crate::engine::objective::DataError) -> Self {
        ClaimError(e.to_string())
    }
}

/// One executable claim, as the runner sees it (object-safe; controls by name). Claim modules
/// implement [`ClaimCode`], which gives this trait with the control names parsed into the
/// claim's own enum at this boundary.
pub trait Claim: Sync {
    /// The id (as in `docs/claims.md` and `properties/<id>.yaml`).
    fn id(&self) -> &'static str;
    /// The grid parameters and tolerances it reads (all required in a spec's grid/tolerances).
    fn params(&self) -> &'static [Param];
    /// The names of the control variants it implements.
    fn controls(&self) -> &'static [&'static str];
    /// Measures one instance. Deterministic in (point, seed, variant). An unknown control is an
    /// error.
    fn measure(&self, point: &GridPoint, seed: u64, variant: Variant<'_>) -> Result<Measurement, ClaimError>;
    /// The instance file of this (point, seed, variant), for claims on univariate regression
    /// networks (used by `dlncheck reproduce`); `None` for other claims or an unknown control.
    fn instance(&self, point: &GridPoint, seed: u64, variant: Variant<'_>) -> Option<Instance>;
}

/// What a claim module implements: the claim with its controls as a typed enum.
pub trait ClaimCode: Sync {
    /// The claim's negative controls.
    type Control: Controls;
    /// The id (as in `docs/claims.md` and `properties/<id>.yaml`).
    fn id(&self) -> &'static str;
    /// The grid parameters and tolerances it reads (all required in a spec's grid/tolerances).
    fn params(&self) -> &'static [Param];
    /// Measures one instance. Deterministic in (point, seed, case).
    fn measure(
        &self,
        point: &GridPoint,
        seed: u64,
        case: Case<Self::Control>,
    ) -> Result<Measurement, ClaimError>;
    /// The instance file of this (point, seed, case), for claims on univariate regression
    /// networks (used by `dlncheck reproduce`); `None` for other claims.
    fn instance(&self, _point: &GridPoint, _seed: u64, _case: Case<Self::Control>) -> Option<Instance> {
        None
    }
}

/// The typed case of a runner's variant; the name of a control the claim does not have.
fn case<C: Controls>(variant: Variant<'_>) -> Result<Case<C>, &str> {
    match variant {
        Variant::Claim => Ok(Case::Claim),
        Variant::Control(name) => C::from_name(name).map(Case::Control).ok_or(name),
    }
}

impl<T: ClaimCode> Claim for T {
    fn id(&self) -> &'static str {
        ClaimCode::id(self)
    }
    fn params(&self) -> &'static [Param] {
        ClaimCode::params(self)
    }
    fn controls(&self) -> &'static [&'static str] {
        T::Control::NAMES
    }
    fn measure(&self, point: &GridPoint, seed: u64, variant: Variant<'_>) -> Result<Measurement, ClaimError> {
        let case = case(variant)
            .map_err(|name| ClaimError(format!("unknown control `{name}` of `{}`", ClaimCode::id(self))))?;
        ClaimCode::measure(self, point, seed, case)
    }
    fn instance(&self, point: &GridPoint, seed: u64, variant: Variant<'_>) -> Option<Instance> {
        ClaimCode::instance(self, point, seed, case(variant).ok()?)
    }
}

impl From<crate::lowrank::LowRankError> for ClaimError {
    fn from(e: crate::lowrank::LowRankError) -> Self {
        ClaimError(e.to_string())
    }
}
