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


# -- per-sample SGD (scikit-learn's plain SGD, storage order) -----------------
def sgd_per_sample(X, y, sample_weight=None, *, loss="squared_error", epsilon=0.1,
                   penalty="l2", alpha=1e-4, l1_ratio=0.15, fit_intercept=True,
                   learning_rate="invscaling", eta0=0.01, power_t=0.25,
                   average=False, n_epochs=1, order=None):
    """Per-sample SGD exactly as the brief's formulas, sample by sample.

    Returns dict(coef, intercept, raw_coef, raw_intercept, loss_curve, t) where
    coef/intercept are what ``coef_``/``intercept_`` must be (averaged once the
    averaging has started) and loss_curve the per-epoch objective.
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
    for _ in range(n_epochs):
        loss_sum = 0.0
        for i in order:
            x = X[i]
            p = float(np.dot(w, x) + b)
            eta = schedule(learning_rate, eta0, power_t, t)
            loss_sum += sw[i] * float(loss_value(loss, y[i], p, epsilon))
            update = -eta * float(dloss(loss, y[i], p, epsilon)) * sw[i]
            if has_l2:
                w = w * max(0.0, 1.0 - eta * alpha * (1.0 - r))
            w = w + update * x
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
        curve.append(loss_sum / n + penalty_value(w, penalty, alpha, l1_ratio))
    averaged = start and start <= t - 1
    return dict(coef=avg_w if averaged else w, intercept=avg_b if averaged else b,
                raw_coef=w, raw_intercept=b, loss_curve=np.array(curve), t=t)


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
    if name in ("sgd", "momentum", "nesterov"):
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
