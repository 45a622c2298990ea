"""Hostile-input property tests of SGDRegressor's hyper-parameters: sampled
(Hypothesis) hostile or extreme values of one or two parameters, every
parameter with every hostile value, and an all-pairs covering set of
extreme-but-valid values. The property and the shared strategies: _hostile.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from _hostile import (
    DIVERGED,
    OPTIMIZER_CLASSES,
    OPTIMIZER_NAMES,
    TINY,
    X2,
    Y2,
    check_fitted,
    check_message,
    clean_or_finite,
    hostile,
    n_threads,
    run_case,
)
from descent import SGDRegressor, optim

# =============================================================================
# SGDRegressor: hyper-parameters
# =============================================================================
HOSTILE_PARAM_VALUES = [
    -1, -1.0, 0, 0.0, -0.0, 1, 2, 0.5, 1.5, np.nan, np.inf, -np.inf, 1e300, -1e300,
    TINY, 1e-300, 2**31, 2**40, 2**63, -2**63, 10**30, "1", "", "auto", "sgd", [1],
    (1,), {}, None, True, False, 1 + 1j, np.float32(0.5), np.int64(3), np.array(1.0),
    np.array([1.0]), np.nan * 1j, object(), b"l2",
]


def hostile_optimizer_instances():
    out = []
    for cls in OPTIMIZER_CLASSES:
        names = [p for p in cls().get_params() if p != "weight_decay"]
        for name in names:
            for value in (-1.0, 0.0, np.nan, np.inf, 1e300, 2.0, "x", None, (0.5,),
                          (0.9, 1.0), (1.0, 0.999), (np.nan, 0.9)):
                out.append((cls, name, value))
        out.append((cls, "weight_decay", 0.1))
    return out


HOSTILE_OPTIMIZERS = hostile_optimizer_instances()


@st.composite
def hostile_optimizer(draw):
    cls, name, value = draw(st.sampled_from(HOSTILE_OPTIMIZERS))
    opt = cls()
    opt.set_params(**{name: value})
    # weight_decay must be 0 inside SGDRegressor (AdamW's default is not)
    if name != "weight_decay":
        opt.set_params(weight_decay=0.0)
    return opt, name


PARAMS = sorted(SGDRegressor._parameter_constraints)
INTERACTING = ["learning_rate", "alpha", "optimizer", "batch_size", "n_jobs",
               "early_stopping", "average", "eta0", "l1_ratio", "penalty"]


# Valid values of each parameter (tiny models): the base configuration the
# hostile values are mixed into, and extreme-but-valid values themselves.
VALID_PARAM_VALUES = {
    "loss": ["squared_error", "huber", "epsilon_insensitive",
             "squared_epsilon_insensitive"],
    "penalty": [None, "l2", "l1", "elasticnet"],
    "alpha": [0.0, 1e-4, 1.0, 1e-300, TINY, 1e10],
    "l1_ratio": [0.0, 0.15, 1.0, None, TINY],
    "fit_intercept": [True, False],
    "max_iter": [1, 3, 5],
    "tol": [None, 0.0, 1e-3, 1e300],
    "shuffle": [True, False],
    "verbose": [0],
    "epsilon": [0.0, 0.1, 1e300, TINY],
    "random_state": [None, 0, 2**32 - 1, np.random.RandomState(0)],
    "learning_rate": ["constant", "optimal", "invscaling", "adaptive", "auto"],
    "eta0": [1e-3, 0.01, 1.0, 1e300, TINY, "auto"],
    "power_t": [0.25, 0.0, -1.0, 1e300, -1e300],
    "early_stopping": [False, True],
    "validation_fraction": [0.1, 0.5, TINY, 1 - 1e-16],
    "n_iter_no_change": [1, 5],
    "warm_start": [False, True],
    "average": [False, True, 1, 10],
    "optimizer": list(OPTIMIZER_NAMES),
    "batch_size": [1, 2, None, 10**6],
    "clip_grad_norm": [None, 1e-3, 1.0, 1e300, TINY, 1e-310],
    "n_jobs": [None, 1, 2, -1],
    "sparse_update": ["auto", "lazy", "dense"],
    "scale_targets": ["auto", True, False],
    "restore_best_weights": [False, True],
}


@hostile(300)
@given(data=st.data(),
       names=st.lists(st.sampled_from(PARAMS), min_size=1, max_size=2, unique=True),
       n=st.integers(2, 8), d=st.integers(1, 3), k=st.sampled_from([None, None, 2]),
       sparse=st.booleans(), how=st.sampled_from(["fit", "partial_fit"]))
def test_hostile_hyperparameters(data, names, n, d, k, sparse, how):
    """A random valid configuration with one or two parameters set to hostile
    or extreme values."""
    kw = {name: data.draw(st.sampled_from(values), label=name)
          for name, values in VALID_PARAM_VALUES.items()}
    mention = list(DIVERGED)
    for name in names:
        if name == "optimizer" and data.draw(st.booleans()):
            value, opt_param = data.draw(hostile_optimizer(), label=name)
            mention += ["optimizer", opt_param, "eta0", *value.get_params()]
        else:
            value = data.draw(st.sampled_from(HOSTILE_PARAM_VALUES +
                                              VALID_PARAM_VALUES[name]), label=name)
        kw[name] = value
        mention.append(name)
    # A huge max_iter is honoured: give it a stopping rule that fires (tol),
    # or the fit runs for billions of epochs (loss_curve_ grows 16 bytes each)
    iters = kw["max_iter"]
    if isinstance(iters, (int, np.integer)) and not isinstance(iters, bool) \
            and iters > 1000:
        if "tol" in names or "n_iter_no_change" in names:
            kw["max_iter"] = 5
        else:
            kw["tol"], kw["n_iter_no_change"] = 1e-3, min(kw["n_iter_no_change"], 5)
    # parameters that are checked together with others, and the base
    # configuration's extreme values, which may be refused in their own right
    mention += INTERACTING + PARAMS
    if kw.get("early_stopping") is not False:
        mention += ["validation", "split", "train set", "test_size", "sample"]
    if "random_state" in names:
        mention += ["seed", "randomstate"]
    rng = np.random.RandomState(0)
    X = rng.randn(n, d)
    if sparse:
        X = sp.csr_matrix(X)
    y = rng.randn(n) if k is None else rng.randn(n, k)
    try:
        est = SGDRegressor(**kw)
    except (ValueError, TypeError) as e:     # __init__ must not validate, but may
        check_message(e, mention, "SGDRegressor()")
        return
    call = (lambda: est.fit(X, y)) if how == "fit" else (lambda: est.partial_fit(X, y))
    _, exc = run_case(call, [X, y, kw["optimizer"]], may_fail=mention,
                        where=f"{how}({kw})", may_print="verbose" in names)
    if exc is None:
        check_fitted(est, X, k)


def all_pairs(pools, seed=0):
    """A small set of configurations covering every pair of values of every
    two parameters (greedy AETG-style covering array)."""
    rnd = np.random.RandomState(seed)
    names = list(pools)
    uncovered = {((a, i), (b, j)) for ia, a in enumerate(names) for b in names[ia + 1:]
                 for i in range(len(pools[a])) for j in range(len(pools[b]))}
    configs = []
    while uncovered:
        best, best_gain = None, -1
        for _ in range(5):
            order = list(rnd.permutation(len(names)))
            chosen = {}
            for k in order:
                name = names[k]
                gains = []
                for i in range(len(pools[name])):
                    g = 0
                    for other, j in chosen.items():
                        pair = (((name, i), (other, j)) if names.index(name) <
                                names.index(other) else ((other, j), (name, i)))
                        g += pair in uncovered
                    gains.append(g)
                top = max(gains)
                chosen[name] = rnd.choice([i for i, g in enumerate(gains) if g == top])
            covered = {((a, chosen[a]), (b, chosen[b])) for ia, a in enumerate(names)
                       for b in names[ia + 1:]} & uncovered
            if len(covered) > best_gain:
                best, best_gain = chosen, len(covered)
        uncovered -= {((a, best[a]), (b, best[b])) for ia, a in enumerate(names)
                      for b in names[ia + 1:]}
        configs.append({name: pools[name][best[name]] for name in names})
    return configs


PAIRWISE_POOLS = dict(VALID_PARAM_VALUES, optimizer=list(OPTIMIZER_NAMES) + [
    "sgd", optim.Adam(lr=0.01), optim.Adagrad(initial_accumulator_value=0.1),
    optim.SGD(lr=0.01, momentum=0.9, nesterov=True), optim.RMSprop(centered=True),
    optim.AdamW(weight_decay=0.0, amsgrad=True), optim.Adadelta(rho=0.0)])


def repaired(kw):
    """The nearest configuration that passes the cross-parameter checks, so
    that the pairs of the others are exercised past them."""
    kw = dict(kw)
    if kw["learning_rate"] == "optimal":
        kw.update(optimizer="sgd", batch_size=1, alpha=kw["alpha"] or 1e-4)
    if kw["average"] and kw["batch_size"] == 1 and n_threads(kw["n_jobs"]) > 1:
        kw["average"] = False
    if isinstance(kw["optimizer"], optim.Optimizer):
        kw["eta0"] = 0.01
    if kw["penalty"] == "elasticnet" and kw["l1_ratio"] is None:
        kw["l1_ratio"] = 0.15
    if kw["sparse_update"] == "lazy" and (kw["average"] or kw["batch_size"] != 1):
        kw["sparse_update"] = "auto"
    return kw


def test_every_pair_of_extreme_but_valid_hyperparameters():
    """Each pair of (valid, often extreme) values of two parameters appears in
    at least one fit: interactions such as learning_rate='optimal' with a
    denormal alpha are not left to chance."""
    rng = np.random.RandomState(0)
    X, y, Y2 = rng.randn(8, 2), rng.randn(8), rng.randn(8, 2)
    data = [(X, y), (sp.csr_matrix(X), y), (X, Y2)]
    problems = []
    configs = all_pairs(PAIRWISE_POOLS)
    configs += [repaired(kw) for kw in configs if repaired(kw) != kw]
    for c, kw in enumerate(configs):
        Xv, yv = data[c % 3]
        if (sp.issparse(Xv) and kw["batch_size"] == 1 and n_threads(kw["n_jobs"]) > 1
                and kw["sparse_update"] == "dense"):
            Xv = X
        for how in ("fit", "partial_fit"):
            if how == "partial_fit" and kw["early_stopping"]:
                continue
            est = SGDRegressor(**kw)
            try:
                _, exc = run_case(lambda est=est, how=how, Xv=Xv, yv=yv:
                                    getattr(est, how)(Xv, yv),
                                    [Xv, yv, kw["optimizer"]],
                                    may_fail=[*DIVERGED, *PARAMS, "validation",
                                              "split", "train set", "test_size",
                                              "sample", "weight_decay", "lr",
                                              "centered", "rho", "amsgrad"],
                                    where=how)
                if exc is None:
                    check_fitted(est, Xv, None if yv.ndim == 1 else 2)
            except Exception as e:  # noqa: BLE001 - collect, report all at the end
                diff = {k: v for k, v in kw.items() if SGDRegressor().get_params()[k]
                        is not v and SGDRegressor().get_params()[k] != v}
                problems.append(f"{how}(X{'sparse' if sp.issparse(Xv) else ''}, "
                                f"y{yv.shape}) with {diff}: {type(e).__name__}: "
                                f"{str(e).splitlines()[0][:200]}")
    assert not problems, f"{len(problems)} violations:\n" + "\n".join(problems)


# Every parameter with every hostile value, exhaustively (not sampled): a
# failure lists all the offending (parameter, value) pairs at once.
@pytest.mark.parametrize("name", PARAMS)
def test_each_hyperparameter_with_each_hostile_value(name):
    rng = np.random.RandomState(0)
    X, y = rng.randn(8, 2), rng.randn(8)
    Xs, Y2 = sp.csr_matrix(X), rng.randn(8, 2)
    values = list(HOSTILE_PARAM_VALUES) + VALID_PARAM_VALUES[name]
    if name == "optimizer":
        for cls, opt_name, value in HOSTILE_OPTIMIZERS:
            opt = cls().set_params(**{opt_name: value})
            if opt_name != "weight_decay":
                opt.set_params(weight_decay=0.0)
            values.append(opt)
    problems = []
    for value in values:
        mention = [name, *DIVERGED, *INTERACTING]
        if isinstance(value, optim.Optimizer):
            mention += list(value.get_params())
        for how, Xv, yv in (("fit", X, y), ("partial_fit", Xs, Y2)):
            est = SGDRegressor(max_iter=3, random_state=0).set_params(**{name: value})
            call = getattr(est, how)
            try:
                _, exc = run_case(lambda call=call, Xv=Xv, yv=yv: call(Xv, yv),
                                    [Xv, yv, value], may_fail=mention,
                                    where=f"{how}({name}={value!r})",
                                    may_print=name == "verbose")
                if exc is None:
                    check_fitted(est, Xv, None if yv.ndim == 1 else 2)
            except Exception as e:  # noqa: BLE001 - collect, report all at the end
                problems.append(f"{how}({name}={value!r}): {type(e).__name__}: "
                                f"{str(e).splitlines()[0][:200]}")
    assert not problems, f"{len(problems)} violations:\n" + "\n".join(problems)


# =============================================================================
# Minimal reproductions of what the properties above found (one per finding,
# so that each shows up by name until it is fixed)
# =============================================================================
@pytest.mark.parametrize("name, value", [("n_jobs", 2**31), ("batch_size", 2**63),
                                         ("max_iter", 2**63),
                                         ("n_iter_no_change", 2**63)])
def test_repro_huge_integer_parameter_overflows(name, value):
    # observed: OverflowError converting to the C Settings struct
    clean_or_finite(lambda: SGDRegressor(**{name: value}).fit(X2, Y2), name)


def test_repro_learning_rate_optimal_with_denormal_alpha():
    # observed: ZeroDivisionError in _search_optimal_eta0 (eta * alpha == 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est = SGDRegressor(learning_rate="optimal", alpha=5e-324).fit(X2, Y2)
        except (ValueError, TypeError) as e:
            check_message(e, ("alpha",), "fit")
            return
    assert np.isfinite(est.coef_).all() and np.isfinite(est.intercept_).all()


def test_repro_denormal_clip_grad_norm_does_not_clip():
    # observed: clip_grad_norm=1e-300 keeps coef ~1e-301, 1e-310 or 5e-324
    # gives the unclipped coef (1.21, 1.39): denormals are flushed to zero
    # in the kernel, and a 0 norm means 'no clipping'
    rng = np.random.RandomState(0)
    X, y = rng.randn(20, 2), rng.randn(20) + 3
    kw = dict(max_iter=5, tol=None, random_state=0, learning_rate="constant")
    clipped = SGDRegressor(clip_grad_norm=1e-300, **kw).fit(X, y).coef_
    for c in (1e-310, 5e-324):
        try:
            coef = SGDRegressor(clip_grad_norm=c, **kw).fit(X, y).coef_
        except ValueError as e:        # refusing denormals is fine too
            check_message(e, ("clip_grad_norm",), "fit")
            continue
        assert np.abs(coef).max() <= np.abs(clipped).max() + 1e-12, (c, coef)
