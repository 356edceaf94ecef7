//! `recipe`: how raw input columns become model features and target.
//!
//! A [`Recipe`] is carried inside the model file, so that a program that only predicts can take
//! the raw layout of the training file. [`Recipe::bind`] matches it to a header;
//! [`BoundRecipe::features`] derives a row's features.
//!
//! ```
//! use recipe::Recipe;
//! let recipe = Recipe::identity(&["a".to_owned(), "b".to_owned()], "y");
//! let header: Vec<String> = ["y", "b", "a"].iter().map(|s| s.to_string()).collect();
//! let bound = recipe.bind(&header, true)?;
//! let mut features = [0.0; 2];
//! bound.features(0, &[9.0, 2.0, 1.0], &mut features)?;
//! assert_eq!(features, [1.0, 2.0]);
//! assert_eq!(bound.target(&[9.0, 2.0, 1.0]), Some(9.0));
//! # Ok::<(), recipe::Error>(())
//! ```
#![deny(missing_docs)]

use serde::{Deserialize, Serialize};

/// What can go wrong binding a recipe or deriving a row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Columns the recipe needs are not in the header.
    #[error("missing column{} {}", if .0.len() > 1 { "s" } else { "" }, .0.join(", "))]
    MissingColumns(Vec<String>),
    /// A derived feature divides by zero or a negative denominator.
    #[error("row {row}: {column} is {value}, but {feature} divides by it")]
    BadDenominator {
        /// Zero-based row of the input.
        row: usize,
        /// The denominator column.
        column: String,
        /// The feature being derived.
        feature: String,
        /// The offending value.
        value: f64,
    },
}

/// The most features a model has. Fitting one keeps the features' co-moments, a (p + 1)²
/// matrix in double-double (16 bytes a cell), copied for each batch and each chunk in flight:
/// a streaming run on 1,000 features and 20,000 rows peaked at 343 MiB and took 12 s. A header
/// of 20,000 columns fits in a 1.2 MB file, and before this bound its statistics (6.4 GB each)
/// exhausted the machine's memory.
pub const MAX_FEATURES: usize = 1000;

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// A named feature: a raw column, or a raw column divided by another (a per-household ratio, say).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// The feature's name (as the model reports it).
    pub name: String,
    /// The raw column it comes from.
    pub column: String,
    /// A raw column to divide by; it must be positive (a count).
    pub divided_by: Option<String>,
}

impl FeatureSpec {
    /// How it is derived, for people: `total_rooms / households`.
    pub fn describe(&self) -> String {
        match &self.divided_by {
            None => self.column.clone(),
            Some(d) => format!("{} / {d}", self.column),
        }
    }
}

/// The target: a raw column divided by a constant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetSpec {
    /// The target's name (as the model reports it).
    pub name: String,
    /// The raw column it comes from.
    pub column: String,
    /// The raw value is divided by this (a division, as scikit-learn does, not a multiplication by its inverse).
    pub divisor: f64,
}

/// The whole recipe: the features in model order, and the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    /// Features, in the order of the model's coefficients.
    pub features: Vec<FeatureSpec>,
    /// The target.
    pub target: TargetSpec,
}

/// One feature's source once a recipe is bound to a header: column indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Column(usize),
    Ratio(usize, usize),
}

/// A recipe bound to the columns of one input: computes features from a row of raw values.
#[derive(Debug, Clone)]
pub struct BoundRecipe {
    sources: Vec<Source>,
    names: Vec<String>,
    columns: Vec<String>,
    target: Option<(usize, f64)>,
}

impl Recipe {
    /// A recipe that takes each named column as is, and the target unscaled.
    pub fn identity(features: &[String], target: &str) -> Self {
        Self {
            features: features
                .iter()
                .map(|f| FeatureSpec {
                    name: f.clone(),
                    column: f.clone(),
                    divided_by: None,
                })
                .collect(),
            target: TargetSpec {
                name: target.to_owned(),
                column: target.to_owned(),
                divisor: 1.0,
            },
        }
    }

    /// Feature names, in model order.
    pub fn feature_names(&self) -> Vec<String> {
        self.features.iter().map(|f| f.name.clone()).collect()
    }

    /// The raw columns the features need, each once, in first-use order.
    pub fn raw_columns(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in &self.features {
            let used = std::iter::once(&f.column).chain(f.divided_by.as_ref());
            for c in used {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        out
    }

    /// Bind to a header; `with_target` also requires the target column.
    ///
    /// A missing column is an error that lists every missing name.
    pub fn bind(&self, header: &[String], with_target: bool) -> Result<BoundRecipe> {
        let mut missing = Vec::new();
        // The first column of each name, looked up, not scanned for: headers can be wide.
        let mut index = std::collections::HashMap::with_capacity(header.len());
        for (i, h) in header.iter().enumerate().rev() {
            index.insert(h.as_str(), i);
        }
        let mut find = |name: &str| match index.get(name).copied() {
            Some(i) => i,
            None => {
                if !missing.iter().any(|m: &String| m == name) {
                    missing.push(name.to_owned());
                }
                usize::MAX
            }
        };
        let sources: Vec<Source> = self
            .features
            .iter()
            .map(|f| match &f.divided_by {
                None => Source::Column(find(&f.column)),
                Some(d) => Source::Ratio(find(&f.column), find(d)),
            })
            .collect();
        let target = with_target.then(|| (find(&self.target.column), self.target.divisor));
        if !missing.is_empty() {
            return Err(Error::MissingColumns(missing));
        }
        Ok(BoundRecipe {
            sources,
            names: self.feature_names(),
            columns: header.to_vec(),
            target,
        })
    }
}

impl BoundRecipe {
    /// Number of features produced per row.
    pub fn n_features(&self) -> usize {
        self.sources.len()
    }

    /// Compute the features of one raw row into `out`.
    ///
    /// `row_index` only labels errors.
    pub fn features(&self, row_index: usize, raw: &[f64], out: &mut [f64]) -> Result<()> {
        for ((source, slot), name) in self.sources.iter().zip(out.iter_mut()).zip(&self.names) {
            *slot = match *source {
                Source::Column(i) => raw[i],
                Source::Ratio(n, d) => {
                    if raw[d] <= 0.0 || raw[d].is_nan() {
                        return Err(Error::BadDenominator {
                            row: row_index,
                            column: self.columns[d].clone(),
                            feature: name.clone(),
                            value: raw[d],
                        });
                    }
                    raw[n] / raw[d]
                }
            };
        }
        Ok(())
    }

    /// The target of one raw row, if bound with the target.
    pub fn target(&self, raw: &[f64]) -> Option<f64> {
        self.target.map(|(i, divisor)| raw[i] / divisor)
    }

    /// Indices of the raw columns the features (and the target, if bound) read, ascending, each once.
    pub fn used_columns(&self) -> Vec<usize> {
        let mut used: Vec<usize> = self
            .sources
            .iter()
            .flat_map(|s| match *s {
                Source::Column(i) => vec![i],
                Source::Ratio(n, d) => vec![n, d],
            })
            .chain(self.target.map(|(i, _)| i))
            .collect();
        used.sort_unstable();
        used.dedup();
        used
    }
}
