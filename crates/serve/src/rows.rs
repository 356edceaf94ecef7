//! A request's table bound to the model (by column names, or by position) and predicted row
//! by row through the one checked row predictor (`pipeline::Scoring`).

use linreg::{Bands, InputLayout, Predictor};
use pipeline::{Scoring, Unscorable};

use crate::body::Decoded;
use crate::error::ApiError;

/// Cell `c` of row `r` as a finite number, or the error naming it.
fn cell(table: &Decoded, r: usize, c: usize, column: &str) -> Result<f64, ApiError> {
    match table.bad(r, c) {
        None => Ok(table.row(r)[c]),
        Some(bad) if bad.not_finite => Err(ApiError::BadRequest(format!(
            "row {r}, column {column}: {} is not finite",
            bad.shown
        ))),
        Some(bad) => Err(ApiError::BadRequest(format!(
            "row {r}, column {column}: {} is not a number",
            bad.shown
        ))),
    }
}

/// How a request's columns feed the model: by name (a layout bound to them, and the columns it
/// reads), or by position.
enum Columns<'a> {
    Named {
        layout: InputLayout,
        names: &'a [String],
        used: Vec<usize>,
    },
    Positional(Vec<String>),
}

impl<'a> Columns<'a> {
    fn of(predictor: &Predictor, table: &'a Decoded) -> Result<Self, ApiError> {
        let Some(names) = &table.columns else {
            return Ok(Self::Positional(predictor.recipe().feature_names()));
        };
        if let Some(twice) = dataset::first_repeated(names) {
            return Err(ApiError::InvalidParameter(format!(
                "column {twice} appears twice"
            )));
        }
        let layout = InputLayout::bind(predictor.recipe(), names)
            .map_err(|e| ApiError::InvalidParameter(e.to_string()))?;
        let used = layout.used_columns();
        Ok(Self::Named {
            layout,
            names,
            used,
        })
    }

    /// The model's features of row `r` into `features` (`raw` is room for a named row).
    fn features(
        &self,
        table: &Decoded,
        r: usize,
        raw: &mut [f64],
        features: &mut [f64],
    ) -> Result<(), ApiError> {
        let row = table.row(r);
        match self {
            Self::Named {
                layout,
                names,
                used,
            } => {
                if row.len() != names.len() {
                    return Err(ApiError::BadRequest(format!(
                        "row {r} has {} values for {} columns",
                        row.len(),
                        names.len()
                    )));
                }
                for &c in used {
                    raw[c] = cell(table, r, c, &names[c])?;
                }
                layout
                    .features(r, raw, features)
                    .map_err(|e| ApiError::InvalidParameter(e.to_string()))
            }
            Self::Positional(names) => {
                if row.len() != names.len() {
                    return Err(ApiError::BadRequest(format!(
                        "row {r} has {} values; the model takes {} ({})",
                        row.len(),
                        names.len(),
                        names.join(", ")
                    )));
                }
                for (j, name) in names.iter().enumerate() {
                    features[j] = cell(table, r, j, name)?;
                }
                Ok(())
            }
        }
    }
}

/// What a request's rows gave.
pub struct Predicted {
    /// One per row.
    pub predictions: Vec<f64>,
    /// Their intervals, when asked for ([`linreg::INTERVAL_COLUMNS`]' order).
    pub intervals: Option<Vec<[f64; 4]>>,
    /// Range warnings.
    pub warnings: Vec<String>,
    /// Rows with a value outside the training ranges, for the metrics.
    pub rows_outside: u64,
    /// What the drift window takes of the rows.
    pub drift: DriftRows,
}

/// A request's rows as the drift window takes them: a few rows kept as they are (counted into
/// the window under its lock: cheaper than tallies of their own), many rows counted into
/// tallies of their own (outside the lock, then merged under it).
pub enum DriftRows {
    /// The model carries no training distributions.
    None,
    /// Each row's features then its prediction.
    Rows(Vec<f64>),
    /// The rows, counted.
    Tallied(pipeline::Tallies),
}

/// Requests of at most this many rows keep them for the window rather than tally them.
const KEPT_ROWS: usize = 16;

/// The predictions of every row of `table` (with the intervals of `bands`, if given), and the
/// range warnings.
pub fn predict(
    predictor: &Predictor,
    table: &Decoded,
    bands: Option<&Bands>,
    training: Option<&linreg::drift::TrainingDistributions>,
) -> Result<Predicted, ApiError> {
    let names = predictor.recipe().feature_names();
    let columns = Columns::of(predictor, table)?;
    let mut raw = vec![0.0; table.columns.as_ref().map_or(0, Vec::len)];
    let mut features = vec![0.0; names.len()];
    let mut scoring = Scoring::new(predictor);
    let mut predictions = Vec::with_capacity(table.n_rows());
    let mut intervals = bands.map(|_| Vec::with_capacity(table.n_rows()));
    let mut drift = match training {
        None => DriftRows::None,
        Some(_) if table.n_rows() <= KEPT_ROWS => {
            DriftRows::Rows(Vec::with_capacity((names.len() + 1) * table.n_rows()))
        }
        Some(t) => DriftRows::Tallied(pipeline::Tallies::new(t)),
    };
    for r in 0..table.n_rows() {
        columns.features(table, r, &mut raw, &mut features)?;
        match scoring.score(&features) {
            Ok(prediction) => {
                predictions.push(prediction);
                match (&mut drift, training) {
                    (DriftRows::Rows(rows), _) => {
                        rows.extend_from_slice(&features);
                        rows.push(prediction);
                    }
                    (DriftRows::Tallied(tallies), Some(t)) => {
                        tallies.push(t, &features, prediction)
                    }
                    _ => {}
                }
                if let (Some(bands), Some(intervals)) = (bands, &mut intervals) {
                    intervals.push(bands.interval(&features, prediction).values());
                }
            }
            Err(Unscorable::Feature { index, value }) => {
                return Err(ApiError::InvalidParameter(format!(
                    "row {r}: {} is {value:e}, not a usable number (beyond ±1e100)",
                    names[index]
                )));
            }
            Err(Unscorable::Prediction(prediction)) => {
                return Err(ApiError::InvalidParameter(format!(
                    "row {r}: the prediction is {prediction}, not a finite number"
                )));
            }
        }
    }
    Ok(Predicted {
        predictions,
        intervals,
        warnings: scoring.warnings().iter().map(ToString::to_string).collect(),
        rows_outside: scoring.rows_outside(),
        drift,
    })
}
