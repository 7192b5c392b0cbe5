//! Seeded regression datasets (X, y).
//!
//! - [`paper`]: Marion & Chizat's generator: X ~ N(0,1)^{n×d}, w_true ~ N(0, I),
//!   y = Xw_true + noise·N(0,1); optionally y is divided by ‖w*‖ so that ‖w*‖ = 1.
//! - [`with_spectrum`]: data whose covariance Σ = XᵀX/n has prescribed eigenvalues, w* in a
//!   chosen direction with a chosen norm, and a chosen R_min:
//!   X = √n·U·diag(√μ)·Qᵀ (U ∈ R^{n×d} orthonormal columns, Q orthogonal), y = Xw* + r with
//!   r ⊥ range(X), ‖r‖² = n·R_min (needs n > d when R_min > 0).

use crate::engine::linalg;
use crate::engine::objective::{DataError, Regression};
use crate::engine::rng::{self, Rng, Stream, stream_rng};
use faer::Mat;

/// A regression dataset.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub x: Mat<f64>,
    pub y: Vec<f64>,
}

impl Dataset {
    pub fn regression(&self) -> Result<Regression, DataError> {
        Regression::from_data(self.x.as_ref(), &self.y)
    }
    pub fn n(&self) -> usize {
        self.x.nrows()
    }
    pub fn d(&self) -> usize {
        self.x.ncols()
    }
}

/// The paper's experiment data, with the ground truth w_true and a test set drawn alike.
#[derive(Clone, Debug)]
pub struct PaperData {
    pub train: Dataset,
    pub test: Dataset,
    pub w_true: Vec<f64>,
}

/// Marion & Chizat's generator (seeded): `n` training and `n_test` test samples in R^d,
/// label noise std `noise`; if `normalize`, labels (and w_true) are divided by ‖w*‖ of the
/// training set so that ‖w*‖ = 1.
pub fn paper(n: usize, n_test: usize, d: usize, noise: f64, normalize: bool, seed: u64) -> PaperData {
    let mut data_rng = stream_rng(seed, Stream::Data);
    let mut noise_rng = stream_rng(seed, Stream::Noise);
    let mut test_rng = stream_rng(seed, Stream::TestData);
    let x = gaussian_mat(n, d, &mut data_rng);
    let mut w_true = rng::normals(&mut data_rng, d);
    let draw = |x: &Mat<f64>, w: &[f64], rng: &mut Rng| -> Vec<f64> {
        (0..x.nrows())
            .map(|i| (0..d).map(|j| x[(i, j)] * w[j]).sum::<f64>() + noise * rng::normal(rng))
            .collect()
    };
    let mut y = draw(&x, &w_true, &mut noise_rng);
    let x_test = gaussian_mat(n_test, d, &mut test_rng);
    let mut y_test = draw(&x_test, &w_true, &mut test_rng);
    if normalize {
        let reg = Regression::from_data(x.as_ref(), &y).expect("Gaussian data is finite");
        let s = reg.w_star_norm();
        if s > 0.0 {
            for v in y.iter_mut().chain(y_test.iter_mut()).chain(w_true.iter_mut()) {
                *v /= s;
            }
        }
    }
    PaperData { train: Dataset { x, y }, test: Dataset { x: x_test, y: y_test }, w_true }
}

fn gaussian_mat(n: usize, d: usize, rng: &mut Rng) -> Mat<f64> {
    let v = rng::normals(rng, n * d);
    Mat::from_fn(n, d, |i, j| v[i * d + j])
}

/// Direction of w* relative to the eigenvectors of Σ (ascending eigenvalue order).
#[derive(Clone, Debug, PartialEq)]
pub enum Direction {
    /// Along the eigenvector of the i-th smallest eigenvalue.
    Eigenvector(usize),
    /// Uniformly random.
    Random,
    /// Given coordinates in the eigenbasis (normalised).
    Coordinates(Vec<f64>),
}

