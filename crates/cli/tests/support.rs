//! Shared helpers.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The California CSV: `CALI_REG_DATA`, else the cache. Fails, never skips, when absent.
pub fn data_path() -> PathBuf {
    dataset::local_copy()
        .unwrap_or_else(|e| panic!("this test needs the California Housing data: {e}"))
}

/// A Python with the clients the tests check against (`prometheus_client`): `CALI_REG_PYTHON`,
/// which `cargo xtask test` sets after building `target/venv-test`. Fails, never skips, when
/// absent.
pub fn python() -> PathBuf {
    python_of("CALI_REG_PYTHON", "Python clients", "test.txt")
}

/// The Python the environment `variable` names (`cargo xtask test` sets it to a venv it built
/// from `xtask/python/{requirements}`); fails, never skips, naming `what` the test needs.
pub fn python_of(variable: &str, what: &str, requirements: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "this test needs {what}: run the tests with `cargo xtask test`, or set \
                 {variable} to a python that has the packages in xtask/python/{requirements}"
            )
        })
}

/// Run `script` with `args` in the test venv's Python; its standard output.
pub fn run_python(script: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(python())
        .args(["-c", script])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The JSON a successful process printed; its standard error in the failure otherwise.
pub fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Run `cmd` with `input` on its standard input; its output and status.
pub fn with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// scikit-learn's `LinearRegression` on the seed split (test size 0.2, seed 42).
pub const SKLEARN_COEF: [f64; 8] = [
    0.4486749096657172,
    0.00972425751790503,
    -0.12332334282795941,
    0.7831449067929727,
    -2.029620580093136e-06,
    -0.0035263184871341473,
    -0.4197924865883597,
    -0.43370806496398734,
];

/// Its intercept.
pub const SKLEARN_INTERCEPT: f64 = -37.02327770606391;

/// A JSON array of numbers.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// MLflow's variables that `train` reads.
pub const MLFLOW_VARIABLES: [&str; 7] = [
    "MLFLOW_TRACKING_URI",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
];

/// A scratch artifacts folder and a way to run the binary against it.
pub struct Run {
    pub dir: tempfile::TempDir,
}

impl Run {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn artifacts(&self) -> PathBuf {
        self.dir.path().join("artifacts")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cali-reg"));
        c.args(args)
            .arg("--artifacts")
            .arg(self.artifacts())
            .env("CALI_REG_DATA", data_path())
            // Never the user's cache, never a download.
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env("CALI_REG_DATA_URL", "http://127.0.0.1:9/none")
            .current_dir(self.dir.path());
        // Never the user's MLflow server: a test that logs names its own.
        for name in MLFLOW_VARIABLES {
            c.env_remove(name);
        }
        c
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// Run expecting failure: (exit code, stderr).
    pub fn fail(&self, args: &[&str]) -> (i32, String) {
        let out: Output = self.cmd(args).output().unwrap();
        assert!(
            !out.status.success(),
            "{args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    /// Run and return whatever happened.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    pub fn trained(self) -> Self {
        self.ok(&["train"]);
        self.ok(&["quantize"]);
        self
    }
}
