# Included by _kernels.pyx (one extension module): the py_* wrappers through
# which the tests reach the layers. py_loss is also the package's own
# element-wise loss (the advice's zero-model ratio, lr_find's losses,
# the optimal schedule's search): the kernels' definitions, not a copy.

# ---------------------------------------------------------------------------
# py_* wrappers.

def py_loss(int kind, const double[::1] y, const double[::1] p, double epsilon=0.1):
    """Element-wise loss value of ``kind`` (a ``Loss``)."""
    if not SQUARED_ERROR <= kind < SOFTMAX:
        raise ValueError(f"py_loss and py_dloss take a per-target loss code, not {kind}")
    cdef Py_ssize_t i, n = y.shape[0]
    cdef double dloss
    out = np.empty(n)
    cdef double[::1] o = out
    for i in range(n):
        o[i] = any_loss_grad(kind, y[i], p[i], epsilon, &dloss)
    return out


def py_dloss(int kind, const double[::1] y, const double[::1] p, double epsilon=0.1):
    """Element-wise derivative of the loss with respect to the prediction."""
    if not SQUARED_ERROR <= kind < SOFTMAX:
        raise ValueError(f"py_loss and py_dloss take a per-target loss code, not {kind}")
    cdef Py_ssize_t i, n = y.shape[0]
    out = np.empty(n)
    cdef double[::1] o = out
    for i in range(n):
        any_loss_grad(kind, y[i], p[i], epsilon, &o[i])
    return out


def py_log1p_unit(const double[::1] a):
    """Element-wise log1p_unit (the log-loss's log1p, for 0 <= a <= 1)."""
    cdef Py_ssize_t i, n = a.shape[0]
    out = np.empty(n)
    cdef double[::1] o = out
    for i in range(n):
        if not 0.0 <= a[i] <= 1.0:
            raise ValueError(f"log1p_unit takes 0 <= a <= 1, got {a[i]!r}")
        o[i] = log1p_unit(a[i])
    return out


def py_exp_nonpositive(const double[::1] x):
    """Element-wise exp_nonpositive (the losses' e^x, for x <= 0)."""
    cdef Py_ssize_t i, n = x.shape[0]
    out = np.empty(n)
    cdef double[::1] o = out
    for i in range(n):
        if x[i] > 0.0:
            raise ValueError(f"exp_nonpositive takes x <= 0, got {x[i]!r}")
        o[i] = exp_nonpositive(x[i])
    return out


def py_softmax_loss(const double[:, ::1] y, const double[:, ::1] z):
    """Row-wise softmax cross-entropy of the logits z (n, K) for targets y (n,
    K): (loss (n,), its derivative in z (n, K))."""
    cdef Py_ssize_t i, n = y.shape[0], K = y.shape[1]
    if z.shape[0] != n or z.shape[1] != K or K == 0:
        raise ValueError("y and z must have the same shape, K >= 1")
    loss = np.empty(n)
    grad = np.array(z, dtype=np.float64, copy=True)
    cdef double[::1] lo = loss
    cdef double[:, ::1] g = grad
    for i in range(n):
        lo[i] = softmax_loss_grad(&y[i, 0], &g[i, 0], K)
    return loss, grad


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
        lazy_catch_up(&L, &rule_params, &sc, j, j, &w[0], &state[0, 0], &state[1, 0],
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
