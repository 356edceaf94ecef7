//! The data set and its split, as the training commands need them.

use std::path::Path;

use dataset::{Located, Locator, Spec, Split, Stamp, Table};
use nalgebra::{DMatrix, DVector};
use serde_json::{Value, json};

use crate::args::Common;
use crate::output;
use crate::record::Record;

/// Seed and test size: given on the command line, else those of the last training run, else 42 and 0.2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitParams {
    pub seed: u64,
    pub test_size: f64,
}

impl SplitParams {
    /// Fail unless the split holds rows out: after `--test-size 0` there is nothing to score.
    pub fn check_held_out(&self) -> anyhow::Result<()> {
        if self.test_size == 0.0 {
            anyhow::bail!(
                "the training run fitted on every row (--test-size 0): there are no held-out rows to score; pass --test-size F to choose a split, or --input FILE to predict"
            );
        }
        Ok(())
    }

    pub fn resolve(common: &Common, record: Option<&Record>) -> Self {
        let from_record = |key: &str| record.and_then(|r| r.get(&format!("/parameters/{key}")));
        Self {
            seed: common
                .seed
                .or_else(|| from_record("seed").and_then(Value::as_u64))
                .unwrap_or(dataset::DEFAULT_SEED),
            test_size: common
                .test_size
                .or_else(|| from_record("test_size").and_then(Value::as_f64))
                .unwrap_or(dataset::DEFAULT_TEST_SIZE),
        }
    }
}

/// How the last training run held rows out when it streamed: by hash, in a test file, or not
/// at all (a fit from statistics files).
#[derive(Debug, Clone, PartialEq)]
pub enum StreamedSplit {
    Hash { seed: u64, test_size: f64 },
    TestFile(std::path::PathBuf),
    NoneHeldOut,
}

impl StreamedSplit {
    /// The record's streamed split, unless `--seed` or `--test-size` ask for a permutation
    /// split anyway; `None` after an in-memory training run.
    pub fn recorded(common: &Common, record: &Record) -> Option<Self> {
        if common.seed.is_some() || common.test_size.is_some() {
            return None;
        }
        let split = record.get("/parameters/split")?;
        match split.get("kind")?.as_str()? {
            "hash" => Some(Self::Hash {
                seed: split.get("seed")?.as_u64()?,
                test_size: split.get("test_size")?.as_f64()?,
            }),
            "test file" => Some(Self::TestFile(split.get("file")?.as_str()?.into())),
            _ => Some(Self::NoneHeldOut),
        }
    }

    /// In words, for messages and `--json`.
    pub fn describe(&self) -> String {
        match self {
            Self::Hash { seed, test_size } => {
                format!("hash split, seed {seed}, test size {test_size}")
            }
            Self::TestFile(f) => format!("test file {}", f.display()),
            Self::NoneHeldOut => String::from("no held-out rows"),
        }
    }
}

/// The loaded table and its train/test split.
#[derive(Debug)]
pub struct Prepared {
    pub located: Located,
    pub spec: Spec,
    pub table: Table,
    pub split: Split,
    pub params: SplitParams,
}

impl Prepared {
    /// Load data already located afresh: the start of a training run. The file is hashed,
    /// unless the last run's record has its SHA-256 with its stamp unchanged.
    pub fn load(common: &Common, params: SplitParams, located: Located) -> anyhow::Result<Self> {
        let previous = Record::open(&common.artifacts).ok();
        Self::load_with(common, params, previous.as_ref(), located)
    }

    /// Load the data for a later command: a file with the size and modification time that the
    /// record noted when it was hashed is not hashed again. The split is the last training
    /// run's permutation split; after a streaming run, whose rows were held out otherwise, this
    /// is an error rather than a score on the wrong rows.
    pub fn load_recorded(
        common: &Common,
        params: SplitParams,
        record: &Record,
    ) -> anyhow::Result<Self> {
        let located = Self::locate_recorded(common, params, record)?;
        Self::load_with(common, params, Some(record), located)
    }

    /// What every command scoring the recorded split checks first (rows were held out, by a
    /// permutation), then the data, located.
    fn locate_recorded(
        common: &Common,
        params: SplitParams,
        record: &Record,
    ) -> anyhow::Result<Located> {
        params.check_held_out()?;
        if let Some(split) = StreamedSplit::recorded(common, record) {
            anyhow::bail!(
                "the last training run streamed ({}); this command needs a permutation split: pass --seed N --test-size F to choose one, or score the held-out rows with `cali-reg evaluate`",
                split.describe()
            );
        }
        Ok(Locator::from_env(common.data.as_deref()).locate()?)
    }

