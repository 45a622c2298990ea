# The lazy-steps layer: per-sample update-rule steps on sparse rows that touch
# only the row's coefficients (loop_lazy.pxd, loop_hogwild.pxd).
#
# On the coordinates a CSR row does not touch the loss gradient is 0: only
# the penalty, and the decay of the rule's state, move them. A lazy loop
# steps the row's coordinates only and brings a coordinate's skipped steps up
# to date when a row next touches it, and at the end of the epoch. Two running
# accumulators over the steps, a product `a` and a sum `b`, and each
# coordinate's snapshot of them from when it was last current, give all its
# skipped steps in O(1). The accumulators restart (after bringing every
# coordinate up to date) before `a` under- or overflows.
#
# Which rules are exact is decided here, once (lazy_init); this is the one
# place the table is written (the estimator's docs link here):
#
# Exact (the dense iterates, up to rounding):
#   LAZY_SGD       SGD without momentum, any penalty. A skipped step is
#                  w <- soft(c w, l1 lr) with c = 1 - lr wd, and these compose:
#                  soft(c2 soft(c1 w, t1), t2) = soft(c1 c2 w, |c2| t1 + t2);
#                  so a = prod c, b = sum l1 lr / |prod c| and the skipped
#                  steps are soft(w a / a0, |a| (b - b0)).
#   LAZY_MOMENTUM  SGD with momentum 0 < mom < 1, no penalty, a learning rate
#                  constant through the epoch: buf <- mom buf and w <- w - lr buf
#                  (Nesterov: lr mom buf); a = mom^k and k steps move w by
#                  lr buf mom (1 - mom^k) / (1 - mom). (With a schedule the sum
#                  over the steps would be a difference of prefix sums of
#                  decaying terms, which loses every digit (measured 2e-6
#                  error): not done.)
#   LAZY_DECAY     RMSprop without momentum, Adadelta; no penalty: the moments
#                  decay by alpha (rho) per step, w stays; a = alpha^k (rho^k).
#   LAZY_ADAGRAD   Adagrad without L2: the accumulator stays, each step adds
#                  l1 clr / (sqrt(G) + eps) to the L1 threshold; b = sum clr.
# Approximate, LAZY_FROZEN (everything else: momentum or RMSprop's momentum
# with a penalty, Adagrad with L2, RMSprop and Adadelta with a penalty, Adam,
# AMSGrad, AdamW): the semantics of torch.optim.SparseAdam. The state of an
# untouched coordinate is frozen (its moments neither decay nor keep moving
# w); the penalty of the skipped steps is applied at the next touch, before
# the step, with the coordinate's current step size per unit of gradient eff
# (rules.rule_eff): w <- soft(w exp(-wd eff B), l1 eff B), B = sum of clr over
# the skipped steps. AdamW's decoupled decay is exact there: a = prod (1 - lr wd).
# The frozen rules reach the dense rules' optimum, by other iterates
# (tests/test_sparse.py); lazy Adam without penalty is torch's SparseAdam.

from libc.math cimport fabs, sqrt

from descent._kernels cimport ADADELTA, ADAGRAD, ADAMW, RMSPROP, SGD, Buffers, RuleParams
from descent.kernel.elementary cimport exp_nonpositive
from descent.kernel.penalties cimport soft_threshold
from descent.kernel.rules cimport StepScalars, rule_eff


cdef enum:
    LAZY_SGD = 0
    LAZY_MOMENTUM = 1
    LAZY_DECAY = 2
    LAZY_ADAGRAD = 3
    LAZY_FROZEN = 4

cdef extern from *:
    """
    /* |a| outside [LAZY_TINY, 1 / LAZY_TINY]: restart the accumulators (their
       ratios stay far from under- and overflow); a step whose factor is below
       it (lr wd ~ 1 zeroes the weights) cannot be a ratio, and runs densely. */
    static const double DESCENT_LAZY_TINY = 1e-150;
    """
    const double LAZY_TINY "DESCENT_LAZY_TINY"


