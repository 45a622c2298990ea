"""Checks of an estimator's parameters and of the data given to ``fit``,
beyond scikit-learn's ``_parameter_constraints`` and ``validate_data``, and
the conversions to what the kernels read. Each error names the parameter or
the input and what is allowed; the caller's arrays are never written."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import DataConversionWarning
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._lr_drive import check_schedule
from ._plan import hogwild_requested
from ._warnings import user_stacklevel
from .optim import Optimizer

# The dtypes of X the kernels read in place (float32 widened as it is read);
# validate_data converts any other to the first.
FLOATS = (np.float64, np.float32)
# The kernels index rows, stored values and columns with 32-bit integers.
MAX_INDEX = np.iinfo(np.int32).max


def check_params(est, for_partial_fit=False):
    """Combinations of ``SGDRegressor`` parameters that cannot work together."""
    if est.early_stopping and for_partial_fit:
        raise ValueError("early_stopping should be False with partial_fit")
    if getattr(est, "restore_best_weights", False) and not est.early_stopping:
        raise ValueError("restore_best_weights=True keeps the model of the best validation "
                         "score's epoch: it needs early_stopping=True")
    if getattr(est, "scoring", "accuracy") == "loss" and not est.early_stopping:
        raise ValueError("scoring='loss' is the early-stopping score: it needs "
                         "early_stopping=True")
    if est.learning_rate == "optimal" and est.alpha == 0:
        raise ValueError(
            "alpha must be > 0 since learning_rate is 'optimal'. alpha is "
            "used to compute the optimal learning rate.")
    if est.penalty == "elasticnet" and est.l1_ratio is None:
        raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")
    if est.learning_rate == "optimal" and not (
            est.optimizer == "sgd" and est.batch_size == 1):
        raise ValueError(
            "learning_rate='optimal' is Bottou's per-sample SGD schedule: it "
            "needs optimizer='sgd' and batch_size=1; use 'constant', "
            "'invscaling' or 'adaptive' with optimizer="
            f"{est.optimizer!r}, batch_size={est.batch_size!r}")
    if est.average and hogwild_requested(est.batch_size, est.n_jobs):
        raise ValueError(
            "average is not supported with n_jobs > 1 and batch_size=1 (lock-free "
            "Hogwild! updates): use n_jobs=1, or batch_size > 1 / None")
    if isinstance(est.batch_size, (bool, np.bool_)):
        raise ValueError(f"batch_size must be an int >= 1 or None, got {est.batch_size!r}")
    if est.sparse_update == "lazy" and (est.average or est.batch_size != 1):
        raise ValueError(
            "sparse_update='lazy' is for per-sample steps without averaging "
            f"(got batch_size={est.batch_size!r}, average={est.average!r}): "
            "mini-batches and the running average touch every coefficient at "
            "every step; use sparse_update='auto' or 'dense'")
    if est.clip_grad_norm is not None and est.clip_grad_norm < 1e-300:
        raise ValueError(
            f"clip_grad_norm={est.clip_grad_norm!r} is below 1e-300; the kernels "
            "flush denormal numbers to zero, so use 1e-300 or more")
    if isinstance(est.optimizer, Optimizer):
        _check_optimizer_instance(est)
    check_schedule(est)


def _check_optimizer_instance(est):
    if est.optimizer.weight_decay != 0:
        raise ValueError(
            f"optimizer.weight_decay={est.optimizer.weight_decay!r} would "
            "regularise on top of penalty/alpha: set it to 0 and use "
            "penalty='l2' with alpha (for AdamW the L2 part of the penalty "
            "is applied as decoupled weight decay)")
    est.optimizer._validate()


def numeric_X(X):
    """X to predict from, refused if it holds strings, as scikit-learn's
    predict refuses it (its dtype='numeric' validation; validate_data with a
    list of float dtypes would convert "1.5" to 1.5). Its fit converts such
    X, and so does descent's. An object array or DataFrame goes on to the
    float conversion, as there."""
    if sp.issparse(X) or hasattr(X, "__dataframe__") or hasattr(X, "dtypes"):
        return X
    kind = getattr(getattr(X, "dtype", None), "kind", None)
    if kind is None and isinstance(X, (list, tuple)):
        kind = np.asarray(X).dtype.kind
    if kind in ("U", "S", "V"):
        raise ValueError(
            "dtype='numeric' is not compatible with arrays of bytes/strings. Convert "
            "your data to numeric values explicitly instead.")
    return X


def check_data(est, X, y, sample_weight, reset):
    """``validate_data`` plus descent's rules: X float64 or float32 (C order,
    or CSR, int64 indices too: check_rows has the limits; float32 is read in
    place, other dtypes converted to float64 as scikit-learn does), y as
    (n, K) float64, sample_weight finite and >= 0 (None stays None: the
    kernel reads 1). Returns ``(X, y, sample_weight, multi_output)``."""
    X, y = validate_data(est, X, y, accept_sparse="csr", dtype=FLOATS,
                         order="C", copy=False, y_numeric=True, multi_output=True,
                         reset=reset)
    X = check_csr(X)
    if y.ndim == 2 and y.shape[1] == 1:
        # scikit-learn's SGDRegressor takes a column vector as 1-D y
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please "
            "change the shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning, stacklevel=user_stacklevel())
        y = y[:, 0]
    multi_output = y.ndim == 2
    y = np.ascontiguousarray(y.reshape(y.shape[0], -1), dtype=np.float64)  # (n, K)
    return X, y, check_rows(est, X, sample_weight), multi_output


def check_rows(est, X, sample_weight):
    """What every estimator checks of validated X and sample_weight: the
    kernels' 32-bit limits (rows; a CSR X's stored values and columns),
    sparse rows with the threads asked for, sample_weight finite and >= 0 as
    a float64 array (None stays None: the kernel reads 1)."""
    if sp.issparse(X) and hogwild_requested(est.batch_size, est.n_jobs) \
            and est.sparse_update == "dense":
        raise ValueError(
            "sparse_update='dense' with n_jobs > 1 and batch_size=1: Hogwild! "
            "threads on sparse rows update the rows' coefficients only; use "
            "sparse_update='auto', or n_jobs=None for dense updates")
    if X.shape[0] > MAX_INDEX:
        raise ValueError(
            f"{X.shape[0]} samples in one call: fit and partial_fit take at most "
            "2**31 - 1 rows at a time; stream larger data through partial_fit in chunks")
    # (a CSR X's int64 indices, SciPy's for large or stacked matrices, are
    # read as 32-bit ones where they fit: kernel_X converts them on a copy;
    # not validate_data's accept_large_sparse=False, which refuses every int64
    # index array with a message sending users to scikit-learn's tracker)
    if sp.issparse(X) and max(X.indptr[-1], X.shape[1]) > MAX_INDEX:
        raise ValueError(
            f"X has {X.indptr[-1]} stored values and {X.shape[1]} columns: descent's "
            "kernels index sparse rows with 32-bit integers, at most 2**31 - 1 of "
            "each; pass the rows to partial_fit in chunks (fewer stored values), or "
            "hash the features into fewer columns")
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                             ensure_non_negative=True)
        sample_weight = np.ascontiguousarray(sample_weight)
        if not np.isfinite(sample_weight).all():
            raise ValueError("sample_weight contains NaN or infinity")
    return sample_weight


def check_csr(X):
    """X, its CSR structure checked: a malformed one (column indices out of
    range, indptr out of order) raises here, before anything (SciPy's
    products included) reads it. SciPy's check trims arrays longer than the
    stored values in place: such an X is checked as a copy, which is returned
    (the caller's matrix stays as it was)."""
    if sp.issparse(X):
        if X.indptr.size and (X.indices.shape[0] > X.indptr[-1]
                              or X.data.shape[0] > X.indptr[-1]):
            X = X.copy()
        X.check_format(full_check=True)
    return X


def kernel_X(X):
    """X as the kernel takes it: the 2-D array, or CSR as (data, indices,
    indptr, n_features) with int32 indices (validate_data made it CSR)."""
    if not sp.issparse(X):
        return X
    if not X.has_canonical_format:
        # the kernels scatter rows by column index: duplicates must be summed
        # (as X @ w does), on a copy (the caller's X stays as it is)
        X = X.copy()
        X.check_format(full_check=True)   # ValueError for a malformed structure
        X.sum_duplicates()
    return (np.ascontiguousarray(X.data, dtype=X.dtype if X.dtype in FLOATS else np.float64),
            np.ascontiguousarray(X.indices, dtype=np.int32),
            np.ascontiguousarray(X.indptr, dtype=np.int32), X.shape[1])


def start_point(coef_init, intercept_init, n_features, n_targets, multi_output,
                kept=False):
    """theta, (n_targets, n_features + 1): each row a target's coef and
    intercept, from ``coef_init`` / ``intercept_init`` (zeros if None);
    ``kept``: they are the estimator's own ``coef_`` (warm_start, assigned)."""
    theta = np.zeros((n_targets, n_features + 1))
    coef_shape = (n_targets, n_features) if multi_output else (n_features,)
    for name, value in (("coef_init", coef_init), ("intercept_init", intercept_init)):
        if value is not None and np.iscomplexobj(value):
            raise ValueError(f"{name} must be real, got complex values")
    if coef_init is not None:
        coef_init = np.asarray(coef_init, dtype=np.float64)
        if not multi_output:
            coef_init = coef_init.ravel()
        elif n_targets == 1 and coef_init.ndim == 1:
            coef_init = coef_init[None, :]    # a binary classifier's row, given 1-D
        if coef_init.shape != coef_shape and kept:
            raise ValueError(
                f"X has {n_features} features and {n_targets} target(s), but the "
                f"estimator's coef_ (kept by warm_start=True, or assigned) has shape "
                f"{coef_init.shape}: fit with warm_start=False, or delete coef_, to "
                "start afresh")
        if coef_init.shape != coef_shape:
            raise ValueError(
                f"Provided coef_init does not match dataset: shape "
                f"{coef_init.shape}, expected {coef_shape}.")
        if not np.isfinite(coef_init).all():
            raise ValueError("coef_init contains NaN or infinity")
        theta[:, :-1] = coef_init
    if intercept_init is not None:
        intercept_init = np.asarray(intercept_init, dtype=np.float64).reshape(-1)
        if intercept_init.shape != (n_targets,):
            raise ValueError(
                "Provided intercept_init does not match dataset: shape "
                f"{intercept_init.shape}, expected ({n_targets},).")
        if not np.isfinite(intercept_init).all():
            raise ValueError("intercept_init contains NaN or infinity")
        theta[:, -1] = intercept_init
    return theta


def validation_split(y, sample_weight, validation_fraction, random_state, labels=None):
    """scikit-learn's early-stopping split: (train_idx, val_idx) as int32;
    stratified by ``labels`` when given (a classifier's)."""
    n = y.shape[0]
    splitter = ShuffleSplit if labels is None else StratifiedShuffleSplit
    cv = splitter(test_size=validation_fraction, random_state=random_state)
    train_idx, val_idx = next(cv.split(np.zeros((n, 1)), y if labels is None else labels))
    if train_idx.shape[0] == 0 or val_idx.shape[0] == 0:
        raise ValueError(
            f"Splitting {n} samples into a train set and a validation set with "
            f"validation_fraction={validation_fraction!r} led to an empty "
            f"set ({train_idx.shape[0]} and {val_idx.shape[0]} samples). Please "
            "either change validation_fraction, increase number of samples, or "
            "disable early_stopping.")
    if sample_weight is not None and not np.any(sample_weight[val_idx] > 0):
        raise ValueError(
            "The sample weights for validation set are all zero, consider "
            "using a different random state.")
    # in the rows' order, as scikit-learn iterates them (with shuffle=False)
    return (np.sort(train_idx).astype(np.int32), np.sort(val_idx).astype(np.int32))
