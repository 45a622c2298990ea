"""Tests of descent.optim: the update rules against NumPy references written
from torch.optim's documented pseudo-code, against torch.optim itself, and the
optimizer API (state, errors, scikit-learn parameter protocol)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from _require import require
from descent.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop

N_STEPS = 200
DIM = 6


# ---------------------------------------------------------------------------
# Reference implementations, written from the pseudo-code of the torch.optim
# documentation (https://pytorch.org/docs/stable/optim.html, 2.x). Each is a
# closure over its own state: ref = make_ref(**hyper); ref(theta, g, t) returns
# the new theta (t is the 1-based step number).

def ref_sgd(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    b = None

    def step(theta, g, t):
        nonlocal b
        if weight_decay != 0:
            g = g + weight_decay * theta
        if momentum != 0:
            if t > 1:
                b = momentum * b + (1 - dampening) * g
            else:
                b = g.copy()            # first buffer: the raw gradient
            if nesterov:
                g = g + momentum * b
            else:
                g = b
        return theta - lr * g

    return step


def ref_adagrad(lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                initial_accumulator_value=0.0, eps=1e-10):
    state_sum = None

    def step(theta, g, t):
        nonlocal state_sum
        if state_sum is None:
            state_sum = np.full_like(theta, initial_accumulator_value)
        lr_t = lr / (1 + (t - 1) * lr_decay)
        if weight_decay != 0:
            g = g + weight_decay * theta
        state_sum = state_sum + g * g
        return theta - lr_t * g / (np.sqrt(state_sum) + eps)

    return step


def ref_rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False):
    v = b = g_ave = None

    def step(theta, g, t):
        nonlocal v, b, g_ave
        if v is None:
            v = np.zeros_like(theta)
            b = np.zeros_like(theta)
            g_ave = np.zeros_like(theta)
        if weight_decay != 0:
            g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g * g
        v_tilde = v
        if centered:
            g_ave = alpha * g_ave + (1 - alpha) * g
            v_tilde = v_tilde - g_ave * g_ave
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            return theta - lr * b
        return theta - lr * g / (np.sqrt(v_tilde) + eps)

    return step


def ref_adadelta(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    v = u = None

    def step(theta, g, t):
        nonlocal v, u
        if v is None:
            v = np.zeros_like(theta)
            u = np.zeros_like(theta)
        if weight_decay != 0:
            g = g + weight_decay * theta
        v = v * rho + g * g * (1 - rho)
        dx = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = u * rho + dx * dx * (1 - rho)
        return theta - lr * dx

    return step


def _ref_adam(lr, betas, eps, weight_decay, amsgrad, decoupled):
    beta1, beta2 = betas
    m = v = v_max = None

    def step(theta, g, t):
        nonlocal m, v, v_max
        if m is None:
            m = np.zeros_like(theta)
            v = np.zeros_like(theta)
            v_max = np.zeros_like(theta)
        if decoupled:
            theta = theta - lr * weight_decay * theta
        elif weight_decay != 0:
            g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - beta2 ** t)
        else:
            v_hat = v / (1 - beta2 ** t)
        return theta - lr * m_hat / (np.sqrt(v_hat) + eps)

    return step


def ref_adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             decoupled_weight_decay=False):
    return _ref_adam(lr, betas, eps, weight_decay, amsgrad, decoupled=decoupled_weight_decay)


def ref_adamw(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
    return _ref_adam(lr, betas, eps, weight_decay, amsgrad, decoupled=True)


REFS = {SGD: ref_sgd, Adagrad: ref_adagrad, RMSprop: ref_rmsprop,
        Adadelta: ref_adadelta, Adam: ref_adam, AdamW: ref_adamw}

# (optimizer class, hyper-parameters). Learning rates keep the noisy
# quadratic below stable; several eps values are large so that where eps
# enters the formula shows.
CASES = [
    (SGD, dict(lr=0.05)),
    (SGD, dict(lr=0.02, momentum=0.9)),
    (SGD, dict(lr=0.02, momentum=0.8, dampening=0.3)),
    (SGD, dict(lr=0.02, momentum=0.9, nesterov=True)),
    (SGD, dict(lr=0.05, weight_decay=0.1)),
    (SGD, dict(lr=0.02, momentum=0.7, dampening=0.1, weight_decay=0.05)),
    (Adagrad, dict(lr=0.1)),
    (Adagrad, dict(lr=0.1, lr_decay=0.05)),
    (Adagrad, dict(lr=0.1, initial_accumulator_value=0.5)),
    (Adagrad, dict(lr=0.1, weight_decay=0.2, eps=1e-3)),
    (Adagrad, dict(lr=0.2, lr_decay=0.01, initial_accumulator_value=0.1,
                   weight_decay=0.05, eps=0.01)),
    (RMSprop, dict(lr=0.01)),
    (RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-3)),
    (RMSprop, dict(lr=0.01, centered=True)),
    (RMSprop, dict(lr=0.005, momentum=0.9)),
    (RMSprop, dict(lr=0.005, alpha=0.95, momentum=0.5, centered=True, eps=1e-2)),
    (RMSprop, dict(lr=0.01, weight_decay=0.1)),
    (Adadelta, dict()),
    (Adadelta, dict(lr=1.0, weight_decay=0.1)),
    (Adadelta, dict(lr=0.5, rho=0.5, eps=1e-3)),
    (Adadelta, dict(lr=2.0, rho=0.99)),
    (Adam, dict(lr=0.01)),
    (Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-2)),
    (Adam, dict(lr=0.01, amsgrad=True)),
    (Adam, dict(lr=0.01, weight_decay=0.1)),
    (Adam, dict(lr=0.02, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.05, amsgrad=True)),
    (Adam, dict(lr=0.01, weight_decay=0.3, decoupled_weight_decay=True)),
    (Adam, dict(lr=0.02, weight_decay=0.1, amsgrad=True, decoupled_weight_decay=True)),
    (AdamW, dict(lr=0.01)),
    (AdamW, dict(lr=0.01, weight_decay=0.3, betas=(0.85, 0.995), eps=1e-3)),
    (AdamW, dict(lr=0.01, amsgrad=True)),
    (AdamW, dict(lr=0.02, weight_decay=0.1, amsgrad=True, betas=(0.3, 0.7))),
]


def case_id(case):
    cls, kw = case
    return cls.__name__ + "-" + ",".join(f"{k}={v}" for k, v in kw.items())


CASE_IDS = [case_id(c) for c in CASES]


def problem(seed=0, dim=DIM, n_steps=N_STEPS):
    """A noisy quadratic: start point, gradient g_k(p) = A p + noise_k."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((dim, dim))
    A = M @ M.T / dim + 0.1 * np.eye(dim)
    A /= np.linalg.eigvalsh(A).max()           # eigenvalues in (0, 1]
    noise = 0.3 * rng.standard_normal((n_steps, dim))
    p0 = rng.standard_normal(dim)
    return p0, lambda p, k: A @ p + noise[k]


