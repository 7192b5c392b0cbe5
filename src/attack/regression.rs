//! The hypothesis space shared by Marion & Chizat's univariate-regression claims: data, network
//! and (optionally) the minimiser set, as optimiser coordinates.
//!
//! Data: Σ = diag(μ_1..μ_d) with every μ_i ∈ [Λ/κ_max, Λ] in log scale (Λ = 1: the tightness
//! ratios are invariant under Σ → cΣ), so κ ≤ κ_max always; w* = ‖w*‖·c/‖c‖ with coordinates
//! c ∈ [−1, 1]^d in Σ's eigenbasis and ‖w*‖ in log scale over the grid's range; residual
//! networks: the head p = ‖p‖·q/‖q‖, q ∈ [−1, 1]^d, ‖p‖ in log scale over the grid's `head_norm`
//! range (1 when the grid has none). The eigenbasis is the identity without loss
//! of generality: every quantity is invariant under a joint rotation of Σ, w*, p and the weights
//! (W_k → Q W_k Q ᵀ). The data are realised as an actual dataset (n = 2d + 1 samples, R_min = 0.1,
//! built by `engine::data::with_spectrum`), so the instance file reproduces the same Σ and w*.
//!
//! Network: W_k = s_k·V_k for k ≥ 2 (s_k ∈ [0.1, 10] log scale, V_k ∈ [−1, 1]^{rows×cols}) and
//! - on the minimiser set, W_1 fitted: W_1 = a_1ᵀw*ᵀ/‖a_1‖² + (I − a_1ᵀa_1/‖a_1‖²)·s_1M with
//!   a_1 = (pᵀ)W_L⋯W_2; this is the whole minimiser set (every minimiser has this form), gauge
//!   moves and layer rescalings included; a_1 = 0 is outside;
//! - off it (controls that drop the minimiser hypothesis), W_1 = s_1M free.

use super::{Dim, Start};
use crate::engine::data::{self, Dataset, Direction, SpectrumSpec};
use crate::engine::instance::Instance;
use crate::engine::linalg;
use crate::engine::model::Dln;
use crate::engine::objective::{Objective, Regression};
use crate::engine::problem::Problem;
use crate::engine::rng::{self, Rng};
use crate::framework::property::{GridPoint, Value};
use crate::framework::spec::Spec;
use std::collections::BTreeMap;

/// Which network parameters the space moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// None: the claim's network is determined by the data (e.g. the balanced minimiser).
    None,
    /// The minimiser set (W_1 fitted).
    Minimizers,
    /// Every θ (W_1 free too).
    Free,
}

/// Largest search dimension a restart may have (Nelder–Mead is ineffective beyond; larger grid
/// points are left to the sampler of `dlncheck check`).
pub const MAX_DIMS: usize = 160;

/// The discrete part of a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub residual: bool,
    pub d: usize,
    pub depth: usize,
}

impl Shape {
    pub fn of(discrete: &GridPoint) -> Shape {
        Shape {
            residual: discrete.str("architecture") == "residual",
            d: discrete.usize("d"),
            depth: discrete.usize("depth"),
        }
    }
    fn discrete(&self) -> GridPoint {
        GridPoint::default()
            .with("architecture", Value::Str(if self.residual { "residual" } else { "mlp" }.into()))
            .with("d", Value::Int(self.d as i64))
            .with("depth", Value::Int(self.depth as i64))
    }
    /// (rows, cols) of trained layer k (0-based).
    fn layer(&self, k: usize) -> (usize, usize) {
        if k + 1 == self.depth && !self.residual { (1, self.d) } else { (self.d, self.d) }
    }
}

