"""Build facts of the compiled kernels."""

from __future__ import annotations

from . import _kernels


def show_config(print_out=True):
    """Report how the compiled kernels were built: build type, OpenMP, threads.

    Parameters
    ----------
    print_out : bool, default=True
        Print the facts, one per line; False to only return them.

    Returns
    -------
    dict
        ``"build_type"`` (str: CMake's build type, ``"Release"`` for the
        wheels, ``"Debug"`` for a bounds-checked build), ``"openmp"`` (bool:
        whether the kernels were compiled with OpenMP, without which
        ``n_jobs > 1`` runs on one thread) and ``"max_threads"`` (int: the
        most threads a kernel runs on, the processors OpenMP sees; 1 without
        OpenMP).

    See Also
    --------
    descent.SGDRegressor : Its ``n_jobs`` uses the threads reported here.

    Examples
    --------
    >>> import descent
    >>> config = descent.show_config(print_out=False)
    >>> sorted(config)
    ['build_type', 'max_threads', 'openmp']
    >>> config["max_threads"] >= 1
    True
    """
    config = {
        "build_type": _kernels.BUILD_TYPE,
        "openmp": _kernels.OPENMP,
        "max_threads": _kernels.max_threads(),
    }
    if print_out:
        print(f"descent kernels: {config['build_type']} build")
        if config["openmp"]:
            print(f"OpenMP: yes, up to {config['max_threads']} threads")
        else:
            print("OpenMP: no (this build runs every kernel on one thread)")
    return config
