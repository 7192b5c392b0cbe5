//! Gradient descent and gradient flow: convergence, divergence as an outcome, integrator
//! accuracy (tolerance halving), invariants of the flow, and agreement of GD with GF as η → 0.

mod common;

use common::*;
use dlncheck::engine::init;
use dlncheck::engine::model::Dln;
use dlncheck::engine::objective::Objective;
use dlncheck::engine::problem::Problem;
use dlncheck::engine::rng::{Stream, stream_rng};
use dlncheck::engine::train::{self, GdOptions, GfOptions, Outcome, Stop};

fn paper_problem(seed: u64) -> Problem {
    let pd = dlncheck::engine::data::paper(50, 1, 5, 1.0, true, seed);
    Problem::new(Dln::mlp(5, 10), Objective::Regression(pd.train.regression().unwrap())).unwrap()
}

#[test]
fn gd_converges_on_the_paper_problem() {
    dlncheck::init_determinism();
    let problem = paper_problem(1);
    let theta0 = init::gaussian(&problem.model, 0.35, &mut stream_rng(1, Stream::Init));
    let mut opts = GdOptions::new(0.02, 20_000);
    opts.stop = Stop { excess_loss: Some(1e-12), grad_norm: None };
    let res = train::gradient_descent(&problem, &theta0, &opts);
    assert_eq!(res.outcome, Outcome::Converged, "last record {:?}", res.last);
    assert!(res.last.excess <= 1e-12);
    // Independent: recompute the excess risk at the returned θ.
    let reg = problem.objective.regression().unwrap();
    let w = problem.model.end_to_end(&res.theta);
    let w: Vec<f64> = (0..5).map(|j| w[(0, j)]).collect();
    assert!(reg.excess(&w) <= 1e-12);
    assert!(res.last.distance <= 1e-12 / reg.lambda_min_nonzero() * 1.0001);
}

#[test]
fn gd_divergence_is_an_outcome() {
    dlncheck::init_determinism();
    let problem = paper_problem(2);
    let theta0 = init::gaussian(&problem.model, 0.5, &mut stream_rng(2, Stream::Init));
    let opts = GdOptions::new(2.0, 1000);
    let res = train::gradient_descent(&problem, &theta0, &opts);
    assert_eq!(res.outcome, Outcome::Diverged);
    assert!(res.steps < 1000, "detected at step {}", res.steps);
    assert!(res.last.loss.is_finite(), "the last record is the last finite point");
    assert!(res.theta.iter().all(|x| x.is_finite()));
}

#[test]
fn gd_records_sharpness_on_request() {
    dlncheck::init_determinism();
    let problem = paper_problem(3);
    let theta0 = init::gaussian(&problem.model, 0.35, &mut stream_rng(3, Stream::Init));
    let mut opts = GdOptions::new(0.02, 100);
    opts.record_every = 25;
    opts.record_sharpness = Some(Default::default());
    let res = train::gradient_descent(&problem, &theta0, &opts);
    let steps: Vec<usize> = res.records.iter().map(|r| r.step).collect();
    assert_eq!(steps, vec![0, 25, 50, 75, 100]);
    assert!(res.records.iter().all(|r| r.sharpness.is_some_and(|s| s > 0.0)));
}

/// The documented tolerance is honest: halving it moves the end point by less than it.
#[test]
fn gradient_flow_end_point_converges_with_tolerance() {
    dlncheck::init_determinism();
    let cases: Vec<(Problem, Vec<f64>, f64)> = vec![
        {
            let p = paper_problem(4);
            let t = init::gaussian(&p.model, 0.3, &mut stream_rng(4, Stream::Init));
            (p, t, 30.0)
        },
        {
            let p = residual_problem(4, 5, 5);
            let t = init::residual(&p.model, 0.5, &mut stream_rng(5, Stream::Init));
            (p, t, 10.0)
        },
        {
            let p = matrix_problem(4, 6, 4, 3, 6, 0.1);
            let t = point(&p, 0.05, 6);
            (p, t, 40.0)
        },
    ];
    for (c, (problem, theta0, t_max)) in cases.iter().enumerate() {
        for tol in [1e-6, 1e-8, 1e-10] {
            let a = train::gradient_flow(problem, theta0, &GfOptions::new(*t_max, tol));
            let b = train::gradient_flow(problem, theta0, &GfOptions::new(*t_max, tol / 2.0));
            assert_eq!(a.outcome, Outcome::Exhausted);
            assert_eq!((a.time, b.time), (*t_max, *t_max));
            let moved = max_abs_diff(&a.theta, &b.theta) / max_abs(&a.theta).max(1.0);
            assert!(moved < tol, "case {c} tol {tol:e}: end point moved {moved:e}");
        }
    }
}

