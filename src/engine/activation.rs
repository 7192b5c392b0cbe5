//! Element-wise activations between layers, with their first two derivatives.
//!
//! GELU is JAX's default `jax.nn.gelu` (the tanh approximation):
//! g(x) = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³).
//! It is evaluated in the identical logistic form g(x) = x·s, s = 1/(1 + e^{−2u})
//! (since ½(1 + tanh u) = 1/(1 + e^{−2u})), and 1 − s = e^{−2u}/(1 + e^{−2u}), neither of which
//! cancels (½(1 + tanh u) loses 6 digits at x = −6 in f64), with
//! g'(x) = s + 2x·s(1 − s)u' and g''(x) = 2s(1 − s)(2u' + x(u'' + 2(1 − 2s)u'²)),
//! u' = √(2/π)(1 + 3·0.044715x²), u'' = 6·0.044715·√(2/π)x.
//! One exponential per entry, by [`exp`] (branch-free, so the loops over a layer vectorise).

/// The activation applied after every layer but the last.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// No activation: the deep linear network (the reduced O(L·d²) passes of
    /// [`crate::engine::problem`]).
    #[default]
    Identity,
    /// GELU, tanh approximation (`jax.nn.gelu`'s default).
    Gelu,
}

impl Activation {
    pub const ALL: [Activation; 2] = [Activation::Identity, Activation::Gelu];
    /// `identity` or `gelu` (the instance files' `activation` value).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Gelu => "gelu",
        }
    }
    pub fn parse(s: &str) -> Option<Activation> {
        Activation::ALL.into_iter().find(|a| a.name() == s)
    }
    pub fn is_identity(&self) -> bool {
        *self == Activation::Identity
    }

    /// σ(x) and σ'(x).
    #[inline(always)]
    pub fn value_slope(self, x: f64) -> (f64, f64) {
        match self {
            Activation::Identity => (x, 1.0),
            Activation::Gelu => {
                let (g, g1, _) = gelu_parts(x, false);
                (g, g1)
            }
        }
    }

    /// (σ(x), σ'(x), σ''(x)).
    #[inline(always)]
    pub fn derivatives(self, x: f64) -> (f64, f64, f64) {
        match self {
            Activation::Identity => (x, 1.0, 0.0),
            Activation::Gelu => gelu_parts(x, true),
        }
    }
}

/// √(2/π).
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of the tanh approximation.
const GELU_CUBIC: f64 = 0.044_715;
/// Beyond |x| = 1e10 the logistic factor s is exactly 0 or 1 in f64; the derivative terms use
/// x clamped there so that they stay finite (their factor s(1 − s) is then exactly 0).
const GELU_CLAMP: f64 = 1e10;

/// GELU and its slope at x.
#[inline(always)]
pub fn gelu_value_slope(x: f64) -> (f64, f64) {
    let (g, g1, _) = gelu_parts(x, false);
    (g, g1)
}

/// GELU and its slope over a slice: h_i = g(z_i), d1_i = g'(z_i), bit for bit
/// [`gelu_value_slope`] of each entry. Blocks of [`GELU_BLOCK`] entries (the tail padded to a
/// block) give the compiler independent chains of several SIMD vectors to interleave: one
/// evaluation is a long dependent chain (the exponential and a division), and
/// a vector at a time leaves the floating-point units mostly waiting.
#[inline(always)]
pub fn gelu_value_slope_slice(z: &[f64], h: &mut [f64], d1: &mut [f64]) {
    assert!(h.len() == z.len() && d1.len() == z.len(), "slices of different lengths");
    #[inline(always)]
    fn block(z: &[f64; GELU_BLOCK], h: &mut [f64; GELU_BLOCK], d1: &mut [f64; GELU_BLOCK]) {
        for j in 0..GELU_BLOCK {
            (h[j], d1[j]) = gelu_value_slope(z[j]);
        }
    }
    let (zc, hc, dc) =
        (z.chunks_exact(GELU_BLOCK), h.chunks_exact_mut(GELU_BLOCK), d1.chunks_exact_mut(GELU_BLOCK));
    let (zr, start) = (zc.remainder(), z.len() - z.len() % GELU_BLOCK);
    for ((z, h), d1) in zc.zip(hc).zip(dc) {
        block(z.try_into().unwrap(), h.try_into().unwrap(), d1.try_into().unwrap());
    }
    if !zr.is_empty() {
        let (mut zp, mut hp, mut dp) = ([0.0; GELU_BLOCK], [0.0; GELU_BLOCK], [0.0; GELU_BLOCK]);
        zp[..zr.len()].copy_from_slice(zr);
        block(&zp, &mut hp, &mut dp);
        h[start..].copy_from_slice(&hp[..zr.len()]);
        d1[start..].copy_from_slice(&dp[..zr.len()]);
    }
}

