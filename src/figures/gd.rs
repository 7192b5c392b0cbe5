//! Figures 1–7: Marion & Chizat's gradient-descent figures from the runs of
//! [`crate::experiments`] (panels, titles, the YAML data file), drawn as in the authors' plots:
//! same axes, log scales, reference lines and 95 % bands.
//!
//! As in the authors' script, the sharpness-vs-scale panels show the learning rates below 0.09
//! (0.005, 0.02, 0.07); the distance and divergence panels show all five.
//!
//! Figure 7 (GELU MLP) repeats Figure 1's sharpness panel with the training loss and the
//! divergence probability beside it; its LB and 8LΛ lines are the *linear* network's closed forms
//! on the same data (the authors draw them too), labelled as such: no theorem makes them bounds
//! for the GELU network.

use super::common::{FIT_COLOR, Files, INIT_BLUE, LB_COLOR, UPPER_COLOR, flare};
use super::csv;
use super::plot::{self, Axis, Chart, ChartManifest, DrawError, Kind, Legend, Panel, Series};
use crate::engine::fit::LinearFit;
use crate::experiments::aggregate::{self as summary, Cell, EstimatorGap, GapFit, InitCell, Stability};
use crate::experiments::run::DataFacts;
use crate::experiments::stats::Band;
use crate::experiments::{Experiment, ExperimentData, Figure, Grid};
use crate::io::error::{Error, write_atomic};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A gradient-descent figure (1–6): the figures this module draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GdFigure {
    Fig1,
    Fig2,
    Fig3,
    Fig4,
    Fig5,
    Fig6,
    Fig7,
}

impl GdFigure {
    /// `fig` if it is a gradient-descent figure (the Jacot et al. figures (jgshg-staircase, jgshg-escape) are [`super::saddle`]'s).
    pub fn of(fig: Figure) -> Option<GdFigure> {
        match fig {
            Figure::Fig1 => Some(GdFigure::Fig1),
            Figure::Fig2 => Some(GdFigure::Fig2),
            Figure::Fig3 => Some(GdFigure::Fig3),
            Figure::Fig4 => Some(GdFigure::Fig4),
            Figure::Fig5 => Some(GdFigure::Fig5),
            Figure::Fig6 => Some(GdFigure::Fig6),
            Figure::Fig7 => Some(GdFigure::Fig7),
            Figure::JgshgStaircase | Figure::JgshgEscape => None,
        }
    }
    pub fn figure(self) -> Figure {
        match self {
            GdFigure::Fig1 => Figure::Fig1,
            GdFigure::Fig2 => Figure::Fig2,
            GdFigure::Fig3 => Figure::Fig3,
            GdFigure::Fig4 => Figure::Fig4,
            GdFigure::Fig5 => Figure::Fig5,
            GdFigure::Fig6 => Figure::Fig6,
            GdFigure::Fig7 => Figure::Fig7,
        }
    }
}

/// Learning rates shown in the sharpness-vs-scale panels (the authors' `step_size < 0.09`).
pub const SHARPNESS_PANEL_MAX_ETA: f64 = 0.09;

/// The YAML data file of a figure.
#[derive(Clone, Debug, Serialize)]
pub struct FigureData {
    pub figure: Figure,
    pub title: String,
    pub experiment: Experiment,
    pub quick: bool,
    pub settings: Grid,
    /// Closed forms of the dataset, one per depth.
    pub data: Vec<DataFacts>,
    pub files: Files,
    pub early_stopping: EarlyStopping,
    pub stability: Stability,
    pub estimator: EstimatorNote,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap_fit: Option<GapFit>,
    /// Figure 7: what `data` (the linear closed forms) means for the GELU network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_linear: Option<String>,
    /// Figure 7: training loss at initialisation and after training per (η, scale).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub loss_cells: Vec<LossCell>,
    /// The plotted aggregates (means and 95 % bands).
    pub cells: Vec<Cell>,
    pub init_cells: Vec<InitCell>,
    pub plot: ChartManifest,
}

