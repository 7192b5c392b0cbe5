//! Partial reports of `check`: what a shard (or an interrupted whole run) measured, instance by
//! instance, and their merge into the report the unsharded run writes, byte for byte.
//!
//! Work items are the instances of every selected property, claim first then each control in spec
//! order. A partial file holds the [`PartHeader`] (version, spec hashes, seed, mode, shard), the
//! specs themselves (so a merge needs no properties folder), and one entry per measured item.
//! The merge re-derives every item and its shard from the specs, checks the parts hold exactly
//! them, and recomputes the summaries from the merged measurements with the runner's own code
//! ([`runner::assemble`]), so the report cannot differ from the unsharded one.

use crate::framework::property::{GridPoint, Measurement};
use crate::framework::runner::{self, PropertyRun};
use crate::framework::spec::{InstanceSpec, Mode, Spec};
use crate::io::error::Error;
use crate::io::shard::{self, PartHeader, Shard};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One work item: instance `index` of set `set` (0: the claim; k ≥ 1: control k − 1) of property
/// `property` (position in the run's property list), with its estimated cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkItem {
    pub property: usize,
    pub set: usize,
    pub index: usize,
    /// The instance's seed (recorded with its result, so that a merge can tell it is the same
    /// instance).
    pub seed: u64,
    pub cost: f64,
}

/// The instances of each set of a property: the claim's, then each control's.
pub fn sets(spec: &Spec, mode: Mode, seed: u64) -> Vec<Vec<InstanceSpec>> {
    std::iter::once(spec.instances(mode, seed))
        .chain((0..spec.controls.len()).map(|c| spec.control_instances(c, mode, seed)))
        .collect()
}

/// Estimated CPU cost of one instance of property `id`, in units of ≈ 1 µs of one core
/// ([`SECONDS_PER_UNIT`]): `calibration(id) · (2000 + P²)`, times `steps`/1000 when the claim
/// trains, for P = d²·L parameters (the network size a grid point names through
/// `d`/`dim`/`width`/`d_in`/`d_out` and `depth`/`l`; P² is the cost of a dense Hessian built from
/// P Hessian-vector products). Deterministic (every shard computes the same costs), so shards
/// agree on the assignment; only relative sizes matter for balancing.
pub fn instance_cost(id: &str, point: &GridPoint) -> f64 {
    let num = |keys: &[&str]| {
        keys.iter()
            .filter_map(|k| point.0.get(*k).and_then(|v| v.as_f64()))
            .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))))
    };
    let width = num(&["d", "dim", "width", "d_in", "d_out"]).unwrap_or(2.0).max(1.0);
    let depth = num(&["depth", "l"]).unwrap_or(1.0).max(1.0);
    let steps = num(&["steps"]).map_or(1.0, |s| (s / 1000.0).max(1.0));
    let p = width * width * depth;
    let c = calibration(id) * (2000.0 + p * p) * steps;
    if c.is_finite() { c.min(1e15) } else { 1e15 }
}

/// Per-property scale of the cost model: measured CPU seconds of the property's full grid
/// (`dlncheck check`, 2-core x86, 2026-12) over its modelled cost. 1 for properties not listed.
fn calibration(id: &str) -> f64 {
    match id {
        "mc.hessian_at_minimizer" => 0.0986,
        "mc.thm1.lower_bound" => 0.0167,
        "mc.thm1.unbounded" => 0.0268,
        "mc.thm1.upper" => 0.00515,
        "mc.smin.exact" => 0.0422,
        "mc.sharpness_upper_at_minimizer" => 0.0217,
        "mc.pl_inequality" => 0.0419,
        "mc.gd.stability" => 0.0274,
        "mc.si.balance" => 0.196,
        "mc.si.rank_one" => 4.11,
        "mc.si.flatness" => 0.995,
        "mc.ri.convergence" => 0.0395,
        "mc.underdetermined" => 0.00406,
        "jgshg.schatten" => 5.85,
        "jgshg.balance_decay" => 0.631,
        "jgshg.lazy" => 0.00849,
        "jgshg.saddle_to_saddle" => 87.4,
        "jgshg.landscape" => 25.6,
        "jgshg.local_minima_generalize" => 1.54,
        _ => 1.0,
    }
}

