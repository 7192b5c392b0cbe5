//! `--max-memory` refuses an audit by its estimated memory before building it: the estimate
//! (`audit::memory_estimate`, from the shapes alone) must track the peak resident memory the
//! audit really uses, measured here by the kernel (wait4's ru_maxrss) on instances that take
//! each route: the dense Hessian, the exact reduced form (P = 90 300) and Lanczos on the
//! reduced operator (residual network, P = 216 060).

#![cfg(unix)]

use std::path::Path;
use std::process::Command;

/// Peak RSS in bytes of `dlncheck sharpness file` (Linux reports ru_maxrss in KiB). The child
/// is reaped by wait4 itself (which returns its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn peak_rss(file: &Path) -> u64 {
    let child = Command::new(env!("CARGO_BIN_EXE_dlncheck"))
        .arg("sharpness")
        .arg(file)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child, with valid pointers to a status and a rusage.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "sharpness failed: {status}");
    usage.ru_maxrss as u64 * 1024
}

#[test]
fn memory_estimate_tracks_the_measured_peak() {
    dlncheck::init_determinism();
    let dir = std::env::temp_dir().join(format!("dlncheck-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The process itself (binary, runtime, allocator) before any array: a few MiB.
    const BASE: u64 = 16 << 20;
    for (arch, d, depth, n) in [("mlp", 20, 5, 60), ("mlp", 300, 2, 400), ("residual", 60, 60, 100)] {
        let file = dir.join(format!("{arch}-{d}-{depth}.npz"));
        let o = Command::new(env!("CARGO_BIN_EXE_dlncheck"))
            .args(["instance", "--architecture", arch, "--d", &d.to_string(), "--depth", &depth.to_string()])
            .args(["--n", &n.to_string(), "--out"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let inst = dlncheck::io::npz::load_any(&file).unwrap();
        let estimate = dlncheck::engine::audit::memory_estimate(
            &inst.model,
            inst.data.y.len(),
            &dlncheck::engine::spectrum::SpectrumOptions::default(),
        );
        let rss = peak_rss(&file);
        // Within the documented factor: never far below what is used (it would let an instance
        // through that then does not fit), never far above (it would refuse what fits).
        assert!(
            rss <= estimate + estimate / 2 + BASE,
            "{arch} d = {d}, L = {depth}: RSS {rss} > 1.5 × estimate {estimate}"
        );
        assert!(estimate <= 5 * rss, "{arch} d = {d}, L = {depth}: estimate {estimate} > 5 × RSS {rss}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
