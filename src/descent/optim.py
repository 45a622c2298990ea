"""Standalone optimizers stepping float64 or float32 NumPy arrays in place.

The update rules, parameter names and defaults are torch.optim's (2.x): the
same sequence of gradients gives the same parameters, to rounding. Each
``step`` is one compiled call: it first scans the gradients and parameters for
NaN, infinity and overflowing values (and then raises, having changed
nothing), then updates each array in one pass.

Two ways to give the arrays:

- ``opt.step(params, grad)``: one array, passed at every step (the optimizer
  keeps its state between calls; ``reset()`` to change arrays);
- torch's way, the arrays given once, to the constructor or to
  ``add_param_group``, and ``opt.step(grads)`` with one gradient per
  parameter in the order of the groups (None leaves a parameter as it is)::

      opt = Adam([{"params": [W1, W2], "weight_decay": 1e-4},
                  {"params": [b1, b2], "weight_decay": 0.0}], lr=1e-3)
      opt.step([dW1, dW2, db1, db2])

  A group's hyper-parameters not given in its dict are the optimizer's, read
  at each step: ``set_params(lr=...)`` changes the groups without an ``lr``
  of their own, ``opt.param_groups[i]["lr"] = ...`` one group.

>>> import numpy as np
>>> from descent.optim import Adam
>>> theta = np.ones(3)
>>> opt = Adam(lr=0.1)
>>> for _ in range(100):
...     _ = opt.step(theta, 2 * theta)      # gradient of |theta|^2; returns theta
>>> bool(np.abs(theta).max() < 0.1)
True

The optimizers are scikit-learn estimators as far as parameters go
(``get_params`` / ``set_params``), so ``SGDRegressor(optimizer=Adam())`` can be
cloned and grid-searched over ``optimizer__lr``. The arrays are not
scikit-learn parameters: ``clone`` gives an optimizer with the same
hyper-parameters and no arrays, as it drops the state.

torch's implementation switches (``foreach``, ``fused``, ``capturable``,
``differentiable``) and ``maximize`` are not parameters: each step is one
compiled pass, and a negated gradient ascends.

A float32 array keeps its state (moments, accumulators) in float32 and is
computed in float32, as torch.optim does (the step's scalars in float64,
rounded once): within float32 rounding of torch's float32 step. A gradient
is converted to its parameter's dtype.
"""

from __future__ import annotations

import inspect

from ._optim_adam import Adam, AdamW
from ._optim_base import SQUARED_STATES, Optimizer
from ._optim_groups import ParamGroup
from ._optim_rules import SGD, Adadelta, Adagrad, RMSprop

__all__ = ["Optimizer", "ParamGroup", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam",
           "AdamW", "OPTIMIZER_NAMES", "SQUARED_STATES", "default_lr", "make_optimizer"]


# -- the registry ------------------------------------------------------------
# The optimizer names SGDRegressor(optimizer=...) and minimize(method=...)
# take: name -> (class, constructor options beyond torch's defaults). The
# default learning rate of a name is its class's (torch.optim's).
REGISTRY: dict[str, tuple[type[Optimizer], dict]] = {
    "sgd": (SGD, {}),
    "momentum": (SGD, {"momentum": 0.9}),
    "nesterov": (SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (Adagrad, {}),
    "rmsprop": (RMSprop, {}),
    "adadelta": (Adadelta, {}),
    "adam": (Adam, {}),
    "amsgrad": (Adam, {"amsgrad": True}),
    "adamw": (AdamW, {}),
}
OPTIMIZER_NAMES = tuple(REGISTRY)


def default_lr(name):
    """Return torch.optim's default learning rate of an optimizer name.

    Parameters
    ----------
    name : str
        One of :data:`OPTIMIZER_NAMES`: ``"sgd"``, ``"momentum"``,
        ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``, ``"adadelta"``,
        ``"adam"``, ``"amsgrad"`` or ``"adamw"``.

    Returns
    -------
    float
        The default ``lr`` of the class the name stands for: 1e-3 for SGD
        (``"sgd"``, ``"momentum"``, ``"nesterov"``), Adam and AdamW, 1e-2 for
        Adagrad and RMSprop, 1.0 for Adadelta.

    Raises
    ------
    ValueError
        If ``name`` is not one of the names above.

    See Also
    --------
    make_optimizer : The optimizer a name stands for.

    Examples
    --------
    >>> from descent.optim import default_lr
    >>> default_lr("adam"), default_lr("rmsprop"), default_lr("adadelta")
    (0.001, 0.01, 1.0)
    """
    cls, _ = _registry_entry(name)
    return inspect.signature(cls).parameters["lr"].default


def make_optimizer(name, lr=None, **options):
    """Create the optimizer an optimizer name stands for.

    The names are those ``SGDRegressor(optimizer=...)`` and
    ``minimize(method=...)`` accept: ``"sgd"`` is :class:`SGD`,
    ``"momentum"`` SGD with ``momentum=0.9``, ``"nesterov"`` SGD with
    ``momentum=0.9, nesterov=True``, ``"adagrad"`` :class:`Adagrad`,
    ``"rmsprop"`` :class:`RMSprop`, ``"adadelta"`` :class:`Adadelta`,
    ``"adam"`` :class:`Adam`, ``"amsgrad"`` Adam with ``amsgrad=True``,
    ``"adamw"`` :class:`AdamW`; every other hyper-parameter is torch's
    default.

    Parameters
    ----------
    name : str
        One of :data:`OPTIMIZER_NAMES` (above).
    lr : float, optional
        The learning rate; None (the default) for the class's default
        (:func:`default_lr`).
    **options : dict
        Other constructor parameters of the class (e.g. ``betas``,
        ``weight_decay``); they override the name's own (``momentum=0.5``
        with ``"momentum"``).

    Returns
    -------
    Optimizer
        A new optimizer without arrays attached.

    Raises
    ------
    ValueError
        If ``name`` is not one of the names above.
    TypeError
        If an option is not a parameter of the class.

    See Also
    --------
    default_lr : The default learning rate of a name.

    Examples
    --------
    >>> from descent.optim import make_optimizer
    >>> make_optimizer("nesterov", lr=0.1)
    SGD(lr=0.1, momentum=0.9, nesterov=True)
    >>> make_optimizer("amsgrad", weight_decay=1e-4)
    Adam(amsgrad=True, weight_decay=0.0001)
    """
    cls, registered = _registry_entry(name)
    return cls(lr=default_lr(name) if lr is None else lr, **{**registered, **options})


def _registry_entry(name):
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(
            f"optimizer must be one of {sorted(REGISTRY)} or a descent.optim "
            f"optimizer instance, got {name!r}")
    return REGISTRY[name]
