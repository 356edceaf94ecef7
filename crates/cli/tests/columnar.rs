//! Parquet, Arrow IPC and folders or globs of Parquet files: read as the CSV path reads the same
//! numbers (fits equal to 1e-12, the hash split alike), refused alike by every command, and
//! written back as Parquet that polars and pyarrow read. The files are written by polars here,
//! not by `cali-reg`, so the reader is checked against another writer.

use std::fs::File;
use std::path::{Path, PathBuf};

use approx::assert_relative_eq;
use polars::prelude::*;
use serde_json::Value;

use crate::reader::{Case, coefficients, path, predictions, rows, text};

/// Fail with the command's stderr unless it succeeded.
fn succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The reader tests' clean table (`a`, `b`, `y`, 60 rows) as a polars frame.
fn frame() -> DataFrame {
    let mut columns = [Vec::new(), Vec::new(), Vec::new()];
    for row in rows() {
        for (column, cell) in columns.iter_mut().zip(row.split(',')) {
            column.push(cell.parse::<f64>().unwrap());
        }
    }
    let [a, b, y] = columns;
    DataFrame::new_infer_height(vec![
        Column::new("a".into(), a),
        Column::new("b".into(), b),
        Column::new("y".into(), y),
    ])
    .unwrap()
}

fn write_parquet(path: &Path, mut frame: DataFrame, group_rows: usize) -> PathBuf {
    ParquetWriter::new(File::create(path).unwrap())
        .with_row_group_size(Some(group_rows))
        .finish(&mut frame)
        .unwrap();
    path.to_path_buf()
}

fn write_ipc(path: &Path, mut frame: DataFrame) -> PathBuf {
    IpcWriter::new(File::create(path).unwrap())
        .finish(&mut frame)
        .unwrap();
    path.to_path_buf()
}

/// The clean table cut into three Parquet files in a folder (`part-0` … `part-2`, the middle one
/// of two row groups).
fn shards(dir: &Path, frame: &DataFrame) -> PathBuf {
    let folder = dir.join("shards");
    std::fs::create_dir_all(&folder).unwrap();
    for (k, (offset, len)) in [(0, 17), (17, 25), (42, 18)].into_iter().enumerate() {
        let part = frame.slice(offset, len);
        write_parquet(&folder.join(format!("part-{k}.parquet")), part, 13);
    }
    folder
}

