//! Loss, gradient, Hessian-vector products and the dense Hessian, each against an independent
//! reference: the risk computed from (X, y) directly, central finite differences, and the
//! Hessian assembled from stacked HVPs.

mod common;

use common::*;
use dlncheck::engine::hessian;
use dlncheck::engine::problem::Problem;

fn problems() -> Vec<(&'static str, Problem, f64)> {
    vec![
        ("mlp d=4 L=3", mlp_problem(4, 3, 1), 0.6),
        ("mlp d=3 L=1", mlp_problem(3, 1, 2), 0.6),
        ("mlp d=3 L=2", mlp_problem(3, 2, 3), 0.8),
        ("residual d=3 L=4", residual_problem(3, 4, 4), 0.5),
        ("matrix 3→5→2 L=3, l2", matrix_problem(3, 5, 2, 3, 5, 0.1), 0.5),
        ("completion 4 w=3 L=3, l2", completion_problem(4, 3, 3, 6, 0.05), 0.6),
        ("matrix L=2", matrix_problem(2, 4, 3, 2, 7, 0.0), 0.7),
    ]
}

/// Central difference of the loss along e_i, step h.
fn fd_gradient(problem: &Problem, theta: &[f64], h: f64) -> Vec<f64> {
    let mut t = theta.to_vec();
    (0..theta.len())
        .map(|i| {
            t[i] = theta[i] + h;
            let fp = problem.loss(&t);
            t[i] = theta[i] - h;
            let fm = problem.loss(&t);
            t[i] = theta[i];
            (fp - fm) / (2.0 * h)
        })
        .collect()
}

#[test]
fn gradient_matches_central_differences() {
    dlncheck::init_determinism();
    for (name, problem, std) in problems() {
        let theta = point(&problem, std, 11);
        let (_, g) = problem.loss_and_gradient(&theta);
        let fd = fd_gradient(&problem, &theta, 1e-5);
        // Central differences: truncation O(h²·ℓ''') ≈ 1e-10, rounding O(ε·ℓ/h) ≈ 1e-11.
        let err = max_abs_diff(&g, &fd) / max_abs(&g).max(1.0);
        assert!(err < 1e-7, "{name}: gradient vs FD relative error {err:e}");
    }
}

#[test]
fn hvp_matches_differences_of_gradients() {
    dlncheck::init_determinism();
    for (name, problem, std) in problems() {
        let theta = point(&problem, std, 12);
        let p = theta.len();
        let v = point(&problem, 1.0, 13);
        let mut ws = problem.workspace();
        let mut hv = vec![0.0; p];
        problem.at(&mut ws, &theta).hvp(&v, &mut hv);
        let h = 1e-5;
        let tp: Vec<f64> = theta.iter().zip(&v).map(|(t, v)| t + h * v).collect();
        let tm: Vec<f64> = theta.iter().zip(&v).map(|(t, v)| t - h * v).collect();
        let (_, gp) = problem.loss_and_gradient(&tp);
        let (_, gm) = problem.loss_and_gradient(&tm);
        let fd: Vec<f64> = gp.iter().zip(&gm).map(|(a, b)| (a - b) / (2.0 * h)).collect();
        let err = max_abs_diff(&hv, &fd) / max_abs(&hv).max(1.0);
        assert!(err < 1e-7, "{name}: HVP vs FD relative error {err:e}");
    }
}

#[test]
fn dense_hessian_is_symmetric_and_equals_stacked_hvps() {
    dlncheck::init_determinism();
    for (name, problem, std) in problems() {
        let theta = point(&problem, std, 14);
        let h = hessian::dense_hessian(&problem, &theta);
        let s = hessian::hessian_from_hvps(&problem, &theta);
        let p = theta.len();
        let scale = (0..p)
            .flat_map(|i| (0..p).map(move |j| (i, j)))
            .map(|(i, j)| h[(i, j)].abs())
            .fold(0.0, f64::max);
        let (mut asym, mut asym_hvp, mut diff) = (0.0f64, 0.0f64, 0.0f64);
        for i in 0..p {
            for j in 0..p {
                asym = asym.max((h[(i, j)] - h[(j, i)]).abs());
                asym_hvp = asym_hvp.max((s[(i, j)] - s[(j, i)]).abs());
                diff = diff.max((h[(i, j)] - s[(i, j)]).abs());
            }
        }
        assert_eq!(asym, 0.0, "{name}: dense Hessian must be exactly symmetric");
        // The HVP route is not symmetrised: its asymmetry is rounding only.
        assert!(asym_hvp <= 1e-13 * scale.max(1.0), "{name}: stacked HVPs asymmetric by {asym_hvp:e}");
        assert!(
            diff <= 1e-12 * scale.max(1.0),
            "{name}: dense vs stacked HVPs differ by {diff:e} (scale {scale:e})"
        );
    }
}

