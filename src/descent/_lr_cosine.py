"""The cosine-shaped schedules of :mod:`descent.schedules`: cosine annealing
(Loshchilov & Hutter), with warm restarts, and the 1cycle policy (Smith), all
closed forms."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._lr_base import (
    RAISES_DOC,
    TORCH,
    UNIT_DOC,
    LRSchedule,
    as_steps,
    check_bool,
    check_choice,
    check_int,
    check_real,
)

__all__ = ["CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR"]

SGDR = """.. [2] I. Loshchilov and F. Hutter, "SGDR: Stochastic Gradient Descent with
       Warm Restarts", ICLR 2017, https://arxiv.org/abs/1608.03983"""


def _cosine(start, end, pct):
    """From ``start`` at ``pct = 0`` to ``end`` at ``pct = 1`` along half a cosine."""
    return end + (start - end) * (1.0 + np.cos(np.pi * pct)) / 2.0


class CosineAnnealingLR(LRSchedule):
    __doc__ = f"""Cosine annealing from the base learning rate to ``eta_min``.

    ``lr(t) = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2``,
    the closed form of SGDR [2]_ without restarts. After ``T_max`` steps the
    cosine goes on (the rate rises again over the next ``T_max``), as torch's
    recursive form does.

    Parameters
    ----------
    T_max : int
        Number of steps of the half cosine, >= 1.
    eta_min : float, default=0.0
        The learning rate at step ``T_max``, finite and >= 0 (a learning
        rate, not a factor of the base one).
    {UNIT_DOC}

    Raises
    ------
    {RAISES_DOC}

    See Also
    --------
    CosineAnnealingWarmRestarts : With restarts.
    SequentialLR : E.g. a LinearLR warm-up before it.

    References
    ----------
    .. [1] PyTorch, torch.optim.lr_scheduler.CosineAnnealingLR,
       {TORCH}.CosineAnnealingLR.html
    {SGDR}

    Examples
    --------
    >>> from descent.schedules import CosineAnnealingLR
    >>> CosineAnnealingLR(T_max=4).lr(1.0, range(5)).round(4)
    array([1.    , 0.8536, 0.5   , 0.1464, 0.    ])
    """

    def __init__(self, T_max, eta_min=0.0, unit="epoch"):
        self.T_max = T_max
        self.eta_min = eta_min
        self.unit = unit

    def _validate(self):
        super()._validate()
        check_int("T_max", self.T_max, 1)
        check_real("eta_min", self.eta_min, low=0.0)

    def _lr(self, base_lr, t):
        return _cosine(base_lr, float(self.eta_min), t / int(self.T_max))


class CosineAnnealingWarmRestarts(LRSchedule):
    __doc__ = f"""Cosine annealing with warm restarts (SGDR [2]_).

    ``lr(t) = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2``,
    ``T_cur`` the steps since the last restart and ``T_i`` the length of the
    current cycle: ``T_0``, then ``T_0 * T_mult``, ``T_0 * T_mult**2``, ...
    The learning rate is back at ``base_lr`` at each restart.

    Parameters
    ----------
    T_0 : int
        Length of the first cycle, >= 1.
    T_mult : int, default=1
        Factor by which each cycle is longer than the previous one, >= 1.
    eta_min : float, default=0.0
        The learning rate the cosine tends to, finite and >= 0.
    {UNIT_DOC}

    Raises
    ------
    {RAISES_DOC}

    See Also
    --------
    CosineAnnealingLR : Without restarts.

    Notes
    -----
    torch's ``step(epoch)`` with a fractional epoch is not offered: give the
    schedule ``unit="update"`` and ``T_0`` in updates instead.

    References
    ----------
    .. [1] PyTorch, torch.optim.lr_scheduler.CosineAnnealingWarmRestarts,
       {TORCH}.CosineAnnealingWarmRestarts.html
    {SGDR}

    Examples
    --------
    >>> from descent.schedules import CosineAnnealingWarmRestarts
    >>> CosineAnnealingWarmRestarts(T_0=2, T_mult=2).lr(1.0, range(7)).round(4)
    array([1.    , 0.5   , 1.    , 0.8536, 0.5   , 0.1464, 1.    ])
    """

    def __init__(self, T_0, T_mult=1, eta_min=0.0, unit="epoch"):
        self.T_0 = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.unit = unit

    def _validate(self):
        super()._validate()
        check_int("T_0", self.T_0, 1)
        check_int("T_mult", self.T_mult, 1)
        check_real("eta_min", self.eta_min, low=0.0)

    def _lr(self, base_lr, t):
        first, mult = int(self.T_0), int(self.T_mult)
        if mult == 1:
            since, length = t % first, float(first)
        else:
            # the cycles' first steps (Python ints: no overflow) up to max(t)
            starts, lengths = [0], [first]
            last = int(t.max()) if t.size else 0
            while starts[-1] + lengths[-1] <= last:
                starts.append(starts[-1] + lengths[-1])
                lengths.append(lengths[-1] * mult)
            cycle = np.searchsorted(np.array(starts, dtype=np.int64), t, side="right") - 1
            since = t - np.array(starts, dtype=np.int64)[cycle]
            length = np.array(lengths, dtype=np.float64)[cycle]
        return _cosine(base_lr, float(self.eta_min), since / length)


