"""``require(name)``: ``pytest.importorskip`` that cannot hide a missing
dependency in CI.

On a developer's machine a test whose optional dependency (torch, dask-ml,
distributed, pandas, ...) is not installed is skipped, as with
``pytest.importorskip``. When the environment variable ``CI`` is set (to
anything but ``""``, ``"0"`` or ``"false"``; ``.ci/run`` exports ``CI=1``, CI
services set ``CI=true``), the same missing import *fails* the test (or, at
module level, the collection of its file): CI installs every optional
dependency on purpose, and a silent skip there would drop the torch and dask
cross-checks from the run without anyone noticing.

A CI job that deliberately installs only the ``test`` extra (a wheel or sdist
smoke test) sets ``DESCENT_ALLOW_SKIP=1`` to get the skips back.

Use it wherever ``pytest.importorskip`` would be used::

    from _require import require

    torch = require("torch")
"""

from __future__ import annotations

import importlib
import os

import pytest

__all__ = ["in_ci", "require"]


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def in_ci() -> bool:
    """Whether a missing optional dependency fails: CI set (not "0"/"false"),
    and DESCENT_ALLOW_SKIP not set."""
    return _flag("CI") and not _flag("DESCENT_ALLOW_SKIP")


def require(name: str, minversion: str | None = None, reason: str | None = None):
    """Import and return module ``name``; if it cannot be imported, skip the
    test (outside CI) or fail it (CI set). Arguments as pytest.importorskip."""
    if not in_ci():
        return pytest.importorskip(name, minversion=minversion, reason=reason)
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        pytest.fail(
            f"{name!r} could not be imported ({exc}), and CI is set: CI must install "
            f"it (.ci/run installs torch's CPU wheel, dask-ml and the test extra), so "
            f"this is a failure, not a skip", pytrace=False)
    if minversion is not None:
        # the same check as pytest.importorskip's, failing instead of skipping
        from packaging.version import Version

        version = getattr(module, "__version__", None)
        if version is None or Version(version) < Version(minversion):
            pytest.fail(f"{name!r} has version {version!r}, CI needs at least "
                        f"{minversion!r}", pytrace=False)
    return module
