"""Multi-output y: one pass over X updates every target."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import DataConversionWarning

from descent import SGDRegressor


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 6))
    Y = X @ rng.standard_normal((6, 3)) + 0.1 * rng.standard_normal((200, 3))
    Y[:, 2] *= 3.0
    return X, Y


FIXED = dict(max_iter=8, tol=None, random_state=0)


@pytest.mark.parametrize("params", [
    dict(), dict(penalty="elasticnet", average=True), dict(loss="huber"),
    dict(optimizer="adam", eta0=0.01), dict(optimizer="momentum", batch_size=16),
    dict(optimizer="rmsprop", batch_size=None, learning_rate="constant"),
    dict(learning_rate="adaptive"),
])
@pytest.mark.parametrize("sparse", [False, True])
def test_each_target_equals_its_own_fit(data, params, sparse):
    # Targets share the sample order and schedule and nothing else: the joint
    # fit equals one fit per target (without clipping, which is joint).
    X, Y = data
    Xf = sp.csr_matrix(X) if sparse else X
    joint = SGDRegressor(**FIXED, **params).fit(Xf, Y)
    assert joint.coef_.shape == (3, 6) and joint.intercept_.shape == (3,)
    for k in range(3):
        single = SGDRegressor(**FIXED, **params).fit(Xf, Y[:, k])
        np.testing.assert_allclose(joint.coef_[k], single.coef_, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(joint.intercept_[k], single.intercept_[0],
                                   rtol=1e-12, atol=1e-14)
    # the objective is the sum of the targets' objectives
    total = sum(SGDRegressor(**FIXED, **params).fit(Xf, Y[:, k]).loss_curve_[-1]
                for k in range(3))
    assert joint.loss_curve_[-1] == pytest.approx(total, rel=1e-10)
    pred = joint.predict(Xf)
    assert pred.shape == (200, 3)
    np.testing.assert_allclose(pred, X @ joint.coef_.T + joint.intercept_, rtol=1e-12)


def test_clipping_is_joint(data):
    X, Y = data
    model = SGDRegressor(clip_grad_norm=0.1, learning_rate="constant", eta0=1.0,
                         max_iter=1, tol=None, shuffle=False, penalty=None,
                         fit_intercept=False).fit(X[:1], Y[:1])
    # one clipped step from 0: the whole (3 x 6) update has norm 0.1 * eta0
    assert np.linalg.norm(model.coef_) == pytest.approx(0.1, rel=1e-5)


def test_column_vector_is_one_target(data):
    X, Y = data
    with pytest.warns(DataConversionWarning):
        model = SGDRegressor(**FIXED).fit(X, Y[:, :1])
    assert model.coef_.shape == (6,) and model.intercept_.shape == (1,)
    assert model.predict(X).shape == (200,)


def test_partial_fit_keeps_the_number_of_targets(data):
    X, Y = data
    model = SGDRegressor(random_state=0).partial_fit(X, Y)
    model.partial_fit(X, Y)
    assert model.coef_.shape == (3, 6)
    with pytest.raises(ValueError, match="target"):
        model.partial_fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="target"):
        model.partial_fit(X, Y[:, :2])


def test_init_shapes(data):
    X, Y = data
    model = SGDRegressor(**FIXED, learning_rate="constant", eta0=1e-12).fit(
        X, Y, coef_init=np.ones((3, 6)), intercept_init=[1.0, 2.0, 3.0])
    np.testing.assert_allclose(model.coef_, 1.0, rtol=1e-6)
    np.testing.assert_allclose(model.intercept_, [1, 2, 3], rtol=1e-6)
    with pytest.raises(ValueError, match="coef_init"):
        SGDRegressor().fit(X, Y, coef_init=np.ones(6))
    with pytest.raises(ValueError, match="intercept_init"):
        SGDRegressor().fit(X, Y, intercept_init=[0.0])


def test_early_stopping_scores_average_the_targets(data):
    X, Y = data
    model = SGDRegressor(early_stopping=True, random_state=0, max_iter=50).fit(X, Y)
    assert max(model.validation_scores_) > 0.9
