//! A network with an element-wise activation σ after every layer but the last, trained on the
//! raw data: R(θ) = (1/n)Σ_i (f(x_i) − y_i)², f(x) = W_M σ(⋯σ(W_1x)) (the residual network's
//! fixed pᵀ is the last layer). Unlike the linear network, R does not reduce to (Σ, w*): every
//! pass costs O(n·Σ_k rows_k·cols_k) = O(n·L·d²).
//!
//! Samples are columns (H_{−1} = Xᵀ, d × n). Forward: Z_k = W_kH_{k−1}, H_k = σ(Z_k) (k < M−1),
//! f = Z_{M−1}. Backward: Δ_{M−1} = (2/n)(f − y), ∂R/∂W_k = Δ_kH_{k−1}ᵀ, E_k = W_kᵀΔ_k,
//! Δ_{k−1} = E_k ⊙ σ'(Z_{k−1}). A Hessian-vector product (Pearlmutter's R-operator, by hand)
//! differentiates both passes along V: dZ_k = W_k dH_{k−1} + V_kH_{k−1}, dH_k = σ'(Z_k) ⊙ dZ_k;
//! dΔ_{M−1} = (2/n)dZ_{M−1}, (∇²R·V)_k = dΔ_kH_{k−1}ᵀ + Δ_k dH_{k−1}ᵀ,
//! dE_k = W_kᵀdΔ_k + V_kᵀΔ_k, dΔ_{k−1} = dE_k ⊙ σ'(Z_{k−1}) + E_k ⊙ σ''(Z_{k−1}) ⊙ dZ_{k−1}:
//! about three gradients. The spectra ([`hessian_extremes`]) reuse [`crate::engine::spectrum`]'s
//! exact solver (dense Hessian from P HVPs, symmetrised) and Lanczos.
//!
//! With σ = identity these are the linear network's loss and derivatives computed from the raw
//! data (the tests compare them with [`crate::engine::problem`]'s reduced passes); the linear
//! path itself never comes through here.

use crate::engine::activation::{Activation, gelu_derivatives, gelu_value_slope_slice};
use crate::engine::hessian::operator_matrix;
use crate::engine::linalg::{self, mul_nn, mul_nt, mul_tn};
use crate::engine::model::Dln;
use crate::engine::objective::{DataError, check_samples, invalid};
use crate::engine::spectrum::{self, Extremes, Method, SpectrumError, SpectrumOptions};
use faer::{Accum, Mat, MatRef};

/// A network with an activation, and the raw regression data it is trained on.
#[derive(Clone, Debug)]
pub struct ActivatedProblem {
    pub model: Dln,
    pub activation: Activation,
    n: usize,
    /// Xᵀ, d × n row-major (one column per sample).
    xt: Vec<f64>,
    y: Vec<f64>,
}

impl ActivatedProblem {
    /// The problem on data (X, y); X must have d_in columns, the network one output.
    pub fn new(model: Dln, activation: Activation, x: MatRef<'_, f64>, y: &[f64]) -> Result<Self, DataError> {
        let (n, d) = (x.nrows(), x.ncols());
        if n == 0 {
            return Err(invalid("x", "no samples"));
        }
        if d != model.d_in() {
            return Err(invalid(
                "x",
                format!("has {d} columns but the network takes {} inputs", model.d_in()),
            ));
        }
        if model.d_out() != 1 {
            return Err(invalid("weights", "an activated network must have one output"));
        }
        check_samples(x, y)?;
        let xt = (0..d * n).map(|t| x[(t % n, t / n)]).collect();
        Ok(ActivatedProblem { model, activation, n, xt, y: y.to_vec() })
    }

    pub fn num_params(&self) -> usize {
        self.model.num_params()
    }
    /// Number of samples n.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Xᵀ (d × n, row-major: one column per sample).
    pub fn xt(&self) -> &[f64] {
        &self.xt
    }
    /// The targets y.
    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// Buffers for the passes; allocate once per thread and reuse (the passes then allocate
    /// nothing).
    pub fn workspace(&self) -> ActivatedWorkspace {
        ActivatedWorkspace::new(&self.model, self.n)
    }

