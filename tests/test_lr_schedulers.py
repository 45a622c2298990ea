"""Tests of descent.schedules (learning-rate schedules; tests/test_schedules.py
is about SGDRegressor's learning_rate strings).

Every schedule, with several parameter settings, over 1,000 steps:
(1) ``lr`` equals a transcription of the formula torch.optim.lr_scheduler
documents, written in plain Python independently of the implementation
(tests/_lr_reference.py, with the table of cases);
(2) it equals torch's scheduler driving a dummy torch optimizer, i.e. torch's
recursive updates; (3) the scikit-learn parameter protocol and pickling;
(4) invalid parameters raise ValueError naming them; (5) the driver with
descent.optim.SGD in a user loop gives torch's learning rates (and
parameters); (6) ReduceLROnPlateau after a warm-up in SequentialLR behaves as
the module docstring says. Agreement is measured in units of the base
learning rate: |lr - reference| <= TOL * base_lr.
"""

from __future__ import annotations

import doctest
import inspect
import math
import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import ParameterGrid

from _lr_reference import (
    CASE_IDS,
    CASES,
    PLATEAU_SETTINGS,
    TOL,
    N,
    deviation,
    drive_torch,
    metric_series,
    ref_one_cycle,
    ref_plateau,
)
from _require import require
from descent import _lr_base, _lr_closed, _lr_cosine, _lr_plateau, schedules
from descent.optim import SGD, Adagrad, Adam
from descent.schedules import (
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    PolynomialLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)

BASES = (0.05, 1.0)


@pytest.fixture(scope="module")
def lr_scheduler():
    return require("torch").optim.lr_scheduler


# ---------------------------------------------------------------------------
# (1) and (2): the transcriptions and torch, 1,000 steps

@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_lr_equals_documented_formula(case, base):
    got = case.mine().lr(base, np.arange(N))
    assert got.dtype == np.float64 and got.shape == (N,)
    assert deviation(got, case.ref(base, N), base) <= TOL


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_lr_equals_torch_recursive_scheduler(lr_scheduler, case, base):
    want = drive_torch(lr_scheduler, case.torch, base)
    assert deviation(case.mine().lr(base, np.arange(N)), want, base) <= case.torch_tol


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_lr_blocks_and_shapes(case):
    sched = case.mine()
    full = sched.lr(0.1, np.arange(N))
    for start, stop in [(0, 1), (3, 97), (500, 1000), (999, 1000)]:
        np.testing.assert_array_equal(sched.lr(0.1, np.arange(start, stop)), full[start:stop])
    np.testing.assert_array_equal(sched.lr(0.1, [[5, 6], [7, 8]]), full[5:9].reshape(2, 2))
    assert sched.lr(0.1, 4).shape == () and sched.lr(0.1, 4) == full[4]
    assert sched.lr(0.1, []).shape == (0,)
    assert sched.lr(0.1, np.arange(10, dtype=np.uint8)).tolist() == full[:10].tolist()


def test_one_cycle_momentum_equals_transcription_and_step_total_steps(lr_scheduler):
    sched = OneCycleLR(1.0, total_steps=200, pct_start=0.35, base_momentum=0.8, three_phase=True)
    ref = ref_one_cycle(1.0, 200, pct_start=0.35, three_phase=True, momentum=True,
                        base_momentum=0.8)(1.0, 201)
    assert deviation(sched.momentum(np.arange(201)), ref, 1.0) <= TOL
    # torch allows step total_steps (the last phase extended) and no later one
    want = drive_torch(lr_scheduler, lambda L, o: L.OneCycleLR(o, 1.0, total_steps=200), 1.0,
                       n=201)
    assert deviation(OneCycleLR(1.0, total_steps=200).lr(1.0, np.arange(201)), want, 1.0) <= TOL
    with pytest.raises(ValueError, match="total_steps=200"):
        sched.lr(1.0, [201])


def test_one_cycle_phase_of_no_length_is_refused_where_torch_divides_by_zero():
    sched = OneCycleLR(1.0, total_steps=10, pct_start=0.1)     # first phase: step 0 only
    with pytest.raises(ValueError, match="phase of no length"):
        sched.lr(1.0, [0])
    assert sched.lr(1.0, np.arange(1, 11)).shape == (10,)


# ---------------------------------------------------------------------------
# (3) parameters: torch's names and defaults, scikit-learn protocol, pickling

