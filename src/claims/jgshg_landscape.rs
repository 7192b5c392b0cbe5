//! jgshg.landscape: critical points of ½‖A − Y‖²_F + (λ/2)‖θ‖² with λ > 0, classified by the
//! exact Hessian. For L = 2 every critical point is a global minimum or a strict saddle; for
//! L ≥ 3 non-global local minima exist and the origin is a local minimum (Hessian = λI there).
//!
//! One instance: Y = U diag(σ_1, σ_2) Vᵀ (U = V = I unless `rotate`), hidden width w ≥ 2.
//! 1. Every balanced point W_ℓ = Q_ℓS^{1/L}Q_{ℓ−1}ᵀ whose per-mode values s_i are critical points
//!    of the scalar problem g_i (0, s₋, s₊; [`lowrank::ScalarProblem`]) must be critical
//!    (‖∇ℓ‖ ≤ `grad_tol`) with loss Σ_i g_i(s_i) (to `loss_tol`), and is classified by the
//!    eigenvalues of ∇²ℓ transverse to its orthogonal-gauge orbit
//!    ([`lowrank::hessian_modulo_gauge`]): local minimum if all ≥ `hess_tol`, strict saddle if one
//!    ≤ −`hess_tol`, else degenerate. Required: no degenerate point; the global minimum (each mode
//!    at argmin g_i) is a local minimum; every point with a mode at s₋ is a strict saddle; for
//!    L = 2 every other point is a strict saddle; for L ≥ 3 the Hessian at the origin is exactly
//!    λI, the origin is a non-global local minimum, and every "top-k" point (the k largest modes
//!    at s₊, the others at 0: the explicit minima of docs/notation.md, e.g. s = (2.235174, 0.840276)
//!    for L = 3, λ = 1, Y = diag(3, 1.9)) is a local minimum. Measured: how often "local minimum
//!    ⇔ top-k" holds among the points with every mode at 0 or s₊ (a mode switched off next to a
//!    smaller switched-on one is a saddle: our derivation, not the paper's).
//! 2. Gradient flow from `starts` Gaussian starts (stds geometric from `start_std_min` to
//!    `start_std_max`: large starts switch every mode on, small ones leave weak modes off or fall
//!    into the origin, so a spread finds both kinds of minima) until ‖∇ℓ‖ ≤ 100·`grad_tol`,
//!    then Newton steps ([`lowrank::newton_polish`]) to ‖∇ℓ‖ ≤ `grad_tol` (else not converged);
//!    every end point is classified the same way. Required: for L = 2 every local minimum found
//!    is global (loss within `loss_tol`); for L ≥ 3, when item 1 found a non-global local minimum
//!    other than the origin, the search finds one too. (Skipped in the `no_l2` control.)
//!
//! A structural claim: no tightness (`None`); holds iff every requirement holds
//! ([`Margins`]); the smallest |transverse eigenvalue| met is reported.

use crate::engine::model::Dln;
use crate::engine::objective::Objective;
use crate::engine::problem::Problem;
use crate::engine::rng::{Stream, stream_rng};
use crate::engine::train::{self, GfOptions, Outcome, Stop};
use crate::framework::margins::Margins;
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param};
use crate::lowrank::{self, ScalarProblem};
use faer::Mat;

pub struct Landscape;

const PARAMS: &[Param] = &[
    Param::int("depth", 2, "number of layers L"),
    Param::int("width", 2, "hidden width w"),
    Param::positive("l2", "L2 coefficient λ > 0"),
    Param::positive("sigma1", "first singular value of Y"),
    Param::positive("sigma2", "second singular value of Y (≠ sigma1)"),
    Param::boolean("rotate", "Y = U diag(σ) Vᵀ with Haar-random U, V (else diagonal)"),
    Param::int("starts", 0, "random starts of the search"),
    Param::positive("start_std_min", "smallest std of the Gaussian search starts"),
    Param::positive(
        "start_std_max",
        "largest std of the Gaussian search starts (geometric spread across starts)",
    ),
    Param::positive("t_max", "time budget of each search run"),
    Param::positive("grad_tol", "gradient norm of a critical point"),
    Param::positive("hess_tol", "eigenvalues within ±hess_tol (transverse to the gauge orbit) count as zero"),
    Param::positive("loss_tol", "tolerance on losses"),
    Param::positive("gf_tol", "gradient-flow tolerance of the search"),
];

/// How a critical point classifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    LocalMin,
    StrictSaddle,
    Degenerate,
}

/// One classified critical point.
#[derive(Clone, Debug)]
pub struct Classified {
    pub loss: f64,
    pub grad_norm: f64,
    pub kind: Kind,
    pub min_transverse: f64,
}

