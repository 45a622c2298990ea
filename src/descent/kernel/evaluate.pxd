# The evaluation layer: numbers of a whole model over a set of rows, computed
# between epochs (not hot): the divergence reference and the validation score.

from descent._kernels cimport Data, Settings, row_t
from descent.kernel.losses cimport any_loss_grad
from descent.kernel.penalties cimport penalty_value
from descent.kernel.rows cimport any_row_dot, weight


cdef inline double divergence_reference(const Data* D, const Settings* s,
                                        const row_t* idx, Py_ssize_t n,
                                        const double* theta) noexcept nogil:
    # The larger of the objectives of the zero model and of the start point on
    # these rows. An epoch whose objective exceeds it by orders of magnitude
    # is diverging. (The zero model keeps a perfect start point, objective ~0,
    # from flagging ordinary SGD noise.) Reads X only if some coef is not 0.
    cdef Py_ssize_t k, i, j, tt, d = D.d, K = D.K
    cdef double at_zero = 0.0, at_start = 0.0, p, dloss
    cdef bint zero = True
    for j in range(K * (d + 1)):
        if j % (d + 1) != d and theta[j] != 0.0:
            zero = False
            break
    for k in range(n):
        i = idx[k]
        for tt in range(K):
            at_zero += weight(D, i) * any_loss_grad(s.loss, D.y[i * K + tt], 0.0,
                                                    s.epsilon, &dloss)
            p = theta[tt * (d + 1) + d]
            if not zero:
                p += any_row_dot(D, i, theta + tt * (d + 1))
            at_start += weight(D, i) * any_loss_grad(s.loss, D.y[i * K + tt], p,
                                                     s.epsilon, &dloss)
    at_start = at_start / n + penalty_value(s, theta, d, K, d + 1)
    at_zero /= n
    return at_start if at_start > at_zero else at_zero


cdef inline double r2_score_rows(const Data* D, const row_t* idx, Py_ssize_t n,
                                 const double* theta) noexcept nogil:
    # Weighted R^2 of the model theta on the rows idx[0:n] (early stopping),
    # averaged over the targets as RegressorMixin.score does.
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
