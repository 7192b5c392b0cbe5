//! Every property: its quick grid holds, each of its negative controls is seen to fail, and the
//! statistical summary matches the committed snapshot (numbers rounded to 4 significant digits
//! so that snapshots are stable across CPUs; review changes with `cargo insta review`).

use dlncheck::framework::property::Claim;
use dlncheck::framework::runner::{self, ControlVerdict, PropertyRun, Verdict};
use dlncheck::framework::spec::Mode;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

/// Quick runs, shared by the verdict and control tests of a property.
fn quick_run(id: &str) -> PropertyRun {
    static CACHE: OnceLock<Mutex<HashMap<String, PropertyRun>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(r) = cache.lock().unwrap().get(id) {
        return r.clone();
    }
    dlncheck::init_determinism();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("properties").join(format!("{id}.yaml"));
    let (spec, claim) = dlncheck::claims::load_spec(&path).unwrap_or_else(|e| panic!("{e}"));
    let run = runner::run(&spec, claim, Mode::Quick, 0, &|| {});
    cache.lock().unwrap().insert(id.to_string(), run.clone());
    run
}

fn assert_holds(id: &str) {
    let run = quick_run(id);
    assert_eq!(
        run.verdict,
        Verdict::Holds,
        "{id}: {:?} (violated {}, not converged {}, errors {}: {:?}; worst {:?})",
        run.verdict,
        run.summary.violated,
        run.summary.not_converged,
        run.summary.errors,
        run.summary.first_error,
        run.summary.worst
    );
    assert!(run.summary.holds > 0, "{id}: nothing was measured");
}

fn assert_controls_fail(id: &str) {
    let run = quick_run(id);
    assert!(!run.controls.is_empty(), "{id}: no negative control");
    for c in &run.controls {
        assert_eq!(
            c.verdict,
            ControlVerdict::FailsAsExpected,
            "{id}: control `{}` must fail ({}): holds {}, violated {}, errors {:?}",
            c.variant,
            c.description,
            c.summary.holds,
            c.summary.violated,
            c.summary.first_error
        );
    }
}

/// The machine-stable part of a run: counts, verdicts, tightness statistics, the errors of
/// identities and limits on a coarse scale, and the worst instance's identity (ties to 1e-12
/// relative go to the lowest index, `summary::TIE_RTOL`, so it does not flip between CPUs).
#[derive(Serialize)]
struct View {
    verdict: String,
    instances: usize,
    holds: usize,
    violated: usize,
    not_converged: usize,
    errors: usize,
    tightness: Option<dlncheck::framework::summary::Stats>,
    proportion: Option<dlncheck::framework::summary::Proportion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_coarse: Option<LogErrors>,
    worst_index: Option<usize>,
    worst_seed: Option<u64>,
    worst_tightness: Option<f64>,
}

/// Order statistics of error/tolerance (holds iff ≤ 1) on a coarse scale, each as `±1eX.X`: the
/// sign and log10|x| rounded to one decimal (a factor 10^0.05 ≈ 1.12 either way; `0` for an
/// exact 0; some limits' errors are signed, e.g. 1 − order). Identity errors are rounding-level
/// numbers that differ between CPUs (AVX2 vs AVX-512 kernels) by small factors, which this scale
/// absorbs except at a rounding edge, while a wrong formula or constant moves them by decades.
#[derive(Serialize)]
struct LogErrors {
    n: usize,
    min: String,
    q05: String,
    q50: String,
    q95: String,
    max: String,
}

fn coarse(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let e = (x.abs().log10() * 10.0).round() / 10.0;
    format!("{}1e{e:.1}", if x < 0.0 { "-" } else { "" })
}

fn log_errors(e: &dlncheck::framework::summary::Stats) -> LogErrors {
    LogErrors {
        n: e.n,
        min: coarse(e.min),
        q05: coarse(e.q05),
        q50: coarse(e.q50),
        q95: coarse(e.q95),
        max: coarse(e.max),
    }
}

