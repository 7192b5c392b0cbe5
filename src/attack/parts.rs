//! Sharded `dlncheck attack`: the work items (one restart of one target, claim or control, of one
//! property), the partial file a shard writes, and the merge into the [`PropertyAttack`]s of the
//! unsharded run, which [`super::report::AttackReport`] writes as the same bytes.
//!
//! A stored restart keeps everything [`super::report::combine`] reads except its start, which
//! the merge rebuilds from the restart's seed and grid point ([`super::search::start_of`],
//! deterministic); YAML floats round-trip bit for bit. The merge then assembles each property
//! with [`super::report::assemble_property`], the function the unsharded attack uses.

use super::report::{self, PropertyAttack};
use super::search::{self, Options, RestartResult, WorkItem};
use super::{Score, Space};
use crate::framework::spec::{Mode, Spec};
use crate::io::error::Error;
use crate::io::shard::{self, InputFile, PartHeader, Shard};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The `command` of an attack part's header.
pub const COMMAND: &str = "attack";

/// What an attack runs: the search options, the controls' budget, and the covered specs with
/// their spaces (report order).
pub struct Run<'a> {
    pub opts: Options,
    pub control_budget: usize,
    pub specs: &'a [(Spec, &'static dyn Space)],
}

/// One restart of one target of one property, with its estimated cost (µs of one core).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Unit {
    /// Position of the property in the run.
    pub property: usize,
    /// Position of the target in [`report::targets`] (0: the claim).
    pub target: usize,
    pub restart: usize,
    pub cost: f64,
}

/// Estimated µs of one proposal of a property's attack (measured with `attack --quick`, 2-core
/// x86, 2026-12); 100 for a property not listed. Only balances shards.
fn eval_cost(id: &str) -> f64 {
    match id {
        "mc.thm1.lower_bound" => 150.0,
        "mc.thm1.upper" => 60.0,
        "mc.smin.exact" => 150.0,
        "mc.hessian_at_minimizer" => 30.0,
        "mc.thm1.unbounded" => 150.0,
        "mc.underdetermined" => 260.0,
        "mc.gd.stability" => 400.0,
        "jgshg.schatten" => 2_600.0,
        "jgshg.local_minima_generalize" => 2_300.0,
        "jgshg.landscape" => 1_700.0,
        "jgshg.balance_decay" | "mc.ri.convergence" => 2_000.0,
        "mc.si.balance" => 4_000.0,
        "jgshg.lazy" => 6_000.0,
        "jgshg.saddle_to_saddle" => 16_000.0,
        "mc.si.rank_one" | "mc.si.flatness" => 55_000.0,
        _ => 100.0,
    }
}

/// Every restart of the run, property by property, target by target, in restart order.
pub fn work_items(run: &Run<'_>) -> Vec<Unit> {
    let mut out = Vec::new();
    for (p, (spec, space)) in run.specs.iter().enumerate() {
        let points = search::points(spec, &run.opts).len();
        for (t, (_, stream, topts)) in
            report::targets(*space, spec, &run.opts, run.control_budget).iter().enumerate()
        {
            for item in search::work_items(spec, topts, *stream, points) {
                let cost = item.budget as f64 * eval_cost(&spec.id);
                out.push(Unit { property: p, target: t, restart: item.index, cost });
            }
        }
    }
    out
}

/// The units of shard `shard` (cost-balanced), in the order of `units`.
pub fn shard_units(units: &[Unit], shard: Shard) -> Vec<Unit> {
    let costs: Vec<f64> = units.iter().map(|u| u.cost).collect();
    let a = shard::assign(&costs, shard.count);
    units.iter().zip(a).filter(|(_, s)| *s == shard.index).map(|(u, _)| *u).collect()
}

/// Runs `units` (in parallel, results in their order); `tick` once per finished restart.
pub fn run_units(run: &Run<'_>, units: &[Unit], tick: &(dyn Fn() + Sync)) -> Vec<RestartResult> {
    use rayon::prelude::*;
    let points: Vec<Vec<crate::framework::property::GridPoint>> =
        run.specs.iter().map(|(spec, _)| search::points(spec, &run.opts)).collect();
    units
        .par_iter()
        .map(|u| {
            let (spec, space) = &run.specs[u.property];
            let targets = report::targets(*space, spec, &run.opts, run.control_budget);
            let (target, stream, topts) = &targets[u.target];
            let points = &points[u.property];
            let item = search::work_items(spec, topts, *stream, points.len()).swap_remove(u.restart);
            let r = search::run_item(*space, spec, *target, points, item);
            tick();
            r
        })
        .collect()
}

