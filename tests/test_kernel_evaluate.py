"""The evaluation layer (kernel/evaluate.pxd): a model's objective over rows,
read target-major or from the feature-major copy of several targets on CSR
rows (Workspace.objective), against each other and against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import log_softmax

import descent
from descent import _kernels, _plan

N, D, K, ALPHA = 300, 500, 5, 1e-3


def workspace(X, Y, loss, *, average_start, multinomial=False, model=None, n_val=0):
    # (a constant step: "optimal" needs the t0 the estimator computes)
    est = descent.SGDClassifier(loss=loss, alpha=ALPHA, learning_rate="constant", eta0=0.01,
                                multi_class="multinomial" if multinomial else "ovr")
    plan = _plan.make_plan(est, sparse=True)
    if multinomial:
        plan.fields["loss"] = int(_kernels.Loss.SOFTMAX)
    idx = np.arange(X.shape[0], dtype=np.int32)
    train, val = idx[:len(idx) - n_val], idx[len(idx) - n_val:]
    kernel_X = (X.data, X.indices, X.indptr, X.shape[1])
    model = np.zeros((K, D + 1)) if model is None else model
    avg = np.zeros((K, D + 2) if average_start > 0.0 else (0, 0))
    return _kernels.Workspace(kernel_X, Y, None, train, val, model, avg,
                              np.zeros((3, K * (D + 1))), np.zeros(0),
                              plan.settings(t=1.0, step=0.0, seed=0,
                                            average_start=average_start),
                              plan.rule_params)


def data(dtype, multinomial):
    rng = np.random.default_rng(5)
    X = sp.random(N, D, density=0.05, format="csr", random_state=6, dtype=dtype)
    X.data = rng.standard_normal(X.nnz).astype(dtype)
    labels = rng.integers(0, K, N)
    Y = (np.eye(K)[labels] if multinomial
         else np.where(np.eye(K)[labels] > 0, 1.0, -1.0))
    theta = rng.standard_normal((K, D + 1))
    return X, Y, labels, theta


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss, multinomial", [("log_loss", False), ("hinge", False),
                                               ("log_loss", True)])
def test_objective_from_the_feature_major_copy_is_the_target_major_one(dtype, loss,
                                                                       multinomial):
    X, Y, labels, theta = data(dtype, multinomial)
    # averaging runs its epochs target-major: no feature-major copy to read
    by_feature = workspace(X, Y, loss, average_start=0.0, multinomial=multinomial)
    by_target = workspace(X, Y, loss, average_start=1.0, multinomial=multinomial)
    assert by_feature.evaluates_by_feature() and not by_target.evaluates_by_feature()
    value = by_feature.objective(theta)
    assert value == by_target.objective(theta)       # the same sums: bit for bit
    # and NumPy's
    Z = np.asarray(X.astype(np.float64) @ theta[:, :-1].T) + theta[:, -1]
    if multinomial:
        loss_sum = -log_softmax(Z, axis=1)[np.arange(N), labels].sum()
    elif loss == "log_loss":
        loss_sum = np.logaddexp(0.0, -Y * Z).sum()
    else:
        loss_sum = np.maximum(0.0, 1.0 - Y * Z).sum()
    expected = loss_sum / N + 0.5 * ALPHA * np.sum(theta[:, :-1] ** 2)
    assert value == pytest.approx(expected, rel=1e-12)
    # the copy is scratch: the next epoch copies its model in again
    models = [np.zeros((K, D + 1)), np.zeros((K, D + 1))]
    runs = [workspace(X, Y, loss, average_start=0.0, multinomial=multinomial, model=m)
            for m in models]
    runs[0].objective(theta)
    for ws in runs:
        ws.epoch()
    np.testing.assert_array_equal(models[0], models[1])
    assert np.any(models[0] != 0.0)


def test_few_rows_of_a_wide_model_are_read_target_major():
    # copying K x (d + 1) coefficients for a few rows' non-zeros does not pay
    X, Y, _, theta = data(np.float64, False)
    ws = workspace(X, Y, "log_loss", average_start=0.0)
    assert ws.evaluates_by_feature()
    assert not ws.evaluates_by_feature(max_rows=1)
    assert ws.objective(theta, max_rows=1) == workspace(
        X, Y, "log_loss", average_start=1.0).objective(theta, max_rows=1)


@pytest.mark.parametrize("multinomial", [False, True])
def test_validation_scores_from_the_feature_major_copy_are_the_target_major_ones(
        multinomial):
    # early stopping's accuracy and log-loss on the held-out rows
    X, Y, labels, theta = data(np.float64, multinomial)
    scores = []
    for average_start in (0.0, 1.0):
        model = theta.copy()
        ws = workspace(X, Y, "log_loss", average_start=average_start,
                       multinomial=multinomial, model=model, n_val=60)
        assert ws.evaluates_by_feature(validation=True) == (average_start == 0.0)
        scores.append((ws.validation_accuracy(), ws.validation_loss()))
    assert scores[0] == scores[1]
    Z = np.asarray(X[-60:] @ theta[:, :-1].T) + theta[:, -1]
    assert scores[0][0] == np.mean(Z.argmax(axis=1) == labels[-60:])