class OneCycleLR(LRSchedule):
    __doc__ = f"""The 1cycle policy (Smith [2]_): up to ``max_lr``, then far below the start.

    Two phases (fastai's, torch's default): from ``max_lr / div_factor`` at
    step 0 up to ``max_lr`` at step ``pct_start * total_steps - 1``, then down
    to ``max_lr / div_factor / final_div_factor`` at step ``total_steps - 1``.
    With ``three_phase=True`` (the paper's), the second phase comes back to
    the initial rate at step ``2 * pct_start * total_steps - 2`` and a third
    one goes down to the minimum. Each phase anneals along a half cosine or a
    line. Momentum moves the opposite way, between ``max_momentum`` and
    ``base_momentum``. Step ``total_steps`` is allowed (it extends the last
    phase) and later steps are refused, as in torch.

    The base learning rate is ignored: the rates come from ``max_lr``, as in
    torch, which overwrites the optimizer's. OneCycleLR has its own warm-up,
    and cannot be a part of SequentialLR.

    Parameters
    ----------
    max_lr : float
        Peak learning rate, finite and > 0 (one value: a schedule drives the
        optimizer's one learning rate).
    total_steps : int, optional
        Steps of the cycle, >= 1. If None, ``epochs * steps_per_epoch``.
    epochs : int, optional
        With ``steps_per_epoch``, gives ``total_steps`` if that is None; >= 1.
    steps_per_epoch : int, optional
        See ``epochs``; >= 1.
    pct_start : float, default=0.3
        Fraction of the cycle spent increasing the learning rate, in [0, 1].
    anneal_strategy : {{"cos", "linear"}}, default="cos"
        Shape of each phase.
    cycle_momentum : bool, default=True
        Whether :meth:`attach` and :meth:`step` also set the optimizer's
        momentum (``momentum`` of SGD and RMSprop, ``betas[0]`` of Adam and
        AdamW; other optimizers are refused unless this is False). Like torch,
        this turns plain SGD into SGD with momentum.
    base_momentum : float, default=0.85
        Momentum at the peak learning rate, finite and >= 0.
    max_momentum : float, default=0.95
        Momentum at the start and at the end, finite and >= 0.
    div_factor : float, default=25.0
        ``max_lr / div_factor`` is the initial learning rate; finite and > 0.
    final_div_factor : float, default=1e4
        The initial rate divided by it is the final one; finite and > 0.
    three_phase : bool, default=False
        The paper's three phases instead of fastai's two.
    unit : {{"epoch", "update"}}, default="update"
        What a step counts when descent's estimators drive the schedule;
        updates by default, since torch steps OneCycleLR after every batch.

    Raises
    ------
    {RAISES_DOC} Also from
        :meth:`lr`, :meth:`momentum` or :meth:`step`, for a step after
        ``total_steps`` or in a phase of no length (where torch divides by
        zero); from :meth:`attach`, for an optimizer without momentum with
        ``cycle_momentum=True``.

    See Also
    --------
    LinearLR, CosineAnnealingLR, SequentialLR : Build other warm-up shapes.

    References
    ----------
    .. [1] PyTorch, torch.optim.lr_scheduler.OneCycleLR, {TORCH}.OneCycleLR.html
    .. [2] L. N. Smith, "A disciplined approach to neural network
       hyper-parameters: Part 1 -- learning rate, batch size, momentum, and
       weight decay", arXiv:1803.09820, 2018; L. N. Smith and N. Topin,
       "Super-Convergence", arXiv:1708.07120.

    Examples
    --------
    >>> from descent.schedules import OneCycleLR
    >>> sched = OneCycleLR(max_lr=1.0, total_steps=6, pct_start=0.5,
    ...                    anneal_strategy="linear", final_div_factor=4.0)
    >>> sched.lr(0.1, range(6))          # the base learning rate is ignored
    array([0.04, 0.52, 1.  , 0.67, 0.34, 0.01])
    >>> sched.momentum(range(3))
    array([0.95, 0.9 , 0.85])
    """

    def __init__(self, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True,
                 base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, unit="update"):
        self.max_lr = max_lr
        self.total_steps = total_steps
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.pct_start = pct_start
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = cycle_momentum
        self.base_momentum = base_momentum
        self.max_momentum = max_momentum
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.three_phase = three_phase
        self.unit = unit

    def _validate(self):
        super()._validate()
        check_real("max_lr", self.max_lr, low=0.0, low_open=True)
        if self.total_steps is not None:
            check_int("total_steps", self.total_steps, 1)
        elif self.epochs is None or self.steps_per_epoch is None:
            raise ValueError("total_steps is None: give it, or both epochs and "
                             "steps_per_epoch")
        else:
            check_int("epochs", self.epochs, 1)
            check_int("steps_per_epoch", self.steps_per_epoch, 1)
        check_real("pct_start", self.pct_start, low=0.0, high=1.0)
        check_choice("anneal_strategy", self.anneal_strategy, ("cos", "linear"))
        check_bool("cycle_momentum", self.cycle_momentum)
        check_real("base_momentum", self.base_momentum, low=0.0)
        check_real("max_momentum", self.max_momentum, low=0.0)
        check_real("div_factor", self.div_factor, low=0.0, low_open=True)
        check_real("final_div_factor", self.final_div_factor, low=0.0, low_open=True)
        check_bool("three_phase", self.three_phase)

    def _total(self) -> int:
        if self.total_steps is not None:
            return int(self.total_steps)
        return int(self.epochs) * int(self.steps_per_epoch)

    def _phases(self, initial: float, peak: float, final: float):
        """(last step, value at the phase's start, value at its last step) of
        each phase, for a quantity at ``initial``, ``peak`` and ``final``."""
        total, pct = self._total(), float(self.pct_start)
        if self.three_phase:
            return [(pct * total - 1, initial, peak),
                    (2 * pct * total - 2, peak, initial),
                    (total - 1.0, initial, final)]
        return [(pct * total - 1, initial, peak), (total - 1.0, peak, final)]

    def _anneal(self, t: np.ndarray, phases) -> np.ndarray:
        total = self._total()
        if t.size and t.max() > total:
            raise ValueError(f"OneCycleLR has total_steps={total}: step {int(t.max())} "
                             f"is beyond the cycle")
        values = np.empty(t.shape)
        todo = np.ones(t.shape, dtype=bool)
        first = 0.0
        for i, (last, start, end) in enumerate(phases):
            here = todo & ((t <= last) | (i == len(phases) - 1))
            if here.any():
                if last == first:
                    raise ValueError(
                        f"OneCycleLR(pct_start={self.pct_start}, total_steps={total}) has "
                        f"a phase of no length at step {int(t[here].min())}")
                pct = (t[here] - first) / (last - first)
                values[here] = (_cosine(start, end, pct) if self.anneal_strategy == "cos"
                                else start + (end - start) * pct)
            todo &= ~here
            first = last
        return values

    def _lr(self, base_lr, t):
        initial = float(self.max_lr) / float(self.div_factor)
        return self._anneal(t, self._phases(initial, float(self.max_lr),
                                            initial / float(self.final_div_factor)))

    def momentum(self, steps: Any) -> np.ndarray:
        """The momentum at the given step counts (cycled opposite to the rate).

        Parameters
        ----------
        steps : int or array-like of int
            Step counts, from 0 to ``total_steps``.

        Returns
        -------
        numpy.ndarray
            The float64 momenta, of the shape of ``steps``.

        Raises
        ------
        ValueError
            If a parameter is invalid or a step is negative, non-integer or
            beyond ``total_steps``.

        Examples
        --------
        >>> from descent.schedules import OneCycleLR
        >>> OneCycleLR(max_lr=1.0, total_steps=5, pct_start=0.4).momentum(range(5)).round(4)
        array([0.95 , 0.85 , 0.875, 0.925, 0.95 ])
        """
        self._validate()
        return self._momentum(as_steps(steps))

    def _momentum(self, t: np.ndarray) -> np.ndarray:
        low, high = float(self.base_momentum), float(self.max_momentum)
        return self._anneal(t, self._phases(high, low, high))

    # -- the driver: momentum too ---------------------------------------------
    def _check_optimizer(self, optimizer):
        params = optimizer.get_params()
        if self.cycle_momentum and "momentum" not in params and "betas" not in params:
            raise ValueError(
                f"cycle_momentum=True needs an optimizer with momentum or betas (SGD, "
                f"RMSprop, Adam, AdamW), got {type(optimizer).__name__}: pass "
                f"cycle_momentum=False")

    def _advance(self, metric):
        if self._t + 1 > self._total():
            raise ValueError(f"OneCycleLR has total_steps={self._total()}: step "
                             f"{self._t + 1} is beyond the cycle")
        super()._advance(metric)

    def _optimizer_values(self):
        values = super()._optimizer_values()
        if self.cycle_momentum:
            momentum = float(self._momentum(np.array([self._t]))[0])
            if "momentum" in self._optimizer.get_params():
                values["momentum"] = momentum
            else:
                values["betas"] = (momentum, self._optimizer.betas[1])
        return values
