//! Gradient descent's passes (R(θ) and ∇R(θ)) of an activated network whose layers are D × D
//! with σ after each (D ≤ 8), then one output row 1 × D, the shape of the paper's GELU MLP
//! (Figure 7: D = 5, ten layers, about 35 million steps). The same formulas as
//! [`crate::engine::activated`] (forward Z_k = W_kH_{k−1}, H_k = σ(Z_k); backward
//! Δ_{k−1} = (W_kᵀΔ_k) ⊙ σ'(Z_{k−1}), ∂R/∂W_k = Δ_kH_{k−1}ᵀ), laid out for the hardware:
//!
//! - samples sit in lanes of [`LANES`] (n padded with zero samples to a multiple of 8; a zero
//!   sample stays zero through every layer, as σ(0) = 0, and contributes nothing to R or ∇R);
//! - D is a compile-time constant, so that a chunk of 8 samples of a layer (D lane vectors)
//!   and a row's D accumulators live in registers: each layer's product is formed once per
//!   chunk and σ is applied to it while it is still there (the padding lanes are evaluated too:
//!   packing the real lanes of the last chunk was measured slower), and the gradient's sums over samples
//!   are D independent accumulator chains instead of D² latency-bound dot products.
//!
//! - products and sums are fused multiply-adds (one rounding each), in the vector types of
//!   [`crate::engine::lane`], and σ is [`gelu_value_slope_fused`]: about a third fewer
//!   operations than the general passes, whose results these match to ~1e-15 relative (not bit
//!   for bit: the order of the sums and the roundings differ).
//!
//! Every operation is element-wise over lanes, and sums over samples are lane-wise, then the 8
//! lanes in one fixed tree: the bits do not depend on the instruction set the loop is compiled
//! for (the test in `experiments::activated` checks AVX-512, AVX2 and the baseline build).
//! Cost per step: O(n·L·D²), about n·L·D² fused multiply-adds and n·(L − 1)·D evaluations of σ
//! (5.7 µs for Figure 7's network on this project's AVX-512 machine, against 11.6 µs for the
//! general passes).

use crate::engine::activated::{ActivatedProblem, ActivatedWorkspace};
use crate::engine::activation::{Activation, gelu_value_slope_fused};
use crate::engine::lane::{LANES, Lane, LaneIsa, Portable};

/// Largest hidden width with a lane path.
pub const MAX_WIDTH: usize = 8;

/// The lane layout of one problem: inputs, targets, and the buffers of the passes.
#[derive(Clone, Debug)]
pub struct LaneNet<const D: usize> {
    /// Number of layers M (M − 1 hidden D × D layers, then 1 × D).
    m: usize,
    /// Real samples n and chunks ⌈n/8⌉.
    n: usize,
    chunks: usize,
    /// Xᵀ by chunk: entry c·D + j holds feature j of samples 8c..8c + 7.
    xt: Vec<Lane>,
    y: Vec<Lane>,
    /// H_k and σ'(Z_k) for k < M − 1 (block k at k·chunks·D, chunk-major as `xt`).
    h: Vec<Lane>,
    s1: Vec<Lane>,
    /// Δ_k for k < M − 1 (as `h`), and Δ_{M−1} (one lane vector per chunk).
    delta: Vec<Lane>,
    top: Vec<Lane>,
}

/// h = σ(z), s = σ'(z) on one chunk (GELU, [`gelu_value_slope_fused`]: D·8 independent evaluations).
#[inline(always)]
fn gelu_chunk<const D: usize>(z: &[Lane; D], h: &mut [Lane; D], s: &mut [Lane; D]) {
    for i in 0..D {
        for l in 0..LANES {
            (h[i][l], s[i][l]) = gelu_value_slope_fused(z[i][l]);
        }
    }
}

/// Σ of the 8 lanes in a fixed tree.
#[inline(always)]
fn reduce(x: &Lane) -> f64 {
    ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]))
}

/// A chunk's D lane vectors as an array.
#[inline(always)]
fn as_chunk<const D: usize>(c: &[Lane]) -> &[Lane; D] {
    c.try_into().expect("a chunk has D lane vectors")
}
#[inline(always)]
fn as_chunk_mut<const D: usize>(c: &mut [Lane]) -> &mut [Lane; D] {
    c.try_into().expect("a chunk has D lane vectors")
}

