//! `dlncheck figures --quick` as a user meets it: every file exists, each SVG is well-formed
//! XML whose polylines are exactly the series and reference lines its manifest lists, the
//! reference lines sit at the right values (LB = 2La, 8LΛ, 1/(La), recomputed here from the
//! data by an independent least-squares solve and power iteration) and at the right pixels
//! (recomputed from the axis ranges), and the CSVs are bit-identical for 1 and 2 threads.
//! Figures 7 and 8 (Jacot et al.): the plateau levels ½Σ_{i>k}σ_i² from the target's singular
//! values (Jacobi on YᵀY), the plateaus and rank steps re-read from the CSV of every snapshot,
//! and the escape-time slopes, intervals and drawn fit lines refitted from the CSV.
#![allow(clippy::needless_range_loop)] // Gaussian elimination reads best with indices

use std::path::{Path, PathBuf};
use std::process::Command;

fn figures(out: &Path, extra: &[&str], threads: &str) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_dlncheck"))
        .args(["figures", "--quick", "--out"])
        .arg(out)
        .args(extra)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .expect("binary runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dlncheck-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[derive(serde::Deserialize)]
struct Report {
    figures: Vec<String>,
    checks_hold: bool,
}

// The subset of a figure's YAML the test reads.
#[derive(serde::Deserialize)]
struct FigureYaml {
    figure: String,
    settings: Settings,
    data: Vec<Facts>,
    files: Files,
    stability: Stability,
    plot: Manifest,
    gap_fit: Option<GapFit>,
}
#[derive(serde::Deserialize)]
struct Settings {
    n: usize,
    d: usize,
    data_seed: u64,
    depths: Vec<usize>,
    rates: Vec<Rate>,
    scales: Vec<f64>,
}
#[derive(serde::Deserialize)]
struct Rate {
    eta: f64,
    reps: usize,
}
#[derive(serde::Deserialize)]
struct Facts {
    depth: usize,
    head_norm: f64,
}
#[derive(serde::Deserialize)]
struct Files {
    svg: String,
    runs_csv: String,
    curves_csv: Option<String>,
}
#[derive(serde::Deserialize)]
struct Stability {
    checks: Vec<Check>,
}
#[derive(serde::Deserialize)]
struct Check {
    name: String,
    holds: bool,
}
#[derive(serde::Deserialize)]
struct GapFit {
    used: usize,
    fit: Option<Fit>,
}
#[derive(serde::Deserialize)]
struct Fit {
    n: usize,
    slope: f64,
    r_squared: f64,
    p_value: f64,
}
#[derive(serde::Deserialize)]
struct Manifest {
    width: u32,
    height: u32,
    panels: Vec<PanelM>,
}
#[derive(serde::Deserialize)]
struct PanelM {
    x_range: [f64; 2],
    y_range: [f64; 2],
    x_log: bool,
    y_log: bool,
    plot_area: [i32; 4],
    series: Vec<SeriesM>,
}
#[derive(serde::Deserialize)]
struct SeriesM {
    name: String,
    kind: String,
    color: String,
    points: usize,
    stroke_width: u32,
    value: Option<f64>,
    pixel: Option<i32>,
    drawn: bool,
}

/// A polyline of the SVG.
struct Polyline {
    stroke: String,
    width: u32,
    points: Vec<(i32, i32)>,
}

struct Svg {
    width: u32,
    height: u32,
    polylines: Vec<Polyline>,
    circles: Vec<(i32, i32, String, String)>,
    texts: Vec<String>,
}

fn parse_svg(text: &str) -> Svg {
    let doc = roxmltree::Document::parse(text).expect("the SVG is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let attr = |n: roxmltree::Node, a: &str| n.attribute(a).unwrap_or_default().to_string();
    let mut svg = Svg {
        width: attr(root, "width").parse().unwrap(),
        height: attr(root, "height").parse().unwrap(),
        polylines: vec![],
        circles: vec![],
        texts: vec![],
    };
    for n in doc.descendants() {
        match n.tag_name().name() {
            "polyline" => svg.polylines.push(Polyline {
                stroke: attr(n, "stroke"),
                width: attr(n, "stroke-width").parse().unwrap(),
                points: attr(n, "points")
                    .split_whitespace()
                    .map(|p| {
                        let (x, y) = p.split_once(',').unwrap();
                        (x.parse().unwrap(), y.parse().unwrap())
                    })
                    .collect(),
            }),
            "circle" => svg.circles.push((
                attr(n, "cx").parse().unwrap(),
                attr(n, "cy").parse().unwrap(),
                attr(n, "fill"),
                attr(n, "opacity"),
            )),
            "text" => svg.texts.push(n.text().unwrap_or_default().trim().to_string()),
            _ => {}
        }
    }
    svg
}

/// a = w*ᵀΣw*/‖w*‖² and Λ = λ_max(Σ) of the paper's data, computed independently of the
/// library's moments: w* = Xᵀ(XXᵀ)⁻¹y when n < d (minimum norm), else (XᵀX)⁻¹Xᵀy, by Gaussian
/// elimination; Λ by 2000 power iterations on the Gram matrix.
fn a_and_lambda(n: usize, d: usize, seed: u64) -> (f64, f64, f64) {
    let pd = dlncheck::engine::data::paper(n, n, d, 1.0, true, seed);
    let x = |i: usize, j: usize| pd.train.x[(i, j)];
    let y = &pd.train.y;
    let w: Vec<f64> = if n < d {
        let g: Vec<Vec<f64>> =
            (0..n).map(|i| (0..n).map(|k| (0..d).map(|j| x(i, j) * x(k, j)).sum()).collect()).collect();
        let c = solve(g, y.clone());
        (0..d).map(|j| (0..n).map(|i| x(i, j) * c[i]).sum()).collect()
    } else {
        let g: Vec<Vec<f64>> =
            (0..d).map(|j| (0..d).map(|k| (0..n).map(|i| x(i, j) * x(i, k)).sum()).collect()).collect();
        let b = (0..d).map(|j| (0..n).map(|i| x(i, j) * y[i]).sum()).collect();
        solve(g, b)
    };
    let sigma_w: Vec<f64> = (0..d)
        .map(|j| {
            (0..n).map(|i| x(i, j) * (0..d).map(|k| x(i, k) * w[k]).sum::<f64>()).sum::<f64>() / n as f64
        })
        .collect();
    let ww: f64 = w.iter().map(|v| v * v).sum();
    let a = w.iter().zip(&sigma_w).map(|(p, q)| p * q).sum::<f64>() / ww;
    // Power iteration on XXᵀ/n or XᵀX/n (same non-zero spectrum).
    let m = n.min(d);
    let gram = |i: usize, k: usize| -> f64 {
        if n < d {
            (0..d).map(|j| x(i, j) * x(k, j)).sum::<f64>() / n as f64
        } else {
            (0..n).map(|l| x(l, i) * x(l, k)).sum::<f64>() / n as f64
        }
    };
    let gm: Vec<Vec<f64>> = (0..m).map(|i| (0..m).map(|k| gram(i, k)).collect()).collect();
    let mut v = vec![1.0; m];
    let mut lam = 0.0;
    for _ in 0..2000 {
        let u: Vec<f64> = (0..m).map(|i| (0..m).map(|k| gm[i][k] * v[k]).sum()).collect();
        let nu = u.iter().map(|t| t * t).sum::<f64>().sqrt();
        lam = nu / v.iter().map(|t| t * t).sum::<f64>().sqrt();
        v = u.iter().map(|t| t / nu).collect();
    }
    (a, lam, ww.sqrt())
}

fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs())).unwrap();
        a.swap(c, p);
        b.swap(c, p);
        for r in c + 1..n {
            let f = a[r][c] / a[c][c];
            for k in c..n {
                a[r][k] -= f * a[c][k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        x[r] = (b[r] - (r + 1..n).map(|k| a[r][k] * x[k]).sum::<f64>()) / a[r][r];
    }
    x
}

fn num(v: f64) -> String {
    if (1e-4..1e15).contains(&v.abs()) { format!("{v}") } else { format!("{v:e}") }
}

/// An expected series name: exact, or a prefix (for names that carry measured numbers).
#[derive(Clone, Debug)]
enum Name {
    Exact(String),
    Prefix(String),
}

impl Name {
    fn matches(&self, s: &str) -> bool {
        match self {
            Name::Exact(n) => s == n,
            Name::Prefix(p) => s.starts_with(p.as_str()),
        }
    }
}

/// An expected series: (name, kind, reference value).
type Want = (Name, &'static str, Option<f64>);

/// The expected series of each panel of figures 1–6: (name, kind, reference value).
fn expected(fig: &FigureYaml, a: f64, lam: f64) -> Vec<Vec<Want>> {
    let s = &fig.settings;
    let l = s.depths[0] as f64;
    let line = |n: String| (Name::Exact(n), "line", None);
    let eta_line = |e: f64| line(format!("η = {}", num(e)));
    let two_over = |e: f64| (Name::Exact(format!("2/η, η = {}", num(e))), "hline", Some(2.0 / e));
    let lb = (Name::Exact("LB = 2La".into()), "hline", Some(2.0 * l * a));
    let upper = (Name::Exact("8LΛ".into()), "hline", Some(8.0 * l * lam));
    let small: Vec<f64> = s.rates.iter().map(|r| r.eta).filter(|&e| e < 0.09).collect();
    let all: Vec<f64> = s.rates.iter().map(|r| r.eta).collect();
    let sharp = |upper_line: bool, etas: &[f64]| {
        let mut v = vec![line("Initialization".into())];
        v.extend(etas.iter().map(|&e| eta_line(e)));
        v.extend(etas.iter().map(|&e| two_over(e)));
        v.push(lb.clone());
        if upper_line {
            v.push(upper.clone());
        }
        v
    };
    let curves = |upper_line: bool| {
        let mut c = vec![eta_line(0.02), eta_line(0.1), two_over(0.02), two_over(0.1), lb.clone()];
        if upper_line {
            c.push(upper.clone());
        }
        vec![vec![eta_line(0.02), eta_line(0.1)], c]
    };
    let dist_div = || {
        let mut d = vec![line("Initialization".into())];
        d.extend(all.iter().map(|&e| eta_line(e)));
        vec![d, all.iter().map(|&e| eta_line(e)).collect()]
    };
    match fig.figure.as_str() {
        "fig1" | "fig4" => {
            let upper_line = fig.figure == "fig1";
            let mut p = vec![sharp(upper_line, &small)];
            p.extend(curves(upper_line));
            p
        }
        "fig3" | "fig5" => dist_div(),
        "fig2" => {
            let mut v: Vec<_> = s.depths.iter().map(|d| line(format!("depth L = {d}"))).collect();
            v.extend(
                s.depths
                    .iter()
                    .map(|&d| (Name::Exact(format!("1/(La), L = {d}")), "vline", Some(1.0 / (d as f64 * a)))),
            );
            vec![v]
        }
        "fig6" => vec![
            sharp(true, &all),
            vec![
                (Name::Exact(format!("runs, η = {}", num(all[0]))), "scatter", None),
                (Name::Prefix("fit: slope".into()), "line", None),
            ],
        ],
        f => panic!("unexpected figure {f}"),
    }
}

/// Pixel of `v` on an axis mapped from [lo, hi] to the pixels [p0, p1] (the plotting area's
/// pixel range is end-exclusive, so its last pixel is end − 1).
fn pixel(v: f64, lo: f64, hi: f64, log: bool, p0: i32, p1: i32) -> f64 {
    let t = if log { (v.log10() - lo.log10()) / (hi.log10() - lo.log10()) } else { (v - lo) / (hi - lo) };
    p0 as f64 + t * (p1 - p0) as f64
}

/// The SVG against the manifest and the expected series: every series present with its kind,
/// reference lines at the expected values and at the pixels recomputed from the axis ranges,
/// one polyline per drawn line (colour, width, vertex count, inside its panel), scatter points
/// as circles, and no coloured polyline beyond the listed series.
fn check_plot(figure: &str, svg: &Svg, plot: &Manifest, want: &[Vec<Want>]) {
    assert_eq!((svg.width, svg.height), (plot.width, plot.height));
    assert_eq!(plot.panels.len(), want.len(), "{figure}: panels");
    let mut series_polylines = 0;
    for (pi, (panel, want)) in plot.panels.iter().zip(want).enumerate() {
        let tag = format!("{figure} panel {pi}");
        let names: Vec<&str> = panel.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), want.len(), "{tag}: series {names:?}, expected {want:?}");
        for (n, w) in names.iter().zip(want) {
            assert!(w.0.matches(n), "{tag}: series {n}, expected {:?}", w.0);
        }
        let [x0, y0, x1, y1] = panel.plot_area;
        for (s, w) in panel.series.iter().zip(want) {
            assert_eq!(s.kind, w.1, "{tag}: {}", s.name);
            if let Some(v) = w.2 {
                let got = s.value.unwrap();
                assert!((got - v).abs() <= 1e-9 * v.abs(), "{tag}: {} = {got}, expected {v}", s.name);
            }
            // Legend entry.
            if s.drawn && s.points > 0 {
                assert!(svg.texts.iter().any(|t| t == &s.name), "{tag}: legend text {}", s.name);
            }
            match s.kind.as_str() {
                "line" if s.points >= 2 => {
                    series_polylines += 1;
                    let found = svg.polylines.iter().any(|p| {
                        p.stroke == s.color
                            && p.width == s.stroke_width
                            && p.points.len() == s.points
                            && p.points
                                .iter()
                                .all(|&(x, y)| x >= x0 - 1 && x <= x1 + 1 && y >= y0 - 1 && y <= y1 + 1)
                    });
                    assert!(found, "{tag}: no polyline for {} ({} points)", s.name, s.points);
                }
                "hline" | "vline" if s.drawn => {
                    series_polylines += 1;
                    let v = s.value.unwrap();
                    let horizontal = s.kind == "hline";
                    let expect = if horizontal {
                        pixel(v, panel.y_range[0], panel.y_range[1], panel.y_log, y1 - 1, y0)
                    } else {
                        pixel(v, panel.x_range[0], panel.x_range[1], panel.x_log, x0, x1 - 1)
                    };
                    let px = s.pixel.unwrap();
                    assert!(
                        (px as f64 - expect).abs() <= 1.0,
                        "{tag}: {} at pixel {px}, expected {expect:.1}",
                        s.name
                    );
                    let found = svg.polylines.iter().any(|p| {
                        p.stroke == s.color
                            && p.width == s.stroke_width
                            && p.points.len() == 2
                            && if horizontal {
                                p.points.iter().all(|q| q.1 == px)
                                    && (p.points[0].0 - x0).abs() <= 1
                                    && (p.points[1].0 - x1).abs() <= 1
                            } else {
                                p.points.iter().all(|q| q.0 == px)
                            }
                    });
                    assert!(found, "{tag}: no reference polyline for {} at {px}", s.name);
                }
                "scatter" => {
                    let n = svg
                        .circles
                        .iter()
                        .filter(|c| c.2 == s.color && c.3 == "0.6" && c.0 >= x0 && c.0 <= x1)
                        .count();
                    assert_eq!(n, s.points, "{tag}: scatter points");
                    assert!(s.points > 0);
                }
                _ => {}
            }
        }
    }
    // Every coloured polyline of the SVG is one of the manifest's series (the others are the
    // black axes and ticks).
    let coloured = svg.polylines.iter().filter(|p| p.stroke != "#000000").count();
    assert_eq!(coloured, series_polylines, "{figure}: polylines beyond the listed series");
}

