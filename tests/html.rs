//! The HTML report: the quick report rendered by `check --html`, parsed with an HTML parser
//! (scraper) and checked against report.yaml (read as plain YAML, independently of the tool's
//! types): every property id, verdict, count and number; `dlncheck report` renders the same page;
//! text is escaped; bad inputs to `dlncheck report` are clear errors with exit code 2.

use scraper::{ElementRef, Html, Selector};
use serde_yaml::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn dlncheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dlncheck")).args(args).output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("dlncheck-html-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The quick check's report.yaml and report.html (run once for all tests).
fn quick() -> &'static (PathBuf, PathBuf) {
    static QUICK: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    QUICK.get_or_init(|| {
        let yaml = dir().join("report.yaml");
        let (code, out, err) = dlncheck(&["check", "--quick", "--out", yaml.to_str().unwrap(), "--html"]);
        assert_eq!(code, 0, "{out}{err}");
        let html = yaml.with_extension("html");
        assert!(out.contains(&format!("html: {}", html.display())), "{out}");
        (yaml, html)
    })
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn text(e: ElementRef<'_>) -> String {
    e.text().collect::<String>()
}

/// A number as the page shows it: 4 significant digits, or `1 − δ` / `1 + δ` near 1.
fn shown_value(t: &str) -> f64 {
    let t = t.trim();
    if let Some(d) = t.strip_prefix("1 − ") {
        return 1.0 - d.parse::<f64>().unwrap();
    }
    if let Some(d) = t.strip_prefix("1 + ") {
        return 1.0 + d.parse::<f64>().unwrap();
    }
    t.parse().unwrap_or_else(|_| panic!("not a number: {t:?}"))
}

/// The one `[data-field=field]` number under `scope`: its exact value equals `want` and its shown
/// text agrees with it to the shown precision.
fn check_number(scope: ElementRef<'_>, field: &str, want: f64, what: &str) {
    let s = sel(&format!("[data-field=\"{field}\"]"));
    let found: Vec<ElementRef> = scope.select(&s).collect();
    assert_eq!(found.len(), 1, "{what}: {field} found {} times", found.len());
    let e = found[0];
    let exact: f64 = e.value().attr("data-v").expect("data-v").parse().unwrap();
    assert_eq!(exact, want, "{what}: {field}");
    let shown = shown_value(&text(e));
    let tol = if (shown - 1.0).abs() < 1e-3 && text(e).starts_with("1 ") {
        // `1 − δ` with δ to 2 digits.
        0.06 * (want - 1.0).abs()
    } else {
        1e-3 * want.abs()
    };
    assert!((shown - want).abs() <= tol, "{what}: {field} shown {shown}, is {want}");
}

fn check_count(scope: ElementRef<'_>, field: &str, want: &Value, what: &str) {
    let s = sel(&format!("[data-field=\"{field}\"]"));
    let e = scope.select(&s).next().unwrap_or_else(|| panic!("{what}: no {field}"));
    assert_eq!(text(e), want.as_u64().unwrap().to_string(), "{what}: {field}");
}

const STATS: [&str; 6] = ["min", "q05", "q50", "q95", "max", "mean"];

fn check_stats(scope: ElementRef<'_>, key: &str, st: &Value, what: &str) {
    for k in STATS {
        check_number(scope, &format!("{key}.{k}"), st[k].as_f64().unwrap(), what);
    }
    for i in 0..2 {
        check_number(scope, &format!("{key}.mean_ci95.{i}"), st["mean_ci95"][i].as_f64().unwrap(), what);
    }
}

