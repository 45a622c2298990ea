"""``descent.minimize``: the descent.optim rules behind
``scipy.optimize.minimize``'s signature."""

from __future__ import annotations

import copy
import inspect
import math

import numpy as np
from scipy.optimize import Bounds, OptimizeResult

from ._lr_base import LRSchedule
from .optim import OPTIMIZER_NAMES, Optimizer, make_optimizer

__all__ = ["minimize"]

# options of minimize itself; any other key of `options` is a hyper-parameter
# of the method's optimizer
_OWN_OPTIONS = ("maxiter", "lr", "disp")


def minimize(fun, x0, args=(), method="adam", jac=None, hess=None, hessp=None,
             bounds=None, constraints=(), tol=None, callback=None, options=None, *,
             lr=None, maxiter=None, schedule=None, **optimizer_options):
    """Minimise a function from a start point with a first-order update rule.

    The signature is ``scipy.optimize.minimize``'s; the methods are the update
    rules of :mod:`descent.optim` (torch.optim's formulas). Each iteration
    evaluates the objective and its gradient, stops if the gradient is small
    enough, and otherwise takes one step of the optimizer (then projects onto
    ``bounds``, if given).

    Parameters
    ----------
    fun : callable
        The objective, ``fun(x, *args) -> float``, or ``fun(x, *args) ->
        (float, array_like)`` (value and gradient) with ``jac=True``. ``x`` is
        a float64 array of ``x0``'s shape; do not keep it (it is updated in
        place between calls).
    x0 : array_like
        The start point, any shape, converted to float64; not modified. NaN
        and infinity are refused.
    args : tuple, default=()
        Extra arguments passed to ``fun`` and ``jac`` (anything but a tuple
        is passed as the one extra argument, as scipy does).
    method : str or descent.optim.Optimizer, default="adam"
        The update rule: ``"sgd"``, ``"momentum"``, ``"nesterov"`` (SGD with
        momentum 0.9, and Nesterov's), ``"adagrad"``, ``"rmsprop"``,
        ``"adadelta"``, ``"adam"``, ``"amsgrad"`` or ``"adamw"`` (in any
        case, as scipy's names), each with torch.optim's defaults (see
        :func:`descent.optim.make_optimizer`), or an optimizer instance (then
        ``lr`` and optimizer options must not be given: set them on the
        instance; its state is reset first).
        ``"adamw"`` has torch's ``weight_decay=1e-2``: it minimises ``fun``
        plus that decay, so the gradient of ``fun`` alone need not reach
        ``tol``.
    jac : callable, bool or None, default=None
        The gradient: ``jac(x, *args) -> array_like`` of ``x``'s shape (or
        size); ``True`` if ``fun`` returns ``(value, gradient)``; None (or
        False) for forward differences, with the step
        ``sqrt(machine epsilon) * max(1, |x_i|)`` (``x.size + 1`` calls of
        ``fun`` per iteration, each counted in ``nfev``).
    hess : None
        Not supported (first-order methods use no Hessian): anything but
        None raises ``ValueError``.
    hessp : None
        Not supported, as ``hess``.
    bounds : scipy.optimize.Bounds or sequence of (float or None, float or None), optional
        Box bounds: a ``Bounds`` (scalars or arrays broadcast to ``x0``) or
        one ``(min, max)`` pair per element of ``x0`` (flattened order;
        None for no bound). Kept by projection: ``x0`` and each step are
        clipped into the box, and convergence is judged on the projected
        gradient (without the components that push ``x`` out of the box).
    constraints : tuple or list, default=()
        Not supported: anything but an empty sequence raises ``ValueError``.
    tol : float, default=1e-6
        Success when the L2 norm of the (projected) gradient is at most
        ``tol``, in the units of the gradient; >= 0. None means the default.
    callback : callable, optional
        Called after each step. As in scipy: ``callback(intermediate_result)``
        if its one parameter is named ``intermediate_result`` (an
        ``OptimizeResult`` with ``x``, ``fun``, ``jac``, ``nit``, ``nfev``),
        else ``callback(xk)`` with a copy of the current point. Raising
        ``StopIteration`` (scipy's way) or returning True stops the run
        (``status`` 2).
    options : dict, optional
        ``maxiter`` (int >= 1, default 1000: the maximum number of steps),
        ``lr`` (float >= 0, default: torch.optim's for the method, see
        :func:`descent.optim.default_lr`), ``disp`` (bool, default False:
        print the outcome), and any hyper-parameter of the method's optimizer
        (e.g. ``betas``, ``momentum``, ``weight_decay``).
    lr : float, optional
        The learning rate, as ``options["lr"]`` (give it in one place only).
    maxiter : int, optional
        The maximum number of steps, as ``options["maxiter"]``.
    schedule : descent.schedules schedule, optional
        The learning rate of each step: a copy of it (the object is not
        changed) is attached to the optimizer, whose ``lr`` is its base rate,
        and stepped after every step, as in a torch loop; a schedule that
        takes a metric (``ReduceLROnPlateau``) gets the objective at the new
        point. Its ``unit`` does not matter here: every step counts.
    **optimizer_options : dict
        Hyper-parameters of the method's optimizer, as the other keys of
        ``options``.

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``x`` (float64 array of ``x0``'s shape), ``fun`` (float), ``jac``
        (the gradient at ``x``), ``nit`` (steps taken), ``nfev`` and ``njev``
        (calls of ``fun`` and of the gradient), ``success`` (``status == 0``),
        ``status`` and ``message``. ``status`` 0: the gradient norm reached
        ``tol``; 1: ``maxiter`` steps were taken; 2: stopped by the callback;
        3: the objective or its gradient became NaN or infinite (lower
        ``lr``); ``x`` is then the point where that happened.

    Raises
    ------
    ValueError
        Before the first step: ``hess``, ``hessp`` or ``constraints`` given;
        an unknown method; ``lr`` or an optimizer option with an optimizer
        instance as ``method``; an option given both as an argument and in
        ``options``; an option that is not a hyper-parameter of the method's
        optimizer; ``maxiter`` not an integer >= 1 or ``tol`` not a number >= 0;
        ``x0`` holding NaN or infinity; ``schedule`` not a descent.schedules
        schedule; bounds with the wrong number of pairs,
        NaN or ``min > max``; an objective or gradient that is not finite at
        ``x0``. At the first step: a hyper-parameter out of its range (e.g.
        ``lr < 0``, ``eps < 1e-300``; the message names it). During the run:
        a gradient of magnitude 1e150 or more for the rules that square it
        (every method but the SGD ones), ``fun`` returning something other
        than a real number (an array of several values, a string), a gradient
        with another number of elements than ``x0``, or a schedule that ends
        before ``maxiter`` steps (OneCycleLR's ``total_steps``).
    Exception
        Whatever ``fun``, ``jac`` or ``callback`` raise (other than the
        callback's ``StopIteration``) is passed on.

    See Also
    --------
    scipy.optimize.minimize : The same signature, with second-order methods.
    descent.optim : The update rules, for your own loop.
    descent.schedules : Learning-rate schedules for such a loop.

    References
    ----------
    .. [1] SciPy, scipy.optimize.minimize,
       https://docs.scipy.org/doc/scipy/reference/generated/scipy.optimize.minimize.html
    .. [2] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic
       Optimization", ICLR 2015, arXiv:1412.6980 (the default method).

    Examples
    --------
    >>> import numpy as np, descent
    >>> res = descent.minimize(lambda x: (x @ x, 2 * x), np.arange(3.0), jac=True,
    ...                        method="adam", options=dict(lr=0.1, maxiter=5000),
    ...                        tol=1e-8)
    >>> res.success, bool(np.abs(res.x).max() < 1e-6)
    (True, True)

    With forward differences and a box:

    >>> res = descent.minimize(lambda x: ((x - 3) ** 2).sum(), np.zeros(2), lr=0.1,
    ...                        bounds=[(0, 2), (None, None)], maxiter=2000)
    >>> res.x.round(4), res.status
    (array([2., 3.]), 0)
    """
    for name, value, default in (("hess", hess, None), ("hessp", hessp, None),
                                 ("constraints", constraints, ())):
        if value is not default and not (name == "constraints" and value in ((), [])):
            raise ValueError(f"{name} is not supported: descent.minimize runs first-order "
                             "update rules (bounds are supported, by projection)")
    opts = _options(options, lr=lr, maxiter=maxiter, **optimizer_options)
    opt = _optimizer(method, opts)
    if schedule is not None:
        if not isinstance(schedule, LRSchedule):
            raise ValueError(f"schedule must be a descent.schedules schedule (e.g. "
                             f"CosineAnnealingLR(T_max=100)), got {schedule!r}")
        schedule = copy.deepcopy(schedule).attach(opt)
    maxiter = opts.get("maxiter", 1000)
    if not (isinstance(maxiter, (int, np.integer)) and maxiter >= 1):
        raise ValueError(f"maxiter must be an integer >= 1, got {maxiter!r}")
    tol = 1e-6 if tol is None else tol
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    x = np.array(x0, dtype=np.float64, order="C", copy=True)
    if not np.isfinite(x).all():
        raise ValueError("x0 contains NaN or infinity")
    lower, upper = _bounds(bounds, x)
    np.clip(x, lower, upper, out=x)
    problem = _Problem(fun, jac, args if isinstance(args, tuple) else (args,), x.shape)
    result = _run(problem, opt, x, lower, upper, maxiter, tol, _as_callback(callback),
                  schedule)
    if opts.get("disp"):
        print(result.message, f"(fun {result.fun:g}, nit {result.nit}, nfev {result.nfev})")
    return result


