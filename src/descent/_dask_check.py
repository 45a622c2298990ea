"""fit_dask's stationarity check and warnings on a cluster (descent.dask).

fit confirms a tol stop with its stationarity check (descent._probe), which
takes passes over the training rows: the gradient, Hessian-vector products,
the objective. fit_dask runs the same StoppingRule and StationarityProbe,
the passes made where the persisted blocks are, one task per worker, and
added up by rows (:class:`ClusterPasses`): the mean over all the rows, as a
Workspace of them all gives. The workers' own warnings, which would reach
only their logs, are raised on the client (:class:`WarningRelay`).
"""

from __future__ import annotations

import warnings

import numpy as np

from ._dask_data import by_worker, near
from ._kernels import Schedule
from ._stopping import StoppingRule
from ._warnings import user_stacklevel

__all__ = ["ClusterPasses", "WarningRelay", "stopping_rule"]


class ClusterPasses:
    """The passes of a StationarityProbe over the training rows (a
    Workspace's ``gradient``, ``hessian_vector`` and ``objective``), each
    run where the persisted blocks are, one task per worker, and added up
    by rows: the mean over all the rows, as a Workspace of them all gives.
    ``theta`` is the probe's model (K, n_features + 1), read at each pass;
    ``model`` the fitted estimator the workers measure with (the last
    epoch's mixed model), both set by the epochs."""

    def __init__(self, client, blocks, theta):
        self.client, self.blocks, self.theta = client, blocks, theta
        self.model = None

    def _pass(self, what, v=None):
        tasks = [self.client.submit(_blocks_measure, self.model,
                                    [self.blocks[i] for i in idx], what, self.theta.copy(),
                                    v, pure=False, **near(w))
                 for w, idx in by_worker(self.client, self.blocks, range(len(self.blocks)))]
        results = self.client.gather(tasks)
        rows = sum(r[2] for r in results)
        return sum(r[0] for r in results) / rows, sum(r[1] for r in results) / rows

    def gradient(self, out):
        value, out[:] = self._pass("gradient")
        return value

    def hessian_vector(self, v, out):
        out[:] = self._pass("hessian", np.array(v))[1]

    def objective(self, theta=None):
        return self._pass("objective", None if theta is None else np.array(theta))[0]


def _blocks_measure(model, blocks, what, theta, v):
    """One pass of fit_dask's stationarity check over some of a worker's
    blocks, the fitted ``model``'s workspace at ``theta`` on each
    (ClusterPasses): the sums over the blocks of their rows times their
    mean ("gradient": the loss and its gradient; "hessian": the Gauss-Newton
    matrix times ``v``; "objective": the objective at ``v``, or at
    ``theta`` if None), and the rows. Blocks of weight 0 are left out, as
    from the epochs' objective."""
    value, array, rows = 0.0, np.zeros_like(theta), 0
    for X, y, sample_weight in blocks:
        if sample_weight is not None and not sample_weight.any():
            continue
        ws = model._measuring_workspace(X, y, sample_weight, theta.copy())
        n = X.shape[0]
        out = np.empty_like(theta)
        if what == "gradient":
            value += n * ws.gradient(out)
        elif what == "hessian":
            ws.hessian_vector(v, out)
        else:
            value += n * ws.objective(v)
        if what != "objective":
            array += n * out
        rows += n
    return value, array, rows


def stopping_rule(checked, model, plan, passes, unit, verbose):
    """fit_dask's StoppingRule and stationarity probe (or None): fit's, the
    probe's passes run on the cluster (ClusterPasses); ``model`` is the
    first mixed model, ``unit`` the check's unit from all the rows'
    targets."""
    scaling = model._scaling
    probe, rule_unit = model._stationarity_check(
        passes, passes.theta, model._fitted_problem(None, None, None, plan),
        None if scaling.is_identity else scaling.objective_weights(), unit,
        published=lambda: (passes.model._avg[:, :-1]
                           if passes.model._averaging(passes.model.t_) else None))
    rule = StoppingRule(
        tol=checked.tol, n_iter_no_change=checked.n_iter_no_change,
        adaptive=plan.fields["schedule"] == int(Schedule.ADAPTIVE), verbose=verbose,
        probe=probe, unit=rule_unit, scale_tol=not plan.plain)
    return rule, probe


class WarningRelay:
    """The workers' warnings, raised on the client: the first of each
    category once, naming the epoch and how many more the run had (a
    one-block partial fit's warning repeats on every block: unscaled breast
    cancer's "objective rose ... times that of the zero model" came from
    each worker's first block, measured, and reached only their logs)."""

    def __init__(self):
        self.seen: dict[type, list] = {}

    def add(self, epoch, raised):
        for category, message in raised:
            self.seen.setdefault(category, [epoch, message, 0])[2] += 1

    def raise_all(self):
        for category, (epoch, message, count) in self.seen.items():
            more = f" ({count - 1} more like it on the workers)" if count > 1 else ""
            warnings.warn(f"fit_dask, epoch {epoch}, on a worker's row block: {message}{more}",
                          category, stacklevel=user_stacklevel())
