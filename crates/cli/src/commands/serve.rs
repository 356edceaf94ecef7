//! `cali-reg serve`: MLflow's scoring protocol over HTTP (axum on tokio).
//!
//! `GET /ping`, `GET /health`, `GET /version` (the version, as text), `GET /metadata` (the
//! model, as JSON), `POST /invocations` with MLflow's JSON inputs (`dataframe_split`,
//! `dataframe_records`, `instances`, `inputs`) or `text/csv`; answers `{"predictions": [...]}`.
//! Bad requests get a 4xx and `{"error_code", "message"}`, with MLflow's codes: `BAD_REQUEST`
//! for a body that does not parse into a table of numbers, `INVALID_PARAMETER_VALUE` for a
//! table that does not fit the model (`cargo xtask conformance` compares them with MLflow's).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use linreg::InputLayout;
use serde_json::json;

use body::Decoded;

mod body;
mod connections;
mod metrics;

use crate::args::{Common, ServeArgs};
use crate::output;
use linreg::Predictor;

/// What every request needs.
struct App {
    /// The model served; `SIGHUP` swaps in the file read again, between requests.
    predictor: std::sync::RwLock<Arc<Predictor>>,
    source: ModelSource,
    model: String,
    max_body: usize,
    body_timeout: std::time::Duration,
    /// Bytes of request bodies held at once, in KiB: reading and decoding a body takes its
    /// size from this budget, so many large requests wait rather than exhaust memory.
    bodies: tokio::sync::Semaphore,
    quiet: bool,
    metrics: metrics::Metrics,
}

/// The budget of request bodies held at once.
const BODY_BUDGET_KIB: usize = 48 << 10;

/// A 4xx answer with MLflow's error body.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// A body that cannot be read or parsed into a table of numbers: malformed JSON, rows of the
    /// wrong length, a cell that is not a number (MLflow's `BAD_REQUEST`, as its answers to
    /// the same requests).
    fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "BAD_REQUEST",
            message: message.into(),
        }
    }

    /// A table that does not fit the model: a missing, unknown or repeated column, a derived
    /// value that is not usable (MLflow's `INVALID_PARAMETER_VALUE`, the code of its schema
    /// enforcement).
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_PARAMETER_VALUE",
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error_code": self.code, "message": self.message });
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

/// glibc's allocator, left to itself, raises its mmap threshold after each large free and keeps
/// the memory of decoded requests in its arenas: a server that answered a few 10 MiB bodies stayed
/// near 1 GB while idle. A fixed mmap threshold (blocks from 1 MiB are mapped on their own, and
/// unmapped when freed) and a trim threshold (an arena keeps at most 4 MiB free at its top) hand
/// that memory back as soon as a request is done. Lower thresholds (128 KiB each) mapped and
/// unmapped the buffers of every 1,000-row request, and the page faults and TLB flushes that
/// cost took a quarter of the server's time (3.5k against 4.7–5.3k requests/s under wrk).
/// Tunables are read when a process starts, so `serve` starts itself again once with them,
/// unless the user set malloc tunables.
const TUNABLES: &str = "glibc.malloc.mmap_threshold=1048576:glibc.malloc.trim_threshold=4194304";

