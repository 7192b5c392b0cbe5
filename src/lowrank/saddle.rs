//! The saddle-to-saddle analysis (Jacot et al. 2021, regime (1b)), written once for the
//! jgshg.saddle_to_saddle claim and the Jacot et al. figures (jgshg-staircase, jgshg-escape): the staircase settings of a run, the ε grid,
//! loss plateaus matched to the saddle levels ½Σ_{i∉S}σ_i² of learned sets S, and what one run
//! shows. The settings are the values of the property's spec (`properties/jgshg.saddle_to_saddle.yaml`);
//! only the constants below, which the spec does not set, live here.

use super::{DenoisingInstance, Staircase, StaircaseOptions};
use serde::Serialize;

/// First snapshot time of every run.
pub const T_FIRST: f64 = 1e-2;
/// A run stops once its loss is at most `STOP_FRACTION`·½σ_r² (at twice the time it got there).
pub const STOP_FRACTION: f64 = 1e-3;
/// Intervals where the rank jumps by more than one are split in 8, at most this many times.
pub const MAX_REFINE: usize = 4;
/// A plateau ends after at least this factor times its start (long in log time too).
pub const PLATEAU_MIN_RATIO: f64 = 1.05;
/// Losses at most `PLATEAU_FLOOR_FRACTION`·½σ_r² (the converged tail) are never a plateau.
pub const PLATEAU_FLOOR_FRACTION: f64 = 1e-2;

/// The gradient-flow settings of a run (the spec's `t_max`, `growth`, `gf_tol`, `rank_cutoff`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlowSettings {
    pub t_max: f64,
    /// Factor between snapshot times.
    pub growth: f64,
    pub gf_tol: f64,
    /// A singular value of A counts towards the rank when above `rank_cutoff`·σ_r.
    pub rank_cutoff: f64,
}

impl FlowSettings {
    /// The absolute rank threshold `rank_cutoff`·σ_r (σ descending).
    pub fn rank_threshold(&self, sigma: &[f64]) -> f64 {
        self.rank_cutoff * sigma[sigma.len() - 1]
    }

    /// The [`super::staircase`] options for the target spectrum σ (descending): snapshots at
    /// [`T_FIRST`]·growth^j up to t_max, stop at loss ≤ [`STOP_FRACTION`]·½σ_r².
    pub fn staircase_options(&self, sigma: &[f64]) -> StaircaseOptions {
        StaircaseOptions {
            t_first: T_FIRST,
            growth: self.growth,
            t_max: self.t_max,
            tol: self.gf_tol,
            rank_threshold: self.rank_threshold(sigma),
            stop_loss: STOP_FRACTION * 0.5 * sigma[sigma.len() - 1].powi(2),
            max_refine: MAX_REFINE,
        }
    }
}

/// The initialisation scales of the escape-time fits (the spec's `eps_max`, `eps_min` for L = 2
/// and `eps_pow_max`, `eps_pow_min` for ε^{L−2} at L ≥ 3, so that escape times are comparable
/// across depths).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpsRange {
    pub eps_max: f64,
    pub eps_min: f64,
    pub eps_pow_max: f64,
    pub eps_pow_min: f64,
}

impl EpsRange {
    /// (largest, smallest) ε at depth L: (eps_max, eps_min) for L = 2, the (L−2)-th roots of
    /// (eps_pow_max, eps_pow_min) for L ≥ 3.
    pub fn bounds(&self, depth: usize) -> (f64, f64) {
        if depth == 2 {
            (self.eps_max, self.eps_min)
        } else {
            let p = 1.0 / (depth as f64 - 2.0);
            (self.eps_pow_max.powf(p), self.eps_pow_min.powf(p))
        }
    }

    /// `n` ≥ 2 scales, geometric from the largest down to the smallest of [`EpsRange::bounds`].
    pub fn grid(&self, depth: usize, n: usize) -> Vec<f64> {
        assert!(n >= 2, "an ε grid needs two scales");
        let (hi, lo) = self.bounds(depth);
        (0..n).map(|i| hi * (lo / hi).powf(i as f64 / (n - 1) as f64)).collect()
    }
}

/// How plateaus are found ([`detect_plateaus`]): maximal stretches of snapshots whose losses stay
/// within a factor 1 + `band`, lasting at least `min_duration` and ending after `min_ratio`·their
/// start, with losses above `floor` (1 % of the last level ½σ_r²). Each is matched to the nearest
/// saddle level ([`saddle_plateaus`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PlateauRule {
    pub band: f64,
    pub min_duration: f64,
    pub min_ratio: f64,
    pub floor: f64,
    /// Largest relative error of a plateau's level against its saddle's that the checks accept.
    pub level_tol: f64,
}

