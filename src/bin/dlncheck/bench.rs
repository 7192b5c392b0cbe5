//! Speed measurements behind `dlncheck bench` (goals from the project's issue tracker; they
//! are measured here, never asserted in tests): the engine's operations, then the attack's
//! evaluations per second at 1 and 2 threads.

use crate::check::{load_specs, properties_dir};
use dlncheck::attack::bench::{self as attack_bench, AttackBench};
use dlncheck::engine::activated::ActivatedProblem;
use dlncheck::engine::activation::Activation;
use dlncheck::engine::audit;
use dlncheck::engine::data;
use dlncheck::engine::init;
use dlncheck::engine::model::Dln;
use dlncheck::engine::objective::Objective;
use dlncheck::engine::problem::Problem;
use dlncheck::engine::rng::{Stream, stream_rng};
use dlncheck::engine::spectrum::{self, Method, SpectrumOptions};
use dlncheck::engine::train::{GdOptions, gradient_descent};
use dlncheck::experiments::activated::descend;
use dlncheck::io::error::Error;
use dlncheck::io::recipe::{Arch, DataKind, InitKind, InstanceFlags, WDirection};
use std::hint::black_box;
use std::time::Instant;

/// One measurement.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchResult {
    pub name: String,
    pub num_params: usize,
    /// Median seconds per operation over the batches.
    pub seconds: f64,
    /// The goal in seconds, if there is one.
    pub goal_seconds: Option<f64>,
    pub meets_goal: Option<bool>,
    pub note: String,
}

