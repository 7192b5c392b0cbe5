//! Sharded runs: which work items shard I of N runs, the header every partial file carries, and
//! the checks a merge makes before it combines parts. Generic over the command (`check`,
//! `figures`, a future `attack`): a command lists its work items with estimated costs, runs
//! those [`assign`] gives its shard, writes a partial file headed by a [`PartHeader`], and its
//! merge calls [`check_parts`] then rebuilds the unsharded output from the items.
//!
//! Assignment is the longest-processing-time rule (items by decreasing estimated cost, each to
//! the least-loaded shard so far): deterministic, and within 4/3 of the optimal makespan when the
//! estimates are right (Graham 1969), where splitting by count alone can leave one shard with
//! every expensive item.

use crate::io::error::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest shard count accepted (a guard against typos such as `--shard 0/4000000000`).
pub const MAX_SHARDS: usize = 100_000;

/// Shard `index` of `count`, 0-based (`index < count`), as SLURM array task ids and Kubernetes
/// completion indices are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole run (one shard).
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    pub fn new(index: usize, count: usize) -> Result<Shard, String> {
        if count == 0 {
            return Err("the shard count must be at least 1".into());
        }
        if count > MAX_SHARDS {
            return Err(format!("at most {MAX_SHARDS} shards, got {count}"));
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is out of range: indices are 0-based, 0 … {} for {count} shards",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The value of `--shard`: `I/N`, or `auto` (from the batch system's environment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardArg {
    Fixed(Shard),
    Auto,
}

/// Parses `--shard`: `I/N` with 0 ≤ I < N ≤ [`MAX_SHARDS`], or `auto`.
pub fn parse_arg(s: &str) -> Result<ShardArg, String> {
    let s = s.trim();
    if s == "auto" {
        return Ok(ShardArg::Auto);
    }
    let (i, n) = s.split_once('/').ok_or_else(|| format!("`{s}`: expected I/N (e.g. 0/4) or auto"))?;
    let num = |t: &str, what: &str| -> Result<usize, String> {
        let t = t.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{s}`: the {what} `{t}` is not a non-negative integer"));
        }
        t.parse::<usize>().map_err(|_| format!("`{s}`: the {what} `{t}` is too large"))
    };
    let (i, n) = (num(i, "index")?, num(n, "count")?);
    Shard::new(i, n).map(ShardArg::Fixed).map_err(|e| format!("`{s}`: {e}"))
}

/// Resolves `--shard auto` from the environment (`var` reads a variable):
/// SLURM job arrays (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`,
/// step 1), else a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, with the count from
/// `count_flag`, i.e. `--shard-count`, since the pod does not see its job's completions).
pub fn resolve_auto(count_flag: Option<usize>, var: &dyn Fn(&str) -> Option<String>) -> Result<Shard, Error> {
    let bad = |field: &str, message: String| Error::Input {
        file: "environment".into(),
        field: field.into(),
        message,
    };
    let int = |name: &str| -> Result<Option<usize>, Error> {
        match var(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<usize>()
                .map(Some)
                .map_err(|_| bad(name, format!("`{v}` is not a non-negative integer"))),
        }
    };
    if let Some(id) = int("SLURM_ARRAY_TASK_ID")? {
        let count = int("SLURM_ARRAY_TASK_COUNT")?
            .ok_or_else(|| bad("SLURM_ARRAY_TASK_COUNT", "not set (SLURM sets it for job arrays)".into()))?;
        if let Some(step) = int("SLURM_ARRAY_TASK_STEP")?
            && step != 1
        {
            return Err(bad(
                "SLURM_ARRAY_TASK_STEP",
                format!("is {step}: submit a contiguous array (e.g. --array=0-{})", count.max(1) - 1),
            ));
        }
        let min = int("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let index = id.checked_sub(min).ok_or_else(|| {
            bad("SLURM_ARRAY_TASK_ID", format!("{id} is below SLURM_ARRAY_TASK_MIN = {min}"))
        })?;
        return Shard::new(index, count).map_err(|m| bad("SLURM_ARRAY_TASK_ID", m));
    }
    if let Some(index) = int("JOB_COMPLETION_INDEX")? {
        let count = count_flag.ok_or_else(|| {
            bad("JOB_COMPLETION_INDEX", "is set but --shard-count is not (give the job's completions)".into())
        })?;
        return Shard::new(index, count).map_err(|m| bad("JOB_COMPLETION_INDEX", m));
    }
    Err(bad(
        "--shard auto",
        "no batch-system index found: neither SLURM_ARRAY_TASK_ID (SLURM job array) nor \
         JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set; give --shard I/N instead"
            .into(),
    ))
}

/// Resolves a `--shard` value (`None`: the whole run) with the process environment.
pub fn resolve(arg: Option<ShardArg>, count_flag: Option<usize>) -> Result<Shard, Error> {
    if let Some(n) = count_flag
        && !matches!(arg, Some(ShardArg::Auto))
    {
        return Err(Error::Input {
            file: "arguments".into(),
            field: "--shard-count".into(),
            message: format!("{n} given without --shard auto (it is the count of a Kubernetes Indexed Job)"),
        });
    }
    match arg {
        None => Ok(Shard::WHOLE),
        Some(ShardArg::Fixed(s)) => Ok(s),
        Some(ShardArg::Auto) => resolve_auto(count_flag, &|k| std::env::var(k).ok()),
    }
}

/// The shard of every item (LPT): items by decreasing cost (ties: lower index first), each to
/// the shard with the least load so far (ties: lower shard). Non-finite or negative costs count
/// as 0. Deterministic in (costs, count).
pub fn assign(costs: &[f64], count: usize) -> Vec<usize> {
    assert!(count >= 1, "shard count must be at least 1");
    let cost = |i: usize| if costs[i].is_finite() && costs[i] > 0.0 { costs[i] } else { 0.0 };
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| cost(b).total_cmp(&cost(a)).then(a.cmp(&b)));
    // Min-heap of (load, shard) via ordered keys: loads are non-negative finite floats, whose
    // bit patterns order like the values.
    let mut heap: std::collections::BinaryHeap<std::cmp::Reverse<(u64, usize)>> =
        (0..count.min(costs.len().max(1))).map(|s| std::cmp::Reverse((0f64.to_bits(), s))).collect();
    let mut out = vec![0; costs.len()];
    for i in order {
        let std::cmp::Reverse((load, s)) = heap.pop().expect("non-empty heap");
        out[i] = s;
        heap.push(std::cmp::Reverse(((f64::from_bits(load) + cost(i)).to_bits(), s)));
    }
    out
}

/// Estimated load (sum of costs) and item count of every shard under `assignment`.
pub fn loads(costs: &[f64], assignment: &[usize], count: usize) -> Vec<(usize, f64)> {
    let mut out = vec![(0usize, 0f64); count];
    for (c, &s) in costs.iter().zip(assignment) {
        out[s].0 += 1;
        out[s].1 += if c.is_finite() && *c > 0.0 { *c } else { 0.0 };
    }
    out
}

/// Format tag of partial files (bumped when their layout changes).
pub const FORMAT: &str = "dlncheck-partial/1";

/// What every partial file records, so that a merge can refuse parts that do not belong together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartHeader {
    pub format: String,
    /// The command that wrote it: check, figures, attack.
    pub command: String,
    /// Tool name and version.
    pub tool: String,
    pub mode: String,
    pub seed: u64,
    /// Input files (spec file name, or another input's name) → SHA-256 of their bytes.
    pub inputs: BTreeMap<String, String>,
    /// Other options that change the output (e.g. figures' repetition scale), as text.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    pub shard: Shard,
    /// Work items of the whole run, and of this shard.
    pub items_total: usize,
    pub items_in_shard: usize,
    /// Whether every item of this shard is in the file (false while running or if interrupted).
    pub complete: bool,
}