/// Gradient norm, loss and Hessian class of θ (transverse to the orthogonal gauge orbit).
pub fn classify(problem: &Problem, theta: &[f64], hess_tol: f64) -> Classified {
    let (loss, g) = problem.loss_and_gradient(theta);
    let gh = lowrank::hessian_modulo_gauge(problem, theta);
    let min_t = gh.transverse.first().copied().unwrap_or(f64::INFINITY);
    let kind = if min_t >= hess_tol {
        Kind::LocalMin
    } else if min_t <= -hess_tol {
        Kind::StrictSaddle
    } else {
        Kind::Degenerate
    };
    Classified { loss, grad_norm: crate::engine::linalg::norm(&g), kind, min_transverse: min_t }
}

/// One balanced point of item 1: the per-mode values s = (s_1, s_2), each a critical point of
/// its scalar problem (0, s₋ or s₊), and what they are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    pub s: [f64; 2],
    /// A mode sits at s₋.
    pub at_minus: bool,
    /// Every mode at 0 or s₊ (the points the top-k rule speaks of).
    pub on_off: bool,
    /// A "top-k" point: the k modes of largest σ at s₊, the others at 0 (k = 0: the origin).
    pub top_k: bool,
}

/// Every combination of the two modes' critical values, mode 1's outermost, each in the order
/// 0, s₋, s₊ (those that exist): 4 points for L = 2 with both σ_i > λ, 9 for L ≥ 3 when both
/// modes have s₋ and s₊.
pub fn candidates(scalar: &[ScalarProblem]) -> Vec<Candidate> {
    let crit: Vec<_> = scalar.iter().map(|g| g.critical_points()).collect();
    let values = |i: usize| {
        let c = crit[i];
        std::iter::once((0.0, false)).chain(c.minus.map(|s| (s, true))).chain(c.plus.map(|s| (s, false)))
    };
    // Modes by decreasing σ.
    let by_sigma = if scalar[0].sigma >= scalar[1].sigma { [0, 1] } else { [1, 0] };
    let mut out = Vec::new();
    for (s1, m1) in values(0) {
        for (s2, m2) in values(1) {
            let s = [s1, s2];
            let on = |i: usize| Some(s[i]) == crit[i].plus;
            let k = by_sigma.iter().take_while(|&&i| on(i)).count();
            out.push(Candidate {
                s,
                at_minus: m1 || m2,
                on_off: (0..2).all(|i| s[i] == 0.0 || on(i)),
                top_k: by_sigma[k..].iter().all(|&i| s[i] == 0.0),
            });
        }
    }
    out
}

/// What item 1's requirements need to know of one enumerated critical point besides its
/// smallest transverse Hessian eigenvalue.
#[derive(Clone, Copy, Debug)]
pub struct PointFacts {
    /// The network's depth L.
    pub depth: usize,
    /// Its loss is the global minimum (to `loss_tol`).
    pub is_global: bool,
    /// A mode sits at s₋ (the scalar problem's local maximum, L ≥ 3).
    pub at_minus: bool,
    /// A "top-k" point: the k largest modes at s₊, the others at 0.
    pub top_k: bool,
}

/// Item 1's requirements on one enumerated point, from its smallest transverse eigenvalue
/// `min_t`: non-degenerate (|min_t| ≥ hess_tol); the global minimum is a local minimum
/// (min_t ≥ hess_tol); a point with a mode at s₋ is a strict saddle (min_t ≤ −hess_tol); for
/// L = 2 every non-global point is a strict saddle; for L ≥ 3 every top-k point is a local
/// minimum (the origin, k = 0, among them).
pub fn judge_point(p: &PointFacts, min_t: f64, hess_tol: f64, checks: &mut Margins) {
    let (minimum, saddle) = (min_t >= hess_tol, min_t <= -hess_tol);
    checks.require("non-degenerate", minimum || saddle);
    if p.is_global {
        checks.require("global minimum is a local minimum", minimum);
    }
    if p.at_minus {
        checks.require("s₋ points are strict saddles", saddle);
    }
    if p.depth == 2 && !p.is_global {
        checks.require("L = 2: non-global points are strict saddles", saddle);
    }
    if p.depth >= 3 && p.top_k {
        checks.require("L ≥ 3: top-k points are local minima", minimum);
    }
}

/// For L ≥ 3 the origin (a local minimum: ∇²ℓ(0) = λI) is not global: the global loss is below
/// the origin's Σ_i g_i(0) by more than `loss_tol`. No requirement for L = 2.
pub fn judge_origin(depth: usize, global_loss: f64, origin_loss: f64, loss_tol: f64, checks: &mut Margins) {
    if depth >= 3 {
        checks
            .require("L ≥ 3: the origin is a non-global local minimum", global_loss < origin_loss - loss_tol);
    }
}