#[test]
fn reduced_risk_equals_risk_from_data() {
    dlncheck::init_determinism();
    for seed in 0..5u64 {
        let d = 3 + seed as usize % 3;
        let (data, reg) = regression(d, seed);
        let problem = Problem::new(
            dlncheck::engine::model::Dln::mlp(d, 3),
            dlncheck::engine::objective::Objective::Regression(reg),
        )
        .unwrap();
        let theta = point(&problem, 0.7, seed);
        // w_prod by explicit naive products of the layers.
        let ws = problem.model.trained_weights(&theta);
        let mut w: Vec<f64> = (0..d).map(|j| ws[2][(0, j)]).collect();
        for m in ws[..2].iter().rev() {
            w = (0..d).map(|j| (0..d).map(|i| w[i] * m[(i, j)]).sum()).collect();
        }
        let n = data.n();
        let direct: f64 = (0..n)
            .map(|i| {
                let r = data.y[i] - (0..d).map(|j| data.x[(i, j)] * w[j]).sum::<f64>();
                r * r
            })
            .sum::<f64>()
            / n as f64;
        let reduced = problem.loss(&theta);
        assert!(rel_err(direct, reduced) < 1e-12, "seed {seed}: {direct} vs {reduced}");
    }
}

#[test]
fn gradient_is_independent_of_n() {
    // Same Σ, b (duplicating every sample keeps the moments): identical risk and gradient.
    dlncheck::init_determinism();
    let (data, reg) = regression(4, 3);
    let n = data.n();
    let x2 = faer::Mat::from_fn(2 * n, 4, |i, j| data.x[(i % n, j)]);
    let y2: Vec<f64> = (0..2 * n).map(|i| data.y[i % n]).collect();
    let reg2 = dlncheck::engine::objective::Regression::from_data(x2.as_ref(), &y2).unwrap();
    let p1 = Problem::new(
        dlncheck::engine::model::Dln::mlp(4, 3),
        dlncheck::engine::objective::Objective::Regression(reg),
    )
    .unwrap();
    let p2 = Problem::new(
        dlncheck::engine::model::Dln::mlp(4, 3),
        dlncheck::engine::objective::Objective::Regression(reg2),
    )
    .unwrap();
    let theta = point(&p1, 0.5, 1);
    let (l1, g1) = p1.loss_and_gradient(&theta);
    let (l2, g2) = p2.loss_and_gradient(&theta);
    assert!(rel_err(l1, l2) < 1e-13);
    assert!(max_abs_diff(&g1, &g2) < 1e-13 * max_abs(&g1).max(1.0));
}

