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

from libc.math cimport fabs

from descent._kernels cimport (
    NO_PENALTY, Buffers, Data, Dense32T, DenseT, LayoutT, Norms, OneTargetT, Progress,
    Settings, Sparse32T, SparseT, TargetsT, row_t,
)
from descent.kernel.losses cimport (
    LossT, PendingLoss, pending_start, pending_total, sample_loss_grad,
    sample_loss_grad_by_feature,
)
from descent.kernel.penalties cimport l1_ratio_of, schedule_eta, update_average
from descent.kernel.feature_major cimport (
    add_by_feature, copy_layout, feature_stride, prefetch_ahead_by_feature,
)
from descent.kernel.rows cimport (
    csr_value, dense_axpy_sqnorm, dense_axpy_sqnorm2, prefetch_ahead, row_axpy,
)
from descent.kernel.vectors cimport dot


# The running penalty. scikit-learn's stopping rule reads each epoch's
# running objective: each sample's loss plus the penalty of the model the
# sample meets, averaged over the epoch (objective_sum in
# sklearn/linear_model/_sgd_fast.pyx.tp), with the norms its WeightVector
# keeps (sklearn/utils/_weight_vector.pyx.tp): exact when a training call
# starts, set by each add to the norms of the row's coordinates after it (all
# of them for a dense row; a CSR row's alone, which are not the model's),
# scaled with the weights, left as they are by the L1 clip. The PLAIN loop
# keeps the same norms (Norms.seen_*: carried from epoch to epoch of a
# Workspace, as scikit-learn's within a call) and the same sum
# (Progress.penalty_sum; Workspace.epoch adds it to the losses'), so that its
# fits stop where scikit-learn's do. A dense row's norms come out of the loop
# of its add (rows.dense_axpy_sqnorm) or of its L1 clip, a CSR row's out of
# csr_add_clip's. (They are not the model's after an L1 clip: under a strong L1
# penalty this objective can be orders of magnitude above the model's, which
# is why divergence is judged on the penalty at the end of the epoch.)

cdef inline double abs_sum(const double* v, Py_ssize_t d) noexcept nogil:
    cdef Py_ssize_t j
    cdef double total = 0.0
    for j in range(d):
        total += fabs(v[j])
    return total


cdef inline void norms_start(Norms* N, const double* v, Py_ssize_t d) noexcept nogil:
    # The norms of the coefs v (the weight scale 1): a training call's start.
    N.seen_sq = dot(v, v, d)
    N.seen_l1 = abs_sum(v, d)


cdef inline double running_penalty(const Norms* N, const Settings* s, double l1r,
                                   Py_ssize_t K, const double* tw,
                                   double* per_target) noexcept nogil:
    # The penalty the sample about to be met counts, over the K targets
    # (target t's weighed by tw[t] if tw is given, as penalties.penalty_value);
    # with per_target, target t's (unweighed) also added to per_target[K + t].
    cdef Py_ssize_t tt
    cdef double total = 0.0, p
    for tt in range(K):
        p = s.alpha * ((1.0 - l1r) * 0.5 * N[tt].seen_sq + l1r * N[tt].seen_l1)
        total += p if tw == NULL else tw[tt] * p
        if per_target != NULL:
            per_target[K + tt] += p
    return total


cdef inline void per_target_start(double* per_target, Py_ssize_t K) noexcept nogil:
    # An epoch's per-target sums (Buffers.per_target) from 0.
    cdef Py_ssize_t tt
    if per_target != NULL:
        for tt in range(2 * K):
            per_target[tt] = 0.0


cdef inline void norms_shrunk(Norms* N, double z) noexcept nogil:
    # The coefs' norms after their shrink by z (clamped at 0, as shrink's).
    cdef double zc = z if z > 0.0 else 0.0
    N.seen_sq *= zc * zc
    N.seen_l1 *= zc


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
                               double* q, double ws, double u, double* norms) noexcept nogil:
    # clipped_l1 on the row's coordinates (the others catch up on u when a
    # row next touches them); with norms, |v|^2 and |v|_1 of the coordinates
    # before their clip into norms[0], norms[1].
    cdef Py_ssize_t j, jj, nnz
    cdef double sq = 0.0, l1 = 0.0
    if LayoutT is DenseT or LayoutT is Dense32T:
        nnz = D.d
    else:
        nnz = D.indptr[i + 1] - D.indptr[i]
    for jj in range(nnz):
        if LayoutT is DenseT or LayoutT is Dense32T:
            j = jj
        else:
            j = D.indices[D.indptr[i] + jj]
        if norms != NULL:
            sq += v[j] * v[j]
            l1 += fabs(v[j])
        clipped_l1(v + j, q + j, ws, u)
    if norms != NULL:
        norms[0], norms[1] = sq, l1


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


