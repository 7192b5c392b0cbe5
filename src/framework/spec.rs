//! Property specs (`properties/<id>.yaml`): declarative, validated against the claim's schema,
//! expanded into instances. Reviewers edit a grid or a tolerance and re-run without recompiling.
//!
//! ```yaml
//! id: mc.thm1.lower_bound
//! title: …
//! source: {paper: …, label: Theorem 1, provenance: paper}   # paper | paper, form reconstructed | derived
//! statement: "…"
//! hypotheses: ["θ is a global minimiser", …]   # what the statement assumes, one per item
//! provenance_note: "…"           # what is confirmed in the paper, what is our reading
//! figures: [fig1, fig4]          # optional: `dlncheck figures` that illustrate the claim
//! kind: bound                    # bound | probabilistic | limit | equality
//! min_proportion: 0.9            # probabilistic only
//! seed: 1
//! repetitions: 3
//! grid: {d: [2, 5], depth: 3}    # a value or a list per parameter; cartesian product × repetitions
//! tolerances: {rel: 1.0e-9}      # single values
//! quick: {repetitions: 1, grid: {d: [2]}}   # overrides for --quick
//! controls:
//!   - {variant: lambda_max, description: "…", grid: {…}, repetitions: 2}
//! ```

use crate::framework::property::{CheckKind, Claim, GridPoint, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// How sure we are of a claim's exact form (meanings in `docs/claims.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Provenance {
    #[serde(rename = "paper")]
    Paper,
    #[serde(rename = "paper, form reconstructed")]
    PaperReconstructed,
    #[serde(rename = "derived")]
    Derived,
}

/// Where a claim comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub paper: String,
    pub label: String,
    pub provenance: Provenance,
}

/// One value or a list of values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    Many(Vec<Value>),
    One(Value),
}

impl OneOrMany {
    fn values(&self) -> Vec<Value> {
        match self {
            OneOrMany::Many(v) => v.clone(),
            OneOrMany::One(v) => vec![v.clone()],
        }
    }
}

/// Overrides for `--quick`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quick {
    #[serde(default)]
    pub repetitions: Option<usize>,
    #[serde(default)]
    pub grid: BTreeMap<String, OneOrMany>,
}

/// A negative control: a variant the claim implements, which must be seen to fail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlSpec {
    pub variant: String,
    pub description: String,
    #[serde(default)]
    pub grid: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    pub repetitions: Option<usize>,
    /// The proportion of measured instances the control must violate, in (0, 1] (1: every
    /// instance). A control that violates fewer is a defect: it fails by accident, not for the
    /// stated reason. Omitted: at least one violation.
    #[serde(default)]
    pub expect_violated: Option<f64>,
}

/// The file, as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub id: String,
    pub title: String,
    pub source: Source,
    pub statement: String,
    /// The statement's hypotheses, one per item (required, for the claims catalogue).
    #[serde(default)]
    pub hypotheses: Vec<String>,
    /// Why the provenance is what it is: what the paper confirms, what is our reading.
    #[serde(default)]
    pub provenance_note: String,
    /// Figures of `dlncheck figures` (fig1 … fig7, jgshg-staircase, jgshg-escape; the old name
    /// fig8 is read as the last) that illustrate the claim.
    #[serde(default)]
    pub figures: Vec<String>,
    pub kind: CheckKind,
    #[serde(default)]
    pub min_proportion: Option<f64>,
    pub seed: u64,
    pub repetitions: usize,
    pub grid: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    pub tolerances: BTreeMap<String, Value>,
    #[serde(default)]
    pub quick: Option<Quick>,
    pub controls: Vec<ControlSpec>,
}

/// An invalid spec: file, key path, line (when found) and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}{}: {key}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct SpecError {
    pub file: String,
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

/// One instance to run: its index, parameters and seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstanceSpec {
    pub index: usize,
    pub seed: u64,
    pub point: GridPoint,
}

/// Which grid to expand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Full,
    Quick,
}

