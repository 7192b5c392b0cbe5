//! What the figures draw and what the paper's text relies on, computed from the runs:
//! per-cell means with 95 % bands, divergence probabilities, the stability facts behind
//! mc.gd.stability (converged ⇒ S ≤ 2/η; nothing converges above 2/S_min; the largest η that
//! trains per depth against 1/(La)), the gap between the authors' estimator and the exact
//! sharpness, and Figure 6's generalisation-gap fit.

use crate::engine::fit::LinearFit;
use crate::experiments::ExperimentData;
use crate::experiments::grid::derive_seed;
use crate::experiments::run::Run;
use crate::experiments::stats::{self, Band, mean_band, median};
use serde::Serialize;

/// Relative slack on η·S/2 ≤ 1 and S ≥ S_min at a converged run's last point (it is within
/// excess risk 1e-14 of its limit, whose sharpness it approximates to ~1e-7).
pub const EDGE_TOL: f64 = 1e-6;
/// A run "trains" (Figure 2) when it did not diverge and ‖w_prod − w*‖²/d ≤ this.
pub const TRAINED_DISTANCE: f64 = 1e-4;

/// Aggregates of the runs of one (depth, η, scale).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cell {
    pub depth: usize,
    pub eta: f64,
    pub scale: f64,
    pub runs: usize,
    pub diverged: usize,
    pub converged: usize,
    pub divergence_probability: f64,
    /// Means and bands over the runs that did not diverge (diverged runs are NaN, which the
    /// authors' pandas means skip).
    pub init_sharpness: Option<Band>,
    pub final_sharpness: Option<Band>,
    pub init_distance: Option<Band>,
    pub final_distance: Option<Band>,
}

/// Initialisation aggregates of one (depth, scale) over every learning rate (the authors'
/// "Initialization" line).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InitCell {
    pub depth: usize,
    pub scale: f64,
    pub runs: usize,
    pub sharpness: Option<Band>,
    pub distance: Option<Band>,
}

fn band_of<'a>(runs: impl Iterator<Item = &'a Run>, f: impl Fn(&Run) -> f64, seed: u64) -> Option<Band> {
    let v: Vec<f64> = runs.map(f).collect();
    mean_band(&v, seed)
}

/// One cell per (depth, η, scale), in grid order.
pub fn cells(data: &ExperimentData) -> Vec<Cell> {
    let g = &data.grid;
    let mut out = Vec::new();
    for (di, &depth) in g.depths.iter().enumerate() {
        for (ri, rate) in g.rates.iter().enumerate() {
            for (si, &scale) in g.scales.iter().enumerate() {
                let runs: Vec<&Run> = data
                    .runs
                    .iter()
                    .filter(|r| {
                        r.config.depth_index == di && r.config.rate_index == ri && r.config.scale_index == si
                    })
                    .collect();
                let seed = |q: u64| derive_seed("band", &[di as u64, ri as u64, si as u64, q]);
                let diverged = runs.iter().filter(|r| r.diverged()).count();
                out.push(Cell {
                    depth,
                    eta: rate.eta,
                    scale,
                    runs: runs.len(),
                    diverged,
                    converged: runs.iter().filter(|r| r.converged()).count(),
                    divergence_probability: diverged as f64 / runs.len().max(1) as f64,
                    init_sharpness: band_of(runs.iter().copied(), |r| r.init.sharpness, seed(0)),
                    final_sharpness: band_of(runs.iter().copied(), |r| r.last.sharpness, seed(1)),
                    init_distance: band_of(runs.iter().copied(), |r| r.init.distance, seed(2)),
                    final_distance: band_of(runs.iter().copied(), |r| r.last.distance, seed(3)),
                });
            }
        }
    }
    out
}

/// One cell per (depth, scale) over all learning rates.
pub fn init_cells(data: &ExperimentData) -> Vec<InitCell> {
    let g = &data.grid;
    let mut out = Vec::new();
    for (di, &depth) in g.depths.iter().enumerate() {
        for (si, &scale) in g.scales.iter().enumerate() {
            let runs: Vec<&Run> = data
                .runs
                .iter()
                .filter(|r| r.config.depth_index == di && r.config.scale_index == si)
                .collect();
            let seed = |q: u64| derive_seed("init-band", &[di as u64, si as u64, q]);
            out.push(InitCell {
                depth,
                scale,
                runs: runs.len(),
                sharpness: band_of(runs.iter().copied(), |r| r.init.sharpness, seed(0)),
                distance: band_of(runs.iter().copied(), |r| r.init.distance, seed(1)),
            });
        }
    }
    out
}

