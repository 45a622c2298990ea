"""Crash guard: malformed sparse input and other risky cases (huge n_jobs,
set_params between partial_fit calls) in a subprocess, so that a crash fails
one test with its case instead of killing the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

# =============================================================================
# Crash guard: malformed sparse input and other risky cases in a subprocess
# =============================================================================
_SUBPROCESS_CASES = textwrap.dedent(r"""
    import sys, warnings, itertools
    import numpy as np, scipy.sparse as sp
    from descent import SGDRegressor
    warnings.simplefilter("ignore")
    rng = np.random.RandomState(0)
    n, d = 6, 3
    y = rng.randn(n)
    good = sp.csr_matrix(rng.randn(n, d))

    def malformed():
        D, I, P = good.data.copy(), good.indices.copy(), good.indptr.copy()
        out = []
        I1 = I.copy(); I1[0] = d + 5                       # column out of range
        out.append(("index>=d", (D, I1, P)))
        I2 = I.copy(); I2[-1] = -1                         # negative column
        out.append(("index<0", (D, I2, P)))
        I3 = I.copy(); I3[1] = 2**31 - 1                   # huge column
        out.append(("index huge", (D, I3, P)))
        P4 = P.copy(); P4[2], P4[3] = P4[3], P4[2]         # decreasing indptr
        out.append(("indptr decreasing", (D, I, P4)))
        P5 = P.copy(); P5[0] = 1                           # indptr not from 0
        out.append(("indptr start", (D, I, P5)))
        P6 = P.copy(); P6[-1] = len(D) + 4                 # indptr past the data
        out.append(("indptr past end", (D, I, P6)))
        return out

    cases = 0
    bad = []
    configs = [dict(), dict(learning_rate="optimal"), dict(batch_size=2),
               dict(batch_size=None, optimizer="adam"), dict(optimizer="rmsprop"),
               dict(batch_size=2, n_jobs=2), dict(penalty="l1"),
               dict(average=True), dict(early_stopping=True, validation_fraction=0.5)]
    for (name, arrays), cfg in itertools.product(malformed(), configs):
        try:
            X = sp.csr_matrix(arrays, shape=(n, d))
        except Exception:
            continue                                       # scipy refused it: fine
        cases += 1
        try:
            SGDRegressor(max_iter=2, random_state=0, **cfg).fit(X, y)
            bad.append((name, cfg, "accepted"))
        except (ValueError, TypeError) as e:
            if not str(e):
                bad.append((name, cfg, "empty message"))
        except Exception as e:
            bad.append((name, cfg, f"{type(e).__name__}: {e}"))
    # random hostile dense / sparse values on every path
    for seed in range(60):
        r = np.random.RandomState(seed)
        nn, dd = r.randint(1, 5), r.randint(1, 4)
        X = r.choice([0.0, 1.0, -1.0, 1e300, -1e300, 1e-300, 5e-324, 1e150, 3.0],
                     size=(nn, dd))
        yy = r.choice([0.0, 1.0, 1e300, 1e-300, -1e150], size=nn)
        cfg = dict(optimizer=r.choice(["sgd", "adam", "adagrad", "rmsprop",
                                       "adadelta", "nesterov", "adamw"]),
                   batch_size=[1, 2, None][r.randint(3)],
                   n_jobs=[None, 2][r.randint(2)],
                   penalty=[None, "l1", "l2", "elasticnet"][r.randint(4)],
                   average=bool(r.randint(2)), clip_grad_norm=[None, 1.0][r.randint(2)])
        if cfg["average"] and cfg["batch_size"] == 1 and cfg["n_jobs"] == 2:
            cfg["average"] = False
        for Xv in (X, sp.csr_matrix(X)):
            cases += 1
            try:
                est = SGDRegressor(max_iter=3, random_state=seed, **cfg).fit(Xv, yy)
                if not (np.isfinite(est.coef_).all() and np.isfinite(est.intercept_).all()):
                    bad.append(("values", cfg, f"non-finite coef {est.coef_}"))
            except (ValueError, TypeError):
                pass
            except Exception as e:
                bad.append(("values", cfg, f"{type(e).__name__}: {e}"))
    print(cases, file=sys.stderr)
    for b in bad:
        print("BAD", b, file=sys.stderr)
    sys.exit(1 if bad else 0)
""")


def test_subprocess_no_crash():
    """Malformed CSR (out-of-range or negative column indices, broken indptr)
    and extreme values on every kernel path, in a child process: it must exit
    normally (0: all clean, 1: some case broke the property, listed) and never
    die of a signal."""
    proc = subprocess.run([sys.executable, "-c", _SUBPROCESS_CASES],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode >= 0, (
        f"child killed by signal {-proc.returncode}: {proc.stderr[-2000:]}")
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert proc.returncode == 0, "property violated:\n" + proc.stderr[-4000:]


def test_subprocess_huge_n_jobs_does_not_crash():
    """n_jobs is passed to OpenMP as the team size: a huge value must be
    refused or capped, not crash the interpreter (Hogwild! and the threaded
    full-batch gradient)."""
    code = textwrap.dedent("""
        import sys, numpy as np
        from descent import SGDRegressor
        rng = np.random.RandomState(0)
        cases = [(rng.randn(2, 1), dict(batch_size=1)),
                 (rng.randn(3000, 20), dict(batch_size=None))]
        for X, kw in cases:
            try:
                SGDRegressor(max_iter=1, n_jobs=10**6, **kw).fit(X, rng.randn(len(X)))
            except (ValueError, TypeError) as e:
                assert "n_jobs" in str(e), e
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          timeout=120)
    assert proc.returncode >= 0, (
        f"SGDRegressor(n_jobs=10**6).fit killed by signal {-proc.returncode}")
    assert proc.returncode == 0, proc.stderr[-2000:]


