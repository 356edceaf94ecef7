//! One reader, one behaviour: every odd or bad file is accepted, or refused with the same
//! message, by `train`, `train --streaming`, `stats`, `evaluate` and `predict --input`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use approx::assert_relative_eq;
use serde_json::Value;

/// `y = 2a − b + 1 + small noise`, 60 rows, plain decimals.
pub fn rows() -> Vec<String> {
    (0..60)
        .map(|i| {
            let (a, b) = (i as f64 * 0.5, ((i * 7) % 11) as f64);
            let noise = (((i * 37) % 13) as f64 - 6.0) * 0.01;
            format!("{a},{b},{}", 2.0 * a - b + 1.0 + noise)
        })
        .collect()
}

pub fn text(header: &str, rows: &[String], end: &str) -> String {
    let mut out = format!("{header}{end}");
    for r in rows {
        out.push_str(r);
        out.push_str(end);
    }
    out
}

pub struct Case {
    pub dir: tempfile::TempDir,
}

impl Case {
    /// A folder with a model trained on the clean table (for `evaluate` and `predict`).
    pub fn new() -> Self {
        let case = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let clean = case.file("clean.csv", text("a,b,y", &rows(), "\n").as_bytes());
        let out = case.run(&["train", "--data", path(&clean), "--target", "y"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        case
    }

    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_cali-reg"))
            .args(args)
            .arg("--artifacts")
            .arg(self.dir.path().join("artifacts"))
            .env_remove("CALI_REG_DATA")
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env("CALI_REG_DATA_URL", "http://127.0.0.1:9/none")
            .output()
            .unwrap()
    }

    /// Every command on `data`: (command, exit code, stderr, stdout).
    pub fn every_command(&self, data: &Path) -> Vec<(&'static str, Option<i32>, String, String)> {
        let d = path(data);
        let stats = self.dir.path().join("s.stats");
        let commands: [(&str, Vec<&str>); 5] = [
            (
                "train",
                vec!["train", "--data", d, "--target", "y", "--json"],
            ),
            (
                "train --streaming",
                vec![
                    "train",
                    "--streaming",
                    "--split",
                    "hash",
                    "--data",
                    d,
                    "--target",
                    "y",
                    "--json",
                ],
            ),
            (
                "stats",
                vec!["stats", "--data", d, "--target", "y", "-o", path(&stats)],
            ),
            ("evaluate", vec!["evaluate", "--data", d, "--target", "y"]),
            ("predict --input", vec!["predict", "--input", d]),
        ];
        commands
            .into_iter()
            .map(|(name, args)| {
                // Each command starts from the clean model, so one's failure cannot hide another's.
                let out = self.run(&args);
                let clean = self.run(&[
                    "train",
                    "--data",
                    path(&self.dir.path().join("clean.csv")),
                    "--target",
                    "y",
                ]);
                assert!(clean.status.success());
                (
                    name,
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                )
            })
            .collect()
    }
}

pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The `prediction` column of `predict --input`'s CSV output.
pub fn predictions(stdout: &str) -> Vec<f64> {
    stdout
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect()
}

pub fn coefficients(stdout: &str) -> Vec<f64> {
    let j: Value = serde_json::from_str(stdout).unwrap();
    j["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// Files that every command reads as it reads the clean table: same fits, same predictions.
#[test]
fn blank_lines_bom_crlf_and_quotes_are_read_alike_everywhere() {
    let case = Case::new();
    let clean = case.dir.path().join("clean.csv");
    let reference = case.every_command(&clean);
    let mut blank = rows();
    blank.insert(10, String::new());
    blank.insert(30, String::from("   "));
    blank.push(String::new());
    let quoted: Vec<String> = rows()
        .iter()
        .map(|r| {
            let cells: Vec<String> = r.split(',').map(|c| format!("\"{c}\"")).collect();
            cells.join(",")
        })
        .collect();
    let variants = [
        (
            "blank lines",
            format!("\n{}\n\n", text("a,b,y", &blank, "\n")),
        ),
        ("BOM", format!("\u{feff}{}", text("a,b,y", &rows(), "\n"))),
        ("CRLF", text("a,b,y", &rows(), "\r\n")),
        ("quoted", text("\"a\",\"b\",\"y\"", &quoted, "\n")),
        (
            "no final line end",
            text("a,b,y", &rows(), "\n").trim_end().to_owned(),
        ),
    ];
    for (label, content) in variants {
        let file = case.file("odd.csv", content.as_bytes());
        let got = case.every_command(&file);
        for ((name, code, err, out), (_, _, _, want)) in got.iter().zip(&reference) {
            assert_eq!(*code, Some(0), "{label}: {name}: {err}");
            match *name {
                // The hash split keys on line numbers, which blank lines shift: same rows, other split.
                "train --streaming" if label == "blank lines" => {
                    let j: Value = serde_json::from_str(out).unwrap();
                    let rows = j["train_rows"].as_u64().unwrap() + j["test_rows"].as_u64().unwrap();
                    assert_eq!(rows, 60);
                }
                "train" | "train --streaming" => {
                    for (a, b) in coefficients(out).iter().zip(coefficients(want)) {
                        assert_relative_eq!(*a, b, max_relative = 1e-12);
                    }
                }
                "predict --input" => {
                    assert_eq!(predictions(out), predictions(want), "{label}");
                }
                _ => assert_eq!(
                    out.replace(path(&file), "F"),
                    want.replace(path(&clean), "F")
                ),
            }
        }
    }
}

/// Files that every command refuses, with exit 1 and one identical line naming the problem.
#[test]
fn bad_files_are_refused_alike_everywhere() {
    let case = Case::new();
    let good = rows();
    let with_line = |at: usize, line: &str| {
        let mut r = good.clone();
        r[at] = line.to_owned();
        text("a,b,y", &r, "\n")
    };
    let long = format!("1,{},3", "2".repeat(1 << 20));
    let cases: Vec<(&str, String, String)> = vec![
        (
            "duplicated column",
            text("a,a,y", &good, "\n"),
            String::from("F:1: column a appears twice in the header"),
        ),
        (
            "empty cell",
            with_line(5, "1,,3"),
            String::from("F:7: column b: missing value"),
        ),
        (
            "text",
            with_line(5, "1,two,3"),
            String::from("F:7: column b: \"two\" is not a number"),
        ),
        (
            "NaN",
            with_line(5, "1,NaN,3"),
            String::from("F:7: column b: NaN is not finite"),
        ),
        (
            "inf",
            with_line(5, "1,-inf,3"),
            String::from("F:7: column b: -inf is not finite"),
        ),
        (
            "1e400",
            with_line(5, "1,1e400,3"),
            String::from("F:7: column b: 1e400 is not finite"),
        ),
        (
            "missing field",
            with_line(5, "1,2"),
            String::from("F:7: expected 3 fields, found 2"),
        ),
        (
            "extra field",
            with_line(5, "1,2,3,4"),
            String::from("F:7: expected 3 fields, found 4"),
        ),
        (
            "unterminated quote",
            with_line(5, "1,\"2,3"),
            String::from("F:7: column b: a quoted field has no closing quote"),
        ),
        (
            "line over 1 MiB",
            with_line(5, &long),
            String::from("F:7: line longer than 1 MiB"),
        ),
        (
            "a value too large to square",
            with_line(5, "1,1e300,3"),
            String::from(
                "F:7: b is 1e300, beyond ±1e100: its square would overflow the statistics",
            ),
        ),
        (
            "header only",
            String::from("a,b,y\n\n"),
            String::from("F: no data rows"),
        ),
        (
            // Classic Mac OS line ends (Excel's "CSV (Macintosh)"): the whole file one line.
            "carriage returns alone",
            text("a,b,y", &good, "\r"),
            String::from(
                "F:1: lines end in a carriage return alone (classic Mac OS); cali-reg reads lines ending in \\n or \\r\\n",
            ),
        ),
        (
            // The same over 1 MiB: said so, not "line longer than 1 MiB".
            "carriage returns alone, over 1 MiB",
            text(
                "a,b,y",
                &(0..100_000).map(good_row).collect::<Vec<_>>(),
                "\r",
            ),
            String::from(
                "F:1: lines end in a carriage return alone (classic Mac OS); cali-reg reads lines ending in \\n or \\r\\n",
            ),
        ),
    ];
    for (label, content, message) in cases {
        let file = case.file("bad.csv", content.as_bytes());
        let want = format!("error: {}\n", message.replace('F', path(&file)));
        for (name, code, err, _) in case.every_command(&file) {
            assert_eq!(code, Some(1), "{label}: {name}: {err}");
            assert_eq!(err, want, "{label}: {name}");
        }
    }
}

/// A bad line in a file of many chunks is reported at its own line, whatever the threads.
#[test]
fn the_first_bad_line_of_a_large_file_is_named_by_every_command() {
    let case = Case::new();
    let mut big: Vec<String> = (0..400_000).map(good_row).collect();
    big[250_000] = String::from("1,oops,3");
    big[390_000] = String::from("1,2");
    let file = case.file("big.csv", text("a,b,y", &big, "\n").as_bytes());
    let want = format!(
        "error: {}:250002: column b: \"oops\" is not a number\n",
        path(&file)
    );
    for (name, code, err, _) in case.every_command(&file) {
        assert_eq!(code, Some(1), "{name}: {err}");
        assert_eq!(err, want, "{name}");
    }
}

/// Training again on an unchanged file takes its SHA-256 from the last run's record (the
/// record's stamp: path, size, modification time); a file changed in place, even to the same
/// size, is hashed again. Both training paths.
#[test]
fn training_again_hashes_only_a_changed_file() {
    let case = Case::new();
    let clean = case.dir.path().join("clean.csv");
    let run_json = case.dir.path().join("artifacts/run.json");
    let recorded =
        || -> Value { serde_json::from_slice(&std::fs::read(&run_json).unwrap()).unwrap() };
    let bytes = std::fs::read(&clean).unwrap();
    assert_eq!(
        recorded()["parameters"]["data"]["sha256"],
        dataset::sha256_hex(&bytes)
    );
    for streaming in [false, true] {
        let train = || {
            let mut args = vec!["train", "--data", path(&clean), "--target", "y"];
            if streaming {
                args.extend(["--streaming", "--split", "hash"]);
            }
            let out = case.run(&args);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            recorded()["parameters"]["data"]["sha256"].clone()
        };
        // A record that says another hash for this very stamp is believed: the file is not
        // read for its hash again.
        let mut record = recorded();
        let forged = "0".repeat(64);
        record["parameters"]["data"]["sha256"] = Value::from(forged.as_str());
        std::fs::write(&run_json, serde_json::to_vec(&record).unwrap()).unwrap();
        assert_eq!(train(), forged.as_str(), "streaming: {streaming}");
        // The same size, another byte, a later modification time: hashed again.
        let mut changed = std::fs::read(&clean).unwrap();
        let at = changed.len() - 2;
        changed[at] = if changed[at] == b'1' { b'2' } else { b'1' };
        std::fs::write(&clean, &changed).unwrap();
        assert_eq!(
            train(),
            dataset::sha256_hex(&changed).as_str(),
            "streaming: {streaming}"
        );
    }
}

fn good_row(i: usize) -> String {
    let (a, b) = ((i % 1000) as f64 * 0.25, ((i * 7) % 11) as f64);
    format!("{a},{b},{}", 2.0 * a - b + 1.0)
}

/// Later commands trust the SHA-256 that training recorded while the file's size and
/// modification time are unchanged, and hash it again (and warn) once they change.
#[test]
fn a_changed_data_file_is_hashed_again_and_named() {
    let case = Case::new();
    let clean = case.dir.path().join("clean.csv");
    let record: Value =
        serde_json::from_slice(&std::fs::read(case.dir.path().join("artifacts/run.json")).unwrap())
            .unwrap();
    let stamp = &record["parameters"]["data"]["stamp"];
    assert_eq!(stamp["path"], path(&clean));
    assert_eq!(
        stamp["size"].as_u64(),
        Some(std::fs::metadata(&clean).unwrap().len())
    );
    let evaluate = || case.run(&["evaluate", "--data", path(&clean), "--target", "y"]);
    let quiet = evaluate();
    assert!(quiet.status.success());
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    // Another row: another size, another hash, and a warning naming the file.
    let mut text = std::fs::read_to_string(&clean).unwrap();
    text.push_str("1,2,3\n");
    std::fs::write(&clean, text).unwrap();
    let warned = evaluate();
    assert!(warned.status.success());
    let err = String::from_utf8_lossy(&warned.stderr);
    assert!(
        err.starts_with(&format!(
            "warning: {} differs from the data the model was trained on",
            path(&clean)
        )),
        "{err}"
    );
}
