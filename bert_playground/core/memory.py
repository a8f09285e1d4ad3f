"""The allocator policy of a long-running server process (glibc), set from inside the process.

glibc keeps freed memory for reuse; with the large, variously-sized tensors of inspection ((1, T, V) logits,
(L, H, T, T) attention maps) a server grows by one or two hundred MB before levelling off. A fixed mmap threshold
makes every block above it a private mapping that goes back to the OS as soon as it is freed, and a fixed trim
threshold trims the heap top; both what `MALLOC_MMAP_THRESHOLD_` / `MALLOC_TRIM_THRESHOLD_` in the environment do,
but set by `mallopt` at start-up, so the default start command needs no setting. No torch import here.

A private mapping comes back zeroed and is faulted in page by page: with 4 KiB pages the (1, H, T, T) score tensors
of eager attention cost ~75,000 page faults per forward pass at 512 tokens (a quarter of its time here). PyTorch's
`THP_MEM_ALLOC_ENABLE` makes its CPU allocator page-align its blocks and advise transparent huge pages
(madvise MADV_HUGEPAGE) for those of 2 MB and more (where the kernel allows it: `madvise` or `always` in /sys/kernel/mm/transparent_hugepage/enabled),
so those tensors fault in 2 MB at a time. PyTorch reads it once, at its first allocation: the policy is set before
torch is imported.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024  # bytes: blocks above it are mapped and unmapped on their own
TRIM_THRESHOLD = 128 * 1024  # bytes: free memory at the heap top above it goes back to the OS
THP_ENV = "THP_MEM_ALLOC_ENABLE"  # PyTorch: transparent huge pages advised for its blocks >= 2 MB

_tuned: bool | None = None


def _libc():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def tune_allocator() -> bool:
    """Fixed mmap and trim thresholds (glibc only; once per process) and huge pages for PyTorch's large blocks
    (call before torch is imported). An explicit `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_` or
    `THP_MEM_ALLOC_ENABLE` in the environment wins, and `BERT_PLAYGROUND_MALLOC=default` leaves glibc's and
    PyTorch's own policies. True when the glibc policy is in force."""
    global _tuned
    if _tuned is not None:
        return _tuned
    if os.environ.get("BERT_PLAYGROUND_MALLOC", "").lower() != "default":
        os.environ.setdefault(THP_ENV, "1")  # large tensors on huge pages (see above); an explicit 0 wins
    libc = _libc()
    _tuned = False
    if libc is not None and os.environ.get("BERT_PLAYGROUND_MALLOC", "").lower() != "default":
        ok = True
        if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
            ok &= libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
        if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
            ok &= libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        _tuned = bool(ok)
    return _tuned


def trim() -> bool:
    """Hand the allocator's free memory back to the OS now (glibc's malloc_trim); False where unavailable."""
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(0) in (0, 1))
