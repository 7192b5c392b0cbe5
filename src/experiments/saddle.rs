//! The saddle-to-saddle experiments of Jacot et al. (2021) (docs/notation.md,
//! jgshg.saddle_to_saddle), as data: gradient flows on the denoising instance of
//! [`lowrank::staircase_figure`] from θ_0 = εZ, with the instance (Y 5 × 5 of rank 3 with
//! σ = (4, 2, 1), hidden width 6), depths, ε ranges and tolerances of the property's spec
//! ([`SaddleSpec`], which the caller reads); the analysis is [`lowrank::saddle`]'s. No I/O:
//! [`crate::figures`] plots them and writes the files.
//!
//! | experiment | runs | figure |
//! |---|---|---|
//! | [`Experiment::Staircase`](crate::experiments::Experiment::Staircase) | per depth L ∈ {2, 3, 4}: a small ε (the largest of jgshg-escape's range) and ε = 0.5 | jgshg-staircase: loss and numerical rank vs time |
//! | [`Experiment::EscapeTime`](crate::experiments::Experiment::EscapeTime) | per depth and instance: 8 scales ε over the spec's range ([`analysis::EpsRange::grid`]) | jgshg-escape: escape times vs ε with fits |
//!
//! Instances are seeded by repetition ([`instance_seed`]), the same for both figures: jgshg-staircase's
//! small-initialisation runs are jgshg-escape's largest-ε runs of instance 0. The flows run as the
//! work items of [`crate::experiments::work`] (one per depth for jgshg-staircase, one per depth and
//! instance for jgshg-escape), in parallel, collected in order: the data are bit-identical whatever
//! the thread count or the sharding.

use crate::engine::fit::CommonSlopeFit;
use crate::experiments::ExperimentTiming;
use crate::experiments::aggregate::Check;
use crate::experiments::grid::derive_seed;
use crate::experiments::stats;
use crate::lowrank::saddle::{self as analysis, PlateauRule, SaddlePlateau, SaddleSpec};
use crate::lowrank::{self, EscapeSeries, StaircaseFigure, TrajectoryData};
use serde::Serialize;

/// The tag of the instance seeds (shared by the Jacot et al. figures (jgshg-staircase, jgshg-escape)).
pub const INSTANCE_TAG: &str = "saddle_to_saddle";

/// The seed of instance `rep` (target's singular vectors and the direction Z).
pub fn instance_seed(rep: usize) -> u64 {
    derive_seed(INSTANCE_TAG, &[rep as u64])
}

/// The fixed problem behind both figures and how its flows are sampled
/// ([`analysis::FlowSettings::staircase_options`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstanceFacts {
    /// d_in = d_out and the hidden width.
    pub dim: usize,
    pub width: usize,
    /// Singular values of the target, descending.
    pub sigma: Vec<f64>,
    /// ½Σ_{i>k}σ_i², k = 0..r: the loss at the saddle where the k largest modes are learned.
    pub plateau_levels: Vec<f64>,
    /// A singular value of A counts towards the numerical rank when above this (rank_cutoff·σ_r).
    pub rank_threshold: f64,
    /// A run stops at twice the time its loss first reaches this (10⁻³·½σ_r²), or at t_max.
    pub stop_loss: f64,
    pub t_max: f64,
    /// Snapshots at t_first·growth^j (intervals where the rank jumps by more than one are
    /// re-integrated on a finer grid), gradient-flow tolerance gf_tol.
    pub t_first: f64,
    pub growth: f64,
    pub gf_tol: f64,
}

impl InstanceFacts {
    pub fn figure(spec: &SaddleSpec) -> Self {
        let sigma = spec.sigma.clone();
        let o = spec.flow.staircase_options(&sigma);
        InstanceFacts {
            dim: spec.dim,
            width: spec.width,
            plateau_levels: lowrank::plateau_levels(&sigma),
            sigma,
            rank_threshold: o.rank_threshold,
            stop_loss: o.stop_loss,
            t_max: o.t_max,
            t_first: o.t_first,
            growth: o.growth,
            gf_tol: o.tol,
        }
    }
}

