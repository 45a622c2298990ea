# The step of descent.optim: a scan of the inputs, then one pass of the rule.
#
# A step must leave the parameters and the state exactly as they were when
# the gradient or the parameters hold a bad value (NaN, infinity, or for the
# rules that square the gradient a magnitude of 1e150 or more). A value of
# block k cannot be known before block k is read, and the rules' updates are
# not exactly invertible in floating point, so no single pass that writes can
# undo its earlier blocks: every array of the call is scanned first (reading
# grad and params only, no temporaries, vectorised), then updated in one pass.
# At 10M parameters the scan reads 2 of the 7 streams Adam moves (measured in
# bench/bench_optim.py); below the last-level cache it is a few percent.
#
# The update loops below are the formulas of rules.pxd for c = 1 and l1 = 0,
# specialised to the rows each rule reads for its flags, so that a pass moves
# only the bytes the rule needs (Adam without AMSGrad does not touch
# max_exp_avg_sq; RMSprop without momentum or centering touches only
# square_avg). The results are bit-identical to rules.rule_step's (tests/
# test_kernel_rules.py holds them against py_rule_step, signed zeros included):
#   - soft_threshold(x, thr) with thr = 0 * lr (a zero of lr's sign) is
#     x + thr exactly: it turns -0 into +0 when lr >= +0 (`+ zero` below);
#   - a momentum of 0 times a finite buffer only adds a signed zero, which the
#     final + zero absorbs (unless lr is -0.0); the centered term
#     0 * grad_avg ** 2 is absorbed by the clamp of the variance at 0;
#   - `+ wd * w[j]` stays even when wd is 0 (g + 0 * w can turn -0 into +0).
# Rows a rule does not read for its flags are left as they are.
#
# float32 parameters (`real` = float) keep their gradient and state in float32
# (torch.optim's memory) and are computed in float32, as torch computes them:
# the step scalars (lr over the bias corrections...) in double, rounded once,
# then the per-coordinate arithmetic in float. Measured on the Adam loop over
# 10,000,000 float32 (a C transcription, gcc -O3 with this build's flags,
# AVX-512 machine, one thread): float arithmetic 12.5 ms = the bytes it moves
# (12.4 ms); double arithmetic on the float values 23 ms (the conversions and
# twice the vector instructions). descent's pass: 11.4 ms, torch's fused 11.5
# (bench/bench_optim.py --dtype float32). tests/test_optim_float32.py
# holds float32 steps within float32 rounding of float64 steps and of torch's.

from libc.math cimport INFINITY, fabs, sqrt, sqrtf

from descent._kernels cimport ADADELTA, ADAGRAD, ADAMW, RMSPROP, SGD, RuleParams
from descent.kernel.rules cimport StepScalars


cdef extern from *:
    """
    #include <math.h>
    /* 1 if some |g[j]| >= gmax (NaN included) or some w[j] is NaN or
       infinite, else 0. SSE2 (every x86-64) compares eight values an
       iteration; elsewhere a plain loop. */
    #if defined(__SSE2__) || defined(_M_X64) || defined(_M_AMD64)
    #include <emmintrin.h>
    static int descent_scan_bad(const double* g, const double* w, Py_ssize_t n,
                                double gmax) {
        const __m128d sign = _mm_set1_pd(-0.0), M = _mm_set1_pd(gmax);
        const __m128d INF = _mm_set1_pd(INFINITY);
        __m128d bad = _mm_setzero_pd(), b0, b1, b2, b3;
        Py_ssize_t j = 0;
        for (; j + 8 <= n; j += 8) {
            b0 = _mm_or_pd(_mm_cmpnlt_pd(_mm_andnot_pd(sign, _mm_loadu_pd(g + j)), M),
                           _mm_cmpnlt_pd(_mm_andnot_pd(sign, _mm_loadu_pd(g + j + 2)), M));
            b1 = _mm_or_pd(_mm_cmpnlt_pd(_mm_andnot_pd(sign, _mm_loadu_pd(g + j + 4)), M),
                           _mm_cmpnlt_pd(_mm_andnot_pd(sign, _mm_loadu_pd(g + j + 6)), M));
            b2 = _mm_or_pd(_mm_cmpnlt_pd(_mm_andnot_pd(sign, _mm_loadu_pd(w + j)), INF),
                           _mm_cmpnlt_pd(_mm_andnot_pd(sign, _mm_loadu_pd(w + j + 2)), INF));
            b3 = _mm_or_pd(_mm_cmpnlt_pd(_mm_andnot_pd(sign, _mm_loadu_pd(w + j + 4)), INF),
                           _mm_cmpnlt_pd(_mm_andnot_pd(sign, _mm_loadu_pd(w + j + 6)), INF));
            bad = _mm_or_pd(bad, _mm_or_pd(_mm_or_pd(b0, b1), _mm_or_pd(b2, b3)));
        }
        int r = _mm_movemask_pd(bad);
        for (; j < n; j++) r |= !(fabs(g[j]) < gmax) | !(fabs(w[j]) < INFINITY);
        return r != 0;
    }
    #else
    static int descent_scan_bad(const double* g, const double* w, Py_ssize_t n,
                                double gmax) {
        int r = 0;
        for (Py_ssize_t j = 0; j < n; j++)
            r |= !(fabs(g[j]) < gmax) | !(fabs(w[j]) < INFINITY);
        return r;
    }
    #endif
    /* The same test on float32 arrays, compared in float (a vector of 16 on
       AVX-512) against M, the smallest float >= gmax: for a float g,
       |g| >= M exactly when |g| >= gmax, as the classification below
       compares it in double. */
    static int descent_scan_bad_f32(const float* g, const float* w, Py_ssize_t n,
                                    double gmax) {
        float M = (float)gmax;
        if ((double)M < gmax) M = nextafterf(M, INFINITY);
        int r = 0;
        for (Py_ssize_t j = 0; j < n; j++)
            r |= !(fabsf(g[j]) < M) | !(fabsf(w[j]) < INFINITY);
        return r;
    }
    """
    bint descent_scan_bad(const double* g, const double* w, Py_ssize_t n,
                          double gmax) noexcept nogil
    bint descent_scan_bad_f32(const float* g, const float* w, Py_ssize_t n,
                              double gmax) noexcept nogil


