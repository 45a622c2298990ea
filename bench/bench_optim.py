#!/usr/bin/env python
"""One optimizer step: descent.optim against torch.optim's fastest CPU
implementation, a plain NumPy step, and one pass over the bytes the rule must
read and write.

For SGD with momentum, Adam, RMSprop and Adagrad at 1,000, 100,000 and
10,000,000 parameters (float64, or float32 with ``--dtype float32``: every
array of every contender in that dtype), on one thread
(torch.set_num_threads(1)):

- ``descent``: ``opt.step(params, grad)``, the public call (scan + pass);
- ``pass only``: the same compiled update without the scan for bad values
  (``OptimStep.step(..., mode=2)``): what the scan costs;
- ``torch``: ``fused=True`` where torch has a fused CPU kernel for the rule,
  else ``foreach=True`` (said in the table);
- ``numpy``: the rule in NumPy with in-place operations and preallocated
  buffers;
- ``bytes``: in-place NumPy passes that read the arrays the rule must read
  and write those it must write, once each (Adam: read params, grad, exp_avg,
  exp_avg_sq; write params, exp_avg, exp_avg_sq) -- the memory-traffic floor.

Each measurement is the median of ``--repeats`` rounds, the contenders of a
size interleaved in every round (the machine is shared and noisy). A last
table gives the per-call overhead at 10 parameters.

    python bench/bench_optim.py [--repeats 15] [--sizes 1000 100000 10000000]
                                [--dtype float64|float32]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from descent import optim

try:
    import torch
except ImportError:     # the torch columns are left out
    torch = None

RULES = {
    # name: (descent optimizer, torch class name, torch options, touched arrays)
    "SGD momentum": (lambda: optim.SGD(lr=1e-3, momentum=0.9), "SGD",
                     {"lr": 1e-3, "momentum": 0.9}, (1, 1)),
    "Adam": (lambda: optim.Adam(lr=1e-3), "Adam", {"lr": 1e-3}, (2, 2)),
    "RMSprop": (lambda: optim.RMSprop(lr=1e-3), "RMSprop", {"lr": 1e-3}, (1, 1)),
    "Adagrad": (lambda: optim.Adagrad(lr=1e-3), "Adagrad", {"lr": 1e-3}, (1, 1)),
}


def numpy_step(name, n, dtype):
    """A closure stepping (p, g) by rule ``name`` in NumPy, state preallocated."""
    s0, s1, tmp = np.zeros(n, dtype), np.zeros(n, dtype), np.empty(n, dtype)
    t = [0]

    def sgd(p, g):
        t[0] += 1
        if t[0] == 1:
            np.copyto(s0, g)
        else:
            np.multiply(s0, 0.9, out=s0)
            np.add(s0, g, out=s0)
        np.multiply(s0, 1e-3, out=tmp)
        p -= tmp

    def adam(p, g):
        t[0] += 1
        np.multiply(s0, 0.9, out=s0)
        np.multiply(g, 0.1, out=tmp)
        np.add(s0, tmp, out=s0)
        np.multiply(s1, 0.999, out=s1)
        np.multiply(g, g, out=tmp)
        np.multiply(tmp, 0.001, out=tmp)
        np.add(s1, tmp, out=s1)
        np.sqrt(s1, out=tmp)
        np.divide(tmp, np.sqrt(1 - 0.999 ** t[0]), out=tmp)
        np.add(tmp, 1e-8, out=tmp)
        np.divide(s0, tmp, out=tmp)
        np.multiply(tmp, 1e-3 / (1 - 0.9 ** t[0]), out=tmp)
        p -= tmp

    def rmsprop(p, g):
        np.multiply(s0, 0.99, out=s0)
        np.multiply(g, g, out=tmp)
        np.multiply(tmp, 0.01, out=tmp)
        np.add(s0, tmp, out=s0)
        np.sqrt(s0, out=tmp)
        np.add(tmp, 1e-8, out=tmp)
        np.divide(g, tmp, out=tmp)
        np.multiply(tmp, 1e-3, out=tmp)
        p -= tmp

    def adagrad(p, g):
        np.multiply(g, g, out=tmp)
        np.add(s0, tmp, out=s0)
        np.sqrt(s0, out=tmp)
        np.add(tmp, 1e-10, out=tmp)
        np.divide(g, tmp, out=tmp)
        np.multiply(tmp, 1e-3, out=tmp)
        p -= tmp

    return {"SGD momentum": sgd, "Adam": adam, "RMSprop": rmsprop, "Adagrad": adagrad}[name]


def bytes_pass(touched, n, dtype):
    """In-place passes reading params, grad and the state rows and writing
    params and the state rows, each once."""
    rng = np.random.default_rng(1)
    p, g = rng.random(n).astype(dtype), rng.random(n).astype(dtype)
    rows = [rng.random(n).astype(dtype) for _ in range(touched[0])]

    def run():
        np.add(p, g, out=p)             # read p, g; write p
        for r in rows:
            np.negative(r, out=r)       # read r; write r

    return run


def torch_step(cls_name, options, n, dtype):
    """(closure, implementation name): torch's fused CPU step if it has one
    for the rule, else foreach."""
    tdtype = getattr(torch, np.dtype(dtype).name)
    p = torch.zeros(n, dtype=tdtype, requires_grad=True)
    p.grad = torch.rand(n, dtype=tdtype)
    cls = getattr(torch.optim, cls_name)
    for impl in ("fused", "foreach"):
        try:
            opt = cls([p], **options, **{impl: True})
            opt.step()
        except (RuntimeError, TypeError, ValueError):
            continue
        return opt.step, impl
    opt = cls([p], **options)
    return opt.step, "single-tensor"


def contenders(name, n, dtype=np.float64):
    make, cls_name, options, touched = RULES[name]
    rng = np.random.default_rng(0)
    p, g = rng.random(n).astype(dtype), (rng.random(n) - 0.5).astype(dtype)
    opt = make()
    opt.step(p, g)
    kernel, lr = opt._compiled
    state, steps = opt._state, opt._steps
    q, r, numpy_fn = p.copy(), p.copy(), numpy_step(name, n, dtype)
    out = {
        "descent": lambda: opt.step(p, g),
        "pass only": lambda: kernel.step(lr, [q], [g], [state], steps, 2),
        "numpy": lambda: numpy_fn(r, g),
    }
    impl = None
    if torch is not None:
        out["torch"], impl = torch_step(cls_name, options, n, dtype)
    if n >= 10_000_000:
        out["bytes"] = bytes_pass(touched, n, dtype)
    return out, impl


def measure(fns, repeats):
    times = {k: [] for k in fns}
    for f in fns.values():
        f()                                     # warm up
    for _ in range(repeats):
        for k, f in fns.items():                # interleaved
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def fmt(seconds):
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} us"


def overhead(repeats, dtype):
    """Per-call time of a step of 10 parameters (descent, torch, NumPy)."""
    rows = []
    for name in RULES:
        fns, impl = contenders(name, 10, dtype)
        fns.pop("pass only")
        calls = {}
        for k, f in fns.items():
            def many(f=f):
                for _ in range(1000):
                    f()
            calls[k] = many
        med = measure(calls, repeats)
        rows.append((name, impl, {k: v / 1000 for k, v in med.items()}))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000, 10_000_000])
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    args = parser.parse_args(argv)
    dtype = np.dtype(args.dtype)
    print(f"{args.dtype} parameters\n")
    if torch is not None:
        torch.set_num_threads(1)
    print("| rule | n | descent | pass only | torch (impl) | numpy | bytes | "
          "descent / torch | descent / bytes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        for name in RULES:
            fns, impl = contenders(name, n, dtype)
            reps = args.repeats if n < 10_000_000 else max(5, args.repeats // 2)
            if n <= 1000:
                reps *= 20
            med = measure(fns, reps)
            d = med["descent"]
            t = med.get("torch")
            b = med.get("bytes")
            print(f"| {name} | {n:,} | {fmt(d)} | {fmt(med['pass only'])} | "
                  f"{fmt(t) + f' ({impl})' if t else '-'} | {fmt(med['numpy'])} | "
                  f"{fmt(b) if b else '-'} | {d / t if t else float('nan'):.2f} | "
                  f"{f'{d / b:.2f}' if b else '-'} |", flush=True)
    print("\nPer call at 10 parameters:\n")
    print("| rule | descent | torch (impl) | numpy |")
    print("|---|---:|---:|---:|")
    for name, impl, med in overhead(args.repeats, dtype):
        print(f"| {name} | {fmt(med['descent'])} | "
              f"{fmt(med['torch']) + f' ({impl})' if 'torch' in med else '-'} | "
              f"{fmt(med['numpy'])} |", flush=True)


if __name__ == "__main__":
    main()
