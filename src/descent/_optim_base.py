"""The base class of descent.optim's optimizers: hyper-parameter validation
(cached until a hyper-parameter changes), the in-place step of one array or of
parameter groups, and the state.

The step itself is ``_kernels.OptimStep`` (kernel/optim_pass.pxd): it scans
every array of the call for NaN, infinity and overflowing gradients before it
writes anything, then updates each array in one pass. Python only words its
errors and converts what the kernel does not take as is (a list, float32, a
non-contiguous gradient, or one overlapping the parameters).
"""

from __future__ import annotations

import inspect
import math
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator

from . import _kernels
from ._optim_groups import ParamGroup, as_grad, as_groups, check_param_array, check_step, state_as
from ._optim_state import groups_state_dict, load_groups_state_dict, step_groups

__all__ = ["SQUARED_STATES", "Optimizer"]

# State rows that hold sums or averages of squares (never negative).
SQUARED_STATES = ("sum", "square_avg", "acc_delta", "exp_avg_sq", "max_exp_avg_sq")

_NO_GRAD = object()


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


class Optimizer(BaseEstimator):
    """Base class of the optimizers of :mod:`descent.optim`.

    It holds what :class:`SGD`, :class:`Adagrad`, :class:`RMSprop`,
    :class:`Adadelta`, :class:`Adam` and :class:`AdamW` share: the validation
    of the hyper-parameters, the in-place :meth:`step` (of one array or of
    parameter groups), the state and its checkpoints (:meth:`state_dict`,
    :meth:`load_state_dict`). It is not instantiated itself; a subclass
    defines the update rule and its hyper-parameters.

    The hyper-parameters are scikit-learn parameters (``get_params``,
    ``set_params``, ``clone``); the arrays an optimizer steps are not: they
    are given to the constructor (``params``, as torch.optim) or to
    :meth:`add_param_group`, or passed to each ``step(params, grad)``.

    The hyper-parameters are validated at the first step after one changes:
    assign them (``set_params``, ``opt.lr = ...``, ``group["lr"] = ...``);
    a value mutated in place (a list of betas edited) is not seen.

    Attributes
    ----------
    param_groups : list of ParamGroup
        The parameter groups (empty if the arrays are passed to each step).
    n_steps : int
        Steps taken since the last :meth:`reset`.

    See Also
    --------
    ParamGroup : One group of arrays with its own hyper-parameters.
    make_optimizer : An optimizer from its name.

    Examples
    --------
    >>> import numpy as np
    >>> from descent.optim import Adam, Optimizer
    >>> opt = Adam(lr=0.01)
    >>> isinstance(opt, Optimizer), sorted(opt.get_params())
    (True, ['amsgrad', 'betas', 'decoupled_weight_decay', 'eps', 'lr', 'weight_decay'])
    """

    _rule: int
    # The three rows of the state (torch's names; kernel/rules.pxd names the
    # same rows); "" for a row the rule does not use.
    _state_names: tuple[str, str, str]
    _max_grad = np.inf      # the adaptive rules square the gradient: 1e150

    # -- hyper-parameters: scikit-learn's view, validation, the cache ---------
    @classmethod
    def _get_param_names(cls):
        # scikit-learn reads the constructor's signature; the arrays are not
        # hyper-parameters (clone gives a fresh optimizer without them).
        return sorted(name for name in super()._get_param_names() if name != "params")

    @classmethod
    def _hyper_names(cls):
        return tuple(name for name in inspect.signature(cls.__init__).parameters
                     if name not in ("self", "params"))

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        if not name.startswith("_"):
            # a hyper-parameter changed (set_params, load_state_dict or plain
            # assignment): validate again at the next step, for every group
            self.__dict__["_compiled"] = None
            for group in self.__dict__.get("_groups", ()):
                group._kernel = None

    def __getstate__(self):
        state = dict(super().__getstate__(), _compiled=None)   # compiled steps do not pickle
        state["_groups"] = [(g["params"], g.own_options(), g._states, g._steps)
                            for g in state.get("_groups", ())]
        return state

    def __setstate__(self, state):
        groups = state.pop("_groups", [])
        super().__setstate__(state)
        self.__dict__["_groups"] = []
        for params, options, states, steps in groups:
            group = ParamGroup(self, params, options)
            group._states, group._steps = states, steps
            self._groups.append(group)

    @classmethod
    def _check_values(cls, v):
        """Raise ValueError naming the first invalid hyper-parameter of ``v``."""
        _check_nonnegative("lr", v["lr"])
        _check_nonnegative("weight_decay", v["weight_decay"])
        if "eps" in v:
            _check_nonnegative("eps", v["eps"])
            if v["eps"] < 1e-300:
                # torch accepts 0, which turns a zero gradient into 0 / 0
                raise ValueError(
                    f"eps must be at least 1e-300 (it keeps the step finite when a "
                    f"gradient is 0), got {v['eps']!r}")
        for flag in ("nesterov", "centered", "amsgrad", "decoupled_weight_decay"):
            if flag in v and not isinstance(v[flag], (bool, np.bool_)):
                raise ValueError(f"{flag} must be True or False, got {v[flag]!r}")

    @classmethod
    def _kernel_params_of(cls, v):
        raise NotImplementedError  # every concrete optimizer defines it

    def _values(self):
        return {name: getattr(self, name) for name in self._hyper_names()}

    def _validate(self):
        """Raise ValueError if a hyper-parameter is invalid."""
        self._check_values(self._values())

    def _kernel_params(self):
        """The kernel's RuleParams (dict) for this optimizer's settings."""
        return self._kernel_params_of(self._values())

    def _compile(self, v, where=""):
        """(OptimStep, lr) for the hyper-parameters ``v``, validated."""
        try:
            self._check_values(v)
        except ValueError as e:
            raise ValueError(f"{e}{where}") from None
        return _kernels.OptimStep(self._kernel_params_of(v), self._max_grad), float(v["lr"])

    def _init_state(self, n, values=None, dtype=np.float64):
        return np.zeros((3, n), dtype=dtype)

    # -- one array: step(params, grad) -----------------------------------------
    def step(self, params, grad=_NO_GRAD):
        """Update the parameters in place from their gradients (one step).

        Parameters
        ----------
        params : numpy.ndarray or list
            With ``grad``: the array to update, float64 or float32, C-contiguous and
            writeable, of the same shape at every step (or call :meth:`reset`).
            Without ``grad`` (an optimizer given its parameters): the
            gradients, a list with one entry per parameter in the order of
            the groups, each array-like of its parameter's shape or None to
            leave that parameter (and its step count) as it is.
        grad : array-like, optional
            The gradient of ``params``; read only, converted to the dtype of
            ``params``.

        Returns
        -------
        numpy.ndarray or None
            ``params`` (updated) with ``grad``; None for parameter groups.

        Raises
        ------
        ValueError
            For invalid hyper-parameters, a parameter that is not a writeable
            C-contiguous float64 or float32 ndarray, a gradient of another shape or not
            real, grad holding NaN or infinity in the params' dtype (a float64
            gradient beyond 3.4e38 is infinite for float32 params), or, for the
            rules that square it, values of magnitude 1e150 or more, 1e15 for
            float32 parameters, counting ``weight_decay * params``; params
            holding NaN or infinity, or a float64 state (checkpoint, earlier
            arrays) whose values do not fit float32 parameters. A step that
            raises changes no parameter and no state.

        Examples
        --------
        >>> import numpy as np
        >>> from descent.optim import SGD
        >>> w = np.ones(2)
        >>> SGD(lr=0.5).step(w, np.array([1.0, -1.0]))
        array([0.5, 1.5])
        """
        if grad is _NO_GRAD:
            return self._step_groups(params)
        compiled = self._compiled if "_compiled" in self.__dict__ else None
        state = self.__dict__.get("_state")
        if (compiled is None or state is None or type(params) is not np.ndarray
                or params.shape != self._shape):
            return self._step_checked(params, grad)
        code = compiled[0].step(compiled[1], [params], [grad], [state], self._steps)
        if code:
            return self._step_checked(params, grad)
        return params

    def _step_checked(self, params, grad):
        # The first step, a changed hyper-parameter or anything the kernel
        # did not take as is: every check with its message, then the kernel.
        if self.__dict__.get("_groups"):
            raise ValueError(
                f"this {type(self).__name__} steps parameter groups: call "
                "step(grads) with one gradient per parameter")
        if self.__dict__.get("_compiled") is None:
            self._compiled = self._compile(self._values())
        params = check_param_array(params, "params")
        grad = as_grad(grad, params, "")
        state = self.__dict__.get("_state")
        created = state is None
        if created:
            state, self._shape, self._steps = (self._init_state(params.size, None, params.dtype),
                                               params.shape, np.zeros(1))
        elif params.shape != self._shape:
            raise ValueError(
                f"params changed shape from {self._shape} to {params.shape} "
                "between steps; call reset() to start over")
        elif state is not None and state.dtype != params.dtype:   # it follows the params' dtype
            state = state_as(state, params.dtype, "the optimizer's state")
        kernel, lr = self._compiled
        code = kernel.step(lr, [params], [grad], [state], self._steps)
        if code:
            if created:
                self._shape = None
            self._raise(code, "", params.dtype)
        self._state = state
        return params

    def _raise(self, code, where, dtype=np.float64):
        if code == _kernels.StepCode.STEP_GRAD_NONFINITE:
            raise ValueError(
                f"{where}grad contains NaN or infinity" + (
                    " once in float32, the params' dtype (a float64 gradient beyond "
                    "float32's range, 3.4e38 in magnitude, is infinite there): scale "
                    "the objective, or step float64 params"
                    if dtype == np.float32 else ""))
        if code == _kernels.StepCode.STEP_GRAD_TOO_BIG:
            single = dtype == np.float32
            bound = min(self._max_grad, _kernels.MAX_GRAD_F32) if single else self._max_grad
            raise ValueError(
                f"{where}grad (with weight_decay * params added, if any) has values "
                f"above {bound:g} in magnitude, whose squares "
                f"overflow {'the float32 state' if single else 'float64'} in "
                f"{type(self).__name__}: scale the objective")
        if code == _kernels.StepCode.STEP_PARAMS_NONFINITE:
            raise ValueError(f"{where}params contains NaN or infinity")
        raise ValueError(f"{where}params, grad or the state do not match ({code!r})")

    def reset(self):
        """Forget the state (moments, accumulators, step counts).

        The parameter groups, if any, are kept; so are the hyper-parameters.
        Call it to start over, or before stepping an array of another shape
        with ``step(params, grad)``.

        Returns
        -------
        self : Optimizer
            The optimizer, with ``n_steps == 0``.

        Examples
        --------
        >>> import numpy as np
        >>> from descent.optim import Adam
        >>> opt = Adam()
        >>> _ = opt.step(np.ones(3), np.ones(3))
        >>> opt.n_steps, opt.reset().n_steps
        (1, 0)
        >>> _ = opt.step(np.ones(2), np.ones(2))   # another shape: allowed after reset
        """
        self._state = None
        self._shape = None
        self._steps = np.zeros(1)
        self._n_group_steps = 0
        for group in self.__dict__.get("_groups", ()):
            group._states = None
            group._steps[:] = 0
        return self

    @property
    def n_steps(self):
        """Number of steps taken since the last reset (``int``).

        For parameter groups, the number of ``step(grads)`` calls.
        """
        if self.__dict__.get("_groups"):
            return self.__dict__.get("_n_group_steps", 0)
        steps = self.__dict__.get("_steps")
        return 0 if steps is None else int(steps[0])

    # -- the state of one array ------------------------------------------------
    def state_dict(self):
        """Return a copy of the state, for :meth:`load_state_dict`.

        The rows of the state have torch's names: ``momentum_buffer`` (SGD),
        ``sum`` (Adagrad), ``square_avg``, ``momentum_buffer``, ``grad_avg``
        (RMSprop), ``square_avg``, ``acc_delta`` (Adadelta), ``exp_avg``,
        ``exp_avg_sq``, ``max_exp_avg_sq`` (Adam, AdamW).

        Returns
        -------
        dict
            ``"params"``: the hyper-parameters (``get_params()``). For one
            array (``step(params, grad)``): ``"step"`` (int), ``"shape"`` (tuple
            or None) and ``"state"`` (an array of shape (3, size), of the
            dtype of the parameters, whose
            rows are the state rows above in that order, zero where the rule
            has fewer, or None before the first step). For parameter
            groups, as torch.optim: ``"param_groups"``, a list of dicts with
            ``"params"`` (the indices of the group's arrays in the order of
            the groups) and the group's own hyper-parameters, and ``"state"``,
            a dict from index to ``{"step": int, "shape": tuple, <row name>:
            array, ...}`` for each array stepped at least once.

        Examples
        --------
        >>> import numpy as np
        >>> from descent.optim import Adam
        >>> w, b = np.ones(3), np.zeros(1)
        >>> opt = Adam([{"params": [w]}, {"params": [b], "lr": 0.1}])
        >>> opt.step([np.ones(3), np.ones(1)])
        >>> sd = opt.state_dict()
        >>> sd["param_groups"]
        [{'params': [0]}, {'params': [1], 'lr': 0.1}]
        >>> sorted(sd["state"][1])
        ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'shape', 'step']
        """
        if self.__dict__.get("_groups"):
            return groups_state_dict(self)
        state = self.__dict__.get("_state")
        return {
            "params": self.get_params(),
            "step": self.n_steps,
            "shape": self.__dict__.get("_shape"),
            "state": None if state is None else state.copy(),
        }

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned (hyper-parameters included).

        Parameters
        ----------
        state_dict : dict
            From ``state_dict()`` of an optimizer of the same class; for
            parameter groups, one with the same groups (as many, with arrays
            of the same shapes in the same order).

        Returns
        -------
        self : Optimizer
            The optimizer, with the saved hyper-parameters and state.

        Raises
        ------
        ValueError
            If the state was saved from another optimizer class (hyper-parameters
            this one does not have; torch.optim's state_dict too), does not
            match the parameters, holds NaN
            or infinity or negative sums of squares, or a step count is not an
            integer in [0, 2**53]. Nothing is changed then (except, for one
            array, the hyper-parameters, which are validated at the next step).
        KeyError
            If ``state_dict`` lacks an entry that :meth:`state_dict` writes.

        Examples
        --------
        >>> import numpy as np
        >>> from descent.optim import Adam
        >>> w = np.ones(2)
        >>> opt = Adam(lr=0.1)
        >>> _ = opt.step(w, np.ones(2))
        >>> saved = opt.state_dict()
        >>> resumed = Adam().load_state_dict(saved)
        >>> resumed.lr, resumed.n_steps
        (0.1, 1)
        >>> np.array_equal(resumed.step(w.copy(), np.ones(2)), opt.step(w, np.ones(2)))
        True
        """
        if "param_groups" in state_dict or self.__dict__.get("_groups"):
            load_groups_state_dict(self, state_dict)
            return self
        unknown = sorted(set(state_dict["params"]) - set(self.get_params()))
        if unknown:
            raise ValueError(
                f"state_dict holds hyper-parameters {unknown} that {type(self).__name__} "
                "does not have: it was saved from another optimizer class; load it "
                "into one of that class")
        self.set_params(**state_dict["params"])
        state = state_dict["state"]
        if state is None:
            return self.reset()
        state = np.array(state, order="C")
        # float32 states stay float32 (they are a float32 model's); at the
        # next step the state takes the dtype of the params stepped
        state = state.astype(np.float32 if state.dtype == np.float32 else np.float64)
        shape = state_dict["shape"]
        if not (isinstance(shape, (tuple, list))
                and all(isinstance(k, (int, np.integer)) and k >= 0 for k in shape)):
            raise ValueError(f"state_dict['shape'] must be a tuple of sizes, got {shape!r}")
        shape = tuple(int(k) for k in shape)
        if state.shape != (3, math.prod(shape)):
            raise ValueError("state_dict['state'] does not match state_dict['shape']")
        if not np.isfinite(state).all():
            raise ValueError("state_dict['state'] contains NaN or infinity")
        step = check_step(state_dict["step"], "state_dict['step']")
        self._check_state(state)
        self._state, self._shape, self._steps = state, shape, np.array([float(step)])
        return self

    def _check_state(self, state, where="state_dict['state']"):
        """The state rows that are sums or averages of squares must be >= 0."""
        for row, name in enumerate(self._state_names):
            if name in SQUARED_STATES and (state[row] < 0).any():
                raise ValueError(f"{where} has negative values of {name!r}")

    # -- parameter groups --------------------------------------------------------
    def _attach(self, params):
        """The constructor's ``params`` (None: no arrays attached)."""
        self._groups = []
        self._n_group_steps = 0
        if params is not None:
            for group in as_groups(params):
                self.add_param_group(group)

    @property
    def param_groups(self):
        """The parameter groups, a list of :class:`ParamGroup`.

        The groups are live: assigning ``group["lr"]`` changes that group's
        learning rate from the next step (a new list is returned each time,
        holding the same groups).
        """
        return list(self.__dict__.get("_groups", ()))

    def add_param_group(self, param_group):
        """Add a group of arrays, with hyper-parameters of its own.

        Parameters
        ----------
        param_group : dict
            ``"params"``: an array or an iterable of arrays (float64 or float32,
            C-contiguous, writeable, none already in a group); any other key
            is a hyper-parameter of this optimizer (``"lr"``,
            ``"weight_decay"``, ``"betas"``, ...) set for this group only, or
            ``"name"``. Hyper-parameters not given are the optimizer's.

        Returns
        -------
        self : Optimizer
            The optimizer, with one more group.

        Raises
        ------
        ValueError
            If ``param_group`` is not a dict with a ``"params"`` key, an
            array is not a writeable C-contiguous float64 or float32 ndarray, is
            already in a group, or the optimizer was stepped with
            ``step(params, grad)`` since its last reset.
        KeyError
            If a key is not a hyper-parameter of the optimizer.

        Examples
        --------
        >>> import numpy as np
        >>> from descent.optim import SGD
        >>> w, b = np.ones(2), np.zeros(1)
        >>> opt = SGD([w], lr=0.1).add_param_group({"params": b, "lr": 1.0})
        >>> opt.step([np.ones(2), np.ones(1)])
        >>> w, b
        (array([0.9, 0.9]), array([-1.]))
        """
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise ValueError("a parameter group is a dict with a 'params' key, got "
                             f"{type(param_group).__name__}")
        if self.__dict__.get("_state") is not None:
            raise ValueError("this optimizer was stepped with step(params, grad): call "
                             "reset() before adding parameter groups")
        arrays = param_group["params"]
        arrays = [arrays] if isinstance(arrays, np.ndarray) else list(arrays)
        groups = self.__dict__.setdefault("_groups", [])
        start = sum(len(g["params"]) for g in groups)
        arrays = [check_param_array(p, f"params[{start + i}]") for i, p in enumerate(arrays)]
        seen = {id(p) for g in groups for p in g["params"]}
        for i, p in enumerate(arrays):
            if id(p) in seen or any(p is q for q in arrays[:i]):
                raise ValueError(f"params[{start + i}] appears twice among the parameters")
        options = {k: v for k, v in param_group.items() if k != "params"}
        groups.append(ParamGroup(self, arrays, options))
        return self

    def _step_groups(self, grads):
        step_groups(self, grads)
