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
    Sparse32T, SparseT, TargetsT, row_t,
)
from descent.kernel.losses cimport (
    LossT, PendingLoss, pending_start, pending_total, sample_loss_grad,
    sample_loss_grad_by_feature,
)
from descent.kernel.penalties cimport l1_ratio_of, schedule_eta, update_average
from descent.kernel.rows cimport (
    copy_layout, csr_value, feature_stride, prefetch_ahead, prefetch_ahead_by_feature, row_axpy,
)


cdef inline void clipped_l1(double* v, double* q, double ws, double u) noexcept nogil:
    # Tsuruoka et al.'s clipped shrink of one weight ws * v[0]: towards 0 by
    # what it has not got of u yet (q[0]: what it got), never across it.
    cdef double z = v[0]
    if ws * z > 0.0:
        v[0] = z - (u + q[0]) / ws
        if v[0] < 0.0:
            v[0] = 0.0
    elif ws * z < 0.0:
        v[0] = z + (u - q[0]) / ws
        if v[0] > 0.0:
            v[0] = 0.0
    q[0] += ws * (v[0] - z)


cdef inline void cumulative_l1(LayoutT* lay, const Data* D, Py_ssize_t i, double* v,
                               double* q, double ws, double u) noexcept nogil:
    # clipped_l1 on the row's coordinates (the others catch up on u when a
    # row next touches them).
    cdef Py_ssize_t j, jj, nnz
    if LayoutT is DenseT or LayoutT is Dense32T:
        nnz = D.d
    else:
        nnz = D.indptr[i + 1] - D.indptr[i]
    for jj in range(nnz):
        if LayoutT is DenseT or LayoutT is Dense32T:
            j = jj
        else:
            j = D.indices[D.indptr[i] + jj]
        clipped_l1(v + j, q + j, ws, u)


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


# Averaged SGD keeps its average lazily (but on dense rows with an L1 part,
# below), as scikit-learn does (Bottou 2012, "Stochastic gradient descent
# tricks", section 5.3; sklearn/utils/_weight_vector.pyx.tp): within an
# epoch, avg[0:d] holds aw and ab = (a, b) such that the average of the
# iterates is (aw + a v) / b, and each update of v is compensated in aw
# (aw -= a dv). A sample then costs O(nnz), where averaging v itself costs
# O(d) (measured on 20,000 x 100,000 CSR rows of 50 non-zeros, L2: 43 ->
# 0.7 us a sample; scikit-learn 0.8).
# The average is folded (aw <- (aw + a v) / b, a = 0, b = 1), in O(d): at the
# end of the epoch, when Python reads it; where v absorbs the weight scale
# (below 1e-9: a v would change); and when the weight scale has fallen 1e4
# times below what it was at the last fold (ab[2]), since a v and aw grow
# apart from the average by that factor and the form loses as many digits
# (scikit-learn folds at 1e-9 only: measured, its average 6e-9 off the
# running mean of the iterates under an L2 shrink of 0.75 a sample; with
# these folds, 1e-13: tests/test_sgd_numerics.py).
# With an L1 part each iterate is averaged after its L1 step: its clips are
# compensated too. On CSR rows a coordinate's add and clip are compensated as
# one change (add_clip_averaged), so a weight clipped back to 0 in every
# iterate averages to exactly 0 (an add and a clip compensated apart leave a
# rounding residue); dense rows are averaged as they are (penalties.pxd's
# update_average, O(d) like their update). scikit-learn compensates its adds
# only, so its clips reach back into the iterates already averaged
# (docs/user_guide/sklearn_differences.rst).

cdef inline void average_sample(double* avg, double* ab, double intercept, double ws,
                                Py_ssize_t d) noexcept nogil:
    # The sample's iterate into the average (scikit-learn's add_average, after
    # its changes of v are compensated: a and b), and the intercept's running
    # mean; avg[d + 1] counts the iterates averaged.
    cdef double k, mu
    avg[d + 1] += 1.0
    k = avg[d + 1]
    mu = 1.0 / k
    if k > 1.0:
        ab[1] /= 1.0 - mu
    ab[0] += mu * ab[1] * ws
    avg[d] += (intercept - avg[d]) / k


cdef inline void add_clip_averaged(LayoutT* lay, const Data* D, Py_ssize_t i, double* v,
                                   double* q, double ws, double u, double update,
                                   double* aw, double a) noexcept nogil:
    # A CSR row's add and cumulative_l1's clip, coordinate by coordinate (each
    # coordinate's the same arithmetic as row_axpy's then clipped_l1's), and
    # their net change compensated in the lazy average: a weight back where it
    # was (0 after its clip) leaves aw exactly as it was.
    cdef Py_ssize_t j, k
    cdef double old, c = update / ws
    for k in range(D.indptr[i], D.indptr[i + 1]):
        j = D.indices[k]
        old = v[j]
        if update != 0.0:
            v[j] += c * csr_value(lay, D, k)
        clipped_l1(v + j, q + j, ws, u)
        aw[j] -= a * (v[j] - old)


