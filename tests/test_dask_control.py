"""descent.dask.fit_dask with a per-update learning-rate schedule and with
scikit-learn's callbacks over its epochs."""


import numpy as np
import pytest

from _require import require
from descent import SGDRegressor
from descent.schedules import CosineAnnealingLR

distributed = require("distributed")
da = require("dask.array")
callback = require("sklearn.callback")

import _dask_cluster  # noqa: E402
from descent.dask import fit_dask  # noqa: E402

client = _dask_cluster.client      # the LocalCluster fixture the dask modules share

N, D = 2_000, 4




@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(N, D))
    y = X @ np.array([1.0, -1.0, 2.0, 0.5]) + 0.3 * rng.normal(size=N)
    return X, y


class Recorder:
    def __init__(self, stop_at=None):
        self.ends = []
        self.stop_at = stop_at

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.ends.append((context.task_name, fitted_estimator, context.task_id))
        epochs = sum(name == "epoch" for name, *_ in self.ends)
        return context.task_name == "epoch" and epochs == self.stop_at

    def teardown(self, estimator, context):
        self.ends.append(("teardown", None, None))


def test_per_update_schedule_continues_over_the_epochs(client, data):
    # one block on one worker: fit_dask's epochs are the in-memory ones, the
    # schedule's steps counted on from epoch to epoch
    X, y = data
    schedule = CosineAnnealingLR(T_max=3 * N, unit="update")
    params = dict(learning_rate=schedule, eta0=0.02, shuffle=False, max_iter=3, tol=None)
    model = fit_dask(SGDRegressor(**params), da.from_array(X, chunks=(N, D)),
                     da.from_array(y, chunks=N), client=client)
    in_memory = SGDRegressor(**params).fit(X, y)
    np.testing.assert_allclose(model.coef_, in_memory.coef_, rtol=0, atol=1e-12)
    assert model.t_ == in_memory.t_ == 3 * N + 1
    with pytest.raises(ValueError, match="unit='update'"):
        fit_dask(SGDRegressor(learning_rate=CosineAnnealingLR(T_max=3)),
                 da.from_array(X, chunks=(N // 2, D)), da.from_array(y, chunks=N // 2),
                 client=client)


def test_callbacks_see_the_mixed_model_of_each_epoch(client, data):
    X, y = data
    Xd, yd = da.from_array(X, chunks=(N // 2, D)), da.from_array(y, chunks=N // 2)
    rec = Recorder()
    est = SGDRegressor(max_iter=3, tol=None, random_state=0).set_callbacks(rec)
    fit_dask(est, Xd, yd, client=client)
    # each epoch: its two row blocks as they end on the workers (no model of
    # their own), then the epoch with the mixed model
    names = [name for name, *_ in rec.ends]
    assert names == ["block", "block", "epoch"] * 3 + ["fit_dask", "teardown"]
    for e in range(3):
        blocks = rec.ends[3 * e: 3 * e + 2]
        assert sorted(task_id for *_, task_id in blocks) == [0, 1]
        assert all(fitted is None for _, fitted, _ in blocks)
    last_epoch = rec.ends[8][1]
    np.testing.assert_array_equal(last_epoch.coef_, est.coef_)
    np.testing.assert_array_equal(last_epoch.predict(X[:5]), est.predict(X[:5]))
    assert not hasattr(est, "_callback_fit_ctx") and est._skl_callbacks == [rec]
    # a callback stops the epochs
    rec = Recorder(stop_at=2)
    est = SGDRegressor(max_iter=10, tol=None, random_state=0).set_callbacks(rec)
    assert fit_dask(est, Xd, yd, client=client).n_iter_ == 2
    # ... also on an epoch where the adaptive schedule divides the step (the
    # rule's REDUCE_ETA: the stop was ignored there)
    rec = Recorder(stop_at=2)
    est = SGDRegressor(max_iter=10, tol=10.0, n_iter_no_change=1, learning_rate="adaptive",
                       random_state=0).set_callbacks(rec)
    assert fit_dask(est, Xd, yd, client=client).n_iter_ == 2


def test_verbose_prints_the_mixed_model_of_each_epoch(client, data, capsys):
    # scikit-learn's verbose lines, as fit prints them (it raised a TypeError)
    X, y = data
    Xd, yd = da.from_array(X, chunks=(N // 2, D)), da.from_array(y, chunks=N // 2)
    est = fit_dask(SGDRegressor(verbose=1, max_iter=2, tol=None, random_state=0), Xd, yd,
                   client=client)
    out = capsys.readouterr().out
    assert out.count("-- Epoch") == 2
    norm = float(out.split("-- Epoch 2")[1].split("Norm: ")[1].split(",")[0])
    assert norm == pytest.approx(np.linalg.norm(est.coef_), abs=0.006)


def test_progress_bar_shows_the_blocks_of_each_epoch(client, data, capsys):
    pytest.importorskip("rich")
    X, y = data
    Xd, yd = da.from_array(X, chunks=(N // 4, D)), da.from_array(y, chunks=N // 4)
    est = SGDRegressor(max_iter=2, tol=None, random_state=0)
    est.set_callbacks(callback.ProgressBar())
    fit_dask(est, Xd, yd, client=client)
    out = capsys.readouterr().out
    assert "fit_dask" in out and "epoch #1" in out
    assert est.n_iter_ == 2
