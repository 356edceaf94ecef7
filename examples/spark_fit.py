"""Fit on shards with Spark (local[2]), score a held-out shard, save, and serve with `cali-reg serve`."""
import json, os, subprocess, sys, tempfile, urllib.request
import numpy as np, pandas as pd
from pyspark.sql import SparkSession
import cali_reg, cali_reg.spark

folder = tempfile.mkdtemp()
os.makedirs(f"{folder}/shards")
rng = np.random.default_rng(7)
for i in range(9):  # nine shards of a synthetic table: y = 2·a − b + 0.5·c + 1 + noise
    x = rng.uniform(-5, 5, size=(int(rng.integers(1000, 5000)), 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=x @ [2.0, -1.0, 0.5] + 1 + rng.normal(0, 0.1, len(x)))
    frame.to_csv(f"{folder}/test.csv" if i == 8 else f"{folder}/shards/shard-{i}.csv", index=False)
os.environ.update(PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
spark = SparkSession.builder.master("local[2]").config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false").getOrCreate()
model = cali_reg.spark.fit(spark.read.csv(f"{folder}/shards", header=True, inferSchema=True), target="y")
spark.stop()
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
