"""Defaults that fit: every optimizer in every batch mode, with eta0 and
learning_rate left at "auto", on two real tables (scikit-learn's diabetes,
the Palmer penguins' body mass), with targets standardized and in thousands
with an offset, scores within 0.01 R^2 of the exact ridge optimum on held-out
rows. (The defaults were chosen on these tables: descent._plan.DEFAULTS.)"""

import warnings

import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from _require import require
from descent import SGDRegressor
from descent.optim import OPTIMIZER_NAMES


def tables():
    X, y = load_diabetes(return_X_y=True)
    out = {"diabetes": (X, y)}
    penguins = require("palmerpenguins").load_penguins().dropna()
    out["penguins"] = (penguins[["bill_length_mm", "bill_depth_mm",
                                 "flipper_length_mm"]].to_numpy(),
                       penguins["body_mass_g"].to_numpy())
    return out


@pytest.fixture(scope="module")
def splits():
    out = {}
    for name, (X, y) in tables().items():
        for scale in ("standardized", "thousands"):
            t = ((y - y.mean()) / y.std() if scale == "standardized"
                 else 1000.0 * (y - y.mean()) / y.std() + 5000.0)
            Xtr, Xte, ytr, yte = train_test_split(X, t, test_size=0.25, random_state=0)
            ridge = make_pipeline(StandardScaler(), Ridge(alpha=1e-4 * len(ytr)))
            out[name, scale] = (Xtr, Xte, ytr, yte, ridge.fit(Xtr, ytr).score(Xte, yte))
    return out


@pytest.mark.parametrize("scale", ["standardized", "thousands"])
@pytest.mark.parametrize("table", ["diabetes", "penguins"])
@pytest.mark.parametrize("batch_size", [1, 32, None], ids=["sample", "batch32", "full"])
@pytest.mark.parametrize("optimizer", OPTIMIZER_NAMES)
def test_defaults_reach_ridge_on_held_out_rows(splits, optimizer, batch_size, table, scale):
    Xtr, Xte, ytr, yte, best = splits[table, scale]
    model = make_pipeline(StandardScaler(),
                          SGDRegressor(optimizer=optimizer, batch_size=batch_size,
                                       random_state=0))
    with warnings.catch_warnings():
        # (per-sample Adadelta has a noise floor above tol: it may say so)
        warnings.simplefilter("ignore" if optimizer == "adadelta" else "error")
        model.fit(Xtr, ytr)
    assert model.score(Xte, yte) > best - 0.01
