# The PLAIN loop family: one epoch of per-sample SGD with scikit-learn's
# update, its defaults and its results,
#   w <- (1 - eta alpha (1 - l1_ratio)) w - eta dloss x,   b <- b - eta dloss,
# then the L1 part of the penalty.
#
# The L2 shrink is O(1): w = wscale * v, and only the scalar wscale is
# multiplied (Bottou's svmsgd; Shalev-Shwartz et al. 2007). The L1 part is
# the cumulative penalty of Tsuruoka, Tsujii & Ananiadou (2009): u is the
# total L1 shrink every weight could have had, q[j] what weight j really got,
# so weights are clipped at zero and become exactly 0, and a CSR row touches
# only its own coordinates (O(nnz) per sample). Each target has its own v,
# wscale and q; all are updated from the same row.

from descent._kernels cimport (
    NO_PENALTY, Buffers, Data, Dense32T, DenseT, LayoutT, OneTargetT, Progress, Settings,
    TargetsT, row_t,
)
from descent.kernel.losses cimport LossT, sample_loss_grad
from descent.kernel.penalties cimport l1_ratio_of, schedule_eta, update_average
from descent.kernel.rows cimport prefetch_ahead, row_axpy


cdef inline void cumulative_l1(LayoutT* lay, const Data* D, Py_ssize_t i, double* v,
                               double* q, double ws, double u) noexcept nogil:
    # Tsuruoka et al.'s clipped shrink of the row's coordinates (the others
    # catch up on u when a row next touches them): weight j = ws * v[j] moves
    # towards 0 by what it has not got of u yet, never across it.
    cdef Py_ssize_t j, jj, nnz
    cdef double z
    if LayoutT is DenseT or LayoutT is Dense32T:
        nnz = D.d
    else:
        nnz = D.indptr[i + 1] - D.indptr[i]
    for jj in range(nnz):
        if LayoutT is DenseT or LayoutT is Dense32T:
            j = jj
        else:
            j = D.indices[D.indptr[i] + jj]
        z = v[j]
        if ws * z > 0.0:
            v[j] = z - (u + q[j]) / ws
            if v[j] < 0.0:
                v[j] = 0.0
        elif ws * z < 0.0:
            v[j] = z + (u - q[j]) / ws
            if v[j] > 0.0:
                v[j] = 0.0
        q[j] += ws * (v[j] - z)


cdef inline double shrink(double* v, double ws, double z, Py_ssize_t d) noexcept nogil:
    # The weight scale after an L2 shrink by z (clamped at 0: never a negative
    # scale when eta * alpha is too big); folded into v when it gets small.
    cdef Py_ssize_t j
    ws *= z if z > 0.0 else 0.0
    if ws < 1e-9:
        for j in range(d):
            v[j] *= ws
        ws = 1.0
    return ws


cdef inline double epoch_plain(LossT* kind, LayoutT* lay, TargetsT* targets, const Data* D,
                               const Settings* s, const row_t* idx, Py_ssize_t n,
                               Buffers* B, Progress* P) noexcept nogil:
    # One epoch over the rows idx[0:n]; returns the sum of their weighted losses.
    cdef Py_ssize_t k, i, j, tt, d = D.d, K
    cdef double* v
    cdef double update, ws, loss_sum = 0.0
    cdef double one_wscale[1]
    cdef double one_dl[1]
    cdef double* wscale
    cdef double* dl
    if TargetsT is OneTargetT:
        K, wscale, dl = 1, one_wscale, one_dl
    else:
        K, wscale, dl = D.K, B.wscale, B.dl
    cdef double eta = P.eta, t = P.t, u = P.u
    cdef double l1r = l1_ratio_of(s)
    cdef double shrink_coef = (1.0 - l1r) * s.alpha
    cdef bint has_l2 = s.penalty != NO_PENALTY and l1r < 1.0
    cdef bint has_l1 = s.penalty != NO_PENALTY and l1r > 0.0
    cdef bint averaging = s.average_start > 0.0
    cdef double fi = 1.0 if s.fit_intercept else 0.0
    for tt in range(K):
        wscale[tt] = 1.0
    for k in range(n):
        i = idx[k]
        prefetch_ahead(lay, D, idx, k, n, B.theta)
        eta = schedule_eta(s, eta, t)
        loss_sum += sample_loss_grad(kind, lay, D, s, i, B.theta, K, wscale, dl)
        if has_l1:
            u += l1r * eta * s.alpha
        for tt in range(K):
            v = B.theta + tt * (d + 1)
            ws = wscale[tt]
            update = -eta * dl[tt]
            if has_l2:
                ws = shrink(v, ws, 1.0 - eta * shrink_coef, d)
            if update != 0.0:
                row_axpy(lay, D, i, update / ws, v)
                v[d] += update * s.intercept_decay * fi
            if has_l1:
                cumulative_l1(lay, D, i, v, B.q + tt * d, ws, u)
            if averaging and t >= s.average_start:
                update_average(B.avg + tt * (d + 2), v, ws, d)
            wscale[tt] = ws
        t += 1.0
    for tt in range(K):
        if wscale[tt] != 1.0:
            v = B.theta + tt * (d + 1)
            for j in range(d):
                v[j] *= wscale[tt]
            wscale[tt] = 1.0
    P.eta, P.t, P.u = eta, t, u
    return loss_sum
