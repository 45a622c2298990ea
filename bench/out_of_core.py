"""Out-of-core training: descent.SGDRegressor.partial_fit over chunks of a
float64 file bigger than the memory the training process may use.

The script

1. writes X (n x d, float64, C order) and y with ``np.memmap``, chunk by chunk;
2. measures what a Python process needs for ``import numpy, sklearn, descent``
   (its peak address space, VmPeak), and limits the training processes'
   address space (``resource.setrlimit(RLIMIT_AS)``) to that plus a headroom
   smaller than the file (default: 400 MiB headroom, a 572 MiB = 600 MB file);
3. in such a limited process: shows that the whole file cannot be loaded, or
   even mapped, and then trains with ``partial_fit`` over chunks, each read
   through its own small ``np.memmap`` (the file is never mapped whole), for
   a few epochs (chunk order and rows within chunks shuffled every epoch);
4. in processes without a limit: ``fit`` (same number of epochs, ``tol=None``)
   and epochs of ``partial_fit`` on the whole array in memory;
5. prints the objective (mean 0.5 r^2 + alpha/2 |w|^2, computed chunk by chunk
   over the file) of each, peak RSS (VmHWM) and peak address space (VmPeak).

With ``shuffle=False``, chunked ``partial_fit`` over consecutive chunks
reproduces ``partial_fit`` on the whole array (the optimizer state and ``t_``
carry over between calls): the script checks that too (max |coef difference|).

Linux only (``/proc/self/status``, ``RLIMIT_AS``). Runs in about 30 s with the
defaults. Usage::

    python bench/out_of_core.py                    # 572 MiB file, 400 MiB headroom
    python bench/out_of_core.py --rows 1000000 --features 50 --headroom-mb 200
"""

# Only the standard library at module level: a child process sets its
# address-space limit before it imports numpy.
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

MiB = 1024 * 1024


