"""Sparse input: CSR rows in the kernels, the same model as dense input."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Lasso, Ridge

import _reference as ref
import descent._plan as plan_module
from _require import require
from descent import SGDClassifier, SGDRegressor
from descent.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 25))
    X[rng.random(X.shape) < 0.75] = 0.0          # 75 % zeros
    y = X @ rng.standard_normal(25) + 0.1 * rng.standard_normal(300)
    return X, y


FAST = dict(max_iter=15, tol=None, random_state=0)


@pytest.mark.parametrize("params", [
    dict(fit_intercept=False),
    dict(fit_intercept=False, penalty=None),
    dict(fit_intercept=False, learning_rate="constant", eta0=0.05, alpha=0.01),
    dict(fit_intercept=False, average=True),
    dict(fit_intercept=False, average=500, loss="huber", epsilon=0.5),
    dict(fit_intercept=False, clip_grad_norm=0.5),
    dict(fit_intercept=False, learning_rate="optimal"),
])
def test_plain_sgd_sparse_equals_dense(data, params):
    # Per-sample SGD on CSR rows costs O(nnz) (weight scale for L2) and gives
    # the dense coefficients.
    X, y = data
    dense = SGDRegressor(**FAST, **params).fit(X, y)
    sparse = SGDRegressor(**FAST, **params).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10, atol=1e-14)
    assert_same_losses(sparse, dense, params.get("penalty", "l2"))


def assert_same_losses(sparse, dense, penalty):
    """loss_curve_ of per-sample "sgd" on CSR rows and on the same dense rows:
    the same without a penalty; with one, scikit-learn's running penalty
    counts the norms of a CSR row's coordinates after its add, at most the
    whole model's a dense row's add counts (test_classifier_sklearn.py holds
    both to scikit-learn's)."""
    if penalty is None:
        assert sparse.loss_curve_ == pytest.approx(dense.loss_curve_, rel=1e-10)
    else:
        assert np.all(np.array(sparse.loss_curve_) <= np.array(dense.loss_curve_) + 1e-12)
        assert sparse.loss_curve_ != pytest.approx(dense.loss_curve_, rel=1e-10)


@pytest.mark.parametrize("params", [
    dict(),
    dict(loss="log_loss"),
    dict(loss="hinge", penalty="elasticnet", l1_ratio=0.3),
    dict(loss="modified_huber", penalty="l1", alpha=0.01, learning_rate="invscaling",
         eta0=0.1),
    # the shared weight scale folds into the coefs (below 1e-9) many times
    dict(loss="log_loss", learning_rate="constant", eta0=0.05, alpha=1.0),
])
def test_plain_one_vs_rest_on_csr_is_each_binary_fit(data, params):
    # CSR rows with several targets run the per-sample loop on a copy of the
    # model stored feature-major (loop_plain.pxd), one weight scale for all;
    # each one-vs-rest class takes the steps of its own binary fit (one
    # target), bit for bit: the same rows in the same order, the same sums.
    X, y = data
    X = sp.csr_matrix(X)
    labels = np.digitize(y, np.quantile(y, [0.2, 0.5, 0.7]))     # 4 unequal classes
    sw = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    joint = SGDClassifier(**FAST, **params).fit(X, labels, sample_weight=sw)
    for c in range(4):
        alone = SGDClassifier(**FAST, **params).fit(X, labels == c, sample_weight=sw)
        np.testing.assert_array_equal(joint.coef_[c], alone.coef_[0])
        np.testing.assert_array_equal(joint.intercept_[c], alone.intercept_[0])


@pytest.mark.parametrize("params", [
    dict(optimizer="adam"),
    dict(optimizer="adagrad", penalty="l1", alpha=0.01),
    dict(optimizer="rmsprop", penalty=None),
    dict(optimizer="momentum", learning_rate="constant", eta0=0.01),
    dict(optimizer=AdamW(lr=0.01, weight_decay=0.0), penalty="elasticnet", alpha=0.01),
])
def test_lazy_one_vs_rest_on_csr_is_each_binary_fit(data, params):
    # Lazy rule steps with several targets run on a feature-major copy of the
    # model and its state (loop_lazy.pxd): each one-vs-rest class still takes
    # the lazy steps of its own binary fit, bit for bit.
    X, y = data
    X = sp.csr_matrix(X)
    labels = np.digitize(y, np.quantile(y, [0.2, 0.5, 0.7]))
    kw = dict(FAST, loss="log_loss", **params)
    joint = SGDClassifier(**kw).fit(X, labels)
    for c in range(4):
        alone = SGDClassifier(**kw).fit(X, labels == c)
        np.testing.assert_array_equal(joint.coef_[c], alone.coef_[0])
        np.testing.assert_array_equal(joint.intercept_[c], alone.intercept_[0])


@pytest.mark.parametrize("params", [
    dict(),
    dict(clip_grad_norm=0.5),
    dict(alpha=0.01, class_weight={0: 3.0, 2: 0.5}, sample_weight=True),
])
def test_plain_softmax_on_csr_equals_dense(data, params, monkeypatch):
    # The softmax and clipping are joint over the classes: the feature-major
    # CSR loop against the dense loop (whose dot products sum in another
    # order: equal to rounding, with steps small enough not to amplify it;
    # L2 only: CSR rows take the L1 penalty lazily, test_sparse_l1_...).
    monkeypatch.setattr(plan_module, "SPARSE_INTERCEPT_DECAY", 1.0)
    X, y = data
    labels = np.digitize(y, np.quantile(y, [0.2, 0.5, 0.7]))
    params = dict(params)
    sw = np.random.default_rng(1).uniform(0.5, 2.0, len(y)) if params.pop(
        "sample_weight", False) else None
    kw = dict(FAST, loss="log_loss", multi_class="multinomial", learning_rate="constant",
              eta0=0.01, **params)
    dense = SGDClassifier(**kw).fit(X, labels, sample_weight=sw)
    sparse = SGDClassifier(**kw).fit(sp.csr_matrix(X), labels, sample_weight=sw)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-10, atol=1e-13)
    assert_same_losses(sparse, dense, "l2")


