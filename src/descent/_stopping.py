"""The stopping rule and the record of a training run, epoch by epoch.

One :class:`StoppingRule` watches a run: it records each epoch's objective
(``loss_curve_``) and validation scores, detects divergence, applies
scikit-learn's tolerance rule (``tol``, ``n_iter_no_change``; early stopping on
validation scores) and the ``adaptive`` schedule's division of the step by 5,
and prints the ``verbose`` lines. ``SGDRegressor.fit`` and ``partial_fit`` run
a kernel Workspace epoch by epoch under one (:func:`run_epochs`);
``descent.dask.fit_dask`` feeds it the mixed models' epochs.

scikit-learn's rule looks at how much the running objective of an epoch
improved, in absolute terms. That fails whenever an epoch makes little
progress: one step per epoch (full batch), a loss whose gradient is capped
(Huber, epsilon-insensitive), a decaying step, or an objective that rises. So
when the rule wants to stop, a :class:`~descent._probe.StationarityProbe`
measures how far the model is from the optimum (descent._probe) and, for
full-batch steps, the lowest objective the run has seen bounds that gap too.
The run stops only if the gap is at most ``tol`` in the units of the
objective of standardized targets (scaled down for a small objective);
otherwise it goes on, and at ``max_iter`` the warning names the gap that was
left: a lower bound of the distance to the optimum.
"""

from __future__ import annotations

import enum
import math
import time

import numpy as np

from ._probe import Gap

# An epoch objective above DIVERGENCE_FACTOR times the start point's (or the
# zero model's, if larger) is a divergence.
DIVERGENCE_FACTOR = 1e4
# The adaptive schedule stops dividing the step by 5 once it is below this.
ADAPTIVE_MIN_ETA = 1e-6
# Stochastic steps: epochs, in units of n_iter_no_change, that training may go
# on after scikit-learn's rule first fired with the model far from stationary.
PATIENCE = 20
# Full-batch steps judged by scikit-learn's rule alone: an objective within
# this fraction of its best (or tol, if larger) has settled (StoppingRule.settling).
SETTLED = 0.01