cdef inline void csr_add_clip(LayoutT* lay, const Data* D, Py_ssize_t i, double* v,
                              double* q, double ws, double u, double update, bint has_l1,
                              double* aw, double a, Norms* N) noexcept nogil:
    # A CSR row's add (update x / ws) and, with has_l1, cumulative_l1's clip,
    # coordinate by coordinate (each coordinate's arithmetic that of row_axpy
    # then clipped_l1: the rows are canonical, no column twice). With aw, the
    # net change of each weight compensated in the lazy average (a weight back
    # where it was, 0 after its clip, leaves aw exactly as it was). With N
    # and a non-zero update, N's norms set by the add (the running penalty).
    cdef Py_ssize_t j, k
    cdef double old, added, c = update / ws, sq = 0.0, l1 = 0.0
    for k in range(D.indptr[i], D.indptr[i + 1]):
        j = D.indices[k]
        old = v[j]
        if update != 0.0:
            v[j] += c * csr_value(lay, D, k)
        added = v[j]
        if N != NULL:
            sq += added * added
            if has_l1:
                l1 += fabs(added)
        if has_l1:
            clipped_l1(v + j, q + j, ws, u)
        if aw != NULL:
            aw[j] -= a * (v[j] - old)
    if N != NULL and update != 0.0:
        N.seen_sq = sq * (ws * ws)
        N.seen_l1 = l1 * ws


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
                              double intercept_step, bint has_l1, bint lazy_average,
                              Norms* N) noexcept nogil:
    # Target tt's add of the sample (update x / ws to v, intercept_step to its
    # intercept) and L1 clip, each change of v compensated in the lazy average,
    # N's norms set by the add (if N is not NULL: the running penalty).
    cdef Py_ssize_t d = D.d
    cdef double* v = B.theta + tt * (d + 1)
    cdef double norms[2]
    if LayoutT is SparseT or LayoutT is Sparse32T:
        csr_add_clip(lay, D, i, v, B.q + tt * d, ws, u, update, has_l1,
                     B.avg + tt * (d + 2) if lazy_average and has_l1 else NULL,
                     B.avg_ab[3 * tt] if lazy_average and has_l1 else 0.0, N)
    elif N == NULL:
        if update != 0.0:
            row_axpy(lay, D, i, update / ws, v)
        if has_l1:
            cumulative_l1(lay, D, i, v, B.q + tt * d, ws, u, NULL)
    elif has_l1:        # the norms after the add from the clip's pass
        if update != 0.0:
            row_axpy(lay, D, i, update / ws, v)
        cumulative_l1(lay, D, i, v, B.q + tt * d, ws, u, norms)
        if update != 0.0:
            N.seen_sq, N.seen_l1 = norms[0] * (ws * ws), norms[1] * ws
    elif update != 0.0:
        N.seen_sq = dense_axpy_sqnorm(lay, D, i, update / ws, v) * (ws * ws)
    if lazy_average and not has_l1 and update != 0.0:
        row_axpy(lay, D, i, B.avg_ab[3 * tt] * (-update / ws), B.avg + tt * (d + 2))
    if update != 0.0:
        v[d] += intercept_step


