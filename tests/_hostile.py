"""Shared pieces of the hostile-input property tests (tests/test_hostile_*.py).

The one property, for every generated call:

* it returns a fitted model / updated parameters whose numbers are all finite
  (coef_, intercept_, loss_curve_, predictions on the finite training input;
  an optimizer's params), or
* it raises ``ValueError`` or ``TypeError`` whose message names the problem
  (a parameter name, 'NaN', 'infinity', 'shape', 'sample', 'feature',
  'diverged', ...);

and in both cases the inputs are byte-for-byte unchanged (dense buffers,
sparse data/indices/indptr/row/col, DataFrames, memmaps and their files, the
optimizer instance passed in), the floating-point mode is restored (denormals
still work), nothing is printed and nothing crashes. Where the input is known
to be invalid (NaN/inf, 0 rows or columns, wrong lengths, negative or all-zero
weights, sparse_update="dense" with sparse Hogwild!, ...) success is a failure.
Fits that are not Hogwild! must also be bit-reproducible.

Here: the Hypothesis settings (``hostile``), value and array strategies
(special values, dtypes, layouts), ``snapshot`` (byte-exact fingerprints),
``run_case`` (the property), ``check_fitted``, random estimator
configurations and (X, y, sample_weight) with the keywords of what is known
to be wrong with them, and the helpers of the minimal reproductions. The
tests, by subject:

* test_hostile_data.py: SGDRegressor on dense X, exotic dtypes, sparse X (10
  formats, explicit zeros, unsorted/duplicate/int64 indices), read-only
  memmaps, pandas; predict;
* test_hostile_threads.py: sparse Hogwild!, larger data on the threaded paths;
* test_hostile_params.py: hyper-parameters, sampled; every parameter x every
  hostile value, and an all-pairs covering set of extreme-but-valid values;
* test_hostile_state.py: coef_init / intercept_init / warm start, partial_fit
  sequences, set_params between partial_fit calls;
* test_hostile_optim.py: descent.optim hyper-parameters, params/grad of odd
  shapes, dtypes and layouts, non-finite params, grad aliasing params,
  load_state_dict;
* test_hostile_subprocess.py: malformed CSR and extreme values on every kernel
  path, huge n_jobs, set_params between partial_fit calls (forked per batch,
  so a crash is reported with its case and the rest still run);

and in each, ``test_repro_*``: one minimal reproduction per finding.

Models are tiny (<= 8 rows in general, max_iter <= 5). Cases: 1,975
Hypothesis examples (sum of max_examples), ~2,560 fits in the parameter grid,
~320 in the all-pairs set, 3,840 optimizer grid steps, ~420 in subprocesses.
With the CI environment variable set, every test is derandomized (the same
examples on every run, no example database): ``hostile`` reads it here, so
that every test_hostile_*.py module gets the same settings.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st

import descent
from descent import SGDRegressor, optim

# -- Hypothesis settings -------------------------------------------------------
_CI = bool(os.environ.get("CI"))
_BASE = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
    derandomize=_CI,
    # no 'explain' phase: its tracing makes a failing test ten times slower
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    **({"database": None} if _CI else {}),
)


def hostile(max_examples):
    return settings(_BASE, max_examples=max_examples)


OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop",
                   "adadelta", "adam", "amsgrad", "adamw")
OPTIMIZER_CLASSES = (optim.SGD, optim.Adagrad, optim.RMSprop, optim.Adadelta,
                     optim.Adam, optim.AdamW)

# -- values ----------------------------------------------------------------------
TINY = 5e-324                      # smallest denormal
SPECIAL = [0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e300, -1e300, 1e-300,
           TINY, -TINY, 2.2250738585072014e-308, 1e150, -1e150,
           np.finfo(np.float64).max, 3.5e38, 65520.0, 1e-8, 1e8]
moderate = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
special = st.sampled_from(SPECIAL)
anything = st.floats(allow_nan=True, allow_infinity=True)


@st.composite
def float_list(draw, size, mode=None):
    """``size`` float64 values: benign, benign with a few special ones, or wild."""
    mode = mode or draw(st.sampled_from(["benign"] * 5 + ["sprinkled", "sprinkled",
                                                      "wild", "constant"]))
    if mode == "benign":
        return draw(st.lists(moderate, min_size=size, max_size=size))
    if mode == "constant":
        return [draw(st.one_of(moderate, special))] * size
    if mode == "sprinkled":
        vals = draw(st.lists(moderate, min_size=size, max_size=size))
        for _ in range(draw(st.integers(0, min(size, 2)))):
            vals[draw(st.integers(0, size - 1))] = draw(special)
        return vals
    return draw(st.lists(st.one_of(special, anything, moderate),
                         min_size=size, max_size=size))


REAL_DTYPES = ["float64", "float64", "float32", "int64", "int32", "uint8", "bool"]


def cast(values, shape, dtype):
    a = np.array(values, dtype=np.float64).reshape(shape)
    dtype = np.dtype(dtype)
    with np.errstate(all="ignore"):
        if dtype.kind == "f":
            return a.astype(dtype)
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            a = np.clip(np.nan_to_num(a, nan=0.0), info.min, info.max)
            return a.astype(dtype)
        if dtype.kind == "b":
            return a != 0
    raise AssertionError(dtype)


def relayout(a, layout):
    """Same values, other memory layout: F order, strided views, negative
    strides, byte-swapped, read-only."""
    if "F" in layout:
        a = np.asfortranarray(a)
    if "strided" in layout:
        big = np.zeros(tuple(2 * s + 1 for s in a.shape), dtype=a.dtype)
        view = big[tuple(slice(1, None, 2) for _ in a.shape)] if a.ndim else big[...]
        view[...] = a
        a = view
    if "reversed" in layout and a.ndim >= 1:
        b = np.ascontiguousarray(a[::-1])
        a = b[::-1]
    if "swapped" in layout and a.dtype.itemsize > 1:
        a = a.astype(a.dtype.newbyteorder())
    if "readonly" in layout:
        a.setflags(write=False)
    return a


layouts = st.sets(st.sampled_from(["F", "strided", "reversed", "swapped", "readonly"]),
                  max_size=3)


@st.composite
def real_arrays(draw, shape, dtypes=REAL_DTYPES, mode=None):
    size = math.prod(shape)
    dtype = draw(st.sampled_from(dtypes))
    a = cast(draw(float_list(size, mode)), shape, dtype)
    return relayout(a, draw(layouts))


def rarely(p=4):
    """True with probability about 1/p."""
    return st.integers(0, p - 1).map(lambda i: i == 0)


def sizes(hi, zero_odds=12):
    """0 now and then (about 1 in zero_odds), else 1..hi."""
    return st.integers(0, zero_odds - 1).map(lambda i: 0 if i == 0 else 1 + i % hi)


def as_float(a):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if sp.issparse(a):
            return np.asarray(a.toarray(), dtype=np.float64)
        return np.asarray(a, dtype=np.float64)


def all_finite(a):
    try:
        return bool(np.isfinite(as_float(a)).all())
    except (TypeError, ValueError):       # complex lists, strings...
        try:
            return bool(np.isfinite(np.asarray(a)).all())
        except TypeError:
            return True


# -- snapshots: inputs must come back byte for byte -----------------------------
def snapshot(obj):
    if obj is None or isinstance(obj, (int, float, str, bool)):
        return ("scalar", repr(obj))
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "O":
            payload = repr(obj.tolist())
        else:
            payload = obj.tobytes(order="A")
        return ("nd", type(obj).__name__, obj.dtype.str, obj.shape, obj.strides,
                obj.flags.writeable, payload)
    if sp.issparse(obj):
        parts = [type(obj).__name__, obj.format, obj.shape]
        for name in ("data", "indices", "indptr", "row", "col", "offsets", "coords"):
            value = getattr(obj, name, None)
            if isinstance(value, tuple):
                parts.extend(snapshot(v) for v in value)
            elif isinstance(value, np.ndarray):
                parts.append(snapshot(value))
        if obj.format == "lil":
            parts.append(repr((obj.rows.tolist(), obj.data.tolist())))
        if obj.format == "dok":
            parts.append(repr(sorted(obj.items())))
        if obj.format in ("csr", "csc", "bsr"):
            parts.append(obj.has_sorted_indices)
        return tuple(parts)
    if type(obj).__module__.startswith("pandas"):
        import pandas as pd
        if isinstance(obj, pd.DataFrame):
            return ("df", tuple(map(str, obj.columns)), tuple(map(str, obj.dtypes)),
                    obj.shape, repr(obj.to_dict("list")),
                    tuple(snapshot(obj[c].to_numpy(copy=False)) for c in obj.columns
                          if obj[c].dtype.kind in "biuf"))
        return ("series", str(obj.dtype), obj.shape, repr(obj.tolist()))
    if isinstance(obj, optim.Optimizer):       # hyper-parameters and state
        state = getattr(obj, "_state", None)
        return ("optimizer", type(obj).__name__, repr(obj.get_params()), obj.n_steps,
                None if state is None else state.tobytes())
    if isinstance(obj, (list, tuple)):
        return ("seq", repr(obj))
    return ("other", repr(obj))


def _event(text):
    """hypothesis.event, and nothing outside a Hypothesis test."""
    from hypothesis.control import currently_in_test_context
    if currently_in_test_context():
        event(text)


def fp_mode_ok():
    """Denormals still exist: the kernels restored the FP mode (no FTZ/DAZ)."""
    return (np.array([TINY]) * np.float64(1.0))[0] != 0.0 and TINY * 1.0 != 0.0


# -- the property --------------------------------------------------------------
DIVERGED = ("diverged",)
NONFINITE = ("nan", "inf")
LENGTH = ("sample", "length", "shape", "inconsistent", "consistent")
DTYPE = ("dtype", "complex", "convert", "float", "string", "numeric", "real",
         "type", "bytes", "datetime", "timedelta", "object")


def check_message(exc, keywords, where):
    msg = str(exc)
    assert msg.strip(), f"{where}: {type(exc).__name__} with an empty message"
    low = msg.lower()
    assert any(k.lower() in low for k in keywords), (
        f"{where}: {type(exc).__name__}({msg!r}) names none of {sorted(set(keywords))}")


def run_case(call, inputs, *, must_fail=(), may_fail=(), allowed=(ValueError, TypeError),
             where="fit", may_print=False):
    """Run ``call()``; return (result, None) or (None, exc) after checking the
    property. ``must_fail``: keywords of known problems with the input (the
    call must raise and name one); ``may_fail``: keywords an error may name
    although nothing is known to be wrong (e.g. 'diverged')."""
    before = [snapshot(x) for x in inputs]
    out = io.StringIO()
    result = exc = None
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(out):
            warnings.simplefilter("ignore")
            result = call()
    except allowed as e:
        exc = e
    assert may_print or out.getvalue() == "", f"{where} printed {out.getvalue()[:200]!r}"
    after = [snapshot(x) for x in inputs]
    for i, (b, a) in enumerate(zip(before, after)):
        assert b == a, f"{where}: input #{i} was modified"
    assert fp_mode_ok(), f"{where}: denormals are flushed after the call (FP mode leaked)"
    _event("raised " + " ".join(str(exc).split()[:4]) if exc is not None else "returned")
    if exc is not None:
        check_message(exc, tuple(must_fail) + tuple(may_fail), where)
    else:
        assert not must_fail, (
            f"{where}: accepted input that should raise ({sorted(set(must_fail))})")
    return result, exc


def check_fitted(est, X, n_targets):
    """A fitted model: finite numbers of the right shapes, finite predictions."""
    coef, intercept = np.asarray(est.coef_), np.asarray(est.intercept_)
    d = est.n_features_in_
    if n_targets is None:
        assert coef.shape == (d,) and intercept.shape == (1,)
    else:
        assert coef.shape == (n_targets, d) and intercept.shape == (n_targets,)
    assert np.isfinite(coef).all(), f"non-finite coef_ {coef}"
    assert np.isfinite(intercept).all(), f"non-finite intercept_ {intercept}"
    assert np.isfinite(est.loss_curve_).all(), f"non-finite loss_curve_ {est.loss_curve_}"
    # (partial_fit appends its epoch to loss_curve_; n_iter_ is the last call's)
    assert 1 <= est.n_iter_ <= min(len(est.loss_curve_), est.max_iter)
    before = snapshot(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = est.predict(X)
    assert snapshot(X) == before, "predict modified X"
    assert np.isfinite(pred).all(), f"non-finite predictions {pred}"
    n = X.shape[0]
    assert pred.shape == ((n,) if n_targets is None else (n, n_targets))


# -- estimator configurations -------------------------------------------------
@st.composite
def estimator_kwargs(draw):
    opt = draw(st.sampled_from(OPTIMIZER_NAMES))
    batch_size = draw(st.sampled_from([1, 1, 2, 3, None]))
    schedule = draw(st.sampled_from(["constant", "invscaling", "adaptive", "optimal"]))
    if schedule == "optimal" and not (opt == "sgd" and batch_size == 1):
        schedule = "invscaling"
    n_jobs = draw(st.sampled_from([None, None, 1, 2, -1]))
    average = draw(st.sampled_from([False, False, True, 2]))
    if average and batch_size == 1 and n_jobs not in (None, 1):
        average = False
    alpha = draw(st.sampled_from([0.0, 1e-4, 0.01, 1.0]))
    if schedule == "optimal" and alpha == 0.0:
        alpha = 1e-4
    early = draw(st.booleans()) and draw(st.booleans())
    return dict(
        loss=draw(st.sampled_from(["squared_error", "huber", "epsilon_insensitive",
                                   "squared_epsilon_insensitive"])),
        penalty=draw(st.sampled_from([None, "l2", "l1", "elasticnet"])),
        alpha=alpha,
        l1_ratio=draw(st.sampled_from([0.0, 0.15, 1.0])),
        fit_intercept=draw(st.booleans()),
        max_iter=draw(st.integers(1, 5)),
        tol=draw(st.sampled_from([None, 1e-3])),
        shuffle=draw(st.booleans()),
        epsilon=draw(st.sampled_from([0.0, 0.1, 1.0])),
        random_state=draw(st.integers(0, 3)),
        learning_rate=schedule,
        eta0=draw(st.sampled_from([1e-3, 0.01, 0.1])),
        power_t=draw(st.sampled_from([0.25, 0.5])),
        early_stopping=early,
        validation_fraction=draw(st.sampled_from([0.2, 0.5])),
        n_iter_no_change=draw(st.integers(1, 3)),
        average=average,
        optimizer=opt,
        batch_size=batch_size,
        clip_grad_norm=draw(st.sampled_from([None, None, 1.0, 1e-3])),
        n_jobs=n_jobs,
        sparse_update=draw(st.sampled_from(
            ["auto", "dense"] if average or batch_size != 1 else
            ["auto", "lazy", "dense"])),
    )


def n_threads(n_jobs):
    from joblib import effective_n_jobs
    if n_jobs is None or not descent._kernels.OPENMP:
        return 1
    return effective_n_jobs(n_jobs)


def may_fail_for(kw):
    words = list(DIVERGED)
    if kw.get("early_stopping"):
        words += ["validation", "split", "sample", "train set", "test_size"]
    return words


@st.composite
def weights(draw, n):
    kind = draw(st.sampled_from(["none"] * 6 + ["good"] * 4 + [
        "zeros", "negative", "special", "wrong_length", "scalar", "list"]))
    if kind == "none":
        return None
    if kind == "scalar":
        return draw(st.one_of(st.floats(0.1, 10), special))
    if kind == "wrong_length":
        m = draw(st.sampled_from([max(n - 1, 0), n + 1]))
        return np.ones(m)
    if kind == "zeros":
        return np.zeros(n)
    if kind == "negative":
        w = np.ones(n)
        if n:
            w[draw(st.integers(0, n - 1))] = -draw(st.floats(TINY, 10))
        return w
    if kind == "special":
        return cast(draw(float_list(n, "sprinkled")), (n,), "float64")
    values = draw(st.lists(st.floats(0, 10), min_size=n, max_size=n))
    if kind == "list":
        return values
    return relayout(cast(values, (n,), draw(st.sampled_from(["float64", "float32",
                                                               "int64"]))),
                    draw(layouts))


def weight_problems(sw, n):
    """Keywords of what is wrong with sample_weight, () if nothing."""
    if sw is None:
        return ()
    w = as_float(np.broadcast_to(np.asarray(sw, dtype=object), (n,))
                 if np.ndim(sw) == 0 else sw)
    if w.shape != (n,):
        return ("sample_weight", "shape", "sample")
    if not np.isfinite(w).all():
        return NONFINITE + ("sample_weight",)
    if (w < 0).any():
        return ("negative", "sample_weight")
    if n and not (w != 0).any():
        return ("non-zero", "sample weight", "sample_weight")
    return ()


@st.composite
def targets(draw, n):
    """y of shape (n,), (n, k) or the wrong length; returns (y, n_targets)."""
    k = draw(st.sampled_from([None] * 6 + [1, 2, 3, 0]))
    rows = n if draw(st.integers(0, 11)) else draw(st.sampled_from([max(n - 1, 0), n + 1]))
    shape = (rows,) if k is None else (rows, k)
    y = draw(real_arrays(shape, dtypes=["float64", "float64", "float32", "int64",
                                        "bool"]))
    return y, (None if k in (None, 1) else k)


def data_problems(X, y, sw, kw):
    """Keywords of everything known to be wrong with (X, y, sample_weight)."""
    must = []
    n, d = X.shape
    if n == 0:
        must += ["sample"]
    if d == 0:
        must += ["feature"]
    if not all_finite(X):
        must += NONFINITE
    y = np.asarray(y)
    if y.shape[0] != n:
        must += LENGTH
    if y.ndim == 2 and y.shape[1] == 0:
        must += ["feature", "shape", "target"]
    if not all_finite(y):
        must += NONFINITE
    must += weight_problems(sw, n)
    if (sp.issparse(X) and kw["batch_size"] == 1 and n_threads(kw["n_jobs"]) > 1
            and kw.get("sparse_update") == "dense"):
        must += ["n_jobs"]
    return must


def fit_and_check(X, y, sw, kw, n_targets, extra_inputs=()):
    est = SGDRegressor(**kw)
    must = data_problems(X, y, sw, kw)
    may = may_fail_for(kw)
    _, exc = run_case(lambda: est.fit(X, y, sample_weight=sw),
                        [X, y, sw, *extra_inputs], must_fail=must, may_fail=may)
    if exc is None:
        check_fitted(est, X, n_targets)
        if not (kw["batch_size"] == 1 and n_threads(kw["n_jobs"]) > 1):
            # all but Hogwild! is reproducible: the same fit, bit for bit
            again = SGDRegressor(**kw)
            run_case(lambda: again.fit(X, y, sample_weight=sw), [X, y, sw])
            assert again.coef_.tobytes() == est.coef_.tobytes(), "not reproducible"
            assert again.intercept_.tobytes() == est.intercept_.tobytes()
    return exc


# -- sparse formats ------------------------------------------------------------
SPARSE_FORMATS = ["csr_matrix", "csc_matrix", "coo_matrix", "csr_array", "csc_array",
                  "coo_array", "lil_matrix", "dok_matrix", "bsr_matrix", "dia_matrix"]


# -- minimal reproductions ------------------------------------------------------
X2, Y2 = np.array([[0.0], [1.0]]), np.array([0.0, 1.0])


def raises_clean(call, *keywords):
    """call() raises ValueError/TypeError naming one of keywords."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((ValueError, TypeError)) as info:
            call()
    check_message(info.value, keywords, "call")


def clean_or_finite(call, *keywords):
    """call() raises ValueError/TypeError naming one of keywords, or returns
    an estimator or array whose numbers are all finite."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = call()
        except (ValueError, TypeError) as e:
            check_message(e, keywords, "call")
            return
    if isinstance(out, SGDRegressor):
        assert np.isfinite(out.coef_).all() and np.isfinite(out.intercept_).all()
    else:
        assert np.isfinite(out).all(), out
