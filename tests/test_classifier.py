"""SGDClassifier's contract: probabilities, decision values and labels; bad
input; state across partial_fit; every optimizer and batch mode; lazy sparse
steps; threads; pickling, clone and grid search; early stopping.

Probabilities are held to formulas computed here (NumPy log-sum-exp forms)
and to scikit-learn's SGDClassifier given the same coefficients."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.linear_model import SGDClassifier as SkSGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from descent import SGDClassifier
from descent.optim import SGD, Adadelta, Adagrad, Adam, RMSprop

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam",
              "amsgrad", "adamw"]


def _standardized(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def iris():
    return _standardized(load_iris)


@pytest.fixture(scope="module")
def wine():
    return _standardized(load_wine)


@pytest.fixture(scope="module")
def cancer():
    return _standardized(load_breast_cancer)


def quiet_fit(est, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **fit_params)


# -- probabilities, decision values, labels ------------------------------------------
def log_expit(z):
    return -np.logaddexp(0.0, -z)


def logsumexp_rows(Z):
    m = Z.max(axis=1, keepdims=True)
    return m + np.log(np.exp(Z - m).sum(axis=1, keepdims=True))


def reference_log_proba(kind, d):
    """log P(class | x) of the decision values d, computed without underflow:
    binary logistic, one-vs-rest logistic normalised (Zadrozny & Elkan), the
    softmax."""
    if d.ndim == 1:
        return np.column_stack([log_expit(-d), log_expit(d)])
    if kind == "multinomial":
        return d - logsumexp_rows(d)
    lp = log_expit(d)
    return lp - logsumexp_rows(lp)


MODELS = {
    # name: (params, binary)
    "log_loss-binary": (dict(loss="log_loss"), True),
    "log_loss-ovr": (dict(loss="log_loss"), False),
    "multinomial": (dict(loss="log_loss", multi_class="multinomial"), False),
    "modified_huber-binary": (dict(loss="modified_huber"), True),
    "modified_huber-ovr": (dict(loss="modified_huber"), False),
}


def fitted(iris, name):
    params, binary = MODELS[name]
    X, y = iris
    if binary:
        y = (y == 2).astype(int)
    return quiet_fit(SGDClassifier(random_state=0, max_iter=20, **params), X, y), X, y


def scale_logits(est, X, target=1e4):
    """Multiply coef_ and intercept_ so that the largest |decision value| is target."""
    factor = target / np.abs(est.decision_function(X)).max()
    est.coef_ = est.coef_ * factor
    est.intercept_ = est.intercept_ * factor
    return est


@pytest.mark.parametrize("name", list(MODELS))
def test_probabilities_at_extreme_logits_are_finite_and_sum_to_one(iris, name):
    est, X, _ = fitted(iris, name)
    scale_logits(est, X)
    d = est.decision_function(X)
    assert np.abs(d).max() == pytest.approx(1e4)
    proba = est.predict_proba(X)
    assert proba.shape == (X.shape[0], len(est.classes_))
    assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()
    assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    log_proba = est.predict_log_proba(X)
    if name.startswith("modified_huber"):
        # clipped probabilities are exactly 0 beyond the margin: log 0 = -inf
        with np.errstate(divide="ignore"):
            assert_allclose(log_proba, np.log(proba), rtol=1e-12)
        return
    # the logistic and softmax models: finite logs for any finite logits
    assert np.isfinite(log_proba).all() and (log_proba <= 0).all()
    kind = "multinomial" if name == "multinomial" else "ovr"
    assert_allclose(log_proba, reference_log_proba(kind, d), rtol=1e-12, atol=1e-12)
    if d.ndim == 1 or name == "multinomial":
        # 1 - expit(d) (scikit-learn's form) is right to 1e-16 absolutely, not
        # relatively: predict_log_proba has the digits of the tiny ones
        assert_allclose(proba, np.exp(reference_log_proba(kind, d)), rtol=1e-12,
                        atol=1e-15)


def test_ovr_log_loss_probabilities_far_from_every_class(iris):
    est, X, _ = fitted(iris, "log_loss-ovr")
    est.coef_ = np.zeros_like(est.coef_)
    for intercept in ([-740.0, -741.0, -745.0], [-1e4, -1e4 + 10.0, -2e4]):
        est.intercept_ = np.array(intercept)
        d = est.decision_function(X[:3])
        expected = np.exp(reference_log_proba("ovr", d))
        assert_allclose(np.exp(est.predict_log_proba(X[:3])), expected, rtol=1e-12)
        assert_allclose(est.predict_proba(X[:3]), expected, rtol=1e-12)


@pytest.mark.parametrize("name", list(MODELS))
def test_probabilities_are_the_documented_formulas(iris, name):
    est, X, _ = fitted(iris, name)
    d = est.decision_function(X)
    proba = est.predict_proba(X)
    if name.startswith("modified_huber"):
        p = (np.clip(d, -1, 1) + 1) / 2
        if d.ndim == 1:
            expected = np.column_stack([1 - p, p])
        else:
            total = p.sum(axis=1, keepdims=True)
            expected = np.where(total > 0, p / np.where(total > 0, total, 1), 1 / p.shape[1])
        assert_allclose(proba, expected, rtol=1e-12, atol=1e-15)
    else:
        kind = "multinomial" if name == "multinomial" else "ovr"
        assert_allclose(proba, np.exp(reference_log_proba(kind, d)), rtol=1e-10,
                        atol=1e-15)
    if name != "modified_huber-ovr":      # clipped scores tie; monotone otherwise
        assert_array_equal(est.classes_[np.argmax(proba, axis=1)], est.predict(X))


@pytest.mark.parametrize("loss", ["log_loss", "modified_huber"])
@pytest.mark.parametrize("binary", [True, False], ids=["binary", "ovr"])
def test_probabilities_equal_scikit_learns_for_the_same_coefficients(iris, loss, binary):
    X, y = iris
    if binary:
        y = (y == 1).astype(int)
    ours = quiet_fit(SGDClassifier(loss=loss, random_state=0, max_iter=20), X, y)
    sk = quiet_fit(SkSGDClassifier(loss=loss, random_state=0, max_iter=20), X, y)
    sk.coef_, sk.intercept_ = ours.coef_.copy(), ours.intercept_.copy()
    for scale in (1.0, 30.0):        # 30: many decision values beyond the clip at +-1
        ours.coef_, ours.intercept_ = sk.coef_ * scale, sk.intercept_ * scale
        sk_scaled = copy.deepcopy(sk)
        sk_scaled.coef_, sk_scaled.intercept_ = ours.coef_.copy(), ours.intercept_.copy()
        assert_allclose(ours.decision_function(X), sk_scaled.decision_function(X),
                        rtol=1e-14, atol=1e-12)
        assert_allclose(ours.predict_proba(X), sk_scaled.predict_proba(X), rtol=1e-12,
                        atol=1e-15)
        with np.errstate(divide="ignore"):
            sk_log = sk_scaled.predict_log_proba(X)
        # scikit-learn's is log(predict_proba): -inf where that underflows, and
        # descent's log-sum-exp form is finite (log_loss)
        ours_log = ours.predict_log_proba(X)
        finite = np.isfinite(sk_log)
        assert_allclose(ours_log[finite], sk_log[finite], rtol=1e-9, atol=1e-12)
        if loss == "log_loss":
            assert np.isfinite(ours_log).all()
        else:
            assert_array_equal(np.isfinite(ours_log), finite)
        assert_array_equal(ours.predict(X), sk_scaled.predict(X))


@pytest.mark.parametrize("loss", ["hinge", "perceptron", "squared_hinge", "squared_error",
                                  "huber", "epsilon_insensitive",
                                  "squared_epsilon_insensitive"])
def test_no_probabilities_without_a_probabilistic_loss(iris, loss):
    X, y = iris
    est = SGDClassifier(loss=loss)
    assert not hasattr(est, "predict_proba")
    assert not hasattr(est, "predict_log_proba")
    quiet_fit(est, X, y)
    assert not hasattr(est, "predict_proba")
    with pytest.raises(AttributeError, match="no attribute 'predict_proba'") as info:
        est.predict_proba(X)
    # the cause names the loss (scikit-learn's message)
    assert f"not available for loss={loss!r}" in str(info.value.__cause__)
    assert hasattr(SGDClassifier(loss="log_loss"), "predict_proba")
    assert hasattr(SGDClassifier(loss="modified_huber"), "predict_log_proba")


@pytest.mark.parametrize("labels", [None, np.array(["setosa", "versicolor", "virginica"])])
@pytest.mark.parametrize("multi_class", ["ovr", "multinomial"])
def test_decision_function_and_predict(iris, labels, multi_class):
    X, y = iris
    yy = y if labels is None else labels[y]
    est = quiet_fit(SGDClassifier(loss="log_loss", multi_class=multi_class,
                                  random_state=0, max_iter=20), X, yy)
    d = est.decision_function(X)
    assert d.shape == (X.shape[0], 3)
    assert_allclose(d, X @ est.coef_.T + est.intercept_, rtol=1e-12, atol=1e-12)
    pred = est.predict(X)
    assert_array_equal(pred, est.classes_[np.argmax(d, axis=1)])
    assert pred.dtype == est.classes_.dtype
    assert est.score(X, yy) > 0.9
    # binary: 1-D decision values, positive for classes_[1]
    yb = yy[y > 0]
    binary = quiet_fit(SGDClassifier(loss="log_loss", multi_class=multi_class,
                                     random_state=0, max_iter=20), X[y > 0], yb)
    db = binary.decision_function(X[y > 0])
    assert binary.coef_.shape == (1, 4) and db.shape == (int((y > 0).sum()),)
    assert_array_equal(binary.predict(X[y > 0]), binary.classes_[(db > 0).astype(int)])
    assert_array_equal(binary.classes_, np.unique(yb))


# -- bad input: a clear ValueError, the caller's data untouched ------------------------
def _data(n=30, d=3):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, d)), np.arange(n) % 3, rng.uniform(0.5, 2.0, n)


def _with(array, index, value):
    array = array.astype(float).copy()
    array[index] = value
    return array


X0, Y0, W0 = _data()
BAD = {
    # name: (estimator params, method, X, y, extra, match)
    "single class": ({}, "fit", X0, np.zeros(30), {}, "classes has to be greater than one"),
    "single class partial_fit": ({}, "partial_fit", X0, np.zeros(30), dict(classes=[0]),
                                 "classes has to be greater than one"),
    "partial_fit without classes": ({}, "partial_fit", X0, Y0, {},
                                    "classes must be passed on the first call"),
    "labels not in classes": ({}, "partial_fit", X0, Y0, dict(classes=[0, 1]),
                              r"not in classes: \[2\]"),
    "string classes, int labels": ({}, "partial_fit", X0, Y0, dict(classes=["0", "1", "2"]),
                                   r"not in classes.*int64 and classes <U1: a number is "
                                   "never equal to a string"),
    "balanced in partial_fit": (dict(class_weight="balanced"), "partial_fit", X0, Y0,
                                dict(classes=[0, 1, 2]), "balanced.*not supported"),
    "class_weight label not a class": (dict(class_weight={0: 1.0, 7: 2.0}), "fit", X0, Y0,
                                       {}, "class_weight"),
    "multinomial hinge": (dict(multi_class="multinomial"), "fit", X0, Y0, {},
                          "multinomial.*log_loss"),
    "multinomial hinge partial_fit": (dict(multi_class="multinomial"), "partial_fit", X0,
                                      Y0, dict(classes=[0, 1, 2]), "multinomial.*log_loss"),
    "NaN in X": ({}, "fit", _with(X0, (2, 1), np.nan), Y0, {}, "NaN"),
    "inf in X": ({}, "fit", _with(X0, (2, 1), np.inf), Y0, {}, "infinity"),
    "-inf in X partial_fit": ({}, "partial_fit", _with(X0, (2, 1), -np.inf), Y0,
                              dict(classes=[0, 1, 2]), "infinity"),
    "NaN in y": ({}, "fit", X0, _with(Y0, 3, np.nan), {}, "NaN"),
    "continuous y": ({}, "fit", X0, np.linspace(0, 1, 30), {}, "continuous"),
    "NaN in sample_weight": ({}, "fit", X0, Y0, dict(sample_weight=_with(W0, 0, np.nan)),
                             "NaN"),
    "2-D y": ({}, "fit", X0, np.column_stack([Y0, Y0]), {}, "1d array"),
    "early_stopping in partial_fit": (dict(early_stopping=True), "partial_fit", X0, Y0,
                                      dict(classes=[0, 1, 2]),
                                      "early_stopping should be False with partial_fit"),
    # (accepted and silently ignored before)
    "restore_best_weights without early_stopping": (
        dict(restore_best_weights=True), "fit", X0, Y0, {},
        "restore_best_weights=True .* needs early_stopping=True"),
    "scoring='loss' without early_stopping": (
        dict(scoring="loss"), "fit", X0, Y0, {}, "scoring='loss' .* needs early_stopping=True"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_raises_and_leaves_data_untouched(name):
    params, method, X, y, extra, match = BAD[name]
    extra = dict(extra, sample_weight=extra.get("sample_weight", W0.copy()))
    before = [np.array(a, copy=True) for a in (X, y, extra["sample_weight"])]
    est = SGDClassifier(random_state=0, max_iter=5, tol=None, **params)
    with pytest.raises(ValueError, match=match):
        getattr(est, method)(X, y, **extra)
    for a, b in zip((X, y, extra["sample_weight"]), before):
        assert_array_equal(a, b)
    assert getattr(est, "coef_", None) is None


def test_partial_fit_refuses_other_classes_later():
    est = SGDClassifier().partial_fit(X0, Y0, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not the same as on last call"):
        est.partial_fit(X0, Y0, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="not in classes"):
        est.partial_fit(X0, Y0 + 1)
    est.partial_fit(X0[:5], Y0[:5])            # classes are optional after the first call


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_string_labels(method, iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]

    def train(labels):
        est = SGDClassifier(loss="log_loss", random_state=0, max_iter=20)
        if method == "fit":
            return quiet_fit(est, X, labels)
        for _ in range(5):
            est.partial_fit(X, labels, classes=np.unique(labels))
        return est

    est = train(names)
    assert list(est.classes_) == ["setosa", "versicolor", "virginica"]
    pred = est.predict(X)
    assert set(pred) <= set(est.classes_) and isinstance(pred[0], str)
    assert np.mean(pred == names) > 0.7
    # the labels as numbers give the same model
    numeric = train(y)
    assert_array_equal(est.coef_, numeric.coef_)
    assert_array_equal(pred, est.classes_[numeric.predict(X)])


@pytest.mark.parametrize("labels", [
    np.array([-128, 127, 0, 127], np.int8),             # the full width of int8
    np.array([7, 3, 900, 3, 7, 7], np.uint16),          # gaps in the range
    np.array([2**64 - 1, 2**64 - 2, 2**64 - 1], np.uint64),     # past intp: sorted
    np.array([-2**63, 2**63 - 1, 0]),                   # a range too wide to count
    np.array([5, 4, 3, 4, 5]),                          # every value of the range
])
def test_integer_labels_as_numpy_finds_them(labels):
    # fit's classes_ (and the rows' class) from integer labels, counted
    # rather than sorted where their range allows: what np.unique gives.
    from descent._labels import fit_classes
    classes, index = fit_classes(labels)
    expected, expected_index = np.unique(labels, return_inverse=True)
    assert classes.dtype == labels.dtype
    assert_array_equal(classes, expected)
    assert_array_equal(index, expected_index)
    X = np.arange(2.0 * labels.shape[0]).reshape(-1, 2)
    assert_array_equal(quiet_fit(SGDClassifier(max_iter=3), X, labels).classes_, expected)


def test_a_class_stopped_early_owes_no_l1_shrink_for_later_epochs(iris):
    # One-vs-rest classes stop one by one (scikit-learn's binary fits of
    # iris, hinge, L1: 12, 16 and 44 epochs); the two that stopped first keep
    # their model of that epoch while the shared cumulative L1 penalty goes on
    # growing for the third. A partial_fit with a negligible step afterwards
    # must not shrink them by what the later epochs accumulated (0.048 and
    # 0.042 before their q was moved with it).
    X, y = iris
    est = SGDClassifier(loss="hinge", penalty="l1", alpha=1e-3, learning_rate="constant",
                        eta0=0.01, shuffle=False).fit(X, y)
    assert est.n_iter_ == 44
    before = est.coef_.copy()
    est.set_params(eta0=1e-300).partial_fit(X, y)
    assert_allclose(est.coef_, before, rtol=0, atol=1e-14)


def test_callers_arrays_are_untouched_by_a_fit(iris):
    X, y = iris
    X, y = X.copy(), y.copy()
    w = np.linspace(0.5, 2, len(y))
    coef_init = np.ones((3, 4))
    before = [a.copy() for a in (X, y, w, coef_init)]
    for params in (dict(), dict(loss="log_loss", multi_class="multinomial",
                                class_weight={0: 2.0}),
                   dict(optimizer="adam", batch_size=7, average=True)):
        est = quiet_fit(SGDClassifier(max_iter=5, random_state=0, **params), X, y,
                        sample_weight=w, coef_init=coef_init)
        est.partial_fit(X, y, sample_weight=w)
        est.predict(X)
        assert est.coef_ is not coef_init
    for a, b in zip((X, y, w, coef_init), before):
        assert_array_equal(a, b)


@pytest.mark.parametrize("alpha", [0.1, 1e10])
def test_unscaled_data_error_names_the_scale(alpha):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 10))
    X[:, :2] *= 1e300
    y = (rng.normal(size=100) > 0).astype(int)
    with pytest.raises(ValueError, match=r"(?i)scal"):
        SGDClassifier(alpha=alpha, loss="squared_hinge", max_iter=50).fit(X, y)


def test_overshoot_advice_works_under_the_optimal_schedule():
    rng = np.random.RandomState(0)
    X = rng.normal(loc=100, size=(100, 2))
    y = rng.randint(0, 2, size=100)
    # under learning_rate='optimal' (per-sample "sgd"'s default) eta0 is not the
    # step: the advice must not be to lower it, but to change what sets it
    est = SGDClassifier(random_state=0)
    with pytest.warns(ConvergenceWarning, match="times that of the zero model") as info:
        est.fit(X, y)
    message = " ".join(str(w.message) for w in info)
    assert "lower the learning rate (eta0" not in message
    assert "alpha" in message and "eta0 is not used" in message
    # the hinge's weights stay finite: the model is fitted (scikit-learn's
    # iterates), not refused
    check_is_fitted(est)
    assert np.isfinite(est.coef_).all()


# -- partial_fit over chunks ---------------------------------------------------------
CHUNK_CONFIGS = {
    "optimal": dict(),
    "constant": dict(learning_rate="constant", eta0=0.01),
    "multinomial": dict(loss="log_loss", multi_class="multinomial"),
    "average-elasticnet": dict(average=10, penalty="elasticnet"),
    "average-l2": dict(average=10, learning_rate="constant", eta0=0.05, alpha=0.05),
    "class_weight": dict(loss="log_loss", class_weight={0: 2.0, 1: 0.5, 2: 1.0}),
    "squared_hinge-search": dict(loss="squared_hinge"),
    "adam": dict(optimizer="adam", eta0=0.01),
    "adam-batch10": dict(optimizer="adam", eta0=0.01, batch_size=10),
    "adagrad-l1": dict(optimizer="adagrad", eta0=0.1, penalty="l1"),
}


@pytest.mark.parametrize("name", list(CHUNK_CONFIGS))
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_partial_fit_over_chunks_equals_fit(iris, name, sparse):
    # shuffle=False (and, for the update rules, an explicit eta0): the chunks
    # of two epochs in order are fit's two epochs; state (t_, the optimizer's
    # moments, the average, the cumulative L1) carries over
    X, y = iris
    perm = np.random.default_rng(0).permutation(len(y))
    X, y = X[perm], y[perm]
    if sparse:
        X = sp.csr_matrix(X)
    params = CHUNK_CONFIGS[name]
    full = SGDClassifier(shuffle=False, tol=None, max_iter=2, random_state=0, **params)
    quiet_fit(full, X, y)
    chunked = SGDClassifier(shuffle=False, random_state=0, **params)
    for _ in range(2):
        for rows in (slice(0, 40), slice(40, 100), slice(100, 150)):
            chunked.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
    scale = max(1.0, np.abs(full.coef_).max())
    assert_allclose(chunked.coef_, full.coef_, rtol=1e-9, atol=1e-9 * scale)
    assert_allclose(chunked.intercept_, full.intercept_, rtol=1e-9, atol=1e-9 * scale)
    assert chunked.t_ == full.t_ == 2 * len(y) + 1
    assert len(chunked.loss_curve_) == 6 and chunked.n_iter_ == 1


def test_fit_resets_and_warm_start_continues(iris):
    X, y = iris
    est = SGDClassifier(loss="log_loss", random_state=0, max_iter=5, tol=None)
    est.fit(X, y)
    first = est.coef_.copy()
    est.partial_fit(X, y)
    assert not np.array_equal(est.coef_, first)
    est.fit(X, y)                   # fit starts again: the same model
    assert_array_equal(est.coef_, first)
    warm = clone(est).set_params(warm_start=True, learning_rate="constant", eta0=1e-12,
                                 max_iter=1)
    warm.coef_, warm.intercept_ = first.copy(), est.intercept_.copy()
    warm.fit(X, y)
    assert_allclose(warm.coef_, first, rtol=1e-9)


# -- every optimizer, every batch mode ------------------------------------------------
@pytest.fixture(scope="module")
def wine_reference(wine):
    X, y = wine
    return LogisticRegression(max_iter=5000).fit(X, y).score(X, y)


@pytest.mark.parametrize("multi_class", ["ovr", "multinomial"])
@pytest.mark.parametrize("batch_size", [1, 32, None], ids=["sample", "batch32", "full"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_fits_to_logistic_regressions_accuracy(wine, wine_reference,
                                                                optimizer, batch_size,
                                                                multi_class):
    X, y = wine
    est = quiet_fit(SGDClassifier(loss="log_loss", optimizer=optimizer,
                                  batch_size=batch_size, multi_class=multi_class,
                                  random_state=0), X, y)
    assert est.coef_.shape == (3, X.shape[1])
    assert est.score(X, y) >= wine_reference - 0.03


# -- lazy steps on sparse rows -----------------------------------------------------------
def _sparse_problem():
    rng = np.random.default_rng(0)
    X = sp.random(300, 40, density=0.15, random_state=1, format="csr",
                  data_rvs=rng.standard_normal)
    W = rng.normal(size=(40, 3))
    y = np.argmax(X @ W + 0.3 * rng.normal(size=(300, 3)), axis=1)
    return X, y


# The rules whose lazy steps are exact (kernel/lazy.pxd): SGD without momentum
# (any penalty), momentum without a penalty and with a constant step, RMSprop
# without momentum and Adadelta without a penalty, Adagrad without L2.
EXACT_LAZY = {
    "sgd-l2": (SGD(lr=0.05), "l2", "constant"),
    "sgd-l1-invscaling": (SGD(lr=0.05), "l1", "invscaling"),
    "sgd-elasticnet": (SGD(lr=0.05), "elasticnet", "constant"),
    "momentum": (SGD(lr=0.05, momentum=0.9), None, "constant"),
    "nesterov": (SGD(lr=0.05, momentum=0.9, nesterov=True), None, "constant"),
    "adagrad-l1": (Adagrad(lr=0.1), "l1", "constant"),
    "rmsprop": (RMSprop(lr=0.01), None, "constant"),
    "adadelta": (Adadelta(lr=1.0), None, "constant"),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [10, 64, 100, 130])     # dot's short form, its 16 sums, ddot
@pytest.mark.parametrize("params", [
    dict(loss="log_loss"),
    dict(loss="hinge"),         # updates of 0: targets left without a partner
    # the weight scales fold into the coefs (below 1e-9) many times
    dict(loss="log_loss", learning_rate="constant", eta0=0.05, alpha=1.0),
    dict(loss="modified_huber", penalty=None, sample_weight=True),
])
def test_dense_one_vs_rest_is_each_binary_fit(d, params, dtype):
    # A dense row's classes are predicted and added two at a time
    # (loop_plain.add_dense_targets): each class still takes the steps of its
    # own binary fit, bit for bit, for 5 classes (one class without a pair),
    # float32 rows (kept float32, widened as read) as float64 ones.
    rng = np.random.default_rng(d)
    X = rng.standard_normal((150, d)).astype(dtype)
    y = np.digitize(X[:, 0] + 0.5 * rng.standard_normal(150), [-1.0, -0.3, 0.2, 0.9])
    params = dict(params)
    sw = rng.uniform(0.5, 2.0, 150) if params.pop("sample_weight", False) else None
    kw = dict(max_iter=5, tol=None, random_state=0, **params)
    joint = SGDClassifier(**kw).fit(X, y, sample_weight=sw)
    assert joint.coef_.shape == (5, d)
    for c in range(5):
        alone = SGDClassifier(**kw).fit(X, y == c, sample_weight=sw)
        # the float64 states trained (float32 X: several classes' intercept_
        # is published in float32, a binary one's in float64, as scikit-learn)
        assert_array_equal(joint._theta[c], alone._theta[0])
        assert_array_equal(joint.coef_[c], alone.coef_[0])


@pytest.mark.parametrize("multi_class", ["ovr", "multinomial"])
@pytest.mark.parametrize("name", list(EXACT_LAZY))
def test_lazy_sparse_steps_equal_dense_steps_where_exact(name, multi_class):
    X, y = _sparse_problem()
    optimizer, penalty, lr = EXACT_LAZY[name]
    kw = dict(loss="log_loss", optimizer=optimizer, penalty=penalty, alpha=1e-3,
              learning_rate=lr, multi_class=multi_class, random_state=0, tol=None,
              max_iter=5)
    lazy = SGDClassifier(sparse_update="auto", **kw).fit(X, y)
    dense = SGDClassifier(sparse_update="dense", **kw).fit(X, y)
    assert_allclose(lazy.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
    assert_allclose(lazy.intercept_, dense.intercept_, rtol=1e-10, atol=1e-12)


def test_lazy_adam_is_another_algorithm_with_the_same_quality():
    # Adam's lazy steps freeze the moments of untouched coordinates
    # (torch.optim.SparseAdam): other iterates, as good a model
    X, y = _sparse_problem()
    kw = dict(loss="log_loss", optimizer=Adam(lr=0.01), penalty="l2", alpha=1e-3,
              random_state=0, tol=None, max_iter=5, learning_rate="constant")
    lazy = SGDClassifier(sparse_update="auto", **kw).fit(X, y)
    dense = SGDClassifier(sparse_update="dense", **kw).fit(X, y)
    assert np.abs(lazy.coef_ - dense.coef_).max() > 1e-3        # the lazy path ran
    assert abs(lazy.score(X, y) - dense.score(X, y)) < 0.05


# -- threads, pickling, clone, grid search ---------------------------------------------
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_hogwild_threads_fit(wine, wine_reference, optimizer):
    X, y = wine
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)      # a build without OpenMP
        est = quiet_fit(SGDClassifier(loss="log_loss", optimizer=optimizer, n_jobs=2,
                                      random_state=0), X, y)
    assert est.score(X, y) >= wine_reference - 0.03
    with pytest.raises(ValueError, match="average"):
        SGDClassifier(n_jobs=2, average=True).fit(X, y)


def test_pickle_round_trip_keeps_the_model_and_its_state(iris):
    X, y = iris
    est = quiet_fit(SGDClassifier(loss="log_loss", multi_class="multinomial",
                                  optimizer="adam", average=True, random_state=0,
                                  max_iter=5), X, y)
    for other in (pickle.loads(pickle.dumps(est)), copy.deepcopy(est)):
        assert_array_equal(other.predict_proba(X), est.predict_proba(X))
        assert_array_equal(other.classes_, est.classes_)
        # the optimizer's state and t_ carry over: one more epoch is the same
        a = copy.deepcopy(est).partial_fit(X, y)
        b = other.partial_fit(X, y)
        assert_array_equal(a.coef_, b.coef_)


def test_clone_and_grid_search_over_alpha(wine):
    X, y = wine
    base = SGDClassifier(loss="log_loss", random_state=0, max_iter=50)
    assert clone(base).get_params() == base.get_params()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(base, {"alpha": [1e-4, 1e-2, 10.0]}, cv=3,
                              error_score="raise").fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    assert search.best_params_["alpha"] != 10.0       # alpha=10 shrinks W to ~0
    assert scores[2] < scores.max() - 0.05
    assert search.best_estimator_.score(X, y) > 0.95


# -- early stopping -------------------------------------------------------------------
def test_early_stopping_records_validation_accuracies(cancer):
    X, y = cancer
    est = SGDClassifier(early_stopping=True, random_state=0, n_iter_no_change=3,
                        max_iter=500).fit(X, y)
    scores = np.asarray(est.validation_scores_)
    assert len(scores) == est.n_iter_ == len(est.validation_loss_curve_) < 500
    assert ((scores >= 0) & (scores <= 1)).all() and scores.max() > 0.9
    n_val = int(np.ceil(0.1 * len(y)))       # scikit-learn's stratified split: 57 rows
    assert_allclose(scores * n_val, np.round(scores * n_val), atol=1e-9)


@pytest.mark.parametrize("multi_class", ["ovr", "multinomial"])
def test_early_stopping_scoring_loss_records_minus_the_validation_loss(cancer, wine,
                                                                        multi_class):
    X, y = wine if multi_class == "multinomial" else cancer
    est = SGDClassifier(loss="log_loss", multi_class=multi_class, early_stopping=True,
                        scoring="loss", random_state=0, max_iter=100).fit(X, y)
    scores = np.asarray(est.validation_scores_)
    assert (scores < 0).all()
    assert_allclose(scores, -np.asarray(est.validation_loss_curve_), rtol=1e-12)


@pytest.mark.parametrize("scoring", ["accuracy", "loss"])
def test_restore_best_weights(wine, scoring):
    X, y = wine
    kw = dict(loss="log_loss", multi_class="multinomial", early_stopping=True,
              scoring=scoring, random_state=0)
    best = SGDClassifier(restore_best_weights=True, n_iter_no_change=5, **kw).fit(X, y)
    last = SGDClassifier(n_iter_no_change=5, **kw).fit(X, y)
    scores = best.validation_scores_
    assert 1 <= best.best_epoch_ <= best.n_iter_ == last.n_iter_
    assert scores[best.best_epoch_ - 1] == max(scores)
    # the model of the best epoch: the same fit stopped there
    again = quiet_fit(SGDClassifier(max_iter=best.best_epoch_, tol=None, **kw), X, y)
    assert_array_equal(best.coef_, again.coef_)
    assert_array_equal(best.intercept_, again.intercept_)
    if best.best_epoch_ < best.n_iter_:
        assert not np.array_equal(best.coef_, last.coef_)