/// How runs were stopped.
#[derive(Clone, Debug, Serialize)]
pub struct EarlyStopping {
    pub enabled: bool,
    pub rule: String,
    pub certified_runs: usize,
    /// Largest certified remaining movement of θ among early-stopped runs.
    pub max_certified_drift: Option<f64>,
}

/// The authors' estimator against the exact sharpness.
#[derive(Clone, Debug, Serialize)]
pub struct EstimatorNote {
    pub description: String,
    pub gaps: Vec<EstimatorGap>,
}

/// Training-loss aggregates of one (η, scale) (Figure 7), over runs that did not diverge.
#[derive(Clone, Debug, Serialize)]
pub struct LossCell {
    pub eta: f64,
    pub scale: f64,
    pub init_loss: Option<Band>,
    pub final_loss: Option<Band>,
}

/// One loss cell per (η, scale) of the first depth, in grid order.
pub fn loss_cells(data: &ExperimentData) -> Vec<LossCell> {
    let g = &data.grid;
    let mut out = Vec::new();
    for (ri, rate) in g.rates.iter().enumerate() {
        for (si, &scale) in g.scales.iter().enumerate() {
            let runs: Vec<&crate::experiments::run::Run> = data
                .runs
                .iter()
                .filter(|r| {
                    r.config.depth_index == 0 && r.config.rate_index == ri && r.config.scale_index == si
                })
                .collect();
            let seed =
                |q: u64| crate::experiments::grid::derive_seed("loss-band", &[ri as u64, si as u64, q]);
            let init: Vec<f64> = runs.iter().map(|r| r.init.train_loss).collect();
            let last: Vec<f64> = runs.iter().map(|r| r.last.train_loss).collect();
            out.push(LossCell {
                eta: rate.eta,
                scale,
                init_loss: crate::experiments::stats::mean_band(&init, seed(0)),
                final_loss: crate::experiments::stats::mean_band(&last, seed(1)),
            });
        }
    }
    out
}

/// Everything a figure writes, in memory.
#[derive(Clone, Debug)]
pub struct FigureOutput {
    pub figure: Figure,
    pub svg: String,
    pub runs_csv: String,
    pub curves_csv: Option<String>,
    pub yaml: String,
    pub data: FigureData,
}

/// Points (x, mean) and band (x, lo, hi) of a line.
type LineData = (Vec<(f64, f64)>, Vec<(f64, f64, f64)>);

fn band_points(xs: impl Iterator<Item = (f64, Option<Band>)>) -> LineData {
    let mut pts = Vec::new();
    let mut band = Vec::new();
    for (x, b) in xs {
        if let Some(b) = b {
            pts.push((x, b.mean));
            band.push((x, b.lo, b.hi));
        }
    }
    (pts, band)
}

/// A log axis covering the positive finite values (whole decades), or [lo, hi] if none.
fn log_axis(label: &str, values: impl Iterator<Item = f64>, lo: f64, hi: f64) -> Axis {
    let v: Vec<f64> = values.filter(|x| x.is_finite() && *x > 0.0).collect();
    if v.is_empty() {
        return Axis::log(label, lo, hi);
    }
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(0.0, f64::max);
    let mut a = 10f64.powf(min.log10().floor());
    let mut b = 10f64.powf(max.log10().ceil());
    if b <= a * 1.0001 {
        a /= 10.0;
        b *= 10.0;
    }
    Axis::log(label, a, b)
}

fn eta_label(eta: f64) -> String {
    format!("η = {}", csv::num(eta))
}

fn scale_axis(grid: &Grid) -> Axis {
    let lo = grid.scales.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = grid.scales.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Axis::linear("Scale of initialization", lo - 0.01, hi + 0.01)
}