TORCH_TWINS = [StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR,
               CosineAnnealingWarmRestarts, LinearLR, OneCycleLR, PolynomialLR, LambdaLR,
               SequentialLR, ReduceLROnPlateau]


@pytest.mark.parametrize("cls", TORCH_TWINS, ids=lambda cls: cls.__name__)
def test_constructor_parameters_are_torchs(lr_scheduler, cls):
    def params(c, drop):
        return [(p.name, p.default) for p in inspect.signature(c).parameters.values()
                if p.name not in drop]
    theirs = params(getattr(lr_scheduler, cls.__name__), ("optimizer", "last_epoch"))
    assert params(cls, ("unit",)) == theirs
    has_unit = "unit" in inspect.signature(cls).parameters
    assert has_unit == (cls not in (SequentialLR, ReduceLROnPlateau))


def test_units():
    assert all(case.mine().unit == ("update" if case.id.startswith("one-cycle") else "epoch")
               for case in CASES)
    assert ReduceLROnPlateau().unit == "epoch" and "unit" not in ReduceLROnPlateau().get_params()
    assert CosineAnnealingLR(10, unit="update").lr(1.0, [5]) == CosineAnnealingLR(10).lr(1.0, [5])
    seq = SequentialLR([LinearLR(unit="update"), OneCycleLR(1.0, 10)], [5])
    with pytest.raises(ValueError, match="schedulers"):
        seq.lr(1.0, [0])                                 # OneCycleLR refused
    seq = SequentialLR([LinearLR(unit="update"), CosineAnnealingLR(10, unit="update")], [5])
    assert seq.unit == "update"
    seq.set_params(schedulers=[LinearLR(unit="update"), ReduceLROnPlateau()])
    with pytest.raises(ValueError, match="same unit"):
        seq.start(1.0)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_clone_and_params_round_trip(case):
    sched = case.mine()
    want = sched.lr(0.1, np.arange(300))
    twin = clone(sched)
    assert twin is not sched and type(twin) is type(sched)
    np.testing.assert_array_equal(twin.lr(0.1, np.arange(300)), want)
    np.testing.assert_array_equal(
        type(sched)(**sched.get_params(deep=False)).lr(0.1, np.arange(300)), want)
    np.testing.assert_array_equal(
        case.mine().set_params(**sched.get_params(deep=False)).lr(0.1, np.arange(300)), want)
    repr(sched)
    # a clone has parameters, not a run
    sched.start(0.1)
    with pytest.raises(RuntimeError, match="attach"):
        clone(sched).get_last_lr()


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_pickle_round_trip_mid_run(case):
    sched = case.mine().start(0.1)
    for _ in range(17):
        sched.step()
    copy = pickle.loads(pickle.dumps(sched))
    assert copy.get_params().keys() == sched.get_params().keys()
    assert copy.state_dict() == sched.state_dict() and copy.last_epoch == 17
    for _ in range(50):
        sched.step()
        copy.step()
        assert copy.get_last_lr() == sched.get_last_lr()


def test_set_params_and_nested_grid_addressing():
    class Holder(BaseEstimator):
        def __init__(self, learning_rate=None):
            self.learning_rate = learning_rate

    holder = Holder(learning_rate=CosineAnnealingLR(T_max=10))
    holder.set_params(learning_rate__T_max=20, learning_rate__eta_min=0.01)
    assert holder.learning_rate.T_max == 20
    np.testing.assert_array_equal(holder.learning_rate.lr(1.0, [20]), [0.01])
    assert holder.get_params()["learning_rate__T_max"] == 20
    seen = []
    for params in ParameterGrid({"learning_rate__T_max": [5, 50],
                                 "learning_rate__unit": ["epoch", "update"]}):
        model = clone(holder).set_params(**params)
        seen.append((model.learning_rate.T_max, model.learning_rate.unit,
                     float(model.learning_rate.lr(1.0, [5])[0])))
    at_5_of_50 = 0.01 + 0.99 * (1 + math.cos(math.pi / 10)) / 2      # eta_min = 0.01 kept
    assert seen == [(5, "epoch", 0.01), (5, "update", 0.01),
                    (50, "epoch", pytest.approx(at_5_of_50, abs=1e-15)),
                    (50, "update", pytest.approx(at_5_of_50, abs=1e-15))]
    # the constructor stores; nothing is checked until use
    bad = StepLR(step_size=0)
    assert bad.get_params()["step_size"] == 0


# ---------------------------------------------------------------------------
# (4) invalid parameters

