//! Training on tables of any size: one [`pass`](crate::pass::pass), the fit from its statistics,
//! test metrics from the test rows' own statistics; or merged statistics files. And the second
//! reading of held-out rows, for evaluation.

use std::path::{Path, PathBuf};
use std::time::Instant;

use dataset::{Derivation, Input};
use linreg::envelope::ShardStats;
use linreg::{LinearRegression, Predictor, Recipe, Sketch, SufficientStats};

use crate::artifacts;
use crate::data::DataOptions;
use crate::error::{Error, Result};
use crate::pass::{pass, pass_groups};
use crate::progress::Progress;
use crate::run_record::{
    DataRecord, Parameters, RunRecord, StampRecord, StreamedSplit, TableRecord,
};
use crate::training::{HeldOut, Source, TrainOptions, Trained, commit_model, scores_of};

/// Train by streaming (or from statistics files). `located` is the data file when the caller
/// has found it already.
pub(crate) fn train(
    options: &TrainOptions,
    located: Option<&Path>,
    previous: Option<&RunRecord>,
    progress: &dyn Progress,
) -> Result<Trained> {
    if options.alpha_search.is_some() && matches!(options.source, Source::Statistics(_)) {
        return Err(Error::Options(
            "--alpha auto chooses by cross-validation of the rows: not with --from-stats (give --alpha a number)",
        ));
    }
    let start = Instant::now();
    let params = options.split;
    dataset::check_split(params.seed, params.test_size)?;
    let gathered = gather(options, located, previous, progress)?;
    let (train, test) = (&gathered.train, &gathered.test);
    let estimator = LinearRegression::new()
        .fit_intercept(gathered.fit_intercept)
        .alpha(options.estimator.penalty())
        .recipe(gathered.recipe.clone());
    let search = match (&options.alpha_search, &gathered.folds) {
        (Some(search), Some(folds)) => Some(crate::cv::choose_alpha_of_folds(
            folds,
            &estimator,
            &search.alphas,
        )?),
        _ => None,
    };
    let estimator = match &search {
        Some(chosen) => estimator.alpha(chosen.alpha),
        None => estimator,
    };
    let model = estimator.fit_stats(train)?;
    let model = with_distributions(options, &gathered, model)?;
    // Nothing held out (--test-size 0, no test file): the figures are in-sample.
    let in_sample = test.rows() == 0
        && !matches!(options.held_out, HeldOut::TestFile(_))
        && params.test_size == 0.0;
    let scored = if in_sample { train } else { test };
    let scores = scores_of(
        scored.r2_rmse(model.coefficients(), model.intercept()),
        in_sample,
    );
    let mut record = RunRecord::fresh(Parameters {
        streaming: true,
        data: Some(gathered.source),
        split: Some(gathered.split.clone()),
        train_rows: train.rows(),
        test_rows: test.rows(),
        fit_intercept: model.fit_intercept(),
        weight: options.data.spec.weight.clone(),
        alpha: (model.alpha() != 0.0).then_some(model.alpha()),
        ..Parameters::default()
    });
    record.metrics.float = scores.rmse.map(|_| scores);
    let (path, bytes) = commit_model(options, &mut record, &model, train, start)?;
    let (seed, test_size) = match gathered.split {
        StreamedSplit::Hash { seed, test_size } => (Some(seed), Some(test_size)),
        _ => (None, None),
    };
    Ok(Trained {
        command: "train",
        streaming: true,
        r2: scores.r2,
        rmse: scores.rmse,
        mae: None,
        in_sample,
        fit_intercept: model.fit_intercept(),
        features: model.feature_names(),
        train_rows: train.rows(),
        test_rows: test.rows(),
        seed,
        test_size,
        split: gathered.split.to_string(),
        condition_number: model.diagnostics().condition_number,
        alpha: model.alpha(),
        alpha_search: search,
        coefficients: model.coefficients().to_vec(),
        intercept: model.intercept(),
        model: path,
        bytes,
    })
}

/// The model with its training rows' distributions, where asked for and the statistics kept
/// their columns' sketches: the features' and the target's from those, the predictions' by a
/// second pass over the training rows (none from statistics files: their rows are not at hand).
fn with_distributions(
    options: &TrainOptions,
    gathered: &Gathered,
    model: linreg::Model,
) -> Result<linreg::Model> {
    if !options.distributions || gathered.train.sketches().is_none() {
        return Ok(model);
    }
    let prediction = match &gathered.path {
        Some(path) => Some(prediction_sketch(
            &options.data,
            path,
            &gathered.split,
            &model,
        )?),
        None => None,
    };
    Ok(model.with_sketched_distributions(&gathered.train, prediction.as_ref())?)
}

