# The compiled module of descent: the Workspace a training call runs its
# epochs in (the switch on the training path is kernel/paths.pxd); included at
# the end, descent.optim's step (kernel/optim_step.pxi) and the py_* wrappers
# through which the tests reach the layers (kernel/py_wrappers.pxi).
#
# The layers live in src/descent/kernel/ as .pxd files of `cdef inline`
# functions, compiled into this one module (docs/architecture.md):
#   platform -> (types: _kernels.pxd) -> rows -> losses, penalties -> rules
#   -> lazy -> evaluate, loop_plain, loop_rule, loop_lazy, loop_hogwild -> paths.
# Every helper is `noexcept nogil`; an epoch runs with the GIL released.
# Directives (boundscheck, wraparound, cdivision, ...) come from CMake and the
# build type, never from these files.

from cpython.buffer cimport (
    PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer,
)
from libc.math cimport INFINITY, isfinite, pow
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memset

from descent.kernel.evaluate cimport (
    accuracy_rows, divergence_reference, hessian_vector, mean_loss_at, objective_at,
    r2_score_rows,
)
from descent.kernel.lazy cimport Lazy, lazy_advance, lazy_catch_up, lazy_factor, lazy_init
from descent.kernel.optim_pass cimport SCAN_OK, scan_inputs, update_pass
from descent.kernel.loop_plain cimport norms_start
from descent.kernel.loop_rule cimport gradient_chunks, gradient_stride
from descent.kernel.elementary cimport exp_nonpositive, log1p_unit
from descent.kernel.losses cimport any_loss_grad, softmax_loss_grad
from descent.kernel.paths cimport is_hogwild, run_layout
from descent.kernel.penalties cimport penalty_value
from descent.kernel.platform cimport (
    DESCENT_BUILD_TYPE, DESCENT_HAVE_OPENMP, DESCENT_MAX_THREADS, DESCENT_SIMD, descent_align64,
    descent_calloc_large, descent_cpu_runs, descent_flush_denormals, descent_restore_fp,
)
from descent.kernel.feature_major cimport copy_layout, feature_stride
from descent.kernel.rows cimport (
    csr_increasing, indices_within, prefetch_distances, prefetch_model, shuffle_indices,
)
from descent.kernel.rules cimport StepScalars, rule_step, step_scalars

import numpy as np

# Workspace._reads_by_feature: the copy of a model feature-major pays once
# the rows evaluated hold a non-zero for every FEATURE_MAJOR_READS features
# (about even at 5: its comment).
cdef enum:
    FEATURE_MAJOR_READS = 4

from numpy import ndarray

OPENMP = bool(DESCENT_HAVE_OPENMP)
BUILD_TYPE = DESCENT_BUILD_TYPE.decode()
SIMD = DESCENT_SIMD.decode()     # the CPU variant compiled here (descent/_simd.py)


def cpu_runs(int level):
    """Whether this CPU and OS run the kernel variant of that level: 0 the
    baseline, 1 AVX2 with FMA, 2 AVX-512 (F, DQ, VL)."""
    return bool(descent_cpu_runs(level))


def max_threads():
    """The most threads a kernel runs on: the processors OpenMP sees (1 in a
    build without OpenMP)."""
    return DESCENT_MAX_THREADS()


