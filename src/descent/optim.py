"""Standalone optimizers stepping float64 NumPy arrays in place.

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
...     opt.step(theta, 2 * theta)          # gradient of |theta|^2
>>> bool(np.abs(theta).max() < 0.1)
True

The optimizers are scikit-learn estimators as far as parameters go
(``get_params`` / ``set_params``), so ``SGDRegressor(optimizer=Adam())`` can be
cloned and grid-searched over ``optimizer__lr``. The arrays are not
scikit-learn parameters: ``clone`` gives an optimizer with the same
hyper-parameters and no arrays, as it drops the state.
"""

from __future__ import annotations

import inspect

from . import _kernels
from ._optim_base import SQUARED_STATES, Optimizer, _check_nonnegative, _rule_params
from ._optim_groups import ParamGroup

__all__ = ["Optimizer", "ParamGroup", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam",
           "AdamW", "OPTIMIZER_NAMES", "SQUARED_STATES", "default_lr", "make_optimizer"]


_PARAMS_DOC = """params : numpy.ndarray, iterable of arrays or of dicts, optional
        The arrays to step with ``step(grads)``, as torch.optim: an array, a
        list of arrays (one group), or a list of dicts each holding
        ``"params"`` and hyper-parameters for that group only (see
        :class:`ParamGroup`). None (the default): no arrays attached, for
        ``step(params, grad)`` or an estimator's ``optimizer=``. Not a
        scikit-learn parameter: ``clone`` and ``get_params`` leave it out."""


def _doc(cls):
    cls.__doc__ = cls.__doc__.replace("{params}", _PARAMS_DOC)
    return cls