def run_descent(opt, p0, grad_fn, n_steps=N_STEPS):
    p = p0.copy()
    path = []
    for k in range(n_steps):
        opt.step(p, grad_fn(p, k))
        path.append(p.copy())
    return np.array(path)


# ---------------------------------------------------------------------------
# 1. The rules against the NumPy references.

@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_matches_reference(case):
    cls, kw = case
    p0, grad_fn = problem()
    got = run_descent(cls(**kw), p0, grad_fn)
    ref = REFS[cls](**kw)
    theta = p0.copy()
    expected = []
    for k in range(N_STEPS):
        theta = ref(theta, grad_fn(theta, k), k + 1)
        expected.append(theta)
    expected = np.array(expected)
    assert np.isfinite(expected).all()
    # the problem is non-trivial: the parameters moved
    assert np.abs(expected[-1] - p0).max() > 1e-2
    assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_defaults_are_torchs():
    # torch.optim 2.x defaults, from its documentation.
    assert SGD().get_params() == dict(lr=1e-3, momentum=0, dampening=0,
                                      weight_decay=0, nesterov=False)
    assert Adagrad().get_params() == dict(lr=1e-2, lr_decay=0, weight_decay=0,
                                          initial_accumulator_value=0, eps=1e-10)
    assert RMSprop().get_params() == dict(lr=1e-2, alpha=0.99, eps=1e-8,
                                          weight_decay=0, momentum=0, centered=False)
    assert Adadelta().get_params() == dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0)
    assert Adam().get_params() == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                                       weight_decay=0, amsgrad=False,
                                       decoupled_weight_decay=False)
    assert AdamW().get_params() == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                                        weight_decay=1e-2, amsgrad=False)


