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

fn invalid(field: &str, message: impl Into<String>) -> DataError {
    DataError::Invalid { field: field.to_string(), message: message.into() }
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
    /// Eigenvalues of Σ, ascending (σ_i(X)²/n, zeros padded when n < d).
    pub sigma_eigenvalues: Vec<f64>,
    /// Numerical rank of X (singular values above max(n,d)·ε·σ_max).
    pub rank: usize,
    /// F = diag(σ_i/√n)V_rᵀ (rank × d, row-major), so Σ = FᵀF: quadratic forms are evaluated as
    /// ‖Fx‖², accurate to ε²Λ‖x‖² instead of εΛ‖x‖² (matters for interpolators when n < d,
    /// whose w − w* is a large null-space vector).
    pub sigma_factor: Vec<f64>,
}

impl Regression {
    /// Moments of the data (X, y). Rejects empty, mis-shaped or non-finite input.
    /// Cost O(nd²) (one thin SVD of X), once.
    pub fn from_data(x: MatRef<'_, f64>, y: &[f64]) -> Result<Self, DataError> {
        let (n, d) = (x.nrows(), x.ncols());
        if n == 0 {
            return Err(invalid("x", "no samples"));
        }
        if d == 0 {
            return Err(invalid("x", "rows have no entries"));
        }
        if y.len() != n {
            return Err(invalid("y", format!("has {} entries but x has {n} rows", y.len())));
        }
        for i in 0..n {
            for j in 0..d {
                if !x[(i, j)].is_finite() {
                    return Err(invalid(&format!("x[{i}][{j}]"), "is not a finite number"));
                }
            }
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(invalid(&format!("y[{i}]"), "is not a finite number"));
        }
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
        let b: Vec<f64> = (0..d).map(|j| (0..n).map(|i| x[(i, j)] * y[i]).sum::<f64>() / nf).collect();

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
        if let Some(v) = sigma.iter().find(|v| !v.is_finite()) {
            return Err(invalid(
                "x",
                format!("XᵀX/n is not representable in f64 ({v}; largest |x| = {smax:e}): rescale the data"),
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
        let risk_min = (0..n)
            .map(|i| {
                let r = y[i] - (0..d).map(|j| x[(i, j)] * w_star[j]).sum::<f64>();
                r * r
            })
            .sum::<f64>()
            / nf;
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
        Ok(Regression { n, d, sigma, b, w_star, risk_min, sigma_eigenvalues, rank, sigma_factor })
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
        *self.sigma_eigenvalues.last().expect("d ≥ 1")
    }
    /// λ = smallest non-zero eigenvalue of Σ (numerical rank as in [`Regression::rank`], ≥ 1:
    /// [`Regression::from_data`] refuses rank-0 data).
    pub fn lambda_min_nonzero(&self) -> f64 {
        self.sigma_eigenvalues[self.d - self.rank.max(1)]
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
    /// xᵀΣx = ‖Fx‖² (no allocation).
    pub fn quad(&self, x: &[f64]) -> f64 {
        self.sigma_factor.chunks_exact(self.d).map(|row| linalg::dot(row, x).powi(2)).sum()
    }
    /// out = Σx (row dots; Σ is symmetric).
    #[inline(always)]
    pub fn sigma_mul(&self, x: &[f64], out: &mut [f64]) {
        for (o, row) in out.iter_mut().zip(self.sigma.chunks_exact(self.d)) {
            *o = linalg::dot(row, x);
        }
    }
    /// Excess risk (w − w*)ᵀΣ(w − w*) = ‖F(w − w*)‖² (no allocation).
    #[inline(always)]
    pub fn excess(&self, w: &[f64]) -> f64 {
        self.sigma_factor
            .chunks_exact(self.d)
            .map(|row| {
                row.iter().zip(w.iter().zip(&self.w_star)).map(|(r, (a, b))| r * (a - b)).sum::<f64>().powi(2)
            })
            .sum()
    }
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
