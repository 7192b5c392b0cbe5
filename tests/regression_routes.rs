//! The QR route of `Regression::from_data` (taken for min(n, d) ≥ 1000, where the thin SVD of X
//! dominated a large audit) against the SVD route and against closed forms, at sizes where both
//! are cheap. Each quantity is compared with an independent computation: prescribed spectra
//! (data::with_spectrum), the normal equations, and the SVD route's eigenbasis (the secular
//! equation on exact eigenvalues) for S_min and S_bal, which the QR route brackets by Gauss and
//! Gauss–Radau quadrature instead.

use dlncheck::engine::bounds;
use dlncheck::engine::data::{self, Direction, SpectrumSpec};
use dlncheck::engine::init;
use dlncheck::engine::model::Dln;
use dlncheck::engine::objective::{Objective, Regression, Route};
use dlncheck::engine::problem::Problem;
use dlncheck::engine::rng::{Stream, normals, stream_rng};
use faer::Mat;

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

fn gaussian_data(n: usize, d: usize, seed: u64) -> (Mat<f64>, Vec<f64>) {
    let mut rng = stream_rng(seed, Stream::Data);
    let z = normals(&mut rng, n * d);
    let x = Mat::from_fn(n, d, |i, j| z[i * d + j]);
    let y = normals(&mut rng, n);
    (x, y)
}

/// Λ, λ, w*, R_min of a prescribed spectrum (d = 240 > the secular threshold 200), and S_min,
/// S_bal against the SVD route's exact secular equation.
#[test]
fn qr_route_matches_a_prescribed_spectrum_and_the_svd_route() {
    let spec = SpectrumSpec {
        n: 300,
        eigenvalues: data::geometric_spectrum(240, 3.0, 50.0),
        direction: Direction::Random,
        w_star_norm: 1.7,
        risk_min: 0.2,
        rotate: true,
    };
    let ds = data::with_spectrum(&spec, 3);
    let qr = Regression::from_data_via(ds.x.as_ref(), &ds.y, Route::Qr).unwrap();
    let svd = Regression::from_data_via(ds.x.as_ref(), &ds.y, Route::Svd).unwrap();
    assert_eq!((qr.route, svd.route), (Route::Qr, Route::Svd));
    assert_eq!(qr.rank, 240);
    assert!(qr.sigma_eigenvalues.is_none());
    // Closed forms: the prescribed extremes (Lanczos, residual 1e-10: eigenvalue error ≪ 1e-10).
    assert!(rel(qr.lambda_max(), 3.0) < 1e-12, "Λ = {}", qr.lambda_max());
    assert!(rel(qr.lambda_min_nonzero(), 3.0 / 50.0) < 1e-12, "λ = {}", qr.lambda_min_nonzero());
    assert!(rel(qr.w_star_norm(), 1.7) < 1e-12);
    assert!(rel(qr.risk_min, 0.2) < 1e-12);
    for (a, b) in qr.w_star.iter().zip(&svd.w_star) {
        assert!((a - b).abs() < 1e-12, "w*: {a} vs {b}");
    }
    // Σ = FᵀF on both routes: the same quadratic form.
    let w: Vec<f64> = (0..240).map(|i| (i as f64 * 0.37).sin()).collect();
    assert!(rel(qr.quad(&w), svd.quad(&w)) < 1e-13);
    for depth in [2, 3, 6] {
        for head in [1.0, 0.4] {
            let (a, b) = (
                bounds::try_min_sharpness(&qr, depth, head).unwrap(),
                bounds::try_min_sharpness(&svd, depth, head).unwrap(),
            );
            assert!(rel(a.value, b.value) < 1e-12, "S_min L={depth}: {} vs {}", a.value, b.value);
            // r* is a flat minimiser's argument: determined to √ε only.
            assert!(rel(a.r, b.r) < 1e-6, "r* L={depth}: {} vs {}", a.r, b.r);
            let (a, b) = (
                bounds::try_balanced_sharpness(&qr, depth, head).unwrap(),
                bounds::try_balanced_sharpness(&svd, depth, head).unwrap(),
            );
            assert!(rel(a, b) < 1e-12, "S_bal L={depth}: {a} vs {b}");
        }
    }
}

/// n < d: the minimum-norm interpolator (w* = Xᵀ(XXᵀ)⁻¹y, checked against the normal
/// equations of the wide system), rank n, and the references against the SVD route.
#[test]
fn qr_route_for_wide_data_gives_the_minimum_norm_interpolator() {
    let (x, y) = gaussian_data(220, 260, 5);
    let qr = Regression::from_data_via(x.as_ref(), &y, Route::Qr).unwrap();
    let svd = Regression::from_data_via(x.as_ref(), &y, Route::Svd).unwrap();
    assert_eq!(qr.route, Route::Qr);
    assert_eq!((qr.rank, svd.rank), (220, 220));
    // Interpolation: R_min = 0 to rounding, and Xw* = y.
    assert!(qr.risk_min < 1e-24, "R_min = {}", qr.risk_min);
    // Minimum norm: w* lies in the row space of X, i.e. equals the SVD route's V_r S⁻¹U_rᵀy.
    for (a, b) in qr.w_star.iter().zip(&svd.w_star) {
        assert!((a - b).abs() < 1e-11, "w*: {a} vs {b}");
    }
    assert!(rel(qr.lambda_max(), svd.lambda_max()) < 1e-12);
    assert!(rel(qr.lambda_min_nonzero(), svd.lambda_min_nonzero()) < 1e-10);
    for depth in [2, 4] {
        let (a, b) = (
            bounds::try_min_sharpness(&qr, depth, 1.0).unwrap().value,
            bounds::try_min_sharpness(&svd, depth, 1.0).unwrap().value,
        );
        assert!(rel(a, b) < 1e-12, "S_min L={depth}: {a} vs {b}");
        let (a, b) = (
            bounds::try_balanced_sharpness(&qr, depth, 1.0).unwrap(),
            bounds::try_balanced_sharpness(&svd, depth, 1.0).unwrap(),
        );
        assert!(rel(a, b) < 1e-12, "S_bal L={depth}: {a} vs {b}");
    }
}

