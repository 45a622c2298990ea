"""Train :class:`descent.SGDRegressor` on data spread over a Dask cluster.

:func:`fit_dask` runs *iterative parameter mixing* (McDonald, Hall & Mann
2010; Zinkevich, Weimer, Smola & Li 2010), with the data staying where it is:

1. the row blocks of ``X``, ``y`` (and ``sample_weight``) are persisted once on
   the workers, each block's ``X``, ``y`` and weights together on one worker;
2. every epoch, each worker gets the current model state: coef, intercept,
   the optimizer's state, the averaged weights and the step counters, a few
   vectors of ``n_features + 1``. It runs one ``partial_fit`` epoch of the
   compiled kernel over each of its blocks in turn (shuffling inside each
   block as the estimator does, and the order of its blocks too), and sends
   back only that state and the sum of its blocks' epoch objectives;
3. the client mixes the workers' states, weighted by their number of rows,
   into the next epoch's state, and applies the estimator's stopping rule
   (``tol``, ``n_iter_no_change``, ``max_iter``; the ``adaptive`` schedule's
   division of the learning rate by 5) to the epoch objective: the
   row-weighted mean of the workers' epoch objectives, which is what
   ``loss_curve_`` holds for an in-memory ``fit``.

The result is a plain fitted ``descent.SGDRegressor``: it predicts, pickles and
goes on with ``partial_fit`` without dask.

What is mixed, and how:

- coef and intercept, and the update rule's state (momentum buffers, Adam's
  moments, AdaGrad's sums...), are the row-weighted means of the workers';
- ``t_`` and the optimizer's step count grow by the samples and the updates of
  all workers, as one in-memory epoch over all rows would make them grow: the
  learning-rate schedule of an epoch starts where the in-memory one would;
- with ``average``, the averaged weights are the exact running mean of all
  the iterates of all the workers (each worker's mean is un-normalised and the
  sums are added).

A worker's model starts every epoch from the mixed state. The model state is
carried by the private attributes that ``SGDRegressor.partial_fit`` carries
between calls (``_theta``, ``_avg``, ``_rule_state``, ``_step``, ``t_``,
``_optimal_init``), read and written only by ``_get_state`` / ``_set_state``
below, and allocated by the estimator's own ``_allocate``. ``fit(coef_init=...,
max_iter=1)`` would start each epoch over with ``t_ = 1`` and a fresh optimizer
(the step size schedule would restart every epoch), and ``partial_fit`` has no
``coef_init``: setting the state is the way to continue from mixed weights.

Not supported: ``early_stopping=True`` (it needs a validation split). Blocks
may be NumPy arrays or SciPy sparse matrices (converted to CSR once). With
``batch_size=None`` each worker makes one full-batch step per block per epoch
(the mean of these steps is not one full-batch step over all rows). With ``learning_rate="optimal"`` the first step is searched on
(a subsample of up to 1000 rows of) the first block.
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
import scipy.sparse as sp

try:
    import dask
    import dask.array as da
    import distributed
except ImportError as exc:      # pragma: no cover - exercised without dask
    raise ImportError(
        "descent.dask needs dask (with dask.array) and distributed, which are "
        "optional dependencies of descent: pip install \"descent[dask]\" "
        f"(the import failed with: {exc})") from exc

from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ._sgd import SGDRegressor

__all__ = ["fit_dask"]

MAX_INT = np.iinfo(np.int32).max


class _FromEstimator:
    """Default of the overrides of fit_dask: take the estimator's value."""

    def __repr__(self):
        return "<the estimator's>"


FROM_ESTIMATOR = _FromEstimator()


# ---------------------------------------------------------------------------
# The model state that partial_fit carries from one call to the next.

def _get_state(est):
    """Copy of the state that ``est.partial_fit`` continues from (small)."""
    return {
        "theta": est._theta.copy(),
        "avg": est._avg.copy(),
        "rule_state": est._rule_state.copy(),
        "step": float(est._step),
        "t": float(est.t_),
        "optimal_init": getattr(est, "_optimal_init", None),
    }