fn check_figure(dir: &Path, fig: &FigureYaml) {
    let (a, lam, wn) = a_and_lambda(fig.settings.n, fig.settings.d, fig.settings.data_seed);
    assert!((wn - 1.0).abs() < 1e-9, "‖w*‖ is normalised to 1, got {wn}");
    for f in &fig.data {
        if fig.figure == "fig2" || fig.figure == "fig4" || fig.figure == "fig5" {
            assert!((f.head_norm - 1.0).abs() < 1e-12, "unit p at depth {}", f.depth);
        }
    }
    let svg = parse_svg(&std::fs::read_to_string(dir.join(&fig.files.svg)).unwrap());
    check_plot(&fig.figure, &svg, &fig.plot, &expected(fig, a, lam));
    assert!(
        fig.stability.checks.iter().all(|c| c.holds),
        "{}: failed checks {:?}",
        fig.figure,
        fig.stability.checks.iter().filter(|c| !c.holds).map(|c| &c.name).collect::<Vec<_>>()
    );
    // CSV: one line per run, every column filled.
    let csv = std::fs::read_to_string(dir.join(&fig.files.runs_csv)).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.len(), dlncheck::figures::csv::RUN_COLUMNS.len());
    assert_eq!(header[..3], ["experiment", "arch", "depth"]);
    let rows: Vec<&str> = lines.collect();
    let s = &fig.settings;
    let runs = s.depths.len() * s.scales.len() * s.rates.iter().map(|r| r.reps).sum::<usize>();
    assert_eq!(rows.len(), runs, "{}: one CSV line per run", fig.figure);
    assert!(rows.iter().all(|r| r.split(',').count() == header.len()));
    if let Some(c) = &fig.files.curves_csv {
        let text = std::fs::read_to_string(dir.join(c)).unwrap();
        assert!(text.lines().count() > 2 * 400, "{c}: a line per step of two curves");
    }
}

