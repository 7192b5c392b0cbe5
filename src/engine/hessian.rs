//! Dense second-order objects: the Jacobian J = ∂vec(A)/∂θ, the Gauss–Newton matrix
//! Jᵀ∇²C J (= 2JᵀΣJ, the whole Hessian at a global minimiser of the regression risk:
//! property mc.hessian_at_minimizer) and the full Hessian, assembled block by block from the
//! closed form ∂²ℓ/∂(W_k)_{ab}∂(W_j)_{ce} = N_{jk}[c,b]·M_{jk}[e,a] for k < j, where
//! N_{jk} = a_jᵀ G B_kᵀ and M_{jk} = W_{j−1}⋯W_{k+1}. Cost O(d_out·d_in·P² + L²d³).
//! The Hessian-vector product in [`crate::engine::problem`] is an independent route to the same matrix.
//!
//! For univariate networks (d_out = 1) the Hessian factors exactly through a space of dimension
//! m = Σ_k (rows_k + cols_k) ≈ 2Ld, much smaller than P ≈ Ld² (see [`reduced_hessian`]); its
//! spectrum is that of an m × m matrix plus P − m zeros.

use crate::engine::linalg::{self, mul_nn, mul_tn};
use crate::engine::problem::Problem;
use faer::{Accum, Mat};

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
        mul_nn(&mut next, model.weight(k, theta), &b, layer.rows, layer.cols, d_in, Accum::Replace);
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
    linalg::symmetrize(&mut gn);
    for i in 0..gn.nrows() {
        gn[(i, i)] += problem.l2;
    }
    gn
}