fn view(verdict: String, s: &dlncheck::framework::summary::RunSummary) -> View {
    View {
        verdict,
        instances: s.instances,
        holds: s.holds,
        violated: s.violated,
        not_converged: s.not_converged,
        errors: s.errors,
        tightness: s.tightness.clone(),
        proportion: s.proportion.clone(),
        error_coarse: s.error.as_ref().map(log_errors),
        worst_index: s.worst.as_ref().filter(|w| w.measurement.tightness.is_some()).map(|w| w.index),
        worst_seed: s.worst.as_ref().filter(|w| w.measurement.tightness.is_some()).map(|w| w.seed),
        worst_tightness: s.worst.as_ref().and_then(|w| w.measurement.tightness),
    }
}

fn assert_snapshot(id: &str) {
    let run = quick_run(id);
    let mut views = vec![(String::from("claim"), view(format!("{:?}", run.verdict), &run.summary))];
    for c in &run.controls {
        views.push((format!("control {}", c.variant), view(format!("{:?}", c.verdict), &c.summary)));
    }
    let text = dlncheck::io::yaml::to_string_rounded(&views, 4);
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(id.replace('.', "_"), text);
    });
}

/// The claims on univariate regression networks, which write instance files (`dlncheck
/// reproduce`, `check --write-failures`); the others have none.
const WRITES_INSTANCES: &[&str] = &[
    "mc.hessian_at_minimizer",
    "mc.thm1.lower_bound",
    "mc.thm1.unbounded",
    "mc.thm1.upper",
    "mc.smin.exact",
    "mc.sharpness_upper_at_minimizer",
    "mc.underdetermined",
    "mc.gd.stability",
    "mc.pl_inequality",
    "mc.si.balance",
    "mc.si.rank_one",
    "mc.si.flatness",
    "mc.ri.convergence",
];

