//! Runs logged to an MLflow tracking server, through its REST API (no Python): `train` creates
//! the run (params, metrics, tags, the model file, `run.json`, and an MLflow model under
//! `model/`, so that `runs:/<id>/model` loads); `quantize` and `report` add theirs to the run
//! that `run.json` names. Artifacts go through the server's `mlflow-artifacts` proxy
//! (`mlflow server --serve-artifacts`).
//!
//! Where and how: `--mlflow URI` or `MLFLOW_TRACKING_URI`; `MLFLOW_EXPERIMENT_ID` or
//! `MLFLOW_EXPERIMENT_NAME` (created when missing); `MLFLOW_TRACKING_TOKEN` (a bearer token)
//! or `MLFLOW_TRACKING_USERNAME` and `MLFLOW_TRACKING_PASSWORD` (basic); and
//! `MLFLOW_HTTP_REQUEST_TIMEOUT`, as MLflow's own client reads them.
//!
//! Credentials go in the `Authorization` header of each request and nowhere else: a URI with
//! credentials in it is refused, redirects are not followed, and whatever the server answers is
//! scrubbed of them before it goes into an error.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};

use crate::artifacts::{self, PLOT, QUANTIZED, REPORT};
use crate::error::{Error, Result};
use crate::evaluate::Which;
use crate::export::Graph;
use crate::run_record::{self, DataRecord, RunRecord, Scores, TrackingRecord};

/// How long to wait for a connection to the server.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one request may take, unless `MLFLOW_HTTP_REQUEST_TIMEOUT` (seconds) says
/// otherwise (MLflow's own client waits 120 s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A server's answer is a few kilobytes; more is not read.
const MAX_ANSWER: u64 = 1 << 20;

/// MLflow refuses longer param values.
const MAX_PARAM: usize = 6000;

/// Where runs are logged, and with which credentials. Its `Debug` shows no credential.
pub struct Tracking {
    /// The server's URI, without a trailing slash.
    uri: String,
    credentials: Option<Credentials>,
    experiment: Experiment,
    timeout: Duration,
}