cdef inline void add_dense_targets(LayoutT* lay, const Data* D, Py_ssize_t i, Buffers* B,
                                   Py_ssize_t K, double* wscale, const double* dl,
                                   double eta, double z, bint has_l2,
                                   double intercept_decay, double fi,
                                   Norms* N) noexcept nogil:
    # step_targets's steps for a dense row, no L1 part, no averaging, with
    # the running penalty's norms (N): each target's shrink, then the adds of
    # two targets at a time in one pass over the row
    # (vectors.axpy_sqnorm2; the predictions too are two at a time,
    # vectors.dot2), each target's arithmetic add_and_clip's (the same bits).
    # Taken one at a time, each target's dot product and add waited on its one
    # chain of sums (a C model of the 10 targets' products and adds of a row of
    # 100: 630 ns, in pairs 280-350). Measured (2-vCPU AMD EPYC VM; per-sample
    # log-loss, dense 200,000 x 100, 10 classes, s an epoch, 5 interleaved
    # pairs, medians, one at a time / pairs): one-vs-rest 0.117 / 0.098, the
    # softmax 0.111 / 0.088, one-vs-rest on float32 rows 0.159 / 0.104; 3
    # classes at d = 10 0.035 / 0.033; 5 classes at d = 1,000 (ddot's range)
    # 0.114 / 0.102.
    # A single target (K = 1; wscale and dl epoch_plain's own) takes these
    # steps too: through add_and_clip's branches GCC called add_and_clip and
    # axpy_sqnorm from the binary loop (each call spills the loop's
    # registers); here axpy_sqnorm's short form inlines
    # (vectors.axpy_sqnorm_from), one call a sample left. Binary log-loss,
    # 1,000,000 x 10, 9 interleaved pairs: 0.085 / 0.059 s an epoch (all
    # faster; with the shuffle's draws ahead, rows.shuffle_indices, about 2.5
    # ms of it); 200,000 x 100: 0.026 / 0.024 (7 pairs).
    cdef Py_ssize_t tt, p = -1, d = D.d
    cdef double* v
    cdef double update, ws, p_step = 0.0
    cdef double sq[2]
    for tt in range(K):
        v = B.theta + tt * (d + 1)
        ws = wscale[tt]
        if has_l2:
            norms_shrunk(N + tt, z)
            ws = shrink(v, ws, z, d)
            wscale[tt] = ws
        update = -eta * dl[tt]
        if update == 0.0:
            continue
        v[d] += update * intercept_decay * fi
        if p < 0:          # the first of a pair waits for the second
            p, p_step = tt, update / ws
            continue
        dense_axpy_sqnorm2(lay, D, i, p_step, update / ws, B.theta + p * (d + 1), v, sq)
        N[p].seen_sq = sq[0] * (wscale[p] * wscale[p])
        N[tt].seen_sq = sq[1] * (ws * ws)
        p = -1
    if p >= 0:
        N[p].seen_sq = (dense_axpy_sqnorm(lay, D, i, p_step, B.theta + p * (d + 1))
                        * (wscale[p] * wscale[p]))


cdef inline void step_targets(LayoutT* lay, const Data* D, const Settings* s, Py_ssize_t i,
                              Buffers* B, Py_ssize_t K, double* wscale, const double* dl,
                              double eta, double z, double t, double u, bint has_l2,
                              bint has_l1, bint averaging, bint lazy_average, double fi,
                              Norms* N) noexcept nogil:
    # epoch_plain's steps of sample i for each target in turn, whatever the
    # penalty, averaging and layout (add_dense_targets: the dense rows' lean
    # case): the shrink by z, the add and L1 clip, the average.
    cdef Py_ssize_t tt, d = D.d
    cdef double* v
    cdef double update, ws
    for tt in range(K):
        v = B.theta + tt * (d + 1)
        ws = wscale[tt]
        update = -eta * dl[tt]
        if has_l2 and N != NULL:
            norms_shrunk(N + tt, z)
        if has_l2 and lazy_average:
            ws = shrink_folding(v, ws, z, B.avg + tt * (d + 2), B.avg_ab + 3 * tt, d)
        elif has_l2:
            ws = shrink(v, ws, z, d)
        add_and_clip(lay, D, i, B, tt, ws, u, update, update * s.intercept_decay * fi,
                     has_l1, lazy_average, N + tt if N != NULL else NULL)
        if lazy_average and t >= s.average_start:
            average_sample(B.avg + tt * (d + 2), B.avg_ab + 3 * tt, v[d], ws, d)
        elif averaging and t >= s.average_start:
            update_average(B.avg + tt * (d + 2), v, ws, d)
        wscale[tt] = ws