impl PartHeader {
    /// The header of a new, still incomplete part of `command` (the running tool's version).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        command: &str,
        mode: &str,
        seed: u64,
        inputs: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
        shard: Shard,
        items_total: usize,
        items_in_shard: usize,
    ) -> PartHeader {
        PartHeader {
            format: FORMAT.into(),
            command: command.into(),
            tool: tool(),
            mode: mode.into(),
            seed,
            inputs,
            options,
            shard,
            items_total,
            items_in_shard,
            complete: false,
        }
    }

    /// The fields that must agree between parts of one run, with their names.
    fn identity(&self) -> Vec<(&'static str, String)> {
        vec![
            ("format", self.format.clone()),
            ("command", self.command.clone()),
            ("tool version", self.tool.clone()),
            ("mode", self.mode.clone()),
            ("seed", self.seed.to_string()),
            ("input files (hashes)", format!("{:?}", self.inputs)),
            ("options", format!("{:?}", self.options)),
            ("shard count", self.shard.count.to_string()),
            ("number of work items", self.items_total.to_string()),
        ]
    }

    /// The first field in which `other` differs, as (field, mine, theirs).
    pub fn mismatch(&self, other: &PartHeader) -> Option<(&'static str, String, String)> {
        self.identity()
            .into_iter()
            .zip(other.identity())
            .find(|(a, b)| a.1 != b.1)
            .map(|(a, b)| (a.0, a.1, b.1))
    }
}

