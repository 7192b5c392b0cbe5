//! A hypothesis space over a claim's own grid parameters, for the claims whose object is built
//! inside the claim (a training run, a random target, a gauge move): the optimiser moves the
//! claim's continuous parameters (over the hypothesis range, or the hull of the spec's full grid
//! where the hypotheses give none) and its categorical ones (a coordinate in [0, k) read as the
//! ⌊·⌋-th value), the restart fixes the integers (d, L, width) from its grid point and the
//! instance seed (the data, initialisation and target draws), and each point is scored by the
//! claim's own measurement, so the attack and `check` agree on every point.
//!
//! Scoring: a bound's tightness (holds iff ≥ 1 − slack) or an identity's or limit's error/tol
//! (holds iff ≤ 1); `violated` is the claim's own status. A measurement that fails a pass/fail
//! requirement its value does not show scores [`FAILED_TIGHTNESS`] or [`FAILED_ERROR`], one that
//! holds without a margin [`NO_MARGIN`] (tightness) or 0 (error); one that
//! did not reach the claim's regime (not converged) or raised an error lies outside the space
//! and is never counted as evaluated. A control's space is the claim's with the control's grid
//! values added to each moved parameter's range (the hypothesis the control drops), and its
//! restarts start uniformly in that space rather than at grid points.

use crate::attack::{Dim, Goal, Known, Scale, Score, Space, Start, Target};
use crate::engine::instance::Instance;
use crate::engine::rng::{Stream, stream_rng};
use crate::framework::property::{Claim, GridPoint, Status, Value, Variant};
use crate::framework::spec::{OneOrMany, Spec};
use std::collections::BTreeMap;

/// Score of a measurement whose tightness says "holds" while another requirement failed.
pub const FAILED_TIGHTNESS: f64 = 0.0;
/// Score (error/tol) of a measurement whose error says "holds" while another requirement failed.
pub const FAILED_ERROR: f64 = 1e6;
/// Score of a bound's measurement that holds without a margin (e.g. a run that, as predicted,
/// does not converge): far above any measured tightness.
pub const NO_MARGIN: f64 = 1e6;

/// Where a moved parameter ranges.
#[derive(Clone, Copy, Debug)]
pub enum Range {
    /// The hull of the spec's full grid (and tolerances) for this parameter.
    Grid,
    /// An interval the hypotheses allow, united with the grid's hull.
    Hypothesis(f64, f64),
    /// The grid's hull cut to an interval the hypotheses impose.
    Within(f64, f64),
}

/// One moved parameter.
#[derive(Clone, Copy, Debug)]
pub enum Move {
    /// A number, on this scale and range.
    Number(&'static str, Scale, Range),
    /// A categorical parameter: every value of the spec's full grid.
    Choice(&'static str),
}

/// A claim's space over its grid parameters.
pub struct GridSpace {
    pub id: &'static str,
    pub goal: Goal,
    pub description: &'static str,
    pub moves: &'static [Move],
    pub controls: &'static [&'static str],
    pub known: Option<fn() -> Known>,
    pub stated: Option<(&'static str, &'static str, f64)>,
    /// Largest budget per target (claim or control): each evaluation is a training run.
    pub budget_cap: Option<usize>,
    /// The grid points a restart may start from (e.g. L ≥ 2 for a control that is exact at L = 1).
    pub covers: fn(&GridPoint, Target<'_>) -> bool,
}

/// Every point is covered.
pub fn everywhere(_: &GridPoint, _: Target<'_>) -> bool {
    true
}

fn values_of(map: &BTreeMap<String, OneOrMany>, name: &str) -> Vec<Value> {
    match map.get(name) {
        Some(OneOrMany::Many(v)) => v.clone(),
        Some(OneOrMany::One(v)) => vec![v.clone()],
        None => Vec::new(),
    }
}

/// The values a parameter takes in the claim's space (target: a control adds its own grid's).
fn space_values(spec: &Spec, name: &str, target: Target<'_>) -> Vec<Value> {
    let mut v = values_of(&spec.grid, name);
    if let Some(t) = spec.tolerances.get(name) {
        v.push(t.clone());
    }
    if let Target::Control(c) = target
        && let Some(ctl) = spec.controls.iter().find(|x| x.variant == c)
    {
        for x in values_of(&ctl.grid, name) {
            if !v.contains(&x) {
                v.push(x);
            }
        }
    }
    v
}

/// Name of the categorical coordinate of `name`.
fn choice_dim(name: &str) -> String {
    format!("{name}#choice")
}

impl GridSpace {
    fn claim(&self) -> &'static dyn Claim {
        crate::claims::find(self.id).expect("a registered claim")
    }

    fn variant<'a>(target: Target<'a>) -> Variant<'a> {
        match target {
            Target::Claim => Variant::Claim,
            Target::Control(c) => Variant::Control(c),
        }
    }

    /// The grid point of `x` (the restart's point with the moved parameters replaced) and the
    /// instance seed.
    fn point(&self, start: &Start, x: &[f64]) -> Option<(GridPoint, u64)> {
        let mut p = start.discrete.clone();
        let seed = match p.0.remove("seed") {
            Some(Value::Int(s)) => s as u64,
            _ => return None,
        };
        for (dim, v) in start.dims.iter().zip(x) {
            if let Some(name) = dim.name.strip_suffix("#choice") {
                let vals = start.choices.get(name)?;
                let i = (v.floor().max(0.0) as usize).min(vals.len().checked_sub(1)?);
                p = p.with(name, vals[i].clone());
            } else {
                if !v.is_finite() {
                    return None;
                }
                p = p.with(&dim.name, Value::Float(*v));
            }
        }
        Some((p, seed))
    }

    fn measure(
        &self,
        start: &Start,
        x: &[f64],
        target: Target<'_>,
    ) -> Option<(crate::framework::property::Measurement, GridPoint, u64)> {
        let (p, seed) = self.point(start, x)?;
        let claim = self.claim();
        let m = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            claim.measure(&p, seed, Self::variant(target))
        }))
        .ok()?
        .ok()?;
        Some((m, p, seed))
    }

    /// The score of a measurement (`None`: outside the claim's regime).
    fn score(&self, m: &crate::framework::property::Measurement) -> Option<Score> {
        if m.status == Status::NotConverged {
            return None;
        }
        let violated = m.status == Status::Violated;
        let value = match self.goal {
            Goal::MinimiseTightness => {
                let t = m.tightness.unwrap_or(NO_MARGIN);
                if violated && t >= 1.0 { FAILED_TIGHTNESS } else { t }
            }
            Goal::MaximiseErrorRatio => {
                let e = m.error.unwrap_or(0.0);
                if violated && e <= 1.0 { FAILED_ERROR } else { e }
            }
        };
        value.is_finite().then_some(Score { value, violated })
    }
}

