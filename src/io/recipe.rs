//! Recipes: how to build a univariate regression instance (data + network + parameters) from
//! one seed. A recipe plus its seed re-creates an instance bit for bit, so any reported
//! instance can be written out as an instance file and audited.

use crate::engine::data::{self, Dataset, Direction, SpectrumSpec};
use crate::engine::init;
use crate::engine::instance::Instance;
use crate::engine::model::Dln;
use crate::engine::objective::{DataError, Objective};
use crate::engine::problem::Problem;
use crate::engine::rng::{Stream, stream_rng};
use crate::engine::train::{self, GdOptions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Network architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    Mlp,
    Residual,
}

/// Where w* points relative to Σ's eigenvectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WDirection {
    /// Largest eigenvalue's eigenvector.
    Top,
    /// Smallest eigenvalue's eigenvector.
    Bottom,
    Random,
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

impl Recipe {
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
                    direction: match direction {
                        WDirection::Top => Direction::Eigenvector(self.d - 1),
                        WDirection::Bottom => Direction::Eigenvector(0),
                        WDirection::Random => Direction::Random,
                    },
                    w_star_norm: *w_star_norm,
                    risk_min: *risk_min,
                    rotate: true,
                };
                data::with_spectrum(&spec, seed)
            }
        }
    }

    /// The network (the residual head p is drawn from the seed's projection stream).
    pub fn model(&self, seed: u64) -> Dln {
        match self.architecture {
            Arch::Mlp => Dln::mlp(self.d, self.depth),
            Arch::Residual => Dln::residual(
                &init::projection(self.d, &mut stream_rng(seed, Stream::Projection)),
                self.depth,
            ),
        }
    }

    /// Builds the problem and parameters for `seed` (training included).
    pub fn build(&self, seed: u64) -> Result<(Problem, Vec<f64>, Dataset), DataError> {
        let ds = self.dataset(seed);
        let reg = ds.regression()?;
        let model = self.model(seed);
        let mut init_rng = stream_rng(seed, Stream::Init);
        let mut min_rng = stream_rng(seed, Stream::Minimizer);
        let theta = match &self.weights {
            WeightsRecipe::Gaussian { std } => init::gaussian(&model, *std, &mut init_rng),
            WeightsRecipe::Residual { s } => init::residual(&model, *s, &mut init_rng),
            WeightsRecipe::Balanced => init::balanced(&model, &reg.w_star),
            WeightsRecipe::MinSharpness => init::min_sharpness_minimizer(&model, &reg, &mut min_rng),
            WeightsRecipe::RandomMinimizer { std } => {
                init::random_minimizer(&model, &reg.w_star, *std, &mut min_rng)
            }
            WeightsRecipe::Rescaled { c } => {
                init::rescale_first_two(&model, &init::balanced(&model, &reg.w_star), *c)
            }
        };
        let problem = Problem::new(model, Objective::Regression(reg)).expect("recipe shapes agree");
        let theta = match &self.train {
            None => theta,
            Some(t) => train::gradient_descent(&problem, &theta, &GdOptions::new(t.eta, t.steps)).theta,
        };
        Ok((problem, theta, ds))
    }

    /// The instance for `seed`, with the recipe and seed recorded in its `meta`.
    pub fn instance(&self, seed: u64) -> Result<Instance, DataError> {
        let (problem, theta, data) = self.build(seed)?;
        let mut meta = BTreeMap::new();
        meta.insert("seed".to_string(), seed.to_string());
        meta.insert("recipe".to_string(), serde_json_like(self));
        Ok(Instance { data, model: problem.model, theta, meta })
    }
}

/// One-line flow-style description of a recipe (for an instance's `meta`).
fn serde_json_like(r: &Recipe) -> String {
    crate::io::yaml::to_string(r).trim_end().replace('\n', "; ")
}
