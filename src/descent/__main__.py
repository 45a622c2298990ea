"""``python -m descent``: a first look at descent's accuracy and speed.

Fits descent's estimators and scikit-learn's with the same settings on data
that ship with scikit-learn (diabetes, breast cancer, digits; standardized)
and on a synthetic 200,000 x 100 regression, each split into training and
held-out rows, and prints one table: the held-out score of each, their fit
times, and descent's speed against a per-sample loop of the same algorithm
written in NumPy. Runs in well under a minute.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.special import expit
from sklearn import linear_model
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from . import SGDClassifier, SGDRegressor, show_config

COLUMNS = ("data", "task", "descent settings", "test score", "sklearn score",
           "epochs", "descent s", "sklearn s", "vs sklearn", "vs NumPy")
LEGEND = """\
test score     R^2 (regression) or accuracy (classification) on the 25 % held-out rows.
sklearn score  scikit-learn's SGDRegressor / SGDClassifier with the same settings
               ("-": scikit-learn has no such optimizer or mode).
epochs         the epochs each fit ran, descent / scikit-learn: descent stops only once
               the model is near stationary (or warns), scikit-learn on its loss alone.
descent s      seconds of descent's fit (the best of 3), all epochs its stopping rule ran.
sklearn s      the same for scikit-learn's fit (its own stopping rule, its epochs).
vs sklearn     sklearn s / descent s: how much faster descent's whole fit is.
vs NumPy       the time per sample of a NumPy loop of the same per-sample SGD step
               (invscaling squared loss, or optimal-schedule log loss) over descent's
               time per sample and epoch ("-": not a per-sample SGD row)."""


def numpy_sgd(X, y, rows, loss, alpha=1e-4):
    """ns per sample of one epoch over ``rows`` of scikit-learn's per-sample
    SGD written the way one would in NumPy (squared loss with invscaling, or
    log loss with the optimal schedule; L2)."""
    w, b, t = np.zeros(X.shape[1]), 0.0, 1.0
    t0 = 1.0 / (alpha * alpha ** -0.25)
    start = time.perf_counter()
    for i in rows:
        p = X[i] @ w + b
        if loss == "squared_error":
            eta, dloss = 0.01 / t ** 0.25, p - y[i]
        else:
            s = 1.0 if y[i] > 0 else -1.0
            eta, dloss = 1.0 / (alpha * (t0 + t - 1)), -s * expit(-s * p)
        w *= 1.0 - eta * alpha
        w -= eta * dloss * X[i]
        b -= eta * dloss
        t += 1
    return (time.perf_counter() - start) / len(rows) * 1e9


def best_of(make, X, y, repeats=3):
    seconds, model = np.inf, None
    for _ in range(repeats):
        model = make()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # scikit-learn's ConvergenceWarnings
            model.fit(X, y)
        seconds = min(seconds, time.perf_counter() - start)
    return model, seconds


def row(name, task, label, params, data, numpy_loss, repeats):
    X_train, X_test, y_train, y_test = data
    ours, theirs = ((SGDRegressor, linear_model.SGDRegressor) if task == "regression"
                    else (SGDClassifier, linear_model.SGDClassifier))
    model, seconds = best_of(lambda: ours(random_state=0, **params), X_train, y_train,
                             repeats)
    sk_params = {k: v for k, v in params.items() if k not in ("multi_class",)}
    per_sample_sgd = params.get("optimizer", "sgd") == "sgd" and \
        params.get("batch_size", 1) == 1 and "multi_class" not in params
    sk_score = sk_seconds = sk_epochs = None
    if "optimizer" not in params and "batch_size" not in params \
            and "multi_class" not in params:
        sk_model, sk_seconds = best_of(lambda: theirs(random_state=0, **sk_params),
                                       X_train, y_train, repeats)
        sk_score, sk_epochs = sk_model.score(X_test, y_test), sk_model.n_iter_
    vs_numpy = "-"
    if per_sample_sgd and numpy_loss is not None:
        rows = np.random.default_rng(0).permutation(X_train.shape[0])[:5000]
        ns = seconds / (model.n_iter_ * X_train.shape[0]) * 1e9
        target = y_train if task == "regression" else (y_train == model.classes_[1])
        vs_numpy = f"{numpy_sgd(X_train, target, rows, numpy_loss) / ns:.0f}x"
    cells = (name, task, label, f"{model.score(X_test, y_test):.4f}",
             "-" if sk_score is None else f"{sk_score:.4f}",
             f"{model.n_iter_}" + ("" if sk_epochs is None else f" / {sk_epochs}"),
             f"{seconds:.3f}",
             "-" if sk_seconds is None else f"{sk_seconds:.3f}",
             "-" if sk_seconds is None else f"{sk_seconds / seconds:.1f}x", vs_numpy)
    print("| " + " | ".join(cells) + " |", flush=True)


def split(X, y, scale_y=False):
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25,
                                                        random_state=0)
    scaler = StandardScaler().fit(X_train)
    if scale_y:
        mean, sd = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - mean) / sd, (y_test - mean) / sd
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m descent", description=__doc__.split("\n\n")[1],
        epilog=LEGEND, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="one timing per fit and a smaller synthetic table")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 3
    show_config()
    print()
    rng = np.random.default_rng(0)
    n = 20_000 if args.quick else 200_000
    Xs = rng.standard_normal((n, 100))
    ys = Xs @ rng.standard_normal(100) + rng.standard_normal(n)
    regression = [
        ("defaults (sgd)", {}, "squared_error"),
        ("sgd, average=True", {"average": True}, "squared_error"),
        ("adam, batch_size=32", {"optimizer": "adam", "batch_size": 32}, None),
    ]
    classification = [
        ("defaults (sgd, hinge)", {}, None),
        ("log_loss", {"loss": "log_loss"}, "log_loss"),
        ("log_loss, multinomial, adam", {"loss": "log_loss", "multi_class": "multinomial",
                                         "optimizer": "adam"}, None),
    ]
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "|".join("---" for _ in COLUMNS) + "|")
    X, y = load_diabetes(return_X_y=True)
    data = split(X, y, scale_y=True)
    for label, params, loss in regression:
        row("diabetes 442x10", "regression", label, params, data, loss, repeats)
    data = split(Xs, ys)
    for label, params, loss in regression[:2]:
        row(f"synthetic {n // 1000}kx100", "regression", label, params, data, loss, repeats)
    data = split(*load_breast_cancer(return_X_y=True))
    for label, params, loss in classification[:2]:
        row("breast cancer 569x30", "2 classes", label, params, data, loss, repeats)
    data = split(*load_digits(return_X_y=True))
    for label, params, _ in classification:
        row("digits 1797x64", "10 classes", label, params, data, None, repeats)
    print()
    print(LEGEND)


if __name__ == "__main__":
    main()
