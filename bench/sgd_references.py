"""The implementations bench_sgd.py times descent against, written the way
their users would write them (NumPy loops, torch, a plain C loop through
ctypes), and the data and objective every method is scored on."""

from __future__ import annotations

import ctypes
import math
import os
import subprocess
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 0
ALPHA = 1e-4
BATCH = 256
# Step sizes of the compared methods (descent and its competitors alike).
LR_ADAM1 = 1e-3      # per-sample Adam
LR_MB_SGD = 0.05     # mini-batch SGD
LR_MB_ADAM = 0.01    # mini-batch Adam
LR_FB = 0.5          # full-batch gradient descent


def build_c_reference(tmpdir):
    """Compile c_reference.c; return the ctypes library or None (with the reason)."""
    src = HERE / "c_reference.c"
    lib = Path(tmpdir) / "libc_reference.so"
    cmd = [os.environ.get("CC", "cc"), "-O3", "-fno-math-errno", "-shared", "-fPIC",
           str(src), "-o", str(lib), "-lm"]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"{' '.join(cmd)} failed: {getattr(exc, 'stderr', exc)}"
    c = ctypes.CDLL(str(lib))
    dp = np.ctypeslib.ndpointer(np.float64, flags="C_CONTIGUOUS")
    ip = np.ctypeslib.ndpointer(np.intp, flags="C_CONTIGUOUS")
    sz, dbl, i32, u64 = ctypes.c_ssize_t, ctypes.c_double, ctypes.c_int, ctypes.c_uint64
    c.sgd_plain.restype = dbl
    c.sgd_plain.argtypes = [dp, dp, sz, sz, dp, dp, dbl, dbl, i32, ip, i32, u64]
    c.sgd_tuned.restype = dbl
    c.sgd_tuned.argtypes = [dp, dp, sz, sz, dp, dp, dbl, dbl, i32, ip, i32, u64, i32]
    c.stream_dot.restype = None
    c.stream_dot.argtypes = [dp, sz, sz, dp, dp]
    c.adam_plain.restype = dbl
    c.adam_plain.argtypes = [dp, dp, sz, sz, dp, dp, dp, dp, dbl, dbl, dbl, dbl, dbl,
                             i32, ip, i32, u64]
    vp = ctypes.c_void_p        # the CSR index arrays, or None for dense rows
    c.logloss_sgd.restype = dbl
    c.logloss_sgd.argtypes = [dp, vp, vp, dp, sz, sz, dp, dp, dbl, dbl, dbl, i32, ip, u64,
                              i32]
    return c, " ".join(cmd[:5])


# ---------------------------------------------------------------------------
# Data and the common score.

def make_data(n, d, seed=SEED):
    rng = np.random.default_rng(seed + d)
    X = rng.standard_normal((n, d))
    X -= X.mean(axis=0)
    X /= X.std(axis=0)
    w = rng.standard_normal(d) / math.sqrt(d)
    y = X @ w + 0.5 + 0.5 * rng.standard_normal(n)
    return np.ascontiguousarray(X), np.ascontiguousarray(y)


def objective(X, y, w, b):
    r = X @ w
    r += b - y
    return float(0.5 * np.dot(r, r) / X.shape[0] + 0.5 * ALPHA * np.dot(w, w))


# ---------------------------------------------------------------------------
# Competitors written the way their users would write them.

def numpy_sgd_loop(X, y, eta, alpha):
    """One epoch of per-sample SGD in storage order, scikit-learn's update."""
    n, d = X.shape
    w = np.zeros(d)
    b = 0.0
    shrink = 1.0 - eta * alpha
    ys = y.tolist()
    for i in range(n):
        x = X[i]
        dloss = float(x @ w) + b - ys[i]
        w *= shrink
        w += (-eta * dloss) * x
        b -= eta * dloss
    return w, b


