"""descent.lr_find: the range test's suggestion fits standardized diabetes to
within 1e-3 of the exact ridge optimum; bad arguments raise ValueError naming
them; the caller's estimator, data and global RNG are left alone."""

from __future__ import annotations

import doctest
import math
import pickle
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_diabetes
from sklearn.linear_model import SGDRegressor as SklearnSGDRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import descent
from descent import _lr_find

ALPHA = 1e-4          # SGDRegressor's default


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X, (y - y.mean()) / y.std()


def ridge_objective(X, y, coef, intercept, alpha=ALPHA):
    """What descent minimises with loss="squared_error", penalty="l2":
    mean 0.5 * (y - X w - b)^2 + 0.5 * alpha * ||w||^2 (the L2 part of
    penalty_parts, times 1/2, as scikit-learn's SGD)."""
    r = y - X @ coef - intercept
    return 0.5 * np.mean(r * r) + 0.5 * alpha * coef @ coef


def ridge_optimum(X, y, alpha=ALPHA):
    """The closed-form minimiser of ridge_objective (intercept unpenalised):
    centre, solve (Xc'Xc / n + alpha I) w = Xc'yc / n."""
    n, d = X.shape
    Xc, yc = X - X.mean(0), y - y.mean()
    w = np.linalg.solve(Xc.T @ Xc / n + alpha * np.eye(d), Xc.T @ yc / n)
    return w, y.mean() - X.mean(0) @ w


# The fit that follows the test, per case: the steps the test measured
# (learning_rate="constant"); stochastic steps averaged (a constant step
# alone stays in a noise band, about 3e-3 above the optimum here), a fixed
# number of epochs (tol=None: the default tol=1e-3 stops in units of the
# objective, 4e-3 of it here, before the 1e-3 this test asks for).
CASES = {
    "sgd": (dict(optimizer="sgd"), dict(average=True, max_iter=500)),
    "adam": (dict(optimizer="adam"), dict(average=True, max_iter=500)),
    "full_batch": (dict(optimizer="sgd", batch_size=None), dict(max_iter=1000)),
}


def fit_gap(X, y, params, fit_params, eta0, seed):
    """Relative gap of the fit with eta0 to the exact optimum (inf if the
    fit diverges)."""
    est = descent.SGDRegressor(random_state=seed, eta0=eta0, learning_rate="constant",
                               tol=None, **params, **fit_params)
    try:
        est.fit(X, y)
    except ValueError:              # descent's divergence check
        return math.inf
    best = ridge_objective(X, y, *ridge_optimum(X, y))
    return (ridge_objective(X, y, est.coef_, est.intercept_[0]) - best) / best


# full batch does not depend on the seed: one
@pytest.mark.parametrize("case, seed", [("sgd", 0), ("sgd", 1), ("sgd", 2), ("adam", 0),
                                        ("adam", 1), ("adam", 2), ("full_batch", 0)])
def test_suggestion_fits_diabetes_to_the_optimum(diabetes, case, seed):
    X, y = diabetes
    params, fit_params = CASES[case]
    result = descent.lr_find(descent.SGDRegressor(random_state=seed, **params), X, y)
    assert result.diverged           # the test ran up to the blow-up
    assert result.suggested_eta0 == pytest.approx(result.lr_min / 10, rel=1e-12)
    gap = fit_gap(X, y, params, fit_params, result.suggested_eta0, seed)
    print(f"{case} seed {seed}: eta0 {result.suggested_eta0:.4g}, gap {gap:.2e}")
    assert 0 <= gap < 1e-3
    # the test can fail: a step 10 times smaller does not get there in the
    # same epochs (measured 5e-3 and more)
    assert fit_gap(X, y, params, fit_params, result.suggested_eta0 / 10, seed) > 1e-3


def test_full_batch_suggestion_is_inside_the_stable_steps(diabetes):
    # gradient descent on a quadratic is stable for steps below 2 / L; the
    # step at the test's minimum is past it (the blow-up shows late), the
    # suggestion inside
    X, y = diabetes
    Z = np.column_stack([X, np.ones(len(X))])
    L = np.linalg.eigvalsh(Z.T @ Z / len(X)).max() + ALPHA
    result = descent.lr_find(descent.SGDRegressor(batch_size=None), X, y)
    assert result.lr_min > 2 / L
    assert 0.5 / L < result.suggested_eta0 < 1 / L
    params, fit_params = CASES["full_batch"]
    assert fit_gap(X, y, params, fit_params, result.lr_min, 0) == math.inf