def _options(options, **given):
    opts = dict(options or {})
    for name, value in given.items():
        if value is None:
            continue
        if name in opts:
            raise ValueError(f"{name} is given both as an argument and in options")
        opts[name] = value
    return opts


def _optimizer(method, opts):
    hyper = {k: v for k, v in opts.items() if k not in _OWN_OPTIONS}
    if isinstance(method, Optimizer):
        if "lr" in opts or hyper:
            raise ValueError("lr and optimizer options belong to the optimizer "
                             "instance passed as method; give them there")
        opt = method
    else:
        if isinstance(method, str):
            method = method.lower()      # scipy's method names are too
        if not isinstance(method, str) or method not in OPTIMIZER_NAMES:
            raise ValueError(f"method must be one of {sorted(OPTIMIZER_NAMES)} or a "
                             f"descent.optim optimizer, got {method!r}")
        opt = make_optimizer(method, opts.get("lr"))
        if hyper:
            opt.set_params(**hyper)
    opt.reset()
    return opt


def _bounds(bounds, x):
    """(lower, upper) arrays of x's shape from scipy Bounds or (min, max) pairs."""
    if bounds is None:
        return np.full(x.shape, -np.inf), np.full(x.shape, np.inf)
    if isinstance(bounds, Bounds):
        lower, upper = np.asarray(bounds.lb, float), np.asarray(bounds.ub, float)
    else:
        pairs = list(bounds)
        if len(pairs) != x.size or any(len(p) != 2 for p in pairs):
            raise ValueError(f"bounds must hold one (min, max) pair per element of x0 "
                             f"({x.size}), got {len(pairs)}")
        lower = np.array([-np.inf if lo is None else lo for lo, _ in pairs], float)
        upper = np.array([np.inf if hi is None else hi for _, hi in pairs], float)
    lower = np.broadcast_to(lower, x.size).reshape(x.shape).copy()
    upper = np.broadcast_to(upper, x.size).reshape(x.shape).copy()
    if np.any(np.isnan(lower) | np.isnan(upper)) or np.any(lower > upper):
        raise ValueError("bounds must have min <= max (and no NaN)")
    return lower, upper


