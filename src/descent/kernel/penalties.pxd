# The penalties-and-schedules layer: the penalty's parts and value, its L1
# proximal step, the learning-rate schedules, and the running average of the
# iterates. Scalars only: no rows, no update rule.

from libc.math cimport INFINITY, fabs, pow, sqrt

from descent._kernels cimport (
    ELASTICNET, INVSCALING, L1, L2, NO_PENALTY, OPTIMAL, RATES, Progress, Settings,
)
from descent.kernel.platform cimport DESCENT_CHECK


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


cdef inline double penalty_value(const Settings* s, const double* theta, Py_ssize_t d,
                                 Py_ssize_t K, Py_ssize_t stride,
                                 const double* tw) noexcept nogil:
    # alpha * (l1_ratio * |w|_1 + (1 - l1_ratio) / 2 * |w|^2), as scikit-learn,
    # summed over the K targets whose coefs start every `stride` entries,
    # target t's weighed by tw[t] if tw is given (Data.tw).
    cdef Py_ssize_t j, tt
    cdef double l1 = 0.0, l2 = 0.0, r = l1_ratio_of(s), total = 0.0
    cdef const double* w
    if s.penalty == NO_PENALTY:
        return 0.0
    for tt in range(K):
        w = theta + tt * stride
        if tw != NULL:
            l1 = l2 = 0.0
        for j in range(d):
            l1 += fabs(w[j])
            l2 += w[j] * w[j]
        if tw != NULL:
            total += tw[tt] * (r * l1 + 0.5 * (1.0 - r) * l2)
    if tw != NULL:
        return s.alpha * total
    return s.alpha * (r * l1 + 0.5 * (1.0 - r) * l2)


cdef inline double soft_threshold(double w, double thr) noexcept nogil:
    # The L1 proximal step sign(w) max(|w| - thr, 0) (Duchi & Singer 2009,
    # FOBOS) as w - clamp(w, -thr, thr): branch-free (minsd/maxsd), exact for
    # thr = 0.
    cdef double c = w if w < thr else thr
    c = c if c > -thr else -thr
    return w - c


cdef inline double schedule_eta(const Settings* s, const Progress* P, double eta,
                                double t) noexcept nogil:
    # The step size of the update about to be made, t its 1-based count.
    cdef double tp
    cdef Py_ssize_t k
    if s.schedule == OPTIMAL:
        return 1.0 / (s.alpha * (s.optimal_init + t - 1.0))
    elif s.schedule == INVSCALING:
        # pow() costs tens of ns per sample; the defaults have cheap forms.
        if s.power_t == 0.25:
            return s.eta0 / sqrt(sqrt(t))
        elif s.power_t == 0.5:
            return s.eta0 / sqrt(t)
        # t ** power_t underflows to 0 for a huge negative power_t: the step
        # is then infinite (the fit diverges), in the Debug build too (whose
        # checked division would raise ZeroDivisionError, and be ignored here)
        tp = pow(t, s.power_t)
        return s.eta0 / tp if tp != 0.0 else INFINITY
    elif s.schedule == RATES:
        # a table look-up: the epoch's rates, computed by the schedule's
        # closed form in Python. Workspace.epoch() refuses to run unless they
        # cover its updates, so k is in range (checked in the Debug build); a
        # clamp here cost 12-15 % of a per-sample epoch on 10 features, the
        # look-up alone 2-3 %.
        k = <Py_ssize_t>(t - P.rates_first)
        DESCENT_CHECK(0 <= k < P.n_rates)
        return P.rates[k]
    return eta      # CONSTANT, ADAPTIVE: the current eta


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