@pytest.mark.parametrize("params", [dict(), dict(penalty="l1", alpha=0.01)])
def test_plain_multi_output_on_csr_is_each_single_fit(data, params):
    X, y = data
    X = sp.csr_matrix(X)
    Y = np.column_stack([y, -2.0 * y + 1.0, np.sin(y)])
    joint = SGDRegressor(**FAST, **params).fit(X, Y)
    for t in range(3):
        alone = SGDRegressor(**FAST, **params).fit(X, Y[:, t])
        np.testing.assert_allclose(joint.coef_[t], alone.coef_, rtol=1e-13, atol=1e-15)


def test_intercept_decay_is_the_only_difference(data, monkeypatch):
    X, y = data
    dense = SGDRegressor(**FAST).fit(X, y)
    sparse = SGDRegressor(**FAST).fit(sp.csr_matrix(X), y)
    # scikit-learn's sparse intercept decay (0.01) slows the intercept down...
    assert abs(sparse.intercept_[0] - dense.intercept_[0]) > 1e-6
    # ...and with it set to 1 the two agree
    monkeypatch.setattr(plan_module, "SPARSE_INTERCEPT_DECAY", 1.0)
    sparse = SGDRegressor(**FAST).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-10)


@pytest.mark.parametrize("params", [
    dict(optimizer="adam"), dict(optimizer="momentum", batch_size=16),
    dict(optimizer="rmsprop", batch_size=None, learning_rate="constant"),
    dict(optimizer="adagrad", penalty="l1"), dict(optimizer="adadelta", eta0=1.0),
    dict(optimizer=Adam(lr=0.01, amsgrad=True), average=True),
    dict(optimizer="adamw", batch_size=8, penalty="elasticnet"),
    dict(batch_size=32), dict(batch_size=None, learning_rate="constant", eta0=0.1),
])
def test_optimizers_sparse_equal_dense(data, params):
    # sparse_update="dense": the update rules act on every coordinate, as for
    # dense rows (exact); mini-batches and averaging always do.
    X, y = data
    dense = SGDRegressor(**FAST, **params).fit(X, y)
    sparse = SGDRegressor(**FAST, **params, sparse_update="dense").fit(
        sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_sparse_l1_reaches_the_same_objective(data, penalty):
    # On CSR rows the cumulative L1 penalty reaches a coordinate when a row
    # touches it, after that row's gradient step (as in scikit-learn), where
    # dense rows apply it at every step: the iterates differ where weights are
    # clipped at zero, the objective they reach does not.
    X, y = data
    alpha, l1_ratio = 0.01, 0.5
    params = dict(penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, fit_intercept=False,
                  max_iter=200, tol=None, random_state=0, learning_rate="invscaling",
                  eta0=0.02, power_t=0.5)
    r = 1.0 if penalty == "l1" else l1_ratio

    def objective(coef):
        res = X @ coef - y
        return (0.5 * np.mean(res**2)
                + alpha * (r * np.abs(coef).sum() + 0.5 * (1 - r) * coef @ coef))

    dense = SGDRegressor(**params).fit(X, y)
    sparse = SGDRegressor(**params).fit(sp.csr_matrix(X), y)
    assert objective(sparse.coef_) == pytest.approx(objective(dense.coef_), rel=1e-4)
    assert (sparse.coef_ == 0).sum() > 0


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "csr_array"])
def test_formats_are_converted_and_untouched(data, fmt):
    X, y = data
    Xs = sp.csr_array(X) if fmt == "csr_array" else getattr(sp, f"{fmt}_matrix")(X)
    before = Xs.copy()
    model = SGDRegressor(**FAST).fit(Xs, y)
    np.testing.assert_allclose(model.predict(Xs), model.predict(X), rtol=1e-12)
    assert (Xs != before).nnz == 0