/// Median time per call of `f`, over `batches` batches sized to take ~`target` seconds each.
pub fn time_per_call<F: FnMut()>(mut f: F, target: f64, batches: usize) -> f64 {
    let start = Instant::now();
    f();
    let once = start.elapsed().as_secs_f64().max(1e-9);
    let per_batch = ((target / once).ceil() as usize).clamp(1, 10_000_000);
    let mut times: Vec<f64> = (0..batches)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            t.elapsed().as_secs_f64() / per_batch as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// The paper's problem (n = 50, d, L; MLP) at a small Gaussian initialisation.
fn paper_problem(d: usize, depth: usize, seed: u64) -> (Problem, Vec<f64>) {
    let pd = data::paper(50.max(d), 1, d, 1.0, true, seed);
    let reg = pd.train.regression().expect("finite data");
    let model = Dln::mlp(d, depth);
    let theta = init::gaussian(&model, 0.35, &mut stream_rng(seed, Stream::Init));
    (Problem::new(model, Objective::Regression(reg)).expect("shapes"), theta)
}

fn result(name: &str, p: usize, seconds: f64, goal: Option<f64>, note: String) -> BenchResult {
    BenchResult {
        name: name.into(),
        num_params: p,
        seconds,
        goal_seconds: goal,
        meets_goal: goal.map(|g| seconds <= g),
        note,
    }
}

/// Runs every benchmark; `quick` shortens the timing batches and skips the P ≈ 10⁶ case and the
/// two large audits (d = 3000 MLP, P = 10⁶ residual network; goal ≤ 10 s each).
pub fn run(quick: bool, mut progress: impl FnMut(&str)) -> Vec<BenchResult> {
    dlncheck::init_determinism();
    let target = if quick { 0.02 } else { 0.2 };
    let batches = if quick { 3 } else { 11 };
    let mut out = Vec::new();

    // GD step, gradient and HVP at the paper's size (d = 5, L = 10, P = 230).
    progress("gradient descent step (d = 5, L = 10)");
    let (problem, theta) = paper_problem(5, 10, 1);
    let p = problem.num_params();
    let steps = 10_000;
    let opts = GdOptions::new(0.005, steps);
    let gd = time_per_call(|| drop(black_box(gradient_descent(&problem, &theta, &opts))), target, batches)
        / steps as f64;
    out.push(result("gd_step", p, gd, Some(1e-6), "one full-batch GD step, MLP, n = 50".into()));

    // The GELU MLP's GD step (Figure 7's network: n = 50, d = 5, L = 10, noise-free data).
    // Goal: the figure's ~35 million steps in 2 minutes on 2 cores, i.e. ≤ 6.6 µs per step
    // per core (2 × 120 s / 35·10⁶, less the spectra's ~8 s).
    progress("GELU gradient descent step (d = 5, L = 10)");
    let pd = data::paper(50, 1, 5, 0.0, true, 1);
    let model = Dln::mlp(5, 10);
    let gelu = ActivatedProblem::new(model.clone(), Activation::Gelu, pd.train.x.as_ref(), &pd.train.y)
        .expect("finite data of the network's width");
    let theta0 = init::gaussian(&model, 0.5, &mut stream_rng(1, Stream::Init));
    let steps = 2_000;
    let gelu_step = time_per_call(
        || {
            let mut th = theta0.clone();
            let _ = black_box(descend(&gelu, &mut th, 0.005, steps, f64::INFINITY));
        },
        target,
        batches,
    ) / steps as f64;
    let note = "one GD step of the GELU MLP on the raw data, n = 50 (Figure 7)".into();
    out.push(result("gelu_gd_step", model.num_params(), gelu_step, Some(6.6e-6), note));

    let mut ws = problem.workspace();
    let mut g = vec![0.0; p];
    progress("gradient and Hessian-vector product");
    let grad = time_per_call(
        || {
            let pt = problem.at(&mut ws, black_box(&theta));
            pt.gradient(&mut g);
        },
        target,
        batches,
    );
    out.push(result("gradient", p, grad, None, "loss + gradient from scratch".into()));
    let v: Vec<f64> = (0..p).map(|i| ((i * 7919) % 13) as f64 - 6.0).collect();
    let mut hv = vec![0.0; p];
    let hvp_full = time_per_call(
        || {
            let mut pt = problem.at(&mut ws, black_box(&theta));
            pt.hvp(&v, &mut hv);
        },
        target,
        batches,
    );
    let note = "forward/backward passes + one HVP".into();
    out.push(result("hvp_with_passes", p, hvp_full, None, note));
    let hvp = {
        let mut pt = problem.at(&mut ws, &theta);
        time_per_call(|| pt.hvp(black_box(&v), &mut hv), target, batches)
    };
    let note = "one HVP at a point whose passes are cached (as in Lanczos)".into();
    out.push(result("hvp", p, hvp, None, note));
    out.push(BenchResult {
        name: "hvp_over_gradient".into(),
        num_params: p,
        seconds: hvp / grad,
        goal_seconds: Some(3.0),
        meets_goal: Some(hvp / grad <= 3.0),
        note: "ratio hvp / gradient (a ratio, not seconds; goal ≤ 3)".into(),
    });

    // Exact sharpness.
    let exact = SpectrumOptions { method: Some(Method::Exact), ..SpectrumOptions::default() };
    progress("exact sharpness, P = 230");
    let t = time_per_call(|| drop(black_box(spectrum::sharpness(&problem, &theta, &exact))), target, batches);
    let note = "exact reduced m×m form (m = 96) + faer eigenvalues".into();
    out.push(result("exact_sharpness_230", p, t, Some(2e-3), note));
    let t = time_per_call(
        || {
            let h = dlncheck::engine::hessian::dense_hessian(&problem, &theta);
            black_box(dlncheck::engine::linalg::sym_eigenvalues(h.as_ref()));
        },
        target,
        batches,
    );
    let note = "for comparison: dense 230×230 Hessian + faer eigenvalues".into();
    out.push(result("dense_sharpness_230", p, t, None, note));
    progress("exact sharpness, P = 2010");
    let (problem2, theta2) = paper_problem(10, 21, 2);
    let t = time_per_call(
        || drop(black_box(spectrum::sharpness(&problem2, &theta2, &exact))),
        if quick { 0.0 } else { 1.0 },
        if quick { 1 } else { 3 },
    );
    out.push(result(
        "exact_sharpness_2010",
        problem2.num_params(),
        t,
        None,
        "MLP d = 10, L = 21 (reduced form, m = 411)".into(),
    ));

    if !quick {
        progress("Lanczos sharpness, P = 10^6 (residual d = 100, L = 100)");
        let d = 100;
        let depth = 100;
        let seed = 3;
        let pd = data::paper(200, 1, d, 1.0, true, seed);
        let reg = pd.train.regression().expect("finite data");
        let pvec = init::projection(d, &mut stream_rng(seed, Stream::Projection));
        let model = Dln::residual(&pvec, depth);
        let theta = init::residual(&model, 0.25, &mut stream_rng(seed, Stream::Init));
        let problem = Problem::new(model, Objective::Regression(reg)).expect("shapes");
        let lanczos =
            SpectrumOptions { method: Some(Method::Lanczos), tol: 1e-8, ..SpectrumOptions::default() };
        let mut iters = 0;
        let t = time_per_call(
            || {
                let e = spectrum::hessian_extremes(&problem, &theta, &lanczos).expect("Lanczos converges");
                iters = e.iterations;
            },
            0.0,
            3,
        );
        out.push(result(
            "lanczos_sharpness_1e6",
            problem.num_params(),
            t,
            Some(1.0),
            format!("largest and smallest eigenvalue to relative residual 1e-8, {iters} iterations"),
        ));
        for (arch, d, depth, n, name) in [
            (Arch::Residual, 100, 100, 200, "audit_residual_1e6"),
            (Arch::Mlp, 3000, 2, 3200, "audit_mlp_d3000"),
        ] {
            progress(&format!("sharpness audit, {name} (building the instance first)"));
            let flags = InstanceFlags {
                architecture: arch,
                d,
                depth,
                n,
                noise: 1.0,
                data: DataKind::Paper,
                kappa: 10.0,
                direction: WDirection::Random,
                init: InitKind::Gaussian,
                scale: 0.35,
                eta: None,
                steps: 0,
            };
            let inst = flags.recipe().instance(0).expect("a valid recipe");
            let start = Instant::now();
            let audit = audit::audit_instance(&inst, &SpectrumOptions::default()).expect("the audit runs");
            let t = start.elapsed().as_secs_f64();
            out.push(result(
                name,
                audit.num_params,
                t,
                Some(10.0),
                format!(
                    "what `dlncheck sharpness` computes after loading `dlncheck instance --architecture {} --d {d} \
                     --depth {depth} --n {n}` (one run; {:?}, {} iterations)",
                    arch.name(),
                    audit.method,
                    audit.lanczos_iterations
                ),
            ));
        }
    }
    out
}

/// The attack part of the bench: per covered property, the attack timed at 1 and 2 threads.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AttackBenches {
    /// `std::thread::available_parallelism` of this machine (a speed-up above it, or near 2 on a
    /// 2-core machine shared with other work, is not to be expected).
    pub available_parallelism: Option<usize>,
    pub seed: u64,
    /// The spec grid the restarts start from.
    pub grid: String,
    pub properties: Vec<AttackBench>,
}

