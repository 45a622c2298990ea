"""Learning-rate schedules with torch.optim.lr_scheduler's names, parameters and
values.

=============================  ==================================================
``StepLR``                     ``gamma`` every ``step_size`` steps
``MultiStepLR``                ``gamma`` at each milestone
``ExponentialLR``              ``gamma`` every step
``CosineAnnealingLR``          half a cosine down to ``eta_min`` in ``T_max``
``CosineAnnealingWarmRestarts``  cosine cycles of ``T_0``, ``T_0 * T_mult``, ...
``LinearLR``                   linear warm-up (or decay) of the factor
``OneCycleLR``                 1cycle: up to ``max_lr``, then far below the start
``PolynomialLR``               ``(1 - t / total_iters) ** power``
``LambdaLR``                   ``lr_lambda(t)``, a callable of the step count
``SequentialLR``               one schedule after the other, at milestones
``ReduceLROnPlateau``          ``factor`` when a metric stops improving
=============================  ==================================================

Each takes torch's constructor parameters with torch's defaults, without
``optimizer`` (a schedule is a parameter object, attached to an optimizer
only by the driver below) and without ``last_epoch`` (resume a run with
``state_dict`` / ``load_state_dict``), and gives torch's learning rates step
for step: the closed forms that torch documents, which its recursive updates
follow to within 1e-12 of the base learning rate over 1,000 steps (the tests
check both). One exception, torch's: its recursive CosineAnnealingLR
multiplies the rounding error of the step at its trough by about
``2 * T_max**2 / pi**2`` on the way back up, 1.4e-12 of the base rate with
``T_max=333, eta_min=base_lr / 2``; the closed form does not drift.
A schedule drives one learning rate, the optimizer's, which its parameter
groups without an ``lr`` of their own follow; a group with its own ``lr``
(where torch scales each group's) is refused with a ``ValueError`` when the
schedule is attached or stepped. So the per-group lists torch accepts
(``max_lr``, ``min_lr``, ``lr_lambda``) are single values.

Three ways to use a schedule
----------------------------
- **As a parameter**: a scikit-learn ``BaseEstimator``, so ``get_params``,
  ``set_params`` and ``clone`` work and a grid search reaches
  ``learning_rate__T_max``. The constructor only stores the parameters; they
  are checked (``ValueError`` naming the parameter and what it allows) when
  the schedule is used.
- **Vectorised**: ``lr(base_lr, steps)`` gives the float64 learning rates of an
  array of step counts from the closed form, a block at a time, without any
  state (step 0 is the rate before the first ``step``, torch's rate after the
  scheduler's construction).
- **A torch-like driver** for your own loop with a :mod:`descent.optim`
  optimizer: ``sched.attach(opt)`` (the optimizer's ``lr`` is the base rate),
  then ``sched.step()`` after each ``opt.step(...)`` sets ``opt.lr``;
  ``get_last_lr()``, ``last_epoch``, ``state_dict()`` / ``load_state_dict()``
  as in torch. ``start(base_lr)`` runs the same state without an optimizer.

Units: what a step counts
-------------------------
torch leaves the cadence to the user's loop; its documentation steps every
scheduler once per epoch except OneCycleLR, which it steps after every batch.
descent's estimators will drive schedules themselves, so each schedule says
what its step counts in its ``unit``: ``"epoch"`` (a step per pass over the
data; ``T_max``, ``step_size``, ``milestones`` ... count epochs) or
``"update"`` (a step per optimizer update, i.e. per mini-batch, or per sample
with ``batch_size=1``). The defaults are what torch's users expect from its
documentation: ``unit="epoch"`` for every schedule, ``unit="update"`` for
OneCycleLR; both are meaningful for all the closed-form schedules, so
``unit`` is a constructor parameter of each (``CosineAnnealingWarmRestarts(
T_0=1000, unit="update")`` replaces torch's fractional ``step(epoch + i /
iters)``). ReduceLROnPlateau reacts to a metric measured once per epoch, so
its ``unit`` is the class attribute ``"epoch"``; SequentialLR's is that of its
schedules, which must agree. The driver does not read ``unit``: your loop
calls ``step`` when it chooses.

Plateau reductions after a warm-up
----------------------------------
In torch, ReduceLROnPlateau does not compose with a warm-up: SequentialLR
and ChainedScheduler refuse it, and stepping both on one optimizer makes each
overwrite or rescale the other's learning rate (pytorch issues 68978 and
110761). Here ``SequentialLR([LinearLR(...), ReduceLROnPlateau(...)],
milestones=[k])`` works: the warm-up governs steps ``0..k-1``; at step ``k``
the plateau schedule starts afresh at the base learning rate (no best metric,
no bad steps), and ``step(metrics)`` passes it only the metrics of the steps
it governs, those of the warm-up being ignored (``metrics`` may be omitted
there). Its ``min_lr`` and ``eps`` are learning rates, as in torch. The
vectorised ``lr`` gives the plateau's current learning rate for every step
of its span.

Examples
--------
>>> import numpy as np
>>> from descent.optim import SGD
>>> from descent.schedules import CosineAnnealingLR
>>> theta = np.ones(2)
>>> opt = SGD(lr=0.1)
>>> sched = CosineAnnealingLR(T_max=10).attach(opt)
>>> for epoch in range(5):
...     _ = opt.step(theta, 2 * theta)
...     sched.step()
>>> round(opt.lr, 6), sched.get_last_lr() == [opt.lr]
(0.05, True)
>>> CosineAnnealingLR(T_max=10).lr(0.1, np.arange(5, 8)).round(6)
array([0.05    , 0.034549, 0.020611])

References
----------
.. [1] PyTorch, "How to adjust learning rate", torch.optim documentation,
   https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate
.. [2] I. Loshchilov and F. Hutter, "SGDR: Stochastic Gradient Descent with
   Warm Restarts", ICLR 2017.
.. [3] L. N. Smith, "A disciplined approach to neural network
   hyper-parameters: Part 1", arXiv:1803.09820, 2018.
"""

from ._lr_base import UNITS, LRSchedule
from ._lr_closed import ExponentialLR, LambdaLR, LinearLR, MultiStepLR, PolynomialLR, StepLR
from ._lr_cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts, OneCycleLR
from ._lr_plateau import ReduceLROnPlateau, SequentialLR

__all__ = ["LRSchedule", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "CosineAnnealingWarmRestarts", "LinearLR", "OneCycleLR", "PolynomialLR",
           "LambdaLR", "SequentialLR", "ReduceLROnPlateau", "UNITS"]
