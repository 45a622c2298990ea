# Included by _kernels.pyx (one extension module): a Workspace's inputs, read
# and checked once when it is made (every index the loops follow), its Data
# set from them. Functions of the Workspace (its __cinit__ calls them).

cdef set_data(Workspace ws, X, y, const double[::1] sample_weight):
    cdef const double[:, ::1] X_dense
    cdef const float[:, ::1] X_dense32
    cdef const double[::1] X_data
    cdef const float[::1] X_data32
    cdef const int[::1] X_indices, X_indptr
    cdef Py_ssize_t d, n_rows, n_values
    cdef Data* D = &ws.D
    D.sparse = isinstance(X, tuple)
    D.X = D.data = NULL
    D.X32 = D.data32 = NULL
    if D.sparse:
        values, X_indices, X_indptr, d = X
        D.single = values.dtype == np.float32
        if D.single:
            X_data32 = values
            n_values = X_data32.shape[0]
            D.data32 = &X_data32[0] if n_values > 0 else NULL
        else:
            X_data = values
            n_values = X_data.shape[0]
            D.data = &X_data[0] if n_values > 0 else NULL
        n_rows = X_indptr.shape[0] - 1
        if X_indices.shape[0] != n_values or X_indptr[n_rows] > n_values:
            raise ValueError("inconsistent CSR arrays")
        if X_indptr[0] != 0:
            raise ValueError("CSR indptr must start at 0")
        if not csr_increasing(&X_indptr[0], n_rows + 1):
            raise ValueError("CSR indptr must be non-decreasing")
        if X_indptr[n_rows] > 0 and not indices_within(&X_indices[0], X_indptr[n_rows], d):
            raise ValueError("CSR column index out of range")
        D.indices = &X_indices[0] if X_indices.shape[0] > 0 else NULL
        D.indptr = &X_indptr[0]
    else:
        D.single = X.dtype == np.float32
        D.indices = D.indptr = NULL
        if D.single:
            X_dense32 = X
            n_rows, d = X_dense32.shape[0], X_dense32.shape[1]
            D.X32 = &X_dense32[0, 0] if n_rows > 0 and d > 0 else NULL
        else:
            X_dense = X
            n_rows, d = X_dense.shape[0], X_dense.shape[1]
            D.X = &X_dense[0, 0] if n_rows > 0 and d > 0 else NULL
    D.n_rows, D.d = n_rows, d
    set_targets(ws, y)
    if sample_weight is not None and n_rows != sample_weight.shape[0]:
        raise ValueError("X, y and sample_weight must have the same length")
    D.sw = &sample_weight[0] if sample_weight is not None else NULL
    # rows ahead by the values a row holds (a CSR row: its mean nnz)
    prefetch_distances(
        D, max(1, (D.indptr[n_rows] if D.sparse else n_rows * d) // max(1, n_rows)))
    # (the coefficients a row's step touches: with an update rule, its
    # three state arrays' too)
    D.prefetch_model = D.sparse and prefetch_model(
        D.K * (d + 1) * (1 if ws.s.path in (PLAIN, HOGWILD_PLAIN) else 4))

cdef set_targets(Workspace ws, y):
    # y (n, K) float64, or a classifier's (classes, K, rest) (Workspace's
    # docstring)
    cdef const double[:, ::1] y_values
    cdef const int[::1] y_class
    cdef Data* D = &ws.D
    D.y, D.label, D.rest = NULL, NULL, 0.0
    if isinstance(y, tuple):
        y_class, D.K, D.rest = y
        n_y = y_class.shape[0]
    else:
        y_values = y
        n_y, D.K = y_values.shape[0], y_values.shape[1]
    if n_y != D.n_rows:
        raise ValueError("X, y and sample_weight must have the same length")
    if ws.train_idx.shape[0] == 0 or D.d == 0 or D.K == 0:
        raise ValueError("no training samples or no features")
    if isinstance(y, tuple):
        if D.K < 2 or not indices_within(&y_class[0], n_y, D.K):
            raise ValueError("class indices must be in [0, K), K >= 2")
        D.label = &y_class[0]
    else:
        D.y = &y_values[0, 0]

cdef check_buffers(Workspace ws, double[:, ::1] theta, double[:, ::1] avg,
                   double[:, ::1] rule_state, double[::1] q):
    cdef Py_ssize_t j, K = ws.D.K, d = ws.D.d, path = ws.s.path
    if (theta.shape[0] != K or theta.shape[1] != d + 1 or rule_state.shape[0] != 3
            or rule_state.shape[1] != K * (d + 1)):
        raise ValueError("theta must be (K, n_features + 1), rule_state (3, K * (d + 1))")
    if avg.shape[0] != 0 and (avg.shape[0] != K or avg.shape[1] != d + 2):
        raise ValueError("avg has the wrong shape")
    if ws.s.average_start > 0.0 and avg.shape[0] == 0:
        raise ValueError("averaging needs avg of shape (K, n_features + 2)")
    if (path in (PLAIN, HOGWILD_PLAIN) and ws.s.penalty in (L1, ELASTICNET)
            and q.shape[0] != K * d):
        raise ValueError("the per-sample L1 penalty needs q of length K * n_features")
    if not PLAIN <= path <= HOGWILD_RULE:
        raise ValueError(f"unknown training path {path}")
    if path == LAZY and not ws.D.sparse:
        raise ValueError("the LAZY path steps CSR rows")
    if path in (LAZY, HOGWILD_PLAIN, HOGWILD_RULE) and ws.s.average_start > 0.0:
        raise ValueError("the LAZY and HOGWILD paths do not average")
    if path == MINI_BATCH and ws.s.batch_size < 1:
        raise ValueError("MINI_BATCH needs batch_size >= 1")
    if not CONSTANT <= ws.s.schedule <= RATES:
        raise ValueError(f"unknown schedule {ws.s.schedule}")
    for j in range(ws.train_idx.shape[0]):
        if not 0 <= ws.train_idx[j] < ws.D.n_rows:
            raise ValueError("train_idx out of range")
    for j in range(ws.val_idx.shape[0]):
        if not 0 <= ws.val_idx[j] < ws.D.n_rows:
            raise ValueError("val_idx out of range")
