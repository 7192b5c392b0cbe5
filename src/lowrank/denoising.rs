//! Noiseless denoising instances: targets of a given spectrum and the fixed initial direction.

use crate::engine::data::orthonormal_columns;
use crate::engine::problem::Problem;
use crate::engine::rng::{self, Rng};
use faer::Mat;

/// A target Y = U diag(σ) Vᵀ (d_out × d_in) with Haar-random orthonormal U, V; returns (Y, U, V).
pub fn target_with_spectrum(
    d_out: usize,
    d_in: usize,
    sigma: &[f64],
    rng: &mut Rng,
) -> (Mat<f64>, Mat<f64>, Mat<f64>) {
    let r = sigma.len();
    let u = orthonormal_columns(d_out, r, rng);
    let v = orthonormal_columns(d_in, r, rng);
    let y = Mat::from_fn(d_out, d_in, |i, j| (0..r).map(|m| u[(i, m)] * sigma[m] * v[(j, m)]).sum());
    (y, u, v)
}

/// A noiseless denoising instance for small-initialisation dynamics: the problem
/// ½‖A − Y‖²_F on Dln::deep(dim, width, dim, depth) with Y = U diag(σ) Vᵀ ([`target_with_spectrum`],
/// drawn from the seed's `Data` stream), and a fixed standard Gaussian direction Z (the seed's
/// `Init` stream): the initialisation at scale ε is θ_0 = εZ, so runs at different ε differ only
/// in scale.
pub struct DenoisingInstance {
    pub problem: Problem,
    pub direction: Vec<f64>,
    /// Singular vectors of Y (columns), in the order of σ.
    pub u: Mat<f64>,
    pub v: Mat<f64>,
}

pub fn denoising_instance(
    dim: usize,
    width: usize,
    depth: usize,
    sigma: &[f64],
    seed: u64,
) -> DenoisingInstance {
    let mut data = rng::stream_rng(seed, rng::Stream::Data);
    let (y, u, v) = target_with_spectrum(dim, dim, sigma, &mut data);
    let problem = Problem::new(
        crate::engine::model::Dln::deep(dim, width, dim, depth),
        crate::engine::objective::Objective::Matrix { target: y },
    )
    .expect("square shapes match");
    let direction = rng::normals(&mut rng::stream_rng(seed, rng::Stream::Init), problem.num_params());
    DenoisingInstance { problem, direction, u, v }
}

/// σ_k = σ_max·ratio^{−(k−1)}, k = 1..rank.
pub fn geometric_spectrum(sigma_max: f64, ratio: f64, rank: usize) -> Vec<f64> {
    (0..rank).map(|k| sigma_max * ratio.powi(-(k as i32))).collect()
}