// ---------------------------------------------------------------------------------------------
// Figures 7 and 8 (Jacot et al.): the saddle-to-saddle gradient flows
// ---------------------------------------------------------------------------------------------

#[derive(serde::Deserialize)]
struct StaircaseYaml {
    figure: String,
    settings: StaircaseSettings,
    files: Files,
    checks: Vec<Check>,
    trajectories: Vec<Trajectory>,
    plot: Manifest,
}
#[derive(serde::Deserialize)]
struct Instance {
    dim: usize,
    width: usize,
    sigma: Vec<f64>,
}
#[derive(serde::Deserialize)]
struct StaircaseSettings {
    instance: Instance,
    seed: u64,
    depths: Vec<usize>,
    eps_small: Vec<f64>,
    eps_large: f64,
    plateaus: PlateauRule,
}
#[derive(serde::Deserialize)]
struct PlateauRule {
    min_duration: f64,
    min_ratio: f64,
    level_tol: f64,
}
#[derive(serde::Deserialize)]
struct Trajectory {
    depth: usize,
    init: String,
    eps: f64,
    snapshots: usize,
    rank_steps: Vec<RankStep>,
    plateaus: Vec<Plateau>,
}
#[derive(serde::Deserialize, Debug, PartialEq)]
struct RankStep {
    t: f64,
    from: usize,
    to: usize,
}
#[derive(serde::Deserialize)]
struct Plateau {
    start: f64,
    end: f64,
    k: usize,
    expected: f64,
    rank: usize,
}