impl Spec {
    /// Reads, parses and validates `path` against the claim of the same id in `registry`
    /// (the framework knows no claims of its own: `claims::load_spec` passes the registry).
    pub fn load(
        path: &Path,
        registry: &[&'static dyn Claim],
    ) -> Result<(Spec, &'static dyn Claim), SpecError> {
        let name = path.display().to_string();
        let text = crate::io::input::read_text(path).map_err(|e| SpecError {
            file: name.clone(),
            key: "(file)".into(),
            line: None,
            message: match e {
                crate::io::error::Error::Read { source, .. } => format!("cannot read: {source}"),
                e => e.to_string(),
            },
        })?;
        let spec = Self::parse(&text, &name)?;
        let claim = registry.iter().copied().find(|c| c.id() == spec.id).ok_or_else(|| SpecError {
            file: name.clone(),
            key: "id".into(),
            line: find_line(&text, &["id"]),
            message: format!("no claim with id `{}` is registered", spec.id),
        })?;
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str())
            && stem != spec.id
        {
            return Err(SpecError {
                file: name,
                key: "id".into(),
                line: find_line(&text, &["id"]),
                message: format!("`{}` does not match the file name `{stem}.yaml`", spec.id),
            });
        }
        spec.validate(claim, &text, &name)?;
        Ok((spec, claim))
    }

    /// Parses spec YAML (syntax and field types only).
    pub fn parse(text: &str, name: &str) -> Result<Spec, SpecError> {
        let mut spec = crate::io::yaml::from_str::<Spec>(text).map_err(|e| {
            let (key, message) = split_path(&e.message);
            SpecError { file: name.into(), key, line: e.line, message }
        })?;
        // The deprecated figure name fig8 becomes the figure's name; unknown names stay
        // as written, for validation to reject.
        for f in &mut spec.figures {
            if let Some(n) = crate::framework::catalogue::canonical_figure(f) {
                *f = n.to_string();
            }
        }
        Ok(spec)
    }

    /// Checks the spec against the claim's schema: unknown or missing parameters, wrong types,
    /// empty lists, unknown controls, a missing control, kind-specific fields.
    pub fn validate(&self, claim: &dyn Claim, text: &str, name: &str) -> Result<(), SpecError> {
        let err = |path: &[&str], message: String| SpecError {
            file: name.into(),
            key: path.join("."),
            line: find_line(text, path),
            message,
        };
        let params = claim.params();
        let known = |k: &str| params.iter().find(|p| p.name == k);
        let check_grid = |section: &[&str], grid: &BTreeMap<String, OneOrMany>| -> Result<(), SpecError> {
            for (key, vals) in grid {
                let mut path = section.to_vec();
                path.push(key);
                let Some(param) = known(key) else {
                    let names: Vec<&str> = params.iter().map(|p| p.name).collect();
                    return Err(err(
                        &path,
                        format!("unknown parameter; `{}` reads: {}", claim.id(), names.join(", ")),
                    ));
                };
                let values = vals.values();
                if values.is_empty() {
                    return Err(err(&path, "empty list: give at least one value".into()));
                }
                for v in &values {
                    param.check(v).map_err(|m| err(&path, m))?;
                }
            }
            Ok(())
        };
        check_grid(&["grid"], &self.grid)?;
        for (key, v) in &self.tolerances {
            let path = ["tolerances", key.as_str()];
            let Some(param) = known(key) else {
                return Err(err(&path, "unknown tolerance".into()));
            };
            param.check(v).map_err(|m| err(&path, m))?;
            if self.grid.contains_key(key) {
                return Err(err(&path, "given both as a grid parameter and as a tolerance".into()));
            }
        }
        for p in params {
            if !self.grid.contains_key(p.name) && !self.tolerances.contains_key(p.name) {
                return Err(err(&["grid"], format!("missing parameter `{}` ({})", p.name, p.doc)));
            }
        }
        if self.repetitions == 0 {
            return Err(err(&["repetitions"], "must be at least 1".into()));
        }
        // A tolerance is merged in after the grid, so a grid value of the same key (in the quick
        // grid or a control's grid) would be silently overwritten: reject it.
        let overwritten = |section: &[&str], grid: &BTreeMap<String, OneOrMany>| -> Result<(), SpecError> {
            match grid.keys().find(|k| self.tolerances.contains_key(*k)) {
                Some(k) => {
                    let mut path = section.to_vec();
                    path.push(k);
                    Err(err(
                        &path,
                        "also a tolerance, which would overwrite this grid value: move it to `grid`".into(),
                    ))
                }
                None => Ok(()),
            }
        };
        if let Some(q) = &self.quick {
            check_grid(&["quick", "grid"], &q.grid)?;
            overwritten(&["quick", "grid"], &q.grid)?;
            if q.repetitions == Some(0) {
                return Err(err(&["quick", "repetitions"], "must be at least 1".into()));
            }
        }
        match (self.kind, self.min_proportion) {
            (CheckKind::Probabilistic, None) => {
                return Err(err(&["min_proportion"], "required for kind: probabilistic".into()));
            }
            (CheckKind::Probabilistic, Some(p)) if !(0.0..=1.0).contains(&p) => {
                return Err(err(&["min_proportion"], format!("must lie in [0, 1], got {p}")));
            }
            (k, Some(_)) if k != CheckKind::Probabilistic => {
                return Err(err(&["min_proportion"], "only meaningful for kind: probabilistic".into()));
            }
            _ => {}
        }
        if self.controls.is_empty() {
            return Err(err(&["controls"], "every property needs at least one negative control".into()));
        }
        for c in &self.controls {
            if !claim.controls().contains(&c.variant.as_str()) {
                return Err(err(
                    &["controls", "variant"],
                    format!(
                        "`{}` is not a control of `{}` (it has: {})",
                        c.variant,
                        claim.id(),
                        claim.controls().join(", ")
                    ),
                ));
            }
            check_grid(&["controls", "grid"], &c.grid)?;
            overwritten(&["controls", "grid"], &c.grid)?;
            if c.repetitions == Some(0) {
                return Err(err(&["controls", "repetitions"], "must be at least 1".into()));
            }
            if let Some(p) = c.expect_violated
                && !(p > 0.0 && p <= 1.0)
            {
                return Err(err(&["controls", "expect_violated"], format!("must lie in (0, 1], got {p}")));
            }
        }
        self.validate_documentation(&err)
    }

