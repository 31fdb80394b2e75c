"""Fresh output tensors whose first write is not dominated by page faults.

Writing a newly allocated multi-megabyte tensor costs a page fault per 4 KiB page (~1 GB/s
for the first pass; 0.4 ms for a (1e5, 9) float32 output that the caller keeps). numpy asks
the kernel for transparent huge pages on allocations of 4 MiB and more
(``madvise(MADV_HUGEPAGE)``), torch's CPU allocator only under ``THP_MEM_ALLOC_ENABLE=1``:
large CPU outputs are therefore numpy buffers shared with torch (2-7x faster first pass).
Outputs between 2 and 4 MiB are the head of a 4 MiB numpy buffer: the tail is never written,
so it costs address space, and at most one 2 MiB page of memory.
"""

import math

import numpy as np
import torch

# below this, torch's allocator (which reuses freed memory of small sizes) is as fast
_MIN_BYTES = 1 << 21
# numpy's threshold for madvise(MADV_HUGEPAGE)
_HUGE_PAGE_BYTES = 1 << 22
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
        dtype = _NUMPY_DTYPES[like.dtype]
        padded = max(numel, _HUGE_PAGE_BYTES // like.element_size())
        # shaped in numpy: a torch .view() would make the result a view, and autograd forbids
        # in-place changes to a custom Function's output that is one
        return torch.from_numpy(np.empty(padded, dtype=dtype)[:numel].reshape(shape))
    return torch.empty(shape, dtype=like.dtype, device=like.device)