def test_objective_is_the_estimators(diabetes):
    # the measured objective equals an independent formula, and the
    # objective descent itself records: a full-batch partial_fit's
    # loss_curve_ entry is the objective before its step
    X, y = diabetes
    est = descent.SGDRegressor(batch_size=None, eta0=0.1, learning_rate="constant")
    for _ in range(3):
        est.partial_fit(X, y)
    objective = _lr_find._RegressionObjective(est.get_params(), X, y, None,
                                              np.arange(len(y)))
    assert objective(est) == pytest.approx(
        ridge_objective(X, y, est.coef_, est.intercept_[0]), rel=1e-12)
    expected = objective(est)
    est.partial_fit(X, y)
    assert est.loss_curve_[-1] == pytest.approx(expected, rel=1e-10)


def test_objective_weights_losses_and_penalties():
    rng = np.random.default_rng(0)
    X, y, sw = rng.normal(size=(50, 3)), rng.normal(size=50), rng.random(50)
    est = descent.SGDRegressor(loss="huber", epsilon=0.5, penalty="elasticnet", alpha=0.1,
                               l1_ratio=0.3, max_iter=3, tol=None).fit(X, y)
    objective = _lr_find._RegressionObjective(est.get_params(), X, y, sw, np.arange(50))
    r = np.abs(y - est.predict(X))
    huber = np.where(r <= 0.5, 0.5 * r * r, 0.5 * (r - 0.25))
    w = est.coef_
    penalty = 0.1 * (0.3 * np.abs(w).sum() + 0.7 * 0.5 * w @ w)
    assert objective(est) == pytest.approx(np.mean(sw * huber) + penalty, rel=1e-12)


@pytest.mark.filterwarnings("ignore:the smoothed objective was still falling")
def test_result_shapes_and_smoothing(diabetes):
    X, y = diabetes
    result = descent.lr_find(descent.SGDRegressor(batch_size=None), X, y, min_lr=1e-4,
                             max_lr=1.0, n_lrs=30, smoothing=0.5)
    n = len(result.lrs)
    assert result.losses.shape == result.smoothed_losses.shape == (n,)
    np.testing.assert_allclose(result.lrs, np.geomspace(1e-4, 1.0, 30)[:n], rtol=1e-12)
    # bias-corrected exponential moving average, recomputed
    avg, expected = 0.0, []
    for k, loss in enumerate(result.losses, start=1):
        avg = 0.5 * avg + 0.5 * loss
        expected.append(avg / (1 - 0.5**k))
    np.testing.assert_allclose(result.smoothed_losses, expected, rtol=1e-12)
    assert result.lr_min == result.lrs[np.argmin(result.smoothed_losses)]
    assert result.updates_per_lr == 1


def test_stops_at_the_blow_up(diabetes):
    X, y = diabetes
    result = descent.lr_find(descent.SGDRegressor(batch_size=None), X, y, smoothing=0.0,
                             divergence_factor=2.0)
    assert result.diverged and len(result.lrs) < 100
    # stopped at the first value above twice the minimum so far, not before
    assert result.losses[-1] > 2 * result.losses.min()
    assert np.all(result.losses[:-1] <= 2 * np.minimum.accumulate(result.losses[:-1]))


@pytest.mark.filterwarnings("ignore:the smoothed objective was still falling")
def test_updates_per_lr(diabetes):
    X, y = diabetes
    for batch_size, auto in [(1, 32), (5, 7), (32, 1), (100, 1), (None, 1)]:
        est = descent.SGDRegressor(batch_size=batch_size)
        result = descent.lr_find(est, X, y, n_lrs=3, max_lr=1e-5)
        assert result.updates_per_lr == auto
    est = descent.SGDRegressor(batch_size=5)
    result = descent.lr_find(est, X, y, n_lrs=3, max_lr=1e-5, updates_per_lr=4)
    assert result.updates_per_lr == 4 and len(result.lrs) == 3


