//! jgshg.lazy: from NTK-scaled initialisation (entries N(0, 1/fan_in)) the end-to-end map follows
//! the infinite-width linear model within O(w^{−1/2}); in matrix completion the unobserved
//! entries stay near their initial values (no low-rank bias).
//!
//! One instance (depth L, base width w): a rank-`rank` target Y (dim × dim, Y = G_1G_2/√rank with
//! Gaussian G's), for completion a random mask observing each entry with probability `observed`
//! (redrawn until its row–column graph is connected, so that the rank-1 completion is unique). For each width w' ∈ {w, 4w}: θ_0 by
//! [`lowrank::ntk_init`], gradient flow (tolerance `gf_tol`) with snapshots at
//! t_j = τ_j/κ, τ_j = τ_max·j/`snapshots`, κ = 1 + (L−1)w'/dim ([`lowrank::ntk_scale`]), and
//! dev(w') = max_j ‖A(t_j) − A_lin(τ_j)‖_F with A_lin the linear model
//! ([`lowrank::linear_model`]: observed entries relax as e^{−τ}, unobserved ones never move).
//! Measured constants C(w') = √w'·dev(w')/‖P_Ω(Y − A_0)‖_F and, for completion,
//! C_unobs(w') = √w'·max_j ‖P_Ω^c(A(t_j) − A_0)‖_F/‖P_Ω^c(Y − A_0)‖_F (the fraction of the way
//! to the target covered on unobserved entries); all must be ≤ `c_max`. The exponent
//! log(dev(4w)/dev(w))/log 4 is reported (−½ expected).
//! Tightness: c_max / max C.
//!
//! Control `small_init` (completion): entries N(0, `small_std`²) at widths w and 4w, gradient
//! flow until the loss is ≤ 1e−8·‖P_Ω Y‖² (within `small_t_max`): the unobserved entries travel
//! all the way to a low-rank completion (fraction ≈ 1, so C_unobs ≈ √w' exceeds c_max); the
//! relative recovery error ‖A − Y‖_F/‖Y‖_F is reported. The spec runs it at a width with
//! √w > c_max, so that it fails at both widths through the fraction (lazy training keeps it
//! ≤ c_max/√w), not only through the factor √(4w).

use crate::engine::model::Dln;
use crate::engine::objective::Objective;
use crate::engine::problem::Problem;
use crate::engine::rng::{self, Rng, Stream, stream_rng};
use crate::engine::train::{self, GfOptions, Outcome, Stop};
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param};
use crate::lowrank;
use faer::Mat;

pub struct Lazy;

const PARAMS: &[Param] = &[
    Param::int("depth", 2, "number of layers L"),
    Param::int("width", 1, "base hidden width w (also run at 4w)"),
    Param::int("dim", 2, "d_in = d_out"),
    Param::choice("task", &["denoising", "completion"], "½‖A − Y‖² or ½‖P_Ω(A − Y)‖²"),
    Param::positive("observed", "probability that an entry is observed (completion)"),
    Param::int("rank", 1, "rank of the target"),
    Param::positive("tau_max", "horizon in the linear model's time τ = κt"),
    Param::int("snapshots", 1, "number of comparison times"),
    Param::positive("c_max", "bound on the measured constants C = √w·deviation"),
    Param::positive("gf_tol", "gradient-flow tolerance"),
    Param::positive("small_std", "entry std of the small initialisation (control)"),
    Param::positive("small_t_max", "time budget of the small-initialisation run (control)"),
];

/// The target and (for completion) the mask of one instance.
pub fn task(
    dim: usize,
    rank: usize,
    completion: bool,
    observed: f64,
    rng: &mut Rng,
) -> (Mat<f64>, Option<Mat<f64>>) {
    let g1 = rng::normals(rng, dim * rank);
    let g2 = rng::normals(rng, rank * dim);
    let norm = (rank as f64).sqrt();
    let y = Mat::from_fn(dim, dim, |i, j| {
        (0..rank).map(|m| g1[i * rank + m] * g2[m * dim + j]).sum::<f64>() / norm
    });
    if !completion {
        return (y, None);
    }
    loop {
        let draws: Vec<f64> = (0..dim * dim).map(|_| rand::RngExt::random::<f64>(rng)).collect();
        let mask = Mat::from_fn(dim, dim, |i, j| if draws[i * dim + j] < observed { 1.0 } else { 0.0 });
        let some_hidden = (0..dim).any(|i| (0..dim).any(|j| mask[(i, j)] == 0.0));
        if some_hidden && connected(&mask) {
            return (y, Some(mask));
        }
    }
}