impl<const D: usize> LaneNet<D> {
    /// The lane layout of `p`, if its network has this shape (M ≥ 2 layers, all D × D but the
    /// last, which is 1 × D) and σ is GELU.
    pub fn new(p: &ActivatedProblem) -> Option<Self> {
        let layers = p.model.layers();
        let m = layers.len();
        let square = layers[..m.saturating_sub(1)].iter().all(|l| l.rows == D && l.cols == D);
        let last = layers.last().is_some_and(|l| l.rows == 1 && l.cols == D);
        if m < 2 || !square || !last || p.activation != Activation::Gelu {
            return None;
        }
        let (n, xt, y) = (p.n(), p.xt(), p.y());
        let chunks = n.div_ceil(LANES);
        let mut xl = vec![[0.0; LANES]; chunks * D];
        for j in 0..D {
            for (s, &v) in xt[j * n..(j + 1) * n].iter().enumerate() {
                xl[(s / LANES) * D + j][s % LANES] = v;
            }
        }
        let mut yl = vec![[0.0; LANES]; chunks];
        for (s, &v) in y.iter().enumerate() {
            yl[s / LANES][s % LANES] = v;
        }
        let block = chunks * D;
        let hidden = (m - 1) * block;
        Some(LaneNet {
            m,
            n,
            chunks,
            xt: xl,
            y: yl,
            h: vec![[0.0; LANES]; hidden],
            s1: vec![[0.0; LANES]; hidden],
            delta: vec![[0.0; LANES]; hidden],
            top: vec![[0.0; LANES]; chunks],
        })
    }

    #[inline(always)]
    fn forward<I: LaneIsa>(&mut self, isa: I, p: &ActivatedProblem, theta: &[f64]) -> f64 {
        let m = self.m;
        let b = self.chunks * D;
        for k in 0..m - 1 {
            let w = &p.model.weight(k, theta)[..D * D];
            let (below, rest) = self.h.split_at_mut(k * b);
            let input: &[Lane] = if k == 0 { &self.xt } else { &below[(k - 1) * b..] };
            // Z = W·H chunk by chunk (z_i = Σ_j w_ij h_j from j = 0, the row-major product's
            // order), then H = σ(Z), σ'(Z) over the whole layer (blocks of independent
            // evaluations: σ is latency-bound).
            let (hk, s1) = (&mut rest[..b], &mut self.s1[k * b..(k + 1) * b]);
            for ((inp, hc), sc) in
                input.chunks_exact(D).zip(hk.chunks_exact_mut(D)).zip(s1.chunks_exact_mut(D))
            {
                let inp = as_chunk::<D>(inp).map(|x| isa.load(&x));
                let mut z = [[0.0; LANES]; D];
                for i in 0..D {
                    let mut acc = isa.mul(isa.splat(w[i * D]), inp[0]);
                    for j in 1..D {
                        acc = isa.mul_add(isa.splat(w[i * D + j]), inp[j], acc);
                    }
                    isa.store(acc, &mut z[i]);
                }
                gelu_chunk(&z, as_chunk_mut(hc), as_chunk_mut(sc));
            }
        }
        // f = W_{M−1}H_{M−2}, Δ_{M−1} = (2/n)(f − y), R = (1/n)Σ(f − y)².
        let w = &p.model.weight(m - 1, theta)[..D];
        let input = &self.h[(m - 2) * b..(m - 1) * b];
        let two_over_n = isa.splat(2.0 / self.n as f64);
        let mut sq = isa.zero();
        for ((inp, t), y) in input.chunks_exact(D).zip(self.top.iter_mut()).zip(&self.y) {
            let inp = as_chunk::<D>(inp);
            let mut f = isa.mul(isa.splat(w[0]), isa.load(&inp[0]));
            for j in 1..D {
                f = isa.mul_add(isa.splat(w[j]), isa.load(&inp[j]), f);
            }
            let r = isa.sub(f, isa.load(y));
            isa.store(isa.mul(two_over_n, r), t);
            sq = isa.mul_add(r, r, sq);
        }
        let mut s = [0.0; LANES];
        isa.store(sq, &mut s);
        reduce(&s) / self.n as f64
    }

