"""Hostile-input property tests (Hypothesis) of the threaded paths: sparse
Hogwild! (runs, refuses sparse_update='dense'), and larger data on the
threaded batch gradient and Hogwild! (finite or 'diverged', reproducible for a
given thread count). The property and the shared strategies: _hostile.py.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import assume, given
from hypothesis import strategies as st

from _hostile import (
    DIVERGED,
    OPTIMIZER_NAMES,
    SPARSE_FORMATS,
    TINY,
    check_fitted,
    hostile,
    n_threads,
    real_arrays,
    run_case,
)
from descent import SGDRegressor


# =============================================================================
# SGDRegressor: Hogwild! and the threaded batch gradient
# =============================================================================
@hostile(40)
@given(data=st.data(), n=st.integers(1, 6), d=st.integers(1, 4),
       n_jobs=st.sampled_from([2, -1, 4]), fmt=st.sampled_from(SPARSE_FORMATS[:6]))
def test_sparse_hogwild_refuses_dense_updates_only(data, n, d, n_jobs, fmt):
    # Hogwild! on sparse rows updates the rows' coefficients: it runs, but
    # refuses sparse_update='dense'.
    assume(n_threads(n_jobs) > 1)
    X = getattr(sp, fmt)(sp.random(n, d, density=0.7, random_state=0))
    y = data.draw(real_arrays((n,), mode="benign"))
    est = SGDRegressor(max_iter=2, n_jobs=n_jobs, batch_size=1, sparse_update="dense")
    run_case(lambda: est.fit(X, y), [X, y], must_fail=("sparse_update",))
    est = SGDRegressor(max_iter=2, n_jobs=n_jobs, batch_size=1,
                       optimizer=data.draw(st.sampled_from(OPTIMIZER_NAMES)))
    _, exc = run_case(lambda: est.fit(X, y), [X, y], may_fail=DIVERGED)
    if exc is None:
        check_fitted(est, X, None)


@hostile(25)
@given(seed=st.integers(0, 2**16), d=st.sampled_from([12, 20]), k=st.sampled_from([None, 3]),
       sparse=st.booleans(), n_jobs=st.sampled_from([2, -1]),
       batch_size=st.sampled_from([None, None, 20000, 1]),
       opt=st.sampled_from(["sgd", "adam", "adagrad", "rmsprop", "nesterov"]),
       spike=st.sampled_from([None, 1e3, 1e150, TINY, 0.0]))
def test_threaded_paths_on_larger_data(seed, d, k, sparse, n_jobs, batch_size, opt, spike):
    """The threaded gradient (a batch of >= 50,000 row-target-feature units)
    and Hogwild! only start on larger data: finite or 'diverged', inputs
    untouched; the threaded batch gradient is reproducible for a given
    thread count and agrees with one thread."""
    rng = np.random.RandomState(seed)
    n = 2600
    X = rng.randn(n, d)
    if spike is not None:
        X[rng.randint(n), rng.randint(d)] = spike
        X[:, rng.randint(d)] = spike          # a constant column
    if sparse:
        X[rng.rand(n, d) < 0.7] = 0.0
        X = sp.csr_matrix(X)
    y = rng.randn(n) if k is None else rng.randn(n, k)
    # (scale_targets=False: Adam normalises the near-zero gradients of
    # centered targets, which makes threads vs one thread a test of rounding)
    kw = dict(max_iter=3, tol=None, random_state=0, optimizer=opt,
              batch_size=batch_size, learning_rate="constant", eta0=1e-3,
              scale_targets=False)
    est = SGDRegressor(n_jobs=n_jobs, **kw)
    _, exc = run_case(lambda: est.fit(X, y), [X, y], may_fail=DIVERGED)
    if exc is not None:
        return
    check_fitted(est, X, k)
    if batch_size != 1 and n_threads(n_jobs) > 1:
        again = SGDRegressor(n_jobs=n_jobs, **kw)
        run_case(lambda: again.fit(X, y), [X, y])
        assert again.coef_.tobytes() == est.coef_.tobytes(), "threaded fit not reproducible"
        one = SGDRegressor(n_jobs=1, **kw)
        run_case(lambda: one.fit(X, y), [X, y])
        np.testing.assert_allclose(est.coef_, one.coef_, rtol=1e-7, atol=1e-12)