# The parameters' precision: one compiled pass per rule and dtype.
ctypedef fused real:
    float
    double


# What the scan found (the step's return code; descent.optim words the errors).
cdef enum:
    SCAN_OK = 0
    SCAN_GRAD_NONFINITE = 1   # grad holds NaN or infinity
    SCAN_GRAD_TOO_BIG = 2     # |grad| >= max_grad (finite)
    SCAN_PARAMS_NONFINITE = 3


cdef inline bint decayed_scan_bad(const real* w, const real* g, Py_ssize_t n,
                                  real wd, double max_grad) noexcept nogil:
    # descent_scan_bad's test and, in the same pass, whether some |g + wd * w|
    # (the gradient the rule squares, in the pass's precision) reaches
    # max_grad or overflows; NaN counts.
    cdef Py_ssize_t j
    cdef bint bad = False
    for j in range(n):
        bad |= ((not (fabs(g[j]) < max_grad)) | (not (fabs(w[j]) < INFINITY))
                | (not (fabs(g[j] + wd * w[j]) < max_grad)))     # no branch: vectorised
    return bad


cdef inline int scan_inputs(const real* w, const real* g, Py_ssize_t n,
                            double max_grad, double weight_decay) noexcept nogil:
    # The fast vectorised test first; only a failing array is classified
    # (grad before params, as the messages were always ordered). With an L2
    # weight decay the squared gradient is g + weight_decay * w: the test
    # then covers it too, in one pass over the two arrays.
    cdef Py_ssize_t j
    cdef bint grad_big = False
    cdef bint bad
    if weight_decay != 0.0 and max_grad < INFINITY:
        bad = decayed_scan_bad(w, g, n, <real>weight_decay, max_grad)
    elif real is double:
        bad = descent_scan_bad(g, w, n, max_grad)
    else:
        bad = descent_scan_bad_f32(g, w, n, max_grad)
    if not bad:
        return SCAN_OK
    for j in range(n):
        if not (-1.8e308 < g[j] < 1.8e308):
            return SCAN_GRAD_NONFINITE
        if not (-max_grad < g[j] < max_grad):
            grad_big = True
    if grad_big:
        return SCAN_GRAD_TOO_BIG
    for j in range(n):
        if not (-1.8e308 < w[j] < 1.8e308):
            return SCAN_PARAMS_NONFINITE
    return SCAN_GRAD_TOO_BIG      # with weight_decay * w added


# -- the update pass: rules.pxd's formulas with c = 1, l1 = 0 ------------------
# Every constant of a loop is a `real` local (a literal like 1.0 would turn a
# float32 loop's arithmetic into double): for real = double each expression
# is the one it always was, value for value.

