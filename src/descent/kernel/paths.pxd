# The one switch that acts on the training path (descent._plan decides it):
# the row layout and the loss pick the compiled instance (fused tag types,
# one loop per (loss, layout, targets)), the path the loop family. Called once
# an epoch, with the GIL released.

from descent._kernels cimport (
    EPSILON_INSENSITIVE, FULL_BATCH, GRADIENT, HINGE, HOGWILD_PLAIN, HOGWILD_RULE, HUBER, LAZY,
    LOG_LOSS, MINI_BATCH, MODIFIED_HUBER, PLAIN, RULE, SQUARED_EPSILON_INSENSITIVE,
    SQUARED_ERROR, SQUARED_HINGE, Buffers, Data, Dense32T, DenseT, LayoutT, ManyTargetsT,
    OneTargetT, Progress, RuleParams, Settings, Sparse32T, SparseT, row_t,
)
from descent.kernel.loop_hogwild cimport hogwild_dense, hogwild_sparse
from descent.kernel.loop_lazy cimport epoch_lazy
from descent.kernel.loop_plain cimport epoch_plain, epoch_plain_by_feature
from descent.kernel.loop_rule cimport batch_gradient, epoch_batched, epoch_rule
from descent.kernel.losses cimport (
    EpsilonInsensitiveT, HingeT, HuberT, LogLossT, LossT, ModifiedHuberT, SoftmaxT,
    SquaredEpsilonInsensitiveT, SquaredErrorT, SquaredHingeT,
)


cdef inline double run_path(LossT* kind, LayoutT* lay, const Data* D, const Settings* s,
                            const RuleParams* rp, const row_t* idx, Py_ssize_t n, Buffers* B,
                            Progress* P) noexcept nogil:
    if s.path == PLAIN:
        if D.K == 1:
            return epoch_plain(kind, lay, <OneTargetT*>NULL, D, s, idx, n, B, P)
        if B.by_feature != NULL:       # CSR rows, no averaging (_allocate)
            return epoch_plain_by_feature(kind, lay, D, s, idx, n, B, P)
        return epoch_plain(kind, lay, <ManyTargetsT*>NULL, D, s, idx, n, B, P)
    if s.path == RULE:
        return epoch_rule(kind, lay, D, s, rp, idx, n, B, P)
    if s.path == MINI_BATCH:
        return epoch_batched(kind, lay, D, s, rp, idx, n, s.batch_size, B, P)
    if s.path == FULL_BATCH:
        return epoch_batched(kind, lay, D, s, rp, idx, n, n, B, P)
    if s.path == GRADIENT:     # into B.g; the model does not move
        return batch_gradient(kind, lay, D, s, idx, n, B.theta, B, s.n_threads)
    if LayoutT is SparseT or LayoutT is Sparse32T:
        if s.path == LAZY:
            return epoch_lazy(kind, lay, D, s, rp, idx, n, B, P)
        return hogwild_sparse(kind, lay, D, s, rp, idx, n, B, P)     # HOGWILD_*
    else:
        return hogwild_dense(kind, lay, D, s, rp, idx, n, B, P)      # HOGWILD_*


cdef inline double run_loss(LayoutT* lay, const Data* D, const Settings* s, const RuleParams* rp,
                            const row_t* idx, Py_ssize_t n, Buffers* B,
                            Progress* P) noexcept nogil:
    if s.loss == SQUARED_ERROR:
        return run_path(<SquaredErrorT*>NULL, lay, D, s, rp, idx, n, B, P)
    elif s.loss == HUBER:
        return run_path(<HuberT*>NULL, lay, D, s, rp, idx, n, B, P)
    elif s.loss == EPSILON_INSENSITIVE:
        return run_path(<EpsilonInsensitiveT*>NULL, lay, D, s, rp, idx, n, B, P)
    elif s.loss == SQUARED_EPSILON_INSENSITIVE:
        return run_path(<SquaredEpsilonInsensitiveT*>NULL, lay, D, s, rp, idx, n, B, P)
    elif s.loss == HINGE:
        return run_path(<HingeT*>NULL, lay, D, s, rp, idx, n, B, P)
    elif s.loss == LOG_LOSS:
        return run_path(<LogLossT*>NULL, lay, D, s, rp, idx, n, B, P)
    elif s.loss == MODIFIED_HUBER:
        return run_path(<ModifiedHuberT*>NULL, lay, D, s, rp, idx, n, B, P)
    elif s.loss == SQUARED_HINGE:
        return run_path(<SquaredHingeT*>NULL, lay, D, s, rp, idx, n, B, P)
    return run_path(<SoftmaxT*>NULL, lay, D, s, rp, idx, n, B, P)


cdef inline double run_layout(const Data* D, const Settings* s, const RuleParams* rp,
                              const row_t* idx, Py_ssize_t n, Buffers* B,
                              Progress* P) noexcept nogil:
    # The switch on the row layout: dense or CSR, float64 or float32.
    if D.sparse:
        if D.single:
            return run_loss(<Sparse32T*>NULL, D, s, rp, idx, n, B, P)
        return run_loss(<SparseT*>NULL, D, s, rp, idx, n, B, P)
    if D.single:
        return run_loss(<Dense32T*>NULL, D, s, rp, idx, n, B, P)
    return run_loss(<DenseT*>NULL, D, s, rp, idx, n, B, P)


cdef inline bint is_hogwild(int path) noexcept nogil:
    return path == HOGWILD_PLAIN or path == HOGWILD_RULE
