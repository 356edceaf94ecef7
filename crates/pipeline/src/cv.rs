//! `cv`: exact k-fold cross-validation, folds assigned as scikit-learn's `KFold(K, shuffle,
//! random_state)` assigns them. One pass gathers each fold's sufficient statistics; each fold's
//! model is solved from the other folds' merged statistics (no refit over rows), then scored
//! on the fold's rows: R², RMSE and MAE, as `cross_validate` scores them.

use linreg::{LinearRegression, Metrics, SufficientStats};
use serde::Serialize;

use crate::data::DataOptions;
use crate::error::{Error, Result};

/// What `cv` is asked.
#[derive(Debug, Clone)]
pub struct CvOptions {
    /// The table and its columns.
    pub data: DataOptions,
    /// K, at least 2.
    pub folds: usize,
    /// Shuffle the rows before cutting them into folds, with this seed (`KFold(shuffle=True,
    /// random_state=seed)`); `None`: folds of consecutive rows.
    pub shuffle: Option<u64>,
    /// The estimator (intercept or not).
    pub estimator: LinearRegression,
    /// Read the table once, in bounded memory, with each row's fold by a hash of its line and
    /// this seed (any size; no MAE: statistics give no absolute errors).
    pub streaming: Option<u64>,
}

/// One fold's scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fold {
    /// Its number, from 1.
    pub fold: usize,
    /// Rows the fold's model was fitted on.
    pub train_rows: u64,
    /// Rows scored.
    pub test_rows: u64,
    /// R² of the fold's rows.
    pub r2: f64,
    /// RMSE.
    pub rmse: f64,
    /// MAE (`null` after streaming).
    pub mae: Option<f64>,
}

/// Mean or standard deviation (numpy's, `ddof=0`) of the folds' scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// Of R².
    pub r2: f64,
    /// Of RMSE.
    pub rmse: f64,
    /// Of MAE (`null` after streaming).
    pub mae: Option<f64>,
}

/// The cross-validation's scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossValidated {
    /// `"cv"`.
    pub command: &'static str,
    /// The table.
    pub data: String,
    /// Its rows.
    pub rows: u64,
    /// K.
    pub k: usize,
    /// The shuffle's seed, `null` for folds of consecutive rows.
    pub shuffle_seed: Option<u64>,
    /// The hash folds' seed, after streaming.
    pub hash_seed: Option<u64>,
    /// Each fold's scores.
    pub folds: Vec<Fold>,
    /// Their means.
    pub mean: Spread,
    /// Their standard deviations.
    pub std: Spread,
}

/// Cross-validate on the table of `options`.
pub fn cross_validate(
    options: &CvOptions,
    progress: &dyn crate::Progress,
) -> Result<CrossValidated> {
    let located = options.data.locate()?;
    if let Some(seed) = options.streaming {
        return streamed(options, &located.path, seed, progress);
    }
    let table = dataset::load(&located, &options.data.spec)?;
    let n = table.n_rows();
    let k = options.folds;
    if k < 2 || k > n {
        return Err(Error::Folds { folds: k, rows: n });
    }
    let order: Vec<usize> = match options.shuffle {
        Some(seed) => dataset::permutation(n, seed)?,
        None => (0..n).collect(),
    };
    // KFold's sizes: n // k each, the first n % k one more.
    let w = table.w.as_ref().map(|w| w.as_slice());
    let (fold_rows, stats) = fold_statistics(&table, &order, k)?;
    let estimator = options.estimator.clone().recipe(table.recipe.clone());
    let mut folds = Vec::with_capacity(k);
    for ((f, rows), rest) in fold_rows.iter().enumerate().zip(complements(&stats)?) {
        let model = estimator.fit_stats(&rest)?;
        let truth: Vec<f64> = rows.iter().map(|&r| table.y[r]).collect();
        let predicted: Vec<f64> = rows
            .iter()
            .map(|&r| {
                let row: Vec<f64> = table.x.row(r).iter().copied().collect();
                model.predict_row(&row)
            })
            .collect();
        let weights: Option<Vec<f64>> = w.map(|w| rows.iter().map(|&r| w[r]).collect());
        let m = Metrics::compute_weighted(&truth, &predicted, weights.as_deref())?;
        folds.push(Fold {
            fold: f + 1,
            train_rows: rest.rows(),
            test_rows: rows.len() as u64,
            r2: m.r2,
            rmse: m.rmse,
            mae: Some(m.mae),
        });
    }
    Ok(summarised(
        table.file.clone(),
        n as u64,
        options.shuffle,
        None,
        folds,
    ))
}

