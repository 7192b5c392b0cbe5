//! A training problem ℓ(θ) = C(A_θ) + (λ/2)‖θ‖², and its derivatives by vector passes.
//!
//! Notation (0-based layers k = 0..M−1): a_k = W_{M−1}⋯W_{k+1} (d_out × rows_k, "suffix"),
//! B_k = W_{k−1}⋯W_0, G = ∇C(A), c_k = G B_kᵀ (d_out × cols_k, "cotangent").
//! Then A = a_0 W_0, ∂ℓ/∂W_k = a_kᵀ c_k + λW_k. Every pass multiplies a d_out-row matrix by
//! one layer, so a gradient costs O(d_out·Σ_k rows_k·cols_k) = O(L·d²) for univariate
//! regression, independent of n. A Hessian-vector product (forward-over-reverse, by hand)
//! costs about three gradients and reuses the point's cached passes.

use crate::engine::linalg::{self, mul_nn, mul_nt, mul_tn};
use crate::engine::model::Dln;
use crate::engine::objective::Objective;
use faer::Accum;

/// A deep linear network trained on an objective, with optional L2 on the parameters.
#[derive(Clone, Debug)]
pub struct Problem {
    pub model: Dln,
    pub objective: Objective,
    /// Coefficient λ of (λ/2)‖θ‖².
    pub l2: f64,
}

/// The model's end-to-end shape does not match the objective's.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("network maps R^{net_in} to R^{net_out} but the objective expects R^{obj_in} → R^{obj_out}")]
pub struct ShapeError {
    pub net_in: usize,
    pub net_out: usize,
    pub obj_in: usize,
    pub obj_out: usize,
}

impl Problem {
    pub fn new(model: Dln, objective: Objective) -> Result<Self, ShapeError> {
        let (obj_out, obj_in) = objective.shape();
        if (model.d_out(), model.d_in()) != (obj_out, obj_in) {
            return Err(ShapeError { net_in: model.d_in(), net_out: model.d_out(), obj_in, obj_out });
        }
        Ok(Problem { model, objective, l2: 0.0 })
    }

    pub fn with_l2(mut self, l2: f64) -> Self {
        self.l2 = l2;
        self
    }

    pub fn num_params(&self) -> usize {
        self.model.num_params()
    }

    /// Buffers for the passes; allocate once per thread and reuse.
    pub fn workspace(&self) -> Workspace {
        Workspace::new(&self.model)
    }

    /// Runs the passes at θ and returns a handle for loss, gradient and HVPs there.
    #[inline(always)]
    pub fn at<'p>(&'p self, ws: &'p mut Workspace, theta: &'p [f64]) -> Point<'p> {
        assert_eq!(theta.len(), self.num_params(), "θ has the wrong length");
        ws.forward_backward(self, theta);
        Point { problem: self, theta, ws }
    }

    /// ℓ(θ) (allocates a workspace; use [`Problem::at`] in loops).
    pub fn loss(&self, theta: &[f64]) -> f64 {
        let mut ws = self.workspace();
        self.at(&mut ws, theta).loss()
    }

    /// (ℓ(θ), ∇ℓ(θ)) (allocates; use [`Problem::at`] in loops).
    pub fn loss_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let mut ws = self.workspace();
        let pt = self.at(&mut ws, theta);
        let mut g = vec![0.0; theta.len()];
        pt.gradient(&mut g);
        (pt.loss(), g)
    }

    /// C(A_θ) without the L2 term (the risk R(θ) for regression).
    pub fn data_loss(&self, theta: &[f64]) -> f64 {
        let a = self.model.end_to_end(theta);
        self.objective.value(&linalg::to_row_major(a.as_ref()))
    }
}

/// Scratch buffers for the passes through the layers.
#[derive(Clone, Debug)]
pub struct Workspace {
    d_out: usize,
    /// Offsets of a_k (len d_out·rows_k) and c_k (len d_out·cols_k) in the flat buffers.
    suf_off: Vec<usize>,
    cot_off: Vec<usize>,
    suf: Vec<f64>,
    cot: Vec<f64>,
    end_to_end: Vec<f64>,
    grad_a: Vec<f64>,
    data_loss: f64,
    excess: f64,
    loss: f64,
    // Tangent buffers for Hessian-vector products.
    dsuf: Vec<f64>,
    dcot: Vec<f64>,
    d_end_to_end: Vec<f64>,
    d_grad_a: Vec<f64>,
}

impl Workspace {
    fn new(model: &Dln) -> Self {
        let d_out = model.d_out();
        let (mut suf_off, mut cot_off) = (vec![0], vec![0]);
        for l in model.layers() {
            suf_off.push(suf_off.last().unwrap() + d_out * l.rows);
            cot_off.push(cot_off.last().unwrap() + d_out * l.cols);
        }
        let (ns, nc) = (*suf_off.last().unwrap(), *cot_off.last().unwrap());
        let na = d_out * model.d_in();
        Workspace {
            d_out,
            suf_off,
            cot_off,
            suf: vec![0.0; ns],
            cot: vec![0.0; nc],
            end_to_end: vec![0.0; na],
            grad_a: vec![0.0; na],
            data_loss: f64::NAN,
            excess: f64::NAN,
            loss: f64::NAN,
            dsuf: vec![0.0; ns],
            dcot: vec![0.0; nc],
            d_end_to_end: vec![0.0; na],
            d_grad_a: vec![0.0; na],
        }
    }