/// The running tool's name and version, as headers record it.
pub fn tool() -> String {
    format!("dlncheck {}", env!("CARGO_PKG_VERSION"))
}

/// An input file as a partial file carries it: its name and its text verbatim (the header's
/// `inputs` holds its SHA-256), so that a merge does not depend on the files where it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    pub file: String,
    pub text: String,
}

/// The header of a partial file of any command, read without the rest of its schema (to tell
/// which command's merge it needs). `file` names it in errors.
pub fn read_header(text: &str, file: &str) -> Result<PartHeader, Error> {
    #[derive(Deserialize)]
    struct HeaderOnly {
        header: PartHeader,
    }
    crate::io::yaml::from_str::<HeaderOnly>(text).map(|h| h.header).map_err(|e| Error::Syntax {
        file: file.into(),
        message: format!(
            "not a dlncheck partial file: {}{}",
            e.message,
            e.line.map(|l| format!(" (line {l})")).unwrap_or_default()
        ),
    })
}

/// Checks that every part's header was written by this version of the tool (a merge re-derives
/// the work items with its own code), naming the first file that was not.
pub fn check_tool(parts: &[(PathBuf, PartHeader)]) -> Result<(), Error> {
    let tool = tool();
    match parts.iter().find(|(_, h)| h.tool != tool) {
        None => Ok(()),
        Some((f, h)) => Err(Error::Input {
            file: f.display().to_string(),
            field: "header.tool".into(),
            message: format!(
                "written by {}, this is {tool}: merge with the version that ran the shards",
                h.tool
            ),
        }),
    }
}

/// SHA-256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The partial file of shard `shard` of a run whose full output is `out`
/// (`report.yaml` → `report.part-2-of-4.yaml`; the whole run: `report.partial.yaml`).
pub fn part_path(out: &Path, shard: Shard) -> PathBuf {
    if shard == Shard::WHOLE {
        out.with_extension("partial.yaml")
    } else {
        out.with_extension(format!("part-{}-of-{}.yaml", shard.index, shard.count))
    }
}

/// Reads a partial file's text (merge input; exit code 2 when unreadable).
pub fn read_part(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })
}

