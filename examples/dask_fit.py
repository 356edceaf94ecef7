"""Fit on shards with Dask, score a held-out shard, save, and serve with `cali-reg serve`."""
import json, os, subprocess, tempfile, urllib.request
import dask.dataframe as dd, numpy as np, pandas as pd
from dask.distributed import Client, LocalCluster
import cali_reg, cali_reg.dask


def main():  # worker processes import this file again: the work stays under the guard
    folder = tempfile.mkdtemp()
    rng = np.random.default_rng(7)
    for i in range(9):  # nine shards of a synthetic table: y = 2·a − b + 0.5·c + 1 + noise
        x = rng.uniform(-5, 5, size=(int(rng.integers(1000, 5000)), 3))
        frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=x @ [2.0, -1.0, 0.5] + 1 + rng.normal(0, 0.1, len(x)))
        frame.to_csv(f"{folder}/{'test' if i == 8 else f'shard-{i}'}.csv", index=False)
    with LocalCluster(n_workers=2, processes=True, host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster):
        model = cali_reg.dask.fit(dd.read_csv(f"{folder}/shard-*.csv"), target="y")
    test = pd.read_csv(f"{folder}/test.csv")
    print("coefficients", model.coef_, "intercept", model.intercept_)
    print("R² on the held-out shard", model.score(test[["a", "b", "c"]], test["y"]))
    model.save(f"{folder}/linear_model.msgpack")
    server = subprocess.Popen([os.environ.get("CALI_REG_BIN", "cali-reg"), "serve", "--model", f"{folder}/linear_model.msgpack",
                               "--port", "0", "--quiet"], stderr=subprocess.PIPE, text=True)
    address = server.stderr.readline().split()[2]  # "listening on http://127.0.0.1:PORT (…)"
    body = json.dumps({"dataframe_records": test[["a", "b", "c"]].head(2).to_dict("records")}).encode()
    request = urllib.request.Request(f"{address}/invocations", body, {"Content-Type": "application/json"})
    print("served", json.load(urllib.request.urlopen(request))["predictions"])
    server.terminate()


if __name__ == "__main__":
    main()
