//! Property-based tests of the deterministic bounds over random (architecture, d, L, n = 2d + 1,
//! κ, direction, ‖w*‖, minimiser kind, seed): a violation would shrink to a minimal instance.
//! Fixed proptest seed and case count, no persistence: CI runs the same cases every time.

use dlncheck::framework::property::{Claim, GridPoint, Status, Value, Variant};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config(cases: u32, seed: u64) -> Config {
    Config { cases, rng_seed: RngSeed::Fixed(seed), failure_persistence: None, ..Config::default() }
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

prop_compose! {
    fn instance(min_depth: usize, kinds: &'static [&'static str])(
        residual in any::<bool>(),
        d in 1usize..=6,
        depth in min_depth..=8,
        log_kappa in 0.0f64..4.0,
        dir in 0usize..3,
        w_norm in 0.2f64..5.0,
        kind in 0..kinds.len(),
        seed in any::<u64>(),
    ) -> (GridPoint, u64) {
        let p = GridPoint::default()
            .with("architecture", s(if residual { "residual" } else { "mlp" }))
            .with("d", Value::Int(d as i64))
            .with("depth", Value::Int(depth as i64))
            .with("kappa", Value::Float(10f64.powf(log_kappa)))
            .with("direction", s(["top", "bottom", "random"][dir]))
            .with("w_star_norm", Value::Float(w_norm))
            .with("minimizer", s(kinds[kind]));
        (p, seed)
    }
}

/// The claim holds at this instance. A not-converged instance (e.g. a `trained` minimiser whose
/// descent stopped short) is no pass: the case is rejected and proptest draws another (it fails
/// after too many rejections), so every counted case is a measured pass.
fn holds(claim: &dyn Claim, point: &GridPoint, seed: u64) -> Result<(), TestCaseError> {
    let m = claim.measure(point, seed, Variant::Claim).map_err(|e| TestCaseError::fail(e.0))?;
    prop_assume!(m.status != Status::NotConverged, "not converged: {:?}", m.note);
    prop_assert!(m.status == Status::Holds, "{}: {:?} at {:?}", claim.id(), m, point);
    Ok(())
}

const KINDS: &[&str] = &["balanced", "random", "smin", "rescaled", "trained"];

proptest! {
    #![proptest_config(config(48, 11))]
    #[test]
    fn lower_bound_holds((point, seed) in instance(1, KINDS)) {
        dlncheck::init_determinism();
        holds(&dlncheck::claims::mc_thm1_lower_bound::LowerBound, &point.with("rel", Value::Float(1e-10)), seed)?;
    }
}

proptest! {
    #![proptest_config(config(48, 12))]
    #[test]
    fn hessian_is_gauss_newton_at_minimizers((point, seed) in instance(1, KINDS)) {
        dlncheck::init_determinism();
        let point = point.with("rel", Value::Float(1e-9)).with("perturbation", Value::Float(0.1));
        holds(&dlncheck::claims::mc_hessian_at_minimizer::HessianAtMinimizer, &point, seed)?;
    }
}

proptest! {
    #![proptest_config(config(32, 13))]
    #[test]
    fn min_sharpness_is_not_beaten((point, seed) in instance(2, &["balanced"])) {
        dlncheck::init_determinism();
        let point = point
            .with("rel", Value::Float(1e-9))
            .with("samples", Value::Int(8))
            .with("climb_steps", Value::Int(40));
        holds(&dlncheck::claims::mc_smin_exact::MinSharpnessExact, &point, seed)?;
    }
}

/// The harness can fail: the same strategy against a deliberately wrong bound (Λ in place of a)
/// finds a counterexample and shrinks it.
#[test]
fn proptest_finds_and_shrinks_a_wrong_bound() {
    use proptest::test_runner::TestRunner;
    dlncheck::init_determinism();
    let mut runner = TestRunner::new(config(64, 14));
    let claim = dlncheck::claims::mc_thm1_lower_bound::LowerBound;
    let result = runner.run(&instance(1, &["balanced"]), |(point, seed)| {
        let point = point.with("rel", Value::Float(1e-10));
        let m = claim
            .measure(&point, seed, Variant::Control("lambda_max"))
            .map_err(|e| TestCaseError::fail(e.0))?;
        prop_assert!(m.status != Status::Violated);
        Ok(())
    });
    match result {
        Err(proptest::test_runner::TestError::Fail(_, (point, seed))) => {
            // Shrunk to the smallest failing instance: tiny dimension and depth, seed 0.
            assert!(point.usize("d") <= 2 && point.usize("depth") <= 2 && seed == 0, "{point:?} {seed}");
        }
        other => panic!("Λ in place of a must be violated somewhere: {other:?}"),
    }
}
