#!/usr/bin/env python
"""The kernels' CPU variants side by side: per-sample update rules against SGD.

    python bench/bench_simd.py                      # every variant this machine can use
    python bench/bench_simd.py baseline avx512      # some of them
    python bench/bench_simd.py avx512 fma=/tmp/other-build@avx512   # another build too
    python bench/bench_simd.py --quick              # smaller shapes, 3 repeats

A build is VARIANT (the installed descent with DESCENT_SIMD=VARIANT) or
NAME=DIRECTORY@VARIANT (a ``pip install --target DIRECTORY`` build, put first
on PYTHONPATH). Each repeat runs every row once in a fresh process per build
(so the variant is chosen at import, as in use), the builds in an order
rotated from one repeat to the next so that the machine's noise slows all
alike. Rows: per-sample SGD (scikit-learn's, ``optimizer="sgd"``), Adam,
RMSprop and Adagrad at n x d = 1,000,000 x 10, 200,000 x 100 and
20,000 x 1000 (bench_sgd.py's shapes; ``--quick``: 400,000 x 10,
80,000 x 100, 8,000 x 1000), squared loss, L2 ``alpha=1e-4``, constant
learning rate, 3 epochs; and per-sample SGD on the same X in float32 (once
the kernels read float32 X in place: coef_ follows X's dtype); and
scikit-learn's SGDRegressor with the same settings on the same X, float64
and float32 (it keeps float32 too). Times are nanoseconds per sample per
epoch, medians over the repeats; a rule's cost over SGD's, and scikit-learn's
time over descent's, are the medians of the per-process ratios (both timed
in one process, one after the other).
Prints markdown tables: the times, each build over the first, and the ratios
the issue's targets are stated in (per-sample Adam <= 2x per-sample SGD;
scikit-learn / descent >= 5, 3, 2 at d = 10, 100, 1000 in either dtype).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from statistics import median

# One process: its variant, then {row: ns/sample/epoch}.
WORKER = r"""
import json, sys, time
import numpy as np
import descent
from descent import SGDRegressor, _kernels
from sklearn.linear_model import SGDRegressor as SklearnSGD
quick = sys.argv[1] == "quick"
shapes = [(400_000, 10), (80_000, 100), (8_000, 1000)] if quick else \
         [(1_000_000, 10), (200_000, 100), (20_000, 1000)]
# float32 rows only when the kernels read float32 X in place (coef_ then
# follows X's dtype); before that a float32 X was timed as a float64 copy.
float32 = SGDRegressor(max_iter=1, tol=None).fit(
    np.ones((4, 2), np.float32), np.ones(4)).coef_.dtype == np.float32
out = {}
def timed(name, X, y, epochs=3, estimator=SGDRegressor, **kw):
    est = estimator(max_iter=epochs, tol=None, random_state=0, alpha=1e-4,
                    learning_rate="constant", **kw)
    t = time.perf_counter()
    est.fit(X, y)
    out[name] = (time.perf_counter() - t) / (epochs * X.shape[0]) * 1e9
for n, d in shapes:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
    eta = max(1e-4, 0.01 / d)
    timed(f"sgd d={d}", X, y, eta0=eta)
    timed(f"adam d={d}", X, y, optimizer="adam", eta0=1e-3)
    timed(f"rmsprop d={d}", X, y, optimizer="rmsprop", eta0=1e-3)
    timed(f"adagrad d={d}", X, y, optimizer="adagrad", eta0=0.05)
    timed(f"sklearn d={d}", X, y, eta0=eta, estimator=SklearnSGD)
    if float32:
        X32 = X.astype(np.float32)
        timed(f"sgd float32 X d={d}", X32, y, eta0=eta)
        timed(f"sklearn float32 X d={d}", X32, y.astype(np.float32), eta0=eta,
              estimator=SklearnSGD)
