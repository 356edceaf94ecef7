//! `cali-reg predict`: the five sample rows, or every row of a CSV.

use std::path::Path;

use anyhow::Context;
use linreg::InputLayout;
use serde_json::json;

use crate::args::{Common, PredictArgs};
#[cfg(feature = "train")]
use crate::artifacts::write_atomically;
use crate::artifacts::{self, Predictor};
use crate::output;
use crate::rows::CsvRows;

/// How many test rows the sample line shows.
#[cfg(feature = "train")]
pub const SAMPLES: usize = 5;

pub fn run(common: &Common, args: &PredictArgs) -> anyhow::Result<()> {
    let (predictor, _) = Predictor::load(&common.artifacts, common.quantized)?;
    match &args.input {
        Some(input) => predict_file(common, args, &predictor, input),
        None => {
            let predictions = sample_predictions(common, args, &predictor)?;
            print_summary(common, &predictor, &predictions);
            Ok(())
        }
    }
}

fn print_summary(common: &Common, predictor: &Predictor, predictions: &[f64]) {
    if common.json {
        output::json(&json!({
            "command": "predict",
            "model": predictor.kind(),
            "predictions": predictions,
        }));
    } else {
        println!(
            "Sample predictions: {}",
            output::three_decimals(predictions)
        );
    }
}

#[cfg(feature = "train")]
fn sample_predictions(
    common: &Common,
    args: &PredictArgs,
    predictor: &Predictor,
) -> anyhow::Result<Vec<f64>> {
    use crate::data::{Prepared, SplitParams, warn_if_other_data};
    use crate::record::Record;

    let record = Record::open(&common.artifacts)?;
    let prepared = Prepared::load(common, SplitParams::resolve(common, Some(&record)))?;
    prepared.check_model(predictor.recipe())?;
    warn_if_other_data(&prepared, &record);
    let rows = &prepared.split.test[..SAMPLES.min(prepared.split.test.len())];
    if let Some(path) = &args.save_samples {
        write_atomically(
            path,
            raw_rows_csv(&prepared.table, predictor.recipe(), rows).as_bytes(),
        )?;
    }
    let (x, _) = prepared.table.select(rows);
    Ok(predictor.predict(&x)?.as_slice().to_vec())
}

/// The raw columns a recipe reads, in file order, for the given rows; values print exactly.
#[cfg(feature = "train")]
fn raw_rows_csv(table: &dataset::Table, recipe: &linreg::Recipe, rows: &[usize]) -> String {
    let needed = recipe.raw_columns();
    let keep: Vec<usize> = (0..table.raw_columns.len())
        .filter(|&c| needed.contains(&table.raw_columns[c]))
        .collect();
    let names: Vec<&str> = keep
        .iter()
        .map(|&c| table.raw_columns[c].as_str())
        .collect();
    let mut out = names.join(",");
    out.push('\n');
    for &r in rows {
        let raw = table.raw_row(r);
        let cells: Vec<String> = keep.iter().map(|&c| raw[c].to_string()).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

#[cfg(not(feature = "train"))]
fn sample_predictions(_: &Common, _: &PredictArgs, _: &Predictor) -> anyhow::Result<Vec<f64>> {
    anyhow::bail!("this build of cali-reg cannot load the data set; pass --input FILE.csv")
}

/// linreg labels rows by index; here the line number says it better.
fn without_row_prefix(message: &str) -> &str {
    message
        .strip_prefix("row ")
        .and_then(|m| m.split_once(": "))
        .map_or(message, |(_, rest)| rest)
}

/// Rows outside a feature's training range, counted per feature, reported once at the end.
struct RangeWatch {
    min: Vec<f64>,
    max: Vec<f64>,
    outside: Vec<u64>,
}

impl RangeWatch {
    fn new(predictor: &Predictor) -> Self {
        let (min, max) = predictor.ranges();
        let outside = vec![0; min.len()];
        Self { min, max, outside }
    }

    fn check(&mut self, features: &[f64]) {
        for (j, &v) in features.iter().enumerate() {
            if v < self.min[j] || v > self.max[j] {
                self.outside[j] += 1;
            }
        }
    }

    fn warn(&self, name: &str, predictor: &Predictor) {
        for (j, feature) in predictor.recipe().feature_names().iter().enumerate() {
            if self.outside[j] > 0 {
                eprintln!(
                    "warning: {name}: {} row(s) have {feature} outside its training range [{}, {}]; predicted anyway",
                    self.outside[j], self.min[j], self.max[j]
                );
            }
        }
    }
}

/// Stream the input: each row is read, derived, predicted and written before the next is read.
/// Output to a file goes through a temporary file, renamed only when every row succeeded.
fn predict_file(
    common: &Common,
    args: &PredictArgs,
    predictor: &Predictor,
    input: &Path,
) -> anyhow::Result<()> {
    use std::io::Write;

    let mut rows = CsvRows::open(input, None)?;
    let layout = InputLayout::bind(predictor.recipe(), &rows.columns)
        .with_context(|| format!("{}:1", rows.name))?;
    let used = layout.used_columns();
    let weights = predictor.coefficients();
    let intercept = predictor.intercept();
    let mut watch = RangeWatch::new(predictor);
    let mut raw = vec![0.0; rows.columns.len()];
    let mut features = vec![0.0; layout.n_features()];
    let collect = args.summary || (common.json && args.output.is_none());
    let mut collected = Vec::new();

    let (mut sink, tmp): (Box<dyn Write>, Option<tempfile::NamedTempFile>) = if collect {
        (Box::new(std::io::sink()), None)
    } else if let Some(path) = &args.output {
        let tmp = artifacts::temporary_beside(path)?;
        let file = tmp
            .reopen()
            .with_context(|| format!("cannot write {}", path.display()))?;
        (
            Box::new(std::io::BufWriter::with_capacity(1 << 20, file)),
            Some(tmp),
        )
    } else {
        (
            Box::new(std::io::BufWriter::with_capacity(
                1 << 20,
                std::io::stdout().lock(),
            )),
            None,
        )
    };
    let mut writer = csv::Writer::from_writer(&mut sink);
    let mut header: csv::StringRecord = rows.columns.iter().map(String::as_str).collect();
    header.push_field("prediction");
    writer.write_record(&header)?;
    let mut n = 0_usize;
    while let Some(line) = rows.next_row(&used, &mut raw)? {
        layout.features(n, &raw, &mut features).map_err(|e| {
            anyhow::anyhow!(
                "{}:{line}: {}",
                rows.name,
                without_row_prefix(&e.to_string())
            )
        })?;
        watch.check(&features);
        let p = features
            .iter()
            .zip(&weights)
            .map(|(a, b)| a * b)
            .sum::<f64>()
            + intercept;
        if collect {
            collected.push(p);
        } else {
            let mut out = rows.record().clone();
            out.push_field(p.to_string().as_bytes());
            writer.write_byte_record(&out)?;
        }
        n += 1;
    }
    if n == 0 {
        anyhow::bail!("{}: no data rows", rows.name);
    }
    writer.flush()?;
    drop(writer);
    sink.flush().context("cannot write the predictions")?;
    drop(sink);
    watch.warn(&rows.name, predictor);
    if collect {
        print_summary(common, predictor, &collected);
        return Ok(());
    }
    if let (Some(tmp), Some(path)) = (tmp, &args.output) {
        artifacts::persist(tmp, path)?;
        if common.json {
            output::json(&json!({
                "command": "predict",
                "model": predictor.kind(),
                "rows": n,
                "output": path,
            }));
        }
    }
    Ok(())
}
