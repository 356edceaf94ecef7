"""Fit on shards with Dask, score a held-out shard, save, and serve with `cali-reg serve`."""
import tempfile
import dask.dataframe as dd
from dask.distributed import Client, LocalCluster
import cali_reg.dask
from common import report_save_serve, write_shards


def main():  # worker processes import this file again: the work stays under the guard
    folder = tempfile.mkdtemp()
    test = write_shards(folder)
    with LocalCluster(n_workers=2, processes=True, host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster):
        model = cali_reg.dask.fit(dd.read_csv(f"{folder}/shards/shard-*.csv"), target="y")
    report_save_serve(model, test, folder)


if __name__ == "__main__":
    main()
