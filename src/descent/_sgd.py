"""``descent.SGDRegressor``: scikit-learn's SGDRegressor on compiled kernels,
plus modern optimizers, mini-/full-batch modes, gradient clipping and a
per-epoch ``loss_curve_``."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.model_selection import ShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _kernels
from .optim import OPTIMIZER_NAMES, Optimizer, make_optimizer

__all__ = ["SGDRegressor"]


def _kernel_X(X):
    """X as the kernel takes it: the 2-D array, or CSR as (data, indices,
    indptr, n_features) with int32 indices (validate_data made it CSR)."""
    if not sp.issparse(X):
        return X
    if not X.has_canonical_format:
        # the kernels scatter rows by column index: duplicates must be summed
        # (as X @ w does), on a copy (the caller's X stays as it is)
        X = X.copy()
        X.check_format(full_check=True)   # ValueError for a malformed structure
        X.sum_duplicates()
    return (np.ascontiguousarray(X.data, dtype=np.float64),
            np.ascontiguousarray(X.indices, dtype=np.int32),
            np.ascontiguousarray(X.indptr, dtype=np.int32), X.shape[1])

MAX_INT = np.iinfo(np.int32).max
LOSSES = {
    "squared_error": _kernels.Loss.SQUARED_ERROR,
    "huber": _kernels.Loss.HUBER,
    "epsilon_insensitive": _kernels.Loss.EPSILON_INSENSITIVE,
    "squared_epsilon_insensitive": _kernels.Loss.SQUARED_EPSILON_INSENSITIVE,
}
PENALTIES = {
    None: _kernels.Penalty.NO_PENALTY,
    "l2": _kernels.Penalty.L2,
    "l1": _kernels.Penalty.L1,
    "elasticnet": _kernels.Penalty.ELASTICNET,
}
SCHEDULES = {
    "constant": _kernels.Schedule.CONSTANT,
    "optimal": _kernels.Schedule.OPTIMAL,
    "invscaling": _kernels.Schedule.INVSCALING,
    "adaptive": _kernels.Schedule.ADAPTIVE,
}
# scikit-learn's SPARSE_INTERCEPT_DECAY: with sparse X the per-sample path
# moves the intercept 100 times slower, since it is updated at every sample
# while a feature is only updated when present.
SPARSE_INTERCEPT_DECAY = 0.01
# Subsample and search bounds of the 'optimal' schedule's first step.
OPTIMAL_SUBSAMPLE = 1000
OPTIMAL_MAX_TRIALS = 60


class SGDRegressor(RegressorMixin, BaseEstimator):
    """Linear regression by stochastic gradient descent, on compiled kernels.

    A drop-in for :class:`sklearn.linear_model.SGDRegressor`: the parameters
    it shares have the same names, defaults and meaning (see scikit-learn's
    documentation), and the fitted attributes too. It adds:

    optimizer : str or descent.optim.Optimizer, default="sgd"
        ``"sgd"`` is scikit-learn's plain SGD. ``"momentum"`` and ``"nesterov"``
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
        and ``average`` is not available. On dense X a thread steps a
        private copy of the model (and of the rule's state) with the serial
        loop, 32 samples at a time, publishing its change after each chunk
        and restarting from all threads' (other threads' updates arrive up to
        a chunk late). On sparse X a step touches the row's coefficients of
        the shared model only, L2 is a shrink and L1 a proximal step, and the
        penalty is split over the rows (feature j's enters each step that
        touches it with weight n / n_j, n_j the rows containing j; features
        no row contains get the epoch's penalty afterwards); an update rule's
        state moves on the row's coordinates only, as with
        ``sparse_update="lazy"`` (``"dense"`` is refused). Mini-batch and
        full batch split each batch's gradient over the threads.
        ``n_jobs=1`` is bit-reproducible.
    sparse_update : {"auto", "lazy", "dense"}, default="auto"
        How per-sample steps (``batch_size=1``) of an ``optimizer`` other than
        ``"sgd"`` treat the coefficients a sparse row does not touch.
        ``"lazy"``: each step costs O(nnz of the row); a coefficient's skipped
        steps are brought up to date when a row next touches it. That is exact
        (the dense iterates) for SGD without momentum (any penalty), momentum
        and Nesterov without penalty at a ``"constant"`` or ``"adaptive"``
        learning rate, RMSprop without momentum and Adadelta without penalty,
        and Adagrad without an L2 part; for the others
        (Adam, AMSGrad, AdamW, and the rest with a penalty) an untouched
        coefficient's rule state stays frozen, as in torch's ``SparseAdam``,
        and its skipped penalty is applied at the next touch with its current
        step size: the same optimum, other iterates. ``"dense"``: every step
        updates every coefficient, O(n_features), the iterates of dense X.
        ``"auto"``: lazy, except with ``average`` (whose running mean reads
        every coefficient at every step anyway), which is dense. ``"lazy"``
        with ``average`` or ``batch_size != 1`` raises, and so does
        ``"dense"`` with Hogwild! threads (``n_jobs``). Dense X, mini-batches
        and full batch always update every coefficient; ``optimizer="sgd"``
        always runs scikit-learn's lazy sparse updates, which are exact.

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

    # -- parameter checks beyond the constraints ------------------------------
    def _more_validate_params(self, for_partial_fit=False):
        if self.early_stopping and for_partial_fit:
            raise ValueError("early_stopping should be False with partial_fit")
        if self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError(
                "alpha must be > 0 since learning_rate is 'optimal'. alpha is "
                "used to compute the optimal learning rate.")
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")
        if self.learning_rate == "optimal" and not (
                self.optimizer == "sgd" and self.batch_size == 1):
            raise ValueError(
                "learning_rate='optimal' is Bottou's per-sample SGD schedule: it "
                "needs optimizer='sgd' and batch_size=1; use 'constant', "
                "'invscaling' or 'adaptive' with optimizer="
                f"{self.optimizer!r}, batch_size={self.batch_size!r}")
        if self.average and self._hogwild():
            raise ValueError(
                "average is not supported with n_jobs > 1 and batch_size=1 (lock-free "
                "Hogwild! updates): use n_jobs=1, or batch_size > 1 / None")
        if self.sparse_update == "lazy" and (self.average or self.batch_size != 1):
            raise ValueError(
                "sparse_update='lazy' is for per-sample steps without averaging "
                f"(got batch_size={self.batch_size!r}, average={self.average!r}): "
                "mini-batches and the running average touch every coefficient at "
                "every step; use sparse_update='auto' or 'dense'")
        if self.clip_grad_norm is not None and self.clip_grad_norm < 1e-300:
            raise ValueError(
                f"clip_grad_norm={self.clip_grad_norm!r} is below 1e-300; the kernels "
                "flush denormal numbers to zero, so use 1e-300 or more")
        if isinstance(self.optimizer, Optimizer):
            if self.eta0 != 0.01:
                raise ValueError(
                    "eta0 is not used when optimizer is a descent.optim instance: "
                    "set the learning rate as the optimizer's lr and leave eta0 "
                    "at its default 0.01")
            if self.optimizer.weight_decay != 0:
                raise ValueError(
                    f"optimizer.weight_decay={self.optimizer.weight_decay!r} would "
                    "regularise on top of penalty/alpha: set it to 0 and use "
                    "penalty='l2' with alpha (for AdamW the L2 part of the penalty "
                    "is applied as decoupled weight decay)")
            self.optimizer._validate()

    def _n_threads(self):
        """Threads for the kernels: joblib's count of n_jobs (None is 1)."""
        if self.n_jobs == 0:
            raise ValueError("n_jobs == 0 has no meaning; use None or 1 for one "
                             "thread, -1 for all cores")
        # more threads than OpenMP has cores would only oversubscribe
        n_threads = min(effective_n_jobs(self.n_jobs), max(1, _kernels.max_threads()))
        if effective_n_jobs(self.n_jobs) > 1 and not _kernels.OPENMP:
            warnings.warn(
                f"n_jobs={self.n_jobs!r}: this build of descent has no OpenMP, so "
                "it runs on one thread (descent.show_config())", UserWarning, stacklevel=5)
            return 1
        return n_threads

    def _hogwild(self):
        """Whether per-sample training would run as lock-free Hogwild! threads
        (judged on the request, so that every build refuses the same things)."""
        return (self.batch_size == 1 and self.n_jobs not in (None, 1)
                and effective_n_jobs(self.n_jobs) > 1)

    def _uses_plain_path(self):
        return self.optimizer == "sgd" and self.batch_size == 1

    def _rule_and_lr(self):
        """(RuleParams dict, base learning rate) of the chosen optimizer."""
        if self._uses_plain_path():
            return make_optimizer("sgd", self.eta0)._kernel_params(), self.eta0
        opt = (self.optimizer if isinstance(self.optimizer, Optimizer)
               else make_optimizer(self.optimizer, self.eta0))
        return opt._kernel_params(), float(opt.lr)

    def _init_rule_state(self, n_params):
        state = np.zeros((3, n_params))
        if isinstance(self.optimizer, Optimizer):
            # e.g. Adagrad's initial_accumulator_value
            state[:] = self.optimizer._init_state(n_params)
        return state

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
        self._more_validate_params()
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
        self._more_validate_params(for_partial_fit=True)
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
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float64,
                             order="C", copy=False, y_numeric=True, multi_output=True,
                             accept_large_sparse=False, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            # scikit-learn's SGDRegressor takes a column vector as 1-D y
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please "
                "change the shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning, stacklevel=3)
            y = y[:, 0]
        multi_output = y.ndim == 2
        if reset:
            self._multi_output = multi_output
        elif multi_output != self._multi_output or (
                multi_output and y.shape[1] != self._theta.shape[0]):
            raise ValueError(
                f"y has {y.shape[1] if multi_output else 1} target(s), the model was "
                f"fitted on {self._theta.shape[0]}")
        if sp.issparse(X) and self._hogwild() and self.sparse_update == "dense":
            raise ValueError(
                "sparse_update='dense' with n_jobs > 1 and batch_size=1: Hogwild! "
                "threads on sparse rows update the rows' coefficients only; use "
                "sparse_update='auto', or n_jobs=None for dense updates")
        y = np.ascontiguousarray(y.reshape(y.shape[0], -1), dtype=np.float64)  # (n, K)
        n_features = X.shape[1]
        n_targets = y.shape[1]
        self._sparse_fit = sp.issparse(X)
        if sample_weight is not None:     # None stays None: the kernel reads 1
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                                 ensure_non_negative=True)
            sample_weight = np.ascontiguousarray(sample_weight)
            if not np.isfinite(sample_weight).all():
                raise ValueError("sample_weight contains NaN or infinity")

        if not hasattr(self, "_theta"):
            self._allocate(n_features, n_targets, coef_init, intercept_init)
        elif self.average and self._avg.shape[0] == 0:
            # averaging switched on (set_params) between partial_fit calls
            self._avg = np.zeros((n_targets, n_features + 2))
        if not hasattr(self, "t_"):
            self.t_ = 1.0

        random_state = check_random_state(self.random_state)
        seed = int(random_state.randint(0, MAX_INT))
        train_idx, val_idx = self._split(y, sample_weight)

        if self.learning_rate == "optimal" and not hasattr(self, "_optimal_init"):
            eta = self._search_optimal_eta0(X, y, sample_weight, train_idx, seed)
            self._optimal_init = self._optimal_t0(eta)

        rule, lr = self._rule_and_lr()
        if getattr(self, "_rule_id", rule["rule"]) != rule["rule"]:
            # the optimizer changed (set_params) between partial_fit calls: the
            # old rule's state means something else to the new one; start the
            # new rule fresh, as a new torch optimizer would
            self._rule_state = self._init_rule_state(self._rule_state.shape[1])
            self._step = 0.0
        self._rule_id = rule["rule"]
        settings = self._settings(max_iter, seed, lr, n_threads=self._n_threads())
        # The kernel works in place; keep the start point to come back to if
        # this call diverges (a few vectors of n_features).
        backup = (self._theta.copy(), self._avg.copy(), self._rule_state.copy())
        result = _kernels.fit(
            _kernel_X(X), y, sample_weight, train_idx, val_idx, self._theta, self._avg,
            self._rule_state,
            np.zeros(n_targets * n_features if self._uses_plain_path() else 0),
            settings, rule)

        n_iter = result["n_iter"]
        if result["status"] in (_kernels.Status.DIVERGED, _kernels.Status.OUT_OF_MEMORY):
            if reset:     # fit: nothing was fitted
                self._reset()
                for name in ("n_features_in_", "feature_names_in_"):
                    if hasattr(self, name):
                        delattr(self, name)
            else:         # partial_fit: back to the state before this call
                self._theta, self._avg, self._rule_state = backup
            if result["status"] == _kernels.Status.OUT_OF_MEMORY:
                raise MemoryError("descent could not allocate its work buffers")
            raise ValueError(
                f"SGD diverged at epoch {n_iter}: the weights overflowed or the "
                "training objective grew by orders of magnitude. Scale the data "
                "(e.g. StandardScaler) or lower the learning rate (eta0"
                + (", or the optimizer's lr" if isinstance(self.optimizer, Optimizer)
                   else "") + f"; it is {lr!r}).")
        self.n_iter_ = n_iter
        self.loss_curve_ = result["loss_curve"]
        if self.early_stopping:
            self.validation_scores_ = result["validation_scores"]
        self.t_ = result["t"]
        self._step = result["step"]
        self._publish()
        if result["status"] == _kernels.Status.INTERRUPTED:
            raise KeyboardInterrupt(
                f"fit interrupted after epoch {n_iter}; the model holds the weights "
                "of that epoch (warm_start=True continues from them)")
        return self

    def _allocate(self, n_features, n_targets, coef_init, intercept_init):
        # theta: (n_targets, n_features + 1), each row a target's coef and intercept
        theta = np.zeros((n_targets, n_features + 1))
        coef_shape = (n_targets, n_features) if self._multi_output else (n_features,)
        for name, value in (("coef_init", coef_init), ("intercept_init", intercept_init)):
            if value is not None and np.iscomplexobj(value):
                raise ValueError(f"{name} must be real, got complex values")
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=np.float64)
            if not self._multi_output:
                coef_init = coef_init.ravel()
            if coef_init.shape != coef_shape:
                raise ValueError(
                    f"Provided coef_init does not match dataset: shape "
                    f"{coef_init.shape}, expected {coef_shape}.")
            if not np.isfinite(coef_init).all():
                raise ValueError("coef_init contains NaN or infinity")
            theta[:, :-1] = coef_init
        if intercept_init is not None:
            intercept_init = np.asarray(intercept_init, dtype=np.float64).reshape(-1)
            if intercept_init.shape != (n_targets,):
                raise ValueError(
                    "Provided intercept_init does not match dataset: shape "
                    f"{intercept_init.shape}, expected ({n_targets},).")
            if not np.isfinite(intercept_init).all():
                raise ValueError("intercept_init contains NaN or infinity")
            theta[:, -1] = intercept_init
        self._theta = theta
        # averaged coef, intercept, and the number of iterates averaged
        self._avg = (np.zeros((n_targets, n_features + 2)) if self.average
                     else np.zeros((0, 0)))
        self._rule_state = self._init_rule_state(n_targets * (n_features + 1))
        self._step = 0.0

    def _split(self, y, sample_weight):
        n = y.shape[0]
        if n > np.iinfo(np.int32).max:
            raise ValueError(
                f"{n} samples in one call: fit and partial_fit take at most 2**31 - 1 "
                "rows at a time; stream larger data through partial_fit in chunks")
        if not self.early_stopping:
            return np.arange(n, dtype=np.int32), np.zeros(0, dtype=np.int32)
        cv = ShuffleSplit(test_size=self.validation_fraction,
                          random_state=self.random_state)
        train_idx, val_idx = next(cv.split(np.zeros((n, 1)), y))
        if train_idx.shape[0] == 0 or val_idx.shape[0] == 0:
            raise ValueError(
                f"Splitting {n} samples into a train set and a validation set with "
                f"validation_fraction={self.validation_fraction!r} led to an empty "
                f"set ({train_idx.shape[0]} and {val_idx.shape[0]} samples). Please "
                "either change validation_fraction, increase number of samples, or "
                "disable early_stopping.")
        if sample_weight is not None and not np.any(sample_weight[val_idx] > 0):
            raise ValueError(
                "The sample weights for validation set are all zero, consider "
                "using a different random state.")
        return (np.ascontiguousarray(train_idx, dtype=np.int32),
                np.ascontiguousarray(val_idx, dtype=np.int32))

    def _settings(self, max_iter, seed, lr, **overrides):
        penalty = PENALTIES[self.penalty]
        settings = dict(
            loss=int(LOSSES[self.loss]),
            epsilon=float(self.epsilon),
            penalty=int(penalty),
            alpha=float(self.alpha),
            l1_ratio=float(self.l1_ratio if self.l1_ratio is not None else 0.0),
            fit_intercept=bool(self.fit_intercept),
            intercept_decay=(SPARSE_INTERCEPT_DECAY
                             if self._sparse_fit and self._uses_plain_path() else 1.0),
            schedule=int(SCHEDULES[self.learning_rate]),
            eta0=float(lr),
            power_t=float(self.power_t),
            optimal_init=float(getattr(self, "_optimal_init", 0.0)),
            average_start=float(self.average) if self.average else 0.0,
            # beyond 2**62 is the same as "never": keep it in the C struct's range
            max_iter=min(int(max_iter), 2**62),
            tol=float(self.tol) if self.tol is not None else -np.inf,
            n_iter_no_change=min(int(self.n_iter_no_change), 2**62),
            early_stopping=bool(self.early_stopping),
            # The full-batch gradient does not depend on the order: rows are
            # read in storage order whatever shuffle says.
            shuffle=bool(self.shuffle) and self.batch_size is not None,
            seed=seed,
            batch_size=0 if self.batch_size is None else min(int(self.batch_size), 2**62),
            plain=self._uses_plain_path(),
            lazy=(self._sparse_fit and not self._uses_plain_path()
                  and self.batch_size == 1 and not self.average
                  and self.sparse_update != "dense"),
            clip_norm=float(self.clip_grad_norm or 0.0),
            t=float(self.t_),
            step=float(self._step),
            n_threads=1,
            verbose=1 if self.verbose else 0,
        )
        settings.update(overrides)
        return settings

    def _optimal_t0(self, eta):
        """t0 of the 'optimal' schedule 1 / (alpha (t0 + t - 1)) whose first
        step is eta."""
        t0 = 1.0 / (eta * self.alpha) if eta * self.alpha > 0 else np.inf
        if not np.isfinite(t0):
            raise ValueError(
                f"alpha={self.alpha!r} is too small for learning_rate='optimal' (its "
                "steps 1 / (alpha t) overflow): use a larger alpha or another schedule")
        return t0

    def _search_optimal_eta0(self, X, y, sample_weight, train_idx, seed):
        """Bottou's sgd-2 ``determineEta0``: the first step of the 'optimal'
        schedule is the eta, among powers of 2 from 1, after which one pass
        over a subsample gives the lowest objective."""
        rng = np.random.RandomState(seed)
        size = min(OPTIMAL_SUBSAMPLE, train_idx.shape[0])
        sub = np.sort(rng.choice(train_idx, size=size, replace=False))
        Xs, ys = X[sub], y[sub]
        sws = None if sample_weight is None else sample_weight[sub]
        idx = np.arange(size, dtype=np.int32)
        d = X.shape[1]

        def cost(eta):
            theta = self._theta.copy()
            K = theta.shape[0]
            settings = self._settings(
                1, seed, eta, optimal_init=self._optimal_t0(eta), t=1.0,
                step=0.0, average_start=0.0, verbose=0, tol=-np.inf,
                early_stopping=False)
            result = _kernels.fit(
                _kernel_X(Xs), ys, sws, idx.copy(), idx[:0], theta, np.zeros((0, 0)),
                np.zeros((3, K * (d + 1))), np.zeros(K * d),
                settings, make_optimizer("sgd", eta)._kernel_params())
            if result["status"] == _kernels.Status.DIVERGED:
                return np.inf
            pred = np.asarray(Xs @ theta[:, :-1].T) + theta[:, -1]
            losses = _kernels.loss(settings["loss"], ys.ravel(), pred.ravel(),
                                   self.epsilon).reshape(ys.shape)
            per_sample = losses.sum(axis=1)
            value = ((per_sample.sum() if sws is None else np.dot(sws, per_sample)) / size
                     + sum(_kernels.penalty(settings["penalty"], w, self.alpha,
                                            settings["l1_ratio"]) for w in theta[:, :-1]))
            return value if np.isfinite(value) else np.inf

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
