//! The HTML report: one self-contained page (inline CSS and SVG, no script, nothing fetched)
//! rendered from a [`Report`] and the property specs, as a pure function [`render`].
//!
//! The page opens on a summary table (property, label, provenance, kind, verdict, instances,
//! worst tightness, controls) with the one-line reading aid [`READING`], then one section per
//! property: statement, hypotheses, provenance and why, the counts and statistics, a plot of the
//! tightness (or error/tolerance) distribution against the bound at 1, the worst instance with
//! the commands that reproduce and audit it, every control with its verdict, the figures that
//! illustrate the claim, and links to the spec file and the claim module.
//!
//! The plot is drawn from the statistics the report carries (min, 5 %, median, 95 %, max and the
//! mean, for the claim and for each control): the report holds no per-instance values, so that it
//! stays small and its bytes unchanged. The axis is logarithmic when the values and 1 span two
//! decades or more, linear otherwise.
//!
//! Every text value is escaped ([`escape`]); every number shown is also carried exactly in a
//! `data-v` attribute (Rust's shortest round-trip form) under a `data-field` naming the report
//! field, so that tests (and scripts) can check the page against the YAML.

use crate::framework::catalogue::{self, kind_name, kind_rule, provenance_meaning, provenance_name};
use crate::framework::report::{PropertyReport, READING, Report};
use crate::framework::runner::{ControlVerdict, Verdict};
use crate::framework::spec::Spec;
use crate::framework::summary::{InstanceOutcome, RunSummary, Stats};
use crate::io::error::Error;
use std::collections::BTreeSet;
use std::fmt::Write;

/// Where the page's links point, each a prefix ending in `/` (or empty): relative to the HTML
/// file, so that the page works from `file://` beside the repository.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Links {
    /// The folder of the spec files (`properties/`).
    pub specs: String,
    /// The repository root, for the claim modules (`src/claims/…`).
    pub source: String,
    /// The folder `dlncheck figures` wrote (`figures/`).
    pub figures: String,
}

/// What the page needs besides the report.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    /// The specs of the report's properties (hypotheses, provenance note, figures); a property
    /// without one is rendered from the report alone, saying so.
    pub specs: &'a [Spec],
    /// Ids whose instances have an instance file form (`dlncheck reproduce` writes one).
    pub instance_files: &'a BTreeSet<String>,
    /// `--properties DIR` to repeat in the commands, when the report was not made from the default.
    pub properties_arg: Option<String>,
    pub links: Links,
    /// The report's file name, as shown in the header.
    pub report_file: String,
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A number to 4 significant digits (exponent form outside [1e-3, 1e5)).
pub fn show(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".into();
    }
    if x.abs() < 1e-3 || x.abs() >= 1e5 {
        return format!("{x:.3e}");
    }
    format!("{}", crate::io::yaml::round_sig(x, 4))
}

/// A tightness or error/tolerance: as [`show`], but within 1e-3 of 1 as `1 − δ` or `1 + δ`, so
/// that a value just below the bound does not print as 1.
pub fn show_ratio(x: f64) -> String {
    let d = x - 1.0;
    if d != 0.0 && d.abs() < 1e-3 {
        let sign = if d < 0.0 { '−' } else { '+' };
        return format!("1 {sign} {:.1e}", d.abs());
    }
    show(x)
}

/// A number shown rounded, with its exact value and its report field attached.
fn num(field: &str, x: f64, ratio: bool) -> String {
    let shown = if ratio { show_ratio(x) } else { show(x) };
    format!(
        "<span class=\"n\" data-field=\"{}\" data-v=\"{x}\" title=\"{x}\">{}</span>",
        escape(field),
        escape(&shown)
    )
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Holds => "holds",
        Verdict::Violated => "violated",
        Verdict::Inconclusive => "inconclusive",
        Verdict::Error => "error",
    }
}

fn control_verdict_name(v: ControlVerdict) -> &'static str {
    match v {
        ControlVerdict::FailsAsExpected => "fails_as_expected",
        ControlVerdict::DefectPassed => "defect_passed",
        ControlVerdict::Inconclusive => "inconclusive",
    }
}

fn badge(name: &str, good: bool) -> String {
    let class = if good { "ok" } else { "bad" };
    format!("<span class=\"badge {class}\" data-field=\"verdict\">{}</span>", escape(name))
}