class _Problem:
    """fun and its gradient at x, every call of fun counted (scipy's nfev)."""

    def __init__(self, fun, jac, args, shape):
        self.fun, self.jac, self.args, self.shape = fun, jac, tuple(args), shape
        self.nfev = self.njev = 0

    def value(self, x):
        self.nfev += 1
        out = self.fun(x, *self.args)
        return _real(out[0] if self.jac is True else out)

    def __call__(self, x):
        """(value, gradient) at x."""
        if self.jac is True:
            self.nfev += 1
            self.njev += 1
            value, grad = self.fun(x, *self.args)
            value = _real(value)
        else:
            value = self.value(x)
            if callable(self.jac):
                self.njev += 1
                grad = self.jac(x, *self.args)
            else:
                grad = self._forward_differences(x, float(value))
        grad = np.asarray(grad, dtype=np.float64)
        if grad.size != math.prod(self.shape):
            where = "fun's second value (jac=True)" if self.jac is True else "jac"
            raise ValueError(f"{where} must be the gradient, of x0's shape {self.shape}; "
                             f"got shape {grad.shape}")
        return value, grad.reshape(self.shape)

    def _forward_differences(self, x, f0):
        # one call per element, reusing f(x): h = sqrt(eps) max(1, |x_i|)
        grad = np.empty(x.size)
        flat = x.reshape(-1)
        for i in range(x.size):
            h = math.sqrt(np.finfo(float).eps) * max(1.0, abs(flat[i]))
            step = flat.copy()
            step[i] += h
            grad[i] = (self.value(step.reshape(self.shape)) - f0) / h
        return grad


