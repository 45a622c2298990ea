"""References for tests/test_lr_schedulers.py: transcriptions of the
formulas torch.optim.lr_scheduler documents (2.x), written in plain Python
independently of descent.schedules, the table of cases (descent's schedule,
torch's, the transcription), and a driver of torch's schedulers.

Each transcription returns the list of the learning rates of steps 0..n-1 for
the base learning rate ``base`` (the optimizer's initial lr).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from _require import require
from descent.schedules import (
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRSchedule,
    MultiStepLR,
    OneCycleLR,
    PolynomialLR,
    SequentialLR,
    StepLR,
)

N = 1000
TOL = 1e-12         # in units of the base learning rate


def closed(formula):
    return lambda base, n: [formula(base, t) for t in range(n)]


def ref_step(step_size, gamma=0.1):
    # "Decays the learning rate ... by gamma every step_size epochs"
    return closed(lambda base, t: base * gamma ** (t // step_size))


def ref_multistep(milestones, gamma=0.1):
    # "... by gamma once the number of epoch reaches one of the milestones"
    return closed(lambda base, t: base * gamma ** sum(1 for m in milestones if t >= m))


def ref_exponential(gamma):
    return closed(lambda base, t: base * gamma ** t)


def ref_cosine(T_max, eta_min=0.0):
    # eta_t = eta_min + 1/2 (eta_max - eta_min) (1 + cos(T_cur pi / T_max)), T_cur = t
    return closed(lambda base, t: eta_min + 0.5 * (base - eta_min)
                  * (1 + math.cos(t * math.pi / T_max)))


def ref_warm_restarts(T_0, T_mult=1, eta_min=0.0):
    # T_cur counts the epochs since the last restart; at T_cur = T_i a restart:
    # T_cur = 0 (eta = eta_max) and T_i grows by T_mult
    def values(base, n):
        out, T_cur, T_i = [], 0, T_0
        for _ in range(n):
            out.append(eta_min + 0.5 * (base - eta_min) * (1 + math.cos(math.pi * T_cur / T_i)))
            T_cur += 1
            if T_cur == T_i:
                T_cur, T_i = 0, T_i * T_mult
        return out
    return values


def ref_linear(start_factor=1 / 3, end_factor=1.0, total_iters=5):
    return closed(lambda base, t: base * (
        start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters))


def ref_polynomial(total_iters=5, power=1.0):
    # base_lr * (1 - last_epoch / total_iters) ** power, constant after total_iters
    return closed(lambda base, t: base * (1 - min(t, total_iters) / total_iters) ** power)


def ref_lambda(fn):
    return closed(lambda base, t: base * fn(t))


def one_cycle_curve(t, total_steps, pct_start, three_phase, cos, initial, peak, final):
    """A 1cycle quantity at step t: from ``initial`` up to ``peak`` at step
    pct_start * total_steps - 1, then down to ``final`` at total_steps - 1
    (three_phase: back to ``initial`` at twice that first step, then to
    ``final``), along half cosines or lines."""
    turn = pct_start * total_steps - 1
    if three_phase:
        knots = [(0.0, initial), (turn, peak), (2 * turn, initial), (total_steps - 1, final)]
    else:
        knots = [(0.0, initial), (turn, peak), (total_steps - 1, final)]
    for k in range(1, len(knots)):
        if t <= knots[k][0] or k == len(knots) - 1:
            (t0, v0), (t1, v1) = knots[k - 1], knots[k]
            p = (t - t0) / (t1 - t0)
            shape = (1 - math.cos(math.pi * p)) / 2 if cos else p
            return v0 + (v1 - v0) * shape
    raise AssertionError("unreachable")


def ref_one_cycle(max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                  pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
                  final_div_factor=1e4, three_phase=False, momentum=False,
                  base_momentum=0.85, max_momentum=0.95):
    total = total_steps if total_steps is not None else epochs * steps_per_epoch
    initial = max_lr / div_factor
    if momentum:
        ends = (max_momentum, base_momentum, max_momentum)
    else:
        ends = (initial, max_lr, initial / final_div_factor)
    return lambda base, n: [one_cycle_curve(t, total, pct_start, three_phase,
                                            anneal_strategy == "cos", *ends)
                            for t in range(n)]


def ref_sequential(refs, milestones):
    starts = [0, *milestones]

    def values(base, n):
        out = []
        for t in range(n):
            k = sum(1 for m in milestones if t >= m)
            out.append(refs[k](base, t - starts[k] + 1)[-1])
        return out
    return values


def ref_plateau(base, metrics, mode="min", factor=0.1, patience=10, threshold=1e-4,
                threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
    """lrs[k]: the learning rate after k metrics (torch's documented rules)."""
    lr, bad, cool = base, 0, 0
    best = math.inf if mode == "min" else -math.inf
    lrs = [lr]
    for metric in metrics:
        if threshold_mode == "rel":
            bound = best * (1 - threshold) if mode == "min" else best * (1 + threshold)
        else:
            bound = best - threshold if mode == "min" else best + threshold
        if (metric < bound) if mode == "min" else (metric > bound):
            best, bad = metric, 0
        else:
            bad += 1
        if cool > 0:                 # "epochs to wait before resuming normal operation"
            cool -= 1
            bad = 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > eps:
                lr = new
            cool, bad = cooldown, 0
        lrs.append(lr)
    return lrs


def inv_sqrt(t, scale=1.0):
    """A module-level lr_lambda: picklable (also through functools.partial)."""
    return 1.0 / math.sqrt(1.0 + t / scale)


# ---------------------------------------------------------------------------
# The cases: descent's schedule, torch's, the transcription.

class Case(NamedTuple):
    id: str
    mine: Callable[[], LRSchedule]
    torch: Callable[[Any, Any], Any]        # (lr_scheduler module, optimizer) -> scheduler
    ref: Callable[[float, int], list]
    torch_tol: float = TOL


CASES = [
    Case("step-7", lambda: StepLR(7, gamma=0.5), lambda L, o: L.StepLR(o, 7, gamma=0.5),
         ref_step(7, 0.5)),
    Case("step-default-gamma", lambda: StepLR(step_size=30), lambda L, o: L.StepLR(o, 30),
         ref_step(30)),
    Case("step-1-growing", lambda: StepLR(1, gamma=1.001), lambda L, o: L.StepLR(o, 1, 1.001),
         ref_step(1, 1.001)),
    Case("multistep", lambda: MultiStepLR([30, 80, 500]),
         lambda L, o: L.MultiStepLR(o, [30, 80, 500]), ref_multistep([30, 80, 500])),
    Case("multistep-repeated-unsorted", lambda: MultiStepLR([80, 0, 80, 30], gamma=0.5),
         lambda L, o: L.MultiStepLR(o, [80, 0, 80, 30], gamma=0.5),
         ref_multistep([80, 0, 80, 30], 0.5)),
    Case("exponential", lambda: ExponentialLR(0.995), lambda L, o: L.ExponentialLR(o, 0.995),
         ref_exponential(0.995)),
    Case("exponential-growing", lambda: ExponentialLR(gamma=1.001),
         lambda L, o: L.ExponentialLR(o, 1.001), ref_exponential(1.001)),
    Case("cosine-100", lambda: CosineAnnealingLR(100), lambda L, o: L.CosineAnnealingLR(o, 100),
         ref_cosine(100)),
    Case("cosine-7-eta_min", lambda: CosineAnnealingLR(7, eta_min=0.01),
         lambda L, o: L.CosineAnnealingLR(o, 7, eta_min=0.01), ref_cosine(7, 0.01)),
    Case("cosine-999", lambda: CosineAnnealingLR(T_max=999, eta_min=0.001),
         lambda L, o: L.CosineAnnealingLR(o, 999, 0.001), ref_cosine(999, 0.001)),
    # torch's recursive form multiplies the rounding error of the step at the
    # trough (t = T_max) by 1 / (1 + cos(pi / T_max)) ~ 2 T_max^2 / pi^2 on the
    # way back up: 1.4e-12 of the base rate here, with eta_min = 0.5 (of base
    # 1). The transcription, which is the closed form, agrees to 1e-15.
    Case("cosine-333-past-trough", lambda: CosineAnnealingLR(333, eta_min=0.5),
         lambda L, o: L.CosineAnnealingLR(o, 333, 0.5), ref_cosine(333, 0.5), 2e-12),
    Case("warm-restarts-10", lambda: CosineAnnealingWarmRestarts(10),
         lambda L, o: L.CosineAnnealingWarmRestarts(o, 10), ref_warm_restarts(10)),
    Case("warm-restarts-3x2", lambda: CosineAnnealingWarmRestarts(3, T_mult=2, eta_min=0.01),
         lambda L, o: L.CosineAnnealingWarmRestarts(o, 3, 2, 0.01), ref_warm_restarts(3, 2, 0.01)),
    Case("warm-restarts-1x3", lambda: CosineAnnealingWarmRestarts(1, 3),
         lambda L, o: L.CosineAnnealingWarmRestarts(o, 1, 3), ref_warm_restarts(1, 3)),
    Case("linear-default", LinearLR, lambda L, o: L.LinearLR(o), ref_linear()),
    Case("linear-warmup-400", lambda: LinearLR(start_factor=0.01, total_iters=400),
         lambda L, o: L.LinearLR(o, 0.01, total_iters=400), ref_linear(0.01, 1.0, 400)),
    Case("linear-decay-to-0", lambda: LinearLR(1.0, 0.0, 999),
         lambda L, o: L.LinearLR(o, 1.0, 0.0, 999), ref_linear(1.0, 0.0, 999)),
    Case("polynomial-default", PolynomialLR, lambda L, o: L.PolynomialLR(o),
         ref_polynomial()),
    Case("polynomial-900-2.5", lambda: PolynomialLR(900, power=2.5),
         lambda L, o: L.PolynomialLR(o, 900, 2.5), ref_polynomial(900, 2.5)),
    Case("polynomial-999-0.5", lambda: PolynomialLR(999, 0.5),
         lambda L, o: L.PolynomialLR(o, 999, 0.5), ref_polynomial(999, 0.5)),
    Case("lambda", lambda: LambdaLR(functools.partial(inv_sqrt, scale=10.0)),
         lambda L, o: L.LambdaLR(o, functools.partial(inv_sqrt, scale=10.0)),
         ref_lambda(functools.partial(inv_sqrt, scale=10.0))),
    Case("one-cycle-default", lambda: OneCycleLR(2.0, total_steps=1000),
         lambda L, o: L.OneCycleLR(o, 2.0, total_steps=1000), ref_one_cycle(2.0, 1000)),
    Case("one-cycle-3phase-linear",
         lambda: OneCycleLR(0.5, epochs=10, steps_per_epoch=100, pct_start=0.25,
                            anneal_strategy="linear", three_phase=True),
         lambda L, o: L.OneCycleLR(o, 0.5, epochs=10, steps_per_epoch=100, pct_start=0.25,
                                   anneal_strategy="linear", three_phase=True),
         ref_one_cycle(0.5, None, 10, 100, 0.25, "linear", three_phase=True)),
    Case("one-cycle-3phase-cos",
         lambda: OneCycleLR(0.3, total_steps=1001, pct_start=0.4, div_factor=10.0,
                            final_div_factor=100.0, three_phase=True),
         lambda L, o: L.OneCycleLR(o, 0.3, total_steps=1001, pct_start=0.4, div_factor=10.0,
                                   final_div_factor=100.0, three_phase=True),
         ref_one_cycle(0.3, 1001, pct_start=0.4, div_factor=10.0, final_div_factor=100.0,
                       three_phase=True)),
    Case("sequential-warmup-cosine-exp",
         lambda: SequentialLR([LinearLR(0.1, total_iters=50), CosineAnnealingLR(300, 0.01),
                               ExponentialLR(0.99)], milestones=[50, 350]),
         lambda L, o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=50),
                                         L.CosineAnnealingLR(o, 300, 0.01),
                                         L.ExponentialLR(o, 0.99)], milestones=[50, 350]),
         ref_sequential([ref_linear(0.1, 1.0, 50), ref_cosine(300, 0.01),
                         ref_exponential(0.99)], [50, 350])),
    Case("sequential-step-restarts-poly",
         lambda: SequentialLR([StepLR(10, 0.5), CosineAnnealingWarmRestarts(20, 2),
                               PolynomialLR(200, 2.0)], [35, 600]),
         lambda L, o: L.SequentialLR(o, [L.StepLR(o, 10, 0.5),
                                         L.CosineAnnealingWarmRestarts(o, 20, 2),
                                         L.PolynomialLR(o, 200, 2.0)], [35, 600]),
         ref_sequential([ref_step(10, 0.5), ref_warm_restarts(20, 2),
                         ref_polynomial(200, 2.0)], [35, 600])),
]
CASE_IDS = [case.id for case in CASES]


