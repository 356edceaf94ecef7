//! The scoring service: a loaded model, its routes, and what every request needs.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use linreg::Predictor;
use pipeline::{RunRecord, Which};

use crate::body::{self, Decoded};
use crate::csv::from_csv;
use crate::drift::{Window, this_minute};
use crate::error::ApiError;
use crate::metrics::{self, Metrics};
use crate::rows::{DriftRows, predict};

/// Where the served model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A model file, taken as it is.
    File(PathBuf),
    /// An artifacts folder: the model its record names, as `cali-reg predict` loads it.
    Artifacts(PathBuf, Which),
}

impl ModelSource {
    /// The model file's place.
    pub fn path(&self) -> PathBuf {
        match self {
            Self::File(path) => path.clone(),
            Self::Artifacts(dir, which) => dir.join(which.file_name()),
        }
    }

    /// The model, and the file and SHA-256 it was read from.
    pub fn load(&self) -> pipeline::Result<pipeline::Loaded> {
        match self {
            Self::File(path) => pipeline::artifacts::load_any(path),
            Self::Artifacts(dir, which) => {
                pipeline::load_predictor(dir, &RunRecord::open_or_empty(dir)?, *which)
            }
        }
    }
}

/// How requests are taken.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Largest request body in bytes; larger ones are answered 413.
    pub max_body: usize,
    /// Time a client has to send a request's body; later, the answer is 408.
    pub body_timeout: Duration,
    /// Where each request's log line goes (`None`: nowhere).
    pub log: Option<fn(std::fmt::Arguments<'_>)>,
    /// Minutes of predicted rows the drift window holds (`/metrics`' drift gauges, `GET
    /// /drift`); 0: none, drift is not watched.
    pub drift_minutes: u64,
}

/// The budget of request bodies held at once, in KiB: reading and decoding a body takes its
/// size from it, so many large requests wait rather than exhaust memory.
const BODY_BUDGET_KIB: usize = 48 << 10;

/// A loaded model and what every request needs.
pub struct App {
    /// The model served; [`reload`](Self::reload) swaps in the file read again, between
    /// requests.
    predictor: RwLock<Arc<Predictor>>,
    source: ModelSource,
    options: Options,
    bodies: tokio::sync::Semaphore,
    metrics: Metrics,
    /// The rows predicted in the last minutes, when the model carries training distributions.
    drift: Arc<Mutex<Option<Window>>>,
}

/// The model after a reload: its kind and the SHA-256 of its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// `float` or `quantised`.
    pub kind: &'static str,
    /// The SHA-256 of the file.
    pub sha256: String,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("source", &self.source)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Load the model of `source`.
    pub fn new(source: ModelSource, options: Options) -> pipeline::Result<Arc<Self>> {
        let loaded = source.load()?;
        let drift = Arc::new(Mutex::new(Window::new(
            &loaded.predictor,
            options.drift_minutes,
        )));
        Ok(Arc::new(Self {
            metrics: Metrics::new(loaded.predictor.kind(), &loaded.sha256, drift.clone()),
            drift,
            predictor: RwLock::new(Arc::new(loaded.predictor)),
            source,
            options,
            bodies: tokio::sync::Semaphore::new(BODY_BUDGET_KIB),
        }))
    }

    /// The model to answer a request with (one request, one model, whatever reloads happen).
    pub fn current(&self) -> Arc<Predictor> {
        match self.predictor.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Where the model comes from.
    pub fn source(&self) -> &ModelSource {
        &self.source
    }

    /// Read the model again: a good file replaces the model between requests (those in flight
    /// finish with the old one); a bad one is refused, and the model served stays.
    pub fn reload(&self) -> pipeline::Result<Reloaded> {
        let pipeline::Loaded {
            predictor, sha256, ..
        } = self.source.load()?;
        let kind = predictor.kind();
        self.metrics.set_model(kind, &sha256);
        // A new model, new bins: the window starts again.
        *lock(&self.drift) = Window::new(&predictor, self.options.drift_minutes);
        if let Ok(mut current) = self.predictor.write() {
            *current = Arc::new(predictor);
        }
        Ok(Reloaded { kind, sha256 })
    }
}