#[derive(serde::Deserialize)]
struct EscapeYaml {
    figure: String,
    settings: EscapeSettings,
    files: Files,
    checks: Vec<Check>,
    fits: Vec<EscapeFitY>,
    plot: Manifest,
}
#[derive(serde::Deserialize)]
struct EscapeSettings {
    instance: Instance,
    depths: Vec<usize>,
    n_eps: usize,
    reps: usize,
    seeds: Vec<u64>,
    confidence: f64,
}
#[derive(serde::Deserialize)]
struct EscapeFitY {
    depth: usize,
    mode: usize,
    n: usize,
    slope: f64,
    slope_lo: f64,
    slope_hi: f64,
    intercept: f64,
}

/// CSV rows as maps from column name to field.
fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(String::from).collect()).collect();
    assert!(rows.iter().all(|r| r.len() == header.len()), "{}: every column filled", path.display());
    (header, rows)
}

/// The singular values of the figure target Y, descending, from the eigenvalues of YᵀY by
/// cyclic Jacobi rotations (independent of faer's SVD).
fn target_singular_values(dim: usize, width: usize, sigma: &[f64], seed: u64) -> Vec<f64> {
    let inst = dlncheck::lowrank::denoising_instance(dim, width, 2, sigma, seed);
    let y = match &inst.problem.objective {
        dlncheck::engine::objective::Objective::Matrix { target } => target.clone(),
        _ => panic!("denoising is ½‖A − Y‖²"),
    };
    let n = y.ncols();
    let mut g: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| (0..y.nrows()).map(|k| y[(k, i)] * y[(k, j)]).sum()).collect())
        .collect();
    for _ in 0..100 {
        for p in 0..n {
            for q in p + 1..n {
                if g[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = 0.5 * (2.0 * g[p][q]).atan2(g[q][q] - g[p][p]);
                let (c, s) = (theta.cos(), theta.sin());
                for k in 0..n {
                    let (a, b) = (g[k][p], g[k][q]);
                    g[k][p] = c * a - s * b;
                    g[k][q] = s * a + c * b;
                }
                for k in 0..n {
                    let (a, b) = (g[p][k], g[q][k]);
                    g[p][k] = c * a - s * b;
                    g[q][k] = s * a + c * b;
                }
            }
        }
    }
    let mut sv: Vec<f64> = (0..n).map(|i| g[i][i].max(0.0).sqrt()).collect();
    sv.sort_by(|a, b| b.total_cmp(a));
    sv
}

