//! NIST StRD's eleven linear-regression reference files (certified values included), which the
//! numerics tests fit: named by `CALI_REG_NIST`, else kept in the cache, fetched from NIST the
//! first time and checked against the SHA-256s below, as the California archive is.
//!
//! NIST serves the files with CRLF line ends; they are stored, and hashed, with LF ones.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

/// The environment variable naming a folder that holds the files.
pub const NIST_ENV: &str = "CALI_REG_NIST";
/// Overrides [`BASE_URL`] (mirrors, tests).
pub const URL_ENV: &str = "CALI_REG_NIST_URL";
/// Where NIST publishes them: `BASE_URL` + `Norris.dat`, ….
pub const BASE_URL: &str = "https://www.itl.nist.gov/div898/strd/lls/data/LINKS/DATA/";
/// The cache's subfolder for them.
pub const CACHE_SUBDIR: &str = "nist";
/// How to supply the files, for errors.
pub use crate::error::NIST_HINT;
/// Each file's name (without `.dat`) and the SHA-256 of its bytes with LF line ends.
pub const FILES: [(&str, &str); 11] = [
    (
        "Norris",
        "cc3fd14d1c5fa891d5653000c9d7732c30db842cca49fc051abde1c19d67ab7d",
    ),
    (
        "Pontius",
        "4a48abd813af0d8dc78f8a0762d353d34b73b2fffaa07e266b69fae7b2b0669d",
    ),
    (
        "NoInt1",
        "4fc3255e9f2553e8961aafb23d0fa2b50899e898c43a29d486d80c4a28049913",
    ),
    (
        "NoInt2",
        "d3501d6dd0c86462e6a5279fbffa91741252868cd43ed9b18f6369479cb9823f",
    ),
    (
        "Filip",
        "1e8cb9a4644b1c6a8b1038eb46c59543814fa2a8d1ca31cb833040a75bf6a151",
    ),
    (
        "Longley",
        "c58ef65a2699826d55f134ddef27d09b9fb6ab4499fdd49a408b4cd5a63dc890",
    ),
    (
        "Wampler1",
        "6e86af8620ba02368f0c61ee4065bf00e63e828a1b4914979747195c41e7a976",
    ),
    (
        "Wampler2",
        "ac45014c4c0d3744d9b92fa918d8f09afade7c2793a89afd5ce796334d9e215b",
    ),
    (
        "Wampler3",
        "f30660a33ca97f89f05aec66ad9d8a9b7b1b352d5c09e2dae7bd85515ed699cb",
    ),
    (
        "Wampler4",
        "db0f095b52778a8252b4ad9dafca7a8cf737be2c3d8e913832e84370dfb9947c",
    ),
    (
        "Wampler5",
        "dd00873dea76a3adb0f7e01be4a9d96f368983cb4be1a89517963a24d3d12afa",
    ),
];

/// Each file is a few kB.
const MAX_FILE: u64 = 1 << 20;

/// The folder holding the eleven files: `CALI_REG_NIST` as it is, else the cache's copies,
/// fetching and checking those that are missing or damaged.
pub fn locate() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(NIST_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let cache = crate::source::default_cache_dir().ok_or_else(|| Error::Nist {
        problem: String::from("no cache folder (neither XDG_CACHE_HOME nor HOME is set)"),
    })?;
    let base = std::env::var(URL_ENV)
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| BASE_URL.to_owned());
    fill(&cache.join(CACHE_SUBDIR), &base, Duration::from_secs(30))
}

/// Make `dir` hold the eleven checked files, fetching each missing or damaged one from `base`.
pub fn fill(dir: &Path, base: &str, timeout: Duration) -> Result<PathBuf> {
    for (name, sha256) in FILES {
        let path = dir.join(format!("{name}.dat"));
        if std::fs::read(&path).is_ok_and(|bytes| crate::sha256_hex(&bytes) == sha256) {
            continue;
        }
        let url = format!("{base}{name}.dat");
        let fetched =
            crate::source::fetch(&url, MAX_FILE, timeout).map_err(|reason| Error::Nist {
                problem: format!("cannot fetch {url}: {reason}"),
            })?;
        let bytes = lf_line_ends(&fetched);
        let actual = crate::sha256_hex(&bytes);
        if actual != sha256 {
            return Err(Error::Nist {
                problem: format!("{url} has SHA-256 {actual} (LF line ends), expected {sha256}"),
            });
        }
        crate::atomic::write_atomically(&path, &bytes)?;
    }
    Ok(dir.to_path_buf())
}

/// The bytes with every CRLF turned into LF.
fn lf_line_ends(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(i) = memchr::memmem::find(rest, b"\r\n") {
        out.extend_from_slice(&rest[..i]);
        out.push(b'\n');
        rest = &rest[i + 2..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::lf_line_ends;

    #[test]
    fn crlf_becomes_lf_and_nothing_else_changes() {
        assert_eq!(lf_line_ends(b"a\r\nb\r\n\rc\n"), b"a\nb\n\rc\n");
        assert_eq!(lf_line_ends(b""), b"");
    }
}
