//! The HTML report: `dlncheck check --html [FILE]` and `dlncheck report REPORT.yaml --html
//! FILE`; a thin layer over `framework::html::render` (links, specs, file I/O).

use crate::check;
use dlncheck::framework::html::{self, Context, Links};
use dlncheck::framework::property::Variant;
use dlncheck::framework::report::Report;
use dlncheck::framework::spec::Spec;
use dlncheck::io::error::{Error, write_atomic};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

/// The prefix that leads from the folder of `html` back to the current directory: `../` per
/// folder of a relative path, else the current directory's absolute path.
fn back_to_cwd(html: &Path) -> String {
    let parent = html.parent().unwrap_or(Path::new(""));
    let comps: Vec<Component> = parent.components().filter(|c| !matches!(c, Component::CurDir)).collect();
    if comps.iter().all(|c| matches!(c, Component::Normal(_))) {
        return "../".repeat(comps.len());
    }
    std::env::current_dir().map(|d| format!("{}/", d.display())).unwrap_or_default()
}

/// A folder as a link prefix: relative folders behind `back`, absolute ones as they are.
fn prefix(back: &str, dir: &Path) -> String {
    if dir.is_absolute() { format!("{}/", dir.display()) } else { format!("{back}{}/", dir.display()) }
}

/// The ids (among `specs`) whose worst instance has an instance-file form.
fn instance_files(report: &Report) -> BTreeSet<String> {
    report
        .properties
        .iter()
        .filter(|p| {
            let Some(claim) = dlncheck::claims::find(&p.id) else { return false };
            p.summary
                .worst
                .as_ref()
                .is_some_and(|w| claim.instance(&w.point, w.seed, Variant::Claim).is_some())
        })
        .map(|p| p.id.clone())
        .collect()
}

/// Renders `report` to `html_path` (atomically). `dir` is the properties folder the specs came
/// from, `dir_arg` the `--properties` given (repeated in the page's commands).
pub fn write_html(
    report: &Report,
    specs: &[Spec],
    dir: &Path,
    dir_arg: Option<&Path>,
    report_path: &Path,
    html_path: &Path,
) -> Result<(), Error> {
    let back = back_to_cwd(html_path);
    let source = if Path::new("src/claims").is_dir() {
        back.clone()
    } else {
        concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string()
    };
    let files = instance_files(report);
    let ctx = Context {
        specs,
        instance_files: &files,
        properties_arg: dir_arg.map(|d| d.display().to_string()),
        links: Links { specs: prefix(&back, dir), source, figures: format!("{back}figures/") },
        report_file: report_path.display().to_string(),
    };
    write_atomic(html_path, html::render(report, &ctx).as_bytes())
}

/// Reads a report file, refusing one larger than [`html::MAX_REPORT_BYTES`] before reading it.
fn read_report(path: &Path) -> Result<Report, Error> {
    let rerr = |source| Error::Read { path: path.to_path_buf(), source };
    let f = std::fs::File::open(path).map_err(rerr)?;
    let len = f.metadata().map_err(rerr)?.len();
    let limit = html::MAX_REPORT_BYTES;
    let too_big = |len: u64| Error::Input {
        file: path.display().to_string(),
        field: "size".into(),
        message: format!("{len} bytes, more than the {limit} a report can have"),
    };
    if len > limit {
        return Err(too_big(len));
    }
    let mut bytes = Vec::new();
    f.take(limit + 1).read_to_end(&mut bytes).map_err(rerr)?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    let text = String::from_utf8(bytes).map_err(|e| Error::Syntax {
        file: path.display().to_string(),
        message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })?;
    html::parse_report(&text, &path.display().to_string())
}

/// `dlncheck report REPORT --html FILE`: renders an existing (or merged) report. The specs come
/// from `--properties` (or the default folder); a property whose spec is missing is rendered
/// from the report alone.
pub fn run(report_path: &Path, html_path: Option<&Path>, dir_arg: Option<&Path>) -> Result<ExitCode, Error> {
    let report = read_report(report_path)?;
    let dir = check::properties_dir(dir_arg);
    let mut specs = Vec::new();
    for p in &report.properties {
        let f = dir.join(format!("{}.yaml", p.id));
        if f.exists() {
            specs.push(dlncheck::claims::load_spec(&f).map_err(check::spec_error)?.0);
        }
    }
    let out: PathBuf = html_path.map(Path::to_path_buf).unwrap_or_else(|| report_path.with_extension("html"));
    write_html(&report, &specs, &dir, dir_arg, report_path, &out)?;
    println!("html: {} ({} properties)", out.display(), report.properties.len());
    Ok(ExitCode::SUCCESS)
}
