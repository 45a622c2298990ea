# C-level declarations shared by the kernels. The option codes are defined
# once, here, as cpdef enums: Python reads them as descent._kernels.Loss.HUBER
# etc., Cython code as plain C constants.

cpdef enum Loss:
    SQUARED_ERROR = 0
    HUBER = 1
    EPSILON_INSENSITIVE = 2
    SQUARED_EPSILON_INSENSITIVE = 3

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

cpdef enum Rule:
    SGD = 0          # torch.optim.SGD, with momentum / dampening / nesterov
    ADAGRAD = 1
    RMSPROP = 2
    ADADELTA = 3
    ADAM = 4         # amsgrad is a flag of RuleParams
    ADAMW = 5

cpdef enum Status:
    CONVERGED = 0    # the stopping rule fired
    MAX_ITER = 1     # max_iter epochs ran
    DIVERGED = 2     # non-finite weights or an exploding objective
    INTERRUPTED = 3  # a signal (Ctrl-C) arrived between two epochs
    OUT_OF_MEMORY = 4


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


# Everything a fit call needs besides the arrays: one struct instead of
# dozens of positionals (Python passes a dict with exactly these keys).
ctypedef struct Settings:
    int loss
    double epsilon
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
    long long max_iter
    double tol              # -inf disables the tolerance test
    long long n_iter_no_change
    bint early_stopping
    bint shuffle
    unsigned long long seed
    Py_ssize_t batch_size   # 1: per sample, k: mini-batch, 0: full batch
    bint plain              # per-sample scikit-learn SGD path (weight scale, cumulative L1)
    bint lazy               # sparse per-sample rule steps touch only the row's coefs
    double clip_norm        # 0: no clipping
    double t                # scikit-learn's t_: samples seen + 1
    double step             # optimizer updates done so far
    int n_threads
    int verbose


# What an update rule needs that depends on the step but not on the coordinate.
ctypedef struct StepScalars:
    double lr
    double clr            # Adagrad's decayed lr, Adam's lr / (1 - beta1 ** step)
    double bc2s           # Adam: sqrt(1 - beta2 ** step)
    double decay          # AdamW: 1 - lr * weight_decay
    double momentum_old   # SGD: the momentum applied to the old buffer (0 at step 1)
    double dampening      # SGD: (0 at step 1)


cdef double loss_value(int loss, double y, double p, double epsilon) noexcept nogil
cdef double loss_dloss(int loss, double y, double p, double epsilon) noexcept nogil
cdef StepScalars step_scalars(const RuleParams* rp, double lr, double step,
                              double beta1_pow, double beta2_pow) noexcept nogil
