//! `serve`: cali-reg's scoring service as a library.
//!
//! [`router`] gives an axum [`Router`](axum::Router) for a loaded model ([`App`]) that speaks
//! MLflow's scoring protocol: `GET /ping`, `/health`, `/version`, `/metadata`, `/metrics`
//! (OpenMetrics), and `POST /invocations` with MLflow's JSON inputs (`dataframe_split`,
//! `dataframe_records`, `instances`, `inputs`) or `text/csv`, answered
//! `{"predictions": [...]}`. Bad requests get a 4xx and `{"error_code", "message"}`, the code
//! decided by the [`ApiError`] variant. Another Rust server can mount the routes;
//! [`connections::serve`] runs them on a listener with read timeouts, a cap on open
//! connections and a bounded graceful stop, as `cali-reg serve` does (which adds the socket,
//! the signals and the log).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use serve::{App, ModelSource, Options};
//! let options = Options {
//!     max_body: 10 << 20,
//!     body_timeout: std::time::Duration::from_secs(30),
//!     log: None,
//!     drift_minutes: serve::drift::DEFAULT_MINUTES,
//! };
//! let app = App::new(ModelSource::File("artifacts/linear_model.msgpack".into()), options)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, serve::router(app)).await?;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod app;
mod body;
pub mod connections;
mod csv;
pub mod drift;
mod error;
mod metrics;
mod rows;

pub use app::{App, ModelSource, Options, Reloaded, router};
pub use error::ApiError;
