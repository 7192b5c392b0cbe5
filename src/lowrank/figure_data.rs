//! Figure data (for `dlncheck figures`; pure functions returning plain structs).

use super::{LowRankError, StaircaseOptions, denoising_instance, plateau_levels, staircase};

/// The instance behind the figures: Y (5 × 5) of rank 3 with σ = (4, 2, 1), width 6, seed's
/// direction Z ([`denoising_instance`]); rank = singular values above 0.1·σ_3.
pub const FIGURE_SIGMA: [f64; 3] = [4.0, 2.0, 1.0];
pub const FIGURE_DIM: usize = 5;
pub const FIGURE_WIDTH: usize = 6;

/// The [`staircase`] settings of the figures: snapshots from t = 10⁻² on a geometric grid of
/// factor 1.03 (to t_max = 10⁵), rank threshold 0.1·σ_min, stop once the loss is
/// ≤ 10⁻³·½σ_min² (σ descending).
pub fn figure_options(sigma: &[f64]) -> StaircaseOptions {
    let smin = sigma[sigma.len() - 1];
    StaircaseOptions {
        t_first: 1e-2,
        growth: 1.03,
        t_max: 1e5,
        tol: 1e-10,
        rank_threshold: 0.1 * smin,
        stop_loss: 1e-3 * 0.5 * smin * smin,
        max_refine: 4,
    }
}

/// Loss and numerical rank of A along one gradient flow.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TrajectoryData {
    /// Initialisation scale (θ_0 = εZ).
    pub eps: f64,
    pub times: Vec<f64>,
    pub loss: Vec<f64>,
    pub rank: Vec<usize>,
}

/// Data of the saddle-to-saddle staircase figure (jgshg.saddle_to_saddle): loss and rank vs time
/// (log time axis) from a small and a large initialisation, with the plateau levels
/// ½Σ_{i>k}σ_i² as horizontal lines.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StaircaseFigure {
    pub depth: usize,
    pub sigma: Vec<f64>,
    pub plateau_levels: Vec<f64>,
    pub small: TrajectoryData,
    pub large: TrajectoryData,
}

/// Feeds the staircase figure: the [`FIGURE_SIGMA`] instance at depth L from θ_0 = ε_small·Z
/// (e.g. 10⁻⁶ for L = 2, 10⁻² for L = 3) and ε_large·Z (e.g. 0.5 ≳ 1/√6). Cost: two gradient
/// flows, well under a second.
pub fn staircase_figure(
    depth: usize,
    eps_small: f64,
    eps_large: f64,
    seed: u64,
) -> Result<StaircaseFigure, LowRankError> {
    let sigma = FIGURE_SIGMA.to_vec();
    let inst = denoising_instance(FIGURE_DIM, FIGURE_WIDTH, depth, &sigma, seed);
    let opts = figure_options(&sigma);
    let traj = |eps: f64| -> Result<TrajectoryData, LowRankError> {
        let theta0: Vec<f64> = inst.direction.iter().map(|x| eps * x).collect();
        let st = staircase(&inst.problem, &theta0, &opts)?;
        Ok(TrajectoryData { eps, times: st.times, loss: st.loss, rank: st.rank })
    };
    Ok(StaircaseFigure {
        depth,
        plateau_levels: plateau_levels(&sigma),
        small: traj(eps_small)?,
        large: traj(eps_large)?,
        sigma,
    })
}

/// The ε range of the escape-time fits (as in properties/jgshg.saddle_to_saddle.yaml):
/// 10⁻⁶..10⁻⁹ for L = 2, and ε^{L−2} from 5·10⁻⁴ down to 5·10⁻⁵ for L ≥ 3 (escape times up to
/// ~2·10⁴ time units). Larger ε is pre-asymptotic for L ≥ 3: two modes can escape together.
pub fn escape_eps_range(depth: usize) -> (f64, f64) {
    if depth == 2 {
        (1e-6, 1e-9)
    } else {
        let p = 1.0 / (depth as f64 - 2.0);
        (5e-4f64.powf(p), 5e-5f64.powf(p))
    }
}

/// Escape times of every target mode at one depth, for several ε.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EscapeSeries {
    pub depth: usize,
    pub sigma: Vec<f64>,
    /// The scales, descending.
    pub eps: Vec<f64>,
    /// escape_times[j][i]: mode i at eps[j] (u_iᵀAv_i crossing 0.1·σ_min); None if the run did
    /// not learn it within the time budget.
    pub escape_times: Vec<Vec<Option<f64>>>,
}

/// Feeds the escape-time figure: escape time vs ε per depth (log–log axes for L ≥ 3, where the
/// slope is −(L−2); t against log(1/ε) for L = 2, slope 1/σ_i), `n_eps` ≥ 2 scales over
/// [`escape_eps_range`] on the [`FIGURE_SIGMA`] instance. Cost: n_eps gradient flows per depth,
/// about 0.1–1 s each for L ≤ 4.
pub fn escape_time_figure(
    depths: &[usize],
    n_eps: usize,
    seed: u64,
) -> Result<Vec<EscapeSeries>, LowRankError> {
    assert!(n_eps >= 2);
    let sigma = FIGURE_SIGMA.to_vec();
    let opts = figure_options(&sigma);
    depths
        .iter()
        .map(|&depth| {
            let inst = denoising_instance(FIGURE_DIM, FIGURE_WIDTH, depth, &sigma, seed);
            let (hi, lo) = escape_eps_range(depth);
            let eps: Vec<f64> =
                (0..n_eps).map(|i| hi * (lo / hi).powf(i as f64 / (n_eps - 1) as f64)).collect();
            let escape_times = eps
                .iter()
                .map(|&e| {
                    let theta0: Vec<f64> = inst.direction.iter().map(|x| e * x).collect();
                    let st = staircase(&inst.problem, &theta0, &opts)?;
                    Ok(st.mode_escape_times(inst.u.as_ref(), inst.v.as_ref(), opts.rank_threshold))
                })
                .collect::<Result<Vec<_>, LowRankError>>()?;
            Ok(EscapeSeries { depth, sigma: sigma.clone(), eps, escape_times })
        })
        .collect()
}
