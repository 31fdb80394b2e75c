"""Section "Model prototype": the Tetris chirality example (``examples/tetris_chirality.py``)."""

import contextlib
import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path

import torch

from equibasis.benchmarking import format_table

from ._tables import cell
from .context import Context

__all__ = ["ModelResults", "section"]


@dataclass(frozen=True)
class ModelResults:
    """Accuracies of the Tetris chirality prototype (``examples/tetris_chirality.py``)."""

    rows: tuple[tuple[str, float, float, float, float, float], ...]
    argv: tuple[str, ...]

    def to_markdown(self) -> str:
        """A Markdown table, one row per model."""
        rows = [
            (name, f"{tr:.1%}", f"{ro:.1%}", f"{mi:.1%}", f"{loss:.3g}", f"{sec:.1f}")
            for name, tr, ro, mi, loss, sec in self.rows
        ]
        header = ["model", "train", "rotated copies", "mirrored copies", "final loss", "time (s)"]
        return format_table(header, rows, cell=cell)


def section(context: Context) -> str:
    """Train the example's models (skipped in quick mode) and tabulate their accuracies."""
    quick, seed = context.quick, context.seed
    root = Path(__file__).resolve().parents[2]  # the checkout: examples/ beside the package
    script = root / "examples" / "tetris_chirality.py"
    how = (
        "`examples/tetris_chirality.py` trains four small models built from equibasis blocks on "
        "the eight Tetris shapes of the Tensor Field Network paper (two of them mirror images "
        "of each other) and tests them on rotated and on mirrored copies."
    )
    if quick:
        return (
            "skipped in `--quick` mode (training takes about a minute); the full report "
            "(`equibasis report`) runs it. " + how
        )
    if not script.exists():
        return (
            "not available: `examples/tetris_chirality.py` is not in this checkout (the report "
            "looks for it in `examples/` beside the package). " + how
        )
    spec = importlib.util.spec_from_file_location("_equibasis_tetris_chirality", script)
    if spec is None or spec.loader is None:
        return f"not available: cannot load {script.name}. " + how
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["--seed", str(seed), "--threads", str(torch.get_num_threads())]
    with contextlib.redirect_stdout(io.StringIO()):
        results = module.main(argv)
    table = ModelResults(
        tuple(
            (name, r["train"], r["rotated"], r["mirrored"], r["loss"], r["seconds"])
            for name, r in results.items()
        ),
        tuple(argv),
    )
    return (
        f"{how} Ran `python examples/tetris_chirality.py {' '.join(argv)}` (its defaults). "
        "Any model built only on distances and angles (invariant under mirrors) is capped at "
        "7 of 8 classes (87.5 %) on the mirrored copies, where the two chiral labels swap.\n\n"
        + table.to_markdown()
    )
