//! Shared test fixtures: small seeded problems of every kind.
#![allow(dead_code)]

use dlncheck::engine::data;
use dlncheck::engine::init;
use dlncheck::engine::model::Dln;
use dlncheck::engine::objective::{Objective, Regression};
use dlncheck::engine::problem::Problem;
use dlncheck::engine::rng::{Stream, stream_rng};
use faer::Mat;

/// Paper-style regression data (n = 3d, noise 0.5, not normalised so ‖w*‖ ≠ 1).
pub fn regression(d: usize, seed: u64) -> (data::Dataset, Regression) {
    let pd = data::paper(3 * d, 1, d, 0.5, false, seed);
    let reg = pd.train.regression().unwrap();
    (pd.train, reg)
}

pub fn mlp_problem(d: usize, depth: usize, seed: u64) -> Problem {
    let (_, reg) = regression(d, seed);
    Problem::new(Dln::mlp(d, depth), Objective::Regression(reg)).unwrap()
}

pub fn residual_problem(d: usize, depth: usize, seed: u64) -> Problem {
    let (_, reg) = regression(d, seed);
    let mut p = init::projection(d, &mut stream_rng(seed, Stream::Projection));
    p.iter_mut().for_each(|x| *x *= 1.7); // ‖p‖ ≠ 1 on purpose
    Problem::new(Dln::residual(&p, depth), Objective::Regression(reg)).unwrap()
}

pub fn matrix_problem(d_in: usize, width: usize, d_out: usize, depth: usize, seed: u64, l2: f64) -> Problem {
    let mut rng = stream_rng(seed, Stream::Data);
    let y = Mat::from_fn(d_out, d_in, |_, _| dlncheck::engine::rng::normal(&mut rng));
    Problem::new(Dln::deep(d_in, width, d_out, depth), Objective::Matrix { target: y }).unwrap().with_l2(l2)
}

pub fn completion_problem(d: usize, width: usize, depth: usize, seed: u64, l2: f64) -> Problem {
    let mut rng = stream_rng(seed, Stream::Data);
    let y = Mat::from_fn(d, d, |_, _| dlncheck::engine::rng::normal(&mut rng));
    let mask = Mat::from_fn(d, d, |i, j| if (i * 7 + j * 3) % 3 == 0 { 0.0 } else { 1.0 });
    Problem::new(Dln::deep(d, width, d, depth), Objective::Completion { target: y, mask })
        .unwrap()
        .with_l2(l2)
}

/// A generic random point of scale `std`.
pub fn point(problem: &Problem, std: f64, seed: u64) -> Vec<f64> {
    init::gaussian(&problem.model, std, &mut stream_rng(seed, Stream::Init))
}

pub fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

pub fn max_abs(a: &[f64]) -> f64 {
    a.iter().map(|x| x.abs()).fold(0.0, f64::max)
}
