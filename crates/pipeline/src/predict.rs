//! Predicting: every row of a table, streamed (chunks parsed, derived and predicted on worker
//! threads, written in order), or the first test rows of the last training run's split.

use std::io::Write;
use std::path::{Path, PathBuf};

use linreg::{Bands, InputLayout, Predictor};
use serde::Serialize;

use crate::data::DataOptions;
use crate::error::{Error, Result};
use crate::prepared::sample_rows;
use crate::run_record::RunRecord;
use crate::scoring::{Scoring, Unscorable};
use crate::shortest::push_shortest;
use crate::split::SplitChoice;

/// How many test rows the sample line shows.
pub const SAMPLES: usize = 5;

/// Where the predictions of a table go.
pub enum Sink<'a> {
    /// Kept, and returned in [`Predicted::predictions`].
    Collect,
    /// Written with the input's rows as CSV, or as Parquet for a `.parquet` name, through a
    /// temporary file renamed when every row has succeeded.
    File(PathBuf),
    /// Written with the input's rows as CSV to a stream (standard output); `name` says where
    /// in errors.
    Stream {
        /// The stream.
        writer: &'a mut dyn Write,
        /// Its name in messages.
        name: &'a str,
    },
}

impl std::fmt::Debug for Sink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Collect => f.write_str("Collect"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Stream { name, .. } => f.debug_struct("Stream").field("name", name).finish(),
        }
    }
}

/// What predicting gave: the same fields whichever rows and sink, `null` where they do not
/// apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Predicted {
    /// `"predict"`.
    pub command: &'static str,
    /// `float` or `quantised`.
    pub model: &'static str,
    /// Rows predicted.
    pub rows: usize,
    /// The file written, if any.
    pub output: Option<String>,
    /// The predictions, when collected.
    pub predictions: Option<Vec<f64>>,
    /// Their prediction intervals, when asked for and collected.
    pub intervals: Option<Intervals>,
    /// Warnings for the user (values outside the training ranges, other data).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Prediction intervals of one level, a column each, as statsmodels'
/// `get_prediction(X).summary_frame(alpha)` names them (`alpha = 1 − level`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Intervals {
    /// The level, e.g. 0.95.
    pub level: f64,
    /// Lower ends of the fitted means' intervals.
    pub mean_ci_lower: Vec<f64>,
    /// Upper ends of the fitted means' intervals.
    pub mean_ci_upper: Vec<f64>,
    /// Lower ends of new observations' intervals.
    pub obs_ci_lower: Vec<f64>,
    /// Upper ends of new observations' intervals.
    pub obs_ci_upper: Vec<f64>,
}

impl Intervals {
    fn new(level: f64, rows: &[[f64; 4]]) -> Self {
        let column = |k: usize| rows.iter().map(|r| r[k]).collect();
        Self {
            level,
            mean_ci_lower: column(0),
            mean_ci_upper: column(1),
            obs_ci_lower: column(2),
            obs_ci_upper: column(3),
        }
    }
}

impl std::fmt::Display for Predicted {
    /// The sample line, as the original prints it: `Sample predictions: [0.719 1.764 …]`; with
    /// intervals, a second line of each new observation's interval.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .predictions
            .iter()
            .flatten()
            .map(|v| format!("{v:.3}"))
            .collect();
        write!(f, "Sample predictions: [{}]", parts.join(" "))?;
        if let Some(i) = &self.intervals {
            let parts: Vec<String> = i
                .obs_ci_lower
                .iter()
                .zip(&i.obs_ci_upper)
                .map(|(lo, hi)| format!("[{lo:.3}, {hi:.3}]"))
                .collect();
            // 0.9 × 100 is 90.00000000000001 in binary: the level as a person wrote it.
            let percent = (i.level * 1e6).round() / 1e4;
            write!(f, "\n{percent}% prediction intervals: {}", parts.join(" "))?;
        }
        Ok(())
    }
}

/// The intervals of `level` for `predictor`, if asked.
fn bands_of(predictor: &Predictor, level: Option<f64>) -> Result<Option<Bands>> {
    Ok(level.map(|l| predictor.bands(l)).transpose()?)
}

