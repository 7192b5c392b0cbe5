//! mc.pl_inequality as a property test: at random points θ of random instances,
//! ‖∇R‖² ≥ 4λ(R − R_min)·Σ_k‖a_k‖²σ_min(B_k)² ≥ 4λ‖a_1‖²(R − R_min). A violation would shrink
//! to a minimal (d, L, n, κ, seed). Fixed seed, no persistence file: the same cases every run.
//!
//! Tolerance: both sides are products of O(L) factors computed in floating point by two
//! different routes (backward pass vs SVDs), so their ratio is exact to ~L·d·ε ≈ 1e-14; the
//! assertion allows 1e-9. The inequality can be an equality (L = 1, κ = 1: ‖g‖² = 4λ²‖w − w*‖²),
//! so no more slack than rounding is justified.

use dlncheck::claims::mc_pl_inequality::pl_terms;
use dlncheck::engine::data::{self, Direction, SpectrumSpec};
use dlncheck::engine::init;
use dlncheck::engine::model::Dln;
use dlncheck::engine::objective::Objective;
use dlncheck::engine::problem::Problem;
use dlncheck::engine::rng::{Stream, stream_rng};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};

/// The instance: covariance eigenvalues geometric from 1 to 1/κ when n ≥ d (w* random, ‖w*‖ = 1.7,
/// R_min = 0.1 when n > d); the paper's Gaussian data otherwise (n < d: Σ singular).
fn problem(d: usize, depth: usize, n: usize, kappa: f64, seed: u64, residual: bool) -> Problem {
    let ds = if n >= d {
        data::with_spectrum(
            &SpectrumSpec {
                n,
                eigenvalues: data::geometric_spectrum(d, 1.0, kappa),
                direction: Direction::Random,
                w_star_norm: 1.7,
                risk_min: if n > d { 0.1 } else { 0.0 },
                rotate: true,
            },
            seed,
        )
    } else {
        data::paper(n, 1, d, 0.5, false, seed).train
    };
    let model = if residual {
        Dln::residual(&init::projection(d, &mut stream_rng(seed, Stream::Projection)), depth)
    } else {
        Dln::mlp(d, depth)
    };
    Problem::new(model, Objective::Regression(ds.regression().unwrap())).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        rng_seed: RngSeed::Fixed(20240513),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn pl_inequality_holds_at_random_points(
        d in 1usize..=6,
        depth in 1usize..=6,
        n in 1usize..=14,
        log_kappa in 0.0f64..=4.0,
        seed in any::<u64>(),
        residual in any::<bool>(),
        scale in 0.05f64..=1.5,
    ) {
        dlncheck::init_determinism();
        let kappa = 10f64.powf(log_kappa);
        let problem = problem(d, depth, n, kappa, seed, residual);
        let theta = if residual {
            init::residual(&problem.model, scale, &mut stream_rng(seed, Stream::Init))
        } else {
            init::gaussian(&problem.model, scale, &mut stream_rng(seed, Stream::Init))
        };
        match pl_terms(&problem, &theta) {
            Err(e) => {
                // Only a singular covariance may be refused, and the message must say so.
                prop_assert!(n < d, "unexpected error with n = {n} ≥ d = {d}: {e}");
                prop_assert!(e.0.contains("singular"), "{e}");
            }
            Ok(t) => {
                prop_assert!(n >= d, "Σ is singular (n = {n} < d = {d}) but no error was returned");
                prop_assume!(t.excess > 1e-12);
                let strong = 4.0 * t.lambda * t.excess * t.weight;
                let weak = 4.0 * t.lambda * t.excess * t.a1_sq;
                prop_assert!(t.grad_sq >= strong * (1.0 - 1e-9), "‖∇R‖² = {:e} < {strong:e} ({t:?})", t.grad_sq);
                prop_assert!(strong >= weak * (1.0 - 1e-9), "Σ_k term {strong:e} < k = 1 term {weak:e}");
            }
        }
    }
}

/// The inequality is an equality for one layer on isotropic data: ‖∇R‖² = ‖g‖² = 4λ·(R − R_min)
/// with weight ‖a_1‖² = 1 (MLP, L = 1): the measured tightness is 1 to rounding.
#[test]
fn equality_case_single_layer_isotropic() {
    dlncheck::init_determinism();
    let problem = problem(4, 1, 9, 1.0, 5, false);
    let theta = init::gaussian(&problem.model, 0.7, &mut stream_rng(5, Stream::Init));
    let t = pl_terms(&problem, &theta).unwrap();
    assert!((t.tightness(t.lambda) - 1.0).abs() < 1e-12, "{t:?}");
    assert_eq!(t.a1_sq, 1.0);
}
