# The update-rules layer: torch.optim's formulas (2.x, single-tensor path),
# element by element, each rule in one place with its state named.
#
# A step updates n coordinates w_j for the gradient g_j = c * src_j
# (+ weight_decay * w_j, coupled, except AdamW whose decay is decoupled).
# Passing (src, c) rather than g lets a per-sample step use the row x itself
# (g = dloss * x) with no gradient buffer. After the update, an L1 penalty
# l1 > 0 applies the proximal soft-threshold with threshold l1 * eff_j, eff_j
# being the step size that multiplies the gradient for coordinate j.
#
# A rule's state is three rows (s0, s1, s2) of the model's size; each rule
# names them (torch's names, which descent.optim's registry repeats):
#   SGD       s0 momentum_buffer
#   ADAGRAD   s0 sum
#   RMSPROP   s0 square_avg, s1 momentum_buffer, s2 grad_avg
#   ADADELTA  s0 square_avg, s1 acc_delta
#   ADAM(W)   s0 exp_avg, s1 exp_avg_sq, s2 max_exp_avg_sq
#
# In each step the hyper-parameters are copied to locals first: the compiler
# must know that stores to w cannot change them, to unswitch the flag tests
# and vectorise.

from libc.math cimport sqrt

from descent._kernels cimport (
    ADADELTA, ADAGRAD, ADAM, ADAMW, RMSPROP, SGD, Progress, RuleParams, Settings,
)
from descent.kernel.penalties cimport schedule_eta, soft_threshold


# What a step needs that depends on the step count but not on the coordinate.
ctypedef struct StepScalars:
    double lr
    double clr            # Adagrad's decayed lr, Adam's lr / (1 - beta1 ** step)
    double bc2s           # Adam: sqrt(1 - beta2 ** step)
    double decay          # AdamW: 1 - lr * weight_decay
    double momentum_old   # SGD: the momentum applied to the old buffer (0 at step 1)
    double dampening      # SGD: (0 at step 1)


cdef inline StepScalars step_scalars(const RuleParams* rp, double lr, double step,
                                     double beta1_pow, double beta2_pow) noexcept nogil:
    # Computed once per step. beta1_pow, beta2_pow are beta ** step (Adam's
    # bias corrections), passed in so that a training loop can keep them as
    # running products instead of two pow() calls per sample.
    cdef StepScalars sc
    sc.lr = lr
    sc.clr = lr
    sc.bc2s = 1.0
    sc.decay = 1.0
    sc.momentum_old = rp.momentum
    sc.dampening = rp.dampening
    if rp.rule == SGD and step == 1.0:
        # torch: the first momentum buffer is the raw gradient.
        sc.momentum_old = 0.0
        sc.dampening = 0.0
    elif rp.rule == ADAGRAD:
        sc.clr = lr / (1.0 + (step - 1.0) * rp.lr_decay)
    elif rp.rule == ADAM or rp.rule == ADAMW:
        sc.clr = lr / (1.0 - beta1_pow)
        sc.bc2s = sqrt(1.0 - beta2_pow)
        if rp.rule == ADAMW:
            sc.decay = 1.0 - lr * rp.weight_decay  # decoupled (Loshchilov & Hutter 2019)
    return sc


cdef inline StepScalars next_step(const Settings* s, const RuleParams* rp,
                                  Progress* P) noexcept nogil:
    # One more update: its count, its scheduled step size and its scalars.
    P.step += 1.0
    P.eta = schedule_eta(s, P, P.eta, P.step)
    # beta ** step as running products, set to 0 once negligible (so they never
    # sit on a denormal, even where flushing is not available)
    P.beta1_pow = P.beta1_pow * rp.beta1 if P.beta1_pow > 1e-200 else 0.0
    P.beta2_pow = P.beta2_pow * rp.beta2 if P.beta2_pow > 1e-200 else 0.0
    return step_scalars(rp, P.eta, P.step, P.beta1_pow, P.beta2_pow)


# -- SGD, with momentum, dampening and Nesterov (Sutskever et al. 2013) -------

