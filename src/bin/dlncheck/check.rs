//! The `check`, `reproduce` and `list` commands: thin layers over spec → runner → report.

use dlncheck::framework::property::Variant;
use dlncheck::framework::report::{self, PropertyTiming, Report};
use dlncheck::framework::runner::{self, PropertyRun, Verdict};
use dlncheck::framework::spec::{Mode, Spec, SpecError};
use dlncheck::io::error::{Error, write_atomic};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(crate) fn spec_error(e: SpecError) -> Error {
    Error::Input {
        file: format!("{}{}", e.file, e.line.map(|l| format!(":{l}")).unwrap_or_default()),
        field: e.key,
        message: e.message,
    }
}

/// The settings of figures 7–8: the values of jgshg.saddle_to_saddle's spec in the properties
/// directory (as `check` finds it), so that the figures and the property cannot drift apart.
pub fn saddle_figure_spec() -> Result<dlncheck::lowrank::saddle::SaddleSpec, Error> {
    let path = properties_dir(None).join("jgshg.saddle_to_saddle.yaml");
    let (spec, _) = dlncheck::claims::load_spec(&path).map_err(spec_error)?;
    dlncheck::claims::jgshg_saddle_to_saddle::figure_spec(&spec, &path.display().to_string())
        .map_err(spec_error)
}

/// The properties directory: the option, else ./properties, else the one in the source tree.
pub(crate) fn properties_dir(opt: Option<&Path>) -> PathBuf {
    match opt {
        Some(p) => p.to_path_buf(),
        None if Path::new("properties").is_dir() => PathBuf::from("properties"),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/properties")),
    }
}

/// Loads every spec (validated) and checks that every registered claim has one.
pub(crate) fn load_specs(
    dir: &Path,
    only: &[String],
) -> Result<Vec<(Spec, &'static dyn dlncheck::framework::property::Claim)>, Error> {
    let mut specs = Vec::new();
    for f in dlncheck::framework::spec::spec_files(dir).map_err(spec_error)? {
        specs.push(dlncheck::claims::load_spec(&f).map_err(spec_error)?);
    }
    for c in dlncheck::claims::all() {
        if !specs.iter().any(|(s, _)| s.id == c.id()) {
            return Err(Error::Input {
                file: dir.display().to_string(),
                field: c.id().into(),
                message: "registered claim has no spec file".into(),
            });
        }
    }
    for id in only {
        if !specs.iter().any(|(s, _)| &s.id == id) {
            let ids: Vec<&str> = specs.iter().map(|(s, _)| s.id.as_str()).collect();
            return Err(Error::Input {
                file: "--only".into(),
                field: id.clone(),
                message: format!("no such property (have: {})", ids.join(", ")),
            });
        }
    }
    // Report order: the registry's.
    let order: Vec<&str> = dlncheck::claims::all().iter().map(|c| c.id()).collect();
    specs.sort_by_key(|(s, _)| order.iter().position(|&i| i == s.id).unwrap_or(usize::MAX));
    Ok(specs.into_iter().filter(|(s, _)| only.is_empty() || only.contains(&s.id)).collect())
}

/// Panics inside claim code are caught per instance and recorded in the report; keep them off
/// the terminal (no backtrace spam across thousands of instances).
pub(crate) fn quiet_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

