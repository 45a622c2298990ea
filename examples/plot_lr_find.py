"""
Choosing eta0 with the learning-rate range test
===============================================

:func:`descent.lr_find` (Smith 2017) trains a copy of the estimator while the
step grows geometrically from 1e-6 to 10, measures the training objective after
each step size, and stops once it explodes. Its suggestion is the step size of
the smoothed objective's minimum, divided by 10.

Here on scikit-learn's diabetes data (features and target standardized) for
per-sample SGD, per-sample Adam and full-batch gradient descent; each
suggestion is then used for a fit, compared with the exact (ridge) optimum.

``python examples/plot_lr_find.py`` prints the table and writes
``docs/images/lr_find.png``.
"""

# %%
# The range tests
# ---------------

from __future__ import annotations

import pathlib
import sys

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import StandardScaler

import descent

ALPHA = 1e-4
CASES = {
    "per-sample SGD": dict(optimizer="sgd"),
    "per-sample Adam": dict(optimizer="adam"),
    "full-batch gradient descent": dict(optimizer="sgd", batch_size=None),
}


def load():
    """Standardized diabetes: (X, y)."""
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


X, y = load()
results = {name: descent.lr_find(descent.SGDRegressor(random_state=0, **params), X, y)
           for name, params in CASES.items()}

# %%
# The suggestions, fitted
# -----------------------
# A fit with the suggested ``eta0`` and the schedule the test measured
# (``learning_rate="constant"``). With per-sample steps a constant step ends
# in a noise band around the optimum; averaging the iterates (``average=True``)
# removes it. ``tol=None`` runs a fixed number of epochs.


def ridge_gap(X, y, est):
    """How far the fit's objective is above the exact ridge optimum, relative."""
    def objective(coef, intercept):
        r = y - X @ coef - intercept
        return 0.5 * np.mean(r * r) + 0.5 * ALPHA * coef @ coef

    Xc, yc = X - X.mean(0), y - y.mean()
    n, d = X.shape
    coef = np.linalg.solve(Xc.T @ Xc / n + ALPHA * np.eye(d), Xc.T @ yc / n)
    best = objective(coef, y.mean() - X.mean(0) @ coef)
    return (objective(est.coef_, est.intercept_[0]) - best) / best


def fit_with(result, params, X, y, epochs=500):
    """The model fitted with the suggested eta0."""
    stochastic = params.get("batch_size", 1) is not None
    est = descent.SGDRegressor(random_state=0, eta0=result.suggested_eta0,
                               learning_rate="constant", tol=None,
                               max_iter=epochs if stochastic else 2 * epochs,
                               average=stochastic, **params)
    return est.fit(X, y)


print("| model | tried | objective lowest at | suggested eta0 | fit above the optimum |")
print("|---|---:|---:|---:|---:|")
for name, result in results.items():
    est = fit_with(result, CASES[name], X, y)
    print(f"| {name} | {len(result.lrs)} | {result.lr_min:.3g} | "
          f"{result.suggested_eta0:.3g} | {ridge_gap(X, y, est):.1e} |")

# %%
# The curves
# ----------
# ``LRFindResult.plot`` draws the objective after each step size (thin), its
# moving average (bold), the minimum (dotted) and the suggestion (dashed). The
# full-batch curve keeps falling past the stable steps (``2 / L``, about 0.5
# here) before it explodes: the instability needs a few steps to grow back from
# a direction that had already converged. The factor 10 is for that.


def plot(results):
    fig, axes = plt.subplots(1, len(results), figsize=(14, 4.4), layout="constrained")
    for ax, (name, result) in zip(axes, results.items()):
        result.plot(ax=ax)
        ax.set_title(name)
        ax.legend(fontsize="small")
    fig.suptitle("descent.lr_find on standardized diabetes")
    return fig


fig = plot(results)

# %%
# ``python examples/plot_lr_find.py`` saves the picture the README shows
# (sphinx-gallery keeps its own copy of the figure).

if __name__ == "__main__" and "sphinx_gallery" not in sys.modules:
    out = pathlib.Path(__file__).resolve().parent.parent / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "lr_find.png", dpi=100)
    print(f"wrote {out / 'lr_find.png'}")
