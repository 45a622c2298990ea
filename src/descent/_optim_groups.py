"""Parameter groups of descent.optim (torch.optim's ``param_groups``), and
the checks of the arrays a step reads (parameters, gradients, state, step).

A group is the arrays it steps, the hyper-parameters it sets for itself (the
others are the optimizer's, looked up at each compile) and, once stepped, one
state of three rows per array and a step count per array.
"""

from __future__ import annotations

from numbers import Real

import numpy as np

from . import _kernels

__all__ = ["LAYOUT", "ParamGroup", "as_grad", "as_groups", "check_param_array", "check_step",
           "state_as"]

# The kernel's step codes that name a fault of the arrays (not of their values).
LAYOUT = (_kernels.StepCode.STEP_PARAMS_LAYOUT, _kernels.StepCode.STEP_GRAD_LAYOUT,
          _kernels.StepCode.STEP_SHAPE, _kernels.StepCode.STEP_STATE)


def check_param_array(p, where):
    """``p`` as an exact ndarray view (a subclass is viewed as ndarray), or a
    ValueError naming ``where``: a parameter must be float64 or float32,
    C-contiguous and writeable, as ``step`` updates it in place."""
    if (not isinstance(p, np.ndarray) or isinstance(p, np.matrix)
            or p.dtype not in (np.float64, np.float32) or not p.dtype.isnative):
        raise ValueError(
            f"{where} must be a float64 or float32 numpy.ndarray, got "
            f"{type(p).__name__} of dtype {getattr(p, 'dtype', None)}")
    if not p.flags.c_contiguous:
        raise ValueError(f"{where} must be C-contiguous (np.ascontiguousarray)")
    if not p.flags.writeable:
        raise ValueError(f"{where} must be writeable: step updates it in place")
    return p if type(p) is np.ndarray else p.view(np.ndarray)


def as_groups(params):
    """The constructor's ``params`` as a list of group dicts: an array, an
    iterable of arrays (one group) or an iterable of dicts (one group each)."""
    if isinstance(params, (Real, str, bytes)) or params is None:
        hint = (f"; to set the learning rate, use lr={params!r}"
                if isinstance(params, Real) else "")
        raise ValueError("params must be an array, an iterable of arrays or an iterable "
                         f"of dicts with a 'params' key, got {params!r}{hint}")
    if isinstance(params, np.ndarray) or isinstance(params, dict):
        params = [params]
    try:
        items = list(params)
    except TypeError:
        raise ValueError("params must be an array, an iterable of arrays or an "
                         f"iterable of dicts, got {type(params).__name__}") from None
    if not items:
        raise ValueError("params is an empty list: the optimizer has nothing to step")
    if all(isinstance(item, dict) for item in items):
        return [dict(item) for item in items]
    if any(isinstance(item, dict) for item in items):
        raise ValueError("params mixes arrays and dicts: give either arrays (one group) "
                         "or dicts with a 'params' key (one group each)")
    return [{"params": items}]


