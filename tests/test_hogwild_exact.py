"""Hogwild! with a single chunk of samples is the serial loop, exactly.

Dense Hogwild! (hogwild_dense in the kernel) hands out chunks of
max(32, 8 * ahead) consecutive samples of the epoch's shuffled order, with
ahead = max(2, min(32, 768 // (d + 1))) rows prefetched; a thread starts a
chunk from the model plus every published change, runs the serial loop on
its private copy (epoch_plain, or the rule steps with its own copy of the
rule's state), and publishes the change. With n_train <= one chunk, one
thread runs the whole epoch: the model, the rule's state (merged back as
start + change), t_ and the step count must be the serial ones, up to the
rounding of start + (end - start), and of beta ** step computed by pow()
at the start of a chunk where the serial loop keeps a running product.
A refactor that gets a chunk's starting t, step count, schedule, state copy
or merge wrong fails here, with no thread-timing noise to hide behind.

Not the plain path's L1 penalty over several epochs: its cumulative penalty
(u, q) restarts with every chunk (documented), so only one epoch of it is
serial.
"""

from __future__ import annotations

import numpy as np
import pytest

import descent
from descent import SGDRegressor

CONFIG = descent.show_config(print_out=False)
pytestmark = pytest.mark.skipif(
    not CONFIG["openmp"] or CONFIG["max_threads"] < 2,
    reason="Hogwild! needs an OpenMP build and at least 2 threads")

# Measured: 0 on the plain path at d = 5 and 6, at most 2.5e-13 relative (Adam,
# 32 samples x 40 features, 4 epochs, where rounding differences grow most);
# 1e-11 leaves a margin for refactors that round differently but are right.
RTOL = 1e-11
ATOL = 1e-13


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
    "nesterov-invscaling": dict(optimizer="nesterov", eta0=0.02),
    "adagrad-l1": dict(optimizer="adagrad", eta0=0.1, penalty="l1", alpha=0.01),
    "rmsprop-clip": dict(optimizer="rmsprop", eta0=0.01, clip_grad_norm=1.0),
    "adadelta": dict(optimizer="adadelta", eta0=1.0),
    "amsgrad-weighted": dict(optimizer="amsgrad", eta0=0.02, weighted=True),
    "adamw-l2": dict(optimizer="adamw", eta0=0.02, penalty="l2", alpha=0.05),
}


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
    assert hogwild._n_threads() == 2                # the kernel runs hogwild_dense
    hogwild.fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(hogwild.coef_, serial.coef_, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(hogwild.intercept_, serial.intercept_, rtol=RTOL,
                               atol=ATOL)
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