/// Geometric spectrum from Λ down to Λ/κ: μ_i = Λ·κ^{−i/(d−1)}, returned ascending.
pub fn geometric_spectrum(d: usize, lambda_max: f64, kappa: f64) -> Vec<f64> {
    if d == 1 {
        return vec![lambda_max];
    }
    let mut v: Vec<f64> = (0..d).map(|i| lambda_max * kappa.powf(-(i as f64) / (d as f64 - 1.0))).collect();
    v.reverse();
    v
}

/// Specification of a dataset with a prescribed covariance.
#[derive(Clone, Debug)]
pub struct SpectrumSpec {
    pub n: usize,
    /// Eigenvalues of Σ (any order; ≥ 0).
    pub eigenvalues: Vec<f64>,
    pub direction: Direction,
    pub w_star_norm: f64,
    pub risk_min: f64,
    /// Rotate the eigenbasis randomly (otherwise Σ is diagonal).
    pub rotate: bool,
}

/// Data with Σ = Q diag(μ) Qᵀ, w* = ‖w*‖·Q·(direction), R_min as specified (seeded).
pub fn with_spectrum(spec: &SpectrumSpec, seed: u64) -> Dataset {
    let d = spec.eigenvalues.len();
    let n = spec.n;
    assert!(n >= d, "with_spectrum needs n ≥ d");
    assert!(spec.risk_min == 0.0 || n > d, "R_min > 0 needs n > d");
    let mut rot_rng = stream_rng(seed, Stream::Rotation);
    let mut data_rng = stream_rng(seed, Stream::Data);
    let mut noise_rng = stream_rng(seed, Stream::Noise);
    let q = if spec.rotate { orthonormal_columns(d, d, &mut rot_rng) } else { Mat::identity(d, d) };
    // U: n × (d+1) orthonormal; the last column carries the residual.
    let u = orthonormal_columns(n, (d + 1).min(n), &mut data_rng);
    let coords: Vec<f64> = match &spec.direction {
        Direction::Eigenvector(i) => (0..d).map(|j| if j == *i { 1.0 } else { 0.0 }).collect(),
        Direction::Random => rng::unit_vector(&mut noise_rng, d),
        Direction::Coordinates(c) => {
            let nc = linalg::norm(c);
            c.iter().map(|x| x / nc).collect()
        }
    };
    let w_star: Vec<f64> =
        (0..d).map(|i| spec.w_star_norm * (0..d).map(|j| q[(i, j)] * coords[j]).sum::<f64>()).collect();
    let sn = (n as f64).sqrt();
    let x = Mat::from_fn(n, d, |i, j| {
        (0..d).map(|l| sn * u[(i, l)] * spec.eigenvalues[l].max(0.0).sqrt() * q[(j, l)]).sum()
    });
    let residual = (n as f64 * spec.risk_min).sqrt();
    let y = (0..n)
        .map(|i| {
            let fit: f64 = (0..d).map(|j| x[(i, j)] * w_star[j]).sum();
            fit + if n > d { residual * u[(i, d)] } else { 0.0 }
        })
        .collect();
    Dataset { x, y }
}

/// An n × k matrix with orthonormal columns (Gram–Schmidt, twice, on Gaussian columns: Haar).
pub fn orthonormal_columns(n: usize, k: usize, rng: &mut Rng) -> Mat<f64> {
    assert!(k <= n);
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(k);
    while cols.len() < k {
        let mut v = rng::normals(rng, n);
        for _ in 0..2 {
            for q in &cols {
                let c = linalg::dot(q, &v);
                linalg::axpy(&mut v, -c, q);
            }
        }
        let nv = linalg::norm(&v);
        if nv > 1e-8 {
            cols.push(v.into_iter().map(|x| x / nv).collect());
        }
    }
    Mat::from_fn(n, k, |i, j| cols[j][i])
}
