//! `cargo xtask bench`: the reader's throughput on synthetic tables
//! (parse only, streaming and in-memory train, streaming predict) with wall time, CPU time and
//! peak memory, and California's start-up cost beside the Python original's steps.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::gen_data::{gen_data, gen_parquet};
use crate::project_root;

/// What GNU time says of one run.
struct Measured {
    wall: f64,
    cpu: f64,
    mib: f64,
}

/// Wall seconds, CPU seconds (user + system) and peak resident memory of one command, by GNU time.
fn measure(label: &str, cmd: &mut Command) -> anyhow::Result<Measured> {
    let report = std::env::temp_dir().join(format!("cali-reg-bench-{}.time", std::process::id()));
    let mut timed = Command::new("/usr/bin/time");
    timed
        .arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(&report)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    // Warnings (predictions outside the training ranges) would break the table.
    let status = timed
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("cannot run /usr/bin/time (Debian package `time`)")?;
    if !status.success() {
        bail!("{label} failed ({status}); run it by hand to see why: {cmd:?}");
    }
    let text = std::fs::read_to_string(&report)?;
    let numbers: Vec<f64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("unexpected GNU time output {text:?}"))?;
    let [wall, user, system, kib] = numbers[..] else {
        bail!("unexpected GNU time output {text:?}");
    };
    Ok(Measured {
        wall,
        cpu: user + system,
        mib: kib / 1024.0,
    })
}

/// Median wall time (ms) of `runs` runs of a command, its output discarded; `cmd` prepares
/// each run (untimed) and returns the command.
fn median_ms(runs: usize, mut cmd: impl FnMut() -> anyhow::Result<Command>) -> anyhow::Result<f64> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut c = cmd()?;
        let start = std::time::Instant::now();
        let status = c.stdout(Stdio::null()).stderr(Stdio::null()).status()?;
        let elapsed = start.elapsed().as_secs_f64() * 1e3;
        if !status.success() {
            bail!("{:?} failed ({status})", c.get_program());
        }
        times.push(elapsed);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[runs / 2])
}

/// California's three steps as separate processes (the data from `CALI_REG_DATA` or the cache,
/// as `cali-reg` finds it), and with `--compare-python` the original's three steps beside them.
fn california(bin: &Path, root: &Path, python: Option<&Path>, dir: &Path) -> anyhow::Result<()> {
    let artifacts = dir.join("artifacts-california");
    let ours = |step: &'static str| {
        let artifacts = artifacts.clone();
        move || {
            let mut c = Command::new(bin);
            c.arg(step).arg("--artifacts").arg(&artifacts);
            Ok(c)
        }
    };
    // One run of each first: the later ones find the model and record they need.
    median_ms(1, ours("train"))?;
    median_ms(1, ours("quantize"))?;
    println!();
    println!("| California (20,640 rows) | median wall, ms (21 runs) |");
    println!("|---|--:|");
    // Training as the first run on a file: no record, so the file is hashed.
    let train = ours("train");
    let mut total = median_ms(21, || {
        remove_record(&artifacts)?;
        train()
    })?;
    println!("| `cali-reg train` (no record: the file is hashed) | {total:.1} |");
    let again = median_ms(21, ours("train"))?;
    println!("| `cali-reg train` again (file unchanged: SHA-256 from the record) | {again:.1} |");
    for step in ["quantize", "predict"] {
        let ms = median_ms(21, ours(step))?;
        total += ms;
        println!("| `cali-reg {step}` | {ms:.1} |");
    }
    println!("| the three, one after another (train hashing) | {total:.1} |");
    let Some(py) = python else {
        return Ok(());
    };
    let data = dataset_path()?;
    let (model, quant) = (dir.join("model.joblib"), dir.join("quant.joblib"));
    let script = |name: &str| root.join("docs/compare").join(name);
    let mut python_total = 0.0;
    let steps: [(&str, Vec<PathBuf>); 3] = [
        ("train_equivalent.py", vec![data.clone(), model.clone()]),
        ("quantize_equivalent.py", vec![model.clone(), quant]),
        ("predict_equivalent.py", vec![data, model]),
    ];
    for (name, args) in steps {
        let ms = median_ms(5, || {
            let mut c = Command::new(py);
            c.arg(script(name)).args(&args);
            Ok(c)
        })?;
        python_total += ms;
        println!("| Python original, `{name}` (median of 5) | {ms:.0} |");
    }
    println!("| Python original, the three | {python_total:.0} |");
    println!(
        "| ratio, Python ÷ ours | {:.0}× |",
        python_total / total.max(1e-9)
    );
    Ok(())
}

