# The HOGWILD_PLAIN and HOGWILD_RULE loop families: lock-free parallel
# per-sample steps (Hogwild!, Niu, Recht, Re & Wright 2011). The threads share
# the epoch's shuffled order and update the model without locks. A sample's t
# and step count follow from its place k in the epoch, so the schedule is the
# serial one; what differs is that a sample may see weights missing other
# threads' recent updates. Dense rows: private copies exchanged per chunk
# (hogwild_dense); CSR rows: the shared model, O(nnz) per step (hogwild_sparse).

from cython.parallel cimport prange, threadid
from libc.math cimport fabs, pow

from descent._kernels cimport (
    ADAPTIVE, ADAMW, CONSTANT, HOGWILD_PLAIN, Buffers, Data, LayoutT, ManyTargetsT,
    OneTargetT, Progress, RuleParams, Settings, row_t,
)
from descent.kernel.lazy cimport (
    LAZY_TINY, Lazy, ModelView, lazy_advance, lazy_factor, lazy_flush, lazy_init, target_major,
)
from descent.kernel.loop_plain cimport epoch_plain
from descent.kernel.loop_rule cimport penalty_rules, rule_step_targets
from descent.kernel.losses cimport LossT, sample_loss_grad
from descent.kernel.penalties cimport penalty_parts, schedule_eta, soft_threshold
from descent.kernel.rows cimport csr_value, dense_row, prefetch_ahead
from descent.kernel.rules cimport (
    StepScalars, next_step, rule_eff, rule_step, state_merge_weight, step_scalars,
)


# Dense Hogwild!: samples in a chunk, between two exchanges of a thread's copy.
cdef enum:
    HOGWILD_SYNC = 32


# -- dense rows ---------------------------------------------------------------
#
# A dense step writes every coefficient: threads writing one shared model at
# every sample fight over its cache lines (measured at 20,000 x 1000: 2
# threads ran at 0.57x the speed of 1). So a thread takes a chunk of
# HOGWILD_SYNC (or more) samples, starts from the epoch's start model plus all
# threads' published changes (pull), steps that private copy, and publishes
# its change in an array of its own (push): lock-free Hogwild! (other threads'
# changes are read while they are written) with updates seen up to a chunk
# late, much as HogWild++ (Zhang, Hsieh & Akella 2016) keeps per-core copies.
# On its copy a thread runs the serial loops: epoch_plain (weight scale,
# cumulative L1 penalty restarted per chunk), or the rule steps with the
# rule's state its own through the epoch (an estimate from its samples),
# merged at the end (rules.state_merge_weight).
#
# A thread's block of B.local (Workspace allocates it): loss, ran, ..., dloss
# (K) at 8, weight scales (K), then from local_head: the model copy w, its
# base, its published change, and q (PLAIN) or the rule's s0, s1, s2 each
# with its base.

cdef inline void pull(const Buffers* B, Py_ssize_t nth, double* local, double* base,
                      Py_ssize_t size) noexcept nogil:
    # A thread's copy (and the base its next change is measured from): the
    # start model plus every thread's published change.
    cdef Py_ssize_t j, t
    cdef const double* change
    for j in range(size):
        local[j] = B.theta[j]
    for t in range(nth):
        change = B.local + t * B.local_stride + B.local_head + 2 * size
        for j in range(size):
            local[j] += change[j]
    for j in range(size):
        base[j] = local[j]


cdef inline void push(double* local, const double* base, double* change,
                      Py_ssize_t size) noexcept nogil:
    # Publish this thread's change since its last pull (its own array: no
    # other thread writes it, so no atomics and no locks).
    cdef Py_ssize_t j
    for j in range(size):
        change[j] += local[j] - base[j]


cdef inline void start_thread_blocks(const Settings* s, Buffers* B,
                                     Py_ssize_t size) noexcept nogil:
    # Every thread's loss and flag 0, no published change, and (rule steps)
    # the rule's state and its base copied from the shared state.
    cdef Py_ssize_t tid, j
    cdef double* T
    cdef double* w
    for tid in range(s.n_threads):
        T = B.local + tid * B.local_stride
        T[0] = 0.0
        T[1] = 0.0
        w = T + B.local_head
        for j in range(size):
            w[2 * size + j] = 0.0
        if s.path != HOGWILD_PLAIN:
            for j in range(size):
                w[3 * size + j] = w[4 * size + j] = B.s0[j]
                w[5 * size + j] = w[6 * size + j] = B.s1[j]
                w[7 * size + j] = w[8 * size + j] = B.s2[j]


