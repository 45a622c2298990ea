"""Run-time CPU dispatch (descent/_simd.py): the variant chosen and forced,
its results against the baseline's, and the shuffled-row prefetch in every
compiled variant.

The variants are the same C code compiled with different target flags and
``-ffp-contract=off`` (CMakeLists.txt), so every fit is expected to be
bit-identical across them; the issue's bound, 1e-12 relative, is what is
asserted first, bit-identity second. Each variant runs in its own process
(``DESCENT_SIMD``), as a user would get it.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import descent
from descent import _kernels, _simd

CONFIG = descent.show_config(print_out=False)
AVAILABLE = CONFIG["simd_available"]


def run_with(variant, code, *args):
    env = dict(os.environ, DESCENT_SIMD=variant)
    return subprocess.run([sys.executable, "-c", code, *args], env=env, check=False,
                          capture_output=True, text=True, timeout=600)


# ---------------------------------------------------------------------------
# The choice

def test_config_reports_the_variant_in_use():
    assert CONFIG["simd"] == _kernels.SIMD == _simd.choice.selected
    assert _kernels.__name__ == f"descent._kernels_{_kernels.SIMD}"
    assert "baseline" in AVAILABLE and CONFIG["simd"] in AVAILABLE
    assert set(AVAILABLE) <= set(_simd.VARIANTS)
    if not CONFIG["simd_forced"]:
        assert CONFIG["simd"] == AVAILABLE[-1]       # the best one


def test_kernels_module_is_the_compiled_one():
    # every `from . import _kernels` gets the variant, not the stand-in
    import descent._base
    import descent._plan

    assert sys.modules["descent._kernels"] is _kernels
    assert descent._base._kernels is _kernels and descent._plan._kernels is _kernels
    assert _kernels.Workspace.__module__ == "descent._kernels"   # pickles by that name


def test_choose():
    every = _simd.VARIANTS
    assert _simd.choose("", every, every) == "avx512"
    assert _simd.choose("", every, ("baseline", "avx2")) == "avx2"
    assert _simd.choose("", ("baseline",), every) == "baseline"
    assert _simd.choose("avx2", every, every) == "avx2"
    with pytest.raises(RuntimeError, match=r"'sse4' is not a kernel variant.*baseline, avx2"):
        _simd.choose("sse4", every, ("baseline", "avx2"))
    with pytest.raises(RuntimeError, match=r"CPU does not support it.*use are: baseline, avx2$"):
        _simd.choose("avx512", every, ("baseline", "avx2"))
    with pytest.raises(RuntimeError, match=r"build of descent does not include it.*: baseline$"):
        _simd.choose("avx2", ("baseline",), every)


def test_cpu_check_is_consistent():
    levels = [_kernels.cpu_runs(i) for i in range(len(_simd.VARIANTS))]
    assert levels[0]
    assert levels == sorted(levels, reverse=True)     # avx512 implies avx2
    if platform.machine().lower() in ("x86_64", "amd64") and Path("/proc/cpuinfo").exists():
        flags = set()
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
        assert levels[1] == ({"avx2", "fma"} <= flags)
        assert levels[2] == ({"avx2", "fma", "avx512f", "avx512dq", "avx512vl"} <= flags)


def test_environment_variable_forces_and_rejects():
    code = ("import descent; c = descent.show_config(print_out=False); "
            "print(c['simd'], c['simd_forced'])")
    for variant in AVAILABLE:
        done = run_with(variant, code)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [variant, "True"]
    done = run_with("avx1024", code)
    assert done.returncode != 0
    assert "DESCENT_SIMD='avx1024' is not a kernel variant" in done.stderr
    assert ", ".join(AVAILABLE) in done.stderr
    missing = [v for v in _simd.VARIANTS if v not in AVAILABLE]
    if missing:
        done = run_with(missing[-1], code)
        assert done.returncode != 0 and ", ".join(AVAILABLE) in done.stderr


# ---------------------------------------------------------------------------
# The numbers: every variant against the baseline, in its own process

FITS = r"""
import json, sys, warnings
import numpy as np, scipy.sparse as sp
import descent
from descent import SGDClassifier, SGDRegressor, _kernels, optim
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = rng.standard_normal((300, 37))            # the kernels' own loops (d < 64)
y = X @ rng.standard_normal(37) + 0.1 * rng.standard_normal(300)
X2 = rng.standard_normal((200, 100))          # the sixteen-sum dot, BLAS axpy
y2 = X2 @ rng.standard_normal(100) + 0.1 * rng.standard_normal(200)
X3 = rng.standard_normal((100, 200))          # BLAS dot and axpy (128 <= d <= 8192)
y3 = X3 @ rng.standard_normal(200) + 0.1 * rng.standard_normal(100)
Xs = sp.random(300, 200, density=0.05, format="csr", random_state=1)
ys = Xs @ rng.standard_normal(200) + 0.1 * rng.standard_normal(300)
labels = np.argmax(X[:, :3] + 0.3 * rng.standard_normal((300, 3)), axis=1)
base = dict(max_iter=5, tol=None, random_state=0, penalty="elasticnet", alpha=1e-3)
rules = dict(sgd="sgd", momentum="momentum", nesterov="nesterov", adagrad="adagrad",
             rmsprop=lambda: optim.RMSprop(lr=1e-2, centered=True, momentum=0.5),
             adadelta="adadelta", adam="adam", amsgrad="amsgrad", adamw="adamw")