/// Settings of jgshg-staircase (the same in `--quick` mode: the six flows take about half a second).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StaircaseSettings {
    pub instance: InstanceFacts,
    /// Instance 0 of [`instance_seed`].
    pub seed: u64,
    pub depths: Vec<usize>,
    /// Per depth: the small scale, the largest ε of jgshg-escape's range (10⁻⁶ for L = 2,
    /// ε^{L−2} = 5·10⁻⁴ for L ≥ 3).
    pub eps_small: Vec<f64>,
    /// The large scale (≳ 1/√w): no saddles visited.
    pub eps_large: f64,
    pub plateaus: PlateauRule,
    /// The spec's values these settings come from (not written: the fields above say them).
    #[serde(skip)]
    pub spec: SaddleSpec,
}

impl StaircaseSettings {
    /// The spec's depths, its largest ε per depth and its large-initialisation scale.
    pub fn paper(spec: &SaddleSpec) -> Self {
        StaircaseSettings {
            instance: InstanceFacts::figure(spec),
            seed: instance_seed(0),
            eps_small: spec.depths.iter().map(|&l| spec.eps.bounds(l).0).collect(),
            depths: spec.depths.clone(),
            eps_large: spec.large_eps,
            plateaus: spec.plateau_rule(),
            spec: spec.clone(),
        }
    }

    /// Number of gradient flows.
    pub fn num_runs(&self) -> usize {
        2 * self.depths.len()
    }
}

/// Settings of jgshg-escape.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EscapeSettings {
    pub instance: InstanceFacts,
    pub depths: Vec<usize>,
    /// Scales per depth and instance, geometric over the spec's range ([`analysis::EpsRange::grid`]).
    pub n_eps: usize,
    /// Instances (repetitions), seeded by [`instance_seed`].
    pub reps: usize,
    pub seeds: Vec<u64>,
    /// Confidence level of the slope intervals.
    pub confidence: f64,
    /// Largest relative deviation of a fitted slope from the theory's that the checks accept
    /// (jgshg.saddle_to_saddle's slope_tol).
    pub slope_tol: f64,
    /// The spec's values these settings come from (not written: the fields above say them).
    #[serde(skip)]
    pub spec: SaddleSpec,
}

impl EscapeSettings {
    /// The spec's depths, 8 scales per depth, 3 instances.
    pub fn paper(spec: &SaddleSpec) -> Self {
        EscapeSettings {
            instance: InstanceFacts::figure(spec),
            depths: spec.depths.clone(),
            n_eps: 8,
            reps: 3,
            seeds: (0..3).map(instance_seed).collect(),
            confidence: 0.95,
            slope_tol: spec.slope_tol,
            spec: spec.clone(),
        }
    }

    /// The `--quick` variant: 3 scales (the fewest a fit with an interval needs) over the same
    /// range, one instance; the same depths.
    pub fn quick(self) -> Self {
        EscapeSettings { n_eps: 3, ..self.with_reps(1) }
    }

    /// Multiplies the number of instances by `x` (rounded, at least 1).
    pub fn with_reps_scale(self, x: f64) -> Self {
        let reps = ((self.reps as f64 * x).round() as usize).max(1);
        self.with_reps(reps)
    }

    fn with_reps(mut self, reps: usize) -> Self {
        self.reps = reps;
        self.seeds = (0..reps).map(instance_seed).collect();
        self
    }

    /// Number of gradient flows.
    pub fn num_runs(&self) -> usize {
        self.depths.len() * self.reps * self.n_eps
    }
}

/// The flows of jgshg-staircase: one [`StaircaseFigure`] per depth.
#[derive(Clone, Debug)]
pub struct StaircaseData {
    pub settings: StaircaseSettings,
    pub figures: Vec<StaircaseFigure>,
    pub timing: ExperimentTiming,
}

/// The escape times of one (depth, instance).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct EscapeRun {
    pub rep: usize,
    pub seed: u64,
    pub series: EscapeSeries,
}

/// The flows of jgshg-escape, depth-major then instance.
#[derive(Clone, Debug)]
pub struct EscapeData {
    pub settings: EscapeSettings,
    pub runs: Vec<EscapeRun>,
    pub timing: ExperimentTiming,
}

// ---------------------------------------------------------------------------------------------
// jgshg-staircase: plateaus and rank steps
// ---------------------------------------------------------------------------------------------

/// A change of the numerical rank between two snapshots.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RankStep {
    /// The time of the first snapshot at the new rank.
    pub t: f64,
    pub from: usize,
    pub to: usize,
}

