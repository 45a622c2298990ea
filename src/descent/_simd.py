"""Run-time CPU dispatch: which compiled variant of the kernels a process uses.

The kernels (``_kernels.pyx`` and the layers of ``kernel/``) are transpiled
once and the C file is compiled once per variant into its own extension module
(``CMakeLists.txt``), ``_kernels_<variant>``:

- ``baseline``: the compiler's default target (x86-64: SSE2; aarch64: NEON);
- ``avx2``: ``-mavx2 -mfma``;
- ``avx512``: ``-mavx512f -mavx512dq -mavx512vl -mavx2 -mfma``.

The x86-64 variants are compiled with ``-ffp-contract=off``: the same
operations in the same order as the baseline (SSE2 has no FMA), so a fit is
bit-identical on every variant; the vectors are wider, nothing is fused. They
are built where GCC or Clang compiles the wheel (Linux, macOS x86-64), not
with MSVC (Windows wheels hold the baseline only). A CPU runs a variant when
CPUID has its instructions and the OS saves its registers (XGETBV). macOS
turns the AVX-512 registers on lazily, at a thread's first use (LLVM's host
detection notes this), so there the check can report no AVX-512 and choose
AVX2: conservative, not tested on a Mac.

``descent._kernels`` (``_kernels.py``) calls :func:`load` and puts the module
it returns in its own place in ``sys.modules``, so that every
``from . import _kernels`` gets the compiled module. :func:`load` imports the
baseline first (it is always built, and it holds the CPU check,
``cpu_runs``), then the best variant the CPU and the OS run, unless the
environment variable ``DESCENT_SIMD`` names one.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from types import ModuleType

# In order of preference: a variant's level (its index) is what
# _kernels.cpu_runs(level) checks.
VARIANTS = ("baseline", "avx2", "avx512")
ENV = "DESCENT_SIMD"


@dataclass
class Choice:
    """What load() chose: the variant in use, the variants this machine can
    use (built, and run by the CPU), and whether DESCENT_SIMD named it."""

    selected: str = "baseline"
    available: tuple[str, ...] = ("baseline",)
    forced: bool = False


choice = Choice()


def module_name(variant):
    return f"{__package__}._kernels_{variant}"


def built():
    """The variants whose module is installed."""
    return tuple(v for v in VARIANTS if importlib.util.find_spec(module_name(v)) is not None)


def choose(requested, built, runs):
    """The variant to load: the one ``requested`` (``DESCENT_SIMD``; empty for
    none), else the best variant that is both ``built`` and ``runs`` on this
    CPU. A requested variant that is unknown or that this machine cannot use
    raises ``RuntimeError`` naming the ones it can."""
    usable = tuple(v for v in VARIANTS if v in built and v in runs)
    if not requested:
        return usable[-1]
    allowed = ", ".join(usable)
    if requested not in VARIANTS:
        raise RuntimeError(f"{ENV}={requested!r} is not a kernel variant; the variants this "
                           f"machine can use are: {allowed} (or leave {ENV} unset)")
    if requested not in usable:
        why = ("this CPU does not support it" if requested not in runs
               else "this build of descent does not include it")
        raise RuntimeError(f"{ENV}={requested!r}: {why}; the variants this machine can "
                           f"use are: {allowed}")
    return requested


def load() -> ModuleType:
    """Import and return the kernels' module for this process (see the module
    docstring); records the choice in ``choice``."""
    baseline = importlib.import_module(module_name("baseline"))
    runs = tuple(v for level, v in enumerate(VARIANTS) if baseline.cpu_runs(level))
    have = built()
    requested = os.environ.get(ENV, "").strip().lower()
    name = choose(requested, have, runs)
    module = baseline if name == "baseline" else importlib.import_module(module_name(name))
    choice.selected = name
    choice.available = tuple(v for v in VARIANTS if v in have and v in runs)
    choice.forced = bool(requested)
    return module