/// The best point of a stored restart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredBest {
    pub value: f64,
    pub violated: bool,
    pub x: Vec<f64>,
}

/// One stored restart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub property: String,
    /// `claim` or the control's variant.
    pub target: String,
    pub restart: usize,
    pub seed: u64,
    pub budget: usize,
    /// The grid point the restart started from (after skipping uncovered points).
    pub point_index: usize,
    /// Whether the restart had a start (false: no grid point is covered).
    pub started: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<StoredBest>,
    pub evaluations: usize,
    pub rejected: usize,
    /// (evaluations so far, best value) at each improvement.
    pub improvements: Vec<(usize, f64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_violation: Option<usize>,
}

impl Item {
    pub fn new(run: &Run<'_>, u: &Unit, r: &RestartResult) -> Item {
        let (spec, space) = &run.specs[u.property];
        let targets = report::targets(*space, spec, &run.opts, run.control_budget);
        Item {
            property: spec.id.clone(),
            target: targets[u.target].0.name(),
            restart: r.item.index,
            seed: r.item.seed,
            budget: r.item.budget,
            point_index: r.item.point_index,
            started: r.start.is_some(),
            best: r.best.as_ref().map(|(s, x)| StoredBest {
                value: s.value,
                violated: s.violated,
                x: x.clone(),
            }),
            evaluations: r.evaluations,
            rejected: r.rejected,
            improvements: r.improvements.clone(),
            first_violation: r.first_violation,
        }
    }
}

/// A partial attack file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackPart {
    pub header: PartHeader,
    /// The covered spec files of the run, in report order, verbatim (hashes in the header).
    pub properties: Vec<InputFile>,
    /// This shard's restarts, in the order of [`work_items`].
    pub items: Vec<Item>,
}

fn mode_name(mode: Mode) -> &'static str {
    if mode == Mode::Quick { "quick" } else { "full" }
}

/// The options of a run that change attack.yaml, as a header records them.
fn options_map(run: &Run<'_>) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("budget".to_string(), run.opts.budget.to_string()),
        ("control_budget".to_string(), run.control_budget.to_string()),
        ("restarts".to_string(), run.opts.restarts.to_string()),
    ])
}

impl AttackPart {
    /// The empty part of shard `shard` of `run` (`files`: its spec files, in report order).
    pub fn new(run: &Run<'_>, files: Vec<InputFile>, shard: Shard, total: usize, mine: usize) -> AttackPart {
        let inputs = files.iter().map(|f| (f.file.clone(), shard::sha256_hex(f.text.as_bytes()))).collect();
        let header = PartHeader::new(
            COMMAND,
            mode_name(run.opts.mode),
            run.opts.seed,
            inputs,
            options_map(run),
            shard,
            total,
            mine,
        );
        AttackPart { header, properties: files, items: Vec::new() }
    }

    pub fn to_yaml(&self) -> String {
        crate::io::yaml::to_string(self)
    }

    /// Parses a partial attack file (`file` names it in errors): YAML, format and command,
    /// shard, mode, spec files against their hashes, options.
    pub fn parse(text: &str, file: &str) -> Result<AttackPart, Error> {
        let part: AttackPart = crate::io::yaml::from_str(text).map_err(|e| Error::Syntax {
            file: file.into(),
            message: format!(
                "not a dlncheck partial attack file: {}{}",
                e.message,
                e.line.map(|l| format!(" (line {l})")).unwrap_or_default()
            ),
        })?;
        let bad =
            |field: &str, message: String| Error::Input { file: file.into(), field: field.into(), message };
        let h = &part.header;
        if h.format != shard::FORMAT {
            return Err(bad("header.format", format!("`{}`, expected `{}`", h.format, shard::FORMAT)));
        }
        if h.command != COMMAND {
            return Err(bad("header.command", format!("`{}`: not a partial of `attack`", h.command)));
        }
        Shard::new(h.shard.index, h.shard.count).map_err(|m| bad("header.shard", m))?;
        if h.mode != "quick" && h.mode != "full" {
            return Err(bad("header.mode", format!("`{}`, expected quick or full", h.mode)));
        }
        let mut names: Vec<&String> = part.properties.iter().map(|p| &p.file).collect();
        names.sort();
        names.dedup();
        if names != h.inputs.keys().collect::<Vec<_>>() || names.len() != part.properties.len() {
            return Err(bad("properties", "the spec files do not match header.inputs".into()));
        }
        for sf in &part.properties {
            if shard::sha256_hex(sf.text.as_bytes()) != h.inputs[&sf.file] {
                return Err(bad(
                    &format!("properties.{}", sf.file),
                    "its text does not have the SHA-256 recorded in header.inputs (edited or corrupted)"
                        .into(),
                ));
            }
        }
        for key in ["budget", "control_budget", "restarts"] {
            part.option(key, file)?;
        }
        if part.items.len() > h.items_in_shard {
            return Err(bad(
                "items",
                format!("{} items, more than the shard's {}", part.items.len(), h.items_in_shard),
            ));
        }
        Ok(part)
    }

