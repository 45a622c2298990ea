"""The data side of :func:`descent.dask.fit_dask`: the inputs checked on their
metadata, the row blocks persisted on the workers, and what the client learns
from ``y`` once before the epochs (a classifier's classes and "balanced"
weights, a regressor's target scaling, whether the blocks are random samples
of the rows)."""

from __future__ import annotations

import math
import warnings

import dask
import dask.array as da
import numpy as np
import scipy.sparse as sp

from ._scaling import scaling_from_moments
from ._validation import FLOATS
from ._warnings import user_stacklevel

__all__ = ["by_worker", "dask_inputs", "global_scaling", "near", "pack_block",
           "persist_blocks", "preset_classes"]

# A block is "not a random sample of the rows" when its class shares (total
# variation distance), or the share of its targets above the median of all
# rows, are this far from those of all the rows, and farther than four
# standard errors of a random block of its size. (A share above the median,
# not a mean: a random block of a heavy-tailed target -- lognormal, Cauchy --
# has a mean far from the overall one; its share above the median is
# binomial whatever the distribution.)
SKEW_SHARES = 0.2
SKEW_ABOVE = 0.25
SKEW_TOGETHER = 0.05
MEDIAN_SAMPLE = 20_000      # rows drawn (over all blocks) to estimate the median


def dask_inputs(X, y, sample_weight):
    """X, y and sample_weight as dask arrays blocked alike (checked on their
    metadata only), and the feature names of a DataFrame X (or None)."""
    feature_names = None
    if hasattr(X, "to_dask_array") and hasattr(X, "columns"):
        columns = list(X.columns)
        if columns and all(isinstance(c, str) for c in columns):
            feature_names = np.asarray(columns, dtype=object)
    X = _as_dask_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-d, got shape {X.shape}")
    _check_chunks_known(X, "X")
    if np.isnan(X.shape[1]):
        raise ValueError("X has an unknown number of columns")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X has shape {X.shape}: no samples or no features")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    y = _as_column_like(y, X, "y", allow_2d=True)
    if sample_weight is not None:
        sample_weight = _as_column_like(sample_weight, X, "sample_weight")
    return X, y, sample_weight, feature_names


def pack_block(X, y, sample_weight, labels=False):
    """One training block: X (C float64 or float32, read as they are like
    ``fit`` reads them; another dtype converted to float64; or CSR), y
    (float64 targets, or a classifier's labels as they are), sample_weight,
    together."""
    dtype = X.dtype if X.dtype in FLOATS else np.float64
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=dtype)
    else:
        X = np.ascontiguousarray(X, dtype=dtype)
    y = np.asarray(y) if labels else np.asarray(y, dtype=np.float64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    y = np.ascontiguousarray(y)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"a block of X has shape {X.shape} and its block of y {y.shape}: "
            "the row blocks of X and y must match")
    if sample_weight is not None:
        sample_weight = np.ascontiguousarray(
            np.asarray(sample_weight, dtype=np.float64).reshape(-1))
        if sample_weight.shape[0] != X.shape[0]:
            raise ValueError("a block of sample_weight does not match its block of X")
    return X, y, sample_weight


def persist_blocks(client, X, y, sample_weight, labels=False):
    """Futures of the packed row blocks (X, y, sample_weight), on the workers,
    their indices among X's row blocks and their numbers of rows: blocks of
    no rows (which filtering often leaves) are left out."""
    Xb = X.to_delayed().ravel()
    yb = y.to_delayed().ravel()
    swb = (sample_weight.to_delayed().ravel() if sample_weight is not None
           else [None] * len(Xb))
    # pure=False: keys of this call only, so that releasing them at the end
    # cannot race with another call persisting the same blocks.
    ids = [i for i, rows in enumerate(X.chunks[0]) if rows > 0]
    packed = [dask.delayed(pack_block, pure=False)(Xb[i], yb[i], swb[i], labels)
              for i in ids]
    rows = [X.chunks[0][i] for i in ids]
    return client.compute(packed), ids, rows   # futures: the blocks stay on workers


def preset_classes(model, client, blocks, ids):
    """Give a classifier the classes of all of y (and "balanced" weights from
    their counts there), counted on the persisted blocks: each worker's first
    fit takes them from it. Warns if a block's class shares are far from
    those of all the rows."""
    per_block = client.gather(client.map(_class_counts, blocks, pure=False))
    classes = np.unique(np.concatenate([c for c, _ in per_block]))
    table = np.zeros((len(per_block), len(classes)))
    for row, (c, n) in zip(table, per_block):
        row[np.searchsorted(classes, c)] = n
    counts = table.sum(axis=0)
    model._preset_classes = classes
    if isinstance(model.class_weight, str):       # "balanced"
        weights = counts.sum() / (len(classes) * counts)
        model.set_params(class_weight=dict(zip(classes.tolist(), weights.tolist())))
    _warn_skewed_shares(table, classes, ids)


