# The RULE, MINI_BATCH and FULL_BATCH loop families: update-rule steps
# (kernel/rules.pxd) per sample, on the mean gradient of a mini-batch, or one
# exact full-batch step per epoch. The gradient is clipped; the L2 part of the
# penalty is the rule's weight decay (coupled, or decoupled for AdamW), the L1
# part its proximal step. The intercept is neither penalised nor decayed.

from cython.parallel cimport prange
from libc.math cimport sqrt
from libc.string cimport memset

from descent._kernels cimport (
    Buffers, Data, Dense32T, DenseT, LayoutT, Progress, RuleParams, Settings, row_t,
)
from descent.kernel.losses cimport (
    LossT, PendingLoss, clip_factor, pending_start, pending_total, sample_dloss,
    sample_loss_grad,
)
from descent.kernel.penalties cimport penalty_parts, penalty_value, update_average
from descent.kernel.rows cimport csr_value, dense_row, prefetch_ahead, row_axpy
from descent.kernel.rules cimport StepScalars, next_step, rule_step
from descent.kernel.vectors cimport dot


cdef inline double penalty_rules(const Settings* s, const RuleParams* rp,
                                 RuleParams* coef_rule,
                                 RuleParams* intercept_rule) noexcept nogil:
    # The rule as it steps the coefs (the penalty's L2 part as its weight
    # decay) and the intercept (none); returns the L1 part.
    cdef double alpha_l1, alpha_l2
    penalty_parts(s, &alpha_l1, &alpha_l2)
    coef_rule[0] = rp[0]
    intercept_rule[0] = rp[0]
    coef_rule.weight_decay = alpha_l2
    intercept_rule.weight_decay = 0.0
    return alpha_l1


cdef inline void average_targets(const Settings* s, Buffers* B, const Progress* P,
                                 Py_ssize_t d, Py_ssize_t K) noexcept nogil:
    # After a step: the running averages of the iterates, once averaging has
    # started (P.t - 1 samples seen).
    cdef Py_ssize_t tt
    if s.average_start > 0.0 and P.t - 1.0 >= s.average_start:
        for tt in range(K):
            update_average(B.avg + tt * (d + 2), B.theta + tt * (d + 1), 1.0, d)


cdef inline void rule_step_targets(const RuleParams* coef_rule,
                                   const RuleParams* intercept_rule, StepScalars sc,
                                   const Settings* s, double* theta, const double* src,
                                   Py_ssize_t src_stride, const double* c,
                                   double c_scale, double alpha_l1, Py_ssize_t d,
                                   Py_ssize_t K, double* s0, double* s1,
                                   double* s2) noexcept nogil:
    # One update of every target, gradient scaled by c[t] * c_scale: a batch
    # gradient src is K blocks of (d + 1) (src_stride = d + 1), a sample's row
    # x is shared by the targets (src_stride = 0; the intercept's input is 1).
    cdef Py_ssize_t tt, o
    cdef double decay = sc.decay, one = 1.0
    cdef const double* intercept_src
    for tt in range(K):
        o = tt * (d + 1)
        sc.decay = decay
        rule_step(coef_rule, &sc, theta + o, src + tt * src_stride, c[tt] * c_scale,
                  alpha_l1, s0 + o, s1 + o, s2 + o, d)
        if s.fit_intercept:
            sc.decay = 1.0
            intercept_src = src + o + d if src_stride > 0 else &one
            rule_step(intercept_rule, &sc, theta + o + d, intercept_src,
                      c[tt] * c_scale, 0.0, s0 + o + d, s1 + o + d, s2 + o + d, 1)


cdef inline void csr_row_rule_step(LayoutT* lay, const Data* D, Py_ssize_t i,
                                   const RuleParams* coef_rule,
                                   const RuleParams* intercept_rule, StepScalars sc,
                                   const Settings* s, Buffers* B,
                                   double alpha_l1) noexcept nogil:
    # A rule step of every coordinate (the state decays, the L2 penalty acts
    # on all of them) for CSR row i: the row is scattered into the zeroed
    # buffer g for the step, and g zeroed again after.
    cdef int kk
    for kk in range(D.indptr[i], D.indptr[i + 1]):
        B.g[D.indices[kk]] = csr_value(lay, D, kk)
    rule_step_targets(coef_rule, intercept_rule, sc, s, B.theta, B.g, 0, B.dl, 1.0,
                      alpha_l1, D.d, D.K, B.s0, B.s1, B.s2)
    for kk in range(D.indptr[i], D.indptr[i + 1]):
        B.g[D.indices[kk]] = 0.0