/// A rank-deficient X (a repeated column) is refused by the QR route, which falls back to the
/// SVD: the numerical rank and the minimum-norm solution stay those of the SVD.
#[test]
fn qr_route_falls_back_to_the_svd_for_rank_deficient_data() {
    let (mut x, y) = gaussian_data(300, 230, 6);
    for i in 0..300 {
        x[(i, 229)] = x[(i, 3)];
    }
    let reg = Regression::from_data_via(x.as_ref(), &y, Route::Qr).unwrap();
    assert_eq!(reg.route, Route::Svd);
    assert_eq!(reg.rank, 229);
    assert!(reg.sigma_eigenvalues.is_some());
    // Minimum norm: the two copies of the repeated column share its weight equally.
    assert!((reg.w_star[3] - reg.w_star[229]).abs() < 1e-12);
}

/// The Gauss–Newton sharpness beyond the dense-Jacobian size (Lanczos on FKFᵀ in R^rank) is
/// the same on both routes (F differs: diag(σ)Vᵀ vs R/√n; FKFᵀ has the same non-zero spectrum).
#[test]
fn gauss_newton_sharpness_agrees_across_routes() {
    let (x, y) = gaussian_data(260, 240, 8);
    let model = Dln::mlp(240, 2);
    let theta = init::gaussian(&model, 0.1, &mut stream_rng(2, Stream::Init));
    let mut values = vec![];
    for route in [Route::Qr, Route::Svd] {
        let reg = Regression::from_data_via(x.as_ref(), &y, route).unwrap();
        let problem = Problem::new(model.clone(), Objective::Regression(reg)).unwrap();
        assert!(problem.num_params() > bounds::DENSE_JACOBIAN_MAX_PARAMS);
        values.push(bounds::try_minimizer_sharpness(&problem, &theta).unwrap());
    }
    // Lanczos to relative residual 1e-10 on each: eigenvalue errors ≪ 1e-10.
    assert!(rel(values[0], values[1]) < 1e-10, "{values:?}");
}

/// Route::Auto keeps the SVD below the threshold (every property's instance is far below it, so
/// their bits do not change).
#[test]
fn auto_route_takes_the_svd_below_the_threshold() {
    let (x, y) = gaussian_data(120, 100, 9);
    let reg = Regression::from_data(x.as_ref(), &y).unwrap();
    assert_eq!(reg.route, Route::Svd);
    const { assert!(dlncheck::engine::objective::QR_ROUTE_MIN > 100) };
}

/// The QR route multiplies out only the lower triangle of XᵀX and mirrors it: Σ is exactly
/// symmetric and agrees with a plain triple-loop XᵀX/n (summed in a different order) to rounding;
/// its factor F = R/√n is upper triangular, and the products Fv, Fᵀu that read rows from the
/// diagonal on agree with dense products over whole rows, and ‖Fx‖² with xᵀΣx.
#[test]
fn qr_route_sigma_and_triangular_factor_against_plain_products() {
    for (n, d) in [(260, 230), (190, 230)] {
        let (x, y) = gaussian_data(n, d, 11);
        let reg = Regression::from_data_via(x.as_ref(), &y, Route::Qr).unwrap();
        assert_eq!(reg.route, Route::Qr);
        let scale = (0..n).map(|i| (0..d).map(|j| x[(i, j)].powi(2)).sum::<f64>()).sum::<f64>() / n as f64;
        for i in 0..d {
            for j in 0..d {
                assert_eq!(reg.sigma[i * d + j], reg.sigma[j * d + i], "Σ symmetric at ({i}, {j})");
                let plain = (0..n).map(|k| x[(k, i)] * x[(k, j)]).sum::<f64>() / n as f64;
                assert!((reg.sigma[i * d + j] - plain).abs() < 1e-13 * scale, "Σ[{i}][{j}]");
            }
        }
        let rows = reg.sigma_factor.len() / d;
        let f = &reg.sigma_factor;
        if n >= d {
            for i in 0..rows {
                assert!(f[i * d..i * d + i].iter().all(|v| *v == 0.0), "F row {i} below the diagonal");
            }
        }
        let v: Vec<f64> = (0..d).map(|i| (i as f64 * 0.61).cos()).collect();
        let u: Vec<f64> = (0..rows).map(|i| (i as f64 * 0.29).sin()).collect();
        let (mut fv, mut ftu) = (vec![0.0; rows], vec![0.0; d]);
        reg.factor_mul(&v, &mut fv);
        reg.factor_t_mul(&u, &mut ftu);
        for i in 0..rows {
            let dense = (0..d).map(|j| f[i * d + j] * v[j]).sum::<f64>();
            assert!((fv[i] - dense).abs() < 1e-12, "(Fv)[{i}]: {} vs {dense}", fv[i]);
        }
        for j in 0..d {
            let dense = (0..rows).map(|i| f[i * d + j] * u[i]).sum::<f64>();
            assert!((ftu[j] - dense).abs() < 1e-12, "(Fᵀu)[{j}]: {} vs {dense}", ftu[j]);
        }
        let sv: f64 = (0..d).map(|i| v[i] * (0..d).map(|j| reg.sigma[i * d + j] * v[j]).sum::<f64>()).sum();
        assert!(rel(reg.quad(&v), sv) < 1e-12, "‖Fv‖² = {} vs vᵀΣv = {sv}", reg.quad(&v));
    }
}
