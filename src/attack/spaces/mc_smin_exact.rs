//! mc.smin.exact (the exact S_min): S/S_min over data and the whole minimiser set.

use super::{data_values, exact_sharpness, slack_of};
use crate::attack::regression::{self, Decoded, Network, Shape};
use crate::attack::{Goal, Known, Score, Space, Start, Target};
use crate::engine::bounds;
use crate::engine::init;
use crate::engine::instance::Instance;
use crate::engine::rng::{Stream, stream_rng};
use crate::framework::property::GridPoint;
use crate::framework::spec::Spec;
use std::collections::BTreeMap;

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
