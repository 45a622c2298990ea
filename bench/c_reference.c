/* Plain C references for bench/bench_sgd.py and bench/bench_classifier.py,
 * compiled at bench time with
 *
 *     cc -O3 -fno-math-errno -shared -fPIC c_reference.c -o libc_reference.so
 *
 * (the flags of descent's Release kernels: no -ffast-math, no -march=native)
 * and loaded with ctypes. Squared loss + L2 penalty, one update per sample,
 * scikit-learn's update:
 *
 *     p = w.x + b;  dloss = p - y
 *     w *= 1 - eta * alpha;  w += -eta * dloss * x;  b += -eta * dloss
 *
 * `shuffle` != 0 reorders `idx` (length n, caller-initialised to 0..n-1) by
 * Fisher-Yates with splitmix64 at the start of every epoch, as descent does;
 * `shuffle` == 0 visits the rows in storage order without touching idx.
 * Every function returns the sum of the per-sample losses 0.5 * r^2 of its
 * last epoch (so that the compiler cannot drop any work); logloss_sgd, the
 * classifier's floor, its log-losses.
 */

#include <math.h>
#include <stddef.h>
#include <stdint.h>

static inline uint64_t splitmix64(uint64_t *state)
{
    uint64_t z;
    *state += 0x9E3779B97F4A7C15ULL;
    z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void shuffle_indices(ptrdiff_t *idx, ptrdiff_t n, uint64_t *state)
{
    for (ptrdiff_t i = n - 1; i > 0; --i) {
        ptrdiff_t j = (ptrdiff_t)(splitmix64(state) % (uint64_t)(i + 1));
        ptrdiff_t tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
}

/* Four independent partial sums (the dot product descent's kernels use). */
static inline double dot4(const double *x, const double *w, ptrdiff_t d)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    ptrdiff_t j = 0;
    for (; j + 4 <= d; j += 4) {
        s0 += x[j] * w[j];
        s1 += x[j + 1] * w[j + 1];
        s2 += x[j + 2] * w[j + 2];
        s3 += x[j + 3] * w[j + 3];
    }
    for (; j < d; ++j)
        s0 += x[j] * w[j];
    return (s0 + s1) + (s2 + s3);
}

/* The "plain C loop": a single-accumulator dot product and the O(d)
 * shrink fused with the axpy, nothing else. */
double sgd_plain(const double *X, const double *y, ptrdiff_t n, ptrdiff_t d,
                 double *w, double *b, double eta, double alpha, int epochs,
                 ptrdiff_t *idx, int shuffle, uint64_t seed)
{
    double loss = 0.0;
    const double shrink = 1.0 - eta * alpha;
    uint64_t rng = seed;
    for (int e = 0; e < epochs; ++e) {
        if (shuffle)
            shuffle_indices(idx, n, &rng);
        loss = 0.0;
        for (ptrdiff_t k = 0; k < n; ++k) {
            const ptrdiff_t i = shuffle ? idx[k] : k;
            const double *x = X + i * d;
            double p = *b;
            for (ptrdiff_t j = 0; j < d; ++j)
                p += w[j] * x[j];
            const double r = p - y[i];
            loss += 0.5 * r * r;
            const double u = -eta * r;
            for (ptrdiff_t j = 0; j < d; ++j)
                w[j] = shrink * w[j] + u * x[j];
            *b += u;
        }
    }
    return loss;
}

/* Diagnostic, not a target: the same algorithm with the usual tricks --
 * four-accumulator dot product, the L2 shrink as a scalar (w = wscale * v),
 * and software prefetch of the row `prefetch_dist` samples ahead (0: none).
 * Tells how much of descent's time is the algorithm and how much is memory
 * latency that a deeper prefetch could hide. */
double sgd_tuned(const double *X, const double *y, ptrdiff_t n, ptrdiff_t d,
                 double *w, double *b, double eta, double alpha, int epochs,
                 ptrdiff_t *idx, int shuffle, uint64_t seed, int prefetch_dist)
{
    double loss = 0.0, wscale = 1.0;
    const double shrink = 1.0 - eta * alpha;
    uint64_t rng = seed;
    const ptrdiff_t lines = d < 64 ? d : 64;
    for (int e = 0; e < epochs; ++e) {
        if (shuffle)
            shuffle_indices(idx, n, &rng);
        loss = 0.0;
        for (ptrdiff_t k = 0; k < n; ++k) {
            const ptrdiff_t i = shuffle ? idx[k] : k;
            const double *x = X + i * d;
            if (prefetch_dist > 0 && k + prefetch_dist < n) {
                const ptrdiff_t ip = shuffle ? idx[k + prefetch_dist] : k + prefetch_dist;
                const double *xp = X + ip * d;
                for (ptrdiff_t j = 0; j < lines; j += 8)
                    __builtin_prefetch(xp + j, 0, 0);
            }
            const double dot = dot4(x, w, d);
            ptrdiff_t j;
            const double p = wscale * dot + *b;
            const double r = p - y[i];
            loss += 0.5 * r * r;
            const double u = -eta * r;
            wscale *= shrink;
            if (wscale < 1e-9) {
                for (j = 0; j < d; ++j)
                    w[j] *= wscale;
                wscale = 1.0;
            }
            const double a = u / wscale;
            for (j = 0; j < d; ++j)
                w[j] += a * x[j];
            *b += u;
        }
    }
    for (ptrdiff_t j = 0; j < d; ++j)
        w[j] *= wscale;
    return loss;
}

static inline void adam_coord(double *theta, double *m, double *v, double g,
                              double clr, double bc2s, double beta1,
                              double beta2, double eps)
{
    *m += (1.0 - beta1) * (g - *m);
    *v = beta2 * *v + (1.0 - beta2) * g * g;
    *theta -= clr * *m / (sqrt(*v) / bc2s + eps);
}

/* Diagnostic: plain per-sample Adam (torch.optim.Adam's formulas) on
 * theta = (w, b), with the L2 penalty's gradient alpha * w added to the
 * coefficients' gradient. m, v: length d + 1, zero at the start; *step counts
 * the updates (0 at the start). */
double adam_plain(const double *X, const double *y, ptrdiff_t n, ptrdiff_t d,
                  double *theta, double *m, double *v, double *step,
                  double lr, double beta1, double beta2, double eps, double alpha,
                  int epochs, ptrdiff_t *idx, int shuffle, uint64_t seed)
{
    double loss = 0.0;
    uint64_t rng = seed;
    double b1t = pow(beta1, *step), b2t = pow(beta2, *step);
    for (int e = 0; e < epochs; ++e) {
        if (shuffle)
            shuffle_indices(idx, n, &rng);
        loss = 0.0;
        for (ptrdiff_t k = 0; k < n; ++k) {
            const ptrdiff_t i = shuffle ? idx[k] : k;
            const double *x = X + i * d;
            const double dot = dot4(x, theta, d);
            ptrdiff_t j;
            const double r = dot + theta[d] - y[i];
            loss += 0.5 * r * r;
            *step += 1.0;
            b1t *= beta1;
            b2t *= beta2;
            const double clr = lr / (1.0 - b1t);
            const double bc2s = sqrt(1.0 - b2t);
            for (j = 0; j < d; ++j)
                adam_coord(theta + j, m + j, v + j, r * x[j] + alpha * theta[j],
                           clr, bc2s, beta1, beta2, eps);
            adam_coord(theta + d, m + d, v + d, r, clr, bc2s, beta1, beta2, eps);
        }
    }
    return loss;
}

/* Diagnostic floor: one pass out = X @ w (four-accumulator dot per row), the
 * memory traffic of a full-batch step without its arithmetic. */
void stream_dot(const double *X, ptrdiff_t n, ptrdiff_t d, const double *w, double *out)
{
    for (ptrdiff_t i = 0; i < n; ++i) {
        const double *x = X + i * d;
        out[i] = dot4(x, w, d);
    }
}

/* The floor of bench_classifier.py's binary rows: scikit-learn's per-sample
 * log-loss update (L2 as the scalar wscale, the 'optimal' schedule
 * eta = 1 / (alpha (t0 + t)), the intercept's step times intercept_decay) on
 * labels y = +-1, shuffled every epoch, each row prefetched `ahead` samples
 * on (its label, and a CSR row's extent, twice as far); dense rows (X: n x d, indptr NULL) or CSR rows (X: the values,
 * indices and indptr). No validation, no stopping rule, no running
 * penalty: a plain, careful C loop of this update on these rows.
 * w is the model divided by wscale (returned scaled back). */
/* The log-loss at margin z and its derivative (into *dloss) from one exp:
 * with e = exp(-z), dloss = -e / (1 + e) and loss = log1p(e), scikit-learn's
 * cut-offs at |z| > 18. */
static inline double logloss_value(double z, double *dloss)
{
    if (z > 18.0) {
        *dloss = -exp(-z);
        return -*dloss;
    }
    if (z < -18.0) {
        *dloss = -1.0;
        return -z;
    }
    const double e = exp(-z);
    *dloss = -e / (1.0 + e);
    return log1p(e);
}

static inline void prefetch_bytes(const void *start, ptrdiff_t nbytes)
{
    const char *p = (const char *)start;
    for (ptrdiff_t k = 0; k < nbytes; k += 64)
        __builtin_prefetch(p + k, 0, 3);
}

double logloss_sgd(const double *X, const int32_t *indices, const int32_t *indptr,
                   const double *y, ptrdiff_t n, ptrdiff_t d, double *w, double *b,
                   double alpha, double t0, double intercept_decay, int epochs,
                   ptrdiff_t *idx, uint64_t seed, int ahead)
{
    double loss = 0.0, wscale = 1.0, t = 1.0;
    uint64_t rng = seed;
    for (int e = 0; e < epochs; ++e) {
        shuffle_indices(idx, n, &rng);
        loss = 0.0;
        for (ptrdiff_t k = 0; k < n; ++k) {
            const ptrdiff_t i = idx[k];
            ptrdiff_t lo = 0, hi = d;
            if (k + 2 * ahead < n) {
                const ptrdiff_t ib = idx[k + 2 * ahead];
                __builtin_prefetch(y + ib, 0, 3);
                if (indptr != NULL)
                    __builtin_prefetch(indptr + ib, 0, 3);
            }
            if (k + ahead < n) {
                const ptrdiff_t ia = idx[k + ahead];
                if (indptr == NULL) {
                    prefetch_bytes(X + ia * d, d * (ptrdiff_t)sizeof(double));
                } else {
                    prefetch_bytes(X + indptr[ia],
                                   (indptr[ia + 1] - indptr[ia]) * (ptrdiff_t)sizeof(double));
                    prefetch_bytes(indices + indptr[ia],
                                   (indptr[ia + 1] - indptr[ia]) * (ptrdiff_t)sizeof(int32_t));
                }
            }
            double dot;
            ptrdiff_t j;
            if (indptr == NULL) {
                dot = dot4(X + i * d, w, d);
            } else {    /* four partial sums, as dot4 */
                double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
                lo = indptr[i];
                hi = indptr[i + 1];
                for (j = lo; j + 4 <= hi; j += 4) {
                    s0 += X[j] * w[indices[j]];
                    s1 += X[j + 1] * w[indices[j + 1]];
                    s2 += X[j + 2] * w[indices[j + 2]];
                    s3 += X[j + 3] * w[indices[j + 3]];
                }
                for (; j < hi; ++j)
                    s0 += X[j] * w[indices[j]];
                dot = (s0 + s1) + (s2 + s3);
            }
            const double p = wscale * dot + *b;
            double dloss;
            loss += logloss_value(y[i] * p, &dloss);
            const double eta = 1.0 / (alpha * (t0 + t - 1.0));
            const double update = -eta * y[i] * dloss;
            wscale *= 1.0 - eta * alpha;
            if (wscale < 1e-9) {
                for (j = 0; j < d; ++j)
                    w[j] *= wscale;
                wscale = 1.0;
            }
            const double a = update / wscale;
            if (indptr == NULL) {
                const double *x = X + i * d;
                for (j = 0; j < d; ++j)
                    w[j] += a * x[j];
            } else {
                for (j = lo; j < hi; ++j)
                    w[indices[j]] += a * X[j];
            }
            *b += update * intercept_decay;
            t += 1.0;
        }
    }
    for (ptrdiff_t j = 0; j < d; ++j)
        w[j] *= wscale;
    return loss;
}
