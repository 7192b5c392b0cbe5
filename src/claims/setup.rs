//! Instance construction shared by the Marion & Chizat claims: data with a prescribed
//! covariance, the two architectures, and global minimisers of every kind.

use crate::engine::data::Dataset;
use crate::engine::init;
use crate::engine::instance::Instance;
use crate::engine::model::Dln;
use crate::engine::objective::Regression;
use crate::engine::problem::Problem;
use crate::engine::rng::{Stream, stream_rng};
use crate::engine::train::{self, GfOptions, Outcome, Stop};
use crate::framework::property::{ClaimError, GridPoint, Param};
use crate::io::recipe::{Arch, DataRecipe, ProblemBuilder, WDirection};
use std::collections::BTreeMap;

/// Grid parameters of a regression instance (data and architecture).
pub const DATA_PARAMS: [Param; 6] = [
    Param::choice(
        "architecture",
        &["mlp", "residual"],
        "MLP (W_L is 1×d) or residual network with fixed unit p",
    ),
    Param::int("d", 1, "input dimension"),
    Param::int("depth", 1, "number of trained weight matrices L"),
    Param::positive("kappa", "condition number κ of Σ (geometric spectrum from 1 down to 1/κ)")
        .at_least(1.0)
        .at_most(1e12),
    Param::choice("direction", &["top", "bottom", "random"], "direction of w* among Σ's eigenvectors"),
    Param::positive("w_star_norm", "‖w*‖"),
];

/// ‖p‖ of the residual head, for the claims whose bound carries the factor ‖p‖^{2/L} (the
/// paper's p is a unit vector; the grids also take ‖p‖ ≠ 1 so that the factor is seen). Read by
/// [`builder`] when the claim declares it; 1 otherwise.
pub const HEAD_NORM_PARAM: Param = Param::positive(
    "head_norm",
    "‖p‖ of the residual head: p = ‖p‖·(a random unit vector); no effect on the MLP",
)
.at_least(1e-3)
.at_most(1e3);

/// [`DATA_PARAMS`] followed by `extra` (for a claim's `params()`).
pub fn data_params(extra: &[Param]) -> Vec<Param> {
    DATA_PARAMS.iter().chain(extra).copied().collect()
}

/// The minimiser kinds of mc.thm1.* and mc.hessian_at_minimizer.
pub const MINIMIZER_PARAM: Param = Param::choice(
    "minimizer",
    &["balanced", "random", "smin", "rescaled", "trained"],
    "balanced rank-one; random unbalanced; the S_min-attaining one; balanced with W_1·3, W_2/3; the limit of gradient flow from a perturbed balanced point",
);

/// The typed builder of the point: data with Σ = Q diag(geometric, Λ = 1, κ) Qᵀ, w* as asked,
/// n = 2d + 1 samples, R_min = 0.1, and the point's architecture, depth and (when the claim
/// declares [`HEAD_NORM_PARAM`]) ‖p‖.
pub fn builder(point: &GridPoint) -> ProblemBuilder {
    let d = point.usize("d");
    ProblemBuilder {
        architecture: point.choice::<Arch>("architecture"),
        d,
        depth: point.usize("depth"),
        data: DataRecipe::Spectrum {
            n: 2 * d + 1,
            kappa: point.f64("kappa"),
            direction: point.choice::<WDirection>("direction"),
            w_star_norm: point.f64("w_star_norm"),
            risk_min: 0.1,
        },
        head_norm: point.0.get("head_norm").and_then(|v| v.as_f64()).unwrap_or(1.0),
    }
}

/// The network of the point (residual: p a random unit vector from the seed).
pub fn model(point: &GridPoint, seed: u64) -> Dln {
    builder(point).model(seed)
}

/// The regression problem of the point.
pub fn problem(point: &GridPoint, seed: u64) -> Result<(Problem, Dataset), ClaimError> {
    let builder = builder(point);
    builder.validate().map_err(|e| ClaimError(e.to_string()))?;
    Ok(builder.problem(seed)?)
}

/// The regression statistics of a problem built by [`problem`].
pub fn regression(problem: &Problem) -> &Regression {
    problem.objective.regression().expect("regression objective")
}

