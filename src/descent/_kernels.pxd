# The types layer of the kernels: option codes, the structs a training call
# carries, and the fused tag types that make one compiled loop per row layout
# and target count. Everything in src/descent/kernel/ builds on these.
#
# The option codes are cpdef enums here, in the .pxd of the compiled module
# itself: only there does Cython also export them to Python (as
# descent._kernels.Loss.HUBER etc.); C code reads them as plain constants.

cpdef enum Loss:
    SQUARED_ERROR = 0
    HUBER = 1
    EPSILON_INSENSITIVE = 2
    SQUARED_EPSILON_INSENSITIVE = 3
    HINGE = 4            # its margin threshold is Settings.epsilon (0: perceptron)
    LOG_LOSS = 5
    MODIFIED_HUBER = 6
    SQUARED_HINGE = 7    # its margin threshold is Settings.epsilon
    SOFTMAX = 8          # cross-entropy of the softmax over the K targets (one-hot)

cpdef enum Penalty:
    NO_PENALTY = 0
    L2 = 1
    L1 = 2
    ELASTICNET = 3

cpdef enum Schedule:
    CONSTANT = 0
    OPTIMAL = 1
    INVSCALING = 2
    ADAPTIVE = 3
    RATES = 4        # a descent.schedules schedule per update: Progress.rates

cpdef enum Rule:
    SGD = 0          # torch.optim.SGD, with momentum / dampening / nesterov
    ADAGRAD = 1
    RMSPROP = 2
    ADADELTA = 3
    ADAM = 4         # amsgrad is a flag of RuleParams
    ADAMW = 5

# The training path: which loop family runs an epoch. Decided once, in
# Python (descent._plan), and acted on by one switch (_kernels.pyx).
cpdef enum Path:
    PLAIN = 0          # per-sample scikit-learn SGD: weight scale, cumulative L1
    RULE = 1           # per-sample update-rule steps of every coefficient
    LAZY = 2           # per-sample update-rule steps of a CSR row's coefficients
    MINI_BATCH = 3     # update-rule steps on the mean gradient of batch_size rows
    FULL_BATCH = 4     # one update-rule step on the exact gradient per epoch
    HOGWILD_PLAIN = 5  # lock-free threads, PLAIN steps
    HOGWILD_RULE = 6   # lock-free threads, RULE steps (LAZY ones on CSR rows)
    GRADIENT = 7       # not a training path: the exact gradient at the model


# Row indices (the shuffled order, validation rows) are 32-bit: at 1M x 10
# the permutation is then 5 % of X's size instead of 10 %. More rows than
# 2**31 - 1 go through partial_fit in chunks.
ctypedef int row_t


# Hyper-parameters of one update rule, with torch.optim's names. The learning
# rate is passed separately because schedules change it step by step.
ctypedef struct RuleParams:
    int rule
    double weight_decay
    double momentum
    double dampening
    bint nesterov
    double lr_decay
    double eps
    double alpha        # RMSprop's smoothing constant
    bint centered
    double rho
    double beta1
    double beta2
    bint amsgrad


# What a training call needs besides the arrays (Python passes a dict with
# exactly these keys: descent._plan builds it).
ctypedef struct Settings:
    int path
    int loss
    double epsilon          # the loss's parameter: epsilon, or a hinge's threshold
    int penalty
    double alpha
    double l1_ratio
    bint fit_intercept
    double intercept_decay
    int schedule
    double eta0
    double power_t
    double optimal_init     # t offset of the 'optimal' schedule
    double average_start    # 0: no averaging; else the sample count t at which it starts
    bint shuffle
    unsigned long long seed
    Py_ssize_t batch_size   # rows per step of MINI_BATCH
    double clip_norm        # 0: no clipping
    double t                # scikit-learn's t_: samples seen + 1
    double step             # optimizer updates done so far
    double u                # total L1 shrink of the cumulative penalty so far (PLAIN)
    int n_threads


# The training rows as the loops read them.
ctypedef struct Data:
    const double* X       # dense rows (C order), or NULL
    const float* X32      # the same in float32 (X read in place), or NULL
    const double* data    # CSR rows, or NULL
    const float* data32   # the same in float32, or NULL
    const int* indices
    const int* indptr
    bint sparse
    bint single           # X's values are float32 (X32 / data32)
    Py_ssize_t n_rows
    const double* y       # (n, K) targets, C order; or NULL, a classifier's
    const int* label      # class of each row (K > 2 classes; else NULL): its
    double rest           # targets are 1 at the class, rest (-1 or 0) elsewhere
    Py_ssize_t K
    const double* sw      # sample weights, or NULL for all ones
    # per target, what its loss and penalty count in the objective, or NULL
    # for all ones (a fit in scaled target space)
    const double* tw
    # per target, the weight of its negative and of its positive samples (y <= 0,
    # y > 0: class_weight of the one-vs-rest problems), 2 K, or NULL for all ones
    const double* cw
    Py_ssize_t d
    Py_ssize_t ahead      # rows prefetched ahead into L1 in the shuffled order,
    Py_ssize_t ahead_l2   # and into L2 (per-sample loops),
    Py_ssize_t ahead_batch  # and by batch gradients (rows.prefetch_distances)
    bint prefetch_model   # and a CSR row's coefficients (rows.prefetch_model)


