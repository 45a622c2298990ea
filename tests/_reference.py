"""Plain NumPy reference implementations for the numerical tests of descent.

Everything here is written from the textbook / scikit-learn formulas, one
sample (or one batch) at a time, with no weight-scale trick and no shared code
with the compiled kernels, so that agreement to rounding is meaningful.
"""

from __future__ import annotations

import numpy as np

LOSSES = ("squared_error", "huber", "epsilon_insensitive",
          "squared_epsilon_insensitive")
PENALTIES = (None, "l2", "l1", "elasticnet")


# -- losses (scikit-learn's definitions, r = p - y) ---------------------------
def loss_value(loss, y, p, epsilon):
    r = np.asarray(p, dtype=float) - y
    a = np.abs(r)
    if loss == "squared_error":
        return 0.5 * r * r
    if loss == "huber":
        return np.where(a <= epsilon, 0.5 * r * r, epsilon * a - 0.5 * epsilon ** 2)
    if loss == "epsilon_insensitive":
        return np.maximum(a - epsilon, 0.0)
    if loss == "squared_epsilon_insensitive":
        return np.maximum(a - epsilon, 0.0) ** 2
    raise ValueError(loss)


def dloss(loss, y, p, epsilon):
    """d loss / d p."""
    r = np.asarray(p, dtype=float) - y
    if loss == "squared_error":
        return r
    if loss == "huber":
        return np.where(np.abs(r) <= epsilon, r, epsilon * np.sign(r))
    if loss == "epsilon_insensitive":
        return np.where(r > epsilon, 1.0, np.where(r < -epsilon, -1.0, 0.0))
    if loss == "squared_epsilon_insensitive":
        return np.where(r > epsilon, 2.0 * (r - epsilon),
                        np.where(r < -epsilon, 2.0 * (r + epsilon), 0.0))
    raise ValueError(loss)