/// The longest stretch of consecutive snapshots whose loss is within `tol` (relative) of
/// `level`: (start, end, ranks on it).
fn stretch_near(
    t: &[f64],
    loss: &[f64],
    rank: &[usize],
    level: f64,
    tol: f64,
) -> Option<(f64, f64, Vec<usize>)> {
    let mut best: Option<(f64, f64, Vec<usize>)> = None;
    let mut i = 0;
    while i < t.len() {
        if (loss[i] / level - 1.0).abs() > tol {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < t.len() && (loss[j + 1] / level - 1.0).abs() <= tol {
            j += 1;
        }
        if best.as_ref().is_none_or(|b| t[j] - t[i] > b.1 - b.0) {
            best = Some((t[i], t[j], rank[i..=j].to_vec()));
        }
        i = j + 1;
    }
    best
}

/// Figure 7: the plateau levels ½Σ_{i>k}σ_i² recomputed from the target's singular values
/// (Jacobi on YᵀY), drawn at their pixels; the CSV's small-initialisation flows stay within the
/// level tolerance of each level for a long stretch at rank k, in order, and the large ones
/// never; the rank climbs 0 → 1 → … → r by single steps; the YAML's steps and plateaus agree
/// with the CSV.
fn check_staircase(dir: &Path) {
    let fig: StaircaseYaml =
        dlncheck::io::yaml::from_str(&std::fs::read_to_string(dir.join("fig7.yaml")).unwrap()).unwrap();
    assert_eq!(fig.figure, "fig7");
    let s = &fig.settings;
    let sv = target_singular_values(s.instance.dim, s.instance.width, &s.instance.sigma, s.seed);
    let r = s.instance.sigma.len();
    for (k, (a, b)) in sv.iter().zip(&s.instance.sigma).enumerate() {
        assert!((a - b).abs() < 1e-10, "σ_{} of Y = {a}, settings say {b}", k + 1);
    }
    assert!(sv[r..].iter().all(|&x| x < 1e-6), "Y has rank {r}: {sv:?}");
    // ½Σ_{i>k}σ_i² with i counted from 1: σ_{k+1}, …, σ_r (and Y's numerically zero tail).
    let levels: Vec<f64> = (0..r).map(|k| 0.5 * sv[k..].iter().map(|x| x * x).sum::<f64>()).collect();
    assert!(
        (levels[0] - 10.5).abs() < 1e-9 && (levels[1] - 2.5).abs() < 1e-9 && (levels[2] - 0.5).abs() < 1e-9
    );
    // Plot: per depth, a loss panel with the levels and a rank panel with rank Y.
    let want: Vec<Vec<Want>> = s
        .depths
        .iter()
        .flat_map(|_| {
            let data = || {
                vec![
                    (Name::Prefix("small init, ε = ".into()), "line", None),
                    (Name::Prefix("large init, ε = ".into()), "line", None),
                ]
            };
            let mut loss = data();
            for (k, &l) in levels.iter().enumerate() {
                // The legend rounds like the CSVs; the value is checked to 1e-9.
                loss.push((Name::Prefix(format!("½Σ_{{i>{k}}}σ_i² = ")), "hline", Some(l)));
            }
            let mut rank = data();
            rank.push((Name::Exact(format!("rank Y = {r}")), "hline", Some(r as f64)));
            [loss, rank]
        })
        .collect();
    let svg = parse_svg(&std::fs::read_to_string(dir.join(&fig.files.svg)).unwrap());
    check_plot("fig7", &svg, &fig.plot, &want);
    assert!(fig.checks.iter().all(|c| c.holds), "fig7: failed checks");
    // CSV: every snapshot of every flow.
    let (header, rows) = csv_rows(&dir.join(&fig.files.runs_csv));
    assert_eq!(header, dlncheck::figures::csv::TRAJECTORY_COLUMNS);
    assert_eq!(fig.trajectories.len(), 2 * s.depths.len());
    for (di, &depth) in s.depths.iter().enumerate() {
        for (ii, init) in ["small", "large"].into_iter().enumerate() {
            let tag = format!("fig7 L = {depth} {init}");
            let traj = &fig.trajectories[2 * di + ii];
            assert_eq!((traj.depth, traj.init.as_str()), (depth, init));
            let eps = if init == "small" { s.eps_small[di] } else { s.eps_large };
            assert_eq!(traj.eps, eps);
            let mine: Vec<&Vec<String>> =
                rows.iter().filter(|r| r[1] == depth.to_string() && r[2] == init).collect();
            assert_eq!(mine.len(), traj.snapshots, "{tag}: one row per snapshot");
            assert!(mine.iter().all(|r| r[0] == "staircase" && r[4] == s.seed.to_string()));
            assert!(mine.iter().all(|r| r[3].parse::<f64>().unwrap() == eps));
            let t: Vec<f64> = mine.iter().map(|r| r[5].parse().unwrap()).collect();
            let loss: Vec<f64> = mine.iter().map(|r| r[6].parse().unwrap()).collect();
            let rank: Vec<usize> = mine.iter().map(|r| r[7].parse().unwrap()).collect();
            assert!(t[0] == 0.0 && t.windows(2).all(|w| w[0] < w[1]), "{tag}: increasing times");
            // The drawn series: every snapshot of the rank, the loss until it leaves the axis.
            let (loss_panel, rank_panel) = (&fig.plot.panels[2 * di], &fig.plot.panels[2 * di + 1]);
            let lo = loss_panel.y_range[0];
            let drawn = loss.iter().position(|&l| l < lo).map_or(loss.len(), |j| j + 1);
            assert_eq!(loss_panel.series[ii].points, drawn, "{tag}: loss vertices");
            assert_eq!(rank_panel.series[ii].points, t.len(), "{tag}: rank vertices");
            // Rank steps, from the CSV.
            let steps: Vec<RankStep> = (1..t.len())
                .filter(|&j| rank[j] != rank[j - 1])
                .map(|j| RankStep { t: t[j], from: rank[j - 1], to: rank[j] })
                .collect();
            assert_eq!(steps, traj.rank_steps, "{tag}: rank steps");
            let near: Vec<Option<(f64, f64, Vec<usize>)>> =
                levels.iter().map(|&l| stretch_near(&t, &loss, &rank, l, s.plateaus.level_tol)).collect();
            let long = |n: &Option<(f64, f64, Vec<usize>)>| {
                n.as_ref().is_some_and(|(a, b, _)| {
                    b - a >= s.plateaus.min_duration && *b >= s.plateaus.min_ratio * a
                })
            };
            if init == "small" {
                assert_eq!(rank[0], 0, "{tag}: starts at rank 0");
                assert!(steps.iter().all(|s| s.to == s.from + 1), "{tag}: one mode at a time: {steps:?}");
                assert_eq!(*rank.last().unwrap(), r, "{tag}: ends at rank Y");
                let mut last_end = -1.0;
                for (k, n) in near.iter().enumerate() {
                    assert!(long(n), "{tag}: no plateau at ½Σ_{{i>{k}}}σ_i² = {}", levels[k]);
                    let (a, b, ranks) = n.as_ref().unwrap();
                    assert!(*a > last_end, "{tag}: plateau {k} after plateau {}", k as i64 - 1);
                    assert!(ranks.iter().all(|&x| x == k), "{tag}: rank {k} on plateau {k}: {ranks:?}");
                    last_end = *b;
                    // The library's plateau k covers the same stretch.
                    let p = &traj.plateaus[k];
                    assert_eq!((p.k, p.rank), (k, k), "{tag}");
                    assert!((p.expected - levels[k]).abs() < 1e-9 * levels[k]);
                    assert!(
                        p.start <= *b && *a <= p.end,
                        "{tag}: plateau {k} [{}, {}] vs [{a}, {b}]",
                        p.start,
                        p.end
                    );
                }
                assert_eq!(traj.plateaus.len(), r, "{tag}: r plateaus");
            } else {
                assert!(rank[0] > 0, "{tag}: A starts away from the origin");
                assert!(near.iter().all(|n| !long(n)), "{tag}: a plateau from large ε");
                assert!(traj.plateaus.is_empty(), "{tag}");
            }
        }
    }
}

/// Figure 8: the ε grid recomputed from the stated ranges; escape times in order of σ and
/// growing as ε shrinks; per (depth, mode) the common-slope least-squares fit over instances
/// recomputed from the CSV (slope, 95 % interval, the drawn line's end pixels) and against the
/// theory: slope·σ_k ≈ 1 for L = 2, exponent ≈ L − 2 for L ≥ 3 (within 10 %).
fn check_escape(dir: &Path) {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let fig: EscapeYaml =
        dlncheck::io::yaml::from_str(&std::fs::read_to_string(dir.join("fig8.yaml")).unwrap()).unwrap();
    assert_eq!(fig.figure, "fig8");
    let s = &fig.settings;
    let r = s.instance.sigma.len();
    let sigma = &s.instance.sigma;
    let (header, rows) = csv_rows(&dir.join(&fig.files.runs_csv));
    assert_eq!(header, dlncheck::figures::csv::ESCAPE_COLUMNS);
    assert_eq!(
        rows.len(),
        s.depths.len() * s.reps * s.n_eps * r,
        "fig8: one row per (depth, instance, ε, mode)"
    );
    assert_eq!(s.seeds.len(), s.reps);
    let mut seeds = s.seeds.clone();
    seeds.dedup();
    assert_eq!(seeds.len(), s.reps, "one seed per instance");
    let f64_at = |row: &Vec<String>, i: usize| row[i].parse::<f64>().unwrap();
    let mut want = Vec::new();
    for (di, &depth) in s.depths.iter().enumerate() {
        let tag = format!("fig8 L = {depth}");
        // ε: geometric from 10⁻⁶ to 10⁻⁹ (L = 2), ε^{L−2} from 5·10⁻⁴ to 5·10⁻⁵ (L ≥ 3).
        let (hi, lo) = if depth == 2 {
            (1e-6, 1e-9)
        } else {
            let p = 1.0 / (depth as f64 - 2.0);
            (5e-4f64.powf(p), 5e-5f64.powf(p))
        };
        let grid: Vec<f64> =
            (0..s.n_eps).map(|i| hi * (lo / hi).powf(i as f64 / (s.n_eps - 1) as f64)).collect();
        // times[rep][j][k]
        let mut times = vec![vec![vec![f64::NAN; r]; s.n_eps]; s.reps];
        for row in rows.iter().filter(|row| row[1] == depth.to_string()) {
            assert_eq!(row[0], "escape_time");
            let rep: usize = row[2].parse().unwrap();
            assert_eq!(row[3], s.seeds[rep].to_string());
            let eps = f64_at(row, 4);
            let j = grid.iter().position(|g| (g - eps).abs() <= 1e-12 * g).expect("ε on the grid");
            let k: usize = row[5].parse::<usize>().unwrap() - 1;
            assert_eq!(f64_at(row, 6), sigma[k]);
            times[rep][j][k] = f64_at(row, 7);
        }
        for rep in 0..s.reps {
            for j in 0..s.n_eps {
                let t = &times[rep][j];
                assert!(t.iter().all(|x| x.is_finite() && *x > 0.0), "{tag}: every mode escapes");
                assert!(t.windows(2).all(|w| w[0] < w[1]), "{tag}: largest σ first: {t:?}");
            }
            for k in 0..r {
                assert!(
                    (1..s.n_eps).all(|j| times[rep][j][k] > times[rep][j - 1][k]),
                    "{tag}: smaller ε escapes later"
                );
            }
        }
        let panel = &fig.plot.panels[di];
        let [x0, y0, x1, y1] = panel.plot_area;
        let svg = parse_svg(&std::fs::read_to_string(dir.join(&fig.files.svg)).unwrap());
        let mut panel_want = Vec::new();
        for k in 0..r {
            // Common slope, one intercept per instance, by normal equations on centred data.
            let deep = depth >= 3;
            let y = |t: f64| if deep { t.ln() } else { t };
            let (mut sxx, mut sxy, mut n) = (0.0, 0.0, 0usize);
            let mut means = Vec::new();
            for rep in 0..s.reps {
                let xs: Vec<f64> = grid.iter().map(|e| (1.0 / e).ln()).collect();
                let ys: Vec<f64> = (0..s.n_eps).map(|j| y(times[rep][j][k])).collect();
                let (xm, ym) =
                    (xs.iter().sum::<f64>() / xs.len() as f64, ys.iter().sum::<f64>() / ys.len() as f64);
                for (a, b) in xs.iter().zip(&ys) {
                    sxx += (a - xm) * (a - xm);
                    sxy += (a - xm) * (b - ym);
                }
                n += xs.len();
                means.push((xm, ym, xs, ys));
            }
            let slope = sxy / sxx;
            let intercepts: Vec<f64> = means.iter().map(|(xm, ym, _, _)| ym - slope * xm).collect();
            let sse: f64 = means
                .iter()
                .zip(&intercepts)
                .map(|((_, _, xs, ys), a)| {
                    xs.iter().zip(ys).map(|(x, y)| (y - a - slope * x).powi(2)).sum::<f64>()
                })
                .sum();
            let df = (n - s.reps - 1) as f64;
            let half = StudentsT::new(0.0, 1.0, df).unwrap().inverse_cdf(0.5 + 0.5 * s.confidence)
                * (sse / df / sxx).sqrt();
            let f = fig.fits.iter().find(|f| f.depth == depth && f.mode == k + 1).expect("a fit per mode");
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1e-3);
            assert_eq!(f.n, n);
            assert!(close(f.slope, slope), "{tag} mode {}: slope {} vs {slope}", k + 1, f.slope);
            assert!(close(f.slope_lo, slope - half) && close(f.slope_hi, slope + half), "{tag}: interval");
            let intercept = intercepts.iter().sum::<f64>() / intercepts.len() as f64;
            assert!(close(f.intercept, intercept), "{tag}: intercept");
            // The theory.
            let ratio = if deep { slope / (depth as f64 - 2.0) } else { slope * sigma[k] };
            assert!((ratio - 1.0).abs() <= 0.1, "{tag} mode {}: slope/theory = {ratio}", k + 1);
            // The drawn fit line runs from (ε_max, t̂(ε_max)) to (ε_min, t̂(ε_min)).
            let series = &panel.series[2 * k + 1];
            let predict = |e: f64| {
                let v = intercept + slope * (1.0 / e).ln();
                if deep { v.exp() } else { v }
            };
            let px = |e: f64| pixel(e, panel.x_range[0], panel.x_range[1], true, x0, x1 - 1);
            let py = |t: f64| pixel(t, panel.y_range[0], panel.y_range[1], panel.y_log, y1 - 1, y0);
            let line = svg
                .polylines
                .iter()
                .find(|p| {
                    p.stroke == series.color
                        && p.points.len() == 2
                        && p.points.iter().all(|&(x, _)| x >= x0 - 1 && x <= x1 + 1)
                })
                .expect("the fit's polyline");
            for (q, e) in line.points.iter().zip([hi, lo]) {
                assert!(
                    (q.0 as f64 - px(e)).abs() <= 1.0 && (q.1 as f64 - py(predict(e))).abs() <= 1.0,
                    "{tag} mode {}: fit vertex {q:?}, expected ({:.1}, {:.1})",
                    k + 1,
                    px(e),
                    py(predict(e))
                );
            }
            assert_eq!(panel.series[2 * k].points, s.reps * s.n_eps, "{tag}: every escape time drawn");
            panel_want.push((Name::Exact(format!("mode {}, σ = {}", k + 1, num(sigma[k]))), "scatter", None));
            panel_want.push((Name::Prefix(format!("fit mode {}: ", k + 1)), "line", None));
        }
        want.push(panel_want);
    }
    let svg = parse_svg(&std::fs::read_to_string(dir.join(&fig.files.svg)).unwrap());
    check_plot("fig8", &svg, &fig.plot, &want);
    assert!(fig.checks.iter().all(|c| c.holds), "fig8: failed checks");
}

