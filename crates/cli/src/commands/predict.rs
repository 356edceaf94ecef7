//! `cali-reg predict`: the five sample rows, or every row of a CSV.

use std::path::Path;

use anyhow::Context;
use linreg::InputLayout;
use serde_json::json;

use crate::args::{Common, PredictArgs};
use crate::output;
use linreg::Predictor;
use pipeline::RunRecord;

/// How many test rows the sample line shows.
#[cfg(feature = "train")]
pub const SAMPLES: usize = 5;

pub fn run(common: &Common, args: &PredictArgs) -> anyhow::Result<()> {
    let record = RunRecord::open_or_empty(&common.artifacts)?;
    let (predictor, _) = pipeline::load_predictor(&common.artifacts, &record, common.which())?;
    match &args.input {
        Some(input) => predict_file(common, args, &predictor, input),
        None => {
            let predictions = sample_predictions(common, args, &predictor, &record)?;
            print_summary(common, &predictor, &predictions)?;
            Ok(())
        }
    }
}

fn print_summary(
    common: &Common,
    predictor: &Predictor,
    predictions: &[f64],
) -> anyhow::Result<()> {
    if common.json {
        output::json(&json!({
            "command": "predict",
            "model": predictor.kind(),
            "predictions": predictions,
        }))?;
    } else {
        output::line(format_args!(
            "Sample predictions: {}",
            output::three_decimals(predictions)
        ))?;
    }
    Ok(())
}

#[cfg(feature = "train")]
fn sample_predictions(
    common: &Common,
    args: &PredictArgs,
    predictor: &Predictor,
    record: &RunRecord,
) -> anyhow::Result<Vec<f64>> {
    let (picked, warnings) = pipeline::sample_rows(
        &common.data(),
        common.split(),
        record,
        predictor.recipe(),
        SAMPLES,
    )?;
    output::warnings(&warnings);
    if let Some(path) = &args.save_samples {
        let csv = raw_rows_csv(&picked.raw_columns, &picked.raw, predictor.recipe());
        dataset::write_atomically(path, csv.as_bytes())?;
    }
    Ok(predictor.predict(&picked.x)?.as_slice().to_vec())
}