def _set_state(est, state, n_features):
    """Make ``est`` (unfitted or fitted) continue from ``state`` at the next
    ``partial_fit``, as if it had made the calls that led to it."""
    est._reset()
    est._theta = state["theta"].copy()
    est._avg = state["avg"].copy()
    est._rule_state = state["rule_state"].copy()
    est._step = state["step"]
    est.t_ = state["t"]
    if state["optimal_init"] is not None:
        est._optimal_init = state["optimal_init"]
    est.n_features_in_ = n_features
    return est


def _initial_state(est, n_features, coef_init, intercept_init):
    """The state an in-memory ``fit`` starts from (allocated by the estimator)."""
    est._reset()
    est._allocate(n_features, coef_init, intercept_init)
    est.t_ = 1.0
    state = _get_state(est)
    est._reset()
    return state


def _mix(start, results):
    """Iterative parameter mixing of the workers' end-of-epoch states.

    ``results`` are ``(state, objective_sum, n_rows)``; weights are the rows.
    """
    n = np.array([r[2] for r in results], dtype=np.float64)
    w = n / n.sum()
    states = [r[0] for r in results]
    mixed = {
        "theta": sum(wk * s["theta"] for wk, s in zip(w, states)),
        "rule_state": sum(wk * s["rule_state"] for wk, s in zip(w, states)),
        # counters: everything every worker did in this epoch
        "t": start["t"] + sum(s["t"] - start["t"] for s in states),
        "step": start["step"] + sum(s["step"] - start["step"] for s in states),
        "optimal_init": start["optimal_init"],
    }
    avg = start["avg"]
    if avg.shape[0] > 0:
        # avg = (running mean of the iterates, count): sum the new iterates.
        c0, mean0 = avg[-1], avg[:-1]
        total = c0 * mean0 + sum(s["avg"][-1] * s["avg"][:-1] - c0 * mean0
                                 for s in states)
        count = c0 + sum(s["avg"][-1] - c0 for s in states)
        avg = np.append(total / count if count > 0 else mean0, count)
    mixed["avg"] = avg.copy()
    return mixed, float(sum(r[1] for r in results) / n.sum())


# ---------------------------------------------------------------------------
# Tasks run on the workers. Module-level functions: pickled by reference.

def _pack_block(X, y, sample_weight):
    """One training block: X (C float64, or CSR), y, sample_weight, together."""
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float64)
    else:
        X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(np.asarray(y, dtype=np.float64).reshape(-1))
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"a block of X has shape {X.shape} and its block of y {y.shape}: "
            "the row blocks of X and y must match")
    if sample_weight is not None:
        sample_weight = np.ascontiguousarray(
            np.asarray(sample_weight, dtype=np.float64).reshape(-1))
        if sample_weight.shape[0] != X.shape[0]:
            raise ValueError("a block of sample_weight does not match its block of X")
    return X, y, sample_weight


def _search_first_step(template, state, n_features, block, seed):
    """``learning_rate="optimal"``: the estimator's own search of the first
    step, made by a first ``partial_fit`` on one block (whose epoch is then
    dropped). Returns the schedule's offset ``_optimal_init``."""
    X, y, sample_weight = block
    est = _set_state(clone(template), state, n_features)
    est.random_state = int(seed)
    est.partial_fit(X, y, sample_weight=sample_weight)
    return est._optimal_init


def _worker_epoch(template, state, n_features, blocks, seeds, epoch):
    """One epoch over a worker's blocks, from ``state``. Returns the end state,
    the row-weighted sum of the blocks' epoch objectives and the row count."""
    est = _set_state(clone(template), state, n_features)
    objective = 0.0
    n_rows = 0
    for (X, y, sample_weight), seed in zip(blocks, seeds):
        est.random_state = int(seed)
        try:
            est.partial_fit(X, y, sample_weight=sample_weight)
        except ValueError as exc:
            if "diverged" in str(exc):
                raise ValueError(f"epoch {epoch} of fit_dask: {exc}") from None
            raise
        objective += est.loss_curve_[0] * X.shape[0]
        n_rows += X.shape[0]
    return _get_state(est), objective, n_rows


