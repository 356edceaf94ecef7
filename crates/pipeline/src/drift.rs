//! `drift`: how a table's rows stand against the float model's training distributions (the
//! model file keeps them, `linreg::drift`): for each feature and for the predictions, the
//! population stability index, the Kolmogorov–Smirnov statistic, the Wasserstein-1 distance
//! over the training standard deviation, the share outside the training range and the mean
//! shift. One streaming pass over the table, of any size: each chunk's values are counted into
//! the training bins, and the chunks' tallies merge.

use std::path::PathBuf;

use linreg::drift::{Distribution, Drift, Tally, TrainingDistributions};
use linreg::{AnyModel, Predictor};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::predict::{Bound, LineScorer, bind};
use crate::run_record::RunRecord;
use crate::scoring::Scoring;

/// What `drift` is asked.
#[derive(Debug, Clone)]
pub struct DriftOptions {
    /// The artifacts folder, whose float model is compared against.
    pub artifacts: PathBuf,
    /// The new table (CSV, standard input, Parquet, Arrow IPC, a folder or glob of Parquet).
    pub input: PathBuf,
    /// Where to write an SVG of the training and new histograms, one panel per column.
    pub svg: Option<PathBuf>,
}

/// One column's drift.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnDrift {
    /// The feature's name, or `prediction`.
    pub name: String,
    /// The measures.
    #[serde(flatten)]
    pub drift: Drift,
    /// The training bins' interior edges (bin `i` is `[edges[i−1], edges[i])`, the outer bins
    /// open).
    pub edges: Vec<f64>,
    /// Training rows per bin.
    pub training_counts: Vec<u64>,
    /// The table's rows per bin.
    pub counts: Vec<u64>,
}

/// The drift of a table against the model's training distributions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    /// `"drift"`.
    pub command: &'static str,
    /// The model file.
    pub model: String,
    /// The table compared.
    pub data: String,
    /// Its rows.
    pub rows: u64,
    /// The training rows the distributions are of.
    pub training_rows: u64,
    /// Each feature's drift, in the model's order.
    pub features: Vec<ColumnDrift>,
    /// The table's mean prediction.
    pub prediction_mean: f64,
    /// The predictions' drift: `None` for a model fitted from statistics files, whose
    /// training predictions were never seen.
    pub prediction: Option<ColumnDrift>,
    /// The SVG of the histograms, where one was written.
    pub svg: Option<String>,
}

impl ColumnDrift {
    /// The measures as the tables print them: PSI, KS, W1/SD, share out of range, mean shift.
    fn cells(&self) -> [String; 5] {
        let d = &self.drift;
        [
            format!("{:.4}", d.psi),
            format!("{:.4}", d.ks),
            format!("{:.4}", d.wasserstein),
            format!("{:.2}%", 100.0 * d.out_of_range),
            format!("{:+.3}", d.mean_shift),
        ]
    }
}

impl DriftReport {
    /// The features and then the prediction.
    pub fn columns(&self) -> impl Iterator<Item = &ColumnDrift> {
        self.features.iter().chain(&self.prediction)
    }
}

/// Rows counted into a model's training bins: each feature's tally and the predictions'.
/// Mergeable: a table's chunks, a server's minutes.
#[derive(Debug, Clone, PartialEq)]
pub struct Tallies {
    features: Vec<Tally>,
    /// Against the training predictions' bins, where the model has them.
    prediction: Option<Tally>,
    rows: u64,
    prediction_sum: f64,
}

impl Tallies {
    /// Empty tallies for `training`'s bins.
    pub fn new(training: &TrainingDistributions) -> Self {
        Self {
            features: training.features.iter().map(Distribution::tally).collect(),
            prediction: training.prediction.as_ref().map(Distribution::tally),
            rows: 0,
            prediction_sum: 0.0,
        }
    }

    /// Count one row: its features (usable numbers, in the model's order) and prediction.
    pub fn push(&mut self, training: &TrainingDistributions, features: &[f64], prediction: f64) {
        for ((tally, d), &v) in self
            .features
            .iter_mut()
            .zip(&training.features)
            .zip(features)
        {
            tally.push(d, v);
        }
        if let (Some(tally), Some(d)) = (&mut self.prediction, &training.prediction) {
            tally.push(d, prediction);
        }
        self.rows += 1;
        self.prediction_sum += prediction;
    }

