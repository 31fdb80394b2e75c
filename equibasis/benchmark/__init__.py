"""``equibasis benchmark``: which basis makes the better model, measured on real molecules.

The same small models (:mod:`equibasis.models`), data (:mod:`equibasis.datasets`), optimiser,
schedule, epochs and seeds; only the geometric embedding changes from one run to the next.
Each run's test MAE, parameter count and training time go into ``DIR/results.csv``; a
Markdown page with mean ± std tables and figures goes beside it. See ``docs/benchmark.md``.
"""

from equibasis.benchmark.page import write_page
from equibasis.benchmark.results import COLUMNS, ResultStore
from equibasis.benchmark.runner import run_benchmark, run_grid
from equibasis.benchmark.spec import (
    FAMILIES,
    RunSpec,
    Sizes,
    default_grid,
    make_model,
    make_radial,
    parse_basis,
    parse_model,
    sizes_for,
)
from equibasis.benchmark.train import RunResult, evaluate, train_run

__all__ = [
    "COLUMNS",
    "FAMILIES",
    "ResultStore",
    "RunResult",
    "RunSpec",
    "Sizes",
    "default_grid",
    "evaluate",
    "make_model",
    "make_radial",
    "parse_basis",
    "parse_model",
    "run_benchmark",
    "run_grid",
    "sizes_for",
    "train_run",
    "write_page",
]