/// The data file the Python scripts read: `CALI_REG_DATA`, which they cannot find themselves.
fn dataset_path() -> anyhow::Result<PathBuf> {
    std::env::var_os("CALI_REG_DATA")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .context("--compare-python needs CALI_REG_DATA naming cal_housing.csv")
}

const PYTHON_FIT: &str = "import sys, pandas as pd\n\
from sklearn.linear_model import LinearRegression\n\
path = sys.argv[1]\n\
df = pd.read_parquet(path) if path.endswith('.parquet') else pd.read_csv(path)\n\
LinearRegression().fit(df.drop(columns='y'), df['y'])\n";

/// `cargo xtask bench`'s options.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// Row counts of the synthetic tables, comma-separated
    #[arg(long, value_delimiter = ',', default_values_t = [1_000_000_u64, 10_000_000])]
    rows: Vec<u64>,
    /// Where the tables and artifacts go (default: $TMPDIR/cali-reg-bench)
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Also measure pandas + scikit-learn, and the original's three steps (a venv under target/)
    #[arg(long)]
    compare_python: bool,
}

pub fn bench(options: &Options) -> anyhow::Result<()> {
    let root = project_root();
    let dir = options
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("cali-reg-bench"));
    std::fs::create_dir_all(&dir)?;
    let bin = crate::pipeline::build_binary(&root, crate::pipeline::Build::Full)?;
    let python = if options.compare_python {
        Some(crate::venv::ensure(&root, "bench-venv", "bench.txt")?)
    } else {
        None
    };
    let script = dir.join("fit.py");
    std::fs::write(&script, PYTHON_FIT)?;

    println!(
        "| rows | step (the run of median wall time of {RUNS}) | wall s | CPU s | rows/s | peak RSS (MiB) |"
    );
    println!("|--:|---|--:|--:|--:|--:|");
    for &rows in &options.rows {
        let file = dir.join(format!("synthetic-{rows}x8.csv"));
        if !file.exists() {
            eprintln!("generating {}", file.display());
            gen_data(rows, 8, 1, &file)?;
        }
        let artifacts = dir.join(format!("artifacts-{rows}"));
        let python_step = python.as_ref().map(|py| {
            let mut c = Command::new(py);
            c.arg(&script).arg(&file);
            c
        });
        print_rows(
            rows,
            &artifacts,
            steps(&bin, &file, &artifacts, python_step)?,
        )?;
        let parquet = dir.join(format!("synthetic-{rows}x8.parquet"));
        if !parquet.exists() {
            eprintln!("generating {}", parquet.display());
            gen_parquet(&bin, rows, 8, 1, &parquet)?;
        }
        let python_step = python.as_ref().map(|py| {
            let mut c = Command::new(py);
            c.arg(&script).arg(&parquet);
            c
        });
        print_rows(
            rows,
            &artifacts,
            parquet_steps(&bin, (&parquet, rows), &artifacts, python_step),
        )?;
    }
    california(&bin, &root, python.as_deref(), &dir)?;
    Ok(())
}

/// Whether a step runs with the artifacts' record removed first: a training run then hashes its
/// data, as the first run on a file does; one that finds the file unchanged since the record
/// was written takes the SHA-256 from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    Removed,
    Kept,
}

