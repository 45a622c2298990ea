"""descent.schedules objects as the estimators' ``learning_rate``: the steps
the kernel takes are the schedule's ``lr()`` values (NumPy transcriptions of
the fits to 1e-12), per update and per epoch, across ``partial_fit`` calls;
ReduceLROnPlateau follows the epoch's metric; the schedule is a scikit-learn
parameter (clone, grid search) that fit never mutates; the combinations that
cannot work raise."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import descent
from descent import SGDClassifier, SGDRegressor
from descent.optim import SGD
from descent.schedules import (
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)

N, D = 24, 3


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N, D))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.2 * rng.normal(size=N)
    return X, y


def transcribe(X, y, rates_of_update, epochs, batch=1):
    """Squared-error gradient descent without penalty, rows in order, the
    k-th update (0-based, over all epochs) with step ``rates_of_update(k,
    epoch)``, on the mean gradient of ``batch`` rows."""
    w, b, k = np.zeros(X.shape[1]), 0.0, 0
    for epoch in range(epochs):
        for start in range(0, X.shape[0], batch):
            rows = slice(start, min(start + batch, X.shape[0]))
            dl = X[rows] @ w + b - y[rows]
            eta = rates_of_update(k, epoch)
            w = w - eta * (dl @ X[rows]) / len(dl)
            b = b - eta * dl.sum() / len(dl)
            k += 1
    return w, b


def fit(X, y, schedule, epochs, **params):
    params = dict(dict(penalty=None, shuffle=False, tol=None, max_iter=epochs,
                       eta0=0.05, scale_targets=False), **params)
    return SGDRegressor(learning_rate=schedule, **params).fit(X, y)


UPDATE_SCHEDULES = [
    CosineAnnealingLR(T_max=37, eta_min=0.001, unit="update"),
    OneCycleLR(max_lr=0.1, total_steps=72, cycle_momentum=False),
    LambdaLR(lambda t: 0.9 ** (t % 7), unit="update"),
    SequentialLR([LinearLR(start_factor=0.1, total_iters=10, unit="update"),
                  ExponentialLR(gamma=0.98, unit="update")], milestones=[10]),
]


@pytest.mark.parametrize("schedule", UPDATE_SCHEDULES, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("optimizer", ["sgd", "rule"])
def test_per_update_steps_are_the_schedules(data, schedule, optimizer):
    # "sgd": the PLAIN path (scikit-learn's loop, its step from t_); "rule":
    # torch's SGD rule (the RULE path, its step from the update count)
    X, y = data
    opt = "sgd" if optimizer == "sgd" else SGD(lr=0.05)
    est = fit(X, y, schedule, 3, optimizer=opt)
    rates = schedule.lr(0.05, np.arange(3 * N))
    w, b = transcribe(X, y, lambda k, e: rates[k], 3)
    np.testing.assert_allclose(est.coef_, w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, [b], rtol=0, atol=1e-12)
    assert est.t_ == 3 * N + 1


def test_per_update_mini_batches_count_batches(data):
    X, y = data
    schedule = CosineAnnealingLR(T_max=11, unit="update")
    est = fit(X, y, schedule, 4, batch_size=5)
    rates = schedule.lr(0.05, np.arange(4 * 5))       # 5 batches per epoch
    w, b = transcribe(X, y, lambda k, e: rates[k], 4, batch=5)
    np.testing.assert_allclose(est.coef_, w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, [b], rtol=0, atol=1e-12)


@pytest.mark.parametrize("schedule", [
    StepLR(step_size=2, gamma=0.5), MultiStepLR(milestones=[1, 4], gamma=0.3),
    CosineAnnealingWarmRestarts(T_0=3), OneCycleLR(max_lr=0.08, total_steps=6,
                                                   cycle_momentum=False, unit="epoch"),
], ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("batch", [1, 5, None])
def test_per_epoch_steps_change_at_epoch_boundaries(data, schedule, batch):
    X, y = data
    est = fit(X, y, schedule, 6, batch_size=batch)
    rates = schedule.lr(0.05, np.arange(6))
    w, b = transcribe(X, y, lambda k, e: rates[e], 6, batch=batch or N)
    np.testing.assert_allclose(est.coef_, w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, [b], rtol=0, atol=1e-12)


@pytest.mark.parametrize("schedule", [CosineAnnealingLR(T_max=5),
                                      CosineAnnealingLR(T_max=50, unit="update")],
                         ids=["epoch", "update"])
def test_partial_fit_continues_the_schedule(data, schedule):
    X, y = data
    est = SGDRegressor(learning_rate=schedule, penalty=None, shuffle=False, eta0=0.05)
    for _ in range(4):
        est.partial_fit(X, y)
    assert est.t_ == 4 * N + 1
    if schedule.unit == "epoch":
        rates = schedule.lr(0.05, np.arange(4))
        w, b = transcribe(X, y, lambda k, e: rates[e], 4)
    else:
        rates = schedule.lr(0.05, np.arange(4 * N))
        w, b = transcribe(X, y, lambda k, e: rates[k], 4)
    np.testing.assert_allclose(est.coef_, w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, [b], rtol=0, atol=1e-12)
    # fit starts the schedule again
    est.fit(X, y)
    again = fit(X, y, schedule, est.max_iter, tol=est.tol, shuffle=False)
    np.testing.assert_array_equal(est.coef_, again.coef_)


def test_constant_schedule_objects_are_bit_identical_to_the_strings(data):
    # the RATES table and the CONSTANT step give the very bits of "constant",
    # on every path
    X, y = data
    rng = np.random.default_rng(3)
    Xs = np.where(rng.random(X.shape) < 0.5, 0.0, X)
    import scipy.sparse as sp
    cases = [dict(), dict(optimizer="adam"), dict(optimizer="adam", batch_size=4),
             dict(optimizer="momentum", batch_size=None), dict(average=True)]
    for params in cases:
        for Xi in (X, sp.csr_matrix(Xs)):
            ref = SGDRegressor(learning_rate="constant", max_iter=5, tol=None,
                               random_state=0, **params).fit(Xi, y)
            for schedule in (LambdaLR(lambda t: 1.0, unit="update"),
                             ExponentialLR(gamma=1.0)):
                est = SGDRegressor(learning_rate=schedule, max_iter=5, tol=None,
                                   random_state=0, **params).fit(Xi, y)
                np.testing.assert_array_equal(est.coef_, ref.coef_)
                assert est.loss_curve_ == ref.loss_curve_


def test_classifier_takes_schedules(data):
    X, y = data
    labels = np.where(y > np.median(y), "up", "down")
    ref = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.1, max_iter=5,
                        tol=None, random_state=0).fit(X, labels)
    est = SGDClassifier(loss="log_loss", learning_rate=LambdaLR(lambda t: 1.0,
                                                                 unit="update"),
                        eta0=0.1, max_iter=5, tol=None, random_state=0).fit(X, labels)
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    cos = SGDClassifier(loss="hinge", learning_rate=CosineAnnealingLR(T_max=5),
                        optimizer="adam", max_iter=5, tol=None, random_state=0)
    assert cos.fit(X, labels).score(X, labels) > 0.8


def test_hogwild_reads_the_table(data):
    X, y = data
    X = np.tile(X, (50, 1))
    y = np.tile(y, 50)
    est = SGDRegressor(learning_rate=CosineAnnealingLR(T_max=2000, unit="update"),
                       n_jobs=2, max_iter=3, tol=None, random_state=0).fit(X, y)
    assert est.score(X, y) > 0.9 and est.t_ == 3 * len(y) + 1


def steps_printed(capsys):
    """The verbose lines' step sizes (3 significant digits), as printed."""
    return re.findall(r"Step size: ([0-9.e+-]+)", capsys.readouterr().out)


