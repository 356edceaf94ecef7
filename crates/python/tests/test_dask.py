"""cali_reg.dask on a real dask.distributed LocalCluster (two worker processes, loopback):
shards of California of every layout (one row, empty, unequal sizes) give the fit of their
concatenation; a bad shard fails the job naming its column; the statistics cross with the
command line's .stats files both ways."""
import json
import os
import subprocess

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from dask.distributed import Client, LocalCluster

import cali_reg
import cali_reg.dask

from test_files import binary

TARGET = "median_house_value"
SIZES = [1, 0, 5000, 3000, 2000, 4000, 1639, 2500, 2500]  # 20,640 rows, an empty shard among them


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    with Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture(scope="module")
def table():
    return pd.read_csv(os.environ["CALI_REG_DATA"])


def write_shards(folder, table):
    folder.mkdir(exist_ok=True)
    start = 0
    for i, size in enumerate(SIZES):
        table.iloc[start : start + size].to_csv(folder / f"shard-{i:02}.csv", index=False)
        start += size
    assert start == len(table)
    return str(folder / "shard-*.csv")


def reference(table):
    features = [c for c in table.columns if c != TARGET]
    return cali_reg.LinearRegression().fit(table[features].to_numpy(), table[TARGET].to_numpy())


def test_shards_on_a_cluster_give_the_fit_of_their_concatenation(client, table, tmp_path):
    ddf = dd.read_csv(write_shards(tmp_path / "shards", table))
    assert ddf.npartitions == len(SIZES)
    model = cali_reg.dask.fit(ddf, TARGET)
    whole = reference(table)
    np.testing.assert_allclose(model.coef_, whole.coef_, rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, whole.intercept_, rtol=1e-12)
    assert list(model.feature_names_in_) == [c for c in table.columns if c != TARGET]
    # Weighted, without an intercept: the same against the in-memory fit.
    weighted = cali_reg.dask.fit(ddf, TARGET, weight="households", fit_intercept=False)
    features = [c for c in table.columns if c not in (TARGET, "households")]
    direct = cali_reg.LinearRegression(fit_intercept=False).fit(
        table[features].to_numpy(), table[TARGET].to_numpy(), sample_weight=table["households"].to_numpy()
    )
    np.testing.assert_allclose(weighted.coef_, direct.coef_, rtol=1e-12)


@pytest.mark.parametrize("bad, column", [(np.nan, "total_rooms"), ("many", "population")])
def test_a_bad_shard_fails_the_job_naming_the_column(client, table, tmp_path, bad, column):
    folder = tmp_path / "bad"
    pattern = write_shards(folder, table)
    shard = pd.read_csv(folder / "shard-03.csv")
    shard[column] = shard[column].astype(object)
    shard.loc[7, column] = bad
    shard.to_csv(folder / "shard-03.csv", index=False)
    ddf = dd.read_csv(pattern, dtype={column: object if isinstance(bad, str) else float})
    with pytest.raises(ValueError, match=f"column {column}"):
        cali_reg.dask.fit(ddf, TARGET)


def test_engine_statistics_and_the_command_line(client, table, tmp_path):
    env = {**os.environ}
    pattern = write_shards(tmp_path / "shards", table)
    # Dask's statistics, fitted by `cali-reg train --from-stats`.
    blob = cali_reg.dask.stats(dd.read_csv(pattern), TARGET)
    (tmp_path / "dask.stats").write_bytes(blob)
    out = subprocess.run(
        [binary(), "train", "--from-stats", str(tmp_path / "dask.stats"), "--artifacts", str(tmp_path / "a"), "--json"],
        capture_output=True, text=True, check=True, env=env,
    )
    cli = json.loads(out.stdout)
    engine = cali_reg.SufficientStats.from_bytes(blob).fit()
    np.testing.assert_allclose(cli["coefficients"], engine.coef_, rtol=1e-15)
    # `cali-reg stats` of one shard merged with Dask's of the others: the fit of all rows.
    subprocess.run(
        [binary(), "stats", "--data", str(tmp_path / "shards" / "shard-02.csv"), "--target", TARGET, "-o", str(tmp_path / "cli.stats")],
        capture_output=True, check=True, env=env,
    )
    others = dd.read_csv([str(p) for p in sorted((tmp_path / "shards").glob("shard-*.csv")) if p.name != "shard-02.csv"])
    merged = cali_reg.SufficientStats.from_bytes((tmp_path / "cli.stats").read_bytes())
    merged.merge(cali_reg.SufficientStats.from_bytes(cali_reg.dask.stats(others, TARGET)))
    assert merged.n_rows == len(table)
    np.testing.assert_allclose(merged.fit().coef_, reference(table).coef_, rtol=1e-12)
    # And the other way: the merged statistics as a file the command line fits.
    (tmp_path / "merged.stats").write_bytes(merged.to_bytes())
    out = subprocess.run(
        [binary(), "train", "--from-stats", str(tmp_path / "merged.stats"), "--artifacts", str(tmp_path / "b"), "--json"],
        capture_output=True, text=True, check=True, env=env,
    )
    np.testing.assert_allclose(json.loads(out.stdout)["coefficients"], reference(table).coef_, rtol=1e-12)


