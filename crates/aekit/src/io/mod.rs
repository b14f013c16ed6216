//! Writing and reading files: every file aekit writes is atomic, and [`tensors`] is the one
//! safetensors reader and writer (model weights, PCA).
//!
//! Every file aekit writes goes through [`write_atomic`]: the bytes go to a temporary file in the
//! destination folder, which is renamed over the target only once complete, so an interrupted
//! run never leaves a half-written model or report.

pub mod tensors;

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// aekit's per-user cache folder (downloaded data sets, GPU kernels): `$AEKIT_CACHE` when set
/// and not empty, else `aekit` in the platform's cache folder (`$XDG_CACHE_HOME`, `~/.cache`).
pub fn cache_dir() -> Option<std::path::PathBuf> {
    match std::env::var_os("AEKIT_CACHE").filter(|v| !v.is_empty()) {
        Some(v) => Some(v.into()),
        None => dirs::cache_dir().map(|d| d.join("aekit")),
    }
}

thread_local! {
    /// Whether [`write_atomic`] syncs a file before renaming it into place (see [`without_sync`]).
    static SYNC: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Runs `f` with the files this thread writes through [`write_atomic`] not synced to disk
/// before they are renamed into place: still atomic for readers, not durable across a power
/// cut. For temporary run folders (the Python package's in-process fits), where durability buys
/// nothing and each sync costs milliseconds.
pub fn without_sync<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SYNC.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(SYNC.with(|s| s.replace(false)));
    f()
}

/// Writes a file atomically; `fill` writes the content into the given writer.
pub fn write_atomic<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    let werr = |source| Error::Write { path: path.to_path_buf(), source };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(werr)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".aekit-tmp-")
        .tempfile_in(dir)
        .map_err(werr)?;
    {
        let mut buf = std::io::BufWriter::new(tmp.as_file_mut());
        fill(&mut buf).map_err(werr)?;
        buf.flush().map_err(werr)?;
    }
    if SYNC.with(|s| s.get()) {
        tmp.as_file().sync_all().map_err(werr)?;
    }
    tmp.persist(path).map_err(|e| werr(e.error))?;
    Ok(())
}

/// Writes bytes atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

/// Writes a value as pretty JSON atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Numerical(format!("cannot serialize {}: {e}", path.display())))?;
    write_bytes(path, format!("{text}\n").as_bytes())
}

/// Creates a folder (and parents), naming it in the error.
pub fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|source| Error::Write { path: path.to_path_buf(), source })
}
