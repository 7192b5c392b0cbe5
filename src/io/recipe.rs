//! Recipes: how to build a univariate regression instance (data + network + parameters) from
//! one seed. A recipe plus its seed re-creates an instance bit for bit, so any reported
//! instance can be written out as an instance file and audited.
//!
//! This is the one typed builder of regression instances: `dlncheck instance` fills a
//! [`Recipe`] from its flags ([`InstanceFlags`]) or a recipe file, the claims fill a
//! [`ProblemBuilder`] from a grid point; [`ProblemBuilder::validate`] is the one place where
//! the values are checked before anything is drawn.

use crate::engine::data::{self, Dataset, Direction, SpectrumSpec};
use crate::engine::init;
use crate::engine::instance::Instance;
use crate::engine::model::Dln;
use crate::engine::objective::{DataError, Objective};
use crate::engine::problem::Problem;
use crate::engine::rng::{Stream, stream_rng};
use crate::engine::train::{self, GdOptions};
use crate::io::error::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Network architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Square d×d layers, W_L a 1×d row.
    Mlp,
    /// W_k d×d near the identity, read out by a fixed unit vector p.
    Residual,
}

impl Arch {
    /// The spelling of specs, flags and files.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Mlp => "mlp",
            Arch::Residual => "residual",
        }
    }
}

/// Where w* points relative to Σ's eigenvectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum WDirection {
    /// Largest eigenvalue's eigenvector.
    Top,
    /// Smallest eigenvalue's eigenvector.
    Bottom,
    /// A uniformly random unit direction.
    Random,
}

impl WDirection {
    /// The direction in the eigenbasis of a d-dimensional Σ sorted ascending.
    fn of(self, d: usize) -> Direction {
        match self {
            WDirection::Top => Direction::Eigenvector(d - 1),
            WDirection::Bottom => Direction::Eigenvector(0),
            WDirection::Random => Direction::Random,
        }
    }
}

/// The dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataRecipe {
    /// Marion & Chizat's generator (Gaussian X, Gaussian w_true, label noise), ‖w*‖ = 1 if normalised.
    Paper { n: usize, noise: f64, normalize: bool },
    /// Σ with geometric spectrum from Λ = 1 down to 1/κ, randomly rotated, w* of the given
    /// norm and direction, the given R_min.
    Spectrum { n: usize, kappa: f64, direction: WDirection, w_star_norm: f64, risk_min: f64 },
}

/// The parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WeightsRecipe {
    /// Entries N(0, std²).
    Gaussian { std: f64 },
    /// W_k = I + (s/√(Ld))N_k.
    Residual { s: f64 },
    /// The balanced rank-one minimiser.
    Balanced,
    /// The minimiser attaining S_min.
    MinSharpness,
    /// A random unbalanced minimiser (free factors N(0, std²)).
    RandomMinimizer { std: f64 },
    /// The balanced minimiser with W_1 → cW_1, W_2 → W_2/c.
    Rescaled { c: f64 },
}

/// Optional gradient-descent training after initialisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainRecipe {
    pub eta: f64,
    pub steps: usize,
}

/// A complete recipe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    pub architecture: Arch,
    pub d: usize,
    pub depth: usize,
    pub data: DataRecipe,
    pub weights: WeightsRecipe,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train: Option<TrainRecipe>,
}

/// Data and network of a regression instance: everything but the parameters. Built from a
/// [`Recipe`] or from a claim's grid point; the same values and seed give the same problem.
#[derive(Clone, Debug, PartialEq)]
pub struct ProblemBuilder {
    pub architecture: Arch,
    pub d: usize,
    pub depth: usize,
    pub data: DataRecipe,
    /// ‖p‖ of the residual head (p = ‖p‖·a random unit vector); 1 in recipes, ignored by the MLP.
    pub head_norm: f64,
}

/// A value the builder cannot use, named by its field.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    fn new(field: &str, message: impl Into<String>) -> Self {
        Invalid { field: field.into(), message: message.into() }
    }
}

/// The largest condition number a recipe may ask for: Σ's smallest eigenvalue 1/κ stays far
/// above the rank cutoff (≈ 1e-13 relative), so that Σ keeps full rank and κ is measurable.
pub const MAX_KAPPA: f64 = 1e12;

