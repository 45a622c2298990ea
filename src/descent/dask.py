"""Train :class:`descent.SGDRegressor` or :class:`descent.SGDClassifier` on
data spread over a Dask cluster.

:func:`fit_dask` runs *iterative parameter mixing* (McDonald, Hall & Mann
2010; Zinkevich, Weimer, Smola & Li 2010), with the data staying where it is:

1. the row blocks of ``X``, ``y`` (and ``sample_weight``) are persisted once on
   the workers, each block's ``X``, ``y`` and weights together on one worker;
2. every epoch, each worker gets the current model, a partially fitted
   ``SGDRegressor`` whose state is a few vectors of ``n_features + 1`` (coef,
   intercept, the optimizer's moments, the averaged weights) and counters. It
   runs one ``partial_fit`` epoch of the compiled kernel over each of its
   blocks in turn (shuffling inside each block as the estimator does, and the
   order of its blocks too), and sends back only that small model and the sum
   of its blocks' epoch objectives;
3. the client mixes the workers' models, weighted by their number of rows,
   into the next epoch's model, and applies the estimator's stopping rule
   (``tol``, ``n_iter_no_change``, ``max_iter``; the ``adaptive`` schedule's
   division of the learning rate by 5) to the epoch objective: the
   row-weighted mean of the workers' epoch objectives, which is what
   ``loss_curve_`` holds for an in-memory ``fit`` (mean loss plus penalty).
   Where ``fit`` confirms a stop with its stationarity check
   (descent._probe), so does ``fit_dask``: the check's passes over the rows
   (the gradient, Hessian-vector products, the objective) run on the
   workers, each block measured by the mixed model (descent._dask_check), and
   are added up by rows; a refused stop goes on, and a run that ends far
   from the optimum warns as ``fit`` does.

The result is a plain fitted estimator: it predicts, pickles and goes on with
``partial_fit`` without dask. A classifier's classes are those of all of ``y``
(found once, before the epochs), and ``class_weight="balanced"`` weighs them
by their counts in all of ``y``.

How a worker continues from the mixed model: in the first epoch, each worker
seeds its model with ``fit(first_block, coef_init=..., intercept_init=...)``
on a clone with ``max_iter=1, tol=None``, which is exactly the first
``partial_fit`` epoch (``fit`` resets and runs ``max_iter`` epochs), with the
start point the estimator's own allocation puts there; then ``partial_fit`` on
its other blocks. From the second epoch on, the mixed model is shipped and
each worker calls ``partial_fit`` on it, block after block, so ``t_``, the
optimizer state and the averaged weights carry over as they do in memory.
(``fit(coef_init=...)`` every epoch would restart the learning-rate schedule
at ``t_ = 1`` and the optimizer from zero each time, and ``partial_fit`` takes
no start point.)

What is mixed, and how (``_mix``: the only place that knows the estimator's
state attributes ``_theta``, ``_rule_state``, ``_avg``, ``_step``, ``t_``,
``_q``, ``_u``):

- coef and intercept, and the update rule's state (momentum buffers, Adam's
  moments, AdaGrad's sums...), are the row-weighted means of the workers';
- ``t_`` and the optimizer's step count grow by the samples and the updates of
  all workers, as one in-memory epoch over all rows makes them grow, so the
  learning-rate schedule of an epoch starts where the in-memory one would;
- with ``average``, the averaged weights are the exact running mean of all
  the iterates of all the workers (each worker's mean times its count, minus
  the common start, summed);
- everything else (``_optimal_init``, ``n_features_in_``...) is taken from
  the model of the first worker.

A ``learning_rate`` schedule of ``descent.schedules`` must count updates
(``unit="update"``): each worker's kernel reads the steps of its updates from
the counts it continues, as in memory; a per-epoch one would be stepped by
each of a worker's ``partial_fit`` calls, and is refused. The estimator's
callbacks (scikit-learn >= 1.9, ``set_callbacks``) see ``fit_dask`` as one
fit task of ``max_iter`` epochs, each epoch a subtask whose
``fitted_estimator`` holds the mixed model and whose own subtasks are its row
blocks, ended as they end on the workers (with callbacks, each block is a
task of its own, continuing the model of the one before on its worker:
``ProgressBar`` shows the epochs and, inside each, the blocks; ``ScoringMonitor``
scores the epochs, on
the dask ``X`` and ``y`` given, computing them); a callback may stop the
epochs. The workers' models carry no callbacks.

The blocks should each be a random sample of the rows: a block sorted by
label, target or time pulls the model toward it whenever it comes last in a
worker's epoch. ``fit_dask`` compares each block's class shares (or the share
of its targets above the median of all rows) with those of all the rows
before training and warns if one is far off, or if blocks too small to show
it one by one differ from one another beyond chance together (a chi-square
test of the blocks x classes table). Blocks of no rows are left out; a block
whose sample weights are all 0 is skipped.

With callbacks, each row block is a task of its own (a few milliseconds of
scheduling each: measured 4-5 ms a block on a 2-process LocalCluster), and a
block's end hook cannot stop the epoch (its blocks run in parallel): stop
from the epoch's.

Not supported: ``early_stopping=True`` (it needs a validation split). Blocks
may be NumPy arrays or SciPy sparse matrices (converted to CSR once). With
``batch_size=None`` each worker makes one full-batch step per block per epoch
(the mean of these steps is not one full-batch step over all rows). With
``learning_rate="optimal"`` each worker searches the first step on (a
subsample of up to 1000 rows of) its first block in the first epoch; the
first worker's is kept.
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np

try:
    import dask.array  # noqa: F401  (imported here for the error below)
    import distributed
except ImportError as exc:      # pragma: no cover - exercised without dask
    raise ImportError(
        "descent.dask needs dask (with dask.array) and distributed, which are "
        "optional dependencies of descent: pip install \"descent[dask]\" "
        f"(the import failed with: {exc})") from exc

from sklearn.base import clone
from sklearn.utils import check_random_state

from ._callbacks import EpochCallbacks, callback_management_context
from ._classifier import SGDClassifier
from ._dask_check import ClusterPasses, WarningRelay, stopping_rule
from ._dask_data import (
    by_worker,
    dask_inputs,
    global_scaling,
    near,
    persist_blocks,
    preset_classes,
)
from ._kernels import Schedule
from ._lr_drive import check_schedule, schedule_of
from ._plan import make_plan
from ._sgd import SGDRegressor
from ._stopping import Outcome

__all__ = ["fit_dask"]

MAX_INT = np.iinfo(np.int32).max
# What scikit-learn's callback API keeps on an estimator: not fitted state.
_CALLBACK_STATE = ("_skl_callbacks", "_skl_callbacks_to_teardown", "_callback_fit_ctx",
                   "_parent_callback_ctx")


class _FromEstimator:
    """Default of the overrides of fit_dask: take the estimator's value."""

    def __repr__(self):
        return "<the estimator's>"


