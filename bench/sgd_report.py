"""The report of bench_sgd.py: the markdown tables, the speed chart and the
environment a run records."""

from __future__ import annotations

import datetime
import hashlib
import os
import platform
import subprocess
from pathlib import Path

import numpy as np
from sgd_references import ALPHA, BATCH, LR_ADAM1, LR_FB, LR_MB_ADAM, LR_MB_SGD
from threadpoolctl import threadpool_info

ROOT = Path(__file__).resolve().parent.parent


def fmt_ns(x):
    if x is None:
        return "-"
    if x >= 1e4:
        return f"{x / 1e3:,.1f} us"
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def fmt_ratio(x):
    return "-" if x is None else (f"{x:.2f}x" if x < 100 else f"{x:.0f}x")


def render(report):
    """The markdown report of a run: its environment, a section per shape,
    the summary of the targets."""
    lines = _header(report)
    for res in report["shapes"]:
        lines += _shape_section(res)
    p = lines.append
    p("## Summary")
    p("")
    p("| shape | target | measured | needs | |")
    p("|---|---|---|---|---|")
    for res in report["shapes"]:
        for t in res["targets"]:
            p(f"| {res['n']:,} x {res['d']} | {t['target']} | {t['value']:.3g} | "
              f"{t['op']} {t['threshold']} | **{t['status']}** |")
    p("")
    p(f"Total time {report['elapsed_s']:.0f} s. JSON: `{report['json']}`, chart: "
      f"`{report['png']}`.")
    return "\n".join(lines)




def _header(report):
    lines = []
    p = lines.append
    env = report["environment"]
    p(f"# descent benchmark ({report['mode']} run, {report['timestamp']})")
    p("")
    p(f"- descent {env['descent_version']} ({env['descent_build']}, OpenMP "
      f"{env['descent_openmp']}, up to {env['descent_max_threads']} threads) at "
      f"`{env['descent_path']}`, git {env['git']}; kernels built "
      f"{env['descent_kernels_mtime']}, sha256 {env['descent_kernels_sha256']}"
      + (" (the installed kernels changed during the run: these numbers are for the "
         "build loaded at the start)" if env["descent_kernels_changed_during_run"] else ""))
    p(f"- Python {env['python']}, NumPy {env['numpy']}, scikit-learn {env['sklearn']}, "
      f"torch {env['torch']}, {env['cpu']} ({env['nproc']} CPUs), "
      f"load average {env['loadavg_start']} -> {env['loadavg_end']}")
    p("- BLAS/OpenMP pools (threadpoolctl): "
      + "; ".join(f"{x['internal_api']} {x.get('version')} {x.get('architecture', '')} "
                  f"{x['num_threads']} threads ({x['file']})" for x in env["threadpools"]))
    p(f"- Environment: {env['env_vars'] or 'no OPENBLAS_/OMP_/MKL_ variables set'}")
    p(f"- C reference: {env['c_reference']}")
    p(f"- 'threads': descent's kernel thread count (n_threads its estimator passes "
      f"the kernel: {env['descent_kernel_threads']}); the BLAS limit (threadpoolctl) for "
      f"NumPy rows; torch.set_num_threads for torch rows. 'cpu/wall': CPU time of the "
      f"calling thread + of all other threads, over wall time. Main < 1 means the "
      f"machine took the core away (noise); helpers > 0 with 1 thread is mostly "
      f"OpenBLAS workers spin-waiting.")
    p(f"- Per-sample SGD eta0 = max(1e-4, 0.01/d), alpha = {ALPHA}, constant schedule; "
      f"per-sample Adam lr {LR_ADAM1}; batch {BATCH}: SGD lr {LR_MB_SGD}, Adam lr "
      f"{LR_MB_ADAM}; full batch lr {LR_FB}.")
    p("")
    return lines


