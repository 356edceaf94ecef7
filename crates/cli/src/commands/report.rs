//! `cali-reg report`: sizes and accuracy of the float model, our quantised model and the
//! original's scheme, beside the original's published figures.

use std::time::Instant;

use dataset::write_atomically;
use linreg::{Metrics, OriginalScheme, envelope};
use pipeline::{LINEAR, PLOT, Prepared, QUANTIZED, REPORT, RunRecord, Scores, Sizes};
use serde_json::{Value, json};

use crate::args::Common;
use crate::output::{self, thousands};
use crate::plot;

/// The Python original's published figures: joblib file bytes and test R².
pub const ORIGINAL_FLOAT: (u64, f64, f64) = (1097, 0.5758, 0.7456);
/// Its quantised file: bytes and test R² (no RMSE published).
pub const ORIGINAL_QUANT: (u64, f64) = (486, 0.4854);

/// One row of the table.
struct Row {
    name: &'static str,
    file_bytes: Option<u64>,
    payload_bytes: Option<usize>,
    parameter_bytes: Option<usize>,
    metrics: Metrics,
}

/// What the report says, computed once; then written, recorded and printed.
struct Report {
    rows: [Row; 3],
    /// Largest |float − quantised| prediction on the test rows, and its analytic bound.
    observed: f64,
    bound: f32,
    image_bytes: Option<u64>,
    /// Test targets and the two models' predictions, for the plot.
    y: Vec<f64>,
    float_predictions: Vec<f64>,
    quant_predictions: Vec<f64>,
    markdown: String,
}

/// The keys of the three rows in `run.json` and `--json`.
const KEYS: [&str; 3] = ["float", "quantized", "original_scheme"];

pub fn run(common: &Common) -> anyhow::Result<()> {
    let start = Instant::now();
    let dir = &common.artifacts;
    let mut record = RunRecord::open_or_empty(dir)?;
    let report = compute(common, &record)?;
    let svg = plot::predictions_svg(
        &report.y,
        &report.float_predictions,
        &report.quant_predictions,
    )?;
    write_atomically(&dir.join(REPORT), report.markdown.as_bytes())?;
    write_atomically(&dir.join(PLOT), svg.as_bytes())?;
    note(&mut record, &report, &svg);
    record.note_stage("report", start.elapsed().as_secs_f64());
    record.save(dir)?;
    if common.json {
        output::json(&as_json(&report, dir))
    } else {
        output::line(format_args!("{}", report.markdown.trim_end()))
    }
}

/// Load the models and the test split, and measure the three models on it.
fn compute(common: &Common, record: &RunRecord) -> anyhow::Result<Report> {
    let dir = &common.artifacts;
    let float = record.load_float(dir)?;
    let quant = record.load_quantized(dir)?;
    let original = OriginalScheme::quantize(&float);
    let split = common.split();
    let prepared = Prepared::load_recorded(
        &common.data(),
        split.resolve(Some(record)),
        record,
        split.is_given(),
    )?;
    prepared.check_model(float.recipe())?;
    output::warnings(
        &prepared
            .other_data_warning(record)
            .into_iter()
            .collect::<Vec<_>>(),
    );
    let (x, y) = prepared.test();
    let (pf, pq, po) = (
        float.predict(&x)?,
        quant.predict(&x)?,
        original.predict(&x)?,
    );
    let w = prepared.test_weights();
    let metrics = |p: &nalgebra::DVector<f64>| {
        Metrics::compute_weighted(y.as_slice(), p.as_slice(), w.as_ref().map(|w| w.as_slice()))
    };
    let file_bytes = |name: &str| std::fs::metadata(dir.join(name)).map(|m| m.len()).ok();
    let rows = [
        Row {
            name: "float, ours",
            file_bytes: file_bytes(LINEAR),
            payload_bytes: Some(envelope::payload(&float)?.len()),
            parameter_bytes: Some(8 * (float.coefficients().len() + 1)),
            metrics: metrics(&pf)?,
        },
        Row {
            name: "uint8 per-tensor + bias correction, ours",
            file_bytes: file_bytes(QUANTIZED),
            payload_bytes: Some(envelope::payload(&quant)?.len()),
            parameter_bytes: Some(quant.parameter_bytes()),
            metrics: metrics(&pq)?,
        },
        Row {
            name: "original's scheme (±0.05 windows), our code",
            file_bytes: None,
            payload_bytes: Some(envelope::payload(&original)?.len()),
            parameter_bytes: Some(original.parameter_bytes()),
            metrics: metrics(&po)?,
        },
    ];
    let observed = pf
        .iter()
        .zip(pq.iter())
        .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
    let bound = quant.max_deviation_bound();
    let image_bytes = record.image.as_ref().map(|image| image.bytes);
    let markdown = render(&rows, observed, f64::from(bound), image_bytes, &prepared);
    Ok(Report {
        rows,
        observed,
        bound,
        image_bytes,
        y: y.as_slice().to_vec(),
        float_predictions: pf.as_slice().to_vec(),
        quant_predictions: pq.as_slice().to_vec(),
        markdown,
    })
}