    /// The first `count` rows of the recorded split's test set, for a command that shows a few
    /// (`predict`), checked to have the features of `model`. A file unchanged since it was
    /// hashed (its stamp as recorded) has its row count on record and was checked whole by the
    /// training run: only the rows shown are parsed. Any other file is loaded and checked whole
    /// first, with a warning if it differs from the training data.
    pub fn test_rows_recorded(
        common: &Common,
        record: &Record,
        model: &linreg::Recipe,
        count: usize,
    ) -> anyhow::Result<dataset::Picked> {
        let params = SplitParams::resolve(common, Some(record));
        let located = Self::locate_recorded(common, params, record)?;
        let known_rows = recorded_sha256(record, &located.path)
            .and_then(|_| record.get("/parameters/data/rows")?.as_u64())
            .and_then(|rows| usize::try_from(rows).ok());
        let (located, spec, n_rows) = match known_rows {
            Some(rows) => (located, common.spec(), rows),
            None => {
                let prepared = Self::load_with(common, params, Some(record), located)?;
                prepared.check_model(model)?;
                warn_if_other_data(&prepared, record);
                let rows = prepared.table.n_rows();
                (prepared.located, prepared.spec, rows)
            }
        };
        let split = dataset::train_test_split(n_rows, params.test_size, params.seed)?;
        let rows = &split.test[..count.min(split.test.len())];
        let picked = dataset::pick_rows(&located, &spec, rows)?;
        check_features(model, &picked.recipe)?;
        Ok(picked)
    }

    fn load_with(
        common: &Common,
        params: SplitParams,
        record: Option<&Record>,
        located: Located,
    ) -> anyhow::Result<Self> {
        let spec = common.spec();
        let table = match record.and_then(|r| recorded_sha256(r, &located.path)) {
            Some(sha256) => dataset::load_known(&located, &spec, &sha256)?,
            None => dataset::load(&located, &spec)?,
        };
        let split = dataset::train_test_split(table.n_rows(), params.test_size, params.seed)?;
        Ok(Self {
            located,
            spec,
            table,
            split,
            params,
        })
    }

    pub fn test(&self) -> (DMatrix<f64>, DVector<f64>) {
        self.table.select(&self.split.test)
    }

    /// The test rows' weights, with `--weight`.
    pub fn test_weights(&self) -> Option<DVector<f64>> {
        self.table.select_weights(&self.split.test)
    }

    /// What run.json records about the data and split.
    pub fn parameters(&self) -> Value {
        json!({
            "seed": self.params.seed,
            "test_size": self.params.test_size,
            "data": {
                "file": self.table.file,
                "found_by": self.table.origin.label(),
                "sha256": self.table.sha256,
                "rows": self.table.n_rows(),
                "stamp": stamp_json(&self.located.path),
            },
            "target": self.table.recipe.target.name,
            "weight": self.spec.weight,
            "features": self.table.feature_names(),
            "train_rows": self.split.train.len(),
            "test_rows": self.split.test.len(),
        })
    }

    /// Fail unless a model was trained on features with the same names as this data's.
    pub fn check_model(&self, recipe: &linreg::Recipe) -> anyhow::Result<()> {
        check_features(recipe, &self.table.recipe)
    }
}

/// Fail unless a model (its recipe `model`) was trained on features with the same names as
/// those of data read with the recipe `data`.
pub fn check_features(model: &linreg::Recipe, data: &linreg::Recipe) -> anyhow::Result<()> {
    let (model, data) = (model.feature_names(), data.feature_names());
    if model != data {
        anyhow::bail!(
            "the model's features ({}) differ from the data's ({}); pass the same --target/--features as for training",
            model.join(", "),
            data.join(", ")
        );
    }
    Ok(())
}

/// Where the data was read from, its size and modification time, so that later commands can
/// tell the file is unchanged without hashing it again.
pub fn stamp_json(path: &Path) -> Value {
    match Stamp::of(path) {
        Some(stamp) => json!({
            "path": path.display().to_string(),
            "size": stamp.size,
            "modified_ns": stamp.modified_ns,
        }),
        None => Value::Null,
    }
}

/// The SHA-256 that the artifacts' record gives for the file at `path`, if its stamp says the
/// file is unchanged since it was hashed; `None` for any other file, or without a record.
pub fn known_sha256(common: &Common, path: &Path) -> Option<String> {
    recorded_sha256(&Record::open(&common.artifacts).ok()?, path)
}

/// The recorded SHA-256 of the file at `path`, if the record's stamp says it is unchanged.
fn recorded_sha256(record: &Record, path: &Path) -> Option<String> {
    let data = record.get("/parameters/data")?;
    let stamp = Stamp::of(path)?;
    let same = data.pointer("/stamp/path")?.as_str()? == path.display().to_string()
        && data.pointer("/stamp/size")?.as_u64()? == stamp.size
        && data.pointer("/stamp/modified_ns")?.as_i64()? == stamp.modified_ns;
    let sha256 = data.get("sha256")?.as_str()?;
    let hex = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (same && hex).then(|| sha256.to_owned())
}

/// Warn (stderr) when the data differs from the data the model was trained on.
pub fn warn_if_other_data(prepared: &Prepared, record: &Record) {
    if let Some(trained) = record
        .get("/parameters/data/sha256")
        .and_then(Value::as_str)
        && trained != prepared.table.sha256
    {
        output::stderr(format_args!(
            "warning: {} differs from the data the model was trained on (SHA-256 {trained})",
            prepared.table.file
        ));
    }
}