# -- penalties and the objective ----------------------------------------------
def l1_ratio_of(penalty, l1_ratio):
    return {None: 0.0, "l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio}[penalty]


def penalty_value(w, penalty, alpha, l1_ratio=0.15):
    if penalty is None:
        return 0.0
    r = l1_ratio_of(penalty, l1_ratio)
    return alpha * (r * np.abs(w).sum() + 0.5 * (1.0 - r) * np.dot(w, w))


def objective(X, y, w, b, penalty="l2", alpha=1e-4, l1_ratio=0.15,
              loss="squared_error", epsilon=0.1, sample_weight=None):
    """mean_i sw_i loss(y_i, x_i.w + b) + penalty(w) (the mean is over n)."""
    sw = np.ones(len(y)) if sample_weight is None else sample_weight
    p = X @ w + b
    return (np.sum(sw * loss_value(loss, y, p, epsilon)) / len(y)
            + penalty_value(w, penalty, alpha, l1_ratio))


def model_objective(model, X, y):
    """objective() of a fitted SGDRegressor with its own loss and penalty,
    summed over the targets for a 2-D y."""
    coef = np.atleast_2d(model.coef_)
    Y = np.asarray(y, dtype=float).reshape(len(y), -1)
    return sum(objective(X, Y[:, t], coef[t], model.intercept_[t],
                         model.penalty, model.alpha, model.l1_ratio,
                         model.loss, model.epsilon)
               for t in range(coef.shape[0]))


def average_start(average):
    if average is False or average is None or average == 0:
        return 0
    if average is True:
        return 1
    return int(average)


def schedule(learning_rate, eta0, power_t, t, alpha=None, t0=None):
    if learning_rate == "constant":
        return eta0
    if learning_rate == "invscaling":
        return eta0 / t ** power_t
    if learning_rate == "optimal":
        return 1.0 / (alpha * (t0 + t - 1.0))
    raise ValueError(learning_rate)


def soft_threshold(z, thr):
    return np.sign(z) * np.maximum(np.abs(z) - thr, 0.0)


def clip_scale(norm, max_norm):
    """torch.nn.utils.clip_grad_norm_'s factor: max_norm / (norm + 1e-6) when
    the norm exceeds max_norm, else 1."""
    return max_norm / (norm + 1e-6) if norm > max_norm else 1.0


# -- per-sample SGD (scikit-learn's plain SGD, storage order) -----------------
def sgd_per_sample(X, y, sample_weight=None, *, loss="squared_error", epsilon=0.1,
                   penalty="l2", alpha=1e-4, l1_ratio=0.15, fit_intercept=True,
                   learning_rate="invscaling", eta0=0.01, power_t=0.25,
                   average=False, n_epochs=1, order=None, clip_grad_norm=None,
                   optimal_t0=None, tol=None, n_iter_no_change=5):
    """Per-sample SGD exactly as the brief's formulas, sample by sample.

    ``clip_grad_norm``: the sample's weighted gradient sw dloss (x, 1) (the
    intercept's 1 only with fit_intercept) is scaled by max_norm / (norm +
    1e-6) when its norm exceeds max_norm (torch.nn.utils.clip_grad_norm_).
    ``optimal_t0``: t0 of learning_rate="optimal", eta = 1 / (alpha (t0 + t - 1)).
    ``tol``, ``n_iter_no_change``: the stopping rule and the "adaptive"
    schedule (StoppingRule); up to ``n_epochs`` epochs.

    Returns dict(coef, intercept, raw_coef, raw_intercept, loss_curve, t,
    n_iter, etas) where coef/intercept are what ``coef_``/``intercept_`` must
    be (averaged once the averaging has started), loss_curve the per-epoch
    objective and etas the "adaptive" eta of each epoch.

    The objective is scikit-learn's running one (its _plain_sgd's
    objective_sum / n): each sample's sw * loss plus the penalty of the
    weights it meets, their norms as its WeightVector keeps them: set after
    each non-zero update (the dense row's add), scaled by each L2 shrink,
    not changed by the L1 clip.
    """
    n, d = X.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    order = np.arange(n) if order is None else order
    r = l1_ratio_of(penalty, l1_ratio)
    has_l2 = penalty is not None and r < 1.0
    has_l1 = penalty is not None and r > 0.0
    start = average_start(average)
    w = np.zeros(d)
    b = 0.0
    avg_w = np.zeros(d)
    avg_b = 0.0
    count = 0
    u = 0.0
    q = np.zeros(d)
    t = 1
    curve = []
    seen_sq = seen_l1 = 0.0         # the norms of w = 0
    rule = StoppingRule(learning_rate, eta0, tol, n_iter_no_change)
    for _ in range(n_epochs):
        loss_sum = 0.0
        for i in order:
            x = X[i]
            p = float(np.dot(w, x) + b)
            eta = (rule.eta if learning_rate == "adaptive" else
                   schedule(learning_rate, eta0, power_t, t, alpha, optimal_t0))
            loss_sum += sw[i] * float(loss_value(loss, y[i], p, epsilon))
            if penalty is not None:
                loss_sum += alpha * ((1.0 - r) * 0.5 * seen_sq + r * seen_l1)
            g = float(dloss(loss, y[i], p, epsilon)) * sw[i]
            if clip_grad_norm is not None:
                g *= clip_scale(abs(g) * np.sqrt(x @ x + (1.0 if fit_intercept else 0.0)),
                                clip_grad_norm)
            update = -eta * g
            if has_l2:
                shrink = max(0.0, 1.0 - eta * alpha * (1.0 - r))
                w = w * shrink
                seen_sq, seen_l1 = seen_sq * shrink**2, seen_l1 * shrink
            w = w + update * x
            if update != 0.0:
                seen_sq, seen_l1 = float(w @ w), float(np.abs(w).sum())
            if fit_intercept:
                b += update
            if has_l1:
                u += r * eta * alpha
                for j in range(d):
                    z = w[j]
                    if z > 0:
                        w[j] = max(0.0, z - (u + q[j]))
                    elif z < 0:
                        w[j] = min(0.0, z + (u - q[j]))
                    q[j] += w[j] - z
            if start and t >= start:
                count += 1
                avg_w = avg_w + (w - avg_w) / count
                avg_b = avg_b + (b - avg_b) / count
            t += 1
        curve.append(loss_sum / n)
        if rule.end_epoch(curve[-1]):
            break
    averaged = start and start <= t - 1
    return dict(coef=avg_w if averaged else w, intercept=avg_b if averaged else b,
                raw_coef=w, raw_intercept=b, loss_curve=np.array(curve), t=t,
                n_iter=len(curve), etas=rule.etas, margins=rule.margins)


# -- mini-batch / full-batch plain gradient descent ---------------------------
def sgd_batched(X, y, sample_weight=None, *, batch_size=None, loss="squared_error",
                epsilon=0.1, penalty="l2", alpha=1e-4, l1_ratio=0.15,
                fit_intercept=True, learning_rate="invscaling", eta0=0.01,
                power_t=0.25, average=False, n_epochs=1, order=None):
    """Mini-batch (batch_size=k) or full-batch (None) proximal gradient steps,
    torch.optim.SGD without momentum: theta -= lr * (mean batch gradient +
    alpha (1 - l1_ratio) w), then soft-threshold w at alpha * l1_ratio * lr."""
    n, d = X.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    order = np.arange(n) if order is None else order
    B = n if batch_size is None else batch_size
    r = l1_ratio_of(penalty, l1_ratio)
    a2 = alpha * (1.0 - r) if penalty is not None else 0.0
    a1 = alpha * r if penalty is not None else 0.0
    start = average_start(average)
    w = np.zeros(d)
    b = 0.0
    avg_w, avg_b, count = np.zeros(d), 0.0, 0
    seen = 0
    step = 0
    curve = []
    for _ in range(n_epochs):
        loss_sum = 0.0
        pen_start = penalty_value(w, penalty, alpha, l1_ratio)
        for s in range(0, n, B):
            rows = order[s:s + B]
            Xb, yb, swb = X[rows], y[rows], sw[rows]
            p = Xb @ w + b
            loss_sum += np.sum(swb * loss_value(loss, yb, p, epsilon))
            c = swb * dloss(loss, yb, p, epsilon)
            gw = Xb.T @ c / len(rows) + a2 * w
            gb = c.sum() / len(rows) if fit_intercept else 0.0
            step += 1
            lr = schedule(learning_rate, eta0, power_t, step)
            w = w - lr * gw
            b = b - lr * gb
            if a1:
                w = soft_threshold(w, a1 * lr)
            seen += len(rows)
            if start and seen >= start:
                count += 1
                avg_w = avg_w + (w - avg_w) / count
                avg_b = avg_b + (b - avg_b) / count
        # full batch: the penalty at the start of the (only) step of the epoch
        pen_end = penalty_value(w, penalty, alpha, l1_ratio)
        curve.append(loss_sum / n + (pen_start if batch_size is None else pen_end))
    averaged = start and start <= seen
    return dict(coef=avg_w if averaged else w, intercept=avg_b if averaged else b,
                raw_coef=w, raw_intercept=b, loss_curve=np.array(curve),
                t=seen + 1, step=step)


# -- the stopping rule and the "adaptive" schedule ----------------------------
class StoppingRule:
    """scikit-learn's rule between epochs, as SGDRegressor documents it: an
    epoch whose objective is not below (best so far - tol) counts as no
    improvement; after ``n_iter_no_change`` of them in a row, "adaptive"
    divides eta by 5 (and starts counting again) if eta is still above 1e-6,
    and otherwise training stops, as every other schedule does at once.
    tol=None: never. ``eta`` is the step of the next epoch, ``etas`` the
    step of every epoch so far, ``margins`` how far each comparison was from
    its threshold (a test can check that none was a rounding-level call)."""

    def __init__(self, learning_rate, eta0, tol, n_iter_no_change):
        self.adaptive = learning_rate == "adaptive"
        self.eta = eta0
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.best = np.inf
        self.no_improvement = 0
        self.etas = []
        self.margins = []

    def end_epoch(self, obj):
        """Record an epoch's objective; True if training stops after it."""
        self.etas.append(self.eta)
        if self.tol is not None:
            if obj > self.best - self.tol:
                self.no_improvement += 1
            else:
                self.no_improvement = 0
            if np.isfinite(self.best):
                self.margins.append(abs(obj - (self.best - self.tol)))
        self.best = min(self.best, obj)
        if self.tol is None or self.no_improvement < self.n_iter_no_change:
            return False
        if self.adaptive and self.eta > 1e-6:
            self.eta /= 5.0
            self.no_improvement = 0
            return False
        return True


# -- the update rules, written from torch.optim's documented algorithms -------
# (https://pytorch.org/docs/stable/optim.html, 2.x; the proximal L1 step after
# the rule is FOBOS, Duchi & Singer 2009, with each coordinate's step size).
# The estimator's names and their torch.optim hyper-parameters.
RULE_DEFAULTS = {
    "sgd": ("sgd", dict(momentum=0.0, dampening=0.0, nesterov=False)),
    "momentum": ("sgd", dict(momentum=0.9, dampening=0.0, nesterov=False)),
    "nesterov": ("sgd", dict(momentum=0.9, dampening=0.0, nesterov=True)),
    "adagrad": ("adagrad", dict(lr_decay=0.0, initial_accumulator_value=0.0, eps=1e-10)),
    "rmsprop": ("rmsprop", dict(alpha=0.99, eps=1e-8, momentum=0.0, centered=False)),
    "adadelta": ("adadelta", dict(rho=0.9, eps=1e-6)),
    "adam": ("adam", dict(betas=(0.9, 0.999), eps=1e-8, amsgrad=False)),
    "amsgrad": ("adam", dict(betas=(0.9, 0.999), eps=1e-8, amsgrad=True)),
    "adamw": ("adamw", dict(betas=(0.9, 0.999), eps=1e-8, amsgrad=False)),
}


class RuleReference:
    """One torch.optim rule over a parameter vector, in NumPy.

    ``step(theta, g, lr, t, wd, decay, l1)`` returns the new theta for the
    data gradient g at step t (1-based), with per-coordinate arrays: ``wd``
    the coupled L2 coefficient (g + wd theta enters the rule), ``decay`` the
    decoupled one (AdamW: theta (1 - lr decay) before the step), ``l1`` the
    L1 coefficient of the proximal step sign(theta) max(|theta| - l1 eff, 0)
    after it, eff being the coordinate's step per unit of gradient.
    ``bias_power_offset`` exists only to show that the tests catch a wrong
    Adam bias correction (beta ** (t + offset)); it is 0 otherwise.
    """

    def __init__(self, kind, n, bias_power_offset=0, **hyper):
        self.kind = kind
        self.h = hyper
        self.offset = bias_power_offset
        init = hyper.get("initial_accumulator_value", 0.0)
        self.s0 = np.full(n, float(init)) if kind == "adagrad" else np.zeros(n)
        self.s1 = np.zeros(n)
        self.s2 = np.zeros(n)

    def step(self, theta, g, lr, t, wd, decay, l1):
        h = self.h
        g = g + wd * theta
        if self.kind == "sgd":
            mom = h["momentum"]
            if mom != 0.0:
                if t == 1:
                    self.s0 = g.copy()          # torch: the first buffer is g
                else:
                    self.s0 = mom * self.s0 + (1.0 - h["dampening"]) * g
                g = g + mom * self.s0 if h["nesterov"] else self.s0
            # the L1 threshold takes the momentum buffer's gain
            gain = (1.0 - h["dampening"]) / (1.0 - mom) if 0.0 < mom < 1.0 else 1.0
            eff = np.full_like(theta, lr * gain)
            new = theta - lr * g
        elif self.kind == "adagrad":
            clr = lr / (1.0 + (t - 1) * h["lr_decay"])
            self.s0 = self.s0 + g * g
            eff = clr / (np.sqrt(self.s0) + h["eps"])
            new = theta - eff * g
        elif self.kind == "rmsprop":
            a = h["alpha"]
            self.s0 = a * self.s0 + (1.0 - a) * g * g
            var = self.s0
            if h["centered"]:
                self.s2 = a * self.s2 + (1.0 - a) * g
                var = var - self.s2 * self.s2
            inv = 1.0 / (np.sqrt(var) + h["eps"])
            eff = lr * inv
            if h["momentum"] > 0:
                self.s1 = h["momentum"] * self.s1 + g * inv
                new = theta - lr * self.s1
                eff = eff / (1.0 - h["momentum"])       # the buffer's gain
            else:
                new = theta - lr * g * inv
        elif self.kind == "adadelta":
            rho, eps = h["rho"], h["eps"]
            self.s0 = rho * self.s0 + (1.0 - rho) * g * g
            ratio = np.sqrt(self.s1 + eps) / np.sqrt(self.s0 + eps)
            delta = ratio * g
            self.s1 = rho * self.s1 + (1.0 - rho) * delta * delta
            eff = lr * ratio
            new = theta - lr * delta
        elif self.kind in ("adam", "adamw"):
            b1, b2 = h["betas"]
            if self.kind == "adamw":
                theta = theta * (1.0 - lr * decay)
            self.s0 = b1 * self.s0 + (1.0 - b1) * g
            self.s1 = b2 * self.s1 + (1.0 - b2) * g * g
            bc1 = 1.0 - b1 ** (t + self.offset)
            bc2 = 1.0 - b2 ** (t + self.offset)
            if h["amsgrad"]:
                self.s2 = np.maximum(self.s2, self.s1)     # max of the raw v
                v = self.s2
            else:
                v = self.s1
            eff = (lr / bc1) / (np.sqrt(v) / np.sqrt(bc2) + h["eps"])
            new = theta - eff * self.s0
        else:
            raise ValueError(self.kind)
        return soft_threshold(new, l1 * eff)


def rule_fit(X, Y, sample_weight=None, *, optimizer, lr, batch_size=1,
             loss="squared_error", epsilon=0.1, penalty="l2", alpha=1e-4,
             l1_ratio=0.15, fit_intercept=True, learning_rate="invscaling",
             power_t=0.25, clip_grad_norm=None, average=False, n_epochs=1,
             tol=None, n_iter_no_change=5, hyper=None, bias_power_offset=0,
             clip_eps=1e-6):
    """SGDRegressor(optimizer=...) with shuffle=False, as documented, in NumPy.

    X: dense (n, d); Y: (n,) or (n, K). Every target's coef and intercept are
    one parameter vector for the rule, in K blocks of (coef, intercept); the
    intercepts are neither penalised nor decayed, and are not stepped without
    fit_intercept. A step's data gradient is the sample's (batch_size=1) or
    the batch's mean (batch_size=k; None: all rows) of
    sw_i dloss(y_it, x_i . w_t + b_t) (x_i, 1), clipped jointly over the
    targets (clip_scale; the intercepts' part only with fit_intercept); the
    L2 part of the penalty alpha (1 - l1_ratio) is the rule's coupled weight
    decay (AdamW: decoupled), the L1 part alpha l1_ratio its proximal step;
    lr is scheduled by the step count (invscaling: lr / t ** power_t).
    ``average``: after each step that brings the samples seen to at least
    ``average`` (True: 1), the running mean of the parameters takes the new
    iterate, and coef_ / intercept_ are that mean once it has started.
    The objective of an epoch is the mean weighted loss of the samples at
    the parameters they were read with, plus the penalty after the epoch
    (full batch: before its only step, i.e. the exact objective there).
    ``hyper`` overrides the rule's torch defaults (RULE_DEFAULTS).
    """
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    Y = Y.reshape(len(Y), -1)
    n, d = X.shape
    K = Y.shape[1]
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    B = n if batch_size is None else batch_size
    kind, defaults = RULE_DEFAULTS[optimizer]
    r = l1_ratio_of(penalty, l1_ratio)
    a2 = alpha * (1.0 - r) if penalty is not None else 0.0
    a1 = alpha * r if penalty is not None else 0.0
    is_coef = np.ones((K, d + 1), dtype=bool)
    is_coef[:, d] = False
    is_coef = is_coef.ravel()
    wd = np.where(is_coef, 0.0 if kind == "adamw" else a2, 0.0)
    decay = np.where(is_coef, a2 if kind == "adamw" else 0.0, 0.0)
    l1 = np.where(is_coef, a1, 0.0)
    active = np.ones(K * (d + 1), dtype=bool) if fit_intercept else is_coef
    rule = RuleReference(kind, int(active.sum()), bias_power_offset,
                         **{**defaults, **(hyper or {})})
    fi = 1.0 if fit_intercept else 0.0
    theta = np.zeros(K * (d + 1))
    start = average_start(average)
    avg = np.zeros_like(theta)
    count = seen = step = 0
    stopping = StoppingRule(learning_rate, lr, tol, n_iter_no_change)
    curve = []

    def penalty_of(theta):
        T = theta.reshape(K, d + 1)
        return sum(penalty_value(T[k, :d], penalty, alpha, l1_ratio) for k in range(K))

    for _ in range(n_epochs):
        loss_sum = 0.0
        pen_start = penalty_of(theta)
        for s in range(0, n, B):
            rows = np.arange(s, min(s + B, n))
            T = theta.reshape(K, d + 1)
            P = X[rows] @ T[:, :d].T + T[:, d]                     # (b, K)
            loss_sum += np.sum(sw[rows, None] * loss_value(loss, Y[rows], P, epsilon))
            C = sw[rows, None] * dloss(loss, Y[rows], P, epsilon)  # (b, K)
            G = np.concatenate([C.T @ X[rows], C.sum(axis=0)[:, None]], axis=1) / len(rows)
            if clip_grad_norm is not None:
                norm = np.sqrt(np.sum(G[:, :d] ** 2) + fi * np.sum(G[:, d] ** 2))
                if norm > clip_grad_norm:
                    G = G * (clip_grad_norm / (norm + clip_eps))
            step += 1
            cur = (stopping.eta if learning_rate == "adaptive"
                   else schedule(learning_rate, lr, power_t, step))
            new = rule.step(theta[active], G.ravel()[active], cur, step, wd[active],
                            decay[active], l1[active])
            theta = theta.copy()
            theta[active] = new
            seen += len(rows)
            if start and seen >= start:
                count += 1
                avg = avg + (theta - avg) / count
        curve.append(loss_sum / n + (pen_start if batch_size is None else penalty_of(theta)))
        if stopping.end_epoch(curve[-1]):
            break
    out = (avg if start and start <= seen else theta).reshape(K, d + 1)
    return dict(coef=out[:, :d], intercept=out[:, d], loss_curve=np.array(curve),
                t=seen + 1, n_iter=len(curve), etas=stopping.etas,
                margins=stopping.margins)


# -- torch.optim as the reference of the update rules -------------------------
TORCH_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop",
                    "adadelta", "adam", "amsgrad", "adamw")


