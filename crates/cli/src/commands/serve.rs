//! `cali-reg serve`: MLflow's scoring protocol over HTTP (axum on tokio).
//!
//! `GET /ping`, `GET /health`, `GET /version`, `POST /invocations` with MLflow's JSON inputs
//! (`dataframe_split`, `dataframe_records`, `instances`, `inputs`) or `text/csv`; answers
//! `{"predictions": [...]}`. Bad requests get a 4xx and `{"error_code", "message"}`.

use std::net::SocketAddr;
use std::path::PathBuf;
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
use serde_json::{Map, Value, json};

mod connections;

use crate::args::Common;
use crate::artifacts::{LINEAR, Predictor, QUANTIZED};
use crate::output;

/// `serve`'s own options.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Model file (default: the float or, with --quantized, the quantised model in --artifacts)
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 picks a free one; the address is printed on stderr)
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Largest request body in bytes; larger ones are answered 413
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body: usize,
    /// After SIGTERM or SIGINT, how long requests in flight may take before the server exits
    /// anyway (stalled clients are dropped)
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub grace: f64,
    /// Time a client has to send a request's head, and to start its next request on a kept-alive
    /// connection; the connection is closed after it
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub header_timeout: f64,
    /// Time a client has to send a request's body; later, the answer is 408
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub body_timeout: f64,
    /// Connections open at once (kept below the limit of open files); a new client beyond it
    /// closes the one that has been quiet longest
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,
}

/// What every request needs.
struct App {
    recipe: linreg::Recipe,
    weights: Vec<f64>,
    intercept: f64,
    min: Vec<f64>,
    max: Vec<f64>,
    kind: &'static str,
    model: String,
    max_body: usize,
    body_timeout: std::time::Duration,
    quiet: bool,
}

/// A 4xx answer with MLflow's error body.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "BAD_REQUEST",
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

pub fn run(common: &Common, args: &ServeArgs) -> anyhow::Result<()> {
    let (predictor, path) = match &args.model {
        Some(p) => (Predictor::load_any(p)?, p.clone()),
        None => {
            let name = if common.quantized { QUANTIZED } else { LINEAR };
            let path = common.artifacts.join(name);
            (Predictor::load_any(&path)?, path)
        }
    };
    let (min, max) = predictor.ranges();
    let app = Arc::new(App {
        recipe: predictor.recipe().clone(),
        weights: predictor.coefficients(),
        intercept: predictor.intercept(),
        min,
        max,
        kind: predictor.kind(),
        model: path.display().to_string(),
        max_body: args.max_body,
        body_timeout: seconds(args.body_timeout),
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
        output::stderr(format_args!(
            "listening on http://{addr} ({} model {})",
            app.kind, app.model
        ));
        let router = Router::new()
            .route("/ping", get(ping))
            .route("/health", get(ping))
            .route("/version", get(version))
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

async fn version(State(app): State<Arc<App>>) -> Response {
    let body = json!({
        "name": "cali-reg",
        "version": env!("CARGO_PKG_VERSION"),
        "model": app.kind,
        "features": app.recipe.feature_names(),
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
    let mut body = json!({ "predictions": predictions });
    if !warnings.is_empty() {
        body["warnings"] = json!(warnings);
    }
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
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

/// Rows of cells, with column names when the request gave them.
struct Table {
    columns: Option<Vec<String>>,
    rows: Vec<Vec<Value>>,
}

/// The input keys of MLflow's JSON format.
const INPUT_KEYS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];

fn from_json(bytes: &[u8]) -> Result<Table, ApiError> {
    let value: Value = serde_json::from_slice::<strict::Strict>(bytes)
        .map(|s| s.0)
        .map_err(|e| ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "MALFORMED_REQUEST",
            message: format!("malformed JSON: {e}"),
        })?;
    let Value::Object(top) = value else {
        return Err(ApiError::bad(
            "expected a JSON object with one of dataframe_split, dataframe_records, instances, inputs",
        ));
    };
    let given: Vec<&str> = INPUT_KEYS
        .into_iter()
        .filter(|k| top.contains_key(*k))
        .collect();
    if given.len() > 1 {
        return Err(ApiError::bad(format!(
            "the body has {}: send exactly one input",
            given.join(" and ")
        )));
    }
    if let Some(split) = top.get("dataframe_split") {
        let columns = match split.get("columns") {
            Some(Value::Array(c)) => Some(strings(c)?),
            Some(_) => {
                return Err(ApiError::bad(
                    "dataframe_split.columns must be an array of names",
                ));
            }
            None => None,
        };
        let rows = match split.get("data") {
            Some(Value::Array(d)) => d.iter().map(row_array).collect::<Result<_, _>>()?,
            _ => {
                return Err(ApiError::bad(
                    "dataframe_split.data must be an array of rows",
                ));
            }
        };
        return Ok(Table { columns, rows });
    }
    for key in INPUT_KEYS.into_iter().skip(1) {
        match top.get(key) {
            None => {}
            Some(Value::Array(items)) => return rows_of(items, key),
            Some(Value::Object(columnar)) if key != "dataframe_records" => {
                return columns_of(columnar, key);
            }
            Some(_) => return Err(ApiError::bad(format!("{key} must be an array"))),
        }
    }
    Err(ApiError::bad(
        "expected one of dataframe_split, dataframe_records, instances, inputs",
    ))
}

fn strings(values: &[Value]) -> Result<Vec<String>, ApiError> {
    values
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| ApiError::bad("column names must be strings"))
        })
        .collect()
}

fn row_array(v: &Value) -> Result<Vec<Value>, ApiError> {
    v.as_array()
        .cloned()
        .ok_or_else(|| ApiError::bad("each row must be an array of values"))
}

/// An array of rows: each an array (by position) or an object (by name, keys of the first record).
fn rows_of(items: &[Value], key: &str) -> Result<Table, ApiError> {
    match items.first() {
        Some(Value::Object(first)) => {
            let columns: Vec<String> = first.keys().cloned().collect();
            let rows = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let record = item.as_object().ok_or_else(|| {
                        ApiError::bad(format!("{key}[{i}] must be an object like the first"))
                    })?;
                    columns
                        .iter()
                        .map(|c| {
                            record.get(c).cloned().ok_or_else(|| {
                                ApiError::bad(format!("{key}[{i}] lacks column {c}"))
                            })
                        })
                        .collect()
                })
                .collect::<Result<_, _>>()?;
            Ok(Table {
                columns: Some(columns),
                rows,
            })
        }
        _ => Ok(Table {
            columns: None,
            rows: items.iter().map(row_array).collect::<Result<_, _>>()?,
        }),
    }
}

