//! The experiments and figures, the gradient-descent grids of Marion & Chizat (docs/notation.md,
//! the authors' `run_experiment.py`), their `--quick` and `--reps-scale` variants, and the
//! per-run seeds. (The gradient-flow experiments of Jacot et al., figures jgshg-staircase and
//! jgshg-escape, have their settings in [`crate::experiments::saddle`].)
//!
//! A grid is (depth × learning rate × initialisation scale) × repetitions; each learning rate
//! carries its own step budget and repetition count, as in the paper.

use crate::engine::activation::Activation;
use crate::io::recipe::Arch;
use serde::{Deserialize, Serialize};

/// The experiments: four gradient-descent grids behind Marion & Chizat's six linear figures,
/// and two sets of gradient flows behind the saddle-to-saddle figures of Jacot et al.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Experiment {
    /// MLP (n = 50, d = 5, L = 10), Gaussian init of std = scale: Figures 1 and 3.
    Mlp,
    /// Residual network, W_k = I + (s/√(Ld))N_k, fixed unit p: Figures 4 and 5.
    Residual,
    /// Residual network at s = 0.25, final distance vs learning rate for L ∈ {5, 10, 20, 40}:
    /// Figure 2.
    LearningRate,
    /// MLP with n = 15 < d = 20, L = 5: Figure 6.
    Underdetermined,
    /// GELU MLP (n = 50, d = 5, L = 10, noise-free data), Gaussian init of std = scale: Figure 7.
    Gelu,
    /// Jacot et al.: gradient flows from a small and a large initialisation per depth
    /// ([`crate::experiments::saddle`]): figure jgshg-staircase.
    Staircase,
    /// Jacot et al.: escape times of gradient flows across initialisation scales per depth:
    /// figure jgshg-escape.
    EscapeTime,
}

impl Experiment {
    pub const ALL: [Experiment; 7] = [
        Experiment::Mlp,
        Experiment::LearningRate,
        Experiment::Residual,
        Experiment::Underdetermined,
        Experiment::Gelu,
        Experiment::Staircase,
        Experiment::EscapeTime,
    ];

    /// Short name, also the seed tag.
    pub fn tag(self) -> &'static str {
        match self {
            Experiment::Mlp => "mlp",
            Experiment::Residual => "residual",
            Experiment::LearningRate => "learning_rate",
            Experiment::Underdetermined => "underdetermined",
            Experiment::Gelu => "gelu_mlp",
            Experiment::Staircase => "staircase",
            Experiment::EscapeTime => "escape_time",
        }
    }

    /// Whether the experiment is a set of gradient flows (no [`Grid`]; settings in
    /// [`crate::experiments::saddle`]).
    pub fn is_gradient_flow(self) -> bool {
        matches!(self, Experiment::Staircase | Experiment::EscapeTime)
    }

    /// The figures drawn from this experiment's runs.
    pub fn figures(self) -> &'static [Figure] {
        match self {
            Experiment::Mlp => &[Figure::Fig1, Figure::Fig3],
            Experiment::Residual => &[Figure::Fig4, Figure::Fig5],
            Experiment::LearningRate => &[Figure::Fig2],
            Experiment::Underdetermined => &[Figure::Fig6],
            Experiment::Gelu => &[Figure::Fig7],
            Experiment::Staircase => &[Figure::JgshgStaircase],
            Experiment::EscapeTime => &[Figure::JgshgEscape],
        }
    }
}

/// The figures: Marion & Chizat's figures 1–7 (`figN` is the paper's Figure N; 1–6 linear, 7 a
/// GELU MLP), and
/// Jacot et al.'s saddle-to-saddle dynamics, named by what they show (`jgshg-staircase`: loss
/// and rank vs time; `jgshg-escape`: escape time vs initialisation scale).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    Fig1,
    Fig2,
    Fig3,
    Fig4,
    Fig5,
    Fig6,
    Fig7,
    #[serde(rename = "jgshg-staircase")]
    JgshgStaircase,
    #[serde(rename = "jgshg-escape")]
    JgshgEscape,
}

