//! Small dense kernels on row-major slices, and thin wrappers over faer.
//!
//! The derivative passes of a deep linear network multiply thin matrices (one row per output,
//! `d_out = 1` for univariate regression) by the layers. For those sizes a hand-written loop
//! beats any library call overhead, so products below [`FAER_MIN_FLOPS`] multiply-adds are done
//! here and larger ones go to faer's matmul (always sequential, so results never depend on the
//! thread count). Everything else (eigen-decompositions, SVD) is faer.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};

/// Products with at least this many multiply-adds are delegated to faer (measured crossover
/// on the development machine, see `dlncheck bench`).
pub const FAER_MIN_FLOPS: usize = 32 * 32 * 32;

/// `out (m×n) ← a (m×k) · b (k×n)` (`Accum::Replace`) or `out += a·b` (`Accum::Add`), all
/// row-major.
#[inline(always)]
pub fn mul_nn(out: &mut [f64], a: &[f64], b: &[f64], m: usize, k: usize, n: usize, acc: Accum) {
    debug_assert_eq!(out.len(), m * n);
    debug_assert_eq!(a.len(), m * k);
    debug_assert_eq!(b.len(), k * n);
    if m * k * n >= FAER_MIN_FLOPS {
        matmul(
            MatMut::from_row_major_slice_mut(out, m, n),
            acc,
            MatRef::from_row_major_slice(a, m, k),
            MatRef::from_row_major_slice(b, k, n),
            1.0,
            Par::Seq,
        );
        return;
    }
    for (out_row, a_row) in out.chunks_exact_mut(n).zip(a.chunks_exact(k)) {
        let mut terms = a_row.iter().zip(b.chunks_exact(n));
        if acc == Accum::Replace {
            // The first term assigns (no separate zero fill).
            match terms.next() {
                Some((&a0, b0)) => out_row.iter_mut().zip(b0).for_each(|(o, &x)| *o = a0 * x),
                None => out_row.fill(0.0),
            }
        }
        for (&a_il, b_row) in terms {
            axpy(out_row, a_il, b_row);
        }
    }
}

/// `out (m×n) ← a (m×k) · bᵀ` (`Accum::Replace`) or `out += a·bᵀ` (`Accum::Add`), `b` n×k, all
/// row-major.
#[inline(always)]
pub fn mul_nt(out: &mut [f64], a: &[f64], b: &[f64], m: usize, k: usize, n: usize, acc: Accum) {
    debug_assert_eq!(out.len(), m * n);
    debug_assert_eq!(a.len(), m * k);
    debug_assert_eq!(b.len(), n * k);
    if m * k * n >= FAER_MIN_FLOPS {
        matmul(
            MatMut::from_row_major_slice_mut(out, m, n),
            acc,
            MatRef::from_row_major_slice(a, m, k),
            MatRef::from_row_major_slice(b, n, k).transpose(),
            1.0,
            Par::Seq,
        );
        return;
    }
    for (out_row, a_row) in out.chunks_exact_mut(n).zip(a.chunks_exact(k)) {
        for (o, b_row) in out_row.iter_mut().zip(b.chunks_exact(k)) {
            let d = dot(a_row, b_row);
            *o = if acc == Accum::Add { *o + d } else { d };
        }
    }
}