/// Every form of the table trains as the CSV does, in memory and streaming (the hash split
/// too: a table's row r is keyed as line r + 1 of a CSV with a header), and predicts alike.
#[test]
fn parquet_ipc_and_folders_read_as_the_csv_does() {
    let case = Case::new();
    let dir = case.dir.path();
    let reference = case.every_command(&dir.join("clean.csv"));
    let frame = frame();
    // Integer and decimal columns are numbers too.
    let mut typed = frame.clone();
    let b = typed.column("b").unwrap().cast(&DataType::Int32).unwrap();
    let a = typed
        .column("a")
        .unwrap()
        .cast(&DataType::Decimal(10, 1))
        .unwrap();
    typed.with_column(b).unwrap();
    typed.with_column(a).unwrap();
    let folder = shards(dir, &frame);
    let forms = [
        (
            "Parquet",
            write_parquet(&dir.join("t.parquet"), frame.clone(), 7),
        ),
        ("Arrow IPC", write_ipc(&dir.join("t.arrow"), frame.clone())),
        (
            "ints and decimals",
            write_parquet(&dir.join("typed.parquet"), typed, 60),
        ),
        ("folder", folder.clone()),
        ("glob", folder.join("part-*.parquet")),
    ];
    // Test rows from a columnar file, as from a CSV.
    let held_out = |test: &Path| {
        let out = case.run(&[
            "train",
            "--streaming",
            "--data",
            path(&folder),
            "--test-data",
            path(test),
            "--target",
            "y",
            "--json",
        ]);
        succeeded(&out);
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let (parquet, csv) = (
        held_out(&dir.join("t.parquet")),
        held_out(&dir.join("clean.csv")),
    );
    assert_eq!(parquet["r2"], csv["r2"]);
    assert_eq!(parquet["test_rows"], csv["test_rows"]);
    // The SHA-256 a run records for a folder is that of its files one after the other, as
    // `locate` says too.
    let trained = case.run(&["train", "--data", path(&folder), "--target", "y"]);
    assert!(trained.status.success());
    let record: Value =
        serde_json::from_slice(&std::fs::read(dir.join("artifacts/run.json")).unwrap()).unwrap();
    let mut files: Vec<u8> = Vec::new();
    for k in 0..3 {
        files.extend(std::fs::read(folder.join(format!("part-{k}.parquet"))).unwrap());
    }
    let sha256 = dataset::sha256_hex(&files);
    assert_eq!(record["parameters"]["data"]["sha256"], sha256.as_str());
    let located = case.run(&["locate", "--data", path(&folder), "--json"]);
    let located: Value = serde_json::from_slice(&located.stdout).unwrap();
    assert_eq!(located["sha256"], sha256.as_str());
    for (label, file) in forms {
        let got = case.every_command(&file);
        for ((name, code, err, out), (_, _, _, want)) in got.iter().zip(&reference) {
            assert_eq!(*code, Some(0), "{label}: {name}: {err}");
            match *name {
                "train" | "train --streaming" => {
                    let (got, expected) = (coefficients(out), coefficients(want));
                    assert_eq!(got.len(), expected.len());
                    for (a, b) in got.iter().zip(&expected) {
                        assert_relative_eq!(*a, *b, max_relative = 1e-12);
                    }
                    let j = |t: &str| serde_json::from_str::<Value>(t).unwrap();
                    assert_eq!(j(out)["test_rows"], j(want)["test_rows"], "{label}: {name}");
                }
                "predict --input" => {
                    assert_eq!(predictions(out), predictions(want), "{label}");
                    assert_eq!(out.lines().next(), Some("a,b,y,prediction"));
                }
                _ => {}
            }
        }
    }
}

/// Bad columnar files: refused by every command with exit 1 and one identical line naming the
/// file, the row (from 1, in that file) and the column, and nothing written.
#[test]
fn bad_columnar_files_are_refused_alike_everywhere() {
    let case = Case::new();
    let dir = case.dir.path();
    let frame = frame();
    let with_b = |b: Column| {
        let mut f = frame.clone();
        f.with_column(b).unwrap();
        f
    };
    let mut b_null: Vec<Option<f64>> = frame.column("b").unwrap().f64().unwrap().iter().collect();
    b_null[5] = None;
    let mut b_nan: Vec<f64> = b_null.iter().map(|v| v.unwrap_or(0.0)).collect();
    b_nan[8] = f64::NAN;
    let b_text: Vec<String> = b_nan.iter().map(|v| format!("{v}")).collect();
    let null = write_parquet(
        &dir.join("null.parquet"),
        with_b(Column::new("b".into(), b_null.clone())),
        60,
    );
    let nan = write_parquet(
        &dir.join("nan.parquet"),
        with_b(Column::new("b".into(), b_nan)),
        60,
    );
    let string = write_parquet(
        &dir.join("string.parquet"),
        with_b(Column::new("b".into(), b_text)),
        60,
    );
    // A folder whose second file has b as integers.
    let mixed = dir.join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    write_parquet(&mixed.join("1.parquet"), frame.slice(0, 30), 60);
    let mut second = frame.slice(30, 30);
    let b = second.column("b").unwrap().cast(&DataType::Int64).unwrap();
    second.with_column(b).unwrap();
    write_parquet(&mixed.join("2.parquet"), second, 60);
    // A null in the second file of a folder is placed in that file.
    let late = dir.join("late");
    std::fs::create_dir_all(&late).unwrap();
    write_parquet(&late.join("1.parquet"), frame.slice(0, 30), 60);
    let mut b_late = b_null.clone();
    b_late[5] = Some(1.0);
    b_late[40] = None;
    let late_frame = with_b(Column::new("b".into(), b_late)).slice(30, 30);
    write_parquet(&late.join("2.parquet"), late_frame, 7);
    let whole =
        std::fs::read(write_parquet(&dir.join("whole.parquet"), frame.clone(), 60)).unwrap();
    let truncated = case.file("truncated.parquet", &whole[..whole.len() / 2]);
    let show = |p: &Path| path(p).to_owned();
    let cases: Vec<(&str, PathBuf, String)> = vec![
        (
            "null",
            null.clone(),
            format!("{}:6: column b: missing value", show(&null)),
        ),
        (
            "NaN",
            nan.clone(),
            format!("{}:9: column b: NaN is not finite", show(&nan)),
        ),
        (
            "string column",
            string.clone(),
            format!("{}:1: column b: \"0\" is not a number", show(&string)),
        ),
        (
            "types differ across files",
            mixed.clone(),
            format!(
                "{}: column b is Int64 here but Float64 in {}: the files of a table must agree",
                show(&mixed.join("2.parquet")),
                show(&mixed.join("1.parquet"))
            ),
        ),
        (
            "null in a later file",
            late.clone(),
            format!(
                "{}:11: column b: missing value",
                show(&late.join("2.parquet"))
            ),
        ),
        (
            "truncated file",
            truncated.clone(),
            format!(
                "{}: not a readable Parquet file (parquet: File out of specification: The file must end with PAR1)",
                show(&truncated)
            ),
        ),
    ];
    for (label, file, message) in cases {
        let want = format!("error: {message}\n");
        for (name, code, err, _) in case.every_command(&file) {
            assert_eq!(code, Some(1), "{label}: {name}: {err}");
            assert_eq!(err, want, "{label}: {name}");
        }
    }
    // A missing column: the target, refused by every command that trains or scores (prediction
    // needs no target); a feature, refused by prediction; in the words the CSV path uses.
    let no_y = write_parquet(&dir.join("no-y.parquet"), frame.drop("y").unwrap(), 60);
    for (name, code, err, _) in case.every_command(&no_y) {
        if name == "predict --input" {
            assert_eq!(code, Some(0), "{err}");
        } else {
            assert_eq!(
                err,
                format!("error: {}:1: missing column y\n", show(&no_y)),
                "{name}"
            );
        }
    }
    let no_b = write_parquet(&dir.join("no-b.parquet"), frame.drop("b").unwrap(), 60);
    let no_b_csv = case.file(
        "no-b.csv",
        text("a,y", &["1,2".to_owned()], "\n").as_bytes(),
    );
    let predict = |f: &Path| case.run(&["predict", "--input", path(f)]);
    let (parquet, csv) = (predict(&no_b), predict(&no_b_csv));
    assert_eq!(parquet.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&parquet.stderr).replace(path(&no_b), "F"),
        String::from_utf8_lossy(&csv.stderr).replace(path(&no_b_csv), "F")
    );
    // A refused input writes nothing.
    let out = dir.join("refused.parquet");
    let refused = case.run(&["predict", "--input", path(&null), "-o", path(&out)]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("refused"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// `predict -o out.parquet` writes the input's columns and `prediction`, which polars reads
/// back equal to the input and to the CSV output's predictions; a CSV input is written as
/// numbers. `convert` writes the same table in row groups of the size asked.
#[test]
fn predictions_round_trip_through_parquet() {
    let case = Case::new();
    let dir = case.dir.path();
    let frame = frame();
    let input = write_parquet(&dir.join("in.parquet"), frame.clone(), 16);
    let csv_predictions = predictions(&String::from_utf8_lossy(
        &case
            .run(&["predict", "--input", path(&dir.join("clean.csv"))])
            .stdout,
    ));
    for source in [input.clone(), dir.join("clean.csv")] {
        let out = dir.join("out.parquet");
        let run = case.run(&["predict", "--input", path(&source), "-o", path(&out)]);
        succeeded(&run);
        let back = ParquetReader::new(File::open(&out).unwrap())
            .finish()
            .unwrap();
        let names: Vec<&str> = back.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, ["a", "b", "y", "prediction"]);
        for name in ["a", "b", "y"] {
            assert!(
                back.column(name)
                    .unwrap()
                    .equals(frame.column(name).unwrap())
            );
        }
        let got: Vec<f64> = back
            .column("prediction")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(got, csv_predictions);
    }
    // With intervals, the four columns follow `prediction`, equal to the CSV output's.
    let out = dir.join("intervals.parquet");
    let args = ["predict", "--input", path(&input), "--interval", "0.9"];
    succeeded(&case.run(&[&args[..], &["-o", path(&out)]].concat()));
    let back = ParquetReader::new(File::open(&out).unwrap())
        .finish()
        .unwrap();
    let names: Vec<&str> = back.get_column_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "a",
            "b",
            "y",
            "prediction",
            "mean_ci_lower",
            "mean_ci_upper",
            "obs_ci_lower",
            "obs_ci_upper"
        ]
    );
    let text = String::from_utf8(case.run(&args).stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    assert_eq!(header, names);
    for (k, name) in names.iter().enumerate().skip(3) {
        let csv: Vec<f64> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(k).unwrap().parse().unwrap())
            .collect();
        let parquet: Vec<f64> = back
            .column(name)
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(parquet, csv, "{name}");
    }
    // A text column the model does not use goes through to CSV as written, quoted where it
    // must be; a null is an empty field.
    let mut noted = frame.clone();
    let notes: Vec<Option<&str>> = (0..60)
        .map(|i| match i {
            0 => Some("x, \"y\""),
            1 => None,
            _ => Some("z"),
        })
        .collect();
    noted
        .with_column(Column::new("note".into(), notes))
        .unwrap();
    let noted = write_parquet(&dir.join("noted.parquet"), noted, 60);
    let out = String::from_utf8(case.run(&["predict", "--input", path(&noted)]).stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "a,b,y,note,prediction");
    assert!(lines[1].contains(",\"x, \"\"y\"\"\","), "{}", lines[1]);
    assert!(lines[2].contains(",,"), "{}", lines[2]);
    assert_eq!(predictions(&out), csv_predictions);
    // Parquet cannot name a column twice: an input that has `prediction` already is refused.
    let mut twice = frame.clone();
    twice
        .with_column(Column::new("prediction".into(), vec![0.0; 60]))
        .unwrap();
    let twice = write_parquet(&dir.join("twice.parquet"), twice, 60);
    let out = dir.join("twice-out.parquet");
    let run = case.run(&["predict", "--input", path(&twice), "-o", path(&out)]);
    assert_eq!(
        String::from_utf8_lossy(&run.stderr),
        format!(
            "error: {}:1: the input has a column named prediction, which the output adds and a Parquet file cannot hold twice\n",
            path(&twice)
        )
    );
    assert!(!out.exists());
    let converted = dir.join("converted.parquet");
    let run = case.run(&[
        "convert",
        "--data",
        path(&dir.join("clean.csv")),
        "--target",
        "y",
        "-o",
        path(&converted),
        "--row-group-rows",
        "25",
    ]);
    succeeded(&run);
    let mut reader = ParquetReader::new(File::open(&converted).unwrap());
    let groups: Vec<usize> = reader
        .get_metadata()
        .unwrap()
        .row_groups
        .iter()
        .map(|g| g.num_rows())
        .collect();
    assert_eq!(groups, [25, 25, 10]);
    assert!(reader.finish().unwrap().equals(&frame));
}

