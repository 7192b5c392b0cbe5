//! mc.thm1.lower_bound (Theorem 1's lower bound): S/LB over data and the whole minimiser set.

use super::{data_values, exact_sharpness, slack_of};
use crate::attack::regression::{self, Decoded, Network, Shape};
use crate::attack::{Goal, Known, Score, Space, Start, Target};
use crate::engine::bounds;
use crate::engine::instance::Instance;
use crate::framework::property::GridPoint;
use crate::framework::spec::Spec;
use std::collections::BTreeMap;

/// mc.thm1.lower_bound: minimise S/LB over data and the whole minimiser set.
pub struct LowerBound;

impl LowerBound {
    fn network(target: Target<'_>) -> Network {
        if target == Target::Control("non_minimizer") { Network::Free } else { Network::Minimizers }
    }
    /// (S, bound) at a decoded point.
    fn measure(dec: &Decoded, target: Target<'_>, exact: bool) -> Option<(f64, f64)> {
        let theta = dec.theta.as_ref()?;
        let reg = dec.reg();
        let (depth, head) = (dec.problem.model.depth(), dec.problem.model.head_norm());
        let l = depth as f64;
        let s = if exact || Self::network(target) == Network::Free {
            exact_sharpness(dec, theta)
        } else {
            bounds::minimizer_sharpness(&dec.problem, theta)
        };
        let scale = head.powf(2.0 / l);
        let bound = match target {
            Target::Control("lambda_max") => {
                2.0 * l * reg.lambda_max() * reg.w_star_norm().powf(2.0 - 2.0 / l) * scale
            }
            Target::Control("exponent_2") => 2.0 * l * reg.alignment()? * reg.w_star_norm().powi(2) * scale,
            _ => bounds::lower_bound(reg, depth, head),
        };
        Some((s, bound))
    }
}

impl Space for LowerBound {
    fn id(&self) -> &'static str {
        "mc.thm1.lower_bound"
    }
    fn goal(&self) -> Goal {
        Goal::MinimiseTightness
    }
    fn description(&self) -> &'static str {
        "Σ's spectrum (log scale, κ ≤ the grid's κ_max), w* direction and norm (grid range), residual head p; \
         the whole minimiser set: W_2..W_L free (entries and layer scales), W_1 fitted to w* plus its free part \
         (gauge moves and rescalings included); (architecture, d, L) from the grid; tightness S/LB"
    }
    fn controls(&self) -> &'static [&'static str] {
        &["lambda_max", "exponent_2", "non_minimizer"]
    }
    fn known(&self) -> Option<Known> {
        Some(Known {
            value: 1.0,
            provenance: "Theorem 1 (Marion & Chizat): S ≥ LB at every global minimiser; equality iff Σŵ = aŵ \
                         and La ≥ λ_max(Σ restricted to ŵ^⊥) (derived from the exact S_min, mc.smin.exact)"
                .into(),
            attained: "at the S_min-attaining minimiser of such data, e.g. isotropic Σ; for L = 1 at w* a top eigenvector"
                .into(),
        })
    }
    fn start(&self, spec: &Spec, point: &GridPoint, seed: u64, target: Target<'_>) -> Option<Start> {
        // At L = 1 the Hessian is 2Σ at every θ, so dropping the minimiser hypothesis changes
        // nothing there (S = 2Λ ≥ LB = 2a everywhere): the control lives at L ≥ 2.
        if target == Target::Control("non_minimizer") && point.usize("depth") < 2 {
            return None;
        }
        regression::start(spec, point, seed, Network::Minimizers, slack_of(point))
    }
    fn evaluate(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Score> {
        let dec = regression::decode(Shape::of(&start.discrete), Self::network(target), x)?;
        let (s, bound) = Self::measure(&dec, target, false)?;
        let t = s / bound;
        Some(Score { value: t, violated: t < 1.0 - start.slack })
    }
    fn describe(&self, start: &Start, x: &[f64], target: Target<'_>) -> BTreeMap<String, f64> {
        let Some(dec) = regression::decode(Shape::of(&start.discrete), Self::network(target), x) else {
            return BTreeMap::new();
        };
        let mut v = data_values(&dec);
        if let (Some((s, bound)), Some(theta)) = (Self::measure(&dec, target, true), dec.theta.as_ref()) {
            v.insert("sharpness_exact".into(), s);
            v.insert("bound".into(), bound);
            v.insert("tightness_exact".into(), s / bound);
            v.insert("sharpness_gauss_newton".into(), bounds::minimizer_sharpness(&dec.problem, theta));
            let w = crate::engine::linalg::to_row_major(dec.problem.model.end_to_end(theta).as_ref());
            v.insert("excess_risk".into(), dec.reg().excess(&w));
        }
        v
    }
    fn instance(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Instance> {
        let dec = regression::decode(Shape::of(&start.discrete), Self::network(target), x)?;
        regression::instance(dec, self.id(), &target.name(), start)
    }
}