def printed(values):
    return [f"{v:.3g}" for v in values]


def test_reduce_lr_on_plateau_follows_the_epoch_objective(data, capsys):
    # a step too large to converge: the objective stalls and the plateau
    # schedule divides the step; the steps are the ones the same schedule
    # gives when it is stepped with the loss curve
    X, y = data
    schedule = ReduceLROnPlateau(patience=1, factor=0.5, threshold=0.05)
    est = fit(X, y, schedule, 12, eta0=0.3, verbose=1)
    steps = steps_printed(capsys)
    replay = clone(schedule).start(0.3)
    expected = []
    for loss in est.loss_curve_:
        expected.append(replay.get_last_lr()[0])
        replay.step(loss)
    assert steps == printed(expected)
    w, _ = transcribe(X, y, lambda k, e: expected[e], 12)
    np.testing.assert_allclose(est.coef_, w, rtol=0, atol=1e-12)
    assert min(expected) < 0.3 / 2                  # it did reduce
    # the fitted run carries on in partial_fit
    assert est._lr_run.get_last_lr() == replay.get_last_lr()
    assert schedule.last_epoch == -1                # the parameter was not stepped


@pytest.mark.parametrize("mode", ["max", "min"])
def test_reduce_lr_on_plateau_with_early_stopping(data, capsys, mode):
    # mode="max" follows the validation score, "min" the validation loss
    X, y = data
    X, y = np.tile(X, (5, 1)), np.tile(y, 5)
    schedule = ReduceLROnPlateau(mode=mode, patience=0, factor=0.5, threshold=0.5)
    est = SGDRegressor(learning_rate=schedule, eta0=0.05, early_stopping=True,
                       n_iter_no_change=50, max_iter=8, random_state=0, verbose=1)
    est.fit(X, y)
    steps = steps_printed(capsys)
    metrics = est.validation_scores_ if mode == "max" else est.validation_loss_curve_
    replay = clone(schedule).start(0.05)
    expected = []
    for value in metrics:
        expected.append(replay.get_last_lr()[0])
        replay.step(value)
    assert steps == printed(expected)
    assert min(expected) < 0.05


