"""Tests of descent.minimize, the scipy.optimize.minimize-like driver."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import OptimizeResult

import descent
from descent import minimize
from descent.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop


def sq(x):
    return x @ x, 2 * x


@pytest.fixture
def x0():
    return np.random.default_rng(0).standard_normal(10)


# (method, lr, maxiter) that minimise |x|^2 from a standard normal 10-vector.
CONVERGING = [
    ("sgd", 0.1, 1000),
    ("momentum", 0.05, 3000),
    ("nesterov", 0.05, 3000),
    ("adagrad", 0.5, 3000),
    ("rmsprop", 0.01, 5000),
    ("adadelta", 1.0, 5000),
    ("adam", 0.1, 5000),
    ("amsgrad", 0.1, 5000),
    ("adamw", 0.1, 5000),
]


@pytest.mark.parametrize("method,lr,maxiter", CONVERGING, ids=[c[0] for c in CONVERGING])
def test_quadratic_converges(method, lr, maxiter, x0):
    x0_copy = x0.copy()
    res = minimize(sq, x0, jac=True, method=method, lr=lr, maxiter=maxiter, tol=1e-8)
    assert isinstance(res, OptimizeResult)
    assert res.success
    assert res.status == 0
    assert isinstance(res.message, str) and res.message
    assert 0 < res.nit < maxiter
    assert np.linalg.norm(res.x) < 1e-8
    assert np.linalg.norm(res.jac) <= 1e-8
    assert_allclose(res.jac, 2 * res.x)
    assert res.fun == pytest.approx(res.x @ res.x, abs=1e-30)
    assert res.nfev == res.nit + 1
    assert res.x.shape == x0.shape and res.x.dtype == np.float64
    assert_array_equal(x0, x0_copy)


def test_least_squares_full_batch_gd():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((50, 5))
    b = rng.standard_normal(50)
    expected = np.linalg.lstsq(A, b, rcond=None)[0]
    L = np.linalg.eigvalsh(A.T @ A).max()

    def fun(x):
        r = A @ x - b
        return 0.5 * r @ r, A.T @ r

    x0 = np.zeros(5)
    res = minimize(fun, x0, jac=True, method="sgd", lr=1.0 / L, maxiter=5000, tol=1e-10)
    assert res.success
    assert_allclose(res.x, expected, rtol=0, atol=1e-6)
    assert np.abs(res.x - expected).max() < 1e-6
    assert_array_equal(x0, 0.0)


def test_sgd_is_plain_gradient_descent():
    # method="sgd" makes exactly x <- x - lr * grad(x)
    rng = np.random.default_rng(2)
    A = rng.standard_normal((20, 4))
    b = rng.standard_normal(20)

    def fun(x):
        r = A @ x - b
        return 0.5 * r @ r, A.T @ r

    x = np.ones(4)
    for _ in range(13):
        x = x - 0.01 * fun(x)[1]
    res = minimize(fun, np.ones(4), jac=True, method="sgd", lr=0.01, maxiter=13, tol=0)
    assert res.nit == 13
    assert_allclose(res.x, x, rtol=1e-14)


def test_jac_callable():
    c = np.array([1.0, -2.0, 3.0, 0.5])
    w = np.array([1.0, 2.0, 0.5, 4.0])
    calls = {"fun": 0, "jac": 0}

    def fun(x):
        calls["fun"] += 1
        return float(np.sum(w * (x - c) ** 2))

    def jac(x):
        calls["jac"] += 1
        return 2 * w * (x - c)

    res = minimize(fun, np.zeros(4), jac=jac, method="adam", lr=0.05,
                   maxiter=20000, tol=1e-9)
    assert res.success
    assert_allclose(res.x, c, atol=1e-9)
    assert calls["jac"] == res.nit + 1
    assert calls["fun"] == res.nit + 1
    assert res.fun == pytest.approx(fun(res.x))


def test_jac_none_finite_differences():
    c = np.array([1.0, -2.0, 3.0, 0.5])
    w = np.array([1.0, 2.0, 0.5, 4.0])

    def fun(x):
        return float(np.sum(w * (x - c) ** 2))

    res = minimize(fun, np.zeros(4), method="sgd", lr=0.05, maxiter=2000, tol=1e-5)
    assert res.success
    assert_allclose(res.x, c, atol=1e-4)
    # the reported gradient is a finite-difference estimate of the true one
    assert_allclose(res.jac, 2 * w * (res.x - c), atol=1e-5)


def test_jac_none_matches_analytic_path():
    # a few steps with finite differences stay close to the analytic run
    c = np.array([1.0, -2.0, 3.0])

    def fun(x):
        return float(np.sum((x - c) ** 2))

    a = minimize(fun, np.zeros(3), method="momentum", lr=0.05, maxiter=10, tol=0)
    b = minimize(lambda x: (fun(x), 2 * (x - c)), np.zeros(3), jac=True,
                 method="momentum", lr=0.05, maxiter=10, tol=0)
    assert a.nit == b.nit == 10
    assert_allclose(a.x, b.x, atol=1e-6)


def test_jac_none_2d_x0():
    c = np.arange(6.0).reshape(2, 3)

    def fun(x):
        assert x.shape == (2, 3)
        return float(np.sum((x - c) ** 2))

    res = minimize(fun, np.zeros((2, 3)), method="sgd", lr=0.1, maxiter=1000, tol=1e-5)
    assert res.success
    assert res.x.shape == (2, 3)
    assert res.jac.shape == (2, 3)
    assert_allclose(res.x, c, atol=1e-4)


def test_maxiter_reached(x0):
    res = minimize(sq, x0, jac=True, method="adam", lr=1e-3, maxiter=25, tol=1e-12)
    assert not res.success
    assert res.status == 1
    assert res.nit == 25
    assert res.nfev == 26
    assert isinstance(res.message, str) and res.message
    assert "iteration" in res.message.lower() or "maxiter" in res.message.lower()
    # and it did 25 Adam steps
    x = x0.copy()
    opt = Adam(lr=1e-3)
    for _ in range(25):
        opt.step(x, 2 * x)
    assert_allclose(res.x, x, rtol=1e-14)
    assert res.fun == pytest.approx(x @ x, rel=1e-14)


def test_x0_not_modified_and_list_x0():
    x0 = np.array([1.0, 2.0, 3.0])
    view = x0[:]
    res = minimize(sq, x0, jac=True, method="sgd", lr=0.1, maxiter=500, tol=1e-8)
    assert res.success
    assert_array_equal(x0, [1.0, 2.0, 3.0])
    assert_array_equal(view, [1.0, 2.0, 3.0])
    assert res.x is not x0
    res2 = minimize(sq, [1.0, 2.0, 3.0], jac=True, method="sgd", lr=0.1,
                    maxiter=500, tol=1e-8)
    assert_array_equal(res.x, res2.x)
    res3 = minimize(sq, [1, 2, 3], jac=True, method="sgd", lr=0.1, maxiter=500, tol=1e-8)
    assert res3.x.dtype == np.float64
    assert_array_equal(res.x, res3.x)


def test_x0_float32_not_modified():
    x0 = np.array([1.0, 2.0], dtype=np.float32)
    res = minimize(sq, x0, jac=True, method="sgd", lr=0.1, maxiter=500, tol=1e-8)
    assert res.success
    assert_array_equal(x0, np.array([1.0, 2.0], dtype=np.float32))


def test_already_optimal():
    res = minimize(sq, np.zeros(3), jac=True, method="adam")
    assert res.success and res.status == 0
    assert res.nit == 0 and res.nfev == 1
    assert_array_equal(res.x, 0.0)


def test_callback_receives_results(x0):
    seen = []

    def cb(intermediate_result):      # scipy's name: the OptimizeResult is passed
        assert isinstance(intermediate_result, OptimizeResult)
        seen.append((intermediate_result.nit, intermediate_result.x.copy(),
                     intermediate_result.fun))
        intermediate_result.x[:] = 1e6       # must not affect the run

    res = minimize(sq, x0, jac=True, method="sgd", lr=0.1, maxiter=5, tol=0,
                   callback=cb)
    assert res.nit == 5 and res.status == 1
    assert [s[0] for s in seen] == [1, 2, 3, 4, 5]
    x = x0.copy()
    for nit, xs, fun in seen:
        x = x - 0.1 * 2 * x
        assert_allclose(xs, x, rtol=1e-14)
        assert fun == pytest.approx(x @ x, rel=1e-14)
    assert_allclose(res.x, x, rtol=1e-14)


def test_callback_true_stops(x0):
    def cb(intermediate_result):
        return intermediate_result.nit >= 3

    res = minimize(sq, x0, jac=True, method="adam", lr=0.01, maxiter=1000, tol=1e-12,
                   callback=cb)
    assert res.status == 2
    assert not res.success
    assert res.nit == 3
    assert isinstance(res.message, str) and res.message
    x = x0.copy()
    opt = Adam(lr=0.01)
    for _ in range(3):
        opt.step(x, 2 * x)
    assert_allclose(res.x, x, rtol=1e-14)


def test_callback_stop_iteration(x0):
    def cb(intermediate_result):
        if intermediate_result.nit == 4:
            raise StopIteration

    res = minimize(sq, x0, jac=True, method="sgd", lr=0.01, maxiter=100, tol=0,
                   callback=cb)
    assert res.status == 2 and res.nit == 4 and not res.success


def test_callback_none_or_false_continues(x0):
    res = minimize(sq, x0, jac=True, method="sgd", lr=0.01, maxiter=7, tol=0,
                   callback=lambda r: False)
    assert res.status == 1 and res.nit == 7


@pytest.mark.parametrize("opt,kw", [
    (Adam(lr=0.1), dict(lr=0.1)),
    (SGD(lr=0.05, momentum=0.9, nesterov=True), dict(lr=0.05)),
    (RMSprop(lr=0.01, centered=True), dict(lr=0.01)),
    (Adagrad(lr=0.5, lr_decay=0.001), dict(lr=0.5)),
    (Adadelta(), dict()),
    (AdamW(lr=0.1, weight_decay=0.0, amsgrad=True), dict(lr=0.1)),
], ids=lambda v: type(v).__name__ if not isinstance(v, dict) else "")
def test_optimizer_instance_as_method(opt, kw, x0):
    res = minimize(sq, x0, jac=True, method=opt, maxiter=20, tol=0)
    assert res.nit == 20
    # equals stepping a fresh copy of the optimizer by hand
    fresh = type(opt)(**opt.get_params())
    x = x0.copy()
    for _ in range(20):
        fresh.step(x, 2 * x)
    assert_allclose(res.x, x, rtol=1e-14)
    assert opt.n_steps == 20
    # a second run starts from a clean state (the instance is reset)
    res2 = minimize(sq, x0, jac=True, method=opt, maxiter=20, tol=0)
    assert_array_equal(res2.x, res.x)


def test_optimizer_instance_with_lr_raises(x0):
    with pytest.raises(ValueError):
        minimize(sq, x0, jac=True, method=Adam(), lr=0.1)
    with pytest.raises(ValueError):
        minimize(sq, x0, jac=True, method=Adam(), betas=(0.5, 0.9))


def test_optimizer_options_passed(x0):
    res = minimize(sq, x0, jac=True, method="adam", lr=0.05, maxiter=15, tol=0,
                   betas=(0.5, 0.9), eps=1e-3)
    opt = Adam(lr=0.05, betas=(0.5, 0.9), eps=1e-3)
    x = x0.copy()
    for _ in range(15):
        opt.step(x, 2 * x)
    assert_allclose(res.x, x, rtol=1e-14)
    res = minimize(sq, x0, jac=True, method="sgd", lr=0.01, maxiter=15, tol=0,
                   momentum=0.5, dampening=0.2)
    opt = SGD(lr=0.01, momentum=0.5, dampening=0.2)
    x = x0.copy()
    for _ in range(15):
        opt.step(x, 2 * x)
    assert_allclose(res.x, x, rtol=1e-14)


def test_adamw_weight_decay_option(x0):
    res = minimize(sq, x0, jac=True, method="adamw", lr=0.05, maxiter=15, tol=0,
                   weight_decay=0.3)
    opt = AdamW(lr=0.05, weight_decay=0.3)
    x = x0.copy()
    for _ in range(15):
        opt.step(x, 2 * x)
    assert_allclose(res.x, x, rtol=1e-14)


def test_unknown_optimizer_option_raises(x0):
    with pytest.raises(ValueError):
        minimize(sq, x0, jac=True, method="adam", not_an_option=1.0)


@pytest.mark.parametrize("method,opt", [
    ("sgd", SGD(lr=1e-3)),
    ("momentum", SGD(lr=1e-3, momentum=0.9)),
    ("nesterov", SGD(lr=1e-3, momentum=0.9, nesterov=True)),
    ("adagrad", Adagrad(lr=1e-2)),
    ("rmsprop", RMSprop(lr=1e-2)),
    ("adadelta", Adadelta(lr=1.0)),
    ("adam", Adam(lr=1e-3)),
    ("amsgrad", Adam(lr=1e-3, amsgrad=True)),
], ids=lambda v: v if isinstance(v, str) else "")
def test_method_names_and_default_lr(method, opt, x0):
    res = minimize(sq, x0, jac=True, method=method, maxiter=12, tol=0)
    x = x0.copy()
    for _ in range(12):
        opt.step(x, 2 * x)
    assert_allclose(res.x, x, rtol=1e-14)


def test_default_method_is_adam(x0):
    res = minimize(sq, x0, jac=True, maxiter=12, tol=0)
    x = x0.copy()
    opt = Adam()
    for _ in range(12):
        opt.step(x, 2 * x)
    assert_allclose(res.x, x, rtol=1e-14)


@pytest.mark.parametrize("method", ["newton", "Adamx", "", None, 3, "lbfgs"])
def test_unknown_method_raises(method, x0):
    with pytest.raises(ValueError):
        minimize(sq, x0, jac=True, method=method)


@pytest.mark.parametrize("kw", [dict(maxiter=0), dict(maxiter=-5), dict(maxiter=2.5),
                                dict(tol=-1.0), dict(lr=-0.1)])
def test_invalid_settings_raise(kw, x0):
    with pytest.raises(ValueError):
        minimize(sq, x0, jac=True, method="sgd", **kw)


def test_nonfinite_x0_raises():
    with pytest.raises(ValueError):
        minimize(sq, np.array([1.0, np.nan]), jac=True)


def test_divergence_reports_failure():
    with np.errstate(over="ignore", invalid="ignore"):
        res = minimize(sq, np.ones(3), jac=True, method="sgd", lr=10.0,
                       maxiter=100000, tol=1e-8)
    assert not res.success
    assert res.status == 3
    assert res.nit < 100000
    assert isinstance(res.message, str) and res.message


def test_exported():
    assert descent.minimize is minimize


# -- scipy.optimize.minimize's signature ------------------------------------------
def test_args_options_and_old_style_callback():
    a = np.array([1.0, -2.0, 3.0])
    seen = []
    res = minimize(lambda x, c: ((x - c) @ (x - c), 2 * (x - c)), np.zeros(3), args=(a,),
                   jac=True, method="sgd", options=dict(lr=0.1, maxiter=300),
                   callback=lambda xk: seen.append(xk.copy()))
    assert res.success and res.nit == len(seen)
    assert_allclose(res.x, a, atol=1e-6)
    assert all(isinstance(s, np.ndarray) for s in seen)      # scipy: callback(xk)
    with pytest.raises(ValueError, match="both"):
        minimize(sq, np.zeros(3), jac=True, lr=0.1, options=dict(lr=0.2))


def test_nfev_counts_every_call_of_fun():
    # scipy's convention: finite differences cost len(x) + 1 calls per point,
    # f(x) reused (reproduced: 21 reported while fun ran 126 times)
    calls = []

    def fun(x):
        calls.append(1)
        return float(x @ x)

    res = minimize(fun, np.ones(5), method="sgd", options=dict(lr=0.1, maxiter=20), tol=0)
    assert res.nfev == len(calls) == 21 * 6
    calls.clear()
    res = minimize(fun, np.ones(5), jac=lambda x: 2 * x, method="sgd",
                   options=dict(lr=0.1, maxiter=20), tol=0)
    assert res.nfev == len(calls) == 21 and res.njev == 21


def test_bounds_by_projection():
    # minimise |x - c|^2 in the box [0, 1] x [0, inf) x (-inf, 0.5]
    c = np.array([2.0, -1.0, 3.0])
    fun = lambda x: ((x - c) @ (x - c), 2 * (x - c))      # noqa: E731
    expected = np.clip(c, [0, 0, -np.inf], [1, np.inf, 0.5])
    for bounds in ([(0, 1), (0, None), (None, 0.5)],
                   __import__("scipy.optimize").optimize.Bounds([0, 0, -np.inf],
                                                                [1, np.inf, 0.5])):
        res = minimize(fun, np.zeros(3), jac=True, method="adam", bounds=bounds,
                       options=dict(lr=0.05, maxiter=5000), tol=1e-8)
        assert res.success, res.message
        assert_allclose(res.x, expected, atol=1e-6)
    with pytest.raises(ValueError, match=r"one \(min, max\) pair per element"):
        minimize(fun, np.zeros(3), jac=True, bounds=[(0, 1)])
    with pytest.raises(ValueError, match="min <= max"):
        minimize(fun, np.zeros(3), jac=True, bounds=[(1, 0)] * 3)


def test_unsupported_arguments_and_a_non_finite_start():
    with pytest.raises(ValueError, match="hess is not supported"):
        minimize(sq, np.zeros(3), jac=True, hess=lambda x: np.eye(3))
    with pytest.raises(ValueError, match="constraints is not supported"):
        minimize(sq, np.zeros(3), jac=True, constraints=[{"type": "eq", "fun": sum}])
    # reproduced: NaN at x0 said "lower lr"
    with pytest.raises(ValueError, match="not finite at x0"):
        minimize(lambda x: (np.nan, x), np.zeros(3), jac=True)


# -- schedule= -------------------------------------------------------------------
def test_schedule_gives_each_step_its_rate():
    # Plain SGD on a quadratic: x_{t+1} = x_t - lr_t * 2 x_t, lr_t the
    # schedule's closed form at step t (a NumPy transcription of the loop).
    from descent.schedules import CosineAnnealingLR
    sched = CosineAnnealingLR(T_max=20, eta_min=0.01)
    before = sched.get_params()
    res = descent.minimize(lambda x: (x @ x, 2 * x), np.array([1.0, -2.0]), jac=True,
                           method="sgd", lr=0.2, maxiter=15, tol=0.0, schedule=sched)
    rates = sched.lr(0.2, np.arange(15))
    expected = np.array([1.0, -2.0])
    for lr_t in rates:
        expected = expected - lr_t * 2 * expected
    np.testing.assert_allclose(res.x, expected, rtol=1e-14)
    assert sched.get_params() == before      # the caller's object was not stepped
    with pytest.raises(RuntimeError):
        sched.get_last_lr()                  # ... nor started


def test_plateau_schedule_reads_the_objective():
    # A constant objective never improves: with patience 1, torch's rule
    # (reduce once more than `patience` steps went without improvement)
    # halves the rate after steps 3 and 5, so the gradient 1 moves x by
    # 1, 1, 1, 0.5, 0.5, 0.25.
    from descent.schedules import ReduceLROnPlateau
    res = descent.minimize(lambda x: (1.0, np.ones_like(x)), np.zeros(1), jac=True,
                           method="sgd", lr=1.0, maxiter=6, tol=0.0,
                           schedule=ReduceLROnPlateau(factor=0.5, patience=1))
    assert res.x[0] == -4.25


def test_schedule_must_be_a_schedule():
    with pytest.raises(ValueError, match=r"schedule must be a descent\.schedules"):
        descent.minimize(lambda x: x @ x, np.ones(2), schedule=0.1)


@pytest.mark.parametrize(("fun", "options", "match"), [
    # reproduced: "TypeError: only 0-dimensional arrays can be converted"
    (lambda x: x**2, {}, r"fun must return a real number .* shape \(3,\)"),
    (lambda x: "a", {}, r"fun must return a real number .* dtype <U1"),
    # reproduced: a bare reshape error that named neither jac nor x0
    (lambda x: (x**2).sum(), {"jac": lambda x: np.ones(5)},
     r"jac must be the gradient, of x0's shape \(3,\); got shape \(5,\)"),
    (lambda x: ((x**2).sum(), np.ones(2)), {"jac": True},
     r"fun's second value \(jac=True\) must be the gradient"),
])
def test_what_fun_and_jac_return_is_checked(fun, options, match):
    x0 = np.ones(3)
    with pytest.raises(ValueError, match=match):
        minimize(fun, x0, **options)
    assert_array_equal(x0, np.ones(3))


def test_a_one_element_array_is_a_value():
    # scipy accepts fun returning shape (1,); so does descent
    result = minimize(lambda x: np.array([(x**2).sum()]), np.ones(3), method="adam",
                      options={"maxiter": 5})
    reference = minimize(lambda x: (x**2).sum(), np.ones(3), method="adam",
                         options={"maxiter": 5})
    assert_array_equal(result.x, reference.x)


def test_scipy_conventions_for_args_and_method():
    # reproduced: args=3.0 raised "'float' object is not iterable" and
    # method="Adam" was refused; scipy wraps the one argument and lowercases
    # the method's name
    def shifted(x, c):
        return float(np.sum((x - c) ** 2))

    ours = minimize(shifted, np.zeros(2), args=3.0, method="Adam",
                    options=dict(lr=0.1, maxiter=3000))
    same = minimize(shifted, np.zeros(2), args=(3.0,), method="adam",
                    options=dict(lr=0.1, maxiter=3000))
    assert_array_equal(ours.x, same.x)
    assert_allclose(ours.x, [3.0, 3.0], atol=1e-3)
