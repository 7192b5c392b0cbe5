//! mc.gd.stability (Marion & Chizat, the learning-rate claim of Figure 2; argument: linear
//! stability). If gradient descent with step η converges to a minimiser, that minimiser has
//! S ≤ 2/η; since every minimiser has S ≥ S_min ≥ LB (Theorem 1), no run with η > 2/S_min
//! converges, and the largest workable η is ≈ 2/S_min ≤ 2/LB = 1/(La‖w*‖^{2−2/L}).
//!
//! One instance: the paper's data generator (n samples in R^d, ‖w*‖ = 1), an MLP (Gaussian
//! init of std `init_scale`) or a residual network (s = `init_scale`), and `steps` steps of GD
//! at η = `eta_factor`·2/S_min. A run *converges* when its final excess risk is
//! ≤ `converged_excess`.
//! - converged: tightness (2/η)/S (≥ 1 holds, 1 is exactly at the edge of stability); a
//!   converged run also has S ≥ S_min, hence η·S/2 ∈ [eta_factor, 1]: the clamp.
//! - not converged (diverged or oscillating) with eta_factor > 1: holds, as predicted.
//! - not converged with eta_factor ≤ 1: not converged (outside the claim's regime).
//!
//! Controls: `tightened` (S ≤ 1/η, violated by every converged run with eta_factor > 1/2) and
//! `converges_above` (asserts that GD converges at the given η; violated above the threshold).

use crate::engine::bounds;
use crate::engine::instance::Instance;
use crate::engine::spectrum::{self, SpectrumOptions};
use crate::engine::train::{self, GdOptions, Outcome};
use crate::framework::margins::{self, Margins};
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param, Status};
use crate::io::recipe::{Arch, DataRecipe, Recipe, TrainRecipe, WeightsRecipe};

/// The claim.
pub struct McGdStability;

const PARAMS: &[Param] = &[
    Param::choice(
        "architecture",
        &["mlp", "residual"],
        "MLP (Gaussian init) or residual network (W_k = I + (s/√(Ld))N_k, random unit p)",
    ),
    Param::int("depth", 2, "number of trained weight matrices L"),
    Param::int("d", 1, "input dimension"),
    Param::int("n", 1, "training samples of the paper's generator"),
    Param::float("init_scale", "Gaussian std (MLP) or residual scale s (≥ 0) of the initialisation")
        .at_least(0.0),
    Param::positive("eta_factor", "η in units of the threshold 2/S_min"),
    Param::int("steps", 1, "gradient-descent steps"),
    Param::positive("converged_excess", "a run converged when its final excess risk R − R_min is ≤ this"),
    Param::positive(
        "rel",
        "relative slack on η·S/2 ≤ 1 and S ≥ S_min at the last point (it approximates its limit)",
    ),
];

/// What one run gave.
struct RunResult {
    recipe: Recipe,
    eta: f64,
    eta_factor: f64,
    s_min: f64,
    lower_bound: f64,
    outcome: Outcome,
    excess: f64,
    sharpness: Option<f64>,
}

impl McGdStability {
    fn recipe(point: &GridPoint) -> Result<Recipe, ClaimError> {
        // ≥ 0 by the schema (`at_least(0.0)`), checked when the spec is validated.
        let scale = point.f64("init_scale");
        let (architecture, weights) = match point.str("architecture") {
            "mlp" => (Arch::Mlp, WeightsRecipe::Gaussian { std: scale }),
            _ => (Arch::Residual, WeightsRecipe::Residual { s: scale }),
        };
        Ok(Recipe {
            architecture,
            d: point.usize("d"),
            depth: point.usize("depth"),
            data: DataRecipe::Paper { n: point.usize("n"), noise: 1.0, normalize: true },
            weights,
            train: None,
        })
    }