cdef inline void average_fold(double* avg, double* ab, const double* v,
                              Py_ssize_t d) noexcept nogil:
    # aw <- (aw + a v) / b: the average itself; a = 0, b = 1.
    cdef Py_ssize_t j
    cdef double a = ab[0], inv_b = 1.0 / ab[1]
    if a == 0.0 and inv_b == 1.0:
        return
    for j in range(d):
        avg[j] = (avg[j] + a * v[j]) * inv_b
    ab[0], ab[1] = 0.0, 1.0


cdef inline double shrink_folding(double* v, double ws, double z, double* avg, double* ab,
                                  Py_ssize_t d) noexcept nogil:
    # shrink, folding the lazy average first where it must (see above).
    cdef double zc = z if z > 0.0 else 0.0
    if ws * zc < 1e-9 or ws * zc < ab[2] * 1e-4:
        average_fold(avg, ab, v, d)
        ws = shrink(v, ws, z, d)
        ab[2] = ws
        return ws
    return shrink(v, ws, z, d)


cdef inline void add_and_clip(LayoutT* lay, const Data* D, Py_ssize_t i, Buffers* B,
                              Py_ssize_t tt, double ws, double u, double update,
                              double intercept_step, bint has_l1,
                              bint lazy_average) noexcept nogil:
    # Target tt's add of the sample (update x / ws to v, intercept_step to its
    # intercept) and L1 clip, each change of v compensated in the lazy average.
    cdef Py_ssize_t d = D.d
    cdef double* v = B.theta + tt * (d + 1)
    if lazy_average and has_l1:         # CSR rows (lazy_average)
        add_clip_averaged(lay, D, i, v, B.q + tt * d, ws, u, update,
                          B.avg + tt * (d + 2), B.avg_ab[3 * tt])
    else:
        if update != 0.0:
            row_axpy(lay, D, i, update / ws, v)
        if has_l1:
            cumulative_l1(lay, D, i, v, B.q + tt * d, ws, u)
        if lazy_average and update != 0.0:
            row_axpy(lay, D, i, B.avg_ab[3 * tt] * (-update / ws), B.avg + tt * (d + 2))
    if update != 0.0:
        v[d] += intercept_step


cdef inline double epoch_plain(LossT* kind, LayoutT* lay, TargetsT* targets, const Data* D,
                               const Settings* s, const row_t* idx, Py_ssize_t n,
                               Buffers* B, Progress* P) noexcept nogil:
    # One epoch over the rows idx[0:n]; returns the sum of their weighted losses.
    cdef Py_ssize_t k, i, j, tt, d = D.d, K
    cdef double* v
    cdef double* ab
    cdef double update, ws, loss_sum = 0.0
    cdef PendingLoss pend
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
    cdef bint lazy_average = averaging and (not has_l1 or LayoutT is SparseT
                                            or LayoutT is Sparse32T)
    cdef double fi = 1.0 if s.fit_intercept else 0.0
    for tt in range(K):
        wscale[tt] = 1.0
        if lazy_average:    # avg holds the average itself between epochs
            ab = B.avg_ab + 3 * tt
            ab[0], ab[1], ab[2] = 0.0, 1.0, 1.0
    pending_start(&pend, K)
    for k in range(n):
        i = idx[k]
        prefetch_ahead(lay, D, idx, k, n, B.theta)
        eta = schedule_eta(s, P, eta, t)
        loss_sum += sample_loss_grad(kind, lay, D, s, i, B.theta, K, wscale, dl, &pend)
        if has_l1:
            u += l1r * eta * s.alpha
        for tt in range(K):
            v = B.theta + tt * (d + 1)
            ws = wscale[tt]
            update = -eta * dl[tt]
            if has_l2 and lazy_average:
                ws = shrink_folding(v, ws, 1.0 - eta * shrink_coef, B.avg + tt * (d + 2),
                                    B.avg_ab + 3 * tt, d)
            elif has_l2:
                ws = shrink(v, ws, 1.0 - eta * shrink_coef, d)
            add_and_clip(lay, D, i, B, tt, ws, u, update, update * s.intercept_decay * fi,
                         has_l1, lazy_average)
            if lazy_average and t >= s.average_start:
                average_sample(B.avg + tt * (d + 2), B.avg_ab + 3 * tt, v[d], ws, d)
            elif averaging and t >= s.average_start:
                update_average(B.avg + tt * (d + 2), v, ws, d)
            wscale[tt] = ws
        t += 1.0
    for tt in range(K):
        v = B.theta + tt * (d + 1)
        if lazy_average:
            average_fold(B.avg + tt * (d + 2), B.avg_ab + 3 * tt, v, d)
        if wscale[tt] != 1.0:
            for j in range(d):
                v[j] *= wscale[tt]
            wscale[tt] = 1.0
    P.eta, P.t, P.u = eta, t, u
    return loss_sum + pending_total(&pend)


