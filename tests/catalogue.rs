//! The claims catalogue `docs/claims.md` is generated from the specs: the committed file must equal
//! `dlncheck list --format markdown`, and every link in it must point to a file that exists.

use std::path::Path;
use std::process::Command;

fn dlncheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dlncheck")).args(args).output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn committed_catalogue_equals_the_generated_one() {
    let (code, out, err) = dlncheck(&["list", "--format", "markdown"]);
    assert_eq!(code, 0, "{err}");
    let committed = std::fs::read_to_string("docs/claims.md").expect("docs/claims.md is committed");
    assert!(
        committed == out,
        "docs/claims.md is stale: regenerate it with `cargo run --release -- list --format markdown > docs/claims.md`"
    );
}

#[test]
fn catalogue_covers_every_claim_and_its_links_resolve() {
    let text = std::fs::read_to_string("docs/claims.md").unwrap();
    for c in dlncheck::claims::all() {
        let id = c.id();
        assert!(text.contains(&format!("\n## {id}\n")), "{id} has no section");
        for p in
            [dlncheck::framework::catalogue::spec_path(id), dlncheck::framework::catalogue::module_path(id)]
        {
            assert!(Path::new(&p).is_file(), "{p} does not exist");
            assert!(text.contains(&format!("](../{p})")), "{id}: no link to {p}");
        }
    }
    // Every relative link target exists (paths relative to docs/).
    for (i, _) in text.match_indices("](") {
        let rest = &text[i + 2..];
        let target = &rest[..rest.find(')').unwrap()];
        if target.starts_with('#') || target.starts_with("http") {
            continue;
        }
        assert!(Path::new("docs").join(target).exists(), "broken link {target}");
    }
    // Every spec documents its hypotheses and provenance (validated at load; seen in the file).
    assert_eq!(text.matches("\nHypotheses:\n").count(), dlncheck::claims::all().len());
    assert!(!text.contains(concat!("..", "/shared")), "the catalogue stands alone");
}

#[test]
fn list_rejects_an_unknown_format() {
    let (code, out, err) = dlncheck(&["list", "--format", "html"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("--format"), "{err}");
}