cdef inline real root(real x) noexcept nogil:
    if real is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline void pass_sgd(const RuleParams* rp, const StepScalars* sc, real* w,
                          const real* g, real* buf_, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef real gj, buf
    cdef real wd = rp.weight_decay, lr = sc.lr, zero = 0.0 * sc.lr
    cdef real mom = rp.momentum, mom_old = sc.momentum_old, undamped = 1.0 - sc.dampening
    if rp.momentum == 0.0:
        for j in range(n):
            gj = g[j] + wd * w[j]
            w[j] = (w[j] - lr * gj) + zero
    elif rp.nesterov:
        for j in range(n):
            gj = g[j] + wd * w[j]
            buf = mom_old * buf_[j] + undamped * gj
            buf_[j] = buf
            w[j] = (w[j] - lr * (gj + mom * buf)) + zero
    else:
        for j in range(n):
            gj = g[j] + wd * w[j]
            buf = mom_old * buf_[j] + undamped * gj
            buf_[j] = buf
            w[j] = (w[j] - lr * buf) + zero


cdef inline void pass_adagrad(const RuleParams* rp, const StepScalars* sc, real* w,
                              const real* g, real* sum_, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef real gj, s
    cdef real wd = rp.weight_decay, eps = rp.eps, clr = sc.clr, zero = 0.0 * sc.clr
    cdef real one = 1.0
    for j in range(n):
        gj = g[j] + wd * w[j]
        s = sum_[j] + gj * gj
        sum_[j] = s
        w[j] = (w[j] - clr * (gj * (one / (root(s) + eps)))) + zero


cdef inline void pass_rmsprop(const RuleParams* rp, const StepScalars* sc, real* w,
                              const real* g, real* sq, real* buf_, real* avg,
                              Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef real gj, s, a, var, inv, buf
    cdef real wd = rp.weight_decay, eps = rp.eps, alpha = rp.alpha, lr = sc.lr
    cdef real zero = 0.0 * sc.lr, one = 1.0, nought = 0.0, one_m_alpha = 1.0 - rp.alpha
    cdef real mom = rp.momentum
    cdef bint centered = rp.centered
    if rp.momentum == 0.0 and not centered:
        for j in range(n):
            gj = g[j] + wd * w[j]
            s = alpha * sq[j] + one_m_alpha * gj * gj
            sq[j] = s
            inv = one / (root(s if s > nought else nought) + eps)
            w[j] = (w[j] - lr * (gj * inv)) + zero
        return
    for j in range(n):
        gj = g[j] + wd * w[j]
        s = alpha * sq[j] + one_m_alpha * gj * gj
        sq[j] = s
        var = s
        if centered:
            a = avg[j] + one_m_alpha * (gj - avg[j])
            avg[j] = a
            var = s - a * a
        inv = one / (root(var if var > nought else nought) + eps)
        if rp.momentum != 0.0:
            buf = mom * buf_[j] + gj * inv
            buf_[j] = buf
        else:
            buf = gj * inv
        w[j] = (w[j] - lr * buf) + zero


cdef inline void pass_adadelta(const RuleParams* rp, const StepScalars* sc, real* w,
                               const real* g, real* sq, real* acc,
                               Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef real gj, s, delta
    cdef real wd = rp.weight_decay, eps = rp.eps, rho = rp.rho, lr = sc.lr
    cdef real zero = 0.0 * sc.lr, one_m_rho = 1.0 - rp.rho
    for j in range(n):
        gj = g[j] + wd * w[j]
        s = rho * sq[j] + one_m_rho * gj * gj
        sq[j] = s
        delta = (root(acc[j] + eps) / root(s + eps)) * gj
        acc[j] = rho * acc[j] + one_m_rho * delta * delta
        w[j] = (w[j] - lr * delta) + zero


cdef inline void pass_adam(const RuleParams* rp, const StepScalars* sc, real* w,
                           const real* g, real* m_, real* v_, real* vmax,
                           Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef real gj, m, v, vm
    cdef real wd = rp.weight_decay if rp.rule != ADAMW else 0.0
    cdef real eps = rp.eps, beta2 = rp.beta2
    cdef real one_m_beta1 = 1.0 - rp.beta1, one_m_beta2 = 1.0 - rp.beta2, one = 1.0
    cdef real clr = sc.clr, inv_bc2s = 1.0 / sc.bc2s, decay = sc.decay
    cdef real zero = 0.0 * sc.clr
    if not rp.amsgrad:
        for j in range(n):
            gj = g[j] + wd * w[j]
            m = m_[j] + one_m_beta1 * (gj - m_[j])
            v = beta2 * v_[j] + one_m_beta2 * gj * gj
            m_[j] = m
            v_[j] = v
            w[j] = (w[j] * decay - clr * (m * (one / (root(v) * inv_bc2s + eps)))) + zero
        return
    for j in range(n):
        gj = g[j] + wd * w[j]
        m = m_[j] + one_m_beta1 * (gj - m_[j])
        v = beta2 * v_[j] + one_m_beta2 * gj * gj
        vm = vmax[j] if vmax[j] > v else v
        m_[j] = m
        v_[j] = v
        vmax[j] = vm
        w[j] = (w[j] * decay - clr * (m * (one / (root(vm) * inv_bc2s + eps)))) + zero


cdef inline void update_pass(const RuleParams* rp, const StepScalars* sc, real* w,
                             const real* g, real* s0, real* s1, real* s2,
                             Py_ssize_t n) noexcept nogil:
    if rp.rule == SGD:
        pass_sgd(rp, sc, w, g, s0, n)
    elif rp.rule == ADAGRAD:
        pass_adagrad(rp, sc, w, g, s0, n)
    elif rp.rule == RMSPROP:
        pass_rmsprop(rp, sc, w, g, s0, s1, s2, n)
    elif rp.rule == ADADELTA:
        pass_adadelta(rp, sc, w, g, s0, s1, n)
    else:
        pass_adam(rp, sc, w, g, s0, s1, s2, n)
