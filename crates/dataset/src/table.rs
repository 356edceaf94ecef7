//! Loading a data set into features, target and recipe, through the one reader.

use std::ops::ControlFlow;
use std::path::Path;

use nalgebra::{DMatrix, DVector};
use recipe::{BoundRecipe, Recipe};

use crate::california;
use crate::chunks::{BufferPool, Chunk};
use crate::columns::same_columns;
use crate::error::{Error, Result};
use crate::input::Input;
use crate::row::Record;
use crate::source::{Located, Origin};

/// Features, target and how they were made.
#[derive(Debug, Clone)]
pub struct Table {
    /// One row per sample, one column per feature (recipe order).
    pub x: DMatrix<f64>,
    /// The target of each row.
    pub y: DVector<f64>,
    /// How raw columns became features and target.
    pub recipe: Recipe,
    /// The file (and archive member) the rows came from.
    pub file: String,
    /// SHA-256 of the file as found on disk.
    pub sha256: String,
    /// How the file was found.
    pub origin: Origin,
    /// The raw column names of the input, in file order.
    pub raw_columns: Vec<String>,
    /// Each row's sample weight, with `--weight COLUMN` ([`Spec::weight`]).
    pub w: Option<DVector<f64>>,
}

impl Table {
    /// Feature names, in column order.
    pub fn feature_names(&self) -> Vec<String> {
        self.recipe.feature_names()
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.y.len()
    }

    /// The selected rows, in the order given.
    pub fn select(&self, rows: &[usize]) -> (DMatrix<f64>, DVector<f64>) {
        let x = DMatrix::from_fn(rows.len(), self.x.ncols(), |r, c| self.x[(rows[r], c)]);
        let y = DVector::from_fn(rows.len(), |r, _| self.y[rows[r]]);
        (x, y)
    }

    /// The weights of the selected rows, if the table has weights.
    pub fn select_weights(&self, rows: &[usize]) -> Option<DVector<f64>> {
        let w = self.w.as_ref()?;
        Some(DVector::from_fn(rows.len(), |r, _| w[rows[r]]))
    }
}

/// What to load: California Housing, or a user's table with a named target.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// The target column; `None` means California Housing.
    pub target: Option<String>,
    /// Feature columns; `None` means every column but the target (and the weight).
    pub features: Option<Vec<String>>,
    /// A column of sample weights (scikit-learn's `sample_weight`): not a feature; each value
    /// at least 0, and not all 0.
    pub weight: Option<String>,
}

impl Spec {
    /// The names a header-less file's columns take: California's raw layout, for California.
    pub fn default_columns(&self) -> Option<&'static [&'static str]> {
        self.target
            .is_none()
            .then_some(&california::RAW_COLUMNS[..])
    }
}

/// A table's rows turned into features and target: the parse of a line, the recipe, and the
/// checks, with every problem named by file, line and column. Shared by every reader of tables.
#[derive(Debug, Clone)]
pub struct Derivation {
    file: String,
    columns: Vec<String>,
    bound: BoundRecipe,
    feature_names: Vec<String>,
    target_name: String,
    used: Vec<bool>,
    /// The weight column's index, if rows are weighted.
    weight: Option<usize>,
}

impl Derivation {
    /// Bind `recipe` to the input's columns (target included).
    pub fn new(input: &Input, recipe: &Recipe) -> Result<Self> {
        let columns = input.columns().to_vec();
        let file = input.name().to_owned();
        let bound = recipe.bind(&columns, true).map_err(|e| match e {
            recipe::Error::MissingColumns(missing) => Error::MissingColumns {
                file: file.clone(),
                columns: missing,
            },
            other => Error::Invalid(format!("{file}:1: {other}")),
        })?;
        let mut used = vec![false; columns.len()];
        for c in bound.used_columns() {
            used[c] = true;
        }
        Ok(Self {
            file,
            columns,
            bound,
            feature_names: recipe.feature_names(),
            target_name: recipe.target.name.clone(),
            used,
            weight: None,
        })
    }

