//! mc.thm1.unbounded (Theorem 1: no upper bound over the minimisers): S(c)/(c²S_∞) along the
//! rescaling W_1 → cW_1, W_2 → W_2/c, over data, the whole minimiser set and c.
//!
//! S_∞ = 2‖a_2‖²λ_max(Σ^(1/2)W_1ᵀW_1Σ^(1/2)) of the unscaled minimiser; the rescaled point must stay
//! a global minimiser (relative excess ≤ excess_tol). Sharpness in the search: the Gauss–Newton
//! form (exact at minimisers); off them (`rescale_w1_only`) the exact full Hessian.

use super::{data_values, exact_sharpness, slack_of};
use crate::attack::regression::{self, Decoded, Network, Shape};
use crate::attack::{Dim, Goal, Known, Score, Space, Start, Target};
use crate::engine::bounds;
use crate::engine::instance::Instance;
use crate::engine::linalg;
use crate::framework::property::GridPoint;
use crate::framework::spec::Spec;
use std::collections::BTreeMap;

pub struct Unbounded;

/// What one point measures.
struct Measured {
    value: f64,
    violated: bool,
    s: f64,
    s_inf: f64,
    c: f64,
    excess: f64,
}

impl Unbounded {
    /// The decoded minimiser (all but the last coordinate) and c (the last).
    fn decode(start: &Start, x: &[f64]) -> Option<(Decoded, f64)> {
        let (c, rest) = x.split_last()?;
        Some((regression::decode(Shape::of(&start.discrete), Network::Minimizers, rest)?, *c))
    }
    fn measure(dec: &Decoded, c: f64, target: Target<'_>, start: &Start, exact: bool) -> Option<Measured> {
        let theta = dec.theta.as_ref()?;
        let (reg, model) = (dec.reg(), &dec.problem.model);
        let a2 = model.above(1, theta).norm_l2().powi(2);
        let w1 = model.weight_mat(0, theta);
        let m = linalg::matmul_owned(w1.as_ref(), reg.sigma_sqrt().as_ref());
        let s_inf =
            2.0 * a2 * linalg::sym_max_eigenvalue(linalg::matmul_owned(m.transpose(), m.as_ref()).as_ref());
        let mut scaled = theta.clone();
        scaled[model.param_range(0)?].iter_mut().for_each(|x| *x *= c);
        let w1_only = target == Target::Control("rescale_w1_only");
        if !w1_only {
            scaled[model.param_range(1)?].iter_mut().for_each(|x| *x /= c);
        }
        let s = if exact || w1_only {
            exact_sharpness(dec, &scaled)
        } else {
            bounds::minimizer_sharpness(&dec.problem, &scaled)
        };
        let w = linalg::to_row_major(model.end_to_end(&scaled).as_ref());
        let excess = reg.excess(&w) / (reg.lambda_max() * reg.w_star_norm().powi(2));
        let growth = if target == Target::Control("growth_c3") { c.powi(3) } else { c * c };
        let t = s / (growth * s_inf);
        let tol = start.discrete.0.get("excess_tol").and_then(|v| v.as_f64()).unwrap_or(1e-20);
        // Leaving the minimiser set enters only when it happens (then the value drops below
        // 1 − its excess over the tolerance).
        let value = if excess > tol { t.min(1.0 - (excess - tol) / tol) } else { t };
        let violated = t < 1.0 - start.slack || excess > tol;
        (value.is_finite() && s_inf > 0.0).then_some(Measured { value, violated, s, s_inf, c, excess })
    }
}

impl Space for Unbounded {
    fn id(&self) -> &'static str {
        "mc.thm1.unbounded"
    }
    fn goal(&self) -> Goal {
        Goal::MinimiseTightness
    }
    fn description(&self) -> &'static str {
        "Σ's spectrum (log scale, κ ≤ the grid's κ_max), w* direction and norm (grid range), residual head p; \
         the whole minimiser set (W_2..W_L free, W_1 fitted plus its free part); the rescaling factor c (log \
         scale, the grid's range); (architecture, d, L ≥ 2) from the grid; tightness S(c)/(c²S_∞), the rescaled \
         point required to stay a global minimiser"
    }
    fn controls(&self) -> &'static [&'static str] {
        &["growth_c3", "rescale_w1_only"]
    }
    fn known(&self) -> Option<Known> {
        Some(Known {
            value: 1.0,
            provenance: "Theorem 1's rescaling argument (Marion & Chizat): K(c) = c²‖a_2‖²W_1ᵀW_1 + (terms independent of \
                         c) + c⁻²‖a_1‖²I ⪰ c²‖a_2‖²W_1ᵀW_1, so S(c) ≥ c²S_∞, and S(c)/(c²S_∞) → 1 as c → ∞"
                .into(),
            attained: "not at finite c (the c⁻² term is positive definite); approached as c grows or as W_1 dominates \
                       W_2..W_L in scale"
                .into(),
        })
    }
    fn start(&self, spec: &Spec, point: &GridPoint, seed: u64, _target: Target<'_>) -> Option<Start> {
        if point.usize("depth") < 2 {
            return None;
        }
        let mut s = regression::start(spec, point, seed, Network::Minimizers, slack_of(point))?;
        let (lo, hi) = crate::attack::grid_range(spec, "c")?;
        let dim = Dim::log("c", lo, hi);
        let c0 = point.0.get("c").and_then(|v| v.as_f64()).unwrap_or(lo);
        s.x0.push(dim.at(dim.unit(c0)));
        s.dims.push(dim);
        if let Some(t) = point.0.get("excess_tol") {
            s.discrete = s.discrete.clone().with("excess_tol", t.clone());
        }
        Some(s)
    }
    fn evaluate(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Score> {
        let (dec, c) = Self::decode(start, x)?;
        let m = Self::measure(&dec, c, target, start, false)?;
        Some(Score { value: m.value, violated: m.violated })
    }
    fn describe(&self, start: &Start, x: &[f64], target: Target<'_>) -> BTreeMap<String, f64> {
        let Some((dec, c)) = Self::decode(start, x) else {
            return BTreeMap::new();
        };
        let mut v = data_values(&dec);
        if let Some(m) = Self::measure(&dec, c, target, start, true) {
            v.insert("sharpness_exact".into(), m.s);
            v.insert("s_inf".into(), m.s_inf);
            v.insert("c".into(), m.c);
            v.insert("relative_excess_risk".into(), m.excess);
            v.insert("tightness_exact".into(), m.value);
        }
        v
    }
    fn instance(&self, start: &Start, x: &[f64], target: Target<'_>) -> Option<Instance> {
        let (mut dec, c) = Self::decode(start, x)?;
        let model = &dec.problem.model;
        let (r0, r1) = (model.param_range(0)?, model.param_range(1)?);
        let theta = dec.theta.as_mut()?;
        theta[r0].iter_mut().for_each(|x| *x *= c);
        if target != Target::Control("rescale_w1_only") {
            theta[r1].iter_mut().for_each(|x| *x /= c);
        }
        regression::instance(dec, self.id(), &target.name(), start)
    }
}
