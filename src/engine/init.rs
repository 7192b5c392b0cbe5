//! Parameter initialisations and constructed global minimisers (univariate networks).
//!
//! Minimisers satisfy (pᵀ)W_L⋯W_1 = w*ᵀ exactly (up to rounding); they are the instances of
//! mc.thm1.*, mc.smin.exact and mc.hessian_at_minimizer.

use crate::engine::bounds;
use crate::engine::linalg;
use crate::engine::model::{Architecture, Dln};
use crate::engine::objective::Regression;
use crate::engine::rng::{self, Rng};
use faer::Mat;

/// Small-scale Gaussian initialisation: every trained entry ~ N(0, std²).
pub fn gaussian(model: &Dln, std: f64, rng: &mut Rng) -> Vec<f64> {
    rng::normals(rng, model.num_params()).into_iter().map(|x| std * x).collect()
}

/// Residual initialisation W_k = I + (s/√(L·d))·N_k, N_k standard Gaussian (square layers).
pub fn residual(model: &Dln, s: f64, rng: &mut Rng) -> Vec<f64> {
    let depth = model.depth() as f64;
    let mut theta = vec![0.0; model.num_params()];
    for (k, layer) in model.layers().iter().enumerate() {
        let Some(range) = model.param_range(k) else {
            continue;
        };
        assert_eq!(layer.rows, layer.cols, "residual initialisation needs square layers");
        let scale = s / (depth * layer.cols as f64).sqrt();
        for (idx, t) in theta[range].iter_mut().enumerate() {
            let (i, j) = (idx / layer.cols, idx % layer.cols);
            *t = if i == j { 1.0 } else { 0.0 } + scale * rng::normal(rng);
        }
    }
    theta
}

/// The residual network's fixed output direction: a uniform random unit vector.
pub fn projection(d: usize, rng: &mut Rng) -> Vec<f64> {
    rng::unit_vector(rng, d)
}

/// The rank-one aligned minimiser W_k = c_k u_{k+1}u_kᵀ with u_1 = ŵ, u_{L+1} = p̂ (residual;
/// for the MLP W_L = c_L u_Lᵀ). `dirs` gives u_2..u_L (unit vectors, L−1 of them) and
/// `scales` c_1..c_L with ‖p‖·Π c_k = ‖w*‖.
pub fn rank_one(model: &Dln, w_star: &[f64], scales: &[f64], dirs: &[Vec<f64>]) -> Vec<f64> {
    let depth = model.depth();
    assert_eq!(scales.len(), depth);
    assert_eq!(dirs.len() + 1, depth);
    let wn = linalg::norm(w_star);
    let w_hat: Vec<f64> = w_star.iter().map(|x| x / wn).collect();
    let p_hat = head_direction(model);
    let mut us: Vec<Vec<f64>> = vec![w_hat];
    us.extend(dirs.iter().cloned());
    if let Some(p) = p_hat {
        us.push(p);
    }
    let mut weights = Vec::with_capacity(depth);
    for k in 0..depth {
        let top = k + 1 == depth;
        let w = if top && model.architecture() == Architecture::Mlp {
            Mat::from_fn(1, us[k].len(), |_, j| scales[k] * us[k][j])
        } else {
            let (out, inp) = (&us[k + 1], &us[k]);
            Mat::from_fn(out.len(), inp.len(), |i, j| scales[k] * out[i] * inp[j])
        };
        weights.push(w);
    }
    model.flatten(&weights)
}

/// p/‖p‖ for the residual network, `None` for the MLP.
fn head_direction(model: &Dln) -> Option<Vec<f64>> {
    match model.architecture() {
        Architecture::Residual => {
            let last = model.layers().last().unwrap();
            let crate::engine::model::LayerKind::Fixed(p) = &last.kind else { unreachable!() };
            let n = linalg::norm(p);
            Some(p.iter().map(|x| x / n).collect())
        }
        Architecture::Mlp => None,
        Architecture::General => {
            panic!("rank-one minimisers are defined for the MLP and residual networks")
        }
    }
}

