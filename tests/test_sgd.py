"""SGDRegressor's contract: input handling, errors, state, reproducibility."""

import copy
import os
import pickle
import signal
import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.linear_model import SGDRegressor as SkSGDRegressor
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import _reference as ref
from _require import require
from descent import SGDRegressor
from descent.optim import Adagrad, Adam, AdamW


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


def small_problem(n=60, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    return X, y


FAST = dict(max_iter=20, tol=None, random_state=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["X", "y"])
def test_non_finite_input_raises(bad, where):
    X, y = small_problem()
    X, y = X.copy(), y.copy()
    (X if where == "X" else y)[3] = bad
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        SGDRegressor(**FAST).fit(X, y)


@pytest.mark.parametrize("X,y,match", [
    (np.ones((5, 2)), np.ones(4), "inconsistent numbers of samples"),
    (np.ones((0, 2)), np.ones(0), "0 sample"),
    (np.ones((5, 0)), np.ones(5), "0 feature"),
    (np.ones(5), np.ones(5), "Expected 2D array"),
    (np.ones((5, 2, 2)), np.ones(5), "dim"),
    (np.array([["a", "b"], ["c", "d"]]), np.ones(2), "convert|float"),
    (np.ones((5, 2)), np.array(["a"] * 5), "convert|float|numeric"),
])
def test_malformed_input_raises(X, y, match):
    with pytest.raises(ValueError, match=match):
        SGDRegressor(**FAST).fit(X, y)


@pytest.mark.parametrize("sample_weight,match", [
    (np.ones(3), "sample_weight.shape|shape"),
    (-np.ones(60), "(?i)negative"),
    (np.zeros(60), "non-zero"),
    (np.r_[np.nan, np.ones(59)], "NaN|infinity"),
])
def test_bad_sample_weight_raises(sample_weight, match):
    X, y = small_problem()
    with pytest.raises(ValueError, match=match):
        SGDRegressor(**FAST).fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("params,match", [
    (dict(eta0=-1.0), "eta0"),
    (dict(alpha=-1.0), "alpha"),
    (dict(loss="hinge"), "loss"),
    (dict(learning_rate="pa1"), "learning_rate"),
    (dict(optimizer="lbfgs"), "optimizer"),
    (dict(batch_size=0), "batch_size"),
    (dict(clip_grad_norm=0.0), "clip_grad_norm"),
    (dict(learning_rate="optimal", alpha=0.0), "alpha must be > 0"),
    (dict(learning_rate="optimal", optimizer="adam"), "optimal"),
    (dict(learning_rate="optimal", batch_size=10), "optimal"),
    (dict(optimizer=AdamW()), "weight_decay"),
    (dict(optimizer=Adam(lr=-1.0)), "lr"),
])
def test_bad_parameters_raise_naming_them(params, match):
    X, y = small_problem()
    with pytest.raises(ValueError, match=match):
        SGDRegressor(**params).fit(X, y)


def test_accepted_input_forms_give_the_same_model():
    X, y = small_problem()
    ref = SGDRegressor(**FAST).fit(X, y).coef_
    ro_X, ro_y = X.copy(), y.copy()
    ro_X.flags.writeable = False
    ro_y.flags.writeable = False
    forms = [
        (ro_X, ro_y),                                   # read-only
        (np.asfortranarray(X), y),                      # Fortran order
        (X.tolist(), y.tolist()),                       # lists
        (np.repeat(X, 2, axis=1)[:, ::2], y),           # non-contiguous view
        (X, y.reshape(-1, 1)[:, 0]),
    ]
    for Xf, yf in forms:
        np.testing.assert_array_equal(SGDRegressor(**FAST).fit(Xf, yf).coef_, ref)
    # float32 (read in place) and int (converted to float64) inputs work
    coef32 = SGDRegressor(**FAST).fit(X.astype(np.float32), y).coef_
    np.testing.assert_allclose(coef32, ref, rtol=1e-3, atol=1e-4)
    Xi = np.round(X * 3).astype(np.int64)
    assert np.isfinite(SGDRegressor(**FAST).fit(Xi, y).coef_).all()


@pytest.mark.parametrize("d", [100, 1000])
@pytest.mark.parametrize("params", [{}, {"optimizer": "adam"}, {"batch_size": 32},
                                    {"batch_size": None}])
def test_float32_fit_allocates_under_a_tenth_of_x(d, params):
    # #13: a fit on a float32 X reads it in place; what it allocates besides
    # is vectors of n (order, targets) and of d. Measured before: Adam at
    # d = 1000 took 21 % of X (the step's row sums in blocks of 4,096 rows),
    # mini-batch and full batch at d = 100 10.1 % (the step's power iteration
    # kept a vector of ones and float64 temporaries)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10_000_000 // d, d)).astype(np.float32)   # 40 MB, the issue's
    y = X @ rng.standard_normal(d).astype(np.float32)
    assert fit_peak_memory(X, y, params) < 0.1 * X.nbytes


def fit_peak_memory(X, y, params):
    """The peak bytes a one-epoch fit allocates (tracemalloc)."""
    import tracemalloc
    tracemalloc.start()
    try:
        SGDRegressor(max_iter=1, tol=None, random_state=0, **params).fit(X, y)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("params, bound", [
    ({}, 0.1),                              # the shuffled order (int32): 5 %
    ({"optimizer": "adam", "batch_size": 256}, 0.2),    # and the scaled targets: 10 %
])
def test_narrow_float64_fit_allocates_only_its_vectors_of_n(params, bound):
    # At d = 10 a vector of n float64 is a tenth of X. The targets' moments
    # (the stationarity check's unit, the update rules' target scaling) are
    # summed MOMENT_CHUNK rows at a time, the scaled targets divided in place:
    # measured before, 15 % of X (plain) and 25 % (Adam).
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400_000, 10))             # 32 MB, 6 chunks of rows
    y = X @ rng.standard_normal(10) + 3.0
    assert fit_peak_memory(X, y, params) < bound * X.nbytes


