"""
Sparse, text-like data: lazy updates
====================================

Rows of word counts are sparse and wide: each document uses a few dozen of
tens of thousands of words. A per-sample step then has a loss gradient on
the row's few coefficients only, and :class:`descent.SGDRegressor` steps
just those (``sparse_update="auto"``), bringing a coefficient's skipped
penalty and state decay up to date when a row next touches it.

This example makes a bag-of-words table with a Zipf vocabulary, weights it by
TF-IDF, fits scikit-learn's ``SGDRegressor`` and descent's optimizers on it
and scores them on held-out documents, then times one epoch of lazy and of
dense steps.
"""

# %%
# Documents of Zipf-distributed words
# -----------------------------------
# 8,000 documents of 30 to 120 words over a 20,000-word vocabulary, as TF-IDF
# rows (unit L2 norm). The target is a linear function of 100 of the 500 most
# frequent words plus noise, so ridge regression can reach a held-out R² near
# 0.97.

import textwrap
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import Ridge, SGDRegressor
from sklearn.model_selection import train_test_split

import descent

rng = np.random.default_rng(0)
n_docs, n_words = 8_000, 20_000
lengths = rng.integers(30, 121, n_docs)
words = np.minimum(rng.zipf(1.3, lengths.sum()), n_words) - 1      # word ids
docs = np.repeat(np.arange(n_docs), lengths)
counts = sp.csr_matrix((np.ones(lengths.sum()), (docs, words)), shape=(n_docs, n_words))
counts.sum_duplicates()
X = TfidfTransformer().fit_transform(counts)

weights = np.zeros(n_words)
weights[rng.choice(500, 100, replace=False)] = rng.normal(0, 1, 100)
y = X @ weights + 0.02 * rng.standard_normal(n_docs)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
print(f"X: {X.shape[0]:,} x {X.shape[1]:,}, {X.nnz / X.shape[0]:.0f} non-zeros per row "
      f"({X.nnz / np.prod(X.shape):.2%} dense)")

alpha = 1e-5
ridge = Ridge(alpha=alpha * X_train.shape[0]).fit(X_train, y_train)     # the same optimum
print(f"ridge regression (the exact optimum): held-out R² {ridge.score(X_test, y_test):.3f}")

# %%
# Fits to convergence
# -------------------
# Every model uses the same L2 penalty and its own stopping rule. Per-sample
# SGD with scikit-learn's default step (``eta0=0.01``, decaying) crawls on
# rows of unit norm: scikit-learn's rule stops it after a few epochs; descent's
# goes on and then says, in a ``ConvergenceWarning``, how far it still is. The
# adaptive rules take their default step from the data.

models = {
    "scikit-learn SGD": SGDRegressor(alpha=alpha, random_state=0),
    "descent SGD": descent.SGDRegressor(alpha=alpha, random_state=0),
    "descent Adam": descent.SGDRegressor(optimizer="adam", alpha=alpha, random_state=0),
    "descent AdaGrad": descent.SGDRegressor(optimizer="adagrad", alpha=alpha,
                                            random_state=0),
}
scores = {}
print(f"{'model':18} {'fit (s)':>8} {'epochs':>7} {'R² held out':>12}")
for name, model in models.items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    scores[name] = model.score(X_test, y_test)
    print(f"{name:18} {seconds:8.2f} {model.n_iter_:7d} {scores[name]:12.3f}")
    for warning in caught:
        print(textwrap.fill(f"{warning.category.__name__}: {warning.message}", 76,
                            initial_indent="    ", subsequent_indent="    "))

# %%
# Lazy against dense steps
# ------------------------
# One epoch of per-sample Adam and AdaGrad, with lazy steps (the default on
# sparse rows) and with ``sparse_update="dense"``, which updates all 20,000
# coefficients at every step: the same kind of progress, at a very different
# cost. (Lazy AdaGrad without an L2 penalty, and a few other rules, give
# exactly the dense iterates; lazy Adam follows ``torch.optim.SparseAdam``. The
# user guide's page on sparse data has the list.)

epoch_seconds = {}
for optimizer in ["adam", "adagrad"]:
    for mode in ["lazy", "dense"]:
        model = descent.SGDRegressor(optimizer=optimizer, alpha=alpha, sparse_update=mode,
                                     max_iter=1, tol=None, random_state=0)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        epoch_seconds[optimizer, mode] = time.perf_counter() - start
    ratio = epoch_seconds[optimizer, "dense"] / epoch_seconds[optimizer, "lazy"]
    print(f"{optimizer:8} one epoch: lazy {epoch_seconds[optimizer, 'lazy']:.3f} s, "
          f"dense {epoch_seconds[optimizer, 'dense']:.3f} s ({ratio:.0f}x)")

# %%
# The two panels: held-out R² of each fit, and the time of one epoch.

fig, (ax_r2, ax_time) = plt.subplots(1, 2, figsize=(9.5, 3.4), layout="constrained")
names = list(scores)
ax_r2.barh(names, [scores[n] for n in names], color="tab:green")
ax_r2.axvline(ridge.score(X_test, y_test), color="k", lw=1, ls="--", label="ridge optimum")
ax_r2.set(xlabel="R² on held-out documents", xlim=(0, 1))
ax_r2.invert_yaxis()
ax_r2.legend(loc="upper right")
labels = [f"{opt}, {mode}" for opt, mode in epoch_seconds]
ax_time.barh(labels, list(epoch_seconds.values()), color="tab:blue")
ax_time.set(xscale="log", xlabel="one epoch (s, log scale)")
ax_time.invert_yaxis()
fig.suptitle(f"{X.shape[0]:,} TF-IDF documents x {X.shape[1]:,} words")
plt.show()
