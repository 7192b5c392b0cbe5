//! The `attack` command and `reproduce --attack`: thin layers over `dlncheck::attack`.

use crate::check::{load_specs, properties_dir, quiet_panics};
use dlncheck::attack::parts;
use dlncheck::attack::report::{self, AttackReport, PropertyAttack};
use dlncheck::attack::search::Options;
use dlncheck::attack::{self as atk, Target};
use dlncheck::framework::report::AttackSummary;
use dlncheck::framework::spec::{Mode, Spec};
use dlncheck::io::error::{Error, write_atomic};
use dlncheck::io::shard::{self, Shard};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Default proposals per property (claim) and restarts.
pub const DEFAULT_BUDGET: usize = 40_000;
pub const DEFAULT_RESTARTS: usize = 8;
/// Largest budget accepted (a typo guard: 10⁸ evaluations take hours).
const MAX_BUDGET: usize = 100_000_000;

/// `check`'s bounded attack per covered property: (claim budget, restarts, control budget) for
/// `--quick` and for the full check (measured: the quick one costs ~1 s of CPU for the five
/// covered properties, the full one ~11 s). The full check needs 8 restarts: with 4, every
/// restart of mc.thm1.lower_bound's `lambda_max` and `non_minimizer` controls started at a
/// depth-1 point of the 1440-point grid, where those wrong bounds are exact, and the attack
/// (which moves continuous parameters only) could not break them at any budget.
pub const CHECK_QUICK: (usize, usize, usize) = (4_000, 4, 1_000);
pub const CHECK_FULL: (usize, usize, usize) = (20_000, 8, 2_000);

/// The bounded attack `check` runs on `spec` (seeded with the check's seed), summarised for the
/// report; `None` when the property has no hypothesis space.
pub fn bounded(spec: &Spec, mode: Mode, seed: u64) -> Option<AttackSummary> {
    let space = atk::find(&spec.id)?;
    let (budget, restarts, control_budget) = if mode == Mode::Quick { CHECK_QUICK } else { CHECK_FULL };
    let opts = Options { budget, restarts, seed, mode };
    let a = report::attack_property(space, spec, &opts, control_budget, &|| {});
    Some(AttackSummary {
        best: a.claim.best,
        known_infimum: a.known_infimum.as_ref().map(|k| k.known.value),
        relative_gap: a.known_infimum.as_ref().and_then(|k| k.relative_gap),
        evaluations: a.claim.evaluations,
        restarts: a.claim.restarts,
        violated: a.claim.violated,
        controls_broken: a.controls.iter().filter(|c| c.broken).count(),
        controls_attacked: a.controls.len(),
    })
}

/// Settings shared by `attack`, `reproduce --attack` and `check`.
#[derive(Clone, Debug)]
pub struct Settings {
    pub budget: usize,
    pub restarts: usize,
    /// Budget of each control's attack.
    pub control_budget: usize,
}

fn bad(field: &str, message: String) -> Error {
    Error::Input { file: "arguments".into(), field: field.into(), message }
}

impl Settings {
    /// Validates the flags; the control budget defaults to a tenth of the claim's.
    pub fn new(budget: usize, restarts: usize, control_budget: Option<usize>) -> Result<Self, Error> {
        if budget == 0 || budget > MAX_BUDGET {
            return Err(bad("--budget", format!("must lie in 1..={MAX_BUDGET}, got {budget}")));
        }
        if restarts == 0 || restarts > budget {
            return Err(bad("--restarts", format!("must lie in 1..=budget ({budget}), got {restarts}")));
        }
        let control_budget = control_budget.unwrap_or((budget / 10).max(restarts));
        if control_budget < restarts || control_budget > MAX_BUDGET {
            return Err(bad(
                "--control-budget",
                format!("must lie in restarts ({restarts})..={MAX_BUDGET}, got {control_budget}"),
            ));
        }
        Ok(Settings { budget, restarts, control_budget })
    }
}

/// The specs to attack: `only` (each must have a hypothesis space), else every covered one.
fn attack_specs(dir: Option<&Path>, only: &[String]) -> Result<Vec<(Spec, &'static dyn atk::Space)>, Error> {
    let covered: Vec<&str> = atk::all().iter().map(|s| s.id()).collect();
    for id in only {
        if dlncheck::claims::find(id).is_some() && atk::find(id).is_none() {
            return Err(Error::Input {
                file: "--only".into(),
                field: id.clone(),
                message: format!(
                    "no hypothesis space for this property yet (covered: {})",
                    covered.join(", ")
                ),
            });
        }
    }
    let specs = load_specs(&properties_dir(dir), only)?;
    Ok(specs.into_iter().filter_map(|(spec, _)| atk::find(&spec.id).map(|s| (spec, s))).collect())
}