@pytest.mark.parametrize("d", [37, 100])      # dot32's four partial sums, then eight
@pytest.mark.parametrize("csr", [False, True])
def test_float32_rows_fit_as_their_float64_values(d, csr):
    # float32 rows are widened to float64 as they are read (kernel/rows.pxd):
    # a fit on them is the fit on the same values in float64, up to the order
    # of the dot product's sums (sixteen for float64 rows of 64-127 values).
    rng = np.random.default_rng(3)
    X32 = rng.standard_normal((300, d)).astype(np.float32)
    if csr:
        X32[rng.random(X32.shape) < 0.8] = 0.0
    y = X32.astype(np.float64) @ rng.standard_normal(d) + 0.1 * rng.standard_normal(300)
    X64 = X32.astype(np.float64)
    if csr:
        X32, X64 = sp.csr_matrix(X32), sp.csr_matrix(X64)
    for extra in (dict(), dict(average=True), dict(penalty="elasticnet", alpha=1e-3),
                  dict(optimizer="adam"), dict(optimizer="rmsprop", batch_size=16),
                  dict(optimizer="momentum", batch_size=None, max_iter=30)):
        kw = {"max_iter": 5, "tol": None, "random_state": 0, **extra}
        a = SGDRegressor(**kw).fit(X32, y)
        b = SGDRegressor(**kw).fit(X64, y)
        assert a.coef_.dtype == np.float32 and b.coef_.dtype == np.float64
        rel = np.max(np.abs(a.coef_ - b.coef_.astype(np.float32))) / np.max(np.abs(b.coef_))
        assert rel <= 3e-7, (kw, rel)      # float32's rounding of coef_ (6e-8) and a little


def test_pandas_input_sets_feature_names():
    pd = require("pandas")
    X, y = small_problem()
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    model = SGDRegressor(**FAST).fit(df, pd.Series(y))
    assert list(model.feature_names_in_) == list(df.columns)
    assert model.n_features_in_ == X.shape[1]


