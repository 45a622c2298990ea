# Included by _kernels.pyx (one extension module): descent.optim's step, the
# OptimStep class over the loops of optim_pass.pxd.

# ---------------------------------------------------------------------------
# descent.optim's step.

# Return codes of OptimStep.step (descent.optim words the errors; the failing
# array's index is in OptimStep.failed).
cpdef enum StepCode:
    STEP_OK = 0
    STEP_GRAD_NONFINITE = 1    # grad holds NaN or infinity
    STEP_GRAD_TOO_BIG = 2      # |grad| >= max_grad: its square overflows
    STEP_PARAMS_NONFINITE = 3
    STEP_PARAMS_LAYOUT = 4     # params is not a writeable C-contiguous float64/32 ndarray
    STEP_GRAD_LAYOUT = 5       # grad needs converting (dtype, layout, overlap with params)
    STEP_SHAPE = 6             # grad's shape is not params'
    STEP_STATE = 7             # the state does not match params' size

# At least this many coordinates in a call release the GIL.
DEF NOGIL_MIN = 8192
# float32 parameters keep their state in float32: a squared gradient must stay
# far below its largest value (3.4e38) as the state sums it, so the rules that
# square the gradient take magnitudes below 1e15 on float32 (1e150 on float64).
# (descent.optim reads it from here for its error message.)
DEF MAX_GRAD_F32_ = 1e15
MAX_GRAD_F32 = MAX_GRAD_F32_

cdef struct Operand:
    void* w               # float64 or float32 (f32), as the grad and the state
    const void* g         # NULL: the array is skipped (its grad is None)
    void* s               # the state: 3 rows of n
    Py_ssize_t n
    double step
    bint f32
    int held              # bit b set: view b (params, grad, state) to release


cdef inline int real_size(const Py_buffer* view) noexcept:
    # 8 for native float64 (b"d"), 4 for native float32 (b"f"), else 0 (the
    # second byte is read only once the first is a letter, not the end)
    if view.format == NULL or view.format[0] == 0 or view.format[1] != 0:
        return 0
    if view.itemsize == 8 and view.format[0] == 100:
        return 8
    if view.itemsize == 4 and view.format[0] == 102:
        return 4
    return 0


cdef int get_view(object obj, Py_buffer* view, int flags, Operand* op, int bit):
    # The buffer of an exact ndarray of native float64 or float32,
    # C-contiguous (and writeable if asked): its item size, or 0 if it has
    # none (the caller returns its code and descent.optim's slower path words
    # the error or converts).
    if type(obj) is not ndarray:
        return 0
    try:
        PyObject_GetBuffer(obj, view, flags | PyBUF_FORMAT | PyBUF_C_CONTIGUOUS)
    except Exception:
        return 0
    op.held |= bit
    return real_size(view)


cdef int acquire(object p, object g, object st, Py_buffer* v, Operand* op):
    # params, then grad and state of params' dtype
    cdef int d, size = get_view(p, &v[0], PyBUF_WRITABLE, op, 1)
    if size == 0:
        return STEP_PARAMS_LAYOUT
    op.w = v[0].buf
    op.n = v[0].len // size
    op.f32 = size == 4
    if g is None:
        return STEP_OK
    if get_view(g, &v[1], 0, op, 2) != size:
        return STEP_GRAD_LAYOUT
    if v[1].ndim != v[0].ndim:
        return STEP_SHAPE
    for d in range(v[0].ndim):
        if v[1].shape[d] != v[0].shape[d]:
            return STEP_SHAPE
    if get_view(st, &v[2], PyBUF_WRITABLE, op, 4) != size or v[2].len != 3 * v[0].len:
        return STEP_STATE
    op.g = v[1].buf
    op.s = v[2].buf
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
    cdef readonly double max_grad_f32    # the same bound on float32 arrays
    cdef readonly double wd       # the decay added to the gradient it squares
    cdef readonly Py_ssize_t failed

    def __cinit__(self, RuleParams rule_params, double max_grad):
        self.rp = rule_params
        self.max_grad = max_grad
        self.max_grad_f32 = max_grad if max_grad == INFINITY else min(max_grad, MAX_GRAD_F32_)
        # the L2 decay added to the gradient before it is squared (AdamW's is
        # decoupled: it scales the weights, the gradient stays as given)
        self.wd = 0.0 if rule_params.rule == ADAMW else rule_params.weight_decay
        self.failed = -1

    def step(self, double lr, list params, list grads, list states,
             double[::1] steps, int mode=0):
        """Step ``params[i]`` (writeable C-contiguous float64 or float32
        ndarrays) by ``grads[i]`` (C-contiguous ndarrays of the same shape and
        dtype, or None to skip the array) with ``states[i]`` ((3,
        params[i].size), the same dtype) at
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
        cdef const char* gi
        cdef const char* wj
        for i in range(k):
            if ops[i].g == NULL or ops[i].n == 0:
                continue
            gi = <const char*>ops[i].g
            for j in range(k):
                if ops[j].g == NULL or ops[j].n == 0 or (i == j and ops[i].g == ops[i].w):
                    continue
                wj = <const char*>ops[j].w
                if (gi < wj + ops[j].n * (4 if ops[j].f32 else 8)
                        and wj < gi + ops[i].n * (4 if ops[i].f32 else 8)):
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
                if ops[i].g == NULL or ops[i].n == 0:
                    continue
                if ops[i].f32:
                    code = scan_inputs(<const float*>ops[i].w, <const float*>ops[i].g,
                                       ops[i].n, self.max_grad_f32, self.wd)
                else:
                    code = scan_inputs(<const double*>ops[i].w, <const double*>ops[i].g,
                                       ops[i].n, self.max_grad, self.wd)
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
            if ops[i].f32:
                update_pass(&self.rp, &sc, <float*>ops[i].w, <const float*>ops[i].g,
                            <float*>ops[i].s, <float*>ops[i].s + ops[i].n,
                            <float*>ops[i].s + 2 * ops[i].n, ops[i].n)
            else:
                update_pass(&self.rp, &sc, <double*>ops[i].w, <const double*>ops[i].g,
                            <double*>ops[i].s, <double*>ops[i].s + ops[i].n,
                            <double*>ops[i].s + 2 * ops[i].n, ops[i].n)
        return STEP_OK
