"""The training plan: an estimator's parameters turned, once, into the path its
epochs run on and the settings the kernel takes.

Every "which loop runs?" question is answered here, in :func:`make_plan`, and
carried to the kernel as the ``path`` field of its ``Settings`` struct, where
one switch acts on it (``kernel/paths.pxd``, ``run_path``). The paths:

=============== ==============================================================
``PLAIN``        per-sample scikit-learn SGD: ``optimizer="sgd"`` (the string)
                 with ``batch_size=1``. Weight scale for L2, Tsuruoka's
                 cumulative penalty for L1, scikit-learn's sparse intercept
                 decay: scikit-learn's results, update for update.
``RULE``         per-sample steps of an update rule, every coefficient.
``LAZY``         per-sample rule steps on CSR rows, the row's coefficients
                 only (``sparse_update`` "auto"/"lazy", no ``average``).
``MINI_BATCH``   rule steps on the mean gradient of ``batch_size`` rows.
``FULL_BATCH``   one rule step on the exact gradient per epoch (``batch_size=None``).
``HOGWILD_*``    per-sample PLAIN or rule steps on lock-free threads (``n_jobs``).
=============== ==============================================================

``optimizer="sgd"`` and ``optimizer=descent.optim.SGD()`` are two algorithms:
per sample, the string is scikit-learn's SGD (PLAIN); an ``SGD`` instance is
torch's rule (RULE: the L2 penalty in the gradient, L1 as a proximal step, no
sparse intercept decay, with ``momentum``/``nesterov`` if set). With
mini-batches or full batch both are torch's rule.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs

from . import _kernels
from ._losses import loss_parameter
from ._lr_base import LRSchedule
from ._warnings import user_stacklevel
from .optim import Optimizer, make_optimizer

Path = _kernels.Path

PENALTIES = {
    None: _kernels.Penalty.NO_PENALTY,
    "l2": _kernels.Penalty.L2,
    "l1": _kernels.Penalty.L1,
    "elasticnet": _kernels.Penalty.ELASTICNET,
}
SCHEDULES = {
    "constant": _kernels.Schedule.CONSTANT,
    "optimal": _kernels.Schedule.OPTIMAL,
    "invscaling": _kernels.Schedule.INVSCALING,
    "adaptive": _kernels.Schedule.ADAPTIVE,
}
# The L1 share of each penalty (elasticnet: l1_ratio).
PENALTY_RATIO = {"l2": 0.0, "l1": 1.0}
# scikit-learn's SPARSE_INTERCEPT_DECAY: with sparse X the per-sample path
# moves the intercept 100 times slower, since it is updated at every sample
# while a feature is only updated when present.
SPARSE_INTERCEPT_DECAY = 0.01
# The rows a pass over dense X takes at a time where it needs a temporary
# (mean_row_l1): about this many bytes of X.
BLOCK_BYTES = 1 << 20


def n_threads(n_jobs):
    """Threads for the kernels: joblib's count of ``n_jobs`` (None is 1),
    capped at the cores OpenMP has; 1 in a build without OpenMP."""
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None or 1 for one "
                         "thread, -1 for all cores")
    if not _kernels.OPENMP:
        if effective_n_jobs(n_jobs) > 1:
            warnings.warn(
                f"n_jobs={n_jobs!r}: this build of descent has no OpenMP, so it runs "
                "on one thread (descent.show_config())", UserWarning, stacklevel=user_stacklevel())
        return 1
    return min(effective_n_jobs(n_jobs), max(1, _kernels.max_threads()))


def hogwild_requested(batch_size, n_jobs):
    """Whether per-sample training asks for lock-free Hogwild! threads (judged
    on the request, so that every build refuses the same combinations)."""
    return batch_size == 1 and n_jobs not in (None, 1) and effective_n_jobs(n_jobs) > 1


@dataclass(frozen=True)
class Plan:
    """How one training call runs: its path, its update rule and base step
    size, and the kernel's settings but for the counters of the model's state
    (``settings(t, step, seed, optimal_init, u)`` completes them)."""

    path: int
    rule_params: dict
    lr: float
    fields: dict
    auto_step: str | None = None    # "c/L" or "c/R": lr is NaN until with_lr

    @property
    def plain(self):
        """Whether the steps are scikit-learn's per-sample SGD (PLAIN paths)."""
        return self.path in (Path.PLAIN, Path.HOGWILD_PLAIN)

    def settings(self, *, t, step, seed, optimal_init=0.0, u=0.0, **overrides):
        """The kernel's Settings dict."""
        return dict(self.fields, t=float(t), step=float(step), seed=int(seed),
                    optimal_init=float(optimal_init), u=float(u), **overrides)

    def with_problem(self, *, alpha, l1_ratio, epsilon):
        """The plan for a rewritten problem (descent._scaling)."""
        return replace(self, fields=dict(self.fields, alpha=float(alpha),
                                         l1_ratio=float(l1_ratio), epsilon=float(epsilon)))

    def with_lr(self, lr):
        return replace(self, lr=float(lr), fields=dict(self.fields, eta0=float(lr)))


