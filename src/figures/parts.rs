//! Sharded `dlncheck figures`: the partial file a shard writes, and the merge of the parts into
//! the experiments' [`Results`], from which [`super::build`] draws the same figures, byte for
//! byte, as an unsharded run.
//!
//! The work items are [`crate::experiments::work`]'s units (one GD run, one training curve,
//! jgshg-staircase's flows of a depth, jgshg-escape's flows of a (depth, instance)), listed experiment by
//! experiment in run order and assigned to shards by estimated cost
//! ([`crate::io::shard::assign`]). A part records, besides the generic
//! [`PartHeader`] (tool version, mode, the settings options, the saddle spec's SHA-256, shard,
//! item counts), the saddle spec verbatim and each unit's result exactly as computed (YAML floats
//! round-trip bit for bit), so the merge re-derives every unit from the recorded options and
//! assembles them with [`crate::experiments::work::assemble`], the function the unsharded run
//! uses.

use super::common::Options;
use crate::experiments::run::{Curve, Run, RunTiming};
use crate::experiments::saddle::EscapeRun;
use crate::experiments::work::{self, Done, Kind, Outcome, Unit, WorkItem};
use crate::experiments::{Experiment, Figure, Results};
use crate::io::error::Error;
use crate::io::shard::{self, InputFile, PartHeader, Shard};
use crate::lowrank::StaircaseFigure;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `command` of a figures part's header.
pub const COMMAND: &str = "figures";
/// The one input file of the figures: the Jacot et al. figures (jgshg-staircase, jgshg-escape) take their settings from this spec.
pub const SADDLE_SPEC: &str = "jgshg.saddle_to_saddle.yaml";

/// Every work item of the figures `opts` asks for, experiment by experiment in run order.
pub fn work_items(opts: &Options) -> Vec<WorkItem> {
    opts.experiments().into_iter().flat_map(|e| work::work_items(&opts.settings(e))).collect()
}

/// The units of shard `shard` (cost-balanced), in the order of `items`.
pub fn shard_units(items: &[WorkItem], shard: Shard) -> Vec<Unit> {
    let costs: Vec<f64> = items.iter().map(|w| w.cost).collect();
    let a = shard::assign(&costs, shard.count);
    items.iter().zip(a).filter(|(_, s)| *s == shard.index).map(|(w, _)| w.unit).collect()
}

/// The partial file of shard `shard` of a figures run into `out_dir`:
/// `out_dir/figures.part-I-of-N.yaml` (the whole run: `out_dir/figures.partial.yaml`).
pub fn part_path(out_dir: &Path, shard: Shard) -> PathBuf {
    shard::part_path(&out_dir.join("figures.yaml"), shard)
}

/// The options of `opts` that change the figures' data, as a header records them: the figures
/// (`fig1,fig3`), the dataset and the repetition scale.
pub fn options_map(opts: &Options) -> BTreeMap<String, String> {
    let figures: Vec<&str> = opts.figures().iter().map(|f| f.name()).collect();
    BTreeMap::from([
        ("figures".into(), figures.join(",")),
        ("data".into(), opts.data.name().into()),
        ("reps_scale".into(), format!("{}", opts.reps_scale)),
    ])
}

/// One stored unit: which it is, its CPU seconds, and exactly one result of its kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub experiment: Experiment,
    pub kind: Kind,
    pub index: usize,
    /// CPU seconds (gradient descent or the whole flow; spectral work): reported, never drawn.
    pub gd_seconds: f64,
    pub spectra_seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<Curve>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staircase: Option<StaircaseFigure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escape: Option<EscapeRun>,
}

impl Item {
    pub fn new(d: &Done) -> Item {
        let mut it = Item {
            experiment: d.unit.experiment,
            kind: d.unit.kind,
            index: d.unit.index,
            gd_seconds: d.timing.gd,
            spectra_seconds: d.timing.spectra,
            run: None,
            curve: None,
            staircase: None,
            escape: None,
        };
        match &d.outcome {
            Outcome::Run(r) => it.run = Some(r.clone()),
            Outcome::Curve(c) => it.curve = Some(c.clone()),
            Outcome::Staircase(f) => it.staircase = Some(f.clone()),
            Outcome::Escape(e) => it.escape = Some(e.clone()),
        }
        it
    }

    pub fn unit(&self) -> Unit {
        Unit { experiment: self.experiment, kind: self.kind, index: self.index }
    }

