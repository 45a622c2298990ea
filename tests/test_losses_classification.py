"""The classification losses of the kernels (kernel/losses.pxd) against
NumPy transcriptions of scikit-learn's definitions, through the py_*
wrappers, and their exp and log1p (kernel/elementary.pxd) against NumPy and
long double; the softmax cross-entropy against a log-sum-exp transcription,
at logits of +-1e4 too; and the first full-batch steps of SGDClassifier
against gradient steps computed here."""

import numpy as np
import pytest
from scipy.special import expit
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

from descent import SGDClassifier
from descent import _kernels as K

# decision values: the margins' edges (y p = -1, 0, 1), the log-loss
# branches of the kernel (-37, 0, 18) and beyond, and extremes
EDGES = np.array([-1e4, -800.0, -40.0, -37.0, -36.9, -18.0, -2.0, -1.999, -1.0, -0.5,
                  -1e-300, 0.0, 1e-300, 0.5, 1.0, 1.5, 2.0, 17.9, 18.0, 18.1, 30.0, 37.0,
                  40.0, 800.0, 1e4])
RNG = np.random.default_rng(0)
P = np.r_[EDGES, RNG.normal(scale=3.0, size=200)]


def numpy_loss(kind, y, p):
    """(loss, d loss / d p) of scikit-learn's classification losses, y in {-1, +1}."""
    z = y * p
    if kind in ("hinge", "perceptron"):
        threshold = 1.0 if kind == "hinge" else 0.0
        return np.maximum(0.0, threshold - z), np.where(z <= threshold, -y, 0.0)
    if kind == "squared_hinge":
        r = 1.0 - z
        return np.where(r > 0, r * r, 0.0), np.where(r > 0, -2.0 * y * r, 0.0)
    if kind == "modified_huber":
        loss = np.where(z >= 1.0, 0.0, np.where(z >= -1.0, (1.0 - z) ** 2, -4.0 * z))
        dloss = np.where(z >= 1.0, 0.0, np.where(z >= -1.0, -2.0 * (1.0 - z) * y, -4.0 * y))
        return loss, dloss
    if kind == "log_loss":
        # log(1 + exp(-y p)) without cancellation; its derivative -y expit(-y p)
        return np.logaddexp(0.0, -z), -y * expit(-z)
    raise AssertionError(kind)


CODES = {"hinge": ("HINGE", 1.0), "perceptron": ("HINGE", 0.0),
         "squared_hinge": ("SQUARED_HINGE", 1.0), "modified_huber": ("MODIFIED_HUBER", 0.0),
         "log_loss": ("LOG_LOSS", 0.0)}


