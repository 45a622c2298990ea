# The compiled module of descent: the Workspace a training call runs its
# epochs in, the one switch that acts on the training path, the step of
# descent.optim, and py_* wrappers through which the tests reach the layers.
#
# The layers live in src/descent/kernel/ as .pxd files of `cdef inline`
# functions, compiled into this one module (docs/architecture.md):
#   platform -> (types: _kernels.pxd) -> rows -> losses, penalties -> rules
#   -> lazy -> evaluate, loop_plain, loop_rule, loop_lazy, loop_hogwild.
# Every helper is `noexcept nogil`; an epoch runs with the GIL released.
# Directives (boundscheck, wraparound, cdivision, ...) come from CMake and the
# build type, never from these files.

from cpython.buffer cimport (
    PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer,
)
from libc.math cimport isfinite, pow
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memset

from descent.kernel.evaluate cimport (
    curvature, divergence_reference, hessian_vector, mean_loss_at, objective_at,
    r2_score_rows,
)
from descent.kernel.lazy cimport Lazy, lazy_advance, lazy_catch_up, lazy_factor, lazy_init
from descent.kernel.optim_pass cimport SCAN_OK, scan_inputs, update_pass
from descent.kernel.loop_hogwild cimport hogwild_dense, hogwild_sparse
from descent.kernel.loop_lazy cimport epoch_lazy
from descent.kernel.loop_plain cimport epoch_plain
from descent.kernel.loop_rule cimport (
    batch_gradient, epoch_batched, epoch_rule, gradient_chunks,
)
from descent.kernel.losses cimport (
    EpsilonInsensitiveT, HuberT, LossT, SquaredEpsilonInsensitiveT, SquaredErrorT,
    any_loss_grad,
)
from descent.kernel.penalties cimport penalty_value
from descent.kernel.platform cimport (
    DESCENT_BUILD_TYPE, DESCENT_HAVE_OPENMP, DESCENT_MAX_THREADS, descent_align64,
    descent_flush_denormals, descent_restore_fp,
)
from descent.kernel.rows cimport prefetch_distance, shuffle_indices
from descent.kernel.rules cimport StepScalars, rule_step, step_scalars

import numpy as np

from numpy import ndarray

OPENMP = bool(DESCENT_HAVE_OPENMP)
BUILD_TYPE = DESCENT_BUILD_TYPE.decode()


def max_threads():
    """The most threads a kernel runs on: the processors OpenMP sees (1 in a
    build without OpenMP)."""
    return DESCENT_MAX_THREADS()


# ---------------------------------------------------------------------------
# The path switch: the loss and the row layout pick the compiled instance
# (fused tag types), the path the loop family.

cdef double run_path(LossT* kind, LayoutT* lay, const Data* D, const Settings* s,
                     const RuleParams* rp, const row_t* idx, Py_ssize_t n, Buffers* B,
                     Progress* P) noexcept nogil:
    if s.path == PLAIN:
        if D.K == 1:
            return epoch_plain(kind, lay, <OneTargetT*>NULL, D, s, idx, n, B, P)
        return epoch_plain(kind, lay, <ManyTargetsT*>NULL, D, s, idx, n, B, P)
    if s.path == RULE:
        return epoch_rule(kind, lay, D, s, rp, idx, n, B, P)
    if s.path == MINI_BATCH:
        return epoch_batched(kind, lay, D, s, rp, idx, n, s.batch_size, B, P)
    if s.path == FULL_BATCH:
        return epoch_batched(kind, lay, D, s, rp, idx, n, n, B, P)
    if s.path == GRADIENT:     # into B.g; the model does not move
        return batch_gradient(kind, lay, D, s, idx, n, B.theta, B.g, B.gthreads,
                              s.n_threads)
    if LayoutT is SparseT:
        if s.path == LAZY:
            return epoch_lazy(kind, D, s, rp, idx, n, B, P)
        return hogwild_sparse(kind, D, s, rp, idx, n, B, P)     # HOGWILD_*
    else:
        return hogwild_dense(kind, D, s, rp, idx, n, B, P)      # HOGWILD_*


cdef double run_loss(LayoutT* lay, const Data* D, const Settings* s, const RuleParams* rp,
                     const row_t* idx, Py_ssize_t n, Buffers* B,
                     Progress* P) noexcept nogil:
    if s.loss == SQUARED_ERROR:
        return run_path(<SquaredErrorT*>NULL, lay, D, s, rp, idx, n, B, P)
    elif s.loss == HUBER:
        return run_path(<HuberT*>NULL, lay, D, s, rp, idx, n, B, P)
    elif s.loss == EPSILON_INSENSITIVE:
        return run_path(<EpsilonInsensitiveT*>NULL, lay, D, s, rp, idx, n, B, P)
    return run_path(<SquaredEpsilonInsensitiveT*>NULL, lay, D, s, rp, idx, n, B, P)


cdef inline bint is_hogwild(int path) noexcept nogil:
    return path == HOGWILD_PLAIN or path == HOGWILD_RULE


# ---------------------------------------------------------------------------

cdef class Workspace:
    """One training call: the rows, the model, and the work buffers its path needs.

    ``Workspace(X, y, sample_weight, train_idx, val_idx, theta, avg,
    rule_state, q, settings, rule_params)``. ``X`` is a C-contiguous float64
    2-D array, or a CSR matrix given as the tuple ``(data, indices, indptr,
    n_features)`` (float64, int32, int32); ``sample_weight`` may be None (all
    ones). ``y`` is (n, K) for K targets; ``theta`` is (K, d + 1): each
    target's coef and intercept. ``avg`` is (K, d + 2) when averaging
    (averaged coef, intercept, and the count of averaged iterates), else
    (0, 0); ``rule_state`` is (3, K * (d + 1)); ``q`` is (K * d,) for the
    PLAIN paths with an L1 penalty. ``theta``, ``avg``, ``rule_state`` and ``q``
    are updated in place, epoch by epoch; ``train_idx`` is shuffled in place.
    ``settings`` and ``rule_params`` are dicts with the fields of the
    ``Settings`` and ``RuleParams`` structs (descent._plan builds them).
    ``target_weights`` (K,), optional: what each target's loss and penalty
    count in the objectives reported (a fit in scaled target space reports
    the objective of the original targets); the steps do not depend on it.

    Raises ``ValueError`` for inconsistent arrays (every index the loops follow
    is checked here once) and ``MemoryError`` when a buffer cannot be had.
    """

    cdef Data D
    cdef Settings s
    cdef RuleParams rp
    cdef Buffers B
    cdef Progress P
    cdef unsigned long long rng
    cdef row_t[::1] train_idx
    cdef const row_t[::1] val_idx
    cdef void* local_raw
    cdef object arrays            # what D and B point into, kept alive
    cdef const double[::1] target_weights
    cdef readonly Py_ssize_t n_epochs
    cdef readonly bint finite           # every coefficient finite after the last epoch
    cdef readonly double last_objective

    def __cinit__(self, X, const double[:, ::1] y, const double[::1] sample_weight,
                  row_t[::1] train_idx, const row_t[::1] val_idx, double[:, ::1] theta,
                  double[:, ::1] avg, double[:, ::1] rule_state, double[::1] q,
                  Settings settings, RuleParams rule_params,
                  const double[::1] target_weights=None):
        self.s = settings
        self.rp = rule_params
        self.train_idx = train_idx
        self.val_idx = val_idx
        self.arrays = (X, y, sample_weight, theta, avg, rule_state, q, target_weights)
        self.n_epochs = 0
        self.finite = True
        self._set_data(X, y, sample_weight)
        if target_weights is not None and target_weights.shape[0] != self.D.K:
            raise ValueError("target_weights must have one entry per target")
        self.target_weights = target_weights
        self.D.tw = &target_weights[0] if target_weights is not None else NULL
        self._check(theta, avg, rule_state, q)
        self.B.theta = &theta[0, 0]
        self.B.avg = &avg[0, 0] if avg.shape[0] > 0 else NULL
        self.B.s0, self.B.s1, self.B.s2 = (&rule_state[0, 0], &rule_state[1, 0],
                                           &rule_state[2, 0])
        self.B.q = &q[0] if q.shape[0] > 0 else NULL
        self.P.eta, self.P.t, self.P.step = self.s.eta0, self.s.t, self.s.step
        self.P.u = self.s.u
        self.P.penalty_start = 0.0
        self.P.beta1_pow = pow(self.rp.beta1, self.s.step)
        self.P.beta2_pow = pow(self.rp.beta2, self.s.step)
        self.rng = self.s.seed
        # More threads than OpenMP has cores only oversubscribe (and a huge
        # count would exhaust the thread stacks).
        self.s.n_threads = max(1, min(self.s.n_threads, DESCENT_MAX_THREADS()))
        self._allocate()

    cdef _set_data(self, X, const double[:, ::1] y, const double[::1] sample_weight):
        cdef const double[:, ::1] X_dense
        cdef const double[::1] X_data
        cdef const int[::1] X_indices, X_indptr
        cdef Py_ssize_t j, d, n_rows
        cdef Data* D = &self.D
        D.sparse = isinstance(X, tuple)
        if D.sparse:
            X_data, X_indices, X_indptr, d = X
            n_rows = X_indptr.shape[0] - 1
            if X_indices.shape[0] != X_data.shape[0] or X_indptr[n_rows] > X_data.shape[0]:
                raise ValueError("inconsistent CSR arrays")
            if X_indptr[0] != 0:
                raise ValueError("CSR indptr must start at 0")
            for j in range(n_rows):
                if X_indptr[j + 1] < X_indptr[j]:
                    raise ValueError("CSR indptr must be non-decreasing")
            for j in range(X_indptr[n_rows]):
                if not 0 <= X_indices[j] < d:
                    raise ValueError("CSR column index out of range")
            D.X = NULL
            D.data = &X_data[0] if X_data.shape[0] > 0 else NULL
            D.indices = &X_indices[0] if X_indices.shape[0] > 0 else NULL
            D.indptr = &X_indptr[0]
        else:
            X_dense = X
            n_rows, d = X_dense.shape[0], X_dense.shape[1]
            D.X = &X_dense[0, 0] if n_rows > 0 and d > 0 else NULL
            D.data = D.indices = D.indptr = NULL
        if n_rows != y.shape[0] or (sample_weight is not None
                                    and y.shape[0] != sample_weight.shape[0]):
            raise ValueError("X, y and sample_weight must have the same length")
        if self.train_idx.shape[0] == 0 or d == 0 or y.shape[1] == 0:
            raise ValueError("no training samples or no features")
        D.n_rows, D.d, D.K = n_rows, d, y.shape[1]
        D.y = &y[0, 0]
        D.sw = &sample_weight[0] if sample_weight is not None else NULL
        D.ahead = prefetch_distance(d)

    cdef _check(self, double[:, ::1] theta, double[:, ::1] avg,
                double[:, ::1] rule_state, double[::1] q):
        cdef Py_ssize_t j, K = self.D.K, d = self.D.d, path = self.s.path
        if (theta.shape[0] != K or theta.shape[1] != d + 1 or rule_state.shape[0] != 3
                or rule_state.shape[1] != K * (d + 1)):
            raise ValueError("theta must be (K, n_features + 1), rule_state (3, K * (d + 1))")
        if avg.shape[0] != 0 and (avg.shape[0] != K or avg.shape[1] != d + 2):
            raise ValueError("avg has the wrong shape")
        if self.s.average_start > 0.0 and avg.shape[0] == 0:
            raise ValueError("averaging needs avg of shape (K, n_features + 2)")
        if (path in (PLAIN, HOGWILD_PLAIN) and self.s.penalty in (L1, ELASTICNET)
                and q.shape[0] != K * d):
            raise ValueError("the per-sample L1 penalty needs q of length K * n_features")
        if not PLAIN <= path <= HOGWILD_RULE:
            raise ValueError(f"unknown training path {path}")
        if path == LAZY and not self.D.sparse:
            raise ValueError("the LAZY path steps CSR rows")
        if path in (LAZY, HOGWILD_PLAIN, HOGWILD_RULE) and self.s.average_start > 0.0:
            raise ValueError("the LAZY and HOGWILD paths do not average")
        if path == MINI_BATCH and self.s.batch_size < 1:
            raise ValueError("MINI_BATCH needs batch_size >= 1")
        for j in range(self.train_idx.shape[0]):
            if not 0 <= self.train_idx[j] < self.D.n_rows:
                raise ValueError("train_idx out of range")
        for j in range(self.val_idx.shape[0]):
            if not 0 <= self.val_idx[j] < self.D.n_rows:
                raise ValueError("val_idx out of range")

    cdef _allocate(self):
        # The work buffers of this path, all freed in __dealloc__.
        cdef Py_ssize_t K = self.D.K, d = self.D.d, nth = self.s.n_threads
        cdef Py_ssize_t stride = (K * (d + 1) + 8) // 8 * 8
        cdef int path = self.s.path
        cdef Buffers* B = &self.B
        B.wscale = <double*>malloc(K * sizeof(double))
        B.dl = <double*>malloc(nth * K * sizeof(double))
        if B.wscale == NULL or B.dl == NULL:
            raise MemoryError("descent could not allocate its work buffers")
        # zeroed: CSR rows are scattered into it (and the gradient() probe)
        B.g = <double*>calloc(K * (d + 1), sizeof(double))
        B.gthreads = <double*>malloc(gradient_chunks(nth, stride) * stride
                                     * sizeof(double))
        if B.g == NULL or B.gthreads == NULL:
            raise MemoryError("descent could not allocate its work buffers")
        if path == LAZY or (is_hogwild(path) and self.D.sparse):
            B.lazy = <double*>malloc(6 * d * sizeof(double))
            if B.lazy == NULL:
                raise MemoryError("descent could not allocate its work buffers")
        if is_hogwild(path) and not self.D.sparse:
            self._allocate_thread_copies()
        if is_hogwild(path) and self.D.sparse:
            self._allocate_feature_shares()

    cdef _allocate_thread_copies(self):
        # Dense Hogwild!: per thread, loss, dloss (K), weight scales (K), model
        # copy, base and published change, and q (PLAIN) or the rule's state
        # and bases (loop_hogwild.pxd); each block whole cache lines apart.
        cdef Py_ssize_t K = self.D.K, d = self.D.d
        cdef Buffers* B = &self.B
        B.local_head = 8 + 2 * ((K + 7) // 8 * 8)
        B.local_stride = (B.local_head + (3 * K * (d + 1) + K * d if self.s.path == HOGWILD_PLAIN
                                          else 9 * K * (d + 1)) + 7) // 8 * 8
        self.local_raw = malloc((self.s.n_threads * B.local_stride + 8) * sizeof(double))
        if self.local_raw == NULL:
            raise MemoryError("descent could not allocate its work buffers")
        B.local = descent_align64(self.local_raw)

    cdef _allocate_feature_shares(self):
        # Sparse Hogwild!: feature j's share of the penalty per step that
        # touches it, n / n_j, and a gathered row per thread.
        cdef Py_ssize_t j, kk, n = self.train_idx.shape[0]
        cdef const int* indptr = self.D.indptr
        cdef Buffers* B = &self.B
        B.inv_freq = <double*>calloc(self.D.d, sizeof(double))
        if B.inv_freq == NULL:
            raise MemoryError("descent could not allocate its work buffers")
        B.max_nnz = 0
        for j in range(n):
            B.max_nnz = max(B.max_nnz, indptr[self.train_idx[j] + 1]
                            - indptr[self.train_idx[j]])
            for kk in range(indptr[self.train_idx[j]], indptr[self.train_idx[j] + 1]):
                B.inv_freq[self.D.indices[kk]] += 1.0
        for j in range(self.D.d):
            if B.inv_freq[j] > 0.0:
                B.inv_freq[j] = n / B.inv_freq[j]
        B.hog = <double*>malloc(self.s.n_threads * 5 * max(B.max_nnz, 1) * sizeof(double))
        if B.hog == NULL:
            raise MemoryError("descent could not allocate its work buffers")

    def __dealloc__(self):
        free(self.B.wscale)
        free(self.B.dl)
        free(self.B.g)
        free(self.B.gthreads)
        free(self.B.lazy)
        free(self.B.inv_freq)
        free(self.B.hog)
        free(self.local_raw)

    def epoch(self):
        """Run one epoch (shuffling first if asked); return its objective.

        The objective is the mean weighted loss of the epoch's samples (each
        at the model it met) plus the penalty at the end of the epoch, or, for
        FULL_BATCH, the exact objective at the start of its step. Sets
        ``finite`` to whether every coefficient is finite afterwards.
        """
        cdef Py_ssize_t j, n = self.train_idx.shape[0]
        cdef Py_ssize_t size = self.D.K * (self.D.d + 1)
        cdef double loss_sum, obj
        cdef unsigned long long fp_mode
        cdef bint finite = True
        with nogil:
            fp_mode = descent_flush_denormals()
            if self.s.shuffle:
                shuffle_indices(&self.train_idx[0], n, &self.rng)
            if self.D.sparse:
                loss_sum = run_loss(<SparseT*>NULL, &self.D, &self.s, &self.rp,
                                    &self.train_idx[0], n, &self.B, &self.P)
            else:
                loss_sum = run_loss(<DenseT*>NULL, &self.D, &self.s, &self.rp,
                                    &self.train_idx[0], n, &self.B, &self.P)
            if self.s.path == FULL_BATCH:
                obj = loss_sum / n + self.P.penalty_start
            else:
                obj = loss_sum / n + penalty_value(&self.s, self.B.theta, self.D.d,
                                                   self.D.K, self.D.d + 1, self.D.tw)
            for j in range(size):
                finite = finite and isfinite(self.B.theta[j])
            descent_restore_fp(fp_mode)
        self.n_epochs += 1
        self.finite = finite
        self.last_objective = obj
        return obj

    def divergence_reference(self):
        """The larger of the objectives of the zero model and of the current
        one on the training rows (an epoch far above it is diverging)."""
        cdef double ref
        cdef unsigned long long fp_mode
        with nogil:
            fp_mode = descent_flush_denormals()
            ref = divergence_reference(&self.D, &self.s, &self.train_idx[0],
                                       self.train_idx.shape[0], self.B.theta)
            descent_restore_fp(fp_mode)
        return ref

    def validation_score(self):
        """R^2 of the current model on the validation rows (mean over targets)."""
        cdef double score
        cdef unsigned long long fp_mode
        if self.val_idx.shape[0] == 0:
            raise ValueError("no validation rows")
        with nogil:
            fp_mode = descent_flush_denormals()
            score = r2_score_rows(&self.D, &self.val_idx[0], self.val_idx.shape[0],
                                  self.B.theta)
            descent_restore_fp(fp_mode)
        return score

    def validation_loss(self):
        """The mean weighted loss of the current model on the validation rows."""
        cdef double value
        if self.val_idx.shape[0] == 0:
            raise ValueError("no validation rows")
        with nogil:
            value = mean_loss_at(&self.D, &self.s, &self.val_idx[0], self.val_idx.shape[0],
                                 self.B.theta)
        return value

    def gradient(self, double[:, ::1] out):
        """The gradient of the mean weighted loss at the current model over
        the training rows into ``out`` (K, d + 1), without the penalty; return
        that mean loss (each target's counted ``target_weights`` times, its
        gradient not)."""
        cdef Py_ssize_t j, n = self.train_idx.shape[0], size = self.D.K * (self.D.d + 1)
        cdef double loss_sum
        cdef unsigned long long fp_mode
        cdef Settings s = self.s
        if out.shape[0] != self.D.K or out.shape[1] != self.D.d + 1:
            raise ValueError("out must be (K, n_features + 1)")
        s.path = GRADIENT
        with nogil:
            fp_mode = descent_flush_denormals()
            if self.D.sparse:
                loss_sum = run_loss(<SparseT*>NULL, &self.D, &s, &self.rp,
                                    &self.train_idx[0], n, &self.B, &self.P)
            else:
                loss_sum = run_loss(<DenseT*>NULL, &self.D, &s, &self.rp,
                                    &self.train_idx[0], n, &self.B, &self.P)
            for j in range(size):
                (&out[0, 0])[j] = self.B.g[j] / n
                self.B.g[j] = 0.0          # zeroed again for the CSR scatter
            descent_restore_fp(fp_mode)
        return loss_sum / n

    def objective(self, const double[:, ::1] theta=None):
        """The training objective (mean weighted loss plus penalty) of
        ``theta`` (K, d + 1), by default the current model, exactly."""
        cdef double value
        cdef const double* th = self.B.theta
        cdef unsigned long long fp_mode
        if theta is not None:
            if theta.shape[0] != self.D.K or theta.shape[1] != self.D.d + 1:
                raise ValueError("theta must be (K, n_features + 1)")
            th = &theta[0, 0]
        with nogil:
            fp_mode = descent_flush_denormals()
            value = objective_at(&self.D, &self.s, &self.train_idx[0],
                                 self.train_idx.shape[0], th)
            descent_restore_fp(fp_mode)
        return value

    def curvature(self, const double[:, ::1] direction):
        """Per target, the mean weighted square of the model's change in
        prediction along ``direction`` (K, d + 1): a squared loss's curvature
        along it."""
        if direction.shape[0] != self.D.K or direction.shape[1] != self.D.d + 1:
            raise ValueError("direction must be (K, n_features + 1)")
        out = np.zeros(self.D.K)
        cdef double[::1] o = out
        with nogil:
            curvature(&self.D, &self.train_idx[0], self.train_idx.shape[0],
                      &direction[0, 0], &o[0])
        return out

    def hessian_vector(self, const double[:, ::1] v, double[:, ::1] out):
        """``out`` = a squared loss's Hessian on the training rows times ``v``
        (both (K, d + 1)): one pass."""
        cdef Py_ssize_t K = self.D.K, d = self.D.d
        if v.shape[0] != K or v.shape[1] != d + 1 or out.shape[0] != K or out.shape[1] != d + 1:
            raise ValueError("v and out must be (K, n_features + 1)")
        with nogil:
            hessian_vector(&self.D, &self.train_idx[0], self.train_idx.shape[0], &v[0, 0],
                           &out[0, 0])

    @property
    def u(self):
        """The cumulative L1 penalty's running total (PLAIN paths)."""
        return self.P.u

    @property
    def t(self):
        """scikit-learn's ``t_``: samples seen + 1."""
        return self.P.t

    @property
    def step(self):
        """Updates of the optimizer made so far."""
        return self.P.step

    @property
    def eta(self):
        """The current learning rate (what the adaptive schedule divides)."""
        return self.P.eta

    @eta.setter
    def eta(self, double value):
        self.P.eta = value


# ---------------------------------------------------------------------------
# descent.optim's step.

# Return codes of OptimStep.step (descent.optim words the errors; the failing
# array's index is in OptimStep.failed).
cpdef enum StepCode:
    STEP_OK = 0
    STEP_GRAD_NONFINITE = 1    # grad holds NaN or infinity
    STEP_GRAD_TOO_BIG = 2      # |grad| >= max_grad: its square overflows
    STEP_PARAMS_NONFINITE = 3
    STEP_PARAMS_LAYOUT = 4     # params is not a writeable C-contiguous float64 ndarray
    STEP_GRAD_LAYOUT = 5       # grad needs converting (dtype, layout, overlap with params)
    STEP_SHAPE = 6             # grad's shape is not params'
    STEP_STATE = 7             # the state does not match params' size

# At least this many coordinates in a call release the GIL.
DEF NOGIL_MIN = 8192

cdef struct Operand:
    double* w
    const double* g       # NULL: the array is skipped (its grad is None)
    double* s             # the state: 3 rows of n
    Py_ssize_t n
    double step
    int held              # bit b set: view b (params, grad, state) to release


cdef inline bint is_f64(const Py_buffer* view) noexcept:
    return (view.itemsize == 8 and view.format != NULL and view.format[0] == 100
            and view.format[1] == 0)                # b"d": native float64


cdef int get_view(object obj, Py_buffer* view, int flags, Operand* op, int bit):
    # The buffer of an exact ndarray of native float64, C-contiguous (and
    # writeable if asked); 0 if it has none (the caller returns its code and
    # descent.optim's slower path words the error or converts).
    if type(obj) is not ndarray:
        return 0
    try:
        PyObject_GetBuffer(obj, view, flags | PyBUF_FORMAT | PyBUF_C_CONTIGUOUS)
    except Exception:
        return 0
    op.held |= bit
    return is_f64(view)


cdef int acquire(object p, object g, object st, Py_buffer* v, Operand* op):
    cdef int d
    if not get_view(p, &v[0], PyBUF_WRITABLE, op, 1):
        return STEP_PARAMS_LAYOUT
    op.w = <double*>v[0].buf
    op.n = v[0].len // 8
    if g is None:
        return STEP_OK
    if not get_view(g, &v[1], 0, op, 2):
        return STEP_GRAD_LAYOUT
    if v[1].ndim != v[0].ndim:
        return STEP_SHAPE
    for d in range(v[0].ndim):
        if v[1].shape[d] != v[0].shape[d]:
            return STEP_SHAPE
    if not get_view(st, &v[2], PyBUF_WRITABLE, op, 4) or v[2].len != 3 * v[0].len:
        return STEP_STATE
    op.g = <const double*>v[1].buf
    op.s = <double*>v[2].buf
    return STEP_OK


cdef class OptimStep:
    """One update rule with its hyper-parameters converted once: descent.optim
    builds it when they change and calls ``step`` at every step.

    ``step`` scans every array of the call for bad values (grad NaN, infinite
    or of magnitude >= ``max_grad``; params NaN or infinite) before it writes
    anything, then updates each array in one pass (kernel/optim_pass.pxd).
    On a bad value it returns its code and changes nothing.
    """
    cdef RuleParams rp
    cdef readonly double max_grad
    cdef readonly Py_ssize_t failed

    def __cinit__(self, RuleParams rule_params, double max_grad):
        self.rp = rule_params
        self.max_grad = max_grad
        self.failed = -1

    def step(self, double lr, list params, list grads, list states,
             double[::1] steps, int mode=0):
        """Step ``params[i]`` (writeable C-contiguous float64 ndarrays) by
        ``grads[i]`` (C-contiguous float64 ndarrays of the same shape, or None
        to skip the array) with ``states[i]`` ((3, params[i].size) float64) at
        step count ``steps[i] + 1``; on success ``steps[i]`` is incremented.
        ``mode`` 0 scans every array, then updates them; 1 only scans (the
        groups of an optimizer are all scanned before any is updated); 2 only
        updates (after mode 1, or to measure the pass alone). Returns a
        ``StepCode``; ``failed`` is then the index of the array."""
        cdef Py_ssize_t i, k = len(params), total = 0
        cdef int b
        cdef Py_buffer* views
        cdef Operand* ops
        cdef int code = STEP_OK
        if len(grads) != k or len(states) != k or steps.shape[0] != k:
            raise ValueError("params, grads, states and steps must have the same length")
        self.failed = -1
        # one block: 3 buffer views and one operand per array
        views = <Py_buffer*>calloc(3 * k + 1, sizeof(Py_buffer))
        ops = <Operand*>calloc(k + 1, sizeof(Operand))
        if views == NULL or ops == NULL:
            free(views)
            free(ops)
            raise MemoryError()
        try:
            for i in range(k):
                code = acquire(params[i], grads[i], states[i], &views[3 * i], &ops[i])
                if code != STEP_OK:
                    self.failed = i
                    return code
                ops[i].step = steps[i] + 1.0
                total += ops[i].n
            if self._overlaps(ops, k):
                return STEP_GRAD_LAYOUT
            if total >= NOGIL_MIN:
                with nogil:
                    code = self._run(lr, ops, k, mode)
            else:
                code = self._run(lr, ops, k, mode)
            if code == STEP_OK and mode != 1:
                for i in range(k):
                    if ops[i].g != NULL:
                        steps[i] += 1.0
            return code
        finally:
            for i in range(k):
                for b in range(3):
                    if ops[i].held & (1 << b):
                        PyBuffer_Release(&views[3 * i + b])
            free(views)
            free(ops)

    cdef bint _overlaps(self, const Operand* ops, Py_ssize_t k) noexcept:
        # A grad whose memory overlaps a params array of the call would be
        # read after that array was written: descent.optim copies it. (A
        # grad that is exactly its own params is read before each write.)
        cdef Py_ssize_t i, j
        for i in range(k):
            if ops[i].g == NULL or ops[i].n == 0:
                continue
            for j in range(k):
                if ops[j].g == NULL or ops[j].n == 0 or (i == j and ops[i].g == ops[i].w):
                    continue
                if ops[i].g < ops[j].w + ops[j].n and ops[j].w < ops[i].g + ops[i].n:
                    self.failed = i
                    return True
        return False

    cdef int _run(self, double lr, const Operand* ops, Py_ssize_t k,
                  int mode) noexcept nogil:
        cdef Py_ssize_t i
        cdef int code
        cdef StepScalars sc
        if mode != 2:
            for i in range(k):
                if ops[i].g != NULL and ops[i].n > 0:
                    code = scan_inputs(ops[i].w, ops[i].g, ops[i].n, self.max_grad)
                    if code != SCAN_OK:
                        self.failed = i
                        return code
        if mode == 1:
            return STEP_OK
        for i in range(k):
            if ops[i].g == NULL or ops[i].n == 0:
                continue
            sc = step_scalars(&self.rp, lr, ops[i].step,
                              pow(self.rp.beta1, ops[i].step),
                              pow(self.rp.beta2, ops[i].step))
            update_pass(&self.rp, &sc, ops[i].w, ops[i].g, ops[i].s, ops[i].s + ops[i].n,
                        ops[i].s + 2 * ops[i].n, ops[i].n)
        return STEP_OK


# ---------------------------------------------------------------------------
# py_* wrappers: the tests check the layers through them.

def py_loss(int kind, const double[::1] y, const double[::1] p, double epsilon=0.1):
    """Element-wise loss value of ``kind`` (a ``Loss``)."""
    cdef Py_ssize_t i, n = y.shape[0]
    cdef double dloss
    out = np.empty(n)
    cdef double[::1] o = out
    for i in range(n):
        o[i] = any_loss_grad(kind, y[i], p[i], epsilon, &dloss)
    return out


def py_dloss(int kind, const double[::1] y, const double[::1] p, double epsilon=0.1):
    """Element-wise derivative of the loss with respect to the prediction."""
    cdef Py_ssize_t i, n = y.shape[0]
    out = np.empty(n)
    cdef double[::1] o = out
    for i in range(n):
        any_loss_grad(kind, y[i], p[i], epsilon, &o[i])
    return out


def py_penalty(int kind, const double[::1] w, double alpha, double l1_ratio=0.15):
    """Value of the penalty ``kind`` (a ``Penalty``) at w."""
    cdef Settings s
    s.penalty = kind
    s.alpha = alpha
    s.l1_ratio = l1_ratio
    return penalty_value(&s, &w[0], w.shape[0], 1, w.shape[0], NULL)


def py_rule_step(RuleParams rule_params, double lr, double step, double[::1] w,
                 const double[::1] src, double c, double l1, double[:, ::1] state):
    """One rule step of w for the gradient c * src, then the L1 proximal step
    with threshold l1 times each coordinate's step size (rules.rule_step)."""
    cdef Py_ssize_t n = w.shape[0]
    if src.shape[0] != n or state.shape[1] != n or state.shape[0] != 3 or n == 0:
        raise ValueError("w, src and state must have the same, non-zero length")
    cdef StepScalars sc = step_scalars(&rule_params, lr, step,
                                       pow(rule_params.beta1, step),
                                       pow(rule_params.beta2, step))
    rule_step(&rule_params, &sc, &w[0], &src[0], c, l1, &state[0, 0], &state[1, 0],
              &state[2, 0], n)


def py_lazy_skip(RuleParams rule_params, double l1, bint constant_lr,
                 const double[::1] lrs, double step0, double[::1] w,
                 double[:, ::1] state):
    """Skip len(lrs) steps with a zero data gradient on every coordinate of w,
    the lazy way (accumulators, then one catch-up each); return the lazy kind
    (lazy.pxd: LAZY_SGD 0, LAZY_MOMENTUM 1, LAZY_DECAY 2, LAZY_ADAGRAD 3,
    LAZY_FROZEN 4)."""
    cdef Py_ssize_t j, k, d = w.shape[0]
    cdef double step
    cdef StepScalars sc
    cdef Lazy L
    if state.shape[0] != 3 or state.shape[1] != d or d == 0 or lrs.shape[0] == 0:
        raise ValueError("state must be (3, len(w)); w and lrs non-empty")
    cdef double[::1] buf = np.zeros(6 * d)
    lazy_init(&L, &rule_params, l1, constant_lr, &buf[0], d)
    for k in range(lrs.shape[0]):
        step = step0 + k + 1.0
        sc = step_scalars(&rule_params, lrs[k], step, pow(rule_params.beta1, step),
                          pow(rule_params.beta2, step))
        lazy_advance(&L, &sc, lazy_factor(&L, &rule_params, &sc))
    for j in range(d):
        lazy_catch_up(&L, &rule_params, &sc, j, &w[0], &state[0, 0], &state[1, 0],
                      &state[2, 0])
    return L.kind


def py_struct_fields():
    """The field names of the Settings and RuleParams structs, in order (the
    tests hold them against descent._plan and the .pyi stubs)."""
    cdef Settings s
    cdef RuleParams rp
    memset(&s, 0, sizeof(s))
    memset(&rp, 0, sizeof(rp))
    settings, rule_params = s, rp
    return {"Settings": list(settings), "RuleParams": list(rule_params)}
