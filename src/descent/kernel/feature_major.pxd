# The feature-major model layer: a copy of the model where feature j's K
# coefficients are one run (the many-target CSR loops' epochs and
# evaluations), the copy itself, a CSR row's predictions and add on it, and
# the prefetch of a row's runs ahead.

from libc.math cimport fabs

from descent._kernels cimport Data, LayoutT, Sparse32T, SparseT, row_t
from descent.kernel.platform cimport DESCENT_CHECK
from descent.kernel.rows cimport any_row_dot, csr_value, prefetch_rows, prefetch_span


# The model feature-major. Stored target-major, (K, d + 1), a CSR row's nnz
# features are K * nnz scattered cache lines, and K models of d coefficients
# outgrow the cache (measured, 20 classes of 100,000 features, 50 nnz a row:
# 21 us a sample, slower than scikit-learn's 20 separate passes). The
# many-target CSR loops (loop_plain, loop_lazy) run their epochs on a copy
# where feature j's K coefficients are one run, W[j * per_feature + t]: read
# and updated by loops over the targets that vectorise.

cdef inline Py_ssize_t feature_stride(Py_ssize_t K) noexcept nogil:
    # S, the doubles a run of K targets takes: 4 up to 4 targets, 8 up to 8,
    # else K rounded up to a multiple of 8, so that on 64-byte aligned memory
    # a run spans the fewest cache lines (20 targets: 3 lines, against 3.4 on
    # average unpadded; measured in a C loop of this shape, 50 features a row
    # in cache: 17-19 % faster products and updates) and is whole blocks of
    # lanes (below).
    if K <= 4:
        return 4
    return (K + 7) // 8 * 8


# The loops over a run's targets go a block of lanes at a time: 4 or 8
# targets (the run of S = 4 or a cache line of a longer run; S is whole
# blocks, and the lanes past K work on the run's padding and are not kept:
# an add leaves it as it is), a count the compiler knows, so that the
# block's sums over the row's features stay in vector registers from the
# row's first feature to its last. The lane tags give each count its
# compiled loop, as the layout tags do the layouts.
# Before, the loops went over the K targets, a count known only at run time:
# each target's sum went through memory at every feature (four features
# added in one statement, to make one trip of four), and the running
# penalty's norms took a pass of their own over the row after its add.
# Measured (2-vCPU AMD EPYC VM, shared; CSR rows of 50 non-zeros, 200,000
# rows, per-sample log-loss, s an epoch, two builds interleaved, medians,
# before / lanes): 20 classes one-vs-rest, 100,000 features 0.245 / 0.187
# (7 pairs, all faster), 1,000 features 0.191 / 0.146 (5 pairs); the 20-class
# softmax 0.212 / 0.169; 3 classes (4 lanes) 0.107 / 0.067. Same bits.
ctypedef struct Lanes4T:
    char unused
ctypedef struct Lanes8T:
    char unused

ctypedef fused LanesT:
    Lanes4T
    Lanes8T


cdef inline Py_ssize_t lane_count(LanesT* lanes) noexcept nogil:
    if LanesT is Lanes4T:
        return 4
    else:
        return 8


cdef inline void copy_layout(double* src, double* W, Py_ssize_t K, Py_ssize_t m,
                             Py_ssize_t per_feature, bint to_features) noexcept nogil:
    # Between K target-major runs of m, src[t * m + j], and the feature-major
    # W[j * per_feature + t]: into W if to_features, else back into src.
    cdef Py_ssize_t j, tt
    for j in range(m):
        for tt in range(K):
            if to_features:
                W[j * per_feature + tt] = src[tt * m + j]
            else:
                src[tt * m + j] = W[j * per_feature + tt]


cdef inline void predictions_in_lanes(LanesT* lanes, LayoutT* lay, const Data* D,
                                      Py_ssize_t i, const double* W,
                                      Py_ssize_t per_feature, double ws,
                                      double* z) noexcept nogil:
    cdef Py_ssize_t L = lane_count(lanes)
    cdef Py_ssize_t b = 0, kk, tt, K = D.K, start = D.indptr[i], end = D.indptr[i + 1]
    cdef double acc[8]
    cdef double x
    cdef const double* wj
    while b < K:
        for tt in range(L):
            acc[tt] = 0.0
        for kk in range(start, end):
            DESCENT_CHECK(0 <= D.indices[kk] < D.d)
            x = csr_value(lay, D, kk)
            wj = W + D.indices[kk] * per_feature + b
            for tt in range(L):
                acc[tt] += x * wj[tt]
        wj = W + D.d * per_feature + b
        for tt in range(min(L, K - b)):
            z[b + tt] = acc[tt] * ws + wj[tt]
        b += L


cdef inline void row_predictions_by_feature(LayoutT* lay, const Data* D, Py_ssize_t i,
                                            const double* W, Py_ssize_t per_feature,
                                            double ws, double* z) noexcept nogil:
    # z[t] = ws x_i . W[:, t] + W[d, t] for CSR row i and the model stored
    # feature-major (W[j * per_feature + t], intercepts at feature d; a run
    # of feature_stride(K), per_feature apart): each target's dot summed from
    # 0 over the row's values in turn, as row_dot's, a block of lanes at a
    # time (above).
    if feature_stride(D.K) == 4:
        predictions_in_lanes(<Lanes4T*>NULL, lay, D, i, W, per_feature, ws, z)
    else:
        predictions_in_lanes(<Lanes8T*>NULL, lay, D, i, W, per_feature, ws, z)