# set_params between partial_fit calls (or between fit and partial_fit): each
# case in a forked child of one subprocess, so that a crash is reported with
# its case and the others still run.
_SET_PARAMS_CASES = textwrap.dedent(r"""
    import os, sys, warnings, itertools
    import numpy as np, scipy.sparse as sp
    from descent import SGDRegressor, optim
    warnings.simplefilter("ignore")
    rng = np.random.RandomState(0)
    X, y = rng.randn(8, 2), rng.randn(8)
    FIRST = [dict(), dict(average=True), dict(optimizer="adam", penalty="l1"),
             dict(alpha=0.0, batch_size=None)]
    CHANGES = [dict(average=True), dict(average=False), dict(average=3),
               dict(average=True, n_jobs=2), dict(average=True, batch_size=2),
               dict(optimizer="adam"), dict(optimizer="sgd"), dict(optimizer="rmsprop"),
               dict(optimizer=optim.Adagrad(initial_accumulator_value=0.1)),
               dict(optimizer=optim.SGD(lr=0.01, momentum=0.9)),
               dict(learning_rate="optimal"), dict(learning_rate="optimal", alpha=0.0),
               dict(penalty="l1"), dict(penalty="elasticnet", l1_ratio=None),
               dict(batch_size=None), dict(batch_size=3), dict(n_jobs=2),
               dict(fit_intercept=False), dict(early_stopping=True),
               dict(clip_grad_norm=1e-3), dict(eta0=0.5), dict(warm_start=True)]

    def run(f, ch, first_call, sparse):
        Xv = sp.csr_matrix(X) if sparse else X
        est = SGDRegressor(max_iter=2, random_state=0, **FIRST[f])
        try:
            getattr(est, first_call)(Xv, y)
        except (ValueError, TypeError):
            return None
        est.set_params(**CHANGES[ch])
        try:
            est.partial_fit(Xv, y)
        except (ValueError, TypeError) as e:
            return None if str(e).strip() else "empty message"
        except Exception as e:
            return f"{type(e).__name__}: {e}"
        if not (np.isfinite(est.coef_).all() and np.isfinite(est.intercept_).all()
                and np.isfinite(est.predict(Xv)).all()):
            return f"non-finite coef_ {est.coef_} intercept_ {est.intercept_}"
        return None

    def label(f, ch, first_call, sparse):
        return (f"{first_call}(X{'sparse' if sparse else ''}) with {FIRST[f]}, "
                f"set_params(**{CHANGES[ch]}), partial_fit")

    def in_child(batch):
        # run the batch in a forked child: (exit status, killed by a signal?)
        pid = os.fork()
        if pid == 0:
            bad = False
            for case in batch:
                problem = run(*case)
                if problem:
                    print("BAD", label(*case), "->", problem, file=sys.stderr, flush=True)
                    bad = True
            os._exit(1 if bad else 0)
        _, status = os.waitpid(pid, 0)
        return status, os.WIFSIGNALED(status)

    cases = list(itertools.product(range(len(FIRST)), range(len(CHANGES)),
                                   ["partial_fit"], [False, True]))
    cases += itertools.product(range(len(FIRST)), range(len(CHANGES)), ["fit"], [False])
    bad = 0
    for start in range(0, len(cases), 16):
        batch = cases[start:start + 16]
        status, crashed = in_child(batch)
        if crashed:          # again one case per child, to name the crashing ones
            for case in batch:
                status, crashed = in_child([case])
                if crashed:
                    print("CRASH", label(*case), "-> signal", os.WTERMSIG(status),
                          file=sys.stderr, flush=True)
                bad += status != 0
        else:
            bad += status != 0
    print("DONE", len(cases), file=sys.stderr)
    sys.exit(1 if bad else 0)
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_subprocess_set_params_between_partial_fit_calls():
    """fit or partial_fit, then set_params (average, optimizer, schedule,
    penalty, batch_size, n_jobs, ...), then partial_fit: a clean error or a
    finite model, never a crash (264 cases, each in a forked child)."""
    proc = subprocess.run([sys.executable, "-c", _SET_PARAMS_CASES],
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode >= 0, f"runner killed: {proc.stderr[-2000:]}"
    problems = [ln for ln in proc.stderr.splitlines() if ln.startswith(("BAD", "CRASH"))]
    assert proc.returncode == 0 and not problems, (
        f"{len(problems)} violations:\n" + "\n".join(problems) + proc.stderr[-500:])
