//! The history of training runs: each run's record is copied to
//! `runs/<time to the millisecond>-<model's short SHA-256>.json` whenever it is saved (so `quantize` and `report`
//! add to their run's copy), and `train --keep N` keeps the newest N. The names sort in time
//! order; `cali-reg diff` compares two of them.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// The history's folder, inside the artifacts folder.
pub const FOLDER: &str = "runs";

/// How many runs `train` keeps by default.
pub const KEEP: usize = 50;

/// The runs of the history of the artifacts folder `dir`, oldest first.
pub fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let folder = dir.join(FOLDER);
    let entries = match std::fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(cause) => {
            return Err(Error::Read {
                path: folder,
                what: String::from("history of runs"),
                cause,
            });
        }
    };
    let mut runs: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension().is_some_and(|e| e == "json")
                && !path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    runs.sort();
    Ok(runs)
}

/// Remove all but the newest `keep` runs of the history.
pub fn prune(dir: &Path, keep: usize) -> Result<()> {
    let runs = list(dir)?;
    let excess = runs.len().saturating_sub(keep);
    for path in &runs[..excess] {
        std::fs::remove_file(path).map_err(|cause| Error::Write {
            what: path.display().to_string(),
            cause,
        })?;
    }
    Ok(())
}

/// Now, in UTC, to the millisecond: `2026-12-05T04:35:12.345Z`.
pub fn utc_now() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    utc(ms)
}

/// A time in milliseconds since the Unix epoch, in UTC (the proleptic Gregorian calendar, by
/// Howard Hinnant's `civil_from_days`).
fn utc(ms: u64) -> String {
    let (seconds, ms) = (ms / 1_000, ms % 1_000);
    let days = (seconds / 86_400) as i64;
    let of_day = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        of_day / 3_600,
        of_day / 60 % 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_calendar_dates() {
        // As `date -u -d @SECONDS` gives them.
        assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
        // The leap day of a century divisible by 400.
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc(1_796_444_112_345), "2026-12-05T04:15:12.345Z");
        assert_eq!(utc(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
    }

    #[test]
    fn the_history_keeps_the_newest_runs() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(FOLDER);
        std::fs::create_dir_all(&folder).unwrap();
        for name in [
            "20261201T000000Z-a.json",
            "20261203T000000Z-c.json",
            "20261202T000000Z-b.json",
            ".x.json",
            "notes.txt",
        ] {
            std::fs::write(folder.join(name), "{}").unwrap();
        }
        let names = |runs: Vec<PathBuf>| -> Vec<String> {
            runs.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            names(list(dir.path()).unwrap()),
            [
                "20261201T000000Z-a.json",
                "20261202T000000Z-b.json",
                "20261203T000000Z-c.json"
            ]
        );
        prune(dir.path(), 2).unwrap();
        assert_eq!(
            names(list(dir.path()).unwrap()),
            ["20261202T000000Z-b.json", "20261203T000000Z-c.json"]
        );
        prune(dir.path(), 0).unwrap();
        assert!(list(dir.path()).unwrap().is_empty());
        assert!(list(&dir.path().join("none")).unwrap().is_empty());
    }
}
