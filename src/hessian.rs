//! Dense second-order objects: the Jacobian J = ∂vec(A)/∂θ, the Gauss–Newton matrix
//! Jᵀ∇²C J (= 2JᵀΣJ, the whole Hessian at a global minimiser of the regression risk:
//! property mc.hessian_at_minimizer) and the full Hessian, assembled block by block from the
//! closed form ∂²ℓ/∂(W_k)_{ab}∂(W_j)_{ce} = N_{jk}[c,b]·M_{jk}[e,a] for k < j, where
//! N_{jk} = a_jᵀ G B_kᵀ and M_{jk} = W_{j−1}⋯W_{k+1}. Cost O(d_out·d_in·P² + L²d³).
//! The Hessian-vector product in [`crate::problem`] is an independent route to the same matrix.

use crate::linalg::{self, mul_nn, mul_tn};
use crate::problem::Problem;
use faer::Mat;

/// Identity as a row-major buffer.
fn eye(n: usize) -> Vec<f64> {
    let mut m = vec![0.0; n * n];
    for i in 0..n {
        m[i * n + i] = 1.0;
    }
    m
}

/// B_k = W_{k−1}⋯W_0 (cols_k × d_in, row-major) for every layer k.
fn below_products(problem: &Problem, theta: &[f64]) -> Vec<Vec<f64>> {
    let model = &problem.model;
    let d_in = model.d_in();
    let mut out = Vec::with_capacity(model.layers().len());
    let mut b = eye(d_in);
    for (k, layer) in model.layers().iter().enumerate() {
        let mut next = vec![0.0; layer.rows * d_in];
        mul_nn(
            &mut next,
            model.weight(k, theta),
            &b,
            layer.rows,
            layer.cols,
            d_in,
            false,
        );
        out.push(std::mem::replace(&mut b, next));
    }
    out
}

/// The Jacobian J of vec(A_θ) (row-major vec, length d_out·d_in) with respect to θ,
/// as a (d_out·d_in) × P matrix. Column (k,a,b) is vec(a_k[:,a] B_k[b,:]).
pub fn jacobian(problem: &Problem, theta: &[f64]) -> Mat<f64> {
    let model = &problem.model;
    let (d_out, d_in) = (model.d_out(), model.d_in());
    let mut ws = problem.workspace();
    let pt = problem.at(&mut ws, theta);
    let below = below_products(problem, theta);
    let mut j = Mat::<f64>::zeros(d_out * d_in, problem.num_params());
    for (k, layer) in model.layers().iter().enumerate() {
        let Some(range) = model.param_range(k) else {
            continue;
        };
        let suf = pt.suffix(k);
        let b = &below[k];
        for a in 0..layer.rows {
            for bb in 0..layer.cols {
                let col = range.start + a * layer.cols + bb;
                for o in 0..d_out {
                    let s = suf[o * layer.rows + a];
                    for i in 0..d_in {
                        j[(o * d_in + i, col)] = s * b[bb * d_in + i];
                    }
                }
            }
        }
    }
    j
}

/// Applies ∇²C to each column of `m` (columns are row-major vec(A) directions).
fn hess_apply_columns(problem: &Problem, m: &Mat<f64>) -> Mat<f64> {
    let mut out = Mat::<f64>::zeros(m.nrows(), m.ncols());
    let mut col = vec![0.0; m.nrows()];
    let mut res = vec![0.0; m.nrows()];
    for c in 0..m.ncols() {
        for (i, v) in col.iter_mut().enumerate() {
            *v = m[(i, c)];
        }
        problem.objective.hess_apply(&col, &mut res);
        for (i, v) in res.iter().enumerate() {
            out[(i, c)] = *v;
        }
    }
    out
}

/// The Gauss–Newton matrix Jᵀ∇²C J + λI (P × P). For regression this is 2JᵀΣJ (+λI).
pub fn gauss_newton(problem: &Problem, theta: &[f64]) -> Mat<f64> {
    let j = jacobian(problem, theta);
    let hj = hess_apply_columns(problem, &j);
    let mut gn = linalg::matmul_owned(j.transpose(), hj.as_ref());
    symmetrize(&mut gn);
    for i in 0..gn.nrows() {
        gn[(i, i)] += problem.l2;
    }
    gn
}

