//! Plain-data charts (panels of lines with 95 % bands, reference lines, scatters) rendered to
//! SVG with plotters (no system fonts: text is left to the SVG viewer), plus a manifest of what
//! was drawn where (series, colours, vertex counts, the pixel of each reference line), which
//! the figure's YAML carries and the tests check against the SVG.
//!
//! Values outside an axis range are drawn at its edge (non-positive values on a log axis at its
//! lower end); NaN points are skipped and the line joins its neighbours, as seaborn does.

use plotters::coord::Shift;
use plotters::coord::combinators::{BindKeyPoints, LogCoord, WithKeyPoints};
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::prelude::*;
use serde::Serialize;

/// Why a chart could not be drawn.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DrawError {
    /// An axis range that cannot be drawn: a non-finite end, lo ≥ hi, or lo ≤ 0 on a log axis.
    #[error("panel `{panel}`: {axis} axis range [{lo}, {hi}] is not a valid {scale} range")]
    Axis { panel: String, axis: &'static str, lo: f64, hi: f64, scale: &'static str },
    /// The plotting backend failed.
    #[error("plotting backend: {0}")]
    Backend(String),
}

impl DrawError {
    fn backend(e: impl std::fmt::Display) -> Self {
        DrawError::Backend(e.to_string())
    }
}

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

/// One axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub label: String,
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
}

impl Axis {
    pub fn linear(label: &str, lo: f64, hi: f64) -> Self {
        Axis { label: label.into(), lo, hi, log: false }
    }
    pub fn log(label: &str, lo: f64, hi: f64) -> Self {
        Axis { label: label.into(), lo, hi, log: true }
    }
    /// The value drawn for `v`: clamped into the range; `None` for NaN.
    pub fn clamp(&self, v: f64) -> Option<f64> {
        if v.is_nan() {
            return None;
        }
        Some(if self.log && v <= 0.0 { self.lo } else { v.clamp(self.lo, self.hi) })
    }
    pub fn contains(&self, v: f64) -> bool {
        v.is_finite() && v >= self.lo && v <= self.hi
    }
    /// The axis as `axis` of panel `panel`, or why it cannot be drawn: finite ends with
    /// lo < hi, and lo > 0 on a log axis.
    pub fn check(&self, panel: &str, axis: &'static str) -> Result<(), DrawError> {
        let ok =
            self.lo.is_finite() && self.hi.is_finite() && self.lo < self.hi && (!self.log || self.lo > 0.0);
        if ok {
            Ok(())
        } else {
            Err(DrawError::Axis {
                panel: panel.into(),
                axis,
                lo: self.lo,
                hi: self.hi,
                scale: if self.log { "log" } else { "linear" },
            })
        }
    }
}

/// What a series draws.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A line through (x, y) with an optional band (x, lo, hi) and optional markers.
    Line { points: Vec<(f64, f64)>, band: Vec<(f64, f64, f64)>, markers: bool },
    /// A horizontal reference line y = value across the panel.
    HLine(f64),
    /// A vertical reference line x = value.
    VLine(f64),
    /// Points without a line.
    Scatter(Vec<(f64, f64)>),
}

/// One series.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub color: Rgb,
    pub kind: Kind,
    pub in_legend: bool,
}

impl Series {
    pub fn line(name: &str, color: Rgb, points: Vec<(f64, f64)>, band: Vec<(f64, f64, f64)>) -> Self {
        Series { name: name.into(), color, kind: Kind::Line { points, band, markers: true }, in_legend: true }
    }
    pub fn hline(name: &str, color: Rgb, value: f64) -> Self {
        Series { name: name.into(), color, kind: Kind::HLine(value), in_legend: true }
    }
    pub fn vline(name: &str, color: Rgb, value: f64) -> Self {
        Series { name: name.into(), color, kind: Kind::VLine(value), in_legend: true }
    }
    pub fn without_markers(mut self) -> Self {
        if let Kind::Line { markers, .. } = &mut self.kind {
            *markers = false;
        }
        self
    }
}

/// Where the legend goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Legend {
    UpperLeft,
    UpperRight,
    LowerLeft,
    LowerRight,
}

/// One panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    pub legend: Legend,
}

/// A figure: panels in a grid of `columns` columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub title: String,
    pub panels: Vec<Panel>,
    pub columns: usize,
    pub panel_size: (u32, u32),
}

/// What was drawn in one series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeriesManifest {
    pub name: String,
    /// line | hline | vline | scatter.
    pub kind: String,
    /// As written in the SVG's `stroke`/`fill` (`#RRGGBB`).
    pub color: String,
    /// Vertices of the series' polyline (lines, reference lines) or points (scatter).
    pub points: usize,
    /// Stroke width of the polyline.
    pub stroke_width: u32,
    pub band: bool,
    /// Reference lines: the value and its pixel coordinate (y for hline, x for vline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixel: Option<i32>,
    /// False for a reference line outside the axis range (not drawn).
    pub drawn: bool,
}