cdef inline void dense_chunk(LossT* kind, LayoutT* lay, const Data* D, const Settings* s,
                             const RuleParams* coef_rule, const RuleParams* intercept_rule,
                             double alpha_l1, const row_t* idx, Py_ssize_t lo,
                             Py_ssize_t hi, const Buffers* B, const Progress* P,
                             double* T) noexcept nogil:
    # The samples idx[lo:hi] on this thread's copy (T: its block; lay: DenseT
    # or Dense32T, whose rows are widened into the block's row).
    cdef Py_ssize_t k, i, K = D.K, d = D.d, size = D.K * (D.d + 1)
    cdef double* dl = T + 8
    cdef double* w = T + B.local_head
    cdef Buffers Bt
    cdef Progress Pt = P[0]
    cdef StepScalars sc
    T[1] = 1.0
    pull(B, s.n_threads, w, w + size, size)
    # the chunk's progress: its first sample's t and step count
    Pt.t, Pt.step, Pt.u = P.t + lo, P.step + lo, 0.0
    if s.path == HOGWILD_PLAIN:
        Bt = B[0]
        Bt.theta, Bt.q, Bt.dl, Bt.wscale = w, w + 3 * size, dl, T + 8 + (K + 7) // 8 * 8
        Bt.avg = NULL
        if alpha_l1 > 0.0:
            for i in range(K * d):
                Bt.q[i] = 0.0
        if K == 1:
            T[0] = T[0] + epoch_plain(kind, lay, <OneTargetT*>NULL, D, s, idx + lo,
                                      hi - lo, &Bt, &Pt)
        else:
            T[0] = T[0] + epoch_plain(kind, lay, <ManyTargetsT*>NULL, D, s, idx + lo,
                                      hi - lo, &Bt, &Pt)
    else:
        Pt.beta1_pow = pow(coef_rule.beta1, Pt.step)
        Pt.beta2_pow = pow(coef_rule.beta2, Pt.step)
        for k in range(lo, hi):
            i = idx[k]
            prefetch_ahead(lay, D, idx, k, hi, w, False)
            T[0] = T[0] + sample_loss_grad(kind, lay, D, s, i, w, K, NULL, dl, NULL, NULL)
            sc = next_step(s, coef_rule, &Pt)
            rule_step_targets(coef_rule, intercept_rule, sc, s, w,
                              dense_row(lay, D, i, T + B.local_row), 0, dl, 1.0,
                              alpha_l1, d, K, w + 3 * size, w + 5 * size, w + 7 * size)
    push(w, w + size, w + 2 * size, size)


cdef inline double merge_thread_blocks(const Settings* s, const RuleParams* rp,
                                       Buffers* B, Py_ssize_t size) noexcept nogil:
    # The threads' changes added to the shared model, their rule states
    # merged; returns the sum of their losses.
    cdef Py_ssize_t tid, j, ran = 0
    cdef double loss_sum = 0.0, scale
    cdef double* T
    cdef double* w
    for tid in range(s.n_threads):
        T = B.local + tid * B.local_stride
        loss_sum += T[0]
        ran += T[1] > 0.0
    for tid in range(s.n_threads):
        T = B.local + tid * B.local_stride
        w = T + B.local_head
        for j in range(size):
            B.theta[j] += w[2 * size + j]
        if s.path != HOGWILD_PLAIN and T[1] > 0.0:
            scale = state_merge_weight(rp.rule, ran)
            for j in range(size):
                B.s0[j] += scale * (w[3 * size + j] - w[4 * size + j])
            for j in range(size):
                B.s1[j] += (w[5 * size + j] - w[6 * size + j]) / ran
                B.s2[j] += (w[7 * size + j] - w[8 * size + j]) / ran
    return loss_sum


cdef inline double hogwild_dense(LossT* kind, LayoutT* lay, const Data* D,
                                 const Settings* s, const RuleParams* rp, const row_t* idx,
                                 Py_ssize_t n, Buffers* B, Progress* P) noexcept nogil:
    cdef Py_ssize_t c, sync, nchunks, size = D.K * (D.d + 1)
    cdef double loss_sum, alpha_l1
    cdef RuleParams coef_rule, intercept_rule
    alpha_l1 = penalty_rules(s, rp, &coef_rule, &intercept_rule)
    start_thread_blocks(s, B, size)
    # Chunks of samples are handed out dynamically: a thread that the machine
    # slows down (a shared VM's steal) takes fewer, instead of the others
    # waiting for it at the end of the epoch. Long enough chunks that the rows
    # prefetched ahead inside one are a small part of it (D.ahead_batch: the
    # chunks of before two prefetch levels).
    sync = max(HOGWILD_SYNC, 8 * D.ahead_batch)
    nchunks = (n + sync - 1) // sync
    for c in prange(nchunks, num_threads=s.n_threads, schedule='dynamic'):
        dense_chunk(kind, lay, D, s, &coef_rule, &intercept_rule, alpha_l1, idx, c * sync,
                    min(c * sync + sync, n), B, P, B.local + threadid() * B.local_stride)
    loss_sum = merge_thread_blocks(s, rp, B, size)
    P.t = P.t + n
    if s.path != HOGWILD_PLAIN:
        P.step = P.step + n
        P.beta1_pow = pow(rp.beta1, P.step)
        P.beta2_pow = pow(rp.beta2, P.step)
    return loss_sum


