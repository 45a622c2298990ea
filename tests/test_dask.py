"""descent.dask: training on a distributed cluster by iterative parameter mixing,
and dask-ml's Incremental wrapper around descent.SGDRegressor."""

import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from _require import require
from descent import SGDRegressor

# a skip outside CI, a failure in CI (where the test extra installs them)
distributed = require("distributed")
da = require("dask.array")

import _dask_cluster  # noqa: E402
from descent.dask import fit_dask  # noqa: E402

client = _dask_cluster.client      # the LocalCluster fixture the dask modules share

N, D, CHUNK = 20_000, 10, 5_000




@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = X @ rng.normal(size=D) + 1.0 + 0.5 * rng.normal(size=N)
    return X, y


def objective(model, X, y, sample_weight=None):
    """The ridge objective both fits minimise: mean 0.5 r^2 + alpha/2 |w|^2."""
    r = y - X @ model.coef_ - model.intercept_[0]
    sw = np.ones_like(y) if sample_weight is None else sample_weight
    return 0.5 * np.mean(sw * r * r) + 0.5 * model.alpha * model.coef_ @ model.coef_


def transferred_keys(client):
    """Keys any worker fetched from another worker so far."""
    logs = client.run(lambda dask_worker: list(dask_worker.transfer_incoming_log))
    return [str(k) for log in logs.values() for entry in log for k in entry["keys"]]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_matches_in_memory_fit(client, data, optimizer):
    X, y = data
    params = dict(optimizer=optimizer, random_state=0)
    in_memory = SGDRegressor(**params).fit(X, y)
    Xd = da.from_array(X, chunks=(CHUNK, D))
    yd = da.from_array(y, chunks=CHUNK)
    model = fit_dask(SGDRegressor(**params), Xd, yd, client=client)

    assert type(model) is SGDRegressor
    reference = objective(in_memory, X, y)
    assert abs(objective(model, X, y) - reference) <= 0.01 * reference
    assert model.n_features_in_ == D
    assert model.n_iter_ == len(model.loss_curve_) >= 1
    assert model.t_ == 1 + model.n_iter_ * N       # samples seen, as in fit
    assert np.all(np.isfinite(model.loss_curve_))
    # the epoch objectives are those of fit: mean loss plus penalty
    assert abs(model.loss_curve_[-1] - reference) < 0.05 * reference
    assert model.score(X, y) > 0.9
    # Blocks were persisted where they were made and never moved between
    # workers: only the model state travelled.
    assert not [k for k in transferred_keys(client) if "_pack_block" in k]


def test_result_is_usable_without_dask(client, data):
    X, y = data
    Xd = da.from_array(X, chunks=(CHUNK, D))
    yd = da.from_array(y, chunks=CHUNK)
    model = fit_dask(SGDRegressor(random_state=0, max_iter=3, tol=None), Xd, yd,
                     client=client)
    # go on in memory: partial_fit continues from the mixed state
    t = model.t_
    model.partial_fit(X[:100], y[:100])
    assert model.t_ == t + 100
    code = textwrap.dedent("""
        import pickle, sys
        import numpy as np
        sys.modules["dask"] = None          # any import of dask fails
        sys.modules["distributed"] = None
        model = pickle.loads(sys.stdin.buffer.read())
        print(model.predict(np.ones((2, model.n_features_in_)))[0])
    """)
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(model),
                         capture_output=True, timeout=60, check=True)
    expected = model.predict(np.ones((1, D)))[0]
    assert float(out.stdout) == pytest.approx(expected, rel=1e-12)


def test_dask_dataframe(client, data):
    pd = require("pandas")
    dd = require("dask.dataframe")
    X, y = data
    columns = [f"x{j}" for j in range(D)]
    frame = pd.DataFrame(X, columns=columns).assign(target=y)
    ddf = dd.from_pandas(frame, npartitions=4)
    # client=None: the default client (the fixture's)
    model = fit_dask(SGDRegressor(random_state=0), ddf[columns], ddf["target"])
    reference = objective(SGDRegressor(random_state=0).fit(X, y), X, y)
    assert abs(objective(model, X, y) - reference) <= 0.01 * reference
    assert list(model.feature_names_in_) == columns
    pred = model.predict(frame[columns].iloc[:5])
    np.testing.assert_allclose(pred, X[:5] @ model.coef_ + model.intercept_[0])


