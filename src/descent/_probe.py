"""The stationarity check: how far a model is from the optimum of its
training objective, measured when the stopping rule (descent._stopping)
would stop.

A :class:`StationarityProbe` takes the exact gradient of the objective on the
training rows (one pass) and the decrease a Newton step of its quadratic
model would make (the squared-loss curvature; the L1 part as a
pseudo-gradient; a few conjugate-gradient passes), confirmed, when it is
small, by a few L-BFGS iterations on the exact objective (a pass each): a
:class:`Gap`. It also says what ``tol`` is multiplied by for the objective at
hand (:meth:`StationarityProbe.tol_scale`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize


@dataclass(frozen=True)
class Gap:
    """How far a model is from the optimum, at least: ``decrease``, what the
    Newton step of the objective's quadratic model (squared-loss curvature)
    or a lower point found gains, in the check's unit (the objective of
    standardized targets); ``relative`` to the minimum that bounds (the
    objective minus the decrease)."""

    decrease: float
    relative: float
    # what real points prove alone (a model of the run, the L-BFGS search),
    # and the objective, both in the check's unit
    found: float = 0.0
    objective: float = math.inf

    def proven(self):
        """The Gap of what real points prove alone: a lower bound of the gap
        whatever the loss (the quadratic model of the log-loss, its local
        Hessian, is not one: "at least 387.9 %" for a fit 94.7 % above its
        minimum, raw iris' softmax, measured)."""
        minimum = self.objective - self.found
        return Gap(self.found, self.found / minimum if minimum > 0 else math.inf,
                   self.found, self.objective)


# Conjugate-gradient iterations of the probe (a pass over the rows each), and
# the fraction of the decrease found so far under which one more iteration's
# gain stops them. Ten: on make_classification's 50,000 x 50, 5 classes, the
# softmax's probes took 16-25 iterations to PROBE_RTOL and the tenth had 96-98
# % of their decrease; at 25 the checks cost a full-batch fit more than its
# 85 epochs (1.9 s against 0.9 s without a check), at 10 about 1.6-1.8 s, the
# same epochs and final model (measured). An estimate short of the gap is
# still a lower bound, and below the stop's threshold the L-BFGS search runs.
PROBE_MAX_ITERATIONS = 10
PROBE_RTOL = 1e-4
# The least tol_scale (StationarityProbe.tol_scale) scales tol by, and the
# objective (in the check's unit: 0.5 is standardized targets' variance
# halved, the squared loss of the model predicting their mean) below which tol
# is relative to it: R^2 = 0.9 under the squared loss.
TOL_SCALE_FLOOR = 1e-6
NEAR_EXACT = 0.05
# L-BFGS iterations of the probe's search for a lower point (StationarityProbe._descend).
DESCENT_ITERATIONS = 10


class StationarityProbe:
    """Measure a Workspace's model: :meth:`__call__` returns a :class:`Gap`.

    The gap of a quadratic objective to its minimum is ``g' H^-1 g / 2``; the
    probe estimates it with the gradient g (one pass) and a few conjugate
    gradient iterations on H (a Hessian-vector product per pass), which give
    an increasing lower bound of it: the first iteration is the exact line
    search along g, and ill-conditioned data (where one step gains little but
    the gap is large) need the next ones. The Hessian is the loss's
    Gauss-Newton matrix (``Workspace.hessian_vector``: the squared loss's
    curvature stands in where the loss's derivative jumps, Huber's upper
    bound 1 where it is capped) plus the penalty's L2 part ``l2``; the L1
    part ``l1`` enters as the minimum-norm subgradient, the coefficients it
    holds at zero left out of the step. When that model's decrease is small
    (at most the caller's threshold), a few L-BFGS iterations from the model
    measure the exact objective's decrease (:meth:`_descend`), and the gap is
    the larger of the two. ``target_weights`` (K,) or None: what each
    target's loss and penalty count in the workspace's objective.
    ``unit`` is what the fitted problem's objective counts per unit of the
    check's (1 on scaled paths; the targets' variance, or standard deviation
    for epsilon-insensitive, on the PLAIN path); ``objective_unit`` the same
    for the objective the workspace reports; ``near_exact``: whether tol
    turns relative to a small objective (:meth:`tol_scale`); ``targets``:
    what ``unit`` and ``objective_unit`` count per target (K where the check
    is per target, the mean of K independent targets' sums; else 1); ``model``:
    whether the quadratic model bounds the gap from below (LossInfo.model);
    without it the gap is that of real points alone, the L-BFGS search always
    run; ``bound``: whether the model's decrease is a lower bound of the gap
    (LossInfo.bound: the warnings state only what real points prove
    otherwise, Gap.proven).
    ``published()``, if given, returns the model the estimator publishes
    when it is not the iterate (the running average of ``average=True``), or
    None: the probe measures that one, written into ``theta`` for the passes
    and the iterate put back.
    """

    def __init__(self, workspace, theta, *, l1, l2, fit_intercept, unit=1.0,
                 objective_unit=1.0, published=None, target_weights=None, near_exact=True,
                 model=True, bound=True, targets=1):
        self.workspace = workspace
        self.bound = bound
        self.targets = targets
        self.model = model
        self.target_weights = target_weights
        self.near_exact = near_exact
        self.theta = theta
        self.published = published
        self.l1, self.l2 = l1, l2
        self.fit_intercept = fit_intercept
        self.unit = unit
        self.objective_unit = objective_unit
        self.objective = math.nan        # the workspace's, at the last probe
        self._tol_scale = None

    def pseudo_gradient(self):
        """The gradient of the objective at the model, with the L1 part's
        minimum-norm subgradient (zero where a zero coefficient may stay),
        the mask of the coordinates a step may move, and the objective (the
        workspace's: each target's loss and penalty weighted): one pass."""
        grad = np.empty_like(self.theta)
        loss = self.workspace.gradient(grad)       # the data term, weighted
        w = self.theta[:, :-1]
        penalty = (0.5 * self.l2 * np.sum(w * w, axis=1)
                   + self.l1 * np.sum(np.abs(w), axis=1))
        objective = loss + float(np.dot(self._weights()[:, 0], penalty))
        grad[:, :-1] += self.l2 * w
        free = np.ones(grad.shape, dtype=bool)
        if self.l1 > 0:
            g = grad[:, :-1]
            on = w != 0
            g[on] += self.l1 * np.sign(w[on])
            off = ~on
            g[off] = np.sign(g[off]) * np.maximum(np.abs(g[off]) - self.l1, 0.0)
            free[:, :-1] = on | (g != 0)
        if not self.fit_intercept:
            grad[:, -1] = 0.0
            free[:, -1] = False
        return grad, free, objective

    def _weights(self):
        """(K, 1): what each target counts in the workspace's objective."""
        if self.target_weights is None:
            return np.ones((self.theta.shape[0], 1))
        return np.asarray(self.target_weights, dtype=float)[:, None]

    def _hessian(self, v, free):
        out = np.empty_like(v)
        self.workspace.hessian_vector(v, out)
        out[:, :-1] += self.l2 * v[:, :-1]
        out[~free] = 0.0
        return out

    def start_scale(self):
        """What ``tol`` is multiplied by for the objective of the model at the
        start of the targets (coefficients 0, the intercept at the targets'
        shift): 1, or less where that objective is below 0.5, that of
        standardized targets under the squared error, in the check's unit.
        Huber with an ``epsilon`` far below the targets' spread is an absolute
        loss times epsilon: on diabetes (epsilon 0.1 against a standard
        deviation of 77) its whole objective is about 1e-3 in that unit, so
        an absolute ``tol`` of 1e-3 accepted a full-batch model 48 % above the
        optimum. At least TOL_SCALE_FLOOR: a zero model of objective 0 (a
        constant y) is the optimum, and a tol scaled to 0 kept an epoch that
        merely equals the best counting as progress, every epoch to max_iter
        (Adam on 100,000 rows: 1,000 epochs at the optimum, measured). One
        pass, on the first call."""
        if self._tol_scale is None:
            start = np.zeros_like(self.theta)
            value = self.workspace.objective(start) / self.objective_unit
            self._tol_scale = (min(1.0, max(value / 0.5, TOL_SCALE_FLOOR)) if value == value
                               else 1.0)
        return self._tol_scale

    def tol_scale(self):
        """What the stop's ``tol`` is multiplied by: :meth:`start_scale`, or
        less where the model last measured has an objective below
        NEAR_EXACT in the check's unit: then ``tol`` is relative to it, a
        gap of at most ``tol / NEAR_EXACT`` of the objective (2 % for the
        default tol). A nearly exact fit has a small optimum however large
        the start: make_regression's 2,000 x 20 rows with noise 10 have an
        optimum of 0.0011, and an absolute 1e-3 let full-batch Adam stop 7 %
        above it, per-sample Adadelta 44 % (measured, silent). Above
        NEAR_EXACT tol stays absolute: scaled by the objective / 0.5 there,
        the default mini-batch fits of standardized diabetes (objective
        0.25) warned 0.2-0.4 % above the optimum, their noise floor. Not
        with ``near_exact`` False (scikit-learn's path, whose constant steps
        stop on its rule: iris's targets, R^2 0.93, ran to max_iter)."""
        scale = self.start_scale()
        if self.near_exact and self.objective == self.objective:
            scale = min(scale, max(self.objective / self.objective_unit / NEAR_EXACT,
                                   TOL_SCALE_FLOOR))
        return scale

    def __call__(self, threshold=math.inf, reached=math.inf):
        """The :class:`Gap` of the published model; the L-BFGS search runs only
        if the quadratic model's decrease is at most ``threshold`` (a gap the
        model already puts above it needs no confirming). ``reached``: the
        lowest objective (the workspace's unit) a model of this run is known
        to have had, which bounds the gap too (:meth:`_measure`)."""
        model = None if self.published is None else self.published()
        if model is None:
            return self._measure(threshold, reached)
        iterate = self.theta.copy()
        self.theta[:] = model
        try:
            return self._measure(threshold, reached)
        finally:
            self.theta[:] = iterate

    def _measure(self, threshold, reached):
        g, free, self.objective = self.pseudo_gradient()
        decrease = self._newton_model(g, free) / self.unit if self.model else 0.0
        # A model the run had is a real point below this one: the gap is at
        # least the difference. Where the loss is nearly the absolute error
        # (Huber, epsilon 0.1, on raw diabetes targets) the local models see
        # 20-30 times less than the gap: full-batch Adam, RMSprop and AdaGrad
        # stopped at epoch 6, 0.8-4.9 % above the optimum, on a model past
        # one with a lower objective (measured).
        found = max(0.0, (self.objective - reached) / self.objective_unit)
        if max(decrease, found) <= threshold or not self.model:
            found = max(found, self._descend(g) / self.objective_unit)
        decrease = max(decrease, found)
        # No loss or penalty is negative: no gap exceeds the objective (the
        # quadratic model of a nearly separable log-loss overstates it: raw
        # iris, one-vs-rest, 15.4 against an objective of 2.41, measured).
        # Relative to the minimum it bounds (objective - decrease), not to the
        # objective: a gap of 50 times the minimum read "98 %" (measured).
        objective = self.objective / self.objective_unit
        decrease = min(decrease, max(objective, 0.0))
        minimum = objective - decrease
        return Gap(decrease, decrease / minimum if minimum > 0 else math.inf,
                   min(found, max(objective, 0.0)), objective)

    def _newton_model(self, g, free):
        """The decrease of the quadratic model's minimum (conjugate gradients
        on H x = g, in the fitted problem's unit); inf if the model has no
        curvature along a descent direction."""
        r = g.copy()
        rs = float(np.sum(r * r))
        decrease = 0.0
        p = r.copy()
        for _ in range(PROBE_MAX_ITERATIONS):
            if rs == 0.0:
                break
            hp = self._hessian(p, free)
            php = float(np.sum(p * hp))
            if not php > 0.0:
                return math.inf
            step = rs / php
            gain = 0.5 * step * rs        # what this CG iteration adds
            decrease += gain
            r -= step * hp
            new = float(np.sum(r * r))
            if gain <= PROBE_RTOL * decrease:
                break
            p = r + (new / rs) * p
            rs = new
        return decrease

    def _descend(self, g):
        """The largest decrease of the exact objective (in the workspace's
        unit) that a few L-BFGS iterations (scipy's L-BFGS-B, one pass over
        the rows per evaluation) find from the model, on the objective with
        its minimum-norm subgradient (:meth:`pseudo_gradient`; ``g`` is that
        at the model, which _measure has taken). A real point,
        so a lower bound of the gap that no model can overstate: where the
        curvature stands in for a capped derivative (Huber with large
        residuals) the model's step is far too short, and its decrease alone
        said "stationary" 43-49 % above the optimum (Huber regression of raw
        diabetes targets, mini-batch and full batch, measured); a line search
        along that step still saw 20-30 times less than the gap with raw
        diabetes X, where 3-5 L-BFGS iterations find it within 1 %
        (measured)."""
        theta = self.theta
        start = theta.copy()
        weights = self._weights()

        def objective(flat):
            if np.array_equal(flat, start.ravel()):     # measured already: ``g``
                return self.objective, (g * weights).ravel()
            theta[:] = flat.reshape(start.shape)
            grad, _, value = self.pseudo_gradient()
            return value, (grad * weights).ravel()

        try:
            found = minimize(objective, start.ravel(), jac=True, method="L-BFGS-B",
                             options={"maxiter": DESCENT_ITERATIONS})
        finally:
            theta[:] = start
        # (found.fun is the objective at found.x, from the same pass's loss)
        return max(0.0, self.objective - found.fun)