#[test]
fn quick_report_page_matches_report_yaml() {
    let (yaml, html) = quick();
    let report: Value = serde_yaml::from_str(&std::fs::read_to_string(yaml).unwrap()).unwrap();
    let page = std::fs::read_to_string(html).unwrap();
    let doc = Html::parse_document(&page);
    let props = report["properties"].as_sequence().unwrap();
    assert_eq!(props.len(), 19);
    // Self-contained: no script, nothing loaded from elsewhere.
    assert_eq!(doc.select(&sel("script, link, img, iframe, object")).count(), 0);
    assert!(!page.replace("http://www.w3.org/2000/svg", "").contains("http"), "a link leaves the machine");
    let header = doc.select(&sel("#header")).next().unwrap();
    assert_eq!(
        text(header.select(&sel("[data-field=tool]")).next().unwrap()),
        report["tool"].as_str().unwrap()
    );
    assert_eq!(text(header.select(&sel("[data-field=mode]")).next().unwrap()), "quick");
    check_count(header, "passed", &report["passed"], "header");
    let reading = text(doc.select(&sel("#reading")).next().unwrap());
    assert!(reading.contains("holds iff ≥ 1; 1 is tight"), "{reading}");
    let rows: Vec<ElementRef> = doc.select(&sel("#summary tr[data-id]")).collect();
    assert_eq!(rows.len(), props.len());
    for (p, row) in props.iter().zip(&rows) {
        let id = p["id"].as_str().unwrap();
        let verdict = p["verdict"].as_str().unwrap();
        assert_eq!(row.value().attr("data-id"), Some(id), "summary order");
        let what = format!("summary {id}");
        assert_eq!(text(row.select(&sel("[data-field=verdict]")).next().unwrap()), verdict, "{what}");
        check_count(*row, "instances", &p["instances"], &what);
        match (p.get("tightness"), p.get("error")) {
            (Some(t), _) => check_number(*row, "tightness.min", t["min"].as_f64().unwrap(), &what),
            (None, Some(e)) => check_number(*row, "error.max", e["max"].as_f64().unwrap(), &what),
            _ => panic!("{id}: no statistics"),
        }

        let section = doc
            .select(&sel(&format!("section[data-id=\"{id}\"]")))
            .next()
            .unwrap_or_else(|| panic!("no section for {id}"));
        let what = format!("section {id}");
        let h2 = section.select(&sel("h2")).next().unwrap();
        assert!(text(h2).starts_with(id), "{what}");
        assert_eq!(text(h2.select(&sel("[data-field=verdict]")).next().unwrap()), verdict);
        let statement = text(section.select(&sel("blockquote")).next().unwrap());
        assert_eq!(statement, p["statement"].as_str().unwrap(), "{what}");
        let result = section.select(&sel("p.result")).next().unwrap();
        for k in ["instances", "holds", "violated", "not_converged", "errors"] {
            check_count(result, k, &p[k], &what);
        }
        let stats = section.select(&sel("table.stats")).next().unwrap();
        for key in ["tightness", "error"] {
            if let Some(st) = p.get(key) {
                check_stats(stats, key, st, &what);
            }
        }
        // The plot: one row for the claim and one per control with statistics of that measure.
        let measure = if p.get("tightness").is_some() { "tightness" } else { "error" };
        let svg = section
            .select(&sel(&format!(
                "svg[data-measure=\"{}\"]",
                if measure == "error" { "error / tolerance" } else { measure }
            )))
            .next()
            .unwrap_or_else(|| panic!("{what}: no plot"));
        let controls = p["controls"].as_sequence().unwrap();
        let plotted = 1 + controls.iter().filter(|c| c.get(measure).is_some()).count();
        assert_eq!(svg.select(&sel("g.row")).count(), plotted, "{what}: plot rows");
        // The worst instance and its command.
        let w = &p["worst"];
        let worst = section.select(&sel("p.worst")).next().unwrap();
        check_count(worst, "worst.index", &w["index"], &what);
        check_count(worst, "worst.seed", &w["seed"], &what);
        if let Some(t) = w.get("tightness") {
            check_number(worst, "worst.tightness", t.as_f64().unwrap(), &what);
        }
        if let Some(e) = w.get("error") {
            check_number(worst, "worst.error", e.as_f64().unwrap(), &what);
        }
        let cmd = text(section.select(&sel("pre.cmd")).next().unwrap());
        let index = w["index"].as_u64().unwrap();
        if id.starts_with("mc.") {
            assert_eq!(
                cmd,
                format!(
                    "dlncheck reproduce {id} --instance {index} --quick --out worst.yaml && dlncheck sharpness worst.yaml"
                )
            );
        } else {
            assert_eq!(cmd, format!("dlncheck check --only {id} --quick"));
        }
        // Every control with its verdict, counts and worst value.
        let crow: Vec<ElementRef> = section.select(&sel("tr[data-control]")).collect();
        assert_eq!(crow.len(), controls.len(), "{what}: controls");
        for (c, r) in controls.iter().zip(crow) {
            let v = c["variant"].as_str().unwrap();
            let what = format!("{what} control {v}");
            assert_eq!(r.value().attr("data-control"), Some(v));
            assert_eq!(
                text(r.select(&sel("[data-field=verdict]")).next().unwrap()),
                c["verdict"].as_str().unwrap()
            );
            check_count(r, "instances", &c["instances"], &what);
            check_count(r, "violated", &c["violated"], &what);
            if let Some(t) = c.get("tightness") {
                check_number(r, "tightness.min", t["min"].as_f64().unwrap(), &what);
            } else if let Some(e) = c.get("error") {
                check_number(r, "error.max", e["max"].as_f64().unwrap(), &what);
            }
        }
        // Links to the spec file and the claim module.
        let hrefs: Vec<&str> =
            section.select(&sel("p.links a")).filter_map(|a| a.value().attr("href")).collect();
        assert!(hrefs[0].ends_with(&format!("properties/{id}.yaml")), "{hrefs:?}");
        assert!(hrefs[1].ends_with(&format!("src/claims/{}.rs", id.replace('.', "_"))), "{hrefs:?}");
        for h in &hrefs {
            assert!(Path::new(h).exists(), "{what}: link {h} points nowhere");
        }
    }
    // The figures of a claim that names some: links to the files `dlncheck figures` writes.
    let s = doc.select(&sel("section[data-id=\"mc.gd.stability\"]")).next().unwrap();
    let figs: Vec<&str> = s.select(&sel("li a")).filter_map(|a| a.value().attr("href")).collect();
    assert!(figs.iter().any(|f| f.ends_with("figures/fig2.svg")), "{figs:?}");
}

#[test]
fn report_command_renders_the_same_page() {
    let (yaml, html) = quick();
    let again = dir().join("again.html");
    let (code, out, err) = dlncheck(&["report", yaml.to_str().unwrap(), "--html", again.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(html).unwrap());
}

#[test]
fn text_is_escaped() {
    let (yaml, _) = quick();
    let text = std::fs::read_to_string(yaml).unwrap();
    let mut report: Value = serde_yaml::from_str(&text).unwrap();
    let p = &mut report["properties"][0];
    p["title"] = Value::from("<script>alert(1)</script>");
    p["statement"] = Value::from("a < b & \"c\" <img src=x onerror=alert(2)>");
    p["controls"][0]["variant"] = Value::from("\"><script>alert(3)</script>");
    let evil = dir().join("evil.yaml");
    std::fs::write(&evil, serde_yaml::to_string(&report).unwrap()).unwrap();
    let out = dir().join("evil.html");
    let (code, o, e) = dlncheck(&["report", evil.to_str().unwrap(), "--html", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{o}{e}");
    let page = std::fs::read_to_string(&out).unwrap();
    let doc = Html::parse_document(&page);
    assert_eq!(doc.select(&sel("script, img")).count(), 0, "markup in the report came out live");
    let section = doc.select(&sel("section")).next().unwrap();
    assert!(section.text().any(|t| t.contains("<script>alert(1)</script>")));
    assert_eq!(
        section.select(&sel("blockquote")).next().map(|b| b.text().collect::<String>()).unwrap(),
        "a < b & \"c\" <img src=x onerror=alert(2)>"
    );
    assert!(
        section
            .select(&sel("tr[data-control]"))
            .next()
            .unwrap()
            .value()
            .attr("data-control")
            .unwrap()
            .contains("<script>")
    );
}

fn refused(file: &Path, expect: &str) {
    let out = dir().join("refused.html");
    let (code, o, e) = dlncheck(&["report", file.to_str().unwrap(), "--html", out.to_str().unwrap()]);
    assert_eq!(code, 2, "{}: {o}{e}", file.display());
    assert!(e.contains(expect), "{}: expected `{expect}` in: {e}", file.display());
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn bad_reports_are_clear_errors() {
    let d = dir();
    refused(&d.join("missing.yaml"), "cannot read");
    let f = d.join("malformed.yaml");
    std::fs::write(&f, "tool: [unclosed\n").unwrap();
    refused(&f, "malformed.yaml");
    std::fs::write(&f, "just: a mapping\n").unwrap();
    refused(&f, "not a dlncheck report");
    std::fs::write(&f, [0xff, 0xfe, 0x00]).unwrap();
    refused(&f, "not UTF-8");
    let (yaml, _) = quick();
    let text = std::fs::read_to_string(yaml).unwrap();
    let version = d.join("version.yaml");
    std::fs::write(&version, text.replacen("tool: dlncheck ", "tool: dlncheck 9", 1)).unwrap();
    refused(&version, "tool: written by `dlncheck 9");
    let nan = d.join("nan.yaml");
    let mut report: Value = serde_yaml::from_str(&text).unwrap();
    report["properties"][1]["tightness"]["q50"] = Value::from(f64::NAN);
    std::fs::write(&nan, serde_yaml::to_string(&report).unwrap()).unwrap();
    refused(&nan, "properties[1] (mc.thm1.lower_bound).tightness.q50: must be a finite number");
    // A file larger than any report (sparse: no disk used) is refused before it is read.
    let huge = d.join("huge.yaml");
    std::fs::File::create(&huge).unwrap().set_len((64 << 20) + 1).unwrap();
    refused(&huge, "size");
    std::fs::remove_file(&huge).ok();
}

#[test]
fn html_is_refused_for_a_shard() {
    let out = dir().join("shard.yaml");
    let (code, _, e) =
        dlncheck(&["check", "--quick", "--shard", "0/2", "--html", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("--html"), "{e}");
}