    /// Runs the forward pass (with σ'' for HVPs) and the backward pass at θ.
    pub fn at<'p>(&'p self, ws: &'p mut ActivatedWorkspace, theta: &'p [f64]) -> ActivatedPoint<'p> {
        assert_eq!(theta.len(), self.num_params(), "θ has the wrong length");
        ws.forward(self, theta, true);
        ws.backward(self, theta);
        ActivatedPoint { problem: self, theta, ws }
    }

    /// R(θ) and ∇R(θ) into `grad` (the gradient-descent step: no σ'', no allocation). Inlined
    /// all the way down, so that a caller under pulp's dispatch gets it in SIMD.
    #[inline(always)]
    pub fn loss_and_gradient_into(
        &self,
        ws: &mut ActivatedWorkspace,
        theta: &[f64],
        grad: &mut [f64],
    ) -> f64 {
        ws.forward(self, theta, false);
        ws.backward(self, theta);
        ws.gradient(self, grad);
        ws.loss
    }

    /// R(θ) (forward pass only; allocates a workspace).
    pub fn loss(&self, theta: &[f64]) -> f64 {
        let mut ws = self.workspace();
        ws.forward(self, theta, false);
        ws.loss
    }

    /// (R(θ), ∇R(θ)) (allocates).
    pub fn loss_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let mut ws = self.workspace();
        let mut g = vec![0.0; theta.len()];
        let loss = self.loss_and_gradient_into(&mut ws, theta, &mut g);
        (loss, g)
    }

    /// The dense Hessian ∇²R(θ) (P × P): columns of P Hessian-vector products, symmetrised.
    /// Cost P HVPs, O(n·P·L·d²).
    pub fn dense_hessian(&self, theta: &[f64]) -> Mat<f64> {
        let mut ws = self.workspace();
        let mut pt = self.at(&mut ws, theta);
        let mut h = operator_matrix(self.num_params(), |v, out| pt.hvp(v, out));
        linalg::symmetrize(&mut h);
        h
    }
}

/// Buffers of the passes (per layer k: Z_k, σ(Z_k), σ'(Z_k), σ''(Z_k), Δ_k, E_k and tangents).
#[derive(Clone, Debug)]
pub struct ActivatedWorkspace {
    n: usize,
    /// Offset of layer k's rows_k × n block in the per-layer buffers, and of its cols_k × n
    /// block in `e` / `de`.
    off: Vec<usize>,
    in_off: Vec<usize>,
    z: Vec<f64>,
    h: Vec<f64>,
    s1: Vec<f64>,
    s2: Vec<f64>,
    delta: Vec<f64>,
    e: Vec<f64>,
    dz: Vec<f64>,
    dh: Vec<f64>,
    ddelta: Vec<f64>,
    de: Vec<f64>,
    loss: f64,
}

impl ActivatedWorkspace {
    fn new(model: &Dln, n: usize) -> Self {
        let (mut off, mut in_off) = (vec![0], vec![0]);
        for l in model.layers() {
            off.push(off.last().unwrap() + l.rows * n);
            in_off.push(in_off.last().unwrap() + l.cols * n);
        }
        let (no, ni) = (*off.last().unwrap(), *in_off.last().unwrap());
        ActivatedWorkspace {
            n,
            off,
            in_off,
            z: vec![0.0; no],
            h: vec![0.0; no],
            s1: vec![0.0; no],
            s2: vec![0.0; no],
            delta: vec![0.0; no],
            e: vec![0.0; ni],
            dz: vec![0.0; no],
            dh: vec![0.0; no],
            ddelta: vec![0.0; no],
            de: vec![0.0; ni],
            loss: f64::NAN,
        }
    }

