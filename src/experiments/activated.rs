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
use crate::engine::activated_lanes::{Lanes, LossGradient, WithLanePass};
#[cfg(target_arch = "x86_64")]
use crate::engine::lane::{Avx2, Avx512};
use crate::engine::lane::{LaneIsa, Portable};
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
/// loop is compiled for the CPU's widest vector instructions (AVX-512, else AVX2, else the
/// baseline), with the lane passes of [`crate::engine::activated_lanes`] when the network has
/// their shape; operation order is fixed, so the bits do not depend on the instruction set.
pub fn descend(
    problem: &ActivatedProblem,
    theta: &mut [f64],
    eta: f64,
    steps: usize,
    limit: f64,
) -> Result<(), usize> {
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(isa) = Avx512::detect() {
            // SAFETY: the token says the CPU has AVX-512F, which `on_avx512` is compiled for.
            return unsafe { on_avx512(Descent { isa, problem, theta, eta, steps, limit }) };
        }
        if let Some(isa) = Avx2::detect() {
            // SAFETY: as above, for AVX2.
            return unsafe { on_avx2(Descent { isa, problem, theta, eta, steps, limit }) };
        }
    }
    Descent { isa: Portable, problem, theta, eta, steps, limit }.run()
}

/// The loop compiled for AVX-512F (pulp 0.22's dispatch stops at AVX2 without its `x86-v4`
/// feature, which would also change faer's kernels and so the linear path).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn on_avx512(d: Descent<'_, Avx512>) -> Result<(), usize> {
    d.run()
}

/// The loop compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn on_avx2<I: LaneIsa>(d: Descent<'_, I>) -> Result<(), usize> {
    d.run()
}

struct Descent<'a, I: LaneIsa> {
    isa: I,
    problem: &'a ActivatedProblem,
    theta: &'a mut [f64],
    eta: f64,
    steps: usize,
    limit: f64,
}

impl<I: LaneIsa> Descent<'_, I> {
    /// The loop itself, inlined into each target: the lane passes when the network has their
    /// shape, else the general ones. Element-wise IEEE operations in a fixed order and no fused
    /// multiply-adds (Rust never contracts a·b + c), whatever the instruction set.
    #[inline(always)]
    fn run(self) -> Result<(), usize> {
        match Lanes::new(self.problem) {
            Some(mut lanes) => lanes.dispatch(self),
            None => {
                let mut ws = self.problem.workspace();
                self.with(&mut ws)
            }
        }
    }
}

impl<I: LaneIsa> WithLanePass for Descent<'_, I> {
    type Output = Result<(), usize>;
    #[inline(always)]
    fn with<N: LossGradient>(self, net: &mut N) -> Self::Output {
        let Descent { isa, problem, theta, eta, steps, limit } = self;
        let mut grad = vec![0.0; theta.len()];
        for step in 0..=steps {
            let loss = net.loss_and_gradient_into(isa, problem, theta, &mut grad);
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
    use crate::engine::activated_lanes::Lanes;
    use crate::engine::activation::Activation;
    use crate::engine::model::Dln;
    use crate::engine::{init, rng};

    /// The descent gives the same bits under every instruction set this CPU has: AVX-512, AVX2
    /// and the loop compiled for the baseline target (SSE2), on a shape with a lane path (the
    /// MLP, n not a multiple of 8) and on one without (a wider first layer: the general passes).
    #[test]
    fn descent_bits_do_not_depend_on_the_instruction_set() {
        for (model, has_lanes) in [(Dln::mlp(5, 6), true), (Dln::deep(5, 6, 1, 4), false)] {
            let (n, d) = (37, 5);
            let mut r = rng::stream_rng(7, rng::Stream::Data);
            let xs = rng::normals(&mut r, n * d);
            let x = faer::Mat::from_fn(n, d, |i, j| xs[i * d + j]);
            let y = rng::normals(&mut r, n);
            let problem = ActivatedProblem::new(model.clone(), Activation::Gelu, x.as_ref(), &y).unwrap();
            assert_eq!(Lanes::new(&problem).is_some(), has_lanes);
            let theta0 = init::gaussian(&model, 0.6, &mut rng::stream_rng(7, rng::Stream::Init));
            let bits = |theta: &[f64]| theta.iter().map(|t| t.to_bits()).collect::<Vec<_>>();
            let run = |how: &str| {
                let mut theta = theta0.clone();
                let (eta, steps, limit) = (0.01, 300, f64::INFINITY);
                let res = match how {
                    "dispatched" => descend(&problem, &mut theta, eta, steps, limit),
                    "portable" => {
                        Descent { isa: Portable, problem: &problem, theta: &mut theta, eta, steps, limit }
                            .run()
                    }
                    #[cfg(target_arch = "x86_64")]
                    "avx2" => {
                        let isa = Avx2::detect()?;
                        // SAFETY: the token says the CPU has AVX2 and FMA.
                        unsafe {
                            on_avx2(Descent { isa, problem: &problem, theta: &mut theta, eta, steps, limit })
                        }
                    }
                    #[cfg(target_arch = "x86_64")]
                    "avx512" => {
                        let isa = Avx512::detect()?;
                        // SAFETY: the token says the CPU has AVX-512F.
                        unsafe {
                            on_avx512(Descent {
                                isa,
                                problem: &problem,
                                theta: &mut theta,
                                eta,
                                steps,
                                limit,
                            })
                        }
                    }
                    _ => return None,
                };
                assert_eq!(res, Ok(()));
                Some(bits(&theta))
            };
            let reference = run("portable").unwrap();
            assert_ne!(reference, bits(&theta0), "θ moved");
            assert_eq!(run("dispatched").unwrap(), reference, "dispatched against portable");
            for how in ["avx2", "avx512"] {
                if let Some(b) = run(how) {
                    assert_eq!(b, reference, "{how} against portable (lanes: {has_lanes})");
                }
            }
        }
    }
}
