"""Parameter groups of descent.optim (torch.optim's API), the one-pass step
kernel (bit-identical to the rules layer, all-or-nothing on bad values) and
the cached validation."""

import copy

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone

from _require import require
from descent import _kernels, optim
from descent.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop

# one case per rule and flag combination the kernel specialises
KERNEL_CASES = [
    (SGD, dict(lr=0.1)), (SGD, dict(lr=0.1, momentum=0.9)),
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (SGD, dict(lr=0.1, momentum=0.5, dampening=0.3, weight_decay=0.1)),
    (Adagrad, dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.2)),
    (RMSprop, dict()), (RMSprop, dict(centered=True)), (RMSprop, dict(momentum=0.9)),
    (RMSprop, dict(momentum=0.9, centered=True, weight_decay=0.1)),
    (Adadelta, dict(weight_decay=0.1)),
    (Adam, dict()), (Adam, dict(amsgrad=True, weight_decay=0.1)),
    (AdamW, dict()), (AdamW, dict(amsgrad=True)),
]
IDS = [f"{c.__name__}-{kw}" for c, kw in KERNEL_CASES]


def shapes():
    return [(3, 4), (4,), (2, 5), (1,)]


def make_arrays(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes()]


def grads_at(k, params, seed=1):
    rng = np.random.default_rng(seed + 1000 * k)
    return [0.5 * p + rng.standard_normal(p.shape) for p in params]


# ---------------------------------------------------------------------------
# The kernel: bit-identical to rules.rule_step, signed zeros included.

@pytest.mark.parametrize(("cls", "kw"), KERNEL_CASES, ids=IDS)
def test_kernel_is_bit_identical_to_rule_step(cls, kw):
    opt = cls(**kw)
    rp = opt._kernel_params()
    rng = np.random.default_rng(3)
    n = 1003
    w = rng.standard_normal(n)
    w[:40], w[40:80] = -0.0, 0.0
    state = np.abs(rng.standard_normal((3, n)))
    if opt._state_names[0] == "momentum_buffer":
        state[0] *= np.sign(rng.standard_normal(n))
    w_ref, s_ref = w.copy(), state.copy()
    kernel, steps = _kernels.OptimStep(rp, opt._max_grad), np.zeros(1)
    for t in range(1, 8):
        g = rng.standard_normal(n)
        g[:20], g[20:60] = -0.0, 0.0
        _kernels.py_rule_step(rp, float(opt.lr), float(t), w_ref, g, 1.0, 0.0, s_ref)
        assert kernel.step(float(opt.lr), [w], [g], [state], steps) == 0
    assert w.tobytes() == w_ref.tobytes()
    assert steps[0] == 7
    # the rows the rule reads for its flags are the rules layer's too
    used = {"SGD": [0] if kw.get("momentum") else [],
            "Adagrad": [0], "Adadelta": [0, 1],
            "RMSprop": [0] + ([1] if kw.get("momentum") else [])
            + ([2] if kw.get("centered") else []),
            "Adam": [0, 1] + ([2] if kw.get("amsgrad") else [])}
    for row in used[cls.__name__ if cls is not AdamW else "Adam"]:
        assert state[row].tobytes() == s_ref[row].tobytes(), row


@pytest.mark.parametrize(("cls", "kw"), KERNEL_CASES, ids=IDS)
def test_public_step_equals_rule_step(cls, kw):
    # the same through opt.step, 2-D params (one compiled call over the array)
    rng = np.random.default_rng(4)
    opt = cls(**kw)
    p = rng.standard_normal((5, 7))
    ref = p.ravel().copy()
    state = opt._init_state(ref.size)
    for t in range(1, 6):
        g = rng.standard_normal((5, 7))
        opt.step(p, g)
        _kernels.py_rule_step(opt._kernel_params(), float(opt.lr), float(t), ref,
                              g.ravel(), 1.0, 0.0, state)
    assert p.ravel().tobytes() == ref.tobytes()


# ---------------------------------------------------------------------------
# Groups against separate optimizers (bit-identical) and torch.