/// `v` is a finite number in [lo, hi].
fn finite_in(field: &str, v: f64, lo: f64, hi: f64) -> Result<(), Invalid> {
    if !v.is_finite() {
        return Err(Invalid::new(field, format!("must be a finite number, got {v}")));
    }
    if v < lo || v > hi {
        let range = if hi == f64::MAX { format!("≥ {lo}") } else { format!("in [{lo}, {hi:e}]") };
        let shown =
            if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-4) { format!("{v:e}") } else { format!("{v}") };
        return Err(Invalid::new(field, format!("must be {range}, got {shown}")));
    }
    Ok(())
}

impl ProblemBuilder {
    /// Checks the values before anything is drawn: d, L ≥ 1; n ≥ 1 (paper data) or n ≥ d
    /// (spectrum data, whose construction needs d independent samples); every number finite
    /// and in its range (noise ≥ 0; 1 ≤ κ ≤ [`MAX_KAPPA`]; ‖w*‖ > 0; R_min ≥ 0). Fields are
    /// named as in a recipe file (`data.kappa`); [`InstanceFlags::flag_of`] names the flag.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.d == 0 {
            return Err(Invalid::new("d", "must be at least 1"));
        }
        if self.depth == 0 {
            return Err(Invalid::new("depth", "must be at least 1"));
        }
        finite_in("head_norm", self.head_norm, 0.0, f64::MAX)?;
        if self.head_norm == 0.0 {
            return Err(Invalid::new("head_norm", "must be positive, got 0"));
        }
        match &self.data {
            DataRecipe::Spectrum { n, .. } if *n < self.d => {
                return Err(Invalid::new(
                    "data.n",
                    format!("spectrum data needs n ≥ d = {}, got {n}", self.d),
                ));
            }
            DataRecipe::Paper { n, .. } if *n == 0 => {
                return Err(Invalid::new("data.n", "must be at least 1"));
            }
            DataRecipe::Paper { noise, .. } => finite_in("data.noise", *noise, 0.0, f64::MAX)?,
            DataRecipe::Spectrum { kappa, w_star_norm, risk_min, .. } => {
                finite_in("data.kappa", *kappa, 1.0, MAX_KAPPA)?;
                finite_in("data.w_star_norm", *w_star_norm, 0.0, f64::MAX)?;
                if *w_star_norm == 0.0 {
                    return Err(Invalid::new("data.w_star_norm", "must be positive, got 0"));
                }
                finite_in("data.risk_min", *risk_min, 0.0, f64::MAX)?;
            }
        }
        Ok(())
    }

    /// The dataset for `seed`.
    pub fn dataset(&self, seed: u64) -> Dataset {
        match &self.data {
            DataRecipe::Paper { n, noise, normalize } => {
                data::paper(*n, 0, self.d, *noise, *normalize, seed).train
            }
            DataRecipe::Spectrum { n, kappa, direction, w_star_norm, risk_min } => {
                let spec = SpectrumSpec {
                    n: *n,
                    eigenvalues: data::geometric_spectrum(self.d, 1.0, *kappa),
                    direction: direction.of(self.d),
                    w_star_norm: *w_star_norm,
                    risk_min: *risk_min,
                    rotate: true,
                };
                data::with_spectrum(&spec, seed)
            }
        }
    }

    /// The network (the residual head p is `head_norm` times a unit vector drawn from the seed's
    /// projection stream; `head_norm` = 1 multiplies by one, bit for bit).
    pub fn model(&self, seed: u64) -> Dln {
        match self.architecture {
            Arch::Mlp => Dln::mlp(self.d, self.depth),
            Arch::Residual => {
                let p = init::projection(self.d, &mut stream_rng(seed, Stream::Projection));
                let p: Vec<f64> = p.iter().map(|x| self.head_norm * x).collect();
                Dln::residual(&p, self.depth)
            }
        }
    }

    /// The regression problem for `seed`, and its dataset.
    pub fn problem(&self, seed: u64) -> Result<(Problem, Dataset), DataError> {
        let ds = self.dataset(seed);
        let reg = ds.regression()?;
        let problem =
            Problem::new(self.model(seed), Objective::Regression(reg)).expect("builder shapes agree");
        Ok((problem, ds))
    }
}

