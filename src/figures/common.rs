//! What every figure shares: the palette, the options of `dlncheck figures` (which figures,
//! which settings) and the names of a figure's files.

use super::plot::Rgb;
use crate::experiments::{Experiment, Figure, Grid, Settings};
use serde::Serialize;
use std::path::PathBuf;

/// seaborn's default blue (the authors' "Initialization" line).
pub const INIT_BLUE: Rgb = (0x4C, 0x72, 0xB0);
/// The lower bound LB = 2La.
pub const LB_COLOR: Rgb = (0x1A, 0x1A, 0x1A);
/// The upper bound 8LΛ (and the plateau levels of jgshg-staircase).
pub const UPPER_COLOR: Rgb = (0x6A, 0x6A, 0x6A);
/// Least-squares fit lines.
pub const FIT_COLOR: Rgb = (0x2A, 0x5C, 0xA8);

/// A sequential palette close to seaborn's "flare" (light orange → dark purple), `n` ≤ 5.
pub fn flare(n: usize) -> Vec<Rgb> {
    let all: [Rgb; 5] =
        [(0xE9, 0x8D, 0x6B), (0xE3, 0x68, 0x5C), (0xD1, 0x4A, 0x61), (0xB1, 0x3C, 0x6C), (0x8F, 0x33, 0x71)];
    match n {
        0 => vec![],
        1 => vec![all[2]],
        2 => vec![all[1], all[3]],
        3 => vec![all[0], all[2], all[4]],
        4 => vec![all[0], all[1], all[3], all[4]],
        _ => all.to_vec(),
    }
}

/// The options of `dlncheck figures`.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub quick: bool,
    /// Figures to produce (all when empty).
    pub only: Vec<Figure>,
    pub out: PathBuf,
    pub reps_scale: f64,
    /// The dataset of figures 1–6 (`--data`; the authors' by default).
    pub data: crate::experiments::DataSource,
    /// The jgshg.saddle_to_saddle spec's values for the Jacot et al. figures (jgshg-staircase, jgshg-escape) (the command line reads them from
    /// properties/jgshg.saddle_to_saddle.yaml).
    pub saddle: crate::lowrank::saddle::SaddleSpec,
}

impl Options {
    /// The figures to produce, in order.
    pub fn figures(&self) -> Vec<Figure> {
        if self.only.is_empty() {
            Figure::ALL.to_vec()
        } else {
            let mut f = self.only.clone();
            f.sort();
            f.dedup();
            f
        }
    }
    /// The experiments those figures need, in run order.
    pub fn experiments(&self) -> Vec<Experiment> {
        let figs = self.figures();
        Experiment::ALL.into_iter().filter(|e| e.figures().iter().any(|f| figs.contains(f))).collect()
    }
    /// The grid of a gradient-descent experiment under these options.
    pub fn grid(&self, e: Experiment) -> Grid {
        let g = Grid::paper(e);
        let g = Grid { data: self.data, ..g };
        let g = if self.quick { g.quick() } else { g };
        if self.reps_scale == 1.0 { g } else { g.with_reps_scale(self.reps_scale) }
    }
    /// What experiment `e` runs under these options.
    pub fn settings(&self, e: Experiment) -> Settings {
        match e {
            Experiment::Staircase => Settings::Staircase(super::saddle::staircase_settings(self)),
            Experiment::EscapeTime => Settings::Escape(super::saddle::escape_settings(self)),
            Experiment::Mlp
            | Experiment::Residual
            | Experiment::LearningRate
            | Experiment::Underdetermined
            | Experiment::Gelu => Settings::Descent(self.grid(e)),
        }
    }
}

/// The files of a figure (names relative to the output directory).
#[derive(Clone, Debug, Serialize)]
pub struct Files {
    pub svg: String,
    pub runs_csv: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curves_csv: Option<String>,
    pub yaml: String,
}
