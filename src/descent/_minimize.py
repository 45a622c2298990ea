"""``descent.minimize``: the descent.optim rules behind a
``scipy.optimize.minimize``-like call."""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import OptimizeResult, approx_fprime

from .optim import OPTIMIZER_NAMES, Optimizer, make_optimizer

__all__ = ["minimize"]


def minimize(fun, x0, jac=None, method="adam", *, lr=None, maxiter=1000, tol=1e-6,
             callback=None, **optimizer_options):
    """Minimise ``fun`` from ``x0`` with a first-order update rule.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, or ``fun(x) -> (float, ndarray)`` with ``jac=True``.
    x0 : array-like
        Start point; not modified.
    jac : callable, True or None
        The gradient: ``jac(x) -> ndarray``; ``True`` if ``fun`` returns it;
        ``None`` for 2-point finite differences (``scipy.optimize.approx_fprime``).
    method : str or descent.optim.Optimizer, default="adam"
        ``"sgd"``, ``"momentum"``, ``"nesterov"`` (momentum 0.9), ``"adagrad"``,
        ``"rmsprop"``, ``"adadelta"``, ``"adam"``, ``"amsgrad"``, ``"adamw"``
        (torch's ``weight_decay=1e-2``: it minimises ``fun`` plus that decay,
        so the gradient of ``fun`` alone need not reach ``tol``), or an
        optimizer instance (then ``lr`` and ``optimizer_options`` must not be
        given).
    lr : float, optional
        Learning rate; defaults to torch.optim's default for the method.
    maxiter : int, default=1000
        Maximum number of steps.
    tol : float, default=1e-6
        Success when the gradient's L2 norm falls to ``tol`` or below.
    callback : callable, optional
        ``callback(intermediate_result)`` after each step with an
        ``OptimizeResult`` holding ``x`` and ``fun``; returning True (or raising
        ``StopIteration``) stops the run.
    **optimizer_options
        Hyper-parameters of the method's optimizer (e.g. ``betas``,
        ``momentum``, ``weight_decay``).

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``x, fun, jac, nit, nfev, success, status, message``. ``success`` is
        False when ``maxiter`` steps did not bring the gradient norm to ``tol``.

    Examples
    --------
    >>> import numpy as np, descent
    >>> res = descent.minimize(lambda x: (x @ x, 2 * x), np.arange(3.0), jac=True,
    ...                        method="adam", lr=0.1, maxiter=5000, tol=1e-8)
    >>> res.success, bool(np.abs(res.x).max() < 1e-6)
    (True, True)
    """
    if isinstance(method, Optimizer):
        if lr is not None or optimizer_options:
            raise ValueError("lr and optimizer options belong to the optimizer "
                             "instance passed as method; give them there")
        opt = method
    else:
        if not isinstance(method, str) or method not in OPTIMIZER_NAMES:
            raise ValueError(f"method must be one of {sorted(OPTIMIZER_NAMES)} or a "
                             f"descent.optim optimizer, got {method!r}")
        opt = make_optimizer(method, lr)
        if optimizer_options:
            opt.set_params(**optimizer_options)
    opt.reset()
    if not (isinstance(maxiter, (int, np.integer)) and maxiter >= 1):
        raise ValueError(f"maxiter must be an integer >= 1, got {maxiter!r}")
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    x = np.array(x0, dtype=np.float64, order="C", copy=True)
    if not np.isfinite(x).all():
        raise ValueError("x0 contains NaN or infinity")
    nfev = 0

    def evaluate(x):
        nonlocal nfev
        nfev += 1
        if jac is True:
            value, grad = fun(x)
        else:
            value = fun(x)
            grad = jac(x) if callable(jac) else approx_fprime(x.ravel(), lambda z: fun(
                z.reshape(x.shape)), math.sqrt(np.finfo(float).eps)).reshape(x.shape)
        return float(value), np.asarray(grad, dtype=np.float64).reshape(x.shape)

    value, grad = evaluate(x)
    nit, status, message = 0, 1, "Maximum number of iterations reached."
    while True:
        if not (math.isfinite(value) and np.isfinite(grad).all()):
            status, message = 3, ("The objective or its gradient became non-finite "
                                  f"at iteration {nit}: lower lr.")
            break
        if np.linalg.norm(grad) <= tol:
            status, message = 0, "Gradient norm below tol."
            break
        if nit >= maxiter:
            break
        opt.step(x, grad)
        nit += 1
        value, grad = evaluate(x)
        if callback is not None:
            try:
                stop = callback(OptimizeResult(x=x.copy(), fun=value, nit=nit))
            except StopIteration:
                stop = True
            if stop:
                status, message = 2, "Stopped by the callback."
                break
    return OptimizeResult(x=x, fun=value, jac=grad, nit=nit, nfev=nfev,
                          success=status == 0, status=status, message=message)
