"""The update-rules layer (kernel/rules.pxd) through py_rule_step: one step
of each rule for the gradient c * src equals a NumPy transcription of
torch's formula (test_optim's references), followed by the L1 proximal step
with threshold l1 times the coordinate's step size."""

import numpy as np
import pytest

from descent import _kernels as K
from descent.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop
from test_optim import ref_adadelta, ref_adagrad, ref_adam, ref_adamw, ref_rmsprop, ref_sgd

RNG = np.random.default_rng(11)
D = 12


def soft(w, thr):
    return np.sign(w) * np.maximum(np.abs(w) - thr, 0.0)


def step_size(opt, g):
    """The step per unit of gradient of coordinate j after the first step
    from a zero state (what the L1 threshold is scaled by)."""
    if isinstance(opt, SGD):
        # with momentum, times the buffer's gain (1 - dampening) / (1 - momentum):
        # what a step moves w by per unit of gradient at the fixed point
        gain = ((1 - opt.dampening) / (1 - opt.momentum)
                if 0 < opt.momentum < 1 else 1.0)
        return np.full_like(g, opt.lr * gain)
    if isinstance(opt, Adagrad):
        return opt.lr / (np.sqrt(opt.initial_accumulator_value + g * g) + opt.eps)
    if isinstance(opt, RMSprop):
        v = (1 - opt.alpha) * g * g
        if opt.centered:
            v = v - ((1 - opt.alpha) * g) ** 2
        return opt.lr / (np.sqrt(np.maximum(v, 0)) + opt.eps)
    if isinstance(opt, Adadelta):
        return opt.lr * np.sqrt(opt.eps) / np.sqrt((1 - opt.rho) * g * g + opt.eps)
    beta1, beta2 = opt.betas
    v_hat = (1 - beta2) * g * g / (1 - beta2)
    return opt.lr / (1 - beta1) / (np.sqrt(v_hat) + opt.eps)


CASES = [
    (SGD(lr=0.1), ref_sgd), (SGD(lr=0.1, momentum=0.9, nesterov=True), ref_sgd),
    (SGD(lr=0.1, weight_decay=0.3), ref_sgd),
    (Adagrad(lr=0.1), ref_adagrad), (Adagrad(lr=0.1, weight_decay=0.2), ref_adagrad),
    (RMSprop(lr=0.01), ref_rmsprop), (RMSprop(lr=0.01, centered=True), ref_rmsprop),
    (Adadelta(), ref_adadelta), (Adam(lr=0.01), ref_adam),
    (Adam(lr=0.01, amsgrad=True, weight_decay=0.1), ref_adam),
    (AdamW(lr=0.01, weight_decay=0.5), ref_adamw),
]


@pytest.mark.parametrize("opt,ref", CASES, ids=lambda x: repr(x)[:40])
@pytest.mark.parametrize("l1", [0.0, 0.05])
def test_first_step_with_scaled_gradient_and_l1(opt, ref, l1):
    w = RNG.normal(size=D)
    src = RNG.normal(size=D)
    c = -1.7
    expected = ref(**opt.get_params())(w, c * src, 1)
    # coupled weight decay is part of the gradient the step size is made of
    g = c * src + (0.0 if isinstance(opt, AdamW) else opt.weight_decay * w)
    expected = soft(expected, l1 * step_size(opt, g))
    state = opt._init_state(D)
    K.py_rule_step(opt._kernel_params(), opt.lr, 1.0, w, src, c, l1, state)
    np.testing.assert_allclose(w, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("opt,ref", CASES, ids=lambda x: repr(x)[:40])
def test_many_steps_equal_the_reference(opt, ref):
    # c * src with a varying c is the gradient the reference sees
    w = RNG.normal(size=D)
    w_ref = w.copy()
    state = opt._init_state(D)
    step = ref(**opt.get_params())
    for t in range(1, 40):
        src = RNG.normal(size=D)
        c = RNG.uniform(-2, 2)
        w_ref = step(w_ref, c * src, t)
        K.py_rule_step(opt._kernel_params(), opt.lr, float(t), w, src, c, 0.0, state)
    np.testing.assert_allclose(w, w_ref, rtol=1e-11, atol=1e-14)