/// Divergence probability at one scale.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScaleProbability {
    pub scale: f64,
    pub divergence_probability: f64,
}

/// Stability facts of one (depth, η).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RateFacts {
    pub depth: usize,
    pub eta: f64,
    pub two_over_eta: f64,
    /// η / (2/S_min): above 1 no minimiser is stable.
    pub eta_over_threshold: f64,
    pub runs: usize,
    pub diverged: usize,
    pub converged: usize,
    /// Ran the full budget without reaching excess risk 1e-14 (e.g. oscillating at the edge).
    pub not_converged: usize,
    pub certified_early_stops: usize,
    /// η·S/2 over converged runs (≤ 1: stable; ≈ 1: at the edge of stability).
    pub edge_ratio_min: Option<f64>,
    pub edge_ratio_median: Option<f64>,
    pub edge_ratio_max: Option<f64>,
    pub divergence_by_scale: Vec<ScaleProbability>,
}

/// Per depth: the learning-rate thresholds and where training stops working (Figure 2).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThresholdFacts {
    pub depth: usize,
    /// 2/S_min.
    pub eta_threshold: f64,
    /// 2/LB = 1/(La‖w*‖^{2−2/L}‖p‖^{2/L}), the line the paper draws.
    pub eta_lower_bound: f64,
    /// Largest η of the grid at which every run trained (distance ≤ 1e-4).
    pub largest_eta_all_trained: Option<f64>,
    /// Largest η of the grid with at least one converged run (excess ≤ 1e-14).
    pub largest_eta_any_converged: Option<f64>,
    /// Smallest η of the grid at which no run trained.
    pub smallest_eta_none_trained: Option<f64>,
    /// largest_eta_all_trained / eta_lower_bound.
    pub all_trained_over_lower_bound: Option<f64>,
}

/// One checked fact, with the numbers behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    pub name: String,
    pub statement: String,
    pub holds: bool,
    /// The instances the statement was tested on.
    pub tested: usize,
    pub violations: usize,
    /// The extreme measured value and the bound it is compared with.
    pub worst: Option<f64>,
    pub bound: f64,
}

/// Everything mc.gd.stability reads off an experiment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stability {
    pub rates: Vec<RateFacts>,
    pub thresholds: Vec<ThresholdFacts>,
    pub checks: Vec<Check>,
}

fn minmax_median(v: &[f64]) -> (Option<f64>, Option<f64>, Option<f64>) {
    if v.is_empty() {
        return (None, None, None);
    }
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (Some(min), Some(median(v)), Some(max))
}

/// The stability facts and checks of an experiment.
pub fn stability(data: &ExperimentData) -> Stability {
    let g = &data.grid;
    let mut rates = Vec::new();
    let mut thresholds = Vec::new();
    for (di, &depth) in g.depths.iter().enumerate() {
        let facts = &data.facts[di];
        let mut all_trained = None;
        let mut any_converged = None;
        let mut none_trained: Option<f64> = None;
        for (ri, rate) in g.rates.iter().enumerate() {
            let runs: Vec<&Run> = data
                .runs
                .iter()
                .filter(|r| r.config.depth_index == di && r.config.rate_index == ri)
                .collect();
            let conv: Vec<&Run> = runs.iter().copied().filter(|r| r.converged()).collect();
            let edges: Vec<f64> = conv.iter().map(|r| r.edge_ratio()).collect();
            let (emin, emed, emax) = minmax_median(&edges);
            let diverged = runs.iter().filter(|r| r.diverged()).count();
            let divergence_by_scale = g
                .scales
                .iter()
                .enumerate()
                .map(|(si, &scale)| {
                    let at: Vec<&&Run> = runs.iter().filter(|r| r.config.scale_index == si).collect();
                    ScaleProbability {
                        scale,
                        divergence_probability: at.iter().filter(|r| r.diverged()).count() as f64
                            / at.len().max(1) as f64,
                    }
                })
                .collect();
            let trained =
                runs.iter().filter(|r| !r.diverged() && r.last.distance <= TRAINED_DISTANCE).count();
            if !runs.is_empty() && trained == runs.len() {
                all_trained = Some(rate.eta);
            }
            if !conv.is_empty() {
                any_converged = Some(rate.eta);
            }
            if !runs.is_empty() && trained == 0 && none_trained.is_none_or(|e| rate.eta < e) {
                none_trained = Some(rate.eta);
            }
            rates.push(RateFacts {
                depth,
                eta: rate.eta,
                two_over_eta: 2.0 / rate.eta,
                eta_over_threshold: rate.eta / facts.eta_threshold,
                runs: runs.len(),
                diverged,
                converged: conv.len(),
                not_converged: runs.len() - diverged - conv.len(),
                certified_early_stops: runs
                    .iter()
                    .filter(|r| r.outcome == crate::experiments::run::RunOutcome::Certified)
                    .count(),
                edge_ratio_min: emin,
                edge_ratio_median: emed,
                edge_ratio_max: emax,
                divergence_by_scale,
            });
        }
        thresholds.push(ThresholdFacts {
            depth,
            eta_threshold: facts.eta_threshold,
            eta_lower_bound: facts.eta_lower_bound,
            largest_eta_all_trained: all_trained,
            largest_eta_any_converged: any_converged,
            smallest_eta_none_trained: none_trained,
            all_trained_over_lower_bound: all_trained.map(|e| e / facts.eta_lower_bound),
        });
    }
    let checks = checks(data, &thresholds);
    Stability { rates, thresholds, checks }
}

