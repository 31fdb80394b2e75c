"""``equibasis benchmark``: train the grid, store every run, write the CSV, page and figures."""

import contextlib
import math
import multiprocessing
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import torch

from equibasis._optional import tqdm_class
from equibasis.benchmark.page import write_page
from equibasis.benchmark.results import ResultStore
from equibasis.benchmark.spec import RunSpec, default_grid, parse_model
from equibasis.benchmark.train import train_run

__all__ = ["run_benchmark", "run_grid"]


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """Set torch's intra-op threads for the runs (restored after)."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _tqdm(progress: bool):
    return tqdm_class(progress, extra="benchmark")


# Rough cost of one training step relative to SchNet-like (1 CPU thread, 16 molecules): only
# the order in which parallel workers take the runs (longest first), never a result.
_RELATIVE_STEP_COST = {"schnet": 1, "dimenet++": 6, "spherenet": 10, "tfn": 4}


def _expected_cost(spec: RunSpec) -> float:
    base, variant = parse_model(spec.model)
    weight = _RELATIVE_STEP_COST[base] * (int(variant) ** 1.5 if base == "tfn" else 1)
    return weight * spec.epochs * math.ceil(spec.n_train / spec.batch_size)


_WORKER_DATA: dict[str, object] = {}


def _train_in_worker(spec: RunSpec, out: str, threads: int | None) -> dict:
    """One run in a worker process (its own data and thread setting); returns the CSV row."""
    from equibasis.datasets import load_dataset

    if threads is not None:
        torch.set_num_threads(threads)
    if spec.dataset not in _WORKER_DATA:
        _WORKER_DATA[spec.dataset] = load_dataset(spec.dataset)
    result = train_run(spec, _WORKER_DATA[spec.dataset])
    return ResultStore(out).save(spec, result)


def _run_parallel(pending: list[RunSpec], store: ResultStore, jobs: int, threads, bar) -> None:
    """Train ``pending`` in ``jobs`` spawned processes, longest runs first."""
    order = sorted(pending, key=_expected_cost, reverse=True)
    context = multiprocessing.get_context("spawn")  # no fork of a process holding torch threads
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(_train_in_worker, s, str(store.out), threads): s for s in order}
        for future in as_completed(futures):
            future.result()  # a failed run raises here, after the finished ones were saved
            store.write_csv()
            if bar is not None:
                spec = futures[future]
                bar.set_postfix_str(f"{spec.dataset} {spec.model} {spec.basis} s{spec.seed}")
                bar.update(1)


def run_grid(
    specs: Sequence[RunSpec],
    out: str | Path,
    *,
    progress: bool = True,
    threads: int | None = 1,
    jobs: int = 1,
) -> list[dict]:
    """Train every spec not yet finished under ``out``; returns the CSV rows of ``specs``.

    Finished runs (``out/runs/<key>.json`` with the same spec) are skipped and reused as
    stored. ``results.csv`` is rewritten after every run, so an interruption loses at most
    the run in progress.

    Args:
        specs: The runs.
        out: Output folder.
        progress: tqdm bars on the grid and on each run's epochs (needs tqdm).
        threads: torch threads during training (default 1: a run's tensors are small, and
            on a loaded 2-core machine 2 threads made a quick SchNet-like run 5x slower, 72 s
            against 15 s, and single indexing ops up to 100x, through OpenMP barrier waits).
            None keeps the current setting.
        jobs: Runs trained at once, each in its own process with ``threads`` threads (spawned,
            so the caller's torch state is not forked). 1 trains in this process. The
            numbers of a run do not depend on ``jobs``; its ``train_s`` does when the
            processes compete for cores (use at most one job per core).
    """
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, received {jobs!r}")
    from equibasis.datasets import load_dataset

    tqdm = _tqdm(progress)
    store = ResultStore(out)
    data: dict[str, object] = {}
    rows = []
    bar = tqdm(total=len(specs), desc="benchmark", unit="run") if tqdm else None
    if jobs > 1:
        pending = [spec for spec in dict.fromkeys(specs) if store.load(spec) is None]
        if bar is not None:
            bar.update(len(specs) - len(pending))
        _run_parallel(pending, store, jobs, threads, bar)
        if bar is not None:  # every run is stored now: the loop below only collects rows
            bar.close()
            bar = None
    with _threads(threads):
        for spec in specs:
            record = store.load(spec)
            if record is None:
                if spec.dataset not in data:
                    data[spec.dataset] = load_dataset(spec.dataset)
                if bar is not None:
                    bar.set_postfix_str(f"{spec.dataset} {spec.model} {spec.basis} s{spec.seed}")
                epoch_bar = None
                if tqdm is not None:
                    epoch_bar = lambda total, spec=spec: tqdm(  # noqa: E731
                        total=total, desc=f"{spec.model} {spec.basis}", unit="epoch",
                        leave=False,
                    )  # fmt: skip
                result = train_run(spec, data[spec.dataset], epoch_bar)
                rows.append(store.save(spec, result))
                store.write_csv()
            else:
                rows.append(record["row"])
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    store.write_csv()
    return rows


def run_benchmark(
    out: str | Path,
    datasets: Sequence[str] = ("qm9", "ethanol"),
    *,
    quick: bool = False,
    models: Sequence[str] | None = None,
    bases: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    n_train: int | None = None,
    epochs: int | None = None,
    device: str = "cpu",
    threads: int | None = 1,
    jobs: int = 1,
    radial_scale: str = "rms",
    progress: bool = True,
    command: str = "equibasis benchmark",
) -> Path:
    """Run the benchmark grid and write ``results.csv``, ``benchmark.md`` and the figures.

    Args:
        out: Output folder (finished runs there are reused).
        datasets: ``qm9`` (embedded subset), ``qm9-full`` (qm9pack) and/or ``ethanol``.
        quick: The small grid (SchNet-like on three bases, 2 seeds, small sizes).
        models: Model names (see :mod:`equibasis.benchmark.spec`); with ``bases``, the grid
            is their product.
        bases: Basis names ``family-K``.
        seeds: Seeds (default ``(0, 1)`` quick, ``(0, 1, 2)`` full).
        n_train: Training-set size instead of the default.
        epochs: Epochs instead of the default.
        device: torch device of the training (``"cuda"`` on a GPU machine).
        threads: torch threads (see :func:`run_grid`).
        jobs: Runs trained at once in separate processes (see :func:`run_grid`).
        radial_scale: ``"rms"`` or ``"none"`` (see :class:`~equibasis.benchmark.spec.RunSpec`).
        progress: tqdm bars.
        command: The command line written at the top of the page.

    Returns:
        The path of ``benchmark.md``.
    """
    start = time.perf_counter()
    seeds = tuple(seeds) if seeds is not None else ((0, 1) if quick else (0, 1, 2))
    specs: list[RunSpec] = []
    for dataset in datasets:
        specs += default_grid(
            dataset,
            quick=quick,
            seeds=seeds,
            models=tuple(models) if models else None,
            bases=tuple(bases) if bases else None,
            n_train=n_train,
            epochs=epochs,
            device=device,
            radial_scale=radial_scale,
        )
    run_grid(specs, out, progress=progress, threads=threads, jobs=jobs)
    store = ResultStore(out)
    return write_page(out, store.records(), command, time.perf_counter() - start)