    /// Add `other`'s rows.
    pub fn merge(&mut self, other: &Self) {
        for (t, o) in self.features.iter_mut().zip(&other.features) {
            t.merge(o);
        }
        if let (Some(t), Some(o)) = (&mut self.prediction, &other.prediction) {
            t.merge(o);
        }
        self.rows += other.rows;
        self.prediction_sum += other.prediction_sum;
    }

    /// Rows counted.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The predictions' mean (NaN of none).
    pub fn prediction_mean(&self) -> f64 {
        self.prediction_sum / self.rows as f64
    }
}

impl DriftReport {
    /// The report of `tallies` (rows of `data`, at least one) against `training`, the
    /// distributions of `model` (a file, named) whose features are `names`.
    pub fn of(
        (model, data): (String, String),
        names: &[String],
        training: &TrainingDistributions,
        tallies: &Tallies,
    ) -> Result<Self> {
        let column = |name: &str, d: &Distribution, t: &Tally| -> Result<ColumnDrift> {
            Ok(ColumnDrift {
                name: name.to_owned(),
                drift: d.drift(t)?,
                edges: d.edges().iter().map(|&e| f64::from(e)).collect(),
                training_counts: d.counts().to_vec(),
                counts: t.counts().to_vec(),
            })
        };
        Ok(Self {
            command: "drift",
            model,
            data,
            rows: tallies.rows(),
            training_rows: training.target.count(),
            prediction_mean: tallies.prediction_mean(),
            features: names
                .iter()
                .zip(&training.features)
                .zip(&tallies.features)
                .map(|((n, d), t)| column(n, d, t))
                .collect::<Result<_>>()?,
            prediction: match (&training.prediction, &tallies.prediction) {
                (Some(d), Some(t)) => Some(column("prediction", d, t)?),
                _ => None,
            },
            svg: None,
        })
    }
}

/// The drift of `options.input` against the float model of the folder. The caller holds the
/// folder's shared lock.
pub fn drift(options: &DriftOptions) -> Result<DriftReport> {
    let dir = &options.artifacts;
    let record = RunRecord::open_or_empty(dir)?;
    let model = record.load_float(dir)?;
    model.require_distributions()?;
    let names = model.feature_names();
    let predictor = Predictor::new(AnyModel::Float(model));
    // The model's own distributions, read where the predictor keeps them (no copy).
    let training = predictor.distributions().ok_or(Error::Options(
        "the model lost its training distributions on the way",
    ))?;
    let rows = dataset::Input::open(&options.input, None)?.unhashed();
    let (name, columns) = (rows.name().to_owned(), rows.columns().to_vec());
    let (layout, used) = bind(&predictor, &name, &columns)?;
    let bound = Bound {
        name: &name,
        columns: &columns,
        layout: &layout,
        used: &used,
    };
    let mut total = Tallies::new(training);
    rows.for_each_chunk(
        |chunk| {
            let mut tallies = Tallies::new(training);
            let mut scoring = Scoring::new(&predictor);
            let mut line_of = LineScorer::new(&bound, names.clone());
            for (line, record) in chunk.lines() {
                let p = line_of.score(&record, line, &mut scoring)?;
                tallies.push(training, &line_of.features, p);
            }
            Ok::<_, Error>(tallies)
        },
        |tallies| {
            total.merge(&tallies);
            Ok(())
        },
    )?;
    if total.rows() == 0 {
        return Err(Error::NoRows { file: name });
    }
    let model = dir.join(crate::LINEAR).display().to_string();
    let mut report = DriftReport::of((model, name), &names, training, &total)?;
    if let Some(path) = &options.svg {
        write_svg(&report, path)?;
        report.svg = Some(path.display().to_string());
    }
    Ok(report)
}

#[cfg(feature = "report")]
fn write_svg(report: &DriftReport, path: &std::path::Path) -> Result<()> {
    let svg = crate::plot::drift_svg(report)?;
    Ok(dataset::write_atomically(path, svg.as_bytes())?)
}

#[cfg(not(feature = "report"))]
fn write_svg(_: &DriftReport, _: &std::path::Path) -> Result<()> {
    Err(Error::Options(
        "this build draws no plots (pipeline's report feature)",
    ))
}

