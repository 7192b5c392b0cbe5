//! jgshg.saddle_to_saddle: from small initialisation εZ, gradient flow on noiseless denoising
//! ½‖A − Y‖² visits the saddles one mode at a time: the loss sits on plateaus ½Σ_{i>k}σ_i², the
//! numerical rank of A rises 0 → 1 → … → rank Y by one at a time and ends minimal. The escape
//! time of mode k grows like (1/σ_k)·log(1/ε) for L = 2 and like ε^{−(L−2)} for L ≥ 3.
//!
//! One instance: Y = U diag(σ) Vᵀ (dim × dim, σ_k = σ_max·ratio^{−(k−1)}, k ≤ `rank`), a fixed
//! Gaussian direction Z ([`lowrank::denoising_instance`]) and `n_eps` scales ε, geometric from
//! `eps_max` down to `eps_min` for L = 2, and such that ε^{L−2} runs geometrically from
//! `eps_pow_max` down to `eps_pow_min` for L ≥ 3 (so escape times are comparable across depths).
//! For each ε, [`lowrank::staircase`] (θ_0 = εZ, snapshots on a geometric time grid of factor
//! `growth`, rank = number of singular values above `rank_cutoff`·σ_r, until the loss is below
//! 10⁻³·½σ_r², else not converged within `t_max`) and the checks:
//! - always: the rank starts at 0, every change is +1, and it ends at rank Y (minimal);
//! - where σ_k/σ_{k+1} ≥ 2: the loss plateaus ([`lowrank::saddle_plateaus`], band
//!   `plateau_band`, at least `plateau_duration` long and spanning a factor 1.05 in time) are
//!   exactly r (consecutive pieces at the same level merged), at the levels ½Σ_{i∉S}σ_i² of
//!   learned sets S of sizes 0, 1, …, r−1 in order
//!   (relative error ≤ `level_tol`), with rank |S| on each (for closer σ the plateaus shorten;
//!   they are measured, not asserted);
//! - where the claim says it is reliable (L = 2, or ratios ≥ 2): the target's modes are learned
//!   largest first, i.e. the times t_i at which u_iᵀAv_i crosses the rank threshold increase with
//!   i ([`lowrank::Staircase::mode_escape_times`]); measured (value `largest_first`) otherwise.
//!
//! Escape times t_i(ε) are fitted across ε with 95 % Student-t intervals ([`LinearFit`]):
//! for L = 2, t_i against log(1/ε), where |slope·σ_i − 1| ≤ `slope_tol`; for L ≥ 3, log t_i
//! against log(1/ε), where |exponent − (L−2)| ≤ `slope_tol`·(L−2) (t_i against ε^{−(L−2)} is also
//! fitted; its R² is reported). Asserted for the first escape (from the origin) always, for later
//! modes where the order is reliable; reported otherwise (with close σ at L ≥ 3 the later escapes
//! can interact). A limit: no tightness; holds iff every asserted check holds, and the largest
//! error/tolerance ratio is reported ([`Margins`]). Value `first_escape_time`: t_1 at the largest
//! ε, the escape from the origin of the flow from ε_max·Z.
//!
//! Control `large_init`: one run at ε = `large_eps` (≳ 1/√w): the rank starts full and there are
//! no plateaus.

use crate::engine::fit::LinearFit;
use crate::framework::margins::Margins;
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param};
use crate::framework::spec::{Mode, Spec, SpecError};
use crate::lowrank;
use crate::lowrank::saddle::{EpsRange, FlowSettings, PlateauRule, RunAnalysis, SaddleSpec};

pub struct SaddleToSaddle;