def opt(name):
    o = rules[name]
    return o() if callable(o) else o
cases = {}
for name in rules:
    cases[f"per-sample {name}"] = lambda n=name: SGDRegressor(optimizer=opt(n), **base).fit(X, y)
    cases[f"mini-batch {name}"] = lambda n=name: SGDRegressor(
        optimizer=opt(n), batch_size=16, **base).fit(X, y)
    cases[f"full batch {name}"] = lambda n=name: SGDRegressor(
        optimizer=opt(n), batch_size=None, **{**base, "max_iter": 30}).fit(X, y)
    cases[f"sparse {name}"] = lambda n=name: SGDRegressor(optimizer=opt(n), **base).fit(Xs, ys)
cases["sparse dense-update adam"] = lambda: SGDRegressor(
    optimizer="adam", sparse_update="dense", **base).fit(Xs, ys)
cases["per-sample sgd d=100 average"] = lambda: SGDRegressor(average=True, **base).fit(X2, y2)
cases["per-sample adam d=100"] = lambda: SGDRegressor(optimizer="adam", **base).fit(X2, y2)
cases["per-sample sgd d=200"] = lambda: SGDRegressor(**base).fit(X3, y3)
cases["full batch adam d=100"] = lambda: SGDRegressor(
    optimizer="adam", batch_size=None, **base).fit(X2, y2)
X32, Xs32 = X.astype(np.float32), Xs.astype(np.float32)     # read in place, widened
cases["float32 per-sample sgd"] = lambda: SGDRegressor(**base).fit(X32, y)
cases["float32 per-sample adam"] = lambda: SGDRegressor(optimizer="adam", **base).fit(X32, y)
cases["float32 mini-batch rmsprop"] = lambda: SGDRegressor(
    optimizer="rmsprop", batch_size=16, **base).fit(X32, y)
cases["float32 sparse adagrad"] = lambda: SGDRegressor(optimizer="adagrad", **base).fit(Xs32, ys)
X2_32 = X2.astype(np.float32)                 # dot32's eight partial sums (d >= 64)
cases["float32 per-sample sgd d=100"] = lambda: SGDRegressor(**base).fit(X2_32, y2)
cases["float32 per-sample adam d=100"] = lambda: SGDRegressor(
    optimizer="adam", **base).fit(X2_32, y2)
cases["classifier log-loss ovr adam"] = lambda: SGDClassifier(
    loss="log_loss", optimizer="adam", **base).fit(X, labels)
cases["classifier softmax rmsprop"] = lambda: SGDClassifier(
    loss="log_loss", multi_class="multinomial", optimizer="rmsprop", **base).fit(X, labels)
cases["classifier hinge sgd"] = lambda: SGDClassifier(**base).fit(X, labels)
def optim_steps(make):
    p = rng.standard_normal(1001)
    o, g = make(), np.zeros_like(p)
    for k in range(5):
        g[:] = np.sin(p * (k + 1))
        o.step(p, g)
    return p
