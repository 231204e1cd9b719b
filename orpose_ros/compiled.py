"""Compiled loops: work too small per item for numpy's per-call cost (a few 3x3 or 4x4 systems per joint or
person) runs as loops compiled to machine code by numba.

A module rebinds its plain functions with ``name = compiled(name)`` (rather than decorating them, so that
mutation testing, which skips decorated functions, still mutates them). The first call compiles; the result is
cached on disk (numba's ``__pycache__`` files, or ``NUMBA_CACHE_DIR``), so later processes load it in a fraction
of a second. With the environment variable ``NUMBA_DISABLE_JIT=1`` the same functions run as plain Python.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba

_njit = numba.njit(cache=True, error_model="numpy")
#: Every function made by `compiled`, in the order of their modules' imports.
KERNELS: list[Any] = []


def compiled(function: Callable) -> Any:
    """``function`` compiled to machine code on its first call, cached on disk across processes; division by
    zero gives inf / NaN as in numpy. Listed in `KERNELS`."""
    kernel = _njit(function)
    KERNELS.append(kernel)
    return kernel