@pytest.mark.parametrize("kind", list(CODES))
@pytest.mark.parametrize("label", [-1.0, 1.0])
def test_binary_loss_and_derivative(kind, label):
    name, threshold = CODES[kind]
    y = np.full(P.shape, label)
    value, deriv = numpy_loss(kind, y, P)
    got_value = K.py_loss(K.Loss[name], y, P, threshold)
    got_deriv = K.py_dloss(K.Loss[name], y, P, threshold)
    assert np.isfinite(got_value).all() and np.isfinite(got_deriv).all()
    # the log-loss's tail 18 < y p <= 37 is e^-(y p), within e^-(y p) / 2 < 1e-8
    # relatively of log1p(e^-(y p)): 1e-16 absolutely (scikit-learn's
    # log1pexp(p) - p there cancels to 1e-15 absolutely)
    np.testing.assert_allclose(got_value, value, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(got_deriv, deriv, rtol=1e-13, atol=1e-300)


def test_log_loss_keeps_its_digits_in_the_tails():
    # log(1 + e^-p) for large p is e^-p (1 - e^-p / 2 + ...): the kernel keeps
    # its leading digits (no cancellation to 0 or to the ulp of p)
    p = np.array([18.5, 20.0, 30.0, 36.0, 40.0, 700.0])
    y = np.ones_like(p)
    exact = np.exp(-p) * (1 - np.exp(-p) / 2)
    for label in (1.0, -1.0):
        got = K.py_loss(K.Loss.LOG_LOSS, label * y, label * p, 0.0)
        np.testing.assert_allclose(got, exact, rtol=1e-8)


def test_log1p_of_the_log_loss_is_within_two_ulp():
    # the log-loss's own log1p (log1p_unit, vectorised in the epoch loops)
    # against NumPy's on [0, 1]: both sides of its switch at 1/2, the ends,
    # subnormals, and the exponentials the loss feeds it
    a = np.r_[0.0, 5e-324, 1e-310, 1e-300, 2.0**-60, 1e-17, 1e-8,
              np.nextafter(0.5, 0.0), 0.5, np.nextafter(0.5, 1.0), np.nextafter(1.0, 0.0),
              1.0, RNG.uniform(0.0, 1.0, 100_000), np.exp(-RNG.uniform(0.0, 40.0, 100_000))]
    got, want = K.py_log1p_unit(a), np.log1p(a)
    ulps = np.abs(got - want) / np.spacing(np.maximum(want, 5e-324))
    assert ulps.max() <= 2.0, (a[ulps.argmax()], ulps.max())
    assert got[0] == 0.0 and got[1] == 5e-324
    with pytest.raises(ValueError, match="0 <= a <= 1"):
        K.py_log1p_unit(np.array([1.5]))



def test_exp_of_the_losses_is_within_0_8_ulp():
    # the losses' own exp (exp_nonpositive: the log-loss's e^-|p|, the
    # softmax's e^(z - max z), vectorised over the targets) against long
    # double (64-bit significand on x86-64, so its rounding is ~1/2048 ulp of
    # a double): the reduction's ends (|r| near ln 2 / 2, where it was 1.03
    # ulp off before it carried its roundings), the whole range down to
    # ln(DBL_MIN), where it turns 0 (below: subnormal, which an epoch
    # flushes), and NaN
    k = RNG.integers(0, 1021, 300_000)
    ends = -(k + 0.5) * np.log(2) + RNG.uniform(-0.01, 0.01, k.size)
    x = -np.r_[0.0, 5e-324, 1e-300, 1e-17, 1e-8, np.log(2) / 2, np.log(2) * 1.5, 1.0, 37.0,
               708.0, 708.3964185322641, RNG.uniform(0.0, 1.0, 100_000),
               RNG.uniform(0.0, 40.0, 100_000), RNG.uniform(0.0, 708.39, 100_000),
               -ends[ends > -708.39]]
    got = K.py_exp_nonpositive(x)
    if np.finfo(np.longdouble).nmant < 63:
        pytest.skip("long double is not the x87 extended format here")
    want = np.exp(x.astype(np.longdouble))
    ulps = np.abs((got - want) / np.spacing(want.astype(float)))
    assert ulps.max() < 0.8, (x[ulps.argmax()], ulps.max())
    assert got[0] == 1.0 and got[1] == 1.0
    edge = K.py_exp_nonpositive(np.array([-708.4, -745.2, -1e308, -np.inf, np.nan]))
    np.testing.assert_array_equal(edge[:4], 0.0)
    assert np.isnan(edge[4])
    with pytest.raises(ValueError, match="x <= 0"):
        K.py_exp_nonpositive(np.array([0.5]))

# -- the softmax cross-entropy ----------------------------------------------------
def numpy_softmax_loss(y, z):
    """-sum_k y_k log softmax(z)_k = logsumexp(z) sum(y) - y . z, and its
    gradient softmax(z) sum(y) - y, with the log-sum-exp shift."""
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    total = e.sum(axis=1, keepdims=True)
    ysum = y.sum(axis=1, keepdims=True)
    # the shift m cancels: log(sum e^(z-m)) sum(y) - y . (z - m) keeps the
    # digits that m + log(...) would round away at |m| = 1e4
    loss = (np.log(total) * ysum - np.sum(y * (z - m), axis=1, keepdims=True))[:, 0]
    return loss, e / total * ysum - y


def _softmax_cases():
    n, k = 60, 4
    z = RNG.normal(scale=4.0, size=(n, k))
    z[:6] = [[1e4, -1e4, 0.0, 5.0], [-1e4, -1e4, -1e4, -1e4], [1e4, 1e4, -1e4, 0.0],
             [-1e4, 1e4, 1e4 - 1.0, 0.0], [800.0, -800.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]
    y = np.zeros((n, k))
    y[np.arange(n), RNG.integers(0, k, size=n)] = 1.0
    y[1] = [0.0, 1.0, 0.0, 0.0]
    y[0] = [0.0, 1.0, 0.0, 0.0]        # the label's logit is -1e4, the largest +1e4
    return y, z


def test_softmax_loss_and_gradient():
    y, z = _softmax_cases()
    z_before = z.copy()
    loss, grad = K.py_softmax_loss(y, z)
    np.testing.assert_array_equal(z, z_before)        # the wrapper works on a copy
    ref_loss, ref_grad = numpy_softmax_loss(y, z)
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-13, atol=1e-15)
    # the extremes, by hand
    assert loss[0] == 2e4                  # log-sum-exp = 1e4, minus the label's -1e4
    np.testing.assert_array_equal(grad[0], [1.0, -1.0, 0.0, 0.0])
    assert loss[1] == pytest.approx(np.log(4.0), rel=1e-15)    # equal logits: uniform
    np.testing.assert_allclose(grad[1], [0.25, -0.75, 0.25, 0.25], rtol=1e-15)
    assert loss[5] == pytest.approx(np.log(4.0), rel=1e-15)


def test_softmax_weighted_targets():
    # a non-one-hot y (the kernel's sum(y) factor): the cross-entropy is linear in y
    _, z = _softmax_cases()
    y = RNG.uniform(0.0, 2.0, size=z.shape)
    loss, grad = K.py_softmax_loss(y, z)
    ref_loss, ref_grad = numpy_softmax_loss(y, z)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-14)