/// Whether the bipartite graph of rows and columns joined by observed entries is connected (then
/// every row and column is observed and a generic rank-1 target is the unique rank-1
/// completion; otherwise the completion is not identifiable and the control could not recover
/// it). Breadth-first search, O(rows·cols).
fn connected(mask: &Mat<f64>) -> bool {
    let (r, c) = (mask.nrows(), mask.ncols());
    // Nodes 0..r are rows, r..r + c columns.
    let mut seen = vec![false; r + c];
    let mut stack = vec![0];
    seen[0] = true;
    while let Some(n) = stack.pop() {
        let next: Vec<usize> = if n < r {
            (0..c).filter(|&j| mask[(n, j)] == 1.0).map(|j| r + j).collect()
        } else {
            (0..r).filter(|&i| mask[(i, n - r)] == 1.0).collect()
        };
        for m in next {
            if !seen[m] {
                seen[m] = true;
                stack.push(m);
            }
        }
    }
    seen.iter().all(|&s| s)
}

/// ‖P_Ω^c(A − A_0)‖_F / ‖P_Ω^c(Y − A_0)‖_F: the fraction of the way from the initial values to
/// the target covered on the unobserved entries (0 for the linear model, ≈ 1 when a low-rank
/// target is recovered).
pub fn unobserved_fraction(a: &Mat<f64>, a0: &Mat<f64>, y: &Mat<f64>, mask: &Mat<f64>) -> f64 {
    let (mut moved, mut gap) = (0.0, 0.0);
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            if mask[(i, j)] == 0.0 {
                moved += (a[(i, j)] - a0[(i, j)]).powi(2);
                gap += (y[(i, j)] - a0[(i, j)]).powi(2);
            }
        }
    }
    (moved / gap).sqrt()
}

fn problem_for(
    dim: usize,
    width: usize,
    depth: usize,
    y: &Mat<f64>,
    mask: &Option<Mat<f64>>,
) -> Result<Problem, ClaimError> {
    let objective = match mask {
        None => Objective::Matrix { target: y.clone() },
        Some(m) => Objective::Completion { target: y.clone(), mask: m.clone() },
    };
    Problem::new(Dln::deep(dim, width, dim, depth), objective).map_err(|e| ClaimError(e.to_string()))
}

/// Deviations from the linear model at one width: (max_t ‖A − A_lin‖_F relative to the linear
/// model's total move ‖P_Ω(Y − A_0)‖_F, max_t [`unobserved_fraction`]).
pub fn lazy_deviation(
    problem: &Problem,
    theta0: &[f64],
    taus: &[f64],
    kappa: f64,
    gf_tol: f64,
) -> Result<(f64, f64), ClaimError> {
    let (y, mask) = match &problem.objective {
        Objective::Matrix { target } => (target.clone(), None),
        Objective::Completion { target, mask } => (target.clone(), Some(mask.clone())),
        Objective::Regression(_) => return Err(ClaimError("regression objective".into())),
    };
    let times: Vec<f64> = taus.iter().map(|t| t / kappa).collect();
    let snaps = lowrank::flow_snapshots(problem, theta0, &times, gf_tol, |_| false)?;
    let a0 = problem.model.end_to_end(theta0);
    // The size of the linear model's total move, ‖P_Ω(Y − A_0)‖_F.
    let scale =
        lowrank::linear_model(a0.as_ref(), y.as_ref(), mask.as_ref().map(|m| m.as_ref()), f64::INFINITY);
    let scale = (&scale - &a0).norm_l2();
    let (mut dev, mut unobs): (f64, f64) = (0.0, 0.0);
    for s in &snaps[1..] {
        let a = problem.model.end_to_end(&s.theta);
        let lin =
            lowrank::linear_model(a0.as_ref(), y.as_ref(), mask.as_ref().map(|m| m.as_ref()), s.t * kappa);
        dev = dev.max((&a - &lin).norm_l2());
        if let Some(m) = &mask {
            unobs = unobs.max(unobserved_fraction(&a, &a0, &y, m));
        }
    }
    Ok((dev / scale, unobs))
}

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        SmallInit = "small_init",
    }
}

impl ClaimCode for Lazy {
    type Control = Control;

