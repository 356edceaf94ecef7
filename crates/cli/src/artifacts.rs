//! Model files on disk: names, atomic writes, loading with the file named in every error.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use linreg::envelope::{self, Artifact};
use linreg::{AnyModel, Predictor};

use crate::record::Record;

/// The float model's file name.
pub const LINEAR: &str = "linear_model.msgpack";
/// The quantised model's file name.
pub const QUANTIZED: &str = "quant_model.msgpack";

/// Prefix of the temporary files written beside an output; the process id follows, so a later
/// run can tell the leftovers of a killed one from the files of one still running.
const TMP_PREFIX: &str = ".cali-reg-tmp-";

/// Where an output goes. A regular file (or a new one) is written as a temporary file beside it
/// and renamed over it at the end, so a reader never sees half a file and a failed run leaves
/// the old one; a symbolic link is followed, so the link stays a link. A device, FIFO or socket
/// that exists is written in place: it cannot be replaced, and must not be.
#[derive(Debug)]
pub enum Destination {
    /// A temporary file, renamed to `path` by [`finish`](Self::finish).
    Replace {
        tmp: tempfile::NamedTempFile,
        path: PathBuf,
    },
    /// The device, FIFO or socket at `path`, opened for writing.
    InPlace { file: std::fs::File, path: PathBuf },
}

impl Destination {
    /// Prepare to write `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let cannot = || format!("cannot write {}", path.display());
        if let Ok(meta) = std::fs::metadata(path)
            && !meta.is_file()
        {
            if meta.is_dir() {
                anyhow::bail!("cannot write {}: it is a directory", path.display());
            }
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(cannot)?;
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
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        remove_stale_temporaries(dir);
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{TMP_PREFIX}{}-", std::process::id()))
            .tempfile_in(dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        Ok(Self::Replace { tmp, path: target })
    }

    /// A handle to write through.
    pub fn file(&self) -> anyhow::Result<std::fs::File> {
        let (result, path) = match self {
            Self::Replace { tmp, path } => (tmp.reopen(), path),
            Self::InPlace { file, path } => (file.try_clone(), path),
        };
        result.with_context(|| format!("cannot write {}", path.display()))
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
    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            Self::InPlace { .. } => Ok(()),
            Self::Replace { tmp, path } => {
                let cannot = || format!("cannot write {}", path.display());
                tmp.as_file()
                    .set_permissions(std::fs::Permissions::from_mode(0o644))
                    .and_then(|()| tmp.as_file().sync_all())
                    .with_context(cannot)?;
                tmp.persist(&path)
                    .map_err(|e| e.error)
                    .with_context(cannot)?;
                Ok(())
            }
        }
    }
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

/// Write `bytes` to `path` as [`Destination`] does: never a half-written file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let destination = Destination::open(path)?;
    destination
        .file()?
        .write_all(bytes)
        .with_context(|| format!("cannot write {}", destination.path().display()))?;
    destination.finish()
}

pub use dataset::sha256_hex;

/// Encode and write a model file; returns its bytes.
pub fn save<T: Artifact>(path: &Path, value: &T) -> anyhow::Result<Vec<u8>> {
    let bytes = envelope::encode(value).with_context(|| format!("{}", path.display()))?;
    write_atomically(path, &bytes)?;
    Ok(bytes)
}

/// The largest model or statistics file read: real ones are a few hundred bytes.
pub const MAX_FILE: u64 = 64 << 20;

/// A model or statistics file's bytes, refusing one over [`MAX_FILE`] before reading it (and
/// reading at most that much from a device or a pipe that never ends).
pub fn read_bounded(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;

    let file = std::fs::File::open(path).with_context(|| {
        format!(
            "{}: cannot read model file (run `cali-reg train` and `cali-reg quantize` first?)",
            path.display()
        )
    })?;
    let meta = file
        .metadata()
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if meta.is_dir() {
        anyhow::bail!("{} is a directory, not a model file", path.display());
    }
    let too_large = || {
        anyhow::anyhow!(
            "{}: larger than {} MiB, not a cali-reg file",
            path.display(),
            MAX_FILE >> 20
        )
    };
    if meta.len() > MAX_FILE {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Read and decode the model file `name` of an artifacts folder, checked against the folder's
/// record ([`Record::check_artifact`]), which the caller has read once for all its files.
pub fn load_checked<T: Artifact>(
    artifacts: &Path,
    name: &str,
    record: &Record,
) -> anyhow::Result<T> {
    let path = artifacts.join(name);
    let bytes = read_bounded(&path)?;
    // A damaged file says how it is damaged; an intact one must still be the record's.
    let value = envelope::decode(&bytes).with_context(|| format!("{}", path.display()))?;
    record.check_artifact(name, &path, &bytes)?;
    Ok(value)
}

/// A lock on an artifacts folder (`.lock` in it): one writing command at a time, and no reading
/// command while one writes, so that model files and `run.json` are always seen together.
#[derive(Debug)]
pub struct Lock {
    /// Held, never read: dropping it unlocks.
    _file: std::fs::File,
}

impl Lock {
    /// For a command that writes the folder. Waits, saying so, while another command holds it.
    pub fn exclusive(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let file = Self::file(dir).with_context(|| format!("cannot lock {}", dir.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                crate::output::stderr(format_args!(
                    "waiting for another cali-reg command working in {}",
                    dir.display()
                ));
                file.lock()
                    .with_context(|| format!("cannot lock {}", dir.display()))?;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", dir.display()));
            }
        }
        Ok(Self { _file: file })
    }

    /// For a command that reads the folder: waits while one writes. A folder that cannot hold
    /// a lock file (read-only, as in the container image) is read without one.
    pub fn shared(dir: &Path) -> Option<Self> {
        let file = Self::file(dir).ok()?;
        file.lock_shared().ok()?;
        Some(Self { _file: file })
    }

    fn file(dir: &Path) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))
    }
}

/// Read and decode a model file; errors name the file.
#[cfg(feature = "train")]
pub fn load<T: Artifact>(path: &Path) -> anyhow::Result<T> {
    let bytes = read_bounded(path)?;
    envelope::decode(&bytes).with_context(|| format!("{}", path.display()))
}

/// The model `--quantized` selects from the artifacts folder, checked against the record.
pub fn load_predictor(
    artifacts: &Path,
    quantized: bool,
    record: &Record,
) -> anyhow::Result<(Predictor, PathBuf)> {
    let (name, model) = if quantized {
        (
            QUANTIZED,
            AnyModel::Quantized(load_checked(artifacts, QUANTIZED, record)?),
        )
    } else {
        (
            LINEAR,
            AnyModel::Float(load_checked(artifacts, LINEAR, record)?),
        )
    };
    Ok((Predictor::new(model), artifacts.join(name)))
}

/// A model file of either kind, as its header says; errors name the file.
#[cfg(feature = "serve")]
pub fn load_any(path: &Path) -> anyhow::Result<Predictor> {
    predictor_from_bytes(path, &read_bounded(path)?)
}

/// The bytes of a model file of either kind; `path` names it in errors.
pub fn predictor_from_bytes(path: &Path, bytes: &[u8]) -> anyhow::Result<Predictor> {
    Predictor::decode(bytes).with_context(|| path.display().to_string())
}
