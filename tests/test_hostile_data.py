"""Hostile-input property tests (Hypothesis) of SGDRegressor's input data:
dense X/y/sample_weight of special values, dtypes, layouts and shapes,
exotic dtypes, sparse X, read-only memmaps, pandas; predict. The property
and the shared strategies: _hostile.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from _hostile import (
    DIVERGED,
    DTYPE,
    NONFINITE,
    SPARSE_FORMATS,
    all_finite,
    as_float,
    cast,
    check_fitted,
    check_message,
    estimator_kwargs,
    fit_and_check,
    float_list,
    hostile,
    may_fail_for,
    moderate,
    rarely,
    real_arrays,
    run_case,
    sizes,
    special,
    targets,
    weights,
)
from descent import SGDRegressor


# =============================================================================
# SGDRegressor: dense X
# =============================================================================
@hostile(250)
@given(data=st.data(), n=sizes(6), d=sizes(4), kw=estimator_kwargs())
def test_fit_dense_hostile_values(data, n, d, kw):
    X = data.draw(real_arrays((n, d)), label="X")
    y, k = data.draw(targets(n), label="y")
    sw = data.draw(weights(n), label="sample_weight")
    fit_and_check(X, y, sw, kw, k)


@hostile(80)
@given(data=st.data(), n=st.integers(1, 5), d=st.integers(1, 3),
       where=st.sampled_from(["X", "y"]),
       kind=st.sampled_from(["complex", "complex0", "object_num", "object_str",
                             "object_none", "str", "bytes", "datetime", "timedelta",
                             "float16", "longdouble", "void", "list_of_str",
                             "nested", "ragged", "3d", "0d"]))
def test_fit_exotic_dtypes(data, n, d, where, kind):
    values = np.array(data.draw(float_list(n * d, "benign")), dtype=np.float64)
    shape = (n, d) if where == "X" else (n,)
    base = values[: math.prod(shape)].reshape(shape)
    numeric_ok = False     # whether the exotic input is still a valid real array
    if kind == "complex":
        a = base + 1j
    elif kind == "complex0":
        a = base.astype(np.complex128)          # zero imaginary part: still complex
    elif kind == "object_num":
        a = base.astype(object)
        numeric_ok = True
    elif kind == "object_str":
        a = np.array([f"s{v}" for v in base.ravel()], dtype=object).reshape(shape)
    elif kind == "object_none":
        a = base.astype(object)
        a.flat[0] = None
    elif kind == "str":
        a = np.full(shape, "x")
    elif kind == "bytes":
        a = np.full(shape, b"ab")
    elif kind == "datetime":
        a = np.zeros(shape, dtype="datetime64[s]")
        numeric_ok = None       # refused or read as numbers: both fine
    elif kind == "timedelta":
        a = base.astype("timedelta64[s]")
        numeric_ok = None
    elif kind == "float16":
        a = base.astype(np.float16)
        numeric_ok = True
    elif kind == "longdouble":
        a = base.astype(np.longdouble)
        numeric_ok = True
    elif kind == "void":
        a = np.zeros(shape, dtype=[("a", "f8"), ("b", "f8")])
    elif kind == "list_of_str":
        a = np.array([f"s{v}" for v in base.ravel()]).reshape(shape).tolist()
    elif kind == "nested":
        a = np.empty(shape, dtype=object)
        for idx in np.ndindex(shape):
            a[idx] = [1.0]
    elif kind == "ragged":
        a = ([[1.0] * (i % 2 + 1) for i in range(max(n, 2))] if where == "X"
             else [[1.0], 2.0] * n)
    elif kind == "3d":
        a = base.reshape(shape + (1,))
    else:
        a = np.float64(1.0)
    X = a if where == "X" else data.draw(real_arrays((n, d), mode="benign"))
    y = a if where == "y" else data.draw(real_arrays((n,), mode="benign"))
    must = () if numeric_ok is not False else DTYPE + ("nan", "shape", "dimension", "2d", "1d",
                                          "array", "sequence", "sample", "feature")
    if kind == "3d" and where == "y":
        numeric_ok = True           # a (n, 1, 1) y: an error or a fit, both fine
        must = ()
    est = SGDRegressor(max_iter=3, random_state=0)
    _, exc = run_case(lambda: est.fit(X, y), [X, y], must_fail=must,
                        may_fail=DIVERGED + ("shape", "dimension", "dim"))
    if exc is None:
        check_fitted(est, as_float(X) if kind == "3d" else X, None)


# =============================================================================
# SGDRegressor: sparse X
# =============================================================================
@st.composite
def sparse_matrices(draw, n, d):
    dense = np.array(draw(float_list(n * d)), dtype=np.float64).reshape(n, d)
    mask = np.array(draw(st.lists(st.integers(0, 2).map(bool), min_size=n * d,
                                  max_size=n * d)), dtype=bool).reshape(n, d)
    rows, cols = np.nonzero(mask)
    data = dense[rows, cols]
    # explicit zeros: stored entries whose value is 0
    if len(data) and draw(rarely(3)):
        data[draw(st.integers(0, len(data) - 1))] = 0.0
    dtype = draw(st.sampled_from(["float64", "float64", "float32", "int64", "bool"]))
    data = cast(data, data.shape, dtype)
    fmt = draw(st.sampled_from(SPARSE_FORMATS))
    dup = draw(rarely(3)) and len(data) > 0
    if fmt.startswith(("coo", "csr", "csc")) and dup:
        # a duplicated entry (summed by scipy when it converts)
        j = draw(st.integers(0, len(data) - 1))
        extra = cast([draw(st.one_of(moderate, special))], (1,), dtype)
        rows, cols = np.r_[rows, rows[j]], np.r_[cols, cols[j]]
        data = np.r_[data, extra]
    coo = sp.coo_matrix((data, (rows, cols)), shape=(n, d))
    if fmt.startswith("coo"):
        m = coo if fmt == "coo_matrix" else sp.coo_array(coo)
    elif fmt.startswith(("csr", "csc")):
        major = fmt[:3]
        if dup:
            # build by hand so the duplicate stays (scipy's conversion sums it)
            order = np.lexsort((cols, rows)) if major == "csr" else np.lexsort((rows, cols))
            maj = (rows if major == "csr" else cols)[order]
            mnr = (cols if major == "csr" else rows)[order]
            length = n if major == "csr" else d
            indptr = np.r_[0, np.cumsum(np.bincount(maj, minlength=length))]
            cls = getattr(sp, fmt)
            m = cls((data[order], mnr.astype(np.int32), indptr.astype(np.int32)),
                    shape=(n, d))
        else:
            m = getattr(sp, fmt)(coo)
        if draw(st.booleans()) and m.nnz:
            # unsorted indices: reverse each row's (column's) entries
            ind, dat = m.indices.copy(), m.data.copy()
            for i in range(len(m.indptr) - 1):
                s, e = m.indptr[i], m.indptr[i + 1]
                ind[s:e], dat[s:e] = ind[s:e][::-1].copy(), dat[s:e][::-1].copy()
            m = type(m)((dat, ind, m.indptr.copy()), shape=(n, d))
            m.has_sorted_indices = False
        if draw(rarely(6)):
            m.indices = m.indices.astype(np.int64)
            m.indptr = m.indptr.astype(np.int64)
        if draw(rarely(3)):
            m.data.setflags(write=False)
            m.indices.setflags(write=False)
            m.indptr.setflags(write=False)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = getattr(sp, fmt)(coo)
    return m


@hostile(220)
@given(data=st.data(), n=sizes(6), d=sizes(4), kw=estimator_kwargs())
def test_fit_sparse_hostile(data, n, d, kw):
    X = data.draw(sparse_matrices(n, d), label="X")
    y, k = data.draw(targets(n), label="y")
    sw = data.draw(weights(n), label="sample_weight")
    fit_and_check(X, y, sw, kw, k)


# =============================================================================
# SGDRegressor: read-only memmaps, pandas
# =============================================================================
@hostile(40)
@given(data=st.data(), n=st.integers(1, 6), d=st.integers(1, 3), kw=estimator_kwargs(),
       mode=st.sampled_from(["r", "c"]), order=st.sampled_from(["C", "F"]),
       dtype=st.sampled_from(["float64", "float32"]))
def test_fit_memmap(tmp_path_factory, data, n, d, kw, mode, order, dtype):
    tmp = tmp_path_factory.mktemp("memmap")
    arrays = {}
    for name, shape in (("X", (n, d)), ("y", (n,)), ("sw", (n,))):
        values = cast(data.draw(float_list(math.prod(shape), "benign" if name != "X"
                                           else None)), shape, dtype)
        if name == "sw":
            values = np.abs(values) + 0.5
        path = tmp / f"{name}.dat"
        mm = np.memmap(path, dtype=dtype, mode="w+", shape=shape, order=order)
        mm[...] = values
        mm.flush()
        del mm
        arrays[name] = (np.memmap(path, dtype=dtype, mode=mode, shape=shape,
                                  order=order), path)
    files = {name: path.read_bytes() for name, (_, path) in arrays.items()}
    X, y, sw = (arrays[k][0] for k in ("X", "y", "sw"))
    fit_and_check(X, y, sw, kw, None)
    for name, (_, path) in arrays.items():
        assert path.read_bytes() == files[name], f"{name}'s file was written"


PANDAS_KINDS = ["float64", "float32", "int64", "Int64", "Float64", "boolean", "bool",
                "category_num", "object_num", "object_str", "string", "all_na"]


@hostile(60)
@given(data=st.data(), n=sizes(5), d=sizes(3), kw=estimator_kwargs(),
       kinds=st.lists(st.sampled_from(PANDAS_KINDS), min_size=3, max_size=3),
       y_kind=st.sampled_from(["series", "series_Int64", "frame1", "frame2", "array"]),
       sw_kind=st.sampled_from(["none", "series", "series_na"]))
def test_fit_pandas(data, n, d, kw, kinds, y_kind, sw_kind):
    pd = pytest.importorskip("pandas")
    cols = {}
    must = []
    maybe = list(DTYPE) + ["feature", "name"]
    for j in range(d):
        kind = kinds[j]
        vals = data.draw(float_list(n))
        finite = np.isfinite(vals).all()
        if kind in ("float64", "float32"):
            col = pd.Series(np.array(vals, dtype=kind))
            if not np.isfinite(col.to_numpy(dtype=np.float64)).all():
                must += NONFINITE
        elif kind in ("int64", "bool"):
            col = pd.Series(cast(vals, (n,), kind))
        elif kind == "Int64":
            col = pd.Series(cast(vals, (n,), "int64"), dtype="Int64")
            if n and data.draw(st.booleans()):
                col[0] = pd.NA
                must += NONFINITE + ("na",)
        elif kind == "Float64":
            col = pd.Series(vals, dtype="Float64")
            if not finite:
                must += NONFINITE + ("na",)
        elif kind == "boolean":
            col = pd.Series(cast(vals, (n,), "bool"), dtype="boolean")
        elif kind == "category_num":
            col = pd.Series(cast(vals, (n,), "int64")).astype("category")
        elif kind == "object_num":
            col = pd.Series(list(vals), dtype=object)
            if not finite:
                must += NONFINITE
        elif kind == "object_str":
            col = pd.Series([f"s{v}" for v in vals], dtype=object)
            if n:
                must += DTYPE
        elif kind == "string":
            col = pd.Series([f"s{v}" for v in vals], dtype="string")
            if n:
                must += DTYPE
        else:
            col = pd.Series([pd.NA] * n, dtype="Float64")
            if n:
                must += NONFINITE + ("na",)
        cols[f"c{j}"] = col
    X = pd.DataFrame(cols, index=range(n)) if d else pd.DataFrame(index=range(n))
    yv = np.array(data.draw(float_list(n, "benign")))
    k = None
    if y_kind == "series":
        y = pd.Series(yv)
    elif y_kind == "series_Int64":
        y = pd.Series(cast(yv, (n,), "int64"), dtype="Int64")
    elif y_kind == "frame1":
        y = pd.DataFrame({"t": yv})
    elif y_kind == "frame2":
        y, k = pd.DataFrame({"t": yv, "u": -yv}), 2
    else:
        y = yv
    sw = None
    if sw_kind != "none":
        sw = pd.Series(np.ones(n), dtype="Float64")
        if sw_kind == "series_na" and n:
            sw[0] = pd.NA
            must += NONFINITE + ("na", "sample_weight")
    if n == 0:
        must += ["sample"]
    if d == 0:
        must += ["feature"]
    est = SGDRegressor(**kw)
    _, exc = run_case(lambda: est.fit(X, y, sample_weight=sw), [X, y, sw],
                        must_fail=must, may_fail=may_fail_for(kw) + maybe)
    if exc is None:
        check_fitted(est, X, k)


# =============================================================================
# SGDRegressor: predict
# =============================================================================
@hostile(100)
@given(data=st.data(), d=st.integers(1, 3), k=st.sampled_from([None, 2]),
       kind=st.sampled_from(["dense", "dense", "sparse", "wrong_d", "1d", "3d",
                             "complex", "object_str", "pandas", "empty"]))
def test_predict_hostile(data, d, k, kind):
    rng = np.random.RandomState(2)
    Xt = rng.randn(6, d)
    est = SGDRegressor(max_iter=3, random_state=0).fit(
        Xt, rng.randn(6) if k is None else rng.randn(6, k))
    n = data.draw(st.integers(0, 4))
    must = ()
    if kind in ("dense", "sparse"):
        X = data.draw(real_arrays((n, d)))
        if kind == "sparse":
            Xf = as_float(X)
            X = sp.csr_matrix(Xf)
        if not all_finite(X):
            must = NONFINITE
    elif kind == "wrong_d":
        X = rng.randn(n, d + 1)
        must = ("feature",)
    elif kind == "1d":
        X = rng.randn(d)
        must = ("2d", "1d", "reshape", "dimension", "shape")
    elif kind == "3d":
        X = rng.randn(n, d, 1)
        must = ("dim", "shape")
    elif kind == "complex":
        X = rng.randn(n, d) + 1j
        must = ("complex",)
    elif kind == "object_str":
        X = np.full((n, d), "a", dtype=object)
        must = DTYPE
    elif kind == "pandas":
        pd = pytest.importorskip("pandas")
        X = pd.DataFrame(rng.randn(n, d), columns=[f"f{j}" for j in range(d)])
    else:
        X = np.zeros((0, d))
    if n == 0 and kind != "1d":
        must = tuple(must) + ("sample",)
    if kind == "empty":
        must = ("sample",)
    pred, exc = run_case(lambda: est.predict(X), [X], must_fail=must,
                         may_fail=("feature", "name"), where="predict")
    if exc is None:
        assert np.isfinite(pred).all()
        assert pred.shape == ((X.shape[0],) if k is None else (X.shape[0], k))


# =============================================================================
# Minimal reproductions of what the properties above found (one per finding,
# so that each shows up by name until it is fixed)
# =============================================================================
def test_repro_last_epoch_blow_up_is_not_detected():
    # observed: fit returns coef_ [8.4e9] and loss_curve_ [2.5e23] (finite),
    # predict on the training rows gives [inf, 1.7e10]. The divergence test
    # looked at the epoch's running objective, computed before each update, so
    # an update in the last epoch (every partial_fit call) was never checked.
    # Now the model at the end of every call is checked too (an extra pass).
    X, y = np.array([[1e300], [1.0]]), np.array([0.0, 1e12])
    for how in ("fit", "partial_fit"):
        est = SGDRegressor(max_iter=1, shuffle=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                getattr(est, how)(X, y)
            except ValueError as e:
                check_message(e, DIVERGED, how)
                continue
        assert np.isfinite(est.predict(X)).all(), (how, est.coef_, est.predict(X))
