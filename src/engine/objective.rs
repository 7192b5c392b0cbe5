//! Losses C(A) on the end-to-end map A (d_out × d_in, row-major), with gradient and Hessian.
//!
//! - Univariate regression (Marion & Chizat), reduced to moments: with Σ = XᵀX/n,
//!   b = Xᵀy/n and the least-squares solution w*,
//!   R(w) = (1/n)‖y − Xw‖² = (w − w*)ᵀΣ(w − w*) + R_min, ∇R = 2(Σw − b), ∇²R = 2Σ.
//!   After set-up nothing costs O(n): one d×d mat-vec per call.
//! - Matrix least squares ½‖A − Y‖²_F (Jacot et al., whitened regression / denoising).
//! - Matrix completion ½‖P_Ω(A − Y)‖²_F (P_Ω keeps the observed entries).

use crate::engine::linalg;
use faer::{Mat, MatRef};

/// Errors in regression data.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DataError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> DataError {
    DataError::Invalid { field: field.to_string(), message: message.into() }
}

/// y has one entry per row of x, and every entry of both is finite (the first offender named).
pub(crate) fn check_samples(x: MatRef<'_, f64>, y: &[f64]) -> Result<(), DataError> {
    let n = x.nrows();
    if y.len() != n {
        return Err(invalid("y", format!("has {} entries but x has {n} rows", y.len())));
    }
    for i in 0..n {
        for j in 0..x.ncols() {
            if !x[(i, j)].is_finite() {
                return Err(invalid(&format!("x[{i}][{j}]"), "is not a finite number"));
            }
        }
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(invalid(&format!("y[{i}]"), "is not a finite number"));
    }
    Ok(())
}

/// R(w) = (1/n)‖y − Xw‖², summed row by row. O(nd).
fn mean_squared_residual(x: MatRef<'_, f64>, y: &[f64], w: &[f64]) -> f64 {
    (0..x.nrows())
        .map(|i| {
            let r = y[i] - (0..x.ncols()).map(|j| x[(i, j)] * w[j]).sum::<f64>();
            r * r
        })
        .sum::<f64>()
        / x.nrows() as f64
}

/// Sufficient statistics of a univariate least-squares problem.
#[derive(Clone, Debug)]
pub struct Regression {
    /// Sample count n and input dimension d.
    pub n: usize,
    pub d: usize,
    /// Σ = XᵀX/n, row-major d×d.
    pub sigma: Vec<f64>,
    /// b = Xᵀy/n.
    pub b: Vec<f64>,
    /// Minimum-norm least-squares solution w*.
    pub w_star: Vec<f64>,
    /// R_min = (1/n)‖y − Xw*‖².
    pub risk_min: f64,
    /// Eigenvalues of Σ, ascending (σ_i(X)²/n, zeros padded when n < d): all of them on the
    /// [`Route::Svd`]; `None` on the [`Route::Qr`], which computes only the extremes.
    pub sigma_eigenvalues: Option<Vec<f64>>,
    /// Λ = λ_max(Σ) and λ = the smallest non-zero eigenvalue of Σ.
    pub sigma_extremes: (f64, f64),
    /// Numerical rank of X (singular values above max(n,d)·ε·σ_max).
    pub rank: usize,
    /// F (rows × d, row-major) with Σ = FᵀF: quadratic forms are evaluated as ‖Fx‖², accurate
    /// to ε²Λ‖x‖² instead of εΛ‖x‖² (matters for interpolators when n < d, whose w − w* is a
    /// large null-space vector). [`Route::Svd`]: F = diag(σ_i/√n)V_rᵀ, rank rows, orthogonal
    /// (row i is √λ_i times an eigenvector). [`Route::Qr`]: F = R/√n (n ≥ d) or X/√n (n < d).
    pub sigma_factor: Vec<f64>,
    /// How the statistics were computed (which decides what `sigma_factor` is).
    pub route: Route,
}