def cv_references(table, tmp_path, k, seed):
    """The same cross-validation two other ways: `cali-reg cv --streaming` on the table as one
    CSV (R², RMSE and the fold sizes), and scikit-learn's `cross_validate` with the same folds
    (`PredefinedSplit` of the hash folds of lines 2, 3, …): R², RMSE and MAE."""
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import PredefinedSplit, cross_validate

    whole = tmp_path / "whole.csv"
    table.to_csv(whole, index=False)
    out = subprocess.run(
        [binary(), "cv", "--streaming", "--folds", str(k), "--seed", str(seed), "--data", str(whole),
         "--target", TARGET, "--artifacts", str(tmp_path / "cv"), "--json"],
        capture_output=True, text=True, check=True, env={**os.environ},
    )
    cli = json.loads(out.stdout)
    features = [c for c in table.columns if c != TARGET]
    folds = cali_reg._native.hash_folds(seed, 2, len(table), k)
    sk = cross_validate(
        LinearRegression(), table[features].to_numpy(), table[TARGET].to_numpy(), cv=PredefinedSplit(folds),
        scoring=("r2", "neg_root_mean_squared_error", "neg_mean_absolute_error"),
    )
    return cli, sk, str(whole)


def assert_cv_matches(ours, cli, sk, k):
    assert [f["fold"] for f in ours["folds"]] == list(range(1, k + 1))
    for mine, theirs in zip(ours["folds"], cli["folds"]):
        assert (mine["train_rows"], mine["test_rows"]) == (theirs["train_rows"], theirs["test_rows"])
        np.testing.assert_allclose([mine["r2"], mine["rmse"]], [theirs["r2"], theirs["rmse"]], rtol=1e-9)
    np.testing.assert_allclose([f["r2"] for f in ours["folds"]], sk["test_r2"], rtol=1e-9)
    np.testing.assert_allclose([f["rmse"] for f in ours["folds"]], -sk["test_neg_root_mean_squared_error"], rtol=1e-9)
    np.testing.assert_allclose([f["mae"] for f in ours["folds"]], -sk["test_neg_mean_absolute_error"], rtol=1e-9)
    np.testing.assert_allclose(ours["mean"]["mae"], np.mean(-sk["test_neg_mean_absolute_error"]), rtol=1e-9)
    np.testing.assert_allclose(ours["std"]["r2"], np.std(sk["test_r2"]), rtol=1e-6)


def test_cv_on_a_cluster_equals_the_command_line_and_scikit_learn(client, table, tmp_path):
    ddf = dd.read_csv(write_shards(tmp_path / "shards", table))
    ours = cali_reg.dask.cv(ddf, TARGET, k=5, seed=7)
    cli, sk, _ = cv_references(table, tmp_path, 5, 7)
    assert ours["rows"] == len(table) and ours["k"] == 5
    assert_cv_matches(ours, cli, sk, 5)
    with pytest.raises(ValueError, match="at least 2"):
        cali_reg.dask.cv(ddf, TARGET, k=1)
    with pytest.raises(ValueError, match="K must not exceed the rows"):
        cali_reg.dask.cv(dd.from_pandas(table.head(3), npartitions=1), TARGET, k=5)