fn progress_bar(total: usize) -> ProgressBar {
    let pb = ProgressBar::new(total as u64);
    pb.set_style(
        ProgressStyle::with_template(
            "{bar:40.cyan/blue} {pos}/{len} instances  {msg}  [{elapsed_precise} < {eta}]",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb
}

pub fn run(
    only: &[String],
    quick: bool,
    seed: u64,
    threads: Option<usize>,
    out: &Path,
    dir: Option<&Path>,
) -> Result<ExitCode, Error> {
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global().ok();
    }
    let mode = if quick { Mode::Quick } else { Mode::Full };
    quiet_panics();
    let specs = load_specs(&properties_dir(dir), only)?;
    let total: usize = specs.iter().map(|(s, _)| runner::count_instances(s, mode, seed)).sum();
    let pb = progress_bar(total);
    let mut runs: Vec<PropertyRun> = Vec::new();
    let timing_path = out.with_extension("timing.yaml");
    for (spec, claim) in &specs {
        pb.set_message(spec.id.clone());
        let tick = || pb.inc(1);
        runs.push(runner::run(spec, *claim, mode, seed, &tick));
        let complete = runs.len() == specs.len();
        write_atomic(out, Report::new(mode, seed, &runs, complete).to_yaml().as_bytes())?;
    }
    pb.finish_and_clear();
    let timings: Vec<PropertyTiming> = runs
        .iter()
        .map(|r| PropertyTiming {
            property: r.spec.id.clone(),
            instances: r.results.len(),
            seconds: r.seconds,
        })
        .collect();
    write_atomic(&timing_path, dlncheck::io::yaml::to_string(&timings).as_bytes())?;
    print!("{}", report::table(&runs));
    let failed: Vec<&PropertyRun> = runs.iter().filter(|r| !r.ok()).collect();
    println!(
        "report: {} ({} of {} properties pass; wall times in {})",
        out.display(),
        runs.len() - failed.len(),
        runs.len(),
        timing_path.display()
    );
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for r in &failed {
        let why = match r.verdict {
            Verdict::Holds => "a control did not fail".to_string(),
            Verdict::Error => format!("error: {}", r.summary.first_error.clone().unwrap_or_default()),
            v => format!("{v:?}").to_lowercase(),
        };
        eprintln!("FAILED {}: {why}", r.spec.id);
    }
    let only_errors = failed.iter().all(|r| r.verdict == Verdict::Error);
    Ok(ExitCode::from(if only_errors { 3 } else { 1 }))
}

pub fn reproduce(
    id: &str,
    index: Option<usize>,
    control: Option<&str>,
    quick: bool,
    seed: u64,
    out: Option<&Path>,
    dir: Option<&Path>,
) -> Result<ExitCode, Error> {
    let mode = if quick { Mode::Quick } else { Mode::Full };
    let specs = load_specs(&properties_dir(dir), &[id.to_string()])?;
    let (spec, claim) = &specs[0];
    let (instances, variant) = match control {
        None => (spec.instances(mode, seed), Variant::Claim),
        Some(v) => {
            let c = spec.controls.iter().position(|c| c.variant == v).ok_or_else(|| Error::Input {
                file: "--control".into(),
                field: v.into(),
                message: format!("`{id}` has no such control"),
            })?;
            (spec.control_instances(c, mode, seed), Variant::Control(v))
        }
    };
    let k = match index {
        Some(k) if k < instances.len() => k,
        Some(k) => {
            return Err(Error::Input {
                file: "--instance".into(),
                field: k.to_string(),
                message: format!("out of range: `{id}` has {} instances in this mode", instances.len()),
            });
        }
        None => {
            let pb = progress_bar(instances.len());
            let tick = || pb.inc(1);
            let results = runner::measure_all(*claim, &instances, variant, &tick);
            pb.finish_and_clear();
            let s =
                dlncheck::framework::summary::summarize(spec.kind, spec.min_proportion, &instances, &results);
            s.worst.map(|w| w.index).unwrap_or(0)
        }
    };
    let inst = &instances[k];
    let m = claim.measure(&inst.point, inst.seed, variant).map_err(|e| Error::Numerical(e.0))?;
    let file = claim.instance(&inst.point, inst.seed, variant).ok_or_else(|| Error::Input {
        file: id.into(),
        field: "instance".into(),
        message: "this property's instances are not univariate regression networks; no instance file form"
            .into(),
    })?;
    let mut line = format!("instance {k} of {id} (seed {}): {:?}", inst.seed, m.status);
    if let Some(t) = m.tightness {
        line += &format!(", tightness {t}");
    }
    if let Some(e) = m.error {
        line += &format!(", error {e:e}");
    }
    for (name, v) in &m.values {
        let shown =
            if *v != 0.0 && (v.abs() < 1e-4 || v.abs() >= 1e6) { format!("{v:e}") } else { format!("{v}") };
        line += &format!(", {name} {shown}");
    }
    eprintln!("{}", line.to_lowercase());
    let text = dlncheck::io::instance::to_yaml(&file);
    match out {
        Some(p) => write_atomic(p, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Output of `dlncheck list`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Text,
    Markdown,
}

pub fn list(dir: Option<&Path>, format: ListFormat) -> Result<ExitCode, Error> {
    let specs = load_specs(&properties_dir(dir), &[])?;
    if format == ListFormat::Markdown {
        let refs: Vec<_> = specs.iter().map(|(s, c)| (s.clone(), *c)).collect();
        print!("{}", dlncheck::framework::catalogue::markdown(&refs));
        return Ok(ExitCode::SUCCESS);
    }
    for (s, _) in specs {
        let prov = dlncheck::io::yaml::to_string(&s.source.provenance);
        println!(
            "{:<34} {:<14} {:<26} {}",
            s.id,
            format!("{:?}", s.kind).to_lowercase(),
            prov.trim(),
            s.title
        );
    }
    Ok(ExitCode::SUCCESS)
}