    fn option(&self, key: &str, file: &str) -> Result<usize, Error> {
        let text = self.header.options.get(key).ok_or_else(|| Error::Input {
            file: file.into(),
            field: format!("header.options.{key}"),
            message: "missing".into(),
        })?;
        text.parse::<usize>().map_err(|_| Error::Input {
            file: file.into(),
            field: format!("header.options.{key}"),
            message: format!("`{text}` is not a non-negative integer"),
        })
    }

    /// The run's specs (parsed, each with its space; `file` names the part in errors).
    pub fn specs(&self, file: &str) -> Result<Vec<(Spec, &'static dyn Space)>, Error> {
        self.properties
            .iter()
            .map(|sf| {
                let bad = |m: String| Error::Input {
                    file: file.into(),
                    field: format!("properties.{}", sf.file),
                    message: m,
                };
                let spec =
                    Spec::parse(&sf.text, &format!("{file}: {}", sf.file)).map_err(|e| bad(e.to_string()))?;
                let space = super::find(&spec.id)
                    .ok_or_else(|| bad(format!("`{}` has no hypothesis space", spec.id)))?;
                Ok((spec, space))
            })
            .collect()
    }

    /// The run's search options and control budget.
    pub fn settings(&self, file: &str) -> Result<(Options, usize), Error> {
        let opts = Options {
            budget: self.option("budget", file)?,
            restarts: self.option("restarts", file)?,
            seed: self.header.seed,
            mode: if self.header.mode == "quick" { Mode::Quick } else { Mode::Full },
        };
        Ok((opts, self.option("control_budget", file)?))
    }
}

/// A stored restart back as the search's result, checked against the run's own restart `want`
/// (seed, budget, start); the error says what differs.
fn restore(run: &Run<'_>, u: &Unit, want: &WorkItem, it: &Item) -> Result<RestartResult, String> {
    let (spec, space) = &run.specs[u.property];
    if it.seed != want.seed || it.budget != want.budget {
        return Err(format!(
            "seed {} and budget {}, but the run's restart has seed {} and budget {}",
            it.seed, it.budget, want.seed, want.budget
        ));
    }
    let points = search::points(spec, &run.opts);
    let targets = report::targets(*space, spec, &run.opts, run.control_budget);
    let target = targets.get(u.target).map(|t| t.0).ok_or("no such target")?;
    let mut item = want.clone();
    let start = search::start_of(*space, spec, target, &points, &mut item);
    if start.is_some() != it.started || (it.started && item.point_index != it.point_index) {
        return Err("its start is not the run's (grid point or coverage differ)".into());
    }
    if let (Some(b), Some(s)) = (&it.best, &start)
        && b.x.len() != s.dims.len()
    {
        return Err(format!("its best point has {} parameters, the space {}", b.x.len(), s.dims.len()));
    }
    Ok(RestartResult {
        item,
        start,
        best: it.best.as_ref().map(|b| (Score { value: b.value, violated: b.violated }, b.x.clone())),
        evaluations: it.evaluations,
        rejected: it.rejected,
        improvements: it.improvements.clone(),
        first_violation: it.first_violation,
    })
}