/// K = JJᵀ ((d_out·d_in) square). For the univariate networks K = Σ_k ‖a_k‖² B_kᵀB_k.
pub fn jacobian_gram(problem: &Problem, theta: &[f64]) -> Mat<f64> {
    let j = jacobian(problem, theta);
    let mut k = linalg::matmul_owned(j.as_ref(), j.transpose());
    symmetrize(&mut k);
    k
}

/// The full Hessian ∇²ℓ(θ) (P × P), exactly symmetric.
pub fn dense_hessian(problem: &Problem, theta: &[f64]) -> Mat<f64> {
    let model = &problem.model;
    let layers = model.layers();
    let d_out = model.d_out();
    let mut h = gauss_newton(problem, theta);
    let mut ws = problem.workspace();
    let pt = problem.at(&mut ws, theta);
    // Cotangents c_k = G B_kᵀ (d_out × cols_k).
    let below = below_products(problem, theta);
    let d_in = model.d_in();
    let g = pt.objective_gradient().to_vec();
    for k in 0..layers.len() {
        let Some(range_k) = model.param_range(k) else {
            continue;
        };
        let (rk, ck) = (layers[k].rows, layers[k].cols);
        let mut cot = vec![0.0; d_out * ck];
        crate::linalg::mul_nt(&mut cot, &g, &below[k], d_out, d_in, ck, false);
        // M = W_{j−1}⋯W_{k+1} (cols_j × rows_k), starting from I for j = k+1.
        let mut m = eye(rk);
        let mut m_rows = rk;
        for j in k + 1..layers.len() {
            if j > k + 1 {
                let w = model.weight(j - 1, theta);
                let mut next = vec![0.0; layers[j - 1].rows * rk];
                mul_nn(&mut next, w, &m, layers[j - 1].rows, m_rows, rk, false);
                m = next;
                m_rows = layers[j - 1].rows;
            }
            let Some(range_j) = model.param_range(j) else {
                continue;
            };
            let (rj, cj) = (layers[j].rows, layers[j].cols);
            debug_assert_eq!(m_rows, cj);
            // N = a_jᵀ c_k (rows_j × cols_k).
            let mut n = vec![0.0; rj * ck];
            mul_tn(&mut n, pt.suffix(j), &cot, rj, d_out, ck, false);
            for a in 0..rk {
                for b in 0..ck {
                    let row = range_k.start + a * ck + b;
                    for c in 0..rj {
                        let n_cb = n[c * ck + b];
                        for e in 0..cj {
                            let val = n_cb * m[e * rk + a];
                            let col = range_j.start + c * cj + e;
                            h[(row, col)] += val;
                            h[(col, row)] += val;
                        }
                    }
                }
            }
        }
    }
    h
}

/// The Hessian assembled column by column from Hessian-vector products (P HVPs); used as an
/// independent check of [`dense_hessian`]. Not symmetrised.
pub fn hessian_from_hvps(problem: &Problem, theta: &[f64]) -> Mat<f64> {
    let p = problem.num_params();
    let mut ws = problem.workspace();
    let mut pt = problem.at(&mut ws, theta);
    let mut h = Mat::<f64>::zeros(p, p);
    let mut e = vec![0.0; p];
    let mut col = vec![0.0; p];
    for j in 0..p {
        e[j] = 1.0;
        pt.hvp(&e, &mut col);
        e[j] = 0.0;
        for i in 0..p {
            h[(i, j)] = col[i];
        }
    }
    h
}

fn symmetrize(m: &mut Mat<f64>) {
    for i in 0..m.nrows() {
        for j in 0..i {
            let s = 0.5 * (m[(i, j)] + m[(j, i)]);
            m[(i, j)] = s;
            m[(j, i)] = s;
        }
    }
}