    /// The end-to-end map A_θ of the last [`Problem::at`] (row-major).
    pub fn end_to_end(&self) -> &[f64] {
        &self.end_to_end
    }

    /// Suffix products a_k, the end-to-end map, its gradient G and the cotangents c_k.
    #[inline(always)]
    fn forward_backward(&mut self, problem: &Problem, theta: &[f64]) {
        let model = &problem.model;
        let layers = model.layers();
        let m = layers.len();
        let d = self.d_out;
        // a_{M−1} = I; a_k = a_{k+1} W_{k+1}.
        {
            let top = &mut self.suf[self.suf_off[m - 1]..self.suf_off[m]];
            top.fill(0.0);
            for i in 0..d {
                top[i * d + i] = 1.0;
            }
        }
        for k in (0..m - 1).rev() {
            let (lo, hi) = self.suf.split_at_mut(self.suf_off[k + 1]);
            let out = &mut lo[self.suf_off[k]..];
            let a_next = &hi[..self.suf_off[k + 2] - self.suf_off[k + 1]];
            let w = model.weight(k + 1, theta);
            mul_nn(out, a_next, w, d, layers[k + 1].rows, layers[k + 1].cols, Accum::Replace);
        }
        // A = a_0 W_0.
        let a0 = &self.suf[self.suf_off[0]..self.suf_off[1]];
        mul_nn(
            &mut self.end_to_end,
            a0,
            model.weight(0, theta),
            d,
            layers[0].rows,
            layers[0].cols,
            Accum::Replace,
        );
        self.excess = problem.objective.excess(&self.end_to_end);
        self.data_loss = self.excess + problem.objective.infimum();
        self.loss = self.data_loss;
        if problem.l2 != 0.0 {
            self.loss += 0.5 * problem.l2 * linalg::dot(theta, theta);
        }
        problem.objective.gradient(&self.end_to_end, &mut self.grad_a);
        // c_0 = G; c_{k+1} = c_k W_kᵀ.
        self.cot[..self.cot_off[1]].copy_from_slice(&self.grad_a);
        for k in 0..m - 1 {
            let (lo, hi) = self.cot.split_at_mut(self.cot_off[k + 1]);
            let c = &lo[self.cot_off[k]..];
            let out = &mut hi[..self.cot_off[k + 2] - self.cot_off[k + 1]];
            mul_nt(out, c, model.weight(k, theta), d, layers[k].cols, layers[k].rows, Accum::Replace);
        }
    }
}

/// The problem linearised at one θ: loss, gradient, Hessian-vector products.
pub struct Point<'p> {
    problem: &'p Problem,
    theta: &'p [f64],
    ws: &'p mut Workspace,
}

