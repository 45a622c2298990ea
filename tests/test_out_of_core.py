"""Out-of-core training: partial_fit over chunks of a read-only np.memmap.

bench/out_of_core.py runs the same at scale, in a process whose address
space is smaller than the file.
"""

import hashlib
import tracemalloc

import numpy as np
import pytest

from descent import SGDRegressor

N, D, CHUNK = 40_000, 10, 7_000          # 3.2 MB file; the last chunk is short


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D))
    y = X @ rng.normal(size=D) + 1.0 + 0.3 * rng.normal(size=N)
    directory = tmp_path_factory.mktemp("memmap")
    x_path, y_path = directory / "X.f64", directory / "y.f64"
    X.tofile(x_path)
    y.tofile(y_path)
    return x_path, y_path


def open_readonly(files):
    x_path, y_path = files
    return (np.memmap(x_path, dtype=np.float64, mode="r", shape=(N, D)),
            np.memmap(y_path, dtype=np.float64, mode="r", shape=(N,)))


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def chunks(n, size):
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


@pytest.mark.parametrize("params", [
    dict(),
    dict(optimizer="adam", eta0=1e-3),
    dict(optimizer="adam", batch_size=50, eta0=1e-2),   # CHUNK is a multiple of 50
    dict(average=True),
    dict(optimizer="momentum", average=True, eta0=1e-3),
    dict(penalty="elasticnet"),
], ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default")
def test_chunked_partial_fit_equals_whole_array(files, params):
    # With shuffle=False, consecutive chunks replay the whole-array epoch: the
    # optimizer state, averaged weights and t_ carry over between calls.
    X, y = open_readonly(files)
    before = [sha256(p) for p in files]
    # scale_targets=False and an explicit eta0 for the update rules: a scaled
    # fit takes its scale, and a default step its size, from the first call's
    # rows (a chunk here, the whole array there), so their iterates differ
    chunked = SGDRegressor(shuffle=False, random_state=0, scale_targets=False, **params)
    whole = SGDRegressor(shuffle=False, random_state=0, scale_targets=False, **params)
    for _ in range(2):
        for s in chunks(N, CHUNK):
            assert chunked.partial_fit(X[s], y[s]) is chunked
        whole.partial_fit(np.array(X), np.array(y))
    assert chunked.t_ == whole.t_ == 1 + 2 * N
    # per-sample "sgd" keeps its average lazily and folds it at the end of each
    # call (kernel/loop_plain.pxd): the chunks round it at other points
    tol = 1e-11 if params == dict(average=True) else 1e-12
    np.testing.assert_allclose(chunked.coef_, whole.coef_, rtol=0, atol=tol)
    np.testing.assert_allclose(chunked.intercept_, whole.intercept_, rtol=0, atol=tol)
    assert [sha256(p) for p in files] == before      # read only, unchanged
    assert not X.flags.writeable


def test_shuffled_chunks_converge(files):
    X, y = open_readonly(files)
    rng = np.random.default_rng(1)
    model = SGDRegressor(random_state=0)
    for _ in range(5):
        for s in rng.permutation(chunks(N, CHUNK)):
            model.set_params(random_state=int(rng.integers(2**31 - 1)))
            model.partial_fit(X[s], y[s])
    reference = SGDRegressor(random_state=0, max_iter=5, tol=None).fit(np.array(X),
                                                                      np.array(y))
    assert model.score(X, y) == pytest.approx(reference.score(X, y), abs=1e-3)


def test_memory_stays_bounded(files):
    # partial_fit reads the mapped chunk in place: what it allocates is a few
    # vectors of the chunk's length (order, weights), never a copy of X.
    X, y = open_readonly(files)
    model = SGDRegressor(random_state=0).partial_fit(X[:CHUNK], y[:CHUNK])
    chunk_bytes = CHUNK * D * 8
    tracemalloc.start()
    try:
        for s in chunks(N, CHUNK):
            tracemalloc.reset_peak()
            model.partial_fit(X[s], y[s])
            _, peak = tracemalloc.get_traced_memory()
            assert peak < 0.5 * chunk_bytes
    finally:
        tracemalloc.stop()
    assert peak < 0.05 * X.nbytes