impl std::fmt::Display for DriftReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Drift of {} ({} rows) from the training rows of {} ({} rows)",
            self.data, self.rows, self.model, self.training_rows
        )?;
        writeln!(
            f,
            "{:<12} {:>8} {:>8} {:>8} {:>13} {:>11}",
            "column", "PSI", "KS", "W1/SD", "out of range", "mean shift"
        )?;
        for c in self.columns() {
            let [psi, ks, w, out, shift] = c.cells();
            writeln!(
                f,
                "{:<12} {psi:>8} {ks:>8} {w:>8} {out:>13} {shift:>11}",
                c.name
            )?;
        }
        if self.prediction.is_none() {
            writeln!(f, "{NO_PREDICTIONS}")?;
        }
        write!(
            f,
            "KS: at the training quantiles (the full statistic lies below ks_upper); W1/SD: of the histograms, within wasserstein_bound of the full data's (--json)"
        )?;
        if let Some(svg) = &self.svg {
            write!(f, "\nHistograms: {svg}")?;
        }
        Ok(())
    }
}

/// Why a report has no prediction row.
const NO_PREDICTIONS: &str = "prediction: not measured (the model was fitted from statistics files, which hold no training predictions)";

/// A measure `--fail-above` can watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Population stability index.
    Psi,
    /// Kolmogorov–Smirnov statistic at the training quantiles.
    Ks,
    /// Wasserstein-1 over the training standard deviation.
    Wasserstein,
    /// Share outside the training range.
    OutOfRange,
    /// The mean shift's size, in training standard deviations.
    MeanShift,
}

impl Metric {
    const ALL: [(&'static str, Metric); 5] = [
        ("psi", Metric::Psi),
        ("ks", Metric::Ks),
        ("wasserstein", Metric::Wasserstein),
        ("out_of_range", Metric::OutOfRange),
        ("mean_shift", Metric::MeanShift),
    ];

    /// Its name, as the JSON keys have it.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("", |(n, _)| n)
    }

    /// Its value in `drift` (the mean shift's size).
    pub fn of(self, drift: &Drift) -> f64 {
        match self {
            Self::Psi => drift.psi,
            Self::Ks => drift.ks,
            Self::Wasserstein => drift.wasserstein,
            Self::OutOfRange => drift.out_of_range,
            Self::MeanShift => drift.mean_shift.abs(),
        }
    }
}

/// `METRIC=VALUE`: drift past which `--fail-above` fails.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// What is watched.
    pub metric: Metric,
    /// The largest value that passes.
    pub value: f64,
}

impl std::str::FromStr for Threshold {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let names = || {
            Metric::ALL
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (metric, value) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}`: expected METRIC=VALUE, METRIC one of {}", names()))?;
        let metric = Metric::ALL
            .iter()
            .find(|(n, _)| *n == metric.trim())
            .map(|(_, m)| *m)
            .ok_or_else(|| format!("`{metric}`: not a drift measure (one of {})", names()))?;
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| format!("`{value}`: not a number"))?;
        if !(value.is_finite() && value >= 0.0) {
            return Err(format!("`{value}`: a threshold is a number ≥ 0"));
        }
        Ok(Self { metric, value })
    }
}

impl DriftReport {
    /// Each column and measure past its threshold, as `name metric value > threshold`.
    pub fn exceeding(&self, thresholds: &[Threshold]) -> Vec<String> {
        self.columns()
            .flat_map(|c| {
                thresholds.iter().filter_map(move |t| {
                    let v = t.metric.of(&c.drift);
                    (v > t.value)
                        .then(|| format!("{} {} {v:.4} > {}", c.name, t.metric.name(), t.value))
                })
            })
            .collect()
    }

    /// The report as a Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "Drift of `{}` ({} rows) from the training rows of `{}` ({} rows)\n\n\
             | column | PSI | KS | W1/SD | out of range | mean shift |\n|---|--:|--:|--:|--:|--:|\n",
            self.data, self.rows, self.model, self.training_rows
        );
        for c in self.columns() {
            out.push_str(&format!("| {} | {} |\n", c.name, c.cells().join(" | ")));
        }
        if self.prediction.is_none() {
            out.push_str(&format!("\n{NO_PREDICTIONS}\n"));
        }
        out
    }
}