    /// Z_k, σ(Z_k), σ'(Z_k) (and σ''(Z_k) when `second`), and R.
    #[inline(always)]
    fn forward(&mut self, p: &ActivatedProblem, theta: &[f64], second: bool) {
        let layers = p.model.layers();
        let m = layers.len();
        let n = self.n;
        for k in 0..m {
            let (rows, cols) = (layers[k].rows, layers[k].cols);
            let w = p.model.weight(k, theta);
            let (lo, hi) = self.h.split_at_mut(self.off[k]);
            let input: &[f64] = if k == 0 { &p.xt } else { &lo[self.off[k - 1]..] };
            let out = &mut self.z[self.off[k]..self.off[k + 1]];
            mul_nn(out, w, input, rows, cols, n, Accum::Replace);
            if k + 1 < m {
                let hk = &mut hi[..rows * n];
                let s1 = &mut self.s1[self.off[k]..self.off[k + 1]];
                let z = &self.z[self.off[k]..self.off[k + 1]];
                match (p.activation, second) {
                    (Activation::Identity, _) => {
                        hk.copy_from_slice(z);
                        s1.fill(1.0);
                        self.s2[self.off[k]..self.off[k + 1]].fill(0.0);
                    }
                    (Activation::Gelu, true) => {
                        let s2 = &mut self.s2[self.off[k]..self.off[k + 1]];
                        for (((h, d1), d2), &x) in hk.iter_mut().zip(s1.iter_mut()).zip(s2.iter_mut()).zip(z)
                        {
                            (*h, *d1, *d2) = gelu_derivatives(x);
                        }
                    }
                    // The gradient-descent hot loop: branch-free, vectorised under pulp's dispatch.
                    (Activation::Gelu, false) => gelu_value_slope_slice(z, hk, s1),
                }
            }
        }
        // Δ_{M−1} = (2/n)(f − y), R = (1/n)‖f − y‖².
        let top = rng(&self.off, m - 1);
        let f = &self.z[top.clone()];
        let d = &mut self.delta[top];
        let mut sum = 0.0;
        let scale = 2.0 / n as f64;
        for i in 0..n {
            let r = f[i] - p.y[i];
            sum += r * r;
            d[i] = scale * r;
        }
        self.loss = sum / n as f64;
    }

    /// E_k = W_kᵀΔ_k and Δ_{k−1} = E_k ⊙ σ'(Z_{k−1}), from the top down.
    #[inline(always)]
    fn backward(&mut self, p: &ActivatedProblem, theta: &[f64]) {
        let layers = p.model.layers();
        let n = self.n;
        for k in (1..layers.len()).rev() {
            let (rows, cols) = (layers[k].rows, layers[k].cols);
            let w = p.model.weight(k, theta);
            let (lo, hi) = self.delta.split_at_mut(self.off[k]);
            let dk = &hi[..rows * n];
            let e = &mut self.e[self.in_off[k]..self.in_off[k + 1]];
            mul_tn(e, w, dk, cols, rows, n, Accum::Replace);
            let below = &mut lo[self.off[k - 1]..];
            let s1 = &self.s1[self.off[k - 1]..self.off[k]];
            for i in 0..below.len() {
                below[i] = e[i] * s1[i];
            }
        }
    }

    /// ∂R/∂W_k = Δ_kH_{k−1}ᵀ.
    #[inline(always)]
    fn gradient(&self, p: &ActivatedProblem, out: &mut [f64]) {
        let layers = p.model.layers();
        let n = self.n;
        for (k, layer) in layers.iter().enumerate() {
            let Some(range) = p.model.param_range(k) else { continue };
            let input: &[f64] = if k == 0 { &p.xt } else { &self.h[rng(&self.off, k - 1)] };
            mul_nt(
                &mut out[range],
                &self.delta[rng(&self.off, k)],
                input,
                layer.rows,
                n,
                layer.cols,
                Accum::Replace,
            );
        }
    }
}

/// Block k of a buffer laid out by the offsets `off`.
#[inline(always)]
fn rng(off: &[usize], k: usize) -> std::ops::Range<usize> {
    off[k]..off[k + 1]
}

/// The problem at one θ: loss, gradient and Hessian-vector products there.
pub struct ActivatedPoint<'p> {
    problem: &'p ActivatedProblem,
    theta: &'p [f64],
    ws: &'p mut ActivatedWorkspace,
}

