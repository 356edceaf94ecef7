//! `cali-reg predict`: the five sample rows, or every row of a CSV.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use linreg::InputLayout;
use nalgebra::DMatrix;
use serde_json::json;

use crate::args::{Common, PredictArgs};
use crate::artifacts::{Predictor, write_atomically};
use crate::output;

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

/// Input rows as text, with the numbers the model reads.
struct Rows {
    name: String,
    header: csv::StringRecord,
    records: Vec<csv::StringRecord>,
    x: DMatrix<f64>,
}

fn read_rows(input: &Path, predictor: &Predictor) -> anyhow::Result<Rows> {
    let stdin = input.as_os_str() == "-";
    let name = if stdin {
        String::from("<stdin>")
    } else {
        input.display().to_string()
    };
    let mut text = Vec::new();
    if stdin {
        std::io::stdin()
            .read_to_end(&mut text)
            .context("<stdin>: cannot read")?;
    } else {
        text = std::fs::read(input).with_context(|| format!("{name}: cannot read"))?;
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_slice());
    let header = reader
        .headers()
        .with_context(|| format!("{name}: cannot read the header"))?
        .clone();
    let columns: Vec<String> = header.iter().map(str::to_owned).collect();
    let layout =
        InputLayout::bind(predictor.recipe(), &columns).with_context(|| format!("{name}:1"))?;
    let used = layout.used_columns();

    let mut records = Vec::new();
    let mut features = Vec::new();
    let mut raw = vec![f64::NAN; columns.len()];
    let mut row = vec![0.0; layout.n_features()];
    for (r, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{name}: malformed CSV"))?;
        let line = record.position().map_or(r + 2, |p| p.line() as usize);
        for &c in &used {
            let cell = record.get(c).unwrap_or("");
            raw[c] = match cell.parse::<f64>() {
                Ok(v) if v.is_finite() => v,
                Ok(v) => anyhow::bail!("{name}:{line}: column {}: {v} is not finite", columns[c]),
                Err(_) if cell.is_empty() => {
                    anyhow::bail!("{name}:{line}: column {}: missing value", columns[c])
                }
                Err(_) => anyhow::bail!(
                    "{name}:{line}: column {}: {cell:?} is not a number",
                    columns[c]
                ),
            };
        }
        layout.features(r, &raw, &mut row).map_err(|e| {
            anyhow::anyhow!("{name}:{line}: {}", without_row_prefix(&e.to_string()))
        })?;
        features.extend_from_slice(&row);
        records.push(record);
    }
    if records.is_empty() {
        anyhow::bail!("{name}: no data rows");
    }
    let x = DMatrix::from_row_slice(records.len(), layout.n_features(), &features);
    Ok(Rows {
        name,
        header,
        records,
        x,
    })
}

/// linreg labels rows by index; here the line number says it better.
fn without_row_prefix(message: &str) -> &str {
    message
        .strip_prefix("row ")
        .and_then(|m| m.split_once(": "))
        .map_or(message, |(_, rest)| rest)
}

/// One warning per feature that has rows outside its training range.
fn warn_out_of_range(rows: &Rows, predictor: &Predictor) {
    let (min, max) = predictor.ranges();
    for (j, name) in predictor.recipe().feature_names().iter().enumerate() {
        let column = rows.x.column(j);
        let outside = column.iter().filter(|&&v| v < min[j] || v > max[j]).count();
        if outside > 0 {
            eprintln!(
                "warning: {}: {outside} row(s) have {name} outside its training range [{}, {}]; predicted anyway",
                rows.name, min[j], max[j]
            );
        }
    }
}

fn predict_file(
    common: &Common,
    args: &PredictArgs,
    predictor: &Predictor,
    input: &Path,
) -> anyhow::Result<()> {
    let rows = read_rows(input, predictor)?;
    warn_out_of_range(&rows, predictor);
    let predictions = predictor.predict(&rows.x)?;
    // The one-line form, or with --json and no --output file, the predictions as one JSON object.
    if args.summary || (common.json && args.output.is_none()) {
        print_summary(common, predictor, predictions.as_slice());
        return Ok(());
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = rows.header.clone();
    header.push_field("prediction");
    writer.write_record(&header)?;
    for (record, p) in rows.records.iter().zip(predictions.iter()) {
        let mut out = record.clone();
        out.push_field(&p.to_string());
        writer.write_record(&out)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| anyhow::anyhow!("{}", e.error()))?;
    match &args.output {
        Some(path) => {
            write_atomically(path, &bytes)?;
            if common.json {
                output::json(&json!({
                    "command": "predict",
                    "model": predictor.kind(),
                    "rows": rows.records.len(),
                    "output": path,
                }));
            }
        }
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(&bytes)
                .context("cannot write to standard output")?;
        }
    }
    Ok(())
}
