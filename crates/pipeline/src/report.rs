//! `report`: sizes and accuracy of the float model, our quantised model and the original's
//! scheme, beside the original's published figures; written as `report.md` and
//! `predictions.svg`, kept in the record, and returned as a [`Report`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use dataset::write_atomically;
use linreg::{Metrics, OriginalScheme, envelope};
use serde::Serialize;

use crate::artifacts::{LINEAR, PLOT, QUANTIZED, REPORT};
use crate::data::DataOptions;
use crate::error::Result;
use crate::plot;
use crate::prepared::Prepared;
use crate::run_record::{RunRecord, Scores, Sizes};
use crate::split::SplitChoice;

/// The Python original's published figures: joblib file bytes and test R² and RMSE.
pub const ORIGINAL_FLOAT: (u64, f64, f64) = (1097, 0.5758, 0.7456);
/// Its quantised file: bytes and test R² (no RMSE published).
pub const ORIGINAL_QUANT: (u64, f64) = (486, 0.4854);

/// What `report` reads.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The artifacts folder.
    pub artifacts: PathBuf,
    /// The data and its columns.
    pub data: DataOptions,
    /// The split, where given (else the record's).
    pub split: SplitChoice,
}

/// One model's row of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRow {
    /// `float`, `quantized` or `original_scheme`.
    pub model: &'static str,
    /// Its file's size (none for the original's scheme, which is not saved).
    pub file_bytes: Option<u64>,
    /// Its MessagePack payload's size.
    pub payload_bytes: Option<usize>,
    /// Its parameters' size.
    pub parameter_bytes: Option<usize>,
    /// R² on the test rows.
    pub r2: f64,
    /// RMSE on the test rows.
    pub rmse: f64,
    /// MAE on the test rows.
    pub mae: f64,
    /// Its name in the table.
    #[serde(skip)]
    pub name: &'static str,
}

/// The original's published figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Published {
    /// Its float model: file bytes, R², RMSE.
    pub float: PublishedModel,
    /// Its quantised model: file bytes, R².
    pub quantized: PublishedModel,
}

/// One of the original's models as it published them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PublishedModel {
    /// The joblib file's size.
    pub file_bytes: u64,
    /// Test R².
    pub r2: f64,
    /// Test RMSE, where published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rmse: Option<f64>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// `"report"`.
    pub command: &'static str,
    /// The three models.
    pub models: Vec<ModelRow>,
    /// The original's figures.
    pub original_published: Published,
    /// Largest |float − quantised| prediction on the test rows.
    pub max_abs_deviation_test: f64,
    /// Its analytic bound over the training ranges.
    pub max_abs_deviation_bound: f32,
    /// The container image's size, when `cargo xtask pipeline` recorded it.
    pub image_bytes: Option<u64>,
    /// `report.md`'s path.
    pub report: String,
    /// `predictions.svg`'s path.
    pub plot: String,
    /// The Markdown table, as written to `report.md`.
    #[serde(skip)]
    pub markdown: String,
    /// Warnings for the user (data other than the training data).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.markdown.trim_end())
    }
}

/// The keys of the three rows in `run.json` and `--json`.
const KEYS: [&str; 3] = ["float", "quantized", "original_scheme"];

