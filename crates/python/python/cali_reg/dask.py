"""Fit on a Dask DataFrame: each partition's sufficient statistics (a few hundred bytes),
merged exactly in a tree, then one solve on the client.

    import dask.dataframe as dd, cali_reg.dask
    model = cali_reg.dask.fit(dd.read_parquet("shards/"), target="price")
"""

import numpy as np

from . import SufficientStats


def partition_stats(frame, target, features, weight, fit_intercept):
    """The statistics of one pandas partition, as the bytes of a ``.stats`` file. A missing
    value or a column that is not numeric stops the job, naming the column."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    stats = SufficientStats(feature_names=features, fit_intercept=fit_intercept, target=target)
    columns = list(features) + [target] + ([weight] if weight is not None else [])
    for column in columns:
        if column not in frame.columns:
            raise ValueError(f"column {column}: not in the table")
        values = frame[column]
        if not is_numeric_dtype(values) or is_bool_dtype(values):
            raise ValueError(f"column {column}: {values.dtype} values, not numbers")
        if values.isna().any():
            raise ValueError(f"column {column}: a missing value (NaN) in {int(values.isna().sum())} row(s)")
    if len(frame):
        stats.update(
            frame[list(features)].to_numpy(dtype=np.float64),
            frame[target].to_numpy(dtype=np.float64),
            None if weight is None else frame[weight].to_numpy(dtype=np.float64),
        )
    return stats.to_bytes()


def merge_bytes(*blobs):
    """Statistics merged, as bytes."""
    merged = SufficientStats.from_bytes(blobs[0])
    for blob in blobs[1:]:
        merged.merge(SufficientStats.from_bytes(blob))
    return merged.to_bytes()


def stats(ddf, target, features=None, weight=None, fit_intercept=True, split_every=8):
    """The merged statistics of every row of ``ddf``, as the bytes of a ``.stats`` file
    (``cali-reg train --from-stats`` reads them)."""
    import dask

    features = [c for c in ddf.columns if c not in (target, weight)] if features is None else list(features)
    parts = [
        dask.delayed(partition_stats)(part, target, features, weight, fit_intercept)
        for part in ddf.to_delayed()
    ]
    while len(parts) > 1:  # a tree: each level merges up to `split_every` blobs
        parts = [dask.delayed(merge_bytes)(*parts[i : i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0].compute()


def fit(ddf, target, features=None, weight=None, fit_intercept=True):
    """A ``cali_reg.LinearRegression`` fitted on every row of the Dask DataFrame ``ddf``:
    ``target`` column, ``features`` (default: every other column but ``weight``), optional
    ``weight`` column of sample weights."""
    return SufficientStats.from_bytes(stats(ddf, target, features, weight, fit_intercept)).fit()
