//! The figures jgshg-staircase and jgshg-escape: Jacot et al.'s saddle-to-saddle dynamics (jgshg.saddle_to_saddle) from the
//! gradient flows of [`crate::experiments::saddle`], each as an SVG, a CSV of every snapshot or
//! escape time, and a YAML with the settings, the measured facts, their checks and the plot
//! manifest.
//!
//! | figure | panels |
//! |---|---|
//! | jgshg-staircase | per depth: loss vs time (log–log) from small and large ε with the plateau levels ½Σ_{i>k}σ_i²; numerical rank vs time with rank Y |
//! | jgshg-escape | per depth: escape time of each mode vs ε with its least-squares fit (t against log(1/ε) for L = 2, log–log for L ≥ 3) |

use super::common::{Files, INIT_BLUE, Options, UPPER_COLOR, flare};
use super::csv;
use super::plot::{self, Axis, Chart, ChartManifest, DrawError, Legend, Panel, Rgb, Series};
use crate::experiments::aggregate::Check;
use crate::experiments::saddle::{
    self, EscapeData, EscapeFit, EscapeSettings, StaircaseData, StaircaseSettings, TrajectoryFacts,
};
use crate::experiments::{Experiment, Figure};
use crate::io::error::{Error, write_atomic};
use crate::lowrank::{StaircaseFigure, TrajectoryData};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Small initialisation (a dark flare), large initialisation (seaborn blue), reference lines.
const SMALL_COLOR: Rgb = (0xB1, 0x3C, 0x6C);
const LARGE_COLOR: Rgb = INIT_BLUE;
const LEVEL_COLOR: Rgb = UPPER_COLOR;

/// jgshg-staircase's settings under `opts` (the same in `--quick` mode, already well under a second).
pub fn staircase_settings(opts: &Options) -> StaircaseSettings {
    StaircaseSettings::paper(&opts.saddle)
}

/// jgshg-escape's settings under `opts`.
pub fn escape_settings(opts: &Options) -> EscapeSettings {
    let s = EscapeSettings::paper(&opts.saddle);
    let s = if opts.quick { s.quick() } else { s };
    if opts.reps_scale == 1.0 { s } else { s.with_reps_scale(opts.reps_scale) }
}

/// The YAML data file of jgshg-staircase.
#[derive(Clone, Debug, Serialize)]
pub struct StaircaseFigureData {
    pub figure: Figure,
    pub title: String,
    pub experiment: Experiment,
    pub quick: bool,
    pub settings: StaircaseSettings,
    pub files: Files,
    pub checks: Vec<Check>,
    /// Per depth, the small- then the large-initialisation flow: rank steps and plateaus.
    pub trajectories: Vec<TrajectoryFacts>,
    pub plot: ChartManifest,
}

/// The YAML data file of jgshg-escape.
#[derive(Clone, Debug, Serialize)]
pub struct EscapeFigureData {
    pub figure: Figure,
    pub title: String,
    pub experiment: Experiment,
    pub quick: bool,
    pub settings: EscapeSettings,
    pub files: Files,
    pub checks: Vec<Check>,
    /// Per depth and mode (pooled over instances).
    pub fits: Vec<EscapeFit>,
    pub plot: ChartManifest,
}

/// Everything jgshg-staircase or jgshg-escape writes, in memory.
#[derive(Clone, Debug)]
pub struct SaddleOutput {
    pub figure: Figure,
    pub svg: String,
    pub csv: String,
    pub yaml: String,
    pub files: Files,
    pub checks: Vec<Check>,
}

fn files(fig: Figure) -> Files {
    let name = fig.name();
    Files {
        svg: format!("{name}.svg"),
        runs_csv: format!("{name}.csv"),
        curves_csv: None,
        yaml: format!("{name}.yaml"),
    }
}

