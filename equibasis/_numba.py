"""Loading and launching the numba-compiled CPU kernels (``equibasis._*_kernels``).

numba is imported on first use, and a kernel module that cannot be imported (numba missing
or broken) makes :func:`kernels` return ``None``: callers then take their torch path. Launches
are serialised by a lock, because the thread pool chosen (numba's "workqueue", which survives
``fork``) must not be entered from two Python threads at once, and use as many threads as
torch does.
"""

import importlib
import os
import threading
from types import ModuleType

import torch

__all__ = ["KERNEL_OPTIONS", "fused_cpu_available", "kernels", "launch"]

# every kernel: compiled once and cached next to its module; "contract" lets LLVM fuse
# a * b + c into one FMA (one rounding instead of two, and 1.3x faster for the harmonics at
# lmax 4); no other fast-math licence (no reassociation; NaN and inf kept)
KERNEL_OPTIONS = dict(
    cache=True, nogil=True, boundscheck=False, error_model="numpy", fastmath={"contract"}
)

_LOCK = threading.Lock()
_MODULES: dict[str, ModuleType | None] = {}


def _choose_threading_layer() -> None:
    """Numba's own thread pool ("workqueue") unless the user chose a layer.

    numba's default, GNU OpenMP when present, kills any process forked after a kernel ran
    ("fork() called from a process already using GNU OpenMP"), e.g. a DataLoader worker. The
    workqueue pool survives fork; it must not be entered from two threads at once, which
    :func:`launch`'s lock ensures.
    """
    import numba

    if "NUMBA_THREADING_LAYER" not in os.environ and numba.config.THREADING_LAYER == "default":
        numba.config.THREADING_LAYER = "workqueue"


def kernels(name: str) -> ModuleType | None:
    """The compiled kernel module ``equibasis.<name>``, or ``None`` where it cannot load."""
    if name not in _MODULES:
        try:
            _choose_threading_layer()
            _MODULES[name] = importlib.import_module(f"equibasis.{name}")
        except ImportError:  # numba missing or broken: the torch path serves
            _MODULES[name] = None
    return _MODULES[name]


def fused_cpu_available(name: str, *tensors: torch.Tensor) -> bool:
    """Whether kernel module ``name`` can serve ``tensors``: CPU float32/float64, eager mode."""
    return (
        all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64) for t in tensors)
        and not torch.compiler.is_compiling()
        and kernels(name) is not None
    )


def launch(kernel, *args) -> None:
    """Run ``kernel(*args)`` on torch's number of CPU threads, one launch at a time."""
    import numba

    threads = max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    with _LOCK:
        numba.set_num_threads(threads)
        kernel(*args)
