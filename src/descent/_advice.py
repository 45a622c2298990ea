"""A fit's ConvergenceWarnings: why it stopped where it did, and what to change.

:class:`ConvergenceAdvice` is mixed into ``BaseSGD``: after a ``fit`` it warns
when the epochs ran out or the stopping rule gave up far from the optimum
(estimating the gap and naming the cause the fit shows), and when a
full-batch fit ended worse than the zero model; it also words how to lower
the step, for the divergence error.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from . import _kernels
from ._plan import make_plan, optimizer_name
from ._stopping import Outcome, diverged
from ._warnings import user_stacklevel
from .optim import Optimizer


class ConvergenceAdvice:
    """The warnings of ``BaseSGD.fit`` (a mixin: it reads the estimator's
    parameters and fitted attributes, declared below)."""

    # what the estimator provides (declared for the type checker only)
    tol: float | None
    alpha: float
    epsilon: float
    loss: str
    batch_size: int | None
    optimizer: Any
    fit_intercept: bool
    early_stopping: bool
    n_iter_: int
    loss_curve_: list[float]
    _GAP_UNIT: str
    _loss_info: Any
    _public_model: Any

    def _warn_worse_than_start(self, end, peak, reference, plan, X, fitting=True):
        """Two overshoots. A full-batch fit that ends above the objective of
        the zero model (and of its start point) made the model worse than not
        training it (standardized digits, hinge, eta0=1e4: 8,500 times the
        start, accuracy below chance); not said of stochastic steps, whose
        last iterate's objective says less (per-sample modified_huber on
        standardized data ends 1 to 104 times the zero model's with
        scikit-learn's accuracy, and a first partial_fit call on 50 rows of
        digits up to 198 times: measured). And a call whose objective went
        DIVERGENCE_FACTOR times above it (an epoch's or the end's), which
        only a loss of bounded derivative survives: its weights cannot blow
        up, so this is not a divergence but steps far too large for the data
        (the 'optimal' schedule's first steps on X ~ N(100, 1), which
        scikit-learn returns the same): exactly the calls that raised as
        divergences before, now returned with this warning. Those whose zero
        model is a minimum (the perceptron's objective 0) are left alone.
        "Scale the data" only where X is not (its columns' scales:
        scaler_for); on standardized X the step alone overshoots."""
        if not (math.isfinite(reference) and reference > 0.0):
            return
        top = max(end, peak)
        call = "fit" if fitting else "call"
        if diverged(top, reference=reference):    # past the divergence threshold
            what = (f"The {call}'s training objective rose to {top / reference:.3g} times "
                    f"that of the zero model (or of the start point, if higher) and ended "
                    f"{end / reference:.3g} times it: its steps are far too large for this "
                    "data (with this loss's bounded derivative the weights stay finite: "
                    "not a divergence)")
        elif fitting and plan.path == int(_kernels.Path.FULL_BATCH) and end > reference:
            what = (f"The fit ended with a training objective {end / reference:.3g} times "
                    "that of the zero model (or of the start point, if higher): training "
                    "made the model worse; its steps overshoot")
        else:
            return
        warnings.warn(what + ". " + self._scale_or_lower(plan, X) + ".",
                      ConvergenceWarning, stacklevel=user_stacklevel())

    def _warn_unchecked_stop(self, rule, X, y, plan):
        """A fit of a loss without the stationarity check (the hinges,
        modified Huber) stopped by tol alone on unscaled X while a target's
        objective is still above half its zero model's: the steps a stable
        fit can take are set by the largest column scale and crawl along the
        others, so small improvements need not mean the optimum is near. Each
        target on its own (one-vs-rest: an easy class hid a failed one in
        the sum, raw iris at 0.33 of it and 0.67 accuracy), whatever the
        batch mode (raw wine, mini-batch hinge: 0.54 of it, 0.65 accuracy;
        per-sample modified_huber on raw iris: 238 times, 0.73; measured).
        Not the perceptron, whose zero model is its minimum (objective 0):
        its fits on raw iris equal the standardized ones. Unscaled digits
        (0.04 of it, 0.94-0.96 accuracy) and standardized data stay silent."""
        scaler = scaler_for(X)
        if scaler is None or not self._loss_info().classification:
            return      # (the regression losses all have the check)
        worst = self._worst_target_ratio(X, y, plan)
        if worst is None or worst < 0.5:
            return
        warnings.warn(
            f"Stopped after {len(rule.loss_curve)} epochs by tol alone (loss="
            f"{self.loss!r} has no stationarity check) on unscaled X, with the training "
            f"objective of {'a target' if y.shape[1] > 1 else 'the model'} {worst:.3g} "
            "times its zero model's: the steps a stable fit can take are set by the "
            "largest column scale and crawl along the others, so the small "
            f"improvements need not mean the optimum is near. Scale X ({scaler}).",
            ConvergenceWarning, stacklevel=user_stacklevel())

    def _worst_target_ratio(self, X, y, plan):
        """The largest, over the targets (y: the kernel's, one column each),
        of the model's mean loss over its zero model's on X; None where a zero
        model's loss is 0. One pass over X."""
        coef, intercept = self._public_model()      # (K, d) dense, (K,)
        scores = np.asarray(X @ coef.T, dtype=np.float64) + intercept
        code, eps = plan.fields["loss"], plan.fields["epsilon"]
        worst = 0.0
        for t in range(y.shape[1]):
            target = np.ascontiguousarray(y[:, t])
            zero = float(np.mean(_kernels.py_loss(code, target, np.zeros_like(target), eps)))
            if not zero > 0.0:
                return None
            loss = _kernels.py_loss(code, target, np.ascontiguousarray(scores[:, t]), eps)
            worst = max(worst, float(np.mean(loss)) / zero)
        return worst

    def _divergence_message(self, epoch, plan, X):
        """The ValueError's text for a fit that diverged at ``epoch``: "Scale
        the data" only where X is not (scaler_for); on standardized X
        the step alone is too large (standardized diabetes, full batch,
        eta0=1: the advice to scale it was no help)."""
        return (f"Training (optimizer={self.optimizer!r}) diverged at epoch {epoch}: "
                "the weights overflowed or the training objective grew by orders of "
                "magnitude. " + self._scale_or_lower(plan, X) + ".")

    def _warn_unconverged(self, outcome, rule, probe, max_iter, X, plan, y):
        if self.tol is None or outcome is Outcome.STOPPED:     # a callback stopped it
            return
        if outcome is Outcome.STALLED and rule.excursion:
            warnings.warn(
                f"Stopped before convergence: the training objective stayed above its "
                f"best ({rule.best_objective * rule.unit:.4g}) by more than 1 % (or tol) "
                f"for {rule.excursion} epochs (now {rule.loss_curve[-1]:.4g}): the "
                "full-batch steps overshoot. "
                + (f"Scale X ({scaler}), or " + self._lower_step(plan)
                   if (scaler := scaler_for(X)) else _capitalized(self._lower_step(plan)))
                + ", or use a decaying step (learning_rate='invscaling' or 'adaptive').",
                ConvergenceWarning,
                stacklevel=user_stacklevel())
            return
        if outcome is Outcome.CONVERGED and probe is None and not self.early_stopping:
            self._warn_unchecked_stop(rule, X, y, plan)
            return
        if outcome is Outcome.STALLED:
            # (the gap is the probe's, compared with tol: "far" is relative to it)
            cause = ("the adaptive schedule's step fell below 1e-6 while the model is "
                     f"still farther from stationary than tol={self.tol:g} allows"
                     if rule.adaptive else
                     f"the model is still farther from stationary than tol={self.tol:g} "
                     "allows, and the checks since the objective stopped improving by "
                     "tol show too little progress")
        elif self.n_iter_ == max_iter and outcome is not Outcome.CONVERGED:
            cause = None
        else:
            return
        # measured again with the search (the stop's check skips it where the
        # model's gap is above tol: Huber with large residuals read 0.9 %
        # for a fit 98.5 % above its minimum, measured)
        gap = (probe(reached=rule.best_objective * rule.unit if rule.deterministic
                     else math.inf)
               if not self.early_stopping and probe is not None else rule.gap)
        limit = self.tol * (1.0 if probe is None else probe.tol_scale())
        if cause is None and gap is not None and gap.decrease <= limit:
            return      # stationary within tol: the epochs ran out, not the fit
        message = ("Maximum number of iteration reached before convergence. Consider "
                   "increasing max_iter to improve the fit." if cause is None
                   else f"Stopped before convergence: {cause}.")
        if gap is not None:
            noisy = _goes_up(self.loss_curve_[-10:])
            scaled = ("" if limit > 0.9 * self.tol else
                      f"; the stop needs at most {limit:.3g}, tol scaled down for an "
                      "objective this small")
            how = ("estimated from its gradient, curvature and a search for a lower point"
                   if probe.model else "found by a search for a lower point")
            estimate = not probe.bound and gap.found <= 0.0
            if not probe.bound and not estimate:
                gap, how = gap.proven(), "found by a search for a lower point"
            message += (
                f" The training objective is still {_above(gap, estimate)} ({gap.decrease:.3g} "
                f"{self._GAP_UNIT}{_per_target(probe)}{how} on the training rows{scaled}). "
                + _capitalized(
                    self._intercept_advice(gap, probe, plan)
                    or self._advice(noisy, probe, stalled=cause is not None,
                                    scaler=scaler_for(X), rule=rule)))
        warnings.warn(message, ConvergenceWarning, stacklevel=user_stacklevel())

    def _intercept_advice(self, gap, probe, plan):
        """The advice where most of the gap is the intercept's on a sparse
        X's per-sample path, whose intercept steps are SPARSE_INTERCEPT_DECAY
        (0.01) of the coefficients' (scikit-learn's): measured, standardized
        diabetes as CSR, 1,000 epochs 8.3 % above the optimum with the
        intercept at 137 of 152; optimizer='adam' reached 0.09 % in 49
        epochs. The intercept's share is the decrease of a step along its
        gradient alone, the loss's largest curvature its step (a lower bound);
        None elsewhere."""
        if not (plan.fields["intercept_decay"] < 1.0 and self.fit_intercept and probe.model):
            return None
        grad, _, _ = probe.pseudo_gradient()
        gain = float(np.sum(grad[:, -1] ** 2)) / (2.0 * self._loss_info().curvature)
        if gain / probe.unit < 0.5 * gap.decrease:
            return None
        behind = ("classes far from balanced: use optimizer='adam'."
                  if self._loss_info().classification
                  else "targets far from 0: use optimizer='adam', or center y.")
        return ("most of the gap is the intercept's: on sparse X per-sample 'sgd' steps "
                "the intercept 100 times more slowly than the coefficients (as "
                "scikit-learn does), and it lags behind " + behind)

    def _scale_or_lower(self, plan, X):
        """"Scale the data ... or lower the step" where X is not standardized
        (scaler_for), else "Lower the step" alone."""
        scaler = scaler_for(X)
        if scaler:
            return f"Scale the data (e.g. {scaler}) or " + self._lower_step(plan)
        return _capitalized(self._lower_step(plan))

    def _lower_step(self, plan):
        """How to lower this plan's step, in the divergence message."""
        if plan.fields["schedule"] == int(_kernels.Schedule.OPTIMAL):
            first = 1.0 / (self.alpha * getattr(self, "_optimal_init", math.inf))
            return (f"use a smaller first step: the 'optimal' schedule's is "
                    f"1 / (alpha t0) = {first:.3g}, set by alpha (eta0 is not used); "
                    "raise alpha, or use learning_rate='constant' or 'invscaling' "
                    "with a small eta0")
        return ("lower the learning rate (eta0" + (
            ", or the optimizer's lr" if isinstance(self.optimizer, Optimizer) else "")
            + f"; it is {plan.lr!r})")

    def _advice(self, noisy, probe, stalled, scaler, rule):
        """What to change, for the cause the fit shows: a loss nearly absolute
        (epsilon far below the targets' spread), unscaled targets on an
        update rule's path, the optimal schedule, or the loss curve's end
        (noisy or not; ``stalled``: stopped before max_iter, where more
        epochs would not help)."""
        plan = make_plan(self, sparse=False, threads=1)
        schedule = plan.fields["schedule"]
        if optimizer_name(self.optimizer) == "adamw" and probe.l2 > 0:
            # measured: a tf-idf table's log loss, "81 % above its minimum"
            # with adamw where adam reached it; the lower step and average=True
            # the other advice named made it worse
            return ("With optimizer='adamw' the weights decay by lr * alpha at each "
                    "step (decoupled), which does not minimise this objective (the "
                    "L2-penalized one the gap is measured on): use optimizer='adam' "
                    "for it, or penalty=None to train adamw without the L2 part.")
        if self.loss in ("huber", "epsilon_insensitive") and probe.start_scale() < 0.1:
            return (f"The loss is nearly the absolute error (epsilon={self.epsilon:g} is "
                    "small next to the targets' spread), whose gradient does not shrink "
                    "near the optimum: use optimizer='adam', or a larger epsilon.")
        variance = probe.unit / probe.targets
        if (not plan.plain and getattr(self, "scale_targets", "auto") is False
                and not 1e-2 <= variance <= 1e2):
            return (f"The targets' variance is {variance:.3g} and scale_targets=False "
                    "fits them as they are, out of reach of steps of the size of lr: "
                    "leave scale_targets='auto', or standardize y.")
        prefix = (f"Scale X ({scaler}): its columns' scales differ; " if scaler else "")
        if schedule == int(_kernels.Schedule.OPTIMAL):
            # eta0 is not the optimal schedule's: its steps are 1 / (alpha t)
            return (prefix + "the optimal schedule's steps 1 / (alpha t) shrink slowly "
                    "for a small alpha: use optimizer='adam', or increase max_iter.")
        lr = getattr(self, "_auto_lr", math.nan) if plan.auto_step is not None else plan.lr
        if not noisy and stalled and self.fit_intercept and probe.l2 * lr > 0.5:
            # measured: alpha=1e6, 40 rows' log loss in full batch: the
            # intercept at -2e-6 where its optimum is -0.10; adam per sample
            # reaches -0.096
            return (prefix + "the penalty sizes the step (alpha times the step is "
                    f"{probe.l2 * lr:.2g}), which leaves the unpenalized intercept, whose "
                    "curvature is far below alpha's, crawling: lower alpha, or use "
                    "optimizer='adam' (a step per coefficient).")
        return prefix + self._curve_advice(
            noisy, stalled, schedule == int(_kernels.Schedule.ADAPTIVE), rule)

    def _curve_advice(self, noisy, stalled, adaptive, rule):
        """The advice the end of the loss curve gives (``noisy``: it still
        goes up and down; ``stalled``: stopped before max_iter; ``adaptive``:
        the adaptive schedule's), lower-case, after any scaling advice."""
        if stalled and not noisy and self.batch_size is None and rule.risen():
            # measured (full-batch Adadelta, make_friedman1): eta0 0.3 ended
            # 0.55 % above the optimum, 0.1 and 'invscaling' at it; 'adaptive'
            # 108 %
            return (f"the loss curve has risen above its best (epoch "
                    f"{rule.best_objective_epoch}) for as many epochs again: the steps "
                    "overshoot slowly: lower eta0, or use learning_rate='invscaling'.")
        if not noisy and stalled and adaptive:
            # measured (standardized breast cancer's log loss, alpha 1e-4; digits'
            # softmax): the step at its floor by epoch 45-90, 17-300 % above the
            # optimum; tol=1e-5 brought every one of six fits closer (9-21 %,
            # digits' adam 2.6 %), learning_rate='constant' most of breast
            # cancer's (adam per sample 1.1 %)
            return ("the adaptive schedule divides the step by 5 whenever "
                    "n_iter_no_change epochs improve the objective by less than tol, and "
                    "did so down to its floor while the loss curve still decreased: use "
                    "a smaller tol (e.g. 1e-5), or learning_rate='constant'.")
        if not noisy and stalled:
            # measured: full-batch fits of breast cancer's log loss (alpha 1e-4,
            # nearly separable) stalled 75-80 % above the optimum whatever
            # max_iter; per-sample "sgd" reached 0.6 %
            per_sample = "" if self.batch_size == 1 else ", or use per-sample steps (batch_size=1)"
            return ("the loss curve decreases steadily but too slowly for more "
                    "epochs to help (an ill-conditioned objective, e.g. a small alpha): "
                    f"raise eta0 or alpha{per_sample}.")
        if not noisy:
            # measured: breast cancer's full-batch log loss (alpha 1e-4) 24 %
            # above the optimum at 1,000 epochs, 8.9 % at 5,000, 1.4 % at
            # 20,000; per-sample steps 0.6 % in a few epochs
            per_sample = (", or use per-sample steps (batch_size=1)"
                          if self.batch_size is None else "")
            return ("the loss curve decreases steadily but slowly: raise eta0, "
                    f"or increase max_iter{per_sample}.")
        if self.batch_size is None and optimizer_name(self.optimizer) == "rmsprop":
            # measured (make_regression 2,000 x 20, noise 0.01, no penalty): the
            # full gradient over its running RMS is a step of about lr along
            # each coordinate's sign, near the optimum too: 1.9e6 times the
            # minimum, eta0 / 10 still 2e4 times, eta0 / 100 too slow;
            # optimizer='adam' (its momentum averages the swings out) reached it
            # (learning_rate='adaptive', also advised at first, made 5 of 12
            # such fits worse, every classifier among them, measured)
            return ("the loss curve goes up and down at the end: full-batch "
                    "RMSprop steps about lr along each coordinate's sign however close "
                    "to the optimum: use optimizer='adam'.")
        if adaptive:
            return ("the loss curve goes up and down at the end: lower eta0, or "
                    "use average=True (the adaptive schedule already divides the step "
                    "by 5 on each plateau).")
        return ("the loss curve goes up and down at the end: lower eta0, or use "
                "learning_rate='adaptive' or average=True.")


def scaler_for(X):
    """The scikit-learn scaler X needs, or None where its columns' scales are
    alike: "StandardScaler" where a column of dense X has a standard deviation
    above 5 or a mean beyond 5 standard deviations, or its columns' median
    standard deviation is below 0.2 and their values lie within 0.5 of their
    means (the median column's; constant columns aside); "MaxAbsScaler"
    (which keeps zeros zero) where a column of sparse X has a largest
    magnitude over 100 times the median column's (a column times 1,000
    diverged at every eta0 down to 1e-5 and fitted R^2 < 0 at 1e-7, where
    MaxAbsScaler fitted it, measured; word counts' columns differ by tens).
    Judged on the first 10,000 rows (a copy of that size at most, when a fit
    warns). None for X None: rows not at hand (fit_dask's, on a cluster)."""
    if X is None or X.shape[0] < 2:
        return None
    if sp.issparse(X):
        top = abs(sp.csr_matrix(X[:10_000])).max(axis=0).toarray().ravel()
        live = top[top > 0]
        if live.size and live.max() > 100.0 * np.median(live):
            return "MaxAbsScaler"
        return None
    head = np.asarray(X[:10_000], dtype=np.float64)
    mean, std = head.mean(axis=0), head.std(axis=0)
    # (a constant column's computed std is a rounding error, 1e-17 of 0.1,
    # or upstream rounding's, 1e-9: its mean was "beyond 5 standard
    # deviations" of it, the advice given to standardized data with one
    # constant column, measured)
    live = std > 1e-6 * np.abs(mean)
    # (small columns count as a whole, by the median's standard deviation and
    # spread: digits / 16, pixels in [0, 1] of which a few border ones are
    # rarely lit, and one-hot columns of rare levels got the advice and,
    # standardized, fitted 2,050 % and 1,870 % above their optima instead of
    # 3.5 % and 26.7 %, measured; diabetes as it ships, every column of std
    # 0.048 and values within 0.2 of its mean, fits far better standardized)
    spread = np.abs(head - mean).max(axis=0)
    small = np.median(std[live]) < 0.2 and np.median(spread[live]) < 0.5 if live.any() else False
    if small or np.any(std[live] > 5.0) or np.any(np.abs(mean[live]) > 5.0 * std[live]):
        return "StandardScaler"
    return None


def _per_target(probe):
    """The gap's words for a check per target (probe.targets > 1)."""
    return f"the mean over {probe.targets} targets, " if probe.targets > 1 else ""


def _goes_up(curve):
    """Whether a loss curve's end rises between epochs by more than its
    rounding: 1e-4 of its value (Adam at the adaptive schedule's floor, a step
    of 2.7e-7, read 0.04993 three times and was told it went "up and down",
    measured)."""
    curve = np.asarray(curve, dtype=float)
    return len(curve) > 2 and bool(np.any(np.diff(curve) > 1e-4 * np.abs(curve[1:])))


def _above(gap, estimate=False):
    """How far above its minimum a Gap puts the objective, in words: a
    percentage, a multiple of a minimum near 0 (a percentage of 5e6 % read as
    noise, measured: an exact fit's RMSprop oscillating at R^2 0.99), or
    "most of its value" where the estimate is the whole objective (below which
    no minimum lies: StationarityProbe._measure). "At least" where the gap is
    a lower bound, "about" where it is the estimate of a model that is not
    one and no real point below was found (Gap.proven)."""
    if not math.isfinite(gap.relative):
        return "far above its minimum, by most of its value"
    how = "about" if estimate else "at least"
    # (a lower bound rounded down to the digits shown: 0.47 % read "0.5 %")
    down = (lambda x, unit: x) if estimate else (lambda x, unit: math.floor(x / unit) * unit)
    if gap.relative >= 10.0:
        times = gap.relative + 1.0
        times = down(times, 10.0 ** (math.floor(math.log10(times)) - 2))
        return f"{how} {times:.3g} times its minimum"
    return f"{how} {down(gap.relative, 1e-3):.1%} above its minimum"


def _capitalized(text):
    return text[:1].upper() + text[1:]
