//! The lazy (kernel) regime: NTK-scaled initialisation, its kernel scale κ and the
//! infinite-width linear model.

use crate::engine::problem::Problem;
use crate::engine::rng::{self, Rng};
use faer::{Mat, MatRef};

/// NTK-scaled ("fan-in") Gaussian initialisation: entries of W_ℓ ~ N(0, 1/cols_ℓ) (1/d_in for
/// W_1, 1/w for the others), so that the neural tangent kernel has mean κ·id with
/// κ = 1 + (L−1)w/d_in (see [`ntk_scale`]).
pub fn ntk_init(problem: &Problem, rng: &mut Rng) -> Vec<f64> {
    let model = &problem.model;
    let mut theta = vec![0.0; model.num_params()];
    for (k, layer) in model.layers().iter().enumerate() {
        if let Some(range) = model.param_range(k) {
            let std = 1.0 / (layer.cols as f64).sqrt();
            for t in &mut theta[range] {
                *t = std * rng::normal(rng);
            }
        }
    }
    theta
}

/// κ = E[Θ]/id for [`ntk_init`] on Dln::deep(d_in, w, ·, L): the term of layer ℓ is
/// E[a_ℓa_ℓᵀ] ⊗ E[B_ℓᵀB_ℓ] = I ⊗ (w/d_in)I for ℓ ≥ 2 and I ⊗ I for ℓ = 1.
/// The infinite-width dynamics are dA/dτ = −∇C(A) in the time τ = κt.
pub fn ntk_scale(d_in: usize, width: usize, depth: usize) -> f64 {
    1.0 + (depth as f64 - 1.0) * width as f64 / d_in as f64
}

/// The end-to-end trajectory of the infinite-width linear model dA/dτ = −P_Ω(A − Y) (the
/// kernel κ·id in time τ = κt): A(τ) = A(0) + (1 − e^{−τ})P_Ω(Y − A(0)); unobserved entries
/// (mask 0) never move. `mask` = None for denoising (all entries observed).
pub fn linear_model(
    a0: MatRef<'_, f64>,
    target: MatRef<'_, f64>,
    mask: Option<MatRef<'_, f64>>,
    tau: f64,
) -> Mat<f64> {
    let f = 1.0 - (-tau).exp();
    Mat::from_fn(a0.nrows(), a0.ncols(), |i, j| {
        let m = mask.map_or(1.0, |m| m[(i, j)]);
        a0[(i, j)] + f * m * (target[(i, j)] - a0[(i, j)])
    })
}