/// The HTML id of a property's section.
pub fn anchor(id: &str) -> String {
    format!("p-{}", id.replace(|c: char| !c.is_ascii_alphanumeric(), "-"))
}

const STYLE: &str = "
body{font:14px/1.45 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#222;margin:0 auto;max-width:1000px;padding:0 16px 40px}
h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:34px 0 4px;padding-top:8px;border-top:2px solid #ddd}
h2 code{font-size:inherit}h3{font-size:14px;margin:14px 0 4px;color:#444}
table{border-collapse:collapse;margin:6px 0 10px}th,td{border-bottom:1px solid #e4e4e4;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4;font-weight:600}td.r,th.r{text-align:right;white-space:nowrap}
code,.mono{font-family:SFMono-Regular,Consolas,'Liberation Mono',monospace;font-size:12.5px}
pre{background:#f6f6f6;border:1px solid #e2e2e2;padding:6px 8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
blockquote{margin:6px 0;padding:6px 12px;border-left:4px solid #9ab;background:#f7f9fb}
.badge{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;font-weight:600}
.ok{background:#dff0d8;color:#2b5f2b}.bad{background:#f6d5d5;color:#8a1f1f}
.muted{color:#777}.aid{background:#fffbe6;border:1px solid #eedc82;padding:5px 9px;margin:8px 0}
.warn{background:#fdecea;border:1px solid #e0a0a0;padding:5px 9px}
svg{display:block;margin:4px 0}svg text{font-family:Helvetica,Arial,sans-serif;font-size:11px;fill:#333}
.meta td:first-child{color:#666;white-space:nowrap}
";

/// Renders the whole page.
pub fn render(report: &Report, ctx: &Context<'_>) -> String {
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(o, "<title>dlncheck report ({})</title>", escape(&report.mode));
    let _ = writeln!(o, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(o, "<h1>dlncheck report</h1>");
    let _ = writeln!(
        o,
        "<p class=\"muted\" id=\"header\"><span data-field=\"tool\">{}</span> · mode \
         <span data-field=\"mode\">{}</span> · seed <span data-field=\"seed\">{}</span> · from \
         <code>{}</code> · <b><span data-field=\"passed\">{}</span> of {} properties pass</b> \
         (holds, and every control fails)</p>",
        escape(&report.tool),
        escape(&report.mode),
        report.seed,
        escape(&ctx.report_file),
        report.passed,
        report.passed + report.failed
    );
    if !report.complete {
        o.push_str(
            "<p class=\"warn\">This report is incomplete (<code>complete: false</code>): the run was \
             interrupted or is still going; only the properties below were run.</p>\n",
        );
    }
    summary_table(&mut o, report);
    for p in &report.properties {
        section(&mut o, report, p, ctx);
    }
    let _ = writeln!(
        o,
        "<p class=\"muted\" style=\"margin-top:30px\">Rendered by {} from <code>{}</code>: one \
         self-contained file, no scripts, nothing fetched. Links are relative to this file.</p>",
        escape(&report.tool),
        escape(&ctx.report_file)
    );
    o.push_str("</body>\n</html>\n");
    o
}

/// The worst value of a run summary, as shown in the tables: smallest tightness, else largest
/// error/tolerance.
fn worst_cell(s: &RunSummary, prefix: &str) -> String {
    match (&s.tightness, &s.error) {
        (Some(t), _) => num(&format!("{prefix}tightness.min"), t.min, true),
        (None, Some(e)) => format!("err/tol {}", num(&format!("{prefix}error.max"), e.max, true)),
        _ => "<span class=\"muted\">–</span>".into(),
    }
}

fn instances_cell(s: &RunSummary) -> String {
    let mut c = format!("<span data-field=\"instances\">{}</span>", s.instances);
    if s.not_converged > 0 {
        let _ = write!(c, " <span class=\"muted\">({} not conv.)</span>", s.not_converged);
    }
    if s.errors > 0 {
        let _ = write!(c, " <span class=\"bad\">({} errors)</span>", s.errors);
    }
    c
}

fn summary_table(o: &mut String, report: &Report) {
    o.push_str(
        "<table id=\"summary\">\n<tr><th>property</th><th>paper, label</th><th>provenance</th>\
                <th>kind</th><th>verdict</th><th class=\"r\">instances</th><th class=\"r\">worst</th>\
                <th class=\"r\">controls</th></tr>\n",
    );
    for p in &report.properties {
        let failed = p.controls.iter().filter(|c| c.verdict == ControlVerdict::FailsAsExpected).count();
        let _ = writeln!(
            o,
            "<tr data-id=\"{id}\"><td><a href=\"#{a}\"><code>{id}</code></a></td><td>{paper}<br>\
             <span class=\"muted\">{label}</span></td><td>{prov}</td><td>{kind}</td><td>{verdict}</td>\
             <td class=\"r\">{inst}</td><td class=\"r\">{worst}</td><td class=\"r\">{failed}/{n} fail</td></tr>",
            id = escape(&p.id),
            a = anchor(&p.id),
            paper = escape(short_paper(&p.source.paper)),
            label = escape(&p.source.label),
            prov = provenance_name(p.source.provenance),
            kind = kind_name(p.kind),
            verdict = badge(verdict_name(p.verdict), p.verdict == Verdict::Holds && p.controls_ok),
            inst = instances_cell(&p.summary),
            worst = worst_cell(&p.summary, ""),
            n = p.controls.len(),
        );
    }
    o.push_str("</table>\n");
    let _ = writeln!(
        o,
        "<p class=\"aid\" id=\"reading\"><b>How to read:</b> {}. Verdict green = the claim holds \
         and every negative control fails, as it must.</p>",
        escape(READING)
    );
}

/// The paper's short name (up to the first comma: "Marion & Chizat").
fn short_paper(paper: &str) -> &str {
    paper.split(',').next().unwrap_or(paper)
}

fn stats_row(o: &mut String, name: &str, field: &str, s: &Stats) {
    let f = |k: &str| format!("{field}.{k}");
    let _ = writeln!(
        o,
        "<tr><td>{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td>\
         <td class=\"r\">{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td>\
         <td class=\"r\">[{}, {}]</td></tr>",
        escape(name),
        s.n,
        num(&f("min"), s.min, true),
        num(&f("q05"), s.q05, true),
        num(&f("q50"), s.q50, true),
        num(&f("q95"), s.q95, true),
        num(&f("max"), s.max, true),
        num(&f("mean"), s.mean, true),
        num(&f("mean_ci95.0"), s.mean_ci95[0], false),
        num(&f("mean_ci95.1"), s.mean_ci95[1], false),
    );
}

fn command_flags(report: &Report, ctx: &Context<'_>) -> String {
    let mut f = String::new();
    if report.mode == "quick" {
        f.push_str(" --quick");
    }
    if report.seed != 0 {
        let _ = write!(f, " --seed {}", report.seed);
    }
    if let Some(d) = &ctx.properties_arg {
        let _ = write!(f, " --properties {d}");
    }
    f
}

fn section(o: &mut String, report: &Report, p: &PropertyReport, ctx: &Context<'_>) {
    let spec = ctx.specs.iter().find(|s| s.id == p.id);
    let _ = writeln!(
        o,
        "<section id=\"{a}\" data-id=\"{id}\">\n<h2><code>{id}</code> {verdict}</h2>\n<p><b>{title}</b></p>",
        a = anchor(&p.id),
        id = escape(&p.id),
        verdict = badge(verdict_name(p.verdict), p.verdict == Verdict::Holds && p.controls_ok),
        title = escape(&p.title),
    );
    let _ = writeln!(
        o,
        "<table class=\"meta\"><tr><td>paper</td><td>{}</td></tr><tr><td>label</td><td>{}</td></tr>\
         <tr><td>kind</td><td><code>{}</code>: {}{}</td></tr></table>",
        escape(&p.source.paper),
        escape(&p.source.label),
        kind_name(p.kind),
        escape(kind_rule(p.kind)),
        p.min_proportion.map(|m| format!(" (min_proportion {m})")).unwrap_or_default()
    );
    let _ = writeln!(o, "<h3>Statement</h3>\n<blockquote>{}</blockquote>", escape(&p.statement));
    o.push_str("<h3>Hypotheses</h3>\n");
    match spec {
        Some(s) if !s.hypotheses.is_empty() => {
            o.push_str("<ul>");
            for h in &s.hypotheses {
                let _ = write!(o, "<li>{}</li>", escape(h));
            }
            o.push_str("</ul>\n");
        }
        Some(_) => o.push_str("<p class=\"muted\">none stated in the spec</p>\n"),
        None => o.push_str("<p class=\"muted\">(no spec file for this property was found)</p>\n"),
    }
    let _ = writeln!(
        o,
        "<h3>Provenance</h3>\n<p><code>{}</code>: {}. {}</p>",
        provenance_name(p.source.provenance),
        escape(provenance_meaning(p.source.provenance)),
        spec.map(|s| escape(&s.provenance_note)).unwrap_or_default()
    );

    // Counts and statistics.
    let s = &p.summary;
    let _ = writeln!(
        o,
        "<h3>Result</h3>\n<p class=\"result\">{} instances: <span data-field=\"holds\">{}</span> hold, \
         <span data-field=\"violated\">{}</span> violated, <span data-field=\"not_converged\">{}</span> \
         not converged, <span data-field=\"errors\">{}</span> errors.{}</p>",
        instances_cell(s),
        s.holds,
        s.violated,
        s.not_converged,
        s.errors,
        s.proportion
            .as_ref()
            .map(|q| format!(
                " Proportion holding {} (Clopper–Pearson 95 % [{}, {}]).",
                num("proportion.estimate", q.estimate, false),
                num("proportion.ci95.0", q.ci95[0], false),
                num("proportion.ci95.1", q.ci95[1], false)
            ))
            .unwrap_or_default()
    );
    if let Some(e) = &s.first_error {
        let _ = writeln!(o, "<p class=\"warn\">first error: {}</p>", escape(e));
    }
    if s.tightness.is_some() || s.error.is_some() {
        o.push_str(
            "<table class=\"stats\"><tr><th></th><th class=\"r\">n</th><th class=\"r\">min</th>\
             <th class=\"r\">5 %</th><th class=\"r\">median</th><th class=\"r\">95 %</th>\
             <th class=\"r\">max</th><th class=\"r\">mean</th><th class=\"r\">mean 95 % CI</th></tr>\n",
        );
        if let Some(t) = &s.tightness {
            stats_row(o, "tightness (holds iff ≥ 1)", "tightness", t);
        }
        if let Some(e) = &s.error {
            stats_row(o, "error/tolerance (holds iff ≤ 1)", "error", e);
        }
        o.push_str("</table>\n");
    }
    for measure in [Measure::Tightness, Measure::Error] {
        let mut rows: Vec<(String, &Stats)> = Vec::new();
        if let Some(st) = measure.of(s) {
            rows.push(("claim".into(), st));
        }
        let claim_has = !rows.is_empty();
        for c in &p.controls {
            if let Some(st) = measure.of(&c.summary) {
                rows.push((c.variant.clone(), st));
            }
        }
        if claim_has {
            o.push_str(&plot(measure, &rows));
        }
    }

    // The worst instance.
    let flags = command_flags(report, ctx);
    if let Some(w) = &s.worst {
        o.push_str("<h3>Worst instance</h3>\n");
        worst_block(o, &p.id, None, w, &flags, ctx);
    }

    // Controls.
    let _ = writeln!(
        o,
        "<h3>Negative controls ({} of {} fail, as they must)</h3>",
        p.controls.iter().filter(|c| c.verdict == ControlVerdict::FailsAsExpected).count(),
        p.controls.len()
    );
    o.push_str(
        "<table class=\"controls\"><tr><th>control</th><th>what it changes</th><th>verdict</th>\
         <th class=\"r\">instances</th><th class=\"r\">violated</th><th class=\"r\">worst</th></tr>\n",
    );
    for c in &p.controls {
        let _ = writeln!(
            o,
            "<tr data-control=\"{v}\"><td><code>{v}</code></td><td>{d}</td><td>{b}</td><td class=\"r\">\
             {i}</td><td class=\"r\"><span data-field=\"violated\">{viol}</span></td><td class=\"r\">{w}</td></tr>",
            v = escape(&c.variant),
            d = escape(&c.description),
            b = badge(control_verdict_name(c.verdict), c.verdict == ControlVerdict::FailsAsExpected),
            i = instances_cell(&c.summary),
            viol = c.summary.violated,
            w = worst_cell(&c.summary, ""),
        );
    }
    o.push_str("</table>\n");
    if ctx.instance_files.contains(&p.id) {
        o.push_str("<details><summary>audit a control's worst instance</summary>\n<pre>");
        for c in &p.controls {
            if let Some(w) = &c.summary.worst {
                let _ = writeln!(
                    o,
                    "dlncheck reproduce {id} --control {v} --instance {k}{flags} --out {v}.yaml &amp;&amp; dlncheck sharpness {v}.yaml",
                    id = escape(&p.id),
                    v = escape(&c.variant),
                    k = w.index,
                    flags = escape(&flags),
                );
            }
        }
        o.push_str("</pre></details>\n");
    }

    // The bounded attack.
    if let Some(a) = &p.attack {
        let _ = writeln!(
            o,
            "<h3>Attack</h3>\n<p data-attack=\"{id}\">An optimiser searched the claim's hypothesis space for its worst \
             case ({e} evaluations, {r} restarts): best <span data-field=\"attack_best\">{b}</span>{k}; {verdict}; \
             it broke {cb} of {ca} controls. <code>dlncheck attack --only {id}</code> writes the whole search, \
             <code>dlncheck reproduce {id} --attack --out worst.yaml</code> its worst point.</p>",
            id = escape(&p.id),
            e = a.evaluations,
            r = a.restarts,
            b = a.best.map_or("-".into(), show),
            k = a.known_infimum.map_or(String::new(), |k| format!(
                " (known infimum {}, relative gap {})",
                show(k),
                a.relative_gap.map_or("-".into(), show)
            )),
            verdict = if a.violated { badge("violated", false) } else { badge("no violation found", true) },
            cb = a.controls_broken,
            ca = a.controls_attacked,
        );
    }

    // Figures and links.
    if let Some(spec) = spec.filter(|s| !s.figures.is_empty()) {
        let _ = writeln!(
            o,
            "<h3>Figures</h3>\n<p class=\"muted\">Drawn by <code>dlncheck figures --only {} --out figures</code> \
             (run from the folder of this page).</p>\n<ul>",
            escape(&spec.figures.join(","))
        );
        for f in &spec.figures {
            let base = format!("{}{}", ctx.links.figures, f);
            let _ = writeln!(
                o,
                "<li><a href=\"{b}.svg\">{f}.svg</a> (<a href=\"{b}.csv\">csv</a>, <a href=\"{b}.yaml\">yaml</a>): {c}</li>",
                b = escape(&base),
                f = escape(f),
                c = escape(catalogue::figure_caption(f).unwrap_or("")),
            );
        }
        o.push_str("</ul>\n");
    }
    let module = catalogue::module_path(&p.id);
    let _ = writeln!(
        o,
        "<p class=\"links\">Spec <a href=\"{sl}\"><code>{sn}</code></a> · claim module \
         <a href=\"{ml}\"><code>{mn}</code></a> · re-run: <code>dlncheck check --only {id}{flags}</code></p>\n</section>",
        sl = escape(&format!("{}{}.yaml", ctx.links.specs, p.id)),
        sn = escape(&format!("{}.yaml", p.id)),
        ml = escape(&format!("{}{}", ctx.links.source, module)),
        mn = escape(&module),
        id = escape(&p.id),
        flags = escape(&flags),
    );
}

fn worst_block(
    o: &mut String,
    id: &str,
    control: Option<&str>,
    w: &InstanceOutcome,
    flags: &str,
    ctx: &Context<'_>,
) {
    let m = &w.measurement;
    let mut head = format!(
        "<p class=\"worst\">index <span data-field=\"worst.index\">{}</span>, seed \
         <span data-field=\"worst.seed\">{}</span>, status <code>{}</code>",
        w.index,
        w.seed,
        match m.status {
            crate::framework::property::Status::Holds => "holds",
            crate::framework::property::Status::Violated => "violated",
            crate::framework::property::Status::NotConverged => "not_converged",
        }
    );
    if let Some(t) = m.tightness {
        let _ = write!(head, ", tightness {}", num("worst.tightness", t, true));
    }
    if let Some(e) = m.error {
        let _ = write!(head, ", error/tol {}", num("worst.error", e, true));
    }
    head.push_str("</p>\n");
    o.push_str(&head);
    let point: Vec<String> = w
        .point
        .0
        .iter()
        .map(|(k, v)| format!("{}&nbsp;=&nbsp;{}", escape(k), escape(&v.to_string())))
        .collect();
    let _ = writeln!(o, "<p class=\"mono\">{}</p>", point.join(", "));
    if !m.values.is_empty() {
        o.push_str("<table class=\"values\"><tr>");
        for k in m.values.keys() {
            let _ = write!(o, "<th class=\"r\">{}</th>", escape(k));
        }
        o.push_str("</tr><tr>");
        for (k, v) in &m.values {
            let _ = write!(o, "<td class=\"r\">{}</td>", num(&format!("worst.values.{k}"), *v, false));
        }
        o.push_str("</tr></table>\n");
    }
    if let Some(n) = &m.note {
        let _ = writeln!(o, "<p class=\"muted\">note: {}</p>", escape(n));
    }
    let ctl = control.map(|c| format!(" --control {c}")).unwrap_or_default();
    if ctx.instance_files.contains(id) {
        let _ = writeln!(
            o,
            "<p>Reproduce it as an instance file and audit it independently (exact Hessian):</p>\n\
             <pre class=\"cmd\">dlncheck reproduce {}{} --instance {}{} --out worst.yaml &amp;&amp; dlncheck sharpness worst.yaml</pre>",
            escape(id),
            escape(&ctl),
            w.index,
            escape(flags)
        );
    } else {
        let _ = writeln!(
            o,
            "<p>This property's instances are not univariate regression networks (no instance file); \
             re-run it to see the same instance:</p>\n<pre class=\"cmd\">dlncheck check --only {}{}</pre>",
            escape(id),
            escape(flags)
        );
    }
}

/// Which statistic a plot shows.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Measure {
    Tightness,
    Error,
}

impl Measure {
    fn of(self, s: &RunSummary) -> Option<&Stats> {
        match self {
            Measure::Tightness => s.tightness.as_ref(),
            Measure::Error => s.error.as_ref(),
        }
    }
}

/// A horizontal axis: linear or log10, mapping [lo, hi] to pixels [x0, x1].
struct Axis {
    log: bool,
    lo: f64,
    hi: f64,
    x0: f64,
    x1: f64,
}

impl Axis {
    /// The axis for `values` and the bound 1: log when all are ≥ 0, some positive, and the positive
    /// ones with 1 span two decades or more (zeros are drawn at the left end).
    fn new(values: &[f64], x0: f64, x1: f64) -> Axis {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).chain([1.0]).collect();
        let pos: Vec<f64> = finite.iter().copied().filter(|&v| v > 0.0).collect();
        let (pmin, pmax) = pos.iter().fold((f64::INFINITY, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
        let log = finite.iter().all(|&v| v >= 0.0) && pmax / pmin >= 100.0;
        if log {
            let lo = pmin.log10().floor();
            let hi = pmax.log10().ceil().max(lo + 1.0);
            Axis { log, lo, hi, x0, x1 }
        } else {
            let (mn, mx) =
                finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            let pad = if mx > mn { 0.06 * (mx - mn) } else { 0.5 * mx.abs().max(0.1) };
            Axis { log, lo: mn - pad, hi: mx + pad, x0, x1 }
        }
    }

    fn x(&self, v: f64) -> f64 {
        let t = if self.log {
            if v <= 0.0 { self.lo } else { v.log10().clamp(self.lo, self.hi) }
        } else {
            v.clamp(self.lo, self.hi)
        };
        self.x0 + (t - self.lo) / (self.hi - self.lo) * (self.x1 - self.x0)
    }

    /// Tick values and labels.
    fn ticks(&self) -> Vec<(f64, String)> {
        if self.log {
            let decades = (self.hi - self.lo) as i64;
            let step = (decades as f64 / 8.0).ceil().max(1.0) as i64;
            (self.lo as i64..=self.hi as i64)
                .filter(|k| (k - self.lo as i64) % step == 0)
                .map(|k| {
                    let label = match k {
                        -2 => "0.01".to_string(),
                        -1 => "0.1".into(),
                        0 => "1".into(),
                        1 => "10".into(),
                        2 => "100".into(),
                        k => format!("1e{k}"),
                    };
                    (10f64.powi(k as i32), label)
                })
                .collect()
        } else {
            let raw = (self.hi - self.lo) / 6.0;
            let mag = 10f64.powf(raw.log10().floor());
            let step =
                [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
            let mut t = (self.lo / step).ceil() * step;
            let mut out = Vec::new();
            while t <= self.hi + 1e-12 * step && out.len() < 20 {
                let v = if t.abs() < 1e-12 * step { 0.0 } else { t };
                out.push((v, show(crate::io::yaml::round_sig(v, 6))));
                t += step;
            }
            out
        }
    }
}

/// The distribution plot: one row per set (the claim, then each control) showing min–max
/// (whisker), 5 %–95 % (box), the median (bar) and the mean (dot), against the bound at 1.
fn plot(measure: Measure, rows: &[(String, &Stats)]) -> String {
    let (w, left, right, top, row_h) = (760.0, 190.0, 70.0, 26.0, 26.0);
    let h = top + row_h * rows.len() as f64 + 46.0;
    let values: Vec<f64> =
        rows.iter().flat_map(|(_, s)| [s.min, s.q05, s.q50, s.q95, s.max, s.mean]).collect();
    let ax = Axis::new(&values, left, w - right);
    let (what, holds, fails_right) = match measure {
        Measure::Tightness => ("tightness", "claim holds iff ≥ 1 (1 is tight)", false),
        Measure::Error => ("error / tolerance", "claim holds iff ≤ 1", true),
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg class=\"plot\" data-measure=\"{what}\" data-log=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{what} distribution\">",
        ax.log
    );
    let bx = ax.x(1.0);
    let (y0, y1) = (top - 6.0, top + row_h * rows.len() as f64);
    // The side where the claim fails, shaded.
    let (fx0, fx1) = if fails_right { (bx, ax.x1) } else { (ax.x0, bx) };
    let _ = writeln!(
        s,
        "<rect x=\"{fx0:.1}\" y=\"{y0:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#fbeaea\"/>",
        (fx1 - fx0).max(0.0),
        y1 - y0
    );
    for (v, label) in ax.ticks() {
        let x = ax.x(v);
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{y0:.1}\" x2=\"{x:.1}\" y2=\"{y1:.1}\" stroke=\"#e6e6e6\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            y1 + 14.0,
            escape(&label)
        );
    }
    let _ = writeln!(
        s,
        "<line x1=\"{bx:.1}\" y1=\"{:.1}\" x2=\"{bx:.1}\" y2=\"{y1:.1}\" stroke=\"#c0392b\" stroke-width=\"1.5\" \
         stroke-dasharray=\"5,3\"/><text x=\"{bx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#c0392b\">bound = 1</text>",
        y0 - 2.0,
        y0 - 6.0
    );
    for (i, (name, st)) in rows.iter().enumerate() {
        let yc = top + row_h * (i as f64 + 0.5);
        let colour = if i == 0 { "#2c6fbb" } else { "#d9822b" };
        let fill = if i == 0 { "#cfe0f5" } else { "#f8e0c8" };
        let (xmin, xq05, xq50, xq95, xmax, xmean) =
            (ax.x(st.min), ax.x(st.q05), ax.x(st.q50), ax.x(st.q95), ax.x(st.max), ax.x(st.mean));
        let _ = writeln!(
            s,
            "<g class=\"row\" data-row=\"{n}\"><title>{n}: n = {}, min {}, 5 % {}, median {}, 95 % {}, max {}, mean {}</title>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{n}</text>\
             <line x1=\"{xmin:.1}\" y1=\"{yc:.1}\" x2=\"{xmax:.1}\" y2=\"{yc:.1}\" stroke=\"{colour}\"/>\
             <line x1=\"{xmin:.1}\" y1=\"{:.1}\" x2=\"{xmin:.1}\" y2=\"{:.1}\" stroke=\"{colour}\"/>\
             <line x1=\"{xmax:.1}\" y1=\"{:.1}\" x2=\"{xmax:.1}\" y2=\"{:.1}\" stroke=\"{colour}\"/>\
             <rect x=\"{xq05:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\" stroke=\"{colour}\"/>\
             <line x1=\"{xq50:.1}\" y1=\"{:.1}\" x2=\"{xq50:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"2.5\"/>\
             <circle cx=\"{xmean:.1}\" cy=\"{yc:.1}\" r=\"2.6\" fill=\"#222\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"count\">n = {}</text></g>",
            st.n,
            show_ratio(st.min),
            show_ratio(st.q05),
            show_ratio(st.q50),
            show_ratio(st.q95),
            show_ratio(st.max),
            show_ratio(st.mean),
            left - 8.0,
            yc + 4.0,
            yc - 5.0,
            yc + 5.0,
            yc - 5.0,
            yc + 5.0,
            yc - 7.0,
            (xq95 - xq05).max(1.0),
            14.0,
            yc - 8.0,
            yc + 8.0,
            w - right + 8.0,
            yc + 4.0,
            st.n,
            n = escape(name),
        );
    }
    let zeros = ax.log && values.iter().any(|&v| v <= 0.0);
    let _ = writeln!(
        s,
        "<text x=\"{mid:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{what}{}: {holds}</text>\
         <text x=\"{mid:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#777\">whisker min–max, box 5–95 %, \
         bar median, dot mean; shaded: where the claim fails{}</text>\n</svg>",
        h - 18.0,
        if ax.log { " (log scale)" } else { "" },
        h - 4.0,
        if zeros { "; zeros drawn at the left end" } else { "" },
        mid = (ax.x0 + ax.x1) / 2.0,
    );
    s
}

/// Largest report file `dlncheck report` reads (a full report is well under a megabyte).
pub const MAX_REPORT_BYTES: u64 = 64 << 20;

/// Parses a report written by `dlncheck check` or `merge`: YAML of this tool's version, with
/// finite statistics. Errors name the file and the field.
pub fn parse_report(text: &str, file: &str) -> Result<Report, Error> {
    let report: Report = crate::io::yaml::from_str(text).map_err(|e| Error::Syntax {
        file: format!("{file}{}", e.line.map(|l| format!(":{l}")).unwrap_or_default()),
        message: format!("not a dlncheck report: {}", e.message),
    })?;
    let ours = format!("dlncheck {}", env!("CARGO_PKG_VERSION"));
    if report.tool != ours {
        return Err(Error::Input {
            file: file.into(),
            field: "tool".into(),
            message: format!(
                "written by `{}`, this is `{ours}`: re-run `dlncheck check` (or `merge`) with this version",
                report.tool
            ),
        });
    }
    for (i, p) in report.properties.iter().enumerate() {
        let mut sets: Vec<(String, &RunSummary)> = vec![(String::new(), &p.summary)];
        for (c, ctl) in p.controls.iter().enumerate() {
            sets.push((format!("controls[{c}]."), &ctl.summary));
        }
        for (prefix, s) in sets {
            for (name, st) in [("tightness", &s.tightness), ("error", &s.error)] {
                let Some(st) = st else { continue };
                let fields = [
                    ("min", st.min),
                    ("q05", st.q05),
                    ("q50", st.q50),
                    ("q95", st.q95),
                    ("max", st.max),
                    ("mean", st.mean),
                    ("mean_ci95[0]", st.mean_ci95[0]),
                    ("mean_ci95[1]", st.mean_ci95[1]),
                ];
                if let Some((k, v)) = fields.iter().find(|(_, v)| !v.is_finite()) {
                    return Err(Error::Input {
                        file: file.into(),
                        field: format!("properties[{i}] ({}).{prefix}{name}.{k}", p.id),
                        message: format!("must be a finite number, got {v}"),
                    });
                }
            }
            if let Some(w) = &s.worst
                && let Some((k, v)) = [("tightness", w.measurement.tightness), ("error", w.measurement.error)]
                    .into_iter()
                    .find_map(|(k, v)| v.filter(|x| !x.is_finite()).map(|x| (k, x)))
            {
                return Err(Error::Input {
                    file: file.into(),
                    field: format!("properties[{i}] ({}).{prefix}worst.{k}", p.id),
                    message: format!("must be a finite number, got {v}"),
                });
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_number_forms() {
        assert_eq!(escape("<script>a&'b\"</script>"), "&lt;script&gt;a&amp;&#39;b&quot;&lt;/script&gt;");
        assert_eq!(show_ratio(0.9999999999999845), "1 − 1.6e-14");
        assert_eq!(show_ratio(1.0), "1");
        assert_eq!(show(2.61978027611944), "2.62");
        assert_eq!(show(63243.01472575173), "63240");
        assert_eq!(show(6.9e-4), "6.900e-4");
    }

    #[test]
    fn axes_are_log_only_across_decades() {
        let a = Axis::new(&[1.0, 2.0, 4.0], 0.0, 100.0);
        assert!(!a.log);
        let a = Axis::new(&[0.33, 1.0, 6779.0], 0.0, 100.0);
        assert!(a.log && a.lo == -1.0 && a.hi == 4.0, "{} {}", a.lo, a.hi);
        assert!((a.x(1.0) - 20.0).abs() < 1e-12);
        let a = Axis::new(&[-0.5, 2.0], 0.0, 100.0);
        assert!(!a.log && a.x(-0.5) > 0.0 && a.x(2.0) < 100.0);
    }
}
