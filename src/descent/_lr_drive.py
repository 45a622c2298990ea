"""A :mod:`descent.schedules` schedule as an estimator's ``learning_rate``: the
checks of the combination, and the drivers that give the kernel its steps
epoch by epoch.

Per update (``unit="update"``): the kernel's ``RATES`` schedule reads the step
of every update from a table (``Workspace.set_rates``). Before each epoch the
driver fills it with the schedule's closed form, ``lr(base_lr, steps)`` for
the update counts the epoch will make, so the epoch's ``nogil`` loop runs
without Python; the count is the estimator's own (``t_ - 1`` per sample on
the PLAIN paths, the optimizer's step count otherwise), so ``partial_fit``
continues the schedule where the last call left it. The table costs what
the closed form costs in NumPy (10-22 ns an update for ExponentialLR ..
OneCycleLR, a tenth to a fifth of a per-sample epoch on 10 features), so
from ``PREFETCH_UPDATES`` updates an epoch on, the next epoch's table is
computed on a helper thread while the kernel runs the current one (the
kernel holds no GIL, NumPy releases it), which hides it where a core is free
(bench/bench_schedules.py).

Per epoch (``unit="epoch"``): the kernel keeps a constant step
(``CONSTANT``), which the driver sets before each epoch: ``lr(base_lr,
epoch)`` from the closed form, or, for a schedule driven by a metric
(ReduceLROnPlateau, or a SequentialLR holding one), the learning rate of a
running copy of it that is stepped after each epoch with the epoch's metric.
The epochs count from ``fit`` on (``_lr_epoch``); the running copy is kept
between ``partial_fit`` calls (``_lr_run``) and restarted if the schedule's
parameters or the base learning rate change.

The estimator's schedule object is never stepped or attached: it is a
parameter (``clone``, grid search), and may be in use elsewhere.
"""

from __future__ import annotations

import copy
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone

from ._lr_base import LRSchedule
from ._lr_cosine import OneCycleLR
from ._lr_plateau import ReduceLROnPlateau, SequentialLR

# Updates per epoch from which the next epoch's table is computed during the
# current epoch, on a helper thread (below it the table takes well under a
# millisecond and a thread is not worth starting).
PREFETCH_UPDATES = 65536
# Steps per call of the schedule's closed form when it fills a table.
TABLE_BLOCK = 32768


def schedule_of(learning_rate: Any) -> LRSchedule | None:
    """The schedule object of a ``learning_rate`` parameter, or None (a string)."""
    return learning_rate if isinstance(learning_rate, LRSchedule) else None


def plateau_of(schedule: LRSchedule) -> ReduceLROnPlateau | None:
    """The ReduceLROnPlateau a schedule is or holds, or None."""
    if isinstance(schedule, ReduceLROnPlateau):
        return schedule
    if isinstance(schedule, SequentialLR):
        for child in schedule.schedulers:
            if isinstance(child, ReduceLROnPlateau):
                return child
    return None


def check_schedule(est: Any) -> None:
    """Check an estimator's schedule object and its combination with the
    estimator's parameters; ValueError naming ``learning_rate`` otherwise."""
    schedule = schedule_of(est.learning_rate)
    if schedule is None:
        return
    try:
        schedule._validate()
        unit = schedule.unit
    except ValueError as error:
        raise ValueError(f"learning_rate={schedule!r}: {error}") from None
    if isinstance(schedule, OneCycleLR) and schedule.cycle_momentum:
        raise ValueError(
            "learning_rate=OneCycleLR(cycle_momentum=True): the estimators schedule "
            "the learning rate only, not the optimizer's momentum; pass "
            "cycle_momentum=False (or set the optimizer's momentum yourself)")
    plateau = plateau_of(schedule)
    if plateau is not None and plateau.mode == "max" and not est.early_stopping:
        raise ValueError(
            "learning_rate=ReduceLROnPlateau(mode='max') follows a score, which "
            "needs early_stopping=True (it is then the validation score); without "
            "early stopping the metric is the epoch's training objective: use "
            "mode='min'")
    if unit not in ("epoch", "update"):     # _validate checked it; for type checkers
        raise ValueError(f"learning_rate has unit={unit!r}")


def _frozen(value: Any) -> Any:
    """A comparable snapshot of a parameter value (schedules by their params)."""
    if isinstance(value, BaseEstimator):
        return (type(value), tuple((name, _frozen(v)) for name, v in
                                   sorted(value.get_params(deep=False).items())))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, value.tobytes())
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return value


