"""The stopping rule and the record of a training run, epoch by epoch.

One :class:`StoppingRule` watches a run: it records each epoch's objective
(``loss_curve_``) and validation score, detects divergence, applies
scikit-learn's tolerance rule (``tol``, ``n_iter_no_change``, early stopping
on validation scores) and the ``adaptive`` schedule's division of the step
by 5, and prints the ``verbose`` lines. ``SGDRegressor.fit`` and
``partial_fit`` run a kernel Workspace epoch by epoch under one
(:func:`run_epochs`); ``descent.dask.fit_dask`` feeds it the mixed models'
epochs. Callbacks, progress bars and restoring the best weights plug in here.
"""

from __future__ import annotations

import enum
import math

import numpy as np

# An epoch objective above DIVERGENCE_FACTOR times the start point's (or the
# zero model's, if larger) is a divergence.
DIVERGENCE_FACTOR = 1e4
# The adaptive schedule stops dividing the step by 5 once it is below this.
ADAPTIVE_MIN_ETA = 1e-6


class Outcome(enum.Enum):
    """What a :class:`StoppingRule` decides after an epoch."""

    CONTINUE = "continue"
    REDUCE_ETA = "reduce_eta"     # the adaptive schedule: divide the step by 5
    CONVERGED = "converged"
    DIVERGED = "diverged"


def diverged(objective, finite=True, reference=math.inf):
    """Non-finite weights or objective, or an objective grown by four orders
    of magnitude over ``reference``."""
    return (not finite or not math.isfinite(objective)
            or objective > DIVERGENCE_FACTOR * reference + 1e-300)


class StoppingRule:
    """Record epochs and decide when training stops.

    Parameters
    ----------
    tol : float or None
        The training objective (or, with ``early_stopping``, the validation
        score) must improve on its best by ``tol`` within ``n_iter_no_change``
        epochs; ``None`` never stops early.
    n_iter_no_change : int
    adaptive : bool
        ``learning_rate="adaptive"``: instead of stopping, divide the step by 5
        (while it is above 1e-6).
    early_stopping : bool
        Judge improvement on the validation score (higher is better).
    reference : float
        The divergence reference objective (``Workspace.divergence_reference``).
    verbose : int
        Print scikit-learn's lines after each epoch.
    """

    def __init__(self, *, tol, n_iter_no_change, adaptive=False, early_stopping=False,
                 reference=math.inf, verbose=0):
        self.tol = -math.inf if tol is None else float(tol)
        self.n_iter_no_change = n_iter_no_change
        self.adaptive = adaptive
        self.early_stopping = early_stopping
        self.reference = reference
        self.verbose = verbose
        self.loss_curve: list[float] = []
        self.validation_scores: list[float] = []
        self.best_objective = math.inf
        self.best_score = -math.inf
        self.no_improvement = 0

    @property
    def n_epochs(self):
        return len(self.loss_curve)

    def update(self, objective, *, finite=True, score=None, eta=math.inf, model=None):
        """Record one epoch's objective and decide what comes next.

        ``score`` is a callable giving the validation score (called only if
        the epoch did not diverge); ``eta`` the current step size (adaptive);
        ``model`` the pair (theta, t) for the verbose line.
        """
        self.loss_curve.append(objective)
        if diverged(objective, finite, self.reference):
            return Outcome.DIVERGED
        if self.verbose and model is not None:
            theta, t = model
            print_epoch(self.n_epochs, theta, t, objective)
        if self.early_stopping:
            value = score()
            self.validation_scores.append(value)
            improved = not (self.tol > -math.inf and value < self.best_score + self.tol)
            self.best_score = max(self.best_score, value)
        else:
            improved = not (self.tol > -math.inf and objective > self.best_objective - self.tol)
        self.no_improvement = 0 if improved else self.no_improvement + 1
        self.best_objective = min(self.best_objective, objective)
        if self.no_improvement < self.n_iter_no_change:
            return Outcome.CONTINUE
        if self.adaptive and eta > ADAPTIVE_MIN_ETA:
            self.no_improvement = 0
            return Outcome.REDUCE_ETA
        if self.verbose:
            print(f"Convergence after {self.n_epochs} epochs")
        return Outcome.CONVERGED


def print_epoch(epoch, theta, t, objective):
    """scikit-learn's verbose lines (over all targets' coefs; mean intercept)."""
    coef = theta[:, :-1]
    norm = math.sqrt(float(np.sum(coef * coef)))
    print(f"-- Epoch {epoch}")
    print(f"Norm: {norm:.2f}, NNZs: {np.count_nonzero(coef)}, "
          f"Bias: {float(np.mean(theta[:, -1])):.6f}, T: {int(t - 1)}, "
          f"Avg. loss: {objective:f}")


def run_epochs(workspace, rule, max_iter, theta):
    """Run epochs of ``workspace`` under ``rule`` for at most ``max_iter``
    epochs; return the last :class:`Outcome`. ``theta`` is the model the
    workspace updates (for the verbose lines)."""
    outcome = Outcome.CONTINUE
    for _ in range(max_iter):
        objective = workspace.epoch()
        outcome = rule.update(objective, finite=workspace.finite,
                              score=workspace.validation_score, eta=workspace.eta,
                              model=(theta, workspace.t))
        if outcome is Outcome.REDUCE_ETA:
            workspace.eta = workspace.eta / 5.0
        elif outcome is not Outcome.CONTINUE:
            break
    return outcome