    /// Read each row's sample weight from the column `weight` too (`None`: unweighted).
    pub fn weighted_by(mut self, weight: Option<&str>) -> Result<Self> {
        let Some(name) = weight else {
            return Ok(self);
        };
        let Some(index) = self.columns.iter().position(|c| c == name) else {
            return Err(Error::MissingColumns {
                file: self.file,
                columns: vec![name.to_owned()],
            });
        };
        self.used[index] = true;
        self.weight = Some(index);
        Ok(self)
    }

    /// Which of the input's columns rows are read from (features, target, weight).
    pub fn used(&self) -> &[bool] {
        &self.used
    }

    /// Whether rows carry a weight.
    pub fn is_weighted(&self) -> bool {
        self.weight.is_some()
    }

    /// The weight of a row that [`row`](Self::row) parsed into `raw`, and checked (1 when
    /// unweighted).
    pub fn weight(&self, raw: &[f64]) -> f64 {
        self.weight.map_or(1.0, |index| raw[index])
    }

    /// Number of features per row.
    pub fn n_features(&self) -> usize {
        self.bound.n_features()
    }

    /// Number of raw columns per line.
    pub fn n_columns(&self) -> usize {
        self.columns.len()
    }

    /// Parse the row `record` (line or key `line`) into `raw`, derive its features into
    /// `features`, check its weight if rows are weighted, and return its target. `raw` holds
    /// [`n_columns`](Self::n_columns) values, `features` [`n_features`](Self::n_features).
    pub fn row(
        &self,
        line: u64,
        record: Record<'_>,
        raw: &mut [f64],
        features: &mut [f64],
    ) -> Result<f64> {
        let (file, line) = record.place(&self.file, line);
        record
            .parse(&self.used, raw)
            .map_err(|p| Error::at(file, line, &self.columns, p))?;
        self.bound.features(0, raw, features).map_err(|e| match e {
            recipe::Error::BadDenominator {
                column,
                feature,
                value,
                ..
            } => Error::BadDenominator {
                file: file.to_owned(),
                line,
                column,
                feature,
                value,
            },
            other => Error::Invalid(format!("{file}:{line}: {other}")),
        })?;
        let target = self.bound.target(raw).unwrap_or(f64::NAN);
        // One comparison per value on the way; the error is built only when one fails.
        if !(features.iter().all(|&v| is_usable(v)) && is_usable(target)) {
            let named = features.iter().zip(&self.feature_names);
            let target_named = std::iter::once((&target, &self.target_name));
            for (&value, name) in named.chain(target_named) {
                check_magnitude(file, line, name, value)?;
            }
        }
        if let Some(index) = self.weight
            && !(0.0..=MAX_MAGNITUDE).contains(&raw[index])
        {
            return Err(Error::BadWeight {
                file: file.to_owned(),
                line,
                column: self.columns[index].clone(),
                value: raw[index],
            });
        }
        Ok(target)
    }
}

/// The largest magnitude a feature or target may have: squares of larger values, summed over
/// billions of rows, would overflow the statistics (and no real measurement is that large).
pub const MAX_MAGNITUDE: f64 = 1e100;

/// Whether a derived feature or target can go into the statistics or a prediction: finite and
/// within ±[`MAX_MAGNITUDE`]. The one rule every reader of rows and the server apply.
#[inline]
pub fn is_usable(value: f64) -> bool {
    // NaN fails the comparison, infinities exceed the bound.
    value.abs() <= MAX_MAGNITUDE
}

/// Refuse a derived feature or target that is not finite, or so large that its square overflows
/// the statistics; the error names the file, line and feature. Every reader of rows (training,
/// statistics, evaluation, prediction) applies it.
#[inline]
pub fn check_magnitude(file: &str, line: u64, feature: &str, value: f64) -> Result<()> {
    if is_usable(value) {
        return Ok(());
    }
    Err(Error::NotFiniteDerived {
        file: file.to_owned(),
        line,
        feature: feature.to_owned(),
        value,
    })
}

/// Rows parsed from one chunk, column-major: column `j` holds `rows` values from
/// `values[j * stride]`, where `stride` is the chunk's line count, an upper bound on its rows.
#[derive(Debug)]
struct Block {
    values: Vec<f64>,
    stride: usize,
    rows: usize,
    /// The size of the chunk in bytes, from which the whole input's row count is estimated.
    bytes: usize,
    /// Whether the input ends with this block.
    last: bool,
}

