//! Marion & Chizat (mc.*): parts of the claim modules against independent references, in one
//! module per claim named by the claim's module, which is also the claim's mutation-testing
//! filter (`<module>::`, .cargo/mutants-claims.toml). The quick grids, controls and snapshots run
//! in `tests/properties.rs`.

mod mc_smin_exact {
    use dlncheck::claims::mc_smin_exact::{Search, search};
    use dlncheck::engine::model::Dln;
    use dlncheck::engine::objective::{Objective, Regression};
    use dlncheck::engine::problem::Problem;

    /// X = I (n = d = 2) and y = c·(1, 1): Σ = I/2, w* = y.
    fn problem(c: f64) -> Problem {
        let x = faer::Mat::<f64>::identity(2, 2);
        let reg = Regression::from_data(x.as_ref(), &[c, c]).unwrap();
        Problem::new(Dln::mlp(2, 2), Objective::Regression(reg)).unwrap()
    }

    /// With ‖w*‖ ≈ 1.4e160 every random minimiser has ‖W₁‖² ≳ 1e319: K and S overflow f64, each
    /// sample is counted as rejected, and the climb has no start.
    #[test]
    fn overflowing_candidates_are_counted() {
        let s = search(&problem(1e160), 5, 3, 1);
        assert_eq!(s, Search { best_random: f64::INFINITY, best_local: f64::INFINITY, overflows: 5 });
    }

    /// At ‖w*‖ = O(1) nothing overflows, the climb only improves on the best sample, and no
    /// minimiser beats the exact minimum S_min (here L = 2, ‖p‖ = 1, Σ = I/2, ‖w*‖ = √2:
    /// S_min = 2·min_r λ_max(rΣ + r⁻¹Σ^{1/2}w*w*ᵀΣ^{1/2}) = 2·min_r (r + 2/r)/2 = 2√2).
    #[test]
    fn searches_stay_above_the_exact_minimum() {
        let s = search(&problem(1.0), 20, 50, 1);
        assert_eq!(s.overflows, 0);
        assert!(s.best_local <= s.best_random, "{s:?}");
        let s_min = 2.0 * 2f64.sqrt();
        assert!(s.best_local >= s_min * (1.0 - 1e-12), "{s:?}");
        assert!(s.best_random < 10.0 * s_min, "{s:?}");
    }
}
