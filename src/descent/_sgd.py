"""``descent.SGDRegressor``: scikit-learn's SGDRegressor on compiled kernels,
plus modern optimizers, mini-/full-batch modes, gradient clipping and a
per-epoch ``loss_curve_``."""

from __future__ import annotations

from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions

from ._base import BaseSGD
from ._losses import LOSSES, REGRESSION_LOSSES, LossTable
from ._scaling import LOSS_POWER, TargetScaling, choose_scaling

__all__ = ["SGDRegressor"]


class SGDRegressor(RegressorMixin, BaseSGD):
    """Linear regression trained by stochastic gradient descent, on compiled kernels.

    A drop-in for :class:`sklearn.linear_model.SGDRegressor`: the same
    parameters, defaults and fitted attributes where they overlap, and with
    ``optimizer="sgd"``, ``batch_size=1`` and ``shuffle=False`` scikit-learn's
    results, update for update. Beyond it: every update rule of
    :mod:`descent.optim` (momentum, Nesterov, AdaGrad, RMSprop, Adadelta,
    Adam, AMSGrad, AdamW), mini-batch and full-batch steps, gradient clipping,
    lazy steps on sparse rows, lock-free threads, several targets at once, a
    stopping rule that checks how far the model is from the optimum, and a
    per-epoch ``loss_curve_``.

    The objective minimised is the mean over the samples of
    ``sample_weight * loss(prediction - target)``, summed over the targets,
    plus ``alpha`` times the penalty of the coefficients (the intercept is
    not penalised).

    Parameters
    ----------
    loss : {"squared_error", "huber", "epsilon_insensitive", \
"squared_epsilon_insensitive"}, default="squared_error"
        The loss of a sample, a function of its residual ``r = prediction -
        target``: ``"squared_error"`` ``r**2 / 2`` (least squares; with
        ``penalty="l2"`` the optimum is ridge regression's);
        ``"huber"`` ``r**2 / 2`` for ``|r| <= epsilon``, ``epsilon * |r| -
        epsilon**2 / 2`` beyond (robust to outliers); ``"epsilon_insensitive"``
        ``max(0, |r| - epsilon)`` (linear support vector regression);
        ``"squared_epsilon_insensitive"`` ``max(0, |r| - epsilon)**2``.
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        The regularisation of the coefficients: ``"l2"`` is
        ``|w|**2 / 2``, ``"l1"`` is ``|w|_1`` (exact zeros), ``"elasticnet"``
        is ``l1_ratio * |w|_1 + (1 - l1_ratio) * |w|**2 / 2``; None for
        none. Per-sample ``"sgd"`` applies them as scikit-learn does (L2 as a
        scale of the weights, L1 by Tsuruoka et al.'s cumulative penalty);
        the update rules add the L2 part to the gradient and take the L1 part
        as a proximal (soft-threshold) step.
    alpha : float, default=0.0001
        The multiplier of the penalty, >= 0, in units of the loss per unit of
        penalty. Must be > 0 with ``learning_rate="optimal"``, whose steps are
        ``1 / (alpha (t0 + t - 1))``.
    l1_ratio : float or None, default=0.15
        The L1 share of the elastic net, in [0, 1] (0: L2 only, 1: L1 only);
        used with ``penalty="elasticnet"`` only, where None raises
        ``ValueError``.
    fit_intercept : bool, default=True
        Fit an intercept (per target); False keeps it at 0 (for centred data).
    max_iter : int, default=1000
        The largest number of epochs (passes over the training rows) of
        ``fit``, >= 1. ``partial_fit`` runs one epoch whatever it is.
    tol : float or None, default=1e-3
        The stopping tolerance, >= 0. ``fit`` stops once the training
        objective (with ``early_stopping``, the validation score) has not
        improved by ``tol`` for ``n_iter_no_change`` epochs in a row and one
        exact gradient step could not lower the objective by more than
        ``tol`` either (see Notes). Per-sample ``"sgd"`` measures the
        improvement in the units of the objective (squared target units for
        the squared losses), as scikit-learn does; the other optimizers, and
        the second check always, in units of the objective of standardized
        targets, scaled down where the objective is small there (a nearly
        absolute loss; off per-sample ``"sgd"``, a nearly exact fit: see the
        user guide's stopping page). None: run ``max_iter`` epochs, with no
        ``ConvergenceWarning`` (but for a full-batch fit worse than the zero
        model: see Warns).
    shuffle : bool, default=True
        Shuffle the training rows before each epoch (seeded by
        ``random_state``). No effect with ``batch_size=None``: a full-batch
        gradient does not depend on the order.
    verbose : int, default=0
        0 prints nothing; 1 or more prints scikit-learn's lines after each
        epoch (norm of the weights, non-zeros, bias, ``t_``, the epoch's
        objective), with the step size, and when training stops.
    epsilon : float, default=0.1
        The threshold of ``"huber"`` and the width of the insensitive zone of
        ``"epsilon_insensitive"`` and ``"squared_epsilon_insensitive"``, in
        the units of the targets; >= 0. Unused by ``"squared_error"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling, the early-stopping split and the subsample of
        the ``"optimal"`` schedule's first-step search; an int gives
        reproducible fits (with ``n_jobs`` 1, or ``batch_size`` other than
        1). None draws from NumPy's global generator.
    learning_rate : {"auto", "constant", "optimal", "invscaling", \
"adaptive"} or descent.schedules schedule, default="auto"
        The schedule of the step size: ``"constant"`` keeps ``eta0``;
        ``"invscaling"`` is ``eta0 / t ** power_t`` with ``t`` the update
        count; ``"adaptive"`` keeps ``eta0`` and divides the step by 5 each
        time the stopping rule fires (``n_iter_no_change`` epochs without
        improvement by ``tol``), until it is below 1e-6; ``"optimal"`` is
        ``1 / (alpha (t0 + t - 1))`` (per-sample ``"sgd"`` only), its first
        step ``1 / (alpha t0)`` searched on up to 1000 training rows as
        Bottou's sgd-2 does. ``"auto"``: the default of the optimizer and
        batch mode (the defaults table in the user guide): scikit-learn's
        ``"invscaling"`` for per-sample ``"sgd"``, ``"constant"`` for full
        batch, mostly ``"adaptive"`` otherwise.
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
    eta0 : float or "auto", default="auto"
        The initial step size (the optimizer's learning rate), > 0, in the
        units of the coefficients per unit of gradient (of the standardized
        targets' objective for the update rules, see ``scale_targets``).
        ``"auto"``: the default of the optimizer and batch mode:
        scikit-learn's 0.01 for per-sample ``"sgd"``, ``1 / L`` for
        full-batch ``"sgd"`` (``L`` the curvature of the objective, estimated
        from X), and for the other optimizers a step estimated from X (its
        rows' norms or ``L``) that works for each; an optimizer instance's own
        ``lr``. Unused by ``"optimal"``.
    power_t : float, default=0.25
        The exponent of ``"invscaling"``. Negative values are deprecated
        (``FutureWarning``), as in scikit-learn.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (a random split, seeded by
        ``random_state``) and stop when the validation score (R², weighted by
        ``sample_weight``) has not improved by ``tol`` for
        ``n_iter_no_change`` epochs. Not with ``partial_fit``
        (``ValueError``).
    validation_fraction : float, default=0.1
        The share of the rows held out by ``early_stopping``, in (0, 1).
    n_iter_no_change : int, default=5
        Epochs without improvement by ``tol`` before the stopping rule fires,
        >= 1.
    warm_start : bool, default=False
        ``fit`` starts from the previous fit's ``coef_`` and ``intercept_``
        (unless ``coef_init`` / ``intercept_init`` are given); the optimizer's
        state, the schedule and ``t_`` start afresh. False: each ``fit``
        starts afresh, from zero coefficients.
    average : bool or int, default=False
        Averaged SGD: publish the running mean of the iterates as
        ``coef_`` / ``intercept_`` (training goes on from the iterates).
        True averages from the first update; an int ``k`` > 0 once ``k``
        samples have been seen. Not with ``n_jobs > 1`` and ``batch_size=1``.
    optimizer : str or descent.optim.Optimizer, default="sgd"
        The update rule. ``"sgd"`` with ``batch_size=1`` is scikit-learn's
        per-sample SGD, exactly (L2 as a scale of the weights, L1 by
        Tsuruoka et al.'s cumulative penalty, scikit-learn's slower intercept
        updates on sparse X); with mini-batches or full batch it is torch's
        SGD rule. ``"momentum"`` and ``"nesterov"`` (momentum 0.9),
        ``"adagrad"``, ``"rmsprop"``, ``"adadelta"``, ``"adam"``, ``"amsgrad"``
        and ``"adamw"`` are torch.optim's rules with their default
        hyper-parameters and ``lr = eta0``. A :mod:`descent.optim` instance
        sets the hyper-parameters (``Adam(betas=(0.8, 0.99))``); it is read,
        never stepped. Its ``weight_decay`` must be 0 (regularise with
        ``penalty`` and ``alpha``), and its ``lr`` is the step unless
        ``eta0`` is given (then ``eta0`` wins, so a grid over ``eta0`` covers
        named and instance optimizers alike). An instance of
        ``descent.optim.SGD`` is always torch's rule, not scikit-learn's.
    batch_size : int or None, default=1
        Samples per update: 1 for per-sample steps; ``k`` > 1 for the mean
        gradient of ``k`` samples per update (the last batch of an epoch may
        be smaller); None for full-batch gradient descent, one step on the
        exact gradient per epoch.
    clip_grad_norm : float or None, default=None
        Clip each update's data gradient (coefficients and intercepts of all
        targets jointly, before the penalty) to this L2 norm, >= 1e-300, as
        ``torch.nn.utils.clip_grad_norm_``: a gradient of norm ``g`` above it
        is multiplied by ``clip_grad_norm / (g + 1e-6)``. In the units of the
        standardized targets' gradient, whatever the optimizer (with a clip,
        ``scale_targets="auto"`` standardizes the targets of per-sample
        ``"sgd"`` too; with ``scale_targets=False``, in those of y). None: no
        clipping.
    n_jobs : int or None, default=None
        Threads, counted as joblib does (None: 1, -1: all cores; 0 raises).
        With ``batch_size=1`` the threads run lock-free Hogwild! SGD (Niu et
        al. 2011) over the shuffled samples: results then vary from run to
        run, and ``average`` is not available. On dense X a thread steps a
        private copy of the model (and of the rule's state) for 32 samples at
        a time and publishes its change; on sparse X a step touches the row's
        coefficients of the shared model only, and the penalty is split over
        the rows (``sparse_update="dense"`` is refused). Mini-batch and full
        batch split each batch's gradient over the threads. A build without
        OpenMP runs one thread, with a ``UserWarning``
        (:func:`descent.show_config`). ``n_jobs=1`` is bit-reproducible.
    sparse_update : {"auto", "lazy", "dense"}, default="auto"
        How per-sample steps (``batch_size=1``) of an optimizer other than
        ``"sgd"`` treat the coefficients a sparse row does not touch.
        ``"lazy"``: each step costs O(nnz of the row); a coefficient's skipped
        steps are brought up to date when a row next touches it (and at the
        end of each epoch), exactly (the dense iterates) for some rules and
        penalties, with torch's ``SparseAdam`` semantics (frozen state; the
        same optimum, other iterates) for the others (the user guide's page
        on sparse data has the table). ``"dense"``: every step updates every
        coefficient, O(n_features), the iterates of dense X. ``"auto"``:
        lazy, except with ``average`` (whose running mean reads every
        coefficient at every step anyway), which is dense. ``"lazy"`` with
        ``average`` or ``batch_size != 1`` raises ``ValueError``, and so does
        ``"dense"`` with Hogwild! threads on sparse X. Dense X, mini-batches
        and full batch always update every coefficient; ``optimizer="sgd"``
        always runs scikit-learn's lazy sparse updates, which are exact.
    scale_targets : {"auto", True, False}, default="auto"
        Fit the standardized targets (``(y - mean) / std``, per target where
        that is exact) and map the model back exactly, the penalty and
        ``epsilon`` rewritten: the same optimum, other iterates, and steps in
        units of standardized targets, so that targets of any scale and
        offset fit with the same ``eta0``. ``"auto"``: for the update rules,
        and for per-sample ``"sgd"`` only with ``clip_grad_norm`` (its clip
        then has one unit; without it, scikit-learn's iterates); True: always;
        False: never (the update rules' iterates are then torch's for the
        targets as given, and adaptive rules move each weight by about
        ``eta0`` per step whatever the targets' unit).
    restore_best_weights : bool, default=False
        With ``early_stopping``, end with the model of the epoch with the best
        validation score (``best_epoch_``) instead of the last epoch's
        (scikit-learn's behaviour, the default). True needs
        ``early_stopping=True`` (``ValueError`` otherwise).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        The coefficients; 2-D for a 2-D ``y`` (several targets). float32 when
        X was float32 (dense or sparse), else float64; the training itself
        runs in float64. A ``scipy.sparse`` CSR matrix of shape (1,
        n_features) or (n_targets, n_features) after :meth:`sparsify`.
    intercept_ : ndarray of shape (1,) or (n_targets,)
        The intercepts, of ``coef_``'s dtype.
    n_iter_ : int
        Epochs run by the last call (``fit``: up to ``max_iter``;
        ``partial_fit``: 1).
    t_ : float
        Training samples processed, plus 1 (scikit-learn's count: ``n_iter_ *
        n_samples + 1`` after ``fit``); carried over by ``partial_fit``.
    n_features_in_ : int
        The number of features of X.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        The column names of X, when X had string column names (a pandas
        DataFrame), as an object array.
    loss_curve_ : list of float
        The training objective (mean weighted loss plus penalty, in the
        targets' units) of each epoch of the last ``fit``, ``n_iter_`` values;
        ``partial_fit`` appends its epoch's. Per-sample and mini-batch steps
        record the running mean over the epoch's updates of each loss (before
        its update) plus the penalty: per-sample ``"sgd"`` on one thread that
        of the model each update met, as scikit-learn's stopping rule counts
        it (on CSR rows with scikit-learn's norms: those of each row's
        coordinates), the other optimizers, mini-batches and threads the
        penalty at the end of the epoch; full batch the exact objective at
        the start of its step.
    validation_scores_ : list of float
        With ``early_stopping``: the R² of the model on the held-out rows
        after each epoch.
    validation_loss_curve_ : list of float
        With ``early_stopping``: the mean weighted loss on the held-out rows
        after each epoch.
    best_epoch_ : int
        With ``early_stopping`` and ``restore_best_weights``: the epoch
        (counted from 1) whose model is kept.
    loss_functions : dict
        scikit-learn's table of the losses: name to ``(name,)`` or ``(name,
        epsilon)``.

    Raises
    ------
    ValueError
        From ``fit`` and ``partial_fit``: a parameter outside its range above
        (scikit-learn's ``InvalidParameterError``, naming it), or parameters
        that cannot work together (the message names them): ``"optimal"``
        with ``alpha=0``, another optimizer or a batch size other than 1;
        ``"elasticnet"`` with ``l1_ratio=None``; ``average`` with Hogwild!
        threads; ``sparse_update="lazy"`` with ``average`` or mini-batches, or
        ``"dense"`` with Hogwild! threads on sparse X; ``clip_grad_norm``
        below 1e-300; an optimizer instance with ``weight_decay != 0`` or an
        invalid hyper-parameter; ``n_jobs=0``; ``early_stopping`` with
        ``partial_fit``; ``restore_best_weights`` without ``early_stopping``.
        Invalid data: NaN or infinity in X or y, inconsistent
        lengths, no rows, more than 2**31 - 1 rows in one call (or a sparse
        X's stored values or columns), a negative or non-finite
        ``sample_weight``, a ``coef_init`` or ``intercept_init`` of
        the wrong shape or not finite, an early-stopping split with an empty
        side or a validation set of zero weight. Divergence: the weights or
        the objective overflow (the message names the epoch and the step to
        lower). After any of these ``fit`` leaves the estimator unfitted (a
        previous fit's model too), a later ``partial_fit`` as it was before
        the call.
    MemoryError
        X, y and the call's work buffers (the model, and for several classes
        or targets on sparse X a second copy of it) do not fit in memory.
        After ``fit`` or a first ``partial_fit`` the estimator is then
        unfitted; after a later ``partial_fit`` it is as before the call.

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        From ``fit`` with ``tol`` not None: ``max_iter`` epochs ran without
        the stopping rule firing, or training stopped with the model still
        far from the optimum; the message estimates the gap and says what to
        change. Also, whatever ``tol``, when a full-batch fit's training
        objective ended above that of the zero model: its steps overshoot.
    UserWarning
        ``n_jobs > 1`` with a build of descent without OpenMP (it runs one
        thread).

    See Also
    --------
    SGDClassifier : The classifier on the same kernels.
    sklearn.linear_model.SGDRegressor : The estimator this one follows.
    sklearn.linear_model.Ridge : The optimum of ``"squared_error"`` with
        ``penalty="l2"``, with ``alpha = n_samples * alpha``.
    descent.optim : The update rules, for your own training loops.
    lr_find : The learning-rate range test, to choose ``eta0``.
    LossCurveDisplay : Draw ``loss_curve_`` and the validation loss.
    descent.dask.fit_dask : The same training on a Dask cluster.

    Notes
    -----
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

    ``fit`` interrupted (``KeyboardInterrupt``) keeps the model of the last
    completed epoch; ``warm_start=True`` continues from it.

    References
    ----------
    .. [1] L. Bottou, "Stochastic Gradient Descent Tricks", Neural Networks:
       Tricks of the Trade, 2nd ed., Springer, 2012 (the ``"optimal"``
       schedule and its first step, the weight scale of the L2 penalty).
    .. [2] Y. Tsuruoka, J. Tsujii and S. Ananiadou, "Stochastic Gradient
       Descent Training for L1-regularized Log-linear Models with Cumulative
       Penalty", ACL-IJCNLP 2009.
    .. [3] F. Niu, B. Recht, C. Ré and S. J. Wright, "Hogwild!: A Lock-Free
       Approach to Parallelizing Stochastic Gradient Descent", NIPS 2011.
    .. [4] B. T. Polyak and A. B. Juditsky, "Acceleration of Stochastic
       Approximation by Averaging", SIAM Journal on Control and Optimization
       30(4), 1992 (``average``).
    .. [5] scikit-learn, sklearn.linear_model.SGDRegressor,
       https://scikit-learn.org/stable/modules/generated/sklearn.linear_model.SGDRegressor.html
    .. [6] PyTorch, torch.optim, https://pytorch.org/docs/stable/optim.html
       (the update rules of ``optimizer``).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> import descent
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> model = descent.SGDRegressor(random_state=0).fit(X, y)   # scikit-learn's SGD
    >>> round(model.score(X, y), 2), model.coef_.shape
    (0.52, (10,))
    >>> adam = descent.SGDRegressor(optimizer="adam", batch_size=32, random_state=0).fit(X, y)
    >>> round(adam.score(X, y), 2), adam.n_iter_ == len(adam.loss_curve_)
    (0.52, True)
    >>> adam.predict(X[:3]).shape
    (3,)
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

        Runs up to ``max_iter`` epochs from a fresh start (or, with
        ``warm_start``, from the previous fit's coefficients), stopping by the
        rule of ``tol`` and ``n_iter_no_change``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The training rows: float64 or float32 (read in place, C order or
            CSR), other numbers are converted to float64.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            The targets, numbers; a 2-D ``y`` fits one model per column, in
            the same passes over X (``coef_`` is then 2-D).
        coef_init : array-like of shape (n_features,) or (n_targets, n_features), default=None
            The starting coefficients; None for zeros (or, with
            ``warm_start``, the previous fit's).
        intercept_init : array-like of shape (1,) or (n_targets,), default=None
            The starting intercepts; None for 0, or the targets' mean when
            they are standardized (``scale_targets``), or, with
            ``warm_start``, the previous fit's.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative, finite weights of the samples, multiplying each
            sample's loss (and its gradient); None weighs every sample 1.

        Returns
        -------
        self : SGDRegressor
            The fitted estimator.

        Raises
        ------
        ValueError
            For invalid parameters or data, or divergence (the class's Raises
            section lists them); the estimator is then unfitted.

        Warns
        -----
        sklearn.exceptions.ConvergenceWarning
            If ``tol`` is not None and training stopped before the stopping
            rule was met (at ``max_iter``, or far from the optimum); and,
            whatever ``tol``, if a full-batch fit's training objective ended
            above that of the zero model (training made the model worse: too
            large a step).

        See Also
        --------
        partial_fit : One epoch on a chunk of rows, continuing the model.

        Examples
        --------
        >>> import numpy as np
        >>> import descent
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((200, 3))
        >>> y = X @ [1.0, -2.0, 0.5] + 3.0
        >>> model = descent.SGDRegressor(optimizer="adam", random_state=0).fit(X, y)
        >>> model.coef_.round(2), model.intercept_.round(2)
        (array([ 1. , -2. ,  0.5]), array([3.]))
        """
        return self._fit(X, y, coef_init, intercept_init, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over (X, y), continuing from the current model.

        The model is ``coef_`` / ``intercept_`` (assigned ones are honoured);
        the optimizer's state (moments, step count), the cumulative L1
        penalty, the averaged weights and ``t_`` carry over between calls, so
        the same rows in one call or in chunks give the same model with
        per-sample steps (``batch_size=1``), ``shuffle=False`` and a given
        ``eta0`` (``"auto"`` is estimated from the first call's rows; a chunk's
        end also ends a mini-batch, and a full batch steps once per call).
        ``fit`` resets them. As in scikit-learn, each call
        starts from ``eta0`` (the ``adaptive`` schedule's reductions act within
        a ``fit``), and there is no stopping rule; ``loss_curve_`` grows by the
        call's epoch. The first call fixes the number of features and of
        targets. The parameters may change between calls (``set_params``);
        a change of optimizer starts the new rule's state afresh.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of the training rows (float64 or float32, dense or CSR).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Its targets, with as many columns as in the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative, finite weights of the samples; None weighs each 1.

        Returns
        -------
        self : SGDRegressor
            The updated estimator.

        Raises
        ------
        ValueError
            For invalid parameters (``early_stopping=True`` included) or
            data, X or y whose number of features or targets differs from
            the first call's, or divergence; the estimator is then left as it
            was before the call.

        See Also
        --------
        fit : Several epochs on all the rows, with the stopping rule.
        descent.dask.fit_dask : Epochs over data spread on a cluster.

        Examples
        --------
        >>> import numpy as np
        >>> import descent
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((300, 3))
        >>> y = X @ [1.0, -2.0, 0.5]
        >>> model = descent.SGDRegressor(optimizer="adam", random_state=0)
        >>> for epoch in range(20):
        ...     for chunk in np.array_split(np.arange(300), 3):      # e.g. read from disk
        ...         _ = model.partial_fit(X[chunk], y[chunk])
        >>> len(model.loss_curve_), model.t_, model.coef_.round(1)
        (60, 6001.0, array([ 1. , -2. ,  0.5]))
        """
        return self._partial_fit(X, y, sample_weight)

    def predict(self, X):
        """Predict with the linear model: ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows to predict, with the features of the fit.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
            The predictions (2-D if the model has several targets); float32
            for float32 X, else float64.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator has no ``coef_`` (not fitted nor assigned).
        ValueError
            If X has another number of features than the model, or NaN or
            infinity.

        Examples
        --------
        >>> import numpy as np
        >>> import descent
        >>> model = descent.SGDRegressor()
        >>> model.coef_, model.intercept_ = np.array([1.0, 2.0]), np.array([0.5])
        >>> model.predict([[1.0, 1.0], [0.0, -1.0]])
        array([ 3.5, -1.5])
        """
        return self._decision(X)

    loss_functions = LossTable({name: LOSSES[name] for name in REGRESSION_LOSSES})

    def _fits_targets_as_given(self, plan):
        """Whether the kernel fits y as it is (scale_targets): per-sample
        "sgd" is scikit-learn's algorithm on the targets as given; with a
        clip they are standardized, so that clip_grad_norm has one unit
        whatever the optimizer (breakit12). fit's and fit_dask's choice."""
        return self.scale_targets is False or (self.scale_targets == "auto" and plan.plain
                                               and self.clip_grad_norm is None)

    def _choose_scaling(self, y, sample_weight, plan):
        if self._fits_targets_as_given(plan):
            return TargetScaling.identity(y.shape[1], LOSS_POWER[self.loss])
        return choose_scaling(y, sample_weight, loss=self.loss, penalty=self.penalty,
                              fit_intercept=self.fit_intercept)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags
