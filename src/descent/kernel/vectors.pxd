# The vectors layer: level-1 arithmetic on contiguous float64 (and float32,
# widened) buffers: dot products, axpy, their fused forms (an axpy returning
# the norm after it; two targets in one pass), and where BLAS takes over.
# Nothing here knows about rows, models or data.

cimport scipy.linalg.cython_blas as blas
from cython cimport floating

from descent.kernel.platform cimport (
    descent_v8d, descent_v8d_add, descent_v8d_load, descent_v8d_load_f32, descent_v8d_mul,
    descent_v8d_set1, descent_v8d_store, descent_v8d_zero,
)


# The dot product keeps four independent partial sums: a single accumulator
# chains every add through one register (latency bound, about 2x slower at
# d >= 100), and the compiler may not reassociate the sum itself without
# -ffast-math. From BLAS_MIN_D coordinates on, sixteen (two AVX-512, four
# AVX2 or eight SSE2 accumulators: every variant adds in the same order).
#
# From BLAS_DOT_MIN_D (axpy: BLAS_MIN_D) to BLAS_MAX_D coordinates, BLAS
# level-1 (ddot/daxpy of the OpenBLAS that SciPy ships, dispatched at run time
# to AVX2/AVX-512) beats these portable loops despite its call overhead
# (bench/: shuffled SGD at d = 1000, 1.45 -> 1.28 us/sample). Below it, the
# call costs more than it saves: per-sample log-loss SGD on rows in L3, ns a
# sample (the 2-vCPU AVX-512 VM, medians of 7 interleaved; BLAS ddot -> sixteen
# sums; baseline / avx2 / avx512): d = 64 113 / 80 / 97 -> 97 / 75 / 79;
# d = 100 116 / 112 / 109 -> 119 / 106 / 100; d = 160 133 / 127 / 111 -> 142 /
# 114 / 111. Above BLAS_MAX_D OpenBLAS may start threads of its own, which
# must not happen inside our (OpenMP) loops.
cdef enum:
    BLAS_MIN_D = 64
    BLAS_DOT_MIN_D = 128
    BLAS_MAX_D = 8192


cdef inline double dot_from(const floating* x, const double* w, Py_ssize_t d, Py_ssize_t j,
                            double s0, double s1, double s2, double s3) noexcept nogil:
    # The last part of dot and dot32: the coordinates from j on into their
    # four sums s0..s3 (so far), then the total.
    while j + 4 <= d:
        s0 += <double>x[j] * w[j]
        s1 += <double>x[j + 1] * w[j + 1]
        s2 += <double>x[j + 2] * w[j + 2]
        s3 += <double>x[j + 3] * w[j + 3]
        j += 4
    while j < d:
        s0 += <double>x[j] * w[j]
        j += 1
    return (s0 + s1) + (s2 + s3)


cdef inline double dot(const double* x, const double* w, Py_ssize_t d) noexcept nogil:
    cdef double s[16]
    cdef Py_ssize_t j = 0, m
    cdef int n, one = 1
    if BLAS_DOT_MIN_D <= d <= BLAS_MAX_D:
        n = <int>d
        return blas.ddot(&n, <double*>x, &one, <double*>w, &one)
    if d < BLAS_MIN_D:
        return dot_from(x, w, d, 0, 0.0, 0.0, 0.0, 0.0)
    for m in range(16):
        s[m] = 0.0
    while j + 16 <= d:
        for m in range(16):
            s[m] += x[j + m] * w[j + m]
        j += 16
    for m in range(8):
        s[m] += s[m + 8]
    return dot_from(x, w, d, j, s[0] + s[4], s[1] + s[5], s[2] + s[6], s[3] + s[7])


# Two targets' dot products with one row, as a dense row's predictions of K
# targets take them (losses.sample_dloss): dot's sums, in dot's order, for
# each (the same bits as two calls), in one pass over x, so that the two
# targets' add chains run side by side and x is read once; the sixteen sums of
# each as two vectors of eight (platform.pxd's descent_v8d). In dot's BLAS
# range, two calls to ddot. Measured with axpy_sqnorm2: loop_plain.pxd's
# add_dense_targets.
cdef inline void dot2(const double* x, const double* w0, const double* w1, Py_ssize_t d,
                      double* out) noexcept nogil:
    cdef descent_v8d s_lo, s_hi, r_lo, r_hi, x_lo, x_hi
    cdef double s[8]
    cdef double r[8]
    cdef Py_ssize_t j = 0, m
    if BLAS_DOT_MIN_D <= d <= BLAS_MAX_D:
        out[0], out[1] = dot(x, w0, d), dot(x, w1, d)
        return
    for m in range(4):
        s[m] = 0.0
        r[m] = 0.0
    if d >= BLAS_MIN_D:
        s_lo = s_hi = r_lo = r_hi = descent_v8d_zero()
        while j + 16 <= d:
            x_lo, x_hi = descent_v8d_load(x + j), descent_v8d_load(x + j + 8)
            s_lo = descent_v8d_add(s_lo, descent_v8d_mul(x_lo, descent_v8d_load(w0 + j)))
            s_hi = descent_v8d_add(s_hi, descent_v8d_mul(x_hi, descent_v8d_load(w0 + j + 8)))
            r_lo = descent_v8d_add(r_lo, descent_v8d_mul(x_lo, descent_v8d_load(w1 + j)))
            r_hi = descent_v8d_add(r_hi, descent_v8d_mul(x_hi, descent_v8d_load(w1 + j + 8)))
            j += 16
        descent_v8d_store(s, descent_v8d_add(s_lo, s_hi))     # dot's s[m] += s[m + 8]
        descent_v8d_store(r, descent_v8d_add(r_lo, r_hi))
        for m in range(4):
            s[m] += s[m + 4]
            r[m] += r[m + 4]
    out[0] = dot_from(x, w0, d, j, s[0], s[1], s[2], s[3])
    out[1] = dot_from(x, w1, d, j, r[0], r[1], r[2], r[3])