/// The dimensions of a restart (data, then W_2..W_L, then W_1's free part).
pub fn dims(spec: &Spec, shape: Shape, network: Network) -> Vec<Dim> {
    let d = shape.d;
    let kappa_max = super::grid_range(spec, "kappa").map_or(1.0, |r| r.1.max(1.0));
    let (wlo, whi) = super::grid_range(spec, "w_star_norm").unwrap_or((1.0, 1.0));
    let mut out = Vec::new();
    for i in 0..d {
        out.push(Dim::log(format!("eigenvalue[{i}]"), 1.0 / kappa_max, 1.0));
    }
    for i in 0..d {
        out.push(Dim::linear(format!("w_star_direction[{i}]"), -1.0, 1.0));
    }
    out.push(Dim::log("w_star_norm", wlo, whi));
    if shape.residual {
        for i in 0..d {
            out.push(Dim::linear(format!("p_direction[{i}]"), -1.0, 1.0));
        }
        let (plo, phi) = super::grid_range(spec, "head_norm").unwrap_or((1.0, 1.0));
        out.push(Dim::log("head_norm", plo, phi));
    }
    if network == Network::None {
        return out;
    }
    for k in (1..shape.depth).chain(std::iter::once(0)) {
        let (rows, cols) = shape.layer(k);
        let what = if k == 0 { "M" } else { "V" };
        out.push(Dim::log(format!("scale[{}]", k + 1), 0.1, 10.0));
        for i in 0..rows {
            for j in 0..cols {
                out.push(Dim::linear(format!("{what}{}[{i}][{j}]", k + 1), -1.0, 1.0));
            }
        }
    }
    out
}

/// A decoded point: the problem (data + network), its dataset and, when the space moves the
/// network, θ.
pub struct Decoded {
    pub problem: Problem,
    pub data: Dataset,
    pub theta: Option<Vec<f64>>,
}

impl Decoded {
    pub fn reg(&self) -> &Regression {
        self.problem.objective.regression().expect("regression objective")
    }
}

fn unit(v: &[f64]) -> Option<Vec<f64>> {
    let n = linalg::norm(v);
    (n.is_finite() && n > 1e-8).then(|| v.iter().map(|x| x / n).collect())
}

/// Builds the point; `None` when it lies outside the hypotheses (w* or p direction 0, a_1 = 0,
/// non-finite numbers).
pub fn decode(shape: Shape, network: Network, x: &[f64]) -> Option<Decoded> {
    let d = shape.d;
    let eig = &x[0..d];
    let dir = unit(&x[d..2 * d])?;
    let w_norm = x[2 * d];
    let mut at = 2 * d + 1;
    let model = if shape.residual {
        let q = unit(&x[at..at + d])?;
        let head = x[at + d];
        at += d + 1;
        Dln::residual(&q.iter().map(|v| head * v).collect::<Vec<_>>(), shape.depth)
    } else {
        Dln::mlp(d, shape.depth)
    };
    let spec = SpectrumSpec {
        n: 2 * d + 1,
        eigenvalues: eig.to_vec(),
        direction: Direction::Coordinates(dir),
        w_star_norm: w_norm,
        risk_min: 0.1,
        rotate: false,
    };
    let data = data::with_spectrum(&spec, 0);
    let reg = data.regression().ok()?;
    if !reg.is_full_rank() {
        return None;
    }
    let problem = Problem::new(model, Objective::Regression(reg)).ok()?;
    if network == Network::None {
        return Some(Decoded { problem, data, theta: None });
    }
    let model = &problem.model;
    let mut theta = vec![0.0; model.num_params()];
    for k in (1..shape.depth).chain(std::iter::once(0)) {
        let s = x[at];
        at += 1;
        let range = model.param_range(k).expect("trained layer");
        let len = range.len();
        for (t, v) in theta[range].iter_mut().zip(&x[at..at + len]) {
            *t = s * v;
        }
        at += len;
    }
    if network == Network::Minimizers {
        fit_first_layer(&problem, &mut theta)?;
    }
    theta.iter().all(|t| t.is_finite()).then_some(Decoded { problem, data, theta: Some(theta) })
}

