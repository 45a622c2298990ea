"""Standalone optimizers stepping float64 NumPy arrays in place.

The update rules, parameter names and defaults are torch.optim's (2.x): the
same sequence of gradients gives the same parameters, to rounding. Each
``step`` runs one compiled kernel over the whole array.

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
cloned and grid-searched over ``optimizer__lr``.
"""

from __future__ import annotations

import inspect
import math
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator

from . import _kernels

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW",
           "OPTIMIZER_NAMES", "default_lr", "make_optimizer"]


def _rule_params(rule, **given):
    """The RuleParams struct as the dict the kernel takes (every key present)."""
    params = dict(
        rule=int(rule), weight_decay=0.0, momentum=0.0, dampening=0.0,
        nesterov=False, lr_decay=0.0, eps=0.0, alpha=0.0, centered=False,
        rho=0.0, beta1=0.0, beta2=0.0, amsgrad=False,
    )
    params.update(given)
    return params


def _check_nonnegative(name, value, upper=None, upper_closed=False):
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    too_big = upper is not None and (value > upper if upper_closed else value >= upper)
    if value < 0 or too_big:
        if upper is None:
            allowed = ">= 0"
        else:
            allowed = f"in [0, {upper}{']' if upper_closed else ')'}"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


# State rows that hold sums or averages of squares (never negative).
SQUARED_STATES = ("sum", "square_avg", "acc_delta", "exp_avg_sq", "max_exp_avg_sq")


