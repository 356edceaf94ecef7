//! `linreg`: ordinary least squares (with or without an intercept, optionally weighted),
//! solved by scaled normal equations on [nalgebra] in double-double arithmetic where the
//! data ask for it; equal to scikit-learn's `LinearRegression` to 1e-9 on California, and as
//! accurate as an SVD solver or better on NIST's reference problems.
//!
//! - [`SufficientStats`] accumulates rows in one pass (batches, numerically stable)
//!   and [`merge`](SufficientStats::merge)s, so files larger than memory and shards
//!   computed elsewhere fit exactly.
//! - [`LinearRegression`] (options through a builder: `LinearRegression::new().fit_intercept(false)`)
//!   fits a [`Model`] from rows or from statistics; the model keeps its [`Diagnostics`],
//!   training ranges and feature [`Recipe`], read through accessors.
//! - [`QuantizedModel`] stores the weights as uint8 codes ([`quant`]) with a
//!   bias-corrected intercept; [`OriginalScheme`] reproduces the Python original's scheme.
//! - [`infer`] gives statsmodels' inference table from a model and its statistics, and
//!   [`Model::bands`] prediction intervals from the model file alone.
//! - [`Metrics`]: R², RMSE and MAE as scikit-learn defines them.
//! - [`envelope`]: the model-file format (magic, version, kind, checksum, MessagePack).
//! - [`drift`]: training distributions (quantile histograms) and the measures that compare
//!   new values with them; [`sketch`] the mergeable [`Sketch`] they come from where the rows
//!   are not held at once.
//!
//! No dataframe engine is involved: a program that loads a model and predicts needs
//! nalgebra and serde only.
//!
//! ```
//! use linreg::{envelope, LinearRegression, Metrics, Model};
//! use nalgebra::{DMatrix, DVector};
//! let x = DMatrix::from_row_slice(5, 2, &[1.0, 0.0, 2.0, 1.0, 3.0, 0.0, 4.0, 1.0, 5.0, 3.0]);
//! let y = DVector::from_vec(vec![3.0, 6.0, 7.0, 10.0, 14.0]);
//! let model = LinearRegression::default().fit(&x, &y).unwrap();
//! let bytes = envelope::encode(&model).unwrap();
//! let back: Model = envelope::decode(&bytes).unwrap();
//! let predicted = back.predict(&x).unwrap();
//! let m = Metrics::compute(y.as_slice(), predicted.as_slice()).unwrap();
//! assert!(m.r2 > 0.99);
//! ```
#![deny(missing_docs)]

mod double_double;
pub mod drift;
pub mod envelope;
mod error;
mod inference;
mod interval;
mod lanes;
mod metrics;
mod model;
mod normal_equations;
mod predictor;
mod quantized;
mod residual;
pub mod sketch;
mod sufficient_stats;

pub use error::{Error, Result};
pub use inference::{CovType, Estimate, Inference, Robust, infer};
pub use interval::{Bands, Covariance, INTERVAL_COLUMNS, Interval};
pub use metrics::Metrics;
pub use model::{InputLayout, LinearRegression, Model};
pub use normal_equations::{Diagnostics, MAX_CONDITION};
pub use predictor::{AnyModel, Predictor, RangeWarning};
pub use quantized::{OriginalScheme, QuantizedModel};
pub use recipe::{BoundRecipe, FeatureSpec, MAX_FEATURES, Recipe, TargetSpec};
pub use sketch::Sketch;
pub use sufficient_stats::SufficientStats;
