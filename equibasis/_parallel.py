"""Row ranges of one CPU job run on a few Python threads.

torch releases the GIL inside its kernels, and an elementwise kernel on fewer than 32768
elements (torch's grain size) runs on one core. A job that works through a large batch in
cache-sized chunks (as the harmonics do) therefore uses one core unless the chunks themselves
run side by side: :func:`run_in_ranges` splits the rows into one contiguous range per torch
thread and runs them on a small thread pool (made per process, so a forked child makes its own).
"""

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch

_LOCK = threading.Lock()
_POOL: dict[str, object] = {"pid": None, "pool": None, "workers": 0}


def _pool(workers: int) -> ThreadPoolExecutor:
    with _LOCK:
        pid = os.getpid()
        if _POOL["pid"] != pid or _POOL["workers"] < workers:
            # a pool inherited through fork has no threads: never reuse it in a child
            _POOL.update(pid=pid, workers=workers, pool=ThreadPoolExecutor(workers))
        return _POOL["pool"]  # type: ignore[return-value]


def run_in_ranges(job: Callable[[int, int], None], num_rows: int, chunk: int) -> None:
    """Call ``job(start, stop)`` on contiguous ranges covering ``range(num_rows)``.

    Range boundaries are multiples of ``chunk``; there are at most ``torch.get_num_threads()``
    ranges, all but the first run on pool threads. The caller's grad and inference modes
    (thread-local in torch) are set in each thread. Exceptions propagate to the caller.
    """
    num_chunks = -(-num_rows // chunk)
    workers = min(torch.get_num_threads(), num_chunks)
    if workers <= 1:
        job(0, num_rows)
        return
    per_range = -(-num_chunks // workers) * chunk
    starts = list(range(0, num_rows, per_range))
    grad, inference = torch.is_grad_enabled(), torch.is_inference_mode_enabled()

    def run(start: int) -> None:
        with torch.inference_mode(inference), torch.set_grad_enabled(grad):
            job(start, min(start + per_range, num_rows))

    pool = _pool(workers - 1)
    futures = [pool.submit(run, start) for start in starts[1:]]
    try:
        run(starts[0])
    finally:
        for future in futures:
            future.result()
