"""Timing helpers shared by ``benchmarks/`` and ``equibasis report``.

Speed claims are ratios against peers measured in the same process, on the same inputs, one
right after the other, so machine load affects both sides alike. Timings are medians of several
repeats after warm-up calls (first calls pay for allocation and dispatch caches).
"""

import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

__all__ = ["Timing", "format_table", "machine_description", "time_alternately", "time_callable"]


@dataclass(frozen=True)
class Timing:
    """Median wall-clock time of a callable, in seconds, with the spread of the repeats."""

    median: float
    minimum: float
    repeats: int

    @property
    def ms(self) -> float:
        """Median in milliseconds."""
        return self.median * 1e3


def _synchronize(device: torch.device | str | None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


# Why not torch.utils.benchmark.Timer: its timeit(number) first makes at least two untimed
# calls of its own, and blocked_autorange() chooses its own number of calls per block. Neither
# can time exactly one call per callable per round (time_alternately's rounds), keep
# ``repeats`` and ``warmup`` exact, or time a one-shot call: the report times the ~30 s sympy
# construction of PyG's SphericalBasisLayer once, which Timer would run three times. (Timer
# would also set torch's thread count while timing unless given torch.get_num_threads().)
# A plain perf_counter loop does all of it; a sub-millisecond call is steadied by min_time.


def time_callable(
    fn: Callable[[], object],
    *,
    repeats: int = 7,
    warmup: int = 2,
    device: torch.device | str | None = None,
    min_time: float = 0.0,
) -> Timing:
    """Time ``fn()`` and return the median over ``repeats`` runs after ``warmup`` runs.

    Args:
        fn: A callable with no arguments; its result is discarded.
        repeats: Timed runs (>= 1).
        warmup: Untimed runs first.
        device: The device ``fn`` runs on; CUDA is synchronised around each run.
        min_time: Keep repeating past ``repeats`` until this many seconds were timed in total,
            which steadies very fast calls.

    Returns:
        A :class:`Timing` in seconds.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, received {repeats}")
    for _ in range(warmup):
        fn()
    _synchronize(device)
    samples: list[float] = []
    while len(samples) < repeats or sum(samples) < min_time:
        start = time.perf_counter()
        fn()
        _synchronize(device)
        samples.append(time.perf_counter() - start)
    return Timing(statistics.median(samples), min(samples), len(samples))


def time_alternately(
    fns: Sequence[Callable[[], object]],
    *,
    rounds: int = 7,
    warmup: int = 1,
    device: torch.device | str | None = None,
) -> list[Timing]:
    """Time several callables in turn: each round runs each of ``fns`` once.

    A shared machine's load, and a process's memory state (the first calls that fault in fresh
    memory can be 5-10x slower), then hit all of them alike, which timing each one's repeats
    back to back does not.

    Args:
        fns: Callables with no arguments; their results are discarded.
        rounds: Timed rounds (>= 1).
        warmup: Untimed rounds first.
        device: The device the callables run on; CUDA is synchronised around each run.

    Returns:
        One :class:`Timing` per callable, in seconds, in the order of ``fns``.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, received {rounds}")
    for _ in range(warmup):
        for fn in fns:
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, times in zip(fns, samples, strict=True):
            times.append(time_callable(fn, repeats=1, warmup=0, device=device).median)
    return [Timing(statistics.median(t), min(t), len(t)) for t in samples]


def _cell(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def format_table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    cell: Callable[[object], str] = _cell,
) -> str:
    """Render rows as a GitHub-flavoured Markdown table (floats to 3 significant digits).

    Args:
        header: Column names.
        rows: One sequence of cells per row.
        cell: Writes one cell (default: floats to 3 significant digits, the rest with ``str``);
            e.g. the report writes errors as ``1.2e-15`` and missing values as ``–``.

    Returns:
        The table, one line per row after the header and separator lines.

    Example:
        >>> print(format_table(["a", "b"], [[1, 0.123456]]))
        | a | b |
        |---|---|
        | 1 | 0.123 |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_description() -> str:
    """One line naming the processor, core count, torch build and threads (for reports)."""
    cpu = platform.processor() or platform.machine()
    cores = torch.get_num_threads()
    text = f"{platform.system()} {cpu}, torch {torch.__version__}, {cores} threads"
    if torch.cuda.is_available():
        text += f", CUDA {torch.cuda.get_device_name()}"
    return text