/// The old names of the Jacot et al. figures, accepted for one release: (old name, figure, what
/// the old name becomes). `figN` names Marion & Chizat's Figure N: `fig7` is their Figure 7 (GELU
/// MLPs) since this release, and `fig8`, once jgshg-escape, is a deprecated alias that
/// [`Figure::deprecation`] explains.
pub const DEPRECATED_ALIASES: [(&str, Figure, &str); 1] =
    [("fig8", Figure::JgshgEscape, "a later release drops it (`figN` names Marion & Chizat's Figure N)")];

impl Figure {
    pub const ALL: [Figure; 9] = [
        Figure::Fig1,
        Figure::Fig2,
        Figure::Fig3,
        Figure::Fig4,
        Figure::Fig5,
        Figure::Fig6,
        Figure::Fig7,
        Figure::JgshgStaircase,
        Figure::JgshgEscape,
    ];

    /// `fig1` … `fig7`, `jgshg-staircase`, `jgshg-escape` (file stem and `--only` value).
    pub fn name(self) -> &'static str {
        match self {
            Figure::Fig1 => "fig1",
            Figure::Fig2 => "fig2",
            Figure::Fig3 => "fig3",
            Figure::Fig4 => "fig4",
            Figure::Fig5 => "fig5",
            Figure::Fig6 => "fig6",
            Figure::Fig7 => "fig7",
            Figure::JgshgStaircase => "jgshg-staircase",
            Figure::JgshgEscape => "jgshg-escape",
        }
    }

    /// The names `--only` accepts, for error messages.
    pub const EXPECTED: &str = "fig1 … fig7, jgshg-staircase, jgshg-escape";

    /// Parses a figure's name (`fig1`, `Fig1`, `1`, …, `fig7`, `jgshg-staircase`), or the
    /// deprecated alias `fig8`/`8` (see [`Figure::deprecation`]).
    pub fn parse(s: &str) -> Option<Figure> {
        let t = s.trim().to_ascii_lowercase();
        if let Some(f) = Figure::ALL.into_iter().find(|f| f.name() == t) {
            return Some(f);
        }
        let n = t.strip_prefix("fig").unwrap_or(&t);
        let numbered = format!("fig{n}");
        Figure::ALL[..7]
            .iter()
            .copied()
            .find(|f| f.name() == numbered)
            .or_else(|| DEPRECATED_ALIASES.iter().find(|(old, ..)| *old == numbered).map(|&(_, f, _)| f))
    }

    /// If `s` is a deprecated alias (`fig8`, `8`), the note to print: which figure it now means,
    /// and that the name will be dropped.
    pub fn deprecation(s: &str) -> Option<String> {
        let t = s.trim().to_ascii_lowercase();
        let n = t.strip_prefix("fig").unwrap_or(&t);
        let numbered = format!("fig{n}");
        let &(_, f, later) = DEPRECATED_ALIASES.iter().find(|(old, ..)| *old == numbered)?;
        Some(format!(
            "`{s}` is deprecated: it now means `{}` (Jacot et al.'s {}); {later}",
            f.name(),
            f.caption()
        ))
    }

    /// What a Jacot et al. figure shows, in a few words (empty for the paper's figures).
    fn caption(self) -> &'static str {
        match self {
            Figure::JgshgStaircase => "loss and numerical rank vs time",
            Figure::JgshgEscape => "escape time of each mode vs ε",
            _ => "",
        }
    }

    pub fn experiment(self) -> Experiment {
        match self {
            Figure::Fig1 | Figure::Fig3 => Experiment::Mlp,
            Figure::Fig4 | Figure::Fig5 => Experiment::Residual,
            Figure::Fig2 => Experiment::LearningRate,
            Figure::Fig6 => Experiment::Underdetermined,
            Figure::Fig7 => Experiment::Gelu,
            Figure::JgshgStaircase => Experiment::Staircase,
            Figure::JgshgEscape => Experiment::EscapeTime,
        }
    }
}

/// One learning rate with its step budget and number of repetitions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Rate {
    pub eta: f64,
    pub steps: usize,
    pub reps: usize,
}

/// Single-run training curves (Figures 1 and 4, right panels): the distance at every step and
/// the sharpness every `every` steps, as in the authors' `run_sub_experiment`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Curves {
    pub etas: Vec<f64>,
    pub scale: f64,
    pub steps: usize,
    pub every: usize,
}