/// `out (m×n) ← aᵀ · b` (`Accum::Replace`) or `out += aᵀ·b` (`Accum::Add`), `a` k×m, `b` k×n,
/// all row-major.
/// With k = 1 this is the outer product that forms a layer's gradient.
#[inline(always)]
pub fn mul_tn(out: &mut [f64], a: &[f64], b: &[f64], m: usize, k: usize, n: usize, acc: Accum) {
    debug_assert_eq!(out.len(), m * n);
    debug_assert_eq!(a.len(), k * m);
    debug_assert_eq!(b.len(), k * n);
    if m * k * n >= FAER_MIN_FLOPS {
        matmul(
            MatMut::from_row_major_slice_mut(out, m, n),
            acc,
            MatRef::from_row_major_slice(a, k, m).transpose(),
            MatRef::from_row_major_slice(b, k, n),
            1.0,
            Par::Seq,
        );
        return;
    }
    if k == 1 && acc == Accum::Replace {
        // Outer product a bᵀ, written once.
        for (out_row, &a_i) in out.chunks_exact_mut(n).zip(a) {
            for (o, &b_j) in out_row.iter_mut().zip(b) {
                *o = a_i * b_j;
            }
        }
        return;
    }
    if acc == Accum::Replace {
        out.fill(0.0);
    }
    for (a_row, b_row) in a.chunks_exact(m).zip(b.chunks_exact(n)) {
        for (out_row, &a_li) in out.chunks_exact_mut(n).zip(a_row) {
            axpy(out_row, a_li, b_row);
        }
    }
}

/// M ← (M + Mᵀ)/2 for a square M (removes the rounding asymmetry of a computed Hessian or
/// Gram matrix before a symmetric eigensolver reads one triangle). Cost O(n²).
pub fn symmetrize(m: &mut Mat<f64>) {
    for i in 0..m.nrows() {
        for j in 0..i {
            let s = 0.5 * (m[(i, j)] + m[(j, i)]);
            m[(i, j)] = s;
            m[(j, i)] = s;
        }
    }
}

/// `y ← y + alpha·x`.
#[inline(always)]
pub fn axpy(y: &mut [f64], alpha: f64, x: &[f64]) {
    debug_assert_eq!(y.len(), x.len());
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// Euclidean inner product (sequential, fixed summation order, so bits never depend on the
/// thread count): four interleaved partial sums over chunks of 4, which the compiler vectorises.
#[inline(always)]
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    debug_assert_eq!(x.len(), y.len());
    if x.len() < 8 {
        return x.iter().zip(y).fold(0.0, |acc, (a, b)| acc + a * b);
    }
    let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
    let tail: f64 = xc.remainder().iter().zip(yc.remainder()).map(|(a, b)| a * b).sum();
    let mut s = [0.0f64; 4];
    for (a, b) in xc.zip(yc) {
        s[0] += a[0] * b[0];
        s[1] += a[1] * b[1];
        s[2] += a[2] * b[2];
        s[3] += a[3] * b[3];
    }
    (s[0] + s[1]) + (s[2] + s[3]) + tail
}

/// (x₁·y, x₂·y), each bit for bit [`dot`]'s, in one loop: two independent accumulator chains
/// share the loads of y (a lone [`dot`] is bound by its add latency; rows in pairs make a
/// matrix–vector product about 10 % faster at d = 3000).
#[inline(always)]
pub fn dot_pair(x1: &[f64], x2: &[f64], y: &[f64]) -> (f64, f64) {
    let n = y.len();
    debug_assert!(x1.len() == n && x2.len() == n);
    if n < 8 {
        return (dot(x1, y), dot(x2, y));
    }
    let (x1, x2) = (&x1[..n], &x2[..n]);
    let m = n / 4 * 4;
    let (mut s, mut t) = ([0.0f64; 4], [0.0f64; 4]);
    let mut k = 0;
    while k < m {
        for l in 0..4 {
            s[l] += x1[k + l] * y[k + l];
            t[l] += x2[k + l] * y[k + l];
        }
        k += 4;
    }
    let tail = |x: &[f64]| -> f64 { x[m..].iter().zip(&y[m..]).map(|(a, b)| a * b).sum() };
    ((s[0] + s[1]) + (s[2] + s[3]) + tail(x1), (t[0] + t[1]) + (t[2] + t[3]) + tail(x2))
}

