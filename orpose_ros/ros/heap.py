"""Giving freed heap memory back to the operating system (glibc), for long-running nodes.

glibc keeps memory freed by large, short-lived buffers (a forward pass allocates hundreds of MB
whose sizes vary with the number of people) in its arenas; resident memory then drifts upwards over
hours although nothing leaks. ``malloc_trim(0)`` returns the free pages; it costs a few milliseconds,
so the node calls it at most every `TRIM_EVERY_S` seconds, after an inference.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time

TRIM_EVERY_S = 10.0


def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


class HeapTrimmer:
    """Calls glibc's ``malloc_trim(0)`` at most every ``every_s`` seconds; a no-op without glibc."""

    def __init__(self, every_s: float = TRIM_EVERY_S) -> None:
        self._trim = _malloc_trim()
        self._every_s = every_s
        self._last = time.monotonic()
        self.trims = 0

    def maybe_trim(self) -> None:
        now = time.monotonic()
        if self._trim is not None and now - self._last >= self._every_s:
            self._last = now
            self._trim(0)
            self.trims += 1

    def trim_now(self) -> None:
        """Trim at once (after releasing a model)."""
        if self._trim is not None:
            self._last = time.monotonic()
            self._trim(0)
            self.trims += 1