def choose_path(*, plain_steps, batch_size, threads, sparse, average, sparse_update):
    """The path code for these choices (the one place that decides it)."""
    if batch_size is None:
        return Path.FULL_BATCH
    if batch_size > 1:
        return Path.MINI_BATCH
    if threads > 1:
        return Path.HOGWILD_PLAIN if plain_steps else Path.HOGWILD_RULE
    if plain_steps:
        return Path.PLAIN
    if sparse and not average and sparse_update != "dense":
        return Path.LAZY
    return Path.RULE


# The defaults of eta0="auto" and learning_rate="auto", by optimizer and batch
# mode (README, "Defaults"), chosen on held-out rows of two real tables
# (tests/test_defaults.py holds them to Ridge's score). "c/L" is the step
# c / L, L the Lipschitz constant of the objective's gradient (a power
# iteration on the data); "c/R" is c / R, R the largest squared norm of a row
# (with the intercept's 1): the curvature of one sample's loss, which bounds a
# stable per-sample step; "c/B" is c / (L + R / batch_size), between the two
# for mini-batches (a small batch's curvature can be far above L); "c/M" is
# c / M, M the mean L1 norm of a row (with the intercept's 1): an adaptive
# rule moves each weight by about its step, so a prediction by M times it.
# The adaptive rules fit standardized targets (scale_targets), so their steps
# are in units of those. Per-sample "sgd" is scikit-learn's: its defaults
# exactly.
DEFAULTS: dict[str, dict[str, tuple[float | str, str]]] = {
    # name: {mode: (eta0, learning_rate)}; mode "sample", "batch" or "full"
    "sgd": {"sample": (0.01, "invscaling"), "batch": ("1.5/B", "adaptive"),
            "full": ("1/L", "constant")},
    "momentum": {"sample": ("0.1/R", "adaptive"), "batch": ("0.25/B", "adaptive"),
                 "full": ("0.5/L", "constant")},
    "nesterov": {"sample": ("0.1/R", "adaptive"), "batch": ("0.25/B", "adaptive"),
                 "full": ("1/L", "constant")},
    "adagrad": {"sample": ("5/M", "adaptive"), "batch": ("1/M", "constant"),
                "full": ("5/M", "constant")},
    "rmsprop": {"sample": ("0.1/M", "adaptive"), "batch": ("0.1/M", "invscaling"),
                "full": ("0.5/M", "constant")},
    "adadelta": {"sample": (1.0, "constant"), "batch": (1.0, "constant"),
                 "full": (1.0, "constant")},
    "adam": {"sample": ("0.1/M", "adaptive"), "batch": ("1/M", "adaptive"),
             "full": ("0.3/M", "constant")},
}
DEFAULTS["amsgrad"] = DEFAULTS["adamw"] = DEFAULTS["adam"]
# SGDClassifier's: the same but per-sample "sgd", scikit-learn's classifier
# default "optimal" (its eta0 unused). The labels' targets (+-1, or one-hot)
# are on the scale of standardized ones, so the steps carry over; the
# curvature of each loss (descent._losses) enters the "c/L", "c/R", "c/B" steps.
# Mini-batch RMSprop adapts its step instead of decaying it: invscaling
# stopped at max_iter 5 points of training accuracy short of
# LogisticRegression's on standardized digits (10 classes, log loss), adaptive
# 1 point short in 146 epochs (measured; breast cancer and wine: equal).
CLASSIFIER_DEFAULTS = dict(DEFAULTS, sgd=dict(DEFAULTS["sgd"], sample=(0.01, "optimal")),
                           rmsprop=dict(DEFAULTS["rmsprop"], batch=("0.1/M", "adaptive")))


