//! jgshg.schatten: min{Σ_ℓ‖W_ℓ‖²_F : W_L⋯W_1 = A} = L·Σ_iσ_i(A)^{2/L} when rank A ≤ w.
//!
//! One instance: a random A (d_out × d_in, rank r, Gaussian factors) and
//! 1. a balanced factorisation through width w: its product must reproduce A and its Σ‖W_ℓ‖²
//!    equal the bound, both to `rel`;
//! 2. `gauge_moves` random gauge moves G_ℓW_ℓG_{ℓ−1}⁻¹ of it (G = Q_a e^{c·Z} Q_bᵀ, c =
//!    `gauge_scale`): none may go below the bound (the smallest ratio is reported);
//! 3. Σ‖W_ℓ‖² minimised over the gauge ([`lowrank::gauge_descent`]) from each of the moved
//!    factorisations: it must return to the bound within `gauge_rel`.
//!
//! Singular values below `cutoff`·σ_max are dropped before taking powers 2/L.
//! Items 1 and 3 are identities to tolerance (pass/fail, the largest error/tolerance ratio is
//! reported); the tightness is item 2's smallest ratio Σ‖W‖²/bound (over 1 − rel), ≥ 1.

use crate::engine::rng::{self, Stream, stream_rng};
use crate::framework::margins::Margins;
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param};
use crate::lowrank;
use faer::Mat;

pub struct Schatten;

const PARAMS: &[Param] = &[
    Param::int("depth", 2, "number of layers L"),
    Param::int("width", 1, "hidden width w"),
    Param::int("d_in", 1, "input dimension"),
    Param::int("d_out", 1, "output dimension"),
    Param::int("rank", 1, "rank of the random target A (≤ min(d_in, d_out))"),
    Param::int("gauge_moves", 1, "number of random gauge moves"),
    Param::positive("gauge_scale", "log-scale c of the random gauge matrices Q_a e^{cZ} Q_bᵀ"),
    Param::positive("rel", "relative tolerance of the identity and of the reproduction of A"),
    Param::positive("gauge_rel", "relative excess over the bound allowed after minimising over the gauge"),
    Param::positive("cutoff", "singular values below cutoff·σ_max are treated as zero"),
];

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        WrongExponent = "wrong_exponent",
        NarrowWidth = "narrow_width",
    }
}

impl ClaimCode for Schatten {
    type Control = Control;

    fn id(&self) -> &'static str {
        "jgshg.schatten"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let depth = point.usize("depth");
        let (d_in, d_out) = (point.usize("d_in"), point.usize("d_out"));
        let rank = point.usize("rank");
        let mut width = point.usize("width");
        let (rel, gauge_rel, cutoff) = (point.f64("rel"), point.f64("gauge_rel"), point.f64("cutoff"));
        if rank > d_in.min(d_out) {
            return Err(ClaimError(format!("rank {rank} exceeds min(d_in, d_out) = {}", d_in.min(d_out))));
        }
        match case {
            Case::Control(Control::NarrowWidth) => {
                if rank < 2 {
                    return Err(ClaimError("narrow_width needs rank ≥ 2".into()));
                }
                width = rank - 1;
            }
            Case::Claim | Case::Control(Control::WrongExponent) => {
                if width < rank && depth > 1 {
                    return Err(ClaimError(format!(
                        "hidden width {width} < rank {rank}: the claim's hypothesis fails"
                    )));
                }
            }
        }
        let mut data = stream_rng(seed, Stream::Data);
        let left = rng::normals(&mut data, d_out * rank);
        let right = rng::normals(&mut data, rank * d_in);
        let a = Mat::from_fn(d_out, d_in, |i, j| {
            (0..rank).map(|m| left[i * rank + m] * right[m * d_in + j]).sum()
        });
        let sv = lowrank::singular_values(a.as_ref());
        // The claimed exponent 2/L, or 1/L for the wrong_exponent control.
        let exponent = match case {
            Case::Control(Control::WrongExponent) => 1.0 / depth as f64,
            _ => 2.0 / depth as f64,
        };
        let smax = sv.first().copied().unwrap_or(0.0);
        let bound =
            depth as f64 * sv.iter().filter(|&&x| x > cutoff * smax).map(|x| x.powf(exponent)).sum::<f64>();

        // A balanced factorisation through width w (of the best rank-w approximation when
        // w < rank A, as in the narrow_width control).
        let mut minim = stream_rng(seed, Stream::Minimizer);
        let (u, s, v) = lowrank::truncated_svd(a.as_ref(), cutoff, width);
        let balanced = lowrank::balanced_factors(u.as_ref(), &s, v.as_ref(), depth, width, &mut minim);
        let a_norm = a.norm_l2();
        let repro = (lowrank::product(&balanced) - &a).norm_l2() / a_norm;
        let value = lowrank::sum_sq_norms(&balanced);
        let identity_err = (value - bound).abs() / bound;

        // Gauge moves: ratio to the bound, and minimisation back from each.
        let mut ratio_min = f64::INFINITY;
        let mut descent_excess: f64 = 0.0;
        let mut descent_iters = 0usize;
        let mut descent_repro: f64 = 0.0;
        if depth > 1 {
            let mut moves = stream_rng(seed, Stream::Search);
            let hidden = balanced[0].nrows();
            for _ in 0..point.usize("gauge_moves") {
                let gauges: Vec<lowrank::Gauge> = (1..depth)
                    .map(|_| lowrank::random_gauge(hidden, point.f64("gauge_scale"), &mut moves))
                    .collect();
                let moved = lowrank::apply_gauge(&balanced, &gauges);
                ratio_min = ratio_min.min(lowrank::sum_sq_norms(&moved) / bound);
                let back = lowrank::gauge_descent(&moved, bound, 0.1 * gauge_rel, 100_000);
                descent_excess = descent_excess.max(back.value / bound - 1.0);
                descent_iters = descent_iters.max(back.iterations);
                descent_repro = descent_repro.max((lowrank::product(&back.weights) - &a).norm_l2() / a_norm);
            }
        }
        let mut checks = Margins::default();
        checks.within("balanced factorisation reproduces A", repro, rel);
        checks.within("balanced Σ‖W‖² = bound", identity_err, rel);
        checks.margin("gauge moves stay above the bound", ratio_min / (1.0 - rel));
        checks.within("gauge descent returns to the bound", descent_excess.abs(), gauge_rel);
        checks.within("gauge descent keeps the product", descent_repro, gauge_rel);
        Ok(checks
            .measurement()
            .value("bound", bound)
            .value("balanced_sum_sq", value)
            .value("identity_rel_error", identity_err)
            .value("reproduction_rel_error", repro)
            .value("gauge_ratio_min", ratio_min)
            .value("gauge_descent_excess", descent_excess)
            .value("gauge_descent_iterations", descent_iters as f64)
            .value("gauge_descent_reproduction", descent_repro)
            .value("numerical_rank", s.len() as f64))
    }
}