/// W_1 ← a_1ᵀw*ᵀ/‖a_1‖² + (I − a_1ᵀa_1/‖a_1‖²)W_1, so that a_1W_1 = w*ᵀ: the point of the
/// minimiser set with the same W_2..W_L and W_1's free part. `None` when a_1 = 0.
pub fn fit_first_layer(problem: &Problem, theta: &mut [f64]) -> Option<()> {
    let reg = problem.objective.regression().expect("regression objective");
    let model = &problem.model;
    let a1 = model.above(0, theta);
    let a1: Vec<f64> = (0..a1.ncols()).map(|j| a1[(0, j)]).collect();
    let aa = linalg::dot(&a1, &a1);
    if !(aa.is_finite() && aa > 1e-200) {
        return None;
    }
    let d = reg.d;
    let rows = a1.len();
    let range = model.param_range(0).expect("W_1 trained");
    let w1 = &mut theta[range];
    // a₁M (a row), then W_1 = a₁ᵀ(w* − a₁M)ᵀ/‖a₁‖² + M.
    let a1m: Vec<f64> = (0..d).map(|j| (0..rows).map(|i| a1[i] * w1[i * d + j]).sum()).collect();
    for i in 0..rows {
        for j in 0..d {
            w1[i * d + j] += a1[i] * (reg.w_star[j] - a1m[j]) / aa;
        }
    }
    Some(())
}

/// A restart from a grid point: the point's data (κ, direction, ‖w*‖ as the claims build them,
/// with Σ's eigenvalues geometric from 1 down to 1/κ), a random head p, and the network drawn
/// like the spec's random minimisers (V_k entries N(0, σ²), σ log-uniform in [0.1, 1]/√d·3,
/// clipped to the box; scales log-uniform in [1/3, 3]).
pub fn start(spec: &Spec, point: &GridPoint, seed: u64, network: Network, slack: f64) -> Option<Start> {
    let shape = Shape {
        residual: point.str("architecture") == "residual",
        d: point.usize("d"),
        depth: point.usize("depth"),
    };
    let dims = dims(spec, shape, network);
    if dims.len() > MAX_DIMS {
        return None;
    }
    let d = shape.d;
    let mut rng = rng::stream_rng(seed, rng::Stream::Search);
    let mut x0 = Vec::with_capacity(dims.len());
    let kappa = point.0.get("kappa").and_then(Value::as_f64).unwrap_or(1.0);
    x0.extend(data::geometric_spectrum(d, 1.0, kappa));
    let coords: Vec<f64> = match point.0.get("direction") {
        Some(Value::Str(s)) if s == "top" => (0..d).map(|j| if j + 1 == d { 1.0 } else { 0.0 }).collect(),
        Some(Value::Str(s)) if s == "bottom" => (0..d).map(|j| if j == 0 { 1.0 } else { 0.0 }).collect(),
        _ => rng::unit_vector(&mut rng, d),
    };
    x0.extend(coords);
    x0.push(point.0.get("w_star_norm").and_then(Value::as_f64).unwrap_or(1.0));
    if shape.residual {
        x0.extend(rng::unit_vector(&mut rng, d));
        x0.push(point.0.get("head_norm").and_then(Value::as_f64).unwrap_or(1.0));
    }
    if network != Network::None {
        let std = 3.0 * 10f64.powf(-uniform(&mut rng)) / (d as f64).sqrt();
        while x0.len() < dims.len() {
            let i = x0.len();
            if dims[i].name.starts_with("scale") {
                x0.push(3f64.powf(2.0 * uniform(&mut rng) - 1.0));
            } else {
                x0.push((std * rng::normal(&mut rng)).clamp(-1.0, 1.0));
            }
        }
    }
    let x0 = x0.iter().zip(&dims).map(|(x, dim)| dim.at(dim.unit(*x))).collect();
    Some(Start { discrete: shape.discrete(), dims, x0, slack, choices: BTreeMap::new() })
}

fn uniform(rng: &mut Rng) -> f64 {
    rand::RngExt::random::<f64>(rng)
}

/// The instance file of a decoded point, with provenance.
pub fn instance(dec: Decoded, id: &str, target: &str, start: &Start) -> Option<Instance> {
    let theta = dec.theta?;
    let mut meta = BTreeMap::new();
    meta.insert("property".to_string(), id.to_string());
    meta.insert("attack".to_string(), target.to_string());
    meta.insert(
        "point".to_string(),
        crate::io::yaml::to_string(&start.discrete).trim_end().replace('\n', "; "),
    );
    Some(Instance { data: dec.data, model: dec.problem.model, theta, activation: Default::default(), meta })
}
