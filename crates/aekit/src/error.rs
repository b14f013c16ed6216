//! The library's one error type. Messages carry the offending values (file, row, field, offset)
//! so a user can fix the input without reading code.

use std::path::PathBuf;

/// Everything that can go wrong in aekit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input file or folder is malformed; `msg` says where (row, field, offset) and what was
    /// expected.
    #[error("{}: {msg}", path.display())]
    Input { path: PathBuf, msg: String },
    /// An input could not be read at all (missing, permission denied).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An output could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A parameter or combination of parameters is invalid.
    #[error("invalid {name}: {msg}")]
    InvalidArgument { name: &'static str, msg: String },
    /// Data does not fit what a fitted model or an operation expects.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// Fetching a built-in dataset failed (network, checksum, truncated transfer).
    #[error("download of {url} failed: {msg}")]
    Download { url: String, msg: String },
    /// A numerical routine failed (non-convergence, NaN).
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// The caller asked training to stop ([`crate::train::Observer::stop_requested`]); the last
    /// complete checkpoint is kept.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// Whether the error is the user's input or usage (exit status 2) rather than an internal
    /// or environmental failure (exit status 1).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Input { .. } | Error::Read { .. } | Error::InvalidArgument { .. } | Error::Shape(_)
        )
    }

    pub(crate) fn input(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Input { path: path.into(), msg: msg.into() }
    }

    pub(crate) fn arg(name: &'static str, msg: impl Into<String>) -> Self {
        Error::InvalidArgument { name, msg: msg.into() }
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