/// Sharpness at initialisation and after training vs scale (Figures 1, 4 and 6, left).
fn sharpness_panel(
    data: &ExperimentData,
    cells: &[Cell],
    inits: &[InitCell],
    title: &str,
    upper: bool,
    eta_max: f64,
    linear_reference: bool,
) -> Panel {
    let g = &data.grid;
    let facts = &data.facts[0];
    let colors = flare(g.rates.len());
    let (pts, band) = band_points(inits.iter().map(|c| (c.scale, c.sharpness)));
    let mut series = vec![Series::line("Initialization", INIT_BLUE, pts, band)];
    let mut refs = Vec::new();
    for (ri, rate) in g.rates.iter().enumerate() {
        if rate.eta >= eta_max {
            continue;
        }
        let (pts, band) =
            band_points(cells.iter().filter(|c| c.eta == rate.eta).map(|c| (c.scale, c.final_sharpness)));
        series.push(Series::line(&eta_label(rate.eta), colors[ri], pts, band));
        refs.push(Series::hline(&format!("2/η, η = {}", csv::num(rate.eta)), colors[ri], 2.0 / rate.eta));
    }
    series.extend(refs);
    let tag = if linear_reference { " (linear w*)" } else { "" };
    series.push(Series::hline(&format!("LB = 2La{tag}"), LB_COLOR, facts.lower_bound));
    if upper {
        series.push(Series::hline(&format!("8LΛ{tag}"), UPPER_COLOR, facts.upper_8_l_lambda));
    }
    Panel {
        title: title.into(),
        x: scale_axis(g),
        y: Axis::log("Sharpness", 0.1, 3e4),
        series,
        legend: Legend::LowerRight,
    }
}

/// Squared distance to w* at initialisation and after training vs scale (Figures 3, 5).
fn distance_panel(data: &ExperimentData, cells: &[Cell], inits: &[InitCell], title: &str) -> Panel {
    let g = &data.grid;
    let colors = flare(g.rates.len());
    let (pts, band) = band_points(inits.iter().map(|c| (c.scale, c.distance)));
    let mut series = vec![Series::line("Initialization", INIT_BLUE, pts, band)];
    for (ri, rate) in g.rates.iter().enumerate() {
        let (pts, band) =
            band_points(cells.iter().filter(|c| c.eta == rate.eta).map(|c| (c.scale, c.final_distance)));
        series.push(Series::line(&eta_label(rate.eta), colors[ri], pts, band));
    }
    let y = log_axis(
        "Squared distance to optimal regressor",
        series.iter().flat_map(|s| match &s.kind {
            Kind::Line { points, band, .. } => {
                points.iter().map(|p| p.1).chain(band.iter().flat_map(|b| [b.1, b.2])).collect::<Vec<_>>()
            }
            _ => vec![],
        }),
        1e-3,
        10.0,
    );
    Panel { title: title.into(), x: scale_axis(g), y, series, legend: Legend::UpperLeft }
}

/// Training loss at initialisation and after training vs scale (Figure 7).
fn loss_panel(data: &ExperimentData, cells: &[LossCell], title: &str) -> Panel {
    let g = &data.grid;
    let colors = flare(g.rates.len());
    // The initialisation line: each scale's runs over every η (their inits are all drawn alike).
    let inits: Vec<(f64, Option<Band>)> = g
        .scales
        .iter()
        .enumerate()
        .map(|(si, &scale)| {
            let v: Vec<f64> = data
                .runs
                .iter()
                .filter(|r| r.config.depth_index == 0 && r.config.scale_index == si)
                .map(|r| r.init.train_loss)
                .collect();
            (
                scale,
                crate::experiments::stats::mean_band(
                    &v,
                    crate::experiments::grid::derive_seed("loss-init", &[si as u64]),
                ),
            )
        })
        .collect();
    let (pts, band) = band_points(inits.into_iter());
    let mut series = vec![Series::line("Initialization", INIT_BLUE, pts, band)];
    for (ri, rate) in g.rates.iter().enumerate() {
        let (pts, band) =
            band_points(cells.iter().filter(|c| c.eta == rate.eta).map(|c| (c.scale, c.final_loss)));
        series.push(Series::line(&eta_label(rate.eta), colors[ri], pts, band));
    }
    let y = log_axis(
        "Training loss",
        series.iter().flat_map(|s| match &s.kind {
            Kind::Line { points, band, .. } => {
                points.iter().map(|p| p.1).chain(band.iter().flat_map(|b| [b.1, b.2])).collect::<Vec<_>>()
            }
            _ => vec![],
        }),
        1e-6,
        10.0,
    );
    Panel { title: title.into(), x: scale_axis(g), y, series, legend: Legend::UpperLeft }
}

