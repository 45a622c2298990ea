"""SGDRegressor's update-rule paths against a NumPy reference, without torch.

Every optimizer (torch.optim's rules, transcribed in tests/_reference.py's
RuleReference from the published formulas) in every mode the kernels
implement separately: per sample on dense rows (epoch_batched's per-sample
loop, rule_step_targets with the row as the gradient source), per sample on
CSR rows with sparse_update="dense" (csr_row_rule_step: the row scattered
into a zeroed buffer), mini-batches and one full batch per epoch
(batch_gradient + rule_step_targets), with clipping
(torch.nn.utils.clip_grad_norm_: max_norm / (norm + 1e-6) when norm >
max_norm; per sample the sample's weighted gradient, coef and intercept,
over all targets), averaging (the running mean of the iterates once
``average`` samples have been seen), sample weights, one and two targets,
with and without intercept. shuffle=False; coef_, intercept_, loss_curve_
and t_ agree to 1e-10 relative.

The reference is written from the formulas, not from the kernel: it steps a
whole parameter vector with NumPy array operations, computes each batch's
gradient with a matrix product, and keeps the rule's state in plain arrays.
test_optim.py checks descent.optim's single steps the same way; this file
checks the estimator's loops around them (which gradient, which step count,
which learning rate, penalty, clipping and averaging), where a refactor of
the kernels is most likely to go wrong.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import _reference as ref
from descent import SGDRegressor as _Estimator
from descent.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop


def SGDRegressor(**params):
    """descent.SGDRegressor fitting the targets as given (scale_targets=False):
    these tests follow its iterates, which the references compute for them."""
    return _Estimator(**{"scale_targets": False, **params})

RTOL = 1e-10
ATOL = 1e-12   # coordinates that are (nearly) zero in one of the two
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta",
              "adam", "amsgrad", "adamw")
MODES = ("per-sample", "per-sample-csr-dense", "mini-batch", "full-batch")


def problem():
    """60 x 5 with 40 % zeros (so that CSR rows skip coordinates), two
    targets with intercepts, sample weights with two zeros."""
    rng = np.random.RandomState(7)
    X = rng.randn(60, 5)
    X[rng.rand(60, 5) < 0.4] = 0.0
    W = np.array([[1.0, -0.5, 0.0, 0.3, -0.2], [-0.4, 0.8, 0.5, 0.0, 0.1]]).T
    Y = X @ W + np.array([0.5, -1.0]) + 0.3 * rng.randn(60, 2)
    sw = rng.uniform(0.2, 2.0, size=60)
    sw[[3, 17]] = 0.0
    return X, Y, sw


# Three variants that together switch every option on and off.
VARIANTS = {
    # elastic net, huber, invscaling, clipping, averaging from the 25th
    # sample, weights, one target
    "enet-huber-invscaling-clip-avg25-weighted": dict(
        targets=1, weighted=True, penalty="elasticnet", alpha=0.05, l1_ratio=0.4,
        loss="huber", epsilon=0.3, learning_rate="invscaling", power_t=0.3,
        clip_grad_norm=0.15, average=25),
    # L2, squared error, constant step, two targets, no intercept
    "l2-squared-constant-2targets-nointercept": dict(
        targets=2, weighted=False, penalty="l2", alpha=0.01, loss="squared_error",
        learning_rate="constant", fit_intercept=False),
    # L1, squared epsilon-insensitive, invscaling power 0.5, two targets,
    # averaging from the start, joint clipping of both targets, weights
    "l1-sqeps-invscaling-2targets-avg-clip-weighted": dict(
        targets=2, weighted=True, penalty="l1", alpha=0.02,
        loss="squared_epsilon_insensitive", epsilon=0.2, learning_rate="invscaling",
        power_t=0.5, average=True, clip_grad_norm=1.0),
}


def learning_rate_of(optimizer, mode):
    if optimizer == "adadelta":
        return 1.0
    if optimizer == "adagrad":
        return 0.1
    return 0.1 if mode == "full-batch" else 0.02


def fit_pair(optimizer, mode, variant, ref_overrides=None, est_optimizer=None,
             hyper=None, lr=None):
    """(fitted estimator, reference dict) for one optimizer, mode and variant."""
    X, Y, sw = problem()
    v = dict(VARIANTS[variant])
    targets, weighted = v.pop("targets"), v.pop("weighted")
    y = Y[:, 0] if targets == 1 else Y
    sw = sw if weighted else None
    lr = learning_rate_of(optimizer, mode) if lr is None else lr
    batch_size = {"mini-batch": 7, "full-batch": None}.get(mode, 1)
    n_epochs = 10 if mode == "full-batch" else 3
    if est_optimizer is not None:
        opt = dict(optimizer=est_optimizer)
    elif optimizer == "sgd" and batch_size == 1:
        # "sgd" per sample is scikit-learn's algorithm (tested against
        # ref.sgd_per_sample); the SGD rule per sample is an instance
        opt = dict(optimizer=SGD(lr=lr))
    else:
        opt = dict(optimizer=optimizer, eta0=lr)
    Xf = sp.csr_matrix(X) if mode == "per-sample-csr-dense" else X
    est = SGDRegressor(batch_size=batch_size, max_iter=n_epochs, shuffle=False, tol=None,
                       random_state=0, sparse_update="dense", **opt, **v)
    est.fit(Xf, y, sample_weight=sw)
    expected = ref.rule_fit(X, y, sw, optimizer=optimizer, lr=lr, batch_size=batch_size,
                            n_epochs=n_epochs, hyper=hyper,
                            **{**v, **(ref_overrides or {})})
    return est, expected


def discrepancy(est, expected):
    """Largest relative difference of coef_ / intercept_ (atol ATOL)."""
    got = np.r_[np.ravel(est.coef_), np.ravel(est.intercept_)]
    want = np.r_[np.ravel(expected["coef"]), np.ravel(expected["intercept"])]
    return float(np.max(np.abs(got - want) / (np.abs(want) + ATOL / RTOL)))


def assert_matches(est, expected):
    K = np.atleast_2d(expected["coef"]).shape[0]
    coef = expected["coef"][0] if K == 1 else expected["coef"]
    np.testing.assert_allclose(est.coef_, coef, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(est.intercept_, expected["intercept"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(est.loss_curve_, expected["loss_curve"], rtol=RTOL)
    assert est.t_ == expected["t"]
    assert est.n_iter_ == expected["n_iter"]


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_rule_path_matches_numpy(optimizer, mode, variant):
    est, expected = fit_pair(optimizer, mode, variant)
    assert_matches(est, expected)
    # the fit is not trivial: the model moved away from 0
    assert np.abs(est.coef_).max() > 1e-3
    if VARIANTS[variant].get("clip_grad_norm"):
        # and clipping acted: without it the reference ends elsewhere
        _, unclipped = fit_pair(optimizer, mode, variant,
                                ref_overrides=dict(clip_grad_norm=None))
        assert discrepancy(est, unclipped) > 1e-6


# Non-default hyper-parameters through descent.optim instances: the branches
# of the rules that the estimator's string names never take (centered RMSprop
# with momentum, Adagrad's lr_decay and initial accumulator, dampening,
# Adadelta's rho, Adam's betas and eps, AMSGrad with AdamW).
INSTANCES = {
    "RMSprop(centered, momentum)": (
        "rmsprop", lambda lr: RMSprop(lr=lr, alpha=0.9, centered=True, momentum=0.5),
        dict(alpha=0.9, eps=1e-8, momentum=0.5, centered=True), 0.01),
    "Adagrad(lr_decay, initial_accumulator_value, eps)": (
        "adagrad", lambda lr: Adagrad(lr=lr, lr_decay=0.05, initial_accumulator_value=0.1,
                                      eps=1e-6),
        dict(lr_decay=0.05, initial_accumulator_value=0.1, eps=1e-6), 0.1),
    "SGD(momentum, dampening)": (
        "sgd", lambda lr: SGD(lr=lr, momentum=0.8, dampening=0.3),
        dict(momentum=0.8, dampening=0.3, nesterov=False), 0.02),
    "SGD(momentum=0.7, nesterov)": (
        "sgd", lambda lr: SGD(lr=lr, momentum=0.7, nesterov=True),
        dict(momentum=0.7, dampening=0.0, nesterov=True), 0.02),
    "Adadelta(rho, eps)": (
        "adadelta", lambda lr: Adadelta(lr=lr, rho=0.5, eps=1e-3),
        dict(rho=0.5, eps=1e-3), 0.5),
    "Adam(betas, eps, amsgrad)": (
        "adam", lambda lr: Adam(lr=lr, betas=(0.8, 0.95), eps=1e-4, amsgrad=True),
        dict(betas=(0.8, 0.95), eps=1e-4, amsgrad=True), 0.02),
    "AdamW(betas, amsgrad)": (
        "adamw", lambda lr: AdamW(lr=lr, weight_decay=0.0, betas=(0.5, 0.9), amsgrad=True),
        dict(betas=(0.5, 0.9), eps=1e-8, amsgrad=True), 0.02),
}


@pytest.mark.parametrize("variant", ["enet-huber-invscaling-clip-avg25-weighted",
                                     "l1-sqeps-invscaling-2targets-avg-clip-weighted"])
@pytest.mark.parametrize("mode", ["per-sample", "mini-batch", "full-batch"])
@pytest.mark.parametrize("name", list(INSTANCES))
def test_optimizer_instances_match_numpy(name, mode, variant):
    optimizer, make, hyper, lr = INSTANCES[name]
    est, expected = fit_pair(optimizer, mode, variant, est_optimizer=make(lr),
                             hyper=hyper, lr=lr)
    assert_matches(est, expected)


# -- per-sample "sgd": scikit-learn's algorithm with clipping and weights -----
@pytest.mark.parametrize("penalty", ref.PENALTIES)
@pytest.mark.parametrize("clip", [0.3, 1.0])
def test_plain_sgd_clipping_matches_numpy(penalty, clip):
    # The per-sample scikit-learn path (weight scale, cumulative L1) clips the
    # sample's *weighted* gradient sw dloss (x, 1): a weight of 2 makes the
    # unclipped step twice as large, but not the clipped one.
    X, Y, sw = problem()
    y = Y[:, 0]
    sw = sw * 3.0        # weights up to 6: clipping must act after them
    kw = dict(penalty=penalty, alpha=0.05, l1_ratio=0.4, loss="squared_error",
              learning_rate="constant", eta0=0.05, average=False)
    est = SGDRegressor(max_iter=3, shuffle=False, tol=None, clip_grad_norm=clip,
                       **kw).fit(X, y, sample_weight=sw)
    expected = ref.sgd_per_sample(X, y, sw, n_epochs=3, clip_grad_norm=clip, **kw)
    np.testing.assert_allclose(est.coef_, expected["coef"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(est.intercept_, [expected["intercept"]], rtol=RTOL,
                               atol=ATOL)
    np.testing.assert_allclose(est.loss_curve_, expected["loss_curve"], rtol=RTOL)
    # clipping acted: without it the result is another one
    unclipped = ref.sgd_per_sample(X, y, sw, n_epochs=3, **kw)
    assert np.abs(unclipped["coef"] - expected["coef"]).max() > 1e-3


# -- the tests above catch the mistakes a refactor could make ----------------
# Each mutation of the reference below must move it far outside RTOL of the
# estimator: proof that test_rule_path_matches_numpy would fail if the
# kernel made that mistake.
#
# Adam's bias correction with beta ** (t + 1) instead of beta ** t: at the
# first step m_hat = m / (1 - 0.9 ** 2) instead of m / (1 - 0.9) (0.53 times)
# and v_hat's root is sqrt(1 - 0.999 ** 2) / sqrt(1 - 0.999) = 1.41 times
# larger in the denominator, so the first steps are about 0.37 of the right
# size (lr times sign(g) instead of ~0.37 lr). The correction matters while
# beta2 ** t is not close to 0, i.e. for the first ~1000 steps: all 180
# per-sample steps here are too short, and the coefficients end up ~1e-2
# relative away, eight orders of magnitude above RTOL = 1e-10.
MUTATIONS = {   # name: (optimizer, the reference's override, per mode if a dict)
    "adam bias correction beta**(t+1)": ("adam", dict(bias_power_offset=1)),
    # (momentum: Adam's normalisation would cancel a scale of 1 - 1e-6 / norm)
    "clip without the 1e-6 of clip_grad_norm_": ("momentum", dict(clip_eps=0.0)),
    # the first averaged step one later: sample 26 instead of 25, the batch
    # ending at 35 instead of 28 samples, the second full batch instead of
    # the first
    "average starting one step late": ("adam", {"per-sample": dict(average=26),
                                                "mini-batch": dict(average=29),
                                                "full-batch": dict(average=61)}),
    "invscaling power_t 0.25 instead of 0.3": ("adam", dict(power_t=0.25)),
}


@pytest.mark.parametrize("mode", ["per-sample", "mini-batch", "full-batch"])
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_mutated_reference_is_detected(mutation, mode):
    variant = "enet-huber-invscaling-clip-avg25-weighted"
    optimizer, overrides = MUTATIONS[mutation]
    overrides = overrides.get(mode, overrides)
    est, expected = fit_pair(optimizer, mode, variant)
    assert discrepancy(est, expected) < RTOL          # the right reference matches
    est, mutated = fit_pair(optimizer, mode, variant, ref_overrides=overrides)
    assert discrepancy(est, mutated) > 1e3 * RTOL, (
        f"the mutation {mutation!r} moved the reference by only "
        f"{discrepancy(est, mutated):.2g}: the test could not see it")