/// `Dln::from_layers` (the model behind every network): parameters are the trained layers in
/// order, W_1 first, and mis-shaped specs are errors naming the layers, counted by hand here.
#[test]
fn from_layers_counts_parameters_and_names_bad_shapes() {
    use dlncheck::engine::model::{Dln, Layer, ModelError};
    assert_eq!(Dln::from_layers(vec![]).unwrap_err(), ModelError::Empty);
    // W_1 3×2, then W_2 with 4 columns: it must have W_1's 3 rows as columns.
    assert_eq!(
        Dln::from_layers(vec![(3, 2, None), (1, 4, None)]).unwrap_err(),
        ModelError::ShapeMismatch { k: 1, prev: 0, rows: 3, cols: 4 }
    );
    assert_eq!(
        Dln::from_layers(vec![(3, 2, None), (2, 3, None), (1, 3, None)]).unwrap_err(),
        ModelError::ShapeMismatch { k: 2, prev: 1, rows: 2, cols: 3 }
    );
    // A fixed 1×3 layer needs 3 entries.
    assert_eq!(
        Dln::from_layers(vec![(3, 2, None), (1, 3, Some(vec![1.0, 2.0]))]).unwrap_err(),
        ModelError::FixedLen { k: 1, expected: 3, got: 2 }
    );
    // Trained 3×2 (6), fixed 2×3, trained 1×2 (2): P = 8, W_3 at θ[6..8].
    let net = Dln::from_layers(vec![(3, 2, None), (2, 3, Some(vec![0.5; 6])), (1, 2, None)]).unwrap();
    assert_eq!(net.num_params(), 8);
    assert_eq!((net.param_range(0), net.param_range(1), net.param_range(2)), (Some(0..6), None, Some(6..8)));
    let sizes: Vec<(usize, bool)> = net.layers().iter().map(|l: &Layer| (l.len(), l.is_empty())).collect();
    assert_eq!(sizes, [(6, false), (6, false), (2, false)]);
}

/// ‖p‖ of Theorem 1's LB: the Frobenius norm of the product of the fixed layers above the last
/// trained one; 1 with none (MLP), ‖p‖ for the residual head, and for two fixed layers
/// [1 2]·[[1, 0], [0, 3]] = [1 6] (norm √37) by hand.
#[test]
fn head_norm_is_the_norm_of_the_fixed_product_on_top() {
    use dlncheck::engine::model::Dln;
    assert_eq!(Dln::mlp(3, 2).head_norm(), 1.0);
    assert_eq!(Dln::residual(&[3.0, 4.0], 2).head_norm(), 5.0);
    let two_fixed = Dln::from_layers(vec![
        (2, 2, None),
        (2, 2, Some(vec![1.0, 0.0, 0.0, 3.0])),
        (1, 2, Some(vec![1.0, 2.0])),
    ])
    .unwrap();
    assert!((two_fixed.head_norm() - 37f64.sqrt()).abs() < 1e-15);
    // A fixed layer below a trained one is not part of the head.
    let fixed_below = Dln::from_layers(vec![(2, 2, Some(vec![2.0, 0.0, 0.0, 2.0])), (1, 2, None)]).unwrap();
    assert_eq!(fixed_below.head_norm(), 1.0);
}

/// The products below and above a layer (B_k, a_k of the gradient ∂ℓ/∂W_k = a_kᵀc_k), on
/// W_1 = [[1, 2], [0, 1]], W_2 = [[2, 0], [1, 1]], W_3 = [3, 1] (θ row-major), by hand:
/// B_1 = I, B_2 = W_1, B_3 = W_2W_1 = [[2, 4], [1, 3]]; a_3 = 1, a_2 = W_3 = [3, 1],
/// a_1 = W_3W_2 = [7, 1].
#[test]
fn products_below_and_above_a_layer_by_hand() {
    use dlncheck::engine::model::Dln;
    let net = Dln::from_layers(vec![(2, 2, None), (2, 2, None), (1, 2, None)]).unwrap();
    let theta = [1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0, 1.0, 3.0, 1.0];
    let entries = |m: faer::Mat<f64>| {
        (0..m.nrows())
            .flat_map(|i| (0..m.ncols()).map(move |j| (i, j)))
            .map(|(i, j)| m[(i, j)])
            .collect::<Vec<_>>()
    };
    assert_eq!(entries(net.below(0, &theta)), [1.0, 0.0, 0.0, 1.0]);
    assert_eq!(entries(net.below(1, &theta)), [1.0, 2.0, 0.0, 1.0]);
    assert_eq!(entries(net.below(2, &theta)), [2.0, 4.0, 1.0, 3.0]);
    assert_eq!(entries(net.above(2, &theta)), [1.0]);
    assert_eq!(entries(net.above(1, &theta)), [3.0, 1.0]);
    assert_eq!(entries(net.above(0, &theta)), [7.0, 1.0]);
    // and the end-to-end map W_3W_2W_1 = [7, 15].
    assert_eq!(entries(net.end_to_end(&theta)), [7.0, 15.0]);
}