class Outcome(enum.Enum):
    """What a :class:`StoppingRule` decides after an epoch."""

    CONTINUE = "continue"
    REDUCE_ETA = "reduce_eta"     # the adaptive schedule: divide the step by 5
    CONVERGED = "converged"
    DIVERGED = "diverged"
    STALLED = "stalled"           # stops far from stationary: more epochs would not help
    STOPPED = "stopped"           # a callback asked to stop (sklearn.callback)


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
        epochs; ``None`` never stops early. Stopping also needs the probe's
        decrease to be at most ``tol`` (when a probe is given).
    n_iter_no_change : int
    adaptive : bool
        ``learning_rate="adaptive"``: instead of stopping, divide the step by 5
        (while it is above 1e-6).
    early_stopping : bool
        Judge improvement on the validation score (higher is better).
    reference : float
        The divergence reference objective (``Workspace.divergence_reference``).
    bounded : bool
        The loss's derivative is bounded: the weights grow at most linearly
        in the steps and cannot blow up, so an objective far above
        ``reference`` is steps too large for the data, not a divergence: only
        non-finite weights or objectives stop training (the estimator warns of
        the rest at the end, as scikit-learn's same iterates are returned).
    verbose : int
        Print scikit-learn's lines after each epoch.
    probe : StationarityProbe or None
        Checks a model the rule would stop at (not with early stopping, whose
        goal is the validation score): training goes on while the gap is above
        ``tol``, probed again after twice as many epochs each time, and gives
        up (STALLED, which the estimator turns into a ConvergenceWarning): with
        ``adaptive``, once the step is at its floor; when the probes show no
        progress (stochastic steps: their lowest gap; ``deterministic``:
        their lowest objective, by more than the stop's limit, over three
        doublings of the epochs); or (stochastic steps, whose gaps are too
        noisy to extrapolate) ``PATIENCE`` times ``n_iter_no_change`` epochs
        after the last probe that halved the gap.
    deterministic : bool
        The epochs are exact full-batch steps.
    unit : float
        What the objective counts per unit of ``tol`` (scaled fits report the
        objective of the original targets).
    scale_tol : bool
        Judge the objective's improvement on ``tol`` scaled by the start's
        objective (:meth:`StationarityProbe.start_scale`), not on ``tol``: off
        scikit-learn's path, where its units need not be kept. An objective
        far below 1 in the check's unit (Huber with a small ``epsilon``) then
        counts the improvements its own size makes: on raw diabetes (epsilon
        0.1) ``tol`` was 5 times the whole objective, no epoch ever improved,
        and full-batch Adam stopped at epoch 6 with its objective still
        falling, 0.8 % above the optimum (measured).
    """

    def __init__(self, *, tol, n_iter_no_change, adaptive=False, early_stopping=False,
                 reference=math.inf, bounded=False, verbose=0, probe=None, unit=1.0,
                 deterministic=False, scale_tol=False):
        self.tol = -math.inf if tol is None else float(tol)
        # the improvement that counts (scale_tol)
        self.margin = (self.tol * probe.start_scale()
                       if scale_tol and probe is not None and tol is not None else self.tol)
        self.n_iter_no_change = n_iter_no_change
        self.adaptive = adaptive
        self.early_stopping = early_stopping
        self.reference = reference
        # what an epoch's objective is judged against for divergence; the
        # highest objective so judged (a bounded loss's overshoot, warned of)
        self.divergence_reference = math.inf if bounded else reference
        self.peak = -math.inf
        self.verbose = verbose
        self.probe = probe
        self.unit = unit
        self.deterministic = deterministic
        self.loss_curve: list[float] = []
        self.validation_scores: list[float] = []
        self.validation_losses: list[float] = []
        self.best_objective = math.inf
        self.best_objective_epoch = 0       # and the epoch it was had
        self.last_objective = math.inf      # (the check's unit, as the best)
        self.best_score = -math.inf
        self.best_epoch = 0
        self.no_improvement = 0
        # full-batch steps without a probe stop only once settled near the
        # best (_excursion_for): the last epoch that was, and (when the rule
        # would stop) the epochs since then
        self.settling = deterministic and probe is None and not early_stopping
        self.settled_epoch = 0
        self.excursion = 0
        self.confirmed: float | None = None    # the returned model's objective (confirm)
        self.gap: Gap | None = None
        self.limit = self.tol               # tol scaled by the probe (tol_scale)
        # the probe that last halved the gap (the first probe's at first)
        self.patience_from, self.patience_gap = 0, math.inf
        self.probes: list[tuple[int, float]] = []   # (epoch, gap) of each probe
        self.probe_bests: list[float] = []          # the best objective at each
        self.hold = n_iter_no_change        # epochs before the next probe, doubling
        self.next_probe = 0
        self.start = time.perf_counter()

    @property
    def n_epochs(self):
        return len(self.loss_curve)

    def update(self, objective, *, finite=True, score=None, validation_loss=None,
               eta=math.inf, model=None, divergence_objective=None, loss=None):
        """Record one epoch's objective and decide what comes next.

        ``score`` and ``validation_loss`` are callables (called only if the
        epoch did not diverge, with early stopping); ``eta`` the current step
        size; ``model`` a callable returning (coef, intercept, t) for the
        verbose lines; ``divergence_objective`` what divergence is judged on
        if not the objective (``Workspace.divergence_objective``); ``loss``
        the epoch's mean loss without the penalty, for the verbose lines.
        """
        self.loss_curve.append(objective)
        judged = objective if divergence_objective is None else divergence_objective
        self.peak = max(self.peak, judged)
        if diverged(judged, finite, self.divergence_reference):
            return Outcome.DIVERGED
        if self.verbose and model is not None:
            coef, intercept, t = model()
            print_epoch(self.n_epochs, coef, intercept, t, objective, eta,
                        time.perf_counter() - self.start, loss=loss)
        scaled = objective / self.unit
        if self.early_stopping:
            value = score()
            self.validation_scores.append(value)
            if validation_loss is not None:
                self.validation_losses.append(validation_loss())
            improved = not (self.tol > -math.inf and value < self.best_score + self.tol)
            if value > self.best_score:
                self.best_score, self.best_epoch = value, self.n_epochs
        else:
            improved = not (self.tol > -math.inf and scaled > self.best_objective - self.margin)
        self.no_improvement = 0 if improved else self.no_improvement + 1
        if not (self.settling and self.n_epochs == 1):
            # (a full batch's first objective is the start point's, before any
            # step: the perceptron's zero model, 0, would be a best that no
            # step can beat, and every fit stopped at epoch 6)
            if scaled < self.best_objective:
                self.best_objective, self.best_objective_epoch = scaled, self.n_epochs
        self.last_objective = scaled
        if scaled <= self.best_objective + self._band():
            self.settled_epoch = self.n_epochs
        if self.no_improvement < self.n_iter_no_change:
            return Outcome.CONTINUE
        if self.adaptive and eta > ADAPTIVE_MIN_ETA:
            self.no_improvement = 0
            return Outcome.REDUCE_ETA
        if self.settling and self.n_epochs > self.settled_epoch:
            return self._excursion_for(self.n_epochs - self.settled_epoch)
        return self._stop_or_go_on()

    def _band(self):
        """How far above the best objective an epoch counts as settled."""
        if not self.settling:
            return max(self.tol, 0.0)
        return max(self.tol, SETTLED * abs(self.best_objective))

    def _excursion_for(self, epochs):
        """Full-batch steps judged by scikit-learn's rule alone (no probe: the
        hinges) do not stop while the objective is above its best by more
        than ``SETTLED`` of it (or tol): it has not settled, it is on an
        excursion, which momentum's transient makes (unscaled digits, hinge,
        full-batch heavy ball with every default: best 2.15 at epoch 3,
        stopped at 4.16 on epoch 8, 0.86 accuracy; it comes back below 2 by
        epoch 20 and reaches 0.55, 0.95 accuracy). An excursion of
        ``PATIENCE`` times ``n_iter_no_change`` epochs gives up (STALLED,
        ``excursion`` set): the steps overshoot. (An oscillation within 1 %
        of the best is settled: standardized iris, alpha=1, swings 0.4 %.)
        ``epochs``: how long the excursion has lasted."""
        self.excursion = epochs
        return (Outcome.STALLED if epochs >= PATIENCE * self.n_iter_no_change
                else Outcome.CONTINUE)

    def confirm(self, end):
        """A full batch's stop, given ``end``, the objective of the model it
        would return: one step after the last one recorded, which an
        oscillating run can leave far from the best (standardized breast
        cancer, hinge, RMSprop: the rule saw 0.161 and returned 0.375, 0.909
        accuracy against 0.972). CONVERGED if that model has settled too
        (``end`` then kept as ``confirmed``: the fit's final check needs no
        pass of its own), else the excursion goes on (CONTINUE, or STALLED
        once too long)."""
        if end / self.unit <= self.best_objective + self._band():
            self.confirmed = end
            return Outcome.CONVERGED
        return self._excursion_for(self.n_epochs - self.settled_epoch + 1)

    def _stop_or_go_on(self):
        if self.probe is not None and not self.early_stopping:
            if self.n_epochs < self.next_probe and not self.adaptive:
                return Outcome.CONTINUE       # too soon after a probe that said no
            self.limit = self.tol * self.probe.tol_scale()
            # (a full batch's objectives are those of real models: the gap is
            # at least the published model's excess over the lowest of them)
            self.gap = self.probe(self.limit, reached=self.best_objective * self.unit
                                  if self.deterministic else math.inf)
            self.limit = self.tol * self.probe.tol_scale()    # the model just measured
            self.probes.append((self.n_epochs, self.gap.decrease))
            self.probe_bests.append(self.best_objective)
            if len(self.probes) == 1 or self.gap.decrease <= 0.5 * self.patience_gap:
                self.patience_from, self.patience_gap = self.n_epochs, self.gap.decrease
            if self.gap.decrease > self.limit:
                if self.adaptive or self._hopeless() or self._out_of_patience():
                    return Outcome.STALLED
                self.no_improvement = 0
                # the next probe after twice as many epochs: a few passes each
                self.next_probe = self.n_epochs + self.hold
                self.hold *= 2
                return Outcome.CONTINUE
        if self.verbose:
            print(f"Convergence after {self.n_epochs} epochs")
        return Outcome.CONVERGED

    def _out_of_patience(self):
        """Stochastic steps: give up PATIENCE * n_iter_no_change epochs after
        the last probe whose gap was at most half the gap that last restarted
        the count (the first probe's at first). Their gaps are too noisy to
        extrapolate, but halving is progress: counted from the first probe
        alone, the default log-loss fit of breast cancer gave up at epoch 203,
        11 % above the optimum, where it reaches 0.06 % by epoch 2,000 (a
        budget that grows with n_iter_no_change keeps longer patience
        stopping later)."""
        if self.deterministic:
            return False
        return self.n_epochs - self.patience_from >= PATIENCE * self.n_iter_no_change

    def risen(self):
        """Whether the run has gone on above its lowest objective, by more
        than the stop's limit, for at least as many epochs as it took to get
        there (full-batch Adadelta on make_friedman1: its best 0.66 % above
        the optimum at epoch 800, then a steady rise to 23.8 % at epoch
        10,000, measured)."""
        return (self.best_objective_epoch <= self.n_epochs / 2
                and self.last_objective - self.best_objective > self.limit)

    def _hopeless(self):
        """Whether the probes show no progress over a window spanning a
        doubling of the epoch count (three for full-batch steps), three probes
        or more: for stochastic steps, the lowest gap so far (an oscillating
        gap, Adam's or momentum's, still shows its progress) no lower at the
        last probe than at the first (a noise floor); for full-batch steps,
        the lowest objective fallen by at most the stop's limit (a full batch
        swinging at a constant distance: Adam on an epsilon-insensitive loss,
        6-7 % above its optimum from epoch 186 on; Adadelta whose objective
        rose for 9,200 epochs after its best, measured). Stochastic steps judge
        all their probes (the recent ones are too noisy alone: per-sample
        Adadelta on standardized diabetes gave up at epoch 84, 1.4 % above
        the optimum, on three probes of its noise floor, where it goes on to
        0.8 %), full-batch steps those since the window's start (a fast
        start hides a later standstill). Full-batch steps that still make
        progress are not given up however slow: a power law fitted to their
        gaps gave up on a tf-idf table's log loss at epoch 81, 36 % above the
        optimum (0.61 accuracy), which 1,000 epochs bring to 13 % (0.91), and
        on Huber fits 13-100 % above optima that 1,000 epochs reach within
        1 % (measured)."""
        epochs, gaps = np.array(self.probes).T
        # full-batch steps: over three doublings, not one. Momentum's transient
        # raises the objective and the gap for tens of epochs before it brings
        # them down (standardized wine, softmax, full-batch heavy ball: the gap
        # rose from epoch 14 to 29, where a doubling's trend gave up 69 % above
        # the optimum; run on, 1e-7 by epoch 300)
        span = 8 if self.deterministic else 2
        before = np.flatnonzero(epochs <= epochs[-1] / span)
        if len(before) == 0 or not np.all(gaps > 0):
            return False
        start = before[-1] if self.deterministic else 0
        if len(gaps) - start < 3:
            return False
        if self.deterministic:
            # a full batch's objectives are exact: progress is the lowest of
            # them falling by more than the stop's limit over the window
            # (gap estimates fell 7-9 % over such windows both for Adam
            # swinging at a constant distance and for a tf-idf fit still
            # descending by 0.017 a window, measured), and not a run that has
            # gone on above its best for as long as it took to get there
            return (self.probe_bests[start] - self.probe_bests[-1] <= self.limit
                    or self.risen())
        gaps = np.minimum.accumulate(gaps)[start:]
        return gaps[-1] >= gaps[0]


class TargetRules:
    """The stopping rule of one-vs-rest classes fitted from one read of each
    row but stopped one by one, as scikit-learn's separate binary fits stop.

    Each target's running objective (``objectives()``, K values an epoch)
    goes to its own :class:`StoppingRule`; when a target's rule stops,
    ``freeze(t)`` keeps that target's model of this epoch (the caller puts it
    back at the end: the targets are independent on this path, so going on
    training the others leaves it as its own fit would have ended), and
    training stops once every target has. ``joint`` (tol None) records the
    curve of the sum of the targets' objectives, a stopped target's held at
    its last (the objective of the model returned, class by class), and
    judges divergence; the other attributes (``loss_curve``, ``reference``,
    ...) are its.
    """

    def __init__(self, joint, rules, objectives, freeze):
        self.joint, self.rules = joint, rules
        self.objectives, self.freeze = objectives, freeze
        self.stopped_at: list[int | None] = [None] * len(rules)
        self.held: list[float] = [0.0] * len(rules)

    def __getattr__(self, name):
        return getattr(self.joint, name)

    def update(self, objective, **kwargs):
        """:meth:`StoppingRule.update` of the joint objective, then each
        running target's; CONVERGED once every target has stopped. (The
        epoch's ``objective`` is the sum over every target, stopped ones
        still training; the curve holds those at their last instead.)"""
        values = self.objectives()
        outcome = self.joint.update(
            float(sum(v if at is None else held
                      for v, at, held in zip(values, self.stopped_at, self.held))),
            **kwargs)
        if outcome is not Outcome.CONTINUE:
            return outcome
        for t, value in enumerate(values):
            if self.stopped_at[t] is None and \
                    self.rules[t].update(value) is Outcome.CONVERGED:
                self.stopped_at[t], self.held[t] = self.joint.n_epochs, value
                self.freeze(t)
        if all(epoch is not None for epoch in self.stopped_at):
            return Outcome.CONVERGED
        return Outcome.CONTINUE


def print_epoch(epoch, coef, intercept, t, objective, eta, elapsed, loss=None):
    """scikit-learn's verbose lines (over all targets' coefs; mean intercept):
    the epoch's mean loss and its objective (the loss plus the penalty, as
    scikit-learn 1.9 prints them; the objective alone where the loss is not
    known), and the step size."""
    coef = np.asarray(coef)
    norm = math.sqrt(float(np.sum(coef * coef)))
    losses = (f"Avg. loss: {loss:f}, Objective: {objective:f}" if loss is not None
              else f"Objective: {objective:f}")
    print(f"-- Epoch {epoch}")
    print(f"Norm: {norm:.2f}, NNZs: {np.count_nonzero(coef)}, "
          f"Bias: {float(np.mean(intercept)):.6f}, T: {int(t - 1)}, "
          f"{losses}, Step size: {eta:.3g}")
    print(f"Total training time: {elapsed:.2f} seconds.")


def run_epochs(workspace, rule, max_iter, *, model=None, on_best=None, score=None,
               validation_loss=None, schedule=None, callbacks=None, fitted=None):
    """Run epochs of ``workspace`` under ``rule`` for at most ``max_iter``
    epochs; return the last :class:`Outcome`. ``model()`` gives (coef,
    intercept, t) for the verbose lines; ``on_best()`` is called after an
    epoch with the best validation score so far; ``score()`` is the
    validation score (the workspace's R^2 if None). ``schedule``
    (descent._lr_drive) sets the steps of each epoch before it and, if driven
    by a metric, steps after it (once the rule has recorded the epoch); it is
    closed at the end. ``callbacks`` (descent._callbacks.EpochCallbacks) make
    each epoch a task, ``fitted()`` giving the fitted attributes of the model
    then; one may ask to stop after an epoch (STOPPED, unless the rule
    stopped anyway)."""
    outcome = Outcome.CONTINUE
    try:
        for _ in range(max_iter):
            if schedule is not None:
                schedule.before_epoch(workspace)
            if callbacks is not None:
                callbacks.begin_epoch(fitted)
            objective = workspace.epoch()
            best = rule.best_epoch
            outcome = rule.update(
                objective, finite=workspace.finite,
                score=workspace.validation_score if score is None else score,
                validation_loss=validation_loss, eta=workspace.eta, model=model,
                divergence_objective=workspace.divergence_objective,
                loss=workspace.last_loss)
            if outcome is Outcome.CONVERGED and rule.settling:
                outcome = rule.confirm(workspace.objective())
            if on_best is not None and rule.best_epoch != best:
                on_best()
            if outcome is Outcome.DIVERGED:
                break
            if schedule is not None:
                schedule.after_epoch(rule)
            stop = callbacks is not None and callbacks.end_epoch(fitted)
            if outcome is Outcome.REDUCE_ETA:
                workspace.eta = workspace.eta / 5.0
            elif outcome is not Outcome.CONTINUE:
                break
            if stop:
                outcome = Outcome.STOPPED
                break
    finally:
        if schedule is not None:
            schedule.close()
    return outcome