PLATEAU = ReduceLROnPlateau()
INVALID = [
    (lambda: StepLR(0), "step_size"), (lambda: StepLR(2.5), "step_size"),
    (lambda: StepLR(True), "step_size"), (lambda: StepLR(3, gamma=-0.1), "gamma"),
    (lambda: StepLR(3, gamma=float("nan")), "gamma"), (lambda: StepLR(3, unit="batch"), "unit"),
    (lambda: MultiStepLR("30"), "milestones"), (lambda: MultiStepLR([3, -1]), "milestones"),
    (lambda: MultiStepLR([3.5]), "milestones"), (lambda: MultiStepLR([3], gamma="0.1"), "gamma"),
    (lambda: ExponentialLR(float("inf")), "gamma"), (lambda: ExponentialLR(0.9, unit=None), "unit"),
    (lambda: CosineAnnealingLR(0), "T_max"), (lambda: CosineAnnealingLR(10.0), "T_max"),
    (lambda: CosineAnnealingLR(10, eta_min=-1e-3), "eta_min"),
    (lambda: CosineAnnealingWarmRestarts(0), "T_0"),
    (lambda: CosineAnnealingWarmRestarts(5, T_mult=0), "T_mult"),
    (lambda: CosineAnnealingWarmRestarts(5, T_mult=1.5), "T_mult"),
    (lambda: CosineAnnealingWarmRestarts(5, eta_min=float("nan")), "eta_min"),
    (lambda: LinearLR(start_factor=0.0), "start_factor"),
    (lambda: LinearLR(start_factor=1.5), "start_factor"),
    (lambda: LinearLR(end_factor=-0.5), "end_factor"),
    (lambda: LinearLR(end_factor=1.01), "end_factor"),
    (lambda: LinearLR(total_iters=0), "total_iters"),
    (lambda: PolynomialLR(total_iters=-2), "total_iters"),
    (lambda: PolynomialLR(power=-1.0), "power"),
    (lambda: LambdaLR(3.0), "lr_lambda"),
    (lambda: LambdaLR(lambda t: float("nan")), "lr_lambda"),
    (lambda: LambdaLR(lambda t: "0.5"), "lr_lambda"),
    (lambda: OneCycleLR(0.0, 10), "max_lr"), (lambda: OneCycleLR(1.0, 0), "total_steps"),
    (lambda: OneCycleLR(1.0), "total_steps"), (lambda: OneCycleLR(1.0, epochs=3), "total_steps"),
    (lambda: OneCycleLR(1.0, epochs=0, steps_per_epoch=5), "epochs"),
    (lambda: OneCycleLR(1.0, epochs=3, steps_per_epoch=2.0), "steps_per_epoch"),
    (lambda: OneCycleLR(1.0, 10, pct_start=1.5), "pct_start"),
    (lambda: OneCycleLR(1.0, 10, anneal_strategy="exp"), "anneal_strategy"),
    (lambda: OneCycleLR(1.0, 10, cycle_momentum="yes"), "cycle_momentum"),
    (lambda: OneCycleLR(1.0, 10, base_momentum=-0.1), "base_momentum"),
    (lambda: OneCycleLR(1.0, 10, max_momentum=float("nan")), "max_momentum"),
    (lambda: OneCycleLR(1.0, 10, div_factor=0.0), "div_factor"),
    (lambda: OneCycleLR(1.0, 10, final_div_factor=-1.0), "final_div_factor"),
    (lambda: OneCycleLR(1.0, 10, three_phase=1), "three_phase"),
    (lambda: OneCycleLR(1.0, 10, unit="epochs"), "unit"),
    (lambda: ReduceLROnPlateau(mode="mean"), "mode"),
    (lambda: ReduceLROnPlateau(factor=1.0), "factor"),
    (lambda: ReduceLROnPlateau(factor=-0.5), "factor"),
    (lambda: ReduceLROnPlateau(patience=-1), "patience"),
    (lambda: ReduceLROnPlateau(threshold=-1e-4), "threshold"),
    (lambda: ReduceLROnPlateau(threshold_mode="relative"), "threshold_mode"),
    (lambda: ReduceLROnPlateau(cooldown=0.5), "cooldown"),
    (lambda: ReduceLROnPlateau(min_lr=-1.0), "min_lr"),
    (lambda: ReduceLROnPlateau(eps=None), "eps"),
    (lambda: SequentialLR([], []), "schedulers"),
    (lambda: SequentialLR([LinearLR(), "cosine"], [5]), r"schedulers\[1\]"),
    (lambda: SequentialLR([LinearLR(), CosineAnnealingLR(0)], [5]), r"schedulers\[1\]: T_max"),
    (lambda: SequentialLR([LinearLR(), StepLR(3)], []), "milestones"),
    (lambda: SequentialLR([PLATEAU, LinearLR(), PLATEAU], [3, 6]), r"schedulers\[2\] is"),
    (lambda: SequentialLR([LinearLR(), StepLR(3), StepLR(3)], [5, 5]), r"milestones\[1\]"),
    (lambda: SequentialLR([LinearLR(), StepLR(3)], [0]), r"milestones\[0\]"),
    (lambda: SequentialLR([LinearLR(), StepLR(3)], (2.5,)), r"milestones\[0\]"),
]


