//! The table in memory and its permutation split, as in-memory training, evaluation, sample
//! predictions and the report need them.

use dataset::{Located, Spec, Split, Table};
use linreg::Recipe;
use nalgebra::{DMatrix, DVector};

use crate::data::DataOptions;
use crate::error::{Error, Result};
use crate::run_record::{DataRecord, RunRecord, StampRecord, TableRecord};
use crate::split::{SplitChoice, SplitParams};

/// The loaded table and its train/test split.
#[derive(Debug)]
pub struct Prepared {
    /// Where the table was found.
    pub located: Located,
    /// What was read of it.
    pub spec: Spec,
    /// Its features, target and weights.
    pub table: Table,
    /// The rows of each side.
    pub split: Split,
    /// The split's seed and test share.
    pub params: SplitParams,
}

impl Prepared {
    /// Load data already located: the start of a training run. The file is hashed, unless
    /// `previous` (the last run's record) has its SHA-256 with its stamp unchanged.
    pub fn load(
        data: &DataOptions,
        params: SplitParams,
        located: Located,
        previous: Option<&RunRecord>,
    ) -> Result<Self> {
        let table = match previous.and_then(|r| r.known_sha256(&located.path)) {
            Some(sha256) => dataset::load_known(&located, &data.spec, &sha256)?,
            None => dataset::load(&located, &data.spec)?,
        };
        let split = dataset::train_test_split(table.n_rows(), params.test_size, params.seed)?;
        Ok(Self {
            located,
            spec: data.spec.clone(),
            table,
            split,
            params,
        })
    }

    /// Load the data for a command that scores the last training run (`record`) on its
    /// permutation split: rows were held out, by a permutation. After a streaming run, whose
    /// rows were held out otherwise, this is an error rather than a score on the wrong rows.
    pub fn load_recorded(
        data: &DataOptions,
        params: SplitParams,
        record: &RunRecord,
        split_given: bool,
    ) -> Result<Self> {
        let located = locate_recorded(data, params, record, split_given)?;
        Self::load(data, params, located, Some(record))
    }

    /// The test rows' features and targets.
    pub fn test(&self) -> (DMatrix<f64>, DVector<f64>) {
        self.table.select(&self.split.test)
    }

    /// The test rows' weights, with a weight column.
    pub fn test_weights(&self) -> Option<DVector<f64>> {
        self.table.select_weights(&self.split.test)
    }

    /// What the record keeps of the table read.
    pub fn data_record(&self) -> DataRecord {
        DataRecord::Table(TableRecord {
            file: self.table.file.clone(),
            found_by: Some(self.table.origin.label().to_owned()),
            sha256: self.table.sha256.clone(),
            rows: self.table.n_rows() as u64,
            stamp: StampRecord::of(&self.located.path),
        })
    }

    /// Fail unless a model was trained on features with the same names as this data's.
    pub fn check_model(&self, model: &Recipe) -> Result<()> {
        check_features(model, &self.table.recipe)
    }

    /// A warning when the data differs from the data the model was trained on.
    pub fn other_data_warning(&self, record: &RunRecord) -> Option<String> {
        let trained = record.data_sha256()?;
        (trained != self.table.sha256).then(|| {
            format!(
                "{} differs from the data the model was trained on (SHA-256 {trained})",
                self.table.file
            )
        })
    }
}

/// What every command scoring the recorded split checks first (rows were held out, by a
/// permutation), then the data, located.
pub(crate) fn locate_recorded(
    data: &DataOptions,
    params: SplitParams,
    record: &RunRecord,
    split_given: bool,
) -> Result<Located> {
    params.check_held_out()?;
    if let Some(split) = record.parameters.split.as_ref().filter(|_| !split_given) {
        return Err(Error::Streamed {
            split: split.to_string(),
        });
    }
    data.locate()
}

/// Fail unless a model (its recipe `model`) was trained on features with the same names as
/// those of data read with the recipe `data`.
pub fn check_features(model: &Recipe, data: &Recipe) -> Result<()> {
    let (model, data) = (model.feature_names(), data.feature_names());
    if model != data {
        return Err(Error::FeaturesDiffer { model, data });
    }
    Ok(())
}

/// The first `count` rows of the recorded split's test set, for a command that shows a few
/// (`predict`), checked to have the features of `model`; and warnings for the user. A file
/// unchanged since it was hashed (its stamp as recorded) has its row count on record and was
/// checked whole by the training run: only the rows shown are parsed. Any other file is loaded
/// and checked whole first, with a warning if it differs from the training data.
pub fn sample_rows(
    data: &DataOptions,
    split: SplitChoice,
    record: &RunRecord,
    model: &Recipe,
    count: usize,
) -> Result<(dataset::Picked, Vec<String>)> {
    let params = split.resolve(Some(record));
    let located = locate_recorded(data, params, record, split.is_given())?;
    let known_rows = match &record.parameters.data {
        Some(DataRecord::Table(table)) if record.known_sha256(&located.path).is_some() => {
            usize::try_from(table.rows).ok()
        }
        _ => None,
    };
    let mut warnings = Vec::new();
    let (located, spec, n_rows) = match known_rows {
        Some(rows) => (located, data.spec.clone(), rows),
        None => {
            let prepared = Prepared::load(data, params, located, Some(record))?;
            prepared.check_model(model)?;
            warnings.extend(prepared.other_data_warning(record));
            let rows = prepared.table.n_rows();
            (prepared.located, prepared.spec, rows)
        }
    };
    let split = dataset::train_test_split(n_rows, params.test_size, params.seed)?;
    let rows = &split.test[..count.min(split.test.len())];
    let picked = dataset::pick_rows(&located, &spec, rows)?;
    check_features(model, &picked.recipe)?;
    Ok((picked, warnings))
}