@pytest.mark.parametrize("estimator, params", [
    (SGDRegressor, dict()),
    (SGDRegressor, dict(optimizer="adam")),
    (SGDClassifier, dict()),
    (SGDClassifier, dict(loss="log_loss", multi_class="multinomial")),
])
def test_int64_indices_fit_as_int32_ones(data, estimator, params):
    # SciPy gives large or stacked matrices int64 indices; the kernels read
    # 32-bit ones: the same fit, bit for bit, the caller's X as it was
    # (scikit-learn refuses any int64 index array, with a message naming its
    # own issue tracker)
    X, y = data
    if estimator is SGDClassifier:
        y = np.digitize(y, [-1.0, 1.0])      # 3 classes
    X32 = sp.csr_matrix(X)
    X64 = X32.copy()
    X64.indices, X64.indptr = X64.indices.astype(np.int64), X64.indptr.astype(np.int64)
    want = estimator(**FAST, **params).fit(X32, y)
    got = estimator(**FAST, **params).fit(X64, y)
    assert got.coef_.tobytes() == want.coef_.tobytes()
    assert X64.indices.dtype == np.int64 and X64.indptr.dtype == np.int64
    np.testing.assert_array_equal(got.predict(X64), want.predict(X32))


@pytest.mark.parametrize("estimator", [SGDRegressor, SGDClassifier])
def test_columns_beyond_32_bit_indices_are_refused(estimator):
    wide = sp.csr_matrix((np.ones(2), np.array([0, 2**31 + 5], dtype=np.int64),
                          np.array([0, 1, 2], dtype=np.int64)), shape=(2, 2**31 + 10))
    with pytest.raises(ValueError, match=r"32-bit integers, at most 2\*\*31 - 1"):
        estimator().fit(wide, [0, 1])


