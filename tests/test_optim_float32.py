"""descent.optim on float32 arrays: stepped in place, the state in float32,
computed in float32 as torch computes them (kernel/optim_pass.pxd); against
the float64 step and torch's float32 step."""

import re

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from descent import optim

CASES = [
    (optim.SGD, dict(lr=0.05)),
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.1)),
    (optim.Adagrad, dict(lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1)),
    (optim.RMSprop, dict(lr=0.01)),
    (optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.01)),
    (optim.Adadelta, dict(lr=1.0)),
    (optim.Adam, dict(lr=0.01)),
    (optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    (optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
]
IDS = [f"{cls.__name__}-{'-'.join(kw)}" for cls, kw in CASES]
N, STEPS = 257, 30           # an odd size: the vector loops' tails too


def _draws(seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=N).astype(np.float32)
    grads = (rng.normal(size=(STEPS, N)) * np.linspace(0.01, 10, N)).astype(np.float32)
    return w, grads


@pytest.mark.parametrize("cls, kw", CASES, ids=IDS)
def test_each_step_is_the_float64_step_of_the_float32_values_to_float32_rounding(cls, kw):
    # At every step, from the float32 parameters and state as they are: a
    # float64 optimizer loaded with their values and stepped once lands
    # within a few float32 roundings of the float32 step (which computes in
    # float32, as torch does), on the parameters and on every state row.
    w, grads = _draws(0)
    opt = cls(**kw)
    for g in grads:
        ref = None
        if opt.n_steps:
            saved = opt.state_dict()
            ref = cls(**kw).load_state_dict(
                {**saved, "state": saved["state"].astype(np.float64)})
            ref_w = w.astype(np.float64)
            ref.step(ref_w, g.astype(np.float64))
        opt.step(w, g)
        assert w.dtype == np.float32 and opt.state_dict()["state"].dtype == np.float32
        if ref is None:
            continue
        np.testing.assert_allclose(w, ref_w, rtol=0, atol=16 * 2.0 ** -24 * np.abs(ref_w).max())
        for row32, row64 in zip(opt.state_dict()["state"], ref.state_dict()["state"]):
            np.testing.assert_allclose(row32, row64, rtol=0,
                                       atol=16 * 2.0 ** -24 * np.abs(row64).max())


@pytest.mark.parametrize("cls, kw", CASES, ids=IDS)
def test_float32_steps_stay_within_float32_rounding_of_float64_ones(cls, kw):
    w, grads = _draws(1)
    w64 = w.astype(np.float64)
    opt32, opt64 = cls(**kw), cls(**kw)
    for g in grads:
        opt32.step(w, g)
        opt64.step(w64, g.astype(np.float64))
    scale = np.abs(w64).max()
    # each step rounds once per coordinate: STEPS roundings of 2**-24 at most
    np.testing.assert_allclose(w, w64, rtol=0, atol=STEPS * 2.0 ** -23 * scale)


@pytest.mark.parametrize("cls, kw", CASES, ids=IDS)
def test_matches_torch_float32(cls, kw):
    torch = pytest.importorskip("torch")
    w, grads = _draws(2)
    t = torch.tensor(w.copy())
    topt = getattr(torch.optim, cls.__name__)([t], **kw)
    opt = cls(**kw)
    for g in grads:
        opt.step(w, g)
        t.grad = torch.tensor(g)
        topt.step()
    # torch computes in float32 throughout; descent in float64 per coordinate
    np.testing.assert_allclose(w, t.numpy(), rtol=0,
                               atol=STEPS * 2.0 ** -22 * np.abs(w).max())


def test_float64_gradient_of_float32_params_is_converted():
    w, grads = _draws(3)
    a, b = w.copy(), w.copy()
    oa, ob = optim.Adam(lr=0.1), optim.Adam(lr=0.1)
    for g in grads[:5]:
        oa.step(a, g)
        ob.step(b, g.astype(np.float64))          # rounded to float32 first
    assert_array_equal(a, b)


def test_overflowing_gradients_of_float32_params():
    # the squaring rules keep g * g in a float32 state: 1e15 is the bound
    w = np.ones(3, dtype=np.float32)
    state = optim.Adam()
    state.step(w, np.ones(3, dtype=np.float32))
    before_w, before_state = w.copy(), state.state_dict()["state"].copy()
    with pytest.raises(ValueError, match=r"above 1e\+15 in magnitude, whose squares "
                                         "overflow the float32 state in Adam"):
        state.step(w, np.array([1.0, 2e15, 0.0], dtype=np.float32))
    assert_array_equal(w, before_w)
    assert_array_equal(state.state_dict()["state"], before_state)
    assert state.n_steps == 1
    # plain SGD squares nothing: any finite float32 gradient is taken
    w = np.ones(2, dtype=np.float32)
    optim.SGD(lr=1e-30).step(w, np.array([3e38, -3e38], dtype=np.float32))
    assert np.isfinite(w).all()
    # a float64 gradient beyond float32's range is infinite once converted,
    # and the error says so (it named only NaN or infinity, a tester's: the
    # caller's gradient was finite), for one array and for groups
    with pytest.raises(ValueError, match=r"infinity once in float32.*beyond float32's range"):
        optim.SGD().step(np.ones(1, dtype=np.float32), np.array([1e40]))
    with pytest.raises(ValueError, match=r"grads\[1\]: .*beyond float32's range"):
        optim.Adam([np.ones(2), np.ones(2, dtype=np.float32)]).step(
            [np.ones(2), np.array([1e300, 1.0])])
    with pytest.raises(ValueError, match=r"grad contains NaN or infinity$"):
        optim.SGD().step(np.ones(1), np.array([np.inf]))


def test_nonfinite_float32_values_change_nothing():
    w = np.array([1.0, np.nan], dtype=np.float32)
    with pytest.raises(ValueError, match="params contains NaN or infinity"):
        optim.RMSprop().step(w, np.ones(2, dtype=np.float32))
    w = np.ones(2, dtype=np.float32)
    opt = optim.Adam()
    with pytest.raises(ValueError, match="grad contains NaN or infinity"):
        opt.step(w, np.array([np.inf, 1.0], dtype=np.float32))
    assert_array_equal(w, [1.0, 1.0])
    assert opt.n_steps == 0


def test_other_dtypes_are_refused_by_name():
    for dtype in (np.float16, np.int32, np.complex64):
        with pytest.raises(ValueError, match="must be a float64 or float32 numpy.ndarray, "
                                             f"got ndarray of dtype {np.dtype(dtype)}"):
            optim.Adam().step(np.ones(2, dtype=dtype), np.ones(2))


def test_state_follows_the_params_dtype_and_checkpoints_keep_it():
    w32 = np.ones(4, dtype=np.float32)
    opt = optim.Adam(lr=0.1)
    opt.step(w32, np.ones(4))
    saved = opt.state_dict()
    assert saved["state"].dtype == np.float32
    resumed = optim.Adam().load_state_dict(saved)
    assert resumed.state_dict()["state"].dtype == np.float32
    a, b = w32.copy(), w32.copy()
    opt.step(a, np.ones(4))
    resumed.step(b, np.ones(4))
    assert_array_equal(a, b)
    # the same optimizer then given float64 params: the state is converted
    w64 = a.astype(np.float64)
    opt.step(w64, np.ones(4))
    assert opt.state_dict()["state"].dtype == np.float64


def test_parameter_groups_of_both_dtypes_in_one_step():
    rng = np.random.default_rng(4)
    w32 = rng.normal(size=(3, 2)).astype(np.float32)
    b64 = rng.normal(size=2)
    opt = optim.Adam([w32, b64], lr=0.1)
    ref32, ref64 = optim.Adam(lr=0.1), optim.Adam(lr=0.1)
    r32, r64 = w32.copy(), b64.copy()
    for _ in range(3):
        g32, g64 = rng.normal(size=(3, 2)), rng.normal(size=2)
        opt.step([g32, g64])
        ref32.step(r32, g32)
        ref64.step(r64, g64)
    assert w32.dtype == np.float32 and b64.dtype == np.float64
    assert_array_equal(w32, r32)
    assert_array_equal(b64, r64)
    state = opt.state_dict()["state"]
    assert state[0]["exp_avg"].dtype == np.float32
    assert state[1]["exp_avg"].dtype == np.float64
    resumed = optim.Adam([w32.copy(), b64.copy()], lr=0.1).load_state_dict(
        opt.state_dict())
    assert resumed.state_dict()["state"][0]["exp_avg"].dtype == np.float32


@pytest.mark.parametrize("cls, kw", [(optim.SGD, dict(momentum=0.9)), (optim.Adam, {}),
                                     (optim.Adagrad, {}), (optim.RMSprop, {})],
                         ids=["SGD", "Adam", "Adagrad", "RMSprop"])
def test_a_float64_state_too_big_for_float32_params_is_refused(cls, kw):
    # stepped on float64 arrays with gradients float32 cannot hold, then
    # given float32 arrays: refused, nothing changed (not an infinite state)
    opt = cls(**kw)
    opt.step(np.ones(2), np.full(2, 1e25 if cls is not optim.SGD else 1e40))
    before = opt.state_dict()
    w = np.ones(2, dtype=np.float32)
    with pytest.raises(ValueError, match="beyond the range of the parameters' dtype "
                                         "float32: call reset"):
        opt.step(w, np.ones(2))
    assert_array_equal(w, [1.0, 1.0])
    assert opt.state_dict()["state"].dtype == np.float64
    assert_array_equal(opt.state_dict()["state"], before["state"])
    # the same state loaded into a group of float32 arrays: refused too
    grouped = cls([np.ones(2, dtype=np.float32)], **kw)
    saved = {"params": before["params"], "param_groups": [{"params": [0]}],
             "state": {0: {"step": 1, "shape": (2,),
                           **{name: before["state"][row]
                              for row, name in enumerate(cls._state_names) if name}}}}
    with pytest.raises(ValueError, match="beyond the range"):
        grouped.load_state_dict(saved)
    # reset() starts over in float32
    opt.reset().step(w, np.ones(2))
    assert opt.state_dict()["state"].dtype == np.float32


@pytest.mark.parametrize("dtype, bound", [(np.float32, 1e15), (np.float64, 1e150)])
@pytest.mark.parametrize("cls", [optim.Adagrad, optim.RMSprop, optim.Adadelta, optim.Adam])
def test_the_decayed_gradient_is_held_to_the_bound(cls, dtype, bound):
    # with weight_decay the rule squares grad + weight_decay * params: a
    # parameter of 1e20 (1e160) makes it overflow though grad is 1
    w = np.array([bound * 100, 1.0], dtype=dtype)
    opt = cls(weight_decay=1.0)
    with pytest.raises(ValueError, match="with weight_decay \\* params added.*above "
                                         + re.escape(f"{bound:g}")):
        opt.step(w, np.ones(2, dtype=dtype))
    assert_array_equal(w, np.array([bound * 100, 1.0], dtype=dtype))
    assert opt.n_steps == 0
    # AdamW's decay is decoupled (it scales the weights): nothing squared
    w = np.array([bound * 100, 1.0], dtype=dtype)
    optim.AdamW(weight_decay=1e-3).step(w, np.ones(2, dtype=dtype))
    assert np.isfinite(w).all()


def test_each_group_holds_its_own_decayed_gradient_to_the_bound():
    # group 1 decays, group 0 does not: its parameter of 1e20 makes grad +
    # weight_decay * params overflow the float32 state; nothing is stepped
    a = np.ones(2, dtype=np.float32)
    b = np.array([1e20, 1.0], dtype=np.float32)
    opt = optim.Adam([{"params": [a]}, {"params": [b], "weight_decay": 1.0}])
    with pytest.raises(ValueError, match=r"grads\[1\]: grad \(with weight_decay"):
        opt.step([np.ones(2), np.ones(2)])
    assert_array_equal(a, [1.0, 1.0])
    assert_array_equal(b, np.array([1e20, 1.0], dtype=np.float32))
    assert opt.state_dict()["state"] == {}
