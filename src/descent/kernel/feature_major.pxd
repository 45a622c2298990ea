# The feature-major model layer: a copy of the model where feature j's K
# coefficients are one run (the many-target CSR loops' epochs and
# evaluations), the copy itself, a CSR row's predictions and add on it, and
# the prefetch of a row's runs ahead.

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
    # S, the doubles a run of K targets takes: K rounded up to a power of
    # two up to 8, else to a multiple of 8, so that on 64-byte aligned memory
    # a run spans the fewest cache lines (20 targets: 3 lines, against 3.4 on
    # average unpadded; measured in a C loop of this shape, 50 features a row
    # in cache: 17-19 % faster products and updates).
    cdef Py_ssize_t S = 1
    if K > 8:
        return (K + 7) // 8 * 8
    while S < K:
        S *= 2
    return S


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


cdef inline void row_predictions_by_feature(LayoutT* lay, const Data* D, Py_ssize_t i,
                                            const double* W, Py_ssize_t per_feature,
                                            double ws, double* z) noexcept nogil:
    # z[t] = ws x_i . W[:, t] + W[d, t] for CSR row i and the model stored
    # feature-major (W[j * per_feature + t], intercepts at feature d): each
    # target's dot summed from 0 over the row's values in turn, as row_dot's.
    # Four features at a time: each target's sum chains through memory (z[t]
    # is stored and loaded again by the next feature, K being known only at
    # run time), and adding four features' products in one statement, in
    # order, makes one trip through memory of four (the same sums, bit for
    # bit). Measured (AMD EPYC, 20-class CSR 200,000 rows of 50 non-zeros,
    # per-sample log-loss, s an epoch, medians of 5 interleaved runs, before
    # / after): 1,000 features 0.227 / 0.199; 100,000 features 0.303 / 0.279.
    cdef Py_ssize_t kk, tt, K = D.K, end = D.indptr[i + 1]
    cdef double x, x1, x2, x3
    cdef const double* wj
    cdef const double* wj1
    cdef const double* wj2
    cdef const double* wj3
    for tt in range(K):
        z[tt] = 0.0
    kk = D.indptr[i]
    while kk + 4 <= end:
        DESCENT_CHECK(0 <= D.indices[kk] < D.d and 0 <= D.indices[kk + 3] < D.d)
        x, x1 = csr_value(lay, D, kk), csr_value(lay, D, kk + 1)
        x2, x3 = csr_value(lay, D, kk + 2), csr_value(lay, D, kk + 3)
        wj = W + D.indices[kk] * per_feature
        wj1 = W + D.indices[kk + 1] * per_feature
        wj2 = W + D.indices[kk + 2] * per_feature
        wj3 = W + D.indices[kk + 3] * per_feature
        for tt in range(K):
            z[tt] = (((z[tt] + x * wj[tt]) + x1 * wj1[tt]) + x2 * wj2[tt]) + x3 * wj3[tt]
        kk += 4
    while kk < end:
        DESCENT_CHECK(0 <= D.indices[kk] < D.d)
        x = csr_value(lay, D, kk)
        wj = W + D.indices[kk] * per_feature
        for tt in range(K):
            z[tt] += x * wj[tt]
        kk += 1
    wj = W + D.d * per_feature
    for tt in range(K):
        z[tt] = z[tt] * ws + wj[tt]


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