def test_sparse_blocks(client, data):
    sp = require("scipy.sparse")
    X, y = data
    X = np.where(np.abs(X) > 1.0, X, 0.0)       # ~30 % non-zeros
    Xd = da.from_array(X, chunks=(CHUNK, D)).map_blocks(
        sp.csr_matrix, dtype=np.float64, meta=sp.csr_matrix((0, 0)))
    model = fit_dask(SGDRegressor(random_state=0), Xd, da.from_array(y, chunks=CHUNK),
                     client=client)
    reference = objective(SGDRegressor(random_state=0).fit(sp.csr_matrix(X), y), X, y)
    assert abs(objective(model, X, y) - reference) <= 0.01 * reference


def test_float32_blocks_are_read_as_they_are(client, data):
    # reproduced: float32 dask X gave a float64 coef_ (every block was copied
    # to float64), where fit gives float32 and reads X in place
    X, y = data
    X32 = X.astype(np.float32)
    Xd = da.from_array(X32, chunks=(CHUNK, D))
    model = fit_dask(SGDRegressor(random_state=0), Xd, da.from_array(y, chunks=CHUNK),
                     client=client)
    assert model.coef_.dtype == np.float32
    assert model.intercept_.dtype == np.float64     # one target: as scikit-learn
    reference = objective(SGDRegressor(random_state=0).fit(X32, y), X, y)
    assert abs(objective(model, X, y) - reference) <= 0.01 * reference


@pytest.mark.parametrize("params", [dict(), dict(optimizer="adam", average=True)])
def test_mixing_identities(data, params):
    # No cluster: the mixing rule itself. Mixing one model gives it back. Mixing
    # k copies of a model gives its weights and optimizer state back, with the
    # counters (t_, steps, count of averaged iterates) grown k times as much,
    # and in the first epoch (nothing before) the same averaged weights.
    from descent.dask import _mix
    X, y = data
    start = SGDRegressor(random_state=0, **params).partial_fit(X[:500], y[:500])
    model = pickle.loads(pickle.dumps(start)).partial_fit(X[500:1500], y[500:1500])
    one = _mix([model], [1000], start)
    for name in ("_theta", "_rule_state", "_avg", "coef_", "intercept_"):
        np.testing.assert_allclose(getattr(one, name), getattr(model, name),
                                   rtol=1e-13, atol=1e-15)
    assert (one.t_, one._step) == (model.t_, model._step)
    three = _mix([model] * 3, [1000, 1000, 1000], start)
    np.testing.assert_allclose(three._theta, model._theta, rtol=1e-13)
    np.testing.assert_allclose(three._rule_state, model._rule_state, rtol=1e-13)
    assert three.t_ - start.t_ == 3 * (model.t_ - start.t_)
    assert three._step - start._step == 3 * (model._step - start._step)
    first = _mix([start] * 3, [500, 500, 500], None)
    assert first.t_ - 1 == 3 * (start.t_ - 1)
    if params.get("average"):
        np.testing.assert_allclose(first._avg[..., :-1], start._avg[..., :-1],
                                   rtol=1e-13)
        np.testing.assert_array_equal(first._avg[..., -1], 3 * start._avg[..., -1])
        np.testing.assert_allclose(first.coef_, start.coef_, rtol=1e-13)


def test_multi_output(client, data):
    X, y = data
    noise = 0.5 * np.random.default_rng(3).normal(size=N)
    Y = np.column_stack([y, X @ np.arange(D) - 2.0 + noise])
    # the in-memory multi-output fit is the reference: it must work (an error
    # here is a failure, not a reason to skip the distributed comparison)
    in_memory = SGDRegressor(random_state=0).fit(X, Y)
    assert in_memory.coef_.shape == (2, D) and in_memory.intercept_.shape == (2,)
    model = fit_dask(SGDRegressor(random_state=0), da.from_array(X, chunks=(CHUNK, D)),
                     da.from_array(Y, chunks=(CHUNK, 1)), client=client)
    assert model.coef_.shape == (2, D) and model.intercept_.shape == (2,)
    for k in range(2):
        r_mem = Y[:, k] - X @ in_memory.coef_[k] - in_memory.intercept_[k]
        r = Y[:, k] - X @ model.coef_[k] - model.intercept_[k]
        assert np.mean(r * r) <= 1.01 * np.mean(r_mem * r_mem)


