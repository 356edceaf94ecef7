//! `summary`: the inference statistics of the float model from the training rows' sufficient
//! statistics that `train` keeps beside it (`train_stats.msgpack`), whichever path trained it:
//! no pass over the data. The figures are statsmodels' `OLS` (`WLS` with a weight column).

use std::path::PathBuf;

use linreg::Inference;
use linreg::envelope::ShardStats;
use serde::Serialize;

use crate::artifacts::{self, TRAIN_STATS};
use crate::error::{Error, Result};
use crate::run_record::RunRecord;

/// What `summary` is asked.
#[derive(Debug, Clone)]
pub struct SummaryOptions {
    /// The artifacts folder.
    pub artifacts: PathBuf,
    /// The confidence intervals' alpha (0.05: 95% intervals).
    pub alpha: f64,
    /// A heteroscedasticity-robust covariance, from a second pass over the training rows.
    pub cov_type: Option<linreg::CovType>,
    /// Where those rows are (the training run's data, by default).
    pub data: crate::data::DataOptions,
}

/// The model's inference statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// `"summary"`.
    pub command: &'static str,
    /// The model file.
    pub model: String,
    /// The target.
    pub target: String,
    /// `OLS`, or `WLS` with weights.
    pub method: &'static str,
    /// The weight column, if any.
    pub weight: Option<String>,
    /// The statistics.
    #[serde(flatten)]
    pub inference: Inference,
    /// The condition number of the scaled normal equations the fit solved (the model's; the
    /// inference's `condition_number` is the design matrix's, as statsmodels gives it).
    pub scaled_condition_number: f64,
}

/// `inference` with the covariance `kind`, from a second pass over the training rows: an
/// in-memory run's permutation split read again, or a streaming run's rows streamed again.
fn robust(
    options: &SummaryOptions,
    record: &RunRecord,
    model: &linreg::Model,
    inference: Inference,
    kind: linreg::CovType,
) -> Result<Inference> {
    // The rows as training weighted them, whatever this command was told.
    let mut data = options.data.clone();
    data.spec.weight = record.parameters.weight.clone();
    let template = linreg::Robust::new(&inference, kind, model);
    if let Some(split) = &record.parameters.split {
        let sums =
            crate::streaming::robust_sums(&data, split, model, &template, record.data_sha256())?;
        return Ok(inference.robust(&sums)?);
    }
    let params = crate::split::SplitChoice::default().resolve(Some(record));
    // Training rows, not held-out ones: a run on every row (`--test-size 0`) has them too.
    let prepared = crate::prepared::Prepared::load(&data, params, data.locate()?, Some(record))?;
    prepared.check_model(model.recipe())?;
    if let Some(differs) = prepared.other_data_warning(record) {
        return Err(Error::NotTrainingRows(differs));
    }
    let table = &prepared.table;
    let mut sums = template;
    let mut row = vec![0.0; table.x.ncols()];
    for &r in &prepared.split.train {
        for (j, v) in row.iter_mut().enumerate() {
            *v = table.x[(r, j)];
        }
        let w = table.w.as_ref().map_or(1.0, |w| w[r]);
        sums.push(&row, table.y[r], w);
    }
    Ok(inference.robust(&sums)?)
}

/// The summary of the float model of the folder. The caller holds the folder's shared lock.
pub fn summary(options: &SummaryOptions) -> Result<Summary> {
    let dir = &options.artifacts;
    let record = RunRecord::open_or_empty(dir)?;
    let model = record.load_float(dir)?;
    let (bytes, path) = record.read_file(dir, TRAIN_STATS).map_err(|e| match e {
        Error::Read { path, .. } => Error::NoTrainStats { path },
        other => other,
    })?;
    let shard: ShardStats = artifacts::decode(&path, &bytes)?;
    let weight = record.parameters.weight.clone();
    let mut inference = linreg::infer(&shard.stats, &model, options.alpha, weight.is_some())?;
    if let Some(kind) = options.cov_type {
        inference = robust(options, &record, &model, inference, kind)?;
    }
    Ok(Summary {
        command: "summary",
        model: dir.join(crate::LINEAR).display().to_string(),
        target: model.recipe().target.name.clone(),
        method: if weight.is_some() { "WLS" } else { "OLS" },
        weight,
        inference,
        scaled_condition_number: model.diagnostics().condition_number,
    })
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let table = self
            .inference
            .table(&self.target, self.method, self.weight.as_deref());
        write!(
            f,
            "{table}\nCond. No. {:.6e} (of the design matrix; of the scaled normal equations solved: {:.4}){}",
            self.inference.condition_number,
            self.scaled_condition_number,
            if self
                .inference
                .estimates
                .first()
                .is_some_and(|e| e.name == "const")
            {
                ""
            } else {
                "\nNo intercept: R² is the uncentred one (1 − SSR/Σy²), as statsmodels reports it"
            }
        )
    }
}