/// out_i = [`dot`](row_i, v) for the row-major matrix `m` with `v.len()` columns, rows in
/// pairs through [`dot_pair`] (bit for bit the row-by-row product). O(rows·cols).
pub fn matvec_rows(m: &[f64], v: &[f64], out: &mut [f64]) {
    let c = v.len();
    let mut pairs = out.chunks_exact_mut(2).zip(m.chunks_exact(2 * c.max(1)));
    for (o, rows) in &mut pairs {
        let (a, b) = dot_pair(&rows[..c], &rows[c..], v);
        o[0] = a;
        o[1] = b;
    }
    if out.len() % 2 == 1 {
        let i = out.len() - 1;
        out[i] = dot(&m[i * c..(i + 1) * c], v);
    }
}

/// [`matvec_rows`] of one matrix with two vectors (each pair of rows read once from memory):
/// out1_i = row_i·v1, out2_i = row_i·v2, bit for bit.
pub fn matvec_rows2(m: &[f64], v1: &[f64], v2: &[f64], out1: &mut [f64], out2: &mut [f64]) {
    let c = v1.len();
    let rows = out1.len();
    for i in (0..rows - rows % 2).step_by(2) {
        let (r1, r2) = (&m[i * c..(i + 1) * c], &m[(i + 1) * c..(i + 2) * c]);
        (out1[i], out1[i + 1]) = dot_pair(r1, r2, v1);
        (out2[i], out2[i + 1]) = dot_pair(r1, r2, v2);
    }
    if rows % 2 == 1 {
        let i = rows - 1;
        out1[i] = dot(&m[i * c..(i + 1) * c], v1);
        out2[i] = dot(&m[i * c..(i + 1) * c], v2);
    }
}

/// Euclidean norm, without spurious overflow or underflow: √(xᵀx) when xᵀx is a normal
/// finite number (bit for bit the plain formula), else the scaled form m·‖x/m‖ with
/// m = max|x_i| (LAPACK's `dnrm2` idea), so that ‖x‖ is computed whenever it is representable
/// (entries of 1e200 or 1e-170 included). NaN entries give NaN.
#[inline(always)]
pub fn norm(x: &[f64]) -> f64 {
    let s = dot(x, x);
    if s.is_finite() && s >= NORM_SAFE_MIN {
        return s.sqrt();
    }
    scaled_norm(x)
}

/// Below this, xᵀx may have lost bits to underflow (2⁻⁹⁰⁰; entries of 2⁻⁴⁵⁰ ≈ 1e-135).
const NORM_SAFE_MIN: f64 = 1.1754943508222875e-271;

/// m·‖x/m‖ with m = max|x_i| (a power of two, so the scaling is exact).
#[cold]
fn scaled_norm(x: &[f64]) -> f64 {
    let mut m = 0.0f64;
    for v in x {
        if v.is_nan() {
            return f64::NAN;
        }
        m = m.max(v.abs());
    }
    if m == 0.0 || m.is_infinite() {
        return m;
    }
    let e = exponent(m);
    let s: f64 = x.iter().map(|v| ldexp(*v, -e).powi(2)).sum();
    ldexp(s.sqrt(), e)
}

/// The binary exponent e of a finite non-zero x: 2^e ≤ |x| < 2^{e+1} (subnormals included).
pub fn exponent(x: f64) -> i32 {
    debug_assert!(x.is_finite() && x != 0.0);
    let bits = x.abs().to_bits();
    let raw = ((bits >> 52) & 0x7ff) as i32;
    if raw == 0 {
        // Subnormal: 2^-1074 · mantissa.
        let mant = bits & ((1u64 << 52) - 1);
        -1074 + (63 - mant.leading_zeros() as i32)
    } else {
        raw - 1023
    }
}

/// x·2^e, exact unless the result overflows or underflows (applied in steps of at most 2^±1000
/// so that no intermediate power of two is out of range).
pub fn ldexp(mut x: f64, mut e: i32) -> f64 {
    while e != 0 {
        let step = e.clamp(-1000, 1000);
        x *= f64::from_bits(((step + 1023) as u64) << 52);
        e -= step;
    }
    x
}

/// Copies a row-major slice into an owned faer matrix.
pub fn to_mat(data: &[f64], rows: usize, cols: usize) -> Mat<f64> {
    Mat::from_fn(rows, cols, |i, j| data[i * cols + j])
}