/// How [`Regression::from_data`] factors X.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// [`Route::Qr`] when min(n, d) ≥ [`QR_ROUTE_MIN`] (falling back to the SVD when X is
    /// numerically rank-deficient), else [`Route::Svd`].
    Auto,
    /// Thin SVD of X, O(nd·min(n,d)) with a large constant: all eigenvalues of Σ, the rank.
    Svd,
    /// Householder QR of X (n ≥ d) or Xᵀ (n < d), about 10× cheaper than the SVD at d = 3000:
    /// w* by triangular solves, Λ and λ by Lanczos on Σ and on (RᵀR/n)⁻¹. Only for full-rank X
    /// (σ_min > max(n,d)·ε·σ_max, checked); otherwise the SVD is used.
    Qr,
}

/// Smallest min(n, d) at which [`Route::Auto`] takes the QR route (below it the SVD costs well
/// under a second and gives every eigenvalue of Σ).
pub const QR_ROUTE_MIN: usize = 1000;

impl Regression {
    /// Moments of the data (X, y). Rejects empty, mis-shaped or non-finite input.
    /// Cost O(nd·min(n,d)) (one thin SVD of X, or one QR beyond [`QR_ROUTE_MIN`]), once.
    pub fn from_data(x: MatRef<'_, f64>, y: &[f64]) -> Result<Self, DataError> {
        Self::from_data_via(x, y, Route::Auto)
    }

    /// [`Regression::from_data`] along a chosen [`Route`] (the routes agree to rounding; tests
    /// compare them).
    pub fn from_data_via(x: MatRef<'_, f64>, y: &[f64], route: Route) -> Result<Self, DataError> {
        let (n, d) = (x.nrows(), x.ncols());
        if n == 0 {
            return Err(invalid("x", "no samples"));
        }
        if d == 0 {
            return Err(invalid("x", "rows have no entries"));
        }
        check_samples(x, y)?;
        let nf = n as f64;
        let qr = match route {
            Route::Svd => false,
            Route::Qr => true,
            Route::Auto => n.min(d) >= QR_ROUTE_MIN,
        };
        // On the QR route two sequential halves run side by side (so the bits do not depend on
        // the thread count): Σ, b and then Λ by Lanczos on Σ; the QR and then λ by Lanczos on
        // n R⁻¹R⁻ᵀ.
        let ((sigma, b), factor) = if qr {
            let (((sigma, b), top), (f, bottom)) = rayon::join(
                || {
                    let m = moments_lower(x, y);
                    let top = sigma_top(&m.0, d);
                    (m, top)
                },
                || {
                    let f = if n >= d { x.qr() } else { x.transpose().qr() };
                    let bottom = qr_smallest(&f, n);
                    (f, bottom)
                },
            );
            ((sigma, b), Some((f, top, bottom)))
        } else {
            (moments(x, y), None)
        };
        if let Some(v) = sigma.iter().find(|v| !v.is_finite()) {
            let m = (0..d).map(|j| x.col(j).norm_max()).fold(0.0f64, f64::max);
            return Err(invalid(
                "x",
                format!("XᵀX/n is not representable in f64 ({v}; largest |x| = {m:e}): rescale the data"),
            ));
        }
        if let Some((factor, top, bottom)) = factor
            && let Some(q) = qr_route(x, y, &factor, top, bottom)
        {
            return Ok(Regression {
                n,
                d,
                sigma,
                b,
                w_star: q.w_star,
                risk_min: q.risk_min,
                sigma_eigenvalues: None,
                sigma_extremes: q.extremes,
                rank: n.min(d),
                sigma_factor: q.factor,
                route: Route::Qr,
            });
        }
        let svd = x.thin_svd().map_err(|_| invalid("x", "SVD did not converge"))?;
        let s = svd.S();
        let k = n.min(d);
        let svals: Vec<f64> = (0..k).map(|i| s[i]).collect();
        let smax = svals.first().copied().unwrap_or(0.0);
        let cutoff = (n.max(d) as f64) * f64::EPSILON * smax;
        let rank = svals.iter().filter(|&&v| v > cutoff).count();
        if rank == 0 || sigma.iter().all(|v| *v == 0.0) {
            return Err(invalid(
                "x",
                "has rank 0: the covariance has no non-zero eigenvalue (every entry is zero, or too \
                 small for XᵀX/n to be represented)",
            ));
        }
        // w* = V_r S_r⁻¹ U_rᵀ y.
        let (u, v) = (svd.U(), svd.V());
        let mut w_star = vec![0.0; d];
        for l in 0..rank {
            let coef = (0..n).map(|i| u[(i, l)] * y[i]).sum::<f64>() / svals[l];
            for (j, w) in w_star.iter_mut().enumerate() {
                *w += coef * v[(j, l)];
            }
        }
        let risk_min = mean_squared_residual(x, y, &w_star);
        let sqrt_n = nf.sqrt();
        let mut sigma_factor = vec![0.0; rank * d];
        for l in 0..rank {
            for j in 0..d {
                sigma_factor[l * d + j] = svals[l] / sqrt_n * v[(j, l)];
            }
        }
        let mut sigma_eigenvalues: Vec<f64> = svals.iter().map(|v| v * v / nf).collect();
        sigma_eigenvalues.resize(d, 0.0);
        sigma_eigenvalues.reverse();
        let sigma_extremes = (sigma_eigenvalues[d - 1], sigma_eigenvalues[d - rank]);
        Ok(Regression {
            n,
            d,
            sigma,
            b,
            w_star,
            risk_min,
            sigma_eigenvalues: Some(sigma_eigenvalues),
            sigma_extremes,
            rank,
            sigma_factor,
            route: Route::Svd,
        })
    }