    #[inline(always)]
    fn backward<I: LaneIsa>(&mut self, isa: I, p: &ActivatedProblem, theta: &[f64], grad: &mut [f64]) {
        let m = self.m;
        let b = self.chunks * D;
        // The output row: ∂R/∂w = Σ_s Δ_{M−1}(s) H_{M−2}(s), and Δ_{M−2} = (wᵀΔ_{M−1}) ⊙ σ'.
        let w = &p.model.weight(m - 1, theta)[..D];
        if let Some(range) = p.model.param_range(m - 1) {
            let input = &self.h[(m - 2) * b..(m - 1) * b];
            row_gradient::<D, I>(isa, &self.top, 1, 0, input, &mut grad[range]);
        }
        {
            let s1 = &self.s1[(m - 2) * b..(m - 1) * b];
            let out = &mut self.delta[(m - 2) * b..(m - 1) * b];
            for ((t, sc), dc) in self.top.iter().zip(s1.chunks_exact(D)).zip(out.chunks_exact_mut(D)) {
                let (t, sc, dc) = (isa.load(t), as_chunk::<D>(sc), as_chunk_mut::<D>(dc));
                for j in 0..D {
                    let e = isa.mul(isa.splat(w[j]), t);
                    isa.store(isa.mul(e, isa.load(&sc[j])), &mut dc[j]);
                }
            }
        }
        for k in (0..m - 1).rev() {
            let (below, rest) = self.delta.split_at_mut(k * b);
            let dk = &rest[..b];
            if let Some(range) = p.model.param_range(k) {
                let input: &[Lane] = if k == 0 { &self.xt } else { &self.h[(k - 1) * b..k * b] };
                let g = &mut grad[range];
                for i in 0..D {
                    row_gradient::<D, I>(isa, dk, D, i, input, &mut g[i * D..(i + 1) * D]);
                }
            }
            if k == 0 {
                break;
            }
            // Δ_{k−1} = (W_kᵀΔ_k) ⊙ σ'(Z_{k−1}): e_j = Σ_i w_ij δ_i, summed from i = 0.
            let w = &p.model.weight(k, theta)[..D * D];
            let s1 = &self.s1[(k - 1) * b..k * b];
            let out = &mut below[(k - 1) * b..];
            for ((dc, sc), oc) in dk.chunks_exact(D).zip(s1.chunks_exact(D)).zip(out.chunks_exact_mut(D)) {
                let dc = as_chunk::<D>(dc).map(|x| isa.load(&x));
                let (sc, oc) = (as_chunk::<D>(sc), as_chunk_mut::<D>(oc));
                for j in 0..D {
                    let mut e = isa.mul(isa.splat(w[j]), dc[0]);
                    for i in 1..D {
                        e = isa.mul_add(isa.splat(w[i * D + j]), dc[i], e);
                    }
                    isa.store(isa.mul(e, isa.load(&sc[j])), &mut oc[j]);
                }
            }
        }
    }
}

/// Row i of a layer's gradient: out_j = Σ_s Δ_i(s)·H_j(s), Δ with `rows` rows per chunk, H with
/// D: D independent lane accumulators over the chunks, each then reduced in [`reduce`]'s tree.
#[inline(always)]
fn row_gradient<const D: usize, I: LaneIsa>(
    isa: I,
    delta: &[Lane],
    rows: usize,
    i: usize,
    input: &[Lane],
    out: &mut [f64],
) {
    let mut acc = [isa.zero(); D];
    for (dc, hc) in delta.chunks_exact(rows).zip(input.chunks_exact(D)) {
        let (d, hc) = (isa.load(&dc[i]), as_chunk::<D>(hc));
        for j in 0..D {
            acc[j] = isa.mul_add(d, isa.load(&hc[j]), acc[j]);
        }
    }
    let out = &mut out[..D];
    for j in 0..D {
        let mut s = [0.0; LANES];
        isa.store(acc[j], &mut s);
        out[j] = reduce(&s);
    }
}