def test_softmax_wrapper_checks_shapes():
    with pytest.raises(ValueError, match="same shape"):
        K.py_softmax_loss(np.zeros((3, 2)), np.zeros((3, 3)))


# -- the first full-batch gradient steps of the classifier ------------------------
@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def numpy_steps(X, y, sw, n_steps, eta, alpha, multinomial, class_weight):
    """Full-batch gradient descent on mean_i w_i loss_i + 0.5 alpha ||W||^2
    from W = 0, b = 0 (the objective's mean is over n, not sum(w))."""
    n, K_ = X.shape[0], 3
    onehot = np.eye(K_)[y]
    cw = np.array([class_weight[k] for k in range(K_)])
    W, b = np.zeros((K_, X.shape[1])), np.zeros(K_)
    for _ in range(n_steps):
        Z = X @ W.T + b
        if multinomial:
            # class weights multiply the sample weights
            D = (_softmax(Z) - onehot) * (sw * cw[y])[:, None]
        else:
            # one-vs-rest log-loss: y = +-1, class k's weight on its positives
            D = (expit(Z) - onehot) * sw[:, None] * np.where(onehot == 1, cw, 1.0)
        gW = D.T @ X / n + alpha * W
        gb = D.sum(axis=0) / n
        W, b = W - eta * gW, b - eta * gb
    return W, b


@pytest.mark.parametrize("multinomial", [True, False], ids=["multinomial", "ovr"])
@pytest.mark.parametrize("n_steps,penalty", [(1, None), (3, "l2")])
@pytest.mark.parametrize("weighted", [False, True])
def test_full_batch_steps_are_gradient_steps(iris, multinomial, n_steps, penalty, weighted):
    X, y = iris
    alpha, eta = 0.05, 0.1
    sw = np.linspace(0.2, 3.0, len(y)) if weighted else np.ones(len(y))
    cw = {0: 2.0, 1: 1.0, 2: 0.5} if weighted else {0: 1.0, 1: 1.0, 2: 1.0}
    est = SGDClassifier(loss="log_loss", multi_class="multinomial" if multinomial else "ovr",
                        optimizer="sgd", batch_size=None, learning_rate="constant",
                        eta0=eta, max_iter=n_steps, tol=None, penalty=penalty,
                        alpha=alpha, class_weight=cw if weighted else None)
    est.fit(X, y, sample_weight=sw if weighted else None)
    W, b = numpy_steps(X, y, sw, n_steps, eta, alpha if penalty else 0.0, multinomial, cw)
    np.testing.assert_allclose(est.coef_, W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(est.intercept_, b, rtol=1e-12, atol=1e-14)
    if n_steps == 1 and multinomial:
        # -eta * grad from zero: softmax(0) = 1/3
        onehot = np.eye(3)[y]
        wy = sw * np.array([cw[k] for k in y])
        expected = -eta * ((1 / 3 - onehot) * wy[:, None]).T @ X / len(y)
        np.testing.assert_allclose(est.coef_, expected, rtol=1e-12, atol=1e-15)
        # the objective before the step: mean_i w_i log 3
        assert est.loss_curve_[0] == pytest.approx(np.mean(wy) * np.log(3), rel=1e-12)
