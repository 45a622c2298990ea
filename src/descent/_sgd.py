"""``descent.SGDRegressor``: scikit-learn's SGDRegressor on compiled kernels,
plus modern optimizers, mini-/full-batch modes, gradient clipping and a
per-epoch ``loss_curve_``."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _kernels
from ._optimal import optimal_t0, search_optimal_eta0
from ._plan import LOSSES, SCHEDULES, make_plan
from ._stopping import Outcome, StoppingRule, run_epochs
from ._validation import (
    check_data,
    check_params,
    kernel_X,
    start_point,
    validation_split,
)
from .optim import OPTIMIZER_NAMES, Optimizer

__all__ = ["SGDRegressor"]


MAX_INT = np.iinfo(np.int32).max


class SGDRegressor(RegressorMixin, BaseEstimator):
    """Linear regression by stochastic gradient descent, on compiled kernels.

    A drop-in for :class:`sklearn.linear_model.SGDRegressor`: the parameters
    it shares have the same names, defaults and meaning (see scikit-learn's
    documentation), and the fitted attributes too. It adds:

    optimizer : str or descent.optim.Optimizer, default="sgd"
        ``"sgd"`` is scikit-learn's plain SGD: with ``batch_size=1``, its
        algorithm exactly (L2 as a weight scale, L1 by Tsuruoka et al.'s
        cumulative penalty, sparse intercept decay), which differs from
        ``optimizer=descent.optim.SGD()``: an instance is always torch's rule
        (L2 in the gradient, L1 as a proximal step). With mini-batches or full
        batch ``"sgd"`` is torch's rule too. ``"momentum"`` and ``"nesterov"``
        (momentum 0.9), ``"adagrad"``, ``"rmsprop"``, ``"adadelta"``, ``"adam"``,
        ``"amsgrad"`` and ``"adamw"`` use torch.optim's update rules with their
        default hyper-parameters and ``lr = eta0``; pass a ``descent.optim``
        instance to set them (then its ``lr`` replaces ``eta0``, which must stay
        at its default, and its ``weight_decay`` must be 0: regularisation is
        ``penalty`` and ``alpha``). In every case ``learning_rate`` schedules
        the step: ``constant`` keeps ``lr``, ``invscaling`` uses
        ``lr / t ** power_t`` with ``t`` the update count, ``adaptive`` divides
        it by 5 on plateaus. ``"optimal"`` is for ``optimizer="sgd"`` with
        ``batch_size=1`` only. The L2 part of the penalty enters the gradient
        (for ``adamw``: as decoupled weight decay ``w *= 1 - lr * alpha * (1 -
        l1_ratio)``, which does not minimise the ridge objective); the L1 part is
        a proximal soft-threshold with each coordinate's effective step size.
    batch_size : int or None, default=1
        ``1``: one update per sample. ``k``: the mean gradient of ``k`` samples
        per update. ``None``: full-batch gradient descent, one exact-gradient
        update per epoch.
    clip_grad_norm : float or None, default=None
        Clip each update's data gradient (coef and intercept, before the
        penalty) to this L2 norm, as ``torch.nn.utils.clip_grad_norm_``.
    n_jobs : int or None, default=None
        Threads, counted as joblib does (None: 1, -1: all cores). With
        ``batch_size=1`` the threads run lock-free Hogwild! SGD (Niu et al.
        2011) over the shuffled samples: results then vary from run to run,
        and ``average`` is not available. On dense X a thread steps a private
        copy of the model (and of the rule's state) for 32 samples at a time
        and publishes its change; on sparse X a step touches the row's
        coefficients of the shared model only, and the penalty is split over
        the rows (``sparse_update="dense"`` is refused). The design is
        documented in ``src/descent/kernel/loop_hogwild.pxd``. Mini-batch and
        full batch split each batch's gradient over the threads.
        ``n_jobs=1`` is bit-reproducible.
    sparse_update : {"auto", "lazy", "dense"}, default="auto"
        How per-sample steps (``batch_size=1``) of an ``optimizer`` other than
        ``"sgd"`` treat the coefficients a sparse row does not touch.
        ``"lazy"``: each step costs O(nnz of the row); a coefficient's skipped
        steps are brought up to date when a row next touches it: exactly (the
        dense iterates) for some rules and penalties, with torch's
        ``SparseAdam`` semantics (frozen state; same optimum, other iterates)
        for the others, as the table in ``src/descent/kernel/lazy.pxd`` lists.
        ``"dense"``: every step updates every coefficient, O(n_features), the
        iterates of dense X. ``"auto"``: lazy, except with ``average`` (whose
        running mean reads every coefficient at every step anyway), which is
        dense. ``"lazy"`` with ``average`` or ``batch_size != 1`` raises, and
        so does ``"dense"`` with Hogwild! threads (``n_jobs``). Dense X,
        mini-batches and full batch always update every coefficient;
        ``optimizer="sgd"`` always runs scikit-learn's lazy sparse updates,
        which are exact.

    Fitted attributes beyond scikit-learn's: ``loss_curve_``, the training
    objective (mean weighted loss plus penalty) of each epoch; and
    ``validation_scores_`` (R^2 on the validation split) with early stopping.

    Differences from scikit-learn, on purpose:

    - ``learning_rate="optimal"`` uses ``eta = 1 / (alpha (t0 + t - 1))`` as
      scikit-learn does, but picks the first step ``1 / (alpha t0)`` the way
      Bottou's sgd-2 does: try it on a random subsample of up to 1000 training
      samples, doubling or halving from 1 while the objective after one pass
      improves. scikit-learn's heuristic gives ``alpha ** -0.25`` for
      regression (10 for ``alpha=1e-4``), which diverges on standardized data.
    - Divergence (non-finite weights, or an epoch objective 10^4 times the
      start point's) raises ``ValueError`` naming the epoch, instead of
      returning huge finite coefficients.
    - The per-epoch objective weights each loss by its ``sample_weight``.
    - ``learning_rate`` ``"pa1"``/``"pa2"`` (passive-aggressive) are not
      supported.
    """

    _parameter_constraints: dict = {
        "loss": [StrOptions(set(LOSSES))],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, None, None, closed="neither")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "average": [Interval(Integral, 0, None, closed="neither"), "boolean"],
        "optimizer": [StrOptions(set(OPTIMIZER_NAMES)), HasMethods(["step", "_kernel_params"])],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "n_jobs": [Integral, None],
        "sparse_update": [StrOptions({"auto", "lazy", "dense"})],
    }

    def __init__(
        self,
        loss="squared_error",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=0.1,
        random_state=None,
        learning_rate="invscaling",
        eta0=0.01,
        power_t=0.25,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        warm_start=False,
        average=False,
        optimizer="sgd",
        batch_size=1,
        clip_grad_norm=None,
        n_jobs=None,
        sparse_update="auto",
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.average = average
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.clip_grad_norm = clip_grad_norm
        self.n_jobs = n_jobs
        self.sparse_update = sparse_update

    # -- fitting ------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the linear model by (stochastic) gradient descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        coef_init : array-like of shape (n_features,) or (n_targets, n_features)
        intercept_init : array-like of shape (1,) or (n_targets,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : SGDRegressor
        """
        check_params(self)
        if self.warm_start and getattr(self, "coef_", None) is not None:
            if coef_init is None:
                coef_init = self.coef_
            if intercept_init is None:
                intercept_init = self.intercept_
        self._reset()
        self.t_ = 1.0
        self._partial_fit(X, y, self.max_iter, sample_weight, coef_init,
                          intercept_init, reset=True)
        if self.tol is not None and self.n_iter_ == self.max_iter:
            warnings.warn(
                "Maximum number of iteration reached before convergence. "
                "Consider increasing max_iter to improve the fit.",
                ConvergenceWarning, stacklevel=3)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing from the current state.

        The optimizer's state (moments, step count), the averaged weights and
        ``t_`` carry over between calls; ``fit`` resets them. As in
        scikit-learn, each call starts from ``eta0`` (the ``adaptive``
        schedule's reductions act within a ``fit``), and there is no
        stopping rule or early stopping.
        """
        first_call = not hasattr(self, "_theta")
        # every call: set_params may have changed the parameters since the last
        check_params(self, for_partial_fit=True)
        if first_call:
            self._reset()
        return self._partial_fit(X, y, 1, sample_weight, None, None,
                                 reset=first_call)

    def _reset(self):
        for name in ("_theta", "_avg", "_rule_state", "_step", "_optimal_init",
                     "_multi_output", "_rule_id",
                     "coef_", "intercept_", "t_", "n_iter_", "loss_curve_",
                     "validation_scores_"):
            if hasattr(self, name):
                delattr(self, name)

    def _partial_fit(self, X, y, max_iter, sample_weight, coef_init,
                     intercept_init, reset):
        X, y, sample_weight, multi_output = check_data(self, X, y, sample_weight, reset)
        if reset:
            self._multi_output = multi_output
        elif multi_output != self._multi_output or (
                multi_output and y.shape[1] != self._theta.shape[0]):
            raise ValueError(
                f"y has {y.shape[1] if multi_output else 1} target(s), the model was "
                f"fitted on {self._theta.shape[0]}")
        n_features, n_targets = X.shape[1], y.shape[1]
        if not hasattr(self, "_theta"):
            self._theta = start_point(coef_init, intercept_init, n_features, n_targets,
                                      multi_output)
            self._allocate_state(n_features, n_targets)
        elif self.average and self._avg.shape[0] == 0:
            # averaging switched on (set_params) between partial_fit calls
            self._avg = np.zeros((n_targets, n_features + 2))
        if not hasattr(self, "t_"):
            self.t_ = 1.0

        random_state = check_random_state(self.random_state)
        seed = int(random_state.randint(0, MAX_INT))
        if self.early_stopping:
            train_idx, val_idx = validation_split(y, sample_weight,
                                                  self.validation_fraction,
                                                  self.random_state)
        else:
            train_idx, val_idx = (np.arange(y.shape[0], dtype=np.int32),
                                  np.zeros(0, dtype=np.int32))
        plan = make_plan(self, sparse=sp.issparse(X))
        if self.learning_rate == "optimal" and not hasattr(self, "_optimal_init"):
            eta = search_optimal_eta0(plan, self._theta, X, y, sample_weight, train_idx,
                                      seed, self.alpha)
            self._optimal_init = optimal_t0(eta, self.alpha)
        if getattr(self, "_rule_id", plan.rule_params["rule"]) != plan.rule_params["rule"]:
            # the optimizer changed (set_params) between partial_fit calls: the
            # old rule's state means something else to the new one; start the
            # new rule fresh, as a new torch optimizer would
            self._rule_state = self._init_rule_state(self._rule_state.shape[1])
            self._step = 0.0
        self._rule_id = plan.rule_params["rule"]
        settings = plan.settings(t=self.t_, step=self._step, seed=seed,
                                 optimal_init=getattr(self, "_optimal_init", 0.0))
        q = np.zeros(n_targets * n_features if plan.plain else 0)
        self._train(kernel_X(X), y, sample_weight, train_idx, val_idx, q, settings, plan,
                    max_iter, reset)
        return self

    def _train(self, X, y, sample_weight, train_idx, val_idx, q, settings, plan,
               max_iter, reset):
        """Run the epochs of one call; on divergence, come back to the start
        (partial_fit) or to unfitted (fit) and raise."""
        # The kernel works in place; keep the start point to come back to if
        # this call diverges (a few vectors of n_features).
        backup = (self._theta.copy(), self._avg.copy(), self._rule_state.copy())
        try:
            ws = _kernels.Workspace(X, y, sample_weight, train_idx, val_idx, self._theta,
                                    self._avg, self._rule_state, q, settings,
                                    plan.rule_params)
        except MemoryError:
            self._undo(reset, backup)
            raise
        rule = StoppingRule(tol=self.tol, n_iter_no_change=min(self.n_iter_no_change, 2**62),
                            adaptive=self.learning_rate == "adaptive",
                            early_stopping=self.early_stopping,
                            reference=ws.divergence_reference(), verbose=self.verbose)
        try:
            outcome = run_epochs(ws, rule, max_iter, self._theta)
        except KeyboardInterrupt:
            self._record(ws, rule)
            raise KeyboardInterrupt(
                f"fit interrupted after epoch {ws.n_epochs}; the model holds the weights "
                "of that epoch (warm_start=True continues from them)") from None
        if outcome is Outcome.DIVERGED:
            self._undo(reset, backup)
            raise ValueError(
                f"SGD diverged at epoch {ws.n_epochs}: the weights overflowed or the "
                "training objective grew by orders of magnitude. Scale the data "
                "(e.g. StandardScaler) or lower the learning rate (eta0"
                + (", or the optimizer's lr" if isinstance(self.optimizer, Optimizer)
                   else "") + f"; it is {plan.lr!r}).")
        self._record(ws, rule)

    def _record(self, ws, rule):
        """The fitted attributes after the epochs ``ws`` ran under ``rule``."""
        curve = list(rule.loss_curve)
        if len(curve) < ws.n_epochs:      # interrupted between an epoch and its record
            curve.append(ws.last_objective)
        self.n_iter_ = ws.n_epochs
        self.loss_curve_ = curve
        if self.early_stopping:
            self.validation_scores_ = list(rule.validation_scores)
        self.t_ = ws.t
        self._step = ws.step
        self._publish()

    def _undo(self, reset, backup):
        if reset:     # fit: nothing was fitted
            self._reset()
            for name in ("n_features_in_", "feature_names_in_"):
                if hasattr(self, name):
                    delattr(self, name)
        else:         # partial_fit: back to the state before this call
            self._theta, self._avg, self._rule_state = backup

    def _allocate_state(self, n_features, n_targets):
        # averaged coef, intercept, and the number of iterates averaged
        self._avg = (np.zeros((n_targets, n_features + 2)) if self.average
                     else np.zeros((0, 0)))
        self._rule_state = self._init_rule_state(n_targets * (n_features + 1))
        self._step = 0.0

    def _init_rule_state(self, n_params):
        state = np.zeros((3, n_params))
        if isinstance(self.optimizer, Optimizer):
            # e.g. Adagrad's initial_accumulator_value
            state[:] = self.optimizer._init_state(n_params)
        return state

    def _publish(self):
        """Set coef_ / intercept_ from the kernel's state (averaged if on)."""
        theta = self._theta
        if self.average and self.average <= self.t_ - 1.0:
            theta = self._avg[:, :-1]
        self.coef_ = theta[:, :-1].copy() if self._multi_output else theta[0, :-1].copy()
        self.intercept_ = theta[:, -1].copy()

    # -- prediction -----------------------------------------------------------
    def predict(self, X):
        """Predict with the linear model: ``X @ coef_ + intercept_``."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        if self._multi_output:
            return np.asarray(X @ self.coef_.T) + self.intercept_
        return np.asarray(X @ self.coef_).ravel() + self.intercept_[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags
