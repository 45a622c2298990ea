# The losses layer: each loss's value and derivative with scikit-learn's
# definitions, and a sample's loss and gradient for every target, clipped.
#
# Each loss is a tag type of the fused type LossT, so that every training
# loop is compiled once per loss with the loss inlined: no per-sample switch
# (scikit-learn's SGD makes a virtual call per sample instead). A new loss is
# a tag, a branch in loss_grad (or, for a loss joint over the targets as the
# softmax is, in targets_dloss), a branch in any_loss_grad and loss_curvature,
# and its Loss code.
#
# Regression losses read y as it is; the binary classification losses read
# y in {-1, +1} (one-vs-rest: +1 for the target's class), the softmax a
# one-hot row of the K targets.

from libc.math cimport fabs, log, sqrt

from descent._kernels cimport (
    EPSILON_INSENSITIVE, HINGE, HUBER, LOG_LOSS, MODIFIED_HUBER, SOFTMAX,
    SQUARED_EPSILON_INSENSITIVE, SQUARED_ERROR, SQUARED_HINGE, Data, Dense32T, DenseT, LayoutT,
    Settings,
)
from descent.kernel.elementary cimport (
    exp_nonpositive, log1p_unit, log_loss_terms, log_loss_terms_inlined,
)
from descent.kernel.feature_major cimport any_row_predictions, row_predictions_by_feature
from descent.kernel.rows cimport csr_value, dense_dot2, row_dot, row_sqnorm, target, weight


ctypedef struct SquaredErrorT:
    char unused
ctypedef struct HuberT:
    char unused
ctypedef struct EpsilonInsensitiveT:
    char unused
ctypedef struct SquaredEpsilonInsensitiveT:
    char unused
ctypedef struct HingeT:            # the perceptron is the hinge with threshold 0
    char unused
ctypedef struct LogLossT:
    char unused
ctypedef struct ModifiedHuberT:
    char unused
ctypedef struct SquaredHingeT:
    char unused
ctypedef struct SoftmaxT:
    char unused

ctypedef fused LossT:
    SquaredErrorT
    HuberT
    EpsilonInsensitiveT
    SquaredEpsilonInsensitiveT
    HingeT
    LogLossT
    ModifiedHuberT
    SquaredHingeT
    SoftmaxT


cdef inline double log_loss_grad(double y, double p, double* dloss) noexcept nogil:
    # log_loss_terms' loss.
    cdef double lin
    cdef double a = log_loss_terms(y, p, dloss, &lin)
    return log1p_unit(a) + lin


# A deferred loss sum. In a per-sample epoch the log-loss's log1p sits
# between one sample's exp and the next sample's dot (the loss is not needed
# there, only summed): per-sample log-loss SGD at d = 10 took 118-129 ns a
# sample with glibc's log1p (10-12 ns, branches on its argument) in the
# loop, 83-104 without any (measured, the AVX-512 build). So the epoch loops
# keep a one-target sample's log-loss terms factor * (log1p(a) + lin)
# pending, and add them PENDING at a time, in order (the same sum as added
# sample by sample, bit for bit), their log1p_unit vectorised.
cdef enum:
    PENDING = 64

ctypedef struct PendingLoss:
    bint on             # whether this sum defers (one target)
    Py_ssize_t n        # terms pending
    double total        # the sum of the terms added
    double factor[PENDING]
    double a[PENDING]
    double lin[PENDING]


cdef inline void pending_start(PendingLoss* pend, Py_ssize_t K) noexcept nogil:
    # An empty sum of a loop over samples of K targets (deferring if K is 1).
    pend.on, pend.n, pend.total = K == 1, 0, 0.0


cdef inline double pending_total(PendingLoss* pend) noexcept nogil:
    # Adds the pending terms to the total (in order) and returns it.
    cdef Py_ssize_t k
    for k in range(pend.n):
        pend.a[k] = log1p_unit(pend.a[k])
    for k in range(pend.n):
        pend.total += pend.factor[k] * (pend.a[k] + pend.lin[k])
    pend.n = 0
    return pend.total


cdef inline void pending_add(PendingLoss* pend, double factor, double a,
                             double lin) noexcept nogil:
    if pend.n == PENDING:
        pending_total(pend)
    pend.factor[pend.n] = factor
    pend.a[pend.n] = a
    pend.lin[pend.n] = lin
    pend.n += 1


cdef inline double loss_grad(LossT* kind, double y, double p, double eps,
                             double* dloss) noexcept nogil:
    # The loss of prediction p for target y; dloss[0] = d loss / d p. eps is
    # the loss's parameter (Settings.epsilon): Huber's and the
    # epsilon-insensitive losses' epsilon, the hinges' margin threshold.
    cdef double r = p - y
    cdef double a = fabs(r)
    cdef double z
    if LossT is SquaredErrorT:
        dloss[0] = r
        return 0.5 * r * r
    elif LossT is HuberT:
        if a <= eps:
            dloss[0] = r
            return 0.5 * r * r
        dloss[0] = eps if r > 0 else -eps
        return eps * a - 0.5 * eps * eps
    elif LossT is EpsilonInsensitiveT:
        if r > eps:
            dloss[0] = 1.0
        elif r < -eps:
            dloss[0] = -1.0
        else:
            dloss[0] = 0.0
        return a - eps if a > eps else 0.0
    elif LossT is SquaredEpsilonInsensitiveT:
        if r > eps:
            dloss[0] = 2.0 * (r - eps)
        elif r < -eps:
            dloss[0] = 2.0 * (r + eps)
        else:
            dloss[0] = 0.0
        return (a - eps) * (a - eps) if a > eps else 0.0
    elif LossT is HingeT:
        z = p * y
        if z <= eps:
            dloss[0] = -y
            return eps - z
        dloss[0] = 0.0
        return 0.0
    elif LossT is LogLossT:
        return log_loss_grad(y, p, dloss)
    elif LossT is ModifiedHuberT:
        # a quadratically smoothed hinge (Zhang 2004), linear below z = -1
        z = p * y
        if z >= 1.0:
            dloss[0] = 0.0
            return 0.0
        elif z >= -1.0:
            dloss[0] = 2.0 * (1.0 - z) * -y
            return (1.0 - z) * (1.0 - z)
        dloss[0] = -4.0 * y
        return -4.0 * z
    elif LossT is SquaredHingeT:
        z = eps - p * y
        if z > 0.0:
            dloss[0] = -2.0 * y * z
            return z * z
        dloss[0] = 0.0
        return 0.0
    else:       # SoftmaxT is joint over the targets: sample_dloss
        dloss[0] = 0.0
        return 0.0


cdef inline double exp_shifted(double* z, Py_ssize_t K, double* m) noexcept nogil:
    # z <- exp(z - max(z)) (no exp overflows, whatever the logits); returns
    # their sum, and max(z) in m.
    cdef Py_ssize_t tt
    cdef double total = 0.0, mx = z[0]
    for tt in range(1, K):
        if z[tt] > mx:
            mx = z[tt]
    m[0] = mx
    # (vectorises: the max in a local, which z's stores cannot alias as they
    # could m[0]; the sum in order, below)
    for tt in range(K):
        z[tt] = exp_nonpositive(z[tt] - mx)
    for tt in range(K):
        total += z[tt]
    return total


cdef inline void softmax_probabilities(double* z, Py_ssize_t K) noexcept nogil:
    # z <- softmax(z).
    cdef Py_ssize_t tt
    cdef double m
    cdef double total = exp_shifted(z, K, &m)
    for tt in range(K):
        z[tt] /= total


cdef inline double softmax_loss_grad(const double* y, double* z,
                                     Py_ssize_t K) noexcept nogil:
    # The cross-entropy -sum_t y_t log softmax(z)_t of the logits z (K) for
    # the one-hot (or any non-negative) y: log sum_t e^(z_t - m) sum(y) -
    # y . (z - m), m = max(z) (the log-sum-exp: exact digits whatever the
    # logits). z is overwritten with the derivative softmax(z) sum(y) - y.
    cdef Py_ssize_t tt
    cdef double m = z[0], total, ysum = 0.0, yz = 0.0
    for tt in range(1, K):
        if z[tt] > m:
            m = z[tt]
    for tt in range(K):
        ysum += y[tt]
        yz += y[tt] * (z[tt] - m)
    total = exp_shifted(z, K, &m)
    for tt in range(K):
        z[tt] = z[tt] / total * ysum - y[tt]
    return log(total) * ysum - yz


cdef inline double row_softmax_loss_grad(const Data* D, Py_ssize_t i, double* z,
                                         Py_ssize_t K) noexcept nogil:
    # softmax_loss_grad of row i's targets: y's row, or the one-hot of its
    # class (Data.label), whose sums there (1 for sum(y), z_c - m for
    # y . (z - m), adding zeros) are taken as they are: the same bits.
    # (z_c is kept before exp_shifted overwrites z, which finds m itself)
    cdef Py_ssize_t tt, c
    cdef double m, total, zc
    if D.label == NULL:
        return softmax_loss_grad(D.y + i * K, z, K)
    c = D.label[i]
    zc = z[c]
    total = exp_shifted(z, K, &m)
    for tt in range(K):
        z[tt] = z[tt] / total
    z[c] -= 1.0
    return log(total) - (zc - m)


cdef inline double any_loss_grad(int loss, double y, double p, double eps,
                                 double* dloss) noexcept nogil:
    # loss_grad with the loss chosen at run time, for code that is not hot
    # (not the softmax, which is joint over the targets).
    if loss == SQUARED_ERROR:
        return loss_grad(<SquaredErrorT*>NULL, y, p, eps, dloss)
    elif loss == HUBER:
        return loss_grad(<HuberT*>NULL, y, p, eps, dloss)
    elif loss == EPSILON_INSENSITIVE:
        return loss_grad(<EpsilonInsensitiveT*>NULL, y, p, eps, dloss)
    elif loss == HINGE:
        return loss_grad(<HingeT*>NULL, y, p, eps, dloss)
    elif loss == LOG_LOSS:
        return loss_grad(<LogLossT*>NULL, y, p, eps, dloss)
    elif loss == MODIFIED_HUBER:
        return loss_grad(<ModifiedHuberT*>NULL, y, p, eps, dloss)
    elif loss == SQUARED_HINGE:
        return loss_grad(<SquaredHingeT*>NULL, y, p, eps, dloss)
    return loss_grad(<SquaredEpsilonInsensitiveT*>NULL, y, p, eps, dloss)


cdef inline double loss_curvature(int loss, double y, double p, double eps) noexcept nogil:
    # d^2 loss / d p^2 at p (not the softmax's), or for the losses whose
    # derivative jumps a stand-in: the squared loss's 1 for the
    # epsilon-insensitive loss and the hinges (whose second derivative is 0
    # almost everywhere), and Huber's upper bound 1 everywhere.
    cdef double z, e
    if loss == SQUARED_EPSILON_INSENSITIVE:
        return 2.0
    elif loss == LOG_LOSS:
        e = exp_nonpositive(-fabs(p))      # expit(p) (1 - expit(p)), without overflow
        return e / ((1.0 + e) * (1.0 + e))
    elif loss == MODIFIED_HUBER:
        z = p * y
        return 2.0 if -1.0 <= z < 1.0 else 0.0
    elif loss == SQUARED_HINGE:
        return 2.0 if eps - p * y > 0.0 else 0.0
    return 1.0


cdef inline bint constant_curvature(int loss) noexcept nogil:
    # Whether loss_curvature does not depend on the prediction.
    return not (loss == LOG_LOSS or loss == MODIFIED_HUBER or loss == SQUARED_HINGE
                or loss == SOFTMAX)


cdef inline double gradient_weight(const Data* D, Py_ssize_t tt, double sw,
                                   double y) noexcept nogil:
    # What sample i's loss on target tt counts in the training objective:
    # its sample weight sw times, with class weights (Data.cw), the weight of
    # the target's positive or negative samples.
    if D.cw == NULL:
        return sw
    return sw * D.cw[2 * tt + (1 if y > 0.0 else 0)]


cdef inline double clip_factor(const Settings* s, double gnorm) noexcept nogil:
    # torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) if above.
    if gnorm > s.clip_norm:
        return s.clip_norm / (gnorm + 1e-6)
    return 1.0


cdef inline double targets_dloss(LossT* kind, const Data* D, const Settings* s,
                                 Py_ssize_t i, Py_ssize_t K, double* dl,
                                 double loss_sum, PendingLoss* pend,
                                 double* per_target) noexcept nogil:
    # dl holds sample i's predictions x_i . w_t + b_t of its K targets; they
    # become dl[t] = w_it dloss(y_it, prediction) (w_it: gradient_weight),
    # the sample's gradient being dl (x) (x_i, 1). Returns loss_sum + sum_t
    # w_it loss_it, added target by target (a batch's sum over rows and
    # targets in one order, whatever the caller). (D.tw weighs each target's
    # loss in the returned sum, not its gradient.) The softmax's loss is one,
    # over the K targets jointly. The log-loss's goes to pend if it is on
    # (then loss_sum is returned as it was). With per_target, each target's
    # w_it loss_it is also added to per_target[t] (not weighed by D.tw: the
    # target's own objective; not the softmax, nor with pend).
    cdef Py_ssize_t tt
    cdef double y, loss, w, a, lin
    cdef double sw = weight(D, i)
    if LossT is SoftmaxT:
        loss = row_softmax_loss_grad(D, i, dl, K)
        for tt in range(K):
            dl[tt] = sw * dl[tt]
        return loss_sum + sw * loss
    if LossT is LogLossT and K > 1:
        return log_loss_targets(D, i, K, dl, loss_sum, per_target)
    for tt in range(K):
        y = target(D, i, tt)
        w = gradient_weight(D, tt, sw, y)
        if LossT is LogLossT and pend != NULL and pend.on:
            a = log_loss_terms(y, dl[tt], &dl[tt], &lin)
            pending_add(pend, w if D.tw == NULL else w * D.tw[tt], a, lin)
        else:
            loss = loss_grad(kind, y, dl[tt], s.epsilon, &dl[tt])
            loss_sum += w * loss if D.tw == NULL else w * D.tw[tt] * loss
            if per_target != NULL:
                per_target[tt] += w * loss
        dl[tt] = w * dl[tt]
    return loss_sum


cdef enum:
    TARGET_CHUNK = 16


cdef inline double log_loss_targets(const Data* D, Py_ssize_t i, Py_ssize_t K,
                                    double* dl, double loss_sum,
                                    double* per_target) noexcept nogil:
    # targets_dloss for the log-loss of K > 1 targets (one-vs-rest), the same
    # sums in the same order, bit for bit: TARGET_CHUNK targets at a time, their
    # log_loss_terms and then their log1p_unit each in a loop of its own over
    # local arrays, which vectorises (branch-free, no call), instead of a call
    # to exp and to log1p for each target in turn. Measured (2-vCPU AVX-512
    # Xeon, s an epoch, medians of 6 interleaved runs, one call to log1p a
    # target / its loop): 10 classes, dense 200,000 x 100: 0.148 / 0.135; 20
    # classes, CSR 200,000 x 100,000 of 50 non-zeros: 0.368 / 0.356. The exp's
    # loop: see exp_nonpositive.
    cdef Py_ssize_t t0 = 0, tt, m, c
    cdef double a[TARGET_CHUNK]
    cdef double lin[TARGET_CHUNK]
    cdef double w[TARGET_CHUNK]
    cdef double y[TARGET_CHUNK]
    cdef double p[TARGET_CHUNK]
    cdef double g[TARGET_CHUNK]
    cdef double sw = weight(D, i), loss
    while t0 < K:
        m = min(<Py_ssize_t>TARGET_CHUNK, K - t0)
        if D.label != NULL:         # (target's test out of the loop)
            c = D.label[i] - t0
            for tt in range(m):
                y[tt] = 1.0 if tt == c else D.rest
        else:
            for tt in range(m):
                y[tt] = D.y[i * D.K + t0 + tt]
        for tt in range(m):
            w[tt] = gradient_weight(D, t0 + tt, sw, y[tt])
            p[tt] = dl[t0 + tt]
        for tt in range(m):
            a[tt] = log_loss_terms_inlined(y[tt], p[tt], &g[tt], &lin[tt])
        for tt in range(m):
            a[tt] = log1p_unit(a[tt])
        for tt in range(m):
            dl[t0 + tt] = w[tt] * g[tt]
            loss = a[tt] + lin[tt]
            loss_sum += (w[tt] * loss if D.tw == NULL
                         else w[tt] * D.tw[t0 + tt] * loss)
            if per_target != NULL:
                per_target[t0 + tt] += w[tt] * loss
        t0 += m
    return loss_sum