ctypedef struct Lazy:
    int kind
    double wd             # coupled L2 of the coefs (the gradient's wd w)
    double l1             # L1 threshold per unit of step size
    double a, b           # the accumulators since the last restart
    double* snap_a        # each coordinate's a and b when it was last current
    double* snap_b
    double* gw            # the row's coefs and rule state, gathered (nnz <= d)
    double* gs0
    double* gs1
    double* gs2


cdef inline void lazy_init(Lazy* L, const RuleParams* rp, double l1, bint constant_lr,
                           double* buf, Py_ssize_t d) noexcept nogil:
    # buf: 6 * d doubles (Buffers.lazy).
    cdef Py_ssize_t j
    L.wd = rp.weight_decay if rp.rule != ADAMW else 0.0
    L.l1 = l1
    if rp.rule == SGD and rp.momentum == 0.0:
        L.kind = LAZY_SGD
    elif (rp.rule == SGD and L.wd == 0.0 and l1 == 0.0 and rp.momentum < 1.0
          and constant_lr):
        L.kind = LAZY_MOMENTUM
    elif ((rp.rule == ADADELTA or (rp.rule == RMSPROP and rp.momentum == 0.0))
          and L.wd == 0.0 and l1 == 0.0):
        L.kind = LAZY_DECAY
    elif rp.rule == ADAGRAD and L.wd == 0.0:
        L.kind = LAZY_ADAGRAD
    else:
        L.kind = LAZY_FROZEN
    L.snap_a, L.snap_b = buf, buf + d
    L.gw, L.gs0, L.gs1, L.gs2 = buf + 2 * d, buf + 3 * d, buf + 4 * d, buf + 5 * d
    L.a, L.b = 1.0, 0.0
    for j in range(d):
        L.snap_a[j] = 1.0
        L.snap_b[j] = 0.0


cdef inline double lazy_factor(const Lazy* L, const RuleParams* rp,
                               const StepScalars* sc) noexcept nogil:
    # What one step multiplies the product accumulator a by.
    if L.kind == LAZY_SGD:
        return 1.0 - sc.lr * L.wd
    if L.kind == LAZY_MOMENTUM:
        return rp.momentum
    if L.kind == LAZY_DECAY:
        return rp.rho if rp.rule == ADADELTA else rp.alpha
    return sc.decay       # AdamW's decoupled decay; 1 for the others


cdef inline void lazy_advance(Lazy* L, const StepScalars* sc, double factor) noexcept nogil:
    # The accumulators after one more step.
    L.a *= factor
    if L.kind == LAZY_SGD:
        L.b += L.l1 * sc.lr / fabs(L.a)
    elif L.kind != LAZY_DECAY:
        L.b += sc.clr


# Where the lazy loops find coordinate (target t, feature j) of the model and
# of the rule's three state rows: at t * per_target + j * per_feature from
# w, s0, s1, s2. Target-major (the Buffers' own rows): per_target d + 1,
# per_feature 1. Feature-major (CSR rows, several targets:
# feature_major.pxd), one block of 4 runs [w | s0 | s1 | s2] a feature:
# per_target 1, per_feature 4 S.
ctypedef struct ModelView:
    double* w
    double* s0
    double* s1
    double* s2
    Py_ssize_t per_target
    Py_ssize_t per_feature


cdef inline ModelView target_major(Buffers* B, Py_ssize_t d) noexcept nogil:
    cdef ModelView V
    V.w, V.s0, V.s1, V.s2 = B.theta, B.s0, B.s1, B.s2
    V.per_target, V.per_feature = d + 1, 1
    return V


cdef inline ModelView feature_major(double* block, Py_ssize_t S) noexcept nogil:
    # block: (d + 1) feature blocks of 4 S doubles.
    cdef ModelView V
    V.w, V.s0, V.s1, V.s2 = block, block + S, block + 2 * S, block + 3 * S
    V.per_target, V.per_feature = 1, 4 * S
    return V


