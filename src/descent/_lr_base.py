"""The base class of :mod:`descent.schedules`: the parameter object, the
vectorised ``lr(base_lr, steps)`` and the torch-like driver (``start`` /
``attach``, ``step``, ``get_last_lr``, ``state_dict``), plus the parameter
checks the schedules share."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

UNITS = ("epoch", "update")
# shared by the docstrings of the schedules
TORCH = "https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler"
UNIT_DOC = """unit : {"epoch", "update"}, default="epoch"
        What a step counts when descent's estimators drive the schedule: an
        epoch or an optimizer update (see :mod:`descent.schedules`). The
        driver (:meth:`step`) does not read it."""
RAISES_DOC = """ValueError
        The constructor only stores the parameters (as scikit-learn's
        estimators do); :meth:`lr`, :meth:`start`, :meth:`attach` and
        :meth:`step` check them and raise, naming the first that is not in
        its range above (or not of its type: bool is not an int)."""


# -- parameter checks: each raises ValueError naming the parameter -------------
def check_real(name: str, value: Any, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a float if it is a finite real number within the bounds."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, Real)
            or not math.isfinite(value)):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    number = float(value)
    below = low is not None and (number <= low if low_open else number < low)
    above = high is not None and (number >= high if high_open else number > high)
    if below or above:
        if high is None:
            allowed = f"{'>' if low_open else '>='} {low}"
        elif low is None:
            allowed = f"{'<' if high_open else '<='} {high}"
        else:
            allowed = (f"in {'(' if low_open else '['}{low}, {high}"
                       f"{')' if high_open else ']'}")
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return number


def check_int(name: str, value: Any, low: int) -> int:
    """``value`` as an int if it is an integer >= ``low`` (bool is refused)."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral)
            or value < low):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def check_bool(name: str, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def as_steps(steps: Any) -> np.ndarray:
    """Step counts as an int64 array (any shape); negative or non-integer
    counts are refused."""
    array = np.asarray(steps)
    if array.size == 0:
        return np.zeros(array.shape, dtype=np.int64)
    if array.dtype.kind not in "iu":
        raise ValueError(f"steps must be integers, got an array of dtype {array.dtype}")
    if array.min() < 0:
        raise ValueError(f"steps must be >= 0, got {array.min()}")
    return array.astype(np.int64)


class LRSchedule(BaseEstimator):
    """Base class of the learning-rate schedules of :mod:`descent.schedules`.

    A schedule is a scikit-learn parameter object (``get_params``,
    ``set_params``, ``clone``) with two ways to be used: the vectorised
    :meth:`lr`, which gives the learning rates of any step counts from the
    closed form, and a stateful driver in torch's style (:meth:`attach` or
    :meth:`start`, then :meth:`step`, :meth:`get_last_lr`, :meth:`state_dict`).
    Subclasses store their parameters in ``__init__``, check them in
    ``_validate`` and give the closed form in ``_lr``.

    Attributes
    ----------
    unit : {"epoch", "update"}
        What a step counts when descent's estimators drive the schedule (see
        :mod:`descent.schedules`). A constructor parameter of most schedules.

    Raises
    ------
    ValueError
        If a parameter is invalid (checked by :meth:`lr`, :meth:`start`,
        :meth:`attach` and :meth:`step`, not by the constructor).

    See Also
    --------
    descent.schedules : The schedules and the design of units and composition.
    descent.optim : The optimizers whose ``lr`` a schedule drives.

    References
    ----------
    .. [1] PyTorch, "How to adjust learning rate", torch.optim documentation,
       https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate

    Examples
    --------
    Every schedule is used in one of two ways, here with
    :class:`~descent.schedules.StepLR`:

    >>> import numpy as np
    >>> from descent.optim import SGD
    >>> from descent.schedules import LRSchedule, StepLR
    >>> sched = StepLR(step_size=2, gamma=0.5)
    >>> isinstance(sched, LRSchedule)
    True
    >>> sched.lr(0.1, range(5))                  # vectorised, from the closed form
    array([0.1  , 0.1  , 0.05 , 0.05 , 0.025])
    >>> opt = SGD(lr=0.1)
    >>> _ = sched.attach(opt)                    # driving an optimizer, as torch
    >>> for _ in range(4):
    ...     _ = opt.step(np.ones(2), np.ones(2))
    ...     sched.step()
    >>> opt.lr, sched.last_epoch
    (0.025, 4)
    """

    unit: str
    _optimizer: Any     # the attached descent.optim optimizer, or None

    # -- parameters ---------------------------------------------------------
    def _validate(self) -> None:
        """Check the parameters; raise ValueError naming the first bad one."""
        check_choice("unit", self.unit, UNITS)

    def _lr(self, base_lr: float, t: np.ndarray) -> np.ndarray:
        """The learning rates at the step counts ``t`` (int64 array, already
        checked) for the base learning rate ``base_lr``."""
        raise NotImplementedError  # every concrete schedule defines it

    @property
    def needs_metric(self) -> bool:
        """Whether :meth:`step` takes a metric (``bool``).

        True for ReduceLROnPlateau, and for a SequentialLR holding one.
        """
        return False

    # -- the vectorised form --------------------------------------------------
    def lr(self, base_lr: float, steps: Any) -> np.ndarray:
        """Learning rates at the given step counts, from the closed form.

        Parameters
        ----------
        base_lr : float
            The base learning rate (torch's ``initial_lr``: the optimizer's
            ``lr`` when the schedule starts), >= 0. OneCycleLR ignores it, as
            torch does: its learning rates come from ``max_lr``.
        steps : int or array-like of int
            Step counts, >= 0; step 0 is the first step, before any call to
            :meth:`step` (torch's ``last_epoch`` after the scheduler's
            construction).

        Returns
        -------
        numpy.ndarray
            The float64 learning rates, of the shape of ``steps``.

        Raises
        ------
        ValueError
            If a parameter of the schedule is invalid, ``base_lr`` is negative
            or not finite, or ``steps`` holds negative or non-integer values
            (or, for OneCycleLR, steps beyond ``total_steps``).

        Notes
        -----
        ReduceLROnPlateau has no closed form: it gives its current learning
        rate at every step (``base_lr`` times the reductions made so far).

        Examples
        --------
        >>> from descent.schedules import CosineAnnealingLR
        >>> CosineAnnealingLR(T_max=4, eta_min=0.01).lr(0.1, [0, 2, 4])
        array([0.1  , 0.055, 0.01 ])
        """
        self._validate()
        base = check_real("base_lr", base_lr, low=0.0)
        t = as_steps(steps)
        return np.asarray(self._lr(base, t), dtype=np.float64).reshape(t.shape)

    # -- the driver ---------------------------------------------------------
    def start(self, base_lr: float) -> LRSchedule:
        """Start a run without an optimizer (step 0, fresh state).

        Parameters
        ----------
        base_lr : float
            The base learning rate of the run, >= 0.

        Returns
        -------
        self : LRSchedule
            The schedule, at step 0 of a new run.

        Raises
        ------
        ValueError
            If a parameter is invalid or ``base_lr`` is negative or not finite.

        Examples
        --------
        >>> from descent.schedules import ExponentialLR
        >>> sched = ExponentialLR(gamma=0.5).start(1.0)
        >>> sched.step()
        >>> sched.get_last_lr(), sched.last_epoch
        ([0.5], 1)
        """
        self._validate()
        self._start(check_real("base_lr", base_lr, low=0.0))
        self._optimizer = None
        return self

    def attach(self, optimizer: Any) -> LRSchedule:
        """Start a run that sets the learning rate of a descent.optim optimizer.

        The optimizer's current ``lr`` becomes the base learning rate and is
        replaced by the schedule's learning rate at step 0, as the
        construction of a torch scheduler does. Attaching again restarts
        from the optimizer's *current* ``lr``.

        Parameters
        ----------
        optimizer : descent.optim.Optimizer
            The optimizer whose ``lr`` (and, for OneCycleLR with
            ``cycle_momentum``, ``momentum`` or ``betas[0]``) is set.

        Returns
        -------
        self : LRSchedule
            The schedule, at step 0 of a new run.

        Raises
        ------
        TypeError
            If ``optimizer`` is not a :class:`descent.optim.Optimizer`.
        ValueError
            If a parameter is invalid, the optimizer's ``lr`` is negative or
            not finite, a parameter group sets its own ``lr`` (or, with
            OneCycleLR's ``cycle_momentum``, its own momentum or betas), or
            (OneCycleLR with ``cycle_momentum=True``) the optimizer has
            neither ``momentum`` nor ``betas``.

        Examples
        --------
        >>> from descent.optim import SGD
        >>> from descent.schedules import LinearLR
        >>> opt = SGD(lr=0.1)
        >>> _ = LinearLR(start_factor=0.5, total_iters=2).attach(opt)
        >>> opt.lr                        # step 0's rate, set at once
        0.05
        """
        from .optim import Optimizer

        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a descent.optim optimizer, got "
                            f"{type(optimizer).__name__}")
        self._validate()
        self._check_optimizer(optimizer)
        self._start(check_real("optimizer.lr", optimizer.lr, low=0.0))
        self._optimizer = optimizer
        self._apply()
        return self

    def step(self, metrics: Any = None) -> None:
        """Advance the run by one step and set the optimizer's learning rate.

        Call it after the optimizer's step, as in torch: once per epoch or
        once per update, as your loop decides.

        Parameters
        ----------
        metrics : float, optional
            The metric of the step that ends (e.g. the validation loss of the
            epoch), for ReduceLROnPlateau; for a SequentialLR holding one, it
            is required while ReduceLROnPlateau governs the step and ignored
            otherwise. Other schedules take no metric.

        Raises
        ------
        RuntimeError
            If the run was not started with :meth:`attach` or :meth:`start`.
        ValueError
            If a parameter is invalid, ``metrics`` is given to a schedule that
            takes none or is missing where one is required, a parameter group
            of the attached optimizer sets its own ``lr`` (see
            :meth:`attach`), or (OneCycleLR) the step would go beyond
            ``total_steps``.

        Examples
        --------
        >>> import numpy as np
        >>> from descent.optim import SGD
        >>> from descent.schedules import StepLR
        >>> w, opt = np.ones(2), SGD(lr=1.0)
        >>> sched = StepLR(step_size=1, gamma=0.1).attach(opt)
        >>> for epoch in range(3):
        ...     _ = opt.step(w, w)            # one epoch of training...
        ...     sched.step()                  # ...then the schedule's step
        >>> round(opt.lr, 6)
        0.001
        """
        self._check_started()
        self._validate()
        if metrics is not None and not self.needs_metric:
            raise ValueError(
                f"{type(self).__name__}.step takes no metric (torch's deprecated "
                f"step(epoch) is not supported), got {metrics!r}")
        if self._optimizer is not None:      # before the run moves on
            _check_groups_follow(self._optimizer, self._optimizer_values())
        self._advance(metrics)
        self._apply()

    def get_last_lr(self) -> list[float]:
        """Return the learning rate at the current step, in a one-element list.

        torch's ``get_last_lr``, with one learning rate: the optimizer's, which
        its parameter groups follow (a group with an ``lr`` of its own is
        refused by :meth:`attach` and :meth:`step`).

        Returns
        -------
        list of float
            ``[lr]``, the learning rate of the current step.

        Raises
        ------
        RuntimeError
            If the run was not started with :meth:`attach` or :meth:`start`.

        Examples
        --------
        >>> from descent.schedules import MultiStepLR
        >>> sched = MultiStepLR(milestones=[1]).start(0.5)
        >>> sched.get_last_lr()
        [0.5]
        >>> sched.step()
        >>> [round(lr, 6) for lr in sched.get_last_lr()]
        [0.05]
        """
        self._check_started()
        return [self._current_lr()]

    @property
    def last_epoch(self) -> int:
        """Steps taken since :meth:`attach` or :meth:`start` (``int``; -1 before).

        torch's name: it counts updates for a schedule stepped per update.
        """
        return getattr(self, "_t", -1)

    def state_dict(self) -> dict[str, Any]:
        """Return the state of the run, for :meth:`load_state_dict`.

        The parameters are not included: ``get_params`` holds them.

        Returns
        -------
        dict
            ``last_epoch`` and ``base_lr``; ReduceLROnPlateau adds its
            counters (``num_bad_epochs``, ``cooldown_counter``), best metric
            (``best``) and reduction factor (``factor``), SequentialLR the
            states of its schedules (``schedulers``).

        Raises
        ------
        RuntimeError
            If the run was not started with :meth:`attach` or :meth:`start`.

        Examples
        --------
        >>> from descent.schedules import ExponentialLR
        >>> sched = ExponentialLR(gamma=0.5).start(1.0)
        >>> sched.step()
        >>> sched.state_dict()
        {'last_epoch': 1, 'base_lr': 1.0}
        """
        self._check_started()
        return {"last_epoch": self._t, "base_lr": self._base_lr, **self._extra_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> LRSchedule:
        """Restore a run saved by :meth:`state_dict`.

        The attached optimizer, if any, is kept and not modified: restore its
        own state (which holds its ``lr``) with its ``load_state_dict``.

        Parameters
        ----------
        state_dict : dict
            What :meth:`state_dict` returned.

        Returns
        -------
        self : LRSchedule
            The schedule, at the saved step.

        Raises
        ------
        ValueError
            If an entry is missing or invalid (``last_epoch`` not an integer
            >= 0, ``base_lr`` negative or not finite, the extra entries of
            ReduceLROnPlateau or SequentialLR missing or out of range).

        Examples
        --------
        >>> from descent.schedules import ExponentialLR
        >>> saved = ExponentialLR(gamma=0.5).start(1.0).state_dict()
        >>> saved["last_epoch"] = 3
        >>> ExponentialLR(gamma=0.5).load_state_dict(saved).get_last_lr()
        [0.125]
        """
        try:
            t, base = state_dict["last_epoch"], state_dict["base_lr"]
        except (KeyError, TypeError):
            raise ValueError("state_dict must be a dict with 'last_epoch' and "
                             "'base_lr' (what state_dict() returns)") from None
        t = check_int("state_dict['last_epoch']", t, 0)
        base = check_real("state_dict['base_lr']", base, low=0.0)
        self._start(base)
        self._load_extra_state(state_dict)
        self._t = t
        if not hasattr(self, "_optimizer"):
            self._optimizer = None
        return self

    # -- hooks of the driver ------------------------------------------------
    def _start(self, base_lr: float) -> None:
        self._base_lr = base_lr
        self._t = 0

    def _advance(self, metric: Any) -> None:
        """From step t to t + 1; ``metric`` is step t's (None if not given)."""
        self._t += 1

    def _current_lr(self) -> float:
        return float(self._lr(self._base_lr, np.array([self._t], dtype=np.int64))[0])

    def _optimizer_values(self) -> dict[str, Any]:
        """The optimizer parameters to set at the current step."""
        return {"lr": self._current_lr()}

    def _apply(self) -> None:
        if self._optimizer is not None:
            values = self._optimizer_values()
            _check_groups_follow(self._optimizer, values)
            self._optimizer.set_params(**values)

    def _check_optimizer(self, optimizer: Any) -> None:
        """Refuse an optimizer the schedule cannot drive (OneCycleLR's momentum)."""

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state_dict: dict[str, Any]) -> None:
        pass

    def _check_started(self) -> None:
        if not hasattr(self, "_t"):
            raise RuntimeError(f"{type(self).__name__} has no run: call attach(optimizer) "
                               f"or start(base_lr) first")


def _check_groups_follow(optimizer: Any, values: dict[str, Any]) -> None:
    """Refuse to set the optimizer's hyper-parameters while a parameter group
    sets one of them itself: that group would keep its own rate, silently
    (torch's schedulers scale each group's; here a schedule drives the
    optimizer's values, which the groups without their own follow)."""
    for i, group in enumerate(getattr(optimizer, "param_groups", ())):
        own = sorted(key for key in values if dict.__contains__(group, key))
        if own:
            raise ValueError(
                f"param_groups[{i}] sets its own {own[0]!r}, which a schedule does not "
                f"drive: a schedule sets the optimizer's {own[0]!r}, which the groups "
                f"without one of their own follow. Remove the group's value (del "
                f"opt.param_groups[{i}][{own[0]!r}]) and give it to the optimizer, or "
                "use one optimizer (and one schedule) per learning rate")
