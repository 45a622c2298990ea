"""
Training on a Dask cluster
==========================

:func:`descent.dask.fit_dask` trains a :class:`descent.SGDRegressor` on a
Dask array where its blocks are: every epoch each worker runs the compiled
kernel over the row blocks it holds, starting from the current model, and the
client averages the workers' models (iterative parameter mixing). Only the
model, a few vectors of ``n_features + 1``, crosses the network.

Here the cluster is a ``LocalCluster`` of two workers in this process; with
a real cluster only the ``Client`` line changes. The same estimator is also
fitted in memory, for comparison.
"""

# %%
# A cluster and data in blocks of rows
# ------------------------------------
# 100,000 x 20 standard normal features in 8 blocks of 12,500 rows, and a
# linear target with noise, drawn where they will stay.

import time

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster

import descent
from descent.dask import fit_dask

cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                       dashboard_address=":0")
client = Client(cluster)

rng = da.random.default_rng(0)              # the blocks are drawn on the workers
n, d = 100_000, 20
w = np.linspace(-2, 2, d)
X = rng.standard_normal((n, d), chunks=(12_500, d))
y = X @ w + 3.0 + rng.standard_normal(n, chunks=12_500)
X, y = client.persist([X, y])
X_np, y_np = X.compute(), y.compute()      # the same rows in memory, to compare
print(f"X: {X.shape} in {X.numblocks[0]} row blocks on {len(client.scheduler_info()['workers'])} "
      "workers")

# %%
# Fit on the cluster, and in memory
# ---------------------------------
# The estimator's parameters configure both fits, its stopping rule included.
# The result of ``fit_dask`` is a plain fitted ``SGDRegressor``: it predicts,
# pickles and goes on with ``partial_fit`` without Dask.

start = time.perf_counter()
on_cluster = fit_dask(descent.SGDRegressor(optimizer="adam", random_state=0), X, y)
cluster_seconds = time.perf_counter() - start

start = time.perf_counter()
in_memory = descent.SGDRegressor(optimizer="adam", random_state=0).fit(X_np, y_np)
memory_seconds = time.perf_counter() - start

for name, model, seconds in [("fit_dask", on_cluster, cluster_seconds),
                             ("fit, in memory", in_memory, memory_seconds)]:
    print(f"{name:15} {model.n_iter_:3d} epochs  {seconds:5.2f} s  "
          f"objective {model.loss_curve_[-1]:.5f}  R² {model.score(X_np, y_np):.5f}")

client.close()
cluster.close()

# %%
# Each epoch of ``fit_dask`` mixes two models that each saw half the rows:
# about the progress of one model over half the data, with less noise. It
# needs a few more epochs than an in-memory fit and ends at the same
# objective. The plateaus and drops of both curves are the ``"adaptive"``
# schedule (Adam's default per sample) dividing the step by 5 when the
# objective stops improving; the floor is the noise's variance over 2. On one
# machine the cluster's scheduling costs more time than it
# saves; the point is data that does not fit on one machine.

fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
for name, model in [("fit_dask, 2 workers", on_cluster), ("fit, in memory", in_memory)]:
    ax.plot(np.arange(1, model.n_iter_ + 1), model.loss_curve_, marker=".", label=name)
ax.set(xlabel="epoch", ylabel="training objective (loss_curve_)", yscale="log",
       title="Adam on 100,000 x 20 rows")
ax.legend()
plt.show()