/// Item 2's tally of the search's end points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SearchCounts {
    /// Local minima, of which `origin` at θ = 0 (‖θ‖ ≤ 1e-6) and `nonglobal` elsewhere above
    /// the global loss.
    pub minima: usize,
    pub origin: usize,
    pub nonglobal: usize,
    /// Any other end point (a strict saddle or a degenerate point).
    pub saddles: usize,
}

impl SearchCounts {
    /// Adds an end point of class `kind`, norm ‖θ‖ and loss `loss`; a local minimum away from
    /// the origin counts as non-global when its loss exceeds `global_bound` (the global loss plus
    /// `loss_tol`).
    pub fn add(&mut self, kind: Kind, theta_norm: f64, loss: f64, global_bound: f64) {
        if kind != Kind::LocalMin {
            self.saddles += 1;
            return;
        }
        self.minima += 1;
        if theta_norm <= 1e-6 {
            self.origin += 1;
        } else if loss > global_bound {
            self.nonglobal += 1;
        }
    }
    /// Item 2's requirements, when the search ran (`starts` > 0): for L = 2 it finds only global
    /// minima (neither the origin nor a non-global one); for L ≥ 3, when the enumeration found
    /// a non-global minimum other than the origin, the search finds one too.
    pub fn judge(&self, depth: usize, starts: usize, enumerated_nonglobal: usize, checks: &mut Margins) {
        if starts == 0 {
            return;
        }
        if depth == 2 {
            checks.require("L = 2: search finds only global minima", self.nonglobal == 0 && self.origin == 0);
        } else if enumerated_nonglobal >= 1 {
            checks.require("L ≥ 3: search finds a non-global minimum other than 0", self.nonglobal >= 1);
        }
    }
}

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        NoL2 = "no_l2",
    }
}

impl ClaimCode for Landscape {
    type Control = Control;

    fn id(&self) -> &'static str {
        "jgshg.landscape"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let depth = point.usize("depth");
        let width = point.usize("width");
        let mut l2 = point.f64("l2");
        match case {
            Case::Claim => {}
            Case::Control(Control::NoL2) => l2 = 0.0,
        }
        let sigma = [point.f64("sigma1"), point.f64("sigma2")];
        if sigma[0] == sigma[1] {
            return Err(ClaimError("equal singular values make the critical sets degenerate".into()));
        }
        let (grad_tol, hess_tol, loss_tol) =
            (point.f64("grad_tol"), point.f64("hess_tol"), point.f64("loss_tol"));
        let mut rot = stream_rng(seed, Stream::Rotation);
        let (y, u, v) = if point.bool("rotate") {
            lowrank::target_with_spectrum(2, 2, &sigma, &mut rot)
        } else {
            let eye = Mat::<f64>::identity(2, 2);
            let y = Mat::from_fn(2, 2, |i, j| if i == j { sigma[i] } else { 0.0 });
            (y, eye.clone(), eye)
        };
        let problem = Problem::new(Dln::deep(2, width, 2, depth), Objective::Matrix { target: y })
            .map_err(|e| ClaimError(e.to_string()))?
            .with_l2(l2);
        let scalar: Vec<ScalarProblem> = sigma.iter().map(|&s| ScalarProblem::new(s, l2, depth)).collect();
        let global_loss: f64 = scalar.iter().map(|g| g.value(g.global_minimizer())).sum();
        let mut checks = Margins::default();
        let mut worst_grad: f64 = 0.0;
        let mut worst_loss_err: f64 = 0.0;
        let (mut n_min, mut n_saddle, mut n_degenerate, mut n_nonglobal_min) = (0, 0, 0, 0);
        let (mut rule_points, mut rule_agree) = (0, 0);
        let mut origin_hessian_err = f64::NAN;
        let mut min_abs_eig = f64::INFINITY;
        let mut minim = stream_rng(seed, Stream::Minimizer);
        for cand in candidates(&scalar) {
            let s = cand.s;
            let ws = lowrank::balanced_factors(u.as_ref(), &s, v.as_ref(), depth, width, &mut minim);
            let theta = problem.model.flatten(&ws);
            let c = classify(&problem, &theta, hess_tol);
            let predicted: f64 = scalar.iter().zip(&s).map(|(g, &x)| g.value(x)).sum();
            worst_grad = worst_grad.max(c.grad_norm);
            worst_loss_err = worst_loss_err.max((c.loss - predicted).abs());
            checks.within("critical", c.grad_norm, grad_tol);
            checks.within("loss = Σ g_i(s_i)", (c.loss - predicted).abs(), loss_tol);
            min_abs_eig = min_abs_eig.min(c.min_transverse.abs());
            let is_global = (c.loss - global_loss).abs() <= loss_tol;
            match c.kind {
                Kind::LocalMin => n_min += 1,
                Kind::StrictSaddle => n_saddle += 1,
                Kind::Degenerate => n_degenerate += 1,
            }
            if c.kind == Kind::LocalMin && !is_global && s != [0.0, 0.0] {
                n_nonglobal_min += 1;
            }
            let facts = PointFacts { depth, is_global, at_minus: cand.at_minus, top_k: cand.top_k };
            judge_point(&facts, c.min_transverse, hess_tol, &mut checks);
            if depth >= 3 && cand.on_off {
                rule_points += 1;
                rule_agree += ((c.kind == Kind::LocalMin) == cand.top_k) as usize;
            }
            if depth >= 3 && s == [0.0, 0.0] {
                let h = crate::engine::hessian::dense_hessian(&problem, &theta);
                let p = h.nrows();
                let mut err: f64 = 0.0;
                for i in 0..p {
                    for j in 0..p {
                        let want = if i == j { l2 } else { 0.0 };
                        err = err.max((h[(i, j)] - want).abs());
                    }
                }
                origin_hessian_err = err;
                // (That the origin is a local minimum is judge_point's top-k requirement, k = 0.)
                checks.within("origin Hessian = λI", err, 1e-12);
            }
        }
        let origin_loss: f64 = scalar.iter().map(|g| g.value(0.0)).sum();
        judge_origin(depth, global_loss, origin_loss, loss_tol, &mut checks);

