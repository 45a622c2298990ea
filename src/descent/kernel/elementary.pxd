# The elementary functions of the losses: e^x for x <= 0 and log1p on
# [0, 1] without a branch or a call, so that the losses' loops over the
# targets (one-vs-rest, the softmax) vectorise, and the log-loss's terms made
# of them. Each is within a stated error of the exact value
# (tests/test_losses_classification.py measures them), and evaluates its
# operations in the order written (no contraction into FMAs: CMakeLists.txt),
# the same on every CPU variant.

# (its C block defines DESCENT_ALWAYS_INLINE, used by the C below)
cimport descent.kernel.platform


cdef inline double log1p_unit(double a) noexcept nogil:
    # log1p(a) for 0 <= a <= 1, within 2 ulp (tests/test_losses_classification.py
    # measures it against NumPy's), without a branch or a call, so that a
    # loop of it vectorises: 1 + a = 2^k (1 + f), k = 1 and f = (a - 1) / 2
    # (exact) from a = 1/2 on, f in [-1/4, 1/2); log1p(f) = 2 atanh(s),
    # s = f / (2 + f), = f - s (f - 2 T(s^2)), T(z) = z/3 + z^2/5 + ... to
    # z^10/21 (the next term is below 2e-17 of the value).
    cdef bint big = a >= 0.5
    cdef double f = (a - 1.0) * 0.5 if big else a
    cdef double s = f / (2.0 + f)
    cdef double z = s * s
    cdef double t = z * (1.0 / 3 + z * (1.0 / 5 + z * (1.0 / 7 + z * (1.0 / 9 + z * (
        1.0 / 11 + z * (1.0 / 13 + z * (1.0 / 15 + z * (1.0 / 17 + z * (
            1.0 / 19 + z * (1.0 / 21))))))))))
    cdef double r = f - s * (f - 2.0 * t)
    # ln 2 = LN2_HI + LN2_LO, LN2_HI its nearest double
    return (r + 2.3190468138462996e-17) + 0.6931471805599453 if big else r