@pytest.mark.parametrize("make, name", INVALID,
                         ids=[f"{i}-{name}" for i, (_, name) in enumerate(INVALID)])
def test_invalid_parameter_raises_value_error_naming_it(make, name):
    with pytest.raises(ValueError, match=name):
        make().lr(0.1, np.arange(3))
    if name != "lr_lambda":            # a bad lr_lambda's value shows when it is called
        with pytest.raises(ValueError, match=name):
            make().start(0.1)
        with pytest.raises(ValueError, match=name):
            make().attach(SGD(lr=0.1))


def test_invalid_arguments_of_lr_start_and_driver():
    sched = StepLR(3)
    for base in (-0.1, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="base_lr"):
            sched.lr(base, [0])
        with pytest.raises(ValueError, match="base_lr"):
            sched.start(base)
    for steps in ([-1, 2], [0.5], np.array([1.0])):
        with pytest.raises(ValueError, match="steps"):
            sched.lr(0.1, steps)
    with pytest.raises(RuntimeError, match="attach"):
        sched.step()
    with pytest.raises(TypeError, match=r"descent\.optim"):
        sched.attach(object())
    with pytest.raises(ValueError, match="takes no metric"):
        sched.start(0.1).step(0.5)
    with pytest.raises(ValueError, match="cycle_momentum"):
        OneCycleLR(1.0, 10).attach(Adagrad())
    OneCycleLR(1.0, 10, cycle_momentum=False).attach(Adagrad())
    with pytest.raises(ValueError, match="metrics"):
        ReduceLROnPlateau().start(0.1).step()
    with pytest.raises(ValueError, match="metrics"):
        ReduceLROnPlateau().start(0.1).step("low")
    # stepping beyond total_steps is refused and leaves the run where it was
    cycle = OneCycleLR(1.0, total_steps=3).start(0.1)
    for _ in range(3):
        cycle.step()
    with pytest.raises(ValueError, match="total_steps=3"):
        cycle.step()
    assert cycle.last_epoch == 3


# ---------------------------------------------------------------------------
# (5) the driver with descent.optim in a user loop, against torch's driver