def drift_report(tmp_path, name, stats, data):
    """`cali-reg train --from-stats STATS`, then `cali-reg drift --data DATA --json` against it."""
    env = {**os.environ}
    artifacts = str(tmp_path / name)
    subprocess.run([binary(), "train", "--from-stats", str(stats), "--artifacts", artifacts, "-q"],
                   capture_output=True, check=True, env=env)
    out = subprocess.run([binary(), "drift", "--data", str(data), "--artifacts", artifacts, "--json"],
                         capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout)


def counts_at_edges(column, values):
    """A report column's edges, and NumPy's count of ``values`` in each bin between them."""
    edges = np.asarray(column["edges"])
    return edges, np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1).tolist()


def assert_distributions_of(report, table, other, predictions=None):
    """The report of the table against itself: each feature's training counts are NumPy's at
    its edges (exact: the sketches' edges are bucket boundaries), and equal `other`'s report's;
    no drift. The predictions' row only where the model's ``predictions`` of the table were
    sketched (a statistics file holds none)."""
    assert report["training_rows"] == len(table)
    for mine, theirs in zip(report["features"], other["features"]):
        assert (mine["name"], mine["edges"], mine["training_counts"]) == (
            theirs["name"], theirs["edges"], theirs["training_counts"])
        edges, counts = counts_at_edges(mine, table[mine["name"]].to_numpy())
        assert mine["training_counts"] == counts == mine["counts"], mine["name"]
        assert len(edges) >= 8 and mine["psi"] == 0.0
    if predictions is None:
        assert report["prediction"] is None
    else:
        edges, counts = counts_at_edges(report["prediction"], predictions)
        assert report["prediction"]["training_counts"] == counts == report["prediction"]["counts"]
        assert len(edges) >= 25 and report["prediction"]["psi"] == 0.0


def assert_saved_model_distributions(model, tmp_path, whole, table, cli):
    """``model`` (an engine's fit of ``table``) saved, then `cali-reg drift` of the table against
    it: the features' bins of `cli`'s report, and a prediction row whose training counts are
    NumPy's counts of the model's predictions."""
    (tmp_path / "saved").mkdir()
    model.save(tmp_path / "saved" / "linear_model.msgpack")
    out = subprocess.run([binary(), "drift", "--data", str(whole), "--artifacts", str(tmp_path / "saved"), "--json"],
                         capture_output=True, text=True, check=True, env={**os.environ})
    assert_distributions_of(json.loads(out.stdout), table, cli, model.predict(table.drop(columns=TARGET)))


def test_distributions_merge_on_the_cluster_as_one_pass_makes_them(client, table, tmp_path):
    pattern = write_shards(tmp_path / "shards", table)
    whole = tmp_path / "whole.csv"
    table.to_csv(whole, index=False)
    (tmp_path / "dask.stats").write_bytes(cali_reg.dask.stats(dd.read_csv(pattern), TARGET))
    subprocess.run([binary(), "stats", "--data", str(whole), "--target", TARGET, "-o", str(tmp_path / "cli.stats")],
                   capture_output=True, check=True, env={**os.environ})
    cli = drift_report(tmp_path, "cli", tmp_path / "cli.stats", whole)
    ours = drift_report(tmp_path, "dask", tmp_path / "dask.stats", whole)
    assert_distributions_of(ours, table, cli)
    # The model Dask fits carries them too, and its predictions' (a second pass on the
    # workers): saved, `cali-reg drift` measures against it.
    assert_saved_model_distributions(cali_reg.dask.fit(dd.read_csv(pattern), TARGET), tmp_path, whole, table, cli)
    # Without distributions the statistics stay small (the sketches are the rest).
    assert len(cali_reg.dask.stats(dd.read_csv(pattern), TARGET, distributions=False)) < 4096 < len(
        (tmp_path / "dask.stats").read_bytes())
    # Statistics kept without distributions give a model drift refuses, in one line.
    bare = cali_reg.SufficientStats(distributions=False).update(table.drop(columns=TARGET), table[TARGET])
    assert not bare.distributions
    (tmp_path / "bare").mkdir()
    bare.fit().save(tmp_path / "bare" / "linear_model.msgpack")
    out = subprocess.run([binary(), "drift", "--data", str(whole), "--artifacts", str(tmp_path / "bare")],
                         capture_output=True, text=True, env={**os.environ})
    assert out.returncode == 1 and len(out.stderr.splitlines()) == 1, out.stderr
    assert "carries no training distributions" in out.stderr