const PARAMS: &[Param] = &[
    Param::int("depth", 2, "number of layers L"),
    Param::int("width", 1, "hidden width w"),
    Param::int("dim", 1, "d_in = d_out"),
    Param::int("rank", 1, "rank r of the target"),
    Param::positive("sigma_max", "largest singular value σ_1 of the target"),
    Param::positive("sigma_ratio", "σ_k/σ_{k+1} (> 1)"),
    Param::positive("eps_max", "largest initialisation scale ε (L = 2)"),
    Param::positive("eps_min", "smallest initialisation scale ε (L = 2)"),
    Param::positive("eps_pow_max", "largest ε^{L−2} (L ≥ 3)"),
    Param::positive("eps_pow_min", "smallest ε^{L−2} (L ≥ 3)"),
    Param::int("n_eps", 3, "number of scales (geometric from eps_max to eps_min)"),
    Param::positive("large_eps", "initialisation scale of the large_init control"),
    Param::positive("t_max", "time budget of each run"),
    Param::positive("growth", "factor between snapshot times"),
    Param::positive("gf_tol", "gradient-flow tolerance"),
    Param::positive("rank_cutoff", "a singular value of A counts when above rank_cutoff·σ_r"),
    Param::positive("plateau_band", "a plateau's losses stay within a factor 1 + plateau_band"),
    Param::positive("plateau_duration", "minimal duration of a plateau"),
    Param::positive("level_tol", "relative tolerance of plateau levels against ½Σ_{i∉S}σ_i²"),
    Param::positive("slope_tol", "relative tolerance of the fitted escape-time slopes/exponents"),
];

/// The staircase checks of one run: rank steps always; plateaus when `plateaus`; largest-first
/// order when `order`.
pub fn check_run(a: &RunAnalysis, r: usize, plateaus: bool, order: bool, level_tol: f64, m: &mut Margins) {
    m.require("rank starts at 0", a.initial_rank == 0);
    m.require("rank rises by one at each change", a.rank_changes.iter().all(|&c| c == 1));
    m.require("rank ends at rank Y", a.final_rank == r);
    if plateaus {
        m.require("r plateaus", a.plateaus.len() == r);
        for (k, p) in a.plateaus.iter().enumerate() {
            let size = p.modes_learned();
            m.require("plateau k has k modes learned", size == k);
            m.require("rank on plateau k is k", p.rank == size);
            m.within("plateau level", p.rel_error, level_tol);
        }
    }
    if order {
        m.require("largest σ first", a.largest_first());
    }
}

/// The gradient-flow settings of a grid point.
pub fn flow_settings(point: &GridPoint) -> FlowSettings {
    FlowSettings {
        t_max: point.f64("t_max"),
        growth: point.f64("growth"),
        gf_tol: point.f64("gf_tol"),
        rank_cutoff: point.f64("rank_cutoff"),
    }
}

/// The ε range of a grid point.
pub fn eps_range(point: &GridPoint) -> EpsRange {
    EpsRange {
        eps_max: point.f64("eps_max"),
        eps_min: point.f64("eps_min"),
        eps_pow_max: point.f64("eps_pow_max"),
        eps_pow_min: point.f64("eps_pow_min"),
    }
}

/// The target's spectrum σ_k = σ_max·ratio^{−(k−1)} at a grid point, after the checks that
/// `measure` and [`figure_spec`] share.
pub fn spectrum(point: &GridPoint) -> Result<Vec<f64>, String> {
    let (width, dim, r) = (point.usize("width"), point.usize("dim"), point.usize("rank"));
    if r > dim.min(width) {
        return Err(format!("rank {r} > min(dim, width)"));
    }
    let ratio = point.f64("sigma_ratio");
    if ratio <= 1.0 {
        return Err("sigma_ratio must exceed 1".into());
    }
    Ok(lowrank::geometric_spectrum(point.f64("sigma_max"), ratio, r))
}

/// Whether the order of the escapes is asserted: always for L = 2, and for L ≥ 3 when the
/// spectrum is well separated (σ_k/σ_{k+1} ≥ 2); with close σ at L ≥ 3 the later escapes can
/// swap at finite ε, and the order is only reported.
pub fn order_asserted(depth: usize, sigma_ratio: f64) -> bool {
    depth == 2 || sigma_ratio >= 2.0
}

/// What the runs over the ε grid show together (values `largest_first`, `plateaus_detected`,
/// `worst_level_rel_error`): whether every run learned the modes largest first, the plateaus
/// detected over all runs, and the largest relative error of a plateau level over all runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Tally {
    pub all_first: bool,
    pub plateaus: usize,
    pub worst_level: f64,
}

