//! The experiment core against independent facts: the paper's grids (numpy's linspace and
//! logspace values, run counts), the least-squares t-test against the closed-form Student
//! distribution with 2 degrees of freedom, bootstrap bands against the normal approximation,
//! the early-stopping certificate against continued gradient descent, and the authors'
//! estimator against the dense Hessian's spectrum.

use dlncheck::engine::fit::LinearFit;
use dlncheck::engine::train::{GdOptions, gradient_descent};
use dlncheck::experiments::grid::{Experiment, Grid, linspace, logspace};
use dlncheck::experiments::run::{self, RunOutcome, Setup};
use dlncheck::experiments::stats::mean_band;

#[test]
fn paper_grids() {
    // numpy: linspace(0.25, 0.6, 10)[1] = 0.25 + 0.35/9; logspace(-2, -0.3, 25)[-1] = 10^-0.3.
    let s = linspace(0.25, 0.6, 10);
    assert_eq!(s.len(), 10);
    assert!((s[1] - (0.25 + 0.35 / 9.0)).abs() < 1e-16 && s[9] == 0.6);
    let e = logspace(-2.0, -0.3, 25);
    assert!((e[0] - 0.01).abs() < 1e-17 && (e[24] - 0.501_187_233_627_272_2).abs() < 1e-15);
    let runs = |e| Grid::paper(e).num_runs();
    assert_eq!(runs(Experiment::Mlp), 10 * (20 + 20 + 20 + 20 + 80));
    assert_eq!(runs(Experiment::Residual), 10 * 5 * 20);
    assert_eq!(runs(Experiment::LearningRate), 4 * 25 * 50);
    assert_eq!(runs(Experiment::Underdetermined), 9 * (100 + 20 + 20));
    let g = Grid::paper(Experiment::Mlp);
    let configs = g.configs();
    assert_eq!(configs.len(), g.num_runs());
    let mut seeds: Vec<u64> = configs.iter().map(|c| c.seed).collect();
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds.len(), configs.len(), "one seed per run");
    // Quick mode keeps the seeds of the first repetitions; --reps-scale scales counts.
    let q = g.clone().quick();
    assert!(q.configs().iter().all(|c| configs.iter().any(|d| d.seed == c.seed)));
    assert_eq!(g.with_reps_scale(0.5).num_runs(), 10 * (10 + 10 + 10 + 10 + 40));
}

#[test]
fn linear_fit_matches_closed_forms() {
    // y = 1 + 2x + (+e, −e, −e, +e) at x = 0..3: slope 2 − 0·e (symmetric residuals).
    let e = 0.3;
    let pts = [(0.0, 1.0 + e), (1.0, 3.0 - e), (2.0, 5.0 - e), (3.0, 7.0 + e)];
    let f = LinearFit::fit(&pts).unwrap();
    assert!((f.slope - 2.0).abs() < 1e-14 && (f.intercept - 1.0).abs() < 1e-14);
    // SSE = 4e², σ² = SSE/2, Sxx = 5: se = sqrt(2e²/5); df = 2 Student CDF in closed form,
    // F(t) = 1/2 + t/(2√(2 + t²)), so the two-sided p is 1 − |t|/√(2 + t²).
    let se = (2.0 * e * e / 5.0f64).sqrt();
    assert!((f.slope_stderr - se).abs() < 1e-14);
    let t = 2.0 / se;
    let p = 1.0 - t / (2.0 + t * t).sqrt();
    assert!((f.p_value - p).abs() < 1e-12, "{} vs {p}", f.p_value);
    assert!((f.p_value_greater - p / 2.0).abs() < 1e-12 && (f.p_value_less - (1.0 - p / 2.0)).abs() < 1e-12);
    // r² = 1 − SSE/SST with SST = Σ(y − ȳ)².
    let ym = pts.iter().map(|p| p.1).sum::<f64>() / 4.0;
    let sst: f64 = pts.iter().map(|p| (p.1 - ym).powi(2)).sum();
    assert!((f.r_squared - (1.0 - 4.0 * e * e / sst)).abs() < 1e-14);
    // The band of the fitted mean at x̄ is ±t_{0.975,2}·σ/√n with t_{0.975,2} = 4.302652729911275.
    let (lo, hi) = f.band(1.5);
    let half = 4.302_652_729_911_275 * (2.0 * e * e).sqrt() / 2.0;
    assert!(((hi - lo) / 2.0 - half).abs() < 1e-9, "{} vs {half}", (hi - lo) / 2.0);
    assert!(LinearFit::fit(&pts[..2]).is_none());
}

