"""A classifier's targets as the kernels read them (descent._labels): K >= 3
classes held as the class of each row (ClassTargets, the kernels'
Data.label), against the (n, K) matrix of +-1 / one-hot rows they replace."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import descent
from descent import _kernels, _labels, _plan


def test_class_targets_read_as_the_matrix_they_stand_for():
    index = np.array([2, 0, 1, 2, 3])
    for rest, multinomial in ((-1.0, False), (0.0, True)):
        y = _labels.encode(index, 4, multinomial)
        assert isinstance(y, _labels.ClassTargets) and y.rest == rest
        matrix = np.full((5, 4), rest)
        matrix[np.arange(5), index] = 1.0
        assert y.shape == (5, 4) and y.ndim == 2
        np.testing.assert_array_equal(np.asarray(y), matrix)
        np.testing.assert_array_equal(np.asarray(y, dtype=np.float32), matrix)
        if np.lib.NumpyVersion(np.__version__) >= "2.0.0":   # (copy=: NumPy 2)
            with pytest.raises(ValueError, match="without a copy"):
                np.asarray(y, copy=False)     # a view or an error
        np.testing.assert_array_equal(np.asarray(y[[4, 1]]), matrix[[4, 1]])
        np.testing.assert_array_equal(np.asarray(y[1:3]), matrix[1:3])
        np.testing.assert_array_equal(y[:, 2], matrix[:, 2])
        np.testing.assert_array_equal(_labels.labels_of(y), index)
        assert _labels.kernel_targets(y)[1:] == (4, rest)
    binary = _labels.encode(np.array([1, 0, 1]), 2, False)
    np.testing.assert_array_equal(binary, [[1.0], [-1.0], [1.0]])
    assert _labels.kernel_targets(binary) is binary


def _workspace(y, X, K):
    est = descent.SGDClassifier(learning_rate="constant", eta0=0.01)
    plan = _plan.make_plan(est, sparse=False)
    idx = np.arange(X.shape[0], dtype=np.int32)
    d = X.shape[1]
    return _kernels.Workspace(X, y, None, idx, idx[:0], np.zeros((K, d + 1)),
                              np.zeros((0, 0)), np.zeros((3, K * (d + 1))), np.zeros(0),
                              plan.settings(t=1.0, step=0.0, seed=0), plan.rule_params)


@pytest.mark.parametrize("classes, K, message", [
    ([0, 1, 3], 3, "class indices"), ([0, -1, 2], 3, "class indices"),
    ([0, 0, 0], 1, "class indices"), ([0, 1], 3, "same length")])
def test_the_kernel_refuses_classes_out_of_range(classes, K, message):
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match=message):
        _workspace((np.array(classes, dtype=np.int32), K, -1.0), X, K)


def _as_matrix(monkeypatch):
    # the encoding before ClassTargets: the (n, K) float64 matrix
    encode = _labels.encode
    monkeypatch.setattr(_labels, "encode", lambda *args: np.asarray(encode(*args)))


CONFIGS = [
    dict(loss="log_loss"),
    dict(loss="hinge", average=True),
    dict(loss="modified_huber", penalty="elasticnet", class_weight="balanced"),
    dict(loss="squared_hinge", learning_rate="optimal"),
    dict(loss="perceptron", penalty="l1", shuffle=False),
    dict(loss="log_loss", multi_class="multinomial"),
    dict(loss="log_loss", multi_class="multinomial", class_weight="balanced",
         early_stopping=True, scoring="loss"),
    dict(loss="log_loss", early_stopping=True),
    dict(loss="hinge", optimizer="adam", batch_size=32),
    dict(loss="log_loss", optimizer="nesterov", batch_size=None, multi_class="multinomial"),
    dict(loss="log_loss", tol=1e-3, max_iter=50),
    dict(loss="log_loss", n_jobs=2, batch_size=16),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
def test_fits_on_class_targets_are_the_fits_on_the_matrix(config, sparse, monkeypatch):
    # The kernels' sums are the same in either form (1 at the class, -1 or 0
    # elsewhere, the softmax's sums over zeros taken as they are): the same
    # fits, bit for bit, from the first step to the end-of-fit checks.
    rng = np.random.default_rng(3)
    n, d, K = 240, 12, 4
    X = rng.standard_normal((n, d)) * (rng.random((n, d)) < (0.4 if sparse else 1.0))
    y = np.array(["a", "b", "c", "d"])[(X[:, :K] + 0.5 * rng.standard_normal((n, K)))
                                       .argmax(axis=1)]
    X = sp.csr_matrix(X) if sparse else X
    kw = dict(random_state=0, max_iter=5, tol=None, alpha=1e-3)
    kw.update(config)
    with np.errstate(all="ignore"):
        fitted = descent.SGDClassifier(**kw).fit(X, y)
        model = descent.SGDClassifier(**kw).fit(X, y)
        model.partial_fit(X[:60], y[:60])
        with monkeypatch.context() as patch:
            _as_matrix(patch)
            before = descent.SGDClassifier(**kw).fit(X, y)
            again = descent.SGDClassifier(**kw).fit(X, y)
            again.partial_fit(X[:60], y[:60])
    for ours, theirs in ((fitted, before), (model, again)):
        np.testing.assert_array_equal(ours.coef_, theirs.coef_)
        np.testing.assert_array_equal(ours.intercept_, theirs.intercept_)
        assert ours.loss_curve_ == theirs.loss_curve_ and ours.t_ == theirs.t_
        assert getattr(ours, "validation_scores_", None) == getattr(
            theirs, "validation_scores_", None)


def test_many_classes_cost_four_bytes_a_row_not_eight_a_class():
    # 20,000 rows of 200 classes: the (n, K) matrix was 32 MB, 20 times X
    # (10 columns); the classes are 80 KB.
    rng = np.random.default_rng(0)
    n, d, K = 20_000, 10, 200
    X = rng.standard_normal((n, d))
    y = rng.integers(0, K, n)
    model = descent.SGDClassifier(max_iter=1, tol=None, random_state=0)
    tracemalloc.start()
    try:
        model.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert model.coef_.shape == (K, d)
    assert peak < 0.25 * n * K * 8, peak / (n * K * 8)
