//! Streaming training, statistics shards and streaming prediction, against the in-memory path.

use std::path::{Path, PathBuf};
use std::process::Command;

use approx::assert_relative_eq;
use linreg::LinearRegression;
use serde_json::Value;

use crate::support::floats;

const BETA: [f64; 3] = [1.5, -2.0, 0.25];
const INTERCEPT: f64 = 4.0;

/// A CSV `a,b,c,y` with `y = x·BETA + 4 + noise`, rows `from..to` of one deterministic sequence.
fn table(from: u64, to: u64, noise: f64) -> String {
    let mut out = String::from("a,b,c,y\n");
    for i in from..to {
        let mut z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        let mut next = || {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let x = [next() * 20.0, next() * 300.0 + 1000.0, next()];
        let y = x.iter().zip(BETA).map(|(a, b)| a * b).sum::<f64>() + INTERCEPT + noise * next();
        out.push_str(&format!("{},{},{},{}\n", x[0], x[1], x[2], y));
    }
    out
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_cali-reg"))
            .args(args)
            .arg("--artifacts")
            .arg(self.0.path().join("artifacts"))
            .env_remove("CALI_REG_DATA")
            .env("XDG_CACHE_HOME", self.0.path().join("cache"))
            .env("CALI_REG_DATA_URL", "http://127.0.0.1:9/none")
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn streaming_recovers_known_coefficients() {
    let dir = Dir::new();
    let data = dir.file("data.csv", &table(0, 20_000, 0.01));
    let j = dir.json(&[
        "train",
        "--streaming",
        "--split",
        "hash",
        "--data",
        path(&data),
        "--target",
        "y",
    ]);
    for (got, want) in floats(&j["coefficients"]).iter().zip(BETA) {
        assert!((got - want).abs() < 1e-3, "{got} vs {want}");
    }
    assert!((j["intercept"].as_f64().unwrap() - INTERCEPT).abs() < 1e-2);
    // About a fifth of the rows are test rows, the same ones on every run.
    let test = j["test_rows"].as_u64().unwrap();
    assert!((3_600..4_400).contains(&test), "{test}");
    assert_eq!(j["train_rows"].as_u64().unwrap() + test, 20_000);
    let again = dir.json(&[
        "train",
        "--streaming",
        "--split",
        "hash",
        "--data",
        path(&data),
        "--target",
        "y",
    ]);
    assert_eq!(again["coefficients"], j["coefficients"]);
    assert!(j["r2"].as_f64().unwrap() > 0.999_999);
}

#[test]
fn streaming_equals_in_memory_and_its_metrics_equal_direct_ones() {
    let dir = Dir::new();
    let data = dir.file("data.csv", &table(0, 5_000, 1.0));
    let held = dir.file("test.csv", &table(5_000, 6_000, 1.0));
    let j = dir.json(&[
        "train",
        "--streaming",
        "--data",
        path(&data),
        "--test-data",
        path(&held),
        "--target",
        "y",
    ]);

    // In memory: the loader and a DMatrix fit over every row.
    let spec = dataset::Spec {
        target: Some(String::from("y")),
        features: None,
        weight: None,
    };
    let table = dataset::load_path(&data, &spec).unwrap();
    let model = LinearRegression::new()
        .recipe(table.recipe.clone())
        .fit(&table.x, &table.y)
        .unwrap();
    for (got, want) in floats(&j["coefficients"]).iter().zip(model.coefficients()) {
        assert_relative_eq!(*got, *want, max_relative = 1e-9);
    }
    assert_relative_eq!(
        j["intercept"].as_f64().unwrap(),
        model.intercept(),
        max_relative = 1e-9
    );

    // Metrics from the test rows' moments equal metrics from the predictions themselves.
    let test = dataset::load_path(&held, &spec).unwrap();
    let predicted = model.predict(&test.x).unwrap();
    let direct = linreg::Metrics::compute(test.y.as_slice(), predicted.as_slice()).unwrap();
    assert_relative_eq!(j["r2"].as_f64().unwrap(), direct.r2, max_relative = 1e-9);
    assert_relative_eq!(
        j["rmse"].as_f64().unwrap(),
        direct.rmse,
        max_relative = 1e-9
    );
    assert_eq!(j["test_rows"], 1_000);
}

#[test]
fn three_shards_merge_into_the_fit_of_their_concatenation() {
    let dir = Dir::new();
    let parts = [(0, 1_700), (1_700, 3_100), (3_100, 5_000)];
    let mut stats = Vec::new();
    for (i, (from, to)) in parts.iter().enumerate() {
        let part = dir.file(&format!("part{i}.csv"), &table(*from, *to, 1.0));
        let out = dir.0.path().join(format!("part{i}.stats"));
        dir.json(&[
            "stats",
            "--data",
            path(&part),
            "--target",
            "y",
            "-o",
            path(&out),
        ]);
        stats.push(out);
    }
    let held = dir.file("test.csv", &table(5_000, 6_000, 1.0));
    let mut args = vec![
        "train",
        "--target",
        "y",
        "--test-data",
        path(&held),
        "--from-stats",
    ];
    args.extend(stats.iter().map(|p| path(p)));
    let merged = dir.json(&args);
    let whole = dir.file("whole.csv", &table(0, 5_000, 1.0));
    let single = dir.json(&[
        "train",
        "--streaming",
        "--data",
        path(&whole),
        "--test-data",
        path(&held),
        "--target",
        "y",
    ]);
    for (a, b) in floats(&merged["coefficients"])
        .iter()
        .zip(floats(&single["coefficients"]))
    {
        assert_relative_eq!(*a, b, max_relative = 1e-9);
    }
    assert_relative_eq!(
        merged["r2"].as_f64().unwrap(),
        single["r2"].as_f64().unwrap(),
        max_relative = 1e-9
    );
    assert_eq!(merged["train_rows"], 5_000);

    // Shards of different tables do not merge.
    let other = dir.file("other.csv", "p,q,y\n1,2,3\n2,1,4\n3,3,5\n4,1,7\n");
    let out = dir.0.path().join("other.stats");
    dir.json(&[
        "stats",
        "--data",
        path(&other),
        "--target",
        "y",
        "-o",
        path(&out),
    ]);
    let mixed = dir.run(&["train", "--from-stats", path(&stats[0]), path(&out)]);
    assert_eq!(mixed.status.code(), Some(1));
    let err = String::from_utf8_lossy(&mixed.stderr);
    assert!(
        err.contains("other.stats: its features (p, q) differ from the first file's (a, b, c)"),
        "{err}"
    );
}

#[test]
fn a_malformed_line_in_the_middle_names_the_line_and_writes_no_model() {
    let dir = Dir::new();
    let mut text = table(0, 30_000, 1.0);
    let at = text.match_indices('\n').nth(15_000).unwrap().0 + 1;
    text.insert_str(at, "1.0,oops,2.0,3.0\n");
    let data = dir.file("big.csv", &text);
    let out = dir.run(&[
        "train",
        "--streaming",
        "--split",
        "hash",
        "--data",
        path(&data),
        "--target",
        "y",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("big.csv:15002: column b: \"oops\" is not a number"),
        "{err}"
    );
    assert!(!dir.0.path().join("artifacts/linear_model.msgpack").exists());
}

#[test]
fn streaming_prediction_writes_every_row() {
    let dir = Dir::new();
    let data = dir.file("data.csv", &table(0, 3_000, 0.0));
    dir.json(&[
        "train",
        "--streaming",
        "--split",
        "hash",
        "--data",
        path(&data),
        "--target",
        "y",
    ]);
    let target = dir.0.path().join("predictions.csv");
    let j = dir.json(&["predict", "--input", path(&data), "-o", path(&target)]);
    assert_eq!(j["rows"], 3_000);
    let text = std::fs::read_to_string(&target).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("a,b,c,y,prediction"));
    for line in lines {
        let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
        // Noiseless data: the prediction is the target.
        assert!((cells[3] - cells[4]).abs() < 1e-9, "{line}");
    }
}

#[test]
fn streaming_needs_a_split_it_can_make() {
    let dir = Dir::new();
    let data = dir.file("data.csv", &table(0, 100, 1.0));
    let out = dir.run(&[
        "train",
        "--streaming",
        "--data",
        path(&data),
        "--target",
        "y",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use --split hash or --test-data FILE"));
    let out = dir.run(&[
        "train",
        "--split",
        "hash",
        "--data",
        path(&data),
        "--target",
        "y",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("go with --streaming"));
}

/// Later commands score the rows a streaming run held out, not a permutation split of their own.
#[test]
fn evaluate_after_streaming_scores_the_held_out_rows() {
    let dir = Dir::new();
    let data = dir.file("data.csv", &table(0, 20_000, 1.0));
    let trained = dir.json(&[
        "train",
        "--streaming",
        "--split",
        "hash",
        "--seed",
        "9",
        "--data",
        path(&data),
        "--target",
        "y",
    ]);
    let evaluated = dir.json(&["evaluate", "--data", path(&data), "--target", "y"]);
    assert_eq!(evaluated["test_rows"], trained["test_rows"]);
    assert_eq!(evaluated["split"], "hash split, seed 9, test size 0.2");
    // Training's R² comes from the test rows' moments, evaluate's from their residuals.
    assert_relative_eq!(
        evaluated["r2"].as_f64().unwrap(),
        trained["r2"].as_f64().unwrap(),
        max_relative = 1e-9
    );
    assert_relative_eq!(
        evaluated["rmse"].as_f64().unwrap(),
        trained["rmse"].as_f64().unwrap(),
        max_relative = 1e-9
    );

    // A test file: its rows are the held-out ones.
    let held = dir.file("held.csv", &table(20_000, 21_000, 1.0));
    let trained = dir.json(&[
        "train",
        "--streaming",
        "--data",
        path(&data),
        "--test-data",
        path(&held),
        "--target",
        "y",
    ]);
    let evaluated = dir.json(&["evaluate", "--data", path(&data), "--target", "y"]);
    assert_eq!(evaluated["test_rows"], 1_000);
    assert_relative_eq!(
        evaluated["r2"].as_f64().unwrap(),
        trained["r2"].as_f64().unwrap(),
        max_relative = 1e-9
    );

    // Commands that need a permutation split say so instead of using the wrong rows.
    dir.json(&["quantize"]);
    for args in [&["report"][..], &["predict"][..]] {
        let mut all = args.to_vec();
        all.extend(["--data", path(&data), "--target", "y"]);
        let out = dir.run(&all);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("the last training run streamed (test file ")
                && err.contains("pass --seed N --test-size F"),
            "{err}"
        );
    }

    // Statistics alone hold nothing out.
    let stats = dir.0.path().join("all.stats");
    dir.json(&[
        "stats",
        "--data",
        path(&data),
        "--target",
        "y",
        "-o",
        path(&stats),
    ]);
    dir.json(&["train", "--from-stats", path(&stats), "--target", "y"]);
    let out = dir.run(&["evaluate", "--data", path(&data), "--target", "y"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("there is no test split to score"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