    /// Σ as a faer matrix.
    pub fn sigma_mat(&self) -> Mat<f64> {
        linalg::to_mat(&self.sigma, self.d, self.d)
    }
    /// Σ^{1/2} (symmetric PSD square root).
    pub fn sigma_sqrt(&self) -> Mat<f64> {
        linalg::psd_sqrt(self.sigma_mat().as_ref())
    }
    /// Σ^{1/2}, or why it cannot be computed.
    pub fn try_sigma_sqrt(&self) -> Result<Mat<f64>, linalg::EigenError> {
        linalg::try_psd_sqrt(self.sigma_mat().as_ref())
    }
    /// Λ = λ_max(Σ).
    pub fn lambda_max(&self) -> f64 {
        self.sigma_extremes.0
    }
    /// λ = smallest non-zero eigenvalue of Σ (numerical rank as in [`Regression::rank`], ≥ 1:
    /// [`Regression::from_data`] refuses rank-0 data).
    pub fn lambda_min_nonzero(&self) -> f64 {
        self.sigma_extremes.1
    }
    /// κ = Λ/λ.
    pub fn condition_number(&self) -> f64 {
        self.lambda_max() / self.lambda_min_nonzero()
    }
    /// Whether Σ is non-singular (rank d).
    pub fn is_full_rank(&self) -> bool {
        self.rank == self.d
    }
    /// ‖w*‖.
    pub fn w_star_norm(&self) -> f64 {
        linalg::norm(&self.w_star)
    }
    /// a = w*ᵀΣw*/‖w*‖² (λ ≤ a ≤ Λ); `None` when w* = 0.
    pub fn alignment(&self) -> Option<f64> {
        let nn = linalg::dot(&self.w_star, &self.w_star);
        let q = self.quad(&self.w_star);
        if nn.is_normal() && q.is_finite() && (q == 0.0 || q.is_normal()) {
            return Some(q / nn);
        }
        // ‖w*‖² overflows or underflows: the same ratio for the unit vector ŵ = w*/‖w*‖.
        let wn = self.w_star_norm();
        if wn == 0.0 || !wn.is_finite() {
            return None;
        }
        let unit: Vec<f64> = self.w_star.iter().map(|w| w / wn).collect();
        Some(self.quad(&unit))
    }
    /// The rows of F, each from its first entry that can be non-zero: (offset, entries). On the
    /// [`Route::Qr`] with n ≥ d, F = R/√n is upper triangular and row i starts at the diagonal
    /// (products with F then read half of it); otherwise rows are whole.
    pub fn factor_rows(&self) -> impl Iterator<Item = (usize, &[f64])> + '_ {
        let upper = self.route == Route::Qr && self.n >= self.d;
        self.sigma_factor.chunks_exact(self.d).enumerate().map(move |(i, row)| {
            let from = if upper { i } else { 0 };
            (from, &row[from..])
        })
    }
    /// out = Fᵀu (u has one entry per row of F). O(rows·d), half when F is triangular.
    pub fn factor_t_mul(&self, u: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|x| *x = 0.0);
        for (ui, (from, row)) in u.iter().zip(self.factor_rows()) {
            linalg::axpy(&mut out[from..], *ui, row);
        }
    }
    /// out = Fv (one entry per row of F). O(rows·d), half when F is triangular.
    pub fn factor_mul(&self, v: &[f64], out: &mut [f64]) {
        for (o, (from, row)) in out.iter_mut().zip(self.factor_rows()) {
            *o = linalg::dot(row, &v[from..]);
        }
    }
    /// xᵀΣx = ‖Fx‖² (no allocation).
    pub fn quad(&self, x: &[f64]) -> f64 {
        self.factor_rows().map(|(from, row)| linalg::dot(row, &x[from..]).powi(2)).sum()
    }
    /// out = Σx (row dots; Σ is symmetric).
    #[inline(always)]
    pub fn sigma_mul(&self, x: &[f64], out: &mut [f64]) {
        linalg::matvec_rows(&self.sigma, x, out);
    }
    /// Excess risk (w − w*)ᵀΣ(w − w*) = ‖F(w − w*)‖² (no allocation).
    #[inline(always)]
    pub fn excess(&self, w: &[f64]) -> f64 {
        self.factor_rows()
            .map(|(from, row)| {
                let (w, ws) = (&w[from..], &self.w_star[from..]);
                row.iter().zip(w.iter().zip(ws)).map(|(r, (a, b))| r * (a - b)).sum::<f64>().powi(2)
            })
            .sum()
    }
}