/// pyarrow, a reader other than polars, reads what `predict` writes; and a California
/// Parquet file written by pyarrow trains to the CSV's coefficients.
#[test]
fn pyarrow_reads_our_parquet_and_we_read_pyarrows() {
    let case = Case::new();
    let dir = case.dir.path();
    let input = write_parquet(&dir.join("in.parquet"), frame(), 60);
    let out = dir.join("out.parquet");
    let run = case.run(&["predict", "--input", path(&input), "-o", path(&out)]);
    succeeded(&run);
    let california = dir.join("california.parquet");
    let script = "import sys, pandas as pd, pyarrow.parquet as pq\n\
        t = pq.read_table(sys.argv[1])\n\
        print(t.num_rows, ','.join(t.schema.names), repr(t.column('prediction')[0].as_py()))\n\
        pd.read_csv(sys.argv[2]).to_parquet(sys.argv[3], engine='pyarrow', row_group_size=4000)\n";
    let py = std::process::Command::new(crate::support::python())
        .args(["-c", script, path(&out)])
        .arg(crate::support::data_path())
        .arg(&california)
        .output()
        .unwrap();
    succeeded(&py);
    let first = predictions(&String::from_utf8_lossy(
        &case
            .run(&["predict", "--input", path(&dir.join("clean.csv"))])
            .stdout,
    ))[0];
    assert_eq!(
        String::from_utf8(py.stdout).unwrap(),
        format!("60 a,b,y,prediction {first:?}\n")
    );
    let data = crate::support::data_path();
    let train = |data: &Path| {
        let out = case.run(&["train", "--data", path(data), "--json"]);
        succeeded(&out);
        coefficients(&String::from_utf8(out.stdout).unwrap())
    };
    let (ours, csv) = (train(&california), train(&data));
    for ((a, b), sk) in ours.iter().zip(&csv).zip(crate::support::SKLEARN_COEF) {
        assert_relative_eq!(*a, *b, max_relative = 1e-12);
        assert_relative_eq!(*a, sk, max_relative = 1e-9);
    }
}

