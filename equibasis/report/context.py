"""What every section function of the report receives."""

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Context"]


@dataclass(frozen=True)
class Context:
    """The settings of one report build.

    Attributes:
        out: The output folder; a section writes its figures there and links them by name.
        quick: Small sizes and few repeats.
        seed: Seed of every random input.
        benchmark: Folder of the committed ``equibasis benchmark`` results (None: ``out /
            "benchmark"``).
    """

    out: Path
    quick: bool
    seed: int
    benchmark: Path | None = None