impl Tally {
    /// No run yet: every run (none) learned largest first, no plateau, error 0.
    pub fn new() -> Self {
        Tally { all_first: true, plateaus: 0, worst_level: 0.0 }
    }

    /// Adds one run.
    pub fn add(&mut self, a: &RunAnalysis) {
        self.all_first &= a.largest_first();
        self.plateaus += a.plateaus.len();
        self.worst_level = a.plateaus.iter().fold(self.worst_level, |w, p| w.max(p.rel_error));
    }
}

impl Default for Tally {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether the escape-time law of mode `mode` (1-based) is asserted: the escape from the origin
/// (mode 1) always; later modes where the order is asserted ([`order_asserted`]: with close σ
/// at L ≥ 3 their escapes interact at these ε, and they are only reported).
pub fn escape_asserted(mode: usize, depth: usize, sigma_ratio: f64) -> bool {
    mode == 1 || order_asserted(depth, sigma_ratio)
}

/// The settings of the Jacot et al. figures (jgshg-staircase, jgshg-escape) from this property's spec (`file` names it in errors): the
/// full-grid points with the largest `sigma_ratio` (the well-separated case where plateaus are
/// asserted), their depths in grid order, and every other value from the first of them.
pub fn figure_spec(spec: &Spec, file: &str) -> Result<SaddleSpec, SpecError> {
    let err =
        |key: &str, message: String| SpecError { file: file.into(), key: key.into(), line: None, message };
    let points: Vec<GridPoint> = spec.instances(Mode::Full, 0).into_iter().map(|i| i.point).collect();
    let ratio = points.iter().map(|p| p.f64("sigma_ratio")).fold(f64::NEG_INFINITY, f64::max);
    let chosen: Vec<&GridPoint> = points.iter().filter(|p| p.f64("sigma_ratio") == ratio).collect();
    let Some(p) = chosen.first() else {
        return Err(err("grid", "no grid point".into()));
    };
    let mut depths = Vec::new();
    for q in &chosen {
        let d = q.usize("depth");
        if !depths.contains(&d) {
            depths.push(d);
        }
    }
    Ok(SaddleSpec {
        depths,
        dim: p.usize("dim"),
        width: p.usize("width"),
        sigma: spectrum(p).map_err(|m| err("grid", m))?,
        eps: eps_range(p),
        large_eps: p.f64("large_eps"),
        flow: flow_settings(p),
        plateau_band: p.f64("plateau_band"),
        plateau_duration: p.f64("plateau_duration"),
        level_tol: p.f64("level_tol"),
        slope_tol: p.f64("slope_tol"),
    })
}

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        LargeInit = "large_init",
    }
}

impl ClaimCode for SaddleToSaddle {
    type Control = Control;

    fn id(&self) -> &'static str {
        "jgshg.saddle_to_saddle"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let (depth, width, dim) = (point.usize("depth"), point.usize("width"), point.usize("dim"));
        let sigma = spectrum(point).map_err(ClaimError)?;
        let (r, ratio) = (sigma.len(), point.f64("sigma_ratio"));
        let inst = lowrank::denoising_instance(dim, width, depth, &sigma, seed);
        let flow = flow_settings(point);
        let threshold = flow.rank_threshold(&sigma);
        let opts = flow.staircase_options(&sigma);
        let level_tol = point.f64("level_tol");
        let rule =
            PlateauRule::new(&sigma, point.f64("plateau_band"), point.f64("plateau_duration"), level_tol);
        let order = order_asserted(depth, ratio);
        let plateaus = ratio >= 2.0;
        let run = |eps: f64| -> Result<Option<RunAnalysis>, ClaimError> {
            let theta0: Vec<f64> = inst.direction.iter().map(|x| eps * x).collect();
            let st = lowrank::staircase(&inst.problem, &theta0, &opts)?;
            if !st.reached {
                return Ok(None);
            }
            Ok(Some(RunAnalysis::new(&st, &inst, &sigma, &rule, threshold)))
        };
        let mut m = Margins::default();
        if case == Case::Control(Control::LargeInit) {
            let eps = point.f64("large_eps");
            let Some(a) = run(eps)? else {
                return Ok(Measurement::not_converged(format!(
                    "ε = {eps}: loss not below 10⁻³·½σ_r² by t_max"
                )));
            };
            check_run(&a, r, true, order, level_tol, &mut m);
            return Ok(m
                .measurement()
                .value("initial_rank", a.initial_rank as f64)
                .value("plateaus", a.plateaus.len() as f64));
        }

