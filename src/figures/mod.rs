//! `dlncheck figures`: Marion & Chizat's linear figures (1–6) from the runs of
//! [`crate::experiments`], each as an SVG (same axes, log scales, reference lines and 95 %
//! bands as the paper), a CSV of every run, and a YAML with the plotted aggregates, the
//! stability facts behind mc.gd.stability, the gap between the authors' sharpness estimator and
//! the exact sharpness, and the plot manifest (what was drawn where); and Jacot et al.'s
//! saddle-to-saddle figures (7–8, [`saddle`]) in the same form.
//!
//! | figure | panels |
//! |---|---|
//! | 1 | MLP: sharpness at init and after training vs scale (2/η, LB, 8LΛ); training curves at scale 0.35 |
//! | 2 | residual: final distance vs η per depth, with 1/(La) per depth |
//! | 3 | MLP: distance to w* vs scale; divergence probability vs scale |
//! | 4 | residual: sharpness vs scale (2/η, LB); training curves at s = 0.5 |
//! | 5 | residual: distance vs scale; divergence probability vs scale |
//! | 6 | MLP, n = 15 < d = 20: sharpness vs scale; generalisation gap vs final sharpness, log–log fit |
//! | 7 | Jacot et al., per depth: loss and numerical rank vs time from small and large ε, plateau levels ½Σ_{i>k}σ_i² |
//! | 8 | Jacot et al., per depth: escape time of each mode vs ε with fits (slope 1/σ_k in log(1/ε) for L = 2, exponent L − 2 for L ≥ 3) |
//!
//! As in the authors' script, the sharpness-vs-scale panels show the learning rates below 0.09
//! (0.005, 0.02, 0.07); the distance and divergence panels show all five.

pub mod csv;
pub mod plot;
pub mod saddle;

use crate::experiments::aggregate::{self, Cell, EstimatorGap, GapFit, InitCell, Stability};
use crate::experiments::run::DataFacts;
use crate::experiments::stats::{self, Band, LinearFit};
use crate::experiments::{Experiment, ExperimentData, Figure, Grid, run_experiment};
use crate::io::error::{Error, write_atomic};
use plot::{Axis, Chart, ChartManifest, Kind, Legend, Panel, Rgb, Series};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// seaborn's default blue (the authors' "Initialization" line).
const INIT_BLUE: Rgb = (0x4C, 0x72, 0xB0);
const LB_COLOR: Rgb = (0x1A, 0x1A, 0x1A);
const UPPER_COLOR: Rgb = (0x6A, 0x6A, 0x6A);
const FIT_COLOR: Rgb = (0x2A, 0x5C, 0xA8);

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

/// Learning rates shown in the sharpness-vs-scale panels (the authors' `step_size < 0.09`).
pub const SHARPNESS_PANEL_MAX_ETA: f64 = 0.09;

