# The LAZY loop family: per-sample update-rule steps on CSR rows that touch
# only the row's coefficients, O(nnz) per step; each coefficient's skipped
# steps are caught up by kernel/lazy.pxd (exact for some rules, torch's
# SparseAdam semantics for the others: the table is there). The intercept is
# stepped at every sample, as in the RULE loop.

from libc.math cimport fabs

from descent._kernels cimport (
    ADAPTIVE, CONSTANT, Buffers, Data, LayoutT, Progress, RuleParams, Settings, row_t,
)
from descent.kernel.lazy cimport (
    LAZY_TINY, Lazy, lazy_advance, lazy_catch_up, lazy_factor, lazy_flush, lazy_init,
    lazy_needs_restart,
)
from descent.kernel.loop_rule cimport csr_row_rule_step, penalty_rules
from descent.kernel.losses cimport LossT, sample_loss_grad
from descent.kernel.rows cimport csr_row_values, prefetch_ahead
from descent.kernel.rules cimport StepScalars, next_step, rule_step


cdef inline void gathered_row_step(LayoutT* lay, const Data* D, Py_ssize_t i, Lazy* L,
                                   const RuleParams* coef_rule,
                                   const RuleParams* intercept_rule,
                                   const StepScalars* sc, const Settings* s, Buffers* B,
                                   double alpha_l1) noexcept nogil:
    # The rule step of CSR row i's coefficients of every target (gathered into
    # L's buffers, stepped, scattered back) and of the intercepts.
    cdef Py_ssize_t tt, o, j, d = D.d
    cdef int kk, start = D.indptr[i], nnz = D.indptr[i + 1] - D.indptr[i]
    cdef double one = 1.0
    cdef double* w = B.theta
    # the row's values as float64 (float32 X: widened into the 7th block)
    cdef const double* x = csr_row_values(lay, D, start, nnz, B.lazy + 6 * d)
    cdef StepScalars sc_intercept = sc[0]
    sc_intercept.decay = 1.0              # the intercept is not decayed (AdamW)
    for tt in range(D.K):
        o = tt * (d + 1)
        for kk in range(nnz):
            j = o + D.indices[start + kk]
            L.gw[kk], L.gs0[kk], L.gs1[kk], L.gs2[kk] = w[j], B.s0[j], B.s1[j], B.s2[j]
        rule_step(coef_rule, sc, L.gw, x, B.dl[tt], alpha_l1,
                  L.gs0, L.gs1, L.gs2, nnz)
        for kk in range(nnz):
            j = o + D.indices[start + kk]
            w[j], B.s0[j], B.s1[j], B.s2[j] = L.gw[kk], L.gs0[kk], L.gs1[kk], L.gs2[kk]
        if s.fit_intercept:
            rule_step(intercept_rule, &sc_intercept, w + o + d, &one, B.dl[tt], 0.0,
                      B.s0 + o + d, B.s1 + o + d, B.s2 + o + d, 1)


cdef inline double epoch_lazy(LossT* kind, LayoutT* lay, const Data* D,
                              const Settings* s, const RuleParams* rp, const row_t* idx,
                              Py_ssize_t n, Buffers* B, Progress* P) noexcept nogil:
    # One epoch over the CSR rows idx[0:n] (lay: SparseT or Sparse32T);
    # returns the sum of their weighted losses.
    cdef Py_ssize_t k, i, tt, o, d = D.d, K = D.K
    cdef int kk
    cdef double loss_sum = 0.0, alpha_l1, factor
    cdef RuleParams coef_rule, intercept_rule
    cdef StepScalars sc
    cdef Lazy L
    alpha_l1 = penalty_rules(s, rp, &coef_rule, &intercept_rule)
    lazy_init(&L, &coef_rule, alpha_l1,
              s.schedule == CONSTANT or s.schedule == ADAPTIVE, B.lazy, d)
    for k in range(n):
        i = idx[k]
        prefetch_ahead(lay, D, idx, k, n, B.theta)
        sc = next_step(s, &coef_rule, P)
        factor = lazy_factor(&L, &coef_rule, &sc)
        if lazy_needs_restart(&L, factor):
            lazy_flush(&L, &coef_rule, &sc, B, d, K, NULL)
        if fabs(factor) < LAZY_TINY:
            # The step (nearly) zeroes every coef: run it on all of them.
            loss_sum += sample_loss_grad(kind, lay, D, s, i, B.theta, K, NULL, B.dl)
            csr_row_rule_step(lay, D, i, &coef_rule, &intercept_rule, sc, s, B, alpha_l1)
            P.t += 1.0
            continue
        for tt in range(K):
            o = tt * (d + 1)
            for kk in range(D.indptr[i], D.indptr[i + 1]):
                lazy_catch_up(&L, &coef_rule, &sc, D.indices[kk], B.theta + o, B.s0 + o,
                              B.s1 + o, B.s2 + o)
        loss_sum += sample_loss_grad(kind, lay, D, s, i, B.theta, K, NULL, B.dl)
        gathered_row_step(lay, D, i, &L, &coef_rule, &intercept_rule, &sc, s, B, alpha_l1)
        lazy_advance(&L, &sc, factor)
        for kk in range(D.indptr[i], D.indptr[i + 1]):
            L.snap_a[D.indices[kk]] = L.a
            L.snap_b[D.indices[kk]] = L.b
        P.t += 1.0
    lazy_flush(&L, &coef_rule, &sc, B, d, K, NULL)
    return loss_sum
