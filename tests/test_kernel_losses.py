"""The losses and penalties layers (kernel/losses.pxd, kernel/penalties.pxd)
through the py_* wrappers, against NumPy formulas (scikit-learn's definitions)."""

import numpy as np
import pytest

from descent import _kernels as K

RNG = np.random.default_rng(0)
Y = RNG.normal(size=200)
P = Y + RNG.normal(scale=2.0, size=200)
# edge points: exactly on the epsilon boundary and at zero residual
Y = np.r_[Y, 0.0, 0.0, 0.0, 1.0]
P = np.r_[P, 0.1, -0.1, 0.0, 1.0]


def numpy_loss(kind, y, p, eps):
    r = p - y
    a = np.abs(r)
    if kind == "squared_error":
        return 0.5 * r**2, r
    if kind == "huber":
        value = np.where(a <= eps, 0.5 * r**2, eps * a - 0.5 * eps**2)
        return value, np.where(a <= eps, r, eps * np.sign(r))
    if kind == "epsilon_insensitive":
        return np.maximum(a - eps, 0.0), np.where(a > eps, np.sign(r), 0.0)
    if kind == "squared_epsilon_insensitive":
        value = np.maximum(a - eps, 0.0) ** 2
        return value, np.where(a > eps, 2 * (r - eps * np.sign(r)), 0.0)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["squared_error", "huber", "epsilon_insensitive",
                                  "squared_epsilon_insensitive"])
@pytest.mark.parametrize("eps", [0.1, 1.35])
def test_loss_and_derivative(kind, eps):
    code = K.Loss[kind.upper()]
    value, deriv = numpy_loss(kind, Y, P, eps)
    np.testing.assert_allclose(K.py_loss(code, Y, P, eps), value, rtol=1e-15, atol=0)
    np.testing.assert_allclose(K.py_dloss(code, Y, P, eps), deriv, rtol=1e-15, atol=0)


@pytest.mark.parametrize("kind", ["squared_error", "huber", "epsilon_insensitive",
                                  "squared_epsilon_insensitive"])
def test_derivative_is_the_slope(kind):
    # Central differences away from the kinks.
    code = K.Loss[kind.upper()]
    eps, h = 0.3, 1e-6
    p = P[np.abs(np.abs(P - Y) - eps) > 1e-3]
    y = Y[np.abs(np.abs(P - Y) - eps) > 1e-3]
    slope = (K.py_loss(code, y, p + h, eps) - K.py_loss(code, y, p - h, eps)) / (2 * h)
    np.testing.assert_allclose(K.py_dloss(code, y, p, eps), slope, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kind,l1_ratio", [("L2", 0.0), ("L1", 1.0),
                                           ("ELASTICNET", 0.3), ("NO_PENALTY", 0.0)])
def test_penalty_value(kind, l1_ratio):
    w = RNG.normal(size=17)
    alpha = 0.07
    expected = alpha * (l1_ratio * np.abs(w).sum() + 0.5 * (1 - l1_ratio) * w @ w)
    if kind == "NO_PENALTY":
        expected = 0.0
    assert K.py_penalty(K.Penalty[kind], w, alpha, 0.3) == pytest.approx(expected, rel=1e-14)


def test_enums_are_one_definition():
    # Python and Cython read the same enum; values are what the plan maps to.
    from descent import _losses, _plan
    assert _losses.LOSSES["huber"].code == K.Loss.HUBER
    assert _losses.LOSSES["perceptron"].code == K.Loss.HINGE
    assert _losses.SOFTMAX.code == K.Loss.SOFTMAX
    assert _plan.PENALTIES[None] == K.Penalty.NO_PENALTY
    assert _plan.SCHEDULES["optimal"] == K.Schedule.OPTIMAL
    assert len({int(v) for v in K.Rule}) == len(K.Rule)


def test_build_facts():
    import descent
    config = descent.show_config(print_out=False)
    assert config["build_type"] in {"Release", "Debug", "RelWithDebInfo", "MinSizeRel"}
    assert isinstance(config["openmp"], bool)
    assert config["max_threads"] >= 1


@pytest.mark.parametrize("kind", ["squared_error", "huber", "epsilon_insensitive",
                                  "squared_epsilon_insensitive"])
@pytest.mark.parametrize("coef", [0.0, 0.3])
def test_workspace_objective_with_and_without_coefficients(kind, coef):
    # the objective of a model whose coefs are all 0 is taken from y alone
    # (evaluate.pxd's objective_at): the same value as the NumPy formula,
    # with sample weights, two targets and target weights, as with coefs
    import descent
    from descent import _plan

    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    y = np.ascontiguousarray(rng.normal(size=(50, 2)))
    sw, tw = rng.uniform(0.5, 2.0, 50), np.array([0.7, 1.3])
    theta = np.zeros((2, 4))
    theta[:, :3], theta[:, 3] = coef, [0.2, -0.4]
    est = descent.SGDRegressor(loss=kind, epsilon=0.1, penalty="l2", alpha=0.01)
    plan = _plan.make_plan(est, sparse=False).with_problem(alpha=0.01, l1_ratio=0.0,
                                                           epsilon=0.1)
    idx = np.arange(50, dtype=np.int32)
    ws = K.Workspace(X, y, sw, idx, idx[:0], theta.copy(), np.zeros((0, 0)),
                     np.zeros((3, 8)), np.zeros(0), plan.settings(t=1.0, step=0.0, seed=0),
                     plan.rule_params, tw)
    p = X @ theta[:, :3].T + theta[:, 3]
    expected = sum(tw[t] * (np.mean(sw * numpy_loss(kind, y[:, t], p[:, t], 0.1)[0])
                            + 0.005 * theta[t, :3] @ theta[t, :3]) for t in range(2))
    np.testing.assert_allclose(ws.objective(theta), expected, rtol=1e-13)