/// Predict every row of `input` (CSV, `-` for standard input, Parquet, Arrow IPC, a folder or
/// glob of Parquet files) into `sink`; with `interval`, the prediction intervals of that level
/// too (columns `mean_ci_lower`, `mean_ci_upper`, `obs_ci_lower`, `obs_ci_upper`).
pub fn predict_table(
    predictor: &Predictor,
    input: &Path,
    sink: Sink<'_>,
    interval: Option<f64>,
) -> Result<Predicted> {
    let bands = bands_of(predictor, interval)?;
    let rows = dataset::Input::open(input, None)?.unhashed();
    let name = rows.name().to_owned();
    let scorer = Scorer {
        predictor,
        bands: bands.as_ref(),
    };
    let (counted, output, collected) = match sink {
        Sink::Collect => {
            let (counted, collected) = predict_rows(rows, &scorer, None)?;
            (counted, None, Some(collected))
        }
        #[cfg(feature = "columnar")]
        Sink::File(path) if dataset::columnar::writes_parquet(&path) => {
            (to_parquet(&scorer, rows, &path)?, Some(path), None)
        }
        Sink::File(path) => {
            let destination = dataset::Destination::open(&path)?;
            let what = path.display().to_string();
            let file = destination.file()?;
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
            let (counted, _) = predict_rows(rows, &scorer, Some((&mut writer, &what)))?;
            writer
                .flush()
                .map_err(|cause| Error::Write { what, cause })?;
            drop(writer);
            destination.finish()?;
            (counted, Some(path), None)
        }
        Sink::Stream { writer, name } => {
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, writer);
            let (counted, _) = predict_rows(rows, &scorer, Some((&mut writer, name)))?;
            writer.flush().map_err(|cause| Error::Write {
                what: name.to_owned(),
                cause,
            })?;
            (counted, None, None)
        }
    };
    let (predictions, intervals) = match collected {
        Some((predictions, rows)) => (
            Some(predictions),
            interval.map(|level| Intervals::new(level, &rows)),
        ),
        None => (None, None),
    };
    Ok(Predicted {
        command: "predict",
        model: predictor.kind(),
        rows: counted.0,
        output: output.map(|p| p.display().to_string()),
        predictions,
        intervals,
        warnings: counted
            .1
            .iter()
            .map(|w| format!("{name}: {w}; predicted anyway"))
            .collect(),
    })
}

/// What `predict` without an input asks: the first test rows of the last training run.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// The data and its columns.
    pub data: DataOptions,
    /// The split, where given (else the record's).
    pub split: SplitChoice,
    /// Also write the sample rows' raw input columns to this file (what the image predicts).
    pub save_samples: Option<PathBuf>,
    /// Prediction intervals of this level too.
    pub interval: Option<f64>,
}

/// Predict the first [`SAMPLES`] test rows of the last training run's split.
pub fn predict_samples(
    predictor: &Predictor,
    record: &RunRecord,
    options: &SampleOptions,
) -> Result<Predicted> {
    let bands = bands_of(predictor, options.interval)?;
    let (picked, warnings) = sample_rows(
        &options.data,
        options.split,
        record,
        predictor.recipe(),
        SAMPLES,
    )?;
    if let Some(path) = &options.save_samples {
        let csv = raw_rows_csv(&picked.raw_columns, &picked.raw, predictor.recipe());
        dataset::write_atomically(path, csv.as_bytes())?;
    }
    let predictions = predictor.predict(&picked.x)?.as_slice().to_vec();
    let intervals = bands.map(|bands| {
        let rows: Vec<[f64; 4]> = picked
            .x
            .row_iter()
            .zip(&predictions)
            .map(|(x, &p)| {
                let x: Vec<f64> = x.iter().copied().collect();
                bands.interval(&x, p).values()
            })
            .collect();
        Intervals::new(bands.level(), &rows)
    });
    Ok(Predicted {
        command: "predict",
        model: predictor.kind(),
        rows: predictions.len(),
        output: None,
        predictions: Some(predictions),
        intervals,
        warnings,
    })
}

/// The raw columns a recipe reads, in file order, for the given rows; values print exactly.
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

/// Rows predicted and the warnings for values outside the training ranges.
type Counted = (usize, Vec<linreg::RangeWarning>);

/// Collected predictions, and their intervals when asked for.
type Collected = (Vec<f64>, Vec<[f64; 4]>);

/// What one chunk of input rows gives: the output text (or the predictions when they are
/// collected), its rows, and their scoring.
struct ChunkOut<'a> {
    text: Vec<u8>,
    predictions: Vec<f64>,
    /// The intervals of the predictions, when asked for and kept.
    intervals: Vec<[f64; 4]>,
    rows: usize,
    scoring: Scoring<'a>,
}

/// The model's features bound to an input's columns, and which columns it reads.
pub(crate) fn bind(
    predictor: &Predictor,
    name: &str,
    columns: &[String],
) -> Result<(InputLayout, Vec<bool>)> {
    let layout = InputLayout::bind(predictor.recipe(), columns).map_err(|cause| Error::AtLine {
        file: name.to_owned(),
        line: 1,
        cause,
    })?;
    let mut used = vec![false; columns.len()];
    for c in layout.used_columns() {
        used[c] = true;
    }
    Ok((layout, used))
}

