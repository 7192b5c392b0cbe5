//! `dlncheck figures`: Marion & Chizat's linear figures (1–6) from the runs of
//! [`crate::experiments`], each as an SVG (same axes, log scales, reference lines and 95 %
//! bands as the paper), a CSV of every run, and a YAML with the plotted aggregates, the
//! stability facts behind mc.gd.stability, the gap between the authors' sharpness estimator and
//! the exact sharpness, and the plot manifest (what was drawn where); and Jacot et al.'s
//! saddle-to-saddle figures (jgshg-staircase, jgshg-escape, [`saddle`]) in the same form. The runs themselves are
//! [`crate::experiments::run()`]'s; this module draws their [`Results`] and writes the files.
//!
//! | figure | panels |
//! |---|---|
//! | 1 | MLP: sharpness at init and after training vs scale (2/η, LB, 8LΛ); training curves at scale 0.35 |
//! | 2 | residual: final distance vs η per depth, with 1/(La) per depth |
//! | 3 | MLP: distance to w* vs scale; divergence probability vs scale |
//! | 4 | residual: sharpness vs scale (2/η, LB); training curves at s = 0.5 |
//! | 5 | residual: distance vs scale; divergence probability vs scale |
//! | 6 | MLP, n = 15 < d = 20: sharpness vs scale; generalisation gap vs final sharpness, log–log fit |
//! | jgshg-staircase | Jacot et al., per depth: loss and numerical rank vs time from small and large ε, plateau levels ½Σ_{i>k}σ_i² |
//! | jgshg-escape | Jacot et al., per depth: escape time of each mode vs ε with fits (slope 1/σ_k in log(1/ε) for L = 2, exponent L − 2 for L ≥ 3) |
//!
//! [`gd`] draws figures 1–6, [`saddle`] the Jacot et al. figures (jgshg-staircase, jgshg-escape); [`common`] holds the palette, the options
//! and the file names; [`plot`] renders a chart to SVG; [`csv`] writes the data files.

pub mod common;
pub mod csv;
pub mod gd;
pub mod parts;
pub mod plot;
pub mod saddle;

pub use common::{Files, Options};

use crate::experiments::{Figure, Results};
use crate::io::error::Error;
use gd::GdFigure;
use std::path::{Path, PathBuf};

/// Everything one figure writes, in memory.
#[derive(Clone, Debug)]
pub enum Output {
    Descent(Box<gd::FigureOutput>),
    Saddle(saddle::SaddleOutput),
}

impl Output {
    pub fn figure(&self) -> Figure {
        match self {
            Output::Descent(o) => o.figure,
            Output::Saddle(o) => o.figure,
        }
    }
    /// The names of the figure's checks that fail (stability facts for figures 1–6, plateau
    /// and slope checks for the Jacot et al. figures (jgshg-staircase, jgshg-escape)).
    pub fn failed_checks(&self) -> Vec<String> {
        let checks = match self {
            Output::Descent(o) => &o.data.stability.checks,
            Output::Saddle(o) => &o.checks,
        };
        checks.iter().filter(|c| !c.holds).map(|c| c.name.clone()).collect()
    }
    /// Writes the figure's files into `dir`; returns their paths.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, Error> {
        match self {
            Output::Descent(o) => gd::write(o, dir),
            Output::Saddle(o) => saddle::write(o, dir),
        }
    }
}

/// The error of a figure that could not be drawn.
pub fn draw_error(fig: Figure, e: plot::DrawError) -> Error {
    Error::Draw { figure: fig.name().into(), message: e.to_string() }
}

/// Builds, in memory, the figures of one experiment's results that `wanted` lists (in the
/// experiment's order of figures).
pub fn build(results: &Results, wanted: &[Figure], quick: bool) -> Result<Vec<Output>, Error> {
    let shown = results.experiment().figures().iter().copied().filter(|f| wanted.contains(f));
    match results {
        Results::Descent(d) => shown
            .filter_map(GdFigure::of)
            .map(|g| {
                gd::build(g, d, quick)
                    .map(|o| Output::Descent(Box::new(o)))
                    .map_err(|e| draw_error(g.figure(), e))
            })
            .collect(),
        Results::Staircase(d) => shown
            .map(|fig| saddle::build_staircase(d, quick).map(Output::Saddle).map_err(|e| draw_error(fig, e)))
            .collect(),
        Results::Escape(d) => shown
            .map(|fig| saddle::build_escape(d, quick).map(Output::Saddle).map_err(|e| draw_error(fig, e)))
            .collect(),
    }
}