fn checks(data: &ExperimentData, thresholds: &[ThresholdFacts]) -> Vec<Check> {
    let conv: Vec<&Run> = data.runs.iter().filter(|r| r.converged()).collect();
    let facts = |r: &Run| &data.facts[r.config.depth_index];
    let edge: Vec<f64> = conv.iter().map(|r| r.edge_ratio()).collect();
    let worst_edge = edge.iter().copied().fold(None, stats::fold_max);
    let floor: Vec<f64> = conv.iter().map(|r| r.last.sharpness / facts(r).s_min).collect();
    let worst_floor = floor.iter().copied().fold(None, stats::fold_min);
    let above: Vec<&Run> = data.runs.iter().filter(|r| r.config.eta > facts(r).eta_threshold).collect();
    let above_conv = above.iter().filter(|r| r.converged()).count();
    let closed_form: Vec<f64> = data.facts.iter().map(|f| f.eta_threshold / f.eta_lower_bound).collect();
    let lr_violations = thresholds
        .iter()
        .filter(|t| t.largest_eta_any_converged.is_some_and(|e| e > t.eta_threshold))
        .count();
    let lr_worst = thresholds
        .iter()
        .filter_map(|t| t.largest_eta_any_converged.map(|e| e / t.eta_threshold))
        .fold(None, stats::fold_max);
    vec![
        Check {
            name: "stable_minimizers".into(),
            statement: "every converged run ends at S ≤ 2/η (η·S/2 ≤ 1)".into(),
            holds: edge.iter().all(|&e| e <= 1.0 + EDGE_TOL),
            tested: conv.len(),
            violations: edge.iter().filter(|&&e| e > 1.0 + EDGE_TOL).count(),
            worst: worst_edge,
            bound: 1.0,
        },
        Check {
            name: "minimizers_above_s_min".into(),
            statement: "every converged run ends at S ≥ S_min ≥ LB (so η·S/2 ≥ η/(2/S_min))".into(),
            holds: floor.iter().all(|&f| f >= 1.0 - EDGE_TOL),
            tested: conv.len(),
            violations: floor.iter().filter(|&&f| f < 1.0 - EDGE_TOL).count(),
            worst: worst_floor,
            bound: 1.0,
        },
        Check {
            name: "no_convergence_above_threshold".into(),
            statement: "no run with η > 2/S_min converges".into(),
            holds: above_conv == 0,
            tested: above.len(),
            violations: above_conv,
            worst: None,
            bound: 0.0,
        },
        Check {
            name: "largest_converging_eta_below_threshold".into(),
            statement: "per depth, the largest η of the grid with a converged run is ≤ 2/S_min".into(),
            holds: lr_violations == 0,
            tested: thresholds.len(),
            violations: lr_violations,
            worst: lr_worst,
            bound: 1.0,
        },
        Check {
            name: "threshold_below_paper_line".into(),
            statement: "2/S_min ≤ 1/(La‖w*‖^{2−2/L}) (= 2/LB, Theorem 1)".into(),
            holds: closed_form.iter().all(|&x| x <= 1.0 + 1e-12),
            tested: closed_form.len(),
            violations: closed_form.iter().filter(|&&x| x > 1.0 + 1e-12).count(),
            worst: closed_form.iter().copied().fold(None, stats::fold_max),
            bound: 1.0,
        },
    ]
}