#[cfg(feature = "train")]
/// The raw columns a recipe reads, in file order, for the given rows; values print exactly.
#[cfg(feature = "train")]
fn raw_rows_csv(columns: &[String], raw: &[Vec<f64>], recipe: &linreg::Recipe) -> String {
    let needed = recipe.raw_columns();
    let keep: Vec<usize> = (0..columns.len())
        .filter(|&c| needed.contains(&columns[c]))
        .collect();
    let names: Vec<&str> = keep.iter().map(|&c| columns[c].as_str()).collect();
    let mut out = names.join(",");
    out.push('\n');
    for row in raw {
        let cells: Vec<String> = keep.iter().map(|&c| row[c].to_string()).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

#[cfg(not(feature = "train"))]
fn sample_predictions(
    _: &Common,
    _: &PredictArgs,
    _: &Predictor,
    _: &RunRecord,
) -> anyhow::Result<Vec<f64>> {
    anyhow::bail!("this build of cali-reg cannot load the data set; pass --input FILE.csv")
}

/// A row's derivation error, placed by file and line (linreg only knows the row's index).
fn at_line(name: &str, line: u64, e: linreg::Error) -> anyhow::Error {
    match e {
        linreg::Error::Recipe(recipe::Error::BadDenominator {
            column,
            feature,
            value,
            ..
        }) => anyhow::anyhow!("{name}:{line}: {column} is {value}, but {feature} divides by it"),
        other => anyhow::Error::new(other).context(format!("{name}:{line}")),
    }
}

/// What one chunk of input rows gives: the output text, or the predictions when they are
/// collected, and the rows outside the training ranges.
struct ChunkOut {
    text: Vec<u8>,
    predictions: Vec<f64>,
    outside: Vec<u64>,
    rows: usize,
}

/// Predict every row of a chunk; `collect` keeps the numbers instead of writing text.
fn predict_chunk(
    input: (&str, &[String]),
    layout: &InputLayout,
    used: &[bool],
    predictor: &Predictor,
    chunk: &dataset::Chunk,
    collect: bool,
    buffers: &dataset::BufferPool,
) -> anyhow::Result<ChunkOut> {
    let (name, columns) = input;
    // The output is the input's lines with a prediction each: about a quarter more.
    let room = if collect {
        0
    } else {
        chunk.len() + chunk.len() / 4
    };
    let mut out = ChunkOut {
        text: buffers.take(room),
        predictions: Vec::new(),
        outside: vec![0; layout.n_features()],
        rows: 0,
    };
    let mut raw = vec![0.0; columns.len()];
    let mut features = vec![0.0; layout.n_features()];
    let names = predictor.recipe().feature_names();
    for (line, record) in chunk.lines() {
        let (name, line) = record.place(name, line);
        record
            .parse(used, &mut raw)
            .map_err(|p| dataset::Error::at(name, line, columns, p))?;
        layout
            .features(0, &raw, &mut features)
            .map_err(|e| at_line(name, line, e))?;
        for (&value, feature) in features.iter().zip(&names) {
            dataset::check_magnitude(name, line, feature, value)?;
        }
        predictor.count_outside(&features, &mut out.outside);
        let p = predictor.predict_row(&features);
        if !p.is_finite() {
            anyhow::bail!("{name}:{line}: the prediction is {p}, not a finite number");
        }
        if collect {
            out.predictions.push(p);
        } else {
            record.write_csv(&mut out.text);
            out.text.push(b',');
            output::push_shortest(&mut out.text, p);
            out.text.push(b'\n');
        }
        out.rows += 1;
    }
    Ok(out)
}

/// Where predictions go: nowhere (they are collected), a file through a [`Destination`]
/// (renamed into place only when every row succeeded), or standard output; and its name.
///
/// [`Destination`]: dataset::Destination
fn open_sink(
    output: Option<&Path>,
    collect: bool,
) -> anyhow::Result<(
    Box<dyn std::io::Write>,
    Option<dataset::Destination>,
    String,
)> {
    let buffered = |w: Box<dyn std::io::Write>| -> Box<dyn std::io::Write> {
        Box::new(std::io::BufWriter::with_capacity(1 << 20, w))
    };
    Ok(match output {
        _ if collect => (Box::new(std::io::sink()), None, String::from("nowhere")),
        Some(path) => {
            let destination = dataset::Destination::open(path)?;
            let sink = buffered(Box::new(destination.file()?));
            (sink, Some(destination), path.display().to_string())
        }
        None => (
            buffered(Box::new(std::io::stdout().lock())),
            None,
            String::from("standard output"),
        ),
    })
}

/// Stream the input: chunks of rows are parsed, derived and predicted on worker threads and
/// written in order. Output to a file goes through a temporary file, renamed only when every
/// row succeeded.
fn predict_file(
    common: &Common,
    args: &PredictArgs,
    predictor: &Predictor,
    input: &Path,
) -> anyhow::Result<()> {
    use std::io::Write;

    let rows = dataset::Input::open(input, None)?.unhashed();
    #[cfg(feature = "train")]
    if let Some(path) = args.output.as_deref()
        && dataset::columnar::writes_parquet(path)
    {
        return predict_to_parquet(common, predictor, rows, path);
    }
    let name = rows.name().to_owned();
    let collect = args.summary || (common.json && args.output.is_none());
    let (mut sink, destination, written_to) = open_sink(args.output.as_deref(), collect)?;
    let totals = predict_rows(rows, predictor, collect, &mut sink)
        .and_then(|totals| {
            sink.flush()?;
            Ok(totals)
        })
        .map_err(|e| match e.downcast::<std::io::Error>() {
            Ok(io) => anyhow::Error::new(io).context(format!("cannot write {written_to}")),
            Err(other) => other,
        })?;
    drop(sink);
    warn_outside(predictor, &name, &totals.outside);
    if collect {
        return print_summary(common, predictor, &totals.collected);
    }
    if let (Some(destination), Some(path)) = (destination, &args.output) {
        destination.finish()?;
        if common.json {
            output::json(&json!({
                "command": "predict",
                "model": predictor.kind(),
                "rows": totals.rows,
                "output": path.display().to_string(),
            }))?;
        }
    }
    Ok(())
}

/// Predict every row of `rows` into a Parquet file: the input's columns (a CSV input's parsed
/// as numbers) and `prediction`, a row group for each chunk, through a temporary file renamed
/// when every row has succeeded.
#[cfg(feature = "train")]
fn predict_to_parquet(
    common: &Common,
    predictor: &Predictor,
    rows: dataset::Input,
    path: &Path,
) -> anyhow::Result<()> {
    let (name, columns) = (rows.name().to_owned(), rows.columns().to_vec());
    let (layout, used) = bind(predictor, &name, &columns)?;
    if columns.iter().any(|c| c == "prediction") {
        anyhow::bail!(
            "{name}:1: the input has a column named prediction, which a Parquet file cannot hold twice"
        );
    }
    let destination = dataset::Destination::open(path)?;
    let mut sink = dataset::columnar::ParquetSink::new(
        destination.file()?,
        &path.display().to_string(),
        dataset::columnar::GROUP_ROWS,
    );
    let (mut written, mut outside) = (0, vec![0; layout.n_features()]);
    let buffers = dataset::BufferPool::default();
    rows.for_each_chunk(
        |chunk| {
            let input = (name.as_str(), columns.as_slice());
            let out = predict_chunk(input, &layout, &used, predictor, chunk, true, &buffers)?;
            let frame = chunk.frame(input.0, input.1)?;
            Ok::<_, anyhow::Error>((frame, out))
        },
        |(frame, out)| {
            sink.write(frame, &out.predictions)?;
            for (total, k) in outside.iter_mut().zip(&out.outside) {
                *total += k;
            }
            written += out.rows;
            Ok(())
        },
    )?;
    if written == 0 {
        anyhow::bail!("{name}: no data rows");
    }
    sink.finish()?;
    warn_outside(predictor, &name, &outside);
    destination.finish()?;
    if common.json {
        output::json(&json!({
            "command": "predict",
            "model": predictor.kind(),
            "rows": written,
            "output": path.display().to_string(),
        }))?;
    }
    Ok(())
}

/// The model's features bound to an input's columns, and which columns it reads.
fn bind(
    predictor: &Predictor,
    name: &str,
    columns: &[String],
) -> anyhow::Result<(InputLayout, Vec<bool>)> {
    let layout =
        InputLayout::bind(predictor.recipe(), columns).with_context(|| format!("{name}:1"))?;
    let mut used = vec![false; columns.len()];
    for c in layout.used_columns() {
        used[c] = true;
    }
    Ok((layout, used))
}

/// One warning line for each feature with values outside its training range.
fn warn_outside(predictor: &Predictor, name: &str, outside: &[u64]) {
    for warning in predictor.range_warnings(outside) {
        output::stderr(format_args!("warning: {name}: {warning}; predicted anyway"));
    }
}

/// What predicting every row of an input gave: how many rows, how many of each feature's
/// values fell outside the training range, and the predictions when they are collected.
struct Totals {
    rows: usize,
    outside: Vec<u64>,
    collected: Vec<f64>,
}

/// Predict every row of `rows` through the reader's chunks, writing the header and each row
/// with its prediction to `sink` (or collecting the predictions). An error writing `sink` comes
/// back as an `std::io::Error`.
fn predict_rows(
    rows: dataset::Input,
    predictor: &Predictor,
    collect: bool,
    sink: &mut dyn std::io::Write,
) -> anyhow::Result<Totals> {
    let (name, columns) = (rows.name().to_owned(), rows.columns().to_vec());
    let (layout, used) = bind(predictor, &name, &columns)?;
    let mut totals = Totals {
        rows: 0,
        outside: vec![0; layout.n_features()],
        collected: Vec::new(),
    };
    sink.write_all(rows.header_line().unwrap_or_default())?;
    sink.write_all(b",prediction\n")?;
    let buffers = dataset::BufferPool::default();
    rows.for_each_chunk(
        |chunk| {
            let input = (name.as_str(), columns.as_slice());
            predict_chunk(input, &layout, &used, predictor, chunk, collect, &buffers)
        },
        |out| {
            sink.write_all(&out.text)?;
            buffers.give(out.text);
            totals.collected.extend_from_slice(&out.predictions);
            for (total, k) in totals.outside.iter_mut().zip(&out.outside) {
                *total += k;
            }
            totals.rows += out.rows;
            Ok(())
        },
    )?;
    if totals.rows == 0 {
        anyhow::bail!("{name}: no data rows");
    }
    Ok(totals)
}
