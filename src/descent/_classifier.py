"""``descent.SGDClassifier``: scikit-learn's SGDClassifier on compiled kernels,
one-vs-rest from one read of each row, the softmax, and every optimizer."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
from sklearn.utils.validation import validate_data

from . import _kernels, _labels
from ._base import BaseSGD
from ._classifier_outputs import ClassifierOutputs
from ._losses import LOSSES, LossTable, loss_info
from ._optimal import optimal_t0
from ._plan import CLASSIFIER_DEFAULTS, max_row_norm
from ._validation import FLOATS, check_csr, check_rows, validation_split

__all__ = ["SGDClassifier"]


class SGDClassifier(ClassifierOutputs, ClassifierMixin, BaseSGD):
    """Linear classifiers (SVM, logistic regression, ...) trained by stochastic gradient descent.

    A drop-in for :class:`sklearn.linear_model.SGDClassifier`: the same
    parameters, defaults and fitted attributes where they overlap, and with
    ``optimizer="sgd"``, ``batch_size=1`` and ``shuffle=False`` scikit-learn's
    results update for update. Beyond it: the multinomial (softmax) model,
    every update rule of :mod:`descent.optim`, mini-batch and full-batch
    steps, gradient clipping, lazy steps on sparse rows, lock-free threads,
    and a per-epoch ``loss_curve_``. One-vs-rest problems are all stepped from
    one read of each row, not one pass over X per class.

    The objective minimised is the mean over the samples of
    ``sample_weight * class weight * loss`` plus ``alpha`` times the penalty
    (for the softmax, its cross-entropy over all classes jointly); with
    one-vs-rest, the sum of the K binary problems' objectives.

    Parameters
    ----------
    loss : {"hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron", \
"squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"}, \
default="hinge"
        The loss of a sample with label ``y`` in {-1, +1} (its class, or the
        rest) and decision value ``p``: ``"hinge"`` ``max(0, 1 - y p)`` (a
        linear SVM); ``"log_loss"`` ``log(1 + exp(-y p))`` (logistic
        regression, with probabilities); ``"modified_huber"`` the smoothed
        hinge, ``-4 y p`` for ``y p < -1``, else ``max(0, 1 - y p)**2``
        (probabilities too); ``"squared_hinge"`` ``max(0, 1 - y p)**2``;
        ``"perceptron"`` ``max(0, -y p)``; the regression losses of
        :class:`SGDRegressor` fit the labels as the numbers -1 and +1 (with
        ``epsilon``).
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        The regularisation of the coefficients: ``"l2"`` is ``|w|**2 / 2``,
        ``"l1"`` is ``|w|_1`` (exact zeros), ``"elasticnet"`` is ``l1_ratio *
        |w|_1 + (1 - l1_ratio) * |w|**2 / 2``; None for none. The intercept
        is not penalised. Per-sample ``"sgd"`` applies them as scikit-learn
        does (L2 as a scale of the weights, L1 by Tsuruoka et al.'s
        cumulative penalty); the update rules add the L2 part to the gradient
        and take the L1 part as a proximal (soft-threshold) step.
    alpha : float, default=0.0001
        The multiplier of the penalty, >= 0 (> 0 for
        ``learning_rate="optimal"``, whose steps are ``1 / (alpha (t0 + t -
        1))``). With ``loss="log_loss"`` and L2, the optimum is
        ``LogisticRegression(C=1 / (n_samples * alpha))``'s.
    l1_ratio : float or None, default=0.15
        The L1 share of the elastic net, in [0, 1]; used with
        ``penalty="elasticnet"`` only, where None raises ``ValueError``.
    fit_intercept : bool, default=True
        Fit an intercept per class (else it stays 0).
    max_iter : int, default=1000
        The largest number of epochs (passes over the training rows) of
        ``fit``, >= 1; ``partial_fit`` runs one.
    tol : float or None, default=1e-3
        The stopping tolerance, >= 0, in units of the objective. ``fit`` stops
        once the training objective (with ``early_stopping``, the validation
        score) has not improved by ``tol`` for ``n_iter_no_change`` epochs in
        a row and, for the smooth losses (``"log_loss"``, the softmax, the
        regression losses), one exact gradient step could not lower the
        objective by more than ``tol`` either (relative to the objective where
        it is below 0.05, off per-sample ``"sgd"``: a nearly separable fit;
        see the user guide's stopping page). With three classes or more,
        one-vs-rest, per-sample ``"sgd"`` on one thread and neither
        ``early_stopping`` nor the ``"adaptive"`` schedule, the classes whose
        loss has no such check (the hinges, ``"modified_huber"``) stop one by
        one, as scikit-learn's separate binary fits: each keeps its model of
        the epoch its own objective stopped improving while the others go on;
        otherwise the classes stop together, on the sum of their objectives.
        None: run ``max_iter`` epochs, with no ``ConvergenceWarning`` (but for
        a full-batch fit worse than the zero model: see Warns).
    shuffle : bool, default=True
        Shuffle the training rows before each epoch (seeded by
        ``random_state``; all classes share the order). No effect with
        ``batch_size=None``.
    verbose : int, default=0
        0 prints nothing; 1 or more prints scikit-learn's lines after each
        epoch (norm of the weights, non-zeros, bias, ``t_``, the epoch's
        objective), with the step size.
    epsilon : float, default=0.1
        The threshold of ``"huber"`` and the width of the insensitive zone of
        ``"epsilon_insensitive"`` and ``"squared_epsilon_insensitive"`` (in
        the units of the labels, +-1), >= 0; unused by the classification
        losses.
    n_jobs : int or None, default=None
        Threads, counted as joblib does (None: 1, -1: all cores; 0 raises):
        lock-free Hogwild! steps (Niu et al. 2011) with ``batch_size=1``
        (results then vary from run to run; ``average`` unavailable), else
        each batch's gradient split over the threads. All one-vs-rest
        problems are stepped together on each thread (scikit-learn runs a
        thread per class). A build without OpenMP runs one thread, with a
        ``UserWarning``.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling, the early-stopping split and the subsample of
        the ``"optimal"`` schedule's first-step search; an int gives
        reproducible fits (but for Hogwild! threads). None draws from NumPy's
        global generator.
    learning_rate : {"auto", "optimal", "constant", "invscaling", "adaptive"} or \
descent.schedules schedule, default="auto"
        The schedule of the step size: ``"optimal"`` is ``1 / (alpha (t0 + t -
        1))`` (per-sample ``"sgd"`` only), with scikit-learn's first step
        ``alpha ** -0.25`` for the classification losses whose derivative is
        bounded, and Bottou's search of the first step (on up to 1000 rows)
        for ``"squared_hinge"`` and the regression losses, where that step
        diverges; ``"constant"`` keeps ``eta0``; ``"invscaling"`` is
        ``eta0 / t ** power_t`` with ``t`` the update count; ``"adaptive"``
        divides the step by 5 each time the stopping rule fires, until it is
        below 1e-6. ``"auto"``: ``"optimal"`` (scikit-learn's default) for
        per-sample ``"sgd"``, ``"adaptive"`` for mini-batch RMSprop, and the
        regressor's defaults table otherwise (the user guide's optimizers
        page).
        Or a :mod:`descent.schedules` schedule, per update or per epoch, from
        ``eta0`` (as for :class:`descent.SGDRegressor`).
    eta0 : float or "auto", default="auto"
        The initial step size (the optimizer's learning rate), > 0.
        ``"auto"``: 0.01 for per-sample ``"sgd"`` (as scikit-learn; unused by
        ``"optimal"``), an optimizer instance's own ``lr``, else a step that
        works for the optimizer and batch mode, estimated from X and the
        loss's curvature (the defaults table).
    power_t : float, default=0.5
        The exponent of ``"invscaling"``. Negative values are deprecated
        (``FutureWarning``), as in scikit-learn.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (a stratified split,
        seeded by ``random_state``) and stop when the validation score
        (``scoring``) has not improved by ``tol`` for ``n_iter_no_change``
        epochs. Not with ``partial_fit`` (``ValueError``).
    validation_fraction : float, default=0.1
        The share of rows held out by ``early_stopping``, in (0, 1).
    n_iter_no_change : int, default=5
        Epochs without improvement by ``tol`` before the stopping rule fires,
        >= 1.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, ``{label: weight}`` (a class left out weighs
        1); ``"balanced"`` is ``n_samples / (n_classes * np.bincount(y))``
        (not with ``partial_fit``). They multiply ``sample_weight``.
        One-vs-rest weighs class k's positive samples of problem k, as
        scikit-learn does; the softmax weighs each sample by its class's.
    warm_start : bool, default=False
        ``fit`` starts from the last fit's ``coef_``/``intercept_`` (unless
        ``coef_init`` / ``intercept_init`` are given); the optimizer's state,
        the schedule and ``t_`` start afresh.
    average : bool or int, default=False
        Averaged SGD: publish the running mean of the iterates as ``coef_`` /
        ``intercept_`` (training goes on from the iterates). True averages
        from the first update; an int ``k`` > 0 once ``k`` samples have been
        seen. Not with ``n_jobs > 1`` and ``batch_size=1``.
    optimizer : str or descent.optim.Optimizer, default="sgd"
        The update rule. ``"sgd"`` with ``batch_size=1`` is scikit-learn's
        per-sample SGD, exactly; with mini-batches or full batch, torch's
        SGD rule. ``"momentum"`` and ``"nesterov"`` (momentum 0.9),
        ``"adagrad"``, ``"rmsprop"``, ``"adadelta"``, ``"adam"``, ``"amsgrad"``
        and ``"adamw"`` are torch.optim's rules with their default
        hyper-parameters and ``lr = eta0``. A :mod:`descent.optim` instance
        sets the hyper-parameters; it is read, never stepped. Its
        ``weight_decay`` must be 0 (regularise with ``penalty`` and
        ``alpha``), and its ``lr`` is the step unless ``eta0`` is given.
    batch_size : int or None, default=1
        Samples per update: 1 for per-sample steps; ``k`` > 1 for the mean
        gradient of ``k`` samples per update; None for full batch (one
        exact-gradient step per epoch).
    clip_grad_norm : float or None, default=None
        Clip each update's data gradient (all classes jointly, before the
        penalty) to this L2 norm, >= 1e-300, as
        ``torch.nn.utils.clip_grad_norm_``; None: no clipping.
    sparse_update : {"auto", "lazy", "dense"}, default="auto"
        How per-sample steps of an optimizer other than ``"sgd"`` treat the
        coefficients a sparse row does not touch: ``"lazy"`` brings a
        coefficient's skipped steps up to date when a row next touches it
        (O(nnz) per step; exact for some rules and penalties, torch's
        ``SparseAdam`` semantics for the others); ``"dense"`` updates every
        coefficient at every step (the iterates of dense X); ``"auto"`` is
        lazy without ``average``, dense with it. ``"lazy"`` with ``average``
        or ``batch_size != 1`` raises ``ValueError``, and so does ``"dense"``
        with Hogwild! threads on sparse X; on dense X every step updates every
        coefficient, whatever ``sparse_update`` says.
    multi_class : {"ovr", "multinomial"}, default="ovr"
        ``"ovr"``: one binary problem per class (scikit-learn's). With
        ``loss="log_loss"``, ``"multinomial"`` fits the softmax model:
        cross-entropy over a (n_classes, n_features) weight matrix, one model
        whose ``predict_proba`` is the softmax of the decision values. With
        two classes both are the logistic model. ``"multinomial"`` with
        another loss raises ``ValueError``.
    scoring : {"accuracy", "loss"}, default="accuracy"
        The early-stopping score: the validation accuracy (scikit-learn's), or
        minus the validation set's mean loss (e.g. the log-loss). ``"loss"``
        needs ``early_stopping=True`` (``ValueError`` otherwise).
    restore_best_weights : bool, default=False
        With ``early_stopping``, end with the model of the best validation
        score's epoch (``best_epoch_``) instead of the last one's. True needs
        ``early_stopping=True`` (``ValueError`` otherwise).

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        The weights (one row with two classes: the positive class is
        ``classes_[1]``); float32 when X was float32, else float64 (the
        training itself runs in float64). A ``scipy.sparse`` CSR matrix after
        :meth:`sparsify`.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        The intercepts, of ``coef_``'s dtype.
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted (numbers or strings, as in y).
    n_iter_ : int
        Epochs run by the last ``fit``: with classes stopped one by one (see
        ``tol``), the most any class ran, as scikit-learn's; ``partial_fit``:
        1.
    t_ : float
        Training samples processed, plus 1 (scikit-learn's count, which the
        schedules use); carried over by ``partial_fit``.
    n_features_in_ : int
        The number of features of X.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        The column names of X, when X had string column names.
    loss_curve_ : list of float
        The training objective of each epoch, summed over the one-vs-rest
        problems (with classes stopped one by one, a stopped class's held at
        its last epoch's: the sum of each class's own curve); ``partial_fit``
        appends its epoch's. Per-sample and
        mini-batch steps record the running mean over the epoch's updates of
        each loss (before its update) plus the penalty: per-sample ``"sgd"``
        on one thread that of the model each update met, as scikit-learn's
        stopping rule counts it (on CSR rows with scikit-learn's norms: those
        of each row's coordinates), the other optimizers, mini-batches and
        threads the penalty at the end of the epoch; full batch the exact
        objective at the start of its step.
    validation_scores_ : list of float
        With ``early_stopping``: the score (``scoring``) on the held-out rows
        after each epoch.
    validation_loss_curve_ : list of float
        With ``early_stopping``: the mean loss on the held-out rows after
        each epoch.
    best_epoch_ : int
        With ``early_stopping`` and ``restore_best_weights``: the epoch
        (counted from 1) whose model is kept.
    loss_functions : dict
        scikit-learn's table of the losses: name to ``(name,)`` or ``(name,
        parameter)``.

    Raises
    ------
    ValueError
        From ``fit``/``partial_fit``: a parameter outside its range above
        (scikit-learn's ``InvalidParameterError``, naming it); fewer than two
        classes; labels that are not in ``classes`` (``partial_fit``);
        ``class_weight`` naming labels that are not classes, or
        ``"balanced"`` in ``partial_fit``; ``multi_class="multinomial"`` with
        a loss other than ``"log_loss"``; NaN or infinite X or
        ``sample_weight``; more than 2**31 - 1 rows, or a sparse X's stored
        values or columns; parameters that cannot work together, as for
        :class:`SGDRegressor` (each message names them), and
        ``scoring="loss"`` without ``early_stopping``; divergence (the
        message names the epoch and the step to lower). After any of these
        ``fit`` leaves the estimator unfitted (a previous fit's model too), a
        later ``partial_fit`` as it was before the call.
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
        far from the optimum (the message estimates the gap). Expect it for
        ``"log_loss"`` with a small ``alpha`` on classes a line separates,
        whose optimum lies far out. Also, whatever ``tol``, when a full-batch
        fit's training objective ended above that of the zero model: its steps
        overshoot.

    See Also
    --------
    SGDRegressor : The regressor on the same kernels.
    sklearn.linear_model.SGDClassifier : The estimator this one follows.
    sklearn.linear_model.LogisticRegression : The same optimum as
        ``loss="log_loss"`` with ``C = 1 / (n_samples * alpha)``.

    Notes
    -----
    Differences from scikit-learn, on purpose: all classes share the
    stopping decision (scikit-learn stops each one-vs-rest problem on its
    own; both report the largest epoch count), and with ``shuffle=True`` they
    share each epoch's order of the rows (scikit-learn draws one per class);
    stopping also checks stationarity, for the smooth losses; divergence
    raises instead of returning huge coefficients; early stopping scores the
    whole multiclass model (scikit-learn scores each class's binary problem
    on the multiclass labels). With scikit-learn >= 1.9, ``set_callbacks``
    sees each epoch as a task (see :class:`descent.SGDRegressor`).

    References
    ----------
    .. [1] L. Bottou, "Stochastic Gradient Descent Tricks", Neural Networks:
       Tricks of the Trade, 2nd ed., Springer, 2012 (the ``"optimal"``
       schedule, the weight scale).
    .. [2] Y. Tsuruoka, J. Tsujii and S. Ananiadou, "Stochastic Gradient
       Descent Training for L1-regularized Log-linear Models with Cumulative
       Penalty", ACL-IJCNLP 2009.
    .. [3] T. Zhang, "Solving Large Scale Linear Prediction Problems Using
       Stochastic Gradient Descent Algorithms", ICML 2004 (modified Huber).
    .. [4] B. Zadrozny and C. Elkan, "Transforming Classifier Scores into
       Accurate Multiclass Probability Estimates", KDD 2002 (one-vs-rest
       probabilities).
    .. [5] F. Niu, B. Recht, C. Ré and S. J. Wright, "Hogwild!: A Lock-Free
       Approach to Parallelizing Stochastic Gradient Descent", NIPS 2011.
    .. [6] scikit-learn, sklearn.linear_model.SGDClassifier,
       https://scikit-learn.org/stable/modules/generated/sklearn.linear_model.SGDClassifier.html

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> import descent
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> svm = descent.SGDClassifier(random_state=0).fit(X, y)     # a linear SVM
    >>> round(svm.score(X, y), 2), svm.coef_.shape
    (0.95, (3, 4))
    >>> clf = descent.SGDClassifier(loss="log_loss", multi_class="multinomial",
    ...                             alpha=0.01, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:1]).round(2)
    array([[0.98, 0.02, 0.  ]])
    """

    _DEFAULTS = CLASSIFIER_DEFAULTS
    _GAP_UNIT = "in the objective's unit, the mean loss a row plus the penalty, "

    _parameter_constraints: dict = {
        **BaseSGD._parameter_constraints,
        "loss": [StrOptions(set(LOSSES))],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "multi_class": [StrOptions({"ovr", "multinomial"})],
        "scoring": [StrOptions({"accuracy", "loss"})],
    }

    def __init__(
        self,
        loss="hinge",
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
        n_jobs=None,
        random_state=None,
        learning_rate="auto",
        eta0="auto",
        power_t=0.5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
        warm_start=False,
        average=False,
        optimizer="sgd",
        batch_size=1,
        clip_grad_norm=None,
        sparse_update="auto",
        multi_class="ovr",
        scoring="accuracy",
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
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.clip_grad_norm = clip_grad_norm
        self.sparse_update = sparse_update
        self.multi_class = multi_class
        self.scoring = scoring
        self.restore_best_weights = restore_best_weights

    # -- fit / partial_fit ----------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the linear model by (stochastic) gradient descent.

        Runs up to ``max_iter`` epochs from a fresh start (or, with
        ``warm_start``, from the previous fit's coefficients), stopping by the
        rule of ``tol`` and ``n_iter_no_change``; ``classes_`` are the labels
        of ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The training rows: float64 or float32 (read in place, C order or
            CSR), other numbers are converted to float64.
        y : array-like of shape (n_samples,)
            The labels (numbers or strings); at least two classes.
        coef_init : array-like of shape (n_classes, n_features) or \
(n_features,), default=None
            The starting weights (one row, or 1-D, with two classes); None for
            zeros (or, with ``warm_start``, the previous fit's).
        intercept_init : array-like of shape (n_classes,) or (1,), default=None
            The starting intercepts; None for zeros.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative, finite weights of the samples, multiplied by the
            class weights; None weighs every sample 1.

        Returns
        -------
        self : SGDClassifier
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
        >>> from sklearn.datasets import load_breast_cancer
        >>> from sklearn.preprocessing import StandardScaler
        >>> import descent
        >>> X, y = load_breast_cancer(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X)
        >>> clf = descent.SGDClassifier(loss="log_loss", optimizer="adam", batch_size=32,
        ...                             alpha=0.01, random_state=0).fit(X, y)
        >>> clf.classes_, clf.coef_.shape, round(clf.score(X, y), 2)
        (array([0, 1]), (1, 30), 0.99)
        """
        self._check_multi_class()
        # the classes are y's (descent.dask presets those of all the blocks)
        self._classes_arg = getattr(self, "_preset_classes", None)
        if hasattr(self, "classes_"):
            del self.classes_
        return self._fit(X, y, coef_init, intercept_init, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch over (X, y), continuing from the current model.

        The optimizer's state, the averaged weights and ``t_`` carry over
        between calls, so the same rows in one call or in chunks give the same
        model with per-sample steps (``batch_size=1``), ``shuffle=False`` and a
        given ``eta0`` (``"auto"`` is estimated from the first call's rows; a
        chunk's end also ends a mini-batch, and a full batch steps once per
        call); ``fit`` resets them. Each call starts
        from ``eta0`` and has no stopping rule; ``loss_curve_`` grows by the
        call's epoch. The first call fixes the classes and the number of
        features.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of the training rows (float64 or float32, dense or CSR).
        y : array-like of shape (n_samples,)
            Its labels; each must be one of ``classes``.
        classes : array-like of shape (n_classes,), default=None
            All the labels of the data: required on the first call (e.g.
            ``np.unique(y_all)``), optional afterwards (then the same).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative, finite weights of the samples; None weighs each 1.

        Returns
        -------
        self : SGDClassifier
            The updated estimator.

        Raises
        ------
        ValueError
            Without ``classes`` on the first call, or other ``classes`` than
            the first call's; labels not in ``classes``;
            ``class_weight="balanced"`` (use
            :func:`sklearn.utils.class_weight.compute_class_weight` on a sample
            of the labels and pass the dict); ``early_stopping=True``; X with
            another number of features than the first call's; invalid
            parameters or data, or divergence, as for :meth:`fit` (the
            estimator is then left as it was before the call).

        See Also
        --------
        fit : Several epochs on all the rows, with the stopping rule.

        Examples
        --------
        >>> import numpy as np
        >>> import descent
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((300, 2))
        >>> y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
        >>> clf = descent.SGDClassifier(loss="log_loss", alpha=0.01, random_state=0)
        >>> for epoch in range(10):
        ...     for chunk in np.array_split(np.arange(300), 3):
        ...         _ = clf.partial_fit(X[chunk], y[chunk], classes=["no", "yes"])
        >>> clf.classes_, len(clf.loss_curve_), bool(clf.score(X, y) > 0.95)
        (array(['no', 'yes'], dtype='<U3'), 30, True)
        """
        first = getattr(self, "coef_", None) is None
        self._check_multi_class()
        if first:
            if self.class_weight == "balanced":
                raise ValueError(
                    "class_weight 'balanced' is not supported for partial_fit. In "
                    "order to use 'balanced' weights, use compute_class_weight("
                    "'balanced', classes=classes, y=y). In place of y you can use a "
                    "large enough sample of the full training set target to properly "
                    "estimate the class frequency distributions. Pass the resulting "
                    "weights as the class_weight parameter.")
            if hasattr(self, "classes_"):
                del self.classes_
        if classes is None and first:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        self._classes_arg = classes
        return self._partial_fit(X, y, sample_weight)

    def _check_multi_class(self):
        if self.multi_class == "multinomial" and self.loss != "log_loss":
            raise ValueError(
                f"multi_class='multinomial' is the softmax of loss='log_loss'; got "
                f"loss={self.loss!r}: use loss='log_loss', or multi_class='ovr'")

    loss_functions = LossTable(LOSSES)

    # -- the hooks of BaseSGD ---------------------------------------------------
    def _coef_is_2d(self):
        return True

    @property
    def _softmax(self):
        """Whether the kernel fits the softmax: multinomial with three classes
        or more (two classes are the logistic model, one target)."""
        return self.multi_class == "multinomial" and len(getattr(self, "classes_", ())) > 2

    def _loss_info(self):
        return loss_info(self.loss, self._softmax)

    def _stops_per_target(self, plan, probe):
        # scikit-learn fits one-vs-rest classes as separate binary problems,
        # each stopping on its own objective; on its path (per-sample "sgd",
        # one thread) descent's classes stop one by one too. Not with early
        # stopping (one split, judged jointly), the adaptive schedule (its
        # step is shared), or a stationarity probe (log_loss: judged jointly).
        return (plan.path == int(_kernels.Path.PLAIN) and not self._softmax
                and len(self.classes_) > 2 and self.tol is not None
                and not self.early_stopping and probe is None
                and plan.fields["schedule"] != int(_kernels.Schedule.ADAPTIVE))

    def _check_data(self, X, y, sample_weight, reset):
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=FLOATS,
                             order="C", copy=False, reset=reset)
        X = check_csr(X)
        if reset and self._classes_arg is None:      # fit
            self.classes_, index = _labels.fit_classes(y)
        else:       # partial_fit: sets classes_ on a first call, checks it after
            check_classification_targets(y)
            _check_partial_fit_first_call(self, self._classes_arg)
            index = _labels.index_in(self.classes_, y)
        classes = self.classes_
        if classes.shape[0] < 2:
            raise ValueError("The number of classes has to be greater than one; got "
                             f"{classes.shape[0]} class")
        sample_weight = check_rows(self, X, sample_weight)
        expanded = (np.ones(classes.shape[0]) if self.class_weight is None else
                    compute_class_weight(self.class_weight, classes=classes, y=y))
        multinomial = self._softmax
        self._kernel_cw = _labels.kernel_class_weights(expanded, multinomial)
        if multinomial:
            sample_weight = _labels.weigh_samples(sample_weight, expanded, index)
        return X, _labels.encode(index, classes.shape[0], multinomial), sample_weight, True

    def _class_weights(self):
        return getattr(self, "_kernel_cw", None)

    def _split(self, y, sample_weight):
        return validation_split(y, sample_weight, self.validation_fraction,
                                self.random_state, labels=_labels.labels_of(y))

    def _validation_score(self, ws):
        return ws.validation_accuracy() if self.scoring == "accuracy" else \
            -ws.validation_loss()

    def _probe_unit(self, y, sample_weight):
        return 1.0      # labels are +-1 (or one-hot): the objective's own unit

    def _spread_unit(self, sd):
        return 1.0

    def _optimal_t0(self, plan, X, y, sample_weight, train_idx, seed):
        info = self._loss_info()
        if not (info.classification and info.bounded_dloss):
            # a first step of alpha ** -0.25 (10 for alpha=1e-4) diverges where
            # the derivative grows with the residual (squared hinge, the
            # regression losses): Bottou's search, as SGDRegressor, capped at
            # the per-sample stable step 1 / (curvature max |x|^2): a step the
            # search found fine for one epoch diverged over the next ones
            # (digits, squared hinge: 0.002, above the cap 0.0006)
            t0 = super()._optimal_t0(plan, X, y, sample_weight, train_idx, seed)
            rows, sw = self._training_rows(train_idx, X, sample_weight)
            norm = max_row_norm(rows, sw, self.fit_intercept)
            cap = 1.0 / (info.curvature * norm)
            if not cap > 0.0:
                # (scikit-learn's words for it, which its own tests match)
                raise ValueError(
                    "Floating-point under-/overflow occurred at epoch #0: X has a row "
                    f"of squared norm {norm:.3g}, on which no step of loss={self.loss!r} "
                    "is stable. Scaling input data with StandardScaler or MinMaxScaler "
                    "might help.")
            return max(t0, optimal_t0(cap, self.alpha))
        # scikit-learn's heuristic: a first step typw / max(1, dloss(1, -typw))
        # with typw = alpha ** -0.25, the typical weight of a sample; the
        # classification losses' derivative there is negative, so the first
        # step is typw.
        return optimal_t0(float(np.sqrt(1.0 / np.sqrt(self.alpha))), self.alpha)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