/// How far the authors' estimator is from the exact sharpness, at first or last points.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EstimatorGap {
    pub point: String,
    pub runs: usize,
    /// Median and largest |estimate − S|/|S|.
    pub median_rel_gap: f64,
    pub max_rel_gap: f64,
    pub over_1_percent: usize,
    pub over_10_percent: usize,
    /// Runs where |λ_min| > λ_max, so a magnitude estimator tracks a negative eigenvalue.
    pub negative_dominant: usize,
    pub worst: Option<WorstGap>,
}

/// The run with the largest relative gap.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorstGap {
    pub depth: usize,
    pub eta: f64,
    pub scale: f64,
    pub rep: usize,
    pub exact: f64,
    pub min_eig: f64,
    pub estimate: f64,
}

/// Estimator gaps at initialisation and at the last point (non-diverged runs).
pub fn estimator_gaps(data: &ExperimentData) -> Vec<EstimatorGap> {
    ["init", "final"]
        .into_iter()
        .map(|which| {
            let pts: Vec<(&Run, f64, f64, f64)> = data
                .runs
                .iter()
                .filter(|r| which == "init" || !r.diverged())
                .map(|r| {
                    let p = if which == "init" { r.init } else { r.last };
                    (r, p.sharpness, p.min_eig, p.power20)
                })
                .collect();
            let gaps: Vec<f64> =
                pts.iter().map(|(_, s, _, e)| (e - s).abs() / s.abs().max(f64::MIN_POSITIVE)).collect();
            let worst = gaps.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| {
                let (r, s, m, e) = pts[i];
                WorstGap {
                    depth: r.config.depth,
                    eta: r.config.eta,
                    scale: r.config.scale,
                    rep: r.config.rep,
                    exact: s,
                    min_eig: m,
                    estimate: e,
                }
            });
            EstimatorGap {
                point: which.into(),
                runs: pts.len(),
                median_rel_gap: median(&gaps),
                max_rel_gap: gaps.iter().copied().fold(0.0, f64::max),
                over_1_percent: gaps.iter().filter(|&&g| g > 0.01).count(),
                over_10_percent: gaps.iter().filter(|&&g| g > 0.1).count(),
                negative_dominant: pts.iter().filter(|(_, s, m, _)| -m > *s).count(),
                worst,
            }
        })
        .collect()
}

/// Figure 6: log10(test − train risk) against log10(final sharpness) at one learning rate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GapFit {
    pub eta: f64,
    /// Runs used (not diverged, positive gap) and dropped (gap ≤ 0 or diverged).
    pub used: usize,
    pub dropped: usize,
    /// Fit on the exact sharpness.
    pub fit: Option<LinearFit>,
    /// The same fit with the authors' estimator on the x axis (their plot).
    pub fit_authors_estimator: Option<LinearFit>,
}

/// (final sharpness, generalisation gap) of the runs at `eta` that did not diverge.
pub fn gap_points(data: &ExperimentData, eta: f64) -> Vec<(f64, f64, f64)> {
    data.runs
        .iter()
        .filter(|r| r.config.eta == eta && !r.diverged())
        .map(|r| (r.last.sharpness, r.last.power20, r.last.test_loss - r.last.train_loss))
        .collect()
}

/// The log–log fit of Figure 6 at `eta`.
pub fn gap_fit(data: &ExperimentData, eta: f64) -> GapFit {
    let pts = gap_points(data, eta);
    let total = data.runs.iter().filter(|r| r.config.eta == eta).count();
    let ok: Vec<&(f64, f64, f64)> = pts.iter().filter(|p| p.2 > 0.0 && p.0 > 0.0).collect();
    let exact: Vec<(f64, f64)> = ok.iter().map(|p| (p.0.log10(), p.2.log10())).collect();
    let est: Vec<(f64, f64)> = ok.iter().filter(|p| p.1 > 0.0).map(|p| (p.1.log10(), p.2.log10())).collect();
    GapFit {
        eta,
        used: ok.len(),
        dropped: total - ok.len(),
        fit: LinearFit::fit(&exact),
        fit_authors_estimator: LinearFit::fit(&est),
    }
}
