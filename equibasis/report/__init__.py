r"""The comparison report: every figure and every table, measured when it is built.

``equibasis report --out reports/`` (or :func:`build_report`) writes ``index.md``, a
self-contained ``index.html`` (figures embedded) and the figures as PNG files beside them:

* the seed article's figures (Gaussian and Bessel curves, DimeNet-style polar maps of the paper
  and code angle bases, torsion maps, real spherical harmonics);
* **conventions**: the same vectors through equibasis, e3nn, sphericart, scipy and a DIG-style
  reference, maximum difference after :func:`equibasis.harmonics.convert_sh`;
* **symmetry**: each basis under random rotations and mirrors (invariant, equivariant, or
  changed by a mirror), and the jump of SphereNet's torsion basis when the reference neighbour
  changes;
* **speed** against the peers installed (PyG, e3nn, sphericart), medians in one run;
* the **model prototype** (``examples/tetris_chirality.py``) when present.

One module per section, listed in :data:`equibasis.report.registry.SECTIONS`. Each measurement
is a frozen dataclass with ``to_markdown()``; a section whose modules are missing says "not
available" with the reason instead of failing the whole report. The page needs ``markdown``
and the progress bar ``tqdm`` (the ``report`` extra).

Example:
    >>> table = SymmetryTable(rows=(), tolerance=1e-9, num_rotations=3, num_atoms=8)
    >>> table.to_markdown().splitlines()[0].startswith("| basis |")
    True
"""

from .build import Section, build_report
from .conventions import ConventionRow, ConventionTable, measure_conventions
from .html_page import markdown_to_html
from .model_prototype import ModelResults
from .run_info import RunInfo
from .speed import SpeedRow, SpeedTable, measure_speed
from .symmetry import SymmetryRow, SymmetryTable, measure_symmetry
from .torsion_jump import TorsionJump, measure_torsion_jump

__all__ = [
    "ConventionRow",
    "ConventionTable",
    "ModelResults",
    "RunInfo",
    "Section",
    "SpeedRow",
    "SpeedTable",
    "SymmetryRow",
    "SymmetryTable",
    "TorsionJump",
    "build_report",
    "markdown_to_html",
    "measure_conventions",
    "measure_speed",
    "measure_symmetry",
    "measure_torsion_jump",
]
