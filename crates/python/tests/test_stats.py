"""cali_reg.SufficientStats: shards merged equal one fit, bytes are the CLI's .stats files both
ways, and every memory layout of X gives the same numbers."""
import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

import cali_reg

from test_california import FEATURES, california
from test_files import binary


def test_shards_merge_into_the_fit_of_all_rows():
    X_train, _, y_train, _, w_train, _ = california()
    whole = cali_reg.LinearRegression().fit(X_train, y_train, sample_weight=w_train)
    parts = [cali_reg.SufficientStats(8) for _ in range(3)]
    for part, rows in zip(parts, np.array_split(np.arange(len(y_train)), 3)):
        part.update(X_train[rows], y_train[rows], sample_weight=w_train[rows])
    merged = parts[0] + parts[1] + parts[2]
    assert merged.n_rows == len(y_train)
    model = merged.fit()
    np.testing.assert_allclose(model.coef_, whole.coef_, rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, whole.intercept_, rtol=1e-12)
    # In place: merge() adds to the left-hand side.
    left = cali_reg.SufficientStats(8).update(X_train[:100], y_train[:100])
    left.merge(cali_reg.SufficientStats(8).update(X_train[100:], y_train[100:]))
    assert left.n_rows == len(y_train)


def test_every_layout_gives_the_same_statistics():
    X_train, _, y_train, _, _, _ = california()
    c_order = cali_reg.LinearRegression().fit(X_train, y_train)
    strided = np.hstack([X_train, X_train])[:, :8]  # neither C- nor Fortran-contiguous
    assert not strided.flags.c_contiguous and not strided.flags.f_contiguous
    for X in (np.asfortranarray(X_train), strided):
        other = cali_reg.LinearRegression().fit(X, y_train)
        np.testing.assert_allclose(other.coef_, c_order.coef_, rtol=1e-12)
        np.testing.assert_array_equal(other.predict(X), c_order.predict(X_train))


def test_stats_files_cross_with_the_command_line(tmp_path):
    env = {**os.environ}
    data = env["CALI_REG_DATA"]
    X_train, _, y_train, _, _, _ = california()
    frame = pd.DataFrame(X_train, columns=FEATURES)
    # Python's statistics, fitted by the command line.
    stats = cali_reg.SufficientStats().update(frame, y_train)
    (tmp_path / "py.stats").write_bytes(stats.to_bytes())
    out = subprocess.run(
        [binary(), "train", "--from-stats", str(tmp_path / "py.stats"), "--artifacts", str(tmp_path / "a"), "--json"],
        capture_output=True, text=True, check=True, env=env,
    )
    cli = json.loads(out.stdout)
    python = stats.fit()
    np.testing.assert_allclose(cli["coefficients"], python.coef_, rtol=1e-15)
    np.testing.assert_allclose(cli["intercept"], python.intercept_, rtol=1e-15)
    # The command line's statistics (all of California), read and fitted in Python.
    subprocess.run([binary(), "stats", "-o", str(tmp_path / "cli.stats"), "--data", data],
                   capture_output=True, check=True, env=env)
    from_cli = cali_reg.SufficientStats.from_bytes((tmp_path / "cli.stats").read_bytes())
    assert from_cli.n_rows == 20640
    assert list(from_cli.fit().feature_names_in_) == FEATURES


def test_more_features_than_a_fit_takes_raise_value_error():
    # Statistics grow with the square of the features: past 1,000 they are refused, not
    # allocated (20,000 columns would take gigabytes and end the interpreter).
    wide = np.zeros((3, 1001))
    for make in (
        lambda: cali_reg.LinearRegression().fit(wide, np.zeros(3)),
        lambda: cali_reg.SufficientStats(1001),
        lambda: cali_reg.SufficientStats().update(wide, np.zeros(3)),
    ):
        with pytest.raises(ValueError, match="1001 features are more than the 1000 cali-reg fits"):
            make()


@pytest.mark.parametrize("weighted", [False, True])
def test_a_fit_large_enough_to_split_between_threads(weighted):
    """From 131,072 rows a fit pushes each half on its own thread and merges: rows and columns
    (C and Fortran order) still give the same bits, and scikit-learn's fit to 1e-9."""
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(3)
    n = 300_001
    X = rng.normal(size=(n, 5)) * [1, 10, 100, 0.1, 1] + [0, 5, -50, 1, 2]
    y = X @ [1, -2, 0.5, 3, 0.1] + 4 + rng.normal(size=n)
    w = rng.uniform(0.5, 2, size=n) if weighted else None
    rows = cali_reg.LinearRegression().fit(X, y, sample_weight=w)
    columns = cali_reg.LinearRegression().fit(np.asfortranarray(X), y, sample_weight=w)
    assert rows.to_bytes() == columns.to_bytes()
    theirs = LinearRegression().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(rows.coef_, theirs.coef_, rtol=1e-9)
    np.testing.assert_allclose(rows.intercept_, theirs.intercept_, rtol=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
def test_a_frames_rows_are_read_in_place_with_the_same_bits(weighted):
    """A DataFrame's first rows (``iloc[:k]``: each column contiguous, the columns apart, so
    neither C nor Fortran order) give the model of the same rows as a C-ordered array, bit for
    bit, and predict the same."""
    X_train, _, y_train, _, w_train, _ = california()
    frame = pd.DataFrame(np.asfortranarray(X_train), columns=FEATURES)
    k = len(y_train) - 1000
    head = frame.iloc[:k]
    values = head.to_numpy()
    assert not values.flags.c_contiguous and not values.flags.f_contiguous and values.strides[0] == 8
    w = w_train[:k] if weighted else None
    ours = cali_reg.LinearRegression().fit(head, y_train[:k], sample_weight=w)
    rows = cali_reg.LinearRegression().fit(np.ascontiguousarray(X_train[:k]), y_train[:k], sample_weight=w)
    # The same bits (the files differ only by the frame's feature names, kept weighted too).
    assert list(ours.feature_names_in_) == FEATURES
    for attribute in ("coef_", "intercept_", "bse_"):
        np.testing.assert_array_equal(getattr(ours, attribute), getattr(rows, attribute))
    np.testing.assert_array_equal(ours.predict(head), rows.predict(X_train[:k]))