/// The columns of a table being built, column-major, with room reserved from the first
/// block's rows per byte, so the finished matrix is the only full copy of the data. An input
/// read as one chunk is that block, without a copy.
#[derive(Debug, Default)]
struct Columns {
    /// `width` columns of `capacity` rows each, back to back.
    values: Vec<f64>,
    width: usize,
    capacity: usize,
    rows: usize,
}

impl Columns {
    /// Append a block; `size` is the input's size in bytes, if known. Returns the block's
    /// storage if it was copied (not taken as the start of the table), for reuse.
    fn extend(&mut self, block: Block, size: Option<u64>) -> Option<Vec<f64>> {
        let width = block.values.len() / block.stride.max(1);
        if self.width == 0 && (block.last || size.is_none()) {
            // The first block of a stream, or of an input it holds whole: it starts the table.
            *self = Self {
                values: block.values,
                width,
                capacity: block.stride,
                rows: block.rows,
            };
            return None;
        }
        if self.rows + block.rows > self.capacity {
            let wanted = match (self.width, size) {
                // The first block: the rows the input's size suggests, with some slack.
                (0, Some(s)) => {
                    (block.rows as f64 * s as f64 / block.bytes.max(1) as f64 * 1.02) as usize + 64
                }
                _ => self.capacity * 3 / 2,
            };
            self.grow(width, wanted.max(self.rows + block.rows));
        }
        for j in 0..self.width {
            self.values[j * self.capacity + self.rows..][..block.rows]
                .copy_from_slice(&block.values[j * block.stride..][..block.rows]);
        }
        self.rows += block.rows;
        Some(block.values)
    }

    fn grow(&mut self, width: usize, capacity: usize) {
        let mut values = vec![0.0; width * capacity];
        for j in 0..self.width {
            values[j * capacity..][..self.rows]
                .copy_from_slice(&self.values[j * self.capacity..][..self.rows]);
        }
        (self.values, self.width, self.capacity) = (values, width, capacity);
    }

    /// Close the gaps between the columns and hand over the storage (rows, values).
    fn finish(mut self) -> (usize, Vec<f64>) {
        let n = self.rows;
        if n < self.capacity {
            for j in 1..self.width {
                self.values
                    .copy_within(j * self.capacity..j * self.capacity + n, j * n);
            }
            self.values.truncate(self.width * n);
            self.values.shrink_to_fit();
        }
        (n, self.values)
    }
}

/// Parse and derive the lines of one chunk into a block of columns (features, then the
/// target), in storage from `spare`.
fn chunk_columns(derive: &Derivation, chunk: &Chunk, spare: &BufferPool<f64>) -> Result<Block> {
    let p = derive.n_features();
    let stride = chunk.line_count();
    // Features, the target, and the weight if rows are weighted.
    let width = p + 1 + usize::from(derive.is_weighted());
    let mut values = spare.take(width * stride);
    values.resize(width * stride, 0.0);
    let mut raw = vec![0.0; derive.n_columns()];
    let mut features = vec![0.0; p];
    let mut rows = 0;
    for (line, record) in chunk.lines() {
        let target = derive.row(line, record, &mut raw, &mut features)?;
        for (j, &v) in features.iter().chain([&target]).enumerate() {
            values[j * stride + rows] = v;
        }
        if derive.is_weighted() {
            values[(p + 1) * stride + rows] = derive.weight(&raw);
        }
        rows += 1;
    }
    Ok(Block {
        values,
        stride,
        rows,
        bytes: chunk.len(),
        last: chunk.is_last(),
    })
}

/// Load a located file: a CSV with a header, the header-less `cal_housing.data`, or the `.tgz`
/// archive. One pass of the shared reader, several threads for a large file; the SHA-256 of
/// the file is computed on the way.
pub fn load(located: &Located, spec: &Spec) -> Result<Table> {
    read_table(
        Input::open(&located.path, spec.default_columns())?,
        located,
        spec,
    )
}

