//! Fuzz-style test of `dlncheck sharpness` over mutated instance files: random byte edits and
//! structural edits (a number replaced by an extreme, non-finite or ill-typed value, a row
//! dropped or duplicated, a section cut) of a valid file, fed on standard input. Every case
//! must end in exit 0 with finite-or-null numbers, or exit 2/3 with an `error:` line — never a
//! panic (101) or an abort (134). Fixed seed, a modest number of cases (a few seconds).

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use std::io::Write;
use std::process::{Command, Stdio};

const BASE: &str = "architecture: mlp
x: [[1.0, 0.5, -0.2], [0.2, 1.0, 0.3], [0.3, 0.1, 1.0], [-0.4, 0.2, 0.5]]
y: [1.0, 2.0, -0.5, 0.25]
weights:
  - [[0.5, 0.1, 0.0], [0.2, 0.3, -0.1], [0.0, 0.4, 0.6]]
  - [[0.4, -0.6, 0.2]]
meta: {seed: \"1\"}
";

/// Values a structural edit puts in place of a number.
const HOSTILE: &[&str] = &[
    "1e308",
    "-1e308",
    "1e-320",
    "0",
    "-0.0",
    ".nan",
    ".inf",
    "-.inf",
    "1e999",
    "\"abc\"",
    "18446744073709551616",
    "[]",
    "[1, 2]",
    "null",
    "~",
    "*a",
    "&a 1",
    "1e200",
    "1e-200",
    "0x10",
    "true",
];

/// Bytes a random edit writes.
const BYTES: &[u8] = b"0123456789-+.eE[]{},:# \n\t\"'*&!|>nai\xff\x00";

fn mutate(seed: &[(u8, u16, u16)]) -> Vec<u8> {
    let mut text = BASE.as_bytes().to_vec();
    for &(op, a, b) in seed {
        let len = text.len().max(1);
        let (i, j) = ((a as usize) % len, (b as usize) % len);
        match op % 6 {
            0 => {
                if !text.is_empty() {
                    text[i] = BYTES[j % BYTES.len()];
                }
            }
            1 => {
                let (lo, hi) = (i.min(j), i.max(j).min(i.min(j) + 16));
                text.drain(lo..hi);
            }
            2 => text.insert(i.min(text.len()), BYTES[j % BYTES.len()]),
            _ => {
                // Structural: replace the k-th number with a hostile value.
                let s = String::from_utf8_lossy(&text).into_owned();
                let mut starts = Vec::new();
                let bytes = s.as_bytes();
                for k in 0..bytes.len() {
                    let begins = (bytes[k].is_ascii_digit() || bytes[k] == b'-')
                        && (k == 0 || matches!(bytes[k - 1], b'[' | b' ' | b','));
                    if begins {
                        starts.push(k);
                    }
                }
                if starts.is_empty() {
                    continue;
                }
                let k = starts[i % starts.len()];
                let end = k + s[k..].find([',', ']', '\n']).unwrap_or(s.len() - k);
                let mut out = s[..k].to_string();
                out += HOSTILE[j % HOSTILE.len()];
                out += &s[end..];
                text = out.into_bytes();
            }
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        rng_seed: RngSeed::Fixed(8),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_instances_never_crash(edits in prop::collection::vec((any::<u8>(), any::<u16>(), any::<u16>()), 1..5)) {
        let input = mutate(&edits);
        let mut child = Command::new(env!("CARGO_BIN_EXE_dlncheck"))
            .args(["sharpness", "-", "--max-memory", "1G", "--max-input-bytes", "100000"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&input).ok();
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let code = out.status.code().unwrap_or(-1);
        let shown = String::from_utf8_lossy(&input);
        prop_assert!(matches!(code, 0 | 2 | 3), "exit {code} for\n{shown}\nstderr: {stderr}");
        prop_assert!(!stderr.contains("panicked"), "{stderr}");
        if code == 0 {
            let lower = stdout.to_lowercase();
            prop_assert!(!lower.contains("nan") && !lower.contains(".inf"), "non-finite output for\n{shown}\n{stdout}");
        } else {
            prop_assert!(stderr.starts_with("error: "), "{stderr}");
            prop_assert!(stderr.len() < 2500, "{} bytes", stderr.len());
        }
    }
}
