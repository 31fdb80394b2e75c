"""``equibasis benchmark``: train the grid, store every run, write the CSV, page and figures."""

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from equibasis.benchmark.page import write_page
from equibasis.benchmark.results import ResultStore
from equibasis.benchmark.spec import RunSpec, default_grid
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
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError(
            "progress bars need tqdm: pip install 'equibasis[benchmark]' (or pass "
            "--no-progress / progress=False)"
        ) from None
    return tqdm


def run_grid(
    specs: Sequence[RunSpec],
    out: str | Path,
    *,
    progress: bool = True,
    threads: int | None = 1,
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
    """
    from equibasis.datasets import load_dataset

    tqdm = _tqdm(progress)
    store = ResultStore(out)
    data: dict[str, object] = {}
    rows = []
    bar = tqdm(total=len(specs), desc="benchmark", unit="run") if tqdm else None
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
        )
    run_grid(specs, out, progress=progress, threads=threads)
    store = ResultStore(out)
    return write_page(out, store.records(), command, time.perf_counter() - start)