/// [`load`] a file whose SHA-256 the caller already knows (recorded with its [`Stamp`](crate::Stamp)
/// when it was last hashed, and the stamp unchanged): the same checks, without hashing again.
pub fn load_known(located: &Located, spec: &Spec, sha256: &str) -> Result<Table> {
    let input = Input::open(&located.path, spec.default_columns())?.hashed_already(sha256);
    read_table(input, located, spec)
}

fn read_table(input: Input, located: &Located, spec: &Spec) -> Result<Table> {
    let recipe = recipe_for(input.name(), input.columns(), spec)?;
    let derive = Derivation::new(&input, &recipe)?.weighted_by(spec.weight.as_deref())?;
    let (file, raw_columns) = (input.name().to_owned(), input.columns().to_vec());
    let input = input.reading_only(derive.used());
    let p = derive.n_features();
    let size = input.size_hint();
    let mut columns = Columns::default();
    // Blocks copied into the table are handed back for later chunks, so that their pages are
    // faulted in once, not once a chunk.
    let spare = BufferPool::default();
    let sha256 = input.for_each_chunk(
        |chunk| chunk_columns(&derive, chunk, &spare),
        |block| {
            if let Some(used) = columns.extend(block, size) {
                spare.give(used);
            }
            Ok::<(), Error>(())
        },
    )?;
    if columns.rows == 0 {
        return Err(Error::Empty { file });
    }
    let (n, mut values) = columns.finish();
    let w = derive
        .is_weighted()
        .then(|| DVector::from_vec(values.split_off((p + 1) * n)));
    if w.as_ref().is_some_and(|w| w.iter().all(|&v| v == 0.0)) {
        return Err(Error::Invalid(format!(
            "{file}: every weight in column {} is 0",
            spec.weight.as_deref().unwrap_or_default()
        )));
    }
    let y = DVector::from_vec(values.split_off(p * n));
    Ok(Table {
        w,
        x: DMatrix::from_vec(n, p, values),
        y,
        recipe,
        file,
        sha256: sha256.unwrap_or_default(),
        origin: located.origin,
        raw_columns,
    })
}

/// Some rows of a table, parsed and derived; the other rows are only counted.
#[derive(Debug, Clone)]
pub struct Picked {
    /// The input's column names, in file order.
    pub raw_columns: Vec<String>,
    /// The raw values of each row picked, in the order asked (a column the recipe does not
    /// use is NaN).
    pub raw: Vec<Vec<f64>>,
    /// Their features, one row each, and targets.
    pub x: DMatrix<f64>,
    /// The target of each row picked.
    pub y: DVector<f64>,
    /// How raw columns became features and target.
    pub recipe: Recipe,
}

/// Read the data rows `rows` (zero-based, in file order, blank lines not counted) of a file,
/// parsing and deriving only those: reading stops after the last one. A few sample rows of a
/// file that was checked whole when a model was trained on it cost a scan for line ends.
///
/// A row past the end of the file is an error naming it.
pub fn pick_rows(located: &Located, spec: &Spec, rows: &[usize]) -> Result<Picked> {
    let input = Input::open(&located.path, spec.default_columns())?.unhashed();
    let recipe = recipe_for(input.name(), input.columns(), spec)?;
    let derive = Derivation::new(&input, &recipe)?;
    let (file, raw_columns) = (input.name().to_owned(), input.columns().to_vec());
    let input = input.reading_only(derive.used());
    let (p, last) = (derive.n_features(), rows.iter().max().copied());
    // Each row picked: its raw values, features and target.
    type Row = (Vec<f64>, Vec<f64>, f64);
    let mut found: Vec<Option<Row>> = vec![None; rows.len()];
    let mut index = 0;
    input.for_each_chunk_here(|chunk| {
        for (line, record) in chunk.lines() {
            if last.is_none_or(|l| index > l) {
                return Ok(ControlFlow::Break(()));
            }
            if rows.contains(&index) {
                let (mut raw, mut features) = (vec![0.0; derive.n_columns()], vec![0.0; p]);
                let target = derive.row(line, record, &mut raw, &mut features)?;
                for (slot, _) in rows.iter().enumerate().filter(|(_, r)| **r == index) {
                    found[slot] = Some((raw.clone(), features.clone(), target));
                }
            }
            index += 1;
        }
        Ok(ControlFlow::Continue(()))
    })?;
    let found = found
        .into_iter()
        .zip(rows)
        .map(|(v, r)| v.ok_or_else(|| Error::Invalid(format!("{file}: no data row {r}"))))
        .collect::<Result<Vec<_>>>()?;
    Ok(Picked {
        raw_columns,
        x: DMatrix::from_fn(found.len(), p, |r, c| found[r].1[c]),
        y: DVector::from_iterator(found.len(), found.iter().map(|f| f.2)),
        raw: found.into_iter().map(|f| f.0).collect(),
        recipe,
    })
}