/// Checks that `parts` (file, header) form exactly one complete run: same format, command,
/// version, mode, seed, input hashes, options, shard count and item count; no shard twice; every
/// shard present and complete. The error names the files, and the shards to re-run.
pub fn check_parts(parts: &[(PathBuf, PartHeader)]) -> Result<(), Error> {
    let refuse =
        |field: &str, message: String| Error::Input { file: "merge".into(), field: field.into(), message };
    let Some((first_file, first)) = parts.first() else {
        return Err(refuse("PARTS", "no partial files given".into()));
    };
    for (f, h) in &parts[1..] {
        if let Some((what, a, b)) = first.mismatch(h) {
            return Err(refuse(
                what,
                format!(
                    "{} and {} come from different runs: {what} {a} vs {b}",
                    first_file.display(),
                    f.display()
                ),
            ));
        }
    }
    let count = first.shard.count;
    let mut by_shard: BTreeMap<usize, &PathBuf> = BTreeMap::new();
    for (f, h) in parts {
        if let Some(prev) = by_shard.insert(h.shard.index, f) {
            return Err(refuse(
                "duplicate shard",
                format!(
                    "{} and {} are both shard {}; keep one (a re-run shard writes over its own file)",
                    prev.display(),
                    f.display(),
                    h.shard
                ),
            ));
        }
    }
    let incomplete: Vec<String> = parts
        .iter()
        .filter(|(_, h)| !h.complete)
        .map(|(f, h)| format!("{} (shard {}, interrupted)", f.display(), h.shard))
        .collect();
    let missing: Vec<usize> = (0..count).filter(|i| !by_shard.contains_key(i)).collect();
    if !missing.is_empty() || !incomplete.is_empty() {
        let mut rerun: Vec<usize> = missing.clone();
        rerun.extend(parts.iter().filter(|(_, h)| !h.complete).map(|(_, h)| h.shard.index));
        rerun.sort_unstable();
        let mut msg = String::new();
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|i| format!("{i}/{count}")).collect();
            msg += &format!("missing shards {}", list.join(", "));
        }
        if !incomplete.is_empty() {
            if !msg.is_empty() {
                msg += "; ";
            }
            msg += &format!("incomplete parts {}", incomplete.join(", "));
        }
        let list: Vec<String> = rerun.iter().map(|i| format!("--shard {i}/{count}")).collect();
        msg += &format!("; re-run {} (with --resume to keep what an interrupted shard did)", list.join(", "));
        return Err(refuse("missing work items", msg));
    }
    let held: usize = parts.iter().map(|(_, h)| h.items_in_shard).sum();
    if held != first.items_total {
        return Err(refuse(
            "number of work items",
            format!("the parts hold {held} work items, the run has {}", first.items_total),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lpt_balances_cost_not_count() {
        // One expensive item and six cheap ones over two shards: by count, 4 + 3 items; by cost,
        // the expensive one alone (load 6) against the six cheap ones (load 6).
        let costs = [1.0, 1.0, 6.0, 1.0, 1.0, 1.0, 1.0];
        let a = assign(&costs, 2);
        let l = loads(&costs, &a, 2);
        assert_eq!(l, vec![(1, 6.0), (6, 6.0)]);
        assert_eq!(a, assign(&costs, 2), "deterministic");
    }

    #[test]
    fn parse_values() {
        assert_eq!(parse_arg("1/4"), Ok(ShardArg::Fixed(Shard { index: 1, count: 4 })));
        assert_eq!(parse_arg("auto"), Ok(ShardArg::Auto));
        for bad in [
            "0/0",
            "4/4",
            "5/4",
            "a/b",
            "1",
            "-1/4",
            "1/-4",
            "",
            "/",
            "1/99999999999999999999999",
            "0/100001",
        ] {
            assert!(parse_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn auto_from_slurm_and_kubernetes() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(a, _)| *a == k).map(|(_, v)| v.to_string())
        };
        let s = resolve_auto(None, &env(&[("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "4")]));
        assert_eq!(s.unwrap(), Shard { index: 3, count: 4 });
        let s = resolve_auto(
            None,
            &env(&[
                ("SLURM_ARRAY_TASK_ID", "5"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "2"),
            ]),
        );
        assert_eq!(s.unwrap(), Shard { index: 3, count: 4 });
        let s = resolve_auto(Some(8), &env(&[("JOB_COMPLETION_INDEX", "7")]));
        assert_eq!(s.unwrap(), Shard { index: 7, count: 8 });
        let e = resolve_auto(None, &env(&[("JOB_COMPLETION_INDEX", "7")])).unwrap_err().to_string();
        assert!(e.contains("--shard-count"), "{e}");
        let e = resolve_auto(None, &env(&[])).unwrap_err().to_string();
        assert!(e.contains("SLURM_ARRAY_TASK_ID") && e.contains("JOB_COMPLETION_INDEX"), "{e}");
        let e = resolve_auto(None, &env(&[("SLURM_ARRAY_TASK_ID", "x"), ("SLURM_ARRAY_TASK_COUNT", "4")]));
        assert!(e.unwrap_err().to_string().contains("SLURM_ARRAY_TASK_ID"));
        let e = resolve_auto(None, &env(&[("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_COUNT", "4")]));
        assert!(e.unwrap_err().to_string().contains("out of range"));
        let e = resolve_auto(
            None,
            &env(&[
                ("SLURM_ARRAY_TASK_ID", "2"),
                ("SLURM_ARRAY_TASK_COUNT", "2"),
                ("SLURM_ARRAY_TASK_STEP", "2"),
            ]),
        );
        assert!(e.unwrap_err().to_string().contains("contiguous"));
    }
}
