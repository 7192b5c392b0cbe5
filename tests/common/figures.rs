//! Helpers of the figure tests (`tests/figures*.rs`): running `dlncheck figures`, reading its
//! SVG (as XML), its plot manifest and its CSVs (columns by header name), and checking a plot
//! against the series expected in each panel. Included by those files with `#[path]`, so that the
//! other test binaries do not compile it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn figures(out: &Path, extra: &[&str], threads: &str) -> (i32, String, String) {
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

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dlncheck-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `dlncheck figures --quick` with `extra` into `target/tmp/<name>`, run once per test binary
/// (2 threads); the directory and the report printed on standard output.
pub fn quick_run(
    cell: &'static OnceLock<(PathBuf, String)>,
    name: &str,
    extra: &[&str],
) -> &'static (PathBuf, String) {
    cell.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        let (code, out, err) = figures(&dir, extra, "2");
        assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
        (dir, out)
    })
}

/// A YAML file of the output directory, read into `T`.
pub fn read_yaml<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> T {
    dlncheck::io::yaml::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
}

/// Asserts that `name`.svg, .csv and .yaml exist in `dir`.
pub fn assert_files(dir: &Path, name: &str) {
    for ext in ["svg", "csv", "yaml"] {
        assert!(dir.join(format!("{name}.{ext}")).is_file(), "{name}.{ext} missing");
    }
}

#[derive(serde::Deserialize)]
pub struct Report {
    pub figures: Vec<String>,
    pub checks_hold: bool,
}

// The subset of a figure's YAML the test reads.
#[derive(serde::Deserialize)]
pub struct Files {
    pub svg: String,
    pub runs_csv: String,
    pub curves_csv: Option<String>,
}
#[derive(serde::Deserialize)]
pub struct Check {
    pub name: String,
    pub holds: bool,
}
#[derive(serde::Deserialize)]
pub struct Manifest {
    pub width: u32,
    pub height: u32,
    pub panels: Vec<PanelM>,
}
#[derive(serde::Deserialize)]
pub struct PanelM {
    pub x_range: [f64; 2],
    pub y_range: [f64; 2],
    pub x_log: bool,
    pub y_log: bool,
    pub plot_area: [i32; 4],
    pub series: Vec<SeriesM>,
}
#[derive(serde::Deserialize)]
pub struct SeriesM {
    pub name: String,
    pub kind: String,
    pub color: String,
    pub points: usize,
    pub stroke_width: u32,
    pub value: Option<f64>,
    pub pixel: Option<i32>,
    pub drawn: bool,
}

/// A polyline of the SVG.
pub struct Polyline {
    pub stroke: String,
    pub width: u32,
    pub points: Vec<(i32, i32)>,
}

pub struct Svg {
    pub width: u32,
    pub height: u32,
    pub polylines: Vec<Polyline>,
    pub circles: Vec<(i32, i32, String, String)>,
    pub texts: Vec<String>,
}

pub fn parse_svg(text: &str) -> Svg {
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
pub fn num(v: f64) -> String {
    if (1e-4..1e15).contains(&v.abs()) { format!("{v}") } else { format!("{v:e}") }
}

/// An expected series name: exact, or a prefix (for names that carry measured numbers).
#[derive(Clone, Debug)]
pub enum Name {
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
pub type Want = (Name, &'static str, Option<f64>);

/// Pixel of `v` on an axis mapped from [lo, hi] to the pixels [p0, p1] (the plotting area's
/// pixel range is end-exclusive, so its last pixel is end − 1).
pub fn pixel(v: f64, lo: f64, hi: f64, log: bool, p0: i32, p1: i32) -> f64 {
    let t = if log { (v.log10() - lo.log10()) / (hi.log10() - lo.log10()) } else { (v - lo) / (hi - lo) };
    p0 as f64 + t * (p1 - p0) as f64
}

/// The SVG against the manifest and the expected series: every series present with its kind,
/// reference lines at the expected values and at the pixels recomputed from the axis ranges,
/// one polyline per drawn line (colour, width, vertex count, inside its panel), scatter points
/// as circles, and no coloured polyline beyond the listed series.
pub fn check_plot(figure: &str, svg: &Svg, plot: &Manifest, want: &[Vec<Want>]) {
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

/// A CSV file of the output: its header and rows, every row with one field per column.
pub struct Csv {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    path: String,
}

/// One row of a [`Csv`], read by column name.
pub struct Row<'a> {
    csv: &'a Csv,
    fields: &'a [String],
}

impl Csv {
    pub fn read(path: &Path) -> Csv {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines = text.lines();
        let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
        let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(String::from).collect()).collect();
        assert!(rows.iter().all(|r| r.len() == header.len()), "{}: every column filled", path.display());
        Csv { header, rows, path: path.display().to_string() }
    }
    /// The index of column `name` (panics naming the file if there is none).
    pub fn column(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{}: no column `{name}` in {:?}", self.path, self.header))
    }
    pub fn records(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|fields| Row { csv: self, fields })
    }
}

impl Row<'_> {
    /// The field of column `name`.
    pub fn get(&self, name: &str) -> &str {
        &self.fields[self.csv.column(name)]
    }
    /// The field of column `name`, parsed (panics naming the column and the field).
    pub fn parse<T: std::str::FromStr>(&self, name: &str) -> T {
        let v = self.get(name);
        v.parse().unwrap_or_else(|_| panic!("{}: column `{name}`: cannot parse `{v}`", self.csv.path))
    }
    pub fn f64(&self, name: &str) -> f64 {
        self.parse(name)
    }
}