@pytest.mark.parametrize("params", [
    dict(), dict(penalty="l1", average=True), dict(optimizer="adam", batch_size=7),
    dict(optimizer="rmsprop", batch_size=None), dict(early_stopping=True),
])
def test_callers_arrays_are_untouched(params):
    X, y = small_problem()
    w = np.linspace(0.5, 2, len(y))
    coef_init = np.ones(X.shape[1])
    before = [a.copy() for a in (X, y, w, coef_init)]
    model = SGDRegressor(**FAST, **params)
    model.fit(X, y, sample_weight=w, coef_init=coef_init)
    model.partial_fit(X, y, sample_weight=w) if not params.get("early_stopping") else None
    model.predict(X)
    for a, b in zip((X, y, w, coef_init), before):
        np.testing.assert_array_equal(a, b)
    assert model.coef_ is not coef_init


@pytest.mark.parametrize("params", [
    dict(learning_rate="constant"), dict(optimizer="momentum", learning_rate="constant"),
    dict(batch_size=None, learning_rate="constant"),
])
def test_huge_learning_rate_raises_divergence(diabetes, params):
    X, y = diabetes
    model = SGDRegressor(eta0=1e6, max_iter=50, random_state=0, **params)
    with pytest.raises(ValueError, match=r"diverged at epoch \d+.*(Scale|eta0)"):
        model.fit(X, y)
    assert not hasattr(model, "coef_")      # no NaN (or garbage) coefficients


def test_huge_learning_rate_with_a_bounded_derivative_warns(diabetes):
    # Huber's derivative is bounded (by epsilon): the weights grow at most
    # linearly in the steps, never overflow; the fit warns, naming the ratio
    # to the zero model's objective and the fix, and its coefs are finite
    X, y = diabetes
    model = SGDRegressor(loss="huber", epsilon=1e9, learning_rate="constant", eta0=1e6,
                         max_iter=50, random_state=0)
    with pytest.warns(ConvergenceWarning,
                      match=r"times that of the zero model.*not a divergence.*eta0"):
        model.fit(X, y)
    assert np.isfinite(model.coef_).all()


def test_divergence_in_partial_fit_keeps_the_previous_state(diabetes):
    X, y = diabetes
    model = SGDRegressor(learning_rate="constant", eta0=1e-3, random_state=0)
    model.partial_fit(X, y)
    coef = model.coef_.copy()
    model.set_params(eta0=1e6)
    with pytest.raises(ValueError, match="diverged at epoch 1"):
        model.partial_fit(X, y)
    np.testing.assert_array_equal(model.coef_, coef)
    model.set_params(eta0=1e-3)
    model.partial_fit(X, y)      # and it goes on from there
    assert np.isfinite(model.coef_).all()


@pytest.mark.parametrize("params", [dict(), dict(optimizer="adam", batch_size=16),
                                    dict(average=5, penalty="elasticnet")])
def test_same_random_state_is_bit_identical(diabetes, params):
    X, y = diabetes
    a = SGDRegressor(random_state=3, **params).fit(X, y)
    b = SGDRegressor(random_state=3, **params).fit(X, y)
    c = SGDRegressor(random_state=4, **params).fit(X, y)
    assert a.coef_.tobytes() == b.coef_.tobytes()
    assert a.loss_curve_ == b.loss_curve_
    assert a.coef_.tobytes() != c.coef_.tobytes()


def test_fitted_attributes(diabetes):
    X, y = diabetes
    model = SGDRegressor(random_state=0).fit(X, y)
    assert model.coef_.shape == (X.shape[1],)
    assert model.intercept_.shape == (1,)
    assert model.n_features_in_ == X.shape[1]
    assert model.t_ == model.n_iter_ * X.shape[0] + 1
    assert len(model.loss_curve_) == model.n_iter_
    assert all(isinstance(v, float) for v in model.loss_curve_)
    assert model.score(X, y) > 0.45


def test_full_batch_loss_curve_is_the_exact_objective(diabetes):
    X, y = diabetes
    alpha = 0.01
    model = SGDRegressor(batch_size=None, learning_rate="constant", eta0=0.1,
                         alpha=alpha, max_iter=3, tol=None).fit(X, y)
    # the first entry is the objective at the start point w = 0, b = 0
    assert model.loss_curve_[0] == pytest.approx(0.5 * np.mean(y**2), rel=1e-12)
    # and each entry is the objective at the weights before that epoch's step:
    # refit with one step less and evaluate
    prev = SGDRegressor(batch_size=None, learning_rate="constant", eta0=0.1,
                        alpha=alpha, max_iter=2, tol=None).fit(X, y)
    r = X @ prev.coef_ + prev.intercept_ - y
    objective = 0.5 * np.mean(r**2) + 0.5 * alpha * prev.coef_ @ prev.coef_
    assert model.loss_curve_[2] == pytest.approx(objective, rel=1e-12)