/// What a streaming training run fits on: its recipe, training and test statistics, where they
/// came from and how rows were held out (for the record).
struct Gathered {
    recipe: Recipe,
    train: SufficientStats,
    test: SufficientStats,
    source: DataRecord,
    split: StreamedSplit,
    /// From the options, or as the statistics files recorded it.
    fit_intercept: bool,
    /// The training rows' statistics by hash fold, for `--alpha auto` (their merge is `train`).
    folds: Option<Vec<SufficientStats>>,
    /// The table read (none for statistics files).
    path: Option<PathBuf>,
}

/// One pass over the data (hash split or all rows), or merged statistics files; then the test
/// file's rows, if one is given.
fn gather(
    options: &TrainOptions,
    located: Option<&Path>,
    previous: Option<&RunRecord>,
    progress: &dyn Progress,
) -> Result<Gathered> {
    let (seed, test_size) = (options.split.seed, options.split.test_size);
    let test_file = match &options.held_out {
        HeldOut::TestFile(file) => Some(file),
        _ => None,
    };
    let mut gathered = match &options.source {
        Source::Statistics(files) => {
            let merged = merge_stats(files)?;
            if !options.estimator.fits_intercept() && merged.fit_intercept {
                return Err(Error::StatsNeedIntercept);
            }
            Gathered {
                test: SufficientStats::new(merged.stats.n_features())?,
                recipe: merged.recipe,
                train: merged.stats,
                source: DataRecord::Statistics {
                    statistics: files.iter().map(|f| f.display().to_string()).collect(),
                },
                split: match test_file {
                    Some(file) => StreamedSplit::TestFile {
                        file: file.display().to_string(),
                    },
                    None => StreamedSplit::NoneHeldOut,
                },
                fit_intercept: merged.fit_intercept,
                folds: None,
                path: None,
            }
        }
        Source::Table | Source::Streaming => {
            // With nothing held out (a test share of 0) there is no permutation to know.
            if options.held_out == HeldOut::Permutation
                && options.source == Source::Streaming
                && test_size != 0.0
            {
                return Err(Error::Options(
                    "--streaming cannot know the permutation in advance: use --split hash or --test-data FILE",
                ));
            }
            let path = match located {
                Some(path) => path.to_path_buf(),
                None => options.data.locate()?.path,
            };
            let held_out = test_file.is_none();
            let known = previous.and_then(|r| r.known_sha256(&path));
            // With a search, the training rows go to k hash folds (group f + 1), the test rows
            // to group 0; their merge is the training statistics.
            let k = options.alpha_search.as_ref().map_or(1, |s| s.folds);
            let share = if held_out { test_size } else { 0.0 };
            let group_of = move |line: u64| match dataset::hash_train_fold(seed, line, share, k) {
                Some(fold) => fold + 1,
                None => 0,
            };
            // The training rows' columns are sketched for their distributions (drift).
            let sketched: Vec<bool> = (0..=k).map(|g| g > 0 && options.distributions).collect();
            let grouped = pass_groups(
                &options.data,
                &path,
                None,
                known.as_deref(),
                (k + 1, &group_of, &sketched),
                progress,
            )?;
            let mut groups = grouped.groups.into_iter();
            let test = groups.next().ok_or(Error::Thread)?;
            let mut folds: Vec<SufficientStats> = groups.collect();
            let mut train = SufficientStats::new(grouped.recipe.features.len())?;
            if options.distributions {
                train = train.sketched();
            }
            for fold in &mut folds {
                train.merge(fold)?;
                // The search fits each fold's complement: its sketches would only be merged
                // and turned into distributions for nothing.
                fold.forget_sketches();
            }
            Gathered {
                source: DataRecord::Table(TableRecord {
                    file: grouped.name,
                    found_by: None,
                    sha256: grouped.sha256,
                    rows: grouped.rows,
                    stamp: StampRecord::of(&path),
                }),
                split: match test_file {
                    Some(file) => StreamedSplit::TestFile {
                        file: file.display().to_string(),
                    },
                    None => StreamedSplit::Hash { seed, test_size },
                },
                recipe: grouped.recipe,
                train,
                test,
                fit_intercept: options.estimator.fits_intercept(),
                folds: options.alpha_search.is_some().then_some(folds),
                path: Some(path),
            }
        }
    };
    if let Some(test_file) = test_file {
        let pass = pass(
            &options.data,
            test_file,
            Some(&gathered.recipe),
            None,
            (&|_| true, false),
            progress,
        )?;
        gathered.test.merge(&pass.test)?;
    }
    Ok(gathered)
}