steppers = dict(sgd=lambda: optim.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2),
                adagrad=lambda: optim.Adagrad(lr=0.1), rmsprop=lambda: optim.RMSprop(lr=0.01),
                adadelta=lambda: optim.Adadelta(), adam=lambda: optim.Adam(lr=0.01),
                adamw=lambda: optim.AdamW(lr=0.01, amsgrad=True))
def arrays(result):
    if isinstance(result, np.ndarray):
        return [result]
    return [np.ravel(result.coef_).astype(np.float64),
            np.ravel(result.intercept_).astype(np.float64)]
out, repeatable = {}, True
for name, fit in cases.items():
    a = arrays(fit())
    b = arrays(fit())            # n_jobs=1 is bit-reproducible within a variant
    repeatable &= all(np.array_equal(u, v) for u, v in zip(a, b))
    out[name] = [u.tobytes().hex() for u in a]
for name, make in steppers.items():
    rng = np.random.default_rng(2)
    a = optim_steps(make)
    rng = np.random.default_rng(2)
    repeatable &= np.array_equal(a, optim_steps(make))
    out[f"optim {name}"] = [a.tobytes().hex()]
print(json.dumps(dict(variant=_kernels.SIMD, file=descent.__file__, repeatable=bool(repeatable),
                      results=out)))
"""


def fit_results(variant):
    done = run_with(variant, FITS)
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout.strip().splitlines()[-1])
    assert res["variant"] == variant
    assert res["file"] == descent.__file__      # the build under test
    assert res["repeatable"], f"{variant}: two n_jobs=1 fits differ"
    return {k: [np.frombuffer(bytes.fromhex(h)) for h in v] for k, v in res["results"].items()}


@pytest.fixture(scope="module")
def baseline_results():
    return fit_results("baseline")


def test_baseline_fits_are_reproducible(baseline_results):
    assert len(baseline_results) > 40


@pytest.mark.parametrize("variant", [v for v in AVAILABLE if v != "baseline"])
def test_variant_matches_baseline(variant, baseline_results):
    results = fit_results(variant)
    assert results.keys() == baseline_results.keys()
    differ = []
    for name, arrays in results.items():
        for a, b in zip(arrays, baseline_results[name]):
            assert np.all(np.isfinite(b)), name
            scale = max(np.max(np.abs(b)), 1e-300)
            rel = np.max(np.abs(a - b)) / scale
            assert rel <= 1e-12, f"{variant}, {name}: relative difference {rel:.3g}"
            if not np.array_equal(a, b) and name not in differ:
                differ.append(name)
    # -ffp-contract=off: the same operations in the same order on every variant
    assert not differ, f"{variant}: not bit-identical to the baseline: {differ}"


# ---------------------------------------------------------------------------
# The shuffled-row prefetch (GCC once deleted it silently: kernel/platform.pxd)

PREFETCH = {"x86_64": "prefetcht0", "amd64": "prefetcht0", "aarch64": "prfm",
            "arm64": "prfm"}


def variant_files():
    here = Path(descent.__file__).parent
    return {v: next(iter(here.glob(f"_kernels_{v}.*")), None) for v in _simd.VARIANTS}


def prefetch_count(path):
    done = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(path)],
                          capture_output=True, text=True, check=True)
    return len(re.findall(rf"\b{PREFETCH[platform.machine().lower()]}\b", done.stdout))


@pytest.mark.skipif(_kernels.BUILD_TYPE != "Release",
                    reason="counts the inlined sites of an optimised build")
@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump is not installed")
@pytest.mark.skipif(platform.machine().lower() not in PREFETCH,
                    reason="no prefetch instruction known for this machine")
@pytest.mark.parametrize("variant", _simd.built())
def test_prefetch_survives_in_every_variant(variant):
    # The prefetch instructions in the variant's machine code: the shuffled
    # loops of every loss, row layout and path prefetch the rows ahead, about
    # 120 sites in the baseline (GCC 12, x86-64). A build that drops
    # DESCENT_PREFETCH (or its volatile asm) loses nearly all of them; a
    # variant that loses a loop family's falls below three quarters of the
    # baseline's count.
    files = variant_files()
    count = prefetch_count(files[variant])
    assert count >= 40, f"{files[variant].name}: {count} prefetch instructions"
    if variant != "baseline":
        floor = 0.75 * prefetch_count(files["baseline"])
        assert count >= floor, f"{files[variant].name}: {count} prefetch instructions"
