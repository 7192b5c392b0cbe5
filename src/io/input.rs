//! Reading user input with bounded memory and time: every file (or standard input, `-`) is read
//! through a size cap, so `/dev/zero` or a multi-gigabyte file fails after the cap, not after
//! exhausting memory; error messages quote at most a short excerpt of what was read.

use crate::io::error::Error;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The default cap on one input file: 64 MiB of YAML is about 3·10⁶ numbers (an MLP with
/// d ≈ 1700 at L = 1, or d = 1000 at L = 3). Larger networks travel as `.npz`, whose arrays are
/// bounded by [`crate::io::npz::MAX_ELEMENTS`] instead. `--max-input-bytes` overrides it.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 64 << 20;

static MAX_INPUT_BYTES: AtomicU64 = AtomicU64::new(DEFAULT_MAX_INPUT_BYTES);

/// Sets the cap (the command line's `--max-input-bytes`).
pub fn set_max_input_bytes(n: u64) {
    MAX_INPUT_BYTES.store(n, Ordering::Relaxed);
}

/// The current cap in bytes.
pub fn max_input_bytes() -> u64 {
    MAX_INPUT_BYTES.load(Ordering::Relaxed)
}

/// Whether `path` names standard input (`-`).
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The bytes of `path` (standard input for `-`), refused beyond the cap.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, Error> {
    let rerr = |source| Error::Read { path: path.into(), source };
    let max = max_input_bytes();
    let mut buf = Vec::new();
    let read = if is_stdin(path) {
        std::io::stdin().lock().take(max.saturating_add(1)).read_to_end(&mut buf)
    } else {
        let f = std::fs::File::open(path).map_err(rerr)?;
        if f.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Error::Input {
                file: path.display().to_string(),
                field: "(file)".into(),
                message: "is a directory, not a file".into(),
            });
        }
        f.take(max.saturating_add(1)).read_to_end(&mut buf)
    };
    read.map_err(rerr)?;
    if buf.len() as u64 > max {
        return Err(Error::Input {
            file: path.display().to_string(),
            field: "(file)".into(),
            message: format!(
                "is larger than the input limit of {max} bytes: raise it with --max-input-bytes (or use \
                 an .npz instance for large networks)"
            ),
        });
    }
    Ok(buf)
}

/// The text of `path` (standard input for `-`): size-capped, UTF-8, a leading byte-order mark
/// removed.
pub fn read_text(path: &Path) -> Result<String, Error> {
    let bytes = read_bytes(path)?;
    text_of(bytes, &path.display().to_string())
}

/// UTF-8 text from bytes, a leading byte-order mark removed; `name` labels the error.
pub fn text_of(bytes: Vec<u8>, name: &str) -> Result<String, Error> {
    let mut text = String::from_utf8(bytes).map_err(|e| Error::Syntax {
        file: name.into(),
        message: format!("is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..3);
    }
    Ok(text)
}

/// The default memory budget (`--max-memory`): half of the machine's RAM (MemTotal in
/// /proc/meminfo), or 4 GiB where that cannot be read.
pub fn default_max_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024 / 2)
        })
        .unwrap_or(4 << 30)
}

/// A byte count as typed on the command line: a number, optionally followed by K, M, G or T
/// (powers of 1024, with or without a trailing `B`/`iB`).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix("iB").or_else(|| t.strip_suffix('B')).unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        Some('T' | 't') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("`{s}` is not a size (e.g. 4G, 512M, 1000000)"))?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(format!("`{s}` is not a size (e.g. 4G, 512M, 1000000)"));
    }
    Ok((v * mult as f64).min(u64::MAX as f64) as u64)
}

/// A byte count for messages: 1.5 GiB, 320 MiB, 12 KiB.
pub fn human_bytes(b: u64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{b} bytes") } else { format!("{v:.1} {}", units[u]) }
}