impl ActivatedPoint<'_> {
    pub fn loss(&self) -> f64 {
        self.ws.loss
    }
    /// The network's outputs f(x_i) on the training samples.
    pub fn outputs(&self) -> &[f64] {
        let m = self.problem.model.layers().len();
        &self.ws.z[rng(&self.ws.off, m - 1)]
    }
    pub fn gradient(&self, out: &mut [f64]) {
        self.ws.gradient(self.problem, out);
    }

    /// out = ∇²R(θ)·v (see the module documentation). Cost ≈ 3 gradients, no allocation.
    pub fn hvp(&mut self, v: &[f64], out: &mut [f64]) {
        let p = self.problem;
        assert_eq!(v.len(), self.theta.len(), "direction has the wrong length");
        assert_eq!(out.len(), self.theta.len(), "output has the wrong length");
        let layers = p.model.layers();
        let m = layers.len();
        let theta = self.theta;
        let ws = &mut *self.ws;
        let n = ws.n;
        // Forward tangents.
        for k in 0..m {
            let (rows, cols) = (layers[k].rows, layers[k].cols);
            let w = p.model.weight(k, theta);
            let block = rng(&ws.off, k);
            {
                let dz = &mut ws.dz[block.clone()];
                if k == 0 {
                    dz.fill(0.0);
                } else {
                    mul_nn(dz, w, &ws.dh[rng(&ws.off, k - 1)], rows, cols, n, Accum::Replace);
                }
                if let Some(range) = p.model.param_range(k) {
                    let input: &[f64] = if k == 0 { &p.xt } else { &ws.h[rng(&ws.off, k - 1)] };
                    mul_nn(dz, &v[range], input, rows, cols, n, Accum::Add);
                }
            }
            if k + 1 < m {
                for i in block {
                    ws.dh[i] = ws.s1[i] * ws.dz[i];
                }
            }
        }
        // Backward tangents.
        let top = rng(&ws.off, m - 1);
        let scale = 2.0 / n as f64;
        for i in top {
            ws.ddelta[i] = scale * ws.dz[i];
        }
        for k in (0..m).rev() {
            let (rows, cols) = (layers[k].rows, layers[k].cols);
            let block = rng(&ws.off, k);
            if let Some(range) = p.model.param_range(k) {
                let o = &mut out[range.clone()];
                let input: &[f64] = if k == 0 { &p.xt } else { &ws.h[rng(&ws.off, k - 1)] };
                mul_nt(o, &ws.ddelta[block.clone()], input, rows, n, cols, Accum::Replace);
                if k > 0 {
                    mul_nt(
                        o,
                        &ws.delta[block.clone()],
                        &ws.dh[rng(&ws.off, k - 1)],
                        rows,
                        n,
                        cols,
                        Accum::Add,
                    );
                }
            }
            if k == 0 {
                break;
            }
            let w = p.model.weight(k, theta);
            let ib = rng(&ws.in_off, k);
            let de = &mut ws.de[ib.clone()];
            mul_tn(de, w, &ws.ddelta[block.clone()], cols, rows, n, Accum::Replace);
            if let Some(range) = p.model.param_range(k) {
                mul_tn(de, &v[range], &ws.delta[block], cols, rows, n, Accum::Add);
            }
            let below = rng(&ws.off, k - 1);
            let e = &ws.e[ib];
            for (j, i) in below.enumerate() {
                ws.ddelta[i] = de[j] * ws.s1[i] + e[j] * ws.s2[i] * ws.dz[i];
            }
        }
    }
}

/// Sharpness λ_max(∇²R(θ)) and λ_min: exact (faer's symmetric eigensolver on the dense Hessian)
/// when P ≤ `opts.exact_max_params` (or `opts.method` says so), else Lanczos on HVPs
/// ([`spectrum::lanczos`], with `opts.bottom` for λ_min).
pub fn hessian_extremes(
    problem: &ActivatedProblem,
    theta: &[f64],
    opts: &SpectrumOptions,
) -> Result<Extremes, SpectrumError> {
    let p = problem.num_params();
    match opts.choose(p) {
        Method::Exact => {
            let vals = linalg::try_sym_eigenvalues(problem.dense_hessian(theta).as_ref())?;
            Ok(Extremes {
                max: vals[p - 1],
                min: vals[0],
                method: Method::Exact,
                iterations: 0,
                min_is_upper_bound: false,
            })
        }
        Method::Lanczos => {
            let mut ws = problem.workspace();
            let mut pt = problem.at(&mut ws, theta);
            let res = spectrum::lanczos(p, |v, out| pt.hvp(v, out), 1, opts.bottom, opts)?;
            Ok(Extremes {
                max: *res.ritz.last().unwrap(),
                min: res.ritz[0],
                method: Method::Lanczos,
                iterations: res.iterations,
                min_is_upper_bound: !res.bottom_converged,
            })
        }
    }
}

/// The authors' estimator on the activated network ([`spectrum::power_iteration_with`]).
pub fn power_iteration(problem: &ActivatedProblem, theta: &[f64], iters: usize, seed: u64) -> f64 {
    let mut ws = problem.workspace();
    let mut pt = problem.at(&mut ws, theta);
    spectrum::power_iteration_with(problem.num_params(), |v, out| pt.hvp(v, out), iters, seed)
}
