//! The house's layers point one way down: each folder of `src/` may import only the layers
//! listed for it below (a `crate::<layer>` path anywhere in its code, comments excluded).
//!
//! ```text
//! attack → claims        figures → experiments
//!    └───────┴─▶ framework ─▶ io ─▶ lowrank ─▶ engine
//!                  (figures → io, experiments → io)
//! ```
//! The command line (`src/bin/dlncheck`) sits on top and may use everything.

use std::collections::BTreeSet;
use std::path::Path;

/// The layers each top-level module may import (besides itself).
fn allowed(layer: &str) -> &'static [&'static str] {
    match layer {
        "engine" => &[],
        "lowrank" => &["engine"],
        "io" => &["engine"],
        "framework" => &["engine", "lowrank", "io"],
        "claims" => &["engine", "lowrank", "io", "framework"],
        // Above claims (it restates each claim's hypotheses as a search space, so the claims stay
        // free of optimiser code; the spaces over a claim's own grid parameters score each point
        // with the claim's own measurement) and the framework whose specs it reads.
        "attack" => &["engine", "lowrank", "io", "framework", "claims"],
        "experiments" => &["engine", "lowrank", "io"],
        "figures" => &["engine", "lowrank", "io", "experiments"],
        other => panic!("src/{other}: a top-level module with no declared layer; add it to tests/layers.rs"),
    }
}

/// Items at the crate root that every layer may name: the determinism switch, and the
/// `controls!` macro (exported at the root by `#[macro_export]`, defined in the framework).
const ROOT_ITEMS: &[&str] = &["init_determinism", "controls"];

fn rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The `crate::<top>` modules named in the code of `text` (line comments removed).
fn imports(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let tail = &rest[i + 7..];
            let name: String = tail.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.insert(name);
            }
            rest = tail;
        }
    }
    found
}

#[test]
fn every_layer_imports_only_the_layers_below_it() {
    let mut files = Vec::new();
    rs_files(Path::new("src"), &mut files);
    let mut violations = Vec::new();
    let mut seen_layers = BTreeSet::new();
    for f in &files {
        let rel = f.strip_prefix("src").unwrap();
        let mut parts = rel.iter().map(|s| s.to_str().unwrap());
        let first = parts.next().unwrap();
        if first == "bin" || first == "lib.rs" {
            continue;
        }
        let layer = first.trim_end_matches(".rs");
        seen_layers.insert(layer.to_string());
        let ok = allowed(layer);
        for m in imports(&std::fs::read_to_string(f).unwrap()) {
            if m != layer && !ROOT_ITEMS.contains(&m.as_str()) && !ok.contains(&m.as_str()) {
                violations.push(format!("{}: imports crate::{m}", f.display()));
            }
        }
    }
    assert!(
        seen_layers.contains("engine") && seen_layers.contains("framework"),
        "layers not found: {seen_layers:?}"
    );
    assert!(violations.is_empty(), "imports against the layering:\n{}", violations.join("\n"));
}

#[test]
fn the_checker_sees_an_upward_import() {
    // A planted upward import is seen; a path in a comment is not.
    let text =
        "use crate::engine::model::Dln;\nlet x = crate::framework::spec::Mode::Quick; // crate::claims\n";
    let found = imports(text);
    assert_eq!(found, ["engine", "framework"].iter().map(|s| s.to_string()).collect());
    assert!(!allowed("engine").contains(&"framework"));
}
