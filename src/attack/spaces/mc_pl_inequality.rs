//! mc.pl_inequality (the PL inequality): its tightness over data and every θ.

use super::{data_values, slack_of};
use crate::attack::regression::{self, Decoded, Network, Shape};
use crate::attack::{Goal, Known, Score, Space, Start, Target};
use crate::engine::bounds;
use crate::engine::instance::Instance;
use crate::framework::property::GridPoint;
use crate::framework::spec::Spec;
use std::collections::BTreeMap;

/// mc.pl_inequality: minimise ‖∇R‖²/(4λ(R − R_min)Σ_k‖a_k‖²σ_min(B_k)²) over data and every θ
/// (no minimiser assumed). Points with R − R_min below 1e-10·w*ᵀΣw* are outside (the ratio of
/// two rounding errors there, as the claim's own path floor).
pub struct PlInequality;

impl PlInequality {
    fn terms(dec: &Decoded) -> Option<bounds::PlTerms> {
        let theta = dec.theta.as_ref()?;
        let terms = bounds::pl_terms(&dec.problem, theta)?;
        let reg = dec.reg();
        let signal = reg.excess(&vec![0.0; reg.w_star.len()]); // w*ᵀΣw*
        (terms.excess > 1e-10 * signal && terms.weight > 0.0).then_some(terms)
    }
    fn constant(terms: &bounds::PlTerms, target: Target<'_>) -> f64 {
        if target == Target::Control("lambda_max") { terms.lambda_max } else { terms.lambda }
    }
}

impl Space for PlInequality {
    fn id(&self) -> &'static str {
        "mc.pl_inequality"
    }
    fn goal(&self) -> Goal {
        Goal::MinimiseTightness
    }
    fn description(&self) -> &'static str {
        "Σ's spectrum (log scale, κ ≤ the grid's κ_max), w* direction and norm (grid range), residual head p; \
         every θ (all layers free, W_k = s_k·V_k); (architecture, d, L) from the grid; \
         tightness ‖∇R‖²/(4λ(R − R_min)Σ_k‖a_k‖²σ_min(B_k)²)"
    }
    fn controls(&self) -> &'static [&'static str] {
        &["lambda_max"]
    }
    fn known(&self) -> Option<Known> {
        Some(Known {
            value: 1.0,
            provenance:
                "derived: ‖∇R‖² = Σ_k‖a_k‖²‖B_k g‖² with g = 2Σ(w − w*), ‖B_k g‖ ≥ σ_min(B_k)‖g‖ and \
                         ‖g‖² = 4eᵀΣ²e ≥ 4λ·eᵀΣe (e = w − w*); at L = 1 only the last step can be strict"
                    .into(),
            attained: "at L = 1 with w − w* along an eigenvector of Σ's smallest eigenvalue".into(),
        })
    }
    fn start(&self, spec: &Spec, point: &GridPoint, seed: u64, _target: Target<'_>) -> Option<Start> {
        regression::start(spec, point, seed, Network::Free, slack_of(point))
    }
    fn evaluate(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Score> {
        let dec = regression::decode(Shape::of(&start.discrete), Network::Free, x)?;
        let terms = Self::terms(&dec)?;
        let t = terms.tightness(Self::constant(&terms, target));
        t.is_finite().then_some(Score { value: t, violated: t < 1.0 - start.slack })
    }
    fn describe(&self, start: &Start, x: &[f64], target: Target<'_>) -> BTreeMap<String, f64> {
        let Some(dec) = regression::decode(Shape::of(&start.discrete), Network::Free, x) else {
            return BTreeMap::new();
        };
        let mut v = data_values(&dec);
        if let Some(terms) = Self::terms(&dec) {
            v.insert("grad_sq".into(), terms.grad_sq);
            v.insert("excess_risk".into(), terms.excess);
            v.insert("pl_weight".into(), terms.weight);
            v.insert("tightness_exact".into(), terms.tightness(Self::constant(&terms, target)));
            v.insert("weak_tightness".into(), terms.weak_tightness());
        }
        v
    }
    fn instance(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Instance> {
        let dec = regression::decode(Shape::of(&start.discrete), Network::Free, x)?;
        regression::instance(dec, self.id(), &target.name(), start)
    }
}
