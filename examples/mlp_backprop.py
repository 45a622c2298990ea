#!/usr/bin/env python
"""
A neural network by NumPy backprop, stepped by ``descent.optim``
================================================================

A two-layer network trained by hand-written NumPy backpropagation with
:mod:`descent.optim` parameter groups, against scikit-learn's
``MLPClassifier``.

Data: the handwritten digits that ship with scikit-learn (1,797 images of
8x8 pixels, 10 classes; no download), scaled to [0, 1], 25 % held out.

Network: 64 -> ``hidden`` ReLU units (He initialisation) -> 10 logits
(Xavier initialisation), softmax cross-entropy, mini-batches. Each step
clips the gradient to a global L2 norm of ``clip`` and applies L2 through
the optimizer's per-group ``weight_decay``: the two weight matrices decay,
the biases do not::

    opt = Adam([{"params": [W1, W2], "weight_decay": weight_decay},
                {"params": [b1, b2], "weight_decay": 0.0}], lr=lr)
    ...
    opt.step([dW1, dW2, db1, db2])

``MLPClassifier`` gets the same architecture, batch size, learning rate, L2
strength (its ``alpha``) and number of epochs. Run ``python
examples/mlp_backprop.py [--epochs 30]`` for the table and the figure.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from descent.optim import Adam

# %%
# The network
# -----------
# The data, the forward pass, its gradients by hand, and the clipping: plain
# NumPy (``tests/test_examples.py`` checks the gradients against finite
# differences).


def load(seed=0):
    """Digits scaled to [0, 1]: (X_train, X_test, y_train, y_test)."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=seed, stratify=y)


def init_params(n_in, hidden, n_out, rng):
    """He-initialised first layer (ReLU), Xavier-initialised output layer,
    zero biases; C-contiguous float64 arrays the optimizer updates in place."""
    W1 = rng.standard_normal((n_in, hidden)) * np.sqrt(2.0 / n_in)
    W2 = rng.standard_normal((hidden, n_out)) * np.sqrt(2.0 / (hidden + n_out))
    return W1, W2, np.zeros(hidden), np.zeros(n_out)


def forward(X, W1, W2, b1, b2):
    """Hidden activations and class probabilities (softmax)."""
    H = np.maximum(X @ W1 + b1, 0.0)
    Z = H @ W2 + b2
    Z -= Z.max(axis=1, keepdims=True)
    P = np.exp(Z)
    P /= P.sum(axis=1, keepdims=True)
    return H, P


def backward(X, Y, H, P, W2):
    """Gradients of the mean cross-entropy: dW1, dW2, db1, db2."""
    dZ = (P - Y) / len(X)
    dW2 = H.T @ dZ
    dH = dZ @ W2.T
    dH[H <= 0.0] = 0.0
    return X.T @ dH, dW2, dH.sum(axis=0), dZ.sum(axis=0)


def clip_global_norm(grads, max_norm):
    """Scale the gradients in place so that their joint L2 norm is at most
    ``max_norm``; return the norm before clipping."""
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
    if norm > max_norm:
        for grad in grads:
            np.multiply(grad, max_norm / norm, out=grad)
    return norm


# %%
# Training
# --------
# One :class:`descent.optim.Adam` steps the four arrays in place, in two
# parameter groups: weight decay on the weight matrices only.


def train_numpy(X, y, *, epochs, hidden, batch_size, lr, weight_decay, clip, seed,
                loss_curve=None):
    """Train the network; return its parameters (W1, W2, b1, b2). If
    ``loss_curve`` is a list, append each epoch's mean mini-batch
    cross-entropy to it."""
    rng = np.random.default_rng(seed)
    W1, W2, b1, b2 = init_params(X.shape[1], hidden, 10, rng)
    opt = Adam([{"params": [W1, W2], "weight_decay": weight_decay},
                {"params": [b1, b2], "weight_decay": 0.0}], lr=lr)
    Y = np.eye(10)[y]
    for _ in range(epochs):
        order = rng.permutation(len(X))
        total = 0.0
        for start in range(0, len(X), batch_size):
            rows = order[start:start + batch_size]
            H, P = forward(X[rows], W1, W2, b1, b2)
            total += -np.log(P[Y[rows] == 1]).sum()
            dW1, dW2, db1, db2 = backward(X[rows], Y[rows], H, P, W2)
            clip_global_norm([dW1, dW2, db1, db2], clip)
            opt.step([dW1, dW2, db1, db2])     # same order as the groups
        if loss_curve is not None:
            loss_curve.append(total / len(X))
    return W1, W2, b1, b2


def run(epochs=30, hidden=64, batch_size=32, lr=1e-3, weight_decay=1e-4, clip=5.0,
        seed=0):
    """Train both models for ``epochs`` epochs; return one dict per model with
    ``model``, ``accuracy`` (held-out), ``seconds`` (training time) and
    ``loss_curve`` (the training loss of each epoch)."""
    X_train, X_test, y_train, y_test = load(seed)
    curve = []
    t0 = time.perf_counter()
    params = train_numpy(X_train, y_train, epochs=epochs, hidden=hidden,
                         batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                         clip=clip, seed=seed, loss_curve=curve)
    ours = time.perf_counter() - t0
    accuracy = float((forward(X_test, *params)[1].argmax(axis=1) == y_test).mean())

    mlp = MLPClassifier(hidden_layer_sizes=(hidden,), activation="relu", solver="adam",
                        alpha=weight_decay, batch_size=batch_size, learning_rate_init=lr,
                        max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1,
                        random_state=seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)    # max_iter is the point
        mlp.fit(X_train, y_train)
    theirs = time.perf_counter() - t0
    return [
        {"model": "NumPy backprop + descent.optim.Adam groups", "accuracy": accuracy,
         "seconds": ours, "loss_curve": curve},
        {"model": "sklearn MLPClassifier (adam)", "accuracy": float(mlp.score(X_test, y_test)),
         "seconds": theirs, "loss_curve": list(mlp.loss_curve_)},
    ]


# %%
# Both models, 30 epochs
# ----------------------
# The held-out accuracy and training time of each, and their training loss per
# epoch (``MLPClassifier``'s ``loss_curve_`` includes its small L2 term).


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="A two-layer network by NumPy backprop with descent.optim.Adam "
                    "parameter groups, against scikit-learn's MLPClassifier, on digits.")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = run(epochs=args.epochs, hidden=args.hidden, seed=args.seed)
    print(f"digits, {args.epochs} epochs, 64-{args.hidden}-10, batch 32, Adam lr 1e-3, "
          "L2 1e-4 on the weights\n")
    print("| model | test accuracy | training time |")
    print("|---|---:|---:|")
    for row in rows:
        print(f"| {row['model']} | {row['accuracy']:.3f} | {row['seconds']:.2f} s |")

    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    for row in rows:
        epochs = np.arange(1, len(row["loss_curve"]) + 1)
        ax.plot(epochs, row["loss_curve"], marker=".", label=row["model"])
    ax.set(xlabel="epoch", ylabel="training cross-entropy", yscale="log",
           title=f"digits, 64-{args.hidden}-10 network, Adam lr 1e-3")
    ax.legend()
    plt.show()


if __name__ == "__main__":
    main()
