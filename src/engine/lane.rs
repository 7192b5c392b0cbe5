//! Vectors of 8 f64 lanes and the few operations the lane passes need
//! ([`crate::engine::activated_lanes`]): load, store, splat, +, −, ×. Each is one IEEE operation
//! per lane (a fused multiply-add is one operation, one rounding), so every implementation gives the same bits: [`Portable`] (plain arrays),
//! [`Avx2`] (two 256-bit registers) and [`Avx512`] (one 512-bit register).
//!
//! Written with explicit vector types rather than loops over arrays: on loops over `[f64; 8]`
//! inside a small product the compiler vectorises across the matrix's rows instead of the
//! lanes (gathers of W's columns, scatters of the result), which was slower than no SIMD at all.
//! [`Portable`]'s fused multiply-add is `f64::mul_add`: an instruction where the build has FMA,
//! else the C library's correctly rounded `fma` (slow, the same bits).

/// 8 samples' values of one quantity.
pub type Lane = [f64; LANES];
/// Lanes per vector.
pub const LANES: usize = 8;

/// An instruction set for lane vectors. A value of an implementing type is a token that the CPU
/// has the instructions (it is only constructed after detection), so the methods are safe.
pub trait LaneIsa: Copy {
    type V: Copy;
    fn load(self, x: &Lane) -> Self::V;
    fn store(self, v: Self::V, out: &mut Lane);
    fn splat(self, a: f64) -> Self::V;
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// a·b + c with one rounding (fused multiply-add).
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    fn zero(self) -> Self::V {
        self.splat(0.0)
    }
}

/// Plain arrays (any CPU; the compiler may vectorise them as it likes).
#[derive(Clone, Copy, Debug)]
pub struct Portable;

impl LaneIsa for Portable {
    type V = Lane;
    #[inline(always)]
    fn load(self, x: &Lane) -> Lane {
        *x
    }
    #[inline(always)]
    fn store(self, v: Lane, out: &mut Lane) {
        *out = v;
    }
    #[inline(always)]
    fn splat(self, a: f64) -> Lane {
        [a; LANES]
    }
    #[inline(always)]
    fn add(self, a: Lane, b: Lane) -> Lane {
        std::array::from_fn(|l| a[l] + b[l])
    }
    #[inline(always)]
    fn sub(self, a: Lane, b: Lane) -> Lane {
        std::array::from_fn(|l| a[l] - b[l])
    }
    #[inline(always)]
    fn mul(self, a: Lane, b: Lane) -> Lane {
        std::array::from_fn(|l| a[l] * b[l])
    }
    /// `f64::mul_add`: the FMA instruction where the build has it, else the C library's `fma`
    /// (correctly rounded, so the same bits).
    #[inline(always)]
    fn mul_add(self, a: Lane, b: Lane, c: Lane) -> Lane {
        std::array::from_fn(|l| a[l].mul_add(b[l], c[l]))
    }
}

