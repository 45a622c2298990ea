"""
Optimizers' loss curves on the diabetes data
============================================

Every optimizer of :class:`descent.SGDRegressor` with its defaults
(``eta0="auto"``, ``learning_rate="auto"``, ``tol=1e-3``) on scikit-learn's
diabetes data (442 patients, 10 features; features and target standardized),
per sample, in mini-batches of 32 and full batch. Each curve is a fit's
``loss_curve_`` drawn by :class:`descent.LossCurveDisplay`: the training
objective (mean squared error / 2 plus the L2 penalty) of each epoch, up to the
epoch where the fit stopped. The dashed line is the exact optimum, the
closed-form ridge solution of the same objective.

``python examples/plot_optimizers.py`` prints the table and writes
``docs/images/optimizers.png``.
"""

# %%
# The data and the exact optimum
# ------------------------------
# ``SGDRegressor`` minimises ``mean(0.5 * (y - X w - b)**2) + 0.5 * alpha *
# ||w||**2`` with ``alpha=1e-4``: ridge regression, whose minimiser solves a
# linear system once the columns are centred (the intercept is not penalised).

from __future__ import annotations

import pathlib
import sys
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import descent

ALPHA = 1e-4
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam",
              "amsgrad")
MODES = {"per sample (batch_size=1)": 1, "mini-batches of 32": 32,
         "full batch (batch_size=None)": None}


def load():
    """Standardized diabetes: (X, y)."""
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


def objective(X, y, coef, intercept):
    """The training objective descent minimises (squared error, L2)."""
    r = y - X @ coef - intercept
    return 0.5 * np.mean(r * r) + 0.5 * ALPHA * coef @ coef


def optimum(X, y):
    """The exact minimum of ``objective``."""
    Xc, yc = X - X.mean(0), y - y.mean()
    n, d = X.shape
    coef = np.linalg.solve(Xc.T @ Xc / n + ALPHA * np.eye(d), Xc.T @ yc / n)
    return objective(X, y, coef, y.mean() - X.mean(0) @ coef)


X, y = load()
best = optimum(X, y)
print(f"exact optimum of the training objective: {best:.6f}")

# %%
# Fit every optimizer in every batch mode
# ---------------------------------------
# All defaults; ``random_state=0`` for the order of the samples.


def fit_all(X, y, batch_size, optimizers=OPTIMIZERS):
    """{optimizer: (fitted model, seconds, whether it warned of convergence)}."""
    fits = {}
    for name in optimizers:
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est = descent.SGDRegressor(optimizer=name, batch_size=batch_size,
                                       random_state=0).fit(X, y)
        warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
        fits[name] = (est, time.perf_counter() - start, warned)
    return fits


fits = {mode: fit_all(X, y, batch_size) for mode, batch_size in MODES.items()}

print("| batch mode | optimizer | epochs | above the optimum | time |")
print("|---|---|---:|---:|---:|")
for mode, by_name in fits.items():
    for name, (est, seconds, warned) in by_name.items():
        gap = (objective(X, y, est.coef_, est.intercept_[0]) - best) / best
        note = " (ConvergenceWarning)" if warned else ""
        print(f"| {mode} | {name} | {est.n_iter_} | {gap:.2%}{note} | {seconds:.3f} s |")

# %%
# The loss curves
# ---------------
# One panel per batch mode, one :class:`descent.LossCurveDisplay` per
# optimizer on the panel's axes. The per-sample and mini-batch curves are the
# mean loss over each epoch's updates (each sample's loss before its update);
# the full-batch curve is the objective before each epoch's single step.


def plot(fits, best):
    """The figure: a panel per batch mode."""
    fig, axes = plt.subplots(1, len(fits), figsize=(14, 5), sharey=True,
                             layout="constrained")
    for ax, (mode, by_name) in zip(axes, fits.items()):
        for i, (name, (est, _, _)) in enumerate(by_name.items()):
            descent.LossCurveDisplay.from_estimator(
                est, ax=ax, name=name,
                line_kwargs={"color": f"C{i}", "linewidth": 1.4})
        ax.axhline(best, color="k", linestyle="--", linewidth=1, label="exact optimum")
        ax.set_xscale("log")
        ax.set_ylim(best * 0.995, best * 1.5)
        ax.set_title(mode)
        ax.set_ylabel("training objective" if ax is axes[0] else "")
        ax.get_legend().remove()          # one legend for the three panels
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center",
               ncols=len(OPTIMIZERS) + 1)
    fig.suptitle("descent.SGDRegressor with each optimizer's default step and schedule, "
                 "standardized diabetes")
    return fig


fig = plot(fits, best)

# %%
# ``python examples/plot_optimizers.py`` saves the picture the README shows
# (sphinx-gallery keeps its own copy of the figure, so the docs build does
# not write into the source tree).

if __name__ == "__main__" and "sphinx_gallery" not in sys.modules:
    out = pathlib.Path(__file__).resolve().parent.parent / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "optimizers.png", dpi=100)
    print(f"wrote {out / 'optimizers.png'}")
