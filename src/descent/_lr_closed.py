"""The step, exponential, linear, polynomial and lambda schedules of
:mod:`descent.schedules`: closed forms, the learning rate at step ``t`` a
function of ``t`` and the parameters only (the cosine ones are in
``_lr_cosine.py``)."""

from __future__ import annotations

import numpy as np

from ._lr_base import RAISES_DOC, TORCH, UNIT_DOC, LRSchedule, check_int, check_real

__all__ = ["StepLR", "MultiStepLR", "ExponentialLR", "LinearLR", "PolynomialLR",
           "LambdaLR"]

class StepLR(LRSchedule):
    __doc__ = f"""Multiply the learning rate by ``gamma`` every ``step_size`` steps.

    ``lr(t) = base_lr * gamma ** (t // step_size)``.

    Parameters
    ----------
    step_size : int
        Period of the decay, >= 1.
    gamma : float, default=0.1
        Multiplicative factor of the decay, finite and >= 0.
    {UNIT_DOC}

    Raises
    ------
    {RAISES_DOC}

    See Also
    --------
    MultiStepLR : Decay at given steps.
    ExponentialLR : Decay at every step.

    References
    ----------
    .. [1] PyTorch, torch.optim.lr_scheduler.StepLR, {TORCH}.StepLR.html

    Examples
    --------
    >>> from descent.schedules import StepLR
    >>> StepLR(step_size=2, gamma=0.5).lr(1.0, range(6))
    array([1.  , 1.  , 0.5 , 0.5 , 0.25, 0.25])
    """

    def __init__(self, step_size, gamma=0.1, unit="epoch"):
        self.step_size = step_size
        self.gamma = gamma
        self.unit = unit

    def _validate(self):
        super()._validate()
        check_int("step_size", self.step_size, 1)
        check_real("gamma", self.gamma, low=0.0)

    def _lr(self, base_lr, t):
        return base_lr * float(self.gamma) ** (t // int(self.step_size))


class MultiStepLR(LRSchedule):
    __doc__ = f"""Multiply the learning rate by ``gamma`` at each milestone.

    ``lr(t) = base_lr * gamma ** (number of milestones <= t)``; a milestone
    given twice counts twice, as in torch (which counts them).

    Parameters
    ----------
    milestones : list of int
        Step counts, >= 0 (torch asks them increasing; their order does not
        matter here either).
    gamma : float, default=0.1
        Multiplicative factor of the decay, finite and >= 0.
    {UNIT_DOC}

    Raises
    ------
    {RAISES_DOC}

    See Also
    --------
    StepLR : Decay at regular intervals.

    References
    ----------
    .. [1] PyTorch, torch.optim.lr_scheduler.MultiStepLR, {TORCH}.MultiStepLR.html

    Examples
    --------
    >>> from descent.schedules import MultiStepLR
    >>> MultiStepLR(milestones=[1, 3], gamma=0.5).lr(1.0, range(5))
    array([1.  , 0.5 , 0.5 , 0.25, 0.25])
    """

    def __init__(self, milestones, gamma=0.1, unit="epoch"):
        self.milestones = milestones
        self.gamma = gamma
        self.unit = unit

    def _validate(self):
        super()._validate()
        if isinstance(self.milestones, (str, bytes)) or not hasattr(self.milestones, "__iter__"):
            raise ValueError(f"milestones must be a list of integers >= 0, "
                             f"got {self.milestones!r}")
        for milestone in self.milestones:
            check_int("milestones[i]", milestone, 0)
        check_real("gamma", self.gamma, low=0.0)

    def _lr(self, base_lr, t):
        passed = np.searchsorted(np.sort(np.asarray(list(self.milestones), dtype=np.int64)),
                                 t, side="right")
        return base_lr * float(self.gamma) ** passed


class ExponentialLR(LRSchedule):
    __doc__ = f"""Multiply the learning rate by ``gamma`` at every step.

    ``lr(t) = base_lr * gamma ** t``.

    Parameters
    ----------
    gamma : float
        Multiplicative factor of the decay, finite and >= 0.
    {UNIT_DOC}

    Raises
    ------
    {RAISES_DOC}

    See Also
    --------
    StepLR : Decay every ``step_size`` steps.

    References
    ----------
    .. [1] PyTorch, torch.optim.lr_scheduler.ExponentialLR, {TORCH}.ExponentialLR.html

    Examples
    --------
    >>> from descent.schedules import ExponentialLR
    >>> ExponentialLR(gamma=0.5).lr(1.0, range(4))
    array([1.   , 0.5  , 0.25 , 0.125])
    """

    def __init__(self, gamma, unit="epoch"):
        self.gamma = gamma
        self.unit = unit

    def _validate(self):
        super()._validate()
        check_real("gamma", self.gamma, low=0.0)

    def _lr(self, base_lr, t):
        return base_lr * float(self.gamma) ** t


class LinearLR(LRSchedule):
    __doc__ = f"""Linear change of the factor of the base learning rate (warm-up).

    ``lr(t) = base_lr * (start_factor + (end_factor - start_factor)
    * min(t, total_iters) / total_iters)``: from ``start_factor`` at step 0
    to ``end_factor`` at step ``total_iters``, constant after.

    Parameters
    ----------
    start_factor : float, default=1/3
        Factor at step 0, in (0, 1].
    end_factor : float, default=1.0
        Factor from step ``total_iters`` on, in [0, 1].
    total_iters : int, default=5
        Steps of the linear change, >= 1.
    {UNIT_DOC}

    Raises
    ------
    {RAISES_DOC}

    See Also
    --------
    SequentialLR : A warm-up followed by another schedule.

    References
    ----------
    .. [1] PyTorch, torch.optim.lr_scheduler.LinearLR, {TORCH}.LinearLR.html

    Examples
    --------
    >>> from descent.schedules import LinearLR
    >>> LinearLR(start_factor=0.25, total_iters=3).lr(1.0, range(5))
    array([0.25, 0.5 , 0.75, 1.  , 1.  ])
    """

    def __init__(self, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, unit="epoch"):
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        self.unit = unit

    def _validate(self):
        super()._validate()
        check_real("start_factor", self.start_factor, low=0.0, high=1.0, low_open=True)
        check_real("end_factor", self.end_factor, low=0.0, high=1.0)
        check_int("total_iters", self.total_iters, 1)

    def _lr(self, base_lr, t):
        start, end, total = float(self.start_factor), float(self.end_factor), int(self.total_iters)
        return base_lr * (start + (end - start) * np.minimum(t, total) / total)


class PolynomialLR(LRSchedule):
    __doc__ = f"""Polynomial decay to 0 in ``total_iters`` steps.

    ``lr(t) = base_lr * (1 - min(t, total_iters) / total_iters) ** power``.

    Parameters
    ----------
    total_iters : int, default=5
        Steps of the decay, >= 1; the learning rate is 0 from then on (1 if
        ``power`` is 0).
    power : float, default=1.0
        Power of the polynomial, finite and >= 0.
    {UNIT_DOC}

    Raises
    ------
    {RAISES_DOC}

    See Also
    --------
    LinearLR : A linear change between two factors.

    References
    ----------
    .. [1] PyTorch, torch.optim.lr_scheduler.PolynomialLR, {TORCH}.PolynomialLR.html

    Examples
    --------
    >>> from descent.schedules import PolynomialLR
    >>> PolynomialLR(total_iters=4, power=2.0).lr(1.0, range(6))
    array([1.    , 0.5625, 0.25  , 0.0625, 0.    , 0.    ])
    """

    def __init__(self, total_iters=5, power=1.0, unit="epoch"):
        self.total_iters = total_iters
        self.power = power
        self.unit = unit

    def _validate(self):
        super()._validate()
        check_int("total_iters", self.total_iters, 1)
        check_real("power", self.power, low=0.0)

    def _lr(self, base_lr, t):
        total = int(self.total_iters)
        return base_lr * (1.0 - np.minimum(t, total) / total) ** float(self.power)


class LambdaLR(LRSchedule):
    __doc__ = f"""The base learning rate times a function of the step count.

    ``lr(t) = base_lr * lr_lambda(t)``. The function is called once per
    step count in Python: use it per epoch or for small numbers of steps;
    for per-update schedules over long runs prefer a closed-form schedule.

    Parameters
    ----------
    lr_lambda : callable
        ``lr_lambda(t)`` takes an int >= 0 and returns a finite real factor.
        A lambda cannot be pickled; a module-level function or a
        ``functools.partial`` of one can.
    {UNIT_DOC}

    Raises
    ------
    {RAISES_DOC} Also from
        :meth:`lr` or :meth:`step`, if ``lr_lambda`` returns something other
        than a finite real number.

    See Also
    --------
    SequentialLR : Chain schedules instead of writing a piecewise function.

    References
    ----------
    .. [1] PyTorch, torch.optim.lr_scheduler.LambdaLR, {TORCH}.LambdaLR.html

    Examples
    --------
    >>> from descent.schedules import LambdaLR
    >>> LambdaLR(lambda t: 1.0 / (1 + t)).lr(1.0, range(4)).round(4)
    array([1.    , 0.5   , 0.3333, 0.25  ])
    """

    def __init__(self, lr_lambda, unit="epoch"):
        self.lr_lambda = lr_lambda
        self.unit = unit

    def _validate(self):
        super()._validate()
        if not callable(self.lr_lambda):
            raise ValueError(f"lr_lambda must be a callable of the step count, "
                             f"got {self.lr_lambda!r}")

    def _lr(self, base_lr, t):
        factors = np.empty(t.shape)
        for index, step in np.ndenumerate(t):
            factors[index] = check_real(f"lr_lambda({int(step)})", self.lr_lambda(int(step)))
        return base_lr * factors