# ---------------------------------------------------------------------------
# Input handling, on the client (only metadata: shapes and chunks).

def _as_dask_array(a, name):
    if hasattr(a, "to_dask_array"):        # dask DataFrame / Series
        return a.to_dask_array(lengths=True)
    if isinstance(a, da.Array):
        return a
    raise TypeError(
        f"{name} must be a dask.array.Array or a dask DataFrame/Series, got "
        f"{type(a).__name__}: use SGDRegressor.fit for in-memory data")


def _check_chunks_known(a, name):
    if any(np.isnan(c) for c in a.chunks[0]):
        raise ValueError(
            f"{name} has unknown chunk sizes (e.g. from a dask DataFrame's "
            "`.values`): use `.to_dask_array(lengths=True)` or "
            "`.compute_chunk_sizes()` first")


def _as_column_like(a, X, name):
    """y or sample_weight as a 1-d dask array with X's row chunks."""
    if not hasattr(a, "to_dask_array") and not isinstance(a, da.Array):
        a = np.asarray(a)
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1 or a.shape[0] != X.shape[0]:
            raise ValueError(
                f"{name} has shape {a.shape}, X has {X.shape[0]} rows")
        return da.from_array(a, chunks=(X.chunks[0],))
    a = _as_dask_array(a, name)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-d (or one column), got shape {a.shape}")
    _check_chunks_known(a, name)
    if a.shape[0] != X.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} rows and {name} has {a.shape[0]}: inconsistent "
            "numbers of samples")
    if a.chunks[0] != X.chunks[0]:
        # Same rows, other blocks: re-block the 1-d array like X (on the workers).
        a = a.rechunk((X.chunks[0],))
    return a


def _get_client(client):
    if client is not None:
        return client
    try:
        return distributed.get_client()
    except ValueError:
        raise ValueError(
            "fit_dask needs a distributed Client: create one first "
            "(`distributed.Client(...)`) or pass client=") from None


# ---------------------------------------------------------------------------