#[test]
fn bootstrap_band_matches_the_normal_approximation() {
    // 400 values i/400: mean 0.49875, sd ≈ 0.2887; the 95 % band of the mean ≈ ±1.96·sd/√n.
    let v: Vec<f64> = (0..400).map(|i| i as f64 / 400.0).collect();
    let b = mean_band(&v, 7).unwrap();
    let sd = (v.iter().map(|x| (x - b.mean).powi(2)).sum::<f64>() / 399.0).sqrt();
    let half = 1.96 * sd / 20.0;
    assert!((b.mean - 0.49875).abs() < 1e-15);
    assert!(((b.hi - b.lo) / 2.0 - half).abs() < 0.15 * half, "{:?} vs ±{half}", b);
    assert!(b.lo < b.mean && b.mean < b.hi);
    assert_eq!(mean_band(&v, 7), mean_band(&v, 7), "seeded");
    let c = mean_band(&[2.0, 2.0, f64::NAN], 1).unwrap();
    assert_eq!((c.mean, c.lo, c.hi, c.n), (2.0, 2.0, 2.0, 2));
    assert!(mean_band(&[f64::NAN], 1).is_none());
}

#[test]
fn early_stop_certificate_bounds_the_rest_of_the_run() {
    dlncheck::init_determinism();
    // Figure 2's setting (quick, L = 5): certified runs, continued far beyond their budget.
    let grid = Grid::paper(Experiment::LearningRate).quick();
    let setup = Setup::new(&grid);
    let mut checked = 0;
    for cfg in grid.configs().iter().filter(|c| c.depth_index == 0 && (0.03..0.06).contains(&c.eta)) {
        let (r, _) = run::run_one(&grid, &setup, cfg);
        if r.outcome != RunOutcome::Certified {
            continue;
        }
        assert!(r.last.excess <= run::CONVERGED_EXCESS && r.drift_bound <= run::DRIFT_TOL);
        // Re-run to the stopping point (no early stop) and then 20000 more steps.
        let problem = &setup.problems[cfg.depth_index];
        let theta0 = run::initial_theta(problem, grid.arch, cfg.scale, cfg.seed);
        let stop = gradient_descent(problem, &theta0, &GdOptions::new(cfg.eta, r.steps_run));
        let more = gradient_descent(problem, &stop.theta, &GdOptions::new(cfg.eta, 20_000));
        let moved = stop.theta.iter().zip(&more.theta).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
        assert!(moved <= r.drift_bound, "moved {moved} > certified {}", r.drift_bound);
        // The same bound with the library's PL constant 4λ‖a_1‖² (products, not the pass).
        let (_, mu) = dlncheck::engine::bounds::pl_constants(problem, &stop.theta);
        let c = 1.0 - cfg.eta * r.last.sharpness / 2.0;
        let bound = 2.0 * r.last.excess.sqrt() / (c * mu.sqrt());
        assert!((bound - r.drift_bound).abs() <= 1e-9 * bound, "{bound} vs {}", r.drift_bound);
        checked += 1;
    }
    assert!(checked > 0, "no certified run to check");
}

#[test]
fn authors_estimator_is_a_magnitude_estimate() {
    dlncheck::init_determinism();
    let grid = Grid::paper(Experiment::Mlp);
    let setup = Setup::new(&grid);
    let problem = &setup.problems[0];
    // A trained network (converged, S well separated) and a near-saddle start (small scale).
    let theta0 = run::initial_theta(problem, grid.arch, 0.3, 11);
    let trained = gradient_descent(problem, &theta0, &GdOptions::new(0.02, 4000)).theta;
    for theta in [&trained, &run::initial_theta(problem, grid.arch, 0.25, 12)] {
        let h = dlncheck::engine::hessian::dense_hessian(problem, theta);
        let eig = dlncheck::engine::linalg::sym_eigenvalues(h.as_ref());
        let mut mags: Vec<f64> = eig.iter().map(|v| v.abs()).collect();
        mags.sort_by(f64::total_cmp);
        let (top, second) = (mags[mags.len() - 1], mags[mags.len() - 2]);
        let est = run::authors_estimate(problem, theta, 20, 3);
        // ‖Hv‖ for a unit v never exceeds the spectral norm max|λ|.
        assert!(est >= 0.0 && est <= top * (1.0 + 1e-12), "{est} vs {top}");
        // With a gap, 18 normalised products converge like (|λ₂|/|λ₁|)^18.
        let ratio = second / top;
        if ratio < 0.5 {
            assert!((est - top).abs() <= top * (4.0 * ratio.powi(18)).max(1e-12), "{est} vs {top}");
        }
    }
}

