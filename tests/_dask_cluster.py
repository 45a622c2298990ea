"""The LocalCluster the dask test modules share: two worker processes, so the
blocks really live in other address spaces. Import ``client`` into a test
module (after its ``require("distributed")``) to use it there."""

import logging

import pytest


@pytest.fixture(scope="module")
def client():
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
        silence_logs=logging.ERROR, timeout=60)
    with cluster, distributed.Client(cluster, timeout=60) as c:
        yield c