/// A row's derivation error, placed by file and line (linreg only knows the row's index).
fn at_line(file: &str, line: u64, e: linreg::Error) -> Error {
    match e {
        linreg::Error::Recipe(recipe::Error::BadDenominator {
            column,
            feature,
            value,
            ..
        }) => Error::Data(dataset::Error::BadDenominator {
            file: file.to_owned(),
            line,
            column,
            feature,
            value,
        }),
        cause => Error::AtLine {
            file: file.to_owned(),
            line,
            cause,
        },
    }
}

/// The predictor and, when intervals are asked for, their bands.
struct Scorer<'a> {
    predictor: &'a Predictor,
    bands: Option<&'a Bands>,
}

/// The header of the columns a prediction adds.
fn added_columns(bands: Option<&Bands>) -> Vec<&'static str> {
    let mut names = vec!["prediction"];
    if bands.is_some() {
        names.extend(linreg::INTERVAL_COLUMNS);
    }
    names
}

/// The input's name and columns, the layout bound to them and the columns read.
pub(crate) struct Bound<'a> {
    pub(crate) name: &'a str,
    pub(crate) columns: &'a [String],
    pub(crate) layout: &'a InputLayout,
    pub(crate) used: &'a [bool],
}

/// Reads one input line after another into the model's features and predicts it, checked:
/// the buffers of a chunk's lines, reused.
pub(crate) struct LineScorer<'b> {
    bound: &'b Bound<'b>,
    raw: Vec<f64>,
    /// The last line's features, in the model's order.
    pub(crate) features: Vec<f64>,
    names: Vec<String>,
}

impl<'b> LineScorer<'b> {
    /// For `bound`'s input and the model whose features are `names`.
    pub(crate) fn new(bound: &'b Bound<'b>, names: Vec<String>) -> Self {
        Self {
            bound,
            raw: vec![0.0; bound.columns.len()],
            features: vec![0.0; bound.layout.n_features()],
            names,
        }
    }

    /// The prediction of `record` (line `line` of the chunk), its features left in
    /// `self.features`; a cell that is not a number, a feature that cannot be derived or used,
    /// or a prediction that is not finite is an error at its file and line.
    pub(crate) fn score(
        &mut self,
        record: &dataset::Record<'_>,
        line: u64,
        scoring: &mut Scoring<'_>,
    ) -> Result<f64> {
        let bound = self.bound;
        let (name, line) = record.place(bound.name, line);
        record
            .parse(bound.used, &mut self.raw)
            .map_err(|p| dataset::Error::at(name, line, bound.columns, p))?;
        bound
            .layout
            .features(0, &self.raw, &mut self.features)
            .map_err(|e| at_line(name, line, e))?;
        scoring.score(&self.features).map_err(|e| match e {
            Unscorable::Feature { index, value } => Error::Data(dataset::Error::NotFiniteDerived {
                file: name.to_owned(),
                line,
                feature: self.names[index].clone(),
                value,
            }),
            Unscorable::Prediction(value) => Error::NotFinite {
                file: name.to_owned(),
                line,
                value,
            },
        })
    }
}

/// Predict every row of a chunk; with `text`, each input line and its prediction are written
/// as CSV, else the predictions are kept.
fn predict_chunk<'a>(
    bound: &Bound<'_>,
    scorer: &Scorer<'a>,
    chunk: &dataset::Chunk,
    text: bool,
    buffers: &dataset::BufferPool,
) -> Result<ChunkOut<'a>> {
    let predictor = scorer.predictor;
    // The output is the input's lines with a prediction each: about a quarter more.
    let room = if text {
        chunk.len() + chunk.len() / 4
    } else {
        0
    };
    let mut out = ChunkOut {
        text: buffers.take(room),
        predictions: Vec::new(),
        intervals: Vec::new(),
        rows: 0,
        scoring: Scoring::new(predictor),
    };
    let mut line_of = LineScorer::new(bound, predictor.recipe().feature_names());
    for (line, record) in chunk.lines() {
        let p = line_of.score(&record, line, &mut out.scoring)?;
        let features = &line_of.features;
        let interval = scorer.bands.map(|b| b.interval(features, p).values());
        if text {
            record.write_csv(&mut out.text);
            out.text.push(b',');
            push_shortest(&mut out.text, p);
            for v in interval.iter().flatten() {
                out.text.push(b',');
                push_shortest(&mut out.text, *v);
            }
            out.text.push(b'\n');
        } else {
            out.predictions.push(p);
            out.intervals.extend(interval);
        }
        out.rows += 1;
    }
    Ok(out)
}