/// Along gradient flow D_k = W_{k+1}ᵀW_{k+1} − W_kW_kᵀ is conserved (no L2): a check of the
/// integrator against an exact invariant.
#[test]
fn gradient_flow_conserves_balance() {
    dlncheck::init_determinism();
    let problem = matrix_problem(3, 3, 3, 4, 7, 0.0);
    let theta0 = point(&problem, 0.4, 7);
    let res = train::gradient_flow(&problem, &theta0, &GfOptions::new(20.0, 1e-10));
    let imbalance = |theta: &[f64]| -> Vec<faer::Mat<f64>> {
        let w = problem.model.trained_weights(theta);
        (0..w.len() - 1)
            .map(|k| {
                let a = dlncheck::engine::linalg::matmul_owned(w[k + 1].transpose(), w[k + 1].as_ref());
                let b = dlncheck::engine::linalg::matmul_owned(w[k].as_ref(), w[k].transpose());
                a - b
            })
            .collect()
    };
    let (d0, d1) = (imbalance(&theta0), imbalance(&res.theta));
    for (a, b) in d0.iter().zip(&d1) {
        let drift = (a - b).norm_max();
        assert!(drift < 1e-7, "balance drift {drift:e}");
    }
    // The run actually went somewhere (loss decreased by orders of magnitude).
    assert!(res.last.loss < 1e-2 * problem.loss(&theta0), "{} vs {}", res.last.loss, problem.loss(&theta0));
}

/// Small initialisation: the flow sits on the saddle at 0 for time ~ log(1/ε) (L = 2) and the
/// adaptive step crosses the plateau in few steps.
#[test]
fn gradient_flow_crosses_plateaus_in_few_steps() {
    dlncheck::init_determinism();
    let problem = paper_problem(8);
    let mut m = problem.clone();
    m.model = Dln::mlp(5, 3);
    let theta0 = init::gaussian(&m.model, 1e-3, &mut stream_rng(8, Stream::Init));
    let mut opts = GfOptions::new(1e6, 1e-8);
    opts.stop = Stop { excess_loss: Some(1e-10), grad_norm: None };
    let res = train::gradient_flow(&m, &theta0, &opts);
    assert_eq!(res.outcome, Outcome::Converged);
    assert!(res.time > 10.0, "escape takes a while: t = {}", res.time);
    assert!(res.steps < 3000, "{} steps", res.steps);
}

/// GD with step η tracks gradient flow up to O(η) at a fixed time.
#[test]
fn gradient_descent_approaches_gradient_flow() {
    dlncheck::init_determinism();
    let problem = paper_problem(9);
    let theta0 = init::gaussian(&problem.model, 0.35, &mut stream_rng(9, Stream::Init));
    let t = 5.0;
    let gf = train::gradient_flow(&problem, &theta0, &GfOptions::new(t, 1e-11));
    let err = |eta: f64| {
        let steps = (t / eta).round() as usize;
        let gd = train::gradient_descent(&problem, &theta0, &GdOptions::new(eta, steps));
        max_abs_diff(&gd.theta, &gf.theta)
    };
    let (e1, e2) = (err(0.01), err(0.005));
    let ratio = e1 / e2;
    assert!((1.6..2.4).contains(&ratio), "first-order convergence: errors {e1:e}, {e2:e}, ratio {ratio}");
}

/// The GD loop runs its evaluations under pulp's SIMD dispatch (AVX2/AVX-512 when present);
/// the kernels fix their operation order, so the bits must equal a plain baseline-compiled loop.
#[test]
fn simd_dispatched_descent_is_bit_identical_to_a_plain_loop() {
    dlncheck::init_determinism();
    for (problem, std) in [(paper_problem(10), 0.35), (residual_problem(7, 4, 11), 0.3)] {
        let theta0 = init::gaussian(&problem.model, std, &mut stream_rng(12, Stream::Init));
        let (eta, steps) = (0.01, 500);
        let res = train::gradient_descent(&problem, &theta0, &GdOptions::new(eta, steps));
        let mut theta = theta0.clone();
        let mut ws = problem.workspace();
        let mut g = vec![0.0; theta.len()];
        for _ in 0..steps {
            problem.at(&mut ws, &theta).gradient(&mut g);
            dlncheck::engine::linalg::axpy(&mut theta, -eta, &g);
        }
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&res.theta), bits(&theta));
    }
}
