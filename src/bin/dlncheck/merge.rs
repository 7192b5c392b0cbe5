//! `dlncheck merge`: combines the partial files of a sharded `check`, `figures` or `attack` run, by the
//! command their headers name, into the unsharded run's output.

use dlncheck::io::error::Error;
use dlncheck::io::shard;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Merges `parts` with the merge of the command the first part's header names; `out` defaults to
/// that command's default output (report.yaml for check, the figures directory for figures, attack.yaml for attack).
/// Parts of another command are refused by that merge, naming the file.
pub fn run(parts: &[PathBuf], out: Option<&Path>) -> Result<ExitCode, Error> {
    let first = parts.first().ok_or_else(|| Error::Input {
        file: "merge".into(),
        field: "PARTS".into(),
        message: "no partial files given".into(),
    })?;
    let header = shard::read_header(&shard::read_part(first)?, &first.display().to_string())?;
    for p in &parts[1..] {
        let h = shard::read_header(&shard::read_part(p)?, &p.display().to_string())?;
        if h.command != header.command {
            return Err(Error::Input {
                file: "merge".into(),
                field: "command".into(),
                message: format!(
                    "{} is a partial of `{}`, {} a partial of `{}`: merge the parts of one run",
                    p.display(),
                    h.command,
                    first.display(),
                    header.command
                ),
            });
        }
    }
    match header.command.as_str() {
        "check" => crate::check::merge(parts, out.unwrap_or(Path::new("report.yaml"))),
        "figures" => crate::figures::merge(parts, out.unwrap_or(Path::new("figures"))),
        "attack" => crate::attack::merge(parts, out.unwrap_or(Path::new("attack.yaml"))),
        other => Err(Error::Input {
            file: first.display().to_string(),
            field: "header.command".into(),
            message: format!("`{other}`: dlncheck merge combines parts of check, figures and attack"),
        }),
    }
}
