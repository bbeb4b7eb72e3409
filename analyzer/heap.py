"""Give memory that a stage of a run freed back to the system (glibc's ``malloc_trim``).

Python frees what a stage no longer needs (the reader's buffers, a 4 MB pod list once parsed, the
gigabyte of decompressed log blocks that passed through the line filter), but glibc keeps the freed
space of its heaps for later allocations, and the process's resident size (what a laptop swaps,
what a container's limit counts) stays at its highest. ``malloc_trim(0)`` returns the free pages.
On the big benchmark bundle (500 pods, benchmarks/RESULTS.md) it gives back 13 MB after reading and
23 MB after the report. Where there is no glibc (macOS, musl) it does nothing.

Only bundles that reach BIG_BUNDLE_BYTES are trimmed: a small one has little to give back, and
loading ctypes costs 2 ms.
"""
from __future__ import annotations

from analyzer.libc import libc_function

BIG_BUNDLE_BYTES = 256 * 1024**2


def give_back_free_memory(bundle_bytes: int) -> None:
    """Return the free pages of the C heaps to the system, when the bundle read was big.

    >>> give_back_free_memory(0)  # a small bundle: nothing is done
    >>> give_back_free_memory(BIG_BUNDLE_BYTES)
    """
    if bundle_bytes < BIG_BUNDLE_BYTES:
        return
    trim = libc_function("malloc_trim")
    if trim is not None:
        trim(0)
