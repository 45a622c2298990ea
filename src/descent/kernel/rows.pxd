# The rows layer: reading a training row (dense or CSR) with its target and
# weight, a row's products and adds (the arithmetic itself: vectors.pxd),
# prefetching the rows of the shuffled order, and the shuffle itself; and the
# checks of a CSR structure.

from descent._kernels cimport Data, Dense32T, DenseT, LayoutT, Sparse32T, SparseT, row_t
from descent.kernel.platform cimport DESCENT_CHECK, DESCENT_PREFETCH, DESCENT_PREFETCH_L2
from descent.kernel.vectors cimport (
    axpy, axpy32, axpy_sqnorm, axpy_sqnorm2, dot, dot2, dot2_32, dot32, sqnorm32,
)


cdef inline double csr_value(LayoutT* lay, const Data* D, Py_ssize_t k) noexcept nogil:
    # The k-th stored value of a CSR X, as float64.
    if LayoutT is Sparse32T:
        return D.data32[k]
    else:
        return D.data[k]


cdef inline const double* dense_row(LayoutT* lay, const Data* D, Py_ssize_t i,
                                    double* buf) noexcept nogil:
    # Dense row i as float64: in place, or widened into buf (d) for float32.
    cdef Py_ssize_t j
    if LayoutT is Dense32T:
        for j in range(D.d):
            buf[j] = D.X32[i * D.d + j]
        return buf
    else:
        return D.X + i * D.d


cdef inline const double* csr_row_values(LayoutT* lay, const Data* D, Py_ssize_t start,
                                         Py_ssize_t nnz, double* buf) noexcept nogil:
    # The values data[start:start + nnz] of a CSR row as float64: in place, or
    # widened into buf for float32.
    cdef Py_ssize_t kk
    if LayoutT is Sparse32T:
        for kk in range(nnz):
            buf[kk] = D.data32[start + kk]
        return buf
    else:
        return D.data + start


cdef inline double row_dot(LayoutT* lay, const Data* D, Py_ssize_t i,
                           const double* w) noexcept nogil:
    cdef int k
    cdef double s = 0.0
    DESCENT_CHECK(0 <= i < D.n_rows)
    if LayoutT is DenseT:
        return dot(D.X + i * D.d, w, D.d)
    elif LayoutT is Dense32T:
        return dot32(D.X32 + i * D.d, w, D.d)
    else:
        for k in range(D.indptr[i], D.indptr[i + 1]):
            DESCENT_CHECK(0 <= D.indices[k] < D.d)
            s += csr_value(lay, D, k) * w[D.indices[k]]
        return s


cdef inline void row_axpy(LayoutT* lay, const Data* D, Py_ssize_t i, double a,
                          double* w) noexcept nogil:
    cdef int k
    DESCENT_CHECK(0 <= i < D.n_rows)
    if LayoutT is DenseT:
        axpy(a, D.X + i * D.d, w, D.d)
    elif LayoutT is Dense32T:
        axpy32(a, D.X32 + i * D.d, w, D.d)
    else:
        for k in range(D.indptr[i], D.indptr[i + 1]):
            DESCENT_CHECK(0 <= D.indices[k] < D.d)
            w[D.indices[k]] += a * csr_value(lay, D, k)


cdef inline double dense_axpy_sqnorm(LayoutT* lay, const Data* D, Py_ssize_t i, double a,
                                     double* w) noexcept nogil:
    # row_axpy of a dense row, returning |w|^2 after it (w: d coefs).
    DESCENT_CHECK(0 <= i < D.n_rows)
    if LayoutT is Dense32T:
        return axpy_sqnorm(a, D.X32 + i * D.d, w, D.d)
    return axpy_sqnorm(a, D.X + i * D.d, w, D.d)