def kernel_schedule(learning_rate):
    """The kernel's Schedule code of a ``learning_rate``: a string's own; a
    descent.schedules object's RATES per update (a table of the epoch's
    steps), CONSTANT per epoch (a step set before each epoch)."""
    if isinstance(learning_rate, LRSchedule):
        return (_kernels.Schedule.RATES if learning_rate.unit == "update"
                else _kernels.Schedule.CONSTANT)
    return SCHEDULES[learning_rate]


def batch_mode(batch_size):
    return "full" if batch_size is None else ("sample" if batch_size == 1 else "batch")


def optimizer_name(optimizer):
    """The registry name an optimizer stands under (an instance: its class's)."""
    if isinstance(optimizer, str):
        return optimizer
    name = type(optimizer).__name__
    if name == "SGD":
        return "momentum" if optimizer.momentum else "sgd"
    return {"Adagrad": "adagrad", "RMSprop": "rmsprop", "Adadelta": "adadelta",
            "Adam": "adam", "AdamW": "adamw"}.get(name, "adam")


def resolve_defaults(optimizer, batch_size, eta0, learning_rate, table=None):
    """(eta0, learning_rate) with "auto" resolved from ``table`` (DEFAULTS if
    None); eta0 may be "1/L" (the caller estimates L) or None (an optimizer
    instance's own lr). A schedule object stays: eta0 is its base rate."""
    default_eta0, default_schedule = (DEFAULTS if table is None else table)[
        optimizer_name(optimizer)][batch_mode(batch_size)]
    if isinstance(learning_rate, str) and learning_rate == "auto":
        learning_rate = default_schedule
    if eta0 == "auto":
        eta0 = None if isinstance(optimizer, Optimizer) else default_eta0
    return eta0, learning_rate


def rule_and_lr(optimizer, eta0, plain_steps):
    """(RuleParams dict, base learning rate) of the chosen optimizer; an
    explicit eta0 (not None) overrides an optimizer instance's lr."""
    if plain_steps:
        return make_optimizer("sgd", eta0)._kernel_params(), float(eta0)
    if isinstance(optimizer, Optimizer):
        return optimizer._kernel_params(), float(optimizer.lr if eta0 is None else eta0)
    opt = make_optimizer(optimizer, eta0, weight_decay=0.0)
    return opt._kernel_params(), float(opt.lr)


def make_plan(est, *, sparse, threads=None):
    """The plan of an estimator's parameters for X sparse or not; with
    ``threads=None`` the thread count comes from ``est.n_jobs``. Its ``lr``
    is NaN where the default step is 1 / L: ``with_lr`` sets it."""
    if threads is None:
        threads = n_threads(est.n_jobs)
    plain_steps = (isinstance(est.optimizer, str) and est.optimizer == "sgd"
                   and est.batch_size == 1)
    path = choose_path(plain_steps=plain_steps, batch_size=est.batch_size,
                       threads=threads, sparse=sparse, average=bool(est.average),
                       sparse_update=est.sparse_update)
    eta0, schedule = resolve_defaults(est.optimizer, est.batch_size, est.eta0,
                                      est.learning_rate, est._DEFAULTS)
    auto_step = eta0 if isinstance(eta0, str) else None      # "c/L" or "c/R"
    rule_params, lr = rule_and_lr(est.optimizer, 1.0 if auto_step else eta0,
                                  plain_steps)
    if auto_step:
        lr = math.nan
    fields = dict(
        path=int(path),
        loss=int(est._loss_info().code),
        epsilon=loss_parameter(est.loss, est.epsilon),
        penalty=int(PENALTIES[est.penalty]),
        alpha=float(est.alpha),
        l1_ratio=float(est.l1_ratio if est.l1_ratio is not None else 0.0),
        fit_intercept=bool(est.fit_intercept),
        intercept_decay=SPARSE_INTERCEPT_DECAY if sparse and plain_steps else 1.0,
        schedule=int(kernel_schedule(schedule)),
        eta0=lr,
        power_t=float(est.power_t),
        average_start=float(est.average) if est.average else 0.0,
        # The full-batch gradient does not depend on the order: rows are read
        # in storage order whatever shuffle says.
        shuffle=bool(est.shuffle) and est.batch_size is not None,
        batch_size=min(int(est.batch_size or 1), 2**62),
        clip_norm=float(est.clip_grad_norm or 0.0),
        n_threads=int(threads),
    )
    return Plan(path=int(path), rule_params=rule_params, lr=lr, fields=fields,
                auto_step=auto_step)