cdef inline void sgd_step(const RuleParams* rp, const StepScalars* sc, double* w,
                          const double* src, double c, double l1,
                          double* momentum_buffer, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef double gj, buf
    cdef double wd = rp.weight_decay, lr = sc.lr
    cdef double mom = rp.momentum, mom_old = sc.momentum_old, damp = sc.dampening
    cdef bint nesterov = rp.nesterov
    cdef double l1_step
    if mom == 0.0:
        for j in range(n):
            gj = c * src[j] + wd * w[j]
            w[j] = soft_threshold(w[j] - lr * gj, l1 * lr)
        return
    # The L1 prox's threshold takes the momentum's gain (rule_eff): a step
    # moves w by lr * gain * g at the fixed point, so a threshold of l1 * lr
    # alone would converge to the optimum of the penalty l1 / gain (measured:
    # momentum 0.9 gave L1 a tenth of its weight).
    l1_step = l1 * lr * rule_eff(rp, sc, 0.0, 0.0, 0.0)
    for j in range(n):
        gj = c * src[j] + wd * w[j]
        buf = mom_old * momentum_buffer[j] + (1.0 - damp) * gj
        momentum_buffer[j] = buf
        gj = gj + mom * buf if nesterov else buf
        w[j] = soft_threshold(w[j] - lr * gj, l1_step)


# -- AdaGrad (Duchi, Hazan & Singer 2011), torch's lr_decay -------------------

cdef inline void adagrad_step(const RuleParams* rp, const StepScalars* sc, double* w,
                              const double* src, double c, double l1, double* sum_,
                              Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef double gj, inv
    cdef double wd = rp.weight_decay, eps = rp.eps, clr = sc.clr
    for j in range(n):
        gj = c * src[j] + wd * w[j]
        sum_[j] += gj * gj
        inv = 1.0 / (sqrt(sum_[j]) + eps)
        w[j] = soft_threshold(w[j] - clr * (gj * inv), l1 * clr * inv)


# -- RMSprop (Tieleman & Hinton 2012), centered and with momentum -------------

cdef inline void rmsprop_step(const RuleParams* rp, const StepScalars* sc, double* w,
                              const double* src, double c, double l1,
                              double* square_avg, double* momentum_buffer,
                              double* grad_avg, Py_ssize_t n) noexcept nogil:
    # Branch-free for vectorisation, and exact: with centered = 0 the grad_avg
    # term is 0 * grad_avg = 0, with momentum = 0 the buffer is just g / avg.
    # (grad_avg and the buffer are then written but never read.)
    cdef Py_ssize_t j
    cdef double gj, inv, var
    cdef double wd = rp.weight_decay, eps = rp.eps, alpha = rp.alpha, lr = sc.lr
    cdef double mom = rp.momentum
    cdef double centered = 1.0 if rp.centered else 0.0
    # the momentum buffer's gain on the L1 threshold, as in sgd_step
    cdef double gain = 1.0 / (1.0 - mom) if 0.0 < mom < 1.0 else 1.0
    for j in range(n):
        gj = c * src[j] + wd * w[j]
        square_avg[j] = alpha * square_avg[j] + (1.0 - alpha) * gj * gj
        grad_avg[j] += (1.0 - alpha) * (gj - grad_avg[j])
        # centered: the variance can round below 0 (torch: NaN)
        var = square_avg[j] - centered * grad_avg[j] * grad_avg[j]
        inv = 1.0 / (sqrt(var if var > 0.0 else 0.0) + eps)
        momentum_buffer[j] = mom * momentum_buffer[j] + gj * inv
        w[j] = soft_threshold(w[j] - lr * momentum_buffer[j], l1 * lr * inv * gain)


# -- Adadelta (Zeiler 2012) ---------------------------------------------------

cdef inline void adadelta_step(const RuleParams* rp, const StepScalars* sc, double* w,
                               const double* src, double c, double l1,
                               double* square_avg, double* acc_delta,
                               Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef double gj, eff, delta
    cdef double wd = rp.weight_decay, eps = rp.eps, rho = rp.rho, lr = sc.lr
    for j in range(n):
        gj = c * src[j] + wd * w[j]
        square_avg[j] = rho * square_avg[j] + (1.0 - rho) * gj * gj
        # eps sits inside both square roots (Zeiler 2012, as torch).
        eff = sqrt(acc_delta[j] + eps) / sqrt(square_avg[j] + eps)
        delta = eff * gj
        acc_delta[j] = rho * acc_delta[j] + (1.0 - rho) * delta * delta
        w[j] = soft_threshold(w[j] - lr * delta, l1 * lr * eff)


# -- Adam (Kingma & Ba 2015), AMSGrad (Reddi et al. 2018), AdamW --------------

cdef inline void adam_step(const RuleParams* rp, const StepScalars* sc, double* w,
                           const double* src, double c, double l1, double* exp_avg,
                           double* exp_avg_sq, double* max_exp_avg_sq,
                           Py_ssize_t n) noexcept nogil:
    # eps is added after the bias-corrected square root; AdamW decays w by
    # sc.decay before the step (decoupled weight decay, Loshchilov & Hutter
    # 2019) and has no coupled weight decay.
    cdef Py_ssize_t j
    cdef double gj, inv
    cdef double wd = rp.weight_decay if rp.rule != ADAMW else 0.0
    cdef double eps = rp.eps, beta1 = rp.beta1, beta2 = rp.beta2
    cdef double clr = sc.clr, inv_bc2s = 1.0 / sc.bc2s, decay = sc.decay
    cdef bint amsgrad = rp.amsgrad
    for j in range(n):
        gj = c * src[j] + wd * w[j]    # read before w[j] is decayed (src may be w)
        exp_avg[j] += (1.0 - beta1) * (gj - exp_avg[j])
        exp_avg_sq[j] = beta2 * exp_avg_sq[j] + (1.0 - beta2) * gj * gj
        # AMSGrad keeps the max of the uncorrected second moment (kept either
        # way, so the loop has no branch).
        max_exp_avg_sq[j] = (max_exp_avg_sq[j] if max_exp_avg_sq[j] > exp_avg_sq[j]
                             else exp_avg_sq[j])
        inv = 1.0 / ((sqrt(max_exp_avg_sq[j]) if amsgrad else sqrt(exp_avg_sq[j]))
                     * inv_bc2s + eps)
        w[j] = soft_threshold(w[j] * decay - clr * (exp_avg[j] * inv), l1 * clr * inv)


# -- Any rule -----------------------------------------------------------------

cdef inline void rule_step(const RuleParams* rp, const StepScalars* sc, double* w,
                           const double* src, double c, double l1, double* s0,
                           double* s1, double* s2, Py_ssize_t n) noexcept nogil:
    # inline: in a per-sample loop the intercept's one-element call then costs
    # a few instructions instead of a call with loop set-up (measured 2x at d=10).
    if rp.rule == SGD:
        sgd_step(rp, sc, w, src, c, l1, s0, n)
    elif rp.rule == ADAGRAD:
        adagrad_step(rp, sc, w, src, c, l1, s0, n)
    elif rp.rule == RMSPROP:
        rmsprop_step(rp, sc, w, src, c, l1, s0, s1, s2, n)
    elif rp.rule == ADADELTA:
        adadelta_step(rp, sc, w, src, c, l1, s0, s1, n)
    else:
        adam_step(rp, sc, w, src, c, l1, s0, s1, s2, n)


cdef inline double rule_eff(const RuleParams* rp, const StepScalars* sc, double s0,
                            double s1, double s2) noexcept nogil:
    # The rule's total step per unit of gradient (times clr) for a coordinate
    # with this state: what a penalty applied outside the step (the lazy
    # steps' skipped penalty, sparse Hogwild!'s L1) is scaled by. A momentum
    # buffer passes each gradient on with gain (1 - dampening) / (1 - momentum)
    # over the following steps: the penalty gets the same, or the lazy optimum
    # would be under-regularised (measured: gap 2e-2 without it).
    cdef double var
    cdef double gain = ((1.0 - rp.dampening) / (1.0 - rp.momentum)
                        if 0.0 < rp.momentum < 1.0 else 1.0)
    if rp.rule == ADAGRAD:
        return 1.0 / (sqrt(s0) + rp.eps)
    if rp.rule == RMSPROP:
        var = s0 - (s2 * s2 if rp.centered else 0.0)
        return gain / (sqrt(var if var > 0.0 else 0.0) + rp.eps)
    if rp.rule == ADADELTA:
        return sqrt(s1 + rp.eps) / sqrt(s0 + rp.eps)
    if rp.rule == ADAM or rp.rule == ADAMW:
        return 1.0 / (sqrt(s2 if rp.amsgrad else s1) / sc.bc2s + rp.eps)
    return gain


cdef inline double state_merge_weight(int rule, Py_ssize_t n_threads) noexcept nogil:
    # Dense Hogwild! threads each keep the rule's state of their own samples;
    # what one thread's change of state s0 counts for when they are merged.
    # Adagrad's sum is a sum over the samples: the threads' changes add up.
    # The other states are decaying averages, whose changes would count the
    # decay once per thread: they are averaged (summed, the noise-floor
    # objective doubled: +100 %). (s1 and s2 are always averaged.)
    return 1.0 if rule == ADAGRAD else 1.0 / n_threads