/// What the run record keeps of the report.
fn note(record: &mut RunRecord, report: &Report, svg: &str) {
    let [float, quantized, original] = &report.rows;
    let metrics = &mut record.metrics;
    metrics.float = Some(Scores {
        in_sample: metrics.float.and_then(|s| s.in_sample),
        ..Scores::of(&float.metrics, None)
    });
    metrics.quantized = Some(Scores::of(&quantized.metrics, None));
    metrics.original_scheme = Some(Scores::of(&original.metrics, None));
    metrics.max_abs_deviation_test = Some(report.observed);
    metrics.max_abs_deviation_bound = Some(f64::from(report.bound));
    for (key, row) in KEYS.iter().zip(&report.rows) {
        let sizes = Sizes {
            file_bytes: row.file_bytes,
            payload_bytes: row.payload_bytes.map(|b| b as u64),
            parameter_bytes: row.parameter_bytes.map(|b| b as u64),
        };
        record.sizes.insert((*key).to_owned(), sizes);
    }
    record.note_file(REPORT, report.markdown.as_bytes());
    record.note_file(PLOT, svg.as_bytes());
}

/// The report as one JSON object.
fn as_json(report: &Report, dir: &std::path::Path) -> Value {
    let table: Vec<Value> = KEYS
        .iter()
        .zip(&report.rows)
        .map(|(key, r)| {
            json!({
                "model": key,
                "file_bytes": r.file_bytes,
                "payload_bytes": r.payload_bytes,
                "parameter_bytes": r.parameter_bytes,
                "r2": r.metrics.r2,
                "rmse": r.metrics.rmse,
                "mae": r.metrics.mae,
            })
        })
        .collect();
    json!({
        "command": "report",
        "models": table,
        "original_published": {
            "float": { "file_bytes": ORIGINAL_FLOAT.0, "r2": ORIGINAL_FLOAT.1, "rmse": ORIGINAL_FLOAT.2 },
            "quantized": { "file_bytes": ORIGINAL_QUANT.0, "r2": ORIGINAL_QUANT.1 },
        },
        "max_abs_deviation_test": report.observed,
        "max_abs_deviation_bound": report.bound,
        "image_bytes": report.image_bytes,
        "report": dir.join(REPORT).display().to_string(),
        "plot": dir.join(PLOT).display().to_string(),
    })
}

fn cell<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| String::from("—"), |v| v.to_string())
}

fn render(
    rows: &[Row],
    observed: f64,
    bound: f64,
    image: Option<u64>,
    prepared: &Prepared,
) -> String {
    let mut s = String::from(
        "| model | file bytes | payload bytes | parameter bytes | test R² | test RMSE |\n",
    );
    s.push_str("|---|--:|--:|--:|--:|--:|\n");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:.4} | {:.4} |\n",
            r.name,
            cell(r.file_bytes.map(thousands)),
            cell(r.payload_bytes),
            cell(r.parameter_bytes),
            r.metrics.r2,
            r.metrics.rmse
        ));
    }
    s.push_str(&format!(
        "| Python original, float (joblib), published | {} | — | — | {:.4} | {:.4} |\n",
        thousands(ORIGINAL_FLOAT.0),
        ORIGINAL_FLOAT.1,
        ORIGINAL_FLOAT.2
    ));
    s.push_str(&format!(
        "| Python original, quantised (joblib), published | {} | — | — | {:.4} | — |\n",
        ORIGINAL_QUANT.0, ORIGINAL_QUANT.1
    ));
    if let Some(bytes) = image {
        s.push_str(&format!(
            "| container image (`cali-reg:latest`) | {} | — | — | — | — |\n",
            thousands(bytes)
        ));
    }
    s.push_str(&format!(
        "\nTest split: {} rows (seed {}, test size {}). Largest |float − quantised| prediction on it: {observed:.4}; analytic bound over the training ranges: {bound:.4}.\n",
        prepared.split.test.len(),
        prepared.params.seed,
        prepared.params.test_size
    ));
    s
}