        // Search from random starts.
        let mut search_rng = stream_rng(seed, Stream::Search);
        let mut found = SearchCounts::default();
        let mut opts = GfOptions::new(point.f64("t_max"), point.f64("gf_tol"));
        opts.stop = Stop { excess_loss: None, grad_norm: Some(100.0 * grad_tol) };
        // The control's failure comes from item 1; at λ = 0 the minima are degenerate and the
        // search would only stall.
        let starts = if l2 == 0.0 { 0 } else { point.usize("starts") };
        let (std_lo, std_hi) = (point.f64("start_std_min"), point.f64("start_std_max"));
        for j in 0..starts {
            let frac = if starts > 1 { j as f64 / (starts - 1) as f64 } else { 0.0 };
            let std = std_lo * (std_hi / std_lo).powf(frac);
            let theta0 = crate::engine::init::gaussian(&problem.model, std, &mut search_rng);
            let res = train::gradient_flow(&problem, &theta0, &opts);
            if res.outcome != Outcome::Converged {
                return Ok(Measurement::not_converged(format!(
                    "a search run stopped at ‖∇ℓ‖ = {:.3e} after t = {:.3e} ({:?})",
                    res.last.grad_norm, res.time, res.outcome
                )));
            }
            // The explicit integrator stalls at ‖∇ℓ‖ ~ tolerance × λ_max(H) near a minimum:
            // finish with Newton steps.
            let (theta, g) = lowrank::newton_polish(&problem, &res.theta, 8);
            if g > grad_tol {
                return Ok(Measurement::not_converged(format!(
                    "a search run's end point polished only to ‖∇ℓ‖ = {g:.3e}"
                )));
            }
            let c = classify(&problem, &theta, hess_tol);
            found.add(c.kind, crate::engine::linalg::norm(&theta), c.loss, global_loss + loss_tol);
        }
        found.judge(depth, starts, n_nonglobal_min, &mut checks);

        let mut m = checks
            .measurement()
            .value("worst_grad_norm", worst_grad)
            .value("min_abs_transverse_eigenvalue", min_abs_eig)
            .value("worst_loss_error", worst_loss_err)
            .value("global_loss", global_loss)
            .value("enumerated_local_minima", n_min as f64)
            .value("enumerated_strict_saddles", n_saddle as f64)
            .value("enumerated_degenerate", n_degenerate as f64)
            .value("enumerated_nonglobal_minima", n_nonglobal_min as f64)
            .value("top_k_rule_points", rule_points as f64)
            // NaN (0/0) at L = 2, where no point is on/off-classified.
            .value("top_k_rule_agreement", rule_agree as f64 / rule_points as f64)
            .value("search_local_minima", found.minima as f64)
            .value("search_nonglobal_minima", found.nonglobal as f64)
            .value("search_origin", found.origin as f64)
            .value("search_saddles", found.saddles as f64);
        if origin_hessian_err.is_finite() {
            m = m.value("origin_hessian_minus_l2_max", origin_hessian_err);
        }
        Ok(m)
    }
}
