"""The report's sections, in order: the one list to extend.

A new section is one new module with a ``section(context: Context) -> str`` function (its
Markdown body) and one line in :data:`SECTIONS`.
"""

from collections.abc import Callable
from dataclasses import dataclass

from . import conventions, figures, model_benchmark, model_prototype, speed, symmetry, torsion_jump
from .context import Context

__all__ = ["SECTIONS", "SectionSpec"]


@dataclass(frozen=True)
class SectionSpec:
    """One section: ``key`` names it in the progress bar and the section times."""

    key: str
    title: str
    function: Callable[[Context], str]


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec("figures", "Figures", figures.section),
    SectionSpec("conventions", "Spherical-harmonic conventions", conventions.section),
    SectionSpec("symmetry", "Invariance and equivariance", symmetry.section),
    SectionSpec(
        "torsion jump",
        "The torsion basis jumps when the reference neighbour changes",
        torsion_jump.section,
    ),
    SectionSpec("speed", "Speed against the peers", speed.section),
    SectionSpec(
        "model prototype", "Model prototype: telling mirror images apart", model_prototype.section
    ),
    SectionSpec("benchmark", "Which basis makes the better model", model_benchmark.section),
)