    /// Builds the instance, runs GD at η = eta_factor·2/S_min, measures the last point.
    fn run(point: &GridPoint, seed: u64) -> Result<RunResult, ClaimError> {
        let mut recipe = Self::recipe(point)?;
        let (problem, theta0, _) = recipe.build(seed)?;
        let reg = problem.objective.regression().expect("recipes build regressions");
        let (depth, head) = (problem.model.depth(), problem.model.head_norm());
        let s_min = bounds::min_sharpness(reg, depth, head).value;
        let lower_bound = bounds::lower_bound(reg, depth, head);
        if s_min.is_nan() || s_min <= 0.0 {
            return Err(ClaimError(format!("S_min = {s_min}: w* = 0, no threshold")));
        }
        let eta_factor = point.f64("eta_factor");
        let eta = eta_factor * 2.0 / s_min;
        let steps = point.usize("steps");
        let res = train::gradient_descent(&problem, &theta0, &GdOptions::new(eta, steps));
        let (excess, sharpness) = if res.outcome == Outcome::Diverged {
            (f64::NAN, None)
        } else {
            let mut ws = problem.workspace();
            let excess = problem.at(&mut ws, &res.theta).excess();
            let s = spectrum::sharpness(&problem, &res.theta, &SpectrumOptions::default())?;
            (excess, Some(s))
        };
        recipe.train = Some(TrainRecipe { eta, steps });
        Ok(RunResult { recipe, eta, eta_factor, s_min, lower_bound, outcome: res.outcome, excess, sharpness })
    }
}

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        Tightened = "tightened",
        ConvergesAbove = "converges_above",
    }
}

impl ClaimCode for McGdStability {
    type Control = Control;

    fn id(&self) -> &'static str {
        "mc.gd.stability"
    }

    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let r = Self::run(point, seed)?;
        let rel = point.f64("rel");
        let diverged = r.outcome == Outcome::Diverged;
        let converged = !diverged && r.excess <= point.f64("converged_excess");
        let threshold = 2.0 / r.s_min;
        let with_values = |m: Measurement| {
            let mut m = m
                .value("eta", r.eta)
                .value("eta_factor", r.eta_factor)
                .value("s_min", r.s_min)
                .value("lower_bound", r.lower_bound)
                .value("eta_threshold", threshold)
                .value("eta_lower_bound", 2.0 / r.lower_bound)
                .value("excess", r.excess)
                .value("diverged", if diverged { 1.0 } else { 0.0 })
                .value("converged", if converged { 1.0 } else { 0.0 });
            if let Some(s) = r.sharpness {
                m = m
                    .value("sharpness", s)
                    .value("edge_ratio", r.eta * s / 2.0)
                    .value("s_over_s_min", s / r.s_min);
            }
            m
        };
        let how = if diverged { "diverged" } else { "did not converge" };
        // Theorem 1 in closed form: 2/S_min ≤ 2/LB.
        if !margins::le(r.lower_bound, r.s_min, 1e-12) {
            return Ok(with_values(Measurement::with_status(Status::Violated))
                .note("S_min < LB: the threshold 2/S_min exceeds 1/(La‖w*‖^{2−2/L})"));
        }
        let m = match case {
            Case::Claim | Case::Control(Control::Tightened) => {
                let bound = match case {
                    Case::Claim => 2.0 / r.eta,
                    _ => 1.0 / r.eta,
                };
                match (converged, r.sharpness) {
                    (true, Some(s)) => {
                        let mut checks = Margins::default();
                        checks.le("converged to S ≥ S_min (Theorem 1)", r.s_min, s, rel);
                        checks.fold(Measurement::from_tightness(bound / s, rel))
                    }
                    _ if r.eta_factor > 1.0 && case == Case::Claim => Measurement::with_status(Status::Holds)
                        .note(format!("{how} at η > 2/S_min, as predicted")),
                    _ => Measurement::not_converged(format!(
                        "{how} in {} steps (final excess {:.3e})",
                        point.usize("steps"),
                        r.excess
                    )),
                }
            }
            Case::Control(Control::ConvergesAbove) => {
                if converged {
                    Measurement::with_status(Status::Holds)
                } else {
                    Measurement::with_status(Status::Violated).note(format!(
                        "asserted convergence at η = {:.4}·2/S_min, but GD {how}",
                        r.eta_factor
                    ))
                }
            }
        };
        Ok(with_values(m))
    }

    fn instance(&self, point: &GridPoint, seed: u64, _case: Case<Control>) -> Option<Instance> {
        let r = Self::run(point, seed).ok()?;
        r.recipe.instance(seed).ok()
    }
}