def test_scale_targets_uses_all_rows(diabetes):
    # targets in another unit: with scale_targets the step sizes are in units
    # of standardized targets, so the test on y and on 100 * y + 5 agrees
    X, y = diabetes
    est = descent.SGDRegressor(optimizer="adam", batch_size=8, random_state=0)
    a = descent.lr_find(est, X, y, n_lrs=40)
    b = descent.lr_find(est, X, 100 * y + 5, n_lrs=40)
    np.testing.assert_allclose(b.lrs, a.lrs)
    np.testing.assert_allclose(b.losses, 1e4 * a.losses, rtol=1e-6)


# -- the caller's things are left alone ------------------------------------------------

@pytest.mark.filterwarnings("ignore:the smoothed objective was still falling")
def test_does_not_mutate_estimator_or_data(diabetes):
    X, y = diabetes
    X, y = X.copy(), y.copy()
    sw = np.linspace(0.5, 1.5, len(y))
    est = descent.SGDRegressor(optimizer="adam", average=True, early_stopping=True,
                               random_state=3).fit(X, y)
    params = est.get_params()
    state = pickle.dumps(est)
    X0, y0, sw0 = X.copy(), y.copy(), sw.copy()
    descent.lr_find(est, X, y, sample_weight=sw)
    assert est.get_params() == params
    assert pickle.dumps(est) == state
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(sw, sw0)
    # an unfitted estimator stays unfitted
    fresh = descent.SGDRegressor()
    descent.lr_find(fresh, X, y, n_lrs=5, max_lr=1e-4)
    assert not hasattr(fresh, "coef_")


def test_does_not_mutate_sparse_data(diabetes):
    X, y = diabetes
    Xs = sp.csr_matrix(np.where(np.abs(X) > 1, X, 0.0))
    before = (Xs.data.copy(), Xs.indices.copy(), Xs.indptr.copy())
    result = descent.lr_find(descent.SGDRegressor(optimizer="adam"), Xs, y)
    assert result.diverged
    for a, b in zip(before, (Xs.data, Xs.indices, Xs.indptr)):
        np.testing.assert_array_equal(a, b)


def test_independent_of_the_global_rng(diabetes):
    X, y = diabetes
    est = descent.SGDRegressor(optimizer="adam")          # random_state=None
    results = []
    for seed in (0, 12345):
        np.random.seed(seed)                       # noqa: NPY002 (the global RNG)
        state = np.random.get_state()              # noqa: NPY002
        results.append(descent.lr_find(est, X, y))
        after = np.random.get_state()              # noqa: NPY002
        assert after[0] == state[0] and np.array_equal(after[1], state[1]) \
            and after[2:] == state[2:]           # not advanced either
    np.testing.assert_array_equal(results[0].losses, results[1].losses)
    assert results[0].suggested_eta0 == results[1].suggested_eta0


def test_random_state(diabetes):
    X, y = diabetes
    est = descent.SGDRegressor(optimizer="adam")
    a = descent.lr_find(est, X, y, random_state=1)
    b = descent.lr_find(est, X, y, random_state=1)
    c = descent.lr_find(est, X, y, random_state=2)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert not np.array_equal(a.losses[:len(c.losses)], c.losses[:len(a.losses)])
    # None: the estimator's random_state
    d = descent.lr_find(descent.SGDRegressor(optimizer="adam", random_state=1), X, y)
    np.testing.assert_array_equal(a.losses, d.losses)
    # a RandomState instance is read, not advanced
    rs = np.random.RandomState(7)
    before = rs.get_state()[1].copy(), rs.get_state()[2]
    e = descent.lr_find(est, X, y, random_state=rs)
    f = descent.lr_find(est, X, y, random_state=rs)
    np.testing.assert_array_equal(e.losses, f.losses)
    assert np.array_equal(rs.get_state()[1], before[0]) and rs.get_state()[2] == before[1]


# -- bad input -------------------------------------------------------------------------

