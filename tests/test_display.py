"""descent.LossCurveDisplay: a fitted model's loss_curve_ and, with early
stopping, validation_loss_curve_, drawn in one call (Agg backend)."""

from __future__ import annotations

import doctest
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

import descent
from _require import require
from descent import _display

matplotlib = require("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_training_and_validation_curves(data):
    X, y = data
    est = descent.SGDRegressor(optimizer="adam", early_stopping=True, random_state=0).fit(X, y)
    display = descent.LossCurveDisplay.from_estimator(est)
    epochs = np.arange(1, est.n_iter_ + 1)
    np.testing.assert_array_equal(display.line_.get_xdata(), epochs)
    np.testing.assert_array_equal(display.line_.get_ydata(), est.loss_curve_)
    np.testing.assert_array_equal(display.validation_line_.get_xdata(), epochs)
    np.testing.assert_array_equal(display.validation_line_.get_ydata(),
                                  est.validation_loss_curve_)
    assert display.validation_line_.get_linestyle() == "--"
    assert display.validation_line_.get_color() == display.line_.get_color()
    assert display.ax_.get_lines() == [display.line_, display.validation_line_]
    assert display.figure_ is display.ax_.figure
    assert (display.ax_.get_xlabel(), display.ax_.get_ylabel()) == ("epoch", "loss")
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["training objective", "validation loss"]


def test_without_early_stopping_one_line(data):
    X, y = data
    est = descent.SGDRegressor(batch_size=None, max_iter=20, tol=None).fit(X, y)
    display = descent.LossCurveDisplay.from_estimator(est, name="full batch")
    assert display.validation_line_ is None
    assert len(display.ax_.get_lines()) == 1
    np.testing.assert_array_equal(display.line_.get_ydata(), est.loss_curve_)
    assert [t.get_text() for t in display.ax_.get_legend().get_texts()] == ["full batch"]


def test_several_models_on_one_axes(data):
    X, y = data
    _, ax = plt.subplots()
    models = {name: descent.SGDRegressor(optimizer=name, early_stopping=True,
                                         random_state=0).fit(X, y)
              for name in ("sgd", "adam")}
    for name, est in models.items():
        display = descent.LossCurveDisplay.from_estimator(est, ax=ax, name=name)
        assert display.ax_ is ax
    assert len(ax.get_lines()) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "sgd: training", "sgd: validation", "adam: training", "adam: validation"]
    colors = [line.get_color() for line in ax.get_lines()]
    assert colors[0] == colors[1] != colors[2] == colors[3]


def test_plot_from_arrays_and_keywords():
    display = descent.LossCurveDisplay(loss_curve=[3.0, 2.0, 1.5],
                                       validation_loss_curve=[3.5, 2.5, 2.4], name="m")
    assert display.plot(line_kwargs={"color": "red", "label": "train"},
                        validation_line_kwargs={"linestyle": ":"}) is display
    assert display.line_.get_color() == "red"
    assert display.line_.get_label() == "train"
    assert display.validation_line_.get_linestyle() == ":"
    assert display.validation_line_.get_label() == "m: validation"
    # plot again, elsewhere, under another name
    _, ax = plt.subplots()
    display.plot(ax=ax, name="other")
    assert display.ax_ is ax and display.line_.get_label() == "other: training"
    # an empty validation curve (early stopping off) draws nothing
    single = descent.LossCurveDisplay(loss_curve=[1.0, 0.5], validation_loss_curve=[]).plot()
    assert single.validation_line_ is None


def test_not_fitted():
    with pytest.raises(NotFittedError):
        descent.LossCurveDisplay.from_estimator(descent.SGDRegressor())


def test_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)   # import fails
    with pytest.raises(ImportError, match=r"descent\[plot\]"):
        descent.LossCurveDisplay(loss_curve=[1.0]).plot()


def test_docstring_examples_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outcome = doctest.testmod(_display, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert outcome.failed == 0 and outcome.attempted > 0