/// What [`qr_route`] adds to the moments.
struct QrStats {
    w_star: Vec<f64>,
    risk_min: f64,
    extremes: (f64, f64),
    factor: Vec<f64>,
}

/// Σ = XᵀX/n (exactly symmetric, row-major) and b = Xᵀy/n. O(nd²).
fn moments(x: MatRef<'_, f64>, y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (n, d) = (x.nrows(), x.ncols());
    let nf = n as f64;
    let mut sigma_m = linalg::matmul_owned(x.transpose(), x);
    for j in 0..d {
        for i in 0..d {
            sigma_m[(i, j)] /= nf;
        }
    }
    // Symmetrise exactly (the product is symmetric up to rounding order).
    for i in 0..d {
        for j in 0..i {
            let s = 0.5 * (sigma_m[(i, j)] + sigma_m[(j, i)]);
            sigma_m[(i, j)] = s;
            sigma_m[(j, i)] = s;
        }
    }
    let sigma = linalg::to_row_major(sigma_m.as_ref());
    (sigma, moment_b(x, y))
}

/// [`moments`] multiplying out only the lower triangle of XᵀX (faer's triangular product, nd²
/// flops instead of 2nd²) and mirroring it: symmetric by construction. Used on the
/// [`Route::Qr`]; the SVD route keeps [`moments`] and its bits.
fn moments_lower(x: MatRef<'_, f64>, y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    use faer::linalg::matmul::triangular::{BlockStructure, matmul};
    let (n, d) = (x.nrows(), x.ncols());
    let nf = n as f64;
    let mut m = Mat::<f64>::zeros(d, d);
    matmul(
        m.as_mut(),
        BlockStructure::TriangularLower,
        faer::Accum::Replace,
        x.transpose(),
        BlockStructure::Rectangular,
        x,
        BlockStructure::Rectangular,
        1.0,
        faer::Par::Seq,
    );
    // Column j of the lower triangle is row j of Σ from the diagonal on.
    let mut sigma = vec![0.0; d * d];
    for j in 0..d {
        for i in j..d {
            let v = m[(i, j)] / nf;
            sigma[j * d + i] = v;
            sigma[i * d + j] = v;
        }
    }
    (sigma, moment_b(x, y))
}