/// What was drawn in one panel.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PanelManifest {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: [f64; 2],
    pub y_range: [f64; 2],
    pub x_log: bool,
    pub y_log: bool,
    /// Plotting area in SVG pixels: [x0, y0, x1, y1] (x0 ↔ x_range[0], y1 ↔ y_range[0]).
    pub plot_area: [i32; 4],
    pub series: Vec<SeriesManifest>,
}

/// What was drawn in a chart.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChartManifest {
    pub width: u32,
    pub height: u32,
    pub panels: Vec<PanelManifest>,
}

/// Stroke widths: data lines, reference lines.
pub const LINE_WIDTH: u32 = 2;
pub const REFERENCE_WIDTH: u32 = 1;

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// `#RRGGBB` as plotters' SVG backend writes it.
pub fn hex(c: Rgb) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

const FONT: &str = "sans-serif";

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Renders a chart to an SVG document and its manifest; every axis is checked first
/// ([`Axis::check`]), so a non-finite or empty range is an error, never a panic or a blank panel.
pub fn render(chart: &Chart) -> Result<(String, ChartManifest), DrawError> {
    for p in &chart.panels {
        p.x.check(&p.title, "x")?;
        p.y.check(&p.title, "y")?;
    }
    let columns = chart.columns.max(1);
    let rows = chart.panels.len().div_ceil(columns).max(1);
    let (pw, ph) = chart.panel_size;
    let title_h = 40u32;
    let (width, height) = (pw * columns as u32, ph * rows as u32 + title_h);
    let mut svg = String::new();
    let mut panels = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(DrawError::backend)?;
        let (top, body) = root.split_vertically(title_h);
        top.titled(&chart.title, (FONT, 20)).map_err(DrawError::backend)?;
        let areas = body.split_evenly((rows, columns));
        for (panel, area) in chart.panels.iter().zip(areas.iter()) {
            let m = match (panel.x.log, panel.y.log) {
                (false, false) => draw_panel(area, panel, panel.x.lo..panel.x.hi, panel.y.lo..panel.y.hi),
                (true, false) => draw_panel(area, panel, log_range(&panel.x), panel.y.lo..panel.y.hi),
                (false, true) => draw_panel(area, panel, panel.x.lo..panel.x.hi, log_range(&panel.y)),
                (true, true) => draw_panel(area, panel, log_range(&panel.x), log_range(&panel.y)),
            }?;
            panels.push(m);
        }
        root.present().map_err(DrawError::backend)?;
    }
    Ok((svg, ChartManifest { width, height, panels }))
}

/// Decade ticks of a log axis: at most 8 labelled decades (every k-th), the other decades
/// (or, over at most 4 decades, the multiples 2–9) as light grid lines; a range holding at most
/// one power of ten also labels the multiples 2 and 5. plotters' own log ticks stop at 1e-15,
/// far above the distances of converged runs.
pub fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let (e0, e1) = (lo.log10().ceil() as i32, hi.log10().floor() as i32);
    let n = (e1 - e0 + 1).max(1);
    let stride = (n + 7) / 8;
    let (mut bold, mut light) = (Vec::new(), Vec::new());
    for e in e0..=e1 {
        let v = 10f64.powi(e);
        if (e - e0) % stride == 0 {
            bold.push(v);
        } else {
            light.push(v);
        }
    }
    if n <= 4 {
        for e in (e0 - 1)..=e1 {
            for m in 2..=9 {
                let v = m as f64 * 10f64.powi(e);
                if v >= lo && v <= hi {
                    if e1 - e0 < 1 && (m == 2 || m == 5) {
                        bold.push(v);
                    } else {
                        light.push(v);
                    }
                }
            }
        }
    }
    (bold, light)
}

fn log_range(a: &Axis) -> WithKeyPoints<LogCoord<f64>> {
    let (bold, light) = log_ticks(a.lo, a.hi);
    (a.lo..a.hi).log_scale().with_key_points(bold).with_light_points(light)
}

/// Tick labels: plain decimals in [1e-3, 1e4), else scientific.
fn tick(v: &f64) -> String {
    let a = v.abs();
    if *v == 0.0 {
        "0".into()
    } else if (1e-3..1e4).contains(&a) {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        format!("{v:.0e}")
    }
}

