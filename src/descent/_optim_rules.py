"""The update rules of descent.optim before Adam: SGD (with momentum and
Nesterov), Adagrad, RMSprop and Adadelta, and the docstring parts every
optimizer class shares (filled in by ``_doc``)."""

from __future__ import annotations

import numpy as np

from . import _kernels
from ._optim_base import Optimizer, _check_nonnegative, _rule_params

__all__ = ["SGD", "Adagrad", "RMSprop", "Adadelta"]


_PARAMS_DOC = """params : numpy.ndarray, iterable of arrays or of dicts, optional
        The arrays to step with ``step(grads)``, as torch.optim: an array, a
        list of arrays (one group), or a list of dicts each holding
        ``"params"`` (an array or a list of arrays) and hyper-parameters for
        that group only (see :class:`ParamGroup`). Each array must be a
        writeable, C-contiguous float64 or float32 ``numpy.ndarray``; it is
        updated in place, its state kept in its dtype. None (the default): no arrays attached, for
        ``step(params, grad)`` or an estimator's ``optimizer=``. Not a
        scikit-learn parameter: ``clone`` and ``get_params`` leave it out."""

_ATTRIBUTES_DOC = """Attributes
    ----------
    param_groups : list of ParamGroup
        The parameter groups given to the constructor or to
        :meth:`add_param_group` (empty without).
    n_steps : int
        Steps taken since the last :meth:`reset` (or construction)."""

_RAISES_DOC = """Raises
    ------
    ValueError
        The constructor only stores the hyper-parameters (as scikit-learn's
        estimators do); the first :meth:`step` after one is set checks them
        all and raises, naming the first that is not a finite real number in
        its range above (a boolean flag that is not True or False, too). The
        constructor raises if ``params`` is not an array, a list of arrays or
        a list of dicts with a ``"params"`` key, or holds an array that is not
        a writeable C-contiguous float64 or float32 ndarray, or the same
        array twice.
        :meth:`step` also raises for bad gradients or parameters (see there).
    KeyError
        From the constructor, if a group's dict has a key that is neither a
        hyper-parameter of the optimizer nor ``"name"``."""

_SEE_ALSO_DOC = """See Also
    --------
    descent.minimize : Minimise a function with these update rules.
    descent.schedules : Learning-rate schedules that drive ``lr``.
    descent.SGDRegressor : Linear regression trained with ``optimizer=``."""

_EPS_RULE = """``eps`` must be at least 1e-300: torch accepts 0, where a coordinate
        whose gradient (and state) is 0 gets the step ``0 / 0``, NaN; descent
        raises ``ValueError`` at the first step instead"""

_TORCH = "https://pytorch.org/docs/stable/generated/torch.optim"


def _doc(cls):
    doc = cls.__doc__
    for key, text in (("{params}", _PARAMS_DOC), ("{attributes}", _ATTRIBUTES_DOC),
                      ("{raises}", _RAISES_DOC), ("{see_also}", _SEE_ALSO_DOC),
                      ("{eps_rule}", _EPS_RULE), ("{torch}", _TORCH)):
        doc = doc.replace(key, text)
    cls.__doc__ = doc
    cls.__module__ = "descent.optim"      # where users import, pickle and read it
    return cls


