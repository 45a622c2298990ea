#!/usr/bin/env python
"""Time two builds of descent side by side, interleaved, on the bench rows.

    pip install --no-deps --target /tmp/old-build <a wheel or checkout of the old code>
    pip install --no-deps --target /tmp/new-build .
    python bench/compare_builds.py old=/tmp/old-build new=/tmp/new-build

Each repeat runs every row once in a fresh process per build (``PYTHONPATH``
set to the build's directory), the builds alternating, so that the machine's
noise slows both alike; the report gives each row's median time per build and
the median of the per-repeat ratios (second build / first). Rows: per-sample
SGD (shuffled and in storage order) and Adam, mini-batch SGD and Adam (256),
full batch, at bench_sgd.py's three shapes; and per-sample sparse steps (SGD,
lazy Adam, lazy Adagrad) at 200,000 x 10,000 with 20 non-zeros per row.
Times are nanoseconds per sample per epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from statistics import median

# One process runs every row once and prints {row: ns/sample/epoch}.
WORKER = r"""
import json, sys, time
import numpy as np, scipy.sparse as sp
from descent import SGDRegressor
quick = sys.argv[1] == "quick"
out = {}
shapes = [(400_000, 10), (80_000, 100), (8_000, 1000)] if quick else \
         [(1_000_000, 10), (200_000, 100), (20_000, 1000)]
def timed(name, X, y, epochs, **kw):
    est = SGDRegressor(max_iter=epochs, tol=None, random_state=0, alpha=1e-4,
                       learning_rate="constant", **kw)
    t = time.perf_counter()
    est.fit(X, y)
    out[name] = (time.perf_counter() - t) / (epochs * X.shape[0]) * 1e9
for n, d in shapes:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
    eta = max(1e-4, 0.01 / d)
    tag = f"{n // 1000}k x {d}"
    timed(f"sgd per-sample, {tag}", X, y, 3, eta0=eta)
    timed(f"sgd storage order, {tag}", X, y, 3, eta0=eta, shuffle=False)
    timed(f"adam per-sample, {tag}", X, y, 3, optimizer="adam", eta0=1e-3)
    timed(f"sgd batch 256, {tag}", X, y, 3, batch_size=256, eta0=0.05)
    timed(f"adam batch 256, {tag}", X, y, 3, optimizer="adam", batch_size=256, eta0=0.01)
    timed(f"full batch, {tag}", X, y, 20, batch_size=None, eta0=0.5)
rng = np.random.default_rng(1)
n, d, nnz = (50_000 if quick else 200_000), 10_000, 20
cols = rng.integers(0, d, size=n * nnz)
Xs = sp.csr_matrix((rng.standard_normal(n * nnz), cols, np.arange(0, n * nnz + 1, nnz)),
                   shape=(n, d))
Xs.sum_duplicates()
ys = Xs @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
timed("sparse sgd per-sample", Xs, ys, 3, eta0=0.01)
timed("sparse adam lazy", Xs, ys, 3, optimizer="adam", eta0=1e-3)
timed("sparse adagrad lazy", Xs, ys, 3, optimizer="adagrad", eta0=0.05)
print(json.dumps(out))
"""


def run(path, quick):
    env = dict(os.environ, PYTHONPATH=path, OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", WORKER, "quick" if quick else "full"],
                          env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("builds", nargs=2, help="NAME=DIRECTORY (a pip --target install)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smaller shapes")
    args = ap.parse_args(argv)
    builds = [b.split("=", 1) for b in args.builds]
    times = {name: [] for name, _ in builds}
    for r in range(args.repeats):
        order = builds if r % 2 == 0 else builds[::-1]
        for name, path in order:
            times[name].append(run(path, args.quick))
        print(f"repeat {r + 1}/{args.repeats} done", file=sys.stderr)
    (a, _), (b, _) = builds
    rows = list(times[a][0])
    print(f"| row | {a} ns | {b} ns | {b} / {a} (median of per-repeat ratios) |")
    print("|---|---|---|---|")
    for row in rows:
        ta = [t[row] for t in times[a]]
        tb = [t[row] for t in times[b]]
        ratio = median(y / x for x, y in zip(ta, tb))
        print(f"| {row} | {median(ta):,.1f} | {median(tb):,.1f} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