def _real(value):
    """fun's value as a float, or a ValueError saying what fun returned."""
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "biuf":
        raise ValueError("fun must return a real number (the objective at x), got "
                         f"{type(value).__name__} of shape {array.shape} and dtype "
                         f"{array.dtype}")
    return float(array.reshape(()))


def _as_callback(callback):
    """callback as a function of the intermediate result (scipy's rule)."""
    if callback is None:
        return None
    try:
        params = list(inspect.signature(callback).parameters)
    except (TypeError, ValueError):
        params = []
    if params == ["intermediate_result"]:
        return callback
    return lambda result: callback(result.x)


def _projected(grad, x, lower, upper):
    """The gradient without the components that push x out of its box."""
    out = grad.copy()
    out[(x <= lower) & (grad > 0)] = 0.0
    out[(x >= upper) & (grad < 0)] = 0.0
    return out


def _run(problem, opt, x, lower, upper, maxiter, tol, callback, schedule=None):
    value, grad = problem(x)
    if not math.isfinite(value) or not np.isfinite(grad).all():
        raise ValueError(
            f"the objective or its gradient is not finite at x0 (fun = {value!r}): "
            "check fun at the start point")
    nit, status, message = 0, 1, "Maximum number of iterations reached."
    while True:
        if not (math.isfinite(value) and np.isfinite(grad).all()):
            status, message = 3, ("The objective or its gradient became non-finite "
                                  f"at iteration {nit}: lower lr.")
            break
        if np.linalg.norm(_projected(grad, x, lower, upper)) <= tol:
            status, message = 0, "Gradient norm below tol."
            break
        if nit >= maxiter:
            break
        opt.step(x, grad)
        np.clip(x, lower, upper, out=x)
        nit += 1
        value, grad = problem(x)
        if schedule is not None and math.isfinite(value):
            schedule.step(value if schedule.needs_metric else None)
        if callback is not None:
            intermediate = OptimizeResult(x=x.copy(), fun=value, jac=grad.copy(), nit=nit,
                                          nfev=problem.nfev)
            try:
                stop = callback(intermediate)
            except StopIteration:
                stop = True
            if stop:
                status, message = 2, "Stopped by the callback."
                break
    return OptimizeResult(x=x, fun=value, jac=grad, nit=nit, nfev=problem.nfev,
                          njev=problem.njev, success=status == 0, status=status,
                          message=message)
