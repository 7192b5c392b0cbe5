//! The `check`, `reproduce` and `list` commands: thin layers over spec → runner → report.

use dlncheck::framework::partial;
use dlncheck::framework::property::Variant;
use dlncheck::framework::report::{self, AttackSummary, PropertyTiming, Report};
use dlncheck::framework::runner::{self, PropertyRun, Verdict};
use dlncheck::framework::spec::{InstanceSpec, Mode, Spec, SpecError};
use dlncheck::io::error::{Error, write_atomic};
use dlncheck::io::shard::{self, Shard};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(crate) fn spec_error(e: SpecError) -> Error {
    Error::Input {
        file: format!("{}{}", e.file, e.line.map(|l| format!(":{l}")).unwrap_or_default()),
        field: e.key,
        message: e.message,
    }
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
    load_specs_as(dir, only, "--only")
}

/// [`load_specs`]; an unknown id is blamed on `what` (`--only`, or the property-id argument).
pub(crate) fn load_specs_as(
    dir: &Path,
    only: &[String],
    what: &str,
) -> Result<Vec<(Spec, &'static dyn dlncheck::framework::property::Claim)>, Error> {
    if !dir.is_dir() {
        return Err(Error::Input {
            file: dir.display().to_string(),
            field: "--properties".into(),
            message: "no such directory of property specs: run from the repository (which has \
                      properties/), or point --properties at a folder of specs"
                .into(),
        });
    }
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
                file: what.into(),
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

/// Refuses specs that expand to more than `max` instances (`--max-instances`), before anything
/// is allocated, naming the largest property and its count.
pub(crate) fn instance_budget(specs: &[&Spec], mode: Mode, max: usize) -> Result<(), Error> {
    runner::check_instance_budget(specs, mode, max).map_err(|(id, count, total)| Error::Input {
        file: format!("{id}.yaml"),
        field: "repetitions".into(),
        message: format!(
            "the grid × repetitions expand to {count} instances ({total} in all), above the limit of \
             {max}: shrink the grid or raise --max-instances"
        ),
    })
}

/// How a `check` is split and resumed (`--shard`, `--shard-count`, `--resume`, `--plan`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ShardOptions {
    pub shard: Option<shard::ShardArg>,
    pub shard_count: Option<usize>,
    pub resume: bool,
    pub plan: bool,
}

/// The selected spec files, verbatim (a partial report carries them, and their hashes).
fn spec_files(dir: &Path, specs: &[Spec]) -> Result<Vec<partial::SpecFile>, Error> {
    specs
        .iter()
        .map(|s| {
            let file = format!("{}.yaml", s.id);
            let path = dir.join(&file);
            let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path, source })?;
            Ok(partial::SpecFile { file, text })
        })
        .collect()
}

/// `--plan`: work items and estimated CPU time per shard; nothing runs.
fn print_plan(specs: &[Spec], items: &[partial::WorkItem], shard: Shard, mode: Mode) {
    let costs: Vec<f64> = items.iter().map(|w| w.cost).collect();
    let count = shard.count;
    let a = shard::assign(&costs, count);
    let loads = shard::loads(&costs, &a, count);
    let total: f64 = costs.iter().sum::<f64>() * partial::SECONDS_PER_UNIT;
    println!(
        "plan: {} properties, {} work items ({} mode), estimated {:.0} CPU-seconds in all",
        specs.len(),
        items.len(),
        partial::mode_name(mode),
        total
    );
    println!("{:<34} {:>10} {:>14}", "property", "items", "est. CPU s");
    for (p, spec) in specs.iter().enumerate() {
        let (n, c) = items.iter().filter(|w| w.property == p).fold((0, 0.0), |(n, c), w| (n + 1, c + w.cost));
        println!("{:<34} {:>10} {:>14.2}", spec.id, n, c * partial::SECONDS_PER_UNIT);
    }
    println!("{:>7} {:>10} {:>14}", "shard", "items", "est. CPU s");
    for (i, (n, c)) in loads.iter().enumerate() {
        println!("{:>7} {:>10} {:>14.1}", format!("{i}/{count}"), n, c * partial::SECONDS_PER_UNIT);
    }
    println!(
        "(estimates from a per-instance cost model calibrated per property on a 2-core x86 machine; \
         a shard's wall time is about its CPU time divided by its cores)"
    );
}