cdef inline double sample_dloss(LossT* kind, LayoutT* lay, const Data* D,
                                const Settings* s, Py_ssize_t i, const double* theta,
                                Py_ssize_t K, const double* wscale, double* dl,
                                double loss_sum, PendingLoss* pend,
                                double* per_target) noexcept nogil:
    # targets_dloss at the predictions of the model theta: K blocks of
    # (w_t, b_t), the coefs being wscale[t] * w_t when wscale is given (the
    # PLAIN loop's weight scale). A dense row's dot products two targets at a
    # time (vectors.dot2).
    cdef Py_ssize_t tt = 0, d = D.d
    cdef double p
    if LayoutT is DenseT or LayoutT is Dense32T:
        while tt + 2 <= K:
            dense_dot2(lay, D, i, theta + tt * (d + 1), theta + (tt + 1) * (d + 1), dl + tt)
            tt += 2
    while tt < K:
        dl[tt] = row_dot(lay, D, i, theta + tt * (d + 1))
        tt += 1
    for tt in range(K):
        p = dl[tt]
        if wscale != NULL:
            p *= wscale[tt]
        dl[tt] = p + theta[tt * (d + 1) + d]
    return targets_dloss(kind, D, s, i, K, dl, loss_sum, pend, per_target)


cdef inline void clip_sample(LayoutT* lay, const Data* D, const Settings* s, Py_ssize_t i,
                             Py_ssize_t K, double* dl) noexcept nogil:
    # Scales the sample's gradient dl (x) (x_i, 1) to norm at most
    # s.clip_norm (all targets jointly).
    cdef Py_ssize_t tt
    cdef double sq = 0.0, f
    if s.clip_norm > 0.0:
        for tt in range(K):
            sq += dl[tt] * dl[tt]
        f = clip_factor(s, sqrt(sq) * sqrt(row_sqnorm(lay, D, i)
                                           + (1.0 if s.fit_intercept else 0.0)))
        for tt in range(K):
            dl[tt] *= f


cdef inline double sample_loss_grad(LossT* kind, LayoutT* lay, const Data* D,
                                    const Settings* s, Py_ssize_t i, const double* theta,
                                    Py_ssize_t K, const double* wscale,
                                    double* dl, PendingLoss* pend,
                                    double* per_target) noexcept nogil:
    # sample_dloss, with the sample's gradient clipped (clip_sample).
    cdef double loss_sum = sample_dloss(kind, lay, D, s, i, theta, K, wscale, dl, 0.0,
                                        pend, per_target)
    clip_sample(lay, D, s, i, K, dl)
    return loss_sum


cdef inline double sample_loss_grad_by_feature(LossT* kind, LayoutT* lay, const Data* D,
                                               const Settings* s, Py_ssize_t i,
                                               const double* W, Py_ssize_t per_feature,
                                               double ws, double* dl,
                                               double* per_target) noexcept nogil:
    # sample_loss_grad for CSR row i and a model stored feature-major
    # (feature_major.pxd), coefs ws * W[j * per_feature + t], intercepts at
    # feature d: the same sums in the same order (row_predictions_by_feature).
    cdef Py_ssize_t K = D.K
    row_predictions_by_feature(lay, D, i, W, per_feature, ws, dl)
    cdef double loss = targets_dloss(kind, D, s, i, K, dl, 0.0, NULL, per_target)
    clip_sample(lay, D, s, i, K, dl)
    return loss


cdef inline double any_sample_loss(const Data* D, const Settings* s, Py_ssize_t i,
                                   const double* theta, bint rows, double* z,
                                   const double* W=NULL,
                                   Py_ssize_t per_feature=0) noexcept nogil:
    # sample_dloss's returned loss with the loss and layout chosen at run
    # time, for code that is not hot, of the model theta (NULL: all zeros),
    # read from its feature-major copy W if not NULL (any_row_predictions);
    # without `rows`, of its intercepts alone (theta's coefs known to be 0,
    # X is not read). z: scratch of K.
    cdef Py_ssize_t tt, d = D.d, K = D.K
    cdef double sw = weight(D, i), y, dloss, w, total = 0.0
    if theta != NULL and rows:
        any_row_predictions(D, i, theta, W, per_feature, z)
    else:
        for tt in range(K):
            z[tt] = theta[tt * (d + 1) + d] if theta != NULL else 0.0
    if s.loss == SOFTMAX:
        return sw * row_softmax_loss_grad(D, i, z, K)
    for tt in range(K):
        y = target(D, i, tt)
        w = gradient_weight(D, tt, sw, y)
        if D.tw != NULL:
            w *= D.tw[tt]
        total += w * any_loss_grad(s.loss, y, z[tt], s.epsilon, &dloss)
    return total
