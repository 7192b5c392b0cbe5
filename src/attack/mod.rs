//! The adversary: for each covered property, a *hypothesis space* (typed parameters an
//! optimiser can move, inside the claim's hypotheses) and a search for its worst case.
//!
//! A space declares, per restart, continuous dimensions (linear or log scale, with bounds) and
//! fixes its discrete choices (architecture, d, L, drawn from the spec's grid). The optimiser
//! works in unbounded internal coordinates that a mirror map folds back into the box, so every
//! proposed point satisfies the bounds; constraints a box cannot express (w* ≠ 0, a_1 ≠ 0,
//! finiteness) make the space answer "outside", and such a point is never evaluated (it counts
//! as a rejected proposal). Constraints are never loosened.
//!
//! Search ([`search`]): `restarts` starts drawn from the grid's distribution (a grid point picked
//! at random, its data and discrete choices, the network drawn like the spec's random
//! minimisers), each followed by restarted Nelder–Mead (argmin) until its share of the budget is
//! spent. Restarts are independent, indexed work items with their own seeds, run in parallel
//! (rayon) and collected in order, and every instance's linear algebra is sequential (faer
//! `Par::Seq`): the result is identical for any thread count.
//!
//! The attack minimises tightness (bounds: holds iff ≥ 1 − slack, 1 = tight) or maximises
//! error/tol (identities and limits: holds iff ≤ 1), and records, per property, the best value
//! and its instance, the best value against evaluations, and the known infimum where theory
//! gives one.

pub mod bench;
pub mod parts;
pub mod regression;
pub mod report;
pub mod search;
pub mod spaces;

use crate::engine::instance::Instance;
use crate::framework::property::{GridPoint, Value};
use crate::framework::spec::{OneOrMany, Spec};
use serde::Serialize;
use std::collections::BTreeMap;

/// How an optimiser coordinate maps onto a parameter's range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    Linear,
    /// Moves ln x uniformly between ln lo and ln hi (lo > 0).
    Log,
}

/// One continuous parameter: its name and range.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dim {
    pub name: String,
    pub lo: f64,
    pub hi: f64,
    pub scale: Scale,
}

impl Dim {
    pub fn linear(name: impl Into<String>, lo: f64, hi: f64) -> Self {
        Dim { name: name.into(), lo, hi, scale: Scale::Linear }
    }
    pub fn log(name: impl Into<String>, lo: f64, hi: f64) -> Self {
        assert!(lo > 0.0 && hi >= lo, "log-scale bounds must be positive");
        Dim { name: name.into(), lo, hi, scale: Scale::Log }
    }
    /// The parameter value at unit coordinate t ∈ [0, 1].
    pub fn at(&self, t: f64) -> f64 {
        let t = t.clamp(0.0, 1.0);
        match self.scale {
            Scale::Linear => self.lo + t * (self.hi - self.lo),
            Scale::Log => (self.lo.ln() + t * (self.hi.ln() - self.lo.ln())).exp().clamp(self.lo, self.hi),
        }
    }
    /// The unit coordinate of a value (clamped into the range).
    pub fn unit(&self, x: f64) -> f64 {
        if self.hi <= self.lo {
            return 0.5;
        }
        let t = match self.scale {
            Scale::Linear => (x - self.lo) / (self.hi - self.lo),
            Scale::Log => (x.max(self.lo).ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln()),
        };
        if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.5 }
    }
}

/// The mirror map R → [0, 1] (a triangle wave of period 2): keeps every proposal in the box,
/// continuous, the identity on [0, 1].
pub fn reflect(u: f64) -> f64 {
    let m = u.rem_euclid(2.0);
    if m > 1.0 { 2.0 - m } else { m }
}

/// Which statement a point is scored against: the claim, or one of its negative controls (by
/// the control's `variant` name in the spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    Claim,
    Control(&'a str),
}

impl Target<'_> {
    pub fn name(&self) -> String {
        match self {
            Target::Claim => "claim".into(),
            Target::Control(v) => (*v).into(),
        }
    }
}

/// What the adversary drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Minimise a tightness (the claim holds iff it is ≥ 1 − slack; 1 = tight).
    MinimiseTightness,
    /// Maximise error/tol (the claim holds iff it is ≤ 1).
    MaximiseErrorRatio,
}