/// Seconds of one core per cost unit of [`instance_cost`].
pub const SECONDS_PER_UNIT: f64 = 1e-6;

/// Every work item of a run over `specs`, in report order.
pub fn work_items(specs: &[Spec], mode: Mode, seed: u64) -> Vec<WorkItem> {
    let mut out = Vec::new();
    for (p, spec) in specs.iter().enumerate() {
        for (s, inst) in sets(spec, mode, seed).iter().enumerate() {
            for i in inst {
                out.push(WorkItem {
                    property: p,
                    set: s,
                    index: i.index,
                    seed: i.seed,
                    cost: instance_cost(&spec.id, &i.point),
                });
            }
        }
    }
    out
}

/// The items of shard `shard` (cost-balanced, [`shard::assign`]), in report order.
pub fn shard_items(items: &[WorkItem], shard: Shard) -> Vec<WorkItem> {
    let costs: Vec<f64> = items.iter().map(|w| w.cost).collect();
    let a = shard::assign(&costs, shard.count);
    items.iter().zip(a).filter(|(_, s)| *s == shard.index).map(|(w, _)| *w).collect()
}

/// One measured item as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Property id.
    pub property: String,
    /// 0: the claim; k ≥ 1: the k-th control (spec order).
    pub set: usize,
    pub index: usize,
    /// The instance's seed.
    pub seed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement: Option<Measurement>,
    /// The instance's error (claim code failed), when it has no measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Item {
    pub fn new(property: &str, w: &WorkItem, r: &Result<Measurement, String>) -> Item {
        let (measurement, error) = match r {
            Ok(m) => (Some(m.clone()), None),
            Err(e) => (None, Some(e.clone())),
        };
        Item { property: property.into(), set: w.set, index: w.index, seed: w.seed, measurement, error }
    }
    pub fn result(&self) -> Result<Measurement, String> {
        match (&self.measurement, &self.error) {
            (Some(m), None) => Ok(m.clone()),
            (None, Some(e)) => Err(e.clone()),
            _ => Err("partial file item has both or neither of measurement and error".into()),
        }
    }
}

/// A partial report file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckPart {
    pub header: PartHeader,
    /// The spec files of the run, in report order, verbatim (their hashes are in the header).
    pub properties: Vec<SpecFile>,
    /// The measured items of this shard, in report order.
    pub items: Vec<Item>,
}

/// A spec file as a partial file carries it (name and text).
pub use crate::io::shard::InputFile as SpecFile;

/// The header of a `check` part: `inputs` maps each spec file name to the SHA-256 of its bytes.
pub fn header(
    mode: Mode,
    seed: u64,
    inputs: BTreeMap<String, String>,
    shard: Shard,
    items_total: usize,
    items_in_shard: usize,
) -> PartHeader {
    PartHeader {
        format: shard::FORMAT.into(),
        command: "check".into(),
        tool: format!("dlncheck {}", env!("CARGO_PKG_VERSION")),
        mode: mode_name(mode).into(),
        seed,
        inputs,
        options: BTreeMap::new(),
        shard,
        items_total,
        items_in_shard,
        complete: false,
    }
}

pub fn mode_name(mode: Mode) -> &'static str {
    if mode == Mode::Quick { "quick" } else { "full" }
}

impl CheckPart {
    pub fn to_yaml(&self) -> String {
        crate::io::yaml::to_string(self)
    }

