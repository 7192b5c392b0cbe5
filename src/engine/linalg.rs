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

/// Euclidean norm.
#[inline(always)]
pub fn norm(x: &[f64]) -> f64 {
    dot(x, x).sqrt()
}

/// Copies a row-major slice into an owned faer matrix.
pub fn to_mat(data: &[f64], rows: usize, cols: usize) -> Mat<f64> {
    Mat::from_fn(rows, cols, |i, j| data[i * cols + j])
}

/// Row-major copy of a faer matrix.
pub fn to_row_major(m: MatRef<'_, f64>) -> Vec<f64> {
    let mut out = Vec::with_capacity(m.nrows() * m.ncols());
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            out.push(m[(i, j)]);
        }
    }
    out
}

/// Eigenvalues (ascending) of a symmetric matrix; reads the lower triangle.
/// Cost O(n³) (tridiagonalisation), eigenvalues only.
pub fn sym_eigenvalues(a: MatRef<'_, f64>) -> Vec<f64> {
    a.self_adjoint_eigenvalues(Side::Lower)
        .expect("faer self-adjoint eigenvalue iteration failed to converge")
}

/// Largest eigenvalue of a symmetric matrix.
pub fn sym_max_eigenvalue(a: MatRef<'_, f64>) -> f64 {
    *sym_eigenvalues(a).last().expect("largest eigenvalue of an empty matrix")
}

/// Full eigen-decomposition (ascending eigenvalues, orthonormal eigenvectors as columns).
pub fn sym_eigen(a: MatRef<'_, f64>) -> (Vec<f64>, Mat<f64>) {
    let evd =
        a.self_adjoint_eigen(Side::Lower).expect("faer self-adjoint eigen-decomposition failed to converge");
    let s = evd.S();
    let vals = (0..a.nrows()).map(|i| s[i]).collect();
    (vals, evd.U().to_owned())
}

/// Symmetric PSD square root S^{1/2} = U diag(max(s,0))^{1/2} Uᵀ.
pub fn psd_sqrt(a: MatRef<'_, f64>) -> Mat<f64> {
    let (vals, u) = sym_eigen(a);
    let n = a.nrows();
    let roots: Vec<f64> = vals.iter().map(|v| v.max(0.0).sqrt()).collect();
    Mat::from_fn(n, n, |i, j| (0..n).map(|l| u[(i, l)] * roots[l] * u[(j, l)]).sum())
}

/// Dense product of two faer matrices (sequential).
pub fn matmul_owned(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let mut out = Mat::zeros(a.nrows(), b.ncols());
    matmul(out.as_mut(), Accum::Replace, a, b, 1.0, Par::Seq);
    out
}

#[cfg(test)]
mod tests {
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