/// The score of one evaluated point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    /// Tightness or error/tol, as the goal says.
    pub value: f64,
    /// Whether the statement is violated at this point (the claim's own rule, slack included).
    pub violated: bool,
}

/// A known infimum (or supremum, for error ratios) with its provenance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Known {
    pub value: f64,
    pub provenance: String,
    /// Where it is attained (or approached).
    pub attained: String,
}

/// One restart's fixed part: the grid point it was drawn from, its discrete choices, its
/// continuous dimensions and start.
#[derive(Clone, Debug, PartialEq)]
pub struct Start {
    /// Discrete choices held during the local search (architecture, d, L, …).
    pub discrete: GridPoint,
    pub dims: Vec<Dim>,
    /// Start, in parameter units (inside the bounds).
    pub x0: Vec<f64>,
    /// The claim's slack (relative rounding allowance, e.g. the spec's `rel`).
    pub slack: f64,
    /// The values of each categorical dimension (by parameter name), in coordinate order.
    pub choices: BTreeMap<String, Vec<Value>>,
}

/// A property's hypothesis space.
pub trait Space: Sync {
    /// The property id.
    fn id(&self) -> &'static str;
    fn goal(&self) -> Goal;
    /// What the optimiser moves, in words.
    fn description(&self) -> &'static str;
    /// The controls this space can attack (spec `variant` names).
    fn controls(&self) -> &'static [&'static str];
    /// The known infimum of the claim's tightness (supremum of its error ratio), if theory gives one.
    fn known(&self) -> Option<Known>;
    /// The stated constant the attack measures empirically (name, value as a formula), for
    /// properties whose constant is reconstructed.
    fn stated_constant(&self) -> Option<(&'static str, &'static str)> {
        None
    }
    /// The stated constant's value C when the tightness is C·(its bound's other factors)/measured:
    /// the empirical constant is then C/(best tightness).
    fn stated_value(&self) -> Option<f64> {
        None
    }
    /// Largest budget of each target (claim or control) when one evaluation is expensive (a
    /// training run): the attack's budget and control budget are capped at it.
    fn budget_cap(&self) -> Option<usize> {
        None
    }
    /// A control's own budget cap and restarts (at most the attack's), replacing
    /// [`Space::budget_cap`] for it: a cheaper control affords more runs, and a capped budget
    /// spread over many restarts leaves each too few evaluations for a local search to move.
    fn control_search(&self, _control: &str) -> Option<(usize, usize)> {
        None
    }
    /// A restart of `target` from grid point `point` (already drawn), seeded. `None` when the
    /// point lies outside what the attack covers (e.g. too many dimensions) or outside the slice
    /// of the space where the target's statement differs from the claim's.
    fn start(&self, spec: &Spec, point: &GridPoint, seed: u64, target: Target<'_>) -> Option<Start>;
    /// Scores a point (parameter units); `None` when it lies outside the hypotheses.
    fn evaluate(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Score>;
    /// Named quantities at a point, recomputed with the most careful method (e.g. the exact
    /// full Hessian), for the report.
    fn describe(&self, start: &Start, x: &[f64], target: Target<'_>) -> BTreeMap<String, f64>;
    /// The point as an instance file (`None` for spaces that are not univariate regressions).
    fn instance(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Instance>;
}

/// The values a parameter takes in the spec's full grid (the hull of the hypothesis space).
pub fn grid_values(spec: &Spec, name: &str) -> Vec<Value> {
    match spec.grid.get(name) {
        Some(OneOrMany::Many(v)) => v.clone(),
        Some(OneOrMany::One(v)) => vec![v.clone()],
        None => Vec::new(),
    }
}

/// The numeric range [min, max] of a parameter over the spec's full grid.
pub fn grid_range(spec: &Spec, name: &str) -> Option<(f64, f64)> {
    let xs: Vec<f64> = grid_values(spec, name).iter().filter_map(Value::as_f64).collect();
    if xs.is_empty() {
        return None;
    }
    Some((
        xs.iter().copied().fold(f64::INFINITY, f64::min),
        xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    ))
}

/// Every space, in the claims' report order.
pub fn all() -> Vec<&'static dyn Space> {
    spaces::all()
}

/// The space of a property id.
pub fn find(id: &str) -> Option<&'static dyn Space> {
    all().into_iter().find(|s| s.id() == id)
}
