"""``descent.SGDRegressor``: scikit-learn's SGDRegressor on compiled kernels,
plus modern optimizers, mini-/full-batch modes, gradient clipping and a
per-epoch ``loss_curve_``."""

from __future__ import annotations

import warnings

from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions

from ._base import BaseSGD
from ._losses import LOSSES, REGRESSION_LOSSES, LossTable
from ._scaling import LOSS_POWER, TargetScaling, choose_scaling

__all__ = ["SGDRegressor"]


class SGDRegressor(RegressorMixin, BaseSGD):
    """Linear regression by stochastic gradient descent, on compiled kernels.

    A drop-in for :class:`sklearn.linear_model.SGDRegressor`: the parameters
    it shares have the same names and meaning (see scikit-learn's
    documentation), and the fitted attributes too. ``optimizer="sgd"`` with
    ``batch_size=1`` and the defaults is scikit-learn's algorithm, update for
    update. It adds:

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
        instance to set them (its ``weight_decay`` must be 0: regularisation is
        ``penalty`` and ``alpha``). An instance's ``lr`` is used unless
        ``eta0`` is given explicitly (not ``"auto"``), which then overrides it:
        a grid over named and instance optimizers with ``eta0`` values sets
        every candidate's step. The update rules fit the targets standardized
        (``y - mean`` over its standard deviation, per target where that is
        exact) and map the model back exactly, penalty and ``epsilon`` rewritten
        (``descent._scaling``): their steps and ``clip_grad_norm`` are in units
        of standardized targets, so targets of any scale and offset fit
        (``scale_targets``).
    eta0 : float or "auto", default="auto"
        The initial learning rate. ``"auto"`` takes the default of the
        optimizer and batch mode (the README's table): scikit-learn's 0.01 for
        per-sample ``"sgd"``, ``1 / L`` (L estimated from the data) for
        full-batch SGD with or without momentum, a step that works for each
        adaptive rule.
    learning_rate : {"auto", "constant", "optimal", "invscaling", "adaptive"} or \
descent.schedules schedule, default="auto"
        The schedule: ``"constant"`` keeps the step, ``"invscaling"`` uses
        ``eta0 / t ** power_t`` with ``t`` the update count, ``"adaptive"``
        divides it by 5 on plateaus, ``"optimal"`` (per-sample ``"sgd"`` only)
        is ``1 / (alpha (t0 + t - 1))``. ``"auto"``: scikit-learn's
        ``"invscaling"`` for per-sample ``"sgd"``; the table's otherwise.
        A :mod:`descent.schedules` object (e.g. ``CosineAnnealingLR(T_max=20)``)
        gives the steps from ``eta0``, its base rate, as torch's scheduler
        would: with ``unit="update"`` every update's step, counted from the
        first update since ``fit`` (``partial_fit`` goes on counting); with
        ``unit="epoch"`` one step per epoch, counted from ``fit``.
        ``ReduceLROnPlateau`` reads the epoch's training objective
        (``mode="min"``), or with ``early_stopping`` the validation loss
        (``"min"``) or score (``"max"``); the stopping rule (``tol``,
        ``n_iter_no_change``) still applies. The object itself is never
        stepped (a copy runs), so ``clone`` and grid searches over
        ``learning_rate__<param>`` work. ``ValueError`` for a schedule that
        ends before ``max_iter`` epochs (OneCycleLR's ``total_steps``),
        ``OneCycleLR(cycle_momentum=True)`` (only the learning rate is
        scheduled) and ``ReduceLROnPlateau(mode="max")`` without early
        stopping.
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
    scale_targets : {"auto", True, False}, default="auto"
        Fit the standardized targets and map the model back exactly (the same
        optimum; other iterates). ``"auto"``: for the update rules, not for
        per-sample ``"sgd"`` (scikit-learn's iterates); ``True``: always;
        ``False``: never (the update rules' iterates are then torch's for the
        targets as given, and adaptive rules move each weight by about ``lr``
        per step whatever the targets' unit).
    restore_best_weights : bool, default=False
        With ``early_stopping``, end with the model of the epoch with the best
        validation score (``best_epoch_``) instead of the last epoch's
        (scikit-learn's behaviour, the default).

    Fitted attributes beyond scikit-learn's: ``loss_curve_``, the training
    objective (mean weighted loss plus penalty) of each epoch, appended to by
    ``partial_fit``; with early stopping ``validation_scores_`` (R^2 on the
    validation split) and ``validation_loss_curve_`` (the mean weighted loss
    there), and ``best_epoch_`` with ``restore_best_weights``.

    Differences from scikit-learn, on purpose:

    - Stopping: when scikit-learn's rule (no improvement by ``tol`` over
      ``n_iter_no_change`` epochs) wants to stop, descent checks that one
      exact gradient step could not lower the objective by more than ``tol``
      (in units of standardized targets); if it could, training goes on, and
      the ``ConvergenceWarning`` at ``max_iter`` names that remaining decrease.
    - ``learning_rate="optimal"`` uses ``eta = 1 / (alpha (t0 + t - 1))`` as
      scikit-learn does, but picks the first step ``1 / (alpha t0)`` the way
      Bottou's sgd-2 does: try it on a random subsample of up to 1000 training
      samples, doubling or halving from 1 while the objective after one pass
      improves. scikit-learn's heuristic gives ``alpha ** -0.25`` for
      regression (10 for ``alpha=1e-4``), which diverges on standardized data.
    - Divergence (non-finite weights, or an objective 10^4 times the start
      point's, after an epoch or at the end of a call) raises ``ValueError``
      naming the epoch, instead of returning huge finite coefficients.
    - The per-epoch objective weights each loss by its ``sample_weight``.
    - ``learning_rate`` ``"pa1"``/``"pa2"`` (passive-aggressive) are not
      supported.

    With scikit-learn >= 1.9, ``set_callbacks`` takes its callbacks
    (``sklearn.callback.ProgressBar``, ``ScoringMonitor``, ...): a ``fit`` is
    a task of up to ``max_iter`` epoch subtasks (``partial_fit`` of one),
    whose ``fitted_estimator`` holds each epoch's model; a callback whose
    ``on_fit_task_end`` returns True stops the epochs (no
    ``ConvergenceWarning``).
    """

    _parameter_constraints: dict = {
        **BaseSGD._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
        "scale_targets": [StrOptions({"auto"}), "boolean"],
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
        learning_rate="auto",
        eta0="auto",
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
        scale_targets="auto",
        restore_best_weights=False,
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
        self.scale_targets = scale_targets
        self.restore_best_weights = restore_best_weights

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
        if self.power_t < 0:
            warnings.warn(
                "Negative values for `power_t` are deprecated in version 1.8 "
                "and will raise an error in 1.10. "
                "Use values in the range [0.0, inf) instead.", FutureWarning, stacklevel=3)
        return self._fit(X, y, coef_init, intercept_init, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing from the current model.

        The model is ``coef_`` / ``intercept_`` (assigned ones are honoured);
        the optimizer's state (moments, step count), the cumulative L1
        penalty, the averaged weights and ``t_`` carry over between calls, so
        the same rows in one call or in chunks give the same model (with
        ``shuffle=False``). ``fit`` resets them. As in scikit-learn, each call
        starts from ``eta0`` (the ``adaptive`` schedule's reductions act within
        a ``fit``), and there is no stopping rule; ``loss_curve_`` grows by the
        call's epoch.
        """
        return self._partial_fit(X, y, sample_weight)

    def predict(self, X):
        """Predict with the linear model: ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        return self._decision(X)

    loss_functions = LossTable({name: LOSSES[name] for name in REGRESSION_LOSSES})

    def _choose_scaling(self, y, sample_weight, plan):
        if self.scale_targets is False or (self.scale_targets == "auto" and plan.plain):
            # the targets as they are (per-sample "sgd": scikit-learn's algorithm)
            return TargetScaling.identity(y.shape[1], LOSS_POWER[self.loss])
        return choose_scaling(y, sample_weight, loss=self.loss, penalty=self.penalty,
                              fit_intercept=self.fit_intercept)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags
