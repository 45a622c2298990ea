# The evaluation layer: numbers of a whole model over a set of rows, computed
# between epochs (not hot): its objective, the divergence reference, the
# Hessian-vector product (the stopping rule's probe) and the validation
# scores. Each target's loss and penalty count Data.tw times (scaled targets).

from libc.math cimport NAN

from descent._kernels cimport HINGE, SOFTMAX, SQUARED_HINGE, Data, Settings, row_t
from descent.kernel.losses cimport (
    any_loss_grad, any_sample_loss, constant_curvature, gradient_weight, loss_curvature,
    softmax_probabilities,
)
from descent.kernel.penalties cimport penalty_value
from descent.kernel.feature_major cimport any_row_predictions
from descent.kernel.rows cimport any_row_axpy, any_row_dot, target, true_class, weight


cdef inline double mean_loss_at(const Data* D, const Settings* s, const row_t* idx,
                                Py_ssize_t n, const double* theta, double* z,
                                const double* W=NULL, Py_ssize_t per_feature=0) noexcept nogil:
    # Mean weighted loss of the model theta on the rows idx[0:n] (z: K scratch),
    # read from its feature-major copy W if not NULL (any_row_predictions).
    cdef Py_ssize_t k
    cdef double total = 0.0
    for k in range(n):
        total += any_sample_loss(D, s, idx[k], theta, True, z, W, per_feature)
    return total / n


cdef inline double intercepts_loss(const Data* D, const Settings* s, const row_t* idx,
                                   Py_ssize_t n, const double* theta,
                                   double* work) noexcept nogil:
    # mean_loss_at for a model whose coefs are all 0 and whose intercepts are
    # theta's (theta NULL: all 0); X is not read. A target's loss then depends
    # on its y alone, so each target keeps its last two distinct y and their
    # losses: labels repeat (a class's target is +-1), and rows cost no exp or
    # log (measured, 200,000 rows of 20 classes: 130 ms as a loss per row and
    # target, 10 ms with the last y kept; 1,000,000 rows of 2 classes in
    # random order: 19 ms with the last y, 5 ms with the last two).
    # work: scratch of 5 K.
    cdef Py_ssize_t k, i, tt, c, d = D.d, K = D.K
    cdef double* b = work
    cdef double* seen_y = work + K              # target tt's at 2 tt, 2 tt + 1
    cdef double* seen_loss = work + 3 * K
    cdef double total = 0.0, sw, y, w, dloss
    if s.loss == SOFTMAX:
        for k in range(n):
            total += any_sample_loss(D, s, idx[k], theta, False, work)
        return total / n
    if theta == NULL and D.sw == NULL and D.cw == NULL and HINGE <= s.loss <= SQUARED_HINGE:
        # A margin loss at p = 0 is its value at margin 0, whatever the label:
        # no pass over y (1,000,000 binary rows: 13 ms of a fit's fixed cost).
        for tt in range(K):
            total += D.tw[tt] if D.tw != NULL else 1.0
        return total * any_loss_grad(s.loss, 1.0, 0.0, s.epsilon, &dloss)
    for tt in range(K):
        b[tt] = theta[tt * (d + 1) + d] if theta != NULL else 0.0
        seen_y[2 * tt] = seen_y[2 * tt + 1] = NAN
    for k in range(n):
        i = idx[k]
        sw = weight(D, i)
        for tt in range(K):
            y = target(D, i, tt)
            c = 2 * tt
            if y == seen_y[c + 1]:
                c += 1
            elif y != seen_y[c]:       # the older one makes way
                seen_y[c + 1], seen_loss[c + 1] = seen_y[c], seen_loss[c]
                seen_y[c] = y
                seen_loss[c] = any_loss_grad(s.loss, y, b[tt], s.epsilon, &dloss)
            w = gradient_weight(D, tt, sw, y)
            if D.tw != NULL:
                w *= D.tw[tt]
            total += w * seen_loss[c]
    return total / n


cdef inline double objective_at(const Data* D, const Settings* s, const row_t* idx,
                                Py_ssize_t n, const double* theta, double* z,
                                const double* W=NULL, Py_ssize_t per_feature=0) noexcept nogil:
    # The training objective of theta on the rows idx[0:n], exactly; without
    # reading X where every coef is 0 (intercepts_loss: the zero model whose
    # objective scales tol, descent._probe.StationarityProbe.start_scale, was
    # a pass over X of every fit off scikit-learn's path). z: scratch of 5 K;
    # W: as mean_loss_at.
    cdef Py_ssize_t j
    for j in range(D.K * (D.d + 1)):
        if j % (D.d + 1) != D.d and theta[j] != 0.0:
            return mean_loss_at(D, s, idx, n, theta, z, W, per_feature) + penalty_value(
                s, theta, D.d, D.K, D.d + 1, D.tw)
    return intercepts_loss(D, s, idx, n, theta, z)