/// b = Xᵀy/n. O(nd).
fn moment_b(x: MatRef<'_, f64>, y: &[f64]) -> Vec<f64> {
    let nf = x.nrows() as f64;
    (0..x.ncols()).map(|j| (0..x.nrows()).map(|i| x[(i, j)] * y[i]).sum::<f64>() / nf).collect()
}

/// Lanczos options of the QR route's extreme eigenvalues (relative residual 1e-10).
fn qr_lanczos_options() -> crate::engine::spectrum::SpectrumOptions {
    use crate::engine::spectrum::{Bottom, SpectrumOptions};
    SpectrumOptions { tol: 1e-10, max_iter: 1000, seed: 0, bottom: Bottom::Skip, ..Default::default() }
}

/// Λ = λ_max(Σ) by Lanczos on u ↦ Σu (row dots, O(d²) a step); `None` if it fails.
fn sigma_top(sigma: &[f64], d: usize) -> Option<f64> {
    use crate::engine::spectrum::{Bottom, lanczos};
    let op = |u: &[f64], out: &mut [f64]| linalg::matvec_rows(sigma, u, out);
    let res = lanczos(d, op, 1, Bottom::Skip, &qr_lanczos_options()).ok()?;
    res.ritz.last().copied()
}

/// λ = the smallest eigenvalue of RᵀR/n = 1/λ_max(n R⁻¹R⁻ᵀ) by Lanczos on u ↦ n R⁻¹R⁻ᵀu (a
/// lower then an upper triangular solve, O(k²) a step); `None` if R has a zero or non-finite
/// diagonal entry or the iteration fails.
fn qr_smallest(qr: &faer::linalg::solvers::Qr<f64>, n: usize) -> Option<f64> {
    use crate::engine::spectrum::{Bottom, lanczos};
    use faer::Par;
    use faer::linalg::triangular_solve;
    use faer::reborrow::ReborrowMut;
    let r = qr.thin_R();
    let (k, nf) = (r.nrows(), n as f64);
    if (0..k).any(|i| !(r[(i, i)].is_finite() && r[(i, i)] != 0.0)) {
        return None;
    }
    let op = |u: &[f64], out: &mut [f64]| {
        out.copy_from_slice(u);
        let mut o = faer::MatMut::from_column_major_slice_mut(out, k, 1);
        triangular_solve::solve_lower_triangular_in_place(r.transpose(), o.rb_mut(), Par::Seq);
        triangular_solve::solve_upper_triangular_in_place(r, o.rb_mut(), Par::Seq);
        out.iter_mut().for_each(|v| *v *= nf);
    };
    let res = lanczos(k, op, 1, Bottom::Skip, &qr_lanczos_options()).ok()?;
    if !res.ritz.iter().all(|v| v.is_finite()) {
        return None;
    }
    res.ritz.last().map(|v| 1.0 / v)
}