GROUP_CASES = [
    (Adam, dict(lr=0.01), [dict(weight_decay=1e-2), dict(lr=0.05)]),
    (AdamW, dict(lr=0.01, amsgrad=True), [dict(), dict(weight_decay=0.0, betas=(0.8, 0.9))]),
    (SGD, dict(lr=0.05, momentum=0.9), [dict(nesterov=True), dict(momentum=0.5, lr=0.1)]),
    (RMSprop, dict(lr=0.01), [dict(centered=True), dict(momentum=0.9, alpha=0.9)]),
    # (a group's own initial_accumulator_value is used here; torch 2.13 fills
    # every group's sum with the constructor's, so the torch test sets that)
    (Adagrad, dict(lr=0.1, initial_accumulator_value=0.1),
     [dict(lr_decay=0.01), dict(weight_decay=0.1)]),
    (Adadelta, dict(), [dict(rho=0.5), dict(weight_decay=0.1)]),
]
GIDS = [c.__name__ for c, _, _ in GROUP_CASES]


def run_groups(cls, kw, options, n_steps=30):
    params = make_arrays()
    opt = cls([{"params": params[:2], **options[0]}, {"params": params[2:], **options[1]}],
              **kw)
    for k in range(n_steps):
        opt.step(grads_at(k, params))
    return params, opt


@pytest.mark.parametrize(("cls", "kw", "options"), GROUP_CASES, ids=GIDS)
def test_groups_equal_separate_optimizers(cls, kw, options):
    params, opt = run_groups(cls, kw, options)
    assert opt.n_steps == 30
    ref = make_arrays()
    singles = [cls(**{**kw, **options[0 if i < 2 else 1]}) for i in range(4)]
    for k in range(30):
        for p, o, g in zip(ref, singles, grads_at(k, ref)):
            o.step(p, g)
    for p, q in zip(params, ref):
        assert p.tobytes() == q.tobytes()


@pytest.mark.parametrize(("cls", "kw", "options"), GROUP_CASES, ids=GIDS)
def test_groups_match_torch(cls, kw, options):
    torch = require("torch")
    params, _ = run_groups(cls, kw, options)
    start = make_arrays()
    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in start]
    topt = getattr(torch.optim, cls.__name__)(
        [{"params": tensors[:2], **options[0]}, {"params": tensors[2:], **options[1]}],
        foreach=False, **kw)
    for k in range(30):
        current = [t.detach().numpy().copy() for t in tensors]
        for t, g in zip(tensors, grads_at(k, current)):
            t.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
    for p, t in zip(params, tensors):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-10, atol=1e-13)


def test_adagrad_group_initial_accumulator_value():
    w, b = np.zeros(1), np.zeros(1)
    Adagrad([{"params": [w]}, {"params": [b], "initial_accumulator_value": 3.0}],
            lr=1.0).step([np.ones(1), np.ones(1)])
    assert_array_equal(w, -1.0 / (1.0 + 1e-10))
    assert_array_equal(b, -1.0 / (2.0 + 1e-10))


def test_list_of_arrays_is_one_group_and_none_skips():
    params = make_arrays()
    opt = Adam(params, lr=0.1)
    assert len(opt.param_groups) == 1 and opt.param_groups[0]["params"][1] is params[1]
    before = params[1].copy()
    grads = grads_at(0, params)
    grads[1] = None
    opt.step(grads)
    assert_array_equal(params[1], before)
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 2, 3]
    assert sd["state"][0]["step"] == 1


