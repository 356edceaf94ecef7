//! Fetching NIST StRD's files (`dataset::nist`), from an HTTP server on 127.0.0.1 that serves
//! them as NIST does, with CRLF line ends.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::Server;

/// The real files, through `CALI_REG_NIST` or the cache; fails, saying how to supply them.
fn real_files() -> PathBuf {
    dataset::nist::locate().unwrap_or_else(|e| panic!("this test needs the NIST files: {e}"))
}

/// A server of the files as NIST serves them; `tamper` changes one file's bytes.
fn nist_server(tamper: Option<&'static str>) -> Server {
    let dir = real_files();
    Server::serve(move |path| {
        let name = path.strip_prefix('/')?;
        let text = std::fs::read_to_string(dir.join(name)).ok()?;
        let mut served = text.replace('\n', "\r\n");
        if tamper == name.strip_suffix(".dat") {
            served = served.replacen("Certified", "certified", 1);
        }
        Some(served.into_bytes())
    })
}

#[test]
fn the_files_are_fetched_checked_and_cached_with_lf_line_ends() {
    let server = nist_server(None);
    let cache = tempfile::tempdir().unwrap();
    let dir = dataset::nist::fill(cache.path(), &server.base, Duration::from_secs(10)).unwrap();
    for (name, _) in dataset::nist::FILES {
        let fetched = std::fs::read(dir.join(format!("{name}.dat"))).unwrap();
        let real = std::fs::read(real_files().join(format!("{name}.dat"))).unwrap();
        assert_eq!(fetched, real, "{name}");
    }
    // Cached: nothing is fetched again, so no server is needed.
    drop(server);
    dataset::nist::fill(cache.path(), "http://127.0.0.1:9/", Duration::from_secs(10)).unwrap();
}

#[test]
fn a_file_that_differs_is_refused_and_not_cached() {
    let server = nist_server(Some("Longley"));
    let cache = tempfile::tempdir().unwrap();
    let err = dataset::nist::fill(cache.path(), &server.base, Duration::from_secs(10))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Longley.dat has SHA-256") && err.contains("CALI_REG_NIST"),
        "{err}"
    );
    assert!(!cache.path().join("Longley.dat").exists());
}

#[test]
fn offline_is_one_line_naming_both_ways_to_supply_them() {
    let url = Server::start(Vec::new()).base.clone(); // dropped at once: nothing listens there
    let cache = tempfile::tempdir().unwrap();
    let err = dataset::nist::fill(cache.path(), &url, Duration::from_secs(10))
        .unwrap_err()
        .to_string();
    assert!(!err.contains('\n'), "{err}");
    assert!(
        err.contains(&format!("cannot fetch {url}Norris.dat"))
            && err.contains("set CALI_REG_NIST")
            && err.contains("connect to the network"),
        "{err}"
    );
}