@_doc
class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    ``buf = momentum * buf + (1 - dampening) * g`` (the first buffer is ``g``),
    then ``g = g + momentum * buf`` (Nesterov) or ``g = buf``; ``p -= lr * g``.

    Parameters
    ----------
    {params}
    lr : float, default=1e-3
        Learning rate, >= 0.
    momentum : float, default=0.0
        Momentum factor, >= 0.
    dampening : float, default=0.0
        Dampening of the momentum, >= 0.
    weight_decay : float, default=0.0
        L2 penalty added to the gradient, >= 0.
    nesterov : bool, default=False
        Nesterov momentum (needs momentum > 0 and dampening 0).

    Examples
    --------
    >>> import numpy as np
    >>> from descent.optim import SGD
    >>> w = np.ones(2)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> opt.step([np.ones(2)])
    >>> w
    array([0.9, 0.9])
    """

    _rule = _kernels.Rule.SGD
    _state_names = ("momentum_buffer", "", "")

    def __init__(self, params=None, lr=1e-3, momentum=0.0, dampening=0.0,
                 weight_decay=0.0, nesterov=False):
        self.lr = lr
        self.momentum = momentum
        self.dampening = dampening
        self.weight_decay = weight_decay
        self.nesterov = nesterov
        self._attach(params)

    @classmethod
    def _check_values(cls, v):
        super()._check_values(v)
        _check_nonnegative("momentum", v["momentum"])
        _check_nonnegative("dampening", v["dampening"])
        if v["nesterov"] and (v["momentum"] <= 0 or v["dampening"] != 0):
            raise ValueError("nesterov=True requires momentum > 0 and dampening = 0")

    @classmethod
    def _kernel_params_of(cls, v):
        return _rule_params(cls._rule, weight_decay=v["weight_decay"],
                            momentum=v["momentum"], dampening=v["dampening"],
                            nesterov=bool(v["nesterov"]))


@_doc
class Adagrad(Optimizer):
    """AdaGrad (Duchi, Hazan & Singer 2011) with torch's ``lr_decay``.

    Parameters
    ----------
    {params}
    lr : float, default=1e-2
        Learning rate, >= 0.
    lr_decay : float, default=0.0
        The step ``t`` uses ``lr / (1 + (t - 1) * lr_decay)``, >= 0.
    weight_decay : float, default=0.0
        L2 penalty added to the gradient, >= 0.
    initial_accumulator_value : float, default=0.0
        Starting value of the sum of squared gradients, >= 0 (a group's own
        value where it sets one; torch 2.13 uses the constructor's for all).
    eps : float, default=1e-10
        Added to the square root, >= 1e-300.

    Examples
    --------
    >>> import numpy as np
    >>> from descent.optim import Adagrad
    >>> w = np.zeros(2)
    >>> Adagrad(lr=0.5).step(w, np.array([2.0, -4.0]))
    array([-0.5,  0.5])
    """

    _rule = _kernels.Rule.ADAGRAD
    _state_names = ("sum", "", "")
    _max_grad = 1e150

    def __init__(self, params=None, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10):
        self.lr = lr
        self.lr_decay = lr_decay
        self.weight_decay = weight_decay
        self.initial_accumulator_value = initial_accumulator_value
        self.eps = eps
        self._attach(params)

    @classmethod
    def _check_values(cls, v):
        super()._check_values(v)
        _check_nonnegative("lr_decay", v["lr_decay"])
        _check_nonnegative("initial_accumulator_value", v["initial_accumulator_value"])

    def _init_state(self, n, values=None):
        state = super()._init_state(n)
        v = self._values() if values is None else values
        state[0] = v["initial_accumulator_value"]
        return state

    @classmethod
    def _kernel_params_of(cls, v):
        return _rule_params(cls._rule, weight_decay=v["weight_decay"],
                            lr_decay=v["lr_decay"], eps=v["eps"])


@_doc
class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton 2012), optionally centered and with momentum.

    Parameters
    ----------
    {params}
    lr : float, default=1e-2
        Learning rate, >= 0.
    alpha : float, default=0.99
        Smoothing constant of the squared-gradient average, in [0, 1].
    eps : float, default=1e-8
        Added to the square root, >= 1e-300.
    weight_decay : float, default=0.0
        L2 penalty added to the gradient, >= 0.
    momentum : float, default=0.0
        Momentum factor, >= 0.
    centered : bool, default=False
        Divide by the estimated variance instead of the second moment.

    Examples
    --------
    >>> import numpy as np
    >>> from descent.optim import RMSprop
    >>> w = np.zeros(1)
    >>> RMSprop(lr=0.01, alpha=0.0).step(w, np.array([3.0]))
    array([-0.01])
    """

    _rule = _kernels.Rule.RMSPROP
    _state_names = ("square_avg", "momentum_buffer", "grad_avg")
    _max_grad = 1e150

    def __init__(self, params=None, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False):
        self.lr = lr
        self.alpha = alpha
        self.eps = eps
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.centered = centered
        self._attach(params)

    @classmethod
    def _check_values(cls, v):
        super()._check_values(v)
        # torch only asks alpha >= 0; above 1 the second moment turns negative
        _check_nonnegative("alpha", v["alpha"], upper=1.0, upper_closed=True)
        _check_nonnegative("momentum", v["momentum"])

    @classmethod
    def _kernel_params_of(cls, v):
        return _rule_params(cls._rule, weight_decay=v["weight_decay"],
                            alpha=v["alpha"], eps=v["eps"],
                            momentum=v["momentum"], centered=bool(v["centered"]))


@_doc
class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012); ``eps`` inside both square roots, as torch.

    Parameters
    ----------
    {params}
    lr : float, default=1.0
        Scale of the update, >= 0.
    rho : float, default=0.9
        Decay of the running averages, in [0, 1].
    eps : float, default=1e-6
        Added inside both square roots, >= 1e-300.
    weight_decay : float, default=0.0
        L2 penalty added to the gradient, >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> from descent.optim import Adadelta
    >>> w = np.zeros(1)
    >>> Adadelta(rho=0.0, eps=1.0).step(w, np.array([0.0]))
    array([0.])
    """

    _rule = _kernels.Rule.ADADELTA
    _state_names = ("square_avg", "acc_delta", "")
    _max_grad = 1e150

    def __init__(self, params=None, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
        self.lr = lr
        self.rho = rho
        self.eps = eps
        self.weight_decay = weight_decay
        self._attach(params)

    @classmethod
    def _check_values(cls, v):
        super()._check_values(v)
        _check_nonnegative("rho", v["rho"], upper=1.0, upper_closed=True)

    @classmethod
    def _kernel_params_of(cls, v):
        return _rule_params(cls._rule, weight_decay=v["weight_decay"],
                            rho=v["rho"], eps=v["eps"])


@_doc
class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) and AMSGrad (Reddi et al. 2018).

    ``eps`` is added after the bias-corrected square root; AMSGrad keeps the
    running max of the uncorrected second moment, as torch does (without
    AMSGrad the ``max_exp_avg_sq`` row of the state is left untouched).

    Parameters
    ----------
    {params}
    lr : float, default=1e-3
        Learning rate, >= 0.
    betas : tuple of float, default=(0.9, 0.999)
        Decays of the first and second moments, each in [0, 1).
    eps : float, default=1e-8
        Added to the bias-corrected square root, >= 1e-300.
    weight_decay : float, default=0.0
        L2 penalty added to the gradient, >= 0.
    amsgrad : bool, default=False
        Use the running maximum of the second moment.

    Examples
    --------
    >>> import numpy as np
    >>> from descent.optim import Adam
    >>> w1, b1 = np.ones((2, 2)), np.zeros(2)
    >>> opt = Adam([{"params": [w1], "weight_decay": 1e-4},
    ...             {"params": [b1], "weight_decay": 0.0}], lr=0.1)
    >>> opt.step([np.ones((2, 2)), -np.ones(2)])
    >>> b1
    array([0.1, 0.1])
    """

    _rule = _kernels.Rule.ADAM
    _state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _max_grad = 1e150

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0, amsgrad=False):
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.amsgrad = amsgrad
        self._attach(params)

    @classmethod
    def _check_values(cls, v):
        super()._check_values(v)
        try:
            beta1, beta2 = v["betas"]
        except (TypeError, ValueError):
            raise ValueError(
                f"betas must be a pair (beta1, beta2), got {v['betas']!r}") from None
        _check_nonnegative("betas[0]", beta1, upper=1.0)
        _check_nonnegative("betas[1]", beta2, upper=1.0)

    @classmethod
    def _kernel_params_of(cls, v):
        beta1, beta2 = v["betas"]
        return _rule_params(cls._rule, weight_decay=v["weight_decay"],
                            beta1=beta1, beta2=beta2, eps=v["eps"],
                            amsgrad=bool(v["amsgrad"]))