def test_group_lr_follows_the_optimizer_until_set():
    w, b = np.ones(2), np.ones(2)
    opt = SGD([{"params": [w]}, {"params": [b], "lr": 1.0}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and "lr" not in opt.param_groups[0]
    opt.set_params(lr=0.5)              # the first group has no lr of its own
    opt.step([np.ones(2), np.ones(2)])
    assert_array_equal(w, 0.5)
    assert_array_equal(b, 0.0)
    opt.param_groups[0]["lr"] = 0.25    # as a scheduler does
    opt.step([np.ones(2), np.ones(2)])
    assert_array_equal(w, 0.25)
    del opt.param_groups[0]["lr"]
    opt.step([np.ones(2), np.ones(2)])
    assert_array_equal(w, -0.25)


# ---------------------------------------------------------------------------
# state_dict round trips.

@pytest.mark.parametrize(("cls", "kw", "options"), GROUP_CASES, ids=GIDS)
def test_groups_state_dict_round_trip(cls, kw, options):
    params, opt = run_groups(cls, kw, options, n_steps=10)
    saved = copy.deepcopy(opt.state_dict())
    names = [n for n in cls._state_names if n]
    assert all(set(names) <= set(entry) for entry in saved["state"].values())
    assert saved["param_groups"][1] == {"params": [2, 3], **options[1]}
    snapshot = [p.copy() for p in params]
    for k in range(10, 20):
        opt.step(grads_at(k, params))

    other = [p.copy() for p in snapshot]
    fresh = cls([{"params": other[:2]}, {"params": other[2:]}], lr=123.0)
    fresh.load_state_dict(saved)
    assert fresh.get_params() == opt.get_params()
    assert fresh.param_groups[1].own_options() == options[1]
    for k in range(10, 20):
        fresh.step(grads_at(k, other))
    for p, q in zip(params, other):
        assert p.tobytes() == q.tobytes()


def test_load_state_dict_refuses_other_groups_and_changes_nothing():
    _, opt = run_groups(Adam, dict(lr=0.01), [dict(), dict()], n_steps=3)
    sd = copy.deepcopy(opt.state_dict())
    other = make_arrays()
    wrong = Adam([{"params": other[:1]}, {"params": other[1:]}])
    with pytest.raises(ValueError, match="holds parameters"):
        wrong.load_state_dict(sd)
    assert wrong.state_dict()["state"] == {}
    bad = copy.deepcopy(sd)
    bad["state"][3]["exp_avg_sq"][0] = -1.0
    target = Adam([{"params": other[:2]}, {"params": other[2:]}], lr=0.5)
    with pytest.raises(ValueError, match="negative"):
        target.load_state_dict(bad)
    assert target.lr == 0.5 and target.state_dict()["state"] == {}
    bad = copy.deepcopy(sd)
    bad["state"][1]["shape"] = (5,)
    with pytest.raises(ValueError, match="shape"):
        target.load_state_dict(bad)


# ---------------------------------------------------------------------------
# Errors: all-or-nothing.

def test_nan_in_third_array_leaves_everything_untouched():
    for options in ([dict(), dict()], None):
        params = make_arrays()
        if options is None:
            opt = Adam(params, lr=0.1)
        else:
            opt = Adam([{"params": params[:2]}, {"params": params[2:], "lr": 0.2}])
        opt.step(grads_at(0, params))
        before = copy.deepcopy(opt.state_dict())
        snapshot = [p.copy() for p in params]
        grads = grads_at(1, params)
        grads[2][1, 3] = np.nan
        with pytest.raises(ValueError, match=r"grads\[2\]: grad contains NaN or infinity"):
            opt.step(grads)
        for p, q in zip(params, snapshot):
            assert p.tobytes() == q.tobytes()
        after = opt.state_dict()
        assert after["param_groups"] == before["param_groups"]
        for i, entry in before["state"].items():
            for key, value in entry.items():
                assert_array_equal(after["state"][i][key], value)
        assert opt.n_steps == 1


@pytest.mark.parametrize("what", ["grad_inf", "grad_big", "params_nan"])
def test_bad_values_in_last_array_leave_earlier_arrays(what):
    params = make_arrays()
    opt = RMSprop([{"params": params[:1]}, {"params": params[1:]}])
    snapshot = [p.copy() for p in params]
    grads = grads_at(0, params)
    if what == "grad_inf":
        grads[3][0], match = -np.inf, "NaN or infinity"
    elif what == "grad_big":
        grads[3][0], match = 1e200, "overflow"
    else:
        params[3][0], match = np.nan, "params contains NaN"
        snapshot[3][0] = np.nan
    with pytest.raises(ValueError, match=match):
        opt.step(grads)
    for p, q in zip(params, snapshot):
        assert p.tobytes() == q.tobytes()
    assert opt.state_dict()["state"] == {} and opt.n_steps == 0


def test_grads_list_errors():
    params = make_arrays()
    opt = SGD(params, lr=0.1)
    with pytest.raises(ValueError, match="3 gradients for 4 parameters"):
        opt.step(grads_at(0, params)[:3])
    with pytest.raises(ValueError, match="list of gradients"):
        opt.step(np.ones(4))
    grads = grads_at(0, params)
    grads[1] = np.ones(5)
    with pytest.raises(ValueError, match=r"grads\[1\]: grad has shape \(5,\), params has "
                                         r"shape \(4,\)"):
        opt.step(grads)
    grads[1] = np.array(["a"] * 4)
    with pytest.raises(ValueError, match="real numbers"):
        opt.step(grads)
    with pytest.raises(ValueError, match="steps parameter groups"):
        opt.step(params[0], grads[0])
    with pytest.raises(ValueError, match="has no parameters"):
        SGD().step([np.ones(2)])


def test_grads_in_other_forms_and_aliasing():
    # Fortran order, the parameter itself, a list, and a view of another
    # parameter (updated earlier in the step): each as a float64 copy would.
    params, ref = make_arrays(), make_arrays()
    a, b = Adam(params, lr=0.1), Adam(ref, lr=0.1)
    x = np.random.default_rng(5).standard_normal((3, 4))
    a.step([np.asfortranarray(x), params[1], [[0.5] * 5] * 2, params[1][:1]])
    b.step([x.copy(), ref[1].copy(), np.full((2, 5), 0.5), ref[1][:1].copy()])
    for p, q in zip(params, ref):
        assert p.tobytes() == q.tobytes()


def test_param_and_group_errors():
    w = np.ones(3)
    with pytest.raises(ValueError, match=r"lr=0\.1"):
        Adam(0.1)
    with pytest.raises(ValueError, match="empty"):
        Adam([])
    with pytest.raises(ValueError, match="float64 or float32"):
        Adam([np.ones(3, dtype=np.float16)])
    with pytest.raises(ValueError, match="twice"):
        Adam([w, w])
    with pytest.raises(ValueError, match="mixes"):
        Adam([w, {"params": [np.ones(2)]}])
    with pytest.raises(KeyError, match="weight_deacy"):
        Adam([{"params": [w], "weight_deacy": 0.1}])
    opt = Adam([w])
    with pytest.raises(KeyError):
        opt.param_groups[0]["momentum"] = 0.9
    with pytest.raises(KeyError):
        opt.param_groups[0]["params"] = [np.ones(3)]
    opt.param_groups[0]["lr"] = -1.0
    with pytest.raises(ValueError, match=r"lr must be >= 0.*parameter group 0"):
        opt.step([np.ones(3)])
    assert_array_equal(w, 1.0)


# ---------------------------------------------------------------------------
# scikit-learn protocol and the cached validation.

def test_params_are_not_a_scikit_learn_parameter():
    w = np.ones(3)
    opt = Adam([w], lr=0.1)
    assert "params" not in opt.get_params()
    c = clone(opt)
    assert c.param_groups == [] and c.get_params() == opt.get_params()
    assert repr(opt) == "Adam(lr=0.1)"


def test_estimator_with_an_optimizer_instance_still_fits():
    from descent import SGDRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    est = SGDRegressor(optimizer=Adam(lr=0.01), max_iter=20, tol=None, random_state=0)
    est.fit(X, y)
    assert clone(est).optimizer.get_params() == Adam(lr=0.01).get_params()
    assert est.score(X, y) > 0.9


@pytest.mark.parametrize("how", ["set_params", "assign", "load_state_dict", "group"])
def test_cached_validation_is_invalidated(how):
    w = np.ones(3)
    opt = SGD(lr=0.1) if how != "group" else SGD([w], lr=0.1)

    def step():
        if how == "group":
            opt.step([np.ones(3)])
        else:
            opt.step(w, np.ones(3))

    step()
    assert_array_equal(w, 0.9)
    if how == "set_params":
        opt.set_params(lr=-1.0)
    elif how == "assign":
        opt.lr = -1.0
    elif how == "load_state_dict":
        sd = opt.state_dict()
        sd["params"] = dict(sd["params"], lr=-1.0)
        opt.load_state_dict(sd)
    else:
        opt.param_groups[0]["lr"] = -1.0
    with pytest.raises(ValueError, match="lr must be"):
        step()
    assert_array_equal(w, 0.9)
    if how == "group":
        opt.param_groups[0]["lr"] = 0.5
    else:
        opt.set_params(lr=0.5)
    step()
    assert_array_equal(w, 0.4)          # and the new value is the one used


def test_optimizer_with_groups_pickles():
    import pickle

    params = make_arrays()
    opt = Adam(params, lr=0.1)
    opt.step(grads_at(0, params))
    copy_ = pickle.loads(pickle.dumps(opt))
    copy_.step(grads_at(1, copy_.param_groups[0]["params"]))
    opt.step(grads_at(1, params))
    for p, q in zip(params, copy_.param_groups[0]["params"]):
        assert p.tobytes() == q.tobytes()


def test_public_names():
    assert optim.ParamGroup is type(Adam([np.ones(1)]).param_groups[0])
