# The losses layer: each loss's value and derivative with scikit-learn's
# definitions, and a sample's loss and gradient for every target, clipped.
#
# Each loss is a tag type of the fused type LossT, so that every training
# loop is compiled once per loss with the loss inlined: no per-sample switch
# (scikit-learn's SGD makes a virtual call per sample instead). A new loss is
# a tag, a branch in loss_grad, a branch in any_loss_grad, and its Loss code.

from libc.math cimport fabs, sqrt

from descent._kernels cimport (
    EPSILON_INSENSITIVE, HUBER, SQUARED_ERROR, Data, LayoutT, Settings,
)
from descent.kernel.rows cimport row_dot, row_sqnorm, weight


ctypedef struct SquaredErrorT:
    char unused
ctypedef struct HuberT:
    char unused
ctypedef struct EpsilonInsensitiveT:
    char unused
ctypedef struct SquaredEpsilonInsensitiveT:
    char unused

ctypedef fused LossT:
    SquaredErrorT
    HuberT
    EpsilonInsensitiveT
    SquaredEpsilonInsensitiveT


cdef inline double loss_grad(LossT* kind, double y, double p, double eps,
                             double* dloss) noexcept nogil:
    # The loss of prediction p for target y; dloss[0] = d loss / d p.
    cdef double r = p - y
    cdef double a = fabs(r)
    if LossT is SquaredErrorT:
        dloss[0] = r
        return 0.5 * r * r
    elif LossT is HuberT:
        if a <= eps:
            dloss[0] = r
            return 0.5 * r * r
        dloss[0] = eps if r > 0 else -eps
        return eps * a - 0.5 * eps * eps
    elif LossT is EpsilonInsensitiveT:
        if r > eps:
            dloss[0] = 1.0
        elif r < -eps:
            dloss[0] = -1.0
        else:
            dloss[0] = 0.0
        return a - eps if a > eps else 0.0
    else:
        if r > eps:
            dloss[0] = 2.0 * (r - eps)
        elif r < -eps:
            dloss[0] = 2.0 * (r + eps)
        else:
            dloss[0] = 0.0
        return (a - eps) * (a - eps) if a > eps else 0.0


cdef inline double any_loss_grad(int loss, double y, double p, double eps,
                                 double* dloss) noexcept nogil:
    # loss_grad with the loss chosen at run time, for code that is not hot.
    if loss == SQUARED_ERROR:
        return loss_grad(<SquaredErrorT*>NULL, y, p, eps, dloss)
    elif loss == HUBER:
        return loss_grad(<HuberT*>NULL, y, p, eps, dloss)
    elif loss == EPSILON_INSENSITIVE:
        return loss_grad(<EpsilonInsensitiveT*>NULL, y, p, eps, dloss)
    return loss_grad(<SquaredEpsilonInsensitiveT*>NULL, y, p, eps, dloss)


cdef inline double clip_factor(const Settings* s, double gnorm) noexcept nogil:
    # torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) if above.
    if gnorm > s.clip_norm:
        return s.clip_norm / (gnorm + 1e-6)
    return 1.0


cdef inline double sample_loss_grad(LossT* kind, LayoutT* lay, const Data* D,
                                    const Settings* s, Py_ssize_t i, const double* theta,
                                    Py_ssize_t K, const double* wscale,
                                    double* dl) noexcept nogil:
    # For sample i and each target t: dl[t] = sw_i dloss(y_it, x_i . w_t + b_t),
    # clipped jointly (the sample's gradient is dl (x) (x_i, 1)); returns
    # sum_t sw_i loss_it. theta holds K blocks of (w_t, b_t); the coefs are
    # wscale[t] * w_t when wscale is given (the PLAIN loop's weight scale).
    # (D.tw weighs each target's loss in the returned sum, not its gradient.)
    cdef Py_ssize_t tt, d = D.d
    cdef double p, y, loss, loss_sum = 0.0, sq = 0.0, f
    cdef double sw = weight(D, i)
    for tt in range(K):
        p = row_dot(lay, D, i, theta + tt * (d + 1))
        if wscale != NULL:
            p *= wscale[tt]
        p += theta[tt * (d + 1) + d]
        y = D.y[i * D.K + tt]
        loss = loss_grad(kind, y, p, s.epsilon, &dl[tt])
        loss_sum += sw * loss if D.tw == NULL else sw * D.tw[tt] * loss
        dl[tt] = sw * dl[tt]
        sq += dl[tt] * dl[tt]
    if s.clip_norm > 0.0:
        f = clip_factor(s, sqrt(sq) * sqrt(row_sqnorm(lay, D, i)
                                           + (1.0 if s.fit_intercept else 0.0)))
        for tt in range(K):
            dl[tt] *= f
    return loss_sum