def global_scaling(estimator, plan, client, blocks, ids, rows):
    """The target scaling a fit of all the rows would choose (None where the
    estimator fits the targets as given) and the unit of its stationarity
    check (_base's _check_unit), from the weighted moments of the persisted
    blocks' targets. Raises if every weight is 0; warns if a block's targets
    are far from a random sample of all the rows'."""
    draws = [client.submit(_summary, b, MEDIAN_SAMPLE / sum(rows), seed, pure=False)
             for seed, b in enumerate(blocks)]
    summaries, samples = zip(*client.gather(draws))
    moments = np.array(summaries)
    total = moments[:, 0, 0].sum()
    if not total > 0:
        raise ValueError("sample_weight is 0 on every row: there is nothing to fit")
    mean = moments[:, 1].sum(axis=0) / total
    var = moments[:, 2].sum(axis=0) / total - mean * mean
    median = np.median(np.concatenate(samples), axis=0)
    above = np.array(client.gather(client.map(_above, blocks, median=median, pure=False)))
    _warn_skewed_above(above, np.asarray(rows, dtype=np.float64), ids)
    if estimator._fits_targets_as_given(plan):
        return None, estimator._spread_unit(np.sqrt(np.maximum(var, 0.0)))
    return scaling_from_moments(mean, var, loss=estimator.loss, penalty=estimator.penalty,
                                fit_intercept=estimator.fit_intercept), 1.0


# ---------------------------------------------------------------------------
# Tasks on the workers (module-level: pickled by reference).

def _class_counts(block):
    return np.unique(block[1], return_counts=True)


def _summary(block, fraction, seed):
    """Per column of a packed block's targets: the weights' sum, the weighted
    sum and the weighted sum of squares; and a random ``fraction`` of its
    target rows (at least one)."""
    _, y, w = block
    y = y.reshape(y.shape[0], -1)
    w = np.ones((y.shape[0], 1)) if w is None else w.reshape(-1, 1)
    moments = np.stack([np.broadcast_to(w.sum(), y.shape[1:]), (w * y).sum(axis=0),
                        (w * y * y).sum(axis=0)])
    k = min(y.shape[0], max(1, math.ceil(fraction * y.shape[0])))
    rows = np.random.default_rng(seed).choice(y.shape[0], size=k, replace=False)
    return moments, y[rows]


def _above(block, median):
    """Per column: how many of the block's targets are above ``median``."""
    y = block[1].reshape(block[1].shape[0], -1)
    return (y > median).sum(axis=0)


# ---------------------------------------------------------------------------
# Blocks that are not random samples of the rows (sorted by label, by target,
# by time): fit_dask trains on the rows block by block, so the last block of a
# worker's epoch pulls the model toward its own classes or targets.
# Measured (tests/test_dask_classifier.py's data, 3 classes, a first block of
# 500 rows without class 2): depending on which worker holds which blocks, the
# hinge model's objective ends 0.2 % to 5.5 % above its minimum, where blocks
# drawn at random end within 0.3 % on every placement.

def _warn_skewed_shares(table, classes, ids=None):
    n_rows = table.sum(axis=1)
    shares = table.sum(axis=0) / table.sum()
    for b in np.flatnonzero(n_rows > 0):
        block = table[b] / n_rows[b]
        distance = 0.5 * np.abs(block - shares).sum()
        noise = 2.0 * np.sqrt(shares * (1 - shares) / n_rows[b]).sum()
        if distance > max(SKEW_SHARES, noise):
            c = int(np.argmax(np.abs(block - shares)))
            _warn_skewed(f"block {b if ids is None else ids[b]} ({int(n_rows[b])} rows) "
                         f"holds {block[c]:.0%} of "
                         f"class {classes.tolist()[c]!r}, which is {shares[c]:.0%} of all rows")
            return
    _warn_skewed_together(table, "class shares")


def _warn_skewed_together(table, what):
    """Blocks too small to show it one by one (sorted labels in blocks of ten
    rows): the chi-square statistic of the blocks x categories table, which
    is about its degrees of freedom for random blocks, against six standard
    deviations above them and an excess of SKEW_TOGETHER per row. Returns
    whether it warned."""
    table = table[table.sum(axis=1) > 0]
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return False
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    dof = (table.shape[0] - 1) * (table.shape[1] - 1)
    if chi2 > dof + 6.0 * math.sqrt(2.0 * dof) and (chi2 - dof) / n > SKEW_TOGETHER:
        _warn_skewed(f"the {what} of the {table.shape[0]} blocks differ from one another "
                     f"far beyond chance (chi-square {chi2:.0f} on {dof} degrees of "
                     "freedom)")
        return True
    return False


