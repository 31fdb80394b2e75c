"""Fresh output tensors whose first write is not dominated by page faults.

Writing a newly allocated multi-megabyte tensor can cost a page fault per 4 KiB page. Below
32 MiB (glibc's largest dynamic mmap threshold) torch's allocator gets memory that malloc
reuses from freed blocks: no faults, and it is used. Above it every allocation is a fresh
mapping; numpy asks the kernel for transparent huge pages on it (``madvise(MADV_HUGEPAGE)``),
torch's CPU allocator only under ``THP_MEM_ALLOC_ENABLE=1``, so those outputs are numpy
buffers shared with torch: filling a fresh 117 MB output went from 54 to 13 ms. Measured on
this project's machine (alloc + fill, two sizes alternating): huge pages were 2x faster from
32 MiB, but up to 150x slower at 2-24 MiB (a fresh huge-page mapping per call, where malloc
would have reused memory): 10.7 vs 0.07 ms at 2 MiB, 4.4 vs 0.9 ms at 24 MiB.
"""

import math

import numpy as np
import torch

# below this (glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit), malloc reuses freed memory
_MIN_BYTES = 1 << 25
_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


def new_output(shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """An uninitialised contiguous tensor of ``shape`` with the dtype and device of ``like``."""
    numel = math.prod(shape)
    size = numel * like.element_size()
    if (
        like.device.type == "cpu"
        and like.dtype in _NUMPY_DTYPES
        and size >= _MIN_BYTES
        and not torch.compiler.is_compiling()
    ):
        # shaped in numpy: a torch .view() would make the result a view, and autograd forbids
        # in-place changes to a custom Function's output that is one
        return torch.from_numpy(np.empty(shape, dtype=_NUMPY_DTYPES[like.dtype]))
    return torch.empty(shape, dtype=like.dtype, device=like.device)