#[allow(clippy::too_many_arguments)]
pub fn run(
    only: &[String],
    quick: bool,
    seed: u64,
    threads: Option<usize>,
    out: &Path,
    dir: Option<&Path>,
    sharding: ShardOptions,
    max_instances: usize,
    html: Option<&Path>,
) -> Result<ExitCode, Error> {
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global().ok();
    }
    let mode = if quick { Mode::Quick } else { Mode::Full };
    let shard = shard::resolve(sharding.shard, sharding.shard_count)?;
    if html.is_some() && shard != Shard::WHOLE {
        return Err(Error::Input {
            file: "arguments".into(),
            field: "--html".into(),
            message: "a shard writes a partial report: render the merged one with `dlncheck report`".into(),
        });
    }
    if !sharding.plan {
        // Before anything runs: an --out that cannot be written fails now, not after an hour.
        dlncheck::io::error::check_writable(out)?;
    }
    quiet_panics();
    let dir_arg = dir;
    let dir = properties_dir(dir);
    let loaded = load_specs(&dir, only)?;
    let specs: Vec<Spec> = loaded.iter().map(|(s, _)| s.clone()).collect();
    instance_budget(&specs.iter().collect::<Vec<_>>(), mode, max_instances)?;
    let items = partial::work_items(&specs, mode, seed);
    if sharding.plan {
        print_plan(&specs, &items, shard, mode);
        return Ok(ExitCode::SUCCESS);
    }
    let whole = shard == Shard::WHOLE;
    let mine = partial::shard_items(&items, shard);
    let part_path = shard::part_path(out, shard);
    let files = spec_files(&dir, &specs)?;
    let inputs = files.iter().map(|f| (f.file.clone(), shard::sha256_hex(f.text.as_bytes()))).collect();
    let mut part = partial::CheckPart {
        header: partial::header(mode, seed, inputs, shard, items.len(), mine.len()),
        properties: files,
        items: Vec::new(),
    };
    let mut done: BTreeMap<
        (usize, usize, usize),
        Result<dlncheck::framework::property::Measurement, String>,
    > = BTreeMap::new();
    if sharding.resume {
        done = resume_from(&part_path, &part, &specs, &mine)?;
    }
    let pb = progress_bar(mine.len());
    pb.inc(done.len() as u64);
    // From here on, Ctrl-C stops after the batch in progress and keeps what was measured.
    crate::interrupt::graceful();
    let mut runs: Vec<PropertyRun> = Vec::new();
    let mut attacks: Vec<(String, AttackSummary)> = Vec::new();
    let timing_path = out.with_extension("timing.yaml");
    if whole {
        // The timings of an earlier run would pass for this one's if it is interrupted.
        std::fs::remove_file(&timing_path).ok();
    }
    // Not a terminal (CI, a pipe): no progress bar is drawn, so say when each property ends.
    let log_lines = !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut last_save = std::time::Instant::now();
    let chunk = 4 * rayon::current_num_threads().max(1);
    for (p, (spec, claim)) in loaded.iter().enumerate() {
        pb.set_message(spec.id.clone());
        let start = std::time::Instant::now();
        let sets = partial::sets(spec, mode, seed);
        for (s, inst) in sets.iter().enumerate() {
            let todo: Vec<InstanceSpec> = mine
                .iter()
                .filter(|w| w.property == p && w.set == s && !done.contains_key(&(p, s, w.index)))
                .map(|w| inst[w.index].clone())
                .collect();
            let variant =
                if s == 0 { Variant::Claim } else { Variant::Control(&spec.controls[s - 1].variant) };
            for batch in todo.chunks(chunk) {
                let tick = || pb.inc(1);
                let res = runner::measure_all(*claim, batch, variant, &tick);
                for (i, r) in batch.iter().zip(res) {
                    done.insert((p, s, i.index), r);
                }
                if crate::interrupt::requested() {
                    pb.finish_and_clear();
                    save_part(&part_path, &mut part, &specs, &mine, &done, false)?;
                    if whole {
                        // Rewritten so that a report of an earlier run never passes for this one's.
                        let report = Report::new(mode, seed, &runs, false).with_attacks(&attacks);
                        write_atomic(out, report.to_yaml().as_bytes())?;
                    }
                    eprintln!(
                        "interrupted: {} of {} work items measured, kept in {} (continue with --resume){}",
                        done.len(),
                        mine.len(),
                        part_path.display(),
                        if whole {
                            format!(
                                "; {} holds the {} finished properties (complete: false)",
                                out.display(),
                                runs.len()
                            )
                        } else {
                            String::new()
                        }
                    );
                    return Ok(ExitCode::from(crate::interrupt::EXIT_INTERRUPTED));
                }
                if last_save.elapsed().as_secs_f64() > 5.0 {
                    save_part(&part_path, &mut part, &specs, &mine, &done, false)?;
                    last_save = std::time::Instant::now();
                }
            }
        }
        if whole {
            let mut per_set = sets.into_iter().enumerate().map(|(s, inst)| {
                let res = inst.iter().map(|i| done[&(p, s, i.index)].clone()).collect();
                (inst, res)
            });
            let (inst, res) = per_set.next().expect("the claim's set");
            let mut run = runner::assemble(spec, inst, res, per_set.collect(), 0.0);
            attack_into(&mut run, mode, seed, &mut attacks);
            run.seconds = start.elapsed().as_secs_f64();
            runs.push(run);
            let complete = runs.len() == loaded.len();
            let report = Report::new(mode, seed, &runs, complete).with_attacks(&attacks);
            write_atomic(out, report.to_yaml().as_bytes())?;
            if log_lines {
                let r = runs.last().expect("just pushed");
                eprintln!(
                    "{}: {} instances, {:?}, {:.1} s ({} of {})",
                    spec.id,
                    r.results.len(),
                    r.verdict,
                    r.seconds,
                    runs.len(),
                    loaded.len()
                );
            }
        } else if log_lines {
            eprintln!("{}: done ({} of {} properties)", spec.id, p + 1, loaded.len());
        }
        save_part(&part_path, &mut part, &specs, &mine, &done, false)?;
        last_save = std::time::Instant::now();
    }
    pb.finish_and_clear();
    if !whole {
        save_part(&part_path, &mut part, &specs, &mine, &done, true)?;
        println!(
            "shard {shard}: {} of {} work items measured → {} (combine the parts with `dlncheck merge`)",
            mine.len(),
            items.len(),
            part_path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    // The report is complete; its checkpoint is no longer needed.
    std::fs::remove_file(&part_path).ok();
    let timings: Vec<PropertyTiming> = runs
        .iter()
        .map(|r| PropertyTiming {
            property: r.spec.id.clone(),
            instances: r.results.len(),
            seconds: r.seconds,
        })
        .collect();
    write_atomic(&timing_path, dlncheck::io::yaml::to_string(&timings).as_bytes())?;
    if let Some(h) = html {
        crate::report::write_html(
            &Report::new(mode, seed, &runs, true).with_attacks(&attacks),
            &specs,
            &dir,
            dir_arg,
            out,
            h,
        )?;
    }
    print!("{}", report::table(&runs));
    println!(
        "report: {} ({} of {} properties pass; wall times in {}){}",
        out.display(),
        runs.iter().filter(|r| r.ok()).count() - unbroken(&attacks, &runs),
        runs.len(),
        timing_path.display(),
        html.map(|h| format!("; html: {}", h.display())).unwrap_or_default()
    );
    Ok(verdict_code(&runs, &attacks))
}

/// Exit code of a set of property runs: 0 all pass; 3 every failure is an error of claim code;
/// else 1. Prints the failures.
fn verdict_code(runs: &[PropertyRun], attacks: &[(String, AttackSummary)]) -> ExitCode {
    let attack_of = |r: &PropertyRun| attacks.iter().find(|(id, _)| *id == r.spec.id).map(|(_, a)| a);
    let passes = |r: &PropertyRun| r.ok() && attack_of(r).is_none_or(AttackSummary::ok);
    let failed: Vec<&PropertyRun> = runs.iter().filter(|r| !passes(r)).collect();
    if failed.is_empty() {
        return ExitCode::SUCCESS;
    }
    for r in &failed {
        let why = match (r.verdict, attack_of(r)) {
            (Verdict::Violated, Some(a)) if a.violated => format!(
                "violated: the bounded attack found {} inside the hypotheses (`dlncheck reproduce {} --attack` writes it)",
                a.best.map_or("a violation".into(), |b| format!("tightness {b}")),
                r.spec.id
            ),
            (Verdict::Holds, Some(a)) if !a.ok() => format!(
                "the bounded attack broke {} of {} controls (a defect of the attack)",
                a.controls_broken, a.controls_attacked
            ),
            (Verdict::Holds, _) => "a control did not fail".to_string(),
            (Verdict::Error, _) => format!("error: {}", r.summary.first_error.clone().unwrap_or_default()),
            (v, _) => format!("{v:?}").to_lowercase(),
        };
        eprintln!("FAILED {}: {why}", r.spec.id);
    }
    let only_errors = failed.iter().all(|r| r.verdict == Verdict::Error);
    ExitCode::from(if only_errors { 3 } else { 1 })
}

/// Runs the bounded attack on `run`'s property (if it has a hypothesis space), records it in
/// `attacks`, and marks the run violated when the attack found a violation.
fn attack_into(run: &mut PropertyRun, mode: Mode, seed: u64, attacks: &mut Vec<(String, AttackSummary)>) {
    if let Some(a) = crate::attack::bounded(&run.spec, mode, seed) {
        if a.violated {
            run.verdict = Verdict::Violated;
        }
        attacks.push((run.spec.id.clone(), a));
    }
}

/// Properties that pass their own check but whose attack left a control unbroken.
fn unbroken(attacks: &[(String, AttackSummary)], runs: &[PropertyRun]) -> usize {
    runs.iter().filter(|r| r.ok() && attacks.iter().any(|(id, a)| *id == r.spec.id && !a.ok())).count()
}

type Done = BTreeMap<(usize, usize, usize), Result<dlncheck::framework::property::Measurement, String>>;

/// Writes the partial file (atomically) with every item measured so far, in report order.
fn save_part(
    path: &Path,
    part: &mut partial::CheckPart,
    specs: &[Spec],
    mine: &[partial::WorkItem],
    done: &Done,
    complete: bool,
) -> Result<(), Error> {
    part.items = mine
        .iter()
        .filter_map(|w| {
            done.get(&(w.property, w.set, w.index)).map(|r| partial::Item::new(&specs[w.property].id, w, r))
        })
        .collect();
    part.header.complete = complete || part.items.len() == part.header.items_in_shard;
    write_atomic(path, part.to_yaml().as_bytes())
}

/// `--resume`: the items an earlier, interrupted run of the same shard recorded in `path`
/// (none if the file does not exist). Refuses a file from another run (version, specs, seed,
/// mode or shard differ), naming what differs.
fn resume_from(
    path: &Path,
    fresh: &partial::CheckPart,
    specs: &[Spec],
    mine: &[partial::WorkItem],
) -> Result<Done, Error> {
    if !path.exists() {
        eprintln!("resume: no {} yet; starting from the beginning", path.display());
        return Ok(Done::new());
    }
    let name = path.display().to_string();
    let old = partial::CheckPart::parse(&shard::read_part(path)?, &name)?;
    let differs = |field: &str, message: String| Error::Input {
        file: name.clone(),
        field: field.into(),
        message: format!("{message}: not the partial report of this run (delete it or drop --resume)"),
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
    if old.properties != fresh.properties {
        return Err(differs("properties", "the specs differ".into()));
    }
    let done = partial::part_results(&old, specs, &name, mine)?;
    eprintln!("resume: {} of {} work items already measured in {}", done.len(), mine.len(), name);
    Ok(done)
}

/// `dlncheck merge`: the parts of a sharded `check` → the report the unsharded run writes.
pub fn merge(parts: &[PathBuf], out: &Path) -> Result<ExitCode, Error> {
    let mut loaded = Vec::new();
    for f in parts {
        let text = shard::read_part(f)?;
        loaded.push((f.clone(), partial::CheckPart::parse(&text, &f.display().to_string())?));
    }
    let (mode, seed, mut runs) = partial::merge(&loaded)?;
    // The bounded attacks run here, as in an unsharded check (seconds): same bytes either way.
    let mut attacks = Vec::new();
    for run in &mut runs {
        attack_into(run, mode, seed, &mut attacks);
    }
    write_atomic(out, Report::new(mode, seed, &runs, true).with_attacks(&attacks).to_yaml().as_bytes())?;
    println!(
        "report: {} merged from {} parts ({} of {} properties pass)",
        out.display(),
        parts.len(),
        runs.iter().filter(|r| r.ok()).count() - unbroken(&attacks, &runs),
        runs.len()
    );
    Ok(verdict_code(&runs, &attacks))
}

#[allow(clippy::too_many_arguments)]
pub fn reproduce(
    id: &str,
    index: Option<usize>,
    control: Option<&str>,
    quick: bool,
    seed: u64,
    out: Option<&Path>,
    dir: Option<&Path>,
    max_instances: usize,
) -> Result<ExitCode, Error> {
    let mode = if quick { Mode::Quick } else { Mode::Full };
    let specs = load_specs_as(&properties_dir(dir), &[id.to_string()], "property id")?;
    let (spec, claim) = &specs[0];
    instance_budget(&[spec], mode, max_instances)?;
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
