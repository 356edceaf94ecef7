"""Fit on shards with Spark (local[2]), score a held-out shard, save, and serve with `cali-reg serve`."""
import os, sys, tempfile
from pyspark.sql import SparkSession
import cali_reg.spark
from common import report_save_serve, write_shards

folder = tempfile.mkdtemp()
test = write_shards(folder)
os.environ.update(PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
spark = SparkSession.builder.master("local[2]").config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false").getOrCreate()
model = cali_reg.spark.fit(spark.read.csv(f"{folder}/shards", header=True, inferSchema=True), target="y")
spark.stop()
report_save_serve(model, test, folder)
