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
use crate::framework::property::{Claim, GridPoint, Measurement, Status, Value, Variant};
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
    /// A number whose smallness is the hypothesis a control drops: on this scale and range for
    /// the claim, linear over a control's widened range, where the dropped hypothesis (the
    /// values far above the claim's) is a share of the coordinate proportional to its width
    /// rather than the thin sliver it is in log coordinates.
    Widened(&'static str, Scale, Range),
    /// A categorical parameter: every value of the spec's full grid.
    Choice(&'static str),
    /// A categorical parameter over the claim's values only: a control's own values do not
    /// join it (e.g. a width where the control's runs cost a hundred times the claim's).
    ClaimChoice(&'static str),
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
    /// Per control: (name, budget cap, restarts): a control whose runs are cheaper than the
    /// claim's gets a larger cap, and fewer, longer local searches where the cap would leave
    /// each restart too few runs to move from its start. Others: `budget_cap` and the attack's
    /// restarts.
    pub control_search: &'static [(&'static str, usize, usize)],
    /// The slice of a moved parameter's range where a target's statement differs from the
    /// claim's (e.g. a wrong limit asserted only where the limit is checked): the range is cut
    /// to it. `None`: the whole range.
    pub slice: fn(&GridPoint, &str, Target<'_>) -> Option<(f64, f64)>,
    /// A graded tightness (holds iff ≥ 1) of a control's pass/fail requirement that its
    /// measurement's value does not show (e.g. a limit's order over the order it must reach):
    /// the control's score is the smaller of it and the measured one, so the search has a
    /// gradient towards the violation rather than a 0/1 flag.
    pub margin: Option<Margin>,
    /// The grid points a restart may start from (e.g. L ≥ 2 for a control that is exact at L = 1).
    pub covers: fn(&GridPoint, Target<'_>) -> bool,
}

/// A control's graded requirement at a measured point (holds iff ≥ 1).
pub type Margin = fn(&Measurement, &GridPoint, Target<'_>) -> Option<f64>;

/// No target cuts a parameter's range.
pub fn no_slice(_: &GridPoint, _: &str, _: Target<'_>) -> Option<(f64, f64)> {
    None
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

    fn measure(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<(Measurement, GridPoint, u64)> {
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
    fn score(&self, m: &Measurement, point: &GridPoint, target: Target<'_>) -> Option<Score> {
        if m.status == Status::NotConverged {
            return None;
        }
        let violated = m.status == Status::Violated;
        let value = match self.goal {
            Goal::MinimiseTightness => {
                let t = m.tightness.unwrap_or(NO_MARGIN);
                // A control's graded requirement joins its measured tightness.
                let t = match (self.margin, target) {
                    (Some(f), Target::Control(_)) => {
                        f(m, point, target).filter(|g| g.is_finite()).map_or(t, |g| t.min(g))
                    }
                    _ => t,
                };
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
    fn control_search(&self, control: &str) -> Option<(usize, usize)> {
        self.control_search.iter().find(|c| c.0 == control).map(|c| (c.1, c.2))
    }
    fn start(&self, spec: &Spec, point: &GridPoint, seed: u64, target: Target<'_>) -> Option<Start> {
        if !(self.covers)(point, target) {
            return None;
        }
        let mut discrete = point.clone();
        let (mut dims, mut x0, mut choices) = (Vec::new(), Vec::new(), BTreeMap::new());
        for m in self.moves {
            match *m {
                Move::Number(name, scale, range) | Move::Widened(name, scale, range) => {
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
                    let sliced = (self.slice)(point, name, target);
                    // A control's dropped hypothesis: its own values join the range.
                    let (clo, chi) = hull(&space_values(spec, name, target));
                    let widens = target != Target::Claim && (clo < lo || chi > hi);
                    if target != Target::Claim {
                        (lo, hi) = (lo.min(clo), hi.max(chi));
                    }
                    if let Some((a, b)) = sliced {
                        (lo, hi) = (lo.max(a), hi.min(b));
                    }
                    if !(lo..=hi).contains(&here) {
                        return None;
                    }
                    if hi <= lo {
                        continue;
                    }
                    let dim = match scale {
                        _ if widens && matches!(m, Move::Widened(..)) => Dim::linear(name, lo, hi),
                        Scale::Linear => Dim::linear(name, lo, hi),
                        Scale::Log => Dim::log(name, lo, hi),
                    };
                    x0.push(dim.at(dim.unit(here)));
                    dims.push(dim);
                    discrete.0.remove(name);
                }
                Move::Choice(name) | Move::ClaimChoice(name) => {
                    let own = if matches!(m, Move::Choice(_)) { target } else { Target::Claim };
                    let mut vals = space_values(spec, name, own);
                    // The restart's own value is a choice (a quick grid's width may lie outside
                    // the full grid's); numbers in increasing order, so neighbouring
                    // coordinates are neighbouring values.
                    if let Some(v) = point.0.get(name)
                        && !vals.contains(v)
                    {
                        vals.push(v.clone());
                    }
                    if vals.iter().all(|v| v.as_f64().is_some()) {
                        vals.sort_by(|a, b| a.as_f64().unwrap_or(0.0).total_cmp(&b.as_f64().unwrap_or(0.0)));
                    }
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
        let (m, p, _) = self.measure(start, x, target)?;
        self.score(&m, &p, target)
    }
    fn describe(&self, start: &Start, x: &[f64], target: Target<'_>) -> BTreeMap<String, f64> {
        let Some((m, p, _)) = self.measure(start, x, target) else {
            return BTreeMap::new();
        };
        let mut v = m.values.clone();
        if let Some(s) = self.score(&m, &p, target) {
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