class UpdateSchedule:
    """Fills the kernel's table of per-update learning rates before each epoch
    (the next epoch's computed during the current one on large epochs);
    ``close()`` when the epochs are over."""

    def __init__(self, schedule: LRSchedule, base_lr: float):
        self.schedule = clone(schedule)     # a private copy: lr() only reads it
        self.base_lr = base_lr
        self.epochs_left: float = math.inf
        self.executor: ThreadPoolExecutor | None = None
        self.pending: tuple[int, int, Any] | None = None   # (first, n, future)

    def check_horizon(self, workspace: Any, max_epochs: int) -> None:
        """Refuse a schedule that ends before the updates ``max_epochs``
        epochs may make (OneCycleLR's total_steps)."""
        last = workspace.next_update + max_epochs * workspace.updates_per_epoch - 1
        _check_reaches(self.schedule, self.base_lr, last, max_epochs,
                       workspace.updates_per_epoch, "updates")
        self.epochs_left = max_epochs

    def table(self, first: int, n: int) -> np.ndarray:
        """The learning rates of the updates first .. first + n - 1 (0-based),
        by blocks of TABLE_BLOCK: the closed forms make several passes over
        their arrays, which then stay in the cache (measured 1.6-1.9x faster
        than one call over a million steps; the same values)."""
        out = np.empty(n)
        for start in range(0, n, TABLE_BLOCK):
            stop = min(start + TABLE_BLOCK, n)
            out[start:stop] = self.schedule.lr(
                self.base_lr, np.arange(first + start, first + stop, dtype=np.int64))
        return out

    def before_epoch(self, workspace: Any) -> None:
        first, n = workspace.next_update, workspace.updates_per_epoch
        pending, self.pending = self.pending, None
        if pending is not None and pending[:2] == (first, n):
            rates = pending[2].result()
        else:
            rates = self.table(first, n)
        workspace.set_rates(rates)
        self.epochs_left -= 1
        if n >= PREFETCH_UPDATES and self.epochs_left > 0:
            if self.executor is None:
                self.executor = ThreadPoolExecutor(1, thread_name_prefix="descent-lr")
            self.pending = (first + n, n, self.executor.submit(self.table, first + n, n))

    def after_epoch(self, rule: Any) -> None:
        pass

    def close(self) -> None:
        """Let the helper thread go (a table in the making is dropped)."""
        self.pending = None
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None


class EpochSchedule:
    """Sets the kernel's constant step before each epoch; steps a
    metric-driven schedule's running copy after it."""

    def __init__(self, est: Any, schedule: LRSchedule, base_lr: float):
        self.est = est
        self.base_lr = base_lr
        self.schedule = clone(schedule)
        self.run: LRSchedule | None = None
        plateau = plateau_of(schedule)
        if plateau is not None:
            key = (_frozen(schedule), base_lr)
            run = getattr(est, "_lr_run", None)
            if run is None or getattr(est, "_lr_key", None) != key:
                run = clone(schedule).start(base_lr)
                est._lr_key = key
            est._lr_run = self.run = run
            self.metric = ("validation_scores" if plateau.mode == "max" else
                           "validation_losses" if est.early_stopping else "loss_curve")
        if not hasattr(est, "_lr_epoch"):
            est._lr_epoch = 0

    def check_horizon(self, workspace: Any, max_epochs: int) -> None:
        if self.run is None:
            # torch's driver steps after the last epoch too: count that step
            _check_reaches(self.schedule, self.base_lr, self.est._lr_epoch + max_epochs,
                           max_epochs, 1, "epochs")

    def before_epoch(self, workspace: Any) -> None:
        if self.run is not None:
            workspace.eta = self.run.get_last_lr()[0]
        else:
            workspace.eta = float(self.schedule.lr(self.base_lr, self.est._lr_epoch))

    def after_epoch(self, rule: Any) -> None:
        if self.run is not None:
            values = getattr(rule, self.metric)
            self.run.step(values[-1] if values else None)
        self.est._lr_epoch += 1

    def close(self) -> None:
        pass


def _check_reaches(schedule, base_lr, last, max_epochs, per_epoch, unit):
    try:
        schedule.lr(base_lr, last)
    except ValueError as error:
        raise ValueError(
            f"learning_rate={schedule!r} cannot give the steps of this call: up to "
            f"{max_epochs} epoch(s) of {per_epoch} update(s) need its step {last} "
            f"(counted in {unit}), and it says: {error} Give the schedule more "
            "steps (for OneCycleLR: total_steps, or epochs=max_iter with "
            "steps_per_epoch) or lower max_iter.") from None


def make_driver(est: Any, base_lr: float) -> UpdateSchedule | EpochSchedule | None:
    """The driver of the estimator's schedule object (None for a string)."""
    schedule = schedule_of(est.learning_rate)
    if schedule is None:
        return None
    if schedule.unit == "update":
        return UpdateSchedule(schedule, base_lr)
    return EpochSchedule(est, schedule, base_lr)


def copy_state(est: Any) -> dict[str, Any]:
    """The schedule state of an estimator, to restore after a failed call."""
    return {name: copy.deepcopy(getattr(est, name)) for name in
            ("_lr_run", "_lr_key", "_lr_epoch") if hasattr(est, name)}
