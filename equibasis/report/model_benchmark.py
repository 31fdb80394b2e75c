"""Section "Which basis makes the better model": the committed ``equibasis benchmark`` results.

Reads ``<out>/benchmark/results.csv`` (written by ``equibasis benchmark --out
<out>/benchmark``); it does not train. The findings are computed from those rows by
:func:`equibasis.benchmark.findings.findings`.
"""

import csv
import shutil

from equibasis.benchmark.findings import findings
from equibasis.benchmark.page import _DATASET_TITLES

from .context import Context

__all__ = ["section"]


def section(context: Context) -> str:
    """The findings of the stored benchmark beside the report, with its figures linked."""
    folder = context.out / "benchmark" if context.benchmark is None else context.benchmark
    path = folder / "results.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"no benchmark results at {path.as_posix()}: run "
            f"`equibasis benchmark --out {folder.as_posix()}` first (about 75 min on 2 cores)"
        )
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    seeds = sorted({int(r["seed"]) for r in rows})
    total = sum(float(r["train_s"]) for r in rows)
    intro = (
        f"Small reference models (`equibasis.models`) trained on real molecules with only the "
        f"geometric embedding changed: {len(rows)} runs, seeds {', '.join(map(str, seeds))}, "
        f"{total / 60:.0f} min of training in all (tables, settings and the command that "
        f"reruns them: `{folder.as_posix()}/benchmark.md`; every run: `results.csv` beside it). "
        "Test MAEs, mean ± standard deviation over seeds; energies in meV per molecule, "
        "forces in meV/Å per component. Two configurations are *apart* when their means "
        "differ by more than twice the standard error of the difference, *within seed noise* "
        "otherwise."
    )
    figures = []
    for name in ("mae_vs_cost", "mae_vs_num_radial", "learning_curves"):
        source = folder / f"{name}.png"
        if source.is_file():  # copied beside the report, as every section's figures are
            shutil.copyfile(source, context.out / f"benchmark_{name}.png")
            figures.append(f"![{name.replace('_', ' ')}](benchmark_{name}.png)")
    return "\n\n".join([intro, findings(rows, _DATASET_TITLES), *figures])
