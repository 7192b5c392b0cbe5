//! mc.underdetermined (derived; the paper's Figure 6 setting): with n < d, Σ is singular and S_min
//! depends on w* only through Σ^{1/2}w*, so the bound computed with the minimum-norm w* holds for
//! every interpolating minimiser (w_prod = w* + z, Xz = 0):
//! S(θ) ≥ S_min(Σ^{1/2}w*) ≥ LB(w*) = 2L·(w*ᵀΣw*/‖w*‖²)·‖w*‖^{2−2/L}·‖p‖^{2/L}.
//! Instances: paper-style data with n < d, minimisers of the interpolator w* + z (z a random null
//! vector of X) of every kind, exact sharpness; tightness S/S_min. Control: the bound evaluated
//! at 2w* (not an interpolator: Σ^{1/2}·2w* ≠ Σ^{1/2}w*), violated at the flattest interpolators.

use super::setup;
use crate::engine::bounds;
use crate::engine::data;
use crate::engine::init;
use crate::engine::instance::Instance;
use crate::engine::linalg;
use crate::engine::model::Dln;
use crate::engine::objective::{Objective, Regression};
use crate::engine::problem::Problem;
use crate::engine::rng::{self, Stream, stream_rng};
use crate::engine::spectrum::{self, SpectrumOptions};
use crate::framework::margins::Margins;
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param};

pub struct Underdetermined;

const PARAMS: [Param; 8] = [
    setup::DATA_PARAMS[0],
    Param::positive("n_ratio", "n = max(1, ⌊n_ratio·d⌋) samples, < d"),
    setup::DATA_PARAMS[1],
    setup::DATA_PARAMS[2],
    Param::choice("minimizer", &["balanced", "random", "smin"], "kind of interpolating minimiser"),
    Param::positive("null_scale", "‖z‖/‖w*‖ of the null-space component of the interpolator"),
    Param::positive("rel", "relative slack for rounding"),
    Param::positive("excess_tol", "largest excess risk of a point called a minimiser"),
];

#[allow(clippy::type_complexity)]
fn build(point: &GridPoint, seed: u64) -> Result<(Problem, Vec<f64>, data::Dataset), ClaimError> {
    let d = point.usize("d");
    let n = ((point.f64("n_ratio") * d as f64).floor() as usize).max(1);
    if n >= d {
        return Err(ClaimError(format!("grid: n = {n} must be < d = {d} (underdetermined)")));
    }
    let ds = data::paper(n, 0, d, 0.5, false, seed).train;
    let reg = Regression::from_data(ds.x.as_ref(), &ds.y)?;
    let model = match point.str("architecture") {
        "mlp" => Dln::mlp(d, point.usize("depth")),
        _ => Dln::residual(
            &init::projection(d, &mut stream_rng(seed, Stream::Projection)),
            point.usize("depth"),
        ),
    };
    // z: a random vector in null(X), ‖z‖ = null_scale·‖w*‖.
    let mut rng = stream_rng(seed, Stream::Minimizer);
    let mut z = rng::normals(&mut rng, d);
    let sigma = reg.sigma_mat();
    let (vals, vecs) = linalg::sym_eigen(sigma.as_ref());
    let cutoff = 1e-10 * vals[d - 1];
    for l in 0..d {
        if vals[l] > cutoff {
            let c: f64 = (0..d).map(|i| vecs[(i, l)] * z[i]).sum();
            for i in 0..d {
                z[i] -= c * vecs[(i, l)];
            }
        }
    }
    let zn = linalg::norm(&z);
    let target: Vec<f64> = reg
        .w_star
        .iter()
        .zip(&z)
        .map(|(w, zi)| w + point.f64("null_scale") * reg.w_star_norm() * zi / zn)
        .collect();
    let theta = match point.str("minimizer") {
        "balanced" => init::balanced(&model, &target),
        "random" => init::random_minimizer(&model, &target, 1.0 / (d as f64).sqrt(), &mut rng),
        _ => init::min_sharpness_minimizer_for(&model, &reg, &target, &mut rng),
    };
    Ok((Problem::new(model, Objective::Regression(reg)).expect("shapes agree"), theta, ds))
}

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        DoubledWStar = "doubled_w_star",
    }
}

impl ClaimCode for Underdetermined {
    type Control = Control;

    fn id(&self) -> &'static str {
        "mc.underdetermined"
    }
    fn params(&self) -> &'static [Param] {
        &PARAMS
    }
    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let (problem, theta, _) = build(point, seed)?;
        let reg = setup::regression(&problem);
        let (depth, head) = (problem.model.depth(), problem.model.head_norm());
        let w = linalg::to_row_major(problem.model.end_to_end(&theta).as_ref());
        let excess = reg.excess(&w);
        let s = spectrum::sharpness(&problem, &theta, &SpectrumOptions::default())?;
        let s_min = bounds::min_sharpness(reg, depth, head).value;
        let lb = bounds::lower_bound(reg, depth, head);
        let bound = if case == Case::Control(Control::DoubledWStar) {
            let mut r2 = reg.clone();
            r2.w_star.iter_mut().for_each(|x| *x *= 2.0);
            bounds::min_sharpness(&r2, depth, head).value
        } else {
            s_min
        };
        let mut checks = Margins::default();
        checks.within("a minimiser (excess risk)", excess, point.f64("excess_tol"));
        checks.le("LB ≤ S_min", lb, s_min, point.f64("rel"));
        Ok(checks
            .fold(Measurement::from_tightness(s / bound, point.f64("rel")))
            .value("sharpness", s)
            .value("s_min", s_min)
            .value("lower_bound", lb)
            .value("excess_risk", excess)
            .value("w_prod_norm_over_w_star_norm", linalg::norm(&w) / reg.w_star_norm())
            .value("sigma_rank", reg.rank as f64))
    }
    fn instance(&self, point: &GridPoint, seed: u64, _case: Case<Control>) -> Option<Instance> {
        let (problem, theta, ds) = build(point, seed).ok()?;
        Some(setup::instance(&problem, theta, ds, self.id(), seed, point))
    }
}