# e^x for the losses' exponentials, whose arguments are never positive (the
# log-loss's e^-|p|, the softmax's e^(z - max z)), without a branch or a call,
# so that the loops over the targets (one-vs-rest, the softmax) vectorise:
# glibc's exp branches on its argument and is a call per target (its
# results differ from these in the last bit for about 1.5 % of arguments).
# Measured (AMD EPYC VM, AVX-512 build, per-sample log-loss SGD, 200,000 rows,
# s an epoch, medians of 5 interleaved runs, glibc's exp / this one): 20
# classes, CSR of 50 non-zeros, 1,000 features 0.219 / 0.166, 100,000
# features 0.285 / 0.250, the softmax there 0.282 / 0.263; 10 classes, dense
# 100 features 0.139 / 0.130; binary, dense 10 features 0.063 / 0.063.
# x = k ln 2 + r, k = round(x / ln 2) (adding 1.5 * 2^52 rounds x / ln 2 to
# an integer held in the sum's low bits, which also give 2^k's exponent
# bits); ln 2 = LN2_HI + LN2_LO, LN2_HI with 21 trailing zero bits, so that
# k LN2_HI is exact (fdlibm's e_exp.c split); |r| <= ln 2 / 2 and e^r = 1 + r
# + r^2 Q(r), Q Taylor's series to r^11 / 13! (the next term is below 4e-18
# of the value), summed by Estrin's scheme (four levels of multiply-adds
# where Horner's chain is eleven: a per-sample loop waits on this latency).
# The rounding errors of r and of 1 + r are carried into the small terms:
# without them the error reached 1.03 ulp where |r| is near ln 2 / 2 (found by
# a tester against mpmath). Within 0.8 ulp (tests/test_losses_classification.py
# measures it against long double, those places included). Below ln(DBL_MIN)
# = -708.396 the value would be subnormal, which an epoch flushes to 0
# (platform.pxd): 0 there.
# In C, to force its inlining: as a Cython inline function GCC stopped
# inlining it into the softmax once the roundings were carried (five more
# operations), and the softmax's loop over the targets, calling it, no
# longer vectorised: 10-class dense softmax epochs 0.111 -> 0.119 s
# (measured, AMD EPYC).
cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* (DESCENT_ALWAYS_INLINE: platform.pxd, cimported above) */
    static DESCENT_ALWAYS_INLINE double descent_exp_nonpositive(double x) {
        const double least = -708.3964185322641;
        double xc = x < least ? least : x;
        double t = xc * 1.4426950408889634 + 6755399441055744.0;
        double k = t - 6755399441055744.0;
        double hi = xc - k * 6.93147180369123816490e-01;    /* exact */
        double lo = k * 1.90821492927058770002e-10;
        double r = hi - lo;
        /* r + c = hi - lo (Fast2Sum, exact where |lo| <= |hi|; elsewhere
           |r| < 1e-6, whose rounding is far below the result's) */
        double c = (hi - r) - lo;
        double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
        double q01 = 1.0 / 2 + r * (1.0 / 6);
        double q23 = 1.0 / 24 + r * (1.0 / 120);
        double q45 = 1.0 / 720 + r * (1.0 / 5040);
        double q67 = 1.0 / 40320 + r * (1.0 / 362880);
        double q89 = 1.0 / 3628800 + r * (1.0 / 39916800);
        double q1011 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
        double q = (q01 + r2 * q23) + r4 * (q45 + r2 * q67) + r8 * (q89 + r2 * q1011);
        /* t's bits are those of 1.5 * 2^52, 0x4338..., plus k */
        uint64_t bits;
        double scale;
        memcpy(&bits, &t, sizeof bits);
        bits = (bits - 0x4338000000000000ULL + 1023ULL) << 52;
        memcpy(&scale, &bits, sizeof scale);
        /* e^(r + c) = e^r (1 + c): 1 + r + (r^2 q + c (1 + r)), the sum
           1 + r with its rounding error e1 (Fast2Sum), so that only the
           last add rounds */
        double one_r = 1.0 + r;
        double e1 = (1.0 - one_r) + r;
        double value = (one_r + (e1 + (r2 * q + (c + c * r)))) * scale;
        return x < least ? 0.0 : value;
    }
    """
    # e^x for x <= 0 (NaN gives NaN, -inf 0).
    double exp_nonpositive "descent_exp_nonpositive" (double x) noexcept nogil


# The binomial log-loss log(1 + e^p) - y01 p (y01 = 1 for y > 0, else 0)
# as log1p(a) + lin[0], a in [0, 1] the returned value, and its derivative
# expit(p) - y01, with one exp that cannot overflow, e = e^-|p|: for p <= 0
# the loss is log1p(e) - y01 p, above log1p(e) + (1 - y01) p. Below p = -37
# and above p = 18, e stands for log1p(e) (a = 0), as in scikit-learn's
# log1pexp (sklearn/_loss/_loss.pyx.tp): exactly below -37 (e < 2^-53, where
# 1 + e is 1 too), within e / 2 < 1e-8 relatively above 18. Without a branch
# (selects), so that a loop over targets vectorises. In C, to force its
# inlining there, as exp_nonpositive's (log_loss_targets calls this one): as
# a Cython inline function GCC stopped inlining it into log_loss_targets when
# that grew by the class targets' branch, and its loop no longer vectorised
# (one-vs-rest epochs 1.12x as long, 20 sparse classes and 10 dense, medians
# of 7 and 5 interleaved pairs, AMD EPYC). The other callers call it through
# log_loss_terms, an inline function GCC may keep a call: forced into every
# caller, it grew the binary loop's loss step (two copies) out of the epoch's
# loop.
cdef extern from *:
    """
    #include <math.h>
    static DESCENT_ALWAYS_INLINE double descent_log_loss_terms(double y, double p,
                                                               double* dloss,
                                                               double* lin) {
        double y01 = y > 0.0 ? 1.0 : 0.0;
        double e = descent_exp_nonpositive(-fabs(p));
        int above = p > 0.0;
        int tail = (p > 18.0) | (p <= -37.0);
        dloss[0] = (above ? ((1.0 - y01) - y01 * e) : ((1.0 - y01) * e - y01)) / (1.0 + e);
        lin[0] = (above ? (1.0 - y01) * p : -(y01 * p)) + (tail ? e : 0.0);
        return tail ? 0.0 : e;
    }
    """
    double log_loss_terms_inlined "descent_log_loss_terms" (double y, double p,
                                                            double* dloss,
                                                            double* lin) noexcept nogil


cdef inline double log_loss_terms(double y, double p, double* dloss,
                                  double* lin) noexcept nogil:
    return log_loss_terms_inlined(y, p, dloss, lin)
