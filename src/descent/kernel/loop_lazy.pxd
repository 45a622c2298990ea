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
    LAZY_TINY, Lazy, ModelView, feature_major, lazy_advance, lazy_catch_up_targets,
    lazy_factor, lazy_flush, lazy_init, lazy_needs_restart, target_major,
)
from descent.kernel.loop_rule cimport csr_row_rule_step, penalty_rules
from descent.kernel.losses cimport (
    LossT, PendingLoss, pending_start, pending_total, sample_loss_grad,
    sample_loss_grad_by_feature,
)
from descent.kernel.feature_major cimport copy_layout, feature_stride, prefetch_ahead_by_feature
from descent.kernel.rows cimport csr_row_values, prefetch_ahead
from descent.kernel.rules cimport StepScalars, next_step, rule_step


cdef inline void gathered_row_step(LayoutT* lay, const Data* D, Py_ssize_t i, Lazy* L,
                                   const ModelView* V, const RuleParams* coef_rule,
                                   const RuleParams* intercept_rule,
                                   const StepScalars* sc, const Settings* s, Buffers* B,
                                   double alpha_l1) noexcept nogil:
    # The rule step of CSR row i's coefficients of every target (gathered into
    # L's buffers, stepped, scattered back) and of the intercepts.
    cdef Py_ssize_t tt, o, p, d = D.d
    cdef int kk, start = D.indptr[i], nnz = D.indptr[i + 1] - D.indptr[i]
    cdef double one = 1.0
    # the row's values as float64 (float32 X: widened into the 7th block)
    cdef const double* x = csr_row_values(lay, D, start, nnz, B.lazy + 6 * d)
    cdef StepScalars sc_intercept = sc[0]
    sc_intercept.decay = 1.0              # the intercept is not decayed (AdamW)
    for tt in range(D.K):
        o = tt * V.per_target
        for kk in range(nnz):
            p = o + D.indices[start + kk] * V.per_feature
            L.gw[kk], L.gs0[kk], L.gs1[kk], L.gs2[kk] = V.w[p], V.s0[p], V.s1[p], V.s2[p]
        rule_step(coef_rule, sc, L.gw, x, B.dl[tt], alpha_l1,
                  L.gs0, L.gs1, L.gs2, nnz)
        for kk in range(nnz):
            p = o + D.indices[start + kk] * V.per_feature
            V.w[p], V.s0[p], V.s1[p], V.s2[p] = L.gw[kk], L.gs0[kk], L.gs1[kk], L.gs2[kk]
        if s.fit_intercept:
            p = o + d * V.per_feature
            rule_step(intercept_rule, &sc_intercept, V.w + p, &one, B.dl[tt], 0.0,
                      V.s0 + p, V.s1 + p, V.s2 + p, 1)


cdef inline void copy_model(Buffers* B, const ModelView* V, Py_ssize_t K, Py_ssize_t d,
                            bint to_features) noexcept nogil:
    # The model and the rule's state between the Buffers' target-major rows
    # and the feature-major view V.
    copy_layout(B.theta, V.w, K, d + 1, V.per_feature, to_features)
    copy_layout(B.s0, V.s0, K, d + 1, V.per_feature, to_features)
    copy_layout(B.s1, V.s1, K, d + 1, V.per_feature, to_features)
    copy_layout(B.s2, V.s2, K, d + 1, V.per_feature, to_features)


cdef inline double epoch_lazy(LossT* kind, LayoutT* lay, const Data* D,
                              const Settings* s, const RuleParams* rp, const row_t* idx,
                              Py_ssize_t n, Buffers* B, Progress* P) noexcept nogil:
    # One epoch over the CSR rows idx[0:n] (lay: SparseT or Sparse32T);
    # returns the sum of their weighted losses. With several targets (the
    # Workspace then gives B.by_feature) on the feature-major copy of the
    # model and its state (feature_major.pxd), one block of 4 runs a feature.
    cdef Py_ssize_t k, i, d = D.d, K = D.K
    cdef int kk
    cdef double loss_sum = 0.0, alpha_l1, factor
    cdef RuleParams coef_rule, intercept_rule
    cdef StepScalars sc
    cdef Lazy L
    cdef PendingLoss pend
    cdef bint by_feature = B.by_feature != NULL
    cdef ModelView V = (feature_major(B.by_feature, feature_stride(K)) if by_feature
                        else target_major(B, d))
    pending_start(&pend, K)
    alpha_l1 = penalty_rules(s, rp, &coef_rule, &intercept_rule)
    lazy_init(&L, &coef_rule, alpha_l1,
              s.schedule == CONSTANT or s.schedule == ADAPTIVE, B.lazy, d)
    if by_feature:
        copy_model(B, &V, K, d, True)
    for k in range(n):
        i = idx[k]
        if by_feature:
            prefetch_ahead_by_feature(lay, D, idx, k, n, V.w, V.per_feature, V.per_feature)
        else:
            prefetch_ahead(lay, D, idx, k, n, B.theta, False)
        sc = next_step(s, &coef_rule, P)
        factor = lazy_factor(&L, &coef_rule, &sc)
        if lazy_needs_restart(&L, factor):
            lazy_flush(&L, &coef_rule, &sc, &V, d, K, NULL)
        if fabs(factor) < LAZY_TINY:
            # The step (nearly) zeroes every coef: run it on all of them (on
            # the Buffers' rows: the copy goes back and forth, a rare step).
            if by_feature:
                copy_model(B, &V, K, d, False)
            loss_sum += sample_loss_grad(kind, lay, D, s, i, B.theta, K, NULL, B.dl, &pend, NULL)
            csr_row_rule_step(lay, D, i, &coef_rule, &intercept_rule, sc, s, B, alpha_l1)
            if by_feature:
                copy_model(B, &V, K, d, True)
            P.t += 1.0
            continue
        for kk in range(D.indptr[i], D.indptr[i + 1]):
            lazy_catch_up_targets(&L, &coef_rule, &sc, D.indices[kk], K, &V)
        if by_feature:
            loss_sum += sample_loss_grad_by_feature(kind, lay, D, s, i, V.w, V.per_feature,
                                                    1.0, B.dl, NULL)
        else:
            loss_sum += sample_loss_grad(kind, lay, D, s, i, B.theta, K, NULL, B.dl, &pend, NULL)
        gathered_row_step(lay, D, i, &L, &V, &coef_rule, &intercept_rule, &sc, s, B,
                          alpha_l1)
        lazy_advance(&L, &sc, factor)
        for kk in range(D.indptr[i], D.indptr[i + 1]):
            L.snap_a[D.indices[kk]] = L.a
            L.snap_b[D.indices[kk]] = L.b
        P.t += 1.0
    lazy_flush(&L, &coef_rule, &sc, &V, d, K, NULL)
    if by_feature:
        copy_model(B, &V, K, d, False)
    return loss_sum + pending_total(&pend)