/// The options of `dlncheck figures`.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub quick: bool,
    /// Figures to produce (all when empty).
    pub only: Vec<Figure>,
    pub out: PathBuf,
    pub reps_scale: f64,
    /// The jgshg.saddle_to_saddle spec's values for figures 7–8 (the command line reads them from
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
    /// The grid of an experiment under these options.
    pub fn grid(&self, e: Experiment) -> Grid {
        let g = Grid::paper(e);
        let g = if self.quick { g.quick() } else { g };
        if self.reps_scale == 1.0 { g } else { g.with_reps_scale(self.reps_scale) }
    }
}

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
    /// The plotted aggregates (means and 95 % bands).
    pub cells: Vec<Cell>,
    pub init_cells: Vec<InitCell>,
    pub plot: ChartManifest,
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
    series.push(Series::hline("LB = 2La", LB_COLOR, facts.lower_bound));
    if upper {
        series.push(Series::hline("8LΛ", UPPER_COLOR, facts.upper_8_l_lambda));
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
    let pts: Vec<(f64, f64)> = aggregate::gap_points(data, fit.eta)
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

fn figure_title(fig: Figure, grid: &Grid) -> String {
    let depth = grid.depths[0];
    match fig {
        Figure::Fig1 => format!(
            "Figure 1. MLP (n = {}, d = {}, L = {depth}), Gaussian initialization: sharpness",
            grid.n, grid.d
        ),
        Figure::Fig2 => format!(
            "Figure 2. Residual networks (n = {}, d = {}): the learning-rate threshold 1/(La) per depth",
            grid.n, grid.d
        ),
        Figure::Fig3 => format!(
            "Figure 3. MLP (n = {}, d = {}, L = {depth}): distance to w* and divergence",
            grid.n, grid.d
        ),
        Figure::Fig4 => format!(
            "Figure 4. Residual network (n = {}, d = {}, L = {depth}), residual initialization: sharpness",
            grid.n, grid.d
        ),
        Figure::Fig5 => format!(
            "Figure 5. Residual network (n = {}, d = {}, L = {depth}): distance to w* and divergence",
            grid.n, grid.d
        ),
        Figure::Fig6 => format!(
            "Figure 6. MLP, underdetermined (n = {} < d = {}, L = {depth}): sharpness and generalization",
            grid.n, grid.d
        ),
        Figure::Fig7 | Figure::Fig8 => unreachable!("figures 7 and 8 are drawn by figures::saddle"),
    }
}

/// The chart of a gradient-descent figure (1–6).
///
/// # Panics
/// For figures 7 and 8 (see [`saddle`]).
pub fn chart(
    fig: Figure,
    data: &ExperimentData,
    cells: &[Cell],
    inits: &[InitCell],
    fit: Option<&GapFit>,
) -> Chart {
    let title = figure_title(fig, &data.grid);
    let (panels, size) = match fig {
        Figure::Fig1 | Figure::Fig4 => {
            let upper = fig == Figure::Fig1;
            let mut p = vec![sharpness_panel(
                data,
                cells,
                inits,
                "Sharpness at initialization and after training",
                upper,
                SHARPNESS_PANEL_MAX_ETA,
            )];
            p.extend(curve_panels(data, upper));
            (p, (620, 480))
        }
        Figure::Fig3 | Figure::Fig5 => (
            vec![
                distance_panel(data, cells, inits, "Distance to w* after training"),
                divergence_panel(data, cells, "Divergence probability"),
            ],
            (620, 480),
        ),
        Figure::Fig2 => (vec![learning_rate_panel(data, cells)], (820, 560)),
        Figure::Fig6 => {
            let mut p = vec![sharpness_panel(
                data,
                cells,
                inits,
                "Sharpness at initialization and after training",
                true,
                f64::INFINITY,
            )];
            if let Some(f) = fit {
                p.push(gap_panel(data, f));
            }
            (p, (620, 480))
        }
        Figure::Fig7 | Figure::Fig8 => unreachable!("figures 7 and 8 are drawn by figures::saddle"),
    };
    Chart { title, columns: panels.len(), panels, panel_size: size }
}

/// The smallest learning rate of Figure 6's grid (the authors fit only η = 0.001).
fn fit_eta(grid: &Grid) -> f64 {
    grid.rates.iter().map(|r| r.eta).fold(f64::INFINITY, f64::min)
}

/// Builds every output of one gradient-descent figure (1–6) in memory.
pub fn build(fig: Figure, data: &ExperimentData, quick: bool) -> Result<FigureOutput, String> {
    let cells = aggregate::cells(data);
    let inits = aggregate::init_cells(data);
    let fit = (fig == Figure::Fig6).then(|| aggregate::gap_fit(data, fit_eta(&data.grid)));
    let chart = chart(fig, data, &cells, &inits, fit.as_ref());
    let (svg, manifest) = plot::render(&chart)?;
    let name = fig.name();
    let has_curves = !data.curves.is_empty() && matches!(fig, Figure::Fig1 | Figure::Fig4);
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
            max_certified_drift: certified.iter().copied().fold(None, stats::fold_max),
        },
        stability: aggregate::stability(data),
        estimator: EstimatorNote {
            description: "power20: the authors' estimator (20 power-iteration steps on \
                          Hessian-vector products from a Gaussian vector, returning ‖Hv‖: the \
                          largest eigenvalue in magnitude); sharpness: the exact largest \
                          algebraic eigenvalue. Gaps are |power20 − S|/|S|."
                .into(),
            gaps: aggregate::estimator_gaps(data),
        },
        gap_fit: fit,
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

/// Per-experiment report line of `dlncheck figures` (printed as YAML on standard output).
#[derive(Clone, Debug, Serialize)]
pub struct ExperimentReport {
    pub experiment: Experiment,
    pub figures: Vec<Figure>,
    /// Runs (gradient-descent runs, or gradient flows for figures 7 and 8).
    pub runs: usize,
    /// Gradient-descent steps (0 for the gradient flows).
    pub gd_steps: u64,
    /// Wall-clock seconds, and CPU seconds summed over threads split into gradient-descent
    /// steps (the whole flows for figures 7 and 8) and spectral work (exact eigenvalues, the
    /// authors' estimator, certificates).
    pub wall_seconds: f64,
    pub gd_cpu_seconds: f64,
    pub spectra_cpu_seconds: f64,
    pub checks_hold: bool,
    pub failed_checks: Vec<String>,
    pub files: Vec<String>,
}

/// Runs the experiments for `opts`, writes the figures, and reports. `progress(experiment,
/// total_runs)` returns the per-run tick callback.
pub fn run(
    opts: &Options,
    mut start: impl FnMut(Experiment, u64) -> Box<dyn Fn(u64) + Sync>,
    mut finished: impl FnMut(Experiment),
) -> Result<Vec<ExperimentReport>, Error> {
    let figs = opts.figures();
    let mut reports = Vec::new();
    for e in opts.experiments() {
        if e.is_gradient_flow() {
            let tick = start(e, saddle::num_runs(e, opts) as u64);
            let data = saddle::run_flows(e, opts, &*tick)?;
            finished(e);
            let out = saddle::build(&data, opts.quick).map_err(|m| Error::Write {
                path: opts.out.join(format!("{}.svg", e.figures()[0].name())),
                source: std::io::Error::other(m),
            })?;
            let files = saddle::write(&out, &opts.out)?;
            let timing = data.timing();
            let failed: Vec<String> =
                out.checks.iter().filter(|c| !c.holds).map(|c| c.name.clone()).collect();
            reports.push(ExperimentReport {
                experiment: e,
                figures: vec![out.figure],
                runs: data.num_runs(),
                gd_steps: 0,
                wall_seconds: timing.wall,
                gd_cpu_seconds: timing.gd,
                spectra_cpu_seconds: timing.spectra,
                checks_hold: failed.is_empty(),
                failed_checks: failed,
                files: files.into_iter().map(|p| p.display().to_string()).collect(),
            });
            continue;
        }
        let grid = opts.grid(e);
        let tick = start(e, grid.num_runs() as u64);
        let data = run_experiment(&grid, &*tick);
        finished(e);
        let mut files = Vec::new();
        let mut failed = Vec::new();
        let mut shown = Vec::new();
        for &fig in e.figures().iter().filter(|f| figs.contains(f)) {
            let out = build(fig, &data, opts.quick).map_err(|m| Error::Write {
                path: opts.out.join(format!("{}.svg", fig.name())),
                source: std::io::Error::other(m),
            })?;
            if failed.is_empty() {
                failed =
                    out.data.stability.checks.iter().filter(|c| !c.holds).map(|c| c.name.clone()).collect();
            }
            files.extend(write(&out, &opts.out)?.into_iter().map(|p| p.display().to_string()));
            shown.push(fig);
        }
        reports.push(ExperimentReport {
            experiment: e,
            figures: shown,
            runs: data.runs.len(),
            gd_steps: data.timing.steps,
            wall_seconds: data.timing.wall,
            gd_cpu_seconds: data.timing.gd,
            spectra_cpu_seconds: data.timing.spectra,
            checks_hold: failed.is_empty(),
            failed_checks: failed,
            files,
        });
    }
    Ok(reports)
}