#[test]
fn quick_figures_have_the_papers_shape() {
    let dir = temp_dir("quick");
    let (code, out, err) = figures(&dir, &[], "2");
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let report: Vec<Report> = dlncheck::io::yaml::from_str(&out).unwrap();
    assert_eq!(report.len(), 6, "six experiments");
    assert!(report.iter().all(|r| r.checks_hold), "{out}");
    let figs: Vec<&str> = report.iter().flat_map(|r| r.figures.iter().map(|s| s.as_str())).collect();
    assert_eq!(figs, ["fig1", "fig3", "fig2", "fig4", "fig5", "fig6", "fig7", "fig8"]);
    for name in ["fig7", "fig8"] {
        for ext in ["svg", "csv", "yaml"] {
            assert!(dir.join(format!("{name}.{ext}")).is_file(), "{name}.{ext} missing");
        }
    }
    check_staircase(&dir);
    check_escape(&dir);
    for name in ["fig1", "fig2", "fig3", "fig4", "fig5", "fig6"] {
        for ext in ["svg", "csv", "yaml"] {
            assert!(dir.join(format!("{name}.{ext}")).is_file(), "{name}.{ext} missing");
        }
        let fig: FigureYaml =
            dlncheck::io::yaml::from_str(&std::fs::read_to_string(dir.join(format!("{name}.yaml"))).unwrap())
                .unwrap();
        assert_eq!(fig.figure, name);
        check_figure(&dir, &fig);
        if name == "fig6" {
            let g = fig.gap_fit.expect("figure 6 has the fit");
            let f = g.fit.expect("enough runs for a fit");
            assert_eq!(f.n, g.used);
            assert!(
                f.slope.is_finite() && (0.0..=1.0).contains(&f.r_squared) && (0.0..=1.0).contains(&f.p_value)
            );
        }
    }
    for c in ["fig1_curves.csv", "fig4_curves.csv"] {
        assert!(dir.join(c).is_file());
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn figure_files_are_bit_identical_across_thread_counts() {
    let (d1, d2) = (temp_dir("t1"), temp_dir("t2"));
    for (d, t) in [(&d1, "1"), (&d2, "2")] {
        let (code, out, err) = figures(d, &["--only", "fig6,fig7", "--only", "fig8"], t);
        assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    }
    for f in ["fig6", "fig7", "fig8"].iter().flat_map(|n| ["csv", "yaml", "svg"].map(|e| format!("{n}.{e}")))
    {
        let (a, b) = (std::fs::read(d1.join(&f)).unwrap(), std::fs::read(d2.join(&f)).unwrap());
        assert!(a == b, "{f} differs between 1 and 2 threads");
    }
    assert!(!d1.join("fig1.svg").exists(), "--only writes only the figures asked for");
    std::fs::remove_dir_all(&d1).ok();
    std::fs::remove_dir_all(&d2).ok();
}

#[test]
fn bad_arguments_are_rejected() {
    let dir = temp_dir("bad");
    let (code, _, err) = figures(&dir, &["--only", "fig9"], "1");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("fig9"), "{err}");
    let (code, _, err) = figures(&dir, &["--reps-scale", "0"], "1");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--reps-scale"), "{err}");
}