def _torch_optimizer(torch, name, w, b, lr, alpha_l2):
    groups = [{"params": [w]}] + ([{"params": [b]}] if b is not None else [])
    if name == "adamw":
        groups[0]["weight_decay"] = alpha_l2   # decoupled, on the coef only
        for g in groups[1:]:
            g["weight_decay"] = 0.0
        return torch.optim.AdamW(groups, lr=lr, foreach=False)
    makers = {
        "sgd": lambda: torch.optim.SGD(groups, lr=lr, foreach=False),
        "momentum": lambda: torch.optim.SGD(groups, lr=lr, momentum=0.9, foreach=False),
        "nesterov": lambda: torch.optim.SGD(groups, lr=lr, momentum=0.9,
                                            nesterov=True, foreach=False),
        "adagrad": lambda: torch.optim.Adagrad(groups, lr=lr, foreach=False),
        "rmsprop": lambda: torch.optim.RMSprop(groups, lr=lr, foreach=False),
        "adadelta": lambda: torch.optim.Adadelta(groups, lr=lr, foreach=False),
        "adam": lambda: torch.optim.Adam(groups, lr=lr, foreach=False),
        "amsgrad": lambda: torch.optim.Adam(groups, lr=lr, amsgrad=True, foreach=False),
    }
    return makers[name]()