cdef inline void dense_dot2(LayoutT* lay, const Data* D, Py_ssize_t i, const double* w0,
                            const double* w1, double* out) noexcept nogil:
    # row_dot of a dense row with w0 and with w1, into out[0:2] (dot2).
    DESCENT_CHECK(0 <= i < D.n_rows)
    if LayoutT is Dense32T:
        dot2_32(D.X32 + i * D.d, w0, w1, D.d, out)
    else:
        dot2(D.X + i * D.d, w0, w1, D.d, out)


cdef inline void dense_axpy_sqnorm2(LayoutT* lay, const Data* D, Py_ssize_t i, double a0,
                                    double a1, double* w0, double* w1,
                                    double* out) noexcept nogil:
    # dense_axpy_sqnorm of the row to w0 (a0) and to w1 (a1), the norms into
    # out[0:2] (axpy_sqnorm2).
    DESCENT_CHECK(0 <= i < D.n_rows)
    if LayoutT is Dense32T:
        axpy_sqnorm2(a0, a1, D.X32 + i * D.d, w0, w1, D.d, out)
    else:
        axpy_sqnorm2(a0, a1, D.X + i * D.d, w0, w1, D.d, out)


cdef inline double row_sqnorm(LayoutT* lay, const Data* D, Py_ssize_t i) noexcept nogil:
    cdef int k
    cdef double s = 0.0
    if LayoutT is DenseT:
        return dot(D.X + i * D.d, D.X + i * D.d, D.d)
    elif LayoutT is Dense32T:
        return sqnorm32(D.X32 + i * D.d, D.d)
    else:
        for k in range(D.indptr[i], D.indptr[i + 1]):
            s += csr_value(lay, D, k) * csr_value(lay, D, k)
        return s


cdef inline double weight(const Data* D, Py_ssize_t i) noexcept nogil:
    # sample_weight=None is NULL: no n-sized array of ones to allocate and read.
    DESCENT_CHECK(0 <= i < D.n_rows)
    return D.sw[i] if D.sw != NULL else 1.0


cdef inline double target(const Data* D, Py_ssize_t i, Py_ssize_t tt) noexcept nogil:
    # Row i's target tt: from y (n, K), or from the row's class (Data.label):
    # one-vs-rest +1 / -1 and the softmax's one-hot 1 / 0 as numbers, without
    # an (n, K) matrix of them (8 K bytes a row against 4: 20 classes of
    # 200,000 rows, 32 MB against 0.8).
    DESCENT_CHECK(0 <= i < D.n_rows and 0 <= tt < D.K)
    if D.label != NULL:
        return 1.0 if D.label[i] == tt else D.rest
    return D.y[i * D.K + tt]


cdef inline Py_ssize_t true_class(const Data* D, Py_ssize_t i) noexcept nogil:
    # The class of row i of K > 1 targets: its label, or the first of its
    # largest targets.
    cdef Py_ssize_t tt, truth = 0
    if D.label != NULL:
        return D.label[i]
    for tt in range(1, D.K):
        if D.y[i * D.K + tt] > D.y[i * D.K + truth]:
            truth = tt
    return truth


cdef inline double any_row_dot(const Data* D, Py_ssize_t i, const double* w) noexcept nogil:
    # For the loops that are not hot (divergence reference, validation score).
    if D.sparse:
        if D.single:
            return row_dot(<Sparse32T*>NULL, D, i, w)
        return row_dot(<SparseT*>NULL, D, i, w)
    if D.single:
        return row_dot(<Dense32T*>NULL, D, i, w)
    return row_dot(<DenseT*>NULL, D, i, w)


cdef inline void any_row_axpy(const Data* D, Py_ssize_t i, double a,
                              double* w) noexcept nogil:
    if D.sparse:
        if D.single:
            row_axpy(<Sparse32T*>NULL, D, i, a, w)
        else:
            row_axpy(<SparseT*>NULL, D, i, a, w)
    elif D.single:
        row_axpy(<Dense32T*>NULL, D, i, a, w)
    else:
        row_axpy(<DenseT*>NULL, D, i, a, w)