/// Where the dataset of the gradient-descent figures comes from (`figures --data`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// The exact float32 arrays of the authors' generator with `PRNGKey(0)`
    /// ([`crate::experiments::authors_data`]): the paper's own data.
    #[default]
    Authors,
    /// Our generator (`data::paper`) seeded with the grid's `data_seed`.
    Seeded,
}

impl DataSource {
    pub const ALL: [DataSource; 2] = [DataSource::Authors, DataSource::Seeded];
    /// `authors` or `seeded` (the `--data` value).
    pub fn name(self) -> &'static str {
        match self {
            DataSource::Authors => "authors",
            DataSource::Seeded => "seeded",
        }
    }
    pub fn parse(s: &str) -> Option<DataSource> {
        DataSource::ALL.into_iter().find(|d| d.name() == s)
    }
}

/// Everything that defines an experiment's runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Grid {
    pub experiment: Experiment,
    pub arch: Arch,
    /// Training samples (the test set has as many), input dimension.
    pub n: usize,
    pub d: usize,
    /// Where the dataset comes from: the authors' arrays, or `data::paper` (label noise std 1,
    /// ‖w*‖ normalised to 1) seeded with `data_seed` (unused for the authors' data).
    pub data: DataSource,
    pub data_seed: u64,
    pub depths: Vec<usize>,
    pub rates: Vec<Rate>,
    pub scales: Vec<f64>,
    /// The activation after every layer but the last (Figure 7: GELU, on the noise-free data);
    /// absent from the figures' YAML for the linear networks.
    #[serde(skip_serializing_if = "Activation::is_identity")]
    pub activation: Activation,
    /// Stop runs once certified converged (see [`crate::experiments::run`]); only for figures
    /// whose plotted quantities provably do not move afterwards.
    pub early_stop: bool,
    pub curves: Option<Curves>,
}

/// numpy's `linspace(start, stop, num)`: start + i·step, the last point exactly `stop`.
pub fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    (0..num).map(|i| if i + 1 == num { stop } else { start + i as f64 * step }).collect()
}

/// numpy's `logspace(a, b, num)` = 10^linspace(a, b, num).
pub fn logspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    linspace(start, stop, num).into_iter().map(|e| 10f64.powf(e)).collect()
}

fn rates(etas: &[f64], steps: &[usize], reps: &[usize]) -> Vec<Rate> {
    etas.iter().zip(steps).zip(reps).map(|((&eta, &steps), &reps)| Rate { eta, steps, reps }).collect()
}

/// The learning rates of Figures 1, 3, 4 and 5.
pub const SWEEP_ETAS: [f64; 5] = [0.005, 0.02, 0.07, 0.1, 0.2];