/// Predict every row of `rows` through the reader's chunks, writing the header and each row
/// with its prediction to `sink` (named in errors), or collecting the predictions.
fn predict_rows(
    rows: dataset::Input,
    scorer: &Scorer<'_>,
    mut sink: Option<(&mut dyn Write, &str)>,
) -> Result<(Counted, Collected)> {
    let predictor = scorer.predictor;
    let (name, columns) = (rows.name().to_owned(), rows.columns().to_vec());
    let (layout, used) = bind(predictor, &name, &columns)?;
    let bound = Bound {
        name: &name,
        columns: &columns,
        layout: &layout,
        used: &used,
    };
    let cannot = |what: &str, cause| Error::Write {
        what: what.to_owned(),
        cause,
    };
    if let Some((writer, what)) = &mut sink {
        writer
            .write_all(rows.header_line().unwrap_or_default())
            .and_then(|()| {
                let added = added_columns(scorer.bands).join(",");
                writer.write_all(format!(",{added}\n").as_bytes())
            })
            .map_err(|e| cannot(what, e))?;
    }
    let text = sink.is_some();
    let (mut total, mut collected) = (Scoring::new(predictor), (Vec::new(), Vec::new()));
    let mut count = 0;
    let buffers = dataset::BufferPool::default();
    rows.for_each_chunk(
        |chunk| predict_chunk(&bound, scorer, chunk, text, &buffers),
        |out| {
            if let Some((writer, what)) = &mut sink {
                writer.write_all(&out.text).map_err(|e| cannot(what, e))?;
            }
            buffers.give(out.text);
            collected.0.extend_from_slice(&out.predictions);
            collected.1.extend_from_slice(&out.intervals);
            total.merge(&out.scoring);
            count += out.rows;
            Ok(())
        },
    )?;
    if count == 0 {
        return Err(Error::NoRows { file: name });
    }
    Ok(((count, total.warnings()), collected))
}

/// Predict every row of `rows` into a Parquet file: the input's columns (a CSV input's parsed
/// as numbers) and `prediction`, a row group for each chunk, through a temporary file renamed
/// when every row has succeeded.
#[cfg(feature = "columnar")]
fn to_parquet(scorer: &Scorer<'_>, rows: dataset::Input, path: &Path) -> Result<Counted> {
    let predictor = scorer.predictor;
    let (name, columns) = (rows.name().to_owned(), rows.columns().to_vec());
    let (layout, used) = bind(predictor, &name, &columns)?;
    let added = added_columns(scorer.bands);
    if let Some(column) = columns.iter().find(|c| added.contains(&c.as_str())) {
        return Err(Error::PredictionColumn {
            file: name,
            column: column.clone(),
        });
    }
    let bound = Bound {
        name: &name,
        columns: &columns,
        layout: &layout,
        used: &used,
    };
    let destination = dataset::Destination::open(path)?;
    let mut sink = dataset::columnar::ParquetSink::new(
        destination.file()?,
        &path.display().to_string(),
        dataset::columnar::GROUP_ROWS,
    );
    let (mut written, mut total) = (0, Scoring::new(predictor));
    let buffers = dataset::BufferPool::default();
    rows.for_each_chunk(
        |chunk| {
            let out = predict_chunk(&bound, scorer, chunk, false, &buffers)?;
            let frame = chunk.frame(&name, &columns)?;
            Ok::<_, Error>((frame, out))
        },
        |(frame, out)| {
            let mut values: Vec<(&str, Vec<f64>)> = vec![("prediction", out.predictions)];
            if scorer.bands.is_some() {
                for (k, column) in linreg::INTERVAL_COLUMNS.iter().enumerate() {
                    values.push((column, out.intervals.iter().map(|r| r[k]).collect()));
                }
            }
            let values: Vec<(&str, &[f64])> =
                values.iter().map(|(n, v)| (*n, v.as_slice())).collect();
            sink.write(frame, &values)?;
            total.merge(&out.scoring);
            written += out.rows;
            Ok(())
        },
    )?;
    if written == 0 {
        return Err(Error::NoRows { file: name });
    }
    sink.finish()?;
    destination.finish()?;
    Ok((written, total.warnings()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_line_has_three_decimals_as_the_original_prints_it() {
        let predicted = Predicted {
            command: "predict",
            model: "float",
            rows: 3,
            output: None,
            predictions: Some(vec![0.7191, 2.71, -0.0004]),
            intervals: None,
            warnings: Vec::new(),
        };
        assert_eq!(
            predicted.to_string(),
            "Sample predictions: [0.719 2.710 -0.000]"
        );
    }
}