enum Credentials {
    Token(String),
    Basic { user: String, password: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Experiment {
    Id(String),
    Name(String),
}

impl std::fmt::Debug for Tracking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let credentials = match &self.credentials {
            None => "none",
            Some(Credentials::Token(_)) => "token",
            Some(Credentials::Basic { .. }) => "username and password",
        };
        f.debug_struct("Tracking")
            .field("uri", &self.uri)
            .field("credentials", &credentials)
            .field("experiment", &self.experiment)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Tracking {
    /// The server `train` logs to: `flag` is `--mlflow` (`Some(None)` when given without a
    /// URI), `env` reads an environment variable. `None`: neither the flag nor
    /// `MLFLOW_TRACKING_URI` asks for tracking.
    pub fn configure(
        flag: Option<Option<&str>>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>> {
        let from_env = env("MLFLOW_TRACKING_URI").filter(|uri| !uri.is_empty());
        let (uri, source) = match (flag, from_env) {
            (Some(Some(uri)), _) => (uri.to_owned(), "--mlflow"),
            (_, Some(uri)) => (uri, "MLFLOW_TRACKING_URI"),
            (Some(None), None) => {
                return Err(Error::TrackingSetup(String::from(
                    "--mlflow without a URI: pass --mlflow http://HOST:PORT or set MLFLOW_TRACKING_URI",
                )));
            }
            (None, None) => return Ok(None),
        };
        Self::at(&uri, source, env).map(Some)
    }

    /// The server at `uri` (named `source` in messages), with the credentials, experiment and
    /// timeout of the environment.
    fn at(uri: &str, source: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let setup = |message: String| Err(Error::TrackingSetup(message));
        let set = |name: &str| env(name).filter(|v| !v.is_empty());
        let rest = uri
            .strip_prefix("http://")
            .or_else(|| uri.strip_prefix("https://"));
        // The authority ends at the first '/', '?' or '#'; an '@' in it carries credentials.
        let authority = rest.unwrap_or(uri).split(['/', '?', '#']).next();
        if rest.is_some_and(|_| authority.is_some_and(|a| a.contains('@'))) {
            return setup(format!(
                "{source}: a tracking URI with credentials in it is refused (they would show in \
                 logs); set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and \
                 MLFLOW_TRACKING_PASSWORD, and give the URI without them"
            ));
        }
        let Some(rest) = rest.filter(|r| !r.is_empty() && !r.starts_with('/')) else {
            return setup(format!(
                "{source}: cali-reg logs to an MLflow tracking server at http://HOST[:PORT] or \
                 https://…, not {uri:?}"
            ));
        };
        if rest.contains(['?', '#']) {
            return setup(format!(
                "{source}: a tracking URI takes no query or fragment: {uri:?}"
            ));
        }
        let credentials = match (
            set("MLFLOW_TRACKING_TOKEN"),
            set("MLFLOW_TRACKING_USERNAME"),
            set("MLFLOW_TRACKING_PASSWORD"),
        ) {
            (Some(token), _, _) => Some(Credentials::Token(token)),
            (None, Some(user), Some(password)) => Some(Credentials::Basic { user, password }),
            (None, Some(_), None) => {
                return setup(String::from(
                    "MLFLOW_TRACKING_USERNAME is set without MLFLOW_TRACKING_PASSWORD",
                ));
            }
            (None, None, Some(_)) => {
                return setup(String::from(
                    "MLFLOW_TRACKING_PASSWORD is set without MLFLOW_TRACKING_USERNAME",
                ));
            }
            (None, None, None) => None,
        };
        let experiment = match (set("MLFLOW_EXPERIMENT_ID"), set("MLFLOW_EXPERIMENT_NAME")) {
            (Some(id), _) => Experiment::Id(id),
            (None, Some(name)) => Experiment::Name(name),
            (None, None) => Experiment::Id(String::from("0")),
        };
        let timeout = match set("MLFLOW_HTTP_REQUEST_TIMEOUT") {
            None => REQUEST_TIMEOUT,
            Some(text) => match text.trim().parse::<f64>() {
                Ok(seconds) if seconds > 0.0 && seconds <= 86_400.0 => {
                    Duration::from_secs_f64(seconds)
                }
                _ => {
                    return setup(format!(
                        "MLFLOW_HTTP_REQUEST_TIMEOUT={text:?}: not a number of seconds between 0 and 86400"
                    ));
                }
            },
        };
        Ok(Self {
            uri: uri.trim_end_matches('/').to_owned(),
            credentials,
            experiment,
            timeout,
        })
    }

    /// The server's URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }
}

/// What a command logged to MLflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Logged {
    /// The tracking server.
    pub server: String,
    /// The experiment.
    pub experiment_id: String,
    /// The run.
    pub run_id: String,
    /// The run's page in the server's UI.
    pub url: String,
    /// The params logged, by key.
    pub params: usize,
    /// The metrics logged, by key.
    pub metrics: Vec<String>,
    /// The artifacts uploaded, by path in the run.
    pub artifacts: Vec<String>,
}

impl std::fmt::Display for Logged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "✔ Logged to MLflow run {} ({} params, {} metrics, {} artifacts): {}",
            self.run_id,
            self.params,
            self.metrics.len(),
            self.artifacts.len(),
            self.url
        )
    }
}

/// A command's result and what it logged to MLflow (`null` when it logged nothing): its
/// `--json` keys are the result's and `mlflow`.
#[derive(Debug, Serialize)]
pub struct Tracked<'a, T> {
    /// The result.
    #[serde(flatten)]
    pub result: &'a T,
    /// What was logged.
    pub mlflow: Option<&'a Logged>,
}

impl<T: std::fmt::Display> std::fmt::Display for Tracked<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.result)?;
        match self.mlflow {
            Some(logged) => write!(f, "\n{logged}"),
            None => Ok(()),
        }
    }
}

/// A later step that adds to the run `run.json` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `quantize`: the quantised model, its error bound and sizes.
    Quantize,
    /// `report`: the quantised model's test metrics, `report.md` and `predictions.svg`.
    Report,
}