/// A [`LaneNet`] of whichever width the problem has, or none.
#[derive(Clone, Debug)]
pub enum Lanes {
    D1(LaneNet<1>),
    D2(LaneNet<2>),
    D3(LaneNet<3>),
    D4(LaneNet<4>),
    D5(LaneNet<5>),
    D6(LaneNet<6>),
    D7(LaneNet<7>),
    D8(LaneNet<8>),
}

impl Lanes {
    /// The lane layout when the network's shape has one (see [`LaneNet::new`]).
    pub fn new(p: &ActivatedProblem) -> Option<Lanes> {
        match p.model.d_in() {
            1 => LaneNet::new(p).map(Lanes::D1),
            2 => LaneNet::new(p).map(Lanes::D2),
            3 => LaneNet::new(p).map(Lanes::D3),
            4 => LaneNet::new(p).map(Lanes::D4),
            5 => LaneNet::new(p).map(Lanes::D5),
            6 => LaneNet::new(p).map(Lanes::D6),
            7 => LaneNet::new(p).map(Lanes::D7),
            8 => LaneNet::new(p).map(Lanes::D8),
            _ => None,
        }
    }

    /// R(θ) and ∇R(θ) into `grad` with the portable instructions (for tests and one-off
    /// evaluations; gradient descent dispatches once and compiles its loop for the CPU).
    pub fn loss_and_gradient_into(&mut self, p: &ActivatedProblem, theta: &[f64], grad: &mut [f64]) -> f64 {
        struct Once<'a> {
            p: &'a ActivatedProblem,
            theta: &'a [f64],
            grad: &'a mut [f64],
        }
        impl WithLanePass for Once<'_> {
            type Output = f64;
            fn with<N: LossGradient>(self, net: &mut N) -> f64 {
                net.loss_and_gradient_into(Portable, self.p, self.theta, self.grad)
            }
        }
        assert_eq!(theta.len(), p.num_params(), "θ has the wrong length");
        assert_eq!(grad.len(), p.num_params(), "the gradient buffer has the wrong length");
        self.dispatch(Once { p, theta, grad })
    }

    /// Calls `f` with the net of this width (one dispatch, then monomorphised code).
    #[inline(always)]
    pub fn dispatch<F: WithLanePass>(&mut self, f: F) -> F::Output {
        match self {
            Lanes::D1(n) => f.with(n),
            Lanes::D2(n) => f.with(n),
            Lanes::D3(n) => f.with(n),
            Lanes::D4(n) => f.with(n),
            Lanes::D5(n) => f.with(n),
            Lanes::D6(n) => f.with(n),
            Lanes::D7(n) => f.with(n),
            Lanes::D8(n) => f.with(n),
        }
    }
}

/// R(θ) and ∇R(θ) into a buffer, allocation-free (the gradient-descent step's pass), with the
/// vector instructions `isa` where the pass uses them.
pub trait LossGradient {
    fn loss_and_gradient_into<I: LaneIsa>(
        &mut self,
        isa: I,
        p: &ActivatedProblem,
        theta: &[f64],
        grad: &mut [f64],
    ) -> f64;
}

/// The lane passes: forward, then backward. Allocates nothing.
impl<const D: usize> LossGradient for LaneNet<D> {
    #[inline(always)]
    fn loss_and_gradient_into<I: LaneIsa>(
        &mut self,
        isa: I,
        p: &ActivatedProblem,
        theta: &[f64],
        grad: &mut [f64],
    ) -> f64 {
        let loss = self.forward(isa, p, theta);
        self.backward(isa, p, theta, grad);
        loss
    }
}

/// The general passes ([`ActivatedProblem::loss_and_gradient_into`], compiler-vectorised), for
/// any other shape.
impl LossGradient for ActivatedWorkspace {
    #[inline(always)]
    fn loss_and_gradient_into<I: LaneIsa>(
        &mut self,
        _isa: I,
        p: &ActivatedProblem,
        theta: &[f64],
        grad: &mut [f64],
    ) -> f64 {
        p.loss_and_gradient_into(self, theta, grad)
    }
}

/// What runs with a [`LaneNet`] of the problem's width ([`Lanes::dispatch`]).
pub trait WithLanePass {
    type Output;
    fn with<N: LossGradient>(self, net: &mut N) -> Self::Output;
}