class ParamGroup(dict):
    """One parameter group of an optimizer, as torch.optim's ``param_groups``.

    A ``dict`` holding ``"params"`` (the list of arrays the group steps) and the
    hyper-parameters set for this group only. A hyper-parameter the group does
    not set reads as the optimizer's (``group["lr"]`` is ``opt.lr`` until the
    group sets its own), so ``opt.set_params(lr=...)`` changes every group
    that has no ``lr`` of its own. Assigning a hyper-parameter
    (``group["lr"] = 0.01``, as a scheduler does) takes effect at the next
    step; ``del group["lr"]`` returns to the optimizer's.

    Groups are created by the optimizer (its constructor's ``params`` or
    :meth:`Optimizer.add_param_group`), not by hand.

    Parameters
    ----------
    owner : Optimizer
        The optimizer the group belongs to.
    params : list of numpy.ndarray
        The arrays, as checked by the optimizer (float64, C-contiguous,
        writeable).
    options : dict
        The group's own hyper-parameters (names of ``owner.get_params()``) and
        optionally ``"name"``, a label.

    Raises
    ------
    KeyError
        From the constructor, if a key of ``options`` is not a
        hyper-parameter of the optimizer nor ``"name"``. Afterwards, on
        ``group[key] = value`` (or ``del group[key]``) for a key that is
        not a hyper-parameter of the optimizer nor ``"name"``, or for
        ``"params"`` (a group's arrays are fixed once added), and on reading
        a key the group does not have that is neither.

    See Also
    --------
    Optimizer.add_param_group : Add a group to an optimizer.
    Optimizer.param_groups : The groups of an optimizer.

    Examples
    --------
    >>> import numpy as np
    >>> from descent.optim import SGD
    >>> W, b = np.ones(2), np.zeros(1)
    >>> opt = SGD([{"params": [W], "lr": 0.5, "name": "weights"}, {"params": [b]}], lr=0.1)
    >>> weights, bias = opt.param_groups
    >>> weights["lr"], bias["lr"], weights["name"]
    (0.5, 0.1, 'weights')
    >>> bias["lr"] = 1.0            # from the next step on
    >>> opt.step([np.ones(2), np.ones(1)])
    >>> W, b
    (array([0.5, 0.5]), array([-1.]))
    """

    def __init__(self, owner, params, options):
        super().__init__()
        self._owner = owner
        self._names = frozenset(owner._hyper_names()) | {"name"}
        self._kernel = None          # the compiled step: (OptimStep, lr)
        self._states = None          # one (3, n) array per parameter, once stepped
        self._steps = np.zeros(len(params))
        dict.__setitem__(self, "params", list(params))
        for key, value in options.items():
            self._check_key(key)
            dict.__setitem__(self, key, value)

    def _check_key(self, key):
        if key == "params":
            raise KeyError("a group's 'params' cannot be replaced: add a group "
                           "(add_param_group) or create a new optimizer")
        if key not in self._names:
            raise KeyError(f"{key!r} is not a hyper-parameter of "
                           f"{type(self._owner).__name__}: use one of "
                           f"{sorted(self._names - {'name'})} (or 'name')")

    def __missing__(self, key):
        if key in self._names and key != "name":
            return getattr(self._owner, key)
        raise KeyError(key)

    def __setitem__(self, key, value):
        self._check_key(key)
        dict.__setitem__(self, key, value)
        self._kernel = None

    def __delitem__(self, key):
        self._check_key(key)
        dict.__delitem__(self, key)
        self._kernel = None

    def update(self, *args, **kwargs):
        """Set several hyper-parameters (as ``dict.update``), checked by name.

        Parameters
        ----------
        *args : dict or iterable of (key, value) pairs, optional
            As ``dict.update``: at most one mapping or iterable of pairs.
        **kwargs : dict
            More hyper-parameters, by name.

        Raises
        ------
        KeyError
            If a key is not a hyper-parameter of the optimizer nor ``"name"``;
            the keys before it are set.

        Examples
        --------
        >>> import numpy as np
        >>> from descent.optim import Adam
        >>> group = Adam([np.zeros(2)]).param_groups[0]
        >>> group.update(lr=0.1, betas=(0.8, 0.99))
        >>> group["lr"], group["betas"]
        (0.1, (0.8, 0.99))
        """
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key, default=None):
        """Set a hyper-parameter for this group unless it has its own.

        ``dict.setdefault``, checked by name: a group that does not set
        ``key`` itself gets ``default`` (even where the optimizer has a value).

        Parameters
        ----------
        key : str
            A hyper-parameter of the optimizer, or ``"name"``.
        default : object, default=None
            The value to set if the group has none of its own.

        Returns
        -------
        object
            The group's value of ``key`` after the call.

        Raises
        ------
        KeyError
            If ``key`` is not a hyper-parameter of the optimizer nor ``"name"``.

        Examples
        --------
        >>> import numpy as np
        >>> from descent.optim import SGD
        >>> group = SGD([np.zeros(2)], lr=0.1).param_groups[0]
        >>> group.setdefault("lr", 0.5), group.setdefault("lr", 0.9)
        (0.5, 0.5)
        """
        if not dict.__contains__(self, key):
            self[key] = default
        return self[key]

    def pop(self, key, *default):
        """Drop the group's own value of a key; it then reads as the optimizer's.

        Parameters
        ----------
        key : str
            A hyper-parameter of the optimizer, or ``"name"``.
        *default : object, optional
            Returned if the group has no value of its own (at most one).

        Returns
        -------
        object
            The group's own value that was dropped, or ``default``.

        Raises
        ------
        KeyError
            If the group has no value of its own for ``key`` and no default
            is given, or ``key`` is ``"params"``.

        Examples
        --------
        >>> import numpy as np
        >>> from descent.optim import SGD
        >>> opt = SGD([{"params": [np.zeros(2)], "lr": 0.5}], lr=0.1)
        >>> group = opt.param_groups[0]
        >>> group.pop("lr"), group["lr"]
        (0.5, 0.1)
        """
        if dict.__contains__(self, key):
            value = self[key]
            del self[key]
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def popitem(self):
        """Refuse: a group's entries are removed by name.

        Raises
        ------
        KeyError
            Always; use ``del group[key]`` or :meth:`pop`.

        Examples
        --------
        >>> import numpy as np
        >>> from descent.optim import SGD
        >>> SGD([np.zeros(2)]).param_groups[0].popitem()
        Traceback (most recent call last):
        ...
        KeyError: "a group's entries are removed by name (del group[key])"
        """
        raise KeyError("a group's entries are removed by name (del group[key])")

    def clear(self):
        """Refuse: a group's entries are removed by name.

        Raises
        ------
        KeyError
            Always; use ``del group[key]`` or :meth:`pop`.

        Examples
        --------
        >>> import numpy as np
        >>> from descent.optim import SGD
        >>> SGD([np.zeros(2)]).param_groups[0].clear()
        Traceback (most recent call last):
        ...
        KeyError: "a group's entries are removed by name (del group[key])"
        """
        raise KeyError("a group's entries are removed by name (del group[key])")

    def __reduce__(self):
        return (dict, (dict(self),))

    def values_for(self, names):
        """Return the hyper-parameters in force for this group.

        Parameters
        ----------
        names : iterable of str
            Hyper-parameter names of the optimizer.

        Returns
        -------
        dict
            Each name with the group's own value, or the optimizer's.

        Raises
        ------
        KeyError
            If a name is not a hyper-parameter of the optimizer.

        Examples
        --------
        >>> import numpy as np
        >>> from descent.optim import SGD
        >>> opt = SGD([{"params": [np.zeros(2)], "lr": 0.5}], momentum=0.9)
        >>> opt.param_groups[0].values_for(["lr", "momentum"])
        {'lr': 0.5, 'momentum': 0.9}
        """
        return {name: self[name] for name in names}

    def own_options(self):
        """Return the hyper-parameters this group sets itself (and its ``name``).

        Returns
        -------
        dict
            The group's own entries, without ``"params"``.

        Examples
        --------
        >>> import numpy as np
        >>> from descent.optim import SGD
        >>> opt = SGD([{"params": [np.zeros(2)], "lr": 0.5, "name": "w"}], momentum=0.9)
        >>> opt.param_groups[0].own_options()
        {'lr': 0.5, 'name': 'w'}
        """
        return {k: v for k, v in dict.items(self) if k != "params"}