impl Point<'_> {
    /// ℓ(θ).
    pub fn loss(&self) -> f64 {
        self.ws.loss
    }
    /// C(A_θ), the loss without the L2 term (the risk R(θ) for regression).
    pub fn data_loss(&self) -> f64 {
        self.ws.data_loss
    }
    /// C(A_θ) − inf C (the excess risk R(θ) − R_min for regression), without cancellation.
    pub fn excess(&self) -> f64 {
        self.ws.excess
    }
    /// The end-to-end map A_θ, row-major (w_prodᵀ for regression).
    pub fn end_to_end(&self) -> &[f64] {
        &self.ws.end_to_end
    }
    /// G = ∇C(A_θ), row-major.
    pub fn objective_gradient(&self) -> &[f64] {
        &self.ws.grad_a
    }
    /// The suffix product a_k = W_{M−1}⋯W_{k+1} (d_out × rows_k, row-major).
    pub fn suffix(&self, k: usize) -> &[f64] {
        &self.ws.suf[self.ws.suf_off[k]..self.ws.suf_off[k + 1]]
    }

    /// The cotangent c_k = G B_kᵀ (d_out × cols_k, row-major).
    pub fn cotangent(&self, k: usize) -> &[f64] {
        &self.ws.cot[self.ws.cot_off[k]..self.ws.cot_off[k + 1]]
    }

    /// out = ∇ℓ(θ): ∂ℓ/∂W_k = a_kᵀ c_k + λW_k. Cost O(d_out·P).
    #[inline(always)]
    pub fn gradient(&self, out: &mut [f64]) {
        let model = &self.problem.model;
        let ws = &*self.ws;
        let d = ws.d_out;
        for (k, layer) in model.layers().iter().enumerate() {
            let Some(range) = model.param_range(k) else {
                continue;
            };
            let a = &ws.suf[ws.suf_off[k]..ws.suf_off[k + 1]];
            let c = &ws.cot[ws.cot_off[k]..ws.cot_off[k + 1]];
            mul_tn(&mut out[range], a, c, layer.rows, d, layer.cols, Accum::Replace);
        }
        if self.problem.l2 != 0.0 {
            linalg::axpy(out, self.problem.l2, self.theta);
        }
    }

    /// out = ∇²ℓ(θ)·v. Tangent passes: da_k = da_{k+1}W_{k+1} + a_{k+1}V_{k+1},
    /// dA = da_0W_0 + a_0V_0, dG = ∇²C[dA], dc_{k+1} = dc_kW_kᵀ + c_kV_kᵀ, then
    /// out_k = da_kᵀc_k + a_kᵀdc_k + λV_k. Cost ≈ 3 gradients.
    #[inline(always)]
    pub fn hvp(&mut self, v: &[f64], out: &mut [f64]) {
        self.tangent_product(v, out);
    }

    #[inline(always)]
    fn tangent_suffix(&mut self, v: &[f64]) {
        let model = &self.problem.model;
        let layers = model.layers();
        let theta = self.theta;
        let ws = &mut *self.ws;
        let m = layers.len();
        let d = ws.d_out;
        ws.dsuf[ws.suf_off[m - 1]..].fill(0.0);
        for k in (0..m - 1).rev() {
            let (rows, cols) = (layers[k + 1].rows, layers[k + 1].cols);
            let (lo, hi) = ws.dsuf.split_at_mut(ws.suf_off[k + 1]);
            let out = &mut lo[ws.suf_off[k]..];
            let da_next = &hi[..ws.suf_off[k + 2] - ws.suf_off[k + 1]];
            mul_nn(out, da_next, model.weight(k + 1, theta), d, rows, cols, Accum::Replace);
            if let Some(range) = model.param_range(k + 1) {
                let a_next = &ws.suf[ws.suf_off[k + 1]..ws.suf_off[k + 2]];
                mul_nn(out, a_next, &v[range], d, rows, cols, Accum::Add);
            }
        }
        let (rows, cols) = (layers[0].rows, layers[0].cols);
        let da0 = &ws.dsuf[ws.suf_off[0]..ws.suf_off[1]];
        mul_nn(&mut ws.d_end_to_end, da0, model.weight(0, theta), d, rows, cols, Accum::Replace);
        if let Some(range) = model.param_range(0) {
            let a0 = &ws.suf[ws.suf_off[0]..ws.suf_off[1]];
            mul_nn(&mut ws.d_end_to_end, a0, &v[range], d, rows, cols, Accum::Add);
        }
    }

    #[inline(always)]
    fn tangent_product(&mut self, v: &[f64], out: &mut [f64]) {
        assert_eq!(v.len(), self.theta.len(), "direction has the wrong length");
        assert_eq!(out.len(), self.theta.len(), "output has the wrong length");
        self.tangent_suffix(v);
        let model = &self.problem.model;
        let layers = model.layers();
        let theta = self.theta;
        let ws = &mut *self.ws;
        let m = layers.len();
        let d = ws.d_out;
        self.problem.objective.hess_apply(&ws.d_end_to_end, &mut ws.d_grad_a);
        ws.dcot[..ws.cot_off[1]].copy_from_slice(&ws.d_grad_a);
        for k in 0..m - 1 {
            let (rows, cols) = (layers[k].rows, layers[k].cols);
            let (lo, hi) = ws.dcot.split_at_mut(ws.cot_off[k + 1]);
            let dc = &lo[ws.cot_off[k]..];
            let next = &mut hi[..ws.cot_off[k + 2] - ws.cot_off[k + 1]];
            mul_nt(next, dc, model.weight(k, theta), d, cols, rows, Accum::Replace);
            if let Some(range) = model.param_range(k) {
                let c = &ws.cot[ws.cot_off[k]..ws.cot_off[k + 1]];
                mul_nt(next, c, &v[range], d, cols, rows, Accum::Add);
            }
        }
        for (k, layer) in layers.iter().enumerate() {
            let Some(range) = model.param_range(k) else {
                continue;
            };
            let o = &mut out[range];
            let a = &ws.suf[ws.suf_off[k]..ws.suf_off[k + 1]];
            let dc = &ws.dcot[ws.cot_off[k]..ws.cot_off[k + 1]];
            mul_tn(o, a, dc, layer.rows, d, layer.cols, Accum::Replace);
            let da = &ws.dsuf[ws.suf_off[k]..ws.suf_off[k + 1]];
            let c = &ws.cot[ws.cot_off[k]..ws.cot_off[k + 1]];
            mul_tn(o, da, c, layer.rows, d, layer.cols, Accum::Add);
        }
        if self.problem.l2 != 0.0 {
            linalg::axpy(out, self.problem.l2, v);
        }
    }
}
