//! Low-rank biases of deep linear networks (Jacot, Ged, Şimşek, Hongler, Gabriel 2021, v1): the
//! DLN-specific mathematics behind the `jgshg.*` claims and the data of their figures.
//!
//! Notation: A = W_L⋯W_1 (L = depth), hidden width w, D_ℓ = W_{ℓ+1}ᵀW_{ℓ+1} − W_ℓW_ℓᵀ the
//! imbalance at hidden layer ℓ, λ the L2 coefficient of (λ/2)Σ_ℓ‖W_ℓ‖²_F. Layers are
//! `Vec<Mat<f64>>`, W_1 first (as [`crate::engine::model::Dln::trained_weights`] returns them).
//! Everything here is deterministic in its inputs (random draws come from a caller's generator).

//!
//! | file | topic |
//! |---|---|
//! | [`scalar`] | the per-mode scalar problem g(s) and its thresholds on σ |
//! | [`rank`] | singular values, numerical ranks, the Schatten penalty L·Σσ_i^{2/L} |
//! | [`factors`] | truncated SVD, balanced factorisations, products, imbalances D_ℓ |
//! | [`gauge`] | gauge moves G_ℓW_ℓG_{ℓ−1}⁻¹, descent along the orbit, orbit tangents |
//! | [`critical`] | the Hessian modulo the gauge orbit, Newton polishing of critical points |
//! | [`ntk`] | the lazy regime: NTK initialisation, kernel scale κ, the linear model |
//! | [`denoising`] | targets of a given spectrum, the denoising instance θ_0 = εZ |
//! | [`flow`] | gradient-flow snapshots, the loss/rank staircase, escape times |
//! | [`saddle`] | the saddle-to-saddle analysis: settings, ε grid, plateaus matched to saddles, one run's facts |
//! | [`figure_data`] | the data of the saddle-to-saddle figures |

pub mod critical;
pub mod denoising;
pub mod factors;
pub mod figure_data;
pub mod flow;
pub mod gauge;
pub mod ntk;
pub mod rank;
pub mod saddle;
pub mod scalar;

pub use critical::{GaugeHessian, hessian_modulo_gauge, newton_polish};
pub use denoising::{DenoisingInstance, denoising_instance, geometric_spectrum, target_with_spectrum};
pub use factors::{balanced_factors, imbalance, product, sum_sq_norms, truncated_svd};
pub use figure_data::{EscapeSeries, StaircaseFigure, TrajectoryData, escape_time_figure, staircase_figure};
pub use flow::{Snapshot, Staircase, StaircaseOptions, flow_snapshots, geometric_times, staircase};
pub use gauge::{
    Gauge, GaugeDescent, apply_gauge, gauge_descent, orthogonal_gauge_tangents, random_gauge, sym_exp,
};
pub use ntk::{linear_model, ntk_init, ntk_scale};
pub use rank::{numerical_rank, rank_above, schatten_penalty, singular_values};
pub use saddle::{
    EpsRange, FlowSettings, Plateau, PlateauRule, RunAnalysis, SaddlePlateau, SaddleSpec, detect_plateaus,
    plateau_levels, saddle_plateaus,
};
pub use scalar::{ScalarCritical, ScalarProblem, Thresholds, thresholds, thresholds_numerical};

use faer::Mat;

/// A failure of a computation in this module (not a violated claim).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LowRankError {
    #[error("gradient flow diverged at t = {0}")]
    Diverged(f64),
    #[error("{0}")]
    Invalid(String),
}

/// M ← (M + Mᵀ)/2, in place (removes the rounding asymmetry of a product meant to be symmetric).
fn symmetrize(m: &mut Mat<f64>) {
    for i in 0..m.nrows() {
        for j in 0..i {
            let s = 0.5 * (m[(i, j)] + m[(j, i)]);
            m[(i, j)] = s;
            m[(j, i)] = s;
        }
    }
}
