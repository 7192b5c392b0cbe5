//! jgshg.balance_decay: under gradient flow on ½‖A − Y‖² + (λ/2)‖θ‖², the imbalances
//! D_ℓ = W_{ℓ+1}ᵀW_{ℓ+1} − W_ℓW_ℓᵀ satisfy D_ℓ(t) = e^{−2λt}D_ℓ(0); at every critical point with
//! λ > 0 the layers are balanced (D_ℓ = 0).
//!
//! One instance: Y (dim × dim) and θ_0 Gaussian (entries N(0, init_std²)); snapshots of the flow
//! at t = horizon·j/4, j = 1..4 (tolerance `gf_tol`): the decay error
//! max_{t,ℓ}‖D_ℓ(t) − e^{−2λt}D_ℓ(0)‖_F / max_ℓ‖D_ℓ(0)‖_F must be ≤ `rel`. With λ > 0 the flow
//! then continues until ‖∇ℓ‖ ≤ 100·`crit_grad` (within `crit_t_max`), Newton steps
//! ([`lowrank::newton_polish`]) bring it to ≤ `crit_grad` (else not converged), and there
//! max_ℓ‖D_ℓ‖_F / Σ_ℓ‖W_ℓ‖²_F must be ≤ `balance_tol`.
//! Identities to tolerance: no tightness; the largest error/tolerance ratio is reported.

use crate::engine::model::Dln;
use crate::engine::objective::Objective;
use crate::engine::problem::Problem;
use crate::engine::rng::{self, Stream, stream_rng};
use crate::engine::train::{self, GfOptions, Outcome, Stop};
use crate::framework::margins::Margins;
use crate::framework::property::{Case, ClaimCode, ClaimError, GridPoint, Measurement, Param};
use crate::lowrank;
use faer::Mat;

pub struct BalanceDecay;

const PARAMS: &[Param] = &[
    Param::int("depth", 2, "number of layers L"),
    Param::int("width", 1, "hidden width w"),
    Param::int("dim", 1, "d_in = d_out"),
    Param::float("l2", "L2 coefficient λ ≥ 0"),
    Param::positive("init_std", "std of the Gaussian initial entries"),
    Param::positive("horizon", "the decay is checked at horizon·j/4, j = 1..4"),
    Param::positive("rel", "tolerance of the decay, relative to max_ℓ‖D_ℓ(0)‖_F"),
    Param::positive("balance_tol", "largest max_ℓ‖D_ℓ‖_F/Σ‖W_ℓ‖² allowed at a critical point"),
    Param::positive("crit_grad", "gradient norm at which the flow counts as at a critical point"),
    Param::positive("crit_t_max", "time budget to reach a critical point"),
    Param::positive("gf_tol", "gradient-flow tolerance"),
];

crate::framework::property::controls! {
    /// The negative controls (spec names).
    pub enum Control {
        WrongRate = "wrong_rate",
        NoL2 = "no_l2",
    }
}

impl ClaimCode for BalanceDecay {
    type Control = Control;

    fn id(&self) -> &'static str {
        "jgshg.balance_decay"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn measure(&self, point: &GridPoint, seed: u64, case: Case<Control>) -> Result<Measurement, ClaimError> {
        let (depth, width, dim) = (point.usize("depth"), point.usize("width"), point.usize("dim"));
        let mut l2 = point.f64("l2");
        if l2 < 0.0 {
            return Err(ClaimError(format!("l2 = {l2} must be ≥ 0")));
        }
        // Predicted decay rate 2λ; wrong_rate predicts λ; no_l2 removes the regulariser and
        // still asks for balance at the critical point reached.
        let mut rate_factor = 2.0;
        let mut check_balance = l2 > 0.0;
        match case {
            Case::Claim => {}
            Case::Control(Control::WrongRate) => {
                if l2 == 0.0 {
                    return Err(ClaimError("wrong_rate needs l2 > 0".into()));
                }
                rate_factor = 1.0;
            }
            Case::Control(Control::NoL2) => {
                l2 = 0.0;
                check_balance = true;
            }
        }
        let mut data = stream_rng(seed, Stream::Data);
        let y = Mat::from_fn(dim, dim, |_, _| rng::normal(&mut data));
        let problem = Problem::new(Dln::deep(dim, width, dim, depth), Objective::Matrix { target: y })
            .map_err(|e| ClaimError(e.to_string()))?
            .with_l2(l2);
        let theta0 = crate::engine::init::gaussian(
            &problem.model,
            point.f64("init_std"),
            &mut stream_rng(seed, Stream::Init),
        );
        let d0 = lowrank::imbalance(&problem.model.trained_weights(&theta0));
        let d0_scale = d0.iter().map(|d| d.norm_l2()).fold(0.0, f64::max);
        let horizon = point.f64("horizon");
        let times: Vec<f64> = (1..=4).map(|j| horizon * j as f64 / 4.0).collect();
        let gf_tol = point.f64("gf_tol");
        let snaps = lowrank::flow_snapshots(&problem, &theta0, &times, gf_tol, |_| false)?;
        let mut decay_err: f64 = 0.0;
        for s in &snaps[1..] {
            let d = lowrank::imbalance(&problem.model.trained_weights(&s.theta));
            let f = (-rate_factor * l2 * s.t).exp();
            for (dl, dl0) in d.iter().zip(&d0) {
                let diff = Mat::from_fn(dl.nrows(), dl.ncols(), |i, j| dl[(i, j)] - f * dl0[(i, j)]);
                decay_err = decay_err.max(diff.norm_l2() / d0_scale);
            }
        }
        let mut checks = Margins::default();
        checks.within("D_ℓ(t) = e^{−2λt}D_ℓ(0)", decay_err, point.f64("rel"));
        let mut m =
            checks.measurement().value("decay_rel_error", decay_err).value("imbalance_initial", d0_scale);
        if check_balance {
            let crit_grad = point.f64("crit_grad");
            let mut opts = GfOptions::new(point.f64("crit_t_max"), gf_tol);
            opts.stop = Stop { excess_loss: None, grad_norm: Some(100.0 * crit_grad) };
            let start = &snaps.last().unwrap().theta;
            let res = train::gradient_flow(&problem, start, &opts);
            if res.outcome != Outcome::Converged {
                return Ok(Measurement::not_converged(format!(
                    "gradient norm {:.3e} > 100·crit_grad after t = {:.3e} ({:?})",
                    res.last.grad_norm,
                    horizon + res.time,
                    res.outcome
                ))
                .value("decay_rel_error", decay_err));
            }
            // The explicit integrator stalls near ‖∇ℓ‖ ~ tolerance × λ_max(H): finish with Newton.
            let (theta_c, grad_c) = lowrank::newton_polish(&problem, &res.theta, 8);
            if grad_c > crit_grad {
                return Ok(Measurement::not_converged(format!(
                    "critical point polished only to ‖∇ℓ‖ = {grad_c:.3e}"
                ))
                .value("decay_rel_error", decay_err));
            }
            let ws = problem.model.trained_weights(&theta_c);
            let scale = lowrank::sum_sq_norms(&ws).max(1e-300);
            let imb = lowrank::imbalance(&ws).iter().map(|d| d.norm_l2()).fold(0.0, f64::max) / scale;
            checks.within("balanced at the critical point", imb, point.f64("balance_tol"));
            m = checks
                .measurement()
                .value("decay_rel_error", decay_err)
                .value("imbalance_initial", d0_scale)
                .value("imbalance_at_critical", imb)
                .value("critical_grad_norm", grad_c)
                .value("time_to_critical", res.time)
                .value("critical_sum_sq", scale);
        }
        Ok(m)
    }
}
