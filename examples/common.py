"""What the two examples share: the shards they fit, and one request to `cali-reg serve`."""
import json, os, subprocess, urllib.request
import numpy as np, pandas as pd


def write_shards(folder):
    """Eight shards (in folder/shards) and a held-out one (folder/test.csv) of a synthetic
    table: y = 2·a − b + 0.5·c + 1 + noise."""
    os.makedirs(f"{folder}/shards")
    rng = np.random.default_rng(7)
    for i in range(9):
        x = rng.uniform(-5, 5, size=(int(rng.integers(1000, 5000)), 3))
        frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=x @ [2.0, -1.0, 0.5] + 1 + rng.normal(0, 0.1, len(x)))
        frame.to_csv(f"{folder}/test.csv" if i == 8 else f"{folder}/shards/shard-{i}.csv", index=False)
    return pd.read_csv(f"{folder}/test.csv")


def report_save_serve(model, test, folder):
    """Print the fit and its R² on the held-out shard, save it, and ask `cali-reg serve`."""
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
