//! `train --mlflow`, then `quantize` and `report`, against a real MLflow tracking server on
//! loopback (`mlflow server --backend-store-uri sqlite:/// --serve-artifacts`), read back with
//! MLflow's own client; the bad cases (a refused connection, a 5xx, a timeout, a wrong token)
//! against MLflow's basic-auth server and small servers of our own; and credentials, which
//! must show in no output.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Run, data_path};

/// A Python with MLflow (and its basic-auth app): `CALI_REG_MLFLOW_PYTHON`, which
/// `cargo xtask test` sets after building `target/venv-conformance`. Fails, never skips.
fn mlflow_python() -> PathBuf {
    crate::support::python_of("CALI_REG_MLFLOW_PYTHON", "MLflow", "conformance.txt")
}

/// A free port on loopback.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real `mlflow server` on loopback, in a folder of its own, without MLflow's job runner
/// (whose workers outlive the server); stopped when dropped (the server stops its `uvicorn`).
struct MlflowServer {
    child: Child,
    uri: String,
    _dir: tempfile::TempDir,
}

impl MlflowServer {
    /// `auth`: the basic-auth app, its admin's password.
    fn start(auth: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut cmd = Command::new(mlflow_python());
        cmd.args([
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--workers",
            "1",
        ])
        .args(["--port", &port.to_string()])
        .arg("--backend-store-uri")
        .arg(format!(
            "sqlite:///{}",
            dir.path().join("mlflow.db").display()
        ))
        .arg("--serve-artifacts")
        .arg("--artifacts-destination")
        .arg(dir.path().join("artifacts"))
        .current_dir(dir.path())
        .env("MLFLOW_FLASK_SERVER_SECRET_KEY", "cali-reg-test")
        .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap());
        if let Some(password) = auth {
            cmd.args(["--app-name", "basic-auth"])
                .env("MLFLOW_AUTH_ADMIN_PASSWORD", password);
        }
        let child = cmd.spawn().unwrap();
        let mut server = Self {
            child,
            uri: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        server.wait_healthy(port);
        server
    }

    fn wait_healthy(&mut self, port: u16) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(120) {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(self._dir.path().join("server.log"));
                panic!(
                    "mlflow server exited ({status}): {}",
                    log.unwrap_or_default()
                );
            }
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = stream.write_all(b"GET /health HTTP/1.0\r\n\r\n");
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                if answer.contains("OK") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("mlflow server on port {port} not healthy within 120 s");
    }
}