def _shape_section(res):
    lines = []
    p = lines.append
    p(f"## {res['n']:,} x {res['d']} ({res['X_bytes'] / 2**20:.0f} MiB, "
      f"{res['repeats']} repeats)")
    p("")
    p("| method | rows x epochs | threads | cpu/wall main+helpers | "
      "ns / sample / epoch (median) | min-max | competitor / descent | vs | "
      "objective | d obj |")
    p("|---|---|---|---|---|---|---|---|---|---|")
    for r in res["methods"]:
        if not r["table"]:
            continue
        diff = r["obj_rel_diff"]
        p(f"| {r['label']} | {r['rows']:,} x {r['epochs']} | {r['threads']} | "
          f"{r['main_cpu_per_wall']:.2f}+{r['helper_cpu_per_wall']:.2f} | "
          f"{fmt_ns(r['ns'])} | {fmt_ns(r['ns_min'])}-{fmt_ns(r['ns_max'])} | "
          f"{fmt_ratio(r['speedup']) if r['speedup'] else ''} | "
          f"{r['counterpart'] or ''} | "
          f"{'-' if r['objective'] is None else format(r['objective'], '.6f')} | "
          f"{'' if diff is None else format(diff, '+.1e')} |")
    p("")
    p("Targets:")
    p("")
    p("| target | measured | needs | |")
    p("|---|---|---|---|")
    for t in res["targets"]:
        p(f"| {t['target']} | {t['value']:.3g} | {t['op']} {t['threshold']} | "
          f"**{t['status']}**{' (' + t['note'] + ')' if t['note'] else ''} |")
    p("")
    p("Diagnostics:")
    p("")
    rt = res["ratios"]
    for key in ("d_sgd/c_plain_sh", "d_sgd/c_tuned_sh16", "d_sgd_ns/c_plain",
                "d_adam1/c_adam_sh", "c_adam_sh/c_plain_sh", "d_fb_ns/stream_1t",
                "d_fb/c_stream", "d_fb_ns/c_stream", "d_adam_mb/d_sgd_mb"):
        if key in rt:
            p(f"- {key}: {rt[key]['median']:.2f} "
              f"(range {rt[key]['min']:.2f}-{rt[key]['max']:.2f})")
    for key, o in res["overhead"].items():
        p(f"- {key}: marginal {o['marginal_ns_per_sample_epoch']:.3g} ns/sample/epoch "
          f"({o['marginal_over_stream']:.2f}x a streaming pass); fixed cost of fit "
          f"{o['fixed_ms']:.1f} ms = {o['fixed_in_streaming_passes']:.1f} streaming passes")
    p("- peak extra memory (tracemalloc, fraction of X): " + ", ".join(
        f"{k} {v['fraction_of_X']:.1%} ({v['peak_bytes'] / 2**20:.1f} MiB)"
        for k, v in res["memory"].items()))
    p("")
    return lines


def plot(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shapes = report["shapes"]
    fig, axes = plt.subplots(1, len(shapes), figsize=(6.5 * len(shapes), 7), squeeze=False)
    for ax, res in zip(axes[0], shapes):
        rows = [r for r in res["methods"] if r["speedup"]]
        labels = [f"{r['label']}\nvs {r['counterpart']}" for r in rows]
        vals = [r["speedup"] for r in rows]
        colors = ["tab:green" if v >= 1 else "tab:red" for v in vals]
        yy = np.arange(len(rows))
        ax.barh(yy, vals, color=colors)
        ax.set_yticks(yy, labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.axvline(1.0, color="k", lw=0.8)
        for yi, v in zip(yy, vals):
            ax.text(v, yi, f" {v:.2f}x" if v < 100 else f" {v:.0f}x", va="center", fontsize=7)
        ax.set_title(f"{res['n']:,} x {res['d']}")
        ax.set_xlabel("competitor time / descent time (> 1: descent faster)")
    fig.suptitle(f"descent vs competitors, ns per sample per epoch ({report['mode']} run)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def descent_kernel_threads(descent):
    """Threads descent's kernels run with: joblib's count of the estimator's
    n_jobs (the benchmark keeps the default, None = 1)."""
    from joblib import effective_n_jobs
    return effective_n_jobs(descent.SGDRegressor().n_jobs)


def environment(descent, torch, c_info):
    info = []
    for x in threadpool_info():
        info.append(dict(user_api=x.get("user_api"), internal_api=x.get("internal_api"),
                         version=x.get("version"), num_threads=x.get("num_threads"),
                         architecture=x.get("architecture"),
                         file=os.path.basename(x.get("filepath", ""))))
    try:
        git = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"],
                               capture_output=True, text=True).stdout.strip()
        git += " (src/ modified)" if dirty else ""
    except OSError:
        git = "?"
    import sklearn

    from descent import _kernels
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    kpath = Path(_kernels.__file__)
    return dict(
        python=platform.python_version(), numpy=np.__version__, sklearn=sklearn.__version__,
        torch=getattr(torch, "__version__", "not installed"),
        descent_version=getattr(descent, "__version__", "?"),
        descent_build=getattr(_kernels, "BUILD_TYPE", "?"),
        descent_openmp=getattr(_kernels, "OPENMP", "?"),
        descent_max_threads=_kernels.max_threads() if hasattr(_kernels, "max_threads") else "?",
        descent_path=str(kpath.parent),
        descent_kernels_mtime=datetime.datetime.fromtimestamp(kpath.stat().st_mtime)
        .isoformat(timespec="seconds"),
        descent_kernels_sha256=file_digest(kpath),
        descent_kernels_file=str(kpath),
        git=git, cpu=cpu, nproc=os.cpu_count(),
        loadavg_start=" ".join(f"{x:.2f}" for x in os.getloadavg()),
        threadpools=info,
        env_vars=", ".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                           if k.startswith(("OPENBLAS", "OMP_", "MKL_", "GOTO")))
        or "",
        c_reference=c_info,
        descent_kernel_threads=descent_kernel_threads(descent),
    )


def file_digest(path):
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    except OSError:
        return "?"