@_doc
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019):
    ``p *= 1 - lr * weight_decay`` before the Adam step.

    Parameters
    ----------
    {params}
    lr : float, default=1e-3
        Learning rate, >= 0.
    betas : tuple of float, default=(0.9, 0.999)
        Decays of the first and second moments, each in [0, 1).
    eps : float, default=1e-8
        Added to the bias-corrected square root, >= 1e-300.
    weight_decay : float, default=1e-2
        Decoupled weight decay, >= 0.
    amsgrad : bool, default=False
        Use the running maximum of the second moment.

    Examples
    --------
    >>> import numpy as np
    >>> from descent.optim import AdamW
    >>> w = np.ones(1)
    >>> AdamW(lr=0.1, weight_decay=0.5).step(w, np.zeros(1))
    array([0.95])
    """

    _rule = _kernels.Rule.ADAMW

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=1e-2, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)


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
    """torch.optim's default learning rate of the optimizer ``name``."""
    cls, _ = _registry_entry(name)
    return inspect.signature(cls).parameters["lr"].default


def make_optimizer(name, lr=None, **options):
    """The optimizer ``name`` stands for, with learning rate ``lr`` (its
    default if None) and ``options`` over the registry's."""
    cls, registered = _registry_entry(name)
    return cls(lr=default_lr(name) if lr is None else lr, **{**registered, **options})


def _registry_entry(name):
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(
            f"optimizer must be one of {sorted(REGISTRY)} or a descent.optim "
            f"optimizer instance, got {name!r}")
    return REGISTRY[name]
