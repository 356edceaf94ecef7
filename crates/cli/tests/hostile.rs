//! Inputs and surroundings a hostile user picks: full disks, closed pipes, odd paths, endless
//! files, out-of-range arguments. Nothing panics; each gets one line and the documented exit code.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::{Run, data_path};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A run refused with exit code 1 and this one line on stderr.
fn refused_with(out: &Output, want: &str) {
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(out), want);
}

/// Raw census rows, many of them: more output than a pipe holds.
fn many_rows(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(data_path()).unwrap();
    let file = dir.join("many.csv");
    let mut out = text.clone();
    for _ in 0..4 {
        out.push_str(text.split_once('\n').unwrap().1);
    }
    std::fs::write(&file, out).unwrap();
    file
}

#[test]
fn a_full_disk_on_standard_output_is_one_line_and_exit_1() {
    let s = Run::new().trained();
    let model = s.artifacts().join("linear_model.msgpack");
    let cases: [&[&str]; 5] = [
        &["inspect", path(&model)],
        &["train"],
        &["quantize"],
        &["predict", "--summary"],
        &["evaluate", "--json"],
    ];
    for args in cases {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = s.cmd(args).stdout(Stdio::from(full)).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            "error: cannot write to standard output: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let s = Run::new().trained();
    let input = many_rows(s.dir.path());
    let mut child = s
        .cmd(&["predict", "--input", path(&input)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, as `head -1` does, then close the pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0_u8; 64];
    std::io::Read::read(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[test]
fn paths_that_are_not_utf8_are_printed_lossily() {
    let s = Run::new().trained();
    let odd = s
        .dir
        .path()
        .join(OsString::from_vec(b"bad\xffdir".to_vec()));
    let out = Command::new(env!("CARGO_BIN_EXE_cali-reg"))
        .args(["train", "--json", "--artifacts"])
        .arg(&odd)
        .env("CALI_REG_DATA", data_path())
        .env("CALI_REG_DATA_URL", "http://127.0.0.1:9/none")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        j["model"].as_str().unwrap().contains("bad\u{fffd}dir"),
        "{j}"
    );
    assert!(odd.join("run.json").is_file(), "the record is written too");
    for step in ["quantize", "report"] {
        let out = Command::new(env!("CARGO_BIN_EXE_cali-reg"))
            .args([step, "--json", "--artifacts"])
            .arg(&odd)
            .env("CALI_REG_DATA", data_path())
            .env("CALI_REG_DATA_URL", "http://127.0.0.1:9/none")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{step}: {}", stderr(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("bad\u{fffd}dir"),
            "{step}"
        );
    }
}

#[test]
fn endless_inputs_are_bounded() {
    let s = Run::new().trained();
    let out = s.run(&["inspect", "/dev/zero"]);
    refused_with(
        &out,
        "error: /dev/zero: larger than 64 MiB, not a cali-reg file\n",
    );
    let out = s.run(&["predict", "--input", "/dev/zero"]);
    refused_with(&out, "error: /dev/zero:1: line longer than 1 MiB\n");
}

#[test]
fn data_paths_that_are_not_files_say_what_they_are() {
    let s = Run::new().trained();
    let dir = s.dir.path().join("folder");
    std::fs::create_dir(&dir).unwrap();
    let out = s.run(&["train", "--data", path(&dir)]);
    refused_with(
        &out,
        &format!(
            "error: {} is a directory holding no .parquet files\n",
            path(&dir)
        ),
    );
    let out = s.run(&["train", "--data", "/dev/null"]);
    refused_with(&out, "error: /dev/null is not a regular file\n");
}

#[test]
fn one_check_of_seeds_and_column_names_for_every_mode() {
    let s = Run::new().trained();
    let in_memory = s.run(&["train", "--seed", "4294967296"]);
    let streaming = s.run(&[
        "train",
        "--streaming",
        "--split",
        "hash",
        "--seed",
        "4294967296",
    ]);
    for out in [&in_memory, &streaming] {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
        assert_eq!(
            stderr(out),
            "error: seed 4294967296 is out of range: numpy's RandomState takes 0 to 4294967295\n"
        );
    }
    let table = s.dir.path().join("t.csv");
    std::fs::write(&table, "a,b,y\n1,2,3\n2,1,4\n3,3,3\n4,0,9\n5,5,1\n").unwrap();
    for features in ["", "a,,b"] {
        let out = s.run(&[
            "train",
            "--data",
            path(&table),
            "--target",
            "y",
            "--features",
            features,
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(
            stderr(&out),
            "error: a column name given for the target or the features is empty\n"
        );
    }
}

#[test]
fn outputs_that_are_devices_fifos_or_links_are_written_not_replaced() {
    use std::os::unix::fs::FileTypeExt;

    let s = Run::new().trained();
    let rows = s.dir.path().join("rows.csv");
    let text = std::fs::read_to_string(data_path()).unwrap();
    let head: Vec<&str> = text.lines().take(4).collect();
    std::fs::write(&rows, head.join("\n") + "\n").unwrap();

    // A device: written in place, its error named, and it stays a device.
    let out = s.run(&["predict", "--input", path(&rows), "-o", "/dev/full"]);
    refused_with(
        &out,
        "error: cannot write /dev/full: No space left on device (os error 28)\n",
    );
    assert!(
        std::fs::metadata("/dev/full")
            .unwrap()
            .file_type()
            .is_char_device()
    );

    // A FIFO: written in place, read whole by its reader.
    let fifo = s.dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let out = s.run(&["predict", "--input", path(&rows), "-o", path(&fifo)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(reader.join().unwrap().lines().count(), 4);
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());

    // A link: the file it names is replaced, the link stays a link.
    let real = s.dir.path().join("real.csv");
    let link = s.dir.path().join("link.csv");
    std::fs::write(&real, "old\n").unwrap();
    std::os::unix::fs::symlink("real.csv", &link).unwrap();
    let out = s.run(&["predict", "--input", path(&rows), "-o", path(&link)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(&real).unwrap().lines().count(), 4);
}

#[test]
fn temporary_files_of_killed_runs_are_removed_by_the_next() {
    let s = Run::new().trained();
    // No process has this id (Linux pids stop at 2^22); the test's own process is alive.
    let stale = s.artifacts().join(".cali-reg-tmp-999999999-abc123");
    let alive = s
        .artifacts()
        .join(format!(".cali-reg-tmp-{}-def456", std::process::id()));
    std::fs::write(&stale, "half a model").unwrap();
    std::fs::write(&alive, "being written").unwrap();
    let out = s.run(&["train"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stale.exists(), "a dead run's leftover is removed");
    assert!(alive.exists(), "a running process's file is left alone");
    let leftovers: Vec<String> = std::fs::read_dir(s.artifacts())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".cali-reg-tmp-") && !n.ends_with("def456"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_overflowing_feature_is_refused_at_its_line_in_every_mode() {
    let s = Run::new().trained();
    let text = std::fs::read_to_string(data_path()).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // total_rooms = 1e308: AveRooms = 1e308 / households, whose square overflows.
    let mut cells: Vec<String> = lines[3].split(',').map(String::from).collect();
    cells[3] = String::from("1e308");
    lines[3] = cells.join(",");
    let data = s.dir.path().join("huge.csv");
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let stats = s.dir.path().join("huge.stats");
    let want = format!(
        "error: {}:4: AveRooms is {:e}, beyond ±1e100: its square would overflow the statistics\n",
        path(&data),
        1e308 / cells[6].parse::<f64>().unwrap()
    );
    let runs: [&[&str]; 3] = [
        &["train", "--data", path(&data)],
        &[
            "train",
            "--streaming",
            "--split",
            "hash",
            "--data",
            path(&data),
        ],
        &["stats", "--data", path(&data), "-o", path(&stats)],
    ];
    for args in runs {
        let out = s.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), want, "{args:?}");
    }
    assert!(!stats.exists());
}

#[test]
fn a_model_that_disagrees_with_the_record_is_refused() {
    let s = Run::new().trained();
    let record = s.artifacts().join("run.json");
    let seed_42 = std::fs::read(&record).unwrap();
    // A run killed after renaming its model and before writing its record leaves this pair.
    let out = s.run(&["train", "--seed", "7"]);
    assert!(out.status.success());
    std::fs::write(&record, &seed_42).unwrap();
    let out = s.run(&["predict"]);
    refused_with(
        &out,
        &format!(
            "error: {} does not match {} (a run was interrupted, or two ran at once): run `cali-reg train` and `cali-reg quantize` again\n",
            path(&s.artifacts().join("linear_model.msgpack")),
            path(&record)
        ),
    );
    // A new training run makes the quantised model stale until it is quantised again.
    assert!(s.run(&["train"]).status.success());
    let out = s.run(&["predict", "--quantized"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).ends_with("was made before the last training run: run `cali-reg quantize`\n"),
        "{}",
        stderr(&out)
    );
    assert!(s.run(&["quantize"]).status.success());
    assert!(s.run(&["predict", "--quantized"]).status.success());
}

#[test]
fn training_and_quantising_at_once_never_leave_a_stale_pair_unmarked() {
    let s = Run::new().trained();
    for seed in 0..8 {
        let seed = seed.to_string();
        let quiet = |args: &[&str]| {
            s.cmd(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let mut train = quiet(&["train", "--seed", &seed]);
        let mut quantize = quiet(&["quantize"]);
        assert!(train.wait().unwrap().success());
        assert!(quantize.wait().unwrap().success());
        // Either the record vouches for a quantised model made from the float model on disk,
        // or it does not list one (quantize ran first), and predict --quantized says so.
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(s.artifacts().join("run.json")).unwrap())
                .unwrap();
        let float: linreg::Model = linreg::envelope::decode(
            &std::fs::read(s.artifacts().join("linear_model.msgpack")).unwrap(),
        )
        .unwrap();
        let quant: linreg::QuantizedModel = linreg::envelope::decode(
            &std::fs::read(s.artifacts().join("quant_model.msgpack")).unwrap(),
        )
        .unwrap();
        let listed = record["artifacts"].get("quant_model.msgpack").is_some();
        let from_float = linreg::QuantizedModel::quantize(&float).unwrap() == quant;
        assert!(
            !listed || from_float,
            "seed {seed}: the record vouches for a stale model"
        );
        let out = s.run(&["predict", "--quantized"]);
        assert_eq!(
            out.status.success(),
            listed,
            "seed {seed}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_second_writer_waits_for_the_first_and_says_so() {
    let s = Run::new().trained();
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(s.artifacts().join(".lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut train = s
        .cmd(&["train"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert!(
        train.try_wait().unwrap().is_none(),
        "train went ahead while the folder was locked"
    );
    lock.unlock().unwrap();
    let out = train.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        stderr(&out),
        format!(
            "waiting for another cali-reg command working in {}\n",
            path(&s.artifacts())
        )
    );
}

#[test]
fn more_endless_or_odd_inputs() {
    let s = Run::new().trained();
    // A model file that never ends.
    let out = s.run(&["serve", "--model", "/dev/zero", "--port", "0"]);
    refused_with(
        &out,
        "error: /dev/zero: larger than 64 MiB, not a cali-reg file\n",
    );
    // A test file whose path is not UTF-8: reported lossily, the record written.
    let odd_dir = s
        .dir
        .path()
        .join(OsString::from_vec(b"bad\xffdir".to_vec()));
    std::fs::create_dir(&odd_dir).unwrap();
    let held = odd_dir.join("held.csv");
    let text = std::fs::read_to_string(data_path()).unwrap();
    let head: Vec<&str> = text.lines().take(200).collect();
    std::fs::write(&held, head.join("\n") + "\n").unwrap();
    let out = s
        .cmd(&["train", "--streaming"])
        .arg("--test-data")
        .arg(&held)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let record = std::fs::read_to_string(s.artifacts().join("run.json")).unwrap();
    assert!(record.contains("bad\u{fffd}dir"), "{record}");
    // A row whose derived feature overflows is refused by predict too, naming its line.
    let mut cells: Vec<String> = text
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .map(String::from)
        .collect();
    cells[6] = String::from("1e-320");
    let rows = s.dir.path().join("rows.csv");
    std::fs::write(
        &rows,
        format!("{}\n{}\n", text.lines().next().unwrap(), cells.join(",")),
    )
    .unwrap();
    let out = s.run(&["predict", "--input", path(&rows)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with(&format!("error: {}:2: AveRooms is inf", path(&rows))),
        "{}",
        stderr(&out)
    );
}

/// A record that is not one: garbage, a hash that is not a hash, an endless device. Training
/// starts afresh past any of them (it reads the record only to reuse a hash); a command that
/// needs the record refuses it in one line instead of reading without end.
#[test]
fn a_record_that_is_not_one_is_replaced_or_refused() {
    let s = Run::new().trained();
    let record = s.artifacts().join("run.json");
    let data_sha256 = dataset::sha256_hex(&std::fs::read(data_path()).unwrap());
    let recorded = || -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap()
    };
    std::fs::write(&record, b"{not json").unwrap();
    assert!(s.run(&["train"]).status.success());
    assert_eq!(
        recorded()["parameters"]["data"]["sha256"],
        data_sha256.as_str()
    );
    // A 64-character "hash" that is not hexadecimal is not believed, whatever the stamp says.
    let mut forged = recorded();
    forged["parameters"]["data"]["sha256"] = serde_json::Value::from("z".repeat(64));
    std::fs::write(&record, serde_json::to_vec(&forged).unwrap()).unwrap();
    assert!(s.run(&["train"]).status.success());
    assert_eq!(
        recorded()["parameters"]["data"]["sha256"],
        data_sha256.as_str()
    );
    // An endless file in its place.
    std::fs::remove_file(&record).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &record).unwrap();
    let out = s.run(&["evaluate"]);
    refused_with(
        &out,
        &format!(
            "error: {}: larger than 16 MiB, not a record of this tool (delete it to start afresh)\n",
            path(&record)
        ),
    );
}

/// A wide header: 90,000 columns fit under the 1 MiB line limit in a 600 KB file, and their
/// statistics would take 130 GB. More features than the fit takes are refused in one line by
/// every command that would fit them, before anything is allocated for them; the most it takes
/// pass that check.
#[test]
fn a_header_wider_than_the_fit_takes_is_refused_at_once() {
    let s = Run::new();
    let table = |name: &str, columns: usize, rows: usize| {
        let file = s.dir.path().join(name);
        let mut text: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
        text.push(String::from("y"));
        let mut out = text.join(",") + "\n";
        for r in 0..rows {
            let row: Vec<String> = (0..=columns)
                .map(|i| ((i * 7 + r) % 10).to_string())
                .collect();
            out += &(row.join(",") + "\n");
        }
        std::fs::write(&file, out).unwrap();
        file
    };
    for (columns, name) in [(90_000, "wide.csv"), (1_001, "just-too-wide.csv")] {
        let file = table(name, columns, 3);
        let want = format!(
            "error: {}: {columns} feature columns are more than the 1000 cali-reg fits (its statistics grow with the square of their number); name fewer with --features\n",
            path(&file)
        );
        let data = ["--data", path(&file), "--target", "y"];
        let stats_file = s.dir.path().join("wide.stats");
        let runs: [Vec<&str>; 3] = [
            [&["train"][..], &data].concat(),
            [&["train", "--streaming", "--split", "hash"][..], &data].concat(),
            [&["stats"][..], &data, &["-o", path(&stats_file)]].concat(),
        ];
        for args in runs {
            refused_with(&s.run(&args), &want);
        }
        assert!(!stats_file.exists());
    }
    // As many features as the fit takes: past the check, refused only for want of rows.
    let file = table("widest.csv", 1_000, 3);
    let out = s.run(&["train", "--data", path(&file), "--target", "y"]);
    refused_with(&out, "error: 2 rows are too few to fit 1001 parameters\n");
    // A column named twice among 90,000 is still found.
    let mut names: Vec<String> = (0..90_000).map(|i| format!("c{i}")).collect();
    names.push(String::from("c12345"));
    let file = s.dir.path().join("twice.csv");
    std::fs::write(&file, names.join(",") + "\n").unwrap();
    let out = s.run(&["train", "--data", path(&file), "--target", "c0"]);
    refused_with(
        &out,
        &format!(
            "error: {}:1: column c12345 appears twice in the header\n",
            path(&file)
        ),
    );
}
