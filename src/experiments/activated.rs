//! One gradient-descent run of a grid whose network has an activation (Figure 7: GELU after every
//! layer but the last, on the noise-free data), recorded in the same [`Run`] as the linear runs.
//!
//! The differences from [`crate::experiments::run`]: the loss, gradient and Hessian are those of
//! the activated network on the raw data ([`crate::engine::activated`]); `excess` is the training
//! loss itself (the infimum of a loss on noise-free data is taken as 0, and no closed-form R_min
//! exists for the non-linear network); `distance` is the authors' "squared distance"
//! ‖W_L⋯W_1 − w*‖²/d of the product of the weights, ignoring the activation (their
//! `square_distance_to_minimizer_mlp`, which their Figure 7 plots); no early stopping (the PL
//! certificate is a linear-network fact), so `drift_bound` is ∞. The GD loop allocates nothing
//! per step: one workspace and one gradient buffer per run.

use crate::engine::activated::{self, ActivatedProblem};
use crate::engine::linalg::{axpy, norm, to_row_major};
use crate::engine::spectrum::{Method, SpectrumOptions};
use crate::engine::train;
use crate::experiments::cpu_clock::CpuClock;
use crate::experiments::grid::{Grid, RunConfig};
use crate::experiments::run::{
    AUTHORS_ITERS, PointStats, Run, RunOutcome, RunTiming, Setup, estimator_seeds, initial_theta,
};

/// All measurements at θ: exact extremes of the Hessian (P = 230 for the paper's network),
/// the authors' estimator, the authors' distance, training and test losses.
pub fn point_stats(
    train: &ActivatedProblem,
    test: &ActivatedProblem,
    w_star: &[f64],
    theta: &[f64],
    seed: u64,
) -> PointStats {
    let (loss, grad) = train.loss_and_gradient(theta);
    let opts = SpectrumOptions { method: Some(Method::Exact), ..SpectrumOptions::default() };
    // The exact solver does not iterate; a failure means an overflowed Hessian: NaN, as diverged.
    let ext = activated::hessian_extremes(train, theta, &opts).ok();
    let w = to_row_major(train.model.end_to_end(theta).as_ref());
    let distance = w.iter().zip(w_star).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / w_star.len() as f64;
    PointStats {
        sharpness: ext.as_ref().map_or(f64::NAN, |e| e.max),
        min_eig: ext.as_ref().map_or(f64::NAN, |e| e.min),
        power20: activated::power_iteration(train, theta, AUTHORS_ITERS, seed),
        distance,
        excess: loss,
        grad_norm: norm(&grad),
        train_loss: loss,
        test_loss: test.loss(theta),
    }
}

/// Gradient descent θ ← θ − η∇R(θ) for `steps` steps; `Err(step)` at the first step whose loss
/// is not finite or exceeds `limit` ([`train::divergence_limit`] of the initial loss). The whole
/// loop runs under pulp's dispatch (the passes are `#[inline(always)]`, so they are compiled for
/// this CPU's SIMD level); operation order is fixed, so the bits do not depend on it.
pub fn descend(
    problem: &ActivatedProblem,
    theta: &mut [f64],
    eta: f64,
    steps: usize,
    limit: f64,
) -> Result<(), usize> {
    let d = Descent { problem, theta, eta, steps, limit };
    #[cfg(target_arch = "x86_64")]
    if avx512::available() {
        // SAFETY: the CPU has the features `avx512::descend` is compiled for.
        return unsafe { avx512::descend(d) };
    }
    pulp::Arch::new().dispatch(d)
}

/// The loop compiled for AVX-512 (pulp 0.22 stops at AVX2 without its `x86-v4` feature, which
/// would also change faer's kernels and so the linear path): the GELU evaluation is
/// latency-bound, and twice the lanes per instruction keep twice the entries in flight.
/// Element-wise IEEE operations in a fixed order, no fused multiply-adds (Rust never contracts
/// a·b + c): the bits are those of the AVX2 and scalar builds.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::Descent;

    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
    }

    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
    pub(super) unsafe fn descend(d: Descent<'_>) -> Result<(), usize> {
        d.run()
    }
}

struct Descent<'a> {
    problem: &'a ActivatedProblem,
    theta: &'a mut [f64],
    eta: f64,
    steps: usize,
    limit: f64,
}