def test_convergence_warning_and_tolerance(diabetes):
    X, y = diabetes
    with pytest.warns(ConvergenceWarning, match="Maximum number of iteration"):
        SGDRegressor(max_iter=2, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = SGDRegressor(max_iter=1000, tol=1e-3, random_state=0).fit(X, y)
    # stopped where scikit-learn's rule (n_iter_no_change epochs in a row whose
    # objective is above the best so far minus tol) fires *and* the model is
    # within tol of the optimum, in units of the targets' variance: here
    # scikit-learn stops at epoch 9, 2.6e-3 (1.1 %) above the optimum (its rule
    # on descent's iterates: 1.7e-3, 0.7 %); descent goes on to epoch 164, 6.7e-4
    # (0.3 %) above it
    assert model.n_iter_ < 1000
    best, count, fired = np.inf, 0, []
    for epoch, objective in enumerate(model.loss_curve_, start=1):
        count = count + 1 if objective > best - 1e-3 else 0
        best = min(best, objective)
        if count >= model.n_iter_no_change:
            fired.append(epoch)
            count = 0
    assert fired and fired[-1] == model.n_iter_
    ridge = Ridge(alpha=1e-4 * len(y)).fit(X, y)
    optimum = ref.objective(X, y, ridge.coef_, ridge.intercept_, "l2", 1e-4)
    gap = ref.objective(X, y, model.coef_, model.intercept_[0], "l2", 1e-4) - optimum
    assert 0 <= gap <= 1e-3 * y.var()
    first = SGDRegressor(max_iter=fired[0], tol=None, random_state=0).fit(X, y)
    first_gap = ref.objective(X, y, first.coef_, first.intercept_[0], "l2", 1e-4) - optimum
    assert first_gap > 1e-3 * y.var() > gap


def test_early_stopping_uses_validation_scores(diabetes):
    X, y = diabetes
    model = SGDRegressor(early_stopping=True, n_iter_no_change=3, random_state=0,
                         max_iter=500).fit(X, y)
    scores = model.validation_scores_
    assert len(scores) == model.n_iter_ < 500
    assert max(scores) > 0.3
    with pytest.raises(ValueError, match="early_stopping should be False"):
        SGDRegressor(early_stopping=True).partial_fit(X, y)
    with pytest.raises(ValueError, match=r"restore_best_weights=True .* needs early_stopping"):
        SGDRegressor(restore_best_weights=True).fit(X, y)


def test_partial_fit_continues_and_fit_resets(diabetes):
    X, y = diabetes
    model = SGDRegressor(optimizer="adam", eta0=0.01, random_state=0)
    for _ in range(3):
        assert model.partial_fit(X, y) is model
    assert model.t_ == 3 * X.shape[0] + 1
    assert model.n_iter_ == 1
    # same as 3 epochs of fit without stopping rule? The epoch order differs
    # (each call reseeds), so compare the state's progress instead.
    assert model._step == 3 * X.shape[0]
    model.fit(X, y)
    assert model._step == model.n_iter_ * X.shape[0]
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :3], y)


def test_warm_start_starts_from_previous_coef(diabetes):
    X, y = diabetes
    cold = SGDRegressor(max_iter=5, tol=None, random_state=0).fit(X, y)
    warm = clone(cold).set_params(warm_start=True, max_iter=1, learning_rate="constant",
                                  eta0=1e-12)
    warm.fit(X, y)
    warm.set_params(max_iter=1).fit(X, y)
    # tiny steps from the warm start point stay there
    warm2 = SGDRegressor(warm_start=True, max_iter=1, tol=None, learning_rate="constant",
                         eta0=1e-12, random_state=0)
    warm2.coef_, warm2.intercept_ = cold.coef_.copy(), cold.intercept_.copy()
    warm2.fit(X, y)
    np.testing.assert_allclose(warm2.coef_, cold.coef_, rtol=1e-8)
    via_init = SGDRegressor(max_iter=1, tol=None, learning_rate="constant", eta0=1e-12,
                            random_state=0).fit(X, y, coef_init=cold.coef_,
                                                intercept_init=cold.intercept_)
    np.testing.assert_array_equal(via_init.coef_, warm2.coef_)