def _torch_effective_step(torch, name, opt, w, lr, acc_delta_before):
    """Each coordinate's step size (what multiplies the gradient), read from
    the torch optimizer's state after its step."""
    st = opt.state[w]
    if name in ("momentum", "nesterov"):
        # the momentum buffer's gain 1 / (1 - 0.9) on the L1 threshold: a step
        # moves w by lr g / (1 - momentum) at the fixed point
        return torch.full_like(w, lr / (1.0 - 0.9))
    if name == "sgd":
        return torch.full_like(w, lr)
    if name == "adagrad":
        return lr / (st["sum"].sqrt() + 1e-10)
    if name == "rmsprop":
        return lr / (st["square_avg"].sqrt() + 1e-8)
    if name == "adadelta":
        return lr * (acc_delta_before + 1e-6).sqrt() / (st["square_avg"] + 1e-6).sqrt()
    step = float(st["step"])
    v = st["max_exp_avg_sq"] if name == "amsgrad" else st["exp_avg_sq"]
    bc1 = 1.0 - 0.9 ** step
    bc2 = 1.0 - 0.999 ** step
    return (lr / bc1) / (v.sqrt() / bc2 ** 0.5 + 1e-8)


def torch_batched(X, y, sample_weight=None, *, optimizer, batch_size, lr,
                  loss="squared_error", epsilon=0.1, penalty="l2", alpha=1e-4,
                  l1_ratio=0.15, fit_intercept=True, learning_rate="constant",
                  power_t=0.25, clip_grad_norm=None, average=False, n_epochs=1):
    """Mini-/full-batch training with torch.optim and autograd, storage order.

    Per step: data loss = sum_i sw_i loss_i / batch, its gradient by autograd,
    optionally ``torch.nn.utils.clip_grad_norm_``; then the L2 part of the
    penalty added to the coef gradient (AdamW: as its own decoupled
    weight_decay on the coef), ``opt.step()`` with the scheduled lr, then the
    L1 part as a soft-threshold of the coef at alpha * l1_ratio * effective step;
    with ``average``, the running mean of the iterates after every step once
    ``average`` samples have been seen (True: 1).
    """
    import torch

    n, d = X.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    B = n if batch_size is None else batch_size
    r = l1_ratio_of(penalty, l1_ratio)
    a2 = alpha * (1.0 - r) if penalty is not None else 0.0
    a1 = alpha * r if penalty is not None else 0.0
    Xt, yt, swt = (torch.tensor(a, dtype=torch.float64) for a in (X, y, sw))
    w = torch.zeros(d, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True) if fit_intercept else None
    opt = _torch_optimizer(torch, optimizer, w, b, lr, a2)
    params = [w] + ([b] if b is not None else [])
    start = average_start(average)
    avg_w, avg_b, count, seen = np.zeros(d), 0.0, 0, 0
    step = 0
    for _ in range(n_epochs):
        for s in range(0, n, B):
            Xb, yb, swb = Xt[s:s + B], yt[s:s + B], swt[s:s + B]
            opt.zero_grad()
            p = Xb @ w + (b if b is not None else 0.0)
            if loss == "squared_error":
                li = 0.5 * (p - yb) ** 2
            elif loss == "huber":
                li = torch.nn.functional.huber_loss(p, yb, reduction="none", delta=epsilon)
            else:
                raise ValueError(loss)
            (torch.sum(swb * li) / len(yb)).backward()
            if clip_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
            if a2 and optimizer != "adamw":
                with torch.no_grad():
                    w.grad += a2 * w
            step += 1
            cur = schedule(learning_rate, lr, power_t, step)
            for g in opt.param_groups:
                g["lr"] = cur
            acc_before = (opt.state[w]["acc_delta"].clone()
                          if optimizer == "adadelta" and "acc_delta" in opt.state[w]
                          else torch.zeros_like(w))
            opt.step()
            if a1:
                with torch.no_grad():
                    eff = _torch_effective_step(torch, optimizer, opt, w, cur, acc_before)
                    w.copy_(torch.sign(w) * torch.clamp(w.abs() - a1 * eff, min=0.0))
            seen += len(yb)
            if start and seen >= start:
                count += 1
                avg_w = avg_w + (w.detach().numpy() - avg_w) / count
                b_now = float(b.detach()[0]) if b is not None else 0.0
                avg_b = avg_b + (b_now - avg_b) / count
    if start and start <= seen:
        return dict(coef=avg_w, intercept=avg_b)
    return dict(coef=w.detach().numpy().copy(),
                intercept=float(b.detach()[0]) if b is not None else 0.0)