# -- CSR rows -----------------------------------------------------------------
#
# Shared model, O(nnz) per step: a step touches the row's coefficients only,
# and the penalty is split over the rows as in Niu et al. (2011), whose
# objective is a sum of terms over the samples' supports: a step adds feature
# j's penalty with weight r_j = n / n_j (n_j training rows contain j), so that
# an epoch applies its full penalty on average.
# PLAIN: w_j <- soft((1 - eta l2 r_j) w_j - eta dloss x_j, eta l1 r_j);
# a rule gets g_j = dloss x_j + l2 r_j w_j (AdamW: the decay 1 - lr l2 r_j),
# then the L1 prox with threshold l1 r_j times its step size, and its state
# moves on the row's coordinates only (torch's SparseAdam). Features no
# training row contains get the serial lazy catch-up of the epoch's steps
# afterwards (hogwild_untouched).

cdef inline void sparse_plain_step(LayoutT* lay, const Data* D, const Settings* s,
                                   const Buffers* B,
                                   Py_ssize_t i, double eta, const double* dl,
                                   double alpha_l1, double alpha_l2) noexcept nogil:
    cdef Py_ssize_t tt, j, d = D.d
    cdef int kk
    cdef double z, r
    cdef double fi = 1.0 if s.fit_intercept else 0.0
    cdef double* wt
    for tt in range(D.K):
        wt = B.theta + tt * (d + 1)
        for kk in range(D.indptr[i], D.indptr[i + 1]):
            j = D.indices[kk]
            r = B.inv_freq[j]
            z = 1.0 - eta * alpha_l2 * r
            z = z if z > 0.0 else 0.0
            wt[j] = soft_threshold(z * wt[j] - eta * dl[tt] * csr_value(lay, D, kk),
                                   eta * alpha_l1 * r)
        wt[d] = wt[d] - eta * dl[tt] * s.intercept_decay * fi


cdef inline void sparse_rule_step(LayoutT* lay, const Data* D, const Settings* s,
                                  const Buffers* B,
                                  const RuleParams* coef_rule, const StepScalars* sc,
                                  Py_ssize_t i, double eta, const double* dl,
                                  double alpha_l1, double alpha_l2,
                                  double* G) noexcept nogil:
    # G: this thread's gathered row (w, s0, s1, s2, g; max_nnz each).
    cdef Py_ssize_t tt, o, j, d = D.d, m = B.max_nnz
    cdef int kk, start = D.indptr[i], nnz = D.indptr[i + 1] - D.indptr[i]
    cdef double r, one = 1.0
    cdef double* w = B.theta
    cdef bint adamw = coef_rule.rule == ADAMW
    for tt in range(D.K):
        o = tt * (d + 1)
        for kk in range(nnz):
            j = o + D.indices[start + kk]
            r = B.inv_freq[D.indices[start + kk]]
            G[kk], G[m + kk], G[2 * m + kk], G[3 * m + kk] = (
                w[j], B.s0[j], B.s1[j], B.s2[j])
            if adamw:
                G[4 * m + kk] = dl[tt] * csr_value(lay, D, start + kk)
                G[kk] = G[kk] * (1.0 - eta * alpha_l2 * r)
            else:
                G[4 * m + kk] = dl[tt] * csr_value(lay, D, start + kk) + alpha_l2 * r * w[j]
        rule_step(coef_rule, sc, G, G + 4 * m, 1.0, 0.0, G + m, G + 2 * m,
                  G + 3 * m, nnz)
        for kk in range(nnz):
            j = o + D.indices[start + kk]
            if alpha_l1 > 0.0:
                G[kk] = soft_threshold(
                    G[kk], alpha_l1 * B.inv_freq[D.indices[start + kk]] * sc.clr
                    * rule_eff(coef_rule, sc, G[m + kk], G[2 * m + kk], G[3 * m + kk]))
            w[j], B.s0[j], B.s1[j], B.s2[j] = (
                G[kk], G[m + kk], G[2 * m + kk], G[3 * m + kk])
        if s.fit_intercept:
            rule_step(coef_rule, sc, w + o + d, &one, dl[tt], 0.0,
                      B.s0 + o + d, B.s1 + o + d, B.s2 + o + d, 1)


