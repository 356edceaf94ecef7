"""10⁷ rows × 8 features in 16 Parquet shards: cali_reg.dask on a LocalCluster of 2 worker
processes, against pandas read_parquet + scikit-learn in one process; then the numbers behind
the arithmetic for 10¹⁰ rows: the size of one partition's statistics, the time to merge 1,000
of them, the time to solve.

    python crates/python/bench/dask_scale.py /tmp/shards      # the shards are written once
"""
import os
import resource
import subprocess
import sys
import time

import numpy as np


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_shards(folder, rows=10_000_000, shards=16):
    import pandas as pd

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1)
    for i in range(shards):
        n = rows // shards
        x = rng.uniform(-10, 10, size=(n, 8)) * np.arange(1, 9)
        frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(8)])
        frame["y"] = x @ np.tile([0.5, -1.0], 4) + 2.0 + rng.normal(0, 0.5, n)
        frame.to_parquet(f"{folder}/shard-{i:02}.parquet")


def sklearn_side(folder):
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    start = time.perf_counter()
    table = pd.read_parquet(folder)
    LinearRegression().fit(table.drop(columns="y").to_numpy(), table["y"].to_numpy())
    print(f"{time.perf_counter() - start} {peak_mib()}")


def main(folder):
    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster

    import cali_reg
    import cali_reg.dask

    if not os.path.exists(f"{folder}/shard-15.parquet"):
        write_shards(folder)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, memory_limit=None) as cluster, Client(cluster) as client:
        # Each setting twice, in turn (the first fit also warms the page cache).
        timed = {False: [], True: []}
        for distributions in (False, True, False, True):
            start = time.perf_counter()
            model = cali_reg.dask.fit(dd.read_parquet(folder), target="y", distributions=distributions)
            timed[distributions].append(time.perf_counter() - start)
        workers = client.run(peak_mib)
    out = subprocess.run([sys.executable, __file__, "--sklearn", folder], capture_output=True, text=True, check=True)
    theirs, theirs_peak = (float(v) for v in out.stdout.split())
    for distributions, ours in timed.items():
        print(f"| cali_reg.dask, 2 worker processes, distributions={distributions} | {' and '.join(f'{t:.2f}' for t in ours)} s | workers {', '.join(f'{v:.0f}' for v in workers.values())} MiB; client {peak_mib():.0f} MiB |")
    print(f"| pandas read_parquet + scikit-learn, one process | {theirs:.2f} s | {theirs_peak:.0f} MiB |")
    # The arithmetic: one partition's statistics, 1,000 of them merged, one solve.
    for distributions in (False, True):
        rng = np.random.default_rng(2)
        blobs = []
        for _ in range(1000):
            x = rng.uniform(-10, 10, size=(100, 8))
            stats = cali_reg.SufficientStats(8, distributions=distributions)
            blobs.append(stats.update(x, x.sum(axis=1) + rng.normal(0, 1, 100)).to_bytes())
        start = time.perf_counter()
        merged = cali_reg.dask.merge_bytes(*blobs)
        merge = time.perf_counter() - start
        stats = cali_reg.SufficientStats.from_bytes(merged)
        start = time.perf_counter()
        stats.fit()
        solve = time.perf_counter() - start
        print(f"distributions={distributions}: one partition's statistics: {len(blobs[0])} bytes; merging 1,000: {merge * 1e3:.1f} ms; the solve: {solve * 1e3:.3f} ms; coef[0] {model.coef_[0]:.6f}")


if __name__ == "__main__":
    if sys.argv[1] == "--sklearn":
        sklearn_side(sys.argv[2])
    else:
        main(sys.argv[1])