impl Drop for MlflowServer {
    fn drop(&mut self) {
        // SIGTERM, so that the server stops its `uvicorn` child (SIGKILL would orphan it).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Run MLflow's client in Python on `script` (with `sys.argv[1:]` = `args`); its stdout as
/// JSON.
fn mlflow_client(uri: &str, env: &[(&str, &str)], script: &str, args: &[&str]) -> Value {
    let mut cmd = Command::new(mlflow_python());
    cmd.arg("-c")
        .arg(script)
        .args(args)
        .env("MLFLOW_TRACKING_URI", uri)
        .env("PYTHONWARNINGS", "ignore");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The run as `MlflowClient().get_run` and `list_artifacts` show it.
const GET_RUN: &str = r#"
import json, sys
from mlflow.tracking import MlflowClient
c = MlflowClient()
r = c.get_run(sys.argv[1])
def walk(path=None):
    for f in c.list_artifacts(r.info.run_id, path):
        yield from walk(f.path) if f.is_dir else [f.path]
print(json.dumps({"params": r.data.params, "metrics": r.data.metrics, "tags": r.data.tags,
                  "status": r.info.status, "experiment_id": r.info.experiment_id,
                  "artifacts": sorted(walk())}))
"#;

/// The predictions of `runs:/<id>/<path>` for every row of a CSV.
const LOAD_MODEL: &str = r#"
import json, sys
import mlflow, pandas as pd
model = mlflow.pyfunc.load_model(f"runs:/{sys.argv[1]}/{sys.argv[2]}")
out = model.predict(pd.read_csv(sys.argv[3]))
print(json.dumps([float(v) for v in out.to_numpy().ravel()]))
"#;

/// Our predictions of every row of the data set.
fn ours(run: &Run, quantized: bool) -> Vec<f64> {
    let data = data_path();
    let mut args = vec!["predict", "--input", data.to_str().unwrap()];
    if quantized {
        args.push("--quantized");
    }
    let out = run.json(&args);
    crate::support::floats(&out["predictions"])
}

fn largest_difference(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// A command's output, with `env` added to the test's usual environment.
fn output(run: &Run, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = run.cmd(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_run_logged_to_a_real_mlflow_server_holds_params_metrics_artifacts_and_a_loadable_model() {
    // This server checks no credentials: the token goes along, and must show nowhere.
    const TOKEN: &str = "tok-5e0c2b71-known";
    let server = MlflowServer::start(None);
    let run = Run::new();
    let env = [
        ("MLFLOW_EXPERIMENT_NAME", "cali-reg tests"),
        ("MLFLOW_TRACKING_TOKEN", TOKEN),
    ];
    let out = output(&run, &["train", "--json", "--mlflow", &server.uri], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let trained: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run_id = trained["mlflow"]["run_id"].as_str().unwrap().to_owned();
    assert_eq!(trained["mlflow"]["server"], server.uri.as_str());
    // Later steps find the run in run.json, whatever the environment says now.
    let later = [("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")];
    let quantized = output(&run, &["quantize", "--json"], &later);
    assert!(quantized.status.success(), "{}", text(&quantized.stderr));
    let quantized: Value = serde_json::from_slice(&quantized.stdout).unwrap();
    assert_eq!(quantized["mlflow"]["run_id"], run_id.as_str());
    let report = output(&run, &["report", "--json"], &env);
    assert!(report.status.success(), "{}", text(&report.stderr));
    assert!(!everything(&run, &out).contains(TOKEN));
    assert!(!everything(&run, &report).contains(TOKEN));
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["mlflow"]["run_id"], run_id.as_str());
    let record: Value =
        serde_json::from_slice(&std::fs::read(run.artifacts().join("run.json")).unwrap()).unwrap();
    assert_eq!(record["tracking"]["run_id"], run_id.as_str());
    assert_eq!(record["tracking"]["server"], server.uri.as_str());

    let got = mlflow_client(&server.uri, &[], GET_RUN, &[&run_id]);
    assert_eq!(got["status"], "FINISHED");
    assert!(!got.to_string().contains(TOKEN), "{got}");
    let experiment = got["experiment_id"].as_str().unwrap();
    assert_eq!(trained["mlflow"]["experiment_id"], experiment);
    assert_ne!(
        experiment, "0",
        "MLFLOW_EXPERIMENT_NAME names a new experiment"
    );
    let params = &got["params"];
    let sha256 = dataset::sha256_hex(&std::fs::read(data_path()).unwrap());
    for (key, value) in [
        ("seed", "42"),
        ("test_size", "0.2"),
        ("target", "MedHouseVal"),
        ("fit_intercept", "true"),
        ("weight", "none"),
        ("data_sha256", sha256.as_str()),
        ("data", data_path().to_str().unwrap()),
        (
            "features",
            "MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude",
        ),
    ] {
        assert_eq!(params[key], value, "param {key}");
    }
    let metrics = &got["metrics"];
    // scikit-learn's figures on the seed split, and ours as train printed them.
    for (key, sklearn) in [
        ("r2", 0.5757877060324512),
        ("rmse", 0.7455813830127764),
        ("mae", 0.5332001304956566),
    ] {
        let logged = metrics[key].as_f64().unwrap();
        assert_eq!(logged, trained[key].as_f64().unwrap(), "{key}");
        assert!(
            (logged - sklearn).abs() < 1e-12,
            "{key}: {logged} vs {sklearn}"
        );
    }
    assert_eq!(metrics["train_rows"], 16512.0);
    assert_eq!(metrics["test_rows"], 4128.0);
    // The bound is an f32: MLflow keeps its value as a double.
    let bound = quantized["max_deviation_bound"].as_f64().unwrap() as f32;
    assert_eq!(
        metrics["quantized_max_deviation_bound"].as_f64().unwrap(),
        f64::from(bound)
    );
    let quantized_r2 = report["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "quantized")
        .map(|m| m["r2"].as_f64().unwrap())
        .unwrap();
    assert_eq!(metrics["quantized_r2"].as_f64().unwrap(), quantized_r2);
    let tags = &got["tags"];
    assert_eq!(tags["cali_reg.version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(tags["mlflow.source.name"], "cali-reg train");
    assert_eq!(tags["mlflow.source.type"], "LOCAL");
    let artifacts: Vec<&str> = got["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for expected in [
        "linear_model.msgpack",
        "quant_model.msgpack",
        "run.json",
        "report.md",
        "predictions.svg",
        "model/MLmodel",
        "model/model.onnx",
        "model/requirements.txt",
        "quantized_model/MLmodel",
        "quantized_model/model.onnx",
    ] {
        assert!(
            artifacts.contains(&expected),
            "{expected} not in {artifacts:?}"
        );
    }

    // `runs:/<id>/model` loads, takes the raw columns of the data set, and predicts ours.
    let data = data_path();
    for (path, quantized) in [("model", false), ("quantized_model", true)] {
        let theirs = mlflow_client(
            &server.uri,
            &[],
            LOAD_MODEL,
            &[&run_id, path, data.to_str().unwrap()],
        );
        let theirs = crate::support::floats(&theirs);
        let difference = largest_difference(&theirs, &ours(&run, quantized));
        assert!(difference <= 1e-12, "runs:/{run_id}/{path}: {difference}");
    }
}

/// The local run is whole after a failed logging: its record (naming no MLflow run) and model,
/// which predicts.
fn assert_local_run_intact(run: &Run) {
    let record = std::fs::read_to_string(run.artifacts().join("run.json")).unwrap();
    let record: Value = serde_json::from_str(&record).unwrap();
    assert!(record["tracking"].is_null(), "{record}");
    assert!(record["metrics"]["float"]["r2"].as_f64().unwrap() > 0.57);
    run.ok(&["predict", "--summary"]);
}

/// Every output of a run: its stdout and stderr, and every file of its folder (the history's
/// too).
fn everything(run: &Run, out: &Output) -> String {
    fn files(dir: &std::path::Path, all: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, all);
            } else {
                *all += &text(&std::fs::read(&path).unwrap());
            }
        }
    }
    let mut all = text(&out.stdout) + &text(&out.stderr);
    files(&run.artifacts(), &mut all);
    assert!(
        all.contains("\"trained_at\""),
        "the record is among the files read"
    );
    all
}

#[test]
fn credentials_show_nowhere_and_a_wrong_token_is_one_line_after_the_local_run() {
    const PASSWORD: &str = "pw-4b1d7c0e-known";
    const TOKEN: &str = "tok-9f3a61c2-known";
    let server = MlflowServer::start(Some(PASSWORD));

    // A wrong token: MLflow's basic-auth app answers 401.
    let run = Run::new();
    let out = output(
        &run,
        &["train", "--mlflow", &server.uri],
        &[("MLFLOW_TRACKING_TOKEN", TOKEN)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: MLflow server {}: ", server.uri)),
        "{stderr}"
    );
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(text(&out.stdout).contains("R²: 0.5758"));
    assert_local_run_intact(&run);
    assert!(!everything(&run, &out).contains(TOKEN));

    // The right user and password: logged, and the password is in nothing the run wrote or
    // logged (params and tags, read back with MLflow's client).
    let run = Run::new();
    let auth = [
        ("MLFLOW_TRACKING_USERNAME", "admin"),
        ("MLFLOW_TRACKING_PASSWORD", PASSWORD),
    ];
    let out = output(&run, &["train", "--json", "--mlflow", &server.uri], &auth);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let trained: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run_id = trained["mlflow"]["run_id"].as_str().unwrap();
    let got = mlflow_client(&server.uri, &auth, GET_RUN, &[run_id]);
    let logged = format!("{}{}", got["params"], got["tags"]);
    let quantize = output(&run, &["quantize"], &auth);
    assert!(quantize.status.success(), "{}", text(&quantize.stderr));
    for written in [everything(&run, &out), everything(&run, &quantize), logged] {
        assert!(!written.contains(PASSWORD));
    }

    // Credentials in the URI: refused before anything runs, without showing them.
    let run = Run::new();
    let with_password = server.uri.replace("://", &format!("://admin:{PASSWORD}@"));
    for (args, env) in [
        (vec!["train", "--mlflow", with_password.as_str()], vec![]),
        (
            vec!["train"],
            vec![("MLFLOW_TRACKING_URI", with_password.as_str())],
        ),
    ] {
        let out = output(&run, &args, &env);
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("MLFLOW_TRACKING_USERNAME"), "{stderr}");
        assert!(!stderr.contains(PASSWORD), "{stderr}");
        assert!(!run.artifacts().join("run.json").exists());
    }
}

/// What a server of our own does with each connection.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Answers this status and body.
    Answer(u16, &'static str),
    /// Redirects to the other server.
    Redirect(u16),
    /// Reads the request and never answers.
    Silent,
}

/// A server on loopback that records each request's head and behaves as told.
struct Fake {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&heads);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    head += &line;
                    line.clear();
                }
                seen.lock().unwrap().push(head);
                let mut stream = stream;
                let answer = match behaviour {
                    Behaviour::Answer(status, body) => format!(
                        "HTTP/1.1 {status} Oops\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    ),
                    Behaviour::Redirect(to) => format!(
                        "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{to}/api/2.0/mlflow/runs/create\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    ),
                    Behaviour::Silent => {
                        held.push(stream);
                        continue;
                    }
                };
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Self { port, heads }
    }

    fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

/// `train` against `uri`: exit 1, one line naming the server and `says`, the local run intact.
fn fails_after_the_local_run(uri: &str, env: &[(&str, &str)], says: &str) -> Output {
    let run = Run::new();
    let start = Instant::now();
    let out = output(&run, &["train", "--mlflow", uri], env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: MLflow server {uri}: ")),
        "{stderr}"
    );
    assert!(stderr.contains(says), "{says:?} not in {stderr}");
    assert!(start.elapsed() < Duration::from_secs(60), "{uri} hung");
    assert_local_run_intact(&run);
    out
}

#[test]
fn an_unreachable_server_a_5xx_a_timeout_and_a_redirect_are_one_line_each() {
    const TOKEN: &str = "tok-77aa01-known";
    let closed = format!("http://127.0.0.1:{}", free_port());
    fails_after_the_local_run(&closed, &[], "cannot connect");

    let broken = Fake::start(Behaviour::Answer(
        503,
        r#"{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "database is locked"}"#,
    ));
    let out = fails_after_the_local_run(
        &broken.uri(),
        &[("MLFLOW_TRACKING_TOKEN", TOKEN)],
        "HTTP 503",
    );
    assert!(text(&out.stderr).contains("database is locked"));
    // The token went in the header, as a bearer token, and nowhere in the output.
    let heads = broken.heads();
    assert!(
        heads[0].starts_with("POST /api/2.0/mlflow/runs/create "),
        "{heads:?}"
    );
    assert!(
        heads[0].contains(&format!("authorization: Bearer {TOKEN}"))
            || heads[0].contains(&format!("Authorization: Bearer {TOKEN}")),
        "{heads:?}"
    );
    assert!(!text(&out.stderr).contains(TOKEN));

    // An answer that echoes the token back is scrubbed of it.
    let echo = Fake::start(Behaviour::Answer(
        400,
        r#"{"error_code": "INVALID_PARAMETER_VALUE", "message": "bad token tok-77aa01-known"}"#,
    ));
    let out =
        fails_after_the_local_run(&echo.uri(), &[("MLFLOW_TRACKING_TOKEN", TOKEN)], "HTTP 400");
    assert!(!text(&out.stderr).contains(TOKEN), "{}", text(&out.stderr));

    let silent = Fake::start(Behaviour::Silent);
    fails_after_the_local_run(
        &silent.uri(),
        &[("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")],
        "no answer within 1 s",
    );

    // A redirect is not followed: the credentials stay with the server named.
    let elsewhere = Fake::start(Behaviour::Answer(200, "{}"));
    let redirecting = Fake::start(Behaviour::Redirect(elsewhere.port));
    fails_after_the_local_run(
        &redirecting.uri(),
        &[("MLFLOW_TRACKING_TOKEN", TOKEN)],
        "HTTP 307",
    );
    assert!(elsewhere.heads().is_empty());
}

#[test]
fn the_help_states_the_timeouts() {
    let out = Command::new(env!("CARGO_BIN_EXE_cali-reg"))
        .args(["train", "--help"])
        .output()
        .unwrap();
    let help = text(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let connect = pipeline::tracking::CONNECT_TIMEOUT.as_secs();
    let request = pipeline::tracking::REQUEST_TIMEOUT.as_secs();
    assert!(
        help.contains(&format!(
            "waits {connect} s for a connection and {request} s in all (MLFLOW_HTTP_REQUEST_TIMEOUT"
        )),
        "{help}"
    );
}