/// `{"col": [values...], ...}`: columns of equal length.
fn columns_of(columnar: &Map<String, Value>, key: &str) -> Result<Table, ApiError> {
    let columns: Vec<String> = columnar.keys().cloned().collect();
    let lists: Vec<&Vec<Value>> = columnar
        .values()
        .map(|v| {
            v.as_array()
                .ok_or_else(|| ApiError::bad(format!("{key}: each column must be an array")))
        })
        .collect::<Result<_, _>>()?;
    let n = lists.first().map_or(0, |l| l.len());
    if lists.iter().any(|l| l.len() != n) {
        return Err(ApiError::bad(format!(
            "{key}: columns have different lengths"
        )));
    }
    let rows = (0..n)
        .map(|r| lists.iter().map(|l| l[r].clone()).collect())
        .collect();
    Ok(Table {
        columns: Some(columns),
        rows,
    })
}

/// A CSV body, read by the same rules as every CSV file (header, quotes, blank lines).
fn from_csv(bytes: &[u8]) -> Result<Table, ApiError> {
    let input = dataset::Input::from_bytes("CSV body", bytes.to_vec(), None)
        .map_err(|e| ApiError::bad(e.to_string()))?
        .unhashed();
    let columns = input.columns().to_vec();
    let mut rows = Vec::new();
    input
        .for_each_chunk(
            |chunk| {
                chunk
                    .lines()
                    .map(|(line, text)| {
                        let cells = dataset::fields(text)
                            .map_err(|p| dataset::Error::at("CSV body", line, &columns, p))?;
                        Ok(cells
                            .into_iter()
                            .map(|c| {
                                Value::String(
                                    String::from_utf8_lossy(&dataset::unquote(c)).into_owned(),
                                )
                            })
                            .collect::<Vec<Value>>())
                    })
                    .collect::<dataset::Result<Vec<Vec<Value>>>>()
            },
            |chunk_rows| {
                rows.extend(chunk_rows);
                Ok(())
            },
        )
        .map_err(|e: dataset::Error| ApiError::bad(e.to_string()))?;
    Ok(Table {
        columns: Some(columns),
        rows,
    })
}