def test_sample_weight(client, data):
    X, y = data
    y_bad = y.copy()
    y_bad[::3] = 100.0                      # rows the weights switch off
    sw = np.ones(N)
    sw[::3] = 0.0
    Xd = da.from_array(X, chunks=(CHUNK, D))
    model = fit_dask(SGDRegressor(random_state=0),
                     Xd, da.from_array(y_bad, chunks=CHUNK),
                     sample_weight=da.from_array(sw, chunks=CHUNK), client=client)
    in_memory = SGDRegressor(random_state=0).fit(X, y_bad, sample_weight=sw)
    reference = objective(in_memory, X, y_bad, sw)
    assert abs(objective(model, X, y_bad, sw) - reference) <= 0.01 * reference


def test_blocks_sorted_by_target_warn(client, data):
    # sorted by y, each block's target mean is far from all the rows': the
    # last block of a worker's epoch would pull the model toward it
    X, y = data
    order = np.argsort(y)
    with pytest.warns(UserWarning, match=r"block 0 \(5000 rows\) has 0% of its targets "
                      "above the median of all rows, against 50% of all rows") as record:
        fit_dask(SGDRegressor(max_iter=1, tol=None, random_state=0),
                 da.from_array(X[order], chunks=(CHUNK, D)),
                 da.from_array(y[order], chunks=CHUNK), client=client)
    assert record[0].filename == __file__          # attributed to the caller's line
    # the same rows in random blocks: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        fit_dask(SGDRegressor(max_iter=1, tol=None, random_state=0),
                 da.from_array(X, chunks=(CHUNK, D)), da.from_array(y, chunks=CHUNK),
                 client=client)


@pytest.mark.parametrize("tail", ["lognormal", "cauchy", "rare_spikes"])
def test_heavy_tailed_targets_in_random_blocks_do_not_warn(client, tail):
    # a random block's mean of a heavy-tailed target is far from the overall
    # mean; its share above the median is not: no warning, whatever the tail
    rng = np.random.default_rng(7)
    X = rng.normal(size=(5_000, 4))
    y = {"lognormal": np.exp(2 * rng.normal(size=5_000)),
         "cauchy": rng.standard_cauchy(size=5_000),
         "rare_spikes": np.where(rng.random(5_000) < 0.01, 1000.0, 0.0)}[tail]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        fit_dask(SGDRegressor(max_iter=1, tol=None, random_state=0),
                 da.from_array(X, chunks=(50, 4)), da.from_array(y, chunks=50),
                 client=client)


def test_empty_and_weightless_blocks(client, data):
    X, y = data
    X, y = X[:4_000], y[:4_000]
    # blocks of no rows are left out
    chunks = (0, 2_000, 0, 1, 1_999, 0)
    model = fit_dask(SGDRegressor(random_state=0, max_iter=5, tol=None),
                     da.from_array(X, chunks=(chunks, D)), da.from_array(y, chunks=(chunks,)),
                     client=client)
    assert model.score(X, y) > 0.9
    # a block whose weights are all 0 is skipped: its rows (here, targets of
    # 1e6) do not move the model
    y_bad, sw = y.copy(), np.ones(4_000)
    y_bad[1_000:2_000], sw[1_000:2_000] = 1e6, 0.0
    chunks = (1_000,) * 4
    model = fit_dask(SGDRegressor(random_state=0, max_iter=5, tol=None),
                     da.from_array(X, chunks=(chunks, D)),
                     da.from_array(y_bad, chunks=(chunks,)),
                     sample_weight=da.from_array(sw, chunks=(chunks,)), client=client)
    assert model.score(X, y) > 0.9
    # all weights 0: nothing to fit, said before any epoch
    with pytest.raises(ValueError, match="sample_weight is 0 on every row"):
        fit_dask(SGDRegressor(), da.from_array(X, chunks=(chunks, D)),
                 da.from_array(y, chunks=(chunks,)),
                 sample_weight=da.zeros(4_000, chunks=(chunks,)), client=client)


def test_y_blocked_differently_and_numpy_y(client, data):
    X, y = data
    Xd = da.from_array(X, chunks=(CHUNK, D))
    # same rows, other blocks: y is re-blocked like X
    model = fit_dask(SGDRegressor(random_state=0, max_iter=3, tol=None), Xd,
                     da.from_array(y, chunks=3_000), client=client)
    assert model.score(X, y) > 0.9
    model = fit_dask(SGDRegressor(random_state=0, max_iter=3, tol=None), Xd, y,
                     client=client)
    assert model.score(X, y) > 0.9


