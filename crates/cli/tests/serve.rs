//! `cali-reg serve` over loopback: every input format, every error, load, and a graceful stop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::support::{data_path, python, run_python, with_stdin};

const FEATURES: [&str; 8] = dataset::california::FEATURE_NAMES;

struct Server {
    child: Child,
    addr: String,
    /// Its artifacts folder (the model files served).
    artifacts: std::path::PathBuf,
    /// What it has written on stderr after its first line.
    log: std::sync::Arc<std::sync::Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> Self {
        Self::launch(None, extra)
    }

    /// Start the server with at most `files` open files (`ulimit -n`), or the default.
    fn launch(files: Option<u32>, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = dir.path().join("artifacts");
        for cmd in ["train", "quantize"] {
            let ok = Command::new(env!("CARGO_BIN_EXE_cali-reg"))
                .args([cmd, "--artifacts"])
                .arg(&artifacts)
                .env("CALI_REG_DATA", data_path())
                .output()
                .unwrap();
            assert!(ok.status.success());
        }
        let mut command = match files {
            None => Command::new(env!("CARGO_BIN_EXE_cali-reg")),
            Some(n) => {
                let mut c = Command::new("bash");
                c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\"")])
                    .arg(env!("CARGO_BIN_EXE_cali-reg"));
                c
            }
        };
        let mut child = command
            .args(["serve", "--port", "0", "--artifacts"])
            .arg(&artifacts)
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stderr.as_mut().unwrap())
            .read_line(&mut first)
            .unwrap();
        let addr = first
            .strip_prefix("listening on http://")
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        // Keep draining the request log so the server never blocks on a full pipe.
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Self {
            child,
            addr,
            artifacts,
            log,
            _dir: dir,
        }
    }

    fn request(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        send_body(&mut s, body);
        read_response(&mut s)
    }

    fn post(&self, body: &Value) -> (u16, Value) {
        self.request(
            "POST",
            "/invocations",
            "application/json",
            body.to_string().as_bytes(),
        )
    }

    /// Send SIGHUP: reload the model.
    fn hangup(&self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
        assert!(sent.success());
    }

    fn stop(mut self) -> i32 {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        self.child.wait().unwrap().code().unwrap_or(-1)
    }
}

impl Drop for Server {
    /// A failed test must not leave its server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Write a body as a client does that reads an early answer: a server may answer (413) and
/// close before the whole body is sent, so a closed connection ends the writing.
fn send_body(s: &mut TcpStream, body: &[u8]) {
    if let Err(e) = s.write_all(body) {
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "writing the body: {e}"
        );
    }
}

/// The answer: what arrived before the connection closed (a reset after an early answer
/// still leaves the answer).
fn read_response(s: &mut TcpStream) -> (u16, Value) {
    let mut raw = Vec::new();
    if let Err(e) = s.read_to_end(&mut raw) {
        assert!(!raw.is_empty(), "reading the answer: {e}");
    }
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let value = serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()));
    (status, value)
}

/// The first three California rows as features, as the loader derives them.
fn rows() -> Vec<Vec<f64>> {
    first_rows(3)
}

/// California's first `n` rows of features, as the model takes them.
fn first_rows(n: usize) -> Vec<Vec<f64>> {
    let table = dataset::load_path(&data_path(), &dataset::Spec::default()).unwrap();
    (0..n)
        .map(|r| table.x.row(r).iter().copied().collect())
        .collect()
}

fn predictions(v: &Value) -> Vec<f64> {
    v["predictions"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|p| p.as_f64().unwrap())
        .collect()
}