def test_verbose_prints_one_line_per_epoch(diabetes, capsys):
    X, y = diabetes
    SGDRegressor(verbose=1, max_iter=3, tol=None, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("-- Epoch") == 3
    assert out.count("Norm:") == 3 and "Avg. loss:" in out and "T: " in out


def test_verbose_lines_are_scikit_learns(capsys):
    # reproduced (breakit13): "Avg. loss" printed the objective, scikit-learn
    # 1.9 prints the mean loss there and the objective after it
    X, y = load_diabetes(return_X_y=True)
    kw = dict(verbose=1, max_iter=3, tol=None, shuffle=False, random_state=0)
    SGDRegressor(**kw).fit(X, y)
    ours = [line.split(", Step size")[0] for line in capsys.readouterr().out.splitlines()
            if line.startswith("Norm:")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        SkSGDRegressor(**kw).fit(X, y)
    theirs = [line for line in capsys.readouterr().out.splitlines()
              if line.startswith("Norm:")]
    assert len(ours) == 3 and ours == theirs


def test_predict_checks(diabetes):
    X, y = diabetes
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        SGDRegressor().predict(X)
    model = SGDRegressor(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :4])
    np.testing.assert_allclose(model.predict(X), X @ model.coef_ + model.intercept_)


def test_lifecycle_round_trips(diabetes):
    joblib = require("joblib")
    import io
    X, y = diabetes
    model = SGDRegressor(optimizer=Adam(lr=0.01), random_state=0).fit(X, y)
    expected = model.predict(X)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model),
                  joblib.load(buffer)):
        np.testing.assert_array_equal(other.predict(X), expected)
    refit = clone(model).fit(X, y)
    np.testing.assert_array_equal(refit.predict(X), expected)


def test_pipeline_and_grid_search_over_optimizer_lr(diabetes):
    X, y = diabetes
    search = GridSearchCV(
        SGDRegressor(optimizer=Adam(), max_iter=50, random_state=0),
        {"optimizer__lr": [1e-4, 1e-2]}, cv=3).fit(X, y)
    assert search.best_params_ == {"optimizer__lr": 1e-2}
    pipe = make_pipeline(StandardScaler(), SGDRegressor(random_state=0)).fit(X, y)
    assert pipe.score(X, y) > 0.45


def test_threads_fit_concurrently_and_match_sequential(diabetes):
    X, y = diabetes
    configs = [dict(random_state=1), dict(optimizer="adam", batch_size=4, random_state=2)]
    sequential = [SGDRegressor(**c).fit(X, y).coef_ for c in configs]
    results = [None, None]

    def work(k):
        results[k] = SGDRegressor(**configs[k]).fit(X, y).coef_

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, sequential):
        assert got.tobytes() == want.tobytes()


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt",
                    reason="needs POSIX signals")
def test_ctrl_c_interrupts_between_epochs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 20))
    y = X @ rng.normal(size=20)
    model = SGDRegressor(max_iter=100000, tol=None, learning_rate="constant",
                         eta0=1e-4, random_state=0)
    # Python's own Ctrl-C handler for the test: one suite run in CI failed to
    # raise here, passing alone and in the suite otherwise; a handler left by
    # another library would explain it (the one found is named on failure)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGINT))
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            model.fit(X, y)
            pytest.fail(f"fit ended without the interrupt (SIGINT handler before the "
                        f"test: {previous!r})")
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
    # consistent: the weights of the last finished epoch
    assert 0 < model.n_iter_ < 100000
    assert np.isfinite(model.coef_).all()
    assert model.t_ == model.n_iter_ * X.shape[0] + 1
    model.set_params(warm_start=True, max_iter=2).fit(X, y)   # and it goes on
    assert np.isfinite(model.coef_).all()


