#!/usr/bin/env python
"""Lazy against dense per-sample update-rule steps on sparse (text-like) rows.

    python bench/bench_sparse.py            # a few minutes
    python bench/bench_sparse.py --quick    # smoke run

X is CSR with ``nnz`` non-zeros per row in uniformly random columns (values
N(0, 1)); y is linear in X plus noise. For each shape and optimizer the
estimator runs per sample (``batch_size=1``, L2 ``alpha=1e-4``, constant
``eta0``) with ``sparse_update="lazy"`` (O(nnz) per step) and ``"dense"``
(every coefficient at every step, O(n_features)). Both run in this process,
interleaved, repeat after repeat; the speed-up is the median of the
per-repeat ratios. Unit: nanoseconds per sample per epoch.

The dense mode is timed on the first ``rows_dense`` rows only (at a million
features one step costs milliseconds); "lazy, same rows" times the lazy mode
on those rows too, where its end-of-epoch catch-up of all n_features
coefficients (O(n_features) once per epoch) is spread over fewer samples.
"obj. rel. diff" is lazy's training objective (mean squared error / 2 +
alpha/2 |w|^2) relative to dense's, both fitted on those same rows.
scikit-learn's sparse per-sample SGD (and descent's, optimizer="sgd", both
O(nnz) by a weight scale), plain and averaged (``average=True``: both keep
the average lazily, O(nnz)), are timed on all rows for reference.
"""

from __future__ import annotations

import argparse
import time
import warnings
from statistics import median

import numpy as np
import scipy.sparse as sp

CONFIGS = {
    # (n_samples for lazy, rows for dense, n_features, nnz per row)
    "full": dict(shapes=[(200_000, 20_000, 10_000, 20), (200_000, 4_000, 100_000, 20),
                         (200_000, 500, 1_000_000, 20)], repeats=5, epochs=3),
    "quick": dict(shapes=[(50_000, 5_000, 10_000, 20), (50_000, 500, 200_000, 20)],
                  repeats=3, epochs=2),
}
OPTIMIZERS = [("adam", 1e-3), ("adagrad", 0.1), ("momentum", 1e-3)]
ALPHA = 1e-4


def make_data(n, d, nnz, seed=0):
    rng = np.random.default_rng(seed)
    indptr = np.arange(0, (n + 1) * nnz, nnz, dtype=np.int32)
    indices = _unique_rows(rng, n, d, nnz).ravel().astype(np.int32)
    X = sp.csr_matrix((rng.standard_normal(n * nnz), indices, indptr),
                      shape=(n, d))
    coef = rng.standard_normal(d)
    y = X @ coef + 0.1 * rng.standard_normal(n)
    return X, y


def _unique_rows(rng, n, d, nnz):
    # nnz distinct columns per row, vectorised: draw with replacement and
    # redraw the rows that repeat a column
    cols = rng.integers(0, d, size=(n, nnz))
    while True:
        s = np.sort(cols, axis=1)
        bad = (s[:, 1:] == s[:, :-1]).any(axis=1)
        if not bad.any():
            return s
        cols[bad] = rng.integers(0, d, size=(int(bad.sum()), nnz))


def objective(model, X, y):
    r = X @ model.coef_ + model.intercept_[0] - y
    return 0.5 * np.mean(r**2) + 0.5 * ALPHA * model.coef_ @ model.coef_


def timed(make, X, y, epochs):
    model = make()
    t0 = time.perf_counter()
    model.fit(X, y)
    return (time.perf_counter() - t0) / (epochs * X.shape[0]) * 1e9, model


def main(argv=None):
    from descent import SGDRegressor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int)
    args = ap.parse_args(argv)
    cfg = CONFIGS["quick" if args.quick else "full"]
    repeats, epochs = args.repeats or cfg["repeats"], cfg["epochs"]
    warnings.simplefilter("ignore")     # ConvergenceWarning: fixed epoch counts

    print(f"# lazy vs dense sparse steps: {epochs} epochs, median of {repeats} "
          "interleaved repeats, ns/sample/epoch\n")
    print("| n_features | nnz/row | optimizer | lazy | lazy, same rows | dense "
          "| speed-up (same rows) | obj. rel. diff |")
    print("|---|---|---|---|---|---|---|---|")
    for n, n_dense, d, nnz in cfg["shapes"]:
        X, y = make_data(n, d, nnz)
        Xs, ys = X[:n_dense], y[:n_dense]
        for name, eta0 in OPTIMIZERS:
            def est(mode, name=name, eta0=eta0):
                return SGDRegressor(optimizer=name, eta0=eta0, alpha=ALPHA,
                                    learning_rate="constant", max_iter=epochs, tol=None,
                                    random_state=0, sparse_update=mode)
            lazy, lazy_same, dense, ratios = [], [], [], []
            for r in range(repeats):
                runs = [("lazy", X, y), ("same", Xs, ys), ("dense", Xs, ys)]
                runs = runs[r % 3:] + runs[:r % 3]      # rotate the order
                got = {}
                for key, Xr, yr in runs:
                    got[key] = timed(lambda key=key: est("dense" if key == "dense"
                                                         else "lazy"), Xr, yr, epochs)
                lazy.append(got["lazy"][0])
                lazy_same.append(got["same"][0])
                dense.append(got["dense"][0])
                ratios.append(got["dense"][0] / got["same"][0])
            rel = (objective(got["same"][1], Xs, ys) / objective(got["dense"][1], Xs, ys)
                   - 1)
            print(f"| {d:,} | {nnz} | {name} | {median(lazy):,.0f} | "
                  f"{median(lazy_same):,.0f} | {median(dense):,.0f} | "
                  f"{median(ratios):,.0f}x | {rel:+.1e} |", flush=True)
        sgd_rows(X, y, d, nnz, repeats, epochs)


def sgd_rows(X, y, d, nnz, repeats, epochs):
    """scikit-learn's and descent's per-sample SGD, plain and averaged (both keep
    the average lazily, O(nnz) per sample), interleaved."""
    import sklearn.linear_model as sklm

    from descent import SGDRegressor

    for average in (False, True):
        kw = dict(alpha=ALPHA, learning_rate="constant", eta0=1e-3, max_iter=epochs,
                  tol=None, random_state=0, average=average)
        sk, ours = [], []
        for _ in range(repeats):
            sk.append(timed(lambda kw=kw: sklm.SGDRegressor(**kw), X, y, epochs)[0])
            ours.append(timed(lambda kw=kw: SGDRegressor(**kw), X, y, epochs)[0])
        name = "sgd, average" if average else "sgd"
        print(f"| {d:,} | {nnz} | {name} (scikit-learn / descent) | {median(sk):,.0f} / "
              f"{median(ours):,.0f} | | | | |", flush=True)


if __name__ == "__main__":
    main()
