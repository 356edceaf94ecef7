//! `GET /metrics`: what the server has done, in the OpenMetrics text format that Prometheus
//! scrapes (prometheus-client's registry and encoder).

use std::sync::RwLock;
use std::sync::atomic::AtomicU64;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The media type of the answer.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The routes requests are counted by; anything else counts as `other`, so that a client
/// cannot grow the label set without bound.
const ROUTES: [&str; 7] = [
    "/invocations",
    "/ping",
    "/health",
    "/version",
    "/metadata",
    "/metrics",
    "/drift",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Request {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: &'static str,
}

/// The model served, as an info metric read at each scrape (a reload changes it).
#[derive(Debug, Default)]
struct ModelInfo(RwLock<Vec<(String, String)>>);

impl Collector for ModelInfo {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let labels = self.0.read().map(|l| l.clone()).unwrap_or_default();
        let metric =
            encoder.encode_descriptor("model", "The model served.", None, MetricType::Info)?;
        Info::new(labels).encode(metric)
    }
}

/// One of a column's drift measures.
type Measure = fn(&linreg::drift::Drift) -> f64;

/// The drift window's figures, computed at each scrape: for each feature (the model's names,
/// a fixed label set) the PSI, the mean shift and the share out of range; the predictions' mean
/// and the served model's mean prediction of its training rows.
#[derive(Debug)]
struct DriftGauges(std::sync::Arc<std::sync::Mutex<Option<crate::drift::Window>>>);

impl Collector for DriftGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use prometheus_client::metrics::gauge::ConstGauge;
        let mut window = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(window) = window.as_mut() else {
            return Ok(());
        };
        let expected = encoder.encode_descriptor(
            "prediction_training_mean",
            "The served model's mean prediction of its training rows",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(window.expected_prediction()).encode(expected)?;
        let Some(Ok(report)) = window.report(crate::drift::this_minute(), String::new()) else {
            return Ok(());
        };
        let gauges: [(&str, &str, Measure); 3] = [
            (
                "feature_psi",
                "Population stability index of the window's rows against the training bins, by feature",
                |d| d.psi,
            ),
            (
                "feature_mean_shift",
                "Mean of the window's rows less the training mean, in training standard deviations, by feature",
                |d| d.mean_shift,
            ),
            (
                "feature_out_of_range_ratio",
                "Share of the window's rows outside the training range, by feature",
                |d| d.out_of_range,
            ),
        ];
        for (name, help, value) in gauges {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for column in &report.features {
                let labels = [("feature", column.name.as_str())];
                ConstGauge::new(value(&column.drift)).encode(family.encode_family(&labels)?)?;
            }
        }
        let mean = encoder.encode_descriptor(
            "prediction_mean",
            "Mean prediction of the window's rows",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(report.prediction_mean).encode(mean)?;
        let rows = encoder.encode_descriptor(
            "drift_window_rows",
            "Rows predicted in the drift window",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(report.rows as f64).encode(rows)
    }
}

/// The server's counters, histogram and facts.
pub struct Metrics {
    registry: Registry,
    model: std::sync::Arc<ModelInfo>,
    requests: Family<Request, Counter>,
    latency: Family<Route, Histogram>,
    rows: Counter,
    rows_outside: Counter,
}

/// Latency buckets: 50 µs to about 3.3 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(50e-6, 2.0, 17))
}

impl Metrics {
    /// A registry for a server of the model of `kind` whose file has SHA-256 `sha256`.
    pub fn new(
        kind: &str,
        sha256: &str,
        drift: std::sync::Arc<std::sync::Mutex<Option<crate::drift::Window>>>,
    ) -> Self {
        let mut registry = Registry::with_prefix("cali_reg");
        let requests = Family::<Request, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        let latency = Family::<Route, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's head to its answer, by route",
            latency.clone(),
        );
        let rows = Counter::default();
        registry.register("rows_predicted", "Rows predicted", rows.clone());
        let rows_outside = Counter::default();
        registry.register(
            "rows_out_of_range",
            "Rows predicted with a value outside its feature's training range",
            rows_outside.clone(),
        );
        let model = std::sync::Arc::new(ModelInfo::default());
        registry.register_collector(Box::new(model.clone()));
        registry.register_collector(Box::new(DriftGauges(drift)));
        let started = Gauge::<f64, AtomicU64>::default();
        started.set(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        );
        registry.register(
            "process_start_time_seconds",
            "When the server started, in seconds since the Unix epoch",
            started,
        );
        let metrics = Self {
            registry,
            model,
            requests,
            latency,
            rows,
            rows_outside,
        };
        metrics.set_model(kind, sha256);
        metrics
    }

    /// The model now served: its kind and the SHA-256 of its file.
    pub fn set_model(&self, kind: &str, sha256: &str) {
        if let Ok(mut labels) = self.model.0.write() {
            *labels = vec![
                ("kind".to_owned(), kind.to_owned()),
                ("sha256".to_owned(), sha256.to_owned()),
            ];
        }
    }

    /// Count an answered request and its latency.
    pub fn request(&self, path: &str, status: u16, seconds: f64) {
        let route = ROUTES.into_iter().find(|r| *r == path).unwrap_or("other");
        self.requests
            .get_or_create(&Request { route, status })
            .inc();
        self.latency
            .get_or_create(&Route { route })
            .observe(seconds);
    }

    /// Count rows predicted, and those of them with a value outside the training range.
    pub fn rows(&self, predicted: u64, outside: u64) {
        self.rows.inc_by(predicted);
        self.rows_outside.inc_by(outside);
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