/// A global minimiser of the given kind. `Ok(None)` when training did not converge.
pub fn minimizer(problem: &Problem, kind: &str, seed: u64) -> Result<Option<Vec<f64>>, ClaimError> {
    let reg = regression(problem);
    let model = &problem.model;
    let mut rng = stream_rng(seed, Stream::Minimizer);
    Ok(Some(match kind {
        "balanced" => init::balanced(model, &reg.w_star),
        "random" => init::random_minimizer(model, &reg.w_star, 1.0 / (reg.d as f64).sqrt(), &mut rng),
        "smin" => init::min_sharpness_minimizer(model, reg, &mut rng),
        // L = 1 has no W_2: the family is the single (balanced) minimiser.
        "rescaled" if model.depth() < 2 => init::balanced(model, &reg.w_star),
        "rescaled" => init::rescale_first_two(model, &init::balanced(model, &reg.w_star), 3.0),
        "trained" => {
            if model.depth() < 2 {
                // L = 1: the minimiser is unique; training adds nothing.
                return Ok(Some(init::balanced(model, &reg.w_star)));
            }
            let mut theta = init::balanced(model, &reg.w_star);
            let scale = crate::engine::linalg::norm(&theta) / (theta.len() as f64).sqrt();
            let noise = init::gaussian(model, 0.3 * scale, &mut stream_rng(seed, Stream::Init));
            crate::engine::linalg::axpy(&mut theta, 1.0, &noise);
            // Gradient flow (adaptive: no step-size instability) until the excess risk has
            // fallen by 1e-8, then W_1 is corrected onto the minimiser set exactly (at
            // ill-conditioned or deep instances the last digits of training would take
            // ~κ·L·log(1/ε) steps).
            let mut opts = GfOptions::new(1e7, 1e-9);
            opts.max_steps = 100_000;
            let target = 1e-8 * reg.w_star_norm().powi(2) * reg.lambda_max();
            opts.stop = Stop { excess_loss: Some(target), grad_norm: None };
            let res = train::gradient_flow(problem, &theta, &opts);
            if res.outcome != Outcome::Converged {
                return Ok(None);
            }
            project_onto_minimizers(problem, res.theta)
        }
        other => return Err(ClaimError(format!("unknown minimizer kind `{other}`"))),
    }))
}

/// The instance file of (problem, θ), with provenance.
pub fn instance(
    problem: &Problem,
    theta: Vec<f64>,
    data: Dataset,
    claim: &str,
    seed: u64,
    point: &GridPoint,
) -> Instance {
    let mut meta = BTreeMap::new();
    meta.insert("property".to_string(), claim.to_string());
    meta.insert("seed".to_string(), seed.to_string());
    meta.insert("point".to_string(), crate::io::yaml::to_string(point).trim_end().replace('\n', "; "));
    Instance { data, model: problem.model.clone(), theta, activation: Default::default(), meta }
}

/// The nearest point with the same W_2..W_L on the minimiser set: with a_1 the row above W_1
/// and w the current end-to-end vector, W_1 ← W_1 + a_1ᵀ(w* − w)ᵀ/‖a_1‖², so that a_1W_1 = w*ᵀ
/// exactly (up to rounding). Requires a_1 ≠ 0.
pub fn project_onto_minimizers(problem: &Problem, mut theta: Vec<f64>) -> Vec<f64> {
    let reg = regression(problem);
    let model = &problem.model;
    let a1 = model.above(0, &theta);
    let a1: Vec<f64> = (0..a1.ncols()).map(|j| a1[(0, j)]).collect();
    let aa = crate::engine::linalg::dot(&a1, &a1);
    let w = crate::engine::linalg::to_row_major(model.end_to_end(&theta).as_ref());
    let d = reg.d;
    let range = model.param_range(0).expect("W_1 trained");
    let w1 = &mut theta[range];
    for (i, ai) in a1.iter().enumerate() {
        for j in 0..d {
            w1[i * d + j] += ai * (reg.w_star[j] - w[j]) / aa;
        }
    }
    theta
}
