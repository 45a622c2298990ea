# Compiled kernels of descent: losses, penalties, update rules and the
# training loops over contiguous float64 buffers. Every helper is
# `noexcept nogil`; a fit call releases the GIL once and takes it back only to
# print verbose lines and to check for Ctrl-C between epochs.
#
# Directives (boundscheck, wraparound, cdivision, ...) come from CMake and the
# build type, never from this file.

from cython.parallel cimport prange, threadid
from libc.math cimport sqrt, fabs, pow, isfinite, INFINITY
from libc.stdlib cimport malloc, free
from libc.string cimport memset

import numpy as np


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define DESCENT_PREFETCH(p) __builtin_prefetch((p), 0, 0)
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
    """
    void DESCENT_PREFETCH(const void* p) nogil
    int DESCENT_HAVE_OPENMP
    int DESCENT_MAX_THREADS() nogil
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

cdef inline double dot(const double* x, const double* w, Py_ssize_t d) noexcept nogil:
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef Py_ssize_t j = 0
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
    for j in range(d):
        w[j] += a * x[j]


cdef inline void prefetch_row(const double* x, Py_ssize_t d) noexcept nogil:
    # A shuffled row is a cache miss; its index is known one sample ahead, so
    # ask for its first lines now (the hardware prefetcher follows the rest).
    cdef Py_ssize_t j
    cdef Py_ssize_t stop = d if d < 64 else 64
    for j in range(0, stop, 8):
        DESCENT_PREFETCH(x + j)


# ---------------------------------------------------------------------------
# Random numbers for shuffling: splitmix64 (Steele, Lea & Flood 2014), enough
# for a permutation and reproducible across platforms.

cdef inline unsigned long long splitmix64(unsigned long long* state) noexcept nogil:
    state[0] += 0x9E3779B97F4A7C15ULL
    cdef unsigned long long z = state[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef void shuffle_indices(Py_ssize_t* idx, Py_ssize_t n,
                          unsigned long long* state) noexcept nogil:
    # Fisher-Yates; the modulo bias is below n / 2**64.
    cdef Py_ssize_t i, j, tmp
    for i in range(n - 1, 0, -1):
        j = <Py_ssize_t>(splitmix64(state) % <unsigned long long>(i + 1))
        tmp = idx[i]
        idx[i] = idx[j]
        idx[j] = tmp


# ---------------------------------------------------------------------------
# Losses, with scikit-learn's definitions. `dloss` is d loss / d p.

cdef double loss_value(int loss, double y, double p, double epsilon) noexcept nogil:
    cdef double r = p - y
    cdef double a = fabs(r)
    if loss == SQUARED_ERROR:
        return 0.5 * r * r
    elif loss == HUBER:
        if a <= epsilon:
            return 0.5 * r * r
        return epsilon * a - 0.5 * epsilon * epsilon
    elif loss == EPSILON_INSENSITIVE:
        return a - epsilon if a > epsilon else 0.0
    else:  # SQUARED_EPSILON_INSENSITIVE
        return (a - epsilon) * (a - epsilon) if a > epsilon else 0.0


cdef double loss_dloss(int loss, double y, double p, double epsilon) noexcept nogil:
    cdef double r = p - y
    if loss == SQUARED_ERROR:
        return r
    elif loss == HUBER:
        if fabs(r) <= epsilon:
            return r
        return epsilon if r > 0 else -epsilon
    elif loss == EPSILON_INSENSITIVE:
        if r > epsilon:
            return 1.0
        elif r < -epsilon:
            return -1.0
        return 0.0
    else:  # SQUARED_EPSILON_INSENSITIVE
        if r > epsilon:
            return 2.0 * (r - epsilon)
        elif r < -epsilon:
            return 2.0 * (r + epsilon)
        return 0.0


# ---------------------------------------------------------------------------
# Update rules, torch.optim's formulas (2.x, single-tensor path) element by
# element. `step` is the 1-based count of this update. s0..s2 are the rule's
# state buffers; `eff`, when not NULL, receives each coordinate's effective
# step size (what multiplies the gradient), used by the proximal L1 step.

cdef void rule_step(const RuleParams* rp, double lr, double step, double* w,
                    const double* g, double* s0, double* s1, double* s2,
                    double* eff, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef double gj, buf, clr, std, avg, delta, bc1, bc2s, vmax, denom
    cdef double wd = rp.weight_decay
    cdef int rule = rp.rule
    if rule == SGD:
        for j in range(n):
            gj = g[j] + wd * w[j]
            if rp.momentum != 0.0:
                # torch: the first momentum buffer is the raw gradient.
                if step == 1.0:
                    buf = gj
                else:
                    buf = rp.momentum * s0[j] + (1.0 - rp.dampening) * gj
                s0[j] = buf
                gj = gj + rp.momentum * buf if rp.nesterov else buf
            w[j] -= lr * gj
            if eff != NULL:
                eff[j] = lr
    elif rule == ADAGRAD:
        clr = lr / (1.0 + (step - 1.0) * rp.lr_decay)
        for j in range(n):
            gj = g[j] + wd * w[j]
            s0[j] += gj * gj
            std = sqrt(s0[j]) + rp.eps
            w[j] -= clr * gj / std
            if eff != NULL:
                eff[j] = clr / std
    elif rule == RMSPROP:
        for j in range(n):
            gj = g[j] + wd * w[j]
            s0[j] = rp.alpha * s0[j] + (1.0 - rp.alpha) * gj * gj
            if rp.centered:
                s2[j] += (1.0 - rp.alpha) * (gj - s2[j])
                avg = sqrt(s0[j] - s2[j] * s2[j]) + rp.eps
            else:
                avg = sqrt(s0[j]) + rp.eps
            if rp.momentum > 0.0:
                s1[j] = rp.momentum * s1[j] + gj / avg
                w[j] -= lr * s1[j]
            else:
                w[j] -= lr * gj / avg
            if eff != NULL:
                eff[j] = lr / avg
    elif rule == ADADELTA:
        for j in range(n):
            gj = g[j] + wd * w[j]
            s0[j] = rp.rho * s0[j] + (1.0 - rp.rho) * gj * gj
            std = sqrt(s0[j] + rp.eps)
            # eps sits inside both square roots (Zeiler 2012, as torch).
            delta = sqrt(s1[j] + rp.eps) / std
            if eff != NULL:
                eff[j] = lr * delta
            delta = delta * gj
            s1[j] = rp.rho * s1[j] + (1.0 - rp.rho) * delta * delta
            w[j] -= lr * delta
    else:  # ADAM, ADAMW
        bc1 = 1.0 - pow(rp.beta1, step)
        bc2s = sqrt(1.0 - pow(rp.beta2, step))
        clr = lr / bc1
        for j in range(n):
            if rule == ADAMW:
                w[j] *= 1.0 - lr * wd     # decoupled decay (Loshchilov & Hutter 2019)
                gj = g[j]
            else:
                gj = g[j] + wd * w[j]
            s0[j] += (1.0 - rp.beta1) * (gj - s0[j])
            s1[j] = rp.beta2 * s1[j] + (1.0 - rp.beta2) * gj * gj
            if rp.amsgrad:
                # AMSGrad keeps the max of the uncorrected second moment.
                vmax = s2[j] if s2[j] > s1[j] else s1[j]
                s2[j] = vmax
                denom = sqrt(vmax) / bc2s + rp.eps
            else:
                denom = sqrt(s1[j]) / bc2s + rp.eps
            w[j] -= clr * s0[j] / denom
            if eff != NULL:
                eff[j] = clr / denom


# ---------------------------------------------------------------------------
# The training loops.

ctypedef struct Data:
    const double* X
    const double* y
    const double* sw
    Py_ssize_t d


cdef inline double schedule_eta(const Settings* s, double eta, double t) noexcept nogil:
    # t is the 1-based count of the update about to be made.
    if s.schedule == OPTIMAL:
        return 1.0 / (s.alpha * (s.optimal_init + t - 1.0))
    elif s.schedule == INVSCALING:
        return s.eta0 / pow(t, s.power_t)
    return eta      # CONSTANT, ADAPTIVE: the current eta


cdef double penalty_value(const Settings* s, const double* w, double wscale,
                          Py_ssize_t d) noexcept nogil:
    # alpha * (l1_ratio * |w|_1 + (1 - l1_ratio) / 2 * |w|^2), as scikit-learn.
    cdef Py_ssize_t j
    cdef double l1 = 0.0, l2 = 0.0
    if s.penalty == NO_PENALTY:
        return 0.0
    for j in range(d):
        l1 += fabs(w[j])
        l2 += w[j] * w[j]
    l1 *= fabs(wscale)
    l2 *= wscale * wscale
    return s.alpha * (l1_ratio_of(s) * l1 + 0.5 * (1.0 - l1_ratio_of(s)) * l2)


cdef inline double l1_ratio_of(const Settings* s) noexcept nogil:
    if s.penalty == L2:
        return 0.0
    elif s.penalty == L1:
        return 1.0
    elif s.penalty == ELASTICNET:
        return s.l1_ratio
    return 0.0


cdef double divergence_reference(const Data* D, const Settings* s,
                                 const Py_ssize_t* idx, Py_ssize_t n,
                                 const double* theta) noexcept nogil:
    # The larger of the objectives of the zero model and of the start point on
    # these rows. An epoch whose objective exceeds it by orders of magnitude
    # is diverging. (The zero model keeps a perfect start point, objective ~0,
    # from flagging ordinary SGD noise.) Reads X only if some coef is not 0.
    cdef Py_ssize_t k, i, j, d = D.d
    cdef double at_zero = 0.0, at_start = 0.0, p
    cdef bint zero = True
    for j in range(d):
        if theta[j] != 0.0:
            zero = False
            break
    for k in range(n):
        i = idx[k]
        at_zero += D.sw[i] * loss_value(s.loss, D.y[i], 0.0, s.epsilon)
        p = theta[d] if zero else dot(D.X + i * d, theta, d) + theta[d]
        at_start += D.sw[i] * loss_value(s.loss, D.y[i], p, s.epsilon)
    at_start = at_start / n + penalty_value(s, theta, 1.0, d)
    at_zero /= n
    return at_start if at_start > at_zero else at_zero


cdef double r2_score_rows(const Data* D, const Py_ssize_t* idx, Py_ssize_t n,
                          const double* theta) noexcept nogil:
    # Weighted R^2 of the model theta on the rows idx[0:n] (early stopping).
    cdef Py_ssize_t k, i, d = D.d
    cdef double sw_sum = 0.0, ymean = 0.0, ss_res = 0.0, ss_tot = 0.0, r
    for k in range(n):
        i = idx[k]
        sw_sum += D.sw[i]
        ymean += D.sw[i] * D.y[i]
    ymean /= sw_sum
    for k in range(n):
        i = idx[k]
        r = D.y[i] - dot(D.X + i * d, theta, d) - theta[d]
        ss_res += D.sw[i] * r * r
        r = D.y[i] - ymean
        ss_tot += D.sw[i] * r * r
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


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


cdef double epoch_plain(const Data* D, const Settings* s, const Py_ssize_t* idx,
                        Py_ssize_t n, double* theta, double* avg, double* q,
                        double* u, double* eta, double* t) noexcept nogil:
    # One epoch of per-sample SGD with scikit-learn's update:
    #   w <- (1 - eta alpha (1 - l1_ratio)) w - eta dloss x,   b <- b - eta dloss
    # The L2 shrink is O(1): w = wscale * v, and only the scalar wscale is
    # multiplied (Bottou's svmsgd; Shalev-Shwartz et al. 2007). The L1 part is
    # the cumulative penalty of Tsuruoka, Tsujii & Ananiadou (2009): u is the
    # total L1 shrink every weight could have had, q[j] what weight j really got,
    # so weights are clipped at zero and become exactly 0.
    cdef Py_ssize_t k, i, j, d = D.d
    cdef const double* x
    cdef double p, dl, update, wscale = 1.0, loss_sum = 0.0, xnorm, z
    cdef double l1r = l1_ratio_of(s)
    cdef double shrink_coef = (1.0 - l1r) * s.alpha
    cdef bint has_l2 = s.penalty != NO_PENALTY and l1r < 1.0
    cdef bint has_l1 = s.penalty != NO_PENALTY and l1r > 0.0
    cdef double* v = theta
    for k in range(n):
        i = idx[k]
        x = D.X + i * d
        if k + 1 < n:
            prefetch_row(D.X + idx[k + 1] * d, d)
        p = wscale * dot(x, v, d) + theta[d]
        eta[0] = schedule_eta(s, eta[0], t[0])
        loss_sum += D.sw[i] * loss_value(s.loss, D.y[i], p, s.epsilon)
        dl = loss_dloss(s.loss, D.y[i], p, s.epsilon)
        if s.clip_norm > 0.0 and dl != 0.0:
            # The sample's gradient is dl * (x, 1): clip its norm.
            xnorm = fabs(dl) * sqrt(dot(x, x, d) + (1.0 if s.fit_intercept else 0.0))
            if xnorm > s.clip_norm:
                dl *= s.clip_norm / (xnorm + 1e-6)
        update = -eta[0] * dl * D.sw[i]
        if has_l2:
            z = 1.0 - eta[0] * shrink_coef
            # Never scale to negative values when eta * alpha is too big.
            wscale *= z if z > 0.0 else 0.0
            if wscale < 1e-9:
                for j in range(d):
                    v[j] *= wscale
                wscale = 1.0
        if update != 0.0:
            axpy(update / wscale, x, v, d)
            if s.fit_intercept:
                theta[d] += update * s.intercept_decay
        if has_l1:
            u[0] += l1r * eta[0] * s.alpha
            for j in range(d):
                z = v[j]
                if wscale * z > 0.0:
                    v[j] = z - (u[0] + q[j]) / wscale
                    if v[j] < 0.0:
                        v[j] = 0.0
                elif wscale * z < 0.0:
                    v[j] = z + (u[0] - q[j]) / wscale
                    if v[j] > 0.0:
                        v[j] = 0.0
                q[j] += wscale * (v[j] - z)
        if s.average_start > 0.0 and t[0] >= s.average_start:
            update_average(avg, v, wscale, d)
        t[0] += 1.0
    if wscale != 1.0:
        for j in range(d):
            v[j] *= wscale
    return loss_sum


cdef double batch_gradient(const Data* D, const Settings* s, const Py_ssize_t* idx,
                           Py_ssize_t n, const double* theta, double* g,
                           double* gthreads, int n_threads) noexcept nogil:
    # Fused pass over the rows idx[0:n]: residual, loss and gradient
    # accumulation in the same row loop, so X is read once per step.
    # g <- sum_i sw_i dloss_i (x_i, 1); returns sum_i sw_i loss_i.
    cdef Py_ssize_t k, i, j, d = D.d, d1 = D.d + 1
    cdef double p, c, loss_sum = 0.0
    cdef double* gt
    cdef int tid, nt
    memset(g, 0, d1 * sizeof(double))
    if n_threads <= 1 or n < 4 * n_threads:
        for k in range(n):
            i = idx[k]
            if k + 1 < n:
                prefetch_row(D.X + idx[k + 1] * d, d)
            p = dot(D.X + i * d, theta, d) + theta[d]
            loss_sum += D.sw[i] * loss_value(s.loss, D.y[i], p, s.epsilon)
            c = D.sw[i] * loss_dloss(s.loss, D.y[i], p, s.epsilon)
            if c != 0.0:
                axpy(c, D.X + i * d, g, d)
                g[d] += c
        return loss_sum
    # Each thread accumulates into its own buffer; they are summed after.
    memset(gthreads, 0, n_threads * d1 * sizeof(double))
    for k in prange(n, num_threads=n_threads, schedule='static'):
        i = idx[k]
        gt = gthreads + threadid() * d1
        p = dot(D.X + i * d, theta, d) + theta[d]
        loss_sum += D.sw[i] * loss_value(s.loss, D.y[i], p, s.epsilon)
        c = D.sw[i] * loss_dloss(s.loss, D.y[i], p, s.epsilon)
        if c != 0.0:
            axpy(c, D.X + i * d, gt, d)
            gt[d] += c
    for tid in range(n_threads):
        gt = gthreads + tid * d1
        for j in range(d1):
            g[j] += gt[j]
    return loss_sum


cdef double epoch_batched(const Data* D, const Settings* s, const RuleParams* rp,
                          const Py_ssize_t* idx, Py_ssize_t n, double* theta,
                          double* avg, double* s0, double* s1, double* s2,
                          double* g, double* eff, double* gthreads,
                          double* eta, double* t, double* step,
                          double* penalty_at_start) noexcept nogil:
    # One epoch of steps on mini-batches (batch_size = k) or one full-batch
    # step (batch_size = 0): g = mean gradient of the batch, clipped, plus the
    # L2 penalty's gradient (or AdamW's decoupled decay), then the update rule,
    # then the L1 part as a proximal soft-threshold with each coordinate's
    # effective step size, so exact zeros appear.
    cdef Py_ssize_t start, bsz, j, d = D.d
    cdef Py_ssize_t B = s.batch_size if s.batch_size > 0 else n
    cdef double loss_sum = 0.0, gnorm, scale, lr, thr, z
    cdef double l1r = l1_ratio_of(s)
    cdef double alpha_l2 = (1.0 - l1r) * s.alpha if s.penalty != NO_PENALTY else 0.0
    cdef double alpha_l1 = l1r * s.alpha if s.penalty != NO_PENALTY else 0.0
    cdef RuleParams r = rp[0]
    start = 0
    while start < n:
        bsz = B if start + B <= n else n - start
        if start == 0:
            penalty_at_start[0] = penalty_value(s, theta, 1.0, d)
        loss_sum += batch_gradient(D, s, idx + start, bsz, theta, g, gthreads,
                                   s.n_threads)
        scale = 1.0 / bsz
        for j in range(d + 1):
            g[j] *= scale
        if not s.fit_intercept:
            g[d] = 0.0
        if s.clip_norm > 0.0:
            # torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6).
            gnorm = sqrt(dot(g, g, d + 1))
            if gnorm > s.clip_norm:
                scale = s.clip_norm / (gnorm + 1e-6)
                for j in range(d + 1):
                    g[j] *= scale
        step[0] += 1.0
        eta[0] = schedule_eta(s, eta[0], step[0])
        lr = eta[0]
        if r.rule == ADAMW:
            r.weight_decay = 0.0
            z = 1.0 - lr * alpha_l2
            for j in range(d):
                theta[j] *= z
        elif alpha_l2 != 0.0:
            for j in range(d):
                g[j] += alpha_l2 * theta[j]
        rule_step(&r, lr, step[0], theta, g, s0, s1, s2,
                  eff if alpha_l1 != 0.0 else NULL, d + 1)
        if alpha_l1 != 0.0:
            for j in range(d):
                thr = alpha_l1 * eff[j]
                z = theta[j]
                if z > thr:
                    theta[j] = z - thr
                elif z < -thr:
                    theta[j] = z + thr
                else:
                    theta[j] = 0.0
        t[0] += bsz
        if s.average_start > 0.0 and t[0] - 1.0 >= s.average_start:
            update_average(avg, theta, 1.0, d)
        start += bsz
    return loss_sum


def fit(const double[:, ::1] X, const double[::1] y, const double[::1] sample_weight,
        Py_ssize_t[::1] train_idx, const Py_ssize_t[::1] val_idx,
        double[::1] theta, double[::1] avg, double[:, ::1] rule_state,
        double[::1] q, double[::1] loss_curve, double[::1] val_scores,
        Settings settings, RuleParams rule_params):
    """Run up to ``settings.max_iter`` epochs in place on ``theta`` = (coef, intercept).

    ``avg`` has length d + 2 when averaging (averaged coef, intercept, and the
    count of averaged iterates), ``rule_state`` is (3, d + 1) and ``q`` (d,).
    ``train_idx`` is shuffled in place. Returns a dict with ``n_iter``,
    ``status``, ``t``, ``step``, ``eta`` and ``best`` (lowest objective).
    """
    cdef Settings s = settings
    cdef RuleParams rp = rule_params
    cdef Data D
    cdef Py_ssize_t d = X.shape[1], n = train_idx.shape[0], nval = val_idx.shape[0]
    cdef Py_ssize_t j, epoch = 0
    cdef double eta = s.eta0, t = s.t, step = s.step, u = 0.0
    cdef double loss_sum, obj, pen_start = 0.0, score, sw_train = 0.0
    cdef double best_obj = INFINITY, best_score = -INFINITY, ref
    cdef int no_improvement = 0, status = MAX_ITER, sig = 0
    cdef unsigned long long rng = s.seed
    cdef double* g = NULL
    cdef double* eff = NULL
    cdef double* gthreads = NULL
    cdef double* avg_p = &avg[0] if avg.shape[0] > 0 else NULL
    cdef double* q_p = &q[0] if q.shape[0] > 0 else NULL
    cdef const Py_ssize_t* val_p = &val_idx[0] if nval > 0 else NULL

    if X.shape[0] != y.shape[0] or y.shape[0] != sample_weight.shape[0]:
        raise ValueError("X, y and sample_weight must have the same length")
    if theta.shape[0] != d + 1 or rule_state.shape[1] != d + 1:
        raise ValueError("theta and rule_state must have n_features + 1 entries")
    if n == 0:
        raise ValueError("no training samples")
    D.X = &X[0, 0] if d > 0 else NULL
    D.y = &y[0]
    D.sw = &sample_weight[0]
    D.d = d
    if s.n_threads < 1:
        s.n_threads = 1

    with nogil:
        if not s.plain:
            g = <double*>malloc((d + 1) * sizeof(double))
            eff = <double*>malloc((d + 1) * sizeof(double))
            gthreads = <double*>malloc(s.n_threads * (d + 1) * sizeof(double))
        ref = divergence_reference(&D, &s, &train_idx[0], n, &theta[0])
        for epoch in range(s.max_iter):
            if s.shuffle:
                shuffle_indices(&train_idx[0], n, &rng)
            if s.plain:
                loss_sum = epoch_plain(&D, &s, &train_idx[0], n, &theta[0], avg_p,
                                       q_p, &u, &eta, &t)
                obj = loss_sum / n + penalty_value(&s, &theta[0], 1.0, d)
            else:
                loss_sum = epoch_batched(&D, &s, &rp, &train_idx[0], n, &theta[0],
                                         avg_p, &rule_state[0, 0], &rule_state[1, 0],
                                         &rule_state[2, 0], g, eff, gthreads,
                                         &eta, &t, &step, &pen_start)
                if s.batch_size == 0:
                    # Full batch: the exact objective at the start of the step.
                    obj = loss_sum / n + pen_start
                else:
                    obj = loss_sum / n + penalty_value(&s, &theta[0], 1.0, d)
            loss_curve[epoch] = obj
            # Divergence: non-finite weights, or an objective grown by four
            # orders of magnitude over the start point's.
            if not isfinite(obj) or obj > 1e4 * ref + 1e-300:
                status = DIVERGED
                break
            for j in range(d + 1):
                if not isfinite(theta[j]):
                    status = DIVERGED
                    break
            if status == DIVERGED:
                break
            if s.verbose > 0:
                with gil:
                    print_epoch(epoch + 1, theta, d, t, obj)
            if s.early_stopping:
                score = r2_score_rows(&D, val_p, nval,
                                      &theta[0])
                val_scores[epoch] = score
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
                if s.schedule == ADAPTIVE and eta > 1e-6:
                    eta /= 5.0
                    no_improvement = 0
                else:
                    status = CONVERGED
                    if s.verbose > 0:
                        with gil:
                            print("Convergence after %d epochs" % (epoch + 1))
                    epoch += 1
                    break
        else:
            epoch = s.max_iter
        free(g)
        free(eff)
        free(gthreads)
    if status == DIVERGED:
        epoch += 1
    return dict(n_iter=epoch, status=status, t=t, step=step, eta=eta,
                best=best_obj)


cdef void print_epoch(Py_ssize_t epoch, double[::1] theta, Py_ssize_t d,
                      double t, double obj):
    cdef Py_ssize_t j, nnz = 0
    cdef double norm = 0.0
    for j in range(d):
        norm += theta[j] * theta[j]
        nnz += theta[j] != 0.0
    print("-- Epoch %d" % epoch)
    print("Norm: %.2f, NNZs: %d, Bias: %.6f, T: %d, Avg. loss: %f"
          % (sqrt(norm), nnz, theta[d], <long long>(t - 1), obj))


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
    return penalty_value(&s, &w[0], 1.0, w.shape[0])


def step(RuleParams rule_params, double lr, double step, double[::1] w,
         const double[::1] g, double[:, ::1] state, double[::1] eff=None):
    """One in-place update of w by the rule; ``state`` is (3, len(w))."""
    cdef Py_ssize_t n = w.shape[0]
    if g.shape[0] != n or state.shape[1] != n or state.shape[0] != 3:
        raise ValueError("w, g and state must have the same length")
    if eff is not None and eff.shape[0] != n:
        raise ValueError("eff must have the length of w")
    if n == 0:
        return
    with nogil:
        rule_step(&rule_params, lr, step, &w[0], &g[0], &state[0, 0], &state[1, 0],
                  &state[2, 0], &eff[0] if eff is not None else NULL, n)