/// Divergence probability vs scale (Figures 3, 5; no band, as the authors').
fn divergence_panel(data: &ExperimentData, cells: &[Cell], title: &str) -> Panel {
    let g = &data.grid;
    let colors = flare(g.rates.len());
    let series = g
        .rates
        .iter()
        .enumerate()
        .map(|(ri, rate)| {
            let pts = cells
                .iter()
                .filter(|c| c.eta == rate.eta)
                .map(|c| (c.scale, c.divergence_probability))
                .collect();
            Series::line(&eta_label(rate.eta), colors[ri], pts, vec![])
        })
        .collect();
    Panel {
        title: title.into(),
        x: scale_axis(g),
        y: Axis::linear("Probability of divergence", -0.05, 1.05),
        series,
        legend: Legend::UpperLeft,
    }
}

/// The two training-curve panels (distance every 5 steps, sharpness every 5 steps).
fn curve_panels(data: &ExperimentData, upper: bool) -> Vec<Panel> {
    let Some(c) = &data.grid.curves else {
        return vec![];
    };
    let facts = &data.facts[0];
    let sweep = flare(5);
    // The authors' palette indices 1 and 3 for η = 0.02 and 0.1.
    let color = |eta: f64| {
        crate::experiments::grid::SWEEP_ETAS.iter().position(|&e| e == eta).map_or(sweep[2], |i| sweep[i])
    };
    let every = c.every.max(1);
    let x = Axis::linear("Training steps", 0.0, c.steps as f64);
    let mut dist = Vec::new();
    let mut sharp = Vec::new();
    let mut refs = Vec::new();
    for curve in &data.curves {
        let col = color(curve.eta);
        let d: Vec<(f64, f64)> = curve
            .points
            .iter()
            .filter(|p| p.step.is_multiple_of(every))
            .map(|p| (p.step as f64, p.distance))
            .collect();
        dist.push(Series::line(&eta_label(curve.eta), col, d, vec![]).without_markers());
        let s: Vec<(f64, f64)> = curve
            .points
            .iter()
            .filter(|p| p.sharpness.is_finite())
            .map(|p| (p.step as f64, p.sharpness))
            .collect();
        sharp.push(Series::line(&eta_label(curve.eta), col, s, vec![]).without_markers());
        refs.push(Series::hline(&format!("2/η, η = {}", csv::num(curve.eta)), col, 2.0 / curve.eta));
    }
    sharp.extend(refs);
    sharp.push(Series::hline("LB = 2La", LB_COLOR, facts.lower_bound));
    if upper {
        sharp.push(Series::hline("8LΛ", UPPER_COLOR, facts.upper_8_l_lambda));
    }
    let y = log_axis(
        "Squared distance to optimal regressor",
        dist.iter().flat_map(|s| match &s.kind {
            Kind::Line { points, .. } => points.iter().map(|p| p.1).collect::<Vec<_>>(),
            _ => vec![],
        }),
        1e-3,
        10.0,
    );
    let scale = csv::num(c.scale);
    vec![
        Panel {
            title: format!("Training curves, scale {scale}: distance"),
            x: x.clone(),
            y,
            series: dist,
            legend: Legend::UpperRight,
        },
        Panel {
            title: format!("Training curves, scale {scale}: sharpness"),
            x,
            y: Axis::log("Sharpness", 0.1, 3e4),
            series: sharp,
            legend: Legend::LowerRight,
        },
    ]
}

