"""Fit on a Dask DataFrame: each partition's sufficient statistics (with the columns' sketches,
for the model's training distributions), merged exactly in a tree, then one solve on the
client; and k-fold cross-validation from the same statistics, one set per fold.

    import dask.dataframe as dd, cali_reg.dask
    model = cali_reg.dask.fit(dd.read_parquet("shards/"), target="price")
    scores = cali_reg.dask.cv(dd.read_parquet("shards/"), target="price", k=5, seed=0)
"""

import numpy as np

from . import SufficientStats, _native


def arrays(frame, target, features, weight):
    """A pandas frame's features, targets and weights (``None`` without a weight column) as
    float64 arrays. A missing value or a column that is not numeric stops the job, naming the
    column."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    columns = list(features) + [target] + ([weight] if weight is not None else [])
    for column in columns:
        if column not in frame.columns:
            raise ValueError(f"column {column}: not in the table")
        values = frame[column]
        if not is_numeric_dtype(values) or is_bool_dtype(values):
            raise ValueError(f"column {column}: {values.dtype} values, not numbers")
        if values.isna().any():
            raise ValueError(f"column {column}: a missing value (NaN) in {int(values.isna().sum())} row(s)")
    return (
        frame[list(features)].to_numpy(dtype=np.float64),
        frame[target].to_numpy(dtype=np.float64),
        None if weight is None else frame[weight].to_numpy(dtype=np.float64),
    )


def partition_stats(frame, target, features, weight, fit_intercept, distributions=True):
    """The statistics of one pandas partition, as the bytes of a ``.stats`` file."""
    stats = SufficientStats(
        feature_names=features, fit_intercept=fit_intercept, target=target, distributions=distributions
    )
    if len(frame):
        stats.update(*arrays(frame, target, features, weight))
    return stats.to_bytes()


def prediction_sketch(frame, model, target, features, weight):
    """The sketch of ``model``'s (a model file's bytes) predictions of one pandas partition's
    rows, as bytes for ``_native.merge_sketches``."""
    X, _, _ = arrays(frame, target, features, weight)
    return _native.sketch(_native.predict(model, X))


def fold_stats(frame, first_line, k, seed, target, features, weight, fit_intercept):
    """One pandas partition's statistics per hash fold (``k`` ``.stats`` blobs): its rows are
    the lines ``first_line``, ``first_line + 1``, … of the table, each in fold
    ``hash_fold(seed, line)``, as ``cali-reg cv --streaming`` assigns them."""
    X, y, w = arrays(frame, target, features, weight)
    folds = _native.hash_folds(seed, first_line, len(y), k)
    blobs = []
    for f in range(k):
        # Cross-validation scores folds: no distributions to keep.
        stats = SufficientStats(feature_names=features, fit_intercept=fit_intercept, target=target, distributions=False)
        rows = folds == f
        if rows.any():
            stats.update(X[rows], y[rows], None if w is None else w[rows])
        blobs.append(stats.to_bytes())
    return blobs


def fold_absolute_errors(frame, first_line, k, seed, models, target, features, weight):
    """One partition's ``Σ w |y − ŷ|`` and ``Σ w`` per fold, each row predicted by its fold's
    model (``models``: the model files' bytes): the MAE's second pass."""
    X, y, w = arrays(frame, target, features, weight)
    folds = _native.hash_folds(seed, first_line, len(y), k)
    w = np.ones_like(y) if w is None else w
    sums = np.zeros((k, 2))
    for f in range(k):
        rows = folds == f
        if rows.any():
            errors = np.abs(y[rows] - _native.predict(models[f], np.ascontiguousarray(X[rows])))
            sums[f] = (np.sum(w[rows] * errors), np.sum(w[rows]))
    return sums


def merge_bytes(*blobs):
    """Statistics merged, as bytes."""
    merged = SufficientStats.from_bytes(blobs[0])
    for blob in blobs[1:]:
        merged.merge(SufficientStats.from_bytes(blob))
    return merged.to_bytes()


def stats(ddf, target, features=None, weight=None, fit_intercept=True, split_every=8, distributions=True):
    """The merged statistics of every row of ``ddf``, as the bytes of a ``.stats`` file
    (``cali-reg train --from-stats`` reads them); with ``distributions``, the columns' sketches
    too (the model's training distributions, for drift: about 4.5× the update's time, and tens
    to hundreds of kB a partition)."""
    import dask

    features = [c for c in ddf.columns if c not in (target, weight)] if features is None else list(features)
    parts = [
        dask.delayed(partition_stats)(part, target, features, weight, fit_intercept, distributions)
        for part in ddf.to_delayed()
    ]
    while len(parts) > 1:  # a tree: each level merges up to `split_every` blobs
        parts = [dask.delayed(merge_bytes)(*parts[i : i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0].compute()


def scores(folds, sums, rows, k, seed):
    """The result of ``cv``: each fold's scores (``cross_validate_stats``'s, and the MAE from
    the absolute-error sums), their means and standard deviations (numpy's, ``ddof=0``), as
    ``cali-reg cv --json`` gives them."""
    per_fold = [
        {
            "fold": f + 1,
            "train_rows": train_rows,
            "test_rows": test_rows,
            "r2": r2,
            "rmse": rmse,
            "mae": float(sums[f][0] / sums[f][1]),
        }
        for f, (_, train_rows, test_rows, r2, rmse) in enumerate(folds)
    ]
    keys = ("r2", "rmse", "mae")
    return {
        "rows": int(rows),
        "k": k,
        "hash_seed": seed,
        "folds": per_fold,
        "mean": {key: float(np.mean([x[key] for x in per_fold])) for key in keys},
        "std": {key: float(np.std([x[key] for x in per_fold])) for key in keys},
    }


def cv(ddf, target, features=None, weight=None, k=5, seed=0, fit_intercept=True, split_every=8):
    """Exact k-fold cross-validation of ``LinearRegression`` on every row of ``ddf``: each
    row's fold by a hash of its position and ``seed`` (the row at position ``i`` is line
    ``i + 2``, so a table read from a CSV gets the folds ``cali-reg cv --streaming --folds k
    --seed seed`` gives it); per partition, one set of statistics per fold, merged in a tree;
    each fold's model solved from the others' statistics and scored on its own (R², RMSE), then
    one more pass for the MAE. Reads the table three times (the partitions' lengths first).
    Returns ``cali-reg cv --json``'s ``folds``, ``mean`` and ``std``."""
    import dask

    features = [c for c in ddf.columns if c not in (target, weight)] if features is None else list(features)
    if int(k) < 2:
        raise ValueError(f"{k} folds: cross-validation needs at least 2")
    k = int(k)
    lengths = np.asarray(ddf.map_partitions(len).compute(), dtype=np.int64)
    firsts = 2 + np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    if lengths.sum() < k:
        raise ValueError(f"{k} folds of {int(lengths.sum())} rows: K must not exceed the rows")
    partitions = list(ddf.to_delayed())
    parts = [
        dask.delayed(fold_stats)(part, int(first), k, seed, target, features, weight, fit_intercept)
        for part, first in zip(partitions, firsts)
    ]
    # Each fold's blobs merged in a tree, as `stats` merges.
    per_fold = [[part[f] for part in parts] for f in range(k)]
    for f in range(k):
        level = per_fold[f]
        while len(level) > 1:
            level = [dask.delayed(merge_bytes)(*level[i : i + split_every]) for i in range(0, len(level), split_every)]
        per_fold[f] = level[0]
    merged = dask.compute(*per_fold)
    folds = _native.cross_validate_stats([_native.Stats.from_bytes(b) for b in merged])
    models = [bytes(model) for model, *_ in folds]
    sums = dask.compute(
        *[
            dask.delayed(fold_absolute_errors)(part, int(first), k, seed, models, target, features, weight)
            for part, first in zip(partitions, firsts)
        ]
    )
    return scores(folds, np.sum(sums, axis=0), lengths.sum(), k, seed)


def fit(ddf, target, features=None, weight=None, fit_intercept=True, distributions=True):
    """A ``cali_reg.LinearRegression`` fitted on every row of the Dask DataFrame ``ddf``:
    ``target`` column, ``features`` (default: every other column but ``weight``), optional
    ``weight`` column of sample weights; its model file carries the features' and the target's
    training distributions unless ``distributions`` is false."""
    import dask

    features = [c for c in ddf.columns if c not in (target, weight)] if features is None else list(features)
    blob = stats(ddf, target, features, weight, fit_intercept, distributions=distributions)
    model = SufficientStats.from_bytes(blob).fit()
    if distributions:
        # The predictions' distribution needs the model: a second pass, each partition's
        # predictions sketched on its worker, the sketches merged in a tree.
        parts = [
            dask.delayed(prediction_sketch)(part, model._model, target, features, weight)
            for part in ddf.to_delayed()
        ]
        while len(parts) > 1:
            parts = [dask.delayed(_native.merge_sketches)(*parts[i : i + 8]) for i in range(0, len(parts), 8)]
        model._model = _native.with_prediction_sketch(model._model, parts[0].compute())
    return model