@pytest.mark.parametrize("cls", list(REFS), ids=lambda c: c.__name__)
def test_default_hyperparameters_match_reference(cls):
    p0, grad_fn = problem(seed=3, n_steps=50)
    got = run_descent(cls(), p0, grad_fn, n_steps=50)
    ref = REFS[cls]()
    theta = p0.copy()
    for k in range(50):
        theta = ref(theta, grad_fn(theta, k), k + 1)
    assert_allclose(got[-1], theta, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------
# 2. Against torch.optim itself.

@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_matches_torch(case):
    torch = require("torch")
    cls, kw = case
    p0, grad_fn = problem(seed=1)
    got = run_descent(cls(**kw), p0, grad_fn)

    tkw = dict(kw)
    if "betas" in tkw:
        tkw["betas"] = tuple(tkw["betas"])
    t = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    topt = getattr(torch.optim, cls.__name__)([t], foreach=False, **tkw)
    expected = []
    for k in range(N_STEPS):
        g = grad_fn(t.detach().numpy().copy(), k)
        t.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
        expected.append(t.detach().numpy().copy())
    expected = np.array(expected)
    assert_allclose(got, expected, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("cls", list(REFS), ids=lambda c: c.__name__)
def test_defaults_match_torch_signature(cls):
    torch = require("torch")
    import inspect

    sig = inspect.signature(getattr(torch.optim, cls.__name__).__init__)
    for name, value in cls().get_params().items():
        default = sig.parameters[name].default
        if isinstance(default, tuple):
            assert tuple(value) == default, name
        else:
            assert value == default, name


# ---------------------------------------------------------------------------
# 3. State: state_dict round trip, reset.

@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_state_dict_round_trip(case):
    cls, kw = case
    p0, grad_fn = problem(seed=2, n_steps=100)
    opt = cls(**kw)
    p = p0.copy()
    for k in range(50):
        opt.step(p, grad_fn(p, k))
    saved = opt.state_dict()
    p_saved = p.copy()
    assert saved["step"] == 50 and opt.n_steps == 50
    for k in range(50, 100):
        opt.step(p, grad_fn(p, k))

    fresh = cls(lr=123.0)      # different hyper-parameters: loaded from the dict
    fresh.load_state_dict(saved)
    assert fresh.n_steps == 50
    assert fresh.get_params() == opt.get_params()
    q = p_saved.copy()
    for k in range(50, 100):
        fresh.step(q, grad_fn(q, k))
    assert_array_equal(q, p)
    assert fresh.n_steps == opt.n_steps == 100


def test_state_dict_is_a_copy():
    p0, grad_fn = problem(seed=4)
    opt = Adam(lr=0.01)
    p = p0.copy()
    for k in range(5):
        opt.step(p, grad_fn(p, k))
    saved = opt.state_dict()
    before = saved["state"].copy()
    opt.step(p, grad_fn(p, 5))
    assert_array_equal(saved["state"], before)


def test_state_dict_before_any_step():
    d = RMSprop(lr=0.5).state_dict()
    fresh = RMSprop().load_state_dict(d)
    assert fresh.lr == 0.5 and fresh.n_steps == 0
    p0, grad_fn = problem(seed=5, n_steps=10)
    a, b = p0.copy(), p0.copy()
    ref = RMSprop(lr=0.5)
    for k in range(10):
        fresh.step(a, grad_fn(a, k))
        ref.step(b, grad_fn(b, k))
    assert_array_equal(a, b)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_reset(case):
    cls, kw = case
    p0, grad_fn = problem(seed=6, n_steps=30)
    opt = cls(**kw)
    p = p0.copy()
    for k in range(20):
        opt.step(p, grad_fn(p, k))
    assert opt.reset() is opt
    assert opt.n_steps == 0
    assert opt.state_dict()["state"] is None
    start = p.copy()
    for k in range(20, 30):
        opt.step(p, grad_fn(p, k))
    fresh = cls(**kw)
    q = start.copy()
    for k in range(20, 30):
        fresh.step(q, grad_fn(q, k))
    assert_array_equal(p, q)
    assert opt.n_steps == 10


def test_reset_allows_new_shape():
    opt = Adam()
    opt.step(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError):
        opt.step(np.zeros(4), np.ones(4))
    opt.reset()
    p = np.zeros(4)
    opt.step(p, np.ones(4))
    assert opt.n_steps == 1


def test_n_steps_counts():
    opt = SGD(lr=0.1)
    assert opt.n_steps == 0
    p = np.ones(2)
    for _ in range(7):
        opt.step(p, p)
    assert opt.n_steps == 7


# ---------------------------------------------------------------------------
# 4. Errors and the treatment of the gradient.

ALL_DEFAULT = [SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW]


@pytest.mark.parametrize("cls", ALL_DEFAULT, ids=lambda c: c.__name__)
def test_params_type_errors(cls):
    opt = cls()
    with pytest.raises(ValueError, match=r"float64 or float32 numpy\.ndarray"):
        opt.step(np.ones(3, dtype=np.float16), np.ones(3))
    with pytest.raises(ValueError):
        opt.step(np.ones(3, dtype=np.int64), np.ones(3))
    with pytest.raises(ValueError):
        opt.step([1.0, 2.0, 3.0], np.ones(3))
    f = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError):
        opt.step(f, np.ones((2, 3)))
    assert_array_equal(f, np.arange(6.0).reshape(2, 3))
    strided = np.arange(6.0)[::2]
    with pytest.raises(ValueError):
        opt.step(strided, np.ones(3))
    ro = np.ones(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError):
        opt.step(ro, np.ones(3))
    assert_array_equal(ro, np.ones(3))
    assert opt.n_steps == 0


@pytest.mark.parametrize("cls", ALL_DEFAULT, ids=lambda c: c.__name__)
def test_grad_errors_leave_everything_unchanged(cls):
    opt = cls(lr=0.1)
    p = np.arange(1.0, 5.0)
    opt.step(p, np.ones(4))
    state = opt.state_dict()
    p_before = p.copy()
    for bad in ([np.nan, 0, 0, 0], [0, np.inf, 0, 0], [0, 0, -np.inf, 0],
                np.ones(3), np.ones(5), np.ones((4, 1)), np.ones((2, 2)),
                np.array(["a", "b", "c", "d"])):
        with pytest.raises(ValueError):
            opt.step(p, bad)
        assert_array_equal(p, p_before)
        assert opt.n_steps == 1
        assert_array_equal(opt.state_dict()["state"], state["state"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_bad_value_anywhere_is_found_before_anything_is_written(dtype):
    # kernel/optim_pass.pxd scans every array before the pass writes: eight
    # doubles an iteration (SSE2), a vectorised loop for float32, then a
    # scalar tail. A bad value is put in each part of those loops (first and
    # last element, the last of a vector iteration, a page from the end), for
    # sizes below, at and past one iteration, and the step must change nothing.
    big = 1e16 if dtype == np.float32 else 1e151    # past each dtype's bound
    cases = [("grad", np.nan, "grad contains NaN or infinity"),
             ("grad", -np.inf, "grad contains NaN or infinity"),
             ("grad", big, "above 1e"),
             ("params", np.nan, "params contains NaN or infinity"),
             ("params", np.inf, "params contains NaN or infinity")]
    page = 4096 // np.dtype(dtype).itemsize
    for n in (1, 15, 16, 17, 33, page - 1, page + 8, 3 * page + 5):
        positions = {0, n // 2, n - 1, max(n - page - 1, 0), n - page, (n // 16) * 16 - 1}
        for pos in sorted(p for p in positions if 0 <= p < n):
            for where, value, message in cases:
                opt = Adam(lr=0.1)
                p = np.linspace(-1, 1, n).astype(dtype)
                opt.step(p, np.ones(n, dtype=dtype))
                state, p_before = opt.state_dict()["state"].copy(), p.copy()
                g = np.full(n, 0.5, dtype=dtype)
                (g if where == "grad" else p)[pos] = value
                with pytest.raises(ValueError, match=message):
                    opt.step(p, g)
                if where == "params":
                    p_before[pos] = value
                assert_array_equal(p, p_before, err_msg=f"n={n} pos={pos} {where}={value}")
                assert_array_equal(opt.state_dict()["state"], state)
                assert opt.n_steps == 1


@pytest.mark.parametrize("cls", ALL_DEFAULT, ids=lambda c: c.__name__)
def test_shape_change_between_steps(cls):
    opt = cls()
    opt.step(np.zeros((2, 3)), np.ones((2, 3)))
    for shape in [(3, 2), (6,), (2, 4)]:
        p = np.zeros(shape)
        with pytest.raises(ValueError):
            opt.step(p, np.ones(shape))
        assert_array_equal(p, 0.0)
    assert opt.n_steps == 1


@pytest.mark.parametrize("opt", [
    SGD(lr=-0.1), Adagrad(lr=-1.0), RMSprop(lr=-1e-3), Adadelta(lr=-1.0),
    Adam(lr=-1e-3), AdamW(lr=-1e-3),
    SGD(lr=0.1, nesterov=True), SGD(lr=0.1, momentum=0.0, nesterov=True),
    SGD(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
    SGD(lr=0.1, momentum=-0.5), SGD(lr=0.1, weight_decay=-1.0),
    Adagrad(eps=-1.0), Adagrad(lr_decay=-0.1), Adagrad(initial_accumulator_value=-1.0),
    RMSprop(alpha=-0.1), RMSprop(momentum=-0.1), RMSprop(eps=-1e-8),
    Adadelta(rho=-0.1), Adadelta(rho=1.5),
    Adam(betas=(1.0, 0.999)), Adam(betas=(0.9, 1.0)), Adam(betas=(-0.1, 0.999)),
    Adam(betas=(0.9, -0.5)), Adam(betas=(0.9,)), AdamW(betas=(1.1, 0.9)),
    Adam(eps=-1e-8), AdamW(weight_decay=-0.01),
    SGD(lr=float("nan")), Adam(lr=float("inf")), Adam(lr="0.1"),
], ids=repr)
def test_invalid_hyperparameters_raise_at_first_step(opt):
    p = np.ones(3)
    with pytest.raises(ValueError):
        opt.step(p, np.ones(3))
    assert_array_equal(p, 1.0)
    assert opt.n_steps == 0


def test_invalid_hyperparameters_do_not_raise_at_construction():
    SGD(lr=-1.0)
    SGD(nesterov=True)
    Adam(betas=(2.0, 2.0))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_grad_is_not_modified(case):
    cls, kw = case
    rng = np.random.default_rng(7)
    opt = cls(**kw)
    p = rng.standard_normal((3, 4))
    for _ in range(5):
        g = rng.standard_normal((3, 4))
        g_copy = g.copy()
        opt.step(p, g)
        assert_array_equal(g, g_copy)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_grad_forms(case):
    # list, float32, read-only and non-contiguous gradients give the same
    # result as the float64 array of the same values.
    cls, kw = case
    rng = np.random.default_rng(8)
    p0 = rng.standard_normal(5)
    grads = rng.standard_normal((6, 5)).astype(np.float32).astype(np.float64)

    def run(convert):
        opt = cls(**kw)
        p = p0.copy()
        for g in grads:
            opt.step(p, convert(g.copy()))
        return p

    expected = run(lambda g: g)

    def read_only(g):
        g.flags.writeable = False
        return g

    def read_only_f32(g):
        g = g.astype(np.float32)
        g.flags.writeable = False
        return g

    for convert in (list, lambda g: g.astype(np.float32), read_only, read_only_f32,
                    lambda g: np.repeat(g, 2)[::2], tuple):
        assert_array_equal(run(convert), expected)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_grad_may_alias_params(case):
    # opt.step(p, p) -- the gradient of |p|^2 / 2 is p itself -- must update as
    # if the gradient had been copied first (torch reads the whole gradient
    # before it changes the parameter). eps=1 makes Adam's step depend on the
    # gradient's scale.
    cls, kw = case
    kw = dict(kw, eps=1.0) if "eps" in cls().get_params() else kw
    a, b = cls(**kw), cls(**kw)
    p = np.array([1.0, -2.0, 3.0, 0.5])
    q = p.copy()
    for _ in range(5):
        a.step(p, p)
        b.step(q, q.copy())
    assert_allclose(p, q, rtol=1e-14, atol=0)


def test_adadelta_rho_one_is_allowed():
    # torch.optim.Adadelta accepts 0 <= rho <= 1. With rho = 1 the averages
    # never move from 0, so delta = sqrt(eps) / sqrt(eps) * g = g.
    opt = Adadelta(lr=0.5, rho=1.0)
    p = np.array([1.0, 2.0])
    opt.step(p, np.array([1.0, -1.0]))
    p0, grad_fn = problem(seed=13, n_steps=20)
    got = run_descent(Adadelta(lr=0.5, rho=1.0), p0, grad_fn, n_steps=20)
    ref = ref_adadelta(lr=0.5, rho=1.0)
    theta = p0.copy()
    for k in range(20):
        theta = ref(theta, grad_fn(theta, k), k + 1)
    assert_allclose(got[-1], theta, rtol=1e-12)


def test_integer_grad_accepted():
    p, q = np.zeros(3), np.zeros(3)
    SGD(lr=0.5).step(p, np.array([1, 2, 3]))
    SGD(lr=0.5).step(q, np.array([1.0, 2.0, 3.0]))
    assert_array_equal(p, q)


@pytest.mark.parametrize("cls", ALL_DEFAULT, ids=lambda c: c.__name__)
def test_step_is_in_place_and_returns_params(cls):
    p = np.ones(4)
    view = p[:]
    out = cls(lr=0.1).step(p, np.ones(4))
    assert out is p
    assert not np.all(view == 1.0)


# ---------------------------------------------------------------------------
# 5. scikit-learn parameter protocol; shapes.

def test_clone_keeps_params_and_drops_state():
    opt = Adam(lr=0.1, betas=(0.8, 0.9))
    p = np.ones(3)
    for _ in range(3):
        opt.step(p, p)
    c = clone(opt)
    assert c is not opt
    assert type(c) is Adam
    assert c.get_params() == dict(lr=0.1, betas=(0.8, 0.9), eps=1e-8,
                                  weight_decay=0.0, amsgrad=False,
                                  decoupled_weight_decay=False)
    assert c.n_steps == 0
    assert c.state_dict()["state"] is None
    # the clone starts afresh, even with a differently shaped array
    q = np.ones((2, 2))
    c.step(q, q)
    assert c.n_steps == 1
    ref = Adam(lr=0.1, betas=(0.8, 0.9))
    r = np.ones((2, 2))
    ref.step(r, r)
    assert_array_equal(q, r)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_clone_every_case(case):
    cls, kw = case
    c = clone(cls(**kw))
    assert type(c) is cls
    params = cls(**kw).get_params()
    assert c.get_params() == params
    for k, v in kw.items():
        assert params[k] == v


def test_get_set_params():
    opt = SGD(lr=0.1)
    assert opt.get_params()["lr"] == 0.1
    assert opt.set_params(lr=0.5, momentum=0.9) is opt
    assert opt.lr == 0.5 and opt.momentum == 0.9
    with pytest.raises(ValueError):
        opt.set_params(not_a_param=1)
    # the new values are used
    p0, grad_fn = problem(seed=9, n_steps=20)
    got = run_descent(opt, p0, grad_fn, n_steps=20)
    ref = ref_sgd(lr=0.5, momentum=0.9)
    theta = p0.copy()
    for k in range(20):
        theta = ref(theta, grad_fn(theta, k), k + 1)
    assert_allclose(got[-1], theta, rtol=1e-12)


def test_set_params_lr_between_steps():
    # lr is read at every step (schedules change it)
    p0, grad_fn = problem(seed=10, n_steps=20)
    opt = Adam(lr=0.01)
    p = p0.copy()
    for k in range(10):
        opt.step(p, grad_fn(p, k))
    opt.set_params(lr=0.001)
    for k in range(10, 20):
        opt.step(p, grad_fn(p, k))
    # reference: Adam's state does not depend on lr, so replay with lr switched
    m = v = np.zeros(DIM)
    theta = p0.copy()
    for k in range(20):
        lr = 0.01 if k < 10 else 0.001
        g = grad_fn(theta, k)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        t = k + 1
        theta = theta - lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    assert_allclose(p, theta, rtol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_2d_params_equal_ravel(case):
    cls, kw = case
    rng = np.random.default_rng(11)
    P0 = rng.standard_normal((4, 3))
    grads = rng.standard_normal((15, 4, 3))
    A = rng.standard_normal((12, 12)) / 12
    a, b = cls(**kw), cls(**kw)
    P = P0.copy()
    flat = P0.ravel().copy()
    for G in grads:
        a.step(P, G + (A @ P.ravel()).reshape(4, 3))
        b.step(flat, G.ravel() + A @ flat)
    assert P.shape == (4, 3)
    assert_array_equal(P.ravel(), flat)


def test_3d_and_scalar_like_params():
    p = np.ones((2, 2, 2))
    opt = SGD(lr=0.5)
    opt.step(p, np.full((2, 2, 2), 2.0))
    assert_array_equal(p, 0.0)
    s = np.array([3.0])
    SGD(lr=1.0).step(s, [1.0])
    assert_array_equal(s, [2.0])


def test_zero_d_params():
    p = np.array(3.0)
    SGD(lr=1.0).step(p, 1.0)
    assert p.shape == () and float(p) == 2.0


def test_empty_params():
    p = np.zeros(0)
    opt = Adam()
    opt.step(p, np.zeros(0))
    assert opt.n_steps == 1


def test_two_optimizers_are_independent():
    p0, grad_fn = problem(seed=12, n_steps=20)
    a, b = Adam(lr=0.01), Adam(lr=0.01)
    p, q = p0.copy(), p0.copy()
    for k in range(20):
        a.step(p, grad_fn(p, k))
        if k % 2 == 0:
            b.step(q, grad_fn(q, k))
    assert a.n_steps == 20 and b.n_steps == 10
    fresh = Adam(lr=0.01)
    r = p0.copy()
    for k in range(20):
        fresh.step(r, grad_fn(r, k))
    assert_array_equal(p, r)


def test_a_state_dict_of_another_class_is_named_as_such():
    # reproduced: "Invalid parameter 'amsgrad' for estimator SGD()" (set_params's)
    w = np.ones(3)
    adam = Adam()
    adam.step(w, w)
    sgd = SGD(lr=0.5)
    with pytest.raises(ValueError, match=r"saved from another optimizer class"):
        sgd.load_state_dict(adam.state_dict())
    assert sgd.lr == 0.5 and sgd.n_steps == 0


def test_decoupled_adam_is_adamw():
    # torch.optim.Adam(decoupled_weight_decay=True) is AdamW's rule
    p0, grad_fn = problem(seed=4, n_steps=40)
    a = run_descent(Adam(lr=0.01, weight_decay=0.2, decoupled_weight_decay=True), p0,
                    grad_fn, n_steps=40)
    b = run_descent(AdamW(lr=0.01, weight_decay=0.2), p0, grad_fn, n_steps=40)
    assert_array_equal(a, b)


def test_a_torch_state_dict_is_refused_clearly():
    # reproduced: KeyError "'maximize' is not a hyper-parameter of Adam"
    torch = require("torch")
    t = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adam([t])
    t.grad = torch.ones(2, dtype=torch.float64)
    topt.step()
    w = np.zeros(2)
    opt = Adam([w])
    with pytest.raises(ValueError, match=r"not hyper-parameters of Adam.*torch"):
        opt.load_state_dict(topt.state_dict())
    assert opt.param_groups[0]["lr"] == 1e-3      # nothing changed