    /// The finished unit, or why the item is malformed (not exactly one result of its kind).
    pub fn done(&self) -> Result<Done, String> {
        let outcome = match (&self.run, &self.curve, &self.staircase, &self.escape) {
            (Some(r), None, None, None) => Outcome::Run(r.clone()),
            (None, Some(c), None, None) => Outcome::Curve(c.clone()),
            (None, None, Some(f), None) => Outcome::Staircase(f.clone()),
            (None, None, None, Some(e)) => Outcome::Escape(e.clone()),
            _ => return Err("needs exactly one of run, curve, staircase and escape".into()),
        };
        if outcome.kind() != self.kind {
            return Err(format!("is a {:?} unit holding a {:?} result", self.kind, outcome.kind()));
        }
        let timing = RunTiming { gd: self.gd_seconds, spectra: self.spectra_seconds };
        Ok(Done { unit: self.unit(), outcome, timing })
    }
}

/// A partial figures file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiguresPart {
    pub header: PartHeader,
    /// The saddle spec the run read (its hash is in the header).
    pub inputs: Vec<InputFile>,
    /// The finished units of this shard, in the order of [`work_items`].
    pub items: Vec<Item>,
}

fn mode_name(quick: bool) -> &'static str {
    if quick { "quick" } else { "full" }
}

impl FiguresPart {
    /// The empty part of shard `shard` of the run `opts` (with `saddle_text`, the saddle spec's
    /// text), whose whole run has `items_total` units and this shard `items_in_shard`.
    pub fn new(
        opts: &Options,
        saddle_text: &str,
        shard: Shard,
        items_total: usize,
        items_in_shard: usize,
    ) -> FiguresPart {
        let inputs = BTreeMap::from([(SADDLE_SPEC.to_string(), shard::sha256_hex(saddle_text.as_bytes()))]);
        let header = PartHeader::new(
            COMMAND,
            mode_name(opts.quick),
            0,
            inputs,
            options_map(opts),
            shard,
            items_total,
            items_in_shard,
        );
        let inputs = vec![InputFile { file: SADDLE_SPEC.into(), text: saddle_text.into() }];
        FiguresPart { header, inputs, items: Vec::new() }
    }

    pub fn to_yaml(&self) -> String {
        crate::io::yaml::to_string(self)
    }