/// A cell as a finite number: JSON numbers, or text that parses (CSV cells are text).
fn cell(v: &Value, row: usize, column: &str) -> Result<f64, ApiError> {
    let not_finite = |shown: &dyn std::fmt::Display| {
        ApiError::bad(format!("row {row}, column {column}: {shown} is not finite"))
    };
    let x = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match dataset::parse_cell(s.as_bytes()) {
            Ok(x) => Some(x),
            Err(dataset::CellProblem::NonFinite(text)) => return Err(not_finite(&text)),
            Err(_) => None,
        },
        _ => None,
    };
    match x {
        Some(x) if x.is_finite() => Ok(x),
        Some(x) => Err(not_finite(&x)),
        None => Err(ApiError::bad(format!(
            "row {row}, column {column}: {v} is not a number"
        ))),
    }
}

fn predict(app: &App, table: &Table) -> Result<(Vec<f64>, Vec<String>), ApiError> {
    let p = app.weights.len();
    let names = app.recipe.feature_names();
    let mut features = vec![0.0; p];
    let mut predictions = Vec::with_capacity(table.rows.len());
    let mut outside = vec![0_usize; p];
    if let Some(columns) = &table.columns
        && let Some((_, twice)) = columns
            .iter()
            .enumerate()
            .find(|(i, c)| columns[..*i].contains(c))
    {
        return Err(ApiError::bad(format!("column {twice} appears twice")));
    }
    let layout = match &table.columns {
        Some(columns) => Some((
            InputLayout::bind(&app.recipe, columns).map_err(|e| ApiError::bad(e.to_string()))?,
            columns,
        )),
        None => None,
    };
    for (r, row) in table.rows.iter().enumerate() {
        match &layout {
            Some((layout, columns)) => {
                if row.len() != columns.len() {
                    return Err(ApiError::bad(format!(
                        "row {r} has {} values for {} columns",
                        row.len(),
                        columns.len()
                    )));
                }
                let mut raw = vec![0.0; columns.len()];
                for c in layout.used_columns() {
                    raw[c] = cell(&row[c], r, &columns[c])?;
                }
                layout
                    .features(r, &raw, &mut features)
                    .map_err(|e| ApiError::bad(e.to_string()))?;
            }
            None => {
                if row.len() != p {
                    return Err(ApiError::bad(format!(
                        "row {r} has {} values; the model takes {p} ({})",
                        row.len(),
                        names.join(", ")
                    )));
                }
                for (j, v) in row.iter().enumerate() {
                    features[j] = cell(v, r, &names[j])?;
                }
            }
        }
        for (j, &v) in features.iter().enumerate() {
            if v < app.min[j] || v > app.max[j] {
                outside[j] += 1;
            }
        }
        for (&v, name) in features.iter().zip(&names) {
            if !v.is_finite() || v.abs() > dataset::MAX_MAGNITUDE {
                return Err(ApiError::bad(format!(
                    "row {r}: {name} is {v:e}, not a usable number (beyond ±1e100)"
                )));
            }
        }
        let prediction = features
            .iter()
            .zip(&app.weights)
            .map(|(a, b)| a * b)
            .sum::<f64>()
            + app.intercept;
        if !prediction.is_finite() {
            return Err(ApiError::bad(format!(
                "row {r}: the prediction is {prediction}, not a finite number"
            )));
        }
        predictions.push(prediction);
    }
    let warnings = outside
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(j, n)| {
            format!(
                "{n} row(s) have {} outside its training range [{}, {}]",
                names[j], app.min[j], app.max[j]
            )
        })
        .collect();
    Ok((predictions, warnings))
}

/// JSON parsed as serde_json does, except that an object naming a key twice is an error (serde
/// keeps the last value, silently; MLflow refuses such bodies).
mod strict {
    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::{Map, Value};

    pub struct Strict(pub Value);

    impl<'de> Deserialize<'de> for Strict {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(StrictVisitor).map(Strict)
        }
    }

    struct StrictVisitor;

    impl<'de> Visitor<'de> for StrictVisitor {
        type Value = Value;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }

        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_owned()))
        }

        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }

        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }

        fn visit_none<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            Strict::deserialize(d).map(|s| s.0)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(Strict(v)) = seq.next_element()? {
                items.push(v);
            }
            Ok(Value::Array(items))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut out = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(de::Error::custom(format!("key {key:?} appears twice")));
                }
                let Strict(value) = map.next_value()?;
                out.insert(key, value);
            }
            Ok(Value::Object(out))
        }
    }
}