/// Columns per block of the copies between row-major and column-major storage: a block of
/// rows × 64 keeps the 64 strided streams in L1 (a plain element loop misses the cache on
/// every strided access: 3× slower at 3000 × 3000).
const TRANSPOSE_BLOCK: usize = 64;

/// Row-major copy of a faer matrix.
pub fn to_row_major(m: MatRef<'_, f64>) -> Vec<f64> {
    let (r, c) = (m.nrows(), m.ncols());
    let mut out = vec![0.0; r * c];
    for j0 in (0..c).step_by(TRANSPOSE_BLOCK) {
        let j1 = (j0 + TRANSPOSE_BLOCK).min(c);
        for i in 0..r {
            for j in j0..j1 {
                out[i * c + j] = m[(i, j)];
            }
        }
    }
    out
}

/// The `rows.len()` × `cols` matrix whose rows are `rows` (each of length `cols`, checked by
/// the caller).
pub fn mat_from_rows(rows: &[Vec<f64>], cols: usize) -> Mat<f64> {
    let mut m = Mat::<f64>::zeros(rows.len(), cols);
    for j0 in (0..cols).step_by(TRANSPOSE_BLOCK) {
        let j1 = (j0 + TRANSPOSE_BLOCK).min(cols);
        for (i, row) in rows.iter().enumerate() {
            for j in j0..j1 {
                m[(i, j)] = row[j];
            }
        }
    }
    m
}

/// A symmetric eigen-decomposition that could not be computed: a non-finite entry (an
/// overflow upstream), or faer's iteration did not converge. A numerical failure (exit code 3
/// at the command line), never a panic on the paths that read user input.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct EigenError(pub String);

/// The power of two 2^{-e} that brings the largest |entry| of the lower triangle of `a` into
/// [1, 2), or why it cannot: scaling by it is exact, and eigenvalues scale with it exactly.
/// `Ok(None)` for the zero matrix.
fn eigen_scale(a: MatRef<'_, f64>) -> Result<Option<i32>, EigenError> {
    let mut m = 0.0f64;
    for j in 0..a.ncols() {
        for i in j..a.nrows() {
            let v = a[(i, j)];
            if !v.is_finite() {
                return Err(EigenError(format!(
                    "a {}×{} symmetric matrix has a non-finite entry ({v}) at ({i}, {j}): an intermediate \
                     quantity overflowed f64",
                    a.nrows(),
                    a.ncols()
                )));
            }
            m = m.max(v.abs());
        }
    }
    Ok(if m == 0.0 { None } else { Some(exponent(m)) })
}

/// `a` scaled by 2^{-e}, lower triangle (only what the solver reads), when e ≠ 0.
fn scaled_lower(a: MatRef<'_, f64>, e: i32) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| if i >= j { ldexp(a[(i, j)], -e) } else { 0.0 })
}

/// Exponents this far from 0 are left alone: scaling only changes bits when it is needed.
const EIGEN_SAFE_EXPONENT: i32 = 400;

/// Eigenvalues (ascending) of a symmetric matrix; reads the lower triangle. The matrix is first
/// scaled by a power of two when its largest entry is beyond 2^±400 (exact, so the spectrum of
/// matrices with entries of 1e300 or 1e-300 is computed to full relative accuracy, where faer
/// would fail to converge). Cost O(n³) (tridiagonalisation), eigenvalues only.
pub fn try_sym_eigenvalues(a: MatRef<'_, f64>) -> Result<Vec<f64>, EigenError> {
    let fail = |e| EigenError(format!("the symmetric eigenvalue iteration did not converge ({e:?})"));
    match eigen_scale(a)? {
        None => Ok(vec![0.0; a.nrows()]),
        Some(e) if e.abs() > EIGEN_SAFE_EXPONENT => {
            let vals = scaled_lower(a, e).self_adjoint_eigenvalues(Side::Lower).map_err(fail)?;
            Ok(vals.into_iter().map(|v| ldexp(v, e)).collect())
        }
        Some(_) => a.self_adjoint_eigenvalues(Side::Lower).map_err(fail),
    }
}

