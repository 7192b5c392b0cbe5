//! The hypothesis spaces of the covered properties.
//!
//! Sharpness inside the search is the Gauss–Newton form 2λ_max(Σ^{1/2}KΣ^{1/2}) (exact at global
//! minimisers, O(P·d²)); off the minimiser set (the `non_minimizer` control) it is the exact
//! full-Hessian eigenvalue. The best point is always re-measured with the exact full Hessian
//! (`sharpness_exact` in its values).

use super::regression::{self, Decoded, Network, Shape};
use super::{Goal, Known, Score, Space, Start, Target};
use crate::engine::bounds;
use crate::engine::init;
use crate::engine::instance::Instance;
use crate::engine::rng::{Stream, stream_rng};
use crate::engine::spectrum::{self, SpectrumOptions};
use crate::framework::property::GridPoint;
use crate::framework::spec::Spec;
use std::collections::BTreeMap;

/// Every space, in the claims' report order.
pub fn all() -> Vec<&'static dyn Space> {
    vec![&LowerBound, &Upper, &SminExact, &SharpnessUpper, &PlInequality]
}

fn exact_sharpness(dec: &Decoded, theta: &[f64]) -> f64 {
    spectrum::sharpness(&dec.problem, theta, &SpectrumOptions::default()).unwrap_or(f64::NAN)
}

/// Common values of a decoded regression point.
fn data_values(dec: &Decoded) -> BTreeMap<String, f64> {
    let reg = dec.reg();
    let (depth, head) = (dec.problem.model.depth(), dec.problem.model.head_norm());
    BTreeMap::from([
        ("a".to_string(), reg.alignment().unwrap_or(f64::NAN)),
        ("lambda_max".to_string(), reg.lambda_max()),
        ("kappa".to_string(), reg.condition_number()),
        ("w_star_norm".to_string(), reg.w_star_norm()),
        ("lower_bound".to_string(), bounds::lower_bound(reg, depth, head)),
        ("s_min".to_string(), bounds::min_sharpness(reg, depth, head).value),
        ("s_bal".to_string(), bounds::balanced_sharpness(reg, depth, head)),
    ])
}

fn slack_of(point: &GridPoint) -> f64 {
    point.0.get("rel").and_then(|v| v.as_f64()).unwrap_or(1e-9)
}

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

/// mc.smin.exact: minimise S/S_min over data and the whole minimiser set; at every data point
/// the constructed minimiser must attain S_min.
pub struct SminExact;

impl SminExact {
    /// (value, violated, S, claimed, S of the constructed minimiser).
    fn measure(
        dec: &Decoded,
        target: Target<'_>,
        slack: f64,
        exact: bool,
    ) -> Option<(f64, bool, f64, f64, f64)> {
        let theta = dec.theta.as_ref()?;
        let reg = dec.reg();
        let model = &dec.problem.model;
        let (depth, head) = (model.depth(), model.head_norm());
        let s_min = bounds::min_sharpness(reg, depth, head).value;
        let claimed = match target {
            Target::Control("lb_attained") => bounds::lower_bound(reg, depth, head),
            Target::Control("tightened") => 1.01 * s_min,
            _ => s_min,
        };
        let constructed = init::min_sharpness_minimizer(model, reg, &mut stream_rng(0, Stream::Minimizer));
        let sharp = |t: &[f64]| {
            if exact { exact_sharpness(dec, t) } else { bounds::minimizer_sharpness(&dec.problem, t) }
        };
        let (s, s_c) = (sharp(theta), sharp(&constructed));
        let t = s / claimed;
        let err = (s_c - claimed).abs() / claimed;
        // Attainment enters only when it fails (then the value drops below 1 − its excess).
        let value = if err > slack { t.min(1.0 - (err - slack)) } else { t };
        Some((value, t < 1.0 - slack || err > slack, s, claimed, s_c))
    }
}

impl Space for SminExact {
    fn id(&self) -> &'static str {
        "mc.smin.exact"
    }
    fn goal(&self) -> Goal {
        Goal::MinimiseTightness
    }
    fn description(&self) -> &'static str {
        "Σ's spectrum (log scale, κ ≤ the grid's κ_max), w* direction and norm (grid range), residual head p; \
         the whole minimiser set (W_2..W_L free, W_1 fitted plus its free part); (architecture, d, L ≥ 2) from the grid; \
         tightness S/S_min, and the constructed minimiser must attain S_min"
    }
    fn controls(&self) -> &'static [&'static str] {
        &["lb_attained", "tightened"]
    }
    fn known(&self) -> Option<Known> {
        Some(Known {
            value: 1.0,
            provenance: "derived (mc.smin.exact): S_min = 2·min_r λ_max(rΣ + (L−1)(‖p‖²/r)^(1/(L−1))Σ^(1/2)w*w*ᵀΣ^(1/2)) \
                         is the minimum over all global minimisers"
                .into(),
            attained: "the rank-one aligned minimiser with ‖a_1‖² = r*, at every data point".into(),
        })
    }
    fn start(&self, spec: &Spec, point: &GridPoint, seed: u64, _target: Target<'_>) -> Option<Start> {
        regression::start(spec, point, seed, Network::Minimizers, slack_of(point))
    }
    fn evaluate(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Score> {
        let dec = regression::decode(Shape::of(&start.discrete), Network::Minimizers, x)?;
        let (value, violated, ..) = Self::measure(&dec, target, start.slack, false)?;
        Some(Score { value, violated })
    }
    fn describe(&self, start: &Start, x: &[f64], target: Target<'_>) -> BTreeMap<String, f64> {
        let Some(dec) = regression::decode(Shape::of(&start.discrete), Network::Minimizers, x) else {
            return BTreeMap::new();
        };
        let mut v = data_values(&dec);
        if let Some((value, _, s, claimed, s_c)) = Self::measure(&dec, target, start.slack, true) {
            v.insert("tightness_exact".into(), value);
            v.insert("sharpness_exact".into(), s);
            v.insert("claimed_minimum".into(), claimed);
            v.insert("s_constructed".into(), s_c);
        }
        v
    }
    fn instance(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Instance> {
        let dec = regression::decode(Shape::of(&start.discrete), Network::Minimizers, x)?;
        regression::instance(dec, self.id(), &target.name(), start)
    }
}

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