/// Figure 2: final distance vs learning rate per depth, with 1/(La) per depth.
fn learning_rate_panel(data: &ExperimentData, cells: &[Cell]) -> Panel {
    let g = &data.grid;
    let colors = flare(g.depths.len());
    let mut series = Vec::new();
    let mut refs = Vec::new();
    for (di, &depth) in g.depths.iter().enumerate() {
        let (pts, band) =
            band_points(cells.iter().filter(|c| c.depth == depth).map(|c| (c.eta, c.final_distance)));
        series.push(Series::line(&format!("depth L = {depth}"), colors[di], pts, band));
        refs.push(Series::vline(&format!("1/(La), L = {depth}"), colors[di], data.facts[di].eta_lower_bound));
    }
    series.extend(refs);
    let lo = g.rates.iter().map(|r| r.eta).fold(f64::INFINITY, f64::min);
    let hi = g.rates.iter().map(|r| r.eta).fold(0.0, f64::max);
    Panel {
        title: format!("Residual networks, s = {}: final distance vs learning rate", csv::num(g.scales[0])),
        x: Axis::log("Learning rate", lo / 1.15, hi * 1.15),
        y: Axis::linear("Squared distance to optimal regressor", -0.01, 0.21),
        series,
        legend: Legend::UpperLeft,
    }
}