#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Lane, LaneIsa};
    use std::arch::x86_64::*;

    /// AVX-512F: one `__m512d` per lane vector.
    #[derive(Clone, Copy, Debug)]
    pub struct Avx512(());

    impl Avx512 {
        /// The token, if this CPU has AVX-512F.
        pub fn detect() -> Option<Self> {
            std::arch::is_x86_feature_detected!("avx512f").then_some(Avx512(()))
        }
    }

    // SAFETY (every block below): the token exists only where the CPU has AVX-512F; the
    // loads and stores are unaligned ones on 8-f64 arrays.
    impl LaneIsa for Avx512 {
        type V = __m512d;
        #[inline(always)]
        fn load(self, x: &Lane) -> __m512d {
            unsafe { _mm512_loadu_pd(x.as_ptr()) }
        }
        #[inline(always)]
        fn store(self, v: __m512d, out: &mut Lane) {
            unsafe { _mm512_storeu_pd(out.as_mut_ptr(), v) }
        }
        #[inline(always)]
        fn splat(self, a: f64) -> __m512d {
            unsafe { _mm512_set1_pd(a) }
        }
        #[inline(always)]
        fn add(self, a: __m512d, b: __m512d) -> __m512d {
            unsafe { _mm512_add_pd(a, b) }
        }
        #[inline(always)]
        fn sub(self, a: __m512d, b: __m512d) -> __m512d {
            unsafe { _mm512_sub_pd(a, b) }
        }
        #[inline(always)]
        fn mul(self, a: __m512d, b: __m512d) -> __m512d {
            unsafe { _mm512_mul_pd(a, b) }
        }
        #[inline(always)]
        fn mul_add(self, a: __m512d, b: __m512d, c: __m512d) -> __m512d {
            unsafe { _mm512_fmadd_pd(a, b, c) }
        }
    }

    /// AVX2 and FMA: two `__m256d` per lane vector.
    #[derive(Clone, Copy, Debug)]
    pub struct Avx2(());

    impl Avx2 {
        /// The token, if this CPU has AVX2 and FMA.
        pub fn detect() -> Option<Self> {
            let yes =
                std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
            yes.then_some(Avx2(()))
        }
    }

    // SAFETY (every block below): the token exists only where the CPU has AVX2 (hence AVX) and FMA;
    // each half is 4 in-bounds f64 of an 8-f64 array, unaligned access.
    impl LaneIsa for Avx2 {
        type V = (__m256d, __m256d);
        #[inline(always)]
        fn load(self, x: &Lane) -> Self::V {
            unsafe { (_mm256_loadu_pd(x.as_ptr()), _mm256_loadu_pd(x.as_ptr().add(4))) }
        }
        #[inline(always)]
        fn store(self, v: Self::V, out: &mut Lane) {
            unsafe {
                _mm256_storeu_pd(out.as_mut_ptr(), v.0);
                _mm256_storeu_pd(out.as_mut_ptr().add(4), v.1);
            }
        }
        #[inline(always)]
        fn splat(self, a: f64) -> Self::V {
            unsafe { (_mm256_set1_pd(a), _mm256_set1_pd(a)) }
        }
        #[inline(always)]
        fn add(self, a: Self::V, b: Self::V) -> Self::V {
            unsafe { (_mm256_add_pd(a.0, b.0), _mm256_add_pd(a.1, b.1)) }
        }
        #[inline(always)]
        fn sub(self, a: Self::V, b: Self::V) -> Self::V {
            unsafe { (_mm256_sub_pd(a.0, b.0), _mm256_sub_pd(a.1, b.1)) }
        }
        #[inline(always)]
        fn mul(self, a: Self::V, b: Self::V) -> Self::V {
            unsafe { (_mm256_mul_pd(a.0, b.0), _mm256_mul_pd(a.1, b.1)) }
        }
        #[inline(always)]
        fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
            unsafe { (_mm256_fmadd_pd(a.0, b.0, c.0), _mm256_fmadd_pd(a.1, b.1, c.1)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every instruction set this CPU has gives the portable arrays' bits.
    #[test]
    fn instruction_sets_agree_bit_for_bit() {
        let a: Lane = [1.0 / 3.0, -2.5e-300, 7.0, f64::MAX, -0.0, 1e-310, 3.0, f64::INFINITY];
        let b: Lane = [0.1, 1e300, -7.0, 2.0, 0.0, 1e-10, f64::NAN, 1.0];
        let run = |isa: &dyn Fn(&Lane, &Lane) -> [Lane; 5]| isa(&a, &b);
        fn ops<I: LaneIsa>(i: I, a: &Lane, b: &Lane) -> [Lane; 5] {
            let (x, y) = (i.load(a), i.load(b));
            let mut out = [[0.0; LANES]; 5];
            i.store(i.add(x, y), &mut out[0]);
            i.store(i.sub(x, y), &mut out[1]);
            i.store(i.mul(x, y), &mut out[2]);
            i.store(i.mul(i.splat(0.5), x), &mut out[3]);
            i.store(i.mul_add(x, y, i.splat(1.0 / 3.0)), &mut out[4]);
            out
        }
        let bits = |o: [Lane; 5]| o.map(|l| l.map(f64::to_bits));
        let reference = bits(run(&|a, b| ops(Portable, a, b)));
        // The portable result against the scalar operations themselves.
        for l in 0..LANES {
            assert_eq!(reference[0][l], (a[l] + b[l]).to_bits());
            assert_eq!(reference[1][l], (a[l] - b[l]).to_bits());
            assert_eq!(reference[2][l], (a[l] * b[l]).to_bits());
            assert_eq!(reference[3][l], (0.5 * a[l]).to_bits());
        }
        // One rounding: (1/3)·3 + (−1) is 0 unfused but the rounding error of 1/3 fused.
        let third = 1.0f64 / 3.0;
        let f = Portable.mul_add([third; LANES], [3.0; LANES], [-1.0; LANES]);
        assert_eq!(f[0], -1.0 / 18_014_398_509_481_984.0, "fused: −2⁻⁵⁴");
        assert_eq!(third * 3.0 - 1.0, 0.0);
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(i) = Avx2::detect() {
                assert_eq!(bits(run(&|a, b| ops(i, a, b))), reference, "AVX2");
            }
            if let Some(i) = Avx512::detect() {
                assert_eq!(bits(run(&|a, b| ops(i, a, b))), reference, "AVX-512");
            }
        }
    }
}