# The checks of a CSR structure (every Workspace's, before any loop follows
# its indices), branch-free so that they vectorise (a loop raising at the
# first bad index took 8-10 ms of a fit on 10 million non-zeros, measured;
# these about 2).

cdef inline bint csr_increasing(const int* a, Py_ssize_t n) noexcept nogil:
    # Whether a[0:n] never decreases (an indptr).
    cdef Py_ssize_t j
    cdef int bad = 0
    for j in range(1, n):
        bad |= a[j] < a[j - 1]
    return not bad


cdef inline bint indices_within(const int* a, Py_ssize_t n, Py_ssize_t d) noexcept nogil:
    # Whether 0 <= a[j] < d for all j < n (n >= 1): CSR column indices, classes.
    cdef Py_ssize_t j
    cdef int lo = a[0], hi = a[0]
    for j in range(1, n):
        lo = a[j] if a[j] < lo else lo
        hi = a[j] if a[j] > hi else hi
    return lo >= 0 and hi < d


cdef inline void prefetch_span(const void* start, Py_ssize_t nbytes,
                               bint to_l2=False) noexcept nogil:
    # Every cache line of the nbytes from start, one prefetch each; to_l2:
    # into L2 (rows far ahead, prefetch_rows; a model's coefficients,
    # prefetch_ahead), whose queue holds more misses in flight than L1's fill
    # buffers. Measured for the coefficients (2-vCPU AVX-512 Xeon, 200,000
    # shuffled CSR rows of 50 non-zeros, ms an epoch, to L1 / to L2): binary
    # log-loss, 1,000,000 features 101 / 95; per-sample Adam, 5 targets of
    # 100,000 features (100,000 rows) 696-759 / 656-733; 20 classes of
    # 100,000 features: the same within noise.
    cdef size_t line = (<size_t>start) & ~(<size_t>63)
    cdef size_t last = (<size_t>start + <size_t>nbytes - 1) & ~(<size_t>63)
    if nbytes <= 0:
        return
    while line <= last:
        if to_l2:
            DESCENT_PREFETCH_L2(<const void*>line)
        else:
            DESCENT_PREFETCH(<const void*>line)
        line += 64


cdef inline void prefetch_sample(LayoutT* lay, const Data* D, Py_ssize_t i,
                                 bint to_l2) noexcept nogil:
    # A shuffled sample is a cache miss on its row, target and weight; its
    # index is known rows ahead, so ask for all their cache lines now
    # (prefetch_rows). A CSR row's values and column indices too: the hardware
    # prefetcher does not follow a 600-byte row in time (measured with the
    # extent prefetched, per-sample SGD on shuffled CSR rows of 20 non-zeros,
    # 200,000 x 10,000: 329 ns a sample when only each array's first line was
    # asked, 134 ns).
    cdef Py_ssize_t lo, hi
    if LayoutT is DenseT:
        prefetch_span(D.X + i * D.d, D.d * sizeof(double), to_l2)
    elif LayoutT is Dense32T:
        prefetch_span(D.X32 + i * D.d, D.d * sizeof(float), to_l2)
    else:
        lo, hi = D.indptr[i], D.indptr[i + 1]
        prefetch_span(D.indices + lo, (hi - lo) * sizeof(int), to_l2)
        if LayoutT is Sparse32T:
            prefetch_span(D.data32 + lo, (hi - lo) * sizeof(float), to_l2)
        else:
            prefetch_span(D.data + lo, (hi - lo) * sizeof(double), to_l2)
    if D.label != NULL:
        prefetch_span(D.label + i, sizeof(int), to_l2)
    else:
        prefetch_span(D.y + i * D.K, D.K * sizeof(double), to_l2)
    if D.sw != NULL:
        prefetch_span(D.sw + i, sizeof(double), to_l2)


