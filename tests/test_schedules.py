"""The step sizes of learning_rate="adaptive" and "optimal", checked directly.

"adaptive" (scikit-learn's rule, fit's loop in the kernel): eta stays eta0
until n_iter_no_change epochs in a row fail to bring the training objective
below (best so far - tol); then eta is divided by 5 and the count restarts,
as long as eta is above 1e-6; a plateau at eta <= 1e-6 stops training
(n_iter_). tests/_reference.py's StoppingRule is that rule, written from the
documentation; the references run the epochs with the eta it gives, and the
estimator must give the same coefficients, objectives and n_iter_.

"optimal": eta_t = 1 / (alpha (t0 + t - 1)), t the sample count (t_),
t0 = 1 / (alpha eta_1) with eta_1 found by Bottou's sgd-2 search: a power of
2 from 1, halving while one pass over a subsample of up to 1000 training
rows gets a lower objective (then keeping the half of the best one, as sgd-2
does), or doubling while it does. With n <= 1000 rows and shuffle=False the
pass is over all rows in storage order, so the search can be redone here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import _reference as ref
from descent import SGDRegressor

RTOL = 1e-10
ATOL = 1e-13


def problem(n=80, d=5, seed=11, scale=1.0):
    rng = np.random.RandomState(seed)
    X = scale * rng.randn(n, d)
    y = X @ rng.randn(d) / scale + 0.5 + 0.3 * rng.randn(n)
    sw = rng.uniform(0.5, 1.5, n)
    return X, y, sw


def fit(X, y, sw=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # (the targets as given: the references step them, not standardized ones)
        return SGDRegressor(shuffle=False, random_state=0, scale_targets=False,
                            **params).fit(
            X, y, sample_weight=sw)


def assert_same_fit(est, expected):
    np.testing.assert_allclose(est.coef_, np.ravel(expected["coef"]), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(est.intercept_, np.ravel(expected["intercept"]), rtol=RTOL,
                               atol=ATOL)
    np.testing.assert_allclose(est.loss_curve_, expected["loss_curve"], rtol=RTOL)
    assert est.n_iter_ == expected["n_iter"]
    assert est.t_ == expected["t"]


# ---------------------------------------------------------------------------
# adaptive
def test_adaptive_divides_by_5_after_each_plateau_and_stops_below_1e_6():
    # tol = 1e3: no epoch "improves", so with n_iter_no_change=1 eta is
    # divided after every epoch from the second on (the first has no best to
    # compare with): 0.01, 0.01, 0.002, 4e-4, 8e-5, 1.6e-5, 3.2e-6, 6.4e-7;
    # the plateau after the 8th epoch finds eta = 6.4e-7 <= 1e-6 and stops.
    X, y, _ = problem()
    params = dict(learning_rate="adaptive", eta0=0.01, tol=1e3, n_iter_no_change=1,
                  penalty="l2", alpha=1e-3)
    est = fit(X, y, max_iter=100, **params)
    expected = ref.sgd_per_sample(X, y, n_epochs=100, learning_rate="adaptive",
                                  eta0=0.01, tol=1e3, n_iter_no_change=1,
                                  penalty="l2", alpha=1e-3)
    np.testing.assert_allclose(expected["etas"],
                               [0.01, 0.01, 2e-3, 4e-4, 8e-5, 1.6e-5, 3.2e-6, 6.4e-7],
                               rtol=1e-12)
    assert est.n_iter_ == 8
    assert_same_fit(est, expected)
    # the divisions mattered: at a constant eta0 the same 8 epochs end elsewhere
    constant = ref.sgd_per_sample(X, y, n_epochs=8, learning_rate="constant", eta0=0.01,
                                  penalty="l2", alpha=1e-3)
    assert np.abs(constant["coef"] - est.coef_).max() > 1e-4


@pytest.mark.parametrize("eta0,n_iter", [(1e-5, 4), (4.9e-6, 3), (1e-6, 2)])
def test_adaptive_stops_at_the_first_plateau_with_eta_at_most_1e_6(eta0, n_iter):
    # eta0 = 1e-5: 1e-5, 1e-5, 2e-6 (> 1e-6: divided again), 4e-7 -> stop after 4;
    # 4.9e-6: 4.9e-6, 4.9e-6, 9.8e-7 -> stop after 3; 1e-6 is not above 1e-6:
    # the first plateau (after epoch 2) stops.
    X, y, _ = problem()
    params = dict(learning_rate="adaptive", eta0=eta0, tol=1e3, n_iter_no_change=1)
    est = fit(X, y, max_iter=50, **params)
    expected = ref.sgd_per_sample(X, y, n_epochs=50, **params)
    assert expected["n_iter"] == n_iter
    assert_same_fit(est, expected)


def test_adaptive_plateaus_of_a_real_fit():
    # A constant step on noisy data: the objective improves, then wanders in
    # a noise band; with tol=1e-4 and n_iter_no_change=2 the plateaus come
    # at irregular epochs. The reference decides them from its own objective.
    X, y, sw = problem(n=120, seed=5)
    params = dict(learning_rate="adaptive", eta0=0.05, tol=1e-4, n_iter_no_change=2,
                  penalty="elasticnet", alpha=1e-3, l1_ratio=0.3)
    est = fit(X, y, sw, max_iter=60, **params)
    expected = ref.sgd_per_sample(X, y, sw, n_epochs=60, **params)
    etas = np.array(expected["etas"])
    # several divisions, not at a fixed period, and training stopped by itself
    changes = np.flatnonzero(etas[1:] != etas[:-1]) + 1
    assert len(changes) >= 3 and len(set(np.diff(changes))) > 1, etas
    assert expected["n_iter"] < 60
    # no decision was a rounding-level call (else this test would be fragile)
    assert min(expected["margins"]) > 1e-9
    assert_same_fit(est, expected)


@pytest.mark.parametrize("optimizer,batch_size,eta0", [
    ("adam", 8, 0.05), ("momentum", None, 0.1), ("rmsprop", 1, 0.01)])
def test_adaptive_with_update_rules(optimizer, batch_size, eta0):
    # Every optimizer takes the adaptive eta as its lr: the same divisions.
    X, y, _ = problem()
    params = dict(learning_rate="adaptive", tol=1e3, n_iter_no_change=2, penalty="l2",
                  alpha=1e-3)
    est = fit(X, y, max_iter=7, optimizer=optimizer, batch_size=batch_size, eta0=eta0,
              **params)
    expected = ref.rule_fit(X, y, optimizer=optimizer, lr=eta0, batch_size=batch_size,
                            n_epochs=7, **params)
    # plateaus after epochs 3 and 5: eta0, eta0, eta0, eta0/5, eta0/5, eta0/25, eta0/25
    np.testing.assert_allclose(expected["etas"],
                               eta0 / np.array([1, 1, 1, 5, 5, 25, 25]), rtol=1e-12)
    assert_same_fit(est, expected)


def test_adaptive_partial_fit_epochs_run_at_eta0():
    # partial_fit has no stopping rule: each call is one epoch at eta0
    X, y, _ = problem()
    params = dict(learning_rate="adaptive", eta0=0.01, tol=1e3, n_iter_no_change=1,
                  shuffle=False, random_state=0)
    est = SGDRegressor(**params)
    for _ in range(3):
        est.partial_fit(X, y)
    expected = ref.sgd_per_sample(X, y, n_epochs=3, learning_rate="constant", eta0=0.01)
    np.testing.assert_allclose(est.coef_, expected["coef"], rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------------
# optimal
@pytest.mark.parametrize("variant", [
    dict(penalty="l2", alpha=0.01),
    dict(penalty="elasticnet", alpha=0.01, l1_ratio=0.5, loss="huber", epsilon=0.3),
    dict(penalty="l1", alpha=0.003, average=30),
    dict(penalty="l2", alpha=1e-3, clip_grad_norm=0.5, weighted=True),
], ids=["l2", "enet-huber", "l1-avg30", "l2-clip-weighted"])
def test_optimal_steps(variant):
    # The estimator's t0 (read from its private _optimal_init) gives
    # eta_t = 1 / (alpha (t0 + t - 1)) at every sample, across epochs.
    X, y, sw = problem()
    variant = dict(variant)
    sw = sw if variant.pop("weighted", False) else None
    est = fit(X, y, sw, learning_rate="optimal", max_iter=4, tol=None, **variant)
    t0 = est._optimal_init
    first = 1.0 / (variant["alpha"] * t0)
    assert first == 2.0 ** round(np.log2(first))     # a power of 2
    expected = ref.sgd_per_sample(X, y, sw, n_epochs=4, learning_rate="optimal",
                                  optimal_t0=t0, **variant)
    np.testing.assert_allclose(est.coef_, expected["coef"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(est.intercept_, [expected["intercept"]], rtol=RTOL,
                               atol=ATOL)
    np.testing.assert_allclose(est.loss_curve_, expected["loss_curve"], rtol=RTOL)
    # another t0 (twice the first step) would not match
    other = ref.sgd_per_sample(X, y, sw, n_epochs=4, learning_rate="optimal",
                               optimal_t0=t0 / 2, **variant)
    assert np.abs(other["coef"] - est.coef_).max() > 1e-6


def bottou_eta0(X, y, sw, alpha, penalty="l2", l1_ratio=0.15, fit_intercept=True):
    """sgd-2's determineEta0 on all rows in storage order (n <= 1000,
    shuffle=False): the cost of a step eta is the objective on the rows after
    one pass from 0 with the optimal schedule whose first step is eta (inf
    if that pass diverges: non-finite, or an objective above 1e4 times the
    zero model's). Returns eta and the costs tried."""
    start = ref.objective(X, y, np.zeros(X.shape[1]), 0.0, penalty, alpha, l1_ratio,
                          sample_weight=sw)

    costs = {}

    def cost(eta):
        costs[eta] = _cost(eta)
        return costs[eta]

    def _cost(eta):
        with np.errstate(all="ignore"):
            r = ref.sgd_per_sample(X, y, sw, n_epochs=1, learning_rate="optimal",
                                   optimal_t0=1.0 / (eta * alpha), alpha=alpha,
                                   penalty=penalty, l1_ratio=l1_ratio,
                                   fit_intercept=fit_intercept)
            if not np.isfinite(r["loss_curve"][0]) or r["loss_curve"][0] > 1e4 * start:
                return np.inf
            value = ref.objective(X, y, r["raw_coef"], r["raw_intercept"], penalty, alpha,
                                  l1_ratio, sample_weight=sw)
        return value if np.isfinite(value) else np.inf

    lo_eta, lo_cost = 1.0, cost(1.0)
    while not np.isfinite(lo_cost):
        lo_eta /= 2
        lo_cost = cost(lo_eta)
    hi_eta, hi_cost = 2 * lo_eta, cost(2 * lo_eta)
    if lo_cost < hi_cost:
        while lo_cost < hi_cost:            # halving helps: keep going
            hi_eta, hi_cost = lo_eta, lo_cost
            lo_eta = hi_eta / 2
            lo_cost = cost(lo_eta)
    elif hi_cost < lo_cost:
        while hi_cost < lo_cost:            # doubling helps
            lo_eta, lo_cost = hi_eta, hi_cost
            hi_eta = 2 * lo_eta
            hi_cost = cost(hi_eta)
    return lo_eta, costs


@pytest.mark.parametrize("case,direction", [
    ("standardized", "halving"), ("small-features", "doubling"),
    ("large-features", "diverging"), ("weighted-elasticnet", "halving"),
    ("sparse", "halving")])
def test_optimal_t0_is_bottous_search(case, direction):
    # features of scale 0.1: larger steps help; of scale 3: the first steps
    # diverge, and the search halves until one pass stays finite
    scale = {"small-features": 0.1, "large-features": 3.0}.get(case, 1.0)
    X, y, sw = problem(scale=scale)
    kw = dict(alpha=0.01, penalty="l2")
    if case == "weighted-elasticnet":
        kw = dict(alpha=0.01, penalty="elasticnet", l1_ratio=0.5)
    else:
        sw = None
    Xf = X
    if case == "sparse":
        # CSR rows: the same passes (no intercept, whose sparse decay the
        # reference does not model)
        X = X * (np.abs(X) > 0.5)
        Xf = sp.csr_matrix(X)
        kw["fit_intercept"] = False
    eta, costs = bottou_eta0(X, y, sw, **kw)
    assert (eta > 1.0) if direction == "doubling" else (eta < 1.0)
    if direction == "diverging":
        assert not np.isfinite(costs[1.0]) and not np.isfinite(costs[0.5]), costs
    est = fit(Xf, y, sw, learning_rate="optimal", max_iter=2, tol=None, **kw)
    assert est._optimal_init == 1.0 / (eta * kw["alpha"])
