//! `dlncheck figures --quick` as a user meets it: every file exists, each SVG is well-formed
//! XML whose polylines are exactly the series and reference lines its manifest lists, the
//! reference lines sit at the right values (LB = 2La, 8LΛ, 1/(La), recomputed here from the
//! data by an independent least-squares solve and power iteration) and at the right pixels
//! (recomputed from the axis ranges), and the CSVs are bit-identical for 1 and 2 threads.
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
    let pd = dlncheck::data::paper(n, n, d, 1.0, true, seed);
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

/// The expected series of each panel: (name, kind, reference value).
fn expected(fig: &FigureYaml, a: f64, lam: f64) -> Vec<Vec<(String, &'static str, Option<f64>)>> {
    let s = &fig.settings;
    let l = s.depths[0] as f64;
    let line = |n: String| (n, "line", None);
    let eta_line = |e: f64| line(format!("η = {}", num(e)));
    let two_over = |e: f64| (format!("2/η, η = {}", num(e)), "hline", Some(2.0 / e));
    let lb = ("LB = 2La".to_string(), "hline", Some(2.0 * l * a));
    let upper = ("8LΛ".to_string(), "hline", Some(8.0 * l * lam));
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
                s.depths.iter().map(|&d| (format!("1/(La), L = {d}"), "vline", Some(1.0 / (d as f64 * a)))),
            );
            vec![v]
        }
        "fig6" => vec![
            sharp(true, &all),
            vec![(format!("runs, η = {}", num(all[0])), "scatter", None), ("fit".into(), "line", None)],
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

fn check_figure(dir: &Path, fig: &FigureYaml) {
    let (a, lam, wn) = a_and_lambda(fig.settings.n, fig.settings.d, fig.settings.data_seed);
    assert!((wn - 1.0).abs() < 1e-9, "‖w*‖ is normalised to 1, got {wn}");
    for f in &fig.data {
        if fig.figure == "fig2" || fig.figure == "fig4" || fig.figure == "fig5" {
            assert!((f.head_norm - 1.0).abs() < 1e-12, "unit p at depth {}", f.depth);
        }
    }
    let svg = parse_svg(&std::fs::read_to_string(dir.join(&fig.files.svg)).unwrap());
    assert_eq!((svg.width, svg.height), (fig.plot.width, fig.plot.height));
    let want = expected(fig, a, lam);
    assert_eq!(fig.plot.panels.len(), want.len(), "{}: panels", fig.figure);
    let mut series_polylines = 0;
    for (pi, (panel, want)) in fig.plot.panels.iter().zip(&want).enumerate() {
        let tag = format!("{} panel {pi}", fig.figure);
        let names: Vec<&str> = panel.series.iter().map(|s| s.name.as_str()).collect();
        let want_names: Vec<&str> = want.iter().map(|w| w.0.as_str()).collect();
        if fig.figure == "fig6" && pi == 1 {
            assert_eq!(names[0], want_names[0], "{tag}");
            assert!(names[1].starts_with("fit: slope"), "{tag}: {}", names[1]);
        } else {
            assert_eq!(names, want_names, "{tag}: series");
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
    assert_eq!(coloured, series_polylines, "{}: polylines beyond the listed series", fig.figure);
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

#[test]
fn quick_figures_have_the_papers_shape() {
    let dir = temp_dir("quick");
    let (code, out, err) = figures(&dir, &[], "2");
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let report: Vec<Report> = dlncheck::yaml::from_str(&out).unwrap();
    assert_eq!(report.len(), 4, "four experiments");
    assert!(report.iter().all(|r| r.checks_hold), "{out}");
    let figs: Vec<&str> = report.iter().flat_map(|r| r.figures.iter().map(|s| s.as_str())).collect();
    assert_eq!(figs, ["fig1", "fig3", "fig2", "fig4", "fig5", "fig6"]);
    for name in ["fig1", "fig2", "fig3", "fig4", "fig5", "fig6"] {
        for ext in ["svg", "csv", "yaml"] {
            assert!(dir.join(format!("{name}.{ext}")).is_file(), "{name}.{ext} missing");
        }
        let fig: FigureYaml =
            dlncheck::yaml::from_str(&std::fs::read_to_string(dir.join(format!("{name}.yaml"))).unwrap())
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
        let (code, out, err) = figures(d, &["--only", "fig6"], t);
        assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    }
    for f in ["fig6.csv", "fig6.yaml", "fig6.svg"] {
        let (a, b) = (std::fs::read(d1.join(f)).unwrap(), std::fs::read(d2.join(f)).unwrap());
        assert!(a == b, "{f} differs between 1 and 2 threads");
    }
    assert!(!d1.join("fig1.svg").exists(), "--only fig6 writes only figure 6");
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