/// Entries per block of [`gelu_value_slope_slice`] (eight AVX2 or four AVX-512 vectors).
pub const GELU_BLOCK: usize = 32;

/// GELU and its first two derivatives at x.
#[inline(always)]
pub fn gelu_derivatives(x: f64) -> (f64, f64, f64) {
    gelu_parts(x, true)
}

/// GELU and its derivatives at x (σ'' only when `second`).
#[inline(always)]
fn gelu_parts(x: f64, second: bool) -> (f64, f64, f64) {
    let xc = x.clamp(-GELU_CLAMP, GELU_CLAMP);
    let x2 = xc * xc;
    let u = SQRT_2_OVER_PI * (xc + GELU_CUBIC * x2 * xc);
    // s = 1/(1 + e^{−2u}); for −2u ≥ 700 (x ≲ −21.2), the true s ≤ e^{−700} is set to 0.
    let t = (-2.0 * u).clamp(-700.0, 700.0);
    // 1 − s = e^t·s exactly (no cancellation when s is close to 1).
    let e = exp(t);
    let inv = 1.0 / (1.0 + e);
    let (s, sm) = if t >= 700.0 { (0.0, 1.0) } else { (inv, e * inv) };
    let ss = s * sm;
    let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * x2);
    let g = x * s;
    let g1 = s + 2.0 * xc * ss * du;
    let g2 = if second {
        let ddu = 6.0 * GELU_CUBIC * SQRT_2_OVER_PI * xc;
        2.0 * ss * (2.0 * du + xc * (ddu + 2.0 * (sm - s) * du * du))
    } else {
        0.0
    };
    (g, g1, g2)
}

/// The range reduction of [`exp`] and [`exp_fused`]: log₂e, and fdlibm's split of ln 2 (the
/// high part has 32 trailing zero bits, so k·LN2_HI is exact).
const LOG2_E: f64 = std::f64::consts::LOG2_E;
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// 1.5·2^52: adding it rounds to an integer, which then sits in the low mantissa bits.
const MAGIC: f64 = 6_755_399_441_055_744.0;

/// e^t for t ∈ [−700, 700], branch-free (vectorisable): t = k·ln 2 + r with |r| ≤ ½ln 2 (Cody–Waite,
/// ln 2 split in two), e^r by its Taylor polynomial of degree 13 (truncation < 5e-18 relative; Estrin's scheme),
/// 2^k from the exponent bits. Relative error within a few ulp of the correctly rounded value.
#[inline(always)]
pub fn exp(t: f64) -> f64 {
    let kd = t * LOG2_E + MAGIC;
    let bits = kd.to_bits();
    let k = kd - MAGIC;
    let r = (t - k * LN2_HI) - k * LN2_LO;
    // The Taylor polynomial Σ_{j≤13} r^j/j! by Estrin's scheme: pairs c_j + c_{j+1}r, then
    // powers r², r⁴, r⁸, so that the dependent chain is 5 multiply-add levels instead of
    // Horner's 13 (the evaluation is latency-bound). No fused multiply-adds: without FMA
    // hardware they would be library calls outside pulp's dispatch.
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let q0 = 1.0 + r;
    let q1 = 0.5 + r * (1.0 / 6.0);
    let q2 = 1.0 / 24.0 + r * (1.0 / 120.0);
    let q3 = 1.0 / 720.0 + r * (1.0 / 5_040.0);
    let q4 = 1.0 / 40_320.0 + r * (1.0 / 362_880.0);
    let q5 = 1.0 / 3_628_800.0 + r * (1.0 / 39_916_800.0);
    let q6 = 1.0 / 479_001_600.0 + r * (1.0 / 6_227_020_800.0);
    let s0 = q0 + q1 * r2;
    let s1 = q2 + q3 * r2;
    let s2 = q4 + q5 * r2;
    let t0 = s0 + s1 * r4;
    let t1 = s2 + q6 * r4;
    let p = t0 + t1 * r8;
    // 2^k: the low 12 bits of `bits` are k mod 2^12; (k + 1023) lands in the exponent field.
    let scale = f64::from_bits((bits << 52).wrapping_add(1023u64 << 52));
    p * scale
}