class Optimizer(BaseEstimator):
    """Base class: state handling, validation and the in-place ``step``."""

    _rule: int
    # The three rows of the state (torch's names; kernel/rules.pxd names the
    # same rows); "" for a row the rule does not use.
    _state_names: tuple[str, str, str]
    _max_grad = np.inf      # the adaptive rules square the gradient: 1e150

    def _validate(self):
        _check_nonnegative("lr", self.lr)
        _check_nonnegative("weight_decay", self.weight_decay)
        if hasattr(self, "eps"):
            _check_nonnegative("eps", self.eps)
            if self.eps < 1e-300:
                # torch accepts 0, which turns a zero gradient into 0 / 0
                raise ValueError(
                    f"eps must be at least 1e-300 (it keeps the step finite when a "
                    f"gradient is 0), got {self.eps!r}")
        for flag in ("nesterov", "centered", "amsgrad"):
            if hasattr(self, flag) and not isinstance(getattr(self, flag),
                                                      (bool, np.bool_)):
                raise ValueError(f"{flag} must be True or False, got "
                                 f"{getattr(self, flag)!r}")

    def _kernel_params(self):
        """The kernel's RuleParams (dict) for this optimizer's settings."""
        raise NotImplementedError  # every concrete optimizer defines it

    def _init_state(self, n):
        return np.zeros((3, n))

    # -- public API ---------------------------------------------------------
    def step(self, params, grad):
        """Update ``params`` in place from ``grad`` (one optimizer step).

        ``params`` must be a writeable, C-contiguous float64 ndarray; ``grad`` is
        anything of the same shape that converts to float64 and is read only.
        """
        # Checked at every step (a few comparisons): set_params or
        # load_state_dict may have changed the hyper-parameters since the last.
        self._validate()
        if (not isinstance(params, np.ndarray) or isinstance(params, np.matrix)
                or params.dtype != np.float64):
            raise ValueError(
                "params must be a float64 numpy.ndarray, got "
                f"{type(params).__name__} of dtype {getattr(params, 'dtype', None)}")
        if not params.flags.c_contiguous:
            raise ValueError("params must be C-contiguous (np.ascontiguousarray)")
        if not params.flags.writeable:
            raise ValueError("params must be writeable: step updates it in place")
        grad = np.asarray(grad)
        if grad.dtype.kind not in "biuf":
            raise ValueError(f"grad must be real numbers, got dtype {grad.dtype}")
        if grad.shape != params.shape:
            raise ValueError(
                f"grad has shape {grad.shape}, params has shape {params.shape}")
        if np.may_share_memory(grad, params):
            grad = grad.copy()      # the kernel writes params while reading grad
        grad = np.ascontiguousarray(grad, dtype=np.float64)
        # One pass for NaN, infinity and values whose squares overflow: the
        # adaptive rules square the gradient (|g| > 1.3e154 gives inf, then NaN).
        if grad.size and not np.abs(grad).max() < self._max_grad:
            raise ValueError(
                "grad contains NaN or infinity" if not np.isfinite(grad).all() else
                f"grad has values above {self._max_grad:g} in magnitude, whose squares "
                f"overflow float64 in {type(self).__name__}: scale the objective")
        if params.size and not np.isfinite(params).all():
            raise ValueError("params contains NaN or infinity")
        state = getattr(self, "_state", None)
        if state is None:
            self._state = state = self._init_state(params.size)
            self._shape = params.shape
            self._n_steps = 0
        elif params.shape != self._shape:
            raise ValueError(
                f"params changed shape from {self._shape} to {params.shape} "
                "between steps; call reset() to start over")
        self._n_steps += 1
        _kernels.optim_step(self._kernel_params(), float(self.lr), float(self._n_steps),
                            params.reshape(-1), grad.reshape(-1), state)
        return params

    def reset(self):
        """Forget the state (moments, accumulators, step count)."""
        self._state = None
        self._shape = None
        self._n_steps = 0
        return self

    @property
    def n_steps(self):
        """Number of steps taken since the last reset."""
        return getattr(self, "_n_steps", 0)

    def state_dict(self):
        """A copy of the state, for checkpointing with ``load_state_dict``."""
        state = getattr(self, "_state", None)
        return {
            "params": self.get_params(),
            "step": self.n_steps,
            "shape": getattr(self, "_shape", None),
            "state": None if state is None else state.copy(),
        }

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict`` returned (hyper-parameters included)."""
        self.set_params(**state_dict["params"])
        state = state_dict["state"]
        if state is None:
            return self.reset()
        state = np.array(state, dtype=np.float64, order="C")
        shape = state_dict["shape"]
        if not (isinstance(shape, (tuple, list))
                and all(isinstance(k, (int, np.integer)) and k >= 0 for k in shape)):
            raise ValueError(f"state_dict['shape'] must be a tuple of sizes, got {shape!r}")
        shape = tuple(int(k) for k in shape)
        if state.shape != (3, math.prod(shape)):
            raise ValueError("state_dict['state'] does not match state_dict['shape']")
        if not np.isfinite(state).all():
            raise ValueError("state_dict['state'] contains NaN or infinity")
        step = state_dict["step"]
        if not (isinstance(step, (int, np.integer)) and 0 <= step <= 2**53):
            raise ValueError(f"state_dict['step'] must be an integer in [0, 2**53], "
                             f"got {step!r}")
        self._check_state(state)
        self._state, self._shape, self._n_steps = state, shape, int(step)
        return self

    def _check_state(self, state):
        """The state rows that are sums or averages of squares must be >= 0."""
        for row, name in enumerate(self._state_names):
            if name in SQUARED_STATES and (state[row] < 0).any():
                raise ValueError(f"state_dict['state'] has negative values of {name!r}")


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    ``buf = momentum * buf + (1 - dampening) * g`` (the first buffer is ``g``),
    then ``g = g + momentum * buf`` (Nesterov) or ``g = buf``; ``p -= lr * g``.
    """

    _rule = _kernels.Rule.SGD
    _state_names = ("momentum_buffer", "", "")

    def __init__(self, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        self.lr = lr
        self.momentum = momentum
        self.dampening = dampening
        self.weight_decay = weight_decay
        self.nesterov = nesterov

    def _validate(self):
        super()._validate()
        _check_nonnegative("momentum", self.momentum)
        _check_nonnegative("dampening", self.dampening)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov=True requires momentum > 0 and dampening = 0")

    def _kernel_params(self):
        return _rule_params(self._rule, weight_decay=self.weight_decay,
                            momentum=self.momentum, dampening=self.dampening,
                            nesterov=bool(self.nesterov))


class Adagrad(Optimizer):
    """AdaGrad (Duchi, Hazan & Singer 2011) with torch's ``lr_decay``."""

    _rule = _kernels.Rule.ADAGRAD
    _state_names = ("sum", "", "")
    _max_grad = 1e150

    def __init__(self, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10):
        self.lr = lr
        self.lr_decay = lr_decay
        self.weight_decay = weight_decay
        self.initial_accumulator_value = initial_accumulator_value
        self.eps = eps

    def _validate(self):
        super()._validate()
        _check_nonnegative("lr_decay", self.lr_decay)
        _check_nonnegative("initial_accumulator_value", self.initial_accumulator_value)

    def _init_state(self, n):
        state = super()._init_state(n)
        state[0] = self.initial_accumulator_value
        return state

    def _kernel_params(self):
        return _rule_params(self._rule, weight_decay=self.weight_decay,
                            lr_decay=self.lr_decay, eps=self.eps)


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton 2012), optionally centered and with momentum."""

    _rule = _kernels.Rule.RMSPROP
    _state_names = ("square_avg", "momentum_buffer", "grad_avg")
    _max_grad = 1e150

    def __init__(self, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False):
        self.lr = lr
        self.alpha = alpha
        self.eps = eps
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.centered = centered

    def _validate(self):
        super()._validate()
        # torch only asks alpha >= 0; above 1 the second moment turns negative
        _check_nonnegative("alpha", self.alpha, upper=1.0, upper_closed=True)
        _check_nonnegative("momentum", self.momentum)

    def _kernel_params(self):
        return _rule_params(self._rule, weight_decay=self.weight_decay,
                            alpha=self.alpha, eps=self.eps,
                            momentum=self.momentum, centered=bool(self.centered))


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012); ``eps`` inside both square roots, as torch."""

    _rule = _kernels.Rule.ADADELTA
    _state_names = ("square_avg", "acc_delta", "")
    _max_grad = 1e150

    def __init__(self, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
        self.lr = lr
        self.rho = rho
        self.eps = eps
        self.weight_decay = weight_decay

    def _validate(self):
        super()._validate()
        _check_nonnegative("rho", self.rho, upper=1.0, upper_closed=True)

    def _kernel_params(self):
        return _rule_params(self._rule, weight_decay=self.weight_decay,
                            rho=self.rho, eps=self.eps)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) and AMSGrad (Reddi et al. 2018).

    ``eps`` is added after the bias-corrected square root; AMSGrad keeps the
    running max of the uncorrected second moment, as torch does.
    """

    _rule = _kernels.Rule.ADAM
    _state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _max_grad = 1e150

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False):
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.amsgrad = amsgrad

    def _validate(self):
        super()._validate()
        try:
            beta1, beta2 = self.betas
        except (TypeError, ValueError):
            raise ValueError(
                f"betas must be a pair (beta1, beta2), got {self.betas!r}") from None
        _check_nonnegative("betas[0]", beta1, upper=1.0)
        _check_nonnegative("betas[1]", beta2, upper=1.0)

    def _kernel_params(self):
        beta1, beta2 = self.betas
        return _rule_params(self._rule, weight_decay=self.weight_decay,
                            beta1=beta1, beta2=beta2, eps=self.eps,
                            amsgrad=bool(self.amsgrad))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019):
    ``p *= 1 - lr * weight_decay`` before the Adam step."""

    _rule = _kernels.Rule.ADAMW

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
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
