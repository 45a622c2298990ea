"""The threads layer (kernel/loop_hogwild.pxd, threaded batch gradients in
kernel/loop_rule.pxd): lock-free Hogwild! on dense and CSR rows reaches the
serial fit's objective, merges the rule's state to the serial one's size, and
with a single chunk of samples *is* the serial loop; threaded batch gradients
are the serial ones summed in another order.

Dense Hogwild! hands out chunks of max(32, 8 * ahead) consecutive samples of
the epoch's shuffled order, with ahead = max(2, min(32, 768 // (d + 1))) rows
prefetched; a thread starts a chunk from the model plus every published
change, runs the serial loop on its private copy (epoch_plain, or the rule
steps with its own copy of the rule's state), and publishes the change. With
n_train <= one chunk, one thread runs the whole epoch: the model, the rule's
state (merged back as start + change), t_ and the step count must be the
serial ones, up to the rounding of start + (end - start), and of beta ** step
computed by pow() at the start of a chunk where the serial loop keeps a
running product. A refactor that gets a chunk's starting t, step count,
schedule, state copy or merge wrong fails there, with no thread-timing noise
to hide behind. (Not the plain path's L1 penalty over several epochs: its
cumulative penalty (u, q) restarts with every chunk, so only one epoch of it
is serial.)
"""


from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import _reference as ref
import descent
from _require import require
from descent import SGDRegressor
from descent._kernels import Path
from descent._plan import make_plan
from descent.optim import SGD, Adadelta, RMSprop

CONFIG = descent.show_config(print_out=False)
needs_threads = pytest.mark.skipif(
    not CONFIG["openmp"] or CONFIG["max_threads"] < 2,
    reason="Hogwild! needs an OpenMP build and at least 2 threads")

# Measured: 0 on the plain path at d = 5 and 6, at most 2.5e-13 relative (Adam,
# 32 samples x 40 features, 4 epochs, where rounding differences grow most);
# 1e-11 leaves a margin for refactors that round differently but are right.
RTOL = 1e-11
ATOL = 1e-13
FAST = dict(max_iter=20, tol=None, random_state=0)


