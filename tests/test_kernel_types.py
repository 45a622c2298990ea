"""The types layer has one definition: the compiled enums and structs, the
.pyi stubs that type checkers read, and the dicts Python builds agree."""

import ast
import pathlib

import numpy as np
import pytest

import descent
from descent import _kernels, _plan, optim

STUB = pathlib.Path(_kernels.__file__).with_name("_kernels.pyi")


def stub_classes():
    tree = ast.parse(STUB.read_text())
    classes = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            fields = {}
            for item in node.body:
                if isinstance(item, ast.Assign):          # enum members
                    fields[item.targets[0].id] = ast.literal_eval(item.value)
                elif isinstance(item, ast.AnnAssign):     # TypedDict fields
                    fields[item.target.id] = None
            classes[node.name] = fields
    return classes


@pytest.mark.parametrize("name", ["Loss", "Penalty", "Schedule", "Rule", "Path"])
def test_stub_enums_are_the_compiled_ones(name):
    compiled = {member.name: int(member) for member in getattr(_kernels, name)}
    assert stub_classes()[name] == compiled


@pytest.mark.parametrize("name", ["Settings", "RuleParams"])
def test_stub_structs_are_the_compiled_ones(name):
    assert list(stub_classes()[name]) == _kernels.py_struct_fields()[name]


def test_plan_and_optimizers_build_every_struct_field():
    fields = _kernels.py_struct_fields()
    plan = _plan.make_plan(descent.SGDRegressor(), sparse=False)
    assert sorted(plan.settings(t=1.0, step=0.0, seed=0)) == sorted(fields["Settings"])
    for name in optim.OPTIMIZER_NAMES:
        params = optim.make_optimizer(name)._kernel_params()
        assert sorted(params) == sorted(fields["RuleParams"]), name


def test_registry_names_every_rule_once():
    # every compiled rule has a class, each class's state rows are named
    rules = {cls._rule for cls, _ in optim.REGISTRY.values()}
    assert rules == set(_kernels.Rule)
    for cls, _ in optim.REGISTRY.values():
        assert len(cls._state_names) == 3
        assert cls._state_names[0]          # every rule keeps some state
    assert optim.default_lr("adadelta") == 1.0
    assert optim.default_lr("adagrad") == 1e-2
    assert optim.default_lr("adam") == 1e-3


def test_workspace_refuses_what_no_path_can_run():
    X = np.ones((4, 2))
    y = np.ones((4, 1))
    idx = np.arange(4, dtype=np.int32)
    plan = _plan.make_plan(descent.SGDRegressor(optimizer="adam"), sparse=False)
    args = (X, y, None, idx, idx[:0], np.zeros((1, 3)), np.zeros((0, 0)),
            np.zeros((3, 3)), np.zeros(0))
    lazy = plan.settings(t=1.0, step=0.0, seed=0, path=int(_kernels.Path.LAZY))
    with pytest.raises(ValueError, match="LAZY path steps CSR rows"):
        _kernels.Workspace(*args, lazy, plan.rule_params)
    unknown = plan.settings(t=1.0, step=0.0, seed=0, path=99)
    with pytest.raises(ValueError, match="unknown training path"):
        _kernels.Workspace(*args, unknown, plan.rule_params)
    bad_idx = idx.copy()
    bad_idx[0] = 7
    with pytest.raises(ValueError, match="train_idx out of range"):
        _kernels.Workspace(X, y, None, bad_idx, *args[4:],
                           plan.settings(t=1.0, step=0.0, seed=0), plan.rule_params)


@pytest.mark.parametrize("indices, indptr, message", [
    ([0, 2, 1, 1], [0, 2, 4, 4, 4], None),
    ([0, 3, 1, 1], [0, 2, 4, 4, 4], "CSR column index out of range"),
    ([0, -1, 1, 1], [0, 2, 4, 4, 4], "CSR column index out of range"),
    ([0, 2, 1, 3], [0, 2, 4, 4, 4], "CSR column index out of range"),
    ([0, 2, 1, 1], [0, 2, 1, 4, 4], "CSR indptr must be non-decreasing"),
    ([0, 2, 1, 1], [1, 2, 4, 4, 4], "CSR indptr must start at 0"),
    ([0, 2, 1, 1], [0, 2, 4, 4, 5], "inconsistent CSR arrays"),
    ([], [0, 0, 0, 0, 0], None),
])
def test_workspace_checks_every_csr_index(indices, indptr, message):
    # the branch-free checks (vectorised) find a bad entry anywhere in the arrays
    indices = np.asarray(indices, dtype=np.int32)
    X = (np.ones(len(indices)), indices, np.asarray(indptr, dtype=np.int32), 3)
    idx = np.arange(4, dtype=np.int32)
    plan = _plan.make_plan(descent.SGDRegressor(), sparse=True)
    args = (X, np.ones((4, 1)), None, idx, idx[:0], np.zeros((1, 4)), np.zeros((0, 0)),
            np.zeros((3, 4)), np.zeros(0), plan.settings(t=1.0, step=0.0, seed=0),
            plan.rule_params)
    if message is None:
        _kernels.Workspace(*args)
    else:
        with pytest.raises(ValueError, match=message):
            _kernels.Workspace(*args)