/// Measure the three models on the test split, write `report.md` and `predictions.svg`, and
/// add the figures to the record. The caller holds the folder's exclusive lock.
pub fn report(options: &ReportOptions) -> Result<Report> {
    let start = Instant::now();
    let dir = &options.artifacts;
    let mut record = RunRecord::open_or_empty(dir)?;
    let dir: &Path = dir;
    let float = record.load_float(dir)?;
    let quant = record.load_quantized(dir)?;
    let original = OriginalScheme::quantize(&float);
    let split = options.split;
    let prepared = Prepared::load_recorded(
        &options.data,
        split.resolve(Some(&record)),
        &record,
        split.is_given(),
    )?;
    prepared.check_model(float.recipe())?;
    let warnings: Vec<String> = prepared.other_data_warning(&record).into_iter().collect();
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
    let row = |model, name, file_bytes, payload: usize, parameter_bytes, m: Metrics| ModelRow {
        model,
        name,
        file_bytes,
        payload_bytes: Some(payload),
        parameter_bytes: Some(parameter_bytes),
        r2: m.r2,
        rmse: m.rmse,
        mae: m.mae,
    };
    let payload = |bytes: std::result::Result<Vec<u8>, linreg::Error>| bytes.map(|b| b.len());
    let models = vec![
        row(
            KEYS[0],
            "float, ours",
            file_bytes(LINEAR),
            payload(envelope::payload(&float))?,
            8 * (float.coefficients().len() + 1),
            metrics(&pf)?,
        ),
        row(
            KEYS[1],
            "uint8 per-tensor + bias correction, ours",
            file_bytes(QUANTIZED),
            payload(envelope::payload(&quant))?,
            quant.parameter_bytes(),
            metrics(&pq)?,
        ),
        row(
            KEYS[2],
            "original's scheme (±0.05 windows), our code",
            None,
            payload(envelope::payload(&original))?,
            original.parameter_bytes(),
            metrics(&po)?,
        ),
    ];
    let observed = pf
        .iter()
        .zip(pq.iter())
        .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
    let bound = quant.max_deviation_bound();
    let image_bytes = record.image.as_ref().map(|image| image.bytes);
    let markdown = render(&models, observed, f64::from(bound), image_bytes, &prepared);
    let svg = plot::predictions_svg(y.as_slice(), pf.as_slice(), pq.as_slice())?;
    write_atomically(&dir.join(REPORT), markdown.as_bytes())?;
    write_atomically(&dir.join(PLOT), svg.as_bytes())?;
    let report = Report {
        command: "report",
        models,
        original_published: Published {
            float: PublishedModel {
                file_bytes: ORIGINAL_FLOAT.0,
                r2: ORIGINAL_FLOAT.1,
                rmse: Some(ORIGINAL_FLOAT.2),
            },
            quantized: PublishedModel {
                file_bytes: ORIGINAL_QUANT.0,
                r2: ORIGINAL_QUANT.1,
                rmse: None,
            },
        },
        max_abs_deviation_test: observed,
        max_abs_deviation_bound: bound,
        image_bytes,
        report: dir.join(REPORT).display().to_string(),
        plot: dir.join(PLOT).display().to_string(),
        markdown,
        warnings,
    };
    note(&mut record, &report, &svg);
    record.note_stage("report", start.elapsed().as_secs_f64());
    record.save(dir)?;
    Ok(report)
}

/// What the run record keeps of the report.
fn note(record: &mut RunRecord, report: &Report, svg: &str) {
    let scores = |row: &ModelRow| {
        Scores::of(
            &Metrics {
                r2: row.r2,
                rmse: row.rmse,
                mae: row.mae,
            },
            None,
        )
    };
    let [float, quantized, original] = [&report.models[0], &report.models[1], &report.models[2]];
    let metrics = &mut record.metrics;
    metrics.float = Some(Scores {
        in_sample: metrics.float.and_then(|s| s.in_sample),
        ..scores(float)
    });
    metrics.quantized = Some(scores(quantized));
    metrics.original_scheme = Some(scores(original));
    metrics.max_abs_deviation_test = Some(report.max_abs_deviation_test);
    metrics.max_abs_deviation_bound = Some(f64::from(report.max_abs_deviation_bound));
    for row in &report.models {
        let sizes = Sizes {
            file_bytes: row.file_bytes,
            payload_bytes: row.payload_bytes.map(|b| b as u64),
            parameter_bytes: row.parameter_bytes.map(|b| b as u64),
        };
        record.sizes.insert(row.model.to_owned(), sizes);
    }
    record.note_file(REPORT, report.markdown.as_bytes());
    record.note_file(PLOT, svg.as_bytes());
}

/// `1,097` style thousands separators.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn cell<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| String::from("—"), |v| v.to_string())
}

fn render(
    rows: &[ModelRow],
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
            r.r2,
            r.rmse
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(1097), "1,097");
        assert_eq!(thousands(486), "486");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