def auto_step(spec, X, sample_weight, *, fit_intercept, curvature, l2, batch_size):
    """The step a "c/L", "c/R" or "c/B" default stands for on this data."""
    factor, base = spec.split("/")
    if base == "M":
        return float(factor) / mean_row_l1(X, fit_intercept)
    scale = 0.0
    if base in ("L", "B"):
        scale += lipschitz(X, sample_weight, fit_intercept=fit_intercept,
                           curvature=curvature, l2=l2)
    if base in ("R", "B"):
        scale += (curvature * max_row_norm(X, sample_weight, fit_intercept) + l2) / (
            batch_size if base == "B" else 1)
    return float(factor) / scale


def summed_csr(X):
    """CSR X with its duplicate entries summed, as fit reads it (on a copy:
    the caller's X stays as it is)."""
    X = sp.csr_matrix(X)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def mean_row_l1(X, fit_intercept):
    """The mean L1 norm of a row (plus 1 for the intercept), as fit reads X
    (a CSR X's duplicates summed: stored as parts that cancel they changed
    the step, measured)."""
    if sp.issparse(X):
        X = summed_csr(X)
        total = float(np.abs(X.data[:X.indptr[-1]]).sum())
    else:     # by blocks of rows of about 1 MB: no temporary of X's size (4,096
        # rows at d = 1000 were 16 MB, a fifth of a float32 X: measured)
        rows = max(1, BLOCK_BYTES // max(1, X.shape[1] * X.itemsize))
        total = sum(float(np.abs(X[i:i + rows]).sum()) for i in range(0, X.shape[0], rows))
    return total / max(X.shape[0], 1) + (1.0 if fit_intercept else 0.0) or 1.0


def max_row_norm(X, sample_weight, fit_intercept):
    """The largest squared norm of a row (plus 1 for the intercept), times
    its sample weight: the curvature of one sample's squared loss."""
    if sp.issparse(X):
        # the sums of squares of each CSR row's stored values (an empty row
        # is 0): one pass over the values, where X.multiply(X) copied X
        # twice (0.29 s of a 0.85 s fit at 100,000 x 100,000, 50 per row)
        X = summed_csr(X)
        end = X.indptr[-1]
        norms = np.zeros(X.shape[0])
        filled = np.flatnonzero(X.indptr[:-1] < X.indptr[1:])
        if filled.size:
            data = X.data[:end]
            norms[filled] = np.add.reduceat(data * data, X.indptr[filled])
    else:
        norms = np.einsum("ij,ij->i", X, X)
    norms = norms + (1.0 if fit_intercept else 0.0)
    if sample_weight is not None:
        norms = norms * sample_weight
    return float(norms.max(initial=0.0)) or 1.0


def lipschitz(X, sample_weight, *, fit_intercept, curvature, l2, iterations=50, rtol=1e-3):
    """An estimate of L, the Lipschitz constant of the gradient of the mean
    weighted loss plus penalty: ``curvature`` times the largest eigenvalue of
    (1/n) sum_i sw_i x_i x_i' (x_i with a 1 for the intercept), by power
    iteration, plus the penalty's L2 part. (The objective is a mean over the
    n rows, its weights not normalised.) A full pass over X per iteration;
    stops once an iteration changes it by < rtol."""
    n, d = X.shape
    total = float(n)
    if n == 0 or (sample_weight is not None and not np.any(sample_weight > 0)):
        return 1.0
    v = np.random.default_rng(0).uniform(0.5, 1.5, size=d + 1)
    if not fit_intercept:
        v[-1] = 0.0
    value = 0.0
    # float32 X: the products in float32 (a float64 vector would make NumPy
    # convert all of X to float64 first)
    dtype = X.dtype if X.dtype == np.float32 else np.float64
    for _ in range(iterations):
        v /= np.linalg.norm(v)
        # one float64 n-vector, weighted in place (a vector of ones and its
        # product made the full-batch fit of a 1,000,000 x 10 float32 X take
        # X's size again: measured); the same values as before
        z = np.add(np.asarray(X @ v[:-1].astype(dtype)).ravel(), v[-1], dtype=np.float64)
        if sample_weight is not None:
            z *= sample_weight
        Av = np.empty(d + 1)
        Av[:-1] = np.asarray(X.T @ z.astype(dtype, copy=False)).ravel() / total
        Av[-1] = z.sum() / total if fit_intercept else 0.0
        new = float(v @ Av)
        v = Av
        if not np.isfinite(new) or abs(new - value) <= rtol * abs(new):
            value = new
            break
        value = new
    return curvature * max(value, np.finfo(float).tiny) + l2
