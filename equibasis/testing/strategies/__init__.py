r"""Hypothesis strategies for rotation tests: rotations, point clouds, molecules, irreps, features.

Every strategy draws bounded floats with ``allow_nan=False`` and returns torch tensors in the
requested ``dtype`` and on the requested ``device``. The geometry is built in float64 and cast at
the end, so float64 draws are exact to rounding (orthogonality and determinant to ~1e-15).

Each strategy shrinks towards a simple case, so a failing property test reports a small example:

- :func:`rotations` shrinks to the identity, then to rotations by :math:`\pi` (or
  :math:`\pi/2`) about a coordinate axis; near-identity rotations are drawn on purpose;
- :func:`orthogonal_matrices` shrinks to proper rotations, and among reflections to the
  inversion :math:`-I`;
- :func:`point_clouds` shrinks to few points close to the origin;
- :func:`molecules` shrinks to water, the first molecule of the shipped set, unrotated (or,
  asked for more atoms than the shipped set has, to the smallest cluster of them);
- :func:`molecule_batches` shrinks to two waters; :func:`crystals` to one atom in a cell;
- :func:`irreps` shrinks to ``1x0e``.

Where they live: directions, rotations, reflections, translations, distances and point clouds in
``_geometry``; molecules, batches and crystals in ``_molecules``; irreps and features in
``_features``; the records they return (:class:`Molecule`, :class:`MoleculeBatch`,
:class:`Crystal`) and the fixed structures :func:`load_molecules` and :func:`cluster` in
``_records``. Import them from here.

hypothesis is optional (``pip install 'equibasis[testing]'``). Without it this module still
imports, with the names that need no hypothesis (the records, :func:`load_molecules`,
:func:`cluster`); a strategy raises an ``ImportError`` that says what to install.

Example:
    >>> import torch
    >>> from hypothesis import given
    >>> from equibasis.testing.strategies import rotations
    >>> @given(R=rotations())
    ... def test_orthogonal(R):
    ...     assert torch.allclose(R @ R.T, torch.eye(3, dtype=R.dtype), atol=1e-12)
    >>> test_orthogonal()
"""

from typing import Any

from equibasis.testing.strategies._records import (
    Crystal,
    Molecule,
    MoleculeBatch,
    cluster,
    load_molecules,
)

__all__ = [
    "Crystal",
    "Molecule",
    "MoleculeBatch",
    "cluster",
    "crystals",
    "distances",
    "features",
    "irreps",
    "load_molecules",
    "molecule_batches",
    "molecules",
    "orthogonal_matrices",
    "point_clouds",
    "rotations",
    "translations",
    "unit_vectors",
]

_INSTALL_HINT = "pip install 'equibasis[testing]'"  # the extra that holds hypothesis

try:
    import hypothesis as _hypothesis  # noqa: F401 (only whether it imports)
except ImportError as err:
    _MISSING: ImportError | None = err
else:
    _MISSING = None
    from equibasis.testing.strategies._features import features, irreps
    from equibasis.testing.strategies._geometry import (
        distances,
        orthogonal_matrices,
        point_clouds,
        rotations,
        translations,
        unit_vectors,
    )
    from equibasis.testing.strategies._molecules import crystals, molecule_batches, molecules


def __getattr__(name: str) -> Any:
    """Say what to install when a strategy is used without hypothesis (PEP 562)."""
    if _MISSING is not None and name in __all__:
        raise ImportError(
            f"equibasis.testing.strategies.{name} needs hypothesis, which is not installed "
            f"({_MISSING}): {_INSTALL_HINT}",
            name="hypothesis",
        ) from _MISSING
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
