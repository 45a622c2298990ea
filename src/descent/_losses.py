"""The losses by name: what the estimators need to know of each beyond its
kernel code (``descent/kernel/losses.pxd`` holds the math).

Each :class:`LossInfo` says which kernel loss a name runs, the parameter the
kernel reads as ``Settings.epsilon`` (a fixed threshold for the hinges, the
estimator's ``epsilon`` for the regression losses that take one), a bound on
the loss's second derivative in the prediction (the curvature the default
steps "c/L", "c/R" and "c/B" of ``descent._plan`` scale with; 1 for the losses
whose derivative jumps, as for least squares), and whether it is a
classification loss and has probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _kernels

Loss = _kernels.Loss


@dataclass(frozen=True)
class LossInfo:
    code: int
    threshold: float | None    # the fixed Settings.epsilon; None: the estimator's epsilon
    curvature: float           # sup of d^2 loss / d p^2 (per target for the softmax)
    classification: bool
    probabilities: bool = False
    bounded_dloss: bool = True      # |d loss / d p| bounded (not for squared residuals)
    # Whether the stationarity check (descent._stopping) runs: its quadratic
    # model of the objective (the Gauss-Newton curvature) is trusted. Not for
    # the hinges and the modified Huber loss, whose curvature is 0 or jumps
    # across the margin: their model's gap overshot the objective itself
    # (measured, iris and breast cancer), so scikit-learn's rule alone. (A
    # line search alone as their check, tried: the default linear SVM of
    # iris warned 24 % above its minimum at 0.97 accuracy, and scikit-learn's
    # own n_iter_ tests failed.)
    probe: bool = True
    # Whether the check's quadratic model (descent._probe) bounds the gap from
    # below, the loss's curvature at most the model's. Not for the
    # epsilon-insensitive loss, flat but for its kinks: with the squared
    # loss's curvature standing in, the model read 6.7-25.6 % above the
    # minimum for fits 0.035-0.085 % above it (make_regression 1,000 x 20,
    # noise 1, measured): its check is the search for a lower point alone.
    model: bool = True
    # Whether that model's decrease is a lower bound of the gap (its curvature
    # at least the loss's: the squared loss, Huber's capped at 1, the squared
    # epsilon-insensitive's 2): the warnings say "at least" of it. Not for the
    # log-loss, whose model takes the local Hessian (it said 387.9 % for a fit
    # 94.7 % above its minimum, measured): its warnings state what real points
    # prove (descent._probe.Gap.proven).
    bound: bool = True


LOSSES = {
    "squared_error": LossInfo(Loss.SQUARED_ERROR, 0.0, 1.0, False, bounded_dloss=False),
    "huber": LossInfo(Loss.HUBER, None, 1.0, False),
    "epsilon_insensitive": LossInfo(Loss.EPSILON_INSENSITIVE, None, 1.0, False, model=False),
    "squared_epsilon_insensitive": LossInfo(Loss.SQUARED_EPSILON_INSENSITIVE, None, 2.0,
                                            False, bounded_dloss=False),
    # scikit-learn's Hinge(1.0), Hinge(0.0) and SquaredHinge(1.0)
    "hinge": LossInfo(Loss.HINGE, 1.0, 1.0, True, probe=False),
    "perceptron": LossInfo(Loss.HINGE, 0.0, 1.0, True, probe=False),
    "squared_hinge": LossInfo(Loss.SQUARED_HINGE, 1.0, 2.0, True, bounded_dloss=False,
                              probe=False),
    # sigma'(p) <= 1/4; the softmax's Hessian diag(s) - s s' has norm <= 1/2
    "log_loss": LossInfo(Loss.LOG_LOSS, 0.0, 0.25, True, probabilities=True, bound=False),
    "modified_huber": LossInfo(Loss.MODIFIED_HUBER, 0.0, 2.0, True, probabilities=True,
                               probe=False),
}
SOFTMAX = LossInfo(Loss.SOFTMAX, 0.0, 0.5, True, probabilities=True, bound=False)
REGRESSION_LOSSES = tuple(name for name, info in LOSSES.items() if not info.classification)


class LossTable:
    """scikit-learn's ``loss_functions`` table: name -> (name, parameter) for
    the losses with a threshold (the hinges', the perceptron's) or an
    ``epsilon``, (name,) for the others. On the class, a dict with the default
    epsilon 0.1 (scikit-learn's class attribute); on an estimator, with its
    ``epsilon``."""

    def __init__(self, losses):
        self.losses = losses

    def __get__(self, est, owner=None):
        epsilon = 0.1 if est is None else est.epsilon
        return {name: (name, epsilon) if info.threshold is None
                else (name, info.threshold) if info.classification and not info.probabilities
                else (name,)
                for name, info in self.losses.items()}


def loss_info(loss, multinomial=False):
    """The LossInfo of a loss name (``multinomial``: the softmax of log_loss)."""
    return SOFTMAX if multinomial else LOSSES[loss]


def loss_parameter(loss, epsilon):
    """What the kernel reads as Settings.epsilon for this loss."""
    threshold = LOSSES[loss].threshold
    return float(epsilon) if threshold is None else threshold