@_doc
class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    torch.optim.SGD's update rule, applied in place to float64 or
    float32 arrays. With
    ``g`` the gradient of the parameters ``p`` plus ``weight_decay * p``::

        buf = momentum * buf + (1 - dampening) * g     # buf = g at the first step
        g = g + momentum * buf if nesterov else buf    # with momentum > 0 only
        p = p - lr * g

    Parameters
    ----------
    {params}
    lr : float, default=1e-3
        Learning rate: the step is ``lr`` times the gradient (or the momentum
        buffer), in the units of the parameters per unit of gradient. Finite
        and >= 0.
    momentum : float, default=0.0
        Momentum factor, finite and >= 0; 0 keeps no buffer (plain SGD), 0.9
        is the usual choice (the ``"momentum"`` and ``"nesterov"`` names of
        :func:`make_optimizer` use it).
    dampening : float, default=0.0
        Dampening of the momentum: a new gradient enters the buffer with the
        weight ``1 - dampening``; finite and >= 0.
    weight_decay : float, default=0.0
        L2 penalty: ``weight_decay * p`` is added to the gradient (the gradient
        of ``weight_decay / 2 * |p|**2``); finite and >= 0.
    nesterov : bool, default=False
        Nesterov momentum (Sutskever et al. 2013): the step uses the gradient
        plus ``momentum`` times the new buffer. Needs ``momentum > 0`` and
        ``dampening == 0``.

    {attributes}

    {raises}

    {see_also}

    Notes
    -----
    The same gradients give the same parameters as torch.optim.SGD in
    float64, to rounding. Gradients are checked for NaN and infinity only
    (SGD squares nothing).

    References
    ----------
    .. [1] PyTorch, torch.optim.SGD, {torch}.SGD.html
    .. [2] I. Sutskever, J. Martens, G. Dahl and G. Hinton, "On the importance
       of initialization and momentum in deep learning", ICML 2013.
    .. [3] L. Bottou, "Stochastic Gradient Descent Tricks", Neural Networks:
       Tricks of the Trade, 2nd ed., Springer, 2012.

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
    """AdaGrad (Duchi, Hazan & Singer 2011), with torch's ``lr_decay``.

    torch.optim.Adagrad's update rule, applied in place to float64 or
    float32 arrays.
    With ``g`` the gradient of the parameters ``p`` plus ``weight_decay * p``
    and ``t`` the step count (1 at the first step)::

        clr = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g**2
        p = p - clr * g / (sqrt(sum) + eps)

    Parameters
    ----------
    {params}
    lr : float, default=1e-2
        Learning rate, finite and >= 0. A coordinate's first step is about
        ``lr`` (in the units of the parameters), whatever the scale of its
        gradient; later steps shrink as the squared gradients add up.
    lr_decay : float, default=0.0
        Decay of the learning rate: step ``t`` uses
        ``lr / (1 + (t - 1) * lr_decay)``; finite and >= 0.
    weight_decay : float, default=0.0
        L2 penalty: ``weight_decay * p`` is added to the gradient; finite and
        >= 0.
    initial_accumulator_value : float, default=0.0
        Starting value of every coordinate's sum of squared gradients, finite
        and >= 0 (a group's own value where it sets one; torch 2.13 uses the
        constructor's for all groups).
    eps : float, default=1e-10
        Added to the square root of the sum, in the units of the gradient.
        {eps_rule}.

    {attributes}

    {raises}

    {see_also}

    Notes
    -----
    The rules that square the gradient refuse (``ValueError``) gradients of
    magnitude 1e150 or more, whose squares overflow float64 (1e15 or more
    for float32 parameters, whose state is float32).

    References
    ----------
    .. [1] J. Duchi, E. Hazan and Y. Singer, "Adaptive Subgradient Methods
       for Online Learning and Stochastic Optimization", Journal of Machine
       Learning Research 12, 2121-2159, 2011.
    .. [2] PyTorch, torch.optim.Adagrad, {torch}.Adagrad.html

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

    def _init_state(self, n, values=None, dtype=np.float64):
        state = super()._init_state(n, values, dtype)
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

    torch.optim.RMSprop's update rule, applied in place to float64 or
    float32 arrays.
    With ``g`` the gradient of the parameters ``p`` plus ``weight_decay * p``::

        square_avg = alpha * square_avg + (1 - alpha) * g**2
        grad_avg = alpha * grad_avg + (1 - alpha) * g        # centered only
        v = square_avg - grad_avg**2 if centered else square_avg
        buf = momentum * buf + g / (sqrt(v) + eps)
        p = p - lr * buf

    A centered variance ``v`` that rounds below zero is taken as zero (torch
    gives NaN).

    Parameters
    ----------
    {params}
    lr : float, default=1e-2
        Learning rate, finite and >= 0: without momentum, under a steady
        gradient a coordinate moves by about ``lr`` per step (in the units of
        the parameters) once the average has settled; more at first, as the
        average starts at 0 and is not bias-corrected.
    alpha : float, default=0.99
        Smoothing constant of the running averages, in [0, 1] (torch only
        asks >= 0; above 1 the average of squares turns negative).
    eps : float, default=1e-8
        Added to the square root, in the units of the gradient.
        {eps_rule}.
    weight_decay : float, default=0.0
        L2 penalty: ``weight_decay * p`` is added to the gradient; finite and
        >= 0.
    momentum : float, default=0.0
        Momentum factor of the buffer of scaled gradients, finite and >= 0.
    centered : bool, default=False
        Divide by the estimated standard deviation of the gradient (the
        average of squares minus the squared average, Graves 2013) instead of
        the root mean square.

    {attributes}

    {raises}

    {see_also}

    Notes
    -----
    The rules that square the gradient refuse (``ValueError``) gradients of
    magnitude 1e150 or more, whose squares overflow float64 (1e15 or more
    for float32 parameters, whose state is float32).

    References
    ----------
    .. [1] T. Tieleman and G. Hinton, "Lecture 6.5 - RMSprop: Divide the
       gradient by a running average of its recent magnitude", COURSERA:
       Neural Networks for Machine Learning, 2012.
    .. [2] A. Graves, "Generating Sequences With Recurrent Neural Networks",
       arXiv:1308.0850, 2013 (the centered variant).
    .. [3] PyTorch, torch.optim.RMSprop, {torch}.RMSprop.html

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

    torch.optim.Adadelta's update rule, applied in place to float64 or
    float32 arrays.
    With ``g`` the gradient of the parameters ``p`` plus ``weight_decay * p``::

        square_avg = rho * square_avg + (1 - rho) * g**2
        delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
        acc_delta = rho * acc_delta + (1 - rho) * delta**2
        p = p - lr * delta

    Parameters
    ----------
    {params}
    lr : float, default=1.0
        Scale of the update ``delta`` (which has the units of the parameters
        by construction), finite and >= 0; torch's default 1.0 is Zeiler's
        rule as published.
    rho : float, default=0.9
        Decay of both running averages, in [0, 1].
    eps : float, default=1e-6
        Added inside both square roots; it sets the size of the first steps
        (a coordinate's first step is about ``lr * sqrt(eps / (1 - rho))``
        for a gradient much larger than ``sqrt(eps)``).
        {eps_rule}.
    weight_decay : float, default=0.0
        L2 penalty: ``weight_decay * p`` is added to the gradient; finite and
        >= 0.

    {attributes}

    {raises}

    {see_also}

    Notes
    -----
    The rules that square the gradient refuse (``ValueError``) gradients of
    magnitude 1e150 or more, whose squares overflow float64 (1e15 or more
    for float32 parameters, whose state is float32).

    References
    ----------
    .. [1] M. D. Zeiler, "ADADELTA: An Adaptive Learning Rate Method",
       arXiv:1212.5701, 2012.
    .. [2] PyTorch, torch.optim.Adadelta, {torch}.Adadelta.html

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