def proc_status():
    """VmPeak (peak address space) and VmHWM (peak RSS) of this process, MiB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmPeak", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024     # kB -> MiB
    return out


# ---------------------------------------------------------------------------
# Child processes: one role each, one JSON line on stdout.

def chunk_slices(n, rows):
    return [(start, min(start + rows, n)) for start in range(0, n, rows)]


def open_chunk(path, n_cols, start, stop, np):
    """Rows [start, stop) of a float64 file through their own read-only map."""
    shape = (stop - start, n_cols) if n_cols else (stop - start,)
    return np.memmap(path, dtype=np.float64, mode="r", shape=shape,
                     offset=start * max(n_cols, 1) * 8)


def objective_by_chunks(model, args, np):
    """Mean 0.5 r^2 + alpha/2 |w|^2 over the file, one chunk at a time."""
    total = 0.0
    for start, stop in chunk_slices(args.rows, args.chunk_rows):
        X = open_chunk(args.x_path, args.features, start, stop, np)
        y = open_chunk(args.y_path, 0, start, stop, np)
        r = y - X @ model.coef_ - model.intercept_[0]
        total += 0.5 * float(r @ r)
        del X, y
    w = model.coef_
    return total / args.rows + 0.5 * model.alpha * float(w @ w)


def child(args):
    if args.limit_mb:
        limit = int(args.limit_mb * MiB)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import numpy as np
    import sklearn  # noqa: F401  (the baseline counts it)

    from descent import SGDRegressor

    out = {"role": args.child}
    if args.child == "load":
        # The limit bites: the whole file neither loads nor maps.
        for name, load in [
            ("fromfile", lambda: np.fromfile(args.x_path, dtype=np.float64)),
            ("memmap", lambda: np.memmap(args.x_path, dtype=np.float64, mode="r")),
        ]:
            try:
                data = load()
                out[name] = f"loaded {data.nbytes / MiB:.0f} MiB"
                del data
            except (MemoryError, OSError, ValueError) as exc:
                out[name] = f"{type(exc).__name__}"
    elif args.child in ("ooc", "ooc-ordered"):
        shuffle = args.child == "ooc"
        model = SGDRegressor(shuffle=shuffle, random_state=0, optimizer=args.optimizer)
        rng = np.random.default_rng(0)
        slices = chunk_slices(args.rows, args.chunk_rows)
        t0 = time.perf_counter()
        for _ in range(args.epochs):
            order = rng.permutation(len(slices)) if shuffle else range(len(slices))
            for k in order:
                start, stop = slices[k]
                X = open_chunk(args.x_path, args.features, start, stop, np)
                y = open_chunk(args.y_path, 0, start, stop, np)
                if shuffle:       # another in-chunk order every call
                    model.set_params(random_state=int(rng.integers(2**31 - 1)))
                model.partial_fit(X, y)
                del X, y          # unmap the chunk
        out["seconds"] = time.perf_counter() - t0
        out["objective"] = objective_by_chunks(model, args, np)
        out["coef"] = model.coef_.tolist() + model.intercept_.tolist()
        out["t"] = model.t_
    elif args.child in ("fit", "partial-ordered"):
        X = np.fromfile(args.x_path, dtype=np.float64).reshape(args.rows, args.features)
        y = np.fromfile(args.y_path, dtype=np.float64)
        t0 = time.perf_counter()
        if args.child == "fit":
            model = SGDRegressor(max_iter=args.epochs, tol=None, random_state=0,
                                 optimizer=args.optimizer).fit(X, y)
        else:
            model = SGDRegressor(shuffle=False, random_state=0, optimizer=args.optimizer)
            for _ in range(args.epochs):
                model.partial_fit(X, y)
        out["seconds"] = time.perf_counter() - t0
        out["objective"] = objective_by_chunks(model, args, np)
        out["coef"] = model.coef_.tolist() + model.intercept_.tolist()
        out["t"] = model.t_
    out.update(proc_status())
    print(json.dumps(out))


def run_child(role, args, limit_mb=None):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", role,
           "--x-path", args.x_path, "--y-path", args.y_path,
           "--rows", str(args.rows), "--features", str(args.features),
           "--chunk-rows", str(args.chunk_rows), "--epochs", str(args.epochs),
           "--optimizer", args.optimizer]
    if limit_mb:
        cmd += ["--limit-mb", f"{limit_mb:.1f}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"child {role!r} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------

def write_data(args):
    import numpy as np

    rng = np.random.default_rng(0)
    w = rng.normal(size=args.features)
    X = np.memmap(args.x_path, dtype=np.float64, mode="w+",
                  shape=(args.rows, args.features))
    y = np.memmap(args.y_path, dtype=np.float64, mode="w+", shape=(args.rows,))
    for start, stop in chunk_slices(args.rows, args.chunk_rows):
        Xc = rng.standard_normal((stop - start, args.features))
        X[start:stop] = Xc
        y[start:stop] = Xc @ w + 1.0 + 0.5 * rng.standard_normal(stop - start)
    X.flush()
    y.flush()
    del X, y


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3_750_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--chunk-rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--optimizer", default="sgd")
    parser.add_argument("--headroom-mb", type=float, default=400.0,
                        help="address space (MiB) allowed above the imports' VmPeak")
    parser.add_argument("--dir", default=None, help="where to write the data files")
    parser.add_argument("--keep", action="store_true", help="keep the data files")
    # internal: run as a child process
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--limit-mb", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--x-path", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--y-path", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    if not sys.platform.startswith("linux"):
        sys.exit("this script needs Linux (/proc/self/status, RLIMIT_AS)")

    directory = tempfile.mkdtemp(prefix="descent-ooc-", dir=args.dir)
    args.x_path = os.path.join(directory, "X.f64")
    args.y_path = os.path.join(directory, "y.f64")
    try:
        t0 = time.perf_counter()
        write_data(args)
        file_mb = os.path.getsize(args.x_path) / MiB
        print(f"data: X {args.rows:,} x {args.features} float64 = {file_mb:.0f} MiB "
              f"(+ y {os.path.getsize(args.y_path) / MiB:.0f} MiB) in {directory}, "
              f"written in {time.perf_counter() - t0:.1f} s")

        base = run_child("baseline", args)
        limit_mb = base["VmPeak"] + args.headroom_mb
        print(f"baseline (python + numpy + sklearn + descent imported): VmPeak "
              f"{base['VmPeak']:.0f} MiB, peak RSS {base['VmHWM']:.0f} MiB")
        print(f"limited processes: RLIMIT_AS = {limit_mb:.0f} MiB = baseline VmPeak + "
              f"{args.headroom_mb:.0f} MiB headroom, less than the {file_mb:.0f} MiB file"
              if file_mb > args.headroom_mb else
              f"WARNING: the file ({file_mb:.0f} MiB) fits in the headroom "
              f"({args.headroom_mb:.0f} MiB): this run does not show out-of-core training")
        print(f"training: {args.epochs} epochs, optimizer={args.optimizer!r}, chunks of "
              f"{args.chunk_rows:,} rows ({args.chunk_rows * args.features * 8 / MiB:.0f} MiB)")

        load = run_child("load", args, limit_mb)
        ooc = run_child("ooc", args, limit_mb)
        ooc_ordered = run_child("ooc-ordered", args, limit_mb)
        fit = run_child("fit", args)
        ordered = run_child("partial-ordered", args)

        rows = [
            ("imports only", "-", "-", "-", base),
            ("np.fromfile / np.memmap of the whole file", f"{limit_mb:.0f} MiB",
             f"{load['fromfile']} / {load['memmap']}", "-", load),
            ("partial_fit over memmap chunks, shuffled", f"{limit_mb:.0f} MiB",
             f"{ooc['objective']:.6f}", f"{ooc['seconds']:.2f}", ooc),
            ("partial_fit over memmap chunks, shuffle=False", f"{limit_mb:.0f} MiB",
             f"{ooc_ordered['objective']:.6f}", f"{ooc_ordered['seconds']:.2f}",
             ooc_ordered),
            (f"in memory: fit(max_iter={args.epochs}, tol=None)", "none",
             f"{fit['objective']:.6f}", f"{fit['seconds']:.2f}", fit),
            ("in memory: partial_fit on the whole array, shuffle=False", "none",
             f"{ordered['objective']:.6f}", f"{ordered['seconds']:.2f}", ordered),
        ]
        header = ("run", "RLIMIT_AS", "objective", "train s", "peak RSS MiB", "VmPeak MiB")
        table = [header] + [
            (name, lim, obj, sec, f"{r['VmHWM']:.0f}", f"{r['VmPeak']:.0f}")
            for name, lim, obj, sec, r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        print()
        for k, row in enumerate(table):
            print("| " + " | ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(row)) + " |")
            if k == 0:
                print("|" + "|".join("-" * (w_ + 2) for w_ in widths) + "|")
        print()
        gap = (ooc["objective"] - fit["objective"]) / fit["objective"]
        diff = max(abs(a - b) for a, b in zip(ooc_ordered["coef"], ordered["coef"]))
        print(f"out-of-core (shuffled) vs in-memory fit: objective {gap:+.2e} relative")
        print(f"out-of-core shuffle=False vs in-memory partial_fit shuffle=False: "
              f"max |coef, intercept difference| = {diff:.1e}, t_ {ooc_ordered['t']:.0f} "
              f"vs {ordered['t']:.0f}")
        print(f"peak RSS out-of-core / in-memory fit: {ooc['VmHWM']:.0f} / "
              f"{fit['VmHWM']:.0f} MiB")
    finally:
        if args.keep:
            print(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
