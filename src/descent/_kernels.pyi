# Type stub of the compiled module descent._kernels (_kernels.pyx / _kernels.pxd):
# _kernels.py puts the CPU variant descent._simd chooses in its place.
#
# Keep in step with the `def` functions of _kernels.pyx and the cpdef enums and
# structs of _kernels.pxd. The typed-memoryview arguments accept any buffer of
# that dtype and layout; they are written as C-contiguous NumPy arrays here.
# Arguments without `const` in the .pyx are written in place (they must be
# writeable).
#
# `Settings` and `RuleParams` exist only for type checkers:
# import them under `if TYPE_CHECKING:`. Cython converts a dict to a struct
# only when it has every field, hence total TypedDicts.

import enum
from typing import TypedDict

import numpy as np
import numpy.typing as npt

_F64 = npt.NDArray[np.float64]
# a classifier's targets: (the class of each row, K, the other targets' value)
_Classes = tuple[npt.NDArray[np.int32], int, float]
_F32 = npt.NDArray[np.float32]
_Rows = npt.NDArray[np.int32]
_I32 = npt.NDArray[np.int32]
# CSR rows as (data, indices, indptr, n_features)
_CSR = tuple[_F64, _I32, _I32, int]

class Loss(enum.IntEnum):
    SQUARED_ERROR = 0
    HUBER = 1
    EPSILON_INSENSITIVE = 2
    SQUARED_EPSILON_INSENSITIVE = 3
    HINGE = 4
    LOG_LOSS = 5
    MODIFIED_HUBER = 6
    SQUARED_HINGE = 7
    SOFTMAX = 8

class Penalty(enum.IntEnum):
    NO_PENALTY = 0
    L2 = 1
    L1 = 2
    ELASTICNET = 3

class Schedule(enum.IntEnum):
    CONSTANT = 0
    OPTIMAL = 1
    INVSCALING = 2
    ADAPTIVE = 3
    RATES = 4

class Rule(enum.IntEnum):
    SGD = 0
    ADAGRAD = 1
    RMSPROP = 2
    ADADELTA = 3
    ADAM = 4
    ADAMW = 5

class Path(enum.IntEnum):
    PLAIN = 0
    RULE = 1
    LAZY = 2
    MINI_BATCH = 3
    FULL_BATCH = 4
    HOGWILD_PLAIN = 5
    HOGWILD_RULE = 6
    GRADIENT = 7

class RuleParams(TypedDict):
    """The RuleParams struct: one update rule's hyper-parameters."""

    rule: int
    weight_decay: float
    momentum: float
    dampening: float
    nesterov: bool
    lr_decay: float
    eps: float
    alpha: float
    centered: bool
    rho: float
    beta1: float
    beta2: float
    amsgrad: bool

class Settings(TypedDict):
    """The Settings struct: what a training call needs besides the arrays."""

    path: int
    loss: int
    epsilon: float
    penalty: int
    alpha: float
    l1_ratio: float
    fit_intercept: bool
    intercept_decay: float
    schedule: int
    eta0: float
    power_t: float
    optimal_init: float
    average_start: float
    shuffle: bool
    seed: int
    batch_size: int
    clip_norm: float
    t: float
    step: float
    u: float
    n_threads: int

OPENMP: bool
BUILD_TYPE: str
SIMD: str

def cpu_runs(level: int) -> bool: ...
def max_threads() -> int: ...
class Workspace:
    """One training call: rows, model and the work buffers of its path."""

    n_epochs: int
    finite: bool
    last_objective: float
    divergence_objective: float
    eta: float
    def __init__(
        self,
        X: _F64 | _CSR,
        y: _F64 | _Classes,
        sample_weight: _F64 | None,
        train_idx: _Rows,
        val_idx: _Rows,
        theta: _F64,
        avg: _F64,
        rule_state: _F64,
        q: _F64,
        settings: Settings,
        rule_params: RuleParams,
        target_weights: _F64 | None = None,
        class_weights: _F64 | None = None,
    ) -> None: ...
    def epoch(self) -> float: ...
    def track_targets(self) -> None: ...
    def target_objectives(self) -> _F64: ...
    def divergence_reference(self) -> float: ...
    def validation_score(self) -> float: ...
    def validation_accuracy(self) -> float: ...
    def validation_loss(self) -> float: ...
    def gradient(self, out: _F64) -> float: ...
    def objective(self, theta: _F64 | None = None, max_rows: int = -1) -> float: ...
    def evaluates_by_feature(self, max_rows: int = ..., validation: bool = ...) -> bool: ...
    def hessian_vector(self, v: _F64, out: _F64) -> None: ...
    @property
    def u(self) -> float: ...
    @property
    def t(self) -> float: ...
    @property
    def step(self) -> float: ...
    @property
    def next_update(self) -> int: ...
    @property
    def updates_per_epoch(self) -> int: ...
    def set_rates(self, rates: _F64) -> None: ...

class StepCode(enum.IntEnum):
    STEP_OK = 0
    STEP_GRAD_NONFINITE = 1
    STEP_GRAD_TOO_BIG = 2
    STEP_PARAMS_NONFINITE = 3
    STEP_PARAMS_LAYOUT = 4
    STEP_GRAD_LAYOUT = 5
    STEP_SHAPE = 6
    STEP_STATE = 7

MAX_GRAD_F32: float

class OptimStep:
    """One update rule with its hyper-parameters converted once (descent.optim)."""

    max_grad: float
    max_grad_f32: float
    wd: float
    failed: int
    def __init__(self, rule_params: RuleParams, max_grad: float) -> None: ...
    def step(
        self,
        lr: float,
        params: list[_F64] | list[_F32],
        grads: list[_F64 | None] | list[_F32 | None],
        states: list[_F64] | list[_F32],
        steps: _F64,
        mode: int = 0,
    ) -> int: ...

def py_loss(kind: int, y: _F64, p: _F64, epsilon: float = 0.1) -> _F64: ...
def py_dloss(kind: int, y: _F64, p: _F64, epsilon: float = 0.1) -> _F64: ...
def py_log1p_unit(a: _F64) -> _F64: ...
def py_exp_nonpositive(x: _F64) -> _F64: ...
def py_softmax_loss(y: _F64, z: _F64) -> tuple[_F64, _F64]: ...
def py_penalty(kind: int, w: _F64, alpha: float, l1_ratio: float = 0.15) -> float: ...
def py_rule_step(
    rule_params: RuleParams,
    lr: float,
    step: float,
    w: _F64,
    src: _F64,
    c: float,
    l1: float,
    state: _F64,
) -> None: ...
def py_lazy_skip(
    rule_params: RuleParams,
    l1: float,
    constant_lr: bool,
    lrs: _F64,
    step0: float,
    w: _F64,
    state: _F64,
) -> int: ...
def py_struct_fields() -> dict[str, list[str]]: ...