cdef inline void lazy_catch_up(const Lazy* L, const RuleParams* rp,
                               const StepScalars* sc, Py_ssize_t j, Py_ssize_t p,
                               double* w, double* s0, double* s1,
                               double* s2) noexcept nogil:
    # Coordinate p of the model (w) and state (s0..s2), of feature j, from its
    # snapshot to the current accumulators.
    cdef double a0 = L.snap_a[j], db = L.b - L.snap_b[j], ratio = L.a / a0, eff
    if L.kind == LAZY_SGD:
        w[p] = soft_threshold(w[p] * ratio, fabs(L.a) * db)
    elif L.kind == LAZY_MOMENTUM:        # s0: the momentum buffer
        w[p] -= (s0[p] * sc.lr * rp.momentum * (1.0 - ratio) / (1.0 - rp.momentum)
                 * (rp.momentum if rp.nesterov else 1.0))
        s0[p] *= ratio
    elif L.kind == LAZY_DECAY:           # s0: square_avg; s1: acc_delta / s2: grad_avg
        s0[p] *= ratio
        if rp.rule == ADADELTA:
            s1[p] *= ratio
        else:
            s2[p] *= ratio
    elif L.kind == LAZY_ADAGRAD:         # s0: the sum of squares
        w[p] = soft_threshold(w[p], L.l1 * db / (sqrt(s0[p]) + rp.eps))
    elif db > 0.0 or ratio != 1.0:
        # (the exponent -wd eff is <= 0: exp_nonpositive, elementary.pxd,
        # inlined, where glibc's exp was a call per coordinate, 22 % of a
        # per-sample Adam epoch on 10 sparse classes, perf; the two differ in
        # the last bit for some arguments. Measured, AMD EPYC VM, per-sample
        # Adam, constant lr, L2, CSR rows of 50 non-zeros, 100,000 features,
        # s an epoch, medians of 5 interleaved, glibc / this: binary, 100,000
        # rows 0.251 / 0.221; 10 classes, 30,000 rows 0.582 / 0.555)
        eff = rule_eff(rp, sc, s0[p], s1[p], s2[p]) * db
        w[p] = soft_threshold(w[p] * ratio * exp_nonpositive(-L.wd * eff), L.l1 * eff)


cdef inline void lazy_catch_up_targets(const Lazy* L, const RuleParams* rp,
                                       const StepScalars* sc, Py_ssize_t j, Py_ssize_t K,
                                       const ModelView* V) noexcept nogil:
    # lazy_catch_up of feature j's coordinates of every target.
    cdef Py_ssize_t tt, p
    for tt in range(K):
        p = tt * V.per_target + j * V.per_feature
        lazy_catch_up(L, rp, sc, j, p, V.w, V.s0, V.s1, V.s2)


cdef inline void lazy_flush(Lazy* L, const RuleParams* rp, const StepScalars* sc,
                            const ModelView* V, Py_ssize_t d, Py_ssize_t K,
                            const double* skip) noexcept nogil:
    # Every coordinate up to date (but those with skip[j] != 0, if skip is
    # given); the accumulators restart.
    # (In memory order: over K target-major rows, 4 K streams d + 1 apart
    # outrun the hardware prefetcher: measured 1.3-1.4x the time of a 200-row
    # partial_fit with 20 classes of 100,000 features.)
    cdef Py_ssize_t j, tt
    if V.per_feature == 1:
        for tt in range(K):
            for j in range(d):
                if skip == NULL or skip[j] == 0.0:
                    lazy_catch_up(L, rp, sc, j, tt * V.per_target + j, V.w, V.s0, V.s1, V.s2)
    else:
        for j in range(d):
            if skip == NULL or skip[j] == 0.0:
                lazy_catch_up_targets(L, rp, sc, j, K, V)
    L.a, L.b = 1.0, 0.0
    for j in range(d):
        L.snap_a[j] = 1.0
        L.snap_b[j] = 0.0


cdef inline bint lazy_needs_restart(const Lazy* L, double factor) noexcept nogil:
    # Before a step by `factor`: must every coordinate be brought up to date
    # and the accumulators restart?
    return (fabs(factor) < LAZY_TINY
            or not LAZY_TINY <= fabs(L.a * factor) <= 1.0 / LAZY_TINY)