/// Figure 6, right: generalisation gap vs final sharpness (log–log) at the smallest η, with
/// the least-squares line and its 95 % band.
fn gap_panel(data: &ExperimentData, fit: &GapFit) -> Panel {
    let pts: Vec<(f64, f64)> = summary::gap_points(data, fit.eta)
        .into_iter()
        .filter(|p| p.0 > 0.0 && p.2 > 0.0)
        .map(|p| (p.0, p.2))
        .collect();
    let x = log_axis("Sharpness after training", pts.iter().map(|p| p.0), 1.0, 1e4);
    let y = log_axis("Generalization gap", pts.iter().map(|p| p.1), 1e-2, 10.0);
    let mut series = vec![Series {
        name: format!("runs, η = {}", csv::num(fit.eta)),
        color: flare(3)[0],
        kind: Kind::Scatter(pts.clone()),
        in_legend: true,
    }];
    if let Some(f) = &fit.fit {
        let xs: Vec<f64> = pts.iter().map(|p| p.0.log10()).collect();
        let (a, b) = (
            xs.iter().copied().fold(f64::INFINITY, f64::min),
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let k = 40;
        let grid: Vec<f64> = (0..=k).map(|i| a + (b - a) * i as f64 / k as f64).collect();
        let line: Vec<(f64, f64)> =
            grid.iter().map(|&lx| (10f64.powf(lx), 10f64.powf(f.predict(lx)))).collect();
        let band: Vec<(f64, f64, f64)> = grid
            .iter()
            .map(|&lx| {
                let (lo, hi) = f.band(lx);
                (10f64.powf(lx), 10f64.powf(lo), 10f64.powf(hi))
            })
            .collect();
        series.push(Series::line(&fit_label(f), FIT_COLOR, line, band).without_markers());
    }
    Panel {
        title: format!("Generalization gap vs sharpness, η = {}", csv::num(fit.eta)),
        x,
        y,
        series,
        legend: Legend::UpperLeft,
    }
}

fn fit_label(f: &LinearFit) -> String {
    format!("fit: slope {:.3}, r² {:.3}, p {:.1e}", f.slope, f.r_squared, f.p_value)
}

fn figure_title(fig: GdFigure, grid: &Grid) -> String {
    let depth = grid.depths[0];
    match fig {
        GdFigure::Fig1 => format!(
            "Figure 1. MLP (n = {}, d = {}, L = {depth}), Gaussian initialization: sharpness",
            grid.n, grid.d
        ),
        GdFigure::Fig2 => format!(
            "Figure 2. Residual networks (n = {}, d = {}): the learning-rate threshold 1/(La) per depth",
            grid.n, grid.d
        ),
        GdFigure::Fig3 => format!(
            "Figure 3. MLP (n = {}, d = {}, L = {depth}): distance to w* and divergence",
            grid.n, grid.d
        ),
        GdFigure::Fig4 => format!(
            "Figure 4. Residual network (n = {}, d = {}, L = {depth}), residual initialization: sharpness",
            grid.n, grid.d
        ),
        GdFigure::Fig5 => format!(
            "Figure 5. Residual network (n = {}, d = {}, L = {depth}): distance to w* and divergence",
            grid.n, grid.d
        ),
        GdFigure::Fig6 => format!(
            "Figure 6. MLP, underdetermined (n = {} < d = {}, L = {depth}): sharpness and generalization",
            grid.n, grid.d
        ),
        GdFigure::Fig7 => format!(
            "Figure 7. GELU MLP (n = {}, d = {}, L = {depth}, noise-free data), Gaussian initialization",
            grid.n, grid.d
        ),
    }
}

/// The chart of a gradient-descent figure.
pub fn chart(
    fig: GdFigure,
    data: &ExperimentData,
    cells: &[Cell],
    inits: &[InitCell],
    fit: Option<&GapFit>,
) -> Chart {
    let title = figure_title(fig, &data.grid);
    let (panels, size) = match fig {
        GdFigure::Fig1 | GdFigure::Fig4 => {
            let upper = fig == GdFigure::Fig1;
            let mut p = vec![sharpness_panel(
                data,
                cells,
                inits,
                "Sharpness at initialization and after training",
                upper,
                SHARPNESS_PANEL_MAX_ETA,
                false,
            )];
            p.extend(curve_panels(data, upper));
            (p, (620, 480))
        }
        GdFigure::Fig3 | GdFigure::Fig5 => (
            vec![
                distance_panel(data, cells, inits, "Distance to w* after training"),
                divergence_panel(data, cells, "Divergence probability"),
            ],
            (620, 480),
        ),
        GdFigure::Fig2 => (vec![learning_rate_panel(data, cells)], (820, 560)),
        GdFigure::Fig7 => (
            vec![
                sharpness_panel(
                    data,
                    cells,
                    inits,
                    "Sharpness at initialization and after training",
                    true,
                    f64::INFINITY,
                    true,
                ),
                loss_panel(data, &loss_cells(data), "Training loss after training"),
                divergence_panel(data, cells, "Divergence probability"),
            ],
            (620, 480),
        ),
        GdFigure::Fig6 => {
            let mut p = vec![sharpness_panel(
                data,
                cells,
                inits,
                "Sharpness at initialization and after training",
                true,
                f64::INFINITY,
                false,
            )];
            if let Some(f) = fit {
                p.push(gap_panel(data, f));
            }
            (p, (620, 480))
        }
    };
    Chart { title, columns: panels.len(), panels, panel_size: size }
}

/// Figure 7's note on what the linear closed forms and the stability facts mean there.
pub const FIG7_REFERENCE: &str = "the network is a GELU MLP: `data` (a, Λ, LB, S_min, 8LΛ, the η thresholds) \
     holds the closed forms of the deep LINEAR network on the same noise-free data, drawn as reference lines \
     as the authors do, not bounds on the GELU network; `distance` is the authors' ‖W_L⋯W_1 − w*‖²/d of the \
     weights' product (ignoring GELU) and `excess` the training loss itself (infimum taken as 0); of the \
     stability checks only stable_minimizers (η·S/2 ≤ 1 at a converged run) holds for any smooth loss";

/// The smallest learning rate of Figure 6's grid (the authors fit only η = 0.001).
fn fit_eta(grid: &Grid) -> f64 {
    grid.rates.iter().map(|r| r.eta).fold(f64::INFINITY, f64::min)
}

/// Builds every output of one gradient-descent figure in memory.
pub fn build(gd: GdFigure, data: &ExperimentData, quick: bool) -> Result<FigureOutput, DrawError> {
    let cells = summary::cells(data);
    let inits = summary::init_cells(data);
    let fit = (gd == GdFigure::Fig6).then(|| summary::gap_fit(data, fit_eta(&data.grid)));
    let chart = chart(gd, data, &cells, &inits, fit.as_ref());
    let (svg, manifest) = plot::render(&chart)?;
    let fig = gd.figure();
    let name = fig.name();
    let has_curves = !data.curves.is_empty() && matches!(gd, GdFigure::Fig1 | GdFigure::Fig4);
    let certified: Vec<f64> = data
        .runs
        .iter()
        .filter(|r| r.outcome == crate::experiments::run::RunOutcome::Certified)
        .map(|r| r.drift_bound)
        .collect();
    let fd = FigureData {
        figure: fig,
        title: chart.title.clone(),
        experiment: data.grid.experiment,
        quick,
        settings: data.grid.clone(),
        data: data.facts.clone(),
        files: Files {
            svg: format!("{name}.svg"),
            runs_csv: format!("{name}.csv"),
            curves_csv: has_curves.then(|| format!("{name}_curves.csv")),
            yaml: format!("{name}.yaml"),
        },
        early_stopping: EarlyStopping {
            enabled: data.grid.early_stop,
            rule: if data.grid.early_stop {
                "stop once R − R_min ≤ 1e-14 and the certified remaining movement of θ, \
                 2√(R − R_min)/((1 − ηS/2)√(4λ‖a_1‖²)), is ≤ 1e-6 (re-checked at 1e-18, 1e-22, \
                 1e-26); plotted quantities move by less than the plot resolution"
                    .into()
            } else {
                "none: every run takes its full step budget (distances are plotted on a log axis)".into()
            },
            certified_runs: certified.len(),
            max_certified_drift: certified
                .iter()
                .copied()
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x)))),
        },
        stability: {
            let mut st = summary::stability(data);
            if gd == GdFigure::Fig7 {
                // The other checks are theorems of the linear network (see FIG7_REFERENCE).
                st.checks.retain(|c| c.name == "stable_minimizers");
            }
            st
        },
        estimator: EstimatorNote {
            description: "power20: the authors' estimator (20 power-iteration steps on \
                          Hessian-vector products from a Gaussian vector, returning ‖Hv‖: the \
                          largest eigenvalue in magnitude); sharpness: the exact largest \
                          algebraic eigenvalue. Gaps are |power20 − S|/|S|."
                .into(),
            gaps: summary::estimator_gaps(data),
        },
        gap_fit: fit,
        reference_linear: (gd == GdFigure::Fig7).then(|| FIG7_REFERENCE.to_string()),
        loss_cells: if gd == GdFigure::Fig7 { loss_cells(data) } else { Vec::new() },
        cells,
        init_cells: inits,
        plot: manifest,
    };
    Ok(FigureOutput {
        figure: fig,
        svg,
        runs_csv: csv::runs(data),
        curves_csv: has_curves.then(|| csv::curves(&data.curves)),
        yaml: crate::io::yaml::to_string(&fd),
        data: fd,
    })
}

/// Writes a figure's files into `dir`; returns their paths.
pub fn write(out: &FigureOutput, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let f = &out.data.files;
    let mut files = vec![
        (dir.join(&f.svg), out.svg.as_str()),
        (dir.join(&f.runs_csv), out.runs_csv.as_str()),
        (dir.join(&f.yaml), out.yaml.as_str()),
    ];
    if let (Some(name), Some(text)) = (&f.curves_csv, &out.curves_csv) {
        files.push((dir.join(name), text.as_str()));
    }
    for (path, text) in &files {
        write_atomic(path, text.as_bytes())?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}