/// The instance file of every measured instance of the quick run (claim variant):
/// present exactly for the claims above, with its provenance (property id and seed), the network
/// the grid point asks for (architecture, depth, d), and holding the point that was measured: where the measurement reports `sharpness` (the exact λ_max of the
/// Hessian), the file's data and θ give the same λ_max to 1e-9 relative, and where it reports
/// `excess_risk`, (w − w*)ᵀΣ(w − w*) recomputed here from the file's raw X, y (Σ = XᵀX/n, w* by
/// least squares through the normal equations, w the product of the file's layers) agrees to
/// 1e-9·‖w*‖²Λ absolute (and a reported ‖w‖/‖w*‖ to 1e-9), as does a reported `initial_excess`
/// where the file holds the start of a run; reported ratios (S_min/LB, |S − S_bal|/S_bal, the
/// final excess over the initial one) agree with their reported parts.
fn assert_instance_files(id: &str) {
    use dlncheck::engine::model::Architecture;
    use dlncheck::framework::property::{Status, Variant};
    let run = quick_run(id);
    let claim = dlncheck::claims::find(id).expect("registered");
    let mut checked = 0;
    for (inst, res) in run.instances.iter().zip(&run.results) {
        let Ok(m) = res else { continue };
        if m.status == Status::NotConverged {
            continue;
        }
        checked += 1;
        let file = claim.instance(&inst.point, inst.seed, Variant::Claim);
        if !WRITES_INSTANCES.contains(&id) {
            assert!(file.is_none(), "{id} is not on univariate regression: no instance file");
            continue;
        }
        let file = file.unwrap_or_else(|| panic!("{id}: no instance file for seed {}", inst.seed));
        if id == "mc.gd.stability" {
            // Its file is the descent's recipe and starting point (`reproduce` runs the descent
            // again; tests/mc_gd_stability.rs checks that round trip), not the end point.
            assert!(file.meta.contains_key("recipe"), "{id}: the file carries its recipe");
            continue;
        }
        assert_eq!(file.meta.get("property").map(String::as_str), Some(id));
        assert_eq!(file.meta.get("seed"), Some(&inst.seed.to_string()));
        let problem = file.problem().unwrap();
        assert_eq!(file.theta.len(), problem.num_params(), "{id}: θ's length");
        // The network is the one the grid point asks for.
        let point = &inst.point.0;
        if let Some(dlncheck::framework::property::Value::Str(arch)) = point.get("architecture") {
            let want = match arch.as_str() {
                "mlp" => Architecture::Mlp,
                "residual" => Architecture::Residual,
                other => panic!("{id}: unexpected architecture {other}"),
            };
            assert_eq!(file.model.architecture(), want, "{id} seed {}: the file's network", inst.seed);
        }
        if point.contains_key("depth") {
            assert_eq!(file.model.depth(), inst.point.usize("depth"), "{id}: the file's depth");
        }
        if point.contains_key("d") {
            assert_eq!(file.model.d_in(), inst.point.usize("d"), "{id}: the file's input dimension");
        }
        if let Some(&want) = m.values.get("sharpness") {
            let opts = dlncheck::engine::spectrum::SpectrumOptions::default();
            let got = dlncheck::engine::spectrum::sharpness(&problem, &file.theta, &opts).unwrap();
            let rel = (got - want).abs() / want.abs();
            assert!(
                rel <= 1e-9,
                "{id} seed {}: the file's sharpness {got:e} vs measured {want:e}",
                inst.seed
            );
        }
        // Reported ratios agree with their parts.
        let v = &m.values;
        if let (Some(&err), Some(&s), Some(&s_bal)) =
            (v.get("s_rel_error"), v.get("sharpness"), v.get("s_bal"))
        {
            assert_eq!(err, (s - s_bal).abs() / s_bal, "{id}: s_rel_error = |S − S_bal|/S_bal");
        }
        if let (Some(&ratio), Some(&s_min), Some(&lb)) =
            (v.get("s_min_over_lb"), v.get("s_min"), v.get("lower_bound"))
        {
            assert_eq!(ratio, s_min / lb, "{id}: s_min_over_lb = S_min/LB");
        }
        if let (Some(&frac), Some(&last), Some(&first)) =
            (v.get("final_excess_fraction"), v.get("final_excess"), v.get("initial_excess"))
        {
            assert_eq!(frac, last / first, "{id}: final_excess_fraction = final/initial");
        }
        // A file that holds the start of a run (`initial_excess`) or its measured point
        // (`excess_risk`).
        let excess = m.values.get("excess_risk").or(m.values.get("initial_excess"));
        if let Some(&want) = excess {
            let (x, y) = (&file.data.x, &file.data.y);
            let (n, d) = (x.nrows(), x.ncols());
            let sigma = faer::Mat::from_fn(d, d, |i, j| {
                (0..n).map(|k| x[(k, i)] * x[(k, j)]).sum::<f64>() / n as f64
            });
            let xty: Vec<f64> =
                (0..d).map(|i| (0..n).map(|k| x[(k, i)] * y[k]).sum::<f64>() / n as f64).collect();
            // w* = Σ⁺Xᵀy/n from Σ's eigen-decomposition (the excess does not depend on which
            // least-squares solution when Σ is singular).
            let evd = sigma.as_ref().self_adjoint_eigen(faer::Side::Lower).unwrap();
            let (vals, vecs) = (evd.S(), evd.U());
            let top = (0..d).map(|k| vals[k]).fold(0.0, f64::max);
            let mut w_star = vec![0.0; d];
            for k in (0..d).filter(|&k| vals[k] > 1e-12 * top) {
                let c = (0..d).map(|i| vecs[(i, k)] * xty[i]).sum::<f64>() / vals[k];
                (0..d).for_each(|i| w_star[i] += c * vecs[(i, k)]);
            }
            let w = file.model.end_to_end(&file.theta);
            let e: Vec<f64> = (0..d).map(|i| w[(0, i)] - w_star[i]).collect();
            let got: f64 = (0..d)
                .flat_map(|i| (0..d).map(move |j| (i, j)))
                .map(|(i, j)| e[i] * sigma[(i, j)] * e[j])
                .sum();
            let scale = w_star.iter().map(|v| v * v).sum::<f64>() * top;
            if let Some(&ratio) = m.values.get("w_prod_norm_over_w_star_norm") {
                let norm = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>().sqrt();
                let w_row: Vec<f64> = (0..d).map(|i| w[(0, i)]).collect();
                let want = norm(&w_row) / norm(&w_star);
                assert!((ratio - want).abs() <= 1e-9 * want, "{id}: ‖w‖/‖w*‖ {ratio} vs {want}");
            }
            assert!(
                (got - want).abs() <= 1e-9 * scale,
                "{id} seed {}: the file's excess risk {got:e} vs measured {want:e}",
                inst.seed
            );
        }
    }
    assert!(checked > 0, "{id}: no measured instance");
}

