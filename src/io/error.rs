//! Errors that reach the user, each with a process exit code.
//!
//! Exit codes: 0 success; 1 a check failed (a property violated, or a control that did not
//! fail); 2 invalid input (instance file, property spec, arguments); 3 numerical or internal
//! failure (e.g. an iterative eigensolver that did not converge, a figure that cannot be drawn);
//! 4 an output could not be written.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of an input file is missing, mis-shaped, non-finite or out of range.
    #[error("{file}: {field}: {message}")]
    Input { file: String, field: String, message: String },
    /// The file is not valid YAML for its schema.
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// A figure could not be drawn (e.g. a non-finite axis range): an internal failure, not an
    /// I/O one; nothing of that figure is written.
    #[error("cannot draw {figure}: {message}")]
    Draw { figure: String, message: String },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input { .. } | Error::Syntax { .. } | Error::Read { .. } => 2,
            Error::Numerical(_) | Error::Draw { .. } => 3,
            Error::Write { .. } => 4,
        }
    }
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory, then rename,
/// so an interrupted run never leaves a half-written file.
pub fn write_atomic(path: &std::path::Path, contents: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let werr = |source| Error::Write { path: path.to_path_buf(), source };
    std::fs::create_dir_all(dir).map_err(werr)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if path.is_dir() {
        return Err(werr(std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory")));
    }
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        // Never leave the temporary file behind.
        std::fs::remove_file(&tmp).ok();
        werr(e)
    })
}

/// Checks, before a long run, that `path` can be written: not a directory, and its directory
/// accepts a new file (a probe file is created and removed).
pub fn check_writable(path: &std::path::Path) -> Result<(), Error> {
    let werr = |source| Error::Write { path: path.to_path_buf(), source };
    if path.is_dir() {
        return Err(werr(std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory")));
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(werr)?;
    let probe = dir.join(format!(".dlncheck-probe.tmp{}", std::process::id()));
    std::fs::File::create(&probe).map_err(werr)?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

/// A message shortened for the terminal (see [`crate::io::yaml::shorten`]).
pub fn shorten(message: &str) -> String {
    crate::io::yaml::shorten(message)
}

impl Error {
    /// An audit failure: unusable data (exit 2, in `file`, naming the field) or a numerical
    /// failure (exit 3).
    pub fn from_audit(e: crate::engine::audit::AuditError, file: &str) -> Error {
        match e {
            crate::engine::audit::AuditError::Data(crate::engine::objective::DataError::Invalid {
                field,
                message,
            }) => Error::Input { file: file.into(), field, message },
            crate::engine::audit::AuditError::Numerical(m) => Error::Numerical(m),
        }
    }
}

impl From<crate::engine::objective::DataError> for Error {
    /// Data that a claim or the audit cannot use (e.g. a singular covariance), named by field.
    fn from(e: crate::engine::objective::DataError) -> Self {
        let crate::engine::objective::DataError::Invalid { field, message } = e;
        Error::Input { file: "instance".into(), field, message }
    }
}