/// ε in legends: three significant digits, exponent form below 10⁻² (`1e-6`, `5e-4`, `0.0224`,
/// `0.5`).
pub fn eps_label(e: f64) -> String {
    if (1e-2..1e3).contains(&e) {
        let s = format!("{e:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        let s = format!("{e:.2e}");
        let (m, x) = s.split_once('e').expect("exponent form");
        let m = m.trim_end_matches('0').trim_end_matches('.');
        format!("{m}e{x}")
    }
}

/// A log axis over whole decades around the positive values in [lo, hi].
fn decades(label: &str, lo: f64, hi: f64) -> Axis {
    Axis::log(label, 10f64.powf(lo.log10().floor()), 10f64.powf(hi.log10().ceil()))
}

fn line_of(t: &TrajectoryData, y: impl Fn(usize) -> f64) -> Vec<(f64, f64)> {
    (0..t.times.len()).map(|j| (t.times[j], y(j))).collect()
}

/// The legend of the plateau level ½Σ_{i>k}σ_i² (drawn for k = 0..r−1; the last level is 0).
pub fn level_name(k: usize, level: f64) -> String {
    format!("½Σ_{{i>{k}}}σ_i² = {}", csv::num(level))
}

/// The loss curve down to its first snapshot below `lo` (the bottom of a log axis: the
/// converged tail would otherwise be drawn along the axis; the CSV has every snapshot).
pub fn loss_points(t: &TrajectoryData, lo: f64) -> Vec<(f64, f64)> {
    let end = t.loss.iter().position(|&l| l < lo).map_or(t.loss.len(), |j| j + 1);
    (0..end).map(|j| (t.times[j], t.loss[j])).collect()
}

/// jgshg-staircase, one depth: the loss panel (every snapshot until the loss leaves the axis below, see
/// [`loss_points`]) and the rank panel (every snapshot).
fn staircase_panels(f: &StaircaseFigure, s: &StaircaseSettings) -> [Panel; 2] {
    let inst = &s.instance;
    let t_end =
        f.small.times.last().copied().unwrap_or(1.0).max(f.large.times.last().copied().unwrap_or(1.0));
    let x = decades("Time t", inst.t_first, t_end);
    let small_name = format!("small init, ε = {}", eps_label(f.small.eps));
    let large_name = format!("large init, ε = {}", eps_label(f.large.eps));
    let l0 = f.small.loss[0].max(f.large.loss[0]);
    let y = decades("Loss ½‖A − Y‖²", 0.1 * inst.stop_loss, l0);
    let mut loss = vec![
        Series::line(&small_name, SMALL_COLOR, loss_points(&f.small, y.lo), vec![]).without_markers(),
        Series::line(&large_name, LARGE_COLOR, loss_points(&f.large, y.lo), vec![]).without_markers(),
    ];
    for (k, &level) in inst.plateau_levels.iter().enumerate().filter(|(_, l)| **l > 0.0) {
        loss.push(Series::hline(&level_name(k, level), LEVEL_COLOR, level));
    }
    let rank = vec![
        Series::line(&small_name, SMALL_COLOR, line_of(&f.small, |j| f.small.rank[j] as f64), vec![])
            .without_markers(),
        Series::line(&large_name, LARGE_COLOR, line_of(&f.large, |j| f.large.rank[j] as f64), vec![])
            .without_markers(),
        Series::hline(&format!("rank Y = {}", inst.sigma.len()), LEVEL_COLOR, inst.sigma.len() as f64),
    ];
    let depth = f.depth;
    [
        Panel {
            title: format!("L = {depth}: loss"),
            x: x.clone(),
            y,
            series: loss,
            legend: Legend::LowerLeft,
        },
        Panel {
            title: format!("L = {depth}: numerical rank of A (σ_i(A) > {})", csv::num(inst.rank_threshold)),
            x,
            y: Axis::linear("Rank", -0.3, inst.dim as f64 + 0.3),
            series: rank,
            legend: Legend::UpperRight,
        },
    ]
}

fn sigma_list(sigma: &[f64]) -> String {
    sigma.iter().map(|s| csv::num(*s)).collect::<Vec<_>>().join(", ")
}

/// The chart of jgshg-staircase: one row per depth.
pub fn staircase_chart(data: &StaircaseData) -> Chart {
    let inst = &data.settings.instance;
    let panels: Vec<Panel> = data.figures.iter().flat_map(|f| staircase_panels(f, &data.settings)).collect();
    Chart {
        title: format!(
            "jgshg-staircase: Jacot et al. (2021), Y {d} × {d} with σ = ({}), width {}: loss and rank vs time, \
             small vs large initialization",
            sigma_list(&inst.sigma),
            inst.width,
            d = inst.dim
        ),
        columns: 2,
        panels,
        panel_size: (620, 400),
    }
}

/// Colours of the target's modes (mode 1, the largest σ, darkest).
fn mode_colors(r: usize) -> Vec<Rgb> {
    let mut c = flare(r);
    c.reverse();
    c
}

fn fit_label(f: &EscapeFit) -> String {
    if f.depth == 2 {
        format!("fit mode {}: slope·σ = {:.3} [{:.3}, {:.3}]", f.mode, f.ratio, f.ratio_lo, f.ratio_hi)
    } else {
        format!(
            "fit mode {}: exponent {:.3} [{:.3}, {:.3}] (L − 2 = {})",
            f.mode,
            f.slope,
            f.slope_lo,
            f.slope_hi,
            f.depth - 2
        )
    }
}

/// jgshg-escape, one depth: the escape times of each mode (every instance) and their fits.
fn escape_panel(data: &EscapeData, depth: usize, fits: &[Option<EscapeFit>]) -> Panel {
    let sigma = &data.settings.instance.sigma;
    let colors = mode_colors(sigma.len());
    let mut series = Vec::new();
    let mut all = Vec::new();
    for k in 0..sigma.len() {
        let pts: Vec<(f64, f64)> = saddle::escape_points(data, depth, k).into_iter().flatten().collect();
        all.extend(pts.iter().copied());
        series.push(Series {
            name: format!("mode {}, σ = {}", k + 1, csv::num(sigma[k])),
            color: colors[k],
            kind: plot::Kind::Scatter(pts),
            in_legend: true,
        });
        if let Some(f) = fits.iter().flatten().find(|f| f.depth == depth && f.mode == k + 1) {
            let (hi, lo) = data.settings.spec.eps.bounds(depth);
            let line = vec![(hi, f.predict(hi)), (lo, f.predict(lo))];
            series.push(Series::line(&fit_label(f), colors[k], line, vec![]).without_markers());
        }
    }
    let (e_hi, e_lo) = data.settings.spec.eps.bounds(depth);
    let x = Axis::log("Initialization scale ε", e_lo / 1.5, e_hi * 1.5);
    let t_max = all.iter().map(|p| p.1).fold(0.0, f64::max);
    let t_min = all.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    // The points fill the lower 60 % of the panel, the legend the top.
    let (y, title) = if depth == 2 {
        let hi = if all.is_empty() { 1.0 } else { t_max / 0.6 };
        (Axis::linear("Escape time t", 0.0, hi), "L = 2: t ≈ (1/σ_k)·log(1/ε) + c".into())
    } else {
        let (lo, hi) = if all.is_empty() { (1.0, 10.0) } else { (t_min / 1.5, t_max) };
        let hi = lo * (hi / lo).powf(1.0 / 0.6);
        (Axis::log("Escape time t", lo, hi), format!("L = {depth}: t ∝ ε^−{}", depth - 2))
    };
    Panel { title, x, y, series, legend: Legend::UpperRight }
}

/// The chart of jgshg-escape: one panel per depth.
pub fn escape_chart(data: &EscapeData, fits: &[Option<EscapeFit>]) -> Chart {
    let s = &data.settings;
    let panels: Vec<Panel> = s.depths.iter().map(|&d| escape_panel(data, d, fits)).collect();
    Chart {
        title: format!(
            "jgshg-escape: Jacot et al. (2021), escape time of each mode vs initialization scale ε \
             ({} instance{}, σ = ({}))",
            s.reps,
            if s.reps == 1 { "" } else { "s" },
            sigma_list(&s.instance.sigma)
        ),
        columns: panels.len().max(1),
        panels,
        panel_size: (560, 460),
    }
}

/// Builds every output of jgshg-staircase in memory.
pub fn build_staircase(data: &StaircaseData, quick: bool) -> Result<SaddleOutput, DrawError> {
    let facts = saddle::staircase_facts(data);
    let checks = saddle::staircase_checks(&facts, &data.settings);
    let chart = staircase_chart(data);
    let (svg, manifest) = plot::render(&chart)?;
    let fd = StaircaseFigureData {
        figure: Figure::JgshgStaircase,
        title: chart.title.clone(),
        experiment: Experiment::Staircase,
        quick,
        settings: data.settings.clone(),
        files: files(Figure::JgshgStaircase),
        checks: checks.clone(),
        trajectories: facts,
        plot: manifest,
    };
    Ok(SaddleOutput {
        figure: Figure::JgshgStaircase,
        svg,
        csv: csv::trajectories(data),
        yaml: crate::io::yaml::to_string(&fd),
        files: fd.files,
        checks,
    })
}

/// Builds every output of jgshg-escape in memory.
pub fn build_escape(data: &EscapeData, quick: bool) -> Result<SaddleOutput, DrawError> {
    let fits = saddle::escape_fits(data);
    let checks = saddle::escape_checks(data, &fits);
    let chart = escape_chart(data, &fits);
    let (svg, manifest) = plot::render(&chart)?;
    let fd = EscapeFigureData {
        figure: Figure::JgshgEscape,
        title: chart.title.clone(),
        experiment: Experiment::EscapeTime,
        quick,
        settings: data.settings.clone(),
        files: files(Figure::JgshgEscape),
        checks: checks.clone(),
        fits: fits.into_iter().flatten().collect(),
        plot: manifest,
    };
    Ok(SaddleOutput {
        figure: Figure::JgshgEscape,
        svg,
        csv: csv::escapes(data),
        yaml: crate::io::yaml::to_string(&fd),
        files: fd.files,
        checks,
    })
}

/// Writes a figure's files into `dir`; returns their paths.
pub fn write(out: &SaddleOutput, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let f = &out.files;
    let files = [
        (dir.join(&f.svg), out.svg.as_str()),
        (dir.join(&f.runs_csv), out.csv.as_str()),
        (dir.join(&f.yaml), out.yaml.as_str()),
    ];
    for (path, text) in &files {
        write_atomic(path, text.as_bytes())?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}
