//! The download path, against an HTTP server on 127.0.0.1 started by each test.

use std::path::Path;
use std::time::Duration;

use dataset::{CACHE_FILE, Error, Locator, Origin, Spec, load, sha256_hex};

use crate::support::{Server, archive, raw_data_lines};

fn locator(url: &str, sha256: &str, cache: &Path) -> Locator {
    Locator {
        path: None,
        env_path: None,
        cache_dir: Some(cache.to_path_buf()),
        url: url.to_owned(),
        sha256: sha256.to_owned(),
        timeout: Duration::from_secs(10),
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn right_checksum_is_cached_then_loaded() {
    let tgz = archive(raw_data_lines().as_bytes());
    let server = Server::start(tgz.clone());
    let cache = tempfile::tempdir().unwrap();
    let loc = locator(&server.url, &sha256_hex(&tgz), cache.path());

    let first = loc.locate().unwrap();
    assert_eq!(first.origin, Origin::Download);
    assert_eq!(files_in(cache.path()), [CACHE_FILE]);
    assert_eq!(std::fs::read(&first.path).unwrap(), tgz);
    let table = load(&first, &Spec::default()).unwrap();
    assert_eq!(table.n_rows(), 20_640);

    drop(server);
    let second = loc.locate().unwrap();
    assert_eq!(second.origin, Origin::Cache, "no second download");
}

#[test]
fn wrong_checksum_leaves_the_cache_empty() {
    let tgz = archive(b"1,2,3,4,5,6,7,8,9\n");
    let server = Server::start(tgz);
    let cache = tempfile::tempdir().unwrap();
    let wrong = "0".repeat(64);
    let err = locator(&server.url, &wrong, cache.path())
        .locate()
        .unwrap_err();
    assert!(matches!(err, Error::Checksum { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&server.url) && message.contains("CALI_REG_DATA"),
        "{message}"
    );
    assert!(
        files_in(cache.path()).is_empty(),
        "{:?}",
        files_in(cache.path())
    );
}

#[test]
fn server_gone_is_a_clear_error() {
    let url = Server::start(Vec::new()).url.clone(); // dropped at once: nothing listens there
    let cache = tempfile::tempdir().unwrap();
    let err = locator(&url, dataset::ARCHIVE_SHA256, cache.path())
        .locate()
        .unwrap_err();
    assert!(matches!(err, Error::Download { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("download of {url} failed")),
        "{message}"
    );
    assert!(
        message.contains("--data"),
        "says how to supply a file: {message}"
    );
    assert!(files_in(cache.path()).is_empty());
}

#[test]
fn a_damaged_cache_is_refused() {
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(cache.path().join(CACHE_FILE), b"not the archive").unwrap();
    let err = locator(
        "http://127.0.0.1:9/unused",
        dataset::ARCHIVE_SHA256,
        cache.path(),
    )
    .locate()
    .unwrap_err();
    assert!(matches!(err, Error::Checksum { .. }), "{err}");
}

#[test]
fn explicit_paths_win_and_must_exist() {
    let loc = Locator {
        path: Some("/nonexistent/cal.csv".into()),
        env_path: Some("/also/missing.csv".into()),
        ..locator("http://127.0.0.1:9/", "", Path::new("/nonexistent"))
    };
    let err = loc.locate().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "data file /nonexistent/cal.csv does not exist; {}",
            dataset::SUPPLY_HINT
        )
    );
    let loc = Locator { path: None, ..loc };
    assert!(
        loc.locate()
            .unwrap_err()
            .to_string()
            .starts_with("CALI_REG_DATA /also/missing.csv does not exist")
    );
}