/// The routes of MLflow's scoring protocol and ours, for `app`'s model: mount them in a server
/// of your own, or serve them with [`crate::connections::serve`].
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/ping", get(ping))
        .route("/health", get(ping))
        .route("/version", get(version))
        .route("/metadata", get(metadata))
        .route("/metrics", get(metrics))
        .route("/drift", get(drift))
        .route("/invocations", post(invocations))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(app.clone(), log))
        .with_state(app)
}

async fn log(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let (method, path, start) = (
        req.method().clone(),
        req.uri().path().to_owned(),
        Instant::now(),
    );
    let response = next.run(req).await;
    let seconds = start.elapsed().as_secs_f64();
    app.metrics
        .request(&path, response.status().as_u16(), seconds);
    if let Some(log) = app.options.log {
        log(format_args!(
            "{method} {path} {} {:.3} ms",
            response.status().as_u16(),
            seconds * 1e3
        ));
    }
    response
}

async fn ping() -> &'static str {
    "ok\n"
}

/// The version as text, as MLflow's `/version` answers its own.
async fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The server's metrics, for Prometheus.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        app.metrics.encode(),
    )
        .into_response()
}

/// The drift window, whatever a panicking holder left in it (counts, still consistent).
fn lock(window: &Mutex<Option<Window>>) -> std::sync::MutexGuard<'_, Option<Window>> {
    window
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `GET /drift`: what `cali-reg drift --json` says of the rows predicted in the window.
async fn drift(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let model = app.source.path().display().to_string();
    let mut window = lock(&app.drift);
    let Some(window) = window.as_mut() else {
        let why = match app.current().model() {
            _ if app.options.drift_minutes == 0 => {
                String::from("drift is not watched: the server was started with --drift-window 0")
            }
            linreg::AnyModel::Float(m) => m
                .require_distributions()
                .err()
                .map_or_else(String::new, |e| e.to_string()),
            linreg::AnyModel::Quantized(_) => String::from(
                "a quantised model carries no training distributions: they come from the float model it was quantised from, which was not found beside it",
            ),
        };
        return Err(ApiError::NoDrift(why));
    };
    let span = window.span();
    match window.report(this_minute(), model) {
        None => Err(ApiError::NoDrift(format!(
            "no rows were predicted in the last {span} minute(s)"
        ))),
        Some(report) => {
            let report = report.map_err(|e| ApiError::NoDrift(e.to_string()))?;
            let body =
                serde_json::to_string(&report).map_err(|e| ApiError::BadRequest(e.to_string()))?;
            Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
        }
    }
}

/// What `/metadata` answers: the server, the model's kind and features.
#[derive(serde::Serialize)]
struct Metadata {
    name: &'static str,
    version: &'static str,
    model: &'static str,
    features: Vec<String>,
}

/// What is being served, for people and tools.
async fn metadata(State(app): State<Arc<App>>) -> Response {
    let current = app.current();
    let body = Metadata {
        name: "cali-reg",
        version: env!("CARGO_PKG_VERSION"),
        model: current.kind(),
        features: current.recipe().feature_names(),
    };
    let text = serde_json::to_string(&body).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::MethodNotAllowed {
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
    }
}

