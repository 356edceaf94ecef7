//! The router as another Rust server would mount it: requests handed to it directly, no
//! socket, no process.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use axum::body::Body;
use axum::http::{Request, StatusCode};
use linreg::{AnyModel, LinearRegression, Predictor, Recipe};
use nalgebra::{DMatrix, DVector};
use serve::{App, ModelSource, Options};
use tower::ServiceExt;

/// A model of y = 2a − b + 1 written to a file, and its predictor.
fn model(dir: &std::path::Path) -> (std::path::PathBuf, Predictor) {
    let x = DMatrix::from_row_slice(4, 2, &[0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 2.0, 3.0]);
    let y = DVector::from_vec(vec![1.0, 3.0, 0.0, 2.0]);
    let names = [String::from("a"), String::from("b")];
    let fitted = LinearRegression::new()
        .recipe(Recipe::identity(&names, "y"))
        .fit(&x, &y)
        .unwrap();
    let path = dir.join("model.msgpack");
    std::fs::write(&path, linreg::envelope::encode(&fitted).unwrap()).unwrap();
    (path, Predictor::new(AnyModel::Float(fitted)))
}

async fn send(router: axum::Router, request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

fn post(body: &str, content_type: &str) -> Request<Body> {
    Request::post("/invocations")
        .header("content-type", content_type)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn the_router_predicts_and_refuses_without_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let (path, predictor) = model(dir.path());
    let options = Options {
        max_body: 1 << 20,
        body_timeout: std::time::Duration::from_secs(5),
        log: None,
        drift_minutes: 60,
    };
    let app = App::new(ModelSource::File(path), options).unwrap();
    let router = serve::router(app);

    let body = r#"{"dataframe_split": {"columns": ["b", "a"], "data": [[1.5, 0.25]]}}"#;
    let (status, answer) = send(router.clone(), post(body, "application/json")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let want = predictor.predict_row(&[0.25, 1.5]);
    assert_eq!(
        answer["predictions"][0].as_f64().unwrap().to_bits(),
        want.to_bits()
    );

    let (status, answer) = send(router.clone(), post("a,b\n0.25,1.5\n", "text/csv")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["predictions"][0].as_f64().unwrap().to_bits(),
        want.to_bits()
    );

    // A body that does not parse, and a table that does not fit the model: told apart by code.
    let (status, answer) = send(router.clone(), post("{", "application/json")).await;
    assert_eq!(
        (status, answer["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BAD_REQUEST"))
    );
    let (status, answer) = send(
        router.clone(),
        post(r#"{"dataframe_records": [{"c": 1}]}"#, "application/json"),
    )
    .await;
    assert_eq!(
        (status, answer["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER_VALUE")),
        "{answer}"
    );
    let (status, answer) = send(
        router,
        Request::get("/nowhere").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status, answer["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("ENDPOINT_NOT_FOUND"))
    );
}