/// The balanced rank-one minimiser: all c_k = (‖w*‖/‖p‖)^{1/L}, every u_k = ŵ (mc.thm1.upper).
pub fn balanced(model: &Dln, w_star: &[f64]) -> Vec<f64> {
    let depth = model.depth();
    let c = (linalg::norm(w_star) / model.head_norm()).powf(1.0 / depth as f64);
    let wn = linalg::norm(w_star);
    let w_hat: Vec<f64> = w_star.iter().map(|x| x / wn).collect();
    rank_one(model, w_star, &vec![c; depth], &vec![w_hat; depth - 1])
}

/// The minimiser attaining S_min (mc.smin.exact): c_1 = ‖w*‖/√r*, c_k = (√r*/‖p‖)^{1/(L−1)}
/// for k ≥ 2, intermediate directions drawn at random (S does not depend on them).
pub fn min_sharpness_minimizer(model: &Dln, reg: &Regression, rng: &mut Rng) -> Vec<f64> {
    min_sharpness_minimizer_for(model, reg, &reg.w_star, rng)
}

/// The same construction for another end-to-end target w with Σ^{1/2}w = Σ^{1/2}w* (an
/// interpolator when Σ is singular, mc.underdetermined): r* depends only on Σ^{1/2}w*, so the
/// minimiser of product w has the same sharpness S_min.
pub fn min_sharpness_minimizer_for(model: &Dln, reg: &Regression, target: &[f64], rng: &mut Rng) -> Vec<f64> {
    let depth = model.depth();
    let head = model.head_norm();
    let wn = linalg::norm(target);
    let dirs: Vec<Vec<f64>> = (1..depth).map(|_| rng::unit_vector(rng, reg.d)).collect();
    if depth == 1 {
        return rank_one(model, target, &[wn / head], &dirs);
    }
    let r = bounds::min_sharpness(reg, depth, head).r;
    let mut scales = vec![(r.sqrt() / head).powf(1.0 / (depth as f64 - 1.0)); depth];
    scales[0] = wn / r.sqrt();
    rank_one(model, target, &scales, &dirs)
}

/// A random, generally unbalanced minimiser: W_2..W_L drawn N(0, std²) (the residual head p is
/// fixed), a_1 = (pᵀ)W_L⋯W_2, then W_1 = a_1ᵀw*ᵀ/‖a_1‖² + (I − a_1ᵀa_1/‖a_1‖²)M, M random.
pub fn random_minimizer(model: &Dln, w_star: &[f64], std: f64, rng: &mut Rng) -> Vec<f64> {
    let d = w_star.len();
    let mut theta = gaussian(model, std, rng);
    let range0 = model.param_range(0).expect("W_1 is trained");
    let a1 = model.above(0, &theta);
    let a1: Vec<f64> = (0..a1.ncols()).map(|j| a1[(0, j)]).collect();
    let aa = linalg::dot(&a1, &a1);
    let rows = model.layers()[0].rows;
    let m = gaussian_mat(rows, d, std, rng);
    // W_1 = a₁ᵀw*ᵀ/‖a₁‖² + M − a₁ᵀ(a₁M)/‖a₁‖².
    let a1m: Vec<f64> = (0..d).map(|j| (0..rows).map(|i| a1[i] * m[(i, j)]).sum()).collect();
    let w1 = &mut theta[range0];
    for i in 0..rows {
        for j in 0..d {
            w1[i * d + j] = a1[i] * w_star[j] / aa + m[(i, j)] - a1[i] * a1m[j] / aa;
        }
    }
    theta
}

fn gaussian_mat(rows: usize, cols: usize, std: f64, rng: &mut Rng) -> Mat<f64> {
    let v = rng::normals(rng, rows * cols);
    Mat::from_fn(rows, cols, |i, j| std * v[i * cols + j])
}

/// The rescaled family W_1 → cW_1, W_2 → W_2/c (same end-to-end map; mc.thm1.unbounded).
pub fn rescale_first_two(model: &Dln, theta: &[f64], c: f64) -> Vec<f64> {
    let mut out = theta.to_vec();
    let r0 = model.param_range(0).expect("W_1 trained");
    let r1 = model.param_range(1).expect("W_2 trained");
    out[r0].iter_mut().for_each(|x| *x *= c);
    out[r1].iter_mut().for_each(|x| *x /= c);
    out
}
