"""Multi-output y: one pass over X updates every target."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import ShuffleSplit

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
@pytest.mark.parametrize("sparse,targets", [(False, 3), (True, 3), (True, 2)])
def test_each_target_equals_its_own_fit(data, params, sparse, targets):
    # Targets share the sample order and schedule and nothing else: the joint
    # fit equals one fit per target (without clipping, which is joint). On
    # CSR rows the targets train feature-major, padded to runs of 4.
    X, Y = data
    Y = Y[:, :targets]
    Xf = sp.csr_matrix(X) if sparse else X
    joint = SGDRegressor(**FIXED, **params).fit(Xf, Y)
    assert joint.coef_.shape == (targets, 6) and joint.intercept_.shape == (targets,)
    for k in range(targets):
        single = SGDRegressor(**FIXED, **params).fit(Xf, Y[:, k])
        np.testing.assert_allclose(joint.coef_[k], single.coef_, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(joint.intercept_[k], single.intercept_[0],
                                   rtol=1e-12, atol=1e-14)
    # the objective is the sum of the targets' objectives
    total = sum(SGDRegressor(**FIXED, **params).fit(Xf, Y[:, k]).loss_curve_[-1]
                for k in range(targets))
    assert joint.loss_curve_[-1] == pytest.approx(total, rel=1e-10)
    pred = joint.predict(Xf)
    assert pred.shape == (200, targets)
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


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_early_stopping_scores_average_the_targets(data, weighted):
    # validation_scores_[k] is the R^2 of the model after epoch k on the
    # validation rows (ShuffleSplit(test_size=validation_fraction,
    # random_state=random_state), as the estimator splits), averaged over
    # the targets with equal weights (RegressorMixin.score's uniform_average),
    # weighted by sample_weight. The model after epoch k is the fit with
    # max_iter=k: the same seed gives the same shuffles.
    X, Y = data
    sw = np.random.default_rng(2).uniform(0.2, 2.0, len(Y)) if weighted else None
    params = dict(early_stopping=True, random_state=0, validation_fraction=0.2,
                  n_iter_no_change=3)
    model = SGDRegressor(max_iter=50, **params).fit(X, Y, sample_weight=sw)
    scores = model.validation_scores_
    assert len(scores) == model.n_iter_ < 50          # it stopped early
    _, val = next(ShuffleSplit(test_size=0.2, random_state=0).split(np.zeros((len(Y), 1))))
    sw_val = None if sw is None else sw[val]
    for k in range(1, model.n_iter_ + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            after_k = SGDRegressor(max_iter=k, **params).fit(X, Y, sample_weight=sw)
        pred = after_k.predict(X[val])
        per_target = [r2_score(Y[val, t], pred[:, t], sample_weight=sw_val)
                      for t in range(Y.shape[1])]
        assert scores[k - 1] == pytest.approx(np.mean(per_target), rel=1e-12), k
        if k == 1:
            # the targets' R^2 differ, so the mean is a real claim (neither
            # one target's score nor the variance-weighted average)
            assert np.ptp(per_target) > 1e-2
            weighted_avg = r2_score(Y[val], pred, sample_weight=sw_val,
                                    multioutput="variance_weighted")
            assert abs(weighted_avg - np.mean(per_target)) > 1e-3
    assert max(scores) > 0.9
