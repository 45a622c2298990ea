"""The schedules of :mod:`descent.schedules` that hold a state beyond the step
count: ReduceLROnPlateau (driven by a metric) and SequentialLR (which may hold
one after a warm-up)."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from ._lr_base import RAISES_DOC, TORCH, LRSchedule, check_choice, check_int, check_real
from ._lr_cosine import OneCycleLR

__all__ = ["ReduceLROnPlateau", "SequentialLR"]


class ReduceLROnPlateau(LRSchedule):
    __doc__ = f"""Multiply the learning rate by ``factor`` when a metric stops improving.

    At each :meth:`step`, the metric of the step that ends improves on the best
    so far if it is below ``best * (1 - threshold)`` (``mode="min"``,
    ``threshold_mode="rel"``), below ``best - threshold`` (min, abs), above
    ``best * (1 + threshold)`` (max, rel) or above ``best + threshold`` (max,
    abs); the first metric always does, and NaN never does. After more than
    ``patience`` steps in a row without improvement the learning rate becomes
    ``max(lr * factor, min_lr)``, unless that lowers it by ``eps`` or less;
    then ``cooldown`` steps are not counted. These are torch's rules, value
    for value.

    There is no closed form: :meth:`lr` gives the current learning rate at
    every step. Unlike torch, it composes with a warm-up: put it after one in
    a :class:`SequentialLR`, where it starts at the base learning rate at its
    milestone and sees only the metrics of the steps it governs (see
    :mod:`descent.schedules`).

    Parameters
    ----------
    mode : {{"min", "max"}}, default="min"
        Whether the metric should decrease (a loss) or increase (a score).
    factor : float, default=0.1
        Multiplier of the learning rate at a reduction, in [0, 1).
    patience : int, default=10
        Steps without improvement tolerated before a reduction, >= 0.
    threshold : float, default=1e-4
        Least improvement that counts, finite and >= 0.
    threshold_mode : {{"rel", "abs"}}, default="rel"
        Whether ``threshold`` is relative to the best metric or absolute.
    cooldown : int, default=0
        Steps after a reduction during which no bad step is counted, >= 0.
    min_lr : float, default=0
        Lower bound of the learning rate, finite and >= 0 (a learning rate:
        one value: a schedule drives the optimizer's one learning rate).
    eps : float, default=1e-8
        A reduction by ``eps`` or less is not made; finite and >= 0.

    Attributes
    ----------
    unit : "epoch"
        A class attribute: descent's estimators step it once per epoch, with
        the epoch's validation score or training loss.

    Raises
    ------
    {RAISES_DOC} Also from
        :meth:`step`, if ``metrics`` is missing or not a real number.

    See Also
    --------
    SequentialLR : A warm-up, then plateau reductions.

    References
    ----------
    .. [1] PyTorch, torch.optim.lr_scheduler.ReduceLROnPlateau,
       {TORCH}.ReduceLROnPlateau.html

    Examples
    --------
    >>> from descent.schedules import ReduceLROnPlateau
    >>> sched = ReduceLROnPlateau(patience=1, factor=0.5).start(1.0)
    >>> for loss in [3.0, 2.0, 2.5, 2.4, 2.6, 1.0]:
    ...     sched.step(loss)
    ...     print(sched.get_last_lr())
    [1.0]
    [1.0]
    [1.0]
    [0.5]
    [0.5]
    [0.5]
    """

    unit = "epoch"

    def __init__(self, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.eps = eps

    def _validate(self):
        super()._validate()
        check_choice("mode", self.mode, ("min", "max"))
        check_real("factor", self.factor, low=0.0, high=1.0, high_open=True)
        check_int("patience", self.patience, 0)
        check_real("threshold", self.threshold, low=0.0)
        check_choice("threshold_mode", self.threshold_mode, ("rel", "abs"))
        check_int("cooldown", self.cooldown, 0)
        check_real("min_lr", self.min_lr, low=0.0)
        check_real("eps", self.eps, low=0.0)

    @property
    def needs_metric(self) -> bool:
        """Whether :meth:`step` takes a metric: always True here."""
        return True

    def _lr(self, base_lr, t):
        return np.full(t.shape, base_lr * getattr(self, "_factor", 1.0))

    def _start(self, base_lr):
        super()._start(base_lr)
        self._best = math.inf if self.mode == "min" else -math.inf
        self._num_bad_epochs = 0
        self._cooldown_counter = 0
        self._factor = 1.0

    def _improves(self, current: float) -> bool:
        best, threshold = self._best, float(self.threshold)
        relative = self.threshold_mode == "rel"
        if self.mode == "min":
            return current < (best * (1.0 - threshold) if relative else best - threshold)
        return current > (best * (1.0 + threshold) if relative else best + threshold)

    def _advance(self, metric):
        if metric is None:
            raise ValueError("ReduceLROnPlateau.step needs metrics, the metric of the "
                             "step that ends")
        try:
            current = float(metric)
        except (TypeError, ValueError):
            raise ValueError(f"metrics must be a real number, got {metric!r}") from None
        if self._improves(current):
            self._best = current
            self._num_bad_epochs = 0
        else:
            self._num_bad_epochs += 1
        if self._cooldown_counter > 0:
            self._cooldown_counter -= 1
            self._num_bad_epochs = 0
        if self._num_bad_epochs > self.patience:
            old = self._base_lr * self._factor
            new = max(old * float(self.factor), float(self.min_lr))
            if old - new > self.eps:
                self._factor = new / self._base_lr   # old > new >= 0: base_lr > 0
            self._cooldown_counter = int(self.cooldown)
            self._num_bad_epochs = 0
        super()._advance(metric)

    def _extra_state(self):
        return {"best": self._best, "num_bad_epochs": self._num_bad_epochs,
                "cooldown_counter": self._cooldown_counter, "factor": self._factor}

    def _load_extra_state(self, state_dict):
        try:
            best = state_dict["best"]
            bad, cooldown = state_dict["num_bad_epochs"], state_dict["cooldown_counter"]
            factor = state_dict["factor"]
        except KeyError as missing:
            raise ValueError(f"state_dict has no {missing}: it is not a "
                             f"ReduceLROnPlateau's") from None
        if isinstance(best, bool) or not isinstance(best, Real) or math.isnan(best):
            raise ValueError(f"state_dict['best'] must be a real number, got {best!r}")
        self._best = float(best)
        self._num_bad_epochs = check_int("state_dict['num_bad_epochs']", bad, 0)
        self._cooldown_counter = check_int("state_dict['cooldown_counter']", cooldown, 0)
        self._factor = check_real("state_dict['factor']", factor, low=0.0)


class SequentialLR(LRSchedule):
    __doc__ = f"""Schedules one after the other, switching at milestones.

    Schedule ``i`` governs the steps from ``milestones[i - 1]`` (0 for the
    first) to ``milestones[i]``, and starts afresh at its milestone: step
    ``t`` gets ``schedulers[i]``'s learning rate at step ``t - milestones[i -
    1]`` from the base learning rate, as torch's SequentialLR gives.

    Unlike torch's, it may hold :class:`ReduceLROnPlateau` (e.g. after a
    :class:`LinearLR` warm-up): it starts at the base learning rate at its
    milestone, with no best metric, and :meth:`step` passes it only the
    metrics of the steps it governs; :meth:`step` takes ``metrics`` from then
    on and ignores them before. :meth:`lr` gives its current learning rate
    for every step of its span.

    Parameters
    ----------
    schedulers : list of LRSchedule
        At least one, each a distinct instance, all with the same ``unit``.
        OneCycleLR is refused (it ignores the base learning rate and has its
        own warm-up).
    milestones : list of int
        Steps at which the next schedule takes over: one fewer than
        ``schedulers``, increasing, >= 1.

    Attributes
    ----------
    unit : {{"epoch", "update"}}
        The ``unit`` of the schedules (a property).

    Raises
    ------
    {RAISES_DOC}

    See Also
    --------
    LinearLR : The usual warm-up.
    ReduceLROnPlateau : Plateau reductions after a warm-up.

    References
    ----------
    .. [1] PyTorch, torch.optim.lr_scheduler.SequentialLR, {TORCH}.SequentialLR.html

    Examples
    --------
    >>> from descent.schedules import ExponentialLR, LinearLR, SequentialLR
    >>> sched = SequentialLR([LinearLR(start_factor=0.5, total_iters=2),
    ...                       ExponentialLR(gamma=0.5)], milestones=[2])
    >>> sched.lr(1.0, range(5))
    array([0.5 , 0.75, 1.  , 0.5 , 0.25])

    Warm-up, then plateau reductions:

    >>> from descent.schedules import ReduceLROnPlateau
    >>> sched = SequentialLR([LinearLR(start_factor=0.5, total_iters=2),
    ...                       ReduceLROnPlateau(patience=0)], milestones=[2]).start(1.0)
    >>> for loss in [5.0, 4.0, 3.0, 3.5]:
    ...     sched.step(loss)
    ...     print(sched.get_last_lr())
    [0.75]
    [1.0]
    [1.0]
    [0.1]
    """

    def __init__(self, schedulers, milestones):
        self.schedulers = schedulers
        self.milestones = milestones

    @property   # derived from the schedules, not a parameter
    def unit(self) -> str:  # type: ignore[override]
        """The ``unit`` of the schedules, ``"epoch"`` or ``"update"``.

        Raises ``ValueError`` if the schedules do not all have the same unit.
        """
        units = [getattr(child, "unit", None) for child in self.schedulers]
        if len(set(units)) != 1:
            raise ValueError(f"schedulers must all have the same unit, got {units}")
        return str(units[0])

    @property
    def needs_metric(self) -> bool:
        """Whether :meth:`step` takes a metric: if a schedule is ReduceLROnPlateau."""
        return any(child.needs_metric for child in self.schedulers)

    def _validate(self):
        if not isinstance(self.schedulers, (list, tuple)) or not self.schedulers:
            raise ValueError(f"schedulers must be a non-empty list of descent.schedules "
                             f"schedules, got {self.schedulers!r}")
        for i, child in enumerate(self.schedulers):
            if not isinstance(child, LRSchedule) or isinstance(child, OneCycleLR):
                raise ValueError(f"schedulers[{i}] must be a descent.schedules schedule "
                                 f"other than OneCycleLR, got {child!r}")
            if any(child is other for other in self.schedulers[:i]):
                raise ValueError(f"schedulers[{i}] is an earlier schedule again: each "
                                 f"needs its own instance (its own state); clone it")
            try:
                child._validate()
            except ValueError as error:
                raise ValueError(f"schedulers[{i}]: {error}") from None
        milestones = self.milestones
        if (not isinstance(milestones, (list, tuple))
                or len(milestones) != len(self.schedulers) - 1):
            raise ValueError(f"milestones must be a list of {len(self.schedulers) - 1} "
                             f"integers (one fewer than schedulers), got {milestones!r}")
        for i, milestone in enumerate(milestones):
            check_int(f"milestones[{i}]", milestone, 1 if i == 0 else milestones[i - 1] + 1)
        super()._validate()     # the unit: the schedules must agree

    def _segment(self, t):
        return np.searchsorted(np.asarray(self.milestones, dtype=np.int64), t, side="right")

    def _lr(self, base_lr, t):
        segment = self._segment(t)
        starts = [0, *self.milestones]
        out = np.empty(t.shape)
        for i, child in enumerate(self.schedulers):
            here = segment == i
            if here.any():
                out[here] = child._lr(base_lr, t[here] - starts[i])
        return out

    def _start(self, base_lr):
        super()._start(base_lr)
        for child in self.schedulers:
            child._start(base_lr)

    def _advance(self, metric):
        # only the governing schedule advances: the next one is still at its
        # step 0 (fresh, for ReduceLROnPlateau) when its milestone comes
        self.schedulers[int(self._segment(self._t))]._advance(metric)
        super()._advance(metric)

    def _extra_state(self):
        return {"schedulers": [child.state_dict() for child in self.schedulers]}

    def _load_extra_state(self, state_dict):
        states = state_dict.get("schedulers")
        if not isinstance(states, (list, tuple)) or len(states) != len(self.schedulers):
            raise ValueError(f"state_dict['schedulers'] must hold the states of the "
                             f"{len(self.schedulers)} schedulers, got {states!r}")
        for child, state in zip(self.schedulers, states):
            child.load_state_dict(state)