def test_switching_optimizer_between_partial_fit_calls_starts_it_fresh(diabetes):
    X, y = diabetes
    model = SGDRegressor(optimizer="adam", eta0=0.01, random_state=0).partial_fit(X, y)
    model.set_params(optimizer=Adagrad(lr=0.1, initial_accumulator_value=0.1))
    # Adam's moments are not Adagrad's sums (reused, they made this diverge)
    model.partial_fit(X, y)
    assert model._step == X.shape[0]          # the new rule counts from 0
    assert model.score(X, y) > 0.4


def test_explicit_eta0_overrides_an_optimizer_instances_lr(diabetes):
    # eta0="auto" (the default) takes the instance's lr; an explicit eta0 wins,
    # so that a grid over named and instance optimizers with eta0 values sets
    # every candidate's step
    X, y = diabetes
    kw = dict(max_iter=3, tol=None, random_state=0, learning_rate="constant")
    own = SGDRegressor(optimizer=Adam(lr=0.05), **kw).fit(X, y)
    same = SGDRegressor(optimizer=Adam(lr=0.3), eta0=0.05, **kw).fit(X, y)
    other = SGDRegressor(optimizer=Adam(lr=0.3), **kw).fit(X, y)
    np.testing.assert_array_equal(own.coef_, same.coef_)
    assert np.abs(own.coef_ - other.coef_).max() > 1e-3
    search = GridSearchCV(
        SGDRegressor(max_iter=20, random_state=0),
        {"optimizer": ["sgd", "adam", Adam(lr=0.05)], "eta0": [1e-3, 1e-2]},
        cv=3, error_score="raise").fit(X, y)
    assert len(search.cv_results_["params"]) == 6
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("fit_dtype", [np.float32, np.float64])
def test_float32_dtypes_are_scikit_learns(fit_dtype):
    # reproduced: float32 X published a float32 intercept_ and predicted in
    # float32, also with a float64 model: targets near 1e8 scored R^2 0.61
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4))
    y = 1e8 + X @ np.array([1.0, 2.0, 3.0, 0.0])
    X32 = X.astype(np.float32)
    ours = SGDRegressor(optimizer="adam", random_state=0).fit(X.astype(fit_dtype), y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkSGDRegressor(random_state=0).fit(X.astype(fit_dtype), y)
    assert ours.coef_.dtype == sk.coef_.dtype == fit_dtype
    assert ours.intercept_.dtype == sk.intercept_.dtype == np.float64
    assert ours.predict(X32).dtype == sk.predict(X32).dtype == np.float64
    assert ours.score(X32, y) > 0.999


@pytest.mark.parametrize("make", [SGDRegressor, SkSGDRegressor])
def test_string_x_is_refused_at_predict_as_scikit_learn(make):
    # scikit-learn converts numeric strings in fit and refuses them in
    # predict (reproduced: descent converted them in predict too)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = X.sum(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = make(random_state=0).fit(X.astype(str), y)
    for Z in (X.astype(str), X.astype(str).tolist()):
        with pytest.raises(ValueError, match="not compatible with arrays of bytes/strings"):
            model.predict(Z)
    model.predict(X.astype(object))        # converted, as scikit-learn does


def test_clip_grad_norm_has_one_unit_whatever_the_optimizer():
    # reproduced: per-sample "sgd" (targets as given) clipped in y's units,
    # the update rules in standardized ones: the documented clip_grad_norm=1.0
    # took the default fit of diabetes (X standardized, y ~ 152 +- 77) to
    # R^2 -1.0
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clipped = SGDRegressor(clip_grad_norm=1.0, random_state=0).fit(X, y)
        scaled = SGDRegressor(clip_grad_norm=1.0, scale_targets=True,
                              random_state=0).fit(X, y)
        raw = SGDRegressor(clip_grad_norm=1.0, scale_targets=False, random_state=0,
                           max_iter=50).fit(X, y)
    np.testing.assert_array_equal(clipped.coef_, scaled.coef_)
    assert clipped.score(X, y) > 0.5
    assert raw.score(X, y) < 0.5        # y's own units: the clip binds