impl Space for GridSpace {
    fn id(&self) -> &'static str {
        self.id
    }
    fn goal(&self) -> Goal {
        self.goal
    }
    fn description(&self) -> &'static str {
        self.description
    }
    fn controls(&self) -> &'static [&'static str] {
        self.controls
    }
    fn known(&self) -> Option<Known> {
        self.known.map(|f| f())
    }
    fn stated_constant(&self) -> Option<(&'static str, &'static str)> {
        self.stated.map(|(n, v, _)| (n, v))
    }
    fn stated_value(&self) -> Option<f64> {
        self.stated.map(|s| s.2)
    }
    fn budget_cap(&self) -> Option<usize> {
        self.budget_cap
    }
    fn start(&self, spec: &Spec, point: &GridPoint, seed: u64, target: Target<'_>) -> Option<Start> {
        if !(self.covers)(point, target) {
            return None;
        }
        let mut discrete = point.clone();
        let (mut dims, mut x0, mut choices) = (Vec::new(), Vec::new(), BTreeMap::new());
        for m in self.moves {
            match *m {
                Move::Number(name, scale, range) => {
                    let here = point.0.get(name).and_then(Value::as_f64)?;
                    let hull = |vals: &[Value]| {
                        vals.iter()
                            .filter_map(Value::as_f64)
                            .fold((here, here), |(a, b), v| (a.min(v), b.max(v)))
                    };
                    let (mut lo, mut hi) = hull(&space_values(spec, name, Target::Claim));
                    match range {
                        Range::Grid => {}
                        Range::Hypothesis(a, b) => (lo, hi) = (lo.min(a), hi.max(b)),
                        Range::Within(a, b) => (lo, hi) = (lo.max(a), hi.min(b)),
                    }
                    // A control's dropped hypothesis: its own values join the range.
                    let (clo, chi) = hull(&space_values(spec, name, target));
                    if target != Target::Claim {
                        (lo, hi) = (lo.min(clo), hi.max(chi));
                    }
                    if !(lo..=hi).contains(&here) {
                        return None;
                    }
                    if hi <= lo {
                        continue;
                    }
                    let dim = match scale {
                        Scale::Linear => Dim::linear(name, lo, hi),
                        Scale::Log => Dim::log(name, lo, hi),
                    };
                    x0.push(dim.at(dim.unit(here)));
                    dims.push(dim);
                    discrete.0.remove(name);
                }
                Move::Choice(name) => {
                    let vals = space_values(spec, name, target);
                    if vals.len() < 2 {
                        continue;
                    }
                    let here = vals.iter().position(|v| Some(v) == point.0.get(name))?;
                    choices.insert(name.to_string(), vals.clone());
                    discrete.0.remove(name);
                    dims.push(Dim::linear(choice_dim(name), 0.0, vals.len() as f64 - 1e-9));
                    x0.push(here as f64 + 0.5);
                }
            }
        }
        // A control's restart starts anywhere in its space (uniform in the unit cube, from the
        // restart's seed): its dropped hypothesis is a region the grid's points rarely reach.
        if target != Target::Claim {
            let mut rng = stream_rng(seed, Stream::Search);
            for (x, dim) in x0.iter_mut().zip(&dims) {
                *x = dim.at(rand::RngExt::random::<f64>(&mut rng));
            }
        }
        // The instance seed: the restart's, within the grid's integer range.
        discrete = discrete.with("seed", Value::Int((seed >> 1) as i64));
        let slack = point.0.get("rel").and_then(Value::as_f64).unwrap_or(0.0);
        Some(Start { discrete, dims, x0, slack, choices })
    }
    fn evaluate(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Score> {
        let (m, ..) = self.measure(start, x, target)?;
        self.score(&m)
    }
    fn describe(&self, start: &Start, x: &[f64], target: Target<'_>) -> BTreeMap<String, f64> {
        let Some((m, p, _)) = self.measure(start, x, target) else {
            return BTreeMap::new();
        };
        let mut v = m.values.clone();
        if let Some(s) = self.score(&m) {
            v.insert("score".into(), s.value);
        }
        for (k, x) in &p.0 {
            if let (Some(x), true) = (x.as_f64(), start.dims.iter().any(|d| d.name == *k)) {
                v.insert(format!("param.{k}"), x);
            }
        }
        v
    }
    fn instance(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Instance> {
        let (_, p, seed) = self.measure(start, x, target)?;
        self.claim().instance(&p, seed, Self::variant(target))
    }
}