/// Merges the parts of one sharded attack into the properties' attacks of the unsharded run
/// (then [`report::AttackReport::new`] writes the same bytes). Refuses, naming the files, parts
/// of different runs, a shard twice, missing or interrupted shards (listing the shards to
/// re-run), and restarts that are not their shard's.
pub fn merge(parts: &[(PathBuf, AttackPart)]) -> Result<(Options, usize, Vec<PropertyAttack>), Error> {
    let headers: Vec<(PathBuf, PartHeader)> =
        parts.iter().map(|(f, p)| (f.clone(), p.header.clone())).collect();
    shard::check_parts(&headers)?;
    shard::check_tool(&headers)?;
    let (first_file, first) = &parts[0];
    for (f, p) in &parts[1..] {
        if p.properties != first.properties {
            return Err(Error::Input {
                file: "merge".into(),
                field: "properties".into(),
                message: format!("{} and {} embed different specs", first_file.display(), f.display()),
            });
        }
    }
    let name = first_file.display().to_string();
    let specs = first.specs(&name)?;
    let (opts, control_budget) = first.settings(&name)?;
    let run = Run { opts: opts.clone(), control_budget, specs: &specs };
    let all = work_items(&run);
    if all.len() != first.header.items_total {
        return Err(Error::Input {
            file: name,
            field: "header.items_total".into(),
            message: format!(
                "{}, but its specs and options give {} restarts",
                first.header.items_total,
                all.len()
            ),
        });
    }
    // The run's own restarts, keyed by (property, target, restart).
    let mut want: BTreeMap<(usize, usize, usize), WorkItem> = BTreeMap::new();
    let mut target_names: BTreeMap<(usize, String), usize> = BTreeMap::new();
    for (p, (spec, space)) in specs.iter().enumerate() {
        let points = search::points(spec, &opts).len();
        for (t, (target, stream, topts)) in
            report::targets(*space, spec, &opts, control_budget).iter().enumerate()
        {
            target_names.insert((p, target.name()), t);
            for item in search::work_items(spec, topts, *stream, points) {
                want.insert((p, t, item.index), item);
            }
        }
    }
    let pos: BTreeMap<&str, usize> = specs.iter().enumerate().map(|(i, (s, _))| (s.id.as_str(), i)).collect();
    let mut results: BTreeMap<(usize, usize, usize), RestartResult> = BTreeMap::new();
    for (f, part) in parts {
        let file = f.display().to_string();
        let mine = shard_units(&all, part.header.shard);
        let expected: std::collections::BTreeSet<(usize, usize, usize)> =
            mine.iter().map(|u| (u.property, u.target, u.restart)).collect();
        let mut got = 0usize;
        for it in &part.items {
            let label = format!("{}/{}/{}", it.property, it.target, it.restart);
            let bad = |m: String| Error::Input {
                file: file.clone(),
                field: format!("restart {label}"),
                message: m,
            };
            let &p =
                pos.get(it.property.as_str()).ok_or_else(|| bad("no such property in this run".into()))?;
            let &t = target_names
                .get(&(p, it.target.clone()))
                .ok_or_else(|| bad("no such target of this property's attack".into()))?;
            let key = (p, t, it.restart);
            if !expected.contains(&key) {
                return Err(bad(format!("not a work item of shard {} of this run", part.header.shard)));
            }
            let u = Unit { property: p, target: t, restart: it.restart, cost: 0.0 };
            let r = restore(&run, &u, &want[&key], it).map_err(bad)?;
            if results.insert(key, r).is_some() {
                return Err(bad("recorded twice".into()));
            }
            got += 1;
        }
        if got != mine.len() || part.header.items_in_shard != mine.len() {
            return Err(Error::Input {
                file,
                field: "missing work items".into(),
                message: format!(
                    "holds {got} of the {} restarts of shard {}; re-run --shard {}",
                    mine.len(),
                    part.header.shard,
                    part.header.shard
                ),
            });
        }
    }
    let props = specs
        .iter()
        .enumerate()
        .map(|(p, (spec, space))| {
            let per_target = report::targets(*space, spec, &opts, control_budget)
                .iter()
                .enumerate()
                .map(|(t, (_, _, topts))| {
                    (0..topts.restarts.max(1))
                        .map(|r| results.remove(&(p, t, r)).expect("coverage checked"))
                        .collect()
                })
                .collect();
            report::assemble_property(*space, spec, &opts, control_budget, per_target)
        })
        .collect();
    Ok((opts, control_budget, props))
}
