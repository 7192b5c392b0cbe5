//! Figure data (for `dlncheck figures`; pure functions returning plain structs): the flows of
//! the Jacot et al. figures (jgshg-staircase, jgshg-escape) on the instance and with the settings of the jgshg.saddle_to_saddle spec
//! ([`SaddleSpec`]).

use super::saddle::SaddleSpec;
use super::{LowRankError, denoising_instance, plateau_levels, staircase};

/// Loss and numerical rank of A along one gradient flow.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StaircaseFigure {
    pub depth: usize,
    pub sigma: Vec<f64>,
    pub plateau_levels: Vec<f64>,
    pub small: TrajectoryData,
    pub large: TrajectoryData,
}

/// Feeds the staircase figure: the spec's instance (Y dim × dim with singular values σ, hidden
/// width w, the seed's direction Z, [`denoising_instance`]) at depth L from θ_0 = ε_small·Z
/// (e.g. 10⁻⁶ for L = 2, 10⁻² for L = 3) and ε_large·Z (e.g. 0.5 ≳ 1/√6). Cost: two gradient
/// flows, well under a second.
pub fn staircase_figure(
    spec: &SaddleSpec,
    depth: usize,
    eps_small: f64,
    eps_large: f64,
    seed: u64,
) -> Result<StaircaseFigure, LowRankError> {
    let sigma = spec.sigma.clone();
    let inst = denoising_instance(spec.dim, spec.width, depth, &sigma, seed);
    let opts = spec.flow.staircase_options(&sigma);
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

/// Escape times of every target mode at one depth, for several ε.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EscapeSeries {
    pub depth: usize,
    pub sigma: Vec<f64>,
    /// The scales, descending.
    pub eps: Vec<f64>,
    /// escape_times[j][i]: mode i at eps[j] (u_iᵀAv_i crossing rank_cutoff·σ_min); None if the run did
    /// not learn it within the time budget.
    pub escape_times: Vec<Vec<Option<f64>>>,
}

/// Feeds the escape-time figure: escape time vs ε per depth (log–log axes for L ≥ 3, where the
/// slope is −(L−2); t against log(1/ε) for L = 2, slope 1/σ_i), `n_eps` ≥ 2 scales over the
/// spec's ε range ([`super::saddle::EpsRange::grid`]) on its instance. Cost: n_eps gradient flows
/// per depth, about 0.1–1 s each for L ≤ 4.
pub fn escape_time_figure(
    spec: &SaddleSpec,
    depths: &[usize],
    n_eps: usize,
    seed: u64,
) -> Result<Vec<EscapeSeries>, LowRankError> {
    assert!(n_eps >= 2);
    let sigma = spec.sigma.clone();
    let opts = spec.flow.staircase_options(&sigma);
    depths
        .iter()
        .map(|&depth| {
            let inst = denoising_instance(spec.dim, spec.width, depth, &sigma, seed);
            let eps = spec.eps.grid(depth, n_eps);
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