    /// Parses a partial figures file (`file` names it in errors): YAML, format and command,
    /// shard, mode, the saddle spec against its hash, options, items well formed.
    pub fn parse(text: &str, file: &str) -> Result<FiguresPart, Error> {
        let part: FiguresPart = crate::io::yaml::from_str(text).map_err(|e| Error::Syntax {
            file: file.into(),
            message: format!(
                "not a dlncheck partial figures file: {}{}",
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
            return Err(bad("header.command", format!("`{}`: not a partial of `figures`", h.command)));
        }
        Shard::new(h.shard.index, h.shard.count).map_err(|m| bad("header.shard", m))?;
        if h.mode != "quick" && h.mode != "full" {
            return Err(bad("header.mode", format!("`{}`, expected quick or full", h.mode)));
        }
        match part.inputs.as_slice() {
            [f] if f.file == SADDLE_SPEC
                && h.inputs.len() == 1
                && h.inputs.get(SADDLE_SPEC) == Some(&shard::sha256_hex(f.text.as_bytes())) => {}
            _ => {
                return Err(bad(
                    "inputs",
                    format!("expected {SADDLE_SPEC} with the SHA-256 recorded in header.inputs"),
                ));
            }
        }
        part.figures(file)?;
        part.reps_scale(file)?;
        for (k, it) in part.items.iter().enumerate() {
            it.done().map_err(|m| bad(&format!("items[{k}] ({})", it.unit()), m))?;
        }
        if part.items.len() > h.items_in_shard {
            return Err(bad(
                "items",
                format!("{} items, more than the shard's {}", part.items.len(), h.items_in_shard),
            ));
        }
        Ok(part)
    }

    /// The saddle spec's text.
    pub fn saddle_text(&self) -> &str {
        &self.inputs[0].text
    }

    fn option(&self, key: &str, file: &str) -> Result<&str, Error> {
        self.header.options.get(key).map(String::as_str).ok_or_else(|| Error::Input {
            file: file.into(),
            field: format!("header.options.{key}"),
            message: "missing".into(),
        })
    }

    fn figures(&self, file: &str) -> Result<Vec<Figure>, Error> {
        let text = self.option("figures", file)?;
        text.split(',')
            .map(|s| {
                Figure::parse(s).ok_or_else(|| Error::Input {
                    file: file.into(),
                    field: "header.options.figures".into(),
                    message: format!("unknown figure `{s}` (expected {})", Figure::EXPECTED),
                })
            })
            .collect()
    }

    fn data(&self, file: &str) -> Result<crate::experiments::DataSource, Error> {
        let text = self.option("data", file)?;
        crate::experiments::DataSource::parse(text).ok_or_else(|| Error::Input {
            file: file.into(),
            field: "header.options.data".into(),
            message: format!("unknown dataset `{text}` (expected authors or seeded)"),
        })
    }

    fn reps_scale(&self, file: &str) -> Result<f64, Error> {
        let text = self.option("reps_scale", file)?;
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
            _ => Err(Error::Input {
                file: file.into(),
                field: "header.options.reps_scale".into(),
                message: format!("`{text}` is not a positive number"),
            }),
        }
    }

    /// The options of the run that wrote this part, writing into `out`, with `saddle` (the
    /// caller parses [`FiguresPart::saddle_text`]).
    pub fn options(
        &self,
        saddle: crate::lowrank::saddle::SaddleSpec,
        out: PathBuf,
        file: &str,
    ) -> Result<Options, Error> {
        Ok(Options {
            quick: self.header.mode == "quick",
            only: self.figures(file)?,
            out,
            reps_scale: self.reps_scale(file)?,
            data: self.data(file)?,
            saddle,
        })
    }
}

/// Checks that `part` is a part of the run `opts` for shard `part.header.shard` (its units and
/// their configurations), and returns its finished units keyed by unit. `expected` lists the
/// shard's units. An item of another shard or run, or one twice, is an error naming the file.
pub fn part_results(
    part: &FiguresPart,
    opts: &Options,
    file: &str,
    expected: &[Unit],
) -> Result<BTreeMap<Unit, Done>, Error> {
    let want: std::collections::BTreeSet<Unit> = expected.iter().copied().collect();
    let settings: BTreeMap<Experiment, crate::experiments::Settings> =
        opts.experiments().into_iter().map(|e| (e, opts.settings(e))).collect();
    let mut out = BTreeMap::new();
    for it in &part.items {
        let unit = it.unit();
        let bad = |m: String| Error::Input { file: file.into(), field: format!("item {unit}"), message: m };
        if !want.contains(&unit) {
            return Err(bad(format!("not a work item of shard {} of this run", part.header.shard)));
        }
        let done = it.done().map_err(bad)?;
        work::check_outcome(&settings[&unit.experiment], unit, &done.outcome).map_err(bad)?;
        if out.insert(unit, done).is_some() {
            return Err(bad("recorded twice".into()));
        }
    }
    Ok(out)
}

/// Merges the parts of one sharded figures run into every experiment's [`Results`] (in run
/// order), as the unsharded run computes them; `opts` are the run's options (from the first
/// part, [`FiguresPart::options`]). Refuses, naming the files, parts of different runs
/// (version, mode, options, saddle spec, shard count), a shard twice, missing or interrupted
/// shards (listing the shards to re-run), and items that are not their shard's.
pub fn merge(parts: &[(PathBuf, FiguresPart)], opts: &Options) -> Result<Vec<Results>, Error> {
    let headers: Vec<(PathBuf, PartHeader)> =
        parts.iter().map(|(f, p)| (f.clone(), p.header.clone())).collect();
    shard::check_parts(&headers)?;
    shard::check_tool(&headers)?;
    let (first_file, first) = &parts[0];
    for (f, p) in &parts[1..] {
        if p.inputs != first.inputs {
            return Err(Error::Input {
                file: "merge".into(),
                field: "inputs".into(),
                message: format!("{} and {} embed different saddle specs", first_file.display(), f.display()),
            });
        }
    }
    let all = work_items(opts);
    if all.len() != first.header.items_total {
        return Err(Error::Input {
            file: first_file.display().to_string(),
            field: "header.items_total".into(),
            message: format!("{}, but its options give {} work items", first.header.items_total, all.len()),
        });
    }
    let mut results: BTreeMap<Unit, Done> = BTreeMap::new();
    for (f, p) in parts {
        let expected = shard_units(&all, p.header.shard);
        let got = part_results(p, opts, &f.display().to_string(), &expected)?;
        if got.len() != expected.len() || p.header.items_in_shard != expected.len() {
            let missing: Vec<String> =
                expected.iter().filter(|u| !got.contains_key(u)).take(5).map(|u| u.to_string()).collect();
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
    opts.experiments()
        .into_iter()
        .map(|e| {
            let settings = opts.settings(e);
            let mine: Vec<Done> = work::work_items(&settings)
                .iter()
                .map(|w| results.remove(&w.unit).expect("coverage checked"))
                .collect();
            work::assemble(&settings, mine, 0.0)
        })
        .collect()
}