def deviation(got, want, base):
    """max |got - want| in units of the base learning rate."""
    return float(np.max(np.abs(np.asarray(got) - np.asarray(want)))) / base


def drive_torch(lr_scheduler, make, base, n=N, metrics=None):
    """The learning rates of steps 0..n-1 of torch's scheduler on a dummy SGD
    optimizer (optimizer.step(), then scheduler.step(), as torch asks)."""
    torch = require("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = make(lr_scheduler, opt)
    lrs = [opt.param_groups[0]["lr"]]
    for t in range(n - 1):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[t])
        lrs.append(opt.param_groups[0]["lr"])
    return np.array(lrs)


# ReduceLROnPlateau's metrics and settings

def metric_series(seed, n=N, sign=1.0):
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    series = 1.0 / (1.0 + t / 40.0) + 0.02 * rng.randn(n)
    series[300:420] = series[299]                 # a flat stretch
    return sign * series


PLATEAU_SETTINGS = [
    {},
    {"patience": 3, "factor": 0.5},
    {"patience": 0, "factor": 0.9, "cooldown": 5},
    {"patience": 2, "factor": 0.7, "threshold": 1e-2, "threshold_mode": "abs", "min_lr": 1e-3},
    {"mode": "max", "patience": 4, "factor": 0.5, "threshold": 0.01},
    {"mode": "max", "patience": 1, "threshold_mode": "abs", "threshold": 0.0, "cooldown": 2},
    {"patience": 1, "factor": 0.8, "eps": 0.004},             # eps stops small reductions
]