def test_bad_input_raises(client, data):
    X, y = data
    Xd = da.from_array(X, chunks=(CHUNK, D))
    yd = da.from_array(y, chunks=CHUNK)
    est = SGDRegressor(max_iter=2, tol=None)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        fit_dask(est, Xd, yd[:-1], client=client)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        fit_dask(est, Xd[:-7], yd, client=client)
    with pytest.raises(ValueError, match="shape"):
        fit_dask(est, Xd, y[:-1], client=client)
    with pytest.raises(ValueError, match="sample_weight"):
        fit_dask(est, Xd, yd, sample_weight=np.ones(N - 1), client=client)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        fit_dask(est, Xd[Xd[:, 0] > 0], yd, client=client)
    with pytest.raises(ValueError, match="2-d"):
        fit_dask(est, Xd[:, 0], yd, client=client)
    with pytest.raises(ValueError, match="1-d"):
        fit_dask(est, Xd, yd, sample_weight=Xd[:, :2], client=client)
    with pytest.raises(ValueError, match="1-d or 2-d"):
        fit_dask(est, Xd, Xd[:, :, None], client=client)
    with pytest.raises(TypeError, match="dask"):
        fit_dask(est, X, y, client=client)
    with pytest.raises(ValueError, match="early_stopping"):
        fit_dask(SGDRegressor(early_stopping=True), Xd, yd, client=client)
    with pytest.raises(ValueError, match="diverged"):
        fit_dask(SGDRegressor(eta0=1e3, learning_rate="constant", max_iter=2),
                 Xd, yd * 1e6, client=client)