/// The per-thread CPU clock behind `gd_cpu_seconds` and `spectra_cpu_seconds` counts the
/// thread's own work and not its waiting: a sleep adds (almost) nothing, and a busy loop adds
/// no more than the wall-clock time it took (one thread cannot use more than one core).
#[test]
fn cpu_clock_counts_work_not_waiting() {
    use dlncheck::experiments::cpu_clock::CpuClock;
    let sleeping = CpuClock::start();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let slept = sleeping.seconds();
    // Waking up and the syscalls cost microseconds; 50 ms leaves room for a loaded machine.
    assert!((0.0..0.05).contains(&slept), "a 0.3 s sleep used {slept} s of CPU");

    let wall = std::time::Instant::now();
    let busy = CpuClock::start();
    let mut x = 1.0f64;
    let mut spent = 0.0;
    while spent < 0.05 {
        for _ in 0..10_000 {
            x = (x * 1.000_000_1).sin() + 1.0;
        }
        spent = busy.seconds();
    }
    let wall = wall.elapsed().as_secs_f64();
    assert!(x.is_finite());
    // At least the 50 ms the loop waited for, at most the wall time around it (plus the clocks'
    // granularity, 1 ms at most).
    assert!(spent >= 0.05 && spent <= wall + 1e-3, "busy loop: {spent} s CPU in {wall} s wall");
}

/// The authors' dataset as shipped (data/authors-data.npz): a = w*ᵀΣw* and Λ = λ_max(Σ) of the
/// n = 50, d = 5 setting recomputed here (normal equations solved by Gaussian elimination, Λ by
/// power iteration) against the values the authors' own code prints for PRNGKey(0), a =
/// 0.9328053 and Λ = 1.5941827, to 1e-6 (float32 data: the authors' float32 arithmetic and ours
/// in f64 differ by a few 1e-7); shapes of the n = 15, d = 20 setting; the noise-free data is
/// y = X·w* up to float32 rounding.
#[test]
fn authors_dataset_has_the_authors_a_and_lambda() {
    use dlncheck::experiments::authors_data;
    let pd = authors_data::load(50, 5).unwrap();
    let (n, d) = (50, 5);
    let x = |i: usize, j: usize| pd.train.x[(i, j)];
    let sigma: Vec<Vec<f64>> = (0..d)
        .map(|j| (0..d).map(|k| (0..n).map(|i| x(i, j) * x(i, k)).sum::<f64>() / n as f64).collect())
        .collect();
    // w* = Σ⁻¹ Xᵀy/n by elimination with partial pivoting.
    let mut m: Vec<Vec<f64>> = (0..d)
        .map(|j| {
            let mut row = sigma[j].clone();
            row.push((0..n).map(|i| x(i, j) * pd.train.y[i]).sum::<f64>() / n as f64);
            row
        })
        .collect();
    for c in 0..d {
        let p = (c..d).max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs())).unwrap();
        m.swap(c, p);
        for r in 0..d {
            if r != c {
                let f = m[r][c] / m[c][c];
                let pivot = m[c].clone();
                m[r].iter_mut().zip(&pivot).for_each(|(v, q)| *v -= f * q);
            }
        }
    }
    let w: Vec<f64> = (0..d).map(|j| m[j][d] / m[j][j]).collect();
    let sw: Vec<f64> = (0..d).map(|j| (0..d).map(|k| sigma[j][k] * w[k]).sum()).collect();
    let a: f64 = w.iter().zip(&sw).map(|(p, q)| p * q).sum();
    let mut v = vec![1.0; d];
    let mut lam = 0.0;
    for _ in 0..2000 {
        let u: Vec<f64> = (0..d).map(|j| (0..d).map(|k| sigma[j][k] * v[k]).sum()).collect();
        lam = u.iter().map(|t| t * t).sum::<f64>().sqrt();
        v = u.iter().map(|t| t / lam).collect();
    }
    assert!((a - 0.9328053).abs() < 1e-6, "a = {a}");
    assert!((lam - 1.5941827).abs() < 1e-6, "Λ = {lam}");
    // The shipped w* is the authors' (float32) least-squares solution.
    for (p, q) in w.iter().zip(&pd.w_true) {
        assert!((p - q).abs() < 1e-5, "w* {p} vs shipped {q}");
    }
    assert_eq!((pd.test.x.nrows(), pd.test.x.ncols(), pd.test.y.len()), (50, 5, 50));

    let under = authors_data::load(15, 20).unwrap();
    assert_eq!(
        (under.train.x.nrows(), under.train.x.ncols(), under.train.y.len(), under.w_true.len()),
        (15, 20, 15, 20)
    );
    let clean = authors_data::load_setting("n50_d5_noise0", 50, 5).unwrap();
    for i in 0..50 {
        let fit: f64 = (0..5).map(|j| clean.train.x[(i, j)] * clean.w_true[j]).sum();
        assert!((fit - clean.train.y[i]).abs() < 1e-5, "noise-free row {i}: {fit} vs {}", clean.train.y[i]);
    }
    let err = authors_data::load(7, 3).unwrap_err().to_string();
    assert!(err.contains("n = 7, d = 3"), "{err}");
    assert!(authors_data::load_setting("n50_d5", 50, 6).is_err(), "a shape that does not match is refused");
}