/// [`try_sym_eigenvalues`] for matrices the harness builds itself; panics with the reason on
/// failure (claim code runs under the runner's panic guard, which records it as an error).
pub fn sym_eigenvalues(a: MatRef<'_, f64>) -> Vec<f64> {
    try_sym_eigenvalues(a).unwrap_or_else(|e| panic!("{e}"))
}

/// Largest eigenvalue of a symmetric matrix.
pub fn try_sym_max_eigenvalue(a: MatRef<'_, f64>) -> Result<f64, EigenError> {
    try_sym_eigenvalues(a)?
        .last()
        .copied()
        .ok_or_else(|| EigenError("largest eigenvalue of an empty matrix".into()))
}

/// Largest eigenvalue of a symmetric matrix (panics as [`sym_eigenvalues`]).
pub fn sym_max_eigenvalue(a: MatRef<'_, f64>) -> f64 {
    try_sym_max_eigenvalue(a).unwrap_or_else(|e| panic!("{e}"))
}

/// Full eigen-decomposition (ascending eigenvalues, orthonormal eigenvectors as columns), with
/// the scaling of [`try_sym_eigenvalues`].
pub fn try_sym_eigen(a: MatRef<'_, f64>) -> Result<(Vec<f64>, Mat<f64>), EigenError> {
    let fail = |e| EigenError(format!("the symmetric eigen-decomposition did not converge ({e:?})"));
    let n = a.nrows();
    let (evd, e) = match eigen_scale(a)? {
        None => return Ok((vec![0.0; n], Mat::identity(n, n))),
        Some(e) if e.abs() > EIGEN_SAFE_EXPONENT => {
            (scaled_lower(a, e).self_adjoint_eigen(Side::Lower).map_err(fail)?, e)
        }
        Some(_) => (a.self_adjoint_eigen(Side::Lower).map_err(fail)?, 0),
    };
    let s = evd.S();
    let vals = (0..n).map(|i| ldexp(s[i], e)).collect();
    Ok((vals, evd.U().to_owned()))
}

/// [`try_sym_eigen`], panicking with the reason (see [`sym_eigenvalues`]).
pub fn sym_eigen(a: MatRef<'_, f64>) -> (Vec<f64>, Mat<f64>) {
    try_sym_eigen(a).unwrap_or_else(|e| panic!("{e}"))
}

/// Symmetric PSD square root S^{1/2} = U diag(max(s,0))^{1/2} Uᵀ.
pub fn try_psd_sqrt(a: MatRef<'_, f64>) -> Result<Mat<f64>, EigenError> {
    let (vals, u) = try_sym_eigen(a)?;
    let n = a.nrows();
    let roots: Vec<f64> = vals.iter().map(|v| v.max(0.0).sqrt()).collect();
    Ok(Mat::from_fn(n, n, |i, j| (0..n).map(|l| u[(i, l)] * roots[l] * u[(j, l)]).sum()))
}

/// [`try_psd_sqrt`], panicking with the reason (see [`sym_eigenvalues`]).
pub fn psd_sqrt(a: MatRef<'_, f64>) -> Mat<f64> {
    try_psd_sqrt(a).unwrap_or_else(|e| panic!("{e}"))
}

/// Dense product of two faer matrices (sequential).
pub fn matmul_owned(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let mut out = Mat::zeros(a.nrows(), b.ncols());
    matmul(out.as_mut(), Accum::Replace, a, b, 1.0, Par::Seq);
    out
}

/// The symmetric tridiagonal matrix with diagonal `alpha` and off-diagonal `beta`
/// (at least alpha.len() − 1 entries; any further ones are ignored), as Lanczos builds it.
pub fn tridiagonal(alpha: &[f64], beta: &[f64]) -> Mat<f64> {
    Mat::from_fn(alpha.len(), alpha.len(), |i, j| {
        if i == j {
            alpha[i]
        } else if i == j + 1 {
            beta[j]
        } else if j == i + 1 {
            beta[i]
        } else {
            0.0
        }
    })
}

