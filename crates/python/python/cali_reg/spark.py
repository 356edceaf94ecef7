"""Fit on a PySpark DataFrame: each partition's sufficient statistics (``mapInPandas`` on the
executors, with the columns' sketches), merged exactly on the driver, then one
solve; and k-fold cross-validation from the same statistics, one set per fold.

    import cali_reg.spark
    model = cali_reg.spark.fit(spark.read.parquet("shards/"), target="price")
    scores = cali_reg.spark.cv(spark.read.parquet("shards/"), target="price", k=5, seed=0)
"""

from . import SufficientStats, _native
from .dask import fold_absolute_errors, fold_stats, merge_bytes, scores


def _columns(df, target, features, weight):
    """The feature columns, and every column read, checked to be numeric in the schema."""
    from pyspark.sql.types import BooleanType, NumericType

    features = [c for c in df.columns if c not in (target, weight)] if features is None else list(features)
    columns = features + [target] + ([weight] if weight is not None else [])
    for column in columns:
        if column not in df.columns:
            raise ValueError(f"column {column}: not in the table")
        kind = df.schema[column].dataType
        if not isinstance(kind, NumericType) or isinstance(kind, BooleanType):
            raise ValueError(f"column {column}: {kind.simpleString()} values, not numbers")
    return features, columns


def stats(df, target, features=None, weight=None, fit_intercept=True, distributions=True):
    """The merged statistics of every row of ``df``, as the bytes of a ``.stats`` file
    (``cali-reg train --from-stats`` reads them); with ``distributions``, the columns' sketches
    too (``cali_reg.dask.stats``)."""
    features, columns = _columns(df, target, features, weight)

    def per_partition(frames):
        import numpy as np
        import pandas as pd

        partial = SufficientStats(
            feature_names=features, fit_intercept=fit_intercept, target=target, distributions=distributions
        )
        for frame in frames:
            for column in columns:
                missing = int(frame[column].isna().sum())
                if missing:
                    raise ValueError(f"column {column}: a missing value (NaN) in {missing} row(s)")
            if len(frame):
                partial.update(
                    frame[features].to_numpy(dtype=np.float64),
                    frame[target].to_numpy(dtype=np.float64),
                    None if weight is None else frame[weight].to_numpy(dtype=np.float64),
                )
        yield pd.DataFrame({"stats": [partial.to_bytes()]})

    blobs = [bytes(row.stats) for row in df.select(*columns).mapInPandas(per_partition, "stats binary").collect()]
    if not blobs:
        return SufficientStats(
            feature_names=features, fit_intercept=fit_intercept, target=target, distributions=distributions
        ).to_bytes()
    return merge_bytes(*blobs)


def fit(df, target, features=None, weight=None, fit_intercept=True, distributions=True):
    """A ``cali_reg.LinearRegression`` fitted on every row of the Spark DataFrame ``df``:
    ``target`` column, ``features`` (default: every other column but ``weight``), optional
    ``weight`` column of sample weights; its model file carries the features' and the target's
    training distributions unless ``distributions`` is false."""
    blob = stats(df, target, features, weight, fit_intercept, distributions=distributions)
    model = SufficientStats.from_bytes(blob).fit()
    if distributions:
        model._model = _native.with_prediction_sketch(model._model, _prediction_sketch(df, model._model, target, features, weight))
    return model


def _prediction_sketch(df, model, target, features, weight):
    """The sketch of ``model``'s predictions of every row of ``df``: each partition's on its
    executor, merged on the driver."""
    features, columns = _columns(df, target, features, weight)

    def per_partition(frames):
        import numpy as np
        import pandas as pd

        sketches = [
            _native.sketch(_native.predict(model, frame[features].to_numpy(dtype=np.float64)))
            for frame in frames
            if len(frame)
        ]
        yield pd.DataFrame({"sketch": [_native.merge_sketches(*sketches)]})

    blobs = [bytes(row.sketch) for row in df.select(*columns).mapInPandas(per_partition, "sketch binary").collect()]
    return _native.merge_sketches(*blobs)


def cv(df, target, features=None, weight=None, k=5, seed=0, fit_intercept=True):
    """Exact k-fold cross-validation of ``LinearRegression`` on every row of ``df``, as
    ``cali_reg.dask.cv``: each row's fold by a hash of its position (partition by partition, in
    order; the row at position ``i`` is line ``i + 2``, so a table read from a CSV gets the
    folds ``cali-reg cv --streaming`` gives it) and ``seed``. Three jobs: the partitions'
    lengths, each partition's statistics per fold (merged on the driver), and the MAE's
    absolute errors. Returns ``cali-reg cv --json``'s ``folds``, ``mean`` and ``std``."""
    import numpy as np

    features, columns = _columns(df, target, features, weight)
    if int(k) < 2:
        raise ValueError(f"{k} folds: cross-validation needs at least 2")
    k = int(k)
    rows = df.select(*columns)

    def lengths(frames):
        import pandas as pd
        from pyspark import TaskContext

        n = sum(len(frame) for frame in frames)
        yield pd.DataFrame({"partition": [TaskContext.get().partitionId()], "rows": [n]})

    counted = {row.partition: row.rows for row in rows.mapInPandas(lengths, "partition int, rows long").collect()}
    order = sorted(counted)
    total = sum(counted.values())
    if total < k:
        raise ValueError(f"{k} folds of {total} rows: K must not exceed the rows")
    firsts, line = {}, 2
    for partition in order:
        firsts[partition], line = line, line + counted[partition]

    def each_frame(frames, work):
        """`work(frame, first_line)` for each frame of this partition, in order."""
        from pyspark import TaskContext

        line = firsts[TaskContext.get().partitionId()]
        for frame in frames:
            yield work(frame, line)
            line += len(frame)

    def per_fold(frames):
        import pandas as pd

        for blobs in each_frame(
            frames, lambda frame, first: fold_stats(frame, first, k, seed, target, features, weight, fit_intercept)
        ):
            yield pd.DataFrame({"fold": list(range(k)), "stats": blobs})

    blobs = [[] for _ in range(k)]
    for row in rows.mapInPandas(per_fold, "fold int, stats binary").collect():
        blobs[row.fold].append(bytes(row.stats))
    folds = _native.cross_validate_stats([_native.Stats.from_bytes(merge_bytes(*b)) for b in blobs])
    models = [bytes(model) for model, *_ in folds]

    def absolute(frames):
        import pandas as pd

        for sums in each_frame(
            frames, lambda frame, first: fold_absolute_errors(frame, first, k, seed, models, target, features, weight)
        ):
            yield pd.DataFrame({"fold": list(range(k)), "errors": sums[:, 0], "weight": sums[:, 1]})

    sums = np.zeros((k, 2))
    for row in rows.mapInPandas(absolute, "fold int, errors double, weight double").collect():
        sums[row.fold] += (row.errors, row.weight)
    return scores(folds, sums, total, k, seed)
