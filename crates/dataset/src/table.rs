//! Loading a data set into features, target and recipe.

use std::io::Read;
use std::path::Path;

use linreg::Recipe;
use nalgebra::{DMatrix, DVector};

use crate::california;
use crate::error::{Error, Result};
use crate::parse::{RawTable, has_header, parse_csv};
use crate::source::{Located, Origin, read, sha256_hex};

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
    /// The raw rows, row-major, as read (before derivation).
    pub raw: Vec<f64>,
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

    /// The raw values of one row, in [`raw_columns`](Self::raw_columns) order.
    pub fn raw_row(&self, row: usize) -> &[f64] {
        let w = self.raw_columns.len();
        &self.raw[row * w..(row + 1) * w]
    }
}

/// What to load: California Housing, or a user's table with a named target.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// The target column; `None` means California Housing.
    pub target: Option<String>,
    /// Feature columns; `None` means every column but the target.
    pub features: Option<Vec<String>>,
}

/// Load a located file: a CSV with a header, the header-less `cal_housing.data`, or the `.tgz` archive.
pub fn load(located: &Located, spec: &Spec) -> Result<Table> {
    let bytes = read(&located.path)?;
    let sha256 = sha256_hex(&bytes);
    let display = located.path.display().to_string();
    let (file, content) = if bytes.starts_with(&[0x1f, 0x8b]) {
        let (member, content) = extract_data(&bytes, &display)?;
        (format!("{display}:{member}"), content)
    } else {
        (display, bytes)
    };
    let raw = if has_header(&content) {
        parse_csv(&content, &file, None)?
    } else if spec.target.is_none() {
        parse_csv(&content, &file, Some(&california::RAW_COLUMNS))?
    } else {
        return Err(Error::Invalid(format!(
            "{file}: a table with --target needs a header line naming its columns"
        )));
    };
    let recipe = recipe_for(&raw.file, &raw.columns, spec)?;
    derive(raw, recipe, sha256, located.origin)
}

/// The recipe for a table with these columns: California Housing's (the nine raw columns,
/// exactly), or, with a target, the named features (or all other columns) as they are.
pub fn recipe_for(file: &str, columns: &[String], spec: &Spec) -> Result<Recipe> {
    match &spec.target {
        None => {
            check_california_columns(file, columns)?;
            Ok(california::recipe())
        }
        Some(target) => user_recipe(file, columns, target, spec.features.as_deref()),
    }
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

/// The `cal_housing.data` member of scikit-learn's archive.
fn extract_data(bytes: &[u8], file: &str) -> Result<(String, Vec<u8>)> {
    let damaged = |e: std::io::Error| Error::Archive {
        file: file.to_owned(),
        reason: format!("truncated or damaged archive ({e})"),
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    for entry in archive.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let path = entry
            .path()
            .map_err(damaged)?
            .to_string_lossy()
            .into_owned();
        if path.ends_with("cal_housing.data") {
            let mut content = Vec::new();
            entry.read_to_end(&mut content).map_err(damaged)?;
            return Ok((path, content));
        }
    }
    Err(Error::Archive {
        file: file.to_owned(),
        reason: String::from("no CaliforniaHousing/cal_housing.data in the archive"),
    })
}

fn check_california_columns(file: &str, columns: &[String]) -> Result<()> {
    let missing: Vec<String> = california::RAW_COLUMNS
        .iter()
        .filter(|c| !columns.iter().any(|h| h == *c))
        .map(|c| (*c).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(Error::MissingColumns {
            file: file.to_owned(),
            columns: missing,
        });
    }
    let extra: Vec<String> = columns
        .iter()
        .filter(|h| !california::RAW_COLUMNS.contains(&h.as_str()))
        .cloned()
        .collect();
    if !extra.is_empty() {
        return Err(Error::ExtraColumns {
            file: file.to_owned(),
            columns: extra,
        });
    }
    Ok(())
}

fn user_recipe(
    file: &str,
    columns: &[String],
    target: &str,
    features: Option<&[String]>,
) -> Result<Recipe> {
    let known = |c: &String| columns.contains(c);
    let mut missing: Vec<String> = features
        .unwrap_or_default()
        .iter()
        .filter(|c| !known(c))
        .cloned()
        .collect();
    if !known(&target.to_owned()) {
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
        None => columns.iter().filter(|c| *c != target).cloned().collect(),
    };
    if features.iter().any(|f| f == target) {
        return Err(Error::Invalid(format!(
            "{}: the target {target} cannot also be a feature",
            file
        )));
    }
    if features.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no feature columns besides the target {target}",
            file
        )));
    }
    Ok(Recipe::identity(&features, target))
}

/// Apply the recipe to every row.
fn derive(raw: RawTable, recipe: Recipe, sha256: String, origin: Origin) -> Result<Table> {
    let bound = recipe
        .bind(&raw.columns, true)
        .map_err(|e| Error::Invalid(format!("{}: {e}", raw.file)))?;
    let (n, p) = (raw.n_rows(), recipe.features.len());
    let mut x = DMatrix::zeros(n, p);
    let mut y = DVector::zeros(n);
    let mut row = Vec::with_capacity(raw.columns.len());
    let mut features = vec![0.0; p];
    let mut flat = Vec::with_capacity(n * raw.columns.len());
    for r in 0..n {
        raw.row(r, &mut row);
        bound
            .features(r, &row, &mut features)
            .map_err(|e| match e {
                linreg::Error::BadDenominator {
                    column,
                    feature,
                    value,
                    ..
                } => Error::BadDenominator {
                    file: raw.file.clone(),
                    line: raw.lines[r],
                    column,
                    feature,
                    value,
                },
                other => Error::Invalid(format!("{}:{}: {other}", raw.file, raw.lines[r])),
            })?;
        x.row_mut(r).copy_from_slice(&features);
        y[r] = bound.target(&row).unwrap_or(f64::NAN);
        flat.extend_from_slice(&row);
    }
    Ok(Table {
        x,
        y,
        recipe,
        file: raw.file,
        sha256,
        origin,
        raw_columns: raw.columns,
        raw: flat,
    })
}