/// [`Route::Qr`] of [`Regression::from_data_via`], given the QR factorisation of X (n ≥ d) or
/// Xᵀ (n < d) and the extremes Λ ([`sigma_top`]) and λ ([`qr_smallest`]); `None` when X is
/// numerically rank-deficient or an iteration failed (the caller then takes the SVD).
///
/// A = X (n ≥ d) or Xᵀ (n < d) = QR, R k × k upper triangular, k = min(n, d); the non-zero
/// eigenvalues of Σ are those of RᵀR/n in both cases (XXᵀ = RᵀR when n < d). Then
/// w* = R⁻¹(Qᵀy)[..d] (n ≥ d) or Q[R⁻ᵀy; 0] (n < d, the minimum-norm solution).
/// Cost: one QR, O(nd·k), about a tenth of the thin SVD.
fn qr_route(
    x: MatRef<'_, f64>,
    y: &[f64],
    qr: &faer::linalg::solvers::Qr<f64>,
    top: Option<f64>,
    bottom: Option<f64>,
) -> Option<QrStats> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::{householder, triangular_solve};
    use faer::{Conj, Par};
    let (n, d) = (x.nrows(), x.ncols());
    let (nf, tall) = (n as f64, n >= d);
    let r = qr.thin_R();
    let (big, lam) = (top?, bottom?);
    let cutoff = n.max(d) as f64 * f64::EPSILON;
    if !(big.is_finite() && lam.is_finite() && lam > 0.0 && lam / big > cutoff * cutoff) {
        return None;
    }
    // w*.
    let block = qr.Q_coeff().nrows();
    let w_star: Vec<f64> = if tall {
        let mut qty = Mat::from_fn(n, 1, |i, _| y[i]);
        householder::apply_block_householder_sequence_transpose_on_the_left_in_place_with_conj(
            qr.Q_basis(),
            qr.Q_coeff(),
            Conj::No,
            qty.as_mut(),
            Par::Seq,
            MemStack::new(&mut MemBuffer::new(
                householder::apply_block_householder_sequence_transpose_on_the_left_in_place_scratch::<f64>(
                    n, block, 1,
                ),
            )),
        );
        let mut w = qty.subrows(0, d).to_owned();
        triangular_solve::solve_upper_triangular_in_place(r, w.as_mut(), Par::Seq);
        (0..d).map(|i| w[(i, 0)]).collect()
    } else {
        let mut w = Mat::<f64>::zeros(d, 1);
        for i in 0..n {
            w[(i, 0)] = y[i];
        }
        triangular_solve::solve_lower_triangular_in_place(
            r.transpose(),
            w.as_mut().subrows_mut(0, n),
            Par::Seq,
        );
        householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
            qr.Q_basis(),
            qr.Q_coeff(),
            Conj::No,
            w.as_mut(),
            Par::Seq,
            MemStack::new(&mut MemBuffer::new(
                householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<f64>(
                    d, block, 1,
                ),
            )),
        );
        (0..d).map(|i| w[(i, 0)]).collect()
    };
    if w_star.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let risk_min = mean_squared_residual(x, y, &w_star);
    let sqrt_n = nf.sqrt();
    let sigma_factor: Vec<f64> = if tall {
        (0..d).flat_map(|i| (0..d).map(move |j| if j >= i { r[(i, j)] / sqrt_n } else { 0.0 })).collect()
    } else {
        (0..n).flat_map(|i| (0..d).map(move |j| x[(i, j)] / sqrt_n)).collect()
    };
    Some(QrStats { w_star, risk_min, extremes: (big, lam), factor: sigma_factor })
}

/// A loss on the end-to-end map.
#[derive(Clone, Debug)]
pub enum Objective {
    /// Mean squared error (no ½) of a univariate linear regression; A = wᵀ is 1×d.
    Regression(Regression),
    /// ½‖A − Y‖²_F.
    Matrix { target: Mat<f64> },
    /// ½‖P_Ω(A − Y)‖²_F; `mask` holds 1 on observed entries and 0 elsewhere.
    Completion { target: Mat<f64>, mask: Mat<f64> },
}

