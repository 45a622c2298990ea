"""descent._kernels: the compiled kernels, in the variant for this CPU.

The kernels are compiled into one module per CPU variant (_kernels_baseline,
_kernels_avx2, _kernels_avx512: the same C code, different target flags).
This file stands in for them: it imports the variant descent._simd chooses
(the best one the CPU runs, or the one DESCENT_SIMD names) and puts it in its
own place in sys.modules, so that `from . import _kernels` everywhere gets the
compiled module itself (Workspace, OptimStep, the enums, the py_* wrappers).
_kernels.pyi types that module; _kernels.pyx is its source.
"""

import sys

from ._simd import load

sys.modules[__name__] = load()