/// The largest number of gradient-descent steps a recipe may ask for.
pub const MAX_STEPS: usize = 100_000_000;

/// The `dlncheck instance` flags, typed; [`InstanceFlags::recipe`] turns them into a recipe.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceFlags {
    pub architecture: Arch,
    pub d: usize,
    pub depth: usize,
    pub n: usize,
    pub noise: f64,
    pub data: DataKind,
    pub kappa: f64,
    pub direction: WDirection,
    pub init: InitKind,
    pub scale: f64,
    pub eta: Option<f64>,
    pub steps: usize,
}

/// The data generator of `dlncheck instance --data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DataKind {
    /// Marion & Chizat's generator, ‖w*‖ = 1.
    Paper,
    /// Σ with condition number --kappa, w* along --direction, ‖w*‖ = 1, R_min = 0.
    Spectrum,
}

/// The parameters of `dlncheck instance --init` (the scale is --scale).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InitKind {
    /// Entries N(0, scale²).
    Gaussian,
    /// W_k = I + (scale/√(Ld))N_k.
    Residual,
    /// The balanced rank-one minimiser.
    Balanced,
    /// The minimiser attaining S_min.
    MinSharpness,
    /// A random unbalanced minimiser (free factors N(0, scale²)).
    RandomMinimizer,
    /// The balanced minimiser with W_1·c, W_2/c, c = scale.
    Rescaled,
}

impl InstanceFlags {
    /// The flag that sets a recipe field (as [`ProblemBuilder::validate`] names it), so that
    /// an error from flags names the flag the user typed.
    pub fn flag_of(field: &str) -> &str {
        match field {
            "d" => "--d",
            "depth" => "--depth",
            "data.n" => "--n",
            "data.noise" => "--noise",
            "data.kappa" => "--kappa",
            "weights.std" | "weights.s" | "weights.c" => "--scale",
            "train.eta" => "--eta",
            "train.steps" => "--steps",
            other => other,
        }
    }

    /// The recipe the flags describe.
    pub fn recipe(&self) -> Recipe {
        let (n, scale) = (self.n, self.scale);
        Recipe {
            architecture: self.architecture,
            d: self.d,
            depth: self.depth,
            data: match self.data {
                DataKind::Paper => DataRecipe::Paper { n, noise: self.noise, normalize: true },
                DataKind::Spectrum => DataRecipe::Spectrum {
                    n,
                    kappa: self.kappa,
                    direction: self.direction,
                    w_star_norm: 1.0,
                    risk_min: 0.0,
                },
            },
            weights: match self.init {
                InitKind::Gaussian => WeightsRecipe::Gaussian { std: scale },
                InitKind::Residual => WeightsRecipe::Residual { s: scale },
                InitKind::Balanced => WeightsRecipe::Balanced,
                InitKind::MinSharpness => WeightsRecipe::MinSharpness,
                InitKind::RandomMinimizer => WeightsRecipe::RandomMinimizer { std: scale },
                InitKind::Rescaled => WeightsRecipe::Rescaled { c: scale },
            },
            train: self.eta.map(|eta| TrainRecipe { eta, steps: self.steps }),
        }
    }
}

impl Recipe {
    /// Data and network of the recipe.
    pub fn builder(&self) -> ProblemBuilder {
        ProblemBuilder {
            architecture: self.architecture,
            d: self.d,
            depth: self.depth,
            data: self.data.clone(),
            head_norm: 1.0,
        }
    }