cdef inline void prefetch_rows(LayoutT* lay, const Data* D, const row_t* idx,
                               Py_ssize_t k, Py_ssize_t n, bint batch) noexcept nogil:
    # At sample k of the order idx[0:n], the rows on (prefetch_distances).
    # Per-sample loops, two prefetches: the row D.ahead_l2 samples on into
    # L2, which holds more misses in flight than L1's fill buffers and so
    # takes the DRAM latency, and the row D.ahead samples on from there into
    # L1. A batch gradient's rows (batch) do not wait for each other, so the
    # core overlaps them: one prefetch into L1 (with a second, into L2, a
    # full-batch step at d = 10 took 1.2x as long). For CSR rows also the
    # extent, indptr[i:i + 2], of the row the L1 distance past the farthest:
    # reading it then to prefetch the row is no cache miss (measured: half
    # the time of prefetch_sample was that load).
    cdef Py_ssize_t near = D.ahead_batch if batch else D.ahead
    cdef Py_ssize_t far = D.ahead_batch if batch else D.ahead_l2
    if not batch and k + far < n:
        prefetch_sample(lay, D, idx[k + far], True)
    if k + near < n:
        prefetch_sample(lay, D, idx[k + near], False)
    if (LayoutT is SparseT or LayoutT is Sparse32T) and k + far + near < n:
        DESCENT_PREFETCH(D.indptr + idx[k + far + near])


cdef inline void prefetch_ahead(LayoutT* lay, const Data* D, const row_t* idx,
                                Py_ssize_t k, Py_ssize_t n, const double* w,
                                bint batch) noexcept nogil:
    # At sample k of the order idx[0:n]: the rows on (prefetch_rows), and
    # for CSR rows the coefficients of the row half the L1 distance on, whose
    # column indices are in cache by then: on wide sparse data each of a
    # row's nnz coefficients is a cache miss of its own once the model
    # outgrows the cache (D.prefetch_model: prefetch_model).
    cdef Py_ssize_t kk, tt, i
    cdef Py_ssize_t near = (D.ahead_batch if batch else D.ahead) // 2
    prefetch_rows(lay, D, idx, k, n, batch)
    if LayoutT is SparseT or LayoutT is Sparse32T:
        if D.prefetch_model and k + near < n:
            i = idx[k + near]
            for tt in range(D.K):
                for kk in range(D.indptr[i], D.indptr[i + 1]):
                    DESCENT_PREFETCH_L2(w + tt * (D.d + 1) + D.indices[kk])