/// The whole output of `dlncheck bench`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Bench {
    pub engine: Vec<BenchResult>,
    pub attack: AttackBenches,
}

/// Times the attack of every property that has a hypothesis space: `check --quick`'s bounded
/// attack (median of 5 runs per thread count), or under `quick` the smaller
/// [`attack_bench::QUICK`] (median of 3).
pub fn run_attack(quick: bool, mut progress: impl FnMut(&str)) -> Result<AttackBenches, Error> {
    dlncheck::init_determinism();
    let size = if quick { attack_bench::QUICK } else { crate::attack::CHECK_QUICK };
    let repeats = if quick { 3 } else { 5 };
    let (opts, control_budget) = attack_bench::options(size);
    let ids: Vec<String> = dlncheck::attack::all().iter().map(|s| s.id().to_string()).collect();
    let specs = load_specs(&properties_dir(None), &ids)?;
    let mut properties = Vec::new();
    for space in dlncheck::attack::all() {
        let (spec, _) = specs.iter().find(|(s, _)| s.id == space.id()).ok_or_else(|| Error::Input {
            file: "properties".into(),
            field: space.id().into(),
            message: "no spec for this property".into(),
        })?;
        progress(&format!("attack {} at 1 and 2 threads", space.id()));
        properties.push(attack_bench::measure(space, spec, &opts, control_budget, repeats)?);
    }
    Ok(AttackBenches {
        available_parallelism: std::thread::available_parallelism().ok().map(|n| n.get()),
        seed: opts.seed,
        grid: "quick".into(),
        properties,
    })
}

/// The terminal table of the attack part.
pub fn attack_table(a: &AttackBenches) -> String {
    let cores = a.available_parallelism.map_or("unknown".into(), |n| n.to_string());
    let mut out = format!(
        "attack (evaluations per second, median of {} runs; available parallelism {cores}):\n",
        a.properties.first().map_or(0, |p| p.repeats)
    );
    out += &format!(
        "{:<34} {:>11} {:>12} {:>12} {:>9} {:>10}\n",
        "property", "evaluations", "eval/s 1 thr", "eval/s 2 thr", "speed-up", "identical"
    );
    for p in &a.properties {
        let evals = if p.evaluations_1_thread == p.evaluations_2_threads {
            p.evaluations_1_thread.to_string()
        } else {
            format!("{}≠{}", p.evaluations_1_thread, p.evaluations_2_threads)
        };
        out += &format!(
            "{:<34} {:>11} {:>12.0} {:>12.0} {:>9.2} {:>10}\n",
            p.id,
            evals,
            p.evaluations_per_second_1_thread,
            p.evaluations_per_second_2_threads,
            p.speedup,
            if p.identical { "yes" } else { "NO" }
        );
    }
    out
}