def numpy_adam_loop(X, y, lr, alpha, beta1=0.9, beta2=0.999, eps=1e-8):
    """One epoch of per-sample Adam (torch.optim.Adam's formulas) on (w, b)."""
    n, d = X.shape
    theta = np.zeros(d + 1)
    m = np.zeros(d + 1)
    v = np.zeros(d + 1)
    g = np.empty(d + 1)
    w = theta[:d]
    ys = y.tolist()
    for t in range(1, n + 1):
        x = X[t - 1]
        r = float(x @ w) + theta[d] - ys[t - 1]
        np.multiply(x, r, out=g[:d])
        g[:d] += alpha * w
        g[d] = r
        m += (1.0 - beta1) * (g - m)
        v *= beta2
        v += (1.0 - beta2) * g * g
        denom = np.sqrt(v) / math.sqrt(1.0 - beta2 ** t) + eps
        theta -= (lr / (1.0 - beta1 ** t)) * m / denom
    return theta[:d].copy(), float(theta[d])


def numpy_minibatch(X, y, epochs, lr, alpha, adam, batch=BATCH, seed=SEED,
                    beta1=0.9, beta2=0.999, eps=1e-8):
    """Vectorised mini-batch SGD or Adam, reshuffled each epoch (torch-style
    rules: mean gradient of the batch plus alpha * w)."""
    n, d = X.shape
    rng = np.random.default_rng(seed)
    theta = np.zeros(d + 1)
    w = theta[:d]
    g = np.empty(d + 1)
    m = np.zeros(d + 1)
    v = np.zeros(d + 1)
    t = 0
    for _ in range(epochs):
        perm = rng.permutation(n)
        for start in range(0, n, batch):
            idx = perm[start:start + batch]
            Xb = X[idx]
            r = Xb @ w
            r += theta[d]
            r -= y[idx]
            np.matmul(r, Xb, out=g[:d])
            g[:d] /= idx.shape[0]
            g[:d] += alpha * w
            g[d] = r.mean()
            if adam:
                t += 1
                m += (1.0 - beta1) * (g - m)
                v *= beta2
                v += (1.0 - beta2) * g * g
                denom = np.sqrt(v) / math.sqrt(1.0 - beta2 ** t) + eps
                theta -= (lr / (1.0 - beta1 ** t)) * m / denom
            else:
                theta -= lr * g
    return theta[:d].copy(), float(theta[d])


def numpy_full_batch(X, y, steps, lr, alpha):
    """Gradient descent, one exact step per epoch: X.T @ (X @ w + b - y)."""
    n, d = X.shape
    w = np.zeros(d)
    b = 0.0
    r = np.empty(n)
    g = np.empty(d)
    for _ in range(steps):
        np.matmul(X, w, out=r)
        r += b
        r -= y
        np.matmul(r, X, out=g)
        g /= n
        g += alpha * w
        w -= lr * g
        b -= lr * r.mean()
    return w, b


def torch_adam_per_sample(torch, X, y, lr, alpha):
    """One epoch of per-sample torch.optim.Adam over the rows, in storage order."""
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y)
    d = X.shape[1]
    w = torch.zeros(d, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=lr)
    for i in range(X.shape[0]):
        opt.zero_grad()
        loss = 0.5 * (Xt[i] @ w + b - yt[i]).pow(2).sum() + 0.5 * alpha * (w * w).sum()
        loss.backward()
        opt.step()
    return w.detach().numpy().copy(), float(b.detach()[0])


def torch_adam_minibatch(torch, X, y, lr, alpha, batch=BATCH, seed=SEED):
    """One epoch of mini-batch torch.optim.Adam, shuffled (randperm)."""
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y)
    n, d = X.shape
    gen = torch.Generator().manual_seed(seed)
    w = torch.zeros(d, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=lr)
    perm = torch.randperm(n, generator=gen)
    for start in range(0, n, batch):
        idx = perm[start:start + batch]
        opt.zero_grad()
        loss = (0.5 * (Xt[idx] @ w + b - yt[idx]).pow(2).mean()
                + 0.5 * alpha * (w * w).sum())
        loss.backward()
        opt.step()
    return w.detach().numpy().copy(), float(b.detach()[0])
