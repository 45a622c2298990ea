#!/usr/bin/env python
"""n_jobs=2 against n_jobs=1: Hogwild! per-sample SGD and threaded full-batch
gradients, with the final objective of each (speed without the same answer is
not speed). Interleaved repeats, medians; prints a markdown table. Dense
20,000 x 1000 (--quick: 8,000 x 1000), and for Hogwild! on CSR rows 200,000 x
100,000 with 20 non-zeros per row (--quick: 50,000 rows).

    python bench/bench_threads.py [--quick]
"""

import argparse
import ctypes
import statistics
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import descent

# The machine's own scaling, on 1 and 2 OpenMP threads: an embarrassingly
# parallel C loop (no shared writes, no memory traffic), and a parallel sum
# over X in a random row order (the memory traffic of a per-sample epoch, no
# compute). A speed-up of n_jobs=2 cannot exceed what these show.
CONTROL_C = r"""
#include <omp.h>
double control(long n, int threads) {
    double s = 0.0;
    #pragma omp parallel for num_threads(threads) reduction(+:s) schedule(static)
    for (long i = 0; i < n; ++i) s += (double)i * 1e-9 * (double)(i & 1023);
    return s;
}
double rows(const double* X, const int* order, long n, long d, int threads) {
    double s = 0.0;
    #pragma omp parallel for num_threads(threads) reduction(+:s) schedule(static)
    for (long k = 0; k < n; ++k) {
        const double* x = X + (long)order[k] * d;
        for (long j = 0; j < d; ++j) s += x[j];
    }
    return s;
}
"""


def control_speedup(repeats, X):
    """Median time ratios 1 thread / 2 threads of CONTROL_C's compute loop and
    of its random-order pass over the rows of X, or None without cc."""
    with tempfile.TemporaryDirectory() as tmp:
        src, lib = Path(tmp, "control.c"), Path(tmp, "control.so")
        src.write_text(CONTROL_C)
        try:
            subprocess.run(["cc", "-O2", "-fopenmp", "-shared", "-fPIC", str(src), "-o",
                            str(lib)], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            return None
        so = ctypes.CDLL(str(lib))
        so.control.restype = so.rows.restype = ctypes.c_double
        so.control.argtypes = [ctypes.c_long, ctypes.c_int]
        so.rows.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long,
                            ctypes.c_long, ctypes.c_int]
        order = np.random.default_rng(1).permutation(X.shape[0]).astype(np.int32)
        ratios = {"compute": [], "rows": []}
        for _ in range(repeats):
            for name, call in (("compute", lambda t: so.control(200_000_000, t)),
                               ("rows", lambda t: so.rows(X.ctypes.data, order.ctypes.data,
                                                          X.shape[0], X.shape[1], t))):
                seconds = []
                for threads in (1, 2):
                    start = time.perf_counter()
                    call(threads)
                    seconds.append(time.perf_counter() - start)
                ratios[name].append(seconds[0] / seconds[1])
        return {k: statistics.median(v) for k, v in ratios.items()}


def sparse_data(n, d, nnz, rng):
    cols = rng.integers(0, d, size=(n, nnz))        # repeats are summed by descent
    X = sp.csr_matrix((rng.standard_normal(n * nnz), cols.ravel(),
                       np.arange(0, (n + 1) * nnz, nnz)), shape=(n, d))
    X.sum_duplicates()
    return X, X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)


def objective(model, X, y, alpha):
    r = X @ model.coef_ + model.intercept_[0] - y
    return 0.5 * np.mean(r * r) + 0.5 * alpha * model.coef_ @ model.coef_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, 3 repeats")
    args = parser.parse_args()
    n, d, repeats = (8_000, 1000, 3) if args.quick else (20_000, 1000, 5)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) / np.sqrt(d) + 0.1 * rng.standard_normal(n)
    alpha = 1e-4
    Xs, ys = sparse_data(50_000 if args.quick else 200_000, 100_000, 20, rng)
    modes = {
        "per-sample SGD (Hogwild! with 2)": dict(learning_rate="constant", eta0=1e-4,
                                                 max_iter=5),
        # a decaying step, so that the objective compared is a final one (at a
        # constant step per-sample Adam stays in a noise band that threads widen)
        "per-sample Adam (Hogwild! with 2)": dict(optimizer="adam", eta0=1e-3,
                                                  learning_rate="invscaling",
                                                  power_t=0.5, max_iter=20),
        "full batch": dict(batch_size=None, learning_rate="constant", eta0=0.5,
                           max_iter=20),
        "mini-batch 256": dict(batch_size=256, learning_rate="constant", eta0=0.05,
                               max_iter=5),
        "sparse, per-sample SGD (Hogwild! with 2)": dict(
            learning_rate="constant", eta0=1e-3, max_iter=3, sparse=True),
        "sparse, per-sample Adam (Hogwild! with 2)": dict(
            optimizer="adam", eta0=1e-3, learning_rate="constant", max_iter=3, sparse=True),
    }
    print(f"# n_jobs=2 vs n_jobs=1, {n:,} x {d} dense float64, {repeats} repeats, "
          f"OpenMP {descent.show_config(print_out=False)['openmp']}\n")
    control = control_speedup(repeats, X)
    if control is not None:
        print(f"Machine controls, 2 threads / 1 thread: a parallel C compute loop (no "
              f"shared data) {control['compute']:.2f}x; a parallel pass over X's "
              f"rows in a random order (memory traffic only) {control['rows']:.2f}x.\n")
    print("| mode | n_jobs=1 ns/sample/epoch | n_jobs=2 | speed-up | objective 1 | "
          "objective 2 | rel. diff |")
    print("|---|---|---|---|---|---|---|")
    for name, mode in modes.items():
        params = dict(mode)
        Xm, ym = (Xs, ys) if params.pop("sparse", False) else (X, y)
        times = {1: [], 2: []}
        objectives = {}
        for _ in range(repeats):
            for n_jobs in (1, 2):
                model = descent.SGDRegressor(alpha=alpha, tol=None, random_state=0,
                                             n_jobs=n_jobs, **params)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    start = time.perf_counter()
                    model.fit(Xm, ym)
                    times[n_jobs].append(time.perf_counter() - start)
                # scored with NumPy's BLAS on one thread: its threads busy-wait
                # for ~0.1 s after a call and would compete with the next fit's
                with threadpool_limits(limits=1, user_api="blas"):
                    objectives[n_jobs] = objective(model, Xm, ym, alpha)
        ns = {k: statistics.median(v) / (Xm.shape[0] * params["max_iter"]) * 1e9
              for k, v in times.items()}
        speedup = statistics.median(a / b for a, b in zip(times[1], times[2]))
        rel = objectives[2] / objectives[1] - 1
        print(f"| {name} | {ns[1]:.0f} | {ns[2]:.0f} | {speedup:.2f}x | "
              f"{objectives[1]:.6f} | {objectives[2]:.6f} | {rel:+.1e} |")


if __name__ == "__main__":
    main()
