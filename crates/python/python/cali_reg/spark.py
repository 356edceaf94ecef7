"""Fit on a PySpark DataFrame: each partition's sufficient statistics (``mapInPandas`` on the
executors, a few hundred bytes each), merged exactly on the driver, then one solve.

    import cali_reg.spark
    model = cali_reg.spark.fit(spark.read.parquet("shards/"), target="price")
"""

from . import SufficientStats
from .dask import merge_bytes


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


def stats(df, target, features=None, weight=None, fit_intercept=True):
    """The merged statistics of every row of ``df``, as the bytes of a ``.stats`` file
    (``cali-reg train --from-stats`` reads them)."""
    features, columns = _columns(df, target, features, weight)

    def per_partition(frames):
        import numpy as np
        import pandas as pd

        partial = SufficientStats(feature_names=features, fit_intercept=fit_intercept, target=target)
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
        return SufficientStats(feature_names=features, fit_intercept=fit_intercept, target=target).to_bytes()
    return merge_bytes(*blobs)


def fit(df, target, features=None, weight=None, fit_intercept=True):
    """A ``cali_reg.LinearRegression`` fitted on every row of the Spark DataFrame ``df``:
    ``target`` column, ``features`` (default: every other column but ``weight``), optional
    ``weight`` column of sample weights."""
    return SufficientStats.from_bytes(stats(df, target, features, weight, fit_intercept)).fit()
