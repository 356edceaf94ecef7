//! Where the data comes from: a path, `CALI_REG_DATA`, the cache, or a verified download.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

/// scikit-learn's address of `cal_housing.tgz`.
pub const ARCHIVE_URL: &str = "https://ndownloader.figshare.com/files/5976036";
/// SHA-256 of that archive (as in scikit-learn's `fetch_california_housing`).
pub const ARCHIVE_SHA256: &str = "aaa5c9a6afe2225cc2aed2723682ae403280c4a3695a2ddda4ffb5d8215ea681";
/// The environment variable that names a local copy.
pub const DATA_ENV: &str = "CALI_REG_DATA";
/// Overrides [`ARCHIVE_URL`] (mirrors, tests).
pub const URL_ENV: &str = "CALI_REG_DATA_URL";
/// Overrides [`ARCHIVE_SHA256`] (mirrors, tests).
pub const SHA256_ENV: &str = "CALI_REG_DATA_SHA256";
/// File name of the archive in the cache.
pub const CACHE_FILE: &str = "cal_housing.tgz";
/// The archive is about 440 kB; refuse anything absurdly larger.
const MAX_DOWNLOAD: u64 = 64 << 20;

/// How a data file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Given by the caller.
    Argument,
    /// Named by `CALI_REG_DATA`.
    Environment,
    /// Found in the cache.
    Cache,
    /// Downloaded, verified and cached just now.
    Download,
}

impl Origin {
    /// Lower-case label for reports.
    pub fn label(self) -> &'static str {
        match self {
            Self::Argument => "argument",
            Self::Environment => "CALI_REG_DATA",
            Self::Cache => "cache",
            Self::Download => "download",
        }
    }
}

/// A data file on disk and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file.
    pub path: PathBuf,
    /// How it was found.
    pub origin: Origin,
}

/// A file's size and modification time: what tells, as `make` and cargo tell it, that a file
/// hashed before has not changed since, so it need not be hashed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub modified_ns: i64,
}

impl Stamp {
    /// The stamp of a file as it is now; `None` where the system cannot say, or for a folder
    /// or glob of files (a file changed inside a folder leaves the folder's stamp as it was).
    pub fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path)
            .ok()
            .filter(std::fs::Metadata::is_file)?;
        let modified = meta.modified().ok()?;
        let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
        Some(Self {
            size: meta.len(),
            modified_ns: i64::try_from(since.as_nanos()).ok()?,
        })
    }
}

/// The search order: explicit path, environment, cache, download.
#[derive(Debug, Clone)]
pub struct Locator {
    /// A path given by the caller; wins over everything.
    pub path: Option<PathBuf>,
    /// The value of `CALI_REG_DATA`, if set.
    pub env_path: Option<PathBuf>,
    /// The cache folder; `None` where no home or cache folder is known.
    pub cache_dir: Option<PathBuf>,
    /// Address of the archive.
    pub url: String,
    /// Expected SHA-256 of the archive, lower-case hex.
    pub sha256: String,
    /// Give up on a download after this long.
    pub timeout: Duration,
}

/// A copy of the data on this machine, without any download: `CALI_REG_DATA` if set, else the
/// cached archive if present. For tests and tools that must not touch the network.
pub fn local_copy() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(DATA_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    default_cache_dir()
        .map(|dir| dir.join(CACHE_FILE))
        .filter(|p| p.is_file())
        .ok_or(Error::NoLocalCopy)
}

/// `$XDG_CACHE_HOME/cali-reg`, else `~/.cache/cali-reg`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("cali-reg"))
}

impl Locator {
    /// The locator a program uses: `path` if given, then the environment and the user's cache.
    pub fn from_env(path: Option<&Path>) -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Self {
            path: path.map(Path::to_path_buf),
            env_path: var(DATA_ENV).map(PathBuf::from),
            cache_dir: default_cache_dir(),
            url: var(URL_ENV).unwrap_or_else(|| ARCHIVE_URL.to_owned()),
            sha256: var(SHA256_ENV).unwrap_or_else(|| ARCHIVE_SHA256.to_owned()),
            timeout: Duration::from_secs(60),
        }
    }

    /// Find the data, downloading it into the cache as the last resort.
    pub fn locate(&self) -> Result<Located> {
        if let Some(path) = &self.path {
            return existing(path, "data file", Origin::Argument);
        }
        if let Some(path) = &self.env_path {
            return existing(path, DATA_ENV, Origin::Environment);
        }
        let Some(dir) = &self.cache_dir else {
            return Err(Error::Download {
                url: self.url.clone(),
                reason: String::from("no cache folder (neither XDG_CACHE_HOME nor HOME is set)"),
            });
        };
        let cached = dir.join(CACHE_FILE);
        if cached.is_file() {
            let bytes = read(&cached)?;
            verify(&bytes, &self.sha256, &cached.display().to_string())?;
            return Ok(Located {
                path: cached,
                origin: Origin::Cache,
            });
        }
        let bytes = self.download()?;
        crate::atomic::write_atomically(&cached, &bytes)?;
        Ok(Located {
            path: cached,
            origin: Origin::Download,
        })
    }

    /// Fetch the archive and check its SHA-256; nothing is written here.
    fn download(&self) -> Result<Vec<u8>> {
        let bytes =
            fetch(&self.url, MAX_DOWNLOAD, self.timeout).map_err(|reason| Error::Download {
                url: self.url.clone(),
                reason,
            })?;
        verify(&bytes, &self.sha256, &self.url)?;
        Ok(bytes)
    }
}

/// GET `url` whole, at most `limit` bytes, within `timeout`; the error is the reason, in words.
#[cfg(feature = "download")]
pub(crate) fn fetch(
    url: &str,
    limit: u64,
    timeout: Duration,
) -> std::result::Result<Vec<u8>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| e.to_string())
}

/// Without the `download` feature (the inference-only build) nothing is fetched.
#[cfg(not(feature = "download"))]
pub(crate) fn fetch(
    _url: &str,
    _limit: u64,
    _timeout: Duration,
) -> std::result::Result<Vec<u8>, String> {
    Err(String::from("this build of cali-reg does not download"))
}

fn existing(path: &Path, origin: &'static str, how: Origin) -> Result<Located> {
    // A folder or glob of Parquet files is listed (and refused if empty) when it is opened.
    if path.is_file() || crate::columnar::kind(path) == Some(crate::columnar::Kind::Many) {
        Ok(Located {
            path: path.to_path_buf(),
            origin: how,
        })
    } else if path.is_dir() {
        Err(Error::NotAFile {
            file: path.display().to_string(),
            what: "is a directory",
        })
    } else if path.exists() {
        Err(Error::NotAFile {
            file: path.display().to_string(),
            what: "is not a regular file",
        })
    } else {
        Err(Error::NotFound {
            origin,
            path: path.to_path_buf(),
        })
    }
}

/// Read a whole file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            cause: source,
        })?;
    Ok(bytes)
}

/// The SHA-256 a run records for the table at `path`: of the file, or of a folder's or glob's
/// Parquet files one after the other, as the reader computes it while reading.
pub fn table_sha256(path: &Path) -> Result<String> {
    crate::hash::sha256_files(&crate::columnar::files(path)?, &|| false)
}

pub(crate) fn verify(bytes: &[u8], expected: &str, what: &str) -> Result<()> {
    let actual = crate::hash::sha256_hex(bytes);
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(Error::Checksum {
            what: what.to_owned(),
            expected: expected.to_owned(),
            actual,
        })
    }
}