/// GELU and its slope at x with fused multiply-adds (`f64::mul_add`, one rounding each): the
/// formulas of [`gelu_value_slope`] with a·b + c fused wherever it occurs, and [`exp_fused`].
/// About a third fewer operations; within a few ulp of the unfused values. The lane passes of
/// gradient descent use it inside code compiled for FMA hardware (elsewhere each `mul_add` is a
/// call to the C library's correctly rounded `fma`: the same bits, slowly).
#[inline(always)]
pub fn gelu_value_slope_fused(x: f64) -> (f64, f64) {
    let xc = x.clamp(-GELU_CLAMP, GELU_CLAMP);
    let x2 = xc * xc;
    let u = SQRT_2_OVER_PI * (GELU_CUBIC * x2).mul_add(xc, xc);
    let t = (-2.0 * u).clamp(-700.0, 700.0);
    let e = exp_fused(t);
    let inv = 1.0 / (1.0 + e);
    let (s, sm) = if t >= 700.0 { (0.0, 1.0) } else { (inv, e * inv) };
    let ss = s * sm;
    let du = SQRT_2_OVER_PI * (3.0 * GELU_CUBIC).mul_add(x2, 1.0);
    let g = x * s;
    let g1 = (2.0 * xc * ss).mul_add(du, s);
    (g, g1)
}

/// [`exp`] with fused multiply-adds: the reduction t − k·ln 2 and every pair of the Estrin scheme
/// as one rounding each (the same Taylor polynomial of degree 13). Relative error within a few
/// ulp of the correctly rounded value.
#[inline(always)]
pub fn exp_fused(t: f64) -> f64 {
    let kd = t.mul_add(LOG2_E, MAGIC);
    let bits = kd.to_bits();
    let k = kd - MAGIC;
    let r = (-k).mul_add(LN2_LO, (-k).mul_add(LN2_HI, t));
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let q0 = 1.0 + r;
    let q1 = r.mul_add(1.0 / 6.0, 0.5);
    let q2 = r.mul_add(1.0 / 120.0, 1.0 / 24.0);
    let q3 = r.mul_add(1.0 / 5_040.0, 1.0 / 720.0);
    let q4 = r.mul_add(1.0 / 362_880.0, 1.0 / 40_320.0);
    let q5 = r.mul_add(1.0 / 39_916_800.0, 1.0 / 3_628_800.0);
    let q6 = r.mul_add(1.0 / 6_227_020_800.0, 1.0 / 479_001_600.0);
    let s0 = q1.mul_add(r2, q0);
    let s1 = q3.mul_add(r2, q2);
    let s2 = q5.mul_add(r2, q4);
    let t0 = s1.mul_add(r4, s0);
    let t1 = q6.mul_add(r4, s2);
    let p = t1.mul_add(r8, t0);
    let scale = f64::from_bits((bits << 52).wrapping_add(1023u64 << 52));
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std_within_a_few_ulp() {
        let mut worst = 0.0f64;
        let mut t = -700.0;
        while t <= 700.0 {
            let (a, b) = (exp(t), t.exp());
            worst = worst.max(((a - b) / b).abs());
            t += 0.0137;
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn gelu_saturates_without_nan() {
        for &x in &[1e12, 1e300, f64::MAX, -1e12, -1e300, -f64::MAX, -25.0, 25.0] {
            let (g, g1, g2) = Activation::Gelu.derivatives(x);
            assert!(g.is_finite() && g1.is_finite() && g2.is_finite(), "x = {x}: {g} {g1} {g2}");
            // The true values: g = x or 0 (|g| < 1e-200), g' = 1 or 0, g'' = 0, to within 1e-200.
            if x > 0.0 {
                assert_eq!((g, g1), (x, 1.0));
            } else {
                assert_eq!(g1, 0.0);
                assert!(g.abs() < 1e-200);
            }
            assert!(g2.abs() < 1e-200, "x = {x}: g'' = {g2}");
        }
    }
}
