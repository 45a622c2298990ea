"""Parameter groups of descent.optim (torch.optim's ``param_groups``).

A group is the arrays it steps, the hyper-parameters it sets for itself (the
others are the optimizer's, looked up at each compile) and, once stepped, one
state of three rows per array and a step count per array.
"""

from __future__ import annotations

from numbers import Real

import numpy as np

__all__ = ["ParamGroup", "as_groups", "check_param_array"]


def check_param_array(p, where):
    """``p`` as an exact ndarray view (a subclass is viewed as ndarray), or a
    ValueError naming ``where``: a parameter must be float64, C-contiguous and
    writeable, as ``step`` updates it in place."""
    if (not isinstance(p, np.ndarray) or isinstance(p, np.matrix)
            or p.dtype != np.float64 or not p.dtype.isnative):
        raise ValueError(
            f"{where} must be a float64 numpy.ndarray, got {type(p).__name__} of "
            f"dtype {getattr(p, 'dtype', None)}")
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

    Parameters
    ----------
    owner : Optimizer
        The optimizer the group belongs to.
    params : list of numpy.ndarray
        The arrays (checked float64, C-contiguous, writeable).
    options : dict
        The group's own hyper-parameters (names of ``owner.get_params()``) and
        optionally ``"name"``, a label.

    Raises
    ------
    KeyError
        On ``group[key] = value`` for a key that is not a hyper-parameter of
        the optimizer, ``"name"`` or (once added) ``"params"``.
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
        """Set several hyper-parameters (as ``dict.update``), checked by name."""
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key, default=None):
        """``dict.setdefault``, checked by name."""
        if not dict.__contains__(self, key):
            self[key] = default
        return self[key]

    def pop(self, key, *default):
        """Drop the group's own value of ``key`` (it then reads as the optimizer's)."""
        if dict.__contains__(self, key):
            value = self[key]
            del self[key]
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def popitem(self):
        raise KeyError("a group's entries are removed by name (del group[key])")

    def clear(self):
        raise KeyError("a group's entries are removed by name (del group[key])")

    def __reduce__(self):
        return (dict, (dict(self),))

    def values_for(self, names):
        """The hyper-parameters ``names`` in force for this group."""
        return {name: self[name] for name in names}

    def own_options(self):
        """The hyper-parameters this group sets itself (and its ``name``)."""
        return {k: v for k, v in dict.items(self) if k != "params"}
