//! `dlncheck figures`: runs each experiment the chosen figures need
//! ([`dlncheck::experiments::run`], with a progress bar on standard error when it is a
//! terminal), draws and writes its figures ([`dlncheck::figures`]), and reports; sharded
//! (`--shard I/N`), it runs its share of the work items into a partial file
//! ([`dlncheck::figures::parts`]) that `dlncheck merge` turns into the same figure files.

use crate::check::ShardOptions;
use dlncheck::experiments::work::{self, Done, Unit};
use dlncheck::experiments::{self, Experiment, Figure, Results};
use dlncheck::figures::parts::{self, FiguresPart};
use dlncheck::figures::{self, Options};
use dlncheck::io::error::{Error, write_atomic};
use dlncheck::io::shard::{self, Shard};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Per-experiment report line of `dlncheck figures` (printed as YAML on standard output).
#[derive(Clone, Debug, Serialize)]
pub struct ExperimentReport {
    pub experiment: Experiment,
    pub figures: Vec<Figure>,
    /// Runs (gradient-descent runs, or gradient flows for the Jacot et al. figures (jgshg-staircase, jgshg-escape)).
    pub runs: usize,
    /// Gradient-descent steps (0 for the gradient flows).
    pub gd_steps: u64,
    /// Wall-clock seconds (0 after a merge: the shards ran elsewhere), and CPU seconds (each
    /// unit's thread CPU clock around its work, [`dlncheck::experiments::cpu_clock`], summed
    /// over units, threads and shards) split into gradient-descent steps (the whole flows for
    /// the Jacot et al. figures (jgshg-staircase, jgshg-escape)) and spectral work (exact eigenvalues, the authors' estimator,
    /// certificates).
    pub wall_seconds: f64,
    pub gd_cpu_seconds: f64,
    pub spectra_cpu_seconds: f64,
    pub checks_hold: bool,
    pub failed_checks: Vec<String>,
    pub files: Vec<String>,
}

/// The saddle spec the figures read (properties/jgshg.saddle_to_saddle.yaml, found as `check`
/// finds the properties): its text and its figure settings.
pub fn saddle_input() -> Result<(String, dlncheck::lowrank::saddle::SaddleSpec), Error> {
    let path = crate::check::properties_dir(None).join(parts::SADDLE_SPEC);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
    // Validated as `check` validates it (registered id, file name), then read for the figures.
    dlncheck::claims::load_spec(&path).map_err(crate::check::spec_error)?;
    let saddle = saddle_from_text(&text, &path.display().to_string())?;
    Ok((text, saddle))
}

/// The figure settings of a saddle spec's text (`file` names it in errors).
fn saddle_from_text(text: &str, file: &str) -> Result<dlncheck::lowrank::saddle::SaddleSpec, Error> {
    let spec = dlncheck::framework::spec::Spec::parse(text, file).map_err(crate::check::spec_error)?;
    dlncheck::claims::jgshg_saddle_to_saddle::figure_spec(&spec, file).map_err(crate::check::spec_error)
}

/// `dlncheck figures` with its sharding options: the whole run, one shard, or a plan.
pub fn main(opts: &Options, saddle_text: &str, sharding: ShardOptions) -> Result<ExitCode, Error> {
    let shard = shard::resolve(sharding.shard, sharding.shard_count)?;
    if sharding.plan {
        plan(opts, shard);
        return Ok(ExitCode::SUCCESS);
    }
    if shard == Shard::WHOLE && !sharding.resume {
        return Ok(report(&run(opts)?));
    }
    let path = run_shard(opts, saddle_text, shard, sharding.resume)?;
    if shard != Shard::WHOLE {
        return Ok(ExitCode::SUCCESS);
    }
    // A resumable whole run: its checkpoint holds every unit; merge it, then drop it.
    let code = merge(std::slice::from_ref(&path), &opts.out)?;
    std::fs::remove_file(&path).ok();
    Ok(code)
}