impl PlateauRule {
    /// The rule for the target spectrum σ (descending) with the spec's `plateau_band`,
    /// `plateau_duration` and `level_tol`.
    pub fn new(sigma: &[f64], band: f64, min_duration: f64, level_tol: f64) -> Self {
        PlateauRule {
            band,
            min_duration,
            min_ratio: PLATEAU_MIN_RATIO,
            floor: PLATEAU_FLOOR_FRACTION * 0.5 * sigma[sigma.len() - 1].powi(2),
            level_tol,
        }
    }

    /// The raw plateaus of a loss curve under this rule.
    pub fn detect(&self, times: &[f64], losses: &[f64]) -> Vec<Plateau> {
        detect_plateaus(times, losses, self.band, self.min_duration, self.min_ratio, self.floor)
    }
}

/// The values of the jgshg.saddle_to_saddle spec that the Jacot et al. figures (jgshg-staircase, jgshg-escape) use (read from the spec by
/// `claims::jgshg_saddle_to_saddle::figure_spec`): the grid point of the largest σ ratio, its
/// depths, and the tolerances.
#[derive(Clone, Debug, PartialEq)]
pub struct SaddleSpec {
    pub depths: Vec<usize>,
    /// d_in = d_out and the hidden width.
    pub dim: usize,
    pub width: usize,
    /// Singular values of the target, descending.
    pub sigma: Vec<f64>,
    pub eps: EpsRange,
    /// The scale of the large-initialisation control.
    pub large_eps: f64,
    pub flow: FlowSettings,
    pub plateau_band: f64,
    pub plateau_duration: f64,
    pub level_tol: f64,
    /// Relative tolerance of the fitted escape-time slopes and exponents.
    pub slope_tol: f64,
}

impl SaddleSpec {
    pub fn plateau_rule(&self) -> PlateauRule {
        PlateauRule::new(&self.sigma, self.plateau_band, self.plateau_duration, self.level_tol)
    }
}

/// A loss plateau: a stretch [start, end] of a trajectory where the loss stays within a relative
/// band of its level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plateau {
    pub start: f64,
    pub end: f64,
    /// The geometric mean of the extreme losses on the stretch.
    pub level: f64,
}