cdef inline void axpy(double a, const double* x, double* w, Py_ssize_t d) noexcept nogil:
    cdef Py_ssize_t j
    cdef int n, one = 1
    if BLAS_MIN_D <= d <= BLAS_MAX_D:
        n = <int>d
        blas.daxpy(&n, &a, <double*>x, &one, w, &one)
        return
    for j in range(d):
        w[j] += a * x[j]


# float32 rows are widened to float64 as they are read: the products and
# sums are float64 (no BLAS: its sdot/saxpy would sum in float32). From
# BLAS_MIN_D coordinates on, eight partial sums instead of four: the compiler
# turns them into one AVX-512, two AVX2 or four SSE2 accumulators, where four
# left the wider variants waiting on one add chain. Measured (C, this build's
# flags, the dot and the axpy of one sample in L1, the 2-vCPU AVX-512 VM,
# medians of 11; baseline / avx2 / avx512): d = 100 101 / 89 / 85 ns -> 98 /
# 66 / 63; d = 1000 644 / 765 / 521 -> 598 / 516 / 314. Sixteen sums gain
# 10 % more on AVX-512 but cost 3-20 % on SSE2 (registers spill); below
# BLAS_MIN_D eight sums leave a longer scalar tail (d = 10: 15.5 -> 17.1 ns).
cdef inline double dot32(const float* x, const double* w, Py_ssize_t d) noexcept nogil:
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef double s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0
    cdef Py_ssize_t j = 0
    if d >= BLAS_MIN_D:
        while j + 8 <= d:
            s0 += <double>x[j] * w[j]
            s1 += <double>x[j + 1] * w[j + 1]
            s2 += <double>x[j + 2] * w[j + 2]
            s3 += <double>x[j + 3] * w[j + 3]
            s4 += <double>x[j + 4] * w[j + 4]
            s5 += <double>x[j + 5] * w[j + 5]
            s6 += <double>x[j + 6] * w[j + 6]
            s7 += <double>x[j + 7] * w[j + 7]
            j += 8
        s0 += s4
        s1 += s5
        s2 += s6
        s3 += s7
    return dot_from(x, w, d, j, s0, s1, s2, s3)


cdef inline void dot2_32(const float* x, const double* w0, const double* w1, Py_ssize_t d,
                         double* out) noexcept nogil:
    # dot32(x, w0, d) and dot32(x, w1, d), each in dot32's order, in one pass
    # over x (see dot2); the eight sums of each as a vector.
    cdef descent_v8d vs = descent_v8d_zero(), vr = descent_v8d_zero(), xj
    cdef double s[8]
    cdef double r[8]
    cdef Py_ssize_t j = 0, m
    if d >= BLAS_MIN_D:
        while j + 8 <= d:
            xj = descent_v8d_load_f32(x + j)
            vs = descent_v8d_add(vs, descent_v8d_mul(xj, descent_v8d_load(w0 + j)))
            vr = descent_v8d_add(vr, descent_v8d_mul(xj, descent_v8d_load(w1 + j)))
            j += 8
    descent_v8d_store(s, vs)
    descent_v8d_store(r, vr)
    if d >= BLAS_MIN_D:
        for m in range(4):
            s[m] += s[m + 4]
            r[m] += r[m + 4]
    out[0] = dot_from(x, w0, d, j, s[0], s[1], s[2], s[3])
    out[1] = dot_from(x, w1, d, j, r[0], r[1], r[2], r[3])


cdef inline double sqnorm32(const float* x, Py_ssize_t d) noexcept nogil:
    cdef double s = 0.0
    cdef Py_ssize_t j
    for j in range(d):
        s += <double>x[j] * <double>x[j]
    return s


