"""cali_reg.LinearRegression against scikit-learn's, in the same process:

    python crates/python/bench/bench.py "$CALI_REG_DATA"

California's training split (16,512 × 8): median of 50 fits each (the two libraries' runs
alternating), of the C-ordered array and of a pandas DataFrame of it (whose ``to_numpy()`` is
Fortran-ordered); again with each library's 50 fits in a row (warm caches); again alternating,
with OpenBLAS limited to one thread (threadpoolctl), scikit-learn's faster setting on two cores; and of the DataFrame with the summary's figures read too (``bse_`` and
``pvalues_``, computed when first read). Then 10⁷ × 8 random rows in
memory (640 MB of float64), each library in a fresh process of its own: wall time of one fit,
and the resident memory the fit adds to the process (its peak, sampled while it runs, less
what was resident before: the interpreter, the libraries, X and y).
"""
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

import numpy as np


def california(path):
    """California's training split, as the tests derive it (one derivation for both)."""
    os.environ.setdefault("CALI_REG_DATA", path)
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
    from test_california import california as split

    X_train, _, y_train, _, _, _ = split()
    return X_train, y_train


class _Summarised:
    """A fit that reads the summary's figures as well."""

    def __init__(self, model):
        self.model = model

    def fit(self, X, y):
        self.model.fit(X, y)
        return self.model.bse_, self.model.pvalues_


def median_ms(fits, X, y, runs=50):
    """The median time of each of `fits` (estimator factories) on X, y, in ms: their runs
    alternate, so that what one leaves behind (OpenBLAS's threads spinning after a
    scikit-learn fit, caches) falls on both alike."""
    times = [[] for _ in fits]
    for _ in range(runs):
        for fit, took in zip(fits, times):
            start = time.perf_counter()
            fit().fit(X, y)
            took.append((time.perf_counter() - start) * 1e3)
    return [statistics.median(took) for took in times]


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def big(which):
    """One fit of 10⁷ × 8 rows: wall time, resident memory before it (interpreter, libraries,
    X and y) and the most it added while fitting (sampled every 2 ms on a second thread)."""
    import threading

    rows = 10_000_000
    rng = np.random.default_rng(1)
    X = rng.uniform(-10, 10, size=(rows, 8))
    y = X @ np.arange(1.0, 9.0)
    y += rng.normal(2.0, 0.5, rows)
    if which == "cali-reg":
        import cali_reg as lib
    else:
        import sklearn.linear_model as lib
    model = lib.LinearRegression()
    before = rss_mib()
    peak, done = [before], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mib())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    print(f"{seconds} {before} {peak[0] - before} {(X.nbytes + y.nbytes) / 2**20}")


def main(path):
    import cali_reg
    import sklearn
    from sklearn.linear_model import LinearRegression

    import pandas as pd

    X, y = california(path)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    assert frame.to_numpy().flags.f_contiguous
    # A frame's first rows, as `df.iloc[:k]` or `df.head(k)` give them: each column contiguous,
    # the columns a longer frame's length apart (neither C nor Fortran order).
    longer = pd.DataFrame(np.vstack([X, X[:4128]]), columns=frame.columns)
    head = longer.iloc[: len(y)]
    assert not head.to_numpy().flags.f_contiguous and head.to_numpy().strides[0] == 8
    print(f"scikit-learn {sklearn.__version__}, NumPy {np.__version__}, pandas {pd.__version__}")
    print("| fit | cali-reg | scikit-learn | ratio |")
    print("|---|--:|--:|--:|")
    from threadpoolctl import threadpool_limits

    for what, data in [("C-ordered array", X), ("pandas DataFrame", frame), ("a longer DataFrame's first rows (`iloc[:16512]`)", head)]:
        ours, theirs = median_ms([cali_reg.LinearRegression, LinearRegression], data, y)
        print(f"| California's training split, 16,512 × 8, {what} (median of 50) | {ours:.3f} ms | {theirs:.2f} ms | {theirs / ours:.1f}× |")
    for what, data in [("C-ordered array", X), ("pandas DataFrame", frame)]:
        (ours,), (theirs,) = median_ms([cali_reg.LinearRegression], data, y), median_ms([LinearRegression], data, y)
        print(f"| the same, {what}, each library's 50 fits in a row | {ours:.3f} ms | {theirs:.2f} ms | {theirs / ours:.1f}× |")
    with threadpool_limits(limits=1):  # scikit-learn's LAPACK on one thread: faster here
        for what, data in [("C-ordered array", X), ("pandas DataFrame", frame)]:
            ours, theirs = median_ms([cali_reg.LinearRegression, LinearRegression], data, y)
            print(f"| the same, {what}, BLAS limited to one thread | {ours:.3f} ms | {theirs:.2f} ms | {theirs / ours:.1f}× |")
    (with_summary,) = median_ms([lambda: _Summarised(cali_reg.LinearRegression())], frame, y)
    print(f"| the same DataFrame, fit and `bse_`, `pvalues_` read | {with_summary:.3f} ms | | |")
    results = {}
    for which in ("cali-reg", "scikit-learn"):
        out = subprocess.run([sys.executable, __file__, "--big", which], capture_output=True, text=True, check=True)
        results[which] = [float(v) for v in out.stdout.split()]
    (ts, bs, added_s, inp), (tk, bk, added_k, _) = results["cali-reg"], results["scikit-learn"]
    print(f"| 10⁷ × 8 in memory (one fit, own process) | {ts:.2f} s | {tk:.2f} s | {tk / ts:.0f}× |")
    print(f"| memory the fit adds to X and y ({inp:.0f} MiB) | {added_s:.0f} MiB ({100 * added_s / inp:.1f}%) | {added_k:.0f} MiB ({100 * added_k / inp:.0f}%) | |")
    print(f"| resident before the fit (interpreter, libraries, X, y) | {bs:.0f} MiB | {bk:.0f} MiB | |")


if __name__ == "__main__":
    if sys.argv[1] == "--big":
        big(sys.argv[2])
    else:
        main(sys.argv[1])