def torch_optimizer(torch, name, param, lr):
    if name == "sgd":
        return torch.optim.SGD([param], lr=lr, momentum=0.9)
    return torch.optim.Adam([param], lr=lr)


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_driver_with_descent_optimizer_equals_torch(lr_scheduler, case, opt_name):
    torch = require("torch")
    base, steps, scale = 0.05, 300, np.array([1.0, 0.3, 2.0])
    theta = np.array([1.0, -2.0, 0.5])
    opt = SGD(lr=base, momentum=0.9) if opt_name == "sgd" else Adam(lr=base)
    sched = case.mine().attach(opt)
    param = torch.tensor(theta.copy(), requires_grad=True)
    topt = torch_optimizer(torch, opt_name, param, base)
    tsched = case.torch(lr_scheduler, topt)
    for t in range(steps):
        assert abs(opt.lr - topt.param_groups[0]["lr"]) <= case.torch_tol * base
        if opt_name == "sgd":
            assert opt.momentum == pytest.approx(topt.param_groups[0]["momentum"], abs=TOL)
        else:
            assert opt.betas[0] == pytest.approx(topt.param_groups[0]["betas"][0], abs=TOL)
        assert sched.get_last_lr() == [opt.lr] and sched.last_epoch == t
        opt.step(theta, scale * theta)                    # gradient of sum(scale theta^2) / 2
        topt.zero_grad()
        (0.5 * (torch.tensor(scale) * param * param).sum()).backward()
        topt.step()
        sched.step()
        tsched.step()
    assert tsched.last_epoch == sched.last_epoch == steps
    np.testing.assert_allclose(theta, param.detach().numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_state_dict_resumes_the_run(case):
    whole = case.mine().attach(SGD(lr=0.1))
    lrs = []
    for _ in range(400):
        whole.step()
        lrs.append(whole.get_last_lr()[0])
    first = case.mine().attach(SGD(lr=0.1))
    for _ in range(150):
        first.step()
    saved = pickle.loads(pickle.dumps(first.state_dict()))
    opt = SGD(lr=0.1)
    second = case.mine().attach(opt).load_state_dict(saved)
    assert second.last_epoch == 150 and second.get_last_lr() == [lrs[149]]
    for t in range(150, 400):
        second.step()
        assert second.get_last_lr() == [lrs[t]] == [opt.lr]


@pytest.mark.parametrize("make", [
    lambda: ReduceLROnPlateau(patience=2, factor=0.5, cooldown=3),
    lambda: SequentialLR([LinearLR(total_iters=40), ReduceLROnPlateau(patience=2, factor=0.5,
                                                                      cooldown=3)], [40]),
], ids=["plateau", "warmup-plateau"])
def test_state_dict_resumes_a_plateau_run(make):
    metrics = metric_series(7, n=400)
    whole = make().start(0.1)
    lrs = []
    for metric in metrics:
        whole.step(metric)
        lrs.append(whole.get_last_lr()[0])
    assert len(set(lrs[150:])) > 1                      # reductions after the resume point
    first = make().start(0.1)
    for metric in metrics[:150]:
        first.step(metric)
    second = make().load_state_dict(pickle.loads(pickle.dumps(first.state_dict())))
    assert second.state_dict() == first.state_dict()
    for t in range(150, 400):
        second.step(metrics[t])
        assert second.get_last_lr() == [lrs[t]]


def test_load_state_dict_refuses_bad_states():
    sched = ReduceLROnPlateau().start(1.0)
    good = sched.state_dict()
    for key, value in [("last_epoch", -1), ("base_lr", float("inf")), ("best", float("nan")),
                       ("num_bad_epochs", 1.5), ("factor", -1.0)]:
        with pytest.raises(ValueError, match=key):
            ReduceLROnPlateau().load_state_dict({**good, key: value})
    with pytest.raises(ValueError, match="cooldown_counter"):
        ReduceLROnPlateau().load_state_dict({k: v for k, v in good.items()
                                             if k != "cooldown_counter"})
    with pytest.raises(ValueError, match="last_epoch"):
        StepLR(3).load_state_dict({})
    seq = SequentialLR([LinearLR(), StepLR(3)], [5])
    with pytest.raises(ValueError, match="schedulers"):
        seq.load_state_dict({"last_epoch": 0, "base_lr": 1.0, "schedulers": [None]})


# ---------------------------------------------------------------------------
# ReduceLROnPlateau: torch's values; (6) after a warm-up

@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("settings", PLATEAU_SETTINGS, ids=repr)
def test_plateau_equals_torch_and_transcription(lr_scheduler, settings, base):
    metrics = metric_series(3, sign=-1.0 if settings.get("mode") == "max" else 1.0)
    metrics[[100, 500]] = np.nan                              # never an improvement
    want_torch = drive_torch(lr_scheduler, lambda L, o: L.ReduceLROnPlateau(o, **settings),
                             base, metrics=metrics)
    want_ref = ref_plateau(base, metrics, **settings)[:N]
    sched = ReduceLROnPlateau(**settings).start(base)
    got = []
    for metric in metrics:
        got.append(sched.get_last_lr()[0])
        np.testing.assert_array_equal(sched.lr(base, [0, 7]), got[-1])
        sched.step(metric)
    assert len(set(got)) > 2                                  # reductions happened
    assert deviation(got, want_torch, base) <= TOL
    assert deviation(got, want_ref, base) <= TOL


def test_plateau_after_warmup_equals_torch_warmup_then_fresh_torch_plateau(lr_scheduler):
    torch = require("torch")
    base, warm, metrics = 0.1, 25, metric_series(5)
    sched = SequentialLR([LinearLR(0.1, total_iters=warm), ReduceLROnPlateau(patience=3,
                                                                             factor=0.5)],
                         milestones=[warm])
    opt = SGD(lr=base)
    sched.attach(opt)
    got = []
    for t in range(N):
        got.append(opt.lr)
        sched.step(metrics[t])
    # the documented composition: torch's LinearLR for the first `warm` steps,
    # then torch's ReduceLROnPlateau from the base rate on an optimizer at the
    # base rate, fed the metrics of the steps from the milestone on
    head = drive_torch(lr_scheduler, lambda L, o: L.LinearLR(o, 0.1, total_iters=warm), base,
                       n=warm)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    plateau = lr_scheduler.ReduceLROnPlateau(topt, patience=3, factor=0.5)
    tail = []
    for t in range(warm, N):
        tail.append(topt.param_groups[0]["lr"])
        plateau.step(metrics[t])
    assert deviation(got, np.concatenate([head, tail]), base) <= TOL
    assert min(got[warm:]) < base / 10                        # it did reduce
    np.testing.assert_allclose(sched.lr(base, np.arange(warm)), head, rtol=0, atol=TOL * base)
    np.testing.assert_array_equal(sched.lr(base, [warm, N]), got[-1])


def test_warmup_metrics_are_ignored_and_required_only_under_the_plateau():
    def run(warmup_metrics):
        sched = SequentialLR([LinearLR(total_iters=4), ReduceLROnPlateau(patience=0)], [4])
        sched.start(1.0)
        out = []
        for metric in [*warmup_metrics, 5.0, 6.0, 4.0, 4.5]:
            sched.step(metric)
            out.append(sched.get_last_lr()[0])
        return out, sched

    quiet, sched = run([None, None, None, None])
    loud, _ = run([1e-9, float("nan"), -1e9, 0.0])          # better than anything after
    assert quiet == loud
    # step 4 starts the plateau at the base rate; 5.0 is its first metric (a
    # baseline even though the warm-up's were lower), 6.0 a bad step -> x0.1,
    # 4.0 an improvement, 4.5 a bad step -> x0.1
    assert quiet[3:] == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])
    with pytest.raises(ValueError, match="metrics"):
        sched.step()
    assert sched.needs_metric and not SequentialLR([LinearLR(), StepLR(2)], [3]).needs_metric
    state = sched.state_dict()
    assert state["schedulers"][1]["best"] == 4.0 and state["last_epoch"] == 8