async fn invocations(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let max_body = app.options.max_body;
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // An announced body over the limit is refused unread: a client that sent
    // `Expect: 100-continue` (curl does above 1 MiB) never sends it.
    if length.is_some_and(|n| n > max_body) {
        return Err(ApiError::TooLarge { limit: max_body });
    }
    // A body of unknown length may be as large as the limit.
    let announced = length.unwrap_or(max_body);
    let kib = u32::try_from(announced.div_ceil(1024).clamp(1, BODY_BUDGET_KIB)).unwrap_or(1);
    let _budget = app
        .bodies
        .acquire_many(kib)
        .await
        .map_err(|_| ApiError::BadRequest(String::from("the server is stopping")))?;
    let timeout = app.options.body_timeout;
    let bytes: Bytes = tokio::time::timeout(timeout, axum::body::to_bytes(body, max_body))
        .await
        .map_err(|_| ApiError::Timeout {
            seconds: timeout.as_secs_f64(),
        })?
        .map_err(|e| body_error(&e, max_body))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let table = match mime.as_str() {
        "application/json" => from_json(&bytes)?,
        "text/csv" => from_csv(&bytes)?,
        other => return Err(ApiError::UnsupportedMediaType(other.to_owned())),
    };
    let predictor = app.current();
    let bands = match interval_param(table.params.as_ref())? {
        Some(level) => Some(
            predictor
                .bands(level)
                .map_err(|e| ApiError::InvalidParameter(e.to_string()))?,
        ),
        None => None,
    };
    let watched = predictor
        .distributions()
        .filter(|_| app.options.drift_minutes > 0);
    let predicted = predict(&predictor, &table, bands.as_ref(), watched)?;
    app.metrics
        .rows(predicted.predictions.len() as u64, predicted.rows_outside);
    match &predicted.drift {
        DriftRows::None => {}
        DriftRows::Rows(rows) => {
            if let Some(window) = lock(&app.drift).as_mut() {
                window.push(this_minute(), rows);
            }
        }
        DriftRows::Tallied(tallies) => {
            if let Some(window) = lock(&app.drift).as_mut() {
                window.merge(this_minute(), tallies);
            }
        }
    }
    let body = match &predicted.intervals {
        None => serde_json::to_string(&Answer {
            predictions: &predicted.predictions,
            warnings: &predicted.warnings,
        }),
        Some(intervals) => serde_json::to_string(&Answer {
            predictions: &Records {
                predictions: &predicted.predictions,
                intervals,
            },
            warnings: &predicted.warnings,
        }),
    }
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The level of MLflow's `params: {"interval": 0.95}`, if sent; any other parameter is refused,
/// so that a misspelt one is not ignored.
fn interval_param(params: Option<&serde_json::Value>) -> Result<Option<f64>, ApiError> {
    let Some(params) = params else {
        return Ok(None);
    };
    let Some(params) = params.as_object() else {
        return Err(ApiError::BadRequest(String::from(
            "params must be an object, such as {\"interval\": 0.95}",
        )));
    };
    if let Some(other) = params.keys().find(|k| *k != "interval") {
        return Err(ApiError::InvalidParameter(format!(
            "params: unknown parameter {other:?}; this model takes \"interval\" (a level such as 0.95)"
        )));
    }
    match params.get("interval") {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| {
            ApiError::InvalidParameter(format!(
                "params.interval must be a number between 0 and 1, not {v}"
            ))
        }),
    }
}

/// The answer to `/invocations`, written straight from the predictions (no JSON tree): a list
/// of numbers, or with intervals a list of records (MLflow's form of a table of predictions).
#[derive(serde::Serialize)]
struct Answer<'a, P: serde::Serialize + ?Sized> {
    predictions: &'a P,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

/// Predictions with their intervals, serialised as `[{"prediction": …, "mean_ci_lower": …,
/// …}, …]`.
struct Records<'a> {
    predictions: &'a [f64],
    intervals: &'a [[f64; 4]],
}

impl serde::Serialize for Records<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};

        struct Row<'r>(f64, &'r [f64; 4]);
        impl serde::Serialize for Row<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(5))?;
                map.serialize_entry("prediction", &self.0)?;
                for (name, v) in linreg::INTERVAL_COLUMNS.iter().zip(self.1) {
                    map.serialize_entry(name, v)?;
                }
                map.end()
            }
        }
        let mut seq = s.serialize_seq(Some(self.predictions.len()))?;
        for (p, i) in self.predictions.iter().zip(self.intervals) {
            seq.serialize_element(&Row(*p, i))?;
        }
        seq.end()
    }
}

/// Only a body over the limit is 413; a body that cannot be read (a bad chunk, a connection
/// closed early, conflicting lengths) is 400 and says why.
fn body_error(e: &axum::Error, max_body: usize) -> ApiError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return ApiError::TooLarge { limit: max_body };
        }
        cause = c.source();
    }
    ApiError::BadRequest(format!("cannot read the request body: {e}"))
}

fn from_json(bytes: &[u8]) -> Result<Decoded, ApiError> {
    body::decode(bytes).map_err(|problem| match problem {
        body::Problem::Malformed(message) | body::Problem::Schema(message) => {
            ApiError::BadRequest(message)
        }
    })
}