cdef inline double epoch_rule(LossT* kind, LayoutT* lay, const Data* D, const Settings* s,
                              const RuleParams* rp, const row_t* idx, Py_ssize_t n,
                              Buffers* B, Progress* P) noexcept nogil:
    # One epoch of per-sample rule steps (RULE) of every coefficient.
    cdef Py_ssize_t k, i, d = D.d, K = D.K
    cdef double loss_sum = 0.0, alpha_l1
    cdef RuleParams coef_rule, intercept_rule
    cdef StepScalars sc
    cdef PendingLoss pend
    pending_start(&pend, K)
    alpha_l1 = penalty_rules(s, rp, &coef_rule, &intercept_rule)
    for k in range(n):
        i = idx[k]
        prefetch_ahead(lay, D, idx, k, n, B.theta, False)
        loss_sum += sample_loss_grad(kind, lay, D, s, i, B.theta, K, NULL, B.dl, &pend, NULL)
        sc = next_step(s, &coef_rule, P)
        if LayoutT is DenseT or LayoutT is Dense32T:
            # (float32: the row widened into g, which no CSR row uses here)
            rule_step_targets(&coef_rule, &intercept_rule, sc, s, B.theta,
                              dense_row(lay, D, i, B.g), 0, B.dl, 1.0, alpha_l1, d, K,
                              B.s0, B.s1, B.s2)
        else:
            csr_row_rule_step(lay, D, i, &coef_rule, &intercept_rule, sc, s, B, alpha_l1)
        P.t += 1.0
        average_targets(s, B, P, d, K)
    return loss_sum + pending_total(&pend)


# -- batch gradients ------------------------------------------------------------

cdef inline double accumulate_rows(LossT* kind, LayoutT* lay, const Data* D,
                                   const Settings* s, const row_t* idx, Py_ssize_t lo,
                                   Py_ssize_t hi, const double* theta, double* g,
                                   double* dl) noexcept nogil:
    # Fused pass over the rows idx[lo:hi]: each row's losses and dloss of
    # every target (into the scratch dl, K), then its gradient accumulated,
    # so X is read once per step. g_t += sum_i dl_it (x_i, 1); returns the
    # sum of the rows' weighted losses.
    cdef Py_ssize_t k, i, tt, d = D.d, K = D.K
    cdef double loss_sum = 0.0
    for k in range(lo, hi):
        i = idx[k]
        prefetch_ahead(lay, D, idx, k, hi, theta, True)
        loss_sum = sample_dloss(kind, lay, D, s, i, theta, K, NULL, dl, loss_sum, NULL, NULL)
        for tt in range(K):
            row_axpy(lay, D, i, dl[tt], g + tt * (d + 1))
            g[tt * (d + 1) + d] += dl[tt]
    return loss_sum


# Threaded batch gradients: chunks of rows per thread, fewer where their
# accumulators (one each) would pass 4 MiB.
cdef enum:
    GRADIENT_CHUNKS = 16


cdef inline Py_ssize_t gradient_stride(Py_ssize_t K, Py_ssize_t d) noexcept nogil:
    # Doubles per chunk of gthreads: its accumulator (K (d + 1)), its loss and
    # its dloss scratch (K), whole cache lines apart.
    return (K * (d + 1) + 1 + K + 7) // 8 * 8


