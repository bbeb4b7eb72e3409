"""The C library's functions that podmortem calls through ctypes, where the system has them.

Two callers: analyzer/heap.py (``malloc_trim``: freed heap pages back to the system) and
analyzer/prefilter.py (``memmem``: the search of big logs). ctypes is imported at the first call
only (2 ms): a small bundle never loads it.
"""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=None)
def libc_function(name: str):
    """The process's own C library's function ``name`` (glibc, musl, macOS libSystem) as a ctypes
    function, looked up once; None where there is no ctypes, no C library to open or no such
    function (``malloc_trim`` is glibc's only).

    >>> libc_function("no_such_function_here") is None
    True
    """
    try:
        import ctypes

        return getattr(ctypes.CDLL(None), name)
    except (ImportError, OSError, AttributeError, TypeError):
        return None
