"""The lazy-steps layer (kernel/lazy.pxd): k skipped steps caught up at once
equal k dense steps with a zero data gradient where lazy.pxd calls the rule
exact, and follow torch's SparseAdam semantics (frozen state, the skipped
penalty at the current step size) where it does not."""

import numpy as np
import pytest

from descent import _kernels as K
from descent.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop

LAZY_SGD, LAZY_MOMENTUM, LAZY_DECAY, LAZY_ADAGRAD, LAZY_FROZEN = range(5)
RNG = np.random.default_rng(5)
D = 9


def start(rule_params):
    """A coordinate block mid-training: weights of both signs, some tiny
    (the L1 threshold zeroes them), and a rule state of the right signs."""
    w = RNG.normal(size=D)
    w[:2] = [1e-4, -1e-4]
    state = np.abs(RNG.normal(size=(3, D)))
    if rule_params["rule"] == K.Rule.SGD:
        state[0] = RNG.normal(size=D)               # a momentum buffer of any sign
    if rule_params["rule"] == K.Rule.RMSPROP:
        state[2] = 0.1 * RNG.normal(size=D)         # grad_avg
    if rule_params["rule"] in (K.Rule.ADAM, K.Rule.ADAMW):
        state[0] = 0.1 * RNG.normal(size=D)         # exp_avg
        state[2] = np.maximum(state[2], state[1])   # max_exp_avg_sq >= exp_avg_sq
    return w, state


def dense_steps(rule_params, l1, lrs, step0, w, state):
    zero = np.zeros(D)
    for k, lr in enumerate(lrs):
        K.py_rule_step(rule_params, lr, step0 + k + 1.0, w, zero, 0.0, l1, state)


def params(opt, weight_decay=0.0):
    return {**opt._kernel_params(), "weight_decay": weight_decay}


EXACT = [
    # (rule params, l1, constant lr?, expected kind, compared state rows)
    (params(SGD(), 0.05), 0.02, False, LAZY_SGD, ()),
    (params(SGD(), 0.0), 0.0, False, LAZY_SGD, ()),
    (params(SGD(momentum=0.9)), 0.0, True, LAZY_MOMENTUM, (0,)),
    (params(SGD(momentum=0.5, nesterov=True)), 0.0, True, LAZY_MOMENTUM, (0,)),
    (params(SGD(momentum=0.9, dampening=0.3)), 0.0, True, LAZY_MOMENTUM, (0,)),
    (params(RMSprop()), 0.0, False, LAZY_DECAY, (0, 2)),
    (params(RMSprop(centered=True)), 0.0, False, LAZY_DECAY, (0, 2)),
    (params(Adadelta()), 0.0, False, LAZY_DECAY, (0, 1)),
    (params(Adagrad()), 0.03, False, LAZY_ADAGRAD, (0,)),
    (params(Adagrad(lr_decay=0.01)), 0.03, False, LAZY_ADAGRAD, (0,)),
]


@pytest.mark.parametrize("rule_params,l1,constant,kind,rows", EXACT)
def test_exact_kinds_equal_dense_steps(rule_params, l1, constant, kind, rows):
    n_steps, step0 = 25, 4.0
    lrs = (np.full(n_steps, 0.05) if constant
           else 0.05 / np.sqrt(np.arange(step0 + 1, step0 + n_steps + 1)))
    w, state = start(rule_params)
    w_lazy, state_lazy = w.copy(), state.copy()
    dense_steps(rule_params, l1, lrs, step0, w, state)
    assert K.py_lazy_skip(rule_params, l1, constant, lrs, step0, w_lazy, state_lazy) == kind
    np.testing.assert_allclose(w_lazy, w, rtol=1e-12, atol=1e-15)
    for row in rows:
        np.testing.assert_allclose(state_lazy[row], state[row], rtol=1e-12, atol=1e-15)
    if l1 > 0:     # the thresholds zeroed the tiny weights, as dense steps do
        assert (w_lazy[:2] == 0).all() and (w[:2] == 0).all()


def test_momentum_with_a_schedule_is_not_called_exact():
    rule_params = params(SGD(momentum=0.9))
    w, state = start(rule_params)
    lrs = 0.05 / np.sqrt(np.arange(1.0, 6.0))
    assert K.py_lazy_skip(rule_params, 0.0, False, lrs, 1.0, w, state) == LAZY_FROZEN


@pytest.mark.parametrize("opt,weight_decay,l1", [
    (Adam(), 0.02, 0.01), (Adam(amsgrad=True), 0.0, 0.02), (RMSprop(momentum=0.5), 0.01, 0.0),
    (Adagrad(), 0.02, 0.01), (SGD(momentum=0.9, dampening=0.2), 0.01, 0.01),
])
def test_frozen_kinds_follow_sparse_adam_semantics(opt, weight_decay, l1):
    # untouched state frozen; w <- soft(w exp(-wd eff B), l1 eff B), B the sum
    # of the skipped steps' clr, eff the step size per unit of gradient at
    # the current state (with a momentum buffer's gain 1 / (1 - momentum))
    rule_params = params(opt, weight_decay)
    n_steps, step0, lr = 12, 30.0, 0.01
    w, state = start(rule_params)
    w0, state0 = w.copy(), state.copy()
    assert K.py_lazy_skip(rule_params, l1, False, np.full(n_steps, lr), step0, w,
                          state) == LAZY_FROZEN
    np.testing.assert_array_equal(state, state0)
    steps = np.arange(step0 + 1, step0 + n_steps + 1)
    if isinstance(opt, Adam):
        beta1, beta2 = opt.betas
        clr = lr / (1 - beta1 ** steps)
        second = state0[2] if opt.amsgrad else state0[1]
        eff = 1 / (np.sqrt(second) / np.sqrt(1 - beta2 ** steps[-1]) + opt.eps)
    elif isinstance(opt, Adagrad):
        clr = lr / (1 + (steps - 1) * opt.lr_decay)
        eff = 1 / (np.sqrt(state0[0]) + opt.eps)
    elif isinstance(opt, RMSprop):
        clr = np.full(n_steps, lr)
        eff = 1 / (1 - opt.momentum) / (np.sqrt(state0[0]) + opt.eps)
    else:
        clr = np.full(n_steps, lr)
        eff = np.full(D, (1 - opt.dampening) / (1 - opt.momentum))
    total = eff * clr.sum()
    shrunk = w0 * np.exp(-weight_decay * total)
    expected = np.sign(shrunk) * np.maximum(np.abs(shrunk) - l1 * total, 0.0)
    np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-15)


def test_adamw_decoupled_decay_is_exact():
    # AdamW decays every coefficient by (1 - lr wd) per step whatever its
    # gradient: the lazy product equals the dense steps' (without L1)
    rule_params = params(AdamW(), 0.05)
    lrs = np.full(10, 0.02)
    w, state = start(rule_params)
    w_lazy = w.copy()
    assert K.py_lazy_skip(rule_params, 0.0, True, lrs, 3.0, w_lazy, state.copy()) \
        == LAZY_FROZEN
    np.testing.assert_allclose(w_lazy, w * (1 - 0.02 * 0.05) ** 10, rtol=1e-13)