FROM_ESTIMATOR = _FromEstimator()


# ---------------------------------------------------------------------------
# Mixing.

def _mix(models, n_rows, start):
    """Iterative parameter mixing of the workers' end-of-epoch models.

    ``n_rows`` are the weights; ``start`` is the model all workers started the
    epoch from (None in the first epoch: nothing fitted yet).
    """
    n = np.asarray(n_rows, dtype=np.float64)
    w = n / n.sum()
    mixed = copy.deepcopy(models[0])
    mixed._theta = sum(wk * m._theta for wk, m in zip(w, models))
    mixed._rule_state = sum(wk * m._rule_state for wk, m in zip(w, models))
    # counters: what every worker did in this epoch, added up
    t0, step0 = (1.0, 0.0) if start is None else (start.t_, start._step)
    mixed.t_ = t0 + sum(m.t_ - t0 for m in models)
    mixed._step = step0 + sum(m._step - step0 for m in models)
    # the cumulative L1 penalty (per-sample "sgd") restarts from the mixed
    # model, whose weights are the workers' shrunk ones averaged
    mixed._q = np.zeros_like(mixed._q)
    mixed._u = 0.0
    if models[0]._avg.size > 0:
        # _avg[..., :-1] is the running mean of the iterates, _avg[..., -1:] its
        # count: add up the sums of the iterates each worker added.
        if start is None:
            mean0 = np.zeros_like(models[0]._avg[..., :-1])
            c0 = np.zeros_like(models[0]._avg[..., -1:])
        else:
            mean0, c0 = start._avg[..., :-1], start._avg[..., -1:]
        total = c0 * mean0 + sum(m._avg[..., -1:] * m._avg[..., :-1] - c0 * mean0
                                 for m in models)
        count = c0 + sum(m._avg[..., -1:] - c0 for m in models)
        mean = np.where(count > 0, total / np.where(count > 0, count, 1.0), mean0)
        mixed._avg = np.concatenate([mean, count], axis=-1)
    mixed._publish()
    return mixed