fn reexec_with_tunables() {
    use std::os::unix::process::CommandExt;

    let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if current.contains("glibc.malloc.") {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let tunables = if current.is_empty() {
        TUNABLES.to_owned()
    } else {
        format!("{current}:{TUNABLES}")
    };
    // `exec` returns only if it failed; then the server runs with the allocator as it is.
    let _ = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", tunables)
        .exec();
}

pub fn run(common: &Common, args: &ServeArgs) -> anyhow::Result<()> {
    reexec_with_tunables();
    let source = match &args.model {
        Some(path) => ModelSource::File(path.clone()),
        None => ModelSource::Artifacts(common.artifacts.clone(), common.which()),
    };
    let path = source.path();
    let (predictor, sha256) = source.load()?;
    let app = Arc::new(App {
        metrics: metrics::Metrics::new(predictor.kind(), &sha256),
        predictor: std::sync::RwLock::new(Arc::new(predictor)),
        source,
        model: path.display().to_string(),
        max_body: args.max_body,
        body_timeout: seconds(args.body_timeout),
        bodies: tokio::sync::Semaphore::new(BODY_BUDGET_KIB),
        quiet: common.quiet,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
        let addr: SocketAddr = listener.local_addr()?;
        // Taken over before the server says it listens: a SIGHUP from then on reloads, never
        // ends the process (the signal's default).
        let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("cannot handle SIGHUP")?;
        output::stderr(format_args!(
            "listening on http://{addr} ({} model {})",
            app.current().kind(),
            app.model
        ));
        tokio::spawn(reload_on_hangup(app.clone(), hangups));
        let router = Router::new()
            .route("/ping", get(ping))
            .route("/health", get(ping))
            .route("/version", get(version))
            .route("/metadata", get(metadata))
            .route("/metrics", get(metrics))
            .route("/invocations", post(invocations))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(axum::middleware::from_fn_with_state(app.clone(), log))
            .with_state(app);
        let limits = connections::Limits {
            header_timeout: seconds(args.header_timeout),
            max_connections: connections::connection_cap(args.max_connections),
            grace: seconds(args.grace),
        };
        connections::serve(listener, router, limits, shutdown()).await;
        Ok::<(), anyhow::Error>(())
    })?;
    output::stderr(format_args!("stopped"));
    Ok(())
}

/// Where the served model comes from.
enum ModelSource {
    /// A model file, taken as it is.
    File(std::path::PathBuf),
    /// An artifacts folder: the model its record names, as `predict` loads it.
    Artifacts(std::path::PathBuf, pipeline::Which),
}

impl ModelSource {
    /// The model file's place.
    fn path(&self) -> std::path::PathBuf {
        match self {
            Self::File(path) => path.clone(),
            Self::Artifacts(dir, which) => dir.join(which.file_name()),
        }
    }

    /// The model, and the SHA-256 of its file.
    fn load(&self) -> anyhow::Result<(Predictor, String)> {
        match self {
            Self::File(path) => Ok(pipeline::artifacts::load_any(path)?),
            Self::Artifacts(dir, which) => {
                let record = pipeline::RunRecord::open_or_empty(dir)?;
                let (bytes, path) = record.read_file(dir, which.file_name())?;
                let predictor = pipeline::artifacts::predictor(&path, &bytes)?;
                Ok((predictor, dataset::sha256_hex(&bytes)))
            }
        }
    }
}

impl App {
    /// The model to answer a request with (one request, one model, whatever reloads happen).
    fn current(&self) -> Arc<Predictor> {
        match self.predictor.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// On each `SIGHUP`, read the model file again: a good file replaces the model between
/// requests (those in flight finish with the old one); a bad one is refused, saying why, and
/// the model served stays.
async fn reload_on_hangup(app: Arc<App>, mut hangups: tokio::signal::unix::Signal) {
    while hangups.recv().await.is_some() {
        match app.source.load() {
            Ok((predictor, sha256)) => {
                app.metrics.set_model(predictor.kind(), &sha256);
                let kind = predictor.kind();
                if let Ok(mut current) = app.predictor.write() {
                    *current = Arc::new(predictor);
                }
                output::stderr(format_args!(
                    "reloaded {} ({kind} model, SHA-256 {sha256})",
                    app.model
                ));
            }
            Err(e) => output::stderr(format_args!(
                "kept the model served: reloading {} failed: {e:#}",
                app.model
            )),
        }
    }
}

/// A duration from a number of seconds given on the command line (negative or not a number: 0).
fn seconds(s: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(s).unwrap_or_default()
}

/// SIGTERM (as `docker stop` sends) or SIGINT: stop taking connections, finish the requests in flight.
async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

async fn log(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let (method, path, start) = (
        req.method().clone(),
        req.uri().path().to_owned(),
        Instant::now(),
    );
    let response = next.run(req).await;
    app.metrics.request(
        &path,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    if !app.quiet {
        output::stderr(format_args!(
            "{method} {path} {} {:.3} ms",
            response.status().as_u16(),
            start.elapsed().as_secs_f64() * 1e3
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

/// What is being served, for people and tools: the server, the model's kind and features.
async fn metadata(State(app): State<Arc<App>>) -> Response {
    let body = json!({
        "name": "cali-reg",
        "version": env!("CARGO_PKG_VERSION"),
        "model": app.current().kind(),
        "features": app.current().recipe().feature_names(),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        code: "ENDPOINT_NOT_FOUND",
        message: String::from("no such endpoint"),
    }
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: "METHOD_NOT_ALLOWED",
        message: format!("{} is not allowed on {}", req.method(), req.uri().path()),
    }
}

async fn invocations(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // A body of unknown length may be as large as the limit.
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(app.max_body)
        .min(app.max_body);
    let kib = u32::try_from(announced.div_ceil(1024).clamp(1, BODY_BUDGET_KIB)).unwrap_or(1);
    let _budget = app
        .bodies
        .acquire_many(kib)
        .await
        .map_err(|_| ApiError::bad("the server is stopping"))?;
    let bytes: Bytes =
        tokio::time::timeout(app.body_timeout, axum::body::to_bytes(body, app.max_body))
            .await
            .map_err(|_| ApiError {
                status: StatusCode::REQUEST_TIMEOUT,
                code: "REQUEST_TIMEOUT",
                message: format!(
                    "the request body did not arrive within {:.1} s",
                    app.body_timeout.as_secs_f64()
                ),
            })?
            .map_err(|e| body_error(&e, app.max_body))?;
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
        other => {
            return Err(ApiError {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code: "UNSUPPORTED_MEDIA_TYPE",
                message: format!(
                    "content type {other:?} is not supported: use application/json or text/csv"
                ),
            });
        }
    };
    let (predictions, warnings) = predict(&app, &table)?;
    let answer = Answer {
        predictions: &predictions,
        warnings: &warnings,
    };
    let body = serde_json::to_string(&answer).map_err(|e| ApiError::bad(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The answer to `/invocations`, written straight from the predictions (no JSON tree).
#[derive(serde::Serialize)]
struct Answer<'a> {
    predictions: &'a [f64],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

/// Only a body over the limit is 413; a body that cannot be read (a bad chunk, a connection
/// closed early, conflicting lengths) is 400 and says why.
fn body_error(e: &axum::Error, max_body: usize) -> ApiError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "PAYLOAD_TOO_LARGE",
                message: format!("request body over the limit of {max_body} bytes"),
            };
        }
        cause = c.source();
    }
    ApiError::bad(format!("cannot read the request body: {e}"))
}

fn from_json(bytes: &[u8]) -> Result<Decoded, ApiError> {
    body::decode(bytes).map_err(|problem| match problem {
        body::Problem::Malformed(message) | body::Problem::Schema(message) => {
            ApiError::bad(message)
        }
    })
}

/// A CSV body, read by the same rules as every CSV file (header, quotes, blank lines).
fn from_csv(bytes: &[u8]) -> Result<Decoded, ApiError> {
    let input = dataset::Input::from_bytes("CSV body", bytes.to_vec(), None)
        .map_err(|e| ApiError::bad(e.to_string()))?
        .unhashed();
    let columns = input.columns().to_vec();
    let every = vec![true; columns.len()];
    let mut decoded = Decoded::default();
    input
        .for_each_chunk(
            |chunk| {
                // A row of as many numbers as columns is read by the reader's own parser; any
                // other (a cell that is not a number, a field too many or too few) cell by cell,
                // so that each bad cell is kept with its text for the error naming it.
                let mut numbers = Vec::with_capacity(chunk.line_count() * every.len());
                let mut raw = vec![0.0; every.len()];
                let mut rows = Vec::new();
                for (line, record) in chunk.lines() {
                    if record.parse(&every, &mut raw).is_ok() {
                        numbers.extend_from_slice(&raw);
                        rows.push(CsvRow::Numbers);
                        continue;
                    }
                    let cells = dataset::fields(record.text().unwrap_or_default())
                        .map_err(|p| dataset::Error::at("CSV body", line, &columns, p))?;
                    rows.push(CsvRow::Text(
                        cells
                            .into_iter()
                            .map(|c| String::from_utf8_lossy(&dataset::unquote(c)).into_owned())
                            .collect(),
                    ));
                }
                Ok((numbers, rows))
            },
            |(numbers, rows)| {
                let mut numbers = numbers.chunks_exact(every.len().max(1));
                for row in rows {
                    match row {
                        CsvRow::Numbers => decoded.push_numbers(numbers.next().unwrap_or_default()),
                        CsvRow::Text(cells) => cells.iter().for_each(|c| decoded.push_text(c)),
                    }
                    decoded.end_row();
                }
                Ok(())
            },
        )
        .map_err(|e: dataset::Error| ApiError::bad(e.to_string()))?;
    decoded.columns = Some(columns);
    Ok(decoded)
}

/// A row of a CSV body: all numbers (kept in the chunk's list, in order), or its cells' text.
enum CsvRow {
    Numbers,
    Text(Vec<String>),
}

/// Cell `c` of row `r` as a finite number, or the error naming it.
fn cell(table: &Decoded, r: usize, c: usize, column: &str) -> Result<f64, ApiError> {
    match table.bad(r, c) {
        None => Ok(table.row(r)[c]),
        Some(bad) if bad.not_finite => Err(ApiError::bad(format!(
            "row {r}, column {column}: {} is not finite",
            bad.shown
        ))),
        Some(bad) => Err(ApiError::bad(format!(
            "row {r}, column {column}: {} is not a number",
            bad.shown
        ))),
    }
}

/// How a request's columns feed the model: by name (a layout bound to them, and the columns it
/// reads), or by position.
enum Columns<'a> {
    Named {
        layout: InputLayout,
        names: &'a [String],
        used: Vec<usize>,
    },
    Positional(Vec<String>),
}

impl<'a> Columns<'a> {
    fn of(predictor: &Predictor, table: &'a Decoded) -> Result<Self, ApiError> {
        let Some(names) = &table.columns else {
            return Ok(Self::Positional(predictor.recipe().feature_names()));
        };
        if let Some(twice) = dataset::first_repeated(names) {
            return Err(ApiError::invalid(format!("column {twice} appears twice")));
        }
        let layout = InputLayout::bind(predictor.recipe(), names)
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        let used = layout.used_columns();
        Ok(Self::Named {
            layout,
            names,
            used,
        })
    }

    /// The model's features of row `r` into `features` (`raw` is room for a named row).
    fn features(
        &self,
        table: &Decoded,
        r: usize,
        raw: &mut [f64],
        features: &mut [f64],
    ) -> Result<(), ApiError> {
        let row = table.row(r);
        match self {
            Self::Named {
                layout,
                names,
                used,
            } => {
                if row.len() != names.len() {
                    return Err(ApiError::bad(format!(
                        "row {r} has {} values for {} columns",
                        row.len(),
                        names.len()
                    )));
                }
                for &c in used {
                    raw[c] = cell(table, r, c, &names[c])?;
                }
                layout
                    .features(r, raw, features)
                    .map_err(|e| ApiError::invalid(e.to_string()))
            }
            Self::Positional(names) => {
                if row.len() != names.len() {
                    return Err(ApiError::bad(format!(
                        "row {r} has {} values; the model takes {} ({})",
                        row.len(),
                        names.len(),
                        names.join(", ")
                    )));
                }
                for (j, name) in names.iter().enumerate() {
                    features[j] = cell(table, r, j, name)?;
                }
                Ok(())
            }
        }
    }
}

fn predict(app: &App, table: &Decoded) -> Result<(Vec<f64>, Vec<String>), ApiError> {
    let predictor = &*app.current();
    let names = predictor.recipe().feature_names();
    let columns = Columns::of(predictor, table)?;
    let mut raw = vec![0.0; table.columns.as_ref().map_or(0, Vec::len)];
    let mut features = vec![0.0; names.len()];
    let mut outside = vec![0_u64; names.len()];
    let mut predictions = Vec::with_capacity(table.n_rows());
    let mut rows_outside = 0;
    for r in 0..table.n_rows() {
        columns.features(table, r, &mut raw, &mut features)?;
        for (&v, name) in features.iter().zip(&names) {
            if !v.is_finite() || v.abs() > dataset::MAX_MAGNITUDE {
                return Err(ApiError::invalid(format!(
                    "row {r}: {name} is {v:e}, not a usable number (beyond ±1e100)"
                )));
            }
        }
        rows_outside += u64::from(predictor.count_outside(&features, &mut outside) > 0);
        let prediction = predictor.predict_row(&features);
        if !prediction.is_finite() {
            return Err(ApiError::invalid(format!(
                "row {r}: the prediction is {prediction}, not a finite number"
            )));
        }
        predictions.push(prediction);
    }
    app.metrics.rows(predictions.len() as u64, rows_outside);
    let warnings = predictor
        .range_warnings(&outside)
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok((predictions, warnings))
}
