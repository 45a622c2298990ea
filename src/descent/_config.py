"""Build facts of the compiled kernels."""

from __future__ import annotations

from . import _kernels, _simd


def show_config(print_out=True):
    """Report how the compiled kernels were built, and the CPU variant in use.

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
        ``n_jobs > 1`` runs on one thread), ``"max_threads"`` (int: the
        most threads a kernel runs on, the processors OpenMP sees; 1 without
        OpenMP), ``"simd"`` (str: the CPU variant of the kernels this process
        runs, ``"baseline"``, ``"avx2"`` or ``"avx512"``: the best one
        available, or the one the environment variable ``DESCENT_SIMD``
        names), ``"simd_available"`` (tuple of str: the variants this machine
        can use, built and supported by the CPU; fits are bit-identical on
        each) and ``"simd_forced"`` (bool: whether ``DESCENT_SIMD`` chose).

    See Also
    --------
    descent.SGDRegressor : Its ``n_jobs`` uses the threads reported here.

    Examples
    --------
    >>> import descent
    >>> config = descent.show_config(print_out=False)
    >>> sorted(config)
    ['build_type', 'max_threads', 'openmp', 'simd', 'simd_available', 'simd_forced']
    >>> config["max_threads"] >= 1
    True
    >>> config["simd"] in config["simd_available"]
    True
    """
    choice = _simd.choice
    config = {
        "build_type": _kernels.BUILD_TYPE,
        "openmp": _kernels.OPENMP,
        "max_threads": _kernels.max_threads(),
        "simd": _kernels.SIMD,
        "simd_available": choice.available,
        "simd_forced": choice.forced,
    }
    if print_out:
        print(f"descent kernels: {config['build_type']} build")
        if config["openmp"]:
            print(f"OpenMP: yes, up to {config['max_threads']} threads")
        else:
            print("OpenMP: no (this build runs every kernel on one thread)")
        how = f"set by {_simd.ENV}" if choice.forced else "the best one available"
        print(f"CPU variant: {config['simd']} ({how}); available here: "
              f"{', '.join(choice.available)}")
    return config