# ---------------------------------------------------------------------------
# Tasks run on the workers. Module-level functions: pickled by reference.

def _blocks_epoch(state, blocks, seeds, epoch, coef_init, intercept_init):
    """One epoch over some of a worker's blocks, continuing its ``state``:
    (model, sum of the row-weighted epoch objectives, rows so far, the
    warnings raised so far as (category, message)). The first block of the
    first epoch seeds an unfitted clone with ``fit(..., max_iter=1)``. A
    worker's warnings would only reach its log: they are recorded and sent
    back, for the client to raise (descent._dask_check.WarningRelay)."""
    model, objective, n_rows, raised = state
    model = copy.deepcopy(model)
    raised = list(raised)
    for (X, y, sample_weight), seed in zip(blocks, seeds):
        if sample_weight is not None and not sample_weight.any():
            continue                       # a block of weight 0 moves nothing
        model.random_state = int(seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if not hasattr(model, "t_"):
                    # = the first partial_fit epoch, from the given start point
                    model.set_params(max_iter=1, tol=None, warm_start=False)
                    model.fit(X, y, coef_init=coef_init, intercept_init=intercept_init,
                              sample_weight=sample_weight)
                else:
                    model.partial_fit(X, y, sample_weight=sample_weight)
            except ValueError as exc:
                if "diverged" in str(exc):
                    raise ValueError(f"epoch {epoch} of fit_dask: {exc}") from None
                raise
        raised += [(w.category, str(w.message)) for w in caught]
        objective += model.loss_curve_[-1] * X.shape[0]
        n_rows += X.shape[0]
    return model, objective, n_rows, raised


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
    """Fit an estimator on Dask data by iterative parameter mixing.

    Every epoch, each worker runs the compiled kernel over the blocks it
    holds, starting from the current model; the client averages the workers'
    models, weighted by their rows, and stops by the estimator's rule, with
    ``fit``'s stationarity check run on the workers. Only
    the model state (a few vectors of ``n_features + 1``) crosses the network
    after the blocks are persisted. See the module docstring of
    :mod:`descent.dask` for the details.

    Parameters
    ----------
    estimator : descent.SGDRegressor or descent.SGDClassifier
        Its parameters configure the training (optimizer, step sizes, loss,
        penalty, ``batch_size``, ``shuffle``, stopping rule). It is fitted in
        place (like ``estimator.fit``) and returned; with ``warm_start=True``
        and a previous fit, training starts from its ``coef_`` /
        ``intercept_``. ``early_stopping=True`` is not supported.
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
        The training rows, numbers (dense blocks or SciPy sparse blocks,
        converted to float64 / CSR on the workers). Row blocks are the units
        of work; column blocks are merged. A DataFrame is converted with
        ``to_dask_array(lengths=True)``; its string column names become
        ``feature_names_in_``. The row-block sizes must be known.
    y : dask collection or array_like of shape (n_samples,) or (n_samples, n_targets)
        The targets (class labels for a classifier): a Dask array, Series or
        DataFrame, or an in-memory array; 1-d, or 2-d for a multi-output
        regressor. A Dask collection blocked differently from
        ``X`` (with the same length) is re-blocked like ``X``; an in-memory
        array is sent blocked like ``X``.
    sample_weight : dask collection or array_like of shape (n_samples,), default=None
        Weights of the rows (non-negative), of the same kinds as ``y``; None
        weighs every row 1. Blocked like ``y``.
    coef_init : array_like of shape (n_features,) or (n_outputs, n_features), default=None
        The start point of the coefficients, as in ``estimator.fit``
        (``n_outputs``: the targets of a regressor, the classes of a
        multi-class classifier); None starts where ``fit`` would (or from the
        previous fit with ``warm_start``).
    intercept_init : array_like of shape (1,) or (n_outputs,), default=None
        The start point of the intercept, as in ``estimator.fit``.
    max_iter : int, default=the estimator's ``max_iter``
        Maximum number of epochs (passes over all the blocks), >= 1, for this
        call only (the estimator's parameter is not changed).
    tol : float or None, default=the estimator's ``tol``
        The stopping rule's tolerance, for this call only; the epoch
        objective is compared with it as in ``estimator.fit``. None disables
        the stopping rule (``max_iter`` epochs are run).
    n_iter_no_change : int, default=the estimator's ``n_iter_no_change``
        Epochs without an improvement of ``tol`` before stopping, >= 1, for
        this call only.
    client : distributed.Client, default=None
        The client of the cluster; None uses ``distributed.get_client()``
        (the client created last in this process).
    random_state : int, numpy.random.RandomState or None, default=None
        Seeds the block order and the in-block shuffles of every epoch;
        ``None`` uses the estimator's ``random_state``. Results are
        reproducible for a given placement of the blocks on the workers.

    Returns
    -------
    estimator : descent.SGDRegressor or descent.SGDClassifier
        The estimator passed, fitted: ``coef_``, ``intercept_``, ``n_iter_``
        (epochs), ``loss_curve_`` (the epoch objectives), ``t_``,
        ``n_features_in_`` (and ``feature_names_in_`` for a DataFrame with
        string column names; ``classes_`` for a classifier), as after
        ``estimator.fit``.

    Raises
    ------
    TypeError
        If ``estimator`` is not a descent ``SGDRegressor`` or
        ``SGDClassifier``, or ``X`` is not a Dask array or DataFrame.
    ValueError
        Before training: an invalid parameter of the estimator or override
        (scikit-learn's ``InvalidParameterError``, naming it),
        ``early_stopping=True``, no ``client`` and no current client, ``X``
        not 2-d, empty, or with unknown chunk sizes or number of columns,
        ``y`` or ``sample_weight`` of another length or number of
        dimensions, or blocks of ``X`` and ``y`` that do not match. During
        training: the mixed model or the epoch objective is not finite
        (divergence: scale the data or lower the learning rate), or a
        worker's fit raises (its error is passed on). The estimator is left
        as it was.
    ImportError
        On ``import descent.dask``, if dask or distributed is not installed
        (``pip install "descent[dask]"``).

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        If ``tol`` is not None and the run ends farther from the optimum than
        ``tol`` allows: ``max_iter`` epochs were run without meeting the
        stopping rule (and, for the losses that have it, the stationarity
        check measured the gap above ``tol``), or the check's gap stopped
        shrinking; the message gives the gap and what to change.
    UserWarning
        Before training, if a row block is far from a random sample of the
        rows: its class shares (a classifier), or the share of its targets
        above the median of all rows (a regressor), is off by more than
        chance allows for its size. Shuffle the rows before blocking them.

    See Also
    --------
    descent.SGDRegressor.fit : The same training on in-memory data.
    descent.SGDRegressor.partial_fit : One epoch on a chunk, for out-of-core
        training without a cluster.

    Notes
    -----
    One model per worker per epoch: the shards of parameter mixing are the
    workers' sets of blocks, wherever dask put them (asked again every
    epoch). Per epoch, mixing K models makes about the progress of one model
    over n / K rows, with less noise; expect a few more epochs than ``fit``.
    Tasks go to the worker holding their blocks, with loose restrictions, so
    a lost worker's blocks are recomputed and trained elsewhere. If training
    fails (e.g. diverges), ``estimator`` is left as it was; if it is
    interrupted (``KeyboardInterrupt``) after an epoch, the estimator holds
    the last mixed model, as ``fit`` does.

    References
    ----------
    .. [1] R. McDonald, K. Hall and G. Mann, "Distributed Training Strategies
       for the Structured Perceptron", NAACL HLT 2010 (iterative parameter
       mixing).
    .. [2] M. Zinkevich, M. Weimer, A. Smola and L. Li, "Parallelized
       Stochastic Gradient Descent", NIPS 2010.

    Examples
    --------
    A cluster in this process (a real one only changes the ``Client`` line):

    >>> import dask.array as da
    >>> from distributed import Client, LocalCluster
    >>> from descent import SGDRegressor
    >>> from descent.dask import fit_dask
    >>> cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
    ...                        dashboard_address=":0")
    >>> client = Client(cluster)
    >>> X = da.random.RandomState(0).normal(size=(2000, 5), chunks=(500, 5))
    >>> y = X @ da.arange(1.0, 6.0)
    >>> model = fit_dask(SGDRegressor(optimizer="adam", random_state=0), X, y)
    >>> model.coef_.round(2)
    array([1., 2., 3., 4., 5.])
    >>> client.close(); cluster.close()

    The model is a plain fitted estimator: predict in memory, or block by
    block with ``X.map_blocks(model.predict, drop_axis=1, dtype=float)``.
    """
    if not isinstance(estimator, (SGDRegressor, SGDClassifier)):
        raise TypeError("fit_dask trains a descent.SGDRegressor or SGDClassifier, got "
                        f"{type(estimator).__name__}")
    client = _get_client(client)

    # -- parameters -----------------------------------------------------------
    overrides = {}
    for name, value in (("max_iter", max_iter), ("tol", tol),
                        ("n_iter_no_change", n_iter_no_change)):
        if value is not FROM_ESTIMATOR:
            overrides[name] = value
    checked = clone(estimator).set_params(**overrides)
    checked._validate_params()          # scikit-learn's parameter constraints
    if checked.early_stopping:
        raise ValueError(
            "early_stopping=True is not supported by fit_dask (it needs a "
            "validation split): set early_stopping=False, and tol / "
            "n_iter_no_change apply to the training objective")
    schedule = schedule_of(checked.learning_rate)
    if schedule is not None:
        check_schedule(checked)
        if schedule.unit != "update":
            raise ValueError(
                f"learning_rate={schedule!r} counts epochs: fit_dask takes schedules "
                "with unit='update' (each worker's partial_fit over its blocks would "
                "step a per-epoch schedule once per block)")
    max_iter = checked.max_iter
    plan = make_plan(checked, sparse=False)
    rng = check_random_state(
        random_state if random_state is not None else estimator.random_state)
    if (estimator.warm_start and coef_init is None
            and getattr(estimator, "coef_", None) is not None):
        coef_init, intercept_init = estimator.coef_, estimator.intercept_

    X, y, sample_weight, feature_names = dask_inputs(X, y, sample_weight)

    with callback_management_context(estimator):
        callbacks = EpochCallbacks(
            estimator, X, y, None if sample_weight is None else
            {"sample_weight": sample_weight}, max_epochs=max_iter, task_name="fit_dask")
        model, rule = _epochs(estimator, checked, client, X, y, sample_weight, coef_init,
                              intercept_init, feature_names, plan, rng, callbacks)
        _finish(estimator, model, rule.loss_curve, feature_names)
        callbacks.end()
    return estimator


def _epochs(estimator, checked, client, X, y, sample_weight, coef_init, intercept_init,
            feature_names, plan, rng, callbacks):
    """The epochs of fit_dask: returns the last mixed model and the rule;
    warns, as fit does, if the run ends far from the optimum."""
    max_iter = checked.max_iter
    adaptive = plan.fields["schedule"] == int(Schedule.ADAPTIVE)
    # the base learning rate (the adaptive schedule divides it on plateaus);
    # NaN where it is 1 / L, which the first worker estimates on its blocks
    eta = plan.lr
    blocks, ids, rows = persist_blocks(client, X, y, sample_weight,
                                       labels=isinstance(checked, SGDClassifier))
    n_blocks = len(blocks)

    start = None                           # nothing fitted yet
    rule, probe, kept, unit = None, None, 0, 1.0
    passes = ClusterPasses(client, blocks, None)
    relay = WarningRelay()
    try:
        distributed.wait(blocks)
        for f in blocks:
            if f.status == "error":
                f.result()                 # raises the block's error
        # The model shipped in the first epoch: unfitted, verbose off on
        # workers, no callbacks, with the classes or the targets' scaling of
        # all the rows.
        model = clone(checked).set_params(verbose=0, warm_start=False)
        model.__dict__.pop("_skl_callbacks", None)
        if isinstance(model, SGDClassifier):
            preset_classes(model, client, blocks, ids)
        else:
            model._preset_scaling, unit = global_scaling(checked, plan, client, blocks, ids,
                                                         rows)
        outcome = Outcome.CONTINUE
        for epoch in range(1, max_iter + 1):
            seeds = rng.randint(MAX_INT, size=n_blocks)
            order = (rng.permutation(n_blocks) if checked.shuffle
                     else np.arange(n_blocks)).tolist()
            if adaptive and not math.isnan(eta):
                model = _with_lr(model, eta)
            callbacks.begin_epoch(_fitted_state(start, epoch - 1), n_blocks=n_blocks)
            tasks, ends = _submit_epoch(client, model, blocks, order, seeds, epoch,
                                        coef_init, intercept_init,
                                        per_block=callbacks.active)
            for done in distributed.as_completed(tasks):
                if done.status == "finished":
                    for i in tasks[done]:
                        callbacks.end_block(ids[i])
            # a worker whose blocks all weigh 0 did nothing
            gathered = client.gather(ends)
            for r in gathered:
                relay.add(epoch, r[3])
            results = [r for r in gathered if r[2] > 0]
            if not results:
                raise ValueError("sample_weight is 0 on every row: there is nothing to fit")
            mixed = _mix([r[0] for r in results], [r[2] for r in results], start)
            objective = float(sum(r[1] for r in results) / sum(r[2] for r in results))
            passes.model = mixed
            if rule is None:    # the check needs a fitted model: the first mixed one
                passes.theta = mixed._theta.copy()
                rule, probe = stopping_rule(checked, mixed, plan, passes, unit,
                                            estimator.verbose)
            passes.theta[:] = mixed._theta
            outcome = rule.update(objective, finite=bool(np.isfinite(mixed._theta).all()),
                                  eta=eta, model=_verbose_model(mixed))
            if outcome is Outcome.DIVERGED:
                raise ValueError(
                    f"SGD diverged at epoch {epoch} of fit_dask: the mixed weights "
                    "or the epoch objective are not finite. Scale the data or "
                    f"lower the learning rate (it is {eta!r}).")
            model = start = mixed
            kept = rule.n_epochs              # the epochs `model` holds
            if math.isnan(eta):
                eta = getattr(mixed, "_auto_lr", checked.eta0)
            stop = callbacks.end_epoch(_fitted_state(mixed, epoch))
            if stop or outcome in (Outcome.CONVERGED, Outcome.STALLED):
                outcome = Outcome.STOPPED if stop else outcome
                break
            if outcome is Outcome.REDUCE_ETA:
                eta /= 5.0
        relay.raise_all()
        _warn_unconverged(checked, model, rule, probe, outcome, plan)
    except KeyboardInterrupt:
        if rule is not None and kept > 0:     # keep the last mixed model, as fit does
            _finish(estimator, model, rule.loss_curve[:kept], feature_names)
        raise
    finally:
        client.cancel(blocks)
    return model, rule


def _verbose_model(model):
    """The callable the rule's verbose lines read the model from: (coef,
    intercept, t) of ``model`` in the targets' units."""
    return lambda: model._model_in_units(model.t_)


def _warn_unconverged(checked, model, rule, probe, outcome, plan):
    """fit's warnings for a run that ran out of epochs, or stopped before
    the stationarity check was met (the gap measured on the cluster), said
    by a fitted copy of ``checked`` (fit_dask's parameters)."""
    judge = clone(checked)
    _finish(judge, model, rule.loss_curve, None)
    # (X None: its columns' scales, and the stop of a loss without the check,
    # are not judged on a cluster's rows)
    judge._warn_unconverged(outcome, rule, probe, checked.max_iter, None, plan, None)


def _submit_epoch(client, model, blocks, order, seeds, epoch, coef_init, intercept_init,
                  per_block):
    """Submit one epoch: each worker's blocks, in ``order``, continuing
    ``model`` on that worker. ``per_block``: a chain of tasks of one block
    each, each continuing the one before, so that the client sees each block
    end (the callbacks' block subtasks; each task costs the scheduler some
    milliseconds, measured 5 ms); otherwise one task per worker. Returns
    {future: its block indices} and the last future of each worker."""
    tasks, ends = {}, []
    for w, idx in by_worker(client, blocks, order):
        none_raised: list[tuple[type, str]] = []
        state = (model, 0.0, 0, none_raised)
        for part in ([[i] for i in idx] if per_block else [idx]):
            state = client.submit(_blocks_epoch, state, [blocks[i] for i in part],
                                  [seeds[i] for i in part], epoch, coef_init,
                                  intercept_init, pure=False, **near(w))
            tasks[state] = part
        ends.append(state)
    return tasks, ends


def _fitted_state(model, n_iter):
    """A callable giving the fitted attributes of a mixed model (the
    callbacks' fitted_estimator), or None before the first epoch."""
    if model is None:
        return None
    names = ("coef_", "intercept_", "t_", "classes_", "n_features_in_", "_multi_output")
    return lambda: {**{name: copy.copy(getattr(model, name)) for name in names
                       if hasattr(model, name)}, "n_iter_": n_iter}


def _with_lr(model, eta):
    """``model`` with base learning rate ``eta`` (the adaptive schedule): an
    explicit eta0 is every optimizer's lr."""
    return model.set_params(eta0=float(eta))


def _finish(estimator, model, curve, feature_names):
    """Give ``estimator`` the fitted state of ``model`` (not its parameters)."""
    params = estimator.get_params(deep=False)
    for name in list(vars(estimator)):
        if name not in params and name not in _CALLBACK_STATE:
            delattr(estimator, name)
    for name, value in vars(model).items():
        if name not in params and name not in ("_preset_scaling", "_preset_classes",
                                               *_CALLBACK_STATE):
            setattr(estimator, name, value)
    estimator.n_iter_ = len(curve)
    estimator.loss_curve_ = list(curve)
    if feature_names is not None:
        estimator.feature_names_in_ = feature_names