def test_sequential_warm_up_then_plateau(data, capsys):
    X, y = data
    schedule = SequentialLR([LinearLR(start_factor=0.25, total_iters=3),
                             ReduceLROnPlateau(patience=0, factor=0.5, threshold=0.5)],
                            milestones=[3])
    est = fit(X, y, schedule, 8, eta0=0.04, verbose=1)
    steps = steps_printed(capsys)
    replay = clone(schedule).start(0.04)
    expected = []
    for loss in est.loss_curve_:
        expected.append(replay.get_last_lr()[0])
        replay.step(loss)
    assert steps == printed(expected)
    assert expected[:4] == pytest.approx([0.01, 0.02, 0.03, 0.04])


def test_eta0_auto_is_the_optimizers_default_step(data):
    X, y = data
    schedule = ExponentialLR(gamma=0.5)
    est = SGDRegressor(learning_rate=schedule, optimizer=SGD(lr=0.02), max_iter=3,
                       tol=None, penalty=None, shuffle=False, scale_targets=False)
    est.fit(X, y)
    w, _ = transcribe(X, y, lambda k, e: 0.02 * 0.5 ** e, 3)
    np.testing.assert_allclose(est.coef_, w, rtol=0, atol=1e-12)
    # a data-dependent default ("0.1/M" for adam) is the base rate too
    adam = SGDRegressor(learning_rate=schedule, optimizer="adam", max_iter=3, tol=None)
    assert np.isfinite(adam.fit(X, y).coef_).all()


def test_clone_get_set_params_and_grid_search(data):
    X, y = data
    est = SGDRegressor(learning_rate=CosineAnnealingLR(T_max=3), max_iter=5, tol=None,
                       random_state=0)
    params = est.get_params()
    assert params["learning_rate__T_max"] == 3
    twin = clone(est)
    assert twin.learning_rate is not est.learning_rate
    assert twin.learning_rate.get_params() == est.learning_rate.get_params()
    est.set_params(learning_rate__T_max=7)
    assert est.learning_rate.T_max == 7 and twin.learning_rate.T_max == 3
    search = GridSearchCV(est, {"learning_rate__T_max": [2, 5],
                                "learning_rate__eta_min": [0.0, 0.001]}, cv=3)
    search.fit(X, y)
    assert search.best_estimator_.learning_rate.T_max in (2, 5)
    assert len(search.cv_results_["params"]) == 4
    # and a grid over the strings and schedules alike
    search = GridSearchCV(SGDRegressor(max_iter=5, tol=None), {
        "learning_rate": ["constant", CosineAnnealingLR(T_max=5)]}, cv=3).fit(X, y)
    assert len(search.cv_results_["params"]) == 2


def test_fit_does_not_touch_a_schedule_in_use(data):
    X, y = data
    opt = SGD(lr=0.1)
    schedule = CosineAnnealingLR(T_max=10).attach(opt)
    for _ in range(3):
        schedule.step()
    state = copy.deepcopy(schedule.__dict__)
    plateau = ReduceLROnPlateau(patience=0).start(1.0)
    plateau.step(3.0)
    plateau.step(4.0)
    plateau_state = plateau.state_dict()
    SGDRegressor(learning_rate=schedule, max_iter=4, tol=None).fit(X, y)
    SGDRegressor(learning_rate=plateau, max_iter=4, tol=None).partial_fit(X, y)
    assert schedule.__dict__.keys() == state.keys()
    assert schedule.state_dict() == {"last_epoch": 3, "base_lr": 0.1}
    assert schedule._optimizer is opt and opt.lr == schedule.get_last_lr()[0]
    assert plateau.state_dict() == plateau_state