fn draw_panel<XS, YS, X, Y>(area: &Area<'_>, p: &Panel, xs: XS, ys: YS) -> Result<PanelManifest, DrawError>
where
    XS: AsRangedCoord<CoordDescType = X, Value = f64>,
    YS: AsRangedCoord<CoordDescType = Y, Value = f64>,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FONT, 16))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(62)
        .build_cartesian_2d(xs, ys)
        .map_err(DrawError::backend)?;
    chart
        .configure_mesh()
        .x_desc(p.x.label.as_str())
        .y_desc(p.y.label.as_str())
        .x_labels(7)
        .y_labels(8)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .light_line_style(RGBColor(235, 235, 242))
        .bold_line_style(RGBColor(215, 215, 225))
        .draw()
        .map_err(DrawError::backend)?;
    let (px, py) = chart.plotting_area().get_pixel_range();
    let plot_area = [px.start, py.start, px.end, py.end];
    let mut manifest = Vec::new();
    for s in &p.series {
        let color = rgb(s.color);
        let mut m = SeriesManifest {
            name: s.name.clone(),
            kind: String::new(),
            color: hex(s.color),
            points: 0,
            stroke_width: LINE_WIDTH,
            band: false,
            value: None,
            pixel: None,
            drawn: true,
        };
        let legend_rect =
            move |(x, y): (i32, i32)| Rectangle::new([(x, y - 4), (x + 16, y + 4)], color.filled());
        match &s.kind {
            Kind::Line { points, band, markers } => {
                m.kind = "line".into();
                let pts: Vec<(f64, f64)> =
                    points.iter().filter_map(|&(x, y)| Some((p.x.clamp(x)?, p.y.clamp(y)?))).collect();
                let poly: Vec<(f64, f64)> = band
                    .iter()
                    .filter_map(|&(x, lo, _)| Some((p.x.clamp(x)?, p.y.clamp(lo)?)))
                    .chain(band.iter().rev().filter_map(|&(x, _, hi)| Some((p.x.clamp(x)?, p.y.clamp(hi)?))))
                    .collect();
                if poly.len() >= 3 {
                    m.band = true;
                    chart
                        .draw_series(std::iter::once(Polygon::new(poly, color.mix(0.2).filled())))
                        .map_err(DrawError::backend)?;
                }
                m.points = pts.len();
                if pts.len() >= 2 {
                    let series = chart
                        .draw_series(LineSeries::new(pts.clone(), color.stroke_width(LINE_WIDTH)))
                        .map_err(DrawError::backend)?;
                    if s.in_legend {
                        series.label(&s.name).legend(legend_rect);
                    }
                } else {
                    m.points = 0;
                }
                if *markers {
                    chart
                        .draw_series(pts.iter().map(|&c| Circle::new(c, 3, color.filled())))
                        .map_err(DrawError::backend)?;
                }
            }
            Kind::HLine(v) | Kind::VLine(v) => {
                let horizontal = matches!(s.kind, Kind::HLine(_));
                let axis = if horizontal { &p.y } else { &p.x };
                m.kind = if horizontal { "hline" } else { "vline" }.into();
                m.value = Some(*v);
                m.stroke_width = REFERENCE_WIDTH;
                m.drawn = axis.contains(*v);
                if m.drawn {
                    let ends = if horizontal {
                        vec![(p.x.lo, *v), (p.x.hi, *v)]
                    } else {
                        vec![(*v, p.y.lo), (*v, p.y.hi)]
                    };
                    let pix = chart.backend_coord(&ends[0]);
                    m.pixel = Some(if horizontal { pix.1 } else { pix.0 });
                    m.points = 2;
                    let series = chart
                        .draw_series(LineSeries::new(ends, color.stroke_width(REFERENCE_WIDTH)))
                        .map_err(DrawError::backend)?;
                    if s.in_legend {
                        series.label(&s.name).legend(legend_rect);
                    }
                }
            }
            Kind::Scatter(points) => {
                m.kind = "scatter".into();
                m.stroke_width = 0;
                let pts: Vec<(f64, f64)> =
                    points.iter().filter_map(|&(x, y)| Some((p.x.clamp(x)?, p.y.clamp(y)?))).collect();
                m.points = pts.len();
                let series = chart
                    .draw_series(pts.iter().map(|&c| Circle::new(c, 2, color.mix(0.6).filled())))
                    .map_err(DrawError::backend)?;
                if s.in_legend {
                    series.label(&s.name).legend(legend_rect);
                }
            }
        }
        manifest.push(m);
    }
    if p.series.iter().any(|s| s.in_legend) {
        let pos = match p.legend {
            Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
            Legend::UpperRight => SeriesLabelPosition::UpperRight,
            Legend::LowerLeft => SeriesLabelPosition::LowerLeft,
            Legend::LowerRight => SeriesLabelPosition::LowerRight,
        };
        chart
            .configure_series_labels()
            .position(pos)
            .label_font((FONT, 12))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .draw()
            .map_err(DrawError::backend)?;
    }
    Ok(PanelManifest {
        title: p.title.clone(),
        x_label: p.x.label.clone(),
        y_label: p.y.label.clone(),
        x_range: [p.x.lo, p.x.hi],
        y_range: [p.y.lo, p.y.hi],
        x_log: p.x.log,
        y_log: p.y.log,
        plot_area,
        series: manifest,
    })
}