/// The rows a streaming training run held out, read again: their targets and predictions.
#[derive(Debug)]
pub struct HeldOutRows {
    /// Their targets.
    pub y: Vec<f64>,
    /// Their predictions.
    pub predicted: Vec<f64>,
    /// Their weights, with a weight column.
    pub w: Option<Vec<f64>>,
    /// The table read.
    pub file: String,
}

/// Read the held-out rows of `split` again and predict them. Every row is checked, as training
/// checked it; only the held-out ones are kept.
pub fn held_out(
    data: &DataOptions,
    split: &StreamedSplit,
    predictor: &Predictor,
) -> Result<HeldOutRows> {
    type IsTest = Box<dyn Fn(u64) -> bool + Sync>;
    let (path, is_test): (PathBuf, IsTest) = match split {
        StreamedSplit::Hash { test_size, .. } if *test_size == 0.0 => {
            return Err(Error::NothingHeldOut { hint: "" });
        }
        StreamedSplit::Hash { seed, test_size } => {
            let (seed, test_size) = (*seed, *test_size);
            (
                data.locate()?.path,
                Box::new(move |line| dataset::hash_is_test(seed, line, test_size)),
            )
        }
        StreamedSplit::TestFile { file } => (PathBuf::from(file), Box::new(|_| true)),
        StreamedSplit::NoneHeldOut => return Err(Error::NoTestSplit),
    };
    let spec = &data.spec;
    let input = Input::open(&path, spec.default_columns())?.unhashed();
    let file = input.name().to_owned();
    let derive =
        Derivation::new(&input, predictor.recipe())?.weighted_by(spec.weight.as_deref())?;
    let input = input.reading_only(derive.used());
    let (mut y, mut predicted, mut w) = (Vec::new(), Vec::new(), Vec::new());
    input.for_each_chunk(
        |chunk| {
            let mut raw = vec![0.0; derive.n_columns()];
            let mut features = vec![0.0; derive.n_features()];
            let mut out = (Vec::new(), Vec::new(), Vec::new());
            for (line, record) in chunk.lines() {
                let target = derive.row(line, record, &mut raw, &mut features)?;
                if is_test(line) {
                    out.0.push(target);
                    out.1.push(predictor.predict_row(&features));
                    out.2.push(derive.weight(&raw));
                }
            }
            Ok::<_, Error>(out)
        },
        |(ys, ps, ws)| {
            y.extend(ys);
            predicted.extend(ps);
            w.extend(ws);
            Ok(())
        },
    )?;
    if y.is_empty() {
        return Err(Error::NoHeldOutRows {
            file,
            split: split.to_string(),
        });
    }
    let w = derive.is_weighted().then_some(w);
    Ok(HeldOutRows {
        y,
        predicted,
        w,
        file,
    })
}

/// Whether a line of the table holds a training row of `split` (every row of the training
/// file when a test file was held out); `None` for a fit from statistics files.
fn training_lines(split: &StreamedSplit) -> Option<Box<dyn Fn(u64) -> bool + Sync>> {
    match split {
        StreamedSplit::Hash { seed, test_size } => {
            let (seed, test_size) = (*seed, *test_size);
            Some(Box::new(move |line| {
                !dataset::hash_is_test(seed, line, test_size)
            }))
        }
        StreamedSplit::TestFile { .. } => Some(Box::new(|_| true)),
        StreamedSplit::NoneHeldOut => None,
    }
}

/// What takes a training row read again: the accumulator, the row's features, its target and
/// its weight.
type PushRow<'a, T> = dyn Fn(&mut T, &[f64], f64, f64) + Sync + 'a;

