"""
Time per sample: descent, scikit-learn and NumPy
================================================

A small version of ``bench/bench_sgd.py``, run on the machine that built this
page: the time per sample and epoch of per-sample SGD in descent, in
scikit-learn's ``SGDRegressor`` (the same algorithm) and in a NumPy loop;
per-sample Adam in descent and in NumPy; and descent's mini-batch and
full-batch steps. Each time is the best of three; the benchmark page has the
full measurements and how to rerun them.
"""

# %%
# The data and the timer
# ----------------------
# 100,000 x 50 standard normal features and a linear target with noise; a
# constant step, the L2 penalty, ``tol=None`` so that every fit runs a fixed
# number of epochs: 5 per sample, 20 for the batch modes (whose epochs are
# cheap, so that a fit's fixed costs weigh as little).

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDRegressor

import descent

rng = np.random.default_rng(0)
n, d, epochs = 100_000, 50, 5
X = rng.standard_normal((n, d))
y = X @ rng.normal(0, 1, d) + rng.standard_normal(n)


def ns_per_sample(fit, rows, n_epochs):
    """Best of three: nanoseconds per sample and epoch."""
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        fit()
        best = min(best, time.perf_counter() - start)
    return best / (rows * n_epochs) * 1e9


settings = dict(learning_rate="constant", eta0=0.002, alpha=1e-4, tol=None,
                max_iter=epochs, random_state=0)

# %%
# The same per-sample algorithms in NumPy, one row at a time (on the first
# 2,000 rows: the loop costs the same per sample on any number of rows).


def numpy_sgd(X, y, eta=0.002, alpha=1e-4):
    w, b = np.zeros(X.shape[1]), 0.0
    for i in np.random.default_rng(0).permutation(len(X)):
        r = X[i] @ w + b - y[i]
        w -= eta * (r * X[i] + alpha * w)
        b -= eta * r
    return w, b


def numpy_adam(X, y, lr=0.002, alpha=1e-4, betas=(0.9, 0.999), eps=1e-8):
    theta = np.zeros(X.shape[1] + 1)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    for t, i in enumerate(np.random.default_rng(0).permutation(len(X)), start=1):
        r = X[i] @ theta[:-1] + theta[-1] - y[i]
        g = np.append(r * X[i] + alpha * theta[:-1], r)
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        theta -= lr * (m / (1 - betas[0] ** t)) / (np.sqrt(v / (1 - betas[1] ** t)) + eps)
    return theta


small = slice(0, 2_000)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)      # max_iter is the point
    times = {
        "descent SGD, per sample": ns_per_sample(
            lambda: descent.SGDRegressor(**settings).fit(X, y), n, epochs),
        "scikit-learn SGD, per sample": ns_per_sample(
            lambda: SGDRegressor(**settings).fit(X, y), n, epochs),
        "NumPy SGD loop, per sample": ns_per_sample(
            lambda: numpy_sgd(X[small], y[small]), 2_000, 1),
        "descent Adam, per sample": ns_per_sample(
            lambda: descent.SGDRegressor(optimizer="adam", **settings).fit(X, y), n, epochs),
        "NumPy Adam loop, per sample": ns_per_sample(
            lambda: numpy_adam(X[small], y[small]), 2_000, 1),
        "descent Adam, mini-batch 256": ns_per_sample(
            lambda: descent.SGDRegressor(optimizer="adam", batch_size=256,
                                         **{**settings, "max_iter": 20}).fit(X, y), n, 20),
        "descent full batch": ns_per_sample(
            lambda: descent.SGDRegressor(batch_size=None,
                                         **{**settings, "max_iter": 20}).fit(X, y), n, 20),
    }

for name, ns in times.items():
    print(f"{name:30} {ns:9,.0f} ns per sample and epoch")
print(f"\nscikit-learn / descent (per-sample SGD): "
      f"{times['scikit-learn SGD, per sample'] / times['descent SGD, per sample']:.1f}x")

# %%
# The chart
# ---------
# Log scale: the NumPy loops pay Python's interpreter at every sample.

fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
names = list(times)
colors = ["tab:green" if name.startswith("descent") else "tab:gray" for name in names]
ax.barh(names, [times[name] for name in names], color=colors)
for i, name in enumerate(names):
    ax.text(times[name] * 1.1, i, f"{times[name]:,.0f}", va="center", fontsize=8)
ax.set(xscale="log", xlabel="ns per sample and epoch (log scale; lower is faster)",
       title=f"{n:,} x {d} float64, one thread")
ax.set_xlim(right=max(times.values()) * 4)
ax.invert_yaxis()
plt.show()