/// Log the training run committed in `dir` as a new MLflow run, and record the run in
/// `run.json`. The caller holds the folder's exclusive lock.
pub fn log_training(tracking: &Tracking, dir: &Path) -> Result<Logged> {
    let mut record = RunRecord::open_or_empty(dir)?;
    let client = Client::new(tracking);
    let experiment_id = client.experiment()?;
    let tags = tags("train", dir);
    let created = client.post(
        "runs/create",
        &json!({"experiment_id": experiment_id, "start_time": now_ms(), "tags": tags}),
    )?;
    let run_id = created["run"]["info"]["run_id"]
        .as_str()
        .ok_or_else(|| client.failure("runs/create: the answer names no run_id"))?
        .to_owned();
    let artifact_root = created["run"]["info"]["artifact_uri"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let logged = (|| {
        let run = Run {
            client: &client,
            id: &run_id,
            artifacts: proxy_path(&artifact_root).ok_or_else(|| {
                client.failure(&format!(
                    "the run's artifacts go to {artifact_root:?}, which cali-reg cannot upload to: \
                     start the server with --serve-artifacts, so that they go through its proxy"
                ))
            })?,
        };
        let params = params(&record);
        let metrics = training_metrics(&record);
        run.log_batch(&params, &metrics)?;
        let mut uploaded = Vec::new();
        let (model, _) = record.read_file(dir, crate::LINEAR)?;
        uploaded.push(run.upload(crate::LINEAR, &model)?);
        uploaded.extend(run.upload_model(&record, dir, Which::Float, "model")?);
        record.tracking = Some(TrackingRecord {
            server: tracking.uri.clone(),
            experiment_id: experiment_id.clone(),
            run_id: run_id.clone(),
        });
        record.save(dir)?;
        uploaded.push(run.upload_record(dir)?);
        client.post(
            "runs/update",
            &json!({"run_id": run_id, "status": "FINISHED", "end_time": now_ms()}),
        )?;
        Ok(logged(
            tracking,
            &experiment_id,
            &run_id,
            params.len(),
            &metrics,
            uploaded,
        ))
    })();
    if logged.is_err() {
        // Best effort: the run shows as failed rather than running for ever.
        let _ = client.post(
            "runs/update",
            &json!({"run_id": run_id, "status": "FAILED", "end_time": now_ms()}),
        );
    }
    logged
}

/// Add what `step` made to the MLflow run that `run.json` of `dir` names, if it names one;
/// the server is the recorded one, the credentials and timeout the environment's. The caller
/// holds the folder's exclusive lock.
pub fn log_step(
    dir: &Path,
    step: Step,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Logged>> {
    let record = RunRecord::open_or_empty(dir)?;
    let Some(recorded) = record.tracking.clone() else {
        return Ok(None);
    };
    let tracking = Tracking::at(&recorded.server, "run.json's MLflow server", env)?;
    let client = Client::new(&tracking);
    let answer = client.get("runs/get", &[("run_id", &recorded.run_id)])?;
    let artifact_root = answer
        .as_ref()
        .and_then(|a| a["run"]["info"]["artifact_uri"].as_str())
        .ok_or_else(|| {
            client.failure(&format!(
                "run {} (named in run.json) is not there",
                recorded.run_id
            ))
        })?;
    let run = Run {
        client: &client,
        id: &recorded.run_id,
        artifacts: proxy_path(artifact_root).ok_or_else(|| {
            client.failure(&format!(
                "the run's artifacts go to {artifact_root:?}, which cali-reg cannot upload to"
            ))
        })?,
    };
    let mut uploaded = Vec::new();
    let metrics = match step {
        Step::Quantize => {
            let quantized = record.load_quantized(dir)?;
            let (bytes, _) = record.read_file(dir, QUANTIZED)?;
            uploaded.push(run.upload(QUANTIZED, &bytes)?);
            uploaded.extend(run.upload_model(&record, dir, Which::Quantized, "quantized_model")?);
            vec![
                (
                    String::from("quantized_max_deviation_bound"),
                    f64::from(quantized.max_deviation_bound()),
                ),
                (
                    String::from("quantized_parameter_bytes"),
                    quantized.parameter_bytes() as f64,
                ),
                (String::from("quantized_file_bytes"), bytes.len() as f64),
            ]
        }
        Step::Report => {
            for name in [REPORT, PLOT] {
                let path = dir.join(name);
                if path.is_file() {
                    let bytes = artifacts::read_bounded(&path, "report file")?;
                    uploaded.push(run.upload(name, &bytes)?);
                }
            }
            report_metrics(&record)
        }
    };
    run.log_batch(&[], &metrics)?;
    uploaded.push(run.upload_record(dir)?);
    Ok(Some(logged(
        &tracking,
        &recorded.experiment_id,
        &recorded.run_id,
        0,
        &metrics,
        uploaded,
    )))
}

fn logged(
    tracking: &Tracking,
    experiment_id: &str,
    run_id: &str,
    params: usize,
    metrics: &[(String, f64)],
    artifacts: Vec<String>,
) -> Logged {
    Logged {
        server: tracking.uri.clone(),
        experiment_id: experiment_id.to_owned(),
        run_id: run_id.to_owned(),
        url: format!(
            "{}/#/experiments/{experiment_id}/runs/{run_id}",
            tracking.uri
        ),
        params,
        metrics: metrics.iter().map(|(key, _)| key.clone()).collect(),
        artifacts,
    }
}

/// The run's tags: the tool, its version and the command, as `mlflow.source.*`.
fn tags(command: &str, dir: &Path) -> Vec<Value> {
    let mut tags = vec![
        ("mlflow.source.name", format!("cali-reg {command}")),
        ("mlflow.source.type", String::from("LOCAL")),
        ("cali_reg.version", String::from(env!("CARGO_PKG_VERSION"))),
        (
            "cali_reg.artifacts",
            std::fs::canonicalize(dir)
                .unwrap_or_else(|_| dir.to_path_buf())
                .display()
                .to_string(),
        ),
    ];
    if let Some(user) = std::env::var("USER")
        .ok()
        .or_else(|| std::env::var("LOGNAME").ok())
    {
        tags.push(("mlflow.user", user));
    }
    tags.into_iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect()
}

/// What the training run read and fitted, as MLflow params (strings).
fn params(record: &RunRecord) -> Vec<(String, String)> {
    let p = &record.parameters;
    let mut params: Vec<(&str, String)> = Vec::new();
    if let Some(seed) = p.seed {
        params.push(("seed", seed.to_string()));
    }
    if let Some(test_size) = p.test_size {
        params.push(("test_size", test_size.to_string()));
    }
    params.push((
        "split",
        match &p.split {
            Some(split) => split.to_string(),
            None => String::from("permutation"),
        },
    ));
    params.push(("streaming", p.streaming.to_string()));
    match &p.data {
        Some(DataRecord::Table(table)) => {
            params.push(("data", table.file.clone()));
            params.push(("data_sha256", table.sha256.clone()));
            params.push(("data_rows", table.rows.to_string()));
        }
        Some(DataRecord::Statistics { statistics }) => {
            params.push(("statistics", statistics.join(", ")));
        }
        None => {}
    }
    if let Some(target) = &p.target {
        params.push(("target", target.clone()));
    }
    if let Some(features) = &p.features {
        params.push(("features", features.join(", ")));
        params.push(("feature_count", features.len().to_string()));
    }
    params.push(("fit_intercept", p.fit_intercept.to_string()));
    if let Some(alpha) = p.alpha {
        params.push(("alpha", alpha.to_string()));
    }
    params.push((
        "weight",
        p.weight.clone().unwrap_or_else(|| String::from("none")),
    ));
    params
        .into_iter()
        .map(|(key, value)| (key.to_owned(), clip(value)))
        .collect()
}

/// A param value as MLflow takes it: at most [`MAX_PARAM`] characters, cut with `…`.
fn clip(value: String) -> String {
    if value.chars().count() <= MAX_PARAM {
        return value;
    }
    let mut cut: String = value.chars().take(MAX_PARAM - 1).collect();
    cut.push('…');
    cut
}

/// The training run's test metrics and row counts.
fn training_metrics(record: &RunRecord) -> Vec<(String, f64)> {
    let mut metrics = scores("", record.metrics.float);
    let p = &record.parameters;
    metrics.push((String::from("train_rows"), p.train_rows as f64));
    metrics.push((String::from("test_rows"), p.test_rows as f64));
    metrics
}

/// The report's figures: the quantised model's and the original scheme's test metrics, the
/// largest deviation, and each model's sizes.
fn report_metrics(record: &RunRecord) -> Vec<(String, f64)> {
    let m = &record.metrics;
    let mut metrics = scores("quantized_", m.quantized);
    metrics.extend(scores("original_scheme_", m.original_scheme));
    if let Some(deviation) = m.max_abs_deviation_test {
        metrics.push((String::from("max_abs_deviation_test"), deviation));
    }
    for (model, sizes) in &record.sizes {
        for (what, bytes) in [
            ("file_bytes", sizes.file_bytes),
            ("payload_bytes", sizes.payload_bytes),
            ("parameter_bytes", sizes.parameter_bytes),
        ] {
            if let Some(bytes) = bytes {
                metrics.push((format!("{model}_{what}"), bytes as f64));
            }
        }
    }
    metrics
}

fn scores(prefix: &str, scores: Option<Scores>) -> Vec<(String, f64)> {
    let Some(scores) = scores else {
        return Vec::new();
    };
    [
        ("r2", scores.r2),
        ("rmse", scores.rmse),
        ("mae", scores.mae),
    ]
    .into_iter()
    .filter_map(|(key, value)| Some((format!("{prefix}{key}"), run_record::finite(value?)?)))
    .collect()
}

/// The path under the proxy's `/api/2.0/mlflow-artifacts/artifacts/` of a run whose artifact
/// URI is `mlflow-artifacts:/…` (or `mlflow-artifacts://host/…`); `None` for any other store.
fn proxy_path(artifact_uri: &str) -> Option<String> {
    let rest = artifact_uri.strip_prefix("mlflow-artifacts:")?;
    let path = match rest.strip_prefix("//") {
        Some(host_and_path) => host_and_path.split_once('/')?.1,
        None => rest.trim_start_matches('/'),
    };
    Some(path.trim_end_matches('/').to_owned())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A run being logged to.
struct Run<'a> {
    client: &'a Client<'a>,
    id: &'a str,
    /// Its artifact root under the proxy.
    artifacts: String,
}

impl Run<'_> {
    fn log_batch(&self, params: &[(String, String)], metrics: &[(String, f64)]) -> Result<()> {
        let timestamp = now_ms();
        let params: Vec<Value> = params
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect();
        let metrics: Vec<Value> = metrics
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value, "timestamp": timestamp, "step": 0}))
            .collect();
        self.client.post(
            "runs/log-batch",
            &json!({"run_id": self.id, "params": params, "metrics": metrics}),
        )?;
        Ok(())
    }

    /// Upload `bytes` as the run's artifact `path`; the path.
    fn upload(&self, path: &str, bytes: &[u8]) -> Result<String> {
        self.client
            .put_artifact(&format!("{}/{path}", self.artifacts), bytes)?;
        Ok(path.to_owned())
    }

    /// Upload the model `which` as an MLflow model folder (taking the raw columns) at `path`.
    fn upload_model(
        &self,
        record: &RunRecord,
        dir: &Path,
        which: Which,
        path: &str,
    ) -> Result<Vec<String>> {
        let graph = Graph::of(record, dir, which, true)?;
        crate::mlflow_model::files(
            &graph.bytes,
            &graph.columns,
            &graph.metadata,
            Some((self.id, path)),
        )
        .into_iter()
        .map(|(name, bytes)| self.upload(&format!("{path}/{name}"), &bytes))
        .collect()
    }

    /// Upload the folder's `run.json` as it is now.
    fn upload_record(&self, dir: &Path) -> Result<String> {
        let path = dir.join(run_record::FILE);
        let bytes = artifacts::read_bounded(&path, "run record")?;
        self.upload(run_record::FILE, &bytes)
    }
}

