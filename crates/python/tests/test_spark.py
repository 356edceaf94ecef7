"""cali_reg.spark on Spark in local mode (local[2], loopback): the shards of the Dask test give
the fit of their concatenation; a bad column fails the job, named; the statistics are the
command line's .stats files."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import cali_reg
import cali_reg.spark

from test_dask import TARGET, reference, write_shards
from test_files import binary


@pytest.fixture(scope="module")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.files.maxPartitionBytes", "200000")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def table():
    return pd.read_csv(os.environ["CALI_REG_DATA"])


def test_shards_in_spark_give_the_fit_of_their_concatenation(spark, table, tmp_path):
    write_shards(tmp_path / "shards", table)
    df = spark.read.csv(str(tmp_path / "shards"), header=True, inferSchema=True)
    assert df.rdd.getNumPartitions() >= 8
    model = cali_reg.spark.fit(df, TARGET)
    whole = reference(table)
    np.testing.assert_allclose(model.coef_, whole.coef_, rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, whole.intercept_, rtol=1e-12)
    # Its statistics, fitted by the command line.
    blob = cali_reg.spark.stats(df, TARGET)
    (tmp_path / "spark.stats").write_bytes(blob)
    out = subprocess.run(
        [binary(), "train", "--from-stats", str(tmp_path / "spark.stats"), "--artifacts", str(tmp_path / "a"), "--json"],
        capture_output=True, text=True, check=True, env={**os.environ},
    )
    np.testing.assert_allclose(json.loads(out.stdout)["coefficients"], whole.coef_, rtol=1e-12)


def test_a_text_column_fails_naming_it(spark, table, tmp_path):
    folder = tmp_path / "bad"
    write_shards(folder, table)
    shard = pd.read_csv(folder / "shard-03.csv")
    shard["population"] = shard["population"].astype(object)
    shard.loc[7, "population"] = "many"
    shard.to_csv(folder / "shard-03.csv", index=False)
    df = spark.read.csv(str(folder), header=True, inferSchema=True)
    with pytest.raises(ValueError, match="column population"):
        cali_reg.spark.fit(df, TARGET)


def test_a_missing_value_fails_the_job_naming_the_column(spark, table, tmp_path):
    folder = tmp_path / "nan"
    write_shards(folder, table)
    shard = pd.read_csv(folder / "shard-03.csv")
    shard.loc[7, "total_rooms"] = np.nan
    shard.to_csv(folder / "shard-03.csv", index=False)
    df = spark.read.csv(str(folder), header=True, inferSchema=True)
    with pytest.raises(Exception, match="column total_rooms"):
        cali_reg.spark.fit(df, TARGET)


def test_cv_in_spark_equals_the_command_line_and_scikit_learn(spark, table, tmp_path):
    from test_dask import assert_cv_matches, cv_references

    cli, sk, whole = cv_references(table, tmp_path, 4, 3)
    # One file, cut into partitions in its byte order (a folder's files would be packed by size).
    df = spark.read.csv(whole, header=True, inferSchema=True)
    assert df.rdd.getNumPartitions() >= 4
    ours = cali_reg.spark.cv(df, TARGET, k=4, seed=3)
    assert ours["rows"] == len(table)
    assert_cv_matches(ours, cli, sk, 4)


def test_distributions_merge_in_spark_as_one_pass_makes_them(spark, table, tmp_path):
    from test_dask import assert_distributions_of, assert_saved_model_distributions, drift_report

    write_shards(tmp_path / "shards", table)
    df = spark.read.csv(str(tmp_path / "shards"), header=True, inferSchema=True)
    whole = tmp_path / "whole.csv"
    table.to_csv(whole, index=False)
    (tmp_path / "spark.stats").write_bytes(cali_reg.spark.stats(df, TARGET))
    subprocess.run([binary(), "stats", "--data", str(whole), "--target", TARGET, "-o", str(tmp_path / "cli.stats")],
                   capture_output=True, check=True, env={**os.environ})
    cli = drift_report(tmp_path, "cli", tmp_path / "cli.stats", whole)
    assert_distributions_of(drift_report(tmp_path, "spark", tmp_path / "spark.stats", whole), table, cli)
    # The model Spark fits carries its predictions' distribution too (a second job).
    assert_saved_model_distributions(cali_reg.spark.fit(df, TARGET), tmp_path, whole, table, cli)
