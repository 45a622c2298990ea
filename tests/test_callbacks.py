"""scikit-learn's callback API (sklearn.callback, scikit-learn >= 1.9) on
descent's estimators: the hooks of the fit task and of each epoch, in
scikit-learn's protocol (setup, begin/end of every task, teardown however
fit ends), ProgressBar and ScoringMonitor, stopping from a callback, and
the same inside Pipeline and GridSearchCV."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from _require import require
from descent import SGDClassifier, SGDRegressor
from descent.schedules import CosineAnnealingLR

callback = require("sklearn.callback")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=300)
    return X, y


class Recorder:
    """Records every hook; stops after epoch ``stop_at`` (1-based) if given."""

    def __init__(self, stop_at=None, interrupt_at=None):
        self.events = []
        self.stop_at = stop_at
        self.interrupt_at = interrupt_at

    def setup(self, estimator, context):
        self.events.append(("setup", context.task_name))

    def on_fit_task_begin(self, estimator, context, *, X=None, fitted_estimator=None):
        self.events.append(("begin", context.task_name, context.task_id, fitted_estimator))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None,
                        fitted_estimator=None):
        self.events.append(("end", context.task_name, context.task_id, fitted_estimator,
                            metadata, context))
        epoch = context.task_id + 1
        if context.task_name == "epoch" and epoch == self.interrupt_at:
            raise KeyboardInterrupt
        return context.task_name == "epoch" and epoch == self.stop_at

    def teardown(self, estimator, context):
        self.events.append(("teardown", context.task_name))

    def named(self, kind, task="epoch"):
        return [e for e in self.events if e[0] == kind and e[1] == task]


class Propagated(Recorder):
    max_propagation_depth = None      # an AutoPropagatedCallback


def test_hooks_of_fit_and_of_each_epoch(data):
    X, y = data
    rec = Recorder()
    est = SGDRegressor(max_iter=7, tol=None, random_state=0).set_callbacks(rec)
    est.fit(X, y, sample_weight=np.ones(len(y)))
    kinds = [e[0] for e in rec.events]
    assert kinds[0] == "setup" and kinds[-1] == "teardown"
    assert len(rec.named("begin")) == len(rec.named("end")) == est.n_iter_ == 7
    assert [e[2] for e in rec.named("end")] == list(range(7))
    assert len(rec.named("begin", "fit")) == len(rec.named("end", "fit")) == 1
    # fitted_estimator: the model at the start and at the end of each epoch
    assert rec.named("begin")[0][3] is not None
    last = rec.named("end")[-1][3]
    np.testing.assert_array_equal(last.coef_, est.coef_)
    np.testing.assert_array_equal(last.predict(X), est.predict(X))
    assert last.n_iter_ == 7 and last is not est
    np.testing.assert_array_equal(rec.named("begin")[3][3].coef_,
                                  rec.named("end")[2][3].coef_)
    assert set(rec.named("end")[0][4]) == {"sample_weight"}
    # nothing of the callbacks' machinery is left on the estimator
    assert not hasattr(est, "_callback_fit_ctx")
    assert not hasattr(est, "_skl_callbacks_to_teardown")


def test_partial_fit_is_a_task_of_one_epoch(data):
    X, y = data
    rec = Recorder()
    est = SGDRegressor().set_callbacks(rec)
    est.partial_fit(X, y)
    est.partial_fit(X, y)
    assert len(rec.named("end", "partial_fit")) == 2
    assert len(rec.named("end")) == 2
    np.testing.assert_array_equal(rec.named("end")[-1][3].coef_, est.coef_)


def test_a_callback_stops_training(data):
    X, y = data
    rec = Recorder(stop_at=3)
    est = SGDRegressor(max_iter=50, tol=1e-12, random_state=0).set_callbacks(rec)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)   # a stop is not a failure
        est.fit(X, y)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3
    assert len(rec.named("end", "fit")) == 1 and rec.events[-1][0] == "teardown"
    np.testing.assert_array_equal(rec.named("end")[-1][3].coef_, est.coef_)


def test_ctrl_c_in_a_callback_keeps_the_epochs_model_and_tears_down(data):
    X, y = data
    rec = Recorder(interrupt_at=2)
    est = SGDRegressor(max_iter=50, tol=None, random_state=0).set_callbacks(rec)
    with pytest.raises(KeyboardInterrupt, match="after epoch 2"):
        est.fit(X, y)
    assert est.n_iter_ == 2 and rec.events[-1] == ("teardown", "fit")
    np.testing.assert_array_equal(rec.named("end")[-1][3].coef_, est.coef_)


def test_classifier_and_schedule(data):
    X, y = data
    labels = np.where(y > 0, "pos", "neg")
    rec = Recorder()
    est = SGDClassifier(learning_rate=CosineAnnealingLR(T_max=4), optimizer="adam",
                        max_iter=4, tol=None, random_state=0).set_callbacks(rec)
    est.fit(X, labels)
    last = rec.named("end")[-1][3]
    np.testing.assert_array_equal(last.predict(X), est.predict(X))


def test_scoring_monitor_records_a_score_per_epoch(data):
    X, y = data
    monitor = callback.ScoringMonitor(scoring="r2")
    est = SGDRegressor(max_iter=6, tol=None, random_state=0).set_callbacks(monitor)
    est.fit(X, y)
    rows = monitor.get_logs().data
    epochs = [r for r in rows if r["task_name"] == "epoch"]
    assert [r["task_id"] for r in epochs] == list(range(6))
    assert epochs[-1]["r2"] == pytest.approx(est.score(X, y), rel=1e-12)
    assert epochs[0]["r2"] < epochs[-1]["r2"]


def test_progress_bar_over_epochs(data, capsys):
    require("rich")
    X, y = data
    est = SGDRegressor(max_iter=5, tol=None).set_callbacks(callback.ProgressBar())
    est.fit(X, y)
    out = capsys.readouterr().out
    assert "SGDRegressor - fit" in out and "100%" in out


def test_without_callbacks_fit_is_silent(data, capsys):
    X, y = data
    SGDRegressor(max_iter=5, tol=None).fit(X, y)
    assert capsys.readouterr().out == ""


def test_in_pipeline_and_grid_search(data, capsys):
    require("rich")
    X, y = data
    pipe = make_pipeline(StandardScaler(), SGDRegressor(max_iter=3, tol=None,
                                                        random_state=0))
    search = GridSearchCV(pipe, {"sgdregressor__alpha": [1e-4, 1e-2]}, cv=2)
    search.set_callbacks(callback.ProgressBar(max_propagation_depth=None))
    search.fit(X, y)
    out = capsys.readouterr().out
    assert "Pipeline - fit-final-estimator | SGDRegressor - fit" in out
    # an auto-propagated callback on the pipeline reaches the epochs, whose
    # task tree hangs under the pipeline's
    rec = Propagated()
    pipe = make_pipeline(StandardScaler(), SGDRegressor(max_iter=3, tol=None))
    pipe.set_callbacks(rec).fit(X, y)
    epochs = rec.named("end")
    assert len(epochs) == 3
    assert {type(e[3]).__name__ for e in epochs} == {"SGDRegressor"}
    task = epochs[0][5].parent              # the regressor's fit, merged with its step
    assert (task.estimator_name, task.source_estimator_name) == ("SGDRegressor", "Pipeline")
    assert task.parent.estimator_name == "Pipeline" and task.parent.parent is None
    # the pipeline's fit, the scaler's and the regressor's
    assert len([e for e in rec.events if e[0] == "begin" and e[1] == "fit"]) == 3
    # a callback of the regressor itself, inside a grid search (n_jobs=2: in
    # other processes), records every epoch of every fit
    monitor = callback.ScoringMonitor(scoring="r2")
    pipe = make_pipeline(StandardScaler(),
                         SGDRegressor(max_iter=4, tol=None).set_callbacks(monitor))
    GridSearchCV(pipe, {"sgdregressor__alpha": [1e-4, 1e-2]}, cv=2, n_jobs=2).fit(X, y)
    rows = monitor.get_logs().data
    assert sum(r["task_name"] == "epoch" for r in rows) == 5 * 4   # 2 x 2 folds + refit


def test_clone_and_pickle_keep_the_callbacks(data):
    X, y = data
    rec = Recorder()
    est = SGDRegressor(max_iter=2, tol=None).set_callbacks(rec)
    assert clone(est)._skl_callbacks == [rec]
    est.fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    assert len(again._skl_callbacks) == 1