def chunk_size(d):
    """Samples per Hogwild! chunk on dense rows (hogwild_dense and fit)."""
    ahead = max(2, min(32, 768 // (d + 1)))
    return max(32, 8 * ahead)


def data(n, d, targets=1, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    W = rng.randn(d, targets)
    Y = X @ W + 0.5 + 0.1 * rng.randn(n, targets)
    return X, (Y[:, 0] if targets == 1 else Y)


# (name, estimator parameters); eta0 per rule where the default would barely move
CASES = {
    "sgd-invscaling-l2": dict(learning_rate="invscaling", eta0=0.02),
    "sgd-constant-huber-none": dict(learning_rate="constant", eta0=0.01, loss="huber",
                                    epsilon=0.5, penalty=None),
    "sgd-optimal-l2": dict(learning_rate="optimal", alpha=0.01),
    "sgd-l1-one-epoch": dict(penalty="l1", alpha=0.01, max_iter=1),
    "sgd-clip-weighted": dict(clip_grad_norm=0.5, eta0=0.05, weighted=True),
    "adam-invscaling": dict(optimizer="adam", learning_rate="invscaling", eta0=0.05),
    "adam-constant-elasticnet": dict(optimizer="adam", learning_rate="constant",
                                     eta0=0.01, penalty="elasticnet", alpha=0.01),
    "momentum-constant": dict(optimizer="momentum", learning_rate="constant", eta0=0.01),
    "nesterov-invscaling": dict(optimizer="nesterov", learning_rate="invscaling",
                                eta0=0.02),
    "adagrad-l1": dict(optimizer="adagrad", eta0=0.1, penalty="l1", alpha=0.01),
    "rmsprop-clip": dict(optimizer="rmsprop", eta0=0.01, clip_grad_norm=1.0),
    "adadelta": dict(optimizer="adadelta", eta0=1.0),
    "amsgrad-weighted": dict(optimizer="amsgrad", eta0=0.02, weighted=True),
    "adamw-l2": dict(optimizer="adamw", eta0=0.02, penalty="l2", alpha=0.05),
}


@needs_threads
@pytest.mark.parametrize("shape", [(200, 5, 1), (32, 40, 1), (120, 6, 2)],
                         ids=["200x5", "32x40", "120x6-2targets"])
@pytest.mark.parametrize("case", list(CASES))
def test_single_chunk_hogwild_equals_serial(case, shape):
    n, d, targets = shape
    assert n <= chunk_size(d)                       # one chunk per epoch
    X, y = data(n, d, targets)
    params = dict(CASES[case])
    sw = (np.random.RandomState(1).uniform(0.2, 2.0, n)
          if params.pop("weighted", False) else None)
    params = dict(dict(max_iter=4, tol=None, shuffle=True, random_state=3), **params)
    serial = SGDRegressor(n_jobs=1, **params).fit(X, y, sample_weight=sw)
    hogwild = SGDRegressor(n_jobs=2, **params)
    # the kernel runs hogwild_dense
    assert make_plan(hogwild, sparse=False).path in (Path.HOGWILD_PLAIN, Path.HOGWILD_RULE)
    hogwild.fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(hogwild.coef_, serial.coef_, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(hogwild.intercept_, serial.intercept_, rtol=RTOL,
                               atol=ATOL)
    if params.get("optimizer", "sgd") != "sgd" or params.get("penalty", "l2") is None:
        # (per-sample "sgd" on one thread counts scikit-learn's running
        # penalty, threads the penalty at the end of each epoch)
        np.testing.assert_allclose(hogwild.loss_curve_, serial.loss_curve_, rtol=RTOL)
    assert hogwild.t_ == serial.t_ == 1 + params["max_iter"] * n
    assert hogwild.n_iter_ == serial.n_iter_
    # the rule's state was merged back (start + change) and the step count
    # carried: a second partial_fit epoch continues the same trajectory
    if params.get("optimizer", "sgd") != "sgd":
        np.testing.assert_allclose(hogwild._rule_state, serial._rule_state,
                                   rtol=RTOL, atol=ATOL)
        assert hogwild._step == serial._step
        serial.partial_fit(X, y, sample_weight=sw)
        hogwild.partial_fit(X, y, sample_weight=sw)
        np.testing.assert_allclose(hogwild.coef_, serial.coef_, rtol=RTOL, atol=ATOL)
    # the fit went somewhere (not a comparison of two untouched zeros)
    assert np.abs(serial.coef_).max() > 1e-2


# -- towards the serial objective, merged state, threaded gradients ----------


def serial_and_threaded(X, y, params, max_iter, second_target):
    """The n_jobs=1 and n_jobs=2 fits of params (targets=2: y and
    second_target(y)) with the adaptive schedule, and the y they fitted."""
    params = dict(params)
    if params.pop("targets", 1) == 2:
        y = np.column_stack([y, second_target(y)])
    kw = dict(max_iter=max_iter, tol=1e-6, random_state=0, learning_rate="adaptive",
              **params)
    return SGDRegressor(**kw).fit(X, y), SGDRegressor(n_jobs=2, **kw).fit(X, y), y


@pytest.fixture(scope="module")
def threads_problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(6000, 40))
    coef = np.where(np.arange(40) < 25, rng.normal(size=40), 0.0)
    return X, X @ coef + 0.1 * rng.normal(size=6000)


@pytest.mark.parametrize("params", [
    dict(), dict(penalty="l1", alpha=0.01), dict(penalty="elasticnet", alpha=0.01),
    dict(loss="huber"), dict(targets=2),
    dict(optimizer="adam", eta0=0.01), dict(optimizer="amsgrad", eta0=0.01),
    dict(optimizer="adam", penalty="l1", alpha=0.01, eta0=0.01),
    dict(optimizer="adagrad", eta0=0.3), dict(optimizer="nesterov", eta0=0.002),
    dict(optimizer="rmsprop", eta0=1e-3), dict(optimizer="adadelta", eta0=1.0),
    dict(optimizer="adamw", eta0=0.01, alpha=0.01),
    dict(optimizer="adam", eta0=0.01, targets=2),
])
def test_hogwild_reaches_the_serial_objective(threads_problem, params):
    # n_jobs=2 per sample: threads step private model copies and exchange
    # their changes every few dozen samples; the fit ends at the serial fit's
    # objective (measured: within 5e-5).
    X, y = threads_problem
    serial, threads, y = serial_and_threaded(X, y, params, 300, lambda y: 1.0 - y)
    assert ref.model_objective(threads, X, y) == pytest.approx(
        ref.model_objective(serial, X, y), rel=1e-3)


@pytest.mark.parametrize("optimizer,state", [("adagrad", 0), ("adam", 1),
                                             ("rmsprop", 0)])
def test_hogwild_merges_the_rule_state(threads_problem, optimizer, state):
    # Each thread keeps its own rule state through the epoch; merged, it is
    # the serial one's size: Adagrad's sum of squared gradients adds up over
    # the threads, the decaying averages (Adam's and RMSprop's second
    # moments, with memories of 1000 and 100 samples) are averaged, not
    # added up.
    X, y = threads_problem
    # a step so small that the threads' gradients are the serial ones: the
    # states then differ by how they merge, not by the trajectories
    kw = dict(optimizer=optimizer, eta0=1e-7, learning_rate="constant", max_iter=3,
              tol=None, random_state=0)
    serial = SGDRegressor(**kw).fit(X, y)
    threads = SGDRegressor(n_jobs=2, **kw).fit(X, y)
    ratio = np.median(np.abs(threads._rule_state[state])
                      / np.abs(serial._rule_state[state]))
    assert 0.8 < ratio < 1.25       # (added up, they would be ~2x)


@pytest.mark.parametrize("params", [dict(batch_size=None, learning_rate="constant",
                                         eta0=0.3),
                                    dict(batch_size=6000, optimizer="adam", eta0=0.05)])
def test_threaded_batch_gradient_equals_serial(threads_problem, params):
    # Large batches split their gradient over the threads: the same steps,
    # summed in another order.
    # (scale_targets=False: Adam normalises the intercept's near-zero gradient
    # of centered targets, which would make this a test of rounding)
    X, y = threads_problem
    serial = SGDRegressor(**FAST, **params, scale_targets=False).fit(X, y)
    threads = SGDRegressor(**FAST, **params, n_jobs=2, scale_targets=False).fit(X, y)
    np.testing.assert_allclose(threads.coef_, serial.coef_, rtol=1e-9, atol=1e-12)


@pytest.fixture(scope="module")
def wide():
    rng = np.random.default_rng(0)
    n, d = 5000, 200
    X = rng.standard_normal((n, d))
    X[rng.random(X.shape) < 0.9] = 0.0
    X[:, -3:] = 0.0                                   # features no row contains
    y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize("params", [
    dict(), dict(penalty="l1", alpha=0.01), dict(penalty="elasticnet", alpha=0.01),
    dict(optimizer="adam", eta0=0.01), dict(optimizer="adam", penalty="l1", alpha=0.01,
                                            eta0=0.01),
    dict(optimizer="adagrad", eta0=0.5), dict(optimizer="nesterov", eta0=0.002),
    dict(optimizer=RMSprop(lr=1e-3, alpha=0.999)),
    dict(optimizer=Adadelta(lr=1.0, rho=0.999)),
    dict(optimizer="adamw", eta0=0.01, alpha=0.01),
    dict(optimizer="adam", eta0=0.01, targets=2),
])
def test_sparse_hogwild_reaches_the_serial_objective(wide, params):
    # Lock-free threads on CSR rows (the penalty split over the rows, Niu et
    # al. 2011) end at the serial fit's objective (measured: within 7e-5).
    X, y = wide
    serial, threads, y = serial_and_threaded(sp.csr_matrix(X), y, params, 200,
                                             lambda y: 0.5 * y - 1.0)
    # (AdamW's decoupled decay does not minimise this objective: where it
    # stops depends on how often the decay acts, 2e-3 off here)
    assert ref.model_objective(threads, X, y) == pytest.approx(
        ref.model_objective(serial, X, y),
        rel=1e-2 if params.get("optimizer") == "adamw" else 1e-3)


@pytest.mark.parametrize("params", [
    dict(), dict(optimizer=SGD(lr=0.01), penalty="elasticnet", alpha=0.01),
    dict(optimizer="adam", alpha=0.01),
    dict(optimizer="momentum", eta0=0.002, penalty=None, learning_rate="constant"),
])
def test_sparse_hogwild_features_without_rows(wide, params):
    # A feature no training row contains moves by the penalty alone, after the
    # threads' epoch, as the serial lazy steps move it.
    X, y = wide
    kw = dict(max_iter=3, tol=None, random_state=0, **params)
    init = np.linspace(-1.0, 1.0, X.shape[1])
    serial = SGDRegressor(**kw).fit(sp.csr_matrix(X), y, coef_init=init)
    threads = SGDRegressor(n_jobs=2, **kw).fit(sp.csr_matrix(X), y, coef_init=init)
    np.testing.assert_allclose(threads.coef_[-3:], serial.coef_[-3:], rtol=1e-10)
    if params.get("penalty", "l2") is not None:
        assert np.all(np.abs(threads.coef_[-3:]) < np.abs(init[-3:]))


def test_sparse_hogwild_refuses_dense_updates(wide):
    X, y = wide
    with pytest.raises(ValueError, match="sparse_update='dense'"):
        SGDRegressor(n_jobs=2, sparse_update="dense").fit(sp.csr_matrix(X), y)


@needs_threads
def test_threads_do_not_follow_other_libraries_openmp_setting():
    # another library in the process (torch, threadpoolctl) may set the shared
    # OpenMP runtime to one thread; n_jobs=2 still runs two (it once fell back
    # to one, silently, after a torch test)
    threadpoolctl = require("threadpoolctl")
    X, y = data(32, 6)
    kw = dict(max_iter=3, tol=None, random_state=0, n_jobs=2)
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert make_plan(SGDRegressor(**kw), sparse=False).path == Path.HOGWILD_PLAIN
        threaded = SGDRegressor(**kw).fit(X, y)
    np.testing.assert_allclose(threaded.coef_, SGDRegressor(**kw).fit(X, y).coef_,
                               rtol=RTOL, atol=ATOL)