    /// Parses a partial file (`file` names it in errors): YAML, format tag, items well formed.
    pub fn parse(text: &str, file: &str) -> Result<CheckPart, Error> {
        let part: CheckPart = crate::io::yaml::from_str(text).map_err(|e| Error::Syntax {
            file: file.into(),
            message: format!(
                "not a dlncheck partial report: {}{}",
                e.message,
                e.line.map(|l| format!(" (line {l})")).unwrap_or_default()
            ),
        })?;
        let bad =
            |field: &str, message: String| Error::Input { file: file.into(), field: field.into(), message };
        if part.header.format != shard::FORMAT {
            return Err(bad(
                "header.format",
                format!("`{}`, expected `{}`", part.header.format, shard::FORMAT),
            ));
        }
        if part.header.command != "check" {
            return Err(bad(
                "header.command",
                format!("`{}`: not a partial of `check`", part.header.command),
            ));
        }
        Shard::new(part.header.shard.index, part.header.shard.count).map_err(|m| bad("header.shard", m))?;
        if part.header.mode != "quick" && part.header.mode != "full" {
            return Err(bad("header.mode", format!("`{}`, expected quick or full", part.header.mode)));
        }
        for (k, it) in part.items.iter().enumerate() {
            if it.measurement.is_some() == it.error.is_some() {
                return Err(bad(&format!("items[{k}]"), "needs exactly one of measurement and error".into()));
            }
        }
        let files: Vec<&String> = part.properties.iter().map(|p| &p.file).collect();
        let keys: Vec<&String> = part.header.inputs.keys().collect();
        let mut sorted = files.clone();
        sorted.sort();
        sorted.dedup();
        if sorted != keys || sorted.len() != files.len() {
            return Err(bad("properties", "the spec files do not match header.inputs".into()));
        }
        for sf in &part.properties {
            if shard::sha256_hex(sf.text.as_bytes()) != part.header.inputs[&sf.file] {
                return Err(bad(
                    &format!("properties.{}", sf.file),
                    "its text does not have the SHA-256 recorded in header.inputs (edited or corrupted)"
                        .into(),
                ));
            }
            Spec::parse(&sf.text, &format!("{file}: {}", sf.file))
                .map_err(|e| bad(&format!("properties.{}", sf.file), e.to_string()))?;
        }
        if part.items.len() > part.header.items_in_shard {
            return Err(bad(
                "items",
                format!("{} items, more than the shard's {}", part.items.len(), part.header.items_in_shard),
            ));
        }
        Ok(part)
    }

    /// The run's specs (parsed; [`CheckPart::parse`] checked they parse).
    pub fn specs(&self) -> Vec<Spec> {
        self.properties.iter().map(|sf| Spec::parse(&sf.text, &sf.file).expect("checked by parse")).collect()
    }

    pub fn mode(&self) -> Mode {
        if self.header.mode == "quick" { Mode::Quick } else { Mode::Full }
    }
}

/// Key of an item: (property position, set, index).
type Key = (usize, usize, usize);

/// The results of `part` keyed by item, checked against `expected` (the items its shard must
/// hold): an unknown item, or one twice, is an error naming the file.
pub fn part_results(
    part: &CheckPart,
    specs: &[Spec],
    file: &str,
    expected: &[WorkItem],
) -> Result<BTreeMap<Key, Result<Measurement, String>>, Error> {
    let pos: BTreeMap<&str, usize> = specs.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let want: BTreeMap<Key, u64> = expected.iter().map(|w| ((w.property, w.set, w.index), w.seed)).collect();
    let mut out = BTreeMap::new();
    for it in &part.items {
        let name = format!("{}/{}/{}", it.property, set_name(specs, &pos, it), it.index);
        let bad = |m: String| Error::Input { file: file.into(), field: format!("item {name}"), message: m };
        let &p = pos.get(it.property.as_str()).ok_or_else(|| bad("no such property in this run".into()))?;
        let key = (p, it.set, it.index);
        match want.get(&key) {
            None => return Err(bad(format!("not a work item of shard {}", part.header.shard))),
            Some(&seed) if seed != it.seed => {
                return Err(bad(format!("seed {} but the run's instance has seed {seed}", it.seed)));
            }
            _ => {}
        }
        if out.insert(key, it.result()).is_some() {
            return Err(bad("recorded twice".into()));
        }
    }
    Ok(out)
}

