"""Hostile-input property tests (Hypothesis) of SGDRegressor's state:
coef_init / intercept_init and warm start, partial_fit sequences of changing
shapes and values, set_params between partial_fit calls. The property and the
shared strategies: _hostile.py.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from _hostile import (
    DIVERGED,
    DTYPE,
    NONFINITE,
    X2,
    Y2,
    all_finite,
    as_float,
    cast,
    check_fitted,
    data_problems,
    estimator_kwargs,
    float_list,
    hostile,
    layouts,
    may_fail_for,
    raises_clean,
    real_arrays,
    relayout,
    run_case,
    sizes,
    targets,
    weights,
)
from descent import SGDRegressor, optim


# =============================================================================
# SGDRegressor: init, warm start, partial_fit sequences
# =============================================================================
@st.composite
def init_values(draw, shape):
    kind = draw(st.sampled_from(["none", "good", "good", "special", "wrong_shape",
                                 "complex", "object", "str", "list", "scalar", "2d"]))
    if kind == "none":
        return None, ()
    size = math.prod(shape)
    if kind == "good":
        return relayout(cast(draw(float_list(size, "benign")), shape, "float64"),
                        draw(layouts)), ()
    if kind == "special":
        a = cast(draw(float_list(size, "sprinkled")), shape, "float64")
        return a, (NONFINITE if not np.isfinite(a).all() else ())
    if kind == "wrong_shape":
        return np.zeros((shape[0] + 1,) + tuple(shape[1:])), ("shape", "match")
    if kind == "complex":
        return np.zeros(shape) + 1j, ("complex", "real", "dtype", "float")
    if kind == "object":
        a = np.empty(shape, dtype=object)
        a[...] = None
        return a, DTYPE + ("none",)
    if kind == "str":
        return "abc", DTYPE + ("shape",)
    if kind == "list":
        return np.zeros(shape).tolist(), ()
    if kind == "scalar":
        return 0.5, (("shape", "match") if size != 1 else ())
    # one more dimension: a wrong shape for coef_init; intercept_init is
    # raveled, so the same values with a leading 1 are fine there
    return np.zeros((1,) + tuple(shape)), (("shape", "match") if len(shape) > 1 else ())


@hostile(120)
@given(data=st.data(), n=st.integers(1, 6), d=st.integers(1, 3),
       k=st.sampled_from([None, None, 2]), kw=estimator_kwargs(),
       warm=st.booleans())
def test_hostile_coef_and_intercept_init(data, n, d, k, kw, warm):
    coef_shape = (d,) if k is None else (k, d)
    coef_init, coef_must = data.draw(init_values(coef_shape), label="coef_init")
    intercept_init, int_must = data.draw(init_values((1,) if k is None else (k,)),
                                         label="intercept_init")
    # a (1, d) coef for one target and a (1,) intercept raveled are accepted
    if k is None:
        if isinstance(coef_init, np.ndarray) and coef_init.shape == (1, d):
            coef_must = ()
        if isinstance(intercept_init, float):
            int_must = ()
        if isinstance(intercept_init, np.ndarray) and intercept_init.size == 1 \
                and intercept_init.dtype.kind == "f":
            int_must = () if np.isfinite(intercept_init).all() else NONFINITE
    rng = np.random.RandomState(1)
    X = rng.randn(n, d)
    y = rng.randn(n) if k is None else rng.randn(n, k)
    kw = dict(kw, warm_start=warm)
    est = SGDRegressor(**kw)
    must = list(coef_must) + list(int_must)
    _, exc = run_case(
        lambda: est.fit(X, y, coef_init=coef_init, intercept_init=intercept_init),
        [X, y, coef_init, intercept_init], must_fail=must,
        may_fail=may_fail_for(kw) + ["coef_init", "intercept_init", "shape"])
    if exc is None:
        check_fitted(est, X, k)
        if warm:   # a second fit continues from the first
            _, exc = run_case(lambda: est.fit(X, y), [X, y],
                                may_fail=may_fail_for(kw))
            if exc is None:
                check_fitted(est, X, k)


@hostile(120)
@given(data=st.data(), kw=estimator_kwargs(),
       steps=st.lists(st.tuples(sizes(4, zero_odds=8), sizes(3, zero_odds=8),
                                st.sampled_from([None, None, 2, 3]),
                                st.sampled_from(["dense", "dense", "sparse"])),
                      min_size=1, max_size=4))
def test_partial_fit_sequences(data, kw, steps):
    """partial_fit calls of changing shapes and values: each is clean, and after
    an error the model still holds a usable previous state."""
    kw = dict(kw, early_stopping=False)
    est = SGDRegressor(**kw)
    fitted = None           # (n_features, n_targets) of the state, once fitted
    for n, d, k, kind in steps:
        X = data.draw(real_arrays((n, d)))
        if kind == "sparse":
            X = sp.csr_matrix(as_float(X)) if all_finite(X) else sp.csr_matrix(
                np.nan_to_num(as_float(X), nan=np.nan))
        y, _ = data.draw(targets(n))
        y = np.asarray(y)
        y_k = None if y.ndim == 1 or y.shape[1] == 1 else y.shape[1]
        sw = data.draw(weights(n))
        must = data_problems(X, y, sw, kw)
        if fitted is not None and n and d:
            if d != fitted[0]:
                must += ["feature"]
            if y_k != fitted[1] and ((y.ndim == 2 and y.shape[1] != 0) or y.ndim == 1):
                must += ["target"]
        _, exc = run_case(lambda X=X, y=y, sw=sw: est.partial_fit(X, y, sample_weight=sw),
                            [X, y, sw], must_fail=must, may_fail=DIVERGED + ("target",),
                            where="partial_fit")
        if exc is None:
            if fitted is None:
                fitted = (d, y_k)
            check_fitted(est, X, fitted[1])
        elif fitted is not None:
            # the previous state is intact and usable
            Xg = np.ones((2, fitted[0]))
            check_fitted(est, Xg, fitted[1])


# =============================================================================
# Minimal reproductions of what the properties above found (one per finding,
# so that each shows up by name until it is fixed)
# =============================================================================
@pytest.mark.parametrize("arg", ["coef_init", "intercept_init"])
def test_repro_complex_init_is_truncated(arg):
    # observed: the imaginary part is dropped silently (ComplexWarning only),
    # while complex X and y are refused
    raises_clean(lambda: SGDRegressor(max_iter=1).fit(X2, Y2, **{arg: np.array([1 + 1j])}),
                 arg, "complex")


@pytest.mark.parametrize("change", ["average=True", "average=True, n_jobs=2"])
def test_repro_average_switched_on_between_partial_fit_calls(change):
    # observed: average=True -> SIGSEGV. The first call allocates the
    # averaging buffer only if average was on; the second passes a (0, 0)
    # buffer, the kernel takes it for 'no buffer' (NULL) and the averaging
    # step writes through it. average=True, n_jobs=2 -> IndexError('index 0
    # is out of bounds for axis 0 with size 0') from _publish (Hogwild! does
    # not average, the empty buffer is read); it would crash as the first
    # where OpenMP is off (one thread). In a child process for that reason.
    code = textwrap.dedent(f"""
        import numpy as np
        import descent
        from descent import SGDRegressor
        X, y = np.array([[0.0], [1.0]]), np.array([0.0, 1.0])
        est = SGDRegressor().partial_fit(X, y)
        est.set_params({change})
        try:
            est.partial_fit(X, y)
        except ValueError as e:
            assert "average" in str(e), e
        else:
            assert np.isfinite(est.coef_).all() and np.isfinite(est.intercept_).all()
            # Hogwild! does not average: the first call refuses this
            # combination, a later one must too (not publish an empty average)
            assert not ({"n_jobs" in change!r} and descent._kernels.OPENMP), (
                "accepted average with Hogwild!, coef_", est.coef_)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          timeout=120)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-1500:]}"


@pytest.mark.parametrize("change", [
    dict(learning_rate="optimal", optimizer="adam"),
    dict(optimizer__lr=-1.0),
], ids=["optimal-with-adam", "optimizer-lr-negative"])
def test_repro_later_partial_fit_calls_skip_parameter_checks(change):
    # observed: the cross-parameter checks (and the optimizer's own) run on
    # the first partial_fit call only: after set_params, learning_rate='optimal'
    # with Adam is accepted, and an optimizer lr of -1 runs gradient ascent
    # (coef_ [-0.9]). (early_stopping is refused on the first call only, as
    # scikit-learn does: test_sgd.py::test_early_stopping_then_partial_fit.)
    est = SGDRegressor(optimizer=optim.Adam(lr=0.01)).partial_fit(X2, Y2)
    est.set_params(**change)
    name = next(iter(change)).split("__")[-1]
    raises_clean(lambda: est.partial_fit(X2, Y2), name, "partial_fit")