fn progress_bar(total: usize) -> ProgressBar {
    let pb = ProgressBar::new(total as u64);
    pb.set_style(
        ProgressStyle::with_template(
            "{bar:40.red/blue} {pos}/{len} restarts  {msg}  [{elapsed_precise} < {eta}]",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb
}

/// Attacks the given specs (progress bar on standard error).
pub fn attack_all(
    specs: &[(Spec, &'static dyn atk::Space)],
    opts: &Options,
    s: &Settings,
) -> Vec<PropertyAttack> {
    let total: usize = specs.iter().map(|(spec, space)| report::count_restarts(*space, spec, opts)).sum();
    let pb = progress_bar(total);
    let out = specs
        .iter()
        .map(|(spec, space)| {
            pb.set_message(spec.id.clone());
            let tick = || pb.inc(1);
            report::attack_property(*space, spec, opts, s.control_budget, &tick)
        })
        .collect();
    pb.finish_and_clear();
    out
}

/// The terminal table of an attack.
pub fn table(props: &[PropertyAttack]) -> String {
    let mut out = format!(
        "{:<34} {:>16} {:>10} {:>11} {:>10} {:>10}\n",
        "property", "best", "known", "gap", "evals", "controls"
    );
    for p in props {
        let best = p.claim.best.map_or("-".into(), |b| format!("{b:.10}"));
        let (known, gap) = match &p.known_infimum {
            Some(k) => {
                (format!("{}", k.known.value), k.relative_gap.map_or("-".into(), |g| format!("{g:.2e}")))
            }
            None => ("-".into(), "-".into()),
        };
        let broken = p.controls.iter().filter(|c| c.broken).count();
        out.push_str(&format!(
            "{:<34} {:>16} {:>10} {:>11} {:>10} {:>10}{}\n",
            p.id,
            best,
            known,
            gap,
            p.claim.evaluations,
            format!("{broken}/{} broken", p.controls.len()),
            if p.claim.violated { "  VIOLATED" } else { "" }
        ));
    }
    out
}

#[allow(clippy::too_many_arguments)]
pub fn run(
    only: &[String],
    settings: &Settings,
    seed: u64,
    quick: bool,
    threads: Option<usize>,
    out: &Path,
    dir: Option<&Path>,
    sharding: (Option<shard::ShardArg>, Option<usize>),
) -> Result<ExitCode, Error> {
    let shard = shard::resolve(sharding.0, sharding.1)?;
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global().ok();
    }
    quiet_panics();
    let specs = attack_specs(dir, only)?;
    let mode = if quick { Mode::Quick } else { Mode::Full };
    let opts = Options { budget: settings.budget, restarts: settings.restarts, seed, mode };
    if shard != Shard::WHOLE {
        return run_shard(&specs, opts, settings.control_budget, dir, out, shard);
    }
    let props = attack_all(&specs, &opts, settings);
    let rep = AttackReport::new(&opts, settings.control_budget, props);
    write_atomic(out, rep.to_yaml().as_bytes())?;
    print!("{}", table(&rep.properties));
    println!("attack: {}", out.display());
    Ok(verdict(&rep))
}

/// Exit code of an attack report (1 when a claim is violated or a control survives), printing
/// the failures.
fn verdict(rep: &AttackReport) -> ExitCode {
    let mut failed = false;
    for p in &rep.properties {
        if p.claim.violated {
            failed = true;
            eprintln!(
                "VIOLATED {}: the attack found a point inside the hypotheses where the claim fails",
                p.id
            );
        }
        for c in p.controls.iter().filter(|c| !c.broken) {
            failed = true;
            eprintln!(
                "DEFECT {}: the attack did not break control `{}` within {} evaluations",
                p.id, c.attack.target, c.budget
            );
        }
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// `attack --shard I/N`: runs the shard's restarts (cost-balanced) into `<out>.part-I-of-N.yaml`,
/// rewritten atomically after each property.
fn run_shard(
    specs: &[(Spec, &'static dyn atk::Space)],
    opts: Options,
    control_budget: usize,
    dir: Option<&Path>,
    out: &Path,
    shard: Shard,
) -> Result<ExitCode, Error> {
    let dir = properties_dir(dir);
    let files = specs
        .iter()
        .map(|(s, _)| {
            let file = format!("{}.yaml", s.id);
            let path = dir.join(&file);
            let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path, source })?;
            Ok(dlncheck::io::shard::InputFile { file, text })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let run = parts::Run { opts, control_budget, specs };
    let all = parts::work_items(&run);
    let mine = parts::shard_units(&all, shard);
    let path = shard::part_path(out, shard);
    let mut part = parts::AttackPart::new(&run, files, shard, all.len(), mine.len());
    let pb = progress_bar(mine.len());
    for (p, (spec, _)) in specs.iter().enumerate() {
        let todo: Vec<parts::Unit> = mine.iter().filter(|u| u.property == p).copied().collect();
        pb.set_message(spec.id.clone());
        let res = parts::run_units(&run, &todo, &|| pb.inc(1));
        part.items.extend(todo.iter().zip(&res).map(|(u, r)| parts::Item::new(&run, u, r)));
        part.header.complete = part.items.len() == mine.len();
        write_atomic(&path, part.to_yaml().as_bytes())?;
    }
    pb.finish_and_clear();
    part.header.complete = true;
    write_atomic(&path, part.to_yaml().as_bytes())?;
    println!(
        "shard {shard}: {} of {} restarts → {} (combine the parts with `dlncheck merge`)",
        mine.len(),
        all.len(),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `dlncheck merge` of attack parts: the attack.yaml of the unsharded run, into `out`.
pub fn merge(files: &[PathBuf], out: &Path) -> Result<ExitCode, Error> {
    quiet_panics();
    let mut loaded = Vec::new();
    for f in files {
        let text = shard::read_part(f)?;
        loaded.push((f.clone(), parts::AttackPart::parse(&text, &f.display().to_string())?));
    }
    let (opts, control_budget, props) = parts::merge(&loaded)?;
    let rep = AttackReport::new(&opts, control_budget, props);
    write_atomic(out, rep.to_yaml().as_bytes())?;
    print!("{}", table(&rep.properties));
    println!("attack: {} merged from {} parts", out.display(), files.len());
    Ok(verdict(&rep))
}

/// `reproduce ID --attack`: attacks the claim (or `control`) and writes its worst point.
#[allow(clippy::too_many_arguments)]
pub fn reproduce(
    id: &str,
    control: Option<&str>,
    settings: &Settings,
    seed: u64,
    quick: bool,
    out: Option<&Path>,
    dir: Option<&Path>,
) -> Result<ExitCode, Error> {
    quiet_panics();
    let specs = attack_specs(dir, &[id.to_string()])?;
    let Some((spec, space)) = specs.into_iter().next() else {
        return Err(Error::Input {
            file: "reproduce".into(),
            field: id.into(),
            message: "no such property".into(),
        });
    };
    let target = match control {
        None => Target::Claim,
        Some(v) => {
            let c = spec.controls.iter().position(|c| c.variant == v);
            if c.is_none() || !space.controls().contains(&v) {
                return Err(Error::Input {
                    file: "--control".into(),
                    field: v.into(),
                    message: format!(
                        "`{id}`'s attack covers no such control (covers: {})",
                        space.controls().join(", ")
                    ),
                });
            }
            Target::Control(v)
        }
    };
    let stream = match target {
        Target::Claim => 0,
        Target::Control(v) => 1 + spec.controls.iter().position(|c| c.variant == v).unwrap() as u64,
    };
    let budget = if target == Target::Claim { settings.budget } else { settings.control_budget };
    let opts = Options {
        budget,
        restarts: settings.restarts,
        seed,
        mode: if quick { Mode::Quick } else { Mode::Full },
    };
    let pb = progress_bar(opts.restarts);
    let tick = || pb.inc(1);
    let results = dlncheck::attack::search::run(space, &spec, target, stream, &opts, &tick);
    pb.finish_and_clear();
    let summary = report::combine(space, target, &results);
    let (start, x) = report::best_point(space, &results)
        .ok_or_else(|| Error::Numerical(format!("the attack on {id} evaluated no point")))?;
    let inst = space.instance(&start, &x, target).ok_or_else(|| Error::Input {
        file: id.into(),
        field: "instance".into(),
        message: "this property's points are not univariate regression networks; no instance file form"
            .into(),
    })?;
    let mut line = format!(
        "worst point of {id} ({}) after {} evaluations: best {}",
        target.name(),
        summary.evaluations,
        summary.best.map_or("-".into(), |b| format!("{b}"))
    );
    if let Some(b) = &summary.best_instance {
        for (k, v) in &b.values {
            line += &format!(", {k} {v:e}");
        }
    }
    eprintln!("{line}");
    let text = dlncheck::io::instance::to_yaml(&inst);
    match out {
        Some(p) => write_atomic(p, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
