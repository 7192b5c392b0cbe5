//! `dlncheck figures --quick`, the Jacot et al. figures jgshg-staircase and jgshg-escape: the plateau levels ½Σ_{i>k}σ_i²
//! from the target's singular values (Jacobi on YᵀY), the plateaus and rank steps re-read from
//! the CSV of every snapshot, and the escape-time slopes, intervals and drawn fit lines refitted
//! from the CSV; the plots against their manifests as for figures 1–6.
#![allow(clippy::needless_range_loop)] // Jacobi rotations and the escape-time tables read best with indices

#[path = "common/figures.rs"]
mod figures_common;

use figures_common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static RUN: OnceLock<(PathBuf, String)> = OnceLock::new();

/// The quick run of figures 7 and 8.
fn run() -> &'static Path {
    &quick_run(&RUN, "figures-saddle", &["--only", "jgshg-staircase,jgshg-escape"]).0
}

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

/// jgshg-staircase: the plateau levels ½Σ_{i>k}σ_i² recomputed from the target's singular values
/// (Jacobi on YᵀY), drawn at their pixels; the CSV's small-initialisation flows stay within the
/// level tolerance of each level for a long stretch at rank k, in order, and the large ones
/// never; the rank climbs 0 → 1 → … → r by single steps; the YAML's steps and plateaus agree
/// with the CSV.
fn check_staircase(dir: &Path) {
    let fig: StaircaseYaml =
        dlncheck::io::yaml::from_str(&std::fs::read_to_string(dir.join("jgshg-staircase.yaml")).unwrap())
            .unwrap();
    assert_eq!(fig.figure, "jgshg-staircase");
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
    check_plot("jgshg-staircase", &svg, &fig.plot, &want);
    assert!(fig.checks.iter().all(|c| c.holds), "jgshg-staircase: failed checks");
    // CSV: every snapshot of every flow.
    let csv = Csv::read(&dir.join(&fig.files.runs_csv));
    assert_eq!(csv.header, dlncheck::figures::csv::TRAJECTORY_COLUMNS);
    assert_eq!(fig.trajectories.len(), 2 * s.depths.len());
    for (di, &depth) in s.depths.iter().enumerate() {
        for (ii, init) in ["small", "large"].into_iter().enumerate() {
            let tag = format!("jgshg-staircase L = {depth} {init}");
            let traj = &fig.trajectories[2 * di + ii];
            assert_eq!((traj.depth, traj.init.as_str()), (depth, init));
            let eps = if init == "small" { s.eps_small[di] } else { s.eps_large };
            assert_eq!(traj.eps, eps);
            let mine: Vec<Row> = csv
                .records()
                .filter(|r| r.get("depth") == depth.to_string() && r.get("init") == init)
                .collect();
            assert_eq!(mine.len(), traj.snapshots, "{tag}: one row per snapshot");
            assert!(
                mine.iter()
                    .all(|r| r.get("experiment") == "staircase" && r.get("seed") == s.seed.to_string())
            );
            assert!(mine.iter().all(|r| r.f64("eps") == eps));
            let t: Vec<f64> = mine.iter().map(|r| r.f64("t")).collect();
            let loss: Vec<f64> = mine.iter().map(|r| r.f64("loss")).collect();
            let rank: Vec<usize> = mine.iter().map(|r| r.parse("rank")).collect();
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

/// jgshg-escape: the ε grid recomputed from the stated ranges; escape times in order of σ and
/// growing as ε shrinks; per (depth, mode) the common-slope least-squares fit over instances
/// recomputed from the CSV (slope, 95 % interval, the drawn line's end pixels) and against the
/// theory: slope·σ_k ≈ 1 for L = 2, exponent ≈ L − 2 for L ≥ 3 (within 10 %).
fn check_escape(dir: &Path) {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let fig: EscapeYaml =
        dlncheck::io::yaml::from_str(&std::fs::read_to_string(dir.join("jgshg-escape.yaml")).unwrap())
            .unwrap();
    assert_eq!(fig.figure, "jgshg-escape");
    let s = &fig.settings;
    let r = s.instance.sigma.len();
    let sigma = &s.instance.sigma;
    let csv = Csv::read(&dir.join(&fig.files.runs_csv));
    assert_eq!(csv.header, dlncheck::figures::csv::ESCAPE_COLUMNS);
    assert_eq!(
        csv.rows.len(),
        s.depths.len() * s.reps * s.n_eps * r,
        "jgshg-escape: one row per (depth, instance, ε, mode)"
    );
    assert_eq!(s.seeds.len(), s.reps);
    let mut seeds = s.seeds.clone();
    seeds.dedup();
    assert_eq!(seeds.len(), s.reps, "one seed per instance");
    let mut want = Vec::new();
    for (di, &depth) in s.depths.iter().enumerate() {
        let tag = format!("jgshg-escape L = {depth}");
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
        for row in csv.records().filter(|row| row.get("depth") == depth.to_string()) {
            assert_eq!(row.get("experiment"), "escape_time");
            let rep: usize = row.parse("rep");
            assert_eq!(row.get("seed"), s.seeds[rep].to_string());
            let eps = row.f64("eps");
            let j = grid.iter().position(|g| (g - eps).abs() <= 1e-12 * g).expect("ε on the grid");
            let k: usize = row.parse::<usize>("mode") - 1;
            assert_eq!(row.f64("sigma"), sigma[k]);
            times[rep][j][k] = row.f64("escape_time");
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
    check_plot("jgshg-escape", &svg, &fig.plot, &want);
    assert!(fig.checks.iter().all(|c| c.holds), "jgshg-escape: failed checks");
}

#[test]
fn jgshg_staircase_loss_plateaus_and_rank_staircase() {
    assert_files(run(), "jgshg-staircase");
    check_staircase(run());
}

#[test]
fn jgshg_escape_escape_times_and_their_slopes() {
    assert_files(run(), "jgshg-escape");
    check_escape(run());
}