macro_rules! property_tests {
    ($($name:ident => $id:literal),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn quick_grid_holds() { super::assert_holds($id) }
                #[test]
                fn controls_fail() { super::assert_controls_fail($id) }
                #[test]
                fn summary_snapshot() { super::assert_snapshot($id) }
                #[test]
                fn instance_files_hold_the_measured_point() { super::assert_instance_files($id) }
            }
        )*
        /// Every registered claim has its tests here.
        #[test]
        fn every_claim_is_tested() {
            let tested = [$($id),*];
            for c in dlncheck::claims::all() {
                assert!(tested.contains(&c.id()), "add `{}` to property_tests! in tests/properties.rs", c.id());
            }
        }
    };
}

property_tests! {
    mc_hessian_at_minimizer => "mc.hessian_at_minimizer",
    mc_thm1_lower_bound => "mc.thm1.lower_bound",
    mc_thm1_unbounded => "mc.thm1.unbounded",
    mc_thm1_upper => "mc.thm1.upper",
    mc_smin_exact => "mc.smin.exact",
    mc_sharpness_upper_at_minimizer => "mc.sharpness_upper_at_minimizer",
    mc_underdetermined => "mc.underdetermined",
    mc_gd_stability => "mc.gd.stability",
    jgshg_schatten => "jgshg.schatten",
    jgshg_balance_decay => "jgshg.balance_decay",
    jgshg_lazy => "jgshg.lazy",
    jgshg_saddle_to_saddle => "jgshg.saddle_to_saddle",
    jgshg_landscape => "jgshg.landscape",
    jgshg_local_minima_generalize => "jgshg.local_minima_generalize",
    mc_pl_inequality => "mc.pl_inequality",
    mc_si_balance => "mc.si.balance",
    mc_si_rank_one => "mc.si.rank_one",
    mc_si_flatness => "mc.si.flatness",
    mc_ri_convergence => "mc.ri.convergence",
}

#[test]
fn every_spec_file_is_valid_and_every_claim_has_one() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("properties");
    let mut ids = Vec::new();
    for f in dlncheck::framework::spec::spec_files(&dir).unwrap() {
        let (spec, _) = dlncheck::claims::load_spec(&f).unwrap_or_else(|e| panic!("{e}"));
        ids.push(spec.id);
    }
    for c in dlncheck::claims::all() {
        assert!(ids.iter().any(|i| i == c.id()), "{} has no spec", c.id());
    }
}

/// Same seed → the same report, bit for bit, whatever the thread count.
#[test]
fn report_is_reproducible_and_thread_independent() {
    dlncheck::init_determinism();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("properties/mc.thm1.lower_bound.yaml");
    let (spec, claim) = dlncheck::claims::load_spec(&path).unwrap();
    let report = |threads: usize, seed: u64| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let run = pool.install(|| runner::run(&spec, claim, Mode::Quick, seed, &|| {}));
        dlncheck::framework::report::Report::new(Mode::Quick, seed, &[run], true).to_yaml()
    };
    let a = report(1, 7);
    assert_eq!(a, report(2, 7));
    assert_eq!(a, report(1, 7));
    assert_ne!(a, report(1, 8), "a different seed gives different instances");
    let _: &dyn Claim = claim;
}