/// The raw values of the given data rows (zero-based, in file order of data rows), as read,
/// with the input's column names: [`pick_rows`]'s raw part.
pub fn raw_rows(
    located: &Located,
    spec: &Spec,
    rows: &[usize],
) -> Result<(Vec<String>, Vec<Vec<f64>>)> {
    let picked = pick_rows(located, spec, rows)?;
    Ok((picked.raw_columns, picked.raw))
}

/// The recipe for a table with these columns: California Housing's (the nine raw columns,
/// exactly), or, with a target, the named features (or all other columns) as they are.
pub fn recipe_for(file: &str, columns: &[String], spec: &Spec) -> Result<Recipe> {
    let named = spec
        .target
        .iter()
        .chain(spec.features.iter().flatten())
        .chain(&spec.weight);
    if named.clone().any(|c| c.trim().is_empty()) {
        return Err(Error::Invalid(String::from(
            "a column name given for the target or the features is empty",
        )));
    }
    let recipe = match &spec.target {
        None => {
            check_california_columns(file, columns)?;
            california::recipe()
        }
        Some(target) => user_recipe(file, columns, spec, target)?,
    };
    if let Some(weight) = &spec.weight {
        if !columns.contains(weight) {
            return Err(Error::MissingColumns {
                file: file.to_owned(),
                columns: vec![weight.clone()],
            });
        }
        if *weight == recipe.target.column || recipe.feature_names().contains(weight) {
            return Err(Error::Invalid(format!(
                "{file}: the weight column {weight} cannot also be the target or a feature"
            )));
        }
    }
    Ok(recipe)
}

/// Load a path directly (no search), as a program given `--data FILE` does.
pub fn load_path(path: &Path, spec: &Spec) -> Result<Table> {
    load(
        &Located {
            path: path.to_path_buf(),
            origin: Origin::Argument,
        },
        spec,
    )
}

fn check_california_columns(file: &str, columns: &[String]) -> Result<()> {
    same_columns(file, &california::RAW_COLUMNS, columns)
}

fn user_recipe(file: &str, columns: &[String], spec: &Spec, target: &str) -> Result<Recipe> {
    let features = spec.features.as_deref();
    let header: std::collections::HashSet<&str> = columns.iter().map(String::as_str).collect();
    let known = |c: &str| header.contains(c);
    let mut missing: Vec<String> = features
        .unwrap_or_default()
        .iter()
        .filter(|c| !known(c))
        .cloned()
        .collect();
    if !known(target) {
        missing.insert(0, target.to_owned());
    }
    if !missing.is_empty() {
        return Err(Error::MissingColumns {
            file: file.to_owned(),
            columns: missing,
        });
    }
    let features: Vec<String> = match features {
        Some(f) => f.to_vec(),
        None => columns
            .iter()
            .filter(|c| *c != target && Some(*c) != spec.weight.as_ref())
            .cloned()
            .collect(),
    };
    if features.iter().any(|f| f == target) {
        return Err(Error::Invalid(format!(
            "{file}: the target {target} cannot also be a feature"
        )));
    }
    if features.is_empty() {
        return Err(Error::Invalid(format!(
            "{file}: no feature columns besides the target {target}"
        )));
    }
    if features.len() > recipe::MAX_FEATURES {
        return Err(Error::Invalid(format!(
            "{file}: {} feature columns are more than the {} cali-reg fits (its statistics grow with the square of their number); name fewer with --features",
            features.len(),
            recipe::MAX_FEATURES
        )));
    }
    Ok(Recipe::identity(&features, target))
}