    /// Checks the recipe's values: the data and network ([`ProblemBuilder::validate`]), the
    /// parameters (std, s ≥ 0 and finite; c finite and non-zero) and the training (η > 0 and
    /// finite, steps ≤ [`MAX_STEPS`]).
    pub fn validate(&self) -> Result<(), Invalid> {
        self.builder().validate()?;
        match &self.weights {
            WeightsRecipe::Gaussian { std } => finite_in("weights.std", *std, 0.0, f64::MAX)?,
            WeightsRecipe::RandomMinimizer { std } => finite_in("weights.std", *std, 0.0, f64::MAX)?,
            WeightsRecipe::Residual { s } => finite_in("weights.s", *s, 0.0, f64::MAX)?,
            WeightsRecipe::Rescaled { c } => {
                finite_in("weights.c", *c, f64::MIN, f64::MAX)?;
                if *c == 0.0 {
                    return Err(Invalid::new("weights.c", "must be non-zero (W_2/c), got 0"));
                }
            }
            WeightsRecipe::Balanced | WeightsRecipe::MinSharpness => {}
        }
        if let Some(t) = &self.train {
            finite_in("train.eta", t.eta, 0.0, f64::MAX)?;
            if t.eta == 0.0 {
                return Err(Invalid::new("train.eta", "must be positive, got 0"));
            }
            if t.steps > MAX_STEPS {
                return Err(Invalid::new(
                    "train.steps",
                    format!("must be at most {MAX_STEPS}, got {}", t.steps),
                ));
            }
        }
        Ok(())
    }

    /// Estimated peak memory in bytes of [`Recipe::instance`] (8 per f64): the data and its
    /// SVD, Σ and its decompositions, θ with the gradient-descent workspaces, from the shapes.
    pub fn memory_estimate(&self) -> u64 {
        let (d, l) = (self.d as u64, self.depth as u64);
        let n = match &self.data {
            DataRecipe::Paper { n, .. } | DataRecipe::Spectrum { n, .. } => *n as u64,
        };
        let d2 = d.saturating_mul(d);
        let p = match self.architecture {
            Arch::Mlp => d2.saturating_mul(l.saturating_sub(1)).saturating_add(d),
            Arch::Residual => d2.saturating_mul(l),
        };
        let words = n
            .saturating_mul(d)
            .saturating_mul(3)
            .saturating_add(p.saturating_mul(10))
            .saturating_add(d2.saturating_mul(8));
        words.saturating_mul(8)
    }

    /// Builds the problem and parameters for `seed` (training included).
    pub fn build(&self, seed: u64) -> Result<(Problem, Vec<f64>, Dataset), DataError> {
        let (problem, ds) = self.builder().problem(seed)?;
        let (model, reg) = (&problem.model, problem.objective.regression().expect("regression objective"));
        let mut init_rng = stream_rng(seed, Stream::Init);
        let mut min_rng = stream_rng(seed, Stream::Minimizer);
        let theta = match &self.weights {
            WeightsRecipe::Gaussian { std } => init::gaussian(model, *std, &mut init_rng),
            WeightsRecipe::Residual { s } => init::residual(model, *s, &mut init_rng),
            WeightsRecipe::Balanced => init::balanced(model, &reg.w_star),
            WeightsRecipe::MinSharpness => init::min_sharpness_minimizer(model, reg, &mut min_rng),
            WeightsRecipe::RandomMinimizer { std } => {
                init::random_minimizer(model, &reg.w_star, *std, &mut min_rng)
            }
            WeightsRecipe::Rescaled { c } => {
                init::rescale_first_two(model, &init::balanced(model, &reg.w_star), *c)
            }
        };
        let theta = match &self.train {
            None => theta,
            Some(t) => train::gradient_descent(&problem, &theta, &GdOptions::new(t.eta, t.steps)).theta,
        };
        Ok((problem, theta, ds))
    }

    /// The instance for `seed`, with the recipe and seed recorded in its `meta`. Validates
    /// first; errors name the field, in the file `recipe`.
    pub fn instance(&self, seed: u64) -> Result<Instance, Error> {
        let bad = |field: String, message: String| Error::Input { file: "recipe".into(), field, message };
        self.validate().map_err(|Invalid { field, message }| bad(field, message))?;
        let (problem, theta, data) =
            self.build(seed).map_err(|DataError::Invalid { field, message }| bad(field, message))?;
        let mut meta = BTreeMap::new();
        meta.insert("seed".to_string(), seed.to_string());
        meta.insert("recipe".to_string(), serde_json_like(self));
        Ok(Instance { data, model: problem.model, theta, activation: Default::default(), meta })
    }
}

/// The recipe as one line of JSON (which is also YAML): stored in an instance's `meta.recipe`,
/// it is a recipe file as it stands (`dlncheck instance --recipe`), so the instance can be
/// re-created from its own file.
fn serde_json_like(r: &Recipe) -> String {
    serde_json::to_string(r).expect("serialising plain data to JSON cannot fail")
}
