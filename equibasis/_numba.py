"""Loading and launching the numba-compiled CPU kernels (``equibasis._*_kernels``).

numba is imported on first use, and a kernel module that cannot be imported (numba missing
or broken) makes :func:`kernels` return ``None``: callers then take their torch path. Launches
are serialised by a lock and use as many threads as torch does.

Fork: numba's default thread pool on Linux is GNU OpenMP, the runtime torch's own CPU kernels
use (sharing it, the two never compete for the cores; numba's "workqueue" pool made the
harmonics' forward + backward 1.7x slower, spinning against torch's idle OpenMP threads).
That pool cannot be used in a process forked after it ran: numba kills such a child ("fork()
called from a process already using GNU OpenMP"). A forked child (a DataLoader worker, say)
of a process that launched a kernel therefore takes the torch path.
"""

import importlib
import os
import threading
from types import ModuleType

import torch

__all__ = ["fused_cpu_available", "kernels", "launch"]


_LOCK = threading.Lock()
_MODULES: dict[str, ModuleType | None] = {}
# the process that launched a kernel (inherited by a forked child, which then differs)
_LAUNCHED_IN: dict[str, int | None] = {"pid": None}


def kernels(name: str) -> ModuleType | None:
    """The compiled kernel module ``equibasis.<name>``, or ``None`` where it cannot load."""
    if name not in _MODULES:
        try:
            _MODULES[name] = importlib.import_module(f"equibasis.{name}")
        except ImportError:  # numba missing or broken: the torch path serves
            _MODULES[name] = None
    return _MODULES[name]


def fused_cpu_available(name: str, *tensors: torch.Tensor) -> bool:
    """Whether kernel module ``name`` can serve ``tensors``: CPU float32/float64, eager mode."""
    return (
        all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64) for t in tensors)
        and not torch.compiler.is_compiling()
        and _LAUNCHED_IN["pid"] in (None, os.getpid())
        and kernels(name) is not None
    )


def launch(kernel, *args) -> None:
    """Run ``kernel(*args)`` on torch's number of CPU threads, one launch at a time."""
    import numba

    threads = max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    with _LOCK:
        _LAUNCHED_IN["pid"] = os.getpid()
        numba.set_num_threads(threads)
        kernel(*args)