/// The folds' scores with their means and standard deviations.
fn summarised(
    data: String,
    rows: u64,
    shuffle_seed: Option<u64>,
    hash_seed: Option<u64>,
    folds: Vec<Fold>,
) -> CrossValidated {
    let k = folds.len() as f64;
    let spread = |f: &dyn Fn(&Fold) -> f64| {
        let mean = folds.iter().map(f).sum::<f64>() / k;
        let var = folds.iter().map(|x| (f(x) - mean).powi(2)).sum::<f64>() / k;
        (mean, var.sqrt())
    };
    let (r2, rmse) = (spread(&|x| x.r2), spread(&|x| x.rmse));
    let mae = folds
        .iter()
        .all(|x| x.mae.is_some())
        .then(|| spread(&|x| x.mae.unwrap_or(f64::NAN)));
    CrossValidated {
        command: "cv",
        data,
        rows,
        k: folds.len(),
        shuffle_seed,
        hash_seed,
        mean: Spread {
            r2: r2.0,
            rmse: rmse.0,
            mae: mae.map(|m| m.0),
        },
        std: Spread {
            r2: r2.1,
            rmse: rmse.1,
            mae: mae.map(|m| m.1),
        },
        folds,
    }
}

/// Cross-validation in one pass: each row's fold by [`dataset::hash_fold`] of its line.
fn streamed(
    options: &CvOptions,
    path: &std::path::Path,
    seed: u64,
    progress: &dyn crate::Progress,
) -> Result<CrossValidated> {
    let k = options.folds;
    if k < 2 {
        return Err(Error::Folds { folds: k, rows: 0 });
    }
    let pass = crate::pass::pass_groups(
        &options.data,
        path,
        None,
        None,
        (k, &|line| dataset::hash_fold(seed, line, k), &[]),
        progress,
    )?;
    let estimator = options.estimator.clone().recipe(pass.recipe.clone());
    let mut folds = Vec::with_capacity(k);
    for ((f, fold), rest) in pass
        .groups
        .iter()
        .enumerate()
        .zip(complements(&pass.groups)?)
    {
        let model = estimator.fit_stats(&rest)?;
        let (r2, rmse) = fold
            .r2_rmse(model.coefficients(), model.intercept())
            .unwrap_or((f64::NAN, f64::NAN));
        folds.push(Fold {
            fold: f + 1,
            train_rows: rest.rows(),
            test_rows: fold.rows(),
            r2,
            rmse,
            mae: None,
        });
    }
    Ok(summarised(pass.name, pass.rows, None, Some(seed), folds))
}

/// KFold's folds of `order` (the rows in the order they are cut, `k` of them: `n / k` rows each,
/// the first `n % k` one more), and each fold's sufficient statistics.
fn fold_statistics<'a>(
    table: &dataset::Table,
    order: &'a [usize],
    k: usize,
) -> Result<(Vec<&'a [usize]>, Vec<SufficientStats>)> {
    let n = order.len();
    let mut bounds = vec![0];
    for f in 0..k {
        bounds.push(bounds[f] + n / k + usize::from(f < n % k));
    }
    let w = table.w.as_ref().map(|w| w.as_slice());
    let fold_rows: Vec<&[usize]> = bounds.windows(2).map(|b| &order[b[0]..b[1]]).collect();
    let stats = fold_rows
        .iter()
        .map(|rows| {
            let mut stats = SufficientStats::new(table.x.ncols())?;
            stats.push_rows_weighted(&table.x, table.y.as_slice(), w, rows)?;
            Ok(stats)
        })
        .collect::<Result<_>>()?;
    Ok((fold_rows, stats))
}

/// Each fold's complement, the rows its model is fitted on: every other fold's statistics,
/// merged in fold order.
fn complements(stats: &[SufficientStats]) -> Result<Vec<SufficientStats>> {
    (0..stats.len())
        .map(|f| {
            let mut rest = SufficientStats::new(stats[f].n_features())?;
            for (g, other) in stats.iter().enumerate() {
                if g != f {
                    rest.merge(other)?;
                }
            }
            Ok(rest)
        })
        .collect()
}