fn set_name(specs: &[Spec], pos: &BTreeMap<&str, usize>, it: &Item) -> String {
    match (it.set, pos.get(it.property.as_str())) {
        (0, _) => "claim".into(),
        (k, Some(&p)) if k <= specs[p].controls.len() => {
            format!("control {}", specs[p].controls[k - 1].variant)
        }
        (k, _) => format!("set {k}"),
    }
}

/// Merges the parts of one sharded run into the property runs of the unsharded run (then
/// [`crate::framework::report::Report::new`] writes the same bytes). Refuses, naming the files,
/// parts from different runs, a shard twice, missing shards or items (listing the shards to
/// re-run), and items that do not belong to their shard.
pub fn merge(parts: &[(PathBuf, CheckPart)]) -> Result<(Mode, u64, Vec<PropertyRun>), Error> {
    let headers: Vec<(PathBuf, PartHeader)> =
        parts.iter().map(|(f, p)| (f.clone(), p.header.clone())).collect();
    shard::check_parts(&headers)?;
    let (first_file, first) = &parts[0];
    let tool = format!("dlncheck {}", env!("CARGO_PKG_VERSION"));
    if let Some((f, p)) = parts.iter().find(|(_, p)| p.header.tool != tool) {
        return Err(Error::Input {
            file: f.display().to_string(),
            field: "header.tool".into(),
            message: format!(
                "written by {}, this is {tool}: merge with the version that ran the shards",
                p.header.tool
            ),
        });
    }
    for (f, p) in &parts[1..] {
        if p.properties != first.properties {
            return Err(Error::Input {
                file: "merge".into(),
                field: "properties".into(),
                message: format!("{} and {} embed different specs", first_file.display(), f.display()),
            });
        }
    }
    let (mode, seed, specs) = (first.mode(), first.header.seed, first.specs());
    let all = work_items(&specs, mode, seed);
    if all.len() != first.header.items_total {
        return Err(Error::Input {
            file: first_file.display().to_string(),
            field: "header.items_total".into(),
            message: format!(
                "{}, but its specs expand to {} work items",
                first.header.items_total,
                all.len()
            ),
        });
    }
    let mut results: BTreeMap<Key, Result<Measurement, String>> = BTreeMap::new();
    for (f, p) in parts {
        let expected = shard_items(&all, p.header.shard);
        let got = part_results(p, &specs, &f.display().to_string(), &expected)?;
        if got.len() != expected.len() || p.header.items_in_shard != expected.len() {
            let missing: Vec<String> = expected
                .iter()
                .filter(|w| !got.contains_key(&(w.property, w.set, w.index)))
                .take(5)
                .map(|w| format!("{}/{}/{}", specs[w.property].id, w.set, w.index))
                .collect();
            return Err(Error::Input {
                file: f.display().to_string(),
                field: "missing work items".into(),
                message: format!(
                    "holds {} of the {} items of shard {} (missing e.g. {}); re-run --shard {}",
                    got.len(),
                    expected.len(),
                    p.header.shard,
                    missing.join(", "),
                    p.header.shard
                ),
            });
        }
        results.extend(got);
    }
    let runs = specs
        .iter()
        .enumerate()
        .map(|(p, spec)| {
            let mut sets = sets(spec, mode, seed).into_iter().enumerate().map(|(s, inst)| {
                let res = inst
                    .iter()
                    .map(|i| results.remove(&(p, s, i.index)).expect("coverage checked"))
                    .collect();
                (inst, res)
            });
            let (inst, res) = sets.next().expect("the claim's set");
            runner::assemble(spec, inst, res, sets.collect(), 0.0)
        })
        .collect();
    Ok((mode, seed, runs))
}
