"""Sparse input: CSR rows in the kernels, the same model as dense input."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Ridge

import descent._sgd as sgd_module
from descent import SGDRegressor
from descent.optim import Adam


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 25))
    X[rng.random(X.shape) < 0.75] = 0.0          # 75 % zeros
    y = X @ rng.standard_normal(25) + 0.1 * rng.standard_normal(300)
    return X, y


FAST = dict(max_iter=15, tol=None, random_state=0)


@pytest.mark.parametrize("params", [
    dict(fit_intercept=False),
    dict(fit_intercept=False, penalty=None),
    dict(fit_intercept=False, learning_rate="constant", eta0=0.05, alpha=0.01),
    dict(fit_intercept=False, average=True),
    dict(fit_intercept=False, average=500, loss="huber", epsilon=0.5),
    dict(fit_intercept=False, clip_grad_norm=0.5),
    dict(fit_intercept=False, learning_rate="optimal"),
])
def test_plain_sgd_sparse_equals_dense(data, params):
    # Per-sample SGD on CSR rows costs O(nnz) (weight scale for L2) and gives
    # the dense coefficients.
    X, y = data
    dense = SGDRegressor(**FAST, **params).fit(X, y)
    sparse = SGDRegressor(**FAST, **params).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10, atol=1e-14)
    assert sparse.loss_curve_ == pytest.approx(dense.loss_curve_, rel=1e-10)


def test_intercept_decay_is_the_only_difference(data, monkeypatch):
    X, y = data
    dense = SGDRegressor(**FAST).fit(X, y)
    sparse = SGDRegressor(**FAST).fit(sp.csr_matrix(X), y)
    # scikit-learn's sparse intercept decay (0.01) slows the intercept down...
    assert abs(sparse.intercept_[0] - dense.intercept_[0]) > 1e-6
    # ...and with it set to 1 the two agree
    monkeypatch.setattr(sgd_module, "SPARSE_INTERCEPT_DECAY", 1.0)
    sparse = SGDRegressor(**FAST).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-10)


@pytest.mark.parametrize("params", [
    dict(optimizer="adam"), dict(optimizer="momentum", batch_size=16),
    dict(optimizer="rmsprop", batch_size=None, learning_rate="constant"),
    dict(optimizer="adagrad", penalty="l1"), dict(optimizer="adadelta", eta0=1.0),
    dict(optimizer=Adam(lr=0.01, amsgrad=True), average=True),
    dict(optimizer="adamw", batch_size=8, penalty="elasticnet"),
    dict(batch_size=32), dict(batch_size=None, learning_rate="constant", eta0=0.1),
])
def test_optimizers_sparse_equal_dense(data, params):
    # The update rules act on every coordinate, as for dense rows (exact).
    X, y = data
    dense = SGDRegressor(**FAST, **params).fit(X, y)
    sparse = SGDRegressor(**FAST, **params).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_sparse_l1_reaches_the_same_objective(data, penalty):
    # On CSR rows the cumulative L1 penalty reaches a coordinate when a row
    # touches it, after that row's gradient step (as in scikit-learn), where
    # dense rows apply it at every step: the iterates differ where weights are
    # clipped at zero, the objective they reach does not.
    X, y = data
    alpha, l1_ratio = 0.01, 0.5
    params = dict(penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, fit_intercept=False,
                  max_iter=200, tol=None, random_state=0, learning_rate="invscaling",
                  eta0=0.02, power_t=0.5)
    r = 1.0 if penalty == "l1" else l1_ratio

    def objective(coef):
        res = X @ coef - y
        return (0.5 * np.mean(res**2)
                + alpha * (r * np.abs(coef).sum() + 0.5 * (1 - r) * coef @ coef))

    dense = SGDRegressor(**params).fit(X, y)
    sparse = SGDRegressor(**params).fit(sp.csr_matrix(X), y)
    assert objective(sparse.coef_) == pytest.approx(objective(dense.coef_), rel=1e-4)
    assert (sparse.coef_ == 0).sum() > 0


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "csr_array"])
def test_formats_are_converted_and_untouched(data, fmt):
    X, y = data
    Xs = sp.csr_array(X) if fmt == "csr_array" else getattr(sp, f"{fmt}_matrix")(X)
    before = Xs.copy()
    model = SGDRegressor(**FAST).fit(Xs, y)
    np.testing.assert_allclose(model.predict(Xs), model.predict(X), rtol=1e-12)
    assert (Xs != before).nnz == 0


def test_sparse_reaches_ridge_optimum(data):
    X, y = data
    n, alpha = X.shape[0], 0.01
    ridge = Ridge(alpha=n * alpha, fit_intercept=False).fit(X, y)

    def objective(coef):
        r = X @ coef - y
        return 0.5 * np.mean(r**2) + 0.5 * alpha * coef @ coef

    model = SGDRegressor(alpha=alpha, fit_intercept=False, batch_size=None,
                         learning_rate="constant", eta0=0.5, max_iter=3000,
                         tol=None).fit(sp.csr_matrix(X), y)
    assert objective(model.coef_) / objective(ridge.coef_) - 1 < 1e-8


def test_sparse_with_hogwild_raises(data):
    X, y = data
    with pytest.raises(ValueError, match="n_jobs"):
        SGDRegressor(n_jobs=2).fit(sp.csr_matrix(X), y)