# Many targets on CSR rows (one-vs-rest classes, the softmax):
# epoch_plain_by_feature runs the epoch on the feature-major copy of the
# model (rows.pxd), W[j * S + t], S = feature_stride(K). The weight scale is
# one for all targets (each shrink multiplies every target's by the same
# factor), and each target's arithmetic is epoch_plain's, in the same order:
# the same results, bit for bit. The copy costs two transpositions of the
# model an epoch (measured: 20 ms at 20 x 100,001, against 300 ms for the
# epoch's rows).

cdef inline double shrink_by_feature(double* W, double ws, double z, Py_ssize_t d,
                                     Py_ssize_t S) noexcept nogil:
    # shrink, for the targets' coefs W[0:d * S] sharing the weight scale ws
    # (the padding is 0 and stays 0).
    cdef Py_ssize_t j
    ws *= z if z > 0.0 else 0.0
    if ws < 1e-9:
        for j in range(d * S):
            W[j] *= ws
        ws = 1.0
    return ws


cdef inline void cumulative_l1_by_feature(LayoutT* lay, const Data* D, Py_ssize_t i,
                                          double* W, double* Q, Py_ssize_t S, double ws,
                                          double u) noexcept nogil:
    # cumulative_l1 for every target, W and Q feature-major.
    cdef Py_ssize_t jj, tt, j
    for jj in range(D.indptr[i], D.indptr[i + 1]):
        j = D.indices[jj] * S
        for tt in range(D.K):
            clipped_l1(W + j + tt, Q + j + tt, ws, u)


cdef inline double epoch_plain_by_feature(LossT* kind, LayoutT* lay, const Data* D,
                                          const Settings* s, const row_t* idx,
                                          Py_ssize_t n, Buffers* B,
                                          Progress* P) noexcept nogil:
    # epoch_plain for CSR rows and K > 1 targets, on B.by_feature (64-byte
    # aligned, padding zeroed); without averaging (Workspace._allocate gives
    # the buffer only then).
    cdef Py_ssize_t k, i, kk, tt, d = D.d, K = D.K
    cdef Py_ssize_t S = feature_stride(K)
    cdef double* W = B.by_feature
    cdef double* Q = B.by_feature + (d + 1) * S
    cdef double* dl = B.dl
    cdef double* step = B.work          # per target: the row's multiple
    cdef double* wj
    cdef double x, update, ws = 1.0, loss_sum = 0.0
    cdef double eta = P.eta, t = P.t, u = P.u
    cdef double l1r = l1_ratio_of(s)
    cdef double shrink_coef = (1.0 - l1r) * s.alpha
    cdef bint has_l2 = s.penalty != NO_PENALTY and l1r < 1.0
    cdef bint has_l1 = s.penalty != NO_PENALTY and l1r > 0.0
    cdef double fi = 1.0 if s.fit_intercept else 0.0
    copy_layout(B.theta, W, K, d + 1, S, True)
    if has_l1:
        copy_layout(B.q, Q, K, d, S, True)
    for k in range(n):
        i = idx[k]
        prefetch_ahead_by_feature(lay, D, idx, k, n, W, S, K)
        eta = schedule_eta(s, P, eta, t)
        loss_sum += sample_loss_grad_by_feature(kind, lay, D, s, i, W, S, ws, dl)
        if has_l1:
            u += l1r * eta * s.alpha
        if has_l2:
            ws = shrink_by_feature(W, ws, 1.0 - eta * shrink_coef, d, S)
        for tt in range(K):
            update = -eta * dl[tt]
            step[tt] = update / ws
            if update != 0.0:
                W[d * S + tt] += update * s.intercept_decay * fi
        for kk in range(D.indptr[i], D.indptr[i + 1]):
            x = csr_value(lay, D, kk)
            wj = W + D.indices[kk] * S
            for tt in range(K):
                wj[tt] += step[tt] * x
        if has_l1:
            cumulative_l1_by_feature(lay, D, i, W, Q, S, ws, u)
        t += 1.0
    if ws != 1.0:
        for kk in range(d * S):
            W[kk] *= ws
    copy_layout(B.theta, W, K, d + 1, S, False)
    if has_l1:
        copy_layout(B.q, Q, K, d, S, False)
    P.eta, P.t, P.u = eta, t, u
    return loss_sum
