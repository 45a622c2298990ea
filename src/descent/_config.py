"""Build facts of the compiled kernels."""

from __future__ import annotations

from . import _kernels


def show_config(print_out=True):
    """Report how the kernels were built: build type, OpenMP, threads.

    Returns the facts as a dict; prints them unless ``print_out=False``.
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