cdef inline double hogwild_sparse(LossT* kind, LayoutT* lay, const Data* D,
                                  const Settings* s, const RuleParams* rp, const row_t* idx,
                                  Py_ssize_t n, Buffers* B, Progress* P) noexcept nogil:
    # (lay: SparseT or Sparse32T)
    cdef Py_ssize_t k, i
    cdef double* dl
    cdef double loss_sum = 0.0, eta, step, alpha_l1, alpha_l2
    cdef double eta_now = P.eta, t0 = P.t, step0 = P.step
    cdef bint plain = s.path == HOGWILD_PLAIN
    cdef RuleParams coef_rule = rp[0]
    cdef StepScalars sc
    penalty_parts(s, &alpha_l1, &alpha_l2)
    coef_rule.weight_decay = 0.0      # the penalty enters per coordinate
    for k in prange(n, num_threads=s.n_threads, schedule='static'):
        i = idx[k]
        prefetch_ahead(lay, D, idx, k, n, B.theta, False)
        dl = B.dl + threadid() * D.K
        loss_sum += sample_loss_grad(kind, lay, D, s, i, B.theta, D.K, NULL, dl, NULL, NULL)
        if plain:
            eta = schedule_eta(s, P, eta_now, t0 + k)
            sparse_plain_step(lay, D, s, B, i, eta, dl, alpha_l1, alpha_l2)
        else:
            step = step0 + k + 1.0
            eta = schedule_eta(s, P, eta_now, step)
            sc = step_scalars(&coef_rule, eta, step, pow(rp.beta1, step),
                              pow(rp.beta2, step))
            sparse_rule_step(lay, D, s, B, &coef_rule, &sc, i, eta, dl, alpha_l1, alpha_l2,
                             B.hog + threadid() * 5 * B.max_nnz)
    hogwild_untouched(D, s, rp, n, B, P)
    P.t = t0 + n
    if not plain:
        P.step = step0 + n
        P.beta1_pow = pow(rp.beta1, P.step)
        P.beta2_pow = pow(rp.beta2, P.step)
    return loss_sum


cdef inline void hogwild_untouched(const Data* D, const Settings* s, const RuleParams* rp,
                                   Py_ssize_t n, Buffers* B,
                                   const Progress* P) noexcept nogil:
    # The coefficients of features that no training row contains (inv_freq 0)
    # move only by the penalty and their state's decay: after the parallel
    # loop they get the epoch's n steps by the serial lazy catch-up (exact
    # where lazy_catch_up is). A step factor below LAZY_TINY counts as
    # LAZY_TINY: such a step leaves ~1e-150 of a coefficient either way.
    cdef Py_ssize_t k, j, d = D.d
    cdef double alpha_l1, factor
    cdef Progress Pt = P[0]        # the epoch's steps again, from its start
    cdef bint untouched = False, plain = s.path == HOGWILD_PLAIN
    cdef RuleParams coef_rule, intercept_rule
    cdef StepScalars sc
    cdef Lazy L
    cdef ModelView V = target_major(B, d)
    for j in range(d):
        untouched = untouched or B.inv_freq[j] == 0.0
    if not untouched:
        return
    alpha_l1 = penalty_rules(s, rp, &coef_rule, &intercept_rule)
    lazy_init(&L, &coef_rule, alpha_l1, s.schedule == CONSTANT or s.schedule == ADAPTIVE,
              B.lazy, d)
    for k in range(n):
        if plain:
            sc = step_scalars(&coef_rule, schedule_eta(s, P, P.eta, P.t + k), 2.0, 0.0, 0.0)
        else:
            sc = next_step(s, &coef_rule, &Pt)
        factor = lazy_factor(&L, &coef_rule, &sc)
        if plain and factor < 0.0:
            factor = 0.0            # the plain path never scales by a negative value
        if fabs(factor) < LAZY_TINY:
            factor = -LAZY_TINY if factor < 0.0 else LAZY_TINY
        if not LAZY_TINY <= fabs(L.a * factor) <= 1.0 / LAZY_TINY:
            lazy_flush(&L, &coef_rule, &sc, &V, d, D.K, B.inv_freq)
        lazy_advance(&L, &sc, factor)
    lazy_flush(&L, &coef_rule, &sc, &V, d, D.K, B.inv_freq)
