"""``descent.minimize``: the descent.optim rules behind
``scipy.optimize.minimize``'s signature."""

from __future__ import annotations

import inspect
import math

import numpy as np
from scipy.optimize import Bounds, OptimizeResult

from .optim import OPTIMIZER_NAMES, Optimizer, make_optimizer

__all__ = ["minimize"]

# options of minimize itself; any other key of `options` is a hyper-parameter
# of the method's optimizer
_OWN_OPTIONS = ("maxiter", "lr", "disp")


def minimize(fun, x0, args=(), method="adam", jac=None, hess=None, hessp=None,
             bounds=None, constraints=(), tol=None, callback=None, options=None, *,
             lr=None, maxiter=None, **optimizer_options):
    """Minimise ``fun`` from ``x0`` with a first-order update rule.

    The signature is ``scipy.optimize.minimize``'s; the methods are
    descent.optim's update rules.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float``, or ``-> (float, ndarray)`` with ``jac=True``.
        ``x`` has ``x0``'s shape.
    x0 : array-like
        Start point; not modified.
    args : tuple, default=()
        Extra arguments passed to ``fun`` and ``jac``.
    method : str or descent.optim.Optimizer, default="adam"
        ``"sgd"``, ``"momentum"``, ``"nesterov"`` (momentum 0.9), ``"adagrad"``,
        ``"rmsprop"``, ``"adadelta"``, ``"adam"``, ``"amsgrad"``, ``"adamw"``
        (torch's ``weight_decay=1e-2``: it minimises ``fun`` plus that decay,
        so the gradient of ``fun`` alone need not reach ``tol``), or an
        optimizer instance (then ``lr`` and optimizer options must not be
        given).
    jac : callable, True or None, default=None
        The gradient: ``jac(x, *args) -> ndarray``; ``True`` if ``fun``
        returns it; ``None`` for forward differences (``len(x) + 1`` calls of
        ``fun`` per step, each counted in ``nfev``).
    hess, hessp, constraints : not supported
        First-order methods use neither Hessians nor general constraints:
        anything but the defaults raises ``ValueError``.
    bounds : scipy.optimize.Bounds or sequence of (min, max) pairs, optional
        Box bounds, one pair per element of ``x`` (``None`` for no bound), kept
        by projection: each step is clipped into the box, and convergence is
        judged on the projected gradient.
    tol : float, default=1e-6
        Success when the (projected) gradient's L2 norm is at most ``tol``.
    callback : callable, optional
        Called after each step. As in scipy: ``callback(intermediate_result)``
        if its one parameter is named ``intermediate_result`` (an
        ``OptimizeResult`` with ``x``, ``fun``, ``jac``, ``nit``, ``nfev``),
        else ``callback(xk)``. Raising ``StopIteration`` (scipy) or returning
        True stops the run (``status`` 2).
    options : dict, optional
        ``maxiter`` (default 1000), ``lr`` (default: torch.optim's for the
        method), ``disp`` (print the result), and the optimizer's
        hyper-parameters (e.g. ``betas``, ``momentum``).
    lr, maxiter, **optimizer_options
        The same as the ``options`` keys (not both).

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``x, fun, jac, nit, nfev, njev, success, status, message``. ``status``
        0: the gradient norm reached ``tol``; 1: ``maxiter`` steps; 2: stopped
        by the callback; 3: the objective or its gradient became non-finite.

    Raises
    ------
    ValueError
        An unknown method or option, ``hess``/``hessp``/``constraints``,
        ``x0`` with NaN or infinity, an objective that is not finite at
        ``x0``, bounds of the wrong length or with ``min > max``.

    Examples
    --------
    >>> import numpy as np, descent
    >>> res = descent.minimize(lambda x: (x @ x, 2 * x), np.arange(3.0), jac=True,
    ...                        method="adam", options=dict(lr=0.1, maxiter=5000),
    ...                        tol=1e-8)
    >>> res.success, bool(np.abs(res.x).max() < 1e-6)
    (True, True)
    """
    for name, value, default in (("hess", hess, None), ("hessp", hessp, None),
                                 ("constraints", constraints, ())):
        if value is not default and not (name == "constraints" and value in ((), [])):
            raise ValueError(f"{name} is not supported: descent.minimize runs first-order "
                             "update rules (bounds are supported, by projection)")
    opts = _options(options, lr=lr, maxiter=maxiter, **optimizer_options)
    opt = _optimizer(method, opts)
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
    problem = _Problem(fun, jac, args, x.shape)
    result = _run(problem, opt, x, lower, upper, maxiter, tol, _as_callback(callback))
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
        return out[0] if self.jac is True else out

    def __call__(self, x):
        """(value, gradient) at x."""
        if self.jac is True:
            self.nfev += 1
            self.njev += 1
            value, grad = self.fun(x, *self.args)
        else:
            value = self.value(x)
            if callable(self.jac):
                self.njev += 1
                grad = self.jac(x, *self.args)
            else:
                grad = self._forward_differences(x, float(value))
        return float(value), np.asarray(grad, dtype=np.float64).reshape(self.shape)

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


def _run(problem, opt, x, lower, upper, maxiter, tol, callback):
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