/// K = JJᵀ ((d_out·d_in) square). For the univariate networks K = Σ_k ‖a_k‖² B_kᵀB_k.
pub fn jacobian_gram(problem: &Problem, theta: &[f64]) -> Mat<f64> {
    let j = jacobian(problem, theta);
    let mut k = linalg::matmul_owned(j.as_ref(), j.transpose());
    linalg::symmetrize(&mut k);
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
        crate::engine::linalg::mul_nt(&mut cot, &g, &below[k], d_out, d_in, ck, Accum::Replace);
        // M = W_{j−1}⋯W_{k+1} (cols_j × rows_k), starting from I for j = k+1.
        let mut m = eye(rk);
        let mut m_rows = rk;
        for j in k + 1..layers.len() {
            if j > k + 1 {
                let w = model.weight(j - 1, theta);
                let mut next = vec![0.0; layers[j - 1].rows * rk];
                mul_nn(&mut next, w, &m, layers[j - 1].rows, m_rows, rk, Accum::Replace);
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
            mul_tn(&mut n, pt.suffix(j), &cot, rj, d_out, ck, Accum::Replace);
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
    let mut ws = problem.workspace();
    let mut pt = problem.at(&mut ws, theta);
    operator_matrix(problem.num_params(), |v, out| pt.hvp(v, out))
}

/// The n × n matrix of a linear operator, column j = op(e_j).
pub fn operator_matrix(n: usize, mut op: impl FnMut(&[f64], &mut [f64])) -> Mat<f64> {
    let mut m = Mat::<f64>::zeros(n, n);
    let mut e = vec![0.0; n];
    let mut col = vec![0.0; n];
    for j in 0..n {
        e[j] = 1.0;
        op(&e, &mut col);
        e[j] = 0.0;
        for i in 0..n {
            m[(i, j)] = col[i];
        }
    }
    m
}

/// The exact low-dimensional form of a univariate network's Hessian, as an operator.
///
/// With x_k = V_kᵀa_kᵀ ∈ R^{cols_k} and y_k = V_kc_kᵀ ∈ R^{rows_k} (a_k the row above layer k,
/// c_k = G B_kᵀ its cotangent), every term of vᵀ∇²ℓ v is a bilinear form in (x, y):
/// vᵀ∇²ℓ v = Σ_{k,j} x_kᵀB_k∇²C B_jᵀx_j + 2Σ_{k<j} x_jᵀM_{jk}y_k + λ‖v‖², i.e.
/// ∇²ℓ = TᵀQT + λI with T = ⊕_k T_k, T_k(V) = (Vᵀa_kᵀ, Vc_kᵀ), of rank ≤ m = Σ_k(rows_k + cols_k).
/// With F = ⊕_k F_k, F_k = [[‖a‖I, 0], [â cᵀ, ‖c‖(I − ââᵀ)]] (so that FFᵀ = TTᵀ exactly, no
/// square roots), the non-zero eigenvalues of TᵀQT are those of R = FᵀQF (m × m), and when
/// m < P the other P − m eigenvalues are 0. A product Rz costs O(L·d²) (three passes through the
/// layers: Horner for Σ_j B_jᵀx_j, and the recursions s_{j+1} = W_js_j + y_j,
/// t_{k−1} = W_kᵀt_k + x_k for the M_{jk} blocks), like one HVP but on vectors of length
/// m ≈ 2Ld instead of P ≈ Ld².
pub struct ReducedOperator<'p> {
    problem: &'p Problem,
    theta: &'p [f64],
    /// Per layer (all layers, trained or not): offset of its (x, y) block in z, if trained.
    off: Vec<Option<usize>>,
    /// Per trained layer: ‖a_k‖, â_k, c_k, ‖c_k‖.
    a_norm: Vec<f64>,
    a_hat: Vec<Vec<f64>>,
    cot: Vec<Vec<f64>>,
    c_norm: Vec<f64>,
    dim: usize,
    zeros: usize,
    // Scratch (one vector per layer boundary).
    fz: Vec<f64>,
    q: Vec<f64>,
    buf_a: Vec<f64>,
    buf_b: Vec<f64>,
}

impl<'p> ReducedOperator<'p> {
    /// `None` when d_out ≠ 1 or m ≥ P (then the dense Hessian is no larger).
    pub fn new(problem: &'p Problem, theta: &'p [f64]) -> Option<Self> {
        let model = &problem.model;
        if model.d_out() != 1 {
            return None;
        }
        let layers = model.layers();
        let mut off = Vec::with_capacity(layers.len());
        let mut dim = 0;
        for l in layers {
            if l.is_trained() {
                off.push(Some(dim));
                dim += l.cols + l.rows;
            } else {
                off.push(None);
            }
        }
        let p = problem.num_params();
        if dim >= p {
            return None;
        }
        let mut ws = problem.workspace();
        let pt = problem.at(&mut ws, theta);
        let (mut a_norm, mut a_hat, mut cot, mut c_norm) = (vec![], vec![], vec![], vec![]);
        for k in (0..layers.len()).filter(|&k| layers[k].is_trained()) {
            let u = pt.suffix(k);
            let un = linalg::norm(u);
            a_norm.push(un);
            a_hat.push(u.iter().map(|x| if un > 0.0 { x / un } else { 0.0 }).collect());
            let c = pt.cotangent(k).to_vec();
            c_norm.push(linalg::norm(&c));
            cot.push(c);
        }
        let widest = layers.iter().map(|l| l.rows.max(l.cols)).max().unwrap_or(1);
        Some(ReducedOperator {
            problem,
            theta,
            off,
            a_norm,
            a_hat,
            cot,
            c_norm,
            dim,
            zeros: p - dim,
            fz: vec![0.0; dim],
            q: vec![0.0; dim],
            buf_a: vec![0.0; widest],
            buf_b: vec![0.0; widest],
        })
    }

    /// m, the dimension of the reduced space.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// P − m, the number of eigenvalues known to be exactly 0 (before the L2 shift).
    pub fn zeros(&self) -> usize {
        self.zeros
    }
    /// The L2 coefficient λ that shifts every eigenvalue.
    pub fn shift(&self) -> f64 {
        self.problem.l2
    }

    /// out = R z = FᵀQF z.
    pub fn apply(&mut self, z: &[f64], out: &mut [f64]) {
        let model = &self.problem.model;
        let layers = model.layers();
        let theta = self.theta;
        let nl = layers.len();
        // 1. fz = F z.
        let mut t = 0;
        for k in 0..nl {
            let Some(o) = self.off[k] else { continue };
            let (c, r) = (layers[k].cols, layers[k].rows);
            let (zx, zy) = (&z[o..o + c], &z[o + c..o + c + r]);
            let cz = linalg::dot(&self.cot[t], zx);
            let az = linalg::dot(&self.a_hat[t], zy);
            for i in 0..c {
                self.fz[o + i] = self.a_norm[t] * zx[i];
            }
            for i in 0..r {
                self.fz[o + c + i] = self.a_hat[t][i] * cz + self.c_norm[t] * (zy[i] - self.a_hat[t][i] * az);
            }
            t += 1;
        }
        // 2. q = Q fz. Gauss–Newton part: ρ = Σ_j B_jᵀx_j by Horner from the top, h = ∇²C ρ,
        //    then q_x[k] = B_k h by a forward pass.
        let fz = &self.fz;
        let (rho, next) = (&mut self.buf_a, &mut self.buf_b);
        rho[..layers[nl - 1].cols].fill(0.0);
        for k in (0..nl).rev() {
            let (c, r) = (layers[k].cols, layers[k].rows);
            // ρ_k (length c) = W_kᵀ ρ_{k+1} (length r) + x_k; ρ above the top layer is 0.
            if k + 1 < nl {
                let w = model.weight(k, theta);
                next[..c].fill(0.0);
                for i in 0..r {
                    linalg::axpy(&mut next[..c], rho[i], &w[i * c..(i + 1) * c]);
                }
            } else {
                next[..c].fill(0.0);
            }
            if let Some(o) = self.off[k] {
                linalg::axpy(&mut next[..c], 1.0, &fz[o..o + c]);
            }
            std::mem::swap(rho, next);
        }
        let d_in = model.d_in();
        let mut h = vec![0.0; d_in];
        self.problem.objective.hess_apply(&rho[..d_in], &mut h);
        // Forward: β_0 = h, β_{k+1} = W_k β_k; q_x[k] = β_k. Simultaneously the Q_xy part
        // s_0 = 0, s_{k+1} = W_k s_k + y_k, q_x[k] += s_k.
        let mut beta = h;
        let mut s_vec = vec![0.0; d_in];
        for k in 0..nl {
            let (c, r) = (layers[k].cols, layers[k].rows);
            if let Some(o) = self.off[k] {
                for i in 0..c {
                    self.q[o + i] = beta[i] + s_vec[i];
                }
            }
            if k + 1 == nl {
                break;
            }
            let w = model.weight(k, theta);
            let mut nb = vec![0.0; r];
            let mut ns = vec![0.0; r];
            linalg::matvec_rows2(w, &beta, &s_vec, &mut nb, &mut ns);
            if let Some(o) = self.off[k] {
                linalg::axpy(&mut ns, 1.0, &fz[o + c..o + c + r]);
            }
            beta = nb;
            s_vec = ns;
        }
        // Q_yx part: t_{top} = 0, t_{k−1} = W_kᵀ t_k + x_k; q_y[k] = t_k.
        let mut tv = vec![0.0; layers[nl - 1].rows];
        for k in (0..nl).rev() {
            let (c, r) = (layers[k].cols, layers[k].rows);
            if let Some(o) = self.off[k] {
                self.q[o + c..o + c + r].copy_from_slice(&tv);
            }
            if k == 0 {
                break; // t below the first layer is not used
            }
            let w = model.weight(k, theta);
            let mut nt = vec![0.0; c];
            for i in 0..r {
                linalg::axpy(&mut nt, tv[i], &w[i * c..(i + 1) * c]);
            }
            if let Some(o) = self.off[k] {
                linalg::axpy(&mut nt, 1.0, &fz[o..o + c]);
            }
            tv = nt;
        }
        // 3. out = Fᵀ q.
        let mut t = 0;
        for k in 0..nl {
            let Some(o) = self.off[k] else { continue };
            let (c, r) = (layers[k].cols, layers[k].rows);
            let (qx, qy) = (&self.q[o..o + c], &self.q[o + c..o + c + r]);
            let aq = linalg::dot(&self.a_hat[t], qy);
            for i in 0..c {
                out[o + i] = self.a_norm[t] * qx[i] + self.cot[t][i] * aq;
            }
            for i in 0..r {
                out[o + c + i] = self.c_norm[t] * (qy[i] - self.a_hat[t][i] * aq);
            }
            t += 1;
        }
    }

    /// The dense m × m matrix R (m products with unit vectors), exactly symmetrised.
    pub fn to_dense(&mut self) -> Mat<f64> {
        let mut r = operator_matrix(self.dim, |v, out| self.apply(v, out));
        linalg::symmetrize(&mut r);
        r
    }

    /// All P eigenvalues of ∇²ℓ (ascending), from the dense R.
    pub fn eigenvalues(&mut self) -> Vec<f64> {
        self.try_eigenvalues().unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`ReducedOperator::eigenvalues`], or why they cannot be computed (a non-finite R).
    pub fn try_eigenvalues(&mut self) -> Result<Vec<f64>, linalg::EigenError> {
        let r = self.to_dense();
        let mut vals = linalg::try_sym_eigenvalues(r.as_ref())?;
        vals.extend(std::iter::repeat_n(0.0, self.zeros));
        let shift = self.shift();
        vals.iter_mut().for_each(|v| *v += shift);
        vals.sort_by(f64::total_cmp);
        Ok(vals)
    }
}

/// The Jacobian Gram K = JJᵀ = Σ_k ‖a_k‖² B_kᵀB_k of a univariate network (d_out = 1) as an
/// operator on R^d, never forming J (d × P): v ↦ Kv by a forward pass y_{k+1} = W_k y_k (y_0 = v)
/// and a backward Horner pass z_k = W_kᵀz_{k+1} + ‖a_k‖²y_k. Cost O(P + Σ_k rows_k·cols_k) per
/// product, memory O(Σ_k cols_k).
pub struct UnivariateGram<'p> {
    weights: Vec<(&'p [f64], usize, usize)>,
    /// ‖a_k‖² for trained layers, 0 for fixed ones.
    coef: Vec<f64>,
    ys: Vec<Vec<f64>>,
}

impl<'p> UnivariateGram<'p> {
    /// `None` unless the network is univariate.
    pub fn new(problem: &'p Problem, theta: &'p [f64]) -> Option<Self> {
        let model = &problem.model;
        if model.d_out() != 1 {
            return None;
        }
        let layers = model.layers();
        let weights: Vec<_> =
            (0..layers.len()).map(|k| (model.weight(k, theta), layers[k].rows, layers[k].cols)).collect();
        // a_k = W_M⋯W_{k+1} (a row of length rows_k): a_M = [1], a_{k} = a_{k+1}W_{k+1}.
        let mut coef = vec![0.0; layers.len()];
        let mut a = vec![1.0];
        for k in (0..layers.len()).rev() {
            if k + 1 < layers.len() {
                let (w, rows, cols) = weights[k + 1];
                let mut next = vec![0.0; cols];
                for (i, ai) in a.iter().enumerate().take(rows) {
                    linalg::axpy(&mut next, *ai, &w[i * cols..(i + 1) * cols]);
                }
                a = next;
            }
            if model.param_range(k).is_some() {
                coef[k] = a.iter().map(|x| x * x).sum();
            }
        }
        let ys = layers.iter().map(|l| vec![0.0; l.cols]).collect();
        Some(UnivariateGram { weights, coef, ys })
    }

    /// d = d_in.
    pub fn dim(&self) -> usize {
        self.weights[0].2
    }

    /// out = K v.
    pub fn apply(&mut self, v: &[f64], out: &mut [f64]) {
        let m = self.weights.len();
        self.ys[0].copy_from_slice(v);
        for k in 0..m - 1 {
            let (w, rows, cols) = self.weights[k];
            let (lo, hi) = self.ys.split_at_mut(k + 1);
            let (y, next) = (&lo[k], &mut hi[0]);
            linalg::matvec_rows(&w[..rows * cols], y, &mut next[..rows]);
        }
        // z_M = c_M y_M; z_k = W_kᵀ z_{k+1} + c_k y_k (z_{k+1} has length rows_k = cols_{k+1}).
        let mut z: Vec<f64> = self.ys[m - 1].iter().map(|y| self.coef[m - 1] * y).collect();
        for k in (0..m - 1).rev() {
            let (w, rows, cols) = self.weights[k];
            let mut next: Vec<f64> = self.ys[k].iter().map(|y| self.coef[k] * y).collect();
            for (i, zi) in z.iter().enumerate().take(rows) {
                linalg::axpy(&mut next, *zi, &w[i * cols..(i + 1) * cols]);
            }
            z = next;
        }
        out.copy_from_slice(&z);
    }

    /// K as a dense d × d matrix (d products; for small d or tests).
    pub fn to_dense(&mut self) -> Mat<f64> {
        let d = self.dim();
        let mut k = Mat::<f64>::zeros(d, d);
        let (mut e, mut col) = (vec![0.0; d], vec![0.0; d]);
        for j in 0..d {
            e[j] = 1.0;
            self.apply(&e, &mut col);
            e[j] = 0.0;
            for i in 0..d {
                k[(i, j)] = col[i];
            }
        }
        linalg::symmetrize(&mut k);
        k
    }
}
