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


def load_plot_example(name):
    """A plot_* example run with the Agg backend (nothing written: the PNG is
    saved only when the file runs as a script)."""
    from _require import require

    require("matplotlib").use("Agg")
    return load_example(name)


def test_plot_optimizers_every_default_fits():
    # every optimizer's defaults, in every batch mode, end within 1 % of the
    # exact ridge optimum of standardized diabetes (0.81 % at most when
    # written: per-sample adadelta)
    import matplotlib.pyplot as plt

    m = load_plot_example("plot_optimizers")
    try:
        assert m.best == m.optimum(*m.load())
        for mode, by_name in m.fits.items():
            assert list(by_name) == list(m.OPTIMIZERS)
            for name, (est, _, _) in by_name.items():
                gap = (m.objective(m.X, m.y, est.coef_, est.intercept_[0]) - m.best) / m.best
                assert 0 <= gap < 0.01, (mode, name, gap)
        axes = m.fig.axes
        assert len(axes) == 3
        for ax, by_name in zip(axes, m.fits.values()):
            lines = ax.get_lines()
            assert len(lines) == len(m.OPTIMIZERS) + 1          # + the optimum
            for line, (est, _, _) in zip(lines, by_name.values()):
                np.testing.assert_array_equal(line.get_ydata(), est.loss_curve_)
    finally:
        plt.close("all")


def test_plot_lr_find_suggestions_fit():
    import matplotlib.pyplot as plt

    m = load_plot_example("plot_lr_find")
    try:
        for name, result in m.results.items():
            assert result.diverged
            est = m.fit_with(result, m.CASES[name], m.X, m.y)
            assert 0 <= m.ridge_gap(m.X, m.y, est) < 1e-3, name
        assert len(m.fig.axes) == 3
    finally:
        plt.close("all")
