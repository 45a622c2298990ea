"""The training plan: an estimator's parameters turned, once, into the path its
epochs run on and the settings the kernel takes.

Every "which loop runs?" question is answered here, in :func:`make_plan`, and
carried to the kernel as the ``path`` field of its ``Settings`` struct, where
one switch acts on it (``_kernels.pyx``, ``run_path``). The paths:

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

import warnings
from dataclasses import dataclass

from joblib import effective_n_jobs

from . import _kernels
from .optim import Optimizer, make_optimizer

Path = _kernels.Path

LOSSES = {
    "squared_error": _kernels.Loss.SQUARED_ERROR,
    "huber": _kernels.Loss.HUBER,
    "epsilon_insensitive": _kernels.Loss.EPSILON_INSENSITIVE,
    "squared_epsilon_insensitive": _kernels.Loss.SQUARED_EPSILON_INSENSITIVE,
}
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
# scikit-learn's SPARSE_INTERCEPT_DECAY: with sparse X the per-sample path
# moves the intercept 100 times slower, since it is updated at every sample
# while a feature is only updated when present.
SPARSE_INTERCEPT_DECAY = 0.01


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
                "on one thread (descent.show_config())", UserWarning, stacklevel=6)
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
    (``settings(t, step, seed, optimal_init)`` completes them)."""

    path: int
    rule_params: dict
    lr: float
    fields: dict

    @property
    def plain(self):
        """Whether the steps are scikit-learn's per-sample SGD (PLAIN paths)."""
        return self.path in (Path.PLAIN, Path.HOGWILD_PLAIN)

    def settings(self, *, t, step, seed, optimal_init=0.0, u=0.0, **overrides):
        """The kernel's Settings dict."""
        return dict(self.fields, t=float(t), step=float(step), seed=int(seed),
                    optimal_init=float(optimal_init), u=float(u), **overrides)


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


def rule_and_lr(optimizer, eta0, plain_steps):
    """(RuleParams dict, base learning rate) of the chosen optimizer."""
    if plain_steps:
        return make_optimizer("sgd", eta0)._kernel_params(), float(eta0)
    opt = (optimizer if isinstance(optimizer, Optimizer)
           else make_optimizer(optimizer, eta0, weight_decay=0.0))
    return opt._kernel_params(), float(opt.lr)


def make_plan(est, *, sparse, threads=None):
    """The plan of an ``SGDRegressor``'s parameters for X sparse or not; with
    ``threads=None`` the thread count comes from ``est.n_jobs``."""
    if threads is None:
        threads = n_threads(est.n_jobs)
    plain_steps = (isinstance(est.optimizer, str) and est.optimizer == "sgd"
                   and est.batch_size == 1)
    path = choose_path(plain_steps=plain_steps, batch_size=est.batch_size,
                       threads=threads, sparse=sparse, average=bool(est.average),
                       sparse_update=est.sparse_update)
    rule_params, lr = rule_and_lr(est.optimizer, est.eta0, plain_steps)
    fields = dict(
        path=int(path),
        loss=int(LOSSES[est.loss]),
        epsilon=float(est.epsilon),
        penalty=int(PENALTIES[est.penalty]),
        alpha=float(est.alpha),
        l1_ratio=float(est.l1_ratio if est.l1_ratio is not None else 0.0),
        fit_intercept=bool(est.fit_intercept),
        intercept_decay=SPARSE_INTERCEPT_DECAY if sparse and plain_steps else 1.0,
        schedule=int(SCHEDULES[est.learning_rate]),
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
    return Plan(path=int(path), rule_params=rule_params, lr=lr, fields=fields)
