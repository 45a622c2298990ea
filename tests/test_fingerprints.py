"""Bit-for-bit fingerprints of n_jobs=1 fits: a safety net for refactors of
the training kernels that must not change behaviour.

Each config below is one small, deterministic fit (n_jobs=1 is
bit-reproducible) through one training path: per-sample scikit-learn SGD
with every loss, penalty, schedule and averaging; every other update rule per
sample on dense rows, per sample on CSR rows (lazy and dense updates),
mini-batch and full batch; clipping, sample weights, early stopping,
partial_fit, several targets. tests/fingerprints.json holds the exact
results (float.hex() of coef_, intercept_, t_, loss_curve_ and
validation_scores_, and n_iter_) of the code that generated it; the test
asserts the same bits. A refactor that changes any rounding anywhere fails
here, naming the config and the largest difference; a refactor that *means*
to change the numbers regenerates the file (and says why in its commit):

    python tests/test_fingerprints.py --regenerate   # rewrite fingerprints.json
    python tests/test_fingerprints.py --diff         # list what differs, write nothing

The data are exact in binary (multiples of 1/8, 1/16, 1/32 of small
integers, drawn with the legacy RandomState whose stream is frozen), so that
X @ w_true is exact in any summation order. d = 7 < 64: the kernels' own
level-1 loops run, not the BLAS calls that they use for 64 (dot: 128) <= d
<= 8192 and whose results may depend on the CPU. The bits still depend on
the compiler's floating-point contraction (FMA) and on libm (pow, exp), so
the check runs only on the machine type, OS and C library that generated the
file (x86-64 Linux, glibc here) and skips elsewhere.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import descent
from descent import SGDRegressor
from descent.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop

FINGERPRINTS = Path(__file__).with_name("fingerprints.json")
N, D = 100, 7


# ---------------------------------------------------------------------------
# Data: exact binary fractions, so that every platform builds the same bits.
def make_data():
    rs = np.random.RandomState(20240611)
    X = rs.randint(-16, 17, size=(N, D)) / 8.0
    W = rs.randint(-8, 9, size=(D, 2)) / 4.0
    noise = rs.randint(-8, 9, size=(N, 2)) / 16.0
    Y = X @ W + np.array([0.5, -1.0]) + noise        # exact: multiples of 1/32
    mask = rs.random_sample((N, D)) < 0.6             # 60 % zeros for CSR
    Xs = np.where(mask, 0.0, X)
    Ys = Xs @ W + np.array([0.5, -1.0]) + noise
    sw = rs.randint(1, 9, size=N) / 4.0
    sw[[5, 17]] = 0.0
    # wider sparse data for the lazy accumulators' restart (200 rows)
    X2 = rs.randint(-16, 17, size=(2 * N, D)) / 8.0
    X2[rs.random_sample((2 * N, D)) < 0.6] = 0.0
    y2 = X2 @ W[:, 0] + rs.randint(-8, 9, size=2 * N) / 16.0
    return dict(dense=(X, Y), csr=(sp.csr_matrix(Xs), Ys), sw=sw,
                csr_long=(sp.csr_matrix(X2), y2[:, None]))


# ---------------------------------------------------------------------------
# The configs: name -> dict(data, targets, weighted, call, params).
BASE = dict(max_iter=5, tol=None, random_state=0)
OPTIMIZERS = ("momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam",
              "amsgrad", "adamw")
PENALTIES = (None, "l2", "l1", "elasticnet")
LOSSES = ("squared_error", "huber", "epsilon_insensitive",
          "squared_epsilon_insensitive")


def _c(data="dense", targets=1, weighted=False, call="fit", **params):
    return dict(data=data, targets=targets, weighted=weighted, call=call,
                params={**BASE, **params})


# "adaptive" needs a tol to act: 1e3 with n_iter_no_change=1 makes it divide
# eta by 5 after every epoch from the second on (the first has no best
# objective to compare with), so these 5 epochs run at 1, 1, 1/5, 1/25, 1/125
# times eta0.
ADAPTIVE = dict(learning_rate="adaptive", tol=1e3, n_iter_no_change=1)


def _rule_lr(opt, mode):
    if opt == "adadelta":
        return 1.0
    if opt == "adagrad":
        return 0.1
    return 0.05 if mode == "full" else 0.01


def build_configs():
    cfg = {}
    # -- per-sample scikit-learn SGD (optimizer="sgd", batch_size=1) ---------
    cfg["sgd/dense/squared_error/l2/invscaling"] = _c()
    cfg["sgd/dense/huber/l1/constant"] = _c(loss="huber", epsilon=0.5, penalty="l1",
                                            alpha=0.01, learning_rate="constant",
                                            eta0=0.02)
    cfg["sgd/dense/epsilon_insensitive/elasticnet/optimal"] = _c(
        loss="epsilon_insensitive", epsilon=0.2, penalty="elasticnet", alpha=0.01,
        l1_ratio=0.3, learning_rate="optimal")
    cfg["sgd/dense/squared_epsilon_insensitive/none/adaptive"] = _c(
        loss="squared_epsilon_insensitive", epsilon=0.2, penalty=None, eta0=0.005,
        **ADAPTIVE)
    cfg["sgd/dense/l2/invscaling-sqrt/average"] = _c(power_t=0.5, eta0=0.02,
                                                     average=True)
    cfg["sgd/dense/elasticnet/constant/average30/weighted"] = _c(
        penalty="elasticnet", alpha=0.02, learning_rate="constant", eta0=0.01,
        average=30, weighted=True)
    cfg["sgd/dense/huber/l2/optimal/average"] = _c(loss="huber", epsilon=0.3,
                                                   learning_rate="optimal", alpha=0.01,
                                                   average=True)
    cfg["sgd/dense/l1/adaptive/average250"] = _c(penalty="l1", alpha=0.005, eta0=0.01,
                                                  average=250, **ADAPTIVE)
    cfg["sgd/dense/l2/no-intercept"] = _c(fit_intercept=False)
    cfg["sgd/dense/l2/shuffle-off"] = _c(shuffle=False, eta0=0.02)
    cfg["sgd/dense/l2/init+intercept_init"] = _c(call="fit_init")
    cfg["sgd/dense/clip/weighted"] = _c(clip_grad_norm=0.5, weighted=True, eta0=0.02,
                                        learning_rate="constant")
    cfg["sgd/dense/tol-stop"] = _c(tol=1e-3, n_iter_no_change=2, max_iter=60)
    cfg["sgd/dense/early-stopping"] = _c(early_stopping=True, tol=1e-3,
                                         n_iter_no_change=2, max_iter=40,
                                         validation_fraction=0.2)
    cfg["sgd/dense/partial_fit-x2/average"] = _c(call="partial_fit2", average=True)
    cfg["sgd/csr/squared_error/l2/invscaling"] = _c(data="csr")
    cfg["sgd/csr/huber/l1/constant/average"] = _c(
        data="csr", loss="huber", epsilon=0.5, penalty="l1", alpha=0.01,
        learning_rate="constant", eta0=0.02, average=True)
    cfg["sgd/csr/elasticnet/optimal/weighted"] = _c(
        data="csr", penalty="elasticnet", alpha=0.01, learning_rate="optimal",
        weighted=True)
    cfg["sgd/csr/epsilon_insensitive/l1/adaptive"] = _c(
        data="csr", loss="epsilon_insensitive", epsilon=0.2, penalty="l1", alpha=0.005,
        eta0=0.02, **ADAPTIVE)
    cfg["sgd/csr/squared_epsilon_insensitive/elasticnet/invscaling-pow"] = _c(
        data="csr", loss="squared_epsilon_insensitive", epsilon=0.2,
        penalty="elasticnet", power_t=0.3, eta0=0.005)
    cfg["sgd/csr/partial_fit-x2/l1"] = _c(data="csr", call="partial_fit2", penalty="l1",
                                          alpha=0.01)
    cfg["sgd/csr/clip"] = _c(data="csr", clip_grad_norm=0.3, learning_rate="constant",
                             eta0=0.02)
    cfg["sgd/dense/2-targets/elasticnet"] = _c(targets=2, penalty="elasticnet",
                                               alpha=0.01)
    cfg["sgd/dense/2-targets/optimal/weighted/clip"] = _c(
        targets=2, learning_rate="optimal", alpha=0.01, weighted=True,
        clip_grad_norm=1.0)
    cfg["sgd/csr/2-targets/l1/average"] = _c(data="csr", targets=2, penalty="l1",
                                             alpha=0.01, average=True)
    cfg["sgd/csr/2-targets/l2/clip"] = _c(data="csr", targets=2, clip_grad_norm=0.5)

    # -- every other rule: per sample dense / CSR lazy / CSR dense update,
    # mini-batch 8, full batch; penalties, losses and schedules rotate ---------
    modes = (("per-sample", "dense", dict(batch_size=1)),
             ("per-sample-lazy", "csr", dict(batch_size=1, sparse_update="lazy")),
             ("per-sample-dense-update", "csr",
              dict(batch_size=1, sparse_update="dense")),
             ("mini-batch8", "dense", dict(batch_size=8)),
             ("full", "dense", dict(batch_size=None)))
    k = 0
    for opt in OPTIMIZERS:
        for mode, data, mode_params in modes:
            penalty = PENALTIES[k % 4]
            loss = LOSSES[(k // 4 + k) % 4]
            schedule = ("constant", "invscaling", "adaptive")[k % 3]
            k += 1
            params = dict(optimizer=opt, eta0=_rule_lr(opt, mode), penalty=penalty,
                          alpha=0.01, loss=loss, epsilon=0.3, **mode_params)
            params.update(ADAPTIVE if schedule == "adaptive"
                          else dict(learning_rate=schedule))
            name = f"{opt}/{mode}/{loss}/{penalty}/{schedule}".replace("None", "none")
            cfg[name] = _c(data=data, **params)

    # -- the lazy kinds of sparse per-sample steps, and their corner cases ----
    cfg["lazy/SGD-no-momentum/elasticnet"] = _c(
        data="csr", optimizer=SGD(lr=0.02), penalty="elasticnet", alpha=0.01,
        learning_rate="invscaling")
    cfg["lazy/momentum/none/constant"] = _c(data="csr", optimizer="momentum",
                                            penalty=None, learning_rate="constant")
    cfg["lazy/nesterov/none/adaptive"] = _c(data="csr", optimizer="nesterov",
                                            penalty=None, **ADAPTIVE)
    cfg["lazy/adagrad/l1"] = _c(data="csr", optimizer="adagrad", eta0=0.1,
                                penalty="l1", alpha=0.01)
    cfg["lazy/adagrad/l2-frozen"] = _c(data="csr", optimizer="adagrad", eta0=0.1,
                                       penalty="l2", alpha=0.01)
    cfg["lazy/rmsprop/none/constant/weighted"] = _c(data="csr", optimizer="rmsprop",
                                                   penalty=None, learning_rate="constant",
                                                   weighted=True)
    cfg["lazy/adadelta/none"] = _c(data="csr", optimizer="adadelta", eta0=1.0,
                                   penalty=None)
    cfg["lazy/adamw/elasticnet"] = _c(data="csr", optimizer="adamw", penalty="elasticnet",
                                      alpha=0.05)
    cfg["lazy/rmsprop-alpha0.1/restart"] = _c(   # 0.1**150 < 1e-150: restarts
        data="csr_long", optimizer=RMSprop(lr=0.01, alpha=0.1), penalty=None,
        learning_rate="constant", max_iter=2)
    cfg["lazy/SGD-lr-wd-1/zeroing-step"] = _c(   # 1 - lr wd = 0: dense fallback
        data="csr", optimizer=SGD(lr=0.5), penalty="l2", alpha=2.0,
        learning_rate="constant", max_iter=2)
    cfg["lazy/2-targets/rmsprop"] = _c(data="csr", targets=2, optimizer="rmsprop",
                                       penalty=None)
    cfg["lazy/partial_fit-x2/amsgrad/l1"] = _c(data="csr", call="partial_fit2",
                                               optimizer="amsgrad", penalty="l1",
                                               alpha=0.01)

    # -- rules: clipping, weights, averaging, targets, instances, stopping ----
    cfg["adam/per-sample/clip/weighted"] = _c(optimizer="adam", clip_grad_norm=0.5,
                                              weighted=True)
    cfg["momentum/mini-batch8/clip/average"] = _c(optimizer="momentum", batch_size=8,
                                                  clip_grad_norm=0.5, average=True)
    cfg["rmsprop/full/clip/weighted"] = _c(optimizer="rmsprop", batch_size=None,
                                           eta0=0.05, clip_grad_norm=0.5, weighted=True,
                                           learning_rate="constant")
    cfg["adagrad/per-sample/average40"] = _c(optimizer="adagrad", eta0=0.1, average=40)
    cfg["adam/per-sample-csr/average"] = _c(data="csr", optimizer="adam", average=True,
                                            penalty="elasticnet")
    cfg["adadelta/full/average/weighted"] = _c(optimizer="adadelta", eta0=1.0,
                                               batch_size=None, average=True,
                                               weighted=True)
    cfg["nesterov/mini-batch8-csr/l1"] = _c(data="csr", optimizer="nesterov",
                                            batch_size=8, penalty="l1", alpha=0.01)
    cfg["adamw/full-csr/l2"] = _c(data="csr", optimizer="adamw", batch_size=None,
                                  eta0=0.05, penalty="l2", alpha=0.05)
    cfg["adam/per-sample/2-targets/clip"] = _c(targets=2, optimizer="adam",
                                               clip_grad_norm=1.0)
    cfg["momentum/mini-batch8/2-targets/weighted"] = _c(targets=2, optimizer="momentum",
                                                        batch_size=8, weighted=True)
    cfg["adagrad/full/2-targets/l1"] = _c(targets=2, optimizer="adagrad", eta0=0.1,
                                          batch_size=None, penalty="l1", alpha=0.01)
    cfg["adam/per-sample/partial_fit-x2"] = _c(call="partial_fit2", optimizer="adam")
    cfg["rmsprop/mini-batch8/partial_fit-x2/average"] = _c(
        call="partial_fit2", optimizer="rmsprop", batch_size=8, average=True)
    cfg["adam/mini-batch8/early-stopping"] = _c(optimizer="adam", batch_size=8,
                                                early_stopping=True, tol=1e-2,
                                                n_iter_no_change=2, max_iter=40)
    cfg["RMSprop(centered,momentum)/mini-batch8"] = _c(
        optimizer=RMSprop(lr=0.01, centered=True, momentum=0.5), batch_size=8)
    cfg["Adagrad(lr_decay,initial_acc)/per-sample"] = _c(
        optimizer=Adagrad(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1))
    cfg["SGD(momentum,dampening)/per-sample/l2"] = _c(
        optimizer=SGD(lr=0.01, momentum=0.8, dampening=0.3), penalty="l2")
    cfg["Adadelta(rho=0.5)/mini-batch8"] = _c(optimizer=Adadelta(lr=1.0, rho=0.5,
                                                                 eps=1e-4),
                                              batch_size=8)
    cfg["Adam(betas,eps)/full"] = _c(optimizer=Adam(lr=0.05, betas=(0.8, 0.99), eps=1e-3),
                                     batch_size=None)
    cfg["AdamW(amsgrad)/per-sample/l2"] = _c(
        optimizer=AdamW(lr=0.01, weight_decay=0.0, amsgrad=True), penalty="l2",
        alpha=0.05)
    return cfg


CONFIGS = build_configs()


# ---------------------------------------------------------------------------
def run_config(config, data):
    """Fit one config; its results as JSON-able exact values."""
    X, Y = data[config["data"]]
    y = Y[:, 0] if config["targets"] == 1 else Y[:, :config["targets"]]
    sw = data["sw"][:X.shape[0]] if config["weighted"] else None
    est = SGDRegressor(**config["params"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if config["call"] == "fit":
            est.fit(X, y, sample_weight=sw)
        elif config["call"] == "fit_init":
            est.fit(X, y, coef_init=np.linspace(-1.0, 1.0, X.shape[1]),
                    intercept_init=0.25, sample_weight=sw)
        elif config["call"] == "partial_fit2":
            est.partial_fit(X, y, sample_weight=sw)
            est.partial_fit(X, y, sample_weight=sw)
        else:
            raise ValueError(config["call"])
    out = dict(
        coef=[float(v).hex() for v in np.ravel(est.coef_)],
        intercept=[float(v).hex() for v in np.ravel(est.intercept_)],
        n_iter=int(est.n_iter_),
        t=float(est.t_).hex(),
        loss_curve=[float(v).hex() for v in est.loss_curve_],
    )
    if getattr(est, "validation_scores_", None) is not None:
        out["validation_scores"] = [float(v).hex() for v in est.validation_scores_]
    return out


def describe(config):
    return {k: (v if isinstance(v, (int, float, str, bool, type(None))) else repr(v))
            for k, v in {**config["params"], "data": config["data"],
                         "targets": config["targets"], "weighted": config["weighted"],
                         "call": config["call"]}.items()}


def this_platform():
    # the C library too: its pow() and exp() are in the results (glibc's and
    # musl's agree in practice, but nothing promises it)
    return dict(machine=platform.machine(), system=platform.system(),
                libc=platform.libc_ver()[0] or "?")


def differences(expected, got):
    """Human-readable list of what differs between two results."""
    msgs = []
    for key in sorted(set(expected) | set(got)):
        a, b = expected.get(key), got.get(key)
        if a == b:
            continue
        if key == "n_iter" or a is None or b is None:
            msgs.append(f"{key}: expected {a!r}, got {b!r}")
            continue
        a_list = a if isinstance(a, list) else [a]
        b_list = b if isinstance(b, list) else [b]
        if len(a_list) != len(b_list):
            msgs.append(f"{key}: expected {len(a_list)} values, got {len(b_list)}")
            continue
        av = np.array([float.fromhex(v) for v in a_list])
        bv = np.array([float.fromhex(v) for v in b_list])
        bad = [i for i, (u, v) in enumerate(zip(a_list, b_list)) if u != v]
        diff = np.abs(av - bv)
        rel = diff / np.maximum(np.abs(av), 1e-300)
        msgs.append(
            f"{key}: {len(bad)} of {len(a_list)} values differ, max abs diff "
            f"{np.nanmax(diff):.3g} (max rel {np.nanmax(rel):.3g}); first at [{bad[0]}]: "
            f"expected {a_list[bad[0]]} ({av[bad[0]]!r}), got {b_list[bad[0]]} "
            f"({bv[bad[0]]!r})")
    return msgs


def load():
    with FINGERPRINTS.open() as f:
        return json.load(f)


# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stored():
    if not FINGERPRINTS.exists():
        pytest.fail(f"{FINGERPRINTS.name} is missing: python tests/test_fingerprints.py "
                    "--regenerate")
    content = load()
    here = this_platform()
    if content["about"]["platform"] != here:
        pytest.skip(f"fingerprints were generated on {content['about']['platform']}, this "
                    f"is {here}: compiler contraction (FMA) and libm may change the bits")
    return content


@pytest.fixture(scope="module")
def data():
    return make_data()


def test_data_is_exact():
    # the premise of platform-independent inputs: sums in any order agree
    data = make_data()
    X, Y = data["dense"]
    rs = np.random.RandomState(20240611)
    rs.randint(-16, 17, size=(N, D))
    W = rs.randint(-8, 9, size=(D, 2)) / 4.0
    for j in range(2):
        exact = sum(X[:, i] * W[i, j] for i in reversed(range(D)))
        assert np.all((Y[:, j] - exact) * 32 == np.round((Y[:, j] - exact) * 32))
    assert X.shape == (N, D) and D < 64        # no BLAS level-1 (64 <= d <= 8192)


def test_every_config_has_a_fingerprint(stored):
    missing = sorted(set(CONFIGS) - set(stored["configs"]))
    extra = sorted(set(stored["configs"]) - set(CONFIGS))
    assert not missing and not extra, (
        f"configs without a fingerprint: {missing}; fingerprints without a config: "
        f"{extra}. Regenerate: python tests/test_fingerprints.py --regenerate")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_fingerprint(name, stored, data):
    expected = stored["configs"].get(name)
    if expected is None:
        pytest.fail(f"no fingerprint for {name!r}: python tests/test_fingerprints.py "
                    "--regenerate")
    got = run_config(CONFIGS[name], data)
    expected = {k: v for k, v in expected.items() if k != "params"}
    msgs = differences(expected, got)
    assert not msgs, (f"config {name!r} ({describe(CONFIGS[name])}) no longer gives "
                      "the same bits:\n  " + "\n  ".join(msgs))


def test_configs_cover_every_path():
    # the list above really has every rule in every mode, and every loss,
    # penalty and schedule of the per-sample scikit-learn path
    seen = set()
    for c in CONFIGS.values():
        p = c["params"]
        opt = p.get("optimizer", "sgd")
        opt = opt if isinstance(opt, str) else type(opt).__name__
        bs = p.get("batch_size", 1)
        mode = ("per-sample" if bs == 1 else "full" if bs is None else "mini-batch")
        layout = c["data"].split("_")[0]
        if layout == "csr" and bs == 1 and opt != "sgd":
            layout += "-" + p.get("sparse_update", "auto")
        seen.add((opt, mode, layout))
        if opt == "sgd" and bs == 1:
            for key in ("loss", "penalty", "learning_rate"):
                value = p.get(key, SGDRegressor().get_params()[key])
                # learning_rate="auto" is scikit-learn's invscaling for per-sample "sgd"
                seen.add((key, "invscaling" if value == "auto" else value))
            seen.add(("average", bool(p.get("average"))))
            seen.add(("targets", c["targets"], layout))
    for opt in OPTIMIZERS:
        for mode, layout in (("per-sample", "dense"), ("per-sample", "csr-lazy"),
                             ("per-sample", "csr-dense"), ("mini-batch", "dense"),
                             ("full", "dense")):
            assert (opt, mode, layout) in seen, (opt, mode, layout)
    for loss in LOSSES:
        assert ("loss", loss) in seen
    for penalty in PENALTIES:
        assert ("penalty", penalty) in seen
    for schedule in ("constant", "optimal", "invscaling", "adaptive"):
        assert ("learning_rate", schedule) in seen
    assert ("average", True) in seen and ("average", False) in seen
    for layout in ("dense", "csr"):
        assert ("targets", 1, layout) in seen and ("targets", 2, layout) in seen


# ---------------------------------------------------------------------------
def main(argv):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--regenerate", action="store_true",
                       help=f"run every config and rewrite {FINGERPRINTS.name}")
    group.add_argument("--diff", action="store_true",
                       help="run every config and list the ones that differ")
    args = parser.parse_args(argv)
    data = make_data()
    results = {name: run_config(c, data) for name, c in CONFIGS.items()}
    if args.diff:
        stored = load()["configs"]
        n_bad = 0
        for name, got in results.items():
            expected = stored.get(name)
            msgs = (["no stored fingerprint"] if expected is None else
                    differences({k: v for k, v in expected.items() if k != "params"},
                                got))
            if msgs:
                n_bad += 1
                print(f"{name}:\n  " + "\n  ".join(msgs))
        print(f"{n_bad} of {len(results)} configs differ")
        return 1 if n_bad else 0
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True,
                                cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    content = dict(
        about=dict(
            generated_by="python tests/test_fingerprints.py --regenerate",
            descent_commit=commit,
            descent_build=descent.show_config(print_out=False)["build_type"],
            numpy=np.__version__,
            platform=this_platform(),
            note="float.hex() of coef_ (raveled), intercept_, t_, loss_curve_, "
                 "validation_scores_; n_iter_; n_jobs=1 fits of the configs in "
                 "tests/test_fingerprints.py",
        ),
        configs={name: dict(params=describe(CONFIGS[name]), **res)
                 for name, res in results.items()},
    )
    FINGERPRINTS.write_text(json.dumps(content, indent=1) + "\n")
    print(f"wrote {len(results)} fingerprints to {FINGERPRINTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