def test_sparse_reaches_ridge_optimum(data):
    X, y = data
    n, alpha = X.shape[0], 0.01
    ridge = Ridge(alpha=n * alpha, fit_intercept=False).fit(X, y)

    def objective(coef):
        r = X @ coef - y
        return 0.5 * np.mean(r**2) + 0.5 * alpha * coef @ coef

    model = SGDRegressor(alpha=alpha, fit_intercept=False, batch_size=None,
                         learning_rate="constant", eta0=0.5, max_iter=3000,
                         tol=None).fit(sp.csr_matrix(X), y)
    assert objective(model.coef_) / objective(ridge.coef_) - 1 < 1e-8


# -- lazy per-sample steps of the update rules (sparse_update="lazy") ---------
@pytest.mark.parametrize("params", [
    dict(optimizer=SGD(lr=0.01)),
    dict(optimizer=SGD(lr=0.01), penalty="elasticnet", alpha=0.01),
    dict(optimizer=SGD(lr=0.05), penalty="l1", alpha=0.01, learning_rate="constant"),
    dict(optimizer=SGD(lr=0.02), penalty="l2", alpha=0.1, loss="huber"),
    dict(optimizer="momentum", penalty=None, learning_rate="constant"),
    dict(optimizer="nesterov", penalty=None, learning_rate="adaptive"),
    dict(optimizer=SGD(lr=0.01, momentum=0.5, dampening=0.3), penalty=None,
         learning_rate="constant"),
    dict(optimizer=RMSprop(lr=0.01), penalty=None),
    dict(optimizer=RMSprop(lr=0.01, centered=True), penalty=None, alpha=0.0),
    dict(optimizer=Adadelta(lr=1.0), penalty=None),
    dict(optimizer="adagrad", penalty="l1", alpha=0.01),
    dict(optimizer=Adagrad(lr=0.1, lr_decay=0.01), penalty=None),
    # accumulator restarts: mom^k and (1 - lr alpha)^k reach 1e-150 within the fit
    dict(optimizer=SGD(lr=0.01, momentum=0.3), penalty=None, learning_rate="constant"),
    dict(optimizer=SGD(lr=0.5), penalty="l2", alpha=1.0, learning_rate="constant"),
    # lr alpha = 1: a step that zeroes the coefs runs densely
    dict(optimizer=SGD(lr=0.1), penalty="l2", alpha=10.0, learning_rate="constant"),
])
@pytest.mark.parametrize("targets", [1, 2])
def test_lazy_exact_rules_equal_dense(data, params, targets):
    # Where the skipped steps have a closed form, touching only a row's
    # coordinates gives the dense iterates (1e-10).
    X, y = data
    Y = y if targets == 1 else np.column_stack([y, -2.0 * y + 1.0])
    kw = dict(FAST, sparse_update="lazy", **params)
    dense = SGDRegressor(**kw).fit(X, Y)
    lazy = SGDRegressor(**kw).fit(sp.csr_matrix(X), Y)
    np.testing.assert_allclose(lazy.coef_, dense.coef_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(lazy.intercept_, dense.intercept_, rtol=1e-10,
                               atol=1e-13)
    assert lazy.loss_curve_ == pytest.approx(dense.loss_curve_, rel=1e-10)


@pytest.mark.parametrize("params", [
    dict(optimizer="adam"), dict(optimizer="momentum", penalty="l2")])
def test_lazy_approximate_rules_differ_from_dense(data, params):
    # The frozen-state rules are an approximation: other iterates (the test
    # above would catch an exact rule routed here by mistake, this one an
    # approximate rule taken for exact).
    X, y = data
    kw = dict(FAST, **params)
    dense = SGDRegressor(**kw).fit(X, y)
    lazy = SGDRegressor(**kw).fit(sp.csr_matrix(X), y)
    assert np.abs(lazy.coef_ - dense.coef_).max() > 1e-6


@pytest.fixture(scope="module")
def sparse_problem():
    rng = np.random.default_rng(1)
    n, d = 400, 30
    X = rng.standard_normal((n, d))
    X[rng.random(X.shape) < 0.8] = 0.0                # 80 % zeros
    coef = np.where(np.arange(d) < 10, rng.standard_normal(d), 0.0)
    y = X @ coef + 0.1 * rng.standard_normal(n)
    return X, y


LAZY_OPTIMIZERS = [
    ("momentum", 0.01), ("nesterov", 0.01), ("adagrad", 0.1),
    (RMSprop(lr=0.001, alpha=0.999), None), (RMSprop(lr=0.001, momentum=0.5), None),
    (Adadelta(lr=1.0, rho=0.999), None), ("adam", 0.01), ("amsgrad", 0.01),
]


@pytest.mark.parametrize("optimizer,eta0", LAZY_OPTIMIZERS,
                         ids=lambda v: getattr(v, "__name__", str(v)))
@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_lazy_reaches_the_same_optimum(sparse_problem, optimizer, eta0, penalty):
    # Every optimizer, lazy on CSR rows, reaches the ridge (closed form) or
    # lasso (scikit-learn) optimum as closely as on dense rows, with Lasso's
    # zeros for L1.
    X, y = sparse_problem
    n, alpha = X.shape[0], 0.02
    if penalty == "l2":
        best = np.linalg.solve(X.T @ X / n + alpha * np.eye(X.shape[1]), X.T @ y / n)
    else:
        best = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12,
                    max_iter=100_000).fit(X, y).coef_

    def objective(coef):
        return ref.objective(X, y, coef, 0.0, penalty, alpha)

    kw = dict(optimizer=optimizer, alpha=alpha, penalty=penalty, fit_intercept=False,
              learning_rate="adaptive", max_iter=1000, tol=1e-7, n_iter_no_change=10,
              random_state=0, sparse_update="lazy")
    if eta0 is not None:
        kw["eta0"] = eta0
    lazy = SGDRegressor(**kw).fit(sp.csr_matrix(X), y)
    dense = SGDRegressor(**kw).fit(X, y)
    gap = objective(lazy.coef_) / objective(best) - 1
    dense_gap = objective(dense.coef_) / objective(best) - 1
    assert 0 <= gap < max(2e-5, 2 * dense_gap)
    if penalty == "l2":
        assert gap < 2e-5
    else:
        # per-sample noise leaves small coefs on either side of zero, lazy or
        # not; the prox gives exact zeros, on about as many of Lasso's
        assert gap < 1e-2

        def hits(coef):
            return ((coef == 0) & (best == 0)).sum()

        assert hits(lazy.coef_) >= min(hits(dense.coef_) - 3, 5)


