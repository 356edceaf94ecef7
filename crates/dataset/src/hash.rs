//! SHA-256, the one hash of the project: of bytes, and of files read one after the other.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Lower-case hex SHA-256 of files' bytes, one file after the other, read a MiB at a time;
/// `stop` ends the reading early (the result is then meaningless).
pub fn sha256_files(paths: &[PathBuf], stop: &dyn Fn() -> bool) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    for path in paths {
        let io = |e| Error::Io {
            path: path.clone(),
            cause: e,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        loop {
            if stop() {
                return Ok(String::new());
            }
            let n = crate::io::read_some(&mut file, &mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
    }
    Ok(format!("{:x}", hasher.finalize()))
}
