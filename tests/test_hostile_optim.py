"""Hostile-input property tests of descent.optim: hyper-parameters (sampled
and exhaustive), params/grad of odd shapes, dtypes and layouts, non-finite
params, grad aliasing params, load_state_dict. The property and the shared
strategies: _hostile.py.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _hostile import (
    NONFINITE,
    OPTIMIZER_CLASSES,
    TINY,
    all_finite,
    cast,
    check_message,
    clean_or_finite,
    float_list,
    hostile,
    raises_clean,
    relayout,
    run_case,
    snapshot,
)
from descent import optim


# =============================================================================
# descent.optim
# =============================================================================
def finite_moderate_array(shape, draw, bound=1e6):
    vals = draw(st.lists(st.floats(-bound, bound, allow_nan=False), min_size=math.prod(shape),
                         max_size=math.prod(shape)))
    return np.array(vals, dtype=np.float64).reshape(shape)


OPT_HOSTILE_VALUES = [-1.0, -TINY, 0.0, TINY, 1e-300, 0.5, 0.999, 1.0, 1.5, 2.0, 10.0,
                      1e300, np.nan, np.inf, -np.inf, "0.1", None, [0.1], (0.1,),
                      (0.9, 0.999), (0.9, 0.999, 0.5), (1.0, 0.5), (0.5, 1.0),
                      (np.nan, 0.5), (-0.1, 0.5), np.array([0.9, 0.99]), True, False,
                      1 + 0j, np.float32(0.1), np.int64(1), object()]


@st.composite
def hostile_optimizers(draw):
    cls = draw(st.sampled_from(OPTIMIZER_CLASSES))
    names = list(cls().get_params())
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
    values = {name: draw(st.sampled_from(OPT_HOSTILE_VALUES), label=name)
              for name in chosen}
    via = draw(st.sampled_from(["init", "set_params"]))
    return cls, values, via


@hostile(200)
@given(data=st.data(), spec=hostile_optimizers(),
       shape=st.sampled_from([(1,), (3,), (2, 2), ()]), n_steps=st.integers(1, 3))
def test_optimizer_hostile_hyperparameters(data, spec, shape, n_steps):
    cls, values, via = spec
    mention = list(values) + list(cls().get_params())
    if any(isinstance(v, tuple) or isinstance(v, np.ndarray) for v in values.values()):
        mention += ["betas[0]", "betas[1]", "pair"]
    try:
        opt = cls(**values) if via == "init" else cls().set_params(**values)
    except (ValueError, TypeError) as e:
        check_message(e, mention, f"{cls.__name__}({values})")
        return
    params = finite_moderate_array(shape, data.draw, bound=1e3)
    for i in range(n_steps):
        grad = finite_moderate_array(shape, data.draw, bound=1e3)
        before = params.copy()
        gsnap = snapshot(grad)
        try:
            opt.step(params, grad)
        except (ValueError, TypeError) as e:
            check_message(e, mention, f"{cls.__name__}({values}).step")
            assert params.tobytes() == before.tobytes(), "params changed by a failed step"
            return
        finally:
            assert snapshot(grad) == gsnap, "grad was modified"
        assert not np.isnan(params).any() and (
            np.isfinite(params).all() or overflows(*values.values())), (
            f"{cls.__name__}({values}) step {i + 1}: params {before} -> {params} "
            f"with grad {grad}")
        assert opt.n_steps == i + 1
        if not np.isfinite(params).all():
            return      # overflowed, as the exact result does


def overflows(*values):
    """Whether a hyper-parameter is so large (>= 1e10) that an infinite step
    is the exact result (lr=1e300 times a gradient of 1e3...). NaN never is."""
    for v in values:
        try:
            if abs(float(v)) >= 1e10:
                return True
        except (TypeError, ValueError):
            try:
                if any(abs(float(x)) >= 1e10 for x in v):
                    return True
            except (TypeError, ValueError):
                pass
    return False


def _optimizer_grid():
    for cls in OPTIMIZER_CLASSES:
        for name in cls().get_params():
            yield cls, name


@pytest.mark.parametrize(("cls", "name"), list(_optimizer_grid()),
                         ids=[f"{c.__name__}-{n}" for c, n in _optimizer_grid()])
def test_each_optimizer_hyperparameter_with_each_hostile_value(cls, name):
    rng = np.random.RandomState(0)
    problems = []
    for value in OPT_HOSTILE_VALUES:
        for grads in ("zero", "unit", "random", "huge"):
            params = rng.randn(3)
            try:
                opt = cls(**{name: value})
            except (ValueError, TypeError) as e:
                if name not in str(e):
                    problems.append(f"{cls.__name__}({name}={value!r}): {e!r}")
                break
            except Exception as e:  # noqa: BLE001 - collect, report all at the end
                problems.append(f"{cls.__name__}({name}={value!r}): {e!r}")
                break
            for step in range(3):
                g = {"zero": np.zeros(3), "unit": np.ones(3),
                     "random": rng.randn(3), "huge": np.full(3, 1e200)}[grads]
                before = params.copy()
                try:
                    opt.step(params, g)
                except (ValueError, TypeError) as e:
                    if (name not in str(e) and not (name == "betas" and "beta" in str(e))
                            and not (grads == "huge" and "grad" in str(e))):
                        problems.append(f"{cls.__name__}({name}={value!r}).step: {e!r}")
                    if params.tobytes() != before.tobytes():
                        problems.append(f"{cls.__name__}({name}={value!r}): a failed "
                                        "step changed params")
                    break
                except Exception as e:  # noqa: BLE001 - collect, report all at the end
                    problems.append(f"{cls.__name__}({name}={value!r}).step: {e!r}")
                    break
                if np.isnan(params).any() or (
                        not np.isfinite(params).all() and not overflows(value)):
                    problems.append(f"{cls.__name__}({name}={value!r}), grad {grads} "
                                    f"step {step + 1}: params {before} -> {params}")
                    break
                if not np.isfinite(params).all():
                    break      # overflowed, as the exact result does
    assert not problems, f"{len(problems)} violations:\n" + "\n".join(problems)


@st.composite
def param_arrays(draw):
    shape = draw(st.sampled_from([(), (0,), (1,), (3,), (2, 3), (3, 0), (1, 1, 2),
                                  (2, 1)]))
    dtype = draw(st.sampled_from(["float64"] * 5 + ["float32"] * 2 + [
        "float16", "int64", "complex128", "object", "bool"]))
    values = draw(float_list(math.prod(shape), "benign"))
    if dtype in ("complex128", "object"):
        a = np.array(values, dtype=np.float64).reshape(shape).astype(dtype)
    else:
        a = cast(values, shape, dtype)
    form = draw(st.sampled_from(["array"] * 4 + ["F", "strided", "reversed",
                                                  "readonly", "swapped", "list",
                                                  "scalar", "matrix", "memmap_r"]))
    if form == "list":
        return a.tolist(), False, False
    if form == "scalar":
        return float(a.ravel()[0]) if a.size else 0.0, False, False
    if form == "matrix" and a.ndim == 2:
        a = np.asmatrix(a)
    elif form not in ("array", "matrix", "memmap_r"):
        a = relayout(a, {form})
    ok = (a.dtype in (np.float64, np.float32) and a.flags.c_contiguous
          and a.flags.writeable and a.dtype.isnative)
    return a, ok, form == "memmap_r"


@st.composite
def grad_for(draw, shape):
    kind = draw(st.sampled_from(["good"] * 5 + ["special", "wrong_shape", "list",
                                                "int", "bool", "complex", "object",
                                                "str", "none", "scalar", "F",
                                                "readonly", "swapped", "float32"]))
    size = math.prod(shape)
    if kind == "wrong_shape":
        return np.zeros((size + 1,)), ("shape",)
    if kind == "none":
        return None, ("grad", "dtype", "real", "shape")
    if kind == "str":
        return np.full(shape, "a"), ("grad", "dtype", "real")
    if kind == "scalar":
        return 1.0, (() if shape == () else ("shape",))
    vals = draw(float_list(size, "sprinkled" if kind == "special" else "benign"))
    g = np.array(vals, dtype=np.float64).reshape(shape)
    must = () if np.isfinite(g).all() else NONFINITE + ("grad",)
    if kind == "list":
        return g.tolist(), must
    if kind in ("int", "bool"):
        return cast(vals, shape, "int64" if kind == "int" else "bool"), ()
    if kind == "complex":
        return g.astype(np.complex128), ("grad", "dtype", "real", "complex")
    if kind == "object":
        return g.astype(object), ("grad", "dtype", "real")
    if kind == "float32":
        g32 = g.astype(np.float32)
        return g32, (() if np.isfinite(g32).all() else NONFINITE + ("grad",))
    if kind in ("F", "readonly", "swapped"):
        return relayout(g, {kind}), must
    return g, must


@hostile(220)
@given(data=st.data(), cls=st.sampled_from(OPTIMIZER_CLASSES), n_steps=st.integers(1, 3))
def test_optimizer_hostile_params_and_grads(tmp_path_factory, data, cls, n_steps):
    params, params_ok, memmap = data.draw(param_arrays(), label="params")
    if memmap and params.size and params.dtype == np.float64:
        # read-only memmap of the same values
        path = tmp_path_factory.mktemp("optmm") / "p.dat"
        mm = np.memmap(path, dtype=np.float64, mode="w+", shape=params.shape)
        mm[...] = params
        mm.flush()
        del mm
        params = np.memmap(path, dtype=np.float64, mode="r", shape=params.shape)
        params_ok = False
    opt = cls(lr=0.1) if cls is not optim.Adadelta else cls()
    if cls is optim.AdamW:
        opt.set_params(weight_decay=0.01)
    shape = np.shape(params)
    params_finite = all_finite(params) if np.size(params) else True
    for i in range(n_steps):
        grad, grad_must = data.draw(grad_for(shape), label=f"grad{i}")
        must = list(grad_must)
        if not params_ok:
            must += ["params", "float64", "contiguous", "writeable", "ndarray"]
        before_steps = opt.n_steps
        state_before = copy.deepcopy(opt.state_dict())
        pre = snapshot(params)
        res, exc = run_case(lambda grad=grad: opt.step(params, grad), [grad], must_fail=must,
                            may_fail=("params", "grad", "shape"), where="step")
        if exc is not None:
            assert snapshot(params) == pre, "a failed step changed params"
            assert opt.n_steps == before_steps, "a failed step counted as a step"
            after = opt.state_dict()
            assert (state_before["state"] is None) == (after["state"] is None)
            if state_before["state"] is not None:
                assert state_before["state"].tobytes() == after["state"].tobytes(), \
                    "a failed step changed the optimizer state"
            continue
        assert res is params
        assert opt.n_steps == before_steps + 1
        if params_finite:
            assert np.isfinite(params).all(), f"step made params non-finite: {params}"


@hostile(80)
@given(data=st.data(), cls=st.sampled_from(OPTIMIZER_CLASSES),
       values=st.sampled_from(["nan", "inf"]), n_steps=st.integers(1, 2))
def test_optimizer_nonfinite_params(data, cls, values, n_steps):
    """params holding NaN/inf: the step must refuse them (as it refuses such a
    grad) rather than return non-finite parameters."""
    size = data.draw(st.integers(1, 4))
    params = np.array(data.draw(float_list(size, "benign")))
    params[data.draw(st.integers(0, size - 1))] = np.nan if values == "nan" else np.inf
    grad = np.ones(size)
    opt = cls()
    _, exc = run_case(lambda: opt.step(params, grad), [grad],
                        may_fail=NONFINITE + ("params",), where="step")
    if exc is None:
        assert np.isfinite(params).all(), (
            f"{cls.__name__}.step accepted params {params} and returned non-finite")


@hostile(60)
@given(data=st.data(), cls=st.sampled_from(OPTIMIZER_CLASSES),
       size=st.integers(1, 6), n_steps=st.integers(1, 3),
       how=st.sampled_from(["same", "same", "view", "shift_fwd", "shift_back",
                            "reversed", "reshaped"]))
def test_optimizer_grad_aliasing_params(data, cls, size, n_steps, how):
    """grad is (or overlaps) params: the step reads grad as it was on entry,
    as with a copy, or refuses."""
    opt_a, opt_b = cls(lr=0.1), cls(lr=0.1)
    base = np.array(data.draw(float_list(size + 1, "benign")))
    for _ in range(n_steps):
        if how in ("same", "view", "reshaped"):
            params = base[:size]
            grad = {"same": params, "view": params[:],
                    "reshaped": params.reshape(-1, 1).reshape(-1)}[how]
        elif how == "shift_fwd":
            params, grad = base[:size], base[1:size + 1]
        elif how == "shift_back":
            params, grad = base[1:size + 1], base[:size]
        else:
            params, grad = base[:size], base[:size][::-1]
        ref_params, ref_grad = params.copy(), grad.copy()
        opt_b.step(ref_params, ref_grad)
        try:
            opt_a.step(params, grad)
        except ValueError as e:
            check_message(e, ("grad", "params", "overlap", "alias", "memory"), "step")
            return
        np.testing.assert_array_equal(
            params, ref_params,
            err_msg=f"{cls.__name__}.step(params, grad) with grad {how} params "
                    "differs from the step with a copy of grad")


@hostile(60)
@given(data=st.data(), cls=st.sampled_from(OPTIMIZER_CLASSES),
       what=st.sampled_from(["state_nan", "state_shape", "shape_none", "shape_neg",
                             "step_neg", "step_nan", "step_str", "step_huge",
                             "state_list", "params_bad"]))
def test_optimizer_hostile_state_dict(data, cls, what):
    opt = cls()
    params = np.array(data.draw(float_list(3, "benign")))
    opt.step(params, np.ones(3))
    sd = copy.deepcopy(opt.state_dict())
    must = ()
    if what == "state_nan":
        sd["state"][0, 0] = np.nan
        must = NONFINITE + ("state",)
    elif what == "state_shape":
        sd["state"] = np.zeros((3, 4))
        must = ("state", "shape", "match")
    elif what == "shape_none":
        sd["shape"] = None
        must = ("shape",)
    elif what == "shape_neg":
        sd["shape"] = (-1, -3)
        must = ("shape",)
    elif what == "step_neg":
        sd["step"] = -1
        must = ("step",)
    elif what == "step_nan":
        sd["step"] = float("nan")
        must = ("step", "nan")
    elif what == "step_str":
        sd["step"] = "x"
        must = ("step",)
    elif what == "step_huge":
        sd["step"] = 10**400
    elif what == "state_list":
        sd["state"] = sd["state"].tolist()
    else:
        sd["params"] = dict(sd["params"], lr=-1.0)
        must = ("lr",)
    fresh = cls()
    _, exc = run_case(lambda: fresh.load_state_dict(sd), [], must_fail=(),
                      may_fail=tuple(must) + ("state", "shape", "step"),
                      where="load_state_dict")
    p = params.copy()
    _, exc2 = run_case(lambda: fresh.step(p, np.ones(3)), [],
                       may_fail=tuple(must) + ("state", "shape", "step"),
                       where="step after load")
    if exc is None and exc2 is None:
        assert np.isfinite(p).all(), (
            f"{cls.__name__}: load_state_dict({what}) accepted, the next step "
            f"gives {p}")
    if must and exc is None and exc2 is None:
        pytest.fail(f"{cls.__name__}: load_state_dict with {what} accepted silently")


# =============================================================================
# Minimal reproductions of what the properties above found (one per finding,
# so that each shows up by name until it is fixed)
# =============================================================================
@pytest.mark.parametrize("cls, eps", [(optim.Adam, 0.0), (optim.AdamW, 5e-324),
                                      (optim.Adagrad, 0.0), (optim.RMSprop, 0.0),
                                      (optim.Adadelta, 0.0)])
def test_repro_zero_eps_zero_grad_gives_nan(cls, eps):
    # observed: params [1.] -> [nan] (0 * (1 / 0)); eps=0 passes validation
    p = np.array([1.0])
    try:
        cls(eps=eps).step(p, np.array([0.0]))
    except ValueError as e:
        check_message(e, ("eps",), "step")
        return
    assert np.isfinite(p).all(), p


def test_repro_rmsprop_alpha_above_one_gives_nan():
    # observed: [0.] -> [nan] (the second moment goes negative); alpha > 1 accepted
    p = np.array([0.0])
    try:
        optim.RMSprop(alpha=2.0).step(p, np.array([1.0]))
    except ValueError as e:
        check_message(e, ("alpha",), "step")
        return
    assert np.isfinite(p).all(), p


def test_repro_rmsprop_centered_variance_rounds_negative():
    # observed: [nan] at step 2: sqrt(s0 - s2**2) with 1.21 - 1.1**2 < 0
    opt, p = optim.RMSprop(alpha=0.0, centered=True), np.array([0.0])
    opt.step(p, np.array([258.0]))
    opt.step(p, np.array([1.1]))
    assert np.isfinite(p).all(), p


@pytest.mark.parametrize("make, steps", [
    (lambda: optim.RMSprop(centered=True), 1),
    (lambda: optim.RMSprop(alpha=0.0), 2),
    (lambda: optim.Adadelta(rho=0.0), 2),
    (lambda: optim.Adam(betas=(0.9, 0.0)), 2)],
    ids=["RMSprop-centered", "RMSprop-alpha0", "Adadelta-rho0", "Adam-beta2-0"])
def test_repro_huge_finite_gradient_gives_nan(make, steps):
    # observed: the squared gradient overflows to inf, then inf - inf or
    # 0 * inf makes the parameter NaN although the exact step is about lr
    opt, p = make(), np.array([0.0])

    def steps_taken():
        for _ in range(steps):
            opt.step(p, np.array([1e200]))
        return p
    clean_or_finite(steps_taken, "grad")


def test_repro_step_accepts_nan_params():
    # observed: returns [nan] silently; a NaN grad is refused
    p = np.array([np.nan])
    raises_clean(lambda: optim.SGD().step(p, np.array([1.0])), "params", "nan")


def test_repro_grad_overlapping_params():
    # observed: [-0.1, 0.01], expected [-0.1, 0.0]: the kernel reads grad[1]
    # (= params[0]) after it has updated params[0]
    base = np.array([1.0, 0.0, 0.0])
    params, grad = base[1:3], base[0:2]
    expected = params - 0.1 * grad
    optim.SGD(lr=0.1).step(params, grad)
    np.testing.assert_array_equal(params, expected)


def test_repro_matrix_params_message():
    # observed: ValueError('Buffer has wrong number of dimensions (expected 1, got 2)')
    # step refuses np.matrix params on purpose (optim.py): the refusal must
    # happen, name params, and leave them as they were
    p = np.asmatrix([[1.0, 2.0]])
    raises_clean(lambda: optim.SGD().step(p, np.ones((1, 2))), "params")
    np.testing.assert_array_equal(p, [[1.0, 2.0]])


def test_repro_boolean_flags_not_validated():
    # observed: ValueError('The truth value of an array with more than one
    # element is ambiguous...') from step, naming no parameter
    raises_clean(lambda: optim.SGD(momentum=0.9, nesterov=np.array([1, 0])).step(
        np.ones(1), np.ones(1)), "nesterov")


@pytest.mark.parametrize("what", ["state_nan", "state_negative", "step_negative",
                                  "step_huge", "shape_none"])
def test_repro_load_state_dict_unvalidated(what):
    # observed: accepted; the next Adam step gives NaN params (NaN or
    # negative moments, step -1), OverflowError (step 10**400), or
    # TypeError("'NoneType' object is not iterable") (shape None)
    opt = optim.Adam()
    opt.step(np.ones(2), np.ones(2))
    sd = copy.deepcopy(opt.state_dict())
    if what == "state_nan":
        sd["state"][0, 0] = np.nan
    elif what == "state_negative":
        sd["state"][:] = -1.0
    elif what == "step_negative":
        sd["step"] = -1
    elif what == "step_huge":
        sd["step"] = 10**400
    else:
        sd["shape"] = None
    fresh, p = optim.Adam(), np.ones(2)
    try:
        fresh.load_state_dict(sd)
        fresh.step(p, np.ones(2))
    except (ValueError, TypeError) as e:
        check_message(e, ("state", "step", "shape"), "load_state_dict")
        return
    pytest.fail(f"load_state_dict accepted {what}; next step gives {p}")
