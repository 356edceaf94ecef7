//! Training: in memory (the permutation split, as scikit-learn's), or handed to streaming
//! (one pass, any size, or merged statistics files); then the model and the record, committed
//! together. Every path gives the same [`Trained`].

use std::path::Path;
use std::time::Instant;

use linreg::drift::TrainingDistributions;
use linreg::{LinearRegression, Metrics, Model, SufficientStats};

use crate::error::{Error, Result};
use crate::prepared::Prepared;
use crate::progress::Progress;
use crate::run_record::{Parameters, RunRecord, Scores};
use crate::streaming;
use crate::training::{HeldOut, STREAMING_THRESHOLD, Source, TrainOptions, Trained, commit_model};

/// Train, save the model and commit the record. The caller holds the folder's exclusive lock.
pub fn train(options: &TrainOptions, progress: &dyn Progress) -> Result<Trained> {
    let previous = RunRecord::open(&options.artifacts).ok().flatten();
    let streamed =
        |path: Option<&Path>| streaming::train(options, path, previous.as_ref(), progress);
    let located = match &options.source {
        Source::Streaming | Source::Statistics(_) => return streamed(None),
        Source::Table => options.data.locate()?,
    };
    // Located once: its size decides between memory and streaming, and the chosen path reads it.
    if dataset::columnar::size_in_memory(&located.path) > STREAMING_THRESHOLD {
        return streamed(Some(&located.path));
    }
    if options.held_out != HeldOut::Permutation {
        return Err(Error::Options(
            "--split hash and --test-data go with --streaming",
        ));
    }
    let start = Instant::now();
    let prepared = Prepared::load(&options.data, options.split, located, previous.as_ref())?;
    let search = match &options.alpha_search {
        Some(search) => Some(crate::cv::choose_alpha(
            &prepared.table,
            &prepared.split.train,
            &options.estimator,
            &search.alphas,
            search.folds,
        )?),
        None => None,
    };
    let estimator = match &search {
        Some(chosen) => options.estimator.clone().alpha(chosen.alpha),
        None => options.estimator.clone(),
    };
    let (model, stats, metrics, in_sample) = fit_and_score(&prepared, &estimator)?;
    let model = if options.distributions {
        with_distributions(model, &prepared)?
    } else {
        model
    };
    let parameters = Parameters {
        seed: Some(prepared.params.seed),
        test_size: Some(prepared.params.test_size),
        data: Some(prepared.data_record()),
        target: Some(prepared.table.recipe.target.name.clone()),
        weight: prepared.spec.weight.clone(),
        features: Some(prepared.table.feature_names()),
        train_rows: prepared.split.train.len() as u64,
        test_rows: prepared.split.test.len() as u64,
        fit_intercept: model.fit_intercept(),
        alpha: (model.alpha() != 0.0).then_some(model.alpha()),
        ..Parameters::default()
    };
    let mut record = RunRecord::fresh(parameters);
    record.metrics.float = Some(Scores::of(&metrics, Some(in_sample)));
    let scores = Scores::of(&metrics, None);
    let (path, bytes) = commit_model(options, &mut record, &model, &stats, start)?;
    Ok(Trained {
        command: "train",
        streaming: false,
        r2: scores.r2,
        rmse: scores.rmse,
        mae: scores.mae,
        in_sample,
        fit_intercept: model.fit_intercept(),
        features: model.feature_names(),
        train_rows: prepared.split.train.len() as u64,
        test_rows: prepared.split.test.len() as u64,
        seed: Some(prepared.params.seed),
        test_size: Some(prepared.params.test_size),
        split: format!(
            "permutation split, seed {}, test size {}",
            prepared.params.seed, prepared.params.test_size
        ),
        condition_number: model.diagnostics().condition_number,
        alpha: model.alpha(),
        alpha_search: search,
        coefficients: model.coefficients().to_vec(),
        intercept: model.intercept(),
        model: path,
        bytes,
    })
}

/// Fit on the training rows (their statistics too) and score the test rows; after `--test-size 0` nothing is held
/// out and the training rows are scored (`true`: the figures are in-sample).
/// The model with its training rows' distributions (features, target, predictions; the rows
/// as they are, without their weights), for drift.
fn with_distributions(model: Model, prepared: &Prepared) -> Result<Model> {
    let (x, rows) = (&prepared.table.x, &prepared.split.train);
    let features: Vec<Vec<f64>> = (0..x.ncols())
        .map(|j| rows.iter().map(|&r| x[(r, j)]).collect())
        .collect();
    let target: Vec<f64> = rows.iter().map(|&r| prepared.table.y[r]).collect();
    let mut row = vec![0.0; x.ncols()];
    let prediction: Vec<f64> = rows
        .iter()
        .map(|&r| {
            for (j, v) in row.iter_mut().enumerate() {
                *v = x[(r, j)];
            }
            model.predict_row(&row)
        })
        .collect();
    let distributions =
        TrainingDistributions::of(&features, &target, &prediction, linreg::drift::DEFAULT_BINS)?;
    Ok(model.with_distributions(distributions)?)
}

fn fit_and_score(
    prepared: &Prepared,
    estimator: &LinearRegression,
) -> Result<(Model, SufficientStats, Metrics, bool)> {
    let table = &prepared.table;
    let estimator = estimator.clone().recipe(table.recipe.clone());
    let in_sample = prepared.split.test.is_empty();
    let held_out = || (!in_sample).then(|| (prepared.test(), prepared.test_weights()));
    let stats_of = |rows: &[usize]| -> Result<SufficientStats> {
        let mut stats = SufficientStats::new(table.x.ncols())?;
        let w = table.w.as_ref().map(|w| w.as_slice());
        stats.push_rows_weighted(&table.x, table.y.as_slice(), w, rows)?;
        Ok(stats)
    };
    let rows = &prepared.split.train;
    // A large table: half the training rows, then the test rows' copy, on a second thread (the
    // halves' statistics merge as one pass would make them, up to rounding).
    let (stats, held_out) = if rows.len() >= PARALLEL_ROWS {
        let (first, second) = rows.split_at(rows.len() / 2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| (stats_of(second), held_out()));
            let mut stats = stats_of(first)?;
            let (second, held_out) = other.join().map_err(|_| Error::Thread)?;
            stats.merge(&second?)?;
            Ok::<_, Error>((stats, held_out))
        })?
    } else {
        (stats_of(rows)?, held_out())
    };
    let model = estimator.fit_stats(&stats)?;
    let (x, y, w) = match &held_out {
        Some(((x, y), w)) => (x, y, w.as_ref()),
        None => (&table.x, &table.y, table.w.as_ref()),
    };
    let metrics = Metrics::compute_weighted(
        y.as_slice(),
        model.predict(x)?.as_slice(),
        w.map(|w| w.as_slice()),
    )?;
    Ok((model, stats, metrics, in_sample))
}

/// Training rows from which a second thread shares the fit: below, starting it costs more
/// than it saves.
const PARALLEL_ROWS: usize = 1 << 16;