def state_as(state, dtype, where):
    """The state converted to the dtype of the parameters it steps (a float64
    state given float32 parameters, after a checkpoint or a change of
    arrays), or a ValueError naming ``where`` if its values do not fit."""
    with np.errstate(over="ignore"):
        converted = state.astype(dtype)
    if not np.isfinite(converted).all():
        raise ValueError(
            f"{where} holds values up to {np.abs(state).max():g}, beyond the range of "
            f"the parameters' dtype {np.dtype(dtype)}: call reset() (or load a state "
            "that fits) before stepping them")
    return converted


def as_grad(grad, params, where):
    """``grad`` as a C-contiguous array of ``params``' shape and dtype that
    does not share memory with it (a copy if it did)."""
    grad = np.asarray(grad)
    if grad.dtype.kind not in "biuf":
        raise ValueError(f"{where}grad must be real numbers, got dtype {grad.dtype}")
    if grad.shape != params.shape:
        raise ValueError(f"{where}grad has shape {grad.shape}, params has shape "
                         f"{params.shape}")
    if np.may_share_memory(grad, params):
        grad = grad.copy()      # the kernel writes params while reading grad
    with np.errstate(over="ignore"):      # beyond float32's range: the step's error says so
        return np.asarray(grad, dtype=params.dtype, order="C")   # keeps 0-d arrays 0-d


def check_step(step, where):
    if not (isinstance(step, (int, np.integer)) and 0 <= step <= 2**53):
        raise ValueError(f"{where} must be an integer in [0, 2**53], got {step!r}")
    return int(step)
