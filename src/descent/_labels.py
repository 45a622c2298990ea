"""A classifier's labels as the kernels read them, its class weights, and its
probabilities.

The kernels fit K targets. Two classes are one target, y = +1 for
``classes_[1]`` and -1 for ``classes_[0]`` (scikit-learn's binary problem;
with ``multi_class="multinomial"`` too: the softmax of two classes is the
logistic model). Three classes or more are K = n_classes targets: one-vs-rest,
column k is +1 where the label is ``classes_[k]`` and -1 elsewhere, all K
binary problems stepped from one read of each row; or the softmax, one-hot
rows (1 for the label's class, 0 elsewhere). Those K targets are held as
the class of each row (:class:`ClassTargets`), not as an (n, K) matrix.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit, log_softmax, logsumexp, softmax
from sklearn.utils.multiclass import check_classification_targets


def fit_classes(y):
    """``classes_`` (sorted) and the index of each label in it, for ``fit``,
    y checked as scikit-learn checks a classifier's targets
    (``check_classification_targets``: ValueError for continuous or
    multilabel y).

    The check needs y's distinct values too: they are handed to it in the
    dtype metadata of a view of y (scikit-learn's own cache,
    ``sklearn.utils._unique.attach_unique``), so y is sorted once, not
    twice (1,000,000 labels: the check alone took 26-34 ms of a fit whose
    epochs take about 100 ms each). Should scikit-learn
    stop reading that cache, the check computes them again: slower, the same
    result.
    """
    try:
        classes, index = _small_int_unique(y) or np.unique(y, return_inverse=True)
    except TypeError:       # labels that do not compare, e.g. str and int mixed
        check_classification_targets(y)         # its error, if it has one
        raise
    check_classification_targets(y.view(np.dtype(y.dtype, metadata={"unique": classes})))
    if classes.dtype.kind in "OU":
        # scikit-learn's classes_ are np.asarray of the sorted labels
        # (unique_labels): strings as the narrowest str dtype, whether y held
        # them as objects (a DataFrame's column) or wider
        classes = np.asarray(classes.tolist())
    return classes, index


def _small_int_unique(y):
    """``np.unique(y, return_inverse=True)`` of integer labels spanning a
    range no wider than y is long, by counting instead of sorting (1,000,000
    binary labels: 3 ms against 14); None for other labels."""
    if y.dtype.kind not in "iu" or y.ndim != 1 or y.shape[0] == 0:
        return None
    lo, hi = int(y.min()), int(y.max())
    span = np.iinfo(np.intp)
    if hi - lo >= max(y.shape[0], 1024) or lo < span.min or hi > span.max:
        return None
    offset = y.astype(np.intp, copy=False)      # (exact: in intp's range)
    if lo:
        offset = offset - lo
    present = np.bincount(offset, minlength=hi - lo + 1) > 0
    classes = (np.flatnonzero(present) + lo).astype(y.dtype)
    if classes.shape[0] == hi - lo + 1:         # every value in the range occurs
        return classes, offset
    return classes, (np.cumsum(present) - 1)[offset]


class ClassTargets:
    """The targets of K >= 3 classes as the class of each row: target t of
    a row is 1 where its class is t and ``rest`` elsewhere (-1 one-vs-rest,
    0 the softmax's one-hot). 4 bytes a row where the (n, K) float64 matrix
    takes 8 K (200,000 rows of 20 classes: 0.8 MB against 32; the kernels
    read either, ``Data.label``). Rows are taken as an array's
    (``targets[rows]``), a target's column as an array's
    (``targets[:, t]``); ``np.asarray`` gives the matrix, for the few
    subsamples that compute with it."""

    ndim = 2

    def __init__(self, index, n_classes, rest):
        self.index = np.ascontiguousarray(index, dtype=np.int32)
        self.n_classes = int(n_classes)
        self.rest = float(rest)

    @property
    def shape(self):
        return (self.index.shape[0], self.n_classes)

    def __getitem__(self, key):
        if isinstance(key, tuple):      # (rows, t): target t of those rows
            rows, t = key
            return np.where(self.index[rows] == t, 1.0, self.rest)
        return ClassTargets(self.index[key], self.n_classes, self.rest)

    def __array__(self, dtype=None, copy=None):
        if copy is False:       # (NumPy 2's protocol: the matrix is always new)
            raise ValueError("ClassTargets builds its (n, K) matrix: it cannot be "
                             "viewed without a copy")
        y = np.full(self.shape, self.rest)
        y[np.arange(self.index.shape[0]), self.index] = 1.0
        return y if dtype is None else y.astype(dtype, copy=False)

    def kernel(self):
        """What ``_kernels.Workspace`` takes for them."""
        return (self.index, self.n_classes, self.rest)


def kernel_targets(y):
    """The Workspace's y of an estimator's targets (an array as it is)."""
    return y.kernel() if isinstance(y, ClassTargets) else y


def encode(label_index, n_classes, multinomial):
    """The kernel's targets of the labels' indices into ``classes_``: y
    (n, 1) of +-1 for two classes, else :class:`ClassTargets`."""
    n = label_index.shape[0]
    if n_classes == 2:
        return (label_index * 2.0 - 1.0).reshape(n, 1)      # 0, 1 -> -1, +1
    return ClassTargets(label_index, n_classes, 0.0 if multinomial else -1.0)


def index_in(classes, y):
    """The index of each label of y in the sorted ``classes``; ValueError
    naming the labels that are not classes."""
    index = np.clip(np.searchsorted(classes, y), 0, classes.shape[0] - 1)
    unseen = classes[index] != y
    if np.any(unseen):
        kinds = {np.asarray(y).dtype.kind, classes.dtype.kind}
        mixed = len(kinds & set("OSU")) == 1 and len(kinds) == 2
        raise ValueError(f"y contains labels that are not in classes: "
                         f"{np.unique(y[unseen]).tolist()} (classes are "
                         f"{classes.tolist()})"
                         + (f"; y holds {np.asarray(y).dtype} and classes "
                            f"{classes.dtype}: a number is never equal to a string"
                            if mixed else ""))
    return index


def labels_of(y):
    """The class index of each row of encoded targets (to stratify a split)."""
    if isinstance(y, ClassTargets):
        return y.index
    return (y[:, 0] > 0).astype(np.intp) if y.shape[1] == 1 else np.argmax(y, axis=1)


def kernel_class_weights(expanded, multinomial):
    """The kernel's (K, 2) weights of each target's negative and positive
    samples from the per-class weights (scikit-learn's
    ``compute_class_weight``), or None when they are all 1 or for the softmax
    (which takes them as sample weights: :func:`weigh_samples`).

    Binary: the negative class's weight and the positive class's, as
    scikit-learn's ``fit_binary`` (weight_neg, weight_pos). One-vs-rest: class
    k's weight on its positives, 1 on its negatives, as scikit-learn does.
    """
    expanded = np.asarray(expanded, dtype=np.float64)
    if np.all(expanded == 1.0) or (multinomial and expanded.shape[0] > 2):
        return None
    if expanded.shape[0] == 2:
        return np.ascontiguousarray(expanded.reshape(1, 2))
    return np.ascontiguousarray(np.column_stack([np.ones_like(expanded), expanded]))


def weigh_samples(sample_weight, expanded, label_index):
    """sample_weight times each sample's class weight (a new array; None if
    both are trivial)."""
    expanded = np.asarray(expanded, dtype=np.float64)
    if np.all(expanded == 1.0):
        return sample_weight
    w = expanded[label_index]
    return np.ascontiguousarray(w if sample_weight is None else sample_weight * w)


def probabilities(loss, scores, multinomial):
    """P(class | x) of the decision values (n,) or (n, K), as scikit-learn
    computes them for ``log_loss`` (the logistic function; one-vs-rest
    normalised) and ``modified_huber`` ((clip(score, -1, 1) + 1) / 2,
    normalised; uniform where every class scores -1 or less); the softmax for
    the multinomial model. In float64 whatever the scores' dtype (float32
    logits of -104 would underflow)."""
    scores = np.asarray(scores, dtype=np.float64)
    if multinomial and scores.ndim == 2:
        return softmax(scores, axis=1)
    if loss == "log_loss":
        if scores.ndim == 2:
            # normalised in log space: where every class's expit underflows
            # (scores below -745) the ratios survive
            return np.exp(log_probabilities(loss, scores, multinomial))
        p = expit(scores)
    else:
        p = (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0
    if p.ndim == 1:
        return np.column_stack([1.0 - p, p])
    total = p.sum(axis=1, keepdims=True)
    zero = total[:, 0] == 0
    p[zero] = 1.0
    total[zero] = p.shape[1]
    return p / total


def log_probabilities(loss, scores, multinomial):
    """log P(class | x), without the underflow of log(probabilities) where
    the logistic model's logits are large (log-sum-exp forms); float64."""
    scores = np.asarray(scores, dtype=np.float64)
    if multinomial and scores.ndim == 2:
        return log_softmax(scores, axis=1)
    if loss != "log_loss":
        with np.errstate(divide="ignore"):
            return np.log(probabilities(loss, scores, multinomial))
    if scores.ndim == 1:
        return np.column_stack([log_expit(-scores), log_expit(scores)])
    logp = log_expit(scores)
    return logp - logsumexp(logp, axis=1, keepdims=True)