/// A table of many row groups, each read in several slices on worker threads: the fit equals
/// the CSV's, and a bad cell deep in it is named at its own row.
#[test]
fn a_large_table_is_read_in_order_across_groups_and_batches() {
    let case = Case::new();
    let dir = case.dir.path();
    let n = 300_000;
    let (mut a, mut b, mut y) = (Vec::new(), Vec::new(), Vec::new());
    let mut csv = String::from("a,b,y\n");
    for i in 0..n {
        let (x1, x2) = ((i % 1000) as f64 * 0.25, ((i * 7) % 11) as f64);
        let target = 2.0 * x1 - x2 + 1.0 + ((i * 37) % 13) as f64 * 0.01;
        csv.push_str(&format!("{x1},{x2},{target}\n"));
        a.push(x1);
        b.push(x2);
        y.push(target);
    }
    let frame = DataFrame::new_infer_height(vec![
        Column::new("a".into(), a),
        Column::new("b".into(), b.clone()),
        Column::new("y".into(), y),
    ])
    .unwrap();
    let csv = case.file("large.csv", csv.as_bytes());
    let parquet = write_parquet(&dir.join("large.parquet"), frame.clone(), 70_000);
    let fit = |data: &Path, extra: &[&str]| {
        let mut args = vec!["train", "--data", path(data), "--target", "y", "--json"];
        args.extend_from_slice(extra);
        let out = case.run(&args);
        succeeded(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    for extra in [&[][..], &["--streaming", "--split", "hash"]] {
        let (got, want) = (fit(&parquet, extra), fit(&csv, extra));
        for (g, w) in coefficients(&got).iter().zip(coefficients(&want)) {
            assert_relative_eq!(*g, w, max_relative = 1e-12);
        }
    }
    let mut b_bad: Vec<Option<f64>> = b.into_iter().map(Some).collect();
    b_bad[250_000] = None;
    let mut bad = frame;
    bad.with_column(Column::new("b".into(), b_bad)).unwrap();
    let bad = write_parquet(&dir.join("bad-large.parquet"), bad, 70_000);
    let want = format!("error: {}:250001: column b: missing value\n", path(&bad));
    for (name, code, err, _) in case.every_command(&bad) {
        assert_eq!(code, Some(1), "{name}: {err}");
        assert_eq!(err, want, "{name}");
    }
}
