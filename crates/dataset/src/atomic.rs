//! Writing files so that nobody sees half of one: the one atomic writer of the project (model
//! files, `run.json`, reports, predictions, the data cache, and `xtask`'s files).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Prefix of the temporary files written beside an output; the process id follows, so a later
/// run can tell the leftovers of a killed one from the files of one still running.
const TMP_PREFIX: &str = ".cali-reg-tmp-";

fn cannot_write(path: &Path, cause: std::io::Error) -> Error {
    Error::Write {
        path: path.to_path_buf(),
        cause,
    }
}

/// Where an output goes. A regular file (or a new one) is written as a temporary file beside it
/// and renamed over it at the end, so a reader never sees half a file and a failed run leaves
/// the old one; a symbolic link is followed, so the link stays a link. A device, FIFO or socket
/// that exists is written in place: it cannot be replaced, and must not be.
#[derive(Debug)]
pub enum Destination {
    /// A temporary file, renamed to `path` by [`finish`](Self::finish).
    Replace {
        /// The temporary file.
        tmp: tempfile::NamedTempFile,
        /// Where it goes.
        path: PathBuf,
    },
    /// The device, FIFO or socket at `path`, opened for writing.
    InPlace {
        /// It, open.
        file: std::fs::File,
        /// Its path.
        path: PathBuf,
    },
}

impl Destination {
    /// Prepare to write `path` (its folder is created if need be).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("out.txt");
    /// let out = dataset::Destination::open(&path)?;
    /// std::io::Write::write_all(&mut out.file()?, b"whole")?;
    /// assert!(!path.exists(), "nothing shows before the end");
    /// out.finish()?;
    /// assert_eq!(std::fs::read(&path)?, b"whole");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: &Path) -> Result<Self> {
        if let Ok(meta) = std::fs::metadata(path)
            && !meta.is_file()
        {
            if meta.is_dir() {
                return Err(cannot_write(
                    path,
                    std::io::Error::other("it is a directory"),
                ));
            }
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| cannot_write(path, e))?;
            return Ok(Self::InPlace {
                file,
                path: path.to_path_buf(),
            });
        }
        let target = resolve_links(path);
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).map_err(|e| cannot_write(dir, e))?;
        remove_stale_temporaries(dir);
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{TMP_PREFIX}{}-", std::process::id()))
            .tempfile_in(dir)
            .map_err(|e| cannot_write(dir, e))?;
        Ok(Self::Replace { tmp, path: target })
    }

    /// A handle to write through.
    pub fn file(&self) -> Result<std::fs::File> {
        let (result, path) = match self {
            Self::Replace { tmp, path } => (tmp.reopen(), path),
            Self::InPlace { file, path } => (file.try_clone(), path),
        };
        result.map_err(|e| cannot_write(path, e))
    }

    /// The path the output ends up at.
    pub fn path(&self) -> &Path {
        match self {
            Self::Replace { path, .. } | Self::InPlace { path, .. } => path,
        }
    }

    /// Make the written output final: sync and rename a temporary file (readable by all, as a
    /// file written with the usual umask would be: the image's non-root user reads the model
    /// files); nothing more for a device.
    pub fn finish(self) -> Result<()> {
        match self {
            Self::InPlace { .. } => Ok(()),
            Self::Replace { tmp, path } => {
                tmp.as_file()
                    .set_permissions(std::fs::Permissions::from_mode(0o644))
                    .and_then(|()| tmp.as_file().sync_all())
                    .map_err(|e| cannot_write(&path, e))?;
                tmp.persist(&path)
                    .map_err(|e| cannot_write(&path, e.error))?;
                Ok(())
            }
        }
    }
}

/// Write `bytes` to `path` as [`Destination`] does: never a half-written file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let destination = Destination::open(path)?;
    destination
        .file()?
        .write_all(bytes)
        .map_err(|e| cannot_write(destination.path(), e))?;
    destination.finish()
}

/// Follow symbolic links to the path they name in the end (existing or not).
fn resolve_links(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&current) {
            Ok(target) if target.is_absolute() => current = target,
            Ok(target) => {
                current = current
                    .parent()
                    .map_or_else(|| target.clone(), |p| p.join(&target));
            }
            Err(_) => break,
        }
    }
    current
}

/// Remove temporary files that a killed run left in `dir` (their process is gone).
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TMP_PREFIX)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