/// The training rows of `split` in `path`, streamed again: each chunk's rows (features, target,
/// weight) pushed into a `T` of its own from `empty`, the chunks' merged in file order. Also the
/// table's SHA-256 where `hash` asked for it.
fn fold_training_rows<T: Send>(
    data: &DataOptions,
    (path, recipe, split): (&Path, &Recipe, &StreamedSplit),
    hash: bool,
    empty: &(dyn Fn() -> T + Sync),
    push: &PushRow<'_, T>,
    mut merge: impl FnMut(&mut T, T),
) -> Result<(T, String, Option<String>)> {
    let Some(is_train) = training_lines(split) else {
        return Err(Error::Options(
            "this reads the training rows again, and a fit from statistics files has none: train from the table itself",
        ));
    };
    let spec = &data.spec;
    let input = Input::open(path, spec.default_columns())?;
    let input = if hash { input } else { input.unhashed() };
    let name = input.name().to_owned();
    let derive = Derivation::new(&input, recipe)?.weighted_by(spec.weight.as_deref())?;
    let input = input.reading_only(derive.used());
    let mut total = empty();
    let sha256 = input.for_each_chunk(
        |chunk| {
            let mut raw = vec![0.0; derive.n_columns()];
            let mut features = vec![0.0; derive.n_features()];
            let mut part = empty();
            for (line, record) in chunk.lines() {
                let target = derive.row(line, record, &mut raw, &mut features)?;
                if is_train(line) {
                    push(&mut part, &features, target, derive.weight(&raw));
                }
            }
            Ok::<_, Error>(part)
        },
        |part| {
            merge(&mut total, part);
            Ok(())
        },
    )?;
    Ok((total, name, sha256))
}

/// The sums of a robust covariance over the training rows of a streaming run, streamed again
/// (chunks gather apart from copies of `template` and merge in file order): a hash split's
/// training rows, or every row of the training file when a test file was held out. The table is
/// hashed on the way: one that is not `trained_sha256` (the training run's) is refused.
pub fn robust_sums(
    data: &DataOptions,
    split: &StreamedSplit,
    model: &linreg::Model,
    template: &linreg::Robust,
    trained_sha256: Option<&str>,
) -> Result<linreg::Robust> {
    if matches!(split, StreamedSplit::NoneHeldOut) {
        return Err(Error::Options(
            "--cov-type reads the training rows again, and a fit from statistics files has none: train from the table itself",
        ));
    }
    let path = data.locate()?.path;
    let (total, name, sha256) = fold_training_rows(
        data,
        (&path, model.recipe(), split),
        true,
        &|| template.clone(),
        &|sums, features, target, weight| sums.push(features, target, weight),
        |total, part| total.merge(&part),
    )?;
    if let (Some(trained), Some(read)) = (trained_sha256, sha256)
        && trained != read
    {
        return Err(Error::NotTrainingRows(format!(
            "{name} differs from the data the model was trained on (SHA-256 {trained})"
        )));
    }
    Ok(total)
}

/// The sketch of `model`'s predictions of the training rows of `split` in `path`, by a second
/// pass (the predictions need the fitted model): the training predictions' distribution of a
/// streaming run.
fn prediction_sketch(
    data: &DataOptions,
    path: &Path,
    split: &StreamedSplit,
    model: &linreg::Model,
) -> Result<Sketch> {
    const ROWS: usize = 4096;
    type Part = (Sketch, Vec<f64>);
    // Each chunk's predictions gathered a few thousand at a time, then sketched together.
    let ((sketch, _), _, _) = fold_training_rows(
        data,
        (path, model.recipe(), split),
        false,
        &|| (Sketch::new(), Vec::with_capacity(ROWS)),
        &|(sketch, pending): &mut Part, features, _, _| {
            pending.push(model.predict_row(features));
            if pending.len() == ROWS {
                sketch.push_strided(pending, 0, 1);
                pending.clear();
            }
        },
        |(total, _): &mut Part, (mut part, pending): Part| {
            part.push_strided(&pending, 0, 1);
            total.merge(&part);
        },
    )?;
    Ok(sketch)
}

/// Statistics files merged: their recipe, statistics and intercept choice.
struct Merged {
    recipe: Recipe,
    stats: SufficientStats,
    fit_intercept: bool,
}

/// Load and merge statistics files; they must describe the same features, for the same
/// choice of intercept.
fn merge_stats(files: &[PathBuf]) -> Result<Merged> {
    let mut merged: Option<ShardStats> = None;
    for file in files {
        let shard: ShardStats = artifacts::load(file, "statistics file")?;
        let Some(first) = &mut merged else {
            merged = Some(shard);
            continue;
        };
        if first.recipe != shard.recipe {
            return Err(Error::StatsFeatures {
                path: file.clone(),
                found: shard.recipe.feature_names(),
                first: first.recipe.feature_names(),
            });
        }
        if first.fit_intercept != shard.fit_intercept {
            return Err(Error::StatsIntercept {
                path: file.clone(),
                found: shard.fit_intercept,
            });
        }
        first.stats.merge(&shard.stats)?;
    }
    let shard = merged.ok_or(Error::NoStatsFiles)?;
    Ok(Merged {
        recipe: shard.recipe,
        stats: shard.stats,
        fit_intercept: shard.fit_intercept,
    })
}