def test_plateau_is_restarted_by_a_new_run():
    sched = SequentialLR([LinearLR(total_iters=2), ReduceLROnPlateau(patience=0)], [2])
    sched.start(1.0)
    for metric in [None, None, 1.0, 2.0, 3.0]:
        sched.step(metric)
    assert sched.get_last_lr() == [pytest.approx(0.01)]
    np.testing.assert_allclose(sched.lr(1.0, [0, 1, 2, 50]), [1 / 3, 2 / 3, 0.01, 0.01])
    sched.start(1.0)
    np.testing.assert_allclose(sched.lr(1.0, [0, 1, 2, 50]), [1 / 3, 2 / 3, 1.0, 1.0])


# ---------------------------------------------------------------------------
# the Examples sections run

@pytest.mark.parametrize("module", [schedules, _lr_base, _lr_closed, _lr_cosine, _lr_plateau],
                         ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0 or module is _lr_base


def test_a_group_with_its_own_rate_is_refused_not_left_behind():
    # reproduced: StepLR attached to SGD([{"params": [W], "lr": 1.0}, {"params": [b]}],
    # lr=0.1) halved the optimizer's lr only; W's group kept 1.0 for the whole
    # run (torch scales each group's): W ended at -3.0 where torch's is -1.75
    from descent.optim import SGD
    from descent.schedules import OneCycleLR, StepLR

    W, b = np.zeros(2), np.zeros(2)
    opt = SGD([{"params": [W], "lr": 1.0}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match=r"param_groups\[0\] sets its own 'lr'"):
        StepLR(step_size=1, gamma=0.5).attach(opt)
    # a group given its own rate after attach: refused at the next step,
    # before the optimizer's lr changes
    opt = SGD([{"params": [W]}, {"params": [b]}], lr=0.1)
    schedule = StepLR(step_size=1, gamma=0.5).attach(opt)
    opt.param_groups[1]["lr"] = 0.3
    with pytest.raises(ValueError, match=r"param_groups\[1\]"):
        schedule.step()
    assert opt.lr == 0.1
    # groups that follow the optimizer follow the schedule, as torch's would
    del opt.param_groups[1]["lr"]
    schedule.step()
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.05]
    # OneCycleLR's momentum too
    opt = SGD([{"params": [W], "momentum": 0.5}], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="its own 'momentum'"):
        OneCycleLR(max_lr=1.0, total_steps=10).attach(opt)