/// Prints the reports as YAML; exit code 1 if a figure's check fails.
fn report(reports: &[ExperimentReport]) -> ExitCode {
    print!("{}", dlncheck::io::yaml::to_string(&reports));
    if reports.iter().all(|r| r.checks_hold) { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// Draws and writes the figures of one experiment's results: the one path from [`Results`] to
/// files, for the unsharded run and the merge alike.
fn emit(opts: &Options, results: &Results) -> Result<ExperimentReport, Error> {
    let mut files = Vec::new();
    let mut failed = Vec::new();
    let mut shown = Vec::new();
    for out in figures::build(results, &opts.figures(), opts.quick)? {
        if failed.is_empty() {
            failed = out.failed_checks();
        }
        files.extend(out.write(&opts.out)?.into_iter().map(|p| p.display().to_string()));
        shown.push(out.figure());
    }
    let timing = results.timing();
    Ok(ExperimentReport {
        experiment: results.experiment(),
        figures: shown,
        runs: results.num_runs(),
        gd_steps: results.gd_steps(),
        wall_seconds: timing.wall,
        gd_cpu_seconds: timing.gd,
        spectra_cpu_seconds: timing.spectra,
        checks_hold: failed.is_empty(),
        failed_checks: failed,
        files,
    })
}

fn bar_style() -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(
        "{prefix:>16} [{bar:40}] {pos}/{len} runs, {elapsed_precise} (eta {eta})",
    )
    .expect("valid template")
    .progress_chars("=> ")
}

/// Runs the experiments for `opts` one after the other, writes their figures, and reports.
pub fn run(opts: &Options) -> Result<Vec<ExperimentReport>, Error> {
    let mut reports = Vec::new();
    for e in opts.experiments() {
        let settings = opts.settings(e);
        let bar = indicatif::ProgressBar::new(settings.num_runs() as u64)
            .with_style(bar_style())
            .with_prefix(e.tag());
        let results = experiments::run(&settings, &|n| bar.inc(n))?;
        bar.finish_and_clear();
        eprintln!("figures: {} done", e.tag());
        reports.push(emit(opts, &results)?);
    }
    Ok(reports)
}

/// `--plan`: work items per experiment and estimated CPU seconds per shard; runs nothing.
fn plan(opts: &Options, shard: Shard) {
    let items = parts::work_items(opts);
    let costs: Vec<f64> = items.iter().map(|w| w.cost).collect();
    let a = shard::assign(&costs, shard.count);
    let loads = shard::loads(&costs, &a, shard.count);
    let us = 1e-6;
    println!(
        "plan: {} experiments, {} work items ({} mode), estimated {:.0} CPU-seconds in all",
        opts.experiments().len(),
        items.len(),
        if opts.quick { "quick" } else { "full" },
        costs.iter().sum::<f64>() * us
    );
    println!("{:<34} {:>10} {:>14}", "experiment", "items", "est. CPU s");
    for e in opts.experiments() {
        let (n, c) =
            items.iter().filter(|w| w.unit.experiment == e).fold((0, 0.0), |(n, c), w| (n + 1, c + w.cost));
        println!("{:<34} {:>10} {:>14.2}", e.tag(), n, c * us);
    }
    println!("{:>7} {:>10} {:>14}", "shard", "items", "est. CPU s");
    for (i, (n, c)) in loads.iter().enumerate() {
        println!("{:>7} {:>10} {:>14.1}", format!("{i}/{}", shard.count), n, c * us);
    }
    println!(
        "(estimates from a per-unit cost model calibrated on a 2-core x86 machine; a shard's wall \
         time is about its CPU time divided by its cores)"
    );
}

/// Runs shard `shard`'s units into its partial file (atomically rewritten after each
/// experiment), continuing from it with `resume`; returns its path.
fn run_shard(opts: &Options, saddle_text: &str, shard: Shard, resume: bool) -> Result<PathBuf, Error> {
    let items = parts::work_items(opts);
    let mine = parts::shard_units(&items, shard);
    let path = parts::part_path(&opts.out, shard);
    let mut part = FiguresPart::new(opts, saddle_text, shard, items.len(), mine.len());
    let mut done: BTreeMap<Unit, Done> = BTreeMap::new();
    if resume {
        done = resume_from(&path, &part, opts, &mine)?;
    }
    let save = |part: &mut FiguresPart, done: &BTreeMap<Unit, Done>| {
        part.items = mine.iter().filter_map(|u| done.get(u)).map(parts::Item::new).collect();
        part.header.complete = part.items.len() == mine.len();
        write_atomic(&path, part.to_yaml().as_bytes())
    };
    for e in opts.experiments() {
        let todo: Vec<Unit> =
            mine.iter().filter(|u| u.experiment == e && !done.contains_key(u)).copied().collect();
        if todo.is_empty() {
            continue;
        }
        // One tick per unit (a curve reports no run).
        let ticks = todo.iter().filter(|u| u.kind != work::Kind::Curve).count();
        let bar = indicatif::ProgressBar::new(ticks as u64).with_style(bar_style()).with_prefix(e.tag());
        let finished = work::run_units(&opts.settings(e), &todo, &|n| bar.inc(n.min(1)))?;
        bar.finish_and_clear();
        done.extend(finished.into_iter().map(|d| (d.unit, d)));
        save(&mut part, &done)?;
    }
    save(&mut part, &done)?;
    if shard != Shard::WHOLE {
        println!(
            "shard {shard}: {} of {} work items → {} (combine the parts with `dlncheck merge`)",
            mine.len(),
            items.len(),
            path.display()
        );
    }
    Ok(path)
}

/// `--resume`: the units an earlier, interrupted run of the same shard recorded in `path` (none
/// if it does not exist). Refuses a file of another run, naming what differs.
fn resume_from(
    path: &Path,
    fresh: &FiguresPart,
    opts: &Options,
    mine: &[Unit],
) -> Result<BTreeMap<Unit, Done>, Error> {
    if !path.exists() {
        eprintln!("resume: no {} yet; starting from the beginning", path.display());
        return Ok(BTreeMap::new());
    }
    let name = path.display().to_string();
    let old = FiguresPart::parse(&shard::read_part(path)?, &name)?;
    let differs = |field: &str, message: String| Error::Input {
        file: name.clone(),
        field: field.into(),
        message: format!("{message}: not the partial file of this run (delete it or drop --resume)"),
    };
    if let Some((what, a, b)) = fresh.header.mismatch(&old.header) {
        return Err(differs(what, format!("this run has {a}, the file {b}")));
    }
    if old.header.shard != fresh.header.shard {
        return Err(differs(
            "shard",
            format!("this run is shard {}, the file {}", fresh.header.shard, old.header.shard),
        ));
    }
    let done = parts::part_results(&old, opts, &name, mine)?;
    eprintln!("resume: {} of {} work items already done in {}", done.len(), mine.len(), name);
    Ok(done)
}

/// `dlncheck merge` of figures parts: the figure files of the unsharded run, into `out`.
pub fn merge(files: &[PathBuf], out: &Path) -> Result<ExitCode, Error> {
    let mut loaded = Vec::new();
    for f in files {
        let name = f.display().to_string();
        loaded.push((f.clone(), FiguresPart::parse(&shard::read_part(f)?, &name)?));
    }
    let headers: Vec<_> = loaded.iter().map(|(f, p)| (f.clone(), p.header.clone())).collect();
    shard::check_parts(&headers)?;
    shard::check_tool(&headers)?;
    let (first_file, first) = &loaded[0];
    let name = format!("{}: {}", first_file.display(), parts::SADDLE_SPEC);
    let saddle = saddle_from_text(first.saddle_text(), &name)?;
    let opts = first.options(saddle, out.to_path_buf(), &first_file.display().to_string())?;
    let results = parts::merge(&loaded, &opts)?;
    let reports: Vec<ExperimentReport> = results.iter().map(|r| emit(&opts, r)).collect::<Result<_, _>>()?;
    eprintln!("figures: merged {} parts into {}", files.len(), out.display());
    Ok(report(&reports))
}