def test_lazy_adamw_reaches_least_squares_and_lasso(sparse_problem):
    # AdamW's L2 is decoupled decay (no ridge optimum); without it, and with
    # the L1 prox, it minimises the same objectives as the others.
    X, y = sparse_problem
    lstsq = np.linalg.lstsq(X, y, rcond=None)[0]
    kw = dict(optimizer=AdamW(lr=0.01, weight_decay=0.0), fit_intercept=False,
              learning_rate="adaptive", max_iter=1000, tol=1e-7, n_iter_no_change=10,
              random_state=0)
    free = SGDRegressor(penalty=None, **kw).fit(sp.csr_matrix(X), y)
    r_free, r_ref = X @ free.coef_ - y, X @ lstsq - y
    assert r_free @ r_free / (r_ref @ r_ref) - 1 < 2e-5
    lasso = Lasso(alpha=0.02, fit_intercept=False, tol=1e-12).fit(X, y)
    l1 = SGDRegressor(penalty="l1", alpha=0.02, **kw).fit(sp.csr_matrix(X), y)

    assert (ref.objective(X, y, l1.coef_, 0.0, "l1", 0.02)
            / ref.objective(X, y, lasso.coef_, 0.0, "l1", 0.02) - 1 < 1e-4)
    assert ((l1.coef_ == 0) & (lasso.coef_ == 0)).sum() >= 0.5 * (lasso.coef_ == 0).sum()


