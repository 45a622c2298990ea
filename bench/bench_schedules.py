"""The cost of a descent.schedules object as an estimator's learning_rate.

Per-sample SGD on 1,000,000 x 10 (default; --shape), E epochs per fit with
tol=None: a string schedule against schedule objects, per update (the kernel
reads each update's step from a table filled before each epoch by the
schedule's closed form) and per epoch. Interleaved repeats, each repeat
running every configuration once in an order rotated from one repeat to the
next; the report is the median time per epoch and the median of the
per-repeat ratios to the string, in wall-clock and in CPU time (both
threads: the next epoch's table is computed on a helper thread during the
current epoch, which saves wall-clock time only where a core is free). Also
the time of the table alone (one epoch's learning rates, filled as the
estimator fills it), and LambdaLR's, which calls its function once per step
in Python.

    python bench/bench_schedules.py [--repeats 7] [--epochs 5] [--shape 1000000x10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from descent import SGDRegressor
from descent._lr_drive import UpdateSchedule
from descent.schedules import CosineAnnealingLR, ExponentialLR, LambdaLR, OneCycleLR


def configs(n, epochs):
    updates = n * epochs
    return {
        "'constant' (string)": "constant",
        "ExponentialLR(1), per update": ExponentialLR(gamma=1.0, unit="update"),
        "CosineAnnealingLR, per update": CosineAnnealingLR(T_max=updates, unit="update"),
        "OneCycleLR, per update": OneCycleLR(max_lr=0.01, total_steps=updates,
                                             cycle_momentum=False),
        "CosineAnnealingLR, per epoch": CosineAnnealingLR(T_max=epochs),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--shape", default="1000000x10")
    parser.add_argument("--optimizer", default="sgd")
    args = parser.parse_args()
    n, d = (int(v) for v in args.shape.split("x"))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + rng.normal(size=n)
    cases = configs(n, args.epochs)
    names = list(cases)
    times = {name: [] for name in names}
    cpu = {name: [] for name in names}
    for r in range(args.repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            est = SGDRegressor(learning_rate=cases[name], eta0=0.01, max_iter=args.epochs,
                               tol=None, random_state=0, optimizer=args.optimizer)
            start, start_cpu = time.perf_counter(), time.process_time()
            est.fit(X, y)
            times[name].append((time.perf_counter() - start) / args.epochs)
            cpu[name].append((time.process_time() - start_cpu) / args.epochs)
    base, base_cpu = np.array(times[names[0]]), np.array(cpu[names[0]])
    print(f"per-sample {args.optimizer!r}, {n} x {d}, {args.epochs} epochs per fit, "
          f"{args.repeats} interleaved repeats; medians")
    print(f"{'learning_rate':32s} {'ms/epoch':>9s} {'ratio':>6s} {'cpu ms':>7s} {'ratio':>6s}")
    for name in names:
        t, c = np.array(times[name]), np.array(cpu[name])
        print(f"{name:32s} {1e3 * np.median(t):9.1f} {np.median(t / base):6.3f} "
              f"{1e3 * np.median(c):7.1f} {np.median(c / base_cpu):6.3f}")
    tables = dict(cases, **{"LambdaLR, per update": LambdaLR(lambda t: 1.0, unit="update")})
    for name in [*names[1:4], "LambdaLR, per update"]:
        table = []
        for _ in range(1 if name.startswith("Lambda") else args.repeats):
            start = time.perf_counter()
            UpdateSchedule(tables[name], 0.01).table(0, n)     # as the estimator fills it
            table.append(time.perf_counter() - start)
        print(f"  the table alone, {name}: {1e3 * np.median(table):.1f} ms per epoch")


if __name__ == "__main__":
    main()