        let n = point.usize("n_eps");
        let eps = eps_range(point).grid(depth, n);
        let mut escapes: Vec<Vec<f64>> = vec![Vec::new(); r];
        let mut tally = Tally::new();
        for &e in &eps {
            let Some(a) = run(e)? else {
                return Ok(Measurement::not_converged(format!(
                    "ε = {e:.3e}: loss not below 10⁻³·½σ_r² by t_max"
                )));
            };
            check_run(&a, r, plateaus, order, level_tol, &mut m);
            tally.add(&a);
            for k in 0..r {
                match a.escape_times[k] {
                    Some(t) => escapes[k].push(t),
                    None => {
                        return Ok(Measurement::not_converged(format!(
                            "ε = {e:.3e}: mode {} never escaped",
                            k + 1
                        )));
                    }
                }
            }
        }
        let mut out = Measurement::from_tightness(1.0, 0.0);
        let slope_tol = point.f64("slope_tol");
        let log_inv: Vec<f64> = eps.iter().map(|e| (1.0 / e).ln()).collect();
        for k in 0..r {
            let name = k + 1;
            let asserted = escape_asserted(name, depth, ratio);
            if depth == 2 {
                let f = line(&log_inv, &escapes[k])?;
                let (lo, hi) = f.slope_interval(0.95);
                let scaled = f.slope * sigma[k];
                if asserted {
                    m.within("L = 2 slope ≈ 1/σ_k", (scaled - 1.0).abs(), slope_tol);
                }
                out = out
                    .value(&format!("slope_sigma_mode{name}"), scaled)
                    .value(&format!("slope_sigma_lo_mode{name}"), lo * sigma[k])
                    .value(&format!("slope_sigma_hi_mode{name}"), hi * sigma[k]);
            } else {
                let logt: Vec<f64> = escapes[k].iter().map(|t| t.ln()).collect();
                let f = line(&log_inv, &logt)?;
                let (lo, hi) = f.slope_interval(0.95);
                let target = depth as f64 - 2.0;
                if asserted {
                    m.within("L ≥ 3 exponent ≈ L − 2", (f.slope - target).abs(), slope_tol * target);
                }
                let x: Vec<f64> = eps.iter().map(|e| e.powf(-target)).collect();
                let lin = line(&x, &escapes[k])?;
                out = out
                    .value(&format!("exponent_mode{name}"), f.slope)
                    .value(&format!("exponent_lo_mode{name}"), lo)
                    .value(&format!("exponent_hi_mode{name}"), hi)
                    .value(&format!("linear_r2_mode{name}"), lin.r_squared);
            }
            out = out.value(&format!("escape_time_eps_min_mode{name}"), *escapes[k].last().unwrap());
        }
        let mut res = m.measurement();
        res.values.extend(out.values);
        Ok(res
            .value("largest_first", tally.all_first as u8 as f64)
            .value("order_asserted", order as u8 as f64)
            .value("plateaus_asserted", plateaus as u8 as f64)
            .value("eps_max_used", eps[0])
            .value("first_escape_time", escapes[0][0])
            .value("eps_min_used", eps[n - 1])
            .value("plateaus_detected", tally.plateaus as f64)
            .value("worst_level_rel_error", tally.worst_level))
    }
}

/// The least-squares line through (x_i, y_i) ([`LinearFit`]); an error (not a panic) when the
/// ε grid gives fewer than three finite points or a constant x.
fn line(x: &[f64], y: &[f64]) -> Result<LinearFit, ClaimError> {
    let points: Vec<(f64, f64)> = x.iter().copied().zip(y.iter().copied()).collect();
    LinearFit::fit(&points)
        .ok_or_else(|| ClaimError(format!("a fit across ε needs ≥ 3 distinct finite points, got {points:?}")))
}