/// A loss plateau matched to the saddle of a learned set of k modes (the k largest when the
/// modes are learned in order).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PlateauFact {
    pub start: f64,
    pub end: f64,
    /// The measured level (of the plateau's longest piece).
    pub level: f64,
    pub k: usize,
    /// ½Σ_{i>k}σ_i².
    pub expected: f64,
    /// Largest |level − expected|/expected over the plateau's pieces.
    pub rel_error: f64,
    /// The numerical rank at the plateau's midpoint.
    pub rank: usize,
    /// Whether the learned set is the k largest modes (not written: `expected` says it).
    #[serde(skip)]
    pub largest_learned: bool,
}

/// What one flow of jgshg-staircase shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrajectoryFacts {
    pub depth: usize,
    /// small | large.
    pub init: String,
    pub eps: f64,
    pub snapshots: usize,
    pub initial_loss: f64,
    pub initial_rank: usize,
    pub final_time: f64,
    pub final_loss: f64,
    pub final_rank: usize,
    /// The loss reached [`InstanceFacts::stop_loss`].
    pub converged: bool,
    pub rank_steps: Vec<RankStep>,
    pub plateaus: Vec<PlateauFact>,
}

/// The rank changes along a trajectory.
pub fn rank_steps(traj: &TrajectoryData) -> Vec<RankStep> {
    (1..traj.rank.len())
        .filter(|&j| traj.rank[j] != traj.rank[j - 1])
        .map(|j| RankStep { t: traj.times[j], from: traj.rank[j - 1], to: traj.rank[j] })
        .collect()
}

impl PlateauFact {
    fn new(p: &SaddlePlateau) -> Self {
        PlateauFact {
            start: p.start,
            end: p.end,
            level: p.level,
            k: p.modes_learned(),
            expected: p.expected,
            rel_error: p.rel_error,
            rank: p.rank,
            largest_learned: p.largest_learned(),
        }
    }
}

/// The plateaus of a trajectory under `rule`, each matched to the saddle of the learned set S
/// whose level ½Σ_{i∉S}σ_i² is nearest ([`analysis::saddle_plateaus`]).
pub fn plateaus(traj: &TrajectoryData, sigma: &[f64], rule: &PlateauRule) -> Vec<PlateauFact> {
    analysis::saddle_plateaus(&traj.times, &traj.loss, &traj.rank, sigma, rule)
        .iter()
        .map(PlateauFact::new)
        .collect()
}

/// The facts of one trajectory.
pub fn trajectory_facts(
    depth: usize,
    init: &str,
    traj: &TrajectoryData,
    instance: &InstanceFacts,
    rule: &PlateauRule,
) -> TrajectoryFacts {
    let n = traj.times.len();
    TrajectoryFacts {
        depth,
        init: init.into(),
        eps: traj.eps,
        snapshots: n,
        initial_loss: traj.loss[0],
        initial_rank: traj.rank[0],
        final_time: traj.times[n - 1],
        final_loss: traj.loss[n - 1],
        final_rank: traj.rank[n - 1],
        converged: traj.loss.iter().any(|&l| l <= instance.stop_loss),
        rank_steps: rank_steps(traj),
        plateaus: plateaus(traj, &instance.sigma, rule),
    }
}

/// Per depth: the small- then the large-initialisation facts.
pub fn staircase_facts(data: &StaircaseData) -> Vec<TrajectoryFacts> {
    let s = &data.settings;
    data.figures
        .iter()
        .flat_map(|f| {
            [
                trajectory_facts(f.depth, "small", &f.small, &s.instance, &s.plateaus),
                trajectory_facts(f.depth, "large", &f.large, &s.instance, &s.plateaus),
            ]
        })
        .collect()
}