def fit_dask(estimator, X, y, *, sample_weight=None, coef_init=None,
             intercept_init=None, max_iter=FROM_ESTIMATOR, tol=FROM_ESTIMATOR,
             n_iter_no_change=FROM_ESTIMATOR, client=None, random_state=None):
    """Fit ``estimator`` on dask data by iterative parameter mixing.

    Every epoch, each worker runs the compiled kernel over the blocks it
    holds, starting from the current model; the client averages the workers'
    models, weighted by their rows, and stops by the estimator's rule. Only
    the model state (a few vectors of ``n_features + 1``) crosses the network
    after the blocks are persisted. See the module docstring for the details.

    Parameters
    ----------
    estimator : descent.SGDRegressor
        Its parameters configure the training. It is fitted in place (like
        ``estimator.fit``) and returned; with ``warm_start=True`` and a
        previous fit, training starts from its ``coef_`` / ``intercept_``.
    X : dask.array.Array of shape (n_samples, n_features), or dask DataFrame
        Row blocks are the units of work; column blocks are merged. A
        DataFrame is converted with ``to_dask_array(lengths=True)``.
    y : dask array, dask Series / one-column DataFrame, or array-like
        The targets. Blocked differently from ``X`` (same length), it is
        re-blocked like ``X``; an array-like is sent blocked like ``X``.
    sample_weight : same kinds as ``y``, default=None
    coef_init, intercept_init : array-like, default=None
        The start point, as in ``SGDRegressor.fit``.
    max_iter, tol, n_iter_no_change : default: the estimator's
        Overrides for this call (the estimator's parameters are not changed).
        ``tol=None`` disables the stopping rule.
    client : distributed.Client, default=None
        The default is ``distributed.get_client()``.
    random_state : int, RandomState or None, default=None
        Seeds the block order and the in-block shuffles of every epoch;
        ``None`` uses the estimator's ``random_state``. Results are
        reproducible for a given placement of the blocks on the workers.

    Returns
    -------
    estimator : descent.SGDRegressor
        Fitted: ``coef_``, ``intercept_``, ``n_iter_`` (epochs),
        ``loss_curve_`` (epoch objectives), ``t_``, ``n_features_in_``
        (and ``feature_names_in_`` for a DataFrame with string column names).

    Examples
    --------
    >>> from distributed import Client                    # doctest: +SKIP
    >>> import dask.array as da                           # doctest: +SKIP
    >>> from descent import SGDRegressor                  # doctest: +SKIP
    >>> from descent.dask import fit_dask                 # doctest: +SKIP
    >>> client = Client()                                 # doctest: +SKIP
    >>> X = da.random.normal(size=(10**7, 20), chunks=(10**6, 20))  # doctest: +SKIP
    >>> y = X @ da.ones(20) + da.random.normal(size=10**7, chunks=10**6)  # doctest: +SKIP
    >>> model = fit_dask(SGDRegressor(optimizer="adam"), X, y)  # doctest: +SKIP
    >>> model.predict(X[:5].compute())                    # doctest: +SKIP
    >>> X.map_blocks(model.predict, drop_axis=1, dtype=float)  # doctest: +SKIP
    """
    if not isinstance(estimator, SGDRegressor):
        raise TypeError(
            f"fit_dask trains a descent.SGDRegressor, got {type(estimator).__name__}")
    client = _get_client(client)

    # -- parameters -----------------------------------------------------------
    overrides = {}
    for name, value in (("max_iter", max_iter), ("tol", tol),
                        ("n_iter_no_change", n_iter_no_change)):
        if value is not FROM_ESTIMATOR:
            overrides[name] = value
    checked = clone(estimator).set_params(**overrides)
    checked._validate_params()
    if checked.early_stopping:
        raise ValueError(
            "early_stopping=True is not supported by fit_dask (it needs a "
            "validation split): set early_stopping=False, and tol / "
            "n_iter_no_change apply to the training objective")
    checked._more_validate_params(for_partial_fit=True)
    max_iter, tol = checked.max_iter, checked.tol
    n_iter_no_change = checked.n_iter_no_change
    adaptive = checked.learning_rate == "adaptive"
    _, eta = checked._rule_and_lr()      # base learning rate (adaptive: varies)
    rng = check_random_state(
        random_state if random_state is not None else estimator.random_state)

    if (estimator.warm_start and coef_init is None
            and getattr(estimator, "coef_", None) is not None):
        coef_init, intercept_init = estimator.coef_, estimator.intercept_

    # -- data: checked on metadata, then persisted once ------------------------
    feature_names = None
    if hasattr(X, "to_dask_array") and hasattr(X, "columns"):
        columns = list(X.columns)
        if columns and all(isinstance(c, str) for c in columns):
            feature_names = np.asarray(columns, dtype=object)
    X = _as_dask_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-d, got shape {X.shape}")
    _check_chunks_known(X, "X")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X has shape {X.shape}: no samples or no features")
    if np.isnan(X.shape[1]):
        raise ValueError("X has an unknown number of columns")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    n_samples, n_features = int(X.shape[0]), int(X.shape[1])
    y = _as_column_like(y, X, "y")
    if sample_weight is not None:
        sample_weight = _as_column_like(sample_weight, X, "sample_weight")
    start = _initial_state(clone(checked), n_features, coef_init, intercept_init)

    Xb = X.to_delayed().ravel()
    yb = y.to_delayed().ravel()
    swb = (sample_weight.to_delayed().ravel() if sample_weight is not None
           else [None] * len(Xb))
    # pure=False: keys of this call only, so that releasing them at the end
    # cannot race with another call persisting the same blocks.
    packed = [dask.delayed(_pack_block, pure=False)(a, b, c)
              for a, b, c in zip(Xb, yb, swb)]
    blocks = client.compute(packed)        # futures: the blocks stay on workers
    n_blocks = len(blocks)

    template = clone(checked).set_params(verbose=0, warm_start=False)
    estimator._reset()
    curve = []
    state = start
    try:
        distributed.wait(blocks)
        for f in blocks:
            if f.status == "error":
                f.result()                 # raises the block's error
        if checked.learning_rate == "optimal":
            fut = client.submit(_search_first_step, template, state, n_features,
                                blocks[0], int(rng.randint(MAX_INT)), pure=False)
            state = dict(state, optimal_init=fut.result())

        best, no_improvement, n_iter = np.inf, 0, 0
        for epoch in range(1, max_iter + 1):
            seeds = rng.randint(MAX_INT, size=n_blocks)
            order = (rng.permutation(n_blocks) if checked.shuffle
                     else np.arange(n_blocks))
            # Where the blocks are now (asked each epoch: workers come and go).
            who_has = client.who_has(blocks)
            by_worker = {}
            for i in order:
                holders = sorted(who_has.get(blocks[i].key, ()))
                by_worker.setdefault(holders[0] if holders else None, []).append(i)
            if adaptive:
                template = _with_lr(template, eta)
            futures = [
                client.submit(_worker_epoch, template, state, n_features,
                              [blocks[i] for i in idx], [seeds[i] for i in idx],
                              epoch, workers=None if w is None else [w],
                              allow_other_workers=True, pure=False)
                for w, idx in sorted(by_worker.items(), key=lambda kv: str(kv[0]))
            ]
            results = client.gather(futures)
            state, objective = _mix(state, results)
            n_iter = epoch
            if not (np.isfinite(objective) and np.isfinite(state["theta"]).all()):
                raise ValueError(
                    f"SGD diverged at epoch {epoch} of fit_dask: the mixed weights "
                    "or the epoch objective are not finite. Scale the data or "
                    f"lower the learning rate (it is {eta!r}).")
            curve.append(objective)
            if estimator.verbose:
                print(f"-- Epoch {epoch}\nNorm: "
                      f"{np.linalg.norm(state['theta'][:-1]):.2f}, Bias: "
                      f"{state['theta'][-1]:.6f}, T: {int(state['t'] - 1)}, "
                      f"Avg. loss: {objective:f}")
            if tol is not None and objective > best - tol:
                no_improvement += 1
            else:
                no_improvement = 0
            best = min(best, objective)
            if no_improvement >= n_iter_no_change:
                if adaptive and eta > 1e-6:
                    eta /= 5.0
                    no_improvement = 0
                else:
                    if estimator.verbose:
                        print(f"Convergence after {epoch} epochs")
                    break
    except KeyboardInterrupt:
        if curve:     # keep the last mixed model, as fit does
            _finish(estimator, state, n_features, curve, feature_names)
        raise
    finally:
        client.cancel(blocks)

    _finish(estimator, state, n_features, curve, feature_names)
    if tol is not None and n_iter == max_iter:
        warnings.warn(
            "Maximum number of iteration reached before convergence. "
            "Consider increasing max_iter to improve the fit.", ConvergenceWarning)
    return estimator


def _with_lr(template, eta):
    """The template with base learning rate ``eta`` (the adaptive schedule)."""
    if isinstance(template.optimizer, str):
        return template.set_params(eta0=eta)
    return template.set_params(optimizer=clone(template.optimizer).set_params(lr=eta))


def _finish(estimator, state, n_features, curve, feature_names):
    _set_state(estimator, state, n_features)
    estimator.n_iter_ = len(curve)
    estimator.loss_curve_ = list(curve)
    if feature_names is not None:
        estimator.feature_names_in_ = feature_names
    estimator._publish()
