"""The examples run and do what they say (on a small setting)."""

import importlib.util
import pathlib

import numpy as np

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mlp_backprop_gradients_are_the_loss_derivatives():
    # backward() against central differences of the mean cross-entropy
    m = load_example("mlp_backprop")
    rng = np.random.default_rng(0)
    X, y = rng.random((7, 5)), rng.integers(0, 10, 7)
    Y = np.eye(10)[y]
    params = list(m.init_params(5, 4, 10, rng))
    params[2] += 0.1                       # keep the ReLUs away from their kink

    def loss():
        return -np.mean(np.log(m.forward(X, *params)[1][Y == 1]))

    H, P = m.forward(X, *params)
    grads = m.backward(X, Y, H, P, params[1])
    for p, g in zip(params, grads):
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + 1e-6
            up = loss()
            p[i] = old - 1e-6
            numeric[i] = (up - loss()) / 2e-6
            p[i] = old
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-8)


def test_mlp_backprop_clip_global_norm():
    m = load_example("mlp_backprop")
    grads = [np.full(3, 2.0), np.full((2, 2), 2.0)]      # norm sqrt(7 * 4)
    assert np.isclose(m.clip_global_norm(grads, 1.0), np.sqrt(28.0))
    assert np.isclose(np.sqrt(sum((g ** 2).sum() for g in grads)), 1.0)


def test_mlp_backprop_five_epochs():
    # 5 epochs on digits: at least 88 % held-out accuracy (0.920 when written),
    # within 5 points of MLPClassifier at the same epochs
    rows = load_example("mlp_backprop").run(epochs=5)
    ours, sklearn = rows[0]["accuracy"], rows[1]["accuracy"]
    assert ours >= 0.88
    assert abs(ours - sklearn) <= 0.05