def test_lazy_is_the_default_for_sparse_per_sample_rules(data):
    X, y = data
    kw = dict(FAST, optimizer="adam")
    auto = SGDRegressor(**kw).fit(sp.csr_matrix(X), y)
    lazy = SGDRegressor(**kw, sparse_update="lazy").fit(sp.csr_matrix(X), y)
    assert auto.coef_.tobytes() == lazy.coef_.tobytes()
    # with averaging, "auto" updates every coefficient (the average reads them all)
    avg = dict(kw, average=True)
    auto = SGDRegressor(**avg).fit(sp.csr_matrix(X), y)
    dense = SGDRegressor(**avg).fit(X, y)
    np.testing.assert_allclose(auto.coef_, dense.coef_, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("params", [dict(average=True), dict(average=10),
                                    dict(batch_size=8), dict(batch_size=None)])
def test_lazy_refuses_dense_modes(data, params):
    X, y = data
    with pytest.raises(ValueError, match="sparse_update='lazy'"):
        SGDRegressor(optimizer="adam", sparse_update="lazy", **params).fit(
            sp.csr_matrix(X), y)


def test_duplicate_entries_are_summed(data):
    # A CSR matrix with repeated (row, column) entries means their sum, as in
    # X @ w; the caller's matrix keeps its duplicates.
    X, y = data
    csr = sp.csr_matrix(X)
    halves = sp.csr_matrix((np.repeat(csr.data / 2, 2), np.repeat(csr.indices, 2),
                            csr.indptr * 2), shape=X.shape)
    assert not halves.has_canonical_format
    before = (halves.data.copy(), halves.indices.copy())
    for params in (dict(optimizer="adam"), dict(optimizer="adam", sparse_update="dense"),
                   dict(), dict(batch_size=4)):
        summed = SGDRegressor(**FAST, **params).fit(csr, y)
        dup = SGDRegressor(**FAST, **params).fit(halves, y)
        np.testing.assert_allclose(dup.coef_, summed.coef_, rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(halves.data, before[0])
    np.testing.assert_array_equal(halves.indices, before[1])


def test_lazy_adam_is_torch_sparse_adam(data):
    # Without a penalty the frozen-state approximation is exactly torch's
    # SparseAdam (moments of the row's coordinates only, global step count),
    # up to where eps sits: SparseAdam adds it to sqrt(v), Adam to
    # sqrt(v) / sqrt(1 - beta2^t); with a tiny eps both are the same rule.
    torch = require("torch")
    X, y = data
    csr = sp.csr_matrix(X)
    lr, eps, epochs = 0.01, 1e-30, 2
    model = SGDRegressor(optimizer=Adam(lr=lr, eps=eps), penalty=None,
                         fit_intercept=False, learning_rate="constant", shuffle=False,
                         max_iter=epochs, tol=None, scale_targets=False).fit(csr, y)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SparseAdam([w], lr=lr, eps=eps)
    for _ in range(epochs):
        for i in range(X.shape[0]):
            cols = csr.indices[csr.indptr[i]:csr.indptr[i + 1]]
            x = torch.from_numpy(csr.data[csr.indptr[i]:csr.indptr[i + 1]])
            with torch.no_grad():
                dloss = float(x @ w[cols]) - y[i]
            w.grad = torch.sparse_coo_tensor(
                torch.from_numpy(cols.astype(np.int64))[None], dloss * x,
                (X.shape[1],))
            opt.step()
    np.testing.assert_allclose(model.coef_, w.detach().numpy(), rtol=1e-10, atol=1e-13)


def test_max_row_norm_of_csr_rows():
    # the curvature bound of the "optimal" schedule's first step: the squared
    # norms of the rows, as X.multiply(X) sums them (empty rows, duplicates)
    rng = np.random.default_rng(5)
    X = sp.random(40, 7, density=0.2, format="csr", random_state=1)
    X[[0, 13, 39]] = 0.0                          # empty rows, first and last too
    X.eliminate_zeros()
    dup = sp.csr_matrix((np.array([1.0, 2.0, 3.0]), np.array([2, 2, 5]),
                         np.array([0, 3] + [3] * 40)), shape=(41, 7))
    assert not dup.has_canonical_format
    for M in (X, dup):
        sw = rng.random(M.shape[0])
        for fit_intercept in (True, False):
            for weights in (None, sw):
                reference = (np.asarray(M.multiply(M).sum(axis=1)).ravel()
                             + float(fit_intercept))
                if weights is not None:
                    reference = reference * weights
                got = plan_module.max_row_norm(M, weights, fit_intercept)
                assert got == pytest.approx(reference.max(), rel=1e-14)
    assert plan_module.max_row_norm(sp.csr_matrix((3, 4)), None, False) == 1.0


@pytest.mark.parametrize("estimator", [SGDRegressor, SGDClassifier])
def test_csr_with_spare_storage_is_left_as_it_was(estimator):
    # reproduced: arrays longer than the stored values (spare storage after
    # the last row) were trimmed in the caller's matrix by SciPy's check
    X = sp.random(50, 10, density=0.3, format="csr", random_state=0)
    spare = X.copy()
    spare.data = np.r_[X.data, 9.0, 9.0]
    spare.indices = np.r_[X.indices, 0, 0].astype(X.indices.dtype)
    data, indices = spare.data, spare.indices
    y = np.arange(50.0) > 25
    model = estimator(max_iter=3, tol=None, random_state=0).fit(spare, y)
    assert spare.data is data and spare.indices is indices and len(spare.data) == 152
    reference = estimator(max_iter=3, tol=None, random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.coef_, reference.coef_)


@pytest.mark.parametrize("estimator", [SGDRegressor, SGDClassifier])
def test_predict_refuses_a_malformed_csr(estimator):
    # reproduced: an out-of-range column index in predict's X gave a wrong
    # answer or crashed the interpreter (SciPy's product reads it unchecked)
    X = sp.random(50, 10, density=0.3, format="csr", random_state=0)
    model = estimator(max_iter=3, tol=None, random_state=0).fit(X, np.arange(50.0) > 25)
    bad = X.copy()
    bad.indices = bad.indices.copy()
    bad.indices[3] = 10**6
    for method in ("predict", "decision_function", "score"):
        if hasattr(model, method):
            with pytest.raises(ValueError, match="indices must be < 10"):
                getattr(model, method)(*((bad, np.arange(50.0) > 25) if method == "score"
                                         else (bad,)))


@pytest.mark.parametrize("params", [dict(optimizer="adam"),
                                    dict(optimizer="adam", batch_size=16),
                                    dict(optimizer="adagrad"),
                                    dict(optimizer="rmsprop", batch_size=16)])
def test_auto_step_reads_duplicates_summed(data, params):
    # reproduced: each entry stored as three parts that cancel (X equal to
    # its summed form) changed eta0="auto" of the adaptive rules, whose
    # scale is the mean L1 norm of a row: fits 1e-3 to 1e-2 apart
    X, y = data
    A = sp.csr_matrix(X)
    A.sort_indices()
    # each stored entry v as v, 2 v, -2 v, next to each other in its row
    parts = sp.csr_matrix((np.repeat(A.data, 3) * np.tile([1.0, 2.0, -2.0], A.nnz),
                           np.repeat(A.indices, 3), A.indptr * 3), shape=A.shape)
    parts.has_canonical_format = False
    np.testing.assert_allclose(parts.toarray(), A.toarray(), atol=1e-12)
    summed = SGDRegressor(random_state=0, max_iter=20, tol=None, **params).fit(A, y)
    stored = SGDRegressor(random_state=0, max_iter=20, tol=None, **params).fit(parts, y)
    np.testing.assert_allclose(stored.coef_, summed.coef_, rtol=1e-12, atol=1e-12)