cdef inline double divergence_reference(const Data* D, const Settings* s,
                                        const row_t* idx, Py_ssize_t n,
                                        const double* theta, double* work) noexcept nogil:
    # The larger of the objectives of the zero model and of the start point on
    # these rows. An epoch whose objective exceeds it by orders of magnitude
    # is diverging. (The zero model keeps a perfect start point, objective ~0,
    # from flagging ordinary SGD noise.) Reads X only if some coef is not 0.
    # work: scratch of 5 K.
    cdef Py_ssize_t j, d = D.d, K = D.K
    cdef double at_zero, at_start
    cdef bint zero_coefs = True, zero_intercepts = True
    for j in range(K * (d + 1)):
        if theta[j] != 0.0:
            if j % (d + 1) == d:
                zero_intercepts = False
            else:
                zero_coefs = False
                break
    at_zero = intercepts_loss(D, s, idx, n, NULL, work)
    if zero_coefs and zero_intercepts:
        return at_zero          # the start point is the zero model
    if zero_coefs:
        at_start = intercepts_loss(D, s, idx, n, theta, work)
    else:
        at_start = mean_loss_at(D, s, idx, n, theta, work)
    at_start += penalty_value(s, theta, d, K, d + 1, D.tw)
    return at_start if at_start > at_zero else at_zero


cdef inline void hessian_vector(const Data* D, const Settings* s, const row_t* idx,
                                Py_ssize_t n, const double* theta, const double* v,
                                double* out, double* work) noexcept nogil:
    # out = the Gauss-Newton matrix of the mean weighted loss at theta times v
    # (K blocks of d + 1): mean_i (x_i, 1) (x) H_i z_i, z_it = x_i . v_t +
    # v_t,intercept, H_i the loss's second derivatives in the predictions
    # (losses.loss_curvature; the softmax's diag(s) - s s', s its
    # probabilities), weighted as the gradient is. out is zeroed first; work:
    # scratch of 3 K.
    cdef Py_ssize_t k, i, j, tt, d = D.d, K = D.K
    cdef double sw, c, sz, y
    cdef double* z = work
    cdef double* p = work + K
    cdef bint constant = constant_curvature(s.loss)
    for j in range(K * (d + 1)):
        out[j] = 0.0
    for k in range(n):
        i = idx[k]
        sw = weight(D, i)
        for tt in range(K):
            z[tt] = v[tt * (d + 1) + d] + any_row_dot(D, i, v + tt * (d + 1))
            p[tt] = 0.0 if constant else (theta[tt * (d + 1) + d]
                                          + any_row_dot(D, i, theta + tt * (d + 1)))
        if s.loss == SOFTMAX:
            softmax_probabilities(p, K)
            sz = 0.0
            for tt in range(K):
                sz += p[tt] * z[tt]
            for tt in range(K):
                z[tt] = sw * p[tt] * (z[tt] - sz)
        else:
            for tt in range(K):
                y = target(D, i, tt)
                c = gradient_weight(D, tt, sw, y) * loss_curvature(s.loss, y, p[tt],
                                                                   s.epsilon)
                z[tt] *= c
        for tt in range(K):
            any_row_axpy(D, i, z[tt], out + tt * (d + 1))
            out[tt * (d + 1) + d] += z[tt]
    for j in range(K * (d + 1)):
        out[j] /= n


cdef inline double accuracy_rows(const Data* D, const row_t* idx, Py_ssize_t n,
                                 const double* theta, double* z, const double* W=NULL,
                                 Py_ssize_t per_feature=0) noexcept nogil:
    # The weighted accuracy of the model theta on the rows idx[0:n] (a
    # classifier's early stopping, as ClassifierMixin.score): one target
    # predicts y > 0 where x . w + b > 0; K targets the first largest one's
    # class, right if its y is the row's largest. K targets read from the
    # feature-major copy W if not NULL (any_row_predictions). z: scratch of K.
    cdef Py_ssize_t k, i, tt, best, d = D.d, K = D.K
    cdef double sw, sw_sum = 0.0, right = 0.0, p, top
    for k in range(n):
        i = idx[k]
        sw = weight(D, i)
        sw_sum += sw
        if K == 1:
            p = theta[d] + any_row_dot(D, i, theta)
            if (p > 0.0) == (target(D, i, 0) > 0.0):
                right += sw
            continue
        best = 0
        any_row_predictions(D, i, theta, W, per_feature, z)
        for tt in range(K):
            p = z[tt]
            if tt == 0 or p > top:
                top, best = p, tt
        if best == true_class(D, i):
            right += sw
    return right / sw_sum if sw_sum > 0.0 else 0.0


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
            ymean += weight(D, i) * target(D, i, tt)
        ymean /= sw_sum
        for k in range(n):
            i = idx[k]
            r = target(D, i, tt) - any_row_dot(D, i, theta + tt * (d + 1)) - theta[tt * (d + 1) + d]
            ss_res += weight(D, i) * r * r
            r = target(D, i, tt) - ymean
            ss_tot += weight(D, i) * r * r
        if ss_tot == 0.0:
            total += 1.0 if ss_res == 0.0 else 0.0
        else:
            total += 1.0 - ss_res / ss_tot
    return total / K
