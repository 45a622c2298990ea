# The evaluation layer: numbers of a whole model over a set of rows, computed
# between epochs (not hot): its objective, the divergence reference, the
# curvature along a direction (the stopping rule's probe) and the validation
# score. Each target's loss and penalty count Data.tw times (scaled targets).

from descent._kernels cimport Data, Settings, row_t
from descent.kernel.losses cimport any_loss_grad
from descent.kernel.penalties cimport penalty_value
from descent.kernel.rows cimport any_row_axpy, any_row_dot, weight


cdef inline double target_weight(const Data* D, Py_ssize_t tt) noexcept nogil:
    return 1.0 if D.tw == NULL else D.tw[tt]


cdef inline double mean_loss_at(const Data* D, const Settings* s, const row_t* idx,
                                Py_ssize_t n, const double* theta) noexcept nogil:
    # Mean weighted loss of the model theta on the rows idx[0:n].
    cdef Py_ssize_t k, i, tt, d = D.d, K = D.K
    cdef double total = 0.0, p, dloss
    for k in range(n):
        i = idx[k]
        for tt in range(K):
            p = theta[tt * (d + 1) + d] + any_row_dot(D, i, theta + tt * (d + 1))
            total += (weight(D, i) * target_weight(D, tt)
                      * any_loss_grad(s.loss, D.y[i * K + tt], p, s.epsilon, &dloss))
    return total / n


cdef inline double objective_at(const Data* D, const Settings* s, const row_t* idx,
                                Py_ssize_t n, const double* theta) noexcept nogil:
    # The training objective of theta on the rows idx[0:n], exactly.
    return mean_loss_at(D, s, idx, n, theta) + penalty_value(s, theta, D.d, D.K,
                                                             D.d + 1, D.tw)


cdef inline double divergence_reference(const Data* D, const Settings* s,
                                        const row_t* idx, Py_ssize_t n,
                                        const double* theta) noexcept nogil:
    # The larger of the objectives of the zero model and of the start point on
    # these rows. An epoch whose objective exceeds it by orders of magnitude
    # is diverging. (The zero model keeps a perfect start point, objective ~0,
    # from flagging ordinary SGD noise.) Reads X only if some coef is not 0.
    cdef Py_ssize_t k, i, j, tt, d = D.d, K = D.K
    cdef double at_zero = 0.0, at_start = 0.0, p, dloss, w
    cdef bint zero = True
    for j in range(K * (d + 1)):
        if j % (d + 1) != d and theta[j] != 0.0:
            zero = False
            break
    for k in range(n):
        i = idx[k]
        for tt in range(K):
            w = weight(D, i) * target_weight(D, tt) if D.tw != NULL else weight(D, i)
            at_zero += w * any_loss_grad(s.loss, D.y[i * K + tt], 0.0, s.epsilon, &dloss)
            p = theta[tt * (d + 1) + d]
            if not zero:
                p += any_row_dot(D, i, theta + tt * (d + 1))
            at_start += w * any_loss_grad(s.loss, D.y[i * K + tt], p, s.epsilon, &dloss)
    at_start = at_start / n + penalty_value(s, theta, d, K, d + 1, D.tw)
    at_zero /= n
    return at_start if at_start > at_zero else at_zero


cdef inline void curvature(const Data* D, const row_t* idx, Py_ssize_t n,
                           const double* v, double* out) noexcept nogil:
    # out[t] = mean_i sw_i (x_i . v_t + v_t,intercept)^2: the curvature of a
    # squared loss along the direction v (K blocks of d + 1).
    cdef Py_ssize_t k, i, tt, d = D.d, K = D.K
    cdef double p
    for tt in range(K):
        out[tt] = 0.0
    for k in range(n):
        i = idx[k]
        for tt in range(K):
            p = v[tt * (d + 1) + d] + any_row_dot(D, i, v + tt * (d + 1))
            out[tt] += weight(D, i) * p * p
    for tt in range(K):
        out[tt] /= n


cdef inline void hessian_vector(const Data* D, const row_t* idx, Py_ssize_t n,
                                const double* v, double* out) noexcept nogil:
    # out_t = mean_i sw_i (x_i . v_t + v_t,intercept) (x_i, 1): a squared loss's
    # Hessian times v (K blocks of d + 1); out is zeroed first.
    cdef Py_ssize_t k, i, j, tt, d = D.d, K = D.K
    cdef double p
    for j in range(K * (d + 1)):
        out[j] = 0.0
    for k in range(n):
        i = idx[k]
        for tt in range(K):
            p = weight(D, i) * (v[tt * (d + 1) + d] + any_row_dot(D, i, v + tt * (d + 1)))
            any_row_axpy(D, i, p, out + tt * (d + 1))
            out[tt * (d + 1) + d] += p
    for j in range(K * (d + 1)):
        out[j] /= n


cdef inline double r2_score_rows(const Data* D, const row_t* idx, Py_ssize_t n,
                                 const double* theta) noexcept nogil:
    # Weighted R^2 of the model theta on the rows idx[0:n] (early stopping),
    # averaged over the targets as RegressorMixin.score does. (R^2 does not
    # change when a target is scaled and shifted: scaled targets need nothing.)
    cdef Py_ssize_t k, i, tt, d = D.d, K = D.K
    cdef double sw_sum, ymean, ss_res, ss_tot, r, total = 0.0
    for tt in range(K):
        sw_sum = ymean = ss_res = ss_tot = 0.0
        for k in range(n):
            i = idx[k]
            sw_sum += weight(D, i)
            ymean += weight(D, i) * D.y[i * K + tt]
        ymean /= sw_sum
        for k in range(n):
            i = idx[k]
            r = D.y[i * K + tt] - any_row_dot(D, i, theta + tt * (d + 1)) - theta[tt * (d + 1) + d]
            ss_res += weight(D, i) * r * r
            r = D.y[i * K + tt] - ymean
            ss_tot += weight(D, i) * r * r
        if ss_tot == 0.0:
            total += 1.0 if ss_res == 0.0 else 0.0
        else:
            total += 1.0 - ss_res / ss_tot
    return total / K