impl Objective {
    /// Shape (d_out, d_in) of the end-to-end map the objective expects.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Objective::Regression(r) => (1, r.d),
            Objective::Matrix { target } | Objective::Completion { target, .. } => {
                (target.nrows(), target.ncols())
            }
        }
    }

    /// C(A) for row-major A.
    #[inline(always)]
    pub fn value(&self, a: &[f64]) -> f64 {
        self.excess(a) + self.infimum()
    }

    /// C(A) − inf C, computed without cancellation (for regression the quadratic form
    /// (w − w*)ᵀΣ(w − w*), accurate even when it is 1e-20 and R_min is 0.1).
    #[inline(always)]
    pub fn excess(&self, a: &[f64]) -> f64 {
        match self {
            Objective::Regression(r) => r.excess(a),
            Objective::Matrix { target } => {
                let cols = target.ncols();
                0.5 * a
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (v - target[(i / cols, i % cols)]).powi(2))
                    .sum::<f64>()
            }
            Objective::Completion { target, mask } => {
                let cols = target.ncols();
                0.5 * a
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| mask[(i / cols, i % cols)] * (v - target[(i / cols, i % cols)]).powi(2))
                    .sum::<f64>()
            }
        }
    }

    /// The smallest value of C over all A (R_min for regression, 0 otherwise).
    pub fn infimum(&self) -> f64 {
        match self {
            Objective::Regression(r) => r.risk_min,
            _ => 0.0,
        }
    }

    /// A minimiser A* of C (w*ᵀ, or Y), row-major.
    pub fn target(&self) -> Vec<f64> {
        match self {
            Objective::Regression(r) => r.w_star.clone(),
            Objective::Matrix { target } | Objective::Completion { target, .. } => {
                linalg::to_row_major(target.as_ref())
            }
        }
    }

    /// G = ∇C(A), row-major.
    #[inline(always)]
    pub fn gradient(&self, a: &[f64], g: &mut [f64]) {
        match self {
            Objective::Regression(r) => {
                r.sigma_mul(a, g);
                for (gi, bi) in g.iter_mut().zip(&r.b) {
                    *gi = 2.0 * (*gi - bi);
                }
            }
            Objective::Matrix { target } => {
                let cols = target.ncols();
                for (i, (gi, &ai)) in g.iter_mut().zip(a).enumerate() {
                    *gi = ai - target[(i / cols, i % cols)];
                }
            }
            Objective::Completion { target, mask } => {
                let cols = target.ncols();
                for (i, (gi, &ai)) in g.iter_mut().zip(a).enumerate() {
                    let (r, c) = (i / cols, i % cols);
                    *gi = mask[(r, c)] * (ai - target[(r, c)]);
                }
            }
        }
    }

    /// out = ∇²C[dA] (the objective's Hessian applied to a direction), row-major.
    #[inline]
    pub fn hess_apply(&self, da: &[f64], out: &mut [f64]) {
        match self {
            Objective::Regression(r) => {
                r.sigma_mul(da, out);
                out.iter_mut().for_each(|v| *v *= 2.0);
            }
            Objective::Matrix { .. } => out.copy_from_slice(da),
            Objective::Completion { mask, .. } => {
                let cols = mask.ncols();
                for (i, (o, &v)) in out.iter_mut().zip(da).enumerate() {
                    *o = mask[(i / cols, i % cols)] * v;
                }
            }
        }
    }

    /// The regression statistics, if this is a regression objective.
    pub fn regression(&self) -> Option<&Regression> {
        match self {
            Objective::Regression(r) => Some(r),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_of_a_tiny_dataset() {
        // X = [[1,0],[0,2],[1,1]], y = [1,2,3]: XᵀX = [[2,1],[1,5]], Xᵀy = [4,7].
        let x = faer::mat![[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]];
        let r = Regression::from_data(x.as_ref(), &[1.0, 2.0, 3.0]).unwrap();
        assert!((r.sigma[1] - 1.0 / 3.0).abs() < 1e-15);
        // w* = (XᵀX)⁻¹Xᵀy = [[5,-1],[-1,2]]/9 · [4,7] = [13/9, 10/9].
        assert!((r.w_star[0] - 13.0 / 9.0).abs() < 1e-14);
        assert!((r.w_star[1] - 10.0 / 9.0).abs() < 1e-14);
        // Residual y − Xw* = [1 − 13/9, 2 − 20/9, 3 − 23/9] = [−4/9, −2/9, 4/9]; R_min = 36/81/3.
        assert!((r.risk_min - 36.0 / 243.0).abs() < 1e-15);
        assert_eq!(r.rank, 2);
    }

    #[test]
    fn rejects_bad_data() {
        let x = faer::mat![[1.0, f64::NAN]];
        let err = Regression::from_data(x.as_ref(), &[1.0]).unwrap_err();
        assert_eq!(err.to_string(), "x[0][1]: is not a finite number");
        let x = faer::mat![[1.0, 2.0]];
        assert!(Regression::from_data(x.as_ref(), &[1.0, 2.0]).unwrap_err().to_string().starts_with("y:"));
    }
}
