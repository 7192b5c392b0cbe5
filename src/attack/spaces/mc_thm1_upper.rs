//! mc.thm1.upper (Theorem 1's upper bound on the balanced minimiser): U₁/S_bal over data.

use super::{data_values, exact_sharpness, slack_of};
use crate::attack::regression::{self, Decoded, Network, Shape};
use crate::attack::{Goal, Known, Score, Space, Start, Target};
use crate::engine::bounds;
use crate::engine::init;
use crate::engine::instance::Instance;
use crate::framework::property::GridPoint;
use crate::framework::spec::Spec;
use std::collections::BTreeMap;

/// mc.thm1.upper: minimise U₁/S_bal over data (the balanced minimiser is determined by them),
/// with K and S against their closed forms.
pub struct Upper;

impl Upper {
    /// (tightness U₁/S, violated, values).
    fn measure(
        dec: &Decoded,
        target: Target<'_>,
        slack: f64,
        exact: bool,
    ) -> (f64, bool, BTreeMap<String, f64>) {
        let reg = dec.reg();
        let model = &dec.problem.model;
        let (depth, head) = (model.depth(), model.head_norm());
        let theta = init::balanced(model, &reg.w_star);
        let s = if exact {
            exact_sharpness(dec, &theta)
        } else {
            bounds::minimizer_sharpness(&dec.problem, &theta)
        };
        let k_err = bounds::balanced_gram_error(&dec.problem, &theta, reg, depth, head);
        let s_bal = bounds::balanced_sharpness(reg, depth, head);
        let s_err = (s - s_bal).abs() / s_bal;
        let lb = bounds::lower_bound(reg, depth, head);
        let s_min = bounds::min_sharpness(reg, depth, head).value;
        let (u1, u2) = bounds::balanced_upper_bounds(reg, depth, head);
        let u1 = if target == Target::Control("a_instead_of_lambda_max") { lb } else { u1 };
        let ok = 1.0 + slack;
        let chain = lb <= s_min * ok && s_min <= s_bal * ok && u1 <= u2 * ok;
        let t = u1 / s;
        // The identities enter only when they fail (then the value drops below 1 − their excess).
        let value = [k_err, s_err].iter().filter(|&&e| e > slack).fold(t, |v, e| v.min(1.0 - (e - slack)));
        let violated = t < 1.0 - slack || !chain || k_err > slack || s_err > slack;
        let values = BTreeMap::from([
            ("sharpness".to_string(), s),
            ("upper_1".to_string(), u1),
            ("upper_2".to_string(), u2),
            ("k_rel_error".to_string(), k_err),
            ("s_rel_error".to_string(), s_err),
        ]);
        (value, violated, values)
    }
}

impl Space for Upper {
    fn id(&self) -> &'static str {
        "mc.thm1.upper"
    }
    fn goal(&self) -> Goal {
        Goal::MinimiseTightness
    }
    fn description(&self) -> &'static str {
        "Σ's spectrum (log scale, κ ≤ the grid's κ_max), w* direction and norm (grid range), residual head p; \
         the balanced rank-one minimiser they determine; (architecture, d, L) from the grid; tightness U₁/S_bal, \
         with K and S_bal against their closed forms"
    }
    fn controls(&self) -> &'static [&'static str] {
        &["a_instead_of_lambda_max"]
    }
    fn known(&self) -> Option<Known> {
        Some(Known {
            value: 1.0,
            provenance: "Theorem 1's upper bound (Marion & Chizat, form reconstructed): S_bal ≤ U₁ = 2(Λ + (L−1)a)‖w*‖^(2−2/L)‖p‖^(2/L), \
                         equality when ŵ is a top eigenvector of Σ"
                .into(),
            attained: "ŵ a top eigenvector of Σ (then S_bal = U₁ = 2LΛ‖w*‖^(2−2/L)‖p‖^(2/L)); every point when L = 1".into(),
        })
    }
    fn start(&self, spec: &Spec, point: &GridPoint, seed: u64, _target: Target<'_>) -> Option<Start> {
        regression::start(spec, point, seed, Network::None, slack_of(point))
    }
    fn evaluate(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Score> {
        let dec = regression::decode(Shape::of(&start.discrete), Network::None, x)?;
        let (value, violated, _) = Self::measure(&dec, target, start.slack, false);
        Some(Score { value, violated })
    }
    fn describe(&self, start: &Start, x: &[f64], target: Target<'_>) -> BTreeMap<String, f64> {
        let Some(dec) = regression::decode(Shape::of(&start.discrete), Network::None, x) else {
            return BTreeMap::new();
        };
        let (value, _, values) = Self::measure(&dec, target, start.slack, true);
        let mut v = data_values(&dec);
        v.extend(values);
        v.insert("tightness_exact".into(), value);
        v
    }
    fn instance(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Instance> {
        let mut dec = regression::decode(Shape::of(&start.discrete), Network::None, x)?;
        dec.theta = Some(init::balanced(&dec.problem.model, &dec.reg().w_star));
        regression::instance(dec, self.id(), &target.name(), start)
    }
}