cdef inline void prefetch_distances(Data* D, Py_ssize_t values) noexcept nogil:
    # The rows prefetch_rows asks for ahead, by the values a row holds.
    # Per-sample loops: into L2 about 12 KB of rows on (at least 2 rows, at
    # most 64), into L1 a quarter as far. With one level (768 / (values + 1)
    # rows into L1) a shuffled epoch took 1.4-1.7x as long. Measured (2-vCPU
    # AMD EPYC VM, per-sample log-loss SGD, shuffled, ms an epoch, L1:L2 rows
    # ahead, medians of 3): 200,000 x 100:
    # 7:0 (one level) 33.3, 2:8 23.0, 3:12 23.5, 3:10 23.5, 2:16 23.1, 1:8
    # 27.8; 20,000 x 1000: 2:0 26.0, 1:2 15.7-17.0, 1:4 18.4, 2:8 16.2; CSR
    # 200,000 x 100,000 with 50 non-zeros a row: 15:0 52.4-52.9, 5:20 40.2,
    # 8:32 41.8, 15:30 42.1; 20 classes 234 against 185-194 (one level /
    # two). At d = 10 (a row one or two cache lines) it depends on the work
    # of a row, medians of 5 interleaved: the log-loss 65.3 ms (32:0) against
    # 59.4 (16:64), the squared loss 39.1 against 41.3; two levels for both.
    # Batch gradients: one level, 768 / (values + 1) rows (at least 2, at
    # most 32): their rows do not wait for each other. One level, ns a sample
    # by rows ahead: d = 10: 90, 72, 54, 43, 39, 38 for 1, 2, 4, 8, 16, 32
    # rows ahead; d = 100: 198, 178, 166, 160, 176, 166; d = 1000: flat.
    D.ahead_batch = max(2, min(32, 768 // (values + 1)))
    D.ahead_l2 = max(2, min(64, 1536 // (values + 1)))
    D.ahead = max(1, min(16, D.ahead_l2 // 4))


cdef inline bint prefetch_model(Py_ssize_t coefficients) noexcept nogil:
    # Whether CSR loops prefetch the coefficients of a row ahead
    # (prefetch_ahead): for coefficients (with a rule's state) over 4 MB,
    # which a core's cache does not hold. Below that the prefetches only fill
    # the line buffers that the rows' own prefetches wait for. Measured
    # (2-vCPU AVX-512 Xeon, 2 MB of L2 a core; 200,000 shuffled CSR rows of
    # 50 non-zeros, per-sample log-loss SGD, ms an epoch with / without):
    # d = 10,000: 57 / 49; 100,000: 64 / 53; 1,000,000: 66 / 64; 4,000,000:
    # 106 / 110; per-sample Adam, 100,000 rows and features: 1 target 163 /
    # 154, 5 targets (16 MB with the state) 571 / 1,052.
    return coefficients * <Py_ssize_t>sizeof(double) > (4 << 20)


# Random numbers for shuffling: splitmix64 (Steele, Lea & Flood 2014), enough
# for a permutation and reproducible across platforms.

cdef inline unsigned long long splitmix64(unsigned long long* state) noexcept nogil:
    state[0] += 0x9E3779B97F4A7C15ULL
    cdef unsigned long long z = state[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline Py_ssize_t shuffle_draw(Py_ssize_t i, unsigned long long* state) noexcept nogil:
    # Fisher-Yates's j for position i. j = floor(r32 * (i + 1) / 2**32) with a
    # 32-bit random r32 (Lemire 2019) replaces a 64-bit division; its bias is
    # below n / 2**32.
    if <unsigned long long>i < 0xFFFFFFFFULL:
        return <Py_ssize_t>(((splitmix64(state) >> 32) * <unsigned long long>(i + 1)) >> 32)
    return <Py_ssize_t>(splitmix64(state) % <unsigned long long>(i + 1))


cdef enum:
    SHUFFLE_AHEAD = 32      # draws made (and their entries prefetched) ahead


cdef inline void shuffle_indices(row_t* idx, Py_ssize_t n,
                                 unsigned long long* state) noexcept nogil:
    # Fisher-Yates, from position n - 1 down. Each swap reads idx[j] at random
    # (a miss once idx outgrows L2), so the draws are made SHUFFLE_AHEAD
    # positions ahead, in the same order (the same permutation), and their
    # entries prefetched. The shuffle was 10 % of a per-sample log-loss epoch
    # of 1,000,000 rows at d = 10 (perf). A C copy of this loop, 1,000,000
    # rows, the caches flushed before each (2-vCPU AMD EPYC VM): 5.3-7.3 ms
    # drawing as it goes; drawing 8 ahead 4.5-5.6, 16 3.8-4.8, 32 2.7-3.6, 64
    # 3.5-3.6.
    cdef Py_ssize_t i, j, slot
    cdef Py_ssize_t ahead[SHUFFLE_AHEAD]
    cdef row_t tmp
    for slot in range(min(<Py_ssize_t>SHUFFLE_AHEAD, n - 1)):
        ahead[slot] = shuffle_draw(n - 1 - slot, state)
        DESCENT_PREFETCH(idx + ahead[slot])
    slot = 0
    for i in range(n - 1, 0, -1):
        j = ahead[slot]
        if i - SHUFFLE_AHEAD >= 1:
            ahead[slot] = shuffle_draw(i - SHUFFLE_AHEAD, state)
            DESCENT_PREFETCH(idx + ahead[slot])
        slot = slot + 1 if slot + 1 < SHUFFLE_AHEAD else 0
        tmp = idx[i]
        idx[i] = idx[j]
        idx[j] = tmp
