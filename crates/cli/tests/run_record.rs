//! The run record as the single commit point of the artifacts folder, and one shape of
//! `train --json` whatever path a training run takes.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{Run, data_path, floats};

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn train_json_has_the_same_keys_on_every_path() {
    let run = Run::new();
    let stats = run.dir.path().join("all.stats");
    run.ok(&["stats", "-o", path(&stats)]);
    let memory = run.json(&["train"]);
    let paths: Vec<(&str, Value)> = vec![
        (
            "in memory, test size 0",
            run.json(&["train", "--test-size", "0"]),
        ),
        (
            "streaming, hash split",
            run.json(&["train", "--streaming", "--split", "hash"]),
        ),
        (
            "streaming, test size 0",
            run.json(&["train", "--streaming", "--test-size", "0"]),
        ),
        (
            "streaming, test file",
            run.json(&["train", "--streaming", "--test-data", path(&data_path())]),
        ),
        (
            "statistics",
            run.json(&["train", "--from-stats", path(&stats)]),
        ),
    ];
    for (what, j) in &paths {
        assert_eq!(keys(j), keys(&memory), "{what}");
    }
    // Absent values are null, not left out.
    let merged = &paths[4].1;
    assert!(merged["seed"].is_null() && merged["mae"].is_null() && merged["r2"].is_null());
    assert_eq!(memory["streaming"], false);
    assert!(memory["mae"].as_f64().unwrap() > 0.0);
}

#[test]
fn streaming_with_nothing_held_out_trains_on_every_row() {
    let run = Run::new();
    let j = run.json(&["train", "--streaming", "--test-size", "0"]);
    assert_eq!(j["train_rows"], 20640);
    assert_eq!(j["test_rows"], 0);
    assert_eq!(j["in_sample"], true);
    // The same fit as in memory on every row (statistics merged in another order: 1e-9).
    let memory = run.json(&["train", "--test-size", "0"]);
    for (a, b) in floats(&j["coefficients"])
        .iter()
        .zip(floats(&memory["coefficients"]))
    {
        approx::assert_relative_eq!(*a, b, max_relative = 1e-9);
    }
    run.ok(&["train", "--streaming", "--test-size", "0"]);
    let (code, err) = run.fail(&["evaluate"]);
    assert_eq!(code, 1);
    assert!(err.contains("no held-out rows to score"), "{err}");
}

/// The files of a folder, by name.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn restore(dir: &Path, files: &[(String, Vec<u8>)]) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

fn pending_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pending"))
        .collect()
}

/// The pending name a writer gives a model file before its record commits it.
fn pending_name(name: &str, bytes: &[u8]) -> String {
    format!("{name}.{}.pending", &dataset::sha256_hex(bytes)[..16])
}

/// The model file's SHA-256 that a server on `dir`'s record reports on /metrics.
fn served_sha256(artifacts: &Path) -> Result<String, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cali-reg"))
        .args(["serve", "--port", "0", "--quiet", "--artifacts"])
        .arg(artifacts)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    stderr.read_line(&mut first).unwrap();
    let Some(addr) = first
        .strip_prefix("listening on http://")
        .and_then(|r| r.split_whitespace().next())
    else {
        let status = child.wait().unwrap();
        return Err(format!("{status}: {first}"));
    };
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let sha = text
        .split("sha256=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no model sha256 in {text}"));
    Ok(sha.to_owned())
}

/// A training run killed at each instant of its commit leaves files that are all old or all
/// new to every reader: the states of the folder between its writes are made by hand from the
/// files of two real runs (A, then B), since a kill cannot be timed to a rename.
#[test]
fn a_run_killed_at_any_instant_leaves_readers_all_old_or_all_new_files() {
    let run = Run::new().trained();
    let dir = run.artifacts();
    let predictions = |run: &Run| run.json(&["predict"])["predictions"].clone();
    let before = snapshot(&dir);
    let old = predictions(&run);
    run.ok(&["train", "--seed", "7"]);
    let new = predictions(&run);
    assert_ne!(old, new);
    let after = snapshot(&dir);
    let file = |files: &[(String, Vec<u8>)], name: &str| {
        files.iter().find(|f| f.0 == name).unwrap().1.clone()
    };
    let new_model = file(&after, "linear_model.msgpack");
    let waiting = pending_name("linear_model.msgpack", &new_model);

    // Killed after writing the new model under its pending name, before the record: old.
    restore(&dir, &before);
    std::fs::write(dir.join(&waiting), &new_model).unwrap();
    assert_eq!(predictions(&run), old);
    assert!(
        run.ok(&["predict", "--quantized"])
            .starts_with("Sample predictions")
    );
    let old_sha = dataset::sha256_hex(&file(&before, "linear_model.msgpack"));
    assert_eq!(served_sha256(&dir).unwrap(), old_sha);
    // The next writer removes the leftover nothing names.
    run.ok(&["quantize"]);
    assert!(pending_files(&dir).is_empty());
    assert_eq!(predictions(&run), old);

    // Killed after the record, before the model's rename: new, and the quantised model of the
    // old one is no longer vouched for.
    restore(&dir, &before);
    std::fs::write(dir.join(&waiting), &new_model).unwrap();
    std::fs::write(dir.join("run.json"), file(&after, "run.json")).unwrap();
    assert_eq!(predictions(&run), new);
    let (_, err) = run.fail(&["predict", "--quantized"]);
    assert!(err.contains("made before the last training run"), "{err}");
    assert_eq!(
        served_sha256(&dir).unwrap(),
        dataset::sha256_hex(&new_model)
    );
    // The next writer finishes the rename.
    run.ok(&["quantize"]);
    assert!(pending_files(&dir).is_empty());
    assert_eq!(
        std::fs::read(dir.join("linear_model.msgpack")).unwrap(),
        new_model
    );
    assert_eq!(predictions(&run), new);

    // A model that no record names (copied by hand) is refused by every reader, the server too.
    restore(&dir, &before);
    std::fs::write(dir.join("linear_model.msgpack"), &new_model).unwrap();
    let (_, err) = run.fail(&["predict"]);
    assert!(err.contains("does not match"), "{err}");
    let refused = served_sha256(&dir).unwrap_err();
    assert!(refused.contains("does not match"), "{refused}");
}