def test_stopping_rule_and_overrides(client, data):
    X, y = data
    Xd = da.from_array(X, chunks=(CHUNK, D))
    yd = da.from_array(y, chunks=CHUNK)
    est = SGDRegressor(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = fit_dask(est, Xd, yd, max_iter=3, tol=None, client=client)
    assert model is est and model.n_iter_ == 3 and est.max_iter == 1000
    # out of epochs far from the optimum: warned with the gap the
    # stationarity check measured on the cluster, as fit warns; a tol the
    # model already meets when the epochs run out does not warn (fit's rule)
    with pytest.warns(ConvergenceWarning, match="Maximum number of iteration.*still"):
        fit_dask(SGDRegressor(random_state=0, tol=1e-9, n_iter_no_change=50),
                 Xd, yd, max_iter=2, client=client)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit_dask(SGDRegressor(random_state=0, tol=10.0, n_iter_no_change=50),
                 Xd, yd, max_iter=2, client=client)
    # stops by tol / n_iter_no_change on the mixed epoch objective, as fit does
    # on its epoch objective: here after n_iter_no_change + 1 epochs
    params = dict(random_state=0, tol=10.0, n_iter_no_change=2)
    model = fit_dask(SGDRegressor(**params), Xd, yd, client=client)
    assert model.n_iter_ == SGDRegressor(**params).fit(X, y).n_iter_ == 3
    # warm_start continues from the previous coef_
    est = SGDRegressor(random_state=0, warm_start=True, max_iter=3, tol=None)
    first = fit_dask(est, Xd, yd, client=client).loss_curve_[0]
    second = fit_dask(est, Xd, yd, client=client).loss_curve_[0]
    assert second < first


def test_import_descent_does_not_import_dask():
    code = ("import sys, descent; "
            "print([m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_dask_gives_install_hint():
    code = textwrap.dedent("""
        import sys
        sys.modules["dask"] = None
        try:
            import descent.dask
        except ImportError as exc:
            print(exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert 'pip install "descent[dask]"' in out.stdout


# -- dask-ml ----------------------------------------------------------------------

def test_dask_ml_incremental(client, data):
    # missing, or broken with these dask / scikit-learn versions: a skip
    # outside CI, a failure in CI (.ci/run installs dask-ml)
    Incremental = require("dask_ml.wrappers").Incremental
    X, y = data
    Xd = da.from_array(X, chunks=(CHUNK, D))
    yd = da.from_array(y, chunks=CHUNK)
    inc = Incremental(SGDRegressor(random_state=0), shuffle_blocks=False)
    inc.fit(Xd, yd)
    assert isinstance(inc.estimator_, SGDRegressor)
    assert inc.estimator_.t_ == 1 + N      # one partial_fit epoch per block
    pred = inc.predict(Xd)
    assert isinstance(pred, da.Array)
    np.testing.assert_allclose(pred.compute(), inc.estimator_.predict(X), rtol=1e-12)
    assert inc.estimator_.score(X, y) > 0.9


@pytest.mark.parametrize("estimator", [
    SGDRegressor(random_state=0, max_iter=2, tol=None),       # scikit-learn's path
    SGDRegressor(random_state=0, max_iter=2, tol=None, optimizer="adam", alpha=1e-2,
                 penalty="elasticnet"),                        # scaled targets
], ids=["plain", "adam-scaled"])
def test_cluster_passes_equal_one_workspace(client, data, estimator):
    # The stationarity check's passes over the blocks (descent.dask's
    # ClusterPasses, added up by rows) equal a Workspace of all the rows,
    # the one fit's check reads, at the same model and direction.
    from descent._dask_check import ClusterPasses
    from descent._dask_data import persist_blocks

    X, y = data
    est = estimator.fit(X, y)
    theta = est._theta + 0.01
    whole = est._measuring_workspace(X, y, None, theta.copy())
    blocks, _, _ = persist_blocks(client, da.from_array(X, chunks=(CHUNK, D)),
                                  da.from_array(y, chunks=CHUNK), None)
    try:
        distributed.wait(blocks)
        passes = ClusterPasses(client, blocks, theta.copy())
        passes.model = est
        g, g_ref = np.empty_like(theta), np.empty_like(theta)
        assert passes.gradient(g) == pytest.approx(whole.gradient(g_ref), rel=1e-12)
        np.testing.assert_allclose(g, g_ref, rtol=1e-11, atol=1e-14)
        v = np.random.default_rng(0).normal(size=theta.shape)
        hv, hv_ref = np.empty_like(theta), np.empty_like(theta)
        passes.hessian_vector(v, hv)
        whole.hessian_vector(v, hv_ref)
        np.testing.assert_allclose(hv, hv_ref, rtol=1e-11, atol=1e-14)
        assert passes.objective(v) == pytest.approx(whole.objective(v), rel=1e-12)
        assert passes.objective() == pytest.approx(whole.objective(), rel=1e-12)
    finally:
        client.cancel(blocks)


@pytest.mark.parametrize("estimator", [SGDRegressor(), SGDRegressor(optimizer="adam")],
                         ids=["identity", "scaled"])
def test_check_unit_from_all_blocks(client, data, estimator):
    # The stationarity check's unit (the targets' variance where they are fitted
    # as given; 1 where they are standardized) from the moments of all the
    # blocks equals fit's on all the rows.
    from descent._dask_data import global_scaling, persist_blocks
    from descent._plan import make_plan

    X, y = data
    y = 30.0 * y + 5.0
    est = estimator.set_params(max_iter=1, tol=None).fit(X, y)
    blocks, ids, rows = persist_blocks(client, da.from_array(X, chunks=(CHUNK, D)),
                                       da.from_array(y, chunks=CHUNK), None)
    try:
        _, unit = global_scaling(est, make_plan(est, sparse=False), client, blocks, ids,
                                 rows)
    finally:
        client.cancel(blocks)
    expected = est._check_unit(y, None, np.arange(y.shape[0]))
    assert unit == pytest.approx(expected, rel=1e-10)
    assert (expected > 100.0) == (estimator.optimizer == "sgd")


def test_target_scaling_equals_fits(client, data):
    # fit_dask's target scaling is fit's, from all the rows: per-sample "sgd"
    # fits y as given, but standardized with a clip (clip_grad_norm in one
    # unit); fit_dask left that case to each worker, which standardized by
    # the moments of its first block.
    X, y = data
    y = 30.0 * y + 5.0
    Xd, yd = da.from_array(X, chunks=(CHUNK, D)), da.from_array(y, chunks=CHUNK)
    for params in ({}, {"clip_grad_norm": 1.0}, {"optimizer": "adam"}):
        est = SGDRegressor(random_state=0, max_iter=1, tol=None, **params)
        in_memory = clone(est).fit(X, y)._scaling
        scaling = fit_dask(est, Xd, yd, client=client)._scaling
        assert scaling.is_identity == (params == {}), params
        np.testing.assert_allclose(scaling.shift, in_memory.shift, rtol=1e-10)
        np.testing.assert_allclose(scaling.scale, in_memory.scale, rtol=1e-10)