@pytest.mark.parametrize("name, value", [
    ("min_lr", 0.0), ("min_lr", -1.0), ("min_lr", math.nan), ("min_lr", "1e-3"),
    ("max_lr", 1e-7), ("max_lr", math.inf), ("n_lrs", 1), ("n_lrs", 2.5), ("n_lrs", True),
    ("updates_per_lr", 0), ("updates_per_lr", "many"), ("smoothing", 1.0),
    ("smoothing", -0.1), ("divergence_factor", 1.0), ("eval_size", 0),
    ("random_state", "seed"), ("random_state", 1.5),
])
def test_bad_arguments_name_themselves(diabetes, name, value):
    X, y = diabetes
    with pytest.raises(ValueError, match=name):
        descent.lr_find(descent.SGDRegressor(), X, y, **{name: value})


@pytest.mark.parametrize("estimator", [
    SklearnSGDRegressor(), make_pipeline(StandardScaler(), descent.SGDRegressor()),
    descent.optim.Adam(), "SGDRegressor",
])
def test_unsupported_estimators(diabetes, estimator):
    X, y = diabetes
    with pytest.raises(ValueError, match=r"estimator must be a descent\.SGDRegressor"):
        descent.lr_find(estimator, X, y)


def test_invalid_estimator_parameters_are_named(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="loss"):
        descent.lr_find(descent.SGDRegressor(loss="hinge"), X, y)
    with pytest.raises(ValueError, match="l1_ratio"):
        descent.lr_find(descent.SGDRegressor(penalty="elasticnet", l1_ratio=None), X, y)
    with pytest.raises(ValueError, match="batch_size"):
        descent.lr_find(descent.SGDRegressor(batch_size=0), X, y)


def test_bad_data(diabetes):
    X, y = diabetes
    est = descent.SGDRegressor()
    with pytest.raises(ValueError, match="sample_weight"):
        descent.lr_find(est, X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="sample_weight"):
        descent.lr_find(est, X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        descent.lr_find(est, X, y[:-1])
    with pytest.raises(ValueError, match="NaN"):
        descent.lr_find(est, np.where(X > 2, np.nan, X), y)


def test_blow_up_at_min_lr_is_reported(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="diverged"):
        descent.lr_find(descent.SGDRegressor(batch_size=None), 1e3 * X, y, min_lr=10.0,
                        max_lr=100.0)


def test_warns_when_the_range_misses_the_minimum(diabetes):
    X, y = diabetes
    est = descent.SGDRegressor(batch_size=None)
    with pytest.warns(UserWarning, match="raise max_lr"):
        result = descent.lr_find(est, X, y, min_lr=1e-6, max_lr=1e-3, n_lrs=10)
    assert not result.diverged
    with pytest.warns(UserWarning, match="lower min_lr"):
        descent.lr_find(est, X, y, min_lr=2.0, max_lr=100.0, n_lrs=20)


# -- plotting ----------------------------------------------------------------------------

def test_import_does_not_import_matplotlib():
    import subprocess

    code = "import descent, sys; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_plot(diabetes):
    from _require import require

    matplotlib = require("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = diabetes
    result = descent.lr_find(descent.SGDRegressor(optimizer="adam", random_state=0), X, y)
    ax = result.plot()
    try:
        assert ax.get_xscale() == "log"
        lines = ax.get_lines()
        np.testing.assert_array_equal(lines[0].get_xdata(), result.lrs)
        np.testing.assert_array_equal(lines[0].get_ydata(), result.losses)
        np.testing.assert_array_equal(lines[1].get_ydata(), result.smoothed_losses)
        assert lines[3].get_xdata()[0] == result.suggested_eta0
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any(f"{result.suggested_eta0:.3g}" in label for label in labels)
    finally:
        plt.close("all")


def test_docstring_examples_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outcome = doctest.testmod(_lr_find, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert outcome.failed == 0 and outcome.attempted > 0


@pytest.mark.parametrize("dtype", [np.int64, np.float32])
def test_targets_of_other_dtypes_are_converted_as_fit_does(dtype):
    # reproduced (breakit13): "Buffer dtype mismatch, expected 'const double'
    # but got 'long'" for integer targets (digits' y, counts)
    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    got = descent.lr_find(descent.SGDRegressor(), X, y.astype(dtype), random_state=0)
    ref = descent.lr_find(descent.SGDRegressor(), X, y.astype(dtype).astype(np.float64),
                          random_state=0)
    assert got.suggested_eta0 == ref.suggested_eta0