    fn id(&self) -> &'static str {
        "jgshg.lazy"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let (depth, width, dim) = (point.usize("depth"), point.usize("width"), point.usize("dim"));
        let completion = point.str("task") == "completion";
        let rank = point.usize("rank");
        if rank > dim {
            return Err(ClaimError(format!("rank {rank} > dim {dim}")));
        }
        let (y, mask) =
            task(dim, rank, completion, point.f64("observed"), &mut stream_rng(seed, Stream::Data));
        let c_max = point.f64("c_max");
        let gf_tol = point.f64("gf_tol");
        let mut init = stream_rng(seed, Stream::Init);
        match case {
            Case::Claim => {}
            Case::Control(Control::SmallInit) => {
                let Some(mask) = &mask else {
                    return Err(ClaimError("small_init needs task = completion".into()));
                };
                let observed_sq: f64 = (0..dim)
                    .flat_map(|i| (0..dim).map(move |j| (i, j)))
                    .map(|(i, j)| mask[(i, j)] * y[(i, j)].powi(2))
                    .sum();
                let mut opts = GfOptions::new(point.f64("small_t_max"), gf_tol);
                opts.stop = Stop { excess_loss: Some(1e-8 * observed_sq), grad_norm: None };
                let mut out = Vec::new();
                for w in [width, 4 * width] {
                    let problem = problem_for(dim, w, depth, &y, &Some(mask.clone()))?;
                    let theta0 =
                        crate::engine::init::gaussian(&problem.model, point.f64("small_std"), &mut init);
                    let res = train::gradient_flow(&problem, &theta0, &opts);
                    if res.outcome != Outcome::Converged {
                        return Ok(Measurement::not_converged(format!(
                            "small initialisation at width {w}: loss {:.3e} after t = {:.3e} ({:?})",
                            res.last.loss, res.time, res.outcome
                        )));
                    }
                    let a0 = problem.model.end_to_end(&theta0);
                    let a = problem.model.end_to_end(&res.theta);
                    let frac = unobserved_fraction(&a, &a0, &y, mask);
                    let recovery = (&a - &y).norm_l2() / y.norm_l2();
                    let rank = lowrank::numerical_rank(&lowrank::singular_values(a.as_ref()), 1e-3);
                    out.push(((w as f64).sqrt() * frac, frac, recovery, rank));
                }
                let c = out[0].0.max(out[1].0);
                let recovery = out[0].2.max(out[1].2);
                return Ok(Measurement::from_tightness(c_max / c, 0.0)
                    .value("c_unobserved_width", out[0].0)
                    .value("c_unobserved_4width", out[1].0)
                    .value("unobserved_fraction_width", out[0].1)
                    .value("unobserved_fraction_4width", out[1].1)
                    .value("recovery_rel_error", recovery)
                    .value("final_rank_width", out[0].3 as f64)
                    .value("final_rank_4width", out[1].3 as f64)
                    .note(format!(
                        "small initialisation completes the rank-{rank} target to relative error {recovery:.2e}"
                    )));
            }
        }
        let n = point.usize("snapshots");
        let tau_max = point.f64("tau_max");
        let taus: Vec<f64> = (1..=n).map(|j| tau_max * j as f64 / n as f64).collect();
        let mut results = Vec::new();
        for w in [width, 4 * width] {
            let problem = problem_for(dim, w, depth, &y, &mask)?;
            let theta0 = lowrank::ntk_init(&problem, &mut init);
            let kappa = lowrank::ntk_scale(dim, w, depth);
            let (dev, unobs) = lazy_deviation(&problem, &theta0, &taus, kappa, gf_tol)?;
            let sw = (w as f64).sqrt();
            results.push((dev, sw * dev, sw * unobs));
        }
        let c_worst = results.iter().map(|r| r.1.max(r.2)).fold(0.0f64, f64::max);
        let exponent = (results[1].0 / results[0].0).ln() / 4f64.ln();
        let mut m = Measurement::from_tightness(c_max / c_worst, 0.0)
            .value("c_width", results[0].1)
            .value("c_4width", results[1].1)
            .value("deviation_width", results[0].0)
            .value("deviation_4width", results[1].0)
            .value("exponent", exponent);
        if completion {
            m = m.value("c_unobserved_width", results[0].2).value("c_unobserved_4width", results[1].2);
        }
        Ok(m)
    }
}