print(json.dumps(dict(variant=_kernels.SIMD, file=descent.__file__, times=out)))
"""

RULES = ("adam", "rmsprop", "adagrad")


def parse_build(spec):
    """VARIANT or NAME=DIRECTORY@VARIANT -> (name, directory or None, variant)."""
    if "=" not in spec:
        return spec, None, spec
    name, rest = spec.split("=", 1)
    path, _, variant = rest.rpartition("@")
    if not path:
        raise SystemExit(f"{spec!r}: expected NAME=DIRECTORY@VARIANT")
    return name, path, variant


def run(build, quick):
    _, path, variant = build
    env = dict(os.environ, DESCENT_SIMD=variant, OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1")
    if path:
        env["PYTHONPATH"] = os.pathsep.join(
            [path] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    done = subprocess.run([sys.executable, "-c", WORKER, "quick" if quick else "full"],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{build[0]}: the worker failed\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine():
    cpu = platform.processor() or platform.machine()
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512dq", "avx512vl") if f in flags]
    return f"{cpu}, {os.cpu_count()} CPUs" + (f", flags {' '.join(isa)}" if isa else "")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("builds", nargs="*",
                    help="VARIANT or NAME=DIRECTORY@VARIANT (default: every variant available)")
    ap.add_argument("--repeats", type=int, default=None, help="default 5 (--quick: 3)")
    ap.add_argument("--quick", action="store_true", help="smaller shapes")
    args = ap.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 5)
    specs = args.builds
    if not specs:
        import descent

        specs = list(descent.show_config(print_out=False)["simd_available"])
    builds = [parse_build(s) for s in specs]
    names = [b[0] for b in builds]
    if len(set(names)) != len(names):
        raise SystemExit("give each build its own name (NAME=DIRECTORY@VARIANT)")
    results = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(builds)
        for build in builds[k:] + builds[:k]:
            results[build[0]].append(run(build, args.quick))
        print(f"repeat {r + 1}/{repeats} done", file=sys.stderr)

    first = names[0]
    print(f"machine: {machine()}; python {platform.python_version()}")
    for name in names:
        res = results[name][0]
        print(f"- {name}: variant {res['variant']}, {res['file']}")
    print(f"\nns/sample/epoch, medians of {repeats} interleaved repeats "
          f"({'quick' if args.quick else 'full'} shapes)\n")
    rows = list(results[first][0]["times"])
    print("| row | " + " | ".join(names) + " | "
          + " | ".join(f"{n} / {first}" for n in names[1:]) + " |")
    print("|---" * (1 + 2 * len(names) - 1) + "|")
    for row in rows:
        t = {n: [res["times"][row] for res in results[n]] for n in names}
        cells = [f"{median(t[n]):,.1f}" for n in names]
        cells += [f"{median(b / a for a, b in zip(t[first], t[n])):.3f}" for n in names[1:]]
        print(f"| {row} | " + " | ".join(cells) + " |")

    dims = [row.split("d=")[1] for row in rows if row.startswith("sgd d=")]
    print("\nper-sample rule / per-sample SGD in the same process (median of the "
          "per-process ratios; target <= 2 for Adam)\n")
    print("| rule | d | " + " | ".join(names) + " |")
    print("|---|---" + "|---" * len(names) + "|")
    for rule in RULES:
        for d in dims:
            cells = [f"{median(res['times'][f'{rule} d={d}'] / res['times'][f'sgd d={d}'] for res in results[n]):.2f}"  # noqa: E501
                     for n in names]
            print(f"| {rule} | {d} | " + " | ".join(cells) + " |")
    if any(row.startswith("sgd float32") for row in rows):
        print("\nper-sample SGD, float32 X / float64 X (median of the per-process ratios)\n")
        print("| d | " + " | ".join(names) + " |")
        print("|---" + "|---" * len(names) + "|")
        for d in dims:
            cells = [f"{median(res['times'][f'sgd float32 X d={d}'] / res['times'][f'sgd d={d}'] for res in results[n]):.3f}"  # noqa: E501
                     for n in names]
            print(f"| {d} | " + " | ".join(cells) + " |")
    print("\nscikit-learn's per-sample SGD / descent's, same X (median of the per-process "
          "ratios; target >= 5, 3, 2 at d = 10, 100, 1000)\n")
    print("| X | d | " + " | ".join(names) + " |")
    print("|---|---" + "|---" * len(names) + "|")
    for dtype, ours in (("float64", "sgd"), ("float32", "sgd float32 X")):
        prefix = "sklearn" if dtype == "float64" else "sklearn float32 X"
        for d in dims:
            if f"{prefix} d={d}" not in results[first][0]["times"]:
                continue
            cells = [f"{median(res['times'][f'{prefix} d={d}'] / res['times'][f'{ours} d={d}'] for res in results[n]):.2f}"  # noqa: E501
                     for n in names]
            print(f"| {dtype} | {d} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