cdef inline void axpy32(double a, const float* x, double* w, Py_ssize_t d) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(d):
        w[j] += a * <double>x[j]


cdef inline double axpy_sqnorm_from(double a, const floating* x, double* w, Py_ssize_t d,
                                    Py_ssize_t j, double s0, double s1, double s2, double s3,
                                    double high) noexcept nogil:
    # axpy_sqnorm's last part: the coordinates from j on, their squares into
    # s0..s3 (so far), then the total with high, the other four sums' total.
    while j + 4 <= d:
        w[j] += a * <double>x[j]
        w[j + 1] += a * <double>x[j + 1]
        w[j + 2] += a * <double>x[j + 2]
        w[j + 3] += a * <double>x[j + 3]
        s0 += w[j] * w[j]
        s1 += w[j + 1] * w[j + 1]
        s2 += w[j + 2] * w[j + 2]
        s3 += w[j + 3] * w[j + 3]
        j += 4
    while j < d:
        w[j] += a * <double>x[j]
        s0 += w[j] * w[j]
        j += 1
    return ((s0 + s1) + (s2 + s3)) + high


cdef inline descent_v8d axpy_sqnorm8(descent_v8d va, descent_v8d xj, double* w,
                                     descent_v8d acc) noexcept nogil:
    # Eight coordinates of axpy_sqnorm's long loop: w[0:8] += a x, and acc
    # (its eight sums) += w[0:8]^2 after it, lane by lane.
    cdef descent_v8d wj = descent_v8d_add(descent_v8d_load(w), descent_v8d_mul(va, xj))
    descent_v8d_store(w, wj)
    return descent_v8d_add(acc, descent_v8d_mul(wj, wj))


cdef inline descent_v8d load_row8(const floating* x) noexcept nogil:
    # Eight coordinates of a row as float64 (float32 widened).
    if floating is float:
        return descent_v8d_load_f32(x)
    return descent_v8d_load(x)


cdef inline double axpy_sqnorm_long(double a, const floating* x, double* w,
                                    Py_ssize_t d) noexcept nogil:
    # axpy_sqnorm from BLAS_MIN_D coordinates on: eight partial sums, as dot32.
    cdef descent_v8d va = descent_v8d_set1(a), acc = descent_v8d_zero()
    cdef double s[8]
    cdef Py_ssize_t j = 0
    while j + 8 <= d:
        acc = axpy_sqnorm8(va, load_row8(x + j), w + j, acc)
        j += 8
    descent_v8d_store(s, acc)
    return axpy_sqnorm_from(a, x, w, d, j, s[0], s[1], s[2], s[3],
                            (s[4] + s[5]) + (s[6] + s[7]))


cdef inline double axpy_sqnorm(double a, const floating* x, double* w,
                               Py_ssize_t d) noexcept nogil:
    # w += a x (float32 x widened, as axpy32), returning |w|^2 after it from
    # the same loop (a separate pass cost per-sample SGD in storage order 10 %
    # at d = 10 and 24 % at d = 1000, BLAS's ddot there, measured); the short
    # form apart from the long, so that it inlines into the loops of few
    # coordinates (GCC inlines a helper whole or calls it, by its size:
    # loop_plain.add_dense_targets).
    if d >= BLAS_MIN_D:
        return axpy_sqnorm_long(a, x, w, d)
    return axpy_sqnorm_from(a, x, w, d, 0, 0.0, 0.0, 0.0, 0.0, 0.0)


cdef inline void axpy_sqnorm2(double a0, double a1, const floating* x, double* w0,
                              double* w1, Py_ssize_t d, double* out) noexcept nogil:
    # axpy_sqnorm(a0, x, w0, d) and axpy_sqnorm(a1, x, w1, d) in one pass over
    # x, each with axpy_sqnorm's arithmetic in its order (the same bits), the
    # norms into out[0:2]; the eight sums of each as a vector (see dot2).
    cdef descent_v8d va0 = descent_v8d_set1(a0), va1 = descent_v8d_set1(a1)
    cdef descent_v8d vs = descent_v8d_zero(), vr = descent_v8d_zero(), xj
    cdef double s[8]
    cdef double r[8]
    cdef Py_ssize_t j = 0
    if d >= BLAS_MIN_D:
        while j + 8 <= d:
            xj = load_row8(x + j)
            vs = axpy_sqnorm8(va0, xj, w0 + j, vs)
            vr = axpy_sqnorm8(va1, xj, w1 + j, vr)
            j += 8
    descent_v8d_store(s, vs)
    descent_v8d_store(r, vr)
    out[0] = axpy_sqnorm_from(a0, x, w0, d, j, s[0], s[1], s[2], s[3],
                              (s[4] + s[5]) + (s[6] + s[7]))
    out[1] = axpy_sqnorm_from(a1, x, w1, d, j, r[0], r[1], r[2], r[3],
                              (r[4] + r[5]) + (r[6] + r[7]))
