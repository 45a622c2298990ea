"""Warnings attributed to the user's line, not to descent's internals.

A warning's ``stacklevel`` counted by hand breaks whenever the call path
changes (fit, partial_fit, a Pipeline, a callback): every ConvergenceWarning
once named ``descent/_base.py`` as its origin. :func:`user_stacklevel` counts
the frames instead, past descent's, scikit-learn's and joblib's (whose
wrappers call ``fit``: Pipeline, cross_val_score), so ``python -W error`` and
warning filters by module see the caller.
"""

from __future__ import annotations

import os
import sys

import joblib
import sklearn

__all__ = ["user_stacklevel"]

_INTERNAL = tuple(os.path.dirname(os.path.abspath(path)) + os.sep
                  for path in (__file__, sklearn.__file__, joblib.__file__) if path)


def user_stacklevel():
    """The ``stacklevel`` for ``warnings.warn`` called by this function's
    caller that names the first frame outside descent, scikit-learn and
    joblib."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        frame, level = frame.f_back, level + 1
    return level