cdef inline double epoch_plain(LossT* kind, LayoutT* lay, TargetsT* targets, const Data* D,
                               const Settings* s, const row_t* idx, Py_ssize_t n,
                               Buffers* B, Progress* P) noexcept nogil:
    # One epoch over the rows idx[0:n]; returns the sum of their weighted
    # losses, and sets P.penalty_sum to that of their running penalties (above).
    cdef Py_ssize_t k, i, j, tt, d = D.d, K
    cdef double* v
    cdef double* ab
    cdef double loss_sum = 0.0, penalty_sum = 0.0
    cdef PendingLoss pend
    cdef Norms* N = NULL
    cdef double one_wscale[1]
    cdef double one_dl[1]
    cdef double* wscale
    cdef double* dl
    cdef double* per_target = NULL
    if TargetsT is OneTargetT:
        K, wscale, dl = 1, one_wscale, one_dl
    else:
        K, wscale, dl, per_target = D.K, B.wscale, B.dl, B.per_target
    cdef double eta = P.eta, t = P.t, u = P.u
    cdef double l1r = l1_ratio_of(s)
    cdef double shrink_coef = (1.0 - l1r) * s.alpha
    cdef bint has_l2 = s.penalty != NO_PENALTY and l1r < 1.0
    cdef bint has_l1 = s.penalty != NO_PENALTY and l1r > 0.0
    cdef bint averaging = s.average_start > 0.0
    cdef bint lazy_average = averaging and (not has_l1 or LayoutT is SparseT
                                            or LayoutT is Sparse32T)
    cdef double fi = 1.0 if s.fit_intercept else 0.0
    cdef bint dense_steps
    for tt in range(K):
        wscale[tt] = 1.0
        if lazy_average:    # avg holds the average itself between epochs
            ab = B.avg_ab + 3 * tt
            ab[0], ab[1], ab[2] = 0.0, 1.0, 1.0
    if s.penalty != NO_PENALTY:
        N = B.norms         # (NULL in a Hogwild! thread's run: loop_hogwild.pxd)
    # a dense row without L1 or averaging: add_dense_targets's steps
    dense_steps = ((LayoutT is DenseT or LayoutT is Dense32T) and N != NULL and not has_l1
                   and not averaging)
    pending_start(&pend, K)
    per_target_start(per_target, K)
    for k in range(n):
        i = idx[k]
        prefetch_ahead(lay, D, idx, k, n, B.theta, False)
        eta = schedule_eta(s, P, eta, t)
        loss_sum += sample_loss_grad(kind, lay, D, s, i, B.theta, K, wscale, dl, &pend,
                                     per_target)
        if N != NULL:
            penalty_sum += running_penalty(N, s, l1r, K, D.tw, per_target)
        if has_l1:
            u += l1r * eta * s.alpha
        if dense_steps:
            add_dense_targets(lay, D, i, B, K, wscale, dl, eta, 1.0 - eta * shrink_coef,
                              has_l2, s.intercept_decay, fi, N)
        else:
            step_targets(lay, D, s, i, B, K, wscale, dl, eta, 1.0 - eta * shrink_coef, t, u,
                         has_l2, has_l1, averaging, lazy_average, fi, N)
        t += 1.0
    for tt in range(K):
        v = B.theta + tt * (d + 1)
        if lazy_average:
            average_fold(B.avg + tt * (d + 2), B.avg_ab + 3 * tt, v, d)
        if wscale[tt] != 1.0:
            for j in range(d):
                v[j] *= wscale[tt]
            wscale[tt] = 1.0
    P.eta, P.t, P.u, P.penalty_sum = eta, t, u, penalty_sum
    return loss_sum + pending_total(&pend)


# Many targets on CSR rows (one-vs-rest classes, the softmax):
# epoch_plain_by_feature runs the epoch on the feature-major copy of the
# model (feature_major.pxd), W[j * S + t], S = feature_stride(K). The
# weight scale is one for all targets (each shrink multiplies every target's
# by the same factor), and each target's arithmetic is epoch_plain's, in the
# same order: the same results, bit for bit. The copy costs two
# transpositions of the model an epoch (measured at 20 x 100,001: 20 ms on
# the Intel Xeon VM, against 300 ms for 200,000 rows; on the AMD EPYC VM an
# epoch of 2,000 rows, both copies included, takes 1.9 ms).

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