impl pulp::WithSimd for Descent<'_> {
    type Output = Result<(), usize>;
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Self::Output {
        self.run()
    }
}

impl Descent<'_> {
    /// The loop itself, inlined into each dispatch target.
    #[inline(always)]
    fn run(self) -> Result<(), usize> {
        let Descent { problem, theta, eta, steps, limit } = self;
        let mut ws = problem.workspace();
        let mut grad = vec![0.0; theta.len()];
        for step in 0..=steps {
            let loss = problem.loss_and_gradient_into(&mut ws, theta, &mut grad);
            if !(loss.is_finite() && loss <= limit) {
                return Err(step);
            }
            if step == steps {
                break;
            }
            axpy(theta, -eta, &grad);
        }
        Ok(())
    }
}

/// Runs one configuration of an activated grid (same seeds and initialisation as the linear
/// grids: [`initial_theta`], and the estimator seeds of [`crate::experiments::run`]).
pub fn run_one(grid: &Grid, setup: &Setup, cfg: &RunConfig) -> (Run, RunTiming) {
    let (train, test) = &setup.activated[cfg.depth_index];
    let linear = &setup.problems[cfg.depth_index];
    let w_star = &linear.objective.regression().expect("experiments are regressions").w_star;
    let mut timing = RunTiming::default();
    let theta0 = initial_theta(linear, grid.arch, cfg.scale, cfg.seed);
    let (seed_init, seed_last) = estimator_seeds(cfg.seed);
    let clock = CpuClock::start();
    let init = point_stats(train, test, w_star, &theta0, seed_init);
    timing.spectra += clock.seconds();
    let limit = train::divergence_limit(init.train_loss);
    let mut theta = theta0;
    let clock = CpuClock::start();
    let res = descend(train, &mut theta, cfg.eta, cfg.steps, limit);
    timing.gd += clock.seconds();
    let (outcome, steps_run, last) = match res {
        Err(step) => (RunOutcome::Diverged, step, PointStats::NAN),
        Ok(()) => {
            let clock = CpuClock::start();
            let last = point_stats(train, test, w_star, &theta, seed_last);
            timing.spectra += clock.seconds();
            (RunOutcome::Completed, cfg.steps, last)
        }
    };
    let drift_bound = if outcome == RunOutcome::Diverged { f64::NAN } else { f64::INFINITY };
    (Run { config: *cfg, outcome, steps_run, init, last, drift_bound }, timing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::activation::Activation;
    use crate::engine::model::Dln;
    use crate::engine::{init, rng};

    /// The descent gives the same bits under every dispatch: the AVX-512 build (where the CPU has
    /// it), pulp's (AVX2 here), and the loop compiled for the baseline target (SSE2).
    #[test]
    fn descent_bits_do_not_depend_on_the_simd_level() {
        let (n, d, depth) = (37, 5, 6);
        let model = Dln::mlp(d, depth);
        let mut r = rng::stream_rng(7, rng::Stream::Data);
        let xs = rng::normals(&mut r, n * d);
        let x = faer::Mat::from_fn(n, d, |i, j| xs[i * d + j]);
        let y = rng::normals(&mut r, n);
        let problem = ActivatedProblem::new(model.clone(), Activation::Gelu, x.as_ref(), &y).unwrap();
        let theta0 = init::gaussian(&model, 0.6, &mut rng::stream_rng(7, rng::Stream::Init));
        let run = |how: u8| {
            let mut theta = theta0.clone();
            let d =
                Descent { problem: &problem, theta: &mut theta, eta: 0.01, steps: 300, limit: f64::INFINITY };
            let res = match how {
                0 => descend(&problem, d.theta, 0.01, 300, f64::INFINITY),
                1 => pulp::Arch::new().dispatch(d),
                _ => d.run(),
            };
            assert_eq!(res, Ok(()));
            theta.iter().map(|t| t.to_bits()).collect::<Vec<_>>()
        };
        let (a, b, c) = (run(0), run(1), run(2));
        assert_ne!(a, theta0.iter().map(|t| t.to_bits()).collect::<Vec<_>>(), "θ moved");
        assert_eq!(a, b, "AVX-512 (or the default dispatch) against pulp's");
        assert_eq!(b, c, "pulp's dispatch against the plain loop");
    }
}