cdef inline Py_ssize_t gradient_chunks(int n_threads, Py_ssize_t stride) noexcept nogil:
    return n_threads * max(2, min(<Py_ssize_t>GRADIENT_CHUNKS,
                                  (1 << 19) // (n_threads * stride)))


cdef inline double batch_gradient(LossT* kind, LayoutT* lay, const Data* D,
                                  const Settings* s, const row_t* idx, Py_ssize_t n,
                                  const double* theta, Buffers* B,
                                  int n_threads) noexcept nogil:
    # The gradient of the rows idx[0:n] into B.g (accumulate_rows); returns
    # the sum of their weighted losses.
    cdef Py_ssize_t j, c, nchunks, stride, size = D.K * (D.d + 1)
    cdef double loss_sum = 0.0
    cdef double* g = B.g
    cdef double* gt
    memset(g, 0, size * sizeof(double))
    # Threads pay off once a batch holds enough work to cover the fork/join:
    # measured with 2 threads, batches of 2.2e5 and 2.6e5 units (rows x
    # (features + 8)) ran 1.3x and 1.7x faster, of 2.8e4 and 3.2e4 no faster.
    if n_threads <= 1 or n * D.K * (D.d + 8) < 200000:
        return accumulate_rows(kind, lay, D, s, idx, 0, n, theta, g, B.work)
    # The rows go in chunks, handed out dynamically (a thread the machine
    # slows down, e.g. a shared VM's steal, takes fewer instead of the others
    # waiting for it), each with its own accumulator (and loss in its next
    # slot), summed in chunk order: the same result whichever thread ran
    # which chunk. At least 64 rows a chunk when there are enough, so that a
    # mini-batch's few hundred rows are not cut into chunks not worth handing out.
    stride = gradient_stride(D.K, D.d)
    nchunks = min(n, gradient_chunks(n_threads, stride), max(2 * n_threads, n // 64))
    memset(B.gthreads, 0, nchunks * stride * sizeof(double))
    for c in prange(nchunks, num_threads=n_threads, schedule='dynamic'):
        B.gthreads[c * stride + size] = accumulate_rows(
            kind, lay, D, s, idx, n * c // nchunks, n * (c + 1) // nchunks, theta,
            B.gthreads + c * stride, B.gthreads + c * stride + size + 1)
    for c in range(nchunks):
        gt = B.gthreads + c * stride
        loss_sum += gt[size]
        for j in range(size):
            g[j] += gt[j]
    return loss_sum


cdef inline double epoch_batched(LossT* kind, LayoutT* lay, const Data* D,
                                 const Settings* s, const RuleParams* rp, const row_t* idx,
                                 Py_ssize_t n, Py_ssize_t batch, Buffers* B,
                                 Progress* P) noexcept nogil:
    # One epoch of rule steps on the mean gradient of `batch` rows at a time
    # (MINI_BATCH; FULL_BATCH is batch = n). P.penalty_start is the penalty
    # before the epoch's first step (a full-batch epoch's objective).
    cdef Py_ssize_t start, bsz, tt, d = D.d, K = D.K
    cdef double loss_sum = 0.0, c, sq, alpha_l1
    cdef double fi = 1.0 if s.fit_intercept else 0.0
    cdef RuleParams coef_rule, intercept_rule
    cdef StepScalars sc
    alpha_l1 = penalty_rules(s, rp, &coef_rule, &intercept_rule)
    for tt in range(K):
        B.dl[tt] = 1.0
    start = 0
    while start < n:
        bsz = batch if start + batch <= n else n - start
        if start == 0:
            P.penalty_start = penalty_value(s, B.theta, d, K, d + 1, D.tw)
        loss_sum += batch_gradient(kind, lay, D, s, idx + start, bsz, B.theta, B,
                                   s.n_threads)
        c = 1.0 / bsz
        if s.clip_norm > 0.0:
            sq = 0.0
            for tt in range(K):
                sq += (dot(B.g + tt * (d + 1), B.g + tt * (d + 1), d)
                       + fi * B.g[tt * (d + 1) + d] * B.g[tt * (d + 1) + d])
            c *= clip_factor(s, c * sqrt(sq))
        sc = next_step(s, &coef_rule, P)
        rule_step_targets(&coef_rule, &intercept_rule, sc, s, B.theta, B.g, d + 1, B.dl, c,
                          alpha_l1, d, K, B.s0, B.s1, B.s2)
        P.t += bsz
        average_targets(s, B, P, d, K)
        start += bsz
    return loss_sum