/// The ridge penalty a search chose, and each candidate's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlphaChoice {
    /// The penalty chosen.
    pub alpha: f64,
    /// The folds.
    pub folds: usize,
    /// Each candidate and its mean squared error, averaged over the folds.
    pub candidates: Vec<(f64, f64)>,
}

/// Choose among `alphas` the ridge penalty whose models have the least mean squared error on
/// held-out folds of `rows` (`k` folds of consecutive rows, `KFold(k)`), as scikit-learn's
/// `GridSearchCV(Ridge(), {"alpha": alphas}, cv=KFold(k), scoring="neg_mean_squared_error")`
/// chooses (the mean over folds; the first of equal ones). Each candidate costs `k` solves
/// from merged statistics and `k` scores from each fold's statistics: no pass over the rows.
pub(crate) fn choose_alpha(
    table: &dataset::Table,
    rows: &[usize],
    estimator: &LinearRegression,
    alphas: &[f64],
    k: usize,
) -> Result<AlphaChoice> {
    if k < 2 || k > rows.len() {
        return Err(Error::Folds {
            folds: k,
            rows: rows.len(),
        });
    }
    let (_, stats) = fold_statistics(table, rows, k)?;
    choose_alpha_of_folds(
        &stats,
        &estimator.clone().recipe(table.recipe.clone()),
        alphas,
    )
}

/// [`choose_alpha`] from the folds' statistics (each fold's model from the others' merged):
/// also what a streaming run's hash folds give.
pub(crate) fn choose_alpha_of_folds(
    stats: &[SufficientStats],
    estimator: &LinearRegression,
    alphas: &[f64],
) -> Result<AlphaChoice> {
    let k = stats.len();
    // A fold without rows: fewer rows than folds, or a hash that left one empty.
    if stats.iter().any(|s| s.rows() == 0) {
        return Err(Error::Folds {
            folds: k,
            rows: stats.iter().map(SufficientStats::rows).sum::<u64>() as usize,
        });
    }
    let rests = complements(stats)?;
    let mut candidates = Vec::with_capacity(alphas.len());
    for &alpha in alphas {
        let estimator = estimator.clone().alpha(alpha);
        let mut total = 0.0;
        for (rest, fold) in rests.iter().zip(stats) {
            let model = estimator.fit_stats(rest)?;
            let (_, rmse) = fold
                .r2_rmse(model.coefficients(), model.intercept())
                .unwrap_or((f64::NAN, f64::NAN));
            total += rmse * rmse;
        }
        candidates.push((alpha, total / k as f64));
    }
    let best = candidates
        .iter()
        .fold(None::<(f64, f64)>, |best, &(a, mse)| match best {
            Some((_, b)) if b <= mse => best,
            _ => Some((a, mse)),
        })
        .map_or(0.0, |(a, _)| a);
    Ok(AlphaChoice {
        alpha: best,
        folds: k,
        candidates,
    })
}

impl std::fmt::Display for CrossValidated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = match (self.shuffle_seed, self.hash_seed) {
            (Some(seed), _) => format!("shuffled with seed {seed}"),
            (None, Some(seed)) => format!("streamed, folds by a hash of each line and seed {seed}"),
            (None, None) => String::from("consecutive rows"),
        };
        let mae = |m: Option<f64>| m.map_or_else(|| String::from("—"), |m| format!("{m:.4}"));
        writeln!(
            f,
            "✔ {}-fold cross-validation of {} ({} rows, {how})",
            self.k, self.data, self.rows
        )?;
        writeln!(
            f,
            "{:<6}{:>8}{:>8}{:>10}{:>10}{:>10}",
            "fold", "train", "test", "R²", "RMSE", "MAE"
        )?;
        for x in &self.folds {
            writeln!(
                f,
                "{:<6}{:>8}{:>8}{:>10.4}{:>10.4}{:>10}",
                x.fold,
                x.train_rows,
                x.test_rows,
                x.r2,
                x.rmse,
                mae(x.mae)
            )?;
        }
        writeln!(
            f,
            "{:<22}{:>10.4}{:>10.4}{:>10}",
            "mean",
            self.mean.r2,
            self.mean.rmse,
            mae(self.mean.mae)
        )?;
        write!(
            f,
            "{:<22}{:>10.4}{:>10.4}{:>10}",
            "std",
            self.std.r2,
            self.std.rmse,
            mae(self.std.mae)
        )
    }
}
