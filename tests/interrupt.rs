//! Ctrl-C during `check`: the run stops after the instances in progress, keeps every finished
//! property in the report (rewritten with `complete: false`), writes what it measured of the
//! property in progress to the partial file that `--resume` reads, says so, and exits 130.

#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigint_keeps_finished_properties_and_exits_130() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("dlncheck-interrupt-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let specs = dir.join("properties");
    std::fs::create_dir_all(&specs).unwrap();
    for f in dlncheck::framework::spec::spec_files(&root.join("properties")).unwrap() {
        std::fs::copy(&f, specs.join(f.file_name().unwrap())).unwrap();
    }
    // The second property is made long (100 000 repetitions of its quick grid: minutes), so that
    // the signal arrives while it runs, after the first one (mc.thm1.lower_bound) was written.
    let upper = specs.join("mc.thm1.upper.yaml");
    let text = std::fs::read_to_string(&upper).unwrap();
    assert!(text.contains("\nquick:\n  grid:"), "the spec's quick section moved");
    std::fs::write(&upper, text.replace("\nquick:\n  grid:", "\nquick:\n  repetitions: 100000\n  grid:"))
        .unwrap();
    let out = dir.join("report.yaml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dlncheck"))
        .args(["check", "--quick", "--only", "mc.thm1.lower_bound", "--only", "mc.thm1.upper"])
        .args(["--max-instances", "10000000", "--properties"])
        .arg(&specs)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    // Wait (up to 10 minutes on a loaded machine) for the first property's report.
    let start = Instant::now();
    while !out.exists() {
        assert!(start.elapsed() < Duration::from_secs(600), "no report after 10 minutes");
        assert!(child.try_wait().unwrap().is_none(), "check ended before the signal");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "exit status {:?}; stderr: {stderr}", o.status);
    assert!(stderr.contains("interrupted: "), "{stderr}");
    let partial = dir.join("report.partial.yaml");
    assert!(stderr.contains(&partial.display().to_string()) && stderr.contains("--resume"), "{stderr}");
    // The report keeps the finished property, and says it is incomplete.
    let report: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["complete"], serde_yaml::Value::Bool(false));
    let props = report["properties"].as_sequence().unwrap();
    assert_eq!(props.len(), 1, "{props:?}");
    assert_eq!(props[0]["id"].as_str(), Some("mc.thm1.lower_bound"));
    // The partial file holds the first property and part of the second, not all of it.
    let part: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&partial).unwrap()).unwrap();
    let items = part["items"].as_sequence().unwrap();
    let upper_items = items.iter().filter(|i| i["property"].as_str() == Some("mc.thm1.upper")).count();
    assert!(upper_items > 0 && upper_items < 200_000, "{upper_items} items of mc.thm1.upper");
    assert_eq!(part["header"]["complete"], serde_yaml::Value::Bool(false));
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(&dir).ok();
}
