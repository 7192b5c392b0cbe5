//! mc.hessian_at_minimizer: max(‖∇²R − 2JᵀΣJ‖_max/‖∇²R‖_max, |S − S_GN|/S)/rel over data and the
//! whole minimiser set (the `off_minimizer` control: every θ, at L ≥ 2 where the residual term
//! exists). Cost: one dense P×P Hessian and Gauss–Newton matrix per point (P ≤ the space's size).

use super::{data_values, exact_sharpness, slack_of};
use crate::attack::regression::{self, Decoded, Network, Shape};
use crate::attack::{Goal, Known, Score, Space, Start, Target};
use crate::engine::bounds;
use crate::engine::hessian;
use crate::engine::instance::Instance;
use crate::framework::property::GridPoint;
use crate::framework::spec::Spec;
use std::collections::BTreeMap;

pub struct HessianAtMinimizer;

impl HessianAtMinimizer {
    fn network(target: Target<'_>) -> Network {
        if target == Target::Control("off_minimizer") { Network::Free } else { Network::Minimizers }
    }
    /// (error, matrix error, sharpness error, S, S_GN).
    fn measure(dec: &Decoded) -> Option<(f64, f64, f64, f64, f64)> {
        let theta = dec.theta.as_ref()?;
        let h = hessian::dense_hessian(&dec.problem, theta);
        let gn = hessian::gauss_newton(&dec.problem, theta);
        let (mut diff, mut scale) = (0.0f64, 0.0f64);
        for i in 0..theta.len() {
            for j in 0..theta.len() {
                diff = diff.max((h[(i, j)] - gn[(i, j)]).abs());
                scale = scale.max(h[(i, j)].abs());
            }
        }
        let matrix_err = diff / scale.max(f64::MIN_POSITIVE);
        let s = exact_sharpness(dec, theta);
        let s_gn = bounds::minimizer_sharpness(&dec.problem, theta);
        let sharp_err = (s - s_gn).abs() / s.abs().max(s_gn.abs()).max(f64::MIN_POSITIVE);
        let err = matrix_err.max(sharp_err);
        err.is_finite().then_some((err, matrix_err, sharp_err, s, s_gn))
    }
}

impl Space for HessianAtMinimizer {
    fn id(&self) -> &'static str {
        "mc.hessian_at_minimizer"
    }
    fn goal(&self) -> Goal {
        Goal::MaximiseErrorRatio
    }
    fn description(&self) -> &'static str {
        "Σ's spectrum (log scale, κ ≤ the grid's κ_max), w* direction and norm (grid range), residual head p; \
         the whole minimiser set (W_2..W_L free, entries and layer scales, W_1 fitted plus its free part); \
         (architecture, d, L) from the grid; error/rel of ∇²R = 2JᵀΣJ (entrywise, relative to ‖∇²R‖_max) and of \
         S = 2λ_max(Σ^(1/2)KΣ^(1/2))"
    }
    fn controls(&self) -> &'static [&'static str] {
        &["off_minimizer"]
    }
    fn known(&self) -> Option<Known> {
        None
    }
    fn start(&self, spec: &Spec, point: &GridPoint, seed: u64, target: Target<'_>) -> Option<Start> {
        // At L = 1 the Hessian is 2Σ at every θ: off the minimiser set the identity still holds.
        if target == Target::Control("off_minimizer") && point.usize("depth") < 2 {
            return None;
        }
        regression::start(spec, point, seed, Network::Minimizers, slack_of(point))
    }
    fn evaluate(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Score> {
        let dec = regression::decode(Shape::of(&start.discrete), Self::network(target), x)?;
        let (err, ..) = Self::measure(&dec)?;
        Some(Score { value: err / start.slack, violated: err > start.slack })
    }
    fn describe(&self, start: &Start, x: &[f64], target: Target<'_>) -> BTreeMap<String, f64> {
        let Some(dec) = regression::decode(Shape::of(&start.discrete), Self::network(target), x) else {
            return BTreeMap::new();
        };
        let mut v = data_values(&dec);
        if let Some((err, m, s_err, s, s_gn)) = Self::measure(&dec) {
            v.insert("error".into(), err);
            v.insert("hessian_vs_gauss_newton".into(), m);
            v.insert("sharpness_rel_gap".into(), s_err);
            v.insert("sharpness_exact".into(), s);
            v.insert("sharpness_gauss_newton".into(), s_gn);
            v.insert("score".into(), err / start.slack);
        }
        v
    }
    fn instance(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Instance> {
        let dec = regression::decode(Shape::of(&start.discrete), Self::network(target), x)?;
        regression::instance(dec, self.id(), &target.name(), start)
    }
}