/// Plateaus of a sampled loss curve: maximal runs of consecutive samples whose max/min loss ratio
/// is at most 1 + `rel_band`, lasting at least `min_duration` and with end ≥ `min_ratio`·start
/// (long in both linear and log time, so that the start of any smooth curve does not count),
/// scanned greedily from the left. Samples with loss ≤ `floor` are never part of a plateau (the
/// converged tail). Cost O(n) per plateau found.
pub fn detect_plateaus(
    times: &[f64],
    losses: &[f64],
    rel_band: f64,
    min_duration: f64,
    min_ratio: f64,
    floor: f64,
) -> Vec<Plateau> {
    let n = times.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        if losses[i] <= floor {
            i += 1;
            continue;
        }
        let (mut lo, mut hi) = (losses[i], losses[i]);
        let mut j = i;
        while j + 1 < n {
            let v = losses[j + 1];
            let (nlo, nhi) = (lo.min(v), hi.max(v));
            if v <= floor || nhi > (1.0 + rel_band) * nlo {
                break;
            }
            lo = nlo;
            hi = nhi;
            j += 1;
        }
        let long = j > i && times[j] - times[i] >= min_duration && times[j] >= min_ratio * times[i];
        if long {
            out.push(Plateau { start: times[i], end: times[j], level: (lo * hi).sqrt() });
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// The plateau levels of noiseless denoising from small initialisation when the modes are
/// learned largest first: ½Σ_{i>k}σ_i², k = 0..r (σ descending).
pub fn plateau_levels(sigma: &[f64]) -> Vec<f64> {
    (0..=sigma.len()).map(|k| 0.5 * sigma[k..].iter().map(|s| s * s).sum::<f64>()).collect()
}

/// ½Σ_{i∉S}σ_i² for the learned set S (bit i = mode i + 1).
pub fn saddle_level(sigma: &[f64], learned: u32) -> f64 {
    0.5 * (0..sigma.len()).filter(|i| learned & (1 << i) == 0).map(|i| sigma[i].powi(2)).sum::<f64>()
}

/// The learned set S whose positive level ½Σ_{i∉S}σ_i² is nearest to `level` in relative error
/// (the first set on ties): (S, its level, the relative error). Cost O(2^r·r).
pub fn nearest_saddle(sigma: &[f64], level: f64) -> (u32, f64, f64) {
    let (mut best, mut best_level, mut best_err) = (0u32, f64::NAN, f64::INFINITY);
    for s in 0u32..(1 << sigma.len()) {
        let l = saddle_level(sigma, s);
        if l == 0.0 {
            continue;
        }
        let err = (level - l).abs() / l;
        if err < best_err {
            (best, best_level, best_err) = (s, l, err);
        }
    }
    (best, best_level, best_err)
}

/// A loss plateau matched to the saddle of a learned set S.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SaddlePlateau {
    pub start: f64,
    pub end: f64,
    /// The measured level (of the plateau's longest piece).
    pub level: f64,
    /// The learned set S as a bit mask (bit i = mode i + 1, σ descending).
    pub learned: u32,
    /// ½Σ_{i∉S}σ_i².
    pub expected: f64,
    /// Largest |level − expected|/expected over the plateau's pieces.
    pub rel_error: f64,
    /// The numerical rank at the plateau's midpoint.
    pub rank: usize,
}

impl SaddlePlateau {
    /// |S|, the number of modes learned.
    pub fn modes_learned(&self) -> usize {
        self.learned.count_ones() as usize
    }
    /// Whether S is the k largest modes, k = |S|.
    pub fn largest_learned(&self) -> bool {
        self.learned == (1u32 << self.modes_learned()) - 1
    }
}

/// The plateaus of a sampled trajectory (`times`, `loss`, numerical `rank`) under `rule`, each
/// matched to the nearest saddle level of a learned set ([`nearest_saddle`]). A plateau is the
/// time spent near one saddle: consecutive pieces at the same set (a slowly drifting plateau
/// leaves the band and re-enters it) are one plateau, with the level of its longest piece and
/// the worst level error of its pieces.
pub fn saddle_plateaus(
    times: &[f64],
    loss: &[f64],
    rank: &[usize],
    sigma: &[f64],
    rule: &PlateauRule,
) -> Vec<SaddlePlateau> {
    let mut merged: Vec<(SaddlePlateau, f64)> = Vec::new();
    for p in rule.detect(times, loss) {
        let (learned, expected, err) = nearest_saddle(sigma, p.level);
        match merged.last_mut() {
            Some((m, longest)) if m.learned == learned => {
                if p.end - p.start > *longest {
                    m.level = p.level;
                    *longest = p.end - p.start;
                }
                m.end = p.end;
                m.rel_error = m.rel_error.max(err);
            }
            _ => merged.push((
                SaddlePlateau {
                    start: p.start,
                    end: p.end,
                    level: p.level,
                    learned,
                    expected,
                    rel_error: err,
                    rank: 0,
                },
                p.end - p.start,
            )),
        }
    }
    merged
        .into_iter()
        .map(|(mut p, _)| {
            let mid = 0.5 * (p.start + p.end);
            let j = times.partition_point(|&t| t < mid).min(times.len() - 1);
            p.rank = rank[j];
            p
        })
        .collect()
}

/// Whether every mode escaped, in the order of the singular values (strictly increasing times).
pub fn learned_largest_first(escape_times: &[Option<f64>]) -> bool {
    let t: Option<Vec<f64>> = escape_times.iter().copied().collect();
    t.is_some_and(|t| t.windows(2).all(|w| w[0] < w[1]))
}

/// What one staircase run shows.
#[derive(Clone, Debug)]
pub struct RunAnalysis {
    pub initial_rank: usize,
    pub final_rank: usize,
    /// The successive rank changes (+1 each when one mode is learned at a time).
    pub rank_changes: Vec<i64>,
    pub plateaus: Vec<SaddlePlateau>,
    /// Escape time of each target mode i = 1..r (u_iᵀAv_i crossing the rank threshold).
    pub escape_times: Vec<Option<f64>>,
}

impl RunAnalysis {
    /// Analyses a staircase run against the target U diag(σ) Vᵀ of `target` (σ descending):
    /// ranks, [`saddle_plateaus`], per-mode escape times above `rank_threshold`.
    pub fn new(
        st: &Staircase,
        target: &DenoisingInstance,
        sigma: &[f64],
        rule: &PlateauRule,
        rank_threshold: f64,
    ) -> Self {
        RunAnalysis {
            initial_rank: st.rank[0],
            final_rank: *st.rank.last().unwrap(),
            rank_changes: st.rank_changes(),
            plateaus: saddle_plateaus(&st.times, &st.loss, &st.rank, sigma, rule),
            escape_times: st.mode_escape_times(target.u.as_ref(), target.v.as_ref(), rank_threshold),
        }
    }

    /// Whether the target's modes escaped in the order of their singular values (all escaped).
    pub fn largest_first(&self) -> bool {
        learned_largest_first(&self.escape_times)
    }
}