/// A step of the table: its label, its record, its command.
type Step = (&'static str, Record, Command);

/// Runs of each step of the table; the row shows the one of median wall time. A single run
/// was at the mercy of what ran before it: the first step after the 10⁶-row group measured
/// 1.0–1.2 s once and 0.60–0.64 s in interleaved runs.
const RUNS: usize = 3;

/// Measure each step and print its row of the table; every step after the first also as a
/// multiple of the first one's wall time.
fn print_rows(rows: u64, artifacts: &Path, steps: Vec<Step>) -> anyhow::Result<()> {
    let mut first = None;
    for (label, record, mut cmd) in steps {
        let mut runs = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            if record == Record::Removed {
                remove_record(artifacts)?;
            }
            runs.push(measure(label, &mut cmd)?);
        }
        runs.sort_by(|a, b| a.wall.total_cmp(&b.wall));
        let m = &runs[RUNS / 2];
        let ratio = match first {
            None => {
                first = Some(m.wall);
                String::new()
            }
            Some(f) => format!(" ({:.2}× the first)", m.wall / f),
        };
        println!(
            "| {rows} | {label} | {:.2}{ratio} | {:.2} | {:.1} M | {:.0} |",
            m.wall,
            m.cpu,
            rows as f64 / m.wall / 1e6,
            m.mib
        );
    }
    Ok(())
}

/// Remove `artifacts/run.json`, if there is one.
fn remove_record(artifacts: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(artifacts.join("run.json")) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// `cali-reg SUBCOMMAND…` on a synthetic table (target `y`), quiet, into `artifacts`.
fn on_file<'a>(
    bin: &'a Path,
    file: &'a Path,
    artifacts: &'a Path,
) -> impl Fn(&[&str]) -> Command + 'a {
    move |sub| {
        let mut c = Command::new(bin);
        c.args(sub)
            .arg("--data")
            .arg(file)
            .args(["--target", "y", "--quiet", "--artifacts"])
            .arg(artifacts);
        c
    }
}

/// The commands measured on one synthetic Parquet file (16 row groups): streaming train first,
/// in-memory train (up to 2·10⁶ rows), both hashing the file, streaming predict into Parquet,
/// and the Python side (pandas `read_parquet` + scikit-learn) if given.
fn parquet_steps(
    bin: &Path,
    (file, rows): (&Path, u64),
    artifacts: &Path,
    python: Option<Command>,
) -> Vec<Step> {
    let base = on_file(bin, file, artifacts);
    let mut steps: Vec<Step> = vec![(
        "Parquet: streaming train",
        Record::Removed,
        base(&["train", "--streaming", "--split", "hash"]),
    )];
    if rows <= 2_000_000 {
        steps.push((
            "Parquet: in-memory train",
            Record::Removed,
            base(&["train"]),
        ));
    }
    let mut predict = Command::new(bin);
    predict
        .args(["predict", "--input"])
        .arg(file)
        .arg("-o")
        .arg(artifacts.join("predictions.parquet"))
        .arg("--artifacts")
        .arg(artifacts);
    steps.push((
        "Parquet: streaming predict → Parquet",
        Record::Kept,
        predict,
    ));
    if let Some(c) = python {
        steps.push(("pandas read_parquet + scikit-learn fit", Record::Kept, c));
    }
    steps
}

/// The commands measured on one synthetic file, the reader's floor first: scan, streaming
/// train (hashing the file, then again with the hash from the record), in-memory train
/// (hashing; files up to the streaming threshold), streaming predict, and the Python side if
/// given.
fn steps(
    bin: &Path,
    file: &Path,
    artifacts: &Path,
    python: Option<Command>,
) -> anyhow::Result<Vec<Step>> {
    let base = on_file(bin, file, artifacts);
    let streaming = || base(&["train", "--streaming", "--split", "hash"]);
    let mut steps: Vec<Step> = vec![
        ("parse only (reader floor)", Record::Kept, base(&["scan"])),
        ("streaming train", Record::Removed, streaming()),
        (
            "streaming train again (file unchanged: SHA-256 from the record)",
            Record::Kept,
            streaming(),
        ),
    ];
    if std::fs::metadata(file)?.len() <= 256 << 20 {
        steps.push(("in-memory train", Record::Removed, base(&["train"])));
    }
    let mut predict = Command::new(bin);
    predict
        .args(["predict", "--input"])
        .arg(file)
        .arg("--artifacts")
        .arg(artifacts);
    steps.push(("streaming predict", Record::Kept, predict));
    if let Some(c) = python {
        steps.push(("pandas read_csv + scikit-learn fit", Record::Kept, c));
    }
    Ok(steps)
}
