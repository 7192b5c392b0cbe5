//! mc.sharpness_upper_at_minimizer: U/S over data and the whole minimiser set.

use super::{data_values, exact_sharpness, slack_of};
use crate::attack::regression::{self, Decoded, Network, Shape};
use crate::attack::{Goal, Known, Score, Space, Start, Target};
use crate::engine::bounds;
use crate::engine::instance::Instance;
use crate::framework::property::GridPoint;
use crate::framework::spec::Spec;
use std::collections::BTreeMap;

/// mc.sharpness_upper_at_minimizer: minimise U/S, U = 2Λ·Σ_k ‖a_k‖²‖B_k‖₂², over data and the
/// whole minimiser set.
pub struct SharpnessUpper;

impl SharpnessUpper {
    /// (S, U) at a decoded minimiser; the control replaces Λ by λ_min(Σ).
    fn measure(dec: &Decoded, target: Target<'_>, exact: bool) -> Option<(f64, f64)> {
        let theta = dec.theta.as_ref()?;
        let s = if exact {
            exact_sharpness(dec, theta)
        } else {
            bounds::minimizer_sharpness(&dec.problem, theta)
        };
        let mut u = bounds::minimizer_sharpness_upper(&dec.problem, theta);
        if target == Target::Control("lambda_min") {
            let reg = dec.reg();
            u *= reg.lambda_min_nonzero() / reg.lambda_max();
        }
        Some((s, u))
    }
}

impl Space for SharpnessUpper {
    fn id(&self) -> &'static str {
        "mc.sharpness_upper_at_minimizer"
    }
    fn goal(&self) -> Goal {
        Goal::MinimiseTightness
    }
    fn description(&self) -> &'static str {
        "Σ's spectrum (log scale, κ ≤ the grid's κ_max), w* direction and norm (grid range), residual head p; \
         the whole minimiser set (W_2..W_L free, W_1 fitted plus its free part); (architecture, d, L) from the grid; \
         tightness U/S with U = 2Λ·Σ_k ‖a_k‖²‖B_k‖₂²"
    }
    fn controls(&self) -> &'static [&'static str] {
        &["lambda_min"]
    }
    fn known(&self) -> Option<Known> {
        Some(Known {
            value: 1.0,
            provenance: "derived: S = 2λ_max(Σ^(1/2)KΣ^(1/2)) ≤ 2Λ‖K‖₂ ≤ 2Λ·Σ_k‖a_k‖²‖B_k‖₂² with K = Σ_k‖a_k‖²B_kᵀB_k; \
                         both steps are equalities when every B_kᵀB_k has a common top singular vector that is a top \
                         eigenvector of Σ"
                .into(),
            attained: "every minimiser at L = 1 (K = ‖p‖²I); for L ≥ 2 the balanced rank-one minimiser with ŵ a top \
                       eigenvector of Σ (S = U = 2LΛ‖w*‖^(2−2/L)‖p‖^(2/L))"
                .into(),
        })
    }
    fn start(&self, spec: &Spec, point: &GridPoint, seed: u64, _target: Target<'_>) -> Option<Start> {
        regression::start(spec, point, seed, Network::Minimizers, slack_of(point))
    }
    fn evaluate(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Score> {
        let dec = regression::decode(Shape::of(&start.discrete), Network::Minimizers, x)?;
        let (s, u) = Self::measure(&dec, target, false)?;
        let t = u / s;
        t.is_finite().then_some(Score { value: t, violated: t < 1.0 - start.slack })
    }
    fn describe(&self, start: &Start, x: &[f64], target: Target<'_>) -> BTreeMap<String, f64> {
        let Some(dec) = regression::decode(Shape::of(&start.discrete), Network::Minimizers, x) else {
            return BTreeMap::new();
        };
        let mut v = data_values(&dec);
        if let Some((s, u)) = Self::measure(&dec, target, true) {
            v.insert("sharpness_exact".into(), s);
            v.insert("upper".into(), u);
            v.insert("tightness_exact".into(), u / s);
        }
        v
    }
    fn instance(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Instance> {
        let dec = regression::decode(Shape::of(&start.discrete), Network::Minimizers, x)?;
        regression::instance(dec, self.id(), &target.name(), start)
    }
}