/// Requests to one server, with its credentials, timeouts and no redirects.
struct Client<'a> {
    tracking: &'a Tracking,
    agent: ureq::Agent,
    authorization: Option<String>,
}

impl<'a> Client<'a> {
    fn new(tracking: &'a Tracking) -> Self {
        use base64::Engine;

        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(tracking.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("cali-reg/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let authorization = tracking.credentials.as_ref().map(|c| match c {
            Credentials::Token(token) => format!("Bearer {token}"),
            Credentials::Basic { user, password } => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            ),
        });
        Self {
            tracking,
            agent,
            authorization,
        }
    }

    /// The error of a failed exchange with the server, scrubbed of the credentials.
    fn failure(&self, what: &str) -> Error {
        let mut what = what.to_owned();
        for secret in self.secrets() {
            what = what.replace(secret, "***");
        }
        Error::Tracking {
            server: self.tracking.uri.clone(),
            what,
        }
    }

    fn secrets(&self) -> Vec<&str> {
        let mut secrets: Vec<&str> = match &self.tracking.credentials {
            Some(Credentials::Token(token)) => vec![token],
            Some(Credentials::Basic { password, .. }) => vec![password],
            None => Vec::new(),
        };
        // The header's value, and its credentials part alone (base64 of `user:password`).
        if let Some(value) = &self.authorization {
            secrets.push(value);
            secrets.extend(value.split_once(' ').map(|(_, encoded)| encoded));
        }
        secrets.retain(|s| !s.is_empty());
        secrets
    }

    /// The experiment runs go to: the id given, or the one of the name given (created when
    /// missing).
    fn experiment(&self) -> Result<String> {
        match &self.tracking.experiment {
            Experiment::Id(id) => Ok(id.clone()),
            Experiment::Name(name) => {
                let found = self.get("experiments/get-by-name", &[("experiment_name", name)])?;
                let id = match found {
                    Some(answer) => answer["experiment"]["experiment_id"].clone(),
                    None => {
                        self.post("experiments/create", &json!({"name": name}))?["experiment_id"]
                            .clone()
                    }
                };
                id.as_str().map(str::to_owned).ok_or_else(|| {
                    self.failure(&format!("experiment {name:?}: the answer names no id"))
                })
            }
        }
    }

    fn post(&self, endpoint: &str, body: &Value) -> Result<Value> {
        let request = self
            .authorized(
                self.agent
                    .post(format!("{}/api/2.0/mlflow/{endpoint}", self.tracking.uri)),
            )
            .content_type("application/json");
        let answer = self.answer(endpoint, request.send(body.to_string().as_bytes()))?;
        answer.ok_or_else(|| self.failure(&format!("{endpoint}: not found (HTTP 404)")))
    }

    /// A GET; `None` when the server answers that the resource does not exist.
    fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Result<Option<Value>> {
        let mut request = self
            .agent
            .get(format!("{}/api/2.0/mlflow/{endpoint}", self.tracking.uri));
        for (key, value) in query {
            request = request.query(*key, *value);
        }
        self.answer(endpoint, self.authorized(request).call())
    }

    fn put_artifact(&self, path: &str, bytes: &[u8]) -> Result<()> {
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{path}",
            self.tracking.uri
        );
        let request = self
            .authorized(self.agent.put(url))
            .content_type("application/octet-stream");
        let what = format!("uploading {path}");
        self.answer(&what, request.send(bytes))?
            .map(|_| ())
            .ok_or_else(|| self.failure(&format!("{what}: not found (HTTP 404)")))
    }

    fn authorized<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.authorization {
            Some(value) => request.header("Authorization", value),
            None => request,
        }
    }

    /// The JSON of a 2xx answer (`null` for an empty body); `None` for a 404 that says the
    /// resource does not exist; anything else is an error naming the request.
    fn answer(
        &self,
        what: &str,
        sent: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Option<Value>> {
        let mut response =
            sent.map_err(|e| self.failure(&format!("{what}: {}", self.cause(&e))))?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| self.failure(&format!("{what}: {}", self.cause(&e))))?;
        let json: Option<Value> = serde_json::from_str(&body).ok();
        if status.is_success() {
            return Ok(Some(json.unwrap_or(Value::Null)));
        }
        let code = json.as_ref().and_then(|j| j["error_code"].as_str());
        if status.as_u16() == 404 && code == Some("RESOURCE_DOES_NOT_EXIST") {
            return Ok(None);
        }
        let message = json
            .as_ref()
            .and_then(|j| j["message"].as_str())
            .unwrap_or(&body);
        let mut message: String = message.split_whitespace().collect::<Vec<_>>().join(" ");
        if message.chars().count() > 200 {
            message = message.chars().take(199).collect::<String>() + "…";
        }
        let hint = match status.as_u16() {
            401 | 403 => {
                " (check MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"
            }
            300..=399 => " (redirects are not followed: give the URI the server answers at)",
            _ => "",
        };
        let reason = status.canonical_reason().unwrap_or("");
        Err(self.failure(&format!(
            "{what}: HTTP {} {reason}{}{message}{hint}",
            status.as_u16(),
            if message.is_empty() { "" } else { ": " },
        )))
    }

    /// Why a request failed, in words.
    fn cause(&self, e: &ureq::Error) -> String {
        match e {
            ureq::Error::Timeout(_) => format!(
                "no answer within {} s (MLFLOW_HTTP_REQUEST_TIMEOUT)",
                self.tracking.timeout.as_secs_f64()
            ),
            ureq::Error::HostNotFound => String::from("host not found"),
            ureq::Error::ConnectionFailed => String::from("cannot connect"),
            ureq::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    String::from("cannot connect (connection refused)")
                }
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof => {
                    String::from("the connection closed before an answer")
                }
                _ => format!("cannot connect or read ({io})"),
            },
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn configure(flag: Option<Option<&str>>, vars: &[(&str, &str)]) -> Result<Option<Tracking>> {
        Tracking::configure(flag, &env(vars))
    }

    #[test]
    fn the_flag_wins_over_the_variable_and_neither_means_no_tracking() {
        assert!(configure(None, &[]).unwrap().is_none());
        let t = configure(None, &[("MLFLOW_TRACKING_URI", "http://a:5000/")])
            .unwrap()
            .unwrap();
        assert_eq!(t.uri(), "http://a:5000");
        assert_eq!(t.experiment, Experiment::Id(String::from("0")));
        assert_eq!(t.timeout, REQUEST_TIMEOUT);
        let t = configure(
            Some(Some("https://b/mlflow")),
            &[
                ("MLFLOW_TRACKING_URI", "http://a:5000"),
                ("MLFLOW_EXPERIMENT_NAME", "e"),
                ("MLFLOW_HTTP_REQUEST_TIMEOUT", "2.5"),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.uri(), "https://b/mlflow");
        assert_eq!(t.experiment, Experiment::Name(String::from("e")));
        assert_eq!(t.timeout, Duration::from_millis(2500));
        let e = configure(Some(None), &[]).unwrap_err().to_string();
        assert!(e.contains("MLFLOW_TRACKING_URI"), "{e}");
    }

    #[test]
    fn credentials_in_the_uri_are_refused_without_showing_them() {
        for uri in [
            "http://user:hunter2@host:5000",
            "https://hunter2@host/x",
            "http://u:hunter2@h?x",
        ] {
            let e = configure(Some(Some(uri)), &[]).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{e}");
            assert!(
                e.contains("MLFLOW_TRACKING_USERNAME") && e.contains("MLFLOW_TRACKING_TOKEN"),
                "{e}"
            );
        }
        // An '@' in the path is no credential.
        assert!(configure(Some(Some("http://host/a@b")), &[]).is_ok());
    }

    #[test]
    fn other_schemes_queries_and_half_credentials_are_refused() {
        for (uri, vars, says) in [
            ("file:///tmp/mlruns", vec![], "http://HOST"),
            ("databricks", vec![], "http://HOST"),
            ("http://", vec![], "http://HOST"),
            ("http://h?token=1", vec![], "no query"),
            (
                "http://h",
                vec![("MLFLOW_TRACKING_USERNAME", "u")],
                "without MLFLOW_TRACKING_PASSWORD",
            ),
            (
                "http://h",
                vec![("MLFLOW_HTTP_REQUEST_TIMEOUT", "0")],
                "MLFLOW_HTTP_REQUEST_TIMEOUT",
            ),
            (
                "http://h",
                vec![("MLFLOW_HTTP_REQUEST_TIMEOUT", "soon")],
                "MLFLOW_HTTP_REQUEST_TIMEOUT",
            ),
        ] {
            let e = configure(Some(Some(uri)), &vars).unwrap_err().to_string();
            assert!(e.contains(says), "{uri}: {e}");
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn debug_shows_no_credential() {
        let t = configure(
            Some(Some("http://h")),
            &[
                ("MLFLOW_TRACKING_USERNAME", "u"),
                ("MLFLOW_TRACKING_PASSWORD", "hunter2"),
            ],
        )
        .unwrap()
        .unwrap();
        assert!(!format!("{t:?}").contains("hunter2"));
        let client = Client::new(&t);
        let e = client.failure("echo hunter2 and dTpodW50ZXIy").to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn artifact_uris_of_the_proxy_map_to_its_paths() {
        assert_eq!(
            proxy_path("mlflow-artifacts:/0/abc/artifacts").as_deref(),
            Some("0/abc/artifacts")
        );
        assert_eq!(
            proxy_path("mlflow-artifacts://host:5000/1/abc/artifacts/").as_deref(),
            Some("1/abc/artifacts")
        );
        assert_eq!(proxy_path("/tmp/mlruns/0/abc/artifacts"), None);
        assert_eq!(proxy_path("s3://bucket/0/abc"), None);
    }
}