impl Grid {
    /// The authors' full settings.
    ///
    /// # Panics
    /// For the gradient-flow experiments ([`Experiment::is_gradient_flow`]), which have no grid.
    pub fn paper(experiment: Experiment) -> Grid {
        match experiment {
            Experiment::Staircase | Experiment::EscapeTime => {
                panic!("{} is a gradient-flow experiment: no grid", experiment.tag())
            }
            Experiment::Mlp => Grid {
                experiment,
                arch: Arch::Mlp,
                n: 50,
                d: 5,
                data: DataSource::Authors,
                data_seed: 0,
                depths: vec![10],
                rates: rates(&SWEEP_ETAS, &[40_000, 10_000, 4_000, 4_000, 2_000], &[20, 20, 20, 20, 80]),
                scales: linspace(0.25, 0.6, 10),
                activation: Activation::Identity,
                early_stop: false,
                curves: Some(Curves { etas: vec![0.02, 0.1], scale: 0.35, steps: 450, every: 5 }),
            },
            Experiment::Residual => Grid {
                experiment,
                arch: Arch::Residual,
                n: 50,
                d: 5,
                data: DataSource::Authors,
                data_seed: 0,
                depths: vec![10],
                rates: rates(&SWEEP_ETAS, &[4_000; 5], &[20; 5]),
                scales: linspace(0.0, 1.7, 10),
                activation: Activation::Identity,
                early_stop: false,
                curves: Some(Curves { etas: vec![0.02, 0.1], scale: 0.5, steps: 400, every: 5 }),
            },
            Experiment::LearningRate => {
                let etas = logspace(-2.0, -0.3, 25);
                Grid {
                    experiment,
                    arch: Arch::Residual,
                    n: 50,
                    d: 5,
                    data: DataSource::Authors,
                    data_seed: 0,
                    depths: vec![5, 10, 20, 40],
                    rates: rates(&etas, &[1_000; 25], &[50; 25]),
                    scales: vec![0.25],
                    activation: Activation::Identity,
                    early_stop: true,
                    curves: None,
                }
            }
            Experiment::Underdetermined => Grid {
                experiment,
                arch: Arch::Mlp,
                n: 15,
                d: 20,
                data: DataSource::Authors,
                data_seed: 0,
                depths: vec![5],
                rates: rates(&[0.001, 0.004, 0.01], &[40_000, 10_000, 4_000], &[100, 20, 20]),
                scales: linspace(0.1, 0.36, 9),
                activation: Activation::Identity,
                early_stop: true,
                curves: None,
            },
            // The authors' run_experiment.py `nonlinear`: GELU after every layer but the last,
            // noise-free data (their generate_data(50, 5, 0.0) from the same key).
            Experiment::Gelu => Grid {
                experiment,
                arch: Arch::Mlp,
                n: 50,
                d: 5,
                data: DataSource::Authors,
                data_seed: 0,
                depths: vec![10],
                rates: rates(&[0.005, 0.02, 0.07], &[160_000, 40_000, 16_000], &[20, 20, 20]),
                scales: linspace(0.428, 0.7, 8),
                activation: Activation::Gelu,
                early_stop: false,
                curves: None,
            },
        }
    }

    /// The `--quick` variant: at most 2 repetitions and a tenth of the steps (at least 100);
    /// the same scales, learning rates, depths and seeds, so the outputs have the full shape.
    pub fn quick(mut self) -> Grid {
        for r in &mut self.rates {
            r.reps = r.reps.min(2);
            r.steps = (r.steps / 10).max(100);
        }
        self
    }

    /// Multiplies every repetition count by `x` (rounded, at least 1).
    pub fn with_reps_scale(mut self, x: f64) -> Grid {
        for r in &mut self.rates {
            r.reps = ((r.reps as f64 * x).round() as usize).max(1);
        }
        self
    }

    /// Every run, in a fixed order: depth, then learning rate, then scale, then repetition.
    pub fn configs(&self) -> Vec<RunConfig> {
        let mut out = Vec::new();
        for (di, &depth) in self.depths.iter().enumerate() {
            for (ri, rate) in self.rates.iter().enumerate() {
                for (si, &scale) in self.scales.iter().enumerate() {
                    for rep in 0..rate.reps {
                        out.push(RunConfig {
                            depth_index: di,
                            depth,
                            rate_index: ri,
                            eta: rate.eta,
                            steps: rate.steps,
                            scale_index: si,
                            scale,
                            rep,
                            seed: run_seed(self.experiment, &[di as u64, ri as u64, si as u64, rep as u64]),
                        });
                    }
                }
            }
        }
        out
    }

    /// Total number of runs.
    pub fn num_runs(&self) -> usize {
        self.depths.len() * self.scales.len() * self.rates.iter().map(|r| r.reps).sum::<usize>()
    }
}

/// One run of a grid.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub depth_index: usize,
    pub depth: usize,
    pub rate_index: usize,
    pub eta: f64,
    pub steps: usize,
    pub scale_index: usize,
    pub scale: f64,
    pub rep: usize,
    pub seed: u64,
}

/// A seed derived from a tag and integers: FNV-1a of the tag, then SplitMix64 over the parts.
/// Stable across versions and platforms (it is part of the CSVs' reproducibility).
pub fn derive_seed(tag: &str, parts: &[u64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in tag.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    for &p in parts {
        h = crate::engine::rng::splitmix64(h ^ p);
    }
    h
}

/// The seed of the run (experiment, depth index, rate index, scale index, repetition).
pub fn run_seed(experiment: Experiment, indices: &[u64]) -> u64 {
    derive_seed(experiment.tag(), indices)
}
