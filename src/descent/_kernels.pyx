# Compiled kernels of descent: losses, penalties, update rules and the
# training loops over contiguous float64 buffers. Every helper is
# `noexcept nogil`; a fit call releases the GIL once and takes it back only to
# print verbose lines and to check for Ctrl-C between epochs.
#
# Directives (boundscheck, wraparound, cdivision, ...) come from CMake and the
# build type, never from this file.

from cython.parallel cimport prange, threadid
cimport scipy.linalg.cython_blas as blas
from libc.math cimport sqrt, fabs, exp, pow, isfinite, INFINITY, NAN
from libc.stdlib cimport calloc, malloc, realloc, free
from libc.string cimport memset

import numpy as np


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    /* The empty volatile asm is a side effect: without it GCC finds the
       helper that prefetches a row "const" (a prefetch has no effect on the
       program's state) and deletes every call to it. */
    #define DESCENT_PREFETCH(p) \
        do { __builtin_prefetch((p), 0, 3); __asm__ __volatile__(""); } while (0)
    #else
    #define DESCENT_PREFETCH(p) ((void)0)
    #endif
    #ifdef _OPENMP
    #include <omp.h>
    #define DESCENT_HAVE_OPENMP 1
    #define DESCENT_MAX_THREADS() omp_get_max_threads()
    #else
    #define DESCENT_HAVE_OPENMP 0
    #define DESCENT_MAX_THREADS() 1
    #endif
    #include <stdint.h>
    /* The first 64-byte (cache-line) boundary in a block from malloc. */
    static double* descent_align64(void* raw) {
        return (double*)(((uintptr_t)raw + 63) & ~(uintptr_t)63); }

    /* The Debug build (CMake) checks every row and coordinate index the hot
       loops follow through raw pointers, where Cython's boundscheck cannot
       see, and aborts loudly on the first one out of range. */
    #if defined(DESCENT_DEBUG) && DESCENT_DEBUG
    #include <stdio.h>
    #include <stdlib.h>
    static void descent_check_failed(const char* cond, const char* file, int line) {
        fprintf(stderr, "descent: kernel index check failed: %s (%s:%d)%c",
                cond, file, line, 10);
        abort(); }
    #define DESCENT_CHECK(cond) \
        do { if (!(cond)) descent_check_failed(#cond, __FILE__, __LINE__); } while (0)
    #else
    #define DESCENT_CHECK(cond) ((void)0)
    #endif
    /* Flush denormals to zero (FTZ + DAZ) while a fit runs. A decaying state
       (Adam's beta ** t, a momentum buffer fed zero gradients) otherwise
       settles on the smallest denormal, 0.9 * 5e-324 rounding back to 5e-324,
       and every multiply by it takes a ~100-cycle microcode assist: measured
       4x slower per-sample Adam. Values below 2.2e-308 are noise here. */
    #if defined(__SSE2__) || defined(_M_X64) || defined(_M_AMD64)
    #include <xmmintrin.h>
    static unsigned long long descent_flush_denormals(void) {
        unsigned int old = _mm_getcsr(); _mm_setcsr(old | 0x8040u); return old; }
    static void descent_restore_fp(unsigned long long old) { _mm_setcsr((unsigned int)old); }
    #elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
    static unsigned long long descent_flush_denormals(void) {
        unsigned long long old; __asm__ __volatile__("mrs %0, fpcr" : "=r"(old));
        __asm__ __volatile__("msr fpcr, %0" : : "r"(old | (1ULL << 24))); return old; }
    static void descent_restore_fp(unsigned long long old) {
        __asm__ __volatile__("msr fpcr, %0" : : "r"(old)); }
    #else
    static unsigned long long descent_flush_denormals(void) { return 0; }
    static void descent_restore_fp(unsigned long long old) { (void)old; }
    #endif
    """
    void DESCENT_PREFETCH(const void* p) nogil
    int DESCENT_HAVE_OPENMP
    int DESCENT_MAX_THREADS() nogil
    double* descent_align64(void* raw) nogil
    void DESCENT_CHECK(bint cond) nogil
    unsigned long long descent_flush_denormals() nogil
    void descent_restore_fp(unsigned long long old) nogil
    const char* DESCENT_BUILD_TYPE

cdef extern from "Python.h":
    int PyErr_CheckSignals()   # no `except`: we read its -1 ourselves
    void PyErr_Clear()

OPENMP = bool(DESCENT_HAVE_OPENMP)
BUILD_TYPE = DESCENT_BUILD_TYPE.decode()


def max_threads():
    """Threads OpenMP would use (1 in a build without OpenMP)."""
    return DESCENT_MAX_THREADS()


# ---------------------------------------------------------------------------
# Level-1 helpers. The dot product keeps four independent partial sums: a
# single accumulator chains every add through one register (latency bound,
# about 2x slower at d >= 100), and the compiler may not reassociate the sum
# itself without -ffast-math.

# Between BLAS_MIN_D and BLAS_MAX_D coordinates, BLAS level-1 (ddot/daxpy of
# the OpenBLAS that SciPy ships, dispatched at run time to AVX2/AVX-512) beats
# these portable SSE2 loops despite its call overhead (bench/: shuffled SGD at
# d = 1000, 1.45 -> 1.28 us/sample). Above BLAS_MAX_D OpenBLAS may start
# threads of its own, which must not happen inside our (OpenMP) loops.
cdef enum:
    BLAS_MIN_D = 64
    BLAS_MAX_D = 8192


cdef inline double dot(const double* x, const double* w, Py_ssize_t d) noexcept nogil:
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef Py_ssize_t j = 0
    cdef int n, one = 1
    if BLAS_MIN_D <= d <= BLAS_MAX_D:
        n = <int>d
        return blas.ddot(&n, <double*>x, &one, <double*>w, &one)
    while j + 4 <= d:
        s0 += x[j] * w[j]
        s1 += x[j + 1] * w[j + 1]
        s2 += x[j + 2] * w[j + 2]
        s3 += x[j + 3] * w[j + 3]
        j += 4
    while j < d:
        s0 += x[j] * w[j]
        j += 1
    return (s0 + s1) + (s2 + s3)


cdef inline void axpy(double a, const double* x, double* w, Py_ssize_t d) noexcept nogil:
    cdef Py_ssize_t j
    cdef int n, one = 1
    if BLAS_MIN_D <= d <= BLAS_MAX_D:
        n = <int>d
        blas.daxpy(&n, &a, <double*>x, &one, w, &one)
        return
    for j in range(d):
        w[j] += a * x[j]


ctypedef struct Data:
    const double* X       # dense rows (C order), or NULL
    const double* data    # CSR rows, or NULL
    const int* indices
    const int* indptr
    bint sparse
    Py_ssize_t n_rows
    const double* y       # (n, K) targets, C order
    Py_ssize_t K
    const double* sw      # sample weights, or NULL for all ones
    Py_ssize_t d
    Py_ssize_t ahead      # rows prefetched ahead in the shuffled order


# The row layout is a second template parameter of the hot loops: dense rows
# are read with no index indirection, CSR rows cost O(nnz).
ctypedef struct DenseT:
    char unused
ctypedef struct SparseT:
    char unused

ctypedef fused LayoutT:
    DenseT
    SparseT


cdef inline double row_dot(LayoutT* lay, const Data* D, Py_ssize_t i,
                           const double* w) noexcept nogil:
    cdef int k
    cdef double s = 0.0
    DESCENT_CHECK(0 <= i < D.n_rows)
    if LayoutT is DenseT:
        return dot(D.X + i * D.d, w, D.d)
    else:
        for k in range(D.indptr[i], D.indptr[i + 1]):
            DESCENT_CHECK(0 <= D.indices[k] < D.d)
            s += D.data[k] * w[D.indices[k]]
        return s


cdef inline void row_axpy(LayoutT* lay, const Data* D, Py_ssize_t i, double a,
                          double* w) noexcept nogil:
    cdef int k
    DESCENT_CHECK(0 <= i < D.n_rows)
    if LayoutT is DenseT:
        axpy(a, D.X + i * D.d, w, D.d)
    else:
        for k in range(D.indptr[i], D.indptr[i + 1]):
            DESCENT_CHECK(0 <= D.indices[k] < D.d)
            w[D.indices[k]] += a * D.data[k]


cdef inline double row_sqnorm(LayoutT* lay, const Data* D, Py_ssize_t i) noexcept nogil:
    cdef int k
    cdef double s = 0.0
    if LayoutT is DenseT:
        return dot(D.X + i * D.d, D.X + i * D.d, D.d)
    else:
        for k in range(D.indptr[i], D.indptr[i + 1]):
            s += D.data[k] * D.data[k]
        return s


cdef inline double weight(const Data* D, Py_ssize_t i) noexcept nogil:
    # sample_weight=None is NULL: no n-sized array of ones to allocate and read.
    DESCENT_CHECK(0 <= i < D.n_rows)
    return D.sw[i] if D.sw != NULL else 1.0


cdef inline double any_row_dot(const Data* D, Py_ssize_t i, const double* w) noexcept nogil:
    # For the loops that are not hot (divergence reference, validation score).
    if D.sparse:
        return row_dot(<SparseT*>NULL, D, i, w)
    return row_dot(<DenseT*>NULL, D, i, w)


cdef inline void prefetch_sample(LayoutT* lay, const Data* D, Py_ssize_t i) noexcept nogil:
    # A shuffled sample is a cache miss on its row, target and weight; its
    # index is known rows ahead, so ask for all their cache lines now.
    cdef Py_ssize_t j, d = D.d
    cdef const double* x
    if LayoutT is DenseT:
        x = D.X + i * d
        for j in range(0, d, 8):
            DESCENT_PREFETCH(x + j)
        DESCENT_PREFETCH(x + d - 1)
    else:
        DESCENT_PREFETCH(D.data + D.indptr[i])
        DESCENT_PREFETCH(D.indices + D.indptr[i])
    DESCENT_PREFETCH(D.y + i)
    if D.sw != NULL:
        DESCENT_PREFETCH(D.sw + i)


# ---------------------------------------------------------------------------
# Random numbers for shuffling: splitmix64 (Steele, Lea & Flood 2014), enough
# for a permutation and reproducible across platforms.

cdef inline unsigned long long splitmix64(unsigned long long* state) noexcept nogil:
    state[0] += 0x9E3779B97F4A7C15ULL
    cdef unsigned long long z = state[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef void shuffle_indices(row_t* idx, Py_ssize_t n,
                          unsigned long long* state) noexcept nogil:
    # Fisher-Yates. j = floor(r32 * (i + 1) / 2**32) with a 32-bit random r32
    # (Lemire 2019) replaces a 64-bit division; its bias is below n / 2**32.
    cdef Py_ssize_t i, j
    cdef row_t tmp
    for i in range(n - 1, 0, -1):
        if <unsigned long long>i < 0xFFFFFFFFULL:
            j = <Py_ssize_t>(((splitmix64(state) >> 32) * <unsigned long long>(i + 1)) >> 32)
        else:
            j = <Py_ssize_t>(splitmix64(state) % <unsigned long long>(i + 1))
        tmp = idx[i]
        idx[i] = idx[j]
        idx[j] = tmp


# ---------------------------------------------------------------------------
# Losses, with scikit-learn's definitions; `dloss` is d loss / d p.
# Each loss is a type of the fused type LossT, so that every training loop is
# compiled once per loss with the loss inlined: no per-sample switch.

ctypedef struct SquaredErrorT:
    char unused
ctypedef struct HuberT:
    char unused
ctypedef struct EpsilonInsensitiveT:
    char unused
ctypedef struct SquaredEpsilonInsensitiveT:
    char unused

ctypedef fused LossT:
    SquaredErrorT
    HuberT
    EpsilonInsensitiveT
    SquaredEpsilonInsensitiveT


cdef inline double t_loss(LossT* kind, double y, double p, double eps) noexcept nogil:
    cdef double r = p - y
    cdef double a = fabs(r)
    if LossT is SquaredErrorT:
        return 0.5 * r * r
    elif LossT is HuberT:
        return 0.5 * r * r if a <= eps else eps * a - 0.5 * eps * eps
    elif LossT is EpsilonInsensitiveT:
        return a - eps if a > eps else 0.0
    else:
        return (a - eps) * (a - eps) if a > eps else 0.0


cdef inline double t_dloss(LossT* kind, double y, double p, double eps) noexcept nogil:
    cdef double r = p - y
    if LossT is SquaredErrorT:
        return r
    elif LossT is HuberT:
        if fabs(r) <= eps:
            return r
        return eps if r > 0 else -eps
    elif LossT is EpsilonInsensitiveT:
        if r > eps:
            return 1.0
        elif r < -eps:
            return -1.0
        return 0.0
    else:
        if r > eps:
            return 2.0 * (r - eps)
        elif r < -eps:
            return 2.0 * (r + eps)
        return 0.0


cdef double loss_value(int loss, double y, double p, double epsilon) noexcept nogil:
    if loss == SQUARED_ERROR:
        return t_loss(<SquaredErrorT*>NULL, y, p, epsilon)
    elif loss == HUBER:
        return t_loss(<HuberT*>NULL, y, p, epsilon)
    elif loss == EPSILON_INSENSITIVE:
        return t_loss(<EpsilonInsensitiveT*>NULL, y, p, epsilon)
    return t_loss(<SquaredEpsilonInsensitiveT*>NULL, y, p, epsilon)


cdef double loss_dloss(int loss, double y, double p, double epsilon) noexcept nogil:
    if loss == SQUARED_ERROR:
        return t_dloss(<SquaredErrorT*>NULL, y, p, epsilon)
    elif loss == HUBER:
        return t_dloss(<HuberT*>NULL, y, p, epsilon)
    elif loss == EPSILON_INSENSITIVE:
        return t_dloss(<EpsilonInsensitiveT*>NULL, y, p, epsilon)
    return t_dloss(<SquaredEpsilonInsensitiveT*>NULL, y, p, epsilon)


# ---------------------------------------------------------------------------
# Update rules: torch.optim's formulas (2.x, single-tensor path), element by
# element, for the gradient g_j = c * src_j (+ weight_decay * w_j, coupled,
# except AdamW whose decay is decoupled). Passing (src, c) rather than g lets a
# per-sample step use the row x itself (g = dloss * x) with no gradient buffer.
# After the update, an L1 penalty l1 > 0 applies the proximal soft-threshold
# w_j <- sign(w_j) max(|w_j| - l1 eff_j, 0), eff_j being the step size that
# multiplies the gradient for coordinate j (Duchi & Singer 2009, FOBOS).
# The hyper-parameters are copied to locals first: the compiler must know that
# stores to w cannot change them, to unswitch the flag tests and vectorise.

cdef inline double soft_threshold(double w, double thr) noexcept nogil:
    # w - clamp(w, -thr, thr), branch-free (minsd/maxsd); exact for thr = 0.
    cdef double c = w if w < thr else thr
    c = c if c > -thr else -thr
    return w - c


cdef StepScalars step_scalars(const RuleParams* rp, double lr, double step,
                              double beta1_pow, double beta2_pow) noexcept nogil:
    # What depends on the step count but not on the coordinate, computed once
    # per step. beta1_pow, beta2_pow are beta ** step (Adam's bias corrections),
    # passed in so that a training loop can keep them as running products
    # instead of two pow() calls per sample.
    cdef StepScalars sc
    sc.lr = lr
    sc.clr = lr
    sc.bc2s = 1.0
    sc.decay = 1.0
    sc.momentum_old = rp.momentum
    sc.dampening = rp.dampening
    if rp.rule == SGD and step == 1.0:
        # torch: the first momentum buffer is the raw gradient.
        sc.momentum_old = 0.0
        sc.dampening = 0.0
    elif rp.rule == ADAGRAD:
        sc.clr = lr / (1.0 + (step - 1.0) * rp.lr_decay)
    elif rp.rule == ADAM or rp.rule == ADAMW:
        sc.clr = lr / (1.0 - beta1_pow)
        sc.bc2s = sqrt(1.0 - beta2_pow)
        if rp.rule == ADAMW:
            sc.decay = 1.0 - lr * rp.weight_decay  # decoupled (Loshchilov & Hutter 2019)
    return sc


cdef inline void rule_step(const RuleParams* rp, const StepScalars* sc, double* w,
                           const double* src, double c, double l1, double* s0,
                           double* s1, double* s2, Py_ssize_t n) noexcept nogil:
    # inline: in a per-sample loop the intercept's one-element call then costs
    # a few instructions instead of a call with loop set-up (measured 2x at d=10).
    cdef Py_ssize_t j
    cdef double gj, buf, inv, delta, eff, var
    cdef int rule = rp.rule
    cdef double wd = rp.weight_decay if rule != ADAMW else 0.0
    cdef double mom = rp.momentum, mom_old = sc.momentum_old, damp = sc.dampening
    cdef double eps = rp.eps, alpha = rp.alpha, rho = rp.rho
    cdef double beta1 = rp.beta1, beta2 = rp.beta2
    cdef bint nesterov = rp.nesterov, amsgrad = rp.amsgrad
    cdef double centered = 1.0 if rp.centered else 0.0
    cdef double lr = sc.lr, clr = sc.clr, inv_bc2s = 1.0 / sc.bc2s, decay = sc.decay
    if rule == SGD:
        if mom == 0.0:
            for j in range(n):
                gj = c * src[j] + wd * w[j]
                w[j] = soft_threshold(w[j] - lr * gj, l1 * lr)
            return
        for j in range(n):
            gj = c * src[j] + wd * w[j]
            buf = mom_old * s0[j] + (1.0 - damp) * gj
            s0[j] = buf
            gj = gj + mom * buf if nesterov else buf
            w[j] = soft_threshold(w[j] - lr * gj, l1 * lr)
    elif rule == ADAGRAD:
        for j in range(n):
            gj = c * src[j] + wd * w[j]
            s0[j] += gj * gj
            inv = 1.0 / (sqrt(s0[j]) + eps)
            w[j] = soft_threshold(w[j] - clr * (gj * inv), l1 * clr * inv)
    elif rule == RMSPROP:
        # Branch-free for vectorisation, and exact: with centered = 0 the
        # grad_avg term is 0 * s2 = 0, with momentum = 0 the buffer s1 is just
        # g / avg. (s1 and s2 are then written but never read.)
        for j in range(n):
            gj = c * src[j] + wd * w[j]
            s0[j] = alpha * s0[j] + (1.0 - alpha) * gj * gj
            s2[j] += (1.0 - alpha) * (gj - s2[j])
            # centered: the variance s0 - s2^2 can round below 0 (torch: NaN)
            var = s0[j] - centered * s2[j] * s2[j]
            inv = 1.0 / (sqrt(var if var > 0.0 else 0.0) + eps)
            s1[j] = mom * s1[j] + gj * inv
            w[j] = soft_threshold(w[j] - lr * s1[j], l1 * lr * inv)
    elif rule == ADADELTA:
        for j in range(n):
            gj = c * src[j] + wd * w[j]
            s0[j] = rho * s0[j] + (1.0 - rho) * gj * gj
            # eps sits inside both square roots (Zeiler 2012, as torch).
            eff = sqrt(s1[j] + eps) / sqrt(s0[j] + eps)
            delta = eff * gj
            s1[j] = rho * s1[j] + (1.0 - rho) * delta * delta
            w[j] = soft_threshold(w[j] - lr * delta, l1 * lr * eff)
    else:  # ADAM, ADAMW
        for j in range(n):
            gj = c * src[j] + wd * w[j]    # read before w[j] is decayed (src may be w)
            s0[j] += (1.0 - beta1) * (gj - s0[j])
            s1[j] = beta2 * s1[j] + (1.0 - beta2) * gj * gj
            # AMSGrad keeps the max of the uncorrected second moment (s2 is
            # kept either way, so the loop has no branch).
            s2[j] = s2[j] if s2[j] > s1[j] else s1[j]
            inv = 1.0 / ((sqrt(s2[j]) if amsgrad else sqrt(s1[j])) * inv_bc2s + eps)
            w[j] = soft_threshold(w[j] * decay - clr * (s0[j] * inv), l1 * clr * inv)


# ---------------------------------------------------------------------------
# The training loops.

ctypedef struct Buffers:
    double* theta         # K blocks of (coef (d), intercept)
    double* avg           # K blocks of (averaged coef, intercept, count), or NULL
    double* s0            # the update rule's state (K * (d + 1) each)
    double* s1
    double* s2
    double* g             # gradient accumulator (K * (d + 1)), batched path
    double* gthreads      # per-thread accumulators, batches with threads
    double* q             # L1 shrink each weight got (cumulative penalty), K * d
    double* wscale        # per target: w = wscale * v (plain path), K
    double* dl            # per target dloss of the current sample, K per thread
    double* lazy          # lazy sparse steps: 6 * d (snapshots, a gathered row)
    double* inv_freq      # sparse Hogwild!: n / (training rows containing feature j), d
    double* hog           # sparse Hogwild!: per thread, a gathered row (5 * max_nnz)
    Py_ssize_t max_nnz    # the most non-zeros of a training row
    double* local         # dense Hogwild!: per thread, loss, dloss and model copies
    void* local_raw       # (the allocation local is aligned in)
    Py_ssize_t local_head  # offset of the copies in a thread's block
    Py_ssize_t local_stride  # doubles per thread's block (whole cache lines)


ctypedef struct Progress:
    double eta            # the current learning rate (adaptive schedule)
    double t              # scikit-learn's t_: samples seen + 1
    double step           # updates done
    double u              # total L1 shrink (cumulative penalty)
    double penalty_start  # penalty at the start of a full-batch step
    double beta1_pow      # beta1 ** step, beta2 ** step (Adam's bias corrections)
    double beta2_pow


cdef inline double schedule_eta(const Settings* s, double eta, double t) noexcept nogil:
    # t is the 1-based count of the update about to be made.
    if s.schedule == OPTIMAL:
        return 1.0 / (s.alpha * (s.optimal_init + t - 1.0))
    elif s.schedule == INVSCALING:
        # pow() costs tens of ns per sample; the defaults have cheap forms.
        if s.power_t == 0.25:
            return s.eta0 / sqrt(sqrt(t))
        elif s.power_t == 0.5:
            return s.eta0 / sqrt(t)
        return s.eta0 / pow(t, s.power_t)
    return eta      # CONSTANT, ADAPTIVE: the current eta


cdef inline double l1_ratio_of(const Settings* s) noexcept nogil:
    if s.penalty == L2:
        return 0.0
    elif s.penalty == L1:
        return 1.0
    elif s.penalty == ELASTICNET:
        return s.l1_ratio
    return 0.0


cdef inline void penalty_parts(const Settings* s, double* alpha_l1,
                               double* alpha_l2) noexcept nogil:
    # The L1 and L2 coefficients of the penalty (both 0 without one).
    cdef double r = l1_ratio_of(s)
    if s.penalty == NO_PENALTY:
        alpha_l1[0] = alpha_l2[0] = 0.0
    else:
        alpha_l1[0] = r * s.alpha
        alpha_l2[0] = (1.0 - r) * s.alpha


cdef double penalty_value(const Settings* s, const double* theta, Py_ssize_t d,
                          Py_ssize_t K, Py_ssize_t stride) noexcept nogil:
    # alpha * (l1_ratio * |w|_1 + (1 - l1_ratio) / 2 * |w|^2), as scikit-learn,
    # summed over the K targets whose coefs start every `stride` entries.
    cdef Py_ssize_t j, tt
    cdef double l1 = 0.0, l2 = 0.0, r = l1_ratio_of(s)
    cdef const double* w
    if s.penalty == NO_PENALTY:
        return 0.0
    for tt in range(K):
        w = theta + tt * stride
        for j in range(d):
            l1 += fabs(w[j])
            l2 += w[j] * w[j]
    return s.alpha * (r * l1 + 0.5 * (1.0 - r) * l2)


cdef double divergence_reference(const Data* D, const Settings* s,
                                 const row_t* idx, Py_ssize_t n,
                                 const double* theta) noexcept nogil:
    # The larger of the objectives of the zero model and of the start point on
    # these rows. An epoch whose objective exceeds it by orders of magnitude
    # is diverging. (The zero model keeps a perfect start point, objective ~0,
    # from flagging ordinary SGD noise.) Reads X only if some coef is not 0.
    cdef Py_ssize_t k, i, j, tt, d = D.d, K = D.K
    cdef double at_zero = 0.0, at_start = 0.0, p
    cdef bint zero = True
    for j in range(K * (d + 1)):
        if j % (d + 1) != d and theta[j] != 0.0:
            zero = False
            break
    for k in range(n):
        i = idx[k]
        for tt in range(K):
            at_zero += weight(D, i) * loss_value(s.loss, D.y[i * K + tt], 0.0, s.epsilon)
            p = theta[tt * (d + 1) + d]
            if not zero:
                p += any_row_dot(D, i, theta + tt * (d + 1))
            at_start += weight(D, i) * loss_value(s.loss, D.y[i * K + tt], p, s.epsilon)
    at_start = at_start / n + penalty_value(s, theta, d, K, d + 1)
    at_zero /= n
    return at_start if at_start > at_zero else at_zero


cdef double r2_score_rows(const Data* D, const row_t* idx, Py_ssize_t n,
                          const double* theta) noexcept nogil:
    # Weighted R^2 of the model theta on the rows idx[0:n] (early stopping),
    # averaged over the targets as RegressorMixin.score does.
    cdef Py_ssize_t k, i, tt, d = D.d, K = D.K
    cdef double sw_sum, ymean, ss_res, ss_tot, r, total = 0.0
    for tt in range(K):
        sw_sum = ymean = ss_res = ss_tot = 0.0
        for k in range(n):
            i = idx[k]
            sw_sum += weight(D, i)
            ymean += weight(D, i) * D.y[i * K + tt]
        ymean /= sw_sum
        for k in range(n):
            i = idx[k]
            r = D.y[i * K + tt] - any_row_dot(D, i, theta + tt * (d + 1)) - theta[tt * (d + 1) + d]
            ss_res += weight(D, i) * r * r
            r = D.y[i * K + tt] - ymean
            ss_tot += weight(D, i) * r * r
        if ss_tot == 0.0:
            total += 1.0 if ss_res == 0.0 else 0.0
        else:
            total += 1.0 - ss_res / ss_tot
    return total / K


cdef inline void update_average(double* avg, const double* theta, double wscale,
                                Py_ssize_t d) noexcept nogil:
    # Running mean of the iterates (Polyak & Juditsky 1992): avg += (w - avg) / k,
    # k = avg[d + 1] + 1 the number of iterates averaged so far (kept across calls).
    cdef Py_ssize_t j
    avg[d + 1] += 1.0
    cdef double mu = 1.0 / avg[d + 1]
    for j in range(d):
        avg[j] += mu * (wscale * theta[j] - avg[j])
    avg[d] += mu * (theta[d] - avg[d])


cdef inline double clip_factor(const Settings* s, double gnorm) noexcept nogil:
    # torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) if above.
    if gnorm > s.clip_norm:
        return s.clip_norm / (gnorm + 1e-6)
    return 1.0


cdef inline double sample_dloss(LossT* kind, LayoutT* lay, const Data* D,
                                const Settings* s, Py_ssize_t i, const double* theta,
                                Py_ssize_t K, const double* wscale,
                                double* dl) noexcept nogil:
    # For sample i and each target: dl[t] = sw_i dloss(y_it, x_i . w_t + b_t),
    # clipped jointly (the sample's gradient is dl (x) (x_i, 1)); returns
    # sum_t sw_i loss_it. One pass over the row per target, the row in cache.
    cdef Py_ssize_t tt, d = D.d
    cdef double p, y, loss_sum = 0.0, sq = 0.0, f
    cdef double sw = weight(D, i)
    for tt in range(K):
        p = row_dot(lay, D, i, theta + tt * (d + 1))
        if wscale != NULL:
            p *= wscale[tt]
        p += theta[tt * (d + 1) + d]
        y = D.y[i * D.K + tt]
        loss_sum += sw * t_loss(kind, y, p, s.epsilon)
        dl[tt] = sw * t_dloss(kind, y, p, s.epsilon)
        sq += dl[tt] * dl[tt]
    if s.clip_norm > 0.0:
        f = clip_factor(s, sqrt(sq) * sqrt(row_sqnorm(lay, D, i)
                                           + (1.0 if s.fit_intercept else 0.0)))
        for tt in range(K):
            dl[tt] *= f
    return loss_sum


# The number of targets is a third template parameter of the per-sample
# loop: with one target its weight scale and dloss live in registers (a
# store and reload per sample through the K-sized buffers cost ~8 ns/sample
# at d = 10, a quarter of the loop).
ctypedef struct OneTargetT:
    char unused
ctypedef struct ManyTargetsT:
    char unused

ctypedef fused TargetsT:
    OneTargetT
    ManyTargetsT


cdef double epoch_plain(LossT* kind, LayoutT* lay, TargetsT* targets, const Data* D,
                        const Settings* s, const row_t* idx, Py_ssize_t n,
                        Buffers* B, Progress* P) noexcept nogil:
    # One epoch of per-sample SGD with scikit-learn's update:
    #   w <- (1 - eta alpha (1 - l1_ratio)) w - eta dloss x,   b <- b - eta dloss
    # The L2 shrink is O(1): w = wscale * v, and only the scalar wscale is
    # multiplied (Bottou's svmsgd; Shalev-Shwartz et al. 2007). The L1 part is
    # the cumulative penalty of Tsuruoka, Tsujii & Ananiadou (2009): u is the
    # total L1 shrink every weight could have had, q[j] what weight j really got,
    # so weights are clipped at zero and become exactly 0. Each target has its
    # own v, wscale and q; all are updated from the same row.
    cdef Py_ssize_t k, i, j, jj, tt, d = D.d, K, ahead = D.ahead
    cdef int nnz
    cdef double* v
    cdef double* q
    cdef double update, ws, loss_sum = 0.0, z
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
        if k + ahead < n:
            prefetch_sample(lay, D, idx[k + ahead])
        eta = schedule_eta(s, eta, t)
        loss_sum += sample_dloss(kind, lay, D, s, i, B.theta, K, wscale, dl)
        if has_l1:
            u += l1r * eta * s.alpha
        for tt in range(K):
            v = B.theta + tt * (d + 1)
            ws = wscale[tt]
            update = -eta * dl[tt]
            if has_l2:
                z = 1.0 - eta * shrink_coef
                # Never scale to negative values when eta * alpha is too big.
                ws *= z if z > 0.0 else 0.0
                if ws < 1e-9:
                    for j in range(d):
                        v[j] *= ws
                    ws = 1.0
            if update != 0.0:
                row_axpy(lay, D, i, update / ws, v)
                v[d] += update * s.intercept_decay * fi
            if has_l1:
                # Only the row's coordinates: the others catch up on u when touched.
                q = B.q + tt * d
                nnz = d if LayoutT is DenseT else D.indptr[i + 1] - D.indptr[i]
                for jj in range(nnz):
                    if LayoutT is DenseT:
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


cdef inline double accumulate_rows(LossT* kind, LayoutT* lay, const Data* D,
                                   const Settings* s, const row_t* idx, Py_ssize_t lo,
                                   Py_ssize_t hi, const double* theta,
                                   double* g) noexcept nogil:
    # Fused pass over the rows idx[lo:hi]: residuals, losses and gradient
    # accumulation of every target in the same row loop, so X is read once
    # per step. g_t += sum_i sw_i dloss_it (x_i, 1); returns sum_it sw_i loss_it.
    cdef Py_ssize_t k, i, tt, d = D.d, K = D.K
    cdef double p, c, y, sw, loss_sum = 0.0
    for k in range(lo, hi):
        i = idx[k]
        if k + D.ahead < hi:
            prefetch_sample(lay, D, idx[k + D.ahead])
        sw = weight(D, i)
        for tt in range(K):
            p = row_dot(lay, D, i, theta + tt * (d + 1)) + theta[tt * (d + 1) + d]
            y = D.y[i * K + tt]
            loss_sum += sw * t_loss(kind, y, p, s.epsilon)
            c = sw * t_dloss(kind, y, p, s.epsilon)
            row_axpy(lay, D, i, c, g + tt * (d + 1))
            g[tt * (d + 1) + d] += c
    return loss_sum


cdef double batch_gradient(LossT* kind, LayoutT* lay, const Data* D, const Settings* s,
                           const row_t* idx, Py_ssize_t n, const double* theta,
                           double* g, double* gthreads, int n_threads) noexcept nogil:
    # The gradient of the rows idx[0:n] into g (accumulate_rows); returns the
    # sum of their weighted losses.
    cdef Py_ssize_t j, c, nchunks, stride, size = D.K * (D.d + 1)
    cdef double loss_sum = 0.0
    cdef double* gt
    memset(g, 0, size * sizeof(double))
    # Threads pay off once a batch holds enough work to cover the fork/join:
    # measured with 2 threads, batches of 2.2e5 and 2.6e5 units (rows x
    # (features + 8)) ran 1.3x and 1.7x faster, of 2.8e4 and 3.2e4 no faster.
    if n_threads <= 1 or n * D.K * (D.d + 8) < 200000:
        return accumulate_rows(kind, lay, D, s, idx, 0, n, theta, g)
    # The rows go in chunks (gradient_chunks), handed out dynamically
    # (a thread the machine slows down, e.g. a shared VM's steal, takes fewer
    # instead of the others waiting for it), each with its own accumulator
    # (and loss in its last slot), summed in chunk order: the same result
    # whichever thread ran which chunk.
    stride = (size + 1 + 7) // 8 * 8          # whole cache lines apart
    # (at least 64 rows a chunk when there are enough, so that a mini-batch's
    # few hundred rows are not cut into chunks not worth handing out)
    nchunks = min(n, gradient_chunks(n_threads, stride), max(2 * n_threads, n // 64))
    memset(gthreads, 0, nchunks * stride * sizeof(double))
    for c in prange(nchunks, num_threads=n_threads, schedule='dynamic'):
        gthreads[c * stride + size] = accumulate_rows(
            kind, lay, D, s, idx, n * c // nchunks, n * (c + 1) // nchunks, theta,
            gthreads + c * stride)
    for c in range(nchunks):
        gt = gthreads + c * stride
        loss_sum += gt[size]
        for j in range(size):
            g[j] += gt[j]
    return loss_sum
    # The rows go in chunks (gradient_chunks), handed out dynamically
    # (a thread the machine slows down, e.g. a shared VM's steal, takes fewer
    # instead of the others waiting for it), each with its own accumulator
    # (and loss in its last slot), summed in chunk order: the same result
    # whichever thread ran which chunk.
    stride = (size + 1 + 7) // 8 * 8          # whole cache lines apart
    # (at least 64 rows a chunk when there are enough, so that a mini-batch's
    # few hundred rows are not cut into chunks not worth handing out)
    nchunks = min(n, gradient_chunks(n_threads, stride), max(2 * n_threads, n // 64))
    memset(gthreads, 0, nchunks * stride * sizeof(double))
    for c in prange(nchunks, num_threads=n_threads, schedule='dynamic'):
        gt = gthreads + c * stride
        hi = n * (c + 1) // nchunks
        for k in range(n * c // nchunks, hi):
            i = idx[k]
            if k + ahead < hi:
                prefetch_sample(lay, D, idx[k + ahead])
            sw = weight(D, i)
            for tt in range(K):
                p = row_dot(lay, D, i, theta + tt * (d + 1)) + theta[tt * (d + 1) + d]
                y = D.y[i * K + tt]
                gt[size] += sw * t_loss(kind, y, p, eps)
                c2 = sw * t_dloss(kind, y, p, eps)
                row_axpy(lay, D, i, c2, gt + tt * (d + 1))
                gt[tt * (d + 1) + d] += c2
    for c in range(nchunks):
        gt = gthreads + c * stride
        loss_sum += gt[size]
        for j in range(size):
            g[j] += gt[j]
    return loss_sum


cdef inline StepScalars next_step(const Settings* s, const RuleParams* rp,
                                  Progress* P) noexcept nogil:
    P.step += 1.0
    P.eta = schedule_eta(s, P.eta, P.step)
    # beta ** step as running products, set to 0 once negligible (so they never
    # sit on a denormal, even where flushing is not available)
    P.beta1_pow = P.beta1_pow * rp.beta1 if P.beta1_pow > 1e-200 else 0.0
    P.beta2_pow = P.beta2_pow * rp.beta2 if P.beta2_pow > 1e-200 else 0.0
    return step_scalars(rp, P.eta, P.step, P.beta1_pow, P.beta2_pow)


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
    # The intercept is not penalised and, for AdamW, not decayed.
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


cdef inline void csr_row_rule_step(const Data* D, Py_ssize_t i,
                                   const RuleParams* coef_rule,
                                   const RuleParams* intercept_rule, StepScalars sc,
                                   const Settings* s, Buffers* B,
                                   double alpha_l1) noexcept nogil:
    # A rule step of every coordinate (the state decays, the L2 penalty acts
    # on all of them) for CSR row i: the row is scattered into the zeroed
    # buffer g for the step, and g zeroed again after.
    cdef int kk
    for kk in range(D.indptr[i], D.indptr[i + 1]):
        B.g[D.indices[kk]] = D.data[kk]
    rule_step_targets(coef_rule, intercept_rule, sc, s, B.theta, B.g, 0, B.dl, 1.0,
                      alpha_l1, D.d, D.K, B.s0, B.s1, B.s2)
    for kk in range(D.indptr[i], D.indptr[i + 1]):
        B.g[D.indices[kk]] = 0.0


cdef double epoch_batched(LossT* kind, LayoutT* lay, const Data* D, const Settings* s,
                          const RuleParams* rp, const row_t* idx, Py_ssize_t n,
                          Buffers* B, Progress* P) noexcept nogil:
    # One epoch of update-rule steps: per sample (batch_size = 1), on
    # mini-batches (k) or one full-batch step (0). The gradient is the mean
    # over the batch, clipped; the L2 part of the penalty is the rule's weight
    # decay (coupled, or decoupled for AdamW), the L1 part its proximal step.
    cdef Py_ssize_t start, bsz, k, i, tt, d = D.d, K = D.K, ahead = D.ahead
    cdef Py_ssize_t batch = s.batch_size if s.batch_size > 0 else n
    cdef double loss_sum = 0.0, c, sq, alpha_l1, alpha_l2
    cdef double fi = 1.0 if s.fit_intercept else 0.0
    cdef bint averaging = s.average_start > 0.0
    cdef double* w = B.theta
    cdef RuleParams coef_rule = rp[0], intercept_rule = rp[0]
    cdef StepScalars sc
    if LayoutT is SparseT:
        if s.lazy:        # per-sample steps of the row's coordinates only
            return epoch_lazy(kind, D, s, rp, idx, n, B, P)
    penalty_parts(s, &alpha_l1, &alpha_l2)
    coef_rule.weight_decay = alpha_l2
    intercept_rule.weight_decay = 0.0     # the intercept is not penalised
    if batch == 1:
        for k in range(n):
            i = idx[k]
            if k + ahead < n:
                prefetch_sample(lay, D, idx[k + ahead])
            loss_sum += sample_dloss(kind, lay, D, s, i, w, K, NULL, B.dl)
            sc = next_step(s, &coef_rule, P)
            if LayoutT is DenseT:
                rule_step_targets(&coef_rule, &intercept_rule, sc, s, w, D.X + i * d, 0,
                                  B.dl, 1.0, alpha_l1, d, K, B.s0, B.s1, B.s2)
            else:
                csr_row_rule_step(D, i, &coef_rule, &intercept_rule, sc, s, B, alpha_l1)
            P.t += 1.0
            if averaging and P.t - 1.0 >= s.average_start:
                for tt in range(K):
                    update_average(B.avg + tt * (d + 2), w + tt * (d + 1), 1.0, d)
        return loss_sum
    for tt in range(K):
        B.dl[tt] = 1.0
    start = 0
    while start < n:
        bsz = batch if start + batch <= n else n - start
        if start == 0:
            P.penalty_start = penalty_value(s, w, d, K, d + 1)
        loss_sum += batch_gradient(kind, lay, D, s, idx + start, bsz, w, B.g,
                                   B.gthreads, s.n_threads)
        c = 1.0 / bsz
        if s.clip_norm > 0.0:
            sq = 0.0
            for tt in range(K):
                sq += (dot(B.g + tt * (d + 1), B.g + tt * (d + 1), d)
                       + fi * B.g[tt * (d + 1) + d] * B.g[tt * (d + 1) + d])
            c *= clip_factor(s, c * sqrt(sq))
        sc = next_step(s, &coef_rule, P)
        rule_step_targets(&coef_rule, &intercept_rule, sc, s, w, B.g, d + 1, B.dl, c,
                          alpha_l1, d, K, B.s0, B.s1, B.s2)
        P.t += bsz
        if averaging and P.t - 1.0 >= s.average_start:
            for tt in range(K):
                update_average(B.avg + tt * (d + 2), w + tt * (d + 1), 1.0, d)
        start += bsz
    return loss_sum


# ---------------------------------------------------------------------------
# Lazy per-sample steps of the update rules on sparse rows.
#
# On the coordinates a CSR row does not touch the loss gradient is 0: only
# the penalty, and the decay of the rule's state, move them. The lazy loop
# steps the row's coordinates only (gathered, through the same rule_step) and
# brings a coordinate's skipped steps up to date when a row next touches it,
# and at the end of the epoch. Two running accumulators over the steps, a
# product `a` and a sum `b`, and each coordinate's snapshot of them from when
# it was last current, give all its skipped steps in O(1). The accumulators
# restart (after bringing every coordinate up to date) before `a` underflows.
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
#                  decaying terms, which loses every digit: not done.)
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
# (frozen_eff): w <- soft(w exp(-wd eff B), l1 eff B), B = sum of clr over the
# skipped steps. AdamW's decoupled decay is exact there: a = prod (1 - lr wd).

cdef enum:
    LAZY_SGD = 0
    LAZY_MOMENTUM = 1
    LAZY_DECAY = 2
    LAZY_ADAGRAD = 3
    LAZY_FROZEN = 4

# |a| outside [LAZY_TINY, 1 / LAZY_TINY]: restart the accumulators (their
# ratios stay far from under- and overflow); a step whose factor is below it
# (lr wd ~ 1 zeroes the weights) cannot be a ratio, and runs densely.
cdef double LAZY_TINY = 1e-150


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


cdef void lazy_init(Lazy* L, const RuleParams* rp, double l1, bint constant_lr,
                    double* buf, Py_ssize_t d) noexcept nogil:
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


cdef inline double frozen_eff(const RuleParams* rp, const StepScalars* sc, double s0,
                              double s1, double s2) noexcept nogil:
    # The rule's total step per unit of gradient (times clr) for a coordinate
    # with this state. A momentum buffer passes each gradient on with gain
    # (1 - dampening) / (1 - momentum) over the following steps: the skipped
    # penalty gets the same, or the lazy optimum would be under-regularised.
    cdef double var
    cdef double gain = ((1.0 - rp.dampening) / (1.0 - rp.momentum)
                        if 0.0 < rp.momentum < 1.0 else 1.0)
    if rp.rule == ADAGRAD:
        return 1.0 / (sqrt(s0) + rp.eps)
    if rp.rule == RMSPROP:
        var = s0 - (s2 * s2 if rp.centered else 0.0)
        return gain / (sqrt(var if var > 0.0 else 0.0) + rp.eps)
    if rp.rule == ADADELTA:
        return sqrt(s1 + rp.eps) / sqrt(s0 + rp.eps)
    if rp.rule == ADAM or rp.rule == ADAMW:
        return 1.0 / (sqrt(s2 if rp.amsgrad else s1) / sc.bc2s + rp.eps)
    return gain


cdef inline void lazy_catch_up(const Lazy* L, const RuleParams* rp,
                               const StepScalars* sc, Py_ssize_t j, double* w,
                               double* s0, double* s1, double* s2) noexcept nogil:
    # Coordinate j of one target (w, s0..s2 point at that target's block) from
    # its snapshot to the current accumulators.
    cdef double a0 = L.snap_a[j], db = L.b - L.snap_b[j], ratio = L.a / a0, eff
    if L.kind == LAZY_SGD:
        w[j] = soft_threshold(w[j] * ratio, fabs(L.a) * db)
    elif L.kind == LAZY_MOMENTUM:
        w[j] -= (s0[j] * sc.lr * rp.momentum * (1.0 - ratio) / (1.0 - rp.momentum)
                 * (rp.momentum if rp.nesterov else 1.0))
        s0[j] *= ratio
    elif L.kind == LAZY_DECAY:
        s0[j] *= ratio
        if rp.rule == ADADELTA:
            s1[j] *= ratio
        else:
            s2[j] *= ratio
    elif L.kind == LAZY_ADAGRAD:
        w[j] = soft_threshold(w[j], L.l1 * db / (sqrt(s0[j]) + rp.eps))
    elif db > 0.0 or ratio != 1.0:
        eff = frozen_eff(rp, sc, s0[j], s1[j], s2[j]) * db
        w[j] = soft_threshold(w[j] * ratio * exp(-L.wd * eff), L.l1 * eff)


cdef void lazy_flush(Lazy* L, const RuleParams* rp, const StepScalars* sc,
                     Buffers* B, Py_ssize_t d, Py_ssize_t K,
                     const double* skip) noexcept nogil:
    # Every coordinate up to date (but those with skip[j] != 0, if skip is
    # given); the accumulators restart.
    cdef Py_ssize_t j, tt, o
    for tt in range(K):
        o = tt * (d + 1)
        for j in range(d):
            if skip == NULL or skip[j] == 0.0:
                lazy_catch_up(L, rp, sc, j, B.theta + o, B.s0 + o, B.s1 + o, B.s2 + o)
    L.a, L.b = 1.0, 0.0
    for j in range(d):
        L.snap_a[j] = 1.0
        L.snap_b[j] = 0.0


cdef double epoch_lazy(LossT* kind, const Data* D, const Settings* s,
                       const RuleParams* rp, const row_t* idx, Py_ssize_t n,
                       Buffers* B, Progress* P) noexcept nogil:
    # One epoch of per-sample rule steps on CSR rows, O(nnz) per step (see
    # above); the intercept is stepped at every sample as in epoch_batched.
    cdef SparseT* lay = NULL    # the layout type, for the row helpers
    cdef Py_ssize_t k, i, j, tt, o, d = D.d, K = D.K, ahead = D.ahead
    cdef int kk, start, nnz
    cdef double loss_sum = 0.0, alpha_l1, alpha_l2, factor, one = 1.0
    cdef double* w = B.theta
    cdef RuleParams coef_rule = rp[0], intercept_rule = rp[0]
    cdef StepScalars sc, sc_intercept
    cdef Lazy L
    penalty_parts(s, &alpha_l1, &alpha_l2)
    coef_rule.weight_decay = alpha_l2
    intercept_rule.weight_decay = 0.0     # the intercept is not penalised
    lazy_init(&L, &coef_rule, alpha_l1,
              s.schedule == CONSTANT or s.schedule == ADAPTIVE, B.lazy, d)
    for k in range(n):
        i = idx[k]
        if k + ahead < n:
            prefetch_sample(lay, D, idx[k + ahead])
        sc = next_step(s, &coef_rule, P)
        factor = lazy_factor(&L, &coef_rule, &sc)
        if (fabs(factor) < LAZY_TINY or not LAZY_TINY <= fabs(L.a * factor)
                <= 1.0 / LAZY_TINY):
            lazy_flush(&L, &coef_rule, &sc, B, d, K, NULL)
        start = D.indptr[i]
        nnz = D.indptr[i + 1] - start
        if fabs(factor) < LAZY_TINY:
            # The step (nearly) zeroes every coef: run it on all of them.
            loss_sum += sample_dloss(kind, lay, D, s, i, w, K, NULL, B.dl)
            csr_row_rule_step(D, i, &coef_rule, &intercept_rule, sc, s, B, alpha_l1)
            P.t += 1.0
            continue
        for tt in range(K):
            o = tt * (d + 1)
            for kk in range(start, start + nnz):
                lazy_catch_up(&L, &coef_rule, &sc, D.indices[kk], w + o, B.s0 + o,
                              B.s1 + o, B.s2 + o)
        loss_sum += sample_dloss(kind, lay, D, s, i, w, K, NULL, B.dl)
        sc_intercept = sc
        sc_intercept.decay = 1.0              # nor decayed (AdamW)
        for tt in range(K):
            o = tt * (d + 1)
            for kk in range(nnz):
                j = o + D.indices[start + kk]
                L.gw[kk], L.gs0[kk], L.gs1[kk], L.gs2[kk] = w[j], B.s0[j], B.s1[j], B.s2[j]
            rule_step(&coef_rule, &sc, L.gw, D.data + start, B.dl[tt], alpha_l1,
                      L.gs0, L.gs1, L.gs2, nnz)
            for kk in range(nnz):
                j = o + D.indices[start + kk]
                w[j], B.s0[j], B.s1[j], B.s2[j] = L.gw[kk], L.gs0[kk], L.gs1[kk], L.gs2[kk]
            if s.fit_intercept:
                rule_step(&intercept_rule, &sc_intercept, w + o + d, &one, B.dl[tt], 0.0,
                          B.s0 + o + d, B.s1 + o + d, B.s2 + o + d, 1)
        lazy_advance(&L, &sc, factor)
        for kk in range(start, start + nnz):
            L.snap_a[D.indices[kk]] = L.a
            L.snap_b[D.indices[kk]] = L.b
        P.t += 1.0
    lazy_flush(&L, &coef_rule, &sc, B, d, K, NULL)
    return loss_sum


cdef double epoch_hogwild(LossT* kind, LayoutT* lay, const Data* D, const Settings* s,
                          const RuleParams* rp, const row_t* idx, Py_ssize_t n,
                          Buffers* B, Progress* P) noexcept nogil:
    # Lock-free parallel per-sample SGD (Hogwild!, Niu, Recht, Re & Wright 2011):
    # the threads share the epoch's shuffled order and update the model
    # without locks. A sample's t and step count follow from its place k in
    # the epoch, so the schedule is the serial one; what differs is that a
    # sample may see weights missing other threads' recent updates. Dense
    # rows: private copies exchanged per chunk (hogwild_dense); CSR rows: the
    # shared model, O(nnz) per step (hogwild_sparse).
    if LayoutT is SparseT:
        return hogwild_sparse(kind, D, s, rp, idx, n, B, P)
    else:
        return hogwild_dense(kind, D, s, rp, idx, n, B, P)


# Threaded batch gradients: chunks of rows per thread, fewer where their
# accumulators (one each) would pass 4 MiB.
cdef enum:
    GRADIENT_CHUNKS = 16


cdef inline Py_ssize_t gradient_chunks(int n_threads, Py_ssize_t stride) noexcept nogil:
    return n_threads * max(2, min(<Py_ssize_t>GRADIENT_CHUNKS,
                                  (1 << 19) // (n_threads * stride)))


# Dense Hogwild!: samples in a chunk, between two exchanges of a thread's copy.
cdef enum:
    HOGWILD_SYNC = 32


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


cdef double hogwild_dense(LossT* kind, const Data* D, const Settings* s,
                          const RuleParams* rp, const row_t* idx, Py_ssize_t n,
                          Buffers* B, Progress* P) noexcept nogil:
    # A dense step writes every coefficient: threads writing one shared model
    # at every sample fight over its cache lines (measured at 20,000 x 1000:
    # 2 threads ran at 0.57x the speed of 1). So a thread takes a chunk of
    # HOGWILD_SYNC (or more) samples, starts from the epoch's start model plus
    # all threads' published changes, steps that private copy, and publishes
    # its change in an array of its own: lock-free Hogwild! (other threads'
    # changes are read while they are written) with updates seen up to a
    # chunk late, much as HogWild++ (Zhang, Hsieh & Akella 2016) keeps
    # per-core copies. On its copy a thread runs the serial loops: epoch_plain
    # (weight scale, cumulative L1 penalty restarted per chunk), or the rule
    # steps with the rule's state its own through the epoch (an estimate from
    # its samples), merged at the end.
    cdef DenseT* lay = NULL    # the layout type, for the row helpers
    cdef Py_ssize_t k, i, j, c, lo, hi, sync, nchunks, tid, ran
    cdef Py_ssize_t d = D.d, K = D.K, size = D.K * (D.d + 1)
    cdef double* T
    cdef double* w
    cdef double* dl
    cdef double loss_sum = 0.0, alpha_l1, alpha_l2, scale
    cdef double t0 = P.t, step0 = P.step
    cdef bint has_l1
    cdef RuleParams coef_rule = rp[0], intercept_rule = rp[0]
    cdef StepScalars sc
    cdef Buffers Bt
    cdef Progress Pt
    penalty_parts(s, &alpha_l1, &alpha_l2)
    has_l1 = s.plain and alpha_l1 > 0.0
    coef_rule.weight_decay = alpha_l2
    intercept_rule.weight_decay = 0.0
    # this thread's block (see fit): loss, ran, dloss (K), weight scales (K),
    # then w, its base, its published change, and q (plain) or the rule's
    # s0, s1, s2 with their bases
    for tid in range(s.n_threads):
        T = B.local + tid * B.local_stride
        T[0] = 0.0
        T[1] = 0.0
        w = T + B.local_head
        for j in range(size):
            w[2 * size + j] = 0.0                    # its published change
        if not s.plain:
            for j in range(size):     # the rule's state, and its base
                w[3 * size + j] = w[4 * size + j] = B.s0[j]
                w[5 * size + j] = w[6 * size + j] = B.s1[j]
                w[7 * size + j] = w[8 * size + j] = B.s2[j]
    # Chunks of samples are handed out dynamically: a thread that the machine
    # slows down (a shared VM's steal) takes fewer, instead of the others
    # waiting for it at the end of the epoch. Long enough chunks that the rows
    # prefetched ahead inside one (D.ahead) are a small part of it.
    sync = max(HOGWILD_SYNC, 8 * D.ahead)
    nchunks = (n + sync - 1) // sync
    for c in prange(nchunks, num_threads=s.n_threads, schedule='dynamic'):
        T = B.local + threadid() * B.local_stride
        T[1] = 1.0
        dl = T + 8
        w = T + B.local_head
        lo = c * sync
        hi = min(lo + sync, n)
        pull(B, s.n_threads, w, w + size, size)
        # the chunk's progress: its first sample's t and step count (a whole
        # struct assigned, so that Cython makes it private to the thread)
        Pt = P[0]
        Pt.t, Pt.step, Pt.u = t0 + lo, step0 + lo, 0.0
        if s.plain:
            Bt = B[0]
            Bt.theta, Bt.q, Bt.dl, Bt.wscale = w, w + 3 * size, dl, T + 8 + (K + 7) // 8 * 8
            Bt.avg = NULL
            if has_l1:
                for i in range(K * d):
                    Bt.q[i] = 0.0
            if K == 1:
                T[0] = T[0] + epoch_plain(kind, lay, <OneTargetT*>NULL, D, s, idx + lo,
                                          hi - lo, &Bt, &Pt)
            else:
                T[0] = T[0] + epoch_plain(kind, lay, <ManyTargetsT*>NULL, D, s, idx + lo,
                                          hi - lo, &Bt, &Pt)
        else:
            Pt.beta1_pow = pow(rp.beta1, Pt.step)
            Pt.beta2_pow = pow(rp.beta2, Pt.step)
            for k in range(lo, hi):
                i = idx[k]
                if k + D.ahead < hi:
                    prefetch_sample(lay, D, idx[k + D.ahead])
                T[0] = T[0] + sample_dloss(kind, lay, D, s, i, w, K, NULL, dl)
                sc = next_step(s, &coef_rule, &Pt)
                rule_step_targets(&coef_rule, &intercept_rule, sc, s, w, D.X + i * d, 0,
                                  dl, 1.0, alpha_l1, d, K, w + 3 * size, w + 5 * size,
                                  w + 7 * size)
        push(w, w + size, w + 2 * size, size)
    ran = 0
    for tid in range(s.n_threads):
        T = B.local + tid * B.local_stride
        loss_sum += T[0]
        ran += T[1] > 0.0
    for tid in range(s.n_threads):
        T = B.local + tid * B.local_stride
        w = T + B.local_head
        for j in range(size):
            B.theta[j] += w[2 * size + j]
        if not s.plain and T[1] > 0.0:
            # the threads' states merged: Adagrad's s0 is a sum over the
            # samples (the threads' changes add up), the others are decaying
            # averages, whose changes would count the decay once per thread:
            # they are averaged
            scale = 1.0 if rp.rule == ADAGRAD else 1.0 / ran
            for j in range(size):
                B.s0[j] += scale * (w[3 * size + j] - w[4 * size + j])
            for j in range(size):
                B.s1[j] += (w[5 * size + j] - w[6 * size + j]) / ran
                B.s2[j] += (w[7 * size + j] - w[8 * size + j]) / ran
    P.t = t0 + n
    if not s.plain:
        P.step = step0 + n
        P.beta1_pow = pow(rp.beta1, P.step)
        P.beta2_pow = pow(rp.beta2, P.step)
    return loss_sum


cdef double hogwild_sparse(LossT* kind, const Data* D, const Settings* s,
                           const RuleParams* rp, const row_t* idx, Py_ssize_t n,
                           Buffers* B, Progress* P) noexcept nogil:
    # Hogwild! on CSR rows, O(nnz) per step: a step touches the row's
    # coefficients only, and the penalty is split over the rows as in Niu et
    # al. (2011), whose objective is a sum of terms over the samples' supports:
    # a step adds feature j's penalty with weight r_j = n / n_j (n_j training
    # rows contain j), so that an epoch applies its full penalty on average.
    # Plain SGD: w_j <- soft((1 - eta l2 r_j) w_j - eta dloss x_j, eta l1 r_j);
    # an update rule gets g_j = dloss x_j + l2 r_j w_j (AdamW: the decay
    # 1 - lr l2 r_j), then the L1 prox with threshold l1 r_j times its step
    # size, and its state moves on the row's coordinates only (torch's
    # SparseAdam). Features no training row contains get the serial lazy
    # catch-up of the epoch's steps afterwards (hogwild_untouched).
    cdef SparseT* lay = NULL    # the layout type, for the row helpers
    cdef Py_ssize_t k, i, j, tt, o, d = D.d, K = D.K, ahead = D.ahead, m = B.max_nnz
    cdef int kk, start, nnz
    cdef double* w = B.theta
    cdef double* wt
    cdef double* dl
    cdef double* G
    cdef double loss_sum = 0.0, eta, step, z, r, alpha_l1, alpha_l2
    cdef double fi = 1.0 if s.fit_intercept else 0.0
    cdef double eta_now = P.eta, t0 = P.t, step0 = P.step, one = 1.0
    cdef bint adamw = rp.rule == ADAMW
    cdef RuleParams coef_rule = rp[0]
    cdef StepScalars sc
    penalty_parts(s, &alpha_l1, &alpha_l2)
    coef_rule.weight_decay = 0.0      # the penalty enters per coordinate, below
    for k in prange(n, num_threads=s.n_threads, schedule='static'):
        i = idx[k]
        if k + ahead < n:
            prefetch_sample(lay, D, idx[k + ahead])
        dl = B.dl + threadid() * K
        loss_sum += sample_dloss(kind, lay, D, s, i, w, K, NULL, dl)
        start = D.indptr[i]
        nnz = D.indptr[i + 1] - start
        if s.plain:
            eta = schedule_eta(s, eta_now, t0 + k)
            for tt in range(K):
                wt = w + tt * (d + 1)
                for kk in range(start, start + nnz):
                    j = D.indices[kk]
                    r = B.inv_freq[j]
                    z = 1.0 - eta * alpha_l2 * r
                    z = z if z > 0.0 else 0.0
                    wt[j] = soft_threshold(z * wt[j] - eta * dl[tt] * D.data[kk],
                                           eta * alpha_l1 * r)
                wt[d] = wt[d] - eta * dl[tt] * s.intercept_decay * fi
        else:
            step = step0 + k + 1.0
            eta = schedule_eta(s, eta_now, step)
            sc = step_scalars(&coef_rule, eta, step, pow(rp.beta1, step),
                              pow(rp.beta2, step))
            G = B.hog + threadid() * 5 * m      # w, s0, s1, s2, g of the row
            for tt in range(K):
                o = tt * (d + 1)
                for kk in range(nnz):
                    j = o + D.indices[start + kk]
                    r = B.inv_freq[D.indices[start + kk]]
                    G[kk], G[m + kk], G[2 * m + kk], G[3 * m + kk] = (
                        w[j], B.s0[j], B.s1[j], B.s2[j])
                    if adamw:
                        G[4 * m + kk] = dl[tt] * D.data[start + kk]
                        G[kk] = G[kk] * (1.0 - eta * alpha_l2 * r)
                    else:
                        G[4 * m + kk] = dl[tt] * D.data[start + kk] + alpha_l2 * r * w[j]
                rule_step(&coef_rule, &sc, G, G + 4 * m, 1.0, 0.0, G + m, G + 2 * m,
                          G + 3 * m, nnz)
                for kk in range(nnz):
                    j = o + D.indices[start + kk]
                    if alpha_l1 > 0.0:
                        G[kk] = soft_threshold(
                            G[kk], alpha_l1 * B.inv_freq[D.indices[start + kk]] * sc.clr
                            * frozen_eff(&coef_rule, &sc, G[m + kk], G[2 * m + kk],
                                         G[3 * m + kk]))
                    w[j], B.s0[j], B.s1[j], B.s2[j] = (
                        G[kk], G[m + kk], G[2 * m + kk], G[3 * m + kk])
                if s.fit_intercept:
                    rule_step(&coef_rule, &sc, w + o + d, &one, dl[tt], 0.0,
                              B.s0 + o + d, B.s1 + o + d, B.s2 + o + d, 1)
    hogwild_untouched(D, s, rp, n, B, P)
    P.t = t0 + n
    if not s.plain:
        P.step = step0 + n
        P.beta1_pow = pow(rp.beta1, P.step)
        P.beta2_pow = pow(rp.beta2, P.step)
    return loss_sum


cdef void hogwild_untouched(const Data* D, const Settings* s, const RuleParams* rp,
                            Py_ssize_t n, Buffers* B, const Progress* P) noexcept nogil:
    # The coefficients of features that no training row contains (inv_freq 0)
    # move only by the penalty and their state's decay: after the parallel
    # loop they get the epoch's n steps by the serial lazy catch-up (exact
    # where lazy_catch_up is). A step factor below LAZY_TINY counts as
    # LAZY_TINY: such a step leaves ~1e-150 of a coefficient either way.
    cdef Py_ssize_t k, j, d = D.d
    cdef double alpha_l1, alpha_l2, factor
    cdef Progress Pt = P[0]        # the epoch's steps again, from its start
    cdef bint untouched = False
    cdef RuleParams coef_rule = rp[0]
    cdef StepScalars sc
    cdef Lazy L
    for j in range(d):
        untouched = untouched or B.inv_freq[j] == 0.0
    if not untouched:
        return
    penalty_parts(s, &alpha_l1, &alpha_l2)
    coef_rule.weight_decay = alpha_l2
    lazy_init(&L, &coef_rule, alpha_l1, s.schedule == CONSTANT or s.schedule == ADAPTIVE,
              B.lazy, d)
    for k in range(n):
        if s.plain:
            sc = step_scalars(&coef_rule, schedule_eta(s, P.eta, P.t + k), 2.0, 0.0, 0.0)
        else:
            sc = next_step(s, &coef_rule, &Pt)
        factor = lazy_factor(&L, &coef_rule, &sc)
        if s.plain and factor < 0.0:
            factor = 0.0            # the plain path never scales by a negative value
        if fabs(factor) < LAZY_TINY:
            factor = -LAZY_TINY if factor < 0.0 else LAZY_TINY
        if not LAZY_TINY <= fabs(L.a * factor) <= 1.0 / LAZY_TINY:
            lazy_flush(&L, &coef_rule, &sc, B, d, D.K, B.inv_freq)
        lazy_advance(&L, &sc, factor)
    lazy_flush(&L, &coef_rule, &sc, B, d, D.K, B.inv_freq)


cdef double plain_for_loss(LayoutT* lay, TargetsT* targets, const Data* D,
                           const Settings* s, const row_t* idx, Py_ssize_t n,
                           Buffers* B, Progress* P) noexcept nogil:
    if s.loss == SQUARED_ERROR:
        return epoch_plain(<SquaredErrorT*>NULL, lay, targets, D, s, idx, n, B, P)
    elif s.loss == HUBER:
        return epoch_plain(<HuberT*>NULL, lay, targets, D, s, idx, n, B, P)
    elif s.loss == EPSILON_INSENSITIVE:
        return epoch_plain(<EpsilonInsensitiveT*>NULL, lay, targets, D, s, idx, n, B, P)
    return epoch_plain(<SquaredEpsilonInsensitiveT*>NULL, lay, targets, D, s, idx, n,
                       B, P)


cdef double run_epoch_layout(LayoutT* lay, const Data* D, const Settings* s,
                             const RuleParams* rp, const row_t* idx, Py_ssize_t n,
                             Buffers* B, Progress* P) noexcept nogil:
    # The one switch on the loss, once per epoch.
    if s.n_threads > 1 and (s.plain or s.batch_size == 1):
        if s.loss == SQUARED_ERROR:
            return epoch_hogwild(<SquaredErrorT*>NULL, lay, D, s, rp, idx, n, B, P)
        elif s.loss == HUBER:
            return epoch_hogwild(<HuberT*>NULL, lay, D, s, rp, idx, n, B, P)
        elif s.loss == EPSILON_INSENSITIVE:
            return epoch_hogwild(<EpsilonInsensitiveT*>NULL, lay, D, s, rp, idx, n, B, P)
        return epoch_hogwild(<SquaredEpsilonInsensitiveT*>NULL, lay, D, s, rp, idx, n,
                             B, P)
    if s.plain:
        if D.K == 1:
            return plain_for_loss(lay, <OneTargetT*>NULL, D, s, idx, n, B, P)
        return plain_for_loss(lay, <ManyTargetsT*>NULL, D, s, idx, n, B, P)
    if s.loss == SQUARED_ERROR:
        return epoch_batched(<SquaredErrorT*>NULL, lay, D, s, rp, idx, n, B, P)
    elif s.loss == HUBER:
        return epoch_batched(<HuberT*>NULL, lay, D, s, rp, idx, n, B, P)
    elif s.loss == EPSILON_INSENSITIVE:
        return epoch_batched(<EpsilonInsensitiveT*>NULL, lay, D, s, rp, idx, n, B, P)
    return epoch_batched(<SquaredEpsilonInsensitiveT*>NULL, lay, D, s, rp, idx, n, B, P)


cdef double run_epoch(const Data* D, const Settings* s, const RuleParams* rp,
                      const row_t* idx, Py_ssize_t n, Buffers* B,
                      Progress* P) noexcept nogil:
    if D.sparse:
        return run_epoch_layout(<SparseT*>NULL, D, s, rp, idx, n, B, P)
    return run_epoch_layout(<DenseT*>NULL, D, s, rp, idx, n, B, P)


def fit(X, const double[:, ::1] y, const double[::1] sample_weight,
        row_t[::1] train_idx, const row_t[::1] val_idx,
        double[:, ::1] theta, double[:, ::1] avg, double[:, ::1] rule_state,
        double[::1] q, Settings settings, RuleParams rule_params):
    """Run up to ``settings.max_iter`` epochs in place on ``theta`` = (coef, intercept).

    ``X`` is a C-contiguous float64 2-D array, or a CSR matrix given as the
    tuple ``(data, indices, indptr, n_features)`` (float64, int32, int32).
    ``sample_weight`` may be None (all ones).

    ``y`` is (n, K) for K targets; ``theta`` is (K, d + 1): each target's coef
    and intercept. ``avg`` is (K, d + 2) when averaging (averaged coef,
    intercept, and the count of averaged iterates), else (0, 0);
    ``rule_state`` is (3, K * (d + 1)); ``q`` is (K * d,) for the per-sample
    path with an L1 penalty. ``train_idx`` is shuffled in place.

    Returns a dict with ``n_iter``, ``status``, ``t``, ``step``, ``eta``,
    ``best`` (the lowest epoch objective), ``loss_curve`` and
    ``validation_scores`` (lists, one entry per epoch run).
    """
    cdef Settings s = settings
    cdef RuleParams rp = rule_params
    cdef Data D
    cdef Buffers B
    cdef Progress P
    cdef const double[:, ::1] X_dense
    cdef const double[::1] X_data
    cdef const int[::1] X_indices, X_indptr
    cdef Py_ssize_t d, n_rows, n = train_idx.shape[0], nval = val_idx.shape[0]
    cdef Py_ssize_t K = y.shape[1]
    cdef Py_ssize_t j, kk, nnz_row, epoch = 0
    cdef bint hogwild_sparse
    cdef double loss_sum, obj, score
    cdef double best_obj = INFINITY, best_score = -INFINITY, ref
    cdef long long no_improvement = 0
    cdef int status = MAX_ITER, sig = 0
    cdef double* curve = NULL      # per epoch: objective, validation score
    cdef Py_ssize_t capacity = 0
    cdef unsigned long long rng = s.seed, fp_mode
    cdef const row_t* val_p = &val_idx[0] if nval > 0 else NULL

    D.sparse = isinstance(X, tuple)
    if D.sparse:
        X_data, X_indices, X_indptr, d = X
        n_rows = X_indptr.shape[0] - 1
        if X_indices.shape[0] != X_data.shape[0] or X_indptr[n_rows] > X_data.shape[0]:
            raise ValueError("inconsistent CSR arrays")
        D.X = NULL
        D.data = &X_data[0] if X_data.shape[0] > 0 else NULL
        D.indices = &X_indices[0] if X_indices.shape[0] > 0 else NULL
        D.indptr = &X_indptr[0]
    else:
        X_dense = X
        n_rows, d = X_dense.shape[0], X_dense.shape[1]
        D.X = &X_dense[0, 0] if n_rows > 0 and d > 0 else NULL
        D.data = NULL
        D.indices = NULL
        D.indptr = NULL
    if n_rows != y.shape[0] or (sample_weight is not None
                                and y.shape[0] != sample_weight.shape[0]):
        raise ValueError("X, y and sample_weight must have the same length")
    if (theta.shape[0] != K or theta.shape[1] != d + 1 or rule_state.shape[0] != 3
            or rule_state.shape[1] != K * (d + 1)):
        raise ValueError("theta must be (K, n_features + 1), rule_state (3, K * (d + 1))")
    if avg.shape[0] != 0 and (avg.shape[0] != K or avg.shape[1] != d + 2):
        raise ValueError("avg has the wrong shape")
    if s.average_start > 0.0 and avg.shape[0] == 0:
        raise ValueError("averaging needs avg of shape (K, n_features + 2)")
    if s.early_stopping and nval == 0:
        raise ValueError("early stopping needs validation rows")
    if s.plain and s.penalty in (L1, ELASTICNET) and q.shape[0] != K * d:
        raise ValueError("the per-sample L1 penalty needs q of length K * n_features")
    if s.lazy and (s.average_start > 0.0 or s.batch_size != 1 or s.plain):
        raise ValueError("lazy sparse steps are per-sample update-rule steps "
                         "without averaging")
    if n == 0 or d == 0 or K == 0:
        raise ValueError("no training samples or no features")
    # Every index the loops will follow is checked once here, so that a
    # malformed input raises instead of reading or writing out of bounds.
    for j in range(n):
        if not 0 <= train_idx[j] < n_rows:
            raise ValueError("train_idx out of range")
    for j in range(nval):
        if not 0 <= val_idx[j] < n_rows:
            raise ValueError("val_idx out of range")
    if D.sparse:
        if X_indptr[0] != 0:
            raise ValueError("CSR indptr must start at 0")
        for j in range(n_rows):
            if X_indptr[j + 1] < X_indptr[j]:
                raise ValueError("CSR indptr must be non-decreasing")
        for j in range(X_indptr[n_rows]):
            if not 0 <= X_indices[j] < d:
                raise ValueError("CSR column index out of range")
    D.y = &y[0, 0]
    D.K = K
    D.n_rows = n_rows
    D.sw = &sample_weight[0] if sample_weight is not None else NULL
    D.d = d
    # Prefetch far enough ahead to cover a DRAM miss with the work of the rows
    # in between. Measured, shuffled per-sample SGD (ns/sample by rows ahead):
    # d = 10: 90, 72, 54, 43, 39, 38 for 1, 2, 4, 8, 16, 32 rows ahead;
    # d = 100: 198, 178, 166, 160, 176, 166; d = 1000: flat within noise.
    D.ahead = max(2, min(32, 768 // (d + 1)))
    B.theta = &theta[0, 0]
    B.avg = &avg[0, 0] if avg.shape[0] > 0 else NULL
    B.s0, B.s1, B.s2 = &rule_state[0, 0], &rule_state[1, 0], &rule_state[2, 0]
    B.q = &q[0] if q.shape[0] > 0 else NULL
    B.g = NULL
    B.gthreads = NULL
    B.wscale = NULL
    B.dl = NULL
    B.lazy = NULL
    B.inv_freq = NULL
    B.hog = NULL
    B.max_nnz = 0
    B.local = NULL
    B.local_raw = NULL
    P.eta, P.t, P.step, P.u, P.penalty_start = s.eta0, s.t, s.step, 0.0, 0.0
    P.beta1_pow = pow(rp.beta1, s.step)
    P.beta2_pow = pow(rp.beta2, s.step)
    # More threads than OpenMP has cores only oversubscribe (and a huge count
    # would exhaust the thread stacks): cap at omp_get_max_threads().
    s.n_threads = max(1, min(s.n_threads, DESCENT_MAX_THREADS()))

    with nogil:
        fp_mode = descent_flush_denormals()
        B.wscale = <double*>malloc(K * sizeof(double))
        B.dl = <double*>malloc(s.n_threads * K * sizeof(double))
        hogwild_sparse = D.sparse and s.n_threads > 1 and (s.plain or s.batch_size == 1)
        if s.lazy or hogwild_sparse:
            B.lazy = <double*>malloc(6 * d * sizeof(double))
            if B.lazy == NULL:
                status = OUT_OF_MEMORY
        if (not D.sparse and s.n_threads > 1 and (s.plain or s.batch_size == 1)
                and status != OUT_OF_MEMORY):
            # per thread: loss, dloss (K), weight scales (K), model copy, base
            # and published change, and q (plain) or the rule's state and
            # bases; each block whole cache lines apart
            B.local_head = 8 + 2 * ((K + 7) // 8 * 8)
            B.local_stride = (B.local_head + (3 * K * (d + 1) + K * d if s.plain
                                              else 9 * K * (d + 1)) + 7) // 8 * 8
            B.local_raw = malloc((s.n_threads * B.local_stride + 8) * sizeof(double))
            B.local = descent_align64(B.local_raw) if B.local_raw != NULL else NULL
            if B.local == NULL:
                status = OUT_OF_MEMORY
        if hogwild_sparse and status != OUT_OF_MEMORY:
            # feature j's share of the penalty per step that touches it
            B.inv_freq = <double*>calloc(d, sizeof(double))
            if B.inv_freq != NULL:
                for j in range(n):
                    nnz_row = D.indptr[train_idx[j] + 1] - D.indptr[train_idx[j]]
                    B.max_nnz = max(B.max_nnz, nnz_row)
                    for kk in range(D.indptr[train_idx[j]], D.indptr[train_idx[j] + 1]):
                        B.inv_freq[D.indices[kk]] += 1.0
                for j in range(d):
                    if B.inv_freq[j] > 0.0:
                        B.inv_freq[j] = n / B.inv_freq[j]
                B.hog = <double*>malloc(s.n_threads * 5 * max(B.max_nnz, 1)
                                        * sizeof(double))
            if B.inv_freq == NULL or B.hog == NULL:
                status = OUT_OF_MEMORY
        if not s.plain:
            # zeroed: the per-sample sparse path scatters rows into it
            B.g = <double*>calloc(K * (d + 1), sizeof(double))
            B.gthreads = <double*>malloc(
                gradient_chunks(s.n_threads, (K * (d + 1) + 8) // 8 * 8)
                * ((K * (d + 1) + 8) // 8 * 8) * sizeof(double))
            if B.g == NULL or B.gthreads == NULL:
                status = OUT_OF_MEMORY
        if B.wscale == NULL or B.dl == NULL:
            status = OUT_OF_MEMORY
        ref = divergence_reference(&D, &s, &train_idx[0], n, B.theta)
        for epoch in range(s.max_iter if status != OUT_OF_MEMORY else 0):
            if s.shuffle:
                shuffle_indices(&train_idx[0], n, &rng)
            loss_sum = run_epoch(&D, &s, &rp, &train_idx[0], n, &B, &P)
            if not s.plain and s.batch_size == 0:
                # Full batch: the exact objective at the start of the step.
                obj = loss_sum / n + P.penalty_start
            else:
                obj = loss_sum / n + penalty_value(&s, B.theta, d, K, d + 1)
            if epoch >= capacity:
                # per-epoch records grow as epochs run: max_iter may be huge
                capacity = 2 * capacity if capacity > 0 else 64
                curve = <double*>realloc(curve, 2 * capacity * sizeof(double))
                if curve == NULL:
                    status = OUT_OF_MEMORY
                    break
            curve[2 * epoch] = obj
            curve[2 * epoch + 1] = NAN
            # Divergence: non-finite weights, or an objective grown by four
            # orders of magnitude over the start point's.
            if not isfinite(obj) or obj > 1e4 * ref + 1e-300:
                status = DIVERGED
                break
            for j in range(K * (d + 1)):
                if not isfinite(B.theta[j]):
                    status = DIVERGED
                    break
            if status == DIVERGED:
                break
            if s.verbose > 0:
                with gil:
                    print_epoch(epoch + 1, theta, P.t, obj)
            if s.early_stopping:
                score = r2_score_rows(&D, val_p, nval, B.theta)
                curve[2 * epoch + 1] = score
                if s.tol > -INFINITY and score < best_score + s.tol:
                    no_improvement += 1
                else:
                    no_improvement = 0
                if score > best_score:
                    best_score = score
            else:
                if s.tol > -INFINITY and obj > best_obj - s.tol:
                    no_improvement += 1
                else:
                    no_improvement = 0
            if obj < best_obj:
                best_obj = obj
            with gil:
                sig = PyErr_CheckSignals()
                if sig != 0:
                    PyErr_Clear()   # the estimator raises KeyboardInterrupt itself
            if sig != 0:
                status = INTERRUPTED
                epoch += 1
                break
            if no_improvement >= s.n_iter_no_change:
                if s.schedule == ADAPTIVE and P.eta > 1e-6:
                    P.eta /= 5.0
                    no_improvement = 0
                else:
                    status = CONVERGED
                    if s.verbose > 0:
                        with gil:
                            print("Convergence after %d epochs" % (epoch + 1))
                    epoch += 1
                    break
        else:
            epoch = s.max_iter if status != OUT_OF_MEMORY else 0
        free(B.g)
        free(B.gthreads)
        free(B.wscale)
        free(B.dl)
        free(B.lazy)
        free(B.inv_freq)
        free(B.hog)
        free(B.local_raw)
        descent_restore_fp(fp_mode)
    if status == DIVERGED:
        epoch += 1
    try:
        loss_curve = [curve[2 * j] for j in range(epoch)]
        val_scores = [curve[2 * j + 1] for j in range(epoch)]
    finally:
        free(curve)
    return dict(n_iter=epoch, status=status, t=P.t, step=P.step, eta=P.eta,
                best=best_obj, loss_curve=loss_curve, validation_scores=val_scores)


cdef void print_epoch(Py_ssize_t epoch, double[:, ::1] theta, double t, double obj):
    # scikit-learn's verbose lines (over all targets' coefs; mean intercept).
    cdef Py_ssize_t j, tt, nnz = 0, K = theta.shape[0], d = theta.shape[1] - 1
    cdef double norm = 0.0, bias = 0.0
    for tt in range(K):
        for j in range(d):
            norm += theta[tt, j] * theta[tt, j]
            nnz += theta[tt, j] != 0.0
        bias += theta[tt, d] / K
    print("-- Epoch %d" % epoch)
    print("Norm: %.2f, NNZs: %d, Bias: %.6f, T: %d, Avg. loss: %f"
          % (sqrt(norm), nnz, bias, <long long>(t - 1), obj))


# ---------------------------------------------------------------------------
# Small def wrappers so that tests can check the cdef helpers against NumPy.

def loss(int kind, const double[::1] y, const double[::1] p, double epsilon=0.1):
    """Element-wise loss value of ``kind`` (a ``Loss``)."""
    cdef Py_ssize_t i, n = y.shape[0]
    out = np.empty(n)
    cdef double[::1] o = out
    for i in range(n):
        o[i] = loss_value(kind, y[i], p[i], epsilon)
    return out


def dloss(int kind, const double[::1] y, const double[::1] p, double epsilon=0.1):
    """Element-wise derivative of the loss with respect to the prediction."""
    cdef Py_ssize_t i, n = y.shape[0]
    out = np.empty(n)
    cdef double[::1] o = out
    for i in range(n):
        o[i] = loss_dloss(kind, y[i], p[i], epsilon)
    return out


def penalty(int kind, const double[::1] w, double alpha, double l1_ratio=0.15):
    """Value of the penalty ``kind`` (a ``Penalty``) at w."""
    cdef Settings s
    s.penalty = kind
    s.alpha = alpha
    s.l1_ratio = l1_ratio
    return penalty_value(&s, &w[0], w.shape[0], 1, w.shape[0])


def step(RuleParams rule_params, double lr, double step, double[::1] w,
         const double[::1] g, double[:, ::1] state):
    """One in-place update of w by the rule; ``state`` is (3, len(w))."""
    cdef Py_ssize_t n = w.shape[0]
    if g.shape[0] != n or state.shape[1] != n or state.shape[0] != 3:
        raise ValueError("w, g and state must have the same length")
    if n == 0:
        return
    cdef StepScalars sc = step_scalars(&rule_params, lr, step,
                                       pow(rule_params.beta1, step),
                                       pow(rule_params.beta2, step))
    with nogil:
        rule_step(&rule_params, &sc, &w[0], &g[0], 1.0, 0.0, &state[0, 0],
                  &state[1, 0], &state[2, 0], n)