/// The checks of jgshg-staircase.
pub fn staircase_checks(facts: &[TrajectoryFacts], settings: &StaircaseSettings) -> Vec<Check> {
    let r = settings.instance.sigma.len();
    let tol = settings.plateaus.level_tol;
    let small: Vec<&TrajectoryFacts> = facts.iter().filter(|f| f.init == "small").collect();
    let large: Vec<&TrajectoryFacts> = facts.iter().filter(|f| f.init == "large").collect();
    let staircase_ok = |f: &TrajectoryFacts| {
        f.initial_rank == 0 && f.rank_steps.iter().all(|s| s.to == s.from + 1) && f.final_rank == r
    };
    let plateaus_ok = |f: &TrajectoryFacts| {
        f.plateaus.len() == r
            && f.plateaus
                .iter()
                .enumerate()
                .all(|(k, p)| p.k == k && p.largest_learned && p.rank == k && p.rel_error <= tol)
    };
    let count =
        |v: &[&TrajectoryFacts], ok: &dyn Fn(&TrajectoryFacts) -> bool| v.iter().filter(|f| !ok(f)).count();
    let worst_level = stats::max_of(small.iter().flat_map(|f| f.plateaus.iter().map(|p| p.rel_error)));
    let rank_violations = count(&small, &staircase_ok);
    let plateau_violations = count(&small, &plateaus_ok);
    let large_violations = count(&large, &|f| f.plateaus.is_empty());
    let unconverged = facts.iter().filter(|f| !f.converged).count();
    vec![
        Check {
            name: "small_init_rank_staircase".into(),
            statement: "small ε: the numerical rank starts at 0, rises by one at each change and ends \
                        at rank Y"
                .into(),
            holds: rank_violations == 0,
            tested: small.len(),
            violations: rank_violations,
            worst: None,
            bound: 0.0,
        },
        Check {
            name: "small_init_plateaus".into(),
            statement: format!(
                "small ε: exactly r plateaus, the k-th at ½Σ_{{i>k}}σ_i² (relative error ≤ {tol}) with \
                 rank k on it"
            ),
            holds: plateau_violations == 0,
            tested: small.len(),
            violations: plateau_violations,
            worst: worst_level,
            bound: tol,
        },
        Check {
            name: "large_init_no_plateaus".into(),
            statement: format!("large ε = {}: no plateau", settings.eps_large),
            holds: large_violations == 0,
            tested: large.len(),
            violations: large_violations,
            worst: None,
            bound: 0.0,
        },
        Check {
            name: "converged".into(),
            statement: "every flow reaches loss ≤ 10⁻³·½σ_r² before t_max".into(),
            holds: unconverged == 0,
            tested: facts.len(),
            violations: unconverged,
            worst: None,
            bound: 0.0,
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// jgshg-escape: escape-time fits
// ---------------------------------------------------------------------------------------------

/// The fit of the escape times of one mode at one depth over every instance, with a common
/// slope and one intercept per instance ([`CommonSlopeFit`]: the prefactor depends on the
/// instance, the law does not): t = a + b·log(1/ε) for L = 2 (theory: b = 1/σ_k),
/// log t = a + b·log(1/ε) for L ≥ 3 (theory: b = L − 2).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EscapeFit {
    pub depth: usize,
    /// 1-based, in the order of σ.
    pub mode: usize,
    pub sigma: f64,
    /// `t` (L = 2) or `log t` (L ≥ 3), against log(1/ε).
    pub y: String,
    pub n: usize,
    pub instances: usize,
    pub slope: f64,
    /// The slope's confidence interval (Student t, n − instances − 1 degrees of freedom).
    pub slope_lo: f64,
    pub slope_hi: f64,
    /// Per instance, and their mean (the plotted line).
    pub intercepts: Vec<f64>,
    pub intercept: f64,
    /// Within-instance R².
    pub r_squared: f64,
    /// 1/σ_k (L = 2) or L − 2 (L ≥ 3).
    pub expected_slope: f64,
    /// slope/expected (1 = the theory): slope·σ_k for L = 2, the exponent/(L − 2) for L ≥ 3,
    /// with its interval.
    pub ratio: f64,
    pub ratio_lo: f64,
    pub ratio_hi: f64,
    pub interval_contains_theory: bool,
}

impl EscapeFit {
    /// The fitted escape time at ε (mean intercept).
    pub fn predict(&self, eps: f64) -> f64 {
        let v = self.intercept + self.slope * (1.0 / eps).ln();
        if self.depth == 2 { v } else { v.exp() }
    }
}

/// The points (ε, escape time) of one mode (0-based) at one depth, one list per instance (modes
/// that did not escape are left out).
pub fn escape_points(data: &EscapeData, depth: usize, mode: usize) -> Vec<Vec<(f64, f64)>> {
    data.runs
        .iter()
        .filter(|r| r.series.depth == depth)
        .map(|r| {
            r.series
                .eps
                .iter()
                .zip(&r.series.escape_times)
                .filter_map(|(&e, t)| Some((e, t[mode]?)))
                .collect()
        })
        .collect()
}

/// One fit per (depth, mode), depth-major; `None` without a residual degree of freedom.
pub fn escape_fits(data: &EscapeData) -> Vec<Option<EscapeFit>> {
    let s = &data.settings;
    let sigma = &s.instance.sigma;
    s.depths
        .iter()
        .flat_map(|&depth| (0..sigma.len()).map(move |k| (depth, k)))
        .map(|(depth, k)| {
            let deep = depth >= 3;
            let groups: Vec<Vec<(f64, f64)>> = escape_points(data, depth, k)
                .into_iter()
                .map(|g| {
                    g.into_iter().map(|(e, t)| ((1.0 / e).ln(), if deep { t.ln() } else { t })).collect()
                })
                .collect();
            let f = CommonSlopeFit::fit(&groups, s.confidence)?;
            let expected = if deep { depth as f64 - 2.0 } else { 1.0 / sigma[k] };
            Some(EscapeFit {
                depth,
                mode: k + 1,
                sigma: sigma[k],
                y: if deep { "log t" } else { "t" }.into(),
                n: f.n,
                instances: f.groups,
                slope: f.slope,
                slope_lo: f.slope_lo,
                slope_hi: f.slope_hi,
                intercept: f.intercepts.iter().sum::<f64>() / f.intercepts.len() as f64,
                intercepts: f.intercepts,
                r_squared: f.r_squared,
                expected_slope: expected,
                ratio: f.slope / expected,
                ratio_lo: f.slope_lo / expected,
                ratio_hi: f.slope_hi / expected,
                interval_contains_theory: f.slope_lo <= expected && expected <= f.slope_hi,
            })
        })
        .collect()
}

/// The checks of jgshg-escape.
pub fn escape_checks(data: &EscapeData, fits: &[Option<EscapeFit>]) -> Vec<Check> {
    let s = &data.settings;
    let r = s.instance.sigma.len();
    let rows: Vec<&Vec<Option<f64>>> = data.runs.iter().flat_map(|run| &run.series.escape_times).collect();
    let missing = rows.iter().filter(|row| row.iter().any(|t| t.is_none())).count();
    let out_of_order = rows.iter().filter(|row| !analysis::learned_largest_first(row)).count();
    let slope_check = |name: &str, statement: String, deep: bool| {
        let expected = s.depths.iter().filter(|&&d| (d >= 3) == deep).count() * r;
        let got: Vec<f64> =
            fits.iter().flatten().filter(|f| (f.depth >= 3) == deep).map(|f| (f.ratio - 1.0).abs()).collect();
        let violations = expected - got.iter().filter(|&&e| e <= s.slope_tol).count();
        Check {
            name: name.into(),
            statement,
            holds: violations == 0,
            tested: expected,
            violations,
            worst: stats::max_of(got),
            bound: s.slope_tol,
        }
    };
    let tol = s.slope_tol;
    vec![
        Check {
            name: "all_modes_escaped".into(),
            statement: format!(
                "every flow learns every mode of Y (u_iᵀAv_i > {}·σ_r) before t_max",
                s.spec.flow.rank_cutoff
            ),
            holds: missing == 0,
            tested: rows.len(),
            violations: missing,
            worst: None,
            bound: 0.0,
        },
        Check {
            name: "largest_sigma_first".into(),
            statement: "every flow learns the modes in the order of their singular values".into(),
            holds: out_of_order == 0,
            tested: rows.len(),
            violations: out_of_order,
            worst: None,
            bound: 0.0,
        },
        slope_check(
            "escape_slope_depth_2",
            format!("L = 2: the slope of t against log(1/ε) is 1/σ_k (|slope·σ_k − 1| ≤ {tol}), every mode"),
            false,
        ),
        slope_check(
            "escape_exponent_deep",
            format!(
                "L ≥ 3: the slope of log t against log(1/ε) is L − 2 (|exponent/(L − 2) − 1| ≤ {tol}), \
                 every mode"
            ),
            true,
        ),
    ]
}
