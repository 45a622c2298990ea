"""The first step of the ``optimal`` learning-rate schedule, searched as
Bottou's sgd-2 does (``determineEta0``).

The schedule is scikit-learn's ``eta = 1 / (alpha (t0 + t - 1))``. scikit-learn
picks ``t0`` from a heuristic that gives ``alpha ** -0.25`` as the first step
for regression (10 for ``alpha=1e-4``), which diverges on standardized data.
Here the first step is the power of 2 (from 1) after which one PLAIN epoch
over a random subsample of up to 1000 training samples gives the lowest
objective.
"""

from __future__ import annotations

import numpy as np

from . import _kernels
from ._labels import kernel_targets
from ._stopping import diverged
from ._validation import kernel_X

# Subsample and search bounds.
OPTIMAL_SUBSAMPLE = 1000
OPTIMAL_MAX_TRIALS = 60


def optimal_t0(eta, alpha):
    """t0 of the schedule 1 / (alpha (t0 + t - 1)) whose first step is eta."""
    t0 = 1.0 / (eta * alpha) if eta * alpha > 0 else np.inf
    if not np.isfinite(t0):
        raise ValueError(
            f"alpha={alpha!r} is too small for learning_rate='optimal' (its "
            "steps 1 / (alpha t) overflow): use a larger alpha or another schedule")
    return t0


def search_optimal_eta0(plan, theta, X, y, sample_weight, train_idx, seed, alpha):
    """Bottou's search of the first step; ``plan`` is the fit's (PLAIN) plan,
    ``theta`` the start point, ``X`` what ``_validation.kernel_X`` takes."""
    rng = np.random.RandomState(seed)
    size = min(OPTIMAL_SUBSAMPLE, train_idx.shape[0])
    sub = np.sort(rng.choice(train_idx, size=size, replace=False))
    Xs, ys = X[sub], y[sub]
    sws = None if sample_weight is None else sample_weight[sub]
    Xk = kernel_X(Xs)
    K, d = theta.shape[0], theta.shape[1] - 1
    loss = plan.fields["loss"]
    epsilon = plan.fields["epsilon"]

    def cost(eta):
        # one epoch from the start point with first step eta, then the
        # subsample's objective at its end
        trial = theta.copy()
        settings = plan.settings(t=1.0, step=0.0, seed=seed,
                                 optimal_init=optimal_t0(eta, alpha), eta0=eta,
                                 average_start=0.0, n_threads=1,
                                 path=int(_kernels.Path.PLAIN))
        idx = np.arange(size, dtype=np.int32)
        ws = _kernels.Workspace(Xk, kernel_targets(ys), sws, idx, idx[:0], trial, np.zeros((0, 0)),
                                np.zeros((3, K * (d + 1))), np.zeros(K * d), settings,
                                plan.rule_params)
        reference = ws.divergence_reference()
        ws.epoch()
        if diverged(ws.divergence_objective, ws.finite, reference):
            return np.inf
        pred = np.asarray(Xs @ trial[:, :-1].T) + trial[:, -1]
        losses = _kernels.py_loss(loss, np.asarray(ys).ravel(), pred.ravel(),
                                  epsilon).reshape(ys.shape)
        per_sample = losses.sum(axis=1)
        value = ((per_sample.sum() if sws is None else np.dot(sws, per_sample)) / size
                 + sum(_kernels.py_penalty(plan.fields["penalty"], w, alpha,
                                           plan.fields["l1_ratio"]) for w in trial[:, :-1]))
        return value if np.isfinite(value) else np.inf

    return _bottou_search(cost)


def _bottou_search(cost):
    # Bottou keeps lo_eta in both branches: when halving helped, that is
    # half the best step seen, a deliberate margin of safety.
    factor = 2.0
    lo_eta = 1.0
    lo_cost = cost(lo_eta)
    for _ in range(OPTIMAL_MAX_TRIALS):   # diverging: halve until finite
        if np.isfinite(lo_cost):
            break
        lo_eta /= factor
        lo_cost = cost(lo_eta)
    hi_eta = lo_eta * factor
    hi_cost = cost(hi_eta)
    trials = 0
    if lo_cost < hi_cost:
        while lo_cost < hi_cost and trials < OPTIMAL_MAX_TRIALS:
            hi_eta, hi_cost = lo_eta, lo_cost
            lo_eta = hi_eta / factor
            lo_cost = cost(lo_eta)
            trials += 1
    elif hi_cost < lo_cost:
        while hi_cost < lo_cost and trials < OPTIMAL_MAX_TRIALS:
            lo_eta, lo_cost = hi_eta, hi_cost
            hi_eta = lo_eta * factor
            hi_cost = cost(hi_eta)
            trials += 1
    return lo_eta
