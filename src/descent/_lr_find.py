"""``descent.lr_find``: the learning-rate range test of Smith (2017).

The test trains a copy of the estimator while the step grows geometrically
from ``min_lr`` to ``max_lr``, records the training objective after each step
size, and stops once it explodes. Each step size is one
``set_params(eta0=lr, learning_rate="constant")`` followed by
``partial_fit`` on the next chunk of a shuffled order of the rows (one
full-batch step on all rows with ``batch_size=None``), so the optimizer's
state (momentum, Adam's moments and step count) carries over from one step
size to the next as it does within a real run.

Measuring. The objective (mean weighted loss plus penalty, as ``fit``
minimises) is evaluated after each step size on a fixed random subsample of up
to ``eval_size`` rows, not taken from ``loss_curve_``: the running loss of a
chunk is the mean over its rows *before* their updates (for a full batch: the
objective before the step), which lags one step size behind, and a chunk of
32 rows is a noisy sample of it. The same rows every time make the curve
depend on the model only. An exponential moving average with bias correction
smooths what iterate noise is left.

Suggesting. The suggestion is the step size where the smoothed objective is
lowest, divided by 10 (see :func:`lr_find` for why).
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state, check_X_y

from . import _kernels
from ._plan import PENALTIES, make_plan
from ._sgd import SGDRegressor
from ._validation import check_params
from ._warnings import user_stacklevel

__all__ = ["LRFindResult", "lr_find"]

# Per-sample and mini-batch steps: each step size gets this many rows (in as
# few updates as the batch size allows) unless updates_per_lr says otherwise.
AUTO_ROWS_PER_LR = 32
# The suggestion: the step size of the smoothed objective's minimum over this.
SUGGESTION_DIVISOR = 10.0


@dataclass(frozen=True)
class LRFindResult:
    """What :func:`lr_find` measured.

    A frozen dataclass, created by :func:`lr_find`: each parameter below is
    an attribute of the same name (``result.lrs``, ``result.suggested_eta0``,
    ...), and :meth:`plot` draws them.

    Parameters
    ----------
    lrs : numpy.ndarray of shape (n_tried,)
        The step sizes tried (float64, the estimator's ``eta0`` units), in
        order, geometrically spaced; the test may have stopped before
        ``max_lr``.
    losses : numpy.ndarray of shape (n_tried,)
        The training objective (mean weighted loss plus penalty, float64) on
        the evaluation rows after each step size's updates.
    smoothed_losses : numpy.ndarray of shape (n_tried,)
        Their exponential moving average, bias-corrected (float64).
    lr_min : float
        The step size at which ``smoothed_losses`` is lowest.
    suggested_eta0 : float
        ``lr_min / 10``: the ``eta0`` to fit with (with
        ``learning_rate="constant"``).
    diverged : bool
        Whether the test stopped on a blow-up (the smoothed objective above
        ``divergence_factor`` times its minimum, a non-finite objective, or
        the estimator raising) rather than at ``max_lr``.
    updates_per_lr : int
        The updates each step size got.

    See Also
    --------
    lr_find : The test that returns it.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> import descent
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X, y = (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()
    >>> result = descent.lr_find(descent.SGDRegressor(batch_size=None), X, y)
    >>> result.lrs.shape == result.losses.shape, result.updates_per_lr
    (True, 1)
    >>> result.suggested_eta0 == result.lr_min / 10
    True
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    lr_min: float
    suggested_eta0: float
    diverged: bool
    updates_per_lr: int

    def plot(self, ax=None):
        """Draw the range test: the objective against the step size.

        The raw and smoothed objectives against the step size (log scale),
        with the minimum and the suggestion marked by vertical lines; the y
        range is clipped to what comes before the blow-up. Needs matplotlib
        (``pip install "descent[plot]"``).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Where to draw; a new figure's axes if None.

        Returns
        -------
        ax : matplotlib.axes.Axes
            The axes drawn on.

        Raises
        ------
        ImportError
            If matplotlib is not installed.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from sklearn.datasets import load_diabetes
        >>> import descent
        >>> X, y = load_diabetes(return_X_y=True)
        >>> X, y = (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()
        >>> ax = descent.lr_find(descent.SGDRegressor(batch_size=None), X, y).plot()
        >>> ax.get_xscale(), ax.get_xlabel()
        ('log', 'learning rate (eta0)')
        """
        from ._display import plot_lr_find

        return plot_lr_find(self, ax)


def lr_find(estimator, X, y, *, sample_weight=None, min_lr=1e-6, max_lr=10.0, n_lrs=100,
            updates_per_lr="auto", smoothing=0.9, divergence_factor=4.0, eval_size=1000,
            random_state=None):
    """Learning-rate range test: the training objective as the step grows.

    A copy of ``estimator`` (``sklearn.base.clone``: unfitted, the caller's
    untouched) is trained with a constant step that grows geometrically from
    ``min_lr`` to ``max_lr`` over ``n_lrs`` values, ``updates_per_lr``
    updates each, continuing from one value to the next (Smith 2017, section
    3.3). After each value the training objective is measured on a fixed
    subsample of the rows and smoothed; the test stops once the smoothed
    objective exceeds ``divergence_factor`` times its minimum.

    Each step size is a call ``set_params(eta0=lr, learning_rate="constant")``
    and ``partial_fit`` on the next ``updates_per_lr * batch_size`` rows of a
    shuffled order of the rows (reshuffled when used up), so the optimizer's
    state carries over as in a real run. With ``batch_size=None`` each update
    is one full-batch step on all rows: the exact gradient the fit will use (a
    subsample's would have another curvature, hence another stable step).
    The copy also gets ``shuffle=False`` (the chunk is already shuffled),
    ``early_stopping=False``, ``average=False`` (the test measures the iterate,
    not a lagging average), ``verbose=0`` and an integer ``random_state``;
    every other parameter (optimizer, batch size, penalty, loss, clipping,
    ``n_jobs``, target scaling) is the estimator's. With ``scale_targets``
    the targets are scaled by the statistics of all the rows, as ``fit``
    scales them, so that the step sizes are in the units of the later fit.

    Parameters
    ----------
    estimator : descent.SGDRegressor
        The model to tune, fitted or not; any ``loss``, ``penalty``,
        ``optimizer`` (name or instance) and ``batch_size`` (1, k or None).
        Not modified.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training rows. Not modified.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets. Not modified.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows, in training and in the measured objective.
    min_lr : float, default=1e-6
        The first step size; > 0.
    max_lr : float, default=10.0
        The last step size; > ``min_lr``.
    n_lrs : int, default=100
        How many step sizes, geometrically spaced from ``min_lr`` to
        ``max_lr``; >= 2.
    updates_per_lr : int or "auto", default="auto"
        Updates per step size, >= 1. ``"auto"``: one full-batch step with
        ``batch_size=None``; otherwise enough updates for 32 rows
        (``ceil(32 / batch_size)``: 32 per-sample updates, one update of a
        batch of 32 or more).
    smoothing : float, default=0.9
        The factor ``beta`` of the exponential moving average
        ``avg = beta * avg + (1 - beta) * loss``, divided by ``1 - beta**k``
        after ``k`` values (bias correction: the first values are not pulled
        towards 0); in [0, 1), 0 for no smoothing. The objective is measured
        on the same rows each time, so it needs less smoothing than a batch
        loss: the average lags by about ``beta / (1 - beta)`` values (fastai's
        0.98 by 49, three and a half decades of the default range).
    divergence_factor : float, default=4.0
        Stop once the smoothed objective exceeds this times its minimum so
        far; > 1.
    eval_size : int, default=1000
        Rows (drawn once, without replacement; all if fewer) on which the
        objective is measured; >= 1.
    random_state : int, RandomState instance or None, default=None
        Seeds the row order, the evaluation rows and the copy's
        ``random_state``. None: the estimator's ``random_state``, or 0 if that
        is None too. The global NumPy generator is never used, and a
        RandomState instance is copied, not advanced: the result depends on
        the arguments only (except with ``n_jobs > 1`` and ``batch_size=1``,
        whose lock-free Hogwild! updates vary from run to run).

    Returns
    -------
    result : LRFindResult
        The step sizes, raw and smoothed objectives, ``lr_min`` and
        ``suggested_eta0``; ``result.plot()`` draws them.

    Raises
    ------
    ValueError
        If an argument is out of range (the message names it), if
        ``estimator`` is not a :class:`descent.SGDRegressor` or its
        parameters are invalid (scikit-learn's error, naming the parameter),
        if the data are invalid, or if the estimator raises at ``min_lr``
        already (its error is passed on: lower ``min_lr``).

    Warns
    -----
    UserWarning
        If the smoothed objective is lowest at the first step size (the range
        starts too high: lower ``min_lr``) or at the last one without a blow-up
        (it may go lower: raise ``max_lr``).

    See Also
    --------
    LRFindResult : The result and its plot.
    LossCurveDisplay : The loss curve of the fit that follows.
    descent.schedules.OneCycleLR : A schedule whose ``max_lr`` Smith reads off
        the same curve (about ``lr_min``, where the objective stops falling).

    Notes
    -----
    The suggestion is ``lr_min / 10``: the step size at which the smoothed
    objective is lowest, divided by 10 (fastai's "minimum / 10" rule). Up to
    the minimum a larger step makes more progress; past it, iterate noise
    (stochastic steps) or instability (full batch) undo progress, so
    ``lr_min`` is near the edge of the stable steps, and a tenth of it is an
    order of magnitude inside. The minimum is the smoothed curve's, and the
    moving average lags the raw objective by about ``smoothing / (1 -
    smoothing)`` values (9 with the defaults: a factor ``(max_lr /
    min_lr) ** (9 / (n_lrs - 1))``, 4.3, in step size): on the noisy curves
    of stochastic steps it lies 1 to 5 times right of the raw curve's
    minimum (diabetes, seeds 0 to 2). The rule and the measurements below
    are for the defaults of ``min_lr``, ``max_lr``, ``n_lrs`` and
    ``smoothing``; changing them moves the suggestion.

    The factor is set by full batch. A full-batch step diverges above 2 / L,
    but the objective explodes only later, once the direction that had
    converged at smaller steps has grown back: on standardized diabetes 2 / L
    is 0.50, the minimum lies at 2.3 (the test stops at 3.2), and the
    suggestion is 0.23 = 0.93 / L. For stochastic steps the minimum itself is
    stable and the suggestion is on the safe side: 0.0028 for per-sample SGD
    and 0.0021 for per-sample Adam there (``random_state=0``). The steepest
    descent of the curve, the other usual rule, marks where the test's
    cumulative progress happens to be fastest; it depends on the start point
    and the updates per value, not on the objective (0.055 for full batch on
    diabetes, a fifth of 1 / L).

    Fit with the steps the test measured, ``learning_rate="constant"``. With
    per-sample and mini-batch steps a constant step ends in a noise band
    around the optimum (3e-3 above it, relative, on diabetes); ``average=True``
    (averaged SGD) or a decaying ``learning_rate`` takes the fit to the
    optimum. On standardized diabetes, ``eta0=suggested_eta0``,
    ``learning_rate="constant"``, ``tol=None`` and ``max_iter=500`` with
    ``average=True`` (per-sample SGD and Adam) or ``max_iter=1000`` (full
    batch) end within 3e-4 of the exact ridge objective, relative, for
    ``random_state`` 0, 1 and 2; a tenth of the suggestion does not get
    within 1e-3 (``tests/test_lr_find.py``).

    References
    ----------
    .. [1] L. N. Smith, "Cyclical Learning Rates for Training Neural
       Networks", IEEE Winter Conference on Applications of Computer Vision
       (WACV), 2017, section 3.3 (the range test). arXiv:1506.01186.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_diabetes
    >>> import descent
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X, y = (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()
    >>> est = descent.SGDRegressor(optimizer="adam", batch_size=32, random_state=0)
    >>> result = descent.lr_find(est, X, y)
    >>> bool(result.diverged), len(result.lrs) < 100
    (True, True)
    >>> model = est.set_params(eta0=result.suggested_eta0, learning_rate="constant",
    ...                        average=True, tol=None, max_iter=300).fit(X, y)
    >>> result.plot()            # doctest: +SKIP
    """
    _check_arguments(min_lr=min_lr, max_lr=max_lr, n_lrs=n_lrs,
                     updates_per_lr=updates_per_lr, smoothing=smoothing,
                     divergence_factor=divergence_factor, eval_size=eval_size)
    objective_class = _objective_class(estimator)
    params = estimator.get_params()
    X, y = check_X_y(X, y, accept_sparse="csr", dtype=np.float64, multi_output=True,
                     y_numeric=True)
    y = np.ascontiguousarray(y, dtype=np.float64)      # int or float32 targets, as fit
    n = X.shape[0]
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (n,) or not np.all(np.isfinite(sample_weight)) \
                or np.any(sample_weight < 0):
            raise ValueError(f"sample_weight must be {n} finite non-negative numbers")
    rng = np.random.default_rng(_seed(random_state, params))
    model = _range_test_copy(estimator, X, y, sample_weight, seed=int(rng.integers(2**31 - 1)))
    batch_size = params["batch_size"]
    if updates_per_lr == "auto":
        updates_per_lr = 1 if batch_size is None else math.ceil(AUTO_ROWS_PER_LR / batch_size)
    evaluate = objective_class(params, X, y, sample_weight,
                               np.sort(rng.choice(n, size=min(eval_size, n), replace=False)))
    chunks = _Chunks(n, None if batch_size is None else updates_per_lr * min(batch_size, n),
                     rng)
    lrs = np.geomspace(min_lr, max_lr, n_lrs)
    losses, smoothed, diverged = _run(
        model, lrs, lambda: chunks.next(X, y, sample_weight), evaluate,
        calls_per_lr=updates_per_lr if batch_size is None else 1,
        smoothing=smoothing, divergence_factor=divergence_factor)
    if not losses:
        raise ValueError(f"the objective was not finite after the first step size, "
                         f"min_lr={min_lr!r}: lower min_lr")
    smoothed_losses = np.array(smoothed)
    i_min = int(np.argmin(smoothed_losses))
    lrs = lrs[:len(losses)]
    _warn_at_edges(i_min, len(lrs), diverged)
    return LRFindResult(lrs=lrs, losses=np.array(losses), smoothed_losses=smoothed_losses,
                        lr_min=float(lrs[i_min]),
                        suggested_eta0=float(lrs[i_min] / SUGGESTION_DIVISOR),
                        diverged=diverged, updates_per_lr=int(updates_per_lr))


def _run(model, lrs, next_chunk, evaluate, *, calls_per_lr, smoothing, divergence_factor):
    """The test proper: (raw objectives, smoothed objectives, diverged)."""
    losses: list[float] = []
    smoothed: list[float] = []
    average, best = 0.0, math.inf
    for i, lr in enumerate(lrs):
        model.set_params(eta0=float(lr))
        try:
            # the test overshoots on purpose and judges it itself: the calls'
            # own overshoot warnings are not the user's
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                for _ in range(calls_per_lr):
                    model.partial_fit(*next_chunk())
        except ValueError:
            if i == 0:
                raise        # bad parameters, or a blow-up at min_lr already
            return losses, smoothed, True     # descent's divergence check fired
        loss = evaluate(model)
        if not math.isfinite(loss):
            return losses, smoothed, True
        average = smoothing * average + (1.0 - smoothing) * loss
        losses.append(loss)
        smoothed.append(average / (1.0 - smoothing ** (i + 1)))
        best = min(best, smoothed[-1])
        if smoothed[-1] > divergence_factor * best:
            return losses, smoothed, True
    return losses, smoothed, False


def _objective_class(estimator):
    """The training objective of the estimator's kind, or a ValueError naming
    what is supported. The one place that knows the kinds: a classifier with
    ``partial_fit``, ``eta0``, ``learning_rate`` and ``loss`` is supported by
    an objective of its losses (on its decision function) here."""
    if isinstance(estimator, SGDRegressor):
        return _RegressionObjective
    raise ValueError(
        f"estimator must be a descent.SGDRegressor (the estimators lr_find supports), got "
        f"{type(estimator).__module__}.{type(estimator).__qualname__}; for a Pipeline, "
        "pass its last step and the transformed X")


def _range_test_copy(estimator, X, y, sample_weight, *, seed):
    """An unfitted copy with the range test's settings, its parameters
    validated, and the target scaling (scale_targets) of all the rows, not of
    the first chunk's: the step sizes are then in the units of the later fit."""
    model = clone(estimator)
    # clone shares the estimator's callbacks (sklearn.callback): the range
    # test's partial_fit calls are not fits to report
    model.__dict__.pop("_skl_callbacks", None)
    model.set_params(learning_rate="constant", shuffle=False, early_stopping=False,
                     average=False, verbose=0, random_state=seed)
    model._validate_params()           # scikit-learn's errors, naming the parameter
    check_params(model, for_partial_fit=True)
    plan = make_plan(model, sparse=sp.issparse(X))
    model._preset_scaling = model._choose_scaling(y.reshape(len(y), -1), sample_weight, plan)
    return model


def _check_arguments(*, min_lr, max_lr, n_lrs, updates_per_lr, smoothing, divergence_factor,
                     eval_size):
    """ValueError naming the first argument that is out of range."""
    def real(value):
        return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)

    def integer(value):
        return isinstance(value, Integral) and not isinstance(value, bool)

    checks = [
        ("min_lr", min_lr, real(min_lr) and min_lr > 0, "a finite number > 0"),
        ("max_lr", max_lr, real(max_lr) and real(min_lr) and max_lr > min_lr,
         "a finite number > min_lr"),
        ("n_lrs", n_lrs, integer(n_lrs) and n_lrs >= 2, "an integer >= 2"),
        ("updates_per_lr", updates_per_lr,
         updates_per_lr == "auto" or (integer(updates_per_lr) and updates_per_lr >= 1),
         "an integer >= 1 or 'auto'"),
        ("smoothing", smoothing, real(smoothing) and 0 <= smoothing < 1, "a number in [0, 1)"),
        ("divergence_factor", divergence_factor,
         real(divergence_factor) and divergence_factor > 1, "a finite number > 1"),
        ("eval_size", eval_size, integer(eval_size) and eval_size >= 1, "an integer >= 1"),
    ]
    for name, value, ok, expected in checks:
        if not ok:
            raise ValueError(f"{name} must be {expected}, got {value!r}")


def _seed(random_state, params):
    """An integer seed from ``random_state`` (or the estimator's; 0 if both
    are None), never from the global generator; an instance is not advanced."""
    if random_state is None:
        random_state = params.get("random_state")
    if random_state is None:
        return 0
    if isinstance(random_state, np.random.RandomState):
        random_state = copy.deepcopy(random_state)
    elif not (isinstance(random_state, Integral) and not isinstance(random_state, bool)):
        raise ValueError(f"random_state must be an int, a numpy RandomState or None, got "
                         f"{random_state!r}")
    return int(check_random_state(random_state).randint(2**31 - 1))


class _Chunks:
    """Consecutive chunks of ``size`` indices of a shuffled order of ``n``
    rows, reshuffled whenever it is used up; ``size=None``: all rows (None)."""

    def __init__(self, n, size, rng):
        self.n, self.size, self.rng = n, size, rng
        self.order = rng.permutation(n) if size is not None else np.arange(n)
        self.pos = 0

    def next(self, X, y, sample_weight):
        """(X, y, sample_weight) of the next chunk."""
        if self.size is None:
            return X, y, sample_weight
        parts, need = [], self.size
        while need:
            if self.pos == self.n:
                self.order, self.pos = self.rng.permutation(self.n), 0
            take = min(need, self.n - self.pos)
            parts.append(self.order[self.pos:self.pos + take])
            self.pos += take
            need -= take
        idx = np.concatenate(parts)
        return X[idx], y[idx], None if sample_weight is None else sample_weight[idx]


class _RegressionObjective:
    """A regressor's training objective on fixed rows, with the kernels' own
    loss and penalty (``descent._kernels``): the mean over the rows of
    ``sample_weight * loss`` summed over the targets, plus the penalty of each
    target's coefficients (what ``loss_curve_`` records)."""

    def __init__(self, params, X, y, sample_weight, rows):
        self.X = X[rows]
        self.Y = y[rows].reshape(len(rows), -1)
        self.weight = None if sample_weight is None else sample_weight[rows]
        # the kernel's loss of that name (its Settings.epsilon is the
        # estimator's epsilon for every regression loss)
        self.loss = int(_kernels.Loss[params["loss"].upper()])
        self.epsilon = float(params["epsilon"])
        self.penalty, self.alpha = int(PENALTIES[params["penalty"]]), float(params["alpha"])
        self.l1_ratio = float(params["l1_ratio"] or 0.0)

    def __call__(self, model):
        P = np.asarray(model.predict(self.X), dtype=np.float64).reshape(self.Y.shape)
        coef = np.asarray(model.coef_, dtype=np.float64).reshape(self.Y.shape[1], -1)
        loss = sum(_kernels.py_loss(self.loss, np.ascontiguousarray(self.Y[:, k]),
                                    np.ascontiguousarray(P[:, k]), self.epsilon)
                   for k in range(self.Y.shape[1]))
        if self.weight is not None:
            loss = loss * self.weight
        penalty = sum(_kernels.py_penalty(self.penalty, np.ascontiguousarray(c), self.alpha,
                                          self.l1_ratio) for c in coef)
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.sum(loss) / len(self.Y) + penalty)


def _warn_at_edges(i_min, n_tried, diverged):
    if i_min == 0 and n_tried > 1:
        warnings.warn("the smoothed objective was lowest at the first step size: the "
                      "suggestion lies below the range tried; lower min_lr",
                      UserWarning, stacklevel=user_stacklevel())
    elif i_min == n_tried - 1 and not diverged:
        warnings.warn("the smoothed objective was still falling at max_lr: the "
                      "suggestion may be too small; raise max_lr", UserWarning,
                      stacklevel=user_stacklevel())