    /// The catalogue fields: `hypotheses` (non-empty list of non-empty items), `provenance_note`
    /// (non-empty) and `figures` (each a figure's name, no repeats).
    fn validate_documentation(&self, err: &dyn Fn(&[&str], String) -> SpecError) -> Result<(), SpecError> {
        if self.hypotheses.is_empty() {
            return Err(err(
                &["hypotheses"],
                "required: list what the statement assumes, one per item".into(),
            ));
        }
        if self.hypotheses.iter().any(|h| h.trim().is_empty()) {
            return Err(err(&["hypotheses"], "an item is empty".into()));
        }
        if self.provenance_note.trim().is_empty() {
            return Err(err(
                &["provenance_note"],
                "required: say what the paper confirms and what is our reading".into(),
            ));
        }
        for (i, f) in self.figures.iter().enumerate() {
            if crate::framework::catalogue::canonical_figure(f).is_none() {
                return Err(err(
                    &["figures"],
                    format!(
                        "`{f}` is not a figure of `dlncheck figures` (fig1 … fig7, jgshg-staircase, \
                         jgshg-escape; fig8 is a deprecated alias of the last)"
                    ),
                ));
            }
            if self.figures[..i].contains(f) {
                return Err(err(&["figures"], format!("`{f}` is listed twice")));
            }
        }
        Ok(())
    }

    /// The grid of a mode (quick overrides applied) and extra overrides.
    fn grid_for(&self, mode: Mode, extra: &BTreeMap<String, OneOrMany>) -> BTreeMap<String, Vec<Value>> {
        let mut grid: BTreeMap<String, Vec<Value>> =
            self.grid.iter().map(|(k, v)| (k.clone(), v.values())).collect();
        if mode == Mode::Quick
            && let Some(q) = &self.quick
        {
            for (k, v) in &q.grid {
                grid.insert(k.clone(), v.values());
            }
        }
        for (k, v) in extra {
            grid.insert(k.clone(), v.values());
        }
        grid
    }

    fn repetitions_for(&self, mode: Mode) -> usize {
        match (mode, &self.quick) {
            (Mode::Quick, Some(Quick { repetitions: Some(r), .. })) => *r,
            _ => self.repetitions,
        }
    }