cdef inline void add_in_lanes(LanesT* lanes, LayoutT* lay, const Data* D, Py_ssize_t i,
                              double* W, Py_ssize_t S, const double* step, double* sq,
                              double* l1) noexcept nogil:
    cdef Py_ssize_t L = lane_count(lanes)
    cdef Py_ssize_t b = 0, kk, tt, K = D.K, start = D.indptr[i], end = D.indptr[i + 1]
    cdef double st[8]
    cdef double s2[8]
    cdef double a1[8]
    cdef double v[8]
    cdef double x
    cdef double* wj
    while b < K:
        for tt in range(L):
            st[tt] = step[b + tt] if b + tt < K else 0.0
            s2[tt] = a1[tt] = 0.0
        for kk in range(start, end):
            DESCENT_CHECK(0 <= D.indices[kk] < D.d)
            x = csr_value(lay, D, kk)
            wj = W + D.indices[kk] * S + b
            # (one loop a statement, and the sums whether wanted or not:
            # written as one loop, or with the sums under a test, the
            # compiler kept the sums in scalar registers, 1.5x slower; perf)
            for tt in range(L):
                v[tt] = wj[tt] + st[tt] * x
            for tt in range(L):
                wj[tt] = v[tt]
            for tt in range(L):
                s2[tt] += v[tt] * v[tt]
            for tt in range(L):
                a1[tt] += fabs(v[tt])
        for tt in range(min(L, K - b)):
            if sq != NULL:
                sq[b + tt] = s2[tt]
            if l1 != NULL:
                l1[b + tt] = a1[tt]
        b += L


cdef inline void add_by_feature(LayoutT* lay, const Data* D, Py_ssize_t i, double* W,
                                Py_ssize_t S, const double* step, double* sq,
                                double* l1) noexcept nogil:
    # W[j * S + t] += step[t] * x_ij over CSR row i's features j (the model
    # feature-major, runs of S = feature_stride(K); the padding stays 0);
    # where sq is not NULL, sq[t] = the sum over those features of the new
    # W[j * S + t] squared, where l1 is not NULL l1[t] of their absolute
    # values, summed in the row's order as they are written (a CSR row has
    # no feature twice), a block of lanes at a time (above).
    if S == 4:
        add_in_lanes(<Lanes4T*>NULL, lay, D, i, W, S, step, sq, l1)
    else:
        add_in_lanes(<Lanes8T*>NULL, lay, D, i, W, S, step, sq, l1)


cdef inline void any_row_predictions(const Data* D, Py_ssize_t i, const double* theta,
                                     const double* W, Py_ssize_t per_feature,
                                     double* z) noexcept nogil:
    # z[t] = x_i . w_t + b_t for the K targets of the model theta (K runs of
    # d + 1), for the loops that are not hot; where W is not NULL, read from
    # the same model feature-major (CSR rows; W[j * per_feature + t],
    # intercepts at feature d; above), a row's features' runs instead of K
    # scattered coefficients each, with the same operations in the same order
    # (row_predictions_by_feature): the same values, bit for bit.
    cdef Py_ssize_t tt, K = D.K, d = D.d
    if W == NULL:
        for tt in range(K):
            z[tt] = theta[tt * (d + 1) + d] + any_row_dot(D, i, theta + tt * (d + 1))
    elif D.single:      # (x . w * 1 + b = b + x . w exactly)
        row_predictions_by_feature(<Sparse32T*>NULL, D, i, W, per_feature, 1.0, z)
    else:
        row_predictions_by_feature(<SparseT*>NULL, D, i, W, per_feature, 1.0, z)


cdef inline void prefetch_ahead_by_feature(LayoutT* lay, const Data* D, const row_t* idx,
                                           Py_ssize_t k, Py_ssize_t n, const double* W,
                                           Py_ssize_t per_feature,
                                           Py_ssize_t span) noexcept nogil:
    # prefetch_ahead for CSR rows and a model stored feature-major (above):
    # feature j's block, span doubles from W + j * per_feature, of the next
    # row (its column indices in L1 by then). Measured, 20 classes of
    # 100,000 features, CSR rows of 50 non-zeros (3 cache lines a feature),
    # one-vs-rest s an epoch, two builds interleaved, medians of 5, two runs:
    # 3 rows on 0.188 and 0.188, the next row 0.167 and 0.169 (all 10 pairs
    # faster); 7 rows on 0.181 against 0.172 with 3; the softmax the same
    # within noise (0.176 / 0.176).
    cdef Py_ssize_t kk, i
    prefetch_rows(lay, D, idx, k, n, False)
    if D.prefetch_model and k + 1 < n:
        i = idx[k + 1]
        for kk in range(D.indptr[i], D.indptr[i + 1]):
            prefetch_span(W + D.indices[kk] * per_feature, span * sizeof(double), True)