# A target's norms for the PLAIN loop's running penalty (kernel/loop_plain.pxd).
ctypedef struct Norms:
    double seen_sq        # |w|^2, |w|_1 as the next sample's penalty counts them
    double seen_l1


# Where the loops read and write: the model and the rule's state (owned by
# the estimator, kept across calls) and the work buffers of a Workspace.
ctypedef struct Buffers:
    double* theta         # K blocks of (coef (d), intercept)
    double* avg           # K blocks of (averaged coef, intercept, count), or NULL
    double* s0            # the update rule's state: three rows of K * (d + 1),
    double* s1            # (whose meaning each rule names: kernel/rules.pxd)
    double* s2
    double* q             # L1 shrink each weight got (cumulative penalty), K * d
    double* g             # gradient accumulator (K * (d + 1)), zeroed
    double* gthreads      # per-chunk accumulators of threaded batch gradients
    double* wscale        # per target: w = wscale * v (PLAIN), K
    # PLAIN averaging: per target a, b of the lazy average and the weight scale
    # at its last fold, 3 K (kernel/loop_plain.pxd); or NULL
    double* avg_ab
    Norms* norms          # PLAIN: per target, K; or NULL
    # PLAIN with K > 1 targets stopped one by one (Workspace.track_targets):
    # each target's epoch loss sum (K), then its running penalties' (K); or NULL
    double* per_target
    # PLAIN and LAZY on CSR rows with K > 1 targets: the model feature-major
    # (kernel/rows.pxd), with q (PLAIN) or the rule's state (LAZY), 64-byte
    # aligned; or NULL (loop_plain.pxd, loop_lazy.pxd)
    double* by_feature
    double* dl            # per target dloss of the current sample, K per thread
    double* work          # scratch of the serial batch gradient and the evaluations, 5 K
    double* lazy          # lazy sparse steps: 7 * d (snapshots, a gathered row and its x)
    double* inv_freq      # sparse Hogwild!: n / (training rows containing feature j), d
    double* hog           # sparse Hogwild!: per thread, a gathered row (5 * max_nnz)
    Py_ssize_t max_nnz    # the most non-zeros of a training row
    double* local         # dense Hogwild!: per thread, loss, dloss and model copies
    Py_ssize_t local_head  # offset of the copies in a thread's block
    Py_ssize_t local_stride  # doubles per thread's block (whole cache lines)
    Py_ssize_t local_row  # float32 X: offset of a thread's row in float64 (d), else 0


# Counters a training call carries from step to step and epoch to epoch.
ctypedef struct Progress:
    double eta            # the current learning rate (adaptive schedule)
    double t              # scikit-learn's t_: samples seen + 1
    double step           # updates done
    double u              # total L1 shrink (cumulative penalty)
    double penalty_start  # penalty at the start of a full-batch step
    double penalty_sum    # PLAIN: the epoch's running penalties (kernel/loop_plain.pxd)
    double beta1_pow      # beta1 ** step, beta2 ** step (Adam's bias corrections)
    double beta2_pow
    # The RATES schedule: the learning rates of this epoch's updates, computed
    # in Python before it (Workspace.set_rates); rates[k] is the step of the
    # update whose 1-based count is rates_first + k. NULL otherwise.
    const double* rates
    double rates_first
    Py_ssize_t n_rates


# Fused tag types: a loop takes a NULL pointer of a tag type as a template
# parameter, and Cython compiles it once per type, with the type's branches
# resolved at compile time. The row layout: dense rows are read with no
# index indirection, CSR rows cost O(nnz); each in float64 or float32 (read in
# place, widened to float64 as it is read: the model, its state and every sum
# stay float64).
ctypedef struct DenseT:
    char unused
ctypedef struct SparseT:
    char unused
ctypedef struct Dense32T:
    char unused
ctypedef struct Sparse32T:
    char unused

ctypedef fused LayoutT:
    DenseT
    SparseT
    Dense32T
    Sparse32T

# The number of targets, for the per-sample PLAIN loop: with one target its
# weight scale and dloss live in registers (a store and reload per sample
# through the K-sized buffers cost ~8 ns/sample at d = 10, a quarter of it).
ctypedef struct OneTargetT:
    char unused
ctypedef struct ManyTargetsT:
    char unused

ctypedef fused TargetsT:
    OneTargetT
    ManyTargetsT