    /// The claim's instances: the cartesian product of the grid (parameters in name order, the
    /// last varying fastest) × repetitions, tolerances merged in, each with its own seed.
    pub fn instances(&self, mode: Mode, run_seed: u64) -> Vec<InstanceSpec> {
        self.expand(self.grid_for(mode, &BTreeMap::new()), self.repetitions_for(mode), run_seed, 0)
    }

    /// The instances of control `c` (index into `controls`).
    pub fn control_instances(&self, c: usize, mode: Mode, run_seed: u64) -> Vec<InstanceSpec> {
        let ctl = &self.controls[c];
        let reps = ctl.repetitions.unwrap_or_else(|| self.repetitions_for(mode));
        self.expand(self.grid_for(mode, &ctl.grid), reps, run_seed, 1 + c as u64)
    }

    /// The number of claim instances, without expanding the grid: the product of the list
    /// lengths × repetitions (equals `instances(mode, _).len()`).
    pub fn instance_count(&self, mode: Mode) -> usize {
        count(&self.grid_for(mode, &BTreeMap::new()), self.repetitions_for(mode))
    }

    /// The number of instances of control `c`, without expanding its grid.
    pub fn control_instance_count(&self, c: usize, mode: Mode) -> usize {
        let ctl = &self.controls[c];
        let reps = ctl.repetitions.unwrap_or_else(|| self.repetitions_for(mode));
        count(&self.grid_for(mode, &ctl.grid), reps)
    }

    fn expand(
        &self,
        grid: BTreeMap<String, Vec<Value>>,
        reps: usize,
        run_seed: u64,
        stream: u64,
    ) -> Vec<InstanceSpec> {
        let mut points = vec![GridPoint::default()];
        for (k, vals) in &grid {
            points = points
                .into_iter()
                .flat_map(|p| vals.iter().map(move |v| p.clone().with(k, v.clone())))
                .collect();
        }
        let mut out = Vec::with_capacity(points.len() * reps);
        for p in points {
            let p = self.tolerances.iter().fold(p, |p, (k, v)| p.with(k, v.clone()));
            for _ in 0..reps {
                let index = out.len();
                let seed = instance_seed(self.seed, run_seed, stream, index as u64);
                out.push(InstanceSpec { index, seed, point: p.clone() });
            }
        }
        out
    }
}

/// Size of the cartesian product of `grid` × `reps`.
/// Saturates at `usize::MAX` (a spec asking for 2⁶⁴ instances is refused by its count, not by
/// an overflow).
fn count(grid: &BTreeMap<String, Vec<Value>>, reps: usize) -> usize {
    grid.values().map(Vec::len).fold(reps, usize::saturating_mul)
}

/// Seed of one instance: SplitMix64 mixing of (spec seed, run seed, control stream, index).
pub fn instance_seed(spec_seed: u64, run_seed: u64, stream: u64, index: u64) -> u64 {
    let mut x = spec_seed;
    for v in [run_seed, stream, index] {
        x = crate::engine::rng::splitmix64(x ^ crate::engine::rng::splitmix64(v));
    }
    x
}

/// Splits serde_yaml's "path: message at line …" into (path, message).
fn split_path(msg: &str) -> (String, String) {
    match msg.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => (path.to_string(), rest.to_string()),
        _ => ("(spec)".to_string(), msg.to_string()),
    }
}

/// The 1-based line of a key path in YAML text (block or flow style), found by scanning for
/// each key after the previous one's line.
pub fn find_line(text: &str, path: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0;
    let mut found = None;
    for key in path {
        let pat_block = format!("{key}:");
        let idx = (start..lines.len()).find(|&i| {
            let l = lines[i].trim_start().trim_start_matches("- ");
            l.starts_with(&pat_block)
                || lines[i].contains(&format!(" {key}:"))
                || lines[i].contains(&format!("{{{key}:"))
        })?;
        found = Some(idx + 1);
        start = idx;
    }
    found
}

/// Every spec in a directory, sorted by file name.
pub fn spec_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, SpecError> {
    let rd = std::fs::read_dir(dir).map_err(|e| SpecError {
        file: dir.display().to_string(),
        key: "(directory)".into(),
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    let mut files: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    Ok(files)
}
