"""Fitting in a standardized target space, and mapping back exactly.

An update rule that adapts its step to the gradient (AdaGrad, RMSprop,
Adadelta, Adam and its kin) moves each weight by about ``lr`` per step,
whatever the targets' unit: an intercept of 4,200 grams is out of its reach.
So the update-rule paths fit the targets ``y' = (y - shift) / scale`` and map
the model back, ``coef = scale * coef'`` and ``intercept = scale * intercept'
+ shift``, with the penalty and ``epsilon`` rewritten so that the rewritten
objective is the original one divided by a constant: the two have the same
minimiser, exactly.

With ``r' = p' - y'`` and ``p = scale p' + shift``, a loss of residual ``r``:

- squared error, Huber (epsilon' = epsilon / scale) and squared
  epsilon-insensitive (the same) scale by ``scale**2``: the L2 part of the
  penalty keeps its ``alpha``, the L1 part becomes ``alpha / scale``;
- epsilon-insensitive (epsilon' = epsilon / scale) scales by ``scale``: the L2
  part becomes ``alpha * scale``, the L1 part keeps its ``alpha``.

Each target has its own ``shift`` (the intercept absorbs it; without an
intercept it is 0). Each has its own ``scale`` too where the rewritten penalty
and ``epsilon`` do not depend on it (squared error with no penalty or L2);
otherwise one scale serves every target (the root mean square of theirs), as
the kernel has one ``alpha`` and one ``epsilon``. The objective the kernel
reports is put back in the original unit by weighting each target's loss and
penalty by its ``scale ** power`` (``Workspace(target_weights=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._plan import PENALTY_RATIO

# Rows at a time of weighted_moments' sums.
MOMENT_CHUNK = 65536

# Losses whose value scales with the residual's square (power 2) or with the
# residual itself (power 1).
LOSS_POWER = {"squared_error": 2, "huber": 2, "squared_epsilon_insensitive": 2,
              "epsilon_insensitive": 1}


@dataclass(frozen=True)
class TargetScaling:
    """Per target: ``y' = (y - shift) / scale``; ``power`` is the loss's."""

    shift: np.ndarray
    scale: np.ndarray
    power: int

    @classmethod
    def identity(cls, n_targets, power=2):
        return cls(np.zeros(n_targets), np.ones(n_targets), power)

    @property
    def is_identity(self):
        return bool(np.all(self.shift == 0) and np.all(self.scale == 1))

    def targets(self, y):
        """y (n, K) in the scaled space (a new array, C-contiguous; y is not
        written). Divided in place: one array the size of y, not two."""
        out = np.subtract(y, self.shift, order="C")
        out /= self.scale
        return out

    def encode(self, theta):
        """A model (K, d + 1) of the original targets in the scaled space."""
        out = theta / self.scale[:, None]
        out[:, -1] = (theta[:, -1] - self.shift) / self.scale
        return out

    def decode(self, theta):
        """A model (K, d + 1) of the scaled space for the original targets."""
        out = theta * self.scale[:, None]
        out[:, -1] = theta[:, -1] * self.scale + self.shift
        return out

    def decode_parts(self, theta):
        """decode's coefs (K, d) and intercepts (K,) as new contiguous arrays,
        each written once (decode, then copies of its columns, allocated and
        wrote a 20-class model of 100,000 features twice more: 16 MB each)."""
        coef = theta[:, :-1] * self.scale[:, None]
        return coef, theta[:, -1] * self.scale + self.shift

    def objective_weights(self):
        """What each target's scaled objective counts in the original one."""
        return self.scale ** self.power

    def rewrite(self, penalty, alpha, l1_ratio, epsilon):
        """(alpha', l1_ratio', epsilon') of the scaled problem. The scale is
        one for all targets wherever these depend on it (choose_scaling)."""
        s = float(self.scale[0])
        if s == 1.0 or penalty is None:
            return alpha, l1_ratio, epsilon / s
        ratio = PENALTY_RATIO.get(penalty, l1_ratio)
        l1, l2 = alpha * ratio, alpha * (1.0 - ratio)
        if self.power == 2:
            l1 /= s
        else:
            l2 *= s
        total = l1 + l2
        new_ratio = l1 / total if (penalty == "elasticnet" and total > 0) else l1_ratio
        return total, new_ratio, epsilon / s


def choose_scaling(y, sample_weight, *, loss, penalty, fit_intercept):
    """The scaling of the targets y (n, K) (weighted by sample_weight, or
    None) for an update-rule fit."""
    K = y.shape[1]
    total = y.shape[0] if sample_weight is None else sample_weight.sum()
    if total <= 0:
        return TargetScaling.identity(K, LOSS_POWER[loss])
    mean, var = weighted_moments(y, sample_weight, total)
    return scaling_from_moments(mean, var, loss=loss, penalty=penalty,
                                fit_intercept=fit_intercept)


def weighted_moments(y, sample_weight, total):
    """The weighted means and variances (K,) of the targets y (n, K) (weights
    sample_weight, or None for ones, summing to total > 0). Column by column,
    each contiguous: a target's statistics are then the same bits whether it
    is fitted alone or with others. And MOMENT_CHUNK rows at a time: with all
    rows at once, the column's deviations and a vector of ones were the peak
    memory of a fit on 1,000,000 x 10 (25 % of X; the shuffled order 5 %).
    Up to MOMENT_CHUNK rows, the bits of one np.dot over the column."""
    n, K = y.shape[0], y.shape[1]
    ones = np.ones(min(n, MOMENT_CHUNK)) if sample_weight is None else None

    def chunks(k):      # (weights, contiguous targets) of column k's chunks
        for lo in range(0, n, MOMENT_CHUNK):
            hi = min(lo + MOMENT_CHUNK, n)
            yield (ones[:hi - lo] if ones is not None else sample_weight[lo:hi],
                   np.ascontiguousarray(y[lo:hi, k]))

    mean, var = np.zeros(K), np.zeros(K)
    for k in range(K):
        mean[k] = sum(np.dot(w, yk) for w, yk in chunks(k)) / total
        var[k] = sum(np.dot(w, (yk - mean[k]) ** 2) for w, yk in chunks(k)) / total
    return mean, var


def scaling_from_moments(mean, var, *, loss, penalty, fit_intercept):
    """The scaling of targets with these weighted means and variances (K,)."""
    mean, var = np.asarray(mean, dtype=np.float64), np.asarray(var, dtype=np.float64)
    scale = np.sqrt(np.maximum(var, 0.0))
    tiny = np.finfo(float).tiny ** 0.25
    scale = np.where(np.isfinite(scale) & (scale > tiny), scale, 1.0)
    per_target = loss == "squared_error" and penalty in (None, "l2")
    if not per_target:
        scale = np.full(scale.shape, float(np.sqrt(np.mean(scale**2))))
    shift = mean if fit_intercept else np.zeros(mean.shape)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    return TargetScaling(shift=shift, scale=scale, power=LOSS_POWER[loss])