cdef inline void add_norms_by_feature(LayoutT* lay, const Data* D, Py_ssize_t i,
                                      double* W, Py_ssize_t S, const double* step,
                                      double ws, bint has_l1, Norms* N,
                                      double* sq, double* l1) noexcept nogil:
    # The row's add to every target, W feature-major (target tt's multiple
    # step[tt]); with N, the norms its add sets where it is not 0, summed in
    # sq and l1 (scratch of K each) as the add writes them.
    cdef Py_ssize_t tt
    if N == NULL:
        add_by_feature(lay, D, i, W, S, step, NULL, NULL)
        return
    add_by_feature(lay, D, i, W, S, step, sq, l1 if has_l1 else NULL)
    for tt in range(D.K):
        if step[tt] != 0.0:
            N[tt].seen_sq = sq[tt] * (ws * ws)
            N[tt].seen_l1 = (l1[tt] if has_l1 else 0.0) * ws


cdef inline double epoch_plain_by_feature(LossT* kind, LayoutT* lay, const Data* D,
                                          const Settings* s, const row_t* idx,
                                          Py_ssize_t n, Buffers* B,
                                          Progress* P) noexcept nogil:
    # epoch_plain for CSR rows and K > 1 targets, on B.by_feature (64-byte
    # aligned, padding zeroed); without averaging (Workspace._allocate gives
    # the buffer only then). With its running penalty (B.norms) as epoch_plain.
    cdef Py_ssize_t k, i, kk, tt, d = D.d, K = D.K
    cdef Py_ssize_t S = feature_stride(K)
    cdef double* W = B.by_feature
    cdef double* Q = B.by_feature + (d + 1) * S
    cdef double* dl = B.dl
    cdef double* step = B.work          # per target: the row's multiple
    cdef double* sq = B.work + K        # and the row's sums (add_norms_by_feature)
    cdef Norms* N = B.norms if s.penalty != NO_PENALTY else NULL
    cdef double update, z, ws = 1.0, loss_sum = 0.0, penalty_sum = 0.0
    cdef double eta = P.eta, t = P.t, u = P.u
    cdef double l1r = l1_ratio_of(s)
    cdef double shrink_coef = (1.0 - l1r) * s.alpha
    cdef bint has_l2 = s.penalty != NO_PENALTY and l1r < 1.0
    cdef bint has_l1 = s.penalty != NO_PENALTY and l1r > 0.0
    cdef double fi = 1.0 if s.fit_intercept else 0.0
    copy_layout(B.theta, W, K, d + 1, S, True)
    if has_l1:
        copy_layout(B.q, Q, K, d, S, True)
    per_target_start(B.per_target, K)
    for k in range(n):
        i = idx[k]
        prefetch_ahead_by_feature(lay, D, idx, k, n, W, S, K)
        eta = schedule_eta(s, P, eta, t)
        loss_sum += sample_loss_grad_by_feature(kind, lay, D, s, i, W, S, ws, dl,
                                                B.per_target)
        if N != NULL:
            penalty_sum += running_penalty(N, s, l1r, K, D.tw, B.per_target)
        if has_l1:
            u += l1r * eta * s.alpha
        if has_l2:
            z = 1.0 - eta * shrink_coef
            if N != NULL:
                for tt in range(K):
                    norms_shrunk(N + tt, z)
            ws = shrink_by_feature(W, ws, z, d, S)
        for tt in range(K):
            update = -eta * dl[tt]
            step[tt] = update / ws
            if update != 0.0:
                W[d * S + tt] += update * s.intercept_decay * fi
        add_norms_by_feature(lay, D, i, W, S, step, ws, has_l1, N, sq, sq + K)
        if has_l1:
            cumulative_l1_by_feature(lay, D, i, W, Q, S, ws, u)
        t += 1.0
    if ws != 1.0:
        for kk in range(d * S):
            W[kk] *= ws
    copy_layout(B.theta, W, K, d + 1, S, False)
    if has_l1:
        copy_layout(B.q, Q, K, d, S, False)
    P.eta, P.t, P.u, P.penalty_sum = eta, t, u, penalty_sum
    return loss_sum