cdef class Workspace:
    """One training call: the rows, the model, and the work buffers its path needs.

    ``Workspace(X, y, sample_weight, train_idx, val_idx, theta, avg,
    rule_state, q, settings, rule_params)``. ``X`` is a C-contiguous float64
    2-D array, or a CSR matrix given as the tuple ``(data, indices, indptr,
    n_features)`` (float64, int32, int32); ``sample_weight`` may be None (all
    ones). ``y`` is (n, K) for K targets, or for K >= 2 classes the tuple
    ``(classes, K, rest)``: the class of each row (int32 in [0, K)), target
    t being 1 where it is t and ``rest`` elsewhere (-1 one-vs-rest, 0 the
    softmax's one-hot). ``theta`` is (K, d + 1): each
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
    ``class_weights`` (K, 2), optional: per target, what its loss counts on
    samples with y <= 0 and with y > 0 (one-vs-rest class weights; not with
    the softmax, whose class weights are sample weights).

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
    cdef void* by_feature_raw
    cdef object arrays            # what D and B point into, kept alive
    cdef const double[::1] target_weights
    cdef const double[:, ::1] class_weights
    cdef const double[::1] rates          # what P.rates points into (RATES)
    cdef readonly Py_ssize_t n_epochs
    cdef readonly bint finite           # every coefficient finite after the last epoch
    cdef readonly double last_objective
    cdef readonly double last_loss         # the epoch's mean loss (no penalty)
    cdef readonly double divergence_objective

    def __cinit__(self, X, y, const double[::1] sample_weight,
                  row_t[::1] train_idx, const row_t[::1] val_idx, double[:, ::1] theta,
                  double[:, ::1] avg, double[:, ::1] rule_state, double[::1] q,
                  Settings settings, RuleParams rule_params,
                  const double[::1] target_weights=None,
                  const double[:, ::1] class_weights=None):
        self.s = settings
        self.rp = rule_params
        self.train_idx = train_idx
        self.val_idx = val_idx
        self.arrays = (X, y, sample_weight, theta, avg, rule_state, q, target_weights,
                       class_weights)
        self.n_epochs = 0
        self.finite = True
        set_data(self, X, y, sample_weight)
        if target_weights is not None and target_weights.shape[0] != self.D.K:
            raise ValueError("target_weights must have one entry per target")
        self.target_weights = target_weights
        self.D.tw = &target_weights[0] if target_weights is not None else NULL
        if class_weights is not None and (class_weights.shape[0] != self.D.K
                                          or class_weights.shape[1] != 2):
            raise ValueError("class_weights must be (K, 2)")
        if class_weights is not None and self.s.loss == SOFTMAX:
            raise ValueError("the softmax takes class weights as sample weights")
        if self.s.loss == SOFTMAX and self.D.K < 2:
            raise ValueError("the softmax needs two targets or more")
        if not SQUARED_ERROR <= self.s.loss <= SOFTMAX:
            raise ValueError(f"unknown loss {self.s.loss}")
        self.class_weights = class_weights
        self.D.cw = &class_weights[0, 0] if class_weights is not None else NULL
        check_buffers(self, theta, avg, rule_state, q)
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
        self.P.rates, self.P.rates_first, self.P.n_rates = NULL, 0.0, 0
        self.rng = self.s.seed
        # More threads than OpenMP has cores only oversubscribe (and a huge
        # count would exhaust the thread stacks).
        self.s.n_threads = max(1, min(self.s.n_threads, DESCENT_MAX_THREADS()))
        self._allocate()

    cdef _allocate(self):
        # The work buffers of this path, all freed in __dealloc__.
        cdef Py_ssize_t tt, K = self.D.K, d = self.D.d, nth = self.s.n_threads
        cdef Py_ssize_t stride = gradient_stride(K, d)
        cdef int path = self.s.path
        cdef Buffers* B = &self.B
        B.wscale = <double*>malloc(K * sizeof(double))
        B.dl = <double*>malloc(nth * K * sizeof(double))
        B.work = <double*>malloc(5 * K * sizeof(double))
        if B.wscale == NULL or B.dl == NULL or B.work == NULL:
            raise MemoryError("descent could not allocate its work buffers")
        # zeroed: CSR rows are scattered into it (and the gradient() probe)
        B.g = <double*>calloc(K * (d + 1), sizeof(double))
        B.gthreads = <double*>malloc(gradient_chunks(nth, stride) * stride
                                     * sizeof(double))
        if B.g == NULL or B.gthreads == NULL:
            raise MemoryError("descent could not allocate its work buffers")
        self._allocate_by_feature()
        if path == PLAIN:       # the running penalty's norms, from the start point
            B.norms = <Norms*>malloc(K * sizeof(Norms))
            if B.norms == NULL:
                raise MemoryError("descent could not allocate its work buffers")
            for tt in range(K):
                norms_start(&B.norms[tt], B.theta + tt * (d + 1), d)
        if path == PLAIN and self.s.average_start > 0.0:
            B.avg_ab = <double*>malloc(3 * K * sizeof(double))
            if B.avg_ab == NULL:
                raise MemoryError("descent could not allocate its work buffers")
        if path == LAZY or (is_hogwild(path) and self.D.sparse):
            B.lazy = <double*>malloc(7 * d * sizeof(double))
            if B.lazy == NULL:
                raise MemoryError("descent could not allocate its work buffers")
        if is_hogwild(path) and not self.D.sparse:
            self._allocate_thread_copies()
        if is_hogwild(path) and self.D.sparse:
            self._allocate_feature_shares()

    cdef _allocate_by_feature(self):
        # The model (and q, or the rule's state) feature-major for the epochs
        # of several targets on CSR rows (kernel/feature_major.pxd), zeroed
        # (the padding is read by the weight scale's fold): PLAIN (d + 1)
        # runs, then d runs of q for L1; LAZY (d + 1) blocks of 4 runs. Only
        # for epochs whose non-zeros outweigh copying the model in and out:
        # measured, 20 classes of 100,000 features, lazy Adam on 200 rows of
        # 20 non-zeros took 208 ms with the copy, 115 without; 20,000 rows
        # 2.1 s, 2.8 s.
        cdef Py_ssize_t K = self.D.K, d = self.D.d, S, size, nnz
        cdef int path = self.s.path
        if not self.D.sparse or K == 1:
            return
        # an epoch's non-zeros (its rows' mean times its rows)
        nnz = self.D.indptr[self.D.n_rows] // max(1, self.D.n_rows) * self.train_idx.shape[0]
        if not ((path == LAZY and nnz >= 2 * (d + 1))
                or (path == PLAIN and self.s.average_start == 0.0 and nnz >= d + 1)):
            return
        S = feature_stride(K)
        size = ((d + 1) * S + (S * d if self.s.penalty in (L1, ELASTICNET) else 0)
                if path == PLAIN else (d + 1) * 4 * S)
        self.by_feature_raw = descent_calloc_large(size + 8, sizeof(double))
        if self.by_feature_raw == NULL:
            raise MemoryError("descent could not allocate its work buffers")
        self.B.by_feature = descent_align64(self.by_feature_raw)

    cdef _allocate_thread_copies(self):
        # Dense Hogwild!: per thread, loss, dloss (K), weight scales (K), model
        # copy, base and published change, and q (PLAIN) or the rule's state
        # and bases (loop_hogwild.pxd); each block whole cache lines apart.
        cdef Py_ssize_t K = self.D.K, d = self.D.d
        cdef Buffers* B = &self.B
        B.local_head = 8 + 2 * ((K + 7) // 8 * 8)
        B.local_stride = (B.local_head + (3 * K * (d + 1) + K * d if self.s.path == HOGWILD_PLAIN
                                          else 9 * K * (d + 1)) + 7) // 8 * 8
        B.local_row = 0
        if self.D.single:      # a float32 row widened to float64, per thread
            B.local_row = B.local_stride
            B.local_stride += (d + 7) // 8 * 8
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
        free(self.B.work)
        free(self.B.g)
        free(self.B.gthreads)
        free(self.B.lazy)
        free(self.B.avg_ab)
        free(self.B.norms)
        free(self.B.per_target)
        free(self.by_feature_raw)
        free(self.B.inv_freq)
        free(self.B.hog)
        free(self.local_raw)

    def epoch(self):
        """Run one epoch (shuffling first if asked); return its objective.

        The objective is the mean weighted loss of the epoch's samples (each
        at the model it met) plus, for PLAIN, the mean penalty of those models
        (scikit-learn's running objective, kernel/loop_plain.pxd), for the
        other per-sample and mini-batch paths, the penalty at the end of the
        epoch, or, for FULL_BATCH, the exact objective at the start of its
        step. ``divergence_objective`` is set to the mean loss plus the
        penalty at the end of the epoch (FULL_BATCH: the objective). Sets
        ``finite`` to whether every coefficient is finite afterwards.
        """
        cdef Py_ssize_t j, n = self.train_idx.shape[0]
        cdef Py_ssize_t size = self.D.K * (self.D.d + 1)
        cdef double loss_sum, obj, end
        cdef unsigned long long fp_mode
        cdef bint finite = True
        if self.s.schedule == RATES and not self._rates_cover_epoch():
            raise ValueError("the RATES schedule needs set_rates(rates) before each "
                             "epoch: the rates of its updates, from next_update on")
        with nogil:
            fp_mode = descent_flush_denormals()
            if self.s.shuffle:
                shuffle_indices(&self.train_idx[0], n, &self.rng)
            loss_sum = run_layout(&self.D, &self.s, &self.rp, &self.train_idx[0], n,
                                  &self.B, &self.P)
            if self.s.path == FULL_BATCH:
                obj = end = loss_sum / n + self.P.penalty_start
            else:
                obj = end = loss_sum / n + penalty_value(&self.s, self.B.theta, self.D.d,
                                                         self.D.K, self.D.d + 1, self.D.tw)
                if self.s.path == PLAIN:    # scikit-learn's running penalty (loop_plain.pxd)
                    obj = (loss_sum + self.P.penalty_sum) / n
            for j in range(size):
                finite = finite and isfinite(self.B.theta[j])
            descent_restore_fp(fp_mode)
        self.n_epochs += 1
        self.finite = finite
        self.last_objective = obj
        self.last_loss = loss_sum / n if n > 0 else 0.0
        self.divergence_objective = end
        return obj

    def track_targets(self):
        """Have the PLAIN path's epochs with K > 1 targets also sum each
        target's running objective (``target_objectives``), for targets
        stopped one by one as scikit-learn's one-vs-rest binary fits."""
        if self.s.path != PLAIN or self.D.K < 2:
            raise ValueError("per-target objectives need the PLAIN path and two "
                             "targets or more")
        if self.B.per_target == NULL:
            self.B.per_target = <double*>calloc(2 * self.D.K, sizeof(double))
            if self.B.per_target == NULL:
                raise MemoryError("descent could not allocate its work buffers")

    def target_objectives(self):
        """Each target's running objective of the last epoch (K,), its
        weighted losses and penalties as ``epoch``'s (without target weights);
        after ``track_targets``."""
        cdef Py_ssize_t tt, K = self.D.K
        if self.B.per_target == NULL:
            raise ValueError("target_objectives needs track_targets first")
        n = self.train_idx.shape[0]
        return np.array([(self.B.per_target[tt] + self.B.per_target[K + tt]) / n
                         for tt in range(K)])

    def divergence_reference(self):
        """The larger of the objectives of the zero model and of the current
        one on the training rows (an epoch far above it is diverging)."""
        cdef double ref
        cdef unsigned long long fp_mode
        with nogil:
            fp_mode = descent_flush_denormals()
            ref = divergence_reference(&self.D, &self.s, &self.train_idx[0],
                                       self.train_idx.shape[0], self.B.theta, self.B.work)
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

    def validation_accuracy(self):
        """The weighted accuracy of the current model (a classifier's targets)
        on the validation rows."""
        cdef double score
        if self.val_idx.shape[0] == 0:
            raise ValueError("no validation rows")
        cdef const double* W = self._feature_major(self.val_idx, self.B.theta)
        with nogil:
            score = accuracy_rows(&self.D, &self.val_idx[0], self.val_idx.shape[0],
                                  self.B.theta, self.B.work, W, feature_stride(self.D.K))
        return score

    def validation_loss(self):
        """The mean weighted loss of the current model on the validation rows."""
        cdef double value
        if self.val_idx.shape[0] == 0:
            raise ValueError("no validation rows")
        cdef const double* W = self._feature_major(self.val_idx, self.B.theta)
        with nogil:
            value = mean_loss_at(&self.D, &self.s, &self.val_idx[0], self.val_idx.shape[0],
                                 self.B.theta, self.B.work, W, feature_stride(self.D.K))
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
            loss_sum = run_layout(&self.D, &s, &self.rp, &self.train_idx[0], n, &self.B,
                                  &self.P)
            for j in range(size):
                (&out[0, 0])[j] = self.B.g[j] / n
                self.B.g[j] = 0.0          # zeroed again for the CSR scatter
            descent_restore_fp(fp_mode)
        return loss_sum / n

    def objective(self, const double[:, ::1] theta=None, Py_ssize_t max_rows=-1):
        """The training objective (mean weighted loss plus penalty) of
        ``theta`` (K, d + 1), by default the current model, exactly; with
        ``max_rows`` >= 1, on at most that many training rows, every
        ``ceil(n / max_rows)``-th of the current order (a full-batch order
        is the data's: its first rows can be one class of class-sorted
        data)."""
        cdef double value
        cdef const double* th = self.B.theta
        cdef unsigned long long fp_mode
        cdef const row_t[::1] rows = self._spread_rows(self.train_idx, max_rows)
        if theta is not None:
            if theta.shape[0] != self.D.K or theta.shape[1] != self.D.d + 1:
                raise ValueError("theta must be (K, n_features + 1)")
            th = &theta[0, 0]
        cdef const double* W = self._feature_major(rows, th)
        with nogil:
            fp_mode = descent_flush_denormals()
            value = objective_at(&self.D, &self.s, &rows[0], rows.shape[0], th, self.B.work,
                                 W, feature_stride(self.D.K))
            descent_restore_fp(fp_mode)
        return value

    def evaluates_by_feature(self, Py_ssize_t max_rows=-1, bint validation=False):
        """Whether ``objective(max_rows=max_rows)`` (``validation``: the
        validation scores) reads the model from its feature-major copy."""
        return self._reads_by_feature(
            self._spread_rows(self.val_idx if validation else self.train_idx, max_rows))

    cdef const row_t[::1] _spread_rows(self, const row_t[::1] rows, Py_ssize_t max_rows):
        # rows, or with 1 <= max_rows < their number every ceil(n / max_rows)-th.
        cdef Py_ssize_t n = rows.shape[0]
        if 1 <= max_rows < n:
            return np.ascontiguousarray(np.asarray(rows)[::-(-n // max_rows)])
        return rows

    cdef const double* _feature_major(self, const row_t[::1] rows, const double* th):
        # The model th copied feature-major into B.by_feature (scratch between
        # epochs: each copies its own model in first) for an evaluation on
        # rows where _reads_by_feature, else NULL.
        if not self._reads_by_feature(rows):
            return NULL
        with nogil:
            copy_layout(<double*>th, self.B.by_feature, self.D.K, self.D.d + 1,
                        feature_stride(self.D.K), True)
        return self.B.by_feature

    cdef bint _reads_by_feature(self, const row_t[::1] rows):
        # Whether an evaluation on the rows (CSR, several targets) reads the
        # model from its feature-major copy (_feature_major): where their
        # non-zeros pay for the copy. Stored target-major, each
        # non-zero is K scattered reads: the end-of-fit check on 4096
        # shuffled rows of 20 classes (50 non-zeros a row) took 118 ms at
        # 100,000 features, 49 ms with the copy; at 1,000,000 features 127 ms
        # and 111 ms, about even (medians of 7 interleaved, AMD EPYC VM, a
        # test suite running beside).
        cdef Py_ssize_t k, i, nnz = 0
        if self.B.by_feature == NULL:
            return False
        for k in range(rows.shape[0]):
            i = rows[k]
            nnz += self.D.indptr[i + 1] - self.D.indptr[i]
        return nnz * FEATURE_MAJOR_READS >= self.D.d + 1

    def hessian_vector(self, const double[:, ::1] v, double[:, ::1] out):
        """``out`` = the Gauss-Newton matrix of the mean weighted loss at the
        current model times ``v`` (both (K, d + 1)), the losses whose
        derivative jumps taken as the squared loss (evaluate.pxd): one pass."""
        cdef Py_ssize_t K = self.D.K, d = self.D.d
        if v.shape[0] != K or v.shape[1] != d + 1 or out.shape[0] != K or out.shape[1] != d + 1:
            raise ValueError("v and out must be (K, n_features + 1)")
        with nogil:
            hessian_vector(&self.D, &self.s, &self.train_idx[0], self.train_idx.shape[0],
                           self.B.theta, &v[0, 0], &out[0, 0], self.B.work)

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
        """The current learning rate: what the adaptive schedule divides, and
        a per-epoch schedule sets before each epoch (the CONSTANT schedule
        keeps it); after an epoch, the step of its last update."""
        return self.P.eta

    @eta.setter
    def eta(self, double value):
        self.P.eta = value

    @property
    def next_update(self):
        """The 0-based count of the next update (t - 1 on the PLAIN paths,
        whose count is t, the samples seen plus one; the optimizer's step
        count on the others): the step count of a per-update schedule."""
        if self.s.path == PLAIN or self.s.path == HOGWILD_PLAIN:
            return <Py_ssize_t>(self.P.t - 1.0)
        return <Py_ssize_t>self.P.step

    @property
    def updates_per_epoch(self):
        """The updates one epoch makes: a sample's each per-sample path, a
        mini-batch's each with MINI_BATCH, one with FULL_BATCH."""
        cdef Py_ssize_t n = self.train_idx.shape[0]
        if self.s.path == FULL_BATCH:
            return 1
        if self.s.path == MINI_BATCH:
            return (n + self.s.batch_size - 1) // self.s.batch_size
        return n

    def set_rates(self, const double[::1] rates not None):
        """The learning rates of the next epoch's updates (the RATES schedule):
        ``rates[k]`` is the step of update ``next_update + k`` (0-based), at
        least ``updates_per_epoch`` of them, float64 and C-contiguous. Kept
        (not copied) until replaced: do not write into it."""
        if self.s.schedule != RATES:
            raise ValueError("set_rates is for the RATES schedule")
        if rates.shape[0] < self.updates_per_epoch:
            raise ValueError(f"rates has {rates.shape[0]} learning rates, an epoch "
                             f"makes {self.updates_per_epoch} updates")
        self.rates = rates
        self.P.rates = &rates[0]
        self.P.rates_first = self.next_update + 1.0
        self.P.n_rates = rates.shape[0]

    cdef bint _rates_cover_epoch(self):
        return (self.P.rates != NULL and self.P.rates_first == self.next_update + 1.0
                and self.P.n_rates >= self.updates_per_epoch)


include "kernel/workspace_inputs.pxi"
include "kernel/optim_step.pxi"
include "kernel/py_wrappers.pxi"