def test_set_params_between_partial_fits_restarts_a_plateau(data):
    X, y = data
    est = SGDRegressor(learning_rate=ReduceLROnPlateau(patience=0, threshold=0.9),
                       eta0=0.05)
    est.partial_fit(X, y)
    est.partial_fit(X, y)
    run = est._lr_run
    assert run.last_epoch == 2 and est._lr_epoch == 2
    est.partial_fit(X, y)
    assert est._lr_run is run                    # kept while nothing changed
    est.set_params(learning_rate__factor=0.5)
    est.partial_fit(X, y)
    assert est._lr_run is not run and est._lr_run.last_epoch == 1
    assert est._lr_epoch == 4


@pytest.mark.parametrize("schedule, params, match", [
    (OneCycleLR(max_lr=0.1, total_steps=50), {}, "cycle_momentum=False"),
    (OneCycleLR(max_lr=0.1, total_steps=50, cycle_momentum=False), {},
     "cannot give the steps of this call"),
    (OneCycleLR(max_lr=0.1, total_steps=5, cycle_momentum=False, unit="epoch"), {},
     "total_steps"),
    (ReduceLROnPlateau(mode="max"), {}, "early_stopping=True"),
    (CosineAnnealingLR(T_max=0), {}, "learning_rate=.*T_max"),
    (StepLR(step_size=2, unit="batch"), {}, "learning_rate=.*unit"),
    (SequentialLR([StepLR(2), StepLR(2, unit="update")], milestones=[2]), {},
     "same unit"),
])
def test_combinations_that_cannot_work_raise(data, schedule, params, match):
    X, y = data
    est = SGDRegressor(learning_rate=schedule, max_iter=10, **params)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    assert not hasattr(est, "coef_")


def test_one_cycle_sized_to_the_fit_runs(data):
    X, y = data
    est = SGDRegressor(learning_rate=OneCycleLR(max_lr=0.05, epochs=10, steps_per_epoch=N,
                                                cycle_momentum=False),
                       max_iter=10, tol=None, random_state=0).fit(X, y)
    assert est.n_iter_ == 10
    # a partial_fit past the cycle's end raises and leaves the model as it was
    coef = est.coef_.copy()
    with pytest.raises(ValueError, match="total_steps"):
        est.partial_fit(X, y)
    np.testing.assert_array_equal(est.coef_, coef)
    assert est.t_ == 10 * N + 1


def test_the_string_schedules_are_unchanged():
    assert descent.SGDRegressor().get_params()["learning_rate"] == "auto"
    with pytest.raises(ValueError, match="learning_rate"):
        SGDRegressor(learning_rate="cosine").fit(np.ones((3, 1)), np.ones(3))


@pytest.mark.parametrize("params", [dict(), dict(batch_size=5), dict(optimizer="adam"),
                                    dict(tol=1e-1, n_iter_no_change=1)])
def test_tables_computed_ahead_give_the_same_fit(data, monkeypatch, params):
    # large epochs get the next epoch's table from a helper thread while the
    # kernel runs the current one, filled by blocks of steps: the same rates,
    # the same bits
    import threading

    from descent import _lr_drive

    X, y = data
    schedule = CosineAnnealingLR(T_max=100, unit="update")
    kwargs = dict(dict(learning_rate=schedule, max_iter=6, tol=None, random_state=0),
                  **params)
    serial = SGDRegressor(**kwargs).fit(X, y)
    monkeypatch.setattr(_lr_drive, "PREFETCH_UPDATES", 1)
    monkeypatch.setattr(_lr_drive, "TABLE_BLOCK", 7)
    ahead = SGDRegressor(**kwargs).fit(X, y)
    np.testing.assert_array_equal(ahead.coef_, serial.coef_)
    assert ahead.loss_curve_ == serial.loss_curve_
    for _ in range(2):
        ahead.partial_fit(X, y)
        serial.partial_fit(X, y)
    np.testing.assert_array_equal(ahead.coef_, serial.coef_)
    for thread in threading.enumerate():
        if thread.name.startswith("descent-lr"):
            thread.join(timeout=10)
            assert not thread.is_alive()