def _warn_skewed_above(above, n_rows, ids):
    share = above.sum(axis=0) / n_rows.sum()          # per column, about 1/2
    for b in np.flatnonzero(n_rows > 0):
        block = above[b] / n_rows[b]
        noise = 4.0 * np.sqrt(share * (1 - share) / n_rows[b])
        gap = np.abs(block - share) - np.maximum(SKEW_ABOVE, noise)
        k = int(np.argmax(gap))
        if gap[k] > 0:
            column = f" (column {k})" if above.shape[1] > 1 else ""
            _warn_skewed(f"block {ids[b]} ({int(n_rows[b])} rows) has {block[k]:.0%} of its "
                         f"targets{column} above the median of all rows, against "
                         f"{share[k]:.0%} of all rows")
            return
    for k in range(above.shape[1]):             # one warning, as above
        if _warn_skewed_together(np.column_stack([above[:, k], n_rows - above[:, k]]),
                                 "shares of targets above the median"):
            return


def _warn_skewed(what):
    warnings.warn(
        f"fit_dask: {what}. fit_dask trains on the rows block by block, so a "
        "block that is not a random sample of the rows (sorted by label, target "
        "or time) pulls the model toward it at the end of each epoch, and the "
        "result depends on which worker holds which block. Shuffle the rows "
        "before blocking them, e.g. perm = numpy.random.default_rng(0)"
        ".permutation(n_samples); X, y = X[perm], y[perm].",
        UserWarning, stacklevel=user_stacklevel())


# ---------------------------------------------------------------------------
# Input handling, on the client (only metadata: shapes and chunks).

def _as_dask_array(a, name):
    if hasattr(a, "to_dask_array"):        # dask DataFrame / Series
        return a.to_dask_array(lengths=True)
    if isinstance(a, da.Array):
        return a
    raise TypeError(
        f"{name} must be a dask.array.Array or a dask DataFrame/Series, got "
        f"{type(a).__name__}: use SGDRegressor.fit for in-memory data")


def _check_chunks_known(a, name):
    if any(np.isnan(c) for c in a.chunks[0]):
        raise ValueError(
            f"{name} has unknown chunk sizes (e.g. from a dask DataFrame's "
            "`.values`): use `.to_dask_array(lengths=True)` or "
            "`.compute_chunk_sizes()` first")


def _as_column_like(a, X, name, allow_2d=False):
    """y or sample_weight as a dask array with X's row blocks: 1-d, or (y of
    a multi-output fit) 2-d in one column block."""
    if not hasattr(a, "to_dask_array") and not isinstance(a, da.Array):
        a = np.asarray(a)
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if (a.ndim not in ((1, 2) if allow_2d else (1,))
                or a.shape[0] != X.shape[0]):
            raise ValueError(
                f"{name} has shape {a.shape}, X has {X.shape[0]} rows")
        return da.from_array(a, chunks=(X.chunks[0],) + a.shape[1:])
    a = _as_dask_array(a, name)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim not in ((1, 2) if allow_2d else (1,)):
        raise ValueError(
            f"{name} must be 1-d{' or 2-d' if allow_2d else ''} (or one column), "
            f"got shape {a.shape}")
    _check_chunks_known(a, name)
    if a.shape[0] != X.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} rows and {name} has {a.shape[0]}: inconsistent "
            "numbers of samples")
    chunks = (X.chunks[0],) + ((a.shape[1],) if a.ndim == 2 else ())
    if a.chunks != chunks:
        # Same rows, other blocks: re-block like X (on the workers).
        a = a.rechunk(chunks)
    return a


# ---------------------------------------------------------------------------
# Where the blocks are.

def by_worker(client, blocks, order):
    """[(worker or None, [block index, ...]), ...]: the blocks in ``order``
    grouped by the worker holding them now (asked at each call: workers
    come and go)."""
    who_has = client.who_has(blocks)
    groups: dict[str | None, list[int]] = {}
    for i in order:
        holders = sorted(who_has.get(blocks[i].key, ()))
        groups.setdefault(holders[0] if holders else None, []).append(i)
    return sorted(groups.items(), key=lambda kv: str(kv[0]))


def near(worker):
    """submit's placement of a task on ``worker``'s blocks: there, loosely (a
    lost worker's blocks are recomputed elsewhere); anywhere for None (no
    holder known)."""
    return {} if worker is None else {"workers": [worker], "allow_other_workers": True}