/// Real kills at moments spread over a training run: whatever the moment, `predict` gives the
/// old run's predictions or the new one's, never a refusal for a mismatch.
#[test]
fn training_killed_at_random_moments_never_leaves_a_mismatch() {
    let run = Run::new().trained();
    let predictions = |run: &Run| run.json(&["predict"])["predictions"].clone();
    let old = predictions(&run);
    run.ok(&["train", "--seed", "7"]);
    let new = predictions(&run);
    run.ok(&["train"]);
    let started = std::time::Instant::now();
    run.ok(&["train", "--seed", "7"]);
    let took = started.elapsed();
    let mut seen = BTreeSet::new();
    for i in 0..12_u32 {
        let seed = if i % 2 == 0 { "7" } else { "42" };
        let mut child = run
            .cmd(&["train", "--seed", seed])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(took.mul_f64(f64::from(i) / 12.0 + 0.3));
        let _ = child.kill();
        let _ = child.wait();
        let now = predictions(&run);
        assert!(now == old || now == new, "kill {i}: {now}");
        seen.insert(now.to_string());
    }
    assert!(!seen.is_empty());
}

/// Two runs that differ in seed: `diff` shows the seed, and the metrics that moved with their
/// deltas (as the records give them), and nothing else; `--keep` bounds the history.
#[test]
fn diff_of_two_seeds_shows_the_seed_and_the_metrics_that_moved() {
    let run = Run::new();
    run.ok(&["train", "--keep", "2"]);
    let first = record(&run);
    run.ok(&["train", "--seed", "7", "--keep", "2"]);
    let second = record(&run);
    let diff = run.json(&["diff"]);
    let keys = |part: &str| -> Vec<String> {
        diff[part]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["key"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(keys("params"), ["seed"]);
    assert_eq!(diff["params"][0]["old"], 42);
    assert_eq!(diff["params"][0]["new"], 7);
    assert!(diff["params"][0]["delta"].is_null());
    assert_eq!(keys("metrics"), ["float.mae", "float.r2", "float.rmse"]);
    for change in diff["metrics"].as_array().unwrap() {
        let key = change["key"].as_str().unwrap().trim_start_matches("float.");
        let (old, new) = (
            first["metrics"]["float"][key].as_f64().unwrap(),
            second["metrics"]["float"][key].as_f64().unwrap(),
        );
        assert_ne!(old, new);
        assert_eq!(change["old"].as_f64().unwrap(), old);
        assert_eq!(change["new"].as_f64().unwrap(), new);
        assert_eq!(change["delta"].as_f64().unwrap(), new - old);
    }
    // The Markdown: one row per change, the deltas signed.
    let md = run.ok(&["diff", "--md"]);
    assert!(
        md.contains(
            "| Param | Old | New | Change |\n|---|---:|---:|---:|\n| seed | 42 | 7 | — |\n"
        ),
        "{md}"
    );
    assert!(
        md.contains("| float.r2 | 0.575788 | 0.607549 | +0.0317617 |"),
        "{md}"
    );
    assert_eq!(md.matches("\n| float.").count(), 3, "{md}");
    // The same run twice: nothing changed.
    let same = run.ok(&["diff", "artifacts", "artifacts/run.json"]);
    assert!(same.ends_with("no param or metric changed\n"), "{same}");
    // A third run with --keep 2 leaves two.
    run.ok(&["train", "--seed", "8", "--keep", "2"]);
    let runs = std::fs::read_dir(run.artifacts().join("runs"))
        .unwrap()
        .count();
    assert_eq!(runs, 2);
}

#[test]
fn diff_without_two_runs_is_one_line() {
    let run = Run::new();
    let (code, stderr) = run.fail(&["diff"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("0 run(s) in the history"), "{stderr}");
    run.ok(&["train", "--keep", "0"]);
    let (_, stderr) = run.fail(&["diff"]);
    assert!(stderr.contains("0 run(s)"), "{stderr}");
    let (_, stderr) = run.fail(&["diff", "nowhere.json"]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("nowhere.json: no run record there"),
        "{stderr}"
    );
}

/// The folder's run.json.
fn record(run: &Run) -> Value {
    serde_json::from_slice(&std::fs::read(run.artifacts().join("run.json")).unwrap()).unwrap()
}