#[test]
fn every_input_format_gives_the_same_predictions() {
    let server = Server::start(&[]);
    let rows = rows();
    let records: Vec<Value> = rows
        .iter()
        .map(|r| {
            Value::Object(
                FEATURES
                    .iter()
                    .zip(r)
                    .map(|(k, v)| ((*k).to_owned(), json!(v)))
                    .collect(),
            )
        })
        .collect();
    let columnar: serde_json::Map<String, Value> = FEATURES
        .iter()
        .enumerate()
        .map(|(j, k)| {
            (
                (*k).to_owned(),
                json!(rows.iter().map(|r| r[j]).collect::<Vec<_>>()),
            )
        })
        .collect();
    let (status, reference) =
        server.post(&json!({ "dataframe_split": { "columns": FEATURES, "data": rows } }));
    assert_eq!(status, 200, "{reference}");
    let reference = predictions(&reference);
    // The library on the same features: a second route to the numbers.
    let model: linreg::Model = linreg::envelope::decode(
        &std::fs::read(server._dir.path().join("artifacts/linear_model.msgpack")).unwrap(),
    )
    .unwrap();
    for (r, p) in rows.iter().zip(&reference) {
        assert_eq!(model.predict_row(r), *p);
    }
    let bodies = [
        json!({ "dataframe_split": { "data": rows } }),
        json!({ "dataframe_records": records }),
        json!({ "instances": rows }),
        json!({ "instances": records }),
        json!({ "inputs": rows }),
        json!({ "inputs": columnar }),
    ];
    for body in bodies {
        let (status, answer) = server.post(&body);
        assert_eq!(status, 200, "{body}: {answer}");
        assert_eq!(predictions(&answer), reference, "{body}");
    }
    // CSV in the raw census layout, derived by the model's recipe.
    let text = std::fs::read_to_string(data_path()).unwrap();
    let csv: String = text.lines().take(4).map(|l| format!("{l}\n")).collect();
    let (status, answer) = server.request(
        "POST",
        "/invocations",
        "text/csv; charset=utf-8",
        csv.as_bytes(),
    );
    assert_eq!(status, 200, "{answer}");
    for (a, b) in predictions(&answer).iter().zip(&reference) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    // A thousand rows of derived features, whose shortest decimals run to 17 digits, as JSON
    // and as CSV: every number read back exactly, so every prediction is the library's to the
    // bit (a parser off by one unit in the last place on some of them moved predictions).
    let many = first_rows(1000);
    let exact: Vec<f64> = many.iter().map(|r| model.predict_row(r)).collect();
    let (status, answer) =
        server.post(&json!({ "dataframe_split": { "columns": FEATURES, "data": many } }));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(predictions(&answer), exact);
    let csv: String = std::iter::once(FEATURES.join(","))
        .chain(many.iter().map(|r| {
            r.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        }))
        .map(|line| line + "\n")
        .collect();
    let (status, answer) = server.request("POST", "/invocations", "text/csv", csv.as_bytes());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(predictions(&answer), exact);
    for path in ["/ping", "/health"] {
        assert_eq!(server.request("GET", path, "text/plain", b"").0, 200);
    }
    // As MLflow's: the version as text; the model's description has a route of its own.
    let (status, version) = server.request("GET", "/version", "text/plain", b"");
    assert_eq!(
        (status, version),
        (200, Value::from(env!("CARGO_PKG_VERSION")))
    );
    let (_, metadata) = server.request("GET", "/metadata", "text/plain", b"");
    assert_eq!(metadata["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(metadata["features"], json!(FEATURES));
    assert_eq!(server.stop(), 0);
}

/// MLflow's `params` field: `{"interval": 0.95}` answers records with the prediction and its
/// four interval ends, the library's to the bit (whose equality with statsmodels is
/// `inference::prediction_intervals_equal_statsmodels_get_prediction`); the quantised model
/// answers them with the float model's covariance; bad params are 400 with a message.
#[test]
fn params_interval_answers_the_intervals_as_records() {
    let rows = rows();
    for quantized in [false, true] {
        let extra: &[&str] = if quantized { &["--quantized"] } else { &[] };
        let server = Server::start(extra);
        let body = json!({
            "dataframe_split": { "columns": FEATURES, "data": rows },
            "params": { "interval": 0.95 },
        });
        let (status, answer) = server.post(&body);
        assert_eq!(status, 200, "{answer}");
        let float: linreg::Model = linreg::envelope::decode(
            &std::fs::read(server.artifacts.join("linear_model.msgpack")).unwrap(),
        )
        .unwrap();
        let model = if quantized {
            let q: linreg::QuantizedModel = linreg::envelope::decode(
                &std::fs::read(server.artifacts.join("quant_model.msgpack")).unwrap(),
            )
            .unwrap();
            let mut p = linreg::Predictor::new(linreg::AnyModel::Quantized(q));
            p.borrow_covariance(&float).unwrap();
            p
        } else {
            linreg::Predictor::new(linreg::AnyModel::Float(float))
        };
        let bands = model.bands(0.95).unwrap();
        let records = answer["predictions"].as_array().unwrap();
        assert_eq!(records.len(), rows.len());
        for (record, row) in records.iter().zip(&rows) {
            let p = model.predict_row(row);
            assert_eq!(record["prediction"].as_f64(), Some(p), "{record}");
            for (name, v) in linreg::INTERVAL_COLUMNS
                .iter()
                .zip(bands.interval(row, p).values())
            {
                assert_eq!(record[*name].as_f64(), Some(v), "{name}: {record}");
            }
            assert_eq!(record.as_object().unwrap().len(), 5, "{record}");
        }
        // Without params, the plain list, as before.
        let (status, plain) =
            server.post(&json!({ "dataframe_split": { "columns": FEATURES, "data": rows } }));
        assert_eq!(status, 200);
        assert!(plain["predictions"][0].is_number(), "{plain}");
    }
    let server = Server::start(&[]);
    let split = json!({ "columns": FEATURES, "data": rows });
    for (params, says) in [
        (
            json!({"interval": 1.5}),
            "interval level 1.5: must lie strictly between 0 and 1",
        ),
        (
            json!({"interval": "high"}),
            "params.interval must be a number between 0 and 1",
        ),
        (json!({"intervall": 0.9}), "unknown parameter \"intervall\""),
        (json!([0.95]), "params must be an object"),
    ] {
        let (status, answer) = server.post(&json!({ "dataframe_split": split, "params": params }));
        assert_eq!(status, 400, "{params}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(says), "{params}: {message}");
    }
}

#[test]
fn bad_requests_get_4xx_with_a_message() {
    let server = Server::start(&["--max-body", "2000"]);
    let rows = rows();
    let mut wrong = FEATURES.to_vec();
    wrong[2] = "Rooms";
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({ "dataframe_split": { "columns": wrong, "data": rows } }),
            400,
            "lacks the model's feature columns AveRooms",
        ),
        (
            json!({ "dataframe_split": { "columns": &FEATURES[..7], "data": [[1, 2, 3, 4, 5, 6, 7]] } }),
            400,
            "lacks the model's feature columns Longitude",
        ),
        (
            json!({ "instances": [[1, 2, 3]] }),
            400,
            "row 0 has 3 values; the model takes 8",
        ),
        (
            json!({ "instances": [[1, 2, 3, 4, 5, 6, "x", 8]] }),
            400,
            "row 0, column Latitude: \"x\" is not a number",
        ),
        (
            json!({ "dataframe_split": { "columns": FEATURES, "data": [[1, 2, 3, 4, 5, 6, 7]] } }),
            400,
            "row 0 has 7 values for 8 columns",
        ),
        (
            json!({ "something": [] }),
            400,
            "expected one of dataframe_split",
        ),
    ];
    for (body, status, needle) in cases {
        let (got, answer) = server.post(&body);
        assert_eq!(got, status, "{body}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(needle),
            "{body}: {answer}"
        );
        // MLflow's codes (as `cargo xtask conformance` finds them): a table that does not fit
        // the model, or a body that does not parse into one.
        let code = if needle.contains("lacks the model's feature columns") {
            "INVALID_PARAMETER_VALUE"
        } else {
            "BAD_REQUEST"
        };
        assert_eq!(answer["error_code"], code, "{body}: {answer}");
    }
    let (status, answer) = server.request(
        "POST",
        "/invocations",
        "application/json",
        b"{\"instances\": [1,",
    );
    assert_eq!(
        (status, answer["error_code"].as_str()),
        (400, Some("BAD_REQUEST"))
    );
    let csv = format!("{}\n1,2,3,4,5,6,inf,8\n", FEATURES.join(","));
    let (status, answer) = server.request("POST", "/invocations", "text/csv", csv.as_bytes());
    assert_eq!(status, 400);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("column Latitude: inf is not finite"),
        "{answer}"
    );
    let (status, answer) = server.request("POST", "/invocations", "application/xml", b"<x/>");
    assert_eq!(
        (status, answer["error_code"].as_str()),
        (415, Some("UNSUPPORTED_MEDIA_TYPE"))
    );
    let big = json!({ "instances": vec![rows[0].clone(); 100] });
    let (status, answer) = server.post(&big);
    assert_eq!(
        (status, answer["error_code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
    // Out of range still predicts, with a warning.
    let mut far = rows[0].clone();
    far[2] = 1e4;
    let (status, answer) = server.post(&json!({ "instances": [far] }));
    assert_eq!(status, 200);
    assert!(
        answer["warnings"][0]
            .as_str()
            .unwrap()
            .contains("AveRooms outside its training range"),
        "{answer}"
    );
    assert_eq!(server.stop(), 0);
}

#[test]
fn a_hundred_concurrent_mixed_requests() {
    let server = std::sync::Arc::new(Server::start(&["--quiet"]));
    let rows = rows();
    let (_, expected) = server.post(&json!({ "instances": rows }));
    let expected = predictions(&expected);
    let handles: Vec<_> = (0..100)
        .map(|i| {
            let (server, rows, expected) = (server.clone(), rows.clone(), expected.clone());
            std::thread::spawn(move || {
                if i % 3 == 0 {
                    let (status, answer) = server.post(&json!({ "instances": [[1, 2]] }));
                    assert_eq!(status, 400, "{answer}");
                } else {
                    let (status, answer) = server.post(&json!({ "instances": rows }));
                    assert_eq!(status, 200);
                    assert_eq!(predictions(&answer), expected);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(server.request("GET", "/health", "text/plain", b"").0, 200);
    let server = std::sync::Arc::try_unwrap(server).ok().unwrap();
    assert_eq!(server.stop(), 0);
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_0() {
    let server = Server::start(&[]);
    let body = json!({ "instances": rows() }).to_string();
    let mut s = TcpStream::connect(&server.addr).unwrap();
    let head = format!(
        "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body.as_bytes()[..10]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    s.write_all(&body.as_bytes()[10..]).unwrap();
    let (status, answer) = read_response(&mut s);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(predictions(&answer).len(), 3);
    let mut server = server;
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
    drop(s);
}

/// Send raw bytes, half-close, and read the answer.
fn raw(server: &Server, bytes: &[u8]) -> (u16, Value) {
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(bytes).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    read_response(&mut s)
}

#[test]
fn every_4xx_carries_the_json_error_and_the_right_status() {
    let server = Server::start(&[]);
    for (method, path) in [("GET", "/invocations"), ("POST", "/ping")] {
        let (status, body) = server.request(method, path, "application/json", b"");
        assert_eq!(status, 405, "{method} {path}");
        assert_eq!(body["error_code"], "METHOD_NOT_ALLOWED", "{body}");
        assert_eq!(
            body["message"],
            format!("{method} is not allowed on {path}")
        );
    }
    // Body errors other than size are 400, and say what is wrong.
    let bad_chunk = "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
    let short = "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"instances\": []}";
    for request in [bad_chunk, short] {
        let (status, body) = raw(&server, request.as_bytes());
        assert_eq!(status, 400, "{request:?}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("cannot read the request body"),
            "{body}"
        );
    }
    // Only an oversized body is 413: announced, sent whole, or chunked with no length.
    let big = vec![b' '; 11 << 20];
    let (status, body) = server.request("POST", "/invocations", "application/json", &big);
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error_code"], "PAYLOAD_TOO_LARGE", "{body}");
    // A client that waits for `100 Continue` is refused before it sends a byte of the body.
    let waits = format!(
        "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        big.len()
    );
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(waits.as_bytes()).unwrap();
    let (status, body) = read_response(&mut s);
    assert_eq!(status, 413, "{body}");
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut chunked = Vec::new();
    for piece in big.chunks(1 << 20) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    send_body(&mut s, &chunked);
    let (status, body) = read_response(&mut s);
    assert_eq!(status, 413, "{body}");
}

#[test]
fn ambiguous_and_unusable_inputs_are_refused() {
    let server = Server::start(&[]);
    let row = [8.3252, 41.0, 6.98, 1.02, 322.0, 2.56, 37.88, -122.23];
    let mut twice: Vec<&str> = FEATURES.to_vec();
    twice[1] = "MedInc";
    let cases = [
        (
            json!({"dataframe_split": {"columns": twice, "data": [row]}}).to_string(),
            "column MedInc appears twice",
            "INVALID_PARAMETER_VALUE",
        ),
        (
            r#"{"dataframe_records": [{"MedInc": 1, "MedInc": 2, "HouseAge": 3}]}"#.to_owned(),
            "key \"MedInc\" appears twice",
            "BAD_REQUEST",
        ),
        (
            json!({"dataframe_split": {"columns": FEATURES, "data": [row]}, "instances": [row]})
                .to_string(),
            "the body has dataframe_split and instances: send exactly one input",
            "BAD_REQUEST",
        ),
        (
            // Raw census columns whose ratio overflows: households = 1e-320.
            json!({"dataframe_split": {
                "columns": ["longitude", "latitude", "housing_median_age", "total_rooms",
                            "total_bedrooms", "population", "households", "median_income"],
                "data": [[-122.23, 37.88, 41.0, 880.0, 129.0, 322.0, 1e-320, 8.3252]]}})
            .to_string(),
            "row 0: AveRooms is inf, not a usable number",
            "INVALID_PARAMETER_VALUE",
        ),
    ];
    for (body, needle, code) in cases {
        let (status, answer) =
            server.request("POST", "/invocations", "application/json", body.as_bytes());
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error_code"], code, "{body}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(needle),
            "{body}: {answer}"
        );
    }
}

/// Requests as wide as the body limit allows: 200,000 columns beside the model's eight, a
/// record of 300,000 keys, and an ignored top-level key among 300,000. Each is answered with
/// the prediction of its eight features (matching columns and finding repeated keys by
/// comparing each with all before took 26 s for the first and over a minute for the second).
#[test]
fn wide_requests_are_answered_with_the_prediction_of_their_features() {
    let server = Server::start(&[]);
    let row = rows()[0].clone();
    let (_, want) = server.post(&json!({"dataframe_split": {"columns": FEATURES, "data": [row]}}));
    let want = predictions(&want);
    let extra = |prefix: &'static str, n: usize| (0..n).map(move |i| format!("{prefix}{i}"));
    let mut columns: Vec<String> = FEATURES.iter().map(|c| (*c).to_owned()).collect();
    columns.extend(extra("x", 200_000));
    let mut cells = row.clone();
    cells.resize(columns.len(), 0.0);
    let split = json!({"dataframe_split": {"columns": columns, "data": [cells]}});
    let mut record: serde_json::Map<String, Value> = FEATURES
        .iter()
        .zip(&row)
        .map(|(c, v)| ((*c).to_owned(), json!(v)))
        .collect();
    record.extend(extra("k", 300_000).map(|k| (k, json!(1))));
    let records = json!({"dataframe_records": [record.clone(), record]});
    let mut top: serde_json::Map<String, Value> =
        extra("k", 300_000).map(|k| (k, json!(1))).collect();
    top.insert(String::from("instances"), json!([row]));
    for body in [split, records, Value::Object(top)] {
        let (status, answer) = server.post(&body);
        assert_eq!(status, 200, "{answer}");
        let got = predictions(&answer);
        assert_eq!(got[0], want[0]);
    }
    // A record after the first that lacks a column is named, with the first it lacks in the
    // first record's order (serde_json writes keys sorted).
    let records = json!({"dataframe_records": [
        FEATURES.iter().zip(&row).map(|(c, v)| ((*c).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>(),
        {"MedInc": 1.0},
    ]});
    let (status, answer) = server.post(&records);
    assert_eq!(status, 400);
    assert_eq!(
        answer["message"],
        "dataframe_records[1] lacks column AveBedrms"
    );
}

#[test]
fn a_stalled_client_cannot_hold_shutdown_past_the_grace_period() {
    let server = Server::start(&["--grace", "1"]);
    // Headers without their final blank line, then nothing.
    let mut stalled = TcpStream::connect(&server.addr).unwrap();
    stalled
        .write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut server = server;
    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    // Not a speed check: a bound on "never", thirty times the grace period.
    let mut status = None;
    for _ in 0..300 {
        status = server.child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let status = status.expect("the server hung after SIGTERM with a stalled client");
    assert_eq!(status.code(), Some(0));
    drop(stalled);
}

/// Read until the server closes the connection (or `limit` passes, which fails the test).
fn closed_by_server(s: &mut TcpStream, limit: std::time::Duration) -> Vec<u8> {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    match s.read_to_end(&mut got) {
        Ok(_) => got,
        Err(e) => panic!("the server kept a stalled connection open: {e}"),
    }
}

#[test]
fn silent_half_header_and_half_body_clients_are_timed_out() {
    let server = Server::start(&["--header-timeout", "1", "--body-timeout", "1"]);
    // Bounds on "never" (thirty times the timeouts), not speed checks.
    let limit = std::time::Duration::from_secs(30);
    let mut silent = TcpStream::connect(&server.addr).unwrap();
    assert!(closed_by_server(&mut silent, limit).is_empty());
    let mut half_header = TcpStream::connect(&server.addr).unwrap();
    half_header
        .write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    closed_by_server(&mut half_header, limit);
    // A kept-alive connection that sends nothing more is closed too.
    let mut idle = TcpStream::connect(&server.addr).unwrap();
    idle.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let answer = String::from_utf8(closed_by_server(&mut idle, limit)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Half a body: 408 with the JSON error.
    let mut half_body = TcpStream::connect(&server.addr).unwrap();
    half_body
        .write_all(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"instances\": [")
        .unwrap();
    let answer = String::from_utf8(closed_by_server(&mut half_body, limit)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("\"error_code\":\"REQUEST_TIMEOUT\""),
        "{answer}"
    );
}

#[test]
fn a_flood_of_idle_connections_cannot_lock_out_a_health_check() {
    for (files, idle) in [(Some(256), 300), (None, 1_000)] {
        let server = Server::launch(files, &["--quiet"]);
        let open: Vec<TcpStream> = (0..idle)
            .map(|_| TcpStream::connect(&server.addr).unwrap())
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let mut ping = TcpStream::connect(&server.addr).unwrap();
        ping.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let limit = std::time::Duration::from_secs(30);
        let answer = String::from_utf8(closed_by_server(&mut ping, limit)).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{files:?}: {answer}");
        drop(open);
        assert_eq!(server.stop(), 0);
    }
}

#[test]
fn the_server_runs_with_an_allocator_that_returns_memory() {
    // The mechanism behind the memory figures of `cargo xtask loadtest`: glibc's tunables fixed
    // at start, by one re-exec, so decoded bodies are mapped alone and handed back when done.
    let server = Server::start(&[]);
    let environ = std::fs::read(format!("/proc/{}/environ", server.child.id())).unwrap();
    let tunables = environ
        .split(|&b| b == 0)
        .find_map(|v| v.strip_prefix(b"GLIBC_TUNABLES="))
        .map(|v| String::from_utf8_lossy(v).into_owned());
    // glibc cuts the variable at its first separator as it reads it, so only the first setting
    // shows in the environment of the running process.
    assert!(
        tunables
            .as_deref()
            .is_some_and(|t| t.starts_with("glibc.malloc.mmap_threshold=1048576")),
        "{tunables:?}"
    );
    // A large body still decodes to the right number of predictions.
    let row = json!([8.3252, 41.0, 6.98, 1.02, 322.0, 2.56, 37.88, -122.23]);
    let (status, answer) = server.post(&json!({ "instances": vec![row; 50_000] }));
    assert_eq!(status, 200);
    assert_eq!(predictions(&answer).len(), 50_000);
    assert_eq!(server.stop(), 0);
}

/// Parse an OpenMetrics text with `prometheus_client`'s own parser: each sample as
/// `[name, {labels}, value]`.
fn parsed_by_prometheus_client(text: &str) -> Vec<Value> {
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
samples = [
    [s.name, s.labels, s.value]
    for family in text_string_to_metric_families(sys.stdin.read())
    for s in family.samples
]
print(json.dumps(samples))
"#;
    let out = with_stdin(Command::new(python()).args(["-c", script]), text.as_bytes());
    assert!(
        out.status.success(),
        "prometheus_client refused the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The value of the sample `name` whose labels include `labels`, if any.
fn sample(samples: &[Value], name: &str, labels: &Value) -> Option<f64> {
    samples.iter().find_map(|s| {
        let matches = s[0] == name
            && labels
                .as_object()
                .unwrap()
                .iter()
                .all(|(k, v)| s[1][k] == *v);
        matches.then(|| s[2].as_f64().unwrap())
    })
}

#[test]
fn metrics_parse_with_prometheus_client_and_move() {
    let server = Server::start(&[]);
    let metrics = |server: &Server| {
        let (status, text) = server.request("GET", "/metrics", "text/plain", b"");
        assert_eq!(status, 200);
        parsed_by_prometheus_client(text.as_str().unwrap())
    };
    let before = metrics(&server);
    let info = sample(&before, "cali_reg_model_info", &json!({"kind": "float"}));
    assert_eq!(info, Some(1.0));
    let started = sample(&before, "cali_reg_process_start_time_seconds", &json!({})).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        started > now - 600.0 && started <= now,
        "{started} vs {now}"
    );

    // Two rows, one of them out of range; a bad request; an unknown path.
    let mut far = rows()[0].clone();
    far[2] = 1e4;
    let (status, _) = server.post(&json!({ "instances": [rows()[0].clone(), far] }));
    assert_eq!(status, 200);
    let (status, _) = server.post(&json!({ "instances": [[1, 2]] }));
    assert_eq!(status, 400);
    assert_eq!(server.request("GET", "/nowhere", "text/plain", b"").0, 404);

    let after = metrics(&server);
    let count = |samples: &[Value], labels: Value| {
        sample(samples, "cali_reg_http_requests_total", &labels).unwrap_or(0.0)
    };
    for (labels, moved) in [
        (json!({"route": "/invocations", "status": "200"}), 1.0),
        (json!({"route": "/invocations", "status": "400"}), 1.0),
        (json!({"route": "other", "status": "404"}), 1.0),
        (json!({"route": "/metrics", "status": "200"}), 1.0),
    ] {
        assert_eq!(
            count(&after, labels.clone()) - count(&before, labels.clone()),
            moved,
            "{labels}"
        );
    }
    let rows_of = |samples: &[Value], name: &str| sample(samples, name, &json!({})).unwrap_or(0.0);
    assert_eq!(
        rows_of(&after, "cali_reg_rows_predicted_total")
            - rows_of(&before, "cali_reg_rows_predicted_total"),
        2.0
    );
    assert_eq!(
        rows_of(&after, "cali_reg_rows_out_of_range_total")
            - rows_of(&before, "cali_reg_rows_out_of_range_total"),
        1.0
    );
    let latency = sample(
        &after,
        "cali_reg_http_request_duration_seconds_count",
        &json!({"route": "/invocations"}),
    );
    assert_eq!(latency, Some(2.0));
    assert_eq!(server.stop(), 0);
}

/// Wait (up to 20 s) until `done` holds.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed().as_secs() < 20, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn sighup_reloads_the_model_and_keeps_it_when_the_new_file_is_bad() {
    let server = Server::start(&[]);
    let body = json!({ "instances": [rows()[0].clone()] });
    let served = || predictions(&server.post(&body).1);
    let before = served();
    // A model of another split, written over the file served, then SIGHUP.
    let retrained = Command::new(env!("CARGO_BIN_EXE_cali-reg"))
        .args(["train", "--seed", "7", "--json", "--artifacts"])
        .arg(&server.artifacts)
        .env("CALI_REG_DATA", data_path())
        .output()
        .unwrap();
    assert!(retrained.status.success());
    let model: Value = serde_json::from_slice(&retrained.stdout).unwrap();
    let expected: f64 = model["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&rows()[0])
        .map(|(c, x)| c.as_f64().unwrap() * x)
        .sum::<f64>()
        + model["intercept"].as_f64().unwrap();
    let hangup = || server.hangup();
    hangup();
    eventually("the new model answers", || served() != before);
    assert!(
        (served()[0] - expected).abs() <= 1e-12 * expected.abs(),
        "{:?} vs {expected}",
        served()
    );
    // The log line follows the swap: the new model may answer before it is written.
    eventually("the reload is logged", || {
        server.log.lock().unwrap().contains("reloaded")
    });

    // A bad file: refused with the reason, and the model served stays.
    std::fs::write(
        server.artifacts.join("linear_model.msgpack"),
        b"not a model",
    )
    .unwrap();
    hangup();
    eventually("the bad file is refused", || {
        server.log.lock().unwrap().contains("kept the model served")
    });
    assert!((served()[0] - expected).abs() <= 1e-12 * expected.abs());
    assert_eq!(server.stop(), 0);
}

/// Rows of the model's features as a CSV with their header (every digit kept).
fn features_csv<'a>(rows: impl Iterator<Item = &'a Vec<f64>>) -> String {
    std::iter::once(FEATURES.join(","))
        .chain(rows.map(|r| {
            r.iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(",")
        }))
        .map(|l| l + "\n")
        .collect()
}

/// Every tenth row of California (a sample of the whole state), as the model takes them;
/// with `incomes` times the median income.
fn sampled_rows(incomes: f64) -> Vec<Vec<f64>> {
    let table = dataset::load_path(&data_path(), &dataset::Spec::default()).unwrap();
    (0..table.x.nrows())
        .step_by(10)
        .map(|r| {
            let mut row: Vec<f64> = table.x.row(r).iter().copied().collect();
            row[0] *= incomes;
            row
        })
        .collect()
}

#[test]
fn drift_gauges_move_with_drifted_rows_and_get_drift_is_the_commands_report() {
    for quantized in [false, true] {
        let extra: &[&str] = if quantized { &["--quantized"] } else { &[] };
        let server = Server::start(extra);
        let metrics = |server: &Server| {
            let (status, text) = server.request("GET", "/metrics", "text/plain", b"");
            assert_eq!(status, 200);
            parsed_by_prometheus_client(text.as_str().unwrap())
        };
        let psi = |samples: &[Value], feature: &str| {
            sample(
                samples,
                "cali_reg_feature_psi",
                &json!({ "feature": feature }),
            )
        };
        // Before any row: the expectation, and no drift figures yet.
        let before = metrics(&server);
        let expected = sample(&before, "cali_reg_prediction_training_mean", &json!({})).unwrap();
        // Least squares with an intercept: the training predictions' mean is the training
        // targets' (scikit-learn's split); the quantised model's within its bias correction.
        let y_mean: f64 = String::from_utf8(run_python(
            "import sys, pandas as pd\nfrom sklearn.model_selection import train_test_split\n\
             d = pd.read_csv(sys.argv[1])\n_, _, y, _ = train_test_split(d, d.median_house_value / 100000, test_size=0.2, random_state=42)\n\
             print(repr(float(y.mean())))",
            &[data_path().to_str().unwrap()],
        ))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
        let tolerance = if quantized { 0.01 } else { 1e-9 };
        assert!(
            (expected - y_mean).abs() < tolerance * y_mean,
            "{expected} against {y_mean}"
        );
        assert_eq!(psi(&before, "MedInc"), None);
        let (status, body) = server.request("GET", "/drift", "text/plain", b"");
        assert_eq!(status, 409, "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("no rows were predicted")
        );

        // A sample of the state: nothing drifted.
        let sample_rows = sampled_rows(1.0);
        let body = json!({ "dataframe_split": { "columns": FEATURES, "data": sample_rows } });
        assert_eq!(server.post(&body).0, 200);
        let calm = metrics(&server);
        for feature in FEATURES {
            let p = psi(&calm, feature).unwrap();
            assert!(p < 0.02, "{feature}: PSI {p}");
        }
        // The same rows with incomes up by 30%: MedInc's gauges move, the others' stay.
        let drifted = sampled_rows(1.3);
        let body = json!({ "dataframe_split": { "columns": FEATURES, "data": drifted } });
        assert_eq!(server.post(&body).0, 200);
        let moved = metrics(&server);
        assert!(psi(&moved, "MedInc").unwrap() > 0.05, "{moved:?}");
        assert!(psi(&moved, "HouseAge").unwrap() < 0.02);
        let shift = |s: &[Value], f: &str| {
            sample(s, "cali_reg_feature_mean_shift", &json!({ "feature": f })).unwrap()
        };
        assert!(shift(&moved, "MedInc") > shift(&calm, "MedInc") + 0.1);
        let rows = sample(&moved, "cali_reg_drift_window_rows", &json!({})).unwrap();
        assert_eq!(rows, (2 * sample_rows.len()) as f64);
        let mean = sample(&moved, "cali_reg_prediction_mean", &json!({})).unwrap();
        assert!(mean > expected, "{mean} {expected}");
        // The label set is the model's features, whatever the clients send.
        let labels: std::collections::BTreeSet<String> = moved
            .iter()
            .filter(|s| s[0] == "cali_reg_feature_psi")
            .map(|s| s[1]["feature"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(labels, FEATURES.iter().map(|f| f.to_string()).collect());

        // GET /drift: the report `cali-reg drift --json` gives of the same rows.
        let (status, served) = server.request("GET", "/drift", "text/plain", b"");
        assert_eq!(status, 200, "{served}");
        let table = server.artifacts.parent().unwrap().join("window.csv");
        std::fs::write(&table, features_csv(sample_rows.iter().chain(&drifted))).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_cali-reg"))
            .args(["drift", "--json", "--artifacts"])
            .arg(&server.artifacts)
            .arg("--data")
            .arg(&table)
            .output()
            .unwrap();
        let cli = crate::support::json_of(&out);
        assert_eq!(served["rows"], cli["rows"]);
        let columns = |v: &Value| {
            let mut c = v["features"].as_array().unwrap().clone();
            c.push(v["prediction"].clone());
            c
        };
        for (s, c) in columns(&served).iter().zip(columns(&cli)) {
            let name = c["name"].as_str().unwrap();
            if quantized && name == "prediction" {
                continue; // the quantised model's predictions, against the float model's bins
            }
            assert_eq!(s["counts"], c["counts"], "{name}");
            for key in [
                "psi",
                "ks",
                "ks_upper",
                "wasserstein",
                "out_of_range",
                "mean_shift",
            ] {
                let (a, b) = (s[key].as_f64().unwrap(), c[key].as_f64().unwrap());
                assert!(
                    (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                    "{name} {key}: {a} {b}"
                );
            }
        }
        assert_eq!(server.stop(), 0);
    }
}

/// A model fitted from statistics files (the features' distributions, not the predictions'),
/// loaded by a reload: the features' gauges move with drifted rows, the predictions' mean is
/// still exported, and `GET /drift` has no prediction row, as `cali-reg drift --json` has none.
#[test]
fn a_model_from_statistics_files_watches_its_features() {
    let server = Server::start(&[]);
    let dir = server.artifacts.parent().unwrap().to_path_buf();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_cali-reg"))
            .args(args)
            .arg("--artifacts")
            .arg(&server.artifacts)
            .env("CALI_REG_DATA", data_path())
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    cli(&["stats", "-o", "all.stats"]);
    cli(&["train", "--from-stats", "all.stats"]);
    server.hangup();
    eventually("the reload is logged", || {
        server.log.lock().unwrap().contains("reloaded")
    });
    let rows = sampled_rows(1.3);
    let body = json!({ "dataframe_split": { "columns": FEATURES, "data": rows } });
    assert_eq!(server.post(&body).0, 200);
    let (status, text) = server.request("GET", "/metrics", "text/plain", b"");
    assert_eq!(status, 200);
    let samples = parsed_by_prometheus_client(text.as_str().unwrap());
    let psi = |f: &str| sample(&samples, "cali_reg_feature_psi", &json!({ "feature": f })).unwrap();
    assert!(psi("MedInc") > 0.05 && psi("HouseAge") < 0.02);
    let mean = sample(&samples, "cali_reg_prediction_mean", &json!({})).unwrap();
    let expected = sample(&samples, "cali_reg_prediction_training_mean", &json!({})).unwrap();
    assert!(mean > expected, "{mean} {expected}");
    let (status, served) = server.request("GET", "/drift", "text/plain", b"");
    assert_eq!(status, 200, "{served}");
    assert!(served["prediction"].is_null(), "{served}");
    std::fs::write(dir.join("window.csv"), features_csv(rows.iter())).unwrap();
    let report = crate::support::json_of(&cli(&["drift", "--json", "--data", "window.csv"]));
    assert!(report["prediction"].is_null());
    for (s, c) in served["features"]
        .as_array()
        .unwrap()
        .iter()
        .zip(report["features"].as_array().unwrap())
    {
        assert_eq!((&s["name"], &s["counts"]), (&c["name"], &c["counts"]));
        let (a, b) = (s["psi"].as_f64().unwrap(), c["psi"].as_f64().unwrap());
        assert!((a - b).abs() <= 1e-12 * b.max(1.0), "{a} {b}");
    }
    assert_eq!(server.stop(), 0);
}
