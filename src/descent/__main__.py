"""``python -m descent``: a first look at accuracy and speed.

Fits descent.SGDRegressor on scikit-learn's bundled diabetes data and on a
synthetic 200,000 x 100 problem (both standardized), and prints R^2, the
relative gap of the final objective to the exact optimum (closed-form ridge),
the epochs run, and the time per epoch next to a pure-NumPy per-sample loop
of the same algorithm on the same data.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from . import SGDRegressor, show_config


def ridge_objective(X, y, coef, intercept, alpha):
    r = X @ coef + intercept - y
    return 0.5 * np.mean(r * r) + 0.5 * alpha * coef @ coef


def numpy_sgd_epoch(X, y, w, b, order, t, eta0, power_t, alpha):
    """One epoch of scikit-learn's per-sample SGD (squared loss, L2,
    invscaling) written the way one would in NumPy."""
    for i in order:
        eta = eta0 / t**power_t
        dloss = X[i] @ w + b - y[i]
        w *= 1.0 - eta * alpha
        w -= eta * dloss * X[i]
        b -= eta * dloss
        t += 1
    return w, b, t


def run(name, X, y, numpy_rows, rows, alpha=1e-4):
    n = X.shape[0]
    ridge = Ridge(alpha=n * alpha).fit(X, y)
    best = ridge_objective(X, y, ridge.coef_, ridge.intercept_, alpha)

    # The NumPy loop of the same algorithm, timed on one epoch over a subset
    # (it is slow), reported per sample.
    rng = np.random.default_rng(0)
    sub = rng.permutation(n)[:numpy_rows]
    start = time.perf_counter()
    numpy_sgd_epoch(X, y, np.zeros(X.shape[1]), 0.0, sub, 1.0, 0.01, 0.25, alpha)
    numpy_ns = (time.perf_counter() - start) / len(sub) * 1e9

    for label, params in rows:
        # best of 3 fits: a 442-row fit takes about a millisecond, so the first
        # call's one-off costs (imports, caches) would dominate a single timing
        seconds = np.inf
        for _ in range(3):
            model = SGDRegressor(alpha=alpha, random_state=0, **params)
            start = time.perf_counter()
            model.fit(X, y)
            seconds = min(seconds, time.perf_counter() - start)
        gap = ridge_objective(X, y, model.coef_, model.intercept_[0], alpha) / best - 1
        ns = seconds / (model.n_iter_ * n) * 1e9
        speedup = f"{numpy_ns / ns:8.0f}x" if params.get("batch_size", 1) == 1 else "     n/a"
        print(f"| {name:<18} | {label:<24} | {model.score(X, y):6.4f} | {gap:9.2e} "
              f"| {model.n_iter_:6d} | {seconds:7.3f} | {ns:9.1f} | {numpy_ns:9.0f} "
              f"| {speedup} |")


def main():
    show_config()
    print()
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    rng = np.random.default_rng(0)
    Xs = rng.standard_normal((200_000, 100))
    ys = Xs @ rng.standard_normal(100) + rng.standard_normal(200_000)

    print("| data               | descent settings         |     R2 |  obj. gap "
          "| epochs | fit (s) | ns/sample | NumPy ns/sample | speed-up |")
    print("|--------------------|--------------------------|--------|-----------"
          "|--------|---------|-----------|-----------------|----------|")
    rows = [
        ("defaults (sgd)", {}),
        ("sgd, average=True", {"average": True}),
        ("adam, batch 32, average", {"optimizer": "adam", "batch_size": 32,
                                     "eta0": 0.03, "learning_rate": "constant",
                                     "average": True, "max_iter": 300, "tol": None}),
    ]
    run("diabetes 442x10", X, y, 442, rows)
    run("synthetic 200kx100", Xs, ys, 20_000, rows[:2])
    print("\nobj. gap: relative gap of the training objective (mean squared error / 2"
          " + alpha/2 |w|^2) to the exact optimum (closed-form ridge).")
    print("speed-up: NumPy per-sample loop of the same algorithm / descent, per "
          "sample and epoch.")


if __name__ == "__main__":
    main()