#[cfg(test)]
mod tests {
    /// The paired kernels return bit for bit what `dot` gives row by row (lengths below and
    /// above the 8-entry threshold, with a tail, odd row counts).
    #[test]
    fn paired_products_are_bitwise_row_dots() {
        for (rows, cols) in [(1, 3), (3, 7), (5, 8), (6, 13), (7, 64), (4, 3001)] {
            let m: Vec<f64> = (0..rows * cols).map(|k| ((k * 7919) % 1013) as f64 / 97.0 - 5.0).collect();
            let v1: Vec<f64> = (0..cols).map(|k| (k as f64 * 0.37).sin()).collect();
            let v2: Vec<f64> = (0..cols).map(|k| (k as f64 * 1.3).cos() * 1e3).collect();
            let (mut a, mut b, mut c) = (vec![0.0; rows], vec![0.0; rows], vec![0.0; rows]);
            matvec_rows(&m, &v1, &mut a);
            matvec_rows2(&m, &v1, &v2, &mut b, &mut c);
            for i in 0..rows {
                let row = &m[i * cols..(i + 1) * cols];
                assert_eq!(a[i].to_bits(), dot(row, &v1).to_bits(), "{rows}×{cols} row {i}");
                assert_eq!(b[i].to_bits(), dot(row, &v1).to_bits());
                assert_eq!(c[i].to_bits(), dot(row, &v2).to_bits());
            }
        }
    }

    /// The blocked copies between storage orders, on shapes that are not multiples of the block.
    #[test]
    fn blocked_copies_between_storage_orders() {
        for (r, c) in [(1, 1), (3, 70), (130, 65), (65, 1)] {
            let rows: Vec<Vec<f64>> =
                (0..r).map(|i| (0..c).map(|j| (i * 1000 + j) as f64).collect()).collect();
            let m = mat_from_rows(&rows, c);
            for i in 0..r {
                for j in 0..c {
                    assert_eq!(m[(i, j)], (i * 1000 + j) as f64);
                }
            }
            let flat = to_row_major(m.as_ref());
            assert_eq!(flat, rows.concat());
        }
    }

    use super::*;

    fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for l in 0..k {
                    out[i * n + j] += a[i * k + l] * b[l * n + j];
                }
            }
        }
        out
    }

    fn transpose(a: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        let mut t = vec![0.0; rows * cols];
        for i in 0..rows {
            for j in 0..cols {
                t[j * rows + i] = a[i * cols + j];
            }
        }
        t
    }

    #[test]
    fn kernels_match_naive_product_small_and_large() {
        for &(m, k, n) in &[(1, 5, 5), (3, 4, 2), (40, 40, 40), (1, 100, 100)] {
            let a: Vec<f64> = (0..m * k).map(|i| ((i * 7 % 11) as f64) - 5.0).collect();
            let b: Vec<f64> = (0..k * n).map(|i| ((i * 5 % 13) as f64) - 6.0).collect();
            let want = naive(&a, &b, m, k, n);
            let mut out = vec![1.0; m * n];
            mul_nn(&mut out, &a, &b, m, k, n, Accum::Replace);
            assert_eq!(out, want);
            let bt = transpose(&b, k, n);
            mul_nt(&mut out, &a, &bt, m, k, n, Accum::Replace);
            assert_eq!(out, want);
            let at = transpose(&a, m, k);
            mul_tn(&mut out, &at, &b, m, k, n, Accum::Replace);
            assert_eq!(out, want);
            mul_tn(&mut out, &at, &b, m, k, n, Accum::Add);
            let twice: Vec<f64> = want.iter().map(|x| 2.0 * x).collect();
            assert_eq!(out, twice);
        }
    }
}
